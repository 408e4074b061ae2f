/* cli/pass.h: where a passphrase comes from.
 *
 * From an environment variable, for scripts (BATON_PASSPHRASE for the
 * store; staff sign-in will use BATON_USER_PASSPHRASE): the value is
 * copied, then overwritten in the environment block and unset, so a child
 * process or a later getenv does not see it. Otherwise, when the
 * controlling terminal is available, from a prompt on /dev/tty with echo
 * off (termios), restored on every path out, also on Ctrl-C.
 *
 * The passphrase lives in sodium_malloc'd memory (guard pages, locked
 * where the system allows), read byte by byte with read(2) so no stdio
 * buffer keeps a copy; cli_pass_free wipes it. Never printed or logged.
 * Single-threaded (the prompt changes signal handlers). */
#ifndef BT_CLI_PASS_H
#define BT_CLI_PASS_H

#include <stddef.h>

#define CLI_PASS_MAX 1024 /* bytes */

typedef struct {
  char *p;    /* NUL-terminated; sodium_malloc'd */
  size_t len;
  int from_env;
} cli_pass;

/* Fills *out from the variable env (if set and non-empty), else from a
 * prompt on the terminal; with confirm, the prompt asks twice. Errors:
 * BT_ENOTFOUND (no variable and no terminal), BT_EINVAL (empty, longer
 * than CLI_PASS_MAX, or the two entries differ), BT_ENOMEM, negative
 * errno (the terminal). */
int cli_pass_get(const char *env, const char *prompt, int confirm, cli_pass *out);

/* 1 if env is set non-empty (without reading it out). */
int cli_pass_in_env(const char *env);

/* Wipes and frees; a zeroed cli_pass is a no-op. */
void cli_pass_free(cli_pass *pw);

#endif
