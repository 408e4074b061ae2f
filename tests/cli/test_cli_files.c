/* tests/cli/test_cli_files.c: case files through the real `baton` binary:
 * users, opening and listing files, recording (concerns, reviews,
 * chronology, body maps, actions, corrections, the front sheet), role
 * refusals, bad input on every command (each with its exit code, a message
 * on stderr and the store unchanged), and a front-sheet conflict.
 *
 * The store is opened in-process (node/ API) only where the CLI cannot
 * make the state here: the LA, its directory and a partner org for
 * sharing, and a second writer for a conflict (test_cli_share.c). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>

#include "cli/files_fixture.h"

TestSuite(cli_files, .init = cli_setup, .fini = cli_teardown);

/* ---- users ------------------------------------------------------------------ */

Test(cli_files, first_user_must_be_a_dsl_then_sign_in_is_needed)
{
  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  cr_assert_eq(RUN_ENV("BATON_NEW_PASSPHRASE=staffpass1", "user", "add", "t.smith", "--role",
                       "staff"), 1);
  cr_assert_not_null(strstr(err, "first must be a DSL"), "%s", err);
  cr_assert_eq(RUN_ENV("BATON_NEW_PASSPHRASE=short", "user", "add", "dsl.jones", "--role",
                       "dsl"), 1);
  cr_assert_not_null(strstr(err, "at least 8"), "%s", err);
  cr_assert_eq(RUN_ENV("BATON_NEW_PASSPHRASE=" DSL_PASS, "--json", "user", "add", "dsl.jones",
                       "--role", "dsl"), 0, "%s", err);
  json_t *j = parse_out();
  cr_assert(json_is_true(json_object_get(j, "first")));
  json_decref(j);
  /* now a second user needs someone signed in who may manage users */
  cr_assert_eq(RUN_ENV("BATON_NEW_PASSPHRASE=staffpass1", "user", "add", "t.smith", "--role",
                       "staff"), 2);
  cr_assert_not_null(strstr(err, "--user"), "%s", err);
  cr_assert_eq(AS_DSL("user", "add", "t.smith", "--role", "staff"), 1, "no new passphrase");
  cr_assert_not_null(strstr(err, "BATON_NEW_PASSPHRASE"), "%s", err);
  cr_assert_eq(run_env((const char *const[]){"BATON_USER=dsl.jones",
                                             "BATON_USER_PASSPHRASE=" DSL_PASS,
                                             "BATON_NEW_PASSPHRASE=staffpass1", NULL},
                       (const char *const[]){"user", "add", "t.smith", "--role", "staff",
                                             NULL}), 0, "%s", err);
  cr_assert_eq(AS_DSL("user", "add", "t.smith", "--role", "staff"), 1);
  cr_assert_eq(AS_DSL("--json", "user", "list"), 0, "%s", err);
  j = parse_out();
  cr_assert_eq(json_array_size(json_object_get(j, "users")), 2);
  cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "users"), 1), "role"), "staff");
  json_decref(j);
  /* staff may not list users, nor reset another's passphrase; may change their own */
  cr_assert_eq(AS_STAFF("user", "list"), 1);
  cr_assert_not_null(strstr(err, "may not manage staff users"), "%s", err);
  cr_assert_eq(run_env((const char *const[]){"BATON_USER=t.smith",
                                             "BATON_USER_PASSPHRASE=staffpass1",
                                             "BATON_NEW_PASSPHRASE=newstaff99", NULL},
                       (const char *const[]){"user", "passwd", "dsl.jones", NULL}), 1);
  cr_assert_eq(run_env((const char *const[]){"BATON_USER=t.smith",
                                             "BATON_USER_PASSPHRASE=staffpass1",
                                             "BATON_NEW_PASSPHRASE=newstaff99", NULL},
                       (const char *const[]){"user", "passwd", "t.smith", NULL}), 0, "%s", err);
  cr_assert_eq(AS_STAFF("user", "list"), 1);
  cr_assert_not_null(strstr(err, "wrong user name or passphrase"), "%s", err);
  cr_assert_eq(AS_DSL("user", "add", "Bad Name", "--role", "staff"), 2);
  cr_assert_eq(AS_DSL("user", "add", "x.y", "--role", "boss"), 2);
  cr_assert_not_null(strstr(err, "governor"), "%s", err);
}

/* ---- the whole flow --------------------------------------------------------------- */

Test(cli_files, a_dsl_records_everything_and_show_gives_it_back)
{
  char file[40], concern[72], action[72];
  json_t *j, *ents, *e;
  size_t i;

  fx_node();
  fx_open(file);
  fx_staff_concern(file, concern, "t.smith", STAFF_PASS);
  cr_assert_eq(AS_DSL("concern", "review", file, fx_short(concern), "--action",
                      "Referred to MASH", "--referred", "yes", "--parents-informed", "no"), 0,
               "%s", err);
  cr_assert_eq(AS_DSL("chrono", "add", file, "--category", "call", "--summary", "Called MASH",
                      "--at", "2026-03-02T10:00", "--with", "MASH duty team"), 0, "%s", err);
  fx_write("b.json", "{\"concern\": \"%s\", \"marks\": [{\"view\": \"front\", \"x\": 300, "
                     "\"y\": 420, \"site\": \"left upper arm\", \"colour\": \"purple\", "
                     "\"skin_broken\": false, \"clean\": \"clean\"}]}", fx_short(concern));
  cr_assert_eq(AS_DSL("bodymap", "add", file, "--from", fx_path("b.json")), 0, "%s", err);
  fx_write("r.json", "{\"risk\": \"medium\", \"explanation\": \"conflicting\", "
                     "\"actions\": [{\"what\": \"Refer\", \"by\": \"2026-03-03\"}]}");
  cr_assert_eq(AS_DSL("reflect", "add", file, "--from", fx_path("r.json")), 0, "%s", err);
  cr_assert_eq(AS_DSL("--json", "action", "add", file, "--what", "Check in with Amy",
                      "--owner", "t.smith", "--due", "2026-03-09"), 0, "%s", err);
  j = parse_out();
  snprintf(action, sizeof action, "%s", jstr(j, "id"));
  json_decref(j);
  cr_assert_eq(AS_DSL("action", "done", file, fx_short(action), "--note", "Spoke to her"), 0,
               "%s", err);
  cr_assert_eq(AS_DSL("correct", file, fx_short(concern), "--reason", "wrong room", "--text",
                      "In the hall"), 0, "%s", err);
  cr_assert_eq(AS_DSL("file", "set", file, "social_worker", "J Patel"), 0, "%s", err);
  cr_assert_eq(AS_DSL("tag", "add", file, "encompass"), 0, "%s", err);

  cr_assert_eq(AS_DSL("--json", "file", "show", file), 0, "%s", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "front.given_name"), "Amy");
  cr_assert_str_eq(jstr(j, "front.upn"), UPN);
  cr_assert_str_eq(jstr(j, "front.social_worker"), "J Patel");
  cr_assert_str_eq(jstr(j, "front.plan_status"), "cp");
  cr_assert_str_eq(jstr(j, "front.status"), "open");
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "tags"), 0)),
                   "encompass");
  cr_assert_eq(json_array_size(json_object_get(j, "conflicts")), 0);
  ents = json_object_get(j, "entries");
  const char *want[] = {"concern", "review", "chronology", "body_map", "injury_reflection",
                        "action", "action_done", "correction"};
  int seen[8] = {0};
  json_array_foreach(ents, i, e) {
    for (size_t k = 0; k < 8; k++)
      if (strcmp(jstr(e, "type"), want[k]) == 0)
        seen[k]++;
    if (strcmp(jstr(e, "type"), "concern") == 0) {
      cr_assert_str_eq(jstr(e, "id"), concern);
      cr_assert_str_eq(jstr(e, "fields.child_words"), "Dad hit me");
      cr_assert_str_eq(jstr(e, "fields.author_name"), "t.smith");
      cr_assert_str_eq(jstr(e, "by"), "t.smith");
      cr_assert(fx_has(json_object_get(e, "flags"), "corrected"));
    }
    if (strcmp(jstr(e, "type"), "review") == 0) {
      cr_assert_str_eq(jstr(e, "fields.concern"), concern);
      cr_assert(json_is_true(json_object_get(json_object_get(e, "fields"), "referred")));
      cr_assert(json_is_false(json_object_get(json_object_get(e, "fields"),
                                              "parents_informed")));
      cr_assert_str_eq(jstr(e, "fields.reviewer"), "dsl.jones");
    }
    if (strcmp(jstr(e, "type"), "action") == 0)
      cr_assert(fx_has(json_object_get(e, "flags"), "done"));
    if (strcmp(jstr(e, "type"), "chronology") == 0) {
      cr_assert_str_eq(jstr(e, "at"), "2026-03-02T10:00:00Z");
      cr_assert_str_eq(jstr(e, "fields.recorded_by"), "dsl.jones (dsl)");
    }
    if (strcmp(jstr(e, "type"), "body_map") == 0) {
      json_t *m = json_array_get(json_object_get(json_object_get(e, "fields"), "marks"), 0);
      cr_assert_str_eq(jstr(m, "site"), "left upper arm");
      cr_assert(json_is_false(json_object_get(m, "skin_broken")));
      cr_assert_eq(json_integer_value(json_object_get(m, "y")), 420);
    }
  }
  for (size_t k = 0; k < 8; k++)
    cr_assert_eq(seen[k], 1, "%s seen %d times", want[k], seen[k]);
  json_decref(j);

  /* parts, text, and the listing with its filters */
  cr_assert_eq(AS_DSL("--json", "file", "show", fx_short(file), "--part", "actions"), 0);
  j = parse_out();
  cr_assert_eq(json_array_size(json_object_get(j, "entries")), 2);
  cr_assert_null(json_object_get(j, "front"));
  json_decref(j);
  cr_assert_eq(AS_DSL("file", "show", file), 0);
  cr_assert_not_null(strstr(out, "Dad hit me"), "%s", out);
  cr_assert_not_null(strstr(out, "J Patel"), "%s", out);
  cr_assert_eq(fx_count_files("--name", "BEL"), 1);
  cr_assert_eq(fx_count_files("--upn", UPN), 1);
  cr_assert_eq(fx_count_files("--plan", "cin"), 0);
  cr_assert_eq(fx_count_files("--status", "closed"), 0);
  cr_assert_eq(AS_DSL("file", "close", file), 0, "%s", err);
  cr_assert_eq(AS_DSL("file", "close", file), 1);
  cr_assert_not_null(strstr(err, "closed already"), "%s", err);
  cr_assert_eq(fx_count_files("--status", "closed"), 1);
  cr_assert_eq(AS_DSL("file", "reopen", file), 0, "%s", err);
  cr_assert_eq(fx_count_files("--status", "open"), 1);
  cr_assert_eq(AS_DSL("tag", "remove", file, "encompass"), 0, "%s", err);
  cr_assert_eq(AS_DSL("tag", "remove", file, "encompass"), 1);
  cr_assert_eq(AS_DSL("--json", "status"), 0);
  j = parse_out();
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "files"), "open")), 1);
  json_decref(j);
}

/* ---- roles ------------------------------------------------------------------------ */

Test(cli_files, roles_see_and_write_only_what_they_may)
{
  char file[40], mine[72], theirs[72];
  size_t before;
  json_t *j;

  fx_node();
  fx_user("gov.green", "governor", GOV_PASS);
  fx_user("a.brown", "staff", "brownpass1");
  fx_open(file);
  fx_staff_concern(file, mine, "t.smith", STAFF_PASS);
  fx_staff_concern(file, theirs, "a.brown", "brownpass1");
  cr_assert_str_neq(mine, theirs);
  before = fx_ops();

  /* staff: no front sheet, no whole file, only their own concerns */
  cr_assert_eq(AS_STAFF("file", "show", file), 1);
  cr_assert_not_null(strstr(err, "--part concerns"), "%s", err);
  cr_assert_str_empty(out);
  cr_assert_eq(AS_STAFF("--json", "file", "show", file, "--part", "concerns"), 0, "%s", err);
  j = parse_out();
  cr_assert_null(json_object_get(j, "front"));
  cr_assert_eq(json_array_size(json_object_get(j, "entries")), 1);
  cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "entries"), 0), "id"), mine);
  cr_assert_null(strstr(out, theirs));
  json_decref(j);
  cr_assert_eq(AS_STAFF("files"), 1);
  cr_assert_not_null(strstr(err, "staff"), "%s", err);
  cr_assert_eq(AS_STAFF("chrono", "add", file, "--category", "call", "--summary", "x"), 1);
  cr_assert_not_null(strstr(err, "may not write to case files"), "%s", err);
  cr_assert_eq(AS_STAFF("concern", "review", file, fx_short(mine), "--action", "x"), 1);
  cr_assert_eq(AS_STAFF("file", "set", file, "plan_status", "cin"), 1);
  cr_assert_eq(AS_STAFF("file", "open", "--given", "A", "--family", "B", "--dob",
                        "2016-01-01"), 1);
  cr_assert_eq(AS_STAFF("share", "decide", file, "--not-share", "--with", "x", "--reason",
                        "y"), 1);
  cr_assert_eq(AS_STAFF("grants", file), 1);

  /* a governor reads counts only */
  cr_assert_eq(AS("gov.green", GOV_PASS, "file", "show", file), 1);
  cr_assert_not_null(strstr(err, "governor"), "%s", err);
  cr_assert_eq(AS("gov.green", GOV_PASS, "file", "show", file, "--part", "concerns"), 1);
  cr_assert_eq(AS("gov.green", GOV_PASS, "files"), 1);
  cr_assert_eq(AS("gov.green", GOV_PASS, "concern", "log", file, "--from", fx_path("c.json")),
               1);
  cr_assert_str_empty(out);
  cr_assert_eq(fx_ops(), before, "a refusal changed the store");
}

/* ---- bad input ---------------------------------------------------------------------- */

typedef struct {
  int who;          /* 0 no user, 1 dsl, 2 staff */
  int rc;
  const char *needle;
  const char *argv[16];
} bad_case;

Test(cli_files, bad_input_on_every_command_is_refused_and_changes_nothing)
{
  char file[40], concern[72], other[40] = "0123456789abcdef0123456789abcdef";
  size_t before;

  fx_node();
  fx_open(file);
  fx_staff_concern(file, concern, "t.smith", STAFF_PASS);
  fx_write("bad.json", "{\"facts\": \"x\",");
  fx_write("unknown.json", "{\"facts\": \"x\", \"mood\": \"sad\"}");
  fx_write("array.json", "[1, 2]");
  fx_write("kind.json", "{\"facts\": 12}");
  fx_write("marks.json", "{\"marks\": [{\"view\": \"side\", \"x\": 1, \"y\": 1, "
                         "\"site\": \"arm\"}]}");
  fx_write("nomarks.json", "{\"observer_name\": \"x\"}");
  fx_write("time.json", "{\"facts\": \"x\", \"incident_at\": \"yesterday\"}");
  fx_write("x.json", "{\"risk\": \"extreme\"}");
  const char *F = file, *C = fx_short(concern);
  const bad_case cases[] = {
    /* file open */
    {1, 2, "check letter is wrong: for these digits it is B",
     {"file", "open", "--upn", "C801200005001", "--given", "A", "--family", "B", "--dob",
      "2016-01-01"}},
    {1, 2, "13 characters", {"file", "open", "--upn", "B8012", "--given", "A", "--family",
                             "B", "--dob", "2016-01-01"}},
    {1, 2, "not a date", {"file", "open", "--given", "A", "--family", "B", "--dob",
                          "2016-02-30"}},
    {1, 2, "--dob", {"file", "open", "--given", "A", "--family", "B"}},
    {1, 2, "cp, cin", {"file", "open", "--given", "A", "--family", "B", "--dob",
                       "2016-01-01", "--plan", "red"}},
    {1, 1, "UPN is here already", {"file", "open", "--upn", UPN, "--given", "A", "--family",
                                   "B", "--dob", "2016-01-01"}},
    {0, 2, "--user", {"file", "open", "--given", "A", "--family", "B", "--dob",
                      "2016-01-01"}},
    /* files, show */
    {1, 2, "open or closed", {"files", "--status", "shut"}},
    {1, 2, "check letter", {"files", "--upn", "C801200005001"}},
    {1, 2, "not an id", {"file", "show", "xyz"}},
    {1, 2, "not an id", {"file", "show", "0123"}},
    {1, 1, "no case file", {"file", "show", "deadbeef"}},
    {1, 1, "no such case file", {"file", "show", other}},
    {1, 2, "--part", {"file", "show", F, "--part", "everything"}},
    {1, 2, "FILE", {"file", "show"}},
    /* front sheet */
    {1, 2, "no front-sheet field", {"file", "set", F, "shoe_size", "4"}},
    {1, 2, "YYYY-MM-DD", {"file", "set", F, "dob", "04/03/2016"}},
    {1, 2, "check letter", {"file", "set", F, "upn", "C801200005001"}},
    {1, 2, "not a value", {"file", "set", F, "plan_status", "maybe"}},
    {1, 1, "not in conflict", {"file", "resolve", F, "plan_status", "cin"}},
    {1, 1, "open already", {"file", "reopen", F}},
    {1, 2, "VALUE", {"file", "set", F, "notes"}},
    {1, 2, "'extract'", {"tag", "add", F, "extract"}},
    {1, 1, "does not have", {"tag", "remove", F, "nope"}},
    /* concern log */
    {2, 2, "--from FILE", {"concern", "log", F}},
    {2, 1, "not valid JSON (line 1", {"concern", "log", F, "--from", fx_path("bad.json")}},
    {2, 1, "no field 'mood'", {"concern", "log", F, "--from", fx_path("unknown.json")}},
    {2, 1, "one JSON object", {"concern", "log", F, "--from", fx_path("array.json")}},
    {2, 1, "field facts must be text", {"concern", "log", F, "--from", fx_path("kind.json")}},
    {2, 1, "incident_at must be a UTC time", {"concern", "log", F, "--from",
                                              fx_path("time.json")}},
    {2, 1, "cannot read", {"concern", "log", F, "--from", fx_path("missing.json")}},
    {2, 1, "whole id", {"concern", "log", fx_short(F), "--from", fx_path("c.json")}},
    {2, 1, "no such case file", {"concern", "log", other, "--from", fx_path("c.json")}},
    /* review */
    {1, 2, "action", {"concern", "review", F, C}},
    {1, 1, "no entry", {"concern", "review", F, "abcdef0123", "--action", "x"}},
    {1, 2, "not an entry id", {"concern", "review", F, "zz", "--action", "x"}},
    {1, 2, "referred: must be true or false", {"concern", "review", F, C, "--action", "x",
                                               "--referred", "perhaps"}},
    {1, 2, "received_at: must be a UTC time", {"concern", "review", F, C, "--action", "x", "--received-at",
                          "noon"}},
    /* chronology, body maps, reflections, actions, corrections */
    {1, 2, "category: must be one of", {"chrono", "add", F, "--category", "gossip",
                                        "--summary", "x"}},
    {1, 2, "summary", {"chrono", "add", F, "--category", "call"}},
    {1, 2, "event_at: must be a UTC time", {"chrono", "add", F, "--category", "call",
                                            "--summary", "x", "--at", "2026-13-01T10:00"}},
    {1, 2, "--from FILE", {"bodymap", "add", F}},
    {1, 1, "view must be one of", {"bodymap", "add", F, "--from", fx_path("marks.json")}},
    {1, 1, "required, and not given: marks", {"bodymap", "add", F, "--from",
                                              fx_path("nomarks.json")}},
    {1, 1, "risk must be one of", {"reflect", "add", F, "--from", fx_path("x.json")}},
    {1, 2, "what", {"action", "add", F, "--owner", "x"}},
    {1, 2, "due: must be a date", {"action", "add", F, "--what", "x", "--due", "Friday"}},
    {1, 1, "is of type concern, not action", {"action", "done", F, C}},
    {1, 2, "reason", {"correct", F, C, "--text", "x"}},
    /* sharing */
    {1, 2, "no lawful basis", {"share", "grant", F, "--to", "County MASH", "--purpose",
                               "referral"}},
    {1, 2, "consent must be recorded in full", {"share", "grant", F, "--to", "County MASH",
                                                "--purpose", "referral", "--basis", "consent",
                                                "--consent-by", "Mother"}},
    {1, 2, "--reason", {"share", "grant", F, "--to", "County MASH", "--purpose", "referral",
                        "--basis", "harm"}},
    {1, 2, "--purpose", {"share", "grant", F, "--to", "County MASH", "--purpose", "gossip",
                         "--basis", "harm", "--reason", "r"}},
    {1, 2, "in the past", {"share", "grant", F, "--to", "County MASH", "--purpose",
                           "referral", "--basis", "harm", "--reason", "r", "--expires",
                           "2001-01-01"}},
    {1, 1, "no org 'Nowhere'", {"share", "grant", F, "--to", "Nowhere", "--purpose",
                                "referral", "--basis", "harm", "--reason", "r"}},
    {1, 2, "--entries", {"share", "extract", F, "--to", "County MASH", "--purpose",
                         "referral", "--basis", "harm", "--reason", "r"}},
    {1, 2, "--reason", {"share", "revoke", F, "abcdef0123"}},
    {1, 1, "no live grant", {"share", "revoke", F, "abcdef0123", "--reason", "r"}},
    {1, 2, "--not-share", {"share", "decide", F, "--with", "x", "--reason", "y"}},
    {1, 2, "--with", {"share", "decide", F, "--not-share", "--reason", "y"}},
    {1, 2, "not an id", {"grants", "nothex!!"}},
    /* users */
    {1, 2, "--role", {"user", "add", "x.y"}},
    {1, 1, "no user", {"user", "passwd", "nobody"}},
  };

  fx_write("c.json", "{\"facts\": \"Seen crying\"}");
  before = fx_ops();
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const bad_case *b = &cases[k];
    const char *env[4] = {NULL};
    size_t e = 0;
    if (b->who == 1) {
      env[e++] = "BATON_USER=dsl.jones";
      env[e++] = "BATON_USER_PASSPHRASE=" DSL_PASS;
    } else if (b->who == 2) {
      env[e++] = "BATON_USER=t.smith";
      env[e++] = "BATON_USER_PASSPHRASE=" STAFF_PASS;
    }
    env[e++] = "BATON_NEW_PASSPHRASE=whatever99";
    int rc = run_env(env, b->argv);
    cr_expect_eq(rc, b->rc, "case %zu (%s %s): exit %d, want %d; stderr: %s", k, b->argv[0],
                 b->argv[1], rc, b->rc, err);
    cr_expect_not_null(strstr(err, b->needle), "case %zu (%s %s): stderr lacks \"%s\": %s", k,
                       b->argv[0], b->argv[1], b->needle, err);
    cr_expect(strncmp(err, "baton ", 6) == 0, "case %zu: %s", k, err);
    cr_expect_str_empty(out, "case %zu printed a result: %s", k, out);
    cr_assert_eq(fx_ops(), before, "case %zu (%s %s) changed the store", k, b->argv[0],
                 b->argv[1]);
  }
}
