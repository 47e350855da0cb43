/*
** eval.c -- the library half of nseval: reading qrels and TREC runs, and
** computing trec_eval's measures.  There is no main() here; tools/nseval.c
** is the CLI, and tests/test_eval.c includes this file directly.  The
** interface and the list of measures are in eval.h.
**
** Plain ISO C11 plus libm, so that the CLI builds with nothing but
** `cc -std=c11 tools/nseval.c tools/eval.c -lm`.  External symbols are all
** nseval_*; everything else is static.
**
** How trec_eval (usnistgov/trec_eval, 9.0.x) does it, and what we do:
**
**  - Reading (get_qrels.c, get_trec_results.c).  qrels lines are
**    "qid iter docno rel" with rel an integer (trec_eval uses atol(); we
**    reject what is not an integer).  Run lines are
**    "qid iter docno rank sim run_id", extra fields ignored; the rank field
**    is ignored.  trec_eval also skips '#' lines.
**  - Ranking (form_res_rels.c, comp_sim_docno()).  Documents are sorted by
**    sim descending; equal sims are ordered by strcmp(docno) DESCENDING.
**    Then only the top max_num_docs_per_topic are kept: that is -M, whose
**    default is MAXLONG, i.e. no limit (trec_eval.c help text: "-M <num>:
**    Max number of docs per topic to use in evaluation (discard rest).
**    Default is MAX_LONG.").  A duplicated docno is a fatal error there; we
**    keep the first line and warn.
**  - Relevance.  A retrieved document takes its rel from the qrels, or -1
**    if it is not in them; it is relevant when rel >= 1 (-l default).  No
**    document is removed (only -J would do that).
**  - Which queries (trec_eval.c main loop, meas_avg.c).  The loop runs over
**    the queries of the qrels.  With -c a query absent from the run gets an
**    empty ranking, so it scores 0 but still counts its num_rel, and the
**    means divide by the number of qrels queries.  Queries only in the run
**    are never looked at.  A query whose judgments are all non-relevant is
**    NOT skipped: it is evaluated, scores 0 and counts in num_q and in the
**    means (CHANGELOG 4/5/06: old versions ignored such queries, 8.x and 9.x
**    do not).  nseval always behaves as -c; opts.skip_norel gives the old
**    behaviour for those who want it.
**  - Measures (m_*.c):
**      map         sum over relevant ranks i of (rels so far / i), / num_rel
**      map_cut.k   the same over ranks <= k, still / num_rel
**      Rprec       relevant in the top min(num_ret, num_rel), / num_rel
**      recip_rank  1 / rank of the first relevant retrieved
**      P.k         relevant in the top k / k (missing ranks non-relevant)
**      recall.k    relevant in the top k / num_rel
**      ndcg_cut.k  DCG = sum over ranks i <= k of rel_i / log2(i + 1),
**                  counting only rel_i > 0; ideal DCG from the qrels rel
**                  values > 0 sorted descending, cut at k; 0 if the ideal
**                  is 0.  (An older 9.0 m_ndcg_cut.c, e.g. commit
**                  c0b2cc77, left rank 1 undiscounted and used log2(i);
**                  current trec_eval uses log2(i + 1), as we do.)
**      ndcg        the same without a cutoff.
**      num_*       num_ret counts every retrieved document (after -M),
**                  num_rel the judgments with rel >= 1, num_rel_ret their
**                  intersection; "all" is the sum; num_q counts queries.
**    Sums run over the queries in qid strcmp() order as in trec_eval, so
**    the printed numbers agree digit for digit.
**  - Output (meas_print_*.c): "%-22s\t%s\t%6.4f\n", counts with "%ld";
**    per-query lines (no num_q) come before the "all" lines.  Measure order
**    follows trec_eval's measures.c table.
*/
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define NSEVAL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NSEVAL_PRINTF(f, a)
#endif

/* After this many, duplicate warnings are only counted. */
#define MAX_DUP_WARNINGS 10

/* ---- small helpers ----------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	NSEVAL_PRINTF(3, 4);
static void warnf(FILE *warn, const char *fmt, ...) NSEVAL_PRINTF(2, 3);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void warnf(FILE *warn, const char *fmt, ...)
{
	va_list ap;

	if (!warn)
		return;
	fputs("nseval: warning: ", warn);
	va_start(ap, fmt);
	vfprintf(warn, fmt, ap);
	va_end(ap);
	fputc('\n', warn);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split p in place on blanks.  Stores at most max field pointers in f and
** returns the number of fields found (which may exceed max). */
static int split_fields(char *p, char **f, int max)
{
	int n = 0;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		if (n < max)
			f[n] = p;
		n++;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

/* ---- qrels and runs ---------------------------------------------------- */

/* One line of a qrels or run file.  Strings point into the owner's buf. */
struct rec {
	const char *qid;
	const char *docid;
	double score; /* run */
	long rel;     /* qrels */
	size_t line;
};

/* The lines of one query.  Run: sorted by score desc, docid desc (the
** ranking).  Qrels: sorted by docid, with num_rel and the positive gains. */
struct query {
	const char *qid;
	struct rec *r;
	size_t n;
	long num_rel;
	long *gains; /* qrels: rel values > 0, descending */
	size_t n_gains;
};

/* Both file kinds share this shape. */
struct set {
	char *buf;
	struct rec *recs;
	struct query *q; /* sorted by qid */
	size_t n_q;
	long *gains;
	size_t dups;
};

struct nseval_qrels {
	struct set s;
};

struct nseval_run {
	struct set s;
};

enum file_kind { KIND_QRELS, KIND_RUN };

static void set_free(struct set *s)
{
	free(s->buf);
	free(s->recs);
	free(s->q);
	free(s->gains);
	memset(s, 0, sizeof(*s));
}

static int cmp_qid_docid_line(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->qid, y->qid);

	if (c)
		return c;
	c = strcmp(x->docid, y->docid);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* trec_eval's comp_sim_docno(): score descending, then docid descending. */
static int cmp_rank(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->score > y->score)
		return -1;
	if (x->score < y->score)
		return 1;
	return strcmp(y->docid, x->docid);
}

static int cmp_long_desc(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x < y) - (x > y);
}

/* Parse one line's fields into *r.  Returns NSEVAL_OK, or NSEVAL_EPARSE
** with a message. */
static int parse_fields(enum file_kind kind, char **f, int nf,
                        const char *name, size_t line, struct rec *r,
                        char *err, size_t errlen)
{
	char *end;

	r->line = line;
	if (kind == KIND_QRELS) {
		if (nf != 4) {
			set_err(err, errlen,
			        "%s:%zu: malformed qrels line: expected 4 fields "
			        "(qid iter docid rel), found %d",
			        name, line, nf);
			return NSEVAL_EPARSE;
		}
		r->qid = f[0];
		r->docid = f[2];
		r->score = 0.0;
		if (parse_long(f[3], &r->rel)) {
			set_err(err, errlen,
			        "%s:%zu: invalid relevance '%s' for document '%s' "
			        "(expected an integer)",
			        name, line, f[3], f[2]);
			return NSEVAL_EPARSE;
		}
		return NSEVAL_OK;
	}
	if (nf < 6) {
		set_err(err, errlen,
		        "%s:%zu: malformed run line: expected 6 fields "
		        "(qid Q0 docid rank score tag), found %d",
		        name, line, nf);
		return NSEVAL_EPARSE;
	}
	r->qid = f[0];
	r->docid = f[2];
	r->rel = 0;
	r->score = strtod(f[4], &end);
	if (end == f[4] || *end || isnan(r->score)) {
		set_err(err, errlen,
		        "%s:%zu: invalid score '%s' for document '%s' "
		        "(expected a number)",
		        name, line, f[4], f[2]);
		return NSEVAL_EPARSE;
	}
	return NSEVAL_OK;
}

/* Sort, drop repeated (qid, docid) pairs keeping the first line, and group
** by query. */
static int build_set(enum file_kind kind, struct set *s, size_t n,
                     const char *name, FILE *warn)
{
	size_t i, w, nq, ngains;

	qsort(s->recs, n, sizeof(*s->recs), cmp_qid_docid_line);
	for (i = 0, w = 0; i < n; i++) {
		struct rec *r = &s->recs[i];
		if (w > 0 && !strcmp(s->recs[w - 1].qid, r->qid) &&
		    !strcmp(s->recs[w - 1].docid, r->docid)) {
			s->dups++;
			if (s->dups <= MAX_DUP_WARNINGS)
				warnf(warn,
				      "%s:%zu: %s '%s' repeated for query '%s' "
				      "(first on line %zu); keeping the first",
				      name, r->line,
				      kind == KIND_RUN ? "document" :
				                         "judgment of document",
				      r->docid, r->qid, s->recs[w - 1].line);
			continue;
		}
		s->recs[w++] = *r;
	}
	n = w;
	if (s->dups > MAX_DUP_WARNINGS)
		warnf(warn, "%s: %zu repeated lines ignored in all", name,
		      s->dups);

	nq = 0;
	ngains = 0;
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(s->recs[i - 1].qid, s->recs[i].qid))
			nq++;
		if (s->recs[i].rel > 0)
			ngains++;
	}
	s->q = calloc(nq ? nq : 1, sizeof(*s->q));
	s->gains = malloc((ngains ? ngains : 1) * sizeof(*s->gains));
	if (!s->q || !s->gains)
		return NSEVAL_ENOMEM;

	nq = 0;
	ngains = 0;
	for (i = 0; i < n; i++) {
		struct query *q;
		const struct rec *r = &s->recs[i];
		if (i == 0 || strcmp(s->recs[i - 1].qid, r->qid)) {
			q = &s->q[nq++];
			q->qid = r->qid;
			q->r = &s->recs[i];
			q->gains = &s->gains[ngains];
		}
		q = &s->q[nq - 1];
		q->n++;
		if (r->rel >= 1)
			q->num_rel++;
		if (r->rel > 0) {
			s->gains[ngains++] = r->rel;
			q->n_gains++;
		}
	}
	s->n_q = nq;

	for (i = 0; i < nq; i++) {
		struct query *q = &s->q[i];
		if (kind == KIND_RUN)
			qsort(q->r, q->n, sizeof(*q->r), cmp_rank);
		else
			qsort(q->gains, q->n_gains, sizeof(*q->gains),
			      cmp_long_desc);
	}
	return NSEVAL_OK;
}

/* Parse buf (len bytes plus a terminating NUL, owned by s on return). */
static int parse_buffer(enum file_kind kind, char *buf, size_t len,
                        const char *name, FILE *warn, struct set *s,
                        char *err, size_t errlen)
{
	char *p = buf, *end = buf + len;
	size_t nlines = 1, n = 0, line = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	s->buf = buf;
	for (p = buf; p < end; p++)
		if (*p == '\n')
			nlines++;
	s->recs = malloc(nlines * sizeof(*s->recs));
	if (!s->recs) {
		set_err(err, errlen, "out of memory reading '%s'", name);
		return NSEVAL_ENOMEM;
	}

	for (p = buf; p < end;) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *f[6];
		int nf;

		if (!eol)
			eol = end;
		*eol = '\0';
		line++;
		if (memchr(p, '\0', (size_t)(eol - p))) {
			set_err(err, errlen, "%s:%zu: line contains a NUL byte",
			        name, line);
			return NSEVAL_EPARSE;
		}
		nf = split_fields(p, f, 6);
		p = eol + 1;
		if (nf == 0 || f[0][0] == '#')
			continue; /* blank line or comment */
		rc = parse_fields(kind, f, nf, name, line, &s->recs[n], err,
		                  errlen);
		if (rc)
			return rc;
		n++;
	}

	rc = build_set(kind, s, n, name, warn);
	if (rc)
		set_err(err, errlen, "out of memory reading '%s'", name);
	return rc;
}

/* Read a whole file ("-" is stdin) into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *outlen, char *err,
                     size_t errlen)
{
	int is_stdin = !strcmp(path, "-");
	FILE *fp = is_stdin ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 1 << 16;
	char *buf;

	if (!fp) {
		set_err(err, errlen, "cannot open '%s': %s", path,
		        strerror(errno));
		return NSEVAL_EIO;
	}
	buf = malloc(cap);
	if (!buf) {
		if (!is_stdin)
			fclose(fp);
		set_err(err, errlen, "out of memory reading '%s'", path);
		return NSEVAL_ENOMEM;
	}
	for (;;) {
		size_t got;
		if (cap - len < 2) {
			char *nb = cap > ((size_t)-1) / 2 ? NULL :
			                                    realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				if (!is_stdin)
					fclose(fp);
				set_err(err, errlen, "out of memory reading '%s'",
				        path);
				return NSEVAL_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		errno = 0;
		got = fread(buf + len, 1, cap - len - 1, fp);
		len += got;
		if (got == 0) {
			if (ferror(fp)) {
				int e = errno ? errno : EIO;
				free(buf);
				if (!is_stdin)
					fclose(fp);
				set_err(err, errlen, "cannot read '%s': %s", path,
				        strerror(e));
				return NSEVAL_EIO;
			}
			break;
		}
	}
	if (!is_stdin)
		fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return NSEVAL_OK;
}

static int load(enum file_kind kind, const char *path, FILE *warn,
                struct set *s, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc = read_file(path, &buf, &len, err, errlen);

	if (rc)
		return rc;
	rc = parse_buffer(kind, buf, len, strcmp(path, "-") ? path : "<stdin>",
	                  warn, s, err, errlen);
	if (rc)
		set_free(s);
	return rc;
}

static int parse_text(enum file_kind kind, const char *text, size_t len,
                      const char *name, FILE *warn, struct set *s,
                      char *err, size_t errlen)
{
	char *buf = malloc(len + 1);
	int rc;

	if (!buf) {
		set_err(err, errlen, "out of memory reading '%s'", name);
		return NSEVAL_ENOMEM;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	rc = parse_buffer(kind, buf, len, name, warn, s, err, errlen);
	if (rc)
		set_free(s);
	return rc;
}

int nseval_qrels_load(const char *path, FILE *warn, nseval_qrels **out,
                      char *err, size_t errlen)
{
	nseval_qrels *q = calloc(1, sizeof(*q));
	int rc;

	*out = NULL;
	if (!q) {
		set_err(err, errlen, "out of memory");
		return NSEVAL_ENOMEM;
	}
	rc = load(KIND_QRELS, path, warn, &q->s, err, errlen);
	if (rc) {
		free(q);
		return rc;
	}
	*out = q;
	return NSEVAL_OK;
}

int nseval_qrels_parse(const char *text, size_t len, const char *name,
                       FILE *warn, nseval_qrels **out, char *err,
                       size_t errlen)
{
	nseval_qrels *q = calloc(1, sizeof(*q));
	int rc;

	*out = NULL;
	if (!q) {
		set_err(err, errlen, "out of memory");
		return NSEVAL_ENOMEM;
	}
	rc = parse_text(KIND_QRELS, text, len, name, warn, &q->s, err, errlen);
	if (rc) {
		free(q);
		return rc;
	}
	*out = q;
	return NSEVAL_OK;
}

void nseval_qrels_free(nseval_qrels *qrels)
{
	if (qrels) {
		set_free(&qrels->s);
		free(qrels);
	}
}

size_t nseval_qrels_num_queries(const nseval_qrels *qrels)
{
	return qrels->s.n_q;
}

int nseval_run_load(const char *path, FILE *warn, nseval_run **out,
                    char *err, size_t errlen)
{
	nseval_run *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r) {
		set_err(err, errlen, "out of memory");
		return NSEVAL_ENOMEM;
	}
	rc = load(KIND_RUN, path, warn, &r->s, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return NSEVAL_OK;
}

int nseval_run_parse(const char *text, size_t len, const char *name,
                     FILE *warn, nseval_run **out, char *err, size_t errlen)
{
	nseval_run *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r) {
		set_err(err, errlen, "out of memory");
		return NSEVAL_ENOMEM;
	}
	rc = parse_text(KIND_RUN, text, len, name, warn, &r->s, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return NSEVAL_OK;
}

void nseval_run_free(nseval_run *run)
{
	if (run) {
		set_free(&run->s);
		free(run);
	}
}

size_t nseval_run_num_queries(const nseval_run *run)
{
	return run->s.n_q;
}

size_t nseval_run_duplicates(const nseval_run *run)
{
	return run->s.dups;
}

/* ---- measures ---------------------------------------------------------- */

/* Indexed by nseval_kind. */
static const struct {
	const char *name;
	int has_cutoff;
} kind_info[] = {
	{ "num_q", 0 },      { "num_ret", 0 },  { "num_rel", 0 },
	{ "num_rel_ret", 0 }, { "map", 0 },     { "Rprec", 0 },
	{ "recip_rank", 0 }, { "P", 1 },        { "recall", 1 },
	{ "ndcg", 0 },       { "ndcg_cut", 1 }, { "map_cut", 1 },
	{ "recip_rank_cut", 1 },
};

#define N_KINDS (sizeof(kind_info) / sizeof(kind_info[0]))

/* trec_eval's default cutoffs for P, recall, ndcg_cut and map_cut. */
static const long default_cutoffs[] = { 5, 10, 15, 20, 30, 100, 200, 500,
	                                1000 };

static int lookup_kind(const char *name, size_t len, nseval_kind *out)
{
	size_t i;

	if (len == 3 && !memcmp(name, "mrr", 3)) {
		*out = NSEVAL_RECIP_RANK_CUT;
		return 0;
	}
	for (i = 0; i < N_KINDS; i++) {
		if (strlen(kind_info[i].name) == len &&
		    !memcmp(kind_info[i].name, name, len)) {
			*out = (nseval_kind)i;
			return 0;
		}
	}
	return -1;
}

static int cmp_measure(const nseval_measure *a, const nseval_measure *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return (a->cutoff > b->cutoff) - (a->cutoff < b->cutoff);
}

static int measures_insert(nseval_measures *ms, nseval_kind kind, long cutoff)
{
	nseval_measure m;
	size_t i;

	m.kind = kind;
	m.cutoff = cutoff;
	for (i = 0; i < ms->n; i++) {
		int c = cmp_measure(&ms->v[i], &m);
		if (c == 0)
			return NSEVAL_OK;
		if (c > 0)
			break;
	}
	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 16;
		nseval_measure *v = realloc(ms->v, cap * sizeof(*v));
		if (!v)
			return NSEVAL_ENOMEM;
		ms->v = v;
		ms->cap = cap;
	}
	memmove(&ms->v[i + 1], &ms->v[i], (ms->n - i) * sizeof(*ms->v));
	ms->v[i] = m;
	ms->n++;
	return NSEVAL_OK;
}

/* Parse the next cutoff of a "k1,k2,..." list at *p.  Returns the cutoff,
** or -1 if malformed; *p moves past it and its comma. */
static long next_cutoff(const char **p)
{
	const char *s = *p;
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || v <= 0 || (*end != ',' && *end != '\0'))
		return -1;
	if (*end == ',' && end[1] == '\0')
		return -1; /* trailing comma */
	*p = *end == ',' ? end + 1 : end;
	return v;
}

int nseval_measures_add(nseval_measures *ms, const char *spec, char *err,
                        size_t errlen)
{
	const char *dot = strchr(spec, '.');
	size_t base_len = dot ? (size_t)(dot - spec) : strlen(spec);
	nseval_kind kind;
	const char *p;
	size_t i;
	int rc;

	if (lookup_kind(spec, base_len, &kind)) {
		set_err(err, errlen,
		        "unknown metric '%.*s' (known: num_q, num_ret, num_rel, "
		        "num_rel_ret, map, Rprec, recip_rank, P.k, recall.k, "
		        "ndcg, ndcg_cut.k, map_cut.k, recip_rank_cut.k or mrr.k)",
		        (int)base_len, spec);
		return NSEVAL_EINVAL;
	}
	if (!kind_info[kind].has_cutoff) {
		if (dot) {
			set_err(err, errlen,
			        "metric '%s' takes no parameters: '%s'",
			        kind_info[kind].name, spec);
			return NSEVAL_EINVAL;
		}
		return measures_insert(ms, kind, 0);
	}
	if (!dot) {
		for (i = 0; i < sizeof(default_cutoffs) / sizeof(*default_cutoffs);
		     i++) {
			rc = measures_insert(ms, kind, default_cutoffs[i]);
			if (rc)
				return rc;
		}
		return NSEVAL_OK;
	}
	/* Validate the whole list first so that a bad one adds nothing. */
	for (p = dot + 1; *p;) {
		if (next_cutoff(&p) < 0)
			break;
	}
	if (*p || !dot[1]) {
		set_err(err, errlen,
		        "invalid cutoffs in metric '%s' (expected positive "
		        "integers separated by commas)",
		        spec);
		return NSEVAL_EINVAL;
	}
	for (p = dot + 1; *p;) {
		rc = measures_insert(ms, kind, next_cutoff(&p));
		if (rc)
			return rc;
	}
	return NSEVAL_OK;
}

int nseval_measures_add_defaults(nseval_measures *ms)
{
	static const char *const defaults[] = {
		"num_q", "num_ret", "num_rel", "num_rel_ret", "map",
		"recall.100,1000", "ndcg_cut.10", "recip_rank_cut.10",
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(defaults) / sizeof(*defaults); i++) {
		rc = nseval_measures_add(ms, defaults[i], NULL, 0);
		if (rc)
			return rc;
	}
	return NSEVAL_OK;
}

void nseval_measures_free(nseval_measures *ms)
{
	if (ms) {
		free(ms->v);
		ms->v = NULL;
		ms->n = ms->cap = 0;
	}
}

void nseval_measure_name(const nseval_measure *m, char *buf, size_t len)
{
	if (!len)
		return;
	if ((size_t)m->kind >= N_KINDS) {
		snprintf(buf, len, "?");
		return;
	}
	if (kind_info[m->kind].has_cutoff)
		snprintf(buf, len, "%s_%ld", kind_info[m->kind].name, m->cutoff);
	else
		snprintf(buf, len, "%s", kind_info[m->kind].name);
}

int nseval_measure_is_count(const nseval_measure *m)
{
	return m->kind <= NSEVAL_NUM_REL_RET;
}

/* ---- per-query computation --------------------------------------------- */

/* One query ready for scoring: rels[i] is the qrels rel of the document at
** rank i + 1, or -1 if it is not judged. */
struct scored {
	const long *rels;
	size_t n_ret;
	long num_rel;
	const long *gains; /* ideal order */
	size_t n_gains;
};

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static size_t cutoff_len(long cutoff)
{
	return (size_t)cutoff;
}

static long rel_in_top(const struct scored *q, size_t k)
{
	size_t i, n = min_size(q->n_ret, k);
	long c = 0;

	for (i = 0; i < n; i++)
		if (q->rels[i] >= 1)
			c++;
	return c;
}

/* Sum over ranks 1..k of gain / log2(rank + 1), gains <= 0 skipped;
** written as trec_eval writes it so that the doubles agree. */
static double dcg(const long *gains, size_t n, size_t k)
{
	size_t i;
	double sum = 0.0;

	n = min_size(n, k);
	for (i = 0; i < n; i++)
		if (gains[i] > 0)
			sum += (double)gains[i] / log2((double)(i + 2));
	return sum;
}

static double ndcg_at(const struct scored *q, size_t k)
{
	double ideal = dcg(q->gains, q->n_gains, k);

	return ideal > 0.0 ? dcg(q->rels, q->n_ret, k) / ideal : 0.0;
}

/* Average precision over the top k, divided by all relevant docs. */
static double avg_prec(const struct scored *q, size_t k)
{
	size_t i, n = min_size(q->n_ret, k);
	long so_far = 0;
	double sum = 0.0;

	for (i = 0; i < n; i++) {
		if (q->rels[i] >= 1) {
			so_far++;
			sum += (double)so_far / (double)(i + 1);
		}
	}
	return so_far ? sum / (double)q->num_rel : 0.0;
}

static double recip_rank(const struct scored *q, size_t k)
{
	size_t i, n = min_size(q->n_ret, k);

	for (i = 0; i < n; i++)
		if (q->rels[i] >= 1)
			return 1.0 / (double)(i + 1);
	return 0.0;
}

static double measure_value(const nseval_measure *m, const struct scored *q)
{
	switch (m->kind) {
	case NSEVAL_NUM_Q:
		return 1.0;
	case NSEVAL_NUM_RET:
		return (double)q->n_ret;
	case NSEVAL_NUM_REL:
		return (double)q->num_rel;
	case NSEVAL_NUM_REL_RET:
		return (double)rel_in_top(q, q->n_ret);
	case NSEVAL_MAP:
		return avg_prec(q, q->n_ret);
	case NSEVAL_RPREC:
		if (q->num_rel == 0)
			return 0.0;
		return (double)rel_in_top(q, (size_t)q->num_rel) /
		       (double)q->num_rel;
	case NSEVAL_RECIP_RANK:
		return recip_rank(q, q->n_ret);
	case NSEVAL_P:
		return (double)rel_in_top(q, cutoff_len(m->cutoff)) /
		       (double)m->cutoff;
	case NSEVAL_RECALL:
		if (q->num_rel == 0)
			return 0.0;
		return (double)rel_in_top(q, cutoff_len(m->cutoff)) /
		       (double)q->num_rel;
	case NSEVAL_NDCG:
		return ndcg_at(q, (size_t)-1);
	case NSEVAL_NDCG_CUT:
		return ndcg_at(q, cutoff_len(m->cutoff));
	case NSEVAL_MAP_CUT:
		return avg_prec(q, cutoff_len(m->cutoff));
	case NSEVAL_RECIP_RANK_CUT:
		return recip_rank(q, cutoff_len(m->cutoff));
	}
	return 0.0;
}

/* ---- evaluation -------------------------------------------------------- */

static const struct query *find_query(const struct set *s, const char *qid)
{
	size_t lo = 0, hi = s->n_q;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(qid, s->q[mid].qid);
		if (c == 0)
			return &s->q[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The rel of docid in a qrels query (sorted by docid), or -1. */
static long find_rel(const struct query *q, const char *docid)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(docid, q->r[mid].docid);
		if (c == 0)
			return q->r[mid].rel;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

void nseval_result_free(nseval_result *res)
{
	if (res) {
		free(res->measures);
		free(res->qids);
		free(res->values);
		free(res->all);
		free(res);
	}
}

int nseval_evaluate(const nseval_qrels *qrels, const nseval_run *run,
                    const nseval_measures *ms, const nseval_opts *opts,
                    nseval_result **out)
{
	static const nseval_opts no_opts = { 0, 0 };
	const struct set *qs = &qrels->s, *rs = &run->s;
	nseval_result *res;
	size_t i, j, nq = 0, nm = ms->n, qid_bytes = 0, max_n = 1;
	long *rels = NULL;
	char *strings;

	*out = NULL;
	if (!opts)
		opts = &no_opts;
	for (i = 0; i < qs->n_q; i++) {
		if (opts->skip_norel && qs->q[i].num_rel == 0)
			continue;
		nq++;
		qid_bytes += strlen(qs->q[i].qid) + 1;
	}
	for (i = 0; i < rs->n_q; i++)
		if (rs->q[i].n > max_n)
			max_n = rs->q[i].n;

	res = calloc(1, sizeof(*res));
	if (!res)
		return NSEVAL_ENOMEM;
	res->n_measures = nm;
	res->n_queries = nq;
	res->measures = malloc((nm ? nm : 1) * sizeof(*res->measures));
	res->qids = malloc((nq ? nq : 1) * sizeof(char *) + qid_bytes);
	res->values = calloc((nq && nm) ? nq * nm : 1, sizeof(double));
	res->all = calloc(nm ? nm : 1, sizeof(double));
	rels = malloc(max_n * sizeof(*rels));
	if (!res->measures || !res->qids || !res->values || !res->all ||
	    !rels) {
		free(rels);
		nseval_result_free(res);
		return NSEVAL_ENOMEM;
	}
	if (nm)
		memcpy(res->measures, ms->v, nm * sizeof(*ms->v));
	strings = (char *)(res->qids + (nq ? nq : 1));

	for (i = 0, nq = 0; i < qs->n_q; i++) {
		const struct query *jq = &qs->q[i];
		const struct query *rq;
		struct scored sc;
		double *row;
		size_t len;

		if (opts->skip_norel && jq->num_rel == 0)
			continue;
		len = strlen(jq->qid) + 1;
		memcpy(strings, jq->qid, len);
		res->qids[nq] = strings;
		strings += len;

		sc.rels = rels;
		sc.n_ret = 0;
		sc.num_rel = jq->num_rel;
		sc.gains = jq->gains;
		sc.n_gains = jq->n_gains;
		rq = find_query(rs, jq->qid);
		if (rq) {
			res->n_run_matched++;
			sc.n_ret = rq->n;
			if (opts->max_ret > 0 && (size_t)opts->max_ret < sc.n_ret)
				sc.n_ret = (size_t)opts->max_ret;
			for (j = 0; j < sc.n_ret; j++)
				rels[j] = find_rel(jq, rq->r[j].docid);
		}
		row = &res->values[nq * nm];
		for (j = 0; j < nm; j++) {
			row[j] = measure_value(&res->measures[j], &sc);
			res->all[j] += row[j];
		}
		nq++;
	}
	for (j = 0; j < nm; j++)
		if (!nseval_measure_is_count(&res->measures[j]) && nq > 0)
			res->all[j] /= (double)nq;
	for (i = 0; i < rs->n_q; i++)
		if (!find_query(qs, rs->q[i].qid))
			res->n_run_ignored++;

	free(rels);
	*out = res;
	return NSEVAL_OK;
}

static long find_measure(const nseval_result *res, const char *name)
{
	char buf[64];
	size_t j;

	for (j = 0; j < res->n_measures; j++) {
		nseval_measure_name(&res->measures[j], buf, sizeof(buf));
		if (!strcmp(buf, name))
			return (long)j;
	}
	return -1;
}

double nseval_result_get(const nseval_result *res, const char *qid,
                         const char *name)
{
	long m = find_measure(res, name);
	size_t lo = 0, hi = res->n_queries;

	if (m < 0)
		return NAN;
	if (!qid)
		return res->all[m];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(qid, res->qids[mid]);
		if (c == 0)
			return res->values[mid * res->n_measures + (size_t)m];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NAN;
}

/* ---- output ------------------------------------------------------------ */

static void print_line(FILE *fp, const nseval_measure *m, const char *qid,
                       double v)
{
	char name[64];

	nseval_measure_name(m, name, sizeof(name));
	if (nseval_measure_is_count(m))
		fprintf(fp, "%-22s\t%s\t%ld\n", name, qid, (long)v);
	else
		fprintf(fp, "%-22s\t%s\t%6.4f\n", name, qid, v);
}

int nseval_result_print(const nseval_result *res, FILE *fp, int per_query)
{
	size_t i, j, nm = res->n_measures;

	if (per_query) {
		for (i = 0; i < res->n_queries; i++) {
			for (j = 0; j < nm; j++) {
				if (res->measures[j].kind == NSEVAL_NUM_Q)
					continue;
				print_line(fp, &res->measures[j], res->qids[i],
				           res->values[i * nm + j]);
			}
		}
	}
	for (j = 0; j < nm; j++)
		print_line(fp, &res->measures[j], "all", res->all[j]);
	return ferror(fp) ? NSEVAL_EIO : NSEVAL_OK;
}

static void json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* The "name": value pairs of one row, without braces. */
static void json_members(FILE *fp, const nseval_result *res,
                         const double *vals, int with_num_q)
{
	char name[64];
	size_t j;
	int first = 1;

	for (j = 0; j < res->n_measures; j++) {
		const nseval_measure *m = &res->measures[j];
		if (!with_num_q && m->kind == NSEVAL_NUM_Q)
			continue;
		if (!first)
			fputs(", ", fp);
		first = 0;
		nseval_measure_name(m, name, sizeof(name));
		json_string(fp, name);
		if (nseval_measure_is_count(m))
			fprintf(fp, ": %ld", (long)vals[j]);
		else
			fprintf(fp, ": %.10g", vals[j]);
	}
}

int nseval_result_print_json(const nseval_result *res, FILE *fp,
                             int per_query)
{
	size_t i;

	fputc('{', fp);
	json_members(fp, res, res->all, 1);
	if (per_query) {
		fputs(res->n_measures ? ", \"per_query\": {" :
		                        "\"per_query\": {",
		      fp);
		for (i = 0; i < res->n_queries; i++) {
			if (i)
				fputs(", ", fp);
			json_string(fp, res->qids[i]);
			fputs(": {", fp);
			json_members(fp, res, &res->values[i * res->n_measures],
			             0);
			fputc('}', fp);
		}
		fputc('}', fp);
	}
	fputs("}\n", fp);
	return ferror(fp) ? NSEVAL_EIO : NSEVAL_OK;
}
