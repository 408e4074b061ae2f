/* node/net.c: the network of node/net.h: the listener, the dialers, and
 * stopping them all. Each connection is conn.c's.
 *
 * `live` counts what must finish before a stop is complete: the listener,
 * each dialer's timer, each address lookup in flight, each connection and
 * each refused socket. */
#define _POSIX_C_SOURCE 200809L
#include "net.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/err.h"
#include "node/net_int.h"
#include "node/org.h"

#define LISTEN_BACKLOG 511

/* ---- logging ------------------------------------------------------------------ */

static void (*log_fn)(void *, const char *, size_t);
static void *log_ctx;

void node_net_log_sink(void (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
  log_fn = fn;
  log_ctx = ctx;
}

void node_net_log(const char *fmt, ...)
{
  char line[1024], ts[32];
  struct timespec t;
  struct tm tm;
  va_list ap;
  int k, m;

  clock_gettime(CLOCK_REALTIME, &t);
  gmtime_r(&t.tv_sec, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  k = snprintf(line, sizeof line, "%s.%03ldZ batond: ", ts, t.tv_nsec / 1000000);
  va_start(ap, fmt);
  m = vsnprintf(line + k, sizeof line - (size_t)k - 1, fmt, ap);
  va_end(ap);
  if (m < 0)
    m = 0;
  k += (size_t)m < sizeof line - (size_t)k - 1 ? m : (int)(sizeof line - (size_t)k - 2);
  line[k++] = '\n';
  if (log_fn) {
    log_fn(log_ctx, line, (size_t)k);
    return;
  }
  if (write(STDERR_FILENO, line, (size_t)k) < 0)
    return; /* nowhere left to say so */
}

const char *node_net_reason_name(int r, char *buf, size_t len)
{
  const char *s = NULL;

  switch (r) {
#define X(name, code, str, msg) \
  case code:                    \
    s = str;                    \
    break;
    NODE_NET_REASON_MAP(X)
#undef X
  default:
    break;
  }
  if (s == NULL && r <= -1001 && r >= -1999 && strcmp(bt_errname(r), "errno") != 0)
    s = bt_errname(r);
  if (s != NULL)
    snprintf(buf, len, "%s", s);
  else if (r < 0)
    uv_err_name_r(r, buf, len);
  else
    snprintf(buf, len, "reason_%d", r);
  return buf;
}


/* ---- addresses ---------------------------------------------------------------- */

int node_net_addr_parse(const char *s, char *host, size_t hlen, uint16_t *port)
{
  const char *h = s, *colon;
  size_t n;
  unsigned long v = 0;

  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (end == NULL || end[1] != ':')
      return BT_EINVAL;
    h = s + 1;
    n = (size_t)(end - h);
    colon = end + 1;
  } else {
    if ((colon = strrchr(s, ':')) == NULL)
      return BT_EINVAL;
    n = (size_t)(colon - s);
    if (memchr(s, ':', n) != NULL)
      return BT_EINVAL; /* IPv6 needs brackets */
  }
  if (n == 0 || n >= hlen || colon[1] == '\0' || strlen(colon + 1) > 5)
    return BT_EINVAL;
  for (const char *p = colon + 1; *p; p++) {
    if (*p < '0' || *p > '9')
      return BT_EINVAL;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v > 65535)
    return BT_EINVAL;
  memcpy(host, h, n);
  host[n] = '\0';
  *port = (uint16_t)v;
  return BT_OK;
}

static void sockaddr_str(const struct sockaddr *sa, char out[NODE_NET_ADDR_MAX])
{
  char ip[48] = "?";
  int port = 0;

  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, NODE_NET_ADDR_MAX, "%s:%d", ip, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    snprintf(out, NODE_NET_ADDR_MAX, "[%s]:%d", ip, port);
  } else {
    snprintf(out, NODE_NET_ADDR_MAX, "?");
  }
}

static void peer_str(const uv_tcp_t *t, char out[NODE_NET_ADDR_MAX])
{
  struct sockaddr_storage ss;
  int len = sizeof ss;

  if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) == 0)
    sockaddr_str((const struct sockaddr *)&ss, out);
  else
    snprintf(out, NODE_NET_ADDR_MAX, "?");
}

/* ---- stopping ---------------------------------------------------------------- */

void node__net_maybe_stopped(node_net *n)
{
  if (n->stopping && n->live == 0 && !n->stopped_called) {
    n->stopped_called = 1;
    node_net_log("stopped");
    if (n->done)
      n->done(n->done_ctx);
  }
}


/* ---- accepting -------------------------------------------------------------------- */

static void on_refused_closed(uv_handle_t *h)
{
  node_net *n = h->data;

  free(h);
  n->live--;
  node__net_maybe_stopped(n);
}

/* Accepts and closes at once: a socket libuv does not accept stays queued
 * and stops the listener. */
static void refuse(node_net *n, uv_stream_t *server, int reason)
{
  char addr[NODE_NET_ADDR_MAX] = "?", name[48];
  uv_tcp_t *t = malloc(sizeof(*t));

  if (t == NULL)
    return;
  uv_tcp_init(n->loop, t);
  t->data = n;
  n->live++;
  if (uv_accept(server, (uv_stream_t *)t) == 0)
    peer_str(t, addr);
  node_net_log("refuse peer=%s dir=in reason=%s conns=%u", addr,
               node_net_reason_name(reason, name, sizeof name), n->nconns);
  uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
  node_net *n = server->data;
  node_net_conn *c;
  int rc;

  if (status < 0) {
    char name[48];
    node_net_log("accept failed reason=%s", node_net_reason_name(status, name, sizeof name));
    return;
  }
  if (n->stopping || n->nconns >= n->o.max_conns || (c = node__conn_new(n, 1)) == NULL) {
    refuse(n, server, n->stopping ? NODE_NET_R_STOP : NODE_NET_R_LIMIT);
    return;
  }
  if ((rc = uv_accept(server, (uv_stream_t *)&c->tcp)) == 0) {
    peer_str(&c->tcp, c->addr);
    rc = node__conn_accepted(c);
  }
  if (rc != BT_OK)
    node__conn_fail(c, rc);
}

/* ---- dialling --------------------------------------------------------------------- */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  dialer *d = req->data;
  node_net *n = d->n;
  node_net_conn *c = NULL;
  char name[48];
  int rc = status;

  d->resolving = 0;
  n->live--;
  if (n->stopping) {
    uv_freeaddrinfo(res);
    node__net_maybe_stopped(n);
    return;
  }
  if (rc == 0 && n->nconns >= n->o.max_conns)
    rc = NODE_NET_R_LIMIT;
  else if (rc == 0 && (c = node__conn_new(n, 0)) == NULL)
    rc = BT_ENOMEM;
  if (c != NULL) {
    d->c = c;
    c->d = d;
    sockaddr_str(res->ai_addr, c->addr);
    if ((rc = node__conn_connect(c, res->ai_addr)) != 0)
      node__conn_fail(c, rc); /* freeing it schedules the next try */
  } else {
    node_net_log("dial peer=%s reason=%s", d->addr, node_net_reason_name(rc, name, sizeof name));
    if (n->o.dial_failed)
      n->o.dial_failed(n->o.dial_ctx, d->addr, NODE_NET_STAGE_CONNECT, rc);
    node__dialer_schedule(d);
  }
  uv_freeaddrinfo(res);
}

static void dialer_fire(uv_timer_t *t)
{
  dialer *d = t->data;
  node_net *n = d->n;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV};
  int rc;

  if (n->stopping || d->c || d->resolving)
    return;
  d->gai.data = d;
  if ((rc = uv_getaddrinfo(n->loop, &d->gai, on_resolved, d->host, d->port, &hints)) != 0) {
    char name[48];
    node_net_log("dial peer=%s reason=%s", d->addr, node_net_reason_name(rc, name, sizeof name));
    if (n->o.dial_failed)
      n->o.dial_failed(n->o.dial_ctx, d->addr, NODE_NET_STAGE_CONNECT, rc);
    node__dialer_schedule(d);
    return;
  }
  d->resolving = 1;
  n->live++;
}

/* min * 2^attempt, capped, then drawn from its upper half ("equal
 * jitter"), so peers that failed together do not retry together. */
void node__dialer_schedule(dialer *d)
{
  node_net *n = d->n;
  uint64_t base = n->o.retry_min_ms, delay;

  if (n->stopping)
    return;
  for (unsigned i = 0; i < d->attempt && base < n->o.retry_max_ms; i++)
    base *= 2;
  if (base > n->o.retry_max_ms)
    base = n->o.retry_max_ms;
  delay = base - base / 2 + randombytes_uniform((uint32_t)(base / 2 + 1));
  if (d->attempt < 64)
    d->attempt++;
  node_net_log("retry peer=%s in_ms=%llu", d->addr, (unsigned long long)delay);
  uv_timer_start(&d->timer, dialer_fire, delay, 0);
}

/* ---- the network ------------------------------------------------------------------ */

static int opts_apply(node_net *n, const node_net_opts *o)
{
  n->o = *o;
  if (n->o.max_conns == 0)
    n->o.max_conns = NODE_NET_CONNS_DEFAULT;
  if (n->o.hs_timeout_ms == 0)
    n->o.hs_timeout_ms = NODE_NET_HS_TIMEOUT_MS;
  if (n->o.idle_timeout_ms == 0)
    n->o.idle_timeout_ms = NODE_NET_IDLE_TIMEOUT_MS;
  if (n->o.frame_timeout_ms == 0)
    n->o.frame_timeout_ms = NODE_NET_FRAME_TIMEOUT_MS;
  if (n->o.retry_min_ms == 0)
    n->o.retry_min_ms = NODE_NET_RETRY_MIN_MS;
  if (n->o.retry_max_ms == 0)
    n->o.retry_max_ms = n->o.retry_min_ms > NODE_NET_RETRY_MAX_MS ? n->o.retry_min_ms
                                                                   : NODE_NET_RETRY_MAX_MS;
  if (n->o.max_frame == 0)
    n->o.max_frame = PROTO_FRAME_MAX_DEFAULT;
  if (n->o.max_frame < PROTO_HS_MAX || n->o.max_frame > PROTO_FRAME_MAX_CAP ||
      n->o.retry_min_ms > n->o.retry_max_ms || n->o.retry_max_ms > UINT32_MAX)
    return BT_EINVAL;
  if (o->sync)
    n->sync = *o->sync;
  n->o.sync = NULL;
  n->o.peers = NULL;
  n->o.listen = NULL;
  return BT_OK;
}

static int dialers_new(node_net *n, const char *const *peers, size_t np)
{
  uint16_t port;

  if (np == 0)
    return BT_OK;
  if ((n->dialers = calloc(np, sizeof(dialer))) == NULL)
    return BT_ENOMEM;
  n->ndialers = np;
  for (size_t i = 0; i < np; i++) {
    dialer *d = &n->dialers[i];
    d->n = n;
    if (strlen(peers[i]) >= sizeof d->addr ||
        node_net_addr_parse(peers[i], d->host, sizeof d->host, &port) != BT_OK || port == 0)
      return BT_EINVAL;
    snprintf(d->addr, sizeof d->addr, "%s", peers[i]);
    snprintf(d->port, sizeof d->port, "%u", (unsigned)port);
  }
  return BT_OK;
}

int node_net_new(node_net **out, uv_loop_t *loop, node_store *s, const node_net_opts *o)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t port;
  node_org org;
  node_net *n;
  int rc;

  if ((n = calloc(1, sizeof(*n))) == NULL)
    return BT_ENOMEM;
  n->loop = loop;
  n->s = s;
  if ((rc = opts_apply(n, o)) != BT_OK || (rc = dialers_new(n, o->peers, o->npeers)) != BT_OK)
    goto fail;
  rc = BT_EINVAL;
  if (o->listen && node_net_addr_parse(o->listen, host, sizeof host, &port) != BT_OK)
    goto fail;
  rc = BT_ENOMEM;
  if ((o->listen && (n->listen = strdup(o->listen)) == NULL) ||
      (n->rbuf = malloc(NODE_NET_RBUF_LEN)) == NULL || (n->pbuf = malloc(n->o.max_frame)) == NULL)
    goto fail;
  if ((rc = node_org_get(s, &org)) != BT_OK)
    goto fail;
  node_org_clear(&org);
  *out = n;
  return BT_OK;
fail:
  node_net_free(n);
  return rc;
}

static int net_listen(node_net *n)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  char host[NODE_NET_HOST_MAX], port[8], addr[NODE_NET_ADDR_MAX];
  uv_getaddrinfo_t req;
  uint16_t p;
  int rc;

  node_net_addr_parse(n->listen, host, sizeof host, &p);
  snprintf(port, sizeof port, "%u", (unsigned)p);
  /* No callback: resolved synchronously, once, at start. */
  if ((rc = uv_getaddrinfo(n->loop, &req, NULL, host, port, &hints)) != 0)
    return rc;
  uv_tcp_init(n->loop, &n->server);
  n->server.data = n;
  n->listening = 1;
  n->live++;
  rc = uv_tcp_bind(&n->server, req.addrinfo->ai_addr, 0);
  uv_freeaddrinfo(req.addrinfo);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&n->server, LISTEN_BACKLOG, on_connection);
  if (rc == 0 && node_net_address(n, addr) == BT_OK)
    node_net_log("listening on %s", addr);
  return rc;
}

int node_net_start(node_net *n)
{
  int rc;

  assert(!n->started);
  n->started = 1;
  for (size_t i = 0; i < n->ndialers; i++) {
    uv_timer_init(n->loop, &n->dialers[i].timer);
    n->dialers[i].timer.data = &n->dialers[i];
    n->live++;
  }
  if (n->listen && (rc = net_listen(n)) != 0)
    return rc;
  for (size_t i = 0; i < n->ndialers; i++)
    uv_timer_start(&n->dialers[i].timer, dialer_fire, 0, 0);
  return BT_OK;
}

int node_net_address(const node_net *n, char buf[NODE_NET_ADDR_MAX])
{
  struct sockaddr_storage ss;
  int len = sizeof ss;

  if (!n->listening || uv_tcp_getsockname(&n->server, (struct sockaddr *)&ss, &len) != 0)
    return BT_ENOTFOUND;
  sockaddr_str((const struct sockaddr *)&ss, buf);
  return BT_OK;
}

static void on_part_closed(uv_handle_t *h)
{
  node_net *n = h->data;

  if (h->type == UV_TIMER)
    n = ((dialer *)h->data)->n;
  n->live--;
  node__net_maybe_stopped(n);
}

void node_net_stop(node_net *n, void (*done)(void *ctx), void *ctx)
{
  if (n->stopping) { /* again: nobody waits for anyone */
    for (node_net_conn *c = n->conns; c; c = c->next)
      node__conn_kill(c);
    return;
  }
  n->stopping = 1;
  n->done = done;
  n->done_ctx = ctx;
  if (n->listening)
    uv_close((uv_handle_t *)&n->server, on_part_closed);
  for (size_t i = 0; n->started && i < n->ndialers; i++) {
    uv_close((uv_handle_t *)&n->dialers[i].timer, on_part_closed);
    if (n->dialers[i].resolving)
      uv_cancel((uv_req_t *)&n->dialers[i].gai);
  }
  for (node_net_conn *c = n->conns; c; c = c->next)
    node__conn_end(c, NODE_NET_R_STOP); /* frees nothing yet: closes are deferred */
  node__net_maybe_stopped(n);
}

void node_net_free(node_net *n)
{
  if (n == NULL)
    return;
  assert(n->live == 0);
  free(n->dialers);
  free(n->listen);
  free(n->rbuf);
  free(n->pbuf);
  free(n);
}
