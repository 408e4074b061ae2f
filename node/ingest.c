/* node/ingest.c: every op, received or authored here, enters the store here.
 *
 * Phase 1 (any thread, no LMDB): decode and verify each envelope. Large
 *   batches are split across threads: Ed25519 dominates the cost.
 * Phase 2 (one write transaction): file and epoch known? already held?
 *   parents all stored? Then the op is stored with its indexes, or parked in
 *   the causal buffer, and storing an op releases buffered ops that waited
 *   for it. Fingerprint buckets and file totals are summed per batch and
 *   written once per batch.
 *
 * Acceptance depends on the op and its causal past only, never on keys:
 * a relay (no key) and a reader store exactly the same ops. */
#define _POSIX_C_SOURCE 200809L
#include "store_int.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crdt/access.h"
#include "crdt/err.h"

#define PARALLEL_MIN 64 /* below this, threads cost more than they save */

/* The file id of a decoded (so canonical) envelope sits at a fixed place:
 * fixarray 4, fixarray 7, version 1, bin8 16. */
#define ENV_FILE_OFF 5

/* ---- keys ----------------------------------------------------------------- */

static void be32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int put(MDB_txn *t, MDB_dbi db, const void *k, size_t kl, const void *v, size_t vl)
{
  MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};

  return node__err(mdb_put(t, db, &key, &val, 0));
}

static int del(MDB_txn *t, MDB_dbi db, const void *k, size_t kl)
{
  MDB_val key = {kl, (void *)k};
  int rc = mdb_del(t, db, &key, NULL);

  return rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

static int has(MDB_txn *t, MDB_dbi db, const void *k, size_t kl)
{
  MDB_val key = {kl, (void *)k}, v;
  int rc = mdb_get(t, db, &key, &v);

  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : node__err(rc);
}

static void fid(uint8_t out[CRDT_FILE_LEN + CRDT_ID_LEN], const uint8_t *file, const crdt_id *id)
{
  memcpy(out, file, CRDT_FILE_LEN);
  memcpy(out + CRDT_FILE_LEN, id->b, CRDT_ID_LEN);
}

/* ---- per-batch sums ------------------------------------------------------------ */

/* Each stored op's (file, hour, id), sorted and summed once per batch: one
 * read and write per touched day bucket and file, however big the batch. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint32_t hour;
  crdt_id id;
} bucket;

typedef struct {
  node_store *s;
  MDB_txn *t;
  bucket *b;
  size_t nb, capb;
  crdt_op **stack; /* ops released from the buffer, still to store */
  size_t nstack, capstack;
  node_ingest_stats *st;
  MDB_cursor *seq;  /* reused by every equivocation check of the batch */
  int no_waiters;   /* the waiting table is empty: nothing to release or clear */
  struct {
    uint8_t file[CRDT_FILE_LEN];
  } scope[8];       /* files already found in scope */
  unsigned nscope;
  uint8_t lasttag[2 * CRDT_FILE_LEN]; /* the tag being counted (tag_add) */
  uint64_t ntag;                      /* ops of it not yet added */
} batch;

static int bucket_add(batch *x, const crdt_op *op)
{
  if (x->nb == x->capb) {
    size_t cap = x->capb ? 2 * x->capb : 64;
    bucket *nb = realloc(x->b, cap * sizeof(*nb));
    if (nb == NULL)
      return BT_ENOMEM;
    x->b = nb;
    x->capb = cap;
  }
  memcpy(x->b[x->nb].file, op->h.file, CRDT_FILE_LEN);
  x->b[x->nb].hour = op->h.hour;
  x->b[x->nb++].id = op->id;
  return BT_OK;
}

static int cmp_bucket(const void *a, const void *b)
{
  const bucket *x = a, *y = b;
  int c = memcmp(x->file, y->file, CRDT_FILE_LEN);

  return c ? c : (x->hour > y->hour) - (x->hour < y->hour);
}

static void sum_bytes(uint8_t acc[32], const uint8_t add[32])
{
  crdt_id id;

  memcpy(id.b, add, 32);
  node__sum_add(acc, &id);
}

/* Adds count and sum to one day's bucket: count (8, little-endian) | sum (32). */
static int bucket_write(batch *x, const uint8_t *file, uint32_t day, uint64_t n,
                        const uint8_t sum[32])
{
  uint8_t key[CRDT_FILE_LEN + 4], val[40] = {0};
  MDB_val kv = {sizeof(key), key}, v;
  int rc;

  memcpy(key, file, CRDT_FILE_LEN);
  be32(key + CRDT_FILE_LEN, day);
  rc = mdb_get(x->t, x->s->db[DB_FPB], &kv, &v);
  if (rc == 0 && v.mv_size == sizeof(val))
    memcpy(val, v.mv_data, sizeof(val));
  else if (rc != MDB_NOTFOUND)
    return rc == 0 ? BT_ECORRUPT : node__err(rc);
  node__put_le64(val, node__get_le64(val) + n);
  sum_bytes(val + 8, sum);
  return put(x->t, x->s->db[DB_FPB], key, sizeof(key), val, sizeof(val));
}

static int flush_buckets(batch *x)
{
  size_t i = 0;
  int rc;

  if (x->nb > 1)
    qsort(x->b, x->nb, sizeof(*x->b), cmp_bucket);
  while (i < x->nb) { /* one file at a time, one hour at a time within it */
    const uint8_t *file = x->b[i].file;
    uint8_t fsum[32] = {0};
    uint64_t fcount = 0;
    filerec r;

    while (i < x->nb && memcmp(x->b[i].file, file, CRDT_FILE_LEN) == 0) {
      uint32_t day = x->b[i].hour / NODE_BUCKET_HOURS;
      uint8_t hsum[32] = {0};
      uint64_t hcount = 0;
      for (; i < x->nb && x->b[i].hour / NODE_BUCKET_HOURS == day &&
             memcmp(x->b[i].file, file, CRDT_FILE_LEN) == 0; i++, hcount++)
        node__sum_add(hsum, &x->b[i].id);
      if ((rc = bucket_write(x, file, day, hcount, hsum)) != 0)
        return rc;
      sum_bytes(fsum, hsum);
      fcount += hcount;
    }
    if ((rc = node__filerec_get(x->s, x->t, file, &r)) != 0)
      return rc;
    r.count += fcount;
    sum_bytes(r.sum, fsum);
    if ((rc = node__filerec_put(x->s, x->t, file, &r)) != 0)
      return rc;
  }
  return BT_OK;
}

/* ---- storing one op ------------------------------------------------------------ */

/* Same author, same sequence number, another op: keep both, flag both.
 * seq[file|author|seq|id] lists every op at one (author, seq). */
static int check_equivocation(batch *x, const crdt_op *op)
{
  uint8_t pre[CRDT_FILE_LEN + CRDT_PK_LEN + 8], k[sizeof(pre) + CRDT_ID_LEN];
  uint8_t e[CRDT_FILE_LEN + CRDT_ID_LEN];
  MDB_val key = {sizeof(pre), pre}, v;
  MDB_cursor *c;
  int mrc, rc = BT_OK, found = 0;

  memcpy(pre, op->h.file, CRDT_FILE_LEN);
  memcpy(pre + CRDT_FILE_LEN, op->h.author, CRDT_PK_LEN);
  be64(pre + CRDT_FILE_LEN + CRDT_PK_LEN, op->h.seq);
  if (x->seq == NULL && (mrc = mdb_cursor_open(x->t, x->s->db[DB_SEQ], &x->seq)) != 0)
    return node__err(mrc);
  c = x->seq;
  mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (mrc == 0 && key.mv_size == sizeof(k) && memcmp(key.mv_data, pre, sizeof(pre)) == 0) {
    memcpy(e, op->h.file, CRDT_FILE_LEN);
    memcpy(e + CRDT_FILE_LEN, (uint8_t *)key.mv_data + sizeof(pre), CRDT_ID_LEN);
    if ((rc = put(x->t, x->s->db[DB_EQUIV], e, sizeof(e), "", 0)) != 0)
      break;
    found = 1;
    mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  if (rc != 0)
    return rc;
  if (mrc != 0 && mrc != MDB_NOTFOUND)
    return node__err(mrc);
  memcpy(k, pre, sizeof(pre));
  memcpy(k + sizeof(pre), op->id.b, CRDT_ID_LEN);
  if ((rc = put(x->t, x->s->db[DB_SEQ], k, sizeof(k), "", 0)) != 0 || !found)
    return rc;
  x->st->equivocations++;
  fid(e, op->h.file, &op->id);
  return put(x->t, x->s->db[DB_EQUIV], e, sizeof(e), "", 0);
}

/* id is now held here: it is no longer missing for any buffered op that
 * waits for it, whatever file that op is in. */
static int clear_missing(batch *x, const crdt_id *id)
{
  MDB_val key = {CRDT_ID_LEN, (void *)id->b}, v;
  MDB_cursor *c;
  int mrc, rc = BT_OK;

  if (x->no_waiters)
    return BT_OK;
  if ((mrc = mdb_cursor_open(x->t, x->s->db[DB_WAITING], &c)) != 0)
    return node__err(mrc);
  mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && mrc == 0 && key.mv_size == 2 * CRDT_ID_LEN &&
         memcmp(key.mv_data, id->b, CRDT_ID_LEN) == 0) {
    MDB_val ck = {CRDT_ID_LEN, (uint8_t *)key.mv_data + CRDT_ID_LEN}, env;
    if ((mrc = mdb_get(x->t, x->s->db[DB_BUFFER], &ck, &env)) == 0) {
      uint8_t m[CRDT_FILE_LEN + CRDT_ID_LEN];
      if (env.mv_size < ENV_FILE_OFF + CRDT_FILE_LEN)
        rc = BT_ECORRUPT;
      else {
        fid(m, (const uint8_t *)env.mv_data + ENV_FILE_OFF, id);
        rc = del(x->t, x->s->db[DB_MISSING], m, sizeof(m));
      }
    } else if (mrc != MDB_NOTFOUND) {
      break;
    }
    mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != 0)
    return rc;
  return mrc == 0 || mrc == MDB_NOTFOUND ? BT_OK : node__err(mrc);
}

/* tags[file|header epoch] -> count (u64): how many stored ops carry each
 * header epoch. A keybox's tag names the org it gave keys to (sync's
 * scope); the counts of all but the current epoch change only with access
 * ops, keyboxes and old-epoch ops, which is what says a summary of who
 * holds the file is still good (node/scope.c). A run of ops with one tag
 * is counted in memory and added once (tag_flush). */
static int tag_flush(batch *x)
{
  MDB_val key = {sizeof(x->lasttag), x->lasttag}, v;
  uint8_t c[8];
  uint64_t n = 0;
  int rc;

  if (x->ntag == 0)
    return BT_OK;
  rc = mdb_get(x->t, x->s->db[DB_TAGS], &key, &v);
  if (rc == 0 && v.mv_size == 8)
    n = node__get_le64(v.mv_data);
  else if (rc != 0 && rc != MDB_NOTFOUND)
    return node__err(rc);
  node__put_le64(c, n + x->ntag);
  x->ntag = 0;
  v = (MDB_val){sizeof(c), c};
  return node__err(mdb_put(x->t, x->s->db[DB_TAGS], &key, &v, 0));
}

static int tag_add(batch *x, const crdt_op *op)
{
  uint8_t k[2 * CRDT_FILE_LEN];
  int rc;

  memcpy(k, op->h.file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, op->h.epoch, CRDT_EPOCH_LEN);
  if (x->ntag > 0 && memcmp(x->lasttag, k, sizeof(k)) == 0) {
    x->ntag++;
    return BT_OK;
  }
  if ((rc = tag_flush(x)) != 0)
    return rc;
  memcpy(x->lasttag, k, sizeof(k));
  x->ntag = 1;
  return BT_OK;
}

static int store_op(batch *x, const crdt_op *op)
{
  uint8_t k[CRDT_FILE_LEN + 4 + CRDT_ID_LEN], h[CRDT_FILE_LEN + CRDT_ID_LEN];
  MDB_val key = {CRDT_ID_LEN, (void *)op->id.b}, val = {op->env_len, (void *)op->env};
  node_store *s = x->s;
  int rc;

  if ((rc = mdb_put(x->t, s->db[DB_OPS], &key, &val, MDB_NOOVERWRITE)) != 0)
    return node__err(rc);
  memcpy(k, op->h.file, CRDT_FILE_LEN);
  be32(k + CRDT_FILE_LEN, op->h.hour);
  memcpy(k + CRDT_FILE_LEN + 4, op->id.b, CRDT_ID_LEN);
  if ((rc = put(x->t, s->db[DB_FILEOPS], k, sizeof(k), "", 0)) != 0)
    return rc;
  if ((rc = tag_add(x, op)) != 0)
    return rc;
  for (size_t i = 0; i < op->h.nparents; i++) {
    fid(h, op->h.file, &op->h.parents[i]);
    if ((rc = del(x->t, s->db[DB_HEADS], h, sizeof(h))) != 0)
      return rc;
  }
  fid(h, op->h.file, &op->id);
  if ((rc = put(x->t, s->db[DB_HEADS], h, sizeof(h), "", 0)) != 0 ||
      (rc = clear_missing(x, &op->id)) != 0 || (rc = check_equivocation(x, op)) != 0)
    return rc;
  if (s->has_org && memcmp(op->h.epoch, s->box_tag, CRDT_EPOCH_LEN) == 0 &&
      (rc = node__keybox_take(s, x->t, op)) != 0)
    return rc;
  return bucket_add(x, op);
}

/* Parks op until its parents are stored: waiting[parent|op] for each one
 * not stored, missing[file|parent] for those nobody has sent at all. */
static int buffer_op(batch *x, const crdt_op *op)
{
  uint8_t w[2 * CRDT_ID_LEN], m[CRDT_FILE_LEN + CRDT_ID_LEN];
  node_store *s = x->s;
  int rc;

  if ((rc = put(x->t, s->db[DB_BUFFER], op->id.b, CRDT_ID_LEN, op->env, op->env_len)) != 0)
    return rc;
  x->no_waiters = 0; /* (set before clear_missing below may need to look) */
  if ((rc = clear_missing(x, &op->id)) != 0)
    return rc;
  for (size_t i = 0; i < op->h.nparents; i++) {
    const crdt_id *p = &op->h.parents[i];
    if ((rc = has(x->t, s->db[DB_OPS], p->b, CRDT_ID_LEN)) != 0) {
      if (rc < 0)
        return rc;
      continue;
    }
    memcpy(w, p->b, CRDT_ID_LEN);
    memcpy(w + CRDT_ID_LEN, op->id.b, CRDT_ID_LEN);
    if ((rc = put(x->t, s->db[DB_WAITING], w, sizeof(w), "", 0)) != 0)
      return rc;
    if ((rc = has(x->t, s->db[DB_BUFFER], p->b, CRDT_ID_LEN)) < 0)
      return rc;
    fid(m, op->h.file, p);
    if (rc == 0 && (rc = put(x->t, s->db[DB_MISSING], m, sizeof(m), "", 0)) != 0)
      return rc;
  }
  return BT_OK;
}


/* 1 when every parent is stored in op's own file, 0 when one is not stored
 * yet, BT_EPARENTS when one is stored in another file: such an op can never
 * be applied, on any node. */
static int all_parents_stored(batch *x, const crdt_op *op)
{
  int missing = 0;

  for (size_t i = 0; i < op->h.nparents; i++) {
    MDB_val k = {CRDT_ID_LEN, (void *)op->h.parents[i].b}, v;
    int rc = mdb_get(x->t, x->s->db[DB_OPS], &k, &v);

    if (rc == MDB_NOTFOUND) {
      missing = 1;
      continue;
    }
    if (rc != 0)
      return node__err(rc);
    if (v.mv_size < ENV_FILE_OFF + CRDT_FILE_LEN)
      return BT_ECORRUPT;
    if (memcmp((const uint8_t *)v.mv_data + ENV_FILE_OFF, op->h.file, CRDT_FILE_LEN) != 0)
      return BT_EPARENTS;
  }
  return !missing;
}

static int push(batch *x, crdt_op *op)
{
  if (x->nstack == x->capstack) {
    size_t cap = x->capstack ? 2 * x->capstack : 16;
    crdt_op **ns = realloc(x->stack, cap * sizeof(*ns));
    if (ns == NULL) {
      crdt_op_free(op);
      return BT_ENOMEM;
    }
    x->stack = ns;
    x->capstack = cap;
  }
  x->stack[x->nstack++] = op;
  return BT_OK;
}

/* Collects the ops waiting for id (waiting[id|child]) and drops the
 * entries. *kids is malloc'd. */
static int take_waiters(batch *x, const crdt_id *id, crdt_id **kids, size_t *n)
{
  MDB_val key = {CRDT_ID_LEN, (void *)id->b}, v;
  MDB_cursor *c;
  crdt_id *k = NULL;
  size_t nk = 0;
  int rc;

  *kids = NULL;
  *n = 0;
  if (x->no_waiters)
    return BT_OK;
  if ((rc = mdb_cursor_open(x->t, x->s->db[DB_WAITING], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && key.mv_size == 2 * CRDT_ID_LEN &&
         memcmp(key.mv_data, id->b, CRDT_ID_LEN) == 0) {
    crdt_id *nkids = realloc(k, (nk + 1) * sizeof(*k));
    if (nkids == NULL) {
      rc = ENOMEM;
      break;
    }
    k = nkids;
    memcpy(k[nk++].b, (uint8_t *)key.mv_data + CRDT_ID_LEN, CRDT_ID_LEN);
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    free(k);
    return rc == ENOMEM ? BT_ENOMEM : node__err(rc);
  }
  for (size_t i = 0; i < nk; i++) {
    uint8_t w[2 * CRDT_ID_LEN];
    memcpy(w, id->b, CRDT_ID_LEN);
    memcpy(w + CRDT_ID_LEN, k[i].b, CRDT_ID_LEN);
    if ((rc = del(x->t, x->s->db[DB_WAITING], w, sizeof(w))) != 0) {
      free(k);
      return rc;
    }
  }
  *kids = k;
  *n = nk;
  return BT_OK;
}

/* Buffered ops that waited for id: those whose parents are now all stored
 * leave the buffer and are pushed to be stored. Buffered envelopes were
 * verified when they arrived. */
static int release(batch *x, const crdt_id *id)
{
  crdt_id *kids = NULL;
  size_t n = 0;
  int rc;

  if ((rc = take_waiters(x, id, &kids, &n)) != 0)
    return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    MDB_val bk = {CRDT_ID_LEN, kids[i].b}, env;
    crdt_op *child;

    if ((rc = mdb_get(x->t, x->s->db[DB_BUFFER], &bk, &env)) != 0) {
      rc = rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
      continue;
    }
    if ((rc = crdt_op_decode(env.mv_data, env.mv_size, &child)) != 0) {
      rc = BT_ECORRUPT; /* we stored it decoded once */
      break;
    }
    if ((rc = all_parents_stored(x, child)) != 1) {
      crdt_op_free(child);
      if (rc == BT_EPARENTS)
        rc = BT_OK; /* stays buffered: it can never apply */
      continue;
    }
    if ((rc = node__err(mdb_del(x->t, x->s->db[DB_BUFFER], &bk, NULL))) == 0)
      rc = push(x, child);
    else
      crdt_op_free(child);
  }
  free(kids);
  return rc;
}

/* Stores op, then everything its arrival releases (depth-first). */
static int store_and_release(batch *x, const crdt_op *op)
{
  int rc;

  if ((rc = store_op(x, op)) != 0 || (rc = release(x, &op->id)) != 0)
    return rc;
  while (x->nstack > 0) {
    crdt_op *c = x->stack[--x->nstack];
    rc = store_op(x, c);
    if (rc == 0)
      rc = release(x, &c->id);
    crdt_op_free(c);
    if (rc != 0)
      return rc;
    x->st->released++;
  }
  return BT_OK;
}

/* ---- the batch ------------------------------------------------------------------ */

/* The file must be one we hold or carry. Any epoch is stored: whether an
 * op counts, and whether we can read it, is the access rules' business
 * (crdt/access.h), decided when the file is materialised. */
static int check_scope(batch *x, const crdt_op *op)
{
  filerec r;
  int rc;

  for (unsigned i = 0; i < x->nscope && i < 8; i++) /* the last 8 seen */
    if (memcmp(x->scope[i].file, op->h.file, CRDT_FILE_LEN) == 0)
      return BT_OK;
  if ((rc = node__filerec_get(x->s, x->t, op->h.file, &r)) != 0)
    return rc;
  memcpy(x->scope[x->nscope % 8].file, op->h.file, CRDT_FILE_LEN);
  x->nscope++;
  return BT_OK;
}

static int ingest_one(batch *x, const crdt_op *op, node_ingest_result *r)
{
  int rc;

  r->id = op->id;
  if ((rc = check_scope(x, op)) != 0) {
    if (rc != BT_ENOFILE)
      return rc;
    r->status = NODE_REJECTED;
    r->reason = rc;
    x->st->rejected++;
    return BT_OK;
  }
  /* Already stored is found by the op table's no-overwrite put below (a
   * stored op has all its parents); already buffered, here. */
  if ((rc = has(x->t, x->s->db[DB_BUFFER], op->id.b, CRDT_ID_LEN)) < 0)
    return rc;
  if (rc == 1) {
    r->status = NODE_DUPLICATE;
    x->st->duplicate++;
    return BT_OK;
  }
  if ((rc = all_parents_stored(x, op)) == BT_EPARENTS) {
    r->status = NODE_REJECTED;
    r->reason = rc;
    x->st->rejected++;
    return BT_OK;
  }
  if (rc < 0)
    return rc;
  if (rc == 0) {
    r->status = NODE_BUFFERED;
    x->st->buffered++;
    return buffer_op(x, op);
  }
  if ((rc = store_and_release(x, op)) == BT_EDUP) {
    r->status = NODE_DUPLICATE;
    x->st->duplicate++;
    return BT_OK;
  }
  if (rc == 0) {
    r->status = NODE_STORED;
    x->st->stored++;
  }
  return rc;
}

static int batch_init(batch *x, node_store *s, MDB_txn *t, node_ingest_stats *st)
{
  MDB_stat ms;
  int rc;

  memset(x, 0, sizeof(*x));
  x->s = s;
  x->t = t;
  x->st = st;
  if ((rc = mdb_stat(t, s->db[DB_WAITING], &ms)) != 0)
    return node__err(rc);
  x->no_waiters = ms.ms_entries == 0;
  return BT_OK;
}

static int batch_ops(batch *x, crdt_op **ops, size_t n, node_ingest_result *res)
{
  int rc = BT_OK;

  for (size_t i = 0; i < n && rc == 0; i++)
    if (ops[i] != NULL)
      rc = ingest_one(x, ops[i], &res[i]);
  return rc;
}

/* Flushes the sums (when rc is BT_OK) and frees the batch. */
static int batch_finish(batch *x, int rc)
{
  if (rc == 0)
    rc = flush_buckets(x);
  if (rc == 0)
    rc = tag_flush(x);
  if (x->seq)
    mdb_cursor_close(x->seq);
  for (size_t i = 0; i < x->nstack; i++)
    crdt_op_free(x->stack[i]);
  free(x->stack);
  free(x->b);
  return rc;
}

int node__ingest_txn(node_store *s, MDB_txn *t, crdt_op **ops, size_t n,
                     node_ingest_result *res, node_ingest_stats *st)
{
  node_ingest_stats local = {0};
  batch x;
  int rc;

  if ((rc = batch_init(&x, s, t, st ? st : &local)) != 0)
    return rc;
  return batch_finish(&x, batch_ops(&x, ops, n, res));
}

/* ---- phase 1: decode and verify, on several threads for big batches ---------- */

typedef struct {
  const bt_bytes *envs;
  crdt_op **ops;
  node_ingest_result *res;
  size_t lo, hi;
} slice;

static void check_slice(void *arg)
{
  slice *sl = arg;

  for (size_t i = sl->lo; i < sl->hi; i++) {
    node_ingest_result *r = &sl->res[i];
    int rc = crdt_op_decode(sl->envs[i].p, sl->envs[i].len, &sl->ops[i]);

    memset(r, 0, sizeof(*r));
    if (rc == 0) {
      r->id = sl->ops[i]->id;
      if ((rc = crdt_op_verify(sl->ops[i])) != 0) {
        crdt_op_free(sl->ops[i]);
        sl->ops[i] = NULL;
      }
    } else {
      sl->ops[i] = NULL;
    }
    if (rc != 0) {
      r->status = NODE_REJECTED;
      r->reason = rc;
    }
  }
}

/* The pipeline: the batch is cut into chunks; every thread, the caller's
 * included, takes the next unchecked chunk and decodes and verifies it; the
 * caller stores chunks in order as soon as each is checked, and checks
 * chunks itself while the next one to store is not ready. Verification
 * (Ed25519, most of the cost) thus overlaps with the LMDB writes, which
 * stay on the calling thread. */
#define CHUNK 256

typedef struct {
  const bt_bytes *envs;
  crdt_op **ops;
  node_ingest_result *res;
  size_t n, nchunks;
  atomic_size_t next;  /* next chunk to check */
  atomic_uchar *done;  /* per chunk: checked */
  uv_mutex_t mu;
  uv_cond_t cv;
} pipeline;

/* Checks one more chunk; 0 when none is left. */
static int check_next(pipeline *p)
{
  size_t c = atomic_fetch_add(&p->next, 1);
  slice sl;

  if (c >= p->nchunks)
    return 0;
  sl = (slice){p->envs, p->ops, p->res, c * CHUNK, c * CHUNK + CHUNK < p->n ? c * CHUNK + CHUNK : p->n};
  check_slice(&sl);
  uv_mutex_lock(&p->mu);
  atomic_store(&p->done[c], 1);
  uv_cond_broadcast(&p->cv);
  uv_mutex_unlock(&p->mu);
  return 1;
}

static void checker(void *arg)
{
  while (check_next(arg))
    ;
}

static void wait_checked(pipeline *p, size_t c)
{
  while (!atomic_load(&p->done[c])) {
    if (check_next(p))
      continue;
    uv_mutex_lock(&p->mu);
    while (!atomic_load(&p->done[c]))
      uv_cond_wait(&p->cv, &p->mu);
    uv_mutex_unlock(&p->mu);
  }
}

/* Checks and stores the whole batch inside t. */
static int txn_open(node_store *s, MDB_txn **t, batch *x, node_ingest_stats *st)
{
  int rc = node__txn(s, 0, t);

  if (rc == 0 && (rc = batch_init(x, s, *t, st)) != 0)
    mdb_txn_abort(*t);
  return rc;
}

static int txn_close(MDB_txn *t, batch *x, int rc)
{
  return node__txn_end(t, batch_finish(x, rc));
}

/* Checks and stores the envelopes, committing every per_txn ops (0: once,
 * at the end). Checking runs ahead on other threads, across commits too.
 * *committed: how many leading envelopes are durably decided. */
static int run_pipeline(node_store *s, pipeline *p, size_t per_txn, node_ingest_stats *st,
                        size_t *committed)
{
  unsigned nt = s->threads ? s->threads : uv_available_parallelism();
  uv_thread_t th[16];
  unsigned started = 0;
  size_t txn_lo = 0;
  MDB_txn *t;
  batch x;
  int rc;

  int open;

  *committed = 0;
  if ((rc = txn_open(s, &t, &x, st)) != 0)
    return rc;
  open = 1;
  if (nt > 16)
    nt = 16;
  for (unsigned i = 1; i < nt && p->n >= PARALLEL_MIN; i++)
    if (uv_thread_create(&th[started], checker, p) == 0)
      started++; /* a thread that cannot start is not needed */
  for (size_t c = 0; c < p->nchunks && rc == BT_OK; c++) {
    size_t lo = c * CHUNK, hi = lo + CHUNK < p->n ? lo + CHUNK : p->n;
    wait_checked(p, c);
    for (size_t i = lo; i < hi; i++)
      st->rejected += p->ops[i] == NULL;
    rc = batch_ops(&x, p->ops + lo, hi - lo, p->res + lo);
    for (size_t i = lo; i < hi; i++) { /* stored ops live on in LMDB only */
      crdt_op_free(p->ops[i]);
      p->ops[i] = NULL;
    }
    if (rc == BT_OK && per_txn && hi - txn_lo >= per_txn && hi < p->n) {
      open = 0;
      if ((rc = txn_close(t, &x, BT_OK)) != 0)
        break;
      *committed = txn_lo = hi;
      if ((rc = txn_open(s, &t, &x, st)) != 0)
        break;
      open = 1;
    }
  }
  if (open && (rc = txn_close(t, &x, rc)) == 0) /* commits, or aborts on error */
    *committed = p->n;
  atomic_store(&p->next, p->nchunks); /* checkers: nothing more to take */
  for (unsigned i = 0; i < started; i++)
    uv_thread_join(&th[i]);
  return rc;
}

static int ingest_run(node_store *s, const bt_bytes *envs, size_t n, size_t per_txn,
                      node_ingest_result *res, node_ingest_stats *stats)
{
  node_ingest_stats st = {0};
  pipeline p = {.envs = envs, .res = res, .n = n, .nchunks = (n + CHUNK - 1) / CHUNK};
  size_t committed = 0;
  int rc;

  p.ops = calloc(n ? n : 1, sizeof(*p.ops));
  p.done = calloc(p.nchunks ? p.nchunks : 1, sizeof(*p.done));
  if (p.ops == NULL || p.done == NULL || uv_mutex_init(&p.mu) != 0) {
    free(p.ops);
    free(p.done);
    return BT_ENOMEM;
  }
  if (uv_cond_init(&p.cv) != 0) {
    uv_mutex_destroy(&p.mu);
    free(p.ops);
    free(p.done);
    return BT_ENOMEM;
  }
  atomic_init(&p.next, 0);
  rc = run_pipeline(s, &p, per_txn, &st, &committed);
  uv_cond_destroy(&p.cv);
  uv_mutex_destroy(&p.mu);
  for (size_t i = 0; i < n; i++)
    crdt_op_free(p.ops[i]);
  free(p.ops);
  free(p.done);
  for (size_t i = committed; i < n; i++)
    memset(&res[i], 0, sizeof(res[i])); /* not decided: nothing happened */
  /* Released ops share a file with the parent that released them, so
   * the files of these ops are all that can have changed. */
  for (size_t i = 0; i < committed; i++)
    if (res[i].status == NODE_STORED || res[i].status == NODE_BUFFERED)
      node__cache_drop(s, envs[i].p + ENV_FILE_OFF);
  if (rc == 0 && stats)
    *stats = st;
  return rc;
}

int node_ingest(node_store *s, const bt_bytes *envs, size_t n, node_ingest_result *res,
                node_ingest_stats *stats)
{
  return ingest_run(s, envs, n, 0, res, stats);
}

int node_ingest_stream(node_store *s, const bt_bytes *envs, size_t n, size_t per_txn,
                       node_ingest_result *res, node_ingest_stats *stats)
{
  return ingest_run(s, envs, n, per_txn ? per_txn : 1, res, stats);
}

/* ---- authoring ---------------------------------------------------------------- */

/* Up to CRDT_PARENTS_MAX heads of the file, ascending (the key order). */
static int read_heads(node_store *s, MDB_txn *t, const uint8_t *file, crdt_id *out,
                      size_t *n)
{
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  MDB_cursor *c;
  int rc;

  *n = 0;
  if ((rc = mdb_cursor_open(t, s->db[DB_HEADS], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (rc == 0 && *n < CRDT_PARENTS_MAX && key.mv_size == CRDT_FILE_LEN + CRDT_ID_LEN &&
         memcmp(key.mv_data, file, CRDT_FILE_LEN) == 0) {
    memcpy(out[(*n)++].b, (uint8_t *)key.mv_data + CRDT_FILE_LEN, CRDT_ID_LEN);
    rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node__seq_tip(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *author,
                  uint64_t *seq, crdt_id *ids, size_t max, size_t *nids)
{
  enum { PL = CRDT_FILE_LEN + CRDT_PK_LEN };
  uint8_t k[PL + 8 + CRDT_ID_LEN];
  MDB_val key = {sizeof(k), k}, v;
  MDB_cursor *c;
  uint64_t top = 0;
  size_t n = 0;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, author, CRDT_PK_LEN);
  memset(k + PL, 0xff, 8 + CRDT_ID_LEN);
  if ((rc = mdb_cursor_open(t, s->db[DB_SEQ], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  if (rc == 0)
    rc = mdb_cursor_get(c, &key, &v, MDB_PREV);
  else if (rc == MDB_NOTFOUND) /* nothing after the author's keys: the last may be one */
    rc = mdb_cursor_get(c, &key, &v, MDB_LAST);
  /* Backwards from the highest seq, while the seq stays the same. */
  while (rc == 0 && key.mv_size == sizeof(k) && memcmp(key.mv_data, k, PL) == 0) {
    const uint8_t *p = (const uint8_t *)key.mv_data + PL;
    uint64_t q = 0;
    for (int i = 0; i < 8; i++)
      q = q << 8 | p[i];
    if (n > 0 && q != top)
      break;
    top = q;
    if (n == max)
      break;
    memcpy(ids[n++].b, p + 8, CRDT_ID_LEN);
    rc = mdb_cursor_get(c, &key, &v, MDB_PREV);
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return node__err(rc);
  for (size_t i = 0; i < n / 2; i++) { /* descending -> ascending */
    crdt_id x = ids[i];
    ids[i] = ids[n - 1 - i];
    ids[n - 1 - i] = x;
  }
  *seq = top;
  if (nids)
    *nids = n;
  return BT_OK;
}

/* A new op must come after its parents in HLC order even when their
 * authors' clocks ran ahead of ours: merge the HLCs of parents read with a
 * key of the file (written by someone who held it). A parent read with
 * the public key (a keybox: anyone can make one) or not readable at all
 * (then the start of its hour stands for it) is followed only within the
 * allowed skew: a stranger must not drag this node's clock, and so the
 * time its ops claim, into the future. *trusted says which. */
static int parent_hlc(node_store *s, MDB_txn *t, const uint8_t *file, const crdt_op *op,
                      crdt_hlc_ts *out, int *trusted)
{
  uint8_t pub[CRDT_KEY_LEN];
  node_secret *key = NULL;
  crdt_body *body = NULL;
  int rc;

  if ((rc = node__epoch_key(s, t, file, op->h.epoch, &key)) != 0 && rc != BT_EEPOCH)
    return rc;
  if (key != NULL)
    rc = crdt_op_decrypt(op, node_secret_bytes(key), &body);
  *trusted = key != NULL && rc == 0;
  if (key == NULL || rc != 0) {
    crdt_public_key(file, op->h.epoch, pub);
    rc = crdt_op_decrypt(op, pub, &body);
    sodium_memzero(pub, sizeof(pub));
  }
  node_secret_free(key);
  *out = rc == 0 ? body->hlc : crdt_hlc_make((uint64_t)op->h.hour * 3600000, 0);
  crdt_body_free(body);
  return rc == BT_ENOMEM ? rc : BT_OK;
}

static int merge_parent_clocks(node_store *s, MDB_txn *t, const uint8_t *file,
                               const crdt_id *ps, size_t n)
{
  uint64_t wall = node__now_ms(s);
  int skewed;

  for (size_t i = 0; i < n; i++) {
    MDB_val k = {CRDT_ID_LEN, (void *)ps[i].b}, v;
    crdt_hlc_ts ts;
    crdt_op *op;
    int rc, trusted;

    if ((rc = mdb_get(t, s->db[DB_OPS], &k, &v)) != 0)
      return node__err(rc);
    if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0)
      return BT_ECORRUPT;
    rc = parent_hlc(s, t, file, op, &ts, &trusted);
    crdt_op_free(op);
    if (rc != 0)
      return rc;
    if (trusted || crdt_hlc_ms(ts) <= wall + s->hlc.max_skew_ms)
      crdt_hlc_recv(&s->hlc, ts, wall, &skewed);
  }
  return BT_OK;
}

/* The header epoch and key an op of b's type is sealed with: content ops
 * use the file's current epoch, control ops its control id, an epoch op
 * the control id of the epoch it starts, a keybox the public key of its
 * recipient's tag (crdt/access.h). */
static int pick_key(node_store *s, MDB_txn *t, const uint8_t *file, const crdt_body *b,
                    uint8_t hdr[CRDT_EPOCH_LEN], node_secret **key)
{
  filerec r;
  int rc;

  if ((rc = node__filerec_get(s, t, file, &r)) != 0)
    return rc;
  if (b->type == CRDT_OP_KEYBOX) {
    uint8_t k[CRDT_KEY_LEN];
    crdt_keybox_tag(b->u.keybox.box.b, hdr);
    crdt_public_key(file, hdr, k);
    return node_secret_copy(key, k, sizeof(k));
  }
  if (b->type == CRDT_OP_EPOCH || b->type == CRDT_OP_GENESIS)
    crdt_control_id((const uint8_t *)(b->type == CRDT_OP_EPOCH ? b->u.epoch.epoch.p
                                                               : b->u.genesis.epoch.p),
                    hdr);
  else if (crdt_optype_control(b->type))
    crdt_control_id(r.epoch, hdr);
  else
    memcpy(hdr, r.epoch, CRDT_EPOCH_LEN);
  rc = node__epoch_key(s, t, file, hdr, key);
  return rc == BT_ENOTFOUND ? BT_EEPOCH : rc; /* we carry it, we cannot write it */
}

static int seal_here(node_store *s, MDB_txn *t, const uint8_t *file, crdt_body *b,
                     crdt_op **out)
{
  crdt_id parents[CRDT_PARENTS_MAX];
  uint8_t nonce[CRDT_NONCE_LEN], hlc[8];
  crdt_header h = {.version = CRDT_OP_VERSION, .parents = parents};
  node_secret *key;
  int rc;

  if ((rc = read_heads(s, t, file, parents, &h.nparents)) != 0 ||
      (rc = node__seq_tip(s, t, file, s->device_pk, &h.seq, NULL, 0, NULL)) != 0)
    return rc;
  if ((rc = pick_key(s, t, file, b, h.epoch, &key)) != 0)
    return rc;
  h.seq++;
  memcpy(h.file, file, CRDT_FILE_LEN);
  memcpy(h.author, s->device_pk, CRDT_PK_LEN);
  if ((rc = merge_parent_clocks(s, t, file, parents, h.nparents)) != 0) {
    node_secret_free(key);
    return rc;
  }
  b->hlc = crdt_hlc_now(&s->hlc, node__now_ms(s));
  h.hour = crdt_hlc_hour(b->hlc);
  for (int i = 0; i < 8; i++)
    hlc[i] = (uint8_t)(b->hlc >> (8 * i));
  randombytes_buf(nonce, sizeof(nonce));
  rc = crdt_op_seal(&h, b, node_secret_bytes(key), nonce, node_secret_bytes(s->device), out);
  node_secret_free(key);
  if (rc == 0 && (rc = put(t, s->db[DB_META], "hlc", 3, hlc, sizeof(hlc))) != 0) {
    crdt_op_free(*out);
    *out = NULL;
  }
  return rc;
}

int node__author_txn(node_store *s, MDB_txn *t, const uint8_t *file, crdt_body *b,
                     crdt_id *id)
{
  node_ingest_result res = {0};
  crdt_op *op = NULL;
  int rc;

  if ((rc = seal_here(s, t, file, b, &op)) == 0 &&
      (rc = node__ingest_txn(s, t, &op, 1, &res, NULL)) == 0)
    rc = res.status == NODE_STORED ? BT_OK : res.reason ? res.reason : BT_ESTORE;
  if (rc == 0 && id)
    *id = op->id;
  crdt_op_free(op);
  return rc;
}

int node_author(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_body *b, crdt_id *id)
{
  /* Access ops come only from node/share.h, which checks what they need
   * (certificates, lawful basis, keys); directory ops from node/dir.h. */
  if (b->type >= CRDT_OP_GENESIS && b->type <= CRDT_OP_KEYBOX)
    return BT_EINVAL;
  if (b->type == CRDT_OP_DIR_ORG || b->type == CRDT_OP_DIR_REVOKE || b->type == 0)
    return BT_EINVAL;
  return node__author_checked(s, file, b, id);
}
