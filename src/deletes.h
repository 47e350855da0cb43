/*
** deletes.h -- the deletions of one segment: which of its documents are
** deleted (a bitmap) and, so that BM25 statistics stay exact, how many
** deleted documents hold each term (df) and how often (cf), and how many
** tokens they had.  Segments are immutable; their deletions live in a
** separate file ("seg_N_G.del", docs/FORMAT.md#deletions) that each commit
** deleting from the segment replaces.
**
** The reader keeps the bitmap in the mapped file; the writer holds a
** mutable copy.  Both keep the term counts in an ns_strmap.
*/
#ifndef NS_DELETES_H
#define NS_DELETES_H

#include "common.h"
#include "strmap.h"

typedef struct ns_dels {
	uint32_t n_docs;
	const uint64_t *bits;  /* bit d set: document d is deleted */
	uint64_t *own;         /* the writer's copy (bits == own), else NULL */
	uint64_t n_deleted, tokens;
	ns_strmap terms;       /* term -> index into df[] and cf[] */
	uint32_t *df;
	uint64_t *cf;
	size_t cap;
} ns_dels;

static inline int ns_dels_has(const ns_dels *d, uint32_t doc)
{
	return d->bits && (d->bits[doc >> 6] >> (doc & 63)) & 1;
}

void ns_dels_free(ns_dels *d);

/* Parses the body and meta of a deletion file of a segment of n_docs
** documents into d (bits point into body, which must stay mapped and be
** 8-byte aligned).  NS_ECORRUPT with *why set to a static reason. */
int ns_dels_load(ns_dels *d, const uint8_t *body, size_t len,
                 const uint8_t *meta, uint32_t n_docs, const char **why);

/* Writer side: makes d an empty, mutable set for n_docs documents, or a
** mutable copy of the loaded set d (keeping its counts).  NS_ENOMEM. */
int ns_dels_make_mutable(ns_dels *d, uint32_t n_docs);
/* Marks doc deleted (it must not be yet) with its length in tokens. */
void ns_dels_mark(ns_dels *d, uint32_t doc, uint32_t len);
/* Counts one deleted document holding term tf times.  NS_ENOMEM. */
int ns_dels_count(ns_dels *d, const char *term, size_t len, uint64_t tf);

/* The deleted documents' counts for a term (0, 0 when none). */
void ns_dels_term(const ns_dels *d, const char *term, size_t len,
                  uint32_t *df, uint64_t *cf);

/* Writes d to path as a complete, synced deletion file.  NS_EIO with
** errno, NS_ENOMEM. */
int ns_dels_write(const ns_dels *d, const char *path);

#endif
