/*
** peer.c -- engine-independent half of the peer-driver protocol: command
** line, document stream, query file, timing loop and output.  See peer.h
** for the interface and bench/peers/README.md for the protocol.
*/
#define _XOPEN_SOURCE 700
#include "peer.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- errors and usage --------------------------------------------------- */

static const char *peerEngine = "peer";

void peer_die(const char *engine, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", engine ? engine : peerEngine);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static void *peerAlloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) peer_die(NULL, "out of memory (%zu bytes)", n);
  return q;
}

static void peerUsage(const char *engine) {
  fprintf(stderr,
          "usage: %s index INDEX_DIR [--k1 X] [--b Y] [--no-merge]  < docs.tsv\n"
          "       %s query INDEX_DIR --mode top|count|trec [--k K] [--repeat R]\n"
          "                [--warmup N] [--k1 X] [--b Y]  < queries.tsv\n"
          "       %s version\n"
          "see bench/peers/README.md for the protocol\n",
          engine, engine, engine);
  exit(2);
}

static int peerNumber(const char *engine, const char *opt, const char *s,
                      double lo, double hi, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "%s: bad value '%s' for %s\n", engine, s, opt);
    peerUsage(engine);
  }
  *out = v;
  return 0;
}

void peer_parse_args(int argc, char **argv, const char *engine, peer_args *a) {
  int i;
  int k_set = 0;
  peerEngine = engine;
  memset(a, 0, sizeof *a);
  a->mode = PEER_MODE_TOP;
  a->k = 10;
  a->repeat = 1;
  a->warmup = 1;
  a->k1 = 0.9;
  a->b = 0.4;
  a->merge = 1;
  if (argc < 2) peerUsage(engine);
  if (!strcmp(argv[1], "version")) {
    a->cmd = PEER_CMD_VERSION;
    return;
  }
  if (!strcmp(argv[1], "index")) a->cmd = PEER_CMD_INDEX;
  else if (!strcmp(argv[1], "query")) a->cmd = PEER_CMD_QUERY;
  else peerUsage(engine);
  if (argc < 3 || argv[2][0] == '-') peerUsage(engine);
  a->dir = argv[2];
  for (i = 3; i < argc; i++) {
    const char *opt = argv[i];
    const char *val = NULL;
    char name[32];
    const char *eq = strchr(opt, '=');
    double v;
    if (strncmp(opt, "--", 2) != 0) {
      fprintf(stderr, "%s: unexpected argument '%s'\n", engine, opt);
      peerUsage(engine);
    }
    if (eq) {  /* --opt=value */
      size_t n = (size_t)(eq - opt);
      if (n >= sizeof name) peerUsage(engine);
      memcpy(name, opt, n);
      name[n] = '\0';
      val = eq + 1;
      opt = name;
    }
    if (!strcmp(opt, "--no-merge")) {
      a->merge = 0;
      continue;
    }
    if (!val) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", engine, opt);
        peerUsage(engine);
      }
      val = argv[++i];
    }
    if (!strcmp(opt, "--mode")) {
      if (!strcmp(val, "top")) a->mode = PEER_MODE_TOP;
      else if (!strcmp(val, "count")) a->mode = PEER_MODE_COUNT;
      else if (!strcmp(val, "trec")) a->mode = PEER_MODE_TREC;
      else {
        fprintf(stderr, "%s: unknown mode '%s'\n", engine, val);
        peerUsage(engine);
      }
    } else if (!strcmp(opt, "--k")) {
      peerNumber(engine, opt, val, 1, 1e7, &v);
      a->k = (int)v;
      k_set = 1;
    } else if (!strcmp(opt, "--repeat")) {
      peerNumber(engine, opt, val, 1, 1e6, &v);
      a->repeat = (int)v;
    } else if (!strcmp(opt, "--warmup")) {
      peerNumber(engine, opt, val, 0, 1e6, &v);
      a->warmup = (int)v;
    } else if (!strcmp(opt, "--k1")) {
      peerNumber(engine, opt, val, 0, 1e6, &a->k1);
      a->k1_set = 1;
    } else if (!strcmp(opt, "--b")) {
      peerNumber(engine, opt, val, 0, 1, &a->b);
      a->b_set = 1;
    } else {
      fprintf(stderr, "%s: unknown option '%s'\n", engine, opt);
      peerUsage(engine);
    }
  }
  if (a->mode == PEER_MODE_TREC && !k_set) a->k = 1000;
}

/* ---- document stream ---------------------------------------------------- */

/* Unescape \\ \t \n \r in place; returns the new length.  Any other
** backslash pair is kept as it is. */
static size_t peerUnescape(char *s, size_t n) {
  size_t i, j = 0;
  for (i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n) {
      char c = s[i + 1];
      char r = c == '\\' ? '\\' : c == 't' ? '\t' : c == 'n' ? '\n'
             : c == 'r' ? '\r' : 0;
      if (r) {
        s[j++] = r;
        i++;
        continue;
      }
    }
    s[j++] = s[i];
  }
  s[j] = '\0';
  return j;
}

int peer_read_doc(peer_reader *r, peer_doc *d) {
  ssize_t n;
  char *t1, *t2, *end;
  for (;;) {
    n = getline(&r->line, &r->cap, r->f);
    if (n < 0) {
      if (ferror(r->f)) peer_die(NULL, "reading documents: %s", strerror(errno));
      return 0;
    }
    r->lineno++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r')) n--;
    r->line[n] = '\0';
    if (n > 0) break;  /* blank lines are skipped */
  }
  end = r->line + n;
  t1 = memchr(r->line, '\t', (size_t)n);
  t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
  if (!t2 || memchr(t2 + 1, '\t', (size_t)(end - t2 - 1)))
    peer_die(NULL, "document stream line %ld: expected id<TAB>title<TAB>text",
             r->lineno);
  *t1 = *t2 = '\0';
  d->id = r->line;
  d->id_len = peerUnescape(d->id, (size_t)(t1 - r->line));
  d->title = t1 + 1;
  d->title_len = peerUnescape(d->title, (size_t)(t2 - t1 - 1));
  d->text = t2 + 1;
  d->text_len = peerUnescape(d->text, (size_t)(end - t2 - 1));
  if (d->id_len == 0)
    peer_die(NULL, "document stream line %ld: empty id", r->lineno);
  return 1;
}

void peer_reader_free(peer_reader *r) {
  free(r->line);
  r->line = NULL;
  r->cap = 0;
}

/* ---- files -------------------------------------------------------------- */

static const char *peerRoot;  /* nftw callbacks: the directory kept */
static long long peerBytes;

static int peerRemoveOne(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw) {
  (void)st;
  (void)flag;
  if (peerRoot && ftw->level == 0) return 0;  /* keep the root itself */
  if (remove(path) != 0) {
    fprintf(stderr, "%s: cannot remove '%s': %s\n", peerEngine, path,
            strerror(errno));
    return -1;
  }
  return 0;
}

static int peerMkdirs(const char *dir) {
  char *p = peerAlloc(NULL, strlen(dir) + 1);
  char *s;
  int rc = 0;
  strcpy(p, dir);
  for (s = p + 1; ; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create '%s': %s\n", peerEngine, p,
                strerror(errno));
        rc = -1;
        break;
      }
      *s = c;
      if (!c) break;
    }
  }
  free(p);
  return rc;
}

int peer_reset_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      fprintf(stderr, "%s: '%s' exists and is not a directory\n", peerEngine, dir);
      return -1;
    }
    peerRoot = dir;
    if (nftw(dir, peerRemoveOne, 16, FTW_DEPTH | FTW_PHYS) != 0) return -1;
    peerRoot = NULL;
    return 0;
  }
  return peerMkdirs(dir);
}

int peer_remove_tree(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : -1;
  peerRoot = NULL;
  return nftw(dir, peerRemoveOne, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static int peerAddSize(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw) {
  (void)path;
  (void)ftw;
  if (flag == FTW_F && S_ISREG(st->st_mode)) peerBytes += (long long)st->st_size;
  return 0;
}

long long peer_dir_bytes(const char *dir) {
  peerBytes = 0;
  if (nftw(dir, peerAddSize, 16, FTW_PHYS) != 0) return -1;
  return peerBytes;
}

/* ---- timing and output -------------------------------------------------- */

double peer_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void peer_print_index(const char *engine, long docs, double seconds,
                      double merge_seconds, long long bytes) {
  printf("{\"engine\":\"%s\",\"docs\":%ld,\"seconds\":%.3f,\"index_bytes\":%lld,"
         "\"merge_seconds\":%.3f}\n",
         engine, docs, seconds, bytes, merge_seconds);
  fflush(stdout);
}

void peer_hits_clear(peer_hits *h) {
  h->n = 0;
  h->used = 0;
  h->count = 0;
  h->err[0] = '\0';
}

void peer_hits_add(peer_hits *h, const char *id, size_t len, double score) {
  if (h->n == h->cap) {
    h->cap = h->cap ? 2 * h->cap : 64;
    h->off = peerAlloc(h->off, h->cap * sizeof *h->off);
    h->score = peerAlloc(h->score, h->cap * sizeof *h->score);
  }
  if (h->used + len + 1 > h->arena_cap) {
    while (h->used + len + 1 > h->arena_cap)
      h->arena_cap = h->arena_cap ? 2 * h->arena_cap : 4096;
    h->arena = peerAlloc(h->arena, h->arena_cap);
  }
  memcpy(h->arena + h->used, id, len);
  h->arena[h->used + len] = '\0';
  h->off[h->n] = h->used;
  h->score[h->n] = score;
  h->used += len + 1;
  h->n++;
}

const char *peer_hits_id(const peer_hits *h, size_t i) {
  return h->arena + h->off[i];
}

void peer_hits_free(peer_hits *h) {
  free(h->off);
  free(h->score);
  free(h->arena);
  memset(h, 0, sizeof *h);
}

typedef struct peerQuery {
  char *qid;
  char *text;
} peerQuery;

/* Read qid<TAB>query lines from f.  Blank lines are skipped but still
** counted, so a qid taken from the line number is the file's line number. */
static size_t peerReadQueries(FILE *f, peerQuery **out) {
  char *line = NULL;
  size_t cap = 0, n = 0, qcap = 0;
  long lineno = 0;
  ssize_t len;
  peerQuery *q = NULL;
  while ((len = getline(&line, &cap, f)) >= 0) {
    char *tab;
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    line[len] = '\0';
    if (len == 0) continue;
    if (n == qcap) {
      qcap = qcap ? 2 * qcap : 256;
      q = peerAlloc(q, qcap * sizeof *q);
    }
    tab = strchr(line, '\t');
    if (tab) {
      *tab = '\0';
      q[n].qid = strdup(line);
      q[n].text = strdup(tab + 1);
    } else {
      char num[32];
      snprintf(num, sizeof num, "%ld", lineno);
      q[n].qid = strdup(num);
      q[n].text = strdup(line);
    }
    if (!q[n].qid || !q[n].text) peer_die(NULL, "out of memory");
    n++;
  }
  free(line);
  *out = q;
  return n;
}

static int peerCmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double peerMedian(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, peerCmpDouble);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int peer_run_queries(const peer_args *a, const char *engine,
                     peer_query_fn fn, void *ctx) {
  peerQuery *q = NULL;
  size_t nq = peerReadQueries(stdin, &q);
  size_t i;
  int pass, r;
  int trec = a->mode == PEER_MODE_TREC;
  int repeat = trec ? 1 : a->repeat;
  int warmup = trec ? 0 : a->warmup;
  double *times = peerAlloc(NULL, (size_t)repeat * sizeof *times);
  double sum = 0, t_start = peer_now_us();
  long errors = 0;
  peer_hits hits;
  memset(&hits, 0, sizeof hits);

  for (pass = 0; pass < warmup; pass++)
    for (i = 0; i < nq; i++) {
      peer_hits_clear(&hits);
      fn(ctx, q[i].text, a->mode, a->k, &hits);
    }

  for (i = 0; i < nq; i++) {
    int rc = 0;
    double med;
    for (r = 0; r < repeat; r++) {
      double t0;
      peer_hits_clear(&hits);
      t0 = peer_now_us();
      rc = fn(ctx, q[i].text, a->mode, a->k, &hits);
      times[r] = peer_now_us() - t0;
      if (rc < 0) break;
    }
    if (rc < 0) {
      errors++;
      fprintf(stderr, "%s: query %s: %s\n", engine, q[i].qid,
              hits.err[0] ? hits.err : "error");
      if (trec) continue;
      printf("%s\t0\t-1\t\n", q[i].qid);
      continue;
    }
    med = peerMedian(times, repeat);
    sum += med;
    if (trec) {
      size_t j;
      for (j = 0; j < hits.n; j++)
        printf("%s Q0 %s %zu %.6f %s\n", q[i].qid, peer_hits_id(&hits, j), j + 1,
               hits.score[j], engine);
    } else {
      size_t j;
      printf("%s\t%.1f\t%ld\t", q[i].qid, med, hits.count);
      if (a->mode == PEER_MODE_TOP)
        for (j = 0; j < hits.n; j++)
          printf("%s%s", j ? "," : "", peer_hits_id(&hits, j));
      putchar('\n');
    }
  }
  fflush(stdout);
  {
    size_t ok = nq - (size_t)errors;
    double mean = ok ? sum / (double)ok : 0;
    double wall = (peer_now_us() - t_start) / 1e6;
    static const char *names[] = {"top", "count", "trec"};
    fprintf(stderr,
            "%s: %s: %zu queries, %ld errors, repeat %d, warmup %d: "
            "mean %.1f us/query, %.2f s wall\n",
            engine, names[a->mode], nq, errors, repeat, warmup, mean, wall);
  }
  for (i = 0; i < nq; i++) {
    free(q[i].qid);
    free(q[i].text);
  }
  free(q);
  free(times);
  peer_hits_free(&hits);
  return ferror(stdout) ? 1 : 0;
}
