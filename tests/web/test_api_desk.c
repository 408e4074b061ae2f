/* tests/web/test_api_desk.c: the DSL's desk of the web API
 * (web/api_desk.c) against a real batond (web/main.c) on loopback:
 *
 *   GET /api/desk    what waits for review, open actions, conflicts, plans
 *
 * Every role; the desk's contents exact for a prepared store; wrong
 * methods; and that reading the desk writes nothing to a file.
 *
 * The store (tests/node/parties.h), at Oak Primary:
 * - Amy Bell (no plan status): concern A, reviewed; concern B, not
 *   reviewed but corrected (a correction links to it too, and is no
 *   review); action X1 owned by dsl.jones, due 2020-01-02 (overdue); X2
 *   owned by dep.kay, no due date; X3 due 2020-01-01 and done.
 * - Ben Cole, called Benny: plan status cin (the MASH) and lac (the
 *   school) written at the same time: a conflict; an older concern C, not
 *   reviewed; action X4 owned by dep.kay, due 2099-12-31. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/err.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/sync.h"
#include "node/users.h"
#include "web/apikit.h"

static uint8_t amy[CRDT_FILE_LEN], ben[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1], ben_hex[2 * CRDT_FILE_LEN + 1];
static char concern_b[65], concern_c[65], x1[65], x2[65], x4[65];

#define T_2025_12_01 UINT64_C(1764583200000) /* 2025-12-01T10:00:00Z */
#define T_2026_01_02 UINT64_C(1767344400000) /* 2026-01-02T09:00:00Z */
#define T_2026_01_03 UINT64_C(1767434400000) /* 2026-01-03T10:00:00Z */

/* Writes b to file as user in role, the id as hex into out (may be NULL). */
static void put(const uint8_t *file, const char *user, node_role role, crdt_body *b,
                char *out)
{
  crdt_id id;

  b->known = 1;
  party_now_ms += 1000;
  cr_assert_eq(node_author_as(school.s, user, role, file, b, &id), BT_OK);
  if (out)
    sodium_bin2hex(out, 65, id.b, CRDT_ID_LEN);
}

static crdt_id id_of(const char *hex)
{
  crdt_id id;

  cr_assert_eq(sodium_hex2bin(id.b, CRDT_ID_LEN, hex, 64, NULL, NULL, NULL), 0);
  return id;
}

static void concern(const uint8_t *file, uint64_t at, const char *author, char *out)
{
  crdt_body b = {.type = CRDT_OP_CONCERN};

  b.u.concern = (crdt_concern){.incident_at = at, .written_at = at + 3600000,
                               .author_name = bt_strz(author), .author_role = BT_STR("TA"),
                               .facts = BT_STR("Seen upset")};
  put(file, "staff.ali", NODE_ROLE_STAFF, &b, out);
}

static void action(const uint8_t *file, const char *what, const char *owner, uint32_t due,
                   char *out)
{
  crdt_body b = {.type = CRDT_OP_ACTION};

  b.u.action = (crdt_action){.what = bt_strz(what), .owner = bt_strz(owner), .due = due};
  put(file, "dsl.jones", NODE_ROLE_DSL, &b, out);
}

static void amy_file(void)
{
  char a[65], x3[65];
  crdt_body b;

  party_new_file(&school, amy);
  concern(amy, T_2026_01_02, "Ali Khan", a);
  concern(amy, T_2026_01_03, "Bo Lee", concern_b);
  b = (crdt_body){.type = CRDT_OP_REVIEW};
  b.u.review = (crdt_review){.concern = id_of(a), .received_at = T_2026_01_02 + 7200000,
                             .action = BT_STR("Spoke to mum"), .reviewer = BT_STR("dsl.jones")};
  put(amy, "dsl.jones", NODE_ROLE_DSL, &b, NULL);
  b = (crdt_body){.type = CRDT_OP_CORRECTION};
  b.u.correction = (crdt_correction){.target = id_of(concern_b), .reason = BT_STR("Typo")};
  put(amy, "dsl.jones", NODE_ROLE_DSL, &b, NULL);
  action(amy, "Ring the GP", "dsl.jones", 20200102, x1);
  action(amy, "Check attendance", "dep.kay", 0, x2);
  action(amy, "Send the form", "dsl.jones", 20200101, x3);
  b = (crdt_body){.type = CRDT_OP_ACTION_DONE};
  b.u.done = (crdt_action_done){.action = id_of(x3), .done_at = party_now_ms};
  put(amy, "dsl.jones", NODE_ROLE_DSL, &b, NULL);
}

static void ben_file(void)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Ben")}, {CRDT_FS_FAMILY, BT_STR("Cole")},
                        {CRDT_FS_PREFERRED, BT_STR("Benny")}, {CRDT_FS_DOB, BT_STR("2015-07-08")},
                        {CRDT_FS_PLAN, BT_STR("cp")}};
  crdt_fieldval cin = {CRDT_FS_PLAN, BT_STR("cin")}, lac = {CRDT_FS_PLAN, BT_STR("lac")};

  apikit_conflicting_file(fv, 5, &cin, &lac, 1, ben);
  concern(ben, T_2025_12_01, "Cy Moss", concern_c);
  action(ben, "Chase the social worker", "dep.kay", 20991231, x4);
}

static void start(void)
{
  apikit_open();
  amy_file();
  ben_file();
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  sodium_bin2hex(ben_hex, sizeof ben_hex, ben, CRDT_FILE_LEN);
  apikit_start(school.dir);
}

TestSuite(web_api_desk, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

#define ops(file) apikit_ops(school.s, file)

/* The desk as user (the caller frees it). */
static json_t *desk_as(const char *user)
{
  apikit_who w = apikit_as(user);

  cr_assert_eq(apikit_get(&w, "/api/desk"), 200, "%s: %s", user, resp);
  cr_assert(header_has("Content-Type", "application/json"));
  return apikit_json();
}

/* ---- roles ----------------------------------------------------------------------- */

Test(web_api_desk, only_dsls_and_deputies_have_a_desk)
{
  static const struct { const char *user; int status; } WANT[] = {
    {"dsl.jones", 200}, {"dep.kay", 200}, {"staff.ali", 403},
    {"head.may", 403},  {"gov.bea", 403}, {"aud.cy", 403},
  };
  uint64_t a0 = ops(amy), b0 = ops(ben);

  for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++) {
    apikit_who w = apikit_as(WANT[i].user);
    json_t *j;
    cr_assert_eq(apikit_get(&w, "/api/desk"), WANT[i].status, "%s: %s", WANT[i].user, resp);
    j = apikit_json();
    if (WANT[i].status == 403) {
      cr_assert_str_eq(jstr(j, "error"), "your role does not allow this");
      cr_assert_null(strstr(body_of(), "Amy"), "%s", body_of());
    } else {
      cr_assert_eq(json_integer_value(json_object_get(j, "files")), 2, "%s", body_of());
    }
    json_decref(j);
  }
  cr_assert_eq(req("GET", "/api/desk", "", NULL), 401);
  cr_assert_eq(ops(amy), a0, "reading the desk writes nothing to a file");
  cr_assert_eq(ops(ben), b0);
}

Test(web_api_desk, a_write_method_is_405)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char extra[400];

  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %s\r\n", dsl.cookie,
           origin, dsl.csrf);
  cr_assert_eq(req("POST", "/api/desk", extra, "{}"), 405, "%s", resp);
  cr_assert(header_has("Allow", "GET"));
  cr_assert_eq(apikit_get(&dsl, "/api/desk/"), 404, "%s", resp);
  cr_assert_eq(apikit_get(&dsl, "/api/desk?x=1"), 200, "a query is no other path: %s", resp);
}

/* ---- contents ---------------------------------------------------------------------- */

Test(web_api_desk, concerns_no_review_links_to_wait_oldest_first)
{
  json_t *d = desk_as("dsl.jones"), *w, *c;

  w = json_object_get(d, "awaiting_review");
  cr_assert_eq(json_array_size(w), 2, "%s", body_of());
  c = json_array_get(w, 0);
  cr_assert_str_eq(jstr(c, "file"), ben_hex);
  cr_assert_str_eq(jstr(c, "child"), "Benny Cole", "the preferred name");
  cr_assert_str_eq(jstr(c, "concern"), concern_c);
  cr_assert_str_eq(jstr(c, "incident_at"), "2025-12-01T10:00:00Z");
  cr_assert_str_eq(jstr(c, "written_at"), "2025-12-01T11:00:00Z");
  cr_assert_str_eq(jstr(c, "author"), "Cy Moss");
  cr_assert_eq(json_object_size(c), 6, "%s", body_of());
  c = json_array_get(w, 1);
  cr_assert_str_eq(jstr(c, "file"), amy_hex);
  cr_assert_str_eq(jstr(c, "child"), "Amy Bell");
  cr_assert_str_eq(jstr(c, "concern"), concern_b, "corrected, never reviewed: it waits");
  cr_assert_str_eq(jstr(c, "incident_at"), "2026-01-03T10:00:00Z");
  cr_assert_str_eq(jstr(c, "written_at"), "2026-01-03T11:00:00Z");
  cr_assert_str_eq(jstr(c, "author"), "Bo Lee");
  json_decref(d);
}

Test(web_api_desk, open_actions_due_soonest_first_with_overdue_and_mine)
{
  static const struct { const char *what, *owner, *due; int overdue, mine_dsl; } WANT[] = {
    {"Ring the GP", "dsl.jones", "2020-01-02", 1, 1},
    {"Chase the social worker", "dep.kay", "2099-12-31", 0, 0},
    {"Check attendance", "dep.kay", NULL, 0, 0},
  };
  const char *ids[] = {x1, x4, x2}, *files[] = {amy_hex, ben_hex, amy_hex};
  const char *children[] = {"Amy Bell", "Benny Cole", "Amy Bell"};
  json_t *d = desk_as("dsl.jones"), *e = desk_as("dep.kay"), *a, *b;

  cr_assert_eq(json_array_size(json_object_get(d, "actions")), 3, "done ones are not open: %s",
               body_of());
  for (size_t i = 0; i < 3; i++) {
    a = json_array_get(json_object_get(d, "actions"), i);
    b = json_array_get(json_object_get(e, "actions"), i);
    cr_assert_str_eq(jstr(a, "action"), ids[i], "[%zu]", i);
    cr_assert_str_eq(jstr(a, "file"), files[i]);
    cr_assert_str_eq(jstr(a, "child"), children[i]);
    cr_assert_str_eq(jstr(a, "what"), WANT[i].what);
    cr_assert_str_eq(jstr(a, "owner"), WANT[i].owner);
    if (WANT[i].due)
      cr_assert_str_eq(jstr(a, "due"), WANT[i].due);
    else
      cr_assert(json_is_null(json_object_get(a, "due")), "[%zu] no due date: null", i);
    cr_assert_eq(json_is_true(json_object_get(a, "overdue")), WANT[i].overdue, "[%zu]", i);
    cr_assert_eq(json_is_true(json_object_get(a, "mine")), WANT[i].mine_dsl, "[%zu]", i);
    cr_assert(json_is_boolean(json_object_get(a, "mine")));
    cr_assert_eq(json_object_size(a), 8);
    /* The deputy sees the same actions, theirs marked mine. */
    cr_assert_str_eq(jstr(b, "action"), ids[i]);
    cr_assert_eq(json_is_true(json_object_get(b, "mine")),
                 strcmp(WANT[i].owner, "dep.kay") == 0, "[%zu] deputy", i);
  }
  json_decref(d);
  json_decref(e);
}

Test(web_api_desk, conflicts_plans_and_the_file_count)
{
  apikit_who dsl = apikit_as("dsl.jones");
  json_t *d = desk_as("dsl.jones"), *c, *p, *doc;
  const char *first;

  c = json_object_get(d, "conflicts");
  cr_assert_eq(json_array_size(c), 1, "%s", body_of());
  cr_assert_str_eq(jstr(json_array_get(c, 0), "file"), ben_hex);
  cr_assert_str_eq(jstr(json_array_get(c, 0), "child"), "Benny Cole");
  cr_assert_eq(json_array_size(json_object_get(json_array_get(c, 0), "fields")), 1);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(c, 0),
                                                                    "fields"), 0)),
                   "plan_status");
  cr_assert_eq(json_integer_value(json_object_get(d, "files")), 2);
  /* Ben counts by the first value of the conflict, as node_counts does. */
  {
    char path[80];
    snprintf(path, sizeof path, "/api/files/%s", ben_hex);
    cr_assert_eq(apikit_get(&dsl, path), 200, "%s", resp);
  }
  doc = apikit_json();
  first = jstr(json_array_get(json_object_get(json_array_get(json_object_get(doc, "conflicts"),
                                                             0), "values"), 0), "value");
  cr_assert(strcmp(first, "cin") == 0 || strcmp(first, "lac") == 0, "%s", body_of());
  p = json_object_get(d, "plans");
  cr_assert_eq(json_object_size(p), 6, "%s", body_of());
  cr_assert_eq(json_integer_value(json_object_get(p, "not_recorded")), 1, "Amy");
  cr_assert_eq(json_integer_value(json_object_get(p, first)), 1, "Ben: %s", first);
  cr_assert_eq(json_integer_value(json_object_get(p, strcmp(first, "cin") ? "cin" : "lac")), 0);
  cr_assert_eq(json_integer_value(json_object_get(p, "none")), 0);
  cr_assert_eq(json_integer_value(json_object_get(p, "eh")), 0);
  cr_assert_eq(json_integer_value(json_object_get(p, "cp")), 0, "cp was replaced");
  json_decref(doc);
  json_decref(d);
}

Test(web_api_desk, a_review_written_through_the_api_takes_a_concern_off_the_desk)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char extra[400], body[300];
  json_t *d;

  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %s\r\n", dsl.cookie,
           origin, dsl.csrf);
  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": "
                              "\"Logged, no further action\"}", concern_c);
  {
    char path[80];
    snprintf(path, sizeof path, "/api/files/%s/entries", ben_hex);
    cr_assert_eq(req("POST", path, extra, body), 201, "%s", resp);
  }
  snprintf(body, sizeof body, "{\"type\": \"action_done\", \"action\": \"%s\"}", x1);
  {
    char path[80];
    snprintf(path, sizeof path, "/api/files/%s/entries", amy_hex);
    cr_assert_eq(req("POST", path, extra, body), 201, "%s", resp);
  }
  d = desk_as("dsl.jones");
  cr_assert_eq(json_array_size(json_object_get(d, "awaiting_review")), 1, "%s",
               body_of());
  cr_assert_str_eq(jstr(json_array_get(json_object_get(d, "awaiting_review"), 0), "concern"),
                   concern_b);
  cr_assert_eq(json_array_size(json_object_get(d, "actions")), 2);
  cr_assert_str_eq(jstr(json_array_get(json_object_get(d, "actions"), 0), "action"), x4);
  json_decref(d);
}
