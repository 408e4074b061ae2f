/* tests/sim/sim_net.c: the virtual network.
 *
 * A connection is a pair of node_sync sessions, one per end of a link; the
 * end that dialled is the initiator. Messages go through one event queue
 * (a binary heap on virtual time, ties broken by insertion order), so a
 * run is a pure function of the seed.
 *
 * Like TCP, a connection delivers in order: a message is never due before
 * the one sent ahead of it in the same direction. Faults break that on
 * purpose, and each is judged where it lands:
 *   - drop: the message is lost; a lost SYNC message stalls the run, so
 *     the connection is torn down after a virtual timeout;
 *   - duplicate: a second copy, at its own time;
 *   - stale: an older message of this direction is delivered again (or,
 *     if its original is still on the way, ahead of it);
 *   - hold: the message is late and later ones may overtake it;
 *   - delay: the message and everything behind it are late.
 * A SYNC message that arrives a second time, or out of sequence (one
 * before it was lost or has not arrived yet) must be refused by the receiving
 * session (proto/sync.h: BT_ESEQ); the connection is then torn down, as
 * the hub would. Accepting it is a failure, and so is refusing a message
 * that arrived in order. NUDGEs carry no sequence: any copy is harmless.
 *
 * Runs start as the hub starts them (node/hub.h): the initiator when the
 * connection opens, when its store changed since its last run and on a
 * period; the responder sends a NUDGE when its store changed. A run that
 * ends with neither store changed by anything else (no authoring, no
 * other session) must leave every file both sides have in scope for each
 * other identical (node/sync.h: "a run brings both sides' copies of every
 * file in scope to the same op set"), checked there and then. Every op a
 * session rejects is a failure too: these peers are honest. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "proto/sync.h"
#include "sim/sim_int.h"

#define LATENCY_MS 40       /* up to, per message */
#define STALL_MS 30000      /* a lost message is noticed after this */
#define PERIOD_MS 300000    /* initiators run at least this often */
#define REOPEN_MS 20000     /* a torn-down connection re-opens within */

#define names sim_names

/* ---- the queue ------------------------------------------------------------ */

static int before(const sim_ev *a, const sim_ev *b)
{
  return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

void net_push(sim *w, const sim_ev *ev)
{
  size_t i;

  if (w->nq == w->capq) {
    w->capq = w->capq ? 2 * w->capq : 256;
    w->q = realloc(w->q, w->capq * sizeof(*w->q));
    cr_assert_not_null(w->q);
  }
  i = w->nq++;
  w->q[i] = *ev;
  w->q[i].seq = w->seq++;
  while (i > 0 && before(&w->q[i], &w->q[(i - 1) / 2])) {
    sim_ev t = w->q[i];
    w->q[i] = w->q[(i - 1) / 2];
    w->q[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

int net_pop(sim *w, uint64_t until, sim_ev *out)
{
  size_t i = 0;

  if (w->nq == 0 || w->q[0].t > until)
    return 0;
  *out = w->q[0];
  w->q[0] = w->q[--w->nq];
  for (;;) {
    size_t c = 2 * i + 1, m = i;
    if (c < w->nq && before(&w->q[c], &w->q[m]))
      m = c;
    if (c + 1 < w->nq && before(&w->q[c + 1], &w->q[m]))
      m = c + 1;
    if (m == i)
      break;
    sim_ev t = w->q[i];
    w->q[i] = w->q[m];
    w->q[m] = t;
    i = m;
  }
  return 1;
}

void net_clear(sim *w)
{
  for (size_t i = 0; i < w->nq; i++)
    free(w->q[i].m);
  w->nq = 0;
}

static void later(sim *w, int kind, int link, uint64_t dt)
{
  sim_ev ev = {.t = w->now + dt, .kind = kind, .link = link, .gen = w->l[link].gen};

  net_push(w, &ev);
}

/* ---- sending ------------------------------------------------------------- */

static int is_nudge(const uint8_t *m, size_t len)
{
  uint8_t nb[2];
  size_t k = proto_sync_nudge(nb);

  return len == k && memcmp(m, nb, k) == 0;
}

static uint8_t *dup_bytes(const uint8_t *m, size_t len)
{
  uint8_t *p = malloc(len ? len : 1);

  cr_assert_not_null(p);
  memcpy(p, m, len);
  return p;
}

static void enqueue(sim *w, sim_ev *ev, const uint8_t *m, uint64_t at)
{
  ev->t = at;
  ev->m = dup_bytes(m, ev->len);
  net_push(w, ev);
}

/* Keeps a copy of a message sent from end d, for stale replays. */
static void remember(sim_link *l, const sim_ev *ev, const uint8_t *m)
{
  int d = ev->dir;

  free(l->stale[d][SIM_STALE - 1].m);
  memmove(&l->stale[d][1], &l->stale[d][0], (SIM_STALE - 1) * sizeof(sim_buf));
  l->stale[d][0] = (sim_buf){dup_bytes(m, ev->len), ev->len, ev->mid, ev->sseq};
}

static void send_msg(sim *w, int li, int from, const uint8_t *m, size_t len)
{
  sim_link *l = &w->l[li];
  int nudge = is_nudge(m, len);
  uint64_t at = w->now + 1 + sim_below(w, LATENCY_MS);
  sim_ev ev = {.kind = EV_MSG, .link = li, .gen = l->gen, .dir = from, .len = len,
               .mid = w->mid++};
  unsigned r = w->faults ? (unsigned)sim_below(w, 1000) : 1000;

  if (!nudge)
    ev.sseq = ++l->sseq[from];
  if (r < w->p_drop) {
    w->res.drops++;
    if (!nudge)
      later(w, EV_TIMEOUT, li, STALL_MS);
    return;
  }
  r -= w->p_drop;
  if (r < w->p_hold) { /* late, and not holding back what follows */
    enqueue(w, &ev, m, at + 50 + sim_below(w, 3000));
    remember(l, &ev, m);
    return;
  }
  r -= w->p_hold;
  if (r < w->p_delay)
    at += 500 + sim_below(w, 5000);
  if (at < l->fifo[from])
    at = l->fifo[from];
  l->fifo[from] = at;
  enqueue(w, &ev, m, at);
  if (r >= w->p_delay && r - w->p_delay < w->p_dup) {
    enqueue(w, &ev, m, w->now + 1 + sim_below(w, 4 * LATENCY_MS + 2000));
  } else if (r >= w->p_delay + w->p_dup && r - w->p_delay - w->p_dup < w->p_stale &&
             l->stale[from][0].m != NULL) {
    /* An older message again: a fault if it was delivered already (its
     * copy counts as a duplicate), else it overtakes the original. */
    sim_buf *old = &l->stale[from][sim_below(w, SIM_STALE)];
    if (old->m == NULL)
      old = &l->stale[from][0];
    sim_ev st = {.kind = EV_MSG, .link = li, .gen = l->gen, .dir = from, .len = old->len,
                 .mid = old->mid, .sseq = old->sseq, .stale = 1};
    enqueue(w, &st, old->m, w->now + 1 + sim_below(w, 4 * LATENCY_MS + 2000));
  }
  remember(l, &ev, m);
}

/* ---- connections ---------------------------------------------------------- */

static void add_stats(sim *w, const node_sync_stats *s)
{
  w->tot.runs += s->runs;
  w->tot.msgs_sent += s->msgs_sent;
  w->tot.msgs_recv += s->msgs_recv;
  w->tot.ops_sent += s->ops_sent;
  w->tot.ops_stored += s->ops_stored;
  w->tot.ops_dup += s->ops_dup;
  w->tot.ops_buffered += s->ops_buffered;
  w->tot.ops_rejected += s->ops_rejected;
  w->tot.ops_refused += s->ops_refused;
  w->tot.files_new += s->files_new;
}

void net_close(sim *w, int li)
{
  sim_link *l = &w->l[li];
  node_sync_stats st;

  for (int e = 0; e < 2; e++) {
    if (l->x[e] != NULL) {
      node_sync_get_stats(l->x[e], &st);
      add_stats(w, &st);
    }
    node_sync_free(l->x[e]);
    l->x[e] = NULL;
    for (int k = 0; k < SIM_STALE; k++) {
      free(l->stale[e][k].m);
      l->stale[e][k] = (sim_buf){0};
    }
  }
  if (l->open)
    w->res.teardowns++;
  l->open = 0;
  l->gen++;
}

/* The initiator starts a run (or, during one, asks for another). */
int net_start(sim *w, int li)
{
  sim_link *l = &w->l[li];
  node_sync *x = l->x[l->init];
  int was = node_sync_running(x), rc;
  const uint8_t *out;
  size_t olen = 0;

  if ((rc = node_sync_start(x, &out, &olen)) != BT_OK)
    sim_fail(w, "node_sync_start at %s: %s", names[l->end[l->init]], bt_errname(rc));
  if (was && olen != 0)
    sim_fail(w, "node_sync_start during a run at %s sent a message", names[l->end[l->init]]);
  if (olen > 0) {
    l->start[0] = sim_count(w, l->end[0]);
    l->start[1] = sim_count(w, l->end[1]);
    send_msg(w, li, l->init, out, olen);
  }
  return olen > 0;
}

static void nudge(sim *w, int li, int e)
{
  sim_link *l = &w->l[li];
  const uint8_t *out;
  size_t olen = 0;
  int rc;

  if ((rc = node_sync_nudge(l->x[e], &out, &olen)) != BT_OK)
    sim_fail(w, "node_sync_nudge at %s: %s", names[l->end[e]], bt_errname(rc));
  l->nudged[e] = sim_count(w, l->end[e]);
  if (olen > 0)
    send_msg(w, li, e, out, olen);
}

/* End e's store has news for its peer. */
static void kick_link(sim *w, int li, int e)
{
  sim_link *l = &w->l[li];

  if (node_sync_running(l->x[e])) {
    l->dirty[e] = 1;
    if (e == l->init && sim_below(w, 4) == 0)
      net_start(w, li); /* marks another run as wanted */
    return;
  }
  if (e == l->init)
    net_start(w, li);
  else if (sim_count(w, l->end[e]) != l->nudged[e])
    nudge(w, li, e);
}

void net_kick(sim *w, int node, int except)
{
  for (int li = 0; li < N_LINKS; li++) {
    sim_link *l = &w->l[li];
    for (int e = 0; e < 2; e++)
      if (li != except && l->open && l->end[e] == node &&
          sim_count(w, node) != l->seen[e])
        kick_link(w, li, e);
  }
}

void net_open(sim *w, int li)
{
  sim_link *l = &w->l[li];
  int rc;

  if (!l->up || l->open)
    return;
  l->gen++;
  /* Relays are behind no NAT of theirs but everyone else may be: the
   * school or MASH dials the relay; the other links dial either way. */
  l->init = li == L_LAPTOP_A || li == L_MASH_A ? (int)sim_below(w, 2) : 0;
  for (int e = 0; e < 2; e++) {
    sim_node *me = &w->n[l->end[e]], *peer = &w->n[l->end[1 - e]];
    if ((rc = node_sync_new(&l->x[e], me->s, &peer->as_peer, e == l->init, &me->opts)) != 0)
      sim_fail(w, "node_sync_new at %s: %s", names[l->end[e]], bt_errname(rc));
    l->seen[e] = l->nudged[e] = SIZE_MAX;
    l->dirty[e] = 0;
    l->fifo[e] = 0;
    l->sseq[e] = 0;
    l->rseq[e] = 1;
  }
  l->open = 1;
  net_start(w, li);
  later(w, EV_TICK, li, PERIOD_MS / 2 + sim_below(w, PERIOD_MS));
}

/* ---- delivery ------------------------------------------------------------ */

/* After a call into end e's session: a run that ended there, a run wanted. */
static void settle(sim *w, int li, int e, int was)
{
  sim_link *l = &w->l[li];

  if (!l->open)
    return;
  if (was && !node_sync_running(l->x[e])) {
    if (!node_sync_running(l->x[1 - e]) && sim_count(w, l->end[0]) == l->start[0] &&
        sim_count(w, l->end[1]) == l->start[1])
      sim_check_run(w, l->end[0], l->end[1]); /* a whole run, undisturbed */
    l->seen[e] = sim_count(w, l->end[e]);
    if (l->dirty[e]) {
      l->dirty[e] = 0;
      kick_link(w, li, e);
    }
  }
  if (e == l->init && !node_sync_running(l->x[e]) && node_sync_pending(l->x[e]))
    net_start(w, li);
}

static void trace_msg(sim *w, const sim_ev *ev, int rc, size_t olen)
{
  uint8_t h[40];

  memcpy(h, &ev->t, 8);
  memcpy(h + 8, &ev->link, 4);
  memcpy(h + 12, &ev->dir, 4);
  memcpy(h + 16, &rc, 4);
  memcpy(h + 20, &ev->len, 8);
  memcpy(h + 28, &olen, 8);
  memcpy(h + 36, &ev->sseq, 4);
  crypto_generichash_update(&w->trace, h, sizeof(h));
  crypto_generichash_update(&w->trace, ev->m, ev->len);
}

static void print_msg(sim *w, const sim_ev *ev)
{
  proto_sync_msg m = {0};
  int kind = 0;

  printf("sim: step %" PRIu64 " t=+%" PRIu64 " %s", w->step, w->now - w->t0, w->what);
  if (proto_sync_decode(ev->m, ev->len, &kind, &m) == BT_OK && kind == PROTO_SYNC_MSG) {
    printf(" [run %" PRIu32 " n %" PRIu32 " flags %s%s%s%s%s frecon %zu, %zu sections, %zu ops]",
           m.run, m.n, m.flags & PROTO_SYNC_START ? "S" : "-",
           m.flags & PROTO_SYNC_FAST ? "F" : "-", m.flags & PROTO_SYNC_IDLE ? "I" : "-",
           m.flags & PROTO_SYNC_END ? "E" : "-", m.flags & PROTO_SYNC_FALLBACK ? "B" : "-",
           m.frecon.len, m.nsections, m.nenvs);
    for (size_t i = 0; i < m.nsections; i++) {
      static const char *const what[] = {"?", "RECON", "FAST", "VV", "WANT", "OUT"};
      const proto_sync_section *sc = &m.sections[i];
      printf(" {%s %02x%02x..", what[sc->what < 6 ? sc->what : 0], sc->file[0], sc->file[1]);
      if (sc->what == PROTO_SYNC_S_RECON)
        printf(" %zu bytes", sc->recon.len);
      else if (sc->what == PROTO_SYNC_S_FAST)
        printf(" count %" PRIu64, sc->count);
      else if (sc->what == PROTO_SYNC_S_WANT)
        printf(" %zu ids", sc->nids);
      else if (sc->what == PROTO_SYNC_S_VV)
        printf(" %zu authors", sc->nvv);
      printf("}");
    }
    proto_sync_msg_free(&m);
  }
  printf("\n");
}

/* For the failure report: offers every op of every file the sender holds
 * to the receiver's ingest and prints why any is rejected. */
static void why_rejected(sim *w, int from, int to)
{
  int shown = 0;

  for (size_t f = 0; f < w->nfiles; f++) {
    size_t n;
    crdt_id *ids = sim_file_ops(w, from, (int)f, &n);
    for (size_t i = 0; i < n; i++) {
      crdt_op *op;
      node_ingest_result res;
      if (node_op_get(w->n[from].s, &ids[i], &op) != BT_OK)
        continue;
      bt_bytes env = {op->env, op->env_len};
      if (node_ingest(w->n[to].s, &env, 1, &res, NULL) == BT_OK && res.status == NODE_REJECTED &&
          shown++ < 4)
        fprintf(stderr, "sim: %s rejects op %zu of file %zu (seq %" PRIu64 "): %s\n", names[to],
                i, f, (uint64_t)op->h.seq, bt_errname(res.reason));
      crdt_op_free(op);
    }
    free(ids);
  }
}

/* Whether a message is a fault its receiver must refuse: a SYNC message
 * delivered before (a copy) or out of sequence. Describes it in w->what. */
static int classify(sim *w, const sim_ev *ev, int nudge_msg)
{
  sim_link *l = &w->l[ev->link];
  int copy, fault;

  if (ev->mid >= w->capd) {
    size_t n = w->capd ? w->capd : 1024;
    while (n <= ev->mid)
      n *= 2;
    w->delivered = realloc(w->delivered, n);
    cr_assert_not_null(w->delivered);
    memset(w->delivered + w->capd, 0, n - w->capd);
    w->capd = n;
  }
  copy = w->delivered[ev->mid];
  w->delivered[ev->mid] = 1;
  fault = !nudge_msg && (copy || ev->sseq != l->rseq[ev->dir]);
  if (!nudge_msg && !fault)
    l->rseq[ev->dir]++;
  snprintf(w->what, sizeof(w->what), "%s %s -> %s, %zu bytes%s", nudge_msg ? "NUDGE" : "SYNC",
           names[l->end[ev->dir]], names[l->end[1 - ev->dir]], ev->len,
           copy ? (ev->stale ? ", a stale replay" : ", a duplicate")
                : fault ? (ev->stale ? ", an early replay, out of sequence" : ", out of sequence")
                        : ev->stale ? ", an early replay" : "");
  return fault;
}

static void deliver(sim *w, sim_ev *ev)
{
  sim_link *l = &w->l[ev->link];
  int to = 1 - ev->dir, node = l->end[to], from = l->end[ev->dir];
  int nudge_msg = is_nudge(ev->m, ev->len), fault, was, rc;
  size_t before = sim_count(w, node), olen = 0;
  const uint8_t *out = NULL;
  node_sync_stats st0, st1;

  if (!l->open || l->gen != ev->gen)
    return; /* the connection it was sent on is gone */
  fault = classify(w, ev, nudge_msg);
  if (w->cfg.trace)
    print_msg(w, ev);
  was = node_sync_running(l->x[to]);
  node_sync_get_stats(l->x[to], &st0);
  rc = node_sync_recv(l->x[to], ev->m, ev->len, &out, &olen);
  node_sync_get_stats(l->x[to], &st1);
  if (st1.ops_rejected != st0.ops_rejected) {
    why_rejected(w, from, node);
    sim_fail(w, "%s rejected %" PRIu64 " ops from %s, an honest peer", names[node],
             st1.ops_rejected - st0.ops_rejected, names[from]);
  }
  trace_msg(w, ev, rc, rc == BT_OK ? olen : 0);
  w->res.msgs++;
  if (fault) {
    if (rc == BT_OK)
      sim_fail(w, "%s accepted a faulty SYNC message (%s)", names[node], w->what);
    w->res.refused++;
    net_close(w, ev->link);
    later(w, EV_OPEN, ev->link, 1000 + sim_below(w, REOPEN_MS));
    return;
  }
  if (rc != BT_OK)
    sim_fail(w, "%s refused an in-order message: %s (%s)", names[node], bt_errname(rc),
             bt_strerror(rc));
  if (olen > 0)
    send_msg(w, ev->link, to, out, olen);
  settle(w, ev->link, to, was);
  if (sim_count(w, node) != before)
    net_kick(w, node, ev->link);
}

void net_event(sim *w, sim_ev *ev)
{
  sim_link *l = &w->l[ev->link];

  switch (ev->kind) {
  case EV_MSG:
    deliver(w, ev);
    break;
  case EV_TIMEOUT: /* a run stalled on a lost message */
    if (l->open && l->gen == ev->gen) {
      net_close(w, ev->link);
      later(w, EV_OPEN, ev->link, 1000 + sim_below(w, REOPEN_MS));
    }
    break;
  case EV_OPEN:
    net_open(w, ev->link);
    break;
  case EV_TICK:
    if (l->open && l->gen == ev->gen) {
      if (!node_sync_running(l->x[l->init]))
        net_start(w, ev->link);
      later(w, EV_TICK, ev->link, PERIOD_MS);
    }
    break;
  case EV_PARTITION: /* the link goes down for a while */
    if (l->up) {
      w->res.partitions++;
      net_close(w, ev->link);
      l->up = 0;
      later(w, EV_LINKUP, ev->link, 60000 + sim_below(w, 20 * 60000));
    }
    break;
  case EV_LINKUP:
    l->up = 1;
    later(w, EV_OPEN, ev->link, sim_below(w, 5000));
    break;
  }
  free(ev->m);
  ev->m = NULL;
}

/* 1 when neither end of an open link is in a run. */
int net_idle(sim *w, int li)
{
  sim_link *l = &w->l[li];

  return !l->open || (!node_sync_running(l->x[0]) && !node_sync_running(l->x[1]));
}

void net_free(sim *w)
{
  for (int li = 0; li < N_LINKS; li++)
    net_close(w, li);
  net_clear(w);
  free(w->q);
  free(w->delivered);
  w->q = NULL;
  w->delivered = NULL;
  w->nq = w->capq = w->capd = 0;
}
