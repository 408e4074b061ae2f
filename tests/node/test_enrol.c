/* tests/node/test_enrol.c: enrolling a second device of an org with a
 * one-time code (node/enrol.h). Each test makes its stores under one
 * temporary directory: the org's node, a new device, an LA root node, and
 * a second org. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/enrol.h"
#include "node/org.h"
#include "node/parties.h"

#define T0 1767225600000ull /* 2026-01-01 */
#define HOUR 3600000ull

static char dir[64];
static node_store *org, *dev, *la, *other;

static void make_org(node_store *s, const char *name)
{
  node_org_info oi = {CRDT_ORG_SCHOOL, name, NULL, NULL};

  cr_assert_eq(node_org_create(s, &oi), BT_OK);
}

static void setup(void)
{
  party_now_ms = T0;
  party_mkdtemp(dir, sizeof(dir));
  org = party_store_in(dir, "org");
  dev = party_store_in(dir, "dev");
  la = party_store_in(dir, "la");
  other = party_store_in(dir, "other");
  make_org(org, "Hillside Primary");
  make_org(other, "Riverside Academy");
}

static void teardown(void)
{
  node_store_close(org);
  node_store_close(dev);
  node_store_close(la);
  node_store_close(other);
  party_rmdir(dir);
}

TestSuite(node_enrol, .init = setup, .fini = teardown);

/* The LA certifies the org, and both the org's node and the new device
 * trust the LA. */
static void certify_org(void)
{
  node_org o;
  crdt_id root;
  uint8_t *cert;
  size_t len;

  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_org_get(org, &o), BT_OK);
  cr_assert_eq(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 365, &cert, &len), BT_OK);
  cr_assert_eq(node_anchor_add(org, &root), BT_OK);
  cr_assert_eq(node_anchor_add(dev, &root), BT_OK);
  cr_assert_eq(node_org_install(org, cert, len, T0), BT_OK);
  free(cert);
  node_org_clear(&o);
}

static void issue(node_store *s, const char *name, uint64_t ttl, char code[NODE_ENROL_CODE_LEN])
{
  cr_assert_eq(node_enrol_issue(s, name, ttl, T0, code), BT_OK);
}

/* Request on d, answer on o at now: the answer's result. On success the
 * answer is in *ans (the caller frees it). */
static int ask(node_store *d, node_store *o, const char *code, uint64_t now, uint8_t **ans,
               size_t *alen)
{
  uint8_t *req;
  size_t len;
  int rc;

  cr_assert_eq(node_enrol_request(d, code, &req, &len), BT_OK);
  cr_assert_eq(len, NODE_ENROL_REQ_LEN);
  rc = node_enrol_answer(o, req, len, now, ans, alen);
  free(req);
  return rc;
}

static int ask_only(node_store *d, node_store *o, const char *code, uint64_t now)
{
  uint8_t *ans = NULL;
  size_t alen;
  int rc = ask(d, o, code, now, &ans, &alen);

  free(ans);
  return rc;
}

static void enrol(node_store *d, const char *code, uint64_t now)
{
  uint8_t *ans;
  size_t alen;

  cr_assert_eq(ask(d, org, code, now, &ans, &alen), BT_OK);
  cr_assert_eq(node_enrol_accept(d, code, ans, alen), BT_OK);
  free(ans);
}

static node_enrol_info info_of(node_store *s, const char *code)
{
  node_enrol_info list[256];
  size_t n;

  cr_assert_eq(node_enrol_list(s, list, 256, &n), BT_OK);
  cr_assert_leq(n, 256);
  for (size_t i = 0; i < n; i++)
    if (memcmp(list[i].id, code, NODE_ENROL_ID_LEN) == 0)
      return list[i];
  cr_assert_fail("code %.3s not listed", code);
  return list[0];
}

static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The same id with another secret, and the check symbol that makes the new
 * device accept it: a wrong code as a person would type it. */
static void wrong_code(const char *code, int k, char out[NODE_ENROL_CODE_LEN])
{
  uint8_t *req;
  size_t len;

  strcpy(out, code);
  out[5] = alpha[(strchr(alpha, out[5]) - alpha + 1 + k) % 32];
  for (int c = 0; c < 32; c++) {
    out[23] = alpha[c];
    if (node_enrol_request(dev, out, &req, &len) == BT_OK) {
      free(req);
      return;
    }
  }
  cr_assert_fail("no check symbol fits");
}

Test(node_enrol, a_new_device_gets_the_org_keys_and_a_certificate_that_chains)
{
  node_org a, b;
  node_secret *ka, *kb;
  crdt_cert *dc;
  uint8_t pk[CRDT_PK_LEN];
  char code[NODE_ENROL_CODE_LEN];

  certify_org();
  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(strlen(code), 24, "%s", code);
  for (int i = 0; i < 24; i++)
    cr_assert(i % 5 == 4 ? code[i] == '-' : strchr(alpha, code[i]) != NULL, "%s", code);
  cr_assert_eq(node_org_get(dev, &b), BT_ENOTFOUND);
  enrol(dev, code, T0 + 1);

  cr_assert_eq(node_org_get(org, &a), BT_OK);
  cr_assert_eq(node_org_get(dev, &b), BT_OK);
  cr_assert_eq(crdt_id_cmp(&a.sign_pk, &b.sign_pk), 0);
  cr_assert_eq(crdt_id_cmp(&a.box_pk, &b.box_pk), 0);
  cr_assert_eq(a.org_cert_len, b.org_cert_len);
  cr_assert_eq(memcmp(a.org_cert, b.org_cert, a.org_cert_len), 0);
  cr_assert_eq(b.provisional, 0, "the LA's certificate came along");
  cr_assert_eq(node_org_sign_sk(org, &ka), BT_OK);
  cr_assert_eq(node_org_sign_sk(dev, &kb), BT_OK);
  cr_assert_eq(memcmp(node_secret_bytes(ka), node_secret_bytes(kb), CRDT_SK_LEN), 0);
  node_secret_free(ka);
  node_secret_free(kb);
  cr_assert_eq(node_org_box_sk(org, &ka), BT_OK);
  cr_assert_eq(node_org_box_sk(dev, &kb), BT_OK);
  cr_assert_eq(memcmp(node_secret_bytes(ka), node_secret_bytes(kb), 32), 0);
  node_secret_free(ka);
  node_secret_free(kb);

  node_store_device(dev, pk);
  cr_assert_eq(crdt_cert_decode(b.device_cert, b.device_cert_len, &dc), BT_OK);
  cr_assert_eq(dc->b.kind, CRDT_CERT_DEVICE);
  cr_assert_eq(memcmp(dc->b.subject.b, pk, CRDT_PK_LEN), 0);
  cr_assert(bt_str_eq(dc->b.name, BT_STR("DSL laptop")));
  cr_assert_eq(crdt_id_cmp(&dc->b.issuer, &a.sign_pk), 0);
  crdt_cert_free(dc);
  cr_assert_eq(node_chain_check(dev, b.device_cert, b.device_cert_len, b.org_cert,
                                b.org_cert_len, T0 + 2), BT_OK);
  cr_assert_eq(node_chain_check(org, b.device_cert, b.device_cert_len, a.org_cert,
                                a.org_cert_len, T0 + 2), BT_OK, "peers of the org accept it");

  node_enrol_info i = info_of(org, code);
  cr_assert_eq(i.used, 1);
  cr_assert_eq(i.failures, 0);
  cr_assert_str_eq(i.name, "DSL laptop");
  cr_assert_eq(i.issued_ms, T0);
  cr_assert_eq(i.expires_ms, T0 + HOUR);
  cr_assert_eq(memcmp(i.device_pk, pk, 32), 0, "the org records which device enrolled");
  node_org_clear(&a);
  node_org_clear(&b);
}

Test(node_enrol, a_provisional_org_enrols_too)
{
  node_org b;
  char code[NODE_ENROL_CODE_LEN];

  issue(org, "Deputy's laptop", HOUR, code);
  enrol(dev, code, T0);
  cr_assert_eq(node_org_get(dev, &b), BT_OK);
  cr_assert_eq(b.provisional, 1);
  node_org_clear(&b);
}

Test(node_enrol, a_code_works_once)
{
  node_store *dev2 = party_store_in(dir, "dev2");
  uint8_t *ans;
  size_t alen;
  char code[NODE_ENROL_CODE_LEN];

  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(ask(dev, org, code, T0, &ans, &alen), BT_OK);
  cr_assert_eq(ask_only(dev, org, code, T0 + 1), BT_EDUP, "the same device asks again");
  cr_assert_eq(ask_only(dev2, org, code, T0 + 1), BT_EDUP, "another device with the code");
  cr_assert_eq(node_enrol_accept(dev, code, ans, alen), BT_OK);
  cr_assert_eq(node_enrol_accept(dev, code, ans, alen), BT_EDUP, "installed once");
  free(ans);
  cr_assert_eq(node_enrol_request(dev, code, &ans, &alen), BT_EDUP,
               "a device with an org does not ask");
  cr_assert_eq(info_of(org, code).failures, 0, "refusing a used code counts nothing");
  node_store_close(dev2);
}

Test(node_enrol, a_code_expires)
{
  char code[NODE_ENROL_CODE_LEN];

  issue(org, "DSL laptop", 60000, code);
  cr_assert_eq(ask_only(dev, org, code, T0 + 60000), BT_EEXPIRED);
  cr_assert_eq(ask_only(dev, org, code, T0 + 10 * HOUR), BT_EEXPIRED);
  node_enrol_info i = info_of(org, code);
  cr_assert_eq(i.used, 0);
  cr_assert_eq(i.failures, 0);
  enrol(dev, code, T0 + 59999); /* refusals changed nothing: still good in time */
}

Test(node_enrol, five_wrong_codes_burn_the_code)
{
  char code[NODE_ENROL_CODE_LEN], bad[NODE_ENROL_CODE_LEN];
  node_org o;

  issue(org, "DSL laptop", HOUR, code);
  for (int k = 0; k < NODE_ENROL_TRIES; k++) {
    wrong_code(code, k, bad);
    cr_assert_eq(ask_only(dev, org, bad, T0), BT_EPASS, "try %d", k);
    cr_assert_eq(info_of(org, code).failures, (unsigned)k + 1);
  }
  cr_assert_eq(ask_only(dev, org, code, T0), BT_ELOCKED, "the right code is refused now");
  cr_assert_eq(ask_only(dev, org, code, T0 + 100 * HOUR), BT_ELOCKED, "for good");
  wrong_code(code, 7, bad);
  cr_assert_eq(ask_only(dev, org, bad, T0), BT_ELOCKED);
  node_enrol_info i = info_of(org, code);
  cr_assert_eq(i.used, 0);
  cr_assert_eq(i.failures, NODE_ENROL_TRIES, "locked codes count no further");
  cr_assert_eq(node_org_get(dev, &o), BT_ENOTFOUND);
}

Test(node_enrol, fewer_wrong_codes_leave_the_right_one_working)
{
  char code[NODE_ENROL_CODE_LEN], bad[NODE_ENROL_CODE_LEN];

  issue(org, "DSL laptop", HOUR, code);
  for (int k = 0; k < NODE_ENROL_TRIES - 1; k++) {
    wrong_code(code, k, bad);
    cr_assert_eq(ask_only(dev, org, bad, T0), BT_EPASS);
  }
  enrol(dev, code, T0);
}

Test(node_enrol, unknown_ids_lock_enrolment_for_a_while)
{
  char code[NODE_ENROL_CODE_LEN], foreign[NODE_ENROL_CODE_LEN];
  int n = 0;

  issue(org, "DSL laptop", HOUR, code);
  while (n < NODE_ENROL_GUARD_FAILS) { /* codes of the other org, ids unknown here */
    issue(other, "x", HOUR, foreign);
    if (memcmp(foreign, code, NODE_ENROL_ID_LEN) == 0)
      continue;
    cr_assert_eq(ask_only(dev, org, foreign, T0 + 1000), BT_EPASS, "unknown id %d", n);
    n++;
  }
  cr_assert_eq(ask_only(dev, org, code, T0 + 1000), BT_ELOCKED, "even a good code waits");
  cr_assert_eq(ask_only(dev, org, foreign, T0 + 1000 + NODE_ENROL_GUARD_MS - 1), BT_ELOCKED);
  cr_assert_eq(info_of(org, code).failures, 0);
  enrol(dev, code, T0 + 1000 + NODE_ENROL_GUARD_MS);
}

Test(node_enrol, tampered_requests_are_refused_and_change_nothing)
{
  node_org before, after;
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *req, *ans;
  size_t len, alen;
  int rc;

  cr_assert_eq(node_org_get(org, &before), BT_OK);
  for (size_t i = 0; i < NODE_ENROL_REQ_LEN; i++) {
    issue(org, "DSL laptop", HOUR, code); /* a fresh code: flips count as wrong codes */
    cr_assert_eq(node_enrol_request(dev, code, &req, &len), BT_OK);
    for (int bit = 0; bit < 8; bit += 7) {
      req[i] ^= (uint8_t)(1u << bit);
      ans = NULL;
      rc = node_enrol_answer(org, req, len, T0, &ans, &alen);
      cr_assert(rc == BT_EPASS || rc == BT_ESIG || rc == BT_EPROTO || rc == BT_EVERSION ||
                    rc == BT_ELOCKED,
                "byte %zu bit %d: %s", i, bit, bt_errname(rc));
      cr_assert_null(ans);
      req[i] ^= (uint8_t)(1u << bit);
    }
    cr_assert_eq(info_of(org, code).used, 0, "byte %zu", i);
    free(req);
  }
  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(node_enrol_request(dev, code, &req, &len), BT_OK);
  for (size_t n = 0; n < len; n++)
    cr_assert_neq(node_enrol_answer(org, req, n, T0, &ans, &alen), BT_OK, "cut to %zu", n);
  cr_assert_eq(node_enrol_answer(org, NULL, 0, T0, &ans, &alen), BT_EPROTO);
  uint8_t *longer = calloc(1, len + 1);
  memcpy(longer, req, len);
  cr_assert_eq(node_enrol_answer(org, longer, len + 1, T0, &ans, &alen), BT_EPROTO);
  free(longer);
  free(req);
  cr_assert_eq(node_org_get(org, &after), BT_OK);
  cr_assert_eq(after.org_cert_len, before.org_cert_len);
  cr_assert_eq(memcmp(after.org_cert, before.org_cert, before.org_cert_len), 0);
  enrol(dev, code, T0); /* the last code, untouched by the cut requests */
  node_org_clear(&before);
  node_org_clear(&after);
}

Test(node_enrol, tampered_answers_are_refused_and_change_nothing)
{
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *ans;
  size_t alen;
  node_org o;
  int rc;

  certify_org();
  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(ask(dev, org, code, T0, &ans, &alen), BT_OK);
  cr_assert_leq(alen, NODE_ENROL_ANS_MAX);
  for (size_t i = 0; i < alen; i++)
    for (int bit = 0; bit < 8; bit++) {
      ans[i] ^= (uint8_t)(1u << bit);
      rc = node_enrol_accept(dev, code, ans, alen);
      cr_assert_eq(rc, i == 0 ? BT_EVERSION : BT_EAUTH, "byte %zu bit %d: %s", i, bit,
                   bt_errname(rc));
      ans[i] ^= (uint8_t)(1u << bit);
    }
  for (size_t n = 0; n < alen; n++)
    cr_assert_neq(node_enrol_accept(dev, code, ans, n), BT_OK, "cut to %zu", n);
  cr_assert_eq(node_enrol_accept(dev, code, NULL, 0), BT_EPROTO);
  cr_assert_eq(node_org_get(dev, &o), BT_ENOTFOUND, "nothing installed");
  cr_assert_eq(node_enrol_accept(dev, code, ans, alen), BT_OK);
  free(ans);
}

Test(node_enrol, an_answer_only_installs_on_the_device_that_asked)
{
  node_store *dev2 = party_store_in(dir, "dev2");
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *ans;
  size_t alen;
  node_org o;

  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(ask(dev, org, code, T0, &ans, &alen), BT_OK);
  cr_assert_eq(node_enrol_accept(dev2, code, ans, alen), BT_EAUTH,
               "another device, even with the code");
  cr_assert_eq(node_org_get(dev2, &o), BT_ENOTFOUND);
  free(ans);
  node_store_close(dev2);
}

Test(node_enrol, a_code_for_one_org_cannot_enrol_into_another)
{
  char code_a[NODE_ENROL_CODE_LEN], code_b[NODE_ENROL_CODE_LEN];
  uint8_t *ans;
  size_t alen;
  node_org o;

  issue(org, "DSL laptop", HOUR, code_a);
  issue(other, "DSL laptop", HOUR, code_b);
  cr_assert_eq(ask_only(dev, other, code_a, T0), BT_EPASS, "the other org does not know it");
  cr_assert_eq(info_of(other, code_b).failures,
               memcmp(code_a, code_b, NODE_ENROL_ID_LEN) == 0 ? 1u : 0u);
  /* An answer from the other org, offered as the answer to our code. */
  cr_assert_eq(ask(dev, other, code_b, T0, &ans, &alen), BT_OK);
  cr_assert_eq(node_enrol_accept(dev, code_a, ans, alen), BT_EAUTH);
  cr_assert_eq(node_org_get(dev, &o), BT_ENOTFOUND);
  free(ans);
  enrol(dev, code_a, T0);
  cr_assert_eq(info_of(org, code_a).used, 1);
}

Test(node_enrol, garbage_codes_are_invalid)
{
  static const char *const bad[] = {
    "", "ABCD", "ABCD-EFGH-JKMN-PQRS-TVW", "ABCD-EFGH-JKMN-PQRS-TVWXY",
    "ABCD-EFGH-JKMN-PQRS-TVWU", "ABCD-EFGH-JKMN-PQRS-TVW*", "ABCD_EFGH_JKMN_PQRS_TVWX",
    "ABCD-EFGH-JKMN-PQRS-TVW\xc3\xa9",
    "----------------------------------------------------------------ABCD",
  };
  char code[NODE_ENROL_CODE_LEN], typed[64];
  uint8_t *req, *req2;
  size_t len, len2;
  node_org o;

  issue(org, "DSL laptop", HOUR, code);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(node_enrol_request(dev, bad[i], &req, &len), BT_EINVAL, "%zu", i);
    cr_assert_eq(node_enrol_accept(dev, bad[i], (const uint8_t *)"x", 1), BT_EINVAL);
  }
  cr_assert_eq(node_enrol_request(dev, NULL, &req, &len), BT_EINVAL);
  /* Typed loosely: lower case, spaces, O for 0, I and L for 1. */
  size_t n = 0;
  for (const char *c = code; *c; c++)
    if (*c != '-') {
      typed[n] = *c == '0' ? 'o' : *c == '1' ? (n % 2 ? 'I' : 'l') : (char)(*c | 0x20);
      n++;
      if (n % 3 == 0)
        typed[n++] = ' ';
    }
  typed[n] = '\0';
  cr_assert_eq(node_enrol_request(dev, code, &req, &len), BT_OK);
  cr_assert_eq(node_enrol_request(dev, typed, &req2, &len2), BT_OK, "%s", typed);
  cr_assert_eq(memcmp(req, req2, len), 0, "the same request");
  free(req);
  free(req2);
  /* One symbol mistyped: the check symbol catches all but about 1 in 32. */
  int passed = 0, total = 0;
  for (int pos = 0; pos < 24; pos++) {
    if (pos % 5 == 4)
      continue;
    for (int v = 0; v < 32; v++) {
      strcpy(typed, code);
      if (alpha[v] == typed[pos])
        continue;
      typed[pos] = alpha[v];
      total++;
      if (node_enrol_request(dev, typed, &req, &len) == BT_OK) {
        passed++;
        free(req);
      }
    }
  }
  cr_assert_lt(passed, total / 10, "%d of %d typos got through", passed, total);
  cr_assert_eq(info_of(org, code).failures, 0);
  cr_assert_eq(node_org_get(dev, &o), BT_ENOTFOUND);
}

Test(node_enrol, issue_checks_its_arguments)
{
  char code[NODE_ENROL_CODE_LEN], name[NODE_ENROL_NAME_MAX + 2];
  size_t n;

  memset(name, 'a', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  cr_assert_eq(node_enrol_issue(org, name, HOUR, T0, code), BT_EINVAL, "129 bytes");
  name[NODE_ENROL_NAME_MAX] = '\0';
  cr_assert_eq(node_enrol_issue(org, name, HOUR, T0, code), BT_OK, "128 bytes");
  cr_assert_eq(node_enrol_issue(org, "", HOUR, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, NULL, HOUR, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, "two\nlines", HOUR, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, "bad \xff utf-8", HOUR, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, "laptop", 0, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, "laptop", NODE_ENROL_TTL_MAX + 1, T0, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(org, "laptop", HOUR, UINT64_MAX - 10, code), BT_EINVAL);
  cr_assert_eq(node_enrol_issue(dev, "laptop", HOUR, T0, code), BT_ENOTFOUND, "no org");
  cr_assert_eq(node_enrol_list(org, NULL, 0, &n), BT_OK);
  cr_assert_eq(n, 1, "only the good name made a code");
}

Test(node_enrol, a_node_without_an_org_answers_nothing)
{
  char code[NODE_ENROL_CODE_LEN];
  node_store *dev2 = party_store_in(dir, "dev2");

  issue(org, "DSL laptop", HOUR, code);
  cr_assert_eq(ask_only(dev, dev2, code, T0), BT_ENOTFOUND);
  node_store_close(dev2);
}

/* Only a hash of the code is kept, wrapped under the data key: neither
 * the code nor its secret symbols are on disk. */
Test(node_enrol, the_code_is_not_stored)
{
  char code[NODE_ENROL_CODE_LEN], path[128], canon[32];
  size_t n = 0, len;
  char *buf;
  FILE *f;

  issue(org, "DSL laptop", HOUR, code);
  for (const char *c = code; *c; c++)
    if (*c != '-')
      canon[n++] = *c;
  snprintf(path, sizeof(path), "%s/org/data.mdb", dir);
  cr_assert_not_null(f = fopen(path, "rb"));
  fseek(f, 0, SEEK_END);
  len = (size_t)ftell(f);
  rewind(f);
  cr_assert_not_null(buf = malloc(len));
  cr_assert_eq(fread(buf, 1, len, f), len);
  fclose(f);
  for (size_t i = 0; i + 16 <= len; i++) {
    cr_assert_neq(memcmp(buf + i, canon + 3, 16), 0, "secret symbols at %zu", i);
    cr_assert(i + 24 > len || memcmp(buf + i, code, 24) != 0, "code at %zu", i);
  }
  free(buf);
}
