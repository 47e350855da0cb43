/*
** embed.c -- embedding libnsearch: index a few strings, search them, print
** the hits with snippets.  Uses only the public header.
**
**     cc -o embed embed.c $(pkg-config --cflags --libs nsearch)
**     ./embed                     # searches for "storm shadow"
**     ./embed 'cruise AND missile'
**
** The index is built in a fresh temporary directory that is removed at the
** end.  Every return code is checked and everything is freed.
** Exit status: 0 success (zero hits included), 1 error.
*/
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nsearch.h>

static const struct {
	const char *id, *title, *text;
} docs[] = {
    {"missile", "Storm Shadow",
     "Storm Shadow is an air-launched cruise missile with a range of about "
     "250 km. Britain and France built it; Ukraine received it in 2023."},
    {"weather", "Storms",
     "A storm is a disturbed state of the atmosphere: strong wind, thunder "
     "and lightning, heavy rain or snow."},
    {"shadows", "Shadow",
     "A shadow is a dark area where light from a source is blocked by an "
     "object. Shadows are longest at sunrise and sunset."},
    {"rivers", "The Danube",
     "The Danube flows through ten countries from the Black Forest to the "
     "Black Sea."},
};

/* Removes the index directory: its files, then itself. */
static int remove_index(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	struct dirent *e;
	char path[4096];
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof path || unlink(path) != 0) rc = -1;
	}
	closedir(d);
	return rmdir(dir) == 0 ? rc : -1;
}

/* Builds the index in dir.  @return NS_OK or the failing status. */
static int build(const char *dir)
{
	ns_writer *w;
	char *err;
	int rc = ns_writer_open(dir, NULL, &w, &err); /* NULL: English */
	if (rc != NS_OK) {
		fprintf(stderr, "embed: cannot open a writer: %s\n", err);
		ns_free(err);
		return rc;
	}
	for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
		ns_doc d = {.id = docs[i].id,
		            .title = docs[i].title,
		            .text = docs[i].text,
		            .text_len = strlen(docs[i].text)};
		if ((rc = ns_writer_add(w, &d)) != NS_OK) {
			fprintf(stderr, "embed: cannot add '%s': %s\n", d.id,
			        ns_writer_errmsg(w));
			ns_writer_close(w); /* abandons the build */
			return rc;
		}
	}
	if ((rc = ns_writer_commit(w)) != NS_OK) {
		fprintf(stderr, "embed: commit failed: %s\n", ns_writer_errmsg(w));
		ns_writer_close(w);
		return rc;
	}
	ns_writer_stats st;
	ns_writer_get_stats(w, &st);
	printf("indexed %llu documents, %llu terms\n",
	       (unsigned long long)st.n_docs, (unsigned long long)st.n_terms);
	ns_writer_close(w);
	return NS_OK;
}

/* Searches dir for query and prints the hits.  @return NS_OK or a status. */
static int search(const char *dir, const char *query)
{
	ns_index *ix;
	ns_results *r;
	char *err;
	int rc = ns_index_open(dir, &ix, &err);
	if (rc != NS_OK) {
		fprintf(stderr, "embed: cannot open the index: %s\n", err);
		ns_free(err);
		return rc;
	}
	ns_search_options opt;
	ns_search_options_init(&opt); /* k = 10, k1 = 0.9, b = 0.4 */
	opt.k = 3;
	if ((rc = ns_search(ix, query, &opt, &r, &err)) != NS_OK) {
		fprintf(stderr, "embed: query '%s': %s\n", query, err);
		ns_free(err);
		ns_index_close(ix);
		return rc;
	}
	printf("query: %s\n", query);
	for (size_t i = 0; i < ns_results_count(r) && rc == NS_OK; i++) {
		char *snip;
		rc = ns_snippet(r, i, "[", "]", 12, &snip);
		if (rc != NS_OK) {
			fprintf(stderr, "embed: snippet: %s\n", ns_strerror(rc));
			break;
		}
		/* id and title belong to r: valid until ns_results_free(r) */
		printf("%zu. %s  %.4f  %s\n   %s\n", i + 1, ns_results_id(r, i),
		       ns_results_score(r, i), ns_results_title(r, i), snip);
		ns_free(snip);
	}
	if (rc == NS_OK)
		printf("%llu matching documents\n",
		       (unsigned long long)ns_results_total(r));
	ns_results_free(r); /* results first, then their index */
	ns_index_close(ix);
	return rc;
}

int main(int argc, char **argv)
{
	const char *query = argc > 1 ? argv[1] : "storm shadow";
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/nsearch-embed-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("embed: mkdtemp");
		return 1;
	}
	printf("libnsearch %s (built with %s)\n", ns_version(),
	       NSEARCH_VERSION_STRING);
	int rc = build(dir);
	if (rc == NS_OK) rc = search(dir, query);
	if (remove_index(dir) != 0) {
		fprintf(stderr, "embed: cannot remove %s\n", dir);
		if (rc == NS_OK) rc = NS_EIO;
	}
	return rc == NS_OK ? 0 : 1;
}
