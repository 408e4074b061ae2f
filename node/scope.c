/* node/scope.c: the files a peer may be offered (node/scope.h).
 *
 * One pass over the file table in one read transaction judges every file
 * by its tags; the few files whose access state must also be read (shared
 * with the peer's org, readable here) are judged after it, because
 * materialising a file opens transactions of its own. */
#define _POSIX_C_SOURCE 200809L
#include "node/scope.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/access.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/share.h"
#include "node/store_int.h"

enum { IN_NO = 0, IN_YES, IN_IF_LIVE };

int node_scope_relays_for(const node_sync_peer *peer, const node_sync_opts *o)
{
  if (o->relay_all)
    return 1;
  for (size_t i = 0; i < o->nrelay; i++)
    if ((crdt_id_cmp(&o->relay_orgs[i], &peer->org_pk) == 0))
      return 1;
  return 0;
}

static int is_relay(const node_sync_opts *o)
{
  return o->relay_all || o->nrelay > 0;
}

int node_scope_takes_new(const node_sync_peer *peer, const node_sync_opts *o)
{
  return is_relay(o) ? node_scope_relays_for(peer, o) : 1;
}

typedef struct {
  node_store *s;
  MDB_txn *t;
  const uint8_t *file;
  int found;
} foreign_ctx;

/* A tag that is neither this org's keybox tag nor an epoch it holds keys
 * for: a keybox for another org (or an epoch this node was never given). */
static int foreign_tag(void *ctx, const uint8_t *tag)
{
  foreign_ctx *f = ctx;
  uint8_t k[CRDT_FILE_LEN + CRDT_EPOCH_LEN];
  MDB_val key = {sizeof(k), k}, v;
  int rc;

  if (f->s->has_org && memcmp(tag, f->s->box_tag, CRDT_EPOCH_LEN) == 0)
    return 0;
  memcpy(k, f->file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, tag, CRDT_EPOCH_LEN);
  rc = mdb_get(f->t, f->s->db[DB_EPOCHS], &key, &v);
  if (rc == MDB_NOTFOUND) {
    f->found = 1;
    return 1;
  }
  return rc == 0 ? 0 : node__err(rc);
}

/* The directory files of the LAs this node trusts: public, offered to
 * every peer. (A file is public because of what its id is, never because
 * of what its ops claim: anyone can put an op with any header epoch into a
 * file it knows the id of.) */
typedef struct {
  uint8_t (*file)[CRDT_FILE_LEN];
  size_t n;
} dirset;

static int dirs_load(node_store *s, dirset *d)
{
  crdt_id *roots;
  size_t n = 0;
  int rc;

  d->file = NULL;
  d->n = 0;
  if ((rc = node_anchors(s, NULL, 0, &n)) != 0 || n == 0)
    return rc;
  if ((roots = malloc(n * sizeof(*roots))) == NULL ||
      (d->file = malloc(n * sizeof(*d->file))) == NULL) {
    free(roots);
    return BT_ENOMEM;
  }
  if ((rc = node_anchors(s, roots, n, &n)) == 0) {
    for (size_t i = 0; i < n; i++)
      node_dir_file(&roots[i], d->file[i]);
    d->n = n;
  }
  free(roots);
  return rc;
}

static int is_dir(const dirset *d, const uint8_t *file)
{
  for (size_t i = 0; i < d->n; i++)
    if (memcmp(d->file[i], file, CRDT_FILE_LEN) == 0)
      return 1;
  return 0;
}

/* The verdict on one file from its tags alone. */
static int judge(node_store *s, MDB_txn *t, const node_sync_peer *peer, const node_sync_opts *o,
                 const uint8_t *peer_tag, const dirset *dirs, const uint8_t *file, int *verdict)
{
  int rc, ours, theirs;

  *verdict = IN_NO;
  if (is_dir(dirs, file)) {
    *verdict = IN_YES;
    return BT_OK;
  }
  ours = s->has_org ? node__file_has_tag(s, t, file, s->box_tag) : 0;
  if (ours < 0)
    return ours;
  if (s->has_org && (crdt_id_cmp(&peer->org_pk, &s->org_pk) == 0)) { /* our own org's device */
    *verdict = ours ? IN_YES : IN_NO;
    return BT_OK;
  }
  if ((theirs = node__file_has_tag(s, t, file, peer_tag)) < 0)
    return theirs;
  if (theirs) {
    /* Readable here: only while the grant lives. Carried only: for an org
     * this node relays for. */
    if (ours)
      *verdict = IN_IF_LIVE;
    else if (node_scope_relays_for(peer, o))
      *verdict = IN_YES;
  }
  if (*verdict != IN_YES && peer->relay && ours) {
    foreign_ctx f = {s, t, file, 0};
    if ((rc = node__file_tags(s, t, file, foreign_tag, &f)) < 0)
      return rc;
    if (f.found)
      *verdict = IN_YES; /* shared beyond this org: the relay carries it */
  }
  return BT_OK;
}

/* Who holds a file, kept in DB_GRANTS (file -> access key(16) n(4), then
 * n times org key(32) expiry(8, Unix ms, 0: none)): the holder and every
 * org with an unrevoked grant, as the access state said when the file's
 * access key (node__file_access_key: it changes with every op that could
 * change who holds the file, not with content ops) had that value.
 * Judging scope must not materialise every shared file on every run. */
enum { SUM_FIXED = NODE_ACCESS_KEY_LEN + 4, SUM_ENTRY = CRDT_ID_LEN + 8 };

static uint64_t le64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* 1 or 0 from a stored summary that fits the file now; -1 if none does. */
static int summary_live(node_store *s, MDB_txn *t, const uint8_t *file, const crdt_id *org,
                        uint64_t now_ms)
{
  uint8_t akey[NODE_ACCESS_KEY_LEN];
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  const uint8_t *p;
  uint32_t n;
  int rc;

  if (mdb_get(t, s->db[DB_GRANTS], &key, &v) != 0 || v.mv_size < SUM_FIXED)
    return -1;
  if ((rc = node__file_access_key(s, t, file, akey)) != 0)
    return rc == BT_ENOFILE ? 0 : rc;
  p = v.mv_data;
  n = (uint32_t)p[16] | (uint32_t)p[17] << 8 | (uint32_t)p[18] << 16 | (uint32_t)p[19] << 24;
  if (memcmp(p, akey, NODE_ACCESS_KEY_LEN) != 0 ||
      v.mv_size != SUM_FIXED + (size_t)n * SUM_ENTRY)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = p + SUM_FIXED + (size_t)i * SUM_ENTRY;
    uint64_t exp = le64(e + CRDT_ID_LEN);
    if (memcmp(e, org->b, CRDT_ID_LEN) == 0 && (exp == 0 || now_ms < exp))
      return 1;
  }
  return 0;
}

int node__scope_summary_put(node_store *s, MDB_txn *t, const uint8_t *file, const crdt_access *a)
{
  uint8_t *val;
  size_t n = 0;
  MDB_val key = {CRDT_FILE_LEN, (void *)file}, v;
  int rc;

  if ((val = malloc(SUM_FIXED + (a->ngrants + 1) * SUM_ENTRY)) == NULL)
    return BT_ENOMEM;
  if ((rc = node__file_access_key(s, t, file, val)) != 0) {
    free(val);
    return rc;
  }
  if (a->has_genesis) {
    memcpy(val + SUM_FIXED, a->holder.b, CRDT_ID_LEN);
    put_le64(val + SUM_FIXED + CRDT_ID_LEN, 0);
    n++;
  }
  for (size_t i = 0; i < a->ngrants; i++) {
    const crdt_acc_grant *g = &a->grants[i];
    if (!crdt_id_is_zero(&g->revoked_by))
      continue;
    memcpy(val + SUM_FIXED + n * SUM_ENTRY, g->g->org.b, CRDT_ID_LEN);
    put_le64(val + SUM_FIXED + n * SUM_ENTRY + CRDT_ID_LEN, g->g->expires_at);
    n++;
  }
  for (int b = 0; b < 4; b++)
    val[16 + b] = (uint8_t)(n >> (8 * b));
  v = (MDB_val){SUM_FIXED + n * SUM_ENTRY, val};
  rc = node__err(mdb_put(t, s->db[DB_GRANTS], &key, &v, 0));
  free(val);
  return rc;
}

/* Reads the access state (materialising the file) and keeps its summary,
 * if no op came in meanwhile; then judges from it. */
static int summary_make(node_store *s, const uint8_t *file, const crdt_id *org, uint64_t now_ms,
                        int *live)
{
  uint8_t before[NODE_ACCESS_KEY_LEN], after[NODE_ACCESS_KEY_LEN];
  const crdt_access *a;
  MDB_txn *t;
  int rc;

  *live = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__file_access_key(s, t, file, before);
  mdb_txn_abort(t);
  if (rc != 0)
    return rc == BT_ENOFILE ? BT_OK : rc;
  if ((rc = node_access(s, file, &a)) != 0)
    return rc == BT_EEPOCH || rc == BT_ENOFILE ? BT_OK : rc;
  if (a->has_genesis && crdt_id_cmp(&a->holder, org) == 0)
    *live = 1;
  for (size_t i = 0; i < a->ngrants; i++)
    if (crdt_id_cmp(&a->grants[i].g->org, org) == 0 && crdt_acc_grant_live(&a->grants[i], now_ms))
      *live = 1;
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = node__file_access_key(s, t, file, after)) == 0 &&
      memcmp(before, after, sizeof(before)) == 0)
    rc = node__scope_summary_put(s, t, file, a);
  return node__txn_end(t, rc);
}

/* Whether the peer's org holds the file now: its holder, or a live grant. */
static int live(node_store *s, const node_sync_peer *peer, uint64_t now_ms, const uint8_t *file)
{
  MDB_txn *t;
  int rc, v;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  v = summary_live(s, t, file, &peer->org_pk, now_ms);
  mdb_txn_abort(t);
  if (v >= 0 || v < -1)
    return v;
  return (rc = summary_make(s, file, &peer->org_pk, now_ms, &v)) != 0 ? rc : v;
}

int node_scope_list(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                    uint64_t now_ms, node_scope_file **out, size_t *n)
{
  uint8_t peer_tag[CRDT_EPOCH_LEN];
  node_scope_file *v = NULL;
  uint8_t *check = NULL; /* verdict per entry of v */
  size_t nv = 0, cap = 0, keep = 0;
  MDB_cursor *c = NULL;
  MDB_val key, val;
  MDB_txn *t;
  dirset dirs;
  int rc, mrc;

  *out = NULL;
  *n = 0;
  crdt_keybox_tag(peer->box_pk.b, peer_tag);
  if ((rc = dirs_load(s, &dirs)) != 0)
    return rc;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0) {
    free(dirs.file);
    return rc;
  }
  if ((mrc = mdb_cursor_open(t, s->db[DB_FILES], &c)) != 0) {
    mdb_txn_abort(t);
    free(dirs.file);
    return node__err(mrc);
  }
  mrc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
  while (mrc == 0) {
    int verdict;
    filerec r;

    if (key.mv_size != CRDT_FILE_LEN) {
      rc = BT_ECORRUPT;
      break;
    }
    if ((rc = judge(s, t, peer, o, peer_tag, &dirs, key.mv_data, &verdict)) != 0)
      break;
    if (verdict != IN_NO) {
      if ((rc = node__filerec_get(s, t, key.mv_data, &r)) != 0)
        break;
      if (nv == cap) {
        size_t nc = cap ? cap * 2 : 64;
        node_scope_file *nvv = realloc(v, nc * sizeof(*v));
        uint8_t *nck = nvv ? realloc(check, nc) : NULL;
        if (nvv)
          v = nvv;
        if (nck == NULL) {
          rc = BT_ENOMEM;
          break;
        }
        check = nck;
        cap = nc;
      }
      memcpy(v[nv].file, key.mv_data, CRDT_FILE_LEN);
      v[nv].count = r.count;
      memcpy(v[nv].sum, r.sum, 32);
      check[nv++] = (uint8_t)verdict;
    }
    mrc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  free(dirs.file);
  if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = node__err(mrc);
  for (size_t i = 0; rc == 0 && i < nv; i++) {
    int ok = 1;
    if (check[i] == IN_IF_LIVE && (ok = live(s, peer, now_ms, v[i].file)) < 0)
      rc = ok;
    else if (ok)
      v[keep++] = v[i];
  }
  free(check);
  if (rc != 0) {
    free(v);
    return rc;
  }
  *out = v;
  *n = keep;
  return BT_OK;
}

int node_scope_has(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                   uint64_t now_ms, const uint8_t file[CRDT_FILE_LEN])
{
  uint8_t peer_tag[CRDT_EPOCH_LEN];
  MDB_txn *t;
  filerec r;
  dirset dirs;
  int rc, verdict = IN_NO;

  crdt_keybox_tag(peer->box_pk.b, peer_tag);
  if ((rc = dirs_load(s, &dirs)) != 0)
    return rc;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) == 0) {
    if ((rc = node__filerec_get(s, t, file, &r)) == 0)
      rc = judge(s, t, peer, o, peer_tag, &dirs, file, &verdict);
    mdb_txn_abort(t);
  }
  free(dirs.file);
  if (rc == BT_ENOFILE || rc == BT_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  return verdict == IN_IF_LIVE ? live(s, peer, now_ms, file) : verdict == IN_YES;
}

int node_scope_carried(node_store *s, const uint8_t file[CRDT_FILE_LEN])
{
  MDB_txn *t;
  int rc;

  if (!s->has_org)
    return 1;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__file_has_tag(s, t, file, s->box_tag);
  mdb_txn_abort(t);
  return rc < 0 ? rc : !rc;
}

int node_scope_completes(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                         const uint8_t file[CRDT_FILE_LEN])
{
  uint8_t tag[CRDT_EPOCH_LEN];
  MDB_txn *t;
  int rc, carried;

  if (is_relay(o) || (carried = node_scope_carried(s, file)) != 1)
    return is_relay(o) ? 0 : carried;
  if (peer->relay)
    return 1;
  crdt_keybox_tag(peer->box_pk.b, tag);
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__file_has_tag(s, t, file, tag);
  mdb_txn_abort(t);
  return rc;
}
