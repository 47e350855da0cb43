/*
** writer.c -- builds a new index generation: the public ns_writer_* API.
**
** Documents are analysed as they are added.  Each term keeps two in-memory
** varint streams: (doc gap, tf) pairs and the positions of each posting.
** The text of every document goes straight to the zlib document store.  At
** commit the terms are sorted and re-encoded into the block format of
** docs/FORMAT.md (postings, positions, dictionary), the document table is
** written, every file is fsynced, and the manifest is renamed into place.
**
** Files of the new segment are written under their final names; nothing
** refers to them until the manifest is renamed, so a crash before that
** leaves the previous generation intact.  Leftovers of a crashed build are
** removed by the next writer (under the lock).
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "analyze.h"
#include "codec.h"
#include "file.h"
#include "format.h"
#include "manifest.h"
#include "strmap.h"

#define STORE_LEVEL 1 /* zlib level: speed matters more than the last 10% */
#define NS_MAX_DOC_BYTES (1ull << 31)

typedef struct wterm {
	uint32_t last_doc; /* last document that had this term, or UINT32_MAX */
	uint32_t tf;       /* tf in last_doc so far */
	uint32_t last_pos; /* previous position in last_doc */
	uint32_t df;
	uint32_t flushed_doc; /* document of the last (gap, tf) pair written */
	uint64_t cf;
	ns_buf docs;       /* varint gap, varint tf */
	ns_buf pos;        /* varint position deltas, per posting */
} wterm;

struct ns_writer {
	char *dir;
	char lang[NS_LANG_MAX + 1];
	int lock_fd;
	int rc;
	int committed;
	int old_unreadable; /* the previous manifest could not be read */
	char *errmsg;
	ns_stemmer *stem;
	ns_manifest old;
	uint32_t seg_no;

	ns_strmap surface; /* folded token -> term id */
	ns_strmap terms;   /* term (stem) -> term id; entry index == term id */
	wterm *t;
	size_t t_cap;
	uint32_t *touched; /* term ids seen in the current document */
	size_t n_touched, touched_cap;

	ns_strmap ids;     /* external ids, for duplicate detection */
	uint32_t n_docs;
	uint32_t *lens;
	size_t lens_cap;
	uint64_t total_tokens;
	ns_buf records;    /* document table records */
	ns_buf recoffs;    /* u32 offset of each record */

	ns_fout store;
	ns_buf block;      /* uncompressed current store block */
	ns_buf zbuf;
	ns_buf store_index;
	uint64_t store_body; /* bytes of compressed blocks written */
	uint64_t store_raw;
	uint32_t store_blocks;
	uint32_t block_docs; /* documents in the current block */

	ns_writer_stats stats;
	char **files;      /* paths written, removed on abort */
	size_t n_files;
};

static void set_err(ns_writer *w, int rc, char *msg)
{
	if (w->rc == NS_OK) {
		w->rc = rc;
		ns_free(w->errmsg);
		w->errmsg = msg;
	} else {
		ns_free(msg);
	}
}

const char *ns_writer_errmsg(const ns_writer *w)
{
	return w && w->errmsg ? w->errmsg : "";
}

void ns_writer_get_stats(const ns_writer *w, ns_writer_stats *out)
{
	*out = w->stats;
}

static int track_file(ns_writer *w, const char *ext, char **path)
{
	*path = ns_seg_path(w->dir, w->seg_no, ext);
	char **f = ns_realloc(w->files, (w->n_files + 1) * sizeof *f);
	if (!*path || !f) {
		ns_free(*path);
		if (f) w->files = f;
		return NS_ENOMEM;
	}
	w->files = f;
	w->files[w->n_files++] = *path;
	return NS_OK;
}

/* Removes files of segments that the manifest does not name (leftovers of
** an interrupted build) and a stale manifest.tmp.  Runs under the lock. */
static void remove_orphans(ns_writer *w)
{
	DIR *d = opendir(w->dir);
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned no;
		char ext[16];
		int live = 0;
		if (strcmp(e->d_name, NS_MANIFEST_NAME ".tmp") == 0) {
			live = 0;
		} else if (sscanf(e->d_name, "seg_%u.%15s", &no, ext) == 2) {
			for (uint32_t i = 0; i < w->old.n_segments; i++)
				if (w->old.seg_no[i] == no) live = 1;
		} else {
			continue;
		}
		if (!live) {
			char *p = ns_fmt("%s/%s", w->dir, e->d_name);
			if (p) unlink(p);
			ns_free(p);
		}
	}
	closedir(d);
}

/* A segment number used by no file in the directory nor the manifest. */
static uint32_t next_segment_number(const ns_writer *w)
{
	uint32_t next = (uint32_t)w->old.generation + 1;
	for (uint32_t i = 0; i < w->old.n_segments; i++)
		if (w->old.seg_no[i] >= next) next = w->old.seg_no[i] + 1;
	DIR *d = opendir(w->dir);
	if (!d) return next;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned no;
		if (sscanf(e->d_name, "seg_%u.", &no) == 1 && no >= next &&
		    no < UINT32_MAX - 1)
			next = no + 1;
	}
	closedir(d);
	return next;
}

int ns_writer_open(const char *dir, const ns_writer_options *opt,
                   ns_writer **out, char **errmsg)
{
	*out = NULL;
	if (errmsg) *errmsg = NULL;
	const char *lang = opt && opt->lang ? opt->lang : "english";
	if (!ns_lang_valid(lang) || strlen(lang) > NS_LANG_MAX) {
		if (errmsg)
			*errmsg = ns_fmt("unknown language '%s' (see 'nsearch langs')",
			                 lang);
		return NS_EINVAL;
	}
	ns_writer *w = ns_calloc(1, sizeof *w);
	if (!w) return NS_ENOMEM;
	w->lock_fd = -1;
	w->store.fd = -1;
	ns_strmap_init(&w->surface);
	ns_strmap_init(&w->terms);
	ns_strmap_init(&w->ids);
	int rc = NS_ENOMEM;
	char *msg = NULL;
	w->dir = ns_strndup(dir, strlen(dir));
	if (!w->dir) goto fail;
	for (size_t i = 0; lang[i]; i++)
		w->lang[i] = (char)(lang[i] >= 'A' && lang[i] <= 'Z' ? lang[i] + 32
		                                                     : lang[i]);
	if ((rc = ns_stem_open_cache(w->lang, 0, &w->stem))) goto fail; /* the vocabulary is the cache */
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		msg = ns_fmt("cannot create index directory '%s': %s", dir,
		             strerror(errno));
		rc = NS_EIO;
		goto fail;
	}
	char *lock = ns_fmt("%s/" NS_LOCK_NAME, dir);
	if (!lock) goto fail;
	w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ns_free(lock);
	if (w->lock_fd < 0) {
		msg = ns_fmt("cannot open lock file in '%s': %s", dir,
		             strerror(errno));
		rc = NS_EIO;
		goto fail;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		msg = ns_fmt("index '%s' is locked: another nsearch is writing to "
		             "it", dir);
		rc = NS_ELOCKED;
		goto fail;
	}
	rc = ns_manifest_read(dir, &w->old, &msg);
	if (rc == NS_ENOTFOUND || rc == NS_OK) {
		/* leftovers of an interrupted build are not referenced: remove */
		remove_orphans(w);
	} else if (rc == NS_ECORRUPT || rc == NS_EVERSION) {
		/* A damaged or older-format index: a full build replaces it.  Its
		** files stay until the new generation is published. */
		w->old_unreadable = 1;
		memset(&w->old, 0, sizeof w->old);
	} else {
		char *m = ns_fmt("cannot read the index manifest: %s",
		                 msg ? msg : ns_strerror(rc));
		ns_free(msg);
		msg = m;
		goto fail;
	}
	ns_free(msg);
	msg = NULL;
	rc = NS_OK;
	w->seg_no = next_segment_number(w);
	char *path;
	if ((rc = track_file(w, "store", &path))) goto fail;
	if ((rc = ns_fout_open(&w->store, path, NS_MAGIC_STORE))) {
		msg = ns_fmt("cannot create '%s': %s", path, strerror(errno));
		goto fail;
	}
	*out = w;
	return NS_OK;
fail:
	if (errmsg && !msg && rc == NS_ENOMEM) msg = ns_fmt("out of memory");
	if (errmsg) *errmsg = msg;
	else ns_free(msg);
	ns_writer_close(w);
	return rc;
}

/* ---- adding documents ------------------------------------------------- */

static int new_term(ns_writer *w, const char *s, size_t len, uint64_t h,
                    uint32_t *tid)
{
	uint32_t id = (uint32_t)w->terms.n;
	if (id == w->t_cap) {
		size_t cap = w->t_cap ? w->t_cap * 2 : 4096;
		wterm *t = ns_realloc(w->t, cap * sizeof *t);
		if (!t) return NS_ENOMEM;
		w->t = t;
		w->t_cap = cap;
	}
	wterm *t = &w->t[id];
	memset(t, 0, sizeof *t);
	t->last_doc = UINT32_MAX;
	ns_buf_init(&t->docs);
	ns_buf_init(&t->pos);
	NS_TRY(ns_strmap_put(&w->terms, s, len, h, id));
	*tid = id;
	return NS_OK;
}

static int lookup_token(ns_writer *w, const ns_token *tok, uint32_t *tid)
{
	uint64_t h = ns_hash_bytes(tok->text, tok->len);
	uint32_t *v = ns_strmap_get(&w->surface, tok->text, tok->len, h);
	if (NS_LIKELY(v != NULL)) {
		*tid = *v;
		return NS_OK;
	}
	size_t sl;
	const char *s = ns_stem(w->stem, tok->text, tok->len, &sl);
	uint64_t sh = ns_hash_bytes(s, sl);
	uint32_t *tv = ns_strmap_get(&w->terms, s, sl, sh);
	if (tv)
		*tid = *tv;
	else
		NS_TRY(new_term(w, s, sl, sh, tid));
	return ns_strmap_put(&w->surface, tok->text, tok->len, h, *tid);
}

/* Compresses the current block and appends it to the store.  A block is
** written even when empty if a document refers to it (empty documents). */
static void flush_store_block(ns_writer *w)
{
	if (w->rc || (w->block.len == 0 && w->block_docs == 0)) return;
	uLongf zlen = compressBound(w->block.len);
	if (zlen > UINT32_MAX || w->block.len > UINT32_MAX) {
		set_err(w, NS_ELIMIT, ns_fmt("document store block too large"));
		return;
	}
	w->zbuf.len = 0;
	if (ns_buf_reserve(&w->zbuf, zlen)) {
		set_err(w, NS_ENOMEM, NULL);
		return;
	}
	if (compress2(w->zbuf.p, &zlen, w->block.p, w->block.len, STORE_LEVEL) !=
	    Z_OK) {
		set_err(w, NS_ENOMEM, ns_fmt("zlib compression failed"));
		return;
	}
	uint8_t e[NS_STORE_INDEX_ENTRY];
	ns_put_le64(e, w->store_body);
	ns_put_le32(e + 8, (uint32_t)zlen);
	ns_put_le32(e + 12, (uint32_t)w->block.len);
	ns_put_le32(e + 16, (uint32_t)crc32_z(0, w->zbuf.p, zlen));
	ns_buf_append(&w->store_index, e, sizeof e);
	ns_fout_write(&w->store, w->zbuf.p, zlen);
	w->store_body += zlen;
	w->store_raw += w->block.len;
	w->store_blocks++;
	w->block.len = 0;
	w->block_docs = 0;
	if (w->store.rc)
		set_err(w, w->store.rc,
		        ns_fmt("cannot write document store: %s", strerror(errno)));
}

static void put_str(ns_buf *b, const char *s, size_t n)
{
	ns_buf_put_varint(b, n);
	ns_buf_append(b, s, n);
}

int ns_writer_add(ns_writer *w, const ns_doc *doc)
{
	if (w->rc) return w->rc;
	if (w->committed) return NS_EINVAL;
	if (!doc || !doc->id || !doc->id[0]) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("document without an id");
		return NS_EINVAL;
	}
	if (doc->text_len > NS_MAX_DOC_BYTES) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("document '%s' is larger than 2 GiB, skipped",
		                   doc->id);
		return NS_EINVAL;
	}
	size_t idlen = strlen(doc->id);
	uint64_t ih = ns_hash_bytes(doc->id, idlen);
	if (ns_strmap_get(&w->ids, doc->id, idlen, ih)) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("duplicate document id '%s', skipped", doc->id);
		return NS_EINVAL;
	}
	if (w->n_docs == UINT32_MAX - 1) {
		set_err(w, NS_ELIMIT, ns_fmt("too many documents for one segment"));
		return w->rc;
	}
	int rc = ns_strmap_put(&w->ids, doc->id, idlen, ih, w->n_docs);
	if (rc) {
		set_err(w, rc, NULL);
		return rc;
	}
	uint32_t docno = w->n_docs;
	const char *text = doc->text ? doc->text : "";
	size_t text_len = doc->text ? doc->text_len : 0;

	/* analyse */
	ns_tokenizer tz;
	ns_token tok;
	uint32_t pos = 0;
	w->n_touched = 0;
	ns_tok_init(&tz, text, text_len);
	while (ns_tok_next(&tz, &tok)) {
		uint32_t tid;
		if ((rc = lookup_token(w, &tok, &tid))) goto oom;
		wterm *t = &w->t[tid];
		if (t->last_doc != docno) {
			if (w->n_touched == w->touched_cap) {
				size_t cap = w->touched_cap ? w->touched_cap * 2 : 1024;
				uint32_t *p = ns_realloc(w->touched, cap * sizeof *p);
				if (!p) goto oom;
				w->touched = p;
				w->touched_cap = cap;
			}
			w->touched[w->n_touched++] = tid;
			t->last_doc = docno;
			t->tf = 0;
			t->last_pos = 0;
			ns_buf_put_varint(&t->pos, pos);
		} else {
			ns_buf_put_varint(&t->pos, pos - t->last_pos);
		}
		t->last_pos = pos;
		t->tf++;
		if (pos == UINT32_MAX - 1) break; /* positions are 32-bit */
		pos++;
	}
	for (size_t i = 0; i < w->n_touched; i++) {
		wterm *t = &w->t[w->touched[i]];
		ns_buf_put_varint(&t->docs, t->df ? docno - t->flushed_doc : docno);
		ns_buf_put_varint(&t->docs, t->tf);
		t->flushed_doc = docno;
		t->df++;
		t->cf += t->tf;
		if (t->docs.rc || t->pos.rc) goto oom;
	}
	w->stats.n_postings += w->n_touched;
	w->stats.n_positions += pos;

	/* document table and store */
	if (w->n_docs == w->lens_cap) {
		size_t cap = w->lens_cap ? w->lens_cap * 2 : 4096;
		uint32_t *l = ns_realloc(w->lens, cap * sizeof *l);
		if (!l) goto oom;
		w->lens = l;
		w->lens_cap = cap;
	}
	w->lens[docno] = pos;
	w->total_tokens += pos;
	/* a block holds at most 4 GiB: start a new one before it would not */
	if (w->block.len && w->block.len + text_len > UINT32_MAX)
		flush_store_block(w);
	ns_buf_put_le32(&w->recoffs, (uint32_t)w->records.len);
	const char *title = doc->title ? doc->title : "";
	const char *path = doc->path ? doc->path : "";
	put_str(&w->records, doc->id, idlen);
	put_str(&w->records, title, strlen(title));
	put_str(&w->records, path, strlen(path));
	ns_buf_put_varint(&w->records, doc->size);
	uint64_t mt = (uint64_t)doc->mtime;
	ns_buf_put_varint(&w->records, (mt << 1) ^ (uint64_t)(doc->mtime >> 63));
	ns_buf_put_varint(&w->records, w->store_blocks);
	ns_buf_put_varint(&w->records, w->block.len);
	ns_buf_put_varint(&w->records, text_len);
	ns_buf_append(&w->block, text, text_len);
	w->block_docs++;
	if (w->records.rc || w->recoffs.rc || w->block.rc) goto oom;
	if (w->records.len > UINT32_MAX) {
		set_err(w, NS_ELIMIT, ns_fmt("document table larger than 4 GiB"));
		return w->rc;
	}
	if (w->block.len >= NS_STORE_BLOCK) flush_store_block(w);
	w->n_docs++;
	w->stats.n_docs++;
	w->stats.input_bytes += text_len;
	return w->rc;
oom:
	set_err(w, NS_ENOMEM, ns_fmt("out of memory"));
	return w->rc;
}

/* ---- commit ------------------------------------------------------------ */

typedef struct enc {
	uint32_t *docs, *tfs, *pos; /* decoded postings of one term */
	size_t cap_docs, cap_pos;
	ns_buf region;              /* encoded posting region */
	ns_buf pregion;             /* encoded position region */
	uint8_t tmp[1 + 16 * 32 + 64];
} enc;

static int enc_reserve(enc *e, size_t df, uint64_t cf)
{
	if (df > e->cap_docs) {
		size_t cap = df + df / 2 + 128;
		uint32_t *d = ns_realloc(e->docs, cap * sizeof *d);
		if (!d) return NS_ENOMEM;
		e->docs = d;
		uint32_t *t = ns_realloc(e->tfs, cap * sizeof *t);
		if (!t) return NS_ENOMEM;
		e->tfs = t;
		e->cap_docs = cap;
	}
	if (cf > e->cap_pos) {
		size_t cap = (size_t)cf + (size_t)cf / 2 + 128;
		uint32_t *p = ns_realloc(e->pos, cap * sizeof *p);
		if (!p) return NS_ENOMEM;
		e->pos = p;
		e->cap_pos = cap;
	}
	return NS_OK;
}

/* Appends n integers: full blocks of NS_BLOCK bit-packed, the rest as a
** varint tail. */
static void put_ints(enc *e, ns_buf *b, const uint32_t *v, size_t n)
{
	while (n >= NS_BLOCK) {
		size_t k = ns_pack128(v, e->tmp);
		ns_buf_append(b, e->tmp, k);
		v += NS_BLOCK;
		n -= NS_BLOCK;
	}
	if (n) {
		if (ns_buf_reserve(b, n * 5)) return;
		b->len += ns_vtail_put(v, n, b->p + b->len);
	}
}

/* Decodes the in-memory streams of term t into e->docs/tfs/pos. */
static int decode_term(const wterm *t, enc *e)
{
	NS_TRY(enc_reserve(e, t->df, t->cf));
	const uint8_t *p = t->docs.p, *end = t->docs.p + t->docs.len;
	uint32_t doc = 0;
	for (uint32_t i = 0; i < t->df; i++) {
		uint32_t gap, tf;
		if (ns_varint_get32(&p, end, &gap) || ns_varint_get32(&p, end, &tf))
			return NS_ECORRUPT;
		doc = i ? doc + gap : gap;
		e->docs[i] = doc;
		e->tfs[i] = tf;
	}
	p = t->pos.p;
	end = t->pos.p + t->pos.len;
	for (uint64_t i = 0; i < t->cf; i++)
		if (ns_varint_get32(&p, end, &e->pos[i])) return NS_ECORRUPT;
	return NS_OK;
}

/* Encodes one term's postings and positions (docs/FORMAT.md#postings). */
static void encode_term(ns_writer *w, const wterm *t, enc *e, uint32_t *max_tf,
                        uint32_t *min_dl)
{
	uint32_t df = t->df;
	uint32_t nb = df >= NS_BLOCK ? (df + NS_BLOCK - 1) / NS_BLOCK : 0;
	ns_buf *r = &e->region, *q = &e->pregion;
	*max_tf = 0;
	*min_dl = UINT32_MAX;
	r->len = 0;
	q->len = 0;
	if (ns_buf_reserve(r, (size_t)nb * NS_SKIP_ENTRY)) return;
	if (nb) memset(r->p, 0, (size_t)nb * NS_SKIP_ENTRY); /* r->p may be NULL */
	r->len = (size_t)nb * NS_SKIP_ENTRY;
	size_t data0 = r->len;
	uint32_t gaps[NS_BLOCK], tfm[NS_BLOCK];
	uint32_t prev = 0;
	uint64_t pi = 0; /* index into e->pos */
	*max_tf = 0;
	*min_dl = UINT32_MAX;
	for (uint32_t b = 0, i = 0; i < df; b++) {
		uint32_t n = df - i < NS_BLOCK ? df - i : NS_BLOCK;
		uint32_t bmax = 0, bmin = UINT32_MAX;
		size_t doc_off = r->len - data0, pos_off = q->len;
		uint64_t npos = 0;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t d = e->docs[i + j];
			gaps[j] = (i + j) ? d - prev : d;
			prev = d;
			tfm[j] = e->tfs[i + j] - 1;
			if (e->tfs[i + j] > bmax) bmax = e->tfs[i + j];
			if (w->lens[d] < bmin) bmin = w->lens[d];
			npos += e->tfs[i + j];
		}
		put_ints(e, r, gaps, n);
		put_ints(e, r, tfm, n);
		put_ints(e, q, e->pos + pi, (size_t)npos);
		pi += npos;
		if (nb) {
			uint8_t *s = r->p + (size_t)b * NS_SKIP_ENTRY;
			ns_put_le32(s, prev);
			ns_put_le32(s + 4, (uint32_t)doc_off);
			ns_put_le32(s + 8, (uint32_t)pos_off);
			ns_put_le32(s + 12, bmax);
			ns_put_le32(s + 16, bmin);
		}
		if (bmax > *max_tf) *max_tf = bmax;
		if (bmin < *min_dl) *min_dl = bmin;
		i += n;
	}
}

static int cmp_terms(const void *a, const void *b, void *ctx)
{
	const ns_strmap *m = ctx;
	const ns_strmap_entry *x = &m->ents[*(const uint32_t *)a];
	const ns_strmap_entry *y = &m->ents[*(const uint32_t *)b];
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(m->keys.p + x->key_off, m->keys.p + y->key_off, n);
	if (c) return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static int write_terms(ns_writer *w)
{
	int rc = NS_ENOMEM;
	char *pd, *pp, *pq;
	NS_TRY(track_file(w, "dict", &pd));
	NS_TRY(track_file(w, "post", &pp));
	NS_TRY(track_file(w, "pos", &pq));
	uint32_t n_terms = (uint32_t)w->terms.n;
	uint32_t *order = ns_malloc((size_t)n_terms * sizeof *order + 1);
	enc e;
	memset(&e, 0, sizeof e);
	ns_buf dblock, dindex;
	ns_buf_init(&dblock);
	ns_buf_init(&dindex);
	ns_fout fd, fp, fq;
	memset(&fd, 0, sizeof fd);
	memset(&fp, 0, sizeof fp);
	memset(&fq, 0, sizeof fq);
	fd.fd = fp.fd = fq.fd = -1;
	if (!order) goto out;
	for (uint32_t i = 0; i < n_terms; i++) order[i] = i;
	qsort_r(order, n_terms, sizeof *order, cmp_terms, &w->terms);

	ns_fout_open(&fd, pd, NS_MAGIC_DICT);
	ns_fout_open(&fp, pp, NS_MAGIC_POST);
	ns_fout_open(&fq, pq, NS_MAGIC_POS);
	uint64_t post_off = 0, pos_off = 0, dict_off = 0, n_blocks = 0;
	const char *prev = "";
	size_t prev_len = 0;
	for (uint32_t k = 0; k < n_terms; k++) {
		uint32_t tid = order[k];
		wterm *t = &w->t[tid];
		if ((rc = decode_term(t, &e))) goto out;
		uint32_t max_tf, min_dl;
		encode_term(w, t, &e, &max_tf, &min_dl);
		if (e.region.rc || e.pregion.rc) {
			rc = NS_ENOMEM;
			goto out;
		}
		if (e.region.len > UINT32_MAX || e.pregion.len > UINT32_MAX) {
			set_err(w, NS_EINVAL, ns_fmt("posting list too large"));
			rc = w->rc;
			goto out;
		}
		ns_fout_write(&fp, e.region.p, e.region.len);
		ns_fout_write(&fq, e.pregion.p, e.pregion.len);
		/* dictionary entry, front-coded within blocks */
		const char *s = ns_strmap_key(&w->terms, tid);
		size_t sl = w->terms.ents[tid].key_len;
		size_t pre = 0;
		int first = k % NS_DICT_BLOCK == 0;
		if (first) {
			if (dblock.len) {
				ns_fout_write(&fd, dblock.p, dblock.len);
				dict_off += dblock.len;
				dblock.len = 0;
			}
			ns_buf_put_le64(&dindex, dict_off);
			n_blocks++;
		} else {
			while (pre < sl && pre < prev_len && pre < 255 && s[pre] == prev[pre])
				pre++;
		}
		ns_buf_put_varint(&dblock, pre);
		ns_buf_put_varint(&dblock, sl - pre);
		ns_buf_append(&dblock, s + pre, sl - pre);
		ns_buf_put_varint(&dblock, t->df);
		ns_buf_put_varint(&dblock, t->cf);
		if (first) {
			ns_buf_put_varint(&dblock, post_off);
			ns_buf_put_varint(&dblock, pos_off);
		}
		ns_buf_put_varint(&dblock, e.region.len);
		ns_buf_put_varint(&dblock, e.pregion.len);
		ns_buf_put_varint(&dblock, max_tf);
		ns_buf_put_varint(&dblock, min_dl);
		post_off += e.region.len;
		pos_off += e.pregion.len;
		prev = s;
		prev_len = sl;
		/* the in-memory streams are no longer needed */
		ns_buf_free(&t->docs);
		ns_buf_free(&t->pos);
	}
	ns_fout_write(&fd, dblock.p, dblock.len);
	dict_off += dblock.len;
	if (dblock.rc || dindex.rc) {
		rc = NS_ENOMEM;
		goto out;
	}
	ns_fout_write(&fd, dindex.p, dindex.len);
	static const uint8_t zeros[NS_BODY_PADDING];
	ns_fout_write(&fp, zeros, sizeof zeros);
	ns_fout_write(&fq, zeros, sizeof zeros);
	uint8_t meta[24];
	ns_put_le64(meta, n_terms);
	ns_put_le64(meta + 8, n_blocks);
	ns_put_le64(meta + 16, dict_off);
	int r1 = ns_fout_finish(&fd, meta, NS_META_DICT);
	ns_put_le64(meta, w->stats.n_postings);
	ns_put_le64(meta + 8, post_off);
	ns_put_le64(meta + 16, 0);
	int r2 = ns_fout_finish(&fp, meta, NS_META_POST);
	ns_put_le64(meta, w->stats.n_positions);
	ns_put_le64(meta + 8, pos_off);
	int r3 = ns_fout_finish(&fq, meta, NS_META_POS);
	rc = r1 ? r1 : r2 ? r2 : r3;
	w->stats.n_terms = n_terms;
	w->stats.index_bytes += fd.off + fp.off + fq.off;
out:
	if (rc) {
		ns_fout_abort(&fd);
		ns_fout_abort(&fp);
		ns_fout_abort(&fq);
	}
	ns_free(order);
	ns_free(e.docs);
	ns_free(e.tfs);
	ns_free(e.pos);
	ns_buf_free(&e.region);
	ns_buf_free(&e.pregion);
	ns_buf_free(&dblock);
	ns_buf_free(&dindex);
	return rc;
}

static int write_docs(ns_writer *w)
{
	char *path;
	NS_TRY(track_file(w, "docs", &path));
	ns_fout f;
	ns_fout_open(&f, path, NS_MAGIC_DOCS);
	uint64_t lens_bytes = (uint64_t)w->n_docs * 4;
	/* lengths as little-endian u32 */
	for (uint32_t i = 0; i < w->n_docs; i++) {
		uint8_t b[4];
		ns_put_le32(b, w->lens[i]);
		ns_fout_write(&f, b, 4);
	}
	ns_buf_put_le32(&w->recoffs, (uint32_t)w->records.len);
	if (w->recoffs.rc) {
		ns_fout_abort(&f);
		return NS_ENOMEM;
	}
	ns_fout_write(&f, w->recoffs.p, w->recoffs.len);
	ns_fout_write(&f, w->records.p, w->records.len);
	uint8_t meta[NS_META_DOCS];
	ns_put_le64(meta, w->n_docs);
	ns_put_le64(meta + 8, w->total_tokens);
	ns_put_le64(meta + 16, 0);
	ns_put_le64(meta + 24, lens_bytes);
	ns_put_le64(meta + 32, lens_bytes + w->recoffs.len);
	int rc = ns_fout_finish(&f, meta, NS_META_DOCS);
	w->stats.index_bytes += f.off;
	return rc;
}

static int finish_store(ns_writer *w)
{
	flush_store_block(w);
	if (w->rc) return w->rc;
	ns_fout_write(&w->store, w->store_index.p, w->store_index.len);
	uint8_t meta[NS_META_STORE];
	ns_put_le64(meta, w->store_blocks);
	ns_put_le64(meta + 8, w->store_body);
	ns_put_le64(meta + 16, w->store_raw);
	ns_put_le32(meta + 24, (uint32_t)crc32_z(0, w->store_index.p,
	                                         w->store_index.len));
	ns_put_le32(meta + 28, 0);
	int rc = ns_fout_finish(&w->store, meta, NS_META_STORE);
	w->store.fd = -1;
	w->stats.index_bytes += w->store.off;
	return rc;
}

int ns_writer_commit(ns_writer *w)
{
	if (w->rc) return w->rc;
	if (w->committed) return NS_EINVAL;
	int rc = finish_store(w);
	if (!rc) rc = write_docs(w);
	if (!rc) rc = write_terms(w);
	if (!rc && ns_fsync_dir(w->dir)) rc = NS_EIO;
	if (rc) {
		set_err(w, rc, ns_fmt("cannot write index files in '%s': %s", w->dir,
		                      rc == NS_EIO ? strerror(errno)
		                                   : ns_strerror(rc)));
		return w->rc;
	}
	ns_manifest m;
	memset(&m, 0, sizeof m);
	m.generation = w->old.generation + 1;
	memcpy(m.lang, w->lang, sizeof m.lang);
	m.n_segments = 1;
	uint64_t nd = w->n_docs;
	m.seg_no = &w->seg_no;
	m.seg_docs = &nd;
	rc = ns_manifest_publish(w->dir, &m);
	if (rc) {
		set_err(w, rc, ns_fmt("cannot publish manifest in '%s': %s", w->dir,
		                      strerror(errno)));
		return w->rc;
	}
	w->committed = 1;
	if (w->old_unreadable) {
		/* the new manifest is published: everything else is an orphan */
		w->old.n_segments = 1;
		w->old.seg_no = ns_malloc(sizeof *w->old.seg_no);
		if (w->old.seg_no) {
			w->old.seg_no[0] = w->seg_no;
			remove_orphans(w);
		}
		w->old.n_segments = 0;
	}
	/* the previous generation's segments are no longer referenced */
	for (uint32_t i = 0; i < w->old.n_segments; i++) {
		static const char *const exts[] = {"dict", "post", "pos", "docs",
		                                   "store"};
		for (size_t k = 0; k < sizeof exts / sizeof *exts; k++) {
			if (w->old.seg_no[i] == w->seg_no) continue;
			char *p = ns_seg_path(w->dir, w->old.seg_no[i], exts[k]);
			if (p) unlink(p);
			ns_free(p);
		}
	}
	return NS_OK;
}

void ns_writer_close(ns_writer *w)
{
	if (!w) return;
	if (!w->committed) {
		if (w->store.fd >= 0) ns_fout_abort(&w->store);
		for (size_t i = 0; i < w->n_files; i++) unlink(w->files[i]);
	}
	ns_free(w->store.buf);
	ns_free(w->store.path);
	for (size_t i = 0; i < w->n_files; i++) ns_free(w->files[i]);
	ns_free(w->files);
	for (size_t i = 0; i < w->terms.n; i++) {
		ns_buf_free(&w->t[i].docs);
		ns_buf_free(&w->t[i].pos);
	}
	ns_free(w->t);
	ns_free(w->touched);
	ns_free(w->lens);
	ns_strmap_free(&w->surface);
	ns_strmap_free(&w->terms);
	ns_strmap_free(&w->ids);
	ns_buf_free(&w->records);
	ns_buf_free(&w->recoffs);
	ns_buf_free(&w->block);
	ns_buf_free(&w->zbuf);
	ns_buf_free(&w->store_index);
	ns_stem_close(w->stem);
	ns_manifest_free(&w->old);
	if (w->lock_fd >= 0) close(w->lock_fd);
	ns_free(w->errmsg);
	ns_free(w->dir);
	ns_free(w);
}
