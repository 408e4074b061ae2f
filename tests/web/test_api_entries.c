/* tests/web/test_api_entries.c: the case-file writes of the web API
 * (web/api_entries.c) against a real batond (web/main.c) on loopback:
 *
 *   POST /api/files               open a case file (DSL, deputy)
 *   POST /api/files/ID/entries    review, chronology, body_map,
 *                                 injury_reflection, action, action_done,
 *                                 correction (DSL, deputy)
 *   POST /api/files/ID/front      change front-sheet fields
 *   POST /api/files/ID/resolve    settle a front-sheet conflict
 *
 * Every role against every call; each entry type written and read back
 * through GET /api/files/ID with its fields, defaults, links and flags;
 * references checked (a review of a non-concern, a done marker of a
 * non-action, an unknown id); list bounds (65 marks, x 1001, a mark without
 * a site, 17 reflection actions); UPN check letters; CSRF and origin
 * refusals, malformed JSON, wrong types, unknown ids and oversized bodies,
 * each with nothing stored (the op count read from the store in-process)
 * and no reply echoing the text sent.
 *
 * The store (tests/node/parties.h): Oak Primary holds Amy Bell (a
 * chronology note, a concern staff.ali logged, an action) and Ben Cole,
 * whose plan status and rating the school and the MASH (granted write
 * rights) each wrote at the same time: two fields in conflict. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/upn.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/sync.h"
#include "node/users.h"
#include "web/apikit.h"

static uint8_t amy[CRDT_FILE_LEN], ben[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1], ben_hex[2 * CRDT_FILE_LEN + 1];
static char note_id[65], concern_id[65], action_id[65];

static void hex_of(const crdt_id *id, char out[65])
{
  sodium_bin2hex(out, 65, id->b, CRDT_ID_LEN);
}

/* Ben Cole: plan status cin (the MASH) and lac (the school), rating red
 * (the MASH) and amber (the school), written concurrently. */
static void conflicting_file(void)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Ben")}, {CRDT_FS_FAMILY, BT_STR("Cole")},
                        {CRDT_FS_DOB, BT_STR("2015-07-08")}, {CRDT_FS_PLAN, BT_STR("cp")}};
  crdt_fieldval m[] = {{CRDT_FS_PLAN, BT_STR("cin")}, {CRDT_FS_RATING, BT_STR("red")}};
  crdt_fieldval s[] = {{CRDT_FS_PLAN, BT_STR("lac")}, {CRDT_FS_RATING, BT_STR("amber")}};

  apikit_conflicting_file(fv, 4, m, s, 2, ben);
}

static void start(void)
{
  crdt_body b = {.type = CRDT_OP_CONCERN, .known = 1};
  crdt_id id;

  apikit_open();
  party_new_file(&school, amy);
  cr_assert_eq(party_note(&school, amy, "Phoned the parents", &id), BT_OK);
  hex_of(&id, note_id);
  b.u.concern = (crdt_concern){.written_at = party_now_ms, .author_name = BT_STR("staff.ali"),
                               .author_role = BT_STR("staff"), .facts = BT_STR("A bruise")};
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, amy, &b, &id), BT_OK);
  hex_of(&id, concern_id);
  b = (crdt_body){.type = CRDT_OP_ACTION, .known = 1};
  b.u.action = (crdt_action){.what = BT_STR("Call the school nurse"), .owner = BT_STR("dep.kay")};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, amy, &b, &id), BT_OK);
  hex_of(&id, action_id);
  conflicting_file();
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  sodium_bin2hex(ben_hex, sizeof ben_hex, ben, CRDT_FILE_LEN);
  apikit_start(school.dir);
}

TestSuite(web_api_entries, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

#define FILE_PATH(hex) path_of("/api/files/%s", hex)
#define ENTRIES(hex) path_of("/api/files/%s/entries", hex)
#define FRONT(hex) path_of("/api/files/%s/front", hex)
#define RESOLVE(hex) path_of("/api/files/%s/resolve", hex)

/* Ops the school's store holds for a file, read in-process. */
#define ops(file) apikit_ops(school.s, file)

/* The number of case files GET /api/files lists (as the DSL). */
static size_t files_listed(void)
{
  apikit_who dsl = apikit_as("dsl.jones");
  json_t *j;
  size_t n;

  cr_assert_eq(apikit_get(&dsl, "/api/files"), 200, "%s", resp);
  j = apikit_json();
  n = json_array_size(json_object_get(j, "files"));
  json_decref(j);
  return n;
}

/* GET /api/files/ID as the DSL (the caller frees it). */
static json_t *file_doc(const char *hex)
{
  apikit_who dsl = apikit_as("dsl.jones");

  cr_assert_eq(apikit_get(&dsl, FILE_PATH(hex)), 200, "%s", resp);
  return apikit_json();
}

/* The entry with this id in a file document, or NULL. */
static json_t *entry_in(json_t *doc, const char *id)
{
  size_t i;
  json_t *e;

  json_array_foreach(json_object_get(doc, "entries"), i, e)
    if (strcmp(jstr(e, "id"), id) == 0)
      return e;
  return NULL;
}

/* Whether the JSON array a holds the string s. */
static int has_str(const json_t *a, const char *s)
{
  size_t i;
  json_t *x;

  json_array_foreach(a, i, x)
    if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
      return 1;
  return 0;
}

/* Posts body, expects 201, copies the id. */
static void write_ok(const apikit_who *w, const char *path, const char *body, char id[65])
{
  json_t *j;

  cr_assert_eq(apikit_post(w, path, body), 201, "%s: %s", body, resp);
  j = apikit_json();
  cr_assert_not_null(jstr(j, "id"), "%s", body_of());
  snprintf(id, 65, "%s", jstr(j, "id"));
  json_decref(j);
}

/* Posts body, expects status with an error containing says, nothing stored in file. */
static void refused(const apikit_who *w, const char *path, const char *body, int status,
                    const char *says, const uint8_t *file)
{
  uint64_t before = ops(file);
  json_t *j;

  cr_assert_eq(apikit_post(w, path, body), status, "%s: %s", body, resp);
  j = apikit_json();
  cr_assert_not_null(jstr(j, "error"), "%s", body_of());
  cr_assert_not_null(strstr(jstr(j, "error"), says), "%s: wanted \"%s\" in %s", body, says,
                     body_of());
  json_decref(j);
  cr_assert_eq(ops(file), before, "%s: nothing stored", body);
}

/* A valid UPN with these 12 characters after the check letter, and one
 * with a wrong letter. */
static void upns(const char *tail, char good[14], char bad[14])
{
  snprintf(good, 14, "A%s", tail);
  good[0] = crdt_upn_check_letter(good, 13);
  cr_assert(good[0] != 0);
  snprintf(bad, 14, "%s", good);
  bad[0] = good[0] == 'A' ? 'B' : 'A';
  cr_assert_eq(crdt_upn_check(good, 13), BT_OK);
  cr_assert_neq(crdt_upn_check(bad, 13), BT_OK);
}

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */

/* ---- roles ----------------------------------------------------------------------- */

Test(web_api_entries, each_role_against_each_call)
{
  static const struct { const char *user; int allowed; const char *resolve; } WANT[] = {
    {"dsl.jones", 1, "plan_status"}, {"dep.kay", 1, "rating"},
    {"staff.ali", 0, "plan_status"}, {"head.may", 0, "plan_status"},
    {"gov.bea", 0, "plan_status"},   {"aud.cy", 0, "plan_status"},
  };

  for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++) {
    apikit_who w = apikit_as(WANT[i].user);
    uint64_t a0 = ops(amy), b0 = ops(ben);
    size_t f0 = files_listed();
    char open[200], res[200], chrono[200], id[65];
    snprintf(open, sizeof open, "{\"given_name\": \"Cal%zu\", \"family_name\": \"Dee\", "
                                "\"dob\": \"2017-01-0%zu\"}", i, i + 1);
    snprintf(chrono, sizeof chrono, "{\"type\": \"chronology\", \"category\": \"call\", "
                                    "\"summary\": \"Call %zu\"}", i);
    snprintf(res, sizeof res, "{\"field\": \"%s\", \"value\": \"cp\"}", WANT[i].resolve);
    if (strcmp(WANT[i].resolve, "rating") == 0)
      snprintf(res, sizeof res, "{\"field\": \"rating\", \"value\": \"red\"}");
    if (WANT[i].allowed) {
      write_ok(&w, "/api/files", open, id);
      cr_assert_eq(strlen(id), 32, "a file id: %s", id);
      cr_assert_eq(files_listed(), f0 + 1, "%s: one file more", WANT[i].user);
      write_ok(&w, ENTRIES(amy_hex), chrono, id);
      cr_assert_eq(strlen(id), 64);
      write_ok(&w, FRONT(amy_hex), "{\"notes\": \"Has a sister at Elm\"}", id);
      cr_assert_eq(ops(amy), a0 + 2, "%s: an entry and a front-sheet write", WANT[i].user);
      write_ok(&w, RESOLVE(ben_hex), res, id);
      cr_assert_eq(ops(ben), b0 + 1, "%s: the resolve", WANT[i].user);
    } else {
      refused(&w, "/api/files", open, 403, "your role does not allow this", amy);
      cr_assert_eq(files_listed(), f0, "%s: no file opened", WANT[i].user);
      refused(&w, ENTRIES(amy_hex), chrono, 403, "your role does not allow this", amy);
      refused(&w, FRONT(amy_hex), "{\"notes\": \"x\"}", 403, "your role does not allow this",
              amy);
      refused(&w, RESOLVE(ben_hex), res, 403, "your role does not allow this", ben);
      cr_assert_eq(ops(ben), b0);
    }
  }
  /* Both conflicts were resolved, by the DSL and the deputy. */
  json_t *doc = file_doc(ben_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 0, "%s", body_of());
  cr_assert_str_eq(jstr(json_object_get(doc, "front"), "plan_status"), "cp");
  cr_assert_str_eq(jstr(json_object_get(doc, "front"), "rating"), "red");
  json_decref(doc);
  /* Without a session, every call is 401 and nothing is stored. */
  {
    char extra[100];
    uint64_t before = ops(amy);
    snprintf(extra, sizeof extra, "Origin: %s\r\n", origin);
    cr_assert_eq(req("POST", "/api/files", extra, "{}"), 401);
    cr_assert_eq(req("POST", ENTRIES(amy_hex), extra, "{\"type\": \"action\"}"), 401);
    cr_assert_eq(req("POST", FRONT(amy_hex), extra, "{\"notes\": \"x\"}"), 401);
    cr_assert_eq(req("POST", RESOLVE(ben_hex), extra, "{}"), 401);
    cr_assert_eq(ops(amy), before);
  }
}

Test(web_api_entries, a_governors_malformed_body_is_400_a_well_formed_one_403)
{
  apikit_who gov = apikit_as("gov.bea");

  refused(&gov, ENTRIES(amy_hex), "{\"type\": \"review\"", 400, "not valid JSON", amy);
  refused(&gov, ENTRIES(amy_hex), "{\"type\": \"action\", \"what\": 7}", 400,
          "what must be text", amy);
  refused(&gov, ENTRIES(amy_hex), "{\"type\": \"action\", \"what\": \"x\"}", 403,
          "your role does not allow this", amy);
  /* A review of something that is no concern: still 403 for a role that
   * may not review (the role is decided before the file is read). */
  char body[300];
  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": \"x\"}",
           note_id);
  refused(&gov, ENTRIES(amy_hex), body, 403, "your role does not allow this", amy);
}

/* ---- entries, written and read back ------------------------------------------------ */

Test(web_api_entries, a_review_links_to_its_concern_with_defaults_filled)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[400], id[65];
  json_t *doc, *e, *f, *c;

  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": "
                              "\"Spoke to mum\", \"referred\": false, \"outcome\": \"Monitor\"}",
           concern_id);
  write_ok(&dsl, ENTRIES(amy_hex), body, id);
  cr_assert_not_null(strstr(body_of(), "\"type\":\"review\""), "%s", body_of());
  doc = file_doc(amy_hex);
  cr_assert_not_null((e = entry_in(doc, id)), "%s", body_of());
  cr_assert_str_eq(jstr(e, "type"), "review");
  cr_assert_str_eq(jstr(e, "user"), "dsl.jones");
  f = json_object_get(e, "fields");
  cr_assert_str_eq(jstr(f, "concern"), concern_id);
  cr_assert_str_eq(jstr(f, "action"), "Spoke to mum");
  cr_assert_str_eq(jstr(f, "outcome"), "Monitor");
  cr_assert(json_is_false(json_object_get(f, "referred")));
  cr_assert_str_eq(jstr(f, "reviewer"), "dsl.jones", "defaults to the user");
  cr_assert_not_null(jstr(f, "received_at"), "defaults to now");
  cr_assert_eq(json_array_size(json_object_get(e, "flags")), 0, "%s", body_of());
  cr_assert_not_null((c = entry_in(doc, concern_id)));
  cr_assert(has_str(json_object_get(c, "links"), id), "the concern lists its review: %s",
            body_of());
  json_decref(doc);
}

Test(web_api_entries, a_chronology_entry_takes_the_clock_and_the_user_and_role)
{
  apikit_who dep = apikit_as("dep.kay");
  char id[65], id2[65];
  json_t *doc, *f;

  write_ok(&dep, ENTRIES(amy_hex), "{\"type\": \"chronology\", \"category\": \"meeting\", "
                                   "\"summary\": \"TAC meeting\\nat school\", \"with_whom\": "
                                   "\"Family support\"}", id);
  write_ok(&dep, ENTRIES(amy_hex), "{\"type\": \"chronology\", \"category\": \"visit\", "
                                   "\"summary\": \"Home visit\", \"event_at\": "
                                   "\"2026-02-03T10:30\", \"recorded_by\": \"Kay (deputy DSL)\"}",
           id2);
  doc = file_doc(amy_hex);
  f = json_object_get(entry_in(doc, id), "fields");
  cr_assert_str_eq(jstr(f, "category"), "meeting");
  cr_assert_str_eq(jstr(f, "summary"), "TAC meeting\nat school");
  cr_assert_str_eq(jstr(f, "with_whom"), "Family support");
  cr_assert_str_eq(jstr(f, "recorded_by"), "dep.kay (deputy)", "%s", body_of());
  cr_assert_not_null(jstr(f, "event_at"));
  f = json_object_get(entry_in(doc, id2), "fields");
  cr_assert_str_eq(jstr(f, "event_at"), "2026-02-03T10:30:00Z");
  cr_assert_str_eq(jstr(f, "recorded_by"), "Kay (deputy DSL)");
  cr_assert_str_eq(jstr(entry_in(doc, id2), "event_at"), "2026-02-03T10:30:00Z");
  json_decref(doc);
}

Test(web_api_entries, a_body_map_keeps_every_mark_and_field)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[1200], id[65];
  json_t *doc, *f, *marks, *m;

  snprintf(body, sizeof body,
           "{\"type\": \"body_map\", \"concern\": \"%s\", \"marks\": ["
           "{\"view\": \"front\", \"x\": 0, \"y\": 1000, \"site\": \"left forearm\", "
           "\"size\": \"2cm\", \"shape\": \"oval\", \"colour\": \"purple\", \"skin_broken\": "
           "false, \"swelling\": true, \"scab\": false, \"blistering\": false, \"bleeding\": "
           "false, \"clean\": \"dirty\", \"mobility\": \"full\", \"heat\": true, \"pain\": "
           "true, \"notes\": \"Grip-shaped\\nfour marks\"}, "
           "{\"view\": \"back\", \"x\": 500, \"y\": 250, \"site\": \"upper back\"}]}",
           concern_id);
  write_ok(&dsl, ENTRIES(amy_hex), body, id);
  doc = file_doc(amy_hex);
  f = json_object_get(entry_in(doc, id), "fields");
  cr_assert_str_eq(jstr(f, "concern"), concern_id);
  cr_assert_str_eq(jstr(f, "observer_name"), "dsl.jones", "%s", body_of());
  cr_assert_str_eq(jstr(f, "observer_role"), "dsl");
  cr_assert_not_null(jstr(f, "observed_at"));
  marks = json_object_get(f, "marks");
  cr_assert_eq(json_array_size(marks), 2, "%s", body_of());
  m = json_array_get(marks, 0);
  cr_assert_str_eq(jstr(m, "view"), "front");
  cr_assert(json_is_integer(json_object_get(m, "x")), "a required 0 is shown: %s", body_of());
  cr_assert_eq(json_integer_value(json_object_get(m, "x")), 0);
  cr_assert_eq(json_integer_value(json_object_get(m, "y")), 1000);
  cr_assert_str_eq(jstr(m, "site"), "left forearm");
  cr_assert_str_eq(jstr(m, "colour"), "purple");
  cr_assert_str_eq(jstr(m, "clean"), "dirty");
  cr_assert(json_is_true(json_object_get(m, "swelling")));
  cr_assert(json_is_false(json_object_get(m, "skin_broken")));
  cr_assert(json_is_true(json_object_get(m, "pain")));
  cr_assert_str_eq(jstr(m, "notes"), "Grip-shaped\nfour marks");
  m = json_array_get(marks, 1);
  cr_assert_str_eq(jstr(m, "view"), "back");
  cr_assert_eq(json_integer_value(json_object_get(m, "x")), 500);
  cr_assert_eq(json_integer_value(json_object_get(m, "y")), 250);
  cr_assert_str_eq(jstr(m, "site"), "upper back");
  cr_assert_null(json_object_get(m, "colour"));
  json_decref(doc);
}

Test(web_api_entries, an_injury_reflection_keeps_its_actions)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[800], id[65];
  json_t *doc, *f, *acts;

  snprintf(body, sizeof body,
           "{\"type\": \"injury_reflection\", \"about\": \"%s\", \"pattern\": \"Third in a "
           "term\", \"explanation\": \"conflicting\", \"risk\": \"high\", \"referral\": true, "
           "\"reviewed_by\": \"dsl.jones\", \"actions\": [{\"what\": \"Refer to MASH\", "
           "\"who\": \"dsl.jones\", \"by\": \"2026-03-05\"}, {\"what\": \"Tell the class "
           "teacher\"}]}", concern_id);
  write_ok(&dsl, ENTRIES(amy_hex), body, id);
  doc = file_doc(amy_hex);
  f = json_object_get(entry_in(doc, id), "fields");
  cr_assert_str_eq(jstr(f, "about"), concern_id);
  cr_assert_str_eq(jstr(f, "risk"), "high");
  cr_assert_str_eq(jstr(f, "explanation"), "conflicting");
  cr_assert(json_is_true(json_object_get(f, "referral")));
  acts = json_object_get(f, "actions");
  cr_assert_eq(json_array_size(acts), 2, "%s", body_of());
  cr_assert_str_eq(jstr(json_array_get(acts, 0), "what"), "Refer to MASH");
  cr_assert_str_eq(jstr(json_array_get(acts, 0), "who"), "dsl.jones");
  cr_assert_str_eq(jstr(json_array_get(acts, 0), "by"), "2026-03-05");
  cr_assert_str_eq(jstr(json_array_get(acts, 1), "what"), "Tell the class teacher");
  json_decref(doc);
}

Test(web_api_entries, an_action_done_flags_the_action_and_a_correction_its_target)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[400], act[65], done[65], fix[65];
  json_t *doc, *a, *d, *n, *c;

  snprintf(body, sizeof body, "{\"type\": \"action\", \"what\": \"Ring the GP\", \"owner\": "
                              "\"dsl.jones\", \"due\": \"2026-03-10\", \"about\": \"%s\"}",
           concern_id);
  write_ok(&dsl, ENTRIES(amy_hex), body, act);
  snprintf(body, sizeof body, "{\"type\": \"action_done\", \"action\": \"%s\", \"note\": "
                              "\"GP has no concerns\"}", act);
  write_ok(&dsl, ENTRIES(amy_hex), body, done);
  snprintf(body, sizeof body, "{\"type\": \"correction\", \"target\": \"%s\", \"reason\": "
                              "\"Wrong person phoned\", \"text\": \"Phoned the aunt\"}", note_id);
  write_ok(&dsl, ENTRIES(amy_hex), body, fix);
  doc = file_doc(amy_hex);
  a = entry_in(doc, act);
  cr_assert_str_eq(jstr(json_object_get(a, "fields"), "what"), "Ring the GP");
  cr_assert_str_eq(jstr(json_object_get(a, "fields"), "due"), "2026-03-10");
  cr_assert_str_eq(jstr(json_object_get(a, "fields"), "about"), concern_id);
  cr_assert(has_str(json_object_get(a, "flags"), "done"), "%s", body_of());
  cr_assert(has_str(json_object_get(a, "links"), done), "the action lists its done marker");
  d = entry_in(doc, done);
  cr_assert_str_eq(jstr(d, "type"), "action_done");
  cr_assert_str_eq(jstr(json_object_get(d, "fields"), "action"), act);
  cr_assert_not_null(jstr(json_object_get(d, "fields"), "done_at"), "defaults to now");
  n = entry_in(doc, note_id);
  cr_assert(has_str(json_object_get(n, "flags"), "corrected"), "%s", body_of());
  cr_assert(has_str(json_object_get(n, "links"), fix));
  c = entry_in(doc, fix);
  cr_assert_str_eq(jstr(json_object_get(c, "fields"), "target"), note_id);
  cr_assert_str_eq(jstr(json_object_get(c, "fields"), "reason"), "Wrong person phoned");
  /* The fixture's action, not done: no flag. */
  cr_assert_eq(json_array_size(json_object_get(entry_in(doc, action_id), "flags")), 0);
  json_decref(doc);
}

/* ---- entries refused ---------------------------------------------------------------- */

Test(web_api_entries, references_must_name_an_entry_of_the_right_type_in_this_file)
{
  apikit_who dsl = apikit_as("dsl.jones");
  const char *zero = "0000000000000000000000000000000000000000000000000000000000000001";
  char body[400];

  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": \"x\"}",
           note_id);
  refused(&dsl, ENTRIES(amy_hex), body, 400, "concern: that entry is a chronology, not a "
                                             "concern", amy);
  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": \"x\"}",
           zero);
  refused(&dsl, ENTRIES(amy_hex), body, 400, "concern: no entry with that id in this file", amy);
  /* A concern of Amy's named on Ben's file. */
  snprintf(body, sizeof body, "{\"type\": \"review\", \"concern\": \"%s\", \"action\": \"x\"}",
           concern_id);
  refused(&dsl, ENTRIES(ben_hex), body, 400, "concern: no entry with that id", ben);
  snprintf(body, sizeof body, "{\"type\": \"action_done\", \"action\": \"%s\"}", concern_id);
  refused(&dsl, ENTRIES(amy_hex), body, 400, "action: that entry is a concern, not an action"
                                             "", amy);
  snprintf(body, sizeof body, "{\"type\": \"body_map\", \"concern\": \"%s\", \"marks\": "
                              "[{\"view\": \"front\", \"x\": 1, \"y\": 1, \"site\": \"arm\"}]}",
           action_id);
  refused(&dsl, ENTRIES(amy_hex), body, 400, "concern: that entry is an action, not a concern",
          amy);
  snprintf(body, sizeof body, "{\"type\": \"correction\", \"target\": \"%s\", \"reason\": "
                              "\"x\"}", zero);
  refused(&dsl, ENTRIES(amy_hex), body, 400, "target: no entry with that id", amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"review\", \"concern\": \"abc\", \"action\": "
                                  "\"x\"}", 400, "concern must be an entry id, 64 hex digits",
          amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"review\", \"action\": \"x\"}", 400,
          "required, and not given: concern", amy);
}

Test(web_api_entries, types_and_fields_are_checked_and_named)
{
  apikit_who dsl = apikit_as("dsl.jones");
  static const struct { const char *body, *says; } BAD[] = {
    {"{\"summary\": \"" MARK "\"}", "type must be one of: review, chronology, body_map, "
                                    "injury_reflection, action, action_done, correction"},
    {"{\"type\": \"concern\", \"facts\": \"" MARK "\"}", "type must be one of"},
    {"{\"type\": \"" MARK "\"}", "type must be one of"},
    {"{\"type\": 3}", "type must be one of"},
    {"{\"type\": \"tag_add\", \"tag\": \"x\"}", "type must be one of"},
    {"{\"type\": \"chronology\", \"category\": \"" MARK "\", \"summary\": \"x\"}",
     "category must be one of: concern, contact, call"},
    {"{\"type\": \"chronology\", \"category\": \"call\"}", "required, and not given: summary"},
    {"{\"type\": \"chronology\", \"category\": \"call\", \"summary\": \"x\", \"mood\": \""
     MARK "\"}", "no such field in a chronology: mood; its fields are: event_at, category"},
    {"{\"type\": \"chronology\", \"category\": \"call\", \"summary\": \"x\", \"" MARK
     " said\": 1}", "(a name that is no field)"},
    {"{\"type\": \"action\", \"what\": \"x\", \"due\": \"10/03/2026\"}",
     "due must be a date, YYYY-MM-DD"},
    {"{\"type\": \"action\", \"what\": \"x\", \"owner\": \"two\\nlines\"}",
     "owner must be one line of text"},
    {"{\"type\": \"action\", \"what\": [\"" MARK "\"]}", "what must be text"},
    {"{\"type\": \"action\", \"user\": \"someone\", \"what\": \"x\"}",
     "no such field in an action: user"},
    {"{\"type\": \"review\", \"concern\": null, \"action\": \"x\", \"referred\": \"yes\"}",
     "referred must be true or false"},
    {"{\"type\": \"action_done\", \"action\": \"0\", \"done_at\": \"yesterday\"}",
     "must be"},
    {"{\"type\": \"injury_reflection\", \"risk\": \"" MARK "\"}",
     "risk must be one of: low, medium, high"},
    {"{\"type\": \"correction\", \"target\": \"00\", \"reason\": \"x\"}",
     "target must be an entry id"},
    {"{\"type\": \"action\", \"what\": \"x\", \"type\": \"review\"}", "twice"},
  };
  uint64_t before = ops(amy);

  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    cr_assert_eq(apikit_post(&dsl, ENTRIES(amy_hex), BAD[i].body), 400, "[%zu] %s", i, resp);
    cr_assert_not_null(strstr(body_of(), BAD[i].says), "[%zu] %s", i, body_of());
    cr_assert_null(strstr(resp, MARK), "[%zu] echoed: %s", i, resp);
    cr_assert_eq(ops(amy), before, "[%zu] nothing stored", i);
  }
}

/* n marks, the k-th (0-based) replaced by bad (NULL: all good). */
static char *marks_body(size_t n, size_t k, const char *bad)
{
  size_t cap = 200 + n * 120;
  char *b = malloc(cap);
  size_t o;

  cr_assert_not_null(b);
  o = (size_t)snprintf(b, cap, "{\"type\": \"body_map\", \"marks\": [");
  for (size_t i = 0; i < n; i++)
    o += (size_t)snprintf(b + o, cap - o, "%s%s", i ? ", " : "",
                          bad && i == k ? bad
                                        : "{\"view\": \"back\", \"x\": 10, \"y\": 20, "
                                          "\"site\": \"shin\"}");
  snprintf(b + o, cap - o, "]}");
  return b;
}

Test(web_api_entries, body_map_marks_are_bounded_and_each_field_named_by_its_place)
{
  apikit_who dsl = apikit_as("dsl.jones");
  static const struct { size_t n, k; const char *mark, *says; } BAD[] = {
    {65, 0, NULL, "marks takes at most 64 items (65 sent)"},
    {1, 0, "{\"view\": \"front\", \"x\": 1001, \"y\": 5, \"site\": \"arm\"}",
     "marks[0].x must be a whole number from 0 to 1000"},
    {3, 2, "{\"view\": \"front\", \"x\": 5, \"y\": -1, \"site\": \"arm\"}",
     "marks[2].y must be a whole number from 0 to 1000"},
    {1, 0, "{\"view\": \"front\", \"x\": 5, \"y\": 5}",
     "required, and not given: marks[0].site"},
    {4, 3, "{\"x\": 5, \"site\": \"arm\"}", "required, and not given: marks[3].view, marks[3].y"},
    {2, 1, "{\"view\": \"side\", \"x\": 5, \"y\": 5, \"site\": \"arm\"}",
     "marks[1].view must be one of: front, back"},
    {2, 1, "{\"view\": \"front\", \"x\": 5, \"y\": 5, \"site\": \"arm\", \"bleeding\": \"no\"}",
     "marks[1].bleeding must be true or false"},
    {2, 1, "{\"view\": \"front\", \"x\": 5, \"y\": 5, \"site\": \"arm\", \"clean\": \"muddy\"}",
     "marks[1].clean must be one of: clean, dirty"},
    {2, 0, "{\"view\": \"front\", \"x\": 5, \"y\": 5, \"site\": \"arm\", \"depth\": 3}",
     "no such field in marks[0]: depth; its fields are: view, x, y, site"},
    {2, 1, "\"" MARK "\"", "marks[1] must be an object"},
    {1, 0, "[]", "marks[0] must be an object"},
  };

  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    char *body = marks_body(BAD[i].n, BAD[i].k, BAD[i].mark);
    refused(&dsl, ENTRIES(amy_hex), body, 400, BAD[i].says, amy);
    cr_assert_null(strstr(resp, MARK), "[%zu] echoed", i);
    free(body);
  }
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"body_map\", \"marks\": []}", 400,
          "required, and not given: marks", amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"body_map\"}", 400,
          "required, and not given: marks", amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"body_map\", \"marks\": {\"view\": \"front\"}}",
          400, "marks must be a list of 1 to 64 objects", amy);
  /* 64 marks, the most: accepted, and all read back. */
  {
    char *body = marks_body(64, 0, NULL), id[65];
    json_t *doc;
    write_ok(&dsl, ENTRIES(amy_hex), body, id);
    free(body);
    doc = file_doc(amy_hex);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(entry_in(doc, id), "fields"),
                                                 "marks")), 64);
    json_decref(doc);
  }
}

Test(web_api_entries, reflection_actions_are_bounded_and_named_by_their_place)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[4096];
  size_t o = 0;

  o += (size_t)snprintf(body + o, sizeof body - o,
                        "{\"type\": \"injury_reflection\", \"risk\": \"low\", \"actions\": [");
  for (int i = 0; i < 17; i++)
    o += (size_t)snprintf(body + o, sizeof body - o, "%s{\"what\": \"step %d\"}", i ? ", " : "",
                          i);
  snprintf(body + o, sizeof body - o, "]}");
  refused(&dsl, ENTRIES(amy_hex), body, 400, "actions takes at most 16 items (17 sent)", amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"injury_reflection\", \"risk\": \"low\", "
                                  "\"actions\": [{\"what\": \"a\"}, {\"who\": \"b\"}]}", 400,
          "required, and not given: actions[1].what", amy);
  refused(&dsl, ENTRIES(amy_hex), "{\"type\": \"injury_reflection\", \"risk\": \"low\", "
                                  "\"actions\": [{\"what\": \"a\", \"by\": \"soon\"}]}", 400,
          "actions[0].by must be a date, YYYY-MM-DD", amy);
}

/* ---- the front sheet ---------------------------------------------------------------- */

Test(web_api_entries, a_file_opens_with_defaults_and_its_upn_checked)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char good[14], bad[14], lower[14], body[400], id[65], want[80];
  json_t *doc, *fr;

  upns("801200005001", good, bad);
  snprintf(body, sizeof body, "{\"given_name\": \"Dan\", \"family_name\": \"Eve\", \"dob\": "
                              "\"2018-05-06\", \"upn\": \"%s\"}", bad);
  snprintf(want, sizeof want, "upn: the check letter is wrong: for these digits it is %c",
           good[0]);
  cr_assert_eq(apikit_post(&dsl, "/api/files", body), 400, "%s", resp);
  cr_assert_not_null(strstr(body_of(), want), "%s", body_of());
  cr_assert_null(strstr(body_of(), bad), "the UPN is not echoed");
  cr_assert_eq(files_listed(), 2);
  /* Given in lower case: folded, as the CLI does. */
  for (size_t i = 0; i < 14; i++)
    lower[i] = (char)(good[i] >= 'A' && good[i] <= 'Z' ? good[i] + 32 : good[i]);
  snprintf(body, sizeof body, "{\"given_name\": \"Dan\", \"family_name\": \"Eve\", \"dob\": "
                              "\"2018-05-06\", \"upn\": \"%s\", \"preferred_name\": \"Danny\", "
                              "\"gender\": \"male\", \"plan_status\": \"cin\", \"carers\": "
                              "\"Mum: 07700 900123\"}", lower);
  write_ok(&dsl, "/api/files", body, id);
  cr_assert_eq(strlen(id), 32);
  cr_assert_eq(files_listed(), 3);
  doc = file_doc(id);
  fr = json_object_get(doc, "front");
  cr_assert_str_eq(jstr(fr, "given_name"), "Dan");
  cr_assert_str_eq(jstr(fr, "family_name"), "Eve");
  cr_assert_str_eq(jstr(fr, "dob"), "2018-05-06");
  cr_assert_str_eq(jstr(fr, "upn"), good);
  cr_assert_str_eq(jstr(fr, "preferred_name"), "Danny");
  cr_assert_str_eq(jstr(fr, "gender"), "male");
  cr_assert_str_eq(jstr(fr, "plan_status"), "cin");
  cr_assert_str_eq(jstr(fr, "carers"), "Mum: 07700 900123");
  cr_assert_str_eq(jstr(fr, "status"), "open", "open by default");
  cr_assert_eq(strlen(jstr(fr, "opened_on")), 10, "opened today: %s", body_of());
  json_decref(doc);
  /* The same UPN again: 409 naming the file that has it. */
  snprintf(body, sizeof body, "{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": "
                              "\"2018-05-06\", \"upn\": \"%s\"}", good);
  cr_assert_eq(apikit_post(&dsl, "/api/files", body), 409, "%s", resp);
  doc = apikit_json();
  cr_assert_str_eq(jstr(doc, "file"), id);
  cr_assert_not_null(strstr(jstr(doc, "error"), "a case file for this UPN is here already"));
  json_decref(doc);
  cr_assert_eq(files_listed(), 3);
}

Test(web_api_entries, opening_a_file_refuses_bad_bodies_with_nothing_stored)
{
  apikit_who dep = apikit_as("dep.kay");
  static const struct { const char *body, *says; } BAD[] = {
    {"{\"given_name\": \"" MARK "\"}", "required, and not given: family_name, dob"},
    {"{}", "required, and not given: given_name, family_name, dob"},
    {"{\"given_name\": \"\", \"family_name\": \"E\", \"dob\": \"2018-05-06\"}",
     "required, and not given: given_name"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"06/05/2018\"}",
     "dob must be a date, YYYY-MM-DD"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"2018-02-30\"}",
     "dob must be a date, YYYY-MM-DD"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"2018-05-06\", \"upn\": \"A80\"}",
     "upn: a UPN is 13 characters"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"2018-05-06\", \"upn\": "
     "\"A8012000050X1\"}", "upn: after the check letter a UPN has 11 digits"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"2018-05-06\", \"plan_status\": "
     "\"" MARK "\"}", "plan_status must be one of: none, eh, cin, cp, lac"},
    {"{\"given_name\": \"D\", \"family_name\": \"E\", \"dob\": \"2018-05-06\", \"surname\": "
     "\"" MARK "\"}", "no such front-sheet field: surname; the fields are: given_name"},
    {"{\"given_name\": 5, \"family_name\": \"E\", \"dob\": \"2018-05-06\"}",
     "given_name must be text"},
    {"{\"given_name\": \"two\\nlines\", \"family_name\": \"E\", \"dob\": \"2018-05-06\"}",
     "given_name must be one line of text, at most 256 bytes"},
    {"[1]", "one JSON object"},
    {"{\"given_name\": \"" MARK, "not valid JSON"},
  };
  size_t before = files_listed();

  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    cr_assert_eq(apikit_post(&dep, "/api/files", BAD[i].body), 400, "[%zu] %s", i, resp);
    cr_assert_not_null(strstr(body_of(), BAD[i].says), "[%zu] %s", i, body_of());
    cr_assert_null(strstr(resp, MARK), "[%zu] echoed: %s", i, resp);
  }
  cr_assert_eq(files_listed(), before, "nothing stored");
}

Test(web_api_entries, front_sheet_fields_are_set_cleared_and_checked)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char good[14], bad[14], body[300], id[65], want[80];
  json_t *doc, *fr;

  upns("801200005002", good, bad);
  snprintf(body, sizeof body, "{\"preferred_name\": \"Ames\", \"upn\": \"%s\", \"notes\": "
                              "\"Likes drawing\", \"closed_on\": null}", good);
  write_ok(&dsl, FRONT(amy_hex), body, id);
  doc = file_doc(amy_hex);
  fr = json_object_get(doc, "front");
  cr_assert_str_eq(jstr(fr, "preferred_name"), "Ames");
  cr_assert_str_eq(jstr(fr, "upn"), good);
  cr_assert_str_eq(jstr(fr, "notes"), "Likes drawing");
  cr_assert_str_eq(jstr(fr, "given_name"), "Amy", "untouched");
  json_decref(doc);
  /* null or "" clears a field that may be empty. */
  write_ok(&dsl, FRONT(amy_hex), "{\"notes\": null, \"preferred_name\": \"\"}", id);
  doc = file_doc(amy_hex);
  fr = json_object_get(doc, "front");
  cr_assert(jstr(fr, "notes") == NULL || strcmp(jstr(fr, "notes"), "") == 0, "%s", body_of());
  cr_assert(jstr(fr, "preferred_name") == NULL || strcmp(jstr(fr, "preferred_name"), "") == 0);
  json_decref(doc);
  snprintf(body, sizeof body, "{\"upn\": \"%s\"}", bad);
  snprintf(want, sizeof want, "the check letter is wrong: for these digits it is %c", good[0]);
  refused(&dsl, FRONT(amy_hex), body, 400, want, amy);
  refused(&dsl, FRONT(amy_hex), "{\"given_name\": \"\"}", 400, "given_name cannot be cleared",
          amy);
  refused(&dsl, FRONT(amy_hex), "{\"dob\": null}", 400, "dob cannot be cleared", amy);
  refused(&dsl, FRONT(amy_hex), "{}", 400, "send at least one front-sheet field", amy);
  refused(&dsl, FRONT(amy_hex), "{\"rating\": \"green\"}", 400,
          "rating must be one of: none, red, amber, blue, yellow", amy);
  refused(&dsl, FRONT(amy_hex), "{\"status\": \"shut\"}", 400, "status must be one of: open, "
                                                               "closed", amy);
  refused(&dsl, FRONT(amy_hex), "{\"opened_on\": \"2026-13-01\"}", 400,
          "opened_on must be a date", amy);
  refused(&dsl, FRONT(amy_hex), "{\"notes\": true}", 400, "notes must be text", amy);
  refused(&dsl, FRONT(amy_hex), "{\"" MARK "\": \"x\"}", 400, "(a name that is no field)", amy);
  cr_assert_null(strstr(resp, MARK));
}

Test(web_api_entries, a_resolve_needs_a_conflict_and_every_value_seen)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char body[400], id[65], w0[65], w1[65];
  json_t *doc, *c, *vals;

  doc = file_doc(ben_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 2, "%s", body_of());
  c = json_array_get(json_object_get(doc, "conflicts"), 0);
  cr_assert_str_eq(jstr(c, "field"), "plan_status");
  vals = json_object_get(c, "values");
  snprintf(w0, sizeof w0, "%s", jstr(json_array_get(vals, 0), "id"));
  snprintf(w1, sizeof w1, "%s", jstr(json_array_get(vals, 1), "id"));
  json_decref(doc);

  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"given_name\", \"value\": \"Benjamin\"}", 409,
          "given_name is not in conflict", ben);
  snprintf(body, sizeof body, "{\"field\": \"plan_status\", \"value\": \"cp\", \"seen\": "
                              "[\"%s\"]}", w0);
  refused(&dsl, RESOLVE(ben_hex), body, 409, "plan_status has a value written since the ones "
                                             "you saw", ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"plan_status\", \"value\": \"purple\"}", 400,
          "plan_status must be one of", ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"plan_status\"}", 400, "value is required",
          ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"mood\", \"value\": \"x\"}", 400,
          "field must be a front-sheet field: one of given_name", ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"plan_status\", \"value\": \"cp\", \"why\": 1}",
          400, "no such field in a resolve: why", ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"plan_status\", \"value\": \"cp\", \"seen\": "
                                  "[\"abc\"]}", 400, "seen must be a list", ben);
  refused(&dsl, RESOLVE(ben_hex), "{\"field\": \"plan_status\", \"value\": \"cp\", \"seen\": "
                                  "\"x\"}", 400, "seen must be a list", ben);
  snprintf(body, sizeof body, "{\"field\": \"plan_status\", \"value\": \"cp\", \"seen\": "
                              "[\"%s\", \"%s\"]}", w1, w0);
  write_ok(&dsl, RESOLVE(ben_hex), body, id);
  doc = file_doc(ben_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 1, "rating is left");
  cr_assert_str_eq(jstr(json_array_get(json_object_get(doc, "conflicts"), 0), "field"),
                   "rating");
  cr_assert_str_eq(jstr(json_object_get(doc, "front"), "plan_status"), "cp");
  json_decref(doc);
  refused(&dsl, RESOLVE(ben_hex), body, 409, "plan_status is not in conflict", ben);
  /* Without seen, the write has seen whatever the file holds. */
  write_ok(&dsl, RESOLVE(ben_hex), "{\"field\": \"rating\", \"value\": null}", id);
  doc = file_doc(ben_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 0, "%s", body_of());
  json_decref(doc);
}

/* ---- transport refusals --------------------------------------------------------------- */

Test(web_api_entries, csrf_origin_ids_methods_and_sizes)
{
  apikit_who dsl = apikit_as("dsl.jones");
  char extra[400];
  const char *body = "{\"type\": \"action\", \"what\": \"" MARK "\"}";
  uint64_t before = ops(amy);

  for (size_t i = 0; i < 4; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s", i == 0   ? path_of("/api/files/%s/entries", amy_hex)
                                : i == 1 ? path_of("/api/files/%s/front", amy_hex)
                                : i == 2 ? path_of("/api/files/%s/resolve", amy_hex)
                                         : "/api/files");
    snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\n", dsl.cookie, origin);
    cr_assert_eq(req("POST", p, extra, body), 403, "no token: %s", resp);
    snprintf(extra, sizeof extra, "Cookie: %s\r\nX-CSRF-Token: %s\r\n", dsl.cookie, dsl.csrf);
    cr_assert_eq(req("POST", p, extra, body), 403, "no Origin: %s", resp);
    snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: "
                                  "%s\r\n", dsl.cookie, dsl.csrf);
    cr_assert_eq(req("POST", p, extra, body), 403, "another origin: %s", resp);
    cr_assert_null(strstr(resp, MARK));
    /* GET on a write: 405 with Allow. */
    cr_assert_eq(apikit_get(&dsl, p), i == 3 ? 200 : 405, "%s: %s", p, resp);
    if (i < 3)
      cr_assert(header_has("Allow", "POST"));
  }
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %s\r\n", dsl.cookie,
           origin, dsl.csrf);
  cr_assert_eq(req("PUT", "/api/files", extra, "{}"), 405, "%s", resp);
  cr_assert(header_has("Allow", "POST"));
  cr_assert_eq(ops(amy), before, "nothing stored");
  /* Bad or unknown file ids: 404, nothing stored. */
  const char *bad[] = {"00", "0123456789abcdef0123456789abcdeg",
                       "0123456789abcdef0123456789abcdef"};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(apikit_post(&dsl, path_of("/api/files/%s/entries", bad[i]),
                         "{\"type\": \"action\", \"what\": \"x\"}"), 404, "%s", resp);
    cr_assert_eq(apikit_post(&dsl, path_of("/api/files/%s/front", bad[i]), "{\"notes\": \"x\"}"),
                 404, "%s", resp);
    cr_assert_eq(apikit_post(&dsl, path_of("/api/files/%s/resolve", bad[i]),
                         "{\"field\": \"notes\", \"value\": \"x\"}"), 404, "%s", resp);
  }
  cr_assert_eq(ops(amy), before);
  /* Over the call's limit: 413; a field past its schema limit: 400. */
  {
    size_t big = 300 * 1024;
    char *b = malloc(big + 100);
    int o = snprintf(b, big + 100, "{\"type\": \"action\", \"what\": \"");
    memset(b + o, 'a', big);
    strcpy(b + o + big, "\"}");
    cr_assert_eq(apikit_post(&dsl, ENTRIES(amy_hex), b), 413, "%.200s", resp);
    memset(b + o, 'a', 17000);
    strcpy(b + o + 17000, "\"}");
    cr_assert_eq(apikit_post(&dsl, ENTRIES(amy_hex), b), 400, "%.200s", resp);
    cr_assert_not_null(strstr(body_of(), "what must be text, at most 16384 bytes"), "%s",
                       body_of());
    free(b);
  }
  cr_assert_eq(ops(amy), before, "nothing stored");
}
