/*
** test_hostile.c -- hostile input files.  A corpus holding binary files,
** invalid UTF-8, empty files, a 100 MB single-line file, a 1 MB token,
** file names with spaces, newlines, control characters and bytes that are
** not UTF-8, unreadable files and directories, symbolic link loops, broken
** gzip and JSON Lines files, and files that vanish or change while the walk
** runs.  Each is indexed with the CLI ($NSEARCH_BIN, as `make test` sets
** it) or through the API, and must be warned about and skipped, or
** indexed; the run goes on, every sound document is indexed and
** searchable, `query --json` prints valid JSON (strict UTF-8 included), and
** ns_index_check() finds the index sound.
**
** Tests run as root: chmod 000 does not stop root, so the unreadable case
** runs the CLI in a child that drops to user nobody (65534); it is skipped
** when that cannot be done.
*/
#include <grp.h>
#include <signal.h>
#include <sys/time.h>

#include "helpers.h"

#include "source.h"

static char g_dir[64];
static char g_corpus[96];
static char g_ix[96];
static char g_bin[4096];

static void teardown(void)
{
	/* unreadable test directories must be removable */
	th_rmrf_chmod(g_dir);
	g_dir[0] = 0;
}

static void setup(void)
{
	th_bin_path(g_bin);
	th_mkdtemp(g_dir, sizeof g_dir, "hostile");
	snprintf(g_corpus, sizeof g_corpus, "%s/corpus", g_dir);
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
	cr_assert_eq(mkdir(g_corpus, 0755), 0);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 300);

#define SKIP(...) TH_SKIP(teardown, __VA_ARGS__)

#define NEED_BIN()                                                         \
	do {                                                                   \
		if (!g_bin[0] || access(g_bin, X_OK) != 0)                         \
			SKIP("NSEARCH_BIN is not set to the nsearch binary "           \
			     "(run through 'make test')");                             \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/* g_corpus/rel (caller frees) */
static char *C(const char *rel)
{
	return th_path(g_corpus, rel);
}

static void put(const char *rel, const void *data, size_t n)
{
	char *p = C(rel);
	/* create parent directories */
	for (char *s = p + strlen(g_corpus) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s", p);
		*s = '/';
	}
	th_write_file(p, data, n);
	free(p);
}

static void puts_(const char *rel, const char *s)
{
	put(rel, s, strlen(s));
}

static void link_(const char *target, const char *rel)
{
	char *p = C(rel);
	cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
	free(p);
}

/* ------------------------------------------------------------------------ */
/* Running the CLI                                                          */
/* ------------------------------------------------------------------------ */

static th_proc nsv(const char *first, va_list ap)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = g_bin;
	argv[n++] = "--index";
	argv[n++] = g_ix;
	th_argv_va(argv, n, 64, first, ap);
	return th_run(argv, g_dir, NULL, NULL);
}

/* nsearch --index g_ix ARGS... (NULL-terminated), run in g_dir */
static th_proc ns(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	th_proc r = nsv(first, ap);
	va_end(ap);
	return r;
}

/* ------------------------------------------------------------------------ */
/* A strict JSON checker for `query --json` lines                           */
/* ------------------------------------------------------------------------ */

typedef struct jv {
	const unsigned char *p, *e;
	const char *err;
	char id[1024]; /* the decoded "id" member of the last object */
	size_t id_len;
	int n_members;
} jv;

static void jv_ws(jv *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	                       *j->p == '\r'))
		j->p++;
}

static int jv_fail(jv *j, const char *why)
{
	if (!j->err) j->err = why;
	return -1;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
** no surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) n = 2;
	else if (c >= 0xe0 && c <= 0xef) n = 3;
	else if (c >= 0xf0 && c <= 0xf4) n = 4;
	else return 0;
	if (c == 0xe0) lo = 0xa0;
	if (c == 0xed) hi = 0x9f;
	if (c == 0xf0) lo = 0x90;
	if (c == 0xf4) hi = 0x8f;
	if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return 0;
	for (size_t k = 2; k < n; k++)
		if ((p[k] & 0xc0) != 0x80) return 0;
	return n;
}

static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9') return (int)(c - '0');
	if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
	return -1;
}

static int jv_hex4(jv *j, unsigned *out)
{
	unsigned v = 0;
	if (j->e - j->p < 4) return jv_fail(j, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		int h = hexval(j->p[k]);
		if (h < 0) return jv_fail(j, "bad hex digit");
		v = v * 16 + (unsigned)h;
	}
	j->p += 4;
	*out = v;
	return 0;
}

static void put_cp(char *buf, size_t cap, size_t *len, unsigned cp)
{
	char t[4];
	size_t n;
	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | cp >> 18);
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n < cap) memcpy(buf + *len, t, n);
	*len += n;
}

/* A string; decoded into out[0..cap) (NUL-terminated if it fits). */
static int jv_string(jv *j, char *out, size_t cap, size_t *olen)
{
	size_t len = 0;
	if (j->p >= j->e || *j->p != '"') return jv_fail(j, "expected a string");
	j->p++;
	for (;;) {
		if (j->p >= j->e) return jv_fail(j, "unterminated string");
		unsigned c = *j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) return jv_fail(j, "raw control character in string");
		if (c == '\\') {
			j->p++;
			if (j->p >= j->e) return jv_fail(j, "unterminated escape");
			c = *j->p++;
			unsigned cp;
			switch (c) {
			case '"': case '\\': case '/': cp = c; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (jv_hex4(j, &cp)) return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return jv_fail(j, "lone low surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned lo;
					if (j->e - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
						return jv_fail(j, "lone high surrogate");
					j->p += 2;
					if (jv_hex4(j, &lo)) return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return jv_fail(j, "bad surrogate pair");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				break;
			default:
				return jv_fail(j, "bad escape");
			}
			if (out) put_cp(out, cap, &len, cp);
			continue;
		}
		size_t n = utf8_len(j->p, j->e);
		if (!n) return jv_fail(j, "invalid UTF-8 in string");
		if (out && len + n < cap) memcpy(out + len, j->p, n);
		len += n;
		j->p += n;
	}
	if (out && cap) out[len < cap ? len : cap - 1] = 0;
	if (olen) *olen = len;
	return 0;
}

static int jv_number(jv *j)
{
	const unsigned char *s = j->p;
	if (j->p < j->e && *j->p == '-') j->p++;
	if (j->p >= j->e) return jv_fail(j, "bad number");
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	} else {
		return jv_fail(j, "bad number");
	}
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (j->p >= j->e || *j->p < '0' || *j->p > '9')
			return jv_fail(j, "bad fraction");
		while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-')) j->p++;
		if (j->p >= j->e || *j->p < '0' || *j->p > '9')
			return jv_fail(j, "bad exponent");
		while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	return j->p > s ? 0 : jv_fail(j, "bad number");
}

static int jv_value(jv *j, int depth);

static int jv_object(jv *j, int depth)
{
	j->p++; /* '{' */
	jv_ws(j);
	if (j->p < j->e && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		char key[64];
		size_t kl;
		jv_ws(j);
		if (jv_string(j, key, sizeof key, &kl)) return -1;
		jv_ws(j);
		if (j->p >= j->e || *j->p != ':') return jv_fail(j, "expected ':'");
		j->p++;
		jv_ws(j);
		if (depth == 0) j->n_members++;
		if (depth == 0 && !strcmp(key, "id")) {
			if (jv_string(j, j->id, sizeof j->id, &j->id_len)) return -1;
		} else if (jv_value(j, depth + 1)) {
			return -1;
		}
		jv_ws(j);
		if (j->p < j->e && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->e && *j->p == '}') {
			j->p++;
			return 0;
		}
		return jv_fail(j, "expected ',' or '}'");
	}
}

static int jv_value(jv *j, int depth)
{
	if (depth > 64) return jv_fail(j, "too deep");
	jv_ws(j);
	if (j->p >= j->e) return jv_fail(j, "expected a value");
	switch (*j->p) {
	case '{': return jv_object(j, depth);
	case '"': return jv_string(j, NULL, 0, NULL);
	case '[':
		j->p++;
		jv_ws(j);
		if (j->p < j->e && *j->p == ']') {
			j->p++;
			return 0;
		}
		for (;;) {
			if (jv_value(j, depth + 1)) return -1;
			jv_ws(j);
			if (j->p < j->e && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->e && *j->p == ']') {
				j->p++;
				return 0;
			}
			return jv_fail(j, "expected ',' or ']'");
		}
	case 't':
		if (j->e - j->p >= 4 && !memcmp(j->p, "true", 4)) {
			j->p += 4;
			return 0;
		}
		return jv_fail(j, "bad literal");
	case 'f':
		if (j->e - j->p >= 5 && !memcmp(j->p, "false", 5)) {
			j->p += 5;
			return 0;
		}
		return jv_fail(j, "bad literal");
	case 'n':
		if (j->e - j->p >= 4 && !memcmp(j->p, "null", 4)) {
			j->p += 4;
			return 0;
		}
		return jv_fail(j, "bad literal");
	default: return jv_number(j);
	}
}

/* Checks that out is zero or more lines, each one JSON object with the
** members rank, id, score, title, path and snippet; collects the decoded
** ids (newline-separated would be ambiguous: an array of strings).
** @return the number of lines. */
static size_t check_json_lines(const char *out, char ***ids)
{
	size_t n = 0;
	const char *s = out;
	if (ids) *ids = NULL;
	while (*s) {
		const char *nl = strchr(s, '\n');
		cr_assert_not_null(nl, "JSON output does not end with a newline");
		jv j;
		memset(&j, 0, sizeof j);
		j.p = (const unsigned char *)s;
		j.e = (const unsigned char *)nl;
		jv_ws(&j);
		cr_assert(j.p < j.e && *j.p == '{', "line %zu is not an object: %.*s",
		          n + 1, (int)(nl - s), s);
		int rc = jv_object(&j, 0);
		jv_ws(&j);
		cr_assert(rc == 0 && j.p == j.e, "line %zu: invalid JSON (%s): %.*s",
		          n + 1, j.err ? j.err : "trailing data", (int)(nl - s), s);
		cr_assert_eq(j.n_members, 6, "line %zu: %d members", n + 1,
		             j.n_members);
		if (ids) {
			*ids = realloc(*ids, (n + 2) * sizeof **ids);
			cr_assert_not_null(*ids);
			(*ids)[n] = strdup(j.id);
			(*ids)[n + 1] = NULL;
		}
		n++;
		s = nl + 1;
	}
	return n;
}

static void free_ids(char **ids)
{
	for (size_t i = 0; ids && ids[i]; i++) free(ids[i]);
	free(ids);
}

/* ------------------------------------------------------------------------ */
/* Index probes through the API                                             */
/* ------------------------------------------------------------------------ */

static uint64_t index_docs(const char *dir)
{
	ns_index *ix = th_open_index(dir);
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	ns_index_close(ix);
	return st.n_docs;
}

/* Total matches of q; the id of the first hit into first (if not NULL). */
static uint64_t hits(const char *dir, const char *q, char *first, size_t cap)
{
	ns_index *ix = th_open_index(dir);
	ns_results *r = NULL;
	char *err = NULL;
	int rc = ns_search(ix, q, NULL, &r, &err);
	cr_assert_eq(rc, NS_OK, "search [%s]: %s", q, err ? err : "?");
	uint64_t total = ns_results_total(r);
	if (first && cap) {
		first[0] = 0;
		if (ns_results_count(r))
			snprintf(first, cap, "%s", ns_results_id(r, 0));
	}
	if (ns_results_count(r)) {
		char *s = NULL;
		cr_assert_eq(ns_snippet(r, 0, "[", "]", 20, &s), NS_OK);
		ns_free(s);
	}
	ns_results_free(r);
	ns_index_close(ix);
	return total;
}

static void assert_sound(const char *dir)
{
	cr_assert_eq(ns_index_check(dir, th_log_check_line, NULL), NS_OK,
	             "ns_index_check(%s) found problems", dir);
}

/* ------------------------------------------------------------------------ */
/* A mixed corpus through the CLI                                           */
/* ------------------------------------------------------------------------ */

/* The documents that must be indexed: the unique word of each and its
** expected id (NULL: the name is not UTF-8; checked by prefix/suffix). */
typedef struct want {
	const char *word, *id, *prefix, *suffix;
} want;

Test(hostile, mixed_corpus_is_indexed_with_warnings_and_json_stays_valid)
{
	NEED_BIN();
	static const char bin[] = "binary\0\x01\x02 bravoword hostile";
	static const char badutf[] =
	    "\xff\xfe title \xc3\x28 charlieword \xed\xa0\x80 \xf8\x88\x80\x80"
	    "\x80 \xc0\xaf hostile \xf4\x90\x80\x80 end \xe2\x82";
	puts_("a_good.txt", "Good document alphaword hostile\n");
	put("b_binary.bin", bin, sizeof bin - 1);
	puts_("c_invalid.txt", badutf);
	puts_("d_empty.txt", "");
	puts_("e_blank.txt", "  \n\t\r\n   \n");
	puts_("f name with  spaces .txt", "deltaword hostile in a spaced name");
	puts_("g new\nline\r.txt", "echoword hostile newline in the name");
	puts_("h_\xff\xfe_latin\xe9.txt", "foxtrotword hostile latin-1 name");
	puts_("i_\x01""ctrl\x7f\x1b[31m.txt", "golfword hostile control chars");
	puts_("j_cesu_\xed\xa0\x80.txt", "hotelword hostile surrogate name");
	puts_("k_high_\xf5\x80\x80_\xc0\xaf.txt", "indiaword hostile bad lead");
	puts_("l_quote\"back\\slash.txt", "julietword hostile quote name");
	link_(".", "loop");
	link_("m_lb", "m_la");
	link_("m_la", "m_lb");
	link_("nowhere", "n_dangling");
	link_("a_good.txt", "o_filelink.txt");
	puts_("sub/deep/p_deep.txt", "kiloword hostile deep");
	puts_("coll/x.jsonl",
	      "{\"id\":\"j1\",\"title\":\"T\",\"text\":\"limaword hostile\"}\n"
	      "{bad json\n"
	      "\n"
	      "{\"id\":\"j2\",\"text\":\"mikeword hostile \xff\xfe\"}\n"
	      "{\"id\":\"j3\",\"text\":\"nul\\u0000 novemberword hostile\"}\n"
	      "[1,2,3]\n"
	      "{\"id\":\"j4\",\"text\":\"unterminated oscarword");
	puts_("gz/bad.gz", "not gzip at all");
	put("gz/trunc.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
	puts_("gz/zero.gz", "");
	puts_("z_last.txt", "Last file zuluword hostile\n");

	th_proc p = ns("index", "-q", g_corpus, NULL);
	cr_log_info("index stderr:\n%s", p.err);
	cr_assert_eq(p.status, 0, "index exit %d: %s", p.status, p.err);
	cr_assert(strstr(p.err, "binary file (NUL byte), skipped"), "%s", p.err);
	cr_assert(strstr(p.err, "not in gzip format"), "%s", p.err);
	cr_assert(strstr(p.err, "truncated gzip") || strstr(p.err, "corrupt gzip"),
	          "%s", p.err);
	cr_assert(strstr(p.err, "line 2:"), "malformed JSON line: %s", p.err);
	th_proc_free(&p);

	const want w[] = {
	    {"alphaword", "a_good.txt", NULL, NULL},
	    {"charlieword", "c_invalid.txt", NULL, NULL},
	    {"deltaword", "f name with  spaces .txt", NULL, NULL},
	    {"echoword", "g new\nline\r.txt", NULL, NULL},
	    {"foxtrotword", NULL, "h_", "_latin\xef\xbf\xbd.txt"},
	    {"golfword", "i_\x01""ctrl\x7f\x1b[31m.txt", NULL, NULL},
	    {"hotelword", NULL, "j_cesu_", ".txt"},
	    {"indiaword", NULL, "k_high_", ".txt"},
	    {"julietword", "l_quote\"back\\slash.txt", NULL, NULL},
	    {"kiloword", "sub/deep/p_deep.txt", NULL, NULL},
	    {"limaword", "j1", NULL, NULL},
	    {"mikeword", "j2", NULL, NULL},
	    {"novemberword", "j3", NULL, NULL},
	    {"zuluword", "z_last.txt", NULL, NULL},
	};
	size_t nw = sizeof w / sizeof *w;
	cr_assert_eq(index_docs(g_ix), nw, "documents: %" PRIu64 " want %zu",
	             index_docs(g_ix), nw);
	cr_assert_eq(hits(g_ix, "bravoword", NULL, 0), 0, "binary file indexed");
	cr_assert_eq(hits(g_ix, "oscarword", NULL, 0), 0, "malformed line indexed");
	assert_sound(g_ix);

	for (size_t i = 0; i < nw; i++) {
		p = ns("query", "--json", w[i].word, NULL);
		cr_assert_eq(p.status, 0, "[%s] exit %d: %s", w[i].word, p.status,
		             p.err);
		char **ids;
		size_t n = check_json_lines(p.out, &ids);
		cr_assert_eq(n, 1, "[%s]: %zu hits\n%s", w[i].word, n, p.out);
		if (w[i].id) {
			cr_assert_str_eq(ids[0], w[i].id, "[%s]", w[i].word);
		} else {
			size_t l = strlen(ids[0]), sl = strlen(w[i].suffix);
			cr_assert(!strncmp(ids[0], w[i].prefix, strlen(w[i].prefix)) &&
			              l >= sl && !strcmp(ids[0] + l - sl, w[i].suffix),
			          "[%s]: id %s", w[i].word, ids[0]);
			cr_assert(strstr(ids[0], "\xef\xbf\xbd"), "no U+FFFD in %s",
			          ids[0]);
		}
		free_ids(ids);
		th_proc_free(&p);
	}
	/* all at once, snippets with invalid UTF-8 included */
	p = ns("query", "--json", "-k", "100", "hostile", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(check_json_lines(p.out, NULL), nw, "%s", p.out);
	th_proc_free(&p);
	p = ns("query", "--json", "-k", "100", "--plain",
	       "alphaword charlieword \xff\xfe \xed\xa0\x80 echoword", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(check_json_lines(p.out, NULL), 3, "%s", p.out);
	th_proc_free(&p);
}

Test(hostile, a_failed_run_keeps_the_previous_index)
{
	NEED_BIN();
	puts_("a.txt", "alphaword first generation\n");
	puts_("b.txt", "bravoword first generation\n");
	th_proc p = ns("index", "-q", g_corpus, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	th_proc_free(&p);
	cr_assert_eq(index_docs(g_ix), 2);

	/* a root that does not exist, and one that is a symbolic link loop */
	char *loop = th_path(g_dir, "loop");
	cr_assert_eq(symlink("loop", loop), 0);
	p = ns("index", "-q", "/nonexistent/nsearch/path", loop, NULL);
	cr_log_info("stderr: %s", p.err);
	cr_assert_eq(p.status, 1, "exit %d", p.status);
	cr_assert(strstr(p.err, "previous index is unchanged"), "%s", p.err);
	th_proc_free(&p);
	cr_assert_eq(index_docs(g_ix), 2);
	cr_assert_eq(hits(g_ix, "bravoword", NULL, 0), 1);
	assert_sound(g_ix);

	/* a loop root beside a good one: the good one is indexed, exit 1 */
	puts_("c.txt", "charlieword second generation\n");
	p = ns("index", "-q", loop, g_corpus, NULL);
	cr_log_info("stderr: %s", p.err);
	cr_assert_eq(p.status, 1, "exit %d", p.status);
	cr_assert(strstr(p.err, "loop"), "%s", p.err);
	th_proc_free(&p);
	cr_assert_eq(index_docs(g_ix), 3);
	cr_assert_eq(hits(g_ix, "charlieword", NULL, 0), 1);
	assert_sound(g_ix);
	free(loop);
}

/* ------------------------------------------------------------------------ */
/* Big inputs                                                               */
/* ------------------------------------------------------------------------ */

Test(hostile, hundred_megabyte_file_on_one_line, .timeout = 600)
{
	NEED_BIN();
	const size_t total = (size_t)100 << 20, chunk = (size_t)1 << 20;
	char *big = C("big.txt");
	FILE *f = fopen(big, "wb");
	cr_assert_not_null(f);
	char *buf = malloc(chunk);
	cr_assert_not_null(buf);
	th_rng r = {7};
	fputs("needlefirstword ", f);
	size_t written = 16;
	while (written < total) {
		size_t n = 0;
		while (n < chunk - 16) /* words w0..w4999, no newline */
			n += (size_t)sprintf(buf + n, "w%u ", th_below(&r, 5000));
		cr_assert_eq(fwrite(buf, 1, n, f), n);
		written += n;
	}
	fputs("needlelastword", f);
	cr_assert_eq(fclose(f), 0);
	free(buf);
	free(big);
	puts_("small.txt", "a small neighbour smallword\n");

	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	th_proc p = ns("index", "-q", g_corpus, NULL);
	gettimeofday(&t1, NULL);
	cr_log_info("indexed %zu MB on one line in %.1f s", written >> 20,
	            (double)(t1.tv_sec - t0.tv_sec) +
	                (double)(t1.tv_usec - t0.tv_usec) / 1e6);
	cr_assert_eq(p.status, 0, "exit %d: %s", p.status, p.err);
	th_proc_free(&p);
	cr_assert_eq(index_docs(g_ix), 2);
	char id[64];
	cr_assert_eq(hits(g_ix, "needlelastword", id, sizeof id), 1);
	cr_assert_str_eq(id, "big.txt");
	cr_assert_eq(hits(g_ix, "needlefirstword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "w4999", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "smallword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "\"needlefirstword w1\"", NULL, 0) <= 1, 1);
	assert_sound(g_ix);
}

Test(hostile, one_megabyte_token)
{
	NEED_BIN();
	const size_t tok = (size_t)1 << 20;
	char *t = malloc(tok + 256);
	cr_assert_not_null(t);
	/* ASCII */
	size_t n = (size_t)sprintf(t, "before words ");
	memset(t + n, 'x', tok);
	n += tok;
	n += (size_t)sprintf(t + n, " after words tangoword\n");
	put("ascii.txt", t, n);
	/* two-byte characters, no separator */
	n = 0;
	while (n < tok) {
		t[n++] = (char)0xc3;
		t[n++] = (char)0xa9;
	}
	n += (size_t)sprintf(t + n, " uniformword");
	put("utf8.txt", t, n);
	/* a digit run, and the same token in a JSON Lines record */
	memset(t, '7', tok);
	n = tok + (size_t)sprintf(t + tok, " victorword");
	put("digits.txt", t, n);
	puts_("z.txt", "neighbour whiskeyword\n");

	th_proc p = ns("index", "-q", g_corpus, NULL);
	cr_assert_eq(p.status, 0, "exit %d: %s", p.status, p.err);
	th_proc_free(&p);
	cr_assert_eq(index_docs(g_ix), 4);
	cr_assert_eq(hits(g_ix, "tangoword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "uniformword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "victorword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "whiskeyword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "before", NULL, 0), 1);
	assert_sound(g_ix);

	/* the JSON output of the hit with the giant token */
	p = ns("query", "--json", "tangoword", NULL);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(check_json_lines(p.out, NULL), 1);
	th_proc_free(&p);

	/* a 1 MB query word through the API: answered or refused, no crash */
	ns_index *ix = th_open_index(g_ix);
	memset(t, 'x', tok);
	t[tok] = 0;
	for (int plain = 0; plain < 2; plain++) {
		ns_search_options o;
		ns_search_options_init(&o);
		o.plain = plain;
		ns_results *r = NULL;
		char *err = NULL;
		int rc = ns_search(ix, t, &o, &r, &err);
		cr_assert(rc == NS_OK || rc == NS_ESYNTAX, "rc %d", rc);
		ns_results_free(r);
		ns_free(err);
	}
	ns_index_close(ix);
	free(t);
}

/* ------------------------------------------------------------------------ */
/* Unreadable files and directories                                         */
/* ------------------------------------------------------------------------ */

/* Runs `nsearch --index g_ix index -q g_corpus`, as user nobody when we are
** root.  @return the exit status, or -1 when the permissions do not bite:
** probe (relative to the corpus; NULL: no check) stays readable, or nobody
** cannot be become (the test is then skipped); *err gets stderr. */
static int index_unprivileged(char **err, const char *probe)
{
	char *errf = th_path(g_dir, "stderr");
	char *locked = probe ? C(probe) : NULL;
	int o = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(o >= 0, "%s: %s", errf, strerror(errno));
	pid_t pid = th_fork();
	if (pid == 0) {
		if (geteuid() == 0) {
			if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
			    setuid(65534) != 0)
				_exit(77);
		}
		int fd = locked ? open(locked, O_RDONLY) : -1;
		if (fd >= 0) _exit(77); /* permissions do not bite */
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(o, 2) < 0)
			_exit(78);
		execl(g_bin, g_bin, "--index", g_ix, "index", "-q", g_corpus,
		      (char *)NULL);
		_exit(79);
	}
	close(o);
	int rc = th_wait(pid);
	*err = th_read_file(errf, NULL);
	free(errf);
	free(locked);
	return rc == 77 ? -1 : rc;
}

Test(hostile, unreadable_files_and_directories_are_warned_and_skipped)
{
	NEED_BIN();
	puts_("a.txt", "alphaword readable\n");
	puts_("locked.txt", "bravoword locked\n");
	puts_("lockdir/in.txt", "charlieword inside a locked directory\n");
	puts_("open/deep/d.txt", "deltaword readable\n");
	puts_("z.txt", "zuluword readable\n");
	char *p = C("locked.txt");
	cr_assert_eq(chmod(p, 0), 0);
	free(p);
	p = C("lockdir");
	cr_assert_eq(chmod(p, 0), 0);
	free(p);
	/* nobody must reach the corpus and own the index directory */
	cr_assert_eq(chmod(g_dir, 0755), 0);
	cr_assert_eq(mkdir(g_ix, 0777), 0);
	cr_assert_eq(chmod(g_ix, 0777), 0);
	char *err = NULL;
	int rc = index_unprivileged(&err, "locked.txt");
	if (rc < 0) {
		free(err);
		SKIP("cannot run without permission override (not root, or "
		     "setuid failed): chmod 000 does not make files unreadable");
	}
	cr_log_info("stderr:\n%s", err ? err : "");
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err ? err : "");
	cr_assert(err && strstr(err, "locked.txt: cannot open"), "%s", err);
	cr_assert(strstr(err, "lockdir: cannot open directory"), "%s", err);
	free(err);
	cr_assert_eq(index_docs(g_ix), 3);
	cr_assert_eq(hits(g_ix, "alphaword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "deltaword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "zuluword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "bravoword charlieword", NULL, 0), 0);
	assert_sound(g_ix);
}

/* An update that cannot open a directory keeps the documents of its files
** (a permission or disk problem is not a deletion), while a directory that
** is gone takes its documents with it. */
Test(hostile, unreadable_directory_keeps_its_documents_on_update)
{
	NEED_BIN();
	puts_("a.txt", "alphaword readable\n");
	puts_("lockdir/in.txt", "charlieword inside a directory locked later\n");
	puts_("lockdir/sub/deep.txt", "echoword deeper inside it\n");
	puts_("gone/x.txt", "foxtrotword in a directory removed later\n");
	cr_assert_eq(chmod(g_dir, 0755), 0);
	cr_assert_eq(mkdir(g_ix, 0777), 0);
	cr_assert_eq(chmod(g_ix, 0777), 0);
	char *err = NULL;
	int rc = index_unprivileged(&err, NULL);
	if (rc < 0) {
		free(err);
		SKIP("cannot run as another user (not root, or setuid failed)");
	}
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err ? err : "");
	free(err);
	cr_assert_eq(index_docs(g_ix), 4);

	char *p = C("lockdir");
	cr_assert_eq(chmod(p, 0), 0);
	char *q = C("gone/x.txt");
	cr_assert_eq(unlink(q), 0);
	free(q);
	q = C("gone");
	cr_assert_eq(rmdir(q), 0);
	free(q);
	rc = index_unprivileged(&err, "lockdir/in.txt");
	chmod(p, 0755); /* for the teardown, whatever happened */
	free(p);
	if (rc < 0) {
		free(err);
		SKIP("cannot run without permission override (not root, or "
		     "setuid failed): chmod 000 does not make directories unreadable");
	}
	cr_log_info("stderr:\n%s", err ? err : "");
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err ? err : "");
	cr_assert(err && strstr(err, "lockdir: cannot open directory"), "%s", err);
	free(err);
	cr_assert_eq(index_docs(g_ix), 3);
	cr_assert_eq(hits(g_ix, "charlieword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "echoword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "foxtrotword", NULL, 0), 0);
	cr_assert_eq(hits(g_ix, "alphaword", NULL, 0), 1);
	assert_sound(g_ix);

	/* the root itself unreadable: the run fails (exit 1) and every
	** document is kept */
	cr_assert_eq(chmod(g_corpus, 0), 0);
	rc = index_unprivileged(&err, NULL);
	chmod(g_corpus, 0755);
	cr_log_info("stderr:\n%s", err ? err : "");
	cr_assert_eq(rc, 1, "exit %d: %s", rc, err ? err : "");
	cr_assert(err && strstr(err, "cannot open directory"), "%s", err);
	free(err);
	cr_assert_eq(index_docs(g_ix), 3);
	cr_assert_eq(hits(g_ix, "alphaword", NULL, 0), 1);
	assert_sound(g_ix);
}

/* ------------------------------------------------------------------------ */
/* Files that vanish or change during the walk (through the API)            */
/* ------------------------------------------------------------------------ */

typedef struct vctx {
	ns_writer *w;
	char **warns;
	size_t nw;
	int mutated;
} vctx;

static void rm_(const char *rel)
{
	char *p = C(rel);
	cr_assert_eq(unlink(p), 0, "unlink %s", p);
	free(p);
}

/* Mutates the corpus when the first document arrives: b..h change or go
** before the walker reaches them. */
static void mutate(void)
{
	rm_("b_vanish.txt");
	char *p = C("c_truncate.txt");
	cr_assert_eq(truncate(p, 0), 0);
	free(p);
	p = C("d_grow.txt");
	FILE *f = fopen(p, "a");
	cr_assert_not_null(f);
	fputs(" grownword appended while indexing\n", f);
	fclose(f);
	free(p);
	rm_("e_symlink.txt");
	link_("a_first.txt", "e_symlink.txt");
	rm_("f_fifo.txt");
	p = C("f_fifo.txt");
	cr_assert_eq(mkfifo(p, 0644), 0);
	free(p);
	rm_("g_dir.txt");
	puts_("g_dir.txt/inner.txt", "innerword\n");
	put("h_binary.txt", "now\0binary", 10);
	rm_("sub/i_vanish.txt");
	p = C("sub");
	char *q = C("sub2");
	cr_assert_eq(rename(p, q), 0); /* a directory vanishes */
	free(p);
	free(q);
}

static int v_doc(void *ctx, const ns_doc *d)
{
	vctx *c = ctx;
	if (!c->mutated) {
		mutate();
		c->mutated = 1;
	}
	int rc = ns_writer_add(c->w, d);
	return rc == NS_EINVAL ? 0 : rc;
}

static void v_warn(void *ctx, const char *path, const char *msg)
{
	vctx *c = ctx;
	c->warns = realloc(c->warns, (c->nw + 1) * sizeof *c->warns);
	cr_assert_not_null(c->warns);
	size_t n = strlen(path) + strlen(msg) + 2;
	c->warns[c->nw] = malloc(n);
	snprintf(c->warns[c->nw], n, "%s|%s", path, msg);
	cr_log_info("warning: %s", c->warns[c->nw]);
	c->nw++;
}

static int has_warn(const vctx *c, const char *a, const char *b)
{
	for (size_t i = 0; i < c->nw; i++)
		if (strstr(c->warns[i], a) && strstr(c->warns[i], b)) return 1;
	return 0;
}

Test(hostile, files_vanishing_or_changing_during_the_walk)
{
	puts_("a_first.txt", "alphaword first\n");
	puts_("b_vanish.txt", "bravoword vanishes\n");
	puts_("c_truncate.txt", "charlieword is truncated\n");
	puts_("d_grow.txt", "deltaword grows");
	puts_("e_symlink.txt", "echoword becomes a symlink\n");
	puts_("f_fifo.txt", "foxtrotword becomes a fifo\n");
	puts_("g_dir.txt", "golfword becomes a directory\n");
	puts_("h_binary.txt", "hotelword becomes binary\n");
	puts_("sub/i_vanish.txt", "indiaword vanishes with its directory\n");
	puts_("z_last.txt", "zuluword last\n");

	vctx c;
	memset(&c, 0, sizeof c);
	ns_writer_options wo = {.threads = 1};
	char *err = NULL;
	cr_assert_eq(ns_writer_open(g_ix, &wo, &c.w, &err), NS_OK);
	ns_walk_options o = {.on_doc = v_doc, .on_warn = v_warn, .ctx = &c};
	ns_walk_stats st;
	memset(&st, 0, sizeof st);
	cr_assert_eq(ns_walk(g_corpus, &o, &st), NS_OK);
	cr_assert_eq(ns_writer_commit(c.w), NS_OK, "%s", ns_writer_errmsg(c.w));
	ns_writer_close(c.w);

	cr_assert(has_warn(&c, "b_vanish.txt", "vanished"));
	cr_assert(has_warn(&c, "h_binary.txt", "binary"));
	cr_assert(has_warn(&c, "sub", "vanished"));
	/* a, d (grown), g_dir.txt/inner.txt (the new directory is walked: it
	** was a file when listed, so it is skipped or walked, never a crash),
	** z */
	uint64_t nd = index_docs(g_ix);
	cr_assert(nd == 3 || nd == 4, "%" PRIu64 " documents", nd);
	cr_assert_eq(hits(g_ix, "alphaword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "grownword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "zuluword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "bravoword charlieword echoword foxtrotword "
	                        "golfword hotelword indiaword",
	                  NULL, 0),
	             0);
	assert_sound(g_ix);
	for (size_t i = 0; i < c.nw; i++) free(c.warns[i]);
	free(c.warns);
}

/* ------------------------------------------------------------------------ */
/* Hostile documents through the API                                        */
/* ------------------------------------------------------------------------ */

Test(hostile, api_documents_with_nul_bytes_bad_utf8_and_odd_ids)
{
	static const char nul_text[] = "nulword before\0after \xff\xfe\xed\xa0\x80"
	                               " \0\0\0 trailing";
	static const char bad_title[] = "title \xc3\x28\xf8\x88\x80\x80\x80 end";
	ns_writer_options wo = {.threads = 2};
	ns_writer *w = NULL;
	char *err = NULL;
	cr_assert_eq(ns_writer_open(g_ix, &wo, &w, &err), NS_OK);
	char *huge_id = malloc(100000);
	cr_assert_not_null(huge_id);
	memset(huge_id, 'i', 99999);
	huge_id[99999] = 0;
	ns_doc docs[] = {
	    {.id = "nul", .title = bad_title, .path = "p\nq", .text = nul_text,
	     .text_len = sizeof nul_text - 1},
	    {.id = "id\nwith\xff\xfe bytes", .title = "", .text = "oddidword"},
	    {.id = huge_id, .title = NULL, .text = "hugeidword"},
	    {.id = "empty", .text = ""},
	    {.id = "null-text", .text = NULL},
	    {.id = "tabs", .text = "\t\t\r\n\v\f  tabword"},
	};
	for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
		if (docs[i].text && !docs[i].text_len)
			docs[i].text_len = strlen(docs[i].text);
		int rc = ns_writer_add(w, &docs[i]);
		cr_assert_eq(rc, NS_OK, "doc %zu: %s", i, ns_writer_errmsg(w));
	}
	/* refused documents; the writer goes on */
	ns_doc dup = {.id = "nul", .text = "duplicate", .text_len = 9};
	cr_assert_eq(ns_writer_add(w, &dup), NS_EINVAL);
	ns_doc noid = {.id = NULL, .text = "no id"};
	cr_assert_eq(ns_writer_add(w, &noid), NS_EINVAL);
	ns_doc after = {.id = "after", .text = "afterword", .text_len = 9};
	cr_assert_eq(ns_writer_add(w, &after), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK, "%s", ns_writer_errmsg(w));
	ns_writer_close(w);

	cr_assert_eq(index_docs(g_ix), 7);
	assert_sound(g_ix);
	char id[128];
	cr_assert_eq(hits(g_ix, "nulword", id, sizeof id), 1);
	cr_assert_str_eq(id, "nul");
	cr_assert_eq(hits(g_ix, "trailing", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "oddidword", id, sizeof id), 1);
	cr_assert_str_eq(id, "id\nwith\xff\xfe bytes");
	cr_assert_eq(hits(g_ix, "hugeidword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "tabword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "afterword", NULL, 0), 1);
	cr_assert_eq(hits(g_ix, "duplicate", NULL, 0), 0);

	/* the snippet of the document with NUL bytes is NUL-free text */
	ns_index *ix = th_open_index(g_ix);
	ns_results *r = NULL;
	cr_assert_eq(ns_search(ix, "nulword", NULL, &r, &err), NS_OK);
	char *s = NULL;
	cr_assert_eq(ns_snippet(r, 0, "<", ">", 0, &s), NS_OK);
	cr_log_info("snippet: %s", s);
	cr_assert(strstr(s, "<nulword>"), "%s", s);
	ns_free(s);
	cr_assert_str_eq(ns_results_path(r, 0), "p\nq");
	ns_results_free(r);
	ns_index_close(ix);
	free(huge_id);
}
