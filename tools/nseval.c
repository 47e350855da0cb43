/*
** nseval.c -- command-line front end of the relevance evaluator.
**
**   nseval [-q] [-m METRIC]... [-M N] [--json] [--skip-norel] QRELS RUN
**
** Prints what `trec_eval -c -m METRIC... QRELS RUN` prints, in the same
** format.  All parsing and measuring lives in tools/eval.c (see eval.h for
** the conventions); this file only handles arguments, files and exit codes:
** 0 success, 1 runtime error (unreadable or malformed input, nothing to
** evaluate, write error), 2 usage error.
**
** Build: cc -std=c11 -O2 -Wall -Wextra -o build/nseval tools/nseval.c \
**            tools/eval.c -lm
*/
#include "eval.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: nseval [-q] [-m METRIC]... [-M N] [--json] [--skip-norel] "
	"QRELS RUN\n"
	"\n"
	"Evaluate a TREC run against qrels as 'trec_eval -c' does.\n"
	"\n"
	"  -m METRIC     measure to report, trec_eval syntax (repeatable):\n"
	"                num_q num_ret num_rel num_rel_ret map Rprec recip_rank\n"
	"                ndcg P.k recall.k ndcg_cut.k map_cut.k\n"
	"                recip_rank_cut.k (MRR@k, alias mrr.k); cutoffs may be\n"
	"                listed: recall.100,1000\n"
	"                default: num_q num_ret num_rel num_rel_ret map\n"
	"                recall.100,1000 ndcg_cut.10 recip_rank_cut.10\n"
	"  -q            also print per-query values\n"
	"  -M N          use only the top N documents of each query (trec_eval\n"
	"                -M; default: all)\n"
	"  -c            accepted for trec_eval compatibility; always on\n"
	"  --json        print one JSON object of the \"all\" values (with -q,\n"
	"                a \"per_query\" member too)\n"
	"  --skip-norel  leave out queries without relevant documents (trec_eval\n"
	"                counts them as 0)\n"
	"  -h, --help    show this help\n"
	"\n"
	"RUN may be '-' for standard input.\n";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("nseval: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: nseval [-q] [-m METRIC]... [-M N] [--json] "
	      "[--skip-norel] QRELS RUN\n",
	      stderr);
	exit(2);
}

static long parse_depth(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		usage_error("invalid -M value '%s' (expected a positive integer)",
		            s);
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno == ERANGE || v <= 0)
		usage_error("invalid -M value '%s' (expected a positive integer)",
		            s);
	return v;
}

int main(int argc, char **argv)
{
	nseval_measures ms = { 0 };
	nseval_opts opts = { 0, 0 };
	nseval_qrels *qrels = NULL;
	nseval_run *run = NULL;
	nseval_result *res = NULL;
	const char *paths[2];
	char err[NSEVAL_ERRMAX];
	int per_query = 0, json = 0, npaths = 0, only_paths = 0, rc, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_paths || a[0] != '-' || !strcmp(a, "-")) {
			if (npaths == 2)
				usage_error("too many arguments: '%s'", a);
			paths[npaths++] = a;
		} else if (!strcmp(a, "--")) {
			only_paths = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			nseval_measures_free(&ms);
			return 0;
		} else if (!strcmp(a, "-q")) {
			per_query = 1;
		} else if (!strcmp(a, "-c")) {
			/* always on */
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--skip-norel")) {
			opts.skip_norel = 1;
		} else if (!strncmp(a, "-m", 2)) {
			const char *spec = a[2] ? a + 2 : argv[++i];
			if (!spec)
				usage_error("option '%s' needs a metric", a);
			rc = nseval_measures_add(&ms, spec, err, sizeof(err));
			if (rc == NSEVAL_ENOMEM) {
				fputs("nseval: out of memory\n", stderr);
				return 1;
			}
			if (rc)
				usage_error("%s", err);
		} else if (!strncmp(a, "-M", 2)) {
			const char *n = a[2] ? a + 2 : argv[++i];
			if (!n)
				usage_error("option '%s' needs a number", a);
			opts.max_ret = parse_depth(n);
		} else {
			usage_error("unknown option '%s'", a);
		}
	}
	if (npaths != 2)
		usage_error("%s", npaths ? "missing RUN argument" :
		                           "missing QRELS and RUN arguments");
	if (!strcmp(paths[0], "-") && !strcmp(paths[1], "-"))
		usage_error("%s", "QRELS and RUN cannot both be '-'");
	if (ms.n == 0 && nseval_measures_add_defaults(&ms)) {
		fputs("nseval: out of memory\n", stderr);
		return 1;
	}

	rc = nseval_qrels_load(paths[0], stderr, &qrels, err, sizeof(err));
	if (!rc)
		rc = nseval_run_load(paths[1], stderr, &run, err, sizeof(err));
	if (!rc && nseval_qrels_num_queries(qrels) == 0) {
		snprintf(err, sizeof(err), "qrels '%s' has no judgments",
		         paths[0]);
		rc = NSEVAL_EPARSE;
	}
	if (!rc && nseval_evaluate(qrels, run, &ms, &opts, &res)) {
		snprintf(err, sizeof(err), "out of memory");
		rc = NSEVAL_ENOMEM;
	}
	if (!rc && res->n_queries == 0) {
		snprintf(err, sizeof(err),
		         "qrels '%s' has no query with a relevant document",
		         paths[0]);
		rc = NSEVAL_EPARSE;
	}
	if (rc) {
		fprintf(stderr, "nseval: %s\n", err);
		goto out;
	}
	if (nseval_run_num_queries(run) == 0)
		fprintf(stderr, "nseval: warning: run '%s' has no results\n",
		        paths[1]);
	else if (res->n_run_matched == 0)
		fprintf(stderr,
		        "nseval: warning: no query of run '%s' is in qrels "
		        "'%s'; do the query ids match?\n",
		        paths[1], paths[0]);

	if (json)
		rc = nseval_result_print_json(res, stdout, per_query);
	else
		rc = nseval_result_print(res, stdout, per_query);
	if (fflush(stdout) || rc) {
		fprintf(stderr, "nseval: cannot write output: %s\n",
		        strerror(errno));
		rc = NSEVAL_EIO;
	}
out:
	nseval_result_free(res);
	nseval_run_free(run);
	nseval_qrels_free(qrels);
	nseval_measures_free(&ms);
	return rc ? 1 : 0;
}
