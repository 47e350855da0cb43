/*
** test_corrupt.c -- damaged index files.  For every file of an index
** (manifest, seg_*.dict/.post/.pos/.docs/.store) the tests truncate it at
** many lengths and flip a few hundred single bits (seeded), restoring the
** original between mutations.  After each mutation:
**   - ns_index_open fails with NS_ECORRUPT or NS_EVERSION and a message
**     naming the damaged file, or (only for the .store file, whose body is
**     checked block by block when read) succeeds;
**   - searches and snippets on an index that opened never crash, and the
**     readable documents still read back exactly;
**   - ns_index_check returns NS_ECORRUPT and reports at least one line.
** A second family flips bits and then repairs the file checksum, so that
** the damage reaches the structural checks; there only "no crash, and a
** clean status" is required.  Run under ASan+UBSan for the full value.
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
	const char *corpus = th_corpus_dir();
	g_ntexts = 0;
	DIR *d = corpus ? opendir(corpus) : NULL;
	if (d) {
		char *names[16];
		size_t nn = 0;
		struct dirent *e;
		while ((e = readdir(d)) && nn < 16)
			if (e->d_name[0] != '.') names[nn++] = strdup(e->d_name);
		closedir(d);
		qsort(names, nn, sizeof *names, th_cmp_str);
		for (size_t i = 0; i < nn; i++) {
			char *p = th_path(corpus, names[i]);
			char *t = th_read_file(p, NULL);
			if (t) g_texts[g_ntexts++] = t;
			free(p);
			free(names[i]);
		}
	}
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
} target;

static void target_open(target *t, const char *ext)
{
	memset(t, 0, sizeof *t);
	t->ext = ext;
	if (!strcmp(ext, "manifest"))
		snprintf(t->name, sizeof t->name, "manifest");
	else
		snprintf(t->name, sizeof t->name, "seg_000001.%s", ext);
	t->path = th_path(g_ix, t->name);
	t->orig = (uint8_t *)th_read_file(t->path, &t->size);
	cr_assert_not_null(t->orig, "cannot read %s", t->path);
	t->is_store = !strcmp(ext, "store");
	if (t->is_store) {
		const uint8_t *meta = t->orig + t->size - NS_FOOTER_SIZE - NS_META_STORE;
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

/* Checks the index after one mutation described by `what`.  body_flip: a
** bit of the store's compressed blocks was flipped. */
static void check_damaged(const target *t, const char *what, int body_flip)
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
	int open_rc = rc, lines = 0;
	rc = ns_index_check(g_ix, count_line, &lines);
	cr_assert(rc == (open_rc == NS_EVERSION ? NS_EVERSION : NS_ECORRUPT),
	          "%s: %s: check gave %d (open %d)", t->name, what, rc, open_rc);
	cr_assert_gt(lines, 0, "%s: %s: check reported nothing", t->name, what);
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
		check_damaged(&t, what, 0);
		target_restore(&t);
	}
	/* a file that grew (garbage appended) is damaged too */
	uint8_t *big = malloc(n + 3);
	memcpy(big, t.orig, n);
	memcpy(big + n, "xyz", 3);
	th_write_file(t.path, big, n + 3);
	check_damaged(&t, "3 bytes appended", 0);
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
	** the header and of the footer */
	size_t nbits = t.size * 8;
	size_t count = nbits <= 2400 ? nbits : 300 + 8 * (NS_HEADER_SIZE + NS_FOOTER_SIZE);
	for (size_t k = 0; k < count; k++) {
		size_t bit;
		if (nbits <= 2400)
			bit = k;
		else if (k < 8 * NS_HEADER_SIZE)
			bit = k;
		else if (k < 8 * (NS_HEADER_SIZE + NS_FOOTER_SIZE))
			bit = nbits - 8 * (NS_HEADER_SIZE + NS_FOOTER_SIZE) + k;
		else
			bit = (size_t)(th_next(&r) % nbits);
		memcpy(buf, t.orig, t.size);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		th_write_file(t.path, buf, t.size);
		char what[64];
		snprintf(what, sizeof what, "bit %zu of byte %zu flipped", bit % 8,
		         bit / 8);
		int body = t.is_store && bit / 8 >= t.body_lo && bit / 8 < t.body_hi;
		check_damaged(&t, what, body);
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

/* ------------------------------------------------------------------------ */
/* Damage behind a valid checksum: the structural checks                    */
/* ------------------------------------------------------------------------ */

/* Recomputes the footer CRC32 (of every byte before the footer) and, for
** the store, the CRC of its block index. */
static void fix_checksums(uint8_t *b, size_t n, int is_store)
{
	if (is_store) {
		uint8_t *meta = b + n - NS_FOOTER_SIZE - NS_META_STORE;
		uint64_t nblk = ns_get_le64(meta), ioff = ns_get_le64(meta + 8);
		uint64_t body = n - NS_HEADER_SIZE - NS_FOOTER_SIZE - NS_META_STORE;
		if (ioff <= body && (body - ioff) / NS_STORE_INDEX_ENTRY == nblk)
			ns_put_le32(meta + 24,
			            (uint32_t)crc32(0, b + NS_HEADER_SIZE + ioff,
			                            (uInt)(body - ioff)));
	}
	ns_put_le32(b + n - NS_FOOTER_SIZE,
	            (uint32_t)crc32(0, b, (uInt)(n - NS_FOOTER_SIZE)));
}

static void structural_flips(const char *ext, uint64_t seed, int count,
                             int min_detect_pct)
{
	target t;
	target_open(&t, ext);
	th_rng r = {seed};
	uint8_t *buf = malloc(t.size);
	cr_assert_not_null(buf);
	size_t lo = NS_HEADER_SIZE, hi = t.size - NS_FOOTER_SIZE;
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
		fix_checksums(buf, t.size, t.is_store);
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
		/* a writer of that version would have a valid checksum */
		ns_put_le32(b + t.size - NS_FOOTER_SIZE,
		            (uint32_t)crc32(0, b, (uInt)(t.size - NS_FOOTER_SIZE)));
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
		check_damaged(&t, "file removed", 0);
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
	check_damaged(&pos, "replaced by the .post file", 0);
	target_close(&pos);
	target_close(&post);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
}
