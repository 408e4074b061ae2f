/* node/dir.c: the LA directory file in the store.
 *
 * The root key is the directory's only author that counts, but anyone may
 * put ops in the file (it is public, and carried like any other): nothing
 * the LA node authors depends on them. Its own ops form one chain, read
 * from the per-author seq index rather than from the file's heads. */
#include "node/dir.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "node/org.h"
#include "node/store_int.h"

void node_dir_file(const crdt_id *root, uint8_t file[CRDT_FILE_LEN])
{
  static const uint8_t zero[16];

  crdt_file_id(root->b, zero, file);
}

int node_dir_track(node_store *s, const crdt_id *root)
{
  uint8_t file[CRDT_FILE_LEN], epoch[CRDT_EPOCH_LEN];

  node_dir_file(root, file);
  crdt_public_epoch(file, epoch);
  return node_file_track(s, file, epoch, NULL);
}

/* Seals b as the root's next op in its directory and stores it, in one
 * write transaction with the read of the root's latest ops, so two
 * processes never seal the same seq. Its parents are those latest ops
 * only: the root's ops form one chain whatever else the file holds. */
static int author(node_store *s, crdt_body *b, crdt_id *id)
{
  crdt_id root, tip[CRDT_PARENTS_MAX];
  uint8_t file[CRDT_FILE_LEN], epoch[CRDT_EPOCH_LEN], nonce[CRDT_NONCE_LEN];
  node_secret *sk = NULL;
  node_ingest_result res = {0};
  crdt_op *op = NULL;
  size_t ntip = 0;
  uint64_t seq = 0;
  MDB_txn *t;
  int rc;

  if ((rc = node_root_pk(s, &root)) != 0 || (rc = node_root_sk(s, &sk)) != 0)
    return rc;
  node_dir_file(&root, file);
  crdt_public_epoch(file, epoch);
  if ((rc = node__txn(s, 0, &t)) != 0)
    goto out;
  /* The root's latest ops come from the per-author seq index, so ops any
   * other key put in the file, which anyone may send, neither become
   * parents of the root's ops nor move its sequence numbers. */
  if ((rc = node__track_txn(s, t, file, epoch, NULL)) == 0)
    rc = node__seq_tip(s, t, file, root.b, &seq, tip, CRDT_PARENTS_MAX, &ntip);
  if (rc == 0) {
    b->known = 1;
    b->user = BT_STR("la");
    b->hlc = crdt_hlc_now(&s->hlc, node__now_ms(s));
    randombytes_buf(nonce, sizeof(nonce));
    rc = crdt_directory_seal(file, node_secret_bytes(sk), seq + 1, tip, ntip, b, nonce, &op);
  }
  if (rc == 0 && (rc = node__ingest_txn(s, t, &op, 1, &res, NULL)) == 0 &&
      res.status != NODE_STORED)
    rc = res.reason ? res.reason : BT_ESTORE;
  rc = node__txn_end(t, rc);
  node__cache_drop(s, file);
  if (rc == 0 && id)
    *id = op->id;
out:
  crdt_op_free(op);
  node_secret_free(sk);
  return rc;
}

int node_dir_publish(node_store *s, const uint8_t *org_cert, size_t len, crdt_id *op)
{
  crdt_body b = {.type = CRDT_OP_DIR_ORG};

  b.u.dir_org.cert = (bt_str){(const char *)org_cert, len};
  return author(s, &b, op);
}

int node_dir_revoke(node_store *s, const crdt_id *subject, const char *reason, uint64_t at_ms,
                    crdt_id *op)
{
  crdt_body b = {.type = CRDT_OP_DIR_REVOKE};

  if (reason == NULL || *reason == 0)
    return BT_EMISSING;
  b.u.dir_revoke = (crdt_dir_revoke){*subject, bt_strz(reason), at_ms};
  return author(s, &b, op);
}

/* The ids of the file's stored ops. Another process may store more
 * between counting and listing: the list grows and is read again, a few
 * times; after that the ops beyond what fits wait for the next read. */
static int list_ops(node_store *s, const uint8_t *file, crdt_id **out, size_t *n)
{
  crdt_id *ids = NULL, *p;
  size_t cap = 0, got = 0;
  int rc;

  for (int tries = 0;; tries++) {
    if ((rc = node_file_ops(s, file, ids, cap, &got)) != 0)
      break;
    if (got <= cap || tries == 4) {
      *out = ids;
      *n = got < cap ? got : cap;
      return BT_OK;
    }
    cap = got + 16;
    if ((p = realloc(ids, cap * sizeof(*ids))) == NULL) {
      rc = BT_ENOMEM;
      break;
    }
    ids = p;
  }
  free(ids);
  return rc;
}

int node_dir_get(node_store *s, const crdt_id *root, uint64_t now_ms, crdt_directory **out)
{
  uint8_t file[CRDT_FILE_LEN], epoch[CRDT_EPOCH_LEN], hk[16];
  crdt_id *ids = NULL;
  crdt_dag *d = NULL;
  size_t n = 0;
  int rc;

  node_dir_file(root, file);
  randombytes_buf(hk, sizeof(hk));
  if ((rc = node_file_epoch(s, file, epoch)) != 0) /* BT_ENOFILE if not tracked */
    return rc;
  if ((rc = list_ops(s, file, &ids, &n)) != 0)
    return rc;
  if ((rc = crdt_dag_new(&d, hk)) != 0)
    goto out;
  for (size_t i = 0; i < n && rc == 0; i++) {
    crdt_op *op;
    crdt_dag_status st;
    if ((rc = node_op_get(s, &ids[i], &op)) == 0)
      rc = crdt_dag_add(d, op, &st);
  }
  if (rc == 0)
    rc = crdt_directory_build(d, file, root->b, now_ms, out);
out:
  crdt_dag_free(d);
  free(ids);
  return rc;
}

int node_dir_apply(node_store *s, const crdt_id *root, uint64_t now_ms, size_t *n)
{
  crdt_directory *dir;
  crdt_id *have = NULL;
  size_t nh = 0, added = 0;
  int rc;

  if ((rc = node_dir_get(s, root, now_ms, &dir)) != 0)
    return rc;
  if ((rc = node_revoked(s, NULL, 0, &nh)) == 0 && nh > 0) {
    size_t cap = nh;
    if ((have = calloc(cap, sizeof(*have))) == NULL)
      rc = BT_ENOMEM;
    else if ((rc = node_revoked(s, have, cap, &nh)) == 0 && nh > cap)
      nh = cap; /* another process added some: they are checked again below */
  }
  for (size_t i = 0; i < dir->nrevoked && rc == 0; i++) {
    int known = 0;
    for (size_t k = 0; k < nh && have && !known; k++)
      known = crdt_id_cmp(&have[k], &dir->revoked[i]) == 0;
    if (!known && (rc = node_revoked_add(s, &dir->revoked[i])) == 0)
      added++;
  }
  free(have);
  crdt_directory_free(dir);
  if (n)
    *n = added;
  return rc;
}

/* ---- the orgs staff may pick -------------------------------------------- */

#define ORG_ANCHORS_MAX 64

static void text_copy(char *dst, size_t cap, bt_str v)
{
  size_t n = v.len < cap - 1 ? v.len : cap - 1;

  if (n)
    memcpy(dst, v.p, n);
  dst[n] = 0;
}

static int org_cmp(const void *a, const void *b)
{
  const node_dir_org *x = a, *y = b;
  int c = strcmp(x->name, y->name);

  return c ? c : strcmp(x->fingerprint, y->fingerprint);
}

/* Adds the usable orgs of one directory to *v (n used, cap allocated). */
static int orgs_of(node_store *s, const crdt_directory *d, uint64_t now_ms, node_dir_org **v,
                   size_t *n, size_t *cap)
{
  const char *la = "";
  size_t lalen = 0;

  for (size_t i = 0; i < d->nentries && lalen == 0; i++) {
    const crdt_dir_entry *e = &d->entries[i];
    if (e->cert->b.org_kind == CRDT_ORG_LA && !e->revoked && e->when == CRDT_DIR_CURRENT) {
      la = e->cert->b.name.p;
      lalen = e->cert->b.name.len;
    }
  }
  for (size_t i = 0; i < d->nentries; i++) {
    const crdt_dir_entry *e = &d->entries[i];
    const crdt_cert *c = e->cert;
    node_dir_org *o;
    int dup = 0;
    if (e->revoked || e->when != CRDT_DIR_CURRENT ||
        (s->has_org && crdt_id_cmp(&c->b.subject, &s->org_pk) == 0) ||
        node_org_cert_check(s, c->enc, c->enc_len, now_ms, NULL) != BT_OK)
      continue;
    for (size_t k = 0; k < *n && !dup; k++)
      dup = crdt_id_cmp(&(*v)[k].org, &c->b.subject) == 0;
    if (dup)
      continue;
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 16;
      node_dir_org *nv = realloc(*v, nc * sizeof(*nv));
      if (nv == NULL)
        return BT_ENOMEM;
      *v = nv;
      *cap = nc;
    }
    o = &(*v)[*n];
    memset(o, 0, sizeof(*o));
    if ((o->cert = malloc(c->enc_len)) == NULL)
      return BT_ENOMEM;
    memcpy(o->cert, c->enc, c->enc_len);
    o->cert_len = c->enc_len;
    o->org = c->b.subject;
    o->kind = c->b.org_kind;
    text_copy(o->name, sizeof o->name, c->b.name);
    memcpy(o->fingerprint, e->fingerprint, CRDT_FPR_LEN);
    text_copy(o->la, sizeof o->la, (bt_str){la, lalen});
    (*n)++;
  }
  return BT_OK;
}

int node_dir_orgs_as(node_store *s, node_role role, uint64_t now_ms, node_dir_org **out,
                     size_t *n)
{
  crdt_id roots[ORG_ANCHORS_MAX];
  node_dir_org *v = NULL;
  size_t na = 0, k = 0, cap = 0;
  int rc;

  if (!node_may(role, NODE_DO_SHARE) && !node_may(role, NODE_DO_TRANSFER))
    return BT_EDENIED;
  if ((rc = node_anchors(s, roots, ORG_ANCHORS_MAX, &na)) != BT_OK)
    return rc;
  for (size_t a = 0; a < na && a < ORG_ANCHORS_MAX && rc == BT_OK; a++) {
    crdt_directory *d = NULL;
    if ((rc = node_dir_get(s, &roots[a], now_ms, &d)) == BT_ENOFILE) {
      rc = BT_OK; /* trusted, but its directory has not come yet */
      continue;
    }
    if (rc == BT_OK)
      rc = orgs_of(s, d, now_ms, &v, &k, &cap);
    crdt_directory_free(d);
  }
  if (rc != BT_OK) {
    node_dir_orgs_free(v, k);
    return rc;
  }
  if (k > 1)
    qsort(v, k, sizeof(*v), org_cmp);
  *out = v;
  *n = k;
  return BT_OK;
}

void node_dir_orgs_free(node_dir_org *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    free(v[i].cert);
  free(v);
}
