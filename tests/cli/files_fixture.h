/* tests/cli/files_fixture.h: a node with users and a case file, made
 * through the real binary, for test_cli_files.c and test_cli_share.c.
 * Static helpers (header only: the cli tests' sources are one file each
 * plus runner.c). Criterion fixture code: failures are assertions. */
#ifndef BT_TESTS_CLI_FILES_FIXTURE_H
#define BT_TESTS_CLI_FILES_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/runner.h"

#define DSL_PASS "dslpass123"
#define STAFF_PASS "staffpass1"
#define GOV_PASS "govpass123"
#define UPN "B801200005001"

#define AS(user, pass, ...)                                                               \
  run_env((const char *const[]){"BATON_USER=" user, "BATON_USER_PASSPHRASE=" pass, NULL}, \
          (const char *const[]){__VA_ARGS__, NULL})
#define AS_DSL(...) AS("dsl.jones", DSL_PASS, __VA_ARGS__)
#define AS_STAFF(...) AS("t.smith", STAFF_PASS, __VA_ARGS__)

/* A rotating set of buffers, so several results can be used in one call. */
static inline char *fx_buf(void)
{
  static char bufs[64][256];
  static size_t next;

  return bufs[next++ % 64];
}

static inline const char *fx_path(const char *name)
{
  char *b = fx_buf();

  snprintf(b, 256, "%s/%s", root, name);
  return b;
}

/* The first 10 hex characters of an id: a unique prefix. */
static inline const char *fx_short(const char *id)
{
  char *b = fx_buf();

  snprintf(b, 256, "%.10s", id);
  return b;
}

static inline void fx_write(const char *name, const char *fmt, ...)
{
  FILE *f = fopen(fx_path(name), "w");
  va_list ap;

  cr_assert_not_null(f);
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}

static inline int fx_has(const json_t *arr, const char *s)
{
  size_t i;
  json_t *v;

  json_array_foreach(arr, i, v)
    if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
      return 1;
  return 0;
}

/* A user added by dsl.jones. */
static inline void fx_user(const char *name, const char *role, const char *pass)
{
  char np[128];

  snprintf(np, sizeof np, "BATON_NEW_PASSPHRASE=%s", pass);
  cr_assert_eq(run_env((const char *const[]){"BATON_USER=dsl.jones",
                                             "BATON_USER_PASSPHRASE=" DSL_PASS, np, NULL},
                       (const char *const[]){"user", "add", name, "--role", role, NULL}),
               0, "user add %s: %s", name, err);
}

/* init, the first user (dsl.jones) and a member of staff (t.smith). */
static inline void fx_node(void)
{
  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  cr_assert_eq(RUN_ENV("BATON_NEW_PASSPHRASE=" DSL_PASS, "user", "add", "dsl.jones", "--role",
                       "dsl"), 0, "%s", err);
  fx_user("t.smith", "staff", STAFF_PASS);
}

/* Amy Bell's file; its id (32 hex) into file. */
static inline void fx_open(char file[40])
{
  json_t *j;

  cr_assert_eq(AS_DSL("--json", "file", "open", "--upn", UPN, "--given", "Amy", "--family",
                      "Bell", "--dob", "2016-03-04", "--plan", "cp"), 0, "%s", err);
  j = parse_out();
  snprintf(file, 40, "%s", jstr(j, "file"));
  cr_assert_eq(strlen(file), 32, "%s", out);
  json_decref(j);
}

/* A concern logged by user from a JSON file; its entry id into id. */
static inline void fx_staff_concern(const char *file, char id[72], const char *user,
                                    const char *pass)
{
  char u[96], p[128];
  json_t *j;

  fx_write("concern.json", "{\"incident_at\": \"2026-03-02T09:15\", \"facts\": \"Bruise on "
                           "her arm.\\nShe flinched.\", \"child_words\": \"Dad hit me\", "
                           "\"where\": \"classroom\", \"opinion\": \"Seemed scared\"}");
  snprintf(u, sizeof u, "BATON_USER=%s", user);
  snprintf(p, sizeof p, "BATON_USER_PASSPHRASE=%s", pass);
  cr_assert_eq(run_env((const char *const[]){u, p, NULL},
                       (const char *const[]){"--json", "concern", "log", file, "--from",
                                             fx_path("concern.json"), NULL}),
               0, "concern log: %s", err);
  j = parse_out();
  snprintf(id, 72, "%s", jstr(j, "id"));
  cr_assert_eq(strlen(id), 64, "%s", out);
  json_decref(j);
}

/* Ops stored, from `baton --json status`. */
static inline size_t fx_ops(void)
{
  json_t *j;
  size_t n;

  cr_assert_eq(RUN("--json", "status"), 0, "%s", err);
  j = parse_out();
  n = (size_t)json_integer_value(json_object_get(json_object_get(j, "ops"), "stored"));
  json_decref(j);
  return n;
}

/* How many files `baton files OPT VAL` lists. */
static inline size_t fx_count_files(const char *opt, const char *val)
{
  json_t *j;
  size_t n;

  cr_assert_eq(AS_DSL("--json", "files", opt, val), 0, "%s", err);
  j = parse_out();
  n = json_array_size(json_object_get(j, "files"));
  json_decref(j);
  return n;
}

#endif
