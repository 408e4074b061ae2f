/* tests/cli/test_cli_audit.c: `baton audit` through the real binary: it
 * lists sign-ins and its own reads, needs a role that may read the log,
 * filters and limits, and --verify exits 1 naming the first bad record
 * once a stored record is changed behind the store's back.
 *
 * Users are added through the node API in this process (the store closed
 * again before baton runs), so these tests do not depend on `baton user`. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>

#include "cli/runner.h"
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/audit.h"
#include "node/store.h"
#include "node/users.h"

static char dir[192], key[192];

static node_store *open_store(void)
{
  node_store_opts o = {.dir = dir, .key_file = key, .kdf = NODE_KDF_MIN};
  node_store *s;

  cr_assert_eq(node_store_open(&s, &o), BT_OK);
  return s;
}

static void setup(void)
{
  node_store *s;

  cli_setup();
  snprintf(dir, sizeof dir, "%s/data", root);
  snprintf(key, sizeof key, "%s/node.key", root);
  cr_assert_eq(RUN("--dir", dir, "--key-file", key, "init", "Oak Primary"), 0, "%s", err);
  s = open_store();
  cr_assert_eq(node_user_add(s, "aud", "audit pass", 10, NODE_ROLE_AUDITOR), BT_OK);
  cr_assert_eq(node_user_add(s, "dsl.jones", "dsl pass", 8, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(node_user_add(s, "staff.ali", "staff pass", 10, NODE_ROLE_STAFF), BT_OK);
  node_store_close(s);
}

TestSuite(cli_audit, .init = setup, .fini = cli_teardown);

/* baton --dir D --key-file K ARGS... as user with passphrase pass. */
#define AS(pass, ...)                                                                   \
  run_env((const char *const[]){"BATON_USER_PASSPHRASE=" pass, NULL},                 \
          (const char *const[]){"--dir", dir, "--key-file", key, __VA_ARGS__, NULL})

static json_t *records(json_t *doc)
{
  json_t *r = json_object_get(doc, "records");

  cr_assert(json_is_array(r), "records: %s", out);
  return r;
}

static const char *rstr(json_t *recs, size_t i, const char *k)
{
  return json_string_value(json_object_get(json_array_get(recs, i), k));
}

Test(cli_audit, lists_sign_ins_and_its_own_read)
{
  json_t *doc, *r;
  size_t n;

  cr_assert_eq(AS("audit pass", "--json", "audit", "--user", "aud"), 0, "%s", err);
  doc = parse_out();
  r = records(doc);
  n = json_array_size(r);
  cr_assert_geq(n, 5, "three user_add, a login, the read: %s", out);
  cr_assert_str_eq(rstr(r, 0, "action"), "user_add");
  cr_assert_str_eq(rstr(r, n - 2, "action"), "login");
  cr_assert_str_eq(rstr(r, n - 2, "user"), "aud");
  cr_assert_str_eq(rstr(r, n - 2, "detail"), "auditor");
  cr_assert_str_eq(rstr(r, n - 1, "action"), "read_audit");
  cr_assert_str_eq(rstr(r, n - 1, "detail"), "list");
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(r, i), "seq")),
                 (json_int_t)i + 1);
  json_decref(doc);

  /* Text: one line per record. */
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "read_audit"), "%s", out);
  cr_assert_not_null(strstr(out, "login"), "%s", out);
}

Test(cli_audit, a_role_that_may_not_read_it_is_refused_and_that_is_recorded)
{
  json_t *doc, *r;
  size_t n;
  int found = 0;

  cr_assert_eq(AS("staff pass", "audit", "--user", "staff.ali"), 1, "%s", out);
  cr_assert_not_null(strstr(err, "read the audit log"), "%s", err);
  cr_assert_eq(AS("wrong", "audit", "--user", "aud"), 1);
  cr_assert_eq(AS("audit pass", "--json", "audit", "--user", "aud"), 0, "%s", err);
  doc = parse_out();
  r = records(doc);
  n = json_array_size(r);
  for (size_t i = 0; i < n; i++) {
    const char *a = rstr(r, i, "action"), *u = rstr(r, i, "user");
    if (strcmp(a, "login") == 0 && u && strcmp(u, "staff.ali") == 0)
      found |= 1;
    if (strcmp(a, "login_failed") == 0 && u && strcmp(u, "aud") == 0)
      found |= 2;
    cr_assert(strcmp(a, "read_audit") != 0 || strcmp(u, "aud") == 0,
              "only the auditor read it: %s", out);
  }
  cr_assert_eq(found, 3, "the staff sign-in and the failed one are there: %s", out);
  json_decref(doc);
}

Test(cli_audit, limit_keeps_the_newest_and_file_filters)
{
  json_t *doc, *r;

  cr_assert_eq(AS("audit pass", "--json", "audit", "--user", "aud", "--limit", "2"), 0, "%s",
               err);
  doc = parse_out();
  r = records(doc);
  cr_assert_eq(json_array_size(r), 2, "%s", out);
  cr_assert_str_eq(rstr(r, 0, "action"), "login");
  cr_assert_str_eq(rstr(r, 1, "action"), "read_audit");
  json_decref(doc);

  cr_assert_eq(AS("audit pass", "--json", "audit", "--user", "aud", "--file",
                  "00112233445566778899aabbccddeeff"), 0, "%s", err);
  doc = parse_out();
  r = records(doc);
  /* The read itself names the file it was asked about. */
  cr_assert_eq(json_array_size(r), 1, "%s", out);
  cr_assert_str_eq(rstr(r, 0, "action"), "read_audit");
  cr_assert_str_eq(rstr(r, 0, "file"), "00112233445566778899aabbccddeeff");
  json_decref(doc);
}

Test(cli_audit, bad_arguments_are_usage_errors)
{
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud", "--limit", "0"), 2);
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud", "--limit", "x"), 2);
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud", "--limit", "-3"), 2);
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud", "--verify", "--limit", "3"), 2);
  cr_assert_eq(AS("audit pass", "audit", "--user", "aud", "--file", "not-hex!"), 2);
  cr_assert_eq(AS("audit pass", "audit"), 2, "no user");
  cr_assert_eq(RUN("help", "audit"), 0);
  cr_assert_not_null(strstr(out, "--verify"), "%s", out);
}

static void flip_byte_of(uint64_t seq, size_t at)
{
  MDB_env *env;
  MDB_txn *t;
  MDB_dbi db;
  uint8_t k[8], v[1024];
  MDB_val kv = {8, k}, vv;

  for (int i = 7; i >= 0; i--, seq >>= 8)
    k[i] = (uint8_t)seq;
  cr_assert_eq(mdb_env_create(&env), 0);
  cr_assert_eq(mdb_env_set_maxdbs(env, 64), 0);
  cr_assert_eq(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
  cr_assert_eq(mdb_txn_begin(env, NULL, 0, &t), 0);
  cr_assert_eq(mdb_dbi_open(t, "audit", 0, &db), 0);
  cr_assert_eq(mdb_get(t, db, &kv, &vv), 0);
  cr_assert_lt(at, vv.mv_size);
  memcpy(v, vv.mv_data, vv.mv_size);
  v[at] ^= 0x01;
  vv.mv_data = v;
  cr_assert_eq(mdb_put(t, db, &kv, &vv, 0), 0);
  cr_assert_eq(mdb_txn_commit(t), 0);
  mdb_env_close(env);
}

Test(cli_audit, verify_passes_then_names_the_first_changed_record)
{
  json_t *doc;

  cr_assert_eq(AS("audit pass", "audit", "--verify", "--user", "aud"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "intact"), "%s", out);
  cr_assert_eq(AS("dsl pass", "--json", "audit", "--verify", "--user", "dsl.jones"), 0, "%s",
               err);
  doc = parse_out();
  cr_assert(json_is_true(json_object_get(doc, "intact")), "%s", out);
  /* 3 user_add, aud's login and read, dsl's login and read. */
  cr_assert_eq(json_integer_value(json_object_get(doc, "records")), 7, "%s", out);
  json_decref(doc);

  flip_byte_of(2, 20); /* inside record 2's signed body */
  cr_assert_eq(AS("audit pass", "--json", "audit", "--verify", "--user", "aud"), 1, "%s", out);
  doc = parse_out();
  cr_assert(json_is_false(json_object_get(doc, "intact")), "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(doc, "bad_seq")), 2, "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(doc, "records")), 1, "%s", out);
  json_decref(doc);
  cr_assert_not_null(strstr(err, "record 2"), "names the record: %s", err);
  cr_assert_eq(AS("audit pass", "audit", "--verify", "--user", "aud"), 1);
  cr_assert_not_null(strstr(out, "NOT intact"), "%s", out);
}
