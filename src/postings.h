/*
** postings.h -- a cursor over one term's posting list in one segment:
** next(), advance(target) through the per-block skip data, the term
** frequency of the current posting, and its positions.
** Layout: docs/FORMAT.md#postings and #positions.
*/
#ifndef NS_POSTINGS_H
#define NS_POSTINGS_H

#include "codec.h"
#include "format.h"
#include "index.h"

#define NS_DOC_END UINT32_MAX

typedef struct ns_pcur {
	const ns_seg *seg;
	const uint8_t *skip;       /* skip entries, or NULL for a one-block list */
	const uint8_t *data, *end; /* block data */
	const uint8_t *pdata, *pend;
	uint32_t df, nb;           /* postings, blocks */
	uint32_t blk;              /* current block */
	uint32_t n, i;             /* postings in block, index of current */
	uint32_t doc;              /* current document (local), NS_DOC_END */
	const uint8_t *tfp;        /* encoded tfs of the block */
	int tf_ready, pos_ready;
	int rc;                    /* sticky: NS_ECORRUPT on damaged data */
	uint32_t docs[NS_BLOCK];
	uint32_t tfs[NS_BLOCK];
	uint32_t max_tf, min_dl;   /* of the whole list (dictionary) */
	/* positions of the current block: decoded lazily, chunk by chunk */
	uint32_t *pos;             /* position deltas, indexed like the stream */
	size_t pos_cap;
	uint64_t pos_start[NS_BLOCK + 1];
	uint32_t *chunk_off;       /* byte offset of each packed chunk + tail */
	size_t chunk_cap;
	uint64_t n_chunks;         /* full chunks of NS_BLOCK positions */
	uint8_t *chunk_done;       /* per chunk: decoded into pos[] already */
	uint64_t chunks_known;     /* chunk_off[0..chunks_known] are known */
	int tail_ready;
} ns_pcur;

/* Positions the cursor on the first posting.  NS_OK or NS_ECORRUPT. */
int ns_pcur_open(ns_pcur *c, const ns_seg *seg, const ns_terminfo *ti);
void ns_pcur_close(ns_pcur *c);

/* The hot paths are inline; the *_slow functions load another block. */
int ns_pcur_next_slow(ns_pcur *c);
int ns_pcur_advance_slow(ns_pcur *c, uint32_t target);
uint32_t ns_pcur_tf_slow(ns_pcur *c);
int ns_pcur_peek_slow(const ns_pcur *c, uint32_t target, uint32_t *max_tf,
                      uint32_t *min_dl, uint32_t *last_doc);

/* Moves to the next posting (doc becomes NS_DOC_END at the end). */
static inline int ns_pcur_next(ns_pcur *c)
{
	if (c->doc == NS_DOC_END) return c->rc;
	if (NS_LIKELY(++c->i < c->n)) {
		c->doc = c->docs[c->i];
		return NS_OK;
	}
	return ns_pcur_next_slow(c);
}

/* The index of the first of v[i..) that is >= target, which must exist
** at or before the block's last posting.  (A four-wide SSE2 compare was
** tried here: it cost 6% more instructions on "+a b" queries, whose
** cursors mostly move by one or two postings, and no time on phrases.) */
static inline uint32_t ns_first_geq(const uint32_t *v, uint32_t i,
                                    uint32_t target)
{
	while (v[i] < target) i++;
	return i;
}

/* Moves to the first posting with doc >= target. */
static inline int ns_pcur_advance(ns_pcur *c, uint32_t target)
{
	if (c->doc >= target) return c->rc;
	if (NS_LIKELY(c->docs[c->n - 1] >= target)) {
		uint32_t i = ns_first_geq(c->docs, c->i, target);
		c->i = i;
		c->doc = c->docs[i];
		return NS_OK;
	}
	return ns_pcur_advance_slow(c, target);
}

/* Term frequency of the current posting (0 after an error). */
static inline uint32_t ns_pcur_tf(ns_pcur *c)
{
	if (NS_LIKELY(c->tf_ready)) return c->tfs[c->i];
	return ns_pcur_tf_slow(c);
}

/* Absolute positions of the current posting into out (tf of them).
** out must hold ns_pcur_tf() values. */
int ns_pcur_positions(ns_pcur *c, uint32_t *out);
/* The first positions of the current posting, as far as needed: writes
** them in order into out and stops soon after writing one >= limit (or at
** the end); *n gets the number written, >= 1.  Only the chunks holding
** them are decoded and checked.  out must hold ns_pcur_tf() values. */
int ns_pcur_positions_upto(ns_pcur *c, uint32_t *out, uint64_t limit,
                           uint32_t *n);
/* Block-max data of the block that holds the first posting >= target,
** found through the skip data without decoding anything.  NS_OK, or
** NS_DONE when no posting >= target remains. */
static inline int ns_pcur_peek(const ns_pcur *c, uint32_t target,
                               uint32_t *max_tf, uint32_t *min_dl,
                               uint32_t *last_doc)
{
	if (c->doc != NS_DOC_END && c->docs[c->n - 1] >= target) {
		if (c->skip) {
			const uint8_t *s = c->skip + (size_t)c->blk * NS_SKIP_ENTRY;
			*last_doc = ns_get_le32(s);
			*max_tf = ns_get_le32(s + 12);
			*min_dl = ns_get_le32(s + 16);
		} else {
			*last_doc = c->docs[c->n - 1];
			*max_tf = c->max_tf;
			*min_dl = c->min_dl;
		}
		return NS_OK;
	}
	return ns_pcur_peek_slow(c, target, max_tf, min_dl, last_doc);
}
/* Number of blocks and the block-max data of block b (b < nb). */
void ns_pcur_block_info(const ns_pcur *c, uint32_t b, uint32_t *max_tf,
                        uint32_t *min_dl, uint32_t *last_doc);
/* Block-max data of the block holding the current posting. */
void ns_pcur_block_max(const ns_pcur *c, uint32_t *max_tf, uint32_t *min_dl,
                       uint32_t *last_doc);

#endif
