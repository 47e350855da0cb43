/*
** cli.c -- main(): global options, the command table, help and shared
** helpers for the subcommands.
*/
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_index_dir = ".nsearch";

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nsearch: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nsearch: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nsearch: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fprintf(stderr, "Try 'nsearch %s--help' for more information.\n",
	        cmd ? cmd : "");
	return EXIT_USAGE;
}

int cli_simple_opts(const char *cmd, int argc, char **argv, int *quiet,
                    int operands)
{
	static const struct option opts[] = {
	    {"index", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0}};
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s ", cmd);
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, quiet ? "qh" : "h", opts, NULL)) != -1) {
		switch (o) {
		case 'i': cli_index_dir = optarg; break;
		case 'h': cli_help(cmd, stdout); return 0;
		case 'q':
			if (quiet) { /* a command without --quiet refuses it */
				*quiet = 1;
				break;
			}
			return cli_usage(prefix, "unknown or incomplete option '%s'",
			                 argv[optind - 1]);
		default:
			return cli_usage(prefix, "unknown or incomplete option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (!operands && optind < argc)
		return cli_usage(prefix, "unexpected argument '%s'", argv[optind]);
	return -1;
}

int cli_parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') return -1;
	*out = (size_t)v;
	return 0;
}

int cli_parse_bytes(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-') return -1;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K') shift = 10;
	else if (*end == 'm' || *end == 'M') shift = 20;
	else if (*end == 'g' || *end == 'G') shift = 30;
	else if (*end) return -1;
	if (shift && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return -1;
	if (v > (SIZE_MAX >> shift)) return -1;
	*out = (size_t)(v << shift);
	return 0;
}

int cli_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v)) return -1;
	*out = v;
	return 0;
}

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			p++;
		} else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			fputc((int)c, f);
			p++;
		} else {
			/* well-formed UTF-8 only (RFC 3629): the range of the second
			** byte excludes overlong forms, surrogates and code points
			** past U+10FFFF; 0xf5..0xff never start a character */
			size_t len = c >= 0xf5 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
			unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
			size_t k = 1;
			if (len && p[1] >= lo && p[1] <= hi) k = 2;
			while (len && k >= 2 && k < len && (p[k] & 0xc0) == 0x80) k++;
			if (len && k == len) {
				fwrite(p, 1, len, f);
				p += len;
			} else {
				fputs("\\ufffd", f);
				p++;
			}
		}
	}
	fputc('"', f);
}

static const char main_help[] =
    "usage: nsearch [--index PATH] <command> [options] [args]\n"
    "\n"
    "A full-text search engine: index a directory, then search it by BM25.\n"
    "\n"
    "Commands:\n"
    "  index DIR...     index the files under DIR (text, .gz, .jsonl and\n"
    "                   .jsonl.gz collections); on an existing index, only\n"
    "                   what changed is read\n"
    "  add PATH...      add or replace the documents of files or directories\n"
    "  delete ID...     delete documents by id\n"
    "  optimize         merge the index into one segment\n"
    "  query QUERY      search; print the best hits with snippets\n"
    "  stats            print index statistics\n"
    "  check            verify every index file and checksum\n"
    "  langs            list the stemming languages\n"
    "  help [COMMAND]   show help for a command\n"
    "\n"
    "Global options:\n"
    "  --index PATH     the index directory (default: $NSEARCH_INDEX, else\n"
    "                   .nsearch in the current directory)\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "Query syntax:\n"
    "  storm shadow        either word; documents ranked by BM25 (OR)\n"
    "  +storm shadow       'storm' required, 'shadow' optional\n"
    "  storm -shadow       documents with 'shadow' excluded\n"
    "  \"storm shadow\"      the exact phrase\n"
    "  a AND (b OR c) NOT d   boolean operators (in capitals) and parentheses\n"
    "Query words are analysed like documents (case folding, stemming).\n"
    "\n"
    "Ranking: BM25 with Lucene's idf,\n"
    "  idf = ln(1 + (N - df + 0.5) / (df + 0.5))\n"
    "  score = sum over matched terms of\n"
    "          idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))\n"
    "  with k1 = 0.9 and b = 0.4 unless --k1 / --b say otherwise.\n"
    "\n"
    "Exit status: 0 success (zero hits included), 1 runtime error,\n"
    "2 usage error, 128+N when 'index' is stopped by signal N (130 for\n"
    "Ctrl-C; the previous index is then unchanged).\n";

static const char index_help[] =
    "usage: nsearch index [options] DIR|FILE...\n"
    "\n"
    "Makes the index hold the documents of every regular file under the\n"
    "given directories (recursively, in sorted order; hidden entries and\n"
    "symbolic links are skipped) and publishes it atomically.\n"
    "On an existing index the update is incremental: files whose size and\n"
    "modification time are unchanged are not read; changed files are read\n"
    "and their documents replaced when their text differs (content hash);\n"
    "documents of files that are gone are deleted, as are documents added\n"
    "with 'nsearch add' from outside these directories.  New documents go\n"
    "to a new segment and small segments are merged (see 'optimize').\n"
    "Text files: id = path relative to DIR, title = first non-empty line.\n"
    ".gz files are decompressed.  .jsonl / .jsonl.gz files hold one\n"
    "document a line: {\"id\": ..., \"title\": ..., \"text\": ...}.\n"
    "Files with NUL bytes are skipped with a warning.\n"
    "\n"
    "Options:\n"
    "  --lang LANG      stemming language (default english, or the\n"
    "                   index's; see 'nsearch langs'; 'none' disables\n"
    "                   stemming); another language than the index's\n"
    "                   rebuilds it\n"
    "  --rebuild        build the index from scratch\n"
    "  -j, --jobs N     analysis threads (default: one per CPU); the index\n"
    "                   is the same for every N\n"
    "  --memory SIZE    memory budget (default 256M): vocabulary, per-document\n"
    "                   tables and buffered postings; beyond it sorted runs\n"
    "                   are written to disk and merged\n"
    "  --index PATH     the index directory\n"
    "  -q, --quiet      no progress and no summary\n"
    "  --progress       show progress even when stderr is not a terminal\n";

static const char add_help[] =
    "usage: nsearch add [options] FILE|DIR...\n"
    "\n"
    "Adds the documents of the given files and directories to the index\n"
    "(creating it if needed), read as 'nsearch index' reads them.  A\n"
    "document whose id is already in the index replaces it when its text\n"
    "differs.  Unlike 'index', nothing is deleted.\n"
    "Options: --lang, -j, --memory, --index, -q, --progress as for 'index'.\n";

static const char delete_help[] =
    "usage: nsearch delete [--index PATH] [-q] ID...\n"
    "\n"
    "Deletes the documents with these ids (as printed by 'nsearch query')\n"
    "in one commit.  An id that is not in the index is an error (exit\n"
    "status 1); the others are still deleted.\n";

static const char optimize_help[] =
    "usage: nsearch optimize [--index PATH] [-q]\n"
    "\n"
    "Merges every segment into one, dropping deleted documents.  Queries\n"
    "give the same results before and after; a single segment is the\n"
    "fastest to search.\n";

static const char query_help[] =
    "usage: nsearch query [options] QUERY...\n"
    "       nsearch query --batch FILE [options]\n"
    "\n"
    "Searches the index and prints the best hits: rank, score, id, title\n"
    "and a snippet with the matched words highlighted, then the number of\n"
    "matching documents.  Several arguments are joined with spaces.\n"
    "\n"
    "Options:\n"
    "  -k N             number of hits (default 10)\n"
    "  --json           one JSON object a hit: rank, id, score, title,\n"
    "                   path, snippet\n"
    "  --count          print only the number of matching documents\n"
    "  --plain          no query syntax: every word is an optional term\n"
    "                   (for natural-language topics, e.g. with --batch)\n"
    "  --stopwords      drop English stopwords (a, the, of, is... Lucene's\n"
    "                   33) from the query, except inside phrases\n"
    "  --prf            pseudo-relevance feedback (RM3): add the 10 best\n"
    "                   terms of the 10 best hits to the query, which keeps\n"
    "                   weight 0.5\n"
    "  --prf-docs N, --prf-terms N, --prf-weight X\n"
    "                   RM3's feedback documents, terms and original query\n"
    "                   weight (default 10, 10, 0.5)\n"
    "  --batch FILE     read 'qid<TAB>query' lines ('-' for stdin) and print\n"
    "                   TREC run lines: qid Q0 docid rank score nsearch\n"
    "  --k1 X, --b Y    BM25 parameters (default 0.9 and 0.4)\n"
    "  --color WHEN     highlight with colour: auto (default), always, never\n"
    "  --index PATH     the index directory\n"
    "\n"
    "Query syntax:\n"
    "  words            OR-ed and ranked by BM25\n"
    "  +word / -word    required / excluded\n"
    "  \"a phrase\"       words in this order, adjacent\n"
    "  AND, OR, NOT     boolean operators (capitals), with ( )\n"
    "\n"
    "Ranking: score = sum of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b *\n"
    "dl / avgdl)), idf = ln(1 + (N - df + 0.5) / (df + 0.5)); equal scores\n"
    "are ordered by document number.\n";

static const char stats_help[] =
    "usage: nsearch stats [--index PATH]\n"
    "\n"
    "Prints documents (and deleted ones not merged away yet), terms,\n"
    "postings, positions, average document length, the size of every kind\n"
    "of file and bits per posting.\n";

static const char check_help[] =
    "usage: nsearch check [--index PATH]\n"
    "\n"
    "Verifies every index file: magic, version and checksum, then the\n"
    "structure of every dictionary entry, posting and position block, the\n"
    "document table and every document store block.  Exit status 0 when\n"
    "the index is sound, 1 when a problem was found.\n";

static const char langs_help[] =
    "usage: nsearch langs\n"
    "\n"
    "Lists the stemming languages accepted by 'nsearch index --lang'.\n";

void cli_help(const char *cmd, FILE *out)
{
	if (!cmd) fputs(main_help, out);
	else if (!strcmp(cmd, "index")) fputs(index_help, out);
	else if (!strcmp(cmd, "add")) fputs(add_help, out);
	else if (!strcmp(cmd, "delete")) fputs(delete_help, out);
	else if (!strcmp(cmd, "optimize")) fputs(optimize_help, out);
	else if (!strcmp(cmd, "query")) fputs(query_help, out);
	else if (!strcmp(cmd, "stats")) fputs(stats_help, out);
	else if (!strcmp(cmd, "check")) fputs(check_help, out);
	else if (!strcmp(cmd, "langs")) fputs(langs_help, out);
	else fputs(main_help, out);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
    {"index", cmd_index}, {"add", cmd_add}, {"delete", cmd_delete},
    {"optimize", cmd_optimize}, {"query", cmd_query},
    {"stats", cmd_stats}, {"check", cmd_check}, {"langs", cmd_langs},
};

int main(int argc, char **argv)
{
	const char *env = getenv("NSEARCH_INDEX");
	if (env && *env) cli_index_dir = env;
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_help(NULL, stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("nsearch %s\n", ns_version());
			return 0;
		} else if (!strcmp(a, "--index")) {
			if (i + 1 >= argc) return cli_usage(NULL, "--index needs a path");
			cli_index_dir = argv[++i];
		} else if (!strncmp(a, "--index=", 8)) {
			cli_index_dir = a + 8;
		} else {
			return cli_usage(NULL, "unknown option '%s'", a);
		}
		i++;
	}
	if (i >= argc) {
		cli_help(NULL, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i];
	if (!strcmp(cmd, "help")) {
		cli_help(i + 1 < argc ? argv[i + 1] : NULL, stdout);
		return 0;
	}
	for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
		if (!strcmp(cmd, commands[k].name))
			return commands[k].fn(argc - i, argv + i);
	return cli_usage(NULL, "'%s' is not an nsearch command", cmd);
}
