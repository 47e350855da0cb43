/*
** bench_codec.c -- throughput of the posting-list integer codec
** (src/codec.c) on every block kernel this CPU has.
**
** Build (no -march: the library dispatches at run time):
**   gcc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc -o build/bench_codec \
**       bench/bench_codec.c src/codec.c -lm
** Run:  build/bench_codec [-q] [-c] [-n VALUES]
**   -q  quick: fewer runs and data sets      -c  time with the thread's CPU
**   -n  values per data set (default 2^18)       clock (for a busy machine)
**
** Data sets: doc-id lists whose gaps are geometric with mean 2 .. 16384
** (gap >= 1, seeded PRNG), coded as delta blocks the way a posting list
** is; and uniform random values of a fixed bit width, coded as plain
** blocks.  For each data set and kernel it prints one TSV row: bits per
** integer (block bytes * 8 / values), and millions of integers per second
** for encode (ns_pack128 / ns_pack128_delta), unpack (ns_unpack128) and
** the fused delta decode (ns_unpack128_delta).  Every figure is the median
** of several timed runs (CLOCK_MONOTONIC), each long enough to time well.
** Decoding goes into one L1-resident 128-value buffer, as a query does;
** the input (at most VALUES*4 bytes, default 1 MiB) stays in L2.  Every
** timed pass folds the decoded blocks into a checksum that goes to a
** volatile sink, so the work cannot be optimised away.  Every kernel's
** output is verified against the input first; the checksum column (of the
** decoded values) is therefore the same for every kernel of a data set.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "nsearch.h"

static uint64_t rng_state = 0x5eed;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static double rnd01(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

/* CLOCK_MONOTONIC; -c switches to the thread's CPU time, which a busy
** machine (other processes preempting this one) disturbs much less. */
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

typedef struct dataset {
	char name[32];
	int delta;       /* 1: ascending ids, coded as gaps */
	size_t n;        /* values, a multiple of NS_BLOCK */
	uint32_t *val;   /* n values */
	uint8_t *enc;    /* the encoded blocks */
	size_t enc_len;
} dataset;

static size_t encode_all(const dataset *d, uint8_t *out)
{
	size_t len = 0;
	for (size_t b = 0; b < d->n; b += NS_BLOCK) {
		if (d->delta)
			len += ns_pack128_delta(d->val + b, b ? d->val[b - 1] : 0, out + len);
		else
			len += ns_pack128(d->val + b, out + len);
	}
	return len;
}

static volatile uint32_t sink;

/* One pass over the data set with the given operation; returns a checksum
** that depends on every block. */
static uint32_t run_once(const dataset *d, int op, uint8_t *scratch)
{
	uint32_t out[NS_BLOCK], sum = 0;
	if (op == 0) {
		size_t len = encode_all(d, scratch);
		return (uint32_t)len ^ scratch[len - 1];
	}
	const uint8_t *p = d->enc, *end = d->enc + d->enc_len;
	uint32_t base = 0;
	for (size_t b = 0; b < d->n; b += NS_BLOCK) {
		int rc = op == 1 ? ns_unpack128(&p, end, out)
		                 : ns_unpack128_delta(&p, end, base, out);
		if (rc) {
			fprintf(stderr, "bench_codec: decode failed\n");
			exit(1);
		}
		base = out[NS_BLOCK - 1];
		sum += base ^ out[(b / NS_BLOCK) & (NS_BLOCK - 1)];
	}
	return sum;
}

/* Median throughput in millions of integers per second. */
static double measure(const dataset *d, int op, int runs, uint8_t *scratch,
                      uint32_t *check)
{
	/* Calibrate: enough passes for about 5 ms per run, shorter than a
	** scheduler time slice. */
	size_t passes = 1;
	for (;;) {
		double t0 = now();
		for (size_t i = 0; i < passes; i++) *check += run_once(d, op, scratch);
		double dt = now() - t0;
		if (dt > 0.005 || passes > (1u << 20)) break;
		passes *= dt > 0.0005 ? (size_t)(0.005 / dt) + 1 : 10;
	}
	double *rate = malloc((size_t)runs * sizeof *rate);
	if (!rate) exit(1);
	for (int r = 0; r < runs; r++) {
		double t0 = now();
		for (size_t i = 0; i < passes; i++) *check += run_once(d, op, scratch);
		double dt = now() - t0;
		rate[r] = (double)d->n * (double)passes / dt / 1e6;
	}
	qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
	double med = rate[runs / 2];
	free(rate);
	return med;
}

/* Checks one decode of the data set against the input; @return a checksum
** of the decoded values, the same for every kernel. */
static uint32_t verify(const dataset *d, const char *kernel)
{
	uint32_t out[NS_BLOCK], base = 0, sum = 0;
	const uint8_t *p = d->enc, *end = d->enc + d->enc_len;
	for (size_t b = 0; b < d->n; b += NS_BLOCK) {
		int rc = d->delta ? ns_unpack128_delta(&p, end, base, out)
		                  : ns_unpack128(&p, end, out);
		if (rc || memcmp(out, d->val + b, sizeof out) != 0) {
			fprintf(stderr, "bench_codec: %s: kernel %s decodes wrongly\n",
			        d->name, kernel);
			exit(1);
		}
		base = out[NS_BLOCK - 1];
		for (unsigned i = 0; i < NS_BLOCK; i++) sum = sum * 31 + out[i];
	}
	return sum;
}

static void make_geometric(dataset *d, double mean)
{
	snprintf(d->name, sizeof d->name, "geom%g", mean);
	d->delta = 1;
	/* gap = 1 + Geometric(p) with mean 1/p, so p = 1/mean. */
	double lq = log1p(-1.0 / mean);
	uint32_t id = 0;
	for (size_t i = 0; i < d->n; i++) {
		double g = mean <= 1.0 ? 1.0 : 1.0 + floor(log(1.0 - rnd01()) / lq);
		id += g > 1e9 ? 1000000000u : (uint32_t)g;
		d->val[i] = id;
	}
}

static void make_width(dataset *d, unsigned w)
{
	snprintf(d->name, sizeof d->name, "width%u", w);
	d->delta = 0;
	uint32_t mask = w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
	for (size_t i = 0; i < d->n; i++) d->val[i] = (uint32_t)rnd() & mask;
	if (w)
		for (size_t b = 0; b < d->n; b += NS_BLOCK)
			d->val[b + rnd() % NS_BLOCK] |= UINT32_C(1) << (w - 1);
}

int main(int argc, char **argv)
{
	size_t n = 1u << 18;
	int runs = 21, quick = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0) {
			quick = 1;
			runs = 3;
		} else if (strcmp(argv[i], "-c") == 0) {
			bench_clock = CLOCK_THREAD_CPUTIME_ID;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			n = (size_t)strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: bench_codec [-q] [-c] [-n VALUES]\n");
			return 2;
		}
	}
	n = (n + NS_BLOCK - 1) / NS_BLOCK * NS_BLOCK;
	if (n == 0) n = NS_BLOCK;

	static const double means[] = {2, 8, 32, 128, 1024, 16384};
	static const unsigned widths[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32};
	static const unsigned quick_widths[] = {4, 8, 12};
	static const char *const kernels[] = {"scalar", "sse2", "avx2", "avx512"};
	size_t n_means = sizeof means / sizeof means[0];
	size_t n_widths = quick ? 3 : sizeof widths / sizeof widths[0];
	const unsigned *wl = quick ? quick_widths : widths;

	dataset d;
	d.n = n;
	d.val = malloc(n * sizeof *d.val);
	size_t cap = n / NS_BLOCK * NS_PACK128_BOUND;
	d.enc = malloc(cap);
	uint8_t *scratch = malloc(cap);
	if (!d.val || !d.enc || !scratch) return 1;

	printf("# nsearch codec benchmark: %zu values per data set, median of %d "
	       "runs, clock %s, automatic kernel: %s\n", n, runs,
	       bench_clock == CLOCK_MONOTONIC ? "monotonic" : "thread-cpu",
	       ns_codec_impl());
	printf("dataset\tkernel\tbits_per_int\tencode_mis\tunpack_mis\t"
	       "unpack_delta_mis\tchecksum\n");
	for (size_t s = 0; s < n_means + n_widths; s++) {
		if (s < n_means) make_geometric(&d, means[s]);
		else make_width(&d, wl[s - n_means]);
		ns_codec_set_impl("scalar");
		d.enc_len = encode_all(&d, d.enc);
		for (int k = 0; k < (int)(sizeof kernels / sizeof *kernels); k++) {
			if (ns_codec_set_impl(kernels[k]) != NS_OK) continue;
			size_t len = encode_all(&d, scratch);
			if (len != d.enc_len || memcmp(scratch, d.enc, len) != 0) {
				fprintf(stderr, "bench_codec: %s: kernel %s encodes differently\n",
				        d.name, kernels[k]);
				return 1;
			}
			uint32_t sum = verify(&d, kernels[k]), check = 0;
			double enc = measure(&d, 0, runs, scratch, &check);
			double dec = measure(&d, 1, runs, scratch, &check);
			double del = measure(&d, 2, runs, scratch, &check);
			sink = check;
			printf("%s\t%s\t%.3f\t%.0f\t%.0f\t%.0f\t%08x\n", d.name, kernels[k],
			       (double)d.enc_len * 8.0 / (double)d.n, enc, dec, del, sum);
			fflush(stdout);
		}
	}
	ns_codec_set_impl(NULL);
	free(d.val);
	free(d.enc);
	free(scratch);
	return 0;
}
