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
#include "node/sync_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

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
void node__pend_clear(node_sync *x)
{
  free(x->pend.envs);
  free(x->pend_buf);
  memset(&x->pend, 0, sizeof(x->pend));
  x->pend_buf = NULL;
}

void node__run_clear(node_sync *x)
{
  for (size_t i = 0; i < x->mapcap; i++)
    if (x->map[i].used)
      node__sf_recon_free(x, &x->map[i]);
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
  node__mem_free(x);
  node__pend_clear(x);
  x->running = x->fast = x->fallback_owed = x->peer_idle = x->idle_sent = 0;
  x->new_files = 0;
}

void node_sync_free(node_sync *x)
{
  if (x == NULL)
    return;
  node__run_clear(x);
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

  node__run_clear(x);
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
    sfile *f = node__sf(x, x->scope[i].file, 1);
    if (f == NULL)
      return BT_ENOMEM;
    f->scope = 1;
  }
  return node__mem_load(x);
}

int node__frecon_items(node_sync *x)
{
  if ((x->fitems = calloc(x->nscope + 1, sizeof(*x->fitems))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < x->nscope; i++) {
    uint8_t c[8 + 32], h[16];
    node__put_le64(c, x->scope[i].count);
    memcpy(c + 8, x->scope[i].sum, 32);
    crypto_generichash(h, sizeof(h), c, sizeof(c), NULL, 0);
    x->fitems[i].ts = 0;
    memcpy(x->fitems[i].id.b, x->scope[i].file, CRDT_FILE_LEN);
    memcpy(x->fitems[i].id.b + CRDT_FILE_LEN, h, 16);
  }
  return BT_OK;
}

size_t node__frecon_budget(const node_sync *x)
{
  size_t b = x->o.max_message / 4;

  return b > PROTO_RECON_MSG_MAX ? PROTO_RECON_MSG_MAX : b;
}

/* Begins the file-level reconciliation as its initiator: its first
 * message is owed. */
static int frecon_start(node_sync *x)
{
  proto_recon_opts ro = {.budget = node__frecon_budget(x), .threshold = FRECON_THRESHOLD,
                         .max_rounds = FRECON_ROUNDS};
  int rc;

  if ((rc = node__frecon_items(x)) != 0 ||
      (rc = proto_recon_new(&x->fr, 1, x->fitems, x->nscope, &ro)) != 0)
    return rc;
  if ((x->fr_out = malloc(ro.budget)) == NULL)
    return BT_ENOMEM;
  return proto_recon_start(x->fr, x->fr_out, ro.budget, &x->fr_len);
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
    const mem *m = node__mem_find(x, sc->file);
    sfile *f = node__sf(x, sc->file, 0);
    crdt_id *ids = NULL;
    size_t n = 0;

    if (m && m->count == sc->count && memcmp(m->sum, sc->sum, 32) == 0)
      continue; /* as agreed */
    if (m == NULL && node__was_out(x, t, sc)) {
      f->quiet = 1; /* the peer would not take it at this state: not offered */
      continue;
    }
    if (m == NULL || (m->nv == 0 && m->count > 0)) {
      node__differs(x, f); /* nothing remembered of it: compare seqs first */
      continue;
    }
    if ((rc = node__ops_beyond(x->s, t, sc->file, m->vv, m->nv, &ids, &n)) == 0 &&
        (rc = node__q_ids(x, sc->file, ids, n)) == 0 && (rc = node__q_push(x, sc->file, NULL, 1)) == 0)
      f->fast_sent = 1;
    free(ids);
  }
  mdb_txn_abort(t);
  return rc;
}

/* ---- composing ------------------------------------------------------------------- */

/* Starts reconciliations for queued files while slots are free. */
static int recons_due(node_sync *x)
{
  int rc;

  for (size_t i = 0; i < x->mapcap && x->active < RECON_ACTIVE_MAX; i++) {
    sfile *f = &x->map[i];
    if (f->used && f->to_recon && !f->out && (rc = node__recon_start(x, f)) != 0)
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
    sfile *f = node__sf(x, it->file, 0);
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
    node__mem_digest(x, digest);
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
        node__sf_recon_free(x, f); /* our message ended it: done once sent */
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
  int rc = node__mem_save(x);

  x->st.runs++;
  node__run_clear(x);
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
  node__run_clear(x);
  return rc;
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
    node__pend_clear(x);
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
  rc = node__take_envs(x, &x->pend);
  node__pend_clear(x);
  if (rc != 0)
    node__run_clear(x);
  return rc;
}

static int handle(node_sync *x, const proto_sync_msg *m, int *reply, int *ended)
{
  int rc;

  *reply = 1;
  *ended = 0;
  if (!x->running) {
    /* runs are numbered 1, 2, ... in a session: a START of a run that
     * was already had (a replay, a duplicate) is out of turn */
    if (x->initiator || !(m->flags & PROTO_SYNC_START) || m->run != x->run + 1)
      return BT_ESEQ;
    if ((rc = run_begin(x, m->run)) != 0)
      return rc;
    if (m->flags & PROTO_SYNC_FAST) {
      uint8_t d[PROTO_SYNC_DIGEST_LEN];
      node__mem_digest(x, d);
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
    for (size_t i = 0; i < x->mapcap; i++) /* the fast plan is void */
      x->map[i].to_recon = x->map[i].fast_sent = x->map[i].quiet = 0;
  }
  x->peer_idle = (m->flags & PROTO_SYNC_IDLE) != 0;
  if (is_bulk(x, m))
    rc = pend_keep(x, m); /* ingested after the answer is on its way */
  else
    rc = node__take_envs(x, m);
  if (rc != 0)
    return rc;
  if (m->frecon.len > 0 && (rc = node__frecon_recv(x, m->frecon)) != 0)
    return rc;
  for (size_t i = 0; i < m->nsections; i++)
    if ((rc = node__section(x, &m->sections[i])) != 0)
      return rc;
  x->ignore_claims = 0;
  if ((rc = node__check_claims(x)) != 0)
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
    node__run_clear(x);
    return rc;
  }
  if (reply && (rc = compose(x, 0, ended)) != 0) {
    node__run_clear(x);
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

