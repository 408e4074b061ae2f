/* node/package.c: exporting a case file as one package, and importing one
 * (docs/package.md). The layout is proto/package.h's; this file adds the
 * keys, the checks and the store.
 *
 * Order of checks on import, each before the next costs anything: size,
 * layout, the Ed25519 signature over the whole file (a flipped byte
 * anywhere is caught here, before any key is touched), the sender's
 * certificate chain against our anchors, the recipient (org mode) or the
 * Argon2id limits (passphrase mode), then decryption (AEAD: the header is
 * its associated data), the payload's layout, every envelope's signature
 * and file. Only then one write transaction, aborted unless every op is
 * stored or already held. Receipts (the signed document) are in
 * node/pkgrcpt.c. */
#define _POSIX_C_SOURCE 200809L
#include "node/package.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/access.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/pkg_int.h"
#include "store_int.h"

/* ---- recipient ---- */

/* The box key of an org that can read file: its holder, or a grantee with a
 * live grant. BT_ENOTFOUND otherwise. */
static int reader_box(node_store *s, const uint8_t *file, const crdt_id *org, crdt_id *box)
{
  const crdt_access *a;
  uint64_t now = node__now_ms(s);
  int rc;

  if ((rc = node_access(s, file, &a)) != 0)
    return rc;
  if (a->has_genesis && crdt_id_cmp(&a->holder, org) == 0) {
    *box = a->holder_box;
    return BT_OK;
  }
  for (size_t i = a->ngrants; i-- > 0;)
    if (crdt_id_cmp(&a->grants[i].g->org, org) == 0 && crdt_acc_grant_live(&a->grants[i], now)) {
      *box = a->grants[i].g->box;
      return BT_OK;
    }
  return BT_ENOTFOUND;
}

/* The devices bound to org in file (for receipts: our own ops). *out is
 * malloc'd. */
static int org_devices(node_store *s, const uint8_t *file, const crdt_id *org, crdt_id **out,
                       size_t *n)
{
  const crdt_access *a;
  crdt_id *d;
  int rc;

  *n = 0;
  if ((rc = node_access(s, file, &a)) != 0)
    return rc;
  if ((d = calloc(a->nmembers + 1, sizeof(*d))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < a->nmembers; i++)
    if (crdt_id_cmp(&a->members[i].org, org) == 0)
      d[(*n)++] = a->members[i].device;
  memcpy(d[(*n)++].b, s->device_pk, CRDT_PK_LEN);
  *out = d;
  return BT_OK;
}

/* ---- collecting the file ---- */

typedef struct {
  bt_bytes *envs;        /* malloc'd copies */
  size_t n;
  proto_pkg_key *keys;   /* sodium_malloc'd, PROTO_PKG_KEYS_MAX */
  size_t nkeys;
} contents;

static void contents_clear(contents *c)
{
  for (size_t i = 0; i < c->n; i++)
    free((void *)c->envs[i].p);
  free(c->envs);
  if (c->keys)
    sodium_free(c->keys);
  memset(c, 0, sizeof(*c));
}

static int is_among(const uint8_t *author, const crdt_id *devs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp(devs[i].b, author, CRDT_PK_LEN) == 0)
      return 1;
  return 0;
}

/* Copies the envelopes of ids (causal order) into c, those by devs only
 * when devs is not NULL. */
static int copy_envs(node_store *s, MDB_txn *t, const crdt_id *ids, size_t n,
                     const crdt_id *devs, size_t ndevs, contents *c)
{
  if ((c->envs = calloc(n ? n : 1, sizeof(*c->envs))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    MDB_val k = {CRDT_ID_LEN, (void *)ids[i].b}, v;
    crdt_op *op;
    uint8_t *copy;
    int rc;
    if ((rc = mdb_get(t, s->db[DB_OPS], &k, &v)) != 0)
      return node__err(rc);
    if (devs) {
      if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0)
        return BT_ECORRUPT;
      rc = is_among(op->h.author, devs, ndevs);
      crdt_op_free(op);
      if (!rc)
        continue;
    }
    if ((copy = malloc(v.mv_size)) == NULL)
      return BT_ENOMEM;
    memcpy(copy, v.mv_data, v.mv_size);
    c->envs[c->n++] = (bt_bytes){copy, v.mv_size};
  }
  return BT_OK;
}

typedef struct {
  node_store *s;
  MDB_txn *t;
  const uint8_t *file;
  contents *c;
} keywalk;

static int add_key(contents *c, uint8_t kind, const uint8_t *epoch, const node_secret *k)
{
  if (c->nkeys == PROTO_PKG_KEYS_MAX)
    return BT_ETOOBIG;
  c->keys[c->nkeys].kind = kind;
  memcpy(c->keys[c->nkeys].epoch, epoch, CRDT_EPOCH_LEN);
  memcpy(c->keys[c->nkeys++].key, node_secret_bytes(k), CRDT_KEY_LEN);
  return BT_OK;
}

/* Each header epoch of the file's ops: its epoch secret if we hold one
 * (the importer checks it hashes to the epoch), and the key for that
 * header (content ids, control ids, keybox tags). */
static int key_of_tag(void *ctx, const uint8_t *tag)
{
  keywalk *w = ctx;
  node_secret *k = NULL;
  int rc;

  if ((rc = node__epoch_secret(w->s, w->t, w->file, tag, &k)) == 0) {
    rc = add_key(w->c, PROTO_PKG_KEY_SECRET, tag, k);
    node_secret_free(k);
    k = NULL;
  }
  if (rc != 0 && rc != BT_EEPOCH && rc != BT_ENOTFOUND)
    return rc;
  if ((rc = node__epoch_key(w->s, w->t, w->file, tag, &k)) == 0) {
    rc = add_key(w->c, PROTO_PKG_KEY_HEADER, tag, k);
    node_secret_free(k);
  }
  return rc == BT_EEPOCH || rc == BT_ENOTFOUND ? BT_OK : rc;
}

static int collect(node_store *s, const uint8_t *file, const node_pkg_opts *o, contents *c)
{
  crdt_id *ids = NULL, *devs = NULL;
  size_t n = 0, ndevs = 0;
  MDB_txn *t = NULL;
  int rc;

  if ((rc = node_file_ops(s, file, NULL, 0, &n)) != 0)
    return rc;
  if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_file_ops(s, file, ids, n, &n)) != 0)
    goto out;
  if (o->own_ops_only && (rc = org_devices(s, file, &s->org_pk, &devs, &ndevs)) != 0)
    goto out;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    goto out;
  if ((rc = node__causal_order(s, t, ids, n)) != 0 ||
      (rc = copy_envs(s, t, ids, n, devs, ndevs, c)) != 0)
    goto out;
  if (o->pass) {
    keywalk w = {s, t, file, c};
    if ((c->keys = sodium_malloc(PROTO_PKG_KEYS_MAX * sizeof(*c->keys))) == NULL) {
      rc = BT_ENOMEM;
      goto out;
    }
    rc = node__file_tags(s, t, file, key_of_tag, &w);
  }
out:
  if (t)
    mdb_txn_abort(t);
  free(ids);
  free(devs);
  return rc;
}

/* ---- sealing ---- */

typedef struct {
  proto_pkg h;
  node_org org;
  uint8_t sealed[PROTO_PKG_SEALED_LEN];
  uint8_t salt[PROTO_PKG_SALT_LEN];
  uint8_t nonce[PROTO_PKG_NONCE_LEN];
  crdt_id to, box;
} sealing;

int node__pkg_sign(node_store *s, uint8_t *p, size_t signed_len)
{
  return crypto_sign_detached(p + signed_len, NULL, p, signed_len, node_secret_bytes(s->device))
             ? BT_EINVAL : BT_OK;
}

/* The package key: random and sealed to the box key, or from the
 * passphrase. */
static int package_key(sealing *x, const node_pkg_opts *o, uint8_t key[32])
{
  if (o->to_org) {
    randombytes_buf(key, 32);
    crypto_box_seal(x->sealed, key, 32, x->box.b);
    x->h.to_org = x->to.b;
    x->h.to_box = x->box.b;
    x->h.sealed = x->sealed;
    return BT_OK;
  }
  randombytes_buf(x->salt, sizeof(x->salt));
  x->h.salt = x->salt;
  x->h.opslimit = o->opslimit ? o->opslimit : crypto_pwhash_OPSLIMIT_MODERATE;
  x->h.memlimit = o->memlimit ? o->memlimit : crypto_pwhash_MEMLIMIT_MODERATE;
  if (x->h.opslimit < NODE_PKG_OPS_MIN || x->h.opslimit > NODE_PKG_OPS_MAX ||
      x->h.memlimit < NODE_PKG_MEM_MIN || x->h.memlimit > NODE_PKG_MEM_MAX)
    return BT_EINVAL;
  if (crypto_pwhash(key, 32, o->pass, o->pass_len, x->salt, x->h.opslimit,
                    (size_t)x->h.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return BT_ENOMEM;
  return BT_OK;
}

/* header | XChaCha20-Poly1305(key, payload, ad = header) | signature. */
static int seal(node_store *s, sealing *x, const node_pkg_opts *o, const uint8_t *file,
                const contents *c, uint8_t **out, size_t *len)
{
  size_t plen = proto_pkg_payload_len(c->envs, c->n, c->nkeys), hl, total;
  uint8_t key[32], *plain = NULL, *pkg = NULL;
  unsigned long long clen;
  int rc;

  x->h.kind = o->to_org ? PROTO_PKG_ORG : PROTO_PKG_PASS;
  x->h.signer = s->device_pk;
  x->h.device_cert = (bt_bytes){x->org.device_cert, x->org.device_cert_len};
  x->h.org_cert = (bt_bytes){x->org.org_cert, x->org.org_cert_len};
  randombytes_buf(x->nonce, sizeof(x->nonce));
  x->h.nonce = x->nonce;
  hl = proto_pkg_head_len(&x->h);
  if (plen > NODE_PKG_MAX || hl + plen + PROTO_PKG_TAG_LEN + PROTO_PKG_SIG_LEN > NODE_PKG_MAX)
    return BT_ETOOBIG;
  total = hl + plen + PROTO_PKG_TAG_LEN + PROTO_PKG_SIG_LEN;
  if ((rc = package_key(x, o, key)) != 0)
    goto out;
  if ((plain = malloc(plen)) == NULL || (pkg = malloc(total)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  proto_pkg_payload_write(file, c->keys, c->nkeys, c->envs, c->n, plain);
  proto_pkg_head_write(&x->h, plen + PROTO_PKG_TAG_LEN, pkg);
  crypto_aead_xchacha20poly1305_ietf_encrypt(pkg + hl, &clen, plain, plen, pkg, hl, NULL,
                                             x->nonce, key);
  if ((rc = node__pkg_sign(s, pkg, total - PROTO_PKG_SIG_LEN)) == 0) {
    *out = pkg;
    *len = total;
    pkg = NULL;
  }
out:
  sodium_memzero(key, sizeof(key));
  if (plain) {
    sodium_memzero(plain, plen);
    free(plain);
  }
  free(pkg);
  return rc;
}

static void fpr_detail(const char *what, const uint8_t *key, char *out, size_t len)
{
  char f[CRDT_FPR_LEN];

  crdt_fingerprint(key, CRDT_PK_LEN, f);
  snprintf(out, len, "%s %s", what, f);
}

int node_package_export(node_store *s, const char *user, node_role role,
                        const uint8_t file[CRDT_FILE_LEN], const node_pkg_opts *o,
                        uint8_t **out, size_t *len)
{
  sealing x;
  contents c = {0};
  char detail[NODE_AUDIT_DETAIL_MAX + 1];
  int rc;

  memset(&x, 0, sizeof(x));
  if (!node_may(role, NODE_DO_TRANSFER))
    return BT_EDENIED;
  if ((o->to_org == NULL) == (o->pass == NULL))
    return BT_EINVAL;
  if ((rc = node_org_get(s, &x.org)) != 0)
    return rc == BT_ENOTFOUND ? BT_ESELFSIGNED : rc;
  if (x.org.provisional) {
    rc = BT_ESELFSIGNED;
    goto out;
  }
  if ((rc = node_file_epoch(s, file, (uint8_t[CRDT_EPOCH_LEN]){0})) != 0)
    goto out;
  if (o->to_org) {
    rc = crdt_id_cmp(o->to_org, &x.org.sign_pk) == 0 ? BT_EINVAL
                                                     : reader_box(s, file, o->to_org, &x.box);
    if (rc != 0)
      goto out;
    x.to = *o->to_org;
  }
  if ((rc = collect(s, file, o, &c)) != 0)
    goto out;
  if (c.n == 0) {
    rc = BT_EMISSING;
    goto out;
  }
  if ((rc = seal(s, &x, o, file, &c, out, len)) != 0)
    goto out;
  if (o->to_org)
    fpr_detail("to org", x.to.b, detail, sizeof(detail));
  else
    snprintf(detail, sizeof(detail), "passphrase");
  if ((rc = node_audit_add(s, user, NODE_AUDIT_PACKAGE_EXPORT, file, detail)) != 0) {
    free(*out); /* not audited: it did not happen */
    *out = NULL;
  }
out:
  contents_clear(&c);
  node_org_clear(&x.org);
  return rc;
}

/* ---- import ---- */

int node_package_info(const uint8_t *p, size_t len, node_pkg_info *out)
{
  proto_pkg h;
  int rc;

  if ((rc = proto_pkg_parse(p, len, &h)) != 0)
    return rc;
  memset(out, 0, sizeof(*out));
  out->kind = h.kind;
  memcpy(out->signer.b, h.signer, CRDT_PK_LEN);
  if (h.kind == PROTO_PKG_ORG)
    memcpy(out->to_org.b, h.to_org, CRDT_PK_LEN);
  return BT_OK;
}

int node__pkg_sender(node_store *s, const proto_pkg *h, int required, node_pkg_result *r)
{
  crdt_cert *dev = NULL, *org = NULL;
  int rc;

  r->certified = 0;
  if (h->device_cert.len == 0 || h->org_cert.len == 0)
    return required ? BT_EMISSING : BT_OK;
  if ((rc = crdt_cert_decode(h->device_cert.p, h->device_cert.len, &dev)) != 0 ||
      (rc = crdt_cert_decode(h->org_cert.p, h->org_cert.len, &org)) != 0)
    goto out;
  if (memcmp(dev->b.subject.b, h->signer, CRDT_PK_LEN) != 0) {
    rc = BT_ECHAIN; /* the certificate is not the signer's */
    goto out;
  }
  r->sender_org = org->b.subject;
  snprintf(r->sender_name, sizeof(r->sender_name), "%.*s", (int)org->b.name.len, org->b.name.p);
  rc = node_chain_check(s, h->device_cert.p, h->device_cert.len, h->org_cert.p, h->org_cert.len,
                        node__now_ms(s));
  r->certified = rc == 0;
  if (!required)
    rc = BT_OK;
out:
  crdt_cert_free(dev);
  crdt_cert_free(org);
  return rc;
}

static int open_key(node_store *s, const proto_pkg *h, const char *pass, size_t pass_len,
                    uint8_t key[32])
{
  node_secret *sk = NULL;
  int rc;

  if (h->kind == PROTO_PKG_ORG) {
    if (!s->has_org || memcmp(h->to_org, s->org_pk.b, CRDT_PK_LEN) != 0 ||
        memcmp(h->to_box, s->box_pk.b, CRDT_PK_LEN) != 0)
      return BT_EDECRYPT; /* sealed to another org */
    if ((rc = node_org_box_sk(s, &sk)) != 0)
      return rc;
    rc = crypto_box_seal_open(key, h->sealed, PROTO_PKG_SEALED_LEN, s->box_pk.b,
                              node_secret_bytes(sk)) ? BT_EDECRYPT : BT_OK;
    node_secret_free(sk);
    return rc;
  }
  if (h->opslimit < NODE_PKG_OPS_MIN || h->opslimit > NODE_PKG_OPS_MAX ||
      h->memlimit < NODE_PKG_MEM_MIN || h->memlimit > NODE_PKG_MEM_MAX)
    return BT_EINVAL; /* checked before Argon2id runs */
  if (pass == NULL)
    return BT_EPASS;
  return crypto_pwhash(key, 32, pass, pass_len, h->salt, h->opslimit, (size_t)h->memlimit,
                       crypto_pwhash_ALG_ARGON2ID13) ? BT_ENOMEM : BT_OK;
}

/* The decrypted payload of a package; *plain is malloc'd (wipe it). */
static int decrypt(node_store *s, const uint8_t *p, const proto_pkg *h, const char *pass,
                   size_t pass_len, uint8_t **plain, size_t *plen)
{
  uint8_t key[32];
  unsigned long long n;
  uint8_t *m;
  int rc;

  if ((rc = open_key(s, h, pass, pass_len, key)) != 0)
    goto out;
  if ((m = malloc(h->body.len)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &n, NULL, h->body.p, h->body.len, p,
                                                 h->ad_len, h->nonce, key) != 0) {
    free(m);
    rc = BT_EDECRYPT;
    goto out;
  }
  *plain = m;
  *plen = (size_t)n;
out:
  sodium_memzero(key, sizeof(key));
  return rc;
}

typedef struct {
  proto_pkg_payload pl;
  crdt_op **ops;
  proto_pkg_key *keys;   /* sodium_malloc'd */
} unpacked;

static void unpacked_clear(unpacked *u)
{
  for (size_t i = 0; u->ops && i < u->pl.nops; i++)
    crdt_op_free(u->ops[i]);
  free(u->ops);
  if (u->keys)
    sodium_free(u->keys);
  proto_pkg_payload_clear(&u->pl);
}

/* Every envelope decodes, is signed by its author and is of the file;
 * every secret hashes to its epoch. */
static int header_key_opens(const unpacked *u, const proto_pkg_key *k);

static int unpack(const uint8_t *plain, size_t plen, int with_keys, unpacked *u)
{
  int rc;

  if ((rc = proto_pkg_payload_parse(plain, plen, &u->pl)) != 0)
    return rc;
  if (u->pl.nops == 0)
    return BT_EMISSING;
  if (!with_keys && u->pl.nkeys != 0)
    return BT_EPROTO; /* org mode carries no keys: the file's keyboxes do */
  if ((u->ops = calloc(u->pl.nops, sizeof(*u->ops))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < u->pl.nops; i++) {
    if ((rc = crdt_op_decode(u->pl.ops[i].p, u->pl.ops[i].len, &u->ops[i])) != 0 ||
        (rc = crdt_op_verify(u->ops[i])) != 0)
      return rc;
    if (memcmp(u->ops[i]->h.file, u->pl.file, CRDT_FILE_LEN) != 0)
      return BT_EFILE;
  }
  if (u->pl.nkeys == 0)
    return BT_OK;
  if ((u->keys = sodium_malloc(u->pl.nkeys * sizeof(*u->keys))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < u->pl.nkeys; i++) {
    uint8_t id[CRDT_EPOCH_LEN];
    proto_pkg_key_at(&u->pl, i, &u->keys[i]);
    if (u->keys[i].kind != PROTO_PKG_KEY_SECRET) {
      /* A header key is taken only if an op of the package under that
       * epoch opens with it: the store keeps the first key it gets for an
       * epoch, so an unchecked one could lock the file's readers out. */
      if ((rc = header_key_opens(u, &u->keys[i])) != BT_OK)
        return rc;
      continue;
    }
    crdt_epoch_id(u->keys[i].key, id);
    if (memcmp(id, u->keys[i].epoch, CRDT_EPOCH_LEN) != 0)
      return BT_EINVAL;
  }
  return BT_OK;
}

/* BT_OK if some op of the package whose header names k's epoch decrypts
 * with k (AEAD: only the real key does), else BT_EINVAL. */
static int header_key_opens(const unpacked *u, const proto_pkg_key *k)
{
  for (size_t j = 0; j < u->pl.nops; j++) {
    crdt_body *b = NULL;
    if (memcmp(u->ops[j]->h.epoch, k->epoch, CRDT_EPOCH_LEN) != 0)
      continue;
    if (crdt_op_decrypt(u->ops[j], k->key, &b) != BT_OK)
      return BT_EINVAL; /* it contradicts an op it claims to open */
    crdt_body_free(b);
    return BT_OK;
  }
  return BT_EINVAL; /* no op confirms it */
}

/* An op reported buffered may have been released later in the batch by a
 * parent after it: only one still in the buffer is missing a parent. */
static int still_buffered(node_store *s, MDB_txn *t, const crdt_id *id)
{
  MDB_val k = {CRDT_ID_LEN, (void *)id->b}, v;
  int rc = mdb_get(t, s->db[DB_BUFFER], &k, &v);

  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : node__err(rc);
}

static int verdicts(node_store *s, MDB_txn *t, const node_ingest_result *res, size_t n,
                    node_pkg_result *r)
{
  int rc;

  for (size_t i = 0; i < n; i++) {
    switch (res[i].status) {
    case NODE_STORED:
      r->stored++;
      break;
    case NODE_DUPLICATE: /* held already, or only waiting for parents here */
      if ((rc = still_buffered(s, t, &res[i].id)) != 0)
        return rc < 0 ? rc : BT_EPARENTS;
      r->duplicate++;
      break;
    case NODE_BUFFERED:
      if ((rc = still_buffered(s, t, &res[i].id)) != 0)
        return rc < 0 ? rc : BT_EPARENTS;
      r->stored++;
      break;
    default:
      return res[i].reason ? res[i].reason : BT_ESTORE;
    }
  }
  return BT_OK;
}

static int install_keys(node_store *s, MDB_txn *t, const unpacked *u)
{
  int rc = BT_OK;

  for (size_t i = 0; i < u->pl.nkeys && rc == 0; i++)
    rc = u->keys[i].kind == PROTO_PKG_KEY_SECRET
             ? node__track_txn(s, t, u->pl.file, u->keys[i].epoch, u->keys[i].key)
             : node__key_put(s, t, u->pl.file, u->keys[i].epoch, u->keys[i].key);
  return rc;
}

/* All or nothing, in one transaction: the file made known (as sync does),
 * every op stored or already held, the keys, the audit record. */
static int store_all(node_store *s, const char *user, const unpacked *u, const proto_pkg *h,
                     node_pkg_result *r)
{
  node_ingest_result *res;
  char detail[NODE_AUDIT_DETAIL_MAX + 1], f[CRDT_FPR_LEN];
  MDB_txn *t;
  filerec fr;
  int rc;

  if ((res = calloc(u->pl.nops, sizeof(*res))) == NULL)
    return BT_ENOMEM;
  if ((rc = node__txn(s, 0, &t)) != 0) {
    free(res);
    return rc;
  }
  if ((rc = node__filerec_get(s, t, u->pl.file, &fr)) == BT_ENOFILE) {
    r->new_file = 1;
    rc = node__track_txn(s, t, u->pl.file, (uint8_t[CRDT_EPOCH_LEN]){0}, NULL);
  }
  if (rc == 0)
    rc = install_keys(s, t, u); /* before the ops: keyboxes and views use them */
  if (rc == 0 && (rc = node__ingest_txn(s, t, u->ops, u->pl.nops, res, NULL)) == 0)
    rc = verdicts(s, t, res, u->pl.nops, r);
  crdt_fingerprint(h->signer, CRDT_PK_LEN, f);
  snprintf(detail, sizeof(detail), "%s ops %zu from device %s",
           h->kind == PROTO_PKG_ORG ? "org" : "passphrase", u->pl.nops, f);
  if (rc == 0)
    rc = node__audit_txn(s, t, user, NODE_AUDIT_PACKAGE_IMPORT, u->pl.file, detail);
  rc = node__txn_end(t, rc);
  node__cache_drop(s, u->pl.file);
  free(res);
  return rc;
}

static int import_package(node_store *s, const char *user, const uint8_t *p, const proto_pkg *h,
                          const char *pass, size_t pass_len, node_pkg_result *r)
{
  unpacked u;
  uint8_t *plain = NULL;
  size_t plen = 0;
  int rc;

  memset(&u, 0, sizeof(u));
  if ((rc = node__pkg_sender(s, h, 1, r)) != 0)
    return rc;
  if ((rc = decrypt(s, p, h, pass, pass_len, &plain, &plen)) != 0)
    return rc;
  if ((rc = unpack(plain, plen, h->kind == PROTO_PKG_PASS, &u)) == 0) {
    memcpy(r->file, u.pl.file, CRDT_FILE_LEN);
    r->nops = u.pl.nops;
    rc = store_all(s, user, &u, h, r);
  }
  unpacked_clear(&u);
  sodium_memzero(plain, plen);
  free(plain);
  return rc;
}

int node_package_import(node_store *s, const char *user, node_role role, const uint8_t *p,
                        size_t len, const char *pass, size_t pass_len, node_pkg_result *r)
{
  node_pkg_result x;
  proto_pkg h;
  int rc;

  memset(&x, 0, sizeof(x));
  if (!node_may(role, NODE_DO_TRANSFER))
    return BT_EDENIED;
  if ((rc = proto_pkg_parse(p, len, &h)) != 0)
    return rc;
  if (crypto_sign_verify_detached(h.sig, p, h.signed_len, h.signer) != 0)
    return BT_ESIG;
  x.kind = h.kind;
  crypto_generichash(x.hash, sizeof(x.hash), p, len, NULL, 0);
  if (h.kind == PROTO_PKG_RECEIPT)
    rc = node__pkg_record(s, user, role, &h, &x);
  else if ((rc = import_package(s, user, p, &h, pass, pass_len, &x)) == 0 && x.new_file &&
           (x.receipt_err = node__pkg_answer(s, user, role, &h, &x)) != 0) {
    /* The package is stored (committed): that is not undone by a failed
     * receipt. The caller says so and how to answer the sender. */
    free(x.receipt);
    x.receipt = NULL;
    x.receipt_len = 0;
  }
  if (rc != 0) {
    node_pkg_result_clear(&x);
    return rc;
  }
  *r = x;
  return BT_OK;
}

void node_pkg_result_clear(node_pkg_result *r)
{
  free(r->receipt);
  memset(r, 0, sizeof(*r));
}
