/*
** eval.h -- relevance evaluation with trec_eval's conventions: the library
** half of nseval (tools/eval.c).  The CLI is tools/nseval.c.
**
** Plain C11 plus libm; no dependency on libnsearch.  Every external symbol
** starts with nseval_ / NSEVAL_ so that tests can #include eval.c next to
** libnsearch without clashes.
**
** Conventions (each one checked against trec_eval 9.0.x sources; see the
** comment at the top of eval.c for the details and the source files):
**
**   qrels   "qid iter docid rel", whitespace separated, rel an integer.
**           rel >= 1 is relevant (trec_eval's default relevance level 1);
**           nDCG gain = rel, negative rels count as gain 0.
**   run     "qid Q0 docid rank score tag [ignored...]".  The rank column is
**           ignored: documents are sorted by score descending, ties broken
**           by docid in DESCENDING strcmp() order.  A docid repeated within
**           a query keeps its first line and draws a warning (trec_eval
**           refuses the whole file).
**   queries Always as trec_eval -c: every query of the qrels is evaluated,
**           in strcmp() order of qid; a query missing from the run scores 0
**           on every measure.  Queries only in the run are ignored.  Queries
**           whose judgments hold no relevant document are evaluated and
**           averaged too (they score 0), as trec_eval does, unless
**           skip_norel is set.
**   unjudged retrieved documents are non-relevant; they are not removed.
**   depth   every retrieved document is used unless max_ret > 0 (trec_eval
**           -M; its default is no limit).
**
** Measures (names as trec_eval prints them; "-m" spelling in brackets):
**   num_q num_ret num_rel num_rel_ret    counts; "all" is the sum
**   map                                  average precision over the ranking
**   Rprec                                precision at R = num_rel
**   recip_rank                           1/rank of the first relevant
**   P_k          [P.k]                   relevant in top k / k
**   recall_k     [recall.k]              relevant in top k / num_rel
**   ndcg                                 nDCG over the whole ranking
**   ndcg_cut_k   [ndcg_cut.k]            nDCG at k: gain rel, discount
**                                        1/log2(rank+1), ideal cut at k
**   map_cut_k    [map_cut.k]             AP over the top k, / num_rel
**   recip_rank_cut_k [recip_rank_cut.k, alias mrr.k]
**                                        1/rank of the first relevant within
**                                        the top k, else 0 (MRR@k; this one
**                                        is not in trec_eval)
** "all" values of the non-count measures are the mean over the evaluated
** queries.
*/
#ifndef NSEVAL_EVAL_H
#define NSEVAL_EVAL_H

#include <stddef.h>
#include <stdio.h>

/* Return codes.  On failure, functions that take err/errlen leave a message
** there, git-style and without a program-name prefix, e.g.
** "cannot open 'x': No such file or directory" or
** "run.txt:12: malformed run line: expected 6 fields ..., found 5". */
enum {
	NSEVAL_OK = 0,
	NSEVAL_ENOMEM = -1,
	NSEVAL_EIO = -2,    /* cannot open, read or write a file */
	NSEVAL_EPARSE = -3, /* malformed qrels or run line */
	NSEVAL_EINVAL = -4  /* bad metric name or parameter */
};

/* Enough for any message the library writes. */
#define NSEVAL_ERRMAX 512

/* ---- qrels and runs ---------------------------------------------------- */

typedef struct nseval_qrels nseval_qrels;
typedef struct nseval_run nseval_run;

/*! nseval_qrels_load() : read a qrels file ("-" is stdin).
** Blank lines and lines starting with '#' are skipped; CRLF is accepted.
** A docid judged twice for one query keeps its first judgment; a warning
** goes to `warn` unless it is NULL.
** @return NSEVAL_OK and *out, or a negative code and a message in err. */
int nseval_qrels_load(const char *path, FILE *warn, nseval_qrels **out,
                      char *err, size_t errlen);

/*! nseval_qrels_parse() : the same from memory.  `name` is used in
** messages ("name:line: ...").  The text is copied. */
int nseval_qrels_parse(const char *text, size_t len, const char *name,
                       FILE *warn, nseval_qrels **out, char *err,
                       size_t errlen);

void nseval_qrels_free(nseval_qrels *qrels); /* accepts NULL */
size_t nseval_qrels_num_queries(const nseval_qrels *qrels);

/*! nseval_run_load() : read a TREC run file ("-" is stdin).  Same rules
** for blank and '#' lines; fields after the sixth are ignored.  The score
** must be a number (not NaN).  Duplicated docids: see the top of this file;
** warnings go to `warn` unless it is NULL. */
int nseval_run_load(const char *path, FILE *warn, nseval_run **out,
                    char *err, size_t errlen);
int nseval_run_parse(const char *text, size_t len, const char *name,
                     FILE *warn, nseval_run **out, char *err, size_t errlen);

void nseval_run_free(nseval_run *run); /* accepts NULL */
size_t nseval_run_num_queries(const nseval_run *run);
size_t nseval_run_duplicates(const nseval_run *run); /* lines dropped */

/* ---- measures ---------------------------------------------------------- */

/* In trec_eval's output order (its measures.c table); recip_rank_cut,
** which trec_eval lacks, comes last. */
typedef enum {
	NSEVAL_NUM_Q,
	NSEVAL_NUM_RET,
	NSEVAL_NUM_REL,
	NSEVAL_NUM_REL_RET,
	NSEVAL_MAP,
	NSEVAL_RPREC,
	NSEVAL_RECIP_RANK,
	NSEVAL_P,
	NSEVAL_RECALL,
	NSEVAL_NDCG,
	NSEVAL_NDCG_CUT,
	NSEVAL_MAP_CUT,
	NSEVAL_RECIP_RANK_CUT
} nseval_kind;

typedef struct nseval_measure {
	nseval_kind kind;
	long cutoff; /* > 0 for the _cut / P / recall kinds, else 0 */
} nseval_measure;

/* A set of measures, kept sorted in output order and without duplicates.
** Zero-initialize it ({0}) before the first add. */
typedef struct nseval_measures {
	nseval_measure *v;
	size_t n, cap;
} nseval_measures;

/*! nseval_measures_add() : add the measures named by a trec_eval "-m"
** argument: "map", "ndcg_cut.10", "recall.100,1000".  A cutoff measure
** given without cutoffs gets trec_eval's defaults 5,10,15,20,30,100,200,
** 500,1000.  Adding a measure twice is harmless (and, unlike trec_eval,
** "-m recall.100 -m recall.1000" keeps both cutoffs).
** @return NSEVAL_OK, NSEVAL_EINVAL (message in err) or NSEVAL_ENOMEM. */
int nseval_measures_add(nseval_measures *ms, const char *spec, char *err,
                        size_t errlen);

/*! nseval_measures_add_defaults() : nseval's default set: num_q num_ret
** num_rel num_rel_ret map recall.100,1000 ndcg_cut.10 recip_rank_cut.10. */
int nseval_measures_add_defaults(nseval_measures *ms);

void nseval_measures_free(nseval_measures *ms); /* frees v, keeps ms */

/* The printed name, e.g. "ndcg_cut_10", into buf (always terminated). */
void nseval_measure_name(const nseval_measure *m, char *buf, size_t len);

/* True for num_q, num_ret, num_rel, num_rel_ret (printed as integers). */
int nseval_measure_is_count(const nseval_measure *m);

/* ---- evaluation -------------------------------------------------------- */

typedef struct nseval_opts {
	long max_ret;   /* > 0: use only the top max_ret documents of each
	                   query after sorting (trec_eval -M); 0: all */
	int skip_norel; /* 1: leave out queries with no relevant document
	                   (not what trec_eval does) */
} nseval_opts;

typedef struct nseval_result {
	size_t n_measures;
	nseval_measure *measures; /* output order */
	size_t n_queries;         /* evaluated queries, qid strcmp() order */
	char **qids;              /* n_queries strings, owned */
	double *values;           /* n_queries rows of n_measures values */
	double *all;              /* n_measures "all" values */
	size_t n_run_matched;     /* evaluated queries present in the run */
	size_t n_run_ignored;     /* run queries absent from the qrels */
} nseval_result;

/*! nseval_evaluate() : evaluate `run` against `qrels` for the measures in
** `ms` (opts may be NULL for the defaults: no depth limit, zero-relevant
** queries included).  The result does not borrow from its inputs.
** @return NSEVAL_OK and *out, or NSEVAL_ENOMEM. */
int nseval_evaluate(const nseval_qrels *qrels, const nseval_run *run,
                    const nseval_measures *ms, const nseval_opts *opts,
                    nseval_result **out);

void nseval_result_free(nseval_result *res); /* accepts NULL */

/*! nseval_result_get() : the value of the measure printed as `name`
** ("ndcg_cut_10") for query `qid`, or the "all" value when qid is NULL.
** @return the value, or NAN when the measure or query is not there. */
double nseval_result_get(const nseval_result *res, const char *qid,
                         const char *name);

/*! nseval_result_print() : trec_eval's output format, byte for byte:
** "%-22s\t%s\t%6.4f\n" (counts "%ld"), per-query lines first when
** per_query is set (num_q is only printed for "all"), then the "all" lines.
** @return NSEVAL_OK or NSEVAL_EIO if the stream reports an error. */
int nseval_result_print(const nseval_result *res, FILE *fp, int per_query);

/*! nseval_result_print_json() : one JSON object on one line, keys the
** measure names, with the "all" values (counts as integers, others with
** 10 significant digits).  With per_query, a last key "per_query" maps each
** qid to an object of the same shape (without num_q). */
int nseval_result_print_json(const nseval_result *res, FILE *fp,
                             int per_query);

#endif /* NSEVAL_EVAL_H */
