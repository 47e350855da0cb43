/*
** fts5_peer.c -- SQLite FTS5 driver for the nsearch peer protocol
** (bench/peers/README.md).
**
** Index: INDEX_DIR/index.sqlite holds
**
**   CREATE VIRTUAL TABLE docs USING fts5(body, content='',
**                                        tokenize='porter unicode61');
**   CREATE TABLE ids(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL);
**
** The FTS5 table is contentless: it keeps the inverted index (with
** positions, detail=full) but not a copy of the text, like the other
** engines, which store only the id.  The stream's id goes in the ids table
** under the same rowid (the "id UNINDEXED" column of a content table,
** without the text beside it).  All inserts run in one transaction with
** prepared statements; the merge step is FTS5's 'optimize' (one b-tree
** segment) followed by VACUUM (drop the pages freed by the merge).
**
** Ranking is bm25() through the table's rank column, ORDER BY rank LIMIT k.
** FTS5's bm25 has k1 = 1.2 and b = 0.75 compiled in: --k1/--b are
** accepted and ignored, with a note on stderr.
*/
#include "../common/peer.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE "fts5"
#define DB_FILE "index.sqlite"

typedef struct Fts5Peer {
  sqlite3 *db;
  sqlite3_stmt *top;      /* rowid, rank of the k best */
  sqlite3_stmt *count;    /* count(*) of the matches */
  sqlite3_stmt *id;       /* id of a rowid */
  fts5_tokenizer tok;     /* porter(unicode61), the table's tokenizer */
  Fts5Tokenizer *tokctx;
  char *expr;             /* MATCH expression being built */
  size_t expr_len, expr_cap;
} Fts5Peer;

static void die_db(sqlite3 *db, const char *what) {
  peer_die(ENGINE, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void exec_sql(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    peer_die(ENGINE, "%s: %s", sql, err ? err : "error");
}

static char *db_path(const char *dir) {
  size_t n = strlen(dir) + sizeof DB_FILE + 2;
  char *p = malloc(n);
  if (!p) peer_die(ENGINE, "out of memory");
  snprintf(p, n, "%s/%s", dir, DB_FILE);
  return p;
}

static void note_bm25_params(const peer_args *a) {
  if (a->k1_set || a->b_set)
    fprintf(stderr, ENGINE ": bm25() has k1=1.2 b=0.75 built in; "
                    "--k1/--b are ignored\n");
}

/* ---- index -------------------------------------------------------------- */

static int cmd_index(const peer_args *a) {
  sqlite3 *db = NULL;
  sqlite3_stmt *ins_doc = NULL, *ins_id = NULL;
  peer_reader rd = {stdin, NULL, 0, 0};
  peer_doc d;
  long n = 0;
  double t0, t_merge = 0, merge_s = 0;
  char *path;

  note_bm25_params(a);
  if (peer_reset_dir(a->dir) != 0) return 1;
  path = db_path(a->dir);
  t0 = peer_now_us();
  if (sqlite3_open(path, &db) != SQLITE_OK) die_db(db, path);
  free(path);
  /* 256 MiB page cache, like Lucene's RAM buffer in this benchmark. */
  exec_sql(db, "PRAGMA cache_size=-262144");
  exec_sql(db, "CREATE VIRTUAL TABLE docs USING fts5(body, content='', "
               "tokenize='porter unicode61')");
  exec_sql(db, "CREATE TABLE ids(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL)");
  exec_sql(db, "BEGIN");
  if (sqlite3_prepare_v2(db, "INSERT INTO docs(rowid, body) VALUES(?1, ?2)", -1,
                         &ins_doc, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT INTO ids(rowid, id) VALUES(?1, ?2)", -1,
                         &ins_id, NULL) != SQLITE_OK)
    die_db(db, "prepare");
  while (peer_read_doc(&rd, &d)) {
    sqlite3_int64 rowid = (sqlite3_int64)++n;
    sqlite3_bind_int64(ins_doc, 1, rowid);
    sqlite3_bind_text(ins_doc, 2, d.text, (int)d.text_len, SQLITE_STATIC);
    if (sqlite3_step(ins_doc) != SQLITE_DONE) die_db(db, "insert into docs");
    sqlite3_reset(ins_doc);
    sqlite3_bind_int64(ins_id, 1, rowid);
    sqlite3_bind_text(ins_id, 2, d.id, (int)d.id_len, SQLITE_STATIC);
    if (sqlite3_step(ins_id) != SQLITE_DONE) die_db(db, "insert into ids");
    sqlite3_reset(ins_id);
  }
  sqlite3_finalize(ins_doc);
  sqlite3_finalize(ins_id);
  exec_sql(db, "COMMIT");
  if (a->merge) {
    t_merge = peer_now_us();
    exec_sql(db, "INSERT INTO docs(docs) VALUES('optimize')");
    exec_sql(db, "VACUUM");
    merge_s = (peer_now_us() - t_merge) / 1e6;
  }
  if (sqlite3_close(db) != SQLITE_OK) die_db(db, "close");
  peer_reader_free(&rd);
  peer_print_index(ENGINE, n, (peer_now_us() - t0) / 1e6, merge_s,
                   peer_dir_bytes(a->dir));
  return 0;
}

/* ---- query translation -------------------------------------------------- */

static void expr_add(Fts5Peer *p, const char *s, size_t n) {
  if (p->expr_len + n + 1 > p->expr_cap) {
    while (p->expr_len + n + 1 > p->expr_cap)
      p->expr_cap = p->expr_cap ? 2 * p->expr_cap : 1024;
    p->expr = realloc(p->expr, p->expr_cap);
    if (!p->expr) peer_die(ENGINE, "out of memory");
  }
  memcpy(p->expr + p->expr_len, s, n);
  p->expr_len += n;
  p->expr[p->expr_len] = '\0';
}

static void expr_str(Fts5Peer *p, const char *s) { expr_add(p, s, strlen(s)); }

/* Append s[0..n) as an FTS5 string: "..." with " doubled. */
static void expr_quoted(Fts5Peer *p, const char *s, size_t n) {
  size_t i, start = 0;
  expr_add(p, "\"", 1);
  for (i = 0; i < n; i++)
    if (s[i] == '"') {
      expr_add(p, s + start, i - start + 1);
      expr_add(p, "\"", 1);
      start = i + 1;
    }
  expr_add(p, s + start, n - start);
  expr_add(p, "\"", 1);
}

/* Tokenizer callback state: the byte spans of the tokens of a text. */
typedef struct TokSpans {
  int n, cap;
  int *start, *end;
} TokSpans;

static int tok_span(void *ctx, int flags, const char *tok, int ntok, int start,
                    int end) {
  TokSpans *s = ctx;
  (void)tok;
  (void)ntok;
  if (flags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->start = realloc(s->start, (size_t)s->cap * sizeof *s->start);
    s->end = realloc(s->end, (size_t)s->cap * sizeof *s->end);
    if (!s->start || !s->end) return SQLITE_NOMEM;
  }
  s->start[s->n] = start;
  s->end[s->n] = end;
  s->n++;
  return SQLITE_OK;
}

/* Token spans of text[0..n) under the table's tokenizer; -1 on error. */
static int tokenize(Fts5Peer *p, const char *text, size_t n, TokSpans *out) {
  out->n = 0;
  if (n == 0) return 0;
  return p->tok.xTokenize(p->tokctx, out, FTS5_TOKENIZE_QUERY, text, (int)n,
                          tok_span) == SQLITE_OK ? 0 : -1;
}

/* One clause of a benchmark-game query. */
typedef struct Clause {
  char sign;         /* '+', '-' or 0 */
  const char *s;     /* word or phrase content */
  size_t n;
} Clause;

/* Translate the benchmark-game syntax into an FTS5 expression in p->expr:
**   a b        -> "a" OR "b"
**   +a +b      -> "a" AND "b"
**   "a b"      -> "a b"
**   +a -b      -> ("a") NOT "b"
**   +a b       -> "a"        (FTS5 has no optional scoring-only terms)
** Clauses that hold no token (punctuation only) are dropped, as Lucene's
** analyzer drops them.  A query left with no positive clause (empty, or
** only -terms) matches nothing, as in Lucene: p->expr is left empty. */
static int translate(Fts5Peer *p, const char *q, char *err, size_t errlen) {
  Clause cl[256];
  int ncl = 0, i, nreq = 0, nopt = 0, first;
  const char *s = q;
  TokSpans spans = {0, 0, NULL, NULL};

  while (*s) {
    Clause c = {0, NULL, 0};
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) break;
    if (*s == '+' || *s == '-') c.sign = *s++;
    if (*s == '"') {
      const char *e = strchr(s + 1, '"');
      c.s = s + 1;
      c.n = e ? (size_t)(e - s - 1) : strlen(s + 1);
      s = e ? e + 1 : s + 1 + c.n;
    } else {
      c.s = s;
      while (*s && *s != ' ' && *s != '\t') s++;
      c.n = (size_t)(s - c.s);
    }
    if (tokenize(p, c.s, c.n, &spans) != 0) {
      snprintf(err, errlen, "tokenizer failed");
      free(spans.start);
      free(spans.end);
      return -1;
    }
    if (spans.n == 0) continue;
    if (ncl == (int)(sizeof cl / sizeof cl[0])) {
      snprintf(err, errlen, "too many clauses");
      free(spans.start);
      free(spans.end);
      return -1;
    }
    cl[ncl++] = c;
    if (c.sign == '+') nreq++;
    else if (!c.sign) nopt++;
  }
  free(spans.start);
  free(spans.end);
  p->expr_len = 0;
  if (nreq + nopt == 0) return 0;
  expr_str(p, "(");
  for (i = 0, first = 1; i < ncl; i++) {
    if (nreq ? cl[i].sign != '+' : cl[i].sign != 0) continue;
    if (!first) expr_str(p, nreq ? " AND " : " OR ");
    expr_quoted(p, cl[i].s, cl[i].n);
    first = 0;
  }
  expr_str(p, ")");
  for (i = 0; i < ncl; i++)
    if (cl[i].sign == '-') {
      /* (x) NOT y NOT z: FTS5's NOT is binary and left-associative. */
      expr_str(p, " NOT ");
      expr_quoted(p, cl[i].s, cl[i].n);
    }
  return 0;
}

/* Bag of words for the relevance runs: each token of the text, quoted,
** joined by OR.  A repeated word stays repeated, so bm25() counts it
** twice (Lucene's driver boosts it by its count: the same effect). */
static int bag_of_words(Fts5Peer *p, const char *q, char *err, size_t errlen) {
  TokSpans spans = {0, 0, NULL, NULL};
  int i;
  if (tokenize(p, q, strlen(q), &spans) != 0) {
    snprintf(err, errlen, "tokenizer failed");
    free(spans.start);
    free(spans.end);
    return -1;
  }
  p->expr_len = 0;
  for (i = 0; i < spans.n; i++) {
    if (i) expr_str(p, " OR ");
    expr_quoted(p, q + spans.start[i], (size_t)(spans.end[i] - spans.start[i]));
  }
  free(spans.start);
  free(spans.end);
  return 0;
}

/* ---- query -------------------------------------------------------------- */

static int run_query(void *ctx, const char *query, peer_mode mode, int k,
                     peer_hits *out) {
  Fts5Peer *p = ctx;
  sqlite3_stmt *st;
  int rc;
  if (mode == PEER_MODE_TREC) {
    if (bag_of_words(p, query, out->err, sizeof out->err) != 0) return -1;
  } else if (translate(p, query, out->err, sizeof out->err) != 0) {
    return -1;
  }
  if (p->expr_len == 0) return 0;  /* nothing to match: no hit */
  if (mode == PEER_MODE_COUNT) {
    st = p->count;
    sqlite3_bind_text(st, 1, p->expr, (int)p->expr_len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) out->count = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) goto fail;
    return 0;
  }
  st = p->top;
  sqlite3_bind_text(st, 1, p->expr, (int)p->expr_len, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, k);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 rowid = sqlite3_column_int64(st, 0);
    double score = -sqlite3_column_double(st, 1);  /* rank = -bm25 score */
    int rc2;
    sqlite3_bind_int64(p->id, 1, rowid);
    rc2 = sqlite3_step(p->id);
    if (rc2 == SQLITE_ROW)
      peer_hits_add(out, (const char *)sqlite3_column_text(p->id, 0),
                    (size_t)sqlite3_column_bytes(p->id, 0), score);
    sqlite3_reset(p->id);
    if (rc2 != SQLITE_ROW) {
      snprintf(out->err, sizeof out->err, "no id for rowid %lld", (long long)rowid);
      sqlite3_reset(st);
      return -1;
    }
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) goto fail;
  out->count = (long)out->n;
  return 0;
fail:
  snprintf(out->err, sizeof out->err, "%s (expression: %s)", sqlite3_errmsg(p->db),
           p->expr);
  return -1;
}

static fts5_api *get_fts5_api(sqlite3 *db) {
  fts5_api *api = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
  sqlite3_step(st);
  sqlite3_finalize(st);
  return api;
}

static int cmd_query(const peer_args *a) {
  Fts5Peer p;
  fts5_api *api;
  void *ud = NULL;
  const char *tokargs[] = {"unicode61"};
  char *path = db_path(a->dir);
  int rc;

  memset(&p, 0, sizeof p);
  note_bm25_params(a);
  if (sqlite3_open_v2(path, &p.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    die_db(p.db, path);
  free(path);
  exec_sql(p.db, "PRAGMA cache_size=-262144");
  if (sqlite3_prepare_v2(p.db,
                         "SELECT rowid, rank FROM docs WHERE docs MATCH ?1 "
                         "ORDER BY rank LIMIT ?2", -1, &p.top, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(p.db, "SELECT count(*) FROM docs WHERE docs MATCH ?1",
                         -1, &p.count, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(p.db, "SELECT id FROM ids WHERE rowid = ?1", -1, &p.id,
                         NULL) != SQLITE_OK)
    die_db(p.db, "prepare (is this an index built by the fts5 driver?)");
  api = get_fts5_api(p.db);
  if (!api) peer_die(ENGINE, "this SQLite has no FTS5");
  if (api->xFindTokenizer(api, "porter", &ud, &p.tok) != SQLITE_OK ||
      p.tok.xCreate(ud, tokargs, 1, &p.tokctx) != SQLITE_OK)
    peer_die(ENGINE, "cannot create the porter tokenizer");

  rc = peer_run_queries(a, ENGINE, run_query, &p);

  p.tok.xDelete(p.tokctx);
  sqlite3_finalize(p.top);
  sqlite3_finalize(p.count);
  sqlite3_finalize(p.id);
  sqlite3_close(p.db);
  free(p.expr);
  return rc;
}

static int cmd_version(void) {
  printf("%s: SQLite %s, FTS5 %s\n", ENGINE, sqlite3_libversion(),
         sqlite3_compileoption_used("ENABLE_FTS5") ? "compiled in" : "MISSING");
  return sqlite3_compileoption_used("ENABLE_FTS5") ? 0 : 1;
}

int main(int argc, char **argv) {
  peer_args a;
  peer_parse_args(argc, argv, ENGINE, &a);
  switch (a.cmd) {
  case PEER_CMD_INDEX: return cmd_index(&a);
  case PEER_CMD_QUERY: return cmd_query(&a);
  case PEER_CMD_VERSION: return cmd_version();
  }
  return 2;
}
