/* node/view.c: reading the store: heads, missing ids, ops, fingerprints, and
 * materialised case files.
 *
 * A materialised file is kept in memory only (its plaintext never touches
 * the disk) with the DAG it was built from, and dropped when a write may
 * have changed it. */
#define _POSIX_C_SOURCE 200809L
#include "store_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

struct cached {
  cached *next;
  uint8_t file[CRDT_FILE_LEN];
  filerec rec;   /* the file's count and sum when built */
  crdt_dag *dag;
  crdt_casefile *cf;
};

/* Lists ids stored under a file prefix in db (keys file|id), ascending. */
static int list_ids(node_store *s, MDB_dbi db, const uint8_t *file, crdt_id *out,
                    size_t max, size_t *n)
{
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  MDB_txn *t;
  MDB_cursor *c;
  int rc;

  *n = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, db, &c)) == 0) {
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == CRDT_FILE_LEN + CRDT_ID_LEN &&
           memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
      if (*n < max)
        memcpy(out[*n].b, (uint8_t *)key.mv_data + CRDT_FILE_LEN, CRDT_ID_LEN);
      (*n)++;
      rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node_heads(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
               size_t *n)
{
  return list_ids(s, s->db[DB_HEADS], file, out, max, n);
}

int node_missing(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
                 size_t *n)
{
  return list_ids(s, s->db[DB_MISSING], file, out, max, n);
}

int node_op_get(node_store *s, const crdt_id *id, crdt_op **out)
{
  MDB_val key = {CRDT_ID_LEN, (void *)id->b}, v;
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_get(t, s->db[DB_OPS], &key, &v)) == 0)
    rc = crdt_op_decode(v.mv_data, v.mv_size, out) == 0 ? BT_OK : BT_ECORRUPT;
  else
    rc = node__err(rc);
  mdb_txn_abort(t);
  return rc;
}

/* ---- fingerprints --------------------------------------------------------------- */

static int rkey_cmp(uint32_t hour, const uint8_t *id, const node_rkey *k)
{
  if (hour != k->hour)
    return hour < k->hour ? -1 : 1;
  return memcmp(id, k->id.b, CRDT_ID_LEN);
}

static uint32_t rd_be32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Adds the ops whose (hour, id) key is in [from, to), scanning fileops. */
static int scan(node_store *s, MDB_txn *t, const uint8_t *file, const node_rkey *from,
                const node_rkey *to, node_fp *fp)
{
  uint8_t k[CRDT_FILE_LEN + 4 + CRDT_ID_LEN];
  MDB_val key = {sizeof(k), k}, v;
  MDB_cursor *c;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  for (int i = 0; i < 4; i++)
    k[CRDT_FILE_LEN + i] = (uint8_t)(from->hour >> (24 - 8 * i));
  memcpy(k + CRDT_FILE_LEN + 4, from->id.b, CRDT_ID_LEN);
  if ((rc = mdb_cursor_open(t, s->db[DB_FILEOPS], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == sizeof(k) && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    const uint8_t *p = (const uint8_t *)key.mv_data + CRDT_FILE_LEN;
    crdt_id x;
    if (rkey_cmp(rd_be32(p), p + 4, to) >= 0)
      break;
    memcpy(x.b, p + 4, CRDT_ID_LEN);
    fp->count++;
    node__sum_add(fp->sum, &x);
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

/* Whole days in [from, to), from the buckets. */
static int sum_buckets(node_store *s, MDB_txn *t, const uint8_t *file, uint32_t from,
                       uint32_t to, node_fp *fp)
{
  uint8_t k[CRDT_FILE_LEN + 4];
  MDB_val key = {sizeof(k), k}, v;
  MDB_cursor *c;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  for (int i = 0; i < 4; i++)
    k[CRDT_FILE_LEN + i] = (uint8_t)(from >> (24 - 8 * i));
  if ((rc = mdb_cursor_open(t, s->db[DB_FPB], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == sizeof(k) && memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0 &&
         rd_be32((const uint8_t *)key.mv_data + CRDT_FILE_LEN) < to) {
    const uint8_t *p = v.mv_data;
    crdt_id x;
    if (v.mv_size != 40) {
      rc = MDB_CORRUPTED;
      break;
    }
    fp->count += node__get_le64(p);
    memcpy(x.b, p + 8, 32);
    node__sum_add(fp->sum, &x);
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node_fingerprint(node_store *s, const uint8_t file[CRDT_FILE_LEN], const node_rkey *lo,
                     const node_rkey *hi, node_fp *out)
{
  uint32_t dlo = lo->hour / NODE_BUCKET_HOURS, dhi = hi->hour / NODE_BUCKET_HOURS;
  node_fp fp = {0};
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if (rkey_cmp(lo->hour, lo->id.b, hi) >= 0) {
    rc = BT_OK; /* empty range */
  } else if (dlo == dhi) {
    rc = scan(s, t, file, lo, hi, &fp);
  } else {
    /* lo to the end of its day, whole days between, hi's day up to hi. */
    node_rkey lo_end = {(dlo + 1) * NODE_BUCKET_HOURS, {{0}}};
    node_rkey hi_start = {dhi * NODE_BUCKET_HOURS, {{0}}};
    if ((rc = scan(s, t, file, lo, &lo_end, &fp)) == 0 &&
        (rc = sum_buckets(s, t, file, dlo + 1, dhi, &fp)) == 0)
      rc = scan(s, t, file, &hi_start, hi, &fp);
  }
  mdb_txn_abort(t);
  if (rc == 0)
    *out = fp;
  return rc;
}

/* ---- materialised case files ------------------------------------------------------ */

typedef struct {
  node_store *s;
  MDB_txn *t;
  const uint8_t *file;
  struct {
    uint8_t epoch[CRDT_EPOCH_LEN];
    node_secret *key; /* NULL: an epoch we cannot read */
  } k[64];
  size_t nk;
  int err; /* a storage error met while opening: fails the build */
} opener;

/* The key for a header epoch; keys are unwrapped once per build. Without
 * it the op is unreadable here (listed, not dropped). */
static int lookup_key(void *ctx, const uint8_t epoch[CRDT_EPOCH_LEN], uint8_t out[CRDT_KEY_LEN])
{
  opener *o = ctx;
  node_secret *key = NULL;
  int rc, kept = 0;

  for (size_t i = 0; i < o->nk; i++)
    if (memcmp(o->k[i].epoch, epoch, CRDT_EPOCH_LEN) == 0) {
      if (o->k[i].key == NULL)
        return BT_ENOTFOUND;
      memcpy(out, node_secret_bytes(o->k[i].key), CRDT_KEY_LEN);
      return BT_OK;
    }
  rc = node__epoch_key(o->s, o->t, o->file, epoch, &key);
  if (rc != 0 && rc != BT_EEPOCH) {
    o->err = rc; /* the store failed: build() reports it */
    return BT_ENOTFOUND;
  }
  if (rc != 0)
    key = NULL;
  if (o->nk < sizeof(o->k) / sizeof(o->k[0])) {
    memcpy(o->k[o->nk].epoch, epoch, CRDT_EPOCH_LEN);
    o->k[o->nk++].key = key;
    kept = 1;
  }
  if (key == NULL)
    return BT_ENOTFOUND;
  memcpy(out, node_secret_bytes(key), CRDT_KEY_LEN);
  if (!kept)
    node_secret_free(key);
  return BT_OK;
}

static int load_dag(node_store *s, MDB_txn *t, const uint8_t *file, crdt_dag *d)
{
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  MDB_cursor *c;
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_FILEOPS], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == CRDT_FILE_LEN + 4 + CRDT_ID_LEN &&
         memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    MDB_val ik = {CRDT_ID_LEN, (uint8_t *)key.mv_data + CRDT_FILE_LEN + 4}, env;
    crdt_dag_status st;
    crdt_op *op;

    if ((rc = mdb_get(t, s->db[DB_OPS], &ik, &env)) != 0) {
      if (rc == MDB_NOTFOUND)
        rc = MDB_CORRUPTED; /* an index entry with no op behind it */
      break;
    }
    if (crdt_op_decode(env.mv_data, env.mv_size, &op) != 0) {
      rc = MDB_CORRUPTED;
      break;
    }
    if ((rc = crdt_dag_add(d, op, &st)) != 0)
      break;
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc == BT_ENOMEM)
    return rc;
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

static int build(node_store *s, const uint8_t *file, cached *x)
{
  uint8_t hk[16];
  opener o = {.s = s, .file = file};
  filerec r;
  int rc;

  randombytes_buf(hk, sizeof(hk));
  if ((rc = crdt_dag_new(&x->dag, hk)) != 0)
    return rc;
  if ((rc = node__txn(s, MDB_RDONLY, &o.t)) != 0)
    return rc;
  if ((rc = node__filerec_get(s, o.t, file, &r)) == 0 &&
      (x->rec = r, rc = load_dag(s, o.t, file, x->dag)) == 0)
    rc = crdt_casefile_build_access(x->dag, file, lookup_key, &o, &x->cf);
  if (o.err != 0)
    rc = o.err;
  for (size_t i = 0; i < o.nk; i++)
    node_secret_free(o.k[i].key);
  mdb_txn_abort(o.t);
  return rc;
}

static void cached_free(cached *x)
{
  if (x == NULL)
    return;
  crdt_casefile_free(x->cf);
  crdt_dag_free(x->dag);
  free(x);
}

/* The cache is a list, most recently used first. */
static void to_front(node_store *s, cached *x)
{
  cached **pp = &s->cache;

  while (*pp != x)
    pp = &(*pp)->next;
  *pp = x->next;
  x->next = s->cache;
  s->cache = x;
}

/* Plaintext case files are kept for a bounded number of files only. */
static void trim_cache(node_store *s)
{
  cached *x = s->cache;

  for (size_t n = 1; x && n < NODE_CACHE_FILES; n++)
    x = x->next;
  while (x && x->next) {
    cached *old = x->next;
    x->next = old->next;
    cached_free(old);
  }
}

int node_casefile(node_store *s, const uint8_t file[CRDT_FILE_LEN], const crdt_casefile **out)
{
  cached *x;
  int rc;

  for (x = s->cache; x; x = x->next)
    if (memcmp(x->file, file, CRDT_FILE_LEN) == 0)
      break;
  if (x != NULL) {
    /* Another process (the CLI beside batond) may have written: the file
     * record's count and sum of ids tell whether the op set changed. */
    MDB_txn *t;
    if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
      return rc;
    rc = node__cache_current(s, t, file);
    mdb_txn_abort(t);
    if (rc < 0)
      return rc;
    if (rc == 1) {
      to_front(s, x);
      *out = x->cf;
      return BT_OK;
    }
    node__cache_drop(s, file);
  }
  if ((x = calloc(1, sizeof(*x))) == NULL)
    return BT_ENOMEM;
  memcpy(x->file, file, CRDT_FILE_LEN);
  if ((rc = build(s, file, x)) != 0) {
    cached_free(x);
    return rc;
  }
  x->next = s->cache;
  s->cache = x;
  *out = x->cf;
  trim_cache(s);
  return BT_OK;
}

void node__cache_drop(node_store *s, const uint8_t *file)
{
  cached **pp = &s->cache;

  while (*pp) {
    cached *x = *pp;
    if (file == NULL || memcmp(x->file, file, CRDT_FILE_LEN) == 0) {
      *pp = x->next;
      cached_free(x);
    } else {
      pp = &x->next;
    }
  }
}

int node__cache_current(node_store *s, MDB_txn *t, const uint8_t *file)
{
  filerec r;
  int rc;

  if ((rc = node__filerec_get(s, t, file, &r)) != 0)
    return rc;
  for (cached *x = s->cache; x; x = x->next)
    if (memcmp(x->file, file, CRDT_FILE_LEN) == 0)
      return r.count == x->rec.count && memcmp(r.sum, x->rec.sum, 32) == 0;
  return 0;
}

void node__cache_free(node_store *s)
{
  node__cache_drop(s, NULL);
}
