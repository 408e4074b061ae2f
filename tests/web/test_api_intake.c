/* tests/web/test_api_intake.c: POST /api/concerns (web/api_intake.c,
 * node/intake.h) against a real batond: a concern and its body map from
 * any member of staff about a child named by identity; each role; the
 * answer a member of staff gets says nothing of whether the child had a
 * file; every refusal stores nothing and echoes no text sent. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/parties.h"
#include "node/users.h"
#include "web/apikit.h"


static void start(void)
{
  apikit_open();
  apikit_start(school.dir);
}

TestSuite(web_api_intake, .init = start, .fini = apikit_close);

static size_t ops(void)
{
  size_t n = 0, b = 0;

  cr_assert_eq(node_store_counts(school.s, &n, &b), BT_OK);
  return n;
}

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */
#define CHILD "\"child\": {\"given_name\": \"Cara\", \"family_name\": \"Dunn\", \"dob\": \"2017-05-06\"}"
#define CONCERN "\"concern\": {\"facts\": \"Cara had a bruise " MARK "\", \"child_words\": \"It was Dad\"}"
#define MARK1 "{\"view\": \"front\", \"x\": 310, \"y\": 420, \"site\": \"left forearm\", \"colour\": \"purple\", \"skin_broken\": false}"
#define MARK2 "{\"view\": \"back\", \"x\": 500, \"y\": 300, \"site\": \"upper back\", \"pain\": true}"

Test(web_api_intake, each_role_that_may_log_a_concern_does_and_the_others_get_403)
{
  const char *body = "{" CHILD ", " CONCERN "}";
  static const struct { const char *user; int status, sees_file; } W[] = {
    {"staff.ali", 201, 0}, {"head.may", 201, 0}, {"dsl.jones", 201, 1},
    {"dep.kay", 201, 1},   {"gov.bea", 403, 0},  {"aud.cy", 403, 0},
  };
  char first[33] = "";

  for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
    apikit_who w = apikit_as(W[i].user);
    size_t before = ops();
    cr_assert_eq(apikit_post(&w, "/api/concerns", body), W[i].status, "%s: %s", W[i].user, resp);
    cr_assert_null(strstr(resp, MARK), "%s: the reply echoes the text", W[i].user);
    if (W[i].status != 201) {
      cr_assert_eq(ops(), before, "%s: nothing stored", W[i].user);
      continue;
    }
    cr_assert_gt(ops(), before);
    json_t *j = apikit_json();
    cr_assert(json_is_true(json_object_get(j, "logged")));
    cr_assert_eq(strlen(json_string_value(json_object_get(j, "concern"))), 64);
    if (!W[i].sees_file) {
      cr_assert(json_is_null(json_object_get(j, "file")), "%s: %s", W[i].user, resp);
      cr_assert(json_is_null(json_object_get(j, "new_file")));
    } else {
      const char *f = json_string_value(json_object_get(j, "file"));
      cr_assert_not_null(f, "%s: %s", W[i].user, resp);
      if (!first[0])
        snprintf(first, sizeof first, "%s", f);
      cr_assert_str_eq(f, first, "every concern about Cara lands in one file");
      cr_assert(json_is_false(json_object_get(j, "new_file")), "the staff's concern opened it");
    }
    json_decref(j);
  }
  /* The DSL reads four concerns in Cara's file, each by its author. */
  apikit_who dsl = apikit_as("dsl.jones");
  char path[64];
  snprintf(path, sizeof path, "/api/files/%s", first);
  cr_assert_eq(apikit_get(&dsl, path), 200, "%s", resp);
  json_t *doc = apikit_json(), *e;
  size_t i, n = 0;
  json_array_foreach(json_object_get(doc, "entries"), i, e)
    if (strcmp(json_string_value(json_object_get(e, "type")), "concern") == 0)
      n++;
  cr_assert_eq(n, 4);
  json_t *tags = json_object_get(doc, "tags");
  cr_assert_eq(json_array_size(tags), 1);
  cr_assert_str_eq(json_string_value(json_array_get(tags, 0)), "from-staff-concern");
  json_decref(doc);
}

Test(web_api_intake, a_body_map_is_recorded_with_its_concern_and_shown_to_its_author)
{
  apikit_who ali = apikit_as("staff.ali"), dsl = apikit_as("dsl.jones");
  const char *body = "{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [" MARK1 ", " MARK2 "]}}";
  json_t *j, *doc, *e, *bm = NULL;
  const char *concern;
  char path[64];
  size_t i;

  cr_assert_eq(apikit_post(&ali, "/api/concerns", body), 201, "%s", resp);
  j = apikit_json();
  concern = json_string_value(json_object_get(j, "concern"));
  /* The DSL finds the file (one file: the staff member opened it). */
  cr_assert_eq(apikit_get(&dsl, "/api/files"), 200);
  doc = apikit_json();
  cr_assert_eq(json_array_size(json_object_get(doc, "files")), 1);
  snprintf(path, sizeof path, "/api/files/%s",
           json_string_value(json_object_get(json_array_get(json_object_get(doc, "files"), 0),
                                             "id")));
  json_decref(doc);
  cr_assert_eq(apikit_get(&dsl, path), 200);
  doc = apikit_json();
  json_array_foreach(json_object_get(doc, "entries"), i, e)
    if (strcmp(json_string_value(json_object_get(e, "type")), "body_map") == 0)
      bm = json_object_get(e, "fields");
  cr_assert_not_null(bm, "%s", resp);
  cr_assert_str_eq(json_string_value(json_object_get(bm, "concern")), concern);
  cr_assert_str_eq(json_string_value(json_object_get(bm, "observer_name")), "staff.ali");
  cr_assert_str_eq(json_string_value(json_object_get(bm, "observer_role")), "staff");
  json_t *marks = json_object_get(bm, "marks");
  cr_assert_eq(json_array_size(marks), 2, "%s", resp);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(marks, 0), "site")),
                   "left forearm");
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(marks, 0), "x")), 310);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(marks, 1), "view")), "back");
  cr_assert(json_is_true(json_object_get(json_array_get(marks, 1), "pain")));
  json_decref(doc);
  /* The DSL reviews the concern: the DSL's view links the review to it. */
  char review[400];
  snprintf(review, sizeof review,
           "{\"type\": \"review\", \"concern\": \"%s\", \"action\": \"Spoke to Cara\"}",
           concern);
  cr_assert_eq(apikit_post(&dsl, path_of("%s/entries", path), review), 201, "%s", resp);
  cr_assert_eq(apikit_get(&dsl, path), 200);
  doc = apikit_json();
  json_array_foreach(json_object_get(doc, "entries"), i, e)
    if (strcmp(json_string_value(json_object_get(e, "type")), "concern") == 0)
      cr_assert_eq(json_array_size(json_object_get(e, "links")), 1, "%s", resp);
  json_decref(doc);
  /* Staff asking for the file by id see only what they wrote, and no id
   * of what they may not read (the review). */
  cr_assert_eq(apikit_get(&ali, path), 200, "%s", resp);
  doc = apikit_json();
  cr_assert(json_is_null(json_object_get(doc, "front")));
  cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 2, "%s", resp);
  json_array_foreach(json_object_get(doc, "entries"), i, e)
    cr_assert_eq(json_array_size(json_object_get(e, "links")), 0, "%s", resp);
  json_decref(doc);
  json_decref(j);
}

Test(web_api_intake, staff_get_the_same_answer_whether_the_child_had_a_file_or_not)
{
  apikit_who ali = apikit_as("staff.ali"), dsl = apikit_as("dsl.jones");
  const char *body = "{" CHILD ", " CONCERN "}";
  json_t *a, *b;
  const char *k;
  json_t *v;

  cr_assert_eq(apikit_post(&ali, "/api/concerns", body), 201);
  a = apikit_json();
  cr_assert_eq(apikit_post(&ali, "/api/concerns", body), 201);
  b = apikit_json();
  json_object_del(a, "concern");
  json_object_del(b, "concern");
  cr_assert(json_equal(a, b), "new file and matched file answered alike");
  json_object_foreach(a, k, v)
    cr_assert(strcmp(k, "logged") == 0 || json_is_null(v), "%s tells staff something", k);
  json_decref(a);
  json_decref(b);
  cr_assert_eq(apikit_post(&dsl, "/api/concerns", body), 201);
  a = apikit_json();
  cr_assert(json_is_false(json_object_get(a, "new_file")), "a DSL is told: %s", resp);
  json_decref(a);
}

Test(web_api_intake, bad_bodies_are_400_naming_the_field_with_nothing_stored)
{
  apikit_who ali = apikit_as("staff.ali");
  char big[1 << 14], *p = big;
  static const struct { const char *body, *names; } BAD[] = {
    {"{" CONCERN "}", "child.given_name"},
    {"{" CHILD "}", "concern"},
    {"{\"child\": {\"given_name\": \"Cara\", \"family_name\": \"Dunn\"}, " CONCERN "}", "child.dob"},
    {"{\"child\": {\"given_name\": \"Cara\", \"family_name\": \"Dunn\", \"dob\": \"2017-02-30\"}, " CONCERN "}", "child.dob"},
    {"{\"child\": {\"given_name\": \"" MARK "\", \"family_name\": \"Dunn\", \"dob\": \"06/05/2017\"}, " CONCERN "}", "child.dob"},
    {"{\"child\": {\"given_name\": \"Cara\", \"family_name\": \"Dunn\", \"dob\": \"2017-05-06\", \"upn\": \"A801200005001\"}, " CONCERN "}", "upn"},
    {"{\"child\": {\"given_name\": 7, \"family_name\": \"Dunn\", \"dob\": \"2017-05-06\"}, " CONCERN "}", "child.given_name"},
    {"{\"child\": {\"given_name\": \"Cara\", \"family_name\": \"Dunn\", \"dob\": \"2017-05-06\", \"" MARK "\": 1}, " CONCERN "}", "child"},
    {"{" CHILD ", \"concern\": {\"child_words\": \"" MARK "\"}}", "facts"},
    {"{" CHILD ", \"concern\": {\"facts\": \"x\", \"colour\": \"" MARK "\"}}", "colour"},
    {"{" CHILD ", \"concern\": {\"facts\": \"x\", \"incident_at\": \"yesterday " MARK "\"}}", "incident_at"},
    {"{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [{\"view\": \"front\", \"x\": 1, \"y\": 1}]}}", "marks[0].site"},
    {"{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [" MARK1 ", {\"view\": \"front\", \"x\": 1001, \"y\": 1, \"site\": \"a\"}]}}", "marks[1].x"},
    {"{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [{\"view\": \"side\", \"x\": 1, \"y\": 1, \"site\": \"a\"}]}}", "marks[0].view"},
    {"{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": []}}", "marks"},
    {"{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [{\"view\": \"front\", \"x\": 1, \"y\": 1, \"site\": \"a\", \"photo\": \"" MARK "\"}]}}", "photo"},
    {"{" CHILD ", " CONCERN ", \"extra\": 1}", "child, concern and body_map"},
    {"[1, 2]", "object"},
    {"{" CHILD ", " CONCERN, "JSON"},
    {"{\"child\": 1, \"child\": 2}", "twice"},
  };
  size_t before = ops();

  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    cr_assert_eq(apikit_post(&ali, "/api/concerns", BAD[i].body), 400, "[%zu] %s", i, resp);
    cr_assert_not_null(strstr(body_of(), BAD[i].names), "[%zu] names %s: %s", i, BAD[i].names,
                       body_of());
    cr_assert_null(strstr(resp, MARK), "[%zu] echoes the text sent: %s", i, resp);
  }
  /* 65 marks: over the list's bound. */
  p += sprintf(p, "{" CHILD ", " CONCERN ", \"body_map\": {\"marks\": [");
  for (int i = 0; i < 65; i++)
    p += sprintf(p, "%s" MARK1, i ? ", " : "");
  sprintf(p, "]}}");
  int st = apikit_post(&ali, "/api/concerns", big);
  cr_assert(st == 400 || st == 413, "%d %s", st, resp);
  cr_assert_not_null(strstr(body_of(), "marks"), "%s", body_of());
  cr_assert_eq(ops(), before, "nothing stored on any refusal");
}

Test(web_api_intake, the_call_needs_post_a_session_and_its_csrf_token)
{
  apikit_who ali = apikit_as("staff.ali");
  char extra[300];
  const char *body = "{" CHILD ", " CONCERN "}";
  size_t before = ops();

  cr_assert_eq(apikit_get(&ali, "/api/concerns"), 405);
  cr_assert(header_has("Allow", "POST"));
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nContent-Type: application/json\r\n",
           ali.cookie, origin);
  cr_assert_eq(req("POST", "/api/concerns", extra, body), 403, "no CSRF token: %s", resp);
  snprintf(extra, sizeof extra,
           "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: %s\r\n", ali.cookie,
           ali.csrf);
  cr_assert_eq(req("POST", "/api/concerns", extra, body), 403, "cross origin: %s", resp);
  snprintf(extra, sizeof extra, "Origin: %s\r\n", origin);
  cr_assert_eq(req("POST", "/api/concerns", extra, body), 401, "signed out: %s", resp);
  cr_assert_eq(ops(), before);
}
