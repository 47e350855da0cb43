/*
** source.h -- turning files and directories into documents (ns_doc).
**
** ns_walk() walks a directory tree (or reads one file) and hands every
** document it finds to a callback, in a deterministic order.  It owns no
** index state: the caller decides what to do with each document (usually
** ns_writer_add()).
**
** Walk rules
** ----------
** - Directory entries are visited in bytewise (strcmp) order of their
**   names, depth first, so the document order depends only on the tree.
** - Entries whose name starts with '.' are skipped, files and directories
**   alike (.git, .nsearch, ...).  The root itself is never skipped.
** - Symbolic links met during the walk are not followed (counted in
**   `skipped`); a root that is a symbolic link is followed.  FIFOs,
**   sockets and devices are skipped silently (counted in `skipped`).
** - An entry that cannot be opened or read, or that vanished between
**   readdir() and open(), gives a warning and the walk goes on.
**
** Documents
** ---------
** - External id: the path relative to the root ("sub/a.txt"); for a
**   single-file root, the root string as given.  ns_doc.path is the root
**   (trailing slashes removed) joined with the relative path.  size and
**   mtime come from stat() (st_size, st_mtime).
** - "*.jsonl", "*.jsonl.gz": JSON Lines, one object per line with the
**   string members "id" (a number is taken as its text), "title" and
**   "text".  Each line is one document: id = "id" (missing, empty or not
**   a string/number: "<relative path>:<line number>"), title = "title"
**   ("" if missing), text = title "\n" text when the title is not empty,
**   else text.  size and mtime are the file's (for change detection).  Other
**   members and nested values are parsed and ignored; a member that
**   appears twice counts once (the last one).  Strings are fully unescaped;
**   lone surrogates and \u0000 become U+FFFD.  Blank lines are skipped
**   silently; a malformed line gives one warning "line N: ..." and the
**   walk goes on with the next line.  Lines have no length limit.
** - "*.gz" (other than .jsonl.gz): gzip (concatenated members allowed),
**   decompressed and then treated as a text file; the id keeps ".gz".  A
**   corrupt or truncated stream, or a file without the gzip magic, gives a
**   warning and the file is skipped.
** - Any other regular file is a text file, read entirely.  A NUL byte makes
**   it binary: warning "binary file (NUL byte), skipped".  An empty or
**   whitespace-only file is skipped silently (counted in `skipped`).
**   Invalid UTF-8 is passed through.  title = the first non-blank line,
**   trimmed of ASCII whitespace (and a leading UTF-8 BOM), at most
**   NS_SOURCE_TITLE_MAX bytes cut at a UTF-8 character boundary;
**   text = the whole content.
** File kinds are chosen by the (case-sensitive) name suffix.
**
** The strings of the ns_doc given to on_doc are borrowed: they are valid
** only during the callback.  All are NUL-terminated; text holds text_len
** bytes and no NUL byte.
*/
#ifndef NS_SOURCE_H
#define NS_SOURCE_H

#include <stdint.h>

#include "nsearch.h"

#define NS_SOURCE_TITLE_MAX 256 /* bytes of a text file's title */

/* One document; return 0 to go on.  A non-zero value stops the walk and
** is returned by ns_walk(). */
typedef int (*ns_doc_fn)(void *ctx, const ns_doc *doc);

/* One warning: path (as displayed, i.e. root-joined) and a short message
** without trailing full stop, e.g. "binary file (NUL byte), skipped" or
** "line 7: malformed JSON at byte 12: expected ':'". */
typedef void (*ns_warn_fn)(void *ctx, const char *path, const char *msg);

/* Called after each regular file (documents or not) with the `files` and
** `bytes` counters of the stats object given to ns_walk() (so they keep
** growing across walks that share it), or of this walk if stats is NULL. */
typedef void (*ns_progress_fn)(void *ctx, uint64_t files, uint64_t bytes);

/* Called for each regular file before it is read, with its stat (path as
** displayed): return 0 to read it, 1 to skip it (e.g. unchanged since it
** was indexed; no document, no warning), -1 to stop the walk (ns_walk()
** returns NS_EINVAL).  Also called with st NULL for a file that exists but
** cannot be opened (after the warning): its return then only matters if
** negative. */
struct stat;
typedef int (*ns_file_fn)(void *ctx, const char *path, const struct stat *st);

typedef struct ns_walk_options {
	ns_doc_fn on_doc;           /* may be NULL: documents are only counted */
	ns_warn_fn on_warn;         /* may be NULL: warnings are only counted */
	ns_progress_fn on_progress; /* may be NULL */
	void *ctx;                  /* passed to the callbacks */
	ns_file_fn on_file;         /* may be NULL: every file is read */
	/* may be NULL: called with the path of a directory (the root included)
	** that exists but cannot be opened, or read in full (then after the
	** entries that were listed are walked), after the warning, so that a
	** caller keeps what it knew about the files under it; its return
	** matters only if negative (stop: NS_EINVAL) */
	int (*on_dir_unreadable)(void *ctx, const char *path);
} ns_walk_options;

typedef struct ns_walk_stats {
	uint64_t files;    /* regular files opened */
	uint64_t docs;     /* documents passed to on_doc */
	uint64_t bytes;    /* content bytes read (after decompression) */
	uint64_t skipped;  /* non-hidden entries that gave no document:
	                   ** symlinks, special files, unreadable, vanished,
	                   ** binary, empty and corrupt files */
	uint64_t warnings; /* warnings issued (whether on_warn is set or not) */
} ns_walk_stats;

/*! ns_walk() :
** Walks root (a directory or a single file) and calls opt->on_doc for every
** document, in a deterministic order.  opt may be NULL.  stats may be NULL;
** otherwise it is accumulated into (not reset).
** @return NS_OK (also when files were skipped with warnings),
** NS_ENOTFOUND if root does not exist, NS_EIO if root cannot be read (both
** also warned), NS_EINVAL if root is NULL or neither a directory nor a
** regular file (warned), NS_ENOMEM, or the non-zero value returned by
** on_doc. */
int ns_walk(const char *root, const ns_walk_options *opt,
            ns_walk_stats *stats);

#endif
