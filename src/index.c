/*
** index.c -- opening an index (ns_index_open), segment dictionary lookup,
** the document table and the document store.  See index.h.
*/
#include <errno.h>
#include <stdio.h>
#include <zlib.h>

#include "codec.h"
#include "format.h"
#include "index.h"

static const char *const seg_ext[5] = {"dict", "post", "pos", "docs",
                                       "store"};

static void seg_close(ns_seg *s)
{
	ns_fin_close(&s->dict);
	ns_fin_close(&s->post);
	ns_fin_close(&s->pos);
	ns_fin_close(&s->docs);
	ns_fin_close(&s->store);
	ns_fin_close(&s->del);
	ns_dels_free(&s->dels);
}

static int seg_open(ns_seg *s, const char *dir, uint32_t seg_no,
                    uint64_t del_gen, uint64_t n_deleted, char **err)
{
	static const char *const magic[5] = {NS_MAGIC_DICT, NS_MAGIC_POST,
	                                     NS_MAGIC_POS, NS_MAGIC_DOCS,
	                                     NS_MAGIC_STORE};
	static const size_t metalen[5] = {NS_META_DICT, NS_META_POST, NS_META_POS,
	                                  NS_META_DOCS, NS_META_STORE};
	ns_fin *fins[5] = {&s->dict, &s->post, &s->pos, &s->docs, &s->store};
	s->seg_no = seg_no;
	for (int i = 0; i < 5; i++) {
		char *path = ns_seg_path(dir, seg_no, seg_ext[i]);
		char name[64];
		snprintf(name, sizeof name, NS_SEG_FMT ".%s", seg_no, seg_ext[i]);
		if (!path) return NS_ENOMEM;
		/* the store's blocks carry their own CRC, checked when read */
		int rc = ns_fin_open(fins[i], path, name, magic[i], metalen[i], i != 4,
		                     err);
		ns_free(path);
		if (rc == NS_ENOTFOUND) rc = NS_ECORRUPT; /* manifest names it */
		if (rc) return rc;
	}
	char name[64];
#define BAD(what)                                                          \
	do {                                                                   \
		snprintf(name, sizeof name, NS_SEG_FMT, seg_no);                   \
		*err = ns_fmt("%s.%s", name, what);                                \
		return NS_ECORRUPT;                                                \
	} while (0)
	/* dictionary */
	size_t dlen = (size_t)(s->dict.body_end - s->dict.body);
	s->n_terms = ns_get_le64(s->dict.meta);
	s->n_dblocks = ns_get_le64(s->dict.meta + 8);
	uint64_t ioff = ns_get_le64(s->dict.meta + 16);
	if (ioff > dlen || (dlen - ioff) / 8 != s->n_dblocks ||
	    (dlen - ioff) % 8 != 0 ||
	    s->n_dblocks != (s->n_terms + NS_DICT_BLOCK - 1) / NS_DICT_BLOCK)
		BAD("dict: inconsistent dictionary meta");
	s->dblocks = s->dict.body;
	s->dindex = s->dict.body + ioff;
	/* postings and positions */
	s->post_body = s->post.body;
	s->n_postings = ns_get_le64(s->post.meta);
	s->post_len = ns_get_le64(s->post.meta + 8);
	if (s->post_len + NS_BODY_PADDING !=
	    (uint64_t)(s->post.body_end - s->post.body))
		BAD("post: inconsistent length");
	s->pos_body = s->pos.body;
	s->n_positions = ns_get_le64(s->pos.meta);
	s->pos_len = ns_get_le64(s->pos.meta + 8);
	if (s->pos_len + NS_BODY_PADDING !=
	    (uint64_t)(s->pos.body_end - s->pos.body))
		BAD("pos: inconsistent length");
	/* documents */
	size_t tlen = (size_t)(s->docs.body_end - s->docs.body);
	uint64_t nd = ns_get_le64(s->docs.meta);
	s->total_tokens = ns_get_le64(s->docs.meta + 8);
	uint64_t lo = ns_get_le64(s->docs.meta + 16);
	uint64_t ro = ns_get_le64(s->docs.meta + 24);
	uint64_t co = ns_get_le64(s->docs.meta + 32);
	if (nd >= UINT32_MAX || lo != 0 || ro != nd * 4 ||
	    co != ro + (nd + 1) * 4 || co > tlen)
		BAD("docs: inconsistent document table");
	s->n_docs = (uint32_t)nd;
	s->lens = (const uint32_t *)(const void *)s->docs.body;
	s->recoffs = s->docs.body + ro;
	s->records = s->docs.body + co;
	s->records_len = tlen - co;
	if (ns_get_le32(s->recoffs + nd * 4) != s->records_len)
		BAD("docs: record area length mismatch");
	/* store */
	size_t slen = (size_t)(s->store.body_end - s->store.body);
	s->n_sblocks = ns_get_le64(s->store.meta);
	s->sbody_len = ns_get_le64(s->store.meta + 8);
	s->raw_bytes = ns_get_le64(s->store.meta + 16);
	if (s->sbody_len > slen ||
	    (slen - s->sbody_len) != s->n_sblocks * NS_STORE_INDEX_ENTRY)
		BAD("store: inconsistent block index");
	s->sbody = s->store.body;
	s->sindex = s->store.body + s->sbody_len;
	/* the store index is outside the per-block CRCs: check it now */
	if (ns_crc32(0, s->sindex, (size_t)(slen - s->sbody_len)) !=
	    ns_get_le32(s->store.meta + 24))
		BAD("store: block index checksum mismatch");
	if (s->total_tokens > UINT64_MAX / 2) BAD("docs: bad token count");
#undef BAD
	if (!del_gen) return NS_OK;
	/* deletions */
	char *path = ns_del_path(dir, seg_no, del_gen);
	snprintf(name, sizeof name, NS_DEL_FMT, seg_no, (unsigned long long)del_gen);
	if (!path) return NS_ENOMEM;
	int rc = ns_fin_open(&s->del, path, name, NS_MAGIC_DEL, NS_META_DEL, 1,
	                     err);
	ns_free(path);
	if (rc == NS_ENOTFOUND) rc = NS_ECORRUPT;
	if (rc) return rc;
	const char *why;
	rc = ns_dels_load(&s->dels, s->del.body,
	                  (size_t)(s->del.body_end - s->del.body), s->del.meta,
	                  s->n_docs, &why);
	if (rc == NS_OK && s->dels.n_deleted != n_deleted) {
		why = "deleted count differs from the manifest";
		rc = NS_ECORRUPT;
	}
	if (rc == NS_OK && s->dels.tokens > s->total_tokens) {
		why = "more deleted tokens than the segment has";
		rc = NS_ECORRUPT;
	}
	if (rc == NS_ECORRUPT) *err = ns_fmt("%s: %s", name, why);
	return rc;
}

void ns_index_close(ns_index *ix)
{
	if (!ix) return;
	for (uint32_t i = 0; i < ix->n_segs; i++) seg_close(&ix->segs[i]);
	ns_free(ix->segs);
	ns_manifest_free(&ix->man);
	for (size_t i = 0; i < ix->n_pool; i++) ns_stem_close(ix->pool[i]);
	ns_free(ix->pool);
	pthread_mutex_destroy(&ix->lock);
	ns_free(ix->dir);
	ns_free(ix);
}

static int index_open_once(const char *dir, ns_index *ix, char **err)
{
	int rc = ns_manifest_read(dir, &ix->man, err);
	if (rc == NS_ENOTFOUND) {
		ns_free(*err);
		*err = ns_fmt("no index in '%s' (run 'nsearch index DIR' first)", dir);
		return rc;
	}
	if (rc) return rc;
	if (!ns_lang_valid(ix->man.lang)) {
		*err = ns_fmt("manifest: unknown language '%s'", ix->man.lang);
		return NS_ECORRUPT;
	}
	ix->segs = ns_calloc(ix->man.n_segments, sizeof *ix->segs);
	if (!ix->segs) return NS_ENOMEM;
	uint64_t base = 0;
	for (uint32_t i = 0; i < ix->man.n_segments; i++) {
		ns_seg *s = &ix->segs[i];
		ix->n_segs = i + 1;
		NS_TRY(seg_open(s, dir, ix->man.seg_no[i], ix->man.del_gen[i],
		                ix->man.seg_del[i], err));
		if (s->n_docs != ix->man.seg_docs[i]) {
			*err = ns_fmt(NS_SEG_FMT ": %u documents, manifest says %llu",
			              s->seg_no, s->n_docs,
			              (unsigned long long)ix->man.seg_docs[i]);
			return NS_ECORRUPT;
		}
		s->base = base;
		base += s->n_docs;
		ix->n_docs += s->n_docs - s->dels.n_deleted;
		ix->total_tokens += s->total_tokens - s->dels.tokens;
	}
	if (base >= (1ull << 53)) {
		*err = ns_fmt("manifest: too many documents");
		return NS_ECORRUPT;
	}
	ix->n_slots = base;
	ix->avgdl = ix->n_docs ? (double)ix->total_tokens / (double)ix->n_docs
	                       : 1.0;
	if (ix->avgdl <= 0) ix->avgdl = 1.0;
	return NS_OK;
}

int ns_index_open(const char *dir, ns_index **out, char **errmsg)
{
	*out = NULL;
	if (errmsg) *errmsg = NULL;
	int rc = NS_ENOMEM;
	char *err = NULL;
	/* A writer may publish a new generation and remove the old one's files
	** between our reading the manifest and opening them: retry then. */
	for (int attempt = 0; attempt < 5; attempt++) {
		ns_index *ix = ns_calloc(1, sizeof *ix);
		if (!ix) break;
		pthread_mutex_init(&ix->lock, NULL);
		ix->dir = ns_strndup(dir, strlen(dir));
		ns_free(err);
		err = NULL;
		rc = ix->dir ? index_open_once(dir, ix, &err) : NS_ENOMEM;
		if (rc == NS_OK) {
			*out = ix;
			return NS_OK;
		}
		uint64_t gen = ix->man.generation;
		ns_index_close(ix);
		if (rc != NS_ECORRUPT) break;
		ns_manifest m;
		char *e2 = NULL;
		if (ns_manifest_read(dir, &m, &e2) != NS_OK) {
			ns_free(e2);
			break;
		}
		int moved = m.generation != gen;
		ns_manifest_free(&m);
		if (!moved) break;
	}
	if (errmsg)
		*errmsg = err ? err : ns_fmt("%s", ns_strerror(rc));
	else
		ns_free(err);
	return rc;
}

void ns_index_get_stats(const ns_index *ix, ns_index_stats *o)
{
	memset(o, 0, sizeof *o);
	o->n_docs = ix->n_docs;
	o->total_tokens = ix->total_tokens;
	o->avgdl = ix->n_docs ? ix->avgdl : 0;
	o->n_segments = ix->n_segs;
	for (uint32_t i = 0; i < ix->n_segs; i++)
		o->n_deleted += ix->segs[i].dels.n_deleted;
	o->generation = ix->man.generation;
	snprintf(o->lang, sizeof o->lang, "%s", ix->man.lang);
	for (uint32_t i = 0; i < ix->n_segs; i++) {
		const ns_seg *s = &ix->segs[i];
		o->n_terms += s->n_terms; /* exact for one segment */
		o->n_postings += s->n_postings;
		o->n_positions += s->n_positions;
		o->bytes_dict += s->dict.size;
		o->bytes_postings += s->post.size;
		o->bytes_positions += s->pos.size;
		o->bytes_docs += s->docs.size;
		o->bytes_store += s->store.size;
		o->bytes_deletions += s->del.size;
	}
	o->bytes_total = o->bytes_dict + o->bytes_postings + o->bytes_positions +
	                 o->bytes_docs + o->bytes_store + o->bytes_deletions;
}

int ns_index_term_stats(const ns_index *ix, const char *term, size_t len,
                        uint64_t *df, uint64_t *cf)
{
	return ns_index_term_stats_seg(ix, term, len, df, cf, NULL, NULL);
}

int ns_index_term_stats_seg(const ns_index *ix, const char *term, size_t len,
                            uint64_t *df, uint64_t *cf, const ns_seg *seg,
                            ns_terminfo *seg_ti)
{
	uint64_t d = 0, c = 0;
	if (seg_ti) memset(seg_ti, 0, sizeof *seg_ti);
	for (uint32_t s = 0; s < ix->n_segs; s++) {
		ns_terminfo ti;
		int rc = ns_seg_lookup(&ix->segs[s], term, len, &ti);
		if (rc == NS_DONE) continue;
		if (rc) return rc;
		if (&ix->segs[s] == seg) *seg_ti = ti;
		uint32_t dd;
		uint64_t dc;
		ns_dels_term(&ix->segs[s].dels, term, len, &dd, &dc);
		if (dd > ti.df || dc > ti.cf) return NS_ECORRUPT;
		d += ti.df - dd;
		c += ti.cf - dc;
	}
	*df = d;
	if (cf) *cf = c;
	return NS_OK;
}

uint64_t ns_text_hash(const char *text, size_t len)
{
	return ns_hash_bytes(text, len);
}

/* ---- dictionary --------------------------------------------------------- */

typedef struct dcur {
	const ns_seg *s;
	const uint8_t *p, *end;
	uint64_t block, k;   /* block number, term number within block */
	char term[NS_MAX_TOKEN * 4 + 256];
	size_t len;
	ns_terminfo ti;
} dcur;

static int dcur_block(dcur *c, uint64_t b)
{
	const ns_seg *s = c->s;
	uint64_t off = ns_get_le64(s->dindex + b * 8);
	uint64_t next = b + 1 < s->n_dblocks ? ns_get_le64(s->dindex + (b + 1) * 8)
	                                     : (uint64_t)(s->dindex - s->dblocks);
	if (off > next || next > (uint64_t)(s->dindex - s->dblocks))
		return NS_ECORRUPT;
	c->p = s->dblocks + off;
	c->end = s->dblocks + next;
	c->block = b;
	c->k = 0;
	c->len = 0;
	return NS_OK;
}

/* Decodes the next entry of the current block; NS_DONE at its end. */
static int dcur_next(dcur *c)
{
	if (c->p == c->end) return NS_DONE;
	uint64_t pre, suf, df, v;
	const uint8_t **p = &c->p, *end = c->end;
	if (ns_varint_get(p, end, &pre) || ns_varint_get(p, end, &suf) ||
	    pre > c->len || (c->k == 0 && pre != 0) ||
	    pre + suf > sizeof c->term - 1 || suf == 0 ||
	    (uint64_t)(end - *p) < suf)
		return NS_ECORRUPT;
	memcpy(c->term + pre, *p, (size_t)suf);
	*p += suf;
	c->len = (size_t)(pre + suf);
	c->term[c->len] = 0;
	ns_terminfo *t = &c->ti;
	if (ns_varint_get(p, end, &df) || df == 0 || df > c->s->n_docs ||
	    ns_varint_get(p, end, &t->cf) || t->cf < df)
		return NS_ECORRUPT;
	t->df = (uint32_t)df;
	if (c->k == 0) {
		if (ns_varint_get(p, end, &t->post_off) ||
		    ns_varint_get(p, end, &t->pos_off))
			return NS_ECORRUPT;
	} else {
		t->post_off += t->post_len;
		t->pos_off += t->pos_len;
	}
	if (ns_varint_get(p, end, &t->post_len) ||
	    ns_varint_get(p, end, &t->pos_len) || ns_varint_get(p, end, &v) ||
	    v > UINT32_MAX)
		return NS_ECORRUPT;
	t->max_tf = (uint32_t)v;
	if (ns_varint_get(p, end, &v) || v > UINT32_MAX) return NS_ECORRUPT;
	t->min_dl = (uint32_t)v;
	if (t->post_off > c->s->post_len ||
	    t->post_len > c->s->post_len - t->post_off ||
	    t->pos_off > c->s->pos_len || t->pos_len > c->s->pos_len - t->pos_off)
		return NS_ECORRUPT;
	c->k++;
	return NS_OK;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = memcmp(a, b, n);
	if (c) return c;
	return al < bl ? -1 : al > bl;
}

int ns_seg_lookup(const ns_seg *s, const char *term, size_t len,
                  ns_terminfo *ti)
{
	if (s->n_dblocks == 0) return NS_DONE;
	dcur c;
	c.s = s;
	/* binary search for the last block whose first term <= term; a probe
	** reads only that term, in place (the rest of the entry is decoded,
	** and checked, for the block that is scanned) */
	uint64_t lo = 0, hi = s->n_dblocks;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		NS_TRY(dcur_block(&c, mid));
		uint64_t pre, suf;
		const uint8_t *p = c.p;
		if (ns_varint_get(&p, c.end, &pre) || ns_varint_get(&p, c.end, &suf) ||
		    pre != 0 || suf == 0 || (uint64_t)(c.end - p) < suf)
			return NS_ECORRUPT;
		if (cmp_bytes((const char *)p, (size_t)suf, term, len) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	NS_TRY(dcur_block(&c, lo));
	for (;;) {
		int rc = dcur_next(&c);
		if (rc == NS_DONE) return NS_DONE;
		if (rc) return rc;
		int cmp = cmp_bytes(c.term, c.len, term, len);
		if (cmp == 0) {
			*ti = c.ti;
			return NS_OK;
		}
		if (cmp > 0) return NS_DONE;
	}
}

int ns_seg_terms(const ns_seg *s,
                 int (*fn)(void *, const char *, size_t, const ns_terminfo *),
                 void *ctx)
{
	dcur c;
	c.s = s;
	uint64_t n = 0;
	char prev[sizeof c.term];
	size_t prev_len = 0;
	for (uint64_t b = 0; b < s->n_dblocks; b++) {
		NS_TRY(dcur_block(&c, b));
		int rc;
		while ((rc = dcur_next(&c)) == NS_OK) {
			if (n && cmp_bytes(prev, prev_len, c.term, c.len) >= 0)
				return NS_ECORRUPT; /* terms must be sorted */
			memcpy(prev, c.term, c.len);
			prev_len = c.len;
			n++;
			int r = fn(ctx, c.term, c.len, &c.ti);
			if (r) return r;
		}
		if (rc != NS_DONE) return rc;
		if (c.k != (b + 1 < s->n_dblocks ? NS_DICT_BLOCK
		                                 : s->n_terms - b * NS_DICT_BLOCK))
			return NS_ECORRUPT;
	}
	return n == s->n_terms ? NS_OK : NS_ECORRUPT;
}

/* ---- documents ---------------------------------------------------------- */

static int get_str(const uint8_t **p, const uint8_t *end, const char **s,
                   size_t *len)
{
	uint64_t n;
	if (ns_varint_get(p, end, &n) || n > (uint64_t)(end - *p))
		return NS_ECORRUPT;
	*s = (const char *)*p;
	*len = (size_t)n;
	*p += n;
	return NS_OK;
}

int ns_seg_doc(const ns_seg *s, uint32_t doc, ns_docrec *r)
{
	if (doc >= s->n_docs) return NS_EINVAL;
	uint32_t a = ns_get_le32(s->recoffs + (size_t)doc * 4);
	uint32_t b = ns_get_le32(s->recoffs + (size_t)doc * 4 + 4);
	if (a > b || b > s->records_len) return NS_ECORRUPT;
	const uint8_t *p = s->records + a, *end = s->records + b;
	uint64_t mt;
	if (get_str(&p, end, &r->id, &r->id_len) ||
	    get_str(&p, end, &r->title, &r->title_len) ||
	    get_str(&p, end, &r->path, &r->path_len) ||
	    ns_varint_get(&p, end, &r->size) || ns_varint_get(&p, end, &mt) ||
	    ns_varint_get(&p, end, &r->block) ||
	    ns_varint_get(&p, end, &r->block_off) ||
	    ns_varint_get(&p, end, &r->text_len) || end - p != 8)
		return NS_ECORRUPT;
	r->hash = ns_get_le64(p);
	r->mtime = (int64_t)(mt >> 1) ^ -(int64_t)(mt & 1);
	return NS_OK;
}

int ns_seg_block(const ns_seg *s, uint64_t b, ns_buf *out)
{
	if (b >= s->n_sblocks) return NS_ECORRUPT;
	const uint8_t *e = s->sindex + b * NS_STORE_INDEX_ENTRY;
	uint64_t off = ns_get_le64(e);
	uint32_t zlen = ns_get_le32(e + 8), raw = ns_get_le32(e + 12);
	uint32_t crc = ns_get_le32(e + 16);
	if (off > s->sbody_len || zlen > s->sbody_len - off) return NS_ECORRUPT;
	const uint8_t *z = s->sbody + off;
	if (ns_crc32(0, z, zlen) != crc) return NS_ECORRUPT;
	out->len = 0;
	if (ns_buf_reserve(out, (size_t)raw + 1)) return NS_ENOMEM;
	uLongf got = raw;
	if (uncompress(out->p, &got, z, zlen) != Z_OK || got != raw)
		return NS_ECORRUPT;
	out->len = raw;
	return NS_OK;
}

int ns_seg_text(const ns_seg *s, uint32_t doc, ns_buf *out)
{
	ns_docrec r;
	NS_TRY(ns_seg_doc(s, doc, &r));
	ns_buf blk;
	ns_buf_init(&blk);
	int rc = ns_seg_block(s, r.block, &blk);
	if (!rc && (r.block_off > blk.len || r.text_len > blk.len - r.block_off))
		rc = NS_ECORRUPT;
	if (!rc) {
		ns_buf_append(out, blk.p + r.block_off, (size_t)r.text_len);
		rc = out->rc;
	}
	ns_buf_free(&blk);
	return rc;
}

/* ---- stemmer pool -------------------------------------------------------- */

ns_stemmer *ns_index_stemmer(ns_index *ix)
{
	ns_stemmer *s = NULL;
	pthread_mutex_lock(&ix->lock);
	if (ix->n_pool) s = ix->pool[--ix->n_pool];
	pthread_mutex_unlock(&ix->lock);
	if (!s && ns_stem_open_cache(ix->man.lang, 1024, &s) != NS_OK) s = NULL;
	return s;
}

void ns_index_unstemmer(ns_index *ix, ns_stemmer *s)
{
	if (!s) return;
	pthread_mutex_lock(&ix->lock);
	if (ix->n_pool == ix->cap_pool) {
		size_t cap = ix->cap_pool ? ix->cap_pool * 2 : 4;
		ns_stemmer **p = ns_realloc(ix->pool, cap * sizeof *p);
		if (p) {
			ix->pool = p;
			ix->cap_pool = cap;
		}
	}
	if (ix->n_pool < ix->cap_pool) {
		ix->pool[ix->n_pool++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&ix->lock);
	ns_stem_close(s);
}
