/*
** test_crash.c -- crash safety of full rebuilds.  A corpus (2,000 Reuters
** documents copied from ../shared/data/reuters21578/docs, or generated
** ones when that is absent; fewer under ASan) is indexed once; then, many
** times over, the corpus is switched to one of two states (A: every
** document and a marker file; B: 10% fewer documents and another marker),
** a full rebuild is started and killed with SIGKILL after a random, seeded
** delay spread over the whole length of a build, so that kills land while
** walking, analysing, writing runs, merging, writing the segment files and
** publishing the manifest.  After every kill:
**   - ns_index_open() succeeds and ns_index_check() returns NS_OK;
**   - the index holds exactly the documents of the last completed build:
**     either the generation before the kill or, when the kill came after
**     the manifest was renamed, the new one.  The document count tells
**     which, and the markers and a common word must then give that
**     state's answers (measured by clean builds at the start).
** At the end one clean build must leave no leftovers in the directory.
** The same is done for a writer killed in a forked child that uses the
** API (ns_walk + ns_writer_add + ns_writer_commit).
*/
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "helpers.h"

#include "source.h"

static char g_dir[64];
static char g_src[96];   /* the corpus being indexed */
static char g_stash[96]; /* documents moved out in state B */
static char g_ix[96];
static char g_bin[4096];
static size_t g_ndocs;   /* documents of state A, markers not counted */

enum { ST_A, ST_B };

typedef struct ref {
	uint64_t n_docs, marker_a, marker_b, common;
} ref;
static ref g_ref[2];
static int g_state = -1;

static const char *const g_common = "said"; /* in most Reuters documents */

static void setup(void)
{
	g_bin[0] = 0;
	const char *bin = getenv("NSEARCH_BIN");
	if (bin && *bin && realpath(bin, g_bin) == NULL) g_bin[0] = 0;
	th_mkdtemp(g_dir, sizeof g_dir, "crash");
	snprintf(g_src, sizeof g_src, "%s/corpus", g_dir);
	snprintf(g_stash, sizeof g_stash, "%s/stash", g_dir);
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
	g_state = -1;
}

static void teardown(void)
{
	th_rmrf(g_dir);
}

TestSuite(crash, .init = setup, .fini = teardown, .timeout = 400);

#define SKIP(...)                                                          \
	do {                                                                   \
		teardown();                                                        \
		cr_skip_test(__VA_ARGS__);                                         \
	} while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* The corpus and its two states                                            */
/* ------------------------------------------------------------------------ */

static const char *reuters_dir(void)
{
	static const char *const cand[] = {
	    "../shared/data/reuters21578/docs",
	    "../../shared/data/reuters21578/docs",
	    "/work/shared/data/reuters21578/docs",
	};
	for (size_t i = 0; i < sizeof cand / sizeof *cand; i++) {
		char *p = th_path(cand[i], "1.txt");
		int ok = th_exists(p);
		free(p);
		if (ok) return cand[i];
	}
	return NULL;
}

static void doc_name(size_t i, char *buf, size_t n)
{
	snprintf(buf, n, "doc%05zu.txt", i);
}

static void make_corpus(void)
{
	cr_assert_eq(mkdir(g_src, 0755), 0);
	cr_assert_eq(mkdir(g_stash, 0755), 0);
	g_ndocs = getenv("NS_ASAN") ? 600 : 2000;
	const char *reuters = reuters_dir();
	size_t made = 0;
	th_rng r = {2026};
	static const char *const words[] = {
	    "said",  "market", "oil",   "price", "bank",  "trade", "grain",
	    "wheat", "dollar", "share", "rate",  "stock", "export", "crude",
	    "profit", "loss",  "year",  "tonnes", "net",  "company",
	};
	for (size_t i = 1; made < g_ndocs && i < 30000; i++) {
		char name[32], *from = NULL, *to, *data = NULL;
		size_t n = 0;
		if (reuters) {
			char rn[32];
			snprintf(rn, sizeof rn, "%zu.txt", i);
			from = th_path(reuters, rn);
			data = th_read_file(from, &n);
			free(from);
			if (!data || n == 0) {
				free(data);
				if (i > 25000) break;
				continue;
			}
		} else {
			size_t len = 50 + th_below(&r, 250);
			data = malloc(len * 10 + 1);
			cr_assert_not_null(data);
			for (size_t k = 0; k < len; k++) {
				size_t w = (size_t)(20 * th_unit(&r) * th_unit(&r));
				n += (size_t)sprintf(data + n, "%s%s", k ? " " : "", words[w]);
			}
		}
		doc_name(made, name, sizeof name);
		to = th_path(g_src, name);
		th_write_file(to, data, n);
		free(to);
		free(data);
		made++;
	}
	cr_assert_eq(made, g_ndocs, "only %zu documents", made);
	cr_log_info("corpus: %zu %s documents", made,
	            reuters ? "Reuters" : "generated");
}

static void move(const char *from_dir, const char *to_dir, const char *name)
{
	char *a = th_path(from_dir, name), *b = th_path(to_dir, name);
	cr_assert_eq(rename(a, b), 0, "rename %s: %s", a, strerror(errno));
	free(a);
	free(b);
}

/* A: all documents + marker_a.txt; B: the last 10% stashed away +
** marker_b.txt. */
static void set_state(int s)
{
	if (s == g_state) return;
	char *ma = th_path(g_src, "marker_a.txt"), *mb = th_path(g_src,
	                                                          "marker_b.txt");
	unlink(ma);
	unlink(mb);
	if (s == ST_A)
		th_write_str(ma, "Marker zzmarkera of state A, said the test.\n");
	else
		th_write_str(mb, "Marker zzmarkerb of state B, said the test.\n");
	free(ma);
	free(mb);
	for (size_t i = g_ndocs - g_ndocs / 10; i < g_ndocs; i++) {
		char name[32];
		doc_name(i, name, sizeof name);
		if (s == ST_B) {
			if (g_state != ST_B) move(g_src, g_stash, name);
		} else if (g_state == ST_B) {
			move(g_stash, g_src, name);
		}
	}
	g_state = s;
}

/* ------------------------------------------------------------------------ */
/* Probing the index                                                        */
/* ------------------------------------------------------------------------ */

static uint64_t count_q(ns_index *ix, const char *q)
{
	ns_search_options o;
	ns_search_options_init(&o);
	o.count_only = 1;
	ns_results *r = NULL;
	char *err = NULL;
	int rc = ns_search(ix, q, &o, &r, &err);
	cr_assert_eq(rc, NS_OK, "search [%s]: %d %s", q, rc, err ? err : "");
	uint64_t n = ns_results_total(r);
	ns_results_free(r);
	return n;
}

static void report_line(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("check: %s", line);
}

static ref probe(void)
{
	ref x;
	ns_index *ix = NULL;
	char *err = NULL;
	int rc = ns_index_open(g_ix, &ix, &err);
	cr_assert_eq(rc, NS_OK, "ns_index_open: %d %s", rc, err ? err : "");
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	x.n_docs = st.n_docs;
	x.marker_a = count_q(ix, "zzmarkera");
	x.marker_b = count_q(ix, "zzmarkerb");
	x.common = count_q(ix, g_common);
	/* one hit with its snippet: the document store reads back */
	ns_results *r = NULL;
	cr_assert_eq(ns_search(ix, "oil price", NULL, &r, &err), NS_OK);
	if (ns_results_count(r)) {
		char *s = NULL;
		cr_assert_eq(ns_snippet(r, 0, "", "", 10, &s), NS_OK);
		ns_free(s);
	}
	ns_results_free(r);
	ns_index_close(ix);
	cr_assert_eq(ns_index_check(g_ix, report_line, NULL), NS_OK,
	             "ns_index_check failed");
	return x;
}

static int same_ref(const ref *a, const ref *b)
{
	return a->n_docs == b->n_docs && a->marker_a == b->marker_a &&
	       a->marker_b == b->marker_b && a->common == b->common;
}

/* What a killed build left in the index directory, for the statistics:
** 0 nothing telling, 1 run files, 2 a second dictionary (the new segment
** was being finished), 3 manifest.tmp (publishing). */
static int leftovers(void)
{
	char *list = th_list_dir(g_ix);
	int k = strstr(list, "manifest.tmp") ? 3 : strstr(list, ".run") ? 1 : 0;
	if (!k) { /* the new segment's dictionary (written last)? */
		size_t dicts = 0;
		for (const char *s = list; (s = strstr(s, ".dict")); s++) dicts++;
		if (dicts > 1) k = 2;
	}
	free(list);
	return k;
}

/* ------------------------------------------------------------------------ */
/* Builders: the CLI, or the API in a forked child                          */
/* ------------------------------------------------------------------------ */

typedef struct build_opts {
	int small_memory; /* --memory 1M: runs and a merge */
	int jobs;         /* 0: default */
} build_opts;

static int g_api; /* build through the API instead of the CLI */

static int api_doc(void *ctx, const ns_doc *d)
{
	int rc = ns_writer_add(ctx, d);
	return rc == NS_EINVAL ? 0 : rc;
}

static void api_child(const build_opts *o)
{
	ns_writer_options wo = {.memory = o->small_memory ? (1u << 20) : 0,
	                        .threads = o->jobs};
	ns_writer *w = NULL;
	if (ns_writer_open(g_ix, &wo, &w, NULL) != NS_OK) _exit(3);
	ns_walk_options wk = {api_doc, NULL, NULL, w};
	if (ns_walk(g_src, &wk, NULL) != NS_OK) _exit(4);
	if (ns_writer_commit(w) != NS_OK) _exit(5);
	ns_writer_close(w);
	_exit(0);
}

static pid_t start_build(const build_opts *o)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid) return pid;
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		_exit(126);
	if (g_api) api_child(o);
	const char *argv[16];
	size_t n = 0;
	char jobs[16];
	argv[n++] = g_bin;
	argv[n++] = "--index";
	argv[n++] = g_ix;
	argv[n++] = "index";
	argv[n++] = "-q";
	if (o->small_memory) {
		argv[n++] = "--memory";
		argv[n++] = "1M";
	}
	if (o->jobs) {
		snprintf(jobs, sizeof jobs, "%d", o->jobs);
		argv[n++] = "-j";
		argv[n++] = jobs;
	}
	argv[n++] = g_src;
	argv[n] = NULL;
	execv(g_bin, (char *const *)(uintptr_t)argv);
	_exit(127);
}

static int wait_build(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A clean build; returns its duration in seconds. */
static double full_build(const build_opts *o)
{
	double t0 = now();
	int rc = wait_build(start_build(o));
	cr_assert_eq(rc, 0, "build exit %d", rc);
	return now() - t0;
}

/* ------------------------------------------------------------------------ */
/* The kill loop                                                            */
/* ------------------------------------------------------------------------ */

static void kill_loop(int rounds, uint64_t seed)
{
	make_corpus();
	build_opts o_def = {0, 0}, o_small = {1, 1};

	/* the reference answers of both states, and the build times */
	set_state(ST_B);
	full_build(&o_def);
	g_ref[ST_B] = probe();
	set_state(ST_A);
	double t_def = full_build(&o_def);
	g_ref[ST_A] = probe();
	double t_small = full_build(&o_small);
	ref again = probe();
	cr_assert(same_ref(&g_ref[ST_A], &again), "the memory budget changes "
	          "the index");
	cr_log_info("%s: state A %" PRIu64 " docs, B %" PRIu64 " docs; "
	            "build %.3f s (default), %.3f s (--memory 1M -j 1)",
	            g_api ? "API" : "CLI", g_ref[ST_A].n_docs, g_ref[ST_B].n_docs,
	            t_def, t_small);
	cr_assert_neq(g_ref[ST_A].n_docs, g_ref[ST_B].n_docs);
	cr_assert_eq(g_ref[ST_A].marker_a, 1);
	cr_assert_eq(g_ref[ST_B].marker_b, 1);

	th_rng r = {seed};
	int last = ST_A;
	int n_old = 0, n_new = 0, n_same = 0, n_done = 0, left[4] = {0};
	double t0 = now();
	for (int i = 0; i < rounds; i++) {
		int target = (int)th_below(&r, 2);
		build_opts o = th_below(&r, 2) ? o_small : o_def;
		if (!o.small_memory) o.jobs = (int)th_below(&r, 3); /* 0, 1, 2 */
		double *tp = o.small_memory ? &t_small : &t_def, t = *tp;
		/* mostly uniform over the build; a quarter aimed at its end,
		** where the files are written and the manifest is published */
		double u = th_unit(&r);
		double delay = th_below(&r, 4) ? u * t : (0.7 + 0.3 * u) * t;
		set_state(target);

		pid_t pid = start_build(&o);
		struct timespec ts = {(time_t)delay,
		                      (long)((delay - (double)(time_t)delay) * 1e9)};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
		kill(pid, SIGKILL);
		int rc = wait_build(pid);
		int completed = rc != 128 + SIGKILL;
		if (completed) cr_assert_eq(rc, 0, "round %d: build exit %d", i, rc);
		left[leftovers()]++;

		ref got = probe();
		int s;
		if (same_ref(&got, &g_ref[last]))
			s = last;
		else if (same_ref(&got, &g_ref[target]))
			s = target;
		else
			cr_assert_fail("round %d: the index is neither the last completed "
			               "build (%d) nor the new one (%d): %" PRIu64
			               " docs, markers %" PRIu64 "/%" PRIu64 ", %s %" PRIu64,
			               i, last, target, got.n_docs, got.marker_a,
			               got.marker_b, g_common, got.common);
		/* the build time was measured once, on a machine that may be busy:
		** shorten the estimate when a build beat its kill, lengthen it
		** slowly otherwise, so that the kills keep spanning the build */
		*tp *= completed ? 0.85 : 1.03;
		if (completed) {
			cr_assert_eq(s, target, "round %d: a completed build is not visible",
			             i);
			n_done++;
		} else if (target == last) {
			n_same++;
		} else if (s == last) {
			n_old++;
		} else {
			n_new++;
		}
		last = s;
	}
	cr_log_info("%s: %d kills in %.1f s: %d kept the old generation, %d "
	            "landed after the publish, %d rebuilt the same state, %d "
	            "builds finished first; leftovers: none %d, runs %d, "
	            "new dictionary %d, manifest.tmp %d",
	            g_api ? "API" : "CLI", rounds, now() - t0, n_old, n_new, n_same,
	            n_done, left[0], left[1], left[2], left[3]);
	/* a good share of the kills must have interrupted a build */
	cr_assert_geq(n_old + n_same, rounds / 5, "the delays are too long");

	/* a clean build removes every leftover: lock, manifest and the five
	** files of one segment remain */
	set_state(ST_B);
	full_build(&o_def);
	again = probe();
	cr_assert(same_ref(&again, &g_ref[ST_B]));
	char *list = th_list_dir(g_ix);
	size_t n = th_count_lines(list);
	cr_assert(n == 7 && strstr(list, "lock\nmanifest\nseg_") &&
	              !strstr(list, ".tmp"),
	          "leftovers after a clean build:\n%s", list);
	free(list);
}

Test(crash, cli_full_rebuild_killed_at_random_times)
{
	if (!g_bin[0] || access(g_bin, X_OK) != 0)
		SKIP("NSEARCH_BIN is not set to the nsearch binary "
		     "(run through 'make test')");
	g_api = 0;
	kill_loop(100, 0x5eed1);
}

Test(crash, api_writer_killed_at_random_times)
{
	g_api = 1;
	kill_loop(100, 0x5eed2);
}
