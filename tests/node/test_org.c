/* tests/node/test_org.c: org keys and certificates, the LA root, anchors
 * and revocations (node/org.h). Stores live under one temporary directory
 * per test: a school's node, an LA root node, and a spare node. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/org.h"
#include "node/parties.h"

#define T0 1767225600000ull /* 2026-01-01 */
#define DAY 86400000ull

static char dir[64];
static node_store *s, *la, *spare;

static void setup(void)
{
  party_now_ms = T0;
  party_mkdtemp(dir, sizeof(dir));
  s = party_store_in(dir, "school");
  la = party_store_in(dir, "la");
  spare = party_store_in(dir, "spare");
}

static void teardown(void)
{
  node_store_close(s);
  node_store_close(la);
  node_store_close(spare);
  party_rmdir(dir);
}

TestSuite(node_org, .init = setup, .fini = teardown);

static const node_org_info school = {CRDT_ORG_SCHOOL, "Hillside Primary", "123456", "9262001"};

static void create(node_store *st)
{
  cr_assert_eq(node_org_create(st, &school), BT_OK);
}

static crdt_cert *decode(const uint8_t *p, size_t n)
{
  crdt_cert *c;

  cr_assert_eq(crdt_cert_decode(p, n, &c), BT_OK);
  return c;
}

/* The LA's certificate for st's org, from a root on root_store, valid from
 * T0 for days. The caller frees *cert. */
static void la_cert(node_store *root_store, node_store *st, uint32_t days, uint8_t **cert,
                    size_t *len)
{
  node_org o;

  cr_assert_eq(node_org_get(st, &o), BT_OK);
  cr_assert_eq(node_root_certify(root_store, o.org_cert, o.org_cert_len, T0, days, cert, len),
               BT_OK);
  node_org_clear(&o);
}

/* A root on la, anchored on s, and s's org installed with its certificate. */
static crdt_id install_la(void)
{
  uint8_t *cert;
  size_t len;
  crdt_id root;

  create(s);
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_anchor_add(s, &root), BT_OK);
  la_cert(la, s, 365, &cert, &len);
  cr_assert_eq(node_org_install(s, cert, len, T0), BT_OK);
  free(cert);
  return root;
}

Test(node_org, an_org_is_created_once_with_a_provisional_certificate)
{
  node_org o;
  crdt_cert *oc, *dc;
  uint8_t dev[CRDT_PK_LEN];

  cr_assert_eq(node_org_get(s, &o), BT_ENOTFOUND);
  create(s);
  cr_assert_eq(node_org_create(s, &school), BT_EDUP);
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(o.provisional, 1);
  oc = decode(o.org_cert, o.org_cert_len);
  cr_assert_eq(oc->b.kind, CRDT_CERT_ORG);
  cr_assert_eq(oc->b.org_kind, CRDT_ORG_SCHOOL);
  cr_assert_eq(crdt_id_cmp(&oc->b.issuer, &oc->b.subject), 0, "self-signed");
  cr_assert_eq(crdt_id_cmp(&oc->b.subject, &o.sign_pk), 0);
  cr_assert_eq(crdt_id_cmp(&oc->b.box, &o.box_pk), 0);
  cr_assert(bt_str_eq(oc->b.name, BT_STR("Hillside Primary")));
  cr_assert(bt_str_eq(oc->b.urn, BT_STR("123456")));
  cr_assert(bt_str_eq(oc->b.laestab, BT_STR("9262001")));
  cr_assert_eq(oc->b.not_before, T0);
  dc = decode(o.device_cert, o.device_cert_len);
  node_store_device(s, dev);
  cr_assert_eq(dc->b.kind, CRDT_CERT_DEVICE);
  cr_assert_eq(memcmp(dc->b.subject.b, dev, CRDT_PK_LEN), 0);
  cr_assert_eq(crdt_id_cmp(&dc->b.issuer, &o.sign_pk), 0);
  cr_assert_eq(node_chain_check(s, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_ESELFSIGNED,
               "peers do not accept a provisional org");
  crdt_cert_free(oc);
  crdt_cert_free(dc);
  node_org_clear(&o);
}

Test(node_org, a_bad_description_stores_nothing)
{
  node_org_info bad_urn = school, bad_kind = school, bad_name = school;
  node_org o;

  bad_urn.urn = "12345";
  bad_kind.kind = 0;
  bad_name.name = "Hillside\nPrimary";
  cr_assert_eq(node_org_create(s, &bad_urn), BT_EINVAL);
  cr_assert_neq(node_org_create(s, &bad_kind), BT_OK);
  cr_assert_eq(node_org_create(s, &bad_name), BT_EINVAL);
  cr_assert_eq(node_org_get(s, &o), BT_ENOTFOUND);
  create(s);
}

Test(node_org, the_secret_keys_match_the_certificate)
{
  node_secret *sk, *bk;
  uint8_t pk[32], bpk[32];
  node_org o;

  cr_assert_eq(node_org_sign_sk(s, &sk), BT_ENOTFOUND);
  cr_assert_eq(node_org_box_sk(s, &bk), BT_ENOTFOUND);
  create(s);
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_org_sign_sk(s, &sk), BT_OK);
  cr_assert_eq(node_org_box_sk(s, &bk), BT_OK);
  cr_assert_eq(node_secret_len(sk), CRDT_SK_LEN);
  cr_assert_eq(node_secret_len(bk), 32);
  crypto_sign_ed25519_sk_to_pk(pk, node_secret_bytes(sk));
  crypto_scalarmult_base(bpk, node_secret_bytes(bk));
  cr_assert_eq(memcmp(pk, o.sign_pk.b, 32), 0);
  cr_assert_eq(memcmp(bpk, o.box_pk.b, 32), 0);
  node_secret_free(sk);
  node_secret_free(bk);
  node_org_clear(&o);
}

Test(node_org, an_la_certificate_replaces_the_provisional_one)
{
  node_org before, after;
  uint8_t *cert;
  size_t len;
  crdt_id root;
  crdt_cert *c;

  create(s);
  cr_assert_eq(node_org_get(s, &before), BT_OK);
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_anchor_add(s, &root), BT_OK);
  la_cert(la, s, 365, &cert, &len);
  c = decode(cert, len);
  cr_assert_eq(crdt_id_cmp(&c->b.issuer, &root), 0);
  cr_assert_eq(crdt_id_cmp(&c->b.subject, &before.sign_pk), 0);
  cr_assert_eq(c->b.not_before, T0);
  cr_assert_eq(c->b.not_after, T0 + 365 * DAY);
  crdt_cert_free(c);
  cr_assert_eq(node_org_install(s, cert, len, T0 + DAY), BT_OK);
  cr_assert_eq(node_org_get(s, &after), BT_OK);
  cr_assert_eq(after.provisional, 0);
  cr_assert_eq(after.org_cert_len, len);
  cr_assert_eq(memcmp(after.org_cert, cert, len), 0);
  cr_assert_eq(crdt_id_cmp(&after.sign_pk, &before.sign_pk), 0, "same keys");
  cr_assert_eq(crdt_id_cmp(&after.box_pk, &before.box_pk), 0);
  cr_assert_eq(after.device_cert_len, before.device_cert_len);
  cr_assert_eq(node_chain_check(s, after.device_cert, after.device_cert_len, after.org_cert,
                                after.org_cert_len, T0 + DAY), BT_OK);
  free(cert);
  node_org_clear(&before);
  node_org_clear(&after);
}

/* An install that is refused leaves the provisional certificate. */
static void still_provisional(void)
{
  node_org o;

  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(o.provisional, 1);
  node_org_clear(&o);
}

Test(node_org, install_refuses_another_orgs_certificate)
{
  uint8_t *cert;
  size_t len;
  crdt_id root;
  node_org o;

  create(s);
  create(spare);
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_anchor_add(s, &root), BT_OK);
  la_cert(la, spare, 365, &cert, &len);
  cr_assert_eq(node_org_install(s, cert, len, T0), BT_EINVAL);
  free(cert);
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_org_install(s, o.device_cert, o.device_cert_len, T0), BT_EINVAL,
               "a device certificate");
  cr_assert_neq(node_org_install(s, (const uint8_t *)"junk", 4, T0), BT_OK);
  cr_assert_eq(node_org_install(spare, o.org_cert, o.org_cert_len, T0), BT_EINVAL);
  node_org_clear(&o);
  still_provisional();
  cr_assert_eq(node_org_install(la, (const uint8_t *)"junk", 4, T0), BT_ENOTFOUND, "no org");
}

Test(node_org, install_refuses_a_certificate_that_does_not_chain)
{
  uint8_t *cert;
  size_t len;
  crdt_id root;
  node_org o;

  create(s);
  cr_assert_eq(node_root_create(la, &root), BT_OK); /* not an anchor on s */
  la_cert(la, s, 365, &cert, &len);
  cr_assert_eq(node_org_install(s, cert, len, T0), BT_EANCHOR);
  still_provisional();
  cr_assert_eq(node_anchor_add(s, &root), BT_OK);
  cr_assert_eq(node_org_install(s, cert, len, T0 + 366 * DAY), BT_EEXPIRED);
  cr_assert_eq(node_org_install(s, cert, len, T0 - 1), BT_EEXPIRED, "not yet valid");
  still_provisional();
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_org_install(s, o.org_cert, o.org_cert_len, T0), BT_ESELFSIGNED,
               "its own provisional certificate");
  node_org_clear(&o);
  still_provisional();
  cr_assert_eq(node_org_install(s, cert, len, T0), BT_OK);
  free(cert);
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

/* add then list: each id once, ascending, the total even past max. */
static void check_list(int (*add)(node_store *, const crdt_id *),
                       int (*list)(node_store *, crdt_id *, size_t, size_t *), size_t have)
{
  crdt_id ids[5], got[8];
  size_t n;

  for (int i = 0; i < 5; i++)
    randombytes_buf(ids[i].b, CRDT_ID_LEN);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(add(spare, &ids[i]), BT_OK);
  cr_assert_eq(add(spare, &ids[2]), BT_OK, "again");
  cr_assert_eq(list(spare, got, 8, &n), BT_OK);
  cr_assert_eq(n, have + 5);
  qsort(ids, 5, sizeof(crdt_id), cmp_id);
  for (size_t i = 1; i < n; i++)
    cr_assert_lt(crdt_id_cmp(&got[i - 1], &got[i]), 0, "ascending");
  for (int i = 0; i < 5; i++)
    cr_assert_not_null(bsearch(&ids[i], got, n, sizeof(crdt_id), cmp_id));
  cr_assert_eq(list(spare, got, 1, &n), BT_OK);
  cr_assert_eq(n, have + 5, "the total, though only one was asked for");
  cr_assert_eq(list(spare, NULL, 0, &n), BT_OK);
  cr_assert_eq(n, have + 5);
}

Test(node_org, anchors_and_revocations_are_listed)
{
  crdt_id root, got[2];
  size_t n;

  cr_assert_eq(node_anchors(spare, got, 2, &n), BT_OK);
  cr_assert_eq(n, 0);
  cr_assert_eq(node_revoked(spare, got, 2, &n), BT_OK);
  cr_assert_eq(n, 0);
  check_list(node_anchor_add, node_anchors, 0);
  check_list(node_revoked_add, node_revoked, 0);
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_anchors(la, got, 2, &n), BT_OK);
  cr_assert_eq(n, 1, "a root is its own node's anchor");
  cr_assert_eq(crdt_id_cmp(&got[0], &root), 0);
}

Test(node_org, revoking_a_certificate_or_key_breaks_the_chain)
{
  node_org o;
  crdt_cert *dc, *oc;

  install_la();
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  dc = decode(o.device_cert, o.device_cert_len);
  oc = decode(o.org_cert, o.org_cert_len);
  cr_assert_eq(node_chain_check(s, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_OK);
  cr_assert_eq(node_revoked_add(s, &dc->id), BT_OK);
  cr_assert_eq(node_chain_check(s, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_EREVOKED, "device certificate");
  /* The same chain on another node that revokes the org key instead. */
  cr_assert_eq(node_anchor_add(spare, &oc->b.issuer), BT_OK);
  cr_assert_eq(node_chain_check(spare, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_OK);
  cr_assert_eq(node_revoked_add(spare, &o.sign_pk), BT_OK);
  cr_assert_eq(node_chain_check(spare, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_EREVOKED, "org key");
  cr_assert_eq(node_chain_check(la, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_OK, "revocations are local");
  crdt_cert_free(dc);
  crdt_cert_free(oc);
  node_org_clear(&o);
}

Test(node_org, revoking_the_org_certificate_breaks_the_chain)
{
  node_org o;
  crdt_cert *oc;

  install_la();
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  oc = decode(o.org_cert, o.org_cert_len);
  cr_assert_eq(node_revoked_add(s, &oc->id), BT_OK);
  cr_assert_eq(node_chain_check(s, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_EREVOKED);
  crdt_cert_free(oc);
  node_org_clear(&o);
}

/* An area's MASH or a regional hub trusts many LAs: every anchor counts,
 * however many there are. */
Test(node_org, every_anchor_counts_however_many)
{
  crdt_id root, a;
  node_org o;

  root = install_la();
  memset(a.b, 0, CRDT_ID_LEN); /* sort before the root's key */
  for (int i = 0; i < 100; i++) {
    a.b[2] = (uint8_t)i;
    cr_assert_eq(node_anchor_add(s, &a), BT_OK);
  }
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_expect_eq(node_chain_check(s, o.device_cert, o.device_cert_len, o.org_cert,
                                o.org_cert_len, T0), BT_OK,
               "node_chain_check: the root's anchor sorts after 100 others");
  cr_expect_eq(node_org_cert_check(s, o.org_cert, o.org_cert_len, T0, NULL), BT_OK,
               "node_org_cert_check: the root's anchor sorts after 100 others");
  node_org_clear(&o);
  (void)root;
}

Test(node_org, an_org_certificate_is_checked_alone)
{
  crdt_cert *c = NULL, *oc;
  node_org o, prov;

  create(spare);
  cr_assert_eq(node_org_get(spare, &prov), BT_OK);
  install_la();
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_org_cert_check(s, o.org_cert, o.org_cert_len, T0, &c), BT_OK);
  cr_assert_eq(crdt_id_cmp(&c->b.subject, &o.sign_pk), 0);
  crdt_cert_free(c);
  cr_assert_eq(node_org_cert_check(s, prov.org_cert, prov.org_cert_len, T0, NULL),
               BT_ESELFSIGNED);
  cr_assert_eq(node_org_cert_check(s, o.device_cert, o.device_cert_len, T0, NULL), BT_ECHAIN);
  cr_assert_eq(node_org_cert_check(spare, o.org_cert, o.org_cert_len, T0, NULL), BT_EANCHOR);
  cr_assert_eq(node_org_cert_check(s, o.org_cert, o.org_cert_len, T0 + 366 * DAY, NULL),
               BT_EEXPIRED);
  oc = decode(o.org_cert, o.org_cert_len);
  cr_assert_eq(node_revoked_add(s, &oc->id), BT_OK);
  cr_assert_eq(node_org_cert_check(s, o.org_cert, o.org_cert_len, T0, NULL), BT_EREVOKED);
  crdt_cert_free(oc);
  node_org_clear(&o);
  node_org_clear(&prov);
}

Test(node_org, a_root_is_created_once)
{
  crdt_id root, again, pk;
  node_secret *sk;
  uint8_t derived[32];

  cr_assert_eq(node_root_pk(la, &pk), BT_ENOTFOUND);
  cr_assert_eq(node_root_sk(la, &sk), BT_ENOTFOUND);
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  again = root;
  cr_assert_eq(node_root_create(la, &again), BT_EDUP);
  cr_assert_eq(crdt_id_cmp(&again, &root), 0, "untouched on failure");
  cr_assert_eq(node_root_pk(la, &pk), BT_OK);
  cr_assert_eq(crdt_id_cmp(&pk, &root), 0);
  cr_assert_eq(node_root_sk(la, &sk), BT_OK);
  crypto_sign_ed25519_sk_to_pk(derived, node_secret_bytes(sk));
  cr_assert_eq(memcmp(derived, root.b, 32), 0);
  node_secret_free(sk);
}

Test(node_org, a_root_certifies_only_self_signed_org_requests)
{
  uint8_t *cert, *again;
  size_t len, alen;
  node_org o;
  crdt_id root;

  create(s);
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 365, &cert, &len),
               BT_ENOTFOUND, "no root key yet");
  cr_assert_eq(node_root_create(la, &root), BT_OK);
  cr_assert_eq(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 0, &cert, &len),
               BT_EINVAL);
  cr_assert_eq(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 3651, &cert, &len),
               BT_EINVAL);
  cr_assert_eq(node_root_certify(la, o.device_cert, o.device_cert_len, T0, 365, &cert, &len),
               BT_EINVAL, "a device certificate");
  cr_assert_eq(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 365, &cert, &len), BT_OK);
  cr_assert_eq(node_root_certify(la, cert, len, T0, 365, &again, &alen), BT_EINVAL,
               "an org certificate the LA already issued is not a request");
  cr_assert_neq(node_root_certify(la, (const uint8_t *)"junk", 4, T0, 365, &again, &alen),
                BT_OK);
  free(cert);
  node_org_clear(&o);
}

Test(node_org, a_device_certificate_lets_another_node_adopt_the_org)
{
  node_secret *sk, *bk, *other_bk;
  uint8_t *dcert, *wrong;
  size_t dlen, wlen;
  uint8_t dev[CRDT_PK_LEN], mine[CRDT_PK_LEN];
  node_org o, got;
  crdt_cert *c;

  install_la();
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_org_sign_sk(s, &sk), BT_OK);
  cr_assert_eq(node_org_box_sk(s, &bk), BT_OK);
  node_store_device(spare, dev);
  node_store_device(s, mine);
  cr_assert_eq(node_org_certify_device(s, dev, "DSL laptop", T0, &dcert, &dlen), BT_OK);
  c = decode(dcert, dlen);
  cr_assert_eq(memcmp(c->b.subject.b, dev, 32), 0);
  cr_assert(bt_str_eq(c->b.name, BT_STR("DSL laptop")));
  crdt_cert_free(c);
  cr_assert_eq(node_org_certify_device(s, mine, "not me", T0, &wrong, &wlen), BT_OK);
  cr_assert_eq(node_org_adopt(spare, node_secret_bytes(sk), node_secret_bytes(bk), o.org_cert,
                              o.org_cert_len, wrong, wlen), BT_EINVAL, "another device's");
  cr_assert_eq(node_secret_random(&other_bk, 32), BT_OK);
  cr_assert_eq(node_org_adopt(spare, node_secret_bytes(sk), node_secret_bytes(other_bk),
                              o.org_cert, o.org_cert_len, dcert, dlen), BT_EINVAL, "box key");
  cr_assert_eq(node_org_get(spare, &got), BT_ENOTFOUND);
  cr_assert_eq(node_org_adopt(spare, node_secret_bytes(sk), node_secret_bytes(bk), o.org_cert,
                              o.org_cert_len, dcert, dlen), BT_OK);
  cr_assert_eq(node_org_get(spare, &got), BT_OK);
  cr_assert_eq(crdt_id_cmp(&got.sign_pk, &o.sign_pk), 0);
  cr_assert_eq(got.provisional, 0);
  cr_assert_eq(node_org_adopt(spare, node_secret_bytes(sk), node_secret_bytes(bk), o.org_cert,
                              o.org_cert_len, dcert, dlen), BT_EDUP);
  cr_assert_eq(node_chain_check(s, got.device_cert, got.device_cert_len, got.org_cert,
                                got.org_cert_len, T0), BT_OK);
  cr_assert_eq(node_org_certify_device(la, dev, "x", T0, &wrong, &wlen), BT_ENOTFOUND);
  node_secret_free(sk);
  node_secret_free(bk);
  node_secret_free(other_bk);
  free(dcert);
  free(wrong);
  node_org_clear(&o);
  node_org_clear(&got);
}
