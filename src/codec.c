/*
** codec.c -- the posting-list integer codec: varints, bit-packed blocks of
** 128 uint32 values and varint tails.  Pure functions on caller buffers;
** nothing here allocates.  Interface in codec.h.
**
** Byte layout (see also docs/FORMAT.md#integer-codec).  All multi-byte
** integers are little-endian.
**
**   varint:  unsigned LEB128.  7 value bits per byte, least significant
**            group first; bit 7 (0x80) set means "another byte follows".
**            Always minimal: 1..10 bytes, the last byte is non-zero unless
**            the whole varint is the single byte 00, and a 10th byte can
**            only be 01 (bit 63).  Decoders reject anything else.
**              0 -> 00            127 -> 7f           128 -> 80 01
**              300 -> ac 02       16384 -> 80 80 01
**              UINT32_MAX -> ff ff ff ff 0f
**              UINT64_MAX -> ff ff ff ff ff ff ff ff ff 01
**
**   packed block of 128 values v[0..127]:
**            u8      w          bit width of the largest value, 0..32
**            u8[16w] words      w "words" of 16 bytes each
**            Word t (0 <= t < w) is four u32 lane words; lane word j of word
**            t is the u32 at block offset 1 + 16t + 4j.  Lane j (0..3)
**            holds the 32 values v[j], v[j+4], v[j+8], ... v[j+124]: value
**            v[i] is in lane j = i % 4 at row k = i / 4, and occupies bits
**            k*w .. k*w+w-1 of that lane's 32w-bit little-endian bit string
**            (bit b of the string is bit b%32 of lane word j of word b/32).
**            So row k of all four lanes sits at the same bit offset, and one
**            128-bit shift-and-mask yields v[4k..4k+3] in order.  w = 0
**            means 128 zeros (header only); w = 32 stores the values as
**            plain u32s in order.
**            Example (w = 3): v[0]=5, v[1]=1, v[4]=7, v[127]=4, others 0:
**              03                                      header, w = 3
**              3d 00 00 00  01 00 00 00  00 .. 00      word 0 (16 bytes):
**                  lane 0 = 5 | 7<<3 (rows 0, 1), lane 1 = 1 (row 0)
**              00 x 16                                 word 1
**              00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 80
**                  word 2: lane 3, row 31 = bits 93..95 = bits 29..31 of
**                  lane word 3 of word 2 -> 4 << 29 = 0x80000000
**            49 bytes in all.
**            Example of a straddling value (w = 5): v[24] = 31, others 0.
**            v[24] is lane 0, row 6: bits 30..34 of lane 0, i.e. bits 30..31
**            of lane word 0 of word 0 and bits 0..2 of lane word 0 of word 1:
**              05
**              00 00 00 c0  00 x 12                    word 0: 31 << 30
**              07 00 00 00  00 x 12                    word 1: 31 >> 2
**              00 x 48                                 words 2..4
**            81 bytes in all.
**
**   delta block: the same bytes, holding gaps.  ns_pack128_delta() stores
**            g[0] = v[0] - base, g[i] = v[i] - v[i-1] (mod 2^32); the
**            decoder adds them up from base.  base is not stored (the
**            caller keeps it, e.g. the last doc id of the previous block).
**            Example: base 100, v[i] = 101 + 3i (101, 104, ... 482): gaps
**            1, 3, 3, ... so w = 2; lane 0 of word 0 is rows 0..15 of lane 0
**            = 1 | 3<<2 | ... | 3<<30 = 0xfffffffd, every other lane word is
**            0xffffffff:
**              02  fd ff ff ff  ff x 28                33 bytes
**
**   vtail:   n varints (each <= UINT32_MAX), nothing else; n is not
**            stored.  [1, 300, 70000] -> 01 ac 02 f0 a2 04.
**
** Kernels.  The block layout above is what the SSE2 unpacker wants: one
** psrld + pand (+ pslld/por when a value straddles two words) per four
** values, all shifts immediate, because every width has its own fully
** unrolled routine (33 widths x {plain, delta, pack}, instantiated with the
** NS_REP* macros below from one always-inline step function: the width and
** row are compile-time constants after inlining, so no generator script is
** needed).  The AVX2 kernel decodes two rows (eight values) per step with
** per-half variable shifts (vpsrlvd / vpsllvd; a shift count of 32 yields
** 0, which switches the straddle term off per half).  Because one register
** holds consecutive values, the delta variant is an in-register prefix sum
** plus a running broadcast: no second pass.  The portable scalar kernel
** reads the same layout row by row with ordinary C.  Dispatch is one
** relaxed atomic load of the active kernel and an indirect call through
** its per-width table (the kernel is picked once, with
** __builtin_cpu_supports).  No kernel reads a byte outside [block, block
** + 1 + 16w): the next word is loaded only when a value really straddles
** into it, so NS_DECODE_PADDING is 0.
**
** Short lists.  Most lists of an index are shorter than a block (on
** enwiki 98% of the doc-id lists; their tails hold 16% of the doc gaps),
** so the packed tails and the 1..3-varint tails are decoded per list, not
** per block, and their cost is mostly a per-list one.  Packed tails: one
** unaligned 8-byte load per value while 8 bytes remain, then the last
** (at most 7) bytes read exactly once; the AVX-512 kernel (F, BW, VL,
** VBMI) does 16 values a step for widths up to 25 with a masked byte
** load (masked-off bytes are not read and cannot fault), vpermb, vpsrlvd
** and a masked store, fused with the prefix sum.  (Varint tails keep the
** byte loop: a loop-free decoder from one word, and an AVX-512 one with a
** masked load, ran more instructions and measured no faster; on bp128's
** tails of 1-2 byte varints the loop-free one was 1.3x slower.)  Patched
** delta blocks with exceptions are unpacked, patched and then summed in place
** by the kernel's 128-value prefix sum (no early stop and no checks: the
** caller does not want them there).  A fused variant that spread the
** exceptions into registers with vpexpandd before the sum measured slower
** than unpack + patch + sum on Zen 4, and was dropped.
**
** Why 4 lanes and not 8: an 8-lane layout (256-bit words) decodes with
** immediate AVX2 shifts, and a prototype measured 5-20% faster than the
** AVX2 kernel here on the bare kernel (about 23 vs 19-22 billion ints/s on
** Zen 4), but it needs a special 16-bit tail word for odd widths, costs
** SSE2 and scalar readers an extra stride, and the difference disappears
** behind call overhead and the rest of a query.  The 4-lane layout has no
** special cases and is the natural one for SSE2, NEON and scalar code.
*/
#include <stdatomic.h>
#include <string.h>

#include "common.h"
#include "codec.h"

/* -DNS_CODEC_NO_SIMD builds only the portable kernel (to test it as a
** non-x86 machine would run it). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NS_CODEC_NO_SIMD)
#define NS_CODEC_X86 1
#include <immintrin.h>
#else
#define NS_CODEC_X86 0
#endif

#if defined(__GNUC__)
#define NS_AI inline __attribute__((always_inline))
#else
#define NS_AI inline
#endif

/* Repeat X(0) .. X(n-1): the unrolling of the block kernels. */
#define NS_REP8(X, o)                                                      \
	X(o + 0) X(o + 1) X(o + 2) X(o + 3) X(o + 4) X(o + 5) X(o + 6) X(o + 7)
#define NS_REP16(X) NS_REP8(X, 0) NS_REP8(X, 8)
#define NS_REP32(X) NS_REP16(X) NS_REP8(X, 16) NS_REP8(X, 24)
/* Every width but 0, which has one shared routine per operation. */
#define NS_WIDTHS(X)                                                       \
	X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)   \
	X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)      \
	X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32)

static uint32_t width_mask(unsigned w)
{
	return w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
}

/* ------------------------------------------------------------------------ */
/* Varints                                                                  */
/* ------------------------------------------------------------------------ */

size_t ns_varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t ns_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Reads at most `max` bytes; the caller checks the value range. */
static NS_AI int varint_read(const uint8_t **p, const uint8_t *end,
                             unsigned max, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t r = 0;
	for (unsigned i = 0; i < max; i++) {
		if (NS_UNLIKELY(q >= end)) return NS_ECORRUPT;
		unsigned b = *q++;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b < 0x80) {
			/* Not minimal, or a 10th byte with more than bit 63. */
			if (NS_UNLIKELY((b == 0 && i > 0) || (i == 9 && b > 1)))
				return NS_ECORRUPT;
			*v = r;
			*p = q;
			return NS_OK;
		}
	}
	return NS_ECORRUPT;
}

int ns_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	if (NS_LIKELY(q < end && *q < 0x80)) {
		*v = *q;
		*p = q + 1;
		return NS_OK;
	}
	return varint_read(p, end, NS_VARINT_MAX, v);
}

static NS_AI int varint_get32(const uint8_t **p, const uint8_t *end,
                              uint32_t *v)
{
	const uint8_t *q = *p;
	if (NS_LIKELY(q < end && *q < 0x80)) {
		*v = *q;
		*p = q + 1;
		return NS_OK;
	}
	uint64_t r;
	const uint8_t *t = q;
	NS_TRY(varint_read(&t, end, NS_VARINT32_MAX, &r));
	if (NS_UNLIKELY(r > UINT32_MAX)) return NS_ECORRUPT;
	*v = (uint32_t)r;
	*p = t;
	return NS_OK;
}

int ns_varint_get32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	return varint_get32(p, end, v);
}

/* ------------------------------------------------------------------------ */
/* Portable scalar kernels                                                  */
/* ------------------------------------------------------------------------ */

/* Packs 128 values of at most w bits (1..32) in the 4-lane layout. */
static void scalar_pack(unsigned w, const uint32_t *in, uint8_t *out)
{
	uint32_t acc[4] = {0, 0, 0, 0};
	for (unsigned k = 0; k < 32; k++) {
		unsigned bit = k * w, a = bit >> 5, s = bit & 31;
		const uint32_t *v = in + 4 * k;
		for (unsigned j = 0; j < 4; j++) acc[j] |= v[j] << s;
		if (s + w >= 32) {
			for (unsigned j = 0; j < 4; j++) {
				ns_put_le32(out + 16 * a + 4 * j, acc[j]);
				acc[j] = s + w > 32 ? v[j] >> (32 - s) : 0;
			}
		}
	}
}

/* Row k of a width-w block: out[0..3] = v[4k..4k+3]. */
static NS_AI void scalar_row(const uint8_t *in, unsigned w, uint32_t mask,
                             unsigned k, uint32_t out[4])
{
	unsigned bit = k * w, s = bit & 31;
	const uint8_t *q = in + 16 * (bit >> 5);
	if (s + w <= 32) {
		for (unsigned j = 0; j < 4; j++)
			out[j] = (ns_get_le32(q + 4 * j) >> s) & mask;
	} else {
		for (unsigned j = 0; j < 4; j++)
			out[j] = ((ns_get_le32(q + 4 * j) >> s) |
			          (ns_get_le32(q + 16 + 4 * j) << (32 - s))) & mask;
	}
}

static void scalar_unpack(unsigned w, const uint8_t *in, uint32_t *out)
{
	uint32_t mask = width_mask(w);
	for (unsigned k = 0; k < 32; k++) scalar_row(in, w, mask, k, out + 4 * k);
}

static void scalar_unpack_delta(unsigned w, const uint8_t *in, uint32_t base,
                                uint32_t *out)
{
	uint32_t mask = width_mask(w), acc = base, r[4];
	for (unsigned k = 0; k < 32; k++) {
		scalar_row(in, w, mask, k, r);
		for (unsigned j = 0; j < 4; j++) out[4 * k + j] = acc += r[j];
	}
}

/* Running sums for ns_prefix32(), from in[0]: each kernel stops at most
** NS_PREFIX_STEP - 1 values after the first sum >= limit, ORs the inputs
** it read into *or_acc and sets *zero when one is 0 (the caller checks for
** wraparound).  @return the number of sums written. */
static size_t scalar_prefix(const uint32_t *in, size_t n, uint32_t base,
                            uint64_t limit, uint32_t *out, uint32_t *or_acc,
                            int *zero)
{
	uint32_t acc = base, ors = 0, z = 0;
	size_t i = 0;
	while (i < n) {
		ors |= in[i];
		z |= in[i] == 0;
		out[i] = acc += in[i];
		i++;
		if (acc >= limit) break;
	}
	*or_acc |= ors;
	*zero |= (int)z;
	return i;
}

/* In-place running sum of a block from base, 32-bit wrapping: the patched
** delta decoder's last step (no early stop, no checks). */
static void scalar_prefix128(uint32_t *out, uint32_t base)
{
	uint32_t acc = base;
	for (unsigned i = 0; i < NS_BLOCK; i++) out[i] = acc += out[i];
}

/* The 1..8 bytes [q, q + len) as a little-endian integer; reads nothing
** else. */
static NS_AI uint64_t load_le_upto8(const uint8_t *q, size_t len)
{
	if (len >= 4) {
		/* two overlapping 4-byte loads; the shared bytes agree */
		return (uint64_t)ns_get_le32(q) |
		       (uint64_t)ns_get_le32(q + len - 4) << (8 * (len - 4));
	}
	/* len 1..3: bytes 0, len/2 and len-1 cover them all */
	return (uint64_t)q[0] | (uint64_t)q[len >> 1] << (8 * (len >> 1)) |
	       (uint64_t)q[len - 1] << (8 * (len - 1));
}

/* A packed tail's values: n >= 1 values of w (0..32) bits in [q, q +
** bytes), bytes = ceil(n * w / 8) (checked by the caller).  With delta,
** out[i] = base + v[0] + ... + v[i] (32-bit wrapping), else out[i] = v[i].
** One unaligned 8-byte load per value while 8 bytes remain at its first
** byte; the last (at most 7) bytes are read once, exactly. */
static NS_AI void scalar_ptail_w(const uint8_t *q, size_t bytes, size_t n,
                                 unsigned w, int delta, uint32_t base,
                                 uint32_t *out)
{
	if (w == 0) {
		for (size_t i = 0; i < n; i++) out[i] = delta ? base : 0;
		return;
	}
	const uint64_t mask = ((uint64_t)1 << w) - 1;
	uint32_t s = base;
	size_t i = 0, bit = 0;
#define NS_PUT(x)                                                          	do {                                                                   		uint32_t v_ = (uint32_t)((x) & mask);                              		out[i++] = delta ? (s += v_) : v_;                                 		bit += w;                                                          	} while (0)
	if (bytes >= 8) {
		/* value i can be loaded whole iff bit/8 + 8 <= bytes; bit < lim
		** also implies i < n (value n would start at or past lim) */
		const size_t lim = (bytes - 7) * 8;
		while (bit + 3 * (size_t)w < lim) {
			NS_PUT(ns_get_le64(q + (bit >> 3)) >> (bit & 7));
			NS_PUT(ns_get_le64(q + (bit >> 3)) >> (bit & 7));
			NS_PUT(ns_get_le64(q + (bit >> 3)) >> (bit & 7));
			NS_PUT(ns_get_le64(q + (bit >> 3)) >> (bit & 7));
		}
		while (bit < lim) NS_PUT(ns_get_le64(q + (bit >> 3)) >> (bit & 7));
	}
	if (i < n) {
		/* the rest starts within the last 7 bytes (or bytes < 8) */
		size_t b0 = bit >> 3;
		uint64_t acc = load_le_upto8(q + b0, bytes - b0);
		bit -= 8 * b0;
		while (i < n) NS_PUT(acc >> bit);
	}
#undef NS_PUT
}

static void scalar_ptail(const uint8_t *q, size_t bytes, size_t n, unsigned w,
                         uint32_t base, uint32_t *out)
{
	(void)base;
	scalar_ptail_w(q, bytes, n, w, 0, 0, out);
}

static void scalar_ptail_delta(const uint8_t *q, size_t bytes, size_t n,
                               unsigned w, uint32_t base, uint32_t *out)
{
	scalar_ptail_w(q, bytes, n, w, 1, base, out);
}

/* ------------------------------------------------------------------------ */
/* x86-64 kernels: SSE2 (baseline) and AVX2 (run-time dispatch)             */
/* ------------------------------------------------------------------------ */

#if NS_CODEC_X86

/* v[4k..4k+3] of a width-w block (1..32); *cur holds word (k*w)/32 and is
** moved on when row k ends at or straddles a word boundary.  Every
** argument but `in`, `cur` and `mask` is a compile-time constant after
** inlining, so the branches fold away and the shifts are immediates. */
static NS_AI __m128i sse2_row(const uint8_t *in, unsigned w, unsigned k,
                              __m128i *cur, __m128i mask)
{
	const unsigned bit = k * w, a = bit >> 5, s = bit & 31;
	__m128i v = _mm_srli_epi32(*cur, (int)s);
	if (s + w >= 32 && a + 1 < w) {
		__m128i nx = _mm_loadu_si128((const __m128i *)(in + 16 * (a + 1)));
		if (s + w > 32) v = _mm_or_si128(v, _mm_slli_epi32(nx, (int)(32 - s)));
		*cur = nx;
	}
	if (s + w != 32) v = _mm_and_si128(v, mask);
	return v;
}

static NS_AI void sse2_unpack_w(const uint8_t *in, uint32_t *out, unsigned w)
{
	const __m128i mask = _mm_set1_epi32((int)width_mask(w));
	__m128i cur = _mm_loadu_si128((const __m128i *)in);
	__m128i *op = (__m128i *)out;
#define NS_STEP(k) _mm_storeu_si128(op + (k), sse2_row(in, w, (k), &cur, mask));
	NS_REP32(NS_STEP)
#undef NS_STEP
}

/* Prefix sum of the four lanes of x. */
static NS_AI __m128i sse2_prefix4(__m128i x)
{
	x = _mm_add_epi32(x, _mm_slli_si128(x, 4));
	return _mm_add_epi32(x, _mm_slli_si128(x, 8));
}

static NS_AI void sse2_unpack_delta_w(const uint8_t *in, uint32_t *out,
                                      unsigned w, uint32_t base)
{
	const __m128i mask = _mm_set1_epi32((int)width_mask(w));
	__m128i cur = _mm_loadu_si128((const __m128i *)in);
	__m128i prev = _mm_set1_epi32((int)base);
	__m128i *op = (__m128i *)out;
	/* prev is the running total, broadcast; the dependency chain from one
	** row to the next is a single paddd. */
#define NS_STEP(k)                                                         \
	{                                                                      \
		__m128i x_ = sse2_prefix4(sse2_row(in, w, (k), &cur, mask));       \
		_mm_storeu_si128(op + (k), _mm_add_epi32(x_, prev));               \
		prev = _mm_add_epi32(prev, _mm_shuffle_epi32(x_, 0xff));           \
	}
	NS_REP32(NS_STEP)
#undef NS_STEP
}

/* Packs row k; values must fit in w bits.  acc collects the lane words. */
static NS_AI void sse2_pack_row(const uint32_t *in, uint8_t *out, unsigned w,
                                unsigned k, __m128i *acc)
{
	const unsigned bit = k * w, a = bit >> 5, s = bit & 31;
	__m128i v = _mm_loadu_si128((const __m128i *)(in + 4 * k));
	*acc = s ? _mm_or_si128(*acc, _mm_slli_epi32(v, (int)s)) : v;
	if (s + w >= 32) {
		_mm_storeu_si128((__m128i *)(out + 16 * a), *acc);
		*acc = s + w > 32 ? _mm_srli_epi32(v, (int)(32 - s))
		                  : _mm_setzero_si128();
	}
}

static NS_AI void sse2_pack_w(const uint32_t *in, uint8_t *out, unsigned w)
{
	__m128i acc = _mm_setzero_si128();
#define NS_STEP(k) sse2_pack_row(in, out, w, (k), &acc);
	NS_REP32(NS_STEP)
#undef NS_STEP
}

/* One function per width: the tables of the dispatch section. */
#define NS_DEF(W)                                                          \
	static void sse2_unpack_##W(const uint8_t *in, uint32_t *out)          \
	{                                                                      \
		sse2_unpack_w(in, out, W);                                         \
	}                                                                      \
	static void sse2_unpack_delta_##W(const uint8_t *in, uint32_t base,    \
	                                  uint32_t *out)                       \
	{                                                                      \
		sse2_unpack_delta_w(in, out, W, base);                             \
	}                                                                      \
	static void sse2_pack_##W(const uint32_t *in, uint8_t *out)            \
	{                                                                      \
		sse2_pack_w(in, out, W);                                           \
	}
NS_WIDTHS(NS_DEF)
#undef NS_DEF

static size_t sse2_prefix(const uint32_t *in, size_t n, uint32_t base,
                          uint64_t limit, uint32_t *out, uint32_t *or_acc,
                          int *zero)
{
	const __m128i z = _mm_setzero_si128();
	__m128i prev = _mm_set1_epi32((int)base), ors = z, eq = z;
	size_t i = 0;
	uint32_t acc = base;
	while (i + 4 <= n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(in + i));
		ors = _mm_or_si128(ors, x);
		eq = _mm_or_si128(eq, _mm_cmpeq_epi32(x, z));
		x = _mm_add_epi32(sse2_prefix4(x), prev);
		_mm_storeu_si128((__m128i *)(out + i), x);
		prev = _mm_shuffle_epi32(x, 0xff);
		i += 4;
		acc = (uint32_t)_mm_cvtsi128_si32(prev);
		if (acc >= limit) break;
	}
	ors = _mm_or_si128(ors, _mm_shuffle_epi32(ors, 0x4e));
	ors = _mm_or_si128(ors, _mm_shuffle_epi32(ors, 0xb1));
	*or_acc |= (uint32_t)_mm_cvtsi128_si32(ors);
	*zero |= _mm_movemask_epi8(eq) != 0;
	if (acc < limit || !i)
		i += scalar_prefix(in + i, n - i, acc, limit, out + i, or_acc, zero);
	return i;
}

static void sse2_prefix128(uint32_t *out, uint32_t base)
{
	__m128i prev = _mm_set1_epi32((int)base);
	__m128i *op = (__m128i *)out;
	for (unsigned k = 0; k < NS_BLOCK / 4; k++) {
		__m128i x = sse2_prefix4(_mm_loadu_si128(op + k));
		x = _mm_add_epi32(x, prev);
		_mm_storeu_si128(op + k, x);
		prev = _mm_shuffle_epi32(x, 0xff);
	}
}

#define NS_AVX2 __attribute__((target("avx2")))

static NS_AI NS_AVX2 __m256i avx2_load2(const uint8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

static NS_AI NS_AVX2 __m256i avx2_bcast(const uint8_t *p)
{
	return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

/* v[8m..8m+7] of a width-w block (1..32): rows k0 = 2m (low half) and
** k1 = 2m+1 (high half).  Row k1 starts in the same word as row k0 or in
** the next one, so one 256-bit load or broadcast gives both halves their
** word; a second gives the words they straddle into, if any.  A variable
** shift count of 32 zeroes a half that does not straddle.  Only words that
** hold bits of these rows are read. */
static NS_AI NS_AVX2 __m256i avx2_rows(const uint8_t *in, unsigned w,
                                       unsigned m, __m256i mask)
{
	const unsigned b0 = 2 * m * w, b1 = b0 + w;
	const unsigned a0 = b0 >> 5, a1 = b1 >> 5, s0 = b0 & 31, s1 = b1 & 31;
	const int st0 = s0 + w > 32, st1 = s1 + w > 32;
	__m256i lo = a1 != a0 ? avx2_load2(in + 16 * a0) : avx2_bcast(in + 16 * a0);
	__m256i v = _mm256_srlv_epi32(
	    lo, _mm256_setr_epi32((int)s0, (int)s0, (int)s0, (int)s0, (int)s1,
	                          (int)s1, (int)s1, (int)s1));
	if (st0 || st1) {
		/* st0 && st1 implies a1 == a0 + 1. */
		__m256i hi = st0 && st1 ? avx2_load2(in + 16 * (a0 + 1))
		             : st0      ? avx2_bcast(in + 16 * (a0 + 1))
		                        : avx2_bcast(in + 16 * (a1 + 1));
		const int c0 = st0 ? (int)(32 - s0) : 32, c1 = st1 ? (int)(32 - s1) : 32;
		v = _mm256_or_si256(
		    v, _mm256_sllv_epi32(hi, _mm256_setr_epi32(c0, c0, c0, c0, c1, c1,
		                                               c1, c1)));
	}
	if (w < 32) v = _mm256_and_si256(v, mask);
	return v;
}

static NS_AI NS_AVX2 void avx2_unpack_w(const uint8_t *in, uint32_t *out,
                                        unsigned w)
{
	const __m256i mask = _mm256_set1_epi32((int)width_mask(w));
	__m256i *op = (__m256i *)out;
#define NS_STEP(m) _mm256_storeu_si256(op + (m), avx2_rows(in, w, (m), mask));
	NS_REP16(NS_STEP)
#undef NS_STEP
}

static NS_AI NS_AVX2 void avx2_unpack_delta_w(const uint8_t *in, uint32_t *out,
                                              unsigned w, uint32_t base)
{
	const __m256i mask = _mm256_set1_epi32((int)width_mask(w));
	const __m256i last = _mm256_set1_epi32(7);
	__m256i prev = _mm256_set1_epi32((int)base);
	__m256i *op = (__m256i *)out;
	/* In-lane prefix sums, then lane 3 of the low half carried into the
	** high half; prev (the running total, broadcast) is a single vpaddd
	** chain.  12 vector ops per eight values; on Zen 4 the delta kernel is
	** bound by vector ALU throughput, and variants with fewer shuffles but
	** more ops (a 64-bit shift for the first prefix step, a blend for the
	** carry) measured 5-10% slower. */
#define NS_STEP(m)                                                         \
	{                                                                      \
		__m256i x_ = avx2_rows(in, w, (m), mask);                          \
		x_ = _mm256_add_epi32(x_, _mm256_slli_si256(x_, 4));               \
		x_ = _mm256_add_epi32(x_, _mm256_slli_si256(x_, 8));               \
		__m256i c_ = _mm256_shuffle_epi32(x_, 0xff);                       \
		x_ = _mm256_add_epi32(x_, _mm256_permute2x128_si256(c_, c_, 0x08)); \
		_mm256_storeu_si256(op + (m), _mm256_add_epi32(x_, prev));         \
		prev = _mm256_add_epi32(prev, _mm256_permutevar8x32_epi32(x_, last)); \
	}
	NS_REP16(NS_STEP)
#undef NS_STEP
}

#define NS_DEF(W)                                                          \
	static NS_AVX2 void avx2_unpack_##W(const uint8_t *in, uint32_t *out)  \
	{                                                                      \
		avx2_unpack_w(in, out, W);                                         \
	}                                                                      \
	static NS_AVX2 void avx2_unpack_delta_##W(const uint8_t *in,           \
	                                          uint32_t base, uint32_t *out) \
	{                                                                      \
		avx2_unpack_delta_w(in, out, W, base);                             \
	}
NS_WIDTHS(NS_DEF)
#undef NS_DEF

static NS_AVX2 size_t avx2_prefix(const uint32_t *in, size_t n,
                                   uint32_t base, uint64_t limit,
                                   uint32_t *out, uint32_t *or_acc, int *zero)
{
	const __m256i z = _mm256_setzero_si256(), last = _mm256_set1_epi32(7);
	__m256i prev = _mm256_set1_epi32((int)base), ors = z, eq = z;
	size_t i = 0;
	uint32_t acc = base;
	while (i + 8 <= n) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(in + i));
		ors = _mm256_or_si256(ors, x);
		eq = _mm256_or_si256(eq, _mm256_cmpeq_epi32(x, z));
		x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
		x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
		__m256i c = _mm256_shuffle_epi32(x, 0xff);
		x = _mm256_add_epi32(x, _mm256_permute2x128_si256(c, c, 0x08));
		x = _mm256_add_epi32(x, prev);
		_mm256_storeu_si256((__m256i *)(out + i), x);
		prev = _mm256_permutevar8x32_epi32(x, last);
		i += 8;
		acc = (uint32_t)_mm256_cvtsi256_si32(prev);
		if (acc >= limit) break;
	}
	__m128i o = _mm_or_si128(_mm256_castsi256_si128(ors),
	                         _mm256_extracti128_si256(ors, 1));
	o = _mm_or_si128(o, _mm_shuffle_epi32(o, 0x4e));
	o = _mm_or_si128(o, _mm_shuffle_epi32(o, 0xb1));
	*or_acc |= (uint32_t)_mm_cvtsi128_si32(o);
	*zero |= _mm256_movemask_epi8(eq) != 0;
	if (acc < limit || !i)
		i += scalar_prefix(in + i, n - i, acc, limit, out + i, or_acc, zero);
	return i;
}

static NS_AVX2 void avx2_prefix128(uint32_t *out, uint32_t base)
{
	const __m256i last = _mm256_set1_epi32(7);
	__m256i prev = _mm256_set1_epi32((int)base);
	__m256i *op = (__m256i *)out;
	for (unsigned k = 0; k < NS_BLOCK / 8; k++) {
		__m256i x = _mm256_loadu_si256(op + k);
		x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
		x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
		__m256i c = _mm256_shuffle_epi32(x, 0xff);
		x = _mm256_add_epi32(x, _mm256_permute2x128_si256(c, c, 0x08));
		_mm256_storeu_si256(op + k, _mm256_add_epi32(x, prev));
		/* the running total is one vpaddd chain; permutes stay off it */
		prev = _mm256_add_epi32(prev, _mm256_permutevar8x32_epi32(x, last));
	}
}

/* AVX-512 (F, BW, VL, VBMI): packed tails with byte permutes and masked
** loads and stores, block prefix sums 16 values at a time.  The masked
** loads read only the bytes their mask selects (the others are neither
** read nor able to fault), so NS_DECODE_PADDING stays 0. */
#define NS_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi")))

/* Prefix sum of the 16 lanes of x. */
static NS_AI NS_AVX512 __m512i avx512_prefix16(__m512i x)
{
	const __m512i z = _mm512_setzero_si512();
	x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, z, 15));
	x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, z, 14));
	x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, z, 12));
	return _mm512_add_epi32(x, _mm512_alignr_epi32(x, z, 8));
}

static NS_AVX512 void avx512_prefix128(uint32_t *out, uint32_t base)
{
	const __m512i last = _mm512_set1_epi32(15);
	__m512i prev = _mm512_set1_epi32((int)base);
	for (unsigned k = 0; k < NS_BLOCK; k += 16) {
		__m512i x = avx512_prefix16(_mm512_loadu_si512(out + k));
		_mm512_storeu_si512(out + k, _mm512_add_epi32(x, prev));
		prev = _mm512_add_epi32(prev, _mm512_permutexvar_epi32(last, x));
	}
}

/* Packed tail, widths 1..25: 16 values (2w bytes) a step.  Value j of a
** step starts at bit j*w, so its 4 bytes from byte (j*w)/8 hold it whole
** (7 + 25 <= 32 bits); vpermb gathers them into lane j, vpsrlvd aligns. */
static NS_AI NS_AVX512 void avx512_ptail_w(const uint8_t *q, size_t bytes,
                                           size_t n, unsigned w, int delta,
                                           uint32_t base, uint32_t *out)
{
	const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	                                       11, 12, 13, 14, 15);
	const __m512i bitpos = _mm512_mullo_epi32(iota, _mm512_set1_epi32((int)w));
	const __m512i shift = _mm512_and_si512(bitpos, _mm512_set1_epi32(7));
	const __m512i idx = _mm512_add_epi32(
	    _mm512_mullo_epi32(_mm512_srli_epi32(bitpos, 3),
	                       _mm512_set1_epi32(0x01010101)),
	    _mm512_set1_epi32(0x03020100));
	const __m512i mask = _mm512_set1_epi32((int)width_mask(w));
	const __m512i last = _mm512_set1_epi32(15);
	__m512i prev = _mm512_set1_epi32((int)base);
	const size_t step = 2 * (size_t)w;
	size_t left = bytes; /* > 0 while i < n: value i starts before the end */
	for (size_t i = 0; i < n; i += 16, q += step, left -= step) {
		__mmask64 lm = left >= 64 ? ~(__mmask64)0
		                          : ((__mmask64)1 << left) - 1;
		__m512i x = _mm512_maskz_loadu_epi8(lm, q);
		x = _mm512_permutexvar_epi8(idx, x);
		x = _mm512_and_si512(_mm512_srlv_epi32(x, shift), mask);
		if (delta) {
			x = avx512_prefix16(x);
			__m512i t = _mm512_permutexvar_epi32(last, x);
			x = _mm512_add_epi32(x, prev);
			prev = _mm512_add_epi32(prev, t);
		}
		size_t rem = n - i;
		__mmask16 sm = rem >= 16 ? (__mmask16)0xffff
		                         : (__mmask16)((1u << rem) - 1);
		_mm512_mask_storeu_epi32(out + i, sm, x);
	}
}

static NS_AVX512 void avx512_ptail(const uint8_t *q, size_t bytes, size_t n,
                                   unsigned w, uint32_t base, uint32_t *out)
{
	if (w - 1 < 25) avx512_ptail_w(q, bytes, n, w, 0, 0, out);
	else scalar_ptail_w(q, bytes, n, w, 0, 0, out);
	(void)base;
}

static NS_AVX512 void avx512_ptail_delta(const uint8_t *q, size_t bytes,
                                         size_t n, unsigned w, uint32_t base,
                                         uint32_t *out)
{
	if (w - 1 < 25) avx512_ptail_w(q, bytes, n, w, 1, base, out);
	else scalar_ptail_w(q, bytes, n, w, 1, base, out);
}

#endif /* NS_CODEC_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                 */
/* ------------------------------------------------------------------------ */

/* Width-0 blocks are the same on every kernel. */
static void zero_unpack(const uint8_t *in, uint32_t *out)
{
	(void)in;
	memset(out, 0, NS_BLOCK * sizeof *out);
}

static void zero_unpack_delta(const uint8_t *in, uint32_t base, uint32_t *out)
{
	(void)in;
	for (unsigned i = 0; i < NS_BLOCK; i++) out[i] = base;
}

static void zero_pack(const uint32_t *in, uint8_t *out)
{
	(void)in;
	(void)out;
}

#define NS_DEF(W)                                                          \
	static void scalar_unpack_##W(const uint8_t *in, uint32_t *out)        \
	{                                                                      \
		scalar_unpack(W, in, out);                                         \
	}                                                                      \
	static void scalar_unpack_delta_##W(const uint8_t *in, uint32_t base,  \
	                                    uint32_t *out)                     \
	{                                                                      \
		scalar_unpack_delta(W, in, base, out);                             \
	}                                                                      \
	static void scalar_pack_##W(const uint32_t *in, uint8_t *out)          \
	{                                                                      \
		scalar_pack(W, in, out);                                           \
	}
NS_WIDTHS(NS_DEF)
#undef NS_DEF

/* A kernel: one routine per width 0..32 for each operation.  `in` points
** just past the header byte; the caller has checked the length. */
typedef struct kernel {
	const char *name;
	void (*unpack[33])(const uint8_t *in, uint32_t *out);
	void (*unpack_delta[33])(const uint8_t *in, uint32_t base, uint32_t *out);
	void (*pack[33])(const uint32_t *in, uint8_t *out);
	size_t (*prefix)(const uint32_t *in, size_t n, uint32_t base,
	                 uint64_t limit, uint32_t *out, uint32_t *or_acc,
	                 int *zero);
	void (*prefix128)(uint32_t *out, uint32_t base);
	/* packed tails: ptail[0] plain, ptail[1] delta (base unused by [0]) */
	void (*ptail[2])(const uint8_t *q, size_t bytes, size_t n, unsigned w,
	                 uint32_t base, uint32_t *out);
} kernel;

#define NS_TAB(prefix, op)                                                 \
	{                                                                      \
		zero_##op, prefix##op##_1, prefix##op##_2, prefix##op##_3,         \
		    prefix##op##_4, prefix##op##_5, prefix##op##_6, prefix##op##_7, \
		    prefix##op##_8, prefix##op##_9, prefix##op##_10,               \
		    prefix##op##_11, prefix##op##_12, prefix##op##_13,             \
		    prefix##op##_14, prefix##op##_15, prefix##op##_16,             \
		    prefix##op##_17, prefix##op##_18, prefix##op##_19,             \
		    prefix##op##_20, prefix##op##_21, prefix##op##_22,             \
		    prefix##op##_23, prefix##op##_24, prefix##op##_25,             \
		    prefix##op##_26, prefix##op##_27, prefix##op##_28,             \
		    prefix##op##_29, prefix##op##_30, prefix##op##_31,             \
		    prefix##op##_32                                                \
	}

static const kernel kernel_scalar = {
    "scalar", NS_TAB(scalar_, unpack), NS_TAB(scalar_, unpack_delta),
    NS_TAB(scalar_, pack), scalar_prefix, scalar_prefix128,
    {scalar_ptail, scalar_ptail_delta}};
#if NS_CODEC_X86
static const kernel kernel_sse2 = {
    "sse2", NS_TAB(sse2_, unpack), NS_TAB(sse2_, unpack_delta),
    NS_TAB(sse2_, pack), sse2_prefix, sse2_prefix128,
    {scalar_ptail, scalar_ptail_delta}};
/* AVX2 packs with the SSE2 routines: encoding speed matters less, and the
** bytes are the same whoever writes them. */
static const kernel kernel_avx2 = {
    "avx2", NS_TAB(avx2_, unpack), NS_TAB(avx2_, unpack_delta),
    NS_TAB(sse2_, pack), avx2_prefix, avx2_prefix128,
    {scalar_ptail, scalar_ptail_delta}};
/* AVX-512: the AVX2 block kernels for now, its own tails and sums. */
static const kernel kernel_avx512 = {
    "avx512", NS_TAB(avx2_, unpack), NS_TAB(avx2_, unpack_delta),
    NS_TAB(sse2_, pack), avx2_prefix, avx512_prefix128,
    {avx512_ptail, avx512_ptail_delta}};
#endif
#undef NS_TAB

/* Kernels from slowest to fastest; the best one the CPU runs is chosen. */
static const kernel *const kernels[] = {
    &kernel_scalar,
#if NS_CODEC_X86
    &kernel_sse2, &kernel_avx2, &kernel_avx512,
#endif
};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static _Atomic(const kernel *) kern_active; /* NULL before first use */
static _Atomic(const kernel *) kern_auto;

static const kernel *kernel_detect(void)
{
	const kernel *k = atomic_load_explicit(&kern_auto, memory_order_relaxed);
	if (k) return k;
	k = &kernel_scalar;
#if NS_CODEC_X86
	__builtin_cpu_init();
	k = !__builtin_cpu_supports("avx2")   ? &kernel_sse2
	    : __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	            __builtin_cpu_supports("avx512vl") &&
	            __builtin_cpu_supports("avx512vbmi")
	        ? &kernel_avx512
	        : &kernel_avx2;
#endif
	/* Idempotent: a race only repeats the work. */
	atomic_store_explicit(&kern_auto, k, memory_order_relaxed);
	return k;
}

static NS_AI const kernel *kernel_get(void)
{
	const kernel *k = atomic_load_explicit(&kern_active, memory_order_relaxed);
	if (NS_UNLIKELY(!k)) {
		const kernel *none = NULL;
		k = kernel_detect();
		/* Lose to a concurrent ns_codec_set_impl(). */
		if (!atomic_compare_exchange_strong(&kern_active, &none, k)) k = none;
	}
	return k;
}

const char *ns_codec_impl(void) { return kernel_get()->name; }

void ns_codec_force_scalar(int on)
{
	atomic_store_explicit(&kern_active, on ? &kernel_scalar : kernel_detect(),
	                      memory_order_relaxed);
}

int ns_codec_set_impl(const char *name)
{
	const kernel *best = kernel_detect(), *k = NULL;
	if (!name || strcmp(name, "auto") == 0) {
		k = best;
	} else {
		for (size_t i = 0; i < N_KERNELS; i++) {
			if (strcmp(name, kernels[i]->name) == 0) k = kernels[i];
			if (kernels[i] == best) break; /* faster ones: CPU lacks them */
		}
		if (!k) return NS_EINVAL;
	}
	atomic_store_explicit(&kern_active, k, memory_order_relaxed);
	return NS_OK;
}

/* ------------------------------------------------------------------------ */
/* Blocks                                                                   */
/* ------------------------------------------------------------------------ */

unsigned ns_bits32(uint32_t v)
{
#if defined(__GNUC__)
	return v ? 32u - (unsigned)__builtin_clz(v) : 0u;
#else
	unsigned n = 0;
	while (v) {
		n++;
		v >>= 1;
	}
	return n;
#endif
}

unsigned ns_pack128_width(const uint32_t in[NS_BLOCK])
{
	uint32_t acc = 0;
	for (unsigned i = 0; i < NS_BLOCK; i++) acc |= in[i];
	return ns_bits32(acc);
}

size_t ns_pack128_size(unsigned w) { return 1 + 16 * (size_t)w; }

size_t ns_pack128_bound(void) { return NS_PACK128_BOUND; }

size_t ns_pack128(const uint32_t in[NS_BLOCK], uint8_t *out)
{
	unsigned w = ns_pack128_width(in);
	out[0] = (uint8_t)w;
	kernel_get()->pack[w](in, out + 1);
	return ns_pack128_size(w);
}

size_t ns_pack128_delta(const uint32_t in[NS_BLOCK], uint32_t base,
                        uint8_t *out)
{
	uint32_t g[NS_BLOCK];
	g[0] = in[0] - base;
	for (unsigned i = 1; i < NS_BLOCK; i++) g[i] = in[i] - in[i - 1];
	return ns_pack128(g, out);
}

/* Validates the header at *p; on success *w is the width. */
static NS_AI int block_check(const uint8_t *p, const uint8_t *end,
                             unsigned *w)
{
	if (NS_UNLIKELY(p >= end)) return NS_ECORRUPT;
	unsigned b = p[0];
	if (NS_UNLIKELY(b > 32 || (size_t)(end - p) - 1 < 16 * (size_t)b))
		return NS_ECORRUPT;
	*w = b;
	return NS_OK;
}

int ns_unpack128(const uint8_t **p, const uint8_t *end,
                 uint32_t out[NS_BLOCK])
{
	const uint8_t *in = *p;
	unsigned w;
	NS_TRY(block_check(in, end, &w));
	kernel_get()->unpack[w](in + 1, out);
	*p = in + ns_pack128_size(w);
	return NS_OK;
}

int ns_unpack128_delta(const uint8_t **p, const uint8_t *end, uint32_t base,
                       uint32_t out[NS_BLOCK])
{
	const uint8_t *in = *p;
	unsigned w;
	NS_TRY(block_check(in, end, &w));
	kernel_get()->unpack_delta[w](in + 1, base, out);
	*p = in + ns_pack128_size(w);
	return NS_OK;
}

int ns_unpack128_skip(const uint8_t **p, const uint8_t *end)
{
	unsigned w;
	NS_TRY(block_check(*p, end, &w));
	*p += ns_pack128_size(w);
	return NS_OK;
}

size_t ns_prefix32(const uint32_t *in, size_t n, uint32_t base, uint64_t limit,
                   uint32_t *out, int *ok)
{
	uint32_t ors = 0;
	int zero = 0;
	/* a few values (a rare word's positions) are not worth a dispatch */
	size_t m = n < NS_PREFIX_STEP
	               ? scalar_prefix(in, n, base, limit, out, &ors, &zero)
	               : kernel_get()->prefix(in, n, base, limit, out, &ors, &zero);
	/* no sum can wrap when base + m * (every input's bits) fits: the
	** common case; otherwise compare the sums one by one */
	if (zero) {
		*ok = 0;
	} else if ((uint64_t)base + (uint64_t)ors * m > UINT32_MAX) {
		uint32_t p = base;
		for (size_t j = 0; j < m; j++) {
			if (out[j] <= p) *ok = 0;
			p = out[j];
		}
	}
	return m;
}

/* ------------------------------------------------------------------------ */
/* Variable tails                                                           */
/* ------------------------------------------------------------------------ */

size_t ns_vtail_bound(size_t n) { return NS_VARINT32_MAX * n; }

size_t ns_vtail_put(const uint32_t *in, size_t n, uint8_t *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) len += ns_varint_put(out + len, in[i]);
	return len;
}

int ns_vtail_get(const uint8_t **p, const uint8_t *end, size_t n,
                 uint32_t *out)
{
	const uint8_t *q = *p;
	for (size_t i = 0; i < n; i++) NS_TRY(varint_get32(&q, end, &out[i]));
	*p = q;
	return NS_OK;
}

int ns_vtail_get_delta(const uint8_t **p, const uint8_t *end, size_t n,
                       uint32_t base, uint32_t *out)
{
	const uint8_t *q = *p;
	uint32_t acc = base, g;
	for (size_t i = 0; i < n; i++) {
		NS_TRY(varint_get32(&q, end, &g));
		out[i] = acc += g;
	}
	*p = q;
	return NS_OK;
}

/* ------------------------------------------------------------------------ */
/* Patched blocks (PFor): a width b chosen for the bulk of the 128 values;   */
/* the few larger ones are exceptions whose high bits are stored apart.      */
/* ------------------------------------------------------------------------ */
/*
**   pfor-block:
**       u8: b                  (0..32, bits of the packed low parts)
**       u8: n_exc              (0..128; 0 when b == 32)
**       if n_exc > 0: varint: exc_len  (bytes of the exception area)
**       <packed-block>: v[i] & (2^b - 1) for all 128 values
**       exception area: n_exc-times { u8: index }  (strictly increasing)
**                       n_exc-times { varint32: v[index] >> b }  (> 0)
**
** The writer picks the b that makes the block smallest.  A block without
** exceptions decodes exactly like a plain packed block after two bytes.
*/

size_t ns_pfor_bound(void) { return NS_PFOR_BOUND; }

size_t ns_pfor_pack128(const uint32_t in[NS_BLOCK], uint8_t *out)
{
	unsigned bits[NS_BLOCK];
	size_t count[33] = {0};
	for (int i = 0; i < NS_BLOCK; i++) {
		bits[i] = ns_bits32(in[i]);
		count[bits[i]]++;
	}
	/* cost(b) = 16 b + exceptions (index byte + varint of v >> b) + the
	** exc_len varint; the varint cost is computed from the bit length */
	size_t best_cost = SIZE_MAX;
	unsigned best = 32;
	for (unsigned b = 0; b <= 32; b++) {
		size_t cost = 16 * (size_t)b, n_exc = 0;
		for (unsigned k = b + 1; k <= 32; k++) {
			if (!count[k]) continue;
			n_exc += count[k];
			cost += count[k] * (1 + (k - b + 6) / 7);
		}
		if (n_exc) cost += 2;
		if (cost < best_cost) {
			best_cost = cost;
			best = b;
		}
	}
	unsigned b = best;
	uint32_t low[NS_BLOCK];
	uint32_t mask = b >= 32 ? UINT32_MAX : ((uint32_t)1 << b) - 1;
	uint8_t idx[NS_BLOCK];
	uint8_t hi[NS_BLOCK * NS_VARINT32_MAX];
	size_t n_exc = 0, hl = 0;
	for (int i = 0; i < NS_BLOCK; i++) {
		low[i] = in[i] & mask;
		if (b < 32 && (in[i] >> b)) {
			idx[n_exc++] = (uint8_t)i;
			hl += ns_varint_put(hi + hl, in[i] >> b);
		}
	}
	uint8_t *o = out;
	*o++ = (uint8_t)b;
	*o++ = (uint8_t)n_exc;
	if (n_exc) o += ns_varint_put(o, n_exc + hl);
	o += ns_pack128(low, o);
	memcpy(o, idx, n_exc);
	o += n_exc;
	memcpy(o, hi, hl);
	o += hl;
	return (size_t)(o - out);
}

/* Reads the header: width, exception count, exception area length. */
static inline __attribute__((always_inline)) int
pfor_head(const uint8_t **p, const uint8_t *end, unsigned *b,
                     unsigned *n_exc, uint32_t *exc_len)
{
	const uint8_t *q = *p;
	if (end - q < 2 || q[0] > 32 || q[1] > NS_BLOCK || (q[0] == 32 && q[1]))
		return NS_ECORRUPT;
	*b = q[0];
	*n_exc = q[1];
	q += 2;
	*exc_len = 0;
	if (*n_exc) {
		if (varint_get32(&q, end, exc_len) || *exc_len < 2 * *n_exc ||
		    *exc_len > *n_exc * (1 + NS_VARINT32_MAX))
			return NS_ECORRUPT;
	}
	*p = q;
	return NS_OK;
}

/* Applies the exceptions at *p (exc_len bytes) to out. */
static int pfor_patch(const uint8_t *q, uint32_t exc_len, unsigned b,
                      unsigned n_exc, uint32_t out[NS_BLOCK])
{
	const uint8_t *idx = q, *hi = q + n_exc, *end = q + exc_len;
	/* every check is folded into `bad` (b < 32 here: pfor_head() rejects
	** exceptions at width 32); h must be 1 .. UINT32_MAX >> b */
	const uint32_t hmax = UINT32_MAX >> b;
	unsigned bad = 0;
	int prev = -1;
	if (exc_len == 2 * n_exc) {
		/* the common case: every high part is a 1-byte varint */
		unsigned all = 0;
		for (unsigned k = 0; k < n_exc; k++) {
			unsigned i = idx[k];
			uint32_t h = hi[k];
			all |= h;
			bad |= ((int)i <= prev) | (i >= NS_BLOCK) | (h - 1 >= hmax);
			prev = (int)i;
			out[i & (NS_BLOCK - 1)] |= h << b;
		}
		return bad || all >= 0x80 ? NS_ECORRUPT : NS_OK;
	}
	for (unsigned k = 0; k < n_exc; k++) {
		unsigned i = idx[k];
		uint32_t h;
		if (varint_get32(&hi, end, &h)) return NS_ECORRUPT;
		bad |= ((int)i <= prev) | (i >= NS_BLOCK) | (h - 1 >= hmax);
		prev = (int)i;
		out[i & (NS_BLOCK - 1)] |= h << b;
	}
	return bad || hi != end ? NS_ECORRUPT : NS_OK;
}

int ns_pfor_unpack128(const uint8_t **p, const uint8_t *end,
                      uint32_t out[NS_BLOCK])
{
	const uint8_t *q = *p;
	unsigned b, n_exc;
	uint32_t exc_len;
	NS_TRY(pfor_head(&q, end, &b, &n_exc, &exc_len));
	NS_TRY(ns_unpack128(&q, end, out));
	if (n_exc) {
		if ((size_t)(end - q) < exc_len) return NS_ECORRUPT;
		NS_TRY(pfor_patch(q, exc_len, b, n_exc, out));
		q += exc_len;
	}
	*p = q;
	return NS_OK;
}

int ns_pfor_unpack128_delta(const uint8_t **p, const uint8_t *end,
                            uint32_t base, uint32_t out[NS_BLOCK])
{
	const uint8_t *q = *p;
	unsigned b, n_exc;
	uint32_t exc_len;
	NS_TRY(pfor_head(&q, end, &b, &n_exc, &exc_len));
	if (!n_exc) {
		NS_TRY(ns_unpack128_delta(&q, end, base, out));
		*p = q;
		return NS_OK;
	}
	unsigned w;
	NS_TRY(block_check(q, end, &w));
	const kernel *k = kernel_get();
	k->unpack[w](q + 1, out);
	q += ns_pack128_size(w);
	if ((size_t)(end - q) < exc_len) return NS_ECORRUPT;
	NS_TRY(pfor_patch(q, exc_len, b, n_exc, out));
	q += exc_len;
	k->prefix128(out, base);
	*p = q;
	return NS_OK;
}

int ns_pfor_skip128(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	unsigned b, n_exc;
	uint32_t exc_len;
	unsigned w;
	NS_TRY(pfor_head(&q, end, &b, &n_exc, &exc_len));
	NS_TRY(block_check(q, end, &w));
	q += ns_pack128_size(w);
	if ((size_t)(end - q) < exc_len) return NS_ECORRUPT;
	*p = q + exc_len;
	return NS_OK;
}

/* ------------------------------------------------------------------------ */
/* Short lists (n < NS_BLOCK): bit-packed in order, or varints when tiny.    */
/* ------------------------------------------------------------------------ */
/*
**   ptail(n):   if n <= NS_PTAIL_VARINT: n-times { varint32 }
**               else: u8: w (0..32), then ceil(n * w / 8) bytes holding the
**                     n values of w bits each, value i at bits i*w .. i*w+w-1
**                     counted from the least significant bit of byte 0.
*/

size_t ns_ptail_bound(size_t n) { return 1 + n * NS_VARINT32_MAX; }

size_t ns_ptail_put(const uint32_t *in, size_t n, uint8_t *out)
{
	if (n <= NS_PTAIL_VARINT) return ns_vtail_put(in, n, out);
	uint32_t or = 0;
	for (size_t i = 0; i < n; i++) or |= in[i];
	unsigned w = ns_bits32(or);
	out[0] = (uint8_t)w;
	size_t bytes = (n * w + 7) / 8;
	memset(out + 1, 0, bytes);
	uint64_t acc = 0;
	unsigned have = 0;
	uint8_t *o = out + 1;
	for (size_t i = 0; i < n; i++) {
		acc |= (uint64_t)in[i] << have;
		have += w;
		while (have >= 8) {
			*o++ = (uint8_t)acc;
			acc >>= 8;
			have -= 8;
		}
	}
	if (have) *o++ = (uint8_t)acc;
	return (size_t)(o - out);
}

/* Checks a packed tail's header and length (n > NS_PTAIL_VARINT). */
static NS_AI int ptail_head(const uint8_t *q, const uint8_t *end, size_t n,
                            unsigned *w, size_t *bytes)
{
	if (NS_UNLIKELY(q >= end || q[0] > 32)) return NS_ECORRUPT;
	*w = q[0];
	*bytes = (n * *w + 7) / 8;
	if (NS_UNLIKELY((size_t)(end - q) - 1 < *bytes)) return NS_ECORRUPT;
	return NS_OK;
}

int ns_ptail_get(const uint8_t **p, const uint8_t *end, size_t n, uint32_t *out)
{
	if (n <= NS_PTAIL_VARINT) return ns_vtail_get(p, end, n, out);
	const uint8_t *q = *p;
	unsigned w;
	size_t bytes;
	NS_TRY(ptail_head(q, end, n, &w, &bytes));
	kernel_get()->ptail[0](q + 1, bytes, n, w, 0, out);
	*p = q + 1 + bytes;
	return NS_OK;
}

int ns_ptail_get_delta(const uint8_t **p, const uint8_t *end, size_t n,
                       uint32_t base, uint32_t *out)
{
	if (n <= NS_PTAIL_VARINT) return ns_vtail_get_delta(p, end, n, base, out);
	const uint8_t *q = *p;
	unsigned w;
	size_t bytes;
	NS_TRY(ptail_head(q, end, n, &w, &bytes));
	kernel_get()->ptail[1](q + 1, bytes, n, w, base, out);
	*p = q + 1 + bytes;
	return NS_OK;
}
