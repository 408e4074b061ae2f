/* cli/args.h: the command line, checked before anything runs.
 *
 * Each command declares what it takes (a cli_cmd: options, positional
 * arguments, the longest value of each) and cli_args_parse checks argv
 * against it: unknown options, missing or extra arguments, values given
 * twice, too long, empty, with control bytes or not UTF-8 are all usage
 * errors (exit 2, with a message naming the argument and what to do), so
 * a command's run function only ever sees values within its bounds. The
 * global options (--dir, --key-file, --json) are accepted before or after
 * the command; `--` ends options. Nothing here allocates: results borrow
 * from argv. */
#ifndef BT_CLI_ARGS_H
#define BT_CLI_ARGS_H

#include <stddef.h>

#include "cli/cli.h"

#define CLI_OPTS_MAX 16
#define CLI_POS_MAX 4
#define CLI_PATH_MAX 1024 /* --dir, --key-file and other paths, bytes */

typedef struct {
  const char *name; /* "--kind" */
  const char *meta; /* "KIND" when it takes a value; NULL for a flag */
  size_t max;       /* longest value in bytes */
  const char *help; /* one line for `baton help CMD` */
} cli_opt;

typedef struct {
  const char *name; /* "NAME", as help shows it */
  size_t max;       /* longest value in bytes */
  int optional;     /* only the last ones may be optional */
} cli_pos;

typedef struct {
  const char *val[CLI_OPTS_MAX]; /* cmd->opts[i]: its value, "" for a flag
                                    given, NULL when absent */
  const char *pos[CLI_POS_MAX];
  size_t npos;
} cli_args;

typedef struct cli_cmd {
  const char *name;    /* "init" */
  const char *summary; /* one line for `baton help` */
  const char *about;   /* the rest of `baton help CMD`; may be NULL */
  const cli_opt *opts;
  size_t nopts;        /* <= CLI_OPTS_MAX */
  const cli_pos *pos;
  size_t npos;         /* <= CLI_POS_MAX */
  int (*run)(cli_ctx *c, const cli_args *a); /* returns an exit code */
} cli_cmd;

/* One global option at argv[*i], if it is one: sets c's field, moves *i
 * past its value and sets *taken. CLI_OK, or CLI_USAGE (said why). */
int cli_args_global(cli_ctx *c, int argc, char **argv, int *i, int *taken);

/* Checks argv[0..argc) (what follows the command name) against cmd and
 * fills *out. *help is set when --help was given (nothing else is then
 * checked). CLI_OK or CLI_USAGE (said why). */
int cli_args_parse(cli_ctx *c, const cli_cmd *cmd, int argc, char **argv, cli_args *out,
                   int *help);

/* Checks one value: non-empty, at most max bytes, UTF-8 without control
 * characters. what names it in the message ("NAME", "--dir"). CLI_OK or
 * CLI_USAGE (said why). */
int cli_args_check(const cli_ctx *c, const char *what, const char *v, size_t max);

/* 1 if p[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int cli_utf8_ok(const unsigned char *p, size_t len);

#endif
