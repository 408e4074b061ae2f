/* tests/node/test_audit.c: the audit log: chain and signatures verify;
 * edits, deletions, reordering and re-signing behind the API (raw LMDB
 * writes, the store closed) are found at the right record; views, grants
 * and sign-ins leave exactly their records; no case content reaches it. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/users.h"
#include "parties.h"

PARTIES_SUITE(node_audit);

static const uint8_t FILE_A[CRDT_FILE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* n records of assorted kinds at the school. */
static void add_some(int n)
{
  for (int i = 0; i < n; i++) {
    char d[32];
    snprintf(d, sizeof d, "step %d", i);
    party_now_ms += 1000;
    cr_assert_eq(node_audit_add(school.s, i % 2 ? "dsl.jones" : NULL,
                                (node_audit_action)(1 + i % (NODE_AUDIT_END - 1)),
                                i % 3 ? FILE_A : NULL, i % 4 ? d : NULL),
                 BT_OK, "record %d", i);
  }
}

static size_t count(node_store *s)
{
  node_audit_rec *r;
  size_t n;

  cr_assert_eq(node_audit_list(s, NULL, &r, &n), BT_OK);
  node_audit_list_free(r);
  return n;
}

/* The records from seq `from` on. */
static node_audit_rec *since(node_store *s, uint64_t from, size_t *n)
{
  node_audit_filter f = {.since = from};
  node_audit_rec *r;

  cr_assert_eq(node_audit_list(s, &f, &r, n), BT_OK);
  return r;
}

/* ---- raw LMDB, the school's store closed -------------------------------- */

typedef struct {
  MDB_env *env;
  MDB_txn *t;
  MDB_dbi db;
} raw;

static void raw_open(raw *r)
{
  node_store_close(school.s);
  school.s = NULL;
  cr_assert_eq(mdb_env_create(&r->env), 0);
  cr_assert_eq(mdb_env_set_maxdbs(r->env, 64), 0);
  cr_assert_eq(mdb_env_set_mapsize(r->env, (size_t)1 << 30), 0);
  cr_assert_eq(mdb_env_open(r->env, school.dir, MDB_NOTLS, 0600), 0);
  cr_assert_eq(mdb_txn_begin(r->env, NULL, 0, &r->t), 0);
  cr_assert_eq(mdb_dbi_open(r->t, "audit", 0, &r->db), 0);
}

static void raw_close(raw *r)
{
  cr_assert_eq(mdb_txn_commit(r->t), 0);
  mdb_env_close(r->env);
  school.s = party_store_open(school.dir);
}

static void key_of(uint64_t seq, uint8_t k[8])
{
  for (int i = 7; i >= 0; i--, seq >>= 8)
    k[i] = (uint8_t)seq;
}

/* Copies record seq's stored value into buf; returns its length. */
static size_t raw_get(raw *r, uint64_t seq, uint8_t *buf, size_t cap)
{
  uint8_t k[8];
  MDB_val kv = {8, k}, v;

  key_of(seq, k);
  cr_assert_eq(mdb_get(r->t, r->db, &kv, &v), 0, "record %llu", (unsigned long long)seq);
  cr_assert_leq(v.mv_size, cap);
  memcpy(buf, v.mv_data, v.mv_size);
  return v.mv_size;
}

static void raw_put(raw *r, uint64_t seq, const uint8_t *p, size_t len)
{
  uint8_t k[8];
  MDB_val kv = {8, k}, v = {len, (void *)p};

  key_of(seq, k);
  cr_assert_eq(mdb_put(r->t, r->db, &kv, &v, 0), 0);
}

static void raw_del(raw *r, uint64_t seq)
{
  uint8_t k[8];
  MDB_val kv = {8, k};

  key_of(seq, k);
  cr_assert_eq(mdb_del(r->t, r->db, &kv, NULL), 0);
}

static void expect_bad(uint64_t seq, node_audit_fault fault, const char *what)
{
  node_audit_check c;

  cr_assert_eq(node_audit_verify(school.s, &c), BT_ECORRUPT, "%s: not detected", what);
  cr_assert_eq(c.bad_seq, seq, "%s: bad seq %llu, want %llu", what,
               (unsigned long long)c.bad_seq, (unsigned long long)seq);
  if (fault)
    cr_assert_eq(c.fault, fault, "%s: fault %s", what, node_audit_fault_text(c.fault));
  cr_assert_eq(c.records, seq - 1, "%s", what);
}

static void expect_intact(uint64_t n)
{
  node_audit_check c;

  cr_assert_eq(node_audit_verify(school.s, &c), BT_OK, "fault %s at %llu",
               node_audit_fault_text(c.fault), (unsigned long long)c.bad_seq);
  cr_assert_eq(c.fault, NODE_AUDIT_INTACT);
  cr_assert_eq(c.bad_seq, 0);
  cr_assert_eq(c.records, n);
}

/* ---- the chain ------------------------------------------------------------ */

Test(node_audit, records_are_numbered_chained_and_verify)
{
  uint64_t base = count(school.s);
  node_audit_rec *r;
  size_t n;

  add_some(6);
  expect_intact(base + 6);
  r = since(school.s, base + 1, &n);
  cr_assert_eq(n, 6);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(r[i].seq, base + 1 + i);
    cr_assert_eq(r[i].action, (node_audit_action)(1 + i % (NODE_AUDIT_END - 1)));
    cr_assert_str_eq(r[i].user, i % 2 ? "dsl.jones" : "");
    cr_assert_eq(r[i].has_file, i % 3 != 0);
    if (r[i].has_file)
      cr_assert_arr_eq(r[i].file, FILE_A, CRDT_FILE_LEN);
    char d[32] = "";
    if (i % 4)
      snprintf(d, sizeof d, "step %zu", i);
    cr_assert_str_eq(r[i].detail, d);
    cr_assert_eq(r[i].ms, party_now_ms - 1000 * (5 - i), "the store's clock");
  }
  cr_assert_str_eq(r[1].detail, "step 1");
  node_audit_list_free(r);

  /* The first record chains to zero, each next to the hash of the one
   * before as stored. */
  raw x;
  uint8_t v[1024], h[32], zero[32] = {0};
  size_t len;
  r = since(school.s, 1, &n);
  cr_assert_eq(n, base + 6);
  cr_assert_arr_eq(r[0].prev, zero, 32);
  raw_open(&x);
  for (size_t i = 1; i < n; i++) {
    len = raw_get(&x, i, v, sizeof v);
    crypto_generichash(h, 32, v, len, NULL, 0);
    cr_assert_arr_eq(r[i].prev, h, 32, "record %zu", i + 1);
  }
  raw_close(&x);
  node_audit_list_free(r);
}

Test(node_audit, appending_continues_the_chain_across_reopening)
{
  uint64_t base = count(school.s);
  raw x;

  add_some(3);
  raw_open(&x);
  raw_close(&x); /* closes and reopens the store */
  add_some(3);
  expect_intact(base + 6);
}

Test(node_audit, bad_arguments_write_nothing)
{
  uint64_t base = count(school.s);
  char longd[NODE_AUDIT_DETAIL_MAX + 2];

  memset(longd, 'x', sizeof longd - 1);
  longd[sizeof longd - 1] = 0;
  cr_assert_eq(node_audit_add(school.s, "Amy Bell", NODE_AUDIT_VIEW, NULL, NULL), BT_EINVAL);
  cr_assert_eq(node_audit_add(school.s, "ok", NODE_AUDIT_VIEW, NULL, longd), BT_EINVAL);
  cr_assert_eq(node_audit_add(school.s, "ok", NODE_AUDIT_VIEW, NULL, "line\nbreak"), BT_EINVAL);
  cr_assert_eq(node_audit_add(school.s, "ok", (node_audit_action)0, NULL, NULL), BT_EINVAL);
  cr_assert_eq(node_audit_add(school.s, "ok", NODE_AUDIT_END, NULL, NULL), BT_EINVAL);
  cr_assert_eq(count(school.s), base);
  longd[NODE_AUDIT_DETAIL_MAX] = 0;
  cr_assert_eq(node_audit_add(school.s, "ok", NODE_AUDIT_VIEW, NULL, longd), BT_OK);
  expect_intact(base + 1);
}

/* ---- tampering behind the API ------------------------------------------------ */

Test(node_audit, a_flipped_byte_anywhere_is_found_at_its_record)
{
  uint64_t base = count(school.s), k = base + 3;
  uint8_t v[1024], w[1024];
  size_t len;
  raw x;

  add_some(5);
  raw_open(&x);
  len = raw_get(&x, k, v, sizeof v);
  mdb_txn_abort(x.t);
  mdb_env_close(x.env);
  school.s = party_store_open(school.dir);
  for (size_t i = 0; i < len; i++) {
    for (unsigned bit = 0; bit < 8; bit += 3) {
      memcpy(w, v, len);
      w[i] ^= (uint8_t)(1u << bit);
      raw_open(&x);
      raw_put(&x, k, w, len);
      raw_close(&x);
      char what[48];
      snprintf(what, sizeof what, "byte %zu bit %u", i, bit);
      expect_bad(k, 0, what);
    }
  }
  raw_open(&x);
  raw_put(&x, k, v, len);
  raw_close(&x);
  expect_intact(base + 5);
}

Test(node_audit, garbage_values_and_keys_are_reported_not_crashed_on)
{
  uint64_t base = count(school.s), k = base + 2;
  uint8_t g[700], keep[1024];
  size_t lens[] = {0, 1, 2, 5, 64, 200, 700}, klen;
  node_audit_rec *r;
  size_t n;
  raw x;

  add_some(4);
  raw_open(&x);
  klen = raw_get(&x, k, keep, sizeof keep);
  raw_close(&x);
  randombytes_buf(g, sizeof g);
  g[0] = 0x92; /* an array of two, then noise */
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    raw_open(&x);
    raw_put(&x, k, g, lens[i]);
    raw_close(&x);
    expect_bad(k, lens[i] < 2 ? 0 : NODE_AUDIT_UNREADABLE, "garbage");
    cr_assert_eq(node_audit_list(school.s, NULL, &r, &n), BT_ECORRUPT);
  }
  raw_open(&x);
  raw_put(&x, k, keep, klen);
  raw_close(&x);
  expect_intact(base + 4);
  /* A key that is not 8 bytes, sorting before every record. */
  raw_open(&x);
  MDB_val kv = {2, "\0\0"}, vv = {3, "xyz"};
  cr_assert_eq(mdb_put(x.t, x.db, &kv, &vv, 0), 0);
  raw_close(&x);
  expect_bad(1, NODE_AUDIT_UNREADABLE, "short key");
}

Test(node_audit, a_deleted_middle_record_is_found)
{
  uint64_t base = count(school.s);
  raw x;

  add_some(5);
  raw_open(&x);
  raw_del(&x, base + 3);
  raw_close(&x);
  expect_bad(base + 3, NODE_AUDIT_MISSING, "deleted");
}

Test(node_audit, a_deletion_closed_up_by_renumbering_is_found)
{
  uint64_t base = count(school.s);
  uint8_t v[1024];
  size_t len;
  raw x;

  add_some(5);
  raw_open(&x);
  for (uint64_t q = base + 3; q < base + 5; q++) {
    len = raw_get(&x, q + 1, v, sizeof v);
    raw_put(&x, q, v, len);
  }
  raw_del(&x, base + 5);
  raw_close(&x);
  expect_bad(base + 3, NODE_AUDIT_MISSING, "renumbered");
}

Test(node_audit, swapped_records_are_found)
{
  uint64_t base = count(school.s);
  uint8_t a[1024], b[1024];
  size_t la_, lb;
  raw x;

  add_some(5);
  raw_open(&x);
  la_ = raw_get(&x, base + 2, a, sizeof a);
  lb = raw_get(&x, base + 4, b, sizeof b);
  raw_put(&x, base + 2, b, lb);
  raw_put(&x, base + 4, a, la_);
  raw_close(&x);
  expect_bad(base + 2, NODE_AUDIT_MISSING, "swapped");
}

/* The signed body of a stored value [bin body, bin(64) sig]: offset and
 * length, for the bin8 form every record here uses. */
static void body_of(const uint8_t *v, size_t len, size_t *off, size_t *blen)
{
  cr_assert_eq(v[0], 0x92);
  cr_assert_eq(v[1], 0xc4, "bin8 body");
  *off = 3;
  *blen = v[2];
  cr_assert_eq(*off + *blen + 2 + 64, len);
}

static void resign(uint8_t *v, size_t len, const uint8_t sk[64])
{
  uint8_t msg[600];
  size_t off, blen;

  body_of(v, len, &off, &blen);
  memcpy(msg, "baton-audit-v1", 15);
  memcpy(msg + 15, v + off, blen);
  crypto_sign_detached(v + len - 64, NULL, msg, 15 + blen, sk);
}

Test(node_audit, records_re_signed_with_another_key_are_found)
{
  uint64_t base = count(school.s);
  uint8_t pk[32], sk[64], v[1024], dev[32];
  size_t len, off, blen;
  raw x;

  add_some(5);
  crypto_sign_keypair(pk, sk);
  /* First: our signer reproduces the real signature (the test's model of
   * the format is right), so what follows is a real forgery attempt. */
  node_store_device(school.s, dev);
  raw_open(&x);
  len = raw_get(&x, base + 3, v, sizeof v);
  body_of(v, len, &off, &blen);
  uint8_t msg[600];
  memcpy(msg, "baton-audit-v1", 15);
  memcpy(msg + 15, v + off, blen);
  cr_assert_eq(crypto_sign_verify_detached(v + len - 64, msg, 15 + blen, dev), 0);
  /* An edited detail, re-signed with another key: the length stays. */
  for (size_t i = off; i + 6 < off + blen; i++)
    if (memcmp(v + i, "step 2", 6) == 0)
      v[i + 5] = '9';
  resign(v, len, sk);
  raw_put(&x, base + 3, v, len);
  raw_close(&x);
  expect_bad(base + 3, NODE_AUDIT_BAD_SIG, "re-signed");
}

Test(node_audit, a_re_encoded_record_is_found_even_when_last)
{
  uint64_t base = count(school.s), k = base + 3;
  uint8_t v[1024], w[1100];
  size_t len, off, blen;
  raw x;

  add_some(3);
  raw_open(&x);
  len = raw_get(&x, k, v, sizeof v);
  body_of(v, len, &off, &blen);
  /* The same body and signature, the body's length as bin16: it decodes
   * to the same record and the signature holds, but it is not canonical. */
  w[0] = 0x92;
  w[1] = 0xc5;
  w[2] = 0;
  w[3] = (uint8_t)blen;
  memcpy(w + 4, v + off, len - off);
  raw_put(&x, k, w, len + 1);
  raw_close(&x);
  expect_bad(k, NODE_AUDIT_UNREADABLE, "bin16");
}

Test(node_audit, a_record_spliced_from_a_copy_of_the_store_breaks_the_chain)
{
  char copy[96], cmd[256];
  uint64_t base = count(school.s);
  uint8_t v[1024];
  size_t len;
  node_store *c;
  raw x;

  add_some(2);
  /* A copy of the store (a restored backup): the same device key. */
  node_store_close(school.s);
  snprintf(copy, sizeof copy, "%s-copy", school.dir);
  snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", school.dir, copy);
  cr_assert_eq(system(cmd), 0);
  school.s = party_store_open(school.dir);
  c = party_store_open(copy);
  cr_assert_eq(node_audit_add(c, "someone", NODE_AUDIT_VIEW, FILE_A, "copy"), BT_OK);
  cr_assert_eq(node_audit_add(c, "someone", NODE_AUDIT_VIEW, FILE_A, "copy"), BT_OK);
  node_store_close(c);
  add_some(2);
  /* The copy's record base+3 is well formed and signed by this device. */
  cr_assert_eq(mdb_env_create(&x.env), 0);
  cr_assert_eq(mdb_env_set_maxdbs(x.env, 64), 0);
  cr_assert_eq(mdb_env_open(x.env, copy, MDB_NOTLS, 0600), 0);
  cr_assert_eq(mdb_txn_begin(x.env, NULL, MDB_RDONLY, &x.t), 0);
  cr_assert_eq(mdb_dbi_open(x.t, "audit", 0, &x.db), 0);
  len = raw_get(&x, base + 3, v, sizeof v);
  mdb_txn_abort(x.t);
  mdb_env_close(x.env);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", copy);
  cr_assert_eq(system(cmd), 0);
  raw_open(&x);
  raw_put(&x, base + 3, v, len);
  raw_close(&x);
  expect_bad(base + 4, NODE_AUDIT_BROKEN_CHAIN, "spliced");
}

/* ---- what actions leave ---------------------------------------------------- */

/* The one record added since `before`, asserted to be the only one. */
static node_audit_rec one_since(uint64_t before)
{
  node_audit_rec *r, out;
  size_t n;

  r = since(school.s, before + 1, &n);
  cr_assert_eq(n, 1, "%zu records, want one", n);
  out = r[0];
  node_audit_list_free(r);
  return out;
}

Test(node_audit, a_view_leaves_one_record)
{
  uint8_t file[CRDT_FILE_LEN];
  node_view v;
  uint64_t before;
  node_audit_rec r;

  party_new_file(&school, file);
  before = count(school.s);
  cr_assert_eq(node_casefile_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &v), BT_OK);
  node_view_free(&v);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_VIEW);
  cr_assert_str_eq(r.user, "dsl.jones");
  cr_assert(r.has_file);
  cr_assert_arr_eq(r.file, file, CRDT_FILE_LEN);
  cr_assert_str_eq(r.detail, "dsl");
  cr_assert_eq(r.ms, party_now_ms);
  /* A refused view (a head reads counts only) leaves nothing. */
  before = count(school.s);
  cr_assert_eq(node_casefile_as(school.s, "gov", NODE_ROLE_GOVERNOR, file, &v), BT_EDENIED);
  cr_assert_eq(count(school.s), before);
  expect_intact(before);
}

Test(node_audit, a_view_that_cannot_be_audited_is_refused)
{
  uint8_t file[CRDT_FILE_LEN];
  uint8_t junk[3] = {1, 2, 3};
  node_view v;
  raw x;

  party_new_file(&school, file);
  /* The last record's key is the largest possible: no next seq. */
  raw_open(&x);
  raw_put(&x, UINT64_MAX, junk, sizeof junk);
  raw_close(&x);
  memset(&v, 0xa5, sizeof v);
  cr_assert_neq(node_casefile_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &v), BT_OK);
  cr_assert_null(v.entries, "nothing handed out");
  cr_assert_eq(v.nentries, 0);
}

Test(node_audit, a_grant_and_a_revoke_each_leave_one_record)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;
  node_org o;
  char want[8 + CRDT_FPR_LEN] = "org ", hex[65];
  uint64_t before;
  node_audit_rec r;

  party_new_file(&school, file);
  before = count(school.s);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_GRANT);
  cr_assert_str_eq(r.user, "dsl.jones");
  cr_assert_arr_eq(r.file, file, CRDT_FILE_LEN);
  cr_assert_eq(node_org_get(mash.s, &o), BT_OK);
  crdt_fingerprint(o.sign_pk.b, CRDT_PK_LEN, want + 4);
  node_org_clear(&o);
  cr_assert_str_eq(r.detail, want, "the grantee's fingerprint");

  before = count(school.s);
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant,
                              "Amy's mother withdrew consent"), BT_OK);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_REVOKE);
  sodium_bin2hex(hex, sizeof hex, grant.b, sizeof grant.b);
  cr_assert_str_eq(r.detail + 6, hex);
  /* A refused grant leaves nothing. */
  before = count(school.s);
  cr_assert_eq(node_grant_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, &g, &grant),
               BT_EDENIED);
  cr_assert_eq(count(school.s), before);
  expect_intact(before);
}

Test(node_audit, a_decision_not_to_share_leaves_one_record_without_its_reason)
{
  uint8_t file[CRDT_FILE_LEN];
  crdt_body b = {.type = CRDT_OP_DECISION, .known = 1};
  uint64_t before;
  node_audit_rec r;

  party_new_file(&school, file);
  b.u.decision = (crdt_decision){.decision = CRDT_DECIDE_NOT_SHARE, .with_whom = BT_STR("police"),
                                 .purpose = CRDT_PURPOSE_INFO_REQUEST,
                                 .reason = BT_STR("request not specific to Amy"),
                                 .decided_by = BT_STR("dsl.jones"), .decided_on = 20260105};
  before = count(school.s);
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, &b, NULL),
               BT_EDENIED);
  cr_assert_eq(count(school.s), before);
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &b, NULL), BT_OK);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_SHARE_DECISION);
  cr_assert_str_eq(r.user, "dsl.jones");
  cr_assert_arr_eq(r.file, file, CRDT_FILE_LEN);
  cr_assert_str_eq(r.detail, "not share");
}

Test(node_audit, sign_ins_leave_one_record_each)
{
  node_role role = 0;
  uint64_t before;
  node_audit_rec r;

  cr_assert_eq(node_user_add(school.s, "j.jones", "tea and biscuits", 16, NODE_ROLE_DSL), BT_OK);
  before = count(school.s);
  cr_assert_eq(node_user_login(school.s, "j.jones", "tea", 3, party_now_ms, &role), BT_EPASS);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_LOGIN_FAILED);
  cr_assert_str_eq(r.user, "j.jones");
  cr_assert_not(r.has_file);
  cr_assert_str_eq(r.detail, "wrong passphrase");

  before = count(school.s);
  cr_assert_eq(node_user_login(school.s, "tea and biscuits", "j.jones", 7, party_now_ms, &role),
               BT_EPASS);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_LOGIN_FAILED);
  cr_assert_str_eq(r.user, "", "a name that is not a user is not recorded");
  cr_assert_str_eq(r.detail, "unknown name");

  before = count(school.s);
  cr_assert_eq(node_user_login(school.s, "j.jones", "tea and biscuits", 16, party_now_ms,
                               &role), BT_OK);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_LOGIN);
  cr_assert_str_eq(r.user, "j.jones");
  cr_assert_str_eq(r.detail, "dsl");

  for (int i = 0; i < NODE_LOCKOUT_FAILS; i++)
    node_user_login(school.s, "j.jones", "x", 1, party_now_ms, &role);
  before = count(school.s);
  cr_assert_eq(node_user_login(school.s, "j.jones", "tea and biscuits", 16, party_now_ms,
                               &role), BT_ELOCKED);
  r = one_since(before);
  cr_assert_eq(r.action, NODE_AUDIT_LOGIN_FAILED);
  cr_assert_str_eq(r.detail, "locked out");
}

Test(node_audit, a_sign_in_that_cannot_be_audited_is_refused)
{
  node_role role = 0;
  uint8_t junk[1] = {0};
  raw x;

  cr_assert_eq(node_user_add(school.s, "j.jones", "pw", 2, NODE_ROLE_DSL), BT_OK);
  raw_open(&x);
  raw_put(&x, UINT64_MAX, junk, 1);
  raw_close(&x);
  cr_assert_neq(node_user_login(school.s, "j.jones", "pw", 2, party_now_ms, &role), BT_OK);
  cr_assert_eq(role, 0, "no role handed out");
}

Test(node_audit, user_changes_are_recorded)
{
  uint64_t before = count(school.s);
  node_audit_rec *r;
  size_t n;

  cr_assert_eq(node_user_add(school.s, "a.smith", "pw", 2, NODE_ROLE_STAFF), BT_OK);
  cr_assert_eq(node_user_passwd(school.s, "a.smith", "pw2", 3), BT_OK);
  r = since(school.s, before + 1, &n);
  cr_assert_eq(n, 2);
  cr_assert_eq(r[0].action, NODE_AUDIT_USER_ADD);
  cr_assert_str_eq(r[0].detail, "user a.smith role staff");
  cr_assert_eq(r[1].action, NODE_AUDIT_USER_PASSWD);
  cr_assert_str_eq(r[1].detail, "user a.smith");
  node_audit_list_free(r);
}

/* ---- nothing personal ---------------------------------------------------- */

static int contains(const uint8_t *p, size_t n, const char *s)
{
  size_t k = strlen(s);

  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(p + i, s, k) == 0)
      return 1;
  return 0;
}

Test(node_audit, no_case_content_reaches_the_log)
{
  static const char *secret[] = {"Amy", "Bell", "2016-03-04", "Zebedee", "bruise", "mother",
                                 "withdrew", "tea and biscuits", "Oak Primary", "County MASH"};
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;
  node_view v;
  node_role role;
  raw x;
  MDB_cursor *c;
  MDB_val k, val;
  size_t total = 0, recs = 0;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "Chloe Zebedee said Amy had a bruise", NULL), BT_OK);
  cr_assert_eq(node_casefile_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &v), BT_OK);
  node_view_free(&v);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant,
                              "mother withdrew consent"), BT_OK);
  cr_assert_eq(node_user_add(school.s, "j.jones", "tea and biscuits", 16, NODE_ROLE_DSL), BT_OK);
  node_user_login(school.s, "j.jones", "tea and biscuits", 16, party_now_ms, &role);
  node_user_login(school.s, "tea and biscuits", "x", 1, party_now_ms, &role);
  node_user_login(school.s, "j.jones", "tea and biscuitz", 16, party_now_ms, &role);
  raw_open(&x);
  cr_assert_eq(mdb_cursor_open(x.t, x.db, &c), 0);
  while (mdb_cursor_get(c, &k, &val, recs ? MDB_NEXT : MDB_FIRST) == 0) {
    recs++;
    total += val.mv_size;
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
      cr_assert_not(contains(val.mv_data, val.mv_size, secret[i]), "\"%s\" in record %zu",
                    secret[i], recs);
  }
  mdb_cursor_close(c);
  raw_close(&x);
  cr_assert_geq(recs, 8, "the actions were recorded (%zu)", recs);
  cr_assert_gt(total, 0);
  expect_intact(recs);
}

/* ---- reading --------------------------------------------------------------- */

Test(node_audit, list_filters_by_since_file_action_and_keeps_the_newest)
{
  uint64_t base = count(school.s);
  node_audit_filter f = {.file = FILE_A};
  node_audit_rec *r;
  size_t n, want = 0;

  add_some(12);
  for (int i = 0; i < 12; i++)
    want += i % 3 != 0;
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, want);
  for (size_t i = 0; i < n; i++)
    cr_assert_arr_eq(r[i].file, FILE_A, CRDT_FILE_LEN);
  node_audit_list_free(r);

  f = (node_audit_filter){.limit = 3};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 3);
  for (size_t i = 0; i < 3; i++)
    cr_assert_eq(r[i].seq, base + 10 + i, "the newest three, oldest first");
  node_audit_list_free(r);

  f = (node_audit_filter){.since = base + 2, .limit = 100, .action = NODE_AUDIT_VIEW};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(r[i].action, NODE_AUDIT_VIEW);
    cr_assert_geq(r[i].seq, base + 2);
  }
  cr_assert_eq(n, 1, "add_some's only view is its third record");
  node_audit_list_free(r);

  /* A ring that wraps after growing, and a huge limit not allocated up front. */
  add_some(150);
  f = (node_audit_filter){.limit = 100};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 100);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(r[i].seq, base + 162 - 99 + i, "newest 100 in order, at %zu", i);
  node_audit_list_free(r);
  f = (node_audit_filter){.limit = 999999999};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, base + 162);
  node_audit_list_free(r);

  f = (node_audit_filter){.since = base + 1000};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 0);
  cr_assert_null(r);
}

Test(node_audit, reading_the_log_needs_the_role_and_is_itself_audited)
{
  node_audit_rec *r;
  node_audit_check c;
  size_t n;
  uint64_t before = count(school.s);

  cr_assert_eq(node_audit_list_as(school.s, "staff.ali", NODE_ROLE_STAFF, NULL, &r, &n),
               BT_EDENIED);
  cr_assert_eq(node_audit_verify_as(school.s, "dsl.jones", NODE_ROLE_DEPUTY, &c), BT_EDENIED);
  cr_assert_eq(count(school.s), before);
  cr_assert_eq(node_audit_list_as(school.s, "aud", NODE_ROLE_AUDITOR, NULL, &r, &n), BT_OK);
  cr_assert_eq(n, before + 1, "the read is in what it reads");
  cr_assert_eq(r[n - 1].action, NODE_AUDIT_READ_AUDIT);
  cr_assert_str_eq(r[n - 1].user, "aud");
  cr_assert_str_eq(r[n - 1].detail, "list");
  node_audit_list_free(r);
  cr_assert_eq(node_audit_verify_as(school.s, "dsl.jones", NODE_ROLE_DSL, &c), BT_OK);
  cr_assert_eq(c.records, before + 2);
}

Test(node_audit, action_names_round_trip)
{
  for (int a = 1; a < NODE_AUDIT_END; a++) {
    node_audit_action b;
    const char *name = node_audit_action_name((node_audit_action)a);
    cr_assert_not_null(name);
    cr_assert_eq(node_audit_action_parse(name, &b), BT_OK);
    cr_assert_eq((int)b, (int)a);
  }
  cr_assert_null(node_audit_action_name(NODE_AUDIT_END));
  cr_assert_null(node_audit_action_name((node_audit_action)0));
  node_audit_action b;
  cr_assert_eq(node_audit_action_parse("delete", &b), BT_EINVAL);
}

Test(node_audit, list_pages_back_with_before_and_filters_by_user)
{
  uint64_t base = count(school.s);
  node_audit_filter f = {.before = base + 7, .limit = 3};
  node_audit_rec *r;
  size_t n;

  add_some(10); /* records base+1..base+10; odd steps (i = 1, 3, ...) by dsl.jones */
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 3);
  for (size_t i = 0; i < 3; i++)
    cr_assert_eq(r[i].seq, base + 4 + i, "the newest three before base+7, oldest first");
  node_audit_list_free(r);

  f = (node_audit_filter){.user = "dsl.jones"};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 5);
  for (size_t i = 0; i < n; i++) {
    cr_assert_str_eq(r[i].user, "dsl.jones");
    cr_assert_eq(r[i].seq, base + 2 + 2 * i);
  }
  node_audit_list_free(r);

  f = (node_audit_filter){.user = "dsl.jones", .before = base + 6, .since = base + 3};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 1, "only base+4 is by dsl.jones in [base+3, base+6)");
  cr_assert_eq(r[0].seq, base + 4);
  node_audit_list_free(r);

  f = (node_audit_filter){.user = "nobody"};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 0);
  f = (node_audit_filter){.before = 1};
  cr_assert_eq(node_audit_list(school.s, &f, &r, &n), BT_OK);
  cr_assert_eq(n, 0, "nothing before the first record");
}
