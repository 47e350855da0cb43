/*
** query.c -- query parser; the grammar is in query.h.
*/
#include <stdio.h>

#include "file.h"
#include "query.h"

#define MAX_DEPTH 64
#define MAX_CLAUSES 1024

enum { T_EOF, T_WORD, T_PHRASE, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT,
       T_PLUS, T_MINUS };

typedef struct parser {
	const char *q;
	size_t pos;          /* scan position */
	int tok;             /* current token */
	size_t tstart, tlen; /* its text (WORD: the word; PHRASE: inside quotes) */
	ns_stemmer *st;
	char *err;
	int depth;
	size_t n_clauses;
	size_t max_terms; /* per analysed text; 0 means 64 */
	int stopwords;    /* drop stopwords where they are single terms */
	int drop_all;     /* plain mode: drop every stopword token */
	size_t n_dropped; /* tokens analyse() dropped */
	uint64_t stop_mask; /* analyse(): bit i set when term i (< 64) is a
	                       stopword; used to split bare words */
} parser;

/* Lucene's classic English stopword set (StopAnalyzer.ENGLISH_STOP_WORDS_SET,
** EnglishAnalyzer's default): 33 words, sorted. */
static const char *const stopword_list[] = {
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if",
	"in", "into", "is", "it", "no", "not", "of", "on", "or", "such", "that",
	"the", "their", "then", "there", "these", "they", "this", "to", "was",
	"will", "with"};

int ns_is_stopword(const char *w, size_t len)
{
	if (len > 5) return 0;
	for (size_t i = 0; i < sizeof stopword_list / sizeof *stopword_list; i++)
		if (strlen(stopword_list[i]) == len && !memcmp(stopword_list[i], w, len))
			return 1;
	return 0;
}

static int perr(parser *p, const char *msg)
{
	if (!p->err)
		p->err = ns_fmt("%s at offset %zu", msg, p->tstart);
	return NS_ESYNTAX;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int is_break(char c)
{
	return !c || is_space(c) || c == '(' || c == ')' || c == '"';
}

/* Scans the next token into p->tok. */
static int lex(parser *p)
{
	const char *q = p->q;
	while (is_space(q[p->pos])) p->pos++;
	p->tstart = p->pos;
	char c = q[p->pos];
	if (!c) {
		p->tok = T_EOF;
		return NS_OK;
	}
	if (c == '(' || c == ')') {
		p->tok = c == '(' ? T_LPAREN : T_RPAREN;
		p->pos++;
		return NS_OK;
	}
	if (c == '"') {
		const char *e = strchr(q + p->pos + 1, '"');
		if (!e) return perr(p, "unterminated quote");
		p->tok = T_PHRASE;
		p->tstart = p->pos + 1;
		p->tlen = (size_t)(e - q) - p->tstart;
		p->pos = (size_t)(e - q) + 1;
		return NS_OK;
	}
	if ((c == '+' || c == '-') && !is_space(q[p->pos + 1]) && q[p->pos + 1] &&
	    q[p->pos + 1] != ')') {
		p->tok = c == '+' ? T_PLUS : T_MINUS;
		p->pos++;
		return NS_OK;
	}
	size_t s = p->pos;
	while (!is_break(q[p->pos])) p->pos++;
	p->tlen = p->pos - s;
	p->tok = T_WORD;
	if (p->tlen == 3 && !memcmp(q + s, "AND", 3)) p->tok = T_AND;
	if (p->tlen == 2 && !memcmp(q + s, "OR", 2)) p->tok = T_OR;
	if (p->tlen == 3 && !memcmp(q + s, "NOT", 3)) p->tok = T_NOT;
	if (p->tlen == 2 && !memcmp(q + s, "&&", 2)) p->tok = T_AND;
	if (p->tlen == 2 && !memcmp(q + s, "||", 2)) p->tok = T_OR;
	return NS_OK;
}

void ns_query_free(ns_qnode *n)
{
	if (!n) return;
	for (size_t i = 0; i < n->n_terms; i++) ns_free(n->terms[i]);
	ns_free(n->terms);
	for (size_t i = 0; i < n->n_kids; i++) ns_query_free(n->kids[i]);
	ns_free(n->kids);
	ns_free(n);
}

static ns_qnode *node_new(int kind)
{
	ns_qnode *n = ns_calloc(1, sizeof *n);
	if (n) {
		n->kind = kind;
		n->boost = 1.0;
	}
	return n;
}

static int add_kid(ns_qnode *b, ns_qnode *k)
{
	ns_qnode **kids = ns_realloc(b->kids, (b->n_kids + 1) * sizeof *kids);
	if (!kids) {
		ns_query_free(k);
		return NS_ENOMEM;
	}
	b->kids = kids;
	b->kids[b->n_kids++] = k;
	return NS_OK;
}

/* Moves term i of n into a new TERM clause appended to b (which frees the
** clause, term included, if it cannot take it). */
static int add_term_kid(ns_qnode *b, ns_qnode *n, size_t i)
{
	ns_qnode *t = node_new(NS_Q_TERM);
	char **terms = t ? ns_malloc(sizeof *terms) : NULL;
	if (!terms) {
		ns_free(t);
		return NS_ENOMEM;
	}
	t->terms = terms;
	t->terms[0] = n->terms[i];
	n->terms[i] = NULL;
	t->n_terms = 1;
	return add_kid(b, t);
}

/* Analyses text into a node: NULL (no tokens, *out NULL), a TERM, or a
** PHRASE of several terms. */
static int analyse(parser *p, const char *text, size_t len, ns_qnode **out)
{
	*out = NULL;
	ns_tokenizer tz;
	ns_token tok;
	ns_qnode *n = NULL;
	p->stop_mask = 0;
	p->n_dropped = 0;
	ns_tok_init(&tz, text, len);
	while (ns_tok_next(&tz, &tok)) {
		int stop = p->stopwords && ns_is_stopword(tok.text, tok.len);
		if (stop && p->drop_all) {
			p->n_dropped++;
			continue;
		}
		if (!n && !(n = node_new(NS_Q_TERM))) return NS_ENOMEM;
		if (n->n_terms >= (p->max_terms ? p->max_terms : 64))
			break; /* phrases longer than this are cut */
		if (stop && n->n_terms < 64) p->stop_mask |= 1ull << n->n_terms;
		size_t sl;
		const char *s = ns_stem(p->st, tok.text, tok.len, &sl);
		char **t = ns_realloc(n->terms, (n->n_terms + 1) * sizeof *t);
		char *c = ns_strndup(s, sl);
		if (t) n->terms = t;
		if (!t || !c) {
			ns_free(c);
			ns_query_free(n);
			return NS_ENOMEM;
		}
		n->terms[n->n_terms++] = c;
	}
	if (n && n->n_terms > 1) n->kind = NS_Q_PHRASE;
	*out = n;
	return NS_OK;
}

static int parse_expr(parser *p, ns_qnode **out);

static int parse_primary(parser *p, ns_qnode **out)
{
	*out = NULL;
	switch (p->tok) {
	case T_WORD:
	case T_PHRASE: {
		NS_TRY(analyse(p, p->q + p->tstart, p->tlen, out));
		if (p->tok == T_WORD && *out && (*out)->n_terms == 1 &&
		    (p->stop_mask & 1)) {
			ns_query_free(*out); /* a lone stopword */
			*out = NULL;
		}
		return lex(p);
	}
	case T_LPAREN: {
		if (++p->depth > MAX_DEPTH) return perr(p, "parentheses nested too deeply");
		size_t open = p->tstart;
		NS_TRY(lex(p));
		if (p->tok == T_RPAREN) return perr(p, "empty parentheses");
		NS_TRY(parse_expr(p, out));
		if (p->tok != T_RPAREN) {
			p->tstart = open;
			return perr(p, "unbalanced parenthesis: '(' not closed");
		}
		p->depth--;
		return lex(p);
	}
	case T_RPAREN: return perr(p, "unbalanced parenthesis: unexpected ')'");
	case T_EOF: return perr(p, "query ends where a word was expected");
	default: return perr(p, "operator where a word was expected");
	}
}

static int parse_unary(parser *p, ns_qnode **out)
{
	*out = NULL;
	int occ = NS_OCC_SHOULD;
	if (p->tok == T_NOT) {
		if (++p->depth > MAX_DEPTH) return perr(p, "query nested too deeply");
		NS_TRY(lex(p));
		int rc = parse_unary(p, out);
		p->depth--;
		if (*out) (*out)->occur = NS_OCC_NOT;
		return rc;
	}
	if (p->tok == T_PLUS || p->tok == T_MINUS) {
		occ = p->tok == T_PLUS ? NS_OCC_MUST : NS_OCC_NOT;
		NS_TRY(lex(p));
		if (p->tok != T_WORD && p->tok != T_PHRASE && p->tok != T_LPAREN)
			return perr(p, "'+' or '-' must be followed by a word");
	}
	NS_TRY(parse_primary(p, out));
	ns_qnode *n = *out;
	if (!n) return NS_OK;
	if (++p->n_clauses > MAX_CLAUSES) return perr(p, "query has too many words");
	n->occur = occ;
	return NS_OK;
}

static int parse_and(parser *p, ns_qnode **out)
{
	*out = NULL;
	ns_qnode *first;
	int rc = parse_unary(p, &first);
	if (rc) {
		ns_query_free(first); /* a partial tree on error is ours to free */
		return rc;
	}
	if (p->tok != T_AND) {
		*out = first;
		return NS_OK;
	}
	ns_qnode *b = node_new(NS_Q_BOOL);
	if (!b) {
		ns_query_free(first);
		return NS_ENOMEM;
	}
	*out = b;
	if (first) {
		if (first->occur == NS_OCC_SHOULD) first->occur = NS_OCC_MUST;
		NS_TRY(add_kid(b, first));
	}
	while (p->tok == T_AND) {
		NS_TRY(lex(p));
		if (p->tok == T_EOF || p->tok == T_RPAREN || p->tok == T_AND ||
		    p->tok == T_OR)
			return perr(p, "AND needs a word on its right");
		ns_qnode *k;
		if ((rc = parse_unary(p, &k))) {
			ns_query_free(k);
			return rc;
		}
		if (!k) continue;
		if (k->occur == NS_OCC_SHOULD) k->occur = NS_OCC_MUST;
		NS_TRY(add_kid(b, k));
	}
	if (b->n_kids == 0) {
		ns_query_free(b);
		*out = NULL;
	} else if (b->n_kids == 1 && b->kids[0]->occur == NS_OCC_MUST) {
		*out = b->kids[0];
		(*out)->occur = NS_OCC_SHOULD;
		b->n_kids = 0;
		ns_query_free(b);
	}
	return NS_OK;
}

/* Splits a bare multi-token word (a PHRASE with occur SHOULD that did not
** come from quotes) into OR-ed terms. */
static int is_split_candidate(const ns_qnode *n, int quoted)
{
	return n->kind == NS_Q_PHRASE && n->occur == NS_OCC_SHOULD && !quoted;
}

static int parse_expr(parser *p, ns_qnode **out)
{
	*out = NULL;
	ns_qnode *b = node_new(NS_Q_BOOL);
	if (!b) return NS_ENOMEM;
	*out = b;
	for (;;) {
		if (p->tok == T_OR) {
			NS_TRY(lex(p));
			if (p->tok == T_EOF || p->tok == T_RPAREN || p->tok == T_OR ||
			    p->tok == T_AND)
				return perr(p, "OR needs a word on its right");
			continue;
		}
		if (p->tok == T_EOF || p->tok == T_RPAREN) break;
		if (p->tok == T_AND) return perr(p, "AND needs a word on its left");
		int quoted = p->tok == T_PHRASE ||
		             ((p->tok == T_PLUS || p->tok == T_MINUS) &&
		              p->q[p->pos] == '"');
		ns_qnode *k;
		int prc = parse_and(p, &k);
		if (prc) {
			ns_query_free(k); /* not attached to b yet */
			return prc;
		}
		if (!k) continue;
		if (is_split_candidate(k, quoted)) {
			/* "wi-fi" in an OR context: wi OR fi (stopwords dropped:
			** k is the last text analysed, so stop_mask is its) */
			for (size_t i = 0; i < k->n_terms; i++) {
				if (i < 64 && (p->stop_mask >> i & 1)) continue;
				int rc = add_term_kid(b, k, i);
				if (rc) {
					ns_query_free(k);
					return rc;
				}
			}
			ns_query_free(k);
			continue;
		}
		if (k->kind == NS_Q_BOOL && k->occur == NS_OCC_SHOULD) {
			/* (a b) inside an OR list: flatten if it has only SHOULDs */
			int only_should = 1;
			for (size_t i = 0; i < k->n_kids; i++)
				if (k->kids[i]->occur != NS_OCC_SHOULD) only_should = 0;
			if (only_should) {
				for (size_t i = 0; i < k->n_kids; i++) {
					int rc = add_kid(b, k->kids[i]);
					k->kids[i] = NULL;
					if (rc) {
						ns_query_free(k);
						return rc;
					}
				}
				ns_query_free(k);
				continue;
			}
		}
		NS_TRY(add_kid(b, k));
	}
	if (b->n_kids == 1 && b->kids[0]->occur == NS_OCC_SHOULD) {
		*out = b->kids[0];
		b->n_kids = 0;
		ns_query_free(b);
	} else if (b->n_kids == 0) {
		ns_query_free(b);
		*out = NULL;
	}
	return NS_OK;
}

/* Every BOOL needs a clause that is not excluded. */
static int check_positive(const ns_qnode *n)
{
	if (n->kind != NS_Q_BOOL) return 1;
	int pos = 0;
	for (size_t i = 0; i < n->n_kids; i++) {
		if (!check_positive(n->kids[i])) return 0;
		if (n->kids[i]->occur != NS_OCC_NOT) pos = 1;
	}
	return pos;
}

static int parse_syntax(const char *q, ns_stemmer *st, int stopwords,
                        ns_qnode **out, char **err)
{
	*out = NULL;
	*err = NULL;
	parser p;
	memset(&p, 0, sizeof p);
	p.q = q;
	p.st = st;
	p.stopwords = stopwords;
	ns_qnode *n = NULL;
	int rc = lex(&p);
	if (!rc) rc = parse_expr(&p, &n);
	if (!rc && p.tok == T_RPAREN)
		rc = perr(&p, "unbalanced parenthesis: unexpected ')'");
	if (!rc && !n) {
		rc = NS_ESYNTAX;
		p.err = ns_fmt("query has no searchable words");
	}
	if (!rc && (n->occur == NS_OCC_NOT || !check_positive(n))) {
		rc = NS_ESYNTAX;
		p.err = ns_fmt("query has only excluded words; add a word to "
		               "search for");
	}
	if (rc) {
		ns_query_free(n);
		*err = p.err ? p.err : ns_fmt("%s", ns_strerror(rc));
		return rc;
	}
	n->occur = NS_OCC_SHOULD;
	*out = n;
	return NS_OK;
}

static size_t collect(const ns_qnode *n, const char **out, size_t k,
                      size_t max)
{
	if (n->occur == NS_OCC_NOT) return k;
	for (size_t i = 0; i < n->n_terms && k < max; i++) {
		size_t j = 0;
		while (j < k && strcmp(out[j], n->terms[i])) j++;
		if (j == k) out[k++] = n->terms[i];
	}
	for (size_t i = 0; i < n->n_kids; i++) k = collect(n->kids[i], out, k, max);
	return k;
}

size_t ns_query_terms(const ns_qnode *n, const char **out, size_t max)
{
	return collect(n, out, 0, max);
}

static int parse_plain(const char *q, ns_stemmer *st, int stopwords,
                       ns_qnode **out, char **err)
{
	*out = NULL;
	*err = NULL;
	parser p;
	memset(&p, 0, sizeof p);
	p.q = q;
	p.st = st;
	p.max_terms = MAX_CLAUSES;
	p.stopwords = p.drop_all = stopwords;
	ns_qnode *words;
	NS_TRY(analyse(&p, q, strlen(q), &words));
	if (!words && p.n_dropped) { /* only stopwords: keep them */
		p.stopwords = p.drop_all = 0;
		NS_TRY(analyse(&p, q, strlen(q), &words));
	}
	if (!words) {
		*err = ns_fmt("query has no searchable words");
		return NS_ESYNTAX;
	}
	ns_qnode *b = node_new(NS_Q_BOOL);
	if (!b) {
		ns_query_free(words);
		return NS_ENOMEM;
	}
	for (size_t i = 0; i < words->n_terms; i++) {
		if (add_term_kid(b, words, i)) {
			ns_query_free(words);
			ns_query_free(b);
			return NS_ENOMEM;
		}
	}
	ns_query_free(words);
	*out = b;
	return NS_OK;
}

int ns_query_parse(const char *q, ns_stemmer *st, ns_qnode **out, char **err)
{
	return parse_syntax(q, st, 0, out, err);
}

int ns_query_parse_plain(const char *q, ns_stemmer *st, ns_qnode **out,
                         char **err)
{
	return parse_plain(q, st, 0, out, err);
}

int ns_query_parse_opt(const char *q, ns_stemmer *st,
                       const ns_search_options *opt, ns_qnode **out,
                       char **err)
{
	if (opt->plain) return parse_plain(q, st, opt->stopwords, out, err);
	int rc = parse_syntax(q, st, opt->stopwords, out, err);
	if (rc == NS_ESYNTAX && opt->stopwords) {
		/* "the", "the -cat": nothing left without the stopwords; a query
		** that is malformed fails again with the same message */
		ns_free(*err);
		rc = parse_syntax(q, st, 0, out, err);
	}
	return rc;
}
