/* cli/dir.c: the LA directory (docs/access.md, "The LA directory"):
 *
 *   baton directory                           the orgs of every trusted LA
 *   baton directory publish CERT_FILE         LA node: list an org it certified
 *   baton directory revoke FPR --reason R     LA node: revoke a listed org
 *
 * The directory is a public file authored by the root key; it reaches
 * every node that trusts the LA with the next sync. A revocation counts on
 * a node once that node applies it (node_dir_apply: `baton sync` does it
 * after each sync). Orgs are named by their signing key's fingerprint,
 * read the way crdt_fingerprint writes it (any case, dashes optional, O
 * read as 0, I and L as 1). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/armor.h"
#include "cli/out.h"
#include "cli/setup.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"

#define ANCHORS_MAX 64

static const char *const WHEN[] = {"current", "not yet valid", "expired"};

static json_t *entry_json(const crdt_dir_entry *e)
{
  json_t *j = cli_setup_cert_json(e->cert);
  char at[32];

  if (j == NULL)
    return NULL;
  json_object_set_new(j, "status", json_string(e->revoked ? "revoked"
                                                : e->when <= 2 ? WHEN[e->when] : "?"));
  json_object_set_new(j, "revoked", json_boolean(e->revoked));
  if (e->revoked) {
    cli_out_time(e->revoked_at, at, sizeof at);
    json_object_set_new(j, "revoked_at", json_string(at));
    json_object_set_new(j, "revoke_reason", cli_out_str(e->revoke_reason));
  }
  return j;
}

/* One LA's directory: {"root", "own", "orgs": [...]}. */
static json_t *dir_json(node_store *s, const crdt_id *root, int own, int *rc)
{
  crdt_directory *d = NULL;
  json_t *orgs = json_array(), *j;

  if ((*rc = node_dir_get(s, root, cli_setup_now(), &d)) == BT_ENOFILE)
    *rc = BT_OK; /* trusted before `anchor add` tracked directories: nothing yet */
  for (size_t k = 0; orgs && d && k < d->nentries; k++)
    json_array_append_new(orgs, entry_json(&d->entries[k]));
  crdt_directory_free(d);
  j = json_pack("{s:o, s:b, s:o}", "root", cli_out_fpr(root->b), "own", own, "orgs", orgs);
  return *rc == BT_OK ? j : (json_decref(j), NULL);
}

static void list_text(const json_t *doc)
{
  const json_t *d, *o;
  size_t k, m;

  if (json_array_size(json_object_get(doc, "directories")) == 0)
    printf("No LA root is trusted yet: `baton anchor add ROOT_KEY`.\n");
  json_array_foreach(json_object_get(doc, "directories"), k, d) {
    printf("%sLA root %s%s\n", k ? "\n" : "", cli_out_get(d, "root"),
           json_is_true(json_object_get(d, "own")) ? " (this node's)" : "");
    if (json_array_size(json_object_get(d, "orgs")) == 0)
      printf("  no orgs yet (they come with a sync with the LA: `baton sync ADDR:PORT`)\n");
    json_array_foreach(json_object_get(d, "orgs"), m, o) {
      const char *num = cli_out_get(o, "urn") ? cli_out_get(o, "urn")
                                              : cli_out_get(o, "laestab");
      printf("  %-40s %-7s %-7s %s  %s%s%s\n", cli_out_get(o, "name"), cli_out_get(o, "kind"),
             num ? num : "-", cli_out_get(o, "fingerprint"), cli_out_get(o, "status"),
             json_is_true(json_object_get(o, "revoked")) ? ": " : "",
             json_is_true(json_object_get(o, "revoked")) ? cli_out_get(o, "revoke_reason")
                                                          : "");
    }
  }
}

static int list_run(cli_ctx *c, const cli_args *a)
{
  crdt_id roots[ANCHORS_MAX], own;
  node_store *s = NULL;
  size_t n = 0;
  json_t *arr = json_array();
  int rc, has_own;

  (void)a;
  if (arr == NULL || (rc = cli_setup_open(c, &s)) != CLI_OK) {
    json_decref(arr);
    return CLI_ERROR;
  }
  has_own = node_root_pk(s, &own) == BT_OK;
  rc = node_anchors(s, roots, ANCHORS_MAX, &n);
  for (size_t k = 0; rc == BT_OK && k < n && k < ANCHORS_MAX; k++)
    json_array_append_new(arr, dir_json(s, &roots[k],
                                        has_own && memcmp(own.b, roots[k].b, 32) == 0, &rc));
  node_store_close(s);
  if (rc != BT_OK) {
    json_decref(arr);
    return cli_fail(c, "cannot read the directory: %s", bt_strerror(rc));
  }
  return cli_out_emit(c, json_pack("{s:o}", "directories", arr), list_text);
}

const cli_cmd cli_directory_cmd = {
  .name = "directory",
  .summary = "list the orgs in the directories of the LAs this node trusts",
  .about = "Shows, for each trusted LA root, the orgs its directory lists: name, kind,\n"
           "URN or LAESTAB, the fingerprint of the org's key, and whether the\n"
           "certificate is current, expired or revoked (with the LA's reason).\n"
           "Schools get the directory from the LA with each sync.",
  .run = list_run,
};

/* ---- publish ---------------------------------------------------------------------- */

static const cli_pos CERT_POS[] = {{"CERT_FILE", CLI_PATH_MAX, 0}};

static void publish_text(const json_t *doc)
{
  printf(json_is_true(json_object_get(doc, "published"))
           ? "Listed in this LA's directory:\n"
           : "Already listed in this LA's directory (nothing changed):\n");
  cli_setup_cert_text(json_object_get(doc, "org"));
}

static int publish(const cli_ctx *c, node_store *s, const uint8_t *cert, size_t len, int *done)
{
  crdt_directory *d = NULL;
  crdt_cert *dc = NULL;
  crdt_id root, op;
  int rc;

  *done = 0;
  if ((rc = node_root_pk(s, &root)) == BT_ENOTFOUND)
    return cli_fail(c, "this node holds no LA root key: only the LA's node publishes "
                       "(`baton root create`)");
  if (rc == BT_OK && (rc = crdt_cert_decode(cert, len, &dc)) == BT_OK &&
      (rc = node_dir_get(s, &root, cli_setup_now(), &d)) == BT_OK) {
    for (size_t k = 0; k < d->nentries; k++)
      if (memcmp(d->entries[k].cert->id.b, dc->id.b, 32) == 0)
        *done = 1;
  }
  crdt_directory_free(d);
  crdt_cert_free(dc);
  if (rc == BT_OK && !*done)
    rc = node_dir_publish(s, cert, len, &op);
  if (rc == BT_EANCHOR)
    return cli_fail(c, "this certificate was not issued by this LA's root: nothing changed");
  if (rc != BT_OK)
    return cli_fail(c, "not published (%s): %s", bt_errname(rc), cli_setup_cert_why(rc));
  return CLI_OK;
}

static int publish_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  uint8_t *cert = NULL;
  crdt_cert *dc = NULL;
  size_t len = 0;
  int rc, done = 0;

  if ((rc = cli_armor_read(c, a->pos[0], CLI_ARMOR_ORG_CERT, CRDT_CERT_MAX, &cert, &len)) !=
      CLI_OK)
    return rc;
  if ((rc = cli_setup_open(c, &s)) == CLI_OK) {
    rc = publish(c, s, cert, len, &done);
    node_store_close(s);
  }
  if (rc == CLI_OK && crdt_cert_decode(cert, len, &dc) == BT_OK)
    rc = cli_out_emit(c, json_pack("{s:o, s:b}", "org", cli_setup_cert_json(dc), "published",
                                   !done), publish_text);
  crdt_cert_free(dc);
  free(cert);
  return rc;
}

const cli_cmd cli_directory_publish_cmd = {
  .name = "directory publish",
  .summary = "LA node: list an org this LA certified in its directory",
  .about = "Lists the org certificate in CERT_FILE (made by `baton root certify`) in this\n"
           "LA's directory, which every node trusting the LA receives with its next sync.\n"
           "A certificate already listed is left as it is (exit 0).",
  .pos = CERT_POS, .npos = 1, .run = publish_run,
};

/* ---- revoke ----------------------------------------------------------------------- */

enum { O_REASON };
static const cli_opt REVOKE_OPTS[] = {
  [O_REASON] = {"--reason", "R", 200, "why (required; every node shows it)"},
};
static const cli_pos FPR_POS[] = {{"FPR", 64, 0}};

/* A fingerprint as typed, canonical and without dashes: 32 symbols. */
static int fpr_norm(const char *v, char out[33])
{
  static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  size_t n = 0;

  for (; *v; v++) {
    int ch = toupper((unsigned char)*v);
    if (ch == '-' || ch == ' ')
      continue;
    ch = ch == 'O' ? '0' : (ch == 'I' || ch == 'L') ? '1' : ch;
    if (ch == 0 || strchr(alpha, ch) == NULL || n >= 32)
      return BT_EINVAL;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return n == 32 ? BT_OK : BT_EINVAL;
}

static void revoke_text(const json_t *doc)
{
  printf("Revoked in this LA's directory (every node applies it after its next sync):\n");
  cli_setup_cert_text(json_object_get(doc, "org"));
  cli_out_row("reason", cli_out_get(doc, "reason"));
}

static int revoke(const cli_ctx *c, node_store *s, const char *want, const char *reason,
                  json_t **org)
{
  crdt_directory *d = NULL;
  const crdt_dir_entry *e = NULL;
  char norm[33];
  crdt_id root, op;
  int rc;

  if ((rc = node_root_pk(s, &root)) == BT_ENOTFOUND)
    return cli_fail(c, "this node holds no LA root key: only the LA's node revokes");
  if (rc != BT_OK || (rc = node_dir_get(s, &root, cli_setup_now(), &d)) != BT_OK)
    return cli_fail(c, "cannot read this LA's directory: %s", bt_strerror(rc));
  for (size_t k = 0; k < d->nentries && e == NULL; k++)
    if (fpr_norm(d->entries[k].fingerprint, norm) == BT_OK && strcmp(norm, want) == 0)
      e = &d->entries[k];
  if (e == NULL)
    rc = cli_fail(c, "no org in this LA's directory has that fingerprint (`baton directory` "
                     "lists them): nothing changed");
  else if ((rc = node_dir_revoke(s, &e->cert->b.subject, reason, cli_setup_now(), &op)) !=
           BT_OK)
    rc = cli_fail(c, "cannot revoke: %s", bt_strerror(rc));
  else
    *org = cli_setup_cert_json(e->cert);
  crdt_directory_free(d);
  return rc;
}

static int revoke_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  json_t *org = NULL;
  char want[33];
  int rc;

  if (fpr_norm(a->pos[0], want) != BT_OK)
    return cli_usage(c, "FPR must be an org fingerprint, XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-"
                        "XXXX, as `baton directory` shows it");
  if (a->val[O_REASON] == NULL)
    return cli_usage(c, "--reason R is required: every node shows why the org was revoked");
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = revoke(c, s, want, a->val[O_REASON], &org);
  node_store_close(s);
  if (rc != CLI_OK)
    return rc;
  return cli_out_emit(c, json_pack("{s:o, s:s}", "org", org, "reason", a->val[O_REASON]),
                      revoke_text);
}

const cli_cmd cli_directory_revoke_cmd = {
  .name = "directory revoke",
  .summary = "LA node: revoke a listed org (from now)",
  .about = "Revokes the org with fingerprint FPR in this LA's directory from now, for the\n"
           "reason given. Every node that trusts the LA refuses the org's certificate\n"
           "once it has synced and applied the directory. A revocation is never undone.",
  .opts = REVOKE_OPTS, .nopts = 1, .pos = FPR_POS, .npos = 1, .run = revoke_run,
};
