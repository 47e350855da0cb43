/*
** prf.c -- pseudo-relevance feedback: RM3 as Anserini implements it
** (io.anserini.rerank.lib.Rm3Reranker, with its defaults fbDocs = 10,
** fbTerms = 10, originalQueryWeight = 0.5).  Called by ns_search() when
** ns_search_options.prf is set; the interface is in query.h.
**
**  1. The query runs once without feedback.  Its prf_docs best documents
**     D1..Dn and their BM25 scores s1..sn are the feedback set.
**  2. The stored text of each Di is analysed as the indexer analysed it
**     (ns_tok_next, then ns_stem), giving tf(t, Di).  A term is a
**     candidate only if it is 2 to 20 characters long, holds only letters
**     and digits (no ' . , inside) and occurs in at most 10 % of the
**     documents: Anserini's filters, the df one standing in for a stopword
**     list.  Each document keeps its prf_terms candidates of highest tf
**     (ties: byte order of the terms, where Anserini's order is its hash
**     map's), and |Di| is the sum of their tf.
**  3. Relevance model: rm(t) = sum over i of tf(t, Di) / |Di| * s_i, over
**     the kept terms; the prf_terms terms of highest rm are kept (same
**     ties) and rm is scaled to sum to 1.
**  4. The expanded query.  With w0 = prf_weight and P the number of
**     positive (not excluded) clauses of the query, every positive clause
**     keeps its role and its boost is multiplied by w0 / P (so a word that
**     occurs twice weighs twice: Anserini's L1-normalised query vector),
**     and every feedback term t becomes an optional term of boost
**     (1 - w0) * rm(t), or adds that to the boost of an optional clause of
**     the same term.  Excluded clauses stay; feedback terms that the query
**     excludes are left out.
**
** For a bag of words (plain mode) this is Anserini's RM3 query, up to the
** analysis.  With required words (+a) the feedback terms only re-rank the
** documents the query matches.  Queries with parentheses (a BOOL inside
** the root) are left as they are.
*/
#include <stdlib.h>

#include "file.h"
#include "index.h"
#include "query.h"
#include "strmap.h"

#define PRF_MIN_CHARS 2
#define PRF_MAX_CHARS 20
#define PRF_MAX_DF_RATIO 0.1

typedef struct cand {
	const char *t; /* the term, in the vocabulary's keys */
	uint32_t id;   /* in the vocabulary */
	double w;      /* tf in one document, or rm(t) */
} cand;

typedef struct prf {
	ns_index *ix;
	ns_strmap vocab;  /* every term seen -> id */
	int8_t *ok;       /* by id: 1 candidate, 0 filtered out */
	double *rm;       /* by id */
	size_t cap;       /* of ok and rm */
} prf;

/* Letters and digits only (folded tokens hold no capitals), 2 to 20
** characters; bytes >= 0x80 belong to letters, marks or numbers (the
** tokenizer's rules), so other scripts qualify too. */
static int shape_ok(const char *t, size_t len)
{
	size_t chars = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
		if ((c & 0xc0) != 0x80) chars++;
	}
	return chars >= PRF_MIN_CHARS && chars <= PRF_MAX_CHARS;
}

static int df_ok(const ns_index *ix, const char *t, size_t len, int *ok)
{
	uint64_t df;
	NS_TRY(ns_index_term_stats(ix, t, len, &df, NULL));
	*ok = (double)df <= PRF_MAX_DF_RATIO * (double)ix->n_docs;
	return NS_OK;
}

/* The vocabulary id of t, added (and judged) when new. */
static int vocab_id(prf *p, const char *t, size_t len, uint32_t *id)
{
	uint64_t h = ns_hash_bytes(t, len);
	uint32_t *v = ns_strmap_get(&p->vocab, t, len, h);
	if (v) {
		*id = *v;
		return NS_OK;
	}
	*id = (uint32_t)p->vocab.n;
	if (*id == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		int8_t *ok = ns_realloc(p->ok, cap * sizeof *ok);
		if (ok) p->ok = ok;
		double *rm = ns_realloc(p->rm, cap * sizeof *rm);
		if (rm) p->rm = rm;
		if (!ok || !rm) return NS_ENOMEM;
		p->cap = cap;
	}
	int ok = shape_ok(t, len);
	if (ok) NS_TRY(df_ok(p->ix, t, len, &ok));
	p->ok[*id] = (int8_t)ok;
	p->rm[*id] = 0;
	return ns_strmap_put(&p->vocab, t, len, h, *id);
}

/* Higher weight first, then byte order of the terms. */
static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->w != y->w) return x->w > y->w ? -1 : 1;
	return strcmp(x->t, y->t);
}

/* Sorts c[0..n) once the vocabulary stops growing (its keys may move). */
static void sort_cands(const prf *p, cand *c, size_t n)
{
	for (size_t i = 0; i < n; i++) c[i].t = ns_strmap_key(&p->vocab, c[i].id);
	qsort(c, n, sizeof *c, cmp_cand);
}

/* Adds document d (score s) to the relevance model: steps 2 and 3. */
static int add_doc(prf *p, ns_stemmer *st, const ns_seg *seg, uint32_t d,
                   double score, size_t n_terms, ns_buf *text, ns_strmap *dmap,
                   uint32_t **tf, size_t *tf_cap, cand **cs, size_t *cs_cap)
{
	text->len = 0;
	NS_TRY(ns_seg_text(seg, d, text));
	ns_strmap_free(dmap); /* a fresh map for each document */
	ns_strmap_init(dmap);
	ns_tokenizer tz;
	ns_token tok;
	ns_tok_init(&tz, (const char *)text->p, text->len);
	while (ns_tok_next(&tz, &tok)) {
		size_t sl;
		const char *s = ns_stem(st, tok.text, tok.len, &sl);
		uint64_t h = ns_hash_bytes(s, sl);
		uint32_t *v = ns_strmap_get(dmap, s, sl, h);
		if (v) {
			(*tf)[*v]++;
			continue;
		}
		uint32_t i = (uint32_t)dmap->n;
		if (i == *tf_cap) {
			size_t cap = *tf_cap ? *tf_cap * 2 : 256;
			uint32_t *b = ns_realloc(*tf, cap * sizeof *b);
			if (!b) return NS_ENOMEM;
			*tf = b;
			*tf_cap = cap;
		}
		(*tf)[i] = 1;
		NS_TRY(ns_strmap_put(dmap, s, sl, h, i));
	}
	if (dmap->n > *cs_cap) {
		cand *c = ns_realloc(*cs, dmap->n * sizeof *c);
		if (!c) return NS_ENOMEM;
		*cs = c;
		*cs_cap = dmap->n;
	}
	/* by tf, then the df test only until n_terms terms pass it: the same
	** as testing every term first, with far fewer dictionary lookups */
	size_t n = 0;
	for (size_t i = 0; i < dmap->n; i++) {
		const char *t = ns_strmap_key(dmap, i);
		if (!shape_ok(t, dmap->ents[i].key_len)) continue;
		(*cs)[n].t = t;
		(*cs)[n].id = (uint32_t)i;
		(*cs)[n].w = (*tf)[dmap->ents[i].val];
		n++;
	}
	qsort(*cs, n, sizeof **cs, cmp_cand);
	size_t kept = 0;
	double norm = 0;
	for (size_t i = 0; i < n && kept < n_terms; i++) {
		uint32_t id;
		NS_TRY(vocab_id(p, (*cs)[i].t, dmap->ents[(*cs)[i].id].key_len, &id));
		if (!p->ok[id]) continue;
		(*cs)[kept].id = id; /* kept <= i: overwrites a done entry */
		(*cs)[kept].w = (*cs)[i].w;
		norm += (*cs)[kept].w;
		kept++;
	}
	n = kept;
	if (norm <= 0) return NS_OK; /* nothing to learn from this document */
	for (size_t i = 0; i < n; i++) p->rm[(*cs)[i].id] += (*cs)[i].w / norm * score;
	return NS_OK;
}

static int add_kid(ns_qnode *b, ns_qnode *k)
{
	ns_qnode **kids = ns_realloc(b->kids, (b->n_kids + 1) * sizeof *kids);
	if (!kids) return NS_ENOMEM;
	b->kids = kids;
	b->kids[b->n_kids++] = k;
	return NS_OK;
}

static ns_qnode *new_node(int kind)
{
	ns_qnode *n = ns_calloc(1, sizeof *n);
	if (n) {
		n->kind = kind;
		n->boost = 1.0;
	}
	return n;
}

/* Step 4: rewrites *qn with the feedback terms c[0..n) (rm scaled to 1). */
static int expand(ns_qnode **qn, const cand *c, size_t n, double w0)
{
	ns_qnode *root = *qn;
	if (root->kind != NS_Q_BOOL) {
		ns_qnode *b = new_node(NS_Q_BOOL);
		if (!b) return NS_ENOMEM;
		if (add_kid(b, root)) {
			ns_free(b);
			return NS_ENOMEM;
		}
		root->occur = NS_OCC_SHOULD;
		*qn = root = b;
	}
	size_t pos = 0;
	for (size_t i = 0; i < root->n_kids; i++)
		pos += root->kids[i]->occur != NS_OCC_NOT;
	for (size_t i = 0; i < root->n_kids && pos; i++)
		if (root->kids[i]->occur != NS_OCC_NOT)
			root->kids[i]->boost *= w0 / (double)pos;
	size_t n_orig = root->n_kids;
	for (size_t j = 0; j < n; j++) {
		const char *t = c[j].t;
		double w = (1 - w0) * c[j].w;
		if (!(w > 0)) continue;
		ns_qnode *same = NULL;
		int excluded = 0;
		for (size_t i = 0; i < n_orig; i++) {
			ns_qnode *k = root->kids[i];
			if (k->kind != NS_Q_TERM || strcmp(k->terms[0], t)) continue;
			if (k->occur == NS_OCC_NOT) excluded = 1;
			else if (k->occur == NS_OCC_SHOULD && !same) same = k;
		}
		if (excluded) continue;
		if (same) {
			same->boost += w;
			continue;
		}
		ns_qnode *k = new_node(NS_Q_TERM);
		char **terms = k ? ns_malloc(sizeof *terms) : NULL;
		char *copy = terms ? ns_strndup(t, strlen(t)) : NULL;
		if (!copy || add_kid(root, k)) {
			ns_free(copy);
			ns_free(terms);
			ns_free(k);
			return NS_ENOMEM;
		}
		k->terms = terms;
		k->terms[0] = copy;
		k->n_terms = 1;
		k->boost = w;
	}
	return NS_OK;
}

int ns_prf_expand(ns_index *ix, const char *query,
                  const ns_search_options *opt, ns_qnode **qn)
{
	const ns_qnode *root = *qn;
	if (root->kind == NS_Q_BOOL)
		for (size_t i = 0; i < root->n_kids; i++)
			if (root->kids[i]->kind == NS_Q_BOOL) return NS_OK;
	size_t n_docs = opt->prf_docs ? opt->prf_docs : 10;
	size_t n_terms = opt->prf_terms ? opt->prf_terms : 10;

	ns_search_options o = *opt;
	o.prf = 0;
	o.k = n_docs;
	o.count_only = 0;
	o.no_total = 1;
	ns_results *r;
	int rc = ns_search(ix, query, &o, &r, NULL);
	if (rc) return rc;

	prf p;
	memset(&p, 0, sizeof p);
	p.ix = ix;
	ns_strmap_init(&p.vocab);
	ns_strmap dmap;
	ns_strmap_init(&dmap);
	ns_buf text;
	ns_buf_init(&text);
	uint32_t *tf = NULL;
	cand *cs = NULL;
	size_t tf_cap = 0, cs_cap = 0;
	ns_stemmer *st = ns_index_stemmer(ix);
	if (!st) rc = NS_ENOMEM;
	for (size_t i = 0; i < ns_results_count(r) && !rc; i++) {
		uint64_t docno = ns_results_docno(r, i);
		uint32_t s = 0;
		while (s < ix->n_segs && docno - ix->segs[s].base >= ix->segs[s].n_docs)
			s++;
		if (s == ix->n_segs) {
			rc = NS_ECORRUPT;
			break;
		}
		rc = add_doc(&p, st, &ix->segs[s], (uint32_t)(docno - ix->segs[s].base),
		             ns_results_score(r, i), n_terms, &text, &dmap, &tf,
		             &tf_cap, &cs, &cs_cap);
	}
	if (st) ns_index_unstemmer(ix, st);
	size_t n = 0;
	if (!rc && p.vocab.n > cs_cap) {
		cand *c = ns_realloc(cs, p.vocab.n * sizeof *c);
		if (c) cs = c;
		else rc = NS_ENOMEM;
	}
	if (!rc) {
		for (uint32_t id = 0; id < p.vocab.n; id++)
			if (p.rm[id] > 0) {
				cs[n].id = id;
				cs[n].w = p.rm[id];
				n++;
			}
		sort_cands(&p, cs, n);
		if (n > n_terms) n = n_terms;
		double sum = 0;
		for (size_t i = 0; i < n; i++) sum += cs[i].w;
		for (size_t i = 0; i < n; i++) cs[i].w /= sum;
		if (n) rc = expand(qn, cs, n, opt->prf_weight);
	}
	ns_results_free(r);
	ns_free(tf);
	ns_free(cs);
	ns_free(p.ok);
	ns_free(p.rm);
	ns_strmap_free(&p.vocab);
	ns_strmap_free(&dmap);
	ns_buf_free(&text);
	return rc;
}
