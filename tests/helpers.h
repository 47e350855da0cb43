/*
** helpers.h -- shared helpers of the suites: temporary directories, small
** file utilities, a seeded PRNG, the sample corpus, building an index from
** an array of strings through the public API, forking and waiting for
** children, and running the nsearch binary (or a shell command) with its
** output and exit status captured.  Only nsearch.h is used, so that the
** suites that see the library as an embedder does (api, install,
** relevance) can use these too.
**
** Everything is `static inline` so that a suite that does not use a helper
** gets no unused-function warning.  Helpers that fail on a broken test
** environment (cannot create a file...) stop the test with cr_assert.
*/
#ifndef NS_TESTS_HELPERS_H
#define NS_TESTS_HELPERS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsearch.h"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* PRNG: splitmix64, deterministic for a given seed                         */
/* ------------------------------------------------------------------------ */

typedef struct th_rng {
	uint64_t s;
} th_rng;

static inline uint64_t th_next(th_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [0, n), n > 0 */
static inline uint32_t th_below(th_rng *r, uint32_t n)
{
	return (uint32_t)(th_next(r) % n);
}

/* uniform in [0, 1) */
static inline double th_unit(th_rng *r)
{
	return (double)(th_next(r) >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------------ */
/* Temporary directories and files                                          */
/* ------------------------------------------------------------------------ */

/* Creates /tmp/nsearch-<tag>-XXXXXX into buf (at least 64 bytes). */
static inline void th_mkdtemp(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "/tmp/nsearch-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp: %s", strerror(errno));
}

static inline int th_rm_one(const char *path, const struct stat *st,
                            int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP) {
		chmod(path, 0700);
		return rmdir(path);
	}
	return unlink(path);
}

/* Removes a directory tree (best effort; ignores a missing path). */
static inline void th_rmrf(const char *path)
{
	if (path && path[0]) nftw(path, th_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* th_rmrf of a tree where a test took away permissions (chmod 000 does
** not stop root, but the suites may run as another user). */
static inline void th_rmrf_chmod(const char *path)
{
	if (!path || !path[0]) return;
	char *cmd = malloc(strlen(path) + 64);
	cr_assert_not_null(cmd);
	sprintf(cmd, "chmod -R u+rwx '%s' 2>/dev/null", path);
	if (system(cmd) != 0) { /* best effort */
	}
	free(cmd);
	th_rmrf(path);
}

/* For suites whose tests each make their own directory: the one of the
** running test, recorded by th_mkdtemp_test() and removed by
** th_cleanup_test(), the suite's .fini, even when an assertion stopped the
** test.  (A function's static: a static array in a header would warn in the
** suites that do not use it.) */
static inline char *th_test_tmp(void)
{
	static char dir[PATH_MAX];
	return dir;
}

static inline void th_mkdtemp_test(char *buf, size_t size, const char *tag)
{
	th_mkdtemp(buf, size, tag);
	snprintf(th_test_tmp(), PATH_MAX, "%s", buf);
}

static inline void th_cleanup_test(void)
{
	th_rmrf(th_test_tmp());
	th_test_tmp()[0] = 0;
}

/* "a/b" in a caller-owned string. */
static inline char *th_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	cr_assert_not_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* Reads f to its end (a file, a pipe); *n (may be NULL) gets the length.
** The buffer has a terminating NUL after the data (not counted in *n). */
static inline char *th_read_stream(FILE *f, size_t *n)
{
	size_t cap = 4096, len = 0;
	char *p = malloc(cap + 1);
	cr_assert_not_null(p);
	size_t got;
	while ((got = fread(p + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			p = realloc(p, cap + 1);
			cr_assert_not_null(p);
		}
	}
	p[len] = 0;
	if (n) *n = len;
	return p;
}

/* Reads a whole file as th_read_stream does.  NULL if it cannot be
** opened. */
static inline char *th_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	char *p = th_read_stream(f, n);
	fclose(f);
	return p;
}

static inline void th_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	if (n) cr_assert_eq(fwrite(data, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

static inline void th_write_str(const char *path, const char *s)
{
	th_write_file(path, s, strlen(s));
}

/* Removes dir/name, which must exist. */
static inline void th_remove(const char *dir, const char *name)
{
	char *p = th_path(dir, name);
	cr_assert_eq(unlink(p), 0, "unlink %s: %s", p, strerror(errno));
	free(p);
}

static inline int th_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static inline uint64_t th_file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return (uint64_t)st.st_size;
}

static inline int th_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts items[0..n) and joins them, `after` following each, into one
** caller-owned string: lists compared as strings, so that an assertion
** prints both whole.  items may be NULL when n is 0. */
static inline char *th_join_sorted(const char **items, size_t n,
                                   const char *after)
{
	size_t total = 1, al = strlen(after);
	for (size_t i = 0; i < n; i++) total += strlen(items[i]) + al;
	if (n) qsort(items, n, sizeof *items, th_cmp_str);
	char *s = malloc(total), *p = s;
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) p += sprintf(p, "%s%s", items[i], after);
	*p = 0;
	return s;
}

/* Sorted names of the entries of dir (without "." and ".."), as one
** newline-separated caller-owned string, e.g. "lock\nmanifest\n". */
static inline char *th_list_dir(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		names = realloc(names, (n + 1) * sizeof *names);
		cr_assert_not_null(names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	char *s = th_join_sorted((const char **)names, n, "\n");
	for (size_t i = 0; i < n; i++) free(names[i]);
	free(names);
	return s;
}

/* Name (not path) of the first entry of dir ending in `suffix`, e.g.
** ".post" -> "seg_000001.post"; caller-owned, NULL if there is none. */
static inline char *th_find_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d) return NULL;
	char *found = NULL;
	struct dirent *e;
	size_t sl = strlen(suffix);
	while ((e = readdir(d)) && !found) {
		size_t l = strlen(e->d_name);
		if (l >= sl && !strcmp(e->d_name + l - sl, suffix))
			found = strdup(e->d_name);
	}
	closedir(d);
	return found;
}

/* Copies the regular files of src (not recursively) into dst, which is
** created. */
static inline void th_copy_flat_dir(const char *src, const char *dst)
{
	cr_assert(mkdir(dst, 0755) == 0 || errno == EEXIST, "mkdir %s", dst);
	DIR *d = opendir(src);
	cr_assert_not_null(d, "opendir %s: %s", src, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char *from = th_path(src, e->d_name);
		struct stat st;
		if (stat(from, &st) == 0 && S_ISREG(st.st_mode)) {
			size_t n;
			char *data = th_read_file(from, &n);
			cr_assert_not_null(data, "cannot read %s", from);
			char *to = th_path(dst, e->d_name);
			th_write_file(to, data, n);
			free(to);
			free(data);
		}
		free(from);
	}
	closedir(d);
}

/* The first of the directories cand[0..n) that holds the file `probe`
** (test data found from wherever the suite runs); NULL if none does. */
static inline const char *th_find_dir(const char *const *cand, size_t n,
                                      const char *probe)
{
	for (size_t i = 0; i < n; i++) {
		char *p = th_path(cand[i], probe);
		int ok = th_exists(p);
		free(p);
		if (ok) return cand[i];
	}
	return NULL;
}

/* The sample corpus (the 5 files of corpus/): $NSEARCH_CORPUS, else
** "corpus" in the current directory (make runs the tests from the top of the
** tree), else the source tree of this file.  NULL if none is found. */
static inline const char *th_corpus_dir(void)
{
	static const char *const cand[] = {"corpus", "../corpus",
	                                   "/work/main/corpus"};
	const char *env = getenv("NSEARCH_CORPUS");
	if (env && *env) return env;
	return th_find_dir(cand, sizeof cand / sizeof *cand,
	                   "000_7b0ca459c2ec3e80.txt");
}

/* The texts of the sample corpus's files, in the order of their names,
** into texts[] (caller frees each): at most `max` files are looked at.
** Returns how many were read; 0 without a corpus. */
static inline size_t th_corpus_texts(char **texts, size_t max)
{
	const char *corpus = th_corpus_dir();
	DIR *d = corpus ? opendir(corpus) : NULL;
	if (!d) return 0;
	char **names = calloc(max ? max : 1, sizeof *names);
	cr_assert_not_null(names);
	size_t nn = 0, n = 0;
	struct dirent *e;
	while (nn < max && (e = readdir(d)))
		if (e->d_name[0] != '.') names[nn++] = strdup(e->d_name);
	closedir(d);
	qsort(names, nn, sizeof *names, th_cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char *p = th_path(corpus, names[i]);
		char *t = th_read_file(p, NULL);
		if (t) texts[n++] = t;
		free(p);
		free(names[i]);
	}
	free(names);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Building an index through the public API                                 */
/* ------------------------------------------------------------------------ */

/* Builds a new generation in dir from texts[0..n-1]: document i gets the id
** "d<i>", the title "title <i>" and the path "path/<i>.txt".  lang may be
** NULL ("english").  Asserts that every call succeeds. */
static inline void th_build_index(const char *dir, const char *const *texts,
                                  size_t n, const char *lang)
{
	ns_writer_options o = {.lang = lang};
	ns_writer *w = NULL;
	char *err = NULL;
	int rc = ns_writer_open(dir, &o, &w, &err);
	cr_assert_eq(rc, NS_OK, "ns_writer_open: %s", err ? err : "?");
	for (size_t i = 0; i < n; i++) {
		char id[32], title[32], path[48];
		snprintf(id, sizeof id, "d%zu", i);
		snprintf(title, sizeof title, "title %zu", i);
		snprintf(path, sizeof path, "path/%zu.txt", i);
		ns_doc d = {.id = id, .title = title, .path = path, .text = texts[i],
		            .text_len = strlen(texts[i]), .size = strlen(texts[i]),
		            .mtime = 1700000000 + (int64_t)i};
		rc = ns_writer_add(w, &d);
		cr_assert_eq(rc, NS_OK, "ns_writer_add(%zu): %s", i,
		             ns_writer_errmsg(w));
	}
	rc = ns_writer_commit(w);
	cr_assert_eq(rc, NS_OK, "ns_writer_commit: %s", ns_writer_errmsg(w));
	ns_writer_close(w);
}

/* An ns_index_check() report callback that logs each line, so that a
** failed check shows what it found. */
static inline void th_log_check_line(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("check: %s", line);
}

/* Opens the index in dir, asserting success. */
static inline ns_index *th_open_index(const char *dir)
{
	ns_index *ix = NULL;
	char *err = NULL;
	int rc = ns_index_open(dir, &ix, &err);
	cr_assert_eq(rc, NS_OK, "ns_index_open(%s): %d %s", dir, rc,
	             err ? err : "?");
	cr_assert_not_null(ix);
	ns_free(err);
	return ix;
}

/* ------------------------------------------------------------------------ */
/* Running the CLI                                                          */
/* ------------------------------------------------------------------------ */

typedef struct th_proc {
	int status;  /* exit code, or 128 + signal number */
	char *out;   /* captured stdout (NUL-terminated, caller frees) */
	char *err;   /* captured stderr */
	size_t out_len, err_len;
} th_proc;

static inline void th_proc_free(th_proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof *p);
}

/* Forks, with stdio flushed first so that the child does not write the
** parent's buffered output again. */
static inline pid_t th_fork(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	return pid;
}

/* Waits for child pid: its exit code, or 128 + the signal that killed it
** (as a shell reports it). */
static inline int th_wait(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The nsearch binary of this build, made absolute (the suites run it from
** other directories), into buf: $NSEARCH_BIN, which `make test` sets, or ""
** when it is unset or does not resolve.  buf has PATH_MAX bytes. */
static inline void th_bin_path(char *buf)
{
	buf[0] = 0;
	const char *bin = getenv("NSEARCH_BIN");
	if (bin && *bin && realpath(bin, buf) == NULL) buf[0] = 0;
}

/* Criterion 2.4.1 runs .fini after a failed assertion but not after
** cr_skip_test(): a skipping test runs the suite's fini first. */
#define TH_SKIP(fini, ...)                                                 \
	do {                                                                   \
		fini();                                                            \
		cr_skip_test(__VA_ARGS__);                                         \
	} while (0)

/* Appends the arguments first, ... (NULL-terminated) of ap to argv[n..],
** then a NULL; argv has room for `max` pointers. */
static inline void th_argv_va(const char **argv, size_t n, size_t max,
                              const char *first, va_list ap)
{
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, max - 1);
		argv[n++] = a;
	}
	argv[n] = NULL;
}

/* Runs argv (argv[0] is the program path) in directory cwd (NULL: the
** current one) with the current environment minus NSEARCH_INDEX and
** NO_COLOR, plus the "NAME=value" strings of env (NULL-terminated, may be
** NULL).  stdin is stdin_text (NULL: /dev/null).  Captures stdout and
** stderr through temporary files, so large outputs cannot block. */
static inline th_proc th_run(const char *const *argv, const char *cwd,
                             const char *const *env, const char *stdin_text)
{
	th_proc r;
	memset(&r, 0, sizeof r);
	FILE *fo = tmpfile(), *fe = tmpfile(), *fi = tmpfile();
	cr_assert(fo && fe && fi, "tmpfile: %s", strerror(errno));
	if (stdin_text) {
		fputs(stdin_text, fi);
		fflush(fi);
		rewind(fi);
	}
	/* the child's environment */
	size_t n = 0, k = 0;
	while (environ[n]) n++;
	size_t ne = 0;
	while (env && env[ne]) ne++;
	char **envp = calloc(n + ne + 1, sizeof *envp);
	cr_assert_not_null(envp);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "NSEARCH_INDEX=", 14) &&
		    strncmp(environ[i], "NO_COLOR=", 9))
			envp[k++] = environ[i];
	for (size_t i = 0; i < ne; i++) envp[k++] = (char *)(uintptr_t)env[i];
	envp[k] = NULL;
	pid_t pid = th_fork();
	if (pid == 0) {
		int in = stdin_text ? fileno(fi) : open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(fileno(fo), 1) < 0 ||
		    dup2(fileno(fe), 2) < 0)
			_exit(126);
		if (cwd && chdir(cwd) != 0) _exit(126);
		execve(argv[0], (char *const *)(uintptr_t)argv, envp);
		_exit(127);
	}
	free(envp);
	r.status = th_wait(pid);
	/* the child wrote through its own descriptors: nothing is buffered */
	rewind(fo);
	rewind(fe);
	r.out = th_read_stream(fo, &r.out_len);
	r.err = th_read_stream(fe, &r.err_len);
	fclose(fo);
	fclose(fe);
	fclose(fi);
	return r;
}

/* Runs a shell command with popen(); returns its stdout (caller frees)
** and sets *status to its exit code (-1 if it did not exit normally). */
static inline char *th_popen(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s: %s", cmd, strerror(errno));
	char *out = th_read_stream(p, NULL);
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

/* Number of '\n' in s. */
static inline size_t th_count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++) n += *s == '\n';
	return n;
}

#endif
