/* node/dial.c: one sync with one peer, from the caller's own loop
 * (node/dial.h).
 *
 * The pieces are batond's (node/net.h dialling one peer, node/hub.h as the
 * sync hook), with two differences: no listener, and a thin hook around
 * the hub's that notes who the peer is and why a session ended. The first
 * failure ends it (net reports a dialled attempt that came to nothing
 * through dial_failed, before its backoff would redial). A timer checks
 * every few milliseconds whether the hub has finished a run, a failure
 * was noted, or the deadline passed; stopping happens there, never inside
 * one of net's callbacks. */
#define _POSIX_C_SOURCE 200809L
#include "node/dial.h"

#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/hub.h"

#define TICK_MS 5
#define HS_TIMEOUT_MAX_MS 10000

typedef struct {
  uv_loop_t loop;
  uv_timer_t tick;
  node_net *net;
  node_hub *hub;
  const node_net_sync *inner;
  node_net_sync hook;
  node_dial_result *r;
  uint64_t t0, deadline;
  int failed, synced, stopping;
} dial;

static int w_open(void *ctx, node_net_conn *c, const node_net_peer *p)
{
  dial *d = ctx;
  crdt_cert *oc = NULL;

  d->r->have_peer = 1;
  memcpy(d->r->peer_device, p->device_pk, CRDT_PK_LEN);
  if (crdt_cert_decode(p->org_cert.p, p->org_cert.len, &oc) == BT_OK) {
    memcpy(d->r->peer_org, oc->b.subject.b, CRDT_PK_LEN);
    d->r->peer_kind = oc->b.org_kind;
  }
  crdt_cert_free(oc);
  return d->inner->open(d->inner->ctx, c, p);
}

static int w_message(void *ctx, node_net_conn *c, const uint8_t *m, size_t len)
{
  dial *d = ctx;

  return d->inner->message(d->inner->ctx, c, m, len);
}

static void w_close(void *ctx, node_net_conn *c, int reason)
{
  dial *d = ctx;

  d->inner->close(d->inner->ctx, c, reason);
  if (!d->synced && !d->failed) {
    d->failed = 1;
    d->r->stage = NODE_NET_STAGE_OPEN;
    d->r->reason = reason ? reason : NODE_NET_R_CLOSED;
  }
}

static void on_dial_failed(void *ctx, const char *addr, int stage, int reason)
{
  dial *d = ctx;

  (void)addr;
  if (d->synced || d->failed)
    return;
  d->failed = 1;
  d->r->stage = stage;
  d->r->reason = reason ? reason : NODE_NET_R_CLOSED;
}

static void on_net_stopped(void *ctx)
{
  dial *d = ctx;

  uv_close((uv_handle_t *)&d->tick, NULL);
}

static void finish(dial *d)
{
  if (d->stopping)
    return;
  d->stopping = 1;
  d->r->ms = uv_now(&d->loop) - d->t0;
  uv_timer_stop(&d->tick);
  node_hub_stop(d->hub, NULL, NULL);
  node_net_stop(d->net, on_net_stopped, d);
}

static void on_tick(uv_timer_t *t)
{
  dial *d = t->data;
  node_sync_stats st;

  node_hub_stats(d->hub, &st);
  if (!d->failed && !d->synced && st.runs >= 1) {
    d->synced = 1;
    d->r->stage = NODE_NET_STAGE_OPEN;
    d->r->reason = 0;
    d->r->st = st;
  }
  if (!d->synced && !d->failed && uv_now(&d->loop) >= d->deadline) {
    d->failed = 1;
    d->r->timed_out = 1;
    d->r->reason = UV_ETIMEDOUT;
  }
  if (d->synced || d->failed)
    finish(d);
}

static int setup(dial *d, node_store *s, const char *addr, uint64_t timeout_ms)
{
  node_hub_opts ho = {.period_ms = 24 * 3600 * 1000ull};
  const char *peers[1] = {addr};
  node_net_opts no = {.peers = peers, .npeers = 1, .max_conns = 1,
                      .hs_timeout_ms = timeout_ms < HS_TIMEOUT_MAX_MS ? timeout_ms
                                                                      : HS_TIMEOUT_MAX_MS,
                      .retry_min_ms = 3600000, .retry_max_ms = 3600000, /* no redial */
                      .dial_failed = on_dial_failed, .dial_ctx = d};
  int rc;

  if ((rc = node_hub_new(&d->hub, &d->loop, s, &ho)) != BT_OK)
    return rc;
  d->inner = node_hub_hook(d->hub);
  d->hook = *d->inner;
  d->hook.open = w_open;
  d->hook.message = w_message;
  d->hook.close = w_close;
  d->hook.ctx = d;
  no.sync = &d->hook;
  return node_net_new(&d->net, &d->loop, s, &no);
}

int node_dial_sync(node_store *s, const char *addr, uint64_t timeout_ms, node_dial_result *r)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t port;
  dial d;
  int rc, started;

  if (addr == NULL || node_net_addr_parse(addr, host, sizeof host, &port) != BT_OK ||
      port == 0 || timeout_ms == 0 || timeout_ms > 24 * 3600 * 1000ull)
    return BT_EINVAL;
  memset(&d, 0, sizeof d);
  memset(r, 0, sizeof *r);
  d.r = r;
  if ((rc = uv_loop_init(&d.loop)) != 0)
    return rc;
  if ((rc = setup(&d, s, addr, timeout_ms)) != BT_OK) {
    node_hub_free(d.hub);
    uv_loop_close(&d.loop);
    return rc;
  }
  uv_timer_init(&d.loop, &d.tick);
  d.tick.data = &d;
  d.t0 = uv_now(&d.loop);
  d.deadline = d.t0 + timeout_ms;
  node_hub_start(d.hub);
  if ((started = node_net_start(d.net)) != 0) {
    d.failed = 1;
    r->reason = started;
    finish(&d);
  } else {
    uv_timer_start(&d.tick, on_tick, TICK_MS, TICK_MS);
  }
  uv_run(&d.loop, UV_RUN_DEFAULT);
  node_net_free(d.net);
  node_hub_free(d.hub); /* after net: its closes freed the sessions */
  rc = uv_loop_close(&d.loop);
  if (started != 0)
    return started;
  if (rc != 0)
    return rc;
  return d.synced ? BT_OK : BT_EAUTH;
}
