/* cli/user.c: `baton user add|list|passwd` (docs/cli.md).
 *
 * The first user of a node is added without signing in (there is nobody
 * to sign in as) and must be a DSL: from then on only a role that may
 * manage users adds users or resets someone else's passphrase; anyone may
 * change their own. New passphrases come from BATON_NEW_PASSPHRASE (for
 * scripts; wiped from the environment) or are typed twice at the terminal,
 * and never appear in output or messages. */
#define _POSIX_C_SOURCE 200809L
#include "cli/user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/out.h"
#include "cli/pass.h"
#include "cli/session.h"
#include "crdt/err.h"

#define PASS_MIN 8 /* shortest new passphrase, bytes */

static int name_arg(const cli_ctx *c, const char *v)
{
  char q[CLI_QUOTE_LEN];
  size_t n = strlen(v);

  for (size_t i = 0; i < n; i++)
    if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '.' ||
          v[i] == '_' || v[i] == '-'))
      return cli_usage(c, "NAME %s: a user name is 1 to %d of a-z, 0-9, '.', '_' and '-' "
                          "(e.g. dsl.jones)", cli_quote(v, q), NODE_USER_MAX);
  return n > NODE_USER_MAX ? cli_usage(c, "NAME: at most %d characters", NODE_USER_MAX)
                           : CLI_OK;
}

/* The new passphrase for name, checked for length. */
static int new_pass(const cli_ctx *c, const char *name, cli_pass *pw)
{
  char prompt[128];
  int rc;

  snprintf(prompt, sizeof prompt, "New passphrase for %s: ", name);
  if ((rc = cli_pass_get("BATON_NEW_PASSPHRASE", prompt, 1, pw)) == BT_ENOTFOUND)
    return cli_fail(c, "no new passphrase: set BATON_NEW_PASSPHRASE or run at a terminal; "
                       "nothing changed");
  if (rc == BT_EINVAL)
    return cli_fail(c, "the passphrase is empty, too long or the two entries differ; "
                       "nothing changed");
  if (rc != BT_OK)
    return cli_fail(c, "cannot read the new passphrase: %s", bt_strerror(rc));
  if (pw->len < PASS_MIN) {
    cli_pass_free(pw);
    return cli_fail(c, "a passphrase needs at least %d characters; nothing changed", PASS_MIN);
  }
  return CLI_OK;
}

static void add_text(const json_t *doc)
{
  printf("Added %s as %s.\n", cli_out_get(doc, "name"), cli_out_get(doc, "role"));
  if (json_is_true(json_object_get(doc, "first")))
    printf("This is the node's first user: from now on, sign in with --user %s to add "
           "others.\n", cli_out_get(doc, "name"));
}

static int add_run(cli_ctx *c, const cli_args *a)
{
  const char *name = a->pos[0];
  char q[CLI_QUOTE_LEN];
  cli_pass pw = {0};
  cli_sess ss = {0};
  node_role role;
  size_t users = 0;
  int rc;

  if ((rc = name_arg(c, name)) != CLI_OK)
    return rc;
  if (node_role_parse(a->val[0], &role) != BT_OK)
    return cli_usage(c, "--role %s: one of staff, dsl, deputy, head, governor, auditor",
                     cli_quote(a->val[0], q));
  if (cli_store_open(c, &ss.s, &ss.where) != BT_OK)
    return CLI_ERROR;
  if ((rc = node_user_count(ss.s, &users)) != BT_OK) {
    cli_sess_close(&ss);
    return cli_node_fail(c, NULL, "counting users", rc);
  }
  if (users == 0 && role != NODE_ROLE_DSL) {
    cli_sess_close(&ss);
    return cli_fail(c, "the node has no users yet: the first must be a DSL (--role dsl), "
                       "who then adds the others; nothing changed");
  }
  if (users && (rc = cli_login(c, ss.s, NODE_DO_MANAGE_USERS, &ss.u)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  if ((rc = new_pass(c, name, &pw)) == CLI_OK) {
    rc = node_user_add(ss.s, name, pw.p, pw.len, role);
    cli_pass_free(&pw);
    if (rc == BT_EDUP)
      rc = cli_fail(c, "there is already a user %s; nothing changed", cli_quote(name, q));
    else if (rc != BT_OK)
      rc = cli_node_fail(c, &ss, "adding the user", rc);
  }
  cli_sess_close(&ss);
  if (rc != BT_OK)
    return rc;
  return cli_out_emit(c, json_pack("{s:s, s:s, s:b}", "name", name, "role",
                                   node_role_name(role), "first", users == 0),
                      add_text);
}

static const cli_opt ADD_OPTS[] = {
  {"--role", "ROLE", 16, "staff, dsl, deputy, head, governor or auditor (required)"},
};
static const cli_pos ADD_POS[] = {{"NAME", NODE_USER_MAX, 0}};

static int add_check(cli_ctx *c, const cli_args *a)
{
  if (a->val[0] == NULL)
    return cli_usage(c, "give the user's role: --role staff|dsl|deputy|head|governor|auditor");
  return add_run(c, a);
}

const cli_cmd cli_user_add_cmd = {
  "user add", "add a staff user with a role",
  "Adds NAME (a-z, 0-9, '.', '_', '-'; e.g. dsl.jones) with --role ROLE. The\n"
  "new user's passphrase comes from BATON_NEW_PASSPHRASE, else it is typed\n"
  "twice. The node's first user is added without signing in and must be a\n"
  "dsl; after that, a user who may manage users signs in (--user).\n",
  ADD_OPTS, 1, ADD_POS, 1, add_check,
};

/* ---- list ------------------------------------------------------------------ */

static void list_text(const json_t *doc)
{
  const json_t *u;
  size_t i;

  json_array_foreach(json_object_get(doc, "users"), i, u)
    printf("%-24s %-10s%s\n", cli_out_get(u, "name"), cli_out_get(u, "role"),
           json_is_true(json_object_get(u, "locked")) ? " locked" : "");
}

static int list_run(cli_ctx *c, const cli_args *a)
{
  node_user_info *us = NULL;
  cli_sess ss;
  json_t *arr;
  size_t n = 0;
  int rc;

  (void)a;
  if ((rc = cli_sess_open(c, NODE_DO_MANAGE_USERS, &ss)) != CLI_OK)
    return rc;
  rc = node_user_list_as(ss.s, ss.u.role, cli_now_ms(), &us, &n);
  if (rc != BT_OK) {
    rc = cli_node_fail(c, &ss, "listing users", rc);
    cli_sess_close(&ss);
    return rc;
  }
  cli_sess_close(&ss);
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "name", us[i].name, "role",
                                         node_role_name(us[i].role) ? node_role_name(us[i].role)
                                                                    : "?",
                                         "locked", us[i].locked));
  free(us);
  return cli_out_emit(c, json_pack("{s:o}", "users", arr), list_text);
}

const cli_cmd cli_user_list_cmd = {
  "user list", "list the staff users and their roles",
  "Lists every user of this node with their role, and whether the account is\n"
  "locked after wrong passphrases. Needs a user who may manage users.\n",
  NULL, 0, NULL, 0, list_run,
};

/* ---- passwd ---------------------------------------------------------------- */

static void passwd_text(const json_t *doc)
{
  printf("New passphrase set for %s.\n", cli_out_get(doc, "name"));
}

static int passwd_run(cli_ctx *c, const cli_args *a)
{
  const char *name = a->pos[0];
  char q[CLI_QUOTE_LEN];
  cli_pass pw = {0};
  cli_sess ss;
  int rc;

  if ((rc = name_arg(c, name)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_open(c, 0, &ss)) != CLI_OK)
    return rc;
  if (strcmp(ss.u.name, name) != 0 && !node_may(ss.u.role, NODE_DO_MANAGE_USERS)) {
    cli_sess_close(&ss);
    return cli_fail(c, "a %s may change only their own passphrase; nothing changed",
                    node_role_name(ss.u.role));
  }
  if ((rc = new_pass(c, name, &pw)) == CLI_OK) {
    rc = node_user_passwd(ss.s, name, pw.p, pw.len);
    cli_pass_free(&pw);
    if (rc == BT_ENOTFOUND)
      rc = cli_fail(c, "there is no user %s (`baton user list`)", cli_quote(name, q));
    else if (rc != BT_OK)
      rc = cli_node_fail(c, &ss, "setting the passphrase", rc);
  }
  cli_sess_close(&ss);
  return rc != CLI_OK ? rc : cli_out_emit(c, json_pack("{s:s}", "name", name), passwd_text);
}

static const cli_pos PASSWD_POS[] = {{"NAME", NODE_USER_MAX, 0}};

const cli_cmd cli_user_passwd_cmd = {
  "user passwd", "set a user's passphrase (and unlock the account)",
  "Sets NAME's passphrase from BATON_NEW_PASSPHRASE, else typed twice, and\n"
  "clears a lockout. Anyone may change their own; a user who may manage\n"
  "users may reset anyone's.\n",
  NULL, 0, PASSWD_POS, 1, passwd_run,
};
