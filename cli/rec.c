/* cli/rec.c: records as JSON both ways (cli/rec.h). Everything is driven by
 * the schema tables, so this file knows no op type by name; a value is
 * checked for its kind here so that the message can name the field, and
 * the whole record again by crdt_rec_check before anything is written. */
#define _POSIX_C_SOURCE 200809L
#include "cli/rec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"

static void tm_str(uint64_t ms, char out[24])
{
  if (ms && crdt_date_from_ms(ms) != 0)
    crdt_date_format_time(ms, out);
  else
    snprintf(out, 24, "-");
}

#define AT(rec, f, T) ((T *)((char *)(rec) + (f)->off))
#define CAT(rec, f, T) ((const T *)((const char *)(rec) + (f)->off))

void cli_rec_arena_free(cli_rec_arena *a)
{
  for (size_t i = 0; i < a->n; i++)
    free(a->p[i]);
  a->n = 0;
}

void cli_hex(const uint8_t *p, size_t n, char *out)
{
  static const char H[] = "0123456789abcdef";

  for (size_t i = 0; i < n; i++) {
    out[2 * i] = H[p[i] >> 4];
    out[2 * i + 1] = H[p[i] & 15];
  }
  out[2 * n] = '\0';
}

void cli_rec_names(const crdt_schema *s, char *buf, size_t len)
{
  size_t o = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < s->nfields && o < len; i++)
    if (s->fields[i].kind != CRDT_F_BIN)
      o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", s->fields[i].name);
}

static const char *kind_words(const crdt_field *f)
{
  switch (f->kind) {
  case CRDT_F_STR: return "one line of text";
  case CRDT_F_TEXT: return "text";
  case CRDT_F_UINT: return "a whole number";
  case CRDT_F_YESNO: return "true or false (or \"yes\" / \"no\")";
  case CRDT_F_ENUM: return "one of the words listed";
  case CRDT_F_DATE: return "a date, YYYY-MM-DD";
  case CRDT_F_TIME: return "a UTC time, YYYY-MM-DDTHH:MM[:SS][Z]";
  case CRDT_F_ID: return "an entry id in hex";
  case CRDT_F_LIST: return "a list of objects";
  default: return "not something people enter";
  }
}

static int bad_value(const cli_ctx *c, const char *what, int bad, const char *path,
                     const crdt_field *f)
{
  char words[256] = "";
  size_t o = 0;

  for (uint32_t v = 1; f->kind == CRDT_F_ENUM && v <= f->max && o < sizeof words; v++)
    o += (size_t)snprintf(words + o, sizeof words - o, "%s%s", v > 1 ? ", " : " (",
                          f->names[v]);
  if (o && o < sizeof words)
    snprintf(words + o, sizeof words - o, ")");
  if (bad == CLI_USAGE)
    return cli_usage(c, "%s: must be %s%s", path, kind_words(f), words);
  return cli_fail(c, "%s: field %s must be %s%s; nothing was recorded", what, path,
                  kind_words(f), words);
}

static int say(const cli_ctx *c, int bad, const char *fmt, const char *a, const char *b)
{
  return bad == CLI_USAGE ? cli_usage(c, fmt, a, b) : cli_fail(c, fmt, a, b);
}

static int text_value(const json_t *v, const crdt_field *f, bt_str *out)
{
  if (!json_is_string(v))
    return BT_EINVAL;
  *out = (bt_str){json_string_value(v), json_string_length(v)};
  if (out->len == 0 || out->len > f->max)
    return BT_EINVAL;
  return crdt_text_check(*out, f->kind == CRDT_F_TEXT);
}

static int uint_value(const json_t *v, uint32_t max, uint32_t *out)
{
  json_int_t n;
  char *end;

  if (json_is_integer(v)) {
    n = json_integer_value(v);
  } else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 11 &&
             json_string_value(v)[0] >= '0' && json_string_value(v)[0] <= '9') {
    errno = 0;
    n = (json_int_t)strtoll(json_string_value(v), &end, 10);
    if (*end || errno)
      return BT_EINVAL;
  } else {
    return BT_EINVAL;
  }
  if (n < 0 || (uint64_t)n > max)
    return BT_EINVAL;
  *out = (uint32_t)n;
  return BT_OK;
}

static int yesno_value(const json_t *v, uint32_t *out)
{
  const char *s = json_string_value(v);

  if (json_is_boolean(v))
    *out = json_is_true(v) ? CRDT_YES : CRDT_NO;
  else if (s && strcmp(s, "yes") == 0)
    *out = CRDT_YES;
  else if (s && strcmp(s, "no") == 0)
    *out = CRDT_NO;
  else
    return BT_EINVAL;
  return BT_OK;
}

static int enum_value(const json_t *v, const crdt_field *f, uint32_t *out)
{
  const char *s = json_string_value(v);

  for (uint32_t k = 1; s && k <= f->max; k++)
    if (strcmp(s, f->names[k]) == 0) {
      *out = k;
      return BT_OK;
    }
  return BT_EINVAL;
}

static int list_value(const cli_ctx *c, const char *what, int bad, const char *path,
                      const crdt_field *f, const json_t *v, const cli_rec_ids *ids,
                      cli_rec_arena *a, void *rec)
{
  const crdt_schema *sub = f->sub;
  char p[160];
  size_t n = json_array_size(v);
  char *items;
  int rc;

  if (!json_is_array(v) || n == 0)
    return bad_value(c, what, bad, path, f);
  if (n > f->max) {
    snprintf(p, sizeof p, "%u", f->max);
    return say(c, bad, "%s: at most %s items", path, p);
  }
  if (a->n == sizeof a->p / sizeof a->p[0] || (items = calloc(n, sub->size)) == NULL)
    return cli_fail(c, "out of memory");
  a->p[a->n++] = items;
  for (size_t i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s[%zu]", path, i);
    rc = cli_rec_from_json(c, what, bad, sub, json_array_get(v, i), ids, a,
                           items + i * sub->size);
    if (rc != CLI_OK)
      return rc;
  }
  *AT(rec, f, void *) = items;
  *(size_t *)((char *)rec + f->count_off) = n;
  return CLI_OK;
}

static int one_field(const cli_ctx *c, const char *what, int bad, const char *path,
                     const crdt_field *f, const json_t *v, const cli_rec_ids *ids,
                     cli_rec_arena *a, void *rec)
{
  const char *s = json_string_value(v);
  uint32_t u = 0;
  uint64_t t = 0;
  int rc = BT_EINVAL;

  switch (f->kind) {
  case CRDT_F_STR: case CRDT_F_TEXT:
    rc = text_value(v, f, AT(rec, f, bt_str));
    if (rc != BT_OK && s && json_string_length(v) > f->max) {
      char n[16];
      snprintf(n, sizeof n, "%u", f->max);
      return say(c, bad, "%s: at most %s bytes", path, n);
    }
    break;
  case CRDT_F_UINT:
    rc = uint_value(v, f->max, AT(rec, f, uint32_t));
    break;
  case CRDT_F_YESNO:
    rc = yesno_value(v, AT(rec, f, uint32_t));
    break;
  case CRDT_F_ENUM:
    rc = enum_value(v, f, AT(rec, f, uint32_t));
    break;
  case CRDT_F_DATE:
    if (s && (rc = crdt_date_parse(s, json_string_length(v), &u)) == BT_OK)
      *AT(rec, f, uint32_t) = u;
    break;
  case CRDT_F_TIME:
    if (s && (rc = crdt_date_parse_time(s, json_string_length(v), &t)) == BT_OK)
      *AT(rec, f, uint64_t) = t;
    break;
  case CRDT_F_ID:
    if (s && ids && ids->find)
      return ids->find(ids->ctx, path, s, AT(rec, f, crdt_id));
    break;
  case CRDT_F_LIST:
    return list_value(c, what, bad, path, f, v, ids, a, rec);
  default:
    break;
  }
  return rc == BT_OK ? CLI_OK : bad_value(c, what, bad, path, f);
}

int cli_rec_from_json(const cli_ctx *c, const char *what, int bad, const crdt_schema *s,
                      const json_t *o, const cli_rec_ids *ids, cli_rec_arena *a, void *rec)
{
  char names[512], q[CLI_QUOTE_LEN];
  const char *key;
  json_t *v;
  int rc;

  memset(rec, 0, s->size);
  if (!json_is_object(o))
    return say(c, bad, "%s: %s must be a JSON object", what, s->name);
  json_object_foreach((json_t *)o, key, v) {
    const crdt_field *f = crdt_schema_field(s, key);
    if (f == NULL || f->kind == CRDT_F_BIN) {
      cli_rec_names(s, names, sizeof names);
      if (bad == CLI_USAGE)
        return cli_usage(c, "%s: no field %s in a %s; its fields are: %s", what,
                         cli_quote(key, q), s->name, names);
      return cli_fail(c, "%s: no field %s in a %s; its fields are: %s. Nothing was "
                         "recorded", what, cli_quote(key, q), s->name, names);
    }
    if (json_is_null(v))
      continue;
    if ((rc = one_field(c, what, bad, key, f, v, ids, a, rec)) != CLI_OK)
      return rc;
  }
  return CLI_OK;
}

int cli_rec_check(const cli_ctx *c, const char *what, int bad, const crdt_schema *s,
                  const void *rec)
{
  char miss[512];
  size_t o = 0;
  int rc;

  miss[0] = '\0';
  for (size_t i = 0; i < s->nfields && o < sizeof miss; i++)
    if (s->fields[i].req && crdt_field_zero(&s->fields[i], rec))
      o += (size_t)snprintf(miss + o, sizeof miss - o, "%s%s", o ? ", " : "",
                            s->fields[i].name);
  if (o)
    return say(c, bad, "%s: required, and not given: %s", what, miss);
  if ((rc = crdt_rec_check(s, rec)) != BT_OK)
    return say(c, bad, "%s: the %s is not valid: %s", what, s->name);
  return CLI_OK;
}

static json_t *field_json(const crdt_field *f, const void *rec)
{
  char buf[72];

  switch (f->kind) {
  case CRDT_F_STR: case CRDT_F_TEXT:
    return json_stringn(CAT(rec, f, bt_str)->p, CAT(rec, f, bt_str)->len);
  case CRDT_F_BIN:
    return json_integer((json_int_t)CAT(rec, f, bt_str)->len);
  case CRDT_F_UINT:
    return json_integer(*CAT(rec, f, uint32_t));
  case CRDT_F_YESNO:
    return json_boolean(*CAT(rec, f, uint32_t) == CRDT_YES);
  case CRDT_F_ENUM:
    return *CAT(rec, f, uint32_t) <= f->max ? json_string(f->names[*CAT(rec, f, uint32_t)])
                                            : json_integer(*CAT(rec, f, uint32_t));
  case CRDT_F_DATE:
    crdt_date_format(*CAT(rec, f, uint32_t), buf);
    return json_string(buf);
  case CRDT_F_TIME:
    if (crdt_date_from_ms(*CAT(rec, f, uint64_t)) == 0)
      return json_integer((json_int_t)*CAT(rec, f, uint64_t));
    crdt_date_format_time(*CAT(rec, f, uint64_t), buf);
    return json_string(buf);
  case CRDT_F_ID:
    cli_hex(CAT(rec, f, crdt_id)->b, CRDT_ID_LEN, buf);
    return json_string(buf);
  case CRDT_F_LIST: {
    json_t *arr = json_array();
    const char *items = *CAT(rec, f, char *);
    size_t n = *(const size_t *)((const char *)rec + f->count_off);
    for (size_t i = 0; arr && i < n; i++)
      json_array_append_new(arr, cli_rec_json(f->sub, items + i * f->sub->size));
    return arr;
  }
  default:
    return json_null();
  }
}

json_t *cli_rec_json(const crdt_schema *s, const void *rec)
{
  json_t *o = json_object();

  for (size_t i = 0; o && i < s->nfields; i++)
    if (!crdt_field_zero(&s->fields[i], rec))
      json_object_set_new(o, s->fields[i].name, field_json(&s->fields[i], rec));
  return o;
}

json_t *cli_entry_json(const crdt_cf_entry *e)
{
  const crdt_schema *s = crdt_body_schema(e->body->type);
  json_t *flags = json_array(), *links = json_array();
  char id[2 * CRDT_ID_LEN + 1], at[24], rec[24];

  cli_hex(e->op->id.b, CRDT_ID_LEN, id);
  tm_str(e->event_at, at);
  tm_str(e->body->hlc >> 16, rec);
  for (uint32_t bit = 1; flags && bit < CRDT_CF_FLAGS_END; bit <<= 1)
    if ((e->flags & bit) && crdt_cf_flag_name(bit))
      json_array_append_new(flags, json_string(crdt_cf_flag_name(bit)));
  for (size_t i = 0; links && i < e->nlinks; i++) {
    char l[2 * CRDT_ID_LEN + 1];
    cli_hex(e->links[i].b, CRDT_ID_LEN, l);
    json_array_append_new(links, json_string(l));
  }
  return json_pack("{s:s, s:s, s:s%, s:s, s:s, s:o, s:o, s:o}", "id", id, "type",
                   crdt_optype_name(e->body->type), "by", e->body->user.p, e->body->user.len,
                   "at", at, "recorded", rec, "flags", flags, "links", links, "fields",
                   s ? cli_rec_json(s, &e->body->u) : json_object());
}

int cli_rec_load(const cli_ctx *c, const char *path, json_t **out)
{
  char q[CLI_QUOTE_LEN];
  json_error_t je;
  json_t *j;

  j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL) {
    if (je.line <= 0)
      return cli_fail(c, "cannot read %s: %s; nothing was recorded", cli_quote(path, q),
                      je.text);
    return cli_fail(c, "%s is not valid JSON (line %d, column %d: %s); nothing was recorded",
                    cli_quote(path, q), je.line, je.column, je.text);
  }
  if (!json_is_object(j)) {
    json_decref(j);
    return cli_fail(c, "%s must hold one JSON object ({\"field\": value, ...}); nothing was "
                       "recorded", cli_quote(path, q));
  }
  *out = j;
  return CLI_OK;
}
