/*
** bench_postings.c -- the posting-list codec on REAL data: the doc-id
** gaps, term frequencies and positions of an nsearch index, decoded with
** our block codec on every kernel this CPU has (scalar, sse2, avx2,
** avx512),
** with plain varints and with zlib as baselines.
**
** Build (make bench does this; needs build-bench/libnsearch.a):
**   gcc -std=c11 -O2 -DNDEBUG -D_GNU_SOURCE -Iinclude -Isrc \
**       -o build-bench/bench_postings bench/bench_postings.c \
**       build-bench/libnsearch.a -lstemmer -lutf8proc -lz -lm -lpthread
** Run:  build-bench/bench_postings [-q] [-c] [-r RUNS] [-s STEP]
**                             [-S STREAM] [-C CODEC] [-K KERNEL] INDEX_DIR
**   -q  quick: 3 runs instead of 7          -c  thread CPU clock
**   -r  timed runs per figure (median kept) -s  every STEP-th term only
**   -S  only this stream (docs, tfs, positions)
**   -C  only this codec (pfor, bp128, varint, zlib)
**   -K  only this kernel (scalar, sse2, avx2, avx512) for pfor and bp128
**
** What it reads.  Every term of every segment (or every STEP-th one) is
** walked with the index's own cursor (src/postings.h), which checks the
** data as it decodes.  Three integer streams come out of it, cut into the
** lists the index stores them as (docs/FORMAT.md#postings, #positions):
**   docs       one list per term: the ascending document numbers, coded
**              as gaps (the first from 0);
**   tfs        one list per term: tf - 1;
**   positions  one list per posting block of 128 (or the final partial
**              block): the positions of its postings, concatenated, each
**              posting's first position absolute and the others as
**              differences, exactly the list the index stores.
**
** The codecs, each applied list by list:
**   pfor       ours, as the index stores lists (the "int-list" of
**              docs/FORMAT.md): full patched blocks of 128
**              (ns_pfor_pack128, of the gaps for docs), then a packed tail
**              of the 0..127 values left (ns_ptail_put).  Decoded with
**              ns_pfor_unpack128[_delta] + ns_ptail_get[_delta] on each
**              kernel selected with ns_codec_set_impl().
**   bp128      our plain bit-packed blocks without exceptions
**              (ns_pack128_delta / ns_pack128) and a varint tail
**              (ns_vtail_put): the index format before patched blocks.
**   varint     every value as a LEB128 varint (gaps for docs), decoded with
**              ns_varint_get() one value at a time (+ prefix sum for docs).
**   zlib       the values (gaps for docs) as raw little-endian uint32,
**              compressed with zlib level 6 as a raw deflate stream per
**              list (no zlib header or Adler-32: 6 bytes a list saved);
**              decoded by inflate() into a 512-byte window, 128 values at
**              a time (+ prefix sum for docs), one z_stream reset per list.
** Every decoder writes into one L1-resident 128-value buffer (as a query
** does) and folds it into a checksum that goes to a volatile sink; every
** codec's output is first verified against the values read from the index,
** so the checksum column is the same for all codecs of a stream.
**
** On stderr, "split" lines say how each stream's ints fall into full
** blocks (and how many of those have exceptions) and into tails of 1-3
** (varints), 4-15, 16-63 and 64-127 values: short lists cost per list.
** (stdout keeps the format bench/run.py parses.)
** Output: TSV rows
**   stream codec kernel lists ints bytes bits_per_int decode_mis checksum
** where decode_mis is millions of integers decoded a second (median of the
** timed runs, CLOCK_MONOTONIC or the thread's CPU clock), then "#" lines:
**   # docs_gap_bits_per_posting X   (pfor, doc-id gaps alone)
**   # tf_bits_per_posting X, # skip_bits_per_posting X (20-byte skip entries
**   of lists with df >= 128), # postings_bits_per_posting X (their sum)
**   # index_post_bits_per_posting X (the .post bodies' bytes as the index
**   stores them: the same figure unless the format moved on)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "codec.h"
#include "format.h"
#include "index.h"
#include "nsearch.h"
#include "postings.h"

/* ---- helpers ------------------------------------------------------------ */

static void die(const char *msg)
{
	fprintf(stderr, "bench_postings: %s\n", msg);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) die("out of memory");
	return p;
}

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
	struct timespec ts;
	clock_gettime(bench_clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A growable byte buffer with a list of offsets (one per list). */
typedef struct enc {
	uint8_t *p;
	size_t len, cap;
	size_t *off; /* off[i] = start of list i; off[n_lists] = len */
} enc;

static void enc_reserve(enc *e, size_t more)
{
	if (e->len + more <= e->cap) return;
	size_t cap = e->cap ? e->cap : 1 << 16;
	while (cap < e->len + more) cap *= 2;
	e->p = xrealloc(e->p, cap);
	e->cap = cap;
}

/* One integer stream, cut into lists.  For a delta stream val[] holds the
** absolute (ascending) values, else the stored values. */
typedef struct stream {
	const char *name;
	int delta;
	uint32_t *val;
	size_t n, cap;
	size_t *lst; /* lst[i] = first value of list i; lst[n_lists] = n */
	size_t n_lists, lcap;
	enc blk[2], var, zl; /* blk[0]: pfor, blk[1]: bp128 */
	size_t max_list;
} stream;

static void st_push(stream *s, uint32_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 16;
		s->val = xrealloc(s->val, s->cap * sizeof *s->val);
	}
	s->val[s->n++] = v;
}

/* Ends the current list (empty lists are dropped). */
static void st_cut(stream *s)
{
	if (s->n_lists + 2 > s->lcap) {
		s->lcap = s->lcap ? s->lcap * 2 : 1 << 12;
		s->lst = xrealloc(s->lst, s->lcap * sizeof *s->lst);
	}
	if (s->n_lists == 0) s->lst[0] = 0;
	if (s->lst[s->n_lists] == s->n) return;
	size_t len = s->n - s->lst[s->n_lists];
	if (len > s->max_list) s->max_list = len;
	s->lst[++s->n_lists] = s->n;
}

/* ---- reading the index --------------------------------------------------- */

typedef struct walk {
	const ns_seg *seg;
	stream *docs, *tfs, *pos;
	uint64_t step, term_no;
	uint64_t n_postings, skip_bytes, terms;
	uint32_t *pbuf;
	size_t pcap;
} walk;

static int walk_term(void *ctx, const char *term, size_t len,
                     const ns_terminfo *ti)
{
	(void)term;
	(void)len;
	walk *w = ctx;
	if (w->term_no++ % w->step) return 0;
	ns_pcur c;
	if (ns_pcur_open(&c, w->seg, ti)) die("damaged posting list");
	uint32_t k = 0;
	while (c.doc != NS_DOC_END) {
		uint32_t tf = ns_pcur_tf(&c);
		if (tf == 0) die("damaged term frequencies");
		st_push(w->docs, c.doc);
		st_push(w->tfs, tf - 1);
		if (tf > w->pcap) {
			w->pcap = tf * 2;
			w->pbuf = xrealloc(w->pbuf, w->pcap * sizeof *w->pbuf);
		}
		if (ns_pcur_positions(&c, w->pbuf)) die("damaged positions");
		for (uint32_t j = 0; j < tf; j++)
			st_push(w->pos, j ? w->pbuf[j] - w->pbuf[j - 1] : w->pbuf[0]);
		if (++k % NS_BLOCK == 0) st_cut(w->pos);
		if (ns_pcur_next(&c)) die("damaged posting list");
	}
	if (c.rc) die("damaged posting list");
	ns_pcur_close(&c);
	st_cut(w->docs);
	st_cut(w->tfs);
	st_cut(w->pos);
	w->n_postings += k;
	w->terms++;
	if (k >= NS_BLOCK)
		w->skip_bytes += (uint64_t)((k + NS_BLOCK - 1) / NS_BLOCK) * NS_SKIP_ENTRY;
	return 0;
}

/* ---- encoders ------------------------------------------------------------ */

/* pfor = 1: patched blocks + packed tail; 0: plain blocks + varint tail. */
static void encode_block(stream *s, int pfor)
{
	enc *e = &s->blk[pfor ? 0 : 1];
	e->off = xrealloc(e->off, (s->n_lists + 1) * sizeof *e->off);
	uint32_t tmp[NS_BLOCK];
	for (size_t l = 0; l < s->n_lists; l++) {
		e->off[l] = e->len;
		const uint32_t *v = s->val + s->lst[l];
		size_t n = s->lst[l + 1] - s->lst[l], i = 0;
		uint32_t base = 0;
		for (; i + NS_BLOCK <= n; i += NS_BLOCK) {
			enc_reserve(e, NS_PFOR_BOUND);
			if (pfor) {
				for (size_t j = 0; j < NS_BLOCK; j++) {
					tmp[j] = s->delta ? v[i + j] - base : v[i + j];
					if (s->delta) base = v[i + j];
				}
				e->len += ns_pfor_pack128(tmp, e->p + e->len);
			} else if (s->delta) {
				e->len += ns_pack128_delta(v + i, base, e->p + e->len);
				base = v[i + NS_BLOCK - 1];
			} else {
				e->len += ns_pack128(v + i, e->p + e->len);
			}
		}
		size_t t = n - i;
		for (size_t j = 0; j < t; j++) {
			tmp[j] = s->delta ? v[i + j] - base : v[i + j];
			if (s->delta) base = v[i + j];
		}
		if (pfor) {
			enc_reserve(e, ns_ptail_bound(t));
			e->len += t ? ns_ptail_put(tmp, t, e->p + e->len) : 0;
		} else {
			enc_reserve(e, ns_vtail_bound(t));
			e->len += ns_vtail_put(tmp, t, e->p + e->len);
		}
	}
	e->off[s->n_lists] = e->len;
}

static void encode_varint(stream *s)
{
	enc *e = &s->var;
	e->off = xrealloc(e->off, (s->n_lists + 1) * sizeof *e->off);
	for (size_t l = 0; l < s->n_lists; l++) {
		e->off[l] = e->len;
		uint32_t prev = 0;
		for (size_t i = s->lst[l]; i < s->lst[l + 1]; i++) {
			enc_reserve(e, NS_VARINT_MAX);
			uint32_t v = s->delta ? s->val[i] - prev : s->val[i];
			prev = s->val[i];
			e->len += ns_varint_put(e->p + e->len, v);
		}
	}
	e->off[s->n_lists] = e->len;
}

static void encode_zlib(stream *s)
{
	enc *e = &s->zl;
	e->off = xrealloc(e->off, (s->n_lists + 1) * sizeof *e->off);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed");
	uint32_t *raw = xrealloc(NULL, s->max_list * sizeof *raw + 4);
	for (size_t l = 0; l < s->n_lists; l++) {
		e->off[l] = e->len;
		size_t n = s->lst[l + 1] - s->lst[l];
		uint32_t prev = 0;
		for (size_t i = 0; i < n; i++) { /* little-endian hosts only (index.h) */
			uint32_t v = s->val[s->lst[l] + i];
			raw[i] = s->delta ? v - prev : v;
			prev = v;
		}
		uLong bound = deflateBound(&z, (uLong)(n * 4));
		enc_reserve(e, bound);
		if (deflateReset(&z) != Z_OK) die("deflateReset failed");
		z.next_in = (Bytef *)raw;
		z.avail_in = (uInt)(n * 4);
		z.next_out = e->p + e->len;
		z.avail_out = (uInt)bound;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) die("deflate failed");
		e->len += bound - z.avail_out;
	}
	e->off[s->n_lists] = e->len;
	deflateEnd(&z);
	free(raw);
}

/* How a stream's ints split between full blocks and tails of each size
** (the decode cost of short lists is mostly per list, not per int). */
static void print_split(const stream *s)
{
	size_t blk_ints = 0, blocks = 0, exc_blocks = 0, tail_ints[4] = {0},
	       tails[4] = {0};
	const enc *e = &s->blk[0];
	for (size_t l = 0; l < s->n_lists; l++) {
		size_t n = s->lst[l + 1] - s->lst[l], t = n % NS_BLOCK;
		const uint8_t *p = e->p + e->off[l], *end = e->p + e->off[l + 1];
		for (size_t i = 0; i + NS_BLOCK <= n; i += NS_BLOCK) {
			blocks++;
			exc_blocks += p[1] != 0;
			if (ns_pfor_skip128(&p, end)) die("skip failed");
		}
		blk_ints += n - t;
		int c = t == 0 ? -1 : t <= NS_PTAIL_VARINT ? 0 : t < 16 ? 1 : t < 64 ? 2 : 3;
		if (c >= 0) {
			tails[c]++;
			tail_ints[c] += t;
		}
	}
	fprintf(stderr, "bench_postings: split %s: %zu lists, %zu ints in %zu full blocks (%zu with "
	       "exceptions); tails (lists, ints): 1-3 varint %zu %zu, 4-15 %zu "
	       "%zu, 16-63 %zu %zu, 64-127 %zu %zu\n", s->name, s->n_lists,
	       blk_ints, blocks, exc_blocks, tails[0], tail_ints[0], tails[1],
	       tail_ints[1], tails[2], tail_ints[2], tails[3], tail_ints[3]);
}

/* ---- decoders ------------------------------------------------------------ */

enum { C_PFOR, C_BP128, C_VARINT, C_ZLIB, N_CODECS };
static const char *const codec_names[] = {"pfor", "bp128", "varint", "zlib"};

static const enc *codec_enc(const stream *s, int codec)
{
	return codec == C_PFOR ? &s->blk[0] : codec == C_BP128 ? &s->blk[1]
	       : codec == C_VARINT ? &s->var : &s->zl;
}

/* Decodes every list of s with the codec; with `check` set, compares the
** output to s->val and dies on a difference.  @return a checksum. */
static uint32_t decode_all(const stream *s, int codec, int check, z_stream *z)
{
	uint32_t out[NS_BLOCK], sum = 0;
	for (size_t l = 0; l < s->n_lists; l++) {
		size_t n = s->lst[l + 1] - s->lst[l], done = 0;
		const uint32_t *want = s->val + s->lst[l];
		uint32_t base = 0;
		const enc *e = codec_enc(s, codec);
		const uint8_t *p = e->p + e->off[l], *end = e->p + e->off[l + 1];
		if (codec == C_ZLIB) {
			if (inflateReset(z) != Z_OK) die("inflateReset failed");
			z->next_in = (Bytef *)p;
			z->avail_in = (uInt)(end - p);
		}
		while (done < n) {
			size_t m = n - done < NS_BLOCK ? n - done : NS_BLOCK;
			int rc = 0;
			if (codec == C_PFOR) {
				if (m == NS_BLOCK)
					rc = s->delta ? ns_pfor_unpack128_delta(&p, end, base, out)
					              : ns_pfor_unpack128(&p, end, out);
				else
					rc = s->delta ? ns_ptail_get_delta(&p, end, m, base, out)
					              : ns_ptail_get(&p, end, m, out);
			} else if (codec == C_BP128) {
				if (m == NS_BLOCK)
					rc = s->delta ? ns_unpack128_delta(&p, end, base, out)
					              : ns_unpack128(&p, end, out);
				else
					rc = s->delta ? ns_vtail_get_delta(&p, end, m, base, out)
					              : ns_vtail_get(&p, end, m, out);
			} else if (codec == C_VARINT) {
				for (size_t j = 0; j < m && !rc; j++) {
					uint64_t v;
					rc = ns_varint_get(&p, end, &v);
					out[j] = (uint32_t)v;
				}
				if (s->delta)
					for (size_t j = 0; j < m; j++) out[j] = base += out[j];
			} else {
				z->next_out = (Bytef *)out;
				z->avail_out = (uInt)(m * 4);
				int zr = inflate(z, Z_SYNC_FLUSH);
				rc = (zr != Z_OK && zr != Z_STREAM_END) || z->avail_out != 0;
				if (s->delta)
					for (size_t j = 0; j < m; j++) out[j] = base += out[j];
			}
			if (rc) die("decode failed");
			if (check && memcmp(out, want + done, m * sizeof *out) != 0) {
				fprintf(stderr, "bench_postings: %s: codec %s (kernel %s) "
				        "decodes list %zu wrongly\n", s->name,
				        codec_names[codec], ns_codec_impl(), l);
				exit(1);
			}
			base = out[m - 1];
			sum += out[0] ^ out[m - 1] ^ out[m / 2];
			done += m;
		}
	}
	return sum;
}

static volatile uint32_t sink;

/* Median decode rate in millions of integers a second. */
static double measure(const stream *s, int codec, int runs, z_stream *z)
{
	/* a pass of at least 20 ms per timed run */
	size_t passes = 1;
	uint32_t acc = 0;
	for (;;) {
		double t0 = now();
		for (size_t i = 0; i < passes; i++) acc += decode_all(s, codec, 0, z);
		double dt = now() - t0;
		if (dt > 0.02 || passes > (1u << 20)) break;
		passes *= dt > 0.002 ? (size_t)(0.02 / dt) + 1 : 10;
	}
	double *rate = xrealloc(NULL, (size_t)runs * sizeof *rate);
	for (int r = 0; r < runs; r++) {
		double t0 = now();
		for (size_t i = 0; i < passes; i++) acc += decode_all(s, codec, 0, z);
		rate[r] = (double)s->n * (double)passes / (now() - t0) / 1e6;
	}
	sink = acc;
	qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
	double med = rate[runs / 2];
	free(rate);
	return med;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_postings [-q] [-c] [-r RUNS] [-s STEP] "
	        "[-S STREAM] [-C CODEC] [-K KERNEL] INDEX_DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int runs = 7;
	uint64_t step = 1;
	const char *dir = NULL, *only_stream = NULL, *only_codec = NULL,
	           *only_kernel = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0) runs = 3;
		else if (strcmp(argv[i], "-S") == 0 && i + 1 < argc) only_stream = argv[++i];
		else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) only_codec = argv[++i];
		else if (strcmp(argv[i], "-K") == 0 && i + 1 < argc) only_kernel = argv[++i];
		else if (strcmp(argv[i], "-c") == 0) bench_clock = CLOCK_THREAD_CPUTIME_ID;
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			step = strtoull(argv[++i], NULL, 10);
		else if (argv[i][0] == '-' || dir) usage();
		else dir = argv[i];
	}
	if (!dir || runs < 1 || step < 1) usage();

	ns_index *ix;
	char *err = NULL;
	if (ns_index_open(dir, &ix, &err)) {
		fprintf(stderr, "bench_postings: %s\n", err ? err : "cannot open index");
		return 1;
	}
	stream docs = {.name = "docs", .delta = 1};
	stream tfs = {.name = "tfs"};
	stream pos = {.name = "positions"};
	walk w = {.docs = &docs, .tfs = &tfs, .pos = &pos, .step = step};
	uint64_t post_body = 0;
	double t0 = now();
	for (uint32_t i = 0; i < ix->n_segs; i++) {
		w.seg = &ix->segs[i];
		post_body += ix->segs[i].post_len;
		if (ns_seg_terms(w.seg, walk_term, &w)) die("damaged dictionary");
	}
	uint64_t all_postings = 0;
	for (uint32_t i = 0; i < ix->n_segs; i++) all_postings += ix->segs[i].n_postings;
	ns_index_close(ix);
	stream *st[] = {&docs, &tfs, &pos};
	for (int i = 0; i < 3; i++) {
		st_cut(st[i]);
		encode_block(st[i], 1); /* always: print_split() reads it */
		if (!only_codec || strcmp(only_codec, "bp128") == 0) encode_block(st[i], 0);
		if (!only_codec || strcmp(only_codec, "varint") == 0) encode_varint(st[i]);
		if (!only_codec || strcmp(only_codec, "zlib") == 0) encode_zlib(st[i]);
	}
	for (int i = 0; i < 3; i++) print_split(st[i]);
	fprintf(stderr, "bench_postings: %llu terms, %llu postings, %zu positions "
	        "read and encoded in %.1f s\n", (unsigned long long)w.terms,
	        (unsigned long long)w.n_postings, pos.n, now() - t0);

	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -15) != Z_OK) die("inflateInit2 failed");
	static const char *const kernels[] = {"scalar", "sse2", "avx2", "avx512"};
	printf("# nsearch posting codec on real data: %s, %llu terms (every %llu-th), "
	       "median of %d runs, clock %s, automatic kernel %s\n", dir,
	       (unsigned long long)w.terms, (unsigned long long)step, runs,
	       bench_clock == CLOCK_MONOTONIC ? "monotonic" : "thread-cpu",
	       ns_codec_impl());
	printf("stream\tcodec\tkernel\tlists\tints\tbytes\tbits_per_int\tdecode_mis\tchecksum\n");
	for (int i = 0; i < 3; i++) {
		stream *s = st[i];
		if (only_stream && strcmp(only_stream, s->name) != 0) continue;
		for (int c = 0; c < N_CODECS; c++) {
			if (only_codec && strcmp(only_codec, codec_names[c]) != 0) continue;
			const enc *e = codec_enc(s, c);
			for (int k = 0; k < 4; k++) {
				const char *kern = "-";
				if (c == C_PFOR || c == C_BP128) {
					if (only_kernel && strcmp(only_kernel, kernels[k]) != 0) continue;
					if (ns_codec_set_impl(kernels[k]) != NS_OK) continue;
					kern = kernels[k];
				} else if (k > 0) {
					break;
				}
				uint32_t sum = decode_all(s, c, 1, &z);
				double mis = measure(s, c, runs, &z);
				printf("%s\t%s\t%s\t%zu\t%zu\t%zu\t%.3f\t%.1f\t%08x\n", s->name,
				       codec_names[c], kern, s->n_lists, s->n, e->len,
				       s->n ? (double)e->len * 8.0 / (double)s->n : 0.0, mis, sum);
				fflush(stdout);
			}
			ns_codec_set_impl(NULL);
		}
	}
	double np = w.n_postings ? (double)w.n_postings : 1.0;
	double gap = (double)docs.blk[0].len * 8.0 / np, tf = (double)tfs.blk[0].len * 8.0 / np;
	double skip = (double)w.skip_bytes * 8.0 / np;
	printf("# docs_gap_bits_per_posting %.3f\n", gap);
	printf("# tf_bits_per_posting %.3f\n", tf);
	printf("# skip_bits_per_posting %.3f\n", skip);
	printf("# postings_bits_per_posting %.3f\n", gap + tf + skip);
	printf("# positions_bits_per_position %.3f\n",
	       pos.n ? (double)pos.blk[0].len * 8.0 / (double)pos.n : 0.0);
	if (step == 1)
		printf("# index_post_bits_per_posting %.3f\n",
		       all_postings ? (double)post_body * 8.0 / (double)all_postings : 0.0);
	inflateEnd(&z);
	for (int i = 0; i < 3; i++) {
		free(st[i]->val);
		free(st[i]->lst);
		for (int b = 0; b < 2; b++) {
			free(st[i]->blk[b].p);
			free(st[i]->blk[b].off);
		}
		free(st[i]->var.p); free(st[i]->var.off);
		free(st[i]->zl.p); free(st[i]->zl.off);
	}
	free(w.pbuf);
	return 0;
}
