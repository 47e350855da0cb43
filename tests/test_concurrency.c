/*
** test_concurrency.c -- readers while a writer commits.  A forked child
** rebuilds the index 60 times through the API, alternating between two
** document sets (A: the sample corpus and 150 generated documents marked
** "alphamark"; B: three of its files and 100 others marked "betamark"), so
** that every commit publishes a new generation and removes the files of
** the one before.  Meanwhile:
**   - the parent loops ns_index_open + ns_search + ns_snippet +
**     ns_index_close, and so do two forked readers (opens that lose the
**     race against the writer's removal of the old files take
**     ns_index_open's retry path a few times a run);
**   - a handle opened once before the writer starts keeps searching.
** Every call must succeed, and each handle must see one whole generation:
** its totals for a fixed set of queries are exactly set A's or set B's
** (measured on quiet builds first), its document count matches, and its
** snippets highlight that set's marker.  The long-lived handle must keep
** answering for the generation it opened.  At the end the index is sound
** and holds only the last generation's files.
**
** A second test holds the writer lock in one process and checks that a
** writer in another (the API and the CLI) is refused with NS_ELOCKED and a
** message that says so.  (test_index and test_api check the same within
** one process.)
*/
#include <poll.h>
#include <signal.h>

#include "helpers.h"

static char g_dir[64];
static char g_ix[96];

/* the two document sets */
enum { SET_A, SET_B };
#define N_GEN_A 150
#define N_GEN_B 100
#define N_CORPUS_B 3
#define COMMITS 60
#define N_READERS 2 /* reader children, besides the parent */

static char *g_corpus[16];
static size_t g_ncorpus;

static const char *const g_queries[] = {
    "storm shadow", "alphamark", "betamark", "\"river stone\"",
    "missile -ukraine", "river OR (stone AND lamp)",
};
#define N_QUERIES (sizeof g_queries / sizeof *g_queries)

typedef struct expect {
	uint64_t n_docs;
	uint64_t total[N_QUERIES];
} expect;
static expect g_expect[2];

static void setup(void)
{
	th_mkdtemp(g_dir, sizeof g_dir, "concurrency");
	snprintf(g_ix, sizeof g_ix, "%s/ix", g_dir);
	cr_assert_not_null(th_corpus_dir(), "the sample corpus is missing");
	g_ncorpus = th_corpus_texts(g_corpus, 16);
	cr_assert_geq(g_ncorpus, N_CORPUS_B);
}

static void teardown(void)
{
	for (size_t i = 0; i < g_ncorpus; i++) free(g_corpus[i]);
	g_ncorpus = 0;
	th_rmrf(g_dir);
}

TestSuite(concurrency, .init = setup, .fini = teardown, .timeout = 300);

/* ------------------------------------------------------------------------ */
/* The document sets, written without Criterion (also used in children)     */
/* ------------------------------------------------------------------------ */

static const char *const gen_words[] = {
    "river", "stone", "lamp", "harbor", "winter", "signal", "copper",
    "meadow", "lantern", "orbit", "missile", "shadow",
};

/* Generated document i of a set, into buf (at least 512 bytes). */
static void gen_text(int set, size_t i, char *buf, size_t size)
{
	th_rng r = {(uint64_t)set * 1000003u + i + 1};
	size_t n = (size_t)snprintf(buf, size, "%s",
	                            set == SET_A ? "alphamark" : "betamark");
	size_t len = 5 + th_below(&r, 30);
	for (size_t k = 0; k < len && n + 16 < size; k++) {
		size_t w = (size_t)(12 * th_unit(&r) * th_unit(&r));
		n += (size_t)snprintf(buf + n, size - n, " %s", gen_words[w]);
	}
}

static size_t set_size(int set)
{
	return set == SET_A ? g_ncorpus + N_GEN_A : N_CORPUS_B + N_GEN_B;
}

/* Replaces the index in dir by the documents of `set`; NS_OK or the
** failing call's status, with a message in err. */
static int build_set(const char *dir, int set, char *err, size_t errlen)
{
	ns_writer_options o = {.lang = "english", .threads = 1};
	ns_writer *w = NULL;
	char *msg = NULL;
	int rc = ns_writer_open(dir, &o, &w, &msg);
	if (rc) {
		snprintf(err, errlen, "ns_writer_open: %d %s", rc, msg ? msg : "");
		ns_free(msg);
		return rc;
	}
	size_t nc = set == SET_A ? g_ncorpus : N_CORPUS_B;
	size_t ng = set == SET_A ? N_GEN_A : N_GEN_B;
	for (size_t i = 0; i < nc + ng && rc == NS_OK; i++) {
		char text[512], id[32];
		const char *t = text;
		if (i < nc)
			t = g_corpus[i];
		else
			gen_text(set, i - nc, text, sizeof text);
		snprintf(id, sizeof id, "%c%zu", set == SET_A ? 'a' : 'b', i);
		ns_doc d = {.id = id, .title = id, .text = t, .text_len = strlen(t),
		            .size = strlen(t)};
		rc = ns_writer_add(w, &d);
	}
	if (rc == NS_OK) rc = ns_writer_commit(w);
	if (rc) snprintf(err, errlen, "writer: %d %s", rc, ns_writer_errmsg(w));
	ns_writer_close(w);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* One read: every query, snippets, the set it matches                      */
/* ------------------------------------------------------------------------ */

/* Searches ix with every query and snippets of the best hits.  Returns the
** set whose answers it gave (SET_A or SET_B), or -1 with a message in err.
** No Criterion calls: children use it too. */
static int read_once(ns_index *ix, char *err, size_t errlen)
{
	uint64_t total[N_QUERIES];
	ns_index_stats st;
	ns_index_get_stats(ix, &st);
	for (size_t q = 0; q < N_QUERIES; q++) {
		ns_results *r = NULL;
		char *msg = NULL;
		int rc = ns_search(ix, g_queries[q], NULL, &r, &msg);
		if (rc != NS_OK || !r) {
			snprintf(err, errlen, "search [%s]: %d %s", g_queries[q], rc,
			         msg ? msg : "");
			ns_free(msg);
			return -1;
		}
		total[q] = ns_results_total(r);
		/* the marker queries: the best hit's snippet shows the marker */
		for (size_t i = 0; i < ns_results_count(r) && i < 2; i++) {
			char *s = NULL;
			rc = ns_snippet(r, i, "[", "]", 12, &s);
			int ok = rc == NS_OK && s;
			if (ok && q == 1) ok = strstr(s, "[alphamark]") != NULL;
			if (ok && q == 2) ok = strstr(s, "[betamark]") != NULL;
			if (!ok) {
				snprintf(err, errlen, "snippet %zu of [%s]: %d '%s'", i,
				         g_queries[q], rc, s ? s : "");
				ns_free(s);
				ns_results_free(r);
				return -1;
			}
			ns_free(s);
		}
		ns_results_free(r);
	}
	for (int set = SET_A; set <= SET_B; set++) {
		if (st.n_docs != g_expect[set].n_docs) continue;
		if (!memcmp(total, g_expect[set].total, sizeof total)) return set;
	}
	snprintf(err, errlen,
	         "answers of neither set: %" PRIu64 " docs, totals %" PRIu64
	         " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	         st.n_docs, total[0], total[1], total[2], total[3], total[4],
	         total[5]);
	return -1;
}

/* Opens, reads and closes the index; the set seen, or -1 (message in err). */
static int read_fresh(char *err, size_t errlen)
{
	ns_index *ix = NULL;
	char *msg = NULL;
	int rc = ns_index_open(g_ix, &ix, &msg);
	if (rc != NS_OK) {
		snprintf(err, errlen, "ns_index_open: %d %s", rc, msg ? msg : "");
		ns_free(msg);
		return -1;
	}
	int set = read_once(ix, err, errlen);
	ns_index_close(ix);
	return set;
}

/* Measures each set's answers on a quiet index. */
static void measure(void)
{
	char err[512];
	for (int set = SET_A; set <= SET_B; set++) {
		cr_assert_eq(build_set(g_ix, set, err, sizeof err), NS_OK, "%s", err);
		ns_index *ix = th_open_index(g_ix);
		ns_index_stats st;
		ns_index_get_stats(ix, &st);
		g_expect[set].n_docs = st.n_docs;
		cr_assert_eq(st.n_docs, set_size(set));
		for (size_t q = 0; q < N_QUERIES; q++) {
			ns_results *r = NULL;
			cr_assert_eq(ns_search(ix, g_queries[q], NULL, &r, NULL), NS_OK);
			g_expect[set].total[q] = ns_results_total(r);
			ns_results_free(r);
		}
		ns_index_close(ix);
	}
	/* the sets must be told apart, and the marker queries find hits */
	cr_assert_eq(g_expect[SET_A].total[2], 0);
	cr_assert_eq(g_expect[SET_B].total[1], 0);
	cr_assert_eq(g_expect[SET_A].total[1], N_GEN_A);
	cr_assert_eq(g_expect[SET_B].total[2], N_GEN_B);
	cr_assert_neq(g_expect[SET_A].total[0], g_expect[SET_B].total[0]);
}

/* ------------------------------------------------------------------------ */
/* The writer and the second reader, in children                            */
/* ------------------------------------------------------------------------ */

/* Commits COMMITS generations, alternating sets, starting with the one not
** published now (B is, after measure()). */
static void writer_child(void)
{
	char err[512];
	for (int i = 0; i < COMMITS; i++) {
		int set = i % 2 == 0 ? SET_A : SET_B;
		if (build_set(g_ix, set, err, sizeof err) != NS_OK) {
			fprintf(stderr, "writer, commit %d: %s\n", i, err);
			_exit(2);
		}
	}
	_exit(0);
}

/* Reads with fresh handles until `stop` reaches end of file; exits 0, or 1
** with a message on stderr at the first failure. */
static void reader_child(int stop)
{
	char err[512];
	unsigned long seen[2] = {0, 0};
	for (;;) {
		struct pollfd p = {.fd = stop, .events = POLLIN};
		if (poll(&p, 1, 0) > 0) break; /* the parent closed its end */
		int set = read_fresh(err, sizeof err);
		if (set < 0) {
			fprintf(stderr, "reader child %d: %s\n", (int)getpid(), err);
			_exit(1);
		}
		seen[set]++;
	}
	fprintf(stderr, "reader child: %lu reads of A, %lu of B\n", seen[0],
	        seen[1]);
	_exit(0);
}

Test(concurrency, readers_see_whole_generations_while_a_writer_commits)
{
	measure(); /* leaves set B published */
	ns_index *held = th_open_index(g_ix);
	char err[512];
	cr_assert_eq(read_once(held, err, sizeof err), SET_B, "%s", err);

	int stop[2];
	cr_assert_eq(pipe(stop), 0);
	pid_t readers[N_READERS];
	for (int i = 0; i < N_READERS; i++) {
		readers[i] = th_fork();
		if (readers[i] == 0) {
			close(stop[1]);
			reader_child(stop[0]);
		}
	}
	close(stop[0]);
	pid_t writer = th_fork();
	if (writer == 0) {
		close(stop[1]);
		writer_child();
	}

	unsigned long reads = 0, seen[2] = {0, 0}, held_reads = 0;
	int st = 0;
	for (;;) {
		pid_t done = waitpid(writer, &st, WNOHANG);
		cr_assert(done >= 0 || errno == EINTR, "waitpid: %s", strerror(errno));
		if (done == writer) break;
		int set = read_fresh(err, sizeof err);
		cr_assert_geq(set, 0, "read %lu: %s", reads, err);
		seen[set]++;
		reads++;
		/* the handle opened before the writer started still answers for
		** its generation, whose files the writer has since removed */
		cr_assert_eq(read_once(held, err, sizeof err), SET_B,
		             "long-lived handle, read %lu: %s", held_reads, err);
		held_reads++;
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "writer child failed (status 0x%x)", st);
	close(stop[1]);
	for (int i = 0; i < N_READERS; i++)
		cr_assert_eq(th_wait(readers[i]), 0, "reader child %d failed", i);
	cr_log_info("parent: %lu fresh reads (%lu of A, %lu of B), %lu on the "
	            "long-lived handle", reads, seen[0], seen[1], held_reads);

	/* the long-lived handle, once more, and the final state: the last
	** commit was of set B; the index is sound and holds only its files */
	cr_assert_eq(read_once(held, err, sizeof err), SET_B, "%s", err);
	ns_index_close(held);
	cr_assert_eq(read_fresh(err, sizeof err), SET_B, "%s", err);
	cr_assert_eq(ns_index_check(g_ix, NULL, NULL), NS_OK);
	ns_index *ix = th_open_index(g_ix);
	ns_index_stats s;
	ns_index_get_stats(ix, &s);
	ns_index_close(ix);
	cr_assert_eq(s.generation, 2 + COMMITS);
	char *dict = th_find_suffix(g_ix, ".dict");
	cr_assert_not_null(dict);
	int seg = (int)(strlen(dict) - 5);
	char *list = th_list_dir(g_ix), want[256];
	snprintf(want, sizeof want,
	         "lock\nmanifest\n%.*s.dict\n%.*s.docs\n%.*s.pos\n%.*s.post\n"
	         "%.*s.store\n", seg, dict, seg, dict, seg, dict, seg, dict, seg,
	         dict);
	cr_assert_str_eq(list, want, "leftovers");
	free(list);
	free(dict);
}

/* ------------------------------------------------------------------------ */
/* The writer lock across processes                                         */
/* ------------------------------------------------------------------------ */

Test(concurrency, a_writer_in_another_process_is_locked_out)
{
	char err[512];
	measure(); /* leaves set B published */
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	pid_t holder = th_fork();
	if (holder == 0) {
		/* holds the lock, with documents added, until told to stop; then
		** abandons the build */
		close(ready[0]);
		close(release[1]);
		ns_writer_options o = {.threads = 1};
		ns_writer *w = NULL;
		if (ns_writer_open(g_ix, &o, &w, NULL) != NS_OK) _exit(2);
		ns_doc d = {.id = "x", .text = "uncommitted words", .text_len = 17};
		if (ns_writer_add(w, &d) != NS_OK) _exit(3);
		if (write(ready[1], "x", 1) != 1) _exit(4);
		char c;
		while (read(release[0], &c, 1) < 0 && errno == EINTR) {
		}
		ns_writer_close(w);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1, "the lock holder failed");

	ns_writer *w = (ns_writer *)&w;
	char *msg = NULL;
	cr_assert_eq(ns_writer_open(g_ix, NULL, &w, &msg), NS_ELOCKED);
	cr_assert_null(w);
	cr_assert_not_null(msg);
	cr_assert_not_null(strstr(msg, "is locked"), "message: %s", msg);
	cr_assert_not_null(strstr(msg, g_ix), "message: %s", msg);
	ns_free(msg);

	/* the command-line tool says so too, and fails */
	const char *bin = getenv("NSEARCH_BIN");
	if (bin && *bin) {
		const char *argv[] = {bin, "--index", g_ix, "index", "-q",
		                      th_corpus_dir(), NULL};
		th_proc p = th_run(argv, NULL, NULL, NULL);
		cr_assert_eq(p.status, 1, "exit %d, stderr: %s", p.status, p.err);
		cr_assert_not_null(strstr(p.err, "is locked"), "stderr: %s", p.err);
		th_proc_free(&p);
	}
	/* readers are not locked out */
	cr_assert_eq(read_fresh(err, sizeof err), SET_B, "%s", err);

	cr_assert_eq(write(release[1], "x", 1), 1);
	cr_assert_eq(th_wait(holder), 0);
	close(ready[0]);
	close(release[1]);
	/* released: the next writer gets in, and the abandoned build left the
	** published index as it was */
	cr_assert_eq(read_fresh(err, sizeof err), SET_B, "%s", err);
	cr_assert_eq(build_set(g_ix, SET_A, err, sizeof err), NS_OK, "%s", err);
	cr_assert_eq(read_fresh(err, sizeof err), SET_A, "%s", err);
}
