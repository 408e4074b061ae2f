/* cli/cmd.c: dispatch, help and version (cli/cmd.h).
 *
 * Help is made from each command's declaration (cli_cmd: options,
 * arguments, text), so `baton help X`, `baton X --help` and the checks of
 * X's arguments can never disagree. */
#include "cli/cmd.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/audit.h"
#include "cli/calendar.h"
#include "cli/file.h"
#include "cli/init.h"
#include "cli/out.h"
#include "cli/package.h"
#include "cli/record.h"
#include "cli/setup.h"
#include "cli/share.h"
#include "cli/status.h"
#include "cli/transfer.h"
#include "cli/user.h"
#include "node/store.h"

#ifndef BATON_VERSION
#define BATON_VERSION "unknown"
#endif

static const cli_cmd help_cmd, version_cmd;

static const cli_cmd *const COMMANDS[] = {
  &cli_init_cmd, &cli_status_cmd, &cli_calendar_show_cmd, &cli_calendar_import_cmd,
  &cli_calendar_terms_cmd, &cli_calendar_rule_cmd, &cli_calendar_deadline_cmd,
  &cli_user_add_cmd, &cli_user_list_cmd, &cli_user_passwd_cmd,
  &cli_file_open_cmd, &cli_files_cmd, &cli_file_show_cmd, &cli_file_set_cmd,
  &cli_file_resolve_cmd, &cli_file_close_cmd, &cli_file_reopen_cmd, &cli_tag_add_cmd,
  &cli_tag_remove_cmd, &cli_concern_log_cmd, &cli_concern_review_cmd, &cli_chrono_add_cmd,
  &cli_bodymap_add_cmd, &cli_reflect_add_cmd, &cli_action_add_cmd, &cli_action_done_cmd,
  &cli_correct_cmd, &cli_share_grant_cmd, &cli_share_extract_cmd, &cli_share_revoke_cmd,
  &cli_share_decide_cmd, &cli_grants_cmd,
  &cli_transfer_start_cmd, &cli_transfer_ack_cmd, &cli_transfer_reject_cmd,
  &cli_transfer_close_cmd, &cli_transfers_cmd,
  &cli_package_export_cmd, &cli_package_import_cmd,
  &cli_audit_cmd,
  &cli_root_create_cmd, &cli_root_show_cmd, &cli_root_certify_cmd, &cli_directory_cmd,
  &cli_directory_publish_cmd, &cli_directory_revoke_cmd, &cli_org_request_cmd,
  &cli_org_install_cmd, &cli_anchor_add_cmd, &cli_anchors_cmd, &cli_enrol_issue_cmd,
  &cli_enrol_request_cmd, &cli_enrol_answer_cmd, &cli_enrol_accept_cmd, &cli_peer_add_cmd,
  &cli_peer_list_cmd, &cli_peer_remove_cmd, &cli_sync_cmd,
  &version_cmd, &help_cmd,
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const char GLOBALS[] =
  "global options (before or after the command):\n"
  "  --dir DIR          data directory (default $XDG_DATA_HOME/baton, else\n"
  "                     ~/.local/share/baton)\n"
  "  --key-file FILE    the store's key file (default $XDG_CONFIG_HOME/baton/node.key,\n"
  "                     else ~/.config/baton/node.key, as scripts/run.sh makes it);\n"
  "                     without one, the passphrase in BATON_PASSPHRASE, else a prompt\n"
  "  --json             results as one JSON document on stdout\n"
  "  --user NAME        the staff user signing in (default $BATON_USER); the\n"
  "                     passphrase from BATON_USER_PASSPHRASE, else a prompt\n"
  "  --help             help (also after any command)\n";

static const char EXITS[] =
  "exit status: 0 ok, 1 error, 2 usage error, 3 attention needed (overdue\n"
  "transfers, unresolved conflicts)\n";

const cli_cmd *cli_cmd_find(const char *name)
{
  for (size_t k = 0; k < NCOMMANDS; k++)
    if (strcmp(COMMANDS[k]->name, name) == 0)
      return COMMANDS[k];
  return NULL;
}

/* "init NAME [--kind KIND] [--passphrase]" into buf. */
static void synopsis(const cli_cmd *cmd, char *buf, size_t len)
{
  size_t o = (size_t)snprintf(buf, len, "%s", cmd->name);

  for (size_t k = 0; k < cmd->npos && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, cmd->pos[k].optional ? " [%s]" : " %s",
                          cmd->pos[k].name);
  for (size_t k = 0; k < cmd->nopts && o < len; k++)
    o += (size_t)snprintf(buf + o, len - o, cmd->opts[k].meta ? " [%s %s]" : " [%s]",
                          cmd->opts[k].name, cmd->opts[k].meta);
}

static json_t *cmd_json(const cli_cmd *cmd)
{
  char syn[512];
  json_t *opts = json_array(), *j;

  synopsis(cmd, syn, sizeof syn);
  for (size_t k = 0; opts && k < cmd->nopts; k++)
    if (json_array_append_new(opts, json_pack("{s:s, s:s?, s:s}", "name", cmd->opts[k].name,
                                              "value", cmd->opts[k].meta, "help",
                                              cmd->opts[k].help)) != 0) {
      json_decref(opts);
      return NULL;
    }
  j = json_pack("{s:s, s:s, s:s, s:s?, s:o}", "name", cmd->name, "usage", syn, "summary",
                cmd->summary, "about", cmd->about, "options", opts);
  return j;
}

static void cmd_text(const json_t *doc)
{
  const json_t *opts = json_object_get(doc, "options"), *o;
  char label[64];
  size_t k;

  printf("usage: baton %s\n\n%s\n", cli_out_get(doc, "usage"), cli_out_get(doc, "summary"));
  if (cli_out_get(doc, "about"))
    printf("\n%s\n", cli_out_get(doc, "about"));
  printf("\noptions:\n");
  json_array_foreach(opts, k, o) {
    const char *v = cli_out_get(o, "value");
    snprintf(label, sizeof label, "%s%s%s", cli_out_get(o, "name"), v ? " " : "", v ? v : "");
    printf("  %-18s %s\n", label, cli_out_get(o, "help"));
  }
  printf("  %-18s %s\n\n%s\n%s", "--help", "this text", GLOBALS, EXITS);
}

static json_t *all_json(void)
{
  json_t *cmds = json_array();

  for (size_t k = 0; cmds && k < NCOMMANDS; k++)
    if (json_array_append_new(cmds, json_pack("{s:s, s:s}", "name", COMMANDS[k]->name,
                                              "summary", COMMANDS[k]->summary)) != 0) {
      json_decref(cmds);
      return NULL;
    }
  return json_pack("{s:s, s:o, s:{s:i, s:i, s:i, s:i}}", "usage",
                   "baton [--dir DIR] [--key-file FILE] [--json] COMMAND [ARGS...]",
                   "commands", cmds, "exit_codes", "ok", CLI_OK, "error", CLI_ERROR, "usage",
                   CLI_USAGE, "attention", CLI_ATTENTION);
}

static void all_text(const json_t *doc)
{
  const json_t *o;
  size_t k;

  printf("usage: %s\n\nBaton: end-to-end-encrypted child-protection files for schools.\n\n"
         "commands:\n", cli_out_get(doc, "usage"));
  json_array_foreach(json_object_get(doc, "commands"), k, o)
    printf("  %-18s %s\n", cli_out_get(o, "name"), cli_out_get(o, "summary"));
  printf("\n%s\n%s\n`baton help COMMAND` shows one command; docs/cli.md has them all.\n",
         GLOBALS, EXITS);
}

/* Help for cmd, or for everything when cmd is NULL. */
static int show_help(const cli_ctx *c, const cli_cmd *cmd)
{
  return cmd ? cli_out_emit(c, cmd_json(cmd), cmd_text) : cli_out_emit(c, all_json(), all_text);
}

/* For a word that only begins commands ("calendar"): the usage error
 * naming them; else 0. */
static int group_usage(const cli_ctx *c, const char *word)
{
  char subs[256] = "";
  size_t w = strlen(word), o = 0;

  for (size_t k = 0; k < NCOMMANDS && o < sizeof subs; k++)
    if (strncmp(COMMANDS[k]->name, word, w) == 0 && COMMANDS[k]->name[w] == ' ')
      o += (size_t)snprintf(subs + o, sizeof subs - o, "%s%s", o ? ", " : "",
                            COMMANDS[k]->name + w + 1);
  return o ? cli_usage(c, "%s needs one of: %s", word, subs) : 0;
}

static int help_run(cli_ctx *c, const cli_args *a)
{
  const cli_cmd *cmd = NULL;
  char q[CLI_QUOTE_LEN], two[140];
  int rc;

  if (a->npos == 2) {
    snprintf(two, sizeof two, "%s %s", a->pos[0], a->pos[1]);
    if ((cmd = cli_cmd_find(two)) == NULL)
      return cli_usage(c, "no command %s", cli_quote(two, q));
  } else if (a->npos && (cmd = cli_cmd_find(a->pos[0])) == NULL) {
    return (rc = group_usage(c, a->pos[0])) ? rc
                                            : cli_usage(c, "no command %s",
                                                        cli_quote(a->pos[0], q));
  }
  return show_help(c, cmd);
}

static const cli_pos HELP_POS[] = {{"COMMAND", 64, 1}, {"SUBCOMMAND", 64, 1}};
static const cli_cmd help_cmd = {
  .name = "help",
  .summary = "list the commands, or show one command's help",
  .pos = HELP_POS,
  .npos = 2,
  .run = help_run,
};

static json_t *version_json(void)
{
  return json_pack("{s:s, s:i, s:s, s:s}", "baton", BATON_VERSION, "store_version",
                   NODE_STORE_VERSION, "libsodium", sodium_version_string(), "jansson",
                   JANSSON_VERSION);
}

static void version_text(const json_t *doc)
{
  printf("baton %s (store format %" JSON_INTEGER_FORMAT ")\n", cli_out_get(doc, "baton"),
         json_integer_value(json_object_get(doc, "store_version")));
}

static int version_run(cli_ctx *c, const cli_args *a)
{
  (void)a;
  return cli_out_emit(c, version_json(), version_text);
}

static const cli_cmd version_cmd = {
  .name = "version",
  .summary = "show the version of baton and of the store format it reads",
  .run = version_run,
};

/* Options before the command: globals, --help, --version. *done is set
 * when one of the last two ran. */
static int leading(cli_ctx *c, int argc, char **argv, int *i, int *done)
{
  char q[CLI_QUOTE_LEN];
  int taken;

  *done = 0;
  for (; *i < argc; (*i)++) {
    const char *a = argv[*i];
    if (strcmp(a, "--") == 0) {
      (*i)++;
      return CLI_OK;
    }
    if (a[0] != '-' || a[1] == '\0')
      return CLI_OK;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0) {
      *done = 1;
      return a[2] == 'v' ? version_run(c, NULL) : show_help(c, NULL);
    }
    if (cli_args_global(c, argc, argv, i, &taken) != CLI_OK)
      return CLI_USAGE;
    if (!taken)
      return cli_usage(c, "unknown option %s", cli_quote(a, q));
  }
  return CLI_OK;
}

static int finish(const cli_ctx *c, int rc)
{
  if (fflush(stdout) != 0 || ferror(stdout))
    return rc == CLI_OK ? cli_fail(c, "cannot write the output") : rc;
  return rc;
}

int cli_cmd_main(int argc, char **argv)
{
  char q[CLI_QUOTE_LEN];
  cli_ctx c = {0};
  const cli_cmd *cmd;
  cli_args a;
  int i = 1, rc, done, help;

  if ((rc = leading(&c, argc, argv, &i, &done)) != CLI_OK || done)
    return finish(&c, rc);
  if (i >= argc)
    return cli_usage(&c, "no command given");
  cmd = NULL; /* a command of two words ("directory publish") before one ("directory") */
  if (i + 1 < argc && strlen(argv[i]) < 32 && strlen(argv[i + 1]) < 32) {
    char two[80];
    snprintf(two, sizeof two, "%s %s", argv[i], argv[i + 1]);
    if ((cmd = cli_cmd_find(two)) != NULL)
      i++;
  }
  if (cmd == NULL)
    cmd = cli_cmd_find(argv[i]);
  if (cmd == NULL)
    return (rc = group_usage(&c, argv[i])) ? rc
                                           : cli_usage(&c, "unknown command %s",
                                                       cli_quote(argv[i], q));
  c.cmd = cmd->name;
  if (cli_args_parse(&c, cmd, argc - i - 1, argv + i + 1, &a, &help) != CLI_OK)
    return CLI_USAGE;
  rc = help ? show_help(&c, cmd) : cmd->run(&c, &a);
  return finish(&c, rc);
}
