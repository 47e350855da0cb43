/*
** common.c -- status strings, growable byte buffers and allocation wrappers.
*/
#include <stdlib.h>

#include "common.h"

const char *ns_version(void) { return NSEARCH_VERSION_STRING; }

const char *ns_strerror(int rc)
{
	switch (rc) {
	case NS_OK: return "success";
	case NS_DONE: return "no more items";
	case NS_ENOMEM: return "out of memory";
	case NS_EIO: return "input/output error";
	case NS_ECORRUPT: return "index is corrupt";
	case NS_EINVAL: return "invalid argument";
	case NS_EVERSION: return "unsupported index format version";
	case NS_ENOTFOUND: return "no index found";
	case NS_ESYNTAX: return "query syntax error";
	case NS_ELOCKED: return "index is locked by another writer";
	case NS_ELIMIT: return "index size limit reached";
	default: return "unknown error";
	}
}

void *ns_malloc(size_t n) { return malloc(n ? n : 1); }
void *ns_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *ns_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void ns_free(void *p) { free(p); }

char *ns_strndup(const char *s, size_t n)
{
	char *r = ns_malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = 0;
	}
	return r;
}

void ns_buf_init(ns_buf *b) { memset(b, 0, sizeof *b); }

void ns_buf_free(ns_buf *b)
{
	ns_free(b->p);
	ns_buf_init(b);
}

int ns_buf_reserve(ns_buf *b, size_t extra)
{
	if (b->rc) return b->rc;
	if (b->cap - b->len >= extra) return NS_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra) {
		if (cap > SIZE_MAX / 2) return b->rc = NS_ENOMEM;
		cap *= 2;
	}
	uint8_t *p = ns_realloc(b->p, cap);
	if (!p) return b->rc = NS_ENOMEM;
	b->p = p;
	b->cap = cap;
	return NS_OK;
}

void ns_buf_append(ns_buf *b, const void *p, size_t n)
{
	if (n == 0 || ns_buf_reserve(b, n)) return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void ns_buf_putc(ns_buf *b, uint8_t c)
{
	if (ns_buf_reserve(b, 1)) return;
	b->p[b->len++] = c;
}

void ns_buf_put_le32(ns_buf *b, uint32_t v)
{
	if (ns_buf_reserve(b, 4)) return;
	ns_put_le32(b->p + b->len, v);
	b->len += 4;
}

void ns_buf_put_le64(ns_buf *b, uint64_t v)
{
	if (ns_buf_reserve(b, 8)) return;
	ns_put_le64(b->p + b->len, v);
	b->len += 8;
}

void ns_buf_put_varint_slow(ns_buf *b, uint64_t v)
{
	if (ns_buf_reserve(b, 10)) return;
	uint8_t *p = b->p + b->len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->len = (size_t)(p - b->p);
}

void ns_buf_puts(ns_buf *b, const char *s) { ns_buf_append(b, s, strlen(s)); }
