/* web/http.c: the request parser around llhttp, and the helpers.
 *
 * llhttp does the tokenising; this file decides what is acceptable. Two
 * things about llhttp 8.1 shape it. First, llhttp accepts obsolete line
 * folding and tells nobody, and its callbacks do not say where in the input
 * the header section ends. So while the header section is arriving it is
 * handed to llhttp one line at a time (up to and including each LF): a line
 * after the first that starts with a space or tab is a fold, refused before
 * llhttp sees it, and the head's size is exactly the bytes handed over until
 * on_headers_complete, so 16 KiB passes and one byte more is 431 whatever
 * the split. Second, llhttp would run on into a pipelined next request;
 * on_message_complete returns HPE_PAUSED, so llhttp stops at the request's
 * last byte and llhttp_get_error_pos says how far it read.
 *
 * Everything a request holds lives in one arena sized from the limits when
 * the parser is made (target, names, values, the decoded path), so the
 * pointers in web_request never move; only the body grows, as it arrives
 * (a claimed Content-Length reserves nothing). */
#include "web/http.h"

#include <llhttp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

enum { ST_HEAD, ST_BODY, ST_DONE, ST_ERROR };

#define BODY_KEEP 65536 /* body buffer kept between requests, bytes */

struct web_http_parser {
  llhttp_t ll;
  web_http_limits lim;
  int state;
  int rc, status;         /* the error, when state is ST_ERROR */
  const char *reason;
  size_t head_used;       /* bytes of this request's head handed to llhttp */
  size_t lines;           /* LF-terminated lines among them */
  int at_line_start;
  size_t body_wire;       /* bytes handed over after the head */
  char *arena;
  size_t arena_cap, arena_len;
  size_t url_off, url_len;
  char version[8];
  size_t version_len;
  web_header *hdrs;       /* lim.max_headers of them */
  size_t nhdrs;
  size_t cur_off;         /* where the field or value being read starts */
  int in_field;
  int trailers;           /* past the head: fields are chunked trailers */
  int seen_host, seen_cl, seen_te;
  const char *te;         /* the Transfer-Encoding value */
  uint8_t *body;
  size_t body_len, body_cap;
  web_request req;
};

static const char empty_body[1];

/* ---- errors ---------------------------------------------------------- */

static int fail(web_http_parser *p, int rc, int status, const char *reason)
{
  if (p->state != ST_ERROR) { /* the first reason wins */
    p->state = ST_ERROR;
    p->rc = rc;
    p->status = status;
    p->reason = reason;
  }
  return p->rc;
}

/* From a llhttp callback: records the refusal, which then stops llhttp. */
static int cb_fail(llhttp_t *ll, int rc, int status, const char *reason)
{
  fail(ll->data, rc, status, reason);
  llhttp_set_error_reason(ll, "baton");
  return HPE_USER;
}

static int version_digits(const web_http_parser *p)
{
  return p->version_len == 3 && p->version[0] >= '0' && p->version[0] <= '9' &&
         p->version[1] == '.' && p->version[2] >= '0' && p->version[2] <= '9';
}

/* llhttp's own refusals, as statuses. */
static int ll_fail(web_http_parser *p, llhttp_errno_t e)
{
  switch (e) {
  case HPE_INVALID_VERSION:
    if (version_digits(p))
      return fail(p, BT_EPROTO, 505, "HTTP version not supported");
    return fail(p, BT_EPROTO, 400, "malformed HTTP version");
  case HPE_UNEXPECTED_CONTENT_LENGTH:
    return fail(p, BT_EPROTO, 400, "Content-Length with Transfer-Encoding, or twice");
  case HPE_INVALID_CONTENT_LENGTH:
    return fail(p, BT_EPROTO, 400, "malformed Content-Length");
  case HPE_INVALID_TRANSFER_ENCODING:
    return fail(p, BT_EPROTO, 400, "malformed Transfer-Encoding");
  case HPE_INVALID_CHUNK_SIZE:
    return fail(p, BT_EPROTO, 400, "malformed chunk size");
  case HPE_INVALID_METHOD:
    return fail(p, BT_EPROTO, 400, "malformed method");
  case HPE_INVALID_URL:
    return fail(p, BT_EPROTO, 400, "malformed request target");
  case HPE_INVALID_HEADER_TOKEN:
    return fail(p, BT_EPROTO, 400, "malformed header");
  default:
    return fail(p, BT_EPROTO, 400, "malformed request");
  }
}

/* ---- text checks ------------------------------------------------------ */

/* 1 if s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
int web__utf8_ok(const unsigned char *s, size_t n)
{
  size_t i = 0;

  while (i < n) {
    unsigned c = s[i], need, min, cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      need = 1, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      need = 2, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      need = 3, min = 0x10000, cp = c & 0x07;
    else
      return 0;
    if (n - i <= need)
      return 0;
    for (unsigned k = 1; k <= need; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += need + 1;
  }
  return 1;
}

/* RFC 9110 tchar: what a header name (a token) is made of. */
static int tchar(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int token_ok(const char *s)
{
  if (*s == '\0')
    return 0;
  for (; *s; s++)
    if (!tchar((unsigned char)*s))
      return 0;
  return 1;
}

static int lower(int c)
{
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int ieq(const char *a, const char *b)
{
  for (; *a && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++)
    ;
  return *a == '\0' && *b == '\0';
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX (and '+' as a space when plus) from s[0..n) into out, which
 * has room for n bytes: the result is never longer. -1 on a '%' without
 * two hex digits after it. */
int web__pct_decode(const char *s, size_t n, char *out, size_t *outn, int plus)
{
  size_t o = 0;

  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      int hi, lo;
      if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
          (lo = hexval((unsigned char)s[i + 2])) < 0)
        return -1;
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[o++] = plus && s[i] == '+' ? ' ' : s[i];
    }
  }
  *outn = o;
  return 0;
}

/* ---- the arena --------------------------------------------------------- */

static int arena_put(web_http_parser *p, const char *s, size_t n)
{
  if (p->arena_cap - p->arena_len < n)
    return -1; /* the limits bound what arrives below the capacity */
  memcpy(p->arena + p->arena_len, s, n);
  p->arena_len += n;
  return 0;
}

/* NUL-terminates what was appended since off; its start. */
static char *arena_end(web_http_parser *p, size_t off)
{
  if (arena_put(p, "", 1) != 0)
    return NULL;
  return p->arena + off;
}

/* ---- the request target ----------------------------------------------- */

/* Splits the target into the decoded path and the raw query, both copied
 * into the arena. Only origin-form ("/path?query") is served. */
static int target_parse(web_http_parser *p, const char *t, size_t n)
{
  const char *q;
  size_t plen, dlen, off = p->arena_len;
  char *d;

  if (t == NULL || n == 0 || t[0] != '/')
    return fail(p, BT_EPROTO, 400, "request target is not a path");
  q = memchr(t, '?', n);
  plen = q ? (size_t)(q - t) : n;
  if (memchr(t, '#', n))
    return fail(p, BT_EPROTO, 400, "fragment in request target");
  if (p->arena_cap - off < plen + 1)
    return fail(p, BT_ETOOBIG, 414, "request target too long");
  d = p->arena + off;
  if (web__pct_decode(t, plen, d, &dlen, 0) != 0)
    return fail(p, BT_EPROTO, 400, "bad percent-encoding in path");
  for (size_t i = 0; i < dlen; i++)
    if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
      return fail(p, BT_EPROTO, 400, "control byte in path");
  if (!web__utf8_ok((const unsigned char *)d, dlen))
    return fail(p, BT_EPROTO, 400, "path is not UTF-8");
  for (size_t i = 0; i < dlen; i++) { /* a segment is what follows a '/' */
    size_t k = i + 1;
    if (d[i] != '/')
      continue;
    while (k < dlen && d[k] == '.')
      k++;
    if ((k - i - 1 == 1 || k - i - 1 == 2) && (k == dlen || d[k] == '/'))
      return fail(p, BT_EPROTO, 400, "dot segment in path");
  }
  p->arena_len += dlen;
  p->req.path = arena_end(p, off);
  off = p->arena_len;
  if (q && arena_put(p, q + 1, n - plen - 1) != 0)
    return fail(p, BT_ETOOBIG, 414, "request target too long");
  p->req.query = arena_end(p, off);
  if (p->req.path == NULL || p->req.query == NULL)
    return fail(p, BT_ETOOBIG, 414, "request target too long");
  return 0;
}

/* ---- llhttp callbacks -------------------------------------------------- */

/* llhttp hands data over in spans that end where its input piece ends, so
 * what a data callback sees depends on how the bytes were cut. Limits are
 * therefore counted in the data callbacks but only enforced in the
 * *_complete ones, which come at the same byte whatever the cuts: the same
 * stream always meets the same refusal first. */
static int on_url(llhttp_t *ll, const char *at, size_t n)
{
  web_http_parser *p = ll->data;

  if (p->url_len == 0)
    p->url_off = p->arena_len;
  if (p->url_len <= p->lim.max_target && n <= p->lim.max_target - p->url_len &&
      arena_put(p, at, n) != 0)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  p->url_len = n > SIZE_MAX - p->url_len ? SIZE_MAX : p->url_len + n;
  return 0;
}

static int on_url_complete(llhttp_t *ll)
{
  web_http_parser *p = ll->data;

  if (p->url_len > p->lim.max_target)
    return cb_fail(ll, BT_ETOOBIG, 414, "request target too long");
  if (p->url_len == 0)
    p->url_off = p->arena_len;
  if ((p->req.target = arena_end(p, p->url_off)) == NULL)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  return 0;
}

static int on_version(llhttp_t *ll, const char *at, size_t n)
{
  web_http_parser *p = ll->data;
  size_t room = sizeof p->version - p->version_len;

  memcpy(p->version + p->version_len, at, n < room ? n : room);
  p->version_len += n < room ? n : room;
  return 0;
}

static int version_ok(const llhttp_t *ll)
{
  return ll->http_major == 1 && (ll->http_minor == 0 || ll->http_minor == 1);
}

static int on_version_complete(llhttp_t *ll)
{
  if (!version_ok(ll))
    return cb_fail(ll, BT_EPROTO, 505, "HTTP version not supported");
  return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
  web_http_parser *p = ll->data;

  if (p->trailers)
    return 0; /* trailers are read and dropped; the wire budget bounds them */
  if (!p->in_field) {
    p->in_field = 1;
    p->cur_off = p->arena_len;
  }
  if (p->nhdrs < p->lim.max_headers && arena_put(p, at, n) != 0)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
  web_http_parser *p = ll->data;
  char *name;

  if (p->trailers)
    return 0;
  if (p->nhdrs == p->lim.max_headers)
    return cb_fail(ll, BT_ETOOBIG, 431, "too many header fields");
  if (!p->in_field) /* llhttp reports an empty name with no data call */
    p->cur_off = p->arena_len;
  p->in_field = 0;
  if ((name = arena_end(p, p->cur_off)) == NULL)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  if (!token_ok(name)) /* "Host :" and friends (RFC 9112 5.1) */
    return cb_fail(ll, BT_EPROTO, 400, "malformed header name");
  for (char *c = name; *c; c++)
    *c = (char)lower((unsigned char)*c);
  p->hdrs[p->nhdrs].name = name;
  p->cur_off = p->arena_len;
  return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
  web_http_parser *p = ll->data;

  if (p->trailers)
    return 0;
  if (arena_put(p, at, n) != 0)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  return 0;
}

/* Host, Content-Length and Transfer-Encoding decide where a request goes
 * and where it ends: each at most once. */
static int header_note(llhttp_t *ll, const web_header *h)
{
  web_http_parser *p = ll->data;
  int *seen = !strcmp(h->name, "host")                ? &p->seen_host
              : !strcmp(h->name, "content-length")    ? &p->seen_cl
              : !strcmp(h->name, "transfer-encoding") ? &p->seen_te
                                                      : NULL;

  if (seen == NULL)
    return 0;
  if ((*seen)++)
    return cb_fail(ll, BT_EPROTO, 400, "Host, Content-Length or Transfer-Encoding twice");
  if (seen == &p->seen_te)
    p->te = h->value;
  return 0;
}

static int on_header_value_complete(llhttp_t *ll)
{
  web_http_parser *p = ll->data;
  web_header *h = &p->hdrs[p->nhdrs];
  char *v, *e;

  if (p->trailers)
    return 0;
  if ((v = arena_end(p, p->cur_off)) == NULL)
    return cb_fail(ll, BT_ETOOBIG, 431, "header section too large");
  e = v + strlen(v);
  if (e != p->arena + p->arena_len - 1) /* a NUL llhttp let through */
    return cb_fail(ll, BT_EPROTO, 400, "malformed header value");
  for (const char *c = v; c < e; c++)
    if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
      return cb_fail(ll, BT_EPROTO, 400, "control byte in header value");
  while (*v == ' ' || *v == '\t')
    v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
    *--e = '\0';
  h->value = v;
  p->nhdrs++;
  return header_note(ll, h);
}

static int on_headers_complete(llhttp_t *ll)
{
  web_http_parser *p = ll->data;
  int chunked = (ll->flags & F_CHUNKED) != 0, method = ll->method;

  p->state = ST_BODY;
  p->trailers = 1;
  if (!version_ok(ll)) /* HTTP/0.9 comes without a version to check */
    return fail(p, BT_EPROTO, 505, "HTTP version not supported"), -1;
  if (ll->http_minor == 1 && !p->seen_host)
    return fail(p, BT_EPROTO, 400, "no Host header"), -1;
  if (p->seen_te && p->seen_cl)
    return fail(p, BT_EPROTO, 400, "Content-Length with Transfer-Encoding"), -1;
  if (p->seen_te && !ieq(p->te, "chunked"))
    return fail(p, BT_EPROTO, 501, "unsupported transfer coding"), -1;
  if (target_parse(p, p->req.target, p->url_len) != 0)
    return -1;
  if ((method == HTTP_POST || method == HTTP_PUT) && !p->seen_cl && !chunked)
    return fail(p, BT_EPROTO, 411, "Content-Length required"), -1;
  if (p->seen_cl && ll->content_length > p->lim.max_body)
    return fail(p, BT_ETOOBIG, 413, "body too large"), -1;
  return 0;
}

static int body_reserve(web_http_parser *p, size_t need)
{
  size_t cap = p->body_cap ? p->body_cap : 4096;
  uint8_t *b;

  if (need <= p->body_cap)
    return 0;
  while (cap < need)
    cap = cap > p->lim.max_body / 2 ? p->lim.max_body : cap * 2;
  if ((b = realloc(p->body, cap)) == NULL)
    return -1;
  p->body = b;
  p->body_cap = cap;
  return 0;
}

static int on_chunk_header(llhttp_t *ll)
{
  web_http_parser *p = ll->data;

  if (ll->content_length > p->lim.max_body - p->body_len)
    return cb_fail(ll, BT_ETOOBIG, 413, "body too large"), -1;
  return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
  web_http_parser *p = ll->data;

  if (n > p->lim.max_body - p->body_len)
    return cb_fail(ll, BT_ETOOBIG, 413, "body too large");
  if (body_reserve(p, p->body_len + n) != 0)
    return cb_fail(ll, BT_ENOMEM, 503, "out of memory");
  memcpy(p->body + p->body_len, at, n);
  p->body_len += n;
  return 0;
}

static web_method method_of(int m)
{
  switch (m) {
  case HTTP_GET: return WEB_GET;
  case HTTP_HEAD: return WEB_HEAD;
  case HTTP_POST: return WEB_POST;
  case HTTP_PUT: return WEB_PUT;
  case HTTP_DELETE: return WEB_DELETE;
  default: return WEB_OTHER;
  }
}

static int on_message_complete(llhttp_t *ll)
{
  web_http_parser *p = ll->data;
  web_request *r = &p->req;

  r->method = method_of(ll->method);
  r->method_name = llhttp_method_name((llhttp_method_t)ll->method);
  r->http_minor = ll->http_minor;
  r->headers = p->hdrs;
  r->nheaders = p->nhdrs;
  r->body = p->body_len ? p->body : (const uint8_t *)empty_body;
  r->body_len = p->body_len;
  /* An upgrade (WebSocket, h2c) is not followed: after the answer, close. */
  r->keep_alive = llhttp_should_keep_alive(ll) && !ll->upgrade;
  p->state = ST_DONE;
  return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
  .on_url = on_url,
  .on_version = on_version,
  .on_header_field = on_header_field,
  .on_header_value = on_header_value,
  .on_headers_complete = on_headers_complete,
  .on_body = on_body,
  .on_message_complete = on_message_complete,
  .on_url_complete = on_url_complete,
  .on_version_complete = on_version_complete,
  .on_header_field_complete = on_header_field_complete,
  .on_header_value_complete = on_header_value_complete,
  .on_chunk_header = on_chunk_header,
};

/* ---- the parser ------------------------------------------------------- */

void web_http_limits_default(web_http_limits *lim)
{
  lim->max_head = WEB_HTTP_MAX_HEAD;
  lim->max_headers = WEB_HTTP_MAX_HEADERS;
  lim->max_target = WEB_HTTP_MAX_TARGET;
  lim->max_body = WEB_HTTP_MAX_BODY;
}

/* Forgets the last request. Its bytes are wiped first: a sign-in body holds
 * a passphrase and a Cookie header a live session id. A large body buffer
 * is let go, so an idle keep-alive connection holds little. */
static void next_message(web_http_parser *p)
{
  sodium_memzero(p->arena, p->arena_len);
  if (p->body)
    sodium_memzero(p->body, p->body_len);
  if (p->body_cap > BODY_KEEP) {
    free(p->body);
    p->body = NULL;
    p->body_cap = 0;
  }
  p->state = ST_HEAD;
  p->head_used = p->lines = p->body_wire = 0;
  p->at_line_start = 1;
  p->arena_len = p->url_off = p->url_len = p->version_len = 0;
  p->nhdrs = p->cur_off = 0;
  p->in_field = p->trailers = 0;
  p->seen_host = p->seen_cl = p->seen_te = 0;
  p->te = NULL;
  p->body_len = 0;
  memset(&p->req, 0, sizeof p->req);
}

int web_http_parser_new(web_http_parser **out, const web_http_limits *lim)
{
  web_http_parser *p;

  if ((p = calloc(1, sizeof(*p))) == NULL)
    return BT_ENOMEM;
  if (lim)
    p->lim = *lim;
  else
    web_http_limits_default(&p->lim);
  /* the head, a second copy of the target (decoded path, query), NULs */
  p->arena_cap = p->lim.max_head + p->lim.max_target + 2 * p->lim.max_headers + 8;
  if (p->lim.max_target > SIZE_MAX / 4 || p->lim.max_head > SIZE_MAX / 4 ||
      p->lim.max_body > SIZE_MAX / 4 ||
      p->lim.max_headers > SIZE_MAX / 4 / sizeof(web_header) ||
      (p->arena = malloc(p->arena_cap)) == NULL ||
      (p->hdrs = calloc(p->lim.max_headers + 1, sizeof(web_header))) == NULL) {
    web_http_parser_free(p);
    return BT_ENOMEM;
  }
  llhttp_init(&p->ll, HTTP_REQUEST, &settings);
  p->ll.data = p;
  next_message(p);
  *out = p;
  return BT_OK;
}

void web_http_parser_free(web_http_parser *p)
{
  if (p == NULL)
    return;
  if (p->arena)
    next_message(p); /* wipes */
  free(p->arena);
  free(p->hdrs);
  free(p->body);
  free(p);
}

/* How many of the n bytes at d to hand llhttp next (at least 1). */
static size_t piece(const web_http_parser *p, const char *d, size_t n)
{
  if (p->state == ST_HEAD) {
    const char *lf = memchr(d, '\n', n);
    size_t k = lf ? (size_t)(lf - d) + 1 : n, room = p->lim.max_head - p->head_used;
    return k < room ? k : room;
  }
  if (p->ll.flags & F_CHUNKED) { /* the framing has a budget too */
    size_t room = p->lim.max_body + p->lim.max_head - p->body_wire;
    return n < room ? n : room;
  }
  return n;
}

/* Counts k bytes llhttp read in the state before the call. */
static int account(web_http_parser *p, int was, const char *d, size_t k)
{
  if (was == ST_HEAD) {
    p->head_used += k;
    p->at_line_start = k > 0 && d[k - 1] == '\n';
    p->lines += p->at_line_start;
    if (p->state == ST_HEAD && p->head_used == p->lim.max_head)
      return fail(p, BT_ETOOBIG, 431, "header section too large");
  } else {
    p->body_wire += k;
    if (p->state == ST_BODY && (p->ll.flags & F_CHUNKED) &&
        p->body_wire == p->lim.max_body + p->lim.max_head)
      return fail(p, BT_ETOOBIG, 413, "body too large");
  }
  return 0;
}

static int step(web_http_parser *p, const char *d, size_t n, size_t *used)
{
  int was = p->state;
  size_t k = piece(p, d, n);
  llhttp_errno_t e;

  *used = 0;
  if (was == ST_HEAD && p->lines > 0 && p->at_line_start && (d[0] == ' ' || d[0] == '\t'))
    return fail(p, BT_EPROTO, 400, "obsolete line folding");
  if (k == 0)
    return fail(p, BT_ETOOBIG, was == ST_HEAD ? 431 : 413,
                was == ST_HEAD ? "header section too large" : "body too large");
  e = llhttp_execute(&p->ll, d, k);
  if (p->state == ST_ERROR) /* a callback refused */
    return p->rc;
  if (e == HPE_PAUSED && p->state == ST_DONE) {
    *used = (size_t)(llhttp_get_error_pos(&p->ll) - d);
    return account(p, was, d, *used);
  }
  if (e != HPE_OK)
    return ll_fail(p, e);
  *used = k;
  return account(p, was, d, k);
}

int web_http_feed(web_http_parser *p, const void *data, size_t len, size_t *consumed)
{
  const char *d = data;
  size_t off = 0, used;
  int rc;

  *consumed = 0;
  if (p->state == ST_ERROR)
    return p->rc;
  if (p->state == ST_DONE) {
    if (!p->req.keep_alive)
      return fail(p, BT_EPROTO, 400, "bytes after the connection's last request");
    next_message(p);
    llhttp_resume(&p->ll);
  }
  while (off < len) {
    rc = step(p, d + off, len - off, &used);
    off += used;
    *consumed = off;
    if (rc != 0)
      return rc;
    if (p->state == ST_DONE)
      return WEB_HTTP_REQUEST;
  }
  return 0;
}

const web_request *web_http_request(const web_http_parser *p)
{
  return p->state == ST_DONE ? &p->req : NULL;
}

int web_http_status(const web_http_parser *p)
{
  return p->state == ST_ERROR ? p->status : 0;
}

const char *web_http_reason(const web_http_parser *p)
{
  return p->state == ST_ERROR ? p->reason : "";
}

int web_http_pending(const web_http_parser *p)
{
  return (p->state == ST_HEAD && p->head_used > 0) || p->state == ST_BODY;
}

/* ---- reading requests ------------------------------------------------- */

const char *web_http_header(const web_request *req, const char *name)
{
  for (size_t i = 0; i < req->nheaders; i++)
    if (ieq(req->headers[i].name, name))
      return req->headers[i].value;
  return NULL;
}

/* RFC 6265 cookie-octet. */
static int cookie_octet(unsigned char c)
{
  return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

/* Looks for name in one Cookie header: "a=1; b=2". Counts matches in
 * *found and keeps the first one's value span. */
static void cookie_scan(const char *s, const char *name, const char **v, size_t *vlen,
                        int *found)
{
  size_t nlen = strlen(name);

  while (*s) {
    const char *end = strchr(s, ';'), *eq;
    size_t plen;
    while (*s == ' ' || *s == '\t')
      s++;
    plen = end ? (size_t)(end - s) : strlen(s);
    eq = memchr(s, '=', plen);
    if (eq && (size_t)(eq - s) == nlen && memcmp(s, name, nlen) == 0) {
      if ((*found)++ == 0) {
        *v = eq + 1;
        *vlen = plen - nlen - 1;
        while (*vlen > 0 && ((*v)[*vlen - 1] == ' ' || (*v)[*vlen - 1] == '\t'))
          (*vlen)--;
      }
    }
    if (end == NULL)
      break;
    s = end + 1;
  }
}

int web_http_cookie(const web_request *req, const char *name, char *buf, size_t len)
{
  const char *v = NULL;
  size_t vlen = 0;
  int found = 0;

  for (size_t i = 0; i < req->nheaders; i++)
    if (!strcmp(req->headers[i].name, "cookie"))
      cookie_scan(req->headers[i].value, name, &v, &vlen, &found);
  if (found == 0)
    return BT_ENOTFOUND;
  if (found > 1)
    return BT_EDUP;
  if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') /* cookie-value may be quoted */
    v++, vlen -= 2;
  for (size_t i = 0; i < vlen; i++)
    if (!cookie_octet((unsigned char)v[i]))
      return BT_EINVAL;
  if (vlen >= len)
    return BT_ETOOBIG;
  memcpy(buf, v, vlen);
  buf[vlen] = '\0';
  return BT_OK;
}

/* ---- writing responses ------------------------------------------------ */

static const char csp[] =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/* What the writer always sends, and callers may therefore not pass. */
static const web_header security[] = {
  {"Content-Security-Policy", csp},
  {"X-Content-Type-Options", "nosniff"},
  {"Referrer-Policy", "no-referrer"},
  {"X-Frame-Options", "DENY"},
  {"Cross-Origin-Opener-Policy", "same-origin"},
};
static const char *const framing[] = {"Content-Length", "Connection", "Transfer-Encoding"};

const char *web_http_status_text(int status)
{
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 421: return "Misdirected Request";
  case 423: return "Locked";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* A caller's header: a token name the writer does not own, and a value
 * without CR, LF or other control bytes (response splitting). */
static int header_ok(const web_header *h, int *cache)
{
  if (h->name == NULL || h->value == NULL || !token_ok(h->name))
    return 0;
  for (size_t i = 0; i < sizeof security / sizeof *security; i++)
    if (ieq(h->name, security[i].name))
      return 0;
  for (size_t i = 0; i < sizeof framing / sizeof *framing; i++)
    if (ieq(h->name, framing[i]))
      return 0;
  for (const char *c = h->value; *c; c++)
    if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
      return 0;
  *cache |= ieq(h->name, "Cache-Control");
  return 1;
}

typedef struct {
  char *p;
  size_t len, cap; /* with p NULL, only len counts: the sizing pass */
} wbuf;

static void put(wbuf *b, const void *s, size_t n)
{
  if (b->p && n <= b->cap - b->len)
    memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void put_hdr(wbuf *b, const char *name, const char *value)
{
  put(b, name, strlen(name));
  put(b, ": ", 2);
  put(b, value, strlen(value));
  put(b, "\r\n", 2);
}

static void emit(wbuf *b, const web_response *r, int cache, int sized)
{
  char line[64];
  int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", r->status);
  const char *text = web_http_status_text(r->status);

  put(b, line, (size_t)n);
  put(b, text, strlen(text));
  put(b, "\r\n", 2);
  for (size_t i = 0; i < r->nheaders; i++)
    put_hdr(b, r->headers[i].name, r->headers[i].value);
  for (size_t i = 0; i < sizeof security / sizeof *security; i++)
    put_hdr(b, security[i].name, security[i].value);
  if (!cache)
    put_hdr(b, "Cache-Control", "no-store");
  if (sized) {
    snprintf(line, sizeof line, "%zu", r->body_len);
    put_hdr(b, "Content-Length", line);
  }
  if (r->close)
    put_hdr(b, "Connection", "close");
  put(b, "\r\n", 2);
  if (!r->head && r->body_len)
    put(b, r->body, r->body_len);
}

int web_http_response(const web_response *r, uint8_t **out, size_t *out_len)
{
  int cache = 0, sized = r->status != 204 && r->status != 304;
  wbuf b = {0};

  if (r->status < 200 || r->status > 599 || (!sized && r->body_len) ||
      (r->body_len && r->body == NULL))
    return BT_EINVAL;
  for (size_t i = 0; i < r->nheaders; i++)
    if (!header_ok(&r->headers[i], &cache))
      return BT_EINVAL;
  emit(&b, r, cache, sized);
  b.cap = b.len;
  b.len = 0;
  if ((b.p = malloc(b.cap ? b.cap : 1)) == NULL)
    return BT_ENOMEM;
  emit(&b, r, cache, sized);
  *out = (uint8_t *)b.p;
  *out_len = b.len;
  return BT_OK;
}

int web_http_error_response(const web_http_parser *p, uint8_t **out, size_t *out_len)
{
  static const web_header type[] = {{"Content-Type", "text/plain; charset=utf-8"}};
  char body[128];
  web_response r = {0};
  int n;

  if (p->state != ST_ERROR)
    return BT_EINVAL;
  n = snprintf(body, sizeof body, "%d %s: %s\n", p->status, web_http_status_text(p->status),
               p->reason);
  r.status = p->status;
  r.headers = type;
  r.nheaders = 1;
  r.body = body;
  r.body_len = n < 0 ? 0 : (size_t)n < sizeof body ? (size_t)n : sizeof body - 1;
  r.close = 1;
  return web_http_response(&r, out, out_len);
}
