/* cli/args.c: checking the command line against a command's declaration
 * (cli/args.h). Every value is measured against its bound before anything
 * else looks at it, and messages show at most a quoted prefix of what was
 * typed, so a megabyte of argument gives one short line. */
#include "cli/args.h"

#include "crdt/err.h"
#include "crdt/schema.h"

#include <string.h>

int cli_utf8_ok(const unsigned char *p, size_t len)
{
  size_t i = 0;

  while (i < len) {
    unsigned ch = p[i], need, min, cp;
    if (ch < 0x80) {
      i++;
      continue;
    }
    if (ch >= 0xc2 && ch <= 0xdf)
      need = 1, min = 0x80, cp = ch & 0x1f;
    else if (ch >= 0xe0 && ch <= 0xef)
      need = 2, min = 0x800, cp = ch & 0x0f;
    else if (ch >= 0xf0 && ch <= 0xf4)
      need = 3, min = 0x10000, cp = ch & 0x07;
    else
      return 0;
    if (len - i <= need)
      return 0;
    for (unsigned k = 1; k <= need; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += need + 1;
  }
  return 1;
}

int cli_args_check(const cli_ctx *c, const char *what, const char *v, size_t max)
{
  size_t n = strlen(v); /* argv: NUL-terminated, and no longer than ARG_MAX */

  if (n == 0)
    return cli_usage(c, "%s is empty", what);
  if (n > max)
    return cli_usage(c, "%s is too long (%zu bytes; at most %zu)", what, n, max);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
      return cli_usage(c, "%s contains a control character (byte %zu)", what, i + 1);
  if (!cli_utf8_ok((const unsigned char *)v, n))
    return cli_usage(c, "%s is not valid UTF-8", what);
  if (crdt_text_check((bt_str){v, n}, 0) != BT_OK) /* the core's rule: C1 controls too */
    return cli_usage(c, "%s contains a control character", what);
  return CLI_OK;
}

/* "--name" or "--name=value" against name; *eq gets the value part. */
static int opt_is(const char *a, const char *name, const char **eq)
{
  size_t n = strlen(name);

  if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
    return 0;
  *eq = a[n] == '=' ? a + n + 1 : NULL;
  return 1;
}

/* The value of option `name` at argv[*i]: after '=', or the next argument
 * (which may not look like an option: `--opt=--x` says it is meant). */
static int opt_value(const cli_ctx *c, const char *name, const char *eq, int argc, char **argv,
                     int *i, size_t max, const char **out)
{
  if (eq == NULL) {
    if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
      return cli_usage(c, "%s needs a value", name);
    eq = argv[++*i];
  }
  if (cli_args_check(c, name, eq, max) != CLI_OK)
    return CLI_USAGE;
  *out = eq;
  return CLI_OK;
}

int cli_args_global(cli_ctx *c, int argc, char **argv, int *i, int *taken)
{
  const char *a = argv[*i], *eq, *v = NULL;

  *taken = 1;
  if (opt_is(a, "--json", &eq)) {
    if (eq)
      return cli_usage(c, "--json takes no value");
    if (c->json)
      return cli_usage(c, "--json given twice");
    c->json = 1;
    return CLI_OK;
  }
  if (opt_is(a, "--dir", &eq)) {
    if (c->dir)
      return cli_usage(c, "--dir given twice");
    if (opt_value(c, "--dir", eq, argc, argv, i, CLI_PATH_MAX, &v) != CLI_OK)
      return CLI_USAGE;
    c->dir = v;
    return CLI_OK;
  }
  if (opt_is(a, "--key-file", &eq)) {
    if (c->key_file)
      return cli_usage(c, "--key-file given twice");
    if (opt_value(c, "--key-file", eq, argc, argv, i, CLI_PATH_MAX, &v) != CLI_OK)
      return CLI_USAGE;
    c->key_file = v;
    return CLI_OK;
  }
  if (opt_is(a, "--user", &eq)) {
    if (c->user)
      return cli_usage(c, "--user given twice");
    if (opt_value(c, "--user", eq, argc, argv, i, 64, &v) != CLI_OK)
      return CLI_USAGE;
    c->user = v;
    return CLI_OK;
  }
  *taken = 0;
  return CLI_OK;
}

static int one_opt(cli_ctx *c, const cli_cmd *cmd, int argc, char **argv, int *i,
                   cli_args *out)
{
  char q[CLI_QUOTE_LEN];
  const char *eq;
  int taken;

  if (cli_args_global(c, argc, argv, i, &taken) != CLI_OK)
    return CLI_USAGE;
  if (taken)
    return CLI_OK;
  for (size_t k = 0; k < cmd->nopts; k++) {
    const cli_opt *o = &cmd->opts[k];
    if (!opt_is(argv[*i], o->name, &eq))
      continue;
    if (out->val[k])
      return cli_usage(c, "%s given twice", o->name);
    if (o->meta == NULL) {
      if (eq)
        return cli_usage(c, "%s takes no value", o->name);
      out->val[k] = "";
      return CLI_OK;
    }
    return opt_value(c, o->name, eq, argc, argv, i, o->max, &out->val[k]);
  }
  return cli_usage(c, "unknown option %s", cli_quote(argv[*i], q));
}

static int positionals(const cli_ctx *c, const cli_cmd *cmd, cli_args *out)
{
  for (size_t k = 0; k < out->npos; k++)
    if (cli_args_check(c, cmd->pos[k].name, out->pos[k], cmd->pos[k].max) != CLI_OK)
      return CLI_USAGE;
  for (size_t k = out->npos; k < cmd->npos; k++)
    if (!cmd->pos[k].optional)
      return cli_usage(c, "%s is missing", cmd->pos[k].name);
  return CLI_OK;
}

int cli_args_parse(cli_ctx *c, const cli_cmd *cmd, int argc, char **argv, cli_args *out,
                   int *help)
{
  char q[CLI_QUOTE_LEN];
  int opts_done = 0;

  memset(out, 0, sizeof(*out));
  *help = 0;
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--") == 0)
      break;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      *help = 1;
      return CLI_OK;
    }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && strcmp(a, "--") == 0) {
      opts_done = 1;
    } else if (!opts_done && a[0] == '-' && a[1] != '\0') {
      if (one_opt(c, cmd, argc, argv, &i, out) != CLI_OK)
        return CLI_USAGE;
    } else if (out->npos >= cmd->npos) {
      return cli_usage(c, "unexpected argument %s", cli_quote(a, q));
    } else {
      out->pos[out->npos++] = a;
    }
  }
  return positionals(c, cmd, out);
}
