/*
** test_index.c -- the write/read round trip of an index: ns_writer_* on one
** side, the internal reader (index.h, postings.h) on the other.
**
** The main corpus is generated from a seeded PRNG: a few thousand documents
** over a vocabulary of made-up words that the English stemmer leaves alone,
** drawn with Zipf-like frequencies (so the common words span many posting
** blocks), plus "edge" words placed in exactly 1, 127, 128, 129, 255, 256,
** 257 and 385 documents.  The expected postings are computed independently
** from the word sequence of each document, not by re-running the analyser.
*/
#include "helpers.h"

#include "analyze.h"
#include "format.h"
#include "index.h"
#include "postings.h"

static char g_dir[64];

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "index");
}

static void teardown(void)
{
	th_rmrf(g_dir);
}

TestSuite(index, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------ */
/* The generated corpus                                                     */
/* ------------------------------------------------------------------------ */

#define N_VOCAB 300
#define N_EDGE 8
#define N_WORDS (N_VOCAB + N_EDGE)
#define N_DOCS 3000
#define SEED 0x5eed1234u

static const uint32_t edge_df[N_EDGE] = {1, 127, 128, 129, 255, 256, 257, 385};

typedef struct gdoc {
	uint16_t *w;  /* word numbers, in order: position i holds w[i] */
	uint32_t len;
	char *text;
	size_t text_len;
	char id[32], title[64], path[64];
	uint64_t size;
	int64_t mtime;
} gdoc;

typedef struct posting {
	uint32_t doc, tf;
	uint32_t *pos;
} posting;

typedef struct plist {
	posting *p;
	uint32_t df, cap;
	uint64_t cf;
	uint32_t max_tf, min_dl;
} plist;

typedef struct corpus {
	char *word[N_WORDS];
	gdoc *docs;
	uint32_t n;
	plist pl[N_WORDS];
	uint64_t total_tokens, n_postings;
	uint32_t n_terms; /* words that occur at least once */
} corpus;

/* A made-up lowercase word of 2..4 syllables that stems to itself. */
static void make_word(th_rng *r, ns_stemmer *st, char *out, corpus *c,
                      size_t have)
{
	static const char *const cons[] = {"b", "d", "f", "g", "k", "m", "n",
	                                   "p", "qu", "r", "t", "v", "x", "z",
	                                   "zh", "kr"};
	static const char *const vow[] = {"a", "o", "u", "ai", "ou", "oa"};
	for (;;) {
		out[0] = 0;
		int syl = 2 + (int)th_below(r, 3);
		for (int k = 0; k < syl; k++) {
			strcat(out, cons[th_below(r, 16)]);
			strcat(out, vow[th_below(r, 6)]);
		}
		if (th_below(r, 2)) strcat(out, cons[th_below(r, 16)]);
		size_t len = strlen(out), sl;
		const char *s = ns_stem(st, out, len, &sl);
		if (sl != len || memcmp(s, out, len)) continue;
		int dup = 0;
		for (size_t i = 0; i < have && !dup; i++)
			dup = !strcmp(c->word[i], out);
		if (!dup) return;
	}
}

static void plist_add(plist *l, uint32_t doc, uint32_t pos)
{
	if (l->df && l->p[l->df - 1].doc == doc) {
		posting *p = &l->p[l->df - 1];
		p->pos = realloc(p->pos, (p->tf + 1) * sizeof *p->pos);
		cr_assert_not_null(p->pos);
		p->pos[p->tf++] = pos;
		return;
	}
	if (l->df == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->p = realloc(l->p, l->cap * sizeof *l->p);
		cr_assert_not_null(l->p);
	}
	posting *p = &l->p[l->df++];
	p->doc = doc;
	p->tf = 1;
	p->pos = malloc(sizeof *p->pos);
	cr_assert_not_null(p->pos);
	p->pos[0] = pos;
}

/* Renders a document's words as text with mixed case and separators. */
static void render(th_rng *r, corpus *c, gdoc *d)
{
	static const char *const sep[] = {" ", " ", " ", "  ", ", ", ".\n",
	                                  "\t", " - ", "; ", "\n\n", " (", ") "};
	size_t cap = 16 + (size_t)d->len * 24;
	char *t = malloc(cap);
	cr_assert_not_null(t);
	size_t n = 0;
	if (d->len && th_below(r, 4) == 0) n += (size_t)sprintf(t, "  ");
	for (uint32_t i = 0; i < d->len; i++) {
		const char *w = c->word[d->w[i]];
		size_t wl = strlen(w);
		uint32_t style = th_below(r, 10);
		for (size_t k = 0; k < wl; k++) {
			char ch = w[k];
			if (style == 0 || (style == 1 && k == 0)) ch = (char)(ch - 32);
			t[n++] = ch;
		}
		if (i + 1 < d->len) n += (size_t)sprintf(t + n, "%s", sep[th_below(r, 12)]);
	}
	if (d->len && th_below(r, 3) == 0) n += (size_t)sprintf(t + n, ".\n");
	t[n] = 0;
	d->text = t;
	d->text_len = n;
}

static void corpus_make(corpus *c, uint64_t seed)
{
	memset(c, 0, sizeof *c);
	th_rng r = {seed};
	ns_stemmer *st;
	cr_assert_eq(ns_stem_open("english", &st), NS_OK);
	for (size_t i = 0; i < N_WORDS; i++) {
		char w[64];
		make_word(&r, st, w, c, i);
		c->word[i] = strdup(w);
	}
	ns_stem_close(st);
	/* Zipf weights over the vocabulary */
	double cum[N_VOCAB], sum = 0;
	for (size_t i = 0; i < N_VOCAB; i++) {
		sum += 1.0 / (double)(i + 1);
		cum[i] = sum;
	}
	c->n = N_DOCS;
	c->docs = calloc(N_DOCS, sizeof *c->docs);
	cr_assert_not_null(c->docs);
	/* which documents get each edge word (a partial Fisher-Yates shuffle) */
	uint8_t *edge_in = calloc((size_t)N_DOCS * N_EDGE, 1);
	uint32_t *perm = malloc(N_DOCS * sizeof *perm);
	cr_assert(edge_in && perm);
	for (size_t e = 0; e < N_EDGE; e++) {
		for (uint32_t i = 0; i < N_DOCS; i++) perm[i] = i;
		for (uint32_t i = 0; i < edge_df[e]; i++) {
			uint32_t j = i + th_below(&r, N_DOCS - i);
			uint32_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
			edge_in[(size_t)perm[i] * N_EDGE + e] = 1;
		}
	}
	for (uint32_t d = 0; d < N_DOCS; d++) {
		gdoc *g = &c->docs[d];
		/* a few empty documents, some long ones, most short */
		uint32_t len = d % 397 == 5 ? 0
		               : th_below(&r, 20) == 0 ? 100 + th_below(&r, 300)
		                                        : th_below(&r, 40);
		uint32_t extra = 0;
		for (size_t e = 0; e < N_EDGE; e++)
			if (edge_in[(size_t)d * N_EDGE + e]) extra += 1 + (d % 3 == 0);
		g->w = malloc((len + extra + 1) * sizeof *g->w);
		cr_assert_not_null(g->w);
		for (uint32_t i = 0; i < len; i++) {
			double u = th_unit(&r) * sum;
			size_t lo = 0, hi = N_VOCAB - 1;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (cum[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			g->w[i] = (uint16_t)lo;
		}
		g->len = len;
		/* insert the edge words at random places (twice in every third doc) */
		for (size_t e = 0; e < N_EDGE; e++) {
			if (!edge_in[(size_t)d * N_EDGE + e]) continue;
			for (int rep = 0; rep < 1 + (d % 3 == 0); rep++) {
				uint32_t at = th_below(&r, g->len + 1);
				memmove(g->w + at + 1, g->w + at, (g->len - at) * sizeof *g->w);
				g->w[at] = (uint16_t)(N_VOCAB + e);
				g->len++;
			}
		}
		render(&r, c, g);
		snprintf(g->id, sizeof g->id, "doc-%05u", d);
		snprintf(g->title, sizeof g->title, "Title of document %u", d);
		snprintf(g->path, sizeof g->path, "dir%u/file%u.txt", d % 7, d);
		g->size = (uint64_t)g->text_len + (d % 5) * 1000000007ull;
		g->mtime = d % 11 == 0 ? -(int64_t)d * 86400 : 1600000000 + (int64_t)d;
		for (uint32_t i = 0; i < g->len; i++) plist_add(&c->pl[g->w[i]], d, i);
		c->total_tokens += g->len;
	}
	free(edge_in);
	free(perm);
	for (size_t w = 0; w < N_WORDS; w++) {
		plist *l = &c->pl[w];
		l->min_dl = UINT32_MAX;
		for (uint32_t i = 0; i < l->df; i++) {
			l->cf += l->p[i].tf;
			if (l->p[i].tf > l->max_tf) l->max_tf = l->p[i].tf;
			uint32_t dl = c->docs[l->p[i].doc].len;
			if (dl < l->min_dl) l->min_dl = dl;
		}
		c->n_postings += l->df;
		c->n_terms += l->df > 0;
	}
	for (size_t e = 0; e < N_EDGE; e++)
		cr_assert_eq(c->pl[N_VOCAB + e].df, edge_df[e]);
}

static void corpus_free(corpus *c)
{
	for (size_t w = 0; w < N_WORDS; w++) {
		for (uint32_t i = 0; i < c->pl[w].df; i++) free(c->pl[w].p[i].pos);
		free(c->pl[w].p);
		free(c->word[w]);
	}
	for (uint32_t d = 0; d < c->n; d++) {
		free(c->docs[d].w);
		free(c->docs[d].text);
	}
	free(c->docs);
}

static void corpus_index(const corpus *c, const char *dir)
{
	ns_writer *w;
	char *err = NULL;
	int rc = ns_writer_open(dir, NULL, &w, &err);
	cr_assert_eq(rc, NS_OK, "ns_writer_open: %s", err ? err : "?");
	for (uint32_t d = 0; d < c->n; d++) {
		const gdoc *g = &c->docs[d];
		ns_doc doc = {.id = g->id, .title = g->title, .path = g->path,
		              .text = g->text, .text_len = g->text_len,
		              .size = g->size, .mtime = g->mtime};
		rc = ns_writer_add(w, &doc);
		cr_assert_eq(rc, NS_OK, "add %u: %s", d, ns_writer_errmsg(w));
	}
	cr_assert_eq(ns_writer_commit(w), NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_stats ws;
	ns_writer_get_stats(w, &ws);
	cr_expect_eq(ws.n_docs, c->n);
	cr_expect_eq(ws.n_terms, c->n_terms);
	cr_expect_eq(ws.n_postings, c->n_postings);
	cr_expect_eq(ws.n_positions, c->total_tokens);
	ns_writer_close(w);
}

/* ------------------------------------------------------------------------ */
/* Postings                                                                 */
/* ------------------------------------------------------------------------ */

/* Walks the whole posting list of word w with next() and compares doc ids,
** tfs and positions with the expected list. */
static void check_term_postings(const corpus *c, const ns_seg *s, size_t w)
{
	const plist *l = &c->pl[w];
	const char *word = c->word[w];
	ns_terminfo ti;
	int rc = ns_seg_lookup(s, word, strlen(word), &ti);
	if (l->df == 0) {
		cr_assert_eq(rc, NS_DONE, "'%s' is absent but lookup gave %d", word, rc);
		return;
	}
	cr_assert_eq(rc, NS_OK, "lookup '%s': %d", word, rc);
	cr_assert_eq(ti.df, l->df, "'%s': df %u, expected %u", word, ti.df, l->df);
	cr_assert_eq(ti.cf, l->cf, "'%s': cf", word);
	cr_assert_eq(ti.max_tf, l->max_tf, "'%s': max_tf", word);
	cr_assert_eq(ti.min_dl, l->min_dl, "'%s': min_dl", word);
	ns_pcur cur;
	cr_assert_eq(ns_pcur_open(&cur, s, &ti), NS_OK, "'%s': pcur_open", word);
	uint32_t pos[1024];
	for (uint32_t i = 0; i < l->df; i++) {
		const posting *p = &l->p[i];
		cr_assert_eq(cur.doc, p->doc, "'%s' posting %u: doc %u, expected %u",
		             word, i, cur.doc, p->doc);
		uint32_t tf = ns_pcur_tf(&cur);
		cr_assert_eq(tf, p->tf, "'%s' doc %u: tf %u, expected %u", word,
		             p->doc, tf, p->tf);
		cr_assert_leq(tf, 1024);
		cr_assert_eq(ns_pcur_positions(&cur, pos), NS_OK);
		for (uint32_t k = 0; k < tf; k++)
			cr_assert_eq(pos[k], p->pos[k], "'%s' doc %u: position %u is %u, "
			             "expected %u", word, p->doc, k, pos[k], p->pos[k]);
		cr_assert_eq(ns_pcur_next(&cur), NS_OK);
	}
	cr_assert_eq(cur.doc, NS_DOC_END, "'%s': more postings than expected",
	             word);
	cr_assert_eq(ns_pcur_next(&cur), NS_OK, "next at the end");
	cr_assert_eq(cur.doc, NS_DOC_END);
	cr_assert_eq(cur.rc, NS_OK);
	ns_pcur_close(&cur);
}

Test(index, postings_of_every_term_round_trip, .timeout = 120)
{
	corpus c;
	corpus_make(&c, SEED);
	/* the generator must give lists of many blocks and the edge sizes */
	uint32_t max_df = 0;
	for (size_t w = 0; w < N_VOCAB; w++)
		if (c.pl[w].df > max_df) max_df = c.pl[w].df;
	cr_assert_gt(max_df, 4 * NS_BLOCK, "corpus needs multi-block lists");
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	cr_assert_eq(ix->n_segs, 1);
	for (size_t w = 0; w < N_WORDS; w++) check_term_postings(&c, &ix->segs[0], w);
	ns_index_close(ix);
	corpus_free(&c);
}

Test(index, absent_terms_are_not_found)
{
	corpus c;
	corpus_make(&c, SEED + 1);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	ns_terminfo ti;
	static const char *const absent[] = {"", "a", "zzzzzzzz", "\x01",
	                                     "\xff\xff", "running"};
	for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
		cr_expect_eq(ns_seg_lookup(s, absent[i], strlen(absent[i]), &ti),
		             NS_DONE, "'%s'", absent[i]);
	/* prefixes and extensions of real terms are other terms */
	for (size_t w = 0; w < N_WORDS; w += 7) {
		char buf[80];
		const char *word = c.word[w];
		size_t wl = strlen(word);
		snprintf(buf, sizeof buf, "%s", word);
		int rc = ns_seg_lookup(s, buf, wl - 1, &ti);
		int prefix_is_word = 0;
		for (size_t k = 0; k < N_WORDS; k++)
			if (strlen(c.word[k]) == wl - 1 && !memcmp(c.word[k], word, wl - 1) &&
			    c.pl[k].df)
				prefix_is_word = 1;
		cr_expect_eq(rc, prefix_is_word ? NS_OK : NS_DONE, "prefix of '%s'",
		             word);
		snprintf(buf, sizeof buf, "%sqq", word);
		cr_expect_eq(ns_seg_lookup(s, buf, strlen(buf), &ti), NS_DONE);
	}
	ns_index_close(ix);
	corpus_free(&c);
}

typedef struct term_walk {
	const corpus *c;
	char **seen;
	size_t n;
} term_walk;

static int on_term(void *ctx, const char *term, size_t len,
                   const ns_terminfo *ti)
{
	term_walk *t = ctx;
	t->seen = realloc(t->seen, (t->n + 1) * sizeof *t->seen);
	cr_assert_not_null(t->seen);
	t->seen[t->n] = strndup(term, len);
	cr_assert_eq(strlen(t->seen[t->n]), len, "term with a NUL byte");
	(void)ti;
	t->n++;
	return 0;
}

Test(index, dictionary_lists_every_term_once_in_order)
{
	corpus c;
	corpus_make(&c, SEED + 2);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	term_walk t = {&c, NULL, 0};
	cr_assert_eq(ns_seg_terms(&ix->segs[0], on_term, &t), NS_OK);
	cr_assert_eq(t.n, c.n_terms, "%zu terms listed, %u expected", t.n,
	             c.n_terms);
	for (size_t i = 1; i < t.n; i++)
		cr_assert_lt(strcmp(t.seen[i - 1], t.seen[i]), 0, "'%s' before '%s'",
		             t.seen[i - 1], t.seen[i]);
	for (size_t w = 0; w < N_WORDS; w++) {
		if (!c.pl[w].df) continue;
		const char *key = c.word[w];
		cr_assert_not_null(bsearch(&key, t.seen, t.n, sizeof *t.seen,
		                           th_cmp_str), "'%s' not listed", key);
	}
	for (size_t i = 0; i < t.n; i++) free(t.seen[i]);
	free(t.seen);
	ns_index_close(ix);
	corpus_free(&c);
}

/* First expected posting index with doc >= target, or df. */
static uint32_t expect_advance(const plist *l, uint32_t target)
{
	uint32_t i = 0;
	while (i < l->df && l->p[i].doc < target) i++;
	return i;
}

Test(index, advance_agrees_with_linear_scan, .timeout = 120)
{
	corpus c;
	corpus_make(&c, SEED);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	th_rng r = {42};
	uint32_t pos[1024];
	for (size_t w = 0; w < N_WORDS; w++) {
		const plist *l = &c.pl[w];
		if (!l->df) continue;
		for (int round = 0; round < 8; round++) {
			ns_terminfo ti;
			cr_assert_eq(ns_seg_lookup(s, c.word[w], strlen(c.word[w]), &ti),
			             NS_OK);
			ns_pcur cur;
			cr_assert_eq(ns_pcur_open(&cur, s, &ti), NS_OK);
			uint32_t target = 0;
			/* short hops, long hops, targets equal to the current document,
			** mixed with next() */
			for (;;) {
				uint32_t kind = th_below(&r, 6);
				uint32_t max_hop = round < 2 ? 4 : round < 5 ? 64 : N_DOCS / 4;
				if (kind == 0 && cur.doc != NS_DOC_END) {
					target = cur.doc; /* no move */
				} else if (kind == 1 && cur.doc != NS_DOC_END) {
					uint32_t before = cur.doc;
					cr_assert_eq(ns_pcur_next(&cur), NS_OK);
					uint32_t i = expect_advance(l, before + 1);
					cr_assert_eq(cur.doc, i < l->df ? l->p[i].doc : NS_DOC_END);
					if (cur.doc == NS_DOC_END) break;
					target = cur.doc;
					continue;
				} else {
					target += 1 + th_below(&r, max_hop);
				}
				if (target > N_DOCS + 5) target = N_DOCS + 5;
				cr_assert_eq(ns_pcur_advance(&cur, target), NS_OK);
				uint32_t i = expect_advance(l, target);
				if (i == l->df) {
					cr_assert_eq(cur.doc, NS_DOC_END,
					             "'%s' advance(%u): doc %u, expected END",
					             c.word[w], target, cur.doc);
					break;
				}
				cr_assert_eq(cur.doc, l->p[i].doc,
				             "'%s' advance(%u): doc %u, expected %u", c.word[w],
				             target, cur.doc, l->p[i].doc);
				uint32_t tf = ns_pcur_tf(&cur);
				cr_assert_eq(tf, l->p[i].tf);
				if (th_below(&r, 3) == 0) {
					cr_assert_eq(ns_pcur_positions(&cur, pos), NS_OK);
					for (uint32_t k = 0; k < tf; k++)
						cr_assert_eq(pos[k], l->p[i].pos[k]);
				}
				target = cur.doc;
			}
			/* further advances stay at the end */
			cr_assert_eq(ns_pcur_advance(&cur, N_DOCS + 100), NS_OK);
			cr_assert_eq(cur.doc, NS_DOC_END);
			ns_pcur_close(&cur);
		}
		/* advancing straight to each document of the list finds it */
		ns_terminfo ti;
		cr_assert_eq(ns_seg_lookup(s, c.word[w], strlen(c.word[w]), &ti), NS_OK);
		ns_pcur cur;
		cr_assert_eq(ns_pcur_open(&cur, s, &ti), NS_OK);
		for (uint32_t i = 0; i < l->df; i += 1 + th_below(&r, 3)) {
			cr_assert_eq(ns_pcur_advance(&cur, l->p[i].doc), NS_OK);
			cr_assert_eq(cur.doc, l->p[i].doc);
		}
		ns_pcur_close(&cur);
	}
	ns_index_close(ix);
	corpus_free(&c);
}

/* Opens a cursor on word w, advances it to target and checks that it lands
** on posting `want` (df: the end). */
static void advance_once(const corpus *c, const ns_seg *s, size_t w,
                         ns_pcur *cur, int fresh, uint32_t target,
                         uint32_t want)
{
	const plist *l = &c->pl[w];
	if (fresh) {
		ns_terminfo ti;
		cr_assert_eq(ns_seg_lookup(s, c->word[w], strlen(c->word[w]), &ti),
		             NS_OK);
		cr_assert_eq(ns_pcur_open(cur, s, &ti), NS_OK);
	}
	cr_assert_eq(ns_pcur_advance(cur, target), NS_OK);
	uint32_t doc = want < l->df ? l->p[want].doc : NS_DOC_END;
	cr_assert_eq(cur->doc, doc, "'%s' (df %u) advance(%u): doc %u, expected "
	             "%u (posting %u)", c->word[w], l->df, target, cur->doc, doc,
	             want);
	if (want < l->df) cr_assert_eq(ns_pcur_tf(cur), l->p[want].tf);
}

Test(index, advance_lands_exactly_on_block_boundaries, .timeout = 120)
{
	corpus c;
	corpus_make(&c, SEED);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	size_t multi = 0;
	for (size_t w = 0; w < N_WORDS; w++) {
		const plist *l = &c.pl[w];
		if (l->df < NS_BLOCK) continue;
		multi++;
		uint32_t nb = (l->df + NS_BLOCK - 1) / NS_BLOCK;
		ns_pcur cur;
		for (uint32_t b = 0; b < nb; b++) {
			uint32_t first = b * NS_BLOCK;
			uint32_t last = b + 1 < nb ? first + NS_BLOCK - 1 : l->df - 1;
			/* from a fresh cursor: the first and the last document of the
			** block, and one past the last (the next block's first) */
			advance_once(&c, s, w, &cur, 1, l->p[first].doc, first);
			ns_pcur_close(&cur);
			advance_once(&c, s, w, &cur, 1, l->p[last].doc, last);
			ns_pcur_close(&cur);
			advance_once(&c, s, w, &cur, 1, l->p[last].doc + 1, last + 1);
			ns_pcur_close(&cur);
			if (first)
				advance_once(&c, s, w, &cur, 1, l->p[first - 1].doc + 1, first);
			else
				advance_once(&c, s, w, &cur, 1, 0, 0);
			ns_pcur_close(&cur);
		}
		/* one cursor over the last documents of every other block, then of
		** every block from the second: skips whole blocks each time */
		for (uint32_t stride = 1; stride <= 3; stride++) {
			int fresh = 1;
			for (uint32_t b = stride - 1; b < nb; b += stride) {
				uint32_t last = b + 1 < nb ? b * NS_BLOCK + NS_BLOCK - 1 : l->df - 1;
				advance_once(&c, s, w, &cur, fresh, l->p[last].doc, last);
				fresh = 0;
			}
			advance_once(&c, s, w, &cur, 0, l->p[l->df - 1].doc + 1, l->df);
			ns_pcur_close(&cur);
		}
	}
	cr_assert_gt(multi, 20, "the corpus needs many multi-block lists");
	ns_index_close(ix);
	corpus_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Document table and store                                                 */
/* ------------------------------------------------------------------------ */

Test(index, document_table_round_trips)
{
	corpus c;
	corpus_make(&c, SEED + 3);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	cr_assert_eq(s->n_docs, c.n);
	for (uint32_t d = 0; d < c.n; d++) {
		const gdoc *g = &c.docs[d];
		ns_docrec r;
		cr_assert_eq(ns_seg_doc(s, d, &r), NS_OK, "doc %u", d);
		cr_assert_eq(r.id_len, strlen(g->id));
		cr_assert_eq(memcmp(r.id, g->id, r.id_len), 0, "doc %u id", d);
		cr_assert_eq(r.title_len, strlen(g->title));
		cr_assert_eq(memcmp(r.title, g->title, r.title_len), 0);
		cr_assert_eq(r.path_len, strlen(g->path));
		cr_assert_eq(memcmp(r.path, g->path, r.path_len), 0);
		cr_assert_eq(r.size, g->size, "doc %u size", d);
		cr_assert_eq(r.mtime, g->mtime, "doc %u mtime %" PRId64 " != %" PRId64,
		             d, r.mtime, g->mtime);
		cr_assert_eq(r.text_len, g->text_len);
		cr_assert_eq(s->lens[d], g->len, "doc %u length", d);
	}
	ns_docrec r;
	cr_assert_eq(ns_seg_doc(s, c.n, &r), NS_EINVAL, "doc past the end");
	ns_index_close(ix);
	corpus_free(&c);
}

Test(index, stored_text_round_trips_byte_exact)
{
	/* many small documents, then a 1 MB one, an empty one, one with a NUL
	** byte and invalid UTF-8, and more small ones: the store spans many
	** blocks and a document larger than a block */
	enum { N = 400 };
	char **texts = calloc(N, sizeof *texts);
	size_t *lens = calloc(N, sizeof *lens);
	cr_assert(texts && lens);
	th_rng r = {7};
	for (size_t i = 0; i < N; i++) {
		size_t len = i == 150 ? (size_t)1 << 20
		             : i == 151 || i == 0 ? 0
		             : i == N - 1 ? 0
		                          : th_below(&r, 3000);
		char *t = malloc(len + 1);
		cr_assert_not_null(t);
		for (size_t k = 0; k < len; k++) {
			uint32_t v = th_below(&r, 40);
			t[k] = v < 26 ? (char)('a' + v) : v < 30 ? ' ' : v == 30 ? '\n'
			       : (char)(0x80 + th_below(&r, 0x80)); /* bytes >= 0x80 */
		}
		if (i == 152) {
			static const char odd[] = "nul\0byte \xc3\xa9t\xc3\xa9 \xff\xfe bad";
			len = sizeof odd - 1;
			memcpy(t, odd, len);
		}
		t[len] = 0;
		texts[i] = t;
		lens[i] = len;
	}
	ns_writer *w;
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w, NULL), NS_OK);
	for (size_t i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof id, "s%zu", i);
		ns_doc d = {.id = id, .text = texts[i], .text_len = lens[i]};
		cr_assert_eq(ns_writer_add(w, &d), NS_OK, "%s", ns_writer_errmsg(w));
	}
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	cr_assert_gt(s->n_sblocks, 3, "the store should span several blocks");
	ns_buf b;
	ns_buf_init(&b);
	for (size_t i = 0; i < N; i++) {
		b.len = 0;
		cr_assert_eq(ns_seg_text(s, (uint32_t)i, &b), NS_OK, "text %zu", i);
		cr_assert_eq(b.len, lens[i], "doc %zu: %zu bytes, expected %zu", i,
		             b.len, lens[i]);
		cr_assert(lens[i] == 0 || !memcmp(b.p, texts[i], lens[i]),
		          "doc %zu text differs", i);
		ns_docrec dr;
		cr_assert_eq(ns_seg_doc(s, (uint32_t)i, &dr), NS_OK);
		cr_assert_eq(dr.title_len, 0, "NULL title reads back empty");
		cr_assert_eq(dr.path_len, 0, "NULL path reads back empty");
	}
	/* ns_seg_text appends */
	b.len = 0;
	ns_buf_append(&b, "xy", 2);
	cr_assert_eq(ns_seg_text(s, 152, &b), NS_OK);
	cr_assert_eq(b.len, 2 + lens[152]);
	cr_assert_eq(memcmp(b.p, "xy", 2), 0);
	cr_assert_eq(memcmp(b.p + 2, texts[152], lens[152]), 0);
	ns_buf_free(&b);
	ns_index_close(ix);
	for (size_t i = 0; i < N; i++) free(texts[i]);
	free(texts);
	free(lens);
}

/* ------------------------------------------------------------------------ */
/* Writer life cycle                                                        */
/* ------------------------------------------------------------------------ */

static const char *const small_texts[] = {
    "the quick brown fox", "jumps over the lazy dog", "a fox and a dog",
};

Test(index, duplicate_id_is_rejected_and_the_rest_indexed)
{
	ns_writer *w;
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w, NULL), NS_OK);
	ns_doc a = {.id = "one", .title = "first", .text = "alpha beta",
	            .text_len = 10};
	ns_doc b = {.id = "two", .text = "gamma", .text_len = 5};
	ns_doc dup = {.id = "one", .title = "impostor", .text = "delta",
	              .text_len = 5};
	ns_doc c = {.id = "three", .text = "epsilon", .text_len = 7};
	cr_assert_eq(ns_writer_add(w, &a), NS_OK);
	cr_assert_eq(ns_writer_add(w, &b), NS_OK);
	cr_assert_eq(ns_writer_add(w, &dup), NS_EINVAL);
	cr_assert_not_null(strstr(ns_writer_errmsg(w), "one"),
	                   "message names the id: %s", ns_writer_errmsg(w));
	cr_assert_eq(ns_writer_add(w, &c), NS_OK, "the writer keeps working");
	ns_doc noid = {.id = NULL, .text = "x", .text_len = 1};
	ns_doc emptyid = {.id = "", .text = "x", .text_len = 1};
	cr_assert_eq(ns_writer_add(w, &noid), NS_EINVAL);
	cr_assert_eq(ns_writer_add(w, &emptyid), NS_EINVAL);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_stats ws;
	ns_writer_get_stats(w, &ws);
	cr_assert_eq(ws.n_docs, 3);
	cr_assert_eq(ns_writer_add(w, &c), NS_EINVAL, "add after commit");
	ns_writer_close(w);

	ns_index *ix = th_open_index(g_dir);
	const ns_seg *s = &ix->segs[0];
	cr_assert_eq(s->n_docs, 3);
	static const char *const ids[] = {"one", "two", "three"};
	for (uint32_t d = 0; d < 3; d++) {
		ns_docrec r;
		cr_assert_eq(ns_seg_doc(s, d, &r), NS_OK);
		cr_assert_eq(r.id_len, strlen(ids[d]));
		cr_assert_eq(memcmp(r.id, ids[d], r.id_len), 0);
	}
	ns_docrec r;
	cr_assert_eq(ns_seg_doc(s, 0, &r), NS_OK);
	cr_assert_eq(r.title_len, 5, "the first 'one' is kept");
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(s, "delta", 5, &ti), NS_DONE,
	             "the duplicate's text is not indexed");
	cr_assert_eq(ns_seg_lookup(s, "epsilon", 7, &ti), NS_OK);
	ns_pcur cur;
	cr_assert_eq(ns_pcur_open(&cur, s, &ti), NS_OK);
	cr_assert_eq(cur.doc, 2);
	ns_pcur_close(&cur);
	ns_index_close(ix);
}

Test(index, uncommitted_writer_leaves_previous_index_intact)
{
	th_build_index(g_dir, small_texts, 3, NULL);
	char *before = th_list_dir(g_dir);
	char *man = th_path(g_dir, "manifest");
	size_t mlen0, mlen1;
	char *m0 = th_read_file(man, &mlen0);
	cr_assert_not_null(m0);

	ns_writer *w;
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w, NULL), NS_OK);
	for (int i = 0; i < 50; i++) {
		char id[16];
		snprintf(id, sizeof id, "new%d", i);
		ns_doc d = {.id = id, .text = "completely different words",
		            .text_len = 26};
		cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	}
	ns_writer_close(w); /* no commit */

	char *after = th_list_dir(g_dir);
	cr_assert_str_eq(after, before, "stray files after an abandoned build");
	char *m1 = th_read_file(man, &mlen1);
	cr_assert_eq(mlen1, mlen0);
	cr_assert_eq(memcmp(m0, m1, mlen0), 0, "manifest changed");
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 3);
	cr_assert_eq(st.generation, 1);
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "fox", 3, &ti), NS_OK);
	cr_assert_eq(ti.df, 2);
	ns_index_close(ix);
	cr_assert_eq(ns_index_check(g_dir, NULL, NULL), NS_OK);

	/* an abandoned build on an empty directory publishes nothing */
	char sub[128];
	snprintf(sub, sizeof sub, "%s/fresh", g_dir);
	cr_assert_eq(ns_writer_open(sub, NULL, &w, NULL), NS_OK);
	ns_doc d = {.id = "x", .text = "word", .text_len = 4};
	cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	ns_writer_close(w);
	char *fresh = th_list_dir(sub);
	cr_assert_str_eq(fresh, "lock\n", "only the lock file may remain, got:\n%s",
	                 fresh);
	ns_index *none = NULL;
	cr_assert_eq(ns_index_open(sub, &none, NULL), NS_ENOTFOUND);
	cr_assert_null(none);
	free(fresh);
	free(before);
	free(after);
	free(m0);
	free(m1);
	free(man);
}

Test(index, second_writer_is_locked_out)
{
	ns_writer *w1, *w2 = (ns_writer *)1;
	char *err = NULL;
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w1, NULL), NS_OK);
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w2, &err), NS_ELOCKED);
	cr_assert_null(w2);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "lock"), "message: %s", err);
	ns_free(err);
	ns_doc d = {.id = "a", .text = "first writer", .text_len = 12};
	cr_assert_eq(ns_writer_add(w1, &d), NS_OK);
	cr_assert_eq(ns_writer_commit(w1), NS_OK);
	/* still locked after the commit, until the writer is closed */
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w2, NULL), NS_ELOCKED);
	ns_writer_close(w1);
	cr_assert_eq(ns_writer_open(g_dir, NULL, &w2, NULL), NS_OK);
	ns_writer_close(w2);
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 1, "the abandoned second writer changed nothing");
	ns_index_close(ix);
}

Test(index, commit_replaces_the_previous_generation)
{
	th_build_index(g_dir, small_texts, 3, NULL);
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.generation, 1);
	cr_assert_eq(st.n_docs, 3);
	ns_index_close(ix);
	char *l1 = th_list_dir(g_dir);
	cr_assert_str_eq(l1, "lock\nmanifest\nseg_000001.dict\nseg_000001.docs\n"
	                     "seg_000001.pos\nseg_000001.post\nseg_000001.store\n");

	static const char *const next[] = {"zebra", "yak", "xerus", "walrus"};
	th_build_index(g_dir, next, 4, NULL);
	ix = th_open_index(g_dir);
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.generation, 2);
	cr_assert_eq(st.n_docs, 4);
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "fox", 3, &ti), NS_DONE,
	             "old terms are gone");
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "yak", 3, &ti), NS_OK);
	ns_index_close(ix);
	char *l2 = th_list_dir(g_dir);
	cr_assert_str_eq(l2, "lock\nmanifest\nseg_000002.dict\nseg_000002.docs\n"
	                     "seg_000002.pos\nseg_000002.post\nseg_000002.store\n",
	                 "old segment files must be removed:\n%s", l2);

	/* an index opened before a commit keeps working on its generation */
	ix = th_open_index(g_dir);
	static const char *const third[] = {"quokka"};
	th_build_index(g_dir, third, 1, NULL);
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "walrus", 6, &ti), NS_OK);
	ns_buf b;
	ns_buf_init(&b);
	cr_assert_eq(ns_seg_text(&ix->segs[0], 3, &b), NS_OK);
	cr_assert_eq(b.len, 6);
	cr_assert_eq(memcmp(b.p, "walrus", 6), 0);
	ns_buf_free(&b);
	ns_index_close(ix);
	ix = th_open_index(g_dir);
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.generation, 3);
	cr_assert_eq(st.n_docs, 1);
	ns_index_close(ix);
	free(l1);
	free(l2);
}

Test(index, leftovers_of_a_crashed_build_are_removed)
{
	th_build_index(g_dir, small_texts, 3, NULL);
	char *junk = th_path(g_dir, "seg_000007.post");
	char *tmp = th_path(g_dir, "manifest.tmp");
	th_write_str(junk, "garbage");
	th_write_str(tmp, "garbage");
	th_build_index(g_dir, small_texts, 2, NULL);
	cr_assert(!th_exists(junk), "orphan segment file left behind");
	cr_assert(!th_exists(tmp), "stale manifest.tmp left behind");
	cr_assert_eq(ns_index_check(g_dir, NULL, NULL), NS_OK);
	free(junk);
	free(tmp);
}

Test(index, unknown_language_is_rejected)
{
	static const char *const bad[] = {"klingon", "", "en", "english ",
	                                  "ENGLISHX"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ns_writer_options o = {.lang = bad[i]};
		ns_writer *w = (ns_writer *)1;
		char *err = NULL;
		cr_assert_eq(ns_writer_open(g_dir, &o, &w, &err), NS_EINVAL,
		             "lang '%s'", bad[i]);
		cr_assert_null(w);
		cr_assert_not_null(err);
		cr_assert_not_null(strstr(err, "language"), "message: %s", err);
		ns_free(err);
	}
	/* nothing was created */
	char *l = th_list_dir(g_dir);
	cr_assert_str_eq(l, "");
	free(l);
	/* names are case-insensitive and stored canonically */
	ns_writer_options o = {.lang = "English"};
	ns_writer *w;
	cr_assert_eq(ns_writer_open(g_dir, &o, &w, NULL), NS_OK);
	ns_doc d = {.id = "a", .text = "running", .text_len = 7};
	cr_assert_eq(ns_writer_add(w, &d), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_str_eq(st.lang, "english");
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "run", 3, &ti), NS_OK,
	             "the English stemmer was used");
	ns_index_close(ix);
}

Test(index, language_none_keeps_words_unstemmed)
{
	static const char *const t[] = {"running runs Running"};
	th_build_index(g_dir, t, 1, "none");
	ns_index *ix = th_open_index(g_dir);
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "running", 7, &ti), NS_OK);
	cr_assert_eq(ti.cf, 2);
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "runs", 4, &ti), NS_OK);
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "run", 3, &ti), NS_DONE);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_str_eq(st.lang, "none");
	ns_index_close(ix);
}

Test(index, open_without_an_index_is_not_found)
{
	ns_index *ix = (ns_index *)1;
	char *err = NULL;
	cr_assert_eq(ns_index_open(g_dir, &ix, &err), NS_ENOTFOUND);
	cr_assert_null(ix);
	cr_assert_not_null(err);
	cr_assert_gt(strlen(err), 0);
	cr_assert_not_null(strstr(err, g_dir), "message names the directory: %s",
	                   err);
	ns_free(err);
	char *missing = th_path(g_dir, "does/not/exist");
	err = NULL;
	cr_assert_eq(ns_index_open(missing, &ix, &err), NS_ENOTFOUND);
	cr_assert_not_null(err);
	ns_free(err);
	free(missing);
	/* NULL errmsg is allowed */
	cr_assert_eq(ns_index_open(g_dir, &ix, NULL), NS_ENOTFOUND);
	cr_assert_eq(ns_index_check(g_dir, NULL, NULL), NS_ENOTFOUND);
	ns_index_close(NULL);
	ns_writer_close(NULL);
}

Test(index, stats_match_the_corpus)
{
	corpus c;
	corpus_make(&c, SEED + 4);
	corpus_index(&c, g_dir);
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, c.n);
	cr_assert_eq(st.n_terms, c.n_terms);
	cr_assert_eq(st.n_postings, c.n_postings);
	cr_assert_eq(st.n_positions, c.total_tokens);
	cr_assert_eq(st.total_tokens, c.total_tokens);
	double avgdl = (double)c.total_tokens / c.n;
	cr_assert_float_eq(st.avgdl, avgdl, 1e-9 * avgdl);
	cr_assert_eq(st.n_segments, 1);
	cr_assert_eq(st.generation, 1);
	cr_assert_str_eq(st.lang, "english");
	static const char *const ext[] = {"dict", "post", "pos", "docs", "store"};
	uint64_t sizes[5], total = 0;
	for (int k = 0; k < 5; k++) {
		char name[64];
		snprintf(name, sizeof name, "seg_000001.%s", ext[k]);
		char *p = th_path(g_dir, name);
		sizes[k] = th_file_size(p);
		total += sizes[k];
		free(p);
	}
	cr_assert_eq(st.bytes_dict, sizes[0]);
	cr_assert_eq(st.bytes_postings, sizes[1]);
	cr_assert_eq(st.bytes_positions, sizes[2]);
	cr_assert_eq(st.bytes_docs, sizes[3]);
	cr_assert_eq(st.bytes_store, sizes[4]);
	cr_assert_eq(st.bytes_total, total);
	ns_index_close(ix);
	corpus_free(&c);
}

Test(index, empty_index_opens_and_has_no_terms)
{
	th_build_index(g_dir, NULL, 0, NULL);
	ns_index *ix = th_open_index(g_dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	cr_assert_eq(st.n_docs, 0);
	cr_assert_eq(st.n_terms, 0);
	cr_assert_eq(st.n_postings, 0);
	ns_terminfo ti;
	cr_assert_eq(ns_seg_lookup(&ix->segs[0], "word", 4, &ti), NS_DONE);
	ns_results *r = NULL;
	cr_assert_eq(ns_search(ix, "word", NULL, &r, NULL), NS_OK);
	cr_assert_eq(ns_results_count(r), 0);
	cr_assert_eq(ns_results_total(r), 0);
	ns_results_free(r);
	ns_index_close(ix);
	cr_assert_eq(ns_index_check(g_dir, NULL, NULL), NS_OK);
}

static void count_report(void *ctx, const char *line)
{
	(void)line;
	++*(int *)ctx;
}

Test(index, check_passes_on_a_fresh_index, .timeout = 120)
{
	corpus c;
	corpus_make(&c, SEED + 5);
	corpus_index(&c, g_dir);
	int lines = 0;
	cr_assert_eq(ns_index_check(g_dir, count_report, &lines), NS_OK);
	cr_assert_eq(lines, 0, "a sound index reports no problems");
	corpus_free(&c);
}
