/*
** test_analyze.c -- tokenizer (suite "tokenize") and stemmer (suite "stem").
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "analyze.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Copies the input into a buffer of exactly len bytes (no NUL after it),
** so that ASan reports any overread. */
static char *exact_copy(const char *in, size_t len)
{
	char *p = malloc(len ? len : 1);
	cr_assert_not_null(p);
	memcpy(p, in, len);
	return p;
}

/* Tokenizes in[0..len) and joins the tokens with single spaces. */
static void join_tokens_n(const char *in, size_t len, char *out, size_t cap)
{
	char *buf = exact_copy(in, len);
	ns_tokenizer t;
	ns_token tok;
	size_t o = 0;
	ns_tok_init(&t, buf, len);
	out[0] = 0;
	while (ns_tok_next(&t, &tok)) {
		cr_assert(tok.len >= 1 && tok.len <= NS_MAX_TOKEN);
		cr_assert_eq(strlen(tok.text), tok.len);
		cr_assert(o + tok.len + 2 < cap, "output buffer too small");
		if (o) out[o++] = ' ';
		memcpy(out + o, tok.text, tok.len);
		o += tok.len;
		out[o] = 0;
	}
	cr_assert_eq(ns_tok_next(&t, &tok), 0, "end is sticky");
	free(buf);
}

static void join_tokens(const char *in, char *out, size_t cap)
{
	join_tokens_n(in, strlen(in), out, cap);
}

#define CHECK(in, want)                                                    \
	do {                                                                   \
		char got_[1024];                                                   \
		join_tokens((in), got_, sizeof got_);                              \
		cr_assert_str_eq(got_, (want), "input \"%s\"", (in));              \
	} while (0)

#define CHECK_N(in, n, want)                                               \
	do {                                                                   \
		char got_[1024];                                                   \
		join_tokens_n((in), (n), got_, sizeof got_);                       \
		cr_assert_str_eq(got_, (want));                                    \
	} while (0)

/* Strict UTF-8 validation (no overlongs, surrogates, > U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t l;
		uint32_t cp;
		if (c < 0x80) { i++; continue; }
		if (c >= 0xC2 && c < 0xE0) { l = 2; cp = c & 0x1F; }
		else if (c >= 0xE0 && c < 0xF0) { l = 3; cp = c & 0x0F; }
		else if (c >= 0xF0 && c < 0xF5) { l = 4; cp = c & 0x07; }
		else return 0;
		if (i + l > n) return 0;
		for (size_t k = 1; k < l; k++) {
			if ((s[i + k] & 0xC0) != 0x80) return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += l;
	}
	return 1;
}

static uint64_t rng_state;
static uint32_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x >> 32);
}

/* ------------------------------------------------------------------------ */
/* tokenize                                                                 */
/* ------------------------------------------------------------------------ */

Test(tokenize, ascii_words_and_punctuation)
{
	CHECK("Hello, World!", "hello world");
	CHECK("foo_bar-baz (qux) [x] {y} a/b a+b a@b.com",
	      "foo bar baz qux x y a b a b a b com");
	CHECK("  \t\nThe QUICK brown\r\nfox.  ", "the quick brown fox");
	CHECK("U.S.A. e.g. end.", "u s a e g end");
	CHECK("C3PO R2D2 mp3", "c3po r2d2 mp3");
}

Test(tokenize, numbers)
{
	CHECK("pi is 3.14, about", "pi is 3.14 about");
	CHECK("1,000 people in 2024.", "1,000 people in 2024");
	CHECK("1,000,000.50", "1,000,000.50");
	CHECK("192.168.0.1", "192.168.0.1");
	CHECK("v1.2 1. 2, .5 ,7 3..4 5,,6", "v1.2 1 2 5 7 3 4 5 6");
	CHECK("x.1 1.x", "x 1 1 x");
	CHECK("\xef\xbc\x93.\xef\xbc\x91\xef\xbc\x94", "3.14"); /* fullwidth */
}

Test(tokenize, apostrophes)
{
	CHECK("don't DON'T", "don't don't");
	CHECK("Zelensky\xe2\x80\x99s", "zelensky's");      /* U+2019 */
	CHECK("Zelensky\xca\xbcs", "zelensky's");          /* U+02BC */
	CHECK("rock'n'roll", "rock'n'roll");
	CHECK("'quoted' students' books '90s", "quoted students books 90s");
	CHECK("\xe2\x80\x98single\xe2\x80\x99", "single");
	CHECK("it''s a'1 1'a", "it s a 1 1 a");
	CHECK("L'\xc3\x89t\xc3\xa9", "l'\xc3\xa9t\xc3\xa9");   /* L'Été */
}

Test(tokenize, case_folding_latin)
{
	CHECK("Stra\xc3\x9f" "e", "strasse");           /* Straße */
	CHECK("\xe1\xba\x9e", "ss");                     /* ẞ */
	CHECK("\xc3\x84RGER \xc3\x84pfel", "\xc3\xa4rger \xc3\xa4pfel");
	CHECK("\xc5\x81\xc3\x93" "D\xc5\xb9", "\xc5\x82\xc3\xb3" "d\xc5\xba"); /* ŁÓDŹ */
}

Test(tokenize, case_folding_greek_and_cyrillic)
{
	/* ΣΊΣΥΦΟΣ and σίσυφος both fold to σίσυφοσ */
	const char *want = "\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83";
	CHECK("\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3", want);
	CHECK("\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82", want);
	/* МОСКВА -> москва */
	CHECK("\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90",
	      "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
}

Test(tokenize, nfd_input_is_composed)
{
	CHECK("cafe\xcc\x81", "caf\xc3\xa9");            /* e + U+0301 -> é */
	CHECK("CAFE\xcc\x81 bar", "caf\xc3\xa9 bar");
	/* precomposed and decomposed spellings give the same token */
	CHECK("caf\xc3\xa9", "caf\xc3\xa9");
}

Test(tokenize, compatibility_forms)
{
	CHECK("\xef\xac\x81nd", "find");                 /* ﬁnd */
	CHECK("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", "abc"); /* ＡＢＣ */
	CHECK("\xe2\x85\xab", "xii");                    /* Ⅻ */
	CHECK("\xe2\x92\x88", "1");                      /* ⒈ -> "1." stripped */
	CHECK("\xe2\x91\xb4x", "1x");                    /* ⑴x -> (1)x filtered */
	CHECK("1\xe2\x92\x88" "2", "11.2");              /* 1⒈2 */
	CHECK("\xe2\x92\x88" "a", "1a");                 /* ⒈a: no . before a */
	CHECK("\xc5\x89", "n");                          /* ŉ -> 'n */
	CHECK("a\xc5\x89", "a'n");
}

Test(tokenize, default_ignorables_are_removed)
{
	const char *in = "co\xc2\xadoperate";            /* soft hyphen */
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_str_eq(tok.text, "cooperate");
	cr_assert_eq(tok.start, 0);
	cr_assert_eq(tok.end, strlen(in));
	cr_assert_eq(ns_tok_next(&t, &tok), 0);

	CHECK("a\xe2\x80\x8d" "b", "ab");               /* ZWJ joins */
	CHECK("a\xe2\x81\xa0" "b", "ab");               /* word joiner */
	CHECK("a\xe2\x80\x8b" "b", "a b");              /* ZWSP separates */
	CHECK("word\xc2\xad next", "word next");        /* trailing SHY */
	CHECK("\xc2\xadword", "word");                  /* leading SHY */
	CHECK("\xe3\x85\xa4", "");                      /* Hangul filler only */
	CHECK("x\xef\xb8\x8fy", "xy");                  /* variation selector */
	CHECK("don\xc2\xad't 3\xc2\xad.\xc2\xad" "14", "don't 3.14"); /* transparent */
	CHECK("ab\xc2\xad'", "ab");
}

Test(tokenize, ignorable_token_end_offset)
{
	const char *in = "ab\xc2\xad";
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_str_eq(tok.text, "ab");
	cr_assert_eq(tok.end, 2);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
}

Test(tokenize, cjk_one_character_per_token)
{
	/* 日本語テキスト */
	CHECK("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad"
	      "\xe3\x82\xb9\xe3\x83\x88",
	      "\xe6\x97\xa5 \xe6\x9c\xac \xe8\xaa\x9e \xe3\x83\x86 \xe3\x82\xad "
	      "\xe3\x82\xb9 \xe3\x83\x88");
	/* ひらがな */
	CHECK("\xe3\x81\xb2\xe3\x82\x89", "\xe3\x81\xb2 \xe3\x82\x89");
	/* か + combining voiced mark -> が; halfwidth ｶﾞ -> ガ */
	CHECK("\xe3\x81\x8b\xe3\x82\x99", "\xe3\x81\x8c");
	CHECK("\xef\xbd\xb6\xef\xbe\x9e", "\xe3\x82\xac");
	/* Hangul syllables are ordinary letters */
	CHECK("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
	      "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4");
}

Test(tokenize, cjk_mixed_offsets)
{
	const char *in = "abc\xe6\xbc\xa2\xe5\xad\x97" "def"; /* abc漢字def */
	static const struct { const char *text; size_t s, e; } want[] = {
		{ "abc", 0, 3 }, { "\xe6\xbc\xa2", 3, 6 },
		{ "\xe5\xad\x97", 6, 9 }, { "def", 9, 12 },
	};
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_eq(ns_tok_next(&t, &tok), 1);
		cr_assert_str_eq(tok.text, want[i].text);
		cr_assert_eq(tok.start, want[i].s);
		cr_assert_eq(tok.end, want[i].e);
	}
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
}

Test(tokenize, offsets_are_byte_offsets)
{
	/* "  Héllo,  wörld's  cafe\u0301!" */
	const char *in = "  H\xc3\xa9llo,  w\xc3\xb6rld's  cafe\xcc\x81!";
	static const struct { const char *text; size_t s, e; } want[] = {
		{ "h\xc3\xa9llo", 2, 8 },
		{ "w\xc3\xb6rld's", 11, 19 },
		{ "caf\xc3\xa9", 21, 27 },
	};
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(ns_tok_next(&t, &tok), 1);
		cr_assert_str_eq(tok.text, want[i].text);
		cr_assert_eq(tok.start, want[i].s, "token %zu start %zu", i, tok.start);
		cr_assert_eq(tok.end, want[i].e, "token %zu end %zu", i, tok.end);
	}
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
}

Test(tokenize, invalid_utf8_is_a_separator)
{
	CHECK_N("abc\x80" "def", 7, "abc def");           /* lone continuation */
	CHECK_N("abc\xff" "def\xfe", 8, "abc def");       /* 0xFF, 0xFE */
	CHECK_N("abc \xe2\x82", 6, "abc");                 /* truncated at end */
	CHECK_N("abc\xe2\x82", 5, "abc");                  /* truncated, no space */
	CHECK_N("caf\xc3", 4, "caf");
	CHECK_N("x\xf0\x9f\x98", 4, "x");
	CHECK_N("\xc0\xaf" "abc", 5, "abc");               /* overlong '/' */
	CHECK_N("\xe0\x80\xaf" "x\xc1\xbf" "y", 7, "x y"); /* overlong 3-byte */
	CHECK_N("a\xed\xa0\x80" "b", 5, "a b");            /* surrogate */
	CHECK_N("x\xf4\x90\x80\x80" "y", 6, "x y");        /* > U+10FFFF */
	CHECK_N("\xe2\x82" "abc", 5, "abc");               /* truncated, then ASCII */
	CHECK_N("ab\xc3" "cd", 5, "ab cd");
	CHECK_N("\xc3\xa9\x80\xc3\xa9", 5, "\xc3\xa9 \xc3\xa9");
	CHECK_N("don\xe2\x80s", 6, "don s");               /* broken U+2019 */
}

Test(tokenize, embedded_nul_is_a_separator)
{
	CHECK_N("ab\0cd", 5, "ab cd");
}

Test(tokenize, long_ascii_token_truncated)
{
	char in[300];
	memset(in, 'A', 200);
	memcpy(in + 200, " next", 6);
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_eq(tok.len, NS_MAX_TOKEN);
	for (size_t i = 0; i < tok.len; i++) cr_assert_eq(tok.text[i], 'a');
	cr_assert_eq(tok.start, 0);
	cr_assert_eq(tok.end, 200);
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_str_eq(tok.text, "next");
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
}

Test(tokenize, long_unicode_token_truncated_at_char_boundary)
{
	char in[400];
	size_t n = 0;
	for (int i = 0; i < 100; i++) { in[n++] = '\xc3'; in[n++] = '\xa9'; }
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, n);
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_eq(tok.len, NS_MAX_TOKEN);        /* 32 x é */
	cr_assert(valid_utf8((const unsigned char *)tok.text, tok.len));
	cr_assert_eq(tok.end, 200);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);

	/* 63 ASCII + é: é does not fit, cut before it */
	memset(in, 'b', 63);
	memcpy(in + 63, "\xc3\xa9xyz", 5);
	ns_tok_init(&t, in, 68);
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_eq(tok.len, 63);
	cr_assert_eq(tok.end, 68);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);

	/* 100 x (e + U+0301): composed é, cut across fold chunks */
	n = 0;
	for (int i = 0; i < 100; i++) {
		in[n++] = 'e'; in[n++] = '\xcc'; in[n++] = '\x81';
	}
	ns_tok_init(&t, in, n);
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_eq(tok.len, NS_MAX_TOKEN);
	for (size_t i = 0; i < tok.len; i += 2)
		cr_assert(tok.text[i] == '\xc3' && tok.text[i + 1] == '\xa9');
	cr_assert_eq(tok.end, n);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
}

Test(tokenize, truncation_strips_dangling_apostrophe)
{
	char in[100];
	memset(in, 'a', 63);
	memcpy(in + 63, "'s", 3);
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, 65);
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	cr_assert_eq(tok.len, 63);
	cr_assert_eq(tok.text[62], 'a');
}

Test(tokenize, long_run_with_ignorables_spans_chunks)
{
	/* a<SHY>b<SHY>c... : 26 letters, each followed by a soft hyphen */
	char in[200];
	size_t n = 0;
	for (int i = 0; i < 26; i++) {
		in[n++] = (char)('A' + i);
		in[n++] = '\xc2';
		in[n++] = '\xad';
	}
	n -= 2; /* drop the final soft hyphen */
	CHECK_N(in, n, "abcdefghijklmnopqrstuvwxyz");
}

Test(tokenize, empty_input)
{
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, NULL, 0);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
	ns_tok_init(&t, "abc", 0);
	cr_assert_eq(ns_tok_next(&t, &tok), 0);
	CHECK("   ,,, !! -- __ '' ..", "");
	CHECK("\xe2\x80\x94\xe2\x80\x9c\xe2\x80\x9d", "");  /* — “ ” */
}

/* Appends the UTF-8 encoding of cp. */
static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

Test(tokenize, fast_paths_match_unicode_path)
{
	/* A word joiner (U+2060, default ignorable) inserted anywhere sends the
	** token through the full utf8proc path; its text must equal what the
	** ASCII and simple-character fast paths give without it. */
	static const uint32_t alpha[] = {
		'a', 'A', 'b', 'Z', '0', '9', '\'', '.', ',', ' ', '-', 'x',
		0xE9, 0xC4, 0x3A3, 0x3C2, 0x416, 0x2019, 0x2BC, 0x65E5, 0xD55C,
		0xDF, 0x301, 0xFB01, 0x5D0, 0x661, 0x3099, 0x1E9E, 0x130,
	};
	rng_state = 0x1234567;
	for (int iter = 0; iter < 5000; iter++) {
		char w[600], wj[610];
		size_t n = 0, chars = 1 + rnd() % 90, at = 0;
		size_t want_at = rnd() % (chars + 1);
		for (size_t i = 0; i < chars; i++) {
			if (i == want_at) at = n;
			/* mostly the ASCII and simple ones, so long runs occur */
			size_t r = rnd() % 100;
			size_t pick = r < 60 ? rnd() % 12 : r < 90 ? rnd() % 21
			                                           : rnd() % 29;
			n += put_utf8(w + n, alpha[pick]);
		}
		if (want_at == chars) at = n;
		memcpy(wj, w, at);
		memcpy(wj + at, "\xe2\x81\xa0", 3);
		memcpy(wj + at + 3, w + at, n - at);
		char a[2048], b[2048];
		join_tokens_n(w, n, a, sizeof a);
		join_tokens_n(wj, n + 3, b, sizeof b);
		cr_assert_str_eq(a, b, "word %.*s at %zu", (int)n, w, at);
	}
}

Test(tokenize, every_bmp_character_same_on_fast_and_unicode_path)
{
	for (uint32_t cp = 0x80; cp < 0x10000; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF) continue;
		char w[16], wj[16], a[256], b[256];
		size_t n = 0, m = 0;
		w[n++] = 'x';
		n += put_utf8(w + n, cp);
		w[n++] = 'Y';
		wj[m++] = 'x';
		memcpy(wj + m, "\xe2\x81\xa0", 3);
		m += 3;
		m += put_utf8(wj + m, cp);
		wj[m++] = 'Y';
		join_tokens_n(w, n, a, sizeof a);
		join_tokens_n(wj, m, b, sizeof b);
		cr_assert_str_eq(a, b, "U+%04X", cp);
	}
}

Test(tokenize, ideographs_kana_hangul_fold_to_themselves)
{
	/* the fast path copies these unchanged: check against utf8proc */
	static const uint32_t ranges[][2] = {
		{ 0x3041, 0x3096 }, { 0x30A1, 0x30FA }, { 0x3400, 0x4DBF },
		{ 0x4E00, 0x9FFF }, { 0xAC00, 0xD7A3 },
	};
	for (size_t r = 0; r < 5; r++) {
		for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
			char w[8];
			size_t n = put_utf8(w, cp);
			w[n] = 0;
			utf8proc_uint8_t *f = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)w);
			cr_assert_not_null(f);
			cr_assert_str_eq((char *)f, w, "U+%04X", cp);
			free(f);
			char got[64];
			join_tokens_n(w, n, got, sizeof got);
			cr_assert_str_eq(got, w, "U+%04X", cp);
		}
	}
}

Test(tokenize, random_bytes_fuzz)
{
	static const char *pieces[] = {
		"a", "Z", "7", " ", "'", ".", ",", "\xc3\xa9", "\xcc\x81",
		"\xe2\x80\x99", "\xc2\xad", "\xe6\x97\xa5", "\xe3\x82\x99",
		"\xef\xac\x81", "\xef\xb7\xba", "\xce\xa3", "\xe1\x84\x80",
		"\xe1\x85\xa1", "\xe2\x92\x88", "\xf0\x9f\x98\x80", "\xe2\x81\xa0",
	};
	rng_state = 0x9E3779B97F4A7C15ull;
	for (int iter = 0; iter < 2000; iter++) {
		size_t len = rnd() % 400, n = 0;
		unsigned char *buf = malloc(len ? len : 1);
		cr_assert_not_null(buf);
		while (n < len) {
			if (rnd() % 3 == 0) {
				buf[n++] = (unsigned char)rnd();
			} else {
				const char *pc = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
				size_t pl = strlen(pc);
				if (pl > len - n) pl = len - n; /* may truncate a sequence */
				memcpy(buf + n, pc, pl);
				n += pl;
			}
		}
		ns_tokenizer t;
		ns_token tok;
		size_t prev_end = 0, count = 0;
		ns_tok_init(&t, (const char *)buf, len);
		while (ns_tok_next(&t, &tok)) {
			cr_assert(tok.len >= 1 && tok.len <= NS_MAX_TOKEN,
			          "iter %d len %zu", iter, tok.len);
			cr_assert_eq(tok.text[tok.len], 0);
			cr_assert(valid_utf8((const unsigned char *)tok.text, tok.len),
			          "iter %d invalid token", iter);
			cr_assert(tok.start < tok.end && tok.end <= len);
			cr_assert(tok.start >= prev_end, "iter %d offsets", iter);
			prev_end = tok.end;
			cr_assert(++count <= len, "more tokens than bytes");
		}
		free(buf);
	}
}

/* ------------------------------------------------------------------------ */
/* stem                                                                     */
/* ------------------------------------------------------------------------ */

static void stem_str(ns_stemmer *s, const char *w, char *out, size_t cap)
{
	size_t n;
	const char *r = ns_stem(s, w, strlen(w), &n);
	cr_assert_not_null(r);
	cr_assert(n < cap);
	memcpy(out, r, n);
	out[n] = 0;
}

#define STEM(s, w, want)                                                   \
	do {                                                                   \
		char got_[256];                                                    \
		stem_str((s), (w), got_, sizeof got_);                             \
		cr_assert_str_eq(got_, (want), "stem of %s", (w));                 \
	} while (0)

Test(stem, english)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("english", &s), NS_OK);
	cr_assert_not_null(s);
	cr_assert_str_eq(ns_stem_lang(s), "english");
	for (int round = 0; round < 3; round++) { /* miss, then cache hits */
		STEM(s, "running", "run");
		STEM(s, "connections", "connect");
		STEM(s, "generously", "generous");
		STEM(s, "ponies", "poni");
		STEM(s, "happy", "happi");
		STEM(s, "run", "run");
	}
	uint64_t hits, misses;
	ns_stem_cache_stats(s, &hits, &misses);
	cr_assert_eq(misses, 6);
	cr_assert_eq(hits, 12);
	ns_stem_close(s);
}

Test(stem, possessive_matches_base)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("english", &s), NS_OK);
	char a[256], b[256];
	stem_str(s, "zelensky's", a, sizeof a);
	stem_str(s, "zelensky", b, sizeof b);
	cr_assert_str_eq(a, b);

	/* through the tokenizer, with a typographic apostrophe */
	const char *in = "Zelensky\xe2\x80\x99s";
	ns_tokenizer t;
	ns_token tok;
	ns_tok_init(&t, in, strlen(in));
	cr_assert_eq(ns_tok_next(&t, &tok), 1);
	size_t n;
	const char *r = ns_stem(s, tok.text, tok.len, &n);
	cr_assert_eq(n, strlen(b));
	cr_assert(memcmp(r, b, n) == 0);
	ns_stem_close(s);
}

Test(stem, other_languages)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("German", &s), NS_OK);
	cr_assert_str_eq(ns_stem_lang(s), "german");
	STEM(s, "h\xc3\xa4user", "haus");
	ns_stem_close(s);
	cr_assert_eq(ns_stem_open("RUSSIAN", &s), NS_OK);
	STEM(s, "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
	     "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2");
	ns_stem_close(s);
}

Test(stem, none_returns_input)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("none", &s), NS_OK);
	cr_assert_str_eq(ns_stem_lang(s), "none");
	const char *w = "running";
	size_t n = 0;
	const char *r = ns_stem(s, w, 7, &n);
	cr_assert_eq(r, w);
	cr_assert_eq(n, 7);
	ns_stem_close(s);
}

Test(stem, empty_word)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("english", &s), NS_OK);
	size_t n = 99;
	const char *r = ns_stem(s, "", 0, &n);
	cr_assert_not_null(r);
	cr_assert_eq(n, 0);
	ns_stem_close(s);
}

Test(stem, unknown_language)
{
	ns_stemmer *s = (ns_stemmer *)1;
	cr_assert_eq(ns_stem_open("klingon", &s), NS_EINVAL);
	cr_assert_null(s);
	s = (ns_stemmer *)1;
	cr_assert_eq(ns_stem_open(NULL, &s), NS_EINVAL);
	cr_assert_null(s);
	cr_assert_eq(ns_stem_open("", &s), NS_EINVAL);
	cr_assert_eq(ns_stem_open("englishx", &s), NS_EINVAL);
	cr_assert_eq(ns_stem_open("english", NULL), NS_EINVAL);
	cr_assert_eq(ns_lang_valid("klingon"), 0);
	cr_assert_eq(ns_lang_valid(NULL), 0);
	cr_assert_eq(ns_lang_valid("en"), 0); /* libstemmer alias: not canonical */
	cr_assert_eq(ns_lang_valid("ENGLISH"), 1);
	ns_stem_close(NULL);
}

Test(stem, languages_list)
{
	const char *const *l = ns_languages();
	cr_assert_not_null(l);
	int english = 0, porter = 0, german = 0, none = 0;
	size_t n = 0;
	for (; l[n]; n++) {
		english |= strcmp(l[n], "english") == 0;
		porter |= strcmp(l[n], "porter") == 0;
		german |= strcmp(l[n], "german") == 0;
		none |= strcmp(l[n], "none") == 0;
		cr_assert_eq(ns_lang_valid(l[n]), 1, "%s", l[n]);
		ns_stemmer *s = NULL;
		cr_assert_eq(ns_stem_open(l[n], &s), NS_OK, "%s", l[n]);
		cr_assert_str_eq(ns_stem_lang(s), l[n]);
		size_t on;
		cr_assert_not_null(ns_stem(s, "abc", 3, &on));
		ns_stem_close(s);
	}
	cr_assert(english && porter && german && none);
	cr_assert_geq(n, 5);
	cr_assert_eq(ns_languages(), l, "static, same array every time");
}

static const char *const words[] = {
	"running", "runs", "ran", "connections", "connected", "connecting",
	"generously", "generous", "ponies", "pony", "caresses", "flies", "dies",
	"mules", "denied", "died", "agreed", "owned", "humbled", "sized",
	"meeting", "stating", "siezing", "itemization", "sensational",
	"traditional", "reference", "colonizer", "plotted", "zelensky's",
	"the", "a", "of", "national", "nationalization", "happiness",
	"relational", "conditional", "rational", "valenci", "hesitanci",
	"digitizer", "conformabli", "radicalli", "differentli", "vileli",
	"analogousli", "vietnamization", "predication", "operator",
	"feudalism", "decisiveness", "hopefulness", "callousness",
	"formaliti", "sensitiviti", "sensibiliti", "caf\xc3\xa9s",
	"electrical", "x", "1,000", "3.14",
	"internationalizationsinternationalizationsabcdefgh", /* 50 bytes */
	"supercalifragilisticexpialidociousnessesandmoreandmore", /* > 56 */
};

static void cached_matches_uncached(size_t entries)
{
	ns_stemmer *c = NULL, *u = NULL;
	cr_assert_eq(ns_stem_open_cache("english", entries, &c), NS_OK);
	cr_assert_eq(ns_stem_open_cache("english", 0, &u), NS_OK);
	size_t nw = sizeof words / sizeof words[0];
	rng_state = 42;
	for (int i = 0; i < 20000; i++) {
		const char *w = words[rnd() % nw];
		size_t cl, ul;
		char cbuf[256];
		const char *cr = ns_stem(c, w, strlen(w), &cl);
		cr_assert(cl < sizeof cbuf);
		memcpy(cbuf, cr, cl); /* the result is only valid until the next call */
		const char *ur = ns_stem(u, w, strlen(w), &ul);
		cr_assert_eq(cl, ul, "%s", w);
		cr_assert(memcmp(cbuf, ur, ul) == 0, "%s", w);
	}
	uint64_t hits, misses;
	ns_stem_cache_stats(c, &hits, &misses);
	cr_assert_eq(hits + misses, 20000);
	if (entries >= 1024) cr_assert_gt(hits, 19000);
	ns_stem_cache_stats(u, &hits, NULL);
	cr_assert_eq(hits, 0);
	ns_stem_close(c);
	ns_stem_close(u);
}

Test(stem, cache_matches_uncached) { cached_matches_uncached(NS_STEM_CACHE_DEFAULT); }
Test(stem, tiny_cache_evicts_correctly) { cached_matches_uncached(2); }
Test(stem, small_cache_matches_uncached) { cached_matches_uncached(16); }

Test(stem, long_words_are_not_cached_but_stemmed)
{
	ns_stemmer *s = NULL;
	cr_assert_eq(ns_stem_open("english", &s), NS_OK);
	char w[NS_MAX_TOKEN + 1];
	memset(w, 'a', 60);
	memcpy(w + 60, "ions", 5);
	char want[NS_MAX_TOKEN + 1];
	memset(want, 'a', 60);
	memcpy(want + 60, "ion", 4);
	for (int i = 0; i < 3; i++) STEM(s, w, want);
	uint64_t hits, misses;
	ns_stem_cache_stats(s, &hits, &misses);
	cr_assert_eq(hits, 0);
	cr_assert_eq(misses, 3);
	ns_stem_close(s);
}
