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

/* Magic, version and checksums of one file (path is freed here). */
static void check_file(chk *c, char *path, const char *name,
                       const char *magic, int *version)
{
	ns_fin f;
	char *err = NULL;
	int rc = path ? ns_fin_open(&f, path, name, magic, 0, 1, &err) : NS_ENOMEM;
	ns_free(path);
	if (rc == NS_ENOTFOUND) {
		ns_free(err);
		err = ns_fmt("%s: missing", name);
	}
	if (rc == NS_EVERSION) *version = 1;
	if (rc)
		say(c, err);
	else
		ns_fin_close(&f);
}

/* The deletion counts of s must be exactly those of its deleted
** documents, analysed again from the store. */
static void check_deletions(chk *c, ns_index *ix, const ns_seg *s)
{
	char name[64];
	snprintf(name, sizeof name, NS_SEG_FMT, s->seg_no);
	ns_dels want;
	memset(&want, 0, sizeof want);
	int rc = ns_dels_make_mutable(&want, s->n_docs);
	ns_stemmer *st = ns_index_stemmer(ix);
	ns_strmap seen;
	ns_strmap_init(&seen);
	ns_buf text;
	ns_buf_init(&text);
	if (!st && !rc) rc = NS_ENOMEM;
	for (uint32_t d = 0; d < s->n_docs && !rc; d++) {
		if (!ns_seg_deleted(s, d)) continue;
		text.len = 0;
		if ((rc = ns_seg_text(s, d, &text))) break;
		ns_strmap_clear(&seen);
		ns_tokenizer tz;
		ns_token tok;
		ns_tok_init(&tz, (const char *)text.p, text.len);
		while (!rc && ns_tok_next(&tz, &tok)) {
			size_t sl;
			const char *t = ns_stem(st, tok.text, tok.len, &sl);
			if (sl == 0) {
				t = tok.text;
				sl = tok.len;
			}
			/* document frequency once per document, cf every time */
			uint64_t h = ns_hash_bytes(t, sl);
			if (!ns_strmap_get(&seen, t, sl, h)) {
				rc = ns_strmap_put(&seen, t, sl, h, 0);
				if (!rc) rc = ns_dels_count(&want, t, sl, 1);
			} else {
				uint32_t *v = ns_strmap_get(&want.terms, t, sl, h);
				if (v) want.cf[*v]++;
			}
		}
		ns_dels_mark(&want, d, s->lens[d]);
	}
	if (rc == NS_ECORRUPT)
		say(c, ns_fmt("%s: a deleted document cannot be read", name));
	else if (rc)
		say(c, NULL);
	else if (want.n_deleted != s->dels.n_deleted ||
	         want.tokens != s->dels.tokens ||
	         want.terms.n != s->dels.terms.n)
		say(c, ns_fmt("%s: deletion counts do not match the deleted "
		              "documents", name));
	else
		for (size_t k = 0; k < want.terms.n; k++) {
			uint32_t df;
			uint64_t cf;
			const char *t = ns_strmap_key(&want.terms, k);
			size_t tl = want.terms.ents[k].key_len;
			ns_dels_term(&s->dels, t, tl, &df, &cf);
			ns_terminfo ti;
			if (df != want.df[k] || cf != want.cf[k] ||
			    ns_seg_lookup(s, t, tl, &ti) != NS_OK || ti.df < df) {
				say(c, ns_fmt("%s: deletion counts of term '%.*s' do not "
				              "match the deleted documents", name, (int)tl, t));
				break;
			}
		}
	if (st) ns_index_unstemmer(ix, st);
	ns_strmap_free(&seen);
	ns_buf_free(&text);
	ns_dels_free(&want);
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
			check_file(&c, path, name, magic[k], &version);
		}
		if (m.del_gen[i]) {
			char *path = ns_del_path(dir, m.seg_no[i], m.del_gen[i]);
			char name[64];
			snprintf(name, sizeof name, NS_DEL_FMT, m.seg_no[i],
			         (unsigned long long)m.del_gen[i]);
			check_file(&c, path, name, NS_MAGIC_DEL, &version);
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
	for (uint32_t i = 0; i < ix->n_segs; i++) {
		check_segment(&c, &ix->segs[i]);
		if (ix->segs[i].dels.bits) check_deletions(&c, ix, &ix->segs[i]);
	}
	ns_index_close(ix);
	ns_free(c.pos);
	return c.problems ? NS_ECORRUPT : NS_OK;
}
