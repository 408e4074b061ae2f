/* node/index.c: the store's indexes that sync reads: a file's ops in
 * reconciliation order, the header tags its ops carry (who was given its
 * keys), and its per-author sequence numbers. */
#define _POSIX_C_SOURCE 200809L
#include "store_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

enum { FH = CRDT_FILE_LEN + 4 + CRDT_ID_LEN, FT = 2 * CRDT_FILE_LEN,
       SQ = CRDT_FILE_LEN + CRDT_PK_LEN + 8 + CRDT_ID_LEN };

static uint64_t rd_be64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* Walks a file's fileops keys in order, writing up to max (hour, id)
 * keys and/or ids. */
static int walk_fileops(node_store *s, const uint8_t *file, node_rkey *keys, crdt_id *ids,
                        size_t max, size_t *n)
{
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  *n = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_FILEOPS], &c)) == 0) {
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == FH && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
      const uint8_t *p = (const uint8_t *)key.mv_data + CRDT_FILE_LEN;
      if (*n < max && keys) {
        keys[*n].hour = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        memcpy(keys[*n].id.b, p + 4, CRDT_ID_LEN);
      }
      if (*n < max && ids)
        memcpy(ids[*n].b, p + 4, CRDT_ID_LEN);
      (*n)++;
      rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node_file_keys(node_store *s, const uint8_t file[CRDT_FILE_LEN], node_rkey *out, size_t max,
                   size_t *n)
{
  return walk_fileops(s, file, out, NULL, max, n);
}

int node_file_ops(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
                  size_t *n)
{
  return walk_fileops(s, file, NULL, out, max, n);
}

int node__file_has_tag(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *tag)
{
  uint8_t k[FT];
  MDB_val key = {sizeof(k), k}, v;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, tag, CRDT_FILE_LEN);
  rc = mdb_get(t, s->db[DB_TAGS], &key, &v);
  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : node__err(rc);
}

int node__file_tags(node_store *s, MDB_txn *t, const uint8_t *file,
                    int (*fn)(void *ctx, const uint8_t *tag), void *ctx)
{
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  MDB_cursor *c;
  int rc, r = 0;

  if ((rc = mdb_cursor_open(t, s->db[DB_TAGS], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == FT && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    if ((r = fn(ctx, (const uint8_t *)key.mv_data + CRDT_FILE_LEN)) != 0)
      break;
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (r != 0)
    return r;
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node__file_access_key(node_store *s, MDB_txn *t, const uint8_t *file,
                          uint8_t key[NODE_ACCESS_KEY_LEN])
{
  MDB_val k = {CRDT_FILE_LEN, (void *)file}, v;
  crypto_generichash_state h;
  MDB_cursor *c;
  filerec r;
  int rc;

  if ((rc = node__filerec_get(s, t, file, &r)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_TAGS], &c)) != 0)
    return node__err(rc);
  crypto_generichash_init(&h, NULL, 0, NODE_ACCESS_KEY_LEN);
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == FT && memcmp(k.mv_data, file, CRDT_FILE_LEN) == 0) {
    const uint8_t *tag = (const uint8_t *)k.mv_data + CRDT_FILE_LEN;
    if (memcmp(tag, r.epoch, CRDT_EPOCH_LEN) != 0) { /* all but the current epoch's ops */
      crypto_generichash_update(&h, tag, CRDT_EPOCH_LEN);
      crypto_generichash_update(&h, v.mv_data, v.mv_size);
    }
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return node__err(rc);
  crypto_generichash_final(&h, key, NODE_ACCESS_KEY_LEN);
  return BT_OK;
}

int node__tags_build(node_store *s, MDB_txn *t)
{
  MDB_cursor *c;
  MDB_val key, v;
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_OPS], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_FIRST);
  while (rc == 0) {
    uint8_t k[FT], cnt[8];
    MDB_val tk = {sizeof(k), k}, tv;
    crdt_op *op;

    if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0) {
      rc = -1;
      break;
    }
    memcpy(k, op->h.file, CRDT_FILE_LEN);
    memcpy(k + CRDT_FILE_LEN, op->h.epoch, CRDT_EPOCH_LEN);
    crdt_op_free(op);
    if ((rc = mdb_get(t, s->db[DB_TAGS], &tk, &tv)) == 0 && tv.mv_size == 8)
      node__put_le64(cnt, node__get_le64(tv.mv_data) + 1);
    else if (rc == 0 || rc == MDB_NOTFOUND)
      node__put_le64(cnt, 1);
    else
      break;
    tv = (MDB_val){sizeof(cnt), cnt};
    if ((rc = mdb_put(t, s->db[DB_TAGS], &tk, &tv, 0)) != 0)
      break;
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc == -1)
    return BT_ECORRUPT;
  return rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

/* The seq index is file | author | seq (big-endian) | id: one author's
 * highest seq is the last key before file | author | ff..; the next author
 * starts after it. */
int node__file_vv(node_store *s, MDB_txn *t, const uint8_t *file, node_vv *out, size_t max,
                  size_t *n)
{
  uint8_t k[SQ];
  MDB_val key, v;
  MDB_cursor *c;
  int rc;

  *n = 0;
  if ((rc = mdb_cursor_open(t, s->db[DB_SEQ], &c)) != 0)
    return node__err(rc);
  key = (MDB_val){CRDT_FILE_LEN, (void *)file};
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == SQ && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    /* key is this author's first; jump past its last */
    memcpy(k, key.mv_data, CRDT_FILE_LEN + CRDT_PK_LEN);
    memset(k + CRDT_FILE_LEN + CRDT_PK_LEN, 0xff, 8 + CRDT_ID_LEN);
    key = (MDB_val){sizeof(k), k};
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    if (rc == 0)
      rc = mdb_cursor_get(c, &key, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
      rc = mdb_cursor_get(c, &key, &v, MDB_LAST);
    if (rc != 0 || key.mv_size != SQ || memcmp(key.mv_data, k, CRDT_FILE_LEN + CRDT_PK_LEN) != 0) {
      rc = rc ? rc : MDB_CORRUPTED;
      break;
    }
    if (*n < max) {
      memcpy(out[*n].author, k + CRDT_FILE_LEN, CRDT_PK_LEN);
      out[*n].seq = rd_be64((const uint8_t *)key.mv_data + CRDT_FILE_LEN + CRDT_PK_LEN);
    }
    (*n)++;
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

static int push_id(crdt_id **ids, size_t *n, const uint8_t *id)
{
  if (*n == 0 || (*n >= 16 && (*n & (*n - 1)) == 0)) { /* capacity: 16, then powers of 2 */
    size_t cap = *n ? *n * 2 : 16;
    crdt_id *p = realloc(*ids, cap * sizeof(**ids));
    if (p == NULL)
      return BT_ENOMEM;
    *ids = p;
  }
  memcpy((*ids)[(*n)++].b, id, CRDT_ID_LEN);
  return BT_OK;
}

static uint64_t vv_seq(const node_vv *vv, size_t nv, const uint8_t *author)
{
  size_t lo = 0, hi = nv;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(vv[mid].author, author, CRDT_PK_LEN);
    if (c == 0)
      return vv[mid].seq;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

int node__ops_beyond(node_store *s, MDB_txn *t, const uint8_t *file, const node_vv *vv,
                     size_t nv, crdt_id **ids, size_t *n)
{
  uint8_t k[SQ];
  MDB_val key, v;
  MDB_cursor *c;
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_SEQ], &c)) != 0)
    return node__err(rc);
  key = (MDB_val){CRDT_FILE_LEN, (void *)file};
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == SQ && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    const uint8_t *p = key.mv_data;
    uint64_t from = vv_seq(vv, nv, p + CRDT_FILE_LEN);
    uint64_t seq = rd_be64(p + CRDT_FILE_LEN + CRDT_PK_LEN);

    if (seq <= from) { /* jump to this author's first seq above `from` */
      memcpy(k, p, CRDT_FILE_LEN + CRDT_PK_LEN);
      for (int i = 0; i < 8; i++)
        k[CRDT_FILE_LEN + CRDT_PK_LEN + i] = (uint8_t)(from >> (56 - 8 * i));
      memset(k + CRDT_FILE_LEN + CRDT_PK_LEN + 8, 0xff, CRDT_ID_LEN);
      key = (MDB_val){sizeof(k), k};
      rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
      continue;
    }
    if ((rc = push_id(ids, n, p + CRDT_FILE_LEN + CRDT_PK_LEN + 8)) != 0) {
      mdb_cursor_close(c);
      return rc;
    }
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

/* ---- causal order ----------------------------------------------------------- */

typedef struct {
  size_t *slot; /* index + 1 into ids; 0: empty */
  size_t cap;
} idmap;

static size_t idmap_find(const idmap *m, const crdt_id *ids, const uint8_t *id)
{
  uint64_t h;
  size_t j;

  memcpy(&h, id, sizeof(h));
  for (j = (size_t)h & (m->cap - 1); m->slot[j]; j = (j + 1) & (m->cap - 1))
    if (memcmp(ids[m->slot[j] - 1].b, id, CRDT_ID_LEN) == 0)
      return m->slot[j];
  return 0;
}

int node__causal_order(node_store *s, MDB_txn *t, crdt_id *ids, size_t n)
{
  idmap m = {NULL, 16};
  size_t *np = NULL, *pidx = NULL, *start = NULL, *kids = NULL, *deg = NULL, *order = NULL;
  size_t nedges = 0, cap = 0, head = 0, tail = 0;
  crdt_id *sorted = NULL;
  int rc = BT_ENOMEM;

  if (n < 2)
    return BT_OK;
  while (m.cap < 2 * n)
    m.cap *= 2;
  if ((m.slot = calloc(m.cap, sizeof(*m.slot))) == NULL || (np = calloc(n, sizeof(*np))) == NULL ||
      (deg = calloc(n, sizeof(*deg))) == NULL || (start = calloc(n + 1, sizeof(*start))) == NULL ||
      (order = malloc(n * sizeof(*order))) == NULL ||
      (sorted = malloc(n * sizeof(*sorted))) == NULL)
    goto out;
  for (size_t i = 0; i < n; i++) {
    uint64_t h;
    size_t j;
    memcpy(&h, ids[i].b, sizeof(h));
    for (j = (size_t)h & (m.cap - 1); m.slot[j]; j = (j + 1) & (m.cap - 1))
      ;
    m.slot[j] = i + 1;
  }
  /* parent -> child edges within the set, as (parent index) per child */
  for (size_t i = 0; i < n; i++) {
    MDB_val key = {CRDT_ID_LEN, ids[i].b}, v;
    crdt_op *op;
    int mrc = mdb_get(t, s->db[DB_OPS], &key, &v);
    if (mrc == MDB_NOTFOUND)
      continue;
    if (mrc != 0) {
      rc = node__err(mrc);
      goto out;
    }
    if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0) {
      rc = BT_ECORRUPT;
      goto out;
    }
    for (size_t k = 0; k < op->h.nparents; k++) {
      size_t p = idmap_find(&m, ids, op->h.parents[k].b);
      if (p == 0)
        continue;
      if (nedges == cap) {
        size_t nc = cap ? cap * 2 : 2 * n;
        size_t *q = realloc(pidx, nc * 2 * sizeof(*q));
        if (q == NULL) {
          crdt_op_free(op);
          goto out;
        }
        pidx = q;
        cap = nc;
      }
      pidx[2 * nedges] = p - 1; /* parent */
      pidx[2 * nedges + 1] = i; /* child */
      nedges++;
      np[p - 1]++;
      deg[i]++;
    }
    crdt_op_free(op);
  }
  /* children of each parent, packed (CSR) */
  for (size_t i = 0; i < n; i++)
    start[i + 1] = start[i] + np[i];
  if ((kids = malloc((nedges + 1) * sizeof(*kids))) == NULL)
    goto out;
  memset(np, 0, n * sizeof(*np));
  for (size_t e = 0; e < nedges; e++) {
    size_t p = pidx[2 * e];
    kids[start[p] + np[p]++] = pidx[2 * e + 1];
  }
  /* Kahn: roots in their given order, then children as they free up */
  for (size_t i = 0; i < n; i++)
    if (deg[i] == 0)
      order[tail++] = i;
  while (head < tail) {
    size_t i = order[head++];
    for (size_t k = start[i]; k < start[i + 1]; k++)
      if (--deg[kids[k]] == 0)
        order[tail++] = kids[k];
  }
  if (tail != n) { /* a cycle cannot be (ids are hashes of parents): keep the order */
    rc = BT_OK;
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    sorted[i] = ids[order[i]];
  memcpy(ids, sorted, n * sizeof(*ids));
  rc = BT_OK;
out:
  free(m.slot);
  free(np);
  free(pidx);
  free(start);
  free(kids);
  free(deg);
  free(order);
  free(sorted);
  return rc;
}
