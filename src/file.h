/*
** file.h -- index files: buffered writing with a running CRC32, and
** opening/validating for reading (mmap, or read() under NS_NO_MMAP).
**
** Writing: ns_fout_open() writes the 16-byte header; ns_fout_write()
** appends body bytes; ns_fout_finish() appends the kind's meta block, the
** page table (the CRC32 of every NS_PAGE_SIZE page of header, body and
** meta, their count and the table's own CRC32) and the footer (CRC32 of
** every byte before it, then NS_FOOTER_MAGIC), fsyncs and closes.  Errors
** are sticky: check the return of ns_fout_finish().
**
** Reading: ns_fin_open() maps a file, checks magic, version, size, the
** page table's shape and (unless told not to) the CRC32, and hands back
** body and meta ranges.  Only when the CRC32 fails are the pages read one
** by one, so that the message can say which bytes are damaged.
*/
#ifndef NS_FILE_H
#define NS_FILE_H

#include "common.h"

typedef struct ns_fout {
	int fd;
	int rc;
	uint64_t off;      /* bytes written so far (header included) */
	uint8_t *buf;
	size_t len, cap;
	char *path;
	uint32_t page_crc; /* CRC32 of the page being filled */
	size_t page_fill;  /* its bytes so far */
	uint32_t *pages;   /* CRC32 of each finished page */
	size_t n_pages, pages_cap;
} ns_fout;

int ns_fout_open(ns_fout *f, const char *path, const char *magic);
void ns_fout_write(ns_fout *f, const void *p, size_t n);
int ns_fout_finish(ns_fout *f, const void *meta, size_t metalen);
void ns_fout_abort(ns_fout *f); /* close and unlink */

typedef struct ns_fin {
	const uint8_t *base;
	size_t size;
	int mapped;
	const uint8_t *body, *body_end; /* body range */
	const uint8_t *meta;            /* metalen bytes */
	size_t content;                 /* bytes the pages cover: up to the table */
	uint32_t n_pages;
} ns_fin;

/* verify_crc: 1 to check the whole-file CRC32 now (the page table's own
** CRC32 is always checked).  On failure *err gets a message (caller frees
** with ns_free) naming the file, the problem and, where it can be told,
** the damaged bytes: "seg_000001.post: checksum mismatch in bytes
** 65536..131071 (file is damaged)". */
int ns_fin_open(ns_fin *f, const char *path, const char *name,
                const char *magic, size_t metalen, int verify_crc,
                char **err);
int ns_fin_verify(const ns_fin *f); /* NS_OK or NS_ECORRUPT */
/* After ns_fin_verify() failed: the first damaged range as inclusive byte
** offsets *lo..*hi, and what holds it: "page", "page checksum table" or
** "file checksum" (the footer's CRC32 itself). */
const char *ns_fin_locate(const ns_fin *f, size_t *lo, size_t *hi);
void ns_fin_close(ns_fin *f);

/* fsync a directory so that renames and creations in it are durable. */
int ns_fsync_dir(const char *dir);

/* printf into a new caller-owned string (NULL on ENOMEM). */
char *ns_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
