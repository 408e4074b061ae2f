/* tests/crdt/test_cert.c: certificates and chains. Each broken chain has
 * exactly one defect, and each defect its own reason. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/gen.h"

#define T0 1767225600000ull  /* 2026-01-01 */
#define YEAR 31536000000ull

typedef struct {
  uint8_t pk[32], sk[64];
} kp;

static kp key(uint64_t n)
{
  gen_key g;
  kp k;

  gen_keypair(n, &g);
  memcpy(k.pk, g.pk, 32);
  memcpy(k.sk, g.sk, 64);
  return k;
}

static crdt_cert *make(const crdt_cert_body *b, const kp *issuer)
{
  uint8_t *enc;
  size_t len;
  crdt_cert *c;
  int rc = crdt_cert_sign(b, issuer->sk, &enc, &len);

  cr_assert_eq(rc, BT_OK, "sign: %s", bt_strerror(rc));
  rc = crdt_cert_decode(enc, len, &c);
  cr_assert_eq(rc, BT_OK, "decode: %s", bt_strerror(rc));
  free(enc);
  return c;
}

static crdt_cert_body org_body(const kp *subject, const kp *issuer)
{
  crdt_cert_body b = {.kind = CRDT_CERT_ORG, .name = BT_STR("Oakfield Primary School"),
                      .org_kind = CRDT_ORG_SCHOOL, .urn = BT_STR("100001"),
                      .laestab = BT_STR("8012000"), .not_before = T0,
                      .not_after = T0 + 3 * YEAR};

  memcpy(b.subject.b, subject->pk, 32);
  memcpy(b.issuer.b, issuer->pk, 32);
  memset(b.box.b, 0x5b, 32);
  return b;
}

static crdt_cert_body dev_body(const kp *subject, const kp *issuer)
{
  crdt_cert_body b = {.kind = CRDT_CERT_DEVICE, .name = BT_STR("DSL laptop"),
                      .not_before = T0, .not_after = T0 + YEAR};

  memcpy(b.subject.b, subject->pk, 32);
  memcpy(b.issuer.b, issuer->pk, 32);
  return b;
}

typedef struct {
  kp la, la2, org, org2, dev;
  crdt_id anchor;
} world;

static world w;

static void setup(void)
{
  w.la = key(1);
  w.la2 = key(2);
  w.org = key(3);
  w.org2 = key(4);
  w.dev = key(5);
  memcpy(w.anchor.b, w.la.pk, 32);
}

TestSuite(crdt_cert, .init = setup);

static int check(const crdt_cert_body *d, const kp *dev_issuer, const crdt_cert_body *o,
                 const kp *org_issuer, uint64_t now, const crdt_id *revoked, size_t nrev)
{
  crdt_cert *dc = make(d, dev_issuer), *oc = make(o, org_issuer);
  int rc = crdt_chain_check(dc, oc, &w.anchor, 1, now, revoked, nrev);

  crdt_cert_free(dc);
  crdt_cert_free(oc);
  return rc;
}

Test(crdt_cert, a_valid_chain_is_accepted)
{
  crdt_cert_body o = org_body(&w.org, &w.la), d = dev_body(&w.dev, &w.org);

  cr_assert_eq(check(&d, &w.org, &o, &w.la, T0 + 1000, NULL, 0), BT_OK);
}

Test(crdt_cert, each_defect_has_its_own_reason)
{
  crdt_cert_body o = org_body(&w.org, &w.la), d = dev_body(&w.dev, &w.org);
  crdt_cert_body o2 = org_body(&w.org2, &w.la2), self = org_body(&w.org, &w.org);
  crdt_cert_body d2 = dev_body(&w.dev, &w.org2);
  crdt_id rev;

  cr_assert_eq(check(&d, &w.org, &o, &w.la, T0 + YEAR + 1, NULL, 0), BT_EEXPIRED, "expired");
  cr_assert_eq(check(&d, &w.org, &o, &w.la, T0 - 1, NULL, 0), BT_EEXPIRED, "not yet valid");
  memcpy(rev.b, w.dev.pk, 32);
  cr_assert_eq(check(&d, &w.org, &o, &w.la, T0 + 1, &rev, 1), BT_EREVOKED, "device revoked");
  memcpy(rev.b, w.org.pk, 32);
  cr_assert_eq(check(&d, &w.org, &o, &w.la, T0 + 1, &rev, 1), BT_EREVOKED, "org revoked");
  o2 = org_body(&w.org, &w.la2);
  cr_assert_eq(check(&d, &w.org, &o2, &w.la2, T0 + 1, NULL, 0), BT_EANCHOR, "another LA");
  cr_assert_eq(check(&d, &w.org, &self, &w.org, T0 + 1, NULL, 0), BT_ESELFSIGNED);
  /* Swapped keys: the device was certified by another org. */
  cr_assert_eq(check(&d2, &w.org2, &o, &w.la, T0 + 1, NULL, 0), BT_ECHAIN, "swapped");
  /* Kinds: an org cert where the device's should be. */
  cr_assert_eq(check(&o, &w.la, &o, &w.la, T0 + 1, NULL, 0), BT_ECHAIN, "kinds");
}

Test(crdt_cert, revocation_by_certificate_id)
{
  crdt_cert_body o = org_body(&w.org, &w.la), d = dev_body(&w.dev, &w.org);
  crdt_cert *dc = make(&d, &w.org), *oc = make(&o, &w.la);

  cr_assert_eq(crdt_chain_check(dc, oc, &w.anchor, 1, T0 + 1, &dc->id, 1), BT_EREVOKED);
  cr_assert_eq(crdt_chain_check(dc, oc, &w.anchor, 1, T0 + 1, &oc->id, 1), BT_EREVOKED);
  crdt_cert_free(dc);
  crdt_cert_free(oc);
}

Test(crdt_cert, every_bit_flip_is_refused_and_encoding_is_canonical)
{
  crdt_cert_body o = org_body(&w.org, &w.la);
  uint8_t *enc, *again;
  size_t len, len2;
  crdt_cert *c;

  cr_assert_eq(crdt_cert_sign(&o, w.la.sk, &enc, &len), BT_OK);
  cr_assert_eq(crdt_cert_sign(&o, w.la.sk, &again, &len2), BT_OK);
  cr_assert_eq(len, len2);
  cr_assert_eq(memcmp(enc, again, len), 0, "Ed25519 is deterministic: same cert, same bytes");
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      enc[i] ^= (uint8_t)(1 << bit);
      int rc = crdt_cert_decode(enc, len, &c);
      cr_assert_neq(rc, BT_OK, "byte %zu bit %d accepted", i, bit);
      enc[i] ^= (uint8_t)(1 << bit);
    }
  for (size_t cut = 0; cut < len; cut++)
    cr_assert_neq(crdt_cert_decode(enc, cut, &c), BT_OK, "truncated at %zu", cut);
  free(enc);
  free(again);
}

Test(crdt_cert, field_rules)
{
  crdt_cert_body o = org_body(&w.org, &w.la), d = dev_body(&w.dev, &w.org);
  uint8_t *enc;
  size_t len;

  o.urn = BT_STR("10000A");
  cr_assert_eq(crdt_cert_sign(&o, w.la.sk, &enc, &len), BT_EINVAL, "URN digits");
  o = org_body(&w.org, &w.la);
  o.laestab = BT_STR("801200");
  cr_assert_eq(crdt_cert_sign(&o, w.la.sk, &enc, &len), BT_EINVAL, "LAESTAB length");
  o = org_body(&w.org, &w.la);
  memset(o.box.b, 0, 32);
  cr_assert_eq(crdt_cert_sign(&o, w.la.sk, &enc, &len), BT_EINVAL, "org without box key");
  d.org_kind = CRDT_ORG_SCHOOL;
  cr_assert_eq(crdt_cert_sign(&d, w.org.sk, &enc, &len), BT_EINVAL, "device with org kind");
  d = dev_body(&w.dev, &w.org);
  d.not_after = d.not_before;
  cr_assert_eq(crdt_cert_sign(&d, w.org.sk, &enc, &len), BT_EINVAL, "empty validity");
  d = dev_body(&w.dev, &w.org);
  cr_assert_eq(crdt_cert_sign(&d, w.la.sk, &enc, &len), BT_EINVAL, "signed by another key");
}

Test(crdt_cert, fingerprints_are_grouped_readable_and_distinct)
{
  char a[CRDT_FPR_LEN], b[CRDT_FPR_LEN], c[CRDT_FPR_LEN];

  crdt_fingerprint(w.la.pk, 32, a);
  crdt_fingerprint(w.la.pk, 32, b);
  crdt_fingerprint(w.org.pk, 32, c);
  cr_assert_str_eq(a, b);
  cr_assert_str_neq(a, c);
  cr_assert_eq(strlen(a), 39);
  for (int i = 0; i < 39; i++) {
    if (i % 5 == 4)
      cr_assert_eq(a[i], '-');
    else
      cr_assert(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]) && a[i], "char %d", i);
  }
  /* BLAKE2b-160 of the empty string starts 0x33 0x45 0x52 0x4a ... */
  crdt_fingerprint((const uint8_t *)"", 0, c);
  cr_assert_eq(strncmp(c, "6D2N", 4), 0, "got %s", c);
}
