/*
** cmd_index.c -- `nsearch index DIR...`: walk, analyse, commit.
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
} ictx;

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

int cmd_index(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"lang", required_argument, NULL, 'l'},
	    {"index", required_argument, NULL, 'i'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"progress", no_argument, NULL, 'p'},
	    {"memory", required_argument, NULL, 'm'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *lang = "english";
	int quiet = 0, force_progress = 0, o, jobs = 0;
	size_t memory = 0;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "qhj:", opts, NULL)) != -1) {
		switch (o) {
		case 'l': lang = optarg; break;
		case 'i': cli_index_dir = optarg; break;
		case 'q': quiet = 1; break;
		case 'p': force_progress = 1; break;
		case 'j': {
			size_t n;
			if (cli_parse_size(optarg, &n) || n < 1 || n > 64)
				return cli_usage("index ", "-j needs a number from 1 to 64");
			jobs = (int)n;
			break;
		}
		case 'm':
			if (cli_parse_bytes(optarg, &memory) || memory < (1u << 20))
				return cli_usage("index ", "--memory needs a size of at least "
				                 "1M, e.g. 256M or 2G");
			break;
		case 'h': cli_help("index", stdout); return 0;
		default:
			return cli_usage("index ", "unknown or incomplete option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("index ", "index needs a directory or file to index");
	ns_writer_options wo = {.lang = lang, .memory = memory, .threads = jobs};
	ictx c;
	memset(&c, 0, sizeof c);
	c.progress = !quiet && (force_progress || isatty(2));
	char *err = NULL;
	int rc = ns_writer_open(cli_index_dir, &wo, &c.w, &err);
	if (rc) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		return rc == NS_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
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
	                        .on_progress = on_progress, .ctx = &c};
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
	if (!quiet)
		printf("indexed %llu documents, %llu terms, %llu postings, "
		       "%.1f MB input, %.1f MB index in %.2f s (%.1f MB/s)\n",
		       (unsigned long long)ws.n_docs, (unsigned long long)ws.n_terms,
		       (unsigned long long)ws.n_postings, (double)ws.input_bytes / 1e6,
		       (double)ws.index_bytes / 1e6, el,
		       el > 0 ? (double)ws.input_bytes / 1e6 / el : 0.0);
	return failed_roots ? EXIT_RUNTIME : 0;
}
