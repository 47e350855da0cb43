/*
** index.h -- the read side: an open index (ns_index), its segments, term
** lookup in a segment's dictionary, the document table and the document
** store.  Everything here reads mapped files that were validated at open;
** every length and offset taken from them is still bounds-checked before
** use, and bad bytes give NS_ECORRUPT, never a crash.
*/
#ifndef NS_INDEX_H
#define NS_INDEX_H

#include <pthread.h>

#include "analyze.h"
#include "common.h"
#include "deletes.h"
#include "file.h"
#include "manifest.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nsearch reads little-endian arrays in place; big-endian hosts are not supported yet"
#endif

typedef struct ns_seg {
	uint32_t seg_no;
	uint64_t base; /* global document number of local document 0 */
	ns_fin dict, post, pos, docs, store;
	/* dictionary */
	uint64_t n_terms, n_dblocks;
	const uint8_t *dblocks, *dindex; /* block area, u64 block offsets */
	/* documents */
	uint32_t n_docs;
	uint64_t total_tokens;
	const uint32_t *lens;
	const uint8_t *recoffs, *records;
	size_t records_len;
	/* postings and positions bodies (each followed by zero padding) */
	const uint8_t *post_body, *pos_body;
	uint64_t post_len, pos_len, n_postings, n_positions;
	/* store */
	uint64_t n_sblocks;
	const uint8_t *sbody, *sindex;
	uint64_t sbody_len, raw_bytes;
	/* deletions (dels.bits NULL when the segment has none) */
	ns_fin del;
	ns_dels dels;
} ns_seg;

/* Whether local document d of s is deleted. */
static inline int ns_seg_deleted(const ns_seg *s, uint32_t d)
{
	return ns_dels_has(&s->dels, d);
}

typedef struct ns_terminfo {
	uint32_t df;
	uint64_t cf;
	uint64_t post_off, post_len, pos_off, pos_len;
	uint32_t max_tf, min_dl;
} ns_terminfo;

typedef struct ns_docrec {
	const char *id, *title, *path;
	size_t id_len, title_len, path_len;
	uint64_t size;
	int64_t mtime;
	uint64_t block, block_off, text_len;
	uint64_t hash; /* ns_text_hash() of the text */
} ns_docrec;

struct ns_index {
	char *dir;
	ns_manifest man;
	ns_seg *segs;
	uint32_t n_segs;
	uint64_t n_docs, total_tokens; /* live documents and their tokens */
	uint64_t n_slots;              /* document numbers, deleted included */
	double avgdl;
	pthread_mutex_t lock; /* guards the stemmer pool */
	ns_stemmer **pool;
	size_t n_pool, cap_pool;
};

/* NS_OK and *ti filled; NS_DONE if absent; NS_ECORRUPT. */
int ns_seg_lookup(const ns_seg *s, const char *term, size_t len,
                  ns_terminfo *ti);

/* Iterates over the dictionary of s: calls fn for every term in order.
** Stops early and returns fn's value if it is non-zero. */
int ns_seg_terms(const ns_seg *s,
                 int (*fn)(void *ctx, const char *term, size_t len,
                           const ns_terminfo *ti),
                 void *ctx);

int ns_seg_doc(const ns_seg *s, uint32_t doc, ns_docrec *out);
/* Appends the stored text of doc to out (NS_ECORRUPT on a bad block). */
int ns_seg_text(const ns_seg *s, uint32_t doc, ns_buf *out);
/* Inflates and checks store block b into out (replacing its content). */
int ns_seg_block(const ns_seg *s, uint64_t b, ns_buf *out);

/* The number of live documents of the whole index holding term (df) and
** its occurrences in them (cf, may be NULL): the segments' counts minus
** those of their deleted documents.  NS_ECORRUPT. */
int ns_index_term_stats(const ns_index *ix, const char *term, size_t len,
                        uint64_t *df, uint64_t *cf);
/* The same, and the term's entry in segment seg of ix (zeroed when the
** segment does not hold it), found in the same pass. */
int ns_index_term_stats_seg(const ns_index *ix, const char *term, size_t len,
                            uint64_t *df, uint64_t *cf, const ns_seg *seg,
                            ns_terminfo *seg_ti);

/* The content hash stored with each document (docs/FORMAT.md#docs). */
uint64_t ns_text_hash(const char *text, size_t len);

/* Stemmer pool: borrowed for one search, returned after. */
ns_stemmer *ns_index_stemmer(ns_index *ix);
void ns_index_unstemmer(ns_index *ix, ns_stemmer *s);

#endif
