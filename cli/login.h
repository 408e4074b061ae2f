/* cli/login.h: a staff user signing in for one command.
 *
 * Who: --user NAME, else $BATON_USER. The passphrase: BATON_USER_PASSPHRASE
 * (copied, then wiped from the environment: cli/pass.h), else a prompt on
 * the terminal with echo off. node_user_login checks it (Argon2id, lockout
 * after five wrong tries) and records the sign-in in the audit log; the
 * role's rights come from node/ (node_may), never from here.
 *
 * Messages: a wrong name and a wrong passphrase get the same answer, so
 * names cannot be probed; a locked account says for how long; a role that
 * may not do the thing says which role it is and what it may not do. */
#ifndef BT_CLI_LOGIN_H
#define BT_CLI_LOGIN_H

#include "cli/cli.h"
#include "node/users.h"

typedef struct {
  char name[NODE_USER_MAX + 1];
  node_role role;
} cli_user;

/* Signs the user in and checks that the role may do need (0: anything a
 * signed-in user may do). CLI_OK and *u; CLI_USAGE when no user is named;
 * CLI_ERROR otherwise (said why on stderr). */
int cli_login(const cli_ctx *c, node_store *s, node_action need, cli_user *u);

/* The user named by --user or BATON_USER, or NULL. */
const char *cli_login_name(const cli_ctx *c);

/* "log concerns", "read case files", ... for messages. */
const char *cli_action_words(node_action a);

#endif
