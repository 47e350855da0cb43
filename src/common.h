/*
** common.h -- status codes, growable byte buffers, little-endian helpers and
** allocation wrappers shared by every module of libnsearch.
**
** Every fallible internal function returns int: NS_OK (0) on success, a
** negative NS_E* code on failure.  NS_DONE (1) means "iterator exhausted",
** which is not an error.  The public codes are declared in include/nsearch.h;
** this header re-exports them for internal use.
*/
#ifndef NS_COMMON_H
#define NS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libdeflate.h>

#include "nsearch.h"

#define NS_TRY(expr)                                                       \
	do {                                                                   \
		int ns_try_rc_ = (expr);                                           \
		if (ns_try_rc_ < 0) return ns_try_rc_;                             \
	} while (0)

#if defined(__GNUC__)
#define NS_LIKELY(x) __builtin_expect(!!(x), 1)
#define NS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NS_LIKELY(x) (x)
#define NS_UNLIKELY(x) (x)
#endif

/* Growable byte buffer (the Fts5Buffer shape).  Sticky error: after an
** allocation failure every append is a no-op and ns_buf_* report it. */
typedef struct ns_buf {
	uint8_t *p;
	size_t len, cap;
	int rc; /* NS_OK, or NS_ENOMEM after a failed growth */
} ns_buf;

void ns_buf_init(ns_buf *b);
void ns_buf_free(ns_buf *b);
int ns_buf_reserve(ns_buf *b, size_t extra);    /* room for extra more bytes */
void ns_buf_append(ns_buf *b, const void *p, size_t n);
void ns_buf_putc(ns_buf *b, uint8_t c);
void ns_buf_put_le32(ns_buf *b, uint32_t v);
void ns_buf_put_le64(ns_buf *b, uint64_t v);
void ns_buf_put_varint_slow(ns_buf *b, uint64_t v);
/* LEB128 varint; the common case (room for it) inline. */
static inline void ns_buf_put_varint(ns_buf *b, uint64_t v)
{
	if (NS_LIKELY(b->cap - b->len >= 10)) {
		uint8_t *p = b->p + b->len;
		while (v >= 0x80) {
			*p++ = (uint8_t)(v | 0x80);
			v >>= 7;
		}
		*p++ = (uint8_t)v;
		b->len = (size_t)(p - b->p);
		return;
	}
	ns_buf_put_varint_slow(b, v);
}
void ns_buf_puts(ns_buf *b, const char *s);      /* no terminating NUL */

/* CRC-32 as zlib's crc32() (same polynomial and conventions: start from
** 0, feed the previous value to continue), computed by libdeflate with
** carry-less multiplication where the CPU has it: about ten times zlib's
** speed, and checksums are taken over every byte written and read. */
static inline uint32_t ns_crc32(uint32_t crc, const void *p, size_t n)
{
	return libdeflate_crc32(crc, p, n);
}

static inline uint32_t ns_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t ns_get_le64(const uint8_t *p)
{
	return (uint64_t)ns_get_le32(p) | (uint64_t)ns_get_le32(p + 4) << 32;
}
static inline void ns_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void ns_put_le64(uint8_t *p, uint64_t v)
{
	ns_put_le32(p, (uint32_t)v);
	ns_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Allocation wrappers: return NULL on failure like malloc. */
void *ns_malloc(size_t n);
void *ns_calloc(size_t n, size_t size);
void *ns_realloc(void *p, size_t n);
char *ns_strndup(const char *s, size_t n);
void ns_free(void *p);

#endif
