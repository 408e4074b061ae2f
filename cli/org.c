/* cli/org.c: an org's certificate and the LA roots it trusts:
 *
 *   baton org request [--out FILE]     this org's request to its LA
 *   baton org install CERT_FILE        the certificate the LA issued
 *   baton anchor add ROOT_KEY          trust an LA root (64 hex digits)
 *   baton anchors                      the roots trusted
 *
 * and the helpers of cli/setup.h. The request is the org's provisional
 * (self-signed) certificate, which proves the org holds its signing key;
 * node_org_install checks the issued certificate (ours, from a trusted
 * root, in date) before anything is stored. */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/armor.h"
#include "cli/ident.h"
#include "cli/out.h"
#include "cli/setup.h"
#include "cli/store.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"

#define ANCHORS_MAX 64

uint64_t cli_setup_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

json_t *cli_setup_cert_json(const crdt_cert *c)
{
  char from[32], until[32];
  const char *kind = cli_ident_kind_name(c->b.org_kind);
  json_t *j;

  cli_out_time(c->b.not_before, from, sizeof from);
  cli_out_time(c->b.not_after, until, sizeof until);
  j = json_pack("{s:o, s:s?, s:o, s:o, s:s, s:s}", "name", cli_out_str(c->b.name), "kind", kind,
                "fingerprint", cli_out_fpr(c->b.subject.b), "issuer",
                cli_out_fpr(c->b.issuer.b), "valid_from", from, "valid_until", until);
  if (j && ((c->b.urn.len && json_object_set_new(j, "urn", cli_out_str(c->b.urn)) != 0) ||
            (c->b.laestab.len &&
             json_object_set_new(j, "laestab", cli_out_str(c->b.laestab)) != 0))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

void cli_setup_cert_line(const crdt_cert *c, char *buf, size_t len)
{
  char fpr[CRDT_FPR_LEN];
  const char *kind = cli_ident_kind_name(c->b.org_kind);

  crdt_fingerprint(c->b.subject.b, CRDT_PK_LEN, fpr);
  snprintf(buf, len, "%.*s (%s) %s", (int)c->b.name.len, (const char *)c->b.name.p,
           kind ? kind : "?", fpr);
}

void cli_setup_cert_text(const json_t *o)
{
  char buf[256];

  snprintf(buf, sizeof buf, "%s (%s)", cli_out_get(o, "name"), cli_out_get(o, "kind"));
  cli_out_row("org", buf);
  if (cli_out_get(o, "urn"))
    cli_out_row("URN", cli_out_get(o, "urn"));
  if (cli_out_get(o, "laestab"))
    cli_out_row("LAESTAB", cli_out_get(o, "laestab"));
  cli_out_row("org fingerprint", cli_out_get(o, "fingerprint"));
  cli_out_row("issued by", cli_out_get(o, "issuer"));
  snprintf(buf, sizeof buf, "%s to %s", cli_out_get(o, "valid_from"),
           cli_out_get(o, "valid_until"));
  cli_out_row("valid", buf);
}

const char *cli_setup_cert_why(int rc)
{
  switch (rc) {
  case BT_EINVAL:
    return "the certificate is not for this node's org (another org's keys): install the "
           "certificate the LA made from this node's own request";
  case BT_EANCHOR:
    return "it was issued by an LA root this node does not trust: `baton anchor add ROOT_KEY` "
           "first, after comparing the fingerprint with the LA";
  case BT_ESELFSIGNED:
    return "it is a provisional (self-signed) certificate, not one an LA issued: use what "
           "`baton root certify` wrote";
  case BT_EEXPIRED:
    return "it is not valid at this time (expired, or not yet valid: check both clocks)";
  case BT_EREVOKED:
    return "the LA has revoked it";
  case BT_ECHAIN:
    return "it is not an org certificate";
  default:
    return "it is not a valid Baton certificate (damaged or altered)";
  }
}

int cli_setup_open(const cli_ctx *c, node_store **s)
{
  cli_store_info where;

  return cli_store_open(c, s, &where) == BT_OK ? CLI_OK : CLI_ERROR;
}

/* ---- org request ---------------------------------------------------------------- */

enum { O_OUT };
static const cli_opt OUT_OPTS[] = {
  [O_OUT] = {"--out", "FILE", CLI_PATH_MAX, "write it to FILE (default: stdout)"},
};

static void request_text(const json_t *doc)
{
  const char *file = cli_out_get(doc, "file");

  if (file == NULL) {
    fputs(cli_out_get(doc, "request"), stdout);
    return;
  }
  cli_setup_cert_text(json_object_get(doc, "org"));
  cli_out_row("request", file);
  printf("Give the file to the LA; compare the org fingerprint with them by phone.\n");
}

/* The armoured request, and doc's "org", from the node's provisional cert. */
static int request_make(const cli_ctx *c, node_store *s, char **text, json_t **org)
{
  char note[300];
  crdt_cert *cert = NULL;
  node_org o;
  int rc;

  if ((rc = node_org_get(s, &o)) != BT_OK)
    return rc == BT_ENOTFOUND ? cli_fail(c, "this node has no org yet: `baton init NAME` first")
                              : cli_fail(c, "cannot read this node's org: %s", bt_strerror(rc));
  if (!o.provisional) {
    node_org_clear(&o);
    return cli_fail(c, "this org is already certified by its LA (`baton status`): there is "
                       "nothing to request");
  }
  rc = crdt_cert_decode(o.org_cert, o.org_cert_len, &cert);
  if (rc == BT_OK) {
    cli_setup_cert_line(cert, note, sizeof note);
    *text = cli_armor(CLI_ARMOR_ORG_REQUEST, note, o.org_cert, o.org_cert_len);
    *org = cli_setup_cert_json(cert);
  }
  crdt_cert_free(cert);
  node_org_clear(&o);
  if (rc != BT_OK)
    return cli_fail(c, "cannot read this node's org certificate: %s", bt_strerror(rc));
  if (*text == NULL || *org == NULL)
    return cli_fail(c, "out of memory");
  return CLI_OK;
}

static int request_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  char *text = NULL;
  json_t *org = NULL, *doc;
  int rc;

  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = request_make(c, s, &text, &org);
  node_store_close(s);
  if (rc == CLI_OK && a->val[O_OUT])
    rc = cli_armor_write(c, a->val[O_OUT], text);
  if (rc == CLI_OK) {
    doc = json_pack("{s:o, s:s, s:s?}", "org", org, "request", text, "file", a->val[O_OUT]);
    org = NULL;
    rc = cli_out_emit(c, doc, request_text);
  }
  json_decref(org);
  free(text);
  return rc;
}

const cli_cmd cli_org_request_cmd = {
  .name = "org request",
  .summary = "write this org's certificate request for its LA",
  .about = "Writes this org's provisional (self-signed) certificate as a request for the\n"
           "LA to certify with `baton root certify`. It holds no secret. Compare the org\n"
           "fingerprint it shows with the LA out of band.",
  .opts = OUT_OPTS, .nopts = 1, .run = request_run,
};

/* ---- org install ---------------------------------------------------------------- */

static const cli_pos CERT_POS[] = {{"CERT_FILE", CLI_PATH_MAX, 0}};

static void install_text(const json_t *doc)
{
  printf("Installed the org certificate.\n");
  cli_ident_text(doc);
}

static int install_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  uint8_t *cert = NULL;
  size_t len = 0;
  json_t *device = NULL, *org = NULL;
  int rc;

  if ((rc = cli_armor_read(c, a->pos[0], CLI_ARMOR_ORG_CERT, CRDT_CERT_MAX, &cert, &len)) !=
      CLI_OK)
    return rc;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK) {
    free(cert);
    return rc;
  }
  if ((rc = node_org_install(s, cert, len, cli_setup_now())) == BT_ENOTFOUND)
    rc = cli_fail(c, "this node has no org yet: `baton init NAME` first");
  else if (rc != BT_OK)
    rc = cli_fail(c, "%s: not installed (%s): %s", a->pos[0], bt_errname(rc),
                  cli_setup_cert_why(rc));
  else if ((rc = cli_ident_json(s, &device, &org)) != BT_OK)
    rc = cli_fail(c, "cannot read the org back: %s", bt_strerror(rc));
  else
    rc = cli_out_emit(c, json_pack("{s:o, s:o}", "device", device, "org", org), install_text);
  node_store_close(s);
  free(cert);
  return rc;
}

const cli_cmd cli_org_install_cmd = {
  .name = "org install",
  .summary = "install the org certificate the LA issued",
  .about = "Installs the certificate `baton root certify` made from this org's request. It\n"
           "must certify this org's keys and come from a trusted LA root (`baton anchor\n"
           "add` first); otherwise nothing changes. Peers accept the node from then on.",
  .pos = CERT_POS, .npos = 1, .run = install_run,
};

/* ---- anchors ---------------------------------------------------------------------- */

static const cli_pos KEY_POS[] = {{"ROOT_KEY", 64, 0}};

static json_t *anchor_json(const crdt_id *k, const crdt_id *own)
{
  char hex[2 * CRDT_PK_LEN + 1];

  sodium_bin2hex(hex, sizeof hex, k->b, CRDT_PK_LEN);
  return json_pack("{s:s, s:o, s:b}", "key", hex, "fingerprint", cli_out_fpr(k->b), "own",
                   own && memcmp(own->b, k->b, CRDT_PK_LEN) == 0);
}

static void anchor_text(const json_t *doc)
{
  printf("Trusting the LA root %s.\n", cli_out_get(doc, "fingerprint"));
  cli_out_row("root key", cli_out_get(doc, "key"));
  cli_out_row("fingerprint", cli_out_get(doc, "fingerprint"));
  printf("Compare the fingerprint with the LA. Its directory comes with the next sync.\n");
}

static int anchor_add_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  crdt_id k;
  size_t n = 0;
  int rc;

  if (strlen(a->pos[0]) != 64 ||
      sodium_hex2bin(k.b, sizeof k.b, a->pos[0], 64, NULL, &n, NULL) != 0 || n != CRDT_PK_LEN)
    return cli_usage(c, "ROOT_KEY must be the LA root key's 64 hex digits (`baton root show` "
                        "on the LA node prints them)");
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  if ((rc = node_anchor_add(s, &k)) == BT_OK || rc == BT_EDUP)
    rc = node_dir_track(s, &k);
  node_store_close(s);
  if (rc != BT_OK && rc != BT_EDUP)
    return cli_fail(c, "cannot add the anchor: %s", bt_strerror(rc));
  return cli_out_emit(c, anchor_json(&k, NULL), anchor_text);
}

const cli_cmd cli_anchor_add_cmd = {
  .name = "anchor add",
  .summary = "trust an LA root key (and carry its directory)",
  .about = "Adds the LA root key (64 hex digits, as `baton root show` prints it) to the\n"
           "keys this node trusts, and starts carrying that LA's directory. Compare the\n"
           "fingerprint it prints with the LA's out of band. Adding it again is harmless.",
  .pos = KEY_POS, .npos = 1, .run = anchor_add_run,
};

static void anchors_text(const json_t *doc)
{
  const json_t *o;
  size_t k;

  if (json_array_size(json_object_get(doc, "anchors")) == 0)
    printf("No LA root is trusted yet: `baton anchor add ROOT_KEY`.\n");
  json_array_foreach(json_object_get(doc, "anchors"), k, o)
    printf("%s  %s%s\n", cli_out_get(o, "fingerprint"), cli_out_get(o, "key"),
           json_is_true(json_object_get(o, "own")) ? "  (this node's own root)" : "");
}

static int anchors_run(cli_ctx *c, const cli_args *a)
{
  crdt_id keys[ANCHORS_MAX], own;
  node_store *s = NULL;
  size_t n = 0;
  int rc, has_own;
  json_t *arr;

  (void)a;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = node_anchors(s, keys, ANCHORS_MAX, &n);
  has_own = node_root_pk(s, &own) == BT_OK;
  node_store_close(s);
  if (rc != BT_OK)
    return cli_fail(c, "cannot read the anchors: %s", bt_strerror(rc));
  arr = json_array();
  for (size_t k = 0; arr && k < n && k < ANCHORS_MAX; k++)
    json_array_append_new(arr, anchor_json(&keys[k], has_own ? &own : NULL));
  return cli_out_emit(c, arr ? json_pack("{s:o}", "anchors", arr) : NULL, anchors_text);
}

const cli_cmd cli_anchors_cmd = {
  .name = "anchors",
  .summary = "list the LA root keys this node trusts",
  .run = anchors_run,
};
