/*
** test_search.c -- ns_search, ns_results_* and ns_snippet: BM25 scores
** against values computed by hand, query semantics (OR, AND, NOT, +, -,
** parentheses, phrases), analysis of query words, syntax errors, snippets,
** and a randomized cross-check against a brute-force scorer.
**
** Every test builds its index with th_build_index(): document i of the
** array gets the id "d<i>" and the document number i.
*/
#include <math.h>
#include <pthread.h>

#include "helpers.h"

#include "analyze.h"

static char g_dir[64];

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "search");
}

static void teardown(void)
{
	th_rmrf(g_dir);
}

TestSuite(search, .init = setup, .fini = teardown);

#define NELEM(a) (sizeof(a) / sizeof *(a))

static ns_index *build(const char *const *texts, size_t n)
{
	th_build_index(g_dir, texts, n, NULL);
	return th_open_index(g_dir);
}

static int close_enough(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Runs a query that must succeed, with the default evaluator (dynamic
** pruning where the query allows it), and checks that the exhaustive
** reference evaluator returns the same hits: every result below is thus
** checked on both evaluators. */
static ns_results *run(ns_index *ix, const char *q, size_t k, double k1,
                       double b)
{
	ns_search_options o;
	ns_search_options_init(&o);
	o.k = k;
	o.k1 = k1;
	o.b = b;
	ns_results *r = NULL, *x = NULL;
	char *err = NULL;
	int rc = ns_search(ix, q, &o, &r, &err);
	cr_assert_eq(rc, NS_OK, "query [%s]: %d %s", q, rc, err ? err : "");
	cr_assert_not_null(r);
	cr_assert_null(err, "no message on success");
	o.exhaustive = 1;
	rc = ns_search(ix, q, &o, &x, &err);
	cr_assert_eq(rc, NS_OK, "exhaustive [%s]: %d %s", q, rc, err ? err : "");
	cr_assert_eq(ns_results_total(x), ns_results_total(r),
	             "[%s]: total %" PRIu64 " exhaustive, %" PRIu64 " pruned", q,
	             ns_results_total(x), ns_results_total(r));
	cr_assert_eq(ns_results_count(x), ns_results_count(r), "[%s]: count", q);
	for (size_t i = 0; i < ns_results_count(r); i++) {
		double a = ns_results_score(r, i), e = ns_results_score(x, i);
		cr_assert(close_enough(a, e), "[%s] hit %zu: score %.17g pruned, "
		          "%.17g exhaustive", q, i, a, e);
		/* the same documents, except that near-ties may be broken either
		** way by rounding (the tie order itself is checked by
		** ties_are_ordered_by_document_number) */
		cr_assert(ns_results_docno(r, i) == ns_results_docno(x, i) ||
		          close_enough(a, ns_results_score(x, i)),
		          "[%s] hit %zu: doc %" PRIu64 " pruned, %" PRIu64
		          " exhaustive", q, i, ns_results_docno(r, i),
		          ns_results_docno(x, i));
	}
	ns_results_free(x);
	return r;
}

static void expect_score(const ns_results *r, size_t i, uint64_t docno,
                         double want)
{
	cr_assert_gt(ns_results_count(r), i, "hit %zu missing", i);
	cr_expect_eq(ns_results_docno(r, i), docno, "hit %zu: doc %" PRIu64
	             ", expected %" PRIu64, i, ns_results_docno(r, i), docno);
	double got = ns_results_score(r, i);
	cr_expect(fabs(got - want) <= 1e-9 * fabs(want),
	          "hit %zu (doc %" PRIu64 "): score %.17g, expected %.17g", i,
	          docno, got, want);
}

/* ------------------------------------------------------------------------ */
/* BM25 by hand                                                             */
/* ------------------------------------------------------------------------ */

/* N = 3 documents, lengths 3, 2 and 5 tokens: avgdl = 10/3.
** appl: df 2 -> idf = ln(1 + 1.5/2.5) = ln(1.6)
** cherri: df 2 -> ln(1.6);  date: df 1 -> idf = ln(1 + 2.5/1.5) = ln(8/3) */
static const char *const three[] = {
    "apple banana apple",
    "banana cherry",
    "cherry cherry cherry apple date",
};

Test(search, bm25_matches_hand_computed_scores_default_parameters)
{
	ns_index *ix = build(three, 3);
	/* k1 = 0.9, b = 0.4: K = 0.9 * (0.6 + 0.4 * dl * 0.3)
	** dl 3: K = 0.864;  dl 2: K = 0.756;  dl 5: K = 1.08 */
	ns_results *r = run(ix, "apple", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 2);
	cr_assert_eq(ns_results_total(r), 2);
	expect_score(r, 0, 0, log(1.6) * 2 * 1.9 / (2 + 0.864));
	expect_score(r, 1, 2, log(1.6) * 1 * 1.9 / (1 + 1.08));
	cr_expect_str_eq(ns_results_id(r, 0), "d0");
	cr_expect_str_eq(ns_results_title(r, 0), "title 0");
	cr_expect_str_eq(ns_results_path(r, 1), "path/2.txt");
	ns_results_free(r);

	r = run(ix, "cherry date", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 2);
	cr_assert_eq(ns_results_total(r), 2);
	expect_score(r, 0, 2,
	             log(1.6) * 3 * 1.9 / (3 + 1.08) +
	                 log(8.0 / 3.0) * 1 * 1.9 / (1 + 1.08));
	expect_score(r, 1, 1, log(1.6) * 1 * 1.9 / (1 + 0.756));
	ns_results_free(r);

	/* the defaults of ns_search_options_init and of a NULL opt */
	ns_search_options o;
	ns_search_options_init(&o);
	cr_expect_eq(o.k, 10);
	cr_expect_float_eq(o.k1, 0.9, 1e-15);
	cr_expect_float_eq(o.b, 0.4, 1e-15);
	cr_expect_eq(o.count_only, 0);
	cr_assert_eq(ns_search(ix, "apple", NULL, &r, NULL), NS_OK);
	expect_score(r, 0, 0, log(1.6) * 2 * 1.9 / (2 + 0.864));
	ns_results_free(r);
	ns_index_close(ix);
}

Test(search, bm25_matches_hand_computed_scores_other_parameters)
{
	ns_index *ix = build(three, 3);
	/* k1 = 1.2, b = 0.75: K = 1.2 * (0.25 + 0.75 * dl * 0.3)
	** dl 3: K = 1.11;  dl 2: K = 0.84;  dl 5: K = 1.65;  k1 + 1 = 2.2 */
	ns_results *r = run(ix, "apple", 10, 1.2, 0.75);
	expect_score(r, 0, 0, log(1.6) * 2 * 2.2 / (2 + 1.11));
	expect_score(r, 1, 2, log(1.6) * 1 * 2.2 / (1 + 1.65));
	ns_results_free(r);
	r = run(ix, "cherry date", 10, 1.2, 0.75);
	expect_score(r, 0, 2,
	             log(1.6) * 3 * 2.2 / (3 + 1.65) +
	                 log(8.0 / 3.0) * 1 * 2.2 / (1 + 1.65));
	expect_score(r, 1, 1, log(1.6) * 1 * 2.2 / (1 + 0.84));
	ns_results_free(r);
	/* b = 0: no length normalisation, K = k1 = 2 */
	r = run(ix, "banana", 10, 2.0, 0.0);
	expect_score(r, 0, 0, log(1.6) * 1 * 3.0 / (1 + 2.0));
	expect_score(r, 1, 1, log(1.6) * 1 * 3.0 / (1 + 2.0));
	ns_results_free(r);
	/* k1 = 0: every match scores its idf; the tie keeps document order */
	r = run(ix, "apple", 10, 0.0, 0.5);
	expect_score(r, 0, 0, log(1.6));
	expect_score(r, 1, 2, log(1.6));
	ns_results_free(r);
	ns_index_close(ix);
}

Test(search, invalid_options_are_rejected)
{
	ns_index *ix = build(three, 3);
	ns_search_options o;
	ns_results *r = (ns_results *)1;
	char *err = NULL;
	ns_search_options_init(&o);
	o.k1 = -1;
	cr_expect_eq(ns_search(ix, "apple", &o, &r, &err), NS_EINVAL);
	cr_expect_null(r);
	ns_free(err);
	ns_search_options_init(&o);
	o.b = 1.5;
	cr_expect_eq(ns_search(ix, "apple", &o, &r, NULL), NS_EINVAL);
	ns_search_options_init(&o);
	o.b = NAN;
	cr_expect_eq(ns_search(ix, "apple", &o, &r, NULL), NS_EINVAL);
	cr_expect_eq(ns_search(ix, NULL, NULL, &r, NULL), NS_EINVAL);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Ranking, k, totals                                                       */
/* ------------------------------------------------------------------------ */

Test(search, ties_are_ordered_by_document_number)
{
	/* 60 documents; those with i % 3 == 1 are identical "kiwi lemon", the
	** others have neither word except four longer ones with "kiwi" twice
	** (0, 20, 30 and 50) */
	const char *texts[60];
	for (size_t i = 0; i < 60; i++)
		texts[i] = i % 3 == 1 ? "kiwi lemon"
		           : i % 10 == 0 ? "kiwi kiwi lemon x y z w v u t"
		                         : "mango";
	ns_index *ix = build(texts, 60);
	static const char *const queries[] = {"kiwi", "kiwi lemon", "+kiwi lemon",
	                                      "kiwi -mango", "+kiwi +lemon"};
	for (size_t qi = 0; qi < NELEM(queries); qi++) {
		for (int ex = 0; ex <= 1; ex++) {
			const char *q = queries[qi];
			ns_search_options o;
			ns_search_options_init(&o);
			o.k = 100;
			o.exhaustive = ex;
			ns_results *all;
			cr_assert_eq(ns_search(ix, q, &o, &all, NULL), NS_OK);
			size_t n = ns_results_count(all);
			cr_assert_eq(n, ns_results_total(all));
			cr_assert_eq(n, 20 + 4, "[%s]", q);
			for (size_t i = 1; i < n; i++) {
				double a = ns_results_score(all, i - 1);
				double b = ns_results_score(all, i);
				cr_assert(a >= b, "scores must not increase");
				if (a == b)
					cr_assert_lt(ns_results_docno(all, i - 1),
					             ns_results_docno(all, i),
					             "[%s] exhaustive=%d: equal scores in document "
					             "order", q, ex);
			}
			/* the 20 identical documents have identical scores and come
			** together, in document order */
			size_t at = 0;
			while (at < n && ns_results_docno(all, at) % 3 != 1) at++;
			cr_assert_leq(at + 20, n, "[%s]", q);
			for (size_t i = 0; i < 20; i++) {
				cr_assert_eq(ns_results_docno(all, at + i), 1 + 3 * i,
				             "[%s] exhaustive=%d: hit %zu", q, ex, at + i);
				cr_assert_eq(ns_results_score(all, at + i),
				             ns_results_score(all, at));
			}
			/* every k gives the prefix of the full ranking */
			for (size_t k = 0; k <= n + 2; k++) {
				ns_results *r;
				o.k = k;
				cr_assert_eq(ns_search(ix, q, &o, &r, NULL), NS_OK);
				cr_assert_eq(ns_results_count(r), k < n ? k : n, "k = %zu", k);
				cr_assert_eq(ns_results_total(r), n, "total does not depend on k");
				for (size_t i = 0; i < ns_results_count(r); i++)
					cr_assert_eq(ns_results_docno(r, i), ns_results_docno(all, i),
					             "[%s] exhaustive=%d k = %zu, hit %zu", q, ex, k, i);
				ns_results_free(r);
			}
			ns_results_free(all);
		}
	}
	ns_index_close(ix);
}

/* Block-max pruning skips runs of documents whose block bounds cannot beat
** the k-th score: a winner right after a skipped block must be found. */
Test(search, pruning_finds_a_winner_right_after_a_skipped_block)
{
	enum { N = 700 };
	const char *texts[N];
	for (size_t i = 0; i < N; i++)
		texts[i] = i < 3 ? "aa aa aa aa bb bb bb bb cc"
		           : i == 256 || i == 512 ? "aa aa aa aa aa bb bb bb bb bb cc"
		           : i == 383 ? "aa aa aa aa aa aa bb bb bb bb bb bb"
		                      : "aa bb cc filler filler filler filler filler";
	ns_index *ix = build(texts, N);
	static const char *const queries[] = {"+aa +bb", "+aa +bb cc", "aa bb",
	                                      "+aa bb", "aa bb -cc", "+aa +bb -cc"};
	for (size_t qi = 0; qi < NELEM(queries); qi++) {
		for (size_t k = 1; k <= 6; k++) {
			ns_results *r = run(ix, queries[qi], k, 0.9, 0.4);
			/* without cc: 383 (tf 6), then 256 and 512 (tf 5), then 0, 1, 2
			** (tf 4); with cc, run() compares with the exhaustive evaluator */
			uint64_t want[] = {383, 256, 512, 0, 1, 2};
			if (strstr(queries[qi], "-cc")) {
				cr_assert_eq(ns_results_total(r), 1);
				cr_assert_eq(ns_results_docno(r, 0), 383);
			} else if (!strstr(queries[qi], "cc")) {
				cr_assert_eq(ns_results_total(r), N);
				cr_assert_eq(ns_results_count(r), k);
				for (size_t i = 0; i < k; i++)
					cr_expect_eq(ns_results_docno(r, i), want[i],
					             "[%s] k=%zu: hit %zu is doc %" PRIu64, queries[qi],
					             k, i, ns_results_docno(r, i));
			}
			ns_results_free(r);
		}
	}
	ns_index_close(ix);
}

Test(search, count_only_counts_without_hits)
{
	ns_index *ix = build(three, 3);
	ns_search_options o;
	ns_search_options_init(&o);
	o.count_only = 1;
	ns_results *r;
	cr_assert_eq(ns_search(ix, "banana OR cherry", &o, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_total(r), 3);
	cr_assert_eq(ns_results_count(r), 0);
	ns_results_free(r);
	cr_assert_eq(ns_search(ix, "apple AND cherry", &o, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_total(r), 1);
	cr_assert_eq(ns_results_count(r), 0);
	ns_results_free(r);
	ns_index_close(ix);
}

Test(search, absent_term_gives_zero_hits_not_an_error)
{
	ns_index *ix = build(three, 3);
	ns_results *r = run(ix, "nonexistentword", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	r = run(ix, "+nonexistentword apple", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	r = run(ix, "\"apple nonexistentword\"", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	/* an absent term beside a present one changes nothing */
	ns_results *a = run(ix, "apple", 10, 0.9, 0.4);
	r = run(ix, "apple nonexistentword -otherabsent", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_total(r), 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(ns_results_docno(r, i), ns_results_docno(a, i));
		cr_assert_eq(ns_results_score(r, i), ns_results_score(a, i));
	}
	ns_results_free(a);
	ns_results_free(r);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Boolean semantics                                                        */
/* ------------------------------------------------------------------------ */

/* Document i (0..15) holds "alpha" if bit 0 of i is set, "beta" for bit 1,
** "gamma" for bit 2, "delta" for bit 3, and always "filler". */
#define A(i) (((i) >> 0) & 1)
#define B(i) (((i) >> 1) & 1)
#define C(i) (((i) >> 2) & 1)
#define D(i) (((i) >> 3) & 1)

static ns_index *build_bits(void)
{
	static char texts[16][64];
	const char *p[16];
	for (int i = 0; i < 16; i++) {
		snprintf(texts[i], sizeof texts[i], "filler%s%s%s%s",
		         A(i) ? " alpha" : "", B(i) ? " beta" : "",
		         C(i) ? " gamma" : "", D(i) ? " delta" : "");
		p[i] = texts[i];
	}
	return build(p, 16);
}

/* Checks that query q matches exactly the documents whose bit i of `want`
** is set. */
static void expect_set(ns_index *ix, const char *q, unsigned want)
{
	ns_results *r = run(ix, q, 16, 0.9, 0.4);
	unsigned got = 0;
	for (size_t i = 0; i < ns_results_count(r); i++) {
		uint64_t d = ns_results_docno(r, i);
		cr_assert_lt(d, 16);
		cr_assert_eq(got & (1u << d), 0, "[%s]: doc %" PRIu64 " twice", q, d);
		got |= 1u << d;
	}
	cr_expect_eq(got, want, "[%s]: matched %04x, expected %04x", q, got, want);
	cr_expect_eq(ns_results_total(r), (uint64_t)__builtin_popcount(want),
	             "[%s]: total", q);
	ns_results_free(r);
}

#define SET(expr)                                                          \
	({                                                                     \
		unsigned m_ = 0;                                                   \
		for (int i = 0; i < 16; i++)                                       \
			if (expr) m_ |= 1u << i;                                       \
		m_;                                                                \
	})

Test(search, boolean_operators_and_parentheses)
{
	ns_index *ix = build_bits();
	expect_set(ix, "alpha", SET(A(i)));
	expect_set(ix, "alpha beta", SET(A(i) || B(i)));
	expect_set(ix, "alpha OR beta", SET(A(i) || B(i)));
	expect_set(ix, "alpha || beta", SET(A(i) || B(i)));
	expect_set(ix, "alpha AND beta", SET(A(i) && B(i)));
	expect_set(ix, "alpha && beta", SET(A(i) && B(i)));
	expect_set(ix, "+alpha beta", SET(A(i)));
	expect_set(ix, "+alpha +beta", SET(A(i) && B(i)));
	expect_set(ix, "alpha -beta", SET(A(i) && !B(i)));
	expect_set(ix, "alpha NOT beta", SET(A(i) && !B(i)));
	expect_set(ix, "alpha AND NOT beta", SET(A(i) && !B(i)));
	expect_set(ix, "NOT alpha beta", SET(B(i) && !A(i)));
	expect_set(ix, "alpha beta -gamma", SET((A(i) || B(i)) && !C(i)));
	expect_set(ix, "alpha beta -gamma -delta",
	           SET((A(i) || B(i)) && !C(i) && !D(i)));
	/* AND binds tighter than OR */
	expect_set(ix, "alpha AND beta OR gamma", SET((A(i) && B(i)) || C(i)));
	expect_set(ix, "alpha OR beta AND gamma", SET(A(i) || (B(i) && C(i))));
	expect_set(ix, "alpha AND (beta OR gamma)", SET(A(i) && (B(i) || C(i))));
	expect_set(ix, "(alpha OR beta) AND (gamma OR delta)",
	           SET((A(i) || B(i)) && (C(i) || D(i))));
	expect_set(ix, "(alpha beta) AND (gamma delta)",
	           SET((A(i) || B(i)) && (C(i) || D(i))));
	expect_set(ix, "alpha AND beta AND gamma AND delta",
	           SET(A(i) && B(i) && C(i) && D(i)));
	expect_set(ix, "(alpha -beta) OR (gamma -delta)",
	           SET((A(i) && !B(i)) || (C(i) && !D(i))));
	expect_set(ix, "+(alpha OR beta) -gamma", SET((A(i) || B(i)) && !C(i)));
	expect_set(ix, "alpha -(beta OR gamma)", SET(A(i) && !B(i) && !C(i)));
	expect_set(ix, "alpha -(beta AND gamma)", SET(A(i) && !(B(i) && C(i))));
	expect_set(ix, "((alpha))", SET(A(i)));
	expect_set(ix, "((alpha AND (beta OR (gamma AND delta))))",
	           SET(A(i) && (B(i) || (C(i) && D(i)))));
	expect_set(ix, "filler -alpha -beta -gamma -delta", SET(i == 0));
	expect_set(ix, "filler", 0xffff);
	expect_set(ix, "+alpha +alpha", SET(A(i)));
	expect_set(ix, "alpha -alpha", 0);
	/* lower-case operators are words ("and" is absent from the corpus) */
	expect_set(ix, "alpha and beta", SET(A(i) || B(i)));
	expect_set(ix, "alpha or", SET(A(i)));
	ns_index_close(ix);
}

Test(search, optional_words_add_to_the_score_of_required_ones)
{
	ns_index *ix = build_bits();
	ns_results *req = run(ix, "+alpha", 16, 0.9, 0.4);
	ns_results *opt = run(ix, "+alpha beta", 16, 0.9, 0.4);
	ns_results *beta = run(ix, "beta", 16, 0.9, 0.4);
	cr_assert_eq(ns_results_total(opt), 8);
	for (size_t i = 0; i < ns_results_count(opt); i++) {
		uint64_t d = ns_results_docno(opt, i);
		/* the score of "+alpha beta" in d is the score of "alpha" in d, plus
		** the score of "beta" in d when d has it */
		double a = 0, b = 0;
		for (size_t k = 0; k < ns_results_count(req); k++)
			if (ns_results_docno(req, k) == d) a = ns_results_score(req, k);
		for (size_t k = 0; k < ns_results_count(beta); k++)
			if (ns_results_docno(beta, k) == d) b = ns_results_score(beta, k);
		cr_assert_gt(a, 0);
		cr_assert_eq(b > 0, B(d) != 0);
		double want = a + b;
		cr_expect(fabs(ns_results_score(opt, i) - want) <= 1e-9 * want,
		          "doc %" PRIu64 ": %.17g != %.17g", d, ns_results_score(opt, i),
		          want);
	}
	/* the documents with both words rank first */
	for (size_t i = 0; i < 4; i++) cr_expect(B(ns_results_docno(opt, i)));
	ns_results_free(req);
	ns_results_free(opt);
	ns_results_free(beta);
	ns_index_close(ix);
}

static ns_results *run_plain(ns_index *ix, const char *q)
{
	ns_search_options o;
	ns_search_options_init(&o);
	o.k = 16;
	o.plain = 1;
	ns_results *r = NULL;
	char *err = NULL;
	int rc = ns_search(ix, q, &o, &r, &err);
	cr_assert_eq(rc, NS_OK, "plain [%s]: %d %s", q, rc, err ? err : "");
	return r;
}

Test(search, plain_mode_ignores_operators_and_counts_repeats)
{
	ns_index *ix = build_bits();
	/* operators and punctuation are text: every word is optional */
	ns_results *r = run_plain(ix, "(alpha) -beta \"gamma AND +");
	unsigned got = 0;
	for (size_t i = 0; i < ns_results_count(r); i++)
		got |= 1u << ns_results_docno(r, i);
	cr_expect_eq(got, SET(A(i) || B(i) || C(i)), "matched %04x", got);
	cr_expect_eq(ns_results_total(r), 14);
	ns_results_free(r);
	/* a repeated word counts twice */
	ns_results *one = run_plain(ix, "alpha");
	ns_results *two = run_plain(ix, "alpha ALPHA");
	cr_assert_eq(ns_results_count(one), 8);
	cr_assert_eq(ns_results_count(two), 8);
	for (size_t i = 0; i < 8; i++) {
		cr_expect_eq(ns_results_docno(one, i), ns_results_docno(two, i));
		double a = ns_results_score(one, i), b = ns_results_score(two, i);
		cr_expect(fabs(b - 2 * a) <= 1e-9 * b, "%.17g != 2 * %.17g", b, a);
	}
	ns_results_free(one);
	ns_results_free(two);
	/* nothing searchable is still an error */
	ns_search_options o;
	ns_search_options_init(&o);
	o.plain = 1;
	char *err = NULL;
	cr_expect_eq(ns_search(ix, "!!! ---", &o, &r, &err), NS_ESYNTAX);
	cr_expect_not_null(err);
	ns_free(err);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Phrases                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const phr[] = {
    "quick brown fox jumps",  /* 0 */
    "brown quick fox",        /* 1 */
    "fox fox fox",            /* 2 */
    "the storm",              /* 3: a phrase must not run on into doc 4 */
    "shadow falls",           /* 4 */
    "storm shadow missiles",  /* 5 */
    "new york new york",      /* 6 */
};

static void expect_docs(ns_index *ix, const char *q, const int *want, size_t n)
{
	ns_results *r = run(ix, q, 50, 0.9, 0.4);
	cr_expect_eq(ns_results_total(r), n, "[%s]: total %" PRIu64 ", expected %zu",
	             q, ns_results_total(r), n);
	unsigned got = 0, exp = 0;
	for (size_t i = 0; i < ns_results_count(r); i++)
		got |= 1u << ns_results_docno(r, i);
	for (size_t i = 0; i < n; i++) exp |= 1u << want[i];
	cr_expect_eq(got, exp, "[%s]: docs %x, expected %x", q, got, exp);
	ns_results_free(r);
}

#define DOCS(q, ...)                                                       \
	do {                                                                   \
		static const int w_[] = {__VA_ARGS__};                             \
		expect_docs(ix, q, w_, NELEM(w_));                                 \
	} while (0)
#define NODOCS(q) expect_docs(ix, q, NULL, 0)

Test(search, phrases_match_adjacent_words_in_order)
{
	ns_index *ix = build(phr, NELEM(phr));
	DOCS("\"quick brown\"", 0);
	DOCS("\"brown quick\"", 1);
	DOCS("\"quick brown fox\"", 0);
	DOCS("\"quick brown fox jumps\"", 0);
	DOCS("\"brown fox\"", 0);
	DOCS("\"quick fox\"", 1);
	NODOCS("\"fox quick\"");
	NODOCS("\"fox brown\"");
	NODOCS("\"quick fox jumps\""); /* not adjacent in 0 */
	NODOCS("\"jumps quick\"");
	DOCS("\"fox fox\"", 2);
	DOCS("\"fox fox fox\"", 2);
	NODOCS("\"fox fox fox fox\"");
	DOCS("\"storm shadow\"", 5); /* not 3 + 4 */
	NODOCS("\"storm shadow falls\"");
	DOCS("\"new york\"", 6);
	DOCS("\"york new york\"", 6);
	DOCS("\"fox\"", 0, 1, 2);
	DOCS("\"QUICK, Brown!\"", 0); /* analysed like text */
	DOCS("fox -\"quick brown\"", 1, 2);
	DOCS("\"quick brown\" OR \"storm shadow\"", 0, 5);
	DOCS("\"quick brown\" AND jumps", 0);
	DOCS("+\"brown quick\" fox", 1);
	ns_index_close(ix);
}

Test(search, phrase_scores_count_occurrences)
{
	ns_index *ix = build(phr, NELEM(phr));
	/* N = 7, 21 tokens: avgdl = 3.  fox: df 3, idf = ln(1 + 4.5/3.5).
	** "fox fox" occurs twice in doc 2 (dl 3), its idf is 2 * idf(fox).
	** K = 0.9 * (0.6 + 0.4 * 3 / 3) = 0.9 */
	double idf = log(1 + 4.5 / 3.5);
	double K = 0.9;
	ns_results *r = run(ix, "\"fox fox\"", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 1);
	expect_score(r, 0, 2, 2 * idf * 2 * 1.9 / (2 + K));
	ns_results_free(r);
	/* "new york" twice in doc 6 (dl 4); new and york: df 1 each */
	double idf1 = log(1 + 6.5 / 1.5);
	double K4 = 0.9 * (0.6 + 0.4 * 4.0 / 3.0);
	r = run(ix, "\"new york\"", 10, 0.9, 0.4);
	expect_score(r, 0, 6, 2 * idf1 * 2 * 1.9 / (2 + K4));
	ns_results_free(r);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Analysis of query words                                                  */
/* ------------------------------------------------------------------------ */

Test(search, query_words_are_analysed_like_documents)
{
	static const char *const t[] = {
	    "she runs every morning",   /* 0 */
	    "Zelensky said on Tuesday", /* 1 */
	    "the wi-fi router is down", /* 2 */
	    "fi wi router",             /* 3 */
	    "wifi everywhere",          /* 4 */
	    "ΕΛΛΗΝΙΚΆ και Straße",      /* 5 */
	};
	ns_index *ix = build(t, NELEM(t));
	/* stemming: "running" and "runs" are both "run" */
	DOCS("running", 0);
	DOCS("RUN", 0);
	DOCS("\"runs every\"", 0);
	DOCS("\"running every\"", 0);
	/* case folding and the typographic apostrophe */
	DOCS("ZELENSKY\xe2\x80\x99s", 1);
	DOCS("zelensky's", 1);
	DOCS("tuesday", 1);
	/* full Unicode folding: ß = ss, Greek capitals */
	DOCS("STRASSE", 5);
	DOCS("ελληνικά", 5);
	/* "wi-fi" is two tokens: OR-ed when optional, a phrase when required */
	DOCS("wi-fi", 2, 3);
	DOCS("+wi-fi", 2);
	DOCS("\"wi-fi\"", 2);
	DOCS("\"wi fi\"", 2);
	DOCS("router -wi-fi", 3);
	DOCS("wifi", 4);
	DOCS("wi-fi AND router", 2);
	/* punctuation around words is ignored */
	DOCS("(morning!)", 0);
	DOCS("morning, tuesday.", 0, 1);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Syntax errors                                                            */
/* ------------------------------------------------------------------------ */

Test(search, malformed_queries_are_syntax_errors)
{
	ns_index *ix = build_bits();
	static const char *const bad[] = {
	    "(alpha beta",    "alpha beta)",  ")alpha",          "((alpha)",
	    "\"alpha beta",   "alpha \"",     "-alpha",          "-alpha -beta",
	    "NOT alpha",      "",             "   ",             "AND",
	    "OR",             "NOT",          "alpha AND",       "AND alpha",
	    "alpha OR",       "alpha AND OR beta", "()",         "!!! ???",
	    "(-alpha)",       "alpha (-beta)",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		ns_results *r = (ns_results *)1;
		char *err = NULL;
		int rc = ns_search(ix, bad[i], NULL, &r, &err);
		cr_expect_eq(rc, NS_ESYNTAX, "[%s]: %d", bad[i], rc);
		cr_expect_null(r, "[%s]: no results on error", bad[i]);
		cr_expect(err && err[0], "[%s]: a message is expected", bad[i]);
		ns_free(err);
		/* errmsg may be NULL */
		cr_expect_eq(ns_search(ix, bad[i], NULL, &r, NULL), NS_ESYNTAX);
	}
	/* messages say what is wrong */
	char *err = NULL;
	ns_results *r;
	cr_assert_eq(ns_search(ix, "alpha (beta gamma", NULL, &r, &err), NS_ESYNTAX);
	cr_expect_not_null(strstr(err, "parenthes"), "message: %s", err);
	ns_free(err);
	cr_assert_eq(ns_search(ix, "alpha \"beta gamma", NULL, &r, &err), NS_ESYNTAX);
	cr_expect_not_null(strstr(err, "quote"), "message: %s", err);
	ns_free(err);
	/* deep nesting is refused, not a stack overflow */
	char deep[4096];
	size_t n = 0;
	for (int i = 0; i < 1000; i++) deep[n++] = '(';
	memcpy(deep + n, "alpha", 5);
	n += 5;
	for (int i = 0; i < 1000; i++) deep[n++] = ')';
	deep[n] = 0;
	cr_expect_eq(ns_search(ix, deep, NULL, &r, NULL), NS_ESYNTAX);
	n = 0;
	for (int i = 0; i < 1000; i++) n += (size_t)sprintf(deep + n, "NOT ");
	sprintf(deep + n, "alpha");
	cr_expect_eq(ns_search(ix, deep, NULL, &r, NULL), NS_ESYNTAX);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Snippets                                                                 */
/* ------------------------------------------------------------------------ */

static char *snippet(const ns_results *r, size_t i, size_t max)
{
	char *s = NULL;
	cr_assert_eq(ns_snippet(r, i, "<<", ">>", max, &s), NS_OK);
	cr_assert_not_null(s);
	return s;
}

Test(search, snippets_highlight_matches_and_mark_cuts)
{
	static char longdoc[4096];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(longdoc + n, i == 50 ? "Target " : "word%d ", i);
	static const char *texts[3];
	texts[0] = longdoc;
	texts[1] = "a short\n\n   Target   text";
	texts[2] = "She RUNS daily; running is what she does.";
	ns_index *ix = build(texts, 3);

	ns_results *r = run(ix, "target", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 2);
	/* the short document ranks first (shorter) */
	cr_assert_eq(ns_results_docno(r, 0), 1);
	char *s = snippet(r, 0, 30);
	cr_expect_str_eq(s, "a short <<Target>> text");
	ns_free(s);
	s = snippet(r, 1, 10);
	cr_expect_not_null(strstr(s, "<<Target>>"), "snippet: %s", s);
	cr_expect_eq(strncmp(s, "... ", 4), 0, "cut at the start: %s", s);
	cr_expect(strlen(s) > 4 && !strcmp(s + strlen(s) - 4, " ..."),
	          "cut at the end: %s", s);
	cr_expect_null(strstr(s, "word0 "), "the window is around the match: %s",
	               s);
	/* about max_tokens tokens */
	size_t words = 0;
	for (const char *p = s; *p; p++) words += !strncmp(p, "word", 4);
	cr_expect(words >= 5 && words <= 10, "%zu words in: %s", words, s);
	ns_free(s);
	/* empty markers give plain text */
	cr_assert_eq(ns_snippet(r, 0, "", "", 30, &s), NS_OK);
	cr_expect_str_eq(s, "a short Target text");
	ns_free(s);
	/* hit index out of range */
	s = (char *)1;
	cr_expect_eq(ns_snippet(r, 2, "<", ">", 30, &s), NS_EINVAL);
	cr_expect_null(s);
	ns_results_free(r);

	/* stemmed matches are highlighted in their original spelling */
	r = run(ix, "run", 10, 0.9, 0.4);
	cr_assert_eq(ns_results_count(r), 1);
	s = snippet(r, 0, 30);
	cr_expect_str_eq(s, "She <<RUNS>> daily; <<running>> is what she does.");
	ns_free(s);
	ns_results_free(r);
	/* excluded words are not highlighted */
	r = run(ix, "daily -target", 10, 0.9, 0.4);
	s = snippet(r, 0, 30);
	cr_expect_str_eq(s, "She RUNS <<daily>>; running is what she does.");
	ns_free(s);
	ns_results_free(r);
	ns_index_close(ix);
}

/* ------------------------------------------------------------------------ */
/* Randomized cross-check against a brute-force scorer                      */
/* ------------------------------------------------------------------------ */

#define X_VOCAB 40
#define X_DOCS 2000
#define X_QUERIES 300
#define X_MAXLEN 30

typedef struct xcorp {
	char *word[X_VOCAB + 1]; /* the last one never occurs */
	uint8_t seq[X_DOCS][X_MAXLEN]; /* word numbers of each document */
	uint8_t tf[X_DOCS][X_VOCAB + 1];
	uint32_t dl[X_DOCS];
	uint32_t df[X_VOCAB + 1];
	uint64_t total;
	char *text[X_DOCS];
} xcorp;

/* made-up words that the English stemmer leaves alone */
static void x_words(th_rng *r, xcorp *c)
{
	static const char *const syl[] = {"ba", "ko", "zu", "mi", "ta", "vo",
	                                  "pa", "xu", "ro", "da", "gu", "no"};
	ns_stemmer *st;
	cr_assert_eq(ns_stem_open("english", &st), NS_OK);
	for (size_t i = 0; i <= X_VOCAB;) {
		char w[32] = "";
		int ns = 2 + (int)th_below(r, 2);
		for (int k = 0; k < ns; k++) strcat(w, syl[th_below(r, 12)]);
		strcat(w, "k");
		size_t sl;
		const char *s = ns_stem(st, w, strlen(w), &sl);
		if (sl != strlen(w) || memcmp(s, w, sl)) continue;
		int dup = 0;
		for (size_t k = 0; k < i; k++) dup |= !strcmp(c->word[k], w);
		if (dup) continue;
		c->word[i++] = strdup(w);
	}
	ns_stem_close(st);
}

/* Zipf-like: small word numbers are common */
static uint32_t x_pick(th_rng *r)
{
	return (uint32_t)(X_VOCAB * th_unit(r) * th_unit(r));
}

static void x_build(xcorp *c, th_rng *r)
{
	memset(c, 0, sizeof *c);
	x_words(r, c);
	for (size_t d = 0; d < X_DOCS; d++) {
		uint32_t len = th_below(r, 5) == 0 ? th_below(r, 3)
		                                   : th_below(r, X_MAXLEN);
		char *t = malloc((size_t)len * 16 + 1);
		cr_assert_not_null(t);
		t[0] = 0;
		size_t n = 0;
		for (uint32_t k = 0; k < len; k++) {
			uint32_t w = x_pick(r);
			c->seq[d][k] = (uint8_t)w;
			n += (size_t)sprintf(t + n, "%s%s", k ? " " : "", c->word[w]);
			if (c->tf[d][w]++ == 0) c->df[w]++;
		}
		c->text[d] = t;
		c->dl[d] = len;
		c->total += len;
	}
}

static void x_free(xcorp *c)
{
	for (size_t d = 0; d < X_DOCS; d++) free(c->text[d]);
	for (size_t w = 0; w <= X_VOCAB; w++) free(c->word[w]);
	free(c);
}

/* A query clause: one word, or a phrase of n words; occ 0 optional, 1
** required, 2 excluded. */
typedef struct xclause {
	uint32_t w[3];
	size_t n;
	int occ;
} xclause;

typedef struct xhit {
	double score;
	uint32_t doc;
} xhit;

static int xhit_cmp(const void *a, const void *b)
{
	const xhit *x = a, *y = b;
	if (x->score != y->score) return x->score > y->score ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* tf of the clause in d: the word's tf, or the number of (possibly
** overlapping) occurrences of the phrase. */
static uint32_t x_tf(const xcorp *c, const xclause *q, uint32_t d)
{
	if (q->n == 1) return c->tf[d][q->w[0]];
	uint32_t f = 0;
	for (size_t i = 0; i + q->n <= c->dl[d]; i++) {
		size_t k = 0;
		while (k < q->n && c->seq[d][i + k] == q->w[k]) k++;
		f += k == q->n;
	}
	return f;
}

/* BM25 of a clause (a phrase's idf is the sum of its words' idfs). */
static double x_score(const xcorp *c, const xclause *q, uint32_t tf,
                      uint32_t d, double k1, double b)
{
	double N = X_DOCS, idf = 0;
	for (size_t i = 0; i < q->n; i++) {
		double df = c->df[q->w[i]];
		idf += log(1 + (N - df + 0.5) / (df + 0.5));
	}
	double avgdl = (double)c->total / X_DOCS;
	double K = k1 * (1 - b + b * c->dl[d] / avgdl);
	return idf * tf * (k1 + 1) / (tf + K);
}

/* Brute-force evaluation: returns the number of matching documents and
** fills hits (sorted) and score_of[d] (-1 when d does not match). */
static size_t x_eval(const xcorp *c, const xclause *q, size_t nq, double k1,
                     double b, xhit *hits, double *score_of)
{
	int has_must = 0;
	for (size_t i = 0; i < nq; i++) has_must |= q[i].occ == 1;
	size_t n = 0;
	for (uint32_t d = 0; d < X_DOCS; d++) {
		int all_must = 1, any = 0, excluded = 0;
		double s = 0;
		for (size_t i = 0; i < nq; i++) {
			uint32_t tf = x_tf(c, &q[i], d);
			if (q[i].occ == 2) excluded |= tf > 0;
			if (q[i].occ == 1 && !tf) all_must = 0;
			if (q[i].occ != 2 && tf) {
				any = 1;
				s += x_score(c, &q[i], tf, d, k1, b);
			}
		}
		int match = !excluded && (has_must ? all_must : any);
		score_of[d] = match ? s : -1;
		if (match) hits[n++] = (xhit){s, d};
	}
	qsort(hits, n, sizeof *hits, xhit_cmp);
	return n;
}

enum { X_DEFAULT, X_EXHAUSTIVE, X_NO_TOTAL };

/* Compares the results of query text (clauses q) with x_eval(). */
static void x_compare(const xcorp *c, const char *text, const xclause *q,
                      size_t nq, const ns_search_options *o,
                      const ns_results *res, int mode, xhit *hits,
                      double *score_of)
{
	size_t total = x_eval(c, q, nq, o->k1, o->b, hits, score_of);
	if (mode == X_NO_TOTAL) {
		cr_assert_leq(ns_results_total(res), total, "[%s]: total %" PRIu64
		              " above %zu", text, ns_results_total(res), total);
		cr_assert_geq(ns_results_total(res), ns_results_count(res));
	} else {
		cr_assert_eq(ns_results_total(res), total, "[%s] mode %d: total %"
		             PRIu64 ", expected %zu", text, mode, ns_results_total(res),
		             total);
	}
	size_t want = total < o->k ? total : o->k;
	cr_assert_eq(ns_results_count(res), want, "[%s] mode %d k=%zu: count "
	             "%zu, expected %zu", text, mode, o->k, ns_results_count(res),
	             want);
	for (size_t i = 0; i < want; i++) {
		uint64_t d = ns_results_docno(res, i);
		double sc = ns_results_score(res, i);
		cr_assert_lt(d, X_DOCS);
		cr_assert_geq(score_of[d], 0, "[%s] mode %d: hit %zu (doc %" PRIu64
		              ") does not match", text, mode, i, d);
		cr_assert(close_enough(sc, score_of[d]),
		          "[%s] mode %d: doc %" PRIu64 " score %.17g, expected %.17g",
		          text, mode, d, sc, score_of[d]);
		/* same rank, or a near-tie that rounding may order either way */
		/* (documents with different tf and dl can tie exactly in theory:
		** rounding then decides, differently here and in the library) */
		cr_assert(d == hits[i].doc || close_enough(score_of[d], hits[i].score),
		          "[%s] mode %d k1=%g b=%g k=%zu: rank %zu is doc %" PRIu64
		          " (%.17g), expected doc %u (%.17g)", text, mode, o->k1, o->b,
		          o->k, i, d, sc, hits[i].doc, hits[i].score);
		for (size_t k = 0; k < i; k++)
			cr_assert_neq(ns_results_docno(res, k), d, "duplicate hit");
		char id[16];
		snprintf(id, sizeof id, "d%" PRIu64, d);
		cr_assert_str_eq(ns_results_id(res, i), id);
	}
}

/* ~300 random queries of 1-4 clauses (words, and some two- or three-word
** phrases), each optional, +required or -excluded, with random k and BM25
** parameters, compared with x_eval().  mode selects the evaluator: the
** default one (with dynamic pruning), the exhaustive reference, or top-k
** without the total. */
static void random_queries(int mode, uint64_t seed)
{
	th_rng r = {seed};
	xcorp *c = malloc(sizeof *c);
	cr_assert_not_null(c);
	x_build(c, &r);
	ns_index *ix = build((const char *const *)c->text, X_DOCS);
	static const double params[][2] = {{0.9, 0.4}, {1.2, 0.75}, {2.0, 1.0},
	                                   {0.5, 0.0}};
	static const size_t ks[] = {1, 3, 10, 10, 10, 100};
	xhit *hits = malloc(X_DOCS * sizeof *hits);
	double *score_of = malloc(X_DOCS * sizeof *score_of);
	cr_assert(hits && score_of);
	int syntax = 0, nonempty = 0, must = 0, excl = 0, phrases = 0;
	for (int qi = 0; qi < X_QUERIES; qi++) {
		xclause q[4];
		size_t nq = 1 + th_below(&r, 4);
		char text[256] = "";
		int positive = 0;
		for (size_t i = 0; i < nq; i++) {
			/* mostly common words so that queries match; sometimes the absent
			** word; sometimes a phrase of the most common words */
			q[i].n = th_below(&r, 6) == 0 ? 2 + th_below(&r, 2) : 1;
			for (size_t k = 0; k < q[i].n; k++)
				q[i].w[k] = q[i].n > 1 ? th_below(&r, 5)
				            : th_below(&r, 12) == 0 ? X_VOCAB
				                                   : x_pick(&r);
			uint32_t o = th_below(&r, 10);
			q[i].occ = o < 6 ? 0 : o < 8 ? 1 : 2;
			positive |= q[i].occ != 2;
			must += q[i].occ == 1;
			excl += q[i].occ == 2;
			phrases += q[i].n > 1;
			size_t tl = strlen(text);
			snprintf(text + tl, sizeof text - tl, "%s%s%s", i ? " " : "",
			         q[i].occ == 1 ? "+" : q[i].occ == 2 ? "-" : "",
			         q[i].n > 1 ? "\"" : "");
			for (size_t k = 0; k < q[i].n; k++) {
				/* the word in a random case */
				char w[32];
				snprintf(w, sizeof w, "%s", c->word[q[i].w[k]]);
				if (th_below(&r, 4) == 0)
					for (char *p = w; *p; p++) *p = (char)(*p - 32);
				tl = strlen(text);
				snprintf(text + tl, sizeof text - tl, "%s%s", k ? " " : "", w);
			}
			if (q[i].n > 1) strcat(text, "\"");
		}
		const double *pb = params[qi % 4];
		ns_search_options o;
		ns_search_options_init(&o);
		o.k1 = pb[0];
		o.b = pb[1];
		o.k = ks[th_below(&r, 6)];
		o.exhaustive = mode == X_EXHAUSTIVE;
		o.no_total = mode == X_NO_TOTAL;
		ns_results *res = NULL;
		int rc = ns_search(ix, text, &o, &res, NULL);
		if (!positive) {
			cr_assert_eq(rc, NS_ESYNTAX, "[%s]: only excluded words", text);
			syntax++;
			continue;
		}
		cr_assert_eq(rc, NS_OK, "[%s]: %d", text, rc);
		x_compare(c, text, q, nq, &o, res, mode, hits, score_of);
		nonempty += ns_results_total(res) > 0;
		ns_results_free(res);
	}
	/* the generator must exercise the interesting cases */
	cr_assert_gt(syntax, 5);
	cr_assert_gt(nonempty, X_QUERIES / 2);
	cr_assert_gt(must, 50);
	cr_assert_gt(excl, 50);
	cr_assert_gt(phrases, 50);
	free(hits);
	free(score_of);
	x_free(c);
	ns_index_close(ix);
}

Test(search, random_queries_agree_with_brute_force, .timeout = 120)
{
	random_queries(X_DEFAULT, 20240611);
}

Test(search, random_queries_exhaustive_agree_with_brute_force, .timeout = 120)
{
	random_queries(X_EXHAUSTIVE, 20240612);
}

Test(search, random_queries_without_total_agree_with_brute_force,
     .timeout = 120)
{
	random_queries(X_NO_TOTAL, 20240613);
}

/* Lone phrases of 2-3 common words (repeats included), on both
** evaluators. */
Test(search, random_phrases_agree_with_brute_force, .timeout = 120)
{
	th_rng r = {777};
	xcorp *c = malloc(sizeof *c);
	cr_assert_not_null(c);
	x_build(c, &r);
	ns_index *ix = build((const char *const *)c->text, X_DOCS);
	xhit *hits = malloc(X_DOCS * sizeof *hits);
	double *score_of = malloc(X_DOCS * sizeof *score_of);
	cr_assert(hits && score_of);
	int nonempty = 0;
	for (int qi = 0; qi < 150; qi++) {
		xclause q = {.n = 2 + th_below(&r, 2), .occ = 0};
		char text[128] = "\"";
		for (size_t i = 0; i < q.n; i++) {
			q.w[i] = th_below(&r, 4) ? th_below(&r, 4) : th_below(&r, X_VOCAB);
			size_t tl = strlen(text);
			snprintf(text + tl, sizeof text - tl, "%s%s", i ? " " : "",
			         c->word[q.w[i]]);
		}
		strcat(text, "\"");
		for (int mode = X_DEFAULT; mode <= X_EXHAUSTIVE; mode++) {
			ns_search_options o;
			ns_search_options_init(&o);
			o.exhaustive = mode == X_EXHAUSTIVE;
			ns_results *res = NULL;
			cr_assert_eq(ns_search(ix, text, &o, &res, NULL), NS_OK);
			x_compare(c, text, &q, 1, &o, res, mode, hits, score_of);
			nonempty += mode == X_DEFAULT && ns_results_total(res) > 0;
			ns_results_free(res);
		}
	}
	cr_assert_gt(nonempty, 50);
	free(hits);
	free(score_of);
	x_free(c);
	ns_index_close(ix);
}

static const char *const conc_q[] = {
    "alpha beta -gamma", "alpha AND delta", "\"filler alpha\"", "+beta gamma",
    "filler", "(alpha OR delta) -beta",
};

typedef struct conc {
	ns_index *ix;
	uint64_t want[NELEM(conc_q)][16];
	double score[NELEM(conc_q)][16];
	size_t n[NELEM(conc_q)];
	int failures;
} conc;

static void *conc_worker(void *arg)
{
	conc *c = arg;
	for (int round = 0; round < 200; round++) {
		size_t qi = (size_t)round % NELEM(conc_q);
		ns_results *r = NULL;
		ns_search_options o;
		ns_search_options_init(&o);
		o.k = 16;
		if (ns_search(c->ix, conc_q[qi], &o, &r, NULL) != NS_OK) {
			__atomic_add_fetch(&c->failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		int bad = ns_results_count(r) != c->n[qi];
		for (size_t i = 0; !bad && i < c->n[qi]; i++)
			bad = ns_results_docno(r, i) != c->want[qi][i] ||
			      ns_results_score(r, i) != c->score[qi][i];
		char *s = NULL;
		if (!bad && c->n[qi] && ns_snippet(r, 0, "[", "]", 10, &s) != NS_OK)
			bad = 1;
		ns_free(s);
		if (bad) __atomic_add_fetch(&c->failures, 1, __ATOMIC_RELAXED);
		ns_results_free(r);
	}
	return NULL;
}

Test(search, concurrent_searches_on_one_index_agree)
{
	conc c;
	memset(&c, 0, sizeof c);
	c.ix = build_bits();
	for (size_t qi = 0; qi < NELEM(conc_q); qi++) {
		ns_results *r = run(c.ix, conc_q[qi], 16, 0.9, 0.4);
		c.n[qi] = ns_results_count(r);
		cr_assert_gt(c.n[qi], 0, "[%s]", conc_q[qi]);
		for (size_t i = 0; i < c.n[qi]; i++) {
			c.want[qi][i] = ns_results_docno(r, i);
			c.score[qi][i] = ns_results_score(r, i);
		}
		ns_results_free(r);
	}
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, conc_worker, &c), 0);
	for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
	cr_assert_eq(c.failures, 0, "%d searches disagreed or failed", c.failures);
	ns_index_close(c.ix);
}
