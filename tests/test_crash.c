/*
** test_crash.c -- crash safety of incremental updates (issue #7).  A
** corpus (2,100 Reuters documents copied from ../shared/data/reuters21578/
** docs, or generated ones when that is absent; fewer under ASan) has two
** states that differ by every kind of change an update makes:
**   - deletions: 10% of the documents and marker_a.txt exist only in A;
**   - additions: 5% more documents and marker_b.txt exist only in B;
**   - edits: 5% of the documents end in "zzvera" in A and "zzverb" in B
**     with the same size, 5% more grow in B (another size);
**   - touches: 5% have the same text in both states, another mtime.
** Every file's mtime is set by its state (the update compares size and
** mtime, with one-second precision), and every document holds the word
** "zzall", so that one query finds them all.
**
** The index is built once, then many times over the corpus is switched to
** the other state (now and then left as it is), an incremental update is
** started (`nsearch index`, sometimes with --memory 1M) and killed with
** SIGKILL after a random, seeded delay spread over the length of an update
** (A->B and B->A are timed at the start), a quarter of the delays aimed at
** its end, where merges, the segment files, the deletion files and the
** manifest are written.  After every kill:
**   - ns_index_open() succeeds and ns_index_check() returns NS_OK;
**   - the index holds exactly the documents of the last completed commit:
**     either the generation before the kill or, when the kill came after
**     the manifest was renamed, the new one.  The document count, the
**     markers, the edit words and a common word tell which (measured by
**     full builds at the start), and then a query for "zzall" must return
**     exactly that state's document ids.
** The loop goes on until at least 100 updates were killed (the log gives
** the statistics: where the kills landed, what they left behind).  Every
** update that completes, and a clean one at the end, must leave no orphan
** files (temporary files, segments or deletion files that the manifest
** does not list); a clean --rebuild then leaves only the lock, the
** manifest and the five files of one segment.
**
** The same is done through the API in a forked child: an NS_WRITE_UPDATE
** writer adds the documents that are new or changed from the state the
** index holds to the target state (ns_writer_add replaces by id), deletes
** those that are gone (ns_writer_delete) and commits.  So that the index
** has more than two segments now and then: it also replaces a few
** unchanged documents, a third of its updates merge nothing
** (NS_MERGE_NONE), and every fifth update runs to completion, alternately
** without merges and with tiered ones.
*/
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "helpers.h"

static char g_dir[64];
static char g_src[96]; /* the corpus being indexed */
static char g_ix[96];
static char g_bin[4096];

enum { ST_A, ST_B };

/* The documents: 0 .. g_nbase-1 exist in A (those from g_nbase - 10% on
** only in A), g_nbase .. g_nall-1 only in B. */
static size_t g_nbase, g_nall;
static char **g_text;   /* the original text of each document */
static size_t *g_len;
static int g_state = -1; /* the state of the files in g_src */

/* mtimes of the two states' files (any fixed, distinct seconds) */
static const time_t g_mtime[2] = {1600000000, 1600000500};

typedef struct ref {
	uint64_t n_docs, marker_a, marker_b, common, ver_a, ver_b;
} ref;
static ref g_ref[2];

static const char *const g_common = "said"; /* in most Reuters documents */

static void setup(void)
{
	th_bin_path(g_bin);
	th_mkdtemp(g_dir, sizeof g_dir, "crash");
	snprintf(g_src, sizeof g_src, "%s/corpus", g_dir);
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
	g_state = -1;
	g_text = NULL;
	g_len = NULL;
	g_nbase = g_nall = 0;
}

static void teardown(void)
{
	th_rmrf(g_dir);
	for (size_t i = 0; g_text && i < g_nall; i++) free(g_text[i]);
	free(g_text);
	free(g_len);
	g_text = NULL;
	g_len = NULL;
}

TestSuite(crash, .init = setup, .fini = teardown, .timeout = 400);

#define SKIP(...) TH_SKIP(teardown, __VA_ARGS__)

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
	return th_find_dir(cand, sizeof cand / sizeof *cand, "1.txt");
}

static void doc_name(size_t i, char *buf, size_t n)
{
	snprintf(buf, n, "doc%05zu.txt", i);
}

/* The kinds of documents; see the top of the file. */
enum { K_SAME, K_ONLY_A, K_ONLY_B, K_EDIT, K_GROW, K_TOUCH };

static int doc_kind(size_t i)
{
	if (i >= g_nbase) return K_ONLY_B;
	if (i >= g_nbase - g_nbase / 10) return K_ONLY_A;
	switch (i % 20) {
	case 1: return K_EDIT;
	case 2: return K_GROW;
	case 3: return K_TOUCH;
	default: return K_SAME;
	}
}

static int in_state(size_t i, int s)
{
	int k = doc_kind(i);
	return k == K_ONLY_A ? s == ST_A : k == K_ONLY_B ? s == ST_B : 1;
}

/* Document i's text in state s (caller frees); *n gets its length. */
static char *doc_text(size_t i, int s, size_t *n)
{
	int k = doc_kind(i);
	const char *tail = "\nzzall\n";
	if (k == K_EDIT || k == K_GROW)
		tail = s == ST_A ? "\nzzall zzvera\n"
		       : k == K_EDIT ? "\nzzall zzverb\n"
		                     : "\nzzall zzverb, said the grown edit\n";
	size_t tl = strlen(tail);
	char *t = malloc(g_len[i] + tl + 1);
	cr_assert_not_null(t);
	memcpy(t, g_text[i], g_len[i]);
	memcpy(t + g_len[i], tail, tl + 1);
	*n = g_len[i] + tl;
	return t;
}

static const char *marker_name(int s)
{
	return s == ST_A ? "marker_a.txt" : "marker_b.txt";
}

static const char *marker_text(int s)
{
	return s == ST_A ? "Marker zzmarkera of state A, said the test. zzall\n"
	                 : "Marker zzmarkerb of state B, said the test. zzall\n";
}

static void write_with_mtime(const char *name, const char *data, size_t n,
                             int s)
{
	char *p = th_path(g_src, name);
	th_write_file(p, data, n);
	struct timespec ts[2] = {{g_mtime[s], 0}, {g_mtime[s], 0}};
	cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0, "utimensat %s: %s", p,
	             strerror(errno));
	free(p);
}

/* Makes the files of g_src those of state s: writes what is new or
** differs, removes what is gone. */
static void set_state(int s)
{
	if (s == g_state) return;
	for (size_t i = 0; i < g_nall; i++) {
		char name[32];
		doc_name(i, name, sizeof name);
		int was = g_state >= 0 && in_state(i, g_state), is = in_state(i, s);
		int k = doc_kind(i);
		if (was && !is) {
			th_remove(g_src, name);
		} else if (is && (!was || k == K_EDIT || k == K_GROW || k == K_TOUCH)) {
			size_t n;
			char *t = doc_text(i, s, &n);
			write_with_mtime(name, t, n, s);
			free(t);
		}
	}
	if (g_state >= 0) th_remove(g_src, marker_name(g_state));
	write_with_mtime(marker_name(s), marker_text(s), strlen(marker_text(s)), s);
	g_state = s;
}

/* The ids of state s, sorted, each followed by '\n' (caller frees). */
static char *state_ids(int s)
{
	char *out = malloc(g_nall * 16 + 32);
	cr_assert_not_null(out);
	size_t n = 0;
	for (size_t i = 0; i < g_nall; i++) /* "doc..." sorts before "marker" */
		if (in_state(i, s)) {
			doc_name(i, out + n, 32);
			n += strlen(out + n);
			out[n++] = '\n';
		}
	n += (size_t)sprintf(out + n, "%s\n", marker_name(s));
	return out;
}

static void make_corpus(void)
{
	cr_assert_eq(mkdir(g_src, 0755), 0);
	g_nbase = getenv("NS_ASAN") ? 600 : 2000;
	g_nall = g_nbase + g_nbase / 20;
	g_text = calloc(g_nall, sizeof *g_text);
	g_len = calloc(g_nall, sizeof *g_len);
	cr_assert(g_text && g_len);
	const char *reuters = reuters_dir();
	size_t made = 0;
	th_rng r = {2026};
	static const char *const words[] = {
	    "said",  "market", "oil",   "price", "bank",  "trade", "grain",
	    "wheat", "dollar", "share", "rate",  "stock", "export", "crude",
	    "profit", "loss",  "year",  "tonnes", "net",  "company",
	};
	for (size_t i = 1; made < g_nall && i < 30000; i++) {
		char *data = NULL;
		size_t n = 0;
		if (reuters) {
			char rn[32];
			snprintf(rn, sizeof rn, "%zu.txt", i);
			char *from = th_path(reuters, rn);
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
		g_text[made] = data;
		g_len[made] = n;
		made++;
	}
	cr_assert_eq(made, g_nall, "only %zu documents", made);
	cr_log_info("corpus: %zu %s documents", made,
	            reuters ? "Reuters" : "generated");
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

/* What a probe saw. */
typedef struct view {
	ref ref;
	uint32_t n_segments;
	char *ids; /* every id "zzall" finds, sorted, '\n' after each */
} view;

/* The ids of every hit of "zzall", sorted and joined (caller frees). */
static char *all_ids(ns_index *ix)
{
	ns_search_options o;
	ns_search_options_init(&o);
	o.k = g_nall + 16;
	ns_results *r = NULL;
	char *err = NULL;
	int rc = ns_search(ix, "zzall", &o, &r, &err);
	cr_assert_eq(rc, NS_OK, "search zzall: %d %s", rc, err ? err : "");
	size_t n = ns_results_count(r);
	cr_assert_eq(ns_results_total(r), n);
	const char **ids = calloc(n + 1, sizeof *ids);
	cr_assert_not_null(ids);
	for (size_t i = 0; i < n; i++) ids[i] = ns_results_id(r, i);
	char *s = th_join_sorted(ids, n, "\n");
	free(ids);
	ns_results_free(r);
	return s;
}

static view probe(void)
{
	view v;
	ns_index *ix = NULL;
	char *err = NULL;
	int rc = ns_index_open(g_ix, &ix, &err);
	cr_assert_eq(rc, NS_OK, "ns_index_open: %d %s", rc, err ? err : "");
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	v.ref.n_docs = st.n_docs;
	v.n_segments = st.n_segments;
	v.ref.marker_a = count_q(ix, "zzmarkera");
	v.ref.marker_b = count_q(ix, "zzmarkerb");
	v.ref.common = count_q(ix, g_common);
	v.ref.ver_a = count_q(ix, "zzvera");
	v.ref.ver_b = count_q(ix, "zzverb");
	v.ids = all_ids(ix);
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
	cr_assert_eq(ns_index_check(g_ix, th_log_check_line, NULL), NS_OK,
	             "ns_index_check failed");
	return v;
}

static int same_ref(const ref *a, const ref *b)
{
	return a->n_docs == b->n_docs && a->marker_a == b->marker_a &&
	       a->marker_b == b->marker_b && a->common == b->common &&
	       a->ver_a == b->ver_a && a->ver_b == b->ver_b;
}

/* The index holds exactly the documents of state s. */
static void assert_state(const view *v, int s, const char *when)
{
	cr_assert(same_ref(&v->ref, &g_ref[s]), "%s: not state %c: %" PRIu64
	          " docs, markers %" PRIu64 "/%" PRIu64 ", zzvera %" PRIu64
	          ", zzverb %" PRIu64, when, "AB"[s], v->ref.n_docs,
	          v->ref.marker_a, v->ref.marker_b, v->ref.ver_a, v->ref.ver_b);
	char *want = state_ids(s);
	if (strcmp(v->ids, want)) {
		size_t i = 0;
		while (v->ids[i] == want[i]) i++;
		while (i && want[i - 1] != '\n') i--;
		cr_assert_fail("%s: the ids found for \"zzall\" are not those of "
		               "state %c; first difference: found [%.13s], "
		               "expected [%.13s]",
		               when, "AB"[s], v->ids + i, want + i);
	}
	free(want);
}

/* Index files as they stand; see classify(). */
typedef struct dir_files {
	size_t n_tmp;        /* *.tmp, manifest.tmp included */
	int manifest_tmp;
	size_t n_run;        /* temporary files of a build (spool, runs) */
	size_t n_seg;        /* distinct segment numbers among the five files */
	size_t n_incomplete; /* of them, those that lack one of the five */
	size_t n_del;        /* seg_N_G.del */
	size_t n_del_dup;    /* .del files beyond the first of one segment */
	size_t n_del_orphan; /* .del files of a segment without its files */
	size_t n_other;      /* other seg_* names */
} dir_files;

/* The kind of index file `name` is: 0 lock, manifest or another name, 1
** temporary (*.tmp), 2 one of the five files of segment *no (*kind: its
** number in five[]), 3 a deletion file of segment *no. */
static int file_kind(const char *name, unsigned *no, size_t *kind)
{
	static const char *const five[] = {"dict", "post", "pos", "docs",
	                                   "store"};
	unsigned long long gen;
	char ext[32];
	int end = 0;
	size_t l = strlen(name);
	if (l > 4 && !strcmp(name + l - 4, ".tmp")) return 1;
	if (sscanf(name, "seg_%u_%llu.del%n", no, &gen, &end) == 2 && !name[end])
		return 3;
	if (sscanf(name, "seg_%u.%31s", no, ext) == 2)
		for (*kind = 0; *kind < 5; ++*kind)
			if (!strcmp(ext, five[*kind])) return 2;
	return 0;
}

static dir_files classify(void)
{
	dir_files f;
	memset(&f, 0, sizeof f);
	char *list = th_list_dir(g_ix);
	enum { MAXSEG = 256 };
	unsigned seg[MAXSEG], kinds[MAXSEG], dels[MAXSEG];
	size_t n = 0;
	/* two passes: the segments' files, then the deletion files */
	for (int pass = 0; pass < 2; pass++) {
		for (char *s = list, *e; (e = strchr(s, '\n')); s = e + 1) {
			*e = 0;
			unsigned no = 0;
			size_t kind = 0, k = 0;
			int fk = file_kind(s, &no, &kind);
			while (k < n && seg[k] != no) k++;
			if (pass == 0 && fk == 1) {
				f.n_tmp++;
				if (!strcmp(s, "manifest.tmp")) f.manifest_tmp = 1;
				else f.n_run++;
			} else if (pass == 0 && fk == 0 && !strncmp(s, "seg_", 4)) {
				f.n_other++;
			} else if (pass == 0 && fk == 2) {
				if (k == n) {
					cr_assert_lt(n, MAXSEG);
					seg[n] = no;
					kinds[n] = dels[n] = 0;
					n++;
				}
				kinds[k] |= 1u << kind;
			} else if (pass == 1 && fk == 3) {
				f.n_del++;
				if (k == n) f.n_del_orphan++;
				else if (dels[k]++) f.n_del_dup++;
			}
			*e = '\n';
		}
	}
	f.n_seg = n;
	for (size_t k = 0; k < n; k++) f.n_incomplete += kinds[k] != 31;
	free(list);
	return f;
}

/* What a killed update left, for the statistics. */
enum { L_NONE, L_TEMP, L_SEG, L_DEL, L_MANIFEST, L_N };

static int leftovers(uint32_t n_segments)
{
	dir_files f = classify();
	if (f.manifest_tmp) return L_MANIFEST;
	if (f.n_run) return L_TEMP;
	if (f.n_seg > n_segments) return L_SEG; /* being written, or replaced */
	if (f.n_del_dup || f.n_del_orphan) return L_DEL;
	return L_NONE;
}

/* After a completed commit: no file that the index does not use. */
static void assert_no_orphans(uint32_t n_segments, const char *when)
{
	dir_files f = classify();
	char *list = th_list_dir(g_ix);
	cr_assert(f.n_tmp == 0 && f.n_other == 0 && f.n_seg == n_segments &&
	              f.n_incomplete == 0 && f.n_del <= n_segments &&
	              f.n_del_dup == 0 && f.n_del_orphan == 0 &&
	              strstr(list, "lock\nmanifest\n"),
	          "%s: leftovers in an index of %u segments:\n%s", when,
	          n_segments, list);
	free(list);
}

/* ------------------------------------------------------------------------ */
/* Updaters: the CLI, or the API in a forked child                          */
/* ------------------------------------------------------------------------ */

typedef struct build_opts {
	int small_memory; /* --memory 1M: runs and a merge */
	int jobs;         /* 0: default */
	int rebuild;      /* --rebuild: a full build, not an update */
	int merge;        /* API only: ns_writer_options.merge */
} build_opts;

static int g_api; /* update through the API instead of the CLI */

static int api_add(ns_writer *w, size_t i, int s)
{
	char name[32], path[160];
	doc_name(i, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", g_src, name);
	size_t n;
	char *t = doc_text(i, s, &n);
	ns_doc d = {.id = name, .title = name, .path = path, .text = t,
	            .text_len = n, .size = n, .mtime = g_mtime[s]};
	int rc = ns_writer_add(w, &d);
	free(t);
	return rc;
}

static int api_add_marker(ns_writer *w, int s)
{
	const char *t = marker_text(s);
	ns_doc d = {.id = marker_name(s), .title = marker_name(s),
	            .path = marker_name(s), .text = t, .text_len = strlen(t),
	            .size = strlen(t), .mtime = g_mtime[s]};
	return ns_writer_add(w, &d);
}

static uint32_t g_salt; /* which unchanged documents an update rewrites */

/* In the child: makes the index hold state `to`.  A rebuild (or from < 0)
** adds every document of `to` to a replacing writer; an update applies the
** changes from state `from` (what the index holds) to `to`, and adds again
** (replaces) one in 40 of the documents that did not change, chosen by
** g_salt: they keep the new segment alive after the next update, so that
** segments can pile up. */
static void api_child(const build_opts *o, int from, int to)
{
	int update = !o->rebuild && from >= 0;
	ns_writer_options wo = {.memory = o->small_memory ? (1u << 20) : 0,
	                        .threads = o->jobs,
	                        .mode = update ? NS_WRITE_UPDATE : NS_WRITE_REPLACE,
	                        .merge = o->merge};
	ns_writer *w = NULL;
	if (ns_writer_open(g_ix, &wo, &w, NULL) != NS_OK) _exit(3);
	for (size_t i = 0; i < g_nall; i++) {
		int was = update && in_state(i, from), is = in_state(i, to);
		int k = doc_kind(i);
		int again = k == K_SAME && (i / 3 + g_salt) % 40 == 0;
		if (is && (!was || again ||
		           (from != to && (k == K_EDIT || k == K_GROW)))) {
			if (api_add(w, i, to) != NS_OK) _exit(4);
		} else if (was && !is) {
			char name[32];
			doc_name(i, name, sizeof name);
			if (ns_writer_delete(w, name) != NS_OK) _exit(5);
		}
	}
	if (!update || from != to) {
		if (update && ns_writer_delete(w, marker_name(from)) != NS_OK) _exit(6);
		if (api_add_marker(w, to) != NS_OK) _exit(7);
	}
	if (ns_writer_commit(w) != NS_OK) _exit(8);
	ns_writer_close(w);
	_exit(0);
}

/* Starts an update (or a rebuild) of the index from the state it holds,
** `from` (-1: unknown), to the state of the files, g_state. */
static pid_t start_build(const build_opts *o, int from)
{
	pid_t pid = th_fork();
	if (pid) return pid;
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		_exit(126);
	if (g_api) api_child(o, from, g_state);
	const char *argv[16];
	size_t n = 0;
	char jobs[16];
	argv[n++] = g_bin;
	argv[n++] = "--index";
	argv[n++] = g_ix;
	argv[n++] = "index";
	argv[n++] = "-q";
	if (o->rebuild) argv[n++] = "--rebuild";
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

/* A clean update (or rebuild) from `from` to state s; checks that the
** index then holds state s and returns the duration in seconds. */
static double clean_build(const build_opts *o, int from, int s)
{
	set_state(s);
	double t0 = now();
	int rc = th_wait(start_build(o, from));
	double t = now() - t0;
	cr_assert_eq(rc, 0, "build exit %d", rc);
	return t;
}

static double clean_update(const build_opts *o, int from, int s,
                           const char *what)
{
	double t = clean_build(o, from, s);
	view v = probe();
	assert_state(&v, s, what);
	assert_no_orphans(v.n_segments, what);
	free(v.ids);
	return t;
}

/* ------------------------------------------------------------------------ */
/* The kill loop                                                            */
/* ------------------------------------------------------------------------ */

static void kill_loop(int min_kills, uint64_t seed)
{
	make_corpus();
	build_opts o_def = {0, 0, 0, 0}, o_small = {1, 1, 0, 0},
	           o_re = {0, 0, 1, 0};
	const char *who = g_api ? "API" : "CLI";

	/* the reference answers of both states, from full builds */
	for (int s = ST_B; s >= ST_A; s--) {
		clean_build(&o_re, -1, s);
		view v = probe();
		g_ref[s] = v.ref;
		cr_assert_eq(v.n_segments, 1);
		assert_state(&v, s, "full build");
		free(v.ids);
	}
	cr_assert_neq(g_ref[ST_A].n_docs, g_ref[ST_B].n_docs);
	cr_assert_eq(g_ref[ST_A].marker_a, 1);
	cr_assert_eq(g_ref[ST_B].marker_b, 1);
	cr_assert_eq(g_ref[ST_A].ver_b, 0);
	cr_assert_eq(g_ref[ST_B].ver_a, 0);
	cr_assert_gt(g_ref[ST_A].ver_a, 0);

	/* the update times: t[to][small], to = A, B or 2 (no change); clean
	** updates must give the full builds' answers, whatever the budget */
	double t[3][2];
	int last = ST_A;
	for (int small = 0; small < 2; small++) {
		const build_opts *o = small ? &o_small : &o_def;
		t[ST_B][small] = clean_update(o, last, ST_B, "update A->B");
		t[ST_A][small] = clean_update(o, ST_B, ST_A, "update B->A");
		t[2][small] = clean_update(o, ST_A, ST_A, "update A->A");
	}
	cr_log_info("%s: state A %" PRIu64 " docs, B %" PRIu64 " docs; update "
	            "A->B %.3f s, B->A %.3f s, none %.3f s (default); %.3f s, "
	            "%.3f s, %.3f s (--memory 1M -j 1)",
	            who, g_ref[ST_A].n_docs, g_ref[ST_B].n_docs, t[ST_B][0],
	            t[ST_A][0], t[2][0], t[ST_B][1], t[ST_A][1], t[2][1]);

	/* the API starts from a pile of segments: updates that merge nothing */
	build_opts o_none = o_def;
	o_none.merge = NS_MERGE_NONE;
	for (int k = 0; g_api && k < 4; k++, last = !last)
		clean_update(&o_none, last, !last, "update without merges");

	th_rng r = {seed};
	int n_old = 0, n_new = 0, n_same = 0, n_done = 0, n_uncut = 0;
	int left[L_N] = {0};
	uint32_t max_segs = 0;
	double t0 = now();
	int i;
	for (i = 0; n_old + n_new + n_same < min_kills; i++) {
		cr_assert_lt(i, 4 * min_kills, "%d rounds and only %d kills: the "
		             "delays are too long", i, n_old + n_new + n_same);
		/* mostly a change; one round in eight updates the same state */
		int target = th_below(&r, 8) ? !last : last;
		build_opts o = th_below(&r, 3) ? o_def : o_small;
		if (!o.small_memory) o.jobs = (int)th_below(&r, 3); /* 0, 1, 2 */
		/* the API lets segments pile up now and then, for tiered merges
		** of several segments and several deletion files */
		if (g_api && th_below(&r, 3) == 0) o.merge = NS_MERGE_NONE;
		/* and every fifth of its updates runs uncut (most kills land
		** before the commit), in turn piling up a segment and merging
		** the pile */
		int uncut = g_api && i % 5 == 4;
		g_salt = (uint32_t)th_next(&r);
		if (uncut) {
			target = !last;
			o.merge = (i / 5) % 2 ? NS_MERGE_NONE : NS_MERGE_TIERED;
		}
		double *tp = &t[target == last ? 2 : target][o.small_memory];
		/* mostly uniform over the update; a quarter aimed at its end,
		** where segments are merged and written and the manifest is
		** published */
		double u = th_unit(&r);
		double delay = th_below(&r, 4) ? u * *tp : (0.7 + 0.35 * u) * *tp;
		set_state(target);

		pid_t pid = start_build(&o, last);
		struct timespec ts = {(time_t)delay,
		                      (long)((delay - (double)(time_t)delay) * 1e9)};
		while (!uncut && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
		if (!uncut) kill(pid, SIGKILL);
		int rc = th_wait(pid);
		int completed = rc != 128 + SIGKILL;
		if (completed) cr_assert_eq(rc, 0, "round %d: update exit %d", i, rc);

		view v = probe();
		left[leftovers(v.n_segments)]++;
		if (v.n_segments > max_segs) max_segs = v.n_segments;
		int s;
		if (same_ref(&v.ref, &g_ref[last]))
			s = last;
		else if (same_ref(&v.ref, &g_ref[target]))
			s = target;
		else
			cr_assert_fail("round %d: the index is neither the last completed "
			               "commit (%c) nor the new one (%c): %" PRIu64
			               " docs, markers %" PRIu64 "/%" PRIu64 ", %s %" PRIu64
			               ", zzvera %" PRIu64 ", zzverb %" PRIu64,
			               i, "AB"[last], "AB"[target], v.ref.n_docs,
			               v.ref.marker_a, v.ref.marker_b, g_common,
			               v.ref.common, v.ref.ver_a, v.ref.ver_b);
		char when[32];
		snprintf(when, sizeof when, "round %d", i);
		assert_state(&v, s, when);
		free(v.ids);
		/* the times were measured once, on a machine that may be busy:
		** shorten an estimate when an update beat its kill, lengthen it
		** slowly otherwise, so that the kills keep spanning the update */
		if (!uncut) *tp *= completed ? 0.85 : 1.03;
		if (completed) {
			cr_assert_eq(s, target, "round %d: a completed update is not "
			             "visible", i);
			/* and it removed the leftovers of the killed ones */
			assert_no_orphans(v.n_segments, when);
			n_done += !uncut;
			n_uncut += uncut;
		} else if (target == last) {
			n_same++;
		} else if (s == last) {
			n_old++;
		} else {
			n_new++;
		}
		last = s;
	}
	int kills = n_old + n_new + n_same;
	cr_log_info("%s: %d rounds, %d kills in %.1f s: %d kept the old "
	            "generation, %d landed after the publish, %d updated the "
	            "same state, %d updates finished first, %d ran uncut; up to "
	            "%u segments; leftovers: none %d, temporary %d, unused "
	            "segment %d, stale deletions %d, manifest.tmp %d",
	            who, i, kills, now() - t0, n_old, n_new, n_same, n_done,
	            n_uncut, max_segs, left[L_NONE], left[L_TEMP], left[L_SEG],
	            left[L_DEL], left[L_MANIFEST]);
	/* a good share of the kills must have interrupted an update */
	cr_assert_geq(n_old + n_same, kills / 5, "the delays are too long");

	/* a clean update removes every leftover of the killed ones */
	clean_update(&o_def, last, !last, "the last update");
	/* and a clean rebuild leaves the lock, the manifest and the five
	** files of one segment */
	clean_build(&o_re, -1, ST_B);
	view v = probe();
	assert_state(&v, ST_B, "the last rebuild");
	free(v.ids);
	char *list = th_list_dir(g_ix);
	size_t n = th_count_lines(list);
	cr_assert(n == 7 && strstr(list, "lock\nmanifest\nseg_") &&
	              !strstr(list, ".tmp") && !strstr(list, ".del"),
	          "leftovers after a clean rebuild:\n%s", list);
	free(list);
}

/* Runs a copy of the binary: other builds in the same tree may replace
** build/nsearch while the loop runs. */
static void copy_binary(void)
{
	size_t n;
	char *data = th_read_file(g_bin, &n);
	cr_assert_not_null(data, "cannot read %s", g_bin);
	snprintf(g_bin, sizeof g_bin, "%s/nsearch", g_dir);
	th_write_file(g_bin, data, n);
	free(data);
	cr_assert_eq(chmod(g_bin, 0755), 0);
}

Test(crash, cli_update_killed_at_random_times)
{
	if (!g_bin[0] || access(g_bin, X_OK) != 0)
		SKIP("NSEARCH_BIN is not set to the nsearch binary "
		     "(run through 'make test')");
	copy_binary();
	g_api = 0;
	kill_loop(100, 0x5eed1);
}

Test(crash, api_update_killed_at_random_times)
{
	g_api = 1;
	kill_loop(100, 0x5eed2);
}
