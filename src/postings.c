/*
** postings.c -- posting-list cursor; see postings.h and
** docs/FORMAT.md#postings.
*/
#include "format.h"
#include "postings.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
** gcc 12 does not vectorise an unsigned comparison loop, so SSE2 compares
** four pairs at a time (unsigned order as signed after flipping bit 31). */
static int increasing(const uint32_t *v, uint32_t n, uint32_t base,
                      int strict_first)
{
	int bad = strict_first & (v[0] <= base);
	uint32_t j = 1;
#if defined(__SSE2__)
	const __m128i flip = _mm_set1_epi32(INT32_MIN);
	__m128i up = _mm_set1_epi32(-1);
	for (; j + 4 <= n; j += 4) {
		__m128i a = _mm_loadu_si128((const __m128i *)(v + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(v + j - 1));
		up = _mm_and_si128(up, _mm_cmpgt_epi32(_mm_xor_si128(a, flip),
		                                       _mm_xor_si128(b, flip)));
	}
	bad |= _mm_movemask_epi8(up) != 0xffff;
#endif
	for (; j < n; j++) bad |= v[j] <= v[j - 1];
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
	uint32_t i = ns_first_geq(c->docs, c->i, target);
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
	uint32_t *tfs = c->tfs; /* (not c->tfs: it could alias c->n) */
	if (c->n == NS_BLOCK) {
		for (uint32_t j = 0; j < NS_BLOCK; j++) tfs[j]++;
	} else {
		for (uint32_t j = 0, n = c->n; j < n; j++) tfs[j]++;
	}
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
	/* 32-bit running sums (vectorised) unless they could wrap */
	uint32_t sums[NS_BLOCK];
	uint64_t total = 0;
	int ok = 1;
	ns_prefix32(c->tfs, c->n, 0, UINT64_MAX, sums, &ok);
	c->pos_start[0] = 0;
	if (ok) {
		uint64_t *ps = c->pos_start + 1;
		uint32_t j = 0, n = c->n;
#if defined(__SSE2__)
		const __m128i z = _mm_setzero_si128();
		for (; j + 4 <= n; j += 4) {
			__m128i x = _mm_loadu_si128((const __m128i *)(sums + j));
			_mm_storeu_si128((__m128i *)(ps + j), _mm_unpacklo_epi32(x, z));
			_mm_storeu_si128((__m128i *)(ps + j + 2), _mm_unpackhi_epi32(x, z));
		}
#endif
		for (; j < n; j++) ps[j] = sums[j];
		total = sums[n - 1];
	} else {
		for (uint32_t j = 0; j < c->n; j++) {
			c->pos_start[j] = total;
			total += c->tfs[j];
		}
		c->pos_start[c->n] = total;
	}
	if (total > c->seg->n_positions) return fail(c);
	if (total + NS_BLOCK > c->pos_cap) { /* grows geometrically */
		size_t cap = (size_t)total + NS_BLOCK;
		if (cap < 2 * c->pos_cap) cap = 2 * c->pos_cap;
		uint32_t *p = ns_realloc(c->pos, cap * sizeof *p);
		if (!p) return c->rc = NS_ENOMEM;
		c->pos = p;
		c->pos_cap = cap;
	}
	c->n_chunks = total / NS_BLOCK;
	if (c->n_chunks + 1 > c->chunk_cap) {
		size_t cap = (size_t)c->n_chunks + 16;
		if (cap < 2 * c->chunk_cap) cap = 2 * c->chunk_cap;
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

/* The positions of the current posting into out, in order, until one >=
** limit has been written (ns_prefix32() steps: a few more may follow).
** Chunks past that point are not decoded. */
static int positions(ns_pcur *c, uint32_t *out, uint64_t limit, uint32_t *got)
{
	if (!c->pos_ready) NS_TRY(load_positions(c));
	uint64_t from = c->pos_start[c->i], to = c->pos_start[c->i + 1];
	if (from == to) return fail(c);
	if (to - from <= NS_PREFIX_STEP) { /* a few (most postings): all */
		uint64_t k = from / NS_BLOCK, full = c->n_chunks * NS_BLOCK;
		int ready = to <= full ? c->chunk_done[k] && c->chunk_done[(to - 1) / NS_BLOCK]
		                       : from >= full && c->tail_ready;
		if (!ready) NS_TRY(decode_range(c, from, to));
		const uint32_t *v = c->pos + from;
		uint32_t n = (uint32_t)(to - from), x = v[0], bad = 0;
		out[0] = x;
		for (uint32_t j = 1; j < n; j++) {
			uint32_t y = x + v[j];
			bad |= y <= x; /* positions strictly increase */
			out[j] = x = y;
		}
		if (bad) return fail(c);
		*got = n;
		return NS_OK;
	}
	uint64_t full = c->n_chunks * NS_BLOCK;
	uint64_t s = from;
	uint32_t m = 0, p = 0;
	int ok = 1;
	while (s < to) {
		/* the part of [s, to) in one chunk, or in the tail */
		uint64_t e = s < full ? (s / NS_BLOCK + 1) * NS_BLOCK : to;
		if (e > to) e = to;
		NS_TRY(decode_range(c, s, e));
		const uint32_t *v = c->pos + s;
		size_t len = (size_t)(e - s);
		if (!m) { /* the first value is the position itself */
			out[m++] = p = *v++;
			len--;
			if (p >= limit) break;
		}
		if (len < NS_PREFIX_STEP) { /* a few: not worth a call */
			uint32_t bad = 0;
			for (size_t j = 0; j < len && p < limit; j++) {
				uint32_t x = p + v[j];
				bad |= x <= p; /* positions strictly increase */
				out[m++] = p = x;
			}
			ok &= !bad;
		} else {
			m += (uint32_t)ns_prefix32(v, len, p, limit, out + m, &ok);
			p = out[m - 1];
		}
		if (p >= limit) break;
		s = e;
	}
	if (!ok) return fail(c);
	*got = m;
	return NS_OK;
}

int ns_pcur_positions(ns_pcur *c, uint32_t *out)
{
	uint32_t m;
	return positions(c, out, UINT64_MAX, &m);
}

int ns_pcur_positions_upto(ns_pcur *c, uint32_t *out, uint64_t limit,
                           uint32_t *n)
{
	return positions(c, out, limit, n);
}

void ns_pcur_block_max(const ns_pcur *c, uint32_t *max_tf, uint32_t *min_dl,
                       uint32_t *last_doc)
{
	ns_pcur_block_info(c, c->blk, max_tf, min_dl, last_doc);
}
