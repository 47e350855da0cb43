/*
** fuzz_open.c -- opening, searching and checking a damaged index.
**
** On the first call a small valid index with deletions is built through
** the public API into a private temporary directory (removed at exit): a
** full build of 140 documents (segment 1), then an NS_WRITE_UPDATE writer
** with .merge = NS_MERGE_NONE that deletes doc-1 and doc-77 and adds a new
** version of doc-2 (which deletes the old one), so generation 2 has two
** segments, three deleted documents and one deletion file.  Its twelve
** files are kept in memory, numbered:
**    0  manifest
**    1..5   segment 1: .dict .post .pos .docs .store
**    6..10  segment 2 (the one new document): the same five
**   11  seg_N_2.del, the deletions in segment 1.
** Each input then replaces one of them, chosen by byte 0 (% 12), in a way
** chosen by byte 1 (% 4), with the rest of the input (the payload):
**   0  the whole file is the payload, as is (mostly stopped by the magic,
**      end marker and checksum);
**   1  the payload wrapped into a valid envelope: the file kind's header,
**      the payload as body and meta, a correct page table, CRC32 and end
**      marker, so the structural checks behind the checksums are reached;
**   2  the original file with the payload's bytes 2.. written over it at
**      the offset in payload bytes 0..1 (little-endian, modulo the length;
**      the file grows if needed), page table (when its count still fits
**      the size), CRC32 and end marker then repaired;
**   3  the same splice without the repair.
** Then ns_index_open(), a few ns_search() and ns_snippet() calls when it
** opened, and ns_index_check(); the original file is restored afterwards.
** Nothing may crash or leak, every status must be one the API documents,
** hits must have a document number below the generation's documents
** (live and deleted), and an index that ns_index_check() calls sound must
** open and search without NS_ECORRUPT.  When the file is left unchanged
** all of that must succeed, with the fixture's statistics, and no deleted
** document may be returned.
**
** Seeds: with NS_FUZZ_OPEN_SEEDS=DIR in the environment, the first call
** also writes seed inputs into DIR (the twelve valid files in modes 0, 1
** and 2, named <file>-mode<M>): that is how tests/fuzz/corpus/open/ was
** made.
*/
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "format.h"
#include "fuzz.h"
#include "nsearch.h"

#define N_FILES 12
#define N_DOCS 140 /* documents of the full build (segment 1) */
#define N_DEL 3    /* deleted by the update: doc-1, doc-77, old doc-2 */

static char g_dir[64];
static char g_ix[96];
static char *g_path[N_FILES];
static uint8_t *g_orig[N_FILES];
static size_t g_len[N_FILES];
static const char *const g_ext[N_FILES] = {
    NULL,   "dict", "post", "pos",   "docs", "store",
    "dict", "post", "pos",  "docs",  "store", NULL};
static const char *const g_magic[N_FILES] = {
    NS_MAGIC_MANIFEST, NS_MAGIC_DICT, NS_MAGIC_POST,  NS_MAGIC_POS,
    NS_MAGIC_DOCS,     NS_MAGIC_STORE, NS_MAGIC_DICT, NS_MAGIC_POST,
    NS_MAGIC_POS,      NS_MAGIC_DOCS, NS_MAGIC_STORE, NS_MAGIC_DEL};
/* seed file names */
static const char *const g_seed[N_FILES] = {
    "manifest",   "seg1-dict", "seg1-post", "seg1-pos",  "seg1-docs",
    "seg1-store", "seg2-dict", "seg2-post", "seg2-pos",  "seg2-docs",
    "seg2-store", "del"};

static const char *const g_queries[] = {
    "storm shadow",        "\"storm shadow missile\"", "common -rare",
    "+common +alpha",      "zeta OR (kappa AND lambda)", "rare",
    "\"common common\"",   "range NOT missile",       "ukraine",
    "replacement zeta",    "\"storm shadow\" common",
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void cleanup(void)
{
	if (!g_dir[0]) return;
	DIR *d = opendir(g_ix);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char p[512];
			if (e->d_name[0] == '.' && (!e->d_name[1] || e->d_name[1] == '.'))
				continue;
			snprintf(p, sizeof p, "%s/%s", g_ix, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(g_ix);
	rmdir(g_dir);
	for (int i = 0; i < N_FILES; i++) {
		free(g_path[i]);
		free(g_orig[i]);
	}
}

static uint8_t *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0);
	long len = ftell(f);
	FUZZ_CHECK(len > 0);
	rewind(f);
	uint8_t *p = malloc((size_t)len);
	FUZZ_CHECK(p && fread(p, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(n == 0 || fwrite(p, 1, n, f) == n);
	FUZZ_CHECK(fclose(f) == 0);
}

/* Document i of the fixture: a few fixed texts, then generated ones that
** give "common" more than one posting block (and skip entries). */
static void doc_text(size_t i, char *buf, size_t size)
{
	static const char *const fixed[] = {
	    "Storm Shadow is a long range cruise missile.",
	    "The Storm Shadow missile was supplied to Ukraine; its range is "
	    "about 250 km.",
	    "A rare word: zeta.  Kappa and lambda, lambda and kappa.",
	    "Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 stemming "
	    "runs running runner.",
	};
	static const char *const words[] = {"alpha", "beta", "gamma", "delta",
	                                    "range", "shadow", "storm"};
	if (i < sizeof fixed / sizeof *fixed) {
		snprintf(buf, size, "%s", fixed[i]);
		return;
	}
	size_t n = (size_t)snprintf(buf, size, "common doc %zu", i);
	for (size_t k = 0; k < 3 + i % 5 && n < size; k++)
		n += (size_t)snprintf(buf + n, size - n, " %s",
		                      words[(i * 7 + k * 3) % 7]);
	if (i % 50 == 0 && n < size) snprintf(buf + n, size - n, " common");
}

static void write_seed(const char *dir, int f, int mode, const uint8_t *p,
                       size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s-mode%d", dir, g_seed[f], mode);
	uint8_t *b = malloc(n + 2);
	FUZZ_CHECK(b != NULL);
	b[0] = (uint8_t)f;
	b[1] = (uint8_t)mode;
	memcpy(b + 2, p, n);
	write_all(path, b, n + 2);
	free(b);
}

static void setup(void)
{
	strcpy(g_dir, "/tmp/nsearch-fuzz-open-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);

	/* generation 1: a full build of N_DOCS documents, one segment */
	ns_writer_options o = {.lang = "english", .threads = 1};
	ns_writer *w = NULL;
	char *err = NULL;
	FUZZ_CHECK(ns_writer_open(g_ix, &o, &w, &err) == NS_OK);
	for (size_t i = 0; i < N_DOCS; i++) {
		char text[256], id[32], title[32];
		doc_text(i, text, sizeof text);
		snprintf(id, sizeof id, "doc-%zu", i);
		snprintf(title, sizeof title, "Title %zu", i);
		ns_doc d = {.id = id, .title = title, .path = NULL, .text = text,
		            .text_len = strlen(text), .size = strlen(text),
		            .mtime = 1700000000};
		FUZZ_CHECK(ns_writer_add(w, &d) == NS_OK);
	}
	FUZZ_CHECK(ns_writer_commit(w) == NS_OK);
	ns_writer_close(w);

	/* generation 2: two deletions and a replaced document, no merge: a
	** second segment and a .del file for the first */
	o.mode = NS_WRITE_UPDATE;
	o.merge = NS_MERGE_NONE;
	FUZZ_CHECK(ns_writer_open(g_ix, &o, &w, &err) == NS_OK);
	FUZZ_CHECK(ns_writer_delete(w, "doc-1") == NS_OK);
	FUZZ_CHECK(ns_writer_delete(w, "doc-77") == NS_OK);
	static const char repl[] =
	    "A replacement for the rare word: zeta.  Storm shadow, kappa.";
	ns_doc d = {.id = "doc-2", .title = "Title 2 (new)", .path = "new/2",
	            .text = repl, .text_len = sizeof repl - 1,
	            .size = sizeof repl - 1, .mtime = 1700000001};
	FUZZ_CHECK(ns_writer_add(w, &d) == NS_OK);
	FUZZ_CHECK(ns_writer_commit(w) == NS_OK);
	ns_writer_close(w);

	/* the segments' numbers, from their .dict files, and the .del file */
	unsigned seg[2] = {0, 0};
	char del[64] = "";
	int n_seg = 0;
	DIR *dir = opendir(g_ix);
	FUZZ_CHECK(dir != NULL);
	struct dirent *e;
	while ((e = readdir(dir))) {
		unsigned s;
		size_t len = strlen(e->d_name);
		if (len > 5 && strcmp(e->d_name + len - 5, ".dict") == 0 &&
		    sscanf(e->d_name, "seg_%u.", &s) == 1) {
			FUZZ_CHECK(n_seg < 2);
			seg[n_seg++] = s;
		} else if (len > 4 && strcmp(e->d_name + len - 4, ".del") == 0) {
			FUZZ_CHECK(!del[0] && len < sizeof del);
			memcpy(del, e->d_name, len + 1);
		}
	}
	closedir(dir);
	FUZZ_CHECK(n_seg == 2 && del[0]);
	if (seg[0] > seg[1]) {
		unsigned t = seg[0];
		seg[0] = seg[1];
		seg[1] = t;
	}
	{
		char want[64];
		snprintf(want, sizeof want, NS_DEL_FMT, seg[0], 2ull);
		FUZZ_CHECK(strcmp(del, want) == 0);
	}
	for (int i = 0; i < N_FILES; i++) {
		char name[64];
		if (i == 0)
			snprintf(name, sizeof name, NS_MANIFEST_NAME);
		else if (i == N_FILES - 1)
			snprintf(name, sizeof name, "%s", del);
		else
			snprintf(name, sizeof name, NS_SEG_FMT ".%s", seg[i > 5],
			         g_ext[i]);
		g_path[i] = malloc(strlen(g_ix) + strlen(name) + 2);
		FUZZ_CHECK(g_path[i] != NULL);
		sprintf(g_path[i], "%s/%s", g_ix, name);
		g_orig[i] = read_all(g_path[i], &g_len[i]);
		FUZZ_CHECK(g_len[i] >= NS_HEADER_SIZE + NS_TRAILER_MIN);
	}
	FUZZ_CHECK(ns_index_check(g_ix, NULL, NULL) == NS_OK);

	const char *seeds = getenv("NS_FUZZ_OPEN_SEEDS");
	if (seeds && *seeds) {
		for (int i = 0; i < N_FILES; i++) {
			write_seed(seeds, i, 0, g_orig[i], g_len[i]);
			size_t at = g_len[i] - NS_FOOTER_SIZE - NS_PAGE_TAIL;
			size_t np = get_le32(g_orig[i] + at);
			write_seed(seeds, i, 1, g_orig[i] + NS_HEADER_SIZE,
			           at - np * NS_PAGE_ENTRY - NS_HEADER_SIZE);
			uint8_t sp[6] = {20, 0, 0xff, 0xff, 0xff, 0xff};
			write_seed(seeds, i, 2, sp, sizeof sp);
		}
	}
}

/* Sets the page table (when its count fits the size n), the CRC32 and the
** end marker of the file image p[0..n).  docs/FORMAT.md#files */
static void repair(uint8_t *p, size_t n)
{
	if (n < NS_FOOTER_SIZE) return;
	size_t tail = n - NS_FOOTER_SIZE;
	if (tail >= NS_HEADER_SIZE + NS_PAGE_ENTRY + NS_PAGE_TAIL) {
		size_t at = tail - NS_PAGE_TAIL, np = get_le32(p + at);
		size_t c = np <= (at - NS_HEADER_SIZE) / NS_PAGE_ENTRY
		               ? at - np * NS_PAGE_ENTRY : 0;
		if (np && c && (c + NS_PAGE_SIZE - 1) / NS_PAGE_SIZE == np) {
			for (size_t i = 0; i < np; i++) {
				size_t lo = i * NS_PAGE_SIZE;
				size_t len = c - lo < NS_PAGE_SIZE ? c - lo : NS_PAGE_SIZE;
				put_le32(p + c + 4 * i, (uint32_t)crc32_z(0, p + lo, len));
			}
			put_le32(p + tail - 4, (uint32_t)crc32_z(0, p + c, tail - 4 - c));
		}
	}
	put_le32(p + tail, (uint32_t)crc32_z(0, p, tail));
	put_le32(p + n - 4, NS_FOOTER_MAGIC);
}

static void count_line(void *ctx, const char *line)
{
	FUZZ_CHECK(line != NULL && line[0] != 0);
	++*(int *)ctx;
}

/* Searches the open index; returns the number of NS_ECORRUPT answers.
** same: the index is the fixture, unchanged. */
static int probe(ns_index *ix, int same)
{
	int corrupt = 0;
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	if (same) {
		FUZZ_CHECK(st.n_docs == N_DOCS + 1 - N_DEL);
		FUZZ_CHECK(st.n_deleted == N_DEL);
		FUZZ_CHECK(st.n_segments == 2 && st.generation == 2);
	}
	for (size_t q = 0; q < sizeof g_queries / sizeof *g_queries; q++) {
		ns_search_options o;
		ns_search_options_init(&o);
		o.k = 5;
		o.exhaustive = q & 1;
		o.count_only = q == 5;
		ns_results *r = NULL;
		char *err = NULL;
		int rc = ns_search(ix, g_queries[q], &o, &r, &err);
		FUZZ_CHECK(rc == NS_OK || rc == NS_ECORRUPT || rc == NS_ENOMEM);
		if (rc) {
			FUZZ_CHECK(r == NULL);
			corrupt += rc == NS_ECORRUPT;
			ns_free(err);
			continue;
		}
		FUZZ_CHECK(ns_results_count(r) <= 5);
		FUZZ_CHECK(ns_results_total(r) >= ns_results_count(r));
		for (size_t i = 0; i < ns_results_count(r); i++) {
			uint64_t docno = ns_results_docno(r, i);
			const char *id = ns_results_id(r, i);
			FUZZ_CHECK(docno < st.n_docs + st.n_deleted);
			FUZZ_CHECK(id != NULL);
			if (same) { /* no deleted document: the new doc-2 only */
				FUZZ_CHECK(strcmp(id, "doc-1") && strcmp(id, "doc-77"));
				FUZZ_CHECK(strcmp(id, "doc-2") || docno == N_DOCS);
			}
			if (i >= 2) continue;
			char *s = NULL;
			rc = ns_snippet(r, i, "[", "]", 12, &s);
			FUZZ_CHECK(rc == NS_OK || rc == NS_ECORRUPT || rc == NS_ENOMEM);
			FUZZ_CHECK((rc == NS_OK) == (s != NULL));
			corrupt += rc == NS_ECORRUPT;
			ns_free(s);
		}
		ns_results_free(r);
	}
	return corrupt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > (1u << 20)) return 0;
	if (!g_dir[0]) setup();
	int f = data[0] % N_FILES, mode = data[1] % 4;
	const uint8_t *pl = data + 2;
	size_t pn = size - 2, n;
	uint8_t *img;

	if (mode == 0) {
		n = pn;
		img = malloc(n ? n : 1);
		FUZZ_CHECK(img != NULL);
		memcpy(img, pl, pn);
	} else if (mode == 1) {
		size_t c = NS_HEADER_SIZE + pn;
		size_t np = (c + NS_PAGE_SIZE - 1) / NS_PAGE_SIZE;
		n = c + np * NS_PAGE_ENTRY + NS_PAGE_TAIL + NS_FOOTER_SIZE;
		img = malloc(n);
		FUZZ_CHECK(img != NULL);
		memcpy(img, g_magic[f], NS_MAGIC_LEN);
		put_le32(img + 8, NS_FORMAT_VERSION);
		put_le32(img + 12, 0);
		memcpy(img + NS_HEADER_SIZE, pl, pn);
		put_le32(img + n - NS_FOOTER_SIZE - NS_PAGE_TAIL, (uint32_t)np);
		repair(img, n);
	} else {
		size_t off = pn >= 2 ? (size_t)(pl[0] | pl[1] << 8) % g_len[f] : 0;
		size_t k = pn >= 2 ? pn - 2 : 0;
		n = off + k > g_len[f] ? off + k : g_len[f];
		img = malloc(n);
		FUZZ_CHECK(img != NULL);
		memcpy(img, g_orig[f], g_len[f]);
		if (k) memcpy(img + off, pl + 2, k);
		if (mode == 2) repair(img, n);
	}
	write_all(g_path[f], img, n);
	int same = n == g_len[f] && memcmp(img, g_orig[f], n) == 0;
	free(img);

	ns_index *ix = NULL;
	char *err = NULL;
	int orc = ns_index_open(g_ix, &ix, &err);
	FUZZ_CHECK(orc == NS_OK || orc == NS_ECORRUPT || orc == NS_EVERSION ||
	           orc == NS_ENOTFOUND || orc == NS_ENOMEM);
	int corrupt = 0;
	if (orc == NS_OK) {
		FUZZ_CHECK(ix != NULL && err == NULL);
		corrupt = probe(ix, same);
		ns_index_close(ix);
	} else {
		FUZZ_CHECK(ix == NULL);
		FUZZ_CHECK(orc == NS_ENOMEM || (err != NULL && err[0] != 0));
		ns_free(err);
	}

	int lines = 0;
	int crc = ns_index_check(g_ix, count_line, &lines);
	FUZZ_CHECK(crc == NS_OK || crc == NS_ECORRUPT || crc == NS_EVERSION ||
	           crc == NS_ENOTFOUND || crc == NS_ENOMEM);
	if (crc == NS_ECORRUPT) FUZZ_CHECK(lines > 0);
	if (crc == NS_OK) {
		/* sound by the checker's word: it opens and searches cleanly */
		FUZZ_CHECK(orc == NS_OK);
		FUZZ_CHECK(corrupt == 0);
	}
	if (same) FUZZ_CHECK(orc == NS_OK && crc == NS_OK && corrupt == 0);

	write_all(g_path[f], g_orig[f], g_len[f]); /* restore */
	return 0;
}
