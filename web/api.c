/* web/api.c: what the JSON API modules share (web/api.h). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "web/rec.h"

int web_api_fail(json_t **out, int status, const char *msg)
{
  *out = json_pack("{s:s}", "error", msg);
  return status;
}

int web_api_node_fail(json_t **out, int rc)
{
  switch (rc) {
  case BT_EDENIED:
    return web_api_fail(out, 403, "your role does not allow this");
  case BT_ENOFILE: case BT_ENOTFOUND: case BT_EEPOCH:
    return web_api_fail(out, 404, "no such case file or record here");
  case BT_ETOOBIG:
    return web_api_fail(out, 413, "the record is too long");
  case BT_EMISSING: case BT_EINVAL: case BT_EDATE: case BT_EUPN:
    return web_api_fail(out, 400, "the record is not valid; nothing was recorded");
  case BT_EDUP:
    return web_api_fail(out, 409, "already done, or already present");
  case BT_ESTATE:
    return web_api_fail(out, 409, "not possible in the record's present state");
  case BT_EHOLIDAYS:
    return web_api_fail(out, 409, "bank holidays are not known for that year: import them "
                                  "(baton calendar import)");
  case BT_ETERMS:
    return web_api_fail(out, 409, "no term dates cover that date: add the terms "
                                  "(baton calendar terms)");
  case BT_EEXPIRED: case BT_EREVOKED: case BT_EANCHOR: case BT_ECHAIN: case BT_ESELFSIGNED:
    return web_api_fail(out, 409, "that organisation's certificate is not valid here");
  default:
    return web_api_fail(out, 500, bt_strerror(rc));
  }
}

int web_api_not_allowed(json_t **out, const char **allow, const char *allow_methods)
{
  *allow = allow_methods;
  return web_api_fail(out, 405, "method not allowed");
}

int web_api_hex(const char *p, size_t n, uint8_t *out, size_t len)
{
  size_t got = 0;

  if (n != 2 * len)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
          (p[i] >= 'A' && p[i] <= 'F')))
      return 0;
  return sodium_hex2bin(out, len, p, n, NULL, &got, NULL) == 0 && got == len;
}

char *web_api_hexstr(const uint8_t *p, size_t len, char *buf)
{
  return sodium_bin2hex(buf, 2 * len + 1, p, len);
}

json_t *web_api_hexjson(const uint8_t *p, size_t len)
{
  char buf[2 * 64 + 1];
  json_t *j;

  if (p == NULL || len == 0 || len > 64)
    return json_null();
  j = json_string(sodium_bin2hex(buf, sizeof buf, p, len));
  return j ? j : json_null();
}

int web_api_split(const char *path, const char *prefix, web_seg *seg, size_t max)
{
  size_t plen = strlen(prefix), n = 0;
  const char *p, *slash;

  if (strncmp(path, prefix, plen) != 0)
    return -1;
  p = path + plen;
  for (;;) {
    slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0 || n == max)
      return -1;
    seg[n++] = (web_seg){p, len};
    if (slash == NULL)
      return (int)n;
    p = slash + 1;
  }
}

int web_api_seg_is(const web_seg *seg, const char *w)
{
  return strlen(w) == seg->len && memcmp(seg->p, w, seg->len) == 0;
}

int web_api_body(const web_call *c, size_t max, json_t **obj, json_t **out)
{
  char msg[160];
  json_error_t je;
  json_t *j;

  *obj = NULL;
  if (c->req->body_len > max)
    return web_api_fail(out, 413, "the request body is too long");
  /* Jansson's messages quote the text near an error: only positions here. */
  if ((j = json_loadb((const char *)c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES,
                      &je)) == NULL) {
    snprintf(msg, sizeof msg, "the body is not valid JSON (line %d, column %d), or names a "
                              "field twice", je.line, je.column);
    return web_api_fail(out, 400, msg);
  }
  if (!json_is_object(j)) {
    json_decref(j);
    return web_api_fail(out, 400, "send one JSON object {\"field\": value, ...}");
  }
  *obj = j;
  return 0;
}

int web_api_str(const json_t *o, const char *key, const char **v)
{
  const json_t *j = json_object_get(o, key);

  if (j == NULL || json_is_null(j))
    return 0;
  if (!json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j))
    return -1; /* not a string, or one with a NUL inside */
  *v = json_string_value(j);
  return 1;
}

int web_api_bool(const json_t *o, const char *key, int *v)
{
  const json_t *j = json_object_get(o, key);

  if (j == NULL || json_is_null(j))
    return 0;
  if (!json_is_boolean(j))
    return -1;
  *v = json_is_true(j);
  return 1;
}

int web_api_date(const json_t *o, const char *key, uint32_t *ymd)
{
  const char *s;
  int rc = web_api_str(o, key, &s);

  if (rc <= 0)
    return rc;
  if (*s == 0)
    return 0;
  return crdt_date_parse(s, strlen(s), ymd) == BT_OK ? 1 : -1;
}

json_t *web_api_datejson(uint32_t ymd)
{
  char d[11];

  if (ymd == 0)
    return json_null();
  crdt_date_format(ymd, d);
  return json_string(d);
}

json_t *web_api_timejson(uint64_t ms)
{
  char t[21];

  if (ms == 0 || crdt_date_from_ms(ms) == 0)
    return json_null();
  crdt_date_format_time(ms, t);
  return json_string(t);
}

int web_api_only_keys(const json_t *o, const char *const *keys, json_t **out)
{
  const char *k;
  json_t *v;
  char msg[160];

  json_object_foreach((json_t *)o, k, v) {
    int known = 0;
    for (size_t i = 0; keys[i] && !known; i++)
      known = strcmp(k, keys[i]) == 0;
    if (known)
      continue;
    snprintf(msg, sizeof msg, "unknown field %s; nothing was recorded", web_rec_key_word(k));
    web_api_fail(out, 400, msg);
    return 0;
  }
  (void)v;
  return 1;
}

int web_api_hex_field(const json_t *o, const char *key, uint8_t *id, size_t len, int required,
                      json_t **out)
{
  const char *v = NULL;
  char msg[120];
  int rc = web_api_str(o, key, &v);

  if (rc == 0 && !required)
    return 0;
  if (rc <= 0 || !web_api_hex(v, strlen(v), id, len)) {
    snprintf(msg, sizeof msg, "%s must be %s%zu hex digits", key, rc == 0 ? "given: " : "",
             2 * len);
    web_api_fail(out, 400, msg);
    return -1;
  }
  return 1;
}

int web_api_text_field(const json_t *o, const char *key, const char **v, json_t **out)
{
  char msg[96];
  int rc = web_api_str(o, key, v);

  if (rc < 0) {
    snprintf(msg, sizeof msg, "%s must be text", key);
    web_api_fail(out, 400, msg);
    return -1;
  }
  if (rc == 0 || **v == 0)
    *v = NULL;
  return 0;
}

int web_api_date_field(const json_t *o, const char *key, uint32_t *ymd, json_t **out)
{
  char msg[96];

  *ymd = 0;
  if (web_api_date(o, key, ymd) >= 0)
    return 0;
  snprintf(msg, sizeof msg, "%s must be a date, YYYY-MM-DD", key);
  web_api_fail(out, 400, msg);
  return -1;
}

json_t *web_api_plans_json(const size_t n[WEB_API_PLANS])
{
  const char *const *w = crdt_fs_words(CRDT_FS_PLAN);
  json_t *o = json_object();

  if (o)
    json_object_set_new(o, "not_recorded", json_integer((json_int_t)n[0]));
  for (size_t k = 0; o && w[k] && k + 1 < WEB_API_PLANS; k++)
    json_object_set_new(o, w[k], json_integer((json_int_t)n[k + 1]));
  return o;
}
