/*
** test_install.c -- nsearch as a package: the shared library's ABI, `make
** install` / `make uninstall`, pkg-config, and the bash completion.
**
** Suites:
**   abi         build/libnsearch.so exports exactly the functions declared
**               in include/nsearch.h, carries the soname libnsearch.so.0,
**               and the header compiles alone as C and C++;
**   install     `make install` into a temporary PREFIX (and a DESTDIR),
**               examples/embed.c compiled against the installed library
**               with pkg-config (shared, then static) and run, then `make
**               uninstall` leaves no file behind.  Skipped under `make asan`
**               (NS_ASAN=1), which would install instrumented binaries;
**   completion  tools/nsearch-completion.bash, sourced in bash.
**
** The repository and the build come from NSEARCH_ROOT and NSEARCH_BUILD,
** which `make test` sets (else the directory above this file, and build).
*/
#include <sys/file.h>

#include "helpers.h"

#define SONAME "libnsearch.so.0"
#define SOREAL "libnsearch.so." NSEARCH_VERSION_STRING

/* ---- helpers ------------------------------------------------------------ */

/* printf into a malloc'ed string. */
__attribute__((format(printf, 1, 2))) static char *ti_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	cr_assert_geq(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	return s;
}

static char root[PATH_MAX], build[PATH_MAX];

/* Fills root (the repository) and build (this build's directory). */
static void ti_paths(void)
{
	const char *r = getenv("NSEARCH_ROOT"), *b = getenv("NSEARCH_BUILD");
	if (r && *r) {
		snprintf(root, sizeof root, "%s", r);
	} else {
		/* __FILE__ is tests/test_install.c, relative to the root or absolute */
		char *here = strdup(__FILE__), *slash = strrchr(here, '/');
		cr_assert_not_null(here);
		if (slash) *slash = 0;
		char *up = slash ? ti_fmt("%s/..", here) : strdup("..");
		cr_assert_not_null(realpath(up, root),
		                   "cannot find the repository: set NSEARCH_ROOT");
		free(here);
		free(up);
	}
	int n = snprintf(build, sizeof build, "%s/%s", root, b && *b ? b : "build");
	cr_assert(n > 0 && (size_t)n < sizeof build, "path too long");
}

/* Each test makes its own directory; the suites' fini removes it. */
TestSuite(install, .fini = th_cleanup_test);
TestSuite(completion, .fini = th_cleanup_test);

/* Runs `sh -c cmd` with stderr joined to stdout; returns the output (caller
** frees) and sets *status to the exit status (-1: killed). */
static char *ti_sh(const char *cmd, int *status)
{
	size_t n = strlen(cmd) + 32;
	char *full = malloc(n);
	cr_assert_not_null(full);
	snprintf(full, n, "{ %s\n} 2>&1", cmd);
	char *out = th_popen(full, status);
	free(full);
	return out;
}

/* Runs cmd and fails the test unless it exits 0; returns its output. */
static char *ti_ok(const char *cmd)
{
	int st;
	char *out = ti_sh(cmd, &st);
	cr_assert_eq(st, 0, "command failed (%d): %s\n%s", st, cmd, out);
	return out;
}

static int ti_is_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *ti_read(const char *path)
{
	char *s = th_read_file(path, NULL);
	cr_assert_not_null(s, "%s: %s", path, strerror(errno));
	return s;
}

/* ---- the exported symbols ---------------------------------------------- */

#define MAX_SYMS 256

typedef struct symset {
	char *name[MAX_SYMS];
	size_t n;
} symset;

static int symset_has(const symset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name)) return 1;
	return 0;
}

static void symset_add(symset *s, const char *name, size_t len)
{
	cr_assert_lt(s->n, MAX_SYMS);
	s->name[s->n] = strndup(name, len);
	cr_assert_not_null(s->name[s->n]);
	s->n++;
}

static void symset_free(symset *s)
{
	for (size_t i = 0; i < s->n; i++) free(s->name[i]);
	s->n = 0;
}

static int is_ident(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* The functions declared in the header: for each NS_API outside the
** #define lines, the identifier just before the next '('. */
static void header_functions(symset *out)
{
	char *path = ti_fmt("%s/include/nsearch.h", root);
	char *h = ti_read(path);
	free(path);
	for (char *p = strstr(h, "NS_API"); p; p = strstr(p + 6, "NS_API")) {
		char *bol = p;
		while (bol > h && bol[-1] != '\n') bol--;
		if (*bol == '#' || strncmp(bol, "NS_API", 6)) continue; /* #define, comments */
		char *paren = strchr(p, '(');
		cr_assert_not_null(paren);
		char *e = paren;
		while (e > p && e[-1] == ' ') e--;
		char *b = e;
		while (b > p && is_ident(b[-1])) b--;
		cr_assert_gt(e, b, "no name before '(' after NS_API");
		symset_add(out, b, (size_t)(e - b));
	}
	free(h);
	cr_assert_geq(out->n, 20, "only %zu NS_API functions found in the header",
	              out->n);
}

/* The defined dynamic symbols of lib, without their version suffix.  Every
** one must carry the default version NSEARCH_*; version definitions (type
** A) are not symbols of the library and are skipped. */
static void library_exports(const char *lib, symset *out)
{
	char *cmd = ti_fmt("nm -D --defined-only '%s'", lib);
	char *text = ti_ok(cmd);
	free(cmd);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char addr[64], type[8], name[512];
		cr_assert_eq(sscanf(line, "%63s %7s %511s", addr, type, name), 3,
		             "nm line: %s", line);
		if (!strcmp(type, "A") && !strncmp(name, "NSEARCH_", 8)) continue;
		char *at = strchr(name, '@');
		cr_assert_not_null(at, "%s has no symbol version", name);
		cr_assert(!strncmp(at, "@@NSEARCH_", 10), "%s: not the default "
		          "NSEARCH_ version", name);
		symset_add(out, name, (size_t)(at - name));
	}
	free(text);
}

static void check_exports(const char *lib)
{
	symset want = {0}, have = {0};
	header_functions(&want);
	library_exports(lib, &have);
	for (size_t i = 0; i < have.n; i++)
		cr_expect(symset_has(&want, have.name[i]),
		          "%s exports %s, which nsearch.h does not declare", lib,
		          have.name[i]);
	for (size_t i = 0; i < want.n; i++)
		cr_expect(symset_has(&have, want.name[i]),
		          "%s does not export %s (add it to src/libnsearch.map)", lib,
		          want.name[i]);
	cr_assert_eq(have.n, want.n, "%s: %zu exports, header: %zu", lib, have.n,
	             want.n);
	symset_free(&want);
	symset_free(&have);
}

static void check_soname(const char *lib)
{
	char *cmd = ti_fmt("readelf -d '%s'", lib);
	char *out = ti_ok(cmd);
	cr_assert_not_null(strstr(out, "Library soname: [" SONAME "]"), "%s", out);
	free(cmd);
	free(out);
}

/* lib/libnsearch.so -> libnsearch.so.0 -> libnsearch.so.X.Y.Z in dir */
static void check_links(const char *dir)
{
	char target[PATH_MAX], *link;
	ssize_t n;
	link = ti_fmt("%s/libnsearch.so", dir);
	n = readlink(link, target, sizeof target - 1);
	cr_assert_gt(n, 0, "%s is not a symbolic link", link);
	target[n] = 0;
	cr_assert_str_eq(target, SONAME);
	free(link);
	link = ti_fmt("%s/" SONAME, dir);
	n = readlink(link, target, sizeof target - 1);
	cr_assert_gt(n, 0, "%s is not a symbolic link", link);
	target[n] = 0;
	cr_assert_str_eq(target, SOREAL);
	free(link);
	link = ti_fmt("%s/" SOREAL, dir);
	cr_assert(ti_is_file(link), "%s missing", link);
	free(link);
}

Test(abi, shared_library_exports_exactly_the_header)
{
	ti_paths();
	char *lib = ti_fmt("%s/libnsearch.so", build);
	check_exports(lib);
	free(lib);
}

Test(abi, shared_library_has_the_soname_and_links)
{
	ti_paths();
	char *lib = ti_fmt("%s/" SOREAL, build);
	check_soname(lib);
	check_links(build);
	free(lib);
}

Test(abi, header_compiles_alone_as_c_and_cxx)
{
	ti_paths();
	char *cmd = ti_fmt(
	    "cd /tmp && for std in c99 c11; do "
	    "echo '#include <nsearch.h>' | cc -std=$std -pedantic -Wall -Wextra "
	    "-Werror -fsyntax-only -I'%s/include' -x c - || exit 1; done && "
	    "{ ! command -v c++ >/dev/null || echo '#include <nsearch.h>' | "
	    "c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only "
	    "-I'%s/include' -x c++ -; }",
	    root, root);
	free(ti_ok(cmd));
	free(cmd);
}

/* ---- make install / uninstall ------------------------------------------- */

/* `make -C root BUILD=... ARGS`, one at a time: Criterion runs tests in
** parallel, and a make that finds something stale rebuilds it. */
static char *ti_make(const char *args)
{
	char *lockpath = ti_fmt("%s/.install-test.lock", build);
	int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", lockpath, strerror(errno));
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	/* the outer make's MAKEFLAGS (jobserver, overrides) are not ours */
	char *cmd = ti_fmt("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "
	                   "'%s' BUILD='%s' %s",
	                   root, getenv("NSEARCH_BUILD") ? getenv("NSEARCH_BUILD")
	                                                 : "build",
	                   args);
	char *out = ti_ok(cmd);
	free(cmd);
	close(fd);
	free(lockpath);
	return out;
}

static void skip_under_asan(void)
{
	const char *asan = getenv("NS_ASAN");
	if (asan && *asan && strcmp(asan, "0")) {
		/* Criterion's summary does not show why: say it here */
		fprintf(stderr, "[SKIP] %s: NS_ASAN is set: `make install` is "
		        "tested in the plain build only\n", criterion_current_test->name);
		cr_skip_test("NS_ASAN is set: `make install` is tested in the plain "
		             "build only (it would install instrumented binaries)");
	}
}

static const char *const installed[] = {
    "bin/nsearch",
    "lib/" SOREAL,
    "lib/" SONAME,
    "lib/libnsearch.so",
    "lib/libnsearch.a",
    "include/nsearch.h",
    "lib/pkgconfig/nsearch.pc",
    "share/man/man1/nsearch.1",
    "share/bash-completion/completions/nsearch",
};
#define N_INSTALLED (sizeof installed / sizeof *installed)

static int count_files(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw);
static size_t n_files_found;
static char files_found[4096];

static int count_files(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_D && flag != FTW_DP) {
		n_files_found++;
		size_t l = strlen(files_found);
		snprintf(files_found + l, sizeof files_found - l, "%s\n", path);
	}
	return 0;
}

/* Number of entries other than directories under dir (names in files_found). */
static size_t ti_count_files(const char *dir)
{
	n_files_found = 0;
	files_found[0] = 0;
	nftw(dir, count_files, 16, FTW_PHYS);
	return n_files_found;
}

Test(install, prefix_pkg_config_embed_and_uninstall, .timeout = 600)
{
	skip_under_asan();
	ti_paths();
	char tmp[64];
	th_mkdtemp_test(tmp, sizeof tmp, "install-prefix");
	char *prefix = ti_fmt("%s/usr", tmp);
	char *args = ti_fmt("install PREFIX='%s'", prefix);
	free(ti_make(args));
	free(args);

	/* every file, and nothing else */
	for (size_t i = 0; i < N_INSTALLED; i++) {
		char *p = ti_fmt("%s/%s", prefix, installed[i]);
		struct stat st;
		cr_assert_eq(lstat(p, &st), 0, "%s not installed", installed[i]);
		free(p);
	}
	cr_assert_eq(ti_count_files(prefix), N_INSTALLED, "installed:\n%s",
	             files_found);
	char *libdir = ti_fmt("%s/lib", prefix);
	check_links(libdir);
	char *lib = ti_fmt("%s/" SOREAL, libdir);
	check_soname(lib);
	check_exports(lib);
	free(lib);

	/* the tool, the man page, the completion */
	char *cmd = ti_fmt("'%s/bin/nsearch' --version", prefix);
	char *out = ti_ok(cmd);
	cr_assert_str_eq(out, "nsearch " NSEARCH_VERSION_STRING "\n");
	free(out);
	free(cmd);
	char *a = ti_fmt("%s/docs/nsearch.1", root);
	char *b = ti_fmt("%s/share/man/man1/nsearch.1", prefix);
	char *x = ti_read(a), *y = ti_read(b);
	cr_assert_str_eq(x, y, "the man page differs from docs/nsearch.1");
	free(a), free(b), free(x), free(y);
	cmd = ti_fmt("bash -c '. \"%s/share/bash-completion/completions/nsearch\" "
	             "&& complete -p nsearch'",
	             prefix);
	out = ti_ok(cmd);
	cr_assert_str_eq(out, "complete -F _nsearch nsearch\n");
	free(out);
	free(cmd);

	/* nsearch.pc names this prefix */
	char *pc = ti_fmt("%s/lib/pkgconfig/nsearch.pc", prefix);
	char *pctext = ti_read(pc);
	char *want = ti_fmt("prefix=%s\n", prefix);
	cr_assert(!strncmp(pctext, want, strlen(want)), "%s", pctext);
	cr_assert_not_null(strstr(pctext, "Version: " NSEARCH_VERSION_STRING "\n"));
	free(want), free(pctext), free(pc);
	char *env = ti_fmt("PKG_CONFIG_PATH='%s/lib/pkgconfig'", prefix);
	cmd = ti_fmt("%s pkg-config --libs nsearch", env);
	out = ti_ok(cmd);
	want = ti_fmt("-L%s/lib -lnsearch \n", prefix);
	cr_assert_str_eq(out, want);
	free(want), free(out), free(cmd);
	cmd = ti_fmt("%s pkg-config --static --libs nsearch", env);
	out = ti_ok(cmd);
	cr_assert_not_null(strstr(out, "-lstemmer"), "%s", out);
	cr_assert_not_null(strstr(out, "-lz"), "%s", out);
	cr_assert_not_null(strstr(out, "-ldeflate"), "%s", out);
	cr_assert_not_null(strstr(out, "-lutf8proc"), "%s", out);
	free(out), free(cmd);
	cmd = ti_fmt("%s pkg-config --cflags nsearch", env);
	out = ti_ok(cmd);
	want = ti_fmt("-I%s/include", prefix);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(want), free(out), free(cmd);

	/* examples/embed.c against the installed shared library */
	cmd = ti_fmt("cd '%s' && export %s && "
	             "cc -std=c11 -Wall -Wextra -Werror -o embed '%s/examples/embed.c' "
	             "$(pkg-config --cflags --libs nsearch) && "
	             "readelf -d embed | grep -F 'Shared library: [" SONAME "]' && "
	             "LD_LIBRARY_PATH='%s/lib' ./embed",
	             tmp, env, root, prefix);
	out = ti_ok(cmd);
	cr_assert_not_null(strstr(out, "libnsearch " NSEARCH_VERSION_STRING), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "1. missile "), "%s", out);
	cr_assert_not_null(strstr(out, "[Storm] [Shadow]"), "%s", out);
	free(out), free(cmd);
	/* ... and against the installed static library */
	cmd = ti_fmt("cd '%s' && export %s && "
	             "cc -std=c11 -Wall -Wextra -Werror -o embed-static "
	             "'%s/examples/embed.c' $(pkg-config --cflags nsearch) "
	             "'%s/lib/libnsearch.a' "
	             "$(pkg-config --static --libs nsearch | sed 's/-lnsearch//') && "
	             "! readelf -d embed-static | grep -F libnsearch && "
	             "./embed-static 'cruise AND missile'",
	             tmp, env, root, prefix);
	out = ti_ok(cmd);
	cr_assert_not_null(strstr(out, "1. missile "), "%s", out);
	cr_assert_not_null(strstr(out, "1 matching documents"), "%s", out);
	free(out), free(cmd), free(env);

	/* uninstall removes every file; the directories may stay */
	args = ti_fmt("uninstall PREFIX='%s'", prefix);
	free(ti_make(args));
	free(args);
	cr_assert_eq(ti_count_files(prefix), 0, "left behind:\n%s", files_found);
	free(libdir);
	free(prefix);
	th_rmrf(tmp);
}

Test(install, destdir_stages_under_the_prefix, .timeout = 600)
{
	skip_under_asan();
	ti_paths();
	char tmp[64];
	th_mkdtemp_test(tmp, sizeof tmp, "install-destdir");
	char *args = ti_fmt("install DESTDIR='%s/stage' PREFIX=/opt/nsearch", tmp);
	free(ti_make(args));
	free(args);
	char *stage = ti_fmt("%s/stage", tmp);
	for (size_t i = 0; i < N_INSTALLED; i++) {
		char *p = ti_fmt("%s/opt/nsearch/%s", stage, installed[i]);
		struct stat st;
		cr_assert_eq(lstat(p, &st), 0, "%s not staged", p);
		free(p);
	}
	cr_assert_eq(ti_count_files(stage), N_INSTALLED, "staged:\n%s", files_found);
	/* the .pc names the final prefix, not the staging directory */
	char *pc = ti_fmt("%s/opt/nsearch/lib/pkgconfig/nsearch.pc", stage);
	char *text = ti_read(pc);
	cr_assert(!strncmp(text, "prefix=/opt/nsearch\n", 20), "%s", text);
	cr_assert_null(strstr(text, tmp), "%s", text);
	free(text);
	free(pc);
	args = ti_fmt("uninstall DESTDIR='%s/stage' PREFIX=/opt/nsearch", tmp);
	free(ti_make(args));
	free(args);
	cr_assert_eq(ti_count_files(stage), 0, "left behind:\n%s", files_found);
	free(stage);
	th_rmrf(tmp);
}

/* ---- bash completion ----------------------------------------------------- */

/* Completes the words of `line` (the last one, possibly '', is completed)
** in directory dir; returns COMPREPLY, one word a line (caller frees). */
static char *complete_line(const char *dir, const char *line)
{
	char *cmd = ti_fmt(
	    "cd '%s' && bash -c '. \"$0\" && COMP_WORDS=(%s) && "
	    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _nsearch && "
	    "printf \"%%s\\n\" \"${COMPREPLY[@]}\"' "
	    "'%s/tools/nsearch-completion.bash'",
	    dir, line, root);
	char *out = ti_ok(cmd);
	free(cmd);
	return out;
}

Test(completion, registers_and_completes_commands_options_and_values)
{
	ti_paths();
	char *cmd = ti_fmt("bash -c '. \"%s/tools/nsearch-completion.bash\" && "
	                   "complete -p nsearch'",
	                   root);
	char *out = ti_ok(cmd);
	cr_assert_str_eq(out, "complete -F _nsearch nsearch\n");
	free(out);
	free(cmd);

	struct {
		const char *line, *want;
	} cases[] = {
	    {"nsearch \"\"", "index\nadd\ndelete\noptimize\nquery\nstats\ncheck\nlangs\nhelp\n"},
	    {"nsearch d", "delete\n"},
	    {"nsearch delete -", "--index\n--quiet\n-q\n--help\n-h\n"},
	    {"nsearch index --r", "--rebuild\n"},
	    {"nsearch q", "query\n"},
	    {"nsearch --v", "--version\n"},
	    {"nsearch query --c", "--count\n--color\n"},
	    {"nsearch query storm --b", "--batch\n--b\n"},
	    {"nsearch --index x query --j", "--json\n"},
	    {"nsearch index --l", "--lang\n"},
	    {"nsearch index --p", "--progress\n"},
	    {"nsearch index -j \"\"", "\n"},
	    {"nsearch stats -", "--index\n--help\n-h\n"},
	    {"nsearch query --color a", "auto\nalways\n"},
	    {"nsearch query --color = n", "never\n"},
	    {"nsearch help c", "check\n"},
	    {"nsearch query -k \"\"", "\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		out = complete_line("/tmp", cases[i].line);
		cr_expect_str_eq(out, cases[i].want, "[%s]", cases[i].line);
		free(out);
	}
}

Test(completion, languages_come_from_nsearch_langs)
{
	ti_paths();
	const char *bin = getenv("NSEARCH_BIN");
	char *b = bin ? strdup(bin) : ti_fmt("%s/nsearch", build);
	char *line = ti_fmt("'%s' index --lang eng", b);
	char *out = complete_line("/tmp", line);
	cr_assert_str_eq(out, "english\n");
	free(out), free(line);
	line = ti_fmt("'%s' index --lang = no", b);
	out = complete_line("/tmp", line);
	cr_assert_str_eq(out, "norwegian\nnone\n"); /* in langs order */
	free(out), free(line), free(b);
}

Test(completion, paths_for_index_directories_and_batch_files)
{
	ti_paths();
	char tmp[64];
	th_mkdtemp_test(tmp, sizeof tmp, "install-compl");
	char *p = ti_fmt("%s/corpus-dir", tmp);
	cr_assert_eq(mkdir(p, 0755), 0);
	free(p);
	p = ti_fmt("%s/corpus-file.txt", tmp);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fclose(f);
	free(p);
	char *out = complete_line(tmp, "nsearch index corp");
	cr_assert_str_eq(out, "corpus-dir\n");
	free(out);
	out = complete_line(tmp, "nsearch --index corp");
	cr_assert_str_eq(out, "corpus-dir\n");
	free(out);
	out = complete_line(tmp, "nsearch query --batch corpus-f");
	cr_assert_str_eq(out, "corpus-file.txt\n");
	free(out);
	out = complete_line(tmp, "nsearch query --batch=corpus-f");
	cr_assert_str_eq(out, "--batch=corpus-file.txt\n");
	free(out);
	th_rmrf(tmp);
}

/* The options listed by `nsearch [COMMAND] --help` (lines "  -x, --opt ARG
** description"), one a line, in order. */
static char *help_options(const char *bin, const char *cmd)
{
	char *sh = ti_fmt("'%s' %s --help", bin, cmd);
	char *help = ti_ok(sh);
	free(sh);
	size_t cap = strlen(help) + 1, len = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	out[0] = 0;
	char *save = NULL;
	for (char *line = strtok_r(help, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "  -", 3)) continue;
		/* the option part ends at the first run of two blanks */
		char *end = strstr(line + 2, "  ");
		if (end) *end = 0;
		for (char *t = line; (t = strchr(t, '-'));) {
			size_t n = strspn(t, "-abcdefghijklmnopqrstuvwxyz0123456789");
			if (t == line || t[-1] == ' ') {
				memcpy(out + len, t, n);
				len += n;
				out[len++] = '\n';
				out[len] = 0;
			}
			t += n;
		}
	}
	free(help);
	return out;
}

Test(completion, offers_every_option_of_the_help_texts)
{
	ti_paths();
	const char *bin = getenv("NSEARCH_BIN");
	char *b = bin ? strdup(bin) : ti_fmt("%s/nsearch", build);
	static const char *const cmds[] = {"", "index", "query", "stats", "check",
	                                   "langs", "add", "delete", "optimize"};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char *want = help_options(b, cmds[i]);
		char *line = ti_fmt("nsearch %s -", cmds[i]);
		char *have = complete_line("/tmp", line);
		char *save = NULL;
		size_t n = 0;
		for (char *o = strtok_r(want, "\n", &save); o;
		     o = strtok_r(NULL, "\n", &save), n++) {
			char *needle = ti_fmt("\n%s\n", o), *hay = ti_fmt("\n%s", have);
			cr_expect_not_null(strstr(hay, needle),
			                   "'nsearch %s --help' lists %s; the completion "
			                   "does not offer it", cmds[i], o);
			free(needle), free(hay);
		}
		if (i < 3) cr_expect_geq(n, 3, "nsearch %s --help: %zu options?", cmds[i], n);
		free(want), free(line), free(have);
	}
	free(b);
}
