/*
** file.c -- writing and validating index files; see file.h.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "file.h"
#include "format.h"

#define FOUT_BUF (1u << 20)

char *ns_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) return NULL;
	char *s = ns_malloc((size_t)n + 1);
	if (!s) return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void fout_flush(ns_fout *f)
{
	size_t done = 0;
	while (f->rc == NS_OK && done < f->len) {
		ssize_t w = write(f->fd, f->buf + done, f->len - done);
		if (w < 0) {
			if (errno == EINTR) continue;
			f->rc = NS_EIO;
			break;
		}
		done += (size_t)w;
	}
	f->len = 0;
}

/* Appends bytes to the output buffer; no checksum is updated. */
static void fout_put(ns_fout *f, const uint8_t *s, size_t n)
{
	while (n && f->rc == NS_OK) {
		size_t room = f->cap - f->len;
		size_t c = n < room ? n : room;
		memcpy(f->buf + f->len, s, c);
		f->len += c;
		s += c;
		n -= c;
		if (f->len == f->cap) fout_flush(f);
	}
}

/* Records the CRC32 of the page being filled and starts the next. */
static void fout_end_page(ns_fout *f)
{
	if (f->n_pages == f->pages_cap) {
		size_t cap = f->pages_cap ? 2 * f->pages_cap : 16;
		uint32_t *p = ns_realloc(f->pages, cap * sizeof *p);
		if (!p) {
			f->rc = NS_ENOMEM;
			return;
		}
		f->pages = p;
		f->pages_cap = cap;
	}
	f->pages[f->n_pages++] = f->page_crc;
	f->page_crc = 0;
	f->page_fill = 0;
}

int ns_fout_open(ns_fout *f, const char *path, const char *magic)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->path = ns_strndup(path, strlen(path));
	f->buf = ns_malloc(FOUT_BUF);
	if (!f->path || !f->buf) return f->rc = NS_ENOMEM;
	f->cap = FOUT_BUF;
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0) return f->rc = NS_EIO;
	uint8_t hdr[NS_HEADER_SIZE];
	memcpy(hdr, magic, NS_MAGIC_LEN);
	ns_put_le32(hdr + 8, NS_FORMAT_VERSION);
	ns_put_le32(hdr + 12, 0); /* flags */
	ns_fout_write(f, hdr, sizeof hdr);
	return f->rc;
}

void ns_fout_write(ns_fout *f, const void *p, size_t n)
{
	if (f->rc || n == 0) return;
	const uint8_t *s = p;
	f->off += n;
	/* each byte is checksummed once, into its page's CRC32; the
	** whole-file CRC32 is derived from those at the end */
	while (n && f->rc == NS_OK) {
		size_t c = NS_PAGE_SIZE - f->page_fill;
		if (c > n) c = n;
		f->page_crc = ns_crc32(f->page_crc, s, c);
		f->page_fill += c;
		if (f->page_fill == NS_PAGE_SIZE) fout_end_page(f);
		fout_put(f, s, c);
		s += c;
		n -= c;
	}
}

/* Appends a u32 of the trailer: into the whole-file CRC32 *crc and, when
** tcrc is not NULL, into the page table's CRC32. */
static void fout_put_le32(ns_fout *f, uint32_t v, uint32_t *crc,
                          uint32_t *tcrc)
{
	uint8_t b[4];
	ns_put_le32(b, v);
	*crc = ns_crc32(*crc, b, 4);
	if (tcrc) *tcrc = ns_crc32(*tcrc, b, 4);
	fout_put(f, b, 4);
	f->off += 4;
}

int ns_fout_finish(ns_fout *f, const void *meta, size_t metalen)
{
	ns_fout_write(f, meta, metalen);
	if (f->rc == NS_OK && f->page_fill) fout_end_page(f);
	if (f->rc == NS_OK && f->n_pages > UINT32_MAX) f->rc = NS_ELIMIT;
	if (f->rc == NS_OK) {
		/* the CRC32 of header, body and meta, combined from the pages' */
		uint64_t left = f->off;
		uint32_t crc = 0, tcrc = 0;
		for (size_t i = 0; i < f->n_pages; i++) {
			size_t len = left < NS_PAGE_SIZE ? (size_t)left : NS_PAGE_SIZE;
			crc = (uint32_t)crc32_combine(crc, f->pages[i], (z_off_t)len);
			left -= len;
		}
		for (size_t i = 0; i < f->n_pages; i++)
			fout_put_le32(f, f->pages[i], &crc, &tcrc);
		fout_put_le32(f, (uint32_t)f->n_pages, &crc, &tcrc);
		fout_put_le32(f, tcrc, &crc, NULL);
		/* the footer is not part of the CRC */
		fout_put_le32(f, crc, &crc, NULL);
		fout_put_le32(f, NS_FOOTER_MAGIC, &crc, NULL);
	}
	fout_flush(f);
	if (f->rc == NS_OK && fsync(f->fd) != 0) f->rc = NS_EIO;
	if (f->fd >= 0 && close(f->fd) != 0 && f->rc == NS_OK) f->rc = NS_EIO;
	f->fd = -1;
	ns_free(f->buf);
	ns_free(f->pages);
	f->buf = NULL;
	f->pages = NULL;
	int rc = f->rc;
	if (rc) unlink(f->path);
	ns_free(f->path);
	f->path = NULL;
	return rc;
}

void ns_fout_abort(ns_fout *f)
{
	if (f->fd >= 0) close(f->fd);
	f->fd = -1;
	if (f->path) unlink(f->path);
	ns_free(f->path);
	ns_free(f->buf);
	ns_free(f->pages);
	f->path = NULL;
	f->buf = NULL;
	f->pages = NULL;
}

int ns_fin_verify(const ns_fin *f)
{
	size_t n = f->size - NS_FOOTER_SIZE;
	uint32_t want = ns_get_le32(f->base + n);
	uint32_t got = ns_crc32(0, f->base, n);
	return got == want ? NS_OK : NS_ECORRUPT;
}

const char *ns_fin_locate(const ns_fin *f, size_t *lo, size_t *hi)
{
	const uint8_t *p = f->base;
	size_t tab = f->content, tail = f->size - NS_FOOTER_SIZE;
	/* the table first: with its own CRC32 sound, a page whose CRC32
	** differs from its entry is the damaged one, not the entry */
	if (ns_crc32(0, p + tab, tail - 4 - tab) != ns_get_le32(p + tail - 4)) {
		*lo = tab;
		*hi = tail - 1;
		return "page checksum table";
	}
	for (uint32_t i = 0; i < f->n_pages; i++) {
		size_t a = (size_t)i * NS_PAGE_SIZE;
		size_t b = f->content - a < NS_PAGE_SIZE ? f->content : a + NS_PAGE_SIZE;
		if (ns_crc32(0, p + a, b - a) != ns_get_le32(p + tab + 4 * (size_t)i)) {
			*lo = a;
			*hi = b - 1;
			return "page";
		}
	}
	/* every byte it covers is sound: the footer's CRC32 is the damage */
	*lo = tail;
	*hi = tail + 3;
	return "file checksum";
}

/* Reads the page table of a file of `size` bytes (at least the minimum for
** metalen) that ends at p + size with its footer: 1 if the page count
** fits the size, with the count and the bytes the pages cover. */
static int fin_shape(const uint8_t *p, size_t size, size_t metalen,
                     uint32_t *n_pages, size_t *content)
{
	size_t at = size - NS_FOOTER_SIZE - NS_PAGE_TAIL; /* u32 n_pages */
	uint32_t np = ns_get_le32(p + at);
	if (np == 0 || np > (at - NS_HEADER_SIZE - metalen) / NS_PAGE_ENTRY)
		return 0;
	size_t c = at - (size_t)np * NS_PAGE_ENTRY;
	if ((c + NS_PAGE_SIZE - 1) / NS_PAGE_SIZE != np) return 0;
	*n_pages = np;
	*content = c;
	return 1;
}

/* The message for a file whose last four bytes are not the end marker:
** garbage appended after a sound file, or a file cut short. */
static char *fin_no_end(const uint8_t *p, size_t size, size_t metalen,
                        const char *name)
{
	size_t min = NS_HEADER_SIZE + metalen + NS_TRAILER_MIN;
	for (size_t end = size - 1; end >= min; end--) {
		uint32_t np;
		size_t c;
		if (ns_get_le32(p + end - 4) != NS_FOOTER_MAGIC ||
		    !fin_shape(p, end, metalen, &np, &c) ||
		    ns_crc32(0, p, end - NS_FOOTER_SIZE) !=
		        ns_get_le32(p + end - NS_FOOTER_SIZE))
			continue;
		return ns_fmt("%s: %zu unexpected bytes after the end marker in "
		              "bytes %zu..%zu (file is %zu bytes, %zu expected)",
		              name, size - end, end - 4, end - 1, size, end);
	}
	return ns_fmt("%s: truncated or damaged: no end marker in bytes "
	              "%zu..%zu (file is %zu bytes)", name, size - 4, size - 1,
	              size);
}

int ns_fin_open(ns_fin *f, const char *path, const char *name,
                const char *magic, size_t metalen, int verify_crc, char **err)
{
	memset(f, 0, sizeof *f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		*err = ns_fmt("%s: %s", name, strerror(e));
		return e == ENOENT ? NS_ENOTFOUND : NS_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*err = ns_fmt("%s: not a regular file", name);
		return NS_EIO;
	}
	size_t size = (size_t)st.st_size;
	size_t min = NS_HEADER_SIZE + metalen + NS_TRAILER_MIN;
	if (size < min) {
		close(fd);
		*err = ns_fmt("%s: truncated (%zu bytes, at least %zu expected)",
		              name, size, min);
		return NS_ECORRUPT;
	}
#ifndef NS_NO_MMAP
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		f->base = m;
		f->mapped = 1;
	}
#endif
	if (!f->base) {
		/* read() path: zero padding past the end, like the mapped case */
		uint8_t *b = ns_malloc(size + 64);
		if (!b) {
			close(fd);
			return NS_ENOMEM;
		}
		size_t got = 0;
		while (got < size) {
			ssize_t r = pread(fd, b + got, size - got, (off_t)got);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) break;
			got += (size_t)r;
		}
		if (got != size) {
			ns_free(b);
			close(fd);
			*err = ns_fmt("%s: read error", name);
			return NS_EIO;
		}
		memset(b + size, 0, 64);
		f->base = b;
	}
	close(fd);
	f->size = size;
	const uint8_t *p = f->base;
	size_t tail = size - NS_FOOTER_SIZE;
	int rc = NS_OK;
	if (memcmp(p, magic, NS_MAGIC_LEN) != 0) {
		*err = ns_fmt("%s: bad magic in bytes 0..%d (not an nsearch %s file)",
		              name, NS_MAGIC_LEN - 1, magic + 7);
		rc = NS_ECORRUPT;
	} else if (ns_get_le32(p + 8) != NS_FORMAT_VERSION) {
		*err = ns_fmt("%s: index has format %u, this nsearch reads %u; "
		              "rebuild the index", name, ns_get_le32(p + 8),
		              NS_FORMAT_VERSION);
		rc = NS_EVERSION;
	} else if (ns_get_le32(p + size - 4) != NS_FOOTER_MAGIC) {
		*err = fin_no_end(p, size, metalen, name);
		rc = NS_ECORRUPT;
	} else if (!fin_shape(p, size, metalen, &f->n_pages, &f->content)) {
		*err = ns_fmt("%s: damaged page table: the page count in bytes "
		              "%zu..%zu does not fit a file of %zu bytes", name,
		              tail - NS_PAGE_TAIL, tail - NS_PAGE_TAIL + 3, size);
		rc = NS_ECORRUPT;
	} else if (verify_crc ? ns_fin_verify(f) != NS_OK
	                      : ns_crc32(0, p + f->content, tail - 4 - f->content) !=
	                            ns_get_le32(p + tail - 4)) {
		/* without verify_crc only the (small) page table is checked */
		size_t lo, hi;
		const char *what = ns_fin_locate(f, &lo, &hi);
		*err = ns_fmt("%s: checksum mismatch in bytes %zu..%zu (%s%sfile is "
		              "damaged)", name, lo, hi,
		              strcmp(what, "page") ? what : "",
		              strcmp(what, "page") ? "; " : "");
		rc = NS_ECORRUPT;
	}
	if (rc) {
		ns_fin_close(f);
		return rc;
	}
	f->body = p + NS_HEADER_SIZE;
	f->meta = p + f->content - metalen;
	f->body_end = f->meta;
	return NS_OK;
}

void ns_fin_close(ns_fin *f)
{
	if (!f->base) return;
	if (f->mapped)
		munmap((void *)(uintptr_t)f->base, f->size);
	else
		ns_free((void *)(uintptr_t)f->base);
	memset(f, 0, sizeof *f);
}

int ns_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return NS_EIO;
	int rc = fsync(fd) == 0 ? NS_OK : NS_EIO;
	close(fd);
	return rc;
}
