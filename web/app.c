/* web/app.c: pages, assets and the JSON API (web/app.h). */
#define _POSIX_C_SOURCE 200809L
#include "web/app.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdt/err.h"
#include "node/users.h"
#include "web/api.h"
#include "web/assets.h"
#include "web/session.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define LOGIN_MAX 4096 /* bytes of a sign-in body */

struct web_app {
  node_store *s;
  web_app_opts o;
  char origin[128];
  web_sessions *sessions;
  web_ratelimit *rl;
};

/* Sessions and the rate limit count on a clock that never steps back. */
static uint64_t mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Jansson's memory is wiped when freed: a sign-in body (the passphrase)
 * passes through its parser. A size header in front of each block. */
static void *wipe_malloc(size_t n)
{
  size_t *p = malloc(n + sizeof(max_align_t));

  if (p == NULL)
    return NULL;
  *p = n;
  return (char *)p + sizeof(max_align_t);
}

static void wipe_free_json(void *q)
{
  char *p;

  if (q == NULL)
    return;
  p = (char *)q - sizeof(max_align_t);
  sodium_memzero(q, *(size_t *)p);
  free(p);
}

static uint64_t now_ms(const web_app *a)
{
  struct timespec ts;

  if (a->o.clock_ms)
    return a->o.clock_ms(a->o.clock_ctx);
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int web_app_new(web_app **out, node_store *s, const web_app_opts *o)
{
  web_app *a;

  *out = NULL;
  if (o == NULL || o->origin == NULL || strlen(o->origin) >= sizeof a->origin)
    return BT_EINVAL;
  if ((a = calloc(1, sizeof *a)) == NULL)
    return BT_ENOMEM;
  json_set_alloc_funcs(wipe_malloc, wipe_free_json); /* the whole process: batond */
  a->s = s;
  a->o = *o;
  strcpy(a->origin, o->origin);
  a->o.origin = a->origin;
  if (web_sessions_new(&a->sessions, NULL) != BT_OK || web_ratelimit_new(&a->rl, NULL) != BT_OK) {
    web_app_free(a);
    return BT_ENOMEM;
  }
  *out = a;
  return BT_OK;
}

void web_app_free(web_app *a)
{
  if (a == NULL)
    return;
  web_sessions_free(a->sessions);
  web_ratelimit_free(a->rl);
  free(a);
}

/* ---- replies ----------------------------------------------------------------- */

static void header(web_reply *r, const char *name, const char *value)
{
  if (r->resp.nheaders < sizeof r->headers / sizeof r->headers[0])
    r->headers[r->resp.nheaders++] = (web_header){name, value};
  r->resp.headers = r->headers;
}

/* The JSON document j (stolen) as the reply. */
static void json_reply(web_reply *r, int status, json_t *j)
{
  /* Into a plain malloc'd buffer (the server frees the body with free();
   * jansson's own blocks go back through its wiping allocator). */
  size_t n = j ? json_dumpb(j, NULL, 0, JSON_COMPACT) : 0;
  char *text = n ? malloc(n + 1) : NULL;

  if (text && json_dumpb(j, text, n, JSON_COMPACT) == n)
    text[n] = 0;
  else {
    free(text);
    text = NULL;
  }
  json_decref(j);
  if (text == NULL) {
    status = 500;
    text = strdup("{\"error\":\"out of memory\"}");
  }
  r->resp.status = status;
  header(r, "Content-Type", JSON_TYPE);
  r->body = (uint8_t *)text;
  r->resp.body = text;
  r->resp.body_len = text ? strlen(text) : 0;
}

static void error_reply(web_reply *r, int status, const char *msg)
{
  json_reply(r, status, json_pack("{s:s}", "error", msg));
}

/* ---- sessions ---------------------------------------------------------------- */

/* The request's session, or NULL (no cookie, unknown, expired). */
static web_session *session_of(web_app *a, const web_request *req)
{
  const char *cookie = web_http_header(req, "cookie"), *v;
  web_session *s = NULL;
  size_t n;

  if (cookie == NULL || web_session_cookie_find(cookie, strlen(cookie), &v, &n) != BT_OK ||
      v == NULL)
    return NULL;
  if (web_session_get(a->sessions, v, n, mono_ms(), 1, &s) != BT_OK)
    return NULL;
  return s;
}

static int same_origin(web_app *a, const web_request *req)
{
  return web_origin_ok(web_http_header(req, "origin"), web_http_header(req, "referer"),
                       web_http_header(req, "host"), a->origin);
}

static int csrf_ok(const web_session *s, const web_request *req)
{
  const char *t = web_http_header(req, "x-csrf-token");

  return t && web_csrf_check(s, t, strlen(t)) == BT_OK;
}

static json_t *me_json(const web_session *s)
{
  return json_pack("{s:s, s:s, s:s}", "user", web_session_user(s), "role",
                   node_role_name(web_session_role(s)), "csrf", web_session_csrf(s));
}

/* The rate limit's key for a client: its IPv4 address, or its IPv6 /64
 * (one household or host holds a whole /64). */
static void rl_key(const char *peer, char *out, size_t len)
{
  unsigned char b[16];

  if (strchr(peer, ':') && inet_pton(AF_INET6, peer, b) == 1) {
    memset(b + 8, 0, 8);
    if (inet_ntop(AF_INET6, b, out, (socklen_t)len) != NULL) {
      strncat(out, "/64", len - strlen(out) - 1);
      return;
    }
  }
  snprintf(out, len, "%s", peer);
}

static void login(web_app *a, const char *peer, const web_request *req, web_reply *r)
{
  json_error_t je;
  json_t *j = NULL;
  const char *user = NULL, *pass = NULL;
  web_session_tokens tok;
  char cookie[WEB_COOKIE_LEN], key[64];
  uint64_t now = now_ms(a), mono = mono_ms();
  uint32_t wait;
  node_role role;
  int rc;

  if (req->body_len > LOGIN_MAX ||
      (j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &je)) ==
        NULL ||
      json_unpack(j, "{s:s, s:s}", "user", &user, "passphrase", &pass) != 0) {
    json_decref(j);
    error_reply(r, 400, "send {\"user\": NAME, \"passphrase\": PASSPHRASE} as JSON");
    return;
  }
  rl_key(peer, key, sizeof key);
  if ((wait = web_ratelimit_allow(a->rl, key, mono)) != 0) {
    json_decref(j);
    snprintf(r->scratch, sizeof r->scratch, "%u", wait);
    header(r, "Retry-After", r->scratch);
    error_reply(r, 429, "too many sign-in attempts from here: wait, then try again");
    return;
  }
  rc = node_user_login(a->s, user, pass, strlen(pass), now, &role);
  sodium_memzero((void *)pass, strlen(pass));
  if (rc != BT_OK) {
    json_decref(j);
    web_ratelimit_fail(a->rl, key, mono);
    error_reply(r, rc == BT_ELOCKED ? 423 : 401,
                rc == BT_ELOCKED ? "this account is locked for 15 minutes after five wrong "
                                   "passphrases"
                : rc == BT_EPASS ? "wrong user name or passphrase"
                                 : "cannot sign in now");
    return;
  }
  web_ratelimit_ok(a->rl, key, mono);
  rc = web_session_create(a->sessions, user, role, mono, &tok);
  json_decref(j);
  if (rc != BT_OK ||
      web_session_cookie(tok.id, a->o.secure_cookie, WEB_SESSION_ABS_MS / 1000, cookie,
                         sizeof cookie) != BT_OK) {
    sodium_memzero(&tok, sizeof tok);
    error_reply(r, 500, "cannot open a session");
    return;
  }
  {
    web_session *s;
    json_t *me = NULL;
    if (web_session_get(a->sessions, tok.id, strlen(tok.id), mono, 1, &s) == BT_OK)
      me = me_json(s);
    sodium_memzero(&tok, sizeof tok);
    json_reply(r, 200, me);
  }
  /* The cookie text lives in the reply until it is written. */
  memcpy(r->scratch, cookie, sizeof cookie);
  sodium_memzero(cookie, sizeof cookie);
  header(r, "Set-Cookie", r->scratch);
}

static void logout(web_app *a, web_session *s, web_reply *r)
{
  web_session_end(a->sessions, s);
  web_session_cookie_clear(a->o.secure_cookie, r->scratch, sizeof r->scratch);
  json_reply(r, 200, json_pack("{s:b}", "signed_out", 1));
  header(r, "Set-Cookie", r->scratch);
}

/* ---- the API ------------------------------------------------------------------- */

/* ---- dispatch ------------------------------------------------------------------ */

static void me(web_app *a, web_session *s, web_reply *r)
{
  (void)a;
  json_reply(r, 200, me_json(s));
}

/* The API calls after sign-in: one method each (HEAD answers as GET). */
static const struct {
  const char *path;
  web_method method;
  void (*run)(web_app *a, web_session *s, web_reply *r);
} ROUTES[] = {
  {"/api/me", WEB_GET, me},
  {"/api/logout", WEB_POST, logout},
};

/* The API modules (web/api.h), asked in turn. */
static const web_api_fn MODULES[] = {web_api_files, web_api_entries, web_api_desk,
                                     web_api_intake, web_api_xfer, web_api_share,
                                     web_api_audit};

static void not_allowed(web_reply *r, const char *allow)
{
  error_reply(r, 405, "method not allowed");
  header(r, "Allow", allow);
}

static void asset(const web_request *req, web_reply *r)
{
  const web_asset *x = web_asset_find(strcmp(req->path, "/") == 0 ? "/index.html" : req->path);

  if (x == NULL) {
    error_reply(r, 404, "not found");
    return;
  }
  r->resp.status = 200;
  header(r, "Content-Type", x->type);
  header(r, "Cache-Control", "no-cache");
  r->resp.body = x->data;
  r->resp.body_len = x->len;
}

void web_app_handle(void *ctx, const char *peer, const web_request *req, web_reply *r)
{
  web_app *a = ctx;
  int api = strncmp(req->path, "/api/", 5) == 0;
  web_session *s;

  if (!web_host_ok(web_http_header(req, "host"), a->origin)) {
    error_reply(r, 421, "this server answers only to its own address");
    return;
  }
  if (!api) {
    if (req->method != WEB_GET && req->method != WEB_HEAD) {
      not_allowed(r, "GET, HEAD");
      return;
    }
    asset(req, r);
    return;
  }
  if (req->method == WEB_POST && !same_origin(a, req)) {
    error_reply(r, 403, "cross-origin request refused");
    return;
  }
  web_sessions_sweep(a->sessions, mono_ms()); /* expired sessions leave memory */
  if (strcmp(req->path, "/api/login") == 0) {
    if (req->method != WEB_POST)
      not_allowed(r, "POST");
    else
      login(a, peer, req, r);
    return;
  }
  if ((s = session_of(a, req)) == NULL) {
    error_reply(r, 401, "sign in first");
    return;
  }
  if (req->method == WEB_POST && !csrf_ok(s, req)) {
    error_reply(r, 403, "missing or wrong X-CSRF-Token");
    return;
  }
  for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
    if (strcmp(req->path, ROUTES[i].path) != 0)
      continue;
    if ((req->method == WEB_HEAD ? WEB_GET : req->method) != ROUTES[i].method)
      not_allowed(r, ROUTES[i].method == WEB_POST ? "POST" : "GET, HEAD");
    else
      ROUTES[i].run(a, s, r);
    return;
  }
  {
    web_call c = {a->s, web_session_user(s), web_session_role(s), now_ms(a), req,
                  req->method == WEB_HEAD ? WEB_GET : req->method};
    for (size_t i = 0; i < sizeof MODULES / sizeof MODULES[0]; i++) {
      const char *allow = NULL;
      json_t *j = NULL;
      int st = MODULES[i](&c, &j, &allow);
      if (st != 0) {
        json_reply(r, st, j);
        if (allow)
          header(r, "Allow", allow);
        return;
      }
    }
  }
  error_reply(r, 404, "no such API call");
}
