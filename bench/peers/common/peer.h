/*
** peer.h -- the part of the peer-driver protocol shared by the C and C++
** drivers (bench/peers/fts5, bench/peers/xapian).
**
** The protocol itself is written down in bench/peers/README.md.  This
** module owns everything in it that does not depend on the engine:
** the command line, the document stream (id TAB title TAB text, escaped),
** the query file (qid TAB query), the timing loop (warm-up passes, R
** repeats, median) and the output lines.  A driver supplies two things:
** an index builder that pulls documents with peer_read_doc(), and one
** query callback (peer_query_fn) that peer_run_queries() calls and times.
**
** Lucene's driver (bench/peers/lucene/LucenePeer.java) is a Java copy of
** the same rules; keep the two in step.
*/
#ifndef NS_PEER_H
#define NS_PEER_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { PEER_CMD_INDEX, PEER_CMD_QUERY, PEER_CMD_VERSION } peer_cmd;
typedef enum { PEER_MODE_TOP, PEER_MODE_COUNT, PEER_MODE_TREC } peer_mode;

/* Parsed command line.  k1/b are the BM25 parameters (defaults 0.9/0.4,
** Anserini's); k1_set/b_set say whether the user gave them. */
typedef struct peer_args {
  peer_cmd cmd;
  const char *dir;          /* INDEX_DIR */
  peer_mode mode;           /* query: --mode */
  int k;                    /* query: --k (10 for top, 1000 for trec) */
  int repeat;               /* query: --repeat R, median of R runs */
  int warmup;               /* query: --warmup N untimed passes (default 1) */
  double k1, b;
  int k1_set, b_set;
  int merge;                /* index: merge to one segment (default 1) */
} peer_args;

/* Parse argv; print usage and exit(2) on a usage error. */
void peer_parse_args(int argc, char **argv, const char *engine, peer_args *a);

/* ---- document stream --------------------------------------------------- */

/* One document.  The strings point into the reader's line buffer, are
** unescaped and NUL-terminated, and are valid until the next call. */
typedef struct peer_doc {
  char *id, *title, *text;
  size_t id_len, title_len, text_len;
} peer_doc;

typedef struct peer_reader {
  FILE *f;
  char *line;
  size_t cap;
  long lineno;
} peer_reader;

/* Read the next document: 1 = got one, 0 = end of stream.  A malformed
** line (not three fields, or an empty id) is fatal: message, exit(1). */
int peer_read_doc(peer_reader *r, peer_doc *d);
void peer_reader_free(peer_reader *r);

/* ---- files -------------------------------------------------------------- */

/* Make dir exist and be empty (removing what is in it).  0 or -1. */
int peer_reset_dir(const char *dir);
/* Remove dir and everything under it; 0 if it is gone. */
int peer_remove_tree(const char *dir);
/* Total apparent size in bytes of the regular files under dir. */
long long peer_dir_bytes(const char *dir);

/* ---- timing and output -------------------------------------------------- */

double peer_now_us(void);  /* CLOCK_MONOTONIC, microseconds */

/* The index line: {"engine":..,"docs":..,"seconds":..,"index_bytes":..,
** "merge_seconds":..}.  seconds includes merge_seconds. */
void peer_print_index(const char *engine, long docs, double seconds,
                      double merge_seconds, long long bytes);

/* Results of one query, filled by the engine's callback.  Ids are copied
** into an arena owned by the hits object. */
typedef struct peer_hits {
  size_t n, cap;
  size_t *off;              /* offset of id i in arena */
  double *score;
  char *arena;
  size_t used, arena_cap;
  long count;               /* top: hits returned; count: matching docs */
  char err[256];            /* why the query failed (callback returned -1) */
} peer_hits;

void peer_hits_clear(peer_hits *h);
void peer_hits_add(peer_hits *h, const char *id, size_t len, double score);
const char *peer_hits_id(const peer_hits *h, size_t i);
void peer_hits_free(peer_hits *h);

/* The engine's query callback.  Runs `query` in `mode` (k = hits wanted
** for top/trec), fills `out` (ids in rank order for top/trec, out->count
** for count) and returns 0, or returns -1 on an error in this query
** with a message in out->err; the runner reports it once, prints count
** -1 for the query and goes on.  The callback must not throw or exit. */
typedef int (*peer_query_fn)(void *ctx, const char *query, peer_mode mode,
                             int k, peer_hits *out);

/* Read the queries on stdin, run the warm-up passes, time each query
** a->repeat times and print one result line per query on stdout (or the
** TREC run lines).  A summary goes to stderr.  Returns 0 or 1. */
int peer_run_queries(const peer_args *a, const char *engine,
                     peer_query_fn fn, void *ctx);

/* Fatal error: "ENGINE: message" on stderr and exit(1). */
void peer_die(const char *engine, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3), noreturn))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* NS_PEER_H */
