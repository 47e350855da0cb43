/*
** query.h -- the query language: text -> tree of analysed clauses.
**
** Grammar (precedence: NOT/+/- bind tightest, then AND, then OR; adjacent
** clauses are OR-ed, as in Lucene and Xapian):
**
**     query    := expr EOF
**     expr     := and_expr ( ["OR"] and_expr )*
**     and_expr := unary ( "AND" unary )*
**     unary    := "NOT" unary | "+" primary | "-" primary | primary
**     primary  := WORD | '"' WORD* '"' | "(" expr ")"
**
** AND, OR and NOT are operators only in capitals; "and" is a word.  A '+' or
** '-' is an operator only at the start of a word.  Words go through the
** same analysis as documents (ns_tok_next + ns_stem), so "Zelensky’s"
** becomes the term of "zelensky".  A word that analyses to several tokens
** ("wi-fi", "1/2000") becomes separate optional terms in an OR context and
** a phrase where it is required or excluded.  Words with no tokens ("!!")
** are dropped.
**
** Meaning: a BOOL node matches documents that match all its MUST clauses
** (or, without MUST clauses, any SHOULD clause) and no NOT clause.  Its
** score is the sum of the scores of its matching MUST and SHOULD clauses.
** A TERM or PHRASE node's score is multiplied by its boost (1 from the
** parser; pseudo-relevance feedback, prf.c, sets others).
**
** Stopwords (ns_query_parse_opt with opt->stopwords): words whose folded
** form is one of Lucene's 33 classic English stopwords (ns_is_stopword) are
** dropped before stemming where they stand as optional or single terms: a
** bare word, a part of a bare word that splits into optional terms
** ("state-of-the-art"), every word in plain mode.  Quoted phrases and
** multi-token words that become phrases keep them (the index has them, so
** the phrase still matches exactly).  A query that would be left without a
** searchable word is parsed again with its stopwords.
*/
#ifndef NS_QUERY_H
#define NS_QUERY_H

#include "analyze.h"
#include "common.h"

enum { NS_Q_TERM, NS_Q_PHRASE, NS_Q_BOOL };
enum { NS_OCC_SHOULD, NS_OCC_MUST, NS_OCC_NOT };

typedef struct ns_qnode {
	int kind;
	int occur;                /* role inside the parent BOOL */
	char **terms;             /* TERM: 1, PHRASE: n analysed terms */
	size_t n_terms;
	struct ns_qnode **kids;   /* BOOL */
	size_t n_kids;
	double boost;             /* TERM, PHRASE: score multiplier (>= 0) */
} ns_qnode;

/* Parses q.  On NS_ESYNTAX, *err (caller frees) says what and where. */
int ns_query_parse(const char *q, ns_stemmer *st, ns_qnode **out,
                   char **err);
/* Plain mode: every token of q is an optional term, operators and quotes
** included as ordinary text (a bag of words, as for TREC topics). */
int ns_query_parse_plain(const char *q, ns_stemmer *st, ns_qnode **out,
                         char **err);
/* Parses q as opt asks: plain or query syntax, with or without stopwords.
** The stemmer st is the index's. */
int ns_query_parse_opt(const char *q, ns_stemmer *st,
                       const ns_search_options *opt, ns_qnode **out,
                       char **err);
void ns_query_free(ns_qnode *n);

/* Whether the folded token w[0..len) is a stopword (see above). */
int ns_is_stopword(const char *w, size_t len);

/* ---- prf.c: pseudo-relevance feedback ----------------------------------- */

/* RM3: searches `query` with *opt but without feedback, for the
** opt->prf_docs best documents, and rewrites *qn (the tree parsed from
** `query` with the same options) into the expanded query: the original
** clauses with weight opt->prf_weight, plus up to opt->prf_terms feedback
** terms with the rest.  Leaves *qn as it is when the query has parentheses
** (a nested BOOL) or the first search finds nothing.  The details are at
** the top of prf.c.  NS_OK, NS_ENOMEM, NS_ECORRUPT. */
int ns_prf_expand(ns_index *ix, const char *query,
                  const ns_search_options *opt, ns_qnode **qn);

/* Collects the distinct positive terms (for highlighting); the strings are
** borrowed from the tree.  Returns the count, at most max. */
size_t ns_query_terms(const ns_qnode *n, const char **out, size_t max);

#endif
