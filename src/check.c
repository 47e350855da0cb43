/*
** check.c -- ns_index_check(): verifies every file of the published
** generation, first by checksum and then by decoding every structure.
*/
#include <stdio.h>

#include "file.h"
#include "format.h"
#include "index.h"
#include "postings.h"

typedef struct chk {
	void (*report)(void *, const char *);
	void *ctx;
	int problems;
	const ns_seg *seg;
	uint64_t postings, positions;
	uint32_t *pos;
	size_t pos_cap;
} chk;

static void say(chk *c, char *msg)
{
	c->problems++;
	if (c->report) c->report(c->ctx, msg ? msg : "out of memory");
	ns_free(msg);
}

static int check_term(void *ctx, const char *term, size_t len,
                      const ns_terminfo *ti)
{
	chk *c = ctx;
	const ns_seg *s = c->seg;
	ns_pcur cur;
	int rc = ns_pcur_open(&cur, s, ti);
	uint32_t n = 0;
	uint64_t cf = 0;
	uint32_t max_tf = 0, min_dl = UINT32_MAX;
	while (!rc && cur.doc != NS_DOC_END) {
		uint32_t tf = ns_pcur_tf(&cur);
		if (!tf) {
			rc = NS_ECORRUPT;
			break;
		}
		if (tf > c->pos_cap) {
			uint32_t *p = ns_realloc(c->pos, (size_t)tf * sizeof *p);
			if (!p) {
				rc = NS_ENOMEM;
				break;
			}
			c->pos = p;
			c->pos_cap = tf;
		}
		if ((rc = ns_pcur_positions(&cur, c->pos))) break;
		if (c->pos[tf - 1] >= s->lens[cur.doc]) {
			rc = NS_ECORRUPT;
			break;
		}
		uint32_t bmax, bmin, last;
		ns_pcur_block_max(&cur, &bmax, &bmin, &last);
		if (tf > bmax || s->lens[cur.doc] < bmin) {
			rc = NS_ECORRUPT;
			break;
		}
		if (tf > max_tf) max_tf = tf;
		if (s->lens[cur.doc] < min_dl) min_dl = s->lens[cur.doc];
		n++;
		cf += tf;
		rc = ns_pcur_next(&cur);
	}
	if (!rc) rc = cur.rc;
	ns_pcur_close(&cur);
	if (rc == NS_ENOMEM) return rc;
	if (!rc && (n != ti->df || cf != ti->cf || max_tf != ti->max_tf ||
	            min_dl != ti->min_dl))
		rc = NS_ECORRUPT;
	if (rc)
		say(c, ns_fmt(NS_SEG_FMT ": postings of term '%.*s' are damaged "
		              "(post offset %llu, pos offset %llu)",
		              s->seg_no, (int)len, term,
		              (unsigned long long)ti->post_off,
		              (unsigned long long)ti->pos_off));
	c->postings += n;
	c->positions += cf;
	return 0;
}

static void check_segment(chk *c, const ns_seg *s)
{
	c->seg = s;
	c->postings = c->positions = 0;
	int rc = ns_seg_terms(s, check_term, c);
	if (rc == NS_ENOMEM) {
		say(c, NULL);
		return;
	}
	if (rc)
		say(c, ns_fmt(NS_SEG_FMT ".dict: dictionary is damaged", s->seg_no));
	else if (c->postings != s->n_postings || c->positions != s->n_positions)
		say(c, ns_fmt(NS_SEG_FMT ": posting counts disagree with the meta",
		              s->seg_no));
	uint64_t tokens = 0;
	for (uint32_t d = 0; d < s->n_docs; d++) {
		ns_docrec r;
		tokens += s->lens[d];
		if (ns_seg_doc(s, d, &r) || r.block >= s->n_sblocks) {
			say(c, ns_fmt(NS_SEG_FMT ".docs: record of document %u is damaged",
			              s->seg_no, d));
			break;
		}
	}
	if (tokens != s->total_tokens)
		say(c, ns_fmt(NS_SEG_FMT ".docs: document lengths do not add up",
		              s->seg_no));
	ns_buf b;
	ns_buf_init(&b);
	uint64_t raw = 0;
	rc = NS_OK;
	for (uint64_t k = 0; k < s->n_sblocks; k++) {
		rc = ns_seg_block(s, k, &b);
		if (rc) {
			say(c, ns_fmt(NS_SEG_FMT ".store: block %llu is damaged",
			              s->seg_no, (unsigned long long)k));
			break;
		}
		raw += b.len;
	}
	if (!rc && raw != s->raw_bytes)
		say(c, ns_fmt(NS_SEG_FMT ".store: stored text size disagrees",
		              s->seg_no));
	for (uint32_t d = 0; !rc && d < s->n_docs; d++) {
		ns_docrec r;
		/* a bad record or block number was reported by the loop above */
		if (ns_seg_doc(s, d, &r) || r.block >= s->n_sblocks) break;
		const uint8_t *e = s->sindex + r.block * NS_STORE_INDEX_ENTRY;
		uint32_t raw_len = ns_get_le32(e + 12);
		if (r.block_off > raw_len || r.text_len > raw_len - r.block_off) {
			say(c, ns_fmt(NS_SEG_FMT ".store: document %u lies outside its "
			              "block", s->seg_no, d));
			break;
		}
	}
	ns_buf_free(&b);
}

int ns_index_check(const char *dir, void (*report)(void *, const char *),
                   void *ctx)
{
	chk c;
	int version = 0;
	memset(&c, 0, sizeof c);
	c.report = report;
	c.ctx = ctx;
	ns_manifest m;
	char *err = NULL;
	int rc = ns_manifest_read(dir, &m, &err);
	if (rc) {
		if (rc == NS_ENOTFOUND) {
			ns_free(err);
			return rc;
		}
		say(&c, err);
		return rc == NS_ENOMEM || rc == NS_EVERSION ? rc : NS_ECORRUPT;
	}
	/* every file: magic, version, checksum */
	static const char *const ext[5] = {"dict", "post", "pos", "docs", "store"};
	static const char *const magic[5] = {NS_MAGIC_DICT, NS_MAGIC_POST,
	                                     NS_MAGIC_POS, NS_MAGIC_DOCS,
	                                     NS_MAGIC_STORE};
	for (uint32_t i = 0; i < m.n_segments; i++) {
		for (int k = 0; k < 5; k++) {
			char *path = ns_seg_path(dir, m.seg_no[i], ext[k]);
			char name[64];
			snprintf(name, sizeof name, NS_SEG_FMT ".%s", m.seg_no[i], ext[k]);
			ns_fin f;
			err = NULL;
			rc = path ? ns_fin_open(&f, path, name, magic[k], 0, 1, &err)
			          : NS_ENOMEM;
			ns_free(path);
			if (rc == NS_ENOTFOUND) {
				ns_free(err);
				err = ns_fmt("%s: missing", name);
			}
			if (rc == NS_EVERSION) version = 1;
			if (rc)
				say(&c, err);
			else
				ns_fin_close(&f);
		}
	}
	ns_manifest_free(&m);
	if (c.problems) return version ? NS_EVERSION : NS_ECORRUPT;
	ns_index *ix;
	rc = ns_index_open(dir, &ix, &err);
	if (rc) {
		say(&c, err);
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	}
	for (uint32_t i = 0; i < ix->n_segs; i++) check_segment(&c, &ix->segs[i]);
	ns_index_close(ix);
	ns_free(c.pos);
	return c.problems ? NS_ECORRUPT : NS_OK;
}
