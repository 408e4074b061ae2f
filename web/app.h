/* web/app.h: what the web UI answers (docs/web.md "API"): the embedded
 * pages and assets, and the JSON API over node/'s role-checked calls.
 *
 * Every request: the Host header must name this server (DNS rebinding);
 * API calls other than sign-in need a live session cookie; every POST
 * (sign-in included) needs a same-origin Origin or Referer, and every POST
 * but sign-in the session's CSRF token in X-CSRF-Token. Sign-in is rate
 * limited per client address on top of node/'s per-user lockout. What a
 * role may see is decided by node/ (the *_as calls), never here. Errors
 * are JSON {"error": "..."} with a 4xx status, and never echo case
 * content. */
#ifndef BT_WEB_APP_H
#define BT_WEB_APP_H

#include <stdint.h>

#include "node/store.h"
#include "web/server.h"

typedef struct web_app web_app;

typedef struct {
  const char *origin;      /* "http://127.0.0.1:7644": the only Origin and Host accepted */
  int secure_cookie;       /* served over TLS (not yet): Secure cookies */
  uint64_t (*clock_ms)(void *ctx); /* NULL: the system clock */
  void *clock_ctx;
} web_app_opts;

/* BT_ENOMEM, BT_EINVAL (no origin). The store is borrowed. */
int web_app_new(web_app **out, node_store *s, const web_app_opts *o);
void web_app_free(web_app *a); /* NULL is a no-op */

/* A web_handler (server.h): ctx is the web_app. */
void web_app_handle(void *ctx, const char *peer, const web_request *req, web_reply *out);

#endif
