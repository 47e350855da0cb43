/*
** test_corrupt.c -- damaged index files.  For every file of an index
** (manifest, seg_*.dict/.post/.pos/.docs/.store, seg_*_*.del) the tests
** truncate it at
** many lengths and flip a few hundred single bits (seeded), restoring the
** original between mutations.  After each mutation:
**   - ns_index_open fails with NS_ECORRUPT or NS_EVERSION and a message
**     naming the damaged file, or (only for the .store file, whose body is
**     checked block by block when read) succeeds;
**   - searches and snippets on an index that opened never crash, and the
**     readable documents still read back exactly;
**   - ns_index_check returns NS_ECORRUPT and reports at least one line.
** Where the damage can be located, the messages of open and of check must
** say where: a flipped bit lies inside the "bytes A..B" range reported
** (the page, the page checksum table or the footer), a truncated file's
** message gives its size, a grown file's its size and the expected one.
** page_checksums_locate_damage does the same on an index whose files span
** several 64 KiB pages and requires the exact page.
** A second family flips bits and then repairs the file checksums, so that
** the damage reaches the structural checks; there only "no crash, and a
** clean status" is required.  Run under ASan+UBSan for the full value.
**
** Mutations, each followed by open and check (counted on the fixture of
** format 4): 1,633 truncations and growths, 3,668 single-bit flips, 1,500
** repaired-checksum damages, 421 page-located damages and 24 others --
** 7,246 across the six kinds of segment file and the manifest; and on the
** deletion file (seg_000001_2.del, 2,120 bytes, made by an update that
** deletes two documents) 292 truncations and growths, 492 bit flips and
** 300 repaired-checksum damages: 8,330 in all.
*/
#include <zlib.h>

#include "helpers.h"

#include "format.h"
#include "index.h"

static char g_dir[64];
static char g_ix[96];

/* The documents: the 5 files of the sample corpus, then generated ones
** that give several posting blocks to the common words. */
#define N_GEN 400
static char *g_texts[5 + N_GEN];
static size_t g_ntexts;

static const char *const gen_words[] = {
    "storm", "shadow", "missile", "ukraine", "range", "alpha", "beta",
    "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda",
};

static void build_fixture(void)
{
	g_ntexts = th_corpus_texts(g_texts, 16);
	th_rng r = {99};
	for (size_t i = 0; i < N_GEN; i++) {
		char *t = malloc(40 * 12 + 1);
		cr_assert_not_null(t);
		size_t n = 0, len = 3 + th_below(&r, 37);
		for (size_t k = 0; k < len; k++) {
			size_t w = (size_t)(14 * th_unit(&r) * th_unit(&r));
			n += (size_t)sprintf(t + n, "%s%s", k ? " " : "", gen_words[w]);
		}
		g_texts[g_ntexts++] = t;
	}
	th_build_index(g_ix, (const char *const *)g_texts, g_ntexts, NULL);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}

/* Gives the fixture a deletion file: an update deletes two documents
** (generation 2: seg_000001_2.del). */
static void add_deletions(void)
{
	ns_writer *w;
	ns_writer_options o = {.mode = NS_WRITE_UPDATE, .merge = NS_MERGE_NONE};
	cr_assert_eq(ns_writer_open(g_ix, &o, &w, NULL), NS_OK);
	cr_assert_eq(ns_writer_delete(w, "d1"), NS_OK);
	cr_assert_eq(ns_writer_delete(w, "d7"), NS_OK);
	cr_assert_eq(ns_writer_commit(w), NS_OK);
	ns_writer_close(w);
	char *p = th_path(g_ix, "seg_000001_2.del");
	cr_assert(th_exists(p), "no deletion file");
	free(p);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "corrupt");
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
	build_fixture();
}

static void teardown(void)
{
	for (size_t i = 0; i < g_ntexts; i++) free(g_texts[i]);
	g_ntexts = 0;
	th_rmrf(g_dir);
}

TestSuite(corrupt, .init = setup, .fini = teardown, .timeout = 600);

/* ------------------------------------------------------------------------ */
/* Probing an index after a mutation                                        */
/* ------------------------------------------------------------------------ */

static const char *const probe_queries[] = {
    "storm shadow",   "\"storm shadow\"",        "ukraine -russia",
    "+alpha +beta",   "\"alpha beta gamma\"",    "alpha OR zeta AND kappa",
    "lambda",         "missile range ukraine",   "\"alpha alpha\"",
    "theta -alpha",   "(gamma delta) AND epsilon",
};

static void count_line(void *ctx, const char *line)
{
	cr_assert_not_null(line);
	cr_assert_gt(strlen(line), 0, "empty report line");
	++*(int *)ctx;
}

/* The lines ns_index_check() reports, kept for inspection. */
typedef struct report_lines {
	int n;
	char text[4096]; /* the lines, each ending in '\n' (truncated) */
} report_lines;

static void keep_line(void *ctx, const char *line)
{
	report_lines *l = ctx;
	count_line(&l->n, line);
	size_t have = strlen(l->text);
	snprintf(l->text + have, sizeof l->text - have, "%s\n", line);
}

/* Finds "bytes A..B" in msg (after `from`); 1 if found. */
static int byte_range(const char *msg, size_t *lo, size_t *hi)
{
	const char *p = strstr(msg, "bytes ");
	unsigned long long a, b;
	while (p) {
		if (sscanf(p, "bytes %llu..%llu", &a, &b) == 2) {
			*lo = (size_t)a;
			*hi = (size_t)b;
			return 1;
		}
		p = strstr(p + 1, "bytes ");
	}
	return 0;
}

/* The page table of a file image: bytes before it (header, body, meta),
** and its number of pages.  docs/FORMAT.md#files */
static size_t content_len(const uint8_t *b, size_t n, uint32_t *n_pages)
{
	size_t at = n - NS_FOOTER_SIZE - NS_PAGE_TAIL;
	uint32_t np = ns_get_le32(b + at);
	if (n_pages) *n_pages = np;
	return at - (size_t)np * NS_PAGE_ENTRY;
}

/* Rewrites the page table (page CRCs, count, table CRC) and the footer CRC
** of a file image whose content is c bytes. */
static void fix_trailer(uint8_t *b, size_t n)
{
	uint32_t np;
	size_t c = content_len(b, n, &np);
	for (uint32_t i = 0; i < np; i++) {
		size_t lo = (size_t)i * NS_PAGE_SIZE;
		size_t hi = lo + NS_PAGE_SIZE < c ? lo + NS_PAGE_SIZE : c;
		ns_put_le32(b + c + 4 * (size_t)i,
		            (uint32_t)crc32(0, b + lo, (uInt)(hi - lo)));
	}
	size_t tail = n - NS_FOOTER_SIZE;
	ns_put_le32(b + tail - 4, (uint32_t)crc32(0, b + c, (uInt)(tail - 4 - c)));
	ns_put_le32(b + tail, (uint32_t)crc32(0, b, (uInt)tail));
}

/* Searches, snippets and reads every document of an index that opened
** despite damage.  Nothing may crash; codes must be sane.  exact: the
** document table is known to be sound, so every document whose text reads
** without error must read back exactly.  Returns the number of documents
** whose stored text could not be read. */
static int probe_open_index(ns_index *ix, int exact)
{
	for (size_t q = 0; q < sizeof probe_queries / sizeof *probe_queries; q++) {
		ns_results *r = NULL;
		char *err = NULL;
		int rc = ns_search(ix, probe_queries[q], NULL, &r, &err);
		cr_assert(rc == NS_OK || rc == NS_ECORRUPT, "[%s]: rc %d",
		          probe_queries[q], rc);
		if (rc) {
			cr_assert_null(r);
			cr_assert_not_null(err);
			ns_free(err);
			continue;
		}
		cr_assert_leq(ns_results_count(r), 10);
		cr_assert_geq(ns_results_total(r), ns_results_count(r));
		for (size_t i = 0; i < ns_results_count(r); i++) {
			cr_assert_lt(ns_results_docno(r, i), g_ntexts);
			if (i >= 3) continue; /* each snippet inflates a store block */
			char *s = NULL;
			rc = ns_snippet(r, i, "[", "]", 20, &s);
			cr_assert(rc == NS_OK || rc == NS_ECORRUPT, "snippet rc %d", rc);
			if (rc == NS_OK) cr_assert_not_null(s);
			ns_free(s);
		}
		ns_results_free(r);
	}
	/* every document reads back exactly, or is reported damaged; the text
	** of every 8th document through ns_seg_text, the others from their
	** block (inflated once).  Without `exact`, only every 32nd document. */
	const ns_seg *s = &ix->segs[0];
	int unreadable = 0;
	ns_buf b, blk;
	ns_buf_init(&b);
	ns_buf_init(&blk);
	uint64_t have = UINT64_MAX;
	int blk_rc = NS_OK;
	for (uint32_t d = 0; d < s->n_docs; d++) {
		int rc;
		const uint8_t *text = NULL;
		size_t len = 0;
		if (!exact && d % 32 != 0) continue;
		if (d % 8 == 0) {
			b.len = 0;
			rc = ns_seg_text(s, d, &b);
			text = b.p;
			len = b.len;
		} else {
			ns_docrec dr;
			rc = ns_seg_doc(s, d, &dr);
			if (!rc && dr.block != have) {
				have = dr.block;
				blk_rc = ns_seg_block(s, dr.block, &blk);
			}
			if (!rc) rc = blk_rc;
			if (!rc && (dr.block_off > blk.len ||
			            dr.text_len > blk.len - dr.block_off))
				rc = NS_ECORRUPT;
			if (!rc) {
				text = blk.p + dr.block_off;
				len = (size_t)dr.text_len;
			}
		}
		cr_assert(rc == NS_OK || rc == NS_ECORRUPT, "text rc %d", rc);
		if (rc) {
			unreadable++;
			continue;
		}
		if (exact && d < g_ntexts) {
			size_t n = strlen(g_texts[d]);
			cr_assert(len == n && (n == 0 || !memcmp(text, g_texts[d], n)),
			          "doc %u reads back different text and no error", d);
		}
	}
	ns_buf_free(&b);
	ns_buf_free(&blk);
	return unreadable;
}

typedef struct target {
	const char *ext;   /* "manifest" or a segment extension */
	char name[64];     /* file name, e.g. "seg_000001.post" */
	char *path;
	uint8_t *orig;
	size_t size;
	int is_store;
	uint64_t body_lo, body_hi; /* store: range of the compressed blocks */
	size_t content;            /* bytes before the page table */
} target;

/* What was done to the file, for the checks on the messages. */
enum { DMG_OTHER, DMG_FLIP, DMG_CUT, DMG_GROW };
typedef struct damage {
	int kind;
	size_t at;   /* DMG_FLIP: the byte; DMG_CUT, DMG_GROW: the new size */
} damage;

static const damage dmg_other = {DMG_OTHER, 0};

/* Checks that msg (about the file t) says where the damage d is: the
** flipped byte inside its "bytes A..B", the size of a cut or grown file
** and, for a grown one, the expected size. */
static void says_where(const target *t, const char *what, const damage *d,
                       const char *msg)
{
	char want[96];
	size_t lo, hi;
	switch (d->kind) {
	case DMG_FLIP:
		cr_assert(byte_range(msg, &lo, &hi), "%s: %s: no byte range in: %s",
		          t->name, what, msg);
		cr_assert(lo <= d->at && d->at <= hi,
		          "%s: %s: range %zu..%zu misses byte %zu: %s", t->name, what,
		          lo, hi, d->at, msg);
		break;
	case DMG_CUT:
		/* "truncated (N bytes, ..." or "... (file is N bytes)" */
		snprintf(want, sizeof want, "(%zu bytes", d->at);
		if (!strstr(msg, want))
			snprintf(want, sizeof want, "file is %zu bytes", d->at);
		cr_assert_not_null(strstr(msg, want), "%s: %s: size not given: %s",
		                   t->name, what, msg);
		break;
	case DMG_GROW:
		snprintf(want, sizeof want, "file is %zu bytes, %zu expected", d->at,
		         t->size);
		cr_assert_not_null(strstr(msg, want), "%s: %s: sizes not given: %s",
		                   t->name, what, msg);
		break;
	default:
		break;
	}
}

static void target_open(target *t, const char *ext)
{
	memset(t, 0, sizeof *t);
	t->ext = ext;
	if (!strcmp(ext, "manifest"))
		snprintf(t->name, sizeof t->name, "manifest");
	else if (!strcmp(ext, "del"))
		snprintf(t->name, sizeof t->name, "seg_000001_2.del");
	else
		snprintf(t->name, sizeof t->name, "seg_000001.%s", ext);
	t->path = th_path(g_ix, t->name);
	t->orig = (uint8_t *)th_read_file(t->path, &t->size);
	cr_assert_not_null(t->orig, "cannot read %s", t->path);
	t->is_store = !strcmp(ext, "store");
	t->content = content_len(t->orig, t->size, NULL);
	cr_assert(t->content > NS_HEADER_SIZE && t->content < t->size);
	if (t->is_store) {
		const uint8_t *meta = t->orig + t->content - NS_META_STORE;
		t->body_lo = NS_HEADER_SIZE;
		t->body_hi = NS_HEADER_SIZE + ns_get_le64(meta + 8);
		cr_assert_lt(t->body_hi, t->size);
	}
}

static void target_restore(const target *t)
{
	th_write_file(t->path, t->orig, t->size);
}

static void target_close(target *t)
{
	target_restore(t);
	free(t->path);
	free(t->orig);
}

/* Checks the index after one mutation described by `what` and d.
** body_flip: a bit of the store's compressed blocks was flipped. */
static void check_damaged(const target *t, const char *what, int body_flip,
                          const damage *d)
{
	ns_index *ix = NULL;
	char *err = NULL;
	int rc = ns_index_open(g_ix, &ix, &err);
	if (rc != NS_OK) {
		cr_assert(rc == NS_ECORRUPT || rc == NS_EVERSION,
		          "%s: %s: open gave %d (%s)", t->name, what, rc,
		          err ? err : "");
		cr_assert_null(ix);
		cr_assert_not_null(err, "%s: %s: no message", t->name, what);
		cr_assert_not_null(strstr(err, t->name),
		                   "%s: %s: message does not name the file: %s",
		                   t->name, what, err);
		/* the store's checksum is not verified at open: damage in its meta
		** or block index is found by the structural checks of index.c,
		** which name the file but not the bytes */
		size_t lo, hi;
		if (rc == NS_ECORRUPT && (!t->is_store || d->kind != DMG_FLIP ||
		                          byte_range(err, &lo, &hi)))
			says_where(t, what, d, err);
		ns_free(err);
	} else {
		cr_assert(t->is_store, "%s: %s: the damaged index opened", t->name,
		          what);
		cr_assert_null(err);
		int unreadable = probe_open_index(ix, 1);
		if (body_flip)
			cr_assert_gt(unreadable, 0, "%s: %s: damaged block read as sound",
			             t->name, what);
		ns_index_close(ix);
	}
	/* check names another format version as such, like open */
	int open_rc = rc;
	report_lines l;
	memset(&l, 0, sizeof l);
	rc = ns_index_check(g_ix, keep_line, &l);
	cr_assert(rc == (open_rc == NS_EVERSION ? NS_EVERSION : NS_ECORRUPT),
	          "%s: %s: check gave %d (open %d)", t->name, what, rc, open_rc);
	cr_assert_gt(l.n, 0, "%s: %s: check reported nothing", t->name, what);
	/* check verifies every file's checksum first, so its first line is
	** about the damaged file and says where */
	cr_assert_not_null(strstr(l.text, t->name), "%s: %s: check said: %s",
	                   t->name, what, l.text);
	if (rc == NS_ECORRUPT) says_where(t, what, d, l.text);
}

/* ------------------------------------------------------------------------ */
/* Truncation                                                               */
/* ------------------------------------------------------------------------ */

static void truncations(const char *ext)
{
	target t;
	target_open(&t, ext);
	size_t n = t.size;
	for (size_t len = 0; len < n; len++) {
		/* every length near either end, ~150 in between */
		if (len > 80 && len + 80 < n && len % (n / 150 + 1) != 0) continue;
		cr_assert_eq(truncate(t.path, (off_t)len), 0);
		char what[64];
		snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, n);
		damage d = {DMG_CUT, len};
		check_damaged(&t, what, 0, &d);
		target_restore(&t);
	}
	/* a file that grew (garbage appended) is damaged too */
	uint8_t *big = malloc(n + 3);
	memcpy(big, t.orig, n);
	memcpy(big + n, "xyz", 3);
	th_write_file(t.path, big, n + 3);
	damage grown = {DMG_GROW, n + 3};
	check_damaged(&t, "3 bytes appended", 0, &grown);
	free(big);
	target_close(&t);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK, "restored");
}

Test(corrupt, truncated_manifest) { truncations("manifest"); }
Test(corrupt, truncated_dict) { truncations("dict"); }
Test(corrupt, truncated_post) { truncations("post"); }
Test(corrupt, truncated_pos) { truncations("pos"); }
Test(corrupt, truncated_docs) { truncations("docs"); }
Test(corrupt, truncated_store) { truncations("store"); }
Test(corrupt, truncated_del)
{
	add_deletions();
	truncations("del");
}

/* ------------------------------------------------------------------------ */
/* Bit flips                                                                */
/* ------------------------------------------------------------------------ */

static void bit_flips(const char *ext, uint64_t seed)
{
	target t;
	target_open(&t, ext);
	th_rng r = {seed};
	uint8_t *buf = malloc(t.size);
	cr_assert_not_null(buf);
	/* every bit of a small file, else 300 random bits plus every bit of
	** the header and of the trailer (page table and footer) */
	size_t nbits = t.size * 8, trailer = t.size - t.content;
	size_t count = nbits <= 2400 ? nbits : 300 + 8 * (NS_HEADER_SIZE + trailer);
	for (size_t k = 0; k < count; k++) {
		size_t bit;
		if (nbits <= 2400)
			bit = k;
		else if (k < 8 * NS_HEADER_SIZE)
			bit = k;
		else if (k < 8 * (NS_HEADER_SIZE + trailer))
			bit = nbits - 8 * (NS_HEADER_SIZE + trailer) + k;
		else
			bit = (size_t)(th_next(&r) % nbits);
		memcpy(buf, t.orig, t.size);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		th_write_file(t.path, buf, t.size);
		char what[64];
		snprintf(what, sizeof what, "bit %zu of byte %zu flipped", bit % 8,
		         bit / 8);
		int body = t.is_store && bit / 8 >= t.body_lo && bit / 8 < t.body_hi;
		damage d = {DMG_FLIP, bit / 8};
		check_damaged(&t, what, body, &d);
	}
	free(buf);
	target_close(&t);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK, "restored");
}

Test(corrupt, bit_flips_manifest) { bit_flips("manifest", 1); }
Test(corrupt, bit_flips_dict) { bit_flips("dict", 2); }
Test(corrupt, bit_flips_post) { bit_flips("post", 3); }
Test(corrupt, bit_flips_pos) { bit_flips("pos", 4); }
Test(corrupt, bit_flips_docs) { bit_flips("docs", 5); }
Test(corrupt, bit_flips_store) { bit_flips("store", 6); }
Test(corrupt, bit_flips_del)
{
	add_deletions();
	bit_flips("del", 7);
}

/* ------------------------------------------------------------------------ */
/* Page checksums: damage located to its 64 KiB page                        */
/* ------------------------------------------------------------------------ */

/* Builds, beside the fixture, an index whose segment files all span more
** than one page: 3,000 documents of 40 to 80 words drawn from 40,000. */
static void build_big(const char *dir)
{
	enum { N = 3000 };
	char **texts = malloc(N * sizeof *texts);
	cr_assert_not_null(texts);
	th_rng r = {7};
	for (size_t i = 0; i < N; i++) {
		size_t len = 40 + th_below(&r, 41);
		texts[i] = malloc(len * 8 + 1);
		cr_assert_not_null(texts[i]);
		size_t n = 0;
		for (size_t k = 0; k < len; k++) {
			/* skewed, so that some words are common: several posting
			** blocks, skip entries */
			uint32_t w = (uint32_t)(40000 * th_unit(&r) * th_unit(&r));
			char word[8];
			for (int c = 0; c < 6; c++, w /= 7) word[c] = (char)('a' + w % 7);
			word[6] = 0;
			n += (size_t)sprintf(texts[i] + n, "%s%s", k ? " " : "", word);
		}
	}
	th_build_index(dir, (const char *const *)texts, N, "none");
	for (size_t i = 0; i < N; i++) free(texts[i]);
	free(texts);
}

/* Opens and checks the index in dir; both must fail, name the file and give
** exactly lo..hi as the damaged bytes. */
static void expect_range(const char *dir, const char *name, int is_store,
                         size_t lo, size_t hi, const char *what)
{
	ns_index *ix = NULL;
	char *err = NULL;
	int rc = ns_index_open(dir, &ix, &err);
	char want[128];
	snprintf(want, sizeof want, "%s: checksum mismatch in bytes %zu..%zu", name,
	         lo, hi);
	if (rc == NS_OK) {
		/* only the store, whose blocks are checked when read */
		cr_assert(is_store, "%s: %s: opened", name, what);
		ns_index_close(ix);
	} else {
		cr_assert_eq(rc, NS_ECORRUPT, "%s: %s: open %d", name, what, rc);
		cr_assert_not_null(strstr(err, want), "%s: open said '%s', want '%s'",
		                   what, err, want);
		ns_free(err);
	}
	report_lines l;
	memset(&l, 0, sizeof l);
	cr_assert_eq(ns_index_check(dir, keep_line, &l), NS_ECORRUPT, "%s: %s",
	             name, what);
	cr_assert_not_null(strstr(l.text, want), "%s: check said '%s', want '%s'",
	                   what, l.text, want);
}

Test(corrupt, page_checksums_locate_damage)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/big", g_dir);
	build_big(dir);
	cr_assert_eq(ns_index_check(dir, NULL, NULL), NS_OK);
	static const char *const names[] = {
	    "manifest",        "seg_000001.dict", "seg_000001.post",
	    "seg_000001.pos",  "seg_000001.docs", "seg_000001.store"};
	th_rng r = {21};
	for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
		char *path = th_path(dir, names[f]);
		size_t n;
		uint8_t *orig = (uint8_t *)th_read_file(path, &n);
		cr_assert_not_null(orig);
		uint8_t *b = malloc(n);
		cr_assert_not_null(b);
		uint32_t np;
		size_t c = content_len(orig, n, &np);
		cr_assert_eq(np, (c + NS_PAGE_SIZE - 1) / NS_PAGE_SIZE);
		int is_store = strstr(names[f], "store") != NULL;
		if (f > 0) cr_assert_geq(np, 2, "%s: %zu bytes, one page", names[f], n);
		/* one flipped bit in each page in turn, then at random: the
		** message gives exactly that page */
		for (uint32_t k = 0; k < np + 60; k++) {
			uint32_t pg = k < np ? k : th_below(&r, np);
			size_t lo = (size_t)pg * NS_PAGE_SIZE;
			size_t hi = lo + NS_PAGE_SIZE < c ? lo + NS_PAGE_SIZE - 1 : c - 1;
			size_t at = lo + th_below(&r, (uint32_t)(hi - lo + 1));
			memcpy(b, orig, n);
			b[at] ^= (uint8_t)(1u << th_below(&r, 8));
			if (at < 12) continue; /* magic and version: other messages */
			th_write_file(path, b, n);
			char what[64];
			snprintf(what, sizeof what, "bit flipped in byte %zu", at);
			expect_range(dir, names[f], is_store, lo, hi, what);
		}
		/* damage in two pages: the first is reported */
		if (np >= 3) {
			memcpy(b, orig, n);
			b[c - 1] ^= 1;
			b[NS_PAGE_SIZE + 5] ^= 1;
			th_write_file(path, b, n);
			expect_range(dir, names[f], is_store, NS_PAGE_SIZE,
			             2 * NS_PAGE_SIZE - 1, "two pages");
		}
		/* a page's entry in the table, the table's count and CRC, the
		** footer CRC: the message names the table or the footer */
		size_t tail = n - NS_FOOTER_SIZE;
		size_t spots[] = {c, c + 4 * (size_t)(np - 1) + 3, tail - 2, tail,
		                  tail + 3};
		for (size_t k = 0; k < sizeof spots / sizeof *spots; k++) {
			memcpy(b, orig, n);
			b[spots[k]] ^= 0x10;
			th_write_file(path, b, n);
			ns_index *ix = NULL;
			char *err = NULL;
			int rc = ns_index_open(dir, &ix, &err);
			report_lines l;
			memset(&l, 0, sizeof l);
			cr_assert_eq(ns_index_check(dir, keep_line, &l), NS_ECORRUPT);
			/* the footer CRC of the store is only verified by check */
			if (rc == NS_OK) {
				cr_assert(is_store && spots[k] >= tail);
				ns_index_close(ix);
			} else {
				cr_assert_eq(rc, NS_ECORRUPT);
				size_t a, z;
				cr_assert(byte_range(err, &a, &z), "%s", err);
				cr_assert(a <= spots[k] && spots[k] <= z && a >= c,
				          "%s: byte %zu: %s", names[f], spots[k], err);
				ns_free(err);
			}
			size_t a, z;
			cr_assert(byte_range(l.text, &a, &z), "%s", l.text);
			cr_assert(a <= spots[k] && spots[k] <= z && a >= c,
			          "%s: byte %zu: %s", names[f], spots[k], l.text);
		}
		/* cut at a page boundary and inside the table: the size */
		size_t cuts[] = {NS_PAGE_SIZE, c + 2, n - 1};
		for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
			if (cuts[k] >= n) continue;
			th_write_file(path, orig, cuts[k]);
			char *err = NULL;
			ns_index *ix = NULL;
			cr_assert_eq(ns_index_open(dir, &ix, &err), NS_ECORRUPT);
			char want[64];
			snprintf(want, sizeof want, "file is %zu bytes)", cuts[k]);
			cr_assert_not_null(strstr(err, want), "%s", err);
			ns_free(err);
		}
		th_write_file(path, orig, n);
		free(b);
		free(orig);
		free(path);
	}
	cr_assert_eq(ns_index_check(dir, NULL, NULL), NS_OK);
}

/* ------------------------------------------------------------------------ */
/* Damage behind a valid checksum: the structural checks                    */
/* ------------------------------------------------------------------------ */

/* Recomputes the page table and footer CRC32s (fix_trailer) and, for the
** store, the CRC of its block index.  The damage must spare the trailer:
** c is the content length of the undamaged file. */
static void fix_checksums(uint8_t *b, size_t n, size_t c, int is_store)
{
	if (is_store) {
		uint8_t *meta = b + c - NS_META_STORE;
		uint64_t nblk = ns_get_le64(meta), ioff = ns_get_le64(meta + 8);
		uint64_t body = c - NS_HEADER_SIZE - NS_META_STORE;
		if (ioff <= body && (body - ioff) / NS_STORE_INDEX_ENTRY == nblk)
			ns_put_le32(meta + 24,
			            (uint32_t)crc32(0, b + NS_HEADER_SIZE + ioff,
			                            (uInt)(body - ioff)));
	}
	fix_trailer(b, n);
}

static void structural_flips(const char *ext, uint64_t seed, int count,
                             int min_detect_pct)
{
	target t;
	target_open(&t, ext);
	th_rng r = {seed};
	uint8_t *buf = malloc(t.size);
	cr_assert_not_null(buf);
	/* header, page table and footer are repaired, so damage there would
	** only test the repair: mutate body and meta */
	size_t lo = NS_HEADER_SIZE, hi = t.content;
	int opened = 0, detected = 0;
	for (int k = 0; k < count; k++) {
		memcpy(buf, t.orig, t.size);
		/* one to three flipped bits, or a random byte, in body and meta */
		int nflip = 1 + (int)th_below(&r, 3);
		size_t at = lo + th_below(&r, (uint32_t)(hi - lo));
		for (int f = 0; f < nflip; f++) {
			size_t p = at + th_below(&r, 4);
			if (p >= hi) p = hi - 1;
			if (th_below(&r, 4) == 0)
				buf[p] = (uint8_t)th_next(&r);
			else
				buf[p] ^= (uint8_t)(1u << th_below(&r, 8));
		}
		fix_checksums(buf, t.size, t.content, t.is_store);
		th_write_file(t.path, buf, t.size);
		ns_index *ix = NULL;
		char *err = NULL;
		int rc = ns_index_open(g_ix, &ix, &err);
		if (rc == NS_OK) {
			opened++;
			probe_open_index(ix, 0);
			ns_index_close(ix);
		} else {
			cr_assert_eq(rc, NS_ECORRUPT, "%s: flip near %zu: open %d (%s)",
			             t.name, at, rc, err ? err : "");
			cr_assert_not_null(err);
			ns_free(err);
		}
		int lines = 0;
		rc = ns_index_check(g_ix, count_line, &lines);
		cr_assert(rc == NS_OK || rc == NS_ECORRUPT, "%s: check gave %d",
		          t.name, rc);
		cr_assert_eq(rc == NS_ECORRUPT, lines > 0,
		             "%s: check status and report disagree", t.name);
		detected += rc == NS_ECORRUPT;
	}
	/* every byte of the posting and store bodies is structure, so check
	** must catch most damage there (term text in the dictionary, titles in
	** the document table and position values can change undetectably) */
	cr_assert_geq(detected, count * min_detect_pct / 100,
	              "%s: check detected %d of %d mutations (%d opened)", t.name,
	              detected, count, opened);
	free(buf);
	target_close(&t);
}

Test(corrupt, checksummed_damage_in_dict) { structural_flips("dict", 11, 300, 50); }
Test(corrupt, checksummed_damage_in_post) { structural_flips("post", 12, 300, 80); }
Test(corrupt, checksummed_damage_in_pos) { structural_flips("pos", 13, 300, 0); }
Test(corrupt, checksummed_damage_in_docs) { structural_flips("docs", 14, 300, 0); }
Test(corrupt, checksummed_damage_in_store) { structural_flips("store", 15, 300, 80); }
/* check analyses every deleted document again: it catches nearly all */
Test(corrupt, checksummed_damage_in_del)
{
	add_deletions();
	structural_flips("del", 16, 300, 90);
}

/* ------------------------------------------------------------------------ */
/* Format version                                                           */
/* ------------------------------------------------------------------------ */

static void other_version(const char *ext)
{
	target t;
	target_open(&t, ext);
	static const uint32_t versions[] = {0, NS_FORMAT_VERSION + 1, 0xffffffffu};
	for (size_t v = 0; v < 3; v++) {
		uint8_t *b = malloc(t.size);
		memcpy(b, t.orig, t.size);
		ns_put_le32(b + 8, versions[v]);
		/* a writer of that version would have valid checksums */
		fix_trailer(b, t.size);
		th_write_file(t.path, b, t.size);
		free(b);
		ns_index *ix = NULL;
		char *err = NULL;
		int rc = ns_index_open(g_ix, &ix, &err);
		cr_assert_eq(rc, NS_EVERSION, "%s version %u: %d", t.name, versions[v],
		             rc);
		cr_assert_null(ix);
		cr_assert_not_null(err);
		cr_assert_not_null(strstr(err, "format"), "message: %s", err);
		cr_assert_not_null(strstr(err, t.name), "message: %s", err);
		ns_free(err);
		cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_EVERSION);
	}
	target_close(&t);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}

Test(corrupt, other_format_version_is_reported)
{
	other_version("manifest");
	other_version("dict");
	other_version("post");
	other_version("pos");
	other_version("docs");
	other_version("store");
}

/* ------------------------------------------------------------------------ */
/* Missing and replaced files                                               */
/* ------------------------------------------------------------------------ */

Test(corrupt, missing_segment_file_is_named)
{
	static const char *const ext[] = {"dict", "post", "pos", "docs", "store"};
	for (size_t i = 0; i < 5; i++) {
		target t;
		target_open(&t, ext[i]);
		cr_assert_eq(unlink(t.path), 0);
		check_damaged(&t, "file removed", 0, &dmg_other);
		target_close(&t);
	}
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}

Test(corrupt, files_swapped_between_kinds_are_rejected)
{
	/* a .post file where the .pos file should be: valid checksum, wrong
	** magic */
	target post, pos;
	target_open(&post, "post");
	target_open(&pos, "pos");
	th_write_file(pos.path, post.orig, post.size);
	check_damaged(&pos, "replaced by the .post file", 0, &dmg_other);
	target_close(&pos);
	target_close(&post);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}
