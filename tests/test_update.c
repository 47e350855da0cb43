/*
** test_update.c -- incremental updates through the C API (NS_WRITE_UPDATE,
** ns_writer_delete, merge policies).  The central property: after any
** sequence of additions, edits and deletions, committed in any number of
** update writers with any merge policy, every query gives exactly the
** results (documents, scores, totals) of an index built from scratch over
** the same documents.  Scores depend on N, df and the average length, so
** this also shows that the statistics stay exact after deletions.
*/
#include <math.h>

#include "helpers.h"

static char g_dir[64];
static char *g_up, *g_ref;

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "update");
	g_up = th_path(g_dir, "up");
	g_ref = th_path(g_dir, "ref");
}

static void teardown(void)
{
	th_rmrf(g_dir);
	free(g_up);
	free(g_ref);
}

TestSuite(update, .init = setup, .fini = teardown, .timeout = 240);

/* ---- a model of the collection ------------------------------------------- */

#define MAX_DOCS 400
#define N_WORDS 60

/* words with a skewed frequency, stems distinct from each other */
static const char *const g_words[N_WORDS] = {
    "storm", "shadow", "missile", "river", "bank", "market", "grain",
    "wheat", "oil", "price", "export", "tanker", "harbour", "coast",
    "engine", "falcon", "glacier", "lantern", "meadow", "nickel", "orchard",
    "pepper", "quartz", "saddle", "timber", "umbrella", "velvet", "walnut",
    "yacht", "zephyr", "anchor", "bishop", "copper", "dolphin", "ember",
    "fossil", "granite", "hammock", "island", "jasmine", "kettle", "lagoon",
    "marble", "nectar", "oyster", "pillow", "quiver", "rocket", "silver",
    "tulip", "urchin", "violet", "willow", "xylem", "yogurt", "zinc",
    "amber", "basalt", "cobalt", "dune"};

typedef struct model {
	char *text[MAX_DOCS]; /* NULL: the document is not in the collection */
} model;

static char *random_text(th_rng *r)
{
	size_t n = 1 + th_below(r, 60), cap = n * 12 + 1, len = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		/* squaring the uniform skews towards the first words */
		double u = th_unit(r);
		size_t w = (size_t)(u * u * N_WORDS);
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? " " : "",
		                        g_words[w]);
	}
	return s;
}

static void model_free(model *m)
{
	for (size_t i = 0; i < MAX_DOCS; i++) free(m->text[i]);
}

static ns_doc make_doc(char *idbuf, size_t i, const char *text)
{
	snprintf(idbuf, 32, "doc%03zu", i);
	ns_doc d = {.id = idbuf, .title = "t", .path = idbuf, .text = text,
	            .text_len = strlen(text), .size = strlen(text), .mtime = 1};
	return d;
}

/* Builds the reference index from scratch, documents in a shuffled order
** (document numbers must not matter). */
static void build_reference(const model *m, th_rng *r)
{
	size_t order[MAX_DOCS];
	for (size_t i = 0; i < MAX_DOCS; i++) order[i] = i;
	for (size_t i = MAX_DOCS; i > 1; i--) {
		size_t j = th_below(r, (uint32_t)i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	th_rmrf(g_ref);
	ns_writer *w;
	ns_writer_options o = {.threads = 1};
	cr_assert_eq(ns_writer_open(g_ref, &o, &w, NULL), NS_OK);
	for (size_t k = 0; k < MAX_DOCS; k++) {
		size_t i = order[k];
		if (!m->text[i]) continue;
		char id[32];
		ns_doc d = make_doc(id, i, m->text[i]);
		cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	}
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
}

/* ---- comparing results ------------------------------------------------- */

typedef struct row {
	char id[32];
	double score;
} row;

static int cmp_row(const void *a, const void *b)
{
	const row *x = a, *y = b;
	if (x->score != y->score) return x->score > y->score ? -1 : 1;
	return strcmp(x->id, y->id);
}

static size_t run_query(ns_index *ix, const char *q, int exhaustive,
                        row *rows, uint64_t *total)
{
	ns_search_options o;
	ns_search_options_init(&o);
	o.k = MAX_DOCS;
	o.exhaustive = exhaustive;
	ns_results *r;
	char *err = NULL;
	int rc = ns_search(ix, q, &o, &r, &err);
	cr_assert_eq(rc, NS_OK, "%s: %s", q, err ? err : "");
	size_t n = ns_results_count(r);
	for (size_t i = 0; i < n; i++) {
		snprintf(rows[i].id, sizeof rows[i].id, "%s", ns_results_id(r, i));
		rows[i].score = ns_results_score(r, i);
	}
	*total = ns_results_total(r);
	ns_results_free(r);
	qsort(rows, n, sizeof *rows, cmp_row);
	return n;
}

static void make_queries(th_rng *r, char q[][96], size_t nq)
{
	for (size_t i = 0; i < nq; i++) {
		const char *a = g_words[th_below(r, N_WORDS)];
		const char *b = g_words[th_below(r, 20)];
		const char *c = g_words[th_below(r, N_WORDS)];
		switch (i % 6) {
		case 0: snprintf(q[i], 96, "%s", a); break;
		case 1: snprintf(q[i], 96, "%s %s %s", a, b, c); break;
		case 2: snprintf(q[i], 96, "+%s +%s", b, a); break;
		case 3: snprintf(q[i], 96, "\"%s %s\"", b, c); break;
		case 4: snprintf(q[i], 96, "%s %s -%s", a, c, b); break;
		default: snprintf(q[i], 96, "+%s %s", b, c); break;
		}
	}
}

/* Every query must give the same documents, scores and totals on the
** updated index as on the reference. */
static void compare(th_rng *r, const char *what)
{
	ns_index *up = th_open_index(g_up), *ref = th_open_index(g_ref);
	ns_index_stats su, sr;
	ns_index_get_stats(up, &su);
	ns_index_get_stats(ref, &sr);
	cr_assert_eq(su.n_docs, sr.n_docs, "%s: live documents", what);
	cr_assert_eq(su.total_tokens, sr.total_tokens, "%s: tokens", what);
	static row a[MAX_DOCS], b[MAX_DOCS];
	char q[24][96];
	make_queries(r, q, 24);
	for (size_t i = 0; i < 24; i++)
		for (int ex = 0; ex < 2; ex++) {
			uint64_t ta, tb;
			size_t na = run_query(up, q[i], ex, a, &ta);
			size_t nb = run_query(ref, q[i], ex, b, &tb);
			cr_assert_eq(ta, tb, "%s: '%s' total %llu, from scratch %llu",
			             what, q[i], (unsigned long long)ta,
			             (unsigned long long)tb);
			cr_assert_eq(na, nb, "%s: '%s' hits", what, q[i]);
			for (size_t k = 0; k < na; k++) {
				cr_assert_str_eq(a[k].id, b[k].id, "%s: '%s' hit %zu", what,
				                 q[i], k);
				cr_assert(fabs(a[k].score - b[k].score) <=
				              1e-9 * fabs(b[k].score),
				          "%s: '%s' %s scores %.17g, from scratch %.17g",
				          what, q[i], a[k].id, a[k].score, b[k].score);
			}
		}
	ns_index_close(up);
	ns_index_close(ref);
	cr_assert_eq(ns_index_check(g_up, NULL, NULL), NS_OK, "%s: check", what);
}

/* ---- the tests ------------------------------------------------------------ */

/* Random rounds of additions, edits and deletions, each in its own update
** writer with a random merge policy; some rounds are abandoned. */
static void random_updates(uint64_t seed, int rounds, int threads)
{
	th_rng r = {seed};
	model m;
	memset(&m, 0, sizeof m);
	/* a first full build of half the documents */
	ns_writer *w;
	ns_writer_options o = {.threads = threads};
	cr_assert_eq(ns_writer_open(g_up, &o, &w, NULL), NS_OK);
	for (size_t i = 0; i < MAX_DOCS / 2; i++) {
		m.text[i] = random_text(&r);
		char id[32];
		ns_doc d = make_doc(id, i, m.text[i]);
		cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	}
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	uint32_t max_segments = 0;
	for (int round = 0; round < rounds; round++) {
		static const int policies[] = {NS_MERGE_TIERED, NS_MERGE_TIERED,
		                               NS_MERGE_NONE, NS_MERGE_ALL};
		ns_writer_options uo = {.threads = threads, .mode = NS_WRITE_UPDATE,
		                        .merge = policies[th_below(&r, 4)]};
		cr_assert_eq(ns_writer_open(g_up, &uo, &w, NULL), NS_OK);
		model next;
		for (size_t i = 0; i < MAX_DOCS; i++)
			next.text[i] = m.text[i] ? strdup(m.text[i]) : NULL;
		size_t ops = 1 + th_below(&r, round % 5 == 0 ? 80 : 12);
		for (size_t k = 0; k < ops; k++) {
			size_t i = th_below(&r, MAX_DOCS);
			char id[32];
			uint32_t what = th_below(&r, 3);
			if (what == 0 && next.text[i]) { /* delete */
				snprintf(id, sizeof id, "doc%03zu", i);
				int rc = ns_writer_delete(w, id);
				/* a document added by this writer cannot be deleted */
				if (rc == NS_ENOTFOUND) continue;
				cr_assert_eq(rc, NS_OK, "delete %s", id);
				free(next.text[i]);
				next.text[i] = NULL;
			} else if (!next.text[i] || !m.text[i] ||
			           strcmp(next.text[i], m.text[i]) == 0) {
				/* add or edit, once per document and writer */
				char *t = random_text(&r);
				ns_doc d = make_doc(id, i, t);
				int rc = ns_writer_add(w, &d);
				if (rc == NS_EINVAL) { /* already added here */
					free(t);
					continue;
				}
				cr_assert_eq(rc, NS_OK);
				free(next.text[i]);
				next.text[i] = t;
			}
		}
		if (th_below(&r, 8) == 0) { /* abandoned: nothing changes */
			ns_writer_close(w);
			model_free(&next);
		} else {
			cr_assert_eq(ns_writer_commit(w), NS_OK, "%s",
			             ns_writer_errmsg(w));
			ns_writer_stats st;
			ns_writer_get_stats(w, &st);
			if (st.n_segments > max_segments) max_segments = st.n_segments;
			ns_writer_close(w);
			model_free(&m);
			m = next;
		}
		build_reference(&m, &r);
		char what[64];
		snprintf(what, sizeof what, "seed %llu round %d",
		         (unsigned long long)seed, round);
		compare(&r, what);
	}
	model_free(&m);
	/* the tiered policy keeps the number of segments logarithmic */
	cr_assert_leq(max_segments, 16, "%u segments", max_segments);
}

Test(update, random_sequences_equal_a_build_from_scratch)
{
	random_updates(1, 40, 1);
}

Test(update, random_sequences_with_threads)
{
	random_updates(2, 15, 2);
}

Test(update, delete_then_readd_and_optimize)
{
	const char *texts[] = {"storm shadow missile", "storm river bank",
	                       "market grain wheat", NULL};
	th_build_index(g_up, texts, 3, NULL);
	ns_writer *w;
	ns_writer_options uo = {.mode = NS_WRITE_UPDATE};
	cr_assert_eq(ns_writer_open(g_up, &uo, &w, NULL), NS_OK);
	ns_index *ix = th_open_index(g_up);
	ns_results *r;
	cr_assert_eq(ns_search(ix, "storm", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 2);
	char first[64];
	snprintf(first, sizeof first, "%s", ns_results_id(r, 0));
	ns_results_free(r);
	cr_assert_eq(ns_writer_delete(w, first), NS_OK);
	cr_assert_eq(ns_writer_delete(w, first), NS_ENOTFOUND);
	cr_assert_eq(ns_writer_delete(w, "no such id"), NS_ENOTFOUND);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	/* the open handle still sees its generation */
	cr_assert_eq(ns_search(ix, "storm", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 2);
	ns_results_free(r);
	ns_index_close(ix);
	ix = th_open_index(g_up);
	cr_assert_eq(ns_search(ix, "storm", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 1);
	cr_assert_str_neq(ns_results_id(r, 0), first);
	ns_results_free(r);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 2);
	cr_assert_eq(st.n_deleted, 1);
	ns_index_close(ix);
	/* optimize: one segment, the deleted document gone for good */
	ns_writer_options oo = {.mode = NS_WRITE_UPDATE, .merge = NS_MERGE_ALL};
	cr_assert_eq(ns_writer_open(g_up, &oo, &w, NULL), NS_OK);
	ns_doc d = {.id = first, .text = "storm again", .text_len = 11};
	cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	ix = th_open_index(g_up);
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 3);
	cr_assert_eq(st.n_deleted, 0);
	cr_assert_eq(st.n_segments, 1);
	cr_assert_eq(ns_search(ix, "storm", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 2);
	ns_results_free(r);
	ns_index_close(ix);
	cr_assert_eq(ns_index_check(g_up, NULL, NULL), NS_OK);
}

Test(update, deleting_everything_leaves_an_empty_index)
{
	const char *texts[] = {"one two", "two three", NULL};
	th_build_index(g_up, texts, 2, NULL);
	ns_index *ix = th_open_index(g_up);
	ns_results *r;
	cr_assert_eq(ns_search(ix, "two", NULL, &r, NULL), NS_OK);
	char ids[2][64];
	for (int i = 0; i < 2; i++)
		snprintf(ids[i], sizeof ids[i], "%s", ns_results_id(r, (size_t)i));
	ns_results_free(r);
	ns_index_close(ix);
	ns_writer *w;
	ns_writer_options uo = {.mode = NS_WRITE_UPDATE};
	cr_assert_eq(ns_writer_open(g_up, &uo, &w, NULL), NS_OK);
	cr_assert_eq(ns_writer_delete(w, ids[0]), NS_OK);
	cr_assert_eq(ns_writer_delete(w, ids[1]), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	ix = th_open_index(g_up);
	cr_assert_eq(ns_search(ix, "two", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 0);
	cr_assert_eq(st.n_segments, 0);
	ns_index_close(ix);
	cr_assert_eq(ns_index_check(g_up, NULL, NULL), NS_OK);
}

Test(update, replace_mode_cannot_delete_and_language_must_match)
{
	const char *texts[] = {"one two", NULL};
	th_build_index(g_up, texts, 1, NULL);
	ns_writer *w;
	cr_assert_eq(ns_writer_open(g_up, NULL, &w, NULL), NS_OK);
	cr_assert_eq(ns_writer_delete(w, "x"), NS_EINVAL);
	ns_writer_close(w);
	ns_writer_options uo = {.mode = NS_WRITE_UPDATE, .lang = "german"};
	char *err = NULL;
	cr_assert_eq(ns_writer_open(g_up, &uo, &w, &err), NS_EINVAL);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "english"), "%s", err);
	ns_free(err);
	ns_writer_options bad = {.mode = 7};
	cr_assert_eq(ns_writer_open(g_up, &bad, &w, NULL), NS_EINVAL);
	/* an update of a missing index is a full build */
	char *fresh = th_path(g_dir, "fresh");
	ns_writer_options up = {.mode = NS_WRITE_UPDATE};
	cr_assert_eq(ns_writer_open(fresh, &up, &w, NULL), NS_OK);
	ns_doc d = {.id = "a", .text = "hello", .text_len = 5};
	cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	ns_index *ix = th_open_index(fresh);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 1);
	ns_index_close(ix);
	free(fresh);
}
