/* cli/package.c: `baton package export FILE_ID --to ORG|--passphrase` and
 * `baton package import PATH [--receipt OUT]`. Everything is done by
 * node/package.h; this file picks the org, the passphrase and the paths,
 * and says what went wrong in words a DSL can act on. */
#define _POSIX_C_SOURCE 200809L
#include "cli/package.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/login.h"
#include "cli/out.h"
#include "cli/pass.h"
#include "cli/store.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/org.h"
#include "node/package.h"

#define PASS_ENV "BATON_PACKAGE_PASSPHRASE"

static int why(const cli_ctx *c, int rc)
{
  switch (rc) {
  case BT_ENOFILE:
    return cli_fail(c, "this node does not hold that case file: check FILE_ID");
  case BT_ENOTFOUND:
    return cli_fail(c, "that org cannot read this file yet: start a transfer "
                       "('baton transfer start') or grant it access first");
  case BT_ESELFSIGNED:
    return cli_fail(c, "the sender's org certificate is provisional or not from a trusted LA: "
                       "install the LA's certificate (or its anchor) first");
  case BT_EANCHOR:
    return cli_fail(c, "the sender does not chain to an LA this node trusts: add the LA's anchor "
                       "first if you trust it");
  case BT_ESIG:
    return cli_fail(c, "the package is damaged or was altered (bad signature): ask for it again");
  case BT_EDECRYPT:
    return cli_fail(c, "the package does not open here: it is for another org, or the "
                       "passphrase is wrong, or it was altered");
  case BT_EPASS:
    return cli_fail(c, "this package needs its passphrase: set %s or run it at a terminal",
                    PASS_ENV);
  case BT_EDUP:
    return cli_fail(c, "this receipt is recorded already: nothing was stored");
  case BT_ETOOBIG:
    return cli_fail(c, "the package is larger than 64 MiB: not a Baton package");
  case BT_EFILE:
  case BT_EPARENTS:
    return cli_fail(c, "the package is not one whole case file (%s): nothing was stored",
                    bt_strerror(rc));
  default:
    return cli_fail(c, "%s: nothing was stored", bt_strerror(rc));
  }
}

static void text(const json_t *doc)
{
  const char *k;
  json_t *v;
  char buf[64];

  json_object_foreach((json_t *)doc, k, v) {
    if (json_is_string(v))
      cli_out_row(k, json_string_value(v));
    else if (json_is_integer(v)) {
      snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      cli_out_row(k, buf);
    }
  }
}

static int parse_file(const cli_ctx *c, const char *v, uint8_t file[CRDT_FILE_LEN])
{
  size_t n = 0;

  if (strlen(v) != 2 * CRDT_FILE_LEN ||
      sodium_hex2bin(file, CRDT_FILE_LEN, v, strlen(v), NULL, &n, NULL) != 0 ||
      n != CRDT_FILE_LEN)
    return cli_usage(c, "FILE_ID must be the file's 32 hex digits");
  return CLI_OK;
}

/* Whether org is this node's org. */
static int is_us(node_store *s, const crdt_id *org)
{
  node_org me = {0};
  int us = node_org_get(s, &me) == BT_OK && crdt_id_cmp(&me.sign_pk, org) == 0;

  node_org_clear(&me);
  return us;
}

/* A signed package that does not open: say which of the reasons it is. */
static int not_ours(const cli_ctx *c, node_store *s, const node_pkg_info *info)
{
  char f[CRDT_FPR_LEN];

  if (info->kind == PROTO_PKG_PASS)
    return cli_fail(c, "the passphrase is wrong (or the package was altered): nothing was "
                       "stored");
  if (is_us(s, &info->to_org))
    return why(c, BT_EDECRYPT);
  crdt_fingerprint(info->to_org.b, CRDT_PK_LEN, f);
  return cli_fail(c, "this package is sealed to another org (%s), not to this node's: ask the "
                     "sender to export it --to this org; nothing was stored", f);
}

/* ---- export ---- */

enum { E_TO, E_PASS, E_OUT };

static const cli_opt EXPORT_OPTS[] = {
  [E_TO] = {"--to", "ORG", 256, "the receiving org: its exact name or fingerprint"},
  [E_PASS] = {"--passphrase", NULL, 0, "seal with a passphrase (" PASS_ENV " or a prompt)"},
  [E_OUT] = {"--out", "PATH", CLI_PATH_MAX, "where to write it (default FILE_ID.baton)"},
};

static const cli_pos EXPORT_POS[] = {{"FILE_ID", 2 * CRDT_FILE_LEN, 0}};

static int export_run(cli_ctx *c, const cli_args *a)
{
  uint8_t file[CRDT_FILE_LEN], *pkg = NULL;
  char out[CLI_PATH_MAX + 16];
  node_pkg_opts o = {0};
  cli_store_info where;
  cli_pass pw = {0};
  node_store *s = NULL;
  cli_user u;
  crdt_id org;
  size_t len = 0;
  int rc, in_file = 0;

  if ((a->val[E_TO] == NULL) == (a->val[E_PASS] == NULL))
    return cli_usage(c, "give exactly one of --to ORG and --passphrase");
  if (parse_file(c, a->pos[0], file) != CLI_OK)
    return CLI_USAGE;
  snprintf(out, sizeof out, "%s", a->val[E_OUT] ? a->val[E_OUT] : a->pos[0]);
  if (!a->val[E_OUT])
    strcat(out, ".baton");
  if (access(out, F_OK) == 0)
    return cli_fail(c, "%s exists: a package never replaces a file; give another --out", out);
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  if ((rc = cli_login(c, s, NODE_DO_TRANSFER, &u)) != CLI_OK)
    goto done;
  if (a->val[E_TO]) {
    rc = node_package_find_org(s, file, a->val[E_TO], &org, &in_file);
    if (rc == BT_EDUP) {
      rc = cli_fail(c, "several orgs match --to: give more of the fingerprint");
      goto done;
    }
    if (rc == BT_ENOTFOUND) {
      rc = cli_fail(c, "no org matches --to in this file or the LA directory: check the name "
                       "or fingerprint ('baton directory' lists the LA directory's orgs)");
      goto done;
    }
    if (is_us(s, &org)) {
      rc = cli_fail(c, "--to names this node's own org: give the receiving org");
      goto done;
    }
    o.to_org = &org;
  } else if ((rc = cli_pass_get(PASS_ENV, "Package passphrase: ", 1, &pw)) != BT_OK) {
    rc = rc == BT_EINVAL
             ? cli_fail(c, "the passphrase is empty, too long, or the two entries differ")
             : cli_fail(c, "no passphrase: set %s or run at a terminal", PASS_ENV);
    goto done;
  } else {
    o.pass = pw.p;
    o.pass_len = pw.len;
  }
  if ((rc = node_package_export(s, u.name, u.role, file, &o, &pkg, &len)) != BT_OK ||
      (rc = node_package_write(out, pkg, len)) != BT_OK) {
    rc = rc == BT_EDUP ? cli_fail(c, "%s exists: a package never replaces a file; give "
                                     "another --out", out)
                       : why(c, rc);
    goto done;
  }
  rc = cli_out_emit(c, json_pack("{s:s, s:I, s:s}", "package", out, "bytes", (json_int_t)len,
                                 "mode", o.to_org ? "org" : "passphrase"), text);
done:
  free(pkg);
  cli_pass_free(&pw);
  node_store_close(s);
  return rc;
}

const cli_cmd cli_package_export_cmd = {
  "package export", "write a case file as one encrypted, signed package",
  "With --to ORG the package is sealed to that org's key: the org must already\n"
  "have access to the file (a transfer or a grant). With --passphrase it is\n"
  "sealed with a passphrase (Argon2id) and carries the file's keys: the\n"
  "importer can read the file but not write to it. Tell the passphrase by\n"
  "another channel. The file is written with mode 0600 and never replaces one.\n",
  EXPORT_OPTS, 3, EXPORT_POS, 1, export_run,
};

/* ---- import ---- */

enum { I_RECEIPT };

static const cli_opt IMPORT_OPTS[] = {
  [I_RECEIPT] = {"--receipt", "OUT", CLI_PATH_MAX, "where to write the receipt (default "
                 "PATH.receipt)"},
};

static const cli_pos IMPORT_POS[] = {{"PATH", CLI_PATH_MAX, 0}};

static int import_run(cli_ctx *c, const cli_args *a)
{
  char rpath[CLI_PATH_MAX + 16], hex[2 * CRDT_FILE_LEN + 1];
  uint8_t *p = NULL;
  cli_store_info where;
  node_pkg_result r = {0};
  node_pkg_info info;
  cli_pass pw = {0};
  node_store *s = NULL;
  cli_user u;
  size_t len = 0;
  int rc;

  snprintf(rpath, sizeof rpath, "%s", a->val[I_RECEIPT] ? a->val[I_RECEIPT] : a->pos[0]);
  if (!a->val[I_RECEIPT])
    strcat(rpath, ".receipt");
  if ((rc = node_package_read(a->pos[0], &p, &len)) != BT_OK)
    return cli_fail(c, "cannot read the package: %s", bt_strerror(rc));
  if ((rc = node_package_info(p, len, &info)) != BT_OK) {
    free(p);
    return cli_fail(c, "not a Baton package, or damaged (%s)", bt_strerror(rc));
  }
  /* A receipt is made only once, when the file is new here: refuse now
   * rather than import and lose it. (Importing a receipt makes none.) */
  if (info.kind != PROTO_PKG_RECEIPT && access(rpath, F_OK) == 0) {
    free(p);
    return cli_fail(c, "%s exists: move it away or give another --receipt OUT (nothing was "
                       "imported)", rpath);
  }
  if (cli_store_open(c, &s, &where) != BT_OK) {
    free(p);
    return CLI_ERROR;
  }
  if ((rc = cli_login(c, s, NODE_DO_TRANSFER, &u)) != CLI_OK)
    goto done;
  if (info.kind == PROTO_PKG_PASS &&
      cli_pass_get(PASS_ENV, "Package passphrase: ", 0, &pw) != BT_OK) {
    rc = why(c, BT_EPASS);
    goto done;
  }
  if ((rc = node_package_import(s, u.name, u.role, p, len, pw.p, pw.len, &r)) != BT_OK) {
    rc = rc == BT_EDECRYPT ? not_ours(c, s, &info) : why(c, rc);
    goto done;
  }
  sodium_bin2hex(hex, sizeof hex, r.file, CRDT_FILE_LEN);
  if (r.receipt_err) { /* stored all the same */
    rc = cli_fail(c, "imported, but no receipt could be made (%s): export one with 'baton "
                     "package export %s --to SENDER'", bt_strerror(r.receipt_err), hex);
    goto done;
  }
  if (r.receipt && (rc = node_package_write(rpath, r.receipt, r.receipt_len)) != BT_OK) {
    rc = cli_fail(c, "imported, but the receipt could not be written to %s (%s): export one "
                     "with 'baton package export %s --to SENDER'", rpath, bt_strerror(rc), hex);
    goto done;
  }
  rc = cli_out_emit(c, json_pack("{s:s, s:s, s:I, s:I, s:s?}", "file", hex, "kind",
                                 r.kind == PROTO_PKG_RECEIPT ? "receipt" : "package", "ops",
                                 (json_int_t)r.nops, "stored", (json_int_t)r.stored, "receipt",
                                 r.receipt ? rpath : NULL), text);
done:
  node_pkg_result_clear(&r);
  cli_pass_free(&pw);
  node_store_close(s);
  free(p);
  return rc;
}

const cli_cmd cli_package_import_cmd = {
  "package import", "check and store a package, or record a receipt",
  "Checks the signature and the sender's certificates against this node's\n"
  "trust anchors, then every op; stores all of them or nothing. Writes a\n"
  "receipt for the sender (--receipt OUT) when the file is new here; the\n"
  "sender imports that receipt with this same command.\n",
  IMPORT_OPTS, 1, IMPORT_POS, 1, import_run,
};
