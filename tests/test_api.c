/*
** test_api.c -- the public API as an embedder sees it: only nsearch.h.
**
** - the example program (examples/embed.c, built as BUILD/examples/embed)
**   runs and finds the expected hit;
** - thread safety: one ns_index searched by 8 threads at once, every
**   answer (hits, scores, totals, snippets) compared with the answer
**   computed first on one thread (also run under `make asan`);
** - the contract written in the header: NULL accepted by close and free
**   functions, ns_strerror for every code, ns_version, the defaults of
**   ns_search_options_init, error returns and OUT parameters, the lifetime
**   of result strings, the writer's rules.
*/
#include <pthread.h>

/* helpers.h uses nsearch.h and nothing else of the library */
#include "helpers.h"

/* ---- helpers ------------------------------------------------------------ */

/* Each test makes its own directory; the suite's fini removes it. */
TestSuite(api, .fini = th_cleanup_test);

/* Path of a file of this build: $NSEARCH_ROOT/$NSEARCH_BUILD/name (set by
** `make test`), else next to $NSEARCH_BIN, else build/name. */
static void ta_build_path(char *buf, size_t size, const char *name)
{
	const char *root = getenv("NSEARCH_ROOT"), *build = getenv("NSEARCH_BUILD");
	const char *bin = getenv("NSEARCH_BIN");
	if (root && build)
		snprintf(buf, size, "%s/%s/%s", root, build, name);
	else if (bin && strrchr(bin, '/'))
		snprintf(buf, size, "%.*s/%s", (int)(strrchr(bin, '/') - bin), bin,
		         name);
	else
		snprintf(buf, size, "build/%s", name);
}

/* ---- a deterministic corpus ---------------------------------------------- */

static const char *const vocab[] = {
    "storm",    "shadow",   "missile",  "cruise",   "river",   "danube",
    "running",  "runs",     "runner",   "light",    "lights",  "dark",
    "weather",  "thunder",  "lightning", "rain",    "snow",    "wind",
    "alpha",    "beta",     "gamma",    "delta",    "epsilon", "zeta",
    "eta",      "theta",    "the",      "a",        "of",      "and",
    "is",       "in",       "Ukraine",  "Britain",  "France",  "range",
    "air",      "launched", "countries", "forest",  "sea",     "black",
    "ten",      "2023",     "3.14",     "Zelensky’s", "naïve", "Straße",
};
#define N_VOCAB (sizeof vocab / sizeof *vocab)
#define N_DOCS 400

/* Builds an index of N_DOCS generated documents in dir. */
static void ta_build_corpus(const char *dir)
{
	ns_writer *w;
	char *err = NULL;
	int rc = ns_writer_open(dir, NULL, &w, &err);
	cr_assert_eq(rc, NS_OK, "ns_writer_open: %s", err ? err : "?");
	cr_assert_null(err);
	th_rng seed = {42};
	char text[4096], id[32], title[64];
	for (int d = 0; d < N_DOCS; d++) {
		size_t len = 0, words = 5 + th_next(&seed) % 120;
		/* a skewed choice, so that df varies from term to term */
		for (size_t k = 0; k < words; k++) {
			uint64_t r = th_next(&seed);
			size_t v = (size_t)((r % N_VOCAB) * ((r >> 32) % N_VOCAB) / N_VOCAB);
			len += (size_t)snprintf(text + len, sizeof text - len, "%s%s",
			                        k ? (k % 11 ? " " : ".\n") : "", vocab[v]);
		}
		snprintf(id, sizeof id, "doc-%03d", d);
		snprintf(title, sizeof title, "Document %d", d);
		ns_doc doc = {.id = id, .title = title, .path = d % 2 ? id : NULL,
		              .text = text, .text_len = len};
		rc = ns_writer_add(w, &doc);
		cr_assert_eq(rc, NS_OK, "add %s: %s", id, ns_writer_errmsg(w));
	}
	rc = ns_writer_commit(w);
	cr_assert_eq(rc, NS_OK, "commit: %s", ns_writer_errmsg(w));
	ns_writer_stats st;
	ns_writer_get_stats(w, &st);
	cr_assert_eq(st.n_docs, N_DOCS);
	ns_writer_close(w);
}

/* ---- the example ------------------------------------------------------- */

Test(api, example_program_finds_the_expected_hit)
{
	char embed[PATH_MAX], cmd[PATH_MAX + 64];
	ta_build_path(embed, sizeof embed, "examples/embed");
	cr_assert_eq(access(embed, X_OK), 0, "%s: %s (run make)", embed,
	             strerror(errno));
	int st;
	snprintf(cmd, sizeof cmd, "'%s'", embed);
	char *out = th_popen(cmd, &st);
	cr_assert_eq(st, 0, "embed exited with %d:\n%s", st, out);
	cr_assert_not_null(strstr(out, "libnsearch " NSEARCH_VERSION_STRING), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "indexed 4 documents"), "%s", out);
	cr_assert_not_null(strstr(out, "query: storm shadow\n1. missile "), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "[Storm] [Shadow] is an air-launched"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "3 matching documents"), "%s", out);
	free(out);

	/* a query given on the command line; a bad one fails with status 1 */
	snprintf(cmd, sizeof cmd, "'%s' 'cruise AND missile'", embed);
	out = th_popen(cmd, &st);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(strstr(out, "1. missile "), "%s", out);
	cr_assert_not_null(strstr(out, "1 matching documents"), "%s", out);
	free(out);
	snprintf(cmd, sizeof cmd, "'%s' '(storm' 2>/dev/null", embed);
	out = th_popen(cmd, &st);
	cr_assert_eq(st, 1, "%s", out);
	free(out);
}

/* ---- threads ------------------------------------------------------------ */

static const char *const queries[] = {
    "storm",
    "storm shadow",
    "+storm shadow",
    "storm -shadow",
    "\"storm shadow\"",
    "\"the storm\" OR \"black sea\"",
    "alpha AND (beta OR gamma) NOT delta",
    "running",
    "light dark weather thunder lightning rain snow wind",
    "zelensky",
    "strasse naive",
    "3.14 OR 2023",
    "the",
    "nosuchwordanywhere",
    "+alpha +beta +gamma",
    "ukraine britain france -missile",
};
#define N_QUERIES (sizeof queries / sizeof *queries)
#define MAX_K 12

typedef struct answer {
	uint64_t total;
	size_t n;
	char *id[MAX_K];
	double score[MAX_K];
	uint64_t docno[MAX_K];
	char *snippet[MAX_K];
} answer;

static void query_options(size_t q, ns_search_options *o)
{
	ns_search_options_init(o);
	o->k = 1 + q % MAX_K;
	if (q % 5 == 3) o->k1 = 1.2;
	if (q % 7 == 2) o->b = 0.75;
}

/* Computes the answer to query q on ix; 0 or an ns_status. */
static int compute(ns_index *ix, size_t q, answer *a)
{
	ns_search_options o;
	query_options(q, &o);
	ns_results *r;
	memset(a, 0, sizeof *a);
	int rc = ns_search(ix, queries[q], &o, &r, NULL);
	if (rc) return rc;
	a->total = ns_results_total(r);
	a->n = ns_results_count(r);
	for (size_t i = 0; i < a->n && !rc; i++) {
		a->id[i] = strdup(ns_results_id(r, i));
		a->score[i] = ns_results_score(r, i);
		a->docno[i] = ns_results_docno(r, i);
		rc = ns_snippet(r, i, "<", ">", 8 + q % 20, &a->snippet[i]);
	}
	ns_results_free(r);
	return rc;
}

static void answer_free(answer *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->id[i]);
		ns_free(a->snippet[i]);
	}
}

/* 0 when equal, else a description of the first difference (static). */
static const char *answer_diff(const answer *x, const answer *y)
{
	if (x->total != y->total) return "total";
	if (x->n != y->n) return "count";
	for (size_t i = 0; i < x->n; i++) {
		if (!x->id[i] || !y->id[i] || strcmp(x->id[i], y->id[i])) return "id";
		if (x->score[i] != y->score[i]) return "score";
		if (x->docno[i] != y->docno[i]) return "docno";
		if (!x->snippet[i] || !y->snippet[i] ||
		    strcmp(x->snippet[i], y->snippet[i]))
			return "snippet";
	}
	return NULL;
}

#define N_THREADS 8
#define N_ROUNDS 300

typedef struct worker {
	pthread_t th;
	int no;
	ns_index *ix;
	const answer *expect;
	int failures, searches;
	char first[160];
} worker;

/* Criterion's assertions are not for other threads: a worker only counts
** its failures and the main thread checks them. */
static void *work(void *arg)
{
	worker *w = arg;
	for (int round = 0; round < N_ROUNDS; round++) {
		size_t q = ((size_t)w->no * 7 + (size_t)round) % N_QUERIES;
		answer a;
		int rc = compute(w->ix, q, &a);
		const char *diff = rc ? ns_strerror(rc) : answer_diff(&a, &w->expect[q]);
		if (diff && w->failures++ == 0)
			snprintf(w->first, sizeof w->first,
			         "thread %d, round %d, query '%s': %s differs", w->no,
			         round, queries[q], diff);
		answer_free(&a);
		w->searches++;
	}
	return NULL;
}

Test(api, one_index_searched_by_eight_threads_agrees_with_one_thread,
     .timeout = 300)
{
	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-threads");
	ta_build_corpus(dir);
	ns_index *ix;
	char *err = NULL;
	int rc = ns_index_open(dir, &ix, &err);
	cr_assert_eq(rc, NS_OK, "open: %s", err ? err : "?");

	answer expect[N_QUERIES];
	size_t with_hits = 0;
	for (size_t q = 0; q < N_QUERIES; q++) {
		rc = compute(ix, q, &expect[q]);
		cr_assert_eq(rc, NS_OK, "query '%s': %s", queries[q], ns_strerror(rc));
		with_hits += expect[q].n > 0;
		/* the same question twice on one thread: the same answer */
		answer again;
		cr_assert_eq(compute(ix, q, &again), NS_OK);
		cr_assert_null(answer_diff(&again, &expect[q]), "query '%s'", queries[q]);
		answer_free(&again);
	}
	/* the corpus is meant to exercise the evaluator, not return nothing */
	cr_assert_geq(with_hits, N_QUERIES - 2, "only %zu queries match", with_hits);

	worker w[N_THREADS];
	for (int t = 0; t < N_THREADS; t++) {
		memset(&w[t], 0, sizeof w[t]);
		w[t].no = t;
		w[t].ix = ix;
		w[t].expect = expect;
		cr_assert_eq(pthread_create(&w[t].th, NULL, work, &w[t]), 0);
	}
	int failures = 0;
	for (int t = 0; t < N_THREADS; t++) {
		cr_assert_eq(pthread_join(w[t].th, NULL), 0);
		cr_expect_eq(w[t].searches, N_ROUNDS);
		cr_expect_eq(w[t].failures, 0, "%d failures; first: %s", w[t].failures,
		             w[t].first);
		failures += w[t].failures;
	}
	for (size_t q = 0; q < N_QUERIES; q++) answer_free(&expect[q]);
	ns_index_close(ix);
	th_rmrf(dir);
	cr_assert_eq(failures, 0);
}

/* ---- the contract of the header ---------------------------------------- */

Test(api, close_and_free_functions_accept_null)
{
	ns_index_close(NULL);
	ns_writer_close(NULL);
	ns_results_free(NULL);
	ns_free(NULL);
	cr_assert_str_eq(ns_writer_errmsg(NULL), "");
}

Test(api, strerror_describes_every_code)
{
	static const int codes[] = {NS_OK,       NS_DONE,      NS_ENOMEM,
	                            NS_EIO,      NS_ECORRUPT,  NS_EINVAL,
	                            NS_EVERSION, NS_ENOTFOUND, NS_ESYNTAX,
	                            NS_ELOCKED,  NS_ELIMIT};
	size_t n = sizeof codes / sizeof *codes;
	const char *unknown = ns_strerror(-1000);
	cr_assert_str_eq(unknown, "unknown error");
	cr_assert_str_eq(ns_strerror(2), unknown);
	cr_assert_str_eq(ns_strerror(NS_ELIMIT - 1), unknown);
	for (size_t i = 0; i < n; i++) {
		const char *s = ns_strerror(codes[i]);
		cr_assert_not_null(s);
		cr_assert_neq(s[0], 0, "code %d", codes[i]);
		cr_assert_str_neq(s, unknown, "code %d", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(s, ns_strerror(codes[j]), "codes %d and %d share "
			                  "'%s'", codes[i], codes[j], s);
	}
	cr_assert_str_eq(ns_strerror(NS_OK), "success");
}

Test(api, version_call_equals_the_header)
{
	cr_assert_str_eq(ns_version(), NSEARCH_VERSION_STRING);
	char v[32];
	snprintf(v, sizeof v, "%d.%d.%d", NSEARCH_VERSION_MAJOR,
	         NSEARCH_VERSION_MINOR, NSEARCH_VERSION_PATCH);
	cr_assert_str_eq(v, NSEARCH_VERSION_STRING);
	cr_assert_eq(NSEARCH_VERSION_NUMBER,
	             NSEARCH_VERSION_MAJOR * 10000 + NSEARCH_VERSION_MINOR * 100 +
	                 NSEARCH_VERSION_PATCH);
}

Test(api, search_options_init_sets_the_defaults)
{
	ns_search_options o;
	memset(&o, 0xa5, sizeof o);
	ns_search_options_init(&o);
	cr_assert_eq(o.k, 10);
	cr_assert_float_eq(o.k1, 0.9, 1e-12);
	cr_assert_float_eq(o.b, 0.4, 1e-12);
	cr_assert_eq(o.count_only, 0);
	cr_assert_eq(o.plain, 0);
}

Test(api, languages_are_a_static_null_terminated_list)
{
	const char *const *l = ns_languages();
	cr_assert_not_null(l);
	int english = 0, none = 0;
	size_t n = 0;
	for (; l[n]; n++) {
		english |= !strcmp(l[n], "english");
		none |= !strcmp(l[n], "none");
	}
	cr_assert(english && none);
	cr_assert_geq(n, 2);
	cr_assert_eq(ns_languages(), l, "the same static array every time");
}

Test(api, open_errors_set_out_to_null_and_explain)
{
	ns_index *ix = (ns_index *)&ix;
	char *err = NULL;
	int rc = ns_index_open("/nonexistent/nsearch-api-test", &ix, &err);
	cr_assert_eq(rc, NS_ENOTFOUND);
	cr_assert_null(ix);
	cr_assert_not_null(err);
	cr_assert_neq(err[0], 0);
	ns_free(err);
	ix = (ns_index *)&ix;
	cr_assert_eq(ns_index_open("/nonexistent/nsearch-api-test", &ix, NULL),
	             NS_ENOTFOUND);
	cr_assert_null(ix);

	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-lang");
	ns_writer *w = (ns_writer *)&w;
	ns_writer_options wo = {.lang = "klingon"};
	rc = ns_writer_open(dir, &wo, &w, &err);
	cr_assert_eq(rc, NS_EINVAL);
	cr_assert_null(w);
	cr_assert_not_null(strstr(err, "klingon"), "%s", err);
	ns_free(err);
	cr_assert_eq(ns_writer_open(dir, &wo, &w, NULL), NS_EINVAL);
	wo.lang = "GERMAN"; /* any case */
	cr_assert_eq(ns_writer_open(dir, &wo, &w, &err), NS_OK);
	cr_assert_null(err);
	ns_writer_close(w); /* uncommitted: nothing published */
	cr_assert_eq(ns_index_open(dir, &ix, NULL), NS_ENOTFOUND);
	th_rmrf(dir);
}

/* An index of three small documents in dir. */
static void ta_build_small(const char *dir)
{
	static const char *const text[] = {
	    "Storm Shadow is a cruise missile.",
	    "A storm with thunder and lightning.",
	    "The shadow of a tree.",
	};
	ns_writer *w;
	cr_assert_eq(ns_writer_open(dir, NULL, &w, NULL), NS_OK);
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof id, "d%d", i);
		ns_doc d = {.id = id, .title = i ? NULL : "Missile",
		            .text = text[i], .text_len = strlen(text[i])};
		cr_assert_eq(ns_writer_add(w, &d), NS_OK, "%s", ns_writer_errmsg(w));
	}
	cr_assert_eq(ns_writer_commit(w), NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_close(w);
}

Test(api, search_errors_set_out_to_null_and_explain)
{
	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-errors");
	ta_build_small(dir);
	ns_index *ix;
	cr_assert_eq(ns_index_open(dir, &ix, NULL), NS_OK);
	ns_results *r = (ns_results *)&r;
	char *err = NULL;
	cr_assert_eq(ns_search(ix, "(storm", NULL, &r, &err), NS_ESYNTAX);
	cr_assert_null(r);
	cr_assert_not_null(err);
	ns_free(err);
	r = (ns_results *)&r;
	cr_assert_eq(ns_search(ix, "-storm", NULL, &r, NULL), NS_ESYNTAX);
	cr_assert_null(r);
	cr_assert_eq(ns_search(ix, NULL, NULL, &r, &err), NS_EINVAL);
	cr_assert_null(r);
	ns_free(err);
	ns_search_options o;
	ns_search_options_init(&o);
	o.b = 1.5;
	cr_assert_eq(ns_search(ix, "storm", &o, &r, NULL), NS_EINVAL);
	ns_search_options_init(&o);
	o.k1 = -1;
	cr_assert_eq(ns_search(ix, "storm", &o, &r, NULL), NS_EINVAL);
	/* success clears *errmsg */
	err = (char *)&err;
	cr_assert_eq(ns_search(ix, "storm", NULL, &r, &err), NS_OK);
	cr_assert_null(err);
	cr_assert_eq(ns_results_count(r), 2);
	cr_assert_eq(ns_results_total(r), 2);
	ns_results_free(r);
	/* zero hits is a success */
	cr_assert_eq(ns_search(ix, "nothing", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	/* count_only counts and returns no hits */
	ns_search_options_init(&o);
	o.count_only = 1;
	cr_assert_eq(ns_search(ix, "storm OR shadow", &o, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 3);
	ns_results_free(r);
	ns_index_close(ix);
	th_rmrf(dir);
}

Test(api, result_accessors_and_their_lifetime)
{
	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-results");
	ta_build_small(dir);
	ns_index *ix;
	cr_assert_eq(ns_index_open(dir, &ix, NULL), NS_OK);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 3);
	cr_assert_str_eq(st.lang, "english");
	ns_results *r;
	cr_assert_eq(ns_search(ix, "missile", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 1);
	cr_assert_str_eq(ns_results_id(r, 0), "d0");
	cr_assert_str_eq(ns_results_title(r, 0), "Missile");
	cr_assert_str_eq(ns_results_path(r, 0), "", "no path: \"\"");
	cr_assert_eq(ns_results_docno(r, 0), 0);
	cr_assert_gt(ns_results_score(r, 0), 0);
	char *s = (char *)&s;
	cr_assert_eq(ns_snippet(r, 0, "*", "*", 0, &s), NS_OK);
	cr_assert_str_eq(s, "Storm Shadow is a cruise *missile*.");
	ns_free(s);
	/* out of range: 0, "" and NS_EINVAL */
	cr_assert_eq(ns_results_score(r, 1), 0);
	cr_assert_eq(ns_results_docno(r, 7), 0);
	cr_assert_str_eq(ns_results_id(r, 1), "");
	cr_assert_str_eq(ns_results_title(r, 1), "");
	cr_assert_str_eq(ns_results_path(r, 1), "");
	s = (char *)&s;
	cr_assert_eq(ns_snippet(r, 1, "*", "*", 0, &s), NS_EINVAL);
	cr_assert_null(s);
	/* the strings belong to the results: they outlive the index */
	const char *id = ns_results_id(r, 0), *title = ns_results_title(r, 0);
	ns_index_close(ix);
	cr_assert_str_eq(id, "d0");
	cr_assert_str_eq(title, "Missile");
	ns_results_free(r);
	th_rmrf(dir);
}

Test(api, writer_rejects_bad_documents_and_goes_on)
{
	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-writer");
	ns_writer *w, *w2 = (ns_writer *)&w2;
	char *err = NULL;
	cr_assert_eq(ns_writer_open(dir, NULL, &w, &err), NS_OK);
	cr_assert_null(err);
	cr_assert_str_eq(ns_writer_errmsg(w), "");
	/* one writer at a time */
	cr_assert_eq(ns_writer_open(dir, NULL, &w2, &err), NS_ELOCKED);
	cr_assert_null(w2);
	cr_assert_not_null(err);
	ns_free(err);

	char text[] = "first words";
	ns_doc d = {.id = "a", .text = text, .text_len = strlen(text)};
	cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	strcpy(text, "other words"); /* the writer copied the first text */
	cr_assert_eq(ns_writer_add(w, &d), NS_EINVAL, "duplicate id");
	cr_assert_not_null(strstr(ns_writer_errmsg(w), "duplicate"), "%s",
	                   ns_writer_errmsg(w));
	cr_assert_eq(ns_writer_add(w, NULL), NS_EINVAL);
	ns_doc noid = {.text = "x", .text_len = 1};
	cr_assert_eq(ns_writer_add(w, &noid), NS_EINVAL);
	ns_doc empty = {.id = "b", .text = NULL, .text_len = 0};
	cr_assert_eq(ns_writer_add(w, &empty), NS_OK, "NULL text is empty");
	cr_assert_eq(ns_writer_commit(w), NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_stats st;
	ns_writer_get_stats(w, &st);
	cr_assert_eq(st.n_docs, 2);
	cr_assert_gt(st.index_bytes, 0);
	cr_assert_eq(ns_writer_add(w, &d), NS_EINVAL, "add after commit");
	cr_assert_eq(ns_writer_commit(w), NS_EINVAL, "second commit");
	ns_writer_close(w);

	ns_index *ix;
	ns_results *r;
	cr_assert_eq(ns_index_open(dir, &ix, NULL), NS_OK);
	cr_assert_eq(ns_search(ix, "first", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 1);
	ns_results_free(r);
	cr_assert_eq(ns_search(ix, "other", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	ns_results_free(r);
	ns_index_close(ix);
	th_rmrf(dir);
}

Test(api, a_writer_without_documents_commits_an_empty_index)
{
	char dir[64];
	th_mkdtemp_test(dir, sizeof dir, "api-empty");
	ns_writer *w;
	cr_assert_eq(ns_writer_open(dir, NULL, &w, NULL), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_close(w);
	ns_index *ix;
	ns_results *r;
	cr_assert_eq(ns_index_open(dir, &ix, NULL), NS_OK);
	cr_assert_eq(ns_search(ix, "anything", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	ns_index_close(ix);
	th_rmrf(dir);
}
