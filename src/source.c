/*
** source.c -- the directory walker and the readers for text, gzip and JSON
** Lines files.  The rules (order, hidden entries, symlinks, ids, titles,
** warnings) are stated in source.h; this file implements them.
**
** Memory: one walker holds every buffer for the whole walk (file content,
** JSON Lines window, decoded members), so reading allocates only when a
** file or line is larger than any before it.  Buffers that grew past
** KEEP_MAX are released after the file that needed them.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "common.h"
#include "source.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define READ_CHUNK ((size_t)1 << 20)  /* least room offered to one read */
#define READ_MAX ((size_t)1 << 30)    /* most bytes asked of one read */
#define GZ_BUFFER (256u << 10)        /* zlib's input buffer (gzbuffer) */
#define GZ_WHOLE_MAX ((off_t)16 << 20) /* .gz files inflated whole: at most */
#define GZ_WHOLE_OUT ((size_t)64 << 20) /* this much in and out, else streamed */
#define KEEP_MAX ((size_t)64 << 20)   /* larger buffers are freed per file */
#define JSON_DEPTH_MAX 512            /* nesting of skipped JSON values */

typedef struct walker {
	ns_doc_fn on_doc;
	ns_warn_fn on_warn;
	ns_progress_fn on_progress;
	ns_file_fn on_file;
	int (*on_dir_unreadable)(void *ctx, const char *path);
	void *ctx;
	ns_walk_stats *st;
	ns_buf path;         /* root-joined path of the current entry (NUL-ended) */
	size_t rel_off;      /* the relative path starts at path.p + rel_off */
	const char *id_root; /* single-file root: its id (the root as given) */
	int io_failed;       /* set when open()/read() of a file failed */
	int collection;      /* the current directory holds JSON Lines files */
	uint64_t beside;     /* files skipped beside them */
	ns_buf data;         /* file content, or the JSON Lines window */
	ns_buf key, id, title, body, text; /* JSON members, composed text */
	char msg[512];
} walker;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void warn(walker *w, const char *path, const char *fmt, ...)
{
	va_list ap;
	w->st->warnings++;
	if (!w->on_warn) return;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof w->msg, fmt, ap);
	va_end(ap);
	w->on_warn(w->ctx, path, w->msg);
}

/* The buffer as a C string ("" when empty), or NULL when out of memory. */
static const char *cstr(ns_buf *b)
{
	if (b->len == 0) return "";
	if (ns_buf_reserve(b, 1)) return NULL;
	b->p[b->len] = 0;
	return (const char *)b->p;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

static void release_big(ns_buf *b)
{
	if (b->cap > KEEP_MAX) ns_buf_free(b);
}

static int emit(walker *w, const ns_doc *doc)
{
	w->st->docs++;
	return w->on_doc ? w->on_doc(w->ctx, doc) : 0;
}

/* ------------------------------------------------------------------------ */
/* Byte sources: a plain file descriptor or a gzip stream on top of one     */
/* ------------------------------------------------------------------------ */

typedef struct src {
	int fd;
	gzFile gz; /* NULL for a plain file; owns fd otherwise */
	uint8_t *mem;           /* a gzip file inflated whole, or NULL */
	size_t mem_len, mem_off;
} src;

static void src_close(src *s)
{
	if (s->gz)
		gzclose_r(s->gz);
	else if (s->fd >= 0)
		close(s->fd);
	ns_free(s->mem);
	s->mem = NULL;
	s->gz = NULL;
	s->fd = -1;
}

/* Appends what one read gives (at least READ_CHUNK bytes of room are
** offered, and one spare byte for a NUL is kept) to b.
** @return the count (> 0), 0 at the end, NS_ENOMEM, NS_EIO (a system call
** failed; w->io_failed set) or NS_ECORRUPT (bad gzip data), both warned. */
static long src_read(walker *w, src *s, ns_buf *b, const char *path)
{
	size_t room;
	if (ns_buf_reserve(b, READ_CHUNK + 1)) return NS_ENOMEM;
	room = b->cap - b->len - 1;
	if (room > READ_MAX) room = READ_MAX;
	if (s->mem) {
		size_t n = s->mem_len - s->mem_off;
		if (n > room) n = room;
		memcpy(b->p + b->len, s->mem + s->mem_off, n);
		s->mem_off += n;
		b->len += n;
		w->st->bytes += (uint64_t)n;
		return (long)n;
	}
	if (s->gz) {
		int err, n = gzread(s->gz, b->p + b->len, (unsigned)room);
		if (n < 0) {
			const char *m = gzerror(s->gz, &err);
			if (err == Z_ERRNO) {
				w->io_failed = 1;
				warn(w, path, "cannot read: %s", strerror(errno));
				return NS_EIO;
			}
			if (err == Z_MEM_ERROR) return NS_ENOMEM;
			if (strncmp(m, "<fd:", 4) == 0 && strstr(m, ": "))
				m = strstr(m, ": ") + 2; /* drop zlib's "<fd:N>: " */
			warn(w, path, "corrupt gzip data (%s)", m);
			return NS_ECORRUPT;
		}
		if (n == 0) {
			gzerror(s->gz, &err);
			if (err == Z_BUF_ERROR) {
				warn(w, path, "truncated gzip data (unexpected end of file)");
				return NS_ECORRUPT;
			}
		}
		b->len += (size_t)n;
		w->st->bytes += (uint64_t)n;
		return n;
	}
	for (;;) {
		ssize_t n = read(s->fd, b->p + b->len, room);
		if (n < 0) {
			if (errno == EINTR) continue;
			w->io_failed = 1;
			warn(w, path, "cannot read: %s", strerror(errno));
			return NS_EIO;
		}
		b->len += (size_t)n;
		w->st->bytes += (uint64_t)n;
		return (long)n;
	}
}

/* Inflates a gzip file of at most GZ_WHOLE_MAX bytes whole with
** libdeflate, about twice as fast as zlib's streaming: NS_OK with s->mem
** set, NS_ENOMEM, or NS_DONE to stream it with zlib instead (a larger
** file, or data libdeflate refuses, reported by zlib).  Concatenated
** members are inflated one after another. */
static int inflate_whole(src *s)
{
	struct stat st;
	if (fstat(s->fd, &st) != 0 || st.st_size > GZ_WHOLE_MAX || st.st_size < 18)
		return NS_DONE;
	size_t zn = (size_t)st.st_size, got = 0;
	uint8_t *z = ns_malloc(zn);
	if (!z) return NS_ENOMEM;
	while (got < zn) {
		ssize_t r = pread(s->fd, z + got, zn - got, (off_t)got);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		got += (size_t)r;
	}
	struct libdeflate_decompressor *d = NULL;
	int rc = got == zn ? NS_OK : NS_DONE;
	if (!rc && !(d = libdeflate_alloc_decompressor())) rc = NS_ENOMEM;
	/* the last member's trailer holds its size mod 2^32: a first guess */
	size_t cap = (size_t)ns_get_le32(z + zn - 4), len = 0, in = 0;
	if (cap < zn * 4) cap = zn * 4;
	if (cap > GZ_WHOLE_OUT) cap = GZ_WHOLE_OUT;
	uint8_t *out = rc ? NULL : ns_malloc(cap + 1);
	if (!rc && !out) rc = NS_ENOMEM;
	while (!rc && in < zn) {
		size_t used = 0, made = 0;
		enum libdeflate_result r = libdeflate_gzip_decompress_ex(
		    d, z + in, zn - in, out + len, cap - len, &used, &made);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
			if (cap >= GZ_WHOLE_OUT) { /* big: stream it instead */
				rc = NS_DONE;
				break;
			}
			cap = cap * 2 > GZ_WHOLE_OUT ? GZ_WHOLE_OUT : cap * 2;
			uint8_t *o = ns_realloc(out, cap + 1);
			if (!o) rc = NS_ENOMEM;
			else out = o;
			continue;
		}
		if (r != LIBDEFLATE_SUCCESS) {
			rc = NS_DONE;
			break;
		}
		in += used;
		len += made;
	}
	libdeflate_free_decompressor(d);
	ns_free(z);
	if (rc) {
		ns_free(out);
		return rc;
	}
	s->mem = out;
	s->mem_len = len;
	s->mem_off = 0;
	return NS_OK;
}

/* Puts a gzip stream on s->fd.  @return NS_OK, NS_DONE (empty file: skip
** silently), NS_ECORRUPT (not gzip, warned), NS_EIO (warned), NS_ENOMEM. */
static int src_gzip(walker *w, src *s, const char *path)
{
	uint8_t magic[2];
	ssize_t n;
	do
		n = pread(s->fd, magic, 2, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		w->io_failed = 1;
		warn(w, path, "cannot read: %s", strerror(errno));
		return NS_EIO;
	}
	if (n == 0) return NS_DONE;
	if (n < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		warn(w, path, "not in gzip format, skipped");
		return NS_ECORRUPT;
	}
	int rc = inflate_whole(s);
	if (rc != NS_DONE) return rc;
	/* too large, or damaged: zlib streams it (and names the damage) */
	s->gz = gzdopen(s->fd, "rb");
	if (!s->gz) return NS_ENOMEM; /* fd stays ours, closed by src_close */
	if (gzbuffer(s->gz, GZ_BUFFER) != 0) return NS_ENOMEM;
	return NS_OK;
}

/* ------------------------------------------------------------------------ */
/* Text files                                                               */
/* ------------------------------------------------------------------------ */

/* Finds the title of p[0..n): the first non-blank line, trimmed, capped at
** NS_SOURCE_TITLE_MAX bytes on a UTF-8 boundary.  @return its length (0:
** the content is blank) and its start in *start. */
static size_t find_title(const uint8_t *p, size_t n, size_t *start)
{
	size_t i = 0, e;
	const uint8_t *nl;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) i = 3;
	while (i < n && is_space(p[i])) i++;
	if (i == n) return 0;
	nl = memchr(p + i, '\n', n - i);
	e = nl ? (size_t)(nl - p) : n;
	if (e - i > NS_SOURCE_TITLE_MAX) {
		e = i + NS_SOURCE_TITLE_MAX;
		while (e > i && (p[e] & 0xC0) == 0x80) e--;
	}
	while (e > i && is_space(p[e - 1])) e--;
	*start = i;
	return e - i;
}

static int do_text(walker *w, src *s, const struct stat *st,
                   const char *path, const char *id)
{
	ns_buf *b = &w->data;
	size_t tstart = 0, tlen;
	const char *text, *title;
	ns_doc doc;

	b->len = 0;
	if (!s->gz && st->st_size > 0 &&
	    ns_buf_reserve(b, (size_t)st->st_size + 1))
		return NS_ENOMEM;
	for (;;) {
		long n = src_read(w, s, b, path);
		if (n == NS_ENOMEM) return NS_ENOMEM;
		if (n < 0) {
			w->st->skipped++;
			return NS_OK;
		}
		if (n == 0) break;
	}
	if (b->len && memchr(b->p, 0, b->len)) {
		warn(w, path, "binary file (NUL byte), skipped");
		w->st->skipped++;
		return NS_OK;
	}
	tlen = find_title(b->p, b->len, &tstart);
	if (tlen == 0) { /* empty or blank: skipped silently */
		w->st->skipped++;
		return NS_OK;
	}
	w->title.len = 0;
	ns_buf_append(&w->title, b->p + tstart, tlen);
	title = cstr(&w->title);
	text = cstr(b);
	if (!title || !text) return NS_ENOMEM;
	memset(&doc, 0, sizeof doc);
	doc.id = id;
	doc.title = title;
	doc.path = path;
	doc.text = text;
	doc.text_len = b->len;
	doc.size = (uint64_t)st->st_size;
	doc.mtime = (int64_t)st->st_mtime;
	return emit(w, &doc);
}

/* ------------------------------------------------------------------------ */
/* JSON (one object per line)                                               */
/* ------------------------------------------------------------------------ */

typedef struct jp {
	const uint8_t *p, *end;
	const uint8_t *at; /* where the error was found */
	const char *err;   /* what it is */
} jp;

static int jp_fail(jp *j, const uint8_t *at, const char *err)
{
	j->at = at;
	j->err = err;
	return NS_ECORRUPT;
}

static void jp_ws(jp *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
		else return 0;
	}
	*out = v;
	return 1;
}

static uint8_t *put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (uint8_t)cp;
	} else if (cp < 0x800) {
		*o++ = (uint8_t)(0xC0 | cp >> 6);
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (uint8_t)(0xE0 | cp >> 12);
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (uint8_t)(0xF0 | cp >> 18);
		*o++ = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Parses the string at j->p (which is '"'), appending its unescaped bytes
** to out, or only checking it when out is NULL.  An escape never decodes to
** more bytes than it takes (\uXXXX: 6 -> at most 3; a surrogate pair: 12 ->
** 4), so reserving what is left of the line is enough.  Raw control bytes
** are tolerated except NUL. */
static int jp_string(jp *j, ns_buf *out)
{
	const uint8_t *p = j->p + 1, *end = j->end;
	uint8_t *o = NULL;
	if (out) {
		if (ns_buf_reserve(out, (size_t)(end - p) + 1)) return NS_ENOMEM;
		o = out->p + out->len;
	}
	for (;;) {
		const uint8_t *q = p;
		uint32_t cp;
#if defined(__SSE2__)
		/* 16 bytes at a time up to a quote, backslash or NUL, copied as
		** they are scanned (o never runs ahead of p, and the reserve
		** above covers what is left of the input) */
		const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
		const __m128i nul = _mm_setzero_si128();
		while (end - q >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, dq),
			                                      _mm_cmpeq_epi8(x, bs)),
			                         _mm_cmpeq_epi8(x, nul));
			unsigned k = (unsigned)_mm_movemask_epi8(m);
			if (o) _mm_storeu_si128((__m128i *)(void *)o, x);
			if (k) {
				unsigned n = (unsigned)__builtin_ctz(k);
				q += n;
				if (o) o += n;
				break;
			}
			q += 16;
			if (o) o += 16;
		}
		p = q;
#endif
		while (q < end && *q != '"' && *q != '\\' && *q != 0) q++;
		if (o && q > p) {
			memcpy(o, p, (size_t)(q - p));
			o += q - p;
		}
		p = q;
		if (p == end) return jp_fail(j, j->p, "unterminated string");
		if (*p == '"') break;
		if (*p == 0) return jp_fail(j, p, "NUL byte in string");
		if (end - p < 2) return jp_fail(j, j->p, "unterminated string");
		switch (p[1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (end - p < 6 || !hex4(p + 2, &cp))
				return jp_fail(j, p, "bad \\u escape");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint32_t lo;
				if (end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
				    hex4(p + 8, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				} else {
					cp = 0xFFFD; /* lone high surrogate */
				}
			} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
				cp = 0xFFFD; /* lone low surrogate; NUL is not allowed */
			}
			p += 4;
			break;
		default:
			return jp_fail(j, p, "bad escape");
		}
		p += 2;
		if (o) o = put_utf8(o, cp);
	}
	if (out) out->len = (size_t)(o - out->p);
	j->p = p + 1;
	return NS_OK;
}

/* Checks the number at j->p: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int jp_number(jp *j)
{
	const uint8_t *p = j->p, *end = j->end;
	if (p < end && *p == '-') p++;
	if (p < end && *p == '0') {
		p++;
	} else if (p < end && *p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9') p++;
	} else {
		return jp_fail(j, p, "bad number");
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return jp_fail(j, p, "bad number");
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p == end || *p < '0' || *p > '9')
			return jp_fail(j, p, "bad number");
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	j->p = p;
	return NS_OK;
}

static int jp_expect(jp *j, uint8_t c, const char *err)
{
	jp_ws(j);
	if (j->p == j->end || *j->p != c) return jp_fail(j, j->p, err);
	j->p++;
	return NS_OK;
}

/* Checks and skips any value. */
static int jp_skip(jp *j, int depth)
{
	const uint8_t *p;
	jp_ws(j);
	p = j->p;
	if (p == j->end) return jp_fail(j, p, "value expected");
	switch (*p) {
	case '"':
		return jp_string(j, NULL);
	case '{':
	case '[': {
		uint8_t close = *p == '{' ? '}' : ']';
		if (depth >= JSON_DEPTH_MAX) return jp_fail(j, p, "nesting too deep");
		j->p++;
		jp_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return NS_OK;
		}
		for (;;) {
			if (close == '}') {
				jp_ws(j);
				if (j->p == j->end || *j->p != '"')
					return jp_fail(j, j->p, "member name expected");
				NS_TRY(jp_string(j, NULL));
				NS_TRY(jp_expect(j, ':', "':' expected"));
			}
			NS_TRY(jp_skip(j, depth + 1));
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				return NS_OK;
			}
			return jp_fail(j, j->p, close == '}' ? "',' or '}' expected"
			                                     : "',' or ']' expected");
		}
	}
	case 't':
	case 'f':
	case 'n': {
		const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
		size_t k = strlen(lit);
		if ((size_t)(j->end - p) < k || memcmp(p, lit, k) != 0)
			return jp_fail(j, p, "unexpected character");
		j->p += k;
		return NS_OK;
	}
	default:
		if (*p == '-' || (*p >= '0' && *p <= '9')) return jp_number(j);
		return jp_fail(j, p, "unexpected character");
	}
}

enum { F_NONE, F_ID, F_TITLE, F_TEXT };

static int field_of(const ns_buf *key)
{
	if (key->len == 2 && memcmp(key->p, "id", 2) == 0) return F_ID;
	if (key->len == 5 && memcmp(key->p, "title", 5) == 0) return F_TITLE;
	if (key->len == 4 && memcmp(key->p, "text", 4) == 0) return F_TEXT;
	return F_NONE;
}

/* Parses one line as an object; fills w->id, w->title, w->body.  *have_id
** is set when "id" was a string or a number.  @return NS_OK, NS_ECORRUPT
** (j->err, j->at) or NS_ENOMEM. */
static int jp_object(walker *w, jp *j, int *have_id)
{
	*have_id = 0;
	w->id.len = w->title.len = w->body.len = 0;
	NS_TRY(jp_expect(j, '{', "'{' expected (not a JSON object)"));
	jp_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
	} else {
		for (;;) {
			int f;
			ns_buf *dst;
			jp_ws(j);
			if (j->p == j->end || *j->p != '"')
				return jp_fail(j, j->p, "member name expected");
			w->key.len = 0;
			NS_TRY(jp_string(j, &w->key));
			NS_TRY(jp_expect(j, ':', "':' expected"));
			jp_ws(j);
			f = field_of(&w->key);
			dst = f == F_ID ? &w->id : f == F_TITLE ? &w->title
			    : f == F_TEXT ? &w->body : NULL;
			if (dst) dst->len = 0; /* a repeated member: the last one counts */
			if (f == F_ID) *have_id = 0;
			if (dst && j->p < j->end && *j->p == '"') {
				NS_TRY(jp_string(j, dst));
				if (f == F_ID) *have_id = 1;
			} else if (f == F_ID && j->p < j->end &&
			           (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))) {
				const uint8_t *s = j->p;
				NS_TRY(jp_number(j));
				ns_buf_append(&w->id, s, (size_t)(j->p - s));
				if (w->id.rc) return NS_ENOMEM;
				*have_id = 1;
			} else {
				NS_TRY(jp_skip(j, 1));
			}
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				break;
			}
			return jp_fail(j, j->p, "',' or '}' expected");
		}
	}
	jp_ws(j);
	if (j->p != j->end) return jp_fail(j, j->p, "text after the object");
	return NS_OK;
}

static int json_line(walker *w, const struct stat *st, const char *path,
                     const char *rel, uint64_t lineno, const uint8_t *p,
                     size_t n)
{
	jp j;
	int rc, have_id;
	const char *id, *title, *text;
	size_t text_len;
	ns_doc doc;
	size_t i = 0;

	while (i < n && is_space(p[i])) i++;
	if (i == n) return NS_OK; /* blank line */
	j.p = p;
	j.end = p + n;
	j.at = p;
	j.err = NULL;
	if (lineno == 1 && n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		j.p += 3; /* UTF-8 byte order mark */
	rc = jp_object(w, &j, &have_id);
	if (rc == NS_ECORRUPT) {
		warn(w, path, "line %" PRIu64 ": malformed JSON at byte %zu: %s",
		     lineno, (size_t)(j.at - p) + 1, j.err);
		return NS_OK;
	}
	if (rc) return rc;
	if (!have_id || w->id.len == 0) {
		char num[32];
		w->id.len = 0;
		ns_buf_puts(&w->id, rel);
		snprintf(num, sizeof num, ":%" PRIu64, lineno);
		ns_buf_puts(&w->id, num);
	}
	if (w->title.len) {
		w->text.len = 0;
		ns_buf_append(&w->text, w->title.p, w->title.len);
		ns_buf_putc(&w->text, '\n');
		ns_buf_append(&w->text, w->body.p, w->body.len);
		text = cstr(&w->text);
		text_len = w->text.len;
	} else {
		text = cstr(&w->body);
		text_len = w->body.len;
	}
	id = cstr(&w->id);
	title = cstr(&w->title);
	if (!id || !title || !text || w->text.rc) return NS_ENOMEM;
	memset(&doc, 0, sizeof doc);
	doc.id = id;
	doc.title = title;
	doc.path = path;
	doc.text = text;
	doc.text_len = text_len;
	doc.size = (uint64_t)st->st_size; /* the file's: for change detection */
	(void)n;
	doc.mtime = (int64_t)st->st_mtime;
	return emit(w, &doc);
}

/* Reads the source line by line through the w->data window: complete lines
** are parsed in place, the partial last one is moved to the front before
** the next read.  No line length limit. */
static int do_jsonl(walker *w, src *s, const struct stat *st,
                    const char *path, const char *rel)
{
	ns_buf *b = &w->data;
	size_t start = 0, scan = 0;
	uint64_t lineno = 0;
	int eof = 0, rc;

	b->len = 0;
	for (;;) {
		const uint8_t *nl = NULL;
		size_t end;
		if (b->len > scan) nl = memchr(b->p + scan, '\n', b->len - scan);
		if (nl) {
			end = (size_t)(nl - b->p);
		} else if (eof) {
			if (start == b->len) break;
			end = b->len; /* last line without '\n' */
		} else {
			long n;
			if (start > 0) {
				memmove(b->p, b->p + start, b->len - start);
				b->len -= start;
				start = 0;
			}
			scan = b->len;
			n = src_read(w, s, b, path);
			if (n == NS_ENOMEM) return NS_ENOMEM;
			if (n < 0) { /* warned; a partial last line is dropped */
				if (lineno == 0) w->st->skipped++;
				return NS_OK;
			}
			if (n == 0) {
				eof = 1;
				if (lineno == 0 && b->len == 0)
					w->st->skipped++; /* empty file */
			}
			continue;
		}
		lineno++;
		rc = json_line(w, st, path, rel, lineno, b->p + start, end - start);
		if (rc) return rc;
		if (!nl) break;
		start = scan = end + 1;
	}
	return NS_OK;
}

/* ------------------------------------------------------------------------ */
/* Files and directories                                                    */
/* ------------------------------------------------------------------------ */

enum { K_TEXT, K_GZ, K_JSONL, K_JSONL_GZ };

static int kind_of(const char *path)
{
	size_t n = strlen(path);
	if (has_suffix(path, n, ".jsonl")) return K_JSONL;
	if (has_suffix(path, n, ".jsonl.gz")) return K_JSONL_GZ;
	if (has_suffix(path, n, ".gz")) return K_GZ;
	return K_TEXT;
}

/* Reads the regular file at w->path.  nofollow: refuse a symbolic link
** (during the walk).  @return NS_OK (also for skipped files), NS_ENOMEM or
** on_doc's non-zero value. */
static int do_file(walker *w, int nofollow)
{
	const char *path = (const char *)w->path.p;
	const char *id = w->id_root ? w->id_root : path + w->rel_off;
	struct stat st;
	src s = { .fd = -1 };
	int rc = NS_OK, kind;

	s.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	                      (nofollow ? O_NOFOLLOW : 0));
	if (s.fd < 0) {
		int e = errno;
		w->st->skipped++;
		if (nofollow && e == ELOOP) return NS_OK; /* became a symlink */
		w->io_failed = 1;
		if (e == ENOENT) {
			warn(w, path, "file vanished, skipped");
			return NS_OK;
		}
		warn(w, path, "cannot open: %s", strerror(e));
		return w->on_file && w->on_file(w->ctx, path, NULL) < 0 ? NS_EINVAL
		                                                        : NS_OK;
	}
	if (fstat(s.fd, &st) != 0) {
		w->io_failed = 1;
		warn(w, path, "cannot stat: %s", strerror(errno));
		w->st->skipped++;
		src_close(&s);
		return NS_OK;
	}
	if (!S_ISREG(st.st_mode)) { /* raced into something else */
		w->st->skipped++;
		src_close(&s);
		return NS_OK;
	}
	w->st->files++;
	if (w->on_file) {
		int r = w->on_file(w->ctx, path, &st);
		if (r) {
			src_close(&s);
			if (r < 0) return NS_EINVAL;
			if (w->on_progress)
				w->on_progress(w->ctx, w->st->files, w->st->bytes);
			return NS_OK;
		}
	}
	kind = kind_of(path);
	if (kind == K_GZ || kind == K_JSONL_GZ) {
		rc = src_gzip(w, &s, path);
		if (rc != NS_OK && rc != NS_ENOMEM) {
			w->st->skipped++; /* empty (NS_DONE) or warned */
			rc = NS_OK;
			goto done;
		}
		if (rc) goto done;
	}
	if (kind == K_JSONL || kind == K_JSONL_GZ)
		rc = do_jsonl(w, &s, &st, path, id);
	else
		rc = do_text(w, &s, &st, path, id);
done:
	src_close(&s);
	release_big(&w->data);
	release_big(&w->key);
	release_big(&w->id);
	release_big(&w->title);
	release_big(&w->body);
	release_big(&w->text);
	if (rc == NS_OK && w->on_progress)
		w->on_progress(w->ctx, w->st->files, w->st->bytes);
	return rc;
}

typedef struct dent {
	const char *name;
	size_t off;         /* of the name in the names buffer */
	unsigned char type; /* DT_* from readdir, maybe DT_UNKNOWN */
} dent;

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const dent *)a)->name, ((const dent *)b)->name);
}

static int walk_dir(walker *w, int nofollow);

static int walk_entry(walker *w, const dent *e)
{
	size_t old = w->path.len;
	unsigned char type = e->type;
	int rc = NS_OK;

	if (old == 0 || w->path.p[old - 1] != '/') ns_buf_putc(&w->path, '/');
	ns_buf_append(&w->path, e->name, strlen(e->name) + 1);
	if (w->path.rc) return NS_ENOMEM;
	w->path.len--; /* keep the NUL out of len */

	if (type == DT_UNKNOWN) {
		struct stat st;
		if (lstat((const char *)w->path.p, &st) != 0) {
			int err = errno;
			w->st->skipped++;
			if (err == ENOENT)
				warn(w, (const char *)w->path.p, "file vanished, skipped");
			else
				warn(w, (const char *)w->path.p, "cannot stat: %s",
				     strerror(err));
			goto out;
		}
		type = (unsigned char)IFTODT(st.st_mode);
	}
	if (type == DT_DIR) {
		rc = walk_dir(w, 1);
	} else if (type == DT_REG && w->collection &&
	           kind_of(e->name) != K_JSONL && kind_of(e->name) != K_JSONL_GZ) {
		/* README, SOURCE.md, LICENSE beside a collection: not documents */
		w->st->skipped++;
		w->beside++;
	} else if (type == DT_REG) {
		rc = do_file(w, 1);
	}
	else
		w->st->skipped++; /* symlink, FIFO, socket, device */
out:
	w->path.len = old;
	w->path.p[old] = 0;
	return rc;
}

/* Walks the directory at w->path.  nofollow: refuse a symbolic link (during
** the walk).  @return NS_OK, NS_EIO (the directory cannot be opened: warned;
** only reported for the root), NS_ENOMEM or on_doc's non-zero value. */
static int walk_dir(walker *w, int nofollow)
{
	const char *path = (const char *)w->path.p;
	ns_buf names, ents;
	struct dirent *de;
	DIR *d;
	int fd, rc = NS_OK, lost = 0;
	size_t i, n;
	dent *v;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	                    (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		int e = errno;
		if (nofollow) w->st->skipped++;
		if (nofollow && (e == ELOOP || e == ENOTDIR)) return NS_OK;
		if (e == ENOENT) {
			warn(w, path, "directory vanished, skipped");
		} else {
			warn(w, path, "cannot open directory: %s", strerror(e));
			if (w->on_dir_unreadable && w->on_dir_unreadable(w->ctx, path) < 0)
				return NS_EINVAL;
		}
		return nofollow ? NS_OK : NS_EIO; /* only the root fails the walk */
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NS_ENOMEM;
	}
	ns_buf_init(&names);
	ns_buf_init(&ents);
	for (;;) {
		dent e;
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				warn(w, path, "cannot read directory: %s", strerror(errno));
				lost = 1; /* told to the caller after what was listed */
			}
			break;
		}
		if (de->d_name[0] == '.') continue; /* hidden, and . and .. */
		e.name = NULL;
		e.off = names.len;
		e.type = de->d_type;
		ns_buf_append(&names, de->d_name, strlen(de->d_name) + 1);
		ns_buf_append(&ents, &e, sizeof e);
	}
	closedir(d);
	if (names.rc || ents.rc) {
		rc = NS_ENOMEM;
		goto out;
	}
	n = ents.len / sizeof(dent);
	v = (dent *)(void *)ents.p;
	for (i = 0; i < n; i++) v[i].name = (const char *)names.p + v[i].off;
	if (n > 1) qsort(v, n, sizeof *v, dent_cmp);
	/* A directory holding JSON Lines files is a collection: its documents
	** are the lines of those files, and other files beside them (README,
	** SOURCE.md, ...) describe it rather than belong to it. */
	int saved = w->collection;
	uint64_t saved_beside = w->beside;
	w->collection = 0;
	w->beside = 0;
	for (i = 0; i < n; i++)
		if (kind_of(v[i].name) == K_JSONL || kind_of(v[i].name) == K_JSONL_GZ)
			w->collection = 1;
	for (i = 0; i < n && rc == NS_OK; i++) rc = walk_entry(w, &v[i]);
	if (lost && rc == NS_OK && w->on_dir_unreadable && /* path may have moved */
	    w->on_dir_unreadable(w->ctx, (const char *)w->path.p) < 0)
		rc = NS_EINVAL;
	if (w->beside)
		warn(w, (const char *)w->path.p, "%llu file%s beside the JSON Lines collection skipped "
		     "(only .jsonl and .jsonl.gz files are read there)",
		     (unsigned long long)w->beside, w->beside == 1 ? "" : "s");
	w->collection = saved;
	w->beside = saved_beside;
out:
	ns_buf_free(&names);
	ns_buf_free(&ents);
	return rc;
}

int ns_walk(const char *root, const ns_walk_options *opt,
            ns_walk_stats *stats)
{
	walker w;
	ns_walk_stats local;
	struct stat st;
	int rc;

	memset(&w, 0, sizeof w);
	memset(&local, 0, sizeof local);
	if (opt) {
		w.on_doc = opt->on_doc;
		w.on_warn = opt->on_warn;
		w.on_progress = opt->on_progress;
		w.on_file = opt->on_file;
		w.on_dir_unreadable = opt->on_dir_unreadable;
		w.ctx = opt->ctx;
	}
	w.st = stats ? stats : &local;
	if (!root || !*root) {
		warn(&w, root ? root : "(null)", "no path given");
		return NS_EINVAL;
	}
	if (stat(root, &st) != 0) {
		int e = errno;
		warn(&w, root, "cannot read: %s", strerror(e));
		return e == ENOENT || e == ENOTDIR ? NS_ENOTFOUND : NS_EIO;
	}
	ns_buf_puts(&w.path, root);
	if (S_ISDIR(st.st_mode)) {
		while (w.path.len > 1 && w.path.p[w.path.len - 1] == '/')
			w.path.len--; /* "dir/" -> "dir"; "/" stays */
		ns_buf_putc(&w.path, 0);
		if (w.path.rc) {
			rc = NS_ENOMEM;
			goto out;
		}
		w.path.len--;
		w.rel_off = w.path.len + (w.path.p[w.path.len - 1] != '/');
		rc = walk_dir(&w, 0);
	} else if (S_ISREG(st.st_mode)) {
		ns_buf_putc(&w.path, 0);
		if (w.path.rc) {
			rc = NS_ENOMEM;
			goto out;
		}
		w.path.len--;
		w.id_root = root;
		rc = do_file(&w, 0);
		if (rc == NS_OK && w.io_failed) rc = NS_EIO;
	} else {
		warn(&w, root, "not a regular file or directory");
		rc = NS_EINVAL;
	}
out:
	ns_buf_free(&w.path);
	ns_buf_free(&w.data);
	ns_buf_free(&w.key);
	ns_buf_free(&w.id);
	ns_buf_free(&w.title);
	ns_buf_free(&w.body);
	ns_buf_free(&w.text);
	return rc;
}
