/* crdt/op.c: sealing and opening op envelopes.
 *
 * Opening runs cheapest-first: size cap, strict decode, then signature (so
 * junk from a relay or a non-reader is refused without the file key), then
 * decryption. Decoding unpacks straight from the caller's bytes and copies
 * them into the op only once they are known to be well formed; the op, its
 * parent ids and its bytes live in one allocation. */
#include "op.h"

#include <assert.h>
#include <stdlib.h>
#include <sodium.h>

#include "err.h"
#include "mp.h"

typedef struct {
  crdt_op op;
  size_t cap_parents;
  /* then: crdt_id parents[cap_parents]; uint8_t env[env_len] */
} op_box;

static crdt_id *box_parents(op_box *b)
{
  return (crdt_id *)(b + 1);
}

int crdt_header_check(const crdt_header *h)
{
  if (h->version != CRDT_OP_VERSION)
    return BT_EVERSION;
  if (h->seq == 0)
    return BT_ESEQ;
  if (h->nparents > CRDT_PARENTS_MAX)
    return BT_EPARENTS;
  for (size_t i = 1; i < h->nparents; i++)
    if (crdt_id_cmp(&h->parents[i - 1], &h->parents[i]) >= 0)
      return BT_EPARENTS;
  return BT_OK;
}

static int pack_header(msgpack_packer *pk, const crdt_header *h)
{
  int rc;

  if (msgpack_pack_array(pk, 7) != 0 || msgpack_pack_uint32(pk, h->version) != 0)
    return BT_ENOMEM;
  if ((rc = crdt_mp_pack_bin(pk, h->file, CRDT_FILE_LEN)) != 0 ||
      (rc = crdt_mp_pack_bin(pk, h->author, CRDT_PK_LEN)) != 0)
    return rc;
  if (msgpack_pack_uint64(pk, h->seq) != 0 || msgpack_pack_array(pk, h->nparents) != 0)
    return BT_ENOMEM;
  for (size_t i = 0; i < h->nparents; i++)
    if ((rc = crdt_mp_pack_bin(pk, h->parents[i].b, CRDT_ID_LEN)) != 0)
      return rc;
  if ((rc = crdt_mp_pack_bin(pk, h->epoch, CRDT_EPOCH_LEN)) != 0)
    return rc;
  return msgpack_pack_uint32(pk, h->hour) != 0 ? BT_ENOMEM : BT_OK;
}

/* Allocates the op for nparents parents and len envelope bytes, copies the
 * header fields and bytes, and points the slices at the copy using the
 * offsets the caller found in p. */
static int box_new(const crdt_header *h, const uint8_t *p, size_t len,
                   size_t hdr_len, size_t ct_off, size_t ct_len, crdt_op **out)
{
  op_box *b;
  uint8_t *env;
  size_t np = h->nparents;

  if ((b = malloc(sizeof(*b) + np * sizeof(crdt_id) + len)) == NULL)
    return BT_ENOMEM;
  b->cap_parents = np;
  env = (uint8_t *)(box_parents(b) + np);
  memcpy(env, p, len);
  if (np)
    memcpy(box_parents(b), h->parents, np * sizeof(crdt_id));
  b->op.h = *h;
  b->op.h.parents = box_parents(b);
  b->op.env = env;
  b->op.env_len = len;
  b->op.hdr = env + 1;
  b->op.hdr_len = hdr_len;
  b->op.nonce = env + 1 + hdr_len + 2;
  b->op.ct = env + ct_off;
  b->op.ct_len = ct_len;
  b->op.sig = env + len - CRDT_SIG_LEN;
  crypto_generichash(b->op.id.b, CRDT_ID_LEN, env, len, NULL, 0);
  *out = &b->op;
  return BT_OK;
}

static int read_header(const msgpack_object *o, crdt_header *h, crdt_id *parents)
{
  const msgpack_object *f, *ps;
  size_t n, np;
  uint64_t v;
  int rc;

  if ((rc = crdt_mp_array(o, 7, 7, &f, &n)) != 0)
    return rc == BT_ETOOBIG ? BT_EPROTO : rc;
  if ((rc = crdt_mp_uint(&f[0], &v)) != 0)
    return rc;
  if (v != CRDT_OP_VERSION)
    return BT_EVERSION;
  h->version = (uint32_t)v;
  if ((rc = crdt_mp_bin(&f[1], CRDT_FILE_LEN, h->file)) != 0 ||
      (rc = crdt_mp_bin(&f[2], CRDT_PK_LEN, h->author)) != 0 ||
      (rc = crdt_mp_uint(&f[3], &h->seq)) != 0)
    return rc;
  if ((rc = crdt_mp_array(&f[4], 0, CRDT_PARENTS_MAX, &ps, &np)) != 0)
    return rc == BT_ETOOBIG ? BT_EPARENTS : rc;
  for (size_t i = 0; i < np; i++)
    if ((rc = crdt_mp_bin(&ps[i], CRDT_ID_LEN, parents[i].b)) != 0)
      return rc;
  h->parents = parents;
  h->nparents = np;
  if ((rc = crdt_mp_bin(&f[5], CRDT_EPOCH_LEN, h->epoch)) != 0 ||
      (rc = crdt_mp_uint(&f[6], &v)) != 0)
    return rc;
  if (v > UINT32_MAX)
    return BT_EINVAL;
  h->hour = (uint32_t)v;
  return crdt_header_check(h);
}

/* The canonical envelope for these parts, compared with what we were given. */
static int check_canonical(const crdt_header *h, const msgpack_object *e,
                           const uint8_t *p, size_t len)
{
  crdt_mp_cmp cmp = {p, len, 0, 0};
  msgpack_packer pk;
  int rc;

  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if (msgpack_pack_array(&pk, 4) != 0)
    rc = BT_ENOMEM;
  else if ((rc = pack_header(&pk, h)) == 0 &&
           (rc = crdt_mp_pack_bin(&pk, e[1].via.bin.ptr, e[1].via.bin.size)) == 0 &&
           (rc = crdt_mp_pack_bin(&pk, e[2].via.bin.ptr, e[2].via.bin.size)) == 0 &&
           (rc = crdt_mp_pack_bin(&pk, e[3].via.bin.ptr, e[3].via.bin.size)) == 0)
    rc = crdt_mp_cmp_equal(&cmp) ? BT_OK : BT_ENONCANON;
  return rc;
}

static int decode_parts(const uint8_t *p, size_t len, msgpack_zone *z,
                        crdt_header *h, crdt_id *parents, crdt_op **out)
{
  const msgpack_object *e;
  msgpack_object root;
  uint8_t nonce[CRDT_NONCE_LEN], sig[CRDT_SIG_LEN];
  size_t n, ct_off;
  int rc;

  if ((rc = crdt_mp_unpack(p, len, 4, z, &root)) != 0)
    return rc;
  if ((rc = crdt_mp_array(&root, 4, 4, &e, &n)) != 0)
    return rc == BT_ETOOBIG ? BT_EPROTO : rc;
  if ((rc = read_header(&e[0], h, parents)) != 0)
    return rc;
  if ((rc = crdt_mp_bin(&e[1], CRDT_NONCE_LEN, nonce)) != 0 ||
      (rc = crdt_mp_bin(&e[3], CRDT_SIG_LEN, sig)) != 0)
    return rc;
  if (e[2].type != MSGPACK_OBJECT_BIN)
    return BT_ETYPE;
  if (e[2].via.bin.size < CRDT_TAG_LEN)
    return BT_EINVAL;
  if ((rc = check_canonical(h, e, p, len)) != 0)
    return rc;
  /* Canonical, so the header runs from byte 1 to the nonce's bin8 header. */
  ct_off = (size_t)((const uint8_t *)e[2].via.bin.ptr - p);
  return box_new(h, p, len, (size_t)((const uint8_t *)e[1].via.bin.ptr - p) - 3,
                 ct_off, e[2].via.bin.size, out);
}

int crdt_op_decode(const uint8_t *p, size_t len, crdt_op **out)
{
  crdt_id parents[CRDT_PARENTS_MAX];
  crdt_header h;
  msgpack_zone z;
  int rc;

  if (len > CRDT_OP_MAX)
    return BT_ETOOBIG;
  if (!msgpack_zone_init(&z, 512))
    return BT_ENOMEM;
  rc = decode_parts(p, len, &z, &h, parents, out);
  msgpack_zone_destroy(&z);
  return rc;
}

int crdt_op_verify(const crdt_op *op)
{
  const uint8_t *msg = op->env + 1;
  size_t mlen = (size_t)(op->ct + op->ct_len - msg);

  return crypto_sign_verify_detached(op->sig, msg, mlen, op->h.author) == 0
           ? BT_OK : BT_ESIG;
}

int crdt_op_decrypt(const crdt_op *op, const uint8_t key[CRDT_KEY_LEN], crdt_body **out)
{
  size_t pt_len = op->ct_len - CRDT_TAG_LEN;
  crdt_body *b;
  uint8_t *pt;
  int rc;

  if ((pt = malloc(pt_len ? pt_len : 1)) == NULL)
    return BT_ENOMEM;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, op->ct, op->ct_len,
                                                 op->hdr, op->hdr_len, op->nonce, key) != 0) {
    free(pt);
    return BT_EDECRYPT;
  }
  if ((rc = crdt_body_decode(pt, pt_len, &b)) != 0)
    return rc;
  if (crdt_hlc_hour(b->hlc) != op->h.hour) {
    crdt_body_free(b);
    return BT_EINVAL;
  }
  *out = b;
  return BT_OK;
}

/* Appends a bin header for len bytes, then len bytes of space; returns the
 * space's offset in *off. */
static int reserve_bin(msgpack_sbuffer *sb, msgpack_packer *pk, size_t len, size_t *off)
{
  if (msgpack_pack_bin(pk, len) != 0)
    return BT_ENOMEM;
  if (sb->alloc - sb->size < len) {
    size_t cap = sb->size + len + 128;
    char *d = realloc(sb->data, cap);
    if (d == NULL)
      return BT_ENOMEM;
    sb->data = d;
    sb->alloc = cap;
  }
  *off = sb->size;
  sb->size += len;
  return BT_OK;
}

static int seal_into(msgpack_sbuffer *sb, msgpack_sbuffer *pt, const crdt_header *h,
                     const uint8_t key[CRDT_KEY_LEN], const uint8_t nonce[CRDT_NONCE_LEN],
                     const uint8_t sk[CRDT_SK_LEN], crdt_op **out)
{
  msgpack_packer pk;
  size_t hdr_len, ct_off, sig_off, ct_len = pt->size + CRDT_TAG_LEN;
  int rc;

  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  if (msgpack_pack_array(&pk, 4) != 0)
    return BT_ENOMEM;
  if ((rc = pack_header(&pk, h)) != 0)
    return rc;
  hdr_len = sb->size - 1;
  if ((rc = crdt_mp_pack_bin(&pk, nonce, CRDT_NONCE_LEN)) != 0 ||
      (rc = reserve_bin(sb, &pk, ct_len, &ct_off)) != 0)
    return rc;
  crypto_aead_xchacha20poly1305_ietf_encrypt((uint8_t *)sb->data + ct_off, NULL,
                                             (const uint8_t *)pt->data, pt->size,
                                             (const uint8_t *)sb->data + 1, hdr_len,
                                             NULL, nonce, key);
  if ((rc = reserve_bin(sb, &pk, CRDT_SIG_LEN, &sig_off)) != 0)
    return rc;
  crypto_sign_detached((uint8_t *)sb->data + sig_off, NULL, (const uint8_t *)sb->data + 1,
                       ct_off + ct_len - 1, sk);
  if (sb->size > CRDT_OP_MAX)
    return BT_ETOOBIG;
  return box_new(h, (const uint8_t *)sb->data, sb->size, hdr_len, ct_off, ct_len, out);
}

int crdt_op_seal(const crdt_header *h, const crdt_body *b, const uint8_t key[CRDT_KEY_LEN],
                 const uint8_t nonce[CRDT_NONCE_LEN], const uint8_t sk[CRDT_SK_LEN],
                 crdt_op **out)
{
  msgpack_sbuffer pt, sb;
  int rc;

  assert(memcmp(sk + 32, h->author, CRDT_PK_LEN) == 0); /* libsodium sk = seed || pk */
  if ((rc = crdt_header_check(h)) != 0)
    return rc;
  if (h->hour != crdt_hlc_hour(b->hlc))
    return BT_EINVAL;
  msgpack_sbuffer_init(&pt);
  msgpack_sbuffer_init(&sb);
  if ((rc = crdt_body_encode(b, &pt)) == 0)
    rc = seal_into(&sb, &pt, h, key, nonce, sk, out);
  crdt_mp_secure_destroy(&pt);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

int crdt_op_open(const uint8_t *p, size_t len, const uint8_t *file, const uint8_t *epoch,
                 const uint8_t key[CRDT_KEY_LEN], crdt_op **op, crdt_body **body)
{
  crdt_op *o;
  int rc;

  if ((rc = crdt_op_decode(p, len, &o)) != 0)
    return rc;
  if ((rc = crdt_op_verify(o)) != 0)
    goto fail;
  rc = BT_EFILE;
  if (file && memcmp(file, o->h.file, CRDT_FILE_LEN) != 0)
    goto fail;
  rc = BT_EEPOCH;
  if (epoch && memcmp(epoch, o->h.epoch, CRDT_EPOCH_LEN) != 0)
    goto fail;
  if ((rc = crdt_op_decrypt(o, key, body)) != 0)
    goto fail;
  *op = o;
  return BT_OK;
fail:
  crdt_op_free(o);
  return rc;
}

int crdt_op_dup(const crdt_op *op, crdt_op **out)
{
  return box_new(&op->h, op->env, op->env_len, op->hdr_len,
                 (size_t)(op->ct - op->env), op->ct_len, out);
}

void crdt_op_free(crdt_op *op)
{
  free(op); /* the op is the first member of its box */
}
