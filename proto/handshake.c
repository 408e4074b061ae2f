/* proto/handshake.c: the handshake state machine (docs/protocol.md
 * "Handshake", which is normative; the layouts are repeated next to their
 * decoders below).
 *
 * Design. Both sides keep one running transcript hash h, Noise style: it
 * absorbs the whole hello, the reply's plaintext head (re-encoded as its own
 * array) and each box as sent. A box is AEAD under a key derived from the
 * ephemeral DH and the transcript so far, with the transcript as associated
 * data; inside it, the sender's Ed25519 device key signs the same
 * transcript under a label naming its role. So a man in the middle who
 * swaps an ephemeral key either cannot open the box or holds a signature
 * over a transcript the other side never saw; a recorded reply or finish
 * does not open under a new session's keys; and a changed version or
 * capability list changes h, so the next box does not open.
 *
 * Peer bytes are decoded strictly: the msgpack walk first (crdt_mp_unpack),
 * then exact array lengths, types and sizes, then re-encoding to prove
 * canonical form (so the bytes hashed are the only encoding of what was
 * decoded). Secrets (the device key, the ephemeral key, the DH output and
 * the transport keys) live in sodium_malloc'd memory; the ephemeral key is
 * wiped as soon as the DH is done, the DH once the transport keys exist,
 * and temporaries on the stack on every path out. */
#include "handshake.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"

enum { S_I_START = 1, S_I_REPLY, S_R_HELLO, S_R_FINISH, S_DONE, S_FAILED };
enum { M_HELLO = 1, M_REPLY = 2, M_FINISH = 3 };

#define H_LEN 32
#define PROTOCOL_NAME "baton/sync/1"
#define L_KEY_R "baton/hs/r"
#define L_KEY_I "baton/hs/i"
#define L_SIG_R "baton/hs/sig/r"
#define L_SIG_I "baton/hs/sig/i"
#define L_T "baton/hs/t"
#define L_I2R "baton/i2r"
#define L_R2I "baton/r2i"
#define L_SIG_LEN 14 /* both signature labels */
_Static_assert(sizeof(L_SIG_R) - 1 == L_SIG_LEN && sizeof(L_SIG_I) - 1 == L_SIG_LEN,
               "signature labels");

/* id = [device_pk bin(32), sig bin(64), device_cert bin, org_cert bin] */
#define ID_MAX (1 + (2 + CRDT_PK_LEN) + (2 + CRDT_SIG_LEN) + 2 * (3 + CRDT_CERT_MAX))
#define BOX_MAX (ID_MAX + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define BOX_MIN (1 + crypto_aead_xchacha20poly1305_ietf_ABYTES)

typedef struct {
  size_t n;
  uint8_t len[PROTO_CAPS_MAX];
  char s[PROTO_CAPS_MAX][PROTO_CAP_LEN];
} caps_set;

typedef struct {
  uint8_t sign_sk[CRDT_SK_LEN];
  uint8_t eph_sk[PROTO_EPH_LEN];
  uint8_t dh[crypto_scalarmult_BYTES];
  uint8_t send[PROTO_KEY_LEN], recv[PROTO_KEY_LEN];
} secrets;

struct proto_hs {
  int initiator, state, err;
  secrets *sec;
  uint8_t sign_pk[CRDT_PK_LEN];
  uint8_t eph_pk[PROTO_EPH_LEN];
  uint8_t h[H_LEN]; /* the transcript so far */
  uint8_t h1[H_LEN]; /* kept for the reply's key */
  uint32_t version, common_version;
  caps_set caps, common;
  uint8_t *dev, *org;
  size_t dlen, olen;
  uint8_t peer_pk[CRDT_PK_LEN];
  uint8_t *peer_dev, *peer_org;
  size_t peer_dlen, peer_olen;
  proto_hs_verify_fn verify;
  void *verify_ctx;
};

/* A msgpack writer into a fixed buffer. */
typedef struct {
  uint8_t *p;
  size_t cap, len;
} wbuf;

static int wbuf_write(void *data, const char *buf, size_t len)
{
  wbuf *w = data;

  if (len > w->cap - w->len)
    return -1;
  memcpy(w->p + w->len, buf, len);
  w->len += len;
  return 0;
}

/* ---- primitives ---- */

/* h = H(h || p) */
static void absorb(uint8_t h[H_LEN], const uint8_t *p, size_t len)
{
  crypto_generichash_state st;

  crypto_generichash_init(&st, NULL, 0, H_LEN);
  crypto_generichash_update(&st, h, H_LEN);
  crypto_generichash_update(&st, p, len);
  crypto_generichash_final(&st, h, H_LEN);
}

/* KDF(ck, ikm, label) = BLAKE2b-256 keyed with ck over label || ikm */
static void kdf(uint8_t out[32], const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len,
                const char *label)
{
  crypto_generichash_state st;

  crypto_generichash_init(&st, ck, 32, 32);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
  crypto_generichash_update(&st, ikm, ikm_len);
  crypto_generichash_final(&st, out, 32);
  sodium_memzero(&st, sizeof st);
}

static int cap_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
  int c = memcmp(a, b, alen < blen ? alen : blen);

  if (c != 0)
    return c;
  return (alen > blen) - (alen < blen);
}

static void intersect(const caps_set *a, const caps_set *b, caps_set *out)
{
  size_t i = 0, j = 0;

  out->n = 0;
  while (i < a->n && j < b->n) {
    int c = cap_cmp(a->s[i], a->len[i], b->s[j], b->len[j]);

    if (c == 0) {
      memcpy(out->s[out->n], a->s[i], a->len[i]);
      out->len[out->n++] = a->len[i];
    }
    i += c <= 0;
    j += c >= 0;
  }
}

/* ---- encoding ---- */

static int pack_caps(msgpack_packer *pk, const caps_set *c)
{
  int rc;

  if (msgpack_pack_array(pk, c->n) != 0)
    return BT_ENOMEM;
  for (size_t i = 0; i < c->n; i++)
    if ((rc = crdt_mp_pack_str(pk, c->s[i], c->len[i])) != BT_OK)
      return rc;
  return BT_OK;
}

/* hello = [1, version, caps, e]; the reply's head = [2, version, caps, e];
 * reply = [2, version, caps, e, box] (box != NULL). */
static int pack_msg(msgpack_packer *pk, unsigned kind, uint32_t version, const caps_set *caps,
                    const uint8_t e[PROTO_EPH_LEN], const uint8_t *box, size_t blen)
{
  int rc;

  if (msgpack_pack_array(pk, box ? 5 : 4) != 0 || msgpack_pack_unsigned_int(pk, kind) != 0 ||
      msgpack_pack_uint32(pk, version) != 0)
    return BT_ENOMEM;
  if ((rc = pack_caps(pk, caps)) != BT_OK || (rc = crdt_mp_pack_bin(pk, e, PROTO_EPH_LEN)) != 0)
    return rc;
  return box ? crdt_mp_pack_bin(pk, box, blen) : BT_OK;
}

/* finish = [3, box] */
static int pack_finish(msgpack_packer *pk, const uint8_t *box, size_t blen)
{
  if (msgpack_pack_array(pk, 2) != 0 || msgpack_pack_unsigned_int(pk, M_FINISH) != 0)
    return BT_ENOMEM;
  return crdt_mp_pack_bin(pk, box, blen);
}

typedef struct {
  const uint8_t *pk, *sig, *dev, *org;
  size_t dlen, olen;
} id_fields;

static int pack_id(msgpack_packer *pk, const id_fields *id)
{
  int rc;

  if (msgpack_pack_array(pk, 4) != 0)
    return BT_ENOMEM;
  if ((rc = crdt_mp_pack_bin(pk, id->pk, CRDT_PK_LEN)) != BT_OK ||
      (rc = crdt_mp_pack_bin(pk, id->sig, CRDT_SIG_LEN)) != BT_OK ||
      (rc = crdt_mp_pack_bin(pk, id->dev, id->dlen)) != BT_OK)
    return rc;
  return crdt_mp_pack_bin(pk, id->org, id->olen);
}

/* h2 = H(h1 || head), head = [2, version, caps, e_r] as its own array. */
static int absorb_head(uint8_t h[H_LEN], uint32_t version, const caps_set *caps,
                       const uint8_t e[PROTO_EPH_LEN])
{
  crypto_generichash_state st;
  msgpack_packer pk;
  int rc;

  crypto_generichash_init(&st, NULL, 0, H_LEN);
  crypto_generichash_update(&st, h, H_LEN);
  msgpack_packer_init(&pk, &st, crdt_mp_hash_write);
  rc = pack_msg(&pk, M_REPLY, version, caps, e, NULL, 0);
  crypto_generichash_final(&st, h, H_LEN);
  return rc;
}

/* ---- strict decoding ---- */

/* Unpacks p as an array of exactly n items whose first is kind. */
static int unpack_msg(const uint8_t *p, size_t len, unsigned depth, uint64_t kind, uint32_t n,
                      msgpack_zone *z, const msgpack_object **items)
{
  msgpack_object o;
  uint64_t k;
  int rc;

  if ((rc = crdt_mp_unpack(p, len, depth, z, &o)) != BT_OK)
    return rc;
  if (o.type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (o.via.array.size != n)
    return BT_EPROTO;
  if (kind != 0) {
    if ((rc = crdt_mp_uint(&o.via.array.ptr[0], &k)) != BT_OK)
      return rc;
    if (k != kind)
      return BT_EPROTO;
  }
  *items = o.via.array.ptr;
  return BT_OK;
}

/* A bin of min..max bytes: BT_EPROTO below (or off an exact size),
 * BT_ETOOBIG above. Points into the message. */
static int get_bin(const msgpack_object *o, size_t min, size_t max, const uint8_t **p,
                   size_t *len)
{
  if (o->type != MSGPACK_OBJECT_BIN)
    return BT_ETYPE;
  if (o->via.bin.size < min || (min == max && o->via.bin.size != min))
    return BT_EPROTO;
  if (o->via.bin.size > max)
    return BT_ETOOBIG;
  *p = (const uint8_t *)o->via.bin.ptr;
  *len = o->via.bin.size;
  return BT_OK;
}

static int get_version(const msgpack_object *o, uint32_t *v)
{
  uint64_t x;
  int rc;

  if ((rc = crdt_mp_uint(o, &x)) != BT_OK)
    return rc;
  if (x == 0 || x > UINT32_MAX)
    return BT_EVERSION;
  *v = (uint32_t)x;
  return BT_OK;
}

/* caps: array of at most PROTO_CAPS_MAX str of 1..PROTO_CAP_LEN bytes,
 * strictly ascending (bytewise; a prefix sorts first). */
static int get_caps(const msgpack_object *o, caps_set *c)
{
  const msgpack_object *it;
  size_t n;
  int rc;

  if ((rc = crdt_mp_array(o, 0, PROTO_CAPS_MAX, &it, &n)) != BT_OK)
    return rc;
  for (size_t i = 0; i < n; i++) {
    bt_str s;

    if ((rc = crdt_mp_str(&it[i], PROTO_CAP_LEN, &s)) != BT_OK)
      return rc;
    if (s.len == 0)
      return BT_EPROTO;
    if (i > 0 && cap_cmp(c->s[i - 1], c->len[i - 1], s.p, s.len) >= 0)
      return BT_EPROTO;
    memcpy(c->s[i], s.p, s.len);
    c->len[i] = (uint8_t)s.len;
  }
  c->n = n;
  return BT_OK;
}

/* hello = [1, version uint, caps, e_i bin(32)] and
 * reply = [2, version uint, caps, e_r bin(32), box bin(17..BOX_MAX)] */
typedef struct {
  uint32_t version;
  caps_set caps;
  const uint8_t *e, *box;
  size_t blen;
} msg_fields;

static int decode_open(const uint8_t *p, size_t len, unsigned kind, msgpack_zone *z,
                       msg_fields *m)
{
  const msgpack_object *it;
  crdt_mp_cmp cmp = {p, len, 0, 0};
  msgpack_packer pk;
  size_t elen;
  int rc;

  if ((rc = unpack_msg(p, len, 2, kind, kind == M_HELLO ? 4 : 5, z, &it)) != BT_OK ||
      (rc = get_version(&it[1], &m->version)) != BT_OK ||
      (rc = get_caps(&it[2], &m->caps)) != BT_OK ||
      (rc = get_bin(&it[3], PROTO_EPH_LEN, PROTO_EPH_LEN, &m->e, &elen)) != BT_OK)
    return rc;
  m->box = NULL;
  m->blen = 0;
  if (kind == M_REPLY && (rc = get_bin(&it[4], BOX_MIN, BOX_MAX, &m->box, &m->blen)) != BT_OK)
    return rc;
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if ((rc = pack_msg(&pk, kind, m->version, &m->caps, m->e, m->box, m->blen)) != BT_OK)
    return rc;
  return crdt_mp_cmp_equal(&cmp) ? BT_OK : BT_ENONCANON;
}

/* finish = [3, box bin(17..BOX_MAX)] */
static int decode_finish(const uint8_t *p, size_t len, msgpack_zone *z, msg_fields *m)
{
  const msgpack_object *it;
  crdt_mp_cmp cmp = {p, len, 0, 0};
  msgpack_packer pk;
  int rc;

  if ((rc = unpack_msg(p, len, 1, M_FINISH, 2, z, &it)) != BT_OK ||
      (rc = get_bin(&it[1], BOX_MIN, BOX_MAX, &m->box, &m->blen)) != BT_OK)
    return rc;
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if ((rc = pack_finish(&pk, m->box, m->blen)) != BT_OK)
    return rc;
  return crdt_mp_cmp_equal(&cmp) ? BT_OK : BT_ENONCANON;
}

/* id = [device_pk bin(32), sig bin(64), device_cert bin(1..CRDT_CERT_MAX),
 *       org_cert bin(1..CRDT_CERT_MAX)] */
static int decode_id(const uint8_t *p, size_t len, id_fields *id)
{
  const msgpack_object *it;
  crdt_mp_cmp cmp = {p, len, 0, 0};
  msgpack_packer pk;
  msgpack_zone z;
  size_t n;
  int rc;

  if (!msgpack_zone_init(&z, 256))
    return BT_ENOMEM;
  if ((rc = unpack_msg(p, len, 1, 0, 4, &z, &it)) != BT_OK ||
      (rc = get_bin(&it[0], CRDT_PK_LEN, CRDT_PK_LEN, &id->pk, &n)) != BT_OK ||
      (rc = get_bin(&it[1], CRDT_SIG_LEN, CRDT_SIG_LEN, &id->sig, &n)) != BT_OK ||
      (rc = get_bin(&it[2], 1, CRDT_CERT_MAX, &id->dev, &id->dlen)) != BT_OK ||
      (rc = get_bin(&it[3], 1, CRDT_CERT_MAX, &id->org, &id->olen)) != BT_OK)
    goto out;
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if ((rc = pack_id(&pk, id)) == BT_OK && !crdt_mp_cmp_equal(&cmp))
    rc = BT_ENONCANON;
out:
  msgpack_zone_destroy(&z);
  return rc;
}

/* ---- boxes: one side's proven identity ---- */

static void sig_input(uint8_t m[L_SIG_LEN + H_LEN], const char *label, const uint8_t h[H_LEN])
{
  memcpy(m, label, L_SIG_LEN);
  memcpy(m + L_SIG_LEN, h, H_LEN);
}

/* box = AEAD(KDF(ck, dh, klabel), nonce 0, ad = h, id) where id carries
 * sig = Ed25519(sign_sk, slabel || h). */
static int seal_box(proto_hs *hs, const uint8_t ck[H_LEN], const char *klabel,
                    const char *slabel, const uint8_t h[H_LEN], uint8_t *box, size_t *blen)
{
  static const uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  uint8_t k[32], sig[CRDT_SIG_LEN], m[L_SIG_LEN + H_LEN], idb[ID_MAX];
  id_fields id = {hs->sign_pk, sig, hs->dev, hs->org, hs->dlen, hs->olen};
  wbuf w = {idb, sizeof idb, 0};
  msgpack_packer pk;
  unsigned long long clen;
  int rc;

  sig_input(m, slabel, h);
  crypto_sign_detached(sig, NULL, m, sizeof m, hs->sec->sign_sk);
  msgpack_packer_init(&pk, &w, wbuf_write);
  if ((rc = pack_id(&pk, &id)) != BT_OK)
    return rc;
  kdf(k, ck, hs->sec->dh, sizeof hs->sec->dh, klabel);
  crypto_aead_xchacha20poly1305_ietf_encrypt(box, &clen, idb, w.len, h, H_LEN, NULL, nonce, k);
  sodium_memzero(k, sizeof k);
  *blen = (size_t)clen;
  return BT_OK;
}

static int keep_peer(proto_hs *hs, const id_fields *id)
{
  if ((hs->peer_dev = malloc(id->dlen)) == NULL || (hs->peer_org = malloc(id->olen)) == NULL)
    return BT_ENOMEM;
  memcpy(hs->peer_pk, id->pk, CRDT_PK_LEN);
  memcpy(hs->peer_dev, id->dev, id->dlen);
  memcpy(hs->peer_org, id->org, id->olen);
  hs->peer_dlen = id->dlen;
  hs->peer_olen = id->olen;
  return BT_OK;
}

/* The device certificate must be a device certificate for the key that
 * signed: otherwise anyone could present someone else's chain. */
static int cert_binds(const id_fields *id)
{
  crdt_cert *c;
  int rc;

  if ((rc = crdt_cert_decode(id->dev, id->dlen, &c)) != BT_OK)
    return rc;
  if (c->b.kind != CRDT_CERT_DEVICE || memcmp(c->b.subject.b, id->pk, CRDT_PK_LEN) != 0)
    rc = BT_ECHAIN;
  crdt_cert_free(c);
  return rc;
}

/* Opens the peer's box and proves its identity, in this order: AEAD,
 * strict decoding, signature, certificate binding, the verify callback. */
static int open_box(proto_hs *hs, const uint8_t ck[H_LEN], const char *klabel,
                    const char *slabel, const uint8_t h[H_LEN], const uint8_t *box, size_t blen)
{
  static const uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  uint8_t k[32], m[L_SIG_LEN + H_LEN], idb[ID_MAX];
  unsigned long long n;
  id_fields id;
  int rc;

  kdf(k, ck, hs->sec->dh, sizeof hs->sec->dh, klabel);
  rc = crypto_aead_xchacha20poly1305_ietf_decrypt(idb, &n, NULL, box, blen, h, H_LEN, nonce, k);
  sodium_memzero(k, sizeof k);
  if (rc != 0)
    return BT_EDECRYPT;
  if ((rc = decode_id(idb, (size_t)n, &id)) != BT_OK)
    return rc;
  sig_input(m, slabel, h);
  if (crypto_sign_verify_detached(id.sig, m, sizeof m, id.pk) != 0)
    return BT_ESIG;
  if ((rc = cert_binds(&id)) != BT_OK)
    return rc;
  rc = hs->verify(hs->verify_ctx, id.pk, id.dev, id.dlen, id.org, id.olen);
  if (rc != BT_OK)
    return rc < 0 ? rc : BT_EAUTH;
  return keep_peer(hs, &id);
}

/* ---- states ---- */

static int dh(proto_hs *hs, const uint8_t peer_e[PROTO_EPH_LEN])
{
  int rc = crypto_scalarmult(hs->sec->dh, hs->sec->eph_sk, peer_e);

  sodium_memzero(hs->sec->eph_sk, sizeof hs->sec->eph_sk);
  return rc == 0 ? BT_OK : BT_EAUTH; /* all-zero output: a low-order point */
}

static void negotiate(proto_hs *hs, const msg_fields *m)
{
  hs->common_version = m->version < hs->version ? m->version : hs->version;
  intersect(&hs->caps, &m->caps, &hs->common);
}

/* t = KDF(h4, dh, "baton/hs/t"); i2r = KDF(t, "", "baton/i2r"), r2i alike. */
static void finish_keys(proto_hs *hs)
{
  uint8_t t[32];
  secrets *s = hs->sec;

  kdf(t, hs->h, s->dh, sizeof s->dh, L_T);
  kdf(hs->initiator ? s->send : s->recv, t, NULL, 0, L_I2R);
  kdf(hs->initiator ? s->recv : s->send, t, NULL, 0, L_R2I);
  sodium_memzero(t, sizeof t);
  sodium_memzero(s->dh, sizeof s->dh);
  sodium_memzero(s->sign_sk, sizeof s->sign_sk);
  hs->state = S_DONE;
}

/* Responder, hello in: h1 = H(h0 || hello); reply out. */
static int on_hello(proto_hs *hs, const uint8_t *p, size_t len, msgpack_zone *z, wbuf *out)
{
  uint8_t box[BOX_MAX];
  msg_fields m;
  msgpack_packer pk;
  size_t blen;
  int rc;

  if ((rc = decode_open(p, len, M_HELLO, z, &m)) != BT_OK || (rc = dh(hs, m.e)) != BT_OK)
    return rc;
  negotiate(hs, &m);
  absorb(hs->h, p, len);
  memcpy(hs->h1, hs->h, H_LEN);
  if ((rc = absorb_head(hs->h, hs->version, &hs->caps, hs->eph_pk)) != BT_OK ||
      (rc = seal_box(hs, hs->h1, L_KEY_R, L_SIG_R, hs->h, box, &blen)) != BT_OK)
    return rc;
  absorb(hs->h, box, blen);
  msgpack_packer_init(&pk, out, wbuf_write);
  if ((rc = pack_msg(&pk, M_REPLY, hs->version, &hs->caps, hs->eph_pk, box, blen)) != BT_OK)
    return rc;
  hs->state = S_R_FINISH;
  return BT_OK;
}

/* Initiator, reply in: h2 = H(h1 || head), h3 = H(h2 || box_r); finish
 * out, h4 = H(h3 || box_i); done. */
static int on_reply(proto_hs *hs, const uint8_t *p, size_t len, msgpack_zone *z, wbuf *out)
{
  uint8_t box[BOX_MAX];
  msg_fields m;
  msgpack_packer pk;
  size_t blen;
  int rc;

  if ((rc = decode_open(p, len, M_REPLY, z, &m)) != BT_OK || (rc = dh(hs, m.e)) != BT_OK)
    return rc;
  memcpy(hs->h1, hs->h, H_LEN);
  if ((rc = absorb_head(hs->h, m.version, &m.caps, m.e)) != BT_OK ||
      (rc = open_box(hs, hs->h1, L_KEY_R, L_SIG_R, hs->h, m.box, m.blen)) != BT_OK)
    return rc;
  negotiate(hs, &m);
  absorb(hs->h, m.box, m.blen);
  if ((rc = seal_box(hs, hs->h, L_KEY_I, L_SIG_I, hs->h, box, &blen)) != BT_OK)
    return rc;
  absorb(hs->h, box, blen);
  msgpack_packer_init(&pk, out, wbuf_write);
  if ((rc = pack_finish(&pk, box, blen)) != BT_OK)
    return rc;
  finish_keys(hs);
  return BT_OK;
}

/* Responder, finish in: h4 = H(h3 || box_i); done. */
static int on_finish(proto_hs *hs, const uint8_t *p, size_t len, msgpack_zone *z)
{
  msg_fields m;
  int rc;

  if ((rc = decode_finish(p, len, z, &m)) != BT_OK ||
      (rc = open_box(hs, hs->h, L_KEY_I, L_SIG_I, hs->h, m.box, m.blen)) != BT_OK)
    return rc;
  absorb(hs->h, m.box, m.blen);
  finish_keys(hs);
  return BT_OK;
}

/* ---- public ---- */

static void wipe(proto_hs *hs)
{
  if (hs->sec)
    sodium_memzero(hs->sec, sizeof *hs->sec);
}

static int fail(proto_hs *hs, int rc)
{
  wipe(hs);
  hs->state = S_FAILED;
  hs->err = rc;
  return rc;
}

static int caps_from(const bt_str *caps, size_t n, caps_set *c)
{
  if (n > PROTO_CAPS_MAX || (n > 0 && caps == NULL))
    return BT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (caps[i].len == 0 || caps[i].len > PROTO_CAP_LEN)
      return BT_EINVAL;
    if (i > 0 && cap_cmp(caps[i - 1].p, caps[i - 1].len, caps[i].p, caps[i].len) >= 0)
      return BT_EINVAL;
    memcpy(c->s[i], caps[i].p, caps[i].len);
    c->len[i] = (uint8_t)caps[i].len;
  }
  c->n = n;
  return BT_OK;
}

static int check_config(const proto_hs_config *cfg)
{
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN], seed[crypto_sign_SEEDBYTES];
  uint8_t epk[PROTO_EPH_LEN];
  int ok;

  if (cfg->sign_sk == NULL || cfg->eph_pk == NULL || cfg->eph_sk == NULL ||
      cfg->verify == NULL || cfg->version == 0 || cfg->dev_cert.p == NULL ||
      cfg->org_cert.p == NULL || cfg->dev_cert.len == 0 || cfg->org_cert.len == 0 ||
      cfg->dev_cert.len > CRDT_CERT_MAX || cfg->org_cert.len > CRDT_CERT_MAX)
    return BT_EINVAL;
  /* The secret key must be whole: its public half its seed's. */
  crypto_sign_ed25519_sk_to_seed(seed, cfg->sign_sk);
  crypto_sign_seed_keypair(pk, sk, seed);
  ok = sodium_memcmp(sk, cfg->sign_sk, CRDT_SK_LEN) == 0;
  ok = crypto_scalarmult_base(epk, cfg->eph_sk) == 0 && ok &&
       sodium_memcmp(epk, cfg->eph_pk, PROTO_EPH_LEN) == 0;
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(sk, sizeof sk);
  return ok ? BT_OK : BT_EINVAL;
}

static uint8_t *dup_bytes(bt_bytes b)
{
  uint8_t *p = malloc(b.len);

  if (p)
    memcpy(p, b.p, b.len);
  return p;
}

int proto_hs_new(proto_hs **out, const proto_hs_config *cfg)
{
  proto_hs *hs;
  int rc;

  if ((rc = check_config(cfg)) != BT_OK)
    return rc;
  if ((hs = calloc(1, sizeof(*hs))) == NULL)
    return BT_ENOMEM;
  if ((rc = caps_from(cfg->caps, cfg->ncaps, &hs->caps)) != BT_OK)
    goto fail;
  rc = BT_ENOMEM;
  if ((hs->sec = sodium_malloc(sizeof *hs->sec)) == NULL ||
      (hs->dev = dup_bytes(cfg->dev_cert)) == NULL ||
      (hs->org = dup_bytes(cfg->org_cert)) == NULL)
    goto fail;
  hs->dlen = cfg->dev_cert.len;
  hs->olen = cfg->org_cert.len;
  memcpy(hs->sec->sign_sk, cfg->sign_sk, CRDT_SK_LEN);
  crypto_sign_ed25519_sk_to_pk(hs->sign_pk, cfg->sign_sk);
  memcpy(hs->sec->eph_sk, cfg->eph_sk, PROTO_EPH_LEN);
  memcpy(hs->eph_pk, cfg->eph_pk, PROTO_EPH_LEN);
  hs->initiator = cfg->initiator != 0;
  hs->state = hs->initiator ? S_I_START : S_R_HELLO;
  hs->version = cfg->version;
  hs->verify = cfg->verify;
  hs->verify_ctx = cfg->verify_ctx;
  crypto_generichash(hs->h, H_LEN, (const uint8_t *)PROTOCOL_NAME, strlen(PROTOCOL_NAME),
                     NULL, 0);
  *out = hs;
  return BT_OK;
fail:
  proto_hs_free(hs);
  return rc;
}

void proto_hs_free(proto_hs *hs)
{
  if (hs == NULL)
    return;
  if (hs->sec)
    sodium_free(hs->sec); /* wipes */
  free(hs->dev);
  free(hs->org);
  free(hs->peer_dev);
  free(hs->peer_org);
  free(hs);
}

int proto_hs_start(proto_hs *hs, uint8_t *out, size_t cap, size_t *olen)
{
  wbuf w = {out, cap, 0};
  msgpack_packer pk;
  int rc;

  if (hs->state == S_FAILED)
    return hs->err;
  if (hs->state != S_I_START || cap < PROTO_HS_MAX)
    return BT_EINVAL;
  msgpack_packer_init(&pk, &w, wbuf_write);
  if ((rc = pack_msg(&pk, M_HELLO, hs->version, &hs->caps, hs->eph_pk, NULL, 0)) != BT_OK)
    return fail(hs, rc);
  absorb(hs->h, out, w.len); /* h1 */
  hs->state = S_I_REPLY;
  *olen = w.len;
  return BT_OK;
}

int proto_hs_recv(proto_hs *hs, const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                  size_t *olen)
{
  wbuf w = {out, cap, 0};
  msgpack_zone z;
  int rc;

  if (hs->state == S_FAILED)
    return hs->err;
  if (cap < PROTO_HS_MAX ||
      (hs->state != S_I_REPLY && hs->state != S_R_HELLO && hs->state != S_R_FINISH))
    return BT_EINVAL;
  if (len > PROTO_HS_MAX)
    return fail(hs, BT_ETOOBIG);
  if (!msgpack_zone_init(&z, 1024))
    return fail(hs, BT_ENOMEM);
  switch (hs->state) {
  case S_R_HELLO:
    rc = on_hello(hs, p, len, &z, &w);
    break;
  case S_I_REPLY:
    rc = on_reply(hs, p, len, &z, &w);
    break;
  default:
    rc = on_finish(hs, p, len, &z);
    break;
  }
  msgpack_zone_destroy(&z);
  if (rc != BT_OK)
    return fail(hs, rc);
  *olen = w.len;
  return BT_OK;
}

int proto_hs_done(const proto_hs *hs)
{
  return hs->state == S_DONE;
}

int proto_hs_get_result(const proto_hs *hs, proto_hs_result *r)
{
  if (hs->state != S_DONE)
    return BT_EINVAL;
  memcpy(r->peer_pk, hs->peer_pk, CRDT_PK_LEN);
  r->peer_dev_cert = (bt_bytes){hs->peer_dev, hs->peer_dlen};
  r->peer_org_cert = (bt_bytes){hs->peer_org, hs->peer_olen};
  r->version = hs->common_version;
  r->ncaps = hs->common.n;
  for (size_t i = 0; i < hs->common.n; i++)
    r->caps[i] = (bt_str){hs->common.s[i], hs->common.len[i]};
  r->send_key = hs->sec->send;
  r->recv_key = hs->sec->recv;
  return BT_OK;
}
