/* proto/package.c: package, payload and receipt layouts (docs/package.md).
 *
 *   header  = magic "BATONPKG" (8) | version u8 (1) | kind u8 | reserved u16 (0)
 *           | signer (32) | device cert len u16 | device cert
 *           | org cert len u16 | org cert
 *           | kind 1 (org):        recipient org key (32) | box key (32)
 *                                  | sealed package key (80)
 *           | kind 2 (passphrase): salt (16) | opslimit u32 | memlimit u64
 *           | kinds 1, 2:          nonce (24)
 *           | body len u64
 *   package = header | body (body len) | signature (64)
 *
 *   payload = version u8 (1) | file (16) | nkeys u32 | nkeys x (kind u8 |
 *             epoch (16) | key (32)) | nops u32 | nops x (len u32 | envelope)
 *   receipt = version u8 (1) | package hash (32) | file (16) | nops u64
 *           | received at u64 | device (32) | user len u8 | user
 *
 * All integers big-endian. Every count and length is checked against the
 * bytes that remain before it is used, so a hostile file can make us
 * allocate at most one bt_bytes per PROTO_PKG_ENV_MIN + 4 bytes it holds. */
#include "proto/package.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

typedef struct {
  const uint8_t *p, *end;
} rd;

static size_t left(const rd *r)
{
  return (size_t)(r->end - r->p);
}

static int take(rd *r, size_t n, const uint8_t **out)
{
  if (left(r) < n)
    return BT_ETRUNC;
  *out = r->p;
  r->p += n;
  return BT_OK;
}

static int get_be(rd *r, size_t n, uint64_t *v)
{
  const uint8_t *p;
  int rc;

  if ((rc = take(r, n, &p)) != 0)
    return rc;
  *v = 0;
  for (size_t i = 0; i < n; i++)
    *v = *v << 8 | p[i];
  return BT_OK;
}

static uint8_t *put_be(uint8_t *o, uint64_t v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    o[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  return o + n;
}

static uint8_t *put(uint8_t *o, const void *p, size_t n)
{
  if (n)
    memcpy(o, p, n);
  return o + n;
}

/* ---- header ---- */

static int parse_cert(rd *r, bt_bytes *out)
{
  uint64_t n;
  int rc;

  if ((rc = get_be(r, 2, &n)) != 0)
    return rc;
  if (n > PROTO_PKG_CERT_MAX)
    return BT_EPROTO;
  out->len = (size_t)n;
  return take(r, out->len, &out->p);
}

static int parse_fixed(rd *r, proto_pkg *h)
{
  const uint8_t *p;
  uint64_t v;
  int rc;

  if ((rc = take(r, 12, &p)) != 0)
    return left(r) > 0 && memcmp(r->p, PROTO_PKG_MAGIC, left(r) < 8 ? left(r) : 8) != 0
               ? BT_EPROTO : rc;
  if (memcmp(p, PROTO_PKG_MAGIC, PROTO_PKG_MAGIC_LEN) != 0)
    return BT_EPROTO;
  if (p[8] != PROTO_PKG_VERSION)
    return BT_EVERSION;
  if (p[9] < PROTO_PKG_ORG || p[9] > PROTO_PKG_RECEIPT || p[10] != 0 || p[11] != 0)
    return BT_EPROTO;
  h->kind = p[9];
  if ((rc = take(r, 32, &h->signer)) != 0 || (rc = parse_cert(r, &h->device_cert)) != 0 ||
      (rc = parse_cert(r, &h->org_cert)) != 0)
    return rc;
  if (h->kind == PROTO_PKG_ORG) {
    if ((rc = take(r, 32, &h->to_org)) != 0 || (rc = take(r, 32, &h->to_box)) != 0 ||
        (rc = take(r, PROTO_PKG_SEALED_LEN, &h->sealed)) != 0)
      return rc;
  } else if (h->kind == PROTO_PKG_PASS) {
    if ((rc = take(r, PROTO_PKG_SALT_LEN, &h->salt)) != 0 || (rc = get_be(r, 4, &v)) != 0)
      return rc;
    h->opslimit = (uint32_t)v;
    if ((rc = get_be(r, 8, &h->memlimit)) != 0)
      return rc;
  }
  if (h->kind != PROTO_PKG_RECEIPT)
    return take(r, PROTO_PKG_NONCE_LEN, &h->nonce);
  return BT_OK;
}

int proto_pkg_parse(const uint8_t *p, size_t len, proto_pkg *out)
{
  rd r = {p, p + len};
  proto_pkg h;
  uint64_t blen;
  int rc;

  if (len > PROTO_PKG_MAX)
    return BT_ETOOBIG;
  memset(&h, 0, sizeof(h));
  if ((rc = parse_fixed(&r, &h)) != 0 || (rc = get_be(&r, 8, &blen)) != 0)
    return rc;
  h.ad_len = (size_t)(r.p - p);
  if (left(&r) < PROTO_PKG_SIG_LEN || blen > left(&r) - PROTO_PKG_SIG_LEN)
    return BT_ETRUNC;
  if (blen < left(&r) - PROTO_PKG_SIG_LEN)
    return BT_ETRAILING;
  if (h.kind != PROTO_PKG_RECEIPT && blen < PROTO_PKG_TAG_LEN)
    return BT_ETRUNC;
  h.body = (bt_bytes){r.p, (size_t)blen};
  r.p += blen;
  h.signed_len = (size_t)(r.p - p);
  h.sig = r.p;
  if (h.kind != PROTO_PKG_RECEIPT && (h.device_cert.len == 0 || h.org_cert.len == 0))
    return BT_EMISSING; /* a package always names who sent it */
  *out = h;
  return BT_OK;
}

size_t proto_pkg_head_len(const proto_pkg *h)
{
  size_t n = 12 + 32 + 2 + h->device_cert.len + 2 + h->org_cert.len + 8;

  if (h->kind == PROTO_PKG_ORG)
    n += 64 + PROTO_PKG_SEALED_LEN;
  else if (h->kind == PROTO_PKG_PASS)
    n += PROTO_PKG_SALT_LEN + 4 + 8;
  if (h->kind != PROTO_PKG_RECEIPT)
    n += PROTO_PKG_NONCE_LEN;
  return n;
}

void proto_pkg_head_write(const proto_pkg *h, uint64_t body_len, uint8_t *o)
{
  assert(h->device_cert.len <= PROTO_PKG_CERT_MAX && h->org_cert.len <= PROTO_PKG_CERT_MAX);
  o = put(o, PROTO_PKG_MAGIC, PROTO_PKG_MAGIC_LEN);
  *o++ = PROTO_PKG_VERSION;
  *o++ = (uint8_t)h->kind;
  *o++ = 0;
  *o++ = 0;
  o = put(o, h->signer, 32);
  o = put_be(o, h->device_cert.len, 2);
  o = put(o, h->device_cert.p, h->device_cert.len);
  o = put_be(o, h->org_cert.len, 2);
  o = put(o, h->org_cert.p, h->org_cert.len);
  if (h->kind == PROTO_PKG_ORG) {
    o = put(o, h->to_org, 32);
    o = put(o, h->to_box, 32);
    o = put(o, h->sealed, PROTO_PKG_SEALED_LEN);
  } else if (h->kind == PROTO_PKG_PASS) {
    o = put(o, h->salt, PROTO_PKG_SALT_LEN);
    o = put_be(o, h->opslimit, 4);
    o = put_be(o, h->memlimit, 8);
  }
  if (h->kind != PROTO_PKG_RECEIPT)
    o = put(o, h->nonce, PROTO_PKG_NONCE_LEN);
  put_be(o, body_len, 8);
}

/* ---- payload ---- */

size_t proto_pkg_payload_len(const bt_bytes *ops, size_t nops, size_t nkeys)
{
  size_t n = 1 + CRDT_FILE_LEN + 4 + nkeys * PROTO_PKG_KEY_ITEM_LEN + 4;

  for (size_t i = 0; i < nops; i++)
    n += 4 + ops[i].len;
  return n;
}

void proto_pkg_payload_write(const uint8_t file[CRDT_FILE_LEN], const proto_pkg_key *keys,
                             size_t nkeys, const bt_bytes *ops, size_t nops, uint8_t *o)
{
  *o++ = PROTO_PKG_VERSION;
  o = put(o, file, CRDT_FILE_LEN);
  o = put_be(o, nkeys, 4);
  for (size_t i = 0; i < nkeys; i++) {
    *o++ = keys[i].kind;
    o = put(o, keys[i].epoch, CRDT_EPOCH_LEN);
    o = put(o, keys[i].key, CRDT_KEY_LEN);
  }
  o = put_be(o, nops, 4);
  for (size_t i = 0; i < nops; i++) {
    o = put_be(o, ops[i].len, 4);
    o = put(o, ops[i].p, ops[i].len);
  }
}

static int parse_keys(rd *r, proto_pkg_payload *pl)
{
  uint64_t n;
  int rc;

  if ((rc = get_be(r, 4, &n)) != 0)
    return rc;
  if (n > PROTO_PKG_KEYS_MAX)
    return BT_ETOOBIG;
  if (n * PROTO_PKG_KEY_ITEM_LEN > left(r))
    return BT_ETRUNC;
  pl->nkeys = (size_t)n;
  pl->keys = r->p;
  for (size_t i = 0; i < pl->nkeys; i++) {
    uint8_t k = r->p[i * PROTO_PKG_KEY_ITEM_LEN];
    if (k != PROTO_PKG_KEY_SECRET && k != PROTO_PKG_KEY_HEADER)
      return BT_EPROTO;
  }
  r->p += pl->nkeys * PROTO_PKG_KEY_ITEM_LEN;
  return BT_OK;
}

static int parse_ops(rd *r, proto_pkg_payload *pl)
{
  uint64_t n, l;
  int rc;

  if ((rc = get_be(r, 4, &n)) != 0)
    return rc;
  if (n > left(r) / (4 + PROTO_PKG_ENV_MIN))
    return BT_ETRUNC; /* before allocating: each op takes at least that much */
  if ((pl->ops = calloc(n ? (size_t)n : 1, sizeof(*pl->ops))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if ((rc = get_be(r, 4, &l)) != 0)
      return rc;
    if (l < PROTO_PKG_ENV_MIN)
      return BT_EPROTO;
    if ((rc = take(r, (size_t)l, &pl->ops[i].p)) != 0)
      return rc;
    pl->ops[i].len = (size_t)l;
  }
  pl->nops = (size_t)n;
  return BT_OK;
}

int proto_pkg_payload_parse(const uint8_t *p, size_t len, proto_pkg_payload *out)
{
  rd r = {p, p + len};
  proto_pkg_payload pl;
  const uint8_t *f;
  uint64_t v;
  int rc;

  memset(&pl, 0, sizeof(pl));
  if ((rc = get_be(&r, 1, &v)) != 0)
    return rc;
  if (v != PROTO_PKG_VERSION)
    return BT_EVERSION;
  if ((rc = take(&r, CRDT_FILE_LEN, &f)) != 0)
    return rc;
  memcpy(pl.file, f, CRDT_FILE_LEN);
  if ((rc = parse_keys(&r, &pl)) == 0 && (rc = parse_ops(&r, &pl)) == 0 && left(&r) != 0)
    rc = BT_ETRAILING;
  if (rc != 0) {
    proto_pkg_payload_clear(&pl);
    return rc;
  }
  *out = pl;
  return BT_OK;
}

void proto_pkg_payload_clear(proto_pkg_payload *pl)
{
  free(pl->ops);
  memset(pl, 0, sizeof(*pl));
}

void proto_pkg_key_at(const proto_pkg_payload *pl, size_t i, proto_pkg_key *k)
{
  const uint8_t *p = pl->keys + i * PROTO_PKG_KEY_ITEM_LEN;

  assert(i < pl->nkeys);
  k->kind = p[0];
  memcpy(k->epoch, p + 1, CRDT_EPOCH_LEN);
  memcpy(k->key, p + 1 + CRDT_EPOCH_LEN, CRDT_KEY_LEN);
}

/* ---- receipt ---- */

size_t proto_pkg_receipt_len(const proto_pkg_receipt *r)
{
  return PROTO_PKG_RECEIPT_FIXED + r->user.len;
}

void proto_pkg_receipt_write(const proto_pkg_receipt *r, uint8_t *o)
{
  assert(r->user.len <= PROTO_PKG_USER_MAX);
  *o++ = PROTO_PKG_VERSION;
  o = put(o, r->package, 32);
  o = put(o, r->file, CRDT_FILE_LEN);
  o = put_be(o, r->nops, 8);
  o = put_be(o, r->received_at, 8);
  o = put(o, r->device, CRDT_PK_LEN);
  *o++ = (uint8_t)r->user.len;
  put(o, r->user.p, r->user.len);
}

static int user_ok(const uint8_t *p, size_t n)
{
  if (n == 0 || n > PROTO_PKG_USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
          p[i] == '_' || p[i] == '-'))
      return 0;
  return 1;
}

int proto_pkg_receipt_parse(const uint8_t *p, size_t len, proto_pkg_receipt *out)
{
  rd r = {p, p + len};
  proto_pkg_receipt x;
  const uint8_t *q;
  uint64_t v;
  int rc;

  if ((rc = get_be(&r, 1, &v)) != 0)
    return rc;
  if (v != PROTO_PKG_VERSION)
    return BT_EVERSION;
  if ((rc = take(&r, 32 + CRDT_FILE_LEN, &q)) != 0)
    return rc;
  memcpy(x.package, q, 32);
  memcpy(x.file, q + 32, CRDT_FILE_LEN);
  if ((rc = get_be(&r, 8, &x.nops)) != 0 || (rc = get_be(&r, 8, &x.received_at)) != 0 ||
      (rc = take(&r, CRDT_PK_LEN, &q)) != 0)
    return rc;
  memcpy(x.device, q, CRDT_PK_LEN);
  if ((rc = get_be(&r, 1, &v)) != 0 || (rc = take(&r, (size_t)v, &q)) != 0)
    return rc;
  if (left(&r) != 0)
    return BT_ETRAILING;
  if (!user_ok(q, (size_t)v))
    return BT_EINVAL;
  x.user = (bt_str){(const char *)q, (size_t)v};
  *out = x;
  return BT_OK;
}
