/* tests/web/test_api_files.c: the case-file calls of the web API
 * (web/api_files.c) against a real batond (web/main.c) on loopback:
 *
 *   GET  /api/files               front-sheet summaries (DSL, deputy)
 *   GET  /api/files/ID            a case file as the role may see it
 *   POST /api/files/ID/concerns   log a concern (any staff member)
 *
 * Every role against every call; staff logging a concern and seeing only
 * their own; a DSL seeing everything with reviews linked and a front-sheet
 * conflict with every value; CSRF and origin refusals, malformed JSON,
 * unknown fields, missing facts, bad times, oversized bodies and bad file
 * ids, each with nothing stored (the op count read from the store
 * in-process) and no reply echoing the text sent.
 *
 * The store is prepared in-process (tests/node/parties.h): Oak Primary
 * holds two files, Amy Bell (a chronology note) and Ben Cole, whose plan
 * status the school and the MASH (granted write rights) wrote at the same
 * time. The fixture and the HTTP client are tests/web/apikit.h. */
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

/* Ben Cole's file with plan status "cin" (the MASH) and "lac" (the school),
 * written concurrently. */
static void conflicting_file(void)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Ben")}, {CRDT_FS_FAMILY, BT_STR("Cole")},
                        {CRDT_FS_DOB, BT_STR("2015-07-08")}, {CRDT_FS_PLAN, BT_STR("cp")}};
  crdt_fieldval cin = {CRDT_FS_PLAN, BT_STR("cin")}, lac = {CRDT_FS_PLAN, BT_STR("lac")};

  apikit_conflicting_file(fv, 4, &cin, &lac, 1, ben);
}

static void start(void)
{
  crdt_id id;

  apikit_open();
  party_new_file(&school, amy);
  cr_assert_eq(party_note(&school, amy, "Phoned the parents", &id), BT_OK);
  conflicting_file();
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  sodium_bin2hex(ben_hex, sizeof ben_hex, ben, CRDT_FILE_LEN);
  apikit_start(school.dir);
}

TestSuite(web_api_files, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

#define FILE_PATH(hex) path_of("/api/files/%s", hex)
#define CONCERNS(hex) path_of("/api/files/%s/concerns", hex)

/* Ops the school's store holds for a file, read in-process. */
#define ops(file) apikit_ops(school.s, file)

/* The entries of a GET /api/files/ID reply of this type. */
static size_t count_type(const json_t *doc, const char *type)
{
  size_t i, n = 0;
  json_t *e;

  json_array_foreach(json_object_get(doc, "entries"), i, e)
    n += strcmp(jstr(e, "type"), type) == 0;
  return n;
}

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */

/* ---- roles ----------------------------------------------------------------------- */

Test(web_api_files, each_role_against_each_call)
{
  static const struct { const char *user; int list, show, log; } WANT[] = {
    {"dsl.jones", 200, 200, 201}, {"dep.kay", 200, 200, 201},
    {"staff.ali", 403, 200, 201}, {"head.may", 403, 200, 201},
    {"gov.bea", 403, 403, 403},   {"aud.cy", 403, 403, 403},
  };
  const char *concern = "{\"facts\": \"Arrived without a coat in the snow\"}";

  for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++) {
    apikit_who w = apikit_as(WANT[i].user);
    uint64_t before = ops(amy);
    json_t *j;
    cr_assert_eq(apikit_get(&w, "/api/files"), WANT[i].list, "%s: %s", WANT[i].user, resp);
    cr_assert_eq(apikit_get(&w, FILE_PATH(amy_hex)), WANT[i].show, "%s: %s", WANT[i].user, resp);
    cr_assert_eq(apikit_post(&w, CONCERNS(amy_hex), concern), WANT[i].log, "%s: %s", WANT[i].user,
                 resp);
    j = apikit_json();
    if (WANT[i].log == 201) {
      cr_assert_eq(ops(amy), before + 1, "%s: one op", WANT[i].user);
      cr_assert_eq(json_string_length(json_object_get(j, "id")), 64);
    } else {
      cr_assert_eq(ops(amy), before, "%s: nothing stored", WANT[i].user);
      cr_assert_str_eq(jstr(j, "error"), "your role does not allow this");
    }
    json_decref(j);
  }
  /* Without a session, every call is 401. */
  cr_assert_eq(req("GET", "/api/files", "", NULL), 401);
  cr_assert_eq(req("GET", FILE_PATH(amy_hex), "", NULL), 401);
  {
    char extra[100];
    uint64_t before = ops(amy);
    snprintf(extra, sizeof extra, "Origin: %s\r\n", origin);
    cr_assert_eq(req("POST", CONCERNS(amy_hex), extra, concern), 401);
    cr_assert_eq(ops(amy), before);
  }
}

/* ---- reading ----------------------------------------------------------------------- */

Test(web_api_files, the_list_gives_front_sheet_summaries_with_the_conflict_flag)
{
  apikit_who dsl = apikit_as("dsl.jones");
  json_t *doc, *f, *a = NULL, *b = NULL, *plan;
  size_t i;

  cr_assert_eq(apikit_get(&dsl, "/api/files"), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "files")), 2, "%s", body_of());
  json_array_foreach(json_object_get(doc, "files"), i, f) {
    if (strcmp(jstr(f, "id"), amy_hex) == 0)
      a = f;
    if (strcmp(jstr(f, "id"), ben_hex) == 0)
      b = f;
  }
  cr_assert(a && b, "%s", body_of());
  cr_assert_str_eq(jstr(a, "given_name"), "Amy");
  cr_assert_str_eq(jstr(a, "family_name"), "Bell");
  cr_assert_str_eq(jstr(a, "dob"), "2016-03-04");
  cr_assert(json_is_null(json_object_get(a, "upn")), "not recorded: null");
  cr_assert(json_is_false(json_object_get(a, "conflict")));
  cr_assert(json_is_true(json_object_get(b, "conflict")));
  plan = json_object_get(b, "plan_status");
  cr_assert(json_is_array(plan) && json_array_size(plan) == 2, "every value: %s", body_of());
  {
    const char *p0 = json_string_value(json_array_get(plan, 0));
    const char *p1 = json_string_value(json_array_get(plan, 1));
    cr_assert((strcmp(p0, "cin") == 0 && strcmp(p1, "lac") == 0) ||
              (strcmp(p0, "lac") == 0 && strcmp(p1, "cin") == 0), "%s", body_of());
  }
  json_decref(doc);
  apikit_who dep = apikit_as("dep.kay");
  cr_assert_eq(apikit_get(&dep, "/api/files"), 200, "deputies list files too");
  cr_assert_eq(req("HEAD", "/api/files", "", NULL), 401);
}

Test(web_api_files, a_file_shows_every_value_of_a_conflict_with_its_write)
{
  apikit_who dsl = apikit_as("dsl.jones");
  json_t *doc, *c, *vals;
  const char *v0, *v1;

  cr_assert_eq(apikit_get(&dsl, FILE_PATH(ben_hex)), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_str_eq(jstr(doc, "id"), ben_hex);
  cr_assert_str_eq(jstr(json_object_get(doc, "front"), "given_name"), "Ben");
  cr_assert(json_is_array(json_object_get(json_object_get(doc, "front"), "plan_status")));
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 1, "%s", body_of());
  c = json_array_get(json_object_get(doc, "conflicts"), 0);
  cr_assert_str_eq(jstr(c, "field"), "plan_status");
  vals = json_object_get(c, "values");
  cr_assert_eq(json_array_size(vals), 2);
  v0 = jstr(json_array_get(vals, 0), "value");
  v1 = jstr(json_array_get(vals, 1), "value");
  cr_assert((strcmp(v0, "cin") == 0 && strcmp(v1, "lac") == 0) ||
            (strcmp(v0, "lac") == 0 && strcmp(v1, "cin") == 0), "%s", body_of());
  cr_assert_eq(strlen(jstr(json_array_get(vals, 0), "id")), 64, "the write's id");
  cr_assert(json_is_null(json_object_get(doc, "retain")));
  json_decref(doc);
}

Test(web_api_files, staff_log_a_concern_and_see_only_their_own_while_a_dsl_sees_all)
{
  apikit_who ali = apikit_as("staff.ali"), bo = apikit_as("staff.bo"), dsl = apikit_as("dsl.jones");
  const char *body =
    "{\"incident_at\": \"2026-03-02T09:15\", \"reason\": \"Bruise seen\", "
    "\"facts\": \"A bruise on the left arm\\nseen at 9:15\", \"where\": \"Classroom 3\", "
    "\"who\": \"Amy\", \"witnesses\": \"Mr Green\", \"child_words\": \"I fell off my bike\", "
    "\"opinion\": \"The mark looked like a grip\", \"actions_taken\": \"Told the DSL\", "
    "\"passed_to\": \"dsl.jones\"}";
  char concern[65], review[65];
  uint64_t before = ops(amy);
  json_t *doc, *e, *f;
  crdt_body b = {.type = CRDT_OP_REVIEW, .known = 1};
  crdt_id rid;

  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 201, "%s", resp);
  cr_assert(header_has("Content-Type", "application/json"));
  doc = apikit_json();
  snprintf(concern, sizeof concern, "%s", jstr(doc, "id"));
  cr_assert_str_eq(jstr(doc, "type"), "concern");
  json_decref(doc);
  cr_assert_eq(ops(amy), before + 1);

  /* staff.ali sees the concern and nothing else: no front sheet. */
  cr_assert_eq(apikit_get(&ali, FILE_PATH(amy_hex)), 200, "%s", resp);
  doc = apikit_json();
  cr_assert(json_is_null(json_object_get(doc, "front")), "%s", body_of());
  cr_assert(json_is_null(json_object_get(doc, "tags")));
  cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 1, "%s", body_of());
  e = json_array_get(json_object_get(doc, "entries"), 0);
  cr_assert_str_eq(jstr(e, "id"), concern);
  cr_assert_str_eq(jstr(e, "type"), "concern");
  cr_assert_str_eq(jstr(e, "user"), "staff.ali");
  cr_assert_str_eq(jstr(e, "event_at"), "2026-03-02T09:15:00Z", "%s", body_of());
  f = json_object_get(e, "fields");
  cr_assert_str_eq(jstr(f, "facts"), "A bruise on the left arm\nseen at 9:15");
  cr_assert_str_eq(jstr(f, "child_words"), "I fell off my bike");
  cr_assert_str_eq(jstr(f, "opinion"), "The mark looked like a grip");
  cr_assert_str_eq(jstr(f, "where"), "Classroom 3");
  cr_assert_str_eq(jstr(f, "passed_to"), "dsl.jones");
  cr_assert_str_eq(jstr(f, "incident_at"), "2026-03-02T09:15:00Z");
  cr_assert_str_eq(jstr(f, "author_name"), "staff.ali", "defaults to the user");
  cr_assert_str_eq(jstr(f, "author_role"), "staff", "and the role");
  cr_assert_not_null(jstr(f, "written_at"), "defaults to now");
  json_decref(doc);

  /* Another member of staff sees none of it. */
  cr_assert_eq(apikit_get(&bo, FILE_PATH(amy_hex)), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 0, "%s", body_of());
  json_decref(doc);
  cr_assert_null(strstr(body_of(), "bruise"));

  /* The DSL reviews it (in-process) and sees everything, the review linked. */
  b.u.review = (crdt_review){.received_at = PARTY_T0 + 3600000, .action = BT_STR("Spoke to mum"),
                             .reviewer = BT_STR("dsl.jones"), .referred = CRDT_NO};
  cr_assert_eq(sodium_hex2bin(b.u.review.concern.b, CRDT_ID_LEN, concern, 64, NULL, NULL, NULL),
               0);
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, amy, &b, &rid), BT_OK);
  sodium_bin2hex(review, sizeof review, rid.b, CRDT_ID_LEN);
  cr_assert_eq(apikit_get(&dsl, FILE_PATH(amy_hex)), 200, "%s", resp);
  doc = apikit_json();
  cr_assert_str_eq(jstr(json_object_get(doc, "front"), "given_name"), "Amy");
  cr_assert_eq(json_array_size(json_object_get(doc, "conflicts")), 0);
  cr_assert_eq(count_type(doc, "chronology"), 1, "%s", body_of());
  cr_assert_eq(count_type(doc, "concern"), 1);
  cr_assert_eq(count_type(doc, "review"), 1);
  {
    size_t i;
    json_t *x;
    int seen = 0;
    json_array_foreach(json_object_get(doc, "entries"), i, x) {
      if (strcmp(jstr(x, "type"), "concern") == 0) {
        cr_assert_str_eq(jstr(x, "id"), concern);
        cr_assert_str_eq(json_string_value(json_array_get(json_object_get(x, "links"), 0)),
                         review, "a concern lists its reviews");
        seen |= 1;
      }
      if (strcmp(jstr(x, "type"), "review") == 0) {
        cr_assert_str_eq(jstr(json_object_get(x, "fields"), "concern"), concern);
        cr_assert(json_is_false(json_object_get(json_object_get(x, "fields"), "referred")));
        cr_assert_eq(json_array_size(json_object_get(x, "flags")), 0);
        seen |= 2;
      }
    }
    cr_assert_eq(seen, 3);
  }
  json_decref(doc);
  /* And staff.ali still sees only the concern, not the review. */
  cr_assert_eq(apikit_get(&ali, FILE_PATH(amy_hex)), 200);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 1);
  json_decref(doc);
}

Test(web_api_files, file_ids_wrong_length_non_hex_or_unknown_are_404)
{
  apikit_who dsl = apikit_as("dsl.jones"), ali = apikit_as("staff.ali");
  char upper[33];
  const char *bad[] = {
    "00", "", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
    "0123456789abcdef0123456789abcdeg", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "0123456789abcdef0123456789abcdef", /* well formed, not held */
    "0x23456789abcdef0123456789abcdef", "%20123456789abcdef0123456789abcd",
  };
  uint64_t before = ops(amy);

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(apikit_get(&dsl, FILE_PATH(bad[i])), 404, "[%zu] %s", i, resp);
    cr_assert_eq(apikit_get(&ali, FILE_PATH(bad[i])), 404, "[%zu] staff: %s", i, resp);
    cr_assert_eq(apikit_post(&ali, CONCERNS(bad[i]), "{\"facts\": \"x\"}"), 404, "[%zu] %s", i,
                 resp);
  }
  cr_assert_eq(ops(amy), before);
  for (size_t i = 0; i < 32; i++)
    upper[i] = (char)(amy_hex[i] >= 'a' ? amy_hex[i] - 32 : amy_hex[i]);
  upper[32] = 0;
  cr_assert_eq(apikit_get(&dsl, FILE_PATH(upper)), 200, "either case: %s", resp);
  cr_assert_eq(apikit_get(&dsl, path_of("/api/files/%s/other", amy_hex)), 404);
  cr_assert_eq(apikit_get(&dsl, path_of("/api/files/%s/", amy_hex)), 404);
  /* Known paths with the wrong method: 405 and Allow. */
  cr_assert_eq(apikit_post(&dsl, FILE_PATH(amy_hex), "{}"), 405, "%s", resp);
  cr_assert(header_has("Allow", "GET"));
  cr_assert_eq(apikit_get(&dsl, CONCERNS(amy_hex)), 405, "%s", resp);
  cr_assert(header_has("Allow", "POST"));
  cr_assert_eq(ops(amy), before);
  /* A governor learns nothing about which files exist: 403 either way. */
  apikit_who gov = apikit_as("gov.bea");
  cr_assert_eq(apikit_get(&gov, FILE_PATH(amy_hex)), 403);
  cr_assert_eq(apikit_get(&gov, FILE_PATH("0123456789abcdef0123456789abcdef")), 403);
}

/* ---- refusals when logging a concern ------------------------------------------------ */

Test(web_api_files, csrf_or_origin_missing_is_403_with_nothing_stored)
{
  apikit_who ali = apikit_as("staff.ali");
  char extra[400];
  const char *body = "{\"facts\": \"" MARK "\"}";
  uint64_t before = ops(amy);

  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\n", ali.cookie, origin);
  cr_assert_eq(req("POST", CONCERNS(amy_hex), extra, body), 403, "no token: %s", resp);
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %.42s%c\r\n",
           ali.cookie, origin, ali.csrf, ali.csrf[42] == 'A' ? 'B' : 'A');
  cr_assert_eq(req("POST", CONCERNS(amy_hex), extra, body), 403, "wrong token: %s", resp);
  snprintf(extra, sizeof extra, "Cookie: %s\r\nX-CSRF-Token: %s\r\n", ali.cookie, ali.csrf);
  cr_assert_eq(req("POST", CONCERNS(amy_hex), extra, body), 403, "no Origin: %s", resp);
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: %s\r\n",
           ali.cookie, ali.csrf);
  cr_assert_eq(req("POST", CONCERNS(amy_hex), extra, body), 403, "another origin: %s", resp);
  cr_assert_null(strstr(resp, MARK));
  cr_assert_eq(ops(amy), before, "nothing stored");
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 201, "with both: %s", resp);
  cr_assert_eq(ops(amy), before + 1);
}

Test(web_api_files, bad_bodies_are_400_naming_fields_never_echoing_text)
{
  apikit_who ali = apikit_as("staff.ali");
  static const struct { const char *body, *says; } BAD[] = {
    {"{\"facts\": \"" MARK "\"", "not valid JSON"},
    {"not json " MARK, "not valid JSON"},
    {"[\"" MARK "\"]", "one JSON object"},
    {"\"" MARK "\"", "JSON"}, /* jansson takes only arrays and objects */
    {"", "not valid JSON"},
    {"{\"facts\": \"" MARK "\", \"facts\": \"twice\"}", "twice"},
    {"{\"facts\": \"" MARK "\", \"mood\": \"" MARK "\"}", "no such field in a concern: mood"},
    {"{\"facts\": \"x\", \"" MARK " said dad hit me\": 1}", "(a name that is no field)"},
    {"{\"facts\": \"x\", \"user\": \"dsl.jones\"}", "no such field in a concern: user"},
    {"{\"reason\": \"" MARK "\"}", "required, and not given: facts"},
    {"{\"facts\": \"\", \"reason\": \"" MARK "\"}", "required, and not given: facts"},
    {"{\"facts\": null, \"reason\": \"" MARK "\"}", "required, and not given: facts"},
    {"{\"facts\": \"" MARK "\", \"incident_at\": \"02/03/2026 09:15\"}",
     "incident_at must be a UTC time"},
    {"{\"facts\": \"" MARK "\", \"incident_at\": \"2026-02-30T09:15\"}",
     "incident_at must be a UTC time"},
    {"{\"facts\": \"" MARK "\", \"incident_at\": \"2026-03-02T25:00\"}",
     "incident_at must be a UTC time"},
    {"{\"facts\": \"" MARK "\", \"written_at\": \"2026-03-02 09:15\"}",
     "written_at must be a UTC time"},
    {"{\"facts\": \"" MARK "\", \"incident_at\": 1767600000000}",
     "incident_at must be a UTC time"},
    {"{\"facts\": 42}", "facts must be text"},
    {"{\"facts\": [\"" MARK "\"]}", "facts must be text"},
    {"{\"facts\": \"" MARK "\", \"where\": \"two\\nlines " MARK "\"}",
     "where must be one line of text"},
    {"{\"facts\": \"" MARK "\\u0007\"}", "facts must be text"},
  };
  uint64_t before = ops(amy);

  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    json_t *j;
    cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), BAD[i].body), 400, "[%zu] %s", i, resp);
    j = apikit_json();
    cr_assert_not_null(strstr(jstr(j, "error"), BAD[i].says), "[%zu] %s", i, body_of());
    cr_assert_null(strstr(resp, MARK), "[%zu] echoed: %s", i, resp);
    cr_assert_null(strstr(resp, "dad hit"), "[%zu] echoed: %s", i, resp);
    json_decref(j);
    cr_assert_eq(ops(amy), before, "[%zu] nothing stored", i);
  }
  /* Unknown fields are all named, with the fields there are. */
  cr_assert_eq(
    apikit_post(&ali, CONCERNS(amy_hex), "{\"facts\": \"x\", \"mood\": 1, \"colour\": 2}"), 400);
  cr_assert_not_null(strstr(body_of(), "mood, colour"), "%s", body_of());
  cr_assert_not_null(strstr(body_of(), "incident_at"), "%s", body_of());
  cr_assert_not_null(strstr(body_of(), "child_words"), "%s", body_of());
  cr_assert_eq(ops(amy), before);
}

Test(web_api_files, oversized_bodies_are_413_with_nothing_stored)
{
  apikit_who ali = apikit_as("staff.ali");
  size_t big = 300 * 1024, huge = (1 << 20) + 16;
  char *body = malloc(huge + 64);
  uint64_t before = ops(amy);

  /* Over the call's own limit, well-formed: 413. */
  strcpy(body, "{\"facts\": \"");
  memset(body + strlen(body), 'a', big);
  strcpy(body + 11 + big, "\"}");
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 413, "%.300s", resp);
  /* A field past its schema limit (16 KiB of text). */
  strcpy(body, "{\"facts\": \"");
  memset(body + 11, 'a', 17000);
  strcpy(body + 11 + 17000, "\"}");
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 400, "%.300s", resp);
  cr_assert_not_null(strstr(body_of(), "facts must be text, at most 16384 bytes"), "%s",
                     body_of());
  /* Over the server's body limit: the parser says 413 before the call runs. */
  strcpy(body, "{\"facts\": \"");
  memset(body + 11, 'a', huge);
  strcpy(body + 11 + huge, "\"}");
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 413, "%.300s", resp);
  free(body);
  cr_assert_eq(ops(amy), before, "nothing stored");
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), "{\"facts\": \"still works\"}"), 201);
}

Test(web_api_files, the_author_and_time_may_be_given_and_times_take_each_form)
{
  apikit_who ali = apikit_as("staff.ali");
  const char *forms[] = {"2026-03-02T09:15", "2026-03-02T09:15:30", "2026-03-02T09:15:30Z"};
  json_t *doc, *f;

  for (size_t i = 0; i < 3; i++) {
    char body[200];
    snprintf(body, sizeof body, "{\"facts\": \"form %zu\", \"incident_at\": \"%s\"}", i,
             forms[i]);
    cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex), body), 201, "%s: %s", forms[i], resp);
  }
  cr_assert_eq(apikit_post(&ali, CONCERNS(amy_hex),
                       "{\"facts\": \"on paper first\", \"written_at\": \"2026-03-01T16:00\", "
                       "\"author_name\": \"Ann Ali\", \"author_role\": \"teaching assistant\"}"),
               201, "%s", resp);
  cr_assert_eq(apikit_get(&ali, FILE_PATH(amy_hex)), 200);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 4, "%s", body_of());
  f = NULL;
  {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "entries"), i, e)
      if (strcmp(jstr(json_object_get(e, "fields"), "facts"), "on paper first") == 0)
        f = e;
  }
  cr_assert_not_null(f);
  cr_assert_str_eq(jstr(f, "user"), "staff.ali", "the op records who signed in");
  cr_assert_str_eq(jstr(json_object_get(f, "fields"), "author_name"), "Ann Ali");
  cr_assert_str_eq(jstr(json_object_get(f, "fields"), "author_role"), "teaching assistant");
  cr_assert_str_eq(jstr(json_object_get(f, "fields"), "written_at"), "2026-03-01T16:00:00Z");
  cr_assert_str_eq(jstr(f, "event_at"), "2026-03-01T16:00:00Z", "no incident time: written");
  json_decref(doc);
}
