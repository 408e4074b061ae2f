/* web/server.h: HTTP/1.1 over libuv, on batond's loop (docs/web.md).
 *
 * The server owns the connections: it reads bytes into web/http.h's parser,
 * hands each complete request to a handler, writes the handler's response
 * (web_http_response adds the security headers) and then reads the next
 * request of a kept-alive connection, or closes. It knows nothing of
 * sessions or routes: the handler (web/app.h) does.
 *
 * Limits (web_server_opts, defaults in brackets): connections at once [64];
 * a whole request must arrive within head_timeout [10 s] of its first byte
 * (slow senders are cut: 408); an idle kept-alive connection closes after
 * idle_timeout [30 s]; request sizes as web_http_limits. A malformed or
 * oversized request gets its 4xx and the connection closes; nothing a
 * client sends reaches the handler unless it parsed whole. Loopback by
 * default: another address is an explicit setting. */
#ifndef BT_WEB_SERVER_H
#define BT_WEB_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "web/http.h"

#define WEB_LISTEN_DEFAULT "127.0.0.1:7644"

/* What a handler answers: resp as web_http_response takes it; body (may be
 * NULL) is freed by the server with free() after writing. */
typedef struct {
  web_response resp;
  web_header headers[8];
  uint8_t *body;
  char scratch[256];   /* room for header values (a Set-Cookie): the server
                          clears it once the response is serialised */
} web_reply;

/* Answers req from the client at peer ("127.0.0.1"): fills *out (zeroed
 * first). Never fails: errors are responses. */
typedef void (*web_handler)(void *ctx, const char *peer, const web_request *req,
                            web_reply *out);

typedef struct {
  const char *listen;      /* "ADDR:PORT" [WEB_LISTEN_DEFAULT]; port 0: any */
  unsigned max_conns;      /* [64] */
  uint64_t head_timeout_ms; /* [10000] */
  uint64_t idle_timeout_ms; /* [30000] */
  web_http_limits limits;  /* zeroed: web_http_limits_default */
  web_handler handler;
  void *ctx;
} web_server_opts;

typedef struct web_server web_server;

/* BT_EINVAL (address), BT_ENOMEM. Copies what it needs from o. */
int web_server_new(web_server **out, uv_loop_t *loop, const web_server_opts *o);
/* Binds and listens: 0 or a libuv error (uv_strerror). *port (may be NULL)
 * gets the port bound, for port 0. */
int web_server_start(web_server *srv, int *port);
/* Stops listening and closes every connection; handles close on the loop. */
void web_server_stop(web_server *srv);
/* After the loop has run the closes. NULL is a no-op. */
void web_server_free(web_server *srv);

#endif
