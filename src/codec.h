/*
** codec.h -- the posting-list integer codec: LEB128 varints, bit-packed
** blocks of NS_BLOCK (128) uint32 values in a 4-lane "vertical" layout,
** patched blocks (PFor: a packed block plus exceptions) as the index stores
** every full block, and packed tails for the final partial block of a list
** (varint tails are the building block of the tiniest).
**
** Interface to code in codec.c.  The byte layout is specified in the big
** comment at the top of codec.c (and in docs/FORMAT.md#integer-codec).
**
** Conventions
** -----------
** - Encoders write into caller-owned buffers sized with the *_bound()
**   functions (or NS_PACK128_BOUND / NS_VARINT_MAX); they never allocate
**   and never fail.
** - Decoders take a cursor `*p` and the end of the readable data `end`.
**   They check every length against `end`: a damaged or truncated input
**   gives NS_ECORRUPT, never a crash.  On success *p is advanced past what
**   was consumed; on error *p is left unchanged and the contents of the
**   output array are unspecified.
** - NS_DECODE_PADDING is 0: no decoder reads a single byte at or past `end`,
**   on any kernel (scalar, SSE2, AVX2, AVX-512).  Readers need no zero
**   padding.
** - Block decoding is dispatched at run time to the fastest kernel this CPU
**   supports.  Every kernel reads and writes exactly the same bytes.
** - Thread safety: all functions may be called from any thread.  The kernel
**   override (ns_codec_force_scalar / ns_codec_set_impl) is process-wide
**   and meant for tests and benchmarks.
*/
#ifndef NS_CODEC_H
#define NS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define NS_BLOCK 128          /* integers per packed block */
#define NS_DECODE_PADDING 0   /* bytes a decoder may read past `end`: none */
#define NS_VARINT_MAX 10      /* longest varint (a uint64_t) */
#define NS_VARINT32_MAX 5     /* longest varint holding a uint32_t */
#define NS_PACK128_BOUND (1 + 16 * 32) /* largest packed block: 513 bytes */

/* ------------------------------------------------------------------------ */
/* Varints (unsigned LEB128)                                                */
/* ------------------------------------------------------------------------ */

/*! ns_varint_put() : writes v as a minimal LEB128 varint.
** `out` must have room for NS_VARINT_MAX bytes (or ns_varint_len(v)).
** @return bytes written, 1..10. */
size_t ns_varint_put(uint8_t *out, uint64_t v);

/*! ns_varint_len() : @return the number of bytes ns_varint_put(v) writes. */
size_t ns_varint_len(uint64_t v);

/*! ns_varint_get() : reads one varint from [*p, end) into *v and advances *p.
** @return NS_OK, or NS_ECORRUPT when the input is truncated, longer than
** 10 bytes, holds more than 64 bits, or is not minimal (a final 0x00 byte
** after a continuation byte: every value has exactly one encoding). */
int ns_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/*! ns_varint_get32() : same as ns_varint_get() for a value that must fit
** in 32 bits; NS_ECORRUPT if it is > UINT32_MAX. */
int ns_varint_get32(const uint8_t **p, const uint8_t *end, uint32_t *v);

/* ------------------------------------------------------------------------ */
/* Bit-packed blocks of NS_BLOCK values                                     */
/* ------------------------------------------------------------------------ */

/*! ns_bits32() : @return the bit width of v: 0 for 0, else 1 + floor(log2 v). */
unsigned ns_bits32(uint32_t v);

/*! ns_pack128_width() : @return the bit width of the largest of in[0..127],
** which is the header byte ns_pack128() writes. */
unsigned ns_pack128_width(const uint32_t in[NS_BLOCK]);

/*! ns_pack128_size() : @return the size of a packed block of width w
** (0..32): 1 + 16*w bytes. */
size_t ns_pack128_size(unsigned w);

/*! ns_pack128_bound() : @return the largest packed block, 1 + 16*32 = 513
** bytes (also NS_PACK128_BOUND). */
size_t ns_pack128_bound(void);

/*! ns_pack128() : packs in[0..127] with w = ns_pack128_width(in): one header
** byte w, then exactly 16*w bytes.  `out` needs ns_pack128_size(w) bytes
** (at most NS_PACK128_BOUND).
** @return bytes written, 1 + 16*w. */
size_t ns_pack128(const uint32_t in[NS_BLOCK], uint8_t *out);

/*! ns_pack128_delta() : packs the gaps of an ascending run: in[0] - base,
** in[1] - in[0], ..., computed with 32-bit wrapping arithmetic, so that
** ns_unpack128_delta(.., base, ..) gives back in[].
** @return bytes written, 1 + 16*w. */
size_t ns_pack128_delta(const uint32_t in[NS_BLOCK], uint32_t base,
                        uint8_t *out);

/*! ns_unpack128() : decodes one packed block from [*p, end) into out[0..127]
** and advances *p past it.
** @return NS_OK, or NS_ECORRUPT when the header byte is > 32 or fewer than
** 1 + 16*w bytes remain. */
int ns_unpack128(const uint8_t **p, const uint8_t *end,
                 uint32_t out[NS_BLOCK]);

/*! ns_unpack128_delta() : fused unpack and prefix sum.  Decodes gaps
** g0..g127 and writes out[0] = base + g0, out[i] = out[i-1] + gi, with
** 32-bit wrapping arithmetic (callers validate monotonicity if needed).
** @return NS_OK or NS_ECORRUPT, as ns_unpack128(). */
int ns_unpack128_delta(const uint8_t **p, const uint8_t *end, uint32_t base,
                       uint32_t out[NS_BLOCK]);

/*! ns_unpack128_skip() : validates the header and length of one packed
** block and advances *p past it without decoding.
** @return NS_OK or NS_ECORRUPT, as ns_unpack128(). */
int ns_unpack128_skip(const uint8_t **p, const uint8_t *end);

/*! ns_prefix32() : running sum with an early stop: out[i] = base + in[0] +
** ... + in[i] (32-bit wrapping) for i = 0, 1, ..., until the first sum >=
** limit, or up to NS_PREFIX_STEP - 1 values past it (the kernels work a
** vector at a time), or n.  limit = UINT64_MAX gives all n.  Clears *ok
** (never sets it) when the sums written do not increase strictly: an in[i]
** is 0 or a sum wrapped (and then where it stops is unspecified).  out
** may be in.
** @return the number of sums written, m <= n: m == n, or (when *ok holds)
** out[m-1] >= limit; m >= 1 when n >= 1. */
#define NS_PREFIX_STEP 8
size_t ns_prefix32(const uint32_t *in, size_t n, uint32_t base, uint64_t limit,
                   uint32_t *out, int *ok);

/* ------------------------------------------------------------------------ */
/* Variable tail: the last n < NS_BLOCK values of a list, as n varints      */
/* ------------------------------------------------------------------------ */

/*! ns_vtail_bound() : @return the most bytes ns_vtail_put(.., n, ..) writes:
** 5*n. */
size_t ns_vtail_bound(size_t n);

/*! ns_vtail_put() : writes in[0..n-1] as n varints (n == 0 writes nothing).
** Meant for n < NS_BLOCK, but any n works.  @return bytes written. */
size_t ns_vtail_put(const uint32_t *in, size_t n, uint8_t *out);

/*! ns_vtail_get() : reads n varints (each <= UINT32_MAX) into out[0..n-1]
** and advances *p.  @return NS_OK or NS_ECORRUPT (as ns_varint_get32()). */
int ns_vtail_get(const uint8_t **p, const uint8_t *end, size_t n,
                 uint32_t *out);

/*! ns_vtail_get_delta() : as ns_vtail_get(), then prefix sum from base with
** 32-bit wrapping arithmetic: out[0] = base + g0, out[i] = out[i-1] + gi. */
int ns_vtail_get_delta(const uint8_t **p, const uint8_t *end, size_t n,
                       uint32_t base, uint32_t *out);

/* ------------------------------------------------------------------------ */
/* Kernel selection                                                         */
/* ------------------------------------------------------------------------ */

/*! ns_codec_impl() : @return the name of the block kernel in use:
** "avx512", "avx2", "sse2" or "scalar" (static string). */
/*! Patched bit-packed blocks (PFor) of NS_BLOCK values: a width chosen for
** the bulk of the values, the larger ones stored apart as exceptions (see
** codec.c and docs/FORMAT.md#integer-codec).  Used for every full block of
** the index: doc gaps, tf - 1 and positions. */
#define NS_PFOR_BOUND (2 + NS_VARINT32_MAX + NS_PACK128_BOUND + \
                       NS_BLOCK * (1 + NS_VARINT32_MAX))
size_t ns_pfor_bound(void);
size_t ns_pfor_pack128(const uint32_t in[NS_BLOCK], uint8_t *out);
int ns_pfor_unpack128(const uint8_t **p, const uint8_t *end,
                      uint32_t out[NS_BLOCK]);
/* Unpack, patch, then prefix sum from base (32-bit wrapping). */
int ns_pfor_unpack128_delta(const uint8_t **p, const uint8_t *end,
                            uint32_t base, uint32_t out[NS_BLOCK]);
/* Moves *p past one block without decoding it. */
int ns_pfor_skip128(const uint8_t **p, const uint8_t *end);

/*! Short lists (n < NS_BLOCK, n known to the reader): bit-packed in order
** after a width byte, or plain varints when n <= NS_PTAIL_VARINT. */
#define NS_PTAIL_VARINT 3
size_t ns_ptail_bound(size_t n);
size_t ns_ptail_put(const uint32_t *in, size_t n, uint8_t *out);
int ns_ptail_get(const uint8_t **p, const uint8_t *end, size_t n,
                 uint32_t *out);
int ns_ptail_get_delta(const uint8_t **p, const uint8_t *end, size_t n,
                       uint32_t base, uint32_t *out);

const char *ns_codec_impl(void);

/*! ns_codec_force_scalar() : on != 0 forces the portable scalar kernels;
** 0 returns to automatic selection.  For tests and benchmarks. */
void ns_codec_force_scalar(int on);

/*! ns_codec_set_impl() : selects a kernel by name ("scalar", "sse2",
** "avx2", "avx512"); NULL or "auto" returns to automatic selection.
** @return NS_OK, or NS_EINVAL if the name is unknown or this CPU (or
** build) lacks that kernel; the selection is then unchanged. */
int ns_codec_set_impl(const char *name);

#endif
