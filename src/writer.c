/*
** writer.c -- builds a new index generation: the public ns_writer_* API.
**
** Pipeline.  ns_writer_add() copies documents into a *batch* (about 1 MiB
** of text).  A full batch goes to a worker thread (or, with threads == 1,
** is processed in the caller's thread), which analyses it into a small
** inverted index of its own (per term: varint (doc gap, tf) pairs and
** position deltas) and compresses its text into document-store blocks.
** The calling thread merges finished batches strictly in batch order into
** the global in-memory index, the document table and the store file, so
** the index is identical whatever the number of threads.
**
** Memory.  When the buffered postings reach the budget, they are written
** to a sorted *run* file and freed.  At commit the runs and what is still
** in memory are merged term by term (every run holds a contiguous range of
** documents, so a term's postings are the concatenation of its parts in
** run order) and re-encoded into the block format of docs/FORMAT.md,
** streaming, one block of 128 postings at a time.
**
** Publishing.  Files of the new segment are written under their final
** names; nothing refers to them until the manifest is renamed, so a crash
** before that leaves the previous generation intact.  Leftovers of a
** crashed build (segment files, runs) are removed by the next writer.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "analyze.h"
#include "codec.h"
#include "file.h"
#include "format.h"
#include "index.h"
#include "manifest.h"
#include "strmap.h"
#include "writer.h"

/* Store blocks are compressed with libdeflate into the zlib format (what
** zlib's uncompress() reads): at level 1 it is about 2.4 times as fast as
** zlib's level 1 and compresses better (enwiki: 193 vs 80 MB/s, ratio 2.44
** vs 2.26). */
#define STORE_LEVEL 1
#define NS_MAX_DOC_BYTES (1ull << 31)
#define BATCH_BYTES (1u << 20)
#define BATCH_DOCS 8192
#define DEFAULT_MEMORY ((size_t)256 << 20)
#define MAX_THREADS 64

/* ---- batches ------------------------------------------------------------ */

typedef struct bdoc {
	size_t id, title, path, text; /* offsets into the batch's strings */
	size_t id_len, title_len, path_len, text_len;
	uint64_t size;
	int64_t mtime;
	uint64_t hash;  /* ns_text_hash of the text (set by the analysis) */
} bdoc;

/* A term of one batch.  docs: varint (gap, tf) pairs, the first gap
** absolute (a global document number); pos: the position deltas. */
typedef struct lterm {
	uint32_t first_doc, last_doc, prev_doc, tf, last_pos, df;
	uint64_t cf;
	ns_buf docs, pos;
} lterm;

/* A direct-mapped cache of recent tokens in front of a batch's surface
** map: the few thousand most frequent words make most tokens, and their
** lookups then stay in the L1/L2 cache instead of missing twice in a map
** of tens of thousands of forms. */
#define TCACHE_SIZE 2048
#define TCACHE_KEY 16
typedef struct tcache_ent {
	uint64_t hash;
	uint32_t tid, len; /* len 0: empty */
	char key[TCACHE_KEY];
} tcache_ent;

typedef struct batch {
	uint32_t base;        /* global document number of document 0 */
	int done;             /* analysed (set by the worker, under the lock) */
	int rc;
	struct batch *next;   /* in the work queue */
	/* input */
	ns_buf strings;
	bdoc *docs;
	size_t n_docs, cap_docs;
	/* output: documents */
	uint32_t *lens, *blk, *blk_off; /* per document */
	size_t cap_out;
	ns_buf zblocks;       /* compressed store blocks, concatenated */
	ns_buf zindex;        /* per block: u32 zlen, u32 rawlen, u32 crc */
	uint32_t n_blocks;
	uint64_t raw, tokens, postings;
	/* output: the batch's inverted index, terms in order of first use */
	ns_strmap surface;    /* folded token -> local term */
	ns_strmap terms;      /* stem -> local term (entry index) */
	lterm *t;
	size_t t_cap;
	uint32_t *touched;
	size_t touched_cap;
	ns_buf zbuf, block;   /* scratch for compression */
	struct libdeflate_compressor *comp; /* made on first use, kept */
	tcache_ent *tcache;   /* TCACHE_SIZE entries, emptied per batch */
} batch;

/* A term of the whole build.  docs/pos hold the postings buffered since
** the last run (first gap absolute). */
typedef struct gterm {
	uint32_t last_doc;
	uint32_t df_mem;   /* postings buffered since the last run */
	uint64_t cf_mem;
	uint64_t df, cf;   /* over the whole build */
	ns_buf docs, pos;
} gterm;

typedef struct run {
	char *path;
	const uint8_t *base, *p, *end; /* mapped contents; p = next record */
	size_t size;
	size_t released; /* bytes at the start already given back */
} run;

/* Gives back the pages of a run that the merge has read, so that reading
** the runs does not grow the resident set (they are read only once). */
static void run_release(run *r)
{
	size_t done = (size_t)(r->p - r->base);
	size_t page = 1u << 16;
	/* every MiB: with dozens of runs read side by side, a coarser step
	** would keep dozens of times that resident (32 MiB steps and 40 runs
	** peaked at 1.4 GB on a 256 MiB budget) */
	if (done - r->released < ((size_t)1 << 20)) return;
	size_t upto = done & ~(page - 1);
	if (upto > r->released) {
		madvise((void *)(uintptr_t)(r->base + r->released), upto - r->released,
		        MADV_DONTNEED);
		r->released = upto;
	}
}

struct ns_writer {
	char *dir;
	char lang[NS_LANG_MAX + 1];
	int lock_fd;
	int rc;
	int committed;
	int old_unreadable; /* NS_ECORRUPT or NS_EVERSION when the previous
	                       generation could not be read, else 0 */
	char *errmsg;
	ns_manifest old;
	uint32_t seg_no;

	/* NS_WRITE_UPDATE: the published generation and its deletions */
	int mode, merge;
	ns_index *base;    /* NULL in NS_WRITE_REPLACE mode */
	ns_dels *dels;     /* per base segment; bits NULL until touched */
	uint8_t *dirty;    /* per base segment: deletions made here */
	uint8_t *merging;  /* per base segment: rewritten into the new one */
	uint64_t *idtab;   /* open addressing: pairs (id hash, seg << 32 |
	                      local, plus 1); 0 = empty */
	size_t idtab_cap;
	ns_strmap dterms;  /* scratch: a deleted document's terms */
	uint64_t *dtf;
	size_t dtf_cap;
	ns_buf dtext;      /* a store block of the base (dblk_seg, dblk_no) */
	uint32_t dblk_seg;
	uint64_t dblk_no;
	int dblk_ok;

	/* the global vocabulary and buffered postings */
	ns_strmap terms;   /* stem -> term id (entry index) */
	gterm *t;
	size_t t_cap;
	size_t mem, budget; /* bytes of buffered postings, and the limit */
	run *runs;
	size_t n_runs;

	/* documents */
	uint64_t *idset;   /* 64-bit hashes of the external ids (open addressing) */
	size_t idset_n, idset_cap;
	uint32_t n_docs;
	uint32_t *lens;
	size_t lens_cap;
	uint64_t total_tokens;
	FILE *rec;         /* document table records, spooled to a file */
	char *rec_path;
	uint64_t rec_len;
	FILE *roff;        /* u32 offset of each record, spooled too */
	char *roff_path;
	ns_buf recbuf;

	/* document store */
	ns_fout store;
	ns_buf store_index;
	uint64_t store_body, store_raw;
	uint32_t store_blocks;

	/* pipeline */
	int threads;
	pthread_t tid[MAX_THREADS];
	int started;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	batch *queue, *queue_tail;
	int stop;
	batch **inflight;  /* submitted, not merged yet, in order */
	size_t n_inflight, max_inflight;
	batch **free_b;
	size_t n_free;
	batch *cur;        /* being filled */
	uint64_t pending_docs; /* documents submitted but not merged yet */
	ns_stemmer *stem;  /* for analysis in the calling thread */

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

static int track_path(ns_writer *w, char *path)
{
	char **f = ns_realloc(w->files, (w->n_files + 1) * sizeof *f);
	if (!path || !f) {
		ns_free(path);
		if (f) w->files = f;
		return NS_ENOMEM;
	}
	w->files = f;
	w->files[w->n_files++] = path;
	return NS_OK;
}

static int track_file(ns_writer *w, const char *ext, char **path)
{
	*path = ns_seg_path(w->dir, w->seg_no, ext);
	int rc = track_path(w, *path);
	if (rc) *path = NULL; /* track_path freed it */
	return rc;
}

/* Whether file `name` of the index directory belongs to generation m:
** one of its segments' five files or one of their current deletion files.
** Files that are not index files (lock, unknown names) count as live. */
static int file_is_live(const ns_manifest *m, const char *name)
{
	unsigned no;
	unsigned long long gen;
	char ext[32];
	int n = 0;
	if (strcmp(name, NS_MANIFEST_NAME ".tmp") == 0) return 0;
	if (sscanf(name, "seg_%u_%llu.del%n", &no, &gen, &n) == 2 &&
	    name[n] == 0) {
		for (uint32_t i = 0; i < m->n_segments; i++)
			if (m->seg_no[i] == no && m->del_gen[i] == gen) return 1;
		return 0;
	}
	if (sscanf(name, "seg_%u.%31s", &no, ext) == 2) {
		static const char *const kinds[] = {"dict", "post", "pos", "docs",
		                                    "store"};
		int kind = 0;
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
			if (strcmp(ext, kinds[k]) == 0) kind = 1;
		if (!kind) return 0; /* runs, spools: temporary */
		for (uint32_t i = 0; i < m->n_segments; i++)
			if (m->seg_no[i] == no) return 1;
		return 0;
	}
	return 1;
}

/* Removes the index files that generation m does not use: leftovers of an
** interrupted build (runs included), a stale manifest.tmp, and after a
** commit the files the previous generation used alone.  Runs under the
** lock. */
static void remove_unused(const char *dir, const ns_manifest *m)
{
	DIR *d = opendir(dir);
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "seg_", 4) != 0 &&
		    strcmp(e->d_name, NS_MANIFEST_NAME ".tmp") != 0)
			continue;
		if (file_is_live(m, e->d_name)) continue;
		char *p = ns_fmt("%s/%s", dir, e->d_name);
		if (p) unlink(p);
		ns_free(p);
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

/* ---- NS_WRITE_UPDATE: finding and deleting published documents ---------- */

static void idtab_put(uint64_t *tab, size_t cap, uint64_t h, uint64_t v)
{
	size_t j = h & (cap - 1);
	while (tab[2 * j + 1]) j = (j + 1) & (cap - 1);
	tab[2 * j] = h;
	tab[2 * j + 1] = v;
}

/* Indexes the ids of the base's live documents: 64-bit hash -> (segment,
** local number); lookups confirm the id from the document table. */
static int idtab_build(ns_writer *w)
{
	const ns_index *ix = w->base;
	uint64_t live = ix->n_docs;
	size_t cap = 1024;
	while (cap < live * 2 + 2) cap *= 2;
	w->idtab = ns_calloc(cap * 2, sizeof *w->idtab);
	if (!w->idtab) return NS_ENOMEM;
	w->idtab_cap = cap;
	for (uint32_t i = 0; i < ix->n_segs; i++) {
		const ns_seg *s = &ix->segs[i];
		for (uint32_t d = 0; d < s->n_docs; d++) {
			if (ns_seg_deleted(s, d)) continue;
			ns_docrec r;
			NS_TRY(ns_seg_doc(s, d, &r));
			idtab_put(w->idtab, cap, ns_hash_bytes(r.id, r.id_len),
			          ((uint64_t)i << 32 | d) + 1);
		}
	}
	return NS_OK;
}

/* Finds the live published document with this id: NS_OK with *segi and
** *local, NS_DONE when there is none, NS_ECORRUPT. */
static int find_live(ns_writer *w, const char *id, size_t len, uint32_t *segi,
                     uint32_t *local)
{
	if (!w->idtab) return NS_DONE;
	uint64_t h = ns_hash_bytes(id, len);
	size_t cap = w->idtab_cap, j = h & (cap - 1);
	for (; w->idtab[2 * j + 1]; j = (j + 1) & (cap - 1)) {
		if (w->idtab[2 * j] != h) continue;
		uint64_t v = w->idtab[2 * j + 1] - 1;
		uint32_t si = (uint32_t)(v >> 32), d = (uint32_t)v;
		const ns_dels *dl = &w->dels[si];
		if (dl->bits ? ns_dels_has(dl, d) : ns_seg_deleted(&w->base->segs[si], d))
			continue;
		ns_docrec r;
		NS_TRY(ns_seg_doc(&w->base->segs[si], d, &r));
		if (r.id_len == len && memcmp(r.id, id, len) == 0) {
			*segi = si;
			*local = d;
			return NS_OK;
		}
	}
	return NS_DONE;
}

/* Whether local document d of base segment si is deleted, counting the
** deletions of this writer. */
static int base_deleted(const ns_writer *w, uint32_t si, uint32_t d)
{
	const ns_dels *dl = &w->dels[si];
	return dl->bits ? ns_dels_has(dl, d) : ns_seg_deleted(&w->base->segs[si], d);
}

/* Deletes local document d of base segment si: marks it and counts its
** terms (analysed again from the stored text, exactly as when it was
** indexed) so that df and cf stay exact. */
static int delete_doc(ns_writer *w, uint32_t si, uint32_t d)
{
	const ns_seg *s = &w->base->segs[si];
	ns_dels *dl = &w->dels[si];
	if (!dl->bits) {
		if (s->dels.bits) {
			const char *why;
			NS_TRY(ns_dels_load(dl, s->del.body,
			                    (size_t)(s->del.body_end - s->del.body),
			                    s->del.meta, s->n_docs, &why));
		}
		NS_TRY(ns_dels_make_mutable(dl, s->n_docs));
	}
	/* the document's store block, inflated once for the documents of a
	** changed collection file, which lie side by side */
	ns_docrec r;
	NS_TRY(ns_seg_doc(s, d, &r));
	if (!w->dblk_ok || w->dblk_seg != si || w->dblk_no != r.block) {
		w->dblk_ok = 0;
		NS_TRY(ns_seg_block(s, r.block, &w->dtext));
		w->dblk_ok = 1;
		w->dblk_seg = si;
		w->dblk_no = r.block;
	}
	if (r.block_off > w->dtext.len || r.text_len > w->dtext.len - r.block_off)
		return NS_ECORRUPT;
	ns_strmap_clear(&w->dterms);
	ns_tokenizer tz;
	ns_token tok;
	uint32_t pos = 0;
	ns_tok_init(&tz, (const char *)w->dtext.p + r.block_off,
	            (size_t)r.text_len);
	while (ns_tok_next(&tz, &tok)) {
		size_t sl;
		const char *t = ns_stem(w->stem, tok.text, tok.len, &sl);
		if (sl == 0) { /* as the analysis: the token itself */
			t = tok.text;
			sl = tok.len;
		}
		uint64_t h = ns_hash_bytes(t, sl);
		uint32_t *v = ns_strmap_get(&w->dterms, t, sl, h);
		if (v) {
			w->dtf[*v]++;
		} else {
			uint32_t k = (uint32_t)w->dterms.n;
			if (k == w->dtf_cap) {
				size_t cap = w->dtf_cap ? w->dtf_cap * 2 : 1024;
				uint64_t *p = ns_realloc(w->dtf, cap * sizeof *p);
				if (!p) return NS_ENOMEM;
				w->dtf = p;
				w->dtf_cap = cap;
			}
			NS_TRY(ns_strmap_put(&w->dterms, t, sl, h, k));
			w->dtf[k] = 1;
		}
		if (pos == UINT32_MAX - 1) break; /* as the analysis */
		pos++;
	}
	if (pos != s->lens[d]) return NS_ECORRUPT; /* not what was indexed */
	for (size_t k = 0; k < w->dterms.n; k++)
		NS_TRY(ns_dels_count(dl, ns_strmap_key(&w->dterms, k),
		                     w->dterms.ents[k].key_len, w->dtf[k]));
	ns_dels_mark(dl, d, s->lens[d]);
	w->dirty[si] = 1;
	w->stats.n_deleted++;
	return NS_OK;
}

int ns_writer_delete(ns_writer *w, const char *id)
{
	if (w->rc) return w->rc;
	if (w->committed || !id) return NS_EINVAL;
	if (w->mode != NS_WRITE_UPDATE) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("deleting needs a writer in update mode");
		return NS_EINVAL;
	}
	uint32_t si, d;
	int rc = find_live(w, id, strlen(id), &si, &d);
	if (rc == NS_DONE) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("no document with id '%s'", id);
		return NS_ENOTFOUND;
	}
	if (!rc) rc = delete_doc(w, si, d);
	if (rc)
		set_err(w, rc, ns_fmt("cannot delete '%s': %s", id, ns_strerror(rc)));
	return rc;
}

const ns_index *ns_writer_base(const ns_writer *w)
{
	return w->base;
}

int ns_writer_base_deleted(const ns_writer *w, uint32_t si, uint32_t d)
{
	return base_deleted(w, si, d);
}

int ns_writer_delete_at(ns_writer *w, uint32_t si, uint32_t d)
{
	if (w->rc) return w->rc;
	if (!w->base || w->committed || si >= w->base->n_segs ||
	    d >= w->base->segs[si].n_docs)
		return NS_EINVAL;
	if (base_deleted(w, si, d)) return NS_OK;
	int rc = delete_doc(w, si, d);
	if (rc) set_err(w, rc, ns_fmt("cannot delete a document: %s",
	                              ns_strerror(rc)));
	return rc;
}

int ns_writer_find(ns_writer *w, const char *id, uint32_t *si, uint32_t *d)
{
	return find_live(w, id, strlen(id), si, d);
}

int ns_writer_rebuilding(const ns_writer *w)
{
	return w->old_unreadable;
}

/* Opens the published generation for an update.  NS_OK also when there is
** none or it cannot be read (then the update is a full build). */
static int base_open(ns_writer *w, const char *lang_opt, char **msg)
{
	if (w->old_unreadable || w->old.generation == 0) {
		w->mode = NS_WRITE_REPLACE;
		return NS_OK;
	}
	char *err = NULL;
	int rc = ns_index_open(w->dir, &w->base, &err);
	if (rc == NS_ECORRUPT || rc == NS_EVERSION || rc == NS_ENOTFOUND) {
		ns_free(err);
		w->old_unreadable = rc != NS_ENOTFOUND ? rc : 0;
		w->mode = NS_WRITE_REPLACE;
		return NS_OK;
	}
	if (rc) {
		*msg = err;
		return rc;
	}
	if (lang_opt && strcmp(w->lang, w->base->man.lang) != 0) {
		*msg = ns_fmt("the index uses language '%s', not '%s'",
		              w->base->man.lang, w->lang);
		return NS_EINVAL;
	}
	memcpy(w->lang, w->base->man.lang, sizeof w->lang);
	uint32_t n = w->base->n_segs;
	w->dels = ns_calloc(n ? n : 1, sizeof *w->dels);
	w->dirty = ns_calloc(n ? n : 1, 1);
	w->merging = ns_calloc(n ? n : 1, 1);
	if (!w->dels || !w->dirty || !w->merging) return NS_ENOMEM;
	return idtab_build(w);
}

static void *worker_main(void *arg);

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
	int mode = opt ? opt->mode : NS_WRITE_REPLACE;
	int merge = opt ? opt->merge : NS_MERGE_TIERED;
	if ((mode != NS_WRITE_REPLACE && mode != NS_WRITE_UPDATE) ||
	    (merge != NS_MERGE_TIERED && merge != NS_MERGE_NONE &&
	     merge != NS_MERGE_ALL)) {
		if (errmsg) *errmsg = ns_fmt("invalid writer mode or merge policy");
		return NS_EINVAL;
	}
	ns_writer *w = ns_calloc(1, sizeof *w);
	if (!w) return NS_ENOMEM;
	w->mode = mode;
	w->merge = merge;
	ns_strmap_init(&w->dterms);
	w->lock_fd = -1;
	w->store.fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	ns_strmap_init(&w->terms);
	w->budget = opt && opt->memory ? opt->memory : DEFAULT_MEMORY;
	w->threads = opt && opt->threads > 0 ? opt->threads : 0;
	if (!w->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		w->threads = n > 0 ? (int)n : 1;
	}
	if (w->threads > MAX_THREADS) w->threads = MAX_THREADS;
	int rc = NS_ENOMEM;
	char *msg = NULL;
	w->dir = ns_strndup(dir, strlen(dir));
	if (!w->dir) goto fail;
	for (size_t i = 0; lang[i]; i++)
		w->lang[i] = (char)(lang[i] >= 'A' && lang[i] <= 'Z' ? lang[i] + 32
		                                                     : lang[i]);
	if ((rc = ns_stem_open(w->lang, &w->stem))) goto fail;
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
		remove_unused(dir, &w->old);
	} else if (rc == NS_ECORRUPT || rc == NS_EVERSION) {
		/* A damaged or older-format index: a full build replaces it.  Its
		** files stay until the new generation is published. */
		w->old_unreadable = rc;
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
	if (w->mode == NS_WRITE_UPDATE) {
		if ((rc = base_open(w, opt ? opt->lang : NULL, &msg))) goto fail;
		if (w->base) {
			/* analyse as the index was analysed */
			ns_stem_close(w->stem);
			w->stem = NULL;
			if ((rc = ns_stem_open(w->lang, &w->stem))) goto fail;
		}
	}
	w->seg_no = next_segment_number(w);
	char *path;
	if ((rc = track_file(w, "store", &path))) goto fail;
	if ((rc = ns_fout_open(&w->store, path, NS_MAGIC_STORE))) {
		msg = ns_fmt("cannot create '%s': %s", path, strerror(errno));
		goto fail;
	}
	if ((rc = track_file(w, "rec.tmp", &w->rec_path))) goto fail;
	if ((rc = track_file(w, "roff.tmp", &w->roff_path))) goto fail;
	w->rec = fopen(w->rec_path, "wb");
	w->roff = fopen(w->roff_path, "wb");
	if (!w->rec || !w->roff) {
		msg = ns_fmt("cannot create '%s': %s",
		             w->rec ? w->roff_path : w->rec_path, strerror(errno));
		rc = NS_EIO;
		goto fail;
	}
	w->max_inflight = w->threads > 1 ? (size_t)w->threads * 2 : 1;
	w->inflight = ns_calloc(w->max_inflight, sizeof *w->inflight);
	w->free_b = ns_calloc(w->max_inflight + 1, sizeof *w->free_b);
	if (!w->inflight || !w->free_b) {
		rc = NS_ENOMEM;
		goto fail;
	}
	if (w->threads > 1) {
		for (int i = 0; i < w->threads; i++) {
			if (pthread_create(&w->tid[i], NULL, worker_main, w) != 0) break;
			w->started++;
		}
		if (w->started == 0) w->threads = 1; /* no threads: work inline */
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

/* ---- analysing a batch (in a worker, or inline) --------------------------- */

static int batch_new_term(batch *b, const char *s, size_t len, uint64_t h,
                          uint32_t *tid)
{
	uint32_t id = (uint32_t)b->terms.n;
	if (id == b->t_cap) {
		size_t cap = b->t_cap ? b->t_cap * 2 : 4096;
		lterm *t = ns_realloc(b->t, cap * sizeof *t);
		if (!t) return NS_ENOMEM;
		memset(t + b->t_cap, 0, (cap - b->t_cap) * sizeof *t);
		b->t = t;
		b->t_cap = cap;
	}
	lterm *t = &b->t[id];
	/* slots are reused from batch to batch: keep their buffers */
	t->docs.len = t->pos.len = 0;
	t->docs.rc = t->pos.rc = NS_OK;
	t->df = 0;
	t->cf = 0;
	t->last_doc = UINT32_MAX;
	NS_TRY(ns_strmap_put(&b->terms, s, len, h, id));
	*tid = id;
	return NS_OK;
}

static int batch_token(batch *b, ns_stemmer *st, const ns_token *tok,
                       uint32_t *tid)
{
	uint64_t h = ns_hash_bytes(tok->text, tok->len);
	tcache_ent *c = &b->tcache[(h >> 20) & (TCACHE_SIZE - 1)];
	if (c->hash == h && c->len == tok->len &&
	    ns_bytes_eq(c->key, tok->text, tok->len)) {
		*tid = c->tid;
		return NS_OK;
	}
	uint32_t *v = ns_strmap_get(&b->surface, tok->text, tok->len, h);
	if (NS_LIKELY(v != NULL)) {
		*tid = *v;
		if (tok->len <= TCACHE_KEY) {
			c->hash = h;
			c->len = (uint32_t)tok->len;
			c->tid = *v;
			memcpy(c->key, tok->text, tok->len);
		}
		return NS_OK;
	}
	size_t sl;
	const char *s = ns_stem(st, tok->text, tok->len, &sl);
	if (sl == 0) { /* the dictionary has no empty terms */
		s = tok->text;
		sl = tok->len;
	}
	uint64_t sh = ns_hash_bytes(s, sl);
	uint32_t *tv = ns_strmap_get(&b->terms, s, sl, sh);
	if (tv)
		*tid = *tv;
	else
		NS_TRY(batch_new_term(b, s, sl, sh, tid));
	return ns_strmap_put(&b->surface, tok->text, tok->len, h, *tid);
}

static int compress_block(batch *b)
{
	if (!b->comp && !(b->comp = libdeflate_alloc_compressor(STORE_LEVEL)))
		return NS_ENOMEM;
	size_t bound = libdeflate_zlib_compress_bound(b->comp, b->block.len);
	if (bound > UINT32_MAX) return NS_ELIMIT;
	b->zbuf.len = 0;
	if (ns_buf_reserve(&b->zbuf, bound)) return NS_ENOMEM;
	size_t zlen = libdeflate_zlib_compress(b->comp, b->block.p, b->block.len,
	                                       b->zbuf.p, bound);
	if (zlen == 0) return NS_ENOMEM; /* cannot happen with the bound */
	ns_buf_append(&b->zblocks, b->zbuf.p, zlen);
	ns_buf_put_le32(&b->zindex, (uint32_t)zlen);
	ns_buf_put_le32(&b->zindex, (uint32_t)b->block.len);
	ns_buf_put_le32(&b->zindex, ns_crc32(0, b->zbuf.p, zlen));
	b->raw += b->block.len;
	b->n_blocks++;
	b->block.len = 0;
	return b->zblocks.rc ? b->zblocks.rc : b->zindex.rc;
}

static int analyse_batch(batch *b, ns_stemmer *st)
{
	int rc;
	if (!b->tcache && !(b->tcache = ns_malloc(TCACHE_SIZE * sizeof *b->tcache)))
		return NS_ENOMEM;
	/* term ids are the batch's own: forget the previous batch's */
	for (size_t i = 0; i < TCACHE_SIZE; i++) b->tcache[i].len = 0;
	if (b->cap_out < b->n_docs) {
		size_t cap = b->n_docs;
		uint32_t *l = ns_realloc(b->lens, cap * sizeof *l);
		if (l) b->lens = l;
		uint32_t *k = ns_realloc(b->blk, cap * sizeof *k);
		if (k) b->blk = k;
		uint32_t *o = ns_realloc(b->blk_off, cap * sizeof *o);
		if (o) b->blk_off = o;
		if (!l || !k || !o) return NS_ENOMEM;
		b->cap_out = cap;
	}
	size_t n_touched = 0, block_docs = 0;
	for (size_t i = 0; i < b->n_docs; i++) {
		const bdoc *d = &b->docs[i];
		uint32_t docno = b->base + (uint32_t)i;
		const char *text = (const char *)b->strings.p + d->text;
		b->docs[i].hash = ns_text_hash(text, d->text_len);
		ns_tokenizer tz;
		ns_token tok;
		uint32_t pos = 0;
		n_touched = 0;
		ns_tok_init(&tz, text, d->text_len);
		while (ns_tok_next(&tz, &tok)) {
			uint32_t tid;
			if ((rc = batch_token(b, st, &tok, &tid))) return rc;
			lterm *t = &b->t[tid];
			if (t->last_doc != docno) {
				if (n_touched == b->touched_cap) {
					size_t cap = b->touched_cap ? b->touched_cap * 2 : 1024;
					uint32_t *p = ns_realloc(b->touched, cap * sizeof *p);
					if (!p) return NS_ENOMEM;
					b->touched = p;
					b->touched_cap = cap;
				}
				b->touched[n_touched++] = tid;
				t->last_doc = docno;
				t->tf = 0;
				ns_buf_put_varint(&t->pos, pos);
			} else {
				ns_buf_put_varint(&t->pos, pos - t->last_pos);
			}
			t->last_pos = pos;
			t->tf++;
			if (pos == UINT32_MAX - 1) break; /* positions are 32-bit */
			pos++;
		}
		for (size_t k = 0; k < n_touched; k++) {
			lterm *t = &b->t[b->touched[k]];
			if (t->df == 0) {
				t->first_doc = docno;
				ns_buf_put_varint(&t->docs, docno);
			} else {
				ns_buf_put_varint(&t->docs, docno - t->prev_doc);
			}
			ns_buf_put_varint(&t->docs, t->tf);
			t->prev_doc = docno;
			t->df++;
			t->cf += t->tf;
			if (t->docs.rc || t->pos.rc) return NS_ENOMEM;
		}
		b->postings += n_touched;
		b->tokens += pos;
		b->lens[i] = pos;
		/* the store: whole documents in blocks of at least NS_STORE_BLOCK */
		if (b->block.len && b->block.len + d->text_len > UINT32_MAX) {
			if ((rc = compress_block(b))) return rc;
			block_docs = 0;
		}
		b->blk[i] = b->n_blocks;
		b->blk_off[i] = (uint32_t)b->block.len;
		ns_buf_append(&b->block, text, d->text_len);
		if (b->block.rc) return NS_ENOMEM;
		block_docs++;
		if (b->block.len >= NS_STORE_BLOCK) {
			if ((rc = compress_block(b))) return rc;
			block_docs = 0;
		}
	}
	/* a block is written even when empty if a document refers to it */
	if (b->block.len || block_docs) return compress_block(b);
	return NS_OK;
}

static void *worker_main(void *arg)
{
	ns_writer *w = arg;
	ns_stemmer *st = NULL;
	int src = ns_stem_open(w->lang, &st);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->queue && !w->stop) pthread_cond_wait(&w->work, &w->mu);
		if (!w->queue) break;
		batch *b = w->queue;
		w->queue = b->next;
		if (!w->queue) w->queue_tail = NULL;
		pthread_mutex_unlock(&w->mu);
		int rc = src ? src : analyse_batch(b, st);
		pthread_mutex_lock(&w->mu);
		b->rc = rc;
		b->done = 1;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	ns_stem_close(st);
	return NULL;
}

/* ---- merging batches into the build (calling thread, in order) ----------- */

static int new_gterm(ns_writer *w, const char *s, size_t len, uint64_t h,
                     uint32_t *gid)
{
	uint32_t id = (uint32_t)w->terms.n;
	if (id == w->t_cap) {
		size_t cap = w->t_cap ? w->t_cap * 2 : 4096;
		gterm *t = ns_realloc(w->t, cap * sizeof *t);
		if (!t) return NS_ENOMEM;
		w->t = t;
		w->t_cap = cap;
	}
	memset(&w->t[id], 0, sizeof w->t[id]);
	NS_TRY(ns_strmap_put(&w->terms, s, len, h, id));
	*gid = id;
	return NS_OK;
}

static void put_run_bytes(FILE *f, const void *p, size_t n, int *err)
{
	if (n && fwrite(p, 1, n, f) != n) *err = 1;
}

static void put_run_varint(FILE *f, uint64_t v, int *err)
{
	uint8_t b[10];
	put_run_bytes(f, b, ns_varint_put(b, v), err);
}

/* Writes the buffered postings, sorted by term, to a run file and frees
** them.  Record: varint term length, term, varint df, varint cf,
** varint docs length, docs, varint positions length, positions. */
static int flush_run(ns_writer *w)
{
	uint32_t *order = ns_malloc(w->terms.n * sizeof *order + 1);
	run *runs = ns_realloc(w->runs, (w->n_runs + 1) * sizeof *runs);
	if (runs) w->runs = runs;
	char *path = ns_fmt("%s/" NS_SEG_FMT ".run%zu.tmp", w->dir, w->seg_no,
	                    w->n_runs);
	if (!order || !runs || !path || track_path(w, path)) {
		ns_free(order);
		return NS_ENOMEM;
	}
	size_t n = 0;
	for (uint32_t i = 0; i < w->terms.n; i++)
		if (w->t[i].df_mem) order[n++] = i;
	qsort_r(order, n, sizeof *order, ns_strmap_cmp_keys, &w->terms);
	FILE *f = fopen(path, "wb");
	int err = !f;
	if (f) setvbuf(f, NULL, _IOFBF, 1 << 20);
	for (size_t k = 0; k < n && !err; k++) {
		gterm *g = &w->t[order[k]];
		size_t len = w->terms.ents[order[k]].key_len;
		put_run_varint(f, len, &err);
		put_run_bytes(f, ns_strmap_key(&w->terms, order[k]), len, &err);
		put_run_varint(f, g->df_mem, &err);
		put_run_varint(f, g->cf_mem, &err);
		put_run_varint(f, g->docs.len, &err);
		put_run_bytes(f, g->docs.p, g->docs.len, &err);
		put_run_varint(f, g->pos.len, &err);
		put_run_bytes(f, g->pos.p, g->pos.len, &err);
		ns_buf_free(&g->docs);
		ns_buf_free(&g->pos);
		g->df_mem = 0;
		g->cf_mem = 0;
	}
	if (f && fclose(f) != 0) err = 1;
	ns_free(order);
	if (err) {
		set_err(w, NS_EIO, ns_fmt("cannot write '%s': %s", path,
		                          strerror(errno)));
		return NS_EIO;
	}
	memset(&w->runs[w->n_runs], 0, sizeof *w->runs);
	w->runs[w->n_runs++].path = path;
	w->mem = 0;
#ifdef __GLIBC__
	/* hand the freed posting buffers back: they are scattered through the
	** heap, and glibc would keep the pages resident */
	malloc_trim(0);
#endif
	return NS_OK;
}

static int idset_add(ns_writer *w, uint64_t h)
{
	if (!h) h = 1;
	if ((w->idset_n + 1) * 2 > w->idset_cap) {
		size_t cap = w->idset_cap ? w->idset_cap * 2 : 4096;
		uint64_t *s = ns_calloc(cap, sizeof *s);
		if (!s) return NS_ENOMEM;
		for (size_t i = 0; i < w->idset_cap; i++) {
			uint64_t v = w->idset[i];
			if (!v) continue;
			size_t j = v & (cap - 1);
			while (s[j]) j = (j + 1) & (cap - 1);
			s[j] = v;
		}
		ns_free(w->idset);
		w->idset = s;
		w->idset_cap = cap;
	}
	size_t j = h & (w->idset_cap - 1);
	while (w->idset[j]) {
		if (w->idset[j] == h) return NS_DONE;
		j = (j + 1) & (w->idset_cap - 1);
	}
	w->idset[j] = h;
	w->idset_n++;
	return NS_OK;
}

static void put_str(ns_buf *b, const char *s, size_t n)
{
	ns_buf_put_varint(b, n);
	ns_buf_append(b, s, n);
}

/* Memory the build keeps whatever the runs: the vocabulary, the set of
** id hashes and the document lengths (the record offsets and records are
** spooled to files). */
static size_t fixed_memory(const ns_writer *w)
{
	return ns_strmap_bytes(&w->terms) + w->t_cap * sizeof *w->t +
	       w->idset_cap * sizeof *w->idset + w->lens_cap * sizeof *w->lens;
}

/* The buffered postings may use what the budget leaves after the fixed
** memory, but never less than a quarter of the budget (else every batch
** would make a run: with 8 million documents the per-document tables
** alone take 160 MB). */
static size_t postings_limit(const ns_writer *w)
{
	size_t fixed = fixed_memory(w), floor = w->budget / 4;
	return fixed + floor < w->budget ? w->budget - fixed : floor;
}

static int merge_batch(ns_writer *w, batch *b)
{
	if (b->rc) {
		set_err(w, b->rc, ns_fmt("analysis failed: %s", ns_strerror(b->rc)));
		return w->rc;
	}
	/* document store */
	const uint8_t *z = b->zblocks.p, *e = b->zindex.p;
	for (uint32_t k = 0; k < b->n_blocks; k++, e += 12) {
		uint32_t zlen = ns_get_le32(e);
		uint8_t ent[NS_STORE_INDEX_ENTRY];
		ns_put_le64(ent, w->store_body);
		memcpy(ent + 8, e, 12);
		ns_buf_append(&w->store_index, ent, sizeof ent);
		ns_fout_write(&w->store, z, zlen);
		z += zlen;
		w->store_body += zlen;
	}
	if (w->store.rc) {
		set_err(w, w->store.rc, ns_fmt("cannot write the document store: %s",
		                               strerror(errno)));
		return w->rc;
	}
	/* document table */
	if (w->n_docs + b->n_docs > w->lens_cap) {
		size_t cap = w->lens_cap ? w->lens_cap : 4096;
		while (cap < w->n_docs + b->n_docs) cap *= 2;
		uint32_t *l = ns_realloc(w->lens, cap * sizeof *l);
		if (!l) return NS_ENOMEM;
		w->lens = l;
		w->lens_cap = cap;
	}
	for (size_t i = 0; i < b->n_docs; i++) {
		const bdoc *d = &b->docs[i];
		const char *s = (const char *)b->strings.p;
		ns_buf *r = &w->recbuf;
		r->len = 0;
		put_str(r, s + d->id, d->id_len);
		put_str(r, s + d->title, d->title_len);
		put_str(r, s + d->path, d->path_len);
		ns_buf_put_varint(r, d->size);
		uint64_t mt = (uint64_t)d->mtime;
		ns_buf_put_varint(r, (mt << 1) ^ (uint64_t)(d->mtime >> 63));
		ns_buf_put_varint(r, (uint64_t)w->store_blocks + b->blk[i]);
		ns_buf_put_varint(r, b->blk_off[i]);
		ns_buf_put_varint(r, d->text_len);
		ns_buf_put_le64(r, d->hash);
		if (r->rc) return NS_ENOMEM;
		if (w->rec_len + r->len > UINT32_MAX) {
			set_err(w, NS_ELIMIT, ns_fmt("document table larger than 4 GiB"));
			return w->rc;
		}
		uint8_t off[4];
		ns_put_le32(off, (uint32_t)w->rec_len);
		if (fwrite(r->p, 1, r->len, w->rec) != r->len ||
		    fwrite(off, 1, 4, w->roff) != 4) {
			set_err(w, NS_EIO, ns_fmt("cannot write '%s': %s", w->rec_path,
			                          strerror(errno)));
			return w->rc;
		}
		w->rec_len += r->len;
		w->lens[w->n_docs + i] = b->lens[i];
		w->stats.input_bytes += d->text_len;
	}
	w->store_blocks += b->n_blocks;
	w->store_raw += b->raw;
	w->n_docs += (uint32_t)b->n_docs;
	w->stats.n_docs += b->n_docs;
	w->total_tokens += b->tokens;
	w->stats.n_postings += b->postings;
	w->stats.n_positions += b->tokens;
	/* postings: the batch's terms, appended to the build's */
	for (uint32_t j = 0; j < b->terms.n; j++) {
		const lterm *lt = &b->t[j];
		const char *s = ns_strmap_key(&b->terms, j);
		size_t sl = b->terms.ents[j].key_len;
		uint64_t h = b->terms.ents[j].hash;
		uint32_t *v = ns_strmap_get(&w->terms, s, sl, h);
		uint32_t gid;
		if (v)
			gid = *v;
		else
			NS_TRY(new_gterm(w, s, sl, h, &gid));
		gterm *g = &w->t[gid];
		const uint8_t *p = lt->docs.p, *end = p + lt->docs.len;
		uint64_t first;
		if (ns_varint_get(&p, end, &first)) return NS_ECORRUPT;
		size_t before = g->docs.cap + g->pos.cap;
		ns_buf_put_varint(&g->docs, g->df_mem ? first - g->last_doc : first);
		ns_buf_append(&g->docs, p, (size_t)(end - p));
		ns_buf_append(&g->pos, lt->pos.p, lt->pos.len);
		if (g->docs.rc || g->pos.rc) return NS_ENOMEM;
		w->mem += g->docs.cap + g->pos.cap - before;
		g->last_doc = lt->last_doc;
		g->df_mem += lt->df;
		g->cf_mem += lt->cf;
		g->df += lt->df;
		g->cf += lt->cf;
	}
	if (w->mem >= postings_limit(w)) return flush_run(w);
	return NS_OK;
}

static batch *get_batch(ns_writer *w)
{
	batch *b;
	if (w->n_free) {
		b = w->free_b[--w->n_free];
	} else {
		b = ns_calloc(1, sizeof *b);
		if (!b) return NULL;
		ns_strmap_init(&b->surface);
		ns_strmap_init(&b->terms);
	}
	b->strings.len = 0;
	b->n_docs = 0;
	b->zblocks.len = b->zindex.len = b->block.len = 0;
	b->strings.rc = b->zblocks.rc = b->zindex.rc = b->block.rc = b->zbuf.rc = 0;
	b->n_blocks = 0;
	b->raw = b->tokens = b->postings = 0;
	b->done = 0;
	b->rc = 0;
	b->next = NULL;
	ns_strmap_clear(&b->surface);
	ns_strmap_clear(&b->terms);
	return b;
}

static void free_batch(batch *b)
{
	if (!b) return;
	ns_buf_free(&b->strings);
	ns_free(b->docs);
	ns_free(b->lens);
	ns_free(b->blk);
	ns_free(b->blk_off);
	ns_buf_free(&b->zblocks);
	ns_buf_free(&b->zindex);
	ns_buf_free(&b->zbuf);
	ns_buf_free(&b->block);
	libdeflate_free_compressor(b->comp);
	ns_strmap_free(&b->surface);
	ns_strmap_free(&b->terms);
	for (size_t i = 0; i < b->t_cap; i++) {
		ns_buf_free(&b->t[i].docs);
		ns_buf_free(&b->t[i].pos);
	}
	ns_free(b->t);
	ns_free(b->touched);
	ns_free(b->tcache);
	ns_free(b);
}

/* Merges finished batches at the head of the in-flight list; with wait,
** blocks until fewer than max_inflight remain. */
static int merge_done(ns_writer *w, int wait)
{
	while (w->n_inflight && !w->rc) {
		batch *b = w->inflight[0];
		pthread_mutex_lock(&w->mu);
		while (wait && !b->done && w->n_inflight >= w->max_inflight)
			pthread_cond_wait(&w->done, &w->mu);
		int done = b->done;
		pthread_mutex_unlock(&w->mu);
		if (!done) break;
		int rc = merge_batch(w, b);
		if (rc) set_err(w, rc, NULL);
		w->pending_docs -= b->n_docs;
		memmove(w->inflight, w->inflight + 1,
		        (w->n_inflight - 1) * sizeof *w->inflight);
		w->n_inflight--;
		w->free_b[w->n_free++] = b;
	}
	return w->rc;
}

/* Hands the current batch over for analysis. */
static int submit(ns_writer *w)
{
	batch *b = w->cur;
	if (!b || b->n_docs == 0) return w->rc;
	w->cur = NULL;
	if ((uint64_t)w->n_docs + w->pending_docs + b->n_docs >= UINT32_MAX - 1) {
		w->free_b[w->n_free++] = b;
		set_err(w, NS_ELIMIT, ns_fmt("too many documents for one segment"));
		return w->rc;
	}
	b->base = w->n_docs + (uint32_t)w->pending_docs;
	if (w->threads <= 1) {
		b->rc = analyse_batch(b, w->stem);
		b->done = 1;
		w->inflight[w->n_inflight++] = b;
		w->pending_docs += b->n_docs;
		return merge_done(w, 0);
	}
	w->inflight[w->n_inflight++] = b;
	w->pending_docs += b->n_docs;
	pthread_mutex_lock(&w->mu);
	if (w->queue_tail)
		w->queue_tail->next = b;
	else
		w->queue = b;
	w->queue_tail = b;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return merge_done(w, 1);
}

static void put_batch_str(batch *b, const char *s, size_t n, size_t *off,
                          size_t *len)
{
	*off = b->strings.len;
	*len = n;
	ns_buf_append(&b->strings, s, n);
	ns_buf_putc(&b->strings, 0);
}

static int buffer_doc(ns_writer *w, const ns_doc *doc, size_t idlen);

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
	int rc = idset_add(w, ns_hash_bytes(doc->id, idlen));
	if (rc == NS_DONE) {
		ns_free(w->errmsg);
		w->errmsg = ns_fmt("duplicate document id '%s', skipped", doc->id);
		return NS_EINVAL;
	}
	if (rc) {
		set_err(w, rc, ns_fmt("out of memory"));
		return rc;
	}
	if (w->base) { /* an update: the new document replaces the old one */
		uint32_t si, d;
		rc = find_live(w, doc->id, idlen, &si, &d);
		if (rc == NS_OK) rc = delete_doc(w, si, d);
		if (rc && rc != NS_DONE) {
			set_err(w, rc, ns_fmt("cannot replace '%s': %s", doc->id,
			                      ns_strerror(rc)));
			return rc;
		}
	}
	return buffer_doc(w, doc, idlen);
}

/* Copies a checked document into the current batch. */
static int buffer_doc(ns_writer *w, const ns_doc *doc, size_t idlen)
{
	if (!w->cur && !(w->cur = get_batch(w))) {
		set_err(w, NS_ENOMEM, ns_fmt("out of memory"));
		return w->rc;
	}
	batch *b = w->cur;
	if (b->n_docs == b->cap_docs) {
		size_t cap = b->cap_docs ? b->cap_docs * 2 : 256;
		bdoc *d = ns_realloc(b->docs, cap * sizeof *d);
		if (!d) {
			set_err(w, NS_ENOMEM, ns_fmt("out of memory"));
			return w->rc;
		}
		b->docs = d;
		b->cap_docs = cap;
	}
	bdoc *d = &b->docs[b->n_docs];
	const char *title = doc->title ? doc->title : "";
	const char *path = doc->path ? doc->path : "";
	put_batch_str(b, doc->id, idlen, &d->id, &d->id_len);
	put_batch_str(b, title, strlen(title), &d->title, &d->title_len);
	put_batch_str(b, path, strlen(path), &d->path, &d->path_len);
	put_batch_str(b, doc->text ? doc->text : "", doc->text ? doc->text_len : 0,
	              &d->text, &d->text_len);
	d->size = doc->size;
	d->mtime = doc->mtime;
	if (b->strings.rc) {
		set_err(w, NS_ENOMEM, ns_fmt("out of memory"));
		return w->rc;
	}
	b->n_docs++;
	if (b->strings.len >= BATCH_BYTES || b->n_docs >= BATCH_DOCS)
		return submit(w);
	return NS_OK;
}

/* Stops the worker threads (after the queue is empty). */
static void stop_workers(ns_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->started; i++) pthread_join(w->tid[i], NULL);
	w->started = 0;
}

/* ---- commit: merge runs and encode ---------------------------------------- */

/* One source of a term's postings: a run record or the memory buffers. */
typedef struct part {
	const uint8_t *d, *dend, *p, *pend;
	uint64_t df;
} part;

typedef struct enc {
	uint32_t docs[NS_BLOCK], tfs[NS_BLOCK], gaps[NS_BLOCK];
	uint32_t *pos;
	size_t pos_cap;
	ns_buf out;  /* encoded bytes of one block */
	ns_buf pout; /* encoded positions of one block */
	ns_buf skip; /* skip entries of the term */
	part *parts;
	size_t parts_cap;
} enc;

/* Appends n integers: full blocks of NS_BLOCK as patched bit-packed
** blocks, the rest as a short packed tail. */
static void put_ints(ns_buf *b, const uint32_t *v, size_t n)
{
	while (n >= NS_BLOCK) {
		if (ns_buf_reserve(b, NS_PFOR_BOUND)) return;
		b->len += ns_pfor_pack128(v, b->p + b->len);
		v += NS_BLOCK;
		n -= NS_BLOCK;
	}
	if (n) {
		if (ns_buf_reserve(b, ns_ptail_bound(n))) return;
		b->len += ns_ptail_put(v, n, b->p + b->len);
	}
}

typedef struct term_out {
	uint64_t post_len, pos_len;
	uint32_t max_tf, min_dl;
} term_out;

/* Where a merge writes encoded bytes: the segment's file, or a temporary
** file that is appended to it afterwards (the second half of a split
** merge, see write_terms()). */
typedef struct sink {
	ns_fout *f; /* the file, or NULL: fp */
	FILE *fp;
	uint64_t off; /* bytes written through this sink */
	int err;      /* fp: the errno of a failed write, else 0 */
} sink;

static void sink_write(sink *s, const void *p, size_t n)
{
	if (s->f)
		ns_fout_write(s->f, p, n);
	else if (!s->err && fwrite(p, 1, n, s->fp) != n)
		s->err = errno ? errno : EIO;
	s->off += n;
}

/* Streams one term's postings from its parts into the posting and
** position files (docs/FORMAT.md#postings): blocks of 128, then the skip
** table when df >= 128. */
static int encode_term(ns_writer *w, enc *e, size_t np, uint64_t df,
                       sink *fp, sink *fq, term_out *o)
{
	uint64_t nb = df >= NS_BLOCK ? (df + NS_BLOCK - 1) / NS_BLOCK : 0;
	e->skip.len = 0;
	o->post_len = o->pos_len = 0;
	o->max_tf = 0;
	o->min_dl = UINT32_MAX;
	size_t pi = 0;
	uint64_t left = np ? e->parts[0].df : 0, done = 0;
	int first = 1;
	uint32_t prev = 0;
	while (done < df) {
		uint32_t n = df - done < NS_BLOCK ? (uint32_t)(df - done) : NS_BLOCK;
		size_t npos = 0;
		uint32_t bmax = 0, bmin = UINT32_MAX;
		for (uint32_t j = 0; j < n; j++) {
			while (left == 0) {
				if (++pi >= np) return NS_ECORRUPT;
				left = e->parts[pi].df;
				first = 1;
			}
			part *pt = &e->parts[pi];
			uint32_t gap, tf;
			if (ns_varint_get32(&pt->d, pt->dend, &gap) ||
			    ns_varint_get32(&pt->d, pt->dend, &tf) || tf == 0)
				return NS_ECORRUPT;
			uint32_t doc = first ? gap : prev + gap;
			if ((done + j && doc <= prev) || doc >= w->n_docs) return NS_ECORRUPT;
			first = 0;
			left--;
			if (npos + tf > e->pos_cap) {
				size_t cap = (npos + tf) * 2;
				uint32_t *p = ns_realloc(e->pos, cap * sizeof *p);
				if (!p) return NS_ENOMEM;
				e->pos = p;
				e->pos_cap = cap;
			}
			for (uint32_t k = 0; k < tf; k++)
				if (ns_varint_get32(&pt->p, pt->pend, &e->pos[npos++]))
					return NS_ECORRUPT;
			e->gaps[j] = done + j ? doc - prev : doc;
			e->tfs[j] = tf - 1;
			prev = doc;
			if (tf > bmax) bmax = tf;
			if (w->lens[doc] < bmin) bmin = w->lens[doc];
		}
		e->out.len = 0;
		put_ints(&e->out, e->gaps, n);
		put_ints(&e->out, e->tfs, n);
		e->pout.len = 0;
		put_ints(&e->pout, e->pos, npos);
		if (e->out.rc || e->pout.rc) return NS_ENOMEM;
		sink_write(fq, e->pout.p, e->pout.len);
		if (nb) {
			uint8_t s[NS_SKIP_ENTRY];
			ns_put_le32(s, prev);
			ns_put_le32(s + 4, (uint32_t)o->post_len);
			ns_put_le32(s + 8, (uint32_t)o->pos_len);
			ns_put_le32(s + 12, bmax);
			ns_put_le32(s + 16, bmin);
			ns_buf_append(&e->skip, s, sizeof s);
		}
		sink_write(fp, e->out.p, e->out.len);
		o->post_len += e->out.len;
		o->pos_len += e->pout.len;
		if (o->post_len > UINT32_MAX || o->pos_len > UINT32_MAX)
			return NS_ELIMIT;
		if (bmax > o->max_tf) o->max_tf = bmax;
		if (bmin < o->min_dl) o->min_dl = bmin;
		done += n;
	}
	if (nb) {
		if (e->skip.rc) return NS_ENOMEM;
		sink_write(fp, e->skip.p, e->skip.len);
		o->post_len += e->skip.len;
	}
	/* every part must have been used up exactly */
	if (left != 0 || (np && pi != np - 1)) return NS_ECORRUPT;
	for (size_t k = 0; k < np; k++)
		if (e->parts[k].d != e->parts[k].dend || e->parts[k].p != e->parts[k].pend)
			return NS_ECORRUPT;
	return NS_OK;
}

static int map_run(run *r)
{
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return NS_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NS_EIO;
	}
	r->size = (size_t)st.st_size;
	if (r->size) {
		void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return NS_EIO;
		}
		madvise(m, r->size, MADV_SEQUENTIAL);
		r->p = r->base = m;
	}
	r->end = r->p + r->size;
	close(fd);
	return NS_OK;
}

/* If run r's next record is term s, takes it as a part. */
static int run_part(run *r, const char *s, size_t sl, part *pt, int *got)
{
	*got = 0;
	if (r->p == r->end) return NS_OK;
	const uint8_t *p = r->p;
	uint64_t len, df, cf, dl, pl;
	if (ns_varint_get(&p, r->end, &len) || len > (uint64_t)(r->end - p))
		return NS_ECORRUPT;
	if (len != sl || memcmp(p, s, sl)) return NS_OK;
	p += len;
	if (ns_varint_get(&p, r->end, &df) || ns_varint_get(&p, r->end, &cf) ||
	    ns_varint_get(&p, r->end, &dl) || dl > (uint64_t)(r->end - p))
		return NS_ECORRUPT;
	pt->d = p;
	pt->dend = p + dl;
	p += dl;
	if (ns_varint_get(&p, r->end, &pl) || pl > (uint64_t)(r->end - p))
		return NS_ECORRUPT;
	pt->p = p;
	pt->pend = p + pl;
	pt->df = df;
	r->p = p + pl;
	*got = 1;
	return NS_OK;
}

/* Appends the n bytes of spool file path to f.  Non-zero on failure. */
static int copy_spool(ns_fout *f, const char *path, uint64_t n)
{
	FILE *r = fopen(path, "rb");
	if (!r) return -1;
	uint8_t b[1 << 16];
	size_t k;
	uint64_t copied = 0;
	while ((k = fread(b, 1, sizeof b, r)) > 0) {
		ns_fout_write(f, b, k);
		copied += k;
	}
	fclose(r);
	return copied != n;
}

/* Moves r to its first record whose term sorts at or after s (a run holds
** its terms in the order write_terms() merges them: bytewise, a prefix
** first). */
static int run_seek(run *r, const char *s, size_t sl)
{
	while (r->p < r->end) {
		const uint8_t *p = r->p;
		uint64_t len, df, cf, dl, pl;
		if (ns_varint_get(&p, r->end, &len) || len > (uint64_t)(r->end - p))
			return NS_ECORRUPT;
		int c = memcmp(p, s, len < sl ? (size_t)len : sl);
		if (c > 0 || (c == 0 && len >= sl)) return NS_OK;
		p += len;
		if (ns_varint_get(&p, r->end, &df) || ns_varint_get(&p, r->end, &cf) ||
		    ns_varint_get(&p, r->end, &dl) || dl > (uint64_t)(r->end - p))
			return NS_ECORRUPT;
		p += dl;
		if (ns_varint_get(&p, r->end, &pl) || pl > (uint64_t)(r->end - p))
			return NS_ECORRUPT;
		r->p = p + pl;
	}
	return NS_OK;
}

/* A half of the final merge that stopped because the other failed (never
** returned: the other half's error is). */
#define NS_ECANCELED_MERGE (-1000)

/* One range of the final merge: terms order[from..to), read from the runs
** at `runs` (this range's own read positions) and from memory, encoded
** into sp and sq.  Each term's output goes to outs[k - from] when outs is
** given, else to the callback (the dictionary, written as it goes). */
typedef struct mrange {
	ns_writer *w;
	const uint32_t *order;
	uint32_t from, to;
	run *runs;
	sink sp, sq;
	term_out *outs;
	int (*each)(void *ctx, uint32_t k, const term_out *o);
	void *ctx;
	int rc;
	uint32_t big; /* the term whose list exceeded the format (NS_ELIMIT) */
	int *failed;  /* shared by both halves: set when one fails, so that
	                 the other stops early */
} mrange;

static int merge_range(mrange *m)
{
	ns_writer *w = m->w;
	enc e;
	memset(&e, 0, sizeof e);
	e.parts = ns_calloc(w->n_runs + 1, sizeof *e.parts);
	int rc = e.parts ? NS_OK : NS_ENOMEM;
	for (uint32_t k = m->from; k < m->to && !rc; k++) {
		if (k % 1024 == 0) {
			if (m->sp.err || m->sq.err) break; /* reported below */
			if (__atomic_load_n(m->failed, __ATOMIC_RELAXED)) {
				rc = NS_ECANCELED_MERGE;
				break;
			}
		}
		uint32_t tid = m->order[k];
		gterm *g = &w->t[tid];
		const char *s = ns_strmap_key(&w->terms, tid);
		size_t sl = w->terms.ents[tid].key_len;
		size_t np = 0;
		for (size_t r = 0; r < w->n_runs && !rc; r++) {
			int got;
			run_release(&m->runs[r]);
			rc = run_part(&m->runs[r], s, sl, &e.parts[np], &got);
			np += (size_t)got;
		}
		if (rc) break;
		if (g->df_mem) {
			part *pt = &e.parts[np++];
			pt->d = g->docs.p;
			pt->dend = g->docs.p + g->docs.len;
			pt->p = g->pos.p;
			pt->pend = g->pos.p + g->pos.len;
			pt->df = g->df_mem;
		}
		term_out o;
		if ((rc = encode_term(w, &e, np, g->df, &m->sp, &m->sq, &o))) {
			if (rc == NS_ELIMIT) m->big = tid;
			break;
		}
		if (m->outs)
			m->outs[k - m->from] = o;
		else
			rc = m->each(m->ctx, k, &o);
		ns_buf_free(&g->docs);
		ns_buf_free(&g->pos);
	}
	if (!rc && (m->sp.err || m->sq.err)) rc = NS_EIO;
	if (rc) __atomic_store_n(m->failed, 1, __ATOMIC_RELAXED);
	ns_free(e.pos);
	ns_free(e.parts);
	ns_buf_free(&e.out);
	ns_buf_free(&e.pout);
	ns_buf_free(&e.skip);
	return m->rc = rc;
}

static void *merge_main(void *arg)
{
	merge_range(arg);
	return NULL;
}

/* The dictionary as write_terms() writes it, entry by entry. */
typedef struct dict_out {
	ns_writer *w;
	const uint32_t *order;
	ns_fout *fd;
	ns_buf block, index;
	uint64_t post_off, pos_off, dict_off, n_blocks;
	const char *prev;
	size_t prev_len;
} dict_out;

/* Appends the entry of term order[k], front-coded within its block
** (docs/FORMAT.md#dictionary). */
static int dict_put(void *ctx, uint32_t k, const term_out *o)
{
	dict_out *d = ctx;
	uint32_t tid = d->order[k];
	const gterm *g = &d->w->t[tid];
	const char *s = ns_strmap_key(&d->w->terms, tid);
	size_t sl = d->w->terms.ents[tid].key_len, pre = 0;
	int first = k % NS_DICT_BLOCK == 0;
	if (first) {
		if (d->block.len) {
			ns_fout_write(d->fd, d->block.p, d->block.len);
			d->dict_off += d->block.len;
			d->block.len = 0;
		}
		ns_buf_put_le64(&d->index, d->dict_off);
		d->n_blocks++;
	} else {
		while (pre < sl && pre < d->prev_len && pre < 255 && s[pre] == d->prev[pre])
			pre++;
	}
	ns_buf *b = &d->block;
	ns_buf_put_varint(b, pre);
	ns_buf_put_varint(b, sl - pre);
	ns_buf_append(b, s + pre, sl - pre);
	ns_buf_put_varint(b, g->df);
	ns_buf_put_varint(b, g->cf);
	if (first) {
		ns_buf_put_varint(b, d->post_off);
		ns_buf_put_varint(b, d->pos_off);
	}
	ns_buf_put_varint(b, o->post_len);
	ns_buf_put_varint(b, o->pos_len);
	ns_buf_put_varint(b, o->max_tf);
	ns_buf_put_varint(b, o->min_dl);
	d->post_off += o->post_len;
	d->pos_off += o->pos_len;
	d->prev = s;
	d->prev_len = sl;
	return b->rc || d->index.rc ? NS_ENOMEM : NS_OK;
}

/* Where the final merge splits the sorted terms in two halves of about
** equal work (postings and positions to encode), or n when it does not:
** one thread, or too little to gain from a second. */
static uint32_t merge_split(const ns_writer *w, const uint32_t *order,
                            uint32_t n)
{
	if (w->threads < 2) return n;
	uint64_t total = 0, acc = 0;
	for (uint32_t k = 0; k < n; k++) {
		const gterm *g = &w->t[order[k]];
		total += g->cf + 2 * g->df + 16;
	}
	if (total < ((uint64_t)1 << 20)) return n;
	for (uint32_t k = 0; k < n; k++) {
		const gterm *g = &w->t[order[k]];
		acc += g->cf + 2 * g->df + 16;
		if (2 * acc >= total) return k + 1;
	}
	return n;
}

/* Merges the runs and what is still in memory into the segment's
** dictionary, posting and position files.  With more than one thread the
** sorted terms are cut in two: this thread encodes the first half into the
** segment's files while another encodes the second half into temporary
** files, which are then appended; the bytes are the same either way. */
static int write_terms(ns_writer *w)
{
	int rc = NS_ENOMEM;
	char *pd, *pp, *pq, *tp = NULL, *tq = NULL;
	NS_TRY(track_file(w, "dict", &pd));
	NS_TRY(track_file(w, "post", &pp));
	NS_TRY(track_file(w, "pos", &pq));
	for (size_t i = 0; i < w->n_runs; i++)
		if (map_run(&w->runs[i])) {
			set_err(w, NS_EIO, ns_fmt("cannot read back '%s': %s",
			                          w->runs[i].path, strerror(errno)));
			return NS_EIO;
		}
	uint32_t n_terms = (uint32_t)w->terms.n;
	uint32_t *order = ns_malloc((size_t)n_terms * sizeof *order + 1);
	ns_fout fd, fp, fq;
	memset(&fd, 0, sizeof fd);
	memset(&fp, 0, sizeof fp);
	memset(&fq, 0, sizeof fq);
	fd.fd = fp.fd = fq.fd = -1;
	dict_out d;
	memset(&d, 0, sizeof d);
	ns_buf_init(&d.block);
	ns_buf_init(&d.index);
	mrange m1, m2;
	memset(&m1, 0, sizeof m1);
	memset(&m2, 0, sizeof m2);
	run *runs2 = NULL;
	pthread_t tid;
	int threaded = 0, failed = 0;
	if (!order) goto out;
	for (uint32_t i = 0; i < n_terms; i++) order[i] = i;
	qsort_r(order, n_terms, sizeof *order, ns_strmap_cmp_keys, &w->terms);

	ns_fout_open(&fd, pd, NS_MAGIC_DICT);
	ns_fout_open(&fp, pp, NS_MAGIC_POST);
	ns_fout_open(&fq, pq, NS_MAGIC_POS);
	d.w = w;
	d.order = order;
	d.fd = &fd;
	d.prev = "";
	uint32_t split = merge_split(w, order, n_terms);
	m1 = (mrange){.w = w, .order = order, .from = 0, .to = split,
	              .runs = w->runs, .sp = {.f = &fp}, .sq = {.f = &fq},
	              .each = dict_put, .ctx = &d, .failed = &failed};
	if (split < n_terms) {
		/* the second half: its own read positions in the runs, its own
		** temporary files, its terms' outputs kept for the dictionary */
		uint32_t first = order[split];
		const char *s = ns_strmap_key(&w->terms, first);
		size_t sl = w->terms.ents[first].key_len;
		runs2 = ns_calloc(2 * w->n_runs + 1, sizeof *runs2); /* + starts */
		m2 = (mrange){.w = w, .order = order, .from = split, .to = n_terms,
		              .runs = runs2, .failed = &failed,
		              .outs = ns_malloc((size_t)(n_terms - split) * sizeof(term_out))};
		if (!runs2 || !m2.outs) goto out;
		for (size_t r = 0; r < w->n_runs; r++) {
			runs2[r] = w->runs[r];
			if ((rc = run_seek(&runs2[r], s, sl))) goto out;
			size_t at = (size_t)(runs2[r].p - runs2[r].base), page = 1u << 16;
			runs2[r].released = (at + page - 1) & ~(page - 1);
			runs2[w->n_runs + r] = runs2[r];
		}
		if ((rc = track_file(w, "post.tmp", &tp)) ||
		    (rc = track_file(w, "pos.tmp", &tq)))
			goto out;
		const char *bad = NULL;
		int e = 0;
		if (!(m2.sp.fp = fopen(tp, "wb")))
			bad = tp, e = errno;
		else if (!(m2.sq.fp = fopen(tq, "wb")))
			bad = tq, e = errno;
		if (bad) {
			rc = NS_EIO;
			set_err(w, rc, ns_fmt("cannot create '%s': %s", bad, strerror(e)));
			goto out;
		}
		threaded = pthread_create(&tid, NULL, merge_main, &m2) == 0;
	}
	merge_range(&m1);
	if (split < n_terms) {
		if (threaded)
			pthread_join(tid, NULL);
		else if (!m1.rc) /* no thread: the second half after the first */
			merge_range(&m2);
		threaded = 0;
	}
	/* the half that failed first has the error (the other one stopped) */
	rc = m1.rc && m1.rc != NS_ECANCELED_MERGE ? m1.rc : m2.rc ? m2.rc : m1.rc;
	uint32_t big = m1.rc == NS_ELIMIT ? m1.big : m2.big;
	if (rc == NS_EIO && (m2.sp.err || m2.sq.err))
		set_err(w, rc, ns_fmt("cannot write '%s': %s", m2.sp.err ? tp : tq,
		                      strerror(m2.sp.err ? m2.sp.err : m2.sq.err)));
	if (rc == NS_ELIMIT)
		set_err(w, rc, ns_fmt("posting list of '%.*s' too large",
		                      (int)w->terms.ents[big].key_len,
		                      ns_strmap_key(&w->terms, big)));
	if (rc) goto out;
	/* every run read exactly up to where the second half starts, and the
	** second half exactly to its end */
	for (size_t r = 0; r < w->n_runs; r++)
		if (w->runs[r].p != (runs2 ? runs2[w->n_runs + r].p : w->runs[r].end) ||
		    (runs2 && runs2[r].p != runs2[r].end)) {
			rc = NS_ECORRUPT;
			goto out;
		}
	if (split < n_terms) {
		/* append the second half's bytes, then its dictionary entries */
		const char *bad = NULL, *what = "write";
		int e = 0;
		if (fflush(m2.sp.fp) != 0)
			bad = tp, e = errno;
		else if (fflush(m2.sq.fp) != 0)
			bad = tq, e = errno;
		else if (what = "read back", copy_spool(&fp, tp, m2.sp.off))
			bad = tp, e = errno;
		else if (copy_spool(&fq, tq, m2.sq.off))
			bad = tq, e = errno;
		if (bad) {
			rc = NS_EIO;
			set_err(w, rc, ns_fmt("cannot %s '%s': %s", what, bad,
			                      strerror(e ? e : EIO)));
			goto out;
		}
		for (uint32_t k = split; k < n_terms && !rc; k++)
			rc = dict_put(&d, k, &m2.outs[k - split]);
		if (rc) goto out;
	}
	ns_fout_write(&fd, d.block.p, d.block.len);
	d.dict_off += d.block.len;
	if (d.block.rc || d.index.rc) {
		rc = NS_ENOMEM;
		goto out;
	}
	ns_fout_write(&fd, d.index.p, d.index.len);
	static const uint8_t zeros[NS_BODY_PADDING];
	ns_fout_write(&fp, zeros, sizeof zeros);
	ns_fout_write(&fq, zeros, sizeof zeros);
	uint8_t meta[24];
	ns_put_le64(meta, n_terms);
	ns_put_le64(meta + 8, d.n_blocks);
	ns_put_le64(meta + 16, d.dict_off);
	int r1 = ns_fout_finish(&fd, meta, NS_META_DICT);
	ns_put_le64(meta, w->stats.n_postings);
	ns_put_le64(meta + 8, d.post_off);
	ns_put_le64(meta + 16, 0);
	int r2 = ns_fout_finish(&fp, meta, NS_META_POST);
	ns_put_le64(meta, w->stats.n_positions);
	ns_put_le64(meta + 8, d.pos_off);
	int r3 = ns_fout_finish(&fq, meta, NS_META_POS);
	rc = r1 ? r1 : r2 ? r2 : r3;
	w->stats.n_terms = n_terms;
	w->stats.index_bytes += fd.off + fp.off + fq.off;
out:
	if (threaded) pthread_join(tid, NULL);
	if (rc) {
		ns_fout_abort(&fd);
		ns_fout_abort(&fp);
		ns_fout_abort(&fq);
	}
	if (m2.sp.fp) fclose(m2.sp.fp);
	if (m2.sq.fp) fclose(m2.sq.fp);
	if (tp) unlink(tp);
	if (tq) unlink(tq);
	ns_free(m2.outs);
	ns_free(runs2);
	ns_free(order);
	ns_buf_free(&d.block);
	ns_buf_free(&d.index);
	return rc;
}

static int write_docs(ns_writer *w)
{
	char *path;
	NS_TRY(track_file(w, "docs", &path));
	if (fflush(w->rec) != 0) return NS_EIO;
	ns_fout f;
	ns_fout_open(&f, path, NS_MAGIC_DOCS);
	uint64_t lens_bytes = (uint64_t)w->n_docs * 4;
	uint8_t b[4096];
	for (uint32_t i = 0; i < w->n_docs;) {
		size_t k = 0;
		for (; k < sizeof b / 4 && i < w->n_docs; k++, i++)
			ns_put_le32(b + 4 * k, w->lens[i]);
		ns_fout_write(&f, b, 4 * k);
	}
	/* the record offsets and the records, spooled to files while the
	** batches were merged */
	uint8_t last[4];
	ns_put_le32(last, (uint32_t)w->rec_len);
	if (fwrite(last, 1, 4, w->roff) != 4 || fflush(w->roff) != 0) {
		ns_fout_abort(&f);
		return NS_EIO;
	}
	uint64_t roff_len = ((uint64_t)w->n_docs + 1) * 4;
	if (copy_spool(&f, w->roff_path, roff_len)) {
		ns_fout_abort(&f);
		return NS_EIO;
	}
	FILE *r = fopen(w->rec_path, "rb");
	if (!r) {
		ns_fout_abort(&f);
		return NS_EIO;
	}
	size_t n;
	uint64_t copied = 0;
	while ((n = fread(b, 1, sizeof b, r)) > 0) {
		ns_fout_write(&f, b, n);
		copied += n;
	}
	fclose(r);
	if (copied != w->rec_len) {
		ns_fout_abort(&f);
		return NS_EIO;
	}
	uint8_t meta[NS_META_DOCS];
	ns_put_le64(meta, w->n_docs);
	ns_put_le64(meta + 8, w->total_tokens);
	ns_put_le64(meta + 16, 0);
	ns_put_le64(meta + 24, lens_bytes);
	ns_put_le64(meta + 32, lens_bytes + roff_len);
	int rc = ns_fout_finish(&f, meta, NS_META_DOCS);
	w->stats.index_bytes += f.off;
	return rc;
}

static int finish_store(ns_writer *w)
{
	ns_fout_write(&w->store, w->store_index.p, w->store_index.len);
	uint8_t meta[NS_META_STORE];
	ns_put_le64(meta, w->store_blocks);
	ns_put_le64(meta + 8, w->store_body);
	ns_put_le64(meta + 16, w->store_raw);
	ns_put_le32(meta + 24, ns_crc32(0, w->store_index.p,
	                                         w->store_index.len));
	ns_put_le32(meta + 28, 0);
	int rc = ns_fout_finish(&w->store, meta, NS_META_STORE);
	w->store.fd = -1;
	w->stats.index_bytes += w->store.off;
	return rc;
}

static void remove_temp(ns_writer *w)
{
	for (size_t i = 0; i < w->n_runs; i++) {
		if (w->runs[i].base)
			munmap((void *)(uintptr_t)w->runs[i].base, w->runs[i].size);
		w->runs[i].base = w->runs[i].p = NULL;
		unlink(w->runs[i].path);
	}
	if (w->rec) fclose(w->rec);
	w->rec = NULL;
	if (w->rec_path) unlink(w->rec_path);
	if (w->roff) fclose(w->roff);
	w->roff = NULL;
	if (w->roff_path) unlink(w->roff_path);
}

/* Live documents of base segment si, counting this writer's deletions. */
static uint64_t base_live(const ns_writer *w, uint32_t si)
{
	const ns_seg *s = &w->base->segs[si];
	const ns_dels *dl = w->dels[si].bits ? &w->dels[si] : &s->dels;
	return s->n_docs - dl->n_deleted;
}

/* Chooses the base segments to merge (w->merging) by the policy. */
static void choose_merges(ns_writer *w)
{
	uint32_t n = w->base->n_segs;
	uint64_t acc = w->n_docs + w->pending_docs + (w->cur ? w->cur->n_docs : 0);
	if (w->merge == NS_MERGE_NONE) return;
	if (w->merge == NS_MERGE_ALL) {
		int any = acc > 0 || n > 1;
		for (uint32_t i = 0; i < n; i++)
			if (base_live(w, i) < w->base->segs[i].n_docs) any = 1;
		for (uint32_t i = 0; i < n && any; i++)
			w->merging[i] = base_live(w, i) > 0;
		return;
	}
	/* segments more than half deleted are rewritten to reclaim space */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t live = base_live(w, i);
		if (live && (w->base->segs[i].n_docs - live) * 2 > w->base->segs[i].n_docs) {
			w->merging[i] = 1;
			acc += live;
		}
	}
	/* tiers: from the newest, take each segment not more than twice the
	** size of what is being merged; segments end up each at least twice
	** the next newer one, so there are O(log n) of them */
	for (uint32_t i = n; i-- > 0;) {
		uint64_t live = base_live(w, i);
		if (!live || w->merging[i]) continue;
		if (acc == 0 || live > 2 * acc) break;
		w->merging[i] = 1;
		acc += live;
	}
}

/* Re-adds the live documents of the segments chosen for merging into the
** new segment (analysed again from the stored text). */
static int merge_segments(ns_writer *w)
{
	choose_merges(w);
	ns_buf names, blk;
	ns_buf_init(&names);
	ns_buf_init(&blk);
	int rc = NS_OK;
	for (uint32_t i = 0; i < w->base->n_segs && !rc; i++) {
		if (!w->merging[i]) continue;
		const ns_seg *s = &w->base->segs[i];
		/* documents lie in store order: inflate each block once, not
		** once per document (a 64 KiB block holds dozens of them) */
		uint64_t cur = UINT64_MAX;
		for (uint32_t d = 0; d < s->n_docs && !rc && !w->rc; d++) {
			if (base_deleted(w, i, d)) continue;
			ns_docrec r;
			if ((rc = ns_seg_doc(s, d, &r))) break;
			names.len = 0;
			ns_buf_append(&names, r.id, r.id_len);
			ns_buf_putc(&names, 0);
			ns_buf_append(&names, r.title, r.title_len);
			ns_buf_putc(&names, 0);
			ns_buf_append(&names, r.path, r.path_len);
			ns_buf_putc(&names, 0);
			if (names.rc) rc = NS_ENOMEM;
			if (!rc && r.block != cur) {
				rc = ns_seg_block(s, r.block, &blk);
				cur = rc ? UINT64_MAX : r.block;
			}
			if (!rc && (r.block_off > blk.len ||
			            r.text_len > blk.len - r.block_off))
				rc = NS_ECORRUPT;
			if (rc) break;
			const char *c = (const char *)names.p;
			ns_doc doc = {.id = c,
			              .title = c + r.id_len + 1,
			              .path = c + r.id_len + r.title_len + 2,
			              .text = (const char *)blk.p + r.block_off,
			              .text_len = (size_t)r.text_len,
			              .size = r.size,
			              .mtime = r.mtime};
			rc = buffer_doc(w, &doc, r.id_len);
			w->stats.n_merged++;
		}
	}
	ns_buf_free(&names);
	ns_buf_free(&blk);
	if (rc && !w->rc)
		set_err(w, rc, ns_fmt("cannot merge segments: %s", ns_strerror(rc)));
	return w->rc ? w->rc : rc;
}

int ns_writer_commit(ns_writer *w)
{
	if (w->rc) return w->rc;
	if (w->committed) return NS_EINVAL;
	int rc = w->base ? merge_segments(w) : NS_OK;
	if (!rc) rc = submit(w);
	while (!rc && w->n_inflight) {
		pthread_mutex_lock(&w->mu);
		while (!w->inflight[0]->done) pthread_cond_wait(&w->done, &w->mu);
		pthread_mutex_unlock(&w->mu);
		rc = merge_done(w, 0);
	}
	stop_workers(w);
	if (rc) return w->rc ? w->rc : rc;
	/* an update that only deletes writes no segment */
	int new_seg = w->mode == NS_WRITE_REPLACE || w->n_docs > 0;
	if (!new_seg) {
		int changed = 0;
		for (uint32_t i = 0; w->base && i < w->base->n_segs; i++)
			changed |= w->dirty[i] | w->merging[i];
		if (!changed) { /* nothing to publish: keep the generation */
			ns_fout_abort(&w->store);
			remove_temp(w);
			w->committed = 1;
			w->stats.n_segments = w->base ? w->base->n_segs : 0;
			return NS_OK;
		}
	}
	if (w->store_index.rc) rc = NS_ENOMEM;
	if (!new_seg) {
		ns_fout_abort(&w->store);
	} else {
		if (!rc) rc = finish_store(w);
		if (!rc) rc = write_docs(w);
		if (!rc) rc = write_terms(w);
	}
	remove_temp(w);
	/* the next generation: kept base segments, then the new one */
	ns_manifest m;
	memset(&m, 0, sizeof m);
	uint32_t nb = w->base ? w->base->n_segs : 0;
	if (!rc) rc = ns_manifest_alloc(&m, nb + 1);
	if (!rc) {
		m.generation = w->old.generation + 1;
		memcpy(m.lang, w->lang, sizeof m.lang);
		m.n_segments = 0;
	}
	for (uint32_t i = 0; i < nb && !rc; i++) {
		const ns_seg *s = &w->base->segs[i];
		if (w->merging[i] || base_live(w, i) == 0) continue;
		uint32_t k = m.n_segments++;
		m.seg_no[k] = s->seg_no;
		m.seg_docs[k] = s->n_docs;
		m.seg_del[k] = s->n_docs - base_live(w, i);
		m.del_gen[k] = w->old.del_gen[i];
		if (w->dirty[i]) {
			char *path = ns_del_path(w->dir, s->seg_no, m.generation);
			rc = track_path(w, path);
			if (!rc) rc = ns_dels_write(&w->dels[i], path);
			m.del_gen[k] = m.generation;
		}
	}
	if (!rc && new_seg) {
		uint32_t k = m.n_segments++;
		m.seg_no[k] = w->seg_no;
		m.seg_docs[k] = w->n_docs;
	}
	if (!rc && ns_fsync_dir(w->dir)) rc = NS_EIO;
	if (rc) {
		ns_manifest_free(&m);
		set_err(w, rc, ns_fmt("cannot write index files in '%s': %s", w->dir,
		                      rc == NS_EIO ? strerror(errno)
		                                   : ns_strerror(rc)));
		return w->rc;
	}
	rc = ns_manifest_publish(w->dir, &m);
	if (rc) {
		ns_manifest_free(&m);
		set_err(w, rc, ns_fmt("cannot publish manifest in '%s': %s", w->dir,
		                      strerror(errno)));
		return w->rc;
	}
	w->committed = 1;
	w->stats.n_segments = m.n_segments;
	/* files only the previous generation used (readers that have it open
	** keep their mappings); leftovers of a damaged index too */
	remove_unused(w->dir, &m);
	ns_manifest_free(&m);
	return NS_OK;
}

void ns_writer_close(ns_writer *w)
{
	if (!w) return;
	if (w->started) stop_workers(w);
	remove_temp(w);
	if (!w->committed) {
		if (w->store.fd >= 0) ns_fout_abort(&w->store);
		for (size_t i = 0; i < w->n_files; i++) unlink(w->files[i]);
	}
	ns_free(w->store.buf);
	ns_free(w->store.path);
	for (size_t i = 0; i < w->n_files; i++) ns_free(w->files[i]);
	ns_free(w->files);
	ns_free(w->runs); /* their paths are in files[] */
	for (size_t i = 0; i < w->terms.n; i++) {
		ns_buf_free(&w->t[i].docs);
		ns_buf_free(&w->t[i].pos);
	}
	ns_free(w->t);
	ns_strmap_free(&w->terms);
	free_batch(w->cur);
	for (size_t i = 0; i < w->n_inflight; i++) free_batch(w->inflight[i]);
	for (size_t i = 0; i < w->n_free; i++) free_batch(w->free_b[i]);
	ns_free(w->inflight);
	ns_free(w->free_b);
	ns_free(w->idset);
	ns_free(w->lens);
	ns_buf_free(&w->recbuf);
	ns_buf_free(&w->store_index);
	ns_stem_close(w->stem);
	ns_manifest_free(&w->old);
	for (uint32_t i = 0; w->dels && i < w->base->n_segs; i++)
		ns_dels_free(&w->dels[i]);
	ns_free(w->dels);
	ns_free(w->dirty);
	ns_free(w->merging);
	ns_free(w->idtab);
	ns_free(w->dtf);
	ns_strmap_free(&w->dterms);
	ns_buf_free(&w->dtext);
	ns_index_close(w->base);
	if (w->lock_fd >= 0) close(w->lock_fd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	ns_free(w->errmsg);
	ns_free(w->dir);
	ns_free(w);
}
