/*
** replay.c -- runs a fuzz target without libFuzzer: main() calls
** LLVMFuzzerTestOneInput once on every file named on the command line and
** on every regular file of every directory named (not recursively, in
** name order, hidden files skipped).  Each input is copied into a buffer
** of exactly its size, so that AddressSanitizer builds catch reads past
** the end as libFuzzer would.  `make test` runs it on tests/fuzz/corpus/.
**
** Exit status: 0 when every input ran (a failing check aborts), 2 when a
** path cannot be read.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0, got;
	uint8_t *buf = malloc(cap);
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			uint8_t *p = realloc(buf, 2 * cap);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		return -1;
	}
	/* exactly len bytes (malloc(0) may return NULL: use 1 then) */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of inputs run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char **v = realloc(names, (n + 1) * sizeof *names);
		if (!v) break;
		names = v;
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n]) break;
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n > 1) qsort(names, n, sizeof *names, cmp_str);
	long count = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) != 0) count = -1;
			else if (count >= 0) count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	long total = 0;
	int status = 0;
	clock_t t0 = clock();
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			status = 2;
			continue;
		}
		n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) ? -1 : 1);
		if (n < 0) status = 2;
		else total += n;
	}
	printf("replay %s: %ld input%s, %.2f s CPU\n", argc > 1 ? argv[1] : "",
	       total, total == 1 ? "" : "s",
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	return status;
}
