/* tests/fuzz/fuzz_http.c: libFuzzer harness for the HTTP request parser
 * (web/http.c) and what reads a request (web/form.c, cookies, the error
 * response).
 *
 * Input: byte 0 picks the limits (the defaults, or tiny ones so every limit
 * is reachable in a short input), bytes 1-2 seed the split points, the rest
 * is what a client sent on one connection. The stream is read twice, as
 * batond would: in one piece, and cut into chunks of 1..64 bytes (sometimes
 * larger), feeding what is left after each request again. Both runs must
 * give the same requests and end the same way. Besides sanitizer reports it
 * aborts when a request breaks a promise of web/http.h: a path that is not
 * '/'-rooted, decoded UTF-8 without controls or dot segments; a header name
 * that is not a lower-case token; a size above its limit; a status outside
 * the documented set; a consumed count beyond the input. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "web/form.h"
#include "web/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  uint64_t h; /* FNV-1a over every request and the ending */
  size_t requests;
  int rc, status;
} outcome;

static void mix(outcome *o, const void *p, size_t n)
{
  const uint8_t *b = p;

  for (size_t i = 0; i < n; i++)
    o->h = (o->h ^ b[i]) * 0x100000001b3ull;
}

static void mix_str(outcome *o, const char *s)
{
  mix(o, s, strlen(s) + 1);
}

static uint32_t next(uint32_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void check_path(const char *path)
{
  size_t n = strlen(path);

  if (path[0] != '/' || !web__utf8_ok((const unsigned char *)path, n))
    abort();
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
      abort();
    if (path[i] == '/' && path[i + 1] == '.' &&
        (path[i + 2] == '/' || path[i + 2] == '\0' ||
         (path[i + 2] == '.' && (path[i + 3] == '/' || path[i + 3] == '\0'))))
      abort();
  }
}

/* What a handler would do with a request: read it every way there is. */
static void use(const web_request *r, const web_http_limits *lim)
{
  char cookie[64];
  web_form f;
  web_header loc[] = {{"Location", r->path}, {"X-Echo", r->query}};
  web_response resp = {.status = 303, .headers = loc, .nheaders = 2, .body = r->body,
                       .body_len = r->body_len, .head = r->method == WEB_HEAD};
  uint8_t *out;
  size_t out_len;

  check_path(r->path);
  if (strlen(r->target) > lim->max_target || r->nheaders > lim->max_headers ||
      r->body_len > lim->max_body || r->body == NULL)
    abort();
  for (size_t i = 0; i < r->nheaders; i++)
    for (const char *c = r->headers[i].name; *c; c++)
      if ((*c >= 'A' && *c <= 'Z') || (unsigned char)*c <= ' ' || *c == ':')
        abort();
  (void)web_http_cookie(r, "baton_session", cookie, sizeof cookie);
  if (web_form_query(&f, r, NULL) == BT_OK)
    web_form_free(&f);
  if (web_form_parse(&f, r->body, r->body_len, NULL) == BT_OK) {
    for (size_t i = 0; i < f.n; i++)
      if (!web__utf8_ok((const unsigned char *)f.v[i].value, f.v[i].value_len))
        abort();
    web_form_free(&f);
  }
  if (web_http_response(&resp, &out, &out_len) == BT_OK) {
    /* whatever got through must not have split the head */
    const uint8_t *end = memmem(out, out_len, "\r\n\r\n", 4);
    if (end == NULL || memchr(out, '\0', (size_t)(end - out)) != NULL)
      abort();
    free(out);
  }
}

static void describe(outcome *o, const web_request *r, const web_http_limits *lim)
{
  use(r, lim);
  mix(o, &r->method, sizeof r->method);
  mix_str(o, r->method_name);
  mix_str(o, r->target);
  mix_str(o, r->path);
  mix_str(o, r->query);
  for (size_t i = 0; i < r->nheaders; i++) {
    mix_str(o, r->headers[i].name);
    mix_str(o, r->headers[i].value);
  }
  mix(o, &r->body_len, sizeof r->body_len);
  mix(o, r->body, r->body_len);
  mix(o, &r->keep_alive, sizeof r->keep_alive);
  o->requests++;
}

static int allowed_status(int st)
{
  return st == 400 || st == 411 || st == 413 || st == 414 || st == 431 || st == 501 ||
         st == 503 || st == 505;
}

/* Reads the stream in chunks from seed (0: in one piece). */
static outcome run(const uint8_t *d, size_t len, const web_http_limits *lim, uint32_t seed)
{
  outcome o = {.h = 0xcbf29ce484222325ull};
  web_http_parser *p;
  size_t pos = 0;

  if (web_http_parser_new(&p, lim) != BT_OK)
    abort();
  while (pos < len) {
    size_t n = len - pos, used = 0;
    int rc;
    if (seed) {
      uint32_t r = next(&seed);
      size_t k = r % 8 == 0 ? 1 + (r >> 8) % 4096 : 1 + (r >> 8) % 64;
      n = k < n ? k : n;
    }
    rc = web_http_feed(p, d + pos, n, &used);
    if (used > n)
      abort();
    pos += used;
    if (rc == WEB_HTTP_REQUEST) {
      describe(&o, web_http_request(p), lim);
      if (!web_http_request(p)->keep_alive)
        break;
    } else if (rc < 0) {
      uint8_t *out;
      size_t out_len;
      o.rc = rc;
      o.status = web_http_status(p);
      if (!allowed_status(o.status) || web_http_request(p) != NULL)
        abort();
      mix_str(&o, web_http_reason(p));
      if (web_http_error_response(p, &out, &out_len) != BT_OK)
        abort();
      free(out);
      break;
    } else if (rc != 0 || used != n) {
      abort();
    }
  }
  if (o.rc == 0) /* after an error, how far it read depends on the cuts */
    mix(&o, &pos, sizeof pos);
  web_http_parser_free(p);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  web_http_limits lim;
  outcome a, b;
  uint32_t seed;

  if (size < 3)
    return 0;
  web_http_limits_default(&lim);
  if (data[0] & 1) { /* tiny limits: reach every edge in a short input */
    lim.max_head = 64 + data[0] % 192;
    lim.max_headers = 1 + data[0] % 5;
    lim.max_target = 8 + data[0] % 40;
    lim.max_body = data[0] % 129;
  }
  seed = (uint32_t)data[1] << 8 | data[2] | 0x10000u;
  a = run(data + 3, size - 3, &lim, 0);
  b = run(data + 3, size - 3, &lim, seed);
  if (a.h != b.h || a.requests != b.requests || a.rc != b.rc || a.status != b.status)
    abort();
  return 0;
}
