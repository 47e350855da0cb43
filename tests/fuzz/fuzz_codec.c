/*
** fuzz_codec.c -- the posting-list codec (src/codec.c) on arbitrary bytes.
**
** Input: byte 0 picks the tail length n (0..127) and a base, byte 1 a bit
** width (0..32), the rest is the data.  Two halves:
**   - decoding the data as varints, a packed block, a PFor block, a packed
**     tail and a varint tail, with every kernel this CPU has (scalar, SSE2,
**     AVX2): no crash, no read outside the data, the same result and the
**     same advance from every kernel, and consistency between the plain,
**     delta and skip forms of each decoder;
**   - a round trip of 128 values derived from the data (masked to the
**     width): every encoder's output decodes back exactly, in the size the
**     format promises.
** Decoders get the data in a buffer of exactly its size, so ASan sees any
** byte read past `end`.
*/
#include <string.h>

#include "codec.h"
#include "common.h"
#include "fuzz.h"

static const char *const kernels[] = {"scalar", "sse2", "avx2", "avx512"};

typedef struct dec {
	int rc;
	size_t used;
	uint32_t v[NS_BLOCK];
} dec;

typedef int (*block_fn)(const uint8_t **p, const uint8_t *end,
                        uint32_t out[NS_BLOCK]);

static dec run_block(block_fn f, const uint8_t *d, size_t n)
{
	dec r;
	const uint8_t *p = d;
	memset(&r, 0, sizeof r);
	r.rc = f(&p, d + n, r.v);
	FUZZ_CHECK(r.rc == NS_OK || r.rc == NS_ECORRUPT);
	if (r.rc == NS_OK) FUZZ_CHECK(p > d && p <= d + n);
	else FUZZ_CHECK(p == d);
	r.used = (size_t)(p - d);
	return r;
}

static void same(const dec *a, const dec *b)
{
	FUZZ_CHECK(a->rc == b->rc);
	if (a->rc == NS_OK) {
		FUZZ_CHECK(a->used == b->used);
		FUZZ_CHECK(memcmp(a->v, b->v, sizeof a->v) == 0);
	}
}

static int unpack_delta_7(const uint8_t **p, const uint8_t *end,
                          uint32_t out[NS_BLOCK])
{
	return ns_unpack128_delta(p, end, 7, out);
}

static int pfor_delta_7(const uint8_t **p, const uint8_t *end,
                        uint32_t out[NS_BLOCK])
{
	return ns_pfor_unpack128_delta(p, end, 7, out);
}

/* The decoders on data[0..n), with the current kernel; out[0..3]: plain
** block, delta block, PFor, PFor delta. */
static void decode_blocks(const uint8_t *d, size_t n, dec out[4])
{
	out[0] = run_block(ns_unpack128, d, n);
	out[1] = run_block(unpack_delta_7, d, n);
	out[2] = run_block(ns_pfor_unpack128, d, n);
	out[3] = run_block(pfor_delta_7, d, n);

	/* delta = prefix sum of plain, from base 7 */
	FUZZ_CHECK(out[0].rc == out[1].rc);
	FUZZ_CHECK(out[2].rc == out[3].rc);
	for (int k = 0; k < 4; k += 2) {
		if (out[k].rc) continue;
		uint32_t s = 7;
		FUZZ_CHECK(out[k].used == out[k + 1].used);
		for (int i = 0; i < NS_BLOCK; i++) {
			s += out[k].v[i];
			FUZZ_CHECK(out[k + 1].v[i] == s);
		}
	}
	/* skip agrees with decode on success and advance */
	const uint8_t *p = d;
	int rc = ns_unpack128_skip(&p, d + n);
	FUZZ_CHECK(rc == out[0].rc);
	if (!rc) FUZZ_CHECK((size_t)(p - d) == out[0].used);
	p = d;
	rc = ns_pfor_skip128(&p, d + n);
	/* skipping checks the header and lengths but not the exceptions, so
	** it may accept a block that decoding rejects, never the reverse */
	if (out[2].rc == NS_OK) {
		FUZZ_CHECK(rc == NS_OK);
		FUZZ_CHECK((size_t)(p - d) == out[2].used);
	}
	if (out[0].rc == NS_OK) FUZZ_CHECK(out[0].used == ns_pack128_size(d[0]));
}

static void decode_varints(const uint8_t *d, size_t n)
{
	const uint8_t *p = d, *end = d + n;
	while (p < end) {
		const uint8_t *q = p, *q32 = p;
		uint64_t v;
		uint32_t v32;
		int rc = ns_varint_get(&q, end, &v);
		int rc32 = ns_varint_get32(&q32, end, &v32);
		FUZZ_CHECK(rc == NS_OK || rc == NS_ECORRUPT);
		if (rc) {
			FUZZ_CHECK(q == p);
			FUZZ_CHECK(rc32 == NS_ECORRUPT);
			p++; /* resynchronise one byte later */
			continue;
		}
		size_t len = (size_t)(q - p);
		FUZZ_CHECK(len >= 1 && len <= NS_VARINT_MAX);
		FUZZ_CHECK(len == ns_varint_len(v));
		uint8_t buf[NS_VARINT_MAX];
		FUZZ_CHECK(ns_varint_put(buf, v) == len);
		FUZZ_CHECK(memcmp(buf, p, len) == 0); /* minimal: one encoding */
		if (v <= UINT32_MAX) {
			FUZZ_CHECK(rc32 == NS_OK && v32 == v && q32 == q);
		} else {
			FUZZ_CHECK(rc32 == NS_ECORRUPT && q32 == p);
		}
		p = q;
	}
}

static void decode_tails(const uint8_t *d, size_t n, size_t k)
{
	uint32_t a[NS_BLOCK], b[NS_BLOCK];
	const uint8_t *p = d, *q = d;
	int rc = ns_ptail_get(&p, d + n, k, a);
	int rcd = ns_ptail_get_delta(&q, d + n, k, 3, b);
	FUZZ_CHECK(rc == NS_OK || rc == NS_ECORRUPT);
	FUZZ_CHECK(rc == rcd);
	if (rc == NS_OK) {
		uint32_t s = 3;
		FUZZ_CHECK(p == q && p >= d && p <= d + n);
		for (size_t i = 0; i < k; i++) FUZZ_CHECK(b[i] == (s += a[i]));
	} else {
		FUZZ_CHECK(p == d);
	}
	p = q = d;
	rc = ns_vtail_get(&p, d + n, k, a);
	rcd = ns_vtail_get_delta(&q, d + n, k, 3, b);
	FUZZ_CHECK(rc == rcd);
	if (rc == NS_OK) {
		uint32_t s = 3;
		FUZZ_CHECK(p == q && p <= d + n);
		for (size_t i = 0; i < k; i++) FUZZ_CHECK(b[i] == (s += a[i]));
	}
}

/* Encoders and back.  vals: 128 values < 2^w. */
static void round_trip(const uint32_t vals[NS_BLOCK], unsigned w, size_t k,
                       uint32_t base)
{
	uint8_t buf[NS_PFOR_BOUND + 64];
	uint32_t out[NS_BLOCK], asc[NS_BLOCK];
	const uint8_t *p;
	size_t n;

	/* packed block */
	unsigned width = ns_pack128_width(vals);
	FUZZ_CHECK(width <= w);
	n = ns_pack128(vals, buf);
	FUZZ_CHECK(n == ns_pack128_size(width) && n <= NS_PACK128_BOUND);
	p = buf;
	FUZZ_CHECK(ns_unpack128(&p, buf + n, out) == NS_OK && p == buf + n);
	FUZZ_CHECK(memcmp(out, vals, sizeof out) == 0);
	if (n > 1) { /* one byte short is corrupt */
		p = buf;
		FUZZ_CHECK(ns_unpack128(&p, buf + n - 1, out) == NS_ECORRUPT);
	}

	/* delta block of an ascending run (gaps = vals, wrapping) */
	uint32_t s = base;
	for (int i = 0; i < NS_BLOCK; i++) asc[i] = s += vals[i];
	n = ns_pack128_delta(asc, base, buf);
	p = buf;
	FUZZ_CHECK(ns_unpack128_delta(&p, buf + n, base, out) == NS_OK);
	FUZZ_CHECK(p == buf + n && memcmp(out, asc, sizeof out) == 0);

	/* PFor, plain and delta */
	n = ns_pfor_pack128(vals, buf);
	FUZZ_CHECK(n <= NS_PFOR_BOUND && n <= ns_pfor_bound());
	p = buf;
	FUZZ_CHECK(ns_pfor_unpack128(&p, buf + n, out) == NS_OK && p == buf + n);
	FUZZ_CHECK(memcmp(out, vals, sizeof out) == 0);
	p = buf;
	FUZZ_CHECK(ns_pfor_unpack128_delta(&p, buf + n, base, out) == NS_OK);
	FUZZ_CHECK(memcmp(out, asc, sizeof out) == 0);
	p = buf;
	FUZZ_CHECK(ns_pfor_skip128(&p, buf + n) == NS_OK && p == buf + n);
	p = buf;
	FUZZ_CHECK(ns_pfor_unpack128(&p, buf + n - 1, out) == NS_ECORRUPT);

	/* tails of k values */
	n = ns_ptail_put(vals, k, buf);
	FUZZ_CHECK(n <= ns_ptail_bound(k));
	p = buf;
	FUZZ_CHECK(ns_ptail_get(&p, buf + n, k, out) == NS_OK && p == buf + n);
	FUZZ_CHECK(k == 0 || memcmp(out, vals, k * sizeof *out) == 0);
	n = ns_vtail_put(vals, k, buf);
	FUZZ_CHECK(n <= ns_vtail_bound(k));
	p = buf;
	FUZZ_CHECK(ns_vtail_get(&p, buf + n, k, out) == NS_OK && p == buf + n);
	FUZZ_CHECK(k == 0 || memcmp(out, vals, k * sizeof *out) == 0);

	/* 64-bit varints made of pairs of values */
	for (int i = 0; i + 1 < NS_BLOCK; i += 2) {
		uint64_t v = (uint64_t)vals[i] << (vals[i + 1] & 63) ^ vals[i + 1], r;
		n = ns_varint_put(buf, v);
		FUZZ_CHECK(n == ns_varint_len(v));
		p = buf;
		FUZZ_CHECK(ns_varint_get(&p, buf + n, &r) == NS_OK && r == v);
		FUZZ_CHECK(p == buf + n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 8192) return 0;
	size_t k = data[0] % NS_BLOCK;
	uint32_t base = (uint32_t)data[0] * 0x01010101u;
	unsigned w = data[1] % 33;
	const uint8_t *d = data + 2;
	size_t n = size - 2;

	/* decoding, with every kernel this CPU has */
	dec ref[4];
	int have_ref = 0;
	for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
		dec got[4];
		if (ns_codec_set_impl(kernels[i]) != NS_OK) continue;
		decode_blocks(d, n, got);
		if (!have_ref) {
			memcpy(ref, got, sizeof ref);
			have_ref = 1;
		} else {
			for (int j = 0; j < 4; j++) same(&ref[j], &got[j]);
		}
	}
	FUZZ_CHECK(have_ref);
	ns_codec_set_impl(NULL);
	decode_varints(d, n);
	decode_tails(d, n, k);

	/* round trip of values taken from the data, 4 bytes each, repeated */
	uint32_t vals[NS_BLOCK];
	uint32_t mask = w == 32 ? UINT32_MAX : ((uint32_t)1 << w) - 1;
	for (size_t i = 0; i < NS_BLOCK; i++) {
		uint32_t v = 0;
		for (size_t b = 0; b < 4 && n; b++)
			v |= (uint32_t)d[(4 * i + b) % n] << (8 * b);
		vals[i] = v & mask;
	}
	for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
		if (ns_codec_set_impl(kernels[i]) != NS_OK) continue;
		round_trip(vals, w, k, base);
	}
	ns_codec_set_impl(NULL);
	return 0;
}
