/*
** test_cli.c -- the nsearch command-line tool, end to end.  Runs the binary
** named by $NSEARCH_BIN (`make test` sets it; the tests skip without it) on
** a copy of corpus/ in a temporary directory, with --index pointing into
** that directory, and checks output and exit status (0 success, 1 runtime
** error, 2 usage error).
*/
#include <limits.h>
#include <stdarg.h>

#include "helpers.h"

static char g_dir[64];
static char g_bin[PATH_MAX];
static char g_ix[128];

#define STORM_DOC "000_7b0ca459c2ec3e80.txt"

static void setup(void)
{
	g_bin[0] = 0;
	const char *bin = getenv("NSEARCH_BIN");
	if (bin && *bin && realpath(bin, g_bin) == NULL) g_bin[0] = 0;
	th_mkdtemp(g_dir, sizeof g_dir, "cli");
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
}

static void teardown(void)
{
	th_rmrf(g_dir);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);

/* Criterion 2.4.1 runs .fini after a failed assertion but not after
** cr_skip_test(): clean up first. */
#define NEED_BIN()                                                         \
	do {                                                                   \
		if (!g_bin[0] || access(g_bin, X_OK) != 0) {                       \
			teardown();                                                    \
			cr_skip_test("NSEARCH_BIN is not set to the nsearch binary "   \
			             "(run through 'make test')");                     \
		}                                                                  \
	} while (0)

/* Runs nsearch with the given arguments (NULL-terminated) in g_dir, with
** extra environment strings env (may be NULL). */
static th_proc nsv(const char *const *env, const char *stdin_text,
                   const char *first, va_list ap)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = g_bin;
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, 63);
		argv[n++] = a;
	}
	argv[n] = NULL;
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
