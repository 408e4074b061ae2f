/* node/sync_in.c: what a message brings (node/sync_int.h): its envelopes
 * (ingested under the scope rules, new files through a probe), the
 * file-level reconciliation's outcome, and the sections: op
 * reconciliations, per-author seqs, claims, wants and OUT notices. */
#define _POSIX_C_SOURCE 200809L
#include "node/sync_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

/* f node__differs (or may): compare per-author seqs first (a VV exchange: a
 * round trip, ~100 bytes per author), and ops by range only if the states
 * still differ after it (node_sync_opts.ranges: ranges at once). */
void node__differs(node_sync *x, sfile *f)
{
  if (x->o.ranges)
    f->to_recon = 1;
  else if (!f->vv_begun) /* one exchange a run: its claim decides the rest */
    f->vv_owed = f->vv_lead = f->vv_begun = 1;
}


/* Opens an op reconciliation for f over its stored (hour, id) keys, as
 * the side that starts it or the side that answers. */
int node__recon_open(node_sync *x, sfile *f, int initiator)
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
 * as f's owed node__section (most are a few hundred bytes). */
int node__recon_keep(node_sync *x, sfile *f, size_t len)
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
int node__recon_start(node_sync *x, sfile *f)
{
  size_t len = 0;
  int rc;

  if ((rc = node__recon_open(x, f, 1)) != 0 ||
      (rc = proto_recon_start(f->rc, x->scratch, NODE_SYNC_RECON_BUDGET, &len)) != 0)
    return rc;
  return node__recon_keep(x, f, len);
}

/* ---- receiving --------------------------------------------------------------------- */

/* Whether ops of file are taken from this peer (1) or refused (0). A file
 * this node does not hold is taken (and tracked) by the rules of
 * node_scope_takes_new (*is_new 1), or left for a later run when this
 * run took all the new files it takes (*is_new 2: no refusal, nothing
 * remembered). */
static int accepts(node_sync *x, const uint8_t *file, int *is_new)
{
  sfile *f = node__sf(x, file, 0);
  int rc;

  *is_new = 0;
  if (f && (f->scope || f->take_only))
    return !f->out;
  if (f && f->out)
    return 0;
  if ((rc = node_file_epoch(x->s, file, (uint8_t[CRDT_EPOCH_LEN]){0})) == 0) {
    /* Held, but not in the scope this run began with: it may have come
     * through another session since (judged again: then offered too), or
     * be a copy this node carries without keys, a first transfer cut
     * short, which it completes from a relay or an org given keys to it
     * (taken, never offered). */
    int only = 0;
    if ((rc = node_scope_has(x->s, &x->peer, &x->o, x->now, file)) == 0)
      only = rc = node_scope_completes(x->s, &x->peer, &x->o, file);
    if (rc <= 0)
      return rc;
    if (f == NULL && (f = node__sf(x, file, 1)) == NULL)
      return BT_ENOMEM;
    if (only)
      f->take_only = 1;
    else
      f->scope = 1;
    return 1;
  }
  if (rc != BT_ENOFILE)
    return rc;
  if (!node_scope_takes_new(&x->peer, &x->o))
    return 0;
  *is_new = x->new_files >= x->o.max_new_files ? 2 : 1;
  return *is_new == 1;
}

static int refuse(node_sync *x, const uint8_t *file)
{
  sfile *f = node__sf(x, file, 0);

  x->st.ops_refused++;
  if (f == NULL) { /* bounded: past the cap, refused without a notice */
    if (x->extra >= x->o.max_new_files)
      return BT_OK;
    if ((f = node__sf(x, file, 1)) == NULL)
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

int node__take_envs(node_sync *x, const proto_sync_msg *m)
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
    if (ok == 0 && is_new == 2) {
      x->st.ops_refused++; /* past the new-file cap: a later run takes it */
      continue;
    }
    if (ok == 0) {
      if ((rc = refuse(x, files[i])) != 0)
        goto out;
      continue;
    }
    f = node__sf(x, files[i], 0);
    if (is_new && (f == NULL || !f->probed) && x->new_files + np >= x->o.max_new_files) {
      x->st.ops_refused++; /* past the new-file cap, counting this message's */
      continue;
    }
    if (f == NULL && (f = node__sf(x, files[i], 1)) == NULL) {
      rc = BT_ENOMEM;
      goto out;
    }
    f->touched = 1;
    f->quiet = 0;
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
      sfile *f = node__sf(x, files[i], 0);
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
      sfile *f = node__sf(x, files[probe_of[k]], 0);
      if (f->scope == 2) {
        f->scope = 1;
        f->taken = 1;
        x->new_files++;
        x->st.files_new++;
      }
    }
  }
  for (size_t i = 0; i < m->nenvs; i++) {
    if (cls[i] == E_TAKE || (cls[i] == E_NEW && node__sf(x, files[i], 0)->scope))
      take[nt++] = m->envs[i];
    else if (cls[i] == E_NEW)
      x->st.ops_refused++; /* its file's probe failed: perhaps next time */
  }
  if (nt > 0) {
    rc = nt > 2048 ? node_ingest_stream(x->s, take, nt, 2048, res, NULL)
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

/* 1 if the peer refused the file at the state it has now (remembered). */
static int refused_before(node_sync *x, const uint8_t *file)
{
  size_t lo = 0, hi = x->nscope;
  MDB_txn *t;
  int rc;

  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(x->scope[mid].file, file, CRDT_FILE_LEN);
    if (c == 0) {
      if ((rc = node__txn(x->s, MDB_RDONLY, &t)) != 0)
        return rc;
      rc = node__was_out(x, t, &x->scope[mid]);
      mdb_txn_abort(t);
      return rc;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
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
    sfile *f = node__sf(x, file, 1);
    if (f == NULL)
      return BT_ENOMEM;
    x->st.files_differ++;
    if (c == 0) { /* both hold it: compare seqs, then ops if need be */
      if (leader)
        node__differs(x, f);
      i++;
      j++;
    } else if (c < 0) { /* the peer lacks it: all of it, unless it refused it as it is */
      if ((rc = refused_before(x, file)) < 0)
        return rc;
      if (rc == 1)
        f->quiet = 1;
      else if ((rc = node__q_whole(x, file)) != 0)
        return rc;
      i++;
    } else { /* we lack it in our scope for the peer */
      int is_new;
      if ((rc = accepts(x, file, &is_new)) < 0)
        return rc;
      f = node__sf(x, file, 0); /* accepts may have grown the map */
      if (rc == 0 && is_new != 2 && !f->out) {
        f->out = 1;
        f->out_owed = 1;
      }
      j++;
    }
  }
  return BT_OK;
}

int node__frecon_recv(node_sync *x, bt_bytes b)
{
  size_t budget = node__frecon_budget(x);
  int rc;

  if (x->fr == NULL) { /* the peer began it: we answer */
    proto_recon_opts ro = {.budget = budget, .threshold = FRECON_THRESHOLD,
                           .max_rounds = FRECON_ROUNDS};
    if (x->fast)
      return BT_EPROTO; /* a fast run has none */
    if ((rc = node__frecon_items(x)) != 0 ||
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

  if (f->rc == NULL && (rc = node__recon_open(x, f, 0)) != 0) /* the peer began it */
    return rc;
  if (f->rc_len > 0)
    return BT_EPROTO; /* our last message for it is not even sent */
  if ((rc = proto_recon_recv(f->rc, b.p, b.len, x->scratch, NODE_SYNC_RECON_BUDGET, &len)) != 0 ||
      (rc = node__recon_keep(x, f, len)) != 0)
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
    rc = node__q_ids(x, f->file, ids, nh);
    free(ids);
    if (rc != 0)
      return rc;
    if (f->rc_len == 0) /* the peer's message ended it */
      node__sf_recon_free(x, f);
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
  return node__q_ids(x, f->file, ids, n);
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

  f->vv_begun = 1;

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
    rc = node__q_ids(x, f->file, ids, n);
  free(ids);
  if (rc != 0)
    return rc;
  if (f->vv_lead) {
    f->vv_lead = 0;
    return node__q_push(x, f->file, NULL, 1); /* the claim, after the ops */
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

  *f = node__sf(x, file, 0);
  if (*f)
    (*f)->quiet = 0; /* brought up: no longer left alone */
  if (*f && (*f)->out) {
    (*f)->out_owed = !(*f)->out_told; /* remembered out: say so, once */
    return 0;
  }
  if (*f && ((*f)->scope || (*f)->take_only || (*f)->named_new))
    return 1;
  if ((rc = accepts(x, file, &is_new)) < 0)
    return rc;
  if (rc == 0)
    return is_new == 2 ? 0 : refuse(x, file); /* over the cap: a later run */
  *f = node__sf(x, file, 0); /* accepts may have grown the map */
  if (*f && ((*f)->scope || (*f)->take_only))
    return 1; /* held after all */
  if (*f == NULL) {
    if (x->extra >= x->o.max_new_files)
      return 0; /* more new files than a run takes: the next run, unanswered */
    if ((*f = node__sf(x, file, 1)) == NULL)
      return BT_ENOMEM;
    x->extra++;
  }
  (*f)->named_new = 1;
  return 1;
}

int node__section(node_sync *x, const proto_sync_section *s)
{
  sfile *f = node__sf(x, s->file, 0);
  int rc, is_new;

  switch (s->what) {
  case PROTO_SYNC_S_OUT:
    if (f == NULL)
      return BT_OK; /* never offered: nothing to stop */
    f->out = 1;
    f->to_recon = 0;
    node__sf_recon_free(x, f);
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
    if (f == NULL || (!f->scope && !f->take_only)) {
      if ((rc = accepts(x, s->file, &is_new)) < 0)
        return rc;
      if (rc == 0)
        return is_new == 2 ? BT_OK : refuse(x, s->file);
      return BT_OK; /* new: its ops came whole */
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
int node__check_claims(node_sync *x)
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

