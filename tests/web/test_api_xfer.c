/* tests/web/test_api_xfer.c: the directory and transfer calls of the web
 * API (web/api_xfer.c) against a real batond on loopback:
 *
 *   GET  /api/directory                        orgs a file may go to
 *   GET  /api/transfers                        in and out, with their clocks
 *   POST /api/transfers/preview                the deadline a start records
 *   POST /api/transfers                        start (to an org, or the LA)
 *   POST /api/transfers/TID/ack|reject|close
 *
 * The store is prepared in-process (tests/node/parties.h): the LA lists
 * Oak Primary, County MASH, Elm Academy and Northshire LA (an LA org) in
 * its directory, which Oak and Elm hold. Oak holds Amy Bell's file. A
 * transfer is started through Oak's batond, the file then synced to Elm
 * in-process, and acknowledged (or rejected) through Elm's own batond;
 * the answer synced back and the transfer closed through Oak's. Every
 * refusal leaves the op count unchanged; no reply echoes the text sent.
 *
 * batond runs on the real clock, the in-process stores on parties.h's.
 * The org certificates parties.h issues run 365 days from 2026-01-05. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/calendar.h"
#include "crdt/cert.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/sync.h"
#include "node/transfer.h"
#include "node/users.h"
#include "web/apikit.h"

static party lao; /* Northshire LA, an LA org */
static uint8_t amy[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1];
static char elm_id[2 * CRDT_ID_LEN + 1], mash_id[2 * CRDT_ID_LEN + 1],
  oak_id[2 * CRDT_ID_LEN + 1], lao_id[2 * CRDT_ID_LEN + 1];
static char elm_fpr[CRDT_FPR_LEN];

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */



static void start(void)
{
  party *listed[] = {&school, &mash, &other, &lao};

  parties_open(&la, &school, &mash, &other);
  party_join(&la, &lao, "Northshire LA", CRDT_ORG_LA);
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(node_dir_publish(la.s, listed[i]->cert, listed[i]->cert_len, NULL), BT_OK);
  party_see_directory(&la, &school);
  party_see_directory(&la, &other);
  apikit_users(school.s);
  apikit_user_add(other.s, "dsl.green", NODE_ROLE_DSL);
  apikit_user_add(other.s, "staff.elm", NODE_ROLE_STAFF);
  party_new_file(&school, amy);
  cr_assert_eq(party_note(&school, amy, "Phoned the parents", NULL), BT_OK);
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  party_org_hex(&other, elm_id, elm_fpr);
  party_org_hex(&mash, mash_id, NULL);
  party_org_hex(&school, oak_id, NULL);
  party_org_hex(&lao, lao_id, NULL);
  apikit_start(school.dir);
}

static void stop(void)
{
  apikit_stop();
  party_close(&lao);
  parties_close(&la, &school, &mash, &other);
}

TestSuite(web_api_xfer, .init = start, .fini = stop);

/* ---- helpers ------------------------------------------------------------------------ */

/* Ops a store holds for a file, read in-process. */
#define ops(p, file) apikit_ops((p)->s, file)

/* A start or preview body: file, to and on_roll, then more (may be ""). */
static const char *body_to(const char *to, const char *on_roll, const char *more)
{
  static char b[1024];

  snprintf(b, sizeof b, "{\"file\": \"%s\", \"to\": \"%s\", \"on_roll\": \"%s\"%s}", amy_hex,
           to, on_roll, more);
  return b;
}

/* The GET /api/transfers entry of a transfer (the caller decrefs it). */
static json_t *listed(const apikit_who *w, const char *tid)
{
  json_t *doc, *x, *found = NULL;
  size_t i;

  cr_assert_eq(apikit_get(w, "/api/transfers"), 200, "%s", resp);
  doc = apikit_json();
  json_array_foreach(json_object_get(doc, "transfers"), i, x)
    if (strcmp(jstr(x, "transfer"), tid) == 0)
      found = json_incref(x);
  json_decref(doc);
  cr_assert_not_null(found, "transfer %s is listed", tid);
  return found;
}

/* Starts a transfer of Amy's file to Elm as the DSL; its id into tid. */
static void start_to_elm(const apikit_who *dsl, const char *on_roll, char *tid)
{
  json_t *j;

  cr_assert_eq(apikit_post(dsl, "/api/transfers", body_to(elm_id, on_roll, "")), 201, "%s",
               resp);
  j = apikit_json();
  cr_assert_eq(strlen(jstr(j, "transfer")), 64);
  strcpy(tid, jstr(j, "transfer"));
  json_decref(j);
}

#define act_path(tid, what) path_of("/api/transfers/%s/%s", tid, what)

/* ---- GET /api/directory ------------------------------------------------------------- */

Test(web_api_xfer, the_directory_lists_the_other_orgs_by_name_with_their_fingerprints)
{
  const char *want[][4] = {{"County MASH", "mash", mash_id, NULL},
                           {"Elm Academy", "school", elm_id, elm_fpr},
                           {"Northshire LA", "la", lao_id, NULL}};
  const char *allowed[] = {"dsl.jones", "dep.kay"};

  for (size_t u = 0; u < 2; u++) {
    apikit_who w = apikit_as(allowed[u]);
    json_t *doc, *orgs, *o;
    cr_assert_eq(apikit_get(&w, "/api/directory"), 200, "%s: %s", allowed[u], resp);
    doc = apikit_json();
    orgs = json_object_get(doc, "orgs");
    cr_assert_eq(json_array_size(orgs), 3, "three orgs, Oak Primary (this node) left out: %s",
                 body_of());
    for (size_t i = 0; i < 3; i++) {
      o = json_array_get(orgs, i);
      cr_assert_str_eq(jstr(o, "name"), want[i][0]);
      cr_assert_str_eq(jstr(o, "kind"), want[i][1]);
      cr_assert_str_eq(jstr(o, "id"), want[i][2]);
      cr_assert_str_eq(jstr(o, "la"), "Northshire LA");
      cr_assert_eq(strlen(jstr(o, "fingerprint")), CRDT_FPR_LEN - 1);
      if (want[i][3])
        cr_assert_str_eq(jstr(o, "fingerprint"), want[i][3]);
      cr_assert_str_neq(jstr(o, "id"), oak_id);
    }
    json_decref(doc);
  }
}

Test(web_api_xfer, the_directory_is_for_those_who_share_or_transfer_only)
{
  for (size_t i = 2; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    cr_assert_eq(apikit_get(&w, "/api/directory"), 403, "%s: %s", apikit_roles[i].name, resp);
    cr_assert_null(strstr(body_of(), "Elm"), "no org named to a refused role");
  }
  apikit_who d = apikit_as("dsl.jones");
  cr_assert_eq(apikit_post(&d, "/api/directory", "{}"), 405);
  cr_assert(header_has("Allow", "GET"));
  cr_assert_eq(req("GET", "/api/directory", "", NULL), 401, "no session: %s", resp);
}

Test(web_api_xfer, a_revoked_org_leaves_the_directory)
{
  crdt_id root;
  uint8_t dir[CRDT_FILE_LEN];
  crdt_cert *mc;
  apikit_who d = apikit_as("dsl.jones");
  json_t *doc;
  size_t i;
  json_t *o;

  cr_assert_eq(crdt_cert_decode(mash.cert, mash.cert_len, &mc), BT_OK);
  cr_assert_eq(node_dir_revoke(la.s, &mc->b.subject, "key lost", party_now_ms, NULL), BT_OK);
  crdt_cert_free(mc);
  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  node_dir_file(&root, dir);
  party_sync(&la, &school, dir);
  cr_assert_eq(apikit_get(&d, "/api/directory"), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "orgs")), 2, "%s", body_of());
  json_array_foreach(json_object_get(doc, "orgs"), i, o)
    cr_assert_str_neq(jstr(o, "name"), "County MASH");
  json_decref(doc);
  /* and nothing can be sent to it */
  cr_assert_eq(apikit_post(&d, "/api/transfers", body_to(mash_id, "2026-11-23", "")), 404,
               "%s", resp);
}

/* ---- preview and start --------------------------------------------------------------- */

Test(web_api_xfer, preview_computes_what_start_then_records_and_writes_nothing)
{
  apikit_who d = apikit_as("dsl.jones");
  uint64_t before = ops(&school, amy);
  char tid[65];
  json_t *p, *x;

  cr_assert_eq(apikit_post(&d, "/api/transfers/preview", body_to(elm_id, "2026-11-23", "")),
               200, "%s", resp);
  p = apikit_json();
  cr_assert_str_eq(jstr(p, "deadline"), "2026-11-30", "5 working days after Monday 23rd");
  cr_assert_eq(json_integer_value(json_object_get(p, "days")), 5);
  cr_assert_str_eq(jstr(p, "rule"), "working days");
  cr_assert_str_eq(jstr(p, "org"), "Elm Academy");
  cr_assert_str_eq(jstr(p, "fingerprint"), elm_fpr);
  cr_assert_eq(ops(&school, amy), before, "a preview writes nothing");

  cr_assert_eq(apikit_post(&d, "/api/transfers",
                           body_to(elm_id, "2026-11-23",
                                   ", \"leaving\": \"2026-11-20\", \"note\": \"whole file\"")),
               201, "%s", resp);
  x = apikit_json();
  cr_assert_str_eq(jstr(x, "deadline"), jstr(p, "deadline"), "start records the preview's date");
  strcpy(tid, jstr(x, "transfer"));
  json_decref(x);
  cr_assert_gt(ops(&school, amy), before);

  x = listed(&d, tid);
  cr_assert_str_eq(jstr(x, "file"), amy_hex);
  cr_assert_str_eq(jstr(x, "direction"), "out");
  cr_assert_str_eq(jstr(x, "status"), "pending");
  cr_assert_str_eq(jstr(x, "deadline"), "2026-11-30");
  cr_assert_str_eq(jstr(x, "on_roll"), "2026-11-23");
  cr_assert_str_eq(jstr(x, "leaving"), "2026-11-20");
  cr_assert_str_eq(jstr(x, "org"), "Elm Academy");
  cr_assert_str_eq(jstr(x, "started_by"), "dsl.jones");
  cr_assert(json_is_false(json_object_get(x, "via_la")));
  cr_assert_eq(json_integer_value(json_object_get(x, "days")), 5);
  cr_assert_eq(strlen(jstr(x, "started_at")), 20, "a time YYYY-MM-DDTHH:MM:SSZ");
  cr_assert(json_is_null(json_object_get(x, "delivered_at")));
  cr_assert(json_is_null(json_object_get(x, "acked_at")));
  cr_assert(json_is_null(json_object_get(x, "rejected_at")));
  cr_assert(json_is_null(json_object_get(x, "closed_at")));
  cr_assert(json_is_null(json_object_get(x, "stored")));
  cr_assert(json_is_null(json_object_get(x, "acknowledged_by")));
  json_decref(x);
  json_decref(p);

  /* A second start to the same org: it has access already. Nothing written. */
  before = ops(&school, amy);
  cr_assert_eq(apikit_post(&d, "/api/transfers/preview", body_to(elm_id, "2026-11-23", "")),
               409, "%s", resp);
  cr_assert_eq(apikit_post(&d, "/api/transfers", body_to(elm_id, "2026-11-23", "")), 409, "%s",
               resp);
  cr_assert_eq(ops(&school, amy), before);
}

Test(web_api_xfer, via_la_sends_to_the_la_counted_from_today)
{
  apikit_who d = apikit_as("dep.kay");
  char body[256], tid[65];
  json_t *p, *x;
  crdt_calendar *cal;
  uint32_t want;

  cr_assert_eq(crdt_calendar_new(&cal), BT_OK);
  cr_assert_eq(crdt_calendar_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT,
                                      crdt_date_from_ms((uint64_t)time(NULL) * 1000), &want),
               BT_OK);
  crdt_calendar_free(cal);
  snprintf(body, sizeof body, "{\"file\": \"%s\", \"via_la\": true}", amy_hex);
  cr_assert_eq(apikit_post(&d, "/api/transfers/preview", body), 200, "%s", resp);
  p = apikit_json();
  cr_assert_str_eq(jstr(p, "org"), "Northshire LA");
  char w[11];
  crdt_date_format(want, w);
  cr_assert_str_eq(jstr(p, "deadline"), w);
  cr_assert_eq(apikit_post(&d, "/api/transfers", body), 201, "%s", resp);
  x = apikit_json();
  cr_assert_str_eq(jstr(x, "deadline"), jstr(p, "deadline"));
  strcpy(tid, jstr(x, "transfer"));
  json_decref(x);
  json_decref(p);
  x = listed(&d, tid);
  cr_assert(json_is_true(json_object_get(x, "via_la")));
  cr_assert_str_eq(jstr(x, "org"), "Northshire LA");
  cr_assert(json_is_null(json_object_get(x, "on_roll")));
  json_decref(x);
  /* via_la naming a school: the org must be an LA */
  snprintf(body, sizeof body, "{\"file\": \"%s\", \"via_la\": true, \"to\": \"%s\"}", amy_hex,
           mash_id);
  uint64_t before = ops(&school, amy);
  cr_assert_eq(apikit_post(&d, "/api/transfers", body), 400, "%s", resp);
  cr_assert_eq(ops(&school, amy), before);
}

Test(web_api_xfer, only_dsls_and_deputies_preview_or_start)
{
  uint64_t before = ops(&school, amy);

  for (size_t i = 2; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    cr_assert_eq(apikit_post(&w, "/api/transfers/preview", body_to(elm_id, "2026-11-23", "")),
                 403, "%s: %s", apikit_roles[i].name, resp);
    cr_assert_eq(apikit_post(&w, "/api/transfers", body_to(elm_id, "2026-11-23", "")), 403,
                 "%s: %s", apikit_roles[i].name, resp);
  }
  cr_assert_eq(ops(&school, amy), before, "nothing stored");
  apikit_who dep = apikit_as("dep.kay");
  cr_assert_eq(apikit_post(&dep, "/api/transfers/preview", body_to(elm_id, "2026-11-23", "")),
               200, "%s", resp);
}

Test(web_api_xfer, bad_requests_are_refused_with_nothing_stored_or_echoed)
{
  apikit_who d = apikit_as("dsl.jones");
  uint64_t before = ops(&school, amy);
  char b[1024], zero[65];
  static const char *const paths[] = {"/api/transfers/preview", "/api/transfers"};

  memset(zero, '0', 64);
  zero[64] = 0;
  for (size_t k = 0; k < 2; k++) {
    const char *p = paths[k];
    cr_assert_eq(apikit_post(&d, p, "{\"file\": "), 400, "not JSON");
    cr_assert_eq(apikit_post(&d, p, "[1]"), 400, "not an object");
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-11-23", ", \"" MARK "\": 1")), 400);
    cr_assert_null(strstr(resp, MARK), "the unknown key is not echoed");
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-11-23", ", \"colour\": 1")), 400);
    cr_assert(strstr(body_of(), "colour"), "a field-like key is named: %s", body_of());
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, MARK, "")), 400, "bad date");
    cr_assert_null(strstr(resp, MARK));
    cr_assert(strstr(body_of(), "on_roll"), "%s", body_of());
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-02-30", "")), 400, "not a real date");
    cr_assert_eq(apikit_post(&d, p, body_to(MARK, "2026-11-23", "")), 400, "bad org id");
    cr_assert_null(strstr(resp, MARK));
    cr_assert_eq(apikit_post(&d, p, body_to(zero, "2026-11-23", "")), 404, "unknown org");
    cr_assert_eq(apikit_post(&d, p, body_to(oak_id, "2026-11-23", "")), 404,
                 "this school is not in its own list: %s", resp);
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-11-23", ", \"leaving\": \"2026-11-24\"")),
                 400, "leaving after on roll");
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-11-23", ", \"via_la\": 1")), 400);
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2026-11-23", ", \"note\": 7")), 400);
    snprintf(b, sizeof b, "{\"file\": \"%s\", \"to\": \"%s\"}", amy_hex, elm_id);
    cr_assert_eq(apikit_post(&d, p, b), 400, "no on_roll");
    cr_assert(strstr(body_of(), "on_roll"));
    snprintf(b, sizeof b, "{\"file\": \"%s\", \"on_roll\": \"2026-11-23\"}", amy_hex);
    cr_assert_eq(apikit_post(&d, p, b), 400, "no org");
    snprintf(b, sizeof b, "{\"file\": 5, \"to\": \"%s\", \"on_roll\": \"2026-11-23\"}", elm_id);
    cr_assert_eq(apikit_post(&d, p, b), 400, "file not text");
    snprintf(b, sizeof b, "{\"file\": \"%.32s\", \"to\": \"%s\", \"on_roll\": \"2026-11-23\"}",
             zero, elm_id);
    cr_assert_eq(apikit_post(&d, p, b), 404, "unknown file: %s", resp);
    /* A year whose bank holidays this node does not know: 409, what to do. */
    cr_assert_eq(apikit_post(&d, p, body_to(elm_id, "2031-06-02", "")), 409, "%s", resp);
    cr_assert(strstr(body_of(), "holiday"), "%s", body_of());
  }
  cr_assert_eq(ops(&school, amy), before, "nothing stored by any refusal");
  /* No CSRF token, another origin. */
  char extra[400];
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nContent-Type: application/json\r\n",
           d.cookie, origin);
  cr_assert_eq(req("POST", "/api/transfers", extra, body_to(elm_id, "2026-11-23", "")), 403);
  snprintf(extra, sizeof extra,
           "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: %s\r\n"
           "Content-Type: application/json\r\n", d.cookie, d.csrf);
  cr_assert_eq(req("POST", "/api/transfers", extra, body_to(elm_id, "2026-11-23", "")), 403);
  /* Too long. */
  size_t big = 300 * 1024;
  char *huge = malloc(big + 64);
  cr_assert_not_null(huge);
  snprintf(huge, 64, "{\"note\": \"");
  memset(huge + strlen(huge), 'a', big);
  strcpy(huge + 10 + big, "\"}");
  cr_assert_eq(apikit_post(&d, "/api/transfers", huge), 413, "%.200s", resp);
  free(huge);
  cr_assert_eq(ops(&school, amy), before);
  cr_assert_eq(apikit_get(&d, "/api/transfers/preview"), 405);
}

/* ---- ack, reject, close ---------------------------------------------------------------- */

/* Stops Oak's batond, syncs the file from one party to the other and
 * serves `to`'s store. */
static void move_to(party *from, party *to)
{
  char log[160];

  apikit_stop();
  party_sync(from, to, amy);
  /* apikit_start reads the port from this log: not the last run's. */
  snprintf(log, sizeof log, "%s/batond.log", to->dir);
  unlink(log);
  apikit_start(to->dir);
}

Test(web_api_xfer, the_receiver_acknowledges_through_its_own_batond_and_the_sender_closes)
{
  apikit_who d = apikit_as("dsl.jones");
  char tid[65], b[512];
  json_t *x;
  uint64_t n;

  start_to_elm(&d, "2026-11-23", tid);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"CP cabinet\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "ack"), b), 403, "the sender does not ack: %s",
               resp);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"keep\"}", amy_hex);
  n = ops(&school, amy);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 409, "no answer yet: %s", resp);
  cr_assert_eq(ops(&school, amy), n);

  move_to(&school, &other);
  apikit_who g = apikit_as("dsl.green"), se = apikit_as("staff.elm");
  x = listed(&g, tid);
  cr_assert_str_eq(jstr(x, "direction"), "in");
  cr_assert_str_eq(jstr(x, "status"), "delivered", "Elm's node wrote its delivery note");
  cr_assert_eq(strlen(jstr(x, "delivered_at")), 20);
  json_decref(x);
  n = ops(&other, amy);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"CP cabinet\", \"note\": \"thanks\"}",
           amy_hex);
  cr_assert_eq(apikit_post(&se, act_path(tid, "ack"), b), 403, "staff do not ack: %s", resp);
  cr_assert_eq(apikit_post(&g, act_path(tid, "ack"), "{\"stored\": \"x\"}"), 400, "no file");
  cr_assert_eq(apikit_post(&g, act_path(tid, "ack"), "{\"file\": \"" MARK "\"}"), 400);
  cr_assert_null(strstr(resp, MARK));
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": 3}", amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(tid, "ack"), b), 400, "stored not text");
  cr_assert_eq(ops(&other, amy), n, "nothing stored by the refusals");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"CP cabinet\", \"note\": \"thanks\"}",
           amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(tid, "ack"), b), 200, "%s", resp);
  x = apikit_json();
  cr_assert_str_eq(jstr(x, "transfer"), tid);
  json_decref(x);
  n = ops(&other, amy);
  cr_assert_eq(apikit_post(&g, act_path(tid, "ack"), b), 409, "acknowledged once: %s", resp);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"keep\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(tid, "close"), b), 403, "only the sender closes");
  cr_assert_eq(ops(&other, amy), n);

  move_to(&other, &school);
  d = apikit_as("dsl.jones");
  x = listed(&d, tid);
  cr_assert_str_eq(jstr(x, "status"), "acknowledged");
  cr_assert_str_eq(jstr(x, "acknowledged_by"), "dsl.green");
  cr_assert_str_eq(jstr(x, "stored"), "CP cabinet");
  cr_assert_eq(strlen(jstr(x, "acked_at")), 20);
  json_decref(x);
  n = ops(&school, amy);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"chrono\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 400, "chrono needs keep_until");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"keep\", \"keep_until\": \"2030-01-01\"}",
           amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 400, "keep_until only with chrono");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"forever\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 400);
  snprintf(b, sizeof b,
           "{\"file\": \"%s\", \"retain\": \"chrono\", \"keep_until\": \"2020-01-01\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 400, "a day past: %s", resp);
  for (size_t i = 2; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"keep\"}", amy_hex);
    cr_assert_eq(apikit_post(&w, act_path(tid, "close"), b), 403, "%s", apikit_roles[i].name);
    cr_assert_eq(apikit_post(&w, act_path(tid, "ack"), b), 400, "retain is no ack field");
    snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"x\"}", amy_hex);
    cr_assert_eq(apikit_post(&w, act_path(tid, "ack"), b), 403, "%s", apikit_roles[i].name);
    snprintf(b, sizeof b, "{\"file\": \"%s\", \"reason\": \"x\"}", amy_hex);
    cr_assert_eq(apikit_post(&w, act_path(tid, "reject"), b), 403, "%s", apikit_roles[i].name);
  }
  cr_assert_eq(ops(&school, amy), n, "nothing stored by the refusals");
  snprintf(b, sizeof b,
           "{\"file\": \"%s\", \"retain\": \"chrono\", \"keep_until\": \"2030-01-01\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 200, "%s", resp);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 409, "closed once");
  x = listed(&d, tid);
  cr_assert_str_eq(jstr(x, "status"), "closed");
  cr_assert_eq(strlen(jstr(x, "closed_at")), 20);
  json_decref(x);
}

Test(web_api_xfer, the_receiver_rejects_a_misdirected_file_saying_why)
{
  apikit_who d = apikit_as("dsl.jones");
  char tid[65], b[512];
  json_t *x;
  uint64_t n;

  start_to_elm(&d, "2026-11-23", tid);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"reason\": \"not ours\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "reject"), b), 403, "the sender does not reject");
  move_to(&school, &other);
  apikit_who g = apikit_as("dsl.green"), se = apikit_as("staff.elm");
  n = ops(&other, amy);
  cr_assert_eq(apikit_post(&se, act_path(tid, "reject"), b), 403, "staff do not reject");
  snprintf(b, sizeof b, "{\"file\": \"%s\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(tid, "reject"), b), 400, "a reason is required");
  cr_assert(strstr(body_of(), "reason"));
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"reason\": \"\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(tid, "reject"), b), 400, "an empty one too");
  cr_assert_eq(apikit_post(&g, act_path("abc", "reject"), b), 404, "a bad transfer id");
  char zero[65];
  memset(zero, '0', 64);
  zero[64] = 0;
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"reason\": \"not ours\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, act_path(zero, "reject"), b), 404, "no such transfer: %s", resp);
  cr_assert_eq(apikit_get(&g, act_path(tid, "reject")), 405);
  cr_assert_eq(ops(&other, amy), n, "nothing stored by the refusals");
  cr_assert_eq(apikit_post(&g, act_path(tid, "reject"), b), 200, "%s", resp);
  cr_assert_eq(apikit_post(&g, act_path(tid, "reject"), b), 409, "rejected once");
  move_to(&other, &school);
  d = apikit_as("dsl.jones");
  x = listed(&d, tid);
  cr_assert_str_eq(jstr(x, "status"), "rejected");
  cr_assert_eq(strlen(jstr(x, "rejected_at")), 20);
  json_decref(x);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"log\", \"note\": \"misdirected\"}",
           amy_hex);
  cr_assert_eq(apikit_post(&d, act_path(tid, "close"), b), 200, "%s", resp);
}

Test(web_api_xfer, transfers_list_by_role)
{
  apikit_who d = apikit_as("dsl.jones");
  char tid[65];

  start_to_elm(&d, "2026-11-23", tid);
  for (size_t i = 0; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    int want = apikit_roles[i].role == NODE_ROLE_STAFF ? 403 : 200;
    cr_assert_eq(apikit_get(&w, "/api/transfers"), want, "%s: %s", apikit_roles[i].name, resp);
    if (want == 200) {
      json_t *x = listed(&w, tid);
      cr_assert_str_eq(jstr(x, "deadline"), "2026-11-30");
      json_decref(x);
    }
  }
}
