/*
** cmd_query.c -- `nsearch query`: interactive search, JSON output and TREC
** batch runs.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define C_HIT "\033[1;31m"
#define C_OFF "\033[0m"
#define C_ID "\033[35m"
#define C_TITLE "\033[1m"
#define C_DIM "\033[2m"

typedef struct qopts {
	ns_search_options so;
	int json, count, color;
	const char *batch;
} qopts;

static int run_batch(ns_index *ix, const qopts *q)
{
	FILE *f = strcmp(q->batch, "-") ? fopen(q->batch, "r") : stdin;
	if (!f) {
		cli_err("cannot open '%s': %s", q->batch, strerror(errno));
		return EXIT_RUNTIME;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int status = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
		if (!n) continue;
		char *tab = strchr(line, '\t');
		char qid[64];
		const char *text = line;
		if (tab) {
			*tab = 0;
			text = tab + 1;
			snprintf(qid, sizeof qid, "%s", line);
		} else {
			snprintf(qid, sizeof qid, "%lu", lineno);
		}
		ns_results *r;
		char *err = NULL;
		int rc = ns_search(ix, text, &q->so, &r, &err);
		if (rc == NS_ESYNTAX) {
			cli_warn("%s:%lu: query %s: %s", q->batch, lineno, qid, err);
			free(err);
			status = EXIT_RUNTIME;
			continue;
		}
		if (rc) {
			cli_err("query %s: %s", qid, err ? err : ns_strerror(rc));
			free(err);
			status = EXIT_RUNTIME;
			break;
		}
		for (size_t i = 0; i < ns_results_count(r); i++)
			printf("%s Q0 %s %zu %.6f nsearch\n", qid, ns_results_id(r, i), i + 1,
			       ns_results_score(r, i));
		ns_results_free(r);
	}
	free(line);
	if (f != stdin) fclose(f);
	return status;
}

static int run_one(ns_index *ix, const char *query, const qopts *q)
{
	ns_results *r;
	char *err = NULL;
	int rc = ns_search(ix, query, &q->so, &r, &err);
	if (rc) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		return rc == NS_ESYNTAX || rc == NS_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (q->count) {
		printf("%llu\n", (unsigned long long)ns_results_total(r));
		ns_results_free(r);
		return 0;
	}
	int status = 0;
	for (size_t i = 0; i < ns_results_count(r); i++) {
		char *snip = NULL;
		int c = q->color;
		rc = ns_snippet(r, i, c ? C_HIT : "", c ? C_OFF : "", 30, &snip);
		if (rc) {
			cli_warn("%s: cannot read the stored text: %s", ns_results_id(r, i),
			         ns_strerror(rc));
			status = EXIT_RUNTIME;
		}
		if (q->json) {
			printf("{\"rank\":%zu,\"id\":", i + 1);
			cli_json_str(stdout, ns_results_id(r, i));
			printf(",\"score\":%.6f,\"title\":", ns_results_score(r, i));
			cli_json_str(stdout, ns_results_title(r, i));
			fputs(",\"path\":", stdout);
			cli_json_str(stdout, ns_results_path(r, i));
			fputs(",\"snippet\":", stdout);
			cli_json_str(stdout, snip ? snip : "");
			fputs("}\n", stdout);
		} else {
			printf("%s%3zu  %8.4f%s  %s%s%s\n", c ? C_DIM : "", i + 1,
			       ns_results_score(r, i), c ? C_OFF : "", c ? C_ID : "",
			       ns_results_id(r, i), c ? C_OFF : "");
			if (ns_results_title(r, i)[0])
				printf("     %s%s%s\n", c ? C_TITLE : "", ns_results_title(r, i),
				       c ? C_OFF : "");
			if (snip && snip[0]) printf("     %s\n", snip);
			putchar('\n');
		}
		free(snip);
	}
	if (!q->json) {
		unsigned long long total = ns_results_total(r);
		if (total == 0)
			printf("no matching documents\n");
		else
			printf("%zu of %llu matching document%s\n", ns_results_count(r), total,
			       total == 1 ? "" : "s");
	}
	ns_results_free(r);
	return status;
}

/* Options may come before or after the query words (git style); any other
** argument, including "-word" and "+word", is part of the query; "--" ends
** the options. */
int cmd_query(int argc, char **argv)
{
	qopts q;
	memset(&q, 0, sizeof q);
	ns_search_options_init(&q.so);
	const char *color = "auto";
	size_t len = 1;
	for (int i = 1; i < argc; i++) len += strlen(argv[i]) + 1;
	char *query = calloc(1, len);
	if (!query) return EXIT_RUNTIME;
	int n_words = 0, opts_done = 0, status = 0;
	for (int i = 1; i < argc && !status; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		size_t nl = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
#define OPT(name) (!opts_done && strlen(name) == nl && !strncmp(a, name, nl))
#define VALUE()                                                            \
	do {                                                                   \
		if (eq && a[1] == '-') val = eq + 1;                               \
		else if (i + 1 < argc) val = argv[++i];                            \
		else { status = cli_usage("query ", "%s needs a value", a); break; } \
	} while (0)
		if (OPT("--")) {
			opts_done = 1;
		} else if (OPT("-h") || OPT("--help")) {
			cli_help("query", stdout);
			free(query);
			return 0;
		} else if (OPT("--json")) {
			q.json = 1;
		} else if (OPT("--count")) {
			q.count = 1;
		} else if (OPT("--plain")) {
			q.so.plain = 1;
		} else if (OPT("--stopwords")) {
			q.so.stopwords = 1;
		} else if (OPT("--prf")) {
			q.so.prf = 1;
		} else if (OPT("--prf-docs")) {
			VALUE();
			if (val && (cli_parse_size(val, &q.so.prf_docs) || !q.so.prf_docs ||
			            q.so.prf_docs > 1000))
				status = cli_usage("query ", "--prf-docs needs a number from 1 to 1000");
		} else if (OPT("--prf-terms")) {
			VALUE();
			if (val && (cli_parse_size(val, &q.so.prf_terms) || !q.so.prf_terms ||
			            q.so.prf_terms > 1000))
				status = cli_usage("query ", "--prf-terms needs a number from 1 to 1000");
		} else if (OPT("--prf-weight")) {
			VALUE();
			if (val && (cli_parse_double(val, &q.so.prf_weight) ||
			            !(q.so.prf_weight >= 0 && q.so.prf_weight <= 1)))
				status = cli_usage("query ", "--prf-weight needs a number from 0 to 1");
		} else if (OPT("-k")) {
			VALUE();
			if (val && (cli_parse_size(val, &q.so.k) || q.so.k > 1000000))
				status = cli_usage("query ", "-k needs a number from 0 to 1000000");
		} else if (OPT("--batch")) {
			VALUE();
			q.batch = val;
		} else if (OPT("--k1")) {
			VALUE();
			if (val && (cli_parse_double(val, &q.so.k1) || q.so.k1 < 0))
				status = cli_usage("query ", "--k1 needs a number >= 0");
		} else if (OPT("--b")) {
			VALUE();
			if (val && (cli_parse_double(val, &q.so.b) || q.so.b < 0 || q.so.b > 1))
				status = cli_usage("query ", "--b needs a number from 0 to 1");
		} else if (OPT("--color") || OPT("--colour")) {
			VALUE();
			if (val) color = val;
		} else if (OPT("--index")) {
			VALUE();
			if (val) cli_index_dir = val;
		} else if (!opts_done && a[0] == '-' && a[1] == '-' && a[2]) {
			status = cli_usage("query ", "unknown option '%s'", a);
		} else {
			if (n_words++) strcat(query, " ");
			strcat(query, a);
		}
#undef OPT
#undef VALUE
	}
	if (status) {
		free(query);
		return status;
	}
	if (!strcmp(color, "always")) q.color = 1;
	else if (!strcmp(color, "never")) q.color = 0;
	else if (!strcmp(color, "auto"))
		q.color = isatty(1) && !getenv("NO_COLOR");
	else status = cli_usage("query ", "--color takes auto, always or never");
	if (q.json) q.color = 0;
	q.so.count_only = q.count;
	if (!status && !q.batch && !n_words)
		status = cli_usage("query ", "query needs a query string");
	if (!status && q.batch && n_words)
		status = cli_usage("query ", "give either --batch FILE or a query, not both");
	if (status) {
		free(query);
		return status;
	}
	ns_index *ix;
	char *err = NULL;
	int rc = ns_index_open(cli_index_dir, &ix, &err);
	if (rc) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		free(query);
		return EXIT_RUNTIME;
	}
	status = q.batch ? run_batch(ix, &q) : run_one(ix, query, &q);
	free(query);
	ns_index_close(ix);
	if (fflush(stdout) != 0) status = EXIT_RUNTIME;
	return status;
}
