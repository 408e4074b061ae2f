/* tests/web/test_api_audit.c: the counts and audit calls of the web API
 * (web/api_audit.c) against a real batond on loopback:
 *
 *   GET /api/counts         numbers only (governors, heads, DSLs, ...)
 *   GET /api/audit          the log, newest first, paged with before/next,
 *                           filtered by file, user and action
 *   GET /api/audit/verify   the chain and signatures checked
 *
 * Oak Primary holds two files prepared in-process: Amy Bell (open, no
 * plan recorded, one concern in January 2026, shared with County MASH)
 * and Ben Cole (plan cp, closed). Pages and filters are compared with
 * what node_audit_list reads from the same store in-process after each
 * call; a refused call adds no audit record. batond runs on the real
 * clock. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/users.h"
#include "web/apikit.h"

static uint8_t amy[CRDT_FILE_LEN], ben[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1];

static void closed_cp_file(void)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Ben")}, {CRDT_FS_FAMILY, BT_STR("Cole")},
                        {CRDT_FS_DOB, BT_STR("2015-07-08")}, {CRDT_FS_PLAN, BT_STR("cp")},
                        {CRDT_FS_STATUS, BT_STR("closed")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};

  b.u.fields = (crdt_fields){fv, 5};
  cr_assert_eq(node_file_create_as(school.s, "dsl.jones", NODE_ROLE_DSL, &b, ben, NULL), BT_OK);
}

static void concern(void)
{
  crdt_body b = {.type = CRDT_OP_CONCERN, .known = 1};

  b.u.concern = (crdt_concern){.incident_at = party_now_ms, .written_at = party_now_ms,
                               .author_name = BT_STR("staff.ali"),
                               .author_role = BT_STR("staff"),
                               .facts = BT_STR("bruise on the arm")};
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, amy, &b, NULL), BT_OK);
}

static void start(void)
{
  node_grant_req g;
  crdt_id id;

  apikit_open();
  party_new_file(&school, amy);
  concern();
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, amy, &g, &id), BT_OK);
  closed_cp_file();
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  apikit_start(school.dir);
}

TestSuite(web_api_audit, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

static json_int_t jint(const json_t *o, const char *key)
{
  const json_t *v = json_object_get(o, key);

  cr_assert(json_is_integer(v), "%s is a number", key);
  return json_integer_value(v);
}

/* The records node_audit_list reads in-process with f (the caller frees). */
static node_audit_rec *stored(const node_audit_filter *f, size_t *n)
{
  node_audit_rec *r = NULL;

  cr_assert_eq(node_audit_list(school.s, f, &r, n), BT_OK);
  return r;
}

static size_t nrecords(void)
{
  size_t n;

  node_audit_list_free(stored(NULL, &n));
  return n;
}

/* A reply record equals a stored one, field for field. */
static void same(const json_t *j, const node_audit_rec *r)
{
  char at[21], file[2 * CRDT_FILE_LEN + 1];

  cr_assert_eq(jint(j, "seq"), (json_int_t)r->seq);
  crdt_date_format_time(r->ms, at);
  cr_assert_str_eq(jstr(j, "at"), at);
  cr_assert_str_eq(jstr(j, "action"), node_audit_action_name(r->action));
  if (r->user[0])
    cr_assert_str_eq(jstr(j, "user"), r->user);
  else
    cr_assert(json_is_null(json_object_get(j, "user")));
  if (r->has_file)
    cr_assert_str_eq(jstr(j, "file"), sodium_bin2hex(file, sizeof file, r->file, CRDT_FILE_LEN));
  else
    cr_assert(json_is_null(json_object_get(j, "file")));
  if (r->detail[0])
    cr_assert_str_eq(jstr(j, "detail"), r->detail);
  else
    cr_assert_null(json_object_get(j, "detail"));
}

/* GET path as w, its records equal to the stored ones of f, newest first
 * (all of them: f has no limit). Returns the reply (caller decrefs). */
static json_t *page_is(const apikit_who *w, const char *path, const node_audit_filter *f)
{
  node_audit_rec *r;
  size_t n;
  json_t *doc, *recs;

  cr_assert_eq(apikit_get(w, path), 200, "%s: %s", path, resp);
  doc = apikit_json();
  recs = json_object_get(doc, "records");
  r = stored(f, &n);
  cr_assert_eq(json_array_size(recs), n, "%s: %zu records, %zu stored", path,
               json_array_size(recs), n);
  for (size_t i = 0; i < n; i++)
    same(json_array_get(recs, i), &r[n - 1 - i]);
  node_audit_list_free(r);
  return doc;
}

/* ---- counts ------------------------------------------------------------------------- */

Test(web_api_audit, counts_are_exact_numbers_and_name_no_one)
{
  static const char *const plans[] = {"not_recorded", "none", "eh", "cin", "cp", "lac"};
  static const json_int_t want_plan[] = {1, 0, 0, 0, 1, 0};
  uint32_t now_ym = crdt_date_from_ms((uint64_t)time(NULL) * 1000) / 100;
  apikit_who g = apikit_as("gov.bea");
  json_t *doc, *months, *m;
  json_int_t total = 0;
  size_t i;

  cr_assert_eq(apikit_get(&g, "/api/counts"), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_eq(jint(doc, "files"), 2);
  cr_assert_eq(jint(doc, "open"), 1);
  cr_assert_eq(jint(doc, "closed"), 1);
  cr_assert_eq(jint(doc, "concerns"), 1);
  cr_assert_eq(jint(doc, "shared"), 1, "Amy's file, shared with the MASH");
  cr_assert_eq(jint(doc, "conflicts"), 0);
  cr_assert_eq(jint(doc, "transfers_out"), 0);
  for (size_t k = 0; k < 6; k++)
    cr_assert_eq(jint(json_object_get(doc, "by_plan"), plans[k]), want_plan[k], "%s", plans[k]);
  cr_assert_eq(json_object_size(json_object_get(doc, "by_plan")), 6);
  months = json_object_get(doc, "months");
  cr_assert_eq(json_array_size(months), NODE_COUNT_MONTHS);
  json_array_foreach(months, i, m) {
    char ym[24];
    total += jint(m, "concerns");
    cr_assert_eq(jint(m, "concerns"), strcmp(jstr(m, "month"), "2026-01") == 0 ? 1 : 0, "%s",
                 jstr(m, "month"));
    if (i == NODE_COUNT_MONTHS - 1) {
      snprintf(ym, sizeof ym, "%04u-%02u", now_ym / 100, now_ym % 100);
      cr_assert_str_eq(jstr(m, "month"), ym, "the last month is this one");
    }
  }
  cr_assert_eq(total, 1);
  cr_assert_null(strstr(body_of(), "Amy"), "no names");
  cr_assert_null(strstr(body_of(), "Bell"));
  cr_assert_null(strstr(body_of(), "bruise"));
  json_decref(doc);
}

Test(web_api_audit, counts_by_role)
{
  for (size_t i = 0; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    int want = apikit_roles[i].role == NODE_ROLE_STAFF ? 403 : 200;
    cr_assert_eq(apikit_get(&w, "/api/counts"), want, "%s: %s", apikit_roles[i].name, resp);
    if (want == 200) {
      json_t *doc = apikit_json();
      cr_assert_eq(jint(doc, "files"), 2);
      json_decref(doc);
    }
  }
}

/* ---- the audit log ----------------------------------------------------------------- */

Test(web_api_audit, only_the_dsl_and_the_auditor_read_the_log_and_a_refusal_adds_nothing)
{
  for (size_t i = 0; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    int may = apikit_roles[i].role == NODE_ROLE_DSL || apikit_roles[i].role == NODE_ROLE_AUDITOR;
    size_t before = nrecords();
    cr_assert_eq(apikit_get(&w, "/api/audit"), may ? 200 : 403, "%s: %s", apikit_roles[i].name,
                 resp);
    cr_assert_eq(nrecords(), before + (size_t)may, "%s: a read is recorded, a refusal not",
                 apikit_roles[i].name);
    before = nrecords();
    cr_assert_eq(apikit_get(&w, "/api/audit/verify"), may ? 200 : 403, "%s", apikit_roles[i].name);
    cr_assert_eq(nrecords(), before + (size_t)may);
  }
  apikit_who a = apikit_as("aud.cy");
  cr_assert_eq(apikit_post(&a, "/api/audit", "{}"), 405);
  cr_assert_eq(apikit_post(&a, "/api/audit/verify", "{}"), 405);
  cr_assert_eq(req("GET", "/api/audit", "", NULL), 401);
}

Test(web_api_audit, pages_run_newest_first_and_join_up_exactly)
{
  apikit_who a = apikit_as("aud.cy");
  json_t *doc;
  uint64_t before = 0, top = 0, expect;
  size_t total = 0, pages = 0;
  char path[96];

  /* Every page equals node's own list of the records before `before`, and
   * each one follows on from the last with no gap and no overlap. */
  for (;;) {
    node_audit_filter f = {.before = before, .limit = 4};
    json_t *recs, *next;
    if (before)
      snprintf(path, sizeof path, "/api/audit?limit=4&before=%llu", (unsigned long long)before);
    else
      snprintf(path, sizeof path, "/api/audit?limit=4");
    doc = page_is(&a, path, &f);
    recs = json_object_get(doc, "records");
    next = json_object_get(doc, "next");
    if (pages == 0) {
      top = (uint64_t)jint(json_array_get(recs, 0), "seq");
      cr_assert_str_eq(jstr(json_array_get(recs, 0), "action"), "read_audit",
                       "the read itself is the newest record");
      cr_assert_str_eq(jstr(json_array_get(recs, 0), "user"), "aud.cy");
      cr_assert_str_eq(jstr(json_array_get(recs, 0), "detail"), "list");
    }
    expect = pages == 0 ? top : before - 1;
    for (size_t i = 0; i < json_array_size(recs); i++)
      cr_assert_eq((uint64_t)jint(json_array_get(recs, i), "seq"), expect - i);
    total += json_array_size(recs);
    pages++;
    if (json_is_null(next)) {
      cr_assert_eq(jint(json_array_get(recs, json_array_size(recs) - 1), "seq"), 1);
      json_decref(doc);
      break;
    }
    cr_assert_eq(json_array_size(recs), 4, "a full page when there is a next");
    before = (uint64_t)json_integer_value(next);
    cr_assert_eq(before, (uint64_t)jint(json_array_get(recs, 3), "seq"));
    json_decref(doc);
    cr_assert_lt(pages, 100);
  }
  cr_assert_eq(total, top, "every record from 1 to the first page's newest, once");
  cr_assert_gt(pages, 2);
  /* The default page is 100 records: all of them here. */
  node_audit_filter all = {0};
  doc = page_is(&a, "/api/audit", &all);
  cr_assert(json_is_null(json_object_get(doc, "next")));
  cr_assert_lt(json_array_size(json_object_get(doc, "records")), 100);
  json_decref(doc);
}

Test(web_api_audit, filters_by_file_user_and_action_exactly)
{
  apikit_who d = apikit_as("dsl.jones");
  apikit_who a = apikit_as("aud.cy");
  char path[160];
  json_t *doc;

  /* A list (one record for it, no file) and a view of Amy's file, so the
   * file has records of several actions. */
  cr_assert_eq(apikit_get(&d, "/api/files"), 200);
  cr_assert_eq(apikit_get(&d, path_of("/api/files/%s", amy_hex)), 200);
  node_audit_filter by_action = {.action = NODE_AUDIT_LOGIN};
  doc = page_is(&a, "/api/audit?action=login", &by_action);
  cr_assert_geq(json_array_size(json_object_get(doc, "records")), 2, "two sign-ins at least");
  json_decref(doc);

  node_audit_filter by_user = {.user = "dsl.jones"};
  doc = page_is(&a, "/api/audit?user=dsl.jones", &by_user);
  json_t *r;
  size_t i;
  json_array_foreach(json_object_get(doc, "records"), i, r)
    cr_assert_str_eq(jstr(r, "user"), "dsl.jones");
  json_decref(doc);

  node_audit_filter by_file = {.file = amy};
  snprintf(path, sizeof path, "/api/audit?file=%s", amy_hex);
  doc = page_is(&a, path, &by_file);
  cr_assert_str_eq(jstr(json_array_get(json_object_get(doc, "records"), 0), "action"),
                   "read_audit", "a read of one file's records is recorded against it");
  json_decref(doc);

  node_audit_filter all3 = {.file = amy, .user = "dsl.jones", .action = NODE_AUDIT_VIEW};
  snprintf(path, sizeof path, "/api/audit?file=%s&user=dsl.jones&action=view&limit=500",
           amy_hex);
  doc = page_is(&a, path, &all3);
  cr_assert_geq(json_array_size(json_object_get(doc, "records")), 1, "the file's view: %s",
                body_of());
  json_decref(doc);
  /* The list is one record, naming no file. */
  node_audit_filter lists = {.user = "dsl.jones", .action = NODE_AUDIT_VIEW};
  doc = page_is(&a, "/api/audit?user=dsl.jones&action=view&limit=500", &lists);
  int list_seen = 0;
  json_array_foreach(json_object_get(doc, "records"), i, r)
    if (json_is_null(json_object_get(r, "file"))) {
      cr_assert_str_eq(jstr(r, "detail"), "dsl: file list, 2 files", "%s", body_of());
      list_seen++;
    }
  cr_assert_eq(list_seen, 1, "%s", body_of());
  json_decref(doc);

  node_audit_filter nobody = {.user = "no.one"};
  doc = page_is(&a, "/api/audit?user=no.one", &nobody);
  cr_assert_eq(json_array_size(json_object_get(doc, "records")), 0);
  cr_assert(json_is_null(json_object_get(doc, "next")));
  json_decref(doc);
}

Test(web_api_audit, bad_query_values_are_400_and_add_no_record)
{
  static const char *const bad[] = {
    "limit=0", "limit=501", "limit=abc", "limit=-1", "limit=1e2", "limit=", "before=0",
    "before=x", "before=99999999999999999999999", "file=zz", "file=00", "user=Bad!",
    "user=", "action=nope", "action=", "colour=red", "limit=5&limit=6", "file=%zz",
  };
  apikit_who a = apikit_as("aud.cy");
  char path[160];

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t before = nrecords();
    snprintf(path, sizeof path, "/api/audit?%s", bad[i]);
    cr_assert_eq(apikit_get(&a, path), 400, "%s: %s", bad[i], resp);
    cr_assert_eq(nrecords(), before, "%s: nothing recorded", bad[i]);
  }
  cr_assert_eq(apikit_get(&a, "/api/audit?user=Zebra-Quartz-7741"), 400);
  cr_assert_null(strstr(resp, "Zebra"), "the value is not echoed");
  cr_assert_eq(apikit_get(&a, "/api/audit?limit=500&before=1"), 200, "before 1: nothing");
  json_t *doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "records")), 0);
  json_decref(doc);
}

Test(web_api_audit, verify_checks_every_record_including_its_own)
{
  apikit_who d = apikit_as("dsl.jones");
  json_t *doc;

  cr_assert_eq(apikit_get(&d, "/api/audit/verify"), 200, "%s", resp);
  doc = apikit_json();
  cr_assert(json_is_true(json_object_get(doc, "ok")));
  cr_assert_eq((size_t)jint(doc, "records"), nrecords(), "every record, its own included");
  cr_assert_null(json_object_get(doc, "fault"));
  json_decref(doc);
}
