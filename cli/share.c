/* cli/share.c: sharing (docs/cli.md "Sharing"; docs/access.md).
 *
 * Every decision to share needs a lawful basis in full: consent (who gave
 * it, how, when) or another basis with the reason in words. An incomplete
 * basis is a usage error before anything is opened. The partner org is
 * found in the LA directories this node holds (one per trusted LA root),
 * by its exact name or a prefix of its fingerprint; its certificate is
 * then checked again by node/ (certified, unrevoked, in date). A decision
 * not to share is recorded too, with its reason: the file is the record
 * of both. */
#define _POSIX_C_SOURCE 200809L
#include "cli/share.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/share.h"

enum { O_TO, O_PURPOSE, O_BASIS, O_BY, O_HOW, O_ON, O_REASON, O_EXPIRES, O_RIGHTS, O_LAST };

static const char *const BASES[] = {"", "consent", "harm", "police", "public"};

static int word(const char *v, const char *const *names, uint32_t max, uint32_t *out)
{
  for (uint32_t k = 1; k <= max; k++)
    if (strcmp(v, names[k]) == 0) {
      *out = k;
      return 1;
    }
  return 0;
}

/* The request from the options, without the certificate. */
static int basis_args(const cli_ctx *c, const cli_args *a, node_grant_req *g)
{
  const crdt_field *pf = crdt_schema_field(crdt_body_schema(CRDT_OP_GRANT), "purpose");
  char q[CLI_QUOTE_LEN];
  uint32_t ymd;
  int rc;

  memset(g, 0, sizeof(*g));
  if (a->val[O_TO] == NULL)
    return cli_usage(c, "give the partner org: --to NAME (as the LA directory lists it) or "
                        "--to FINGERPRINT");
  if (a->val[O_PURPOSE] == NULL || !word(a->val[O_PURPOSE], pf->names, pf->max, &g->purpose))
    return cli_usage(c, "--purpose: one of transfer, referral, strategy_meeting, "
                        "information_request");
  if (a->val[O_BASIS] == NULL)
    return cli_usage(c, "no lawful basis: nothing is shared without one. Give --basis "
                        "consent (with --consent-by, --consent-how, --consent-on) or --basis "
                        "harm|police|public with --reason");
  if (!word(a->val[O_BASIS], BASES, 4, &g->basis))
    return cli_usage(c, "--basis %s: one of consent, harm, police, public",
                     cli_quote(a->val[O_BASIS], q));
  if (g->basis == CRDT_BASIS_CONSENT) {
    if (!a->val[O_BY] || !a->val[O_HOW] || !a->val[O_ON])
      return cli_usage(c, "consent must be recorded in full: --consent-by WHO, --consent-how "
                          "HOW and --consent-on DATE");
    if ((rc = cli_date_arg(c, "--consent-on", a->val[O_ON], &ymd)) != CLI_OK)
      return rc;
    g->consent_by = a->val[O_BY];
    g->consent_how = a->val[O_HOW];
    g->consent_on = ymd;
  } else if (a->val[O_BY] || a->val[O_HOW] || a->val[O_ON]) {
    return cli_usage(c, "--consent-by, --consent-how and --consent-on go with --basis "
                        "consent only");
  } else if (a->val[O_REASON] == NULL) {
    return cli_usage(c, "without consent, say why sharing is lawful: --reason TEXT");
  }
  g->reason = a->val[O_REASON];
  if (a->val[O_EXPIRES]) {
    if ((rc = cli_date_arg(c, "--expires", a->val[O_EXPIRES], &ymd)) != CLI_OK)
      return rc;
    g->expires_at = (uint64_t)(crdt_date_days(ymd) + 1) * 86400000u;
    if (g->expires_at <= cli_now_ms())
      return cli_usage(c, "--expires %s is in the past", a->val[O_EXPIRES]);
  }
  g->rights = CRDT_RIGHTS_READ;
  if (a->val[O_RIGHTS] && strcmp(a->val[O_RIGHTS], "write") == 0)
    g->rights = CRDT_RIGHTS_WRITE;
  else if (a->val[O_RIGHTS] && strcmp(a->val[O_RIGHTS], "read") != 0)
    return cli_usage(c, "--rights: read or write");
  g->history = CRDT_HISTORY_ALL;
  return CLI_OK;
}

/* "ab12-CD.." -> "AB12CD..": fingerprints compared without dashes or case. */
static void squash(const char *in, char *out, size_t len)
{
  size_t o = 0;

  for (; *in && o + 1 < len; in++)
    if (*in != '-')
      out[o++] = (char)toupper((unsigned char)*in);
  out[o] = '\0';
}

typedef struct {
  uint8_t *cert;
  size_t len;
  char name[CRDT_STR_MAX + 1];
  size_t hits;
} org_hit;

static void dir_search(const crdt_directory *d, const char *to, org_hit *h)
{
  char want[64], fpr[64];

  squash(to, want, sizeof want);
  for (size_t i = 0; i < d->nentries; i++) {
    const crdt_dir_entry *e = &d->entries[i];
    squash(e->fingerprint, fpr, sizeof fpr);
    int by_name = bt_str_eq(e->cert->b.name, bt_strz(to));
    int by_fpr = strlen(want) >= 4 && strncmp(fpr, want, strlen(want)) == 0;
    if (e->revoked || (!by_name && !by_fpr))
      continue;
    if (h->hits++ == 0 && (h->cert = malloc(e->cert->enc_len)) != NULL) {
      memcpy(h->cert, e->cert->enc, e->cert->enc_len);
      h->len = e->cert->enc_len;
      snprintf(h->name, sizeof h->name, "%.*s", (int)e->cert->b.name.len, e->cert->b.name.p);
    }
  }
}

/* The partner's certificate from the directories of the trusted roots. */
static int find_org(const cli_ctx *c, cli_sess *ss, const char *to, org_hit *h)
{
  char q[CLI_QUOTE_LEN];
  crdt_id roots[16];
  size_t n = 0;
  int rc;

  memset(h, 0, sizeof(*h));
  if ((rc = node_anchors(ss->s, roots, 16, &n)) != BT_OK)
    return cli_node_fail(c, ss, "reading the trusted LAs", rc);
  for (size_t i = 0; i < n && i < 16; i++) {
    crdt_directory *d = NULL;
    if (node_dir_get(ss->s, &roots[i], cli_now_ms(), &d) != BT_OK)
      continue;
    dir_search(d, to, h);
    crdt_directory_free(d);
  }
  if (h->hits == 0)
    return cli_fail(c, "no org %s in the LA directory this node holds (give the name exactly "
                       "as listed, or its fingerprint); nothing was shared", cli_quote(to, q));
  if (h->hits > 1 || h->cert == NULL) {
    free(h->cert);
    return cli_fail(c, "%s matches %zu orgs: give more of the fingerprint", cli_quote(to, q),
                    h->hits);
  }
  return CLI_OK;
}

static int share_fail(const cli_ctx *c, const cli_sess *ss, const char *org, int rc)
{
  switch (rc) {
  case BT_ESELFSIGNED:
    return cli_fail(c, "%s has only a provisional certificate: its LA has not certified it; "
                       "nothing was shared", org);
  case BT_EANCHOR:
    return cli_fail(c, "%s is not certified by an LA this node trusts; nothing was shared", org);
  case BT_EREVOKED:
    return cli_fail(c, "%s's certificate is revoked; nothing was shared", org);
  case BT_EEXPIRED:
    return cli_fail(c, "%s's certificate is out of date; nothing was shared", org);
  case BT_EDUP:
    return cli_fail(c, "%s already has a live grant of this file, or is this node's own org "
                       "(`baton grants FILE`); nothing was shared", org);
  case BT_EMISSING:
    return cli_fail(c, "the lawful basis is incomplete; nothing was shared");
  default:
    return cli_node_fail(c, ss, "sharing", rc);
  }
}

static void shared_text(const json_t *doc)
{
  printf("%s\n", cli_out_get(doc, "message"));
  cli_out_row("file", cli_out_get(doc, "file"));
  if (cli_out_get(doc, "grant"))
    cli_out_row("grant", cli_out_get(doc, "grant"));
  if (cli_out_get(doc, "extract"))
    cli_out_row("extract", cli_out_get(doc, "extract"));
  if (cli_out_get(doc, "id"))
    cli_out_row("entry", cli_out_get(doc, "id"));
  if (cli_out_get(doc, "org"))
    cli_out_row("org", cli_out_get(doc, "org"));
}

static json_t *result(const char *msg, const uint8_t *file, const char *key, const uint8_t *id,
                      size_t idlen, const char *org)
{
  char f[2 * CRDT_FILE_LEN + 1], i[2 * CRDT_ID_LEN + 1];

  cli_hex(file, CRDT_FILE_LEN, f);
  cli_hex(id, idlen, i);
  return json_pack("{s:s, s:s, s:s, s:s?}", "message", msg, "file", f, key, i, "org", org);
}

/* Opens the session and the file for a sharing command. */
static int open_file(const cli_ctx *c, const char *arg, cli_sess *ss, uint8_t *file,
                     node_view *v)
{
  int rc;

  if ((rc = cli_sess_open(c, NODE_DO_SHARE, ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, ss, arg, file)) != CLI_OK ||
      (rc = cli_sess_view(c, ss, file, v)) != CLI_OK)
    cli_sess_close(ss);
  return rc;
}

/* ---- grant ------------------------------------------------------------------- */

static int grant_run(cli_ctx *c, const cli_args *a)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g;
  org_hit h;
  node_view v;
  cli_sess ss;
  crdt_id id;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK ||
      (rc = basis_args(c, a, &g)) != CLI_OK)
    return rc;
  if (a->val[O_LAST] && strcmp(a->val[O_LAST], "from-now") == 0)
    g.history = CRDT_HISTORY_FROM_NOW;
  else if (a->val[O_LAST] && strcmp(a->val[O_LAST], "all") != 0)
    return cli_usage(c, "--history: all or from-now");
  if ((rc = open_file(c, a->pos[0], &ss, file, &v)) != CLI_OK)
    return rc;
  node_view_free(&v);
  if ((rc = find_org(c, &ss, a->val[O_TO], &h)) == CLI_OK) {
    g.org_cert = h.cert;
    g.org_cert_len = h.len;
    if ((rc = node_grant_as(ss.s, ss.u.name, ss.u.role, file, &g, &id)) != BT_OK)
      rc = share_fail(c, &ss, h.name, rc);
    free(h.cert);
  }
  cli_sess_close(&ss);
  if (rc != CLI_OK)
    return rc;
  return cli_out_emit(c, result("Shared.", file, "grant", id.b, CRDT_ID_LEN, h.name),
                      shared_text);
}

#define BASIS_OPTS                                                                        \
  {"--to", "ORG", 256, "the partner org: its name in the LA directory, or its fingerprint"}, \
  {"--purpose", "P", 24, "transfer, referral, strategy_meeting or information_request"},    \
  {"--basis", "B", 8, "the lawful basis: consent, harm, police or public (required)"},      \
  {"--consent-by", "WHO", 256, "consent: who gave it"},                                    \
  {"--consent-how", "HOW", 256, "consent: how it was given"},                              \
  {"--consent-on", "DATE", 10, "consent: when, YYYY-MM-DD"},                                \
  {"--reason", "TEXT", 4096, "without consent: why sharing is lawful"},                    \
  {"--expires", "DATE", 10, "access ends at the end of DATE (UTC)"},                       \
  {"--rights", "R", 5, "read (default) or write"}

static const cli_opt GRANT_OPTS[] = {
  BASIS_OPTS, {"--history", "H", 8, "all (default: every entry so far) or from-now"},
};
static const cli_pos FILE_POS[] = {{"FILE", 64, 0}};

const cli_cmd cli_share_grant_cmd = {
  "share grant", "share a case file with another org, on a lawful basis",
  "Gives ORG (a certified org in the LA directory) access to the file. The\n"
  "lawful basis is required in full: --basis consent with --consent-by,\n"
  "--consent-how and --consent-on; or --basis harm|police|public with\n"
  "--reason. The grant records purpose, basis, you as approver, expiry and\n"
  "rights. DSL or deputy.\n",
  GRANT_OPTS, 10, FILE_POS, 1, grant_run,
};

/* ---- extract ---------------------------------------------------------------- */

static int extract_run(cli_ctx *c, const cli_args *a)
{
  char list[4096], *save = NULL, q[CLI_QUOTE_LEN];
  uint8_t file[CRDT_FILE_LEN], ext[CRDT_FILE_LEN];
  crdt_id ids[64];
  node_grant_req g;
  size_t n = 0;
  org_hit h;
  node_view v;
  cli_sess ss;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK ||
      (rc = basis_args(c, a, &g)) != CLI_OK)
    return rc;
  if (a->val[O_LAST] == NULL)
    return cli_usage(c, "give the entries to share: --entries ID,ID,...");
  snprintf(list, sizeof list, "%s", a->val[O_LAST]);
  for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
    if (n == 64 || (rc = cli_id_arg(c, "--entries", t, 2 * CRDT_ID_LEN)) != CLI_OK)
      return n == 64 ? cli_usage(c, "--entries: at most 64") : rc;
  if (n == 0)
    return cli_usage(c, "--entries %s names no entry", cli_quote(a->val[O_LAST], q));
  if ((rc = open_file(c, a->pos[0], &ss, file, &v)) != CLI_OK)
    return rc;
  snprintf(list, sizeof list, "%s", a->val[O_LAST]);
  n = 0;
  for (char *t = strtok_r(list, ",", &save); t && rc == CLI_OK; t = strtok_r(NULL, ",", &save))
    rc = cli_entry_find(c, &v, "--entries", t, 0, &ids[n++]);
  node_view_free(&v);
  if (rc == CLI_OK && (rc = find_org(c, &ss, a->val[O_TO], &h)) == CLI_OK) {
    g.org_cert = h.cert;
    g.org_cert_len = h.len;
    if ((rc = node_extract_as(ss.s, ss.u.name, ss.u.role, file, ids, n, &g, ext)) != BT_OK)
      rc = share_fail(c, &ss, h.name, rc);
    free(h.cert);
  }
  cli_sess_close(&ss);
  if (rc != CLI_OK)
    return rc;
  return cli_out_emit(c, result("Extract made and shared.", file, "extract", ext,
                                CRDT_FILE_LEN, h.name),
                      shared_text);
}

static const cli_opt EXTRACT_OPTS[] = {
  BASIS_OPTS, {"--entries", "ID,ID", 4096, "the entries to copy into the extract (required)"},
};

const cli_cmd cli_share_extract_cmd = {
  "share extract", "share chosen entries only, as an extract file",
  "Makes a new file holding the child's names and date of birth and a copy\n"
  "of each entry listed, and shares it with ORG on the basis given (as for\n"
  "`share grant`). The main file records the decision. DSL or deputy.\n",
  EXTRACT_OPTS, 10, FILE_POS, 1, extract_run,
};

/* ---- revoke ------------------------------------------------------------------ */

static int revoke_run(cli_ctx *c, const cli_args *a)
{
  char q[CLI_QUOTE_LEN], hex[2 * CRDT_ID_LEN + 1];
  uint8_t file[CRDT_FILE_LEN];
  const crdt_acc_grant *hit = NULL;
  size_t hits = 0, k = strlen(a->pos[1]);
  crdt_id grant;
  node_view v;
  cli_sess ss;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK ||
      (rc = cli_id_arg(c, "GRANT_ID", a->pos[1], 2 * CRDT_ID_LEN)) != CLI_OK)
    return rc;
  if (a->val[0] == NULL)
    return cli_usage(c, "say why the grant ends: --reason TEXT");
  if ((rc = open_file(c, a->pos[0], &ss, file, &v)) != CLI_OK)
    return rc;
  const crdt_access *acc = v.file->access;
  for (size_t i = 0; acc && i < acc->ngrants; i++) {
    cli_hex(acc->grants[i].op->id.b, CRDT_ID_LEN, hex);
    if (strncasecmp(hex, a->pos[1], k) == 0 && hits++ == 0)
      hit = &acc->grants[i];
  }
  if (hits != 1 || !crdt_id_is_zero(&hit->revoked_by)) {
    node_view_free(&v);
    cli_sess_close(&ss);
    if (hits > 1)
      return cli_fail(c, "%s is the start of %zu grant ids: give more of it",
                      cli_quote(a->pos[1], q), hits);
    return cli_fail(c, "no live grant %s of this file (`baton grants FILE`); nothing changed",
                    cli_quote(a->pos[1], q));
  }
  grant = hit->op->id;
  node_view_free(&v);
  if ((rc = node_revoke_as(ss.s, ss.u.name, ss.u.role, file, &grant, a->val[0])) != BT_OK)
    rc = share_fail(c, &ss, "the org", rc);
  cli_sess_close(&ss);
  if (rc != CLI_OK)
    return rc;
  return cli_out_emit(c, result("Grant revoked; the file has new keys without that org.",
                                file, "grant", grant.b, CRDT_ID_LEN, NULL),
                      shared_text);
}

static const cli_opt REVOKE_OPTS[] = {{"--reason", "TEXT", 4096, "why (required)"}};
static const cli_pos REVOKE_POS[] = {{"FILE", 64, 0}, {"GRANT_ID", 64, 0}};

const cli_cmd cli_share_revoke_cmd = {
  "share revoke", "end a grant",
  "Ends GRANT_ID (from `baton grants FILE`) with --reason, and starts new\n"
  "keys that the org does not get. DSL or deputy.\n",
  REVOKE_OPTS, 1, REVOKE_POS, 2, revoke_run,
};

/* ---- decide ---------------------------------------------------------------- */

static int decide_run(cli_ctx *c, const cli_args *a)
{
  const crdt_field *pf = crdt_schema_field(crdt_body_schema(CRDT_OP_DECISION), "purpose");
  uint8_t file[CRDT_FILE_LEN];
  crdt_body b = {0};
  node_view v;
  cli_sess ss;
  crdt_id id;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if (a->val[0] == NULL)
    return cli_usage(c, "this records a decision not to share: say --not-share (a decision "
                        "to share is `baton share grant`)");
  if (a->val[1] == NULL || a->val[2] == NULL)
    return cli_usage(c, "give who was asked or considered (--with) and the reason (--reason)");
  b.type = CRDT_OP_DECISION;
  b.u.decision.decision = CRDT_DECIDE_NOT_SHARE;
  b.u.decision.with_whom = bt_strz(a->val[1]);
  b.u.decision.reason = bt_strz(a->val[2]);
  b.u.decision.decided_on = crdt_date_from_ms(cli_now_ms());
  if (a->val[3] && !word(a->val[3], pf->names, pf->max, &b.u.decision.purpose))
    return cli_usage(c, "--purpose: one of transfer, referral, strategy_meeting, "
                        "information_request");
  b.u.decision.decided_by = BT_STR("-");
  if ((rc = cli_rec_check(c, "the options", CLI_USAGE, crdt_body_schema(b.type), &b.u)) != 0)
    return rc;
  if ((rc = open_file(c, a->pos[0], &ss, file, &v)) != CLI_OK)
    return rc;
  node_view_free(&v);
  b.u.decision.decided_by = bt_strz(ss.u.name);
  if ((rc = node_author_as(ss.s, ss.u.name, ss.u.role, file, &b, &id)) != BT_OK)
    rc = cli_node_fail(c, &ss, "recording the decision", rc);
  cli_sess_close(&ss);
  if (rc != CLI_OK)
    return rc;
  return cli_out_emit(c, result("Decision not to share recorded.", file, "id", id.b,
                                CRDT_ID_LEN, NULL),
                      shared_text);
}

static const cli_opt DECIDE_OPTS[] = {
  {"--not-share", NULL, 0, "the decision is not to share (required)"},
  {"--with", "WHO", 256, "the partner who asked, or was considered"},
  {"--reason", "TEXT", 4096, "why not"},
  {"--purpose", "P", 24, "transfer, referral, strategy_meeting or information_request"},
};

const cli_cmd cli_share_decide_cmd = {
  "share decide", "record a decision not to share, and why",
  "Every sharing decision is recorded, whether or not information is shared:\n"
  "this records --not-share --with WHO --reason TEXT in the file. DSL or\n"
  "deputy.\n",
  DECIDE_OPTS, 4, FILE_POS, 1, decide_run,
};
