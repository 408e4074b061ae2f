/* node/sync_map.c: a run's per-file map (open addressing on file ids,
 * which are hashes) and its send queue (node/sync_int.h). */
#define _POSIX_C_SOURCE 200809L
#include "node/sync_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

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
sfile *node__sf(node_sync *x, const uint8_t *file, int create)
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

void node__sf_recon_free(node_sync *x, sfile *f)
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

int node__q_push(node_sync *x, const uint8_t *file, const crdt_id *id, int claim)
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
int node__q_ids(node_sync *x, const uint8_t *file, crdt_id *ids, size_t n)
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
    if ((rc = node__q_push(x, file, &ids[i], 0)) != 0)
      return rc;
  return BT_OK;
}

/* Every stored op of a file, in (hour, id) order: parents mostly first. */
int node__q_whole(node_sync *x, const uint8_t *file)
{
  crdt_id *ids;
  size_t n = 0;
  int rc;

  if ((rc = node_file_ops(x->s, file, NULL, 0, &n)) != 0)
    return rc;
  if ((ids = malloc((n + 1) * sizeof(*ids))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_file_ops(x->s, file, ids, n, &n)) == 0)
    rc = node__q_ids(x, file, ids, n);
  free(ids);
  return rc;
}

