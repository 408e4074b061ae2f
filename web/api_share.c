/* web/api_share.c: grants, extracts, decisions not to share, revokes
 * (docs/web.md "API"; node/share.h; the same rules as `baton share`,
 * docs/cli.md "Sharing").
 *
 *   GET  /api/files/ID/grants                  who the file is shared with
 *   POST /api/files/ID/grants                  share it, on a lawful basis
 *   POST /api/files/ID/grants/GID/revoke       end a grant
 *   POST /api/files/ID/extracts                share chosen entries only
 *   POST /api/files/ID/decisions               a decision not to share
 *
 * Choices are the schema's words (crdt_schema_field(...)->names), never
 * numbers. The partner org is named by its signing key, found in the
 * trusted LA directories (node_dir_orgs_as, which decides who may ask). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/share.h"
#include "web/api.h"
#include "web/rec.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

#define EXTRACT_MAX 64 /* entries in one extract */

/* ---- helpers ------------------------------------------------------------------- */

/* An optional choice member, one of the schema's words for field of the
 * op type: 0 fine (*v 0 when absent), -1 answered. */
static int word_field(const json_t *o, const char *key, uint32_t type, const char *field,
                      uint32_t *v, json_t **out)
{
  const crdt_field *f = crdt_schema_field(crdt_body_schema(type), field);
  const char *w = NULL;
  char msg[256];
  size_t len;
  int rc = web_api_str(o, key, &w);

  *v = 0;
  if (rc == 0)
    return 0;
  for (uint32_t k = 1; rc > 0 && f && f->kind == CRDT_F_ENUM && k <= f->max; k++)
    if (strcmp(w, f->names[k]) == 0) {
      *v = k;
      return 0;
    }
  len = (size_t)snprintf(msg, sizeof msg, "%s must be one of:", key);
  for (uint32_t k = 1; f && f->kind == CRDT_F_ENUM && k <= f->max && len < sizeof msg; k++)
    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s %s", k > 1 ? "," : "",
                            f->names[k]);
  fail(out, 400, msg);
  return -1;
}

/* The grantee, the lawful basis and the terms from a grant or extract
 * body, as `baton share grant` checks them; the org's certificate from
 * the directory (*orgs, freed by the caller). 0, or the status with *out
 * answered. */
static int grant_req(const web_call *c, const json_t *j, node_grant_req *g, node_dir_org **orgs,
                     size_t *norgs, json_t **out)
{
  uint8_t to[CRDT_ID_LEN];
  const char *v = NULL;
  uint32_t ymd = 0;
  int rc;

  memset(g, 0, sizeof(*g));
  *orgs = NULL;
  *norgs = 0;
  if ((rc = web_api_str(j, "to", &v)) <= 0 || !web_api_hex(v, strlen(v), to, CRDT_ID_LEN))
    return fail(out, 400, "to must be given: the partner org's id (64 hex digits) from "
                          "/api/directory");
  if (word_field(j, "purpose", CRDT_OP_GRANT, "purpose", &g->purpose, out) < 0 ||
      word_field(j, "basis", CRDT_OP_GRANT, "basis", &g->basis, out) < 0 ||
      word_field(j, "rights", CRDT_OP_GRANT, "rights", &g->rights, out) < 0 ||
      word_field(j, "history", CRDT_OP_GRANT, "history", &g->history, out) < 0 ||
      web_api_text_field(j, "consent_by", &g->consent_by, out) < 0 ||
      web_api_text_field(j, "consent_how", &g->consent_how, out) < 0 ||
      web_api_text_field(j, "reason", &g->reason, out) < 0)
    return 400;
  if ((rc = web_api_date(j, "consent_on", &g->consent_on)) < 0)
    return fail(out, 400, "consent_on must be a date, YYYY-MM-DD");
  if ((rc = web_api_date(j, "expires", &ymd)) < 0)
    return fail(out, 400, "expires must be a date, YYYY-MM-DD");
  if (g->purpose == 0)
    return fail(out, 400, "purpose is required: transfer, referral, strategy_meeting or "
                          "information_request");
  if (g->basis == 0)
    return fail(out, 400, "no lawful basis: nothing is shared without one. Give basis "
                          "consent (with consent_by, consent_how, consent_on) or another "
                          "basis with reason");
  if (g->basis == CRDT_BASIS_CONSENT) {
    if (!g->consent_by || !g->consent_how || !g->consent_on)
      return fail(out, 400, "consent must be recorded in full: consent_by, consent_how and "
                            "consent_on are required with basis consent");
  } else if (g->consent_by || g->consent_how || g->consent_on) {
    return fail(out, 400, "consent_by, consent_how and consent_on go with basis consent only");
  } else if (g->reason == NULL) {
    return fail(out, 400, "reason is required: without consent, say why sharing is lawful");
  }
  if (ymd) {
    /* The end of that day (UTC); a day before 1970 is long past, and must
     * not wrap around into a grant that never ends. */
    int64_t end = (crdt_date_days(ymd) + 1) * INT64_C(86400000);
    if (end <= 0 || (uint64_t)end <= c->now_ms)
      return fail(out, 400, "expires is in the past");
    g->expires_at = (uint64_t)end;
  }
  if (g->rights == 0)
    g->rights = CRDT_RIGHTS_READ;
  if (g->history == 0)
    g->history = CRDT_HISTORY_ALL;
  if ((rc = node_dir_orgs_as(c->s, c->role, c->now_ms, orgs, norgs)) != BT_OK)
    return node_fail(out, rc);
  for (size_t i = 0; i < *norgs; i++)
    if (memcmp((*orgs)[i].org.b, to, CRDT_ID_LEN) == 0) {
      g->org_cert = (*orgs)[i].cert;
      g->org_cert_len = (*orgs)[i].cert_len;
    }
  if (g->org_cert == NULL)
    return fail(out, 404, "no such organisation in the LA directories this node trusts "
                          "(GET /api/directory lists them)");
  return 0;
}

/* What node/ said about a grant or extract. */
static int share_fail(json_t **out, int rc)
{
  switch (rc) {
  case BT_EDUP:
    return fail(out, 409, "that organisation already has a live grant of this file, or is "
                          "this school; nothing was shared");
  case BT_EMISSING:
    return fail(out, 400, "the lawful basis is incomplete; nothing was shared");
  default:
    return node_fail(out, rc);
  }
}

/* ---- GET /api/files/ID/grants ----------------------------------------------------- */

static json_t *word_json(uint32_t type, const char *field, uint32_t v)
{
  const crdt_field *f = crdt_schema_field(crdt_body_schema(type), field);

  if (f == NULL || f->kind != CRDT_F_ENUM || v < 1 || v > f->max)
    return json_null();
  return json_string(f->names[v]);
}

static json_t *grant_json(const crdt_acc_grant *ag, uint64_t now)
{
  const crdt_grant *g = ag->g;
  char id[2 * CRDT_ID_LEN + 1];
  int revoked = !crdt_id_is_zero(&ag->revoked_by);
  json_t *o = json_pack("{s:s, s:o, s:s%, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:s}", "id",
                        web_api_hexstr(ag->op->id.b, CRDT_ID_LEN, id), "org",
                        web_api_hexjson(g->org.b, CRDT_ID_LEN), "org_name",
                        g->org_name.len ? g->org_name.p : "", g->org_name.len, "purpose",
                        word_json(CRDT_OP_GRANT, "purpose", g->purpose), "basis",
                        word_json(CRDT_OP_GRANT, "basis", g->basis), "rights",
                        word_json(CRDT_OP_GRANT, "rights", g->rights), "history",
                        word_json(CRDT_OP_GRANT, "history", g->history), "expires_at",
                        web_api_timejson(g->expires_at), "revoked", revoked, "transfer",
                        g->purpose == CRDT_PURPOSE_TRANSFER, "state",
                        revoked ? "revoked" : crdt_acc_grant_live(ag, now) ? "live" : "expired");

  if (o && revoked)
    json_object_set_new(o, "revoked_by", web_api_hexjson(ag->revoked_by.b, CRDT_ID_LEN));
  if (o && g->approved_by.len)
    json_object_set_new(o, "approved_by", json_stringn(g->approved_by.p, g->approved_by.len));
  return o;
}

static int grants(const web_call *c, const uint8_t *file, json_t **out)
{
  const crdt_schema *ds = crdt_body_schema(CRDT_OP_DECISION);
  const crdt_access *acc;
  json_t *gs, *ds_arr;
  node_view v;
  int rc;

  if ((rc = node_casefile_as(c->s, c->user, c->role, file, &v)) != BT_OK)
    return node_fail(out, rc);
  if (v.file == NULL) { /* node/ shows this role only its own concerns */
    node_view_free(&v);
    return fail(out, 403, "your role does not allow this");
  }
  acc = v.file->access;
  gs = json_array();
  for (size_t i = 0; gs && acc && i < acc->ngrants; i++)
    json_array_append_new(gs, grant_json(&acc->grants[i], c->now_ms));
  ds_arr = json_array();
  for (size_t i = 0; ds_arr && i < v.nentries; i++) {
    const crdt_cf_entry *e = v.entries[i];
    char id[2 * CRDT_ID_LEN + 1];
    json_t *o;
    if (e->body->type != CRDT_OP_DECISION)
      continue;
    if ((o = web_rec_json(ds, &e->body->u.decision)) != NULL)
      json_object_set_new(o, "id", json_string(web_api_hexstr(e->op->id.b, CRDT_ID_LEN, id)));
    json_array_append_new(ds_arr, o);
  }
  node_view_free(&v);
  *out = json_pack("{s:o, s:o}", "grants", gs, "decisions", ds_arr);
  return 200;
}

/* ---- POST /api/files/ID/grants and /extracts ---------------------------------------- */

static const char *const GRANT_KEYS[] = {"to", "purpose", "basis", "consent_by", "consent_how",
                                         "consent_on", "reason", "expires", "rights",
                                         "history", NULL};
static const char *const EXTRACT_KEYS[] = {"to", "purpose", "basis", "consent_by",
                                           "consent_how", "consent_on", "reason", "expires",
                                           "rights", "entries", NULL};

/* The entries of an extract: 1..EXTRACT_MAX ids. 0, or 400 answered. */
static int entry_ids(const json_t *j, crdt_id *ids, size_t *n, json_t **out)
{
  const json_t *a = json_object_get(j, "entries"), *e;
  size_t i;

  *n = 0;
  if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > EXTRACT_MAX)
    return fail(out, 400, "entries must be a list of 1 to 64 entry ids of this file");
  json_array_foreach(a, i, e) {
    const char *s = json_string_value(e);
    if (s == NULL || !web_api_hex(s, json_string_length(e), ids[i].b, CRDT_ID_LEN))
      return fail(out, 400, "entries must hold entry ids, 64 hex digits each");
    for (size_t k = 0; k < i; k++)
      if (crdt_id_cmp(&ids[k], &ids[i]) == 0)
        return fail(out, 400, "entries names an entry twice");
  }
  *n = json_array_size(a);
  return 0;
}

static int share(const web_call *c, const uint8_t *file, int extract, json_t **out)
{
  crdt_id ids[EXTRACT_MAX];
  node_grant_req g;
  node_dir_org *orgs = NULL;
  size_t norgs = 0, n = 0;
  json_t *j;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if (!web_api_only_keys(j, extract ? EXTRACT_KEYS : GRANT_KEYS, out))
    st = 400;
  else if (extract && entry_ids(j, ids, &n, out) != 0)
    st = 400;
  else
    st = grant_req(c, j, &g, &orgs, &norgs, out);
  if (st == 0 && !extract) {
    crdt_id gid;
    char id[2 * CRDT_ID_LEN + 1];
    if ((rc = node_grant_as(c->s, c->user, c->role, file, &g, &gid)) != BT_OK)
      st = share_fail(out, rc);
    else {
      *out = json_pack("{s:s}", "grant", web_api_hexstr(gid.b, CRDT_ID_LEN, id));
      st = 201;
    }
  } else if (st == 0) {
    uint8_t ext[CRDT_FILE_LEN];
    char id[2 * CRDT_FILE_LEN + 1];
    if ((rc = node_extract_as(c->s, c->user, c->role, file, ids, n, &g, ext)) == BT_ENOTFOUND)
      st = fail(out, 400, "entries must each be an entry of this file; nothing was shared");
    else if (rc == BT_EMISSING)
      st = fail(out, 409, "the file has no name or date of birth to copy into an extract; "
                          "nothing was shared");
    else if (rc != BT_OK)
      st = share_fail(out, rc);
    else {
      *out = json_pack("{s:s}", "extract", web_api_hexstr(ext, CRDT_FILE_LEN, id));
      st = 201;
    }
  }
  node_dir_orgs_free(orgs, norgs);
  json_decref(j);
  return st;
}

/* ---- POST /api/files/ID/grants/GID/revoke -------------------------------------------- */

static const char *const REVOKE_KEYS[] = {"reason", NULL};

static int revoke(const web_call *c, const uint8_t *file, const crdt_id *grant, json_t **out)
{
  const char *reason = NULL;
  char id[2 * CRDT_ID_LEN + 1];
  json_t *j;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if (!web_api_only_keys(j, REVOKE_KEYS, out) || web_api_text_field(j, "reason", &reason, out) < 0)
    st = 400;
  else if (reason == NULL)
    st = fail(out, 400, "reason is required: say why the grant ends");
  else if ((rc = node_revoke_as(c->s, c->user, c->role, file, grant, reason)) == BT_ENOTFOUND)
    st = fail(out, 404, "no live grant with that id in this file; nothing changed");
  else if (rc != BT_OK)
    st = node_fail(out, rc);
  else {
    *out = json_pack("{s:s}", "grant", web_api_hexstr(grant->b, CRDT_ID_LEN, id));
    st = 200;
  }
  json_decref(j);
  return st;
}

/* ---- POST /api/files/ID/decisions ----------------------------------------------------- */

static const char *const DECIDE_KEYS[] = {"with", "reason", "purpose", "decision", NULL};

static int decide(const web_call *c, const uint8_t *file, json_t **out)
{
  crdt_body b = {.type = CRDT_OP_DECISION, .known = 1};
  const char *with = NULL, *reason = NULL;
  uint32_t decision = 0;
  char id[2 * CRDT_ID_LEN + 1];
  crdt_id op;
  json_t *j;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if (!web_api_only_keys(j, DECIDE_KEYS, out) || web_api_text_field(j, "with", &with, out) < 0 ||
      web_api_text_field(j, "reason", &reason, out) < 0 ||
      word_field(j, "purpose", CRDT_OP_DECISION, "purpose", &b.u.decision.purpose, out) < 0 ||
      word_field(j, "decision", CRDT_OP_DECISION, "decision", &decision, out) < 0)
    st = 400;
  else if (decision && decision != CRDT_DECIDE_NOT_SHARE)
    st = fail(out, 400, "decision can only be not_share here: a decision to share is a grant "
                        "or an extract");
  else if (with == NULL || reason == NULL)
    st = fail(out, 400, "with and reason are required: who asked or was considered, and why "
                        "not");
  if (st == 0) {
    b.u.decision.decision = CRDT_DECIDE_NOT_SHARE;
    b.u.decision.with_whom = bt_strz(with);
    b.u.decision.reason = bt_strz(reason);
    b.u.decision.decided_by = bt_strz(c->user);
    b.u.decision.decided_on = crdt_date_from_ms(c->now_ms);
    if (crdt_rec_check(crdt_body_schema(CRDT_OP_DECISION), &b.u.decision) != BT_OK)
      st = fail(out, 400, "with must be one line of at most 256 bytes, reason at most its "
                          "limit; nothing was recorded");
  }
  if (st == 0) {
    if ((rc = node_author_as(c->s, c->user, c->role, file, &b, &op)) != BT_OK)
      st = node_fail(out, rc);
    else {
      *out = json_pack("{s:s}", "id", web_api_hexstr(op.b, CRDT_ID_LEN, id));
      st = 201;
    }
  }
  json_decref(j);
  return st;
}

/* ---- routing ---------------------------------------------------------------------- */

int web_api_share(const web_call *c, json_t **out, const char **allow)
{
  web_seg seg[4];
  uint8_t file[CRDT_FILE_LEN];
  crdt_id grant;
  int n = web_api_split(c->req->path, "/api/files/", seg, 4);

  *out = NULL;
  *allow = NULL;
  if (n == 2 && web_api_seg_is(&seg[1], "grants")) {
    if (c->method != WEB_GET && c->method != WEB_POST)
      return web_api_not_allowed(out, allow, "GET, HEAD, POST");
  } else if (n == 2 && (web_api_seg_is(&seg[1], "extracts") ||
                        web_api_seg_is(&seg[1], "decisions"))) {
    if (c->method != WEB_POST)
      return web_api_not_allowed(out, allow, "POST");
  } else if (n == 4 && web_api_seg_is(&seg[1], "grants") && web_api_seg_is(&seg[3], "revoke")) {
    if (c->method != WEB_POST)
      return web_api_not_allowed(out, allow, "POST");
  } else {
    return 0;
  }
  if (!web_api_hex(seg[0].p, seg[0].len, file, CRDT_FILE_LEN))
    return fail(out, 404, "no such case file here");
  if (n == 4) {
    if (!web_api_hex(seg[2].p, seg[2].len, grant.b, CRDT_ID_LEN))
      return fail(out, 404, "no live grant with that id in this file");
    return revoke(c, file, &grant, out);
  }
  if (web_api_seg_is(&seg[1], "decisions"))
    return decide(c, file, out);
  if (web_api_seg_is(&seg[1], "extracts"))
    return share(c, file, 1, out);
  return c->method == WEB_GET ? grants(c, file, out) : share(c, file, 0, out);
}
