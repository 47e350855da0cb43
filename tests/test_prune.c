/*
** test_prune.c -- dynamic pruning never changes a result: thousands of
** random queries over a Reuters index, pruned top-k against the exhaustive
** reference evaluator (same documents, same order, scores within 1e-6
** relative, ties by document number), and the same totals.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "nsearch.h"
#include "source.h"

#define REUTERS "../shared/data/reuters21578/docs"

static char g_dir[64];
static char **g_words;
static size_t g_nwords;

static int add_doc(void *ctx, const ns_doc *d)
{
	return ns_writer_add(ctx, d) == NS_ENOMEM;
}

static int collect(void *ctx, const char *term, size_t len,
                   const ns_terminfo *ti)
{
	(void)ctx;
	/* keep plain ASCII words that are their own stem, of every frequency */
	if (len < 3 || len > 12 || ti->df < 2) return 0;
	for (size_t i = 0; i < len; i++)
		if (term[i] < 'a' || term[i] > 'z') return 0;
	g_words = realloc(g_words, (g_nwords + 1) * sizeof *g_words);
	g_words[g_nwords++] = strndup(term, len);
	return 0;
}

static const char *find_reuters(void)
{
	static const char *cands[] = {REUTERS, "../../shared/data/reuters21578/docs",
	                              "/work/shared/data/reuters21578/docs"};
	struct stat st;
	for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
		if (stat(cands[i], &st) == 0) return cands[i];
	return NULL;
}

static void setup(void)
{
	const char *src = find_reuters();
	if (!src) return;
	snprintf(g_dir, sizeof g_dir, "/tmp/ns_prune_XXXXXX");
	cr_assert_not_null(mkdtemp(g_dir));
	ns_writer *w;
	char *err = NULL;
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w, &err), NS_OK);
	ns_walk_options wo = {.on_doc = add_doc, .ctx = w};
	cr_assert_eq(ns_walk(src, &wo, NULL), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
}

static void teardown(void)
{
	if (g_dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
		cr_expect_eq(system(cmd), 0);
	}
	for (size_t i = 0; i < g_nwords; i++) free(g_words[i]);
	free(g_words);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A word: half the time from the 300 most frequent-looking (the first
** collected are arbitrary, so pick by index band), else any. */
static const char *word(void)
{
	return g_words[next_rand() % g_nwords];
}

static void random_query(char *q, size_t cap, int flat_only)
{
	int n = 1 + (int)(next_rand() % 5);
	int positive = 0;
	q[0] = 0;
	for (int i = 0; i < n; i++) {
		char part[128];
		int op = (int)(next_rand() % 6);
		const char *w = word();
		if (!flat_only && next_rand() % 8 == 0) {
			snprintf(part, sizeof part, "\"%s %s\"", w, word());
			positive = 1;
		} else if (op == 0) {
			snprintf(part, sizeof part, "+%s", w);
			positive = 1;
		} else if (op == 1 && i > 0) {
			snprintf(part, sizeof part, "-%s", w);
		} else {
			snprintf(part, sizeof part, "%s", w);
			positive = 1;
		}
		if (q[0]) strncat(q, " ", cap - strlen(q) - 1);
		strncat(q, part, cap - strlen(q) - 1);
	}
	if (!positive) {
		strncat(q, " ", cap - strlen(q) - 1);
		strncat(q, word(), cap - strlen(q) - 1);
	}
}

static void compare(ns_index *ix, const char *q, size_t k)
{
	ns_search_options a, b;
	ns_search_options_init(&a);
	a.k = k;
	b = a;
	b.exhaustive = 1;
	ns_results *ra, *rb;
	char *err = NULL;
	int rc1 = ns_search(ix, q, &a, &ra, &err);
	free(err);
	err = NULL;
	int rc2 = ns_search(ix, q, &b, &rb, &err);
	free(err);
	cr_assert_eq(rc1, rc2, "query [%s]", q);
	if (rc1) return;
	cr_assert_eq(ns_results_total(ra), ns_results_total(rb), "total of [%s]", q);
	cr_assert_eq(ns_results_count(ra), ns_results_count(rb), "count of [%s]", q);
	for (size_t i = 0; i < ns_results_count(ra); i++) {
		double x = ns_results_score(ra, i), y = ns_results_score(rb, i);
		cr_assert(fabs(x - y) <= 1e-6 * fabs(y), "score %zu of [%s]: %g vs %g",
		          i, q, x, y);
		cr_assert_eq(ns_results_docno(ra, i), ns_results_docno(rb, i),
		             "hit %zu of [%s]: doc %llu vs %llu", i, q,
		             (unsigned long long)ns_results_docno(ra, i),
		             (unsigned long long)ns_results_docno(rb, i));
	}
	ns_results_free(ra);
	ns_results_free(rb);
}

Test(prune, random_queries_match_exhaustive, .init = setup, .fini = teardown,
     .timeout = 600)
{
	if (!g_dir[0]) cr_skip_test("Reuters collection not found (../shared/data)");
	ns_index *ix;
	char *err = NULL;
	cr_assert_eq(ns_index_open(g_dir, &ix, &err), NS_OK);
	cr_assert_eq(ns_seg_terms(&ix->segs[0], collect, NULL), NS_OK);
	cr_assert_gt(g_nwords, 1000);
	char q[1024];
	for (int i = 0; i < 3000; i++) {
		random_query(q, sizeof q, i % 3 != 0);
		compare(ix, q, (i % 4 == 0) ? 1 : (i % 4 == 1) ? 10 : 100);
	}
	/* frequent words: long lists with many blocks */
	const char *common[] = {"the", "said", "and", "for", "mln", "dlrs", "pct",
	                        "year", "compani", "bank", "oil", "trade"};
	for (int i = 0; i < 500; i++) {
		snprintf(q, sizeof q, "%s%s %s%s %s", i % 3 == 0 ? "+" : "",
		         common[next_rand() % 12], i % 5 == 0 ? "+" : "",
		         common[next_rand() % 12], word());
		compare(ix, q, 10);
	}
	ns_index_close(ix);
}

/* Up to max consecutive plain words (ASCII letters between single spaces)
** of text from byte at, lower-cased, into w; the number found. */
static size_t words_at(const ns_buf *text, size_t at, char w[][24], size_t max)
{
	size_t n = 0, i = at;
	while (i < text->len && text->p[i] != ' ') i++; /* the next word start */
	i++;
	while (n < max && i < text->len) {
		size_t len = 0;
		while (i < text->len && len < 23 && ((text->p[i] | 0x20) >= 'a' &&
		                                     (text->p[i] | 0x20) <= 'z'))
			w[n][len++] = (char)(text->p[i++] | 0x20);
		w[n][len] = 0;
		if (!len || i >= text->len || text->p[i] != ' ') break;
		n++;
		i++;
	}
	return n;
}

/* Phrases cut from the documents themselves (random word pairs hardly
** ever occur), stopwords and repeated words included, alone, required
** beside optional terms (MaxScore with a required clause) and next to
** exclusions: phrase matching and its pruning against the reference. */
Test(prune, phrases_from_the_text_match_exhaustive, .init = setup,
     .fini = teardown, .timeout = 600)
{
	if (!g_dir[0]) cr_skip_test("Reuters collection not found (../shared/data)");
	ns_index *ix;
	char *err = NULL;
	cr_assert_eq(ns_index_open(g_dir, &ix, &err), NS_OK);
	cr_assert_eq(ns_seg_terms(&ix->segs[0], collect, NULL), NS_OK);
	const ns_seg *s = &ix->segs[0];
	char q[1024], w[6][24], p[256];
	int tried = 0;
	for (int i = 0; tried < 1500 && i < 20000; i++) {
		ns_buf text;
		ns_buf_init(&text);
		cr_assert_eq(ns_seg_text(s, (uint32_t)(next_rand() % s->n_docs), &text),
		             NS_OK);
		size_t n = text.len ? words_at(&text, next_rand() % text.len, w, 2 + next_rand() % 4) : 0;
		ns_buf_free(&text);
		if (n < 2) continue;
		p[0] = 0;
		for (size_t j = 0; j < n; j++) {
			if (j) strcat(p, " ");
			strcat(p, w[j]);
		}
		switch (tried % 4) {
		case 0: snprintf(q, sizeof q, "\"%s\"", p); break;
		case 1: snprintf(q, sizeof q, "+\"%s\" %s %s", p, word(), w[0]); break;
		case 2: snprintf(q, sizeof q, "\"%s\" -%s", p, word()); break;
		default: snprintf(q, sizeof q, "+\"%s\" +%s %s", p, w[n - 1], word()); break;
		}
		compare(ix, q, tried % 3 == 0 ? 1 : tried % 3 == 1 ? 10 : 100);
		tried++;
	}
	cr_assert_eq(tried, 1500);
	ns_index_close(ix);
}
