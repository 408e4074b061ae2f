/* node/sync.c: one sync session (node/sync.h, docs/sync.md).
 *
 * A run is a strict alternation of messages. Each side handles a message
 * in the same order: ingest the envelopes it carries, then the file-level
 * reconciliation, then the sections; then it composes its reply from
 * what it owes: reconciliation messages first (they are small and keep
 * the exchange moving), then envelopes from its send queue until the
 * message budget is spent. A side is idle when it owes nothing; an idle
 * message answered by an idle side is answered with END, and the run is
 * over: both sides then remember the state they agreed on (DB_PEERS). */
#define _POSIX_C_SOURCE 200809L
#include "node/sync.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/scope.h"
#include "node/store_int.h"
#include "proto/recon.h"
#include "proto/sync.h"

#define VV_MAX 256          /* authors remembered per file; more: no fast path for it */
#define ASKS_MAX 8          /* want lists per file per run */
#define RECON_ROUNDS 4096   /* per file: a first sync of a large file lists many ids */
#define FRECON_ROUNDS 1024
#define FRECON_THRESHOLD 8  /* list a range of files once it holds this few: few differ */
#define RECON_ACTIVE_MAX 1024 /* op reconciliations under way at once */
#define MEM_TAG 'M'         /* DB_PEERS: M | device | file -> agreed state */
#define OUT_TAG 'O'         /* DB_PEERS: O | device | file -> state when it was out */

/* ---- per-file state of a run --------------------------------------------------- */

typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint8_t used;
  uint8_t scope;      /* offered to the peer (scope at run start, or taken new) */
  uint8_t out;        /* out of this run: either side said OUT */
  uint8_t out_owed;   /* an OUT notice to send */
  uint8_t claimed;    /* a FAST claim from the peer waits for the check */
  uint8_t fast_sent;  /* we sent a FAST claim (skip checking the peer's) */
  uint8_t touched;    /* ops of it arrived this run */
  uint8_t asks;       /* want lists we sent */
  uint8_t wants;      /* want lists the peer sent */
  uint8_t to_recon;   /* queued to start an op reconciliation */
  uint8_t probed;     /* new here: an envelope of it probed this run */
  uint8_t named_new;  /* the peer named it, we hold none of it (yet) */
  uint8_t taken;      /* we took it from the peer this run (not ours to judge) */
  uint8_t vv_owed;    /* a VV section to send */
  uint8_t vvs_in;     /* VV sections the peer sent for it this run */
  uint8_t out_told;   /* we sent OUT for it */
  uint32_t judged;    /* 1 + the message index its scope was last confirmed at */
  uint8_t vv_lead;    /* we sent the first VV: we claim once the peer's comes */
  uint64_t claim_count;
  uint8_t claim_sum[32];
  proto_recon *rc;    /* op reconciliation, while under way */
  proto_recon_item *items;
  uint8_t *rc_out;    /* its next message to send */
  size_t rc_len;
} sfile;

/* A send queue item: an op, or the FAST claim that follows a file's ops. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint8_t claim;
  crdt_id id;
} qitem;

/* Remembered state of one file with this peer. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint64_t count;
  uint8_t sum[32];
  node_vv *vv;       /* NULL when not kept */
  size_t nv;
} mem;

struct node_sync {
  node_store *s;
  node_sync_peer peer;
  node_sync_opts o;
  crdt_id *relay;
  int initiator;
  node_sync_stats st;

  /* the run */
  int running, want_run, fast, fallback_owed, peer_idle, idle_sent;
  int ignore_claims;        /* the fast start we declined: its claims are moot */
  uint32_t run, n;          /* run number, index of the next message */
  uint32_t new_files;
  size_t extra;             /* files in the map the peer named, out of our scope */
  uint64_t now;
  node_scope_file *scope;   /* ascending by file */
  size_t nscope;
  sfile *map;               /* open addressing; capacity a power of two */
  size_t mapcap, mapused;
  size_t active;            /* op reconciliations under way */
  qitem *q;
  size_t qhead, qlen, qcap;
  proto_recon *fr;          /* file-level reconciliation */
  proto_recon_item *fitems;
  uint8_t *fr_out;
  size_t fr_len;
  int fr_done;
  mem *mem;                 /* remembered, ascending by file */
  size_t nmem;

  uint8_t *scratch;         /* NODE_SYNC_RECON_BUDGET: what a reconciliation writes */
  proto_sync_msg pend;      /* envelopes of a bulk message, ingested by node_sync_work */
  uint8_t *pend_buf;
  uint8_t *out;             /* the last message composed */
  size_t outlen;
  uint8_t nudge[2];
};

static uint64_t rd_le64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void wr_le64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- the file map ------------------------------------------------------------ */

static size_t slot_of(const uint8_t *file, size_t cap)
{
  uint64_t h = 0;

  memcpy(&h, file, sizeof(h)); /* file ids are hashes: any 8 bytes spread well */
  return (size_t)h & (cap - 1);
}

static int map_grow(node_sync *x)
{
  size_t cap = x->mapcap ? x->mapcap * 2 : 64;
  sfile *m = calloc(cap, sizeof(*m));

  if (m == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < x->mapcap; i++) {
    if (!x->map[i].used)
      continue;
    size_t j = slot_of(x->map[i].file, cap);
    while (m[j].used)
      j = (j + 1) & (cap - 1);
    m[j] = x->map[i];
  }
  free(x->map);
  x->map = m;
  x->mapcap = cap;
  return BT_OK;
}

/* The run's state of a file; with create, made when absent (NULL: no
 * memory, or absent without create). */
static sfile *sf(node_sync *x, const uint8_t *file, int create)
{
  size_t j;

  if (x->mapcap) {
    for (j = slot_of(file, x->mapcap); x->map[j].used; j = (j + 1) & (x->mapcap - 1))
      if (memcmp(x->map[j].file, file, CRDT_FILE_LEN) == 0)
        return &x->map[j];
  }
  if (!create)
    return NULL;
  if ((x->mapused + 1) * 2 > x->mapcap && map_grow(x) != 0)
    return NULL;
  for (j = slot_of(file, x->mapcap); x->map[j].used; j = (j + 1) & (x->mapcap - 1))
    ;
  memset(&x->map[j], 0, sizeof(x->map[j]));
  memcpy(x->map[j].file, file, CRDT_FILE_LEN);
  x->map[j].used = 1;
  x->mapused++;
  return &x->map[j];
}

static void sf_recon_free(node_sync *x, sfile *f)
{
  if (f->rc) {
    proto_recon_free(f->rc);
    x->active--;
  }
  f->rc = NULL;
  free(f->items);
  f->items = NULL;
  free(f->rc_out);
  f->rc_out = NULL;
  f->rc_len = 0;
}

/* ---- the send queue ------------------------------------------------------------ */

static int q_push(node_sync *x, const uint8_t *file, const crdt_id *id, int claim)
{
  qitem *it;

  if (x->qhead > 0 && x->qhead == x->qlen) /* drained: start over */
    x->qhead = x->qlen = 0;
  if (x->qlen == x->qcap) {
    size_t cap = x->qcap ? x->qcap * 2 : 256;
    qitem *q = realloc(x->q, cap * sizeof(*q));
    if (q == NULL)
      return BT_ENOMEM;
    x->q = q;
    x->qcap = cap;
  }
  it = &x->q[x->qlen++];
  memcpy(it->file, file, CRDT_FILE_LEN);
  it->claim = (uint8_t)claim;
  if (id)
    it->id = *id;
  else
    memset(&it->id, 0, sizeof(it->id));
  return BT_OK;
}

/* Queues ops of a file, reordered parents first (node__causal_order). */
static int q_ids(node_sync *x, const uint8_t *file, crdt_id *ids, size_t n)
{
  MDB_txn *t;
  int rc;

  if (n > 1) {
    if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
      return rc;
    rc = node__causal_order(x->s, t, ids, n);
    mdb_txn_abort(t);
    if (rc != 0)
      return rc;
  }
  for (size_t i = 0; i < n; i++)
    if ((rc = q_push(x, file, &ids[i], 0)) != 0)
      return rc;
  return BT_OK;
}

/* Every stored op of a file, in (hour, id) order: parents mostly first. */
static int q_whole(node_sync *x, const uint8_t *file)
{
  crdt_id *ids;
  size_t n = 0;
  int rc;

  if ((rc = node_file_ops(x->s, file, NULL, 0, &n)) != 0)
    return rc;
  if ((ids = malloc((n + 1) * sizeof(*ids))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_file_ops(x->s, file, ids, n, &n)) == 0)
    rc = q_ids(x, file, ids, n);
  free(ids);
  return rc;
}

/* ---- remembered state ------------------------------------------------------------- */

static void mem_free(node_sync *x)
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

static int mem_load(node_sync *x)
{
  uint8_t pre[1 + CRDT_PK_LEN];
  MDB_val key = {sizeof(pre), pre}, v;
  MDB_cursor *c;
  MDB_txn *t;
  size_t cap = 0;
  int rc, mrc;

  mem_free(x);
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
    m->count = rd_le64(p);
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
      m->vv[i].seq = rd_le64(e + CRDT_PK_LEN);
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
static void mem_digest(const node_sync *x, uint8_t out[PROTO_SYNC_DIGEST_LEN])
{
  crypto_generichash_state h;
  uint8_t c[8];

  crypto_generichash_init(&h, NULL, 0, PROTO_SYNC_DIGEST_LEN);
  crypto_generichash_update(&h, (const uint8_t *)"baton/sync-memory", 17);
  for (size_t i = 0; i < x->nmem; i++) {
    wr_le64(c, x->mem[i].count);
    crypto_generichash_update(&h, x->mem[i].file, CRDT_FILE_LEN);
    crypto_generichash_update(&h, c, sizeof(c));
    crypto_generichash_update(&h, x->mem[i].sum, 32);
  }
  crypto_generichash_final(&h, out, PROTO_SYNC_DIGEST_LEN);
}

static const mem *mem_find(const node_sync *x, const uint8_t *file)
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
static int was_out(node_sync *x, MDB_txn *t, const node_scope_file *f)
{
  uint8_t k[PK_LEN];
  MDB_val key = {sizeof(k), k}, v;

  peer_key(k, OUT_TAG, x->peer.device_pk, f->file);
  if (mdb_get(t, x->s->db[DB_PEERS], &key, &v) != 0 || v.mv_size != 40)
    return 0;
  return rd_le64(v.mv_data) == f->count && memcmp((uint8_t *)v.mv_data + 8, f->sum, 32) == 0;
}

/* Run end: what both sides now hold of every file in scope (but those
 * out of it) becomes the agreed state; files out of it are remembered as
 * such, so they are not offered again until they change. */
static int mem_save(node_sync *x)
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
      sfile *f = sf(x, (const uint8_t *)key.mv_data + 1 + CRDT_PK_LEN, 0);
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
    peer_key(k, f->out ? OUT_TAG : MEM_TAG, x->peer.device_pk, f->file);
    wr_le64(val, r.count);
    memcpy(val + 8, r.sum, 32);
    len = 40;
    if (!f->out) {
      if ((rc = node__file_vv(x->s, t, f->file, vv, VV_MAX, &nv)) != 0)
        break;
      if (nv > VV_MAX)
        nv = 0; /* too many authors to remember: this file always reconciles */
      for (int b = 0; b < 4; b++)
        val[40 + b] = (uint8_t)(nv >> (8 * b));
      for (size_t j = 0; j < nv; j++) {
        memcpy(val + MEM_FIXED + j * (CRDT_PK_LEN + 8), vv[j].author, CRDT_PK_LEN);
        wr_le64(val + MEM_FIXED + j * (CRDT_PK_LEN + 8) + CRDT_PK_LEN, vv[j].seq);
      }
      len = MEM_FIXED + nv * (CRDT_PK_LEN + 8);
    }
    key = (MDB_val){sizeof(k), k};
    v = (MDB_val){len, val};
    if ((mrc = mdb_put(t, x->s->db[DB_PEERS], &key, &v, 0)) != 0)
      rc = node__err(mrc);
    if (rc == 0) { /* a file is either agreed or out, never both */
      peer_key(k, f->out ? MEM_TAG : OUT_TAG, x->peer.device_pk, f->file);
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

/* ---- life ---------------------------------------------------------------------- */

int node_sync_new(node_sync **out, node_store *s, const node_sync_peer *peer, int initiator,
                  const node_sync_opts *o)
{
  node_sync *x;

  if (s == NULL || peer == NULL || out == NULL)
    return BT_EINVAL;
  if (!s->has_org)
    return BT_ENOTFOUND;
  if (o && o->max_message && (o->max_message < NODE_SYNC_MSG_MIN ||
                              o->max_message > PROTO_SYNC_ENV_MAX * 64))
    return BT_EINVAL;
  if ((x = calloc(1, sizeof(*x))) == NULL)
    return BT_ENOMEM;
  if ((x->scratch = malloc(NODE_SYNC_RECON_BUDGET)) == NULL) {
    free(x);
    return BT_ENOMEM;
  }
  x->s = s;
  x->peer = *peer;
  x->initiator = initiator != 0;
  if (o)
    x->o = *o;
  if (x->o.nrelay > 0) {
    if ((x->relay = malloc(x->o.nrelay * sizeof(*x->relay))) == NULL) {
      free(x->scratch);
      free(x);
      return BT_ENOMEM;
    }
    memcpy(x->relay, o->relay_orgs, x->o.nrelay * sizeof(*x->relay));
    x->o.relay_orgs = x->relay;
  }
  if (x->o.max_message == 0)
    x->o.max_message = NODE_SYNC_MSG_DEFAULT;
  if (x->o.max_new_files == 0)
    x->o.max_new_files = NODE_SYNC_NEW_FILES_DEFAULT;
  *out = x;
  return BT_OK;
}

/* Drops envelopes left for node_sync_work. */
static void pend_clear(node_sync *x)
{
  free(x->pend.envs);
  free(x->pend_buf);
  memset(&x->pend, 0, sizeof(x->pend));
  x->pend_buf = NULL;
}

static void run_clear(node_sync *x)
{
  for (size_t i = 0; i < x->mapcap; i++)
    if (x->map[i].used)
      sf_recon_free(x, &x->map[i]);
  free(x->map);
  x->map = NULL;
  x->mapcap = x->mapused = 0;
  x->active = 0;
  free(x->q);
  x->q = NULL;
  x->qhead = x->qlen = x->qcap = 0;
  proto_recon_free(x->fr);
  x->fr = NULL;
  free(x->fitems);
  x->fitems = NULL;
  free(x->fr_out);
  x->fr_out = NULL;
  x->fr_len = 0;
  x->fr_done = 0;
  free(x->scope);
  x->scope = NULL;
  x->nscope = 0;
  mem_free(x);
  pend_clear(x);
  x->running = x->fast = x->fallback_owed = x->peer_idle = x->idle_sent = 0;
  x->new_files = 0;
}

void node_sync_free(node_sync *x)
{
  if (x == NULL)
    return;
  run_clear(x);
  free(x->out);
  free(x->relay);
  free(x->scratch);
  free(x);
}

int node_sync_running(const node_sync *x)
{
  return x->running;
}

int node_sync_pending(const node_sync *x)
{
  return x->initiator && x->want_run && !x->running;
}

void node_sync_get_stats(const node_sync *x, node_sync_stats *st)
{
  *st = x->st;
}

int node_sync_nudge(node_sync *x, const uint8_t **out, size_t *olen)
{
  if (x->initiator)
    return BT_EINVAL;
  *olen = proto_sync_nudge(x->nudge);
  *out = x->nudge;
  x->st.msgs_sent++;
  x->st.bytes_sent += *olen;
  return BT_OK;
}

/* ---- starting a run ------------------------------------------------------------ */

/* The scope now, and every file of it in the map. */
static int run_begin(node_sync *x, uint32_t run)
{
  int rc;

  run_clear(x);
  x->running = 1;
  x->run = run;
  x->n = 0;
  x->st.files_differ = 0;
  x->st.last_msgs = 0;
  x->st.last_fast = 0;
  x->now = node__now_ms(x->s);
  if ((rc = node_scope_list(x->s, &x->peer, &x->o, x->now, &x->scope, &x->nscope)) != 0)
    return rc;
  for (size_t i = 0; i < x->nscope; i++) {
    sfile *f = sf(x, x->scope[i].file, 1);
    if (f == NULL)
      return BT_ENOMEM;
    f->scope = 1;
  }
  return mem_load(x);
}

static int frecon_items(node_sync *x)
{
  if ((x->fitems = calloc(x->nscope + 1, sizeof(*x->fitems))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < x->nscope; i++) {
    uint8_t c[8 + 32], h[16];
    wr_le64(c, x->scope[i].count);
    memcpy(c + 8, x->scope[i].sum, 32);
    crypto_generichash(h, sizeof(h), c, sizeof(c), NULL, 0);
    x->fitems[i].ts = 0;
    memcpy(x->fitems[i].id.b, x->scope[i].file, CRDT_FILE_LEN);
    memcpy(x->fitems[i].id.b + CRDT_FILE_LEN, h, 16);
  }
  return BT_OK;
}

static size_t frecon_budget(const node_sync *x)
{
  size_t b = x->o.max_message / 4;

  return b > PROTO_RECON_MSG_MAX ? PROTO_RECON_MSG_MAX : b;
}

/* Begins the file-level reconciliation as its initiator: its first
 * message is owed. */
static int frecon_start(node_sync *x)
{
  proto_recon_opts ro = {.budget = frecon_budget(x), .threshold = FRECON_THRESHOLD,
                         .max_rounds = FRECON_ROUNDS};
  int rc;

  if ((rc = frecon_items(x)) != 0 ||
      (rc = proto_recon_new(&x->fr, 1, x->fitems, x->nscope, &ro)) != 0)
    return rc;
  if ((x->fr_out = malloc(ro.budget)) == NULL)
    return BT_ENOMEM;
  return proto_recon_start(x->fr, x->fr_out, ro.budget, &x->fr_len);
}

/* f differs (or may): compare per-author seqs first (a VV exchange: a
 * round trip, ~100 bytes per author), and ops by range only if the states
 * still differ after it (node_sync_opts.ranges: ranges at once). */
static void differs(node_sync *x, sfile *f)
{
  if (x->o.ranges)
    f->to_recon = 1;
  else
    f->vv_owed = f->vv_lead = 1;
}

/* Fast path, at run start: the ops of each changed file beyond the
 * remembered per-author seqs, then the claim of its state; a changed file
 * with nothing remembered reconciles. */
static int fast_plan(node_sync *x)
{
  MDB_txn *t;
  int rc = BT_OK;

  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
    return rc;
  for (size_t i = 0; rc == 0 && i < x->nscope; i++) {
    const node_scope_file *sc = &x->scope[i];
    const mem *m = mem_find(x, sc->file);
    sfile *f = sf(x, sc->file, 0);
    crdt_id *ids = NULL;
    size_t n = 0;

    if (m && m->count == sc->count && memcmp(m->sum, sc->sum, 32) == 0)
      continue; /* as agreed */
    if (m == NULL && was_out(x, t, sc)) {
      f->out = 1;
      continue;
    }
    if (m == NULL || (m->nv == 0 && m->count > 0)) {
      differs(x, f); /* nothing remembered of it: compare seqs first */
      continue;
    }
    if ((rc = node__ops_beyond(x->s, t, sc->file, m->vv, m->nv, &ids, &n)) == 0 &&
        (rc = q_ids(x, sc->file, ids, n)) == 0 && (rc = q_push(x, sc->file, NULL, 1)) == 0)
      f->fast_sent = 1;
    free(ids);
  }
  mdb_txn_abort(t);
  return rc;
}

/* ---- composing ------------------------------------------------------------------- */


/* Opens an op reconciliation for f over its stored (hour, id) keys, as
 * the side that starts it or the side that answers. */
static int recon_open(node_sync *x, sfile *f, int initiator)
{
  proto_recon_opts ro = {.budget = NODE_SYNC_RECON_BUDGET, .max_rounds = RECON_ROUNDS};
  node_rkey *keys = NULL;
  size_t n = 0;
  int rc;

  f->to_recon = 0;
  if ((rc = node_file_keys(x->s, f->file, NULL, 0, &n)) != 0)
    return rc;
  if ((keys = malloc((n + 1) * sizeof(*keys))) == NULL ||
      (f->items = malloc((n + 1) * sizeof(*f->items))) == NULL) {
    free(keys);
    return BT_ENOMEM;
  }
  if ((rc = node_file_keys(x->s, f->file, keys, n, &n)) == 0) {
    for (size_t i = 0; i < n; i++) {
      f->items[i].ts = keys[i].hour;
      f->items[i].id = keys[i].id;
    }
    rc = proto_recon_new(&f->rc, initiator, f->items, n, &ro);
  }
  free(keys);
  if (rc != 0)
    return rc;
  x->active++;
  return BT_OK;
}

/* Keeps the message a reconciliation just wrote into the scratch buffer
 * as f's owed section (most are a few hundred bytes). */
static int recon_keep(node_sync *x, sfile *f, size_t len)
{
  free(f->rc_out);
  f->rc_out = NULL;
  f->rc_len = 0;
  if (len == 0)
    return BT_OK;
  if ((f->rc_out = malloc(len)) == NULL)
    return BT_ENOMEM;
  memcpy(f->rc_out, x->scratch, len);
  f->rc_len = len;
  return BT_OK;
}

/* Starts an op reconciliation for f as its initiator: its first message
 * is owed. */
static int recon_start(node_sync *x, sfile *f)
{
  size_t len = 0;
  int rc;

  if ((rc = recon_open(x, f, 1)) != 0 ||
      (rc = proto_recon_start(f->rc, x->scratch, NODE_SYNC_RECON_BUDGET, &len)) != 0)
    return rc;
  return recon_keep(x, f, len);
}

/* Starts reconciliations for queued files while slots are free. */
static int recons_due(node_sync *x)
{
  int rc;

  for (size_t i = 0; i < x->mapcap && x->active < RECON_ACTIVE_MAX; i++) {
    sfile *f = &x->map[i];
    if (f->used && f->to_recon && !f->out && (rc = recon_start(x, f)) != 0)
      return rc;
  }
  return BT_OK;
}

static int owes(const node_sync *x)
{
  if (x->fr_len > 0 || x->fallback_owed || x->qhead < x->qlen || x->pend.nenvs > 0)
    return 1;
  for (size_t i = 0; i < x->mapcap; i++) {
    const sfile *f = &x->map[i];
    if (f->used && (f->rc_len > 0 || f->out_owed || f->vv_owed || (f->to_recon && !f->out)))
      return 1;
  }
  return 0;
}

static int add_want(node_sync *x, proto_sync_enc *e, sfile *f)
{
  crdt_id ids[PROTO_SYNC_WANT_MAX];
  proto_sync_section s = {.what = PROTO_SYNC_S_WANT};
  size_t n = 0;
  int rc;

  if ((rc = node_missing(x->s, f->file, ids, PROTO_SYNC_WANT_MAX, &n)) != 0)
    return rc;
  if (n == 0)
    return BT_OK;
  if (n > PROTO_SYNC_WANT_MAX)
    n = PROTO_SYNC_WANT_MAX;
  memcpy(s.file, f->file, CRDT_FILE_LEN);
  s.ids = ids[0].b;
  s.nids = n;
  if (proto_sync_enc_size(e) + proto_sync_section_size(&s) > x->o.max_message / 2)
    return BT_OK; /* no room: the next message */
  f->asks++;
  return proto_sync_enc_section(e, &s);
}

/* Our per-author seqs for f; a file with more authors than a section
 * holds is compared by range instead. */
static int add_vv(node_sync *x, proto_sync_enc *e, sfile *f)
{
  proto_sync_vv vv[PROTO_SYNC_VV_MAX];
  node_vv nv[PROTO_SYNC_VV_MAX];
  proto_sync_section s = {.what = PROTO_SYNC_S_VV, .vv = vv};
  size_t n = 0;
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__file_vv(x->s, t, f->file, nv, PROTO_SYNC_VV_MAX, &n);
  mdb_txn_abort(t);
  if (rc != 0)
    return rc;
  if (n > PROTO_SYNC_VV_MAX) {
    f->vv_lead = 0;
    f->to_recon = 1;
    return BT_OK;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(vv[i].author, nv[i].author, CRDT_PK_LEN);
    vv[i].seq = nv[i].seq;
  }
  s.nvv = n;
  memcpy(s.file, f->file, CRDT_FILE_LEN);
  if (proto_sync_enc_size(e) + proto_sync_section_size(&s) > x->o.max_message / 2) {
    f->vv_owed = 1; /* no room: the next message */
    return BT_OK;
  }
  return proto_sync_enc_section(e, &s);
}

/* The claim of a file's state now (after its ops left in the queue). */
static int add_claim(node_sync *x, proto_sync_enc *e, const uint8_t *file)
{
  proto_sync_section s = {.what = PROTO_SYNC_S_FAST};
  int rc;

  memcpy(s.file, file, CRDT_FILE_LEN);
  if ((rc = node_sync_file_state(x->s, file, &s.count, s.sum)) != 0)
    return rc == BT_ENOFILE ? BT_OK : rc;
  return proto_sync_enc_section(e, &s);
}

/* Envelopes from the queue while they fit. */
static int add_envs(node_sync *x, proto_sync_enc *e)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
    return rc;
  while (x->qhead < x->qlen) {
    qitem *it = &x->q[x->qhead];
    sfile *f = sf(x, it->file, 0);
    MDB_val key = {CRDT_ID_LEN, it->id.b}, v;
    int mrc;

    if (f == NULL || f->out || !f->scope) { /* the peer said OUT: drop */
      x->qhead++;
      continue;
    }
    if (f->judged != x->n + 1) {
      /* Scope again, once a message: a grant revoked while the run goes
       * on must stop the flow at once, not at the next run. */
      mdb_txn_abort(t);
      t = NULL;
      if ((rc = node_scope_has(x->s, &x->peer, &x->o, node__now_ms(x->s), f->file)) < 0)
        return rc;
      if (rc == 0 && !f->taken) {
        f->out = 1;
        f->out_owed = !f->out_told;
        x->qhead++;
      }
      f->judged = x->n + 1;
      if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
        return rc;
      continue;
    }
    if (it->claim) {
      if (proto_sync_enc_size(e) + 128 > x->o.max_message)
        break;
      mdb_txn_abort(t);
      t = NULL;
      if ((rc = add_claim(x, e, it->file)) != 0)
        return rc;
      x->qhead++;
      if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
        return rc;
      continue;
    }
    if ((mrc = mdb_get(t, x->s->db[DB_OPS], &key, &v)) == MDB_NOTFOUND) {
      x->qhead++; /* asked for, never held */
      continue;
    }
    if (mrc != 0) {
      mdb_txn_abort(t);
      return node__err(mrc);
    }
    if (proto_sync_enc_size(e) + v.mv_size + 16 > x->o.max_message)
      break;
    if ((rc = proto_sync_enc_env(e, v.mv_data, v.mv_size)) != 0) {
      mdb_txn_abort(t);
      return rc;
    }
    x->st.ops_sent++;
    x->qhead++;
  }
  if (t)
    mdb_txn_abort(t);
  return BT_OK;
}

/* Writes the next message into x->out, or *end = 1 when the run ends
 * here with nothing to say but END. */
static int compose(node_sync *x, int start, int end)
{
  uint8_t digest[PROTO_SYNC_DIGEST_LEN];
  proto_sync_enc *e = NULL;
  uint8_t flags = start ? PROTO_SYNC_START : 0;
  int rc, idle;

  if (start && x->fast) {
    mem_digest(x, digest);
    flags |= PROTO_SYNC_FAST;
  }
  if (x->fallback_owed) {
    flags |= PROTO_SYNC_FALLBACK;
    x->fallback_owed = 0;
  }
  if (end)
    flags |= PROTO_SYNC_END;
  if ((rc = recons_due(x)) != 0)
    return rc;
  if ((rc = proto_sync_enc_new(&e, x->run, x->n, flags, (flags & PROTO_SYNC_FAST) ? digest : NULL,
                               (bt_bytes){x->fr_out, x->fr_len})) != 0)
    return rc;
  x->fr_len = 0;
  /* Sections: what the peer waits for first; each bounded (a recon
   * message by its budget, active ones by the slots), wants and notices
   * while the message has room. What does not fit stays owed. */
  for (size_t i = 0, ns = 0; rc == 0 && i < x->mapcap; i++) {
    sfile *f = &x->map[i];
    proto_sync_section s = {0};
    if (!f->used)
      continue;
    if (ns >= PROTO_SYNC_SECTIONS_MAX - 1 ||
        proto_sync_enc_size(e) + f->rc_len + 64 > x->o.max_message / 2)
      continue; /* stays owed: the next message */
    ns++;
    memcpy(s.file, f->file, CRDT_FILE_LEN);
    if (f->out_owed) {
      s.what = PROTO_SYNC_S_OUT;
      f->out_owed = 0;
      f->out_told = 1;
      rc = proto_sync_enc_section(e, &s);
    } else if (f->vv_owed) {
      f->vv_owed = 0;
      rc = add_vv(x, e, f);
    } else if (f->rc_len > 0) {
      s.what = PROTO_SYNC_S_RECON;
      s.recon = (bt_bytes){f->rc_out, f->rc_len};
      f->rc_len = 0;
      rc = proto_sync_enc_section(e, &s);
      if (rc == 0 && f->rc && proto_recon_done(f->rc))
        sf_recon_free(x, f); /* our message ended it: done once sent */
    } else if (x->peer_idle && f->scope && f->asks < ASKS_MAX && !f->out && !end) {
      rc = add_want(x, e, f);
    }
  }
  if (rc == 0 && !end)
    rc = add_envs(x, e);
  idle = !owes(x);
  if (rc == 0 && idle)
    proto_sync_enc_flags(e, flags | PROTO_SYNC_IDLE);
  free(x->out);
  x->out = NULL;
  if (rc == 0)
    rc = proto_sync_enc_finish(e, &x->out, &x->outlen);
  proto_sync_enc_free(e);
  if (rc != 0)
    return rc;
  x->idle_sent = idle;
  x->n++;
  x->st.msgs_sent++;
  x->st.last_msgs++;
  x->st.bytes_sent += x->outlen;
  return BT_OK;
}

static int run_end(node_sync *x)
{
  int rc = mem_save(x);

  x->st.runs++;
  run_clear(x);
  return rc;
}

int node_sync_start(node_sync *x, const uint8_t **out, size_t *olen)
{
  int rc;

  *olen = 0;
  if (!x->initiator)
    return BT_EINVAL;
  if (x->running) {
    x->want_run = 1;
    return BT_OK;
  }
  x->want_run = 0;
  if ((rc = run_begin(x, x->run + 1)) != 0)
    goto fail;
  x->fast = !x->o.no_fast && x->nmem > 0;
  x->st.last_fast = x->fast;
  rc = x->fast ? fast_plan(x) : frecon_start(x);
  if (rc == 0)
    rc = compose(x, 1, 0);
  if (rc != 0)
    goto fail;
  *out = x->out;
  *olen = x->outlen;
  return BT_OK;
fail:
  run_clear(x);
  return rc;
}

/* ---- receiving --------------------------------------------------------------------- */

/* Whether ops of file are taken from this peer; a file this node does not
 * hold is taken (and tracked) by the rules of node_scope_takes_new. */
static int accepts(node_sync *x, const uint8_t *file, int *is_new)
{
  sfile *f = sf(x, file, 0);
  int rc;

  *is_new = 0;
  if (f && f->scope)
    return !f->out;
  if (f && f->out)
    return 0;
  if ((rc = node_file_epoch(x->s, file, (uint8_t[CRDT_EPOCH_LEN]){0})) == 0)
    return 0; /* held, not in scope for this peer */
  if (rc != BT_ENOFILE)
    return rc;
  if (!node_scope_takes_new(&x->peer, &x->o) || x->new_files >= x->o.max_new_files)
    return 0;
  *is_new = 1;
  return 1;
}

static int refuse(node_sync *x, const uint8_t *file)
{
  sfile *f = sf(x, file, 0);

  x->st.ops_refused++;
  if (f == NULL) { /* bounded: past the cap, refused without a notice */
    if (x->extra >= x->o.max_new_files)
      return BT_OK;
    if ((f = sf(x, file, 1)) == NULL)
      return BT_ENOMEM;
    x->extra++;
  }
  if (!f->out) {
    f->out = 1;
    f->out_owed = 1;
  }
  return BT_OK;
}

static void count_results(node_sync *x, const node_ingest_result *res, size_t n)
{
  for (size_t i = 0; i < n; i++)
    switch ((int)res[i].status) {
    case NODE_STORED:
      x->st.ops_stored++;
      break;
    case NODE_DUPLICATE:
      x->st.ops_dup++;
      break;
    case NODE_BUFFERED:
      x->st.ops_buffered++;
      break;
    case 0: /* not committed (the batch failed) */
      break;
    default:
      x->st.ops_rejected++;
      break;
    }
}

/* Ingests the envelopes of a message, in the order sent (parents first).
 * A file this node does not hold is taken only once one of its envelopes
 * (the probe) passes ingest's checks but for the file being unknown
 * (BT_ENOFILE: the signature checked): then it is tracked, and all its
 * envelopes go in with the rest. Big batches go through the streaming
 * ingest, which overlaps commits with signature checks. */
enum { E_SKIP, E_TAKE, E_NEW };

static int take_envs(node_sync *x, const proto_sync_msg *m)
{
  bt_bytes *take = NULL, *probe = NULL;
  uint8_t (*files)[CRDT_FILE_LEN] = NULL, *cls = NULL;
  size_t *probe_of = NULL;
  node_ingest_result *res = NULL;
  size_t nt = 0, np = 0;
  int rc = BT_OK;

  if (m->nenvs == 0)
    return BT_OK;
  if ((take = malloc(m->nenvs * sizeof(*take))) == NULL ||
      (probe = malloc(m->nenvs * sizeof(*probe))) == NULL ||
      (probe_of = malloc(m->nenvs * sizeof(*probe_of))) == NULL ||
      (files = malloc(m->nenvs * sizeof(*files))) == NULL ||
      (cls = calloc(m->nenvs, 1)) == NULL || (res = calloc(m->nenvs, sizeof(*res))) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < m->nenvs; i++) {
    crdt_op *op;
    int is_new, ok;
    sfile *f;
    if (crdt_op_decode(m->envs[i].p, m->envs[i].len, &op) != 0) {
      x->st.ops_rejected++;
      continue;
    }
    memcpy(files[i], op->h.file, CRDT_FILE_LEN);
    crdt_op_free(op);
    if ((ok = accepts(x, files[i], &is_new)) < 0) {
      rc = ok;
      goto out;
    }
    if (ok == 0) {
      if ((rc = refuse(x, files[i])) != 0)
        goto out;
      continue;
    }
    f = sf(x, files[i], 0);
    if (is_new && (f == NULL || !f->probed) && x->new_files + np >= x->o.max_new_files) {
      x->st.ops_refused++; /* past the new-file cap, counting this message's */
      continue;
    }
    if (f == NULL && (f = sf(x, files[i], 1)) == NULL) {
      rc = BT_ENOMEM;
      goto out;
    }
    f->touched = 1;
    cls[i] = is_new ? E_NEW : E_TAKE;
    if (is_new && !f->probed) { /* the first envelope of a new file probes it */
      f->probed = 1;
      probe_of[np] = i;
      probe[np++] = m->envs[i];
    }
  }
  if (np > 0) {
    if ((rc = node_ingest(x->s, probe, np, res, NULL)) != 0)
      goto out;
    MDB_txn *t;
    if ((rc = node__txn(x->s, 0, &t)) != 0)
      goto out;
    for (size_t k = 0; rc == 0 && k < np; k++) {
      size_t i = probe_of[k];
      sfile *f = sf(x, files[i], 0);
      if (res[k].status != NODE_REJECTED || res[k].reason != BT_ENOFILE)
        continue; /* judged on its own (rejected: the file stays unknown) */
      if (x->new_files >= x->o.max_new_files)
        continue;
      if ((rc = node__track_txn(x->s, t, files[i], (uint8_t[CRDT_EPOCH_LEN]){0}, NULL)) != 0)
        break;
      f->scope = 2; /* taken, once committed: in scope for the rest of the run */
    }
    if ((rc = node__txn_end(t, rc)) != 0)
      goto out;
    for (size_t k = 0; k < np; k++) { /* all new files of the message, in one commit */
      sfile *f = sf(x, files[probe_of[k]], 0);
      if (f->scope == 2) {
        f->scope = 1;
        f->taken = 1;
        x->new_files++;
        x->st.files_new++;
      }
    }
  }
  for (size_t i = 0; i < m->nenvs; i++) {
    if (cls[i] == E_TAKE || (cls[i] == E_NEW && sf(x, files[i], 0)->scope))
      take[nt++] = m->envs[i];
    else if (cls[i] == E_NEW)
      x->st.ops_refused++; /* its file's probe failed: perhaps next time */
  }
  if (nt > 0) {
    rc = nt > 4096 ? node_ingest_stream(x->s, take, nt, 4096, res, NULL)
                   : node_ingest(x->s, take, nt, res, NULL);
    count_results(x, res, nt); /* committed ones, on an error too */
  }
out:
  free(take);
  free(probe);
  free(probe_of);
  free(files);
  free(cls);
  free(res);
  return rc;
}

/* The file-level reconciliation is done: act on the files that differ. */
static int frecon_done(node_sync *x, int leader)
{
  const proto_recon_item *have, *need;
  size_t nh, nn, i = 0, j = 0;
  int rc;

  if ((rc = proto_recon_have(x->fr, &have, &nh)) != 0 ||
      (rc = proto_recon_need(x->fr, &need, &nn)) != 0)
    return rc;
  /* Both lists ascend by id, whose first 16 bytes are the file id. */
  while (i < nh || j < nn) {
    int c = i == nh ? 1 : j == nn ? -1 : memcmp(have[i].id.b, need[j].id.b, CRDT_FILE_LEN);
    const uint8_t *file = c <= 0 ? have[i].id.b : need[j].id.b;
    sfile *f = sf(x, file, 1);
    if (f == NULL)
      return BT_ENOMEM;
    x->st.files_differ++;
    if (c == 0) { /* both hold it: compare seqs, then ops if need be */
      if (leader)
        differs(x, f);
      i++;
      j++;
    } else if (c < 0) { /* the peer lacks it: all of it */
      if ((rc = q_whole(x, file)) != 0)
        return rc;
      i++;
    } else { /* we lack it in our scope for the peer */
      int is_new;
      if ((rc = accepts(x, file, &is_new)) < 0)
        return rc;
      if (rc == 0 && !f->out) {
        f->out = 1;
        f->out_owed = 1;
      }
      j++;
    }
  }
  return BT_OK;
}

static int frecon_recv(node_sync *x, bt_bytes b)
{
  size_t budget = frecon_budget(x);
  int rc;

  if (x->fr == NULL) { /* the peer began it: we answer */
    proto_recon_opts ro = {.budget = budget, .threshold = FRECON_THRESHOLD,
                           .max_rounds = FRECON_ROUNDS};
    if (x->fast)
      return BT_EPROTO; /* a fast run has none */
    if ((rc = frecon_items(x)) != 0 ||
        (rc = proto_recon_new(&x->fr, 0, x->fitems, x->nscope, &ro)) != 0)
      return rc;
  }
  if (x->fr_done)
    return BT_EPROTO;
  if (x->fr_out == NULL && (x->fr_out = malloc(budget)) == NULL)
    return BT_ENOMEM;
  if ((rc = proto_recon_recv(x->fr, b.p, b.len, x->fr_out, budget, &x->fr_len)) != 0)
    return rc;
  if (proto_recon_done(x->fr)) {
    x->fr_done = 1;
    return frecon_done(x, x->fr_len > 0);
  }
  return BT_OK;
}

/* An op reconciliation message for f. */
static int recon_recv(node_sync *x, sfile *f, bt_bytes b)
{
  size_t len = 0;
  int rc;

  if (f->rc == NULL && (rc = recon_open(x, f, 0)) != 0) /* the peer began it */
    return rc;
  if (f->rc_len > 0)
    return BT_EPROTO; /* our last message for it is not even sent */
  if ((rc = proto_recon_recv(f->rc, b.p, b.len, x->scratch, NODE_SYNC_RECON_BUDGET, &len)) != 0 ||
      (rc = recon_keep(x, f, len)) != 0)
    return rc;
  if (proto_recon_done(f->rc)) {
    const proto_recon_item *have;
    size_t nh;
    crdt_id *ids;
    if ((rc = proto_recon_have(f->rc, &have, &nh)) != 0)
      return rc;
    if ((ids = malloc((nh + 1) * sizeof(*ids))) == NULL)
      return BT_ENOMEM;
    for (size_t i = 0; i < nh; i++)
      ids[i] = have[i].id;
    rc = q_ids(x, f->file, ids, nh);
    free(ids);
    if (rc != 0)
      return rc;
    if (f->rc_len == 0) /* the peer's message ended it */
      sf_recon_free(x, f);
  }
  return BT_OK;
}

/* Queues the ops a WANT names that we hold in that file; others are
 * skipped (never held here, or in another file). */
static int want_recv(node_sync *x, sfile *f, const proto_sync_section *s)
{
  crdt_id ids[PROTO_SYNC_WANT_MAX];
  size_t n = 0;
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
    return rc;
  for (size_t i = 0; i < s->nids && i < PROTO_SYNC_WANT_MAX; i++) {
    MDB_val key = {CRDT_ID_LEN, (void *)(s->ids + i * CRDT_ID_LEN)}, v;
    crdt_op *op;
    int mrc = mdb_get(t, x->s->db[DB_OPS], &key, &v);
    if (mrc == MDB_NOTFOUND)
      continue;
    if (mrc != 0) {
      mdb_txn_abort(t);
      return node__err(mrc);
    }
    if (crdt_op_decode(v.mv_data, v.mv_size, &op) != 0)
      continue;
    if (memcmp(op->h.file, f->file, CRDT_FILE_LEN) == 0)
      memcpy(ids[n++].b, key.mv_data, CRDT_ID_LEN);
    crdt_op_free(op);
  }
  mdb_txn_abort(t);
  return q_ids(x, f->file, ids, n);
}

/* The peer's per-author seqs for f: queue what it lacks; the side that
 * began the exchange then claims its state (which by now holds the peer's
 * ops: they came in the same message), the other answers with its own. */
static int vv_recv(node_sync *x, sfile *f, const proto_sync_section *s)
{
  node_vv *vv = NULL;
  crdt_id *ids = NULL;
  size_t n = 0;
  MDB_txn *t;
  int rc;

  if (s->nvv > 0 && (vv = malloc(s->nvv * sizeof(*vv))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < s->nvv; i++) {
    memcpy(vv[i].author, s->vv[i].author, CRDT_PK_LEN);
    vv[i].seq = s->vv[i].seq;
  }
  if ((rc = node__txn(x->s, MDB_RDONLY, &t)) == 0) {
    rc = node__ops_beyond(x->s, t, f->file, vv, s->nvv, &ids, &n);
    mdb_txn_abort(t);
  }
  free(vv);
  if (rc == 0)
    rc = q_ids(x, f->file, ids, n);
  free(ids);
  if (rc != 0)
    return rc;
  if (f->vv_lead) {
    f->vv_lead = 0;
    return q_push(x, f->file, NULL, 1); /* the claim, after the ops */
  }
  f->vv_owed = 1;
  return BT_OK;
}

/* A file the peer names in a VV or RECON section: *f its entry, and 1 to
 * go on. In scope: as it is. Not held here but takeable (a file being
 * shared with us): an entry out of scope, so we answer as holding nothing
 * and its ops take the probe path of take_envs when they come. Otherwise
 * OUT (0). Entries for files out of our scope are bounded. */
static int named(node_sync *x, const uint8_t *file, sfile **f)
{
  int rc, is_new;

  *f = sf(x, file, 0);
  if (*f && (*f)->out) {
    (*f)->out_owed = !(*f)->out_told; /* remembered out: say so, once */
    return 0;
  }
  if (*f && ((*f)->scope || (*f)->named_new))
    return 1;
  if ((rc = accepts(x, file, &is_new)) < 0)
    return rc;
  if (rc == 0)
    return refuse(x, file);
  if (*f == NULL) {
    if (x->extra >= x->o.max_new_files)
      return BT_EPROTO; /* names more unknown files than we would take */
    if ((*f = sf(x, file, 1)) == NULL)
      return BT_ENOMEM;
    x->extra++;
  }
  (*f)->named_new = 1;
  return 1;
}

static int section(node_sync *x, const proto_sync_section *s)
{
  sfile *f = sf(x, s->file, 0);
  int rc, is_new;

  switch (s->what) {
  case PROTO_SYNC_S_OUT:
    if (f == NULL)
      return BT_OK; /* never offered: nothing to stop */
    f->out = 1;
    f->to_recon = 0;
    sf_recon_free(x, f);
    return BT_OK;
  case PROTO_SYNC_S_WANT:
    if (f == NULL || !f->scope || f->out || f->wants >= ASKS_MAX)
      return BT_OK; /* not ours to give, or asked too often: nothing */
    f->wants++;
    return want_recv(x, f, s);
  case PROTO_SYNC_S_VV:
    if ((rc = named(x, s->file, &f)) != 1)
      return rc; /* refused (OUT owed), or out already */
    if (++f->vvs_in > 2)
      return BT_EPROTO; /* one exchange a run, each side's vector once */
    return vv_recv(x, f, s);
  case PROTO_SYNC_S_FAST:
    if (x->ignore_claims)
      return BT_OK;
    if (f == NULL || !f->scope) {
      if ((rc = accepts(x, s->file, &is_new)) < 0)
        return rc;
      return rc == 0 ? refuse(x, s->file) : BT_OK; /* new: its ops came whole */
    }
    f->claimed = 1;
    f->claim_count = s->count;
    memcpy(f->claim_sum, s->sum, 32);
    return BT_OK;
  case PROTO_SYNC_S_RECON:
    if ((rc = named(x, s->file, &f)) != 1)
      return rc;
    if (f->rc == NULL && x->active >= 2 * RECON_ACTIVE_MAX)
      return BT_EPROTO; /* more at once than an honest peer starts */
    return recon_recv(x, f, s->recon);
  default:
    return BT_EPROTO;
  }
}

/* After a message: check the peer's fast claims against what we hold now. */
static int check_claims(node_sync *x)
{
  for (size_t i = 0; i < x->mapcap; i++) {
    sfile *f = &x->map[i];
    uint64_t count;
    uint8_t sum[32];
    int rc;

    if (!f->used || !f->claimed)
      continue;
    f->claimed = 0;
    if (f->fast_sent && !x->initiator)
      continue; /* we changed it too: our claim is the one checked */
    if ((rc = node_sync_file_state(x->s, f->file, &count, sum)) != 0 && rc != BT_ENOFILE)
      return rc;
    if (rc == 0 && count == f->claim_count && memcmp(sum, f->claim_sum, 32) == 0)
      continue;
    if (!f->out && f->rc == NULL) {
      f->to_recon = 1;
      x->st.files_differ++;
    }
  }
  return BT_OK;
}

/* ---- deferred ingest ------------------------------------------------------------ */

/* A bulk message (envelopes only, from a sender with more to come) is
 * answered before its envelopes are ingested: nothing in the answer
 * depends on them, and the sender prepares its next message while this
 * side ingests (node_sync_work). The answer is never IDLE, so the run
 * cannot end with envelopes still waiting. */
static int is_bulk(const node_sync *x, const proto_sync_msg *m)
{
  return !x->o.no_defer && m->nenvs > 0 && m->nsections == 0 && m->frecon.len == 0 &&
         (m->flags & PROTO_SYNC_FLAGS) == 0;
}

static int pend_keep(node_sync *x, const proto_sync_msg *m)
{
  size_t total = 0, off = 0;

  for (size_t i = 0; i < m->nenvs; i++)
    total += m->envs[i].len;
  if ((x->pend_buf = malloc(total ? total : 1)) == NULL ||
      (x->pend.envs = malloc(m->nenvs * sizeof(*x->pend.envs))) == NULL) {
    pend_clear(x);
    return BT_ENOMEM;
  }
  for (size_t i = 0; i < m->nenvs; i++) {
    memcpy(x->pend_buf + off, m->envs[i].p, m->envs[i].len);
    x->pend.envs[i] = (bt_bytes){x->pend_buf + off, m->envs[i].len};
    off += m->envs[i].len;
  }
  x->pend.nenvs = m->nenvs;
  return BT_OK;
}

int node_sync_work(node_sync *x)
{
  int rc;

  if (x->pend.nenvs == 0)
    return BT_OK;
  rc = take_envs(x, &x->pend);
  pend_clear(x);
  if (rc != 0)
    run_clear(x);
  return rc;
}

static int handle(node_sync *x, const proto_sync_msg *m, int *reply, int *ended)
{
  int rc;

  *reply = 1;
  *ended = 0;
  if (!x->running) {
    if (x->initiator || !(m->flags & PROTO_SYNC_START))
      return BT_ESEQ;
    if ((rc = run_begin(x, m->run)) != 0)
      return rc;
    if (m->flags & PROTO_SYNC_FAST) {
      uint8_t d[PROTO_SYNC_DIGEST_LEN];
      mem_digest(x, d);
      if (x->o.no_fast || x->nmem == 0 || sodium_memcmp(d, m->digest, sizeof(d)) != 0) {
        x->fallback_owed = 1; /* we take the full path, and begin it */
        x->ignore_claims = 1;
        if ((rc = frecon_start(x)) != 0)
          return rc;
      } else {
        x->fast = 1;
        if ((rc = fast_plan(x)) != 0)
          return rc;
      }
    }
  } else if (m->run != x->run || (m->flags & PROTO_SYNC_START)) {
    return BT_ESEQ;
  }
  if (m->n != x->n)
    return BT_ESEQ;
  x->n++;
  x->st.last_msgs++;
  x->st.last_fast = x->fast;
  if (x->initiator && (m->flags & PROTO_SYNC_FALLBACK)) {
    if (!x->fast || m->n != 1)
      return BT_EPROTO;
    x->fast = 0; /* the peer begins the full path: we answer */
    for (size_t i = 0; i < x->mapcap; i++)
      x->map[i].to_recon = x->map[i].fast_sent = 0;
  }
  x->peer_idle = (m->flags & PROTO_SYNC_IDLE) != 0;
  if (is_bulk(x, m))
    rc = pend_keep(x, m); /* ingested after the answer is on its way */
  else
    rc = take_envs(x, m);
  if (rc != 0)
    return rc;
  if (m->frecon.len > 0 && (rc = frecon_recv(x, m->frecon)) != 0)
    return rc;
  for (size_t i = 0; i < m->nsections; i++)
    if ((rc = section(x, &m->sections[i])) != 0)
      return rc;
  x->ignore_claims = 0;
  if ((rc = check_claims(x)) != 0)
    return rc;
  if (m->flags & PROTO_SYNC_END) {
    if (!x->idle_sent || owes(x))
      return BT_EPROTO; /* END answers an idle message only */
    *reply = 0;
    *ended = 1;
    return BT_OK;
  }
  if (x->peer_idle && !owes(x)) {
    /* Idle both: unless parents are still missing, END. */
    int want = 0;
    for (size_t i = 0; i < x->mapcap && !want; i++) {
      sfile *f = &x->map[i];
      crdt_id id;
      size_t n = 0;
      if (!f->used || !f->scope || f->out || f->asks >= ASKS_MAX)
        continue;
      if ((rc = node_missing(x->s, f->file, &id, 1, &n)) != 0)
        return rc;
      want = n > 0;
    }
    if (!want)
      *ended = 1;
  }
  return BT_OK;
}

int node_sync_recv(node_sync *x, const uint8_t *m, size_t len, const uint8_t **out,
                   size_t *olen)
{
  proto_sync_msg msg;
  int kind, rc, reply, ended;

  *olen = 0;
  if ((rc = node_sync_work(x)) != 0) /* the caller did not: now */
    return rc;
  x->st.msgs_recv++;
  x->st.bytes_recv += len;
  memset(&msg, 0, sizeof(msg));
  if ((rc = proto_sync_decode(m, len, &kind, &msg)) != 0)
    return rc;
  if (kind == PROTO_SYNC_NUDGE) {
    if (!x->initiator)
      return BT_EPROTO;
    x->want_run = 1;
    if (x->running)
      return BT_OK;
    return node_sync_start(x, out, olen);
  }
  rc = handle(x, &msg, &reply, &ended);
  proto_sync_msg_free(&msg);
  if (rc != 0) {
    run_clear(x);
    return rc;
  }
  if (reply && (rc = compose(x, 0, ended)) != 0) {
    run_clear(x);
    return rc;
  }
  if (ended) {
    if ((rc = run_end(x)) != 0)
      return rc;
  }
  if (reply) {
    *out = x->out;
    *olen = x->outlen;
  }
  return BT_OK;
}
