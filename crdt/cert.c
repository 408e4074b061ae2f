/* crdt/cert.c: certificate codec, chain rules and fingerprints. The record
 * goes through the same table-driven codec as op bodies, so canonical form
 * and limits are enforced the same way. */
#include "cert.h"

#include <sodium.h>
#include <stdlib.h>

#include "err.h"
#include "mp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FLD(T, m, k, kind, req, max) \
  {#m, k, kind, req, max, offsetof(T, m), 0, NULL, NULL}
#define ENM(T, m, k, req, names) \
  {#m, k, CRDT_F_ENUM, req, N(names) - 1, offsetof(T, m), 0, NULL, names}

static const char *const kind_names[] = {"", "org", "device"};
static const char *const org_names[] = {"", "school", "la", "mash", "police", "health"};

static const crdt_field cert_f[] = {
  ENM(crdt_cert_body, kind, 1, 1, kind_names),
  FLD(crdt_cert_body, subject, 2, CRDT_F_ID, 1, 0),
  FLD(crdt_cert_body, box, 3, CRDT_F_ID, 0, 0),
  FLD(crdt_cert_body, name, 4, CRDT_F_STR, 1, 128),
  ENM(crdt_cert_body, org_kind, 5, 0, org_names),
  FLD(crdt_cert_body, urn, 6, CRDT_F_STR, 0, 6),
  FLD(crdt_cert_body, laestab, 7, CRDT_F_STR, 0, 7),
  FLD(crdt_cert_body, not_before, 8, CRDT_F_TIME, 1, 0),
  FLD(crdt_cert_body, not_after, 9, CRDT_F_TIME, 1, 0),
  FLD(crdt_cert_body, issuer, 10, CRDT_F_ID, 1, 0),
};

static int digits(bt_str s, size_t n)
{
  if (s.len == 0)
    return 1;
  if (s.len != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s.p[i] < '0' || s.p[i] > '9')
      return 0;
  return 1;
}

static int cert_check(const void *rec)
{
  const crdt_cert_body *b = rec;
  int org = b->kind == CRDT_CERT_ORG;

  if (org != !crdt_id_is_zero(&b->box) || org != (b->org_kind != 0))
    return BT_EINVAL; /* orgs have a box key and a kind; devices neither */
  if (!org && (b->urn.len || b->laestab.len))
    return BT_EINVAL;
  if (!digits(b->urn, 6) || !digits(b->laestab, 7))
    return BT_EINVAL;
  return b->not_after > b->not_before ? BT_OK : BT_EINVAL;
}

static const crdt_schema cert_s = {"cert", sizeof(crdt_cert_body), N(cert_f), cert_f,
                                   cert_check};

const crdt_schema *crdt_cert_schema(void)
{
  return &cert_s;
}

#define CERT_CTX "baton/cert/1"

static void sign_msg(const uint8_t *rec, size_t len, const uint8_t *sk, uint8_t sig[64])
{
  crypto_sign_state st;

  crypto_sign_init(&st);
  crypto_sign_update(&st, (const uint8_t *)CERT_CTX, sizeof(CERT_CTX) - 1);
  crypto_sign_update(&st, rec, len);
  crypto_sign_final_create(&st, sig, NULL, sk);
}

static int verify_msg(const uint8_t *rec, size_t len, const uint8_t *pk, const uint8_t *sig)
{
  crypto_sign_state st;

  crypto_sign_init(&st);
  crypto_sign_update(&st, (const uint8_t *)CERT_CTX, sizeof(CERT_CTX) - 1);
  crypto_sign_update(&st, rec, len);
  return crypto_sign_final_verify(&st, sig, pk) == 0 ? BT_OK : BT_ESIG;
}

int crdt_cert_sign(const crdt_cert_body *b, const uint8_t issuer_sk[CRDT_SK_LEN],
                   uint8_t **out, size_t *len)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint8_t sig[64];
  size_t rec_off;
  int rc;

  if (memcmp(issuer_sk + 32, b->issuer.b, 32) != 0)
    return BT_EINVAL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (msgpack_pack_array(&pk, 2) != 0) {
    rc = BT_ENOMEM;
    goto out;
  }
  rec_off = sb.size;
  if ((rc = crdt_rec_pack(&pk, &cert_s, b)) != 0)
    goto out;
  sign_msg((const uint8_t *)sb.data + rec_off, sb.size - rec_off, issuer_sk, sig);
  if ((rc = crdt_mp_pack_bin(&pk, sig, sizeof(sig))) != 0)
    goto out;
  if (sb.size > CRDT_CERT_MAX) {
    rc = BT_ETOOBIG;
    goto out;
  }
  *out = (uint8_t *)sb.data;
  *len = sb.size;
  return BT_OK; /* the buffer is the caller's now */
out:
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

typedef struct {
  crdt_cert c; /* first */
  msgpack_zone zone;
  uint8_t bytes[];
} cert_box;

static int decode_into(cert_box *x, size_t len)
{
  const msgpack_object *it;
  msgpack_object root;
  crdt_mp_cmp cmp = {x->bytes, len, 0, 0};
  msgpack_packer pk;
  size_t n, rec_len;
  int rc;

  if ((rc = crdt_mp_unpack(x->bytes, len, 3, &x->zone, &root)) != 0)
    return rc;
  if ((rc = crdt_mp_array(&root, 2, 2, &it, &n)) != 0)
    return rc == BT_ETOOBIG ? BT_EPROTO : rc;
  if (it[1].type != MSGPACK_OBJECT_BIN || it[1].via.bin.size != 64)
    return BT_ETYPE;
  if ((rc = crdt_rec_unpack(&cert_s, &it[0], &x->zone, &x->c.b)) != 0)
    return rc;
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if (msgpack_pack_array(&pk, 2) != 0 || (rc = crdt_rec_pack(&pk, &cert_s, &x->c.b)) != 0 ||
      (rc = crdt_mp_pack_bin(&pk, it[1].via.bin.ptr, 64)) != 0 || !crdt_mp_cmp_equal(&cmp))
    return rc ? rc : BT_ENONCANON;
  rec_len = len - 1 - 2 - 64; /* fixarray byte, bin8 header, signature */
  return verify_msg(x->bytes + 1, rec_len, x->c.b.issuer.b, (const uint8_t *)it[1].via.bin.ptr);
}

int crdt_cert_decode(const uint8_t *p, size_t len, crdt_cert **out)
{
  cert_box *x;
  int rc;

  if (len > CRDT_CERT_MAX)
    return BT_ETOOBIG;
  if ((x = calloc(1, sizeof(*x) + len)) == NULL)
    return BT_ENOMEM;
  memcpy(x->bytes, p, len);
  if (!msgpack_zone_init(&x->zone, 256)) {
    free(x);
    return BT_ENOMEM;
  }
  if ((rc = decode_into(x, len)) != 0) {
    crdt_cert_free(&x->c);
    return rc;
  }
  x->c.enc = x->bytes;
  x->c.enc_len = len;
  crypto_generichash(x->c.id.b, CRDT_ID_LEN, x->bytes, len, NULL, 0);
  *out = &x->c;
  return BT_OK;
}

void crdt_cert_free(crdt_cert *c)
{
  cert_box *x = (cert_box *)c;

  if (x == NULL)
    return;
  msgpack_zone_destroy(&x->zone);
  free(x);
}

static int listed(const crdt_id *list, size_t n, const crdt_id *a)
{
  for (size_t i = 0; i < n; i++)
    if (crdt_id_cmp(&list[i], a) == 0)
      return 1;
  return 0;
}

static int in_date(const crdt_cert *c, uint64_t now)
{
  return now >= c->b.not_before && now <= c->b.not_after;
}

int crdt_chain_check(const crdt_cert *device, const crdt_cert *org, const crdt_id *anchors,
                     size_t nanchors, uint64_t now_ms, const crdt_id *revoked,
                     size_t nrevoked)
{
  if (device->b.kind != CRDT_CERT_DEVICE || org->b.kind != CRDT_CERT_ORG)
    return BT_ECHAIN;
  if (crdt_id_cmp(&device->b.issuer, &device->b.subject) == 0 ||
      crdt_id_cmp(&org->b.issuer, &org->b.subject) == 0)
    return BT_ESELFSIGNED;
  if (crdt_id_cmp(&device->b.issuer, &org->b.subject) != 0)
    return BT_ECHAIN;
  if (!listed(anchors, nanchors, &org->b.issuer))
    return BT_EANCHOR;
  if (listed(revoked, nrevoked, &device->id) || listed(revoked, nrevoked, &org->id) ||
      listed(revoked, nrevoked, &device->b.subject) || listed(revoked, nrevoked, &org->b.subject))
    return BT_EREVOKED;
  if (!in_date(device, now_ms) || !in_date(org, now_ms))
    return BT_EEXPIRED;
  return BT_OK;
}

void crdt_fingerprint(const uint8_t *key, size_t len, char out[CRDT_FPR_LEN])
{
  static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */
  uint8_t h[20];
  size_t o = 0;

  crypto_generichash(h, sizeof(h), key, len, NULL, 0);
  for (int i = 0; i < 32; i++) { /* 160 bits, five at a time */
    int bit = i * 5, v = 0;
    for (int k = 0; k < 5; k++, bit++)
      v = v << 1 | ((h[bit / 8] >> (7 - bit % 8)) & 1);
    if (i > 0 && i % 4 == 0)
      out[o++] = '-';
    out[o++] = alpha[v];
  }
  out[o] = '\0';
}
