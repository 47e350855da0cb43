/*
** nsearch.h -- the public API of libnsearch, a full-text search engine.
**
** Introduction
** ------------
** An index is a directory (by default ".nsearch").  A *writer* builds a new
** generation of it from documents you add, and publishes it atomically with
** ns_writer_commit(): readers, and a crash at any moment, see either the
** previous generation or the new one, never a mix.  A *reader* (ns_index)
** opens the published generation, verifies every file (magic, format version,
** CRC32; the document store's blocks are verified when read) and answers BM25-ranked queries with ns_search().
**
** Conventions
** -----------
** - Every fallible function returns int: NS_OK (0) on success or a negative
**   ns_status.  Results come back through OUT parameters.
** - Objects come in open/close (or new/free) pairs.  Close and free functions
**   accept NULL.  Strings returned as `const char *` are borrowed: they stay
**   valid for the lifetime stated next to the function.  Strings returned
**   through `char **` are owned by the caller and released with ns_free().
** - Thread safety: one ns_index may be searched from many threads at once
**   (ns_search, ns_snippet and the ns_results accessors only read it).  A
**   ns_results belongs to the thread that uses it.  A ns_writer must be used
**   by one thread at a time.  ns_index_errmsg() reports the last error of an
**   open call, not of concurrent searches (those report through their
**   return code and the errmsg OUT parameter).
*/
#ifndef NSEARCH_H
#define NSEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NSEARCH_VERSION_MAJOR 0
#define NSEARCH_VERSION_MINOR 1
#define NSEARCH_VERSION_PATCH 0
#define NSEARCH_VERSION_STRING "0.1.0"
#define NSEARCH_VERSION_NUMBER                                             \
	(NSEARCH_VERSION_MAJOR * 10000 + NSEARCH_VERSION_MINOR * 100 +         \
	 NSEARCH_VERSION_PATCH)

#if defined(__GNUC__) && defined(NS_BUILDING_LIBRARY)
#define NS_API __attribute__((visibility("default")))
#else
#define NS_API
#endif

/*! Status codes.  NS_DONE is not an error: an iterator ran out. */
typedef enum ns_status {
	NS_OK = 0,
	NS_DONE = 1,
	NS_ENOMEM = -1,     /* out of memory */
	NS_EIO = -2,        /* a system call failed; see errno / the message */
	NS_ECORRUPT = -3,   /* an index file is damaged (bad checksum, bounds) */
	NS_EINVAL = -4,     /* bad argument */
	NS_EVERSION = -5,   /* index written by another format version */
	NS_ENOTFOUND = -6,  /* no index at that path */
	NS_ESYNTAX = -7,    /* malformed query */
	NS_ELOCKED = -8,    /* another writer holds the index lock */
	NS_ELIMIT = -9      /* a size limit of the index format was reached */
} ns_status;

/*! ns_version() : @return the library version, e.g. "0.1.0" (static). */
NS_API const char *ns_version(void);

/*! ns_strerror() : @return a static English description of a status code. */
NS_API const char *ns_strerror(int rc);

/*! ns_free() : releases memory that the library handed to the caller. */
NS_API void ns_free(void *p);

/*! ns_languages() : @return a NULL-terminated static array with the name of
** every stemming language (libstemmer's algorithms, e.g. "english"). */
NS_API const char *const *ns_languages(void);

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct ns_writer ns_writer;

typedef struct ns_writer_options {
	const char *lang; /* stemming language; NULL means "english" */
} ns_writer_options;

/*! ns_writer_open() :
** Starts building a new generation of the index in directory `dir`, which is
** created if missing.  `opt` may be NULL for the defaults.
** On success *out is a writer; on failure *out is NULL and, when errmsg is
** not NULL, *errmsg receives a caller-owned message (free with ns_free).
** @return NS_OK, NS_EINVAL (unknown language), NS_EIO, NS_ENOMEM. */
NS_API int ns_writer_open(const char *dir, const ns_writer_options *opt,
                          ns_writer **out, char **errmsg);

/*! One document.  Strings need not be NUL-terminated where a length is
** given; all are copied by ns_writer_add(), so they may be freed after it. */
typedef struct ns_doc {
	const char *id;     /* external id, unique in the index (required) */
	const char *title;  /* may be NULL or "" */
	const char *path;   /* source path, may be NULL */
	const char *text;   /* the text that is indexed and stored (UTF-8) */
	size_t text_len;
	uint64_t size;      /* source size in bytes (informational) */
	int64_t mtime;      /* source modification time, seconds since epoch */
} ns_doc;

/*! ns_writer_add() : analyses and buffers one document.
** Invalid UTF-8 is tolerated (bad bytes are treated as separators).
** @return NS_OK; NS_EINVAL when this document is rejected (no id, a
** duplicate id, larger than 2 GiB: ns_writer_errmsg says which) and the
** writer goes on; or a sticky error after which the build cannot be
** committed: NS_ENOMEM, NS_EIO, NS_ELIMIT. */
NS_API int ns_writer_add(ns_writer *w, const ns_doc *doc);

/*! ns_writer_commit() : writes the index files and publishes them with an
** atomic rename; the previous generation's files are then removed.  The
** writer cannot be used afterwards except to close it.
** @return NS_OK, NS_EIO, NS_ENOMEM. */
NS_API int ns_writer_commit(ns_writer *w);

/*! Counters of a writer, valid after ns_writer_commit(). */
typedef struct ns_writer_stats {
	uint64_t n_docs, n_terms, n_postings, n_positions;
	uint64_t input_bytes, index_bytes;
} ns_writer_stats;
NS_API void ns_writer_get_stats(const ns_writer *w, ns_writer_stats *out);

/*! ns_writer_errmsg() : @return a message for the last failure (borrowed,
** valid until the next call on the writer), or "" if none. */
NS_API const char *ns_writer_errmsg(const ns_writer *w);

/*! ns_writer_close() : frees the writer.  An uncommitted build is
** abandoned and its temporary files removed; the published index stays as
** it was.  Accepts NULL. */
NS_API void ns_writer_close(ns_writer *w);

/* ------------------------------------------------------------------------ */
/* Reading and searching                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ns_index ns_index;
typedef struct ns_results ns_results;

/*! ns_index_open() :
** Opens the published generation in `dir` and verifies every file (magic,
** format version, CRC32 of the whole file; for the document store, the CRC32
** of its block index, each block's own CRC32 being checked when it is read).  On failure *out is NULL and, when errmsg is not
** NULL, *errmsg receives a caller-owned message naming the problem, e.g.
** "seg_000001.post: checksum mismatch" (free with ns_free).
** @return NS_OK, NS_ENOTFOUND, NS_EVERSION, NS_ECORRUPT, NS_EIO, NS_ENOMEM. */
NS_API int ns_index_open(const char *dir, ns_index **out, char **errmsg);

/*! ns_index_close() : accepts NULL. Results from this index must be freed
** first. */
NS_API void ns_index_close(ns_index *ix);

/*! Index statistics. */
typedef struct ns_index_stats {
	uint64_t n_docs, n_terms, n_postings, n_positions;
	double avgdl;             /* average document length in tokens */
	uint64_t total_tokens;
	uint64_t bytes_dict, bytes_postings, bytes_positions, bytes_docs,
	    bytes_store, bytes_total;
	uint32_t n_segments;
	uint64_t generation;
	char lang[32];
} ns_index_stats;
NS_API void ns_index_get_stats(const ns_index *ix, ns_index_stats *out);

/*! Search options.  Initialise with ns_search_options_init(). */
typedef struct ns_search_options {
	size_t k;       /* hits to return (default 10) */
	double k1, b;   /* BM25 parameters (defaults 0.9 and 0.4) */
	int count_only; /* 1: only count matches, return no hits */
	int plain;      /* 1: no query syntax: every word of the text is an
	                   optional term (for natural-language topics) */
} ns_search_options;
NS_API void ns_search_options_init(ns_search_options *opt);

/*! ns_search() :
** Parses `query` (syntax in README and nsearch(1): words are OR-ed and
** ranked by BM25; +word required; -word excluded; AND, OR, NOT and
** parentheses; "exact phrase") and returns the best k hits by BM25 score,
** ties broken by ascending document number.  `opt` may be NULL.
** On failure *out is NULL and, when errmsg is not NULL, *errmsg receives a
** caller-owned message (e.g. "unbalanced parenthesis at offset 7").
** Thread-safe for concurrent calls on the same index.
** @return NS_OK (zero hits included), NS_ESYNTAX, NS_EINVAL, NS_ECORRUPT,
** NS_ENOMEM. */
NS_API int ns_search(ns_index *ix, const char *query,
                     const ns_search_options *opt, ns_results **out,
                     char **errmsg);

/*! Number of hits in the result (<= k). */
NS_API size_t ns_results_count(const ns_results *r);
/*! Total number of matching documents (every match, not just the top k). */
NS_API uint64_t ns_results_total(const ns_results *r);
/*! Accessors for hit i (0-based, i < ns_results_count).  Strings are
** borrowed from the index and stay valid until ns_index_close(). */
NS_API double ns_results_score(const ns_results *r, size_t i);
NS_API uint64_t ns_results_docno(const ns_results *r, size_t i);
NS_API const char *ns_results_id(const ns_results *r, size_t i);
NS_API const char *ns_results_title(const ns_results *r, size_t i);
NS_API const char *ns_results_path(const ns_results *r, size_t i);

/*! ns_snippet() :
** Builds a snippet of about `max_tokens` tokens of hit i's stored text, the
** window that holds the most distinct query words, with each matched word
** wrapped in `open` and `close` (e.g. "\033[1;31m" and "\033[0m", or "" and
** ""). Newlines and runs of blanks become single spaces; "..." marks cut
** text.  *out is caller-owned (ns_free).
** @return NS_OK, NS_ECORRUPT (damaged document store), NS_ENOMEM. */
NS_API int ns_snippet(const ns_results *r, size_t i, const char *open,
                      const char *close, size_t max_tokens, char **out);

/*! ns_results_free() : accepts NULL. */
NS_API void ns_results_free(ns_results *r);

/* ------------------------------------------------------------------------ */
/* Checking                                                                 */
/* ------------------------------------------------------------------------ */

/*! ns_index_check() :
** Verifies every file of the published generation: checksums, then the
** structure of every dictionary entry, posting block, position block, the
** document table and every compressed store block.  Each problem found is
** reported through `report` (may be NULL) as one line.
** @return NS_OK when sound, NS_ECORRUPT when a problem was found,
** NS_ENOTFOUND, NS_EIO, NS_ENOMEM. */
NS_API int ns_index_check(const char *dir,
                          void (*report)(void *ctx, const char *line),
                          void *ctx);

#ifdef __cplusplus
}
#endif
#endif
