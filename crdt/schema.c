/* crdt/schema.c: the generic, table-driven record codec.
 *
 * Field values are reached through offsets into the caller's struct; the
 * accessors below are the only places that cast. Decoding never trusts a key
 * order or count: keys must match the table in strictly ascending order,
 * which also makes any second encoding of the same record impossible. */
#include "schema.h"

#include <assert.h>
#include <stdbool.h>

#include "date.h"
#include "err.h"
#include "mp.h"

#include <sodium.h>

#define AT(rec, f, T) ((T *)((char *)(rec) + (f)->off))
#define CAT(rec, f, T) ((const T *)((const char *)(rec) + (f)->off))

int crdt_field_zero(const crdt_field *f, const void *rec)
{
  switch (f->kind) {
  case CRDT_F_STR:
  case CRDT_F_TEXT:
  case CRDT_F_BIN:
    return CAT(rec, f, bt_str)->len == 0;
  case CRDT_F_UINT:
  case CRDT_F_YESNO:
  case CRDT_F_ENUM:
  case CRDT_F_DATE:
    return *CAT(rec, f, uint32_t) == 0;
  case CRDT_F_TIME:
    return *CAT(rec, f, uint64_t) == 0;
  case CRDT_F_ID:
    return crdt_id_is_zero(CAT(rec, f, crdt_id));
  case CRDT_F_LIST:
    return *(const size_t *)((const char *)rec + f->count_off) == 0;
  }
  return 1;
}

/* Absent on the wire: the zero value, except a required UINT, which is
 * written even when it is 0. */
static bool absent(const void *rec, const crdt_field *f)
{
  return crdt_field_zero(f, rec) && !(f->kind == CRDT_F_UINT && f->req);
}

static int check_field(const void *rec, const crdt_field *f)
{
  uint32_t v;

  switch (f->kind) {
  case CRDT_F_STR:
  case CRDT_F_TEXT:
    if (CAT(rec, f, bt_str)->len > f->max)
      return BT_ETOOBIG;
    return crdt_text_check(*CAT(rec, f, bt_str), f->kind == CRDT_F_TEXT);
  case CRDT_F_BIN:
    return CAT(rec, f, bt_str)->len > f->max ? BT_ETOOBIG : BT_OK;
  case CRDT_F_UINT:
    return *CAT(rec, f, uint32_t) > f->max ? BT_EINVAL : BT_OK;
  case CRDT_F_YESNO:
    return *CAT(rec, f, uint32_t) > CRDT_NO ? BT_EINVAL : BT_OK;
  case CRDT_F_ENUM:
    return *CAT(rec, f, uint32_t) > f->max ? BT_EINVAL : BT_OK;
  case CRDT_F_DATE:
    v = *CAT(rec, f, uint32_t);
    return v != 0 && !crdt_date_valid(v) ? BT_EDATE : BT_OK;
  case CRDT_F_TIME:
  case CRDT_F_ID:
    return BT_OK;
  case CRDT_F_LIST: {
    size_t n = *(const size_t *)((const char *)rec + f->count_off);
    const char *items = *(const char *const *)((const char *)(rec) + f->off);
    int rc;

    if (n > f->max)
      return BT_ETOOBIG;
    for (size_t i = 0; i < n; i++)
      if ((rc = crdt_rec_check(f->sub, items + i * f->sub->size)) != 0)
        return rc;
    return BT_OK;
  }
  }
  return BT_EINVAL;
}

int crdt_rec_check(const crdt_schema *s, const void *rec)
{
  int rc;

  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];

    if (absent(rec, f)) {
      if (f->req)
        return BT_EMISSING;
      continue;
    }
    if ((rc = check_field(rec, f)) != 0)
      return rc;
  }
  return s->check ? s->check(rec) : BT_OK;
}

static int pack_field(msgpack_packer *pk, const void *rec, const crdt_field *f)
{
  int rc = 0;

  switch (f->kind) {
  case CRDT_F_STR:
  case CRDT_F_TEXT:
    return crdt_mp_pack_str(pk, CAT(rec, f, bt_str)->p, CAT(rec, f, bt_str)->len);
  case CRDT_F_UINT:
  case CRDT_F_ENUM:
  case CRDT_F_DATE:
    rc = msgpack_pack_uint32(pk, *CAT(rec, f, uint32_t));
    break;
  case CRDT_F_YESNO:
    rc = *CAT(rec, f, uint32_t) == CRDT_YES ? msgpack_pack_true(pk)
                                             : msgpack_pack_false(pk);
    break;
  case CRDT_F_TIME:
    rc = msgpack_pack_uint64(pk, *CAT(rec, f, uint64_t));
    break;
  case CRDT_F_ID:
    return crdt_mp_pack_bin(pk, CAT(rec, f, crdt_id)->b, CRDT_ID_LEN);
  case CRDT_F_BIN:
    return crdt_mp_pack_bin(pk, CAT(rec, f, bt_str)->p, CAT(rec, f, bt_str)->len);
  case CRDT_F_LIST: {
    size_t n = *(const size_t *)((const char *)rec + f->count_off);
    const char *items = *(const char *const *)((const char *)(rec) + f->off);

    if (msgpack_pack_array(pk, n) != 0)
      return BT_ENOMEM;
    for (size_t i = 0; i < n; i++)
      if ((rc = crdt_rec_pack(pk, f->sub, items + i * f->sub->size)) != 0)
        return rc;
    return BT_OK;
  }
  }
  return rc != 0 ? BT_ENOMEM : BT_OK;
}

int crdt_rec_pack(msgpack_packer *pk, const crdt_schema *s, const void *rec)
{
  size_t n = 0;
  int rc;

  if ((rc = crdt_rec_check(s, rec)) != 0)
    return rc;
  for (size_t i = 0; i < s->nfields; i++)
    n += !absent(rec, &s->fields[i]);
  if (msgpack_pack_map(pk, n) != 0)
    return BT_ENOMEM;
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];

    if (absent(rec, f))
      continue;
    if (msgpack_pack_uint8(pk, f->key) != 0)
      return BT_ENOMEM;
    if ((rc = pack_field(pk, rec, f)) != 0)
      return rc;
  }
  return BT_OK;
}

static int unpack_list(const crdt_field *f, const msgpack_object *o,
                       msgpack_zone *zone, void *rec)
{
  const msgpack_object *items;
  size_t n;
  char *arr;
  int rc;

  if ((rc = crdt_mp_array(o, 0, f->max, &items, &n)) != 0)
    return rc;
  if (n == 0)
    return BT_ENONCANON; /* an empty list is written as an absent field */
  if ((arr = msgpack_zone_malloc(zone, n * f->sub->size)) == NULL)
    return BT_ENOMEM;
  /* Linked before it is filled, so crdt_rec_wipe reaches it even when a
   * later item fails. */
  memset(arr, 0, n * f->sub->size);
  *AT(rec, f, char *) = arr;
  *(size_t *)((char *)rec + f->count_off) = n;
  for (size_t i = 0; i < n; i++)
    if ((rc = crdt_rec_unpack(f->sub, &items[i], zone, arr + i * f->sub->size)) != 0)
      return rc;
  return BT_OK;
}

static int unpack_field(const crdt_field *f, const msgpack_object *o,
                        msgpack_zone *zone, void *rec)
{
  uint64_t u;
  int rc;

  switch (f->kind) {
  case CRDT_F_STR:
  case CRDT_F_TEXT:
    return crdt_mp_str(o, f->max, AT(rec, f, bt_str));
  case CRDT_F_UINT:
  case CRDT_F_ENUM:
  case CRDT_F_DATE:
    if ((rc = crdt_mp_uint(o, &u)) != 0)
      return rc;
    if (u > UINT32_MAX)
      return BT_EINVAL;
    *AT(rec, f, uint32_t) = (uint32_t)u;
    return BT_OK;
  case CRDT_F_YESNO:
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
      return BT_ETYPE;
    *AT(rec, f, uint32_t) = o->via.boolean ? CRDT_YES : CRDT_NO;
    return BT_OK;
  case CRDT_F_TIME:
    return crdt_mp_uint(o, AT(rec, f, uint64_t));
  case CRDT_F_ID:
    return crdt_mp_bin(o, CRDT_ID_LEN, AT(rec, f, crdt_id)->b);
  case CRDT_F_BIN:
    if (o->type != MSGPACK_OBJECT_BIN)
      return BT_ETYPE;
    if (o->via.bin.size > f->max)
      return BT_ETOOBIG;
    *AT(rec, f, bt_str) = (bt_str){o->via.bin.ptr, o->via.bin.size};
    return BT_OK;
  case CRDT_F_LIST:
    return unpack_list(f, o, zone, rec);
  }
  return BT_EINVAL;
}

int crdt_rec_unpack(const crdt_schema *s, const msgpack_object *o,
                    msgpack_zone *zone, void *rec)
{
  uint64_t seen = 0; /* fields present, by index (tables have < 64) */
  size_t fi = 0;
  int rc;

  assert(s->nfields < 64);
  memset(rec, 0, s->size);
  if (o->type != MSGPACK_OBJECT_MAP)
    return BT_ETYPE;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    uint64_t key;

    if ((rc = crdt_mp_uint(&kv->key, &key)) != 0)
      return rc;
    while (fi < s->nfields && s->fields[fi].key < key)
      fi++;
    if (fi == s->nfields || s->fields[fi].key != key)
      return BT_EINVAL; /* unknown, repeated or out-of-order key */
    if ((rc = unpack_field(&s->fields[fi], &kv->val, zone, rec)) != 0)
      return rc;
    seen |= UINT64_C(1) << fi;
    fi++;
  }
  /* A required number may legitimately be 0, so "absent" cannot be read
   * off the value: check the keys themselves. */
  for (size_t k = 0; k < s->nfields; k++)
    if (s->fields[k].req && !(seen & UINT64_C(1) << k))
      return BT_EMISSING;
  return crdt_rec_check(s, rec);
}

const crdt_field *crdt_schema_field(const crdt_schema *s, const char *name)
{
  for (size_t i = 0; i < s->nfields; i++)
    if (strcmp(s->fields[i].name, name) == 0)
      return &s->fields[i];
  return NULL;
}

void crdt_rec_wipe(const crdt_schema *s, void *rec)
{
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    size_t n;
    char *items;

    if (f->kind != CRDT_F_LIST)
      continue;
    n = *(size_t *)((char *)rec + f->count_off);
    items = *AT(rec, f, char *);
    for (size_t k = 0; items && k < n; k++)
      crdt_rec_wipe(f->sub, items + k * f->sub->size);
    if (items)
      sodium_memzero(items, n * f->sub->size);
  }
  sodium_memzero(rec, s->size);
}

/* UTF-8 as RFC 3629 has it (shortest form, no surrogates, at most
 * U+10FFFF), without C0/C1 controls or DEL: names and notes end up on
 * terminals and in JSON, where those are escapes. Free text may hold
 * newlines and tabs. */
int crdt_text_check(bt_str t, int multiline)
{
  const uint8_t *p = (const uint8_t *)t.p, *end = p + t.len;

  while (p < end) {
    uint32_t c = *p++, min;
    int more;

    if (c < 0x80) {
      if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
        return BT_EINVAL;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      more = 1, c &= 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
      more = 2, c &= 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
      more = 3, c &= 0x07, min = 0x10000;
    else
      return BT_EINVAL;
    if (end - p < more)
      return BT_EINVAL;
    for (int k = 0; k < more; k++, p++) {
      if ((*p & 0xc0) != 0x80)
        return BT_EINVAL;
      c = c << 6 | (*p & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
      return BT_EINVAL;
  }
  return BT_OK;
}
