/* web/main.c: batond, the node daemon, with the web UI inside it
 * (node/daemon.h, docs/web.md). The UI listens on 127.0.0.1:7644 unless
 * `--web ADDR:PORT` (or `web = ADDR:PORT` in the config file) says
 * otherwise; `--web off` runs the node without it. `--web
 * ADDR:PORT@ORIGIN` serves behind a TLS proxy: ORIGIN (https://host[:port])
 * is then the only origin accepted, and cookies are Secure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "crdt/err.h"
#include "node/daemon.h"
#include "node/net.h"
#include "web/app.h"
#include "web/server.h"

typedef struct {
  char listen[64];
  char origin[96]; /* "" : http://ADDR:PORT */
  int off;
  web_server *srv;
  web_app *app;
} web_ext;

static int set(void *ctx, const char *v, const char **why)
{
  web_ext *w = ctx;

  const char *at = strchr(v, '@');
  size_t n = at ? (size_t)(at - v) : strlen(v);

  *why = "want ADDR:PORT (e.g. 127.0.0.1:7644), ADDR:PORT@https://HOST[:PORT] (behind a TLS "
         "proxy) or off";
  if (strcmp(v, "off") == 0) {
    w->off = 1;
    return BT_OK;
  }
  if (n >= sizeof w->listen || memchr(v, ':', n) == NULL)
    return BT_EINVAL;
  if (at) {
    const char *o = at + 1;
    /* An https origin with a host and nothing after it: no path, no
     * credentials, no spaces. */
    if (strncmp(o, "https://", 8) != 0 || strlen(o) >= sizeof w->origin || o[8] == 0 ||
        strpbrk(o + 8, "/@?# \t") != NULL)
      return BT_EINVAL;
    snprintf(w->origin, sizeof w->origin, "%s", o);
  } else
    w->origin[0] = 0;
  if (strncmp(v, "0.0.0.0:", 8) == 0 || strncmp(v, "[::]:", 5) == 0) {
    /* The address is also the only origin the UI accepts (Host, Origin). */
    *why = "give the address people will type (e.g. 192.168.1.20:7644), not a wildcard";
    return BT_EINVAL;
  }
  snprintf(w->listen, sizeof w->listen, "%.*s", (int)n, v);
  w->off = 0;
  return BT_OK;
}

static void handle(void *ctx, const char *peer, const web_request *req, web_reply *out)
{
  web_ext *w = ctx;

  if (w->app == NULL) {
    out->resp.status = 503;
    return;
  }
  web_app_handle(w->app, peer, req, out);
}

static int start(void *ctx, uv_loop_t *loop, node_store *s)
{
  web_ext *w = ctx;
  web_server_opts so = {.listen = w->listen[0] ? w->listen : WEB_LISTEN_DEFAULT,
                        .handler = handle, .ctx = w};
  char host[64], origin[96];
  const char *colon;
  int port = 0, rc;

  if (w->off)
    return BT_OK;
  if ((rc = web_server_new(&w->srv, loop, &so)) != BT_OK)
    return rc;
  if ((rc = web_server_start(w->srv, &port)) != 0) {
    node_net_log("web-failed listen=%s error=%s", so.listen, uv_strerror(rc));
    return BT_EINVAL;
  }
  colon = strrchr(so.listen, ':');
  snprintf(host, sizeof host, "%.*s", (int)(colon - so.listen), so.listen);
  if (w->origin[0])
    snprintf(origin, sizeof origin, "%s", w->origin);
  else
    snprintf(origin, sizeof origin, "http://%s:%d", host, port);
  if ((rc = web_app_new(&w->app, s,
                        &(web_app_opts){.origin = origin, .secure_cookie = w->origin[0] != 0})) !=
      BT_OK)
    return rc;
  if (w->origin[0])
    node_net_log("web UI on %s/ (listening on %s:%d behind a TLS proxy)", origin, host, port);
  else
    node_net_log("web UI on %s/", origin);
  if (!w->origin[0] && strcmp(host, "127.0.0.1") != 0 && strcmp(host, "[::1]") != 0 &&
      strcmp(host, "localhost") != 0)
    node_net_log("web-warning the web UI is served without TLS on %s: passphrases and case "
                 "files cross the network in clear; put a TLS proxy in front (docs/web.md)",
                 host);
  return BT_OK;
}

static void stop(void *ctx)
{
  web_ext *w = ctx;

  web_server_stop(w->srv);
}

static void done(void *ctx)
{
  web_ext *w = ctx;

  web_server_free(w->srv);
  web_app_free(w->app);
  w->srv = NULL;
  w->app = NULL;
}

int main(int argc, char **argv)
{
  web_ext w = {0};
  node_daemon_ext ext = {
    .key = "web",
    .usage = "  --web ADDR:PORT    serve the web UI here (default " WEB_LISTEN_DEFAULT
             "; off: none;\n"
             "                     ADDR:PORT@https://HOST: behind a TLS proxy at HOST)\n",
    .set = set, .start = start, .stop = stop, .free = done, .ctx = &w,
  };

  return node_daemon_main(argc, argv, &ext);
}
