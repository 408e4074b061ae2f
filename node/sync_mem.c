/* node/sync_mem.c: what a node remembers agreeing on with each peer
 * device (DB_PEERS, docs/sync.md "Fast path"), its digest, and forgetting
 * it. */
#define _POSIX_C_SOURCE 200809L
#include "node/sync_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

/* ---- remembered state ------------------------------------------------------------- */

void node__mem_free(node_sync *x)
{
  for (size_t i = 0; i < x->nmem; i++)
    free(x->mem[i].vv);
  free(x->mem);
  x->mem = NULL;
  x->nmem = 0;
}

static void peer_key(uint8_t *k, char tag, const uint8_t *device, const uint8_t *file)
{
  k[0] = (uint8_t)tag;
  memcpy(k + 1, device, CRDT_PK_LEN);
  if (file)
    memcpy(k + 1 + CRDT_PK_LEN, file, CRDT_FILE_LEN);
}

enum { PK_LEN = 1 + CRDT_PK_LEN + CRDT_FILE_LEN, MEM_FIXED = 8 + 32 + 4 };

int node__mem_load(node_sync *x)
{
  uint8_t pre[1 + CRDT_PK_LEN];
  MDB_val key = {sizeof(pre), pre}, v;
  MDB_cursor *c;
  MDB_txn *t;
  size_t cap = 0;
  int rc, mrc;

  node__mem_free(x);
  peer_key(pre, MEM_TAG, x->peer.device_pk, NULL);
  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((mrc = mdb_cursor_open(t, x->s->db[DB_PEERS], &c)) != 0) {
    mdb_txn_abort(t);
    return node__err(mrc);
  }
  mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (mrc == 0 && key.mv_size == PK_LEN && memcmp(key.mv_data, pre, sizeof(pre)) == 0) {
    const uint8_t *p = v.mv_data;
    mem *m;
    uint32_t nv;

    if (v.mv_size < MEM_FIXED) {
      rc = BT_ECORRUPT;
      break;
    }
    nv = (uint32_t)p[40] | (uint32_t)p[41] << 8 | (uint32_t)p[42] << 16 | (uint32_t)p[43] << 24;
    if (nv > VV_MAX || v.mv_size != MEM_FIXED + (size_t)nv * (CRDT_PK_LEN + 8)) {
      rc = BT_ECORRUPT;
      break;
    }
    if (x->nmem == cap) {
      size_t nc = cap ? cap * 2 : 64;
      mem *nm = realloc(x->mem, nc * sizeof(*nm));
      if (nm == NULL) {
        rc = BT_ENOMEM;
        break;
      }
      x->mem = nm;
      cap = nc;
    }
    m = &x->mem[x->nmem];
    memcpy(m->file, (const uint8_t *)key.mv_data + 1 + CRDT_PK_LEN, CRDT_FILE_LEN);
    m->count = node__get_le64(p);
    memcpy(m->sum, p + 8, 32);
    m->nv = nv;
    m->vv = NULL;
    if (nv > 0 && (m->vv = malloc(nv * sizeof(*m->vv))) == NULL) {
      rc = BT_ENOMEM;
      break;
    }
    for (uint32_t i = 0; i < nv; i++) {
      const uint8_t *e = p + MEM_FIXED + (size_t)i * (CRDT_PK_LEN + 8);
      memcpy(m->vv[i].author, e, CRDT_PK_LEN);
      m->vv[i].seq = node__get_le64(e + CRDT_PK_LEN);
    }
    x->nmem++;
    mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = node__err(mrc);
  return rc;
}

/* The digest both sides compare: the remembered files and their states. */
void node__mem_digest(const node_sync *x, uint8_t out[PROTO_SYNC_DIGEST_LEN])
{
  crypto_generichash_state h;
  uint8_t c[8];

  crypto_generichash_init(&h, NULL, 0, PROTO_SYNC_DIGEST_LEN);
  crypto_generichash_update(&h, (const uint8_t *)"baton/sync-memory", 17);
  for (size_t i = 0; i < x->nmem; i++) {
    node__put_le64(c, x->mem[i].count);
    crypto_generichash_update(&h, x->mem[i].file, CRDT_FILE_LEN);
    crypto_generichash_update(&h, c, sizeof(c));
    crypto_generichash_update(&h, x->mem[i].sum, 32);
  }
  crypto_generichash_final(&h, out, PROTO_SYNC_DIGEST_LEN);
}

const mem *node__mem_find(const node_sync *x, const uint8_t *file)
{
  size_t lo = 0, hi = x->nmem;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(x->mem[mid].file, file, CRDT_FILE_LEN);
    if (c == 0)
      return &x->mem[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* 1 if the file was out of scope at its state now, as remembered. */
int node__was_out(node_sync *x, MDB_txn *t, const node_scope_file *f)
{
  uint8_t k[PK_LEN];
  MDB_val key = {sizeof(k), k}, v;

  peer_key(k, OUT_TAG, x->peer.device_pk, f->file);
  if (mdb_get(t, x->s->db[DB_PEERS], &key, &v) != 0 || v.mv_size != 40)
    return 0;
  return node__get_le64(v.mv_data) == f->count && memcmp((uint8_t *)v.mv_data + 8, f->sum, 32) == 0;
}

/* Run end: what both sides now hold of every file in scope (but those
 * out of it) becomes the agreed state; files out of it are remembered as
 * such, so they are not offered again until they change. */
int node__mem_save(node_sync *x)
{
  uint8_t pre[1 + CRDT_PK_LEN], k[PK_LEN];
  uint8_t *val = NULL;
  node_vv *vv = NULL;
  MDB_cursor *c = NULL;
  MDB_val key, v;
  MDB_txn *t;
  int rc, mrc;

  if ((vv = malloc(VV_MAX * sizeof(*vv))) == NULL ||
      (val = malloc(MEM_FIXED + VV_MAX * (CRDT_PK_LEN + 8))) == NULL) {
    free(vv);
    return BT_ENOMEM;
  }
  if ((rc = node__txn(x->s, 0, &t)) != 0)
    goto done;
  /* Drop what was remembered of files no longer in scope. */
  for (int tag = 0; tag < 2 && rc == 0; tag++) {
    peer_key(pre, tag ? OUT_TAG : MEM_TAG, x->peer.device_pk, NULL);
    if ((mrc = mdb_cursor_open(t, x->s->db[DB_PEERS], &c)) != 0) {
      rc = node__err(mrc);
      break;
    }
    key = (MDB_val){sizeof(pre), pre};
    mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (mrc == 0 && key.mv_size == PK_LEN && memcmp(key.mv_data, pre, sizeof(pre)) == 0) {
      sfile *f = node__sf(x, (const uint8_t *)key.mv_data + 1 + CRDT_PK_LEN, 0);
      if ((f == NULL || !f->scope) && (mrc = mdb_cursor_del(c, 0)) != 0)
        break;
      mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
      rc = node__err(mrc);
  }
  for (size_t i = 0; rc == 0 && i < x->mapcap; i++) {
    sfile *f = &x->map[i];
    filerec r;
    size_t nv = 0, len;

    if (!f->used || !f->scope)
      continue;
    if ((rc = node__filerec_get(x->s, t, f->file, &r)) != 0) {
      if (rc == BT_ENOFILE)
        rc = BT_OK;
      continue;
    }
    peer_key(k, (f->out || f->quiet) ? OUT_TAG : MEM_TAG, x->peer.device_pk, f->file);
    node__put_le64(val, r.count);
    memcpy(val + 8, r.sum, 32);
    len = 40;
    if (!f->out && !f->quiet) {
      if ((rc = node__file_vv(x->s, t, f->file, vv, VV_MAX, &nv)) != 0)
        break;
      if (nv > VV_MAX)
        nv = 0; /* too many authors to remember: this file always reconciles */
      for (int b = 0; b < 4; b++)
        val[40 + b] = (uint8_t)(nv >> (8 * b));
      for (size_t j = 0; j < nv; j++) {
        memcpy(val + MEM_FIXED + j * (CRDT_PK_LEN + 8), vv[j].author, CRDT_PK_LEN);
        node__put_le64(val + MEM_FIXED + j * (CRDT_PK_LEN + 8) + CRDT_PK_LEN, vv[j].seq);
      }
      len = MEM_FIXED + nv * (CRDT_PK_LEN + 8);
    }
    key = (MDB_val){sizeof(k), k};
    v = (MDB_val){len, val};
    if ((mrc = mdb_put(t, x->s->db[DB_PEERS], &key, &v, 0)) != 0)
      rc = node__err(mrc);
    if (rc == 0) { /* a file is either agreed or out, never both */
      peer_key(k, (f->out || f->quiet) ? MEM_TAG : OUT_TAG, x->peer.device_pk, f->file);
      key = (MDB_val){sizeof(k), k};
      mrc = mdb_del(t, x->s->db[DB_PEERS], &key, NULL);
      if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = node__err(mrc);
    }
  }
  rc = node__txn_end(t, rc);
done:
  free(vv);
  free(val);
  return rc;
}

int node_sync_forget(node_store *s, const uint8_t device_pk[CRDT_PK_LEN])
{
  uint8_t pre[1 + CRDT_PK_LEN];
  MDB_cursor *c;
  MDB_val key, v;
  MDB_txn *t;
  int rc, mrc = 0;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  for (int tag = 0; tag < 2 && rc == 0; tag++) {
    peer_key(pre, tag ? OUT_TAG : MEM_TAG, device_pk, NULL);
    if ((mrc = mdb_cursor_open(t, s->db[DB_PEERS], &c)) != 0) {
      rc = node__err(mrc);
      break;
    }
    key = (MDB_val){sizeof(pre), pre};
    mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (mrc == 0 && key.mv_size == PK_LEN && memcmp(key.mv_data, pre, sizeof(pre)) == 0) {
      if ((mrc = mdb_cursor_del(c, 0)) != 0)
        break;
      mrc = mdb_cursor_get(c, &key, &v, MDB_GET_CURRENT);
      if (mrc == EINVAL) /* deleted the last key */
        mrc = MDB_NOTFOUND;
    }
    mdb_cursor_close(c);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
      rc = node__err(mrc);
  }
  return node__txn_end(t, rc);
}

int node_sync_file_state(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint64_t *count,
                         uint8_t sum[32])
{
  MDB_txn *t;
  filerec r;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__filerec_get(s, t, file, &r);
  mdb_txn_abort(t);
  if (rc != 0)
    return rc;
  *count = r.count;
  memcpy(sum, r.sum, 32);
  return BT_OK;
}

