/*
** postings.c -- posting-list cursor; see postings.h and
** docs/FORMAT.md#postings.
*/
#include "format.h"
#include "postings.h"

static inline uint32_t skip_last(const ns_pcur *c, uint32_t b)
{
	return ns_get_le32(c->skip + (size_t)b * NS_SKIP_ENTRY);
}

static int fail(ns_pcur *c)
{
	c->rc = NS_ECORRUPT;
	c->doc = NS_DOC_END;
	return NS_ECORRUPT;
}

/* 1 when v[0..n) increase strictly (and v[0] > base when strict_first).
** Written as independent comparisons so that it vectorises. */
static int increasing(const uint32_t *v, uint32_t n, uint32_t base,
                      int strict_first)
{
	uint32_t bad = strict_first & (v[0] <= base);
	if (n == NS_BLOCK) {
		for (uint32_t j = 1; j < NS_BLOCK; j++) bad |= v[j] <= v[j - 1];
	} else {
		for (uint32_t j = 1; j < n; j++) bad |= v[j] <= v[j - 1];
	}
	return !bad;
}

static int load_block(ns_pcur *c, uint32_t b)
{
	uint32_t n = b + 1 < c->nb ? NS_BLOCK : c->df - b * NS_BLOCK;
	uint32_t off = c->skip ? ns_get_le32(c->skip + (size_t)b * NS_SKIP_ENTRY + 4)
	                       : 0;
	if (off > (size_t)(c->end - c->data)) return fail(c);
	const uint8_t *p = c->data + off;
	uint32_t base = b ? skip_last(c, b - 1) : 0;
	int rc = n == NS_BLOCK ? ns_pfor_unpack128_delta(&p, c->end, base, c->docs)
	                       : ns_ptail_get_delta(&p, c->end, n, base, c->docs);
	if (rc) return fail(c);
	/* documents must be increasing and inside the segment */
	if (!increasing(c->docs, n, base, b != 0) ||
	    c->docs[n - 1] >= c->seg->n_docs ||
	    (c->skip && c->docs[n - 1] != skip_last(c, b)))
		return fail(c);
	c->blk = b;
	c->n = n;
	c->i = 0;
	c->tfp = p;
	c->tf_ready = 0;
	c->pos_ready = 0;
	c->doc = c->docs[0];
	return NS_OK;
}

int ns_pcur_open(ns_pcur *c, const ns_seg *seg, const ns_terminfo *ti)
{
	memset(c, 0, sizeof *c);
	c->seg = seg;
	c->df = ti->df;
	c->doc = NS_DOC_END;
	if (ti->df == 0) return NS_OK;
	c->nb = (ti->df + NS_BLOCK - 1) / NS_BLOCK;
	const uint8_t *r = seg->post_body + ti->post_off;
	size_t skip_len = ti->df >= NS_BLOCK ? (size_t)c->nb * NS_SKIP_ENTRY : 0;
	if (ti->post_len < skip_len) return fail(c);
	/* blocks first, then the skip table (docs/FORMAT.md#postings) */
	c->skip = skip_len ? r + ti->post_len - skip_len : NULL;
	c->data = r;
	c->end = r + ti->post_len - skip_len;
	c->pdata = seg->pos_body + ti->pos_off;
	c->pend = c->pdata + ti->pos_len;
	c->max_tf = ti->max_tf;
	c->min_dl = ti->min_dl;
	return load_block(c, 0);
}

void ns_pcur_close(ns_pcur *c)
{
	ns_free(c->pos);
	ns_free(c->chunk_off);
	ns_free(c->chunk_done);
	c->pos = NULL;
	c->chunk_off = NULL;
	c->chunk_done = NULL;
}

int ns_pcur_next_slow(ns_pcur *c)
{
	if (c->blk + 1 >= c->nb) {
		c->doc = NS_DOC_END;
		return NS_OK;
	}
	return load_block(c, c->blk + 1);
}

/* First block after the current one whose last document is >= target, or
** c->nb when there is none: galloping, then binary search. */
static uint32_t find_block(const ns_pcur *c, uint32_t target)
{
	uint32_t lo = c->blk + 1, step = 1;
	while (lo < c->nb && skip_last(c, lo) < target) {
		lo += step;
		step *= 2;
	}
	uint32_t hi = lo < c->nb ? lo : c->nb;
	lo = lo - step / 2 > c->blk ? lo - step / 2 : c->blk + 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (skip_last(c, mid) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ns_pcur_advance_slow(ns_pcur *c, uint32_t target)
{
	if (c->doc >= target) return c->rc;
	if (c->docs[c->n - 1] < target) {
		uint32_t b = c->skip ? find_block(c, target) : c->nb;
		if (b >= c->nb) {
			c->doc = NS_DOC_END;
			return NS_OK;
		}
		NS_TRY(load_block(c, b));
	}
	uint32_t i = c->i;
	while (c->docs[i] < target) i++;
	c->i = i;
	c->doc = c->docs[i];
	return NS_OK;
}

void ns_pcur_block_info(const ns_pcur *c, uint32_t b, uint32_t *max_tf,
                        uint32_t *min_dl, uint32_t *last_doc)
{
	if (c->skip) {
		const uint8_t *s = c->skip + (size_t)b * NS_SKIP_ENTRY;
		*last_doc = ns_get_le32(s);
		*max_tf = ns_get_le32(s + 12);
		*min_dl = ns_get_le32(s + 16);
	} else {
		*last_doc = c->docs[c->n - 1];
		*max_tf = c->max_tf;
		*min_dl = c->min_dl;
	}
}

int ns_pcur_peek_slow(const ns_pcur *c, uint32_t target, uint32_t *max_tf,
                      uint32_t *min_dl, uint32_t *last_doc)
{
	if (c->doc == NS_DOC_END) return NS_DONE;
	uint32_t b = c->blk;
	if (c->docs[c->n - 1] < target) {
		if (!c->skip) return NS_DONE;
		b = find_block(c, target);
		if (b >= c->nb) return NS_DONE;
	}
	ns_pcur_block_info(c, b, max_tf, min_dl, last_doc);
	return NS_OK;
}

static int load_tfs(ns_pcur *c)
{
	const uint8_t *p = c->tfp;
	int rc = c->n == NS_BLOCK ? ns_pfor_unpack128(&p, c->end, c->tfs)
	                          : ns_ptail_get(&p, c->end, c->n, c->tfs);
	if (rc) return fail(c);
	for (uint32_t j = 0; j < c->n; j++) c->tfs[j]++;
	c->tf_ready = 1;
	return NS_OK;
}

uint32_t ns_pcur_tf_slow(ns_pcur *c)
{
	if (!c->tf_ready && load_tfs(c)) return 0;
	return c->tfs[c->i];
}

/* Prepares the current block's positions: prefix sums of the tfs and the
** byte offset of every packed chunk, found by reading their width bytes.
** Chunks are decoded only when a posting inside them is asked for. */
static int load_positions(ns_pcur *c)
{
	if (!c->tf_ready && load_tfs(c)) return c->rc;
	uint64_t total = 0;
	for (uint32_t j = 0; j < c->n; j++) {
		c->pos_start[j] = total;
		total += c->tfs[j];
	}
	c->pos_start[c->n] = total;
	if (total > c->seg->n_positions) return fail(c);
	if (total + NS_BLOCK > c->pos_cap) {
		size_t cap = (size_t)total + NS_BLOCK;
		uint32_t *p = ns_realloc(c->pos, cap * sizeof *p);
		if (!p) return c->rc = NS_ENOMEM;
		c->pos = p;
		c->pos_cap = cap;
	}
	c->n_chunks = total / NS_BLOCK;
	if (c->n_chunks + 1 > c->chunk_cap) {
		size_t cap = (size_t)c->n_chunks + 16;
		uint32_t *p = ns_realloc(c->chunk_off, cap * sizeof *p);
		if (!p) return c->rc = NS_ENOMEM;
		c->chunk_off = p;
		uint8_t *f = ns_realloc(c->chunk_done, cap);
		if (!f) return c->rc = NS_ENOMEM;
		c->chunk_done = f;
		c->chunk_cap = cap;
	}
	memset(c->chunk_done, 0, (size_t)c->n_chunks);
	uint32_t off = c->skip ? ns_get_le32(c->skip + (size_t)c->blk * NS_SKIP_ENTRY + 8)
	                       : 0;
	size_t avail = (size_t)(c->pend - c->pdata);
	if (off > avail) return fail(c);
	/* chunk offsets are found lazily, as far as a posting needs them */
	c->chunk_off[0] = off;
	c->chunks_known = 0;
	c->tail_ready = 0;
	c->pos_ready = 1;
	return NS_OK;
}

/* Makes chunk_off[0..k] known by stepping over the chunks before k. */
static int chunks_upto(ns_pcur *c, uint64_t k)
{
	while (c->chunks_known < k) {
		const uint8_t *q = c->pdata + c->chunk_off[c->chunks_known];
		if (ns_pfor_skip128(&q, c->pend)) return fail(c);
		c->chunk_off[++c->chunks_known] = (uint32_t)(q - c->pdata);
	}
	return NS_OK;
}

/* Decodes the chunks that hold stream entries [from, to). */
static int decode_range(ns_pcur *c, uint64_t from, uint64_t to)
{
	uint64_t full = c->n_chunks * NS_BLOCK;
	for (uint64_t k = from / NS_BLOCK; k * NS_BLOCK < to && k < c->n_chunks; k++) {
		if (c->chunk_done[k]) continue;
		NS_TRY(chunks_upto(c, k));
		const uint8_t *p = c->pdata + c->chunk_off[k];
		if (ns_pfor_unpack128(&p, c->pend, c->pos + k * NS_BLOCK)) return fail(c);
		c->chunk_done[k] = 1;
		if (c->chunks_known == k) /* decoding found where the next starts */
			c->chunk_off[++c->chunks_known] = (uint32_t)(p - c->pdata);
	}
	if (to > full && !c->tail_ready) {
		NS_TRY(chunks_upto(c, c->n_chunks));
		const uint8_t *p = c->pdata + c->chunk_off[c->n_chunks];
		uint64_t total = c->pos_start[c->n];
		if (ns_ptail_get(&p, c->pend, (size_t)(total - full), c->pos + full))
			return fail(c);
		c->tail_ready = 1;
	}
	return NS_OK;
}

int ns_pcur_positions(ns_pcur *c, uint32_t *out)
{
	if (!c->pos_ready) NS_TRY(load_positions(c));
	uint64_t from = c->pos_start[c->i], to = c->pos_start[c->i + 1];
	NS_TRY(decode_range(c, from, to));
	const uint32_t *v = c->pos + from;
	uint64_t n = to - from;
	if (!n) return fail(c);
	uint32_t p = v[0], bad = 0;
	out[0] = p;
	for (uint64_t j = 1; j < n; j++) {
		uint32_t q = p + v[j];
		bad |= q <= p; /* positions strictly increase */
		out[j] = p = q;
	}
	return bad ? fail(c) : NS_OK;
}

void ns_pcur_block_max(const ns_pcur *c, uint32_t *max_tf, uint32_t *min_dl,
                       uint32_t *last_doc)
{
	ns_pcur_block_info(c, c->blk, max_tf, min_dl, last_doc);
}
