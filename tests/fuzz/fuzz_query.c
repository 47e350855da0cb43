/*
** fuzz_query.c -- the query parser on arbitrary bytes: ns_query_parse,
** ns_query_parse_plain and ns_query_parse_opt (with stopwords), with the
** English stemmer.  A parse either succeeds with a well-formed tree or
** fails with NS_ESYNTAX and a message; it never crashes or leaks.
**
** Input: the query text (a NUL byte ends it early, as it would for a C
** caller).  Inputs over 64 KiB are ignored to keep iterations fast.
*/
#include <string.h>

#include "fuzz.h"
#include "query.h"

static ns_stemmer *g_stem;

/* Checks the shape of a parsed tree; returns the number of nodes. */
static size_t check_tree(const ns_qnode *n, int depth)
{
	size_t count = 1;
	FUZZ_CHECK(n != NULL);
	FUZZ_CHECK(depth < 100000);
	FUZZ_CHECK(n->occur == NS_OCC_SHOULD || n->occur == NS_OCC_MUST ||
	           n->occur == NS_OCC_NOT);
	FUZZ_CHECK(n->boost >= 0);
	switch (n->kind) {
	case NS_Q_TERM:
		FUZZ_CHECK(n->n_terms == 1 && n->n_kids == 0);
		break;
	case NS_Q_PHRASE:
		FUZZ_CHECK(n->n_terms >= 1 && n->n_kids == 0);
		break;
	case NS_Q_BOOL:
		FUZZ_CHECK(n->n_terms == 0);
		break;
	default:
		FUZZ_CHECK(!"unknown node kind");
	}
	for (size_t i = 0; i < n->n_terms; i++) {
		FUZZ_CHECK(n->terms[i] != NULL);
		FUZZ_CHECK(n->terms[i][0] != 0);
	}
	for (size_t i = 0; i < n->n_kids; i++)
		count += check_tree(n->kids[i], depth + 1);
	return count;
}

static void check_result(int rc, ns_qnode *tree, char *err)
{
	FUZZ_CHECK(rc == NS_OK || rc == NS_ESYNTAX || rc == NS_ENOMEM);
	if (rc == NS_OK) {
		const char *terms[64];
		FUZZ_CHECK(tree != NULL);
		check_tree(tree, 0);
		size_t n = ns_query_terms(tree, terms, 64);
		FUZZ_CHECK(n <= 64);
		for (size_t i = 0; i < n; i++) FUZZ_CHECK(terms[i] && terms[i][0]);
	} else {
		FUZZ_CHECK(tree == NULL);
		if (rc == NS_ESYNTAX) FUZZ_CHECK(err != NULL && err[0] != 0);
	}
	ns_query_free(tree);
	ns_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536) return 0;
	if (!g_stem && ns_stem_open("english", &g_stem) != NS_OK) abort();
	char *q = malloc(size + 1);
	if (!q) return 0;
	memcpy(q, data, size);
	q[size] = 0;

	ns_qnode *tree = NULL;
	char *err = NULL;
	int rc = ns_query_parse(q, g_stem, &tree, &err);
	check_result(rc, tree, err);

	tree = NULL;
	err = NULL;
	rc = ns_query_parse_plain(q, g_stem, &tree, &err);
	check_result(rc, tree, err);

	ns_search_options o;
	ns_search_options_init(&o);
	o.stopwords = 1;
	o.plain = (size & 1) != 0;
	tree = NULL;
	err = NULL;
	rc = ns_query_parse_opt(q, g_stem, &o, &tree, &err);
	check_result(rc, tree, err);

	free(q);
	return 0;
}
