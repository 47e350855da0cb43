/*
** analyze.c -- tokenizer (UTF-8 -> folded tokens) and cached Snowball
** stemmer.  The rules are documented in analyze.h; this file owns them.
**
** Tokenizer outline: ns_tok_next() first finds the extent of the next run
** (scan_run: a byte-class table decides ASCII bytes, a per-code-point
** table built once from utf8proc's properties the rest), then folds it
** along one of three paths that give identical results:
**   fold_ascii    runs of ASCII bytes: lowercase by table;
**   fold_simple   runs whose every character folds on its own to one
**                 starter (most Latin, Greek, Cyrillic, CJK...): by table;
**   fold_unicode  anything else: utf8proc, in chunks of at most
**                 NS_TOK_FOLD_CHUNK input bytes.
** All of them write into the tokenizer's own buffers: nothing is allocated
** per token.  tests/test_analyze.c checks that the paths agree (every BMP
** character, and random strings).
*/
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <libstemmer.h>
#include <utf8proc.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "analyze.h"
#include "common.h"

/* ------------------------------------------------------------------------ */
/* Character classes                                                        */
/* ------------------------------------------------------------------------ */

/* Byte flags for the ASCII fast path. */
#define F_ALPHA 1
#define F_DIGIT 2
#define F_HIGH 4 /* >= 0x80: decode and look up */
#define F_ALNUM (F_ALPHA | F_DIGIT)
#define F_START (F_ALNUM | F_HIGH) /* may start a token */

#define CLS_(c)                                                            \
	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')              \
	     ? F_ALPHA                                                         \
	     : ((c) >= '0' && (c) <= '9') ? F_DIGIT : (c) >= 0x80 ? F_HIGH : 0)
#define LOW_(c) (((c) >= 'A' && (c) <= 'Z') ? (c) + 32 : (c))

#define T4_(M, b) M(b), M((b) + 1), M((b) + 2), M((b) + 3)
#define T16_(M, b) T4_(M, b), T4_(M, (b) + 4), T4_(M, (b) + 8), T4_(M, (b) + 12)
#define T64_(M, b)                                                         \
	T16_(M, b), T16_(M, (b) + 16), T16_(M, (b) + 32), T16_(M, (b) + 48)
#define T256_(M) T64_(M, 0), T64_(M, 64), T64_(M, 128), T64_(M, 192)

static const uint8_t byte_cls[256] = { T256_(CLS_) };
static const uint8_t byte_lower[256] = { T256_(LOW_) };

/* Kinds of characters, for the run scanner. */
enum {
	K_SEP = 0, /* separator, including invalid UTF-8 */
	K_LETTER,  /* L* (not CJK) */
	K_DIGIT,   /* Nd */
	K_NUM,     /* Nl, No */
	K_MARK,    /* M* */
	K_CJK,     /* Han, Hiragana, Katakana: one per token */
	K_IGN,     /* default ignorable: transparent inside a token */
	K_APOS,    /* ' U+2019 U+02BC */
	K_NUMSEP   /* . , */
};

/* Per-code-point tables for U+0080..U+2FFF, filled once (tables_init):
** the kind of each code point, and its simple fold (see fold_simple). */
#define TAB_LO 0x80
#define TAB_HI 0x3000
static uint8_t kind_tab[TAB_HI - TAB_LO];
static uint16_t fold_tab[TAB_HI - TAB_LO];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static void tables_init(void);

static int is_word_kind(int k)
{
	return k == K_LETTER || k == K_DIGIT || k == K_NUM || k == K_MARK;
}

static int ascii_kind(unsigned c)
{
	uint8_t f = byte_cls[c];
	if (f & F_ALPHA) return K_LETTER;
	if (f & F_DIGIT) return K_DIGIT;
	if (c == '\'') return K_APOS;
	if (c == '.' || c == ',') return K_NUMSEP;
	return K_SEP;
}

/* Decodes one well-formed UTF-8 character at p (p < e).  Returns the code
** point and sets *clen, or returns -1 with *clen = 1 for a byte that does
** not start a well-formed sequence. */
static inline int32_t utf8_decode(const uint8_t *p, const uint8_t *e,
                                  size_t *clen)
{
	uint8_t c = p[0];
	size_t avail = (size_t)(e - p);
	int32_t cp;
	*clen = 1;
	if (c < 0x80) return c;
	if (c < 0xC2) return -1; /* continuation byte, or overlong lead */
	if (c < 0xE0) {
		if (avail < 2 || (p[1] & 0xC0) != 0x80) return -1;
		*clen = 2;
		return (int32_t)(c & 0x1F) << 6 | (p[1] & 0x3F);
	}
	if (c < 0xF0) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return -1;
		cp = (int32_t)(c & 0x0F) << 12 | (int32_t)(p[1] & 0x3F) << 6 |
		     (p[2] & 0x3F);
		if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
		*clen = 3;
		return cp;
	}
	if (c < 0xF5) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return -1;
		cp = (int32_t)(c & 0x07) << 18 | (int32_t)(p[1] & 0x3F) << 12 |
		     (int32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
		if (cp < 0x10000 || cp > 0x10FFFF) return -1;
		*clen = 4;
		return cp;
	}
	return -1;
}

/* Han ideographs, Hiragana, Katakana and the CJK numerals / iteration
** marks.  Only consulted for code points whose category is L* or N*. */
static int is_cjk(int32_t cp)
{
	if (cp < 0x3005) return 0;
	if (cp <= 0x3007) return 1;                    /* 々 〆 〇 */
	if (cp >= 0x3021 && cp <= 0x3029) return 1;    /* Hangzhou numerals */
	if (cp >= 0x3038 && cp <= 0x303B) return 1;
	if (cp >= 0x3040 && cp <= 0x30FF) return 1;    /* Hiragana, Katakana */
	if (cp >= 0x31F0 && cp <= 0x31FF) return 1;    /* Katakana ext. */
	if (cp >= 0x3400 && cp <= 0x4DBF) return 1;    /* Ext. A */
	if (cp >= 0x4E00 && cp <= 0x9FFF) return 1;    /* Unified */
	if (cp >= 0xF900 && cp <= 0xFAFF) return 1;    /* Compatibility */
	if (cp >= 0xFF66 && cp <= 0xFF9D) return 1;    /* halfwidth Katakana */
	if (cp >= 0x1B000 && cp <= 0x1B16F) return 1;  /* Kana supplement */
	if (cp >= 0x20000 && cp <= 0x323AF) return 1;  /* Ext. B..H, compat sup. */
	return 0;
}

/* Kind of a non-ASCII code point. */
static int uni_kind(int32_t cp)
{
	if (cp == 0x2019 || cp == 0x02BC) return K_APOS;
	if (cp == 0x200B) return K_SEP; /* ZWSP marks word breaks (UAX #29) */
	/* halfwidth (semi-)voiced sound marks are Lm but fold to combining
	** marks: attach them to the preceding kana */
	if (cp == 0xFF9E || cp == 0xFF9F) return K_MARK;
	const utf8proc_property_t *pr = utf8proc_get_property(cp);
	if (pr->ignorable) return K_IGN;
	switch (pr->category) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return is_cjk(cp) ? K_CJK : K_LETTER;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return K_MARK;
	case UTF8PROC_CATEGORY_ND:
		return K_DIGIT;
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return is_cjk(cp) ? K_CJK : K_NUM;
	default:
		return K_SEP;
	}
}

/* Kind and length of the character at p (p < e). */
static inline int kind_at(const uint8_t *p, const uint8_t *e, size_t *clen)
{
	if (*p < 0x80) {
		*clen = 1;
		return ascii_kind(*p);
	}
	int32_t cp = utf8_decode(p, e, clen);
	if (cp < 0) return K_SEP;
	if (cp < TAB_HI) {
		pthread_once(&tables_once, tables_init);
		return kind_tab[cp - TAB_LO];
	}
	return uni_kind(cp);
}

/* ------------------------------------------------------------------------ */
/* Folding                                                                  */
/* ------------------------------------------------------------------------ */

/* Encodes a valid code point as UTF-8 into o; returns its length. */
static inline size_t utf8_encode(int32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static size_t utf8_len(int32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static int is_strip_char(char c) { return c == '\'' || c == '.' || c == ','; }

static size_t strip_trailing(char *buf, size_t n)
{
	while (n > 0 && is_strip_char(buf[n - 1])) n--;
	buf[n] = 0;
	return n;
}

/* ASCII run: lowercase by table, truncate.  A run ends with a letter or
** digit, so only a truncated one can end with ' . or , */
static inline size_t fold_ascii(ns_tokenizer *t, const uint8_t *s,
                                const uint8_t *e)
{
	size_t n = (size_t)(e - s), i = 0;
	int cut = n > NS_MAX_TOKEN;
	if (cut) n = NS_MAX_TOKEN;
#if defined(__SSE2__)
	/* 16 bytes at a time while the text has them (a token's tail may be
	** lowered with the bytes after it: buf has room, and they are cut
	** off by the NUL below) */
	size_t avail = (size_t)(t->text + t->len - s);
	const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1);
	const __m128i up = _mm_set1_epi8(0x20);
	for (; i < n && i + 16 <= avail; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i m = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1));
		_mm_storeu_si128((__m128i *)(void *)(t->buf + i),
		                 _mm_add_epi8(x, _mm_and_si128(m, up)));
	}
#endif
	for (; i < n; i++) t->buf[i] = (char)byte_lower[s[i]];
	t->buf[n] = 0;
	return cut ? strip_trailing(t->buf, n) : n;
}

static utf8proc_int32_t map_apostrophe(utf8proc_int32_t cp, void *data)
{
	(void)data;
	return (cp == 0x2019 || cp == 0x02BC) ? 0x27 : cp;
}

/* A chunk of a run may end before a character that never composes with
** what precedes it: a letter or number with combining class 0 that is not
** a Hangul medial/final jamo. */
static int is_safe_cut(int32_t cp)
{
	if (cp < 0x80) return 1;
	if ((cp >= 0x1160 && cp <= 0x11FF) || (cp >= 0xD7B0 && cp <= 0xD7FF))
		return 0;
	const utf8proc_property_t *pr = utf8proc_get_property(cp);
	if (pr->combining_class != 0) return 0;
	int cat = pr->category;
	return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
	       (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* End of the chunk of run [p,e) that starts at p: at most maxbytes bytes
** (but at least one character), cut at a safe boundary when there is one. */
static const uint8_t *chunk_end(const uint8_t *p, const uint8_t *e,
                                size_t maxbytes)
{
	const uint8_t *q = p, *best = NULL;
	size_t cl;
	if ((size_t)(e - p) <= maxbytes) return e;
	for (;;) {
		int32_t cp = utf8_decode(q, e, &cl);
		if (q > p && cp >= 0 && is_safe_cut(cp)) best = q;
		if ((size_t)(q + cl - p) > maxbytes)
			return best ? best : (q > p ? q : q + cl);
		q += cl;
		if (q >= e) return e;
	}
}

/* Kind of a folded code point: K_LETTER, K_DIGIT, K_NUM, K_MARK, or K_SEP
** for what is dropped from the folded token. */
static int folded_kind(int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return K_LETTER;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return K_MARK;
	case UTF8PROC_CATEGORY_ND:
		return K_DIGIT;
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return K_NUM;
	default:
		return K_SEP;
	}
}

#define FOLD_OPTS                                                          \
	((utf8proc_option_t)(UTF8PROC_COMPOSE | UTF8PROC_COMPAT |              \
	                     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE |             \
	                     UTF8PROC_STABLE))

/* Any run: NFKC_Casefold-like folding with utf8proc, chunk by chunk, until
** the input ends or the output is full.  The folded code points then pass
** the run rules again: ' stays only between letters, . and , only between
** digits (compatibility characters such as U+2488 "1." or U+0149 "'n" can
** bring them in anywhere), and what is not a letter, mark or number is
** dropped.  So a folded token tokenizes to itself, and an ASCII run gives
** exactly what fold_ascii() gives. */
static size_t fold_unicode(ns_tokenizer *t, const uint8_t *s,
                           const uint8_t *e)
{
	const uint8_t *p = s;
	size_t out = 0;
	int full = 0, last = K_MARK; /* last letter/number kind, as scan_run */
	char pend = 0;               /* a ' . or , waiting for what follows */
	while (p < e && !full) {
		size_t maxbytes = NS_TOK_FOLD_CHUNK;
		const uint8_t *cut;
		utf8proc_ssize_t n;
		for (;;) {
			cut = chunk_end(p, e, maxbytes);
			n = utf8proc_decompose_custom(p, cut - p, t->work, NS_TOK_WORK,
			                              FOLD_OPTS, map_apostrophe, NULL);
			if (n <= NS_TOK_WORK || maxbytes <= 4) break;
			maxbytes /= 2; /* cannot happen with the bound in analyze.h */
		}
		if (n > NS_TOK_WORK) n = -1;
		if (n > 0)
			n = utf8proc_normalize_utf32(
			    t->work, n,
			    (utf8proc_option_t)(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
		for (utf8proc_ssize_t i = 0; i < n; i++) {
			int32_t cp = map_apostrophe(t->work[i], NULL);
			if (cp == '\'' || cp == '.' || cp == ',') {
				int ok = cp == '\'' ? last == K_LETTER : last == K_DIGIT;
				pend = (ok && !pend) ? (char)cp : 0;
				continue;
			}
			int k = folded_kind(cp);
			if (k == K_SEP) continue; /* dropped, transparent */
			if (pend && k != (pend == '\'' ? K_LETTER : K_DIGIT)) pend = 0;
			if (out + (pend != 0) + utf8_len(cp) > NS_MAX_TOKEN) {
				full = 1;
				break;
			}
			if (pend) t->buf[out++] = pend;
			pend = 0;
			out += utf8_encode(cp, t->buf + out);
			if (k != K_MARK) last = k;
		}
		p = cut;
	}
	t->buf[out] = 0;
	return out;
}

/* Fast path for non-ASCII runs.  Most non-ASCII letters fold, on their
** own, to one code point that is a starter (combining class 0, not a mark,
** not a Hangul jamo) of the same kind: Cyrillic, Greek, accented Latin
** (composed), Hebrew, Arabic...  A run made only of such characters, ASCII,
** and the typographic apostrophes folds character by character: nothing in
** it can compose, reorder or vanish, and letter/digit kinds are kept, so
** the run rules give the same ' . , as fold_unicode() would.  fold_tab
** holds that single folded code point for U+0080..U+2FFF (0: not simple);
** Han, kana and Hangul syllables fold to themselves.  Any other character
** sends the run to fold_unicode(). */

static int is_jamo(int32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97F) ||
	       (cp >= 0xD7B0 && cp <= 0xD7FF);
}

static int is_simple_kind(int k)
{
	return k == K_LETTER || k == K_DIGIT || k == K_NUM;
}

static void tables_init(void)
{
	for (int32_t cp = TAB_LO; cp < TAB_HI; cp++) {
		int k = uni_kind(cp);
		kind_tab[cp - TAB_LO] = (uint8_t)k;
		if (!is_simple_kind(k) || is_jamo(cp) ||
		    utf8proc_get_property(cp)->combining_class != 0)
			continue;
		uint8_t u[4];
		int32_t w[32];
		utf8proc_ssize_t n = utf8proc_encode_char(cp, u);
		n = utf8proc_decompose_custom(u, n, w, 32, FOLD_OPTS,
		                              map_apostrophe, NULL);
		if (n < 1 || n > 32) continue;
		n = utf8proc_normalize_utf32(
		    w, n, (utf8proc_option_t)(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
		if (n != 1) continue;
		int32_t f = w[0];
		if (f <= 0 || f > 0xFFFF || is_jamo(f) || folded_kind(f) != k ||
		    utf8proc_get_property(f)->combining_class != 0)
			continue;
		fold_tab[cp - TAB_LO] = (uint16_t)f;
	}
}

/* Folded form of one character of a simple run, or 0 if not simple. */
static inline int32_t simple_fold(int32_t cp)
{
	if (cp < TAB_HI) {
		if (cp == 0x02BC) return '\'';
		return cp < 0 ? 0 : fold_tab[cp - TAB_LO];
	}
	if (cp == 0x2019) return '\'';
	if ((cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x30A1 && cp <= 0x30FA) ||
	    (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3))
		return cp;
	return 0;
}

/* Folds a non-ASCII run with the fast path.  Returns -1 if the run is
** not simple, else the folded length. */
static long fold_simple(ns_tokenizer *t, const uint8_t *s, const uint8_t *e)
{
	size_t out = 0, cl;
	int cut = 0;
	pthread_once(&tables_once, tables_init);
	while (s < e) {
		uint8_t c = *s;
		if (c < 0x80) {
			if (out >= NS_MAX_TOKEN) {
				cut = 1;
				break;
			}
			t->buf[out++] = (char)byte_lower[c];
			s++;
			continue;
		}
		int32_t f = simple_fold(utf8_decode(s, e, &cl));
		if (f == 0) return -1;
		if (out + utf8_len(f) > NS_MAX_TOKEN) {
			cut = 1;
			break;
		}
		out += utf8_encode(f, t->buf + out);
		s += cl;
	}
	t->buf[out] = 0;
	return (long)(cut ? strip_trailing(t->buf, out) : out);
}

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                */
/* ------------------------------------------------------------------------ */

void ns_tok_init(ns_tokenizer *t, const char *text, size_t len)
{
	static const unsigned char empty[1] = { 0 };
	t->text = text ? (const unsigned char *)text : empty;
	t->len = text ? len : 0;
	t->pos = 0;
	t->buf[0] = 0;
}

/* Kind of the character at p, looking through default ignorables. */
static int next_sig_kind(const uint8_t *p, const uint8_t *e)
{
	size_t cl;
	while (p < e) {
		int k = kind_at(p, e, &cl);
		if (k != K_IGN) return k;
		p += cl;
	}
	return K_SEP;
}

/* Scans a word run that starts with the character at s (kind k, length
** cl).  Returns its end; *ascii is cleared if the run has non-ASCII
** characters.  Default ignorables are transparent: a run of them is
** inside the token when what follows continues the token, and is left
** out at its end. */
/* The first byte of [p, e) that is not an ASCII letter or digit, or e. */
static inline const uint8_t *skip_alnum(const uint8_t *p, const uint8_t *e)
{
#if defined(__SSE2__)
	/* bytes >= 0x80 are negative as signed: no range below takes them */
	const __m128i d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
	const __m128i la = _mm_set1_epi8('a' - 1), lz = _mm_set1_epi8('z' + 1);
	const __m128i up = _mm_set1_epi8(0x20);
	for (; e - p >= 16; p += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i l = _mm_or_si128(x, up); /* A-Z to a-z; no other byte lands there */
		__m128i ok = _mm_or_si128(
		    _mm_and_si128(_mm_cmpgt_epi8(x, d0), _mm_cmplt_epi8(x, d9)),
		    _mm_and_si128(_mm_cmpgt_epi8(l, la), _mm_cmplt_epi8(l, lz)));
		unsigned stop = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
		if (stop) return p + __builtin_ctz(stop);
	}
#endif
	while (p < e && (byte_cls[*p] & F_ALNUM)) p++;
	return p;
}

static const uint8_t *scan_run(const uint8_t *s, const uint8_t *e, int k,
                               size_t cl, int *ascii)
{
	const uint8_t *p = s + cl, *ign = NULL;
	int last = k; /* kind of the last letter/number, K_MARK if none */
	for (;;) {
		const uint8_t *q = p;
		p = skip_alnum(p, e);
		if (p > q) {
			last = (byte_cls[p[-1]] & F_DIGIT) ? K_DIGIT : K_LETTER;
			ign = NULL;
		}
		if (p >= e) break;
		uint8_t c = *p;
		if (c < 0x80) {
			if (c == '\'') {
				if (last == K_LETTER && next_sig_kind(p + 1, e) == K_LETTER) {
					p++;
					ign = NULL;
					continue;
				}
			} else if (c == '.' || c == ',') {
				if (last == K_DIGIT && next_sig_kind(p + 1, e) == K_DIGIT) {
					p++;
					ign = NULL;
					continue;
				}
			}
			break;
		}
		int kk = kind_at(p, e, &cl);
		if (kk == K_LETTER || kk == K_DIGIT || kk == K_NUM) {
			last = kk;
		} else if (kk == K_APOS) {
			if (last != K_LETTER || next_sig_kind(p + cl, e) != K_LETTER)
				break;
		} else if (kk == K_IGN) {
			if (!ign) ign = p;
			*ascii = 0;
			p += cl;
			continue;
		} else if (kk != K_MARK) {
			break; /* separator or CJK */
		}
		*ascii = 0;
		ign = NULL;
		p += cl;
	}
	return ign ? ign : p;
}

int ns_tok_next(ns_tokenizer *t, ns_token *tok)
{
	const uint8_t *b = t->text, *e = b + t->len, *p = b + t->pos;
	for (;;) {
		size_t cl = 1;
		int k;
		/* skip separators */
		for (;;) {
			while (p < e && !(byte_cls[*p] & F_START)) p++;
			if (p >= e) {
				t->pos = t->len;
				return 0;
			}
			if (*p < 0x80) {
				k = (byte_cls[*p] & F_DIGIT) ? K_DIGIT : K_LETTER;
				cl = 1;
				break;
			}
			k = kind_at(p, e, &cl);
			if (is_word_kind(k) || k == K_CJK) break;
			p += cl;
		}
		const uint8_t *s = p;
		int ascii = *s < 0x80;
		if (k == K_CJK) {
			/* one ideograph/kana plus its combining marks (looking
			** through default ignorables, as scan_run does) */
			const uint8_t *q = p += cl;
			while (q < e && *q >= 0x80) {
				int kk = kind_at(q, e, &cl);
				if (kk != K_MARK && kk != K_IGN) break;
				q += cl;
				if (kk == K_MARK) p = q;
			}
		} else {
			p = scan_run(s, e, k, cl, &ascii);
		}
		t->pos = (size_t)(p - b);
		size_t n;
		if (ascii) {
			n = fold_ascii(t, s, p);
		} else {
			long r = fold_simple(t, s, p);
			n = r >= 0 ? (size_t)r : fold_unicode(t, s, p);
		}
		if (n == 0) continue;
		tok->text = t->buf;
		tok->len = n;
		tok->start = (size_t)(s - b);
		tok->end = (size_t)(p - b);
		return 1;
	}
}

/* ------------------------------------------------------------------------ */
/* Languages                                                                */
/* ------------------------------------------------------------------------ */

#define MAX_LANGS 128
static const char *lang_list[MAX_LANGS + 1];
static pthread_once_t lang_once = PTHREAD_ONCE_INIT;

static void lang_init(void)
{
	const char **sb = sb_stemmer_list();
	size_t n = 0;
	for (size_t i = 0; sb && sb[i] && n < MAX_LANGS - 1; i++)
		lang_list[n++] = sb[i];
	lang_list[n++] = "none";
	lang_list[n] = NULL;
}

const char *const *ns_languages(void)
{
	pthread_once(&lang_once, lang_init);
	return lang_list;
}

static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = byte_lower[(uint8_t)*a], cb = byte_lower[(uint8_t)*b];
		if (ca != cb) return ca - cb;
		if (!ca) return 0;
	}
}

/* Canonical (static) name for lang, or NULL. */
static const char *lang_lookup(const char *lang)
{
	if (!lang) return NULL;
	const char *const *l = ns_languages();
	for (size_t i = 0; l[i]; i++)
		if (ascii_casecmp(l[i], lang) == 0) return l[i];
	return NULL;
}

int ns_lang_valid(const char *lang) { return lang_lookup(lang) != NULL; }

/* ------------------------------------------------------------------------ */
/* Stemmer and its cache                                                    */
/* ------------------------------------------------------------------------ */

/* One cache entry, 32 bytes (two per cache line).  data holds the key
** (klen bytes) and, unless the stem is a prefix of the key (the common
** case: running -> run), the stem after it; the stem is
** data[soff..soff+slen).  A hit returns a pointer into the entry: no copy.
** Keys (plus non-prefix stems) longer than SLOT_DATA bytes are not cached;
** measured on English Wikipedia, a bigger entry did not pay for its
** memory.  klen == 0 marks an empty entry.  Sets are pairs of entries;
** `mru` in the first entry of a set says which of the two was used last. */
#define SLOT_DATA 24
typedef struct stem_slot {
	uint32_t hash;
	uint8_t klen, slen, soff, mru;
	char data[SLOT_DATA];
} stem_slot;
_Static_assert(sizeof(stem_slot) == 32, "stem_slot is half a cache line");

struct ns_stemmer {
	struct sb_stemmer *sb; /* NULL for "none" */
	const char *lang;      /* canonical, static */
	stem_slot *slots;      /* 2 * (mask + 1) entries, 64-byte aligned */
	void *slots_mem;       /* the allocation holding slots, or NULL */
	size_t mask;           /* sets - 1 */
	uint64_t hits, misses;
};

static uint32_t hash_bytes(const char *w, size_t len)
{
	const uint64_t k = 0x9E3779B97F4A7C15ull;
	uint64_t h = (uint64_t)len * k, v;
	while (len >= 8) {
		memcpy(&v, w, 8);
		h = (h ^ v) * k;
		h ^= h >> 29;
		w += 8;
		len -= 8;
	}
	if (len >= 4) { /* two overlapping 4-byte loads cover 4..7 bytes */
		uint32_t a, b;
		memcpy(&a, w, 4);
		memcpy(&b, w + len - 4, 4);
		h = (h ^ (a | (uint64_t)b << 32)) * k;
	} else if (len) {
		v = (uint64_t)(uint8_t)w[0] | (uint64_t)(uint8_t)w[len / 2] << 8 |
		    (uint64_t)(uint8_t)w[len - 1] << 16;
		h = (h ^ v) * k;
	}
	h ^= h >> 32;
	h *= 0xD6E8FEB86659FD93ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

int ns_stem_open_cache(const char *lang, size_t cache_entries,
                       ns_stemmer **out)
{
	if (!out) return NS_EINVAL;
	*out = NULL;
	const char *name = lang_lookup(lang);
	if (!name) return NS_EINVAL;
	ns_stemmer *s = ns_calloc(1, sizeof *s);
	if (!s) return NS_ENOMEM;
	s->lang = name;
	if (strcmp(name, "none") != 0) {
		s->sb = sb_stemmer_new(name, NULL);
		if (!s->sb) {
			ns_free(s);
			return NS_ENOMEM; /* the name is known: only OOM is left */
		}
		if (cache_entries > 0) {
			size_t sets = 1;
			while (sets * 2 < cache_entries && sets < ((size_t)1 << 24))
				sets *= 2;
			/* calloc: the pages are zeroed lazily by the kernel */
			s->slots_mem = ns_calloc(1, sets * 2 * sizeof(stem_slot) + 64);
			if (!s->slots_mem) {
				sb_stemmer_delete(s->sb);
				ns_free(s);
				return NS_ENOMEM;
			}
			s->slots = (stem_slot *)(((uintptr_t)s->slots_mem + 63) &
			                         ~(uintptr_t)63);
			s->mask = sets - 1;
		}
	}
	*out = s;
	return NS_OK;
}

int ns_stem_open(const char *lang, ns_stemmer **out)
{
	return ns_stem_open_cache(lang, NS_STEM_CACHE_DEFAULT, out);
}

void ns_stem_close(ns_stemmer *s)
{
	if (!s) return;
	sb_stemmer_delete(s->sb);
	ns_free(s->slots_mem);
	ns_free(s);
}

const char *ns_stem_lang(const ns_stemmer *s) { return s->lang; }

void ns_stem_cache_stats(const ns_stemmer *s, uint64_t *hits,
                         uint64_t *misses)
{
	if (hits) *hits = s->hits;
	if (misses) *misses = s->misses;
}

static void cache_put(stem_slot *set, uint32_t h, const char *w,
                      size_t len, const char *stem, size_t slen)
{
	int prefix = slen <= len && memcmp(w, stem, slen) == 0;
	if (len + (prefix ? 0 : slen) > SLOT_DATA) return; /* too long */
	int v;
	if (set[0].klen == 0) v = 0;
	else if (set[1].klen == 0) v = 1;
	else v = !set[0].mru;
	stem_slot *e = &set[v];
	e->hash = h;
	e->klen = (uint8_t)len;
	e->slen = (uint8_t)slen;
	e->soff = (uint8_t)(prefix ? 0 : len);
	memcpy(e->data, w, len);
	if (!prefix) memcpy(e->data + len, stem, slen);
	set[0].mru = (uint8_t)v;
}

const char *ns_stem(ns_stemmer *s, const char *w, size_t len, size_t *outlen)
{
	*outlen = len;
	if (!s->sb || len == 0 || len > INT_MAX) return w;
	stem_slot *set = NULL;
	uint32_t h = 0;
	if (s->slots && len <= SLOT_DATA) {
		h = hash_bytes(w, len);
		set = &s->slots[(h & s->mask) * 2];
		for (int i = 0; i < 2; i++) {
			stem_slot *e = &set[i];
			if (e->hash == h && e->klen == len &&
			    memcmp(e->data, w, len) == 0) {
				set[0].mru = (uint8_t)i;
				s->hits++;
				*outlen = e->slen;
				return e->data + e->soff;
			}
		}
	}
	s->misses++;
	const sb_symbol *r =
	    sb_stemmer_stem(s->sb, (const sb_symbol *)w, (int)len);
	if (!r) return w; /* out of memory: unstemmed */
	int rl = sb_stemmer_length(s->sb);
	if (rl <= 0) return w; /* an empty stem ("s" under porter) keeps the word */
	if (set) cache_put(set, h, w, len, (const char *)r, (size_t)rl);
	*outlen = (size_t)rl;
	return (const char *)r;
}
