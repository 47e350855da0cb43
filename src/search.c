/*
** search.c -- query evaluation, BM25 scoring, top-k selection, results and
** snippets: the public ns_search / ns_results_* / ns_snippet API.
**
** Evaluation is document-at-a-time over a tree of iterators built from the
** parsed query (query.h), one segment after another.  Every iterator is
** positioned on its first match when built; next() moves to the following
** match and advance(t) to the first match >= t.
**
** BM25, with Lucene's IDF (always positive):
**     idf(t)      = ln(1 + (N - df + 0.5) / (df + 0.5))
**     score(t, d) = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
** N, df and avgdl are taken over the whole index.  A phrase scores as one
** term whose tf is the number of times the phrase occurs and whose idf is
** the sum of its terms' idfs.  A document's score is the sum over the
** clauses it matches.  Equal scores are ordered by document number.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "file.h"
#include "index.h"
#include "postings.h"
#include "query.h"

void ns_search_options_init(ns_search_options *o)
{
	memset(o, 0, sizeof *o);
	o->k = 10;
	o->k1 = 0.9;
	o->b = 0.4;
	o->prf_docs = o->prf_terms = 10;
	o->prf_weight = 0.5;
}

double ns_bm25_idf(uint64_t n_docs, uint64_t df);
double ns_bm25_idf(uint64_t n_docs, uint64_t df)
{
	double n = (double)n_docs, d = (double)df;
	return log(1.0 + (n - d + 0.5) / (d + 0.5));
}

/* ---- iterators ---------------------------------------------------------- */

typedef struct qctx {
	const ns_seg *seg;
	const ns_index *ix;
	double kb0, kb1; /* K(dl) = kb0 + kb1 * dl */
	int rc;
} qctx;

typedef struct it it;
struct it {
	uint32_t doc;
	int (*next)(it *);
	int (*advance)(it *, uint32_t);
	double (*score)(it *);
	void (*destroy)(it *);
	qctx *q;
};

static inline double bm25(const qctx *q, double w, double tf, uint32_t doc)
{
	double K = q->kb0 + q->kb1 * (double)q->seg->lens[doc];
	return w * tf / (tf + K);
}

typedef struct term_it {
	it base;
	double w; /* idf * (k1 + 1) * boost */
	ns_pcur c;
} term_it;

static int term_sync(term_it *t, int rc)
{
	if (rc && !t->base.q->rc) t->base.q->rc = rc;
	if (t->c.rc && !t->base.q->rc) t->base.q->rc = t->c.rc;
	t->base.doc = t->c.doc;
	return rc;
}
static int term_next(it *i)
{
	term_it *t = (term_it *)i;
	return term_sync(t, ns_pcur_next(&t->c));
}
static int term_advance(it *i, uint32_t target)
{
	term_it *t = (term_it *)i;
	return term_sync(t, ns_pcur_advance(&t->c, target));
}
static double term_score(it *i)
{
	term_it *t = (term_it *)i;
	return bm25(i->q, t->w, (double)ns_pcur_tf(&t->c), i->doc);
}
static void term_destroy(it *i)
{
	term_it *t = (term_it *)i;
	ns_pcur_close(&t->c);
	ns_free(t);
}

typedef struct phrase_it {
	it base;
	double w;
	size_t n;
	ns_pcur *c;
	uint32_t **pos;
	size_t *cap;
	uint32_t *tf;  /* scratch: tf of each term in the current document */
	size_t *at;    /* scratch: cursor into each term's positions */
	uint32_t freq;
} phrase_it;

/* Number of occurrences of the phrase in the current document. */
static int phrase_freq(phrase_it *p, uint32_t *freq)
{
	*freq = 0;
	uint32_t *tf = p->tf;
	size_t *ix = p->at;
	for (size_t i = 0; i < p->n; i++) {
		tf[i] = ns_pcur_tf(&p->c[i]);
		if (tf[i] == 0) return p->c[i].rc ? p->c[i].rc : NS_ECORRUPT;
		if (tf[i] > p->cap[i]) {
			uint32_t *b = ns_realloc(p->pos[i], (size_t)tf[i] * sizeof *b);
			if (!b) return NS_ENOMEM;
			p->pos[i] = b;
			p->cap[i] = tf[i];
		}
		NS_TRY(ns_pcur_positions(&p->c[i], p->pos[i]));
		ix[i] = 0;
	}
	/* for each start position of term 0, term i must sit at start + i */
	for (uint32_t a = 0; a < tf[0]; a++) {
		uint64_t start = p->pos[0][a];
		int ok = 1;
		for (size_t i = 1; i < p->n && ok; i++) {
			uint64_t want = start + i;
			while (ix[i] < tf[i] && p->pos[i][ix[i]] < want) ix[i]++;
			ok = ix[i] < tf[i] && p->pos[i][ix[i]] == want;
		}
		if (ok) (*freq)++;
	}
	return NS_OK;
}

/* Moves to the first document >= target holding all terms and the phrase. */
static int phrase_align(phrase_it *p, uint32_t target)
{
	for (;;) {
		int moved = 1;
		while (moved) {
			moved = 0;
			for (size_t i = 0; i < p->n; i++) {
				ns_pcur *c = &p->c[i];
				if (ns_pcur_advance(c, target) || c->doc == NS_DOC_END) {
					p->base.doc = NS_DOC_END;
					return c->rc;
				}
				if (c->doc > target) {
					target = c->doc;
					moved = 1;
				}
			}
		}
		uint32_t f;
		NS_TRY(phrase_freq(p, &f));
		if (f) {
			p->freq = f;
			p->base.doc = target;
			return NS_OK;
		}
		if (target == NS_DOC_END - 1) {
			p->base.doc = NS_DOC_END;
			return NS_OK;
		}
		target++;
	}
}
static int phrase_sync(phrase_it *p, int rc)
{
	if (rc && !p->base.q->rc) p->base.q->rc = rc;
	return rc;
}
static int phrase_next(it *i)
{
	if (i->doc == NS_DOC_END) return NS_OK;
	return phrase_sync((phrase_it *)i, phrase_align((phrase_it *)i, i->doc + 1));
}
static int phrase_advance(it *i, uint32_t target)
{
	if (i->doc >= target) return NS_OK;
	return phrase_sync((phrase_it *)i, phrase_align((phrase_it *)i, target));
}
static double phrase_score(it *i)
{
	phrase_it *p = (phrase_it *)i;
	return bm25(i->q, p->w, (double)p->freq, i->doc);
}
static void phrase_destroy(it *i)
{
	phrase_it *p = (phrase_it *)i;
	for (size_t k = 0; k < p->n; k++) {
		ns_pcur_close(&p->c[k]);
		ns_free(p->pos[k]);
	}
	ns_free(p->c);
	ns_free(p->pos);
	ns_free(p->cap);
	ns_free(p->tf);
	ns_free(p->at);
	ns_free(p);
}

typedef struct bool_it {
	it base;
	it **must, **should, **not;
	size_t n_must, n_should, n_not;
} bool_it;

static int excluded(bool_it *b, uint32_t doc)
{
	for (size_t i = 0; i < b->n_not; i++) {
		it *n = b->not[i];
		n->advance(n, doc);
		if (n->doc == doc) return 1;
	}
	return 0;
}

/* Conjunction: first doc >= target in every MUST and no NOT. */
static void conj_align(bool_it *b, uint32_t target)
{
	for (;;) {
		int moved = 1;
		while (moved) {
			moved = 0;
			for (size_t i = 0; i < b->n_must; i++) {
				it *m = b->must[i];
				m->advance(m, target);
				if (m->doc == NS_DOC_END || b->base.q->rc) {
					b->base.doc = NS_DOC_END;
					return;
				}
				if (m->doc > target) {
					target = m->doc;
					moved = 1;
				}
			}
		}
		if (!excluded(b, target)) {
			b->base.doc = target;
			return;
		}
		target++;
	}
}

/* Disjunction: the smallest doc among the SHOULDs that no NOT excludes. */
static void disj_settle(bool_it *b)
{
	for (;;) {
		uint32_t d = NS_DOC_END;
		for (size_t i = 0; i < b->n_should; i++)
			if (b->should[i]->doc < d) d = b->should[i]->doc;
		b->base.doc = d;
		if (d == NS_DOC_END || b->base.q->rc || !excluded(b, d)) return;
		for (size_t i = 0; i < b->n_should; i++)
			if (b->should[i]->doc == d) b->should[i]->next(b->should[i]);
	}
}

static int bool_next(it *i)
{
	bool_it *b = (bool_it *)i;
	if (i->doc == NS_DOC_END) return NS_OK;
	if (b->n_must) {
		conj_align(b, i->doc + 1);
	} else {
		uint32_t d = i->doc;
		for (size_t k = 0; k < b->n_should; k++)
			if (b->should[k]->doc == d) b->should[k]->next(b->should[k]);
		disj_settle(b);
	}
	return i->q->rc;
}
static int bool_advance(it *i, uint32_t target)
{
	bool_it *b = (bool_it *)i;
	if (i->doc >= target) return NS_OK;
	if (b->n_must) {
		conj_align(b, target);
	} else {
		for (size_t k = 0; k < b->n_should; k++)
			b->should[k]->advance(b->should[k], target);
		disj_settle(b);
	}
	return i->q->rc;
}
static double bool_score(it *i)
{
	bool_it *b = (bool_it *)i;
	double s = 0;
	for (size_t k = 0; k < b->n_must; k++) s += b->must[k]->score(b->must[k]);
	for (size_t k = 0; k < b->n_should; k++) {
		it *c = b->should[k];
		if (b->n_must) c->advance(c, i->doc);
		if (c->doc == i->doc) s += c->score(c);
	}
	return s;
}
static void bool_destroy(it *i)
{
	bool_it *b = (bool_it *)i;
	for (size_t k = 0; k < b->n_must; k++) b->must[k]->destroy(b->must[k]);
	for (size_t k = 0; k < b->n_should; k++)
		b->should[k]->destroy(b->should[k]);
	for (size_t k = 0; k < b->n_not; k++) b->not[k]->destroy(b->not[k]);
	ns_free(b->must);
	ns_free(b->should);
	ns_free(b->not);
	ns_free(b);
}

/* ---- building iterators -------------------------------------------------- */

/* df of a term over the live documents of the whole index (NS_ECORRUPT on
** a damaged dictionary) */
static int global_df(const ns_index *ix, const char *t, uint64_t *df)
{
	return ns_index_term_stats(ix, t, strlen(t), df, NULL);
}

static int open_cursor(qctx *q, const char *t, ns_pcur *c)
{
	ns_terminfo ti;
	int rc = ns_seg_lookup(q->seg, t, strlen(t), &ti);
	if (rc == NS_DONE) {
		memset(&ti, 0, sizeof ti);
		rc = NS_OK;
	}
	if (rc) return rc;
	return ns_pcur_open(c, q->seg, &ti);
}

static void init_it(it *i, qctx *q, int (*next)(it *), int (*adv)(it *, uint32_t),
                    double (*score)(it *), void (*destroy)(it *))
{
	i->q = q;
	i->next = next;
	i->advance = adv;
	i->score = score;
	i->destroy = destroy;
}

static int build(qctx *q, const ns_qnode *n, double k1, it **out);

static int build_bool(qctx *q, const ns_qnode *n, double k1, it **out)
{
	bool_it *b = ns_calloc(1, sizeof *b);
	if (!b) return NS_ENOMEM;
	init_it(&b->base, q, bool_next, bool_advance, bool_score, bool_destroy);
	*out = &b->base;
	b->must = ns_calloc(n->n_kids, sizeof *b->must);
	b->should = ns_calloc(n->n_kids, sizeof *b->should);
	b->not = ns_calloc(n->n_kids, sizeof *b->not);
	if (!b->must || !b->should || !b->not) return NS_ENOMEM;
	for (size_t i = 0; i < n->n_kids; i++) {
		it *k;
		int rc = build(q, n->kids[i], k1, &k);
		if (rc) {
			if (k) k->destroy(k);
			return rc;
		}
		switch (n->kids[i]->occur) {
		case NS_OCC_MUST: b->must[b->n_must++] = k; break;
		case NS_OCC_NOT: b->not[b->n_not++] = k; break;
		default: b->should[b->n_should++] = k; break;
		}
	}
	if (b->n_must)
		conj_align(b, 0);
	else
		disj_settle(b);
	return q->rc;
}

static int build(qctx *q, const ns_qnode *n, double k1, it **out)
{
	*out = NULL;
	const ns_index *ix = q->ix;
	if (n->kind == NS_Q_BOOL) return build_bool(q, n, k1, out);
	double idf = 0;
	for (size_t i = 0; i < n->n_terms; i++) {
		uint64_t df;
		NS_TRY(global_df(ix, n->terms[i], &df));
		idf += ns_bm25_idf(ix->n_docs, df);
	}
	if (n->kind == NS_Q_TERM) {
		term_it *t = ns_calloc(1, sizeof *t);
		if (!t) return NS_ENOMEM;
		init_it(&t->base, q, term_next, term_advance, term_score,
		        term_destroy);
		*out = &t->base;
		t->w = idf * (k1 + 1) * n->boost;
		NS_TRY(open_cursor(q, n->terms[0], &t->c));
		t->base.doc = t->c.doc;
		return NS_OK;
	}
	phrase_it *p = ns_calloc(1, sizeof *p);
	if (!p) return NS_ENOMEM;
	init_it(&p->base, q, phrase_next, phrase_advance, phrase_score,
	        phrase_destroy);
	*out = &p->base;
	p->w = idf * (k1 + 1) * n->boost;
	p->c = ns_calloc(n->n_terms, sizeof *p->c);
	p->pos = ns_calloc(n->n_terms, sizeof *p->pos);
	p->cap = ns_calloc(n->n_terms, sizeof *p->cap);
	p->tf = ns_calloc(n->n_terms, sizeof *p->tf);
	p->at = ns_calloc(n->n_terms, sizeof *p->at);
	if (!p->c || !p->pos || !p->cap || !p->tf || !p->at) return NS_ENOMEM;
	for (size_t i = 0; i < n->n_terms; i++) {
		p->n = i + 1;
		NS_TRY(open_cursor(q, n->terms[i], &p->c[i]));
	}
	return phrase_sync(p, phrase_align(p, 0));
}

/* ---- results ------------------------------------------------------------- */

typedef struct hit {
	double score;
	uint64_t docno;
	uint32_t seg, local;
	char *id, *title, *path;
} hit;

struct ns_results {
	ns_index *ix;
	hit *hits;
	size_t n;
	uint64_t total;
	char **terms; /* positive query terms, for highlighting */
	size_t n_terms;
};

/* a is a better hit than b: higher score, then lower document number */
static int better(const hit *a, const hit *b)
{
	return a->score > b->score || (a->score == b->score && a->docno < b->docno);
}

/* Min-heap on "better": the root is the worst of the kept hits. */
static void heap_down(hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && better(&h[m], &h[l])) m = l;
		if (r < n && better(&h[m], &h[r])) m = r;
		if (m == i) return;
		hit t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}
static void heap_up(hit *h, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;
		if (!better(&h[p], &h[i])) return;
		hit t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static int cmp_hits(const void *a, const void *b)
{
	const hit *x = a, *y = b;
	return better(x, y) ? -1 : better(y, x) ? 1 : 0;
}

void ns_results_free(ns_results *r)
{
	if (!r) return;
	for (size_t i = 0; i < r->n; i++) {
		ns_free(r->hits[i].id);
		ns_free(r->hits[i].title);
		ns_free(r->hits[i].path);
	}
	ns_free(r->hits);
	for (size_t i = 0; i < r->n_terms; i++) ns_free(r->terms[i]);
	ns_free(r->terms);
	ns_free(r);
}

size_t ns_results_count(const ns_results *r) { return r->n; }
uint64_t ns_results_total(const ns_results *r) { return r->total; }
double ns_results_score(const ns_results *r, size_t i)
{
	return i < r->n ? r->hits[i].score : 0;
}
uint64_t ns_results_docno(const ns_results *r, size_t i)
{
	return i < r->n ? r->hits[i].docno : 0;
}
const char *ns_results_id(const ns_results *r, size_t i)
{
	return i < r->n ? r->hits[i].id : "";
}
const char *ns_results_title(const ns_results *r, size_t i)
{
	return i < r->n ? r->hits[i].title : "";
}
const char *ns_results_path(const ns_results *r, size_t i)
{
	return i < r->n ? r->hits[i].path : "";
}

static int fill_hit(const ns_index *ix, hit *h)
{
	ns_docrec d;
	NS_TRY(ns_seg_doc(&ix->segs[h->seg], h->local, &d));
	h->id = ns_strndup(d.id, d.id_len);
	h->title = ns_strndup(d.title, d.title_len);
	h->path = ns_strndup(d.path, d.path_len);
	return h->id && h->title && h->path ? NS_OK : NS_ENOMEM;
}

/* ---- top-k selection ----------------------------------------------------- */

typedef struct topk {
	hit *heap;
	size_t n, k;
	double theta; /* score to beat once the heap is full */
} topk;

static inline int topk_full(const topk *t) { return t->n == t->k; }

/* Offers a hit; documents arrive in increasing document number, so a hit
** whose score equals the worst kept one loses the tie. */
static void topk_push(topk *t, double score, uint64_t docno, uint32_t seg,
                      uint32_t local)
{
	if (t->k == 0) return;
	hit h;
	memset(&h, 0, sizeof h);
	h.score = score;
	h.docno = docno;
	h.seg = seg;
	h.local = local;
	if (t->n < t->k) {
		t->heap[t->n] = h;
		heap_up(t->heap, t->n++);
	} else if (better(&h, &t->heap[0])) {
		t->heap[0] = h;
		heap_down(t->heap, t->n, 0);
	} else {
		return;
	}
	if (topk_full(t)) t->theta = t->heap[0].score;
}

/* ---- exhaustive evaluation (the reference) and counting ------------------- */

static int eval_exhaustive(qctx *q, const ns_qnode *qn, double k1, uint32_t segi,
                           topk *t, uint64_t *total, int score)
{
	it *root;
	int rc = build(q, qn, k1, &root);
	while (!rc && root->doc != NS_DOC_END) {
		if (ns_seg_deleted(q->seg, root->doc)) {
			root->next(root);
			rc = q->rc;
			continue;
		}
		(*total)++;
		if (score)
			topk_push(t, root->score(root), q->seg->base + root->doc, segi,
			          root->doc);
		root->next(root);
		rc = q->rc;
	}
	if (!rc) rc = q->rc;
	if (root) root->destroy(root);
	return rc;
}

/* ---- dynamic pruning for flat queries -------------------------------------- */
/*
** A flat query is a term, or a BOOL whose clauses are all terms.  For those,
** top-k is computed with upper bounds on each term's score: per term (over
** the whole list) and per block of 128 postings (from the skip data's max tf
** and min document length), both valid for any k1 and b.
**
** Disjunctions use MaxScore: terms sorted by bound; the lowest ones whose
** bounds add up to no more than the current k-th score (theta) cannot make
** a document enter the top-k alone, so only the others ("essential") are
** iterated, and the rest are probed, highest bound first, while the
** document can still beat theta; a probe first checks the bound of the
** block that would hold the document, without decoding it.
**
** Conjunctions (+a +b) leap through the rarest list; where the block bounds
** of all required terms plus the optional terms' bounds cannot beat theta,
** the whole run of documents up to the end of the nearest block is skipped.
**
** Bounds are inflated by a relative 1e-9 so that rounding can never make a
** bound smaller than a score computed from the same numbers.
*/

typedef struct tcur {
	ns_pcur c;
	double w;  /* idf * (k1 + 1) * boost */
	double ub; /* bound over the whole list in this segment */
	uint64_t df;
	/* conjunction(), optional terms: the block-max bound in the current
	** window of documents, and its sum over sh[0..this one] */
	double bub, cbub;
} tcur;

static inline double ub_of(const qctx *q, double w, uint32_t max_tf,
                           uint32_t min_dl)
{
	double tf = (double)max_tf;
	return w * tf / (tf + q->kb0 + q->kb1 * (double)min_dl) * (1 + 1e-9);
}

static inline double tcur_score(const qctx *q, tcur *t)
{
	/* the document first: a damaged tf block makes ns_pcur_tf() fail,
	** which sets c.doc to NS_DOC_END (argument order is unspecified) */
	uint32_t doc = t->c.doc;
	return bm25(q, t->w, (double)ns_pcur_tf(&t->c), doc);
}

static int open_tcur(qctx *q, const char *term, double k1, double boost,
                     tcur *t)
{
	uint64_t df;
	ns_terminfo ti;
	/* one dictionary lookup per segment gives both the global df and the
	** entry of the segment evaluated */
	NS_TRY(ns_index_term_stats_seg(q->ix, term, strlen(term), &df, NULL,
	                               q->seg, &ti));
	t->w = ns_bm25_idf(q->ix->n_docs, df) * (k1 + 1) * boost;
	NS_TRY(ns_pcur_open(&t->c, q->seg, &ti));
	t->df = t->c.df;
	t->ub = 0;
	for (uint32_t b = 0; b < t->c.nb; b++) {
		uint32_t mt, md, ld;
		ns_pcur_block_info(&t->c, b, &mt, &md, &ld);
		double u = ub_of(q, t->w, mt, md);
		if (u > t->ub) t->ub = u;
		if (!t->c.skip) break;
	}
	return t->c.rc;
}

static int cmp_ub(const void *a, const void *b)
{
	const tcur *x = a, *y = b;
	return x->ub < y->ub ? -1 : x->ub > y->ub;
}

static int is_excluded(tcur *nots, size_t n, uint32_t d)
{
	for (size_t i = 0; i < n; i++) {
		ns_pcur_advance(&nots[i].c, d);
		if (nots[i].c.doc == d) return 1;
	}
	return 0;
}

/* MaxScore over the SHOULD terms sh (sorted by bound), cum[i] = sum of the
** bounds of sh[0..i]. */
static void maxscore(qctx *q, tcur *sh, size_t ns, const double *cum,
                     tcur *nots, size_t nn, topk *t, uint32_t segi)
{
	size_t first = 0; /* sh[0..first) are not essential */
	for (;;) {
		while (topk_full(t) && first < ns && cum[first] <= t->theta) first++;
		if (first == ns) return;
		uint32_t d = NS_DOC_END;
		for (size_t i = first; i < ns; i++)
			if (sh[i].c.doc < d) d = sh[i].c.doc;
		if (d == NS_DOC_END) return;
		double score = 0;
		for (size_t i = first; i < ns; i++)
			if (sh[i].c.doc == d) {
				score += tcur_score(q, &sh[i]);
				ns_pcur_next(&sh[i].c);
			}
		int pruned = 0;
		for (size_t i = first; i-- > 0;) {
			if (topk_full(t) && score + cum[i] <= t->theta) {
				pruned = 1;
				break;
			}
			uint32_t mt, md, ld;
			if (ns_pcur_peek(&sh[i].c, d, &mt, &md, &ld) != NS_OK) continue;
			double rest = i ? cum[i - 1] : 0;
			if (topk_full(t) && score + ub_of(q, sh[i].w, mt, md) + rest <= t->theta)
				continue; /* this block cannot lift d over theta */
			ns_pcur_advance(&sh[i].c, d);
			if (sh[i].c.doc == d) score += tcur_score(q, &sh[i]);
		}
		if (pruned || (topk_full(t) && score <= t->theta)) continue;
		if (!is_excluded(nots, nn, d) && !ns_seg_deleted(q->seg, d))
			topk_push(t, score, q->seg->base + d, segi, d);
	}
}

/* A required clause of a conjunction: a term, or a phrase over several
** cursors (its words, in order). */
typedef struct item {
	int phrase;
	double w;     /* idf (summed over a phrase's words) * (k1 + 1) * boost */
	size_t n;     /* cursors */
	tcur **cur;   /* the words' cursors, in phrase order */
	uint32_t **pos;
	size_t *cap;
	uint32_t *tf;     /* scratch: each word's tf in the current document */
	size_t *ord;      /* the words by df, rarest first (fixed per query) */
	uint64_t *starts; /* candidate start positions while matching */
	size_t starts_cap;
	uint32_t freq;    /* phrase occurrences in the current document */
} item;

/* Block-max bound of item it for documents from d; *upto gets the last
** document the bound is valid for.  NS_DONE when a cursor is exhausted. */
static int item_bound(const qctx *q, const item *cl, uint32_t d, double *ub,
                      uint32_t *upto)
{
	uint32_t tf = UINT32_MAX, dl = 0;
	for (size_t i = 0; i < cl->n; i++) {
		uint32_t mt, md, ld;
		if (ns_pcur_peek(&cl->cur[i]->c, d, &mt, &md, &ld) != NS_OK)
			return NS_DONE;
		if (mt < tf) tf = mt; /* a phrase occurs at most min(tf) times */
		if (md > dl) dl = md; /* and the document is at least that long */
		if (ld < *upto) *upto = ld;
	}
	*ub = ub_of(q, cl->w, tf, dl);
	return NS_OK;
}

static int grow_u32(uint32_t **p, size_t *cap, size_t n)
{
	if (n <= *cap) return NS_OK;
	uint32_t *b = ns_realloc(*p, n * sizeof *b);
	if (!b) return NS_ENOMEM;
	*p = b;
	*cap = n;
	return NS_OK;
}

/* The first of v[from..n) that is >= want, or n: galloping, then binary
** search (a frequent word's positions against a few candidates). */
static inline uint32_t gallop(const uint32_t *v, uint32_t from, uint32_t n,
                              uint64_t want)
{
	if (from >= n || v[from] >= want) return from;
	uint32_t lo = from, step = 1; /* v[lo] < want */
	while (step < n - lo && v[lo + step] < want) {
		lo += step;
		step *= 2;
	}
	uint32_t hi = step < n - lo ? lo + step : n; /* v[hi] >= want, or n */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid] < want)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Occurrences of the phrase in the current document (all its cursors sit on
** it): the word with the fewest positions gives the candidate starts, and
** the others, rarest first, keep those they confirm.  A word's
** positions are decoded only up to the last start still standing. */
static int phrase_count(item *cl, uint32_t *freq)
{
	*freq = 0;
	size_t n = cl->n, *ord = cl->ord, r = ord[0], ri = 0;
	for (size_t o = 0; o < n; o++) { /* the word with the fewest positions */
		size_t i = ord[o];
		uint32_t tf = ns_pcur_tf(&cl->cur[i]->c);
		if (!tf) return NS_ECORRUPT;
		cl->tf[i] = tf;
		if (tf < cl->tf[r]) r = i, ri = o;
	}
	uint32_t rtf = cl->tf[r], got;
	if (rtf > cl->starts_cap) {
		uint64_t *p = ns_realloc(cl->starts, (size_t)rtf * sizeof *p);
		if (!p) return NS_ENOMEM;
		cl->starts = p;
		cl->starts_cap = rtf;
	}
	NS_TRY(grow_u32(&cl->pos[r], &cl->cap[r], rtf));
	NS_TRY(ns_pcur_positions_upto(&cl->cur[r]->c, cl->pos[r], UINT64_MAX, &got));
	size_t ns = 0;
	for (uint32_t j = 0; j < got; j++)
		if (cl->pos[r][j] >= r) cl->starts[ns++] = cl->pos[r][j] - r;
	/* the others rarest first: the df order stands in for this document's
	** tf order, which would cost a sort per document */
	for (size_t o = 0; o < n && ns; o++) {
		if (o == ri) continue;
		size_t i = ord[o];
		NS_TRY(grow_u32(&cl->pos[i], &cl->cap[i], cl->tf[i]));
		NS_TRY(ns_pcur_positions_upto(&cl->cur[i]->c, cl->pos[i],
		                              cl->starts[ns - 1] + i, &got));
		const uint32_t *v = cl->pos[i];
		size_t keep = 0;
		uint32_t k = 0;
		int sparse = got > 8 * ns; /* gallop over many positions */
		for (size_t j = 0; j < ns; j++) {
			uint64_t want = cl->starts[j] + i;
			if (sparse)
				k = gallop(v, k, got, want);
			else
				while (k < got && v[k] < want) k++;
			if (k == got) break;
			if (v[k] == want) cl->starts[keep++] = cl->starts[j];
		}
		ns = keep;
	}
	*freq = (uint32_t)ns;
	return NS_OK;
}

/* Bound on what the required items can score on d (all their cursors sit
** on it): a term's own score, and a phrase's score at the smallest tf of
** its words, since it cannot occur more often.  Cheap next to matching. */
static double doc_bound(const qctx *q, item *items, size_t ni, uint32_t d)
{
	double s = 0;
	for (size_t i = 0; i < ni; i++) {
		item *cl = &items[i];
		if (!cl->phrase) {
			s += tcur_score(q, cl->cur[0]);
			continue;
		}
		uint32_t tf = UINT32_MAX;
		for (size_t j = 0; j < cl->n; j++) {
			uint32_t x = ns_pcur_tf(&cl->cur[j]->c);
			if (x < tf) tf = x;
		}
		s += bm25(q, cl->w, (double)tf, d);
	}
	return s * (1 + 1e-9);
}

/* Bound on what item cl can score on d, from one of its cursors c alone
** (sitting on d). */
static double lead_bound(const qctx *q, const item *cl, tcur *c, uint32_t d)
{
	double s = cl->phrase ? bm25(q, cl->w, (double)ns_pcur_tf(&c->c), d)
	                      : tcur_score(q, c);
	return s * (1 + 1e-9);
}

/* Conjunction: leapfrog over the cursors mu (sorted by df, rarest first)
** that the required items draw on; optional SHOULD terms sh (sorted by
** bound, cum as above) add to the score.  With t->k == 0 it only counts. */
static void conjunction(qctx *q, tcur **mu, size_t nm, item *items, size_t ni,
                        tcur *sh, size_t ns, const double *cum, tcur *nots,
                        size_t nn, topk *t, uint32_t segi, uint64_t *count)
{
	double should_ub = ns ? cum[ns - 1] : 0;
	int scoring = t->k != 0, phrases = 0;
	for (size_t i = 0; i < ni; i++) phrases |= items[i].phrase;
	/* the item that mu[0], which drives the loop, belongs to */
	size_t lead = 0;
	for (size_t i = 0; i < ni; i++)
		for (size_t j = 0; j < items[i].n; j++)
			if (items[i].cur[j] == mu[0]) lead = i;
	double others = 0; /* the other items' and the optional terms' bounds */
	uint32_t d = mu[0]->c.doc;
	/* the block-max bound holds for documents up to `upto`: recomputed
	** only when d passes it */
	double bound = 0, req = 0;
	uint32_t upto = 0;
	int have_bound = 0;
	size_t ess = 0; /* sh[0..ess) are not essential in this window */
	while (d != NS_DOC_END && !q->rc) {
		if (scoring && topk_full(t)) {
			if (!have_bound || d > upto) {
				/* the window: up to the nearest end of a block of any
				** list; the required items' bound, then the optional
				** terms' block bounds */
				req = others = 0;
				upto = NS_DOC_END;
				for (size_t i = 0; i < ni; i++) {
					double ub;
					if (item_bound(q, &items[i], d, &ub, &upto) != NS_OK)
						return;
					req += ub;
					if (i != lead) others += ub;
				}
				double acc = 0;
				for (size_t k = 0; k < ns; k++) {
					uint32_t mt, md, ld;
					sh[k].bub = 0;
					if (ns_pcur_peek(&sh[k].c, d, &mt, &md, &ld) == NS_OK) {
						sh[k].bub = ub_of(q, sh[k].w, mt, md);
						if (ld < upto) upto = ld;
					}
					sh[k].cbub = acc += sh[k].bub;
				}
				bound = req + acc;
				others += acc;
				ess = 0;
				have_bound = 1;
			}
			if (bound <= t->theta) {
				if (upto == NS_DOC_END - 1) return;
				ns_pcur_advance(&mu[0]->c, upto + 1);
				d = mu[0]->c.doc;
				continue;
			}
			/* MaxScore with required clauses (Lucene's ReqOptSumScorer):
			** when the required items and the weakest optional terms
			** cannot beat theta together, a document needs one of the
			** other ("essential") optional terms: leap to the next one */
			while (ess < ns && req + sh[ess].cbub <= t->theta) ess++;
			if (ns && req <= t->theta) {
				uint32_t m = NS_DOC_END;
				for (size_t k = ess; k < ns; k++) {
					ns_pcur_advance(&sh[k].c, d);
					if (sh[k].c.doc < m) m = sh[k].c.doc;
				}
				if (m > d) {
					if (m > upto) {
						if (upto == NS_DOC_END - 1) return;
						m = upto + 1; /* the bounds change there */
					}
					ns_pcur_advance(&mu[0]->c, m);
					d = mu[0]->c.doc;
					continue;
				}
			}
		}
		/* d's own bound from mu[0] alone (a phrase occurs at most tf
		** times), before the other cursors move: a phrase with a
		** frequent word skips most of that word's blocks */
		if (scoring && topk_full(t) &&
		    lead_bound(q, &items[lead], mu[0], d) + others <= t->theta) {
			ns_pcur_next(&mu[0]->c);
			d = mu[0]->c.doc;
			continue;
		}
		size_t i = 1;
		for (; i < nm; i++) {
			ns_pcur_advance(&mu[i]->c, d);
			if (mu[i]->c.doc != d) break;
		}
		if (i < nm) {
			if (mu[i]->c.doc == NS_DOC_END) return;
			ns_pcur_advance(&mu[0]->c, mu[i]->c.doc);
			d = mu[0]->c.doc;
			continue;
		}
		/* every cursor is on d: check the phrases, then score */
		if (phrases && scoring && topk_full(t) &&
		    doc_bound(q, items, ni, d) + should_ub <= t->theta) {
			ns_pcur_next(&mu[0]->c); /* d cannot beat theta */
			d = mu[0]->c.doc;
			continue;
		}
		int match = 1;
		for (i = 0; i < ni && match; i++) {
			if (!items[i].phrase) continue;
			int rc = phrase_count(&items[i], &items[i].freq);
			if (rc) {
				q->rc = rc;
				return;
			}
			match = items[i].freq != 0;
		}
		if (match && ns_seg_deleted(q->seg, d)) {
			/* deleted: neither counted nor scored */
		} else if (match && !scoring) {
			if (!is_excluded(nots, nn, d)) (*count)++;
		} else if (match) {
			double score = 0;
			for (i = 0; i < ni; i++)
				score += items[i].phrase
				             ? bm25(q, items[i].w, (double)items[i].freq, d)
				             : tcur_score(q, items[i].cur[0]);
			int pruned = 0;
			/* with a full heap, the window's block bounds (sh[].bub,
			** .cbub) hold for d */
			for (size_t k = ns; k-- > 0;) {
				if (topk_full(t) && score + sh[k].cbub <= t->theta) {
					pruned = 1;
					break;
				}
				if (topk_full(t) &&
				    score + sh[k].bub + (k ? sh[k - 1].cbub : 0) <= t->theta)
					continue; /* this block cannot lift d over theta */
				ns_pcur_advance(&sh[k].c, d);
				if (sh[k].c.doc == d) score += tcur_score(q, &sh[k]);
			}
			if (!pruned && (!topk_full(t) || score > t->theta) &&
			    !is_excluded(nots, nn, d))
				topk_push(t, score, q->seg->base + d, segi, d);
		}
		ns_pcur_next(&mu[0]->c);
		d = mu[0]->c.doc;
	}
}

/* Shapes the pruned evaluator takes: a term, a phrase, or a BOOL of terms
** (any role) and required phrases (see role()). */
static int is_flat(const ns_qnode *n)
{
	if (n->kind != NS_Q_BOOL) return 1;
	for (size_t i = 0; i < n->n_kids; i++) {
		const ns_qnode *k = n->kids[i];
		if (k->kind == NS_Q_BOOL) return 0;
		if (k->kind == NS_Q_PHRASE && k->occur == NS_OCC_NOT) return 0;
	}
	return 1;
}

/* The role a clause plays in the pruned evaluator, or -1 when it cannot
** take the query.  A lone optional clause beside exclusions is required. */
static int role(const ns_qnode *root, const ns_qnode *k)
{
	if (root->kind != NS_Q_BOOL) return NS_OCC_MUST;
	if (k->occur != NS_OCC_SHOULD) return k->occur;
	size_t pos = 0, must = 0;
	for (size_t i = 0; i < root->n_kids; i++) {
		if (root->kids[i]->occur != NS_OCC_NOT) pos++;
		if (root->kids[i]->occur == NS_OCC_MUST) must++;
	}
	if (!must && pos == 1) return NS_OCC_MUST;
	/* an optional phrase is left to the exhaustive evaluator */
	return k->kind == NS_Q_PHRASE ? -1 : NS_OCC_SHOULD;
}

static int flat_ok(const ns_qnode *qn)
{
	if (!is_flat(qn)) return 0;
	if (qn->kind != NS_Q_BOOL) return 1;
	for (size_t i = 0; i < qn->n_kids; i++)
		if (role(qn, qn->kids[i]) < 0) return 0;
	return 1;
}

/* Pruned top-k (t->k > 0) or counting (t->k == 0, *count) for a query that
** flat_ok() accepts. */
static int eval_flat(qctx *q, const ns_qnode *qn, double k1, uint32_t segi,
                     topk *t, uint64_t *count)
{
	const ns_qnode *one[1] = {qn};
	const ns_qnode *const *kids = qn->kind == NS_Q_BOOL
	                                  ? (const ns_qnode *const *)qn->kids
	                                  : one;
	size_t nk = qn->kind == NS_Q_BOOL ? qn->n_kids : 1;
	size_t ncur = 0;
	for (size_t i = 0; i < nk; i++) ncur += kids[i]->n_terms;
	tcur *all = ns_calloc(ncur, sizeof *all);
	tcur **ptrs = ns_calloc(ncur, sizeof *ptrs);
	item *items = ns_calloc(nk, sizeof *items);
	double *cum = ns_calloc(nk, sizeof *cum);
	int rc = all && ptrs && items && cum ? NS_OK : NS_ENOMEM;
	size_t opened = 0, nm = 0, ni = 0, ns = 0, nn = 0;
	/* all[]: SHOULD terms, then NOT terms, then the required cursors */
	for (int pass = 0; pass < 3 && !rc; pass++) {
		int want = pass == 0 ? NS_OCC_SHOULD : pass == 1 ? NS_OCC_NOT : NS_OCC_MUST;
		for (size_t i = 0; i < nk && !rc; i++) {
			const ns_qnode *k = kids[i];
			if (role(qn, k) != want) continue;
			if (want != NS_OCC_MUST) {
				rc = open_tcur(q, k->terms[0], k1, k->boost, &all[opened++]);
				if (want == NS_OCC_SHOULD) ns++;
				else nn++;
				continue;
			}
			item *cl = &items[ni++];
			cl->phrase = k->kind == NS_Q_PHRASE;
			cl->n = k->n_terms;
			cl->cur = ns_calloc(cl->n, sizeof *cl->cur);
			cl->pos = ns_calloc(cl->n, sizeof *cl->pos);
			cl->cap = ns_calloc(cl->n, sizeof *cl->cap);
			cl->tf = ns_calloc(cl->n, sizeof *cl->tf);
			cl->ord = ns_calloc(cl->n, sizeof *cl->ord);
			if (!cl->cur || !cl->pos || !cl->cap || !cl->tf || !cl->ord)
				rc = NS_ENOMEM;
			for (size_t j = 0; j < cl->n && !rc; j++) {
				/* a word repeated in the phrase shares its cursor: its
				** positions are decoded once ("to be or not to be") */
				size_t same = 0;
				while (same < j && strcmp(k->terms[same], k->terms[j])) same++;
				if (same < j) {
					cl->cur[j] = cl->cur[same];
					cl->w += cl->cur[same]->w;
					continue;
				}
				tcur *c = &all[opened++];
				rc = open_tcur(q, k->terms[j], k1, k->boost, c);
				cl->w += c->w;
				cl->cur[j] = c;
				ptrs[nm++] = c;
			}
			/* the words by df, rarest first (insertion sort: a few) */
			for (size_t j = 0; j < cl->n && !rc; j++) {
				size_t m = j;
				for (; m > 0 && cl->cur[cl->ord[m - 1]]->df > cl->cur[j]->df; m--)
					cl->ord[m] = cl->ord[m - 1];
				cl->ord[m] = j;
			}
		}
	}
	if (!rc) {
		tcur *sh = all, *no = all + ns;
		qsort(sh, ns, sizeof *sh, cmp_ub);
		for (size_t i = 0; i < ns; i++) cum[i] = (i ? cum[i - 1] : 0) + sh[i].ub;
		/* required cursors, rarest first (sorting pointers: items keep
		** theirs in phrase order) */
		for (size_t i = 1; i < nm; i++)
			for (size_t j = i; j > 0 && ptrs[j]->df < ptrs[j - 1]->df; j--) {
				tcur *x = ptrs[j];
				ptrs[j] = ptrs[j - 1];
				ptrs[j - 1] = x;
			}
		if (nm)
			conjunction(q, ptrs, nm, items, ni, sh, ns, cum, no, nn, t, segi,
			            count);
		else if (t->k)
			maxscore(q, sh, ns, cum, no, nn, t, segi);
		for (size_t i = 0; i < opened && !q->rc; i++)
			if (all[i].c.rc) q->rc = all[i].c.rc;
		rc = q->rc;
	}
	for (size_t i = 0; i < opened; i++) ns_pcur_close(&all[i].c);
	for (size_t i = 0; items && i < ni; i++) {
		for (size_t j = 0; items[i].pos && j < items[i].n; j++)
			ns_free(items[i].pos[j]);
		ns_free(items[i].pos);
		ns_free(items[i].cap);
		ns_free(items[i].tf);
		ns_free(items[i].ord);
		ns_free(items[i].cur);
		ns_free(items[i].starts);
	}
	ns_free(items);
	ns_free(all);
	ns_free(ptrs);
	ns_free(cum);
	return rc;
}

/* Number of documents holding any of the flat query's terms (no MUST, no
** NOT): a bitmap over the segment's documents. */
static int count_union(qctx *q, const ns_qnode *qn, uint64_t *total)
{
	const ns_seg *s = q->seg;
	size_t words = ((size_t)s->n_docs + 63) / 64;
	uint64_t *bits = ns_calloc(words ? words : 1, sizeof *bits);
	if (!bits) return NS_ENOMEM;
	size_t n = qn->kind == NS_Q_TERM ? 1 : qn->n_kids;
	int rc = NS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		const ns_qnode *k = qn->kind == NS_Q_TERM ? qn : qn->kids[i];
		ns_pcur c;
		rc = open_cursor(q, k->terms[0], &c);
		while (!rc && c.doc != NS_DOC_END) {
			for (uint32_t j = c.i; j < c.n; j++)
				bits[c.docs[j] >> 6] |= 1ull << (c.docs[j] & 63);
			if (c.docs[c.n - 1] == NS_DOC_END - 1) break;
			rc = ns_pcur_advance(&c, c.docs[c.n - 1] + 1);
		}
		if (!rc) rc = c.rc;
		ns_pcur_close(&c);
	}
	uint64_t cnt = 0;
	const uint64_t *del = s->dels.bits;
	for (size_t w = 0; w < words; w++)
		cnt += (uint64_t)__builtin_popcountll(bits[w] & (del ? ~del[w] : ~0ull));
	ns_free(bits);
	*total += cnt;
	return rc;
}

/* Whether the flat query has a required clause (as role() sees it). */
static int has_must(const ns_qnode *qn)
{
	if (qn->kind != NS_Q_BOOL) return 1;
	for (size_t i = 0; i < qn->n_kids; i++)
		if (role(qn, qn->kids[i]) == NS_OCC_MUST) return 1;
	return 0;
}

static int only_should(const ns_qnode *qn)
{
	if (qn->kind == NS_Q_TERM) return 1;
	if (qn->kind == NS_Q_PHRASE) return 0;
	for (size_t i = 0; i < qn->n_kids; i++)
		if (qn->kids[i]->occur != NS_OCC_SHOULD) return 0;
	return 1;
}

int ns_search(ns_index *ix, const char *query, const ns_search_options *opt,
              ns_results **out, char **errmsg)
{
	*out = NULL;
	if (errmsg) *errmsg = NULL;
	ns_search_options o;
	if (opt)
		o = *opt;
	else
		ns_search_options_init(&o);
	if (!query || !(o.k1 >= 0) || !(o.b >= 0 && o.b <= 1) || o.k > (1u << 24) ||
	    !(o.prf_weight >= 0 && o.prf_weight <= 1) || o.prf_docs > 1000 ||
	    o.prf_terms > 1000) {
		if (errmsg) *errmsg = ns_fmt("invalid search options");
		return NS_EINVAL;
	}
	ns_stemmer *st = ns_index_stemmer(ix);
	if (!st) return NS_ENOMEM;
	ns_qnode *qn;
	char *err = NULL;
	int rc = ns_query_parse_opt(query, st, &o, &qn, &err);
	ns_index_unstemmer(ix, st);
	if (rc) {
		if (errmsg) *errmsg = err;
		else ns_free(err);
		return rc;
	}
	ns_results *r = ns_calloc(1, sizeof *r);
	hit *heap = ns_calloc(o.k + 1, sizeof *heap);
	const char *terms[256];
	size_t nt = ns_query_terms(qn, terms, 256);
	if (!r || !heap) {
		rc = NS_ENOMEM;
		goto out;
	}
	r->ix = ix;
	r->terms = ns_calloc(nt + 1, sizeof *r->terms);
	if (!r->terms) {
		rc = NS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		if (!(r->terms[i] = ns_strndup(terms[i], strlen(terms[i])))) {
			rc = NS_ENOMEM;
			goto out;
		}
		r->n_terms++;
	}
	/* RM3 (prf.c) runs a first search and rewrites qn; r->terms, for
	** highlighting, stay the query's own */
	if (o.prf && !o.count_only && (rc = ns_prf_expand(ix, query, &o, &qn)))
		goto out;
	topk t = {heap, 0, o.count_only ? 0 : o.k, 0};
	int flat = flat_ok(qn) && !o.exhaustive;
	int want_total = o.count_only || !o.no_total;
	for (uint32_t s = 0; s < ix->n_segs && !rc; s++) {
		qctx q;
		memset(&q, 0, sizeof q);
		q.seg = &ix->segs[s];
		q.ix = ix;
		q.kb0 = o.k1 * (1 - o.b);
		q.kb1 = o.k1 * o.b / ix->avgdl;
		if (!flat) {
			/* the exhaustive evaluator counts as it goes */
			uint64_t seen = 0;
			rc = eval_exhaustive(&q, qn, o.k1, s, &t, &seen, t.k != 0);
			r->total += seen;
			continue;
		}
		if (t.k) rc = eval_flat(&q, qn, o.k1, s, &t, NULL);
		if (!rc && want_total) {
			q.rc = NS_OK;
			if (only_should(qn)) {
				rc = count_union(&q, qn, &r->total);
			} else if (has_must(qn)) {
				topk none = {NULL, 0, 0, 0};
				rc = eval_flat(&q, qn, o.k1, s, &none, &r->total);
			} else {
				uint64_t seen = 0;
				rc = eval_exhaustive(&q, qn, o.k1, s, &t, &seen, 0);
				r->total += seen;
			}
		}
	}
	size_t nh = t.n;
	if (flat && !want_total) r->total = nh; /* a lower bound */
	if (rc) goto out;
	qsort(heap, nh, sizeof *heap, cmp_hits);
	for (size_t i = 0; i < nh; i++) {
		heap[i].id = heap[i].title = heap[i].path = NULL;
		r->n = i + 1;
		r->hits = heap;
		if ((rc = fill_hit(ix, &heap[i]))) goto out;
	}
	r->hits = heap;
	heap = NULL;
out:
	ns_query_free(qn);
	if (rc) {
		if (r && r->hits == heap) heap = NULL;
		ns_results_free(r);
		ns_free(heap);
		if (errmsg)
			*errmsg = ns_fmt("%s", rc == NS_ECORRUPT
			                           ? "index is corrupt (run 'nsearch check')"
			                           : ns_strerror(rc));
		return rc;
	}
	ns_free(heap);
	*out = r;
	return NS_OK;
}

/* ---- snippets ------------------------------------------------------------ */

/* Appends text with control characters and whitespace runs collapsed to one
** space and invalid UTF-8 replaced by U+FFFD. */
static void put_clean(ns_buf *b, const uint8_t *s, size_t n, int *space)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			if (c <= ' ' || c == 0x7f) {
				if (!*space) ns_buf_putc(b, ' ');
				*space = 1;
			} else {
				ns_buf_putc(b, c);
				*space = 0;
			}
			i++;
			continue;
		}
		/* 0xf5..0xff never start a character */
		size_t len = c >= 0xf5 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		int ok = len && i + len <= n;
		uint32_t cp = 0;
		if (ok) {
			cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
			for (size_t k = 1; k < len; k++) {
				if ((s[i + k] & 0xc0) != 0x80) ok = 0;
				cp = cp << 6 | (s[i + k] & 0x3f);
			}
			if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
				ok = 0;
		}
		if (ok && cp >= 0x80 && cp < 0xa0) { /* C1 controls */
			if (!*space) ns_buf_putc(b, ' ');
			*space = 1;
		} else if (ok) {
			ns_buf_append(b, s + i, len);
			*space = 0;
		} else {
			ns_buf_append(b, "\xef\xbf\xbd", 3);
			*space = 0;
			len = 1;
		}
		i += len;
	}
}

typedef struct stok {
	size_t start, end;
	int match; /* index of the query term + 1, or 0 */
} stok;

/* The first token of the window of w tokens with the most distinct query
** terms, then the most matches (the earliest on ties), shifted so that its
** matches sit in the middle. */
static size_t pick_window(const stok *toks, size_t nt, size_t w)
{
	size_t best = 0, best_d = 0, best_m = 0;
	size_t cnt[257];
	memset(cnt, 0, sizeof cnt);
	size_t distinct = 0, matches = 0;
	for (size_t e = 0; e < nt; e++) {
		int m = toks[e].match;
		if (m && m <= 256) {
			if (cnt[m]++ == 0) distinct++;
			matches++;
		}
		if (e >= w) {
			int x = toks[e - w].match;
			if (x && x <= 256) {
				if (--cnt[x] == 0) distinct--;
				matches--;
			}
		}
		size_t s = e + 1 >= w ? e + 1 - w : 0;
		if (distinct > best_d || (distinct == best_d && matches > best_m)) {
			best_d = distinct;
			best_m = matches;
			best = s;
		}
	}
	if (!best_m) return 0;
	size_t f = best, l = best;
	while (!toks[f].match) f++;
	for (size_t k = f; k < best + w && k < nt; k++)
		if (toks[k].match) l = k;
	size_t span = l - f + 1, pad = (w - span) / 2;
	size_t s = f > pad ? f - pad : 0;
	if (s + w > nt) s = nt > w ? nt - w : 0;
	if (s > f) s = f;
	return s;
}

int ns_snippet(const ns_results *r, size_t i, const char *open,
               const char *close, size_t max_tokens, char **out)
{
	*out = NULL;
	if (i >= r->n) return NS_EINVAL;
	if (max_tokens == 0) max_tokens = 30;
	const hit *h = &r->hits[i];
	ns_buf text, o;
	ns_buf_init(&text);
	ns_buf_init(&o);
	stok *toks = NULL;
	size_t nt = 0, cap = 0;
	int rc = ns_seg_text(&r->ix->segs[h->seg], h->local, &text);
	ns_stemmer *st = rc ? NULL : ns_index_stemmer(r->ix);
	if (!rc && !st) rc = NS_ENOMEM;
	if (rc) goto out;
	ns_tokenizer tz;
	ns_token tok;
	ns_tok_init(&tz, (const char *)text.p, text.len);
	while (ns_tok_next(&tz, &tok)) {
		if (nt == cap) {
			cap = cap ? cap * 2 : 256;
			stok *t = ns_realloc(toks, cap * sizeof *t);
			if (!t) {
				rc = NS_ENOMEM;
				goto out;
			}
			toks = t;
		}
		size_t sl;
		const char *s = ns_stem(st, tok.text, tok.len, &sl);
		int m = 0;
		for (size_t k = 0; k < r->n_terms && !m; k++)
			if (strlen(r->terms[k]) == sl && !memcmp(r->terms[k], s, sl))
				m = (int)k + 1;
		toks[nt].start = tok.start;
		toks[nt].end = tok.end;
		toks[nt].match = m;
		nt++;
	}
	/* Text files repeat their title as the first line: leave it out of the
	** snippet unless the matches are only there. */
	size_t body = 0;
	size_t tl = strlen(h->title);
	if (tl) {
		size_t ws = 0;
		while (ws < text.len && (text.p[ws] == ' ' || text.p[ws] == '\n' ||
		                         text.p[ws] == '\r' || text.p[ws] == '\t'))
			ws++;
		if (text.len - ws >= tl && !memcmp(text.p + ws, h->title, tl))
			while (body < nt && toks[body].end <= ws + tl) body++;
	}
	size_t best, nmatch = 0;
	for (size_t k = body; k < nt; k++) nmatch += toks[k].match != 0;
	if (!nmatch) body = 0;
	/* no tokens (toks may be NULL): only a damaged store gets here */
	best = nt ? pick_window(toks + body, nt - body, max_tokens) + body : 0;
	int space = 1;
	if (nt) {
		size_t last = best + max_tokens < nt ? best + max_tokens : nt;
		size_t from = best ? toks[best].start : 0;
		size_t to = last < nt ? toks[last - 1].end : text.len;
		if (best) ns_buf_puts(&o, "... ");
		size_t at = from;
		for (size_t k = best; k < last; k++) {
			if (!toks[k].match) continue;
			put_clean(&o, text.p + at, toks[k].start - at, &space);
			ns_buf_puts(&o, open);
			put_clean(&o, text.p + toks[k].start, toks[k].end - toks[k].start,
			          &space);
			ns_buf_puts(&o, close);
			at = toks[k].end;
		}
		put_clean(&o, text.p + at, to - at, &space);
		while (o.len && o.p[o.len - 1] == ' ') o.len--;
		if (last < nt) ns_buf_puts(&o, " ...");
	}
	/* strip a leading space */
	size_t skip = 0;
	while (skip < o.len && o.p[skip] == ' ') skip++;
	ns_buf_putc(&o, 0);
	if (o.rc) {
		rc = NS_ENOMEM;
		goto out;
	}
	*out = ns_strndup((const char *)o.p + skip, o.len - 1 - skip);
	if (!*out) rc = NS_ENOMEM;
out:
	if (st) ns_index_unstemmer(r->ix, st);
	ns_free(toks);
	ns_buf_free(&text);
	ns_buf_free(&o);
	return rc;
}
