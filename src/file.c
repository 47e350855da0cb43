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
	f->crc = (uint32_t)crc32_z(f->crc, s, n);
	f->off += n;
	while (n) {
		size_t room = f->cap - f->len;
		size_t c = n < room ? n : room;
		memcpy(f->buf + f->len, s, c);
		f->len += c;
		s += c;
		n -= c;
		if (f->len == f->cap) fout_flush(f);
	}
}

int ns_fout_finish(ns_fout *f, const void *meta, size_t metalen)
{
	ns_fout_write(f, meta, metalen);
	uint8_t foot[NS_FOOTER_SIZE];
	ns_put_le32(foot, f->crc);
	ns_put_le32(foot + 4, NS_FOOTER_MAGIC);
	if (f->rc == NS_OK) {
		/* the footer is not part of the CRC */
		uint32_t crc = f->crc;
		ns_fout_write(f, foot, sizeof foot);
		f->crc = crc;
	}
	fout_flush(f);
	if (f->rc == NS_OK && fsync(f->fd) != 0) f->rc = NS_EIO;
	if (f->fd >= 0 && close(f->fd) != 0 && f->rc == NS_OK) f->rc = NS_EIO;
	f->fd = -1;
	ns_free(f->buf);
	f->buf = NULL;
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
	f->path = NULL;
	f->buf = NULL;
}

int ns_fin_verify(const ns_fin *f)
{
	size_t n = f->size - NS_FOOTER_SIZE;
	uint32_t want = ns_get_le32(f->base + n);
	uint32_t got = (uint32_t)crc32_z(0, f->base, n);
	return got == want ? NS_OK : NS_ECORRUPT;
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
	size_t min = NS_HEADER_SIZE + metalen + NS_FOOTER_SIZE;
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
	int rc = NS_OK;
	if (memcmp(p, magic, NS_MAGIC_LEN) != 0) {
		*err = ns_fmt("%s: bad magic (not an nsearch %s file)", name, magic + 7);
		rc = NS_ECORRUPT;
	} else if (ns_get_le32(p + 8) != NS_FORMAT_VERSION) {
		*err = ns_fmt("%s: index has format %u, this nsearch reads %u; "
		              "rebuild the index", name, ns_get_le32(p + 8),
		              NS_FORMAT_VERSION);
		rc = NS_EVERSION;
	} else if (ns_get_le32(p + size - 4) != NS_FOOTER_MAGIC) {
		*err = ns_fmt("%s: truncated or damaged (no end marker)", name);
		rc = NS_ECORRUPT;
	} else if (verify_crc && ns_fin_verify(f) != NS_OK) {
		*err = ns_fmt("%s: checksum mismatch (file is damaged)", name);
		rc = NS_ECORRUPT;
	}
	if (rc) {
		ns_fin_close(f);
		return rc;
	}
	f->body = p + NS_HEADER_SIZE;
	f->meta = p + size - NS_FOOTER_SIZE - metalen;
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
