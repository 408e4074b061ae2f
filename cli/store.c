/* cli/store.c: opening the store by batond's rules (cli/store.h).
 *
 * Whether a store exists is decided before any key is looked for, by the
 * file LMDB keeps (data.mdb, as batond.c checks it): that way `baton
 * status` in an empty directory says "no store" instead of asking for a
 * passphrase it cannot use. */
#define _POSIX_C_SOURCE 200809L
#include "cli/store.h"

#include "crdt/schema.h"
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/pass.h"
#include "crdt/err.h"

#define PASS_ENV "BATON_PASSPHRASE"

int cli_store_default_key(char *buf, size_t len)
{
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  int n;

  if (xdg && xdg[0] == '/')
    n = snprintf(buf, len, "%s/baton/node.key", xdg);
  else if (home && home[0])
    n = snprintf(buf, len, "%s/.config/baton/node.key", home);
  else
    return BT_ENOTFOUND;
  return n < 0 || (size_t)n >= len ? BT_ETOOBIG : BT_OK;
}

static int exists(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
}

/* 1 if dir holds a store's file, 0 if not, or a negative errno. */
static int has_store(const char *dir)
{
  char path[PATH_MAX + 16];

  snprintf(path, sizeof path, "%s/data.mdb", dir);
  return exists(path);
}

static int find_dir(const cli_ctx *c, cli_store_info *info)
{
  int rc;

  if (c->dir) {
    snprintf(info->dir, sizeof info->dir, "%s", c->dir); /* args.c: < CLI_PATH_MAX */
    return BT_OK;
  }
  if ((rc = node_store_default_dir(info->dir, sizeof info->dir)) != BT_OK) {
    cli_say(c, "no data directory: give --dir DIR (HOME and XDG_DATA_HOME are unset)");
    return rc;
  }
  /* From the environment: shown and put in JSON, so it must be text. */
  if (!cli_utf8_ok((const unsigned char *)info->dir, strlen(info->dir)) ||
      crdt_text_check(bt_strz(info->dir), 0) != BT_OK) {
    cli_say(c, "the default data directory (from HOME or XDG_DATA_HOME) is not plain "
               "UTF-8 text: give --dir DIR");
    return BT_EINVAL;
  }
  return BT_OK;
}

/* The mkdir -p of the key file's directory, each new level 0700. */
static int make_parent(const char *file)
{
  char path[PATH_MAX];
  char *slash;

  snprintf(path, sizeof path, "%s", file);
  if ((slash = strrchr(path, '/')) == NULL || slash == path)
    return BT_OK;
  *slash = '\0';
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  return mkdir(path, 0700) != 0 && errno != EEXIST ? -errno : BT_OK;
}

static int make_key_file(const cli_ctx *c, cli_store_info *info)
{
  int rc;

  if ((rc = make_parent(info->key_file)) != BT_OK ||
      (rc = node_keyfile_create(info->key_file)) != BT_OK) {
    cli_say(c, "cannot create the key file %s: %s", info->key_file, bt_strerror(rc));
    return rc;
  }
  info->key_created = 1;
  return BT_OK;
}

/* Which key to use (cli/store.h, steps 1-4). creating: the store is new,
 * so a missing key file is made rather than refused. */
static int find_key(const cli_ctx *c, int creating, int ask_pass, cli_store_info *info)
{
  int rc, have;

  if (c->key_file) {
    snprintf(info->key_file, sizeof info->key_file, "%s", c->key_file);
    info->source = CLI_KEY_FILE;
  } else if (cli_pass_in_env(PASS_ENV)) {
    info->source = CLI_KEY_ENV;
    return BT_OK;
  } else if (ask_pass) {
    info->source = CLI_KEY_PROMPT;
    return BT_OK;
  } else if ((rc = cli_store_default_key(info->key_file, sizeof info->key_file)) != BT_OK) {
    info->source = CLI_KEY_PROMPT;
    return BT_OK;
  } else {
    info->source = CLI_KEY_FILE;
    info->key_default = 1;
    if (!creating && exists(info->key_file) != 1) {
      info->source = CLI_KEY_PROMPT;
      return BT_OK;
    }
  }
  if ((have = exists(info->key_file)) < 0) {
    cli_say(c, "key file %s: %s", info->key_file, strerror(-have));
    return have;
  }
  if (have)
    return BT_OK;
  if (!creating) {
    cli_say(c, "key file %s does not exist: give the key file this store was made with",
            info->key_file);
    return BT_EKEYFILE;
  }
  return make_key_file(c, info);
}

static void open_failed(const cli_ctx *c, const cli_store_info *info, int rc)
{
  if (rc == BT_EPASS && info->source == CLI_KEY_FILE && info->key_default)
    cli_say(c, "the default key file %s does not open the store in %s: give the key file "
               "it was made with (--key-file FILE), or its passphrase in BATON_PASSPHRASE",
            info->key_file, info->dir);
  else if (rc == BT_EPASS && info->source == CLI_KEY_FILE)
    cli_say(c, "the key file %s does not open the store in %s: give the key file it was "
               "made with (--key-file FILE)", info->key_file, info->dir);
  else if (rc == BT_EPASS)
    cli_say(c, "wrong passphrase for the store in %s", info->dir);
  else if (rc == BT_EKEYFILE)
    cli_say(c, "key file %s: %s", info->key_file, bt_strerror(rc));
  else if (rc == BT_ENOTFOUND)
    cli_say(c, "no store in %s: create one with `baton init NAME` (or give --dir DIR)",
            info->dir);
  else
    cli_say(c, "cannot open the store in %s: %s", info->dir, bt_strerror(rc));
}

/* node_store_open with the key found; wipes any passphrase. */
static int open_with(const cli_ctx *c, int create, int confirm, node_store **out,
                     cli_store_info *info)
{
  node_store_opts o = {.dir = info->dir, .create = create, .kdf = NODE_KDF_MODERATE};
  cli_pass pw = {0};
  char prompt[PATH_MAX + 64];
  int rc;

  if (info->source == CLI_KEY_FILE) {
    o.key_file = info->key_file;
  } else {
    snprintf(prompt, sizeof prompt, "Passphrase for the store in %s: ", info->dir);
    if ((rc = cli_pass_get(PASS_ENV, prompt, confirm, &pw)) != BT_OK) {
      if (rc == BT_ENOTFOUND)
        cli_say(c, "no key: give --key-file FILE, or the passphrase in " PASS_ENV
                   " (no terminal to ask on)");
      else if (rc == BT_EINVAL)
        cli_say(c, "the passphrase must be 1 to %d bytes%s", CLI_PASS_MAX,
                confirm ? ", typed the same twice" : "");
      else
        cli_say(c, "cannot read the passphrase: %s", bt_strerror(rc));
      return rc;
    }
    o.passphrase = pw.p;
    o.passphrase_len = pw.len;
  }
  rc = node_store_open(out, &o);
  cli_pass_free(&pw);
  if (rc != BT_OK)
    open_failed(c, info, rc);
  return rc;
}

int cli_store_open(const cli_ctx *c, node_store **out, cli_store_info *info)
{
  int rc, have;

  memset(info, 0, sizeof(*info));
  if ((rc = find_dir(c, info)) != BT_OK)
    return rc;
  if ((have = has_store(info->dir)) <= 0) {
    rc = have == 0 ? BT_ENOTFOUND : have;
    open_failed(c, info, rc);
    return rc;
  }
  if ((rc = find_key(c, 0, 0, info)) != BT_OK)
    return rc;
  return open_with(c, 0, 0, out, info);
}

int cli_store_create(const cli_ctx *c, int ask_pass, node_store **out, cli_store_info *info)
{
  int rc, have;

  memset(info, 0, sizeof(*info));
  if ((rc = find_dir(c, info)) != BT_OK)
    return rc;
  if ((have = has_store(info->dir)) < 0) {
    open_failed(c, info, have);
    return have;
  }
  if ((rc = find_key(c, !have, ask_pass, info)) != BT_OK)
    return rc;
  if ((rc = open_with(c, !have, !have, out, info)) != BT_OK && info->key_created) {
    unlink(info->key_file); /* a key for no store would only mislead */
    info->key_created = 0;
  }
  info->store_created = rc == BT_OK && !have;
  return rc;
}
