/* web/api_audit.c: counts, the governor's view and the audit log (docs/web.md
 * "API"; node/users.h node_counts_as, node/audit.h).
 *
 *   GET /api/counts         numbers only, no names
 *   GET /api/audit          the log, newest first, a page at a time
 *   GET /api/audit/verify   the chain and every signature checked
 *
 * node_audit_list_as and node_audit_verify_as decide who may read the log
 * and record the read itself before reading. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/audit.h"
#include "node/transfer.h"
#include "web/api.h"
#include "web/form.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

#define PAGE_DEFAULT 100
#define PAGE_MAX 500

/* ---- GET /api/counts -------------------------------------------------------------- */

static int counts(const web_call *c, json_t **out)
{
  node_counts n;
  json_t *doc, *by_plan, *months;
  int rc;

  if ((rc = node_transfer_tick(c->s, c->now_ms, NULL)) != BT_OK ||
      (rc = node_counts_as(c->s, c->role, c->now_ms, &n)) != BT_OK)
    return node_fail(out, rc);
  doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "files",
                  (json_int_t)n.files, "open", (json_int_t)n.open, "closed",
                  (json_int_t)n.closed, "concerns", (json_int_t)n.concerns, "conflicts",
                  (json_int_t)n.conflicts, "shared", (json_int_t)n.shared, "transfers_out",
                  (json_int_t)n.transfers_out, "transfers_in", (json_int_t)n.transfers_in,
                  "transfers_on_time", (json_int_t)n.transfers_on_time, "transfers_late",
                  (json_int_t)n.transfers_late, "transfers_overdue",
                  (json_int_t)n.transfers_overdue);
  by_plan = web_api_plans_json(n.by_plan);
  months = json_array();
  for (size_t m = 0; months && m < NODE_COUNT_MONTHS; m++) {
    char ym[16];
    snprintf(ym, sizeof ym, "%04u-%02u", (unsigned)(n.months[m].yyyymm / 100),
             (unsigned)(n.months[m].yyyymm % 100));
    json_array_append_new(months, json_pack("{s:s, s:I}", "month", ym, "concerns",
                                            (json_int_t)n.months[m].concerns));
  }
  if (doc) {
    json_object_set_new(doc, "by_plan", by_plan ? by_plan : json_null());
    json_object_set_new(doc, "months", months ? months : json_null());
  } else {
    json_decref(by_plan);
    json_decref(months);
  }
  *out = doc;
  return 200;
}

/* ---- GET /api/audit ----------------------------------------------------------------- */

/* A whole number 1..max written in decimal digits only: 1, else 0. */
static int number(const char *v, uint64_t max, uint64_t *out)
{
  uint64_t x = 0;

  if (*v == 0 || strlen(v) > 19)
    return 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  if (x == 0 || x > max)
    return 0;
  *out = x;
  return 1;
}

static int user_name(const char *v)
{
  size_t n = strlen(v);

  if (n == 0 || n > NODE_USER_MAX)
    return 0;
  for (const char *p = v; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
          *p == '-'))
      return 0;
  return 1;
}

/* The query's filter. 0, or 400 answered. */
static int filter(const web_form *q, node_audit_filter *f, size_t *limit, uint8_t *file,
                  json_t **out)
{
  static const char *const names[] = {"limit", "before", "file", "user", "action"};
  uint64_t x;
  const char *v;
  char msg[128];

  memset(f, 0, sizeof(*f));
  *limit = PAGE_DEFAULT;
  for (size_t i = 0; i < q->n; i++) {
    int known = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0] && !known; k++)
      known = strcmp(q->v[i].name, names[k]) == 0;
    if (!known)
      return fail(out, 400, "the audit log takes only limit, before, file, user and action");
    for (size_t k = 0; k < i; k++)
      if (strcmp(q->v[k].name, q->v[i].name) == 0) {
        snprintf(msg, sizeof msg, "%s is given twice", q->v[i].name);
        return fail(out, 400, msg);
      }
  }
  if ((v = web_form_get(q, "limit")) != NULL) {
    if (!number(v, PAGE_MAX, &x))
      return fail(out, 400, "limit must be a whole number from 1 to 500");
    *limit = (size_t)x;
  }
  if ((v = web_form_get(q, "before")) != NULL && !number(v, UINT64_MAX / 10, &f->before))
    return fail(out, 400, "before must be a record number (next of the page before)");
  if ((v = web_form_get(q, "file")) != NULL) {
    if (!web_api_hex(v, strlen(v), file, CRDT_FILE_LEN))
      return fail(out, 400, "file must be a case file id, 32 hex digits");
    f->file = file;
  }
  if ((v = web_form_get(q, "user")) != NULL) {
    if (!user_name(v))
      return fail(out, 400, "user must be a user name: 1 to 64 of a-z, 0-9, '.', '_', '-'");
    f->user = v;
  }
  if ((v = web_form_get(q, "action")) != NULL &&
      node_audit_action_parse(v, &f->action) != BT_OK)
    return fail(out, 400, "action must be an audit action word (login, view, grant, ...)");
  f->limit = *limit + 1; /* one more: is there a page before this one? */
  return 0;
}

static json_t *rec_json(const node_audit_rec *r)
{
  json_t *o = json_pack("{s:I, s:o, s:o, s:s, s:o}", "seq", (json_int_t)r->seq, "at",
                        web_api_timejson(r->ms), "user",
                        r->user[0] ? json_string(r->user) : json_null(), "action",
                        node_audit_action_name(r->action) ? node_audit_action_name(r->action)
                                                          : "unknown",
                        "file", r->has_file ? web_api_hexjson(r->file, CRDT_FILE_LEN)
                                            : json_null());

  if (o && r->detail[0])
    json_object_set_new(o, "detail", json_string(r->detail));
  return o;
}

static int audit_list(const web_call *c, json_t **out)
{
  uint8_t file[CRDT_FILE_LEN];
  node_audit_filter f;
  node_audit_rec *recs = NULL;
  web_form q;
  size_t n = 0, limit, first;
  json_t *arr;
  int st, rc;

  if ((rc = web_form_query(&q, c->req, NULL)) != 0)
    return rc == BT_ENOMEM ? node_fail(out, rc)
                           : fail(out, 400, "the query string is not well formed");
  st = filter(&q, &f, &limit, file, out);
  if (st == 0 && (rc = node_audit_list_as(c->s, c->user, c->role, &f, &recs, &n)) != BT_OK)
    st = rc == BT_ECORRUPT ? fail(out, 500, "the audit log holds a damaged record: "
                                            "GET /api/audit/verify finds it")
                           : node_fail(out, rc);
  web_form_free(&q);
  if (st != 0)
    return st;
  first = n > limit ? n - limit : 0; /* oldest first: the one left over is older */
  arr = json_array();
  for (size_t i = n; arr && i > first; i--)
    json_array_append_new(arr, rec_json(&recs[i - 1]));
  *out = json_pack("{s:o, s:o}", "records", arr, "next",
                   first ? json_integer((json_int_t)recs[first].seq) : json_null());
  node_audit_list_free(recs);
  return 200;
}

/* ---- GET /api/audit/verify ------------------------------------------------------------ */

static const char *fault_word(node_audit_fault f)
{
  switch (f) {
  case NODE_AUDIT_UNREADABLE: return "unreadable";
  case NODE_AUDIT_MISSING: return "missing";
  case NODE_AUDIT_BROKEN_CHAIN: return "broken_chain";
  case NODE_AUDIT_BAD_SIG: return "bad_signature";
  default: return "unknown";
  }
}

static int audit_verify(const web_call *c, json_t **out)
{
  node_audit_check ck;
  int rc = node_audit_verify_as(c->s, c->user, c->role, &ck);

  if (rc == BT_OK)
    *out = json_pack("{s:b, s:I}", "ok", 1, "records", (json_int_t)ck.records);
  else if (rc == BT_ECORRUPT)
    *out = json_pack("{s:b, s:I, s:s, s:I, s:s}", "ok", 0, "records", (json_int_t)ck.records,
                     "fault", fault_word(ck.fault), "at", (json_int_t)ck.bad_seq, "message",
                     node_audit_fault_text(ck.fault));
  else
    return node_fail(out, rc);
  return 200;
}

/* ---- routing --------------------------------------------------------------------------- */

int web_api_audit(const web_call *c, json_t **out, const char **allow)
{
  const char *p = c->req->path;

  *out = NULL;
  *allow = NULL;
  if (strcmp(p, "/api/counts") != 0 && strcmp(p, "/api/audit") != 0 &&
      strcmp(p, "/api/audit/verify") != 0)
    return 0;
  if (c->method != WEB_GET)
    return web_api_not_allowed(out, allow, "GET, HEAD");
  if (strcmp(p, "/api/counts") == 0)
    return counts(c, out);
  return strcmp(p, "/api/audit") == 0 ? audit_list(c, out) : audit_verify(c, out);
}
