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
} ns_qnode;

/* Parses q.  On NS_ESYNTAX, *err (caller frees) says what and where. */
int ns_query_parse(const char *q, ns_stemmer *st, ns_qnode **out,
                   char **err);
/* Plain mode: every token of q is an optional term, operators and quotes
** included as ordinary text (a bag of words, as for TREC topics). */
int ns_query_parse_plain(const char *q, ns_stemmer *st, ns_qnode **out,
                         char **err);
void ns_query_free(ns_qnode *n);

/* Collects the distinct positive terms (for highlighting); the strings are
** borrowed from the tree.  Returns the count, at most max. */
size_t ns_query_terms(const ns_qnode *n, const char **out, size_t max);

#endif
