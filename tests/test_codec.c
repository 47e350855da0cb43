/*
** test_codec.c -- the posting-list integer codec (src/codec.c): varints,
** packed blocks on every kernel, delta blocks, varint tails, corrupt input.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "common.h"

static const char *const kernels[] = {"scalar", "sse2", "avx2", "avx512"};
#define N_KERNELS 4

/* splitmix64: a small seeded PRNG, so failures reproduce. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random values whose largest has exactly w bits. */
static void fill_width(uint32_t *v, unsigned w)
{
	uint32_t mask = w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
	for (unsigned i = 0; i < NS_BLOCK; i++) v[i] = (uint32_t)rnd() & mask;
	if (w) v[rnd() % NS_BLOCK] |= UINT32_C(1) << (w - 1);
}

/* A copy of src in a heap buffer of exactly n bytes, so that ASan reports
** any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	if (n) memcpy(p, src, n);
	return p;
}

static int use_kernel(const char *name) { return ns_codec_set_impl(name) == NS_OK; }

/* ------------------------------------------------------------------------ */
/* Varints                                                                  */
/* ------------------------------------------------------------------------ */

static void varint_roundtrip(uint64_t v, size_t want_len)
{
	uint8_t buf[NS_VARINT_MAX + 1];
	memset(buf, 0xee, sizeof buf);
	size_t n = ns_varint_put(buf, v);
	cr_assert_eq(n, want_len, "value %llu: %zu bytes, want %zu",
	             (unsigned long long)v, n, want_len);
	cr_assert_eq(ns_varint_len(v), n);
	cr_assert_eq(buf[n], 0xee, "wrote past the returned length");
	uint8_t *e = exact_copy(buf, n);
	const uint8_t *p = e;
	uint64_t got = 0;
	cr_assert_eq(ns_varint_get(&p, e + n, &got), NS_OK);
	cr_assert_eq(got, v);
	cr_assert_eq(p, e + n);
	/* Every truncation is corrupt and leaves the cursor alone. */
	for (size_t cut = 0; cut < n; cut++) {
		p = e;
		cr_assert_eq(ns_varint_get(&p, e + cut, &got), NS_ECORRUPT,
		             "value %llu cut to %zu bytes", (unsigned long long)v, cut);
		cr_assert_eq(p, e);
	}
	uint32_t g32 = 0;
	p = e;
	if (v <= UINT32_MAX) {
		cr_assert_eq(ns_varint_get32(&p, e + n, &g32), NS_OK);
		cr_assert_eq(g32, (uint32_t)v);
		cr_assert_eq(p, e + n);
	} else {
		cr_assert_eq(ns_varint_get32(&p, e + n, &g32), NS_ECORRUPT);
		cr_assert_eq(p, e);
	}
	free(e);
}

Test(codec, varint_roundtrip_edges)
{
	varint_roundtrip(0, 1);
	varint_roundtrip(1, 1);
	varint_roundtrip(127, 1);
	varint_roundtrip(128, 2);
	varint_roundtrip(300, 2);
	varint_roundtrip(16383, 2);
	varint_roundtrip(16384, 3);
	varint_roundtrip(UINT32_MAX, 5);
	varint_roundtrip((uint64_t)UINT32_MAX + 1, 5);
	varint_roundtrip(UINT64_C(1) << 35, 6);
	varint_roundtrip(UINT64_C(1) << 63, 10);
	varint_roundtrip(UINT64_MAX, 10);
	for (unsigned b = 0; b < 64; b++) {
		uint64_t v = UINT64_C(1) << b;
		varint_roundtrip(v, b / 7 + 1);
		varint_roundtrip(v - 1, b ? (b - 1) / 7 + 1 : 1);
	}
}

Test(codec, varint_golden_bytes)
{
	static const struct {
		uint64_t v;
		const char *hex;
	} cases[] = {
	    {0, "00"},
	    {127, "7f"},
	    {128, "8001"},
	    {300, "ac02"},
	    {16384, "808001"},
	    {UINT32_MAX, "ffffffff0f"},
	    {UINT64_MAX, "ffffffffffffffffff01"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint8_t buf[NS_VARINT_MAX];
		char hex[2 * NS_VARINT_MAX + 1];
		size_t n = ns_varint_put(buf, cases[c].v);
		for (size_t i = 0; i < n; i++) sprintf(hex + 2 * i, "%02x", buf[i]);
		hex[2 * n] = 0;
		cr_assert_str_eq(hex, cases[c].hex);
	}
}

Test(codec, varint_random_roundtrip)
{
	rng_state = 42;
	uint8_t buf[64 * NS_VARINT_MAX];
	uint64_t vals[64];
	for (int rep = 0; rep < 200; rep++) {
		size_t len = 0;
		for (int i = 0; i < 64; i++) {
			vals[i] = rnd() >> (rnd() % 64);
			len += ns_varint_put(buf + len, vals[i]);
		}
		const uint8_t *p = buf;
		for (int i = 0; i < 64; i++) {
			uint64_t v;
			cr_assert_eq(ns_varint_get(&p, buf + len, &v), NS_OK);
			cr_assert_eq(v, vals[i]);
		}
		cr_assert_eq(p, buf + len);
	}
}

static void expect_corrupt(const uint8_t *bytes, size_t n)
{
	uint8_t *e = exact_copy(bytes, n);
	const uint8_t *p = e;
	uint64_t v;
	uint32_t v32;
	cr_assert_eq(ns_varint_get(&p, e + n, &v), NS_ECORRUPT);
	cr_assert_eq(p, e);
	cr_assert_eq(ns_varint_get32(&p, e + n, &v32), NS_ECORRUPT);
	cr_assert_eq(p, e);
	free(e);
}

Test(codec, varint_overlong_and_truncated)
{
	uint8_t b[16] = {0};
	/* Empty input. */
	expect_corrupt(b, 0);
	/* Eleven bytes (more than 10). */
	memset(b, 0x80, 10);
	b[10] = 0x01;
	expect_corrupt(b, 11);
	/* Continuation bit on the 10th byte, input ends there. */
	memset(b, 0xff, 10);
	expect_corrupt(b, 10);
	/* A 10th byte with more than bit 63: 65 bits. */
	memset(b, 0xff, 9);
	b[9] = 0x02;
	expect_corrupt(b, 10);
	b[9] = 0x7f;
	expect_corrupt(b, 10);
	/* Non-minimal encodings: 0 as 80 00, 1 as 81 80 00. */
	b[0] = 0x80;
	b[1] = 0x00;
	expect_corrupt(b, 2);
	b[0] = 0x81;
	b[1] = 0x80;
	b[2] = 0x00;
	expect_corrupt(b, 3);
	/* Only continuation bytes. */
	memset(b, 0x80, 16);
	for (size_t n = 1; n <= 16; n++) expect_corrupt(b, n);
}

Test(codec, varint_get32_range)
{
	uint8_t b[NS_VARINT_MAX];
	uint32_t v;
	const uint8_t *p;
	/* 2^32 is five bytes long but too large. */
	size_t n = ns_varint_put(b, UINT64_C(1) << 32);
	cr_assert_eq(n, 5);
	p = b;
	cr_assert_eq(ns_varint_get32(&p, b + n, &v), NS_ECORRUPT);
	cr_assert_eq(p, b);
	/* A sixth byte never fits in 32 bits. */
	n = ns_varint_put(b, UINT64_C(1) << 40);
	p = b;
	cr_assert_eq(ns_varint_get32(&p, b + n, &v), NS_ECORRUPT);
	cr_assert_eq(p, b);
	/* UINT32_MAX fits. */
	n = ns_varint_put(b, UINT32_MAX);
	p = b;
	cr_assert_eq(ns_varint_get32(&p, b + n, &v), NS_OK);
	cr_assert_eq(v, UINT32_MAX);
}

/* ------------------------------------------------------------------------ */
/* Packed blocks                                                            */
/* ------------------------------------------------------------------------ */

Test(codec, sizes)
{
	cr_assert_eq(ns_pack128_bound(), 513);
	cr_assert_eq(NS_PACK128_BOUND, 513);
	for (unsigned w = 0; w <= 32; w++) cr_assert_eq(ns_pack128_size(w), 1 + 16 * w);
	cr_assert_eq(ns_bits32(0), 0);
	cr_assert_eq(ns_bits32(1), 1);
	cr_assert_eq(ns_bits32(255), 8);
	cr_assert_eq(ns_bits32(256), 9);
	cr_assert_eq(ns_bits32(UINT32_MAX), 32);
	cr_assert_eq(ns_vtail_bound(127), 635);
	cr_assert_eq(NS_DECODE_PADDING, 0);
}

/* Packs and unpacks blocks of every width on every kernel this machine has,
** and checks that all kernels write the same bytes. */
Test(codec, pack128_roundtrip_every_width_every_kernel)
{
	rng_state = 7;
	uint32_t in[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[N_KERNELS][NS_PACK128_BOUND + 1];
	size_t len[N_KERNELS];
	for (int rep = 0; rep < 20; rep++) {
		for (unsigned w = 0; w <= 32; w++) {
			fill_width(in, w);
			cr_assert_eq(ns_pack128_width(in), w);
			int have[N_KERNELS] = {0};
			for (int k = 0; k < N_KERNELS; k++) {
				if (!use_kernel(kernels[k])) continue;
				have[k] = 1;
				cr_assert_str_eq(ns_codec_impl(), kernels[k]);
				memset(enc[k], 0xee, sizeof enc[k]);
				len[k] = ns_pack128(in, enc[k]);
				cr_assert_eq(len[k], 1 + 16 * w, "w=%u kernel %s", w, kernels[k]);
				cr_assert_eq(enc[k][0], w);
				cr_assert_eq(enc[k][len[k]], 0xee, "wrote past the block");
				if (k > 0)
					cr_assert_eq(memcmp(enc[0], enc[k], len[0]), 0,
					             "w=%u: %s encodes differently from scalar", w,
					             kernels[k]);
			}
			cr_assert(have[0], "the scalar kernel is always there");
			/* Decode every encoding with every kernel, from an exact-size
			** buffer (ASan catches overreads). */
			uint8_t *e = exact_copy(enc[0], len[0]);
			for (int k = 0; k < N_KERNELS; k++) {
				if (!have[k]) continue;
				use_kernel(kernels[k]);
				const uint8_t *p = e;
				memset(out, 0xab, sizeof out);
				cr_assert_eq(ns_unpack128(&p, e + len[0], out), NS_OK);
				cr_assert_eq(p, e + len[0]);
				cr_assert_eq(memcmp(in, out, sizeof in), 0, "w=%u kernel %s", w,
				             kernels[k]);
				p = e;
				cr_assert_eq(ns_unpack128_skip(&p, e + len[0]), NS_OK);
				cr_assert_eq(p, e + len[0]);
			}
			free(e);
		}
	}
	ns_codec_set_impl(NULL);
}

/* Structured patterns that random data rarely produces. */
Test(codec, pack128_patterns)
{
	uint32_t in[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[NS_PACK128_BOUND];
	for (unsigned w = 1; w <= 32; w++) {
		uint32_t top = w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
		for (int pat = 0; pat < 4; pat++) {
			for (unsigned i = 0; i < NS_BLOCK; i++) {
				switch (pat) {
				case 0: in[i] = top; break;                  /* all ones */
				case 1: in[i] = i & 1 ? top : 0; break;      /* alternating */
				case 2: in[i] = i == 127 ? top : 0; break;   /* last only */
				default: in[i] = (uint32_t)(i * 2654435761u) & top; break;
				}
			}
			for (int k = 0; k < N_KERNELS; k++) {
				if (!use_kernel(kernels[k])) continue;
				size_t n = ns_pack128(in, enc);
				cr_assert_eq(n, ns_pack128_size(ns_pack128_width(in)));
				for (int d = 0; d < N_KERNELS; d++) {
					if (!use_kernel(kernels[d])) continue;
					const uint8_t *p = enc;
					cr_assert_eq(ns_unpack128(&p, enc + n, out), NS_OK);
					cr_assert_eq(memcmp(in, out, sizeof in), 0,
					             "w=%u pattern %d enc %s dec %s", w, pat,
					             kernels[k], kernels[d]);
				}
			}
		}
	}
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

/* The worked example of codec.c / docs/FORMAT.md: pins the layout. */
Test(codec, pack128_golden_layout)
{
	uint32_t in[NS_BLOCK] = {0}, out[NS_BLOCK];
	in[0] = 5;
	in[1] = 1;
	in[4] = 7;
	in[127] = 4;
	uint8_t want[49] = {0};
	want[0] = 0x03;
	want[1] = 0x3d;
	want[5] = 0x01;
	want[48] = 0x80;
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		uint8_t enc[NS_PACK128_BOUND];
		size_t n = ns_pack128(in, enc);
		cr_assert_eq(n, 49);
		char h1[2 * 49 + 1] = {0}, h2[2 * 49 + 1] = {0};
		hex_of(enc, n, h1);
		hex_of(want, 49, h2);
		cr_assert_str_eq(h1, h2, "kernel %s", kernels[k]);
		const uint8_t *p = want;
		cr_assert_eq(ns_unpack128(&p, want + 49, out), NS_OK);
		cr_assert_eq(memcmp(in, out, sizeof in), 0);
	}
	/* A value straddling two words (w = 5, lane 0 row 6, bits 30..34). */
	memset(in, 0, sizeof in);
	in[24] = 31;
	uint8_t want5[81] = {0};
	want5[0] = 0x05;
	want5[4] = 0xc0;
	want5[17] = 0x07;
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		uint8_t enc[NS_PACK128_BOUND];
		cr_assert_eq(ns_pack128(in, enc), 81);
		cr_assert_eq(memcmp(enc, want5, 81), 0, "kernel %s", kernels[k]);
		const uint8_t *p = want5;
		cr_assert_eq(ns_unpack128(&p, want5 + 81, out), NS_OK);
		cr_assert_eq(memcmp(in, out, sizeof in), 0, "kernel %s", kernels[k]);
	}
	/* The delta example: base 100, v[i] = 101 + 3i. */
	for (unsigned i = 0; i < NS_BLOCK; i++) in[i] = 101 + 3 * i;
	uint8_t wantd[33];
	memset(wantd, 0xff, sizeof wantd);
	wantd[0] = 0x02;
	wantd[1] = 0xfd;
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		uint8_t enc[NS_PACK128_BOUND];
		cr_assert_eq(ns_pack128_delta(in, 100, enc), 33);
		cr_assert_eq(memcmp(enc, wantd, 33), 0, "kernel %s", kernels[k]);
		const uint8_t *p = wantd;
		cr_assert_eq(ns_unpack128_delta(&p, wantd + 33, 100, out), NS_OK);
		cr_assert_eq(memcmp(in, out, sizeof in), 0, "kernel %s", kernels[k]);
	}
	/* Width 32 stores the values as plain little-endian u32s in order. */
	for (unsigned i = 0; i < NS_BLOCK; i++) in[i] = 0x80000000u + i * 0x01020304u;
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		uint8_t enc[NS_PACK128_BOUND];
		cr_assert_eq(ns_pack128(in, enc), NS_PACK128_BOUND);
		cr_assert_eq(enc[0], 32);
		for (unsigned i = 0; i < NS_BLOCK; i++)
			cr_assert_eq(ns_get_le32(enc + 1 + 4 * i), in[i]);
	}
	/* Width 0: header only. */
	memset(in, 0, sizeof in);
	uint8_t z[4] = {0xee, 0xee, 0xee, 0xee};
	cr_assert_eq(ns_pack128(in, z), 1);
	cr_assert_eq(z[0], 0);
	cr_assert_eq(z[1], 0xee);
}

Test(codec, delta_roundtrip_every_width_every_kernel)
{
	rng_state = 11;
	uint32_t gaps[NS_BLOCK], abs_[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[NS_PACK128_BOUND];
	static const uint32_t bases[] = {0, 1, 1000, 0x7fffffffu, UINT32_MAX - 5,
	                                 UINT32_MAX};
	for (unsigned w = 0; w <= 32; w++) {
		for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
			uint32_t base = bases[b];
			fill_width(gaps, w);
			uint32_t acc = base;
			for (unsigned i = 0; i < NS_BLOCK; i++) abs_[i] = acc += gaps[i];
			size_t n = ns_pack128(gaps, enc);
			uint8_t enc2[NS_PACK128_BOUND];
			cr_assert_eq(ns_pack128_delta(abs_, base, enc2), n);
			cr_assert_eq(memcmp(enc, enc2, n), 0);
			uint8_t *e = exact_copy(enc, n);
			for (int k = 0; k < N_KERNELS; k++) {
				if (!use_kernel(kernels[k])) continue;
				const uint8_t *p = e;
				memset(out, 0xab, sizeof out);
				cr_assert_eq(ns_unpack128_delta(&p, e + n, base, out), NS_OK);
				cr_assert_eq(p, e + n);
				cr_assert_eq(memcmp(abs_, out, sizeof out), 0,
				             "w=%u base=%u kernel %s", w, base, kernels[k]);
			}
			free(e);
		}
	}
}

/* Gaps near 2^32-1 wrap around: 32-bit modular prefix sums. */
Test(codec, delta_wraparound)
{
	uint32_t gaps[NS_BLOCK], want[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[NS_PACK128_BOUND];
	for (unsigned i = 0; i < NS_BLOCK; i++) gaps[i] = UINT32_MAX - (i % 3);
	uint32_t acc = 5;
	for (unsigned i = 0; i < NS_BLOCK; i++) want[i] = acc += gaps[i];
	cr_assert_eq(want[0], 4); /* 5 + (2^32 - 1) wraps to 4 */
	size_t n = ns_pack128(gaps, enc);
	cr_assert_eq(n, NS_PACK128_BOUND);
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		const uint8_t *p = enc;
		cr_assert_eq(ns_unpack128_delta(&p, enc + n, 5, out), NS_OK);
		cr_assert_eq(memcmp(want, out, sizeof out), 0, "kernel %s", kernels[k]);
	}
	/* Base 0, all-zero gaps: every value is the base. */
	memset(gaps, 0, sizeof gaps);
	n = ns_pack128(gaps, enc);
	cr_assert_eq(n, 1);
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		const uint8_t *p = enc;
		cr_assert_eq(ns_unpack128_delta(&p, enc + 1, 0, out), NS_OK);
		for (unsigned i = 0; i < NS_BLOCK; i++) cr_assert_eq(out[i], 0);
		p = enc;
		cr_assert_eq(ns_unpack128_delta(&p, enc + 1, 77, out), NS_OK);
		for (unsigned i = 0; i < NS_BLOCK; i++) cr_assert_eq(out[i], 77);
	}
	/* Base 0 with doc ids 0, 1, 2, ...: the first gap is 0. */
	for (unsigned i = 0; i < NS_BLOCK; i++) want[i] = i;
	n = ns_pack128_delta(want, 0, enc);
	cr_assert_eq(enc[0], 1);
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		const uint8_t *p = enc;
		cr_assert_eq(ns_unpack128_delta(&p, enc + n, 0, out), NS_OK);
		cr_assert_eq(memcmp(want, out, sizeof out), 0);
	}
}

/* Two blocks back to back, the second based on the first's last value, as
** a posting list stores them. */
Test(codec, consecutive_blocks)
{
	rng_state = 3;
	uint32_t ids[3 * NS_BLOCK], out[3 * NS_BLOCK];
	uint8_t buf[3 * NS_PACK128_BOUND];
	uint32_t acc = 0;
	for (unsigned i = 0; i < 3 * NS_BLOCK; i++) ids[i] = acc += 1 + (uint32_t)(rnd() % 100);
	size_t len = 0;
	for (unsigned b = 0; b < 3; b++)
		len += ns_pack128_delta(ids + b * NS_BLOCK, b ? ids[b * NS_BLOCK - 1] : 0,
		                        buf + len);
	for (int k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		const uint8_t *p = buf;
		uint32_t base = 0;
		for (unsigned b = 0; b < 3; b++) {
			cr_assert_eq(ns_unpack128_delta(&p, buf + len, base, out + b * NS_BLOCK),
			             NS_OK);
			base = out[b * NS_BLOCK + NS_BLOCK - 1];
		}
		cr_assert_eq(p, buf + len);
		cr_assert_eq(memcmp(ids, out, sizeof ids), 0);
		/* Skipping lands on the same boundaries. */
		p = buf;
		for (unsigned b = 0; b < 3; b++) cr_assert_eq(ns_unpack128_skip(&p, buf + len), NS_OK);
		cr_assert_eq(p, buf + len);
		cr_assert_eq(ns_unpack128_skip(&p, buf + len), NS_ECORRUPT);
	}
}

/* ------------------------------------------------------------------------ */
/* Corrupt blocks                                                           */
/* ------------------------------------------------------------------------ */

/* Every length shorter than the block is corrupt; the cursor stays put and
** nothing past the buffer is read (exact-size heap copies under ASan). */
Test(codec, truncated_blocks)
{
	rng_state = 5;
	uint32_t in[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[NS_PACK128_BOUND];
	for (unsigned w = 0; w <= 32; w++) {
		fill_width(in, w);
		size_t n = ns_pack128(in, enc);
		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *e = exact_copy(enc, cut);
			for (int k = 0; k < N_KERNELS; k++) {
				if (!use_kernel(kernels[k])) continue;
				const uint8_t *p = e;
				cr_assert_eq(ns_unpack128(&p, e + cut, out), NS_ECORRUPT,
				             "w=%u cut=%zu", w, cut);
				cr_assert_eq(p, e);
				cr_assert_eq(ns_unpack128_delta(&p, e + cut, 9, out), NS_ECORRUPT);
				cr_assert_eq(p, e);
				cr_assert_eq(ns_unpack128_skip(&p, e + cut), NS_ECORRUPT);
				cr_assert_eq(p, e);
			}
			free(e);
		}
	}
}

Test(codec, bad_header_bytes)
{
	uint8_t *buf = calloc(1, 4096);
	uint32_t out[NS_BLOCK];
	cr_assert_not_null(buf);
	for (unsigned h = 33; h <= 255; h++) {
		buf[0] = (uint8_t)h;
		for (int k = 0; k < N_KERNELS; k++) {
			if (!use_kernel(kernels[k])) continue;
			const uint8_t *p = buf;
			cr_assert_eq(ns_unpack128(&p, buf + 4096, out), NS_ECORRUPT, "header %u", h);
			cr_assert_eq(ns_unpack128_delta(&p, buf + 4096, 0, out), NS_ECORRUPT);
			cr_assert_eq(ns_unpack128_skip(&p, buf + 4096), NS_ECORRUPT);
			cr_assert_eq(p, buf);
		}
	}
	free(buf);
}

/* Random bit flips and random garbage: decoding succeeds or reports
** NS_ECORRUPT, never crashes or reads out of bounds; a successful decode
** consumes exactly the size its header announces. */
Test(codec, random_corruption)
{
	rng_state = 99;
	uint32_t in[NS_BLOCK], out[NS_BLOCK];
	uint8_t enc[2 * NS_PACK128_BOUND];
	for (int rep = 0; rep < 3000; rep++) {
		fill_width(in, (unsigned)(rnd() % 33));
		size_t n = ns_pack128(in, enc);
		/* A varint tail after the block, as in a posting list. */
		n += ns_vtail_put(in, rnd() % 8, enc + n);
		int flips = 1 + (int)(rnd() % 4);
		for (int f = 0; f < flips; f++) enc[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
		if (rep % 10 == 0)
			for (size_t i = 0; i < n; i++) enc[i] = (uint8_t)rnd();
		size_t len = (size_t)(rnd() % (n + 1));
		uint8_t *e = exact_copy(enc, len);
		const uint8_t *end = e + len;
		for (int k = 0; k < N_KERNELS; k++) {
			if (!use_kernel(kernels[k])) continue;
			const uint8_t *p = e;
			int rc = ns_unpack128(&p, end, out);
			cr_assert(rc == NS_OK || rc == NS_ECORRUPT);
			if (rc == NS_OK) cr_assert_eq(p, e + 1 + 16 * (size_t)e[0]);
			else cr_assert_eq(p, e);
			p = e;
			rc = ns_unpack128_delta(&p, end, (uint32_t)rnd(), out);
			cr_assert(rc == NS_OK || rc == NS_ECORRUPT);
			/* Whatever is left, read as varints. */
			uint32_t t[8];
			rc = ns_vtail_get(&p, end, rnd() % 9, t);
			cr_assert(rc == NS_OK || rc == NS_ECORRUPT);
			cr_assert(p <= end);
			uint64_t v;
			while (p < end && ns_varint_get(&p, end, &v) == NS_OK) cr_assert(p <= end);
		}
		free(e);
	}
}

/* ------------------------------------------------------------------------ */
/* Variable tails                                                           */
/* ------------------------------------------------------------------------ */

static void vtail_roundtrip(size_t n, uint32_t base)
{
	uint32_t in[NS_BLOCK], out[NS_BLOCK + 1], want[NS_BLOCK];
	uint8_t buf[5 * NS_BLOCK];
	for (size_t i = 0; i < n; i++) in[i] = (uint32_t)(rnd() >> (32 + rnd() % 32));
	size_t len = ns_vtail_put(in, n, buf);
	cr_assert_leq(len, ns_vtail_bound(n));
	if (n == 0) cr_assert_eq(len, 0);
	uint8_t *e = exact_copy(buf, len);
	const uint8_t *p = e;
	out[n] = 0xdeadbeef;
	cr_assert_eq(ns_vtail_get(&p, e + len, n, out), NS_OK);
	cr_assert_eq(p, e + len);
	cr_assert_eq(n ? memcmp(in, out, n * sizeof *in) : 0, 0);
	cr_assert_eq(out[n], 0xdeadbeef, "wrote past n values");
	uint32_t acc = base;
	for (size_t i = 0; i < n; i++) want[i] = acc += in[i];
	p = e;
	cr_assert_eq(ns_vtail_get_delta(&p, e + len, n, base, out), NS_OK);
	cr_assert_eq(p, e + len);
	cr_assert_eq(n ? memcmp(want, out, n * sizeof *in) : 0, 0);
	/* Truncated tails are corrupt and leave the cursor alone. */
	for (size_t cut = 0; cut < len; cut++) {
		p = e;
		cr_assert_eq(ns_vtail_get(&p, e + cut, n, out), NS_ECORRUPT, "n=%zu cut=%zu", n, cut);
		cr_assert_eq(p, e);
		cr_assert_eq(ns_vtail_get_delta(&p, e + cut, n, base, out), NS_ECORRUPT);
		cr_assert_eq(p, e);
	}
	free(e);
}

Test(codec, vtail_roundtrip)
{
	rng_state = 1234;
	vtail_roundtrip(0, 0);
	vtail_roundtrip(1, 0);
	vtail_roundtrip(1, UINT32_MAX);
	vtail_roundtrip(2, 17);
	vtail_roundtrip(127, 0);
	vtail_roundtrip(127, 1u << 31);
	vtail_roundtrip(128, 3);
	/* n == 0 reads nothing, even from an empty buffer. */
	const uint8_t *p = NULL;
	cr_assert_eq(ns_vtail_get(&p, NULL, 0, NULL), NS_OK);
	cr_assert_null(p);
}

Test(codec, vtail_golden_and_range)
{
	static const uint32_t in[3] = {1, 300, 70000};
	static const uint8_t want[6] = {0x01, 0xac, 0x02, 0xf0, 0xa2, 0x04};
	uint8_t buf[16];
	cr_assert_eq(ns_vtail_put(in, 3, buf), 6);
	cr_assert_eq(memcmp(buf, want, 6), 0);
	/* A value above UINT32_MAX is corrupt in a tail. */
	size_t n = ns_varint_put(buf, 5);
	n += ns_varint_put(buf + n, UINT64_C(1) << 32);
	uint32_t out[2];
	const uint8_t *p = buf;
	cr_assert_eq(ns_vtail_get(&p, buf + n, 2, out), NS_ECORRUPT);
	cr_assert_eq(p, buf);
	/* Delta tail wraps modulo 2^32. */
	n = ns_varint_put(buf, UINT32_MAX);
	n += ns_varint_put(buf + n, 2);
	p = buf;
	cr_assert_eq(ns_vtail_get_delta(&p, buf + n, 2, 1, out), NS_OK);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[1], 2);
}

/* ------------------------------------------------------------------------ */
/* Kernel selection                                                         */
/* ------------------------------------------------------------------------ */

Test(codec, impl_names)
{
	const char *a = ns_codec_impl();
	cr_assert(strcmp(a, "avx512") == 0 || strcmp(a, "avx2") == 0 ||
	          strcmp(a, "sse2") == 0 || strcmp(a, "scalar") == 0,
	          "unknown kernel '%s'", a);
	ns_codec_force_scalar(1);
	cr_assert_str_eq(ns_codec_impl(), "scalar");
	ns_codec_force_scalar(0);
	cr_assert_str_eq(ns_codec_impl(), a);
	cr_assert_eq(ns_codec_set_impl("scalar"), NS_OK);
	cr_assert_str_eq(ns_codec_impl(), "scalar");
	cr_assert_eq(ns_codec_set_impl("no-such-kernel"), NS_EINVAL);
	cr_assert_str_eq(ns_codec_impl(), "scalar");
	cr_assert_eq(ns_codec_set_impl("auto"), NS_OK);
	cr_assert_str_eq(ns_codec_impl(), a);
	/* The automatic choice can always be selected by name, and scalar is
	** always there. */
	cr_assert_eq(ns_codec_set_impl(a), NS_OK);
	cr_assert_eq(ns_codec_set_impl(NULL), NS_OK);
#if defined(__x86_64__) && !defined(NS_CODEC_NO_SIMD)
	cr_assert_neq(strcmp(a, "scalar"), 0, "x86-64 always has SSE2");
	cr_assert_eq(ns_codec_set_impl("sse2"), NS_OK);
	ns_codec_set_impl(NULL);
#endif
}

/* ---- patched blocks and packed tails (the index's block formats) ---- */

static uint64_t pf_rng = 0x9e3779b97f4a7c15ull;
static uint32_t pf_rand(void)
{
	pf_rng ^= pf_rng << 13;
	pf_rng ^= pf_rng >> 7;
	pf_rng ^= pf_rng << 17;
	return (uint32_t)(pf_rng >> 11);
}

Test(codec, pfor_round_trips_with_exceptions)
{
	uint8_t buf[NS_PFOR_BOUND + 16];
	for (int round = 0; round < 2000; round++) {
		uint32_t in[NS_BLOCK], out[NS_BLOCK], dout[NS_BLOCK];
		unsigned small = pf_rand() % 12, big = 1 + pf_rand() % 32;
		for (int i = 0; i < NS_BLOCK; i++) {
			uint32_t v = small ? pf_rand() & ((1u << small) - 1) : 0;
			if (pf_rand() % 10 == 0) /* a few outliers */
				v = big == 32 ? pf_rand() << 1 | 1 : pf_rand() & ((1u << big) - 1);
			in[i] = v;
		}
		if (round % 7 == 0) in[NS_BLOCK - 1] = UINT32_MAX;
		size_t n = ns_pfor_pack128(in, buf);
		cr_assert_leq(n, (size_t)NS_PFOR_BOUND);
		const uint8_t *p = buf;
		cr_assert_eq(ns_pfor_unpack128(&p, buf + n, out), NS_OK);
		cr_assert_eq(p, buf + n);
		cr_assert_arr_eq(in, out, sizeof in);
		p = buf;
		cr_assert_eq(ns_pfor_unpack128_delta(&p, buf + n, 7, dout), NS_OK);
		uint32_t s = 7;
		for (int i = 0; i < NS_BLOCK; i++) cr_assert_eq(dout[i], s += in[i]);
		p = buf;
		cr_assert_eq(ns_pfor_skip128(&p, buf + n), NS_OK);
		cr_assert_eq(p, buf + n);
		/* every truncation is refused, never read past */
		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *t = malloc(cut ? cut : 1);
			memcpy(t, buf, cut);
			p = t;
			cr_assert_eq(ns_pfor_unpack128(&p, t + cut, out), NS_ECORRUPT);
			free(t);
		}
	}
}

Test(codec, pfor_exceptions_make_outliers_cheap)
{
	uint32_t in[NS_BLOCK];
	for (int i = 0; i < NS_BLOCK; i++) in[i] = i % 4;
	in[5] = 1000000;
	uint8_t buf[NS_PFOR_BOUND];
	size_t n = ns_pfor_pack128(in, buf);
	/* 2 bits for the bulk instead of 20 for all: well under 16*20 bytes */
	cr_assert_lt(n, 16 * 3 + 16);
	cr_assert_eq(buf[0], 2);
	cr_assert_eq(buf[1], 1);
}

Test(codec, ptail_round_trips)
{
	uint8_t buf[NS_BLOCK * 6];
	for (int round = 0; round < 3000; round++) {
		size_t n = pf_rand() % NS_BLOCK;
		unsigned w = pf_rand() % 33;
		uint32_t in[NS_BLOCK], out[NS_BLOCK];
		for (size_t i = 0; i < n; i++)
			in[i] = w == 32 ? pf_rand() << 3 : w ? pf_rand() & ((1u << w) - 1) : 0;
		size_t len = ns_ptail_put(in, n, buf);
		cr_assert_leq(len, ns_ptail_bound(n));
		const uint8_t *p = buf;
		cr_assert_eq(ns_ptail_get(&p, buf + len, n, out), NS_OK);
		cr_assert_eq(p, buf + len);
		for (size_t i = 0; i < n; i++) cr_assert_eq(in[i], out[i]);
		if (len) {
			p = buf;
			cr_assert_eq(ns_ptail_get(&p, buf + len - 1, n, out), NS_ECORRUPT);
		}
	}
}

Test(codec, pfor_rejects_bad_headers)
{
	uint8_t buf[NS_PFOR_BOUND];
	uint32_t out[NS_BLOCK];
	const uint8_t *p;
	memset(buf, 0, sizeof buf);
	buf[0] = 33; /* width */
	p = buf;
	cr_assert_eq(ns_pfor_unpack128(&p, buf + sizeof buf, out), NS_ECORRUPT);
	buf[0] = 4;
	buf[1] = 129; /* more exceptions than values */
	p = buf;
	cr_assert_eq(ns_pfor_unpack128(&p, buf + sizeof buf, out), NS_ECORRUPT);
	buf[0] = 32;
	buf[1] = 1; /* no exceptions possible at width 32 */
	p = buf;
	cr_assert_eq(ns_pfor_unpack128(&p, buf + sizeof buf, out), NS_ECORRUPT);
}

/* ---- running sums (ns_prefix32), every kernel ---- */

/* The reference: sums until the first one >= limit, then stop. */
static size_t prefix_ref(const uint32_t *in, size_t n, uint32_t base,
                         uint64_t limit, uint32_t *out, int *ok)
{
	uint32_t acc = base;
	size_t m = 0;
	while (m < n) {
		uint32_t x = acc + in[m];
		if (x <= acc) *ok = 0;
		out[m++] = acc = x;
		if (acc >= limit) break;
	}
	return m;
}

Test(codec, prefix32_every_kernel_matches_the_reference)
{
	uint32_t in[300], out[300], ref[300];
	for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
		if (!use_kernel(kernels[k])) continue;
		pf_rng = 0x1234567ull + k;
		for (int round = 0; round < 4000; round++) {
			size_t n = pf_rand() % 300;
			unsigned w = pf_rand() % 33;
			for (size_t i = 0; i < n; i++)
				in[i] = w == 32 ? pf_rand() << 1 | 1
				        : w     ? 1 + (pf_rand() & ((1u << w) - 1))
				                : 1;
			if (n && round % 5 == 0) in[pf_rand() % n] = 0; /* not strict */
			uint32_t base = round % 3 ? pf_rand() % 1000 : UINT32_MAX - 500;
			uint64_t limit = round % 4 == 0 ? UINT64_MAX
			                 : n ? (uint64_t)base + pf_rand() % (n * 40 + 1) : 7;
			int ok = 1, rok = 1;
			size_t m = ns_prefix32(in, n, base, limit, out, &ok);
			size_t rm = prefix_ref(in, n, base, limit, ref, &rok);
			/* the kernels may run on to the end of a vector past the
			** limit (anywhere, when the sums do not increase) */
			cr_assert(m <= n && (!ok || (m >= rm && m - rm < NS_PREFIX_STEP)),
			          "%s: n %zu: wrote %zu, reference %zu", kernels[k], n, m, rm);
			if (m < rm) rm = m;
			if (n) cr_assert_geq(m, 1);
			int more_ok = 1;
			for (size_t i = 0; i < rm; i++)
				if (ref[i] <= (i ? ref[i - 1] : base)) more_ok = 0;
			for (size_t i = rm; i < m; i++) {
				uint32_t prev = i ? ref[i - 1] : base;
				ref[i] = prev + in[i];
				if (ref[i] <= prev) more_ok = 0;
			}
			for (size_t i = 0; i < m; i++)
				cr_assert_eq(out[i], ref[i], "%s: sum %zu", kernels[k], i);
			cr_assert_eq(ok, more_ok, "%s: n %zu base %u: ok %d, want %d",
			             kernels[k], n, base, ok, more_ok);
			if (limit == UINT64_MAX) cr_assert_eq(m, n);
		}
		/* in place, as the patched delta decoder uses it */
		for (size_t i = 0; i < 128; i++) in[i] = ref[i] = (uint32_t)i % 7;
		int ok = 1;
		ns_prefix32(in, 128, 5, UINT64_MAX, in, &ok);
		uint32_t s = 5;
		for (size_t i = 0; i < 128; i++) cr_assert_eq(in[i], s += ref[i]);
		cr_assert_eq(ok, 0); /* zeros */
	}
	ns_codec_set_impl(NULL);
}

Test(codec, pfor_delta_every_kernel)
{
	uint8_t buf[NS_PFOR_BOUND];
	for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
		if (!use_kernel(kernels[k])) continue;
		for (int round = 0; round < 500; round++) {
			uint32_t in[NS_BLOCK], out[NS_BLOCK];
			for (int i = 0; i < NS_BLOCK; i++)
				in[i] = pf_rand() % 10 == 0 ? pf_rand() : pf_rand() & 15;
			size_t n = ns_pfor_pack128(in, buf);
			uint8_t *e = exact_copy(buf, n);
			const uint8_t *p = e;
			cr_assert_eq(ns_pfor_unpack128_delta(&p, e + n, 3, out), NS_OK);
			uint32_t s = 3;
			for (int i = 0; i < NS_BLOCK; i++)
				cr_assert_eq(out[i], s += in[i], "%s: value %d", kernels[k], i);
			free(e);
		}
	}
	ns_codec_set_impl(NULL);
}

/* ---- packed tails and patched delta blocks: every kernel against the
** scalar one and a plain reference, every width, every tail length ---- */

/* n values whose largest has exactly w bits (or edge patterns). */
static void tail_values(uint32_t *v, size_t n, unsigned w, int pattern)
{
	uint32_t mask = w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
	for (size_t i = 0; i < n; i++)
		v[i] = pattern == 0 ? (uint32_t)rnd() & mask
		       : pattern == 1 ? mask            /* all ones */
		                      : (i & 1) * mask; /* alternating */
	if (w && n) v[rnd() % n] |= UINT32_C(1) << (w - 1);
}

Test(codec, ptail_every_kernel_every_width_every_length)
{
	rng_state = 0x7a11;
	uint32_t in[NS_BLOCK], out[NS_BLOCK + 8], ref[NS_BLOCK + 8];
	uint8_t buf[NS_BLOCK * 6];
	for (size_t k = 0; k < N_KERNELS; k++) {
		if (!use_kernel(kernels[k])) continue;
		for (unsigned w = 0; w <= 32; w++) {
			for (size_t n = 1; n < NS_BLOCK; n++) {
				int pattern = (int)((n + w) % 5 == 0 ? 1 + n % 2 : 0);
				tail_values(in, n, w, pattern);
				uint32_t base = (uint32_t)rnd();
				size_t len = ns_ptail_put(in, n, buf);
				if (n > NS_PTAIL_VARINT) {
					cr_assert_eq(buf[0], w);
					cr_assert_eq(len, 1 + (n * w + 7) / 8);
				}
				uint8_t *e = exact_copy(buf, len);
				/* plain: values, nothing written past out[n - 1] */
				for (size_t i = 0; i < NS_BLOCK + 8; i++) out[i] = 0xdeadbeef;
				const uint8_t *p = e;
				cr_assert_eq(ns_ptail_get(&p, e + len, n, out), NS_OK,
				             "%s w %u n %zu", kernels[k], w, n);
				cr_assert_eq(p, e + len);
				for (size_t i = 0; i < n; i++)
					cr_assert_eq(out[i], in[i], "%s w %u n %zu value %zu",
					             kernels[k], w, n, i);
				cr_assert_eq(out[n], 0xdeadbeef, "%s w %u n %zu: wrote past n",
				             kernels[k], w, n);
				/* delta: running sums from base */
				uint32_t s = base;
				for (size_t i = 0; i < n; i++) ref[i] = s += in[i];
				for (size_t i = 0; i < NS_BLOCK + 8; i++) out[i] = 0xdeadbeef;
				p = e;
				cr_assert_eq(ns_ptail_get_delta(&p, e + len, n, base, out), NS_OK);
				cr_assert_eq(p, e + len);
				for (size_t i = 0; i < n; i++)
					cr_assert_eq(out[i], ref[i], "%s w %u n %zu sum %zu",
					             kernels[k], w, n, i);
				cr_assert_eq(out[n], 0xdeadbeef);
				/* truncated: refused, cursor unchanged (ASan: never read
				** past the cut) */
				size_t cuts[4] = {0, len - 1, len / 2, (size_t)rnd() % len};
				for (int c = 0; c < 4; c++) {
					uint8_t *t = exact_copy(e, cuts[c]);
					p = t;
					cr_assert_eq(ns_ptail_get(&p, t + cuts[c], n, out), NS_ECORRUPT,
					             "%s w %u n %zu cut %zu", kernels[k], w, n, cuts[c]);
					cr_assert_eq(p, t);
					cr_assert_eq(ns_ptail_get_delta(&p, t + cuts[c], n, 1, out),
					             NS_ECORRUPT);
					cr_assert_eq(p, t);
					free(t);
				}
				free(e);
			}
		}
		/* a width byte over 32 */
		uint8_t bad[64] = {33};
		const uint8_t *p = bad;
		cr_assert_eq(ns_ptail_get(&p, bad + sizeof bad, 10, out), NS_ECORRUPT);
		cr_assert_eq(ns_ptail_get_delta(&p, bad + sizeof bad, 10, 0, out),
		             NS_ECORRUPT);
	}
	ns_codec_set_impl(NULL);
}

/* Varint tails of 1..3 values (the short lists' doc gaps): each varint is
** decoded without a loop; every byte length, and every malformation. */
static void varint_tails_on_kernel(const char *kern)
{
	rng_state = 0xbeef;
	uint8_t buf[32];
	uint32_t in[3], out[4];
	for (int round = 0; round < 20000; round++) {
		size_t n = 1 + (size_t)rnd() % NS_PTAIL_VARINT;
		for (size_t i = 0; i < n; i++) {
			unsigned bits = (unsigned)(rnd() % 33);
			in[i] = bits ? (uint32_t)rnd() >> (32 - bits) : 0;
		}
		size_t len = ns_ptail_put(in, n, buf);
		/* with slack after the tail, and exactly at the end */
		for (int slack = 0; slack < 2; slack++) {
			size_t have = len + (slack ? (size_t)rnd() % 12 : 0);
			uint8_t *e = exact_copy(buf, have);
			const uint8_t *p = e;
			uint32_t base = (uint32_t)rnd();
			cr_assert_eq(ns_ptail_get_delta(&p, e + have, n, base, out), NS_OK,
			             "%s", kern);
			cr_assert_eq(p, e + len);
			uint32_t s = base;
			for (size_t i = 0; i < n; i++)
				cr_assert_eq(out[i], s += in[i], "%s: value %zu", kern, i);
			p = e;
			cr_assert_eq(ns_ptail_get(&p, e + have, n, out), NS_OK);
			cr_assert_eq(p, e + len);
			for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], in[i], "%s", kern);
			free(e);
		}
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *t = exact_copy(buf, cut);
			const uint8_t *p = t;
			cr_assert_eq(ns_ptail_get_delta(&p, t + cut, n, 0, out), NS_ECORRUPT,
			             "%s: cut %zu", kern, cut);
			cr_assert_eq(p, t);
			cr_assert_eq(ns_ptail_get(&p, t + cut, n, out), NS_ECORRUPT);
			cr_assert_eq(p, t);
			free(t);
		}
	}
	/* malformed single varints: over 5 bytes, over 32 bits, not minimal */
	static const struct { uint8_t b[8]; size_t n; int ok; } cases[] = {
	    {{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6, 0},
	    {{0xff, 0xff, 0xff, 0xff, 0x10}, 5, 0},
	    {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 1},
	    {{0x80, 0x00}, 2, 0},
	    {{0xff, 0x80, 0x00}, 3, 0},
	    {{0x80, 0x80, 0x80, 0x80, 0x00}, 5, 0},
	    {{0x81, 0x01, 0, 0, 0, 0, 0, 0}, 8, 1},
	    {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, 8, 0},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint8_t *e = exact_copy(cases[c].b, cases[c].n);
		const uint8_t *p = e;
		uint32_t v = 0;
		int want = cases[c].ok ? NS_OK : NS_ECORRUPT;
		cr_assert_eq(ns_ptail_get_delta(&p, e + cases[c].n, 1, 0, out), want,
		             "%s: case %zu", kern, c);
		p = e;
		cr_assert_eq(ns_ptail_get(&p, e + cases[c].n, 1, out), want,
		             "%s: case %zu", kern, c);
		/* the bad varint second, after a good one */
		uint8_t two[16] = {0x05};
		memcpy(two + 1, cases[c].b, cases[c].n);
		uint8_t *e2 = exact_copy(two, cases[c].n + 1);
		p = e2;
		cr_assert_eq(ns_ptail_get_delta(&p, e2 + cases[c].n + 1, 2, 0, out), want,
		             "%s: case %zu second", kern, c);
		free(e2);
		p = e;
		cr_assert_eq(ns_varint_get32(&p, e + cases[c].n, &v), want, "case %zu", c);
		free(e);
	}
}

Test(codec, ptail_varint_tails)
{
	for (size_t k = 0; k < N_KERNELS; k++)
		if (use_kernel(kernels[k])) varint_tails_on_kernel(kernels[k]);
	ns_codec_set_impl(NULL);
}

/* Patched delta blocks, every packed width and exception shape, on every
** kernel: the same sums as the scalar kernel and as the plain reference;
** every truncation refused. */
Test(codec, pfor_delta_every_kernel_every_width)
{
	rng_state = 0x5eed;
	uint8_t buf[NS_PFOR_BOUND];
	uint32_t in[NS_BLOCK], out[NS_BLOCK], sc[NS_BLOCK];
	for (unsigned w = 0; w <= 32; w++) {
		for (int shape = 0; shape < 4; shape++) {
			fill_width(in, w);
			if (shape == 1) /* a few outliers: 1-byte high parts */
				for (int j = 0; j < 6; j++) in[rnd() % NS_BLOCK] |= UINT32_C(1) << (w + 3 > 31 ? 31 : w + 3);
			if (shape == 2) /* big outliers: multi-byte high parts */
				for (int j = 0; j < 9; j++) in[rnd() % NS_BLOCK] = (uint32_t)rnd() | 1u << 31;
			if (shape == 3) /* most values exceptions, first and last too */
				for (int j = 0; j < NS_BLOCK; j++)
					if (j % 3 == 0 || j == NS_BLOCK - 1) in[j] += UINT32_C(1) << 20;
			size_t len = ns_pfor_pack128(in, buf);
			uint8_t *e = exact_copy(buf, len);
			uint32_t base = (uint32_t)rnd();
			const uint8_t *p = e;
			cr_assert(use_kernel("scalar"));
			cr_assert_eq(ns_pfor_unpack128_delta(&p, e + len, base, sc), NS_OK);
			uint32_t s = base;
			for (int i = 0; i < NS_BLOCK; i++) cr_assert_eq(sc[i], s += in[i]);
			for (size_t k = 0; k < N_KERNELS; k++) {
				if (!use_kernel(kernels[k])) continue;
				p = e;
				cr_assert_eq(ns_pfor_unpack128_delta(&p, e + len, base, out), NS_OK);
				cr_assert_eq(p, e + len);
				cr_assert_arr_eq(out, sc, sizeof sc, "%s: w %u shape %d",
				                 kernels[k], w, shape);
				for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
					uint8_t *t = exact_copy(e, cut);
					p = t;
					cr_assert_eq(ns_pfor_unpack128_delta(&p, t + cut, base, out),
					             NS_ECORRUPT, "%s: w %u cut %zu", kernels[k], w, cut);
					cr_assert_eq(p, t);
					free(t);
				}
			}
			free(e);
		}
	}
	ns_codec_set_impl(NULL);
}
