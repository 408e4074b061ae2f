/* cli/cli.h: what every part of the `baton` command shares: the run's
 * context (the global options), the exit codes, and how messages reach the
 * person at the terminal.
 *
 * Results go to stdout (text, or JSON with --json); everything else --
 * errors, notes, prompts -- goes to stderr, so `baton --json X | jq` always
 * gets one JSON document or nothing. Messages never carry a passphrase, a
 * key or case content; values the user typed are shown through cli_quote,
 * cut short and with control bytes escaped. Single-threaded. */
#ifndef BT_CLI_CLI_H
#define BT_CLI_CLI_H

#include <stddef.h>

/* Exit codes (docs/cli.md). */
enum {
  CLI_OK = 0,        /* done */
  CLI_ERROR = 1,     /* could not be done: wrong key, no store, refused... */
  CLI_USAGE = 2,     /* the command line was wrong: nothing was tried */
  CLI_ATTENTION = 3, /* done, but something needs a person (overdue transfers,
                        unresolved conflicts: used by later commands) */
};

/* The global options, given before or after the command. Borrowed from argv. */
typedef struct {
  const char *dir;      /* --dir, or NULL for the default data directory */
  const char *key_file; /* --key-file, or NULL (docs/cli.md "Keys") */
  int json;             /* --json: results as one JSON document on stdout */
  const char *user;     /* --user NAME, or NULL (cli/login.h: then BATON_USER) */
  const char *cmd;      /* the command running, for messages ("init") */
} cli_ctx;

/* "baton init: <message>" on stderr (just "baton: " outside a command). */
void cli_say(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_say, then returns CLI_ERROR. */
int cli_fail(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_say, then "Try 'baton help CMD'.", then returns CLI_USAGE. */
int cli_usage(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A user-typed value made safe to show in a message: at most about 40
 * characters (then "..."), control bytes and quotes escaped, in quotes.
 * Returns buf. */
#define CLI_QUOTE_LEN 200
const char *cli_quote(const char *v, char buf[CLI_QUOTE_LEN]);

#endif
