/*
** test_source.c -- the directory walker and the text / gzip / JSON Lines
** readers (src/source.c).  Every test works in its own mkdtemp() directory
** under /tmp, created by the suite's .init and removed by its .fini.
*/
#include <zlib.h>

#include "helpers.h"

#include "common.h"
#include "source.h"

/* ------------------------------------------------------------------------ */
/* Fixture: a temporary directory                                           */
/* ------------------------------------------------------------------------ */

static char g_dir[64];

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "source");
}

static void teardown(void)
{
	/* make unreadable test directories removable again */
	th_rmrf_chmod(g_dir);
	g_dir[0] = 0;
}

TestSuite(source, .init = setup, .fini = teardown);

#define SKIP(...) TH_SKIP(teardown, __VA_ARGS__)

/* Path inside the temporary directory (static rotating buffers). */
static const char *P(const char *rel)
{
	static char bufs[8][2048];
	static int k;
	char *b = bufs[k++ & 7];
	snprintf(b, sizeof bufs[0], "%s/%s", g_dir, rel);
	return b;
}

static void mkdirs(const char *rel)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", rel);
	for (char *s = tmp; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(P(tmp), 0755);
			*s = '/';
		}
	}
	mkdir(P(tmp), 0755);
}

static void write_bytes(const char *rel, const void *data, size_t n)
{
	char dir[1024];
	char *slash;
	snprintf(dir, sizeof dir, "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		mkdirs(dir);
	}
	FILE *f = fopen(P(rel), "wb");
	cr_assert_not_null(f, "cannot create %s", P(rel));
	if (n) cr_assert_eq(fwrite(data, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

static void write_str(const char *rel, const char *s)
{
	write_bytes(rel, s, strlen(s));
}

/* Writes data as one gzip member; append adds another member. */
static void write_gz(const char *rel, const void *data, size_t n, int append)
{
	gzFile g = gzopen(P(rel), append ? "ab" : "wb");
	cr_assert_not_null(g);
	if (n) cr_assert_eq(gzwrite(g, data, (unsigned)n), (int)n);
	cr_assert_eq(gzclose(g), Z_OK);
}

static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)len + 1);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* ------------------------------------------------------------------------ */
/* Collector: copies every document and warning                             */
/* ------------------------------------------------------------------------ */

typedef struct rdoc {
	char *id, *title, *path, *text;
	size_t text_len;
	uint64_t size;
	int64_t mtime;
} rdoc;

typedef struct coll {
	rdoc *docs;
	size_t n, cap;
	char **warns; /* "path|msg" */
	size_t nw, capw;
	size_t stop_after; /* return stop_rc after this many docs (0: never) */
	int stop_rc;
	const char *unlink_on; /* remove this file when this id is seen */
	const char *unlink_path;
	uint64_t progress_calls, last_files, last_bytes;
} coll;

static int on_doc(void *ctx, const ns_doc *d)
{
	coll *c = ctx;
	cr_assert_not_null(d->id);
	cr_assert_not_null(d->title);
	cr_assert_not_null(d->text);
	cr_assert_eq(strlen(d->text), d->text_len, "text has a NUL or bad length");
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->docs = realloc(c->docs, c->cap * sizeof *c->docs);
		cr_assert_not_null(c->docs);
	}
	rdoc *r = &c->docs[c->n++];
	r->id = strdup(d->id);
	r->title = strdup(d->title);
	r->path = strdup(d->path ? d->path : "");
	r->text = malloc(d->text_len + 1);
	memcpy(r->text, d->text, d->text_len + 1);
	r->text_len = d->text_len;
	r->size = d->size;
	r->mtime = d->mtime;
	if (c->unlink_on && strcmp(d->id, c->unlink_on) == 0)
		unlink(c->unlink_path);
	if (c->stop_after && c->n == c->stop_after) return c->stop_rc;
	return 0;
}

static void on_warn(void *ctx, const char *path, const char *msg)
{
	coll *c = ctx;
	if (c->nw == c->capw) {
		c->capw = c->capw ? 2 * c->capw : 16;
		c->warns = realloc(c->warns, c->capw * sizeof *c->warns);
		cr_assert_not_null(c->warns);
	}
	size_t n = strlen(path) + strlen(msg) + 2;
	char *s = malloc(n);
	snprintf(s, n, "%s|%s", path, msg);
	c->warns[c->nw++] = s;
}

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	coll *c = ctx;
	cr_assert_geq(files, c->last_files);
	cr_assert_geq(bytes, c->last_bytes);
	c->progress_calls++;
	c->last_files = files;
	c->last_bytes = bytes;
}

static void coll_free(coll *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->docs[i].id);
		free(c->docs[i].title);
		free(c->docs[i].path);
		free(c->docs[i].text);
	}
	for (size_t i = 0; i < c->nw; i++) free(c->warns[i]);
	free(c->docs);
	free(c->warns);
	memset(c, 0, sizeof *c);
}

static int walk(const char *root, coll *c, ns_walk_stats *st)
{
	ns_walk_options o = {.on_doc = on_doc, .on_warn = on_warn,
	                     .on_progress = on_progress, .ctx = c};
	return ns_walk(root, &o, st);
}

static const rdoc *find_doc(const coll *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->docs[i].id, id) == 0) return &c->docs[i];
	return NULL;
}

static void dump_warns(const coll *c)
{
	for (size_t i = 0; i < c->nw; i++) cr_log_info("warning: %s", c->warns[i]);
}

/* ------------------------------------------------------------------------ */
/* Directory walking                                                        */
/* ------------------------------------------------------------------------ */

Test(source, nested_dirs_sorted_order_and_relative_ids)
{
	write_str("b.txt", "Bee\nsecond b\n");
	write_str("a.txt", "Ay\n");
	write_str("B.txt", "Upper B\n");
	write_str("sub/z.txt", "Zed\n");
	write_str("sub/deeper/m.txt", "Em\n");
	write_str("a0/x.txt", "Ex\n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	const char *want[] = { "B.txt", "a.txt", "a0/x.txt", "b.txt",
	                       "sub/deeper/m.txt", "sub/z.txt" };
	const char *titles[] = { "Upper B", "Ay", "Ex", "Bee", "Em", "Zed" };
	cr_assert_eq(c.n, 6);
	for (size_t i = 0; i < 6; i++) {
		cr_expect_str_eq(c.docs[i].id, want[i]);
		cr_expect_str_eq(c.docs[i].path, P(want[i]));
		cr_expect_str_eq(c.docs[i].title, titles[i]);
	}
	struct stat sb;
	cr_assert_eq(stat(P("b.txt"), &sb), 0);
	const rdoc *b = find_doc(&c, "b.txt");
	cr_assert_str_eq(b->text, "Bee\nsecond b\n");
	cr_assert_eq(b->text_len, 13);
	cr_assert_eq(b->size, 13);
	cr_assert_eq(b->mtime, (int64_t)sb.st_mtime);
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(st.files, 6);
	cr_assert_eq(st.docs, 6);
	cr_assert_eq(st.skipped, 0);
	cr_assert_eq(st.warnings, 0);
	cr_assert_eq(st.bytes, 13 + 3 + 8 + 4 + 3 + 3);
	cr_assert_eq(c.progress_calls, 6);
	cr_assert_eq(c.last_files, 6);
	coll_free(&c);
}

Test(source, root_with_trailing_slashes_is_joined_cleanly)
{
	write_str("d/f.txt", "F\n");
	char root[2048];
	snprintf(root, sizeof root, "%s/d//", g_dir);
	coll c = { 0 };
	cr_assert_eq(walk(root, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "f.txt");
	cr_assert_str_eq(c.docs[0].path, P("d/f.txt"));
	coll_free(&c);
}

Test(source, relative_root)
{
	write_str("r/one.txt", "One\n");
	cr_assert_eq(chdir(g_dir), 0);
	coll c = { 0 };
	cr_assert_eq(walk("r", &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "one.txt");
	cr_assert_str_eq(c.docs[0].path, "r/one.txt");
	coll_free(&c);
	cr_assert_eq(walk(".", &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "r/one.txt");
	cr_assert_str_eq(c.docs[0].path, "./r/one.txt");
	coll_free(&c);
}

Test(source, hidden_files_and_dirs_are_skipped)
{
	write_str(".git/config", "secret\n");
	write_str(".nsearch/x.txt", "index\n");
	write_str(".hidden.txt", "hidden\n");
	write_str("sub/.dot.txt", "dot\n");
	write_str("sub/visible.txt", "Visible\n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "sub/visible.txt");
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(st.files, 1);
	cr_assert_eq(st.skipped, 0);
	coll_free(&c);
}

Test(source, hidden_root_itself_is_walked)
{
	write_str(".hid/a.txt", "A\n");
	coll c = { 0 };
	cr_assert_eq(walk(P(".hid"), &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "a.txt");
	coll_free(&c);
}

Test(source, symlinks_are_not_followed_and_loops_end)
{
	write_str("a.txt", "A\n");
	write_str("sub/b.txt", "B\n");
	cr_assert_eq(symlink("..", P("sub/loop")), 0);        /* dir loop */
	cr_assert_eq(symlink("a.txt", P("link.txt")), 0);     /* file link */
	cr_assert_eq(symlink("nowhere", P("dangling")), 0);   /* dangling */
	cr_assert_eq(symlink("sub", P("sublink")), 0);        /* dir link */
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.docs[0].id, "a.txt");
	cr_assert_str_eq(c.docs[1].id, "sub/b.txt");
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(st.skipped, 4);
	coll_free(&c);

	/* a root that is a symlink is followed */
	cr_assert_eq(walk(P("sublink"), &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "b.txt");
	cr_assert_str_eq(c.docs[0].path, P("sublink/b.txt"));
	coll_free(&c);
	cr_assert_eq(walk(P("link.txt"), &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, P("link.txt"));
	coll_free(&c);
}

Test(source, fifo_is_skipped_without_blocking)
{
	write_str("a.txt", "A\n");
	cr_assert_eq(mkfifo(P("pipe"), 0644), 0);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(st.skipped, 1);
	coll_free(&c);
	/* as a root it is refused */
	cr_assert_eq(walk(P("pipe"), &c, NULL), NS_EINVAL);
	cr_assert_eq(c.nw, 1);
	coll_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Text files                                                               */
/* ------------------------------------------------------------------------ */

Test(source, nul_byte_file_is_skipped_with_one_warning)
{
	write_bytes("bin.dat", "abc\0def\0", 8);
	write_str("ok.txt", "fine\n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "ok.txt");
	cr_assert_eq(c.nw, 1);
	char want[2200];
	snprintf(want, sizeof want, "%s|binary file (NUL byte), skipped",
	         P("bin.dat"));
	cr_assert_str_eq(c.warns[0], want);
	cr_assert_eq(st.warnings, 1);
	cr_assert_eq(st.skipped, 1);
	cr_assert_eq(st.files, 2);
	coll_free(&c);
}

Test(source, empty_and_blank_files_are_skipped_silently)
{
	write_str("empty.txt", "");
	write_str("blank.txt", " \n\t\r\n  \n");
	write_str("ok.txt", "x");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "ok.txt");
	cr_assert_str_eq(c.docs[0].title, "x");
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(st.skipped, 2);
	cr_assert_eq(st.files, 3);
	coll_free(&c);
}

Test(source, title_is_first_nonblank_line_trimmed)
{
	write_str("a.txt", "\n  \r\n\t  The Title \t\r\nbody line\n");
	write_str("b.txt", "\xEF\xBB\xBF" "Bom title\nx\n");
	write_str("c.txt", "no newline at all   ");
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.docs[0].title, "The Title");
	cr_assert_str_eq(c.docs[0].text, "\n  \r\n\t  The Title \t\r\nbody line\n");
	cr_assert_str_eq(c.docs[1].title, "Bom title");
	cr_assert_str_eq(c.docs[2].title, "no newline at all");
	coll_free(&c);
}

Test(source, long_title_is_cut_at_a_utf8_boundary)
{
	/* 255 ASCII bytes then "é" (2 bytes): byte 256 would split it */
	char line[600];
	memset(line, 'a', 255);
	memcpy(line + 255, "\xC3\xA9", 2);
	memset(line + 257, 'b', 100);
	line[357] = '\n';
	line[358] = 0;
	write_str("t.txt", line);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(strlen(c.docs[0].title), 255);
	cr_assert_eq(c.docs[0].text_len, 358);
	coll_free(&c);

	memset(line, 'z', 400);
	line[400] = 0;
	write_str("t.txt", line);
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(strlen(c.docs[0].title), NS_SOURCE_TITLE_MAX);
	coll_free(&c);
}

Test(source, invalid_utf8_is_passed_through)
{
	write_bytes("x.txt", "ok \xFF\xFE bad\n", 10);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(c.docs[0].text_len, 10);
	cr_assert_eq(memcmp(c.docs[0].text, "ok \xFF\xFE bad\n", 10), 0);
	coll_free(&c);
}

Test(source, big_single_line_text_file)
{
	size_t n = (size_t)24 << 20; /* 24 MiB, one line */
	char *big = malloc(n + 1);
	cr_assert_not_null(big);
	for (size_t i = 0; i < n; i++) big[i] = (i % 7 == 6) ? ' ' : 'k';
	big[n] = 0;
	write_bytes("big.txt", big, n);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(c.docs[0].text_len, n);
	cr_assert_eq(memcmp(c.docs[0].text, big, n), 0);
	size_t tl = NS_SOURCE_TITLE_MAX;
	while (big[tl - 1] == ' ') tl--;
	cr_assert_eq(strlen(c.docs[0].title), tl);
	cr_assert_eq(memcmp(c.docs[0].title, big, tl), 0);
	cr_assert_eq(st.bytes, n);
	coll_free(&c);
	free(big);
}

/* ------------------------------------------------------------------------ */
/* gzip                                                                     */
/* ------------------------------------------------------------------------ */

Test(source, gz_text_file_keeps_its_name)
{
	const char *s = "Gz Title\nsome compressed body\n";
	write_gz("doc.txt.gz", s, strlen(s), 0);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "doc.txt.gz");
	cr_assert_str_eq(c.docs[0].title, "Gz Title");
	cr_assert_str_eq(c.docs[0].text, s);
	struct stat sb;
	cr_assert_eq(stat(P("doc.txt.gz"), &sb), 0);
	cr_assert_eq(c.docs[0].size, (uint64_t)sb.st_size);
	cr_assert_eq(st.bytes, strlen(s));
	coll_free(&c);
}

Test(source, gz_concatenated_members)
{
	write_gz("m.gz", "first part\n", 11, 0);
	write_gz("m.gz", "second part\n", 12, 1);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].text, "first part\nsecond part\n");
	coll_free(&c);
}

Test(source, gz_empty_and_binary)
{
	write_gz("empty.gz", "", 0, 0);
	write_str("zero.gz", "");
	write_gz("bin.gz", "a\0b", 3, 0);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], "bin.gz|binary file (NUL byte), skipped"));
	cr_assert_eq(st.skipped, 3);
	coll_free(&c);
}

/* A compressible text large enough to give a multi-block deflate stream. */
static char *sample_text(size_t n, int newlines)
{
	char *s = malloc(n + 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (newlines && i % 61 == 60) ? '\n'
		                                   : (char)('a' + (x >> 16) % 26);
	}
	s[n] = 0;
	return s;
}

Test(source, corrupt_gz_is_warned_and_skipped)
{
	char *text = sample_text(200000, 1);
	write_gz("good.gz", text, 200000, 0);
	size_t n;
	uint8_t *gz = read_all(P("good.gz"), &n);
	cr_assert_gt(n, 1000);
	write_bytes("truncated.gz", gz, n / 2);
	gz[n / 2] ^= 0x55;
	gz[n / 2 + 1] ^= 0xAA;
	gz[n / 2 + 7] ^= 0x0F;
	write_bytes("flipped.gz", gz, n);
	gz[n / 2] ^= 0x55; /* undo */
	gz[n / 2 + 1] ^= 0xAA;
	gz[n / 2 + 7] ^= 0x0F;
	gz[n - 6] ^= 0x01; /* CRC32 of the trailer */
	write_bytes("badcrc.gz", gz, n);
	write_str("plain.gz", "this is not gzip\n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "good.gz");
	cr_assert_eq(c.docs[0].text_len, 200000);
	cr_assert_eq(c.nw, 4);
	/* sorted: badcrc, flipped, good, plain, truncated */
	cr_assert(strstr(c.warns[0], "badcrc.gz|corrupt gzip data"), "%s", c.warns[0]);
	cr_assert(strstr(c.warns[1], "flipped.gz|corrupt gzip data"), "%s", c.warns[1]);
	cr_assert(strstr(c.warns[2], "plain.gz|not in gzip format, skipped"), "%s", c.warns[2]);
	cr_assert(strstr(c.warns[3], "truncated.gz|truncated gzip data"), "%s", c.warns[3]);
	cr_assert_eq(st.skipped, 4);
	cr_assert_eq(st.files, 5);
	coll_free(&c);
	free(gz);
	free(text);
}

/* ------------------------------------------------------------------------ */
/* JSON Lines                                                               */
/* ------------------------------------------------------------------------ */

static const char *jsonl_sample =
    "{\"id\":\"a1\",\"title\":\"Caf\\u00e9\",\"text\":\"smile \\ud83d\\ude00 "
    "and \\\"quotes\\\"\\nnew \\\\ \\/ \\t \\b\\f\\r\"}\n"                 /* 1 */
    "{\"id\": 42, \"title\": \"Numeric\", \"text\": \"n\"}\n"             /* 2 */
    "{\"title\": \"No id\", \"text\": \"x\"}\n"                           /* 3 */
    "{\"id\":\"t4\",\"text\":\"no title\"}\n"                             /* 4 */
    "{\"id\":\"bad\" \"title\":\"oops\"}\n"                               /* 5 */
    "\n"                                                                 /* 6 */
    "  {\"extra\":{\"a\":[1,2.5e-3,{\"b\":null}],\"c\":true,\"d\":false},"
    "\"id\":\"after\",\"n\":-1.5E+3,\"title\":\"T\",\"text\":\"still\"}  \r\n" /* 7 */
    "{\"id\":\"lone\",\"text\":\"x\\ud800y\\udc00z\\u0000!\\uD83D\"}";   /* 8 */

Test(source, jsonl_fields_escapes_ids_and_malformed_lines)
{
	write_str("c.jsonl", jsonl_sample);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 6);
	cr_assert_str_eq(c.docs[0].id, "a1");
	cr_assert_str_eq(c.docs[0].title, "Caf\xC3\xA9");
	cr_assert_str_eq(c.docs[0].text,
	                 "Caf\xC3\xA9\nsmile \xF0\x9F\x98\x80 and \"quotes\"\n"
	                 "new \\ / \t \b\f\r");
	cr_assert_str_eq(c.docs[0].path, P("c.jsonl"));
	struct stat sb; /* the file's size: what change detection compares */
	cr_assert_eq(stat(P("c.jsonl"), &sb), 0);
	cr_assert_eq(c.docs[0].size, (uint64_t)sb.st_size);
	cr_assert_str_eq(c.docs[1].id, "42");
	cr_assert_str_eq(c.docs[1].text, "Numeric\nn");
	cr_assert_str_eq(c.docs[2].id, "c.jsonl:3");
	cr_assert_str_eq(c.docs[2].title, "No id");
	cr_assert_str_eq(c.docs[3].id, "t4");
	cr_assert_str_eq(c.docs[3].title, "");
	cr_assert_str_eq(c.docs[3].text, "no title");
	cr_assert_str_eq(c.docs[4].id, "after");
	cr_assert_str_eq(c.docs[4].text, "T\nstill");
	cr_assert_str_eq(c.docs[5].id, "lone");
	cr_assert_str_eq(c.docs[5].text,
	                 "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD!\xEF\xBF\xBD");
	for (size_t i = 0; i < c.n; i++)
		cr_assert_eq(c.docs[i].mtime, (int64_t)sb.st_mtime);
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], "c.jsonl|line 5: malformed JSON"), "%s",
	          c.warns[0]);
	cr_assert_eq(st.docs, 6);
	cr_assert_eq(st.files, 1);
	cr_assert_eq(st.skipped, 0);
	cr_assert_eq(st.warnings, 1);
	coll_free(&c);
}

Test(source, jsonl_malformed_variants_each_warn_once)
{
	write_str("m.jsonl",
	          "[1,2]\n"                               /* 1 not an object */
	          "{\"id\":\"x\"\n"                       /* 2 unterminated */
	          "{\"id\":\"\\x\"}\n"                    /* 3 bad escape */
	          "{\"id\":\"y\"} z\n"                    /* 4 trailing text */
	          "{\"id\":01}\n"                         /* 5 bad number */
	          "{\"id\":\"u\\u12G4\"}\n"               /* 6 bad \\u */
	          "{\"id\":\"q\",\"v\":tru}\n"            /* 7 bad literal */
	          "{\"id\":\"q\",}\n"                     /* 8 trailing comma */
	          "{\"id\":\"s\",\"text\":\"unterminated\n" /* 9 */
	          "{id:1}\n"                              /* 10 bare key */
	          "{\"ok\":1,\"id\":\"fine\"}\n");        /* 11 good */
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "fine");
	cr_assert_eq(c.nw, 10);
	for (size_t i = 0; i < c.nw; i++) {
		char want[64];
		snprintf(want, sizeof want, "|line %zu: malformed JSON at byte ", i + 1);
		cr_expect(strstr(c.warns[i], want), "%s", c.warns[i]);
	}
	coll_free(&c);
}

Test(source, jsonl_nul_byte_in_line_is_malformed)
{
	write_bytes("n.jsonl", "{\"id\":\"a\0b\"}\n{\"id\":\"ok\"}\n", 25);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "ok");
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], "line 1: malformed JSON"));
	coll_free(&c);
}

Test(source, jsonl_repeated_and_odd_members)
{
	write_str("r.jsonl",
	          "{\"id\":\"first\",\"id\":\"second\",\"title\":\"a\",\"title\":\"b\"}\n"
	          "{\"id\":null,\"title\":7,\"text\":[\"x\"]}\n"
	          "{\"id\":\"\",\"text\":\"empty id\"}\n"
	          "{\"\\u0069d\":\"escaped key\"}\n"
	          "{}\n"
	          "{\"id\":-3.25e2}\n");
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(c.n, 6);
	cr_assert_str_eq(c.docs[0].id, "second");
	cr_assert_str_eq(c.docs[0].title, "b");
	cr_assert_str_eq(c.docs[0].text, "b\n");
	cr_assert_str_eq(c.docs[1].id, "r.jsonl:2");
	cr_assert_str_eq(c.docs[1].title, "");
	cr_assert_str_eq(c.docs[1].text, "");
	cr_assert_str_eq(c.docs[2].id, "r.jsonl:3");
	cr_assert_str_eq(c.docs[3].id, "escaped key");
	cr_assert_str_eq(c.docs[4].id, "r.jsonl:5");
	cr_assert_str_eq(c.docs[5].id, "-3.25e2");
	coll_free(&c);
}

Test(source, jsonl_in_subdir_default_id_uses_relative_path)
{
	write_str("sub/d.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.docs[0].id, "sub/d.jsonl:1");
	cr_assert_str_eq(c.docs[1].id, "sub/d.jsonl:2");
	coll_free(&c);
}

Test(source, jsonl_gz)
{
	const char *s = "{\"id\":\"g1\",\"title\":\"One\",\"text\":\"first\"}\n"
	                "{\"id\":\"g2\",\"title\":\"Two\",\"text\":\"second\"}\n";
	write_gz("shard.jsonl.gz", s, strlen(s), 0);
	write_gz("shard.jsonl.gz", "{\"id\":\"g3\"}\n", 12, 1);
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.docs[0].id, "g1");
	cr_assert_str_eq(c.docs[0].text, "One\nfirst");
	cr_assert_str_eq(c.docs[0].path, P("shard.jsonl.gz"));
	struct stat sb; /* the file's size: what change detection compares */
	cr_assert_eq(stat(P("shard.jsonl.gz"), &sb), 0);
	cr_assert_eq(c.docs[0].size, (uint64_t)sb.st_size);
	cr_assert_str_eq(c.docs[1].id, "g2");
	cr_assert_str_eq(c.docs[2].id, "g3");
	cr_assert_eq(st.bytes, strlen(s) + 12);
	coll_free(&c);
}

Test(source, jsonl_gz_truncated_keeps_the_lines_before)
{
	ns_buf b;
	ns_buf_init(&b);
	char *text = sample_text(300, 0);
	for (int i = 0; i < 3000; i++) {
		char head[64];
		snprintf(head, sizeof head, "{\"id\":\"%d\",\"text\":\"", i);
		ns_buf_puts(&b, head);
		ns_buf_append(&b, text + (i % 200), 60);
		ns_buf_puts(&b, "\"}\n");
	}
	cr_assert_eq(b.rc, 0);
	write_gz("t.jsonl.gz", b.p, b.len, 0);
	size_t n;
	uint8_t *gz = read_all(P("t.jsonl.gz"), &n);
	write_bytes("t.jsonl.gz", gz, n / 2);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	cr_assert_gt(c.n, 10);
	cr_assert_lt(c.n, 3000);
	for (size_t i = 0; i < c.n; i++) {
		char id[32];
		snprintf(id, sizeof id, "%zu", i);
		cr_assert_str_eq(c.docs[i].id, id);
		cr_assert_eq(c.docs[i].text_len, 60);
	}
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], "t.jsonl.gz|truncated gzip data"), "%s",
	          c.warns[0]);
	coll_free(&c);
	free(gz);
	free(text);
	ns_buf_free(&b);
}

Test(source, jsonl_one_megabyte_lines)
{
	ns_buf b;
	ns_buf_init(&b);
	size_t big = (size_t)3 << 19; /* 1.5 MiB of text per line */
	for (int k = 0; k < 3; k++) {
		char head[64];
		snprintf(head, sizeof head, "{\"id\":\"big%d\",\"text\":\"", k);
		ns_buf_puts(&b, head);
		for (size_t i = 0; i < big; i++)
			ns_buf_putc(&b, (uint8_t)(i % 10 == 9 ? ' ' : 'a' + k));
		ns_buf_puts(&b, "\\u00e9\"}\n");
	}
	cr_assert_eq(b.rc, 0);
	write_bytes("big.jsonl", b.p, b.len);
	write_gz("big.jsonl.gz", b.p, b.len, 0);
	coll c = { 0 };
	cr_assert_eq(walk(g_dir, &c, NULL), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 6);
	for (size_t i = 0; i < 6; i++) {
		char id[32];
		snprintf(id, sizeof id, "big%zu", i % 3);
		cr_assert_str_eq(c.docs[i].id, id);
		cr_assert_eq(c.docs[i].text_len, big + 2);
		cr_assert_eq(c.docs[i].text[0], (char)('a' + i % 3));
		cr_assert_str_eq(c.docs[i].text + big, "\xC3\xA9");
	}
	cr_assert_eq(c.nw, 0);
	coll_free(&c);
	ns_buf_free(&b);
}

Test(source, jsonl_empty_file_and_blank_lines)
{
	write_str("e.jsonl", "");
	write_str("f.jsonl", "\n\n   \n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(c.nw, 0);
	cr_assert_eq(st.files, 2);
	cr_assert_eq(st.skipped, 1);
	coll_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Roots, errors, stopping                                                  */
/* ------------------------------------------------------------------------ */

Test(source, single_file_root)
{
	write_str("one.txt", "Single\nfile\n");
	write_str("one.jsonl", "{\"title\":\"x\"}\n");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(P("one.txt"), &c, &st), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, P("one.txt"));
	cr_assert_str_eq(c.docs[0].path, P("one.txt"));
	cr_assert_str_eq(c.docs[0].title, "Single");
	cr_assert_eq(st.files, 1);
	coll_free(&c);

	cr_assert_eq(chdir(g_dir), 0);
	cr_assert_eq(walk("./one.jsonl", &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.docs[0].id, "./one.jsonl:1");
	cr_assert_str_eq(c.docs[0].path, "./one.jsonl");
	coll_free(&c);

	/* a hidden file given as the root is read */
	write_str(".h.txt", "H\n");
	cr_assert_eq(walk(".h.txt", &c, NULL), NS_OK);
	cr_assert_eq(c.n, 1);
	coll_free(&c);
}

Test(source, nonexistent_root_is_an_error_with_a_warning)
{
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(P("no/such/dir"), &c, &st), NS_ENOTFOUND);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], P("no/such/dir")));
	cr_assert_eq(st.warnings, 1);
	coll_free(&c);

	cr_assert_eq(symlink("nowhere", P("dangling")), 0);
	cr_assert_eq(walk(P("dangling"), &c, NULL), NS_ENOTFOUND);
	cr_assert_eq(c.nw, 1);
	coll_free(&c);

	cr_assert_eq(ns_walk(NULL, NULL, NULL), NS_EINVAL);
	cr_assert_eq(ns_walk("", NULL, NULL), NS_EINVAL);
}

Test(source, unreadable_single_file_root_is_eio)
{
	/* /proc/self/mem opens (even as root) but read() at offset 0 fails
	** with EIO: a read error that does not depend on permissions. */
	struct stat sb;
	if (stat("/proc/self/mem", &sb) != 0)
		SKIP("no /proc/self/mem here");
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk("/proc/self/mem", &c, &st), NS_EIO);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(c.nw, 1);
	cr_log_info("warning: %s", c.warns[0]);
	cr_assert(strstr(c.warns[0], "/proc/self/mem|cannot"), "%s", c.warns[0]);
	coll_free(&c);
}

Test(source, unreadable_entries_warn_and_the_walk_goes_on)
{
	write_str("a.txt", "A\n");
	write_str("locked.txt", "L\n");
	write_str("lockdir/in.txt", "I\n");
	write_str("z.txt", "Z\n");
	cr_assert_eq(chmod(P("locked.txt"), 0), 0);
	cr_assert_eq(chmod(P("lockdir"), 0), 0);
	int fd = open(P("locked.txt"), O_RDONLY);
	if (fd >= 0) { /* root (CAP_DAC_OVERRIDE): permissions do not bite */
		close(fd);
		SKIP("running with permission override (root): chmod 000 "
		             "does not make files unreadable");
	}
	coll c = { 0 };
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	dump_warns(&c);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.docs[0].id, "a.txt");
	cr_assert_str_eq(c.docs[1].id, "z.txt");
	cr_assert_eq(c.nw, 2);
	cr_assert(strstr(c.warns[0], "lockdir|cannot open directory"));
	cr_assert(strstr(c.warns[1], "locked.txt|cannot open"));
	coll_free(&c);
}

Test(source, unreadable_root_directory_is_eio)
{
	write_str("d/a.txt", "A\n");
	cr_assert_eq(chmod(P("d"), 0), 0);
	int fd = open(P("d"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		close(fd);
		SKIP("running with permission override (root)");
	}
	coll c = { 0 };
	cr_assert_eq(walk(P("d"), &c, NULL), NS_EIO);
	cr_assert_eq(c.nw, 1);
	coll_free(&c);
}

Test(source, file_vanishing_during_the_walk_is_warned)
{
	write_str("a.txt", "A\n");
	write_str("b.txt", "B\n");
	write_str("c.txt", "C\n");
	coll c = { 0 };
	c.unlink_on = "a.txt";
	c.unlink_path = P("b.txt");
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), NS_OK);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.docs[0].id, "a.txt");
	cr_assert_str_eq(c.docs[1].id, "c.txt");
	cr_assert_eq(c.nw, 1);
	cr_assert(strstr(c.warns[0], "b.txt|file vanished, skipped"), "%s",
	          c.warns[0]);
	cr_assert_eq(st.skipped, 1);
	coll_free(&c);
}

Test(source, nonzero_from_on_doc_stops_the_walk)
{
	write_str("a.txt", "A\n");
	write_str("b.txt", "B\n");
	write_str("c.txt", "C\n");
	mkdirs("sub");
	write_str("sub/d.jsonl", "{\"id\":\"1\"}\n{\"id\":\"2\"}\n{\"id\":\"3\"}\n");
	coll c = { 0 };
	c.stop_after = 2;
	c.stop_rc = 7;
	ns_walk_stats st = { 0 };
	cr_assert_eq(walk(g_dir, &c, &st), 7);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(st.docs, 2);
	coll_free(&c);

	/* inside a JSON Lines file, with a negative code */
	c.stop_after = 5;
	c.stop_rc = NS_ENOMEM;
	cr_assert_eq(walk(g_dir, &c, NULL), NS_ENOMEM);
	cr_assert_eq(c.n, 5);
	cr_assert_str_eq(c.docs[4].id, "2");
	coll_free(&c);
}

Test(source, stats_accumulate_and_null_options)
{
	write_str("a.txt", "A\n");
	write_str("b.txt", "BB\n");
	ns_walk_stats st = { 0 };
	cr_assert_eq(ns_walk(g_dir, NULL, &st), NS_OK);
	cr_assert_eq(ns_walk(g_dir, NULL, &st), NS_OK);
	cr_assert_eq(st.files, 4);
	cr_assert_eq(st.docs, 4);
	cr_assert_eq(st.bytes, 10);
	cr_assert_eq(ns_walk(P("missing"), NULL, &st), NS_ENOTFOUND);
	cr_assert_eq(st.warnings, 1);
}

/* ------------------------------------------------------------------------ */
/* The real benchmark corpus                                                */
/* ------------------------------------------------------------------------ */

#define ENWIKI "/work/shared/data/enwiki"

static int count_enwiki(void *ctx, const ns_doc *d)
{
	uint64_t *n = ctx;
	if (strstr(d->path, ".jsonl.gz")) n[0]++;
	n[1] += d->text_len;
	if (d->id[0] == 0 || d->title[0] == 0) n[2]++;
	return 0;
}

static void count_warn(void *ctx, const char *path, const char *msg)
{
	(void)ctx;
	cr_log_info("%s: %s", path, msg);
}

Test(source, enwiki_one_shard, .timeout = 60)
{
	struct stat sb;
	if (stat(ENWIKI "/wiki_AA00.jsonl.gz", &sb) != 0)
		SKIP(ENWIKI " not present");
	uint64_t n[3] = { 0 };
	ns_walk_options o = {.on_doc = count_enwiki, .on_warn = count_warn, .ctx = n};
	ns_walk_stats st = { 0 };
	cr_assert_eq(ns_walk(ENWIKI "/wiki_AA00.jsonl.gz", &o, &st), NS_OK);
	cr_assert_eq(n[0], 38); /* zcat wiki_AA00.jsonl.gz | wc -l */
	cr_assert_eq(st.warnings, 0);
	cr_assert_eq(n[2], 0);
}

Test(source, enwiki_whole_corpus, .timeout = 300)
{
	struct stat sb;
	if (stat(ENWIKI, &sb) != 0) SKIP(ENWIKI " not present");
	if (getenv("NS_TEST_QUICK")) SKIP("NS_TEST_QUICK is set");
	uint64_t n[3] = { 0 };
	ns_walk_options o = {.on_doc = count_enwiki, .on_warn = count_warn, .ctx = n};
	ns_walk_stats st = { 0 };
	cr_assert_eq(ns_walk(ENWIKI, &o, &st), NS_OK);
	cr_assert_eq(n[0], 30729);
	cr_assert_eq(st.files, 400); /* the shards; SOURCE.md is beside them */
	cr_assert_eq(st.docs, 30729);
	cr_assert_eq(st.warnings, 1); /* "1 file beside the collection skipped" */
	cr_log_info("enwiki: %" PRIu64 " docs, %" PRIu64 " bytes read, %" PRIu64
	            " text bytes", st.docs, st.bytes, n[1]);
}

Test(source, files_beside_a_jsonl_collection_are_skipped)
{
	char dir[] = "/tmp/ns_src_coll_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char p[256];
	snprintf(p, sizeof p, "%s/a.jsonl", dir);
	FILE *f = fopen(p, "w");
	fputs("{\"id\":\"x1\",\"title\":\"T\",\"text\":\"hello\"}\n", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/README.md", dir);
	f = fopen(p, "w");
	fputs("about this collection\n", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/sub/notes.txt", dir);
	f = fopen(p, "w");
	fputs("a text file in a subdirectory is still read\n", f);
	fclose(f);
	uint64_t n[3] = { 0 };
	ns_walk_options o = {.on_doc = count_enwiki, .on_warn = count_warn, .ctx = n};
	ns_walk_stats st = { 0 };
	int rc = ns_walk(dir, &o, &st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	cr_assert_eq(rc, NS_OK);
	cr_assert_eq(st.docs, 2); /* x1 and sub/notes.txt, not README.md */
	cr_assert_eq(st.warnings, 1);
}
