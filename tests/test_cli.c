/*
** test_cli.c -- the nsearch command-line tool, end to end.  Runs the binary
** named by $NSEARCH_BIN (`make test` sets it; the tests skip without it) on
** a copy of corpus/ in a temporary directory, with --index pointing into
** that directory, and checks output and exit status (0 success, 1 runtime
** error, 2 usage error).
*/
#include <limits.h>
#include <stdarg.h>

#include <time.h>

#include "helpers.h"

static char g_dir[64];
static char g_bin[PATH_MAX];
static char g_ix[128];

#define STORM_DOC "000_7b0ca459c2ec3e80.txt"

static void setup(void)
{
	th_bin_path(g_bin);
	th_mkdtemp(g_dir, sizeof g_dir, "cli");
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
}

static void teardown(void)
{
	th_rmrf(g_dir);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);

#define NEED_BIN()                                                         \
	do {                                                                   \
		if (!g_bin[0] || access(g_bin, X_OK) != 0)                         \
			TH_SKIP(teardown, "NSEARCH_BIN is not set to the nsearch "     \
			        "binary (run through 'make test')");                   \
	} while (0)

/* Runs nsearch with the given arguments (NULL-terminated) in g_dir, with
** extra environment strings env (may be NULL). */
static th_proc nsv(const char *const *env, const char *stdin_text,
                   const char *first, va_list ap)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = g_bin;
	th_argv_va(argv, n, 64, first, ap);
	return th_run(argv, g_dir, env, stdin_text);
}

static th_proc ns(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	th_proc p = nsv(NULL, NULL, first, ap);
	va_end(ap);
	return p;
}

static th_proc ns_env(const char *const *env, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	th_proc p = nsv(env, NULL, first, ap);
	va_end(ap);
	return p;
}

/* Copies corpus/ into g_dir/corpus. */
static void copy_corpus(void)
{
	const char *src = th_corpus_dir();
	cr_assert_not_null(src, "corpus/ not found (set NSEARCH_CORPUS)");
	char *dst = th_path(g_dir, "corpus");
	th_copy_flat_dir(src, dst);
	free(dst);
}

/* Copies the corpus and indexes it into g_ix; asserts success. */
static void index_corpus(void)
{
	copy_corpus();
	th_proc p = ns("--index", g_ix, "index", "corpus", NULL);
	cr_assert_eq(p.status, 0, "index failed (%d): %s", p.status, p.err);
	th_proc_free(&p);
}

/* The n-th line of s (0-based) into buf; 0 if there is none. */
static int line_of(const char *s, size_t n, char *buf, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		s = strchr(s, '\n');
		if (!s) return 0;
		s++;
	}
	if (!*s) return 0;
	size_t l = strcspn(s, "\n");
	if (l >= size) l = size - 1;
	memcpy(buf, s, l);
	buf[l] = 0;
	return 1;
}

/* Hit lines of the plain output: "  1    2.8812  ID". */
typedef struct hitline {
	unsigned rank;
	double score;
	char id[256];
} hitline;

static size_t parse_hits(const char *out, hitline *h, size_t max)
{
	size_t n = 0;
	char line[1024];
	for (size_t i = 0; n < max && line_of(out, i, line, sizeof line); i++) {
		hitline x;
		char rest;
		if (sscanf(line, " %u %lf %255s %c", &x.rank, &x.score, x.id, &rest) ==
		        3 &&
		    line[0] == ' ')
			h[n++] = x;
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* A minimal JSON validator (RFC 8259 syntax)                               */
/* ------------------------------------------------------------------------ */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"') return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20) return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 5;
				continue;
			}
			if (!*p || !strchr("\"\\/bfnrt", *p)) return NULL;
		}
		p++;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	if (*p == '-') p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9') p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9')) return NULL;
		while (*p >= '0' && *p <= '9') p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-') p++;
		if (!(*p >= '0' && *p <= '9')) return NULL;
		while (*p >= '0' && *p <= '9') p++;
	}
	return p;
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 32) return NULL;
	p = json_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		int obj = *p == '{';
		p = json_ws(p + 1);
		if (*p == close) return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p) return NULL;
				p = json_ws(p);
				if (*p++ != ':') return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p) return NULL;
			p = json_ws(p);
			if (*p == close) return p + 1;
			if (*p++ != ',') return NULL;
		}
	}
	if (*p == '"') return json_string(p);
	if (!strncmp(p, "true", 4)) return p + 4;
	if (!strncmp(p, "false", 5)) return p + 5;
	if (!strncmp(p, "null", 4)) return p + 4;
	return json_number(p);
}

/* 1 if line is exactly one JSON object. */
static int json_object_line(const char *line)
{
	const char *p = json_ws(line);
	if (*p != '{') return 0;
	p = json_value(p, 0);
	return p && *json_ws(p) == 0;
}

Test(cli, json_validator_self_test)
{
	cr_assert(json_object_line("{\"a\":1,\"b\":[true,null,\"x\\u00e9\"],\"c\":-0.5e3}"));
	cr_assert(json_object_line("{}"));
	cr_assert(!json_object_line("{\"a\":1,}"));
	cr_assert(!json_object_line("{\"a\":\"unterminated}"));
	cr_assert(!json_object_line("{\"a\":\"tab\there\"}"));
	cr_assert(!json_object_line("{\"a\":01}"));
	cr_assert(!json_object_line("[1]"));
	cr_assert(!json_object_line("{\"a\":1} x"));
}

/* ------------------------------------------------------------------------ */
/* Indexing                                                                 */
/* ------------------------------------------------------------------------ */

Test(cli, index_prints_a_summary)
{
	NEED_BIN();
	copy_corpus();
	th_proc p = ns("--index", g_ix, "index", "corpus", NULL);
	cr_assert_eq(p.status, 0, "status %d, stderr: %s", p.status, p.err);
	cr_assert_eq(th_count_lines(p.out), 1, "one summary line: [%s]", p.out);
	cr_assert_eq(strncmp(p.out, "indexed 5 documents,", 20), 0, "summary: %s",
	             p.out);
	cr_assert_str_eq(p.err, "", "no warnings for the sample corpus");
	th_proc_free(&p);
	char *man = th_path(g_ix, "manifest");
	cr_assert(th_exists(man));
	free(man);
	/* -q: nothing on stdout */
	p = ns("--index", g_ix, "index", "-q", "corpus", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(p.out, "");
	th_proc_free(&p);
}

Test(cli, binary_file_is_skipped_with_a_warning)
{
	NEED_BIN();
	copy_corpus();
	char *bin = th_path(g_dir, "corpus/zz_binary.dat");
	th_write_file(bin, "text\0with a NUL byte", 20);
	free(bin);
	th_proc p = ns("--index", g_ix, "index", "corpus", NULL);
	cr_assert_eq(p.status, 0, "status %d: %s", p.status, p.err);
	cr_assert_not_null(strstr(p.err, "zz_binary.dat"), "stderr: %s", p.err);
	cr_assert_not_null(strstr(p.err, "binary"), "stderr: %s", p.err);
	cr_assert_not_null(strstr(p.err, "warning"), "stderr: %s", p.err);
	cr_assert_eq(strncmp(p.out, "indexed 5 documents,", 20), 0, "summary: %s",
	             p.out);
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "NUL", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_null(strstr(p.out, "zz_binary"), "the binary file is not indexed");
	th_proc_free(&p);
}

Test(cli, failed_index_keeps_the_previous_index)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "index", "no-such-dir", NULL);
	cr_assert_neq(p.status, 0, "indexing a missing directory must fail");
	cr_assert_not_null(strstr(p.err, "no-such-dir"), "stderr: %s", p.err);
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	cr_assert_geq(parse_hits(p.out, h, 10), 1, "no hits: %s", p.out);
	cr_assert_str_eq(h[0].id, STORM_DOC);
	th_proc_free(&p);
	p = ns("--index", g_ix, "stats", NULL);
	cr_assert_not_null(strstr(p.out, "generation 1"), "%s", p.out);
	th_proc_free(&p);
	p = ns("--index", g_ix, "check", NULL);
	cr_assert_eq(p.status, 0, "%s%s", p.out, p.err);
	th_proc_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Querying                                                                 */
/* ------------------------------------------------------------------------ */

Test(cli, query_ranks_the_storm_shadow_article_first)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	size_t n = parse_hits(p.out, h, 10);
	cr_assert_geq(n, 1, "no hit lines in: %s", p.out);
	cr_assert_eq(h[0].rank, 1);
	cr_assert_str_eq(h[0].id, STORM_DOC, "output:\n%s", p.out);
	cr_assert_gt(h[0].score, 0);
	for (size_t i = 1; i < n; i++) {
		cr_assert_eq(h[i].rank, i + 1);
		cr_assert_leq(h[i].score, h[i - 1].score);
	}
	char want[64];
	snprintf(want, sizeof want, "\n%zu of %zu matching document", n, n);
	cr_assert_not_null(strstr(p.out, want), "total line missing: %s", p.out);
	/* no colour when stdout is not a terminal */
	cr_assert_null(strchr(p.out, '\033'));
	cr_assert_str_eq(p.err, "");
	th_proc_free(&p);
	/* several arguments are joined into one query */
	p = ns("--index", g_ix, "query", "Storm", "Shadow", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(parse_hits(p.out, h, 10), n);
	cr_assert_str_eq(h[0].id, STORM_DOC);
	th_proc_free(&p);
}

Test(cli, phrase_query_returns_one_document)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "\"Storm Shadow\"", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	cr_assert_eq(parse_hits(p.out, h, 10), 1, "output:\n%s", p.out);
	cr_assert_str_eq(h[0].id, STORM_DOC);
	cr_assert_not_null(strstr(p.out, "\n1 of 1 matching document\n"), "%s",
	                   p.out);
	cr_assert_null(strstr(p.out, "documents"), "singular: %s", p.out);
	th_proc_free(&p);
	/* --count */
	p = ns("--index", g_ix, "query", "--count", "\"Storm Shadow\"", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(p.out, "1\n");
	th_proc_free(&p);
}

Test(cli, k_limits_the_hits)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "-k", "2", "the", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	cr_assert_eq(parse_hits(p.out, h, 10), 2, "%s", p.out);
	cr_assert_not_null(strstr(p.out, "\n2 of 5 matching documents\n"), "%s",
	                   p.out);
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "-k", "x", "the", NULL);
	cr_assert_eq(p.status, 2, "-k needs a number");
	th_proc_free(&p);
}

Test(cli, json_lines_are_objects_with_the_hit_fields)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "--json", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	static const char first[] = "{\"rank\":1,\"id\":\"" STORM_DOC "\"";
	cr_assert_eq(strncmp(p.out, first, sizeof first - 1), 0, "output: %s",
	             p.out);
	char line[8192];
	size_t n = 0;
	for (size_t i = 0; line_of(p.out, i, line, sizeof line); i++, n++) {
		cr_assert(json_object_line(line), "not a JSON object: %s", line);
		static const char *const fields[] = {"\"rank\":", "\"id\":",
		                                     "\"score\":", "\"title\":",
		                                     "\"snippet\":"};
		for (size_t f = 0; f < 5; f++)
			cr_assert_not_null(strstr(line, fields[f]), "%s missing: %s",
			                   fields[f], line);
		char want[32];
		snprintf(want, sizeof want, "{\"rank\":%zu,", i + 1);
		cr_assert_eq(strncmp(line, want, strlen(want)), 0, "%s", line);
		cr_assert_null(strchr(line, '\033'), "no colour in JSON");
	}
	cr_assert_geq(n, 1);
	cr_assert_eq(th_count_lines(p.out), n, "only JSON lines, no total line");
	th_proc_free(&p);
	/* --json with --color=always still has no escape codes */
	p = ns("--index", g_ix, "query", "--json", "--color=always", "Storm", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_null(strchr(p.out, '\033'));
	th_proc_free(&p);
}

Test(cli, color_always_highlights_matches)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "--color=always", "Storm Shadow",
	               NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_not_null(strstr(p.out, "\033[1;31mStorm\033[0m"), "output: %s",
	                   p.out);
	cr_assert_not_null(strstr(p.out, "\033[1;31mShadow\033[0m"));
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--color", "never", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_null(strchr(p.out, '\033'));
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--color=sometimes", "Storm", NULL);
	cr_assert_eq(p.status, 2);
	th_proc_free(&p);
}

Test(cli, batch_prints_trec_run_lines)
{
	NEED_BIN();
	index_corpus();
	char *qf = th_path(g_dir, "topics.tsv");
	th_write_str(qf, "q1\tStorm Shadow\nq2\tUkraine missiles\n");
	th_proc p = ns("--index", g_ix, "query", "--batch", qf, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	char line[1024];
	unsigned next_rank[3] = {1, 1, 1};
	double last[3] = {1e300, 1e300, 1e300};
	size_t n = 0;
	for (size_t i = 0; line_of(p.out, i, line, sizeof line); i++, n++) {
		char qid[16], q0[8], doc[256], tag[32], extra;
		unsigned rank;
		double score;
		cr_assert_eq(sscanf(line, "%15s %7s %255s %u %lf %31s %c", qid, q0, doc,
		                    &rank, &score, tag, &extra),
		             6, "not a TREC run line: %s", line);
		cr_assert_str_eq(q0, "Q0");
		cr_assert_str_eq(tag, "nsearch");
		cr_assert(!strcmp(qid, "q1") || !strcmp(qid, "q2"), "qid %s", qid);
		int k = qid[1] - '0';
		cr_assert_eq(rank, next_rank[k]++, "ranks count from 1: %s", line);
		cr_assert_leq(score, last[k]);
		last[k] = score;
		if (!strcmp(qid, "q1") && rank == 1) cr_assert_str_eq(doc, STORM_DOC);
	}
	cr_assert_gt(next_rank[1], 1, "no lines for q1");
	cr_assert_gt(next_rank[2], 1, "no lines for q2");
	cr_assert_eq(th_count_lines(p.out), n);
	th_proc_free(&p);
	/* from stdin with '-' */
	const char *argv[] = {g_bin, "--index", g_ix, "query", "--batch", "-",
	                      NULL};
	p = th_run(argv, g_dir, NULL, "t7\t\"Storm Shadow\"\n");
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(strncmp(p.out, "t7 Q0 " STORM_DOC " 1 ", 6 + 24 + 3), 0,
	             "%s", p.out);
	cr_assert_eq(th_count_lines(p.out), 1);
	th_proc_free(&p);
	free(qf);
}

Test(cli, nsearch_index_environment_variable_names_the_index)
{
	NEED_BIN();
	index_corpus();
	char env1[256];
	snprintf(env1, sizeof env1, "NSEARCH_INDEX=%s", g_ix);
	const char *env[] = {env1, NULL};
	th_proc p = ns_env(env, "query", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	cr_assert_geq(parse_hits(p.out, h, 10), 1, "%s", p.out);
	cr_assert_str_eq(h[0].id, STORM_DOC);
	th_proc_free(&p);
	p = ns_env(env, "stats", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_not_null(strstr(p.out, g_ix), "stats names the index: %s", p.out);
	th_proc_free(&p);
	/* --index wins over the environment */
	const char *bad[] = {"NSEARCH_INDEX=/nonexistent/nsearch-index", NULL};
	p = ns_env(bad, "--index", g_ix, "query", "Storm", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	th_proc_free(&p);
	p = ns_env(bad, "query", "Storm", NULL);
	cr_assert_eq(p.status, 1);
	th_proc_free(&p);
	/* without either, the default is .nsearch in the current directory */
	p = ns("query", "Storm", NULL);
	cr_assert_eq(p.status, 1, "no .nsearch in %s", g_dir);
	cr_assert_not_null(strstr(p.err, ".nsearch"), "%s", p.err);
	th_proc_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Exit codes                                                               */
/* ------------------------------------------------------------------------ */

/* stderr is exactly one line starting with "nsearch: " */
static void expect_one_error_line(const th_proc *p)
{
	cr_assert_eq(strncmp(p->err, "nsearch: ", 9), 0, "stderr: [%s]", p->err);
	cr_assert_eq(th_count_lines(p->err), 1, "stderr: [%s]", p->err);
	cr_assert_eq(p->err[p->err_len - 1], '\n');
}

Test(cli, missing_index_is_a_runtime_error)
{
	NEED_BIN();
	th_proc p = ns("--index", g_ix, "query", "storm", NULL);
	cr_assert_eq(p.status, 1, "status %d", p.status);
	expect_one_error_line(&p);
	cr_assert_str_eq(p.out, "");
	th_proc_free(&p);
	p = ns("--index", g_ix, "stats", NULL);
	cr_assert_eq(p.status, 1);
	expect_one_error_line(&p);
	th_proc_free(&p);
	p = ns("--index", g_ix, "check", NULL);
	cr_assert_eq(p.status, 1);
	th_proc_free(&p);
}

Test(cli, malformed_query_is_a_usage_error)
{
	NEED_BIN();
	index_corpus();
	static const char *const bad[] = {"(storm shadow", "\"storm", "-storm",
	                                  "storm AND", ")"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		th_proc p = ns("--index", g_ix, "query", bad[i], NULL);
		cr_assert_eq(p.status, 2, "[%s]: status %d", bad[i], p.status);
		expect_one_error_line(&p);
		cr_assert_str_eq(p.out, "");
		th_proc_free(&p);
	}
	/* a bad line in a batch is reported and the others still run */
	char *qf = th_path(g_dir, "q.tsv");
	th_write_str(qf, "a\t(storm\nb\tstorm\n");
	th_proc p = ns("--index", g_ix, "query", "--batch", qf, NULL);
	cr_assert_neq(p.status, 0);
	cr_assert_not_null(strstr(p.out, "b Q0 "), "%s", p.out);
	cr_assert_null(strstr(p.out, "a Q0 "), "%s", p.out);
	th_proc_free(&p);
	free(qf);
}

Test(cli, unknown_options_and_commands_are_usage_errors)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--bogus", "query", "storm", NULL);
	cr_assert_eq(p.status, 2);
	cr_assert_not_null(strstr(p.err, "--bogus"), "%s", p.err);
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--bogus", "storm", NULL);
	cr_assert_eq(p.status, 2);
	cr_assert_not_null(strstr(p.err, "--bogus"), "%s", p.err);
	cr_assert_str_eq(p.out, "");
	th_proc_free(&p);
	p = ns("--index", g_ix, "index", "--bogus", "corpus", NULL);
	cr_assert_eq(p.status, 2);
	th_proc_free(&p);
	p = ns("--index", g_ix, "stats", "--bogus", NULL);
	cr_assert_eq(p.status, 2);
	th_proc_free(&p);
	p = ns("--index", g_ix, "frobnicate", NULL);
	cr_assert_eq(p.status, 2);
	th_proc_free(&p);
	p = ns(NULL);
	cr_assert_eq(p.status, 2, "no command");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", NULL);
	cr_assert_eq(p.status, 2, "query without words");
	th_proc_free(&p);
	p = ns("--index", g_ix, "index", NULL);
	cr_assert_eq(p.status, 2, "index without a directory");
	th_proc_free(&p);
	p = ns("--index", g_ix, "index", "--lang", "klingon", "corpus", NULL);
	cr_assert_eq(p.status, 2, "unknown language");
	th_proc_free(&p);
}

Test(cli, zero_hits_is_success)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "query", "xylophonequux", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(p.out, "no matching documents\n");
	cr_assert_str_eq(p.err, "");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--json", "xylophonequux", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(p.out, "");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--count", "xylophonequux", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(p.out, "0\n");
	th_proc_free(&p);
}

/* ------------------------------------------------------------------------ */
/* check, stats, langs, help                                                */
/* ------------------------------------------------------------------------ */

Test(cli, check_detects_a_damaged_posting_file)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "check", NULL);
	cr_assert_eq(p.status, 0, "%s%s", p.out, p.err);
	cr_assert_eq(strncmp(p.out, "ok", 2), 0, "%s", p.out);
	th_proc_free(&p);
	char *name = th_find_suffix(g_ix, ".post");
	cr_assert_not_null(name);
	char *path = th_path(g_ix, name);
	size_t n;
	char *data = th_read_file(path, &n);
	cr_assert_gt(n, 40);
	data[n / 2] ^= 0x5a;
	th_write_file(path, data, n);
	p = ns("--index", g_ix, "check", NULL);
	cr_assert_eq(p.status, 1, "status %d", p.status);
	cr_assert_not_null(strstr(p.out, name), "the report names %s: %s", name,
	                   p.out);
	cr_assert_neq(p.err_len, 0);
	th_proc_free(&p);
	/* queries on the damaged index fail cleanly */
	p = ns("--index", g_ix, "query", "storm", NULL);
	cr_assert_eq(p.status, 1);
	expect_one_error_line(&p);
	cr_assert_not_null(strstr(p.err, name), "%s", p.err);
	th_proc_free(&p);
	free(data);
	free(path);
	free(name);
}

Test(cli, stats_counts_the_documents)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "stats", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	char line[256];
	int found = 0;
	for (size_t i = 0; line_of(p.out, i, line, sizeof line); i++) {
		unsigned long long v;
		if (sscanf(line, "documents: %llu", &v) == 1) {
			cr_assert_eq(v, 5, "%s", line);
			found = 1;
		}
	}
	cr_assert(found, "no 'documents:' line in:\n%s", p.out);
	cr_assert_not_null(strstr(p.out, "language:"));
	cr_assert_not_null(strstr(p.out, "english"));
	th_proc_free(&p);
}

Test(cli, langs_lists_english)
{
	NEED_BIN();
	th_proc p = ns("langs", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert(strstr(p.out, "\nenglish\n") || !strncmp(p.out, "english\n", 8),
	          "%s", p.out);
	cr_assert_not_null(strstr(p.out, "none\n"));
	cr_assert_gt(th_count_lines(p.out), 10);
	th_proc_free(&p);
}

Test(cli, help_mentions_bm25)
{
	NEED_BIN();
	th_proc p = ns("--help", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_not_null(strstr(p.out, "BM25"), "%s", p.out);
	cr_assert_not_null(strstr(p.out, "usage:"));
	th_proc_free(&p);
	p = ns("query", "--help", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_not_null(strstr(p.out, "BM25"), "%s", p.out);
	cr_assert_not_null(strstr(p.out, "nsearch query"));
	th_proc_free(&p);
	p = ns("help", "query", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_not_null(strstr(p.out, "BM25"));
	th_proc_free(&p);
	p = ns("--version", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(strncmp(p.out, "nsearch ", 8), 0, "%s", p.out);
	th_proc_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Incremental updates: index on an existing index, add, delete, optimize   */
/* ------------------------------------------------------------------------ */

/* Writes text to g_dir/rel. */
static void put_file(const char *rel, const char *text)
{
	char *p = th_path(g_dir, rel);
	th_write_str(p, text);
	free(p);
}

static void append_file(const char *rel, const char *text)
{
	char *p = th_path(g_dir, rel);
	FILE *f = fopen(p, "ab");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	free(p);
}

/* Twenty more small documents in corpus/, so that an update that changes
** a few documents keeps the old segment (with deletions) beside a new
** one instead of merging everything. */
static void add_fillers(void)
{
	static const char *const words[] = {"missiles", "wheat", "oil",
	                                    "grain",    "storm", "prices"};
	for (int i = 0; i < 20; i++) {
		char rel[64], text[256];
		snprintf(rel, sizeof rel, "corpus/filler_%02d.txt", i);
		snprintf(text, sizeof text,
		         "Filler %d\nfiller number %d about %s and %s, %s %s.\n", i, i,
		         words[i % 6], words[(i / 6) % 6], words[(i * 7) % 6],
		         i % 4 ? "today" : "the storm shadow of the market");
		put_file(rel, text);
	}
}

/* `index` with the given arguments (NULL-terminated) on g_ix; asserts
** exit status 0 and returns the summary line (caller frees). */
static char *index_summary(const char *first, ...)
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = g_bin;
	argv[n++] = "--index";
	argv[n++] = g_ix;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, 15);
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	th_proc p = th_run(argv, g_dir, NULL, NULL);
	cr_assert_eq(p.status, 0, "%s: status %d: %s", argv[3], p.status, p.err);
	char *out = p.out;
	p.out = NULL;
	th_proc_free(&p);
	return out;
}

/* Asserts that an update summary reports these counts. */
static void expect_update(const char *out, unsigned added, unsigned changed,
                          unsigned removed, unsigned unchanged)
{
	char want[160];
	snprintf(want, sizeof want,
	         "updated index: %u added, %u changed, %u removed, %u unchanged "
	         "documents; ",
	         added, changed, removed, unchanged);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0,
	             "summary: [%s], expected it to start with [%s]", out, want);
}

/* The hits of `query --json -k 100 q` on index ix as sorted "id score"
** lines (sorted by id: equal scores may be ordered differently by
** indexes that number their documents differently). */
static char *hit_set(const char *ix, const char *q)
{
	th_proc p = ns("--index", ix, "query", "--json", "-k", "100", q, NULL);
	cr_assert_eq(p.status, 0, "query [%s] on %s: %d %s", q, ix, p.status,
	             p.err);
	size_t n = th_count_lines(p.out);
	char **lines = calloc(n + 1, sizeof *lines);
	cr_assert_not_null(lines);
	char line[8192];
	for (size_t i = 0; i < n && line_of(p.out, i, line, sizeof line); i++) {
		char id[256], score[64];
		const char *a = strstr(line, "\"id\":\""), *b = strstr(line,
		                                                        "\"score\":");
		cr_assert(a && b, "no id or score in %s", line);
		cr_assert_eq(sscanf(a + 6, "%255[^\"]", id), 1, "%s", line);
		cr_assert_eq(sscanf(b + 8, "%63[^,]", score), 1, "%s", line);
		size_t l = strlen(id) + strlen(score) + 3;
		lines[i] = malloc(l);
		cr_assert_not_null(lines[i]);
		snprintf(lines[i], l, "%s %s\n", id, score);
	}
	char *s = th_join_sorted((const char **)lines, n, "");
	for (size_t i = 0; i < n; i++) free(lines[i]);
	free(lines);
	th_proc_free(&p);
	return s;
}

static const char *const g_queries[] = {
    "missiles", "wheat OR grain", "Storm Shadow", "\"Storm Shadow\"",
    "the",      "+oil prices",    "zzedit",       "zznew",
};
#define N_QUERIES (sizeof g_queries / sizeof *g_queries)

/* The hit sets of every query of g_queries on ix. */
static void all_hit_sets(const char *ix, char **out)
{
	for (size_t i = 0; i < N_QUERIES; i++) out[i] = hit_set(ix, g_queries[i]);
}

static void expect_same_hits(char **a, char **b, const char *what)
{
	for (size_t i = 0; i < N_QUERIES; i++)
		cr_assert_str_eq(a[i], b[i], "%s: query [%s] gives\n%s\ninstead of\n%s",
		                 what, g_queries[i], a[i], b[i]);
}

static void free_hit_sets(char **s)
{
	for (size_t i = 0; i < N_QUERIES; i++) free(s[i]);
}

/* `nsearch stats` of ix: the number of segments and of documents. */
static void index_counts(const char *ix, unsigned *segments,
                         unsigned long long *docs)
{
	th_proc p = ns("--index", ix, "stats", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	const char *g = strstr(p.out, "(generation ");
	unsigned long long gen;
	cr_assert(g && sscanf(g, "(generation %llu, %u segment", &gen, segments) ==
	                   2, "stats: %s", p.out);
	const char *d = strstr(p.out, "\ndocuments:");
	cr_assert(d && sscanf(d, "\ndocuments: %llu", docs) == 1, "stats: %s",
	          p.out);
	th_proc_free(&p);
}

static unsigned long long count_hits(const char *q)
{
	th_proc p = ns("--index", g_ix, "query", "--count", q, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	unsigned long long n;
	cr_assert_eq(sscanf(p.out, "%llu", &n), 1, "%s", p.out);
	th_proc_free(&p);
	return n;
}

static void expect_check_ok(const char *ix)
{
	th_proc p = ns("--index", ix, "check", NULL);
	cr_assert_eq(p.status, 0, "check: %s%s", p.out, p.err);
	th_proc_free(&p);
}

Test(cli, index_twice_on_an_unchanged_corpus_changes_nothing)
{
	NEED_BIN();
	index_corpus();
	char *before[N_QUERIES], *after[N_QUERIES];
	all_hit_sets(g_ix, before);
	char *out = index_summary("index", "corpus", NULL);
	expect_update(out, 0, 0, 0, 5);
	cr_assert_eq(th_count_lines(out), 1, "%s", out);
	free(out);
	all_hit_sets(g_ix, after);
	expect_same_hits(after, before, "after an update that changed nothing");
	free_hit_sets(before);
	free_hit_sets(after);
	/* -q: nothing on stdout */
	out = index_summary("index", "-q", "corpus", NULL);
	cr_assert_str_eq(out, "");
	free(out);
	expect_check_ok(g_ix);
}

Test(cli, update_gives_the_results_of_a_rebuild)
{
	NEED_BIN();
	copy_corpus();
	add_fillers();
	char *out = index_summary("index", "corpus", NULL);
	cr_assert_eq(strncmp(out, "indexed 25 documents,", 21), 0, "%s", out);
	free(out);
	/* one edit (another size), one new file, one file removed */
	append_file("corpus/001_be2fac54a581aa04.txt",
	            "\nAn added paragraph: zzedit missiles and wheat.\n");
	put_file("corpus/zz_new.txt", "New document\nzznew: oil prices and "
	                              "Storm Shadow missiles.\n");
	th_remove(g_dir, "corpus/004_f43dc86851b8e200.txt");
	out = index_summary("index", "corpus", NULL);
	expect_update(out, 1, 1, 1, 23);
	free(out);
	cr_assert_eq(count_hits("zzedit"), 1);
	cr_assert_eq(count_hits("zznew"), 1);
	hitline h[10];
	th_proc p = ns("--index", g_ix, "query", "zznew", NULL);
	cr_assert_eq(parse_hits(p.out, h, 10), 1, "%s", p.out);
	cr_assert_str_eq(h[0].id, "zz_new.txt");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "-k", "100", "the", NULL);
	cr_assert_null(strstr(p.out, "004_f43dc86851b8e200.txt"),
	               "the removed file is still found: %s", p.out);
	th_proc_free(&p);
	unsigned segs;
	unsigned long long docs;
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 25);
	/* the point of the comparison: deletions in an old segment beside a
	** new one (the tiered policy does not merge 24 documents into 2) */
	cr_assert_geq(segs, 2, "the update merged everything; the comparison "
	              "would not cover deletions");
	expect_check_ok(g_ix);

	/* the same documents, ids and scores as a full build */
	char other[160];
	snprintf(other, sizeof other, "%s/rebuilt", g_dir);
	p = ns("--index", other, "index", "--rebuild", "corpus", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(strncmp(p.out, "indexed 25 documents,", 21), 0, "%s", p.out);
	th_proc_free(&p);
	char *upd[N_QUERIES], *full[N_QUERIES];
	all_hit_sets(g_ix, upd);
	all_hit_sets(other, full);
	cr_assert_neq(strlen(upd[0]), 0);
	expect_same_hits(upd, full, "updated index vs. rebuilt index");
	free_hit_sets(upd);
	free_hit_sets(full);
}

Test(cli, touched_file_counts_as_unchanged)
{
	NEED_BIN();
	index_corpus();
	char *path = th_path(g_dir, "corpus/" STORM_DOC);
	struct timespec ts[2] = {{1500000000, 0}, {1500000000, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s", strerror(errno));
	free(path);
	char *out = index_summary("index", "corpus", NULL);
	expect_update(out, 0, 0, 0, 5);
	free(out);
	th_proc p = ns("--index", g_ix, "query", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	hitline h[10];
	cr_assert_geq(parse_hits(p.out, h, 10), 1, "%s", p.out);
	cr_assert_str_eq(h[0].id, STORM_DOC);
	th_proc_free(&p);
	unsigned segs;
	unsigned long long docs;
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 5);
}

Test(cli, add_adds_and_replaces_documents)
{
	NEED_BIN();
	index_corpus();
	put_file("extra.txt", "Extra\nzzextra zzfirst.\n");
	char *out = index_summary("add", "extra.txt", NULL);
	expect_update(out, 1, 0, 0, 0);
	free(out);
	th_proc p = ns("--index", g_ix, "query", "zzextra", NULL);
	hitline h[10];
	cr_assert_eq(parse_hits(p.out, h, 10), 1, "%s", p.out);
	cr_assert_str_eq(h[0].id, "extra.txt", "a file root's id is the path "
	                 "as given");
	th_proc_free(&p);
	unsigned segs;
	unsigned long long docs;
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 6);
	/* the same id again, another text: replaced */
	put_file("extra.txt", "Extra\nzzextra zzsecond, longer.\n");
	out = index_summary("add", "extra.txt", NULL);
	expect_update(out, 0, 1, 0, 0);
	free(out);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 6);
	cr_assert_eq(count_hits("zzextra"), 1);
	cr_assert_eq(count_hits("zzsecond"), 1);
	cr_assert_eq(count_hits("zzfirst"), 0, "the old text is gone");
	/* add DIR replaces the changed documents and deletes nothing */
	append_file("corpus/" STORM_DOC, "\nzzappended\n");
	th_remove(g_dir, "corpus/001_be2fac54a581aa04.txt");
	out = index_summary("add", "corpus", NULL);
	expect_update(out, 0, 1, 0, 3);
	free(out);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 6);
	cr_assert_eq(count_hits("zzappended"), 1);
	expect_check_ok(g_ix);
	/* index DIR removes what is not under DIR, extra.txt included */
	out = index_summary("index", "corpus", NULL);
	expect_update(out, 0, 0, 2, 4);
	free(out);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 4);
	cr_assert_eq(count_hits("zzextra"), 0);
	expect_check_ok(g_ix);
}

Test(cli, delete_removes_documents_by_id)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "delete", STORM_DOC, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_str_eq(p.out, "deleted 1 document\n");
	cr_assert_str_eq(p.err, "");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "-k", "100", "Storm Shadow", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_null(strstr(p.out, STORM_DOC), "%s", p.out);
	th_proc_free(&p);
	unsigned segs;
	unsigned long long docs;
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 4);
	/* an unknown id: exit 1 with a message; the others are deleted */
	p = ns("--index", g_ix, "delete", "001_be2fac54a581aa04.txt",
	       "no-such-id", "002_d62c73938006067c.txt", NULL);
	cr_assert_eq(p.status, 1, "status %d", p.status);
	expect_one_error_line(&p);
	cr_assert_not_null(strstr(p.err, "no-such-id"), "%s", p.err);
	cr_assert_str_eq(p.out, "deleted 2 documents\n");
	th_proc_free(&p);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 2);
	p = ns("--index", g_ix, "query", "-k", "100", "the", NULL);
	cr_assert_null(strstr(p.out, "001_be2fac54a581aa04.txt"), "%s", p.out);
	cr_assert_null(strstr(p.out, "002_d62c73938006067c.txt"), "%s", p.out);
	cr_assert_not_null(strstr(p.out, "003_d6d7279d007af1e5.txt"), "%s", p.out);
	th_proc_free(&p);
	/* only unknown ids: exit 1, nothing changes */
	p = ns("--index", g_ix, "delete", STORM_DOC, NULL);
	cr_assert_eq(p.status, 1);
	expect_one_error_line(&p);
	cr_assert_str_eq(p.out, "");
	th_proc_free(&p);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 2);
	/* no id: a usage error */
	p = ns("--index", g_ix, "delete", NULL);
	cr_assert_eq(p.status, 2);
	th_proc_free(&p);
	expect_check_ok(g_ix);
	/* a deleted file's document comes back with the next index run */
	char *out = index_summary("index", "corpus", NULL);
	expect_update(out, 3, 0, 0, 2);
	free(out);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(docs, 5);
}

Test(cli, optimize_leaves_one_segment_with_the_same_results)
{
	NEED_BIN();
	copy_corpus();
	add_fillers();
	char *out = index_summary("index", "corpus", NULL);
	free(out);
	append_file("corpus/003_d6d7279d007af1e5.txt", "\nzzedit wheat.\n");
	put_file("corpus/zz_new.txt", "New\nzznew missiles.\n");
	th_remove(g_dir, "corpus/filler_05.txt");
	out = index_summary("index", "corpus", NULL);
	expect_update(out, 1, 1, 1, 23);
	free(out);
	th_proc p = ns("--index", g_ix, "delete", "filler_06.txt", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	th_proc_free(&p);
	unsigned segs;
	unsigned long long docs;
	index_counts(g_ix, &segs, &docs);
	cr_assert_geq(segs, 2);
	cr_assert_eq(docs, 24);
	char *before[N_QUERIES], *after[N_QUERIES];
	all_hit_sets(g_ix, before);
	out = index_summary("optimize", NULL);
	cr_assert_eq(strncmp(out, "optimized: 1 segment,", 21), 0, "%s", out);
	free(out);
	index_counts(g_ix, &segs, &docs);
	cr_assert_eq(segs, 1);
	cr_assert_eq(docs, 24);
	all_hit_sets(g_ix, after);
	expect_same_hits(after, before, "after optimize");
	free_hit_sets(before);
	free_hit_sets(after);
	expect_check_ok(g_ix);
	/* the deleted documents are gone from the files: no deletion file */
	char *list = th_list_dir(g_ix);
	cr_assert_null(strstr(list, ".del"), "%s", list);
	cr_assert_eq(th_count_lines(list), 7, "lock, manifest, one segment:\n%s",
	             list);
	free(list);
	/* optimize -q prints nothing; on a missing index it fails */
	out = index_summary("optimize", "-q", NULL);
	cr_assert_str_eq(out, "");
	free(out);
	char missing[160];
	snprintf(missing, sizeof missing, "%s/missing", g_dir);
	p = ns("--index", missing, "optimize", NULL);
	cr_assert_eq(p.status, 1);
	expect_one_error_line(&p);
	th_proc_free(&p);
}

Test(cli, index_in_another_language_rebuilds_with_a_warning)
{
	NEED_BIN();
	index_corpus();
	th_proc p = ns("--index", g_ix, "index", "--lang", "german", "corpus",
	               NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_not_null(strstr(p.err, "warning"), "stderr: %s", p.err);
	cr_assert_not_null(strstr(p.err, "german"), "stderr: %s", p.err);
	cr_assert_eq(strncmp(p.out, "indexed 5 documents,", 20), 0,
	             "a full build: %s", p.out);
	th_proc_free(&p);
	p = ns("--index", g_ix, "stats", NULL);
	cr_assert_not_null(strstr(p.out, "german"), "%s", p.out);
	th_proc_free(&p);
	/* without --lang an update keeps the index's language */
	char *out = index_summary("index", "corpus", NULL);
	expect_update(out, 0, 0, 0, 5);
	free(out);
	p = ns("--index", g_ix, "stats", NULL);
	cr_assert_not_null(strstr(p.out, "german"), "%s", p.out);
	th_proc_free(&p);
	/* the same language again: no warning, an update */
	p = ns("--index", g_ix, "index", "--lang", "german", "corpus", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_str_eq(p.err, "");
	expect_update(p.out, 0, 0, 0, 5);
	th_proc_free(&p);
	expect_check_ok(g_ix);
}

Test(cli, help_of_add_delete_and_optimize)
{
	NEED_BIN();
	static const char *const cmds[] = {"add", "delete", "optimize"};
	for (size_t i = 0; i < 3; i++) {
		char want[64];
		snprintf(want, sizeof want, "usage: nsearch %s ", cmds[i]);
		th_proc p = ns(cmds[i], "--help", NULL);
		cr_assert_eq(p.status, 0, "%s --help: %d", cmds[i], p.status);
		cr_assert_eq(strncmp(p.out, want, strlen(want)), 0, "%s", p.out);
		cr_assert_str_eq(p.err, "");
		th_proc_free(&p);
		p = ns("help", cmds[i], NULL);
		cr_assert_eq(p.status, 0);
		cr_assert_eq(strncmp(p.out, want, strlen(want)), 0, "%s", p.out);
		th_proc_free(&p);
	}
	/* the main help lists them */
	th_proc p = ns("--help", NULL);
	for (size_t i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof want, "\n  %s ", cmds[i]);
		cr_assert_not_null(strstr(p.out, want), "%s missing:\n%s", cmds[i],
		                   p.out);
	}
	th_proc_free(&p);
}

/* A file rewritten with the same size in the second it was indexed keeps
** its size and mtime: the update must not trust them (git's "racily
** clean" case) and must find the new text by its hash. */
Test(cli, same_size_edit_in_the_same_second_is_found)
{
	NEED_BIN();
	index_corpus();
	put_file("corpus/racy.txt", "Racy\nzzbefore words.\n");
	char *path = th_path(g_dir, "corpus/racy.txt");
	/* an mtime not older than the index, as for an edit made in the same
	** second as the indexing: here a fixed time ahead, so that the test
	** does not depend on where the second boundaries fall */
	time_t t = time(NULL) + 1000;
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s", strerror(errno));
	char *out = index_summary("index", "corpus", NULL);
	expect_update(out, 1, 0, 0, 5);
	free(out);
	/* same size, same mtime: only the content differs */
	put_file("corpus/racy.txt", "Racy\nzzafter1 words.\n");
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s", strerror(errno));
	free(path);
	out = index_summary("index", "corpus", NULL);
	expect_update(out, 0, 1, 0, 5);
	free(out);
	th_proc p = ns("--index", g_ix, "query", "--count", "zzafter1", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_str_eq(p.out, "1\n");
	th_proc_free(&p);
	p = ns("--index", g_ix, "query", "--count", "zzbefore", NULL);
	cr_assert_str_eq(p.out, "0\n");
	th_proc_free(&p);
}
