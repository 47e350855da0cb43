/*
** analyze.h -- text analysis: UTF-8 text -> folded tokens -> stems.
**
** This module is the ONE place where text becomes index terms.  The indexer
** and the query parser must both go through it (ns_tok_next, then ns_stem),
** so that a word in a query normalises exactly as it did in the documents.
** Any change to the rules below changes the terms of existing indexes and
** needs a format version bump.
**
** Tokenizer rules
** ---------------
** Input: UTF-8 text of any length, not NUL-terminated.  Bytes that are not
** well-formed UTF-8 (stray continuation bytes, truncated sequences, overlong
** forms, surrogates, > U+10FFFF, 0xC0/0xC1/0xF5..0xFF) are separators, one
** byte at a time: they never stop tokenization nor swallow their neighbours.
**
** A token is a maximal run of "word characters": Unicode letters (L*),
** combining marks (M*) and numbers (N*), by utf8proc's categories, with
** these additions:
**   - an apostrophe (U+0027 ', U+2019 ’ or U+02BC ʼ) with a letter right
**     before it (marks after a letter count as that letter) and a letter
**     right after it stays inside the token: "don't", "Zelensky’s";
**   - a '.' or ',' with a decimal digit (Nd) on both sides stays inside:
**     "3.14", "1,000", "192.168.0.1";
**   - default-ignorable code points (soft hyphen U+00AD, ZWJ, word
**     joiner, variation selectors...) are transparent: a run of them is
**     inside the token when what follows would continue it (and folding
**     then removes it), so "co\u00ADoperate" is one token "cooperate"; at
**     the start or end of a token they are separators.  ZERO WIDTH SPACE
**     U+200B is always a separator (it marks word breaks, e.g. in Thai);
**   - Han ideographs, Hiragana and Katakana (and the CJK numerals and
**     iteration marks) are emitted one character per token, together with
**     the combining marks that follow (e.g. the voicing mark U+3099).  They
**     also end a run of other word characters: "abc漢字" -> abc 漢 字.
** Everything else separates: spaces, punctuation, symbols, '_', '-', and
** apostrophes, dots and commas not covered above.
**
** Folding: each token is mapped to NFKC_Casefold-like form with utf8proc
** (full case folding + compatibility decomposition + removal of default
** ignorables, then canonical composition): ß->ss, Ä->ä, Σ/ς->σ, ﬁ->fi,
** Ａ->a, e+U+0301 -> é.  The typographic apostrophes become U+0027.  The
** folded code points then pass the run rules once more, because
** compatibility characters can bring punctuation in ("⒈" -> "1.", "ŉ" ->
** "'n", "⑴" -> "(1)"): ' is kept only between letters, . and , only
** between digits, and anything that is not a letter, mark or number is
** dropped.  So a folded token re-tokenizes to itself (bar oddities such
** as a CJK compatibility character that folds to two ideographs).
** ASCII-only tokens take a fast path (table lowercase, no utf8proc) that
** gives exactly the same result.
**
** Length: a folded token longer than NS_MAX_TOKEN bytes is truncated at a
** character boundary (and never ends with ' . or , ); the rest of
** the run is consumed, not emitted as another token.  A token whose folded
** form is empty (e.g. only ignorable letters) is skipped.
**
** Offsets: tok->start/end are the byte range of the run in the input text,
** so text[start..end) is the original spelling (for snippets).
**
** Stemming
** --------
** ns_stemmer wraps one libstemmer object (not thread-safe: use one per
** thread) behind a 2-way set-associative cache keyed by the folded token.
** Language names are those of ns_languages(): every libstemmer algorithm
** plus "none" (no stemming), matched case-insensitively.  libstemmer's
** aliases ("en", "eng"...) are not accepted, so stored names are canonical.
*/
#ifndef NS_ANALYZE_H
#define NS_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "nsearch.h"

/* max bytes of a folded token (longer ones are truncated at a UTF-8
** character boundary) */
#define NS_MAX_TOKEN 64

/* input bytes folded per utf8proc call, and the UTF-32 work space that
** needs: no code point decomposes into more than 6 code points per UTF-8
** byte (U+FDFA: 3 bytes -> 18 code points). */
#define NS_TOK_FOLD_CHUNK 64
#define NS_TOK_WORK (NS_TOK_FOLD_CHUNK * 6)

typedef struct ns_token {
	const char *text;  /* folded token bytes, NUL-terminated; borrowed,
	                      valid until the next ns_tok_next() on this tokenizer */
	size_t len;        /* bytes, 1..NS_MAX_TOKEN */
	size_t start, end; /* byte range [start,end) of the token in the input */
} ns_token;

/* Caller-allocated (on the stack is fine, ~1.6 KB); fields are private. */
typedef struct ns_tokenizer {
	const unsigned char *text;
	size_t len, pos;
	char buf[NS_MAX_TOKEN + 1];
	int32_t work[NS_TOK_WORK];
} ns_tokenizer;

/* ns_tok_init() : starts tokenizing text[0..len).  The text is borrowed and
** must stay unchanged while the tokenizer is used.  text may be NULL when
** len is 0.  Never fails, never allocates. */
void ns_tok_init(ns_tokenizer *t, const char *text, size_t len);

/* ns_tok_next() : @return 1 and fills *tok with the next token, or 0 at the
** end of the input (and on every later call). */
int ns_tok_next(ns_tokenizer *t, ns_token *tok);

typedef struct ns_stemmer ns_stemmer;

/* ns_stem_open() : opens a stemmer for `lang` with the default cache
** (NS_STEM_CACHE_DEFAULT entries, about 2 MB, touched lazily).
** On failure *out is NULL.
** @return NS_OK, NS_EINVAL (unknown language, NULL argument), NS_ENOMEM. */
#define NS_STEM_CACHE_DEFAULT 65536
int ns_stem_open(const char *lang, ns_stemmer **out);

/* ns_stem_open_cache() : the same with a cache of about `cache_entries`
** entries (rounded up to a power of two; 0 = no cache).  A short-lived
** stemmer (one query) wants a small cache, e.g. 64. */
int ns_stem_open_cache(const char *lang, size_t cache_entries,
                       ns_stemmer **out);

/* ns_stem_close() : frees the stemmer; accepts NULL. */
void ns_stem_close(ns_stemmer *s);

/* ns_stem() : stems a folded token (as produced by ns_tok_next).
** @return a borrowed pointer, valid until the next call on s (or, when it
** is w itself, as long as w), and *outlen gets its length.  The result is
** not necessarily NUL-terminated: use *outlen.  Never returns NULL: for
** "none", for len 0 and on allocation failure it returns w unchanged. */
const char *ns_stem(ns_stemmer *s, const char *w, size_t len, size_t *outlen);

/* ns_stem_lang() : @return the canonical language name (static), e.g.
** "english" even when opened as "English". */
const char *ns_stem_lang(const ns_stemmer *s);

/* ns_lang_valid() : @return 1 if ns_stem_open would accept `lang`, else 0. */
int ns_lang_valid(const char *lang);

/* ns_stem_cache_stats() : cache hits and misses since open (either OUT
** pointer may be NULL). */
void ns_stem_cache_stats(const ns_stemmer *s, uint64_t *hits,
                         uint64_t *misses);

#endif
