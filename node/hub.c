/* node/hub.c: node/sync.h sessions on node/net.h (see hub.h).
 *
 * One hub_sess per authenticated session that sync took: the node_sync, who
 * the peer is, and the bookkeeping of runs. The hub owns four libuv handles
 * (started by node_hub_start): a watch on the store's data file, a poll
 * timer, a period timer, and a "kick" timer through which every source of
 * news (file events, node_hub_changed) is folded into one check, however
 * many arrived (file events settle first: on_kick).
 *
 * A check reads the store's op count once and, for each session that is
 * not in a run, compares it with the count at that session's last run end:
 * the initiator starts a run, the responder sends one NUDGE and no other
 * until a run has begun (so a session never has more than one trigger
 * pending). A session in a run is not disturbed: when the run ends, the
 * ops that arrived during it and that it did not store itself (count at
 * the end - count at the start - ops the run stored) are news, and the
 * session is triggered again at once. Counting from the run's own stats,
 * not from the store alone, is what tells another session's or the CLI's
 * ops apart from the ones this run brought.
 *
 * Relaying by fingerprint: the operator names orgs by the fingerprint of
 * their signing key, which cannot be turned back into the key. A session
 * knows its peer's org key from the handshake, so the hub compares the
 * fingerprint of that key with the list and, when it matches, gives that
 * session relay_orgs holding the key (beside any keys configured); when it
 * does not, the zero key, so the session still knows this node is a relay
 * (node/scope.h: a relay takes new files only from the orgs it relays
 * for). Ops that a run stores but that were buffered before (released) are
 * not in its stats: they may cost one extra run, never a missed one. */
#define _POSIX_C_SOURCE 200809L
#include "node/hub.h"
#include "node/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "proto/sync.h"

typedef struct hub_sess hub_sess;

struct hub_sess {
  node_hub *h;
  node_net_conn *c;
  node_sync *x;
  node_sync_peer peer;
  crdt_id *relay; /* this session's relay_orgs (node_sync_opts borrows it) */
  int initiator, closing, nudged;
  int err; /* what a sync call failed with: the run was cut */
  char addr[NODE_NET_ADDR_MAX];
  char fpr[CRDT_FPR_LEN];
  size_t ops_at_end;   /* store op count when the last run ended (or at open) */
  size_t run_c0;       /* ... when the current run began */
  uint64_t run_t0;     /* uv_hrtime (ns) when it began */
  node_sync_stats base; /* stats at the last log line */
  hub_sess *prev, *next;
};

struct node_hub {
  uv_loop_t *loop;
  node_store *s;
  node_sync_opts sync;
  crdt_id *relay_orgs;
  char (*fprs)[CRDT_FPR_LEN];
  size_t nfprs;
  char *watch; /* <dir>/data.mdb, or NULL */
  uint64_t period_ms, poll_ms;
  uint8_t device_pk[CRDT_PK_LEN];
  node_net_sync hook;
  hub_sess *sessions;
  node_sync_stats closed; /* totals of the sessions gone */
  uv_fs_event_t fs;
  uv_timer_t poll, period, kick;
  int started, stopping, handles, watching;
  int force;                /* node_hub_changed: check without settling */
  uint64_t first_ev, last_ev; /* uv_now of file events pending a check */
  void (*done)(void *ctx);
  void *done_ctx;
};

static const bt_str CAPS[] = {{PROTO_SYNC_CAP, sizeof(PROTO_SYNC_CAP) - 1}};

/* ---- stats ---------------------------------------------------------------------- */

static void stats_add(node_sync_stats *t, const node_sync_stats *a)
{
  t->runs += a->runs;
  t->msgs_sent += a->msgs_sent;
  t->msgs_recv += a->msgs_recv;
  t->bytes_sent += a->bytes_sent;
  t->bytes_recv += a->bytes_recv;
  t->ops_sent += a->ops_sent;
  t->ops_stored += a->ops_stored;
  t->ops_dup += a->ops_dup;
  t->ops_buffered += a->ops_buffered;
  t->ops_rejected += a->ops_rejected;
  t->ops_refused += a->ops_refused;
  t->files_new += a->files_new;
  t->files_differ = a->files_differ;
  t->last_msgs = a->last_msgs;
  t->last_fast = a->last_fast;
}

/* One line for the run that just ended (event "synced") or that the
 * session's end cut short ("sync-cut", with the close reason): the
 * difference of the stats since the last line. Counts only. */
static void sess_log(hub_sess *s, const char *event, int reason)
{
  node_sync_stats st, *b = &s->base;
  char why[48] = "";
  uint64_t ms = (uv_hrtime() - s->run_t0) / 1000000;

  node_sync_get_stats(s->x, &st);
  if (reason != 0) {
    char name[40];
    snprintf(why, sizeof why, " reason=%s", node_net_reason_name(reason, name, sizeof name));
  }
  node_net_log("%s peer=%s fpr=%s path=%s msgs=%u bytes_out=%llu bytes_in=%llu ops_sent=%llu "
               "stored=%llu dup=%llu buffered=%llu rejected=%llu refused=%llu differ=%u new=%u "
               "ms=%llu%s",
               event, s->addr, s->fpr, reason ? "-" : st.last_fast ? "fast" : "full",
               (unsigned)(st.msgs_sent + st.msgs_recv - b->msgs_sent - b->msgs_recv),
               (unsigned long long)(st.bytes_sent - b->bytes_sent),
               (unsigned long long)(st.bytes_recv - b->bytes_recv),
               (unsigned long long)(st.ops_sent - b->ops_sent),
               (unsigned long long)(st.ops_stored - b->ops_stored),
               (unsigned long long)(st.ops_dup - b->ops_dup),
               (unsigned long long)(st.ops_buffered - b->ops_buffered),
               (unsigned long long)(st.ops_rejected - b->ops_rejected),
               (unsigned long long)(st.ops_refused - b->ops_refused),
               reason ? 0u : (unsigned)st.files_differ, (unsigned)(st.files_new - b->files_new),
               (unsigned long long)ms, why);
  *b = st;
}

/* ---- runs ------------------------------------------------------------------------ */

static size_t store_ops(node_hub *h)
{
  size_t ops = 0, buffered;

  if (node_store_counts(h->s, &ops, &buffered) != BT_OK)
    return (size_t)-1; /* differs from any count: a run will find out */
  return ops;
}

/* Ends the session with reason rc (net logs it); a negative rc is an
 * error of the run. */
static void sess_fail(hub_sess *s, int rc)
{
  if (s->closing)
    return;
  if (rc < 0)
    s->err = rc;
  s->closing = 1;
  node_net_close(s->c, rc);
}

static int sess_send(hub_sess *s, const uint8_t *m, size_t len)
{
  int rc;

  if (len == 0 || s->closing)
    return BT_OK;
  if ((rc = node_net_send(s->c, m, len)) != BT_OK)
    sess_fail(s, rc);
  return rc;
}

/* A run begins: remember when, and the store's count, for the news check
 * at its end. */
static void run_begins(hub_sess *s)
{
  s->run_t0 = uv_hrtime();
  s->run_c0 = store_ops(s->h);
  s->nudged = 0;
}

/* Initiator: a run now (node_sync_start only marks one wanted while one is
 * under way, which the end of that run picks up). */
static void sess_start(hub_sess *s)
{
  const uint8_t *out;
  size_t olen = 0;
  int rc, was = node_sync_running(s->x);

  if (s->closing)
    return;
  if (!was)
    run_begins(s);
  if ((rc = node_sync_start(s->x, &out, &olen)) != BT_OK) {
    sess_fail(s, rc);
    return;
  }
  sess_send(s, out, olen);
}

/* Responder: one NUDGE, and no other until a run has begun. */
static void sess_nudge(hub_sess *s)
{
  const uint8_t *out;
  size_t olen = 0;
  int rc;

  if (s->closing || s->nudged)
    return;
  if ((rc = node_sync_nudge(s->x, &out, &olen)) != BT_OK) {
    sess_fail(s, rc);
    return;
  }
  s->nudged = 1;
  sess_send(s, out, olen);
}

/* News for s (outside a run): the initiator runs, the responder nudges. */
static void sess_trigger(hub_sess *s)
{
  if (s->closing || node_sync_running(s->x))
    return;
  if (s->initiator)
    sess_start(s);
  else
    sess_nudge(s);
}

/* Lets the store act on transfers after news: delivery notes this node
 * owes, grants of rejected transfers it revokes (node/transfer.h). What it
 * writes reaches peers like any other new op. Counts only in the log. */
static void hub_transfers(node_hub *h)
{
  size_t acted = 0;
  int rc = node_transfer_tick(h->s, (uint64_t)time(NULL) * 1000, &acted);

  if (rc != BT_OK)
    node_net_log("transfers-failed error=%s", bt_errname(rc));
  else if (acted)
    node_net_log("transfers acted=%zu", acted);
}

/* After each step of a session: log a run that ended, and start the next
 * one if the peer asked for it or news came in during this one. */
static void sess_after(hub_sess *s, uint32_t runs_before)
{
  node_sync_stats st;
  uint64_t stored;
  size_t now;

  if (s->closing)
    return;
  node_sync_get_stats(s->x, &st);
  if (st.runs != runs_before) {
    stored = st.ops_stored - s->base.ops_stored;
    sess_log(s, "synced", 0);
    hub_transfers(s->h);
    now = store_ops(s->h);
    s->ops_at_end = now;
    if (!node_sync_running(s->x) && (uint64_t)(now - s->run_c0) != stored)
      sess_trigger(s); /* ops came from elsewhere while this run was on */
  }
  if (s->initiator && !node_sync_running(s->x) && node_sync_pending(s->x))
    sess_start(s);
}

/* ---- news ------------------------------------------------------------------------ */

static void hub_check(node_hub *h, int period)
{
  size_t now = store_ops(h);

  for (hub_sess *s = h->sessions; s; s = s->next) {
    if (s->closing || node_sync_running(s->x))
      continue;
    if (now != s->ops_at_end || (period && s->initiator)) {
      uint32_t runs = 0;
      node_sync_stats st;
      node_sync_get_stats(s->x, &st);
      runs = st.runs;
      sess_trigger(s);
      sess_after(s, runs);
    }
  }
}

/* A file event comes with a write, which may not be a whole commit yet
 * (LMDB writes pages, then the meta page, then publishes the txn to
 * readers): the check waits until the events have been quiet for
 * SETTLE_MS, but no longer than SETTLE_MAX_MS after the first. */
#define SETTLE_MS 10
#define SETTLE_MAX_MS 200

static void on_kick(uv_timer_t *t)
{
  node_hub *h = t->data;
  uint64_t now = uv_now(h->loop);

  if (!h->force && now - h->last_ev < SETTLE_MS && now - h->first_ev < SETTLE_MAX_MS) {
    uv_timer_start(&h->kick, on_kick, SETTLE_MS - (now - h->last_ev), 0);
    return;
  }
  h->force = 0;
  hub_check(h, 0);
}

static void on_poll(uv_timer_t *t)
{
  hub_check(t->data, 0);
}

static void on_period(uv_timer_t *t)
{
  hub_check(t->data, 1);
}

static void on_fs(uv_fs_event_t *e, const char *name, int events, int status)
{
  node_hub *h = e->data;

  (void)name;
  (void)events;
  if (status != 0 || h->stopping)
    return;
  h->last_ev = uv_now(h->loop);
  if (!uv_is_active((uv_handle_t *)&h->kick)) {
    h->first_ev = h->last_ev;
    uv_timer_start(&h->kick, on_kick, SETTLE_MS, 0);
  }
}

/* The caller's write is whole: check on the next loop turn. */
void node_hub_changed(node_hub *h)
{
  if (!h->started || h->stopping)
    return;
  h->force = 1;
  uv_timer_start(&h->kick, on_kick, 0, 0);
}

/* ---- the hook -------------------------------------------------------------------- */

static int has_sync_cap(const node_net_peer *p)
{
  for (size_t i = 0; i < p->ncaps; i++)
    if (p->caps[i].len == CAPS[0].len && memcmp(p->caps[i].p, CAPS[0].p, CAPS[0].len) == 0)
      return 1;
  return 0;
}

/* Who the peer is, from its org certificate (net has judged the chain). */
static int peer_of(const node_net_peer *p, node_sync_peer *out)
{
  crdt_cert *oc;
  int rc;

  if ((rc = crdt_cert_decode(p->org_cert.p, p->org_cert.len, &oc)) != BT_OK)
    return rc;
  memset(out, 0, sizeof *out);
  memcpy(out->device_pk, p->device_pk, CRDT_PK_LEN);
  out->org_pk = oc->b.subject;
  out->box_pk = oc->b.box;
  out->org_kind = oc->b.org_kind;
  out->relay = oc->b.org_kind == CRDT_ORG_LA;
  crdt_cert_free(oc);
  return BT_OK;
}

/* Of two sessions with one device, the one dialled by the lower device key
 * stays (both ends choose the same); of two dialled by the same side (a
 * peer that came back before its old session was seen to end), the newer. */
static int sess_loses_to_new(const node_hub *h, const hub_sess *old, int new_initiator)
{
  const uint8_t *old_dialler = old->initiator ? h->device_pk : old->peer.device_pk;
  const uint8_t *new_dialler = new_initiator ? h->device_pk : old->peer.device_pk;
  int cmp = memcmp(new_dialler, old_dialler, CRDT_PK_LEN);

  return cmp <= 0;
}

static void log_duplicate(const hub_sess *s, const char *addr, int initiator)
{
  node_net_log("duplicate peer=%s dir=%s fpr=%s: keeping the session dialled by the lower "
               "device key", addr, initiator ? "out" : "in", s->fpr);
}

/* 0: no other session with this device, or it lost (and is closing);
 * 1: the new one loses. */
static int dedupe(node_hub *h, const node_net_peer *p)
{
  for (hub_sess *s = h->sessions; s; s = s->next) {
    if (s->closing || memcmp(s->peer.device_pk, p->device_pk, CRDT_PK_LEN) != 0)
      continue;
    if (!sess_loses_to_new(h, s, p->initiator)) {
      log_duplicate(s, p->addr, p->initiator);
      return 1;
    }
    log_duplicate(s, s->addr, s->initiator);
    sess_fail(s, NODE_NET_R_DUPLICATE);
  }
  return 0;
}

/* This session's options: the hub's, messages no larger than net sends,
 * and the peer's org added to relay_orgs when its fingerprint is one the
 * hub relays for. */
static int sess_opts(node_hub *h, hub_sess *s, node_sync_opts *o)
{
  char ofpr[CRDT_FPR_LEN];
  size_t netmax = node_net_max_message(s->c);
  int match = 0;

  *o = h->sync;
  if (netmax < NODE_SYNC_MSG_MIN)
    return BT_ETOOBIG; /* frames too small for sync (batond's max_frame floor) */
  if (o->max_message == 0)
    o->max_message = NODE_SYNC_MSG_DEFAULT;
  if (o->max_message > netmax)
    o->max_message = netmax; /* what one frame of this network carries */
  crdt_fingerprint(s->peer.org_pk.b, CRDT_PK_LEN, ofpr);
  for (size_t i = 0; i < h->nfprs && !match; i++)
    match = strcmp(h->fprs[i], ofpr) == 0;
  if (h->nfprs == 0 || (!match && h->sync.nrelay > 0))
    return BT_OK;
  /* One more entry: the peer's org key, or, when it is not relayed for,
   * the zero key (no org's), so that the session still knows this node
   * is a relay and takes no new files from this peer (node/scope.h). */
  if ((s->relay = calloc(h->sync.nrelay + 1, sizeof(crdt_id))) == NULL)
    return BT_ENOMEM;
  if (h->sync.nrelay)
    memcpy(s->relay, h->sync.relay_orgs, h->sync.nrelay * sizeof(crdt_id));
  if (match)
    s->relay[h->sync.nrelay] = s->peer.org_pk;
  o->relay_orgs = s->relay;
  o->nrelay = h->sync.nrelay + 1;
  return BT_OK;
}

static void sess_free(hub_sess *s)
{
  if (s == NULL)
    return;
  node_sync_free(s->x);
  free(s->relay);
  free(s);
}

static int hook_open(void *ctx, node_net_conn *c, const node_net_peer *p)
{
  node_hub *h = ctx;
  node_sync_opts o;
  hub_sess *s;
  int rc;

  if (!has_sync_cap(p))
    return BT_EVERSION;
  if ((s = calloc(1, sizeof(*s))) == NULL)
    return BT_ENOMEM;
  s->h = h;
  s->c = c;
  s->initiator = p->initiator;
  snprintf(s->addr, sizeof s->addr, "%s", p->addr);
  crdt_fingerprint(p->device_pk, CRDT_PK_LEN, s->fpr);
  if ((rc = peer_of(p, &s->peer)) != BT_OK || (rc = sess_opts(h, s, &o)) != BT_OK ||
      (rc = node_sync_new(&s->x, h->s, &s->peer, s->initiator, &o)) != BT_OK) {
    sess_free(s);
    return rc;
  }
  if (dedupe(h, p)) { /* closed politely; close() finds no session */
    sess_free(s);
    node_net_set_data(c, NULL);
    node_net_close(c, NODE_NET_R_DUPLICATE);
    return BT_OK;
  }
  s->next = h->sessions;
  if (h->sessions)
    h->sessions->prev = s;
  h->sessions = s;
  node_net_set_data(c, s);
  s->ops_at_end = store_ops(h);
  s->run_t0 = uv_hrtime();
  if (s->initiator) {
    sess_start(s);
    sess_after(s, 0);
  }
  return BT_OK;
}

static int hook_message(void *ctx, node_net_conn *c, const uint8_t *m, size_t len)
{
  hub_sess *s = node_net_data(c);
  node_sync_stats st;
  const uint8_t *out;
  size_t olen = 0;
  int rc;

  (void)ctx;
  if (s == NULL || s->closing)
    return BT_OK; /* a duplicate on its way out */
  node_sync_get_stats(s->x, &st);
  if (!node_sync_running(s->x))
    run_begins(s); /* the peer's first message of a run (or a NUDGE) */
  if ((rc = node_sync_recv(s->x, m, len, &out, &olen)) != BT_OK) {
    sess_fail(s, rc);
    return BT_OK;
  }
  if (sess_send(s, out, olen) != BT_OK)
    return BT_OK;
  if ((rc = node_sync_work(s->x)) != BT_OK) { /* a bulk message's ops, now the answer is out */
    sess_fail(s, rc);
    return BT_OK;
  }
  sess_after(s, st.runs);
  return BT_OK;
}

static void hook_close(void *ctx, node_net_conn *c, int reason)
{
  node_hub *h = ctx;
  hub_sess *s = node_net_data(c);
  node_sync_stats st;

  if (s == NULL)
    return;
  node_sync_get_stats(s->x, &st);
  if (node_sync_running(s->x) || s->err)
    sess_log(s, "sync-cut", reason ? reason : NODE_NET_R_CLOSED);
  stats_add(&h->closed, &st);
  if (s->prev)
    s->prev->next = s->next;
  else
    h->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  node_net_set_data(c, NULL);
  sess_free(s);
}

/* ---- the hub --------------------------------------------------------------------- */

static int copy_fprs(node_hub *h, const node_hub_opts *o)
{
  if (o->nrelay_fprs == 0)
    return BT_OK;
  if ((h->fprs = calloc(o->nrelay_fprs, sizeof(*h->fprs))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < o->nrelay_fprs; i++) {
    if (o->relay_fprs[i] == NULL || strlen(o->relay_fprs[i]) != CRDT_FPR_LEN - 1)
      return BT_EINVAL;
    memcpy(h->fprs[i], o->relay_fprs[i], CRDT_FPR_LEN);
  }
  h->nfprs = o->nrelay_fprs;
  return BT_OK;
}

static int copy_opts(node_hub *h, const node_hub_opts *o)
{
  h->sync = o->sync;
  h->sync.relay_orgs = NULL;
  if (o->sync.nrelay) {
    if (o->sync.relay_orgs == NULL)
      return BT_EINVAL;
    if ((h->relay_orgs = calloc(o->sync.nrelay, sizeof(crdt_id))) == NULL)
      return BT_ENOMEM;
    memcpy(h->relay_orgs, o->sync.relay_orgs, o->sync.nrelay * sizeof(crdt_id));
    h->sync.relay_orgs = h->relay_orgs;
  }
  h->period_ms = o->period_ms ? o->period_ms : NODE_HUB_PERIOD_MS;
  h->poll_ms = o->poll_ms ? o->poll_ms : NODE_HUB_POLL_MS;
  if (o->dir) {
    size_t n = strlen(o->dir) + sizeof "/data.mdb";
    if ((h->watch = malloc(n)) == NULL)
      return BT_ENOMEM;
    snprintf(h->watch, n, "%s/data.mdb", o->dir);
  }
  return copy_fprs(h, o);
}

int node_hub_new(node_hub **out, uv_loop_t *loop, node_store *s, const node_hub_opts *o)
{
  node_hub_opts none = {0};
  node_hub *h;
  int rc;

  if (loop == NULL || s == NULL)
    return BT_EINVAL;
  if ((h = calloc(1, sizeof(*h))) == NULL)
    return BT_ENOMEM;
  h->loop = loop;
  h->s = s;
  if ((rc = copy_opts(h, o ? o : &none)) != BT_OK) {
    node_hub_free(h);
    return rc;
  }
  node_store_device(s, h->device_pk);
  h->hook = (node_net_sync){.open = hook_open, .message = hook_message, .close = hook_close,
                            .ctx = h, .caps = CAPS, .ncaps = 1};
  *out = h;
  return BT_OK;
}

const node_net_sync *node_hub_hook(node_hub *h)
{
  return &h->hook;
}

int node_hub_start(node_hub *h)
{
  int rc;

  if (h->started || h->stopping)
    return BT_EINVAL;
  h->started = 1;
  hub_transfers(h); /* whatever arrived while the node was down */
  uv_timer_init(h->loop, &h->kick);
  uv_timer_init(h->loop, &h->poll);
  uv_timer_init(h->loop, &h->period);
  h->kick.data = h->poll.data = h->period.data = h;
  h->handles = 3;
  uv_timer_start(&h->poll, on_poll, h->poll_ms, h->poll_ms);
  uv_timer_start(&h->period, on_period, h->period_ms, h->period_ms);
  if (h->watch) {
    uv_fs_event_init(h->loop, &h->fs);
    h->fs.data = h;
    h->handles++;
    h->watching = 1;
    if ((rc = uv_fs_event_start(&h->fs, on_fs, h->watch, 0)) != 0)
      node_net_log("not watching the store (%s): polling every %llu ms", uv_err_name(rc),
                   (unsigned long long)h->poll_ms);
  }
  return BT_OK;
}

void node_hub_stats(const node_hub *h, node_sync_stats *st)
{
  node_sync_stats one;

  *st = h->closed;
  for (const hub_sess *s = h->sessions; s; s = s->next) {
    node_sync_get_stats(s->x, &one);
    stats_add(st, &one);
  }
}

static void on_closed(uv_handle_t *hd)
{
  node_hub *h = hd->data;

  if (--h->handles == 0 && h->done)
    h->done(h->done_ctx);
}

void node_hub_stop(node_hub *h, void (*done)(void *ctx), void *ctx)
{
  if (h->stopping)
    return;
  h->stopping = 1;
  h->done = done;
  h->done_ctx = ctx;
  if (!h->started) {
    if (done)
      done(ctx);
    return;
  }
  uv_close((uv_handle_t *)&h->kick, on_closed);
  uv_close((uv_handle_t *)&h->poll, on_closed);
  uv_close((uv_handle_t *)&h->period, on_closed);
  if (h->watching)
    uv_close((uv_handle_t *)&h->fs, on_closed);
}

void node_hub_free(node_hub *h)
{
  if (h == NULL)
    return;
  while (h->sessions) { /* only if net was freed without its closes: not expected */
    hub_sess *s = h->sessions;
    h->sessions = s->next;
    sess_free(s);
  }
  free(h->relay_orgs);
  free(h->fprs);
  free(h->watch);
  free(h);
}
