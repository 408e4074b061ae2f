/* tests/web/test_http.c: the request parser (web/http.c), its helpers and
 * the response writer.
 *
 * Most tests go through run(): it plays a server reading a byte stream in
 * chunks (whole, one byte at a time, or cut at random), feeding what is
 * left after each complete request again, and writes down a transcript:
 * each request in full, then how the connection ended. The same stream
 * must give the same transcript however it is cut. */
#define _GNU_SOURCE /* memmem, strdup */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "web/http.h"

TestSuite(web_http);
TestSuite(web_http_limits);
TestSuite(web_http_smuggling);
TestSuite(web_http_target);
TestSuite(web_http_cookie);
TestSuite(web_http_response);

/* ---- a growable string ---------------------------------------------- */

typedef struct {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const void *p, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    cr_assert_not_null(b->s);
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *fmt, ...)
{
  char small[256], *tmp = small;
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  cr_assert(n >= 0);
  if ((size_t)n >= sizeof small) {
    tmp = malloc((size_t)n + 1);
    cr_assert_not_null(tmp);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  sb_put(b, tmp, (size_t)n);
  if (tmp != small)
    free(tmp);
}

static const char *method_str(web_method m)
{
  static const char *names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"};
  return names[m];
}

static void describe(sbuf *b, const web_request *r)
{
  sb_add(b, "%s(%s) %s path=%s query=%s 1.%d ka=%d\n", method_str(r->method), r->method_name,
         r->target, r->path, r->query, r->http_minor, r->keep_alive);
  for (size_t i = 0; i < r->nheaders; i++)
    sb_add(b, "  %s: [%s]\n", r->headers[i].name, r->headers[i].value);
  sb_add(b, "  body %zu [", r->body_len);
  for (size_t i = 0; i < r->body_len; i++)
    sb_add(b, "%02x", r->body[i]);
  sb_add(b, "]\n");
}

/* ---- the server loop -------------------------------------------------- */

typedef size_t (*chunker)(void *ctx);

static size_t whole(void *ctx)
{
  (void)ctx;
  return SIZE_MAX;
}

static size_t bytewise(void *ctx)
{
  (void)ctx;
  return 1;
}

static uint64_t rnd(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static size_t random_cut(void *ctx)
{
  uint64_t r = rnd(ctx);
  return r % 4 == 0 ? 1 + r % 3 : 1 + (r >> 8) % 200;
}

/* The transcript of reading s[0..len) in chunks: every request, then
 * "closed" (keep_alive 0), "error <status> <reason>" or "pending" /
 * "idle" when the stream ran out. The caller frees it. */
static char *run(const void *s, size_t len, const web_http_limits *lim, chunker cut, void *ctx)
{
  const char *d = s;
  web_http_parser *p;
  sbuf b = {0};
  size_t pos = 0;

  cr_assert_eq(web_http_parser_new(&p, lim), BT_OK);
  sb_add(&b, "");
  while (pos < len) {
    size_t n = cut(ctx), used = 0;
    int rc;
    if (n > len - pos)
      n = len - pos;
    rc = web_http_feed(p, d + pos, n, &used);
    cr_assert_leq(used, n);
    pos += used;
    if (rc == WEB_HTTP_REQUEST) {
      const web_request *r = web_http_request(p);
      cr_assert_not_null(r);
      describe(&b, r);
      if (!r->keep_alive) {
        sb_add(&b, "closed at %zu\n", pos);
        goto out;
      }
    } else if (rc < 0) {
      cr_assert_neq(web_http_status(p), 0);
      cr_assert_null(web_http_request(p));
      sb_add(&b, "error %d %s\n", web_http_status(p), web_http_reason(p));
      goto out;
    } else {
      cr_assert_eq(rc, 0);
      cr_assert_eq(used, n, "0 means everything was read");
    }
  }
  sb_add(&b, web_http_pending(p) ? "pending\n" : "idle\n");
out:
  web_http_parser_free(p);
  return b.s;
}

static char *run_whole(const char *s, const web_http_limits *lim)
{
  return run(s, strlen(s), lim, whole, NULL);
}

/* Runs s whole, byte by byte and cut at random; all three must agree.
 * Returns the transcript. */
static char *run_all(const void *s, size_t len, const web_http_limits *lim)
{
  char *a = run(s, len, lim, whole, NULL), *b = run(s, len, lim, bytewise, NULL);
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ len;

  cr_assert_str_eq(a, b, "byte-at-a-time differs from whole:\n%s\n---\n%s", a, b);
  for (int i = 0; i < 4; i++) {
    char *c = run(s, len, lim, random_cut, &seed);
    cr_assert_str_eq(a, c, "random cut differs from whole");
    free(c);
  }
  free(b);
  return a;
}

/* The status one request (given whole and byte by byte) is refused with,
 * or 0 when it is accepted. */
static int status_of(const void *s, size_t len, const web_http_limits *lim)
{
  char *t = run_all(s, len, lim);
  int st = 0;
  const char *e = strstr(t, "error ");

  if (e)
    st = atoi(e + 6);
  else
    cr_assert(strstr(t, "body ") != NULL, "no request came out of:\n%s\ntranscript:\n%s",
              (const char *)s, t);
  free(t);
  return st;
}

static int status_str(const char *s)
{
  return status_of(s, strlen(s), NULL);
}

/* ---- basics ------------------------------------------------------------ */

Test(web_http, a_get_comes_out_whole)
{
  const char *s = "GET /files/a%20b?x=1&y=%2F HTTP/1.1\r\n"
                  "Host: localhost:8080\r\n"
                  "User-Agent:   curl/8 \t \r\n"
                  "X-Empty:\r\n"
                  "Cookie: a=1\r\n\r\n";
  web_http_parser *p;
  const web_request *r;
  size_t used;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, s, strlen(s), &used), WEB_HTTP_REQUEST);
  cr_assert_eq(used, strlen(s));
  r = web_http_request(p);
  cr_assert_eq(r->method, WEB_GET);
  cr_assert_str_eq(r->method_name, "GET");
  cr_assert_str_eq(r->target, "/files/a%20b?x=1&y=%2F");
  cr_assert_str_eq(r->path, "/files/a b");
  cr_assert_str_eq(r->query, "x=1&y=%2F");
  cr_assert_eq(r->nheaders, 4);
  cr_assert_str_eq(r->headers[0].name, "host");
  cr_assert_str_eq(r->headers[1].name, "user-agent");
  cr_assert_str_eq(r->headers[1].value, "curl/8", "values are trimmed");
  cr_assert_str_eq(r->headers[2].value, "");
  cr_assert_str_eq(web_http_header(r, "HOST"), "localhost:8080");
  cr_assert_str_eq(web_http_header(r, "cookie"), "a=1");
  cr_assert_null(web_http_header(r, "referer"));
  cr_assert_eq(r->body_len, 0);
  cr_assert_not_null(r->body);
  cr_assert_eq(r->keep_alive, 1);
  cr_assert_eq(r->http_minor, 1);
  cr_assert_eq(web_http_pending(p), 0);
  web_http_parser_free(p);
}

Test(web_http, methods_are_named)
{
  static const struct {
    const char *m;
    web_method want;
  } cases[] = {{"GET", WEB_GET},       {"HEAD", WEB_HEAD},       {"POST", WEB_POST},
               {"PUT", WEB_PUT},       {"DELETE", WEB_DELETE},   {"OPTIONS", WEB_OTHER},
               {"PATCH", WEB_OTHER}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char req[256];
    web_http_parser *p;
    size_t used;
    snprintf(req, sizeof req, "%s / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", cases[i].m);
    cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
    cr_assert_eq(web_http_feed(p, req, strlen(req), &used), WEB_HTTP_REQUEST, "%s", cases[i].m);
    cr_assert_eq(web_http_request(p)->method, cases[i].want);
    cr_assert_str_eq(web_http_request(p)->method_name, cases[i].m);
    web_http_parser_free(p);
  }
  cr_assert_eq(status_str("FROB / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

Test(web_http, a_post_body_by_length_and_by_chunks)
{
  const char *a = "POST /concerns HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n\r\nname=a%20b&";
  const char *b = "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\nname\r\n7;ext=1\r\n=a%20b&\r\n0\r\nTrailer-X: dropped\r\n\r\n";
  char *ta = run_all(a, strlen(a), NULL), *tb = run_all(b, strlen(b), NULL);

  cr_assert(strstr(ta, "body 11 [6e616d653d612532306226]\nidle\n"), "%s", ta);
  cr_assert(strstr(tb, "body 11 [6e616d653d612532306226]\nidle\n"), "%s", tb);
  cr_assert(!strstr(tb, "trailer-x"), "trailers are not headers: %s", tb);
  free(ta);
  free(tb);
}

Test(web_http, pipelined_requests_come_out_one_at_a_time)
{
  const char *s = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                  "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                  "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
                  "GET /d HTT";
  size_t first = strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"), used;
  web_http_parser *p;
  char *t;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, s, strlen(s), &used), WEB_HTTP_REQUEST);
  cr_assert_eq(used, first, "the parser stops right after the first request");
  cr_assert_str_eq(web_http_request(p)->path, "/a");
  web_http_parser_free(p);

  t = run_all(s, strlen(s), NULL);
  cr_assert(strstr(t, "path=/a") && strstr(t, "path=/b") && strstr(t, "path=/c"), "%s", t);
  cr_assert(strstr(t, "body 3 [78797a]"), "%s", t);
  cr_assert(strstr(t, "\npending\n"), "the fourth is incomplete: %s", t);
  free(t);
}

Test(web_http, leading_blank_lines_between_requests_are_skipped)
{
  char *t = run_all("\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
                    strlen("\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
                    NULL);
  cr_assert(strstr(t, "path=/a") && strstr(t, "path=/b") && strstr(t, "idle"), "%s", t);
  free(t);
}

Test(web_http, connection_close_and_http_1_0_end_the_connection)
{
  char *t = run_whole("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n"
                      "Host: h\r\n\r\n", NULL);
  web_http_parser *p;
  size_t used;
  const char *s10 = "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n";

  cr_assert(strstr(t, "ka=0") && strstr(t, "closed at") && !strstr(t, "path=/b"), "%s", t);
  free(t);
  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, s10, strlen(s10), &used), WEB_HTTP_REQUEST);
  cr_assert_eq(web_http_request(p)->http_minor, 0);
  cr_assert_eq(web_http_request(p)->keep_alive, 0);
  cr_assert_lt(web_http_feed(p, s10 + used, strlen(s10) - used, &used), 0,
               "nothing is read after the last request");
  cr_assert_eq(web_http_status(p), 400);
  web_http_parser_free(p);
}

Test(web_http, an_upgrade_is_not_followed)
{
  char *t = run_whole("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      "\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
  cr_assert(strstr(t, "ka=0") && !strstr(t, "path=/b"), "%s", t);
  free(t);
}

Test(web_http, errors_are_final_and_answerable)
{
  const char *bad = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
  web_http_parser *p;
  uint8_t *out;
  size_t used, n;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_status(p), 0);
  cr_assert_eq(web_http_error_response(p, &out, &n), BT_EINVAL);
  cr_assert_eq(web_http_feed(p, bad, strlen(bad), &used), BT_EPROTO);
  cr_assert_eq(web_http_status(p), 400);
  cr_assert_eq(web_http_feed(p, "GET / HTTP/1.1\r\n", 16, &used), BT_EPROTO);
  cr_assert_eq(used, 0);
  cr_assert_eq(web_http_error_response(p, &out, &n), BT_OK);
  cr_assert(n > 12 && memcmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
  cr_assert(memmem(out, n, "\r\nConnection: close\r\n", 21) != NULL);
  free(out);
  web_http_parser_free(p);
}

Test(web_http, pending_says_a_request_has_started)
{
  web_http_parser *p;
  size_t used;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_pending(p), 0);
  cr_assert_eq(web_http_feed(p, "GE", 2, &used), 0);
  cr_assert_eq(web_http_pending(p), 1);
  cr_assert_eq(web_http_feed(p, "T / HTTP/1.1\r\nHost: h\r\n\r\n", 25, &used), WEB_HTTP_REQUEST);
  cr_assert_eq(web_http_pending(p), 0);
  web_http_parser_free(p);
}

/* ---- limits, each at its edge ----------------------------------------- */

/* A GET whose head is exactly n bytes, padded in one header. */
static char *head_of(size_t n)
{
  const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ", *post = "\r\n\r\n";
  size_t fixed = strlen(pre) + strlen(post), pad = n - fixed;
  char *s = malloc(n + 1);

  cr_assert(n > fixed);
  memcpy(s, pre, strlen(pre));
  memset(s + strlen(pre), 'p', pad);
  memcpy(s + strlen(pre) + pad, post, strlen(post) + 1);
  return s;
}

Test(web_http_limits, head_of_16k_passes_one_more_byte_is_431)
{
  char *ok = head_of(WEB_HTTP_MAX_HEAD), *big = head_of(WEB_HTTP_MAX_HEAD + 1);

  cr_assert_eq(strlen(ok), 16384);
  cr_assert_eq(status_str(ok), 0);
  cr_assert_eq(status_str(big), 431);
  free(ok);
  free(big);
}

Test(web_http_limits, configured_head_limit_holds_with_leading_blank_lines)
{
  web_http_limits lim;
  const char *s = "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";

  web_http_limits_default(&lim);
  lim.max_head = strlen(s);
  cr_assert_eq(status_of(s, strlen(s), &lim), 0);
  lim.max_head = strlen(s) - 1;
  cr_assert_eq(status_of(s, strlen(s), &lim), 431);
}

static char *with_headers(size_t n)
{
  sbuf b = {0};

  sb_add(&b, "GET / HTTP/1.1\r\nHost: h\r\n");
  for (size_t i = 1; i < n; i++)
    sb_add(&b, "X-H%zu: %zu\r\n", i, i);
  sb_add(&b, "\r\n");
  return b.s;
}

Test(web_http_limits, sixty_four_headers_pass_sixty_five_are_431)
{
  char *ok = with_headers(64), *big = with_headers(65);
  web_http_parser *p;
  size_t used;

  cr_assert_eq(status_str(ok), 0);
  cr_assert_eq(status_str(big), 431);
  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, ok, strlen(ok), &used), WEB_HTTP_REQUEST);
  cr_assert_eq(web_http_request(p)->nheaders, 64);
  web_http_parser_free(p);
  free(ok);
  free(big);
}

static char *with_target(size_t n)
{
  sbuf b = {0};

  sb_add(&b, "GET /");
  for (size_t i = 1; i < n; i++)
    sb_put(&b, i % 50 == 0 ? "/" : "t", 1);
  sb_add(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
  return b.s;
}

Test(web_http_limits, target_of_2048_passes_2049_is_414)
{
  char *ok = with_target(2048), *big = with_target(2049);

  cr_assert_eq(status_str(ok), 0);
  cr_assert_eq(status_str(big), 414);
  free(ok);
  free(big);
}

static char *post_cl(size_t body, size_t declared, size_t *len)
{
  char head[128];
  int n = snprintf(head, sizeof head, "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n",
                   declared);
  char *s = malloc((size_t)n + body + 1);

  memcpy(s, head, (size_t)n);
  memset(s + n, 'b', body);
  s[(size_t)n + body] = '\0';
  *len = (size_t)n + body;
  return s;
}

Test(web_http_limits, body_of_1mib_passes_one_more_byte_is_413)
{
  size_t len;
  char *ok = post_cl(WEB_HTTP_MAX_BODY, WEB_HTTP_MAX_BODY, &len);
  char *t = run(ok, len, NULL, whole, NULL);
  char *big;

  cr_assert(strstr(t, "body 1048576 ["), "1 MiB passes");
  free(t);
  t = run(ok, len, NULL, random_cut, &(uint64_t){42});
  cr_assert(strstr(t, "body 1048576 ["));
  free(t);
  free(ok);
  /* refused on the declared length, before any body byte arrives */
  big = post_cl(0, WEB_HTTP_MAX_BODY + 1, &len);
  cr_assert_eq(status_of(big, len, NULL), 413);
  free(big);
}

static char *chunked(size_t total, size_t chunk, size_t *len)
{
  sbuf b = {0};

  sb_add(&b, "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (size_t left = total; left > 0;) {
    size_t n = left < chunk ? left : chunk;
    char *c = malloc(n);
    memset(c, 'c', n);
    sb_add(&b, "%zx\r\n", n);
    sb_put(&b, c, n);
    sb_add(&b, "\r\n");
    free(c);
    left -= n;
  }
  sb_add(&b, "0\r\n\r\n");
  *len = b.len;
  return b.s;
}

Test(web_http_limits, chunked_body_is_bounded_by_the_same_limit)
{
  web_http_limits lim;
  size_t len;
  char *s;

  web_http_limits_default(&lim);
  lim.max_body = 1000;
  s = chunked(1000, 300, &len);
  cr_assert_eq(status_of(s, len, &lim), 0);
  free(s);
  s = chunked(1001, 300, &len);
  cr_assert_eq(status_of(s, len, &lim), 413);
  free(s);
  s = chunked(1001, 2000, &len); /* one chunk: refused on its size line */
  cr_assert_eq(status_of(s, len, &lim), 413);
  free(s);
  s = chunked(WEB_HTTP_MAX_BODY, 65536, &len);
  cr_assert_eq(status_of(s, len, NULL), 0);
  free(s);
}

Test(web_http_limits, chunk_framing_has_a_budget)
{
  web_http_limits lim;
  size_t len;
  char *s;

  web_http_limits_default(&lim);
  lim.max_body = 1000;
  lim.max_head = 1000;
  /* 1000 one-byte chunks: 6 wire bytes each, far over body + head */
  s = chunked(1000, 1, &len);
  cr_assert_eq(status_of(s, len, &lim), 413);
  free(s);
  s = chunked(100, 1, &len); /* 600 bytes of wire: fine */
  cr_assert_eq(status_of(s, len, &lim), 0);
  free(s);
}

Test(web_http_limits, a_small_configured_body_limit)
{
  web_http_limits lim;
  size_t len;
  char *s;

  web_http_limits_default(&lim);
  lim.max_body = 10;
  s = post_cl(10, 10, &len);
  cr_assert_eq(status_of(s, len, &lim), 0);
  free(s);
  s = post_cl(11, 11, &len);
  cr_assert_eq(status_of(s, len, &lim), 413);
  free(s);
}

/* ---- one way to read a body -------------------------------------------- */

Test(web_http_smuggling, transfer_encoding_with_content_length_is_400)
{
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                          "Content-Length: 5\r\n\r\n0\r\n\r\n"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

Test(web_http_smuggling, duplicates_that_decide_framing_or_routing_are_400)
{
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                          "Content-Length: 3\r\n\r\nabc"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                          "content-length: 4\r\n\r\nabcd"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

Test(web_http_smuggling, malformed_lengths_and_codings_are_refused)
{
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999"
                          "\r\n\r\nabc"), 400);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n"
                          "\r\n0\r\n\r\n"), 400);
  cr_assert_neq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n"
                           "\r\n0\r\n\r\n"), 0);
  cr_assert_neq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), 0);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "zz\r\n"), 400);
}

Test(web_http_smuggling, post_and_put_without_a_length_are_411)
{
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\n\r\n"), 411);
  cr_assert_eq(status_str("PUT / HTTP/1.1\r\nHost: h\r\n\r\n"), 411);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), 0);
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\n\r\n"), 0);
  cr_assert_eq(status_str("DELETE / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
}

Test(web_http_smuggling, obsolete_line_folding_is_400)
{
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
  /* a folded Content-Length would hide the framing from llhttp */
  cr_assert_eq(status_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n 3\r\n\r\nabc"), 400);
}

Test(web_http_smuggling, malformed_header_lines_are_400)
{
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nX(: v\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n"), 400);
  cr_assert_eq(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\0z\r\n\r\n", 37, NULL), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\nHost: h\r\nX: a\nY: b\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / HTTP/1.1\r\n\r\n"), 400, "HTTP/1.1 needs a Host");
  cr_assert_eq(status_str("GET / HTTP/1.0\r\n\r\n"), 0);
}

Test(web_http_smuggling, versions_other_than_1_0_and_1_1_are_505)
{
  cr_assert_eq(status_str("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
  cr_assert_eq(status_str("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  cr_assert_eq(status_str("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
  cr_assert_eq(status_str("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505);
  cr_assert_eq(status_str("GET /\r\n\r\n"), 505);
  cr_assert_eq(status_str("GET / HTTP/x.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET / FTP/1.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

/* ---- the target ------------------------------------------------------- */

static char *path_of(const char *target, int *status)
{
  char req[512];
  web_http_parser *p;
  size_t used;
  char *out = NULL;

  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", target);
  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  if (web_http_feed(p, req, strlen(req), &used) == WEB_HTTP_REQUEST) {
    out = strdup(web_http_request(p)->path);
    *status = 0;
  } else {
    *status = web_http_status(p);
  }
  cr_assert_eq(status_str(req), *status, "%s: split feeding agrees", target);
  web_http_parser_free(p);
  return out;
}

static void path_is(const char *target, const char *want)
{
  int st;
  char *got = path_of(target, &st);

  cr_assert_eq(st, 0, "%s refused with %d", target, st);
  cr_assert_str_eq(got, want, "%s", target);
  free(got);
}

static void path_refused(const char *target)
{
  int st;
  char *got = path_of(target, &st);

  cr_assert_eq(st, 400, "%s: %d, path %s", target, st, got ? got : "-");
  free(got);
}

Test(web_http_target, percent_decoding)
{
  path_is("/", "/");
  path_is("/a%20b", "/a b");
  path_is("/%41%62c", "/Abc");
  path_is("/a+b", "/a+b");              /* '+' is only a space in forms */
  path_is("/caf%C3%A9", "/caf\xc3\xa9"); /* UTF-8, either case of hex */
  path_is("/caf%c3%a9", "/caf\xc3\xa9");
  path_is("/a%2Fb", "/a/b");            /* decoded once: routes see "/" */
  path_is("/%2541", "/%41");            /* and not twice */
  path_is("/a/.../b", "/a/.../b");
  path_is("/a/.b/..c/", "/a/.b/..c/");
  path_is("//x", "//x");
  path_is("/f%F0%9F%98%80", "/f\xf0\x9f\x98\x80");
  path_is("/a?", "/a");
}

Test(web_http_target, nul_controls_and_broken_escapes_are_400)
{
  path_refused("/a%00b");
  path_refused("/a%0Ab");
  path_refused("/a%0d%0aSet-Cookie:x");
  path_refused("/a%7F");
  path_refused("/a%");
  path_refused("/a%2");
  path_refused("/a%2g");
  path_refused("/a%%41");
}

Test(web_http_target, dot_segments_are_400_encoded_or_not)
{
  path_refused("/a/../b");
  path_refused("/..");
  path_refused("/a/..");
  path_refused("/a/./b");
  path_refused("/.");
  path_refused("/%2e%2e/etc/passwd");
  path_refused("/%2E%2E");
  path_refused("/a%2f..%2fb");
  path_refused("/a/.%2e/b");
}

Test(web_http_target, non_utf8_paths_are_400)
{
  path_refused("/%C0%AF");          /* overlong '/' */
  path_refused("/%C0%AE%C0%AE/x");  /* overlong ".." */
  path_refused("/%E0%80%AF");       /* overlong, three bytes */
  path_refused("/%F0%80%80%AF");    /* overlong, four bytes */
  path_refused("/%ED%A0%80");       /* a surrogate */
  path_refused("/%F4%90%80%80");    /* above U+10FFFF */
  path_refused("/%FF");
  path_refused("/%C3");             /* truncated sequence */
  path_refused("/%C3%28");
  path_refused("/\xc3\xa9\xff");    /* raw bytes: llhttp or the check */
}

Test(web_http_target, only_origin_form_is_served)
{
  cr_assert_eq(status_str("GET http://h/a HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  cr_assert_eq(status_str("GET a HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

Test(web_http_target, the_query_stays_raw)
{
  char *t = run_whole("GET /s?q=a%20b&x=%00&y=%zz HTTP/1.1\r\nHost: h\r\n\r\n", NULL);

  cr_assert(strstr(t, "path=/s query=q=a%20b&x=%00&y=%zz "), "%s", t);
  free(t);
}

/* ---- cookies ----------------------------------------------------------- */

static web_http_parser *parse(const char *s)
{
  web_http_parser *p;
  size_t used;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, s, strlen(s), &used), WEB_HTTP_REQUEST, "%s", s);
  return p;
}

Test(web_http_cookie, finds_the_named_cookie)
{
  web_http_parser *p = parse("GET / HTTP/1.1\r\nHost: h\r\nCookie: theme=dark; baton_session="
                             "AbC-_123; x=\"q\"\r\n\r\n");
  const web_request *r = web_http_request(p);
  char buf[32];

  cr_assert_eq(web_http_cookie(r, "baton_session", buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "AbC-_123");
  cr_assert_eq(web_http_cookie(r, "theme", buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "dark");
  cr_assert_eq(web_http_cookie(r, "x", buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "q");
  cr_assert_eq(web_http_cookie(r, "Theme", buf, sizeof buf), BT_ENOTFOUND, "names are exact");
  cr_assert_eq(web_http_cookie(r, "session", buf, sizeof buf), BT_ENOTFOUND);
  cr_assert_eq(web_http_cookie(r, "baton_session", buf, 9), BT_OK, "8 bytes and the NUL");
  cr_assert_eq(web_http_cookie(r, "baton_session", buf, 8), BT_ETOOBIG);
  web_http_parser_free(p);
}

Test(web_http_cookie, twice_is_refused_and_odd_bytes_are_invalid)
{
  web_http_parser *p = parse("GET / HTTP/1.1\r\nHost: h\r\nCookie: s=1; a=x y\r\nCookie: s=2;"
                             "b=\"un;c=ok;;d;e=\r\n\r\n");
  const web_request *r = web_http_request(p);
  char buf[32];

  cr_assert_eq(web_http_cookie(r, "s", buf, sizeof buf), BT_EDUP);
  cr_assert_eq(web_http_cookie(r, "a", buf, sizeof buf), BT_EINVAL);
  cr_assert_eq(web_http_cookie(r, "b", buf, sizeof buf), BT_EINVAL);
  cr_assert_eq(web_http_cookie(r, "c", buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "ok");
  cr_assert_eq(web_http_cookie(r, "d", buf, sizeof buf), BT_ENOTFOUND);
  cr_assert_eq(web_http_cookie(r, "e", buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "");
  web_http_parser_free(p);
  p = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  cr_assert_eq(web_http_cookie(web_http_request(p), "s", buf, sizeof buf), BT_ENOTFOUND);
  web_http_parser_free(p);
}

/* ---- responses --------------------------------------------------------- */

static char *respond(const web_response *r, int *rc)
{
  uint8_t *out = NULL;
  size_t n = 0;
  char *s;

  if ((*rc = web_http_response(r, &out, &n)) != BT_OK)
    return NULL;
  s = malloc(n + 1);
  memcpy(s, out, n);
  s[n] = '\0';
  free(out);
  return s;
}

Test(web_http_response, security_headers_and_length_always)
{
  web_header h[] = {{"Content-Type", "text/html; charset=utf-8"},
                    {"Set-Cookie", "baton_session=x; HttpOnly; SameSite=Strict; Path=/"}};
  web_response r = {.status = 200, .headers = h, .nheaders = 2, .body = "<p>hi</p>", .body_len = 9};
  int rc;
  char *s = respond(&r, &rc);

  cr_assert_eq(rc, BT_OK);
  cr_assert_str_eq(s,
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Set-Cookie: baton_session=x; HttpOnly; SameSite=Strict; Path=/\r\n"
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Frame-Options: DENY\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 9\r\n"
    "\r\n"
    "<p>hi</p>");
  free(s);
}

Test(web_http_response, close_head_cache_and_empty_statuses)
{
  web_header cc[] = {{"cache-control", "public, max-age=31536000, immutable"}};
  web_response r = {.status = 404, .body = "nope", .body_len = 4, .close = 1, .head = 1};
  int rc;
  char *s = respond(&r, &rc);

  cr_assert(strstr(s, "HTTP/1.1 404 Not Found\r\n") == s);
  cr_assert(strstr(s, "\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"), "%s", s);
  cr_assert(strstr(s, "nope") == NULL, "HEAD: no body bytes");
  free(s);
  r = (web_response){.status = 200, .headers = cc, .nheaders = 1};
  s = respond(&r, &rc);
  cr_assert(strstr(s, "immutable") && !strstr(s, "no-store"), "%s", s);
  cr_assert(strstr(s, "Content-Length: 0\r\n"));
  free(s);
  r = (web_response){.status = 204};
  s = respond(&r, &rc);
  cr_assert(!strstr(s, "Content-Length"), "%s", s);
  free(s);
  r = (web_response){.status = 204, .body = "x", .body_len = 1};
  cr_assert_null(respond(&r, &rc));
  cr_assert_eq(rc, BT_EINVAL);
  for (int st = 0; st < 1000; st += 7) {
    r = (web_response){.status = st};
    s = respond(&r, &rc);
    cr_assert_eq(rc, st >= 200 && st <= 599 ? BT_OK : BT_EINVAL, "status %d", st);
    free(s);
  }
}

Test(web_http_response, header_injection_is_refused)
{
  static const web_header bad[] = {
    {"Location", "/a\r\nSet-Cookie: evil=1"},
    {"Location", "/a\nX: y"},
    {"Location", "/a\rX: y"},
    {"X-A", "a\x01"},
    {"X-A", "a\x7f"},
    {"X-A", NULL},
    {"X A", "v"},
    {"X-A:", "v"},
    {"", "v"},
    {"X\r\nY", "v"},
    {"Content-Length", "0"},
    {"connection", "keep-alive"},
    {"Transfer-Encoding", "chunked"},
    {"Content-Security-Policy", "default-src *"},
    {"x-frame-options", "ALLOWALL"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "unsafe-url"},
    {"Cross-Origin-Opener-Policy", "unsafe-none"},
  };
  int rc;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    web_header h[] = {{"Content-Type", "text/plain"}, bad[i]};
    web_response r = {.status = 302, .headers = h, .nheaders = 2};
    cr_assert_null(respond(&r, &rc), "header %zu accepted", i);
    cr_assert_eq(rc, BT_EINVAL);
  }
  {
    web_header h[] = {{"X-Tab", "a\tb"}, {"Location", "/caf\xc3\xa9"}};
    web_response r = {.status = 303, .headers = h, .nheaders = 2};
    char *s = respond(&r, &rc);
    cr_assert_eq(rc, BT_OK);
    cr_assert(strstr(s, "HTTP/1.1 303 See Other\r\nX-Tab: a\tb\r\n"), "%s", s);
    free(s);
  }
}

Test(web_http_response, error_responses_for_each_limit)
{
  static const struct {
    const char *req;
    int status;
  } cases[] = {
    {"POST / HTTP/1.1\r\nHost: h\r\n\r\n", 411},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
    {"GET / HTTP/1.7\r\nHost: h\r\n\r\n", 505},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    web_http_parser *p;
    uint8_t *out;
    size_t used, n;
    char line[64];
    cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
    cr_assert_lt(web_http_feed(p, cases[i].req, strlen(cases[i].req), &used), 0);
    cr_assert_eq(web_http_status(p), cases[i].status);
    cr_assert_eq(web_http_error_response(p, &out, &n), BT_OK);
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", cases[i].status,
             web_http_status_text(cases[i].status));
    cr_assert(n > strlen(line) && memcmp(out, line, strlen(line)) == 0);
    cr_assert(memmem(out, n, "Content-Security-Policy: ", 25));
    free(out);
    web_http_parser_free(p);
  }
}

/* ---- the property: random requests, random cuts ----------------------- */

static void rand_token(sbuf *b, uint64_t *s, const char *set, size_t min, size_t max)
{
  size_t n = min + rnd(s) % (max - min + 1), k = strlen(set);

  for (size_t i = 0; i < n; i++)
    sb_put(b, &set[rnd(s) % k], 1);
}

/* One random valid request on the wire (w) and, in describe()'s words, how
 * it must come out (e). The last one may ask to close. */
static void rand_request(sbuf *w, sbuf *e, uint64_t *s, int last)
{
  static const char *methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
  const char *m = methods[rnd(s) % 6];
  sbuf path = {0}, dpath = {0}, query = {0}, hdrs = {0}, body = {0};
  size_t nseg = rnd(s) % 4, nh = rnd(s) % 6;
  int chunk = 0, close = last && rnd(s) % 3 == 0, qmark = rnd(s) % 2, has_body;

  sb_add(&path, "");
  sb_add(&dpath, "");
  sb_add(&query, "");
  sb_add(&hdrs, "");
  sb_add(&body, "");
  for (size_t i = 0; i <= nseg; i++) {
    size_t at = path.len;
    sb_add(&path, "/");
    sb_add(&dpath, "/");
    if (rnd(s) % 4 == 0) {
      sb_add(&path, "%%C3%%A9%%20");
      sb_add(&dpath, "\xc3\xa9 ");
    }
    at = path.len;
    rand_token(&path, s, "abcXYZ019-_~", 1, 8);
    sb_put(&dpath, path.s + at, path.len - at);
  }
  if (qmark)
    rand_token(&query, s, "abc=&%2F+019", 0, 20);
  has_body = (!strcmp(m, "POST") || !strcmp(m, "PUT")) ? 1 : rnd(s) % 4 == 0;
  if (has_body) {
    size_t n = rnd(s) % 300;
    for (size_t i = 0; i < n; i++) {
      char c = (char)(rnd(s) & 0xff);
      sb_put(&body, &c, 1);
    }
    chunk = rnd(s) % 2;
  }

  sb_add(w, "%s %s%s%s HTTP/1.1\r\nHost: h\r\n", m, path.s, qmark ? "?" : "", query.s);
  sb_add(&hdrs, "  host: [h]\n");
  for (size_t i = 0; i < nh; i++) {
    sbuf v = {0};
    sb_add(&v, "");
    rand_token(&v, s, "abc xyz;=/\"'<>", 1, 30);
    while (v.len && v.s[v.len - 1] == ' ')
      v.s[--v.len] = '\0';
    while (v.len && v.s[0] == ' ')
      memmove(v.s, v.s + 1, v.len--);
    sb_add(w, "X-Field-%zu:%s%s%s\r\n", i, rnd(s) % 2 ? " " : "", v.s, rnd(s) % 2 ? " \t" : "");
    sb_add(&hdrs, "  x-field-%zu: [%s]\n", i, v.s);
    free(v.s);
  }
  if (has_body && chunk) {
    sb_add(w, "Transfer-Encoding: chunked\r\n");
    sb_add(&hdrs, "  transfer-encoding: [chunked]\n");
  } else if (has_body) {
    sb_add(w, "Content-Length: %zu\r\n", body.len);
    sb_add(&hdrs, "  content-length: [%zu]\n", body.len);
  }
  if (close) {
    sb_add(w, "Connection: close\r\n");
    sb_add(&hdrs, "  connection: [close]\n");
  }
  sb_add(w, "\r\n");
  if (has_body && chunk) {
    for (size_t i = 0; i < body.len;) {
      size_t n = 1 + rnd(s) % 64;
      if (n > body.len - i)
        n = body.len - i;
      sb_add(w, "%zx%s\r\n", n, rnd(s) % 5 == 0 ? ";name=val" : "");
      sb_put(w, body.s + i, n);
      sb_add(w, "\r\n");
      i += n;
    }
    sb_add(w, "0\r\n%s\r\n", rnd(s) % 3 == 0 ? "X-Trailer: t\r\n" : "");
  } else {
    sb_put(w, body.s, body.len);
  }

  sb_add(e, "%s(%s) %s%s%s path=%s query=%s 1.1 ka=%d\n", !strcmp(m, "OPTIONS") ? "OTHER" : m,
         m, path.s, qmark ? "?" : "", query.s, dpath.s, query.s, !close);
  sb_put(e, hdrs.s, hdrs.len);
  sb_add(e, "  body %zu [", body.len);
  for (size_t i = 0; i < body.len; i++)
    sb_add(e, "%02x", (unsigned char)body.s[i]);
  sb_add(e, "]\n");
  if (close)
    sb_add(e, "closed at %zu\n", w->len);
  else if (last)
    sb_add(e, "idle\n");
  free(path.s);
  free(dpath.s);
  free(query.s);
  free(hdrs.s);
  free(body.s);
}

Test(web_http, random_requests_cut_at_random_read_the_same)
{
  for (uint64_t seed = 1; seed <= 300; seed++) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull, cut = seed;
    sbuf w = {0}, e = {0};
    size_t n = 1 + rnd(&s) % 4;
    char *a, *b, *c;

    sb_add(&w, "");
    sb_add(&e, "");
    for (size_t i = 0; i < n; i++)
      rand_request(&w, &e, &s, i == n - 1);
    a = run(w.s, w.len, NULL, whole, NULL);
    b = run(w.s, w.len, NULL, bytewise, NULL);
    c = run(w.s, w.len, NULL, random_cut, &cut);
    cr_assert_str_eq(a, e.s, "seed %" PRIu64 ": not what was sent", seed);
    cr_assert_str_eq(a, b, "seed %" PRIu64, seed);
    cr_assert_str_eq(a, c, "seed %" PRIu64, seed);
    free(a);
    free(b);
    free(c);
    free(w.s);
    free(e.s);
  }
}
