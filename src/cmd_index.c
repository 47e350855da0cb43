/*
** cmd_index.c -- `nsearch index DIR...` (walk, analyse, commit), and the
** commands that change an index in place: `add`, `delete`, `optimize`.
**
** On an existing index, `index` is incremental: it opens an update writer
** and reads only what changed.  A file whose size and mtime equal those
** recorded for its documents is skipped unread; a file that differs is
** read, and each of its documents whose text hash, title and path are
** those recorded is kept as it is; other documents are added (replacing
** the one with the same id); documents of files that are gone (not met in
** this walk) are deleted.  The result has the documents a full build of
** the same roots would have.
*/
#include <ftw.h>
#include <getopt.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "source.h"
#include "writer.h"

static volatile sig_atomic_t interrupted; /* the signal number */

static void on_signal(int sig)
{
	interrupted = sig;
}

typedef struct ictx {
	ns_writer *w;
	const char *prefix; /* root prefix for ids when several roots are given */
	char *idbuf;
	size_t idcap;
	int progress;
	double t0, last;
	uint64_t files, bytes, docs, base_files, base_bytes;
	int fatal;
	uint64_t total_files; /* counted before the walk, for the estimate */
	/* an update: the published documents, by path */
	const ns_index *base;
	ns_strmap paths;      /* path -> first ref of its documents */
	uint64_t *refs;       /* per live published document: seg << 32 | local */
	uint32_t *next;       /* next ref with the same path, UINT32_MAX ends */
	uint64_t *seen;       /* bit per document number: met in this walk */
	int64_t *seg_time;    /* per segment: when its document table was
	                         written (seconds) */
	uint64_t added, changed, unchanged, removed;
} ictx;

static void mark_seen(ictx *c, uint32_t si, uint32_t d)
{
	uint64_t slot = c->base->segs[si].base + d;
	c->seen[slot >> 6] |= 1ull << (slot & 63);
}

static int was_seen(const ictx *c, uint32_t si, uint32_t d)
{
	uint64_t slot = c->base->segs[si].base + d;
	return (c->seen[slot >> 6] >> (slot & 63)) & 1;
}

/* Lists the live published documents by path. */
static int load_base(ictx *c)
{
	const ns_index *ix = c->base;
	ns_strmap_init(&c->paths);
	size_t n = (size_t)ix->n_docs;
	c->refs = calloc(n ? n : 1, sizeof *c->refs);
	c->next = calloc(n ? n : 1, sizeof *c->next);
	c->seen = calloc((size_t)(ix->n_slots / 64 + 1), sizeof *c->seen);
	c->seg_time = calloc(ix->n_segs + 1, sizeof *c->seg_time);
	if (!c->refs || !c->next || !c->seen || !c->seg_time) return NS_ENOMEM;
	for (uint32_t si = 0; si < ix->n_segs; si++) {
		char *p = ns_seg_path(cli_index_dir, ix->segs[si].seg_no, "docs");
		struct stat st;
		/* unknown: the future, so that no file is trusted by its stat */
		c->seg_time[si] = p && stat(p, &st) == 0 ? (int64_t)st.st_mtime
		                                         : INT64_MIN;
		ns_free(p);
	}
	size_t k = 0;
	for (uint32_t si = 0; si < ix->n_segs; si++) {
		const ns_seg *s = &ix->segs[si];
		for (uint32_t d = 0; d < s->n_docs; d++) {
			if (ns_seg_deleted(s, d)) continue;
			ns_docrec r;
			int rc = ns_seg_doc(s, d, &r);
			if (rc) return rc;
			if (k == n) return NS_ECORRUPT;
			c->refs[k] = (uint64_t)si << 32 | d;
			uint64_t h = ns_hash_bytes(r.path, r.path_len);
			uint32_t *v = ns_strmap_get(&c->paths, r.path, r.path_len, h);
			if (v) { /* a collection file: chain its documents */
				c->next[k] = c->next[*v];
				c->next[*v] = (uint32_t)k;
			} else {
				c->next[k] = UINT32_MAX;
				if ((rc = ns_strmap_put(&c->paths, r.path, r.path_len, h,
				                        (uint32_t)k)))
					return rc;
			}
			k++;
		}
	}
	return NS_OK;
}

static void free_base(ictx *c)
{
	if (!c->refs) return;
	ns_strmap_free(&c->paths);
	free(c->refs);
	free(c->next);
	free(c->seen);
	free(c->seg_time);
}

/* A file about to be read: skip it when its documents are recorded with
** its size and mtime.  st NULL: it cannot be read; keep its documents. */
static int on_file(void *ctx, const char *path, const struct stat *st)
{
	ictx *c = ctx;
	if (!c->base) return 0;
	size_t len = strlen(path);
	uint32_t *v = ns_strmap_get(&c->paths, path, len, ns_hash_bytes(path, len));
	if (!v) return 0;
	int same = 1;
	uint64_t n = 0;
	for (uint32_t k = *v; k != UINT32_MAX && same; k = c->next[k]) {
		uint32_t si = (uint32_t)(c->refs[k] >> 32), d = (uint32_t)c->refs[k];
		ns_docrec r;
		if (ns_seg_doc(&c->base->segs[si], d, &r) != NS_OK) return 0;
		if (st && (r.size != (uint64_t)st->st_size ||
		           r.mtime != (int64_t)st->st_mtime))
			same = 0;
		/* "racily clean" (as git calls it): a file modified in the second
		** its documents were indexed, or later, can have changed without
		** its size or mtime showing it; read it and compare hashes */
		if (st && (c->seg_time[si] == INT64_MIN ||
		           (int64_t)st->st_mtime >= c->seg_time[si]))
			same = 0;
		n++;
	}
	if (!same) return 0;
	for (uint32_t k = *v; k != UINT32_MAX; k = c->next[k])
		mark_seen(c, (uint32_t)(c->refs[k] >> 32), (uint32_t)c->refs[k]);
	c->unchanged += n;
	return 1;
}

/* A directory the walk could not open or read in full: its files were not
** met, but they may well still be there (a permission changed, a disk
** error), so their documents are kept rather than deleted as vanished. */
static int on_dir_unreadable(void *ctx, const char *dir)
{
	ictx *c = ctx;
	if (!c->base) return 0;
	size_t dl = strlen(dir);
	for (size_t i = 0; i < c->paths.n; i++) {
		const ns_strmap_entry *e = &c->paths.ents[i];
		const char *path = ns_strmap_key(&c->paths, (uint32_t)i);
		if (e->key_len <= dl || path[dl] != '/' || memcmp(path, dir, dl) != 0)
			continue;
		for (uint32_t k = e->val; k != UINT32_MAX; k = c->next[k]) {
			uint32_t si = (uint32_t)(c->refs[k] >> 32), d = (uint32_t)c->refs[k];
			if (was_seen(c, si, d)) continue;
			mark_seen(c, si, d);
			c->unchanged++;
		}
	}
	return 0;
}

/* Deletes the published documents the walk did not meet. */
static int remove_unseen(ictx *c)
{
	for (size_t k = 0; k < c->base->n_docs; k++) {
		uint32_t si = (uint32_t)(c->refs[k] >> 32), d = (uint32_t)c->refs[k];
		if (was_seen(c, si, d) || ns_writer_base_deleted(c->w, si, d))
			continue;
		int rc = ns_writer_delete_at(c->w, si, d);
		if (rc) return rc;
		c->removed++;
	}
	return NS_OK;
}

static uint64_t g_count;

static int count_file(const char *path, const struct stat *st, int flag,
                      struct FTW *f)
{
	const char *base = path + f->base;
	if (f->level > 0 && base[0] == '.') /* hidden: the walker skips it */
		return flag == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	if (flag == FTW_F && S_ISREG(st->st_mode)) g_count++;
	return FTW_CONTINUE;
}

/* Regular files under root, as the walker will see them (roughly: files
** beside a JSON Lines collection are counted too). */
static uint64_t count_files(const char *root)
{
	g_count = 0;
	nftw(root, count_file, 32, FTW_PHYS | FTW_ACTIONRETVAL);
	return g_count;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show_progress(ictx *c, int final)
{
	double t = now();
	if (!final && t - c->last < 0.25) return;
	c->last = t;
	double el = t - c->t0;
	double mb = (double)c->bytes / 1e6;
	fprintf(stderr, "\r\033[Kindexing: %llu files, %llu docs, %.1f MB, %.1f MB/s, %d:%02d",
	        (unsigned long long)c->files, (unsigned long long)c->docs, mb,
	        el > 0 ? mb / el : 0.0, (int)el / 60, (int)el % 60);
	if (!final && c->files && c->total_files > c->files && el > 1) {
		double left = el * (double)(c->total_files - c->files) / (double)c->files;
		fprintf(stderr, ", about %d:%02d left", (int)left / 60, (int)left % 60);
	}
	if (final) fputc('\n', stderr);
	fflush(stderr);
}

static int on_doc(void *ctx, const ns_doc *doc)
{
	ictx *c = ctx;
	if (interrupted) return 1;
	ns_doc d = *doc;
	if (c->prefix) {
		size_t need = strlen(c->prefix) + strlen(doc->id) + 2;
		if (need > c->idcap) {
			char *p = realloc(c->idbuf, need);
			if (!p) {
				c->fatal = NS_ENOMEM;
				return 1;
			}
			c->idbuf = p;
			c->idcap = need;
		}
		snprintf(c->idbuf, need, "%s/%s", c->prefix, doc->id);
		d.id = c->idbuf;
	}
	int replacing = 0;
	if (c->base) {
		uint32_t si, k;
		int rc = ns_writer_find(c->w, d.id, &si, &k);
		if (rc == NS_OK) {
			ns_docrec r;
			rc = ns_seg_doc(&c->base->segs[si], k, &r);
			if (rc == NS_OK) {
				mark_seen(c, si, k);
				const char *title = d.title ? d.title : "";
				const char *path = d.path ? d.path : "";
				if (r.text_len == d.text_len &&
				    r.hash == ns_text_hash(d.text ? d.text : "", d.text_len) &&
				    r.title_len == strlen(title) &&
				    memcmp(r.title, title, r.title_len) == 0 &&
				    r.path_len == strlen(path) &&
				    memcmp(r.path, path, r.path_len) == 0) {
					c->unchanged++; /* touched, not changed */
					c->docs++;
					return 0;
				}
				replacing = 1;
			}
		}
		if (rc && rc != NS_DONE) {
			c->fatal = rc;
			return 1;
		}
	}
	int rc = ns_writer_add(c->w, &d);
	if (rc == NS_EINVAL) {
		cli_warn("%s", ns_writer_errmsg(c->w));
		return 0;
	}
	if (rc) {
		c->fatal = rc;
		return 1;
	}
	c->docs++;
	if (replacing) c->changed++;
	else c->added++;
	return 0;
}

static void on_warn(void *ctx, const char *path, const char *msg)
{
	ictx *c = ctx;
	if (c->progress) fputs("\r\033[K", stderr);
	cli_warn("%s: %s", path, msg);
}

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	ictx *c = ctx;
	c->files = c->base_files + files;
	c->bytes = c->base_bytes + bytes;
	if (c->progress) show_progress(c, 0);
}

enum { RUN_INDEX, RUN_ADD };

static int run_walk(int kind, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"lang", required_argument, NULL, 'l'},
	    {"index", required_argument, NULL, 'i'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"progress", no_argument, NULL, 'p'},
	    {"memory", required_argument, NULL, 'm'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"rebuild", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *cmd = kind == RUN_INDEX ? "index " : "add ";
	const char *lang = NULL;
	int quiet = 0, force_progress = 0, o, jobs = 0, rebuild = 0;
	size_t memory = 0;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "qhj:", opts, NULL)) != -1) {
		switch (o) {
		case 'l': lang = optarg; break;
		case 'i': cli_index_dir = optarg; break;
		case 'q': quiet = 1; break;
		case 'p': force_progress = 1; break;
		case 'r':
			if (kind != RUN_INDEX)
				return cli_usage(cmd, "unknown option '--rebuild'");
			rebuild = 1;
			break;
		case 'j': {
			size_t n;
			if (cli_parse_size(optarg, &n) || n < 1 || n > 64)
				return cli_usage(cmd, "-j needs a number from 1 to 64");
			jobs = (int)n;
			break;
		}
		case 'm':
			if (cli_parse_bytes(optarg, &memory) || memory < (1u << 20))
				return cli_usage(cmd, "--memory needs a size of at least "
				                 "1M, e.g. 256M or 2G");
			break;
		case 'h': cli_help(kind == RUN_INDEX ? "index" : "add", stdout); return 0;
		default:
			return cli_usage(cmd, "unknown or incomplete option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "%s needs a directory or file",
		                 kind == RUN_INDEX ? "index" : "add");
	ns_writer_options wo = {.lang = lang, .memory = memory, .threads = jobs,
	                        .mode = rebuild ? NS_WRITE_REPLACE : NS_WRITE_UPDATE};
	ictx c;
	memset(&c, 0, sizeof c);
	c.progress = !quiet && (force_progress || isatty(2));
	char *err = NULL;
	int rc = ns_writer_open(cli_index_dir, &wo, &c.w, &err);
	if (rc == NS_EINVAL && lang && kind == RUN_INDEX && !rebuild) {
		/* another language than the index's: a full build in this one */
		ns_free(err);
		err = NULL;
		wo.mode = NS_WRITE_REPLACE;
		rc = ns_writer_open(cli_index_dir, &wo, &c.w, &err);
		if (rc == NS_OK && !quiet)
			cli_warn("language '%s' differs from the index's: rebuilding", lang);
	}
	if (rc) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		return rc == NS_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (ns_writer_rebuilding(c.w) == NS_EVERSION)
		cli_warn("the index in '%s' was written by another format version; "
		         "building a new one", cli_index_dir);
	else if (ns_writer_rebuilding(c.w))
		cli_warn("the index in '%s' is damaged; building a new one",
		         cli_index_dir);
	c.base = ns_writer_base(c.w);
	if (c.base && (rc = load_base(&c))) {
		cli_err("cannot read the index: %s", ns_strerror(rc));
		free_base(&c);
		ns_writer_close(c.w);
		return EXIT_RUNTIME;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (c.progress)
		for (int i = optind; i < argc; i++) c.total_files += count_files(argv[i]);
	c.t0 = c.last = now();
	ns_walk_options wopt = {.on_doc = on_doc, .on_warn = on_warn,
	                        .on_progress = on_progress, .ctx = &c,
	                        .on_file = c.base ? on_file : NULL,
	                        .on_dir_unreadable = on_dir_unreadable};
	int failed_roots = 0;
	for (int i = optind; i < argc && !interrupted && !c.fatal; i++) {
		c.prefix = argc - optind > 1 ? argv[i] : NULL;
		ns_walk_stats st;
		memset(&st, 0, sizeof st);
		c.base_files = c.files;
		c.base_bytes = c.bytes;
		rc = ns_walk(argv[i], &wopt, &st);
		c.files = c.base_files + st.files;
		c.bytes = c.base_bytes + st.bytes;
		if (rc < 0) failed_roots++; /* already warned by the walker */
	}
	if (c.progress) show_progress(&c, 1);
	free(c.idbuf);
	if (!interrupted && !c.fatal && failed_roots < argc - optind &&
	    kind == RUN_INDEX && c.base && (rc = remove_unseen(&c)))
		c.fatal = rc;
	free_base(&c);
	if (interrupted || c.fatal) {
		if (c.fatal)
			cli_err("indexing failed: %s", ns_writer_errmsg(c.w)[0]
			                                   ? ns_writer_errmsg(c.w)
			                                   : ns_strerror(c.fatal));
		else
			cli_err("interrupted; the previous index is unchanged");
		ns_writer_close(c.w);
		return interrupted ? 128 + interrupted : EXIT_RUNTIME;
	}
	if (failed_roots == argc - optind) {
		cli_err("nothing to index; the previous index is unchanged");
		ns_writer_close(c.w);
		return EXIT_RUNTIME;
	}
	int update = c.base != NULL;
	rc = ns_writer_commit(c.w);
	if (rc) {
		cli_err("%s", ns_writer_errmsg(c.w));
		ns_writer_close(c.w);
		return EXIT_RUNTIME;
	}
	ns_writer_stats ws;
	ns_writer_get_stats(c.w, &ws);
	ns_writer_close(c.w);
	double el = now() - c.t0;
	if (quiet) return failed_roots ? EXIT_RUNTIME : 0;
	if (update)
		printf("updated index: %llu added, %llu changed, %llu removed, "
		       "%llu unchanged documents; %u segment%s (%llu documents "
		       "merged), %.1f MB read in %.2f s\n",
		       (unsigned long long)c.added, (unsigned long long)c.changed,
		       (unsigned long long)c.removed, (unsigned long long)c.unchanged,
		       ws.n_segments, ws.n_segments == 1 ? "" : "s",
		       (unsigned long long)ws.n_merged, (double)c.bytes / 1e6, el);
	else
		printf("indexed %llu documents, %llu terms, %llu postings, "
		       "%.1f MB input, %.1f MB index in %.2f s (%.1f MB/s)\n",
		       (unsigned long long)ws.n_docs, (unsigned long long)ws.n_terms,
		       (unsigned long long)ws.n_postings, (double)ws.input_bytes / 1e6,
		       (double)ws.index_bytes / 1e6, el,
		       el > 0 ? (double)ws.input_bytes / 1e6 / el : 0.0);
	return failed_roots ? EXIT_RUNTIME : 0;
}

int cmd_index(int argc, char **argv)
{
	return run_walk(RUN_INDEX, argc, argv);
}

int cmd_add(int argc, char **argv)
{
	return run_walk(RUN_ADD, argc, argv);
}

/* Opens an update writer on an existing index for delete and optimize. */
static int open_update(const char *cmd, int merge, ns_writer **w)
{
	*w = NULL;
	char *man = ns_fmt("%s/manifest", cli_index_dir);
	int exists = man && access(man, F_OK) == 0;
	ns_free(man);
	if (!exists) { /* do not create a directory for nothing */
		cli_err("%s: no index in '%s' (run 'nsearch index DIR' first)", cmd,
		        cli_index_dir);
		return EXIT_RUNTIME;
	}
	ns_writer_options wo = {.mode = NS_WRITE_UPDATE, .merge = merge,
	                        .threads = 0};
	char *err = NULL;
	int rc = ns_writer_open(cli_index_dir, &wo, w, &err);
	if (rc) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		return EXIT_RUNTIME;
	}
	if (!ns_writer_base(*w)) {
		cli_err("%s: no readable index in '%s'", cmd, cli_index_dir);
		ns_writer_close(*w);
		*w = NULL;
		return EXIT_RUNTIME;
	}
	return 0;
}

int cmd_delete(int argc, char **argv)
{
	int quiet = 0, rc = cli_simple_opts("delete", argc, argv, &quiet, 1);
	if (rc >= 0) return rc;
	if (optind >= argc)
		return cli_usage("delete ", "delete needs at least one document id");
	ns_writer *w;
	if ((rc = open_update("delete", NS_MERGE_TIERED, &w))) return rc;
	int missing = 0;
	uint64_t deleted = 0;
	for (int i = optind; i < argc; i++) {
		rc = ns_writer_delete(w, argv[i]);
		if (rc == NS_ENOTFOUND) {
			cli_err("no document with id '%s'", argv[i]);
			missing++;
		} else if (rc) {
			cli_err("%s", ns_writer_errmsg(w));
			ns_writer_close(w);
			return EXIT_RUNTIME;
		} else {
			deleted++;
		}
	}
	if (deleted && (rc = ns_writer_commit(w))) {
		cli_err("%s", ns_writer_errmsg(w));
		ns_writer_close(w);
		return EXIT_RUNTIME;
	}
	ns_writer_close(w);
	if (!quiet && deleted)
		printf("deleted %llu document%s\n", (unsigned long long)deleted,
		       deleted == 1 ? "" : "s");
	return missing ? EXIT_RUNTIME : 0;
}

int cmd_optimize(int argc, char **argv)
{
	int quiet = 0, rc = cli_simple_opts("optimize", argc, argv, &quiet, 0);
	if (rc >= 0) return rc;
	ns_writer *w;
	if ((rc = open_update("optimize", NS_MERGE_ALL, &w))) return rc;
	double t0 = now();
	if ((rc = ns_writer_commit(w))) {
		cli_err("%s", ns_writer_errmsg(w));
		ns_writer_close(w);
		return EXIT_RUNTIME;
	}
	ns_writer_stats ws;
	ns_writer_get_stats(w, &ws);
	ns_writer_close(w);
	if (!quiet)
		printf("optimized: %u segment%s, %llu documents rewritten in %.2f s\n",
		       ws.n_segments, ws.n_segments == 1 ? "" : "s",
		       (unsigned long long)ws.n_merged, now() - t0);
	return 0;
}
