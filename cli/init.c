/* cli/init.c: `baton init NAME [--kind school|la|mash] [--urn N]
 * [--laestab N] [--passphrase]`.
 *
 * What batond --init does, as a command of its own: the key file (if the
 * store will use one and it is missing), the store, and an org with a
 * provisional certificate. A directory that already holds a node with an
 * org is left alone (exit 1); a store without an org (an init cut short)
 * gets its org. Everything is checked before the store is touched, so a
 * usage error changes nothing on disk. */
#include "cli/init.h"

#include <stdio.h>
#include <string.h>

#include "cli/ident.h"
#include "cli/out.h"
#include "cli/store.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/org.h"

enum { O_KIND, O_URN, O_LAESTAB, O_PASS };

static const cli_opt OPTS[] = {
  [O_KIND] = {"--kind", "KIND", 8, "school (default), la or mash"},
  [O_URN] = {"--urn", "URN", 6, "the school's unique reference number (6 digits)"},
  [O_LAESTAB] = {"--laestab", "NUMBER", 7, "LA code and DfE establishment number (7 digits)"},
  [O_PASS] = {"--passphrase", NULL, 0,
              "seal the store under a passphrase, not a key file"},
};

static const cli_pos POS[] = {{"NAME", 128, 0}}; /* crdt/cert.c: name, 128 bytes */

static int digits(const char *v, size_t n)
{
  if (strlen(v) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] < '0' || v[i] > '9')
      return 0;
  return 1;
}

static int check(const cli_ctx *c, const cli_args *a, node_org_info *info)
{
  const char *kind = a->val[O_KIND] ? a->val[O_KIND] : "school";

  info->kind = 0;
  if ((strcmp(kind, "school") != 0 && strcmp(kind, "la") != 0 && strcmp(kind, "mash") != 0) ||
      cli_ident_kind_parse(kind, &info->kind) != BT_OK)
    return cli_usage(c, "--kind must be school, la or mash");
  if (a->val[O_URN] && !digits(a->val[O_URN], 6))
    return cli_usage(c, "--urn must be 6 digits (the school's URN)");
  if (a->val[O_LAESTAB] && !digits(a->val[O_LAESTAB], 7))
    return cli_usage(c, "--laestab must be 7 digits (LA code and establishment number)");
  info->name = a->pos[0];
  info->urn = a->val[O_URN];
  info->laestab = a->val[O_LAESTAB];
  return CLI_OK;
}

static const char *source_name(cli_key_source k)
{
  return k == CLI_KEY_FILE ? "key-file" : k == CLI_KEY_ENV ? "env" : "prompt";
}

static json_t *result(const cli_store_info *where, json_t *device, json_t *org)
{
  json_t *key = json_pack("{s:s, s:b}", "source", source_name(where->source), "created",
                          where->key_created);

  if (key && where->source == CLI_KEY_FILE &&
      json_object_set_new(key, "file", json_string(where->key_file)) != 0) {
    json_decref(key);
    key = NULL;
  }
  return json_pack("{s:s, s:b, s:o, s:o, s:o}", "dir", where->dir, "store_created",
                   where->store_created, "key", key, "device", device, "org", org);
}

static void text(const json_t *doc)
{
  const json_t *key = json_object_get(doc, "key");
  const char *file = cli_out_get(key, "file");

  printf("Created a Baton node in %s.\n", cli_out_get(doc, "dir"));
  cli_out_row("data directory", cli_out_get(doc, "dir"));
  if (file && json_is_true(json_object_get(key, "created")))
    printf("%-20s %s (new: back it up, and keep it out of the data directory)\n", "key file",
           file);
  else if (file)
    cli_out_row("key file", file);
  else
    cli_out_row("key", "a passphrase (asked for, or BATON_PASSPHRASE, at each use)");
  cli_ident_text(doc);
}

/* The org, unless the node has one: then say so and change nothing. */
static int make_org(const cli_ctx *c, node_store *s, const cli_store_info *where,
                    const node_org_info *info)
{
  node_org o;
  int rc = node_org_get(s, &o);

  if (rc == BT_OK) {
    node_org_clear(&o);
    return cli_fail(c, "%s already holds a node with an org: nothing changed (`baton status` "
                       "shows it; use --dir DIR for another node)", where->dir);
  }
  if (rc == BT_ENOTFOUND)
    rc = node_org_create(s, info);
  if (rc != BT_OK)
    return cli_fail(c, "cannot create the org: %s", bt_strerror(rc));
  return CLI_OK;
}

static int run(cli_ctx *c, const cli_args *a)
{
  node_org_info info;
  cli_store_info where;
  node_store *s = NULL;
  json_t *device = NULL, *org = NULL;
  int rc;

  if ((rc = check(c, a, &info)) != CLI_OK)
    return rc;
  if (cli_store_create(c, a->val[O_PASS] != NULL, &s, &where) != BT_OK)
    return CLI_ERROR;
  if ((rc = make_org(c, s, &where, &info)) == CLI_OK) {
    if ((rc = cli_ident_json(s, &device, &org)) != BT_OK)
      rc = cli_fail(c, "cannot read the new org: %s", bt_strerror(rc));
    else
      rc = cli_out_emit(c, result(&where, device, org), text);
  }
  node_store_close(s);
  return rc;
}

const cli_cmd cli_init_cmd = {
  .name = "init",
  .summary = "create this node's store and org",
  .about = "Creates the data directory's store and an org called NAME with a provisional\n"
           "(self-signed) certificate, and prints the device and org fingerprints. Peers\n"
           "refuse the node until its LA certifies the org.\n"
           "\n"
           "The store is sealed under the key file (--key-file FILE, else\n"
           "~/.config/baton/node.key, created mode 0600 if missing) or, with --passphrase\n"
           "or BATON_PASSPHRASE set, under a passphrase. A directory that already holds a\n"
           "node is left alone (exit 1).",
  .opts = OPTS,
  .nopts = sizeof OPTS / sizeof OPTS[0],
  .pos = POS,
  .npos = 1,
  .run = run,
};
