/*
** fuzz_source.c -- the directory walker's file readers (src/source.c) on
** arbitrary bytes: JSON Lines, gzip, gzipped JSON Lines and text files.
**
** Input: byte 0 picks the file name and how it is walked, the rest is the
** file's content:
**   byte0 % 6:  0 x.jsonl  1 x.gz  2 x.jsonl.gz  3 x.txt
**               4 x.jsonl.gz and 5 x.gz holding the rest gzip-compressed
**               here, so the fuzzer reaches the JSON and text readers
**               behind a valid gzip stream
**   byte0 & 8:  walk the file itself (single-file root) instead of its
**               directory
** The file is written into a private temporary directory (created on the
** first call, removed at exit) and ns_walk() reads it.  Every document
** handed to on_doc must be well formed (ids, titles and texts
** NUL-terminated, text_len = strlen(text)); the walk returns NS_OK.
*/
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"
#include "source.h"

static char g_dir[64];
static char g_file[96];

static const char *const names[6] = {"x.jsonl", "x.gz", "x.jsonl.gz",
                                     "x.txt",   "x.jsonl.gz", "x.gz"};

static void cleanup(void)
{
	if (!g_dir[0]) return;
	for (size_t i = 0; i < 6; i++) {
		char p[128];
		snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
		unlink(p);
	}
	rmdir(g_dir);
}

typedef struct ctx {
	uint64_t docs, warns, bytes;
	int text; /* a text file (plain or gzip): one document at most */
} ctx;

static int on_doc(void *c, const ns_doc *d)
{
	ctx *x = c;
	FUZZ_CHECK(d->id && d->title && d->path && d->text);
	FUZZ_CHECK(d->id[0] != 0);
	FUZZ_CHECK(strlen(d->text) == d->text_len);
	if (x->text) {
		size_t tl = strlen(d->title);
		FUZZ_CHECK(tl > 0 && tl <= NS_SOURCE_TITLE_MAX && tl <= d->text_len);
	}
	x->docs++;
	x->bytes += d->text_len;
	return 0;
}

static void on_warn(void *c, const char *path, const char *msg)
{
	ctx *x = c;
	FUZZ_CHECK(path && msg && msg[0]);
	x->warns++;
}

static int write_all(const char *path, const uint8_t *p, size_t n, int gz)
{
	if (gz) {
		gzFile g = gzopen(path, "wb1");
		if (!g) return -1;
		if (n && gzwrite(g, p, (unsigned)n) != (int)n) {
			gzclose(g);
			return -1;
		}
		return gzclose(g) == Z_OK ? 0 : -1;
	}
	FILE *f = fopen(path, "wb");
	if (!f) return -1;
	if (n && fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20)) return 0;
	if (!g_dir[0]) {
		strcpy(g_dir, "/tmp/nsearch-fuzz-source-XXXXXX");
		if (!mkdtemp(g_dir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(cleanup);
	}
	unsigned kind = data[0] % 6, single = (data[0] & 8) != 0;
	snprintf(g_file, sizeof g_file, "%s/%s", g_dir, names[kind]);
	if (write_all(g_file, data + 1, size - 1, kind >= 4) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", g_file, strerror(errno));
		abort();
	}
	ctx x;
	memset(&x, 0, sizeof x);
	x.text = kind == 1 || kind == 3 || kind == 5;
	ns_walk_options o = {.on_doc = on_doc, .on_warn = on_warn, .ctx = &x};
	ns_walk_stats st;
	memset(&st, 0, sizeof st);
	int rc = ns_walk(single ? g_file : g_dir, &o, &st);
	FUZZ_CHECK(rc == NS_OK);
	FUZZ_CHECK(st.docs == x.docs);
	FUZZ_CHECK(st.warnings == x.warns);
	FUZZ_CHECK(st.files == 1);
	if (x.text) FUZZ_CHECK(x.docs <= 1);
	unlink(g_file);
	return 0;
}
