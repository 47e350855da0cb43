/*
** test_build.c -- the index does not depend on how it was built: the same
** documents give the same segment files, byte for byte, for every number
** of threads and every memory budget (runs written to disk and merged, or
** none; the final merge done by one thread, or cut in two halves encoded
** by two threads and joined).
**
** The corpus is synthetic and deterministic: 4,000 documents of 20 to 880
** words drawn from a Zipf-like vocabulary of 30,000 words, with a few long
** documents, about 11 MB of text: enough postings and positions for the
** final merge to split its work (src/writer.c, merge_split()) and, under a
** 1 MiB budget, for a dozen runs.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "nsearch.h"

#define N_DOCS 4000
#define VOCAB 30000

/* Document i of the corpus, in a malloc'ed string. */
static char *make_text(th_rng *r, uint32_t i)
{
	uint32_t n = 20 + th_below(r, 600) + (i % 97 == 0 ? 4000 : 0);
	size_t cap = (size_t)n * 12 + 1, len = 0;
	char *t = malloc(cap);
	cr_assert_not_null(t);
	for (uint32_t k = 0; k < n; k++) {
		/* Zipf-like: the rank is the square of a uniform draw */
		double u = th_unit(r);
		uint32_t w = (uint32_t)(u * u * u * VOCAB);
		len += (size_t)snprintf(t + len, cap - len, "%sw%x", k ? " " : "", w);
	}
	return t;
}

static void build(const char *dir, int threads, size_t memory)
{
	ns_writer_options o = {.threads = threads, .memory = memory};
	ns_writer *w;
	cr_assert_eq(ns_writer_open(dir, &o, &w, NULL), NS_OK);
	th_rng r = {42};
	for (uint32_t i = 0; i < N_DOCS; i++) {
		char id[32];
		snprintf(id, sizeof id, "doc%u", i);
		char *text = make_text(&r, i);
		ns_doc d = {.id = id, .title = id, .text = text, .text_len = strlen(text)};
		cr_assert_eq(ns_writer_add(w, &d), NS_OK, "%s", ns_writer_errmsg(w));
		free(text);
	}
	int rc = ns_writer_commit(w);
	cr_assert_eq(rc, NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_close(w);
}

/* Every file of dir but the lock must equal the one of the same name in
** ref, and dir must hold no other file. */
static void expect_same_files(const char *ref, const char *dir, const char *what)
{
	char *a = th_list_dir(ref), *b = th_list_dir(dir);
	cr_expect_str_eq(b, a, "%s: files differ", what);
	for (char *name = strtok(a, "\n"); name; name = strtok(NULL, "\n")) {
		if (strcmp(name, "lock") == 0) continue;
		char *pa = th_path(ref, name), *pb = th_path(dir, name);
		size_t na, nb;
		char *x = th_read_file(pa, &na), *y = th_read_file(pb, &nb);
		cr_expect(na == nb && memcmp(x, y, na) == 0,
		          "%s: %s differs (%zu vs %zu bytes)", what, name, nb, na);
		free(x);
		free(y);
		free(pa);
		free(pb);
	}
	free(a);
	free(b);
}

Test(build, same_bytes_for_every_thread_count_and_memory_budget,
     .timeout = 300)
{
	char root[256];
	th_mkdtemp(root, sizeof root, "build");
	static const struct {
		int threads;
		size_t memory;
		const char *what;
	} cfg[] = {
		{1, 0, "1 thread, default budget (one pass, no runs)"},
		{2, 0, "2 threads, default budget (split final merge)"},
		{2, 1u << 20, "2 threads, 1 MiB (runs, split final merge)"},
		{1, 1u << 20, "1 thread, 1 MiB (runs)"},
		{3, 2u << 20, "3 threads, 2 MiB (runs, split final merge)"},
	};
	char *ref = NULL;
	for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "ix%zu", i);
		char *dir = th_path(root, name);
		build(dir, cfg[i].threads, cfg[i].memory);
		if (!ref)
			ref = dir;
		else {
			expect_same_files(ref, dir, cfg[i].what);
			free(dir);
		}
	}
	/* and the index answers: a word of every document's vocabulary */
	ns_index *ix;
	char *err = NULL;
	cr_assert_eq(ns_index_open(ref, &ix, &err), NS_OK, "%s", err ? err : "");
	ns_results *res;
	cr_assert_eq(ns_search(ix, "w0", NULL, &res, &err), NS_OK);
	cr_expect_gt(ns_results_total(res), N_DOCS / 2);
	ns_results_free(res);
	ns_index_close(ix);
	free(ref);
	th_rmrf(root);
}
