/* cli/login.c: staff sign-in (cli/login.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli/login.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/pass.h"
#include "crdt/err.h"

static const char *const WORDS[NODE_DO_END] = {
  [NODE_DO_LOG_CONCERN] = "log concerns",
  [NODE_DO_READ_OWN] = "read the concerns they logged",
  [NODE_DO_READ_FILE] = "read case files",
  [NODE_DO_WRITE_FILE] = "write to case files",
  [NODE_DO_SHARE] = "share files or record sharing decisions",
  [NODE_DO_TRANSFER] = "start, acknowledge or close transfers",
  [NODE_DO_READ_COUNTS] = "read counts",
  [NODE_DO_READ_AUDIT] = "read the audit log",
  [NODE_DO_MANAGE_USERS] = "manage staff users",
};

const char *cli_action_words(node_action a)
{
  return a > 0 && a < NODE_DO_END && WORDS[a] ? WORDS[a] : "do that";
}

const char *cli_login_name(const cli_ctx *c)
{
  const char *n = c->user ? c->user : getenv("BATON_USER");

  return n && *n ? n : NULL;
}

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cli_login(const cli_ctx *c, node_store *s, node_action need, cli_user *u)
{
  const char *name = cli_login_name(c);
  char q[CLI_QUOTE_LEN], prompt[128];
  cli_pass pw = {0};
  node_role role;
  int rc;

  memset(u, 0, sizeof(*u));
  if (name == NULL)
    return cli_usage(c, "this needs a staff user: give --user NAME (or set BATON_USER)");
  if (strlen(name) > NODE_USER_MAX)
    return cli_usage(c, "--user: a user name is at most %d characters", NODE_USER_MAX);
  snprintf(prompt, sizeof prompt, "Passphrase for %s: ", name);
  if ((rc = cli_pass_get("BATON_USER_PASSPHRASE", prompt, 0, &pw)) != BT_OK) {
    if (rc == BT_ENOTFOUND)
      return cli_fail(c, "no passphrase for %s: set BATON_USER_PASSPHRASE or run at a "
                         "terminal", cli_quote(name, q));
    return cli_fail(c, "cannot read the passphrase: %s", bt_strerror(rc));
  }
  rc = node_user_login(s, name, pw.p, pw.len, now_ms(), &role);
  cli_pass_free(&pw);
  if (rc == BT_EPASS)
    return cli_fail(c, "wrong user name or passphrase (five wrong tries lock the account "
                       "for 15 minutes)");
  if (rc == BT_ELOCKED)
    return cli_fail(c, "the account %s is locked after five wrong passphrases: try again "
                       "in 15 minutes, or ask a DSL to reset it (`baton user passwd`)",
                    cli_quote(name, q));
  if (rc != BT_OK)
    return cli_fail(c, "cannot sign in: %s", bt_strerror(rc));
  if (need && !node_may(role, need))
    return cli_fail(c, "%s signs in as %s, and that role may not %s", cli_quote(name, q),
                    node_role_name(role), cli_action_words(need));
  snprintf(u->name, sizeof u->name, "%s", name);
  u->role = role;
  return CLI_OK;
}
