/* web/api_xfer.c: the transfer calls of the web API and the directory a
 * DSL picks the new school from (docs/web.md "API"; node/transfer.h,
 * node/dir.h).
 *
 *   GET  /api/directory                  orgs a file may go to
 *   GET  /api/transfers                  in and out, with their clocks
 *   POST /api/transfers/preview          the deadline a start would record
 *   POST /api/transfers                  start one
 *   POST /api/transfers/TID/ack|reject|close
 *
 * Orgs are named by their signing key (64 hex digits), found in the trusted
 * LA directories through node_dir_orgs_as, which also decides who may ask. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/calendar.h"
#include "crdt/cert.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/transfer.h"
#include "node/dir.h"
#include "node/transfer.h"
#include "web/api.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

static const char *const DIRS[] = {"", "out", "in", "other"};

/* ---- helpers ------------------------------------------------------------------- */

/* The org kind as the certificate schema names it ("school", "la", ...). */
static const char *kind_word(uint32_t kind)
{
  const crdt_field *f = crdt_schema_field(crdt_cert_schema(), "org_kind");

  if (f == NULL || f->kind != CRDT_F_ENUM || kind < 1 || kind > f->max)
    return "unknown";
  return f->names[kind];
}

/* ---- GET /api/directory --------------------------------------------------------- */

static int directory(const web_call *c, json_t **out)
{
  node_dir_org *orgs = NULL;
  size_t n = 0;
  json_t *arr;
  int rc;

  if ((rc = node_dir_orgs_as(c->s, c->role, c->now_ms, &orgs, &n)) != BT_OK)
    return node_fail(out, rc);
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    char id[2 * CRDT_ID_LEN + 1];
    json_array_append_new(
      arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", web_api_hexstr(orgs[i].org.b,
                     CRDT_ID_LEN, id), "name", orgs[i].name, "kind", kind_word(orgs[i].kind),
                     "fingerprint", orgs[i].fingerprint, "la",
                     orgs[i].la[0] ? json_string(orgs[i].la) : json_null()));
  }
  node_dir_orgs_free(orgs, n);
  *out = json_pack("{s:o}", "orgs", arr);
  return 200;
}

/* ---- GET /api/transfers ---------------------------------------------------------- */

/* In and out, with status, deadline and days left. */
static int list(const web_call *c, json_t **out)
{
  uint32_t today = crdt_date_from_ms(c->now_ms);
  node_xfer_info *xs = NULL;
  size_t n = 0;
  json_t *arr;
  int rc;

  node_dir_org *orgs = NULL;
  size_t norgs = 0;

  if ((rc = node_transfer_tick(c->s, c->now_ms, NULL)) != BT_OK ||
      (rc = node_transfer_list_as(c->s, c->role, &xs, &n)) != BT_OK)
    return node_fail(out, rc);
  /* The sender of a transfer in, by name, from the directory (roles that
   * may transfer; heads and governors get null). */
  if (node_dir_orgs_as(c->s, c->role, c->now_ms, &orgs, &norgs) != BT_OK)
    orgs = NULL, norgs = 0;
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    const node_xfer_info *x = &xs[i];
    char file[2 * CRDT_FILE_LEN + 1], id[2 * CRDT_ID_LEN + 1];
    int32_t left = 0;
    int have = node_transfer_days_left(c->s, x, today, &left) == BT_OK;
    int overdue = node_transfer_overdue(x, today);
    json_t *o;
    web_api_hexstr(x->file, CRDT_FILE_LEN, file);
    web_api_hexstr(x->start.b, CRDT_ID_LEN, id);
    o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:s, s:o}", "transfer", id, "file",
                  file, "direction", DIRS[x->dir <= NODE_XFER_OTHER ? x->dir : 0], "status",
                  overdue ? "overdue" : crdt_xfer_status_name(x->status), "overdue", overdue,
                  "deadline", web_api_datejson(x->deadline), "days_left",
                  have ? json_integer(left) : json_null(), "org", x->to_name,
                  "acknowledged_by",
                  x->acked_by[0] ? json_string(x->acked_by) : json_null());
    if (o) {
      json_object_set_new(o, "started_at", web_api_timejson(x->started_at));
      json_object_set_new(o, "started_by",
                          x->started_by[0] ? json_string(x->started_by) : json_null());
      json_object_set_new(o, "delivered_at", web_api_timejson(x->delivered_at));
      json_object_set_new(o, "acked_at", web_api_timejson(x->acked_at));
      json_object_set_new(o, "rejected_at", web_api_timejson(x->rejected_at));
      json_object_set_new(o, "closed_at", web_api_timejson(x->closed_at));
      json_object_set_new(o, "on_roll", web_api_datejson(x->on_roll));
      json_object_set_new(o, "leaving", web_api_datejson(x->leaving));
      json_object_set_new(o, "via_la", json_boolean(x->via_la));
      json_object_set_new(o, "stored", x->stored[0] ? json_string(x->stored) : json_null());
      json_object_set_new(o, "days", json_integer(x->count));
      json_t *from = json_null();
      for (size_t k = 0; k < norgs; k++)
        if (crdt_id_cmp(&orgs[k].org, &x->from_org) == 0) {
          json_decref(from);
          from = json_string(orgs[k].name);
          break;
        }
      json_object_set_new(o, "from", from ? from : json_null());
    }
    json_array_append_new(arr, o);
  }
  free(xs);
  node_dir_orgs_free(orgs, norgs);
  *out = json_pack("{s:o}", "transfers", arr);
  return 200;
}

/* ---- POST /api/transfers[/preview] ----------------------------------------------- */

static const char *const START_KEYS[] = {"file", "to", "on_roll", "leaving", "via_la", "note",
                                         NULL};

/* The request of a start or preview from the body, with the receiving
 * org's certificate from the directory (*orgs, freed by the caller).
 * 0, or the status with *out answered. */
static int start_req(const web_call *c, const json_t *j, uint8_t *file,
                     node_transfer_req *r, node_dir_org **orgs, size_t *norgs, json_t **out)
{
  uint8_t to[CRDT_ID_LEN];
  const node_dir_org *hit = NULL;
  size_t hits = 0;
  int has_to, via = 0, rc;

  memset(r, 0, sizeof(*r));
  *orgs = NULL;
  *norgs = 0;
  if (!web_api_only_keys(j, START_KEYS, out))
    return 400;
  if (web_api_hex_field(j, "file", file, CRDT_FILE_LEN, 1, out) < 0)
    return 400;
  if ((has_to = web_api_hex_field(j, "to", to, CRDT_ID_LEN, 0, out)) < 0)
    return 400;
  if (web_api_bool(j, "via_la", &via) < 0)
    return fail(out, 400, "via_la must be true or false");
  if (web_api_date_field(j, "on_roll", &r->on_roll, out) < 0 ||
      web_api_date_field(j, "leaving", &r->leaving, out) < 0 || web_api_text_field(j, "note", &r->note, out) < 0)
    return 400;
  if (!has_to && !via)
    return fail(out, 400, "to is required: the new school's id from /api/directory (or "
                          "via_la: true when the new school is not known)");
  if (!via && r->on_roll == 0)
    return fail(out, 400, "on_roll is required: the deadline counts from the day the child "
                          "goes on roll at the new school");
  if (r->on_roll && r->leaving > r->on_roll)
    return fail(out, 400, "leaving is after on_roll: the child leaves before going on roll "
                          "at the new school");
  if ((rc = node_dir_orgs_as(c->s, c->role, c->now_ms, orgs, norgs)) != BT_OK)
    return node_fail(out, rc);
  for (size_t i = 0; i < *norgs; i++) {
    const node_dir_org *o = &(*orgs)[i];
    if (has_to ? memcmp(o->org.b, to, CRDT_ID_LEN) == 0 : o->kind == CRDT_ORG_LA) {
      hit = o;
      hits++;
    }
  }
  if (hits == 0 && has_to)
    return fail(out, 404, "no such organisation in the LA directories this node trusts "
                          "(GET /api/directory lists them)");
  if (hits == 0)
    return fail(out, 409, "no LA is listed in the LA directories this node holds: sync with "
                          "the LA first");
  if (hits > 1)
    return fail(out, 409, "more than one LA is listed: name the LA with to");
  r->org_cert = hit->cert;
  r->org_cert_len = hit->cert_len;
  r->via_la = via;
  r->today = crdt_date_from_ms(c->now_ms);
  return 0;
}

/* What node/ said about a start or preview. */
static int start_fail(json_t **out, int rc)
{
  if (rc == BT_EINVAL)
    return fail(out, 400, "the dates do not fit (leaving on or before on_roll, the deadline "
                          "after both), or via_la names an org that is not an LA; nothing "
                          "was recorded");
  if (rc == BT_EDUP)
    return fail(out, 409, "that organisation already has access to this file (a transfer or "
                          "a grant), or is this school; nothing was recorded");
  return node_fail(out, rc);
}

static int begin(const web_call *c, int preview, json_t **out)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r;
  node_dir_org *orgs = NULL;
  size_t norgs = 0;
  json_t *j;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if ((st = start_req(c, j, file, &r, &orgs, &norgs, out)) == 0) {
    if (preview) {
      node_xfer_preview p;
      if ((rc = node_transfer_preview_as(c->s, c->role, file, &r, &p)) != BT_OK)
        st = start_fail(out, rc);
      else {
        *out = json_pack("{s:o, s:i, s:s, s:s, s:s}", "deadline", web_api_datejson(p.deadline),
                         "days", (int)p.count, "rule",
                         p.days == CRDT_CALENDAR_SCHOOL ? "school days" : "working days",
                         "org", p.org, "fingerprint", p.fingerprint);
        st = 200;
      }
    } else {
      crdt_id sid;
      uint32_t deadline = 0;
      char id[2 * CRDT_ID_LEN + 1];
      if ((rc = node_transfer_start_as(c->s, c->user, c->role, file, &r, &sid, &deadline)) !=
          BT_OK)
        st = start_fail(out, rc);
      else {
        *out = json_pack("{s:s, s:o}", "transfer", web_api_hexstr(sid.b, CRDT_ID_LEN, id),
                         "deadline", web_api_datejson(deadline));
        st = 201;
      }
    }
  }
  node_dir_orgs_free(orgs, norgs);
  json_decref(j);
  return st;
}

/* ---- POST /api/transfers/TID/ack|reject|close ------------------------------------ */

static const char *const ACK_KEYS[] = {"file", "stored", "note", NULL};
static const char *const REJECT_KEYS[] = {"file", "reason", NULL};
static const char *const CLOSE_KEYS[] = {"file", "retain", "keep_until", "note", NULL};

/* "keep", "chrono" (or the schema's "chronology") and "log". */
static uint32_t retain_word(const char *w)
{
  const crdt_field *f = crdt_schema_field(crdt_body_schema(CRDT_OP_XFER_CLOSE), "retain");

  if (strcmp(w, "chrono") == 0)
    return CRDT_RETAIN_CHRONO;
  for (uint32_t k = 1; f && f->kind == CRDT_F_ENUM && k <= f->max; k++)
    if (strcmp(w, f->names[k]) == 0)
      return k;
  return 0;
}

static int answer(const web_call *c, const crdt_id *start, const char *what, json_t **out)
{
  const char *const *keys = strcmp(what, "ack") == 0      ? ACK_KEYS
                            : strcmp(what, "reject") == 0 ? REJECT_KEYS : CLOSE_KEYS;
  uint8_t file[CRDT_FILE_LEN];
  const char *a = NULL, *b = NULL, *w = NULL;
  uint32_t retain = 0, until = 0;
  json_t *j;
  int st = 0, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if (!web_api_only_keys(j, keys, out) || web_api_hex_field(j, "file", file, CRDT_FILE_LEN, 1, out) < 0)
    st = 400;
  else if (keys == ACK_KEYS)
    st = web_api_text_field(j, "stored", &a, out) < 0 || web_api_text_field(j, "note", &b, out) < 0 ? 400 : 0;
  else if (keys == REJECT_KEYS) {
    st = web_api_text_field(j, "reason", &a, out) < 0 ? 400 : 0;
    if (st == 0 && (a == NULL || *a == 0))
      st = fail(out, 400, "reason is required: the sender must know why");
  } else {
    st = web_api_text_field(j, "retain", &w, out) < 0 || web_api_date_field(j, "keep_until", &until, out) < 0 ||
             web_api_text_field(j, "note", &b, out) < 0 ? 400 : 0;
    if (st == 0 && (w == NULL || (retain = retain_word(w)) == 0))
      st = fail(out, 400, "retain must be keep, chrono or log");
    else if (st == 0 && (retain == CRDT_RETAIN_CHRONO) != (until != 0))
      st = fail(out, 400, "keep_until goes with retain chrono, and only with it");
  }
  if (st == 0) {
    if (keys == ACK_KEYS)
      rc = node_transfer_ack_as(c->s, c->user, c->role, file, start, a, b);
    else if (keys == REJECT_KEYS)
      rc = node_transfer_reject_as(c->s, c->user, c->role, file, start, a);
    else
      rc = node_transfer_close_as(c->s, c->user, c->role, file, start, retain, until, b);
    if (rc == BT_OK) {
      char id[2 * CRDT_ID_LEN + 1];
      *out = json_pack("{s:s, s:s}", "transfer", web_api_hexstr(start->b, CRDT_ID_LEN, id),
                       "done", what);
      st = 200;
    } else if (rc == BT_EEPOCH)
      st = fail(out, 409, "this node cannot read all of the file yet: sync, then try again; "
                          "nothing was recorded");
    else if (rc == BT_ESTATE)
      st = fail(out, 409, keys == CLOSE_KEYS
                            ? "the receiver has not answered yet, or it is closed already; "
                              "nothing was recorded"
                            : "that transfer is already answered so, or closed; nothing was "
                              "recorded");
    else if (rc == BT_EINVAL && keys == CLOSE_KEYS)
      st = fail(out, 400, "keep_until is a day already past; nothing was recorded");
    else
      st = node_fail(out, rc);
  }
  json_decref(j);
  return st;
}

/* ---- routing ---------------------------------------------------------------------- */

int web_api_xfer(const web_call *c, json_t **out, const char **allow)
{
  web_seg seg[2];
  crdt_id start;
  int n;

  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/directory") == 0) {
    if (c->method != WEB_GET)
      return web_api_not_allowed(out, allow, "GET, HEAD");
    return directory(c, out);
  }
  if (strcmp(c->req->path, "/api/transfers") == 0) {
    if (c->method == WEB_POST)
      return begin(c, 0, out);
    if (c->method != WEB_GET)
      return web_api_not_allowed(out, allow, "GET, HEAD, POST");
    return list(c, out);
  }
  n = web_api_split(c->req->path, "/api/transfers/", seg, 2);
  if (n == 1 && web_api_seg_is(&seg[0], "preview")) {
    if (c->method != WEB_POST)
      return web_api_not_allowed(out, allow, "POST");
    return begin(c, 1, out);
  }
  if (n != 2 || !(web_api_seg_is(&seg[1], "ack") || web_api_seg_is(&seg[1], "reject") ||
                  web_api_seg_is(&seg[1], "close")))
    return 0;
  if (c->method != WEB_POST)
    return web_api_not_allowed(out, allow, "POST");
  if (!web_api_hex(seg[0].p, seg[0].len, start.b, CRDT_ID_LEN))
    return fail(out, 404, "no such transfer here");
  return answer(c, &start,
                web_api_seg_is(&seg[1], "ack")      ? "ack"
                : web_api_seg_is(&seg[1], "reject") ? "reject" : "close",
                out);
}
