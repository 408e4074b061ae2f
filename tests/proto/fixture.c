/* tests/proto/fixture.c: the fixed world and the reference arithmetic (see
 * fixture.h). The reference follows docs/protocol.md line by line and
 * shares no code with proto/handshake.c beyond libsodium and msgpack-c. */
#include "fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void die(const char *what, int rc)
{
  fprintf(stderr, "fixture: %s: %s\n", what, bt_strerror(rc));
  abort();
}

/* Seeds: LA 0x01 (the anchor), LA 0x02 (nobody's anchor), orgs 0x0A (A),
 * 0x0B (B), 0x0C (M, under LA 0x02); devices 0xA1 (Alice), 0xB1 (Bob),
 * 0xA2 (the insider), 0xC1 (the outsider), 0xA3 (revoked). */
enum { K_LA = 0x01, K_LA2 = 0x02, K_ORG_A = 0x0A, K_ORG_B = 0x0B, K_ORG_M = 0x0C };

static const struct {
  uint8_t dev, org, la;
  const char *org_name, *urn, *dev_name;
} WHO[FX_PARTIES] = {
  [FX_ALICE] = {0xA1, K_ORG_A, K_LA, "Oakfield Primary School", "100001", "DSL laptop"},
  [FX_BOB] = {0xB1, K_ORG_B, K_LA, "Riverside Academy", "100002", "Office desktop"},
  [FX_INSIDER] = {0xA2, K_ORG_A, K_LA, "Oakfield Primary School", "100001", "Spare laptop"},
  [FX_OUTSIDER] = {0xC1, K_ORG_M, K_LA2, "Meadow School", "100003", "Laptop"},
  [FX_REVOKED] = {0xA3, K_ORG_A, K_LA, "Oakfield Primary School", "100001", "Lost laptop"},
};

static const bt_str CAPS_A[] = {BT_STR("attach"), BT_STR("relay"), BT_STR("zstd")};
static const bt_str CAPS_B[] = {BT_STR("attach"), BT_STR("zstd")};

static void seed_keypair(uint8_t b, uint8_t pk[32], uint8_t sk[64])
{
  uint8_t seed[32];

  memset(seed, b, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
}

void fx_sign_seed(fx_who who, uint8_t seed[32])
{
  memset(seed, WHO[who].dev, 32);
}

void fx_eph(uint8_t b, uint8_t pk[PROTO_EPH_LEN], uint8_t sk[PROTO_EPH_LEN])
{
  memset(sk, b, PROTO_EPH_LEN);
  if (crypto_scalarmult_base(pk, sk) != 0)
    die("eph", BT_EINVAL);
}

static void sign_cert(const crdt_cert_body *b, const uint8_t sk[64], uint8_t **out, size_t *len)
{
  int rc = crdt_cert_sign(b, sk, out, len);

  if (rc != BT_OK)
    die("crdt_cert_sign", rc);
}

void fx_party_make(fx_who who, fx_party *p)
{
  uint8_t la_pk[32], la_sk[64], org_pk[32], org_sk[64];
  crdt_cert_body org = {.kind = CRDT_CERT_ORG, .org_kind = CRDT_ORG_SCHOOL,
                        .not_before = FX_T0, .not_after = FX_T0 + 3 * 365 * FX_DAY};
  crdt_cert_body dev = {.kind = CRDT_CERT_DEVICE, .not_before = FX_T0,
                        .not_after = FX_T0 + 365 * FX_DAY};

  if (sodium_init() < 0)
    die("sodium_init", BT_ENOMEM);
  memset(p, 0, sizeof *p);
  seed_keypair(WHO[who].la, la_pk, la_sk);
  seed_keypair(WHO[who].org, org_pk, org_sk);
  seed_keypair(WHO[who].dev, p->pk, p->sk);
  org.name = bt_strz(WHO[who].org_name);
  org.urn = bt_strz(WHO[who].urn);
  memcpy(org.subject.b, org_pk, 32);
  memcpy(org.issuer.b, la_pk, 32);
  memset(org.box.b, WHO[who].org, 32);
  dev.name = bt_strz(WHO[who].dev_name);
  memcpy(dev.subject.b, p->pk, 32);
  memcpy(dev.issuer.b, org_pk, 32);
  sign_cert(&org, la_sk, &p->org, &p->olen);
  sign_cert(&dev, org_sk, &p->dev, &p->dlen);
  p->caps = who == FX_BOB ? CAPS_B : CAPS_A;
  p->ncaps = who == FX_BOB ? N(CAPS_B) : N(CAPS_A);
}

void fx_party_free(fx_party *p)
{
  free(p->dev);
  free(p->org);
  p->dev = p->org = NULL;
}

void fx_trust_init(fx_trust *t)
{
  uint8_t sk[64];

  memset(t, 0, sizeof *t);
  seed_keypair(K_LA, t->anchor.b, sk);
  seed_keypair(WHO[FX_REVOKED].dev, t->revoked.b, sk); /* revoked by subject key */
}

int fx_verify(void *ctx, const uint8_t pk[CRDT_PK_LEN], const uint8_t *dev, size_t dlen,
              const uint8_t *org, size_t olen)
{
  fx_trust *t = ctx;
  crdt_cert *d = NULL, *o = NULL;
  int rc;

  t->calls++;
  memcpy(t->last_pk, pk, CRDT_PK_LEN);
  if ((rc = crdt_cert_decode(dev, dlen, &d)) == BT_OK &&
      (rc = crdt_cert_decode(org, olen, &o)) == BT_OK)
    rc = crdt_chain_check(d, o, &t->anchor, 1, FX_NOW, &t->revoked, 1);
  crdt_cert_free(d);
  crdt_cert_free(o);
  return rc;
}

proto_hs *fx_hs(const fx_party *p, int initiator, uint8_t eph_byte, fx_trust *t)
{
  uint8_t epk[32], esk[32];
  proto_hs_config cfg = {.initiator = initiator, .sign_sk = p->sk,
                         .dev_cert = {p->dev, p->dlen}, .org_cert = {p->org, p->olen},
                         .version = PROTO_VERSION, .caps = p->caps, .ncaps = p->ncaps,
                         .eph_pk = epk, .eph_sk = esk, .verify = fx_verify,
                         .verify_ctx = t};
  proto_hs *hs;
  int rc;

  fx_eph(eph_byte, epk, esk);
  if ((rc = proto_hs_new(&hs, &cfg)) != BT_OK)
    die("proto_hs_new", rc);
  return hs;
}

/* ---- reference arithmetic ---- */

void fx_ref_h0(uint8_t h[32])
{
  crypto_generichash(h, 32, (const uint8_t *)"baton/sync/1", 12, NULL, 0);
}

void fx_ref_absorb(uint8_t h[32], const uint8_t *p, size_t len)
{
  uint8_t *buf = malloc(32 + len);

  if (buf == NULL)
    die("malloc", BT_ENOMEM);
  memcpy(buf, h, 32);
  if (len)
    memcpy(buf + 32, p, len);
  crypto_generichash(h, 32, buf, 32 + len, NULL, 0);
  free(buf);
}

void fx_ref_kdf(uint8_t out[32], const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len,
                const char *label)
{
  uint8_t buf[64 + 32];
  size_t l = strlen(label);

  if (l + ikm_len > sizeof buf)
    die("kdf", BT_EINVAL);
  memcpy(buf, label, l);
  if (ikm_len)
    memcpy(buf + l, ikm, ikm_len);
  crypto_generichash(out, 32, buf, l + ikm_len, ck, 32);
}

void fx_ref_dh(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
  if (crypto_scalarmult(out, sk, pk) != 0)
    die("dh", BT_EAUTH);
}

void fx_ref_parse(const uint8_t *p, size_t len, fx_msg *m)
{
  msgpack_zone z;
  msgpack_object o;
  size_t off = 0;
  const msgpack_object *it;

  memset(m, 0, sizeof *m);
  msgpack_zone_init(&z, 1024);
  if (msgpack_unpack((const char *)p, len, &off, &z, &o) != MSGPACK_UNPACK_SUCCESS ||
      o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size < 2)
    die("parse", BT_EPROTO);
  it = o.via.array.ptr;
  m->kind = (unsigned)it[0].via.u64;
  if (m->kind == 3) {
    m->box = (const uint8_t *)it[1].via.bin.ptr;
    m->blen = it[1].via.bin.size;
  } else {
    m->version = (uint32_t)it[1].via.u64;
    m->ncaps = it[2].via.array.size;
    for (size_t i = 0; i < m->ncaps && i < PROTO_CAPS_MAX; i++)
      m->caps[i] = (bt_str){it[2].via.array.ptr[i].via.str.ptr,
                            it[2].via.array.ptr[i].via.str.size};
    m->e = (const uint8_t *)it[3].via.bin.ptr;
    if (m->kind == 2) {
      m->box = (const uint8_t *)it[4].via.bin.ptr;
      m->blen = it[4].via.bin.size;
    }
  }
  msgpack_zone_destroy(&z); /* the slices point into p, not the zone */
}

typedef struct {
  uint8_t *p;
  size_t len;
} out_buf;

static int out_write(void *data, const char *buf, size_t len)
{
  out_buf *o = data;

  memcpy(o->p + o->len, buf, len);
  o->len += len;
  return 0;
}

size_t fx_ref_msg(uint8_t *out, unsigned kind, uint32_t version, const bt_str *caps,
                  size_t ncaps, const uint8_t *e, const uint8_t *box, size_t blen)
{
  out_buf o = {out, 0};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &o, out_write);
  msgpack_pack_array(&pk, box ? 5 : 4);
  msgpack_pack_unsigned_int(&pk, kind);
  msgpack_pack_uint32(&pk, version);
  msgpack_pack_array(&pk, ncaps);
  for (size_t i = 0; i < ncaps; i++)
    crdt_mp_pack_str(&pk, caps[i].p, caps[i].len);
  crdt_mp_pack_bin(&pk, e, 32);
  if (box)
    crdt_mp_pack_bin(&pk, box, blen);
  return o.len;
}

size_t fx_ref_finish(uint8_t *out, const uint8_t *box, size_t blen)
{
  out_buf o = {out, 0};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &o, out_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_unsigned_int(&pk, 3);
  crdt_mp_pack_bin(&pk, box, blen);
  return o.len;
}

size_t fx_ref_id(uint8_t *out, const uint8_t pk[32], const uint8_t sk[64], const char *label,
                 const uint8_t h[32], const uint8_t *dev, size_t dlen, const uint8_t *org,
                 size_t olen)
{
  uint8_t m[14 + 32], sig[64];
  out_buf o = {out, 0};
  msgpack_packer k;

  memcpy(m, label, 14);
  memcpy(m + 14, h, 32);
  crypto_sign_detached(sig, NULL, m, sizeof m, sk);
  msgpack_packer_init(&k, &o, out_write);
  msgpack_pack_array(&k, 4);
  crdt_mp_pack_bin(&k, pk, 32);
  crdt_mp_pack_bin(&k, sig, 64);
  crdt_mp_pack_bin(&k, dev, dlen);
  crdt_mp_pack_bin(&k, org, olen);
  return o.len;
}

static const uint8_t ZERO_NONCE[24];

size_t fx_ref_seal(uint8_t *out, const uint8_t ck[32], const uint8_t dh[32], const char *label,
                   const uint8_t h[32], const uint8_t *pt, size_t len)
{
  uint8_t k[32];
  unsigned long long n;

  fx_ref_kdf(k, ck, dh, 32, label);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, &n, pt, len, h, 32, NULL, ZERO_NONCE, k);
  return (size_t)n;
}

int fx_ref_open(uint8_t *out, size_t *olen, const uint8_t ck[32], const uint8_t dh[32],
                const char *label, const uint8_t h[32], const uint8_t *box, size_t blen)
{
  uint8_t k[32];
  unsigned long long n;

  fx_ref_kdf(k, ck, dh, 32, label);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, box, blen, h, 32, ZERO_NONCE,
                                                 k) != 0)
    return -1;
  *olen = (size_t)n;
  return 0;
}

void fx_ref_transcript(const uint8_t *hello, size_t hlen, const uint8_t *reply, size_t rlen,
                       const uint8_t *finish, size_t flen, fx_transcript *t)
{
  uint8_t head[PROTO_HS_MAX];
  fx_msg r, f;
  size_t n;

  fx_ref_h0(t->h1);
  fx_ref_absorb(t->h1, hello, hlen);
  fx_ref_parse(reply, rlen, &r);
  n = fx_ref_msg(head, 2, r.version, r.caps, r.ncaps, r.e, NULL, 0);
  memcpy(t->h2, t->h1, 32);
  fx_ref_absorb(t->h2, head, n);
  memcpy(t->h3, t->h2, 32);
  fx_ref_absorb(t->h3, r.box, r.blen);
  memcpy(t->h4, t->h3, 32);
  if (finish) {
    fx_ref_parse(finish, flen, &f);
    fx_ref_absorb(t->h4, f.box, f.blen);
  }
}

void fx_ref_keys(const uint8_t h4[32], const uint8_t dh[32], uint8_t i2r[32], uint8_t r2i[32])
{
  uint8_t t[32];

  fx_ref_kdf(t, h4, dh, 32, "baton/hs/t");
  fx_ref_kdf(i2r, t, NULL, 0, "baton/i2r");
  fx_ref_kdf(r2i, t, NULL, 0, "baton/r2i");
}

static const bt_str FORGED_CAPS[] = {BT_STR("attach"), BT_STR("zstd")};

void fx_forge_reply_begin(fx_forger *f, const uint8_t *hello, size_t hl, uint8_t eph)
{
  uint8_t esk[32], head[PROTO_HS_MAX];
  fx_msg m;
  size_t n;

  fx_ref_parse(hello, hl, &m);
  fx_eph(eph, f->epk, esk);
  fx_ref_dh(f->dh, esk, m.e);
  fx_ref_h0(f->ck);
  fx_ref_absorb(f->ck, hello, hl);
  n = fx_ref_msg(head, 2, 1, FORGED_CAPS, N(FORGED_CAPS), f->epk, NULL, 0);
  memcpy(f->h, f->ck, 32);
  fx_ref_absorb(f->h, head, n);
  f->klabel = "baton/hs/r";
  f->slabel = "baton/hs/sig/r";
}

size_t fx_forge_reply_end(const fx_forger *f, uint8_t *out, const uint8_t *id, size_t idl)
{
  uint8_t box[PROTO_HS_MAX];
  size_t bl = fx_ref_seal(box, f->ck, f->dh, f->klabel, f->h, id, idl);

  return fx_ref_msg(out, 2, 1, FORGED_CAPS, N(FORGED_CAPS), f->epk, box, bl);
}

size_t fx_forge_hello(uint8_t *out, uint8_t eph)
{
  uint8_t epk[32], esk[32];

  fx_eph(eph, epk, esk);
  return fx_ref_msg(out, 1, 1, FORGED_CAPS, N(FORGED_CAPS), epk, NULL, 0);
}

void fx_forge_finish_begin(fx_forger *f, const uint8_t *hello, size_t hl, const uint8_t *reply,
                           size_t rl, uint8_t eph)
{
  uint8_t esk[32];
  fx_transcript t;
  fx_msg m;

  fx_ref_parse(reply, rl, &m);
  fx_eph(eph, f->epk, esk);
  fx_ref_dh(f->dh, esk, m.e);
  fx_ref_transcript(hello, hl, reply, rl, NULL, 0, &t);
  memcpy(f->ck, t.h3, 32);
  memcpy(f->h, t.h3, 32);
  f->klabel = "baton/hs/i";
  f->slabel = "baton/hs/sig/i";
}

size_t fx_forge_finish_end(const fx_forger *f, uint8_t *out, const uint8_t *id, size_t idl)
{
  uint8_t box[PROTO_HS_MAX];
  size_t bl = fx_ref_seal(box, f->ck, f->dh, f->klabel, f->h, id, idl);

  return fx_ref_finish(out, box, bl);
}

void fx_hex(char *out, const uint8_t *p, size_t len)
{
  static const char d[] = "0123456789abcdef";

  for (size_t i = 0; i < len; i++) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  out[2 * len] = 0;
}
