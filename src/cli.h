/*
** cli.h -- shared pieces of the nsearch command-line tool.  The CLI is a
** thin layer over include/nsearch.h; one file per subcommand (cmd_*.c).
*/
#ifndef NS_CLI_H
#define NS_CLI_H

#include <stdio.h>

#include "nsearch.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* The index directory: --index, else $NSEARCH_INDEX, else ".nsearch". */
extern const char *cli_index_dir;

void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error with a hint to --help and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_help(const char *cmd, FILE *out);
/* Parses a non-negative number; 0 on success. */
/* Parses the options of the small commands: --index, --help and, when
** quiet is not NULL, -q/--quiet; operands (left from optind) are refused
** unless `operands`.  @return -1 to go on, else the exit status (0 after
** --help, EXIT_USAGE on a bad option). */
int cli_simple_opts(const char *cmd, int argc, char **argv, int *quiet,
                    int operands);
int cli_parse_size(const char *s, size_t *out);
int cli_parse_double(const char *s, double *out);
/* Parses a size with an optional K, M or G suffix (powers of 1024). */
int cli_parse_bytes(const char *s, size_t *out);
/* Writes s as a JSON string (with quotes), replacing invalid UTF-8. */
void cli_json_str(FILE *f, const char *s);

int cmd_index(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_langs(int argc, char **argv);

#endif
