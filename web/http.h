/* web/http.h: HTTP/1.1 requests in, responses out, with no sockets and no
 * clock (docs/web.md, "HTTP parsing").
 *
 * A web_http_parser is fed a connection's bytes as they arrive, in pieces of
 * any size, and yields one complete web_request at a time. It wraps llhttp
 * (Debian's node-llhttp sources) and adds what a server facing a hostile
 * network needs on top: limits on every size, one way to read a body's
 * length (no request smuggling), a target that is already percent-decoded,
 * checked and safe to route on. Every refusal carries the status to answer
 * (400, 411, 413, 414, 431, 501, 505) and a short reason; after one the
 * connection must be answered with web_http_error_response and closed.
 *
 * The helpers read headers and cookies (web/form.h reads query strings and
 * form bodies), and web_http_response writes a response with Baton's
 * security headers.
 *
 * Everything here is pure and single-threaded: one parser per connection,
 * used by one thread at a time. Nothing reads the clock or the network. */
#ifndef BT_WEB_HTTP_H
#define BT_WEB_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Sizes the parser enforces. web_http_limits_default fills in the
 * defaults; a limit of 0 is not "unlimited", it refuses everything. */
typedef struct {
  size_t max_head;    /* request line + headers + the blank line, bytes: 16 KiB (431) */
  size_t max_headers; /* header fields: 64 (431) */
  size_t max_target;  /* request target as sent, path and query: 2048 bytes (414) */
  size_t max_body;    /* body after de-chunking: 1 MiB (413); a chunked body may
                         take max_body + max_head bytes on the wire with its framing */
} web_http_limits;

#define WEB_HTTP_MAX_HEAD    16384
#define WEB_HTTP_MAX_HEADERS 64
#define WEB_HTTP_MAX_TARGET  2048
#define WEB_HTTP_MAX_BODY    (1024 * 1024)

void web_http_limits_default(web_http_limits *lim);

typedef enum {
  WEB_GET,
  WEB_HEAD,
  WEB_POST,
  WEB_PUT,
  WEB_DELETE,
  WEB_OTHER /* any other method llhttp knows (OPTIONS, PATCH, ...): answer 405 */
} web_method;

typedef struct {
  const char *name;  /* in a request: lower-case; in a response: as given */
  const char *value; /* without leading or trailing spaces and tabs */
} web_header;

/* One request. Every pointer borrows from the parser and stays valid until
 * the next web_http_feed or web_http_parser_free on it, which wipe it (a
 * body may hold a passphrase, a Cookie header a session id): copy what must
 * last longer. Strings are NUL-terminated. */
typedef struct {
  web_method method;
  const char *method_name;   /* "GET", "OPTIONS", ... */
  int http_minor;            /* HTTP/1.0 or HTTP/1.1 */
  const char *target;        /* as sent: "/files/a%20b?x=1" */
  const char *path;          /* percent-decoded once (do not decode it again):
                                starts with '/', UTF-8, no control bytes, no
                                "." or ".." segment */
  const char *query;         /* raw, after the first '?', "" when none */
  const web_header *headers; /* in the order sent */
  size_t nheaders;
  const uint8_t *body;       /* never NULL; body_len may be 0 */
  size_t body_len;
  int keep_alive;            /* 0: answer with Connection: close, then close */
} web_request;

typedef struct web_http_parser web_http_parser;

/* A parser for one connection. lim may be NULL for the defaults; it is
 * copied. 0 or BT_ENOMEM (also for limits above SIZE_MAX / 4). It takes
 * max_head + max_target + a little at once; a body buffer grows as bytes
 * arrive and only one of up to 64 KiB is kept between requests. */
int web_http_parser_new(web_http_parser **out, const web_http_limits *lim);
void web_http_parser_free(web_http_parser *p); /* NULL is a no-op */

#define WEB_HTTP_REQUEST 1

/* Reads from data[0..len) and sets *consumed to the number of bytes read.
 * Returns:
 *  - 0: everything was read and the request is not complete yet;
 *  - WEB_HTTP_REQUEST: a request is complete (web_http_request). The parser
 *    stops right after it: data[*consumed..len) is the start of the next
 *    request (pipelining) and must be fed again after this one is answered.
 *    If the request's keep_alive is 0, feed nothing more: answer and close.
 *  - BT_EPROTO (malformed, refused), BT_ETOOBIG (a limit), BT_ENOMEM (then
 *    web_http_status is 503): web_http_status and web_http_reason say what
 *    to answer. The error is final: later calls return it again and read
 *    nothing; answer with web_http_error_response and close the connection.
 * Feeding the same bytes in any split gives the same requests and errors. */
int web_http_feed(web_http_parser *p, const void *data, size_t len, size_t *consumed);

/* The request the last web_http_feed completed, or NULL. */
const web_request *web_http_request(const web_http_parser *p);

/* After an error: the status to answer (400, 411, 413, 414, 431, 501, 503,
 * 505) and a short reason without any request bytes in it (static string).
 * 0 and "" when there is no error. */
int web_http_status(const web_http_parser *p);
const char *web_http_reason(const web_http_parser *p);

/* 1 when part of a request has arrived but not all of it (a timeout then
 * means 408), 0 between requests. */
int web_http_pending(const web_http_parser *p);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *web_http_header(const web_request *req, const char *name);

/* Copies the value of cookie name (case-sensitive, from every Cookie header)
 * into buf[0..len) with a NUL. 0; BT_ENOTFOUND when absent; BT_EDUP when the
 * name appears more than once (cookie tossing: trust neither); BT_ETOOBIG
 * when it does not fit; BT_EINVAL when the value has bytes RFC 6265 does
 * not allow in a cookie (controls, spaces, '"', ',', ';', '\'). */
int web_http_cookie(const web_request *req, const char *name, char *buf, size_t len);

/* One response. The writer always adds, and callers may not pass:
 *   Content-Security-Policy: default-src 'self'; script-src 'self';
 *     style-src 'self'; img-src 'self' data:; object-src 'none';
 *     base-uri 'none'; frame-ancestors 'none'; form-action 'self'
 *   X-Content-Type-Options: nosniff     Referrer-Policy: no-referrer
 *   X-Frame-Options: DENY               Cross-Origin-Opener-Policy: same-origin
 *   Content-Length (except 204 and 304), Connection: close when close is set.
 * Cache-Control is "no-store" unless headers has one (assets). */
typedef struct {
  int status;                /* 200..599 */
  const web_header *headers; /* e.g. Content-Type, Set-Cookie, Location */
  size_t nheaders;
  const void *body;          /* may be NULL when body_len is 0 */
  size_t body_len;
  int close;                 /* Connection: close */
  int head;                  /* answering HEAD: Content-Length of the body,
                                but no body bytes */
} web_response;

/* Serialises r into a malloc'd buffer *out of *out_len bytes (the caller
 * frees it). 0; BT_EINVAL when a status is out of range, a header name is
 * not a token or is one the writer owns, a value has CR, LF or another
 * control byte but tab (response splitting), or a 204/304 has a body;
 * BT_ENOMEM. */
int web_http_response(const web_response *r, uint8_t **out, size_t *out_len);

/* The response to a parser error: its status, the reason as a text/plain
 * body, Connection: close. 0, BT_EINVAL when p has no error, BT_ENOMEM. */
int web_http_error_response(const web_http_parser *p, uint8_t **out, size_t *out_len);

/* The reason phrase for a status ("Not Found"), "Unknown" for others. */
const char *web_http_status_text(int status);

/* For web/ only. web__utf8_ok: 1 if s[0..n) is well-formed UTF-8 (no
 * overlong forms, surrogates or code points above U+10FFFF).
 * web__pct_decode: decodes %XX once (and '+' as a space when plus) from
 * s[0..n) into out, which has room for n bytes; -1 when a '%' is not
 * followed by two hex digits. Neither rejects NUL or controls: callers do. */
int web__utf8_ok(const unsigned char *s, size_t n);
int web__pct_decode(const char *s, size_t n, char *out, size_t *outn, int plus);

#endif
