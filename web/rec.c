/* web/rec.c: records as JSON both ways (web/rec.h). Everything follows the
 * schema tables; a value is checked for its kind here so that a reply can
 * name the field, and the whole record again by crdt_rec_check (the
 * caller) before anything is written. */
#define _POSIX_C_SOURCE 200809L
#include "web/rec.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"

#define AT(rec, f, T) ((T *)((char *)(rec) + (f)->off))
#define CAT(rec, f, T) ((const T *)((const char *)(rec) + (f)->off))

/* ---- records to JSON --------------------------------------------------------- */

static json_t *time_json(uint64_t ms)
{
  char t[24];

  if (crdt_date_from_ms(ms) == 0)
    return json_integer((json_int_t)ms);
  crdt_date_format_time(ms, t);
  return json_string(t);
}

static json_t *field_json(const crdt_field *f, const void *rec)
{
  char buf[2 * CRDT_ID_LEN + 1];
  uint32_t u = *CAT(rec, f, uint32_t);

  switch (f->kind) {
  case CRDT_F_STR: case CRDT_F_TEXT:
    return json_stringn(CAT(rec, f, bt_str)->p, CAT(rec, f, bt_str)->len);
  case CRDT_F_UINT:
    return json_integer(u);
  case CRDT_F_YESNO:
    return json_boolean(u == CRDT_YES);
  case CRDT_F_ENUM:
    return u <= f->max ? json_string(f->names[u]) : json_integer(u);
  case CRDT_F_DATE:
    crdt_date_format(u, buf);
    return json_string(buf);
  case CRDT_F_TIME:
    return time_json(*CAT(rec, f, uint64_t));
  case CRDT_F_ID:
    sodium_bin2hex(buf, sizeof buf, CAT(rec, f, crdt_id)->b, CRDT_ID_LEN);
    return json_string(buf);
  case CRDT_F_LIST: {
    json_t *arr = json_array();
    const char *items = *CAT(rec, f, char *);
    size_t n = *(const size_t *)((const char *)rec + f->count_off);
    for (size_t i = 0; arr && i < n; i++)
      json_array_append_new(arr, web_rec_json(f->sub, items + i * f->sub->size));
    return arr;
  }
  default:
    return NULL; /* bytes: never shown */
  }
}

json_t *web_rec_json(const crdt_schema *s, const void *rec)
{
  json_t *o = json_object();

  /* Absent is the zero value, but for a required number: 0 is a value
   * there (a mark at x 0), as on the wire (crdt/schema.h). */
  for (size_t i = 0; o && i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    if (f->kind != CRDT_F_BIN &&
        (!crdt_field_zero(f, rec) || (f->kind == CRDT_F_UINT && f->req)))
      json_object_set_new(o, f->name, field_json(f, rec));
  }
  return o;
}

json_t *web_entry_json(const crdt_cf_entry *e)
{
  const crdt_schema *s = crdt_body_schema(e->body->type);
  json_t *flags = json_array(), *links = json_array();
  char id[2 * CRDT_ID_LEN + 1];

  sodium_bin2hex(id, sizeof id, e->op->id.b, CRDT_ID_LEN);
  for (uint32_t bit = 1; flags && bit < CRDT_CF_FLAGS_END; bit <<= 1)
    if ((e->flags & bit) && crdt_cf_flag_name(bit))
      json_array_append_new(flags, json_string(crdt_cf_flag_name(bit)));
  for (size_t i = 0; links && i < e->nlinks; i++) {
    char l[2 * CRDT_ID_LEN + 1];
    sodium_bin2hex(l, sizeof l, e->links[i].b, CRDT_ID_LEN);
    json_array_append_new(links, json_string(l));
  }
  return json_pack("{s:s, s:s, s:s%, s:o, s:o, s:o, s:o, s:o}", "id", id, "type",
                   crdt_optype_name(e->body->type), "user", e->body->user.p,
                   e->body->user.len, "event_at", time_json(e->event_at), "recorded_at",
                   time_json(e->body->hlc >> 16), "flags", flags, "links", links, "fields",
                   s ? web_rec_json(s, &e->body->u) : json_object());
}

/* ---- JSON to records --------------------------------------------------------- */

/* Fields people give: not bytes, not lists (no call takes them yet). */
static const crdt_field *taken(const crdt_schema *s, const char *name)
{
  const crdt_field *f = crdt_schema_field(s, name);

  return f && f->kind != CRDT_F_BIN && f->kind != CRDT_F_LIST ? f : NULL;
}

static int text_value(const json_t *v, const crdt_field *f, bt_str *out)
{
  if (!json_is_string(v))
    return BT_EINVAL;
  *out = (bt_str){json_string_value(v), json_string_length(v)};
  if (out->len > f->max)
    return BT_EINVAL;
  return crdt_text_check(*out, f->kind == CRDT_F_TEXT);
}

static int one_field(const crdt_field *f, const json_t *v, void *rec)
{
  const char *s = json_string_value(v);
  size_t n = s ? json_string_length(v) : 0;
  json_int_t k;
  uint64_t t;
  uint32_t u;

  switch (f->kind) {
  case CRDT_F_STR: case CRDT_F_TEXT:
    return text_value(v, f, AT(rec, f, bt_str));
  case CRDT_F_UINT:
    if (!json_is_integer(v) || (k = json_integer_value(v)) < 0 || (uint64_t)k > f->max)
      return BT_EINVAL;
    *AT(rec, f, uint32_t) = (uint32_t)k;
    return BT_OK;
  case CRDT_F_YESNO:
    if (!json_is_boolean(v))
      return BT_EINVAL;
    *AT(rec, f, uint32_t) = json_is_true(v) ? CRDT_YES : CRDT_NO;
    return BT_OK;
  case CRDT_F_ENUM:
    for (u = 1; s && u <= f->max; u++)
      if (strcmp(s, f->names[u]) == 0) {
        *AT(rec, f, uint32_t) = u;
        return BT_OK;
      }
    return BT_EINVAL;
  case CRDT_F_DATE:
    if (s == NULL || crdt_date_parse(s, n, &u) != BT_OK)
      return BT_EINVAL;
    *AT(rec, f, uint32_t) = u;
    return BT_OK;
  case CRDT_F_TIME:
    if (s == NULL || crdt_date_parse_time(s, n, &t) != BT_OK)
      return BT_EINVAL;
    *AT(rec, f, uint64_t) = t;
    return BT_OK;
  case CRDT_F_ID:
    if (s == NULL || n != 2 * CRDT_ID_LEN ||
        sodium_hex2bin(AT(rec, f, crdt_id)->b, CRDT_ID_LEN, s, n, NULL, NULL, NULL) != 0)
      return BT_EINVAL;
    return BT_OK;
  default:
    return BT_EINVAL;
  }
}

int web_rec_from_json(const crdt_schema *s, const json_t *o, void *rec, const char **bad)
{
  const char *key;
  json_t *v;

  memset(rec, 0, s->size);
  if (bad)
    *bad = NULL;
  if (!json_is_object(o))
    return BT_EINVAL;
  json_object_foreach((json_t *)o, key, v)
    if (taken(s, key) == NULL)
      return BT_ENOTFOUND;
  json_object_foreach((json_t *)o, key, v) {
    const crdt_field *f = taken(s, key);
    if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
      continue;
    if (one_field(f, v, rec) != BT_OK) {
      if (bad)
        *bad = f->name;
      return BT_EINVAL;
    }
  }
  return BT_OK;
}

static void append(char *buf, size_t len, size_t *o, const char *word)
{
  if (*o < len)
    *o += (size_t)snprintf(buf + *o, len - *o, "%s%s", *o ? ", " : "", word);
}

static int name_like(const char *k)
{
  size_t n = strlen(k);

  if (n == 0 || n > 32)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
      return 0;
  return 1;
}

const char *web_rec_key_word(const char *key)
{
  return name_like(key) ? key : "(a name that is no field)";
}

void web_rec_unknown(const crdt_schema *s, const json_t *o, char *buf, size_t len)
{
  const char *key;
  json_t *v;
  size_t n = 0;

  buf[0] = '\0';
  json_object_foreach((json_t *)o, key, v)
    if (taken(s, key) == NULL)
      append(buf, len, &n, web_rec_key_word(key));
}

size_t web_rec_missing(const crdt_schema *s, const void *rec, char *buf, size_t len)
{
  size_t n = 0, o = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < s->nfields; i++)
    if (s->fields[i].req && crdt_field_zero(&s->fields[i], rec)) {
      append(buf, len, &o, s->fields[i].name);
      n++;
    }
  return n;
}

void web_rec_names(const crdt_schema *s, char *buf, size_t len)
{
  size_t o = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < s->nfields; i++)
    if (taken(s, s->fields[i].name))
      append(buf, len, &o, s->fields[i].name);
}

void web_rec_kind_words(const crdt_field *f, char *buf, size_t len)
{
  size_t o;

  switch (f->kind) {
  case CRDT_F_STR:
    snprintf(buf, len, "one line of text, at most %u bytes", f->max);
    break;
  case CRDT_F_TEXT:
    snprintf(buf, len, "text, at most %u bytes", f->max);
    break;
  case CRDT_F_UINT:
    snprintf(buf, len, "a whole number from 0 to %u", f->max);
    break;
  case CRDT_F_YESNO:
    snprintf(buf, len, "true or false");
    break;
  case CRDT_F_ENUM:
    o = (size_t)snprintf(buf, len, "one of:");
    for (uint32_t v = 1; v <= f->max && o < len; v++)
      o += (size_t)snprintf(buf + o, len - o, "%s %s", v > 1 ? "," : "", f->names[v]);
    break;
  case CRDT_F_DATE:
    snprintf(buf, len, "a date, YYYY-MM-DD");
    break;
  case CRDT_F_TIME:
    snprintf(buf, len, "a UTC time, YYYY-MM-DDTHH:MM[:SS][Z]");
    break;
  case CRDT_F_ID:
    snprintf(buf, len, "an entry id, 64 hex digits");
    break;
  default:
    snprintf(buf, len, "not something this call takes");
    break;
  }
}

/* ---- JSON to records, lists included ------------------------------------------- */

/* Fields web_rec_take takes: all but bytes. */
static const crdt_field *taken_all(const crdt_schema *s, const char *name)
{
  const crdt_field *f = crdt_schema_field(s, name);

  return f && f->kind != CRDT_F_BIN ? f : NULL;
}

void web_rec_mem_free(web_rec_mem *m)
{
  for (size_t i = 0; i < m->n; i++) {
    sodium_memzero(m->blocks[i].p, m->blocks[i].len);
    free(m->blocks[i].p);
  }
  free(m->blocks);
  m->blocks = NULL;
  m->n = 0;
}

/* n zeroed items of size bytes, kept in m; NULL: out of memory. */
static void *mem_items(web_rec_mem *m, size_t n, size_t size)
{
  struct web_rec_block *nb = realloc(m->blocks, (m->n + 1) * sizeof(*nb));
  void *p;

  if (nb == NULL)
    return NULL;
  m->blocks = nb;
  if ((p = calloc(n, size)) == NULL)
    return NULL;
  m->blocks[m->n++] = (struct web_rec_block){p, n * size};
  return p;
}

/* A field's path: "name" at the top, "marks[2].name" in an item. */
static void path_of(char *buf, size_t len, const char *where, const char *name)
{
  snprintf(buf, len, "%s%s%s", where, *where ? "." : "", name);
}

static int take(const crdt_schema *s, const json_t *o, void *rec, web_rec_mem *mem,
                const char *where, char *msg, size_t len);

static int list_field(const crdt_field *f, const json_t *v, void *rec, web_rec_mem *mem,
                      const char *path, char *msg, size_t len)
{
  size_t n = json_array_size(v);
  char where[160], *items; /* a path (128) and "[N]" */
  int rc;

  if (!json_is_array(v)) {
    snprintf(msg, len, "%s must be a list of 1 to %u objects; nothing was recorded", path,
             f->max);
    return BT_EINVAL;
  }
  if (n == 0)
    return BT_OK; /* an empty list is an absent one */
  if (n > f->max) {
    snprintf(msg, len, "%s takes at most %u items (%zu sent); nothing was recorded", path,
             f->max, n);
    return BT_ETOOBIG;
  }
  if ((items = mem_items(mem, n, f->sub->size)) == NULL) {
    snprintf(msg, len, "out of memory");
    return BT_ENOMEM;
  }
  *AT(rec, f, char *) = items;
  *(size_t *)((char *)rec + f->count_off) = n;
  for (size_t i = 0; i < n; i++) {
    snprintf(where, sizeof where, "%s[%zu]", path, i);
    if ((rc = take(f->sub, json_array_get(v, i), items + i * f->sub->size, mem, where, msg,
                   len)) != BT_OK)
      return rc;
  }
  return BT_OK;
}

/* Unknown keys of o, with the fields there are: BT_ENOTFOUND, else BT_OK. */
static int unknown_keys(const crdt_schema *s, const json_t *o, const char *where, char *msg,
                        size_t len)
{
  char words[160], names[400];
  size_t n = 0, k = 0;
  const char *key;
  json_t *v;

  words[0] = names[0] = '\0';
  json_object_foreach((json_t *)o, key, v)
    if (taken_all(s, key) == NULL)
      append(words, sizeof words, &n, web_rec_key_word(key));
  if (n == 0)
    return BT_OK;
  for (size_t i = 0; i < s->nfields; i++)
    if (s->fields[i].kind != CRDT_F_BIN)
      append(names, sizeof names, &k, s->fields[i].name);
  if (*where)
    snprintf(msg, len, "no such field in %s: %s; its fields are: %s", where, words, names);
  else
    snprintf(msg, len, "no such field in %s %s: %s; its fields are: %s",
             strchr("aeiou", s->name[0]) ? "an" : "a", s->name, words, names);
  return BT_ENOTFOUND;
}

/* An item's required fields not given (got: the fields taken, by index; a
 * required number given as 0 is given): BT_EMISSING naming them, else BT_OK. */
static int item_missing(const crdt_schema *s, const void *rec, uint64_t got, const char *where,
                        char *msg, size_t len)
{
  char names[400], path[128];
  size_t n = 0, o = 0;

  names[0] = '\0';
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    if (!f->req || ((got >> i & 1) && (f->kind == CRDT_F_UINT || !crdt_field_zero(f, rec))))
      continue;
    path_of(path, sizeof path, where, f->name);
    append(names, sizeof names, &o, path);
    n++;
  }
  if (n == 0)
    return BT_OK;
  snprintf(msg, len, "required, and not given: %s; nothing was recorded", names);
  return BT_EMISSING;
}

static int take(const crdt_schema *s, const json_t *o, void *rec, web_rec_mem *mem,
                const char *where, char *msg, size_t len)
{
  char path[128], words[160];
  uint64_t got = 0; /* fields taken, by index (tables have < 64) */
  const char *key;
  json_t *v;
  int rc;

  memset(rec, 0, s->size);
  if (!json_is_object(o)) {
    snprintf(msg, len, "%s must be an object {\"field\": value, ...}; nothing was recorded",
             *where ? where : "the record");
    return BT_EINVAL;
  }
  if ((rc = unknown_keys(s, o, where, msg, len)) != BT_OK)
    return rc;
  json_object_foreach((json_t *)o, key, v) {
    const crdt_field *f = taken_all(s, key);
    if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
      continue;
    path_of(path, sizeof path, where, f->name);
    if (f->kind == CRDT_F_LIST) {
      if ((rc = list_field(f, v, rec, mem, path, msg, len)) != BT_OK)
        return rc;
    } else if (one_field(f, v, rec) != BT_OK) {
      web_rec_kind_words(f, words, sizeof words);
      snprintf(msg, len, "%s must be %s; nothing was recorded", path, words);
      return BT_EINVAL;
    }
    got |= UINT64_C(1) << (f - s->fields);
  }
  return *where ? item_missing(s, rec, got, where, msg, len) : BT_OK;
}

int web_rec_take(const crdt_schema *s, const json_t *o, void *rec, web_rec_mem *mem, char *msg,
                 size_t len)
{
  msg[0] = '\0';
  return take(s, o, rec, mem, "", msg, len);
}
