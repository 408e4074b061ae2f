/* web/server.c: HTTP/1.1 connections on libuv (web/server.h).
 *
 * One connection: bytes arrive in a growing buffer (bounded by the
 * parser's limits plus one read); the parser takes what it can; a complete
 * request is answered before more bytes are parsed, so responses keep the
 * order of pipelined requests and reads stop while one is written. */
#define _POSIX_C_SOURCE 200809L
#include "web/server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

#define READ_CHUNK 65536

typedef struct conn conn;

struct web_server {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  web_server_opts o;
  web_http_limits lim;
  char listen[64];
  conn *conns;         /* open connections */
  unsigned nconns;
  int listening, stopping, handles;
};

struct conn {
  conn *next, *prev;
  web_server *srv;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wr;
  web_http_parser *p;
  uint8_t *buf;        /* bytes read, not yet parsed */
  size_t len, cap;
  uint8_t *out;        /* the response being written (may hold a cookie) */
  size_t out_len;
  char peer[64];
  int closing, writing, close_after, handles, reading;
};

static void conn_unlink(conn *c)
{
  web_server *srv = c->srv;

  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
}

/* Frees p[0..len) after wiping it: requests carry passphrases and
 * session cookies, responses set cookies. */
static void wipe_free(uint8_t *p, size_t len)
{
  if (p)
    sodium_memzero(p, len);
  free(p);
}

static void conn_closed(uv_handle_t *h)
{
  conn *c = h->data;

  if (--c->handles > 0)
    return;
  web_http_parser_free(c->p);
  wipe_free(c->buf, c->cap);
  wipe_free(c->out, c->out_len);
  free(c);
}

static void conn_close(conn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  conn_unlink(c);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, conn_closed);
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static int send_bytes(conn *c, uint8_t *bytes, size_t len, int close_after);

/* A request that did not arrive whole in time gets 408; an idle
 * connection, or one whose client stopped reading, just closes. */
static void on_timeout(uv_timer_t *t)
{
  conn *c = t->data;
  web_response r = {.status = 408, .close = 1};
  uint8_t *bytes = NULL;
  size_t len = 0;

  if (!c->writing && web_http_pending(c->p) && web_http_response(&r, &bytes, &len) == BT_OK &&
      send_bytes(c, bytes, len, 1) == 0)
    return;
  conn_close(c);
}

static void arm(conn *c, uint64_t ms)
{
  uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static void serve(conn *c);

static void on_written(uv_write_t *w, int status)
{
  conn *c = w->data;

  wipe_free(c->out, c->out_len);
  c->out = NULL;
  c->writing = 0;
  if (status != 0 || c->close_after || c->closing) {
    conn_close(c);
    return;
  }
  arm(c, c->len ? c->srv->o.head_timeout_ms : c->srv->o.idle_timeout_ms);
  serve(c); /* a pipelined request may be waiting */
}

static int send_bytes(conn *c, uint8_t *bytes, size_t len, int close_after)
{
  uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);

  c->out = bytes;
  c->out_len = len;
  c->writing = 1;
  c->close_after = close_after;
  c->wr.data = c;
  arm(c, c->srv->o.idle_timeout_ms); /* a client that never reads is cut too */
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    wipe_free(c->out, c->out_len);
    c->out = NULL;
    c->writing = 0;
    conn_close(c);
    return -1;
  }
  return 0;
}

static void answer(conn *c, const web_request *req)
{
  web_reply r;
  uint8_t *bytes = NULL;
  size_t len = 0;

  memset(&r, 0, sizeof r);
  c->srv->o.handler(c->srv->o.ctx, c->peer, req, &r);
  r.resp.close = r.resp.close || !req->keep_alive || c->srv->stopping;
  r.resp.head = req->method == WEB_HEAD;
  if (r.resp.headers == NULL && r.resp.nheaders == 0) {
    r.resp.headers = r.headers;
  }
  if (r.resp.body == NULL && r.body)
    r.resp.body = r.body;
  if (web_http_response(&r.resp, &bytes, &len) != BT_OK) {
    web_response e = {.status = 500, .close = 1};
    free(bytes);
    bytes = NULL;
    if (web_http_response(&e, &bytes, &len) != BT_OK) {
      free(r.body);
      conn_close(c);
      return;
    }
    r.resp.close = 1;
  }
  free(r.body);
  sodium_memzero(r.scratch, sizeof r.scratch); /* a cookie may have been there */
  send_bytes(c, bytes, len, r.resp.close);
}

/* Parses what has arrived; answers one complete request (or an error). */
static void serve(conn *c)
{
  size_t used = 0;
  int rc;

  if (c->writing || c->closing || c->len == 0)
    return;
  rc = web_http_feed(c->p, c->buf, c->len, &used);
  if (used) {
    memmove(c->buf, c->buf + used, c->len - used);
    sodium_memzero(c->buf + c->len - used, used); /* no stale copy of what was read */
    c->len -= used;
  }
  if (rc == WEB_HTTP_REQUEST) {
    uv_timer_stop(&c->timer);
    answer(c, web_http_request(c->p));
  } else if (rc != 0) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (web_http_error_response(c->p, &bytes, &len) == BT_OK)
      send_bytes(c, bytes, len, 1);
    else
      conn_close(c);
  }
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
  conn *c = h->data;
  size_t room = c->srv->lim.max_head + c->srv->lim.max_body + READ_CHUNK;

  (void)want;
  if (c->cap - c->len < READ_CHUNK && c->cap < room) {
    size_t nc = c->cap ? c->cap * 2 : READ_CHUNK;
    uint8_t *g;
    if (nc > room)
      nc = room;
    if ((g = malloc(nc)) != NULL) { /* not realloc: the old block is wiped */
      if (c->len)
        memcpy(g, c->buf, c->len);
      wipe_free(c->buf, c->cap);
      c->buf = g;
      c->cap = nc;
    }
  }
  *b = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  conn *c = s->data;

  (void)b;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0)
    return;
  if (c->len == 0 && !c->writing && !web_http_pending(c->p))
    arm(c, c->srv->o.head_timeout_ms); /* a request starts: it has this long, once */
  c->len += (size_t)n; /* bounded by on_alloc: the parser's limits refuse a
                          request before the buffer can fill */
  serve(c);
}

static void peer_name(uv_tcp_t *t, char *out, size_t len)
{
  struct sockaddr_storage ss;
  int n = sizeof ss;

  snprintf(out, len, "?");
  if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &n) != 0)
    return;
  if (ss.ss_family == AF_INET)
    uv_ip4_name((struct sockaddr_in *)&ss, out, len);
  else if (ss.ss_family == AF_INET6)
    uv_ip6_name((struct sockaddr_in6 *)&ss, out, len);
}

static void on_conn(uv_stream_t *l, int status)
{
  web_server *srv = l->data;
  conn *c;

  if (status != 0 || srv->stopping)
    return;
  if ((c = calloc(1, sizeof *c)) == NULL)
    return;
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || srv->nconns > srv->o.max_conns ||
      web_http_parser_new(&c->p, &srv->lim) != BT_OK) {
    conn_close(c); /* over the limit: the client sees the connection close */
    return;
  }
  peer_name(&c->tcp, c->peer, sizeof c->peer);
  uv_tcp_nodelay(&c->tcp, 1);
  arm(c, srv->o.idle_timeout_ms);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int parse_listen(const char *v, struct sockaddr_storage *ss)
{
  char host[64];
  const char *colon = strrchr(v, ':');
  long port;
  char *end;

  if (colon == NULL || (size_t)(colon - v) >= sizeof host || colon == v)
    return BT_EINVAL;
  port = strtol(colon + 1, &end, 10);
  if (*end || colon[1] == 0 || port < 0 || port > 65535)
    return BT_EINVAL;
  if (v[0] == '[') {
    if (colon[-1] != ']')
      return BT_EINVAL;
    memcpy(host, v + 1, (size_t)(colon - v) - 2);
    host[colon - v - 2] = 0;
    return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0 ? BT_OK : BT_EINVAL;
  }
  memcpy(host, v, (size_t)(colon - v));
  host[colon - v] = 0;
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ? BT_OK : BT_EINVAL;
}

int web_server_new(web_server **out, uv_loop_t *loop, const web_server_opts *o)
{
  struct sockaddr_storage ss;
  web_server *srv;
  const char *l = o->listen ? o->listen : WEB_LISTEN_DEFAULT;

  *out = NULL;
  if (o->handler == NULL || strlen(l) >= sizeof srv->listen || parse_listen(l, &ss) != BT_OK)
    return BT_EINVAL;
  if ((srv = calloc(1, sizeof *srv)) == NULL)
    return BT_ENOMEM;
  srv->loop = loop;
  srv->o = *o;
  snprintf(srv->listen, sizeof srv->listen, "%s", l);
  srv->o.listen = srv->listen;
  if (srv->o.max_conns == 0)
    srv->o.max_conns = 64;
  if (srv->o.head_timeout_ms == 0)
    srv->o.head_timeout_ms = 10000;
  if (srv->o.idle_timeout_ms == 0)
    srv->o.idle_timeout_ms = 30000;
  srv->lim = o->limits;
  if (srv->lim.max_head == 0)
    web_http_limits_default(&srv->lim);
  *out = srv;
  return BT_OK;
}

int web_server_start(web_server *srv, int *port)
{
  struct sockaddr_storage ss;
  int rc, n = sizeof ss;

  parse_listen(srv->listen, &ss);
  uv_tcp_init(srv->loop, &srv->tcp);
  srv->tcp.data = srv;
  srv->handles = 1;
  if ((rc = uv_tcp_bind(&srv->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&srv->tcp, 128, on_conn)) != 0)
    return rc;
  srv->listening = 1;
  if (port && uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&ss, &n) == 0)
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

static void srv_closed(uv_handle_t *h)
{
  web_server *srv = h->data;

  srv->handles = 0;
}

void web_server_stop(web_server *srv)
{
  if (srv == NULL || srv->stopping)
    return;
  srv->stopping = 1;
  while (srv->conns)
    conn_close(srv->conns);
  if (srv->handles)
    uv_close((uv_handle_t *)&srv->tcp, srv_closed);
}

void web_server_free(web_server *srv)
{
  free(srv);
}
