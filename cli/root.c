/* cli/root.c: an LA node's root key:
 *
 *   baton root create                          the root, and the LA's own org
 *                                              certified by it and listed
 *   baton root show                            the root key and fingerprint
 *   baton root certify REQUEST_FILE [--out CERT_FILE] [--days N]
 *
 * `root create` is one step made of four node/ calls (node_root_create,
 * node_root_certify of the LA's own request, node_org_install,
 * node_dir_publish). They are not one transaction, so it resumes: run on a
 * node that has the root but not yet the rest, it does the rest; run on a
 * node where all is done, it changes nothing (exit 1). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/armor.h"
#include "cli/ident.h"
#include "cli/out.h"
#include "cli/setup.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"

static json_t *root_json(const crdt_id *pk)
{
  char hex[2 * CRDT_PK_LEN + 1];

  sodium_bin2hex(hex, sizeof hex, pk->b, CRDT_PK_LEN);
  return json_pack("{s:s, s:o}", "key", hex, "fingerprint", cli_out_fpr(pk->b));
}

static void root_rows(const json_t *root)
{
  cli_out_row("root key", cli_out_get(root, "key"));
  cli_out_row("root fingerprint", cli_out_get(root, "fingerprint"));
}

/* ---- root create ------------------------------------------------------------------ */

/* The LA's own org: certified by its root (from its provisional cert) and
 * installed, unless it is already; *cert gets the certificate in use. */
static int own_cert(node_store *s, uint8_t **cert, size_t *len)
{
  node_org o;
  int rc;

  if ((rc = node_org_get(s, &o)) != BT_OK)
    return rc;
  if (!o.provisional) {
    *cert = o.org_cert;
    *len = o.org_cert_len;
    o.org_cert = NULL;
  } else if ((rc = node_root_certify(s, o.org_cert, o.org_cert_len, cli_setup_now(),
                                     NODE_CERT_DAYS_DEFAULT, cert, len)) == BT_OK &&
             (rc = node_org_install(s, *cert, *len, cli_setup_now())) != BT_OK) {
    free(*cert);
  }
  node_org_clear(&o);
  return rc;
}

/* Lists the LA's own org in its directory unless it is there. *done 1
 * when nothing had to be done. */
static int own_listing(node_store *s, const crdt_id *root, const uint8_t *cert, size_t len,
                       int *done)
{
  crdt_directory *dir = NULL;
  crdt_cert *c = NULL;
  crdt_id op;
  int rc;

  *done = 0;
  if ((rc = crdt_cert_decode(cert, len, &c)) != BT_OK)
    return rc;
  if ((rc = node_dir_track(s, root)) == BT_OK &&
      (rc = node_dir_get(s, root, cli_setup_now(), &dir)) == BT_OK &&
      crdt_directory_find(dir, c->b.subject.b) != NULL)
    *done = 1;
  else if (rc == BT_OK)
    rc = node_dir_publish(s, cert, len, &op);
  crdt_directory_free(dir);
  crdt_cert_free(c);
  return rc;
}

static int check_la(const cli_ctx *c, node_store *s)
{
  crdt_cert *cert = NULL;
  node_org o;
  int rc, kind = 0;

  if ((rc = node_org_get(s, &o)) == BT_ENOTFOUND)
    return cli_fail(c, "this node has no org yet: `baton init NAME --kind la` first");
  if (rc != BT_OK)
    return cli_fail(c, "cannot read this node's org: %s", bt_strerror(rc));
  if (crdt_cert_decode(o.org_cert, o.org_cert_len, &cert) == BT_OK)
    kind = (int)cert->b.org_kind;
  crdt_cert_free(cert);
  node_org_clear(&o);
  if (kind != CRDT_ORG_LA)
    return cli_fail(c, "only an LA's node holds a root key, and this org is not an LA "
                       "(`baton status`): nothing changed");
  return CLI_OK;
}

static void create_text(const json_t *doc)
{
  printf("This node is now an LA root, and the LA's own org is certified and listed.\n");
  root_rows(json_object_get(doc, "root"));
  cli_ident_text(doc);
  printf("Give schools the root key (64 hex digits) and read them the fingerprint.\n");
}

static int create_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  json_t *device = NULL, *org = NULL;
  uint8_t *cert = NULL;
  size_t len = 0;
  crdt_id root;
  int rc, made = 0, listed = 0;

  (void)a;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  if ((rc = check_la(c, s)) != CLI_OK)
    goto out;
  if ((rc = node_root_pk(s, &root)) == BT_ENOTFOUND && (rc = node_root_create(s, &root)) == 0)
    made = 1;
  if (rc == BT_OK && (rc = own_cert(s, &cert, &len)) == BT_OK)
    rc = own_listing(s, &root, cert, len, &listed);
  if (rc != BT_OK) {
    rc = cli_fail(c, "cannot set the root up: %s (run `baton root create` again to finish)",
                  bt_strerror(rc));
  } else if (!made && listed) {
    rc = cli_fail(c, "this node already holds an LA root key, its org is certified and "
                     "listed: nothing changed (`baton root show`)");
  } else if ((rc = cli_ident_json(s, &device, &org)) != BT_OK) {
    rc = cli_fail(c, "cannot read the org back: %s", bt_strerror(rc));
  } else {
    rc = cli_out_emit(c, json_pack("{s:o, s:o, s:o}", "root", root_json(&root), "device",
                                   device, "org", org), create_text);
  }
out:
  free(cert);
  node_store_close(s);
  return rc;
}

const cli_cmd cli_root_create_cmd = {
  .name = "root create",
  .summary = "LA node: create the LA root key; certify and list the LA's own org",
  .about = "On an LA's node (`baton init NAME --kind la`): creates the LA root key (the\n"
           "trust anchor schools add), trusts it here, certifies the LA's own org with it\n"
           "and lists that org in the LA's directory. Interrupted, it finishes when run\n"
           "again; once everything is done it changes nothing (exit 1).",
  .run = create_run,
};

/* ---- root show -------------------------------------------------------------------- */

static void show_text(const json_t *doc)
{
  root_rows(doc);
}

static int show_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  crdt_id root;
  int rc;

  (void)a;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = node_root_pk(s, &root);
  node_store_close(s);
  if (rc == BT_ENOTFOUND)
    return cli_fail(c, "this node holds no LA root key (`baton root create` on an LA node)");
  if (rc != BT_OK)
    return cli_fail(c, "cannot read the root key: %s", bt_strerror(rc));
  return cli_out_emit(c, root_json(&root), show_text);
}

const cli_cmd cli_root_show_cmd = {
  .name = "root show",
  .summary = "LA node: show the root key and its fingerprint",
  .run = show_run,
};

/* ---- root certify ----------------------------------------------------------------- */

enum { O_OUT, O_DAYS };
static const cli_opt CERTIFY_OPTS[] = {
  [O_OUT] = {"--out", "CERT_FILE", CLI_PATH_MAX, "write the certificate to CERT_FILE (default: "
                                                 "stdout)"},
  [O_DAYS] = {"--days", "N", 4, "days it is valid, 1..3650 (default 825)"},
};
static const cli_pos REQ_POS[] = {{"REQUEST_FILE", CLI_PATH_MAX, 0}};

static void certify_text(const json_t *doc)
{
  if (cli_out_get(doc, "file") == NULL) {
    fputs(cli_out_get(doc, "certificate"), stdout);
    return;
  }
  printf("Certified:\n");
  cli_setup_cert_text(json_object_get(doc, "org"));
  cli_out_row("certificate", cli_out_get(doc, "file"));
  printf("Give the file back to the org (`baton org install`), then list it with\n"
         "`baton directory publish`.\n");
}

static int parse_days(const char *v, uint32_t *days)
{
  char *end;
  unsigned long d;

  if (v == NULL) {
    *days = NODE_CERT_DAYS_DEFAULT;
    return CLI_OK;
  }
  d = strtoul(v, &end, 10);
  if (*v < '0' || *v > '9' || *end != '\0' || d < 1 || d > 3650)
    return CLI_USAGE;
  *days = (uint32_t)d;
  return CLI_OK;
}

/* Certifies req and builds the result (doc's certificate and org). */
static int certify(const cli_ctx *c, node_store *s, const uint8_t *req, size_t rlen,
                   uint32_t days, char **text, json_t **org)
{
  char note[300];
  uint8_t *cert = NULL;
  crdt_cert *dc = NULL;
  size_t len = 0;
  int rc = node_root_certify(s, req, rlen, cli_setup_now(), days, &cert, &len);

  if (rc == BT_ENOTFOUND)
    return cli_fail(c, "this node holds no LA root key (`baton root create` first)");
  if (rc != BT_OK)
    return cli_fail(c, "the request was not certified (%s): it is not an org's provisional "
                       "certificate (damaged, or not made by `baton org request`)",
                    bt_errname(rc));
  if ((rc = crdt_cert_decode(cert, len, &dc)) == BT_OK) {
    cli_setup_cert_line(dc, note, sizeof note);
    *text = cli_armor(CLI_ARMOR_ORG_CERT, note, cert, len);
    *org = cli_setup_cert_json(dc);
  }
  crdt_cert_free(dc);
  free(cert);
  if (rc != BT_OK || *text == NULL || *org == NULL)
    return cli_fail(c, "cannot write the certificate: %s", bt_strerror(rc ? rc : BT_ENOMEM));
  return CLI_OK;
}

static int certify_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  uint8_t *req = NULL;
  size_t rlen = 0;
  uint32_t days;
  char *text = NULL;
  json_t *org = NULL, *doc;
  int rc;

  if (parse_days(a->val[O_DAYS], &days) != CLI_OK)
    return cli_usage(c, "--days must be a number of days from 1 to 3650");
  if ((rc = cli_armor_read(c, a->pos[0], CLI_ARMOR_ORG_REQUEST, CRDT_CERT_MAX, &req, &rlen)) !=
      CLI_OK)
    return rc;
  if ((rc = cli_setup_open(c, &s)) == CLI_OK) {
    rc = certify(c, s, req, rlen, days, &text, &org);
    node_store_close(s);
  }
  free(req);
  if (rc == CLI_OK && a->val[O_OUT])
    rc = cli_armor_write(c, a->val[O_OUT], text);
  if (rc == CLI_OK) {
    doc = json_pack("{s:o, s:s, s:s?}", "org", org, "certificate", text, "file",
                    a->val[O_OUT]);
    org = NULL;
    rc = cli_out_emit(c, doc, certify_text);
  }
  json_decref(org);
  free(text);
  return rc;
}

const cli_cmd cli_root_certify_cmd = {
  .name = "root certify",
  .summary = "LA node: issue an org certificate from an org's request",
  .about = "Certifies the org whose request (`baton org request` on its node) is in\n"
           "REQUEST_FILE with this node's LA root key. Check the name, URN and\n"
           "fingerprint it shows with the org before giving the certificate back. The\n"
           "store does not change: list the org with `baton directory publish`.",
  .opts = CERTIFY_OPTS, .nopts = 2, .pos = REQ_POS, .npos = 1, .run = certify_run,
};
