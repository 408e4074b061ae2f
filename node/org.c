/* node/org.c: org keys, certificates, LA root and trust settings, kept in
 * the keyring database (docs/store.md). */
#include "node/org.h"

#include <stdlib.h>
#include <sodium.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "node/store_int.h"

#define K_SIGN "org/sign"
#define K_BOX "org/box"
#define K_ORGCERT "org/cert"
#define K_DEVCERT "dev/cert"
#define K_ROOT "root/sk"
#define K_ROOTPK "root/pk"
#define P_ANCHOR "anchor/"
#define P_REVOKED "revoked/"
#define MS_PER_DAY UINT64_C(86400000)

static int reload(node_store *s, int rc);
static int org_made(node_store *s, MDB_txn *t, int rc, int adopted);

static int kr_get(node_store *s, MDB_txn *t, const char *key, MDB_val *v)
{
  MDB_val k = {strlen(key), (void *)key};
  int rc = mdb_get(t, s->db[DB_KEYRING], &k, v);

  return rc == MDB_NOTFOUND ? BT_ENOTFOUND : node__err(rc);
}

static int kr_put(node_store *s, MDB_txn *t, const char *key, const void *p, size_t n)
{
  MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)p};

  return node__err(mdb_put(t, s->db[DB_KEYRING], &k, &v, 0));
}

/* A secret wrapped under the data key, the record's name as its label. */
static int kr_put_secret(node_store *s, MDB_txn *t, const char *key, const uint8_t *p, size_t n)
{
  uint8_t w[64 + NODE_WRAP_OVERHEAD];

  node_wrap(s->dek, key, strlen(key), p, n, w);
  return kr_put(s, t, key, w, n + NODE_WRAP_OVERHEAD);
}

static int kr_get_secret_txn(node_store *s, MDB_txn *t, const char *key, node_secret **out)
{
  MDB_val v;
  int rc;

  if ((rc = kr_get(s, t, key, &v)) != 0)
    return rc;
  return node__unwrap_stored(s, key, strlen(key), &v, out);
}

static int kr_get_secret(node_store *s, const char *key, node_secret **out)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = kr_get_secret_txn(s, t, key, out);
  mdb_txn_abort(t);
  return rc;
}

static int dup_bytes(const void *p, size_t n, uint8_t **out)
{
  if ((*out = malloc(n ? n : 1)) == NULL)
    return BT_ENOMEM;
  memcpy(*out, p, n);
  return BT_OK;
}

static int device_cert(const uint8_t *sign_sk, const uint8_t *device, const char *name,
                       uint64_t now, uint8_t **cert, size_t *len)
{
  crdt_cert_body b = {.kind = CRDT_CERT_DEVICE, .name = bt_strz(name), .not_before = now,
                      .not_after = now + NODE_CERT_DAYS_DEFAULT * MS_PER_DAY};

  memcpy(b.subject.b, device, CRDT_PK_LEN);
  crypto_sign_ed25519_sk_to_pk(b.issuer.b, sign_sk);
  return crdt_cert_sign(&b, sign_sk, cert, len);
}

/* Stores this node's org keys and certificates inside t; BT_EDUP if it
 * has an org already. */
static int org_store(node_store *s, MDB_txn *t, const uint8_t *sign_sk, const uint8_t *box_sk,
                     const uint8_t *org_cert, size_t org_len, const uint8_t *dev_cert,
                     size_t dev_len)
{
  MDB_val v;
  int rc = kr_get(s, t, K_SIGN, &v);

  if (rc == 0)
    return BT_EDUP;
  if (rc != BT_ENOTFOUND)
    return rc;
  if ((rc = kr_put_secret(s, t, K_SIGN, sign_sk, CRDT_SK_LEN)) != 0 ||
      (rc = kr_put_secret(s, t, K_BOX, box_sk, 32)) != 0 ||
      (rc = kr_put(s, t, K_ORGCERT, org_cert, org_len)) != 0)
    return rc;
  return kr_put(s, t, K_DEVCERT, dev_cert, dev_len);
}

int node_org_create(node_store *s, const node_org_info *info)
{
  node_secret *sign = NULL, *box = NULL;
  uint8_t *ocert = NULL, *dcert = NULL;
  size_t olen = 0, dlen = 0;
  uint64_t now = node__now_ms(s);
  crdt_cert_body b = {.kind = CRDT_CERT_ORG, .org_kind = info->kind,
                      .name = bt_strz(info->name ? info->name : ""),
                      .urn = bt_strz(info->urn ? info->urn : ""),
                      .laestab = bt_strz(info->laestab ? info->laestab : ""),
                      .not_before = now,
                      .not_after = now + NODE_CERT_DAYS_DEFAULT * MS_PER_DAY};
  MDB_txn *t;
  int rc;

  if ((rc = node_secret_random(&sign, CRDT_SK_LEN)) != 0 ||
      (rc = node_secret_random(&box, 32)) != 0)
    goto out;
  crypto_sign_keypair(b.subject.b, (uint8_t *)node_secret_bytes(sign));
  crypto_box_keypair(b.box.b, (uint8_t *)node_secret_bytes(box));
  b.issuer = b.subject; /* provisional until the LA certifies it */
  if ((rc = crdt_cert_sign(&b, node_secret_bytes(sign), &ocert, &olen)) != 0 ||
      (rc = device_cert(node_secret_bytes(sign), s->device_pk, "node", now, &dcert, &dlen)) != 0)
    goto out;
  if ((rc = node__txn(s, 0, &t)) != 0)
    goto out;
  rc = org_store(s, t, node_secret_bytes(sign), node_secret_bytes(box), ocert, olen, dcert,
                 dlen);
  rc = org_made(s, t, rc, 0);
out:
  node_secret_free(sign);
  node_secret_free(box);
  free(ocert);
  free(dcert);
  return rc;
}

void node_org_clear(node_org *o)
{
  free(o->org_cert);
  free(o->device_cert);
  memset(o, 0, sizeof(*o));
}

int node_org_get(node_store *s, node_org *out)
{
  crdt_cert *c = NULL;
  MDB_txn *t;
  MDB_val oc, dc;
  int rc;

  memset(out, 0, sizeof(*out));
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = kr_get(s, t, K_ORGCERT, &oc)) == 0 && (rc = kr_get(s, t, K_DEVCERT, &dc)) == 0 &&
      (rc = dup_bytes(oc.mv_data, oc.mv_size, &out->org_cert)) == 0 &&
      (rc = dup_bytes(dc.mv_data, dc.mv_size, &out->device_cert)) == 0) {
    out->org_cert_len = oc.mv_size;
    out->device_cert_len = dc.mv_size;
  }
  mdb_txn_abort(t);
  if (rc == 0 && crdt_cert_decode(out->org_cert, out->org_cert_len, &c) != 0)
    rc = BT_ECORRUPT;
  if (rc == 0) {
    out->sign_pk = c->b.subject;
    out->box_pk = c->b.box;
    out->provisional = crdt_id_cmp(&c->b.issuer, &c->b.subject) == 0;
  }
  crdt_cert_free(c);
  if (rc != 0)
    node_org_clear(out);
  return rc;
}

int node_org_sign_sk(node_store *s, node_secret **out)
{
  return kr_get_secret(s, K_SIGN, out);
}

int node_org_box_sk(node_store *s, node_secret **out)
{
  return kr_get_secret(s, K_BOX, out);
}

int node__org_box_sk(node_store *s, MDB_txn *t, node_secret **out)
{
  return kr_get_secret_txn(s, t, K_BOX, out);
}

int node__org_load(node_store *s, MDB_txn *t)
{
  crdt_cert *c = NULL;
  MDB_val v;
  int rc = kr_get(s, t, K_ORGCERT, &v);

  s->has_org = 0;
  if (rc == BT_ENOTFOUND)
    return BT_OK;
  if (rc != 0)
    return rc;
  if (crdt_cert_decode(v.mv_data, v.mv_size, &c) != 0)
    return BT_ECORRUPT;
  s->org_pk = c->b.subject;
  s->box_pk = c->b.box;
  crdt_keybox_tag(s->box_pk.b, s->box_tag);
  s->has_org = 1;
  crdt_cert_free(c);
  return BT_OK;
}

/* After the org records change: reload what the store keeps in memory. */
static int reload(node_store *s, int rc)
{
  MDB_txn *t;

  if (rc != 0 || (rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__org_load(s, t);
  mdb_txn_abort(t);
  return rc;
}

/* Keyboxes for this org that were stored before the node had one (it
 * carried the files as a relay): ingest takes a keybox only once there is
 * an org to open it, so the new org takes them here, inside t, after
 * node__org_load(t) has set box_tag. Every stored op is looked at once:
 * an org is made once per node. Ops that do not decode are no keybox of
 * ours (node__keybox_take ignores those it cannot use, too). */
static int take_keyboxes(node_store *s, MDB_txn *t)
{
  MDB_cursor *c;
  MDB_val k, v;
  int mrc, rc = BT_OK;

  if (!s->has_org)
    return BT_OK;
  if ((mrc = mdb_cursor_open(t, s->db[DB_OPS], &c)) != 0)
    return node__err(mrc);
  for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && rc == BT_OK;
       mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    crdt_op *op;
    if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0)
      continue;
    if (memcmp(op->h.epoch, s->box_tag, CRDT_EPOCH_LEN) == 0)
      rc = node__keybox_take(s, t, op);
    crdt_op_free(op);
  }
  mdb_cursor_close(c);
  if (rc == BT_OK && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = node__err(mrc);
  return rc;
}

/* Ends the transaction that made this node's org: with the org loaded
 * inside it, keeps the keyboxes already stored for an adopted org (one
 * created here has box keys nobody has seen yet, so none can exist), then
 * reloads what was committed (whatever happened) and drops materialised
 * files that the keys may have opened. */
static int org_made(node_store *s, MDB_txn *t, int rc, int adopted)
{
  if (rc == BT_OK && (rc = node__org_load(s, t)) == BT_OK && adopted)
    rc = take_keyboxes(s, t);
  rc = node__txn_end(t, rc);
  node__cache_drop(s, NULL);
  int lrc = reload(s, BT_OK);
  return rc != BT_OK ? rc : lrc;
}

int node_org_install(node_store *s, const uint8_t *cert, size_t len, uint64_t now_ms)
{
  node_org o;
  crdt_cert *c = NULL;
  MDB_txn *t;
  int rc;

  if ((rc = node_org_get(s, &o)) != 0)
    return rc;
  if ((rc = crdt_cert_decode(cert, len, &c)) != 0)
    goto out;
  if (c->b.kind != CRDT_CERT_ORG || crdt_id_cmp(&c->b.subject, &o.sign_pk) != 0 ||
      crdt_id_cmp(&c->b.box, &o.box_pk) != 0) {
    rc = BT_EINVAL;
    goto out;
  }
  if ((rc = node_chain_check(s, o.device_cert, o.device_cert_len, cert, len, now_ms)) != 0)
    goto out;
  if ((rc = node__txn(s, 0, &t)) == 0)
    rc = node__txn_end(t, kr_put(s, t, K_ORGCERT, cert, len));
out:
  crdt_cert_free(c);
  node_org_clear(&o);
  return rc;
}

int node_org_certify_device(node_store *s, const uint8_t device_pk[CRDT_PK_LEN],
                            const char *name, uint64_t now_ms, uint8_t **cert, size_t *len)
{
  node_secret *sk;
  int rc;

  if ((rc = node_org_sign_sk(s, &sk)) != 0)
    return rc;
  rc = device_cert(node_secret_bytes(sk), device_pk, name, now_ms, cert, len);
  node_secret_free(sk);
  return rc;
}

int node_org_adopt(node_store *s, const uint8_t sign_sk[CRDT_SK_LEN], const uint8_t box_sk[32],
                   const uint8_t *org_cert, size_t org_len, const uint8_t *dev_cert,
                   size_t dev_len)
{
  crdt_cert *oc = NULL, *dc = NULL;
  uint8_t pk[CRDT_PK_LEN], bpk[32];
  MDB_txn *t;
  int rc;

  if ((rc = crdt_cert_decode(org_cert, org_len, &oc)) != 0 ||
      (rc = crdt_cert_decode(dev_cert, dev_len, &dc)) != 0)
    goto out;
  crypto_sign_ed25519_sk_to_pk(pk, sign_sk);
  crypto_scalarmult_base(bpk, box_sk);
  if (oc->b.kind != CRDT_CERT_ORG || dc->b.kind != CRDT_CERT_DEVICE ||
      memcmp(oc->b.subject.b, pk, CRDT_PK_LEN) != 0 || memcmp(oc->b.box.b, bpk, 32) != 0 ||
      memcmp(dc->b.issuer.b, pk, CRDT_PK_LEN) != 0 ||
      memcmp(dc->b.subject.b, s->device_pk, CRDT_PK_LEN) != 0) {
    rc = BT_EINVAL;
    goto out;
  }
  if ((rc = node__txn(s, 0, &t)) != 0)
    goto out;
  rc = org_store(s, t, sign_sk, box_sk, org_cert, org_len, dev_cert, dev_len);
  rc = org_made(s, t, rc, 1);
out:
  crdt_cert_free(oc);
  crdt_cert_free(dc);
  sodium_memzero(bpk, sizeof(bpk));
  return rc;
}

/* ---- LA root ------------------------------------------------------------ */

static int prefixed(const char *prefix, const crdt_id *id, char out[64])
{
  size_t n = strlen(prefix);

  memcpy(out, prefix, n);
  memcpy(out + n, id->b, CRDT_ID_LEN);
  return (int)(n + CRDT_ID_LEN);
}

static int kr_put_marker_txn(node_store *s, MDB_txn *t, const char *prefix, const crdt_id *id)
{
  char k[64];
  MDB_val key = {(size_t)prefixed(prefix, id, k), k}, v = {0, ""};

  return node__err(mdb_put(t, s->db[DB_KEYRING], &key, &v, 0));
}

static int kr_put_marker(node_store *s, const char *prefix, const crdt_id *id)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  return node__txn_end(t, kr_put_marker_txn(s, t, prefix, id));
}

static int kr_list(node_store *s, const char *prefix, crdt_id *out, size_t max, size_t *n)
{
  size_t pl = strlen(prefix);
  MDB_val k = {pl, (void *)prefix}, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  *n = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_KEYRING], &c)) == 0) {
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size < pl || memcmp(k.mv_data, prefix, pl) != 0)
        break;
      if (k.mv_size != pl + CRDT_ID_LEN)
        continue; /* not a marker of this shape */
      if (*n < max)
        memcpy(out[*n].b, (const uint8_t *)k.mv_data + pl, CRDT_ID_LEN);
      (*n)++;
    }
    mdb_cursor_close(c);
    rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
  }
  mdb_txn_abort(t);
  return node__err(rc);
}

int node_root_create(node_store *s, crdt_id *pk)
{
  node_secret *sk;
  crdt_id p;
  MDB_txn *t;
  MDB_val v;
  int rc;

  if ((rc = node_secret_random(&sk, CRDT_SK_LEN)) != 0)
    return rc;
  crypto_sign_keypair(p.b, (uint8_t *)node_secret_bytes(sk));
  if ((rc = node__txn(s, 0, &t)) == 0) {
    rc = kr_get(s, t, K_ROOT, &v);
    if (rc == 0)
      rc = BT_EDUP;
    else if (rc == BT_ENOTFOUND &&
             (rc = kr_put_secret(s, t, K_ROOT, node_secret_bytes(sk), CRDT_SK_LEN)) == 0 &&
             (rc = kr_put(s, t, K_ROOTPK, p.b, CRDT_PK_LEN)) == 0)
      rc = kr_put_marker_txn(s, t, P_ANCHOR, &p); /* its own anchor, in the same transaction */
    rc = node__txn_end(t, rc);
  }
  node_secret_free(sk);
  if (rc == 0 && pk)
    *pk = p;
  return rc;
}

int node_root_pk(node_store *s, crdt_id *pk)
{
  MDB_txn *t;
  MDB_val v;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = kr_get(s, t, K_ROOTPK, &v)) == 0) {
    if (v.mv_size == CRDT_PK_LEN)
      memcpy(pk->b, v.mv_data, CRDT_PK_LEN);
    else
      rc = BT_ECORRUPT;
  }
  mdb_txn_abort(t);
  return rc;
}

int node_root_sk(node_store *s, node_secret **out)
{
  return kr_get_secret(s, K_ROOT, out);
}

int node_root_certify(node_store *s, const uint8_t *req, size_t req_len, uint64_t now_ms,
                      uint32_t days, uint8_t **cert, size_t *len)
{
  crdt_cert *r = NULL;
  crdt_cert_body b;
  node_secret *sk = NULL;
  int rc;

  if (days == 0 || days > 3650)
    return BT_EINVAL;
  if ((rc = crdt_cert_decode(req, req_len, &r)) != 0)
    return rc;
  if (r->b.kind != CRDT_CERT_ORG || crdt_id_cmp(&r->b.issuer, &r->b.subject) != 0) {
    crdt_cert_free(r);
    return BT_EINVAL;
  }
  b = r->b;
  b.not_before = now_ms;
  b.not_after = now_ms + days * MS_PER_DAY;
  if ((rc = node_root_sk(s, &sk)) == 0) {
    crypto_sign_ed25519_sk_to_pk(b.issuer.b, node_secret_bytes(sk));
    rc = crdt_cert_sign(&b, node_secret_bytes(sk), cert, len);
  }
  node_secret_free(sk);
  crdt_cert_free(r);
  return rc;
}

/* ---- trust -------------------------------------------------------------- */

/* Whether keyring holds prefix+id (a marker): 1, 0, or a negative bt_err. */
static int kr_has(node_store *s, MDB_txn *t, const char *prefix, const crdt_id *id)
{
  char k[64];
  MDB_val key = {(size_t)prefixed(prefix, id, k), k}, v;
  int rc = mdb_get(t, s->db[DB_KEYRING], &key, &v);

  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : node__err(rc);
}

/* The anchors and revocations that bear on a chain, found by direct
 * lookup (no limit on how many a node trusts): the issuer if it is an
 * anchor; each id or key of the chain that is revoked, the issuer's
 * included. */
typedef struct {
  crdt_id anchor, revoked[5];
  size_t nanchor, nrevoked;
} trust;

static int trust_for(node_store *s, const crdt_cert *const *certs, size_t n,
                     const crdt_id *issuer, trust *out)
{
  MDB_txn *t;
  int rc;

  memset(out, 0, sizeof(*out));
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = kr_has(s, t, P_ANCHOR, issuer)) == 1) {
    out->anchor = *issuer;
    out->nanchor = 1;
  }
  const crdt_id *ask[5];
  size_t na = 0;
  for (size_t i = 0; i < n; i++) {
    ask[na++] = &certs[i]->id;
    ask[na++] = &certs[i]->b.subject;
  }
  ask[na++] = issuer;
  for (size_t i = 0; i < na && rc >= 0; i++)
    if ((rc = kr_has(s, t, P_REVOKED, ask[i])) == 1)
      out->revoked[out->nrevoked++] = *ask[i];
  mdb_txn_abort(t);
  return rc < 0 ? rc : BT_OK;
}

int node_anchor_add(node_store *s, const crdt_id *pk)
{
  return kr_put_marker(s, P_ANCHOR, pk);
}

int node_anchors(node_store *s, crdt_id *out, size_t max, size_t *n)
{
  return kr_list(s, P_ANCHOR, out, max, n);
}

int node_revoked_add(node_store *s, const crdt_id *id)
{
  return kr_put_marker(s, P_REVOKED, id);
}

int node_revoked(node_store *s, crdt_id *out, size_t max, size_t *n)
{
  return kr_list(s, P_REVOKED, out, max, n);
}

int node_chain_check(node_store *s, const uint8_t *device_cert, size_t dlen,
                     const uint8_t *org_cert, size_t olen, uint64_t now_ms)
{
  crdt_cert *dev = NULL, *org = NULL;
  trust tr;
  int rc;

  if ((rc = crdt_cert_decode(device_cert, dlen, &dev)) != 0 ||
      (rc = crdt_cert_decode(org_cert, olen, &org)) != 0)
    goto out;
  const crdt_cert *chain[2] = {dev, org};
  if ((rc = trust_for(s, chain, 2, &org->b.issuer, &tr)) != 0)
    goto out;
  rc = crdt_chain_check(dev, org, &tr.anchor, tr.nanchor, now_ms, tr.revoked, tr.nrevoked);
  if (rc == BT_OK && tr.nrevoked)
    rc = BT_EREVOKED; /* the root itself revoked */
out:
  crdt_cert_free(dev);
  crdt_cert_free(org);
  return rc;
}

int node_org_cert_check(node_store *s, const uint8_t *cert, size_t len, uint64_t now_ms,
                        crdt_cert **out)
{
  crdt_cert *c = NULL;
  trust tr;
  int rc;

  if ((rc = crdt_cert_decode(cert, len, &c)) != 0)
    return rc;
  const crdt_cert *chain[1] = {c};
  if ((rc = trust_for(s, chain, 1, &c->b.issuer, &tr)) != 0)
    goto out;
  if (c->b.kind != CRDT_CERT_ORG)
    rc = BT_ECHAIN;
  else if (crdt_id_cmp(&c->b.issuer, &c->b.subject) == 0)
    rc = BT_ESELFSIGNED;
  else if (tr.nanchor == 0)
    rc = BT_EANCHOR;
  else if (tr.nrevoked)
    rc = BT_EREVOKED;
  else if (now_ms < c->b.not_before || now_ms > c->b.not_after) /* as crdt_chain_check */
    rc = BT_EEXPIRED;
out:
  if (rc == BT_OK && out)
    *out = c;
  else
    crdt_cert_free(c);
  return rc;
}
