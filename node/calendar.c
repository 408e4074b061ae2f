/* node/calendar.c: the deadline settings in the store (node/calendar.h).
 *
 * Meta table keys (docs/store.md):
 *   cal/rule              day type (1) · count (1)
 *   cal/terms             n × (first (4) · last (4)), little-endian yyyymmdd
 *   cal/hol/ · date (4)   big-endian yyyymmdd (sorted by date) -> title */
#define _POSIX_C_SOURCE 200809L
#include "node/calendar.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/schema.h"
#include "node/store_int.h"

#define K_RULE "cal/rule"
#define K_TERMS "cal/terms"
#define K_HOL "cal/hol/"
#define K_HOL_LEN (sizeof(K_HOL) - 1)

static int get(node_store *s, MDB_txn *t, const char *k, MDB_val *v)
{
  MDB_val key = {strlen(k), (void *)k};
  int rc = mdb_get(t, s->db[DB_META], &key, v);

  return rc == MDB_NOTFOUND ? BT_ENOTFOUND : node__err(rc);
}

static int put(node_store *s, MDB_txn *t, const void *k, size_t klen, const void *p, size_t len)
{
  MDB_val key = {klen, (void *)k}, v = {len, (void *)p};

  return node__err(mdb_put(t, s->db[DB_META], &key, &v, 0));
}

static uint32_t rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static int rule_in(node_store *s, MDB_txn *t, crdt_calendar_rule *out)
{
  MDB_val v;
  int rc = get(s, t, K_RULE, &v);

  if (rc == BT_ENOTFOUND) {
    *out = CRDT_CALENDAR_RULE_DEFAULT;
    return BT_OK;
  }
  if (rc != 0)
    return rc;
  if (v.mv_size != 2)
    return BT_ECORRUPT;
  out->days = (crdt_calendar_days)((const uint8_t *)v.mv_data)[0];
  out->count = ((const uint8_t *)v.mv_data)[1];
  return crdt_calendar_rule_check(*out) == BT_OK ? BT_OK : BT_ECORRUPT;
}

/* The stored terms into cal (and their number into *n). */
static int terms_in(node_store *s, MDB_txn *t, crdt_calendar *cal, size_t *n)
{
  crdt_calendar_term terms[CRDT_CALENDAR_TERMS_MAX];
  const uint8_t *p;
  MDB_val v;
  int rc = get(s, t, K_TERMS, &v);

  *n = 0;
  if (rc == BT_ENOTFOUND)
    return BT_OK;
  if (rc != 0)
    return rc;
  if (v.mv_size % 8 != 0 || v.mv_size / 8 > CRDT_CALENDAR_TERMS_MAX)
    return BT_ECORRUPT;
  p = v.mv_data;
  for (size_t i = 0; i < v.mv_size / 8; i++)
    terms[i] = (crdt_calendar_term){rd32(p + 8 * i), rd32(p + 8 * i + 4)};
  *n = v.mv_size / 8;
  return crdt_calendar_set_terms(cal, terms, *n) == BT_OK ? BT_OK : BT_ECORRUPT;
}

static int holidays_in(node_store *s, MDB_txn *t, crdt_calendar *cal)
{
  MDB_val key = {K_HOL_LEN, K_HOL}, v;
  MDB_cursor *c;
  int rc, mrc;

  if ((mrc = mdb_cursor_open(t, s->db[DB_META], &c)) != 0)
    return node__err(mrc);
  rc = BT_OK;
  mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
  while (mrc == 0 && key.mv_size == K_HOL_LEN + 4 && memcmp(key.mv_data, K_HOL, K_HOL_LEN) == 0) {
    const uint8_t *d = (const uint8_t *)key.mv_data + K_HOL_LEN;
    uint32_t ymd = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    if (crdt_calendar_add_holiday(cal, ymd, (bt_str){v.mv_data, v.mv_size}) != BT_OK) {
      rc = BT_ECORRUPT;
      break;
    }
    mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = node__err(mrc);
  return rc;
}

static int load_txn(node_store *s, MDB_txn *t, crdt_calendar **out, size_t *nterms)
{
  crdt_calendar *cal;
  int rc;

  if ((rc = crdt_calendar_new(&cal)) != 0)
    return rc;
  if ((rc = holidays_in(s, t, cal)) != 0 || (rc = terms_in(s, t, cal, nterms)) != 0) {
    crdt_calendar_free(cal);
    return rc;
  }
  *out = cal;
  return BT_OK;
}

int node_calendar_load(node_store *s, crdt_calendar **out)
{
  MDB_txn *t;
  size_t n;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = load_txn(s, t, out, &n);
  mdb_txn_abort(t);
  return rc;
}

int node_calendar_rule(node_store *s, crdt_calendar_rule *out)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = rule_in(s, t, out);
  mdb_txn_abort(t);
  return rc;
}

int node_calendar_set_rule(node_store *s, crdt_calendar_rule rule)
{
  crdt_calendar *cal = NULL;
  uint8_t v[2];
  MDB_txn *t;
  size_t n = 0;
  int rc;

  if (crdt_calendar_rule_check(rule) != BT_OK)
    return BT_EINVAL;
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = load_txn(s, t, &cal, &n)) == 0) {
    if (rule.days == CRDT_CALENDAR_SCHOOL && n == 0) {
      rc = BT_ETERMS; /* school days need the terms first */
    } else {
      v[0] = (uint8_t)rule.days;
      v[1] = (uint8_t)rule.count;
      rc = put(s, t, K_RULE, strlen(K_RULE), v, sizeof(v));
    }
  }
  crdt_calendar_free(cal);
  return node__txn_end(t, rc);
}

int node_calendar_set_terms(node_store *s, const crdt_calendar_term *terms, size_t n)
{
  crdt_calendar *cal = NULL;
  crdt_calendar_rule rule;
  const crdt_calendar_term *sorted;
  uint8_t *v = NULL;
  MDB_txn *t;
  size_t had;
  int rc;

  if ((rc = crdt_calendar_new(&cal)) != 0)
    return rc;
  if ((rc = crdt_calendar_set_terms(cal, terms, n)) != 0) { /* checked first */
    crdt_calendar_free(cal);
    return rc;
  }
  n = crdt_calendar_terms(cal, &sorted);
  if ((v = malloc(8 * n + 1)) == NULL) {
    crdt_calendar_free(cal);
    return BT_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    wr32(v + 8 * i, sorted[i].first);
    wr32(v + 8 * i + 4, sorted[i].last);
  }
  crdt_calendar_free(cal);
  cal = NULL;
  if ((rc = node__txn(s, 0, &t)) != 0) {
    free(v);
    return rc;
  }
  if ((rc = rule_in(s, t, &rule)) == 0 && (rc = load_txn(s, t, &cal, &had)) == 0) {
    if (n == 0 && rule.days == CRDT_CALENDAR_SCHOOL)
      rc = BT_ETERMS;
    else if (n == 0) {
      MDB_val key = {strlen(K_TERMS), K_TERMS};
      int mrc = mdb_del(t, s->db[DB_META], &key, NULL);
      rc = mrc == MDB_NOTFOUND ? BT_OK : node__err(mrc);
    } else {
      rc = put(s, t, K_TERMS, strlen(K_TERMS), v, 8 * n);
    }
  }
  crdt_calendar_free(cal);
  free(v);
  return node__txn_end(t, rc);
}

/* ---- GOV.UK's bank-holidays.json ---------------------------------------------- */

typedef struct {
  uint32_t ymd;
  const char *title;
  size_t len;
} event;

/* The events of the england-and-wales division, checked for shape. */
static int events_of(json_t *root, json_t **events)
{
  json_t *div, *ev, *name;

  if (!json_is_object(root) || (div = json_object_get(root, "england-and-wales")) == NULL ||
      !json_is_object(div))
    return BT_EPROTO;
  if ((name = json_object_get(div, "division")) != NULL && !json_is_string(name))
    return BT_EPROTO;
  if ((ev = json_object_get(div, "events")) == NULL || !json_is_array(ev))
    return BT_EPROTO;
  *events = ev;
  return BT_OK;
}

int node_calendar_import(node_store *s, const uint8_t *json, size_t len, size_t *added)
{
  crdt_calendar *cal = NULL;
  json_error_t jerr;
  json_t *root, *events = NULL;
  event *ev = NULL;
  size_t n = 0, fresh = 0;
  MDB_txn *t = NULL;
  int rc;

  *added = 0;
  if (len > NODE_CALENDAR_IMPORT_MAX)
    return BT_ETOOBIG;
  if ((root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
    return BT_EPROTO;
  if ((rc = events_of(root, &events)) != 0)
    goto out;
  n = json_array_size(events);
  if (n > CRDT_CALENDAR_BUILTIN_COUNT + CRDT_CALENDAR_ADDED_MAX + 1024) {
    rc = BT_ETOOBIG;
    goto out;
  }
  if ((ev = calloc(n ? n : 1, sizeof(*ev))) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(events, i), *d, *ti;
    if (!json_is_object(e) || (d = json_object_get(e, "date")) == NULL || !json_is_string(d) ||
        (ti = json_object_get(e, "title")) == NULL || !json_is_string(ti)) {
      rc = BT_EPROTO;
      goto out;
    }
    if ((rc = crdt_date_parse(json_string_value(d), json_string_length(d), &ev[i].ymd)) != 0)
      goto out;
    ev[i].title = json_string_value(ti);
    ev[i].len = json_string_length(ti);
    /* every title, also of dates already known: a bad file stores nothing */
    if (ev[i].len > CRDT_CALENDAR_TITLE_MAX) {
      rc = BT_ETOOBIG;
      goto out;
    }
    if (ev[i].len > 0 && crdt_text_check((bt_str){ev[i].title, ev[i].len}, 0) != BT_OK) {
      rc = BT_EINVAL;
      goto out;
    }
  }
  /* Checked against what is stored, in the write transaction: all of it or
   * nothing. */
  if ((rc = node__txn(s, 0, &t)) != 0)
    goto out;
  if ((rc = load_txn(s, t, &cal, &(size_t){0})) != 0)
    goto out;
  for (size_t i = 0; i < n && rc == 0; i++) {
    uint8_t k[K_HOL_LEN + 4];
    if (crdt_calendar_holiday(cal, ev[i].ymd, NULL))
      continue;
    if ((rc = crdt_calendar_add_holiday(cal, ev[i].ymd, (bt_str){ev[i].title, ev[i].len})) != 0)
      break;
    memcpy(k, K_HOL, K_HOL_LEN);
    for (int b = 0; b < 4; b++)
      k[K_HOL_LEN + b] = (uint8_t)(ev[i].ymd >> (24 - 8 * b));
    rc = put(s, t, k, sizeof(k), ev[i].title, ev[i].len);
    fresh++;
  }
  rc = node__txn_end(t, rc);
  t = NULL;
  if (rc == 0)
    *added = fresh;
out:
  if (t)
    mdb_txn_abort(t);
  crdt_calendar_free(cal);
  free(ev);
  json_decref(root);
  return rc;
}
