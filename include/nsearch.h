/*
** nsearch.h -- the public API of libnsearch, a full-text search engine.
**
** Introduction
** ------------
** An index is a directory (by default ".nsearch").  A *writer* builds a new
** generation of it from documents you add, and publishes it atomically with
** ns_writer_commit(): readers, and a crash at any moment, see either the
** previous generation or the new one, never a mix.  A *reader* (ns_index)
** opens the published generation, verifies every file (magic, format
** version, CRC32; the document store's blocks are verified when read) and
** answers BM25-ranked queries with ns_search().
**
** Build with `pkg-config --cflags --libs nsearch` (shared library) or
** `pkg-config --static --cflags --libs nsearch`; examples/embed.c is a
** complete program.
**
** Conventions
** -----------
** - Every fallible function returns int: NS_OK (0) on success or a negative
**   ns_status.  Results come back through OUT parameters; on failure an OUT
**   object pointer is set to NULL.
** - The handles (ns_writer, ns_index, ns_results) are opaque.  They come in
**   open/close (or search/free) pairs; close and free functions accept NULL.
** - Pointer arguments must not be NULL unless the function's comment says
**   so.  Those that may be NULL: every `opt` (meaning the defaults), every
**   `errmsg`, the `report` of ns_index_check(), the title, path and text of
**   an ns_doc, and the argument of ns_free(), ns_writer_errmsg(),
**   ns_writer_close(), ns_index_close() and ns_results_free().
** - Strings returned as `const char *` are borrowed: they stay valid for
**   the lifetime stated next to the function, and the caller must not free
**   them.  Strings returned through `char **` (error messages, snippets)
**   are owned by the caller and released with ns_free(), never free(): the
**   library may use another allocator.  Strings passed in are copied when
**   kept; the caller keeps ownership of everything it passes.
** - Errors: functions that can fail for more than one reason take a
**   `char **errmsg` and store there a caller-owned English message (or NULL
**   on success); a writer keeps its last message (ns_writer_errmsg()).
**   ns_strerror() describes a bare status code.
** - Thread safety: the library's little global state (the language list,
**   the codec kernel chosen for this CPU) is set up thread-safely on first
**   use, so separate handles may be used from separate threads freely.
**   One ns_index may be searched from many threads at once: ns_search(),
**   ns_snippet(), ns_index_get_stats() and the ns_results accessors only
**   read it; it must not be closed while another thread still uses it or
**   its results.  An ns_results and an ns_writer must each be used by one
**   thread at a time.
**   ns_version(), ns_strerror(), ns_languages(), ns_search_options_init()
**   and ns_index_check() may be called from any thread at any time.
** - Processes: one writer at a time may hold an index directory (others get
**   NS_ELOCKED); any number of readers may open it, also while a writer
**   commits, and keep reading the generation they opened.
*/
#ifndef NSEARCH_H
#define NSEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header.  ns_version() gives the library's at run
** time; within one soname (libnsearch.so.0) a program may run against a
** newer library than it was compiled with. */
#define NSEARCH_VERSION_MAJOR 0
#define NSEARCH_VERSION_MINOR 2
#define NSEARCH_VERSION_PATCH 0
#define NSEARCH_VERSION_STRING "0.2.0"
#define NSEARCH_VERSION_NUMBER                                             \
	(NSEARCH_VERSION_MAJOR * 10000 + NSEARCH_VERSION_MINOR * 100 +         \
	 NSEARCH_VERSION_PATCH)

/* NS_API marks the exported functions.  The library is compiled with
** -fvisibility=hidden and NS_BUILDING_LIBRARY, and src/libnsearch.map lists
** the same functions for the shared library; users see a plain
** declaration. */
#if defined(__GNUC__) && defined(NS_BUILDING_LIBRARY)
#define NS_API __attribute__((visibility("default")))
#else
#define NS_API
#endif

/*! Status codes, returned as int.  NS_DONE is not an error (an internal
** iterator ran out); no public function returns it. */
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

/*! ns_version() : @return the version of the library that is running,
** e.g. "0.1.0": a static string.  Compare it with NSEARCH_VERSION_STRING,
** the version of the header a program was compiled with. */
NS_API const char *ns_version(void);

/*! ns_strerror() : @return a static English description of status code
** `rc`, e.g. "index is corrupt"; "unknown error" for a value that is not an
** ns_status.  Never NULL. */
NS_API const char *ns_strerror(int rc);

/*! ns_free() : releases memory that the library handed to the caller
** through a `char **` (error messages, snippets).  Accepts NULL. */
NS_API void ns_free(void *p);

/*! ns_languages() : @return a NULL-terminated static array with the name of
** every stemming language (libstemmer's algorithms, e.g. "english"), then
** "none" (no stemming).  The array and its strings are static: never free
** them. */
NS_API const char *const *ns_languages(void);

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct ns_writer ns_writer;

/*! Writer modes (ns_writer_options.mode). */
enum {
	NS_WRITE_REPLACE = 0, /* build a new index from scratch: the committed
	                         generation holds only the documents added */
	NS_WRITE_UPDATE = 1   /* keep the published documents: add new ones
	                         (replacing a published document with the same
	                         id), delete with ns_writer_delete() */
};

/*! Segment merging at commit in NS_WRITE_UPDATE mode (.merge). */
enum {
	NS_MERGE_TIERED = 0,  /* merge small segments into larger ones (each
	                         segment at least twice the size of the next
	                         newer one) and segments that are mostly
	                         deleted: a few segments, each document
	                         rewritten O(log n) times over its life */
	NS_MERGE_NONE = 1,    /* never merge (one new segment per commit) */
	NS_MERGE_ALL = 2      /* merge everything into one segment, dropping
	                         deleted documents ("nsearch optimize") */
};

/*! Writer options.  Zero-initialise, then set what you need. */
typedef struct ns_writer_options {
	const char *lang; /* stemming language, one of ns_languages() (any
	                     case); NULL means "english", or in
	                     NS_WRITE_UPDATE mode the index's language (a
	                     different one is NS_EINVAL); copied */
	size_t memory;    /* memory budget in bytes: the vocabulary, the
	                     per-document tables (about 12 to 20 bytes a
	                     document) and buffered postings (which get at
	                     least a quarter); when reached, a sorted run is
	                     written to disk, and the runs are merged at
	                     commit. 0 = 256 MiB */
	int threads;      /* analysis threads; 0 = one per CPU, 1 = none (all
	                     work in the calling thread).  The index is the
	                     same for every value. */
	int mode;         /* NS_WRITE_REPLACE (0) or NS_WRITE_UPDATE */
	int merge;        /* NS_MERGE_TIERED (0), NS_MERGE_NONE, NS_MERGE_ALL */
} ns_writer_options;

/*! ns_writer_open() :
** Starts a new generation of the index in directory `dir` (a path, not
** NULL), which is created if missing (its parent must exist), and takes
** the index's writer lock until ns_writer_close().  With mode
** NS_WRITE_REPLACE (the default) the new generation replaces the whole
** index when committed: documents of the previous one are not carried
** over.  With NS_WRITE_UPDATE the published documents stay: additions go
** to a new segment, deletions are recorded beside the old segments, and
** ns_writer_commit() publishes both at once (an update of a missing or
** unreadable index, or of an index of another format version, is a full
** build).  `opt` may be NULL for the defaults.
** On success *out is a writer, to be released with ns_writer_close().  On
** failure *out is NULL and, when errmsg is not NULL, *errmsg receives a
** caller-owned message (free with ns_free); *errmsg is NULL on success.
** @return NS_OK; NS_EINVAL (unknown language, or a language other than
** the index's in NS_WRITE_UPDATE mode, or a bad mode); NS_ELOCKED
** (another writer, in this or another process, holds the index); NS_EIO
** (cannot create the directory or files); NS_ENOMEM. */
NS_API int ns_writer_open(const char *dir, const ns_writer_options *opt,
                          ns_writer **out, char **errmsg);

/*! One document.  id, title and path are NUL-terminated; text is text_len
** bytes and need not be.  All are copied by ns_writer_add(), so they may be
** freed or reused as soon as it returns. */
typedef struct ns_doc {
	const char *id;     /* external id, unique in the index (required) */
	const char *title;  /* may be NULL or "" */
	const char *path;   /* source path, may be NULL */
	const char *text;   /* the text that is indexed and stored (UTF-8);
	                       NULL is an empty text */
	size_t text_len;
	uint64_t size;      /* source size in bytes (informational) */
	int64_t mtime;      /* source modification time, seconds since epoch */
} ns_doc;

/*! ns_writer_add() : analyses and buffers one document (`doc` is only
** read, and not kept).  Invalid UTF-8 is tolerated (bad bytes are treated
** as separators).  In NS_WRITE_UPDATE mode a published document with the
** same id is deleted: the new one replaces it.
** @return NS_OK; NS_EINVAL when this document is rejected (NULL doc, no id,
** an id already added to this writer, larger than 2 GiB:
** ns_writer_errmsg says which) and the writer goes on, or when the writer
** was already committed; or a sticky error, returned again by every later
** call, after which the build cannot be committed: NS_ENOMEM, NS_EIO,
** NS_ELIMIT, NS_ECORRUPT (a damaged published document, in
** NS_WRITE_UPDATE mode). */
NS_API int ns_writer_add(ns_writer *w, const ns_doc *doc);

/*! ns_writer_delete() : deletes the published document with external id
** `id` (NUL-terminated, not NULL) from the generation being built
** (NS_WRITE_UPDATE mode; documents added to this writer cannot be
** deleted).  Takes effect at ns_writer_commit().
** @return NS_OK; NS_ENOTFOUND when no live published document has that
** id (also after an earlier delete of it); NS_EINVAL in NS_WRITE_REPLACE
** mode or after commit; or a sticky error as for ns_writer_add(). */
NS_API int ns_writer_delete(ns_writer *w, const char *id);

/*! ns_writer_commit() : writes the index files (in NS_WRITE_UPDATE mode:
** the new segment, if documents were added or segments merged, and the
** deletion files), syncs them and the directory, and publishes them with
** an atomic rename; files of the previous generation that the new one
** does not use are then removed (readers that have it open keep reading
** it).  A writer with no documents in NS_WRITE_REPLACE mode commits an
** empty index.  Afterwards the writer can only be
** queried (ns_writer_get_stats) and closed.
** @return NS_OK; NS_EINVAL when already committed; NS_EIO, NS_ENOMEM, or
** the sticky error of an earlier ns_writer_add() (see ns_writer_errmsg):
** then nothing was published and the previous generation is intact. */
NS_API int ns_writer_commit(ns_writer *w);

/*! Counters of a writer. */
typedef struct ns_writer_stats {
	uint64_t n_docs, n_terms, n_postings, n_positions;
	uint64_t input_bytes, index_bytes;
	uint64_t n_deleted;  /* published documents deleted or replaced */
	uint64_t n_merged;   /* documents rewritten by segment merges */
	uint32_t n_segments; /* segments of the committed generation */
} ns_writer_stats;
/*! ns_writer_get_stats() : copies the writer's counters into *out (both
** not NULL).  n_docs, n_postings, n_positions and input_bytes count the
** documents added so far (merged ones included once committed); n_terms,
** index_bytes (the new segment's), n_merged and n_segments are set only by
** a successful ns_writer_commit(). */
NS_API void ns_writer_get_stats(const ns_writer *w, ns_writer_stats *out);

/*! ns_writer_errmsg() : @return a message for the last failure of
** ns_writer_add() or ns_writer_commit(): borrowed, valid until the next call
** on the writer or ns_writer_close(); "" if none or if w is NULL. */
NS_API const char *ns_writer_errmsg(const ns_writer *w);

/*! ns_writer_close() : releases the writer lock and frees the writer.
** An uncommitted build is abandoned and its files removed; the published
** index stays as it was.  Accepts NULL. */
NS_API void ns_writer_close(ns_writer *w);

/* ------------------------------------------------------------------------ */
/* Reading and searching                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ns_index ns_index;
typedef struct ns_results ns_results;

/*! ns_index_open() :
** Opens the published generation in `dir` (not NULL) for reading, maps its
** files (reads them in builds with NS_NO_MMAP) and verifies every file
** (magic, format version, CRC32 of the whole file; for the document store,
** the CRC32 of its block index, each block's own CRC32 being checked when
** it is read).  On success *out is an index, to be released with
** ns_index_close().  On failure *out is NULL and, when errmsg is not NULL,
** *errmsg receives a caller-owned message naming the problem, e.g.
** "seg_000001.post: checksum mismatch" (free with ns_free); *errmsg is NULL
** on success.  The handle sees this generation until it is closed, even
** after a writer publishes a newer one: reopen to see that.  Any number of
** handles may be open on one directory.
** @return NS_OK, NS_ENOTFOUND (no published index in dir), NS_EVERSION,
** NS_ECORRUPT, NS_EIO, NS_ENOMEM. */
NS_API int ns_index_open(const char *dir, ns_index **out, char **errmsg);

/*! ns_index_close() : unmaps the files and frees the index.  Accepts NULL.
** No other thread may still be using it.  Results of this index remain
** valid for their accessors and ns_results_free(), but ns_snippet() must
** not be called on them any more (it reads the index). */
NS_API void ns_index_close(ns_index *ix);

/*! Index statistics. */
typedef struct ns_index_stats {
	uint64_t n_docs;          /* live documents (deleted ones excluded) */
	uint64_t n_deleted;       /* deleted documents still in segments */
	uint64_t n_terms, n_postings, n_positions; /* summed over segments,
	                             deleted documents included */
	double avgdl;             /* average document length in tokens */
	uint64_t total_tokens;
	uint64_t bytes_dict, bytes_postings, bytes_positions, bytes_docs,
	    bytes_store, bytes_deletions, bytes_total;
	uint32_t n_segments;
	uint64_t generation;
	char lang[32];            /* stemming language, NUL-terminated */
} ns_index_stats;
/*! ns_index_get_stats() : fills *out (both pointers not NULL) with the
** statistics of the open generation.  Thread-safe. */
NS_API void ns_index_get_stats(const ns_index *ix, ns_index_stats *out);

/*! Search options.  Always initialise with ns_search_options_init(), then
** set fields: fields added in later versions then get their defaults. */
typedef struct ns_search_options {
	size_t k;       /* hits to return (default 10) */
	double k1, b;   /* BM25 parameters (defaults 0.9 and 0.4) */
	int count_only; /* 1: only count matches, return no hits */
	int plain;      /* 1: no query syntax: every word of the text is an
	                   optional term (for natural-language topics) */
	int no_total;   /* 1: skip counting every match (faster top-k); then
	                   ns_results_total() is only a lower bound */
	int exhaustive; /* 1: score every matching document, without dynamic
	                   pruning (the reference evaluator; for testing) */
	int stopwords;  /* 1: drop Lucene's 33 classic English stopwords ("a",
	                   "the", "of", "is"...) from the query before stemming,
	                   except inside phrases; a query of only stopwords
	                   keeps them.  Documents are indexed unchanged. */
	int prf;        /* 1: pseudo-relevance feedback (RM3, as Anserini's):
	                   a first search takes the prf_docs best documents,
	                   their prf_terms most weighted terms are added to the
	                   query, and the original query keeps weight
	                   prf_weight.  Costs a second search and reading the
	                   feedback documents.  Applies to queries of terms
	                   and phrases without parentheses (else ignored). */
	size_t prf_docs, prf_terms; /* RM3 fbDocs and fbTerms (default 10, 10;
	                               0 also means 10) */
	double prf_weight;          /* RM3 originalQueryWeight, 0 to 1
	                               (default 0.5) */
} ns_search_options;
/*! ns_search_options_init() : sets *opt (not NULL) to the defaults: k = 10,
** k1 = 0.9, b = 0.4, prf_docs = prf_terms = 10, prf_weight = 0.5, every
** flag 0. */
NS_API void ns_search_options_init(ns_search_options *opt);

/*! ns_search() :
** Parses `query` (syntax in README and nsearch(1): words are OR-ed and
** ranked by BM25; +word required; -word excluded; AND, OR, NOT and
** parentheses; "exact phrase") and returns the best k hits by BM25 score,
** ties broken by ascending document number.  `query` is a NUL-terminated
** UTF-8 string (not NULL); `opt` may be NULL for the defaults; both are
** only read during the call.
** On success *out is a new ns_results, owned by the caller, to be released
** with ns_results_free().  On failure *out is NULL and, when errmsg is not
** NULL, *errmsg receives a caller-owned message (e.g. "unbalanced
** parenthesis at offset 7"; free with ns_free); *errmsg is NULL on success.
** Thread-safe for concurrent calls on the same index.
** @return NS_OK (zero hits included); NS_ESYNTAX (malformed query, or only
** excluded words); NS_EINVAL (NULL query, k1 < 0, b outside [0, 1], k
** above 2^24, prf_weight outside [0, 1] or prf_docs or prf_terms above
** 1000); NS_ECORRUPT (damaged index, found while reading);
** NS_ENOMEM. */
NS_API int ns_search(ns_index *ix, const char *query,
                     const ns_search_options *opt, ns_results **out,
                     char **errmsg);

/*! ns_results_count() : @return the number of hits in r (<= k; 0 with
** count_only or k = 0).  Hits are in rank order: hit 0 is the best. */
NS_API size_t ns_results_count(const ns_results *r);
/*! ns_results_total() : @return the number of matching documents (every
** match, not just the top k; a lower bound with no_total). */
NS_API uint64_t ns_results_total(const ns_results *r);
/*! Accessors for hit i (0-based, i < ns_results_count(r); r not NULL).
** score: the BM25 score; docno: the document's number in this generation
** of the index (0-based, in the order documents were added).  The strings
** are copies owned by r: they stay valid until ns_results_free(r), even
** after the index is closed; never free them.  id is the ns_doc id, title
** and path are "" when the document had none.  For i out of range the
** accessors return 0 or "". */
NS_API double ns_results_score(const ns_results *r, size_t i);
NS_API uint64_t ns_results_docno(const ns_results *r, size_t i);
NS_API const char *ns_results_id(const ns_results *r, size_t i);
NS_API const char *ns_results_title(const ns_results *r, size_t i);
NS_API const char *ns_results_path(const ns_results *r, size_t i);

/*! ns_snippet() :
** Builds a snippet of about `max_tokens` tokens of hit i's stored text, the
** window that holds the most distinct query words, with each matched word
** wrapped in `open` and `close` (NUL-terminated, not NULL: e.g. "\033[1;31m"
** and "\033[0m", or "" and ""); max_tokens 0 means 30.  Newlines and runs of
** blanks become single spaces, invalid UTF-8 becomes U+FFFD; "..." marks
** cut text.  Reads the document store, so the index of r must still be
** open.  On success *out is a caller-owned NUL-terminated string (free with
** ns_free); on failure *out is NULL.  Safe to call from several threads at
** once on different results of one index.
** @return NS_OK, NS_EINVAL (i out of range), NS_ECORRUPT (damaged document
** store), NS_ENOMEM. */
NS_API int ns_snippet(const ns_results *r, size_t i, const char *open,
                      const char *close, size_t max_tokens, char **out);

/*! ns_results_free() : frees r and the strings its accessors returned.
** Accepts NULL. */
NS_API void ns_results_free(ns_results *r);

/* ------------------------------------------------------------------------ */
/* Checking                                                                 */
/* ------------------------------------------------------------------------ */

/*! ns_index_check() :
** Verifies every file of the published generation: checksums, then the
** structure of every dictionary entry, posting block, position block, the
** document table and every compressed store block.  Each problem found is
** reported through `report` (may be NULL) as one line, a NUL-terminated
** string valid only during the call; `ctx` is passed through untouched.
** Opens its own read-only view of `dir` (not NULL), so it may run while
** other handles are open; it takes no lock, and a writer that commits
** meanwhile may make it report the replaced files as missing: run it again.
** @return NS_OK when sound; NS_ECORRUPT when a problem was found (a file
** that cannot be read counts as one); NS_EVERSION when files were written
** by another format version; NS_ENOTFOUND (no index in dir); NS_ENOMEM. */
NS_API int ns_index_check(const char *dir,
                          void (*report)(void *ctx, const char *line),
                          void *ctx);

#ifdef __cplusplus
}
#endif
#endif
