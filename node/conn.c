/* node/conn.c: one connection of node/net.h, driven through proto's
 * handshake and stream.
 *
 * A connection owns a uv_tcp_t and one uv_timer_t. Rather than a timer per
 * deadline, conn_arm computes the earliest of those that apply (handshake,
 * idle, frame, linger) after every event and restarts the one timer; the
 * timer callback works out which deadline passed. A connection is freed
 * once both handles have closed (tcp first, then the timer).
 *
 * States: CONNECT (dialling) -> HS (handshake frames) -> HDR (handshake
 * done, our stream header sent, waiting for the peer's) -> OPEN (sealed
 * messages) -> DRAIN. Two ways out: node__conn_fail closes at once
 * (protocol errors, timeouts before a session, I/O errors);
 * node__conn_end, for an open session, sends bye (TAG_FINAL), shuts the
 * write side down and drains until the peer closes or the linger deadline
 * passes, so the peer reads our bye before the socket goes (closing with
 * unread bytes would reset it).
 *
 * Reads land in one buffer per node_net, not per connection: the loop runs
 * one read callback at a time and the frame decoder consumes every byte
 * before it returns (it copies a partial frame into its own buffer), so the
 * buffer is free again when the callback ends. Plaintexts likewise share
 * one buffer, borrowed by the sync layer only for its callback. */
#define _POSIX_C_SOURCE 200809L
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/mp.h"
#include "node/net_int.h"
#include "node/org.h"
#include "node/store_int.h"

/* Bytes queued to a peer beyond which it counts as not reading. */
#define BACKLOG_MAX(n) (2 * (n)->o.max_frame + 65536)

static const char *const STATE[] = {"connect", "handshake", "header", "open", "drain"};

typedef struct {
  uv_write_t req;
  size_t len;
  uint8_t data[];
} wreq;

static void conn_log(node_net_conn *c, const char *event, int reason)
{
  char fpr[CRDT_FPR_LEN] = "-", name[48];

  if (c->have_pk)
    crdt_fingerprint(c->peer_pk, CRDT_PK_LEN, fpr);
  node_net_log("%s peer=%s dir=%s state=%s reason=%s fpr=%s", event, c->addr,
               c->inbound ? "in" : "out", STATE[c->state],
               node_net_reason_name(reason, name, sizeof name), fpr);
}

/* ---- lifetime ------------------------------------------------------------------- */

static void conn_free(node_net_conn *c)
{
  node_net *n = c->n;
  dialer *d = c->d;

  if (c->opened && n->sync.close)
    n->sync.close(n->sync.ctx, c, c->reason);
  if (c->prev)
    c->prev->next = c->next;
  else
    n->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (d) {
    d->c = NULL;
    /* C_CONNECT..C_OPEN are NODE_NET_STAGE_CONNECT..OPEN; a drain comes
     * only after a session */
    if (!c->opened && n->o.dial_failed)
      n->o.dial_failed(n->o.dial_ctx, d->addr, c->state > C_OPEN ? C_OPEN : c->state,
                       c->reason);
    if (c->reason == NODE_NET_R_DUPLICATE)
      d->attempt = 64; /* the peer is reached another way: try seldom */
    else if (c->established)
      d->attempt = 0; /* it worked: the next try comes soon */
    node__dialer_schedule(d);
  }
  proto_frame_dec_free(c->dec);
  proto_hs_free(c->hs);
  proto_stream_free(c->st);
  free(c);
  n->nconns--;
  n->live--;
  node__net_maybe_stopped(n);
}

static void on_timer_closed(uv_handle_t *h)
{
  conn_free(h->data);
}

static void on_tcp_closed(uv_handle_t *h)
{
  node_net_conn *c = h->data;

  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* Closes both handles; pending writes are cancelled (their callbacks run,
 * with UV_ECANCELED, before on_tcp_closed). */
void node__conn_kill(node_net_conn *c)
{
  c->closing = 1;
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

/* Records why, once: the first reason is the one logged. */
static int conn_closing(node_net_conn *c, int reason)
{
  if (c->closing)
    return 0;
  c->closing = 1;
  if (reason == BT_EAUTH && c->self)
    reason = NODE_NET_R_SELF;
  c->reason = reason;
  conn_log(c, "close", reason);
  return 1;
}

void node__conn_fail(node_net_conn *c, int reason)
{
  if (conn_closing(c, reason))
    node__conn_kill(c);
}

node_net_conn *node__conn_new(node_net *n, int inbound)
{
  node_net_conn *c = calloc(1, sizeof(*c));

  if (c == NULL)
    return NULL;
  c->n = n;
  c->inbound = inbound;
  c->state = inbound ? C_HS : C_CONNECT;
  c->t0 = c->last_rx = uv_now(n->loop);
  snprintf(c->addr, sizeof c->addr, "?");
  uv_tcp_init(n->loop, &c->tcp);
  uv_timer_init(n->loop, &c->timer);
  c->tcp.data = c->timer.data = c->creq.data = c;
  c->next = n->conns;
  if (n->conns)
    n->conns->prev = c;
  n->conns = c;
  n->nconns++;
  n->live++;
  return c;
}

/* ---- deadlines ------------------------------------------------------------------ */

static void on_deadline(uv_timer_t *t);

static void conn_arm(node_net_conn *c)
{
  node_net *n = c->n;
  uint64_t now = uv_now(n->loop), due;

  if (c->state == C_DRAIN) {
    due = c->drain_t0 + NODE_NET_LINGER_MS;
  } else {
    due = c->state == C_OPEN ? c->last_rx + n->o.idle_timeout_ms : c->t0 + n->o.hs_timeout_ms;
    if (c->frame_t0 && c->frame_t0 + n->o.frame_timeout_ms < due)
      due = c->frame_t0 + n->o.frame_timeout_ms;
  }
  uv_timer_start(&c->timer, on_deadline, due > now ? due - now : 0, 0);
}

static void on_deadline(uv_timer_t *t)
{
  node_net_conn *c = t->data;
  node_net *n = c->n;
  uint64_t now = uv_now(n->loop);

  if (c->closing && c->state != C_DRAIN)
    return;
  if (c->state == C_DRAIN)
    node__conn_kill(c); /* the peer did not answer our bye in time */
  else if (c->frame_t0 && now >= c->frame_t0 + n->o.frame_timeout_ms)
    node__conn_fail(c, NODE_NET_R_SLOW);
  else if (c->state != C_OPEN && now >= c->t0 + n->o.hs_timeout_ms)
    node__conn_fail(c, NODE_NET_R_HS_TIMEOUT);
  else if (c->state == C_OPEN && now >= c->last_rx + n->o.idle_timeout_ms)
    node__conn_end(c, NODE_NET_R_IDLE);
  else
    conn_arm(c);
}

/* ---- writing ---------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
  wreq *w = (wreq *)req;
  node_net_conn *c = req->handle->data;

  free(w);
  if (status < 0 && !c->closing)
    node__conn_fail(c, status);
}

static wreq *wreq_new(size_t payload)
{
  wreq *w = malloc(sizeof(*w) + PROTO_FRAME_HDR + payload);

  if (w)
    w->len = PROTO_FRAME_HDR + payload;
  return w;
}

/* Frames and queues w's payload (w->data + PROTO_FRAME_HDR, len bytes);
 * takes w, also on error. */
static int conn_write(node_net_conn *c, wreq *w, size_t len)
{
  node_net *n = c->n;
  uv_buf_t b;
  int rc;

  if ((rc = proto_frame_header(len, n->o.max_frame, w->data)) != BT_OK) {
    free(w);
    return rc;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > BACKLOG_MAX(n)) {
    free(w);
    node__conn_fail(c, NODE_NET_R_BACKLOG);
    return BT_EPROTO;
  }
  b = uv_buf_init((char *)w->data, (unsigned)(PROTO_FRAME_HDR + len));
  if ((rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written)) != 0)
    free(w);
  return rc;
}

static int conn_send_raw(node_net_conn *c, const uint8_t *p, size_t len)
{
  wreq *w = wreq_new(len);

  if (w == NULL)
    return BT_ENOMEM;
  memcpy(w->data + PROTO_FRAME_HDR, p, len);
  return conn_write(c, w, len);
}

static int conn_seal(node_net_conn *c, const uint8_t *m, size_t len, int final)
{
  wreq *w = wreq_new(len + PROTO_STREAM_ABYTES);
  size_t olen;
  int rc;

  if (w == NULL)
    return BT_ENOMEM;
  rc = proto_stream_seal(c->st, m, len, final, w->data + PROTO_FRAME_HDR,
                         len + PROTO_STREAM_ABYTES, &olen);
  if (rc != BT_OK) {
    free(w);
    return rc;
  }
  return conn_write(c, w, olen);
}

/* Link messages are at most [kind, u64]: 11 bytes. */
static int conn_link_send(node_net_conn *c, unsigned kind, uint64_t token, int final)
{
  uint8_t m[16];
  size_t k = 0;

  m[k++] = kind == NODE_NET_MSG_BYE ? 0x91 : 0x92;
  m[k++] = (uint8_t)kind;
  if (kind != NODE_NET_MSG_BYE) {
    m[k++] = 0xcf; /* u64: tokens are random, so nearly always 8 bytes */
    for (int i = 7; i >= 0; i--)
      m[k++] = (uint8_t)(token >> (8 * i));
  }
  return conn_seal(c, m, k, final);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  (void)req;
  (void)status; /* the drain ends it either way */
}

/* A session (or one whose handshake is done and our stream up) ends
 * politely: bye, FIN, then drain until the peer closes too or the linger
 * deadline passes. Anything else closes now. */
void node__conn_end(node_net_conn *c, int reason)
{
  node_net *n = c->n;

  if (c->state != C_OPEN && c->state != C_HDR) { /* no stream to say bye on */
    node__conn_fail(c, reason);
    return;
  }
  if (!conn_closing(c, reason))
    return;
  c->state = C_DRAIN;
  c->drain_t0 = uv_now(n->loop);
  if (conn_link_send(c, NODE_NET_MSG_BYE, 0, 1) != BT_OK ||
      uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    node__conn_kill(c);
    return;
  }
  conn_arm(c);
}

/* ---- the handshake ---------------------------------------------------------------- */

static int verify_peer(void *ctx, const uint8_t pk[CRDT_PK_LEN], const uint8_t *dev, size_t dlen,
                       const uint8_t *org, size_t olen)
{
  node_net_conn *c = ctx;
  node_store *s = c->n->s;

  memcpy(c->peer_pk, pk, CRDT_PK_LEN);
  c->have_pk = 1; /* proven: the fingerprint may now be logged */
  if (sodium_memcmp(pk, s->device_pk, CRDT_PK_LEN) == 0) {
    c->self = 1;
    return BT_EAUTH;
  }
  return node_chain_check(s, dev, dlen, org, olen, node__now_ms(s));
}

/* Certificates are read for each handshake, so one installed by the CLI
 * while batond runs is used from the next connection on. */
static int conn_hs_new(node_net_conn *c, int initiator)
{
  node_net *n = c->n;
  uint8_t epk[PROTO_EPH_LEN], esk[PROTO_EPH_LEN];
  node_org o;
  int rc;

  if ((rc = proto_frame_dec_new(&c->dec, PROTO_HS_MAX)) != BT_OK)
    return rc;
  if ((rc = node_org_get(n->s, &o)) != BT_OK)
    return rc;
  crypto_kx_keypair(epk, esk);
  proto_hs_config cfg = {.initiator = initiator, .sign_sk = node_secret_bytes(n->s->device),
                         .dev_cert = {o.device_cert, o.device_cert_len},
                         .org_cert = {o.org_cert, o.org_cert_len}, .version = PROTO_VERSION,
                         .caps = n->sync.caps, .ncaps = n->sync.ncaps, .eph_pk = epk,
                         .eph_sk = esk, .verify = verify_peer, .verify_ctx = c};
  rc = proto_hs_new(&c->hs, &cfg);
  sodium_memzero(esk, sizeof esk);
  node_org_clear(&o);
  c->state = C_HS;
  return rc;
}

static int conn_hs_done(node_net_conn *c)
{
  uint8_t rnd[PROTO_STREAM_HEADER];
  proto_hs_result r;
  int rc;

  if ((rc = proto_hs_get_result(c->hs, &r)) != BT_OK)
    return rc;
  randombytes_buf(rnd, sizeof rnd);
  if ((rc = proto_stream_new(&c->st, r.send_key, r.recv_key, rnd, 0)) != BT_OK)
    return rc;
  if ((rc = conn_send_raw(c, proto_stream_header(c->st), PROTO_STREAM_HEADER)) != BT_OK)
    return rc;
  c->state = C_HDR;
  /* Later frames may be as long as a session allows. */
  return proto_frame_dec_set_max(c->dec, c->n->o.max_frame);
}

static int conn_hs(node_net_conn *c, const uint8_t *p, size_t len)
{
  uint8_t out[PROTO_HS_MAX];
  size_t olen = 0;
  int rc;

  if ((rc = proto_hs_recv(c->hs, p, len, out, sizeof out, &olen)) != BT_OK)
    return rc;
  if (olen > 0 && (rc = conn_send_raw(c, out, olen)) != BT_OK)
    return rc;
  return proto_hs_done(c->hs) ? conn_hs_done(c) : BT_OK;
}

/* ---- the session ------------------------------------------------------------------ */

/* HOOK: here an authenticated session, both streams up, goes to the sync
 * layer through node_net_sync.open: in batond that is node/hub.c, which
 * runs a node/sync.h session over it (the dialler starts a run at once).
 * With no hook (node_net_opts.sync NULL) the placeholder runs instead: the
 * dialler pings. */
static int session_open(node_net_conn *c)
{
  node_net *n = c->n;
  char fpr[CRDT_FPR_LEN], ofpr[CRDT_FPR_LEN] = "-";
  proto_hs_result r;
  crdt_cert *oc = NULL;
  int rc;

  if ((rc = proto_hs_get_result(c->hs, &r)) != BT_OK)
    return rc;
  crdt_fingerprint(r.peer_pk, CRDT_PK_LEN, fpr);
  if (crdt_cert_decode(r.peer_org_cert.p, r.peer_org_cert.len, &oc) == BT_OK)
    crdt_fingerprint(oc->b.subject.b, CRDT_PK_LEN, ofpr);
  crdt_cert_free(oc);
  node_net_log("session peer=%s dir=%s fpr=%s org=%s version=%u", c->addr,
               c->inbound ? "in" : "out", fpr, ofpr, (unsigned)r.version);
  c->state = C_OPEN;
  c->established = 1;
  c->last_rx = uv_now(n->loop);
  if (n->sync.open) {
    node_net_peer p = {.dev_cert = r.peer_dev_cert, .org_cert = r.peer_org_cert,
                       .version = r.version, .caps = r.caps, .ncaps = r.ncaps,
                       .initiator = !c->inbound, .addr = c->addr};
    memcpy(p.device_pk, r.peer_pk, CRDT_PK_LEN);
    if ((rc = n->sync.open(n->sync.ctx, c, &p)) != BT_OK)
      return rc;
    c->opened = 1;
    return BT_OK;
  }
  if (c->inbound)
    return BT_OK;
  randombytes_buf(&c->ping_token, sizeof c->ping_token);
  c->ping_at = uv_hrtime();
  c->ping_out = 1;
  return conn_link_send(c, NODE_NET_MSG_PING, c->ping_token, 0);
}

static int conn_link(node_net_conn *c, const uint8_t *m, size_t len, int final)
{
  msgpack_zone z;
  msgpack_object o;
  const msgpack_object *it;
  uint64_t kind = 0, token = 0;
  size_t k = 0;
  int rc;

  msgpack_zone_init(&z, 256);
  if ((rc = proto_frame_unpack(m, len, &z, &o)) == BT_OK &&
      (rc = crdt_mp_array(&o, 1, 2, &it, &k)) == BT_OK &&
      (rc = crdt_mp_uint(&it[0], &kind)) == BT_OK && k == 2)
    rc = crdt_mp_uint(&it[1], &token);
  msgpack_zone_destroy(&z);
  if (rc != BT_OK)
    return rc;
  /* bye, and only bye, is final; it has no token, ping and pong one. */
  if ((kind == NODE_NET_MSG_BYE) != (final != 0) || (kind == NODE_NET_MSG_BYE) != (k == 1))
    return BT_EPROTO;
  switch (kind) {
  case NODE_NET_MSG_PING:
    return conn_link_send(c, NODE_NET_MSG_PONG, token, 0);
  case NODE_NET_MSG_PONG:
    if (!c->ping_out || token != c->ping_token)
      return BT_EPROTO;
    c->ping_out = 0;
    node_net_log("pong peer=%s rtt_us=%llu", c->addr,
                 (unsigned long long)((uv_hrtime() - c->ping_at) / 1000));
    return BT_OK;
  case NODE_NET_MSG_BYE:
    node__conn_end(c, NODE_NET_R_BYE);
    return BT_OK;
  default:
    return BT_EPROTO; /* 67..79: reserved for net */
  }
}

/* The kind of a message that walked clean: a fixarray whose first item is
 * a positive fixint is net's when in 64..79. */
static int is_link(const uint8_t *m, size_t len)
{
  return len >= 2 && (m[0] & 0xf0) == 0x90 && m[0] != 0x90 && m[1] >= 64 && m[1] <= 79;
}

static int conn_message(node_net_conn *c, const uint8_t *p, size_t len)
{
  node_net *n = c->n;
  size_t mlen, used;
  int final = 0, rc;

  rc = proto_stream_open(c->st, p, len, n->pbuf, n->o.max_frame, &mlen, &final);
  if (rc != BT_OK)
    return rc;
  if ((rc = crdt_mp_walk(n->pbuf, mlen, PROTO_MP_DEPTH, &used)) != BT_OK)
    return rc;
  if (used != mlen)
    return BT_ETRAILING;
  if (is_link(n->pbuf, mlen) || final)
    return conn_link(c, n->pbuf, mlen, final);
  if (n->sync.message == NULL)
    return BT_EPROTO; /* the placeholder speaks nothing else */
  return n->sync.message(n->sync.ctx, c, n->pbuf, mlen);
}

static int conn_frame(node_net_conn *c, const uint8_t *p, size_t len)
{
  switch (c->state) {
  case C_HS:
    return conn_hs(c, p, len);
  case C_HDR: {
    int rc = proto_stream_accept(c->st, p, len);
    return rc != BT_OK ? rc : session_open(c);
  }
  case C_OPEN:
    return conn_message(c, p, len);
  default:
    return BT_EPROTO;
  }
}

/* ---- reading ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  node_net_conn *c = h->data;

  (void)suggested;
  *buf = uv_buf_init((char *)c->n->rbuf, NODE_NET_RBUF_LEN);
}

static void conn_feed(node_net_conn *c, const uint8_t *p, size_t len)
{
  uint64_t now = uv_now(c->n->loop);
  size_t used;
  bt_bytes f;
  int rc, got = 0;

  while (len > 0 && !c->closing) {
    if ((rc = proto_frame_dec_feed(c->dec, p, len, &used, &f)) != BT_OK) {
      node__conn_fail(c, rc);
      return;
    }
    p += used;
    len -= used;
    if (f.p == NULL)
      break;
    got = 1;
    c->last_rx = now;
    if ((rc = conn_frame(c, f.p, f.len)) != BT_OK)
      node__conn_fail(c, rc);
  }
  if (c->closing)
    return;
  if (proto_frame_dec_idle(c->dec))
    c->frame_t0 = 0;
  else if (got || c->frame_t0 == 0)
    c->frame_t0 = now; /* a frame began in this read */
  conn_arm(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  node_net_conn *c = stream->data;

  if (nread == 0)
    return;
  if (c->state == C_DRAIN) {
    if (nread < 0)
      node__conn_kill(c); /* the peer closed too */
    return;         /* anything after its bye is dropped */
  }
  if (c->closing)
    return;
  if (nread < 0) {
    if (nread != UV_EOF)
      node__conn_fail(c, (int)nread);
    else
      node__conn_fail(c, proto_frame_dec_idle(c->dec) ? NODE_NET_R_EOF : BT_ETRUNC);
    return;
  }
  conn_feed(c, (const uint8_t *)buf->base, (size_t)nread);
}

static int conn_start_reading(node_net_conn *c)
{
  uv_tcp_nodelay(&c->tcp, 1);
  conn_arm(c);
  return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- starting ------------------------------------------------------------------ */

static void on_connected(uv_connect_t *req, int status)
{
  node_net_conn *c = req->data;
  uint8_t hello[PROTO_HS_MAX];
  size_t len;
  int rc = status;

  if (status == UV_ECANCELED || c->closing)
    return;
  if (rc == 0 && (rc = conn_hs_new(c, 1)) == BT_OK &&
      (rc = proto_hs_start(c->hs, hello, sizeof hello, &len)) == BT_OK &&
      (rc = conn_send_raw(c, hello, len)) == BT_OK)
    rc = conn_start_reading(c);
  if (rc != 0)
    node__conn_fail(c, rc);
}


int node__conn_connect(node_net_conn *c, const struct sockaddr *sa)
{
  int rc = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connected);

  if (rc == 0)
    conn_arm(c);
  return rc;
}

int node__conn_accepted(node_net_conn *c)
{
  int rc = conn_hs_new(c, 0);

  return rc == BT_OK ? conn_start_reading(c) : rc;
}

/* ---- the sync layer's side ---------------------------------------------------------- */

int node_net_send(node_net_conn *c, const uint8_t *m, size_t len)
{
  if (c->state != C_OPEN || c->closing)
    return BT_EINVAL;
  if (len > node_net_max_message(c))
    return BT_ETOOBIG;
  return conn_seal(c, m, len, 0);
}

void node_net_close(node_net_conn *c, int reason)
{
  node__conn_end(c, reason ? reason : NODE_NET_R_CLOSED);
}

size_t node_net_max_message(const node_net_conn *c)
{
  return c->n->o.max_frame - PROTO_STREAM_ABYTES;
}

void node_net_set_data(node_net_conn *c, void *data)
{
  c->data = data;
}

void *node_net_data(const node_net_conn *c)
{
  return c->data;
}
