/*
** cmd_misc.c -- `nsearch stats`, `nsearch check` and `nsearch langs`.
*/
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_stats(int argc, char **argv)
{
	int rc = cli_simple_opts("stats", argc, argv, NULL, 0);
	if (rc >= 0) return rc;
	ns_index *ix;
	char *err = NULL;
	if ((rc = ns_index_open(cli_index_dir, &ix, &err))) {
		cli_err("%s", err ? err : ns_strerror(rc));
		free(err);
		return EXIT_RUNTIME;
	}
	ns_index_stats s;
	ns_index_get_stats(ix, &s);
	ns_index_close(ix);
	double np = s.n_postings ? (double)s.n_postings : 1;
	printf("index:            %s (generation %llu, %u segment%s)\n",
	       cli_index_dir, (unsigned long long)s.generation, s.n_segments,
	       s.n_segments == 1 ? "" : "s");
	printf("language:         %s\n", s.lang);
	printf("documents:        %llu\n", (unsigned long long)s.n_docs);
	if (s.n_deleted)
		printf("deleted:          %llu (still in segments until merged; "
		       "'nsearch optimize' drops them)\n",
		       (unsigned long long)s.n_deleted);
	printf("terms:            %llu\n", (unsigned long long)s.n_terms);
	printf("postings:         %llu\n", (unsigned long long)s.n_postings);
	printf("positions:        %llu\n", (unsigned long long)s.n_positions);
	printf("avg doc length:   %.1f tokens\n", s.avgdl);
	printf("dictionary:       %12llu bytes\n", (unsigned long long)s.bytes_dict);
	printf("postings:         %12llu bytes  %.2f bits/posting\n",
	       (unsigned long long)s.bytes_postings, s.bytes_postings * 8.0 / np);
	printf("positions:        %12llu bytes  %.2f bits/position\n",
	       (unsigned long long)s.bytes_positions,
	       s.n_positions ? s.bytes_positions * 8.0 / (double)s.n_positions : 0.0);
	printf("document table:   %12llu bytes\n", (unsigned long long)s.bytes_docs);
	printf("document store:   %12llu bytes\n", (unsigned long long)s.bytes_store);
	if (s.bytes_deletions)
		printf("deletions:        %12llu bytes\n",
		       (unsigned long long)s.bytes_deletions);
	printf("total:            %12llu bytes  %.2f bits/posting (%.2f without "
	       "store)\n",
	       (unsigned long long)s.bytes_total, s.bytes_total * 8.0 / np,
	       (s.bytes_total - s.bytes_store) * 8.0 / np);
	return 0;
}

static void report(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

int cmd_check(int argc, char **argv)
{
	int rc = cli_simple_opts("check", argc, argv, NULL, 0);
	if (rc >= 0) return rc;
	rc = ns_index_check(cli_index_dir, report, NULL);
	/* the report went to stdout, the verdict goes to stderr: flush, so
	** that the verdict comes after the report when both are one stream */
	fflush(stdout);
	if (rc == NS_OK) {
		printf("ok: %s\n", cli_index_dir);
		return 0;
	}
	if (rc == NS_EVERSION) {
		cli_err("index '%s' was written by another version of nsearch; "
		        "rebuild it with 'nsearch index'", cli_index_dir);
		return EXIT_RUNTIME;
	}
	if (rc == NS_ECORRUPT) {
		cli_err("index '%s' is damaged; rebuild it with 'nsearch index'",
		        cli_index_dir);
		return EXIT_RUNTIME;
	}
	cli_err("cannot check '%s': %s", cli_index_dir, ns_strerror(rc));
	return EXIT_RUNTIME;
}

int cmd_langs(int argc, char **argv)
{
	int rc = cli_simple_opts("langs", argc, argv, NULL, 0);
	if (rc >= 0) return rc;
	for (const char *const *l = ns_languages(); *l; l++) printf("%s\n", *l);
	return 0;
}
