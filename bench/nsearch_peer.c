/*
** nsearch_peer.c -- nsearch's driver for the peer protocol
** (bench/peers/README.md), so that the benchmark and the relevance
** evaluation run nsearch exactly as they run Lucene, Xapian and FTS5:
** the same document stream, the same query files, the same timing loop.
** It uses only the public API (include/nsearch.h).
*/
#include <stdlib.h>
#include <string.h>

#include "nsearch.h"
#include "peers/common/peer.h"

#define ENGINE "nsearch"

static int do_index(const peer_args *a)
{
	if (peer_reset_dir(a->dir)) peer_die(ENGINE, "cannot empty '%s'", a->dir);
	double t0 = peer_now_us();
	ns_writer *w;
	char *err = NULL;
	int rc = ns_writer_open(a->dir, NULL, &w, &err);
	if (rc) peer_die(ENGINE, "%s", err ? err : ns_strerror(rc));
	peer_reader r = {stdin, NULL, 0, 0};
	peer_doc d;
	long n = 0;
	while (peer_read_doc(&r, &d)) {
		ns_doc doc = {.id = d.id, .title = d.title, .path = "",
		              .text = d.text, .text_len = d.text_len};
		rc = ns_writer_add(w, &doc);
		if (rc == NS_EINVAL) {
			fprintf(stderr, "%s: %s\n", ENGINE, ns_writer_errmsg(w));
			continue;
		}
		if (rc) peer_die(ENGINE, "%s", ns_writer_errmsg(w));
		n++;
	}
	peer_reader_free(&r);
	if ((rc = ns_writer_commit(w))) peer_die(ENGINE, "%s", ns_writer_errmsg(w));
	ns_writer_close(w);
	double secs = (peer_now_us() - t0) / 1e6;
	/* nsearch builds one segment: there is no merge step */
	peer_print_index(ENGINE, n, secs, 0.0, peer_dir_bytes(a->dir));
	return 0;
}

typedef struct qctx {
	ns_index *ix;
	ns_search_options base;
} qctx;

static int run_query(void *ctx, const char *query, peer_mode mode, int k,
                     peer_hits *out)
{
	qctx *q = ctx;
	ns_search_options o = q->base;
	o.k = (size_t)k;
	o.count_only = mode == PEER_MODE_COUNT;
	o.plain = mode == PEER_MODE_TREC;
	o.no_total = mode != PEER_MODE_COUNT; /* TOP_10 does not count */
	ns_results *r;
	char *err = NULL;
	int rc = ns_search(q->ix, query, &o, &r, &err);
	if (rc) {
		snprintf(out->err, sizeof out->err, "%s", err ? err : ns_strerror(rc));
		ns_free(err);
		return -1;
	}
	if (mode == PEER_MODE_COUNT) {
		out->count = (long)ns_results_total(r);
	} else {
		for (size_t i = 0; i < ns_results_count(r); i++) {
			const char *id = ns_results_id(r, i);
			peer_hits_add(out, id, strlen(id), ns_results_score(r, i));
		}
		out->count = (long)ns_results_count(r);
	}
	ns_results_free(r);
	return 0;
}

int main(int argc, char **argv)
{
	peer_args a;
	peer_parse_args(argc, argv, ENGINE, &a);
	if (a.cmd == PEER_CMD_VERSION) {
		printf("nsearch %s\n", ns_version());
		return 0;
	}
	if (a.cmd == PEER_CMD_INDEX) return do_index(&a);
	qctx q;
	ns_search_options_init(&q.base);
	/* for measurements only: the exhaustive reference evaluator */
	q.base.exhaustive = getenv("NSEARCH_EXHAUSTIVE") != NULL;
	q.base.k1 = a.k1;
	q.base.b = a.b;
	char *err = NULL;
	int rc = ns_index_open(a.dir, &q.ix, &err);
	if (rc) peer_die(ENGINE, "%s", err ? err : ns_strerror(rc));
	rc = peer_run_queries(&a, ENGINE, run_query, &q);
	ns_index_close(q.ix);
	return rc;
}
