/* web/api_entries.c: case-file writes: open a file, add an entry, change or
 * resolve the front sheet (docs/web.md "API"; web/api.h).
 *
 * Each call checks the whole body first (every field by the schema tables,
 * crdt/schema.h, or the front sheet's own rules, crdt_fs_check), then lets
 * node/ decide the role, then writes one op. Defaults follow the CLI
 * (cli/record.c, cli/file.c): an entry's time is now and its author the
 * signed-in user where the record names one. A reference to another entry
 * must name an entry of this file the user can see, of the type the CLI
 * asks for (a review's concern is a concern, a done marker's action an
 * action). A front-sheet write has the file's heads as parents (node/), so
 * a resolve that has seen every value of a conflict replaces them all. */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/upn.h"
#include "node/files.h"
#include "web/rec.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

#define SEEN_MAX 64 /* write ids a resolve may name */

/* ---- front-sheet values -------------------------------------------------------- */

/* The words of the choice fields, for messages only: crdt_fs_check decides. */
static const struct {
  uint32_t field;
  const char *words;
} CHOICES[] = {
  {CRDT_FS_GENDER, "female, male, other, unknown"},
  {CRDT_FS_PLAN, "none, eh, cin, cp, lac"},
  {CRDT_FS_RATING, "none, red, amber, blue, yellow"},
  {CRDT_FS_STATUS, "open, closed"},
};

/* Front-sheet fields a body names: given[f] set, v[f] the value ("" clears). */
typedef struct {
  bt_str v[CRDT_FS_END];
  uint8_t given[CRDT_FS_END];
  char upn[CRDT_UPN_LEN + 1]; /* the UPN folded to upper case, as the CLI does */
} front;

static void fs_names(char *buf, size_t len)
{
  size_t o = 0;

  buf[0] = '\0';
  for (uint32_t f = 1; f < CRDT_FS_END && o < len; f++)
    o += (size_t)snprintf(buf + o, len - o, "%s%s", f > 1 ? ", " : "", crdt_fs_name(f));
}

/* Why a UPN is refused, as cli_upn_arg says it (the letter it should have is
 * computed from the digits; the UPN itself is never echoed). */
static int upn_fail(const char *up, size_t n, json_t **out)
{
  char msg[200], want;

  if (n != CRDT_UPN_LEN)
    return fail(out, 400, "upn: a UPN is 13 characters: a check letter, the LA number (3 "
                          "digits), the establishment (4), the year (2) and a serial (3)");
  if ((want = crdt_upn_check_letter(up, n)) == 0)
    return fail(out, 400, "upn: after the check letter a UPN has 11 digits, then a digit or "
                          "(temporary UPN) a letter");
  snprintf(msg, sizeof msg, "upn: the check letter is wrong: for these digits it is %c (was "
                            "the UPN copied correctly?)", want);
  return fail(out, 400, msg);
}

/* One value for field f (v its text): 0, or 400 with *out. Clearing a
 * required field (BT_EMISSING) is left to the caller. */
static int fs_value(uint32_t f, bt_str v, front *fr, json_t **out)
{
  char msg[300];
  int rc;

  if (v.len > CRDT_STR_MAX || crdt_text_check(v, 0) != BT_OK) {
    snprintf(msg, sizeof msg, "%s must be one line of text, at most %d bytes; nothing was "
                              "recorded", crdt_fs_name(f), CRDT_STR_MAX);
    return fail(out, 400, msg);
  }
  if (f == CRDT_FS_UPN && v.len > 0) {
    if (v.len > CRDT_UPN_LEN)
      return upn_fail(v.p, v.len, out);
    for (size_t i = 0; i < v.len; i++)
      fr->upn[i] = (char)toupper((unsigned char)v.p[i]);
    fr->upn[v.len] = '\0';
    v = (bt_str){fr->upn, v.len};
    if (crdt_upn_check(v.p, v.len) != BT_OK)
      return upn_fail(v.p, v.len, out);
  }
  rc = crdt_fs_check(f, v);
  if (rc == BT_EDATE || (rc != BT_OK && rc != BT_EMISSING &&
                         (f == CRDT_FS_DOB || f == CRDT_FS_OPENED || f == CRDT_FS_CLOSED))) {
    snprintf(msg, sizeof msg, "%s must be a date, YYYY-MM-DD", crdt_fs_name(f));
    return fail(out, 400, msg);
  }
  if (rc != BT_OK && rc != BT_EMISSING) {
    snprintf(msg, sizeof msg, "%s is not a value it takes", crdt_fs_name(f));
    for (size_t k = 0; k < sizeof CHOICES / sizeof CHOICES[0]; k++)
      if (CHOICES[k].field == f)
        snprintf(msg, sizeof msg, "%s must be one of: %s", crdt_fs_name(f), CHOICES[k].words);
    return fail(out, 400, msg);
  }
  fr->v[f] = v;
  fr->given[f] = 1;
  return 0;
}

/* Every key of o as a front-sheet field whose value is text (null or "":
 * cleared). 0, or 400 with *out naming the fields. */
static int front_from_json(const json_t *o, front *fr, json_t **out)
{
  char words[200], names[400], msg[700];
  size_t n = 0;
  const char *key;
  json_t *j;
  int st;

  memset(fr, 0, sizeof *fr);
  words[0] = '\0';
  json_object_foreach((json_t *)o, key, j)
    if (crdt_fs_lookup(key) == 0 && n < sizeof words)
      n += (size_t)snprintf(words + n, sizeof words - n, "%s%s", n ? ", " : "",
                            web_rec_key_word(key));
  if (n) {
    fs_names(names, sizeof names);
    snprintf(msg, sizeof msg, "no such front-sheet field: %s; the fields are: %s", words,
             names);
    return fail(out, 400, msg);
  }
  json_object_foreach((json_t *)o, key, j) {
    uint32_t f = crdt_fs_lookup(key);
    bt_str v = BT_STR("");
    if (!json_is_null(j) && !json_is_string(j)) {
      snprintf(msg, sizeof msg, "%s must be text (or null); nothing was recorded", key);
      return fail(out, 400, msg);
    }
    if (json_is_string(j))
      v = (bt_str){json_string_value(j), json_string_length(j)};
    if ((st = fs_value(f, v, fr, out)) != 0)
      return st;
  }
  return 0;
}

/* The values given, ascending by field, into v (CRDT_FS_END of them). */
static size_t front_values(const front *fr, crdt_fieldval *v)
{
  size_t n = 0;

  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    if (fr->given[f])
      v[n++] = (crdt_fieldval){f, fr->v[f]};
  return n;
}

/* A required field (names, date of birth) given empty: 400. */
static int cleared_required(const front *fr, json_t **out)
{
  char msg[160];

  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    if (fr->given[f] && fr->v[f].len == 0 && crdt_fs_check(f, fr->v[f]) == BT_EMISSING) {
      snprintf(msg, sizeof msg, "%s cannot be cleared; nothing was recorded", crdt_fs_name(f));
      return fail(out, 400, msg);
    }
  return 0;
}

/* ---- POST /api/files ---------------------------------------------------------- */

/* Whether a file here already has this UPN (any of its values): 0 and
 * *hit, else node/'s error. Through the audited view, like every read. */
typedef struct {
  bt_str upn;
  uint8_t *hit;
  int *found;
} upn_search;

static int upn_in(void *ctx, const uint8_t *file, const node_view *v)
{
  upn_search *u = ctx;

  for (size_t k = 0; v->file && k < v->file->fields[CRDT_FS_UPN].n && !*u->found; k++)
    if (bt_str_eq(v->file->fields[CRDT_FS_UPN].v[k].value, u->upn)) {
      memcpy(u->hit, file, CRDT_FILE_LEN);
      *u->found = 1;
    }
  return BT_OK;
}

/* Whether a file held here has this UPN already (as `baton file open`
 * checks): one audited read of the list. */
static int upn_taken(const web_call *c, bt_str upn, uint8_t hit[CRDT_FILE_LEN], int *found)
{
  upn_search u = {upn, hit, found};
  uint8_t *ids = NULL;
  size_t n = 0;
  int rc;

  *found = 0;
  if ((rc = node_files_as(c->s, c->role, &ids, &n)) != BT_OK)
    return rc;
  rc = node_casefiles_as(c->s, c->user, c->role, ids, n, "UPN check", upn_in, &u);
  free(ids);
  return rc;
}

static int create_file(const web_call *c, const front *fr, json_t **out)
{
  char today[11], hex[2 * CRDT_FILE_LEN + 1];
  crdt_fieldval v[CRDT_FS_END];
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  uint8_t file[CRDT_FILE_LEN];
  front all = *fr;
  crdt_id op;
  int rc, found;

  /* Opened today and open, as `baton file open` does, unless the body says. */
  crdt_date_format(crdt_date_from_ms(c->now_ms), today);
  if (all.v[CRDT_FS_STATUS].len == 0)
    all.v[CRDT_FS_STATUS] = BT_STR("open"), all.given[CRDT_FS_STATUS] = 1;
  if (all.v[CRDT_FS_OPENED].len == 0)
    all.v[CRDT_FS_OPENED] = bt_strz(today), all.given[CRDT_FS_OPENED] = 1;
  if (all.v[CRDT_FS_UPN].len) {
    if ((rc = upn_taken(c, all.v[CRDT_FS_UPN], file, &found)) != BT_OK)
      return node_fail(out, rc);
    if (found) {
      *out = json_pack("{s:s, s:s}", "error", "a case file for this UPN is here already; "
                       "nothing was recorded", "file",
                       web_api_hexstr(file, CRDT_FILE_LEN, hex));
      return 409;
    }
  }
  b.u.fields = (crdt_fields){v, front_values(&all, v)};
  if ((rc = node_file_create_as(c->s, c->user, c->role, &b, file, &op)) != BT_OK)
    return node_fail(out, rc);
  *out = json_pack("{s:s}", "id", web_api_hexstr(file, CRDT_FILE_LEN, hex));
  return 201;
}

static int open_file(const web_call *c, json_t **out)
{
  static const uint32_t NEED[] = {CRDT_FS_GIVEN, CRDT_FS_FAMILY, CRDT_FS_DOB};
  char names[100], msg[200];
  size_t o = 0;
  json_t *j;
  front fr;
  int st;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if ((st = front_from_json(j, &fr, out)) != 0)
    goto done;
  names[0] = '\0';
  for (size_t k = 0; k < sizeof NEED / sizeof NEED[0]; k++)
    if (fr.v[NEED[k]].len == 0)
      o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "",
                            crdt_fs_name(NEED[k]));
  if (o) {
    snprintf(msg, sizeof msg, "required, and not given: %s; nothing was recorded", names);
    st = fail(out, 400, msg);
    goto done;
  }
  st = create_file(c, &fr, out);
done:
  json_decref(j);
  return st;
}

/* ---- POST /api/files/ID/entries ------------------------------------------------- */

/* The entry types this call writes (their schema names are the "type"). */
static const uint32_t TYPES[] = {CRDT_OP_REVIEW, CRDT_OP_CHRONO, CRDT_OP_BODYMAP,
                                 CRDT_OP_REFLECT, CRDT_OP_ACTION, CRDT_OP_ACTION_DONE,
                                 CRDT_OP_CORRECTION};

/* References that must name an entry of one type (cli/record.c); any other
 * reference may name any entry of the file. */
static const struct {
  uint32_t type;
  const char *field;
  uint32_t want;
} WANT[] = {
  {CRDT_OP_REVIEW, "concern", CRDT_OP_CONCERN},
  {CRDT_OP_BODYMAP, "concern", CRDT_OP_CONCERN},
  {CRDT_OP_ACTION_DONE, "action", CRDT_OP_ACTION},
};

static uint32_t want_of(uint32_t type, const char *field)
{
  for (size_t k = 0; k < sizeof WANT / sizeof WANT[0]; k++)
    if (WANT[k].type == type && strcmp(WANT[k].field, field) == 0)
      return WANT[k].want;
  return 0;
}

/* Defaults, as the CLI fills them; who holds "USER (ROLE)" while b lives. */
static void defaults(crdt_body *b, const web_call *c, char *who, size_t len)
{
  const char *role = node_role_name(c->role);

  snprintf(who, len, "%s (%s)", c->user, role);
#define SETSTR(x, v) do { if ((x).len == 0) (x) = bt_strz(v); } while (0)
#define SETNUM(x, v) do { if ((x) == 0) (x) = (v); } while (0)
  switch (b->type) {
  case CRDT_OP_REVIEW:
    SETNUM(b->u.review.received_at, c->now_ms);
    SETSTR(b->u.review.reviewer, c->user);
    break;
  case CRDT_OP_CHRONO:
    SETNUM(b->u.chrono.event_at, c->now_ms);
    SETSTR(b->u.chrono.recorded_by, who);
    break;
  case CRDT_OP_BODYMAP:
    SETNUM(b->u.bodymap.observed_at, c->now_ms);
    SETSTR(b->u.bodymap.observer_name, c->user);
    SETSTR(b->u.bodymap.observer_role, role);
    break;
  case CRDT_OP_ACTION_DONE:
    SETNUM(b->u.done.done_at, c->now_ms);
    break;
  default:
    break;
  }
#undef SETSTR
#undef SETNUM
}

static const char *a_an(const char *word)
{
  return strchr("aeiou", word[0]) ? "an" : "a";
}

/* Every reference of the record names an entry of the file the user sees,
 * of the type wanted: 0, or the status with *out. */
static int check_refs(const web_call *c, const uint8_t *file, const crdt_body *b, json_t **out)
{
  const crdt_schema *sc = crdt_body_schema(b->type);
  char msg[200];
  node_view v;
  int rc, st = 0, any = 0;

  for (size_t i = 0; i < sc->nfields; i++)
    any |= sc->fields[i].kind == CRDT_F_ID && !crdt_field_zero(&sc->fields[i], &b->u);
  if (!any)
    return 0;
  if ((rc = node_casefile_as(c->s, c->user, c->role, file, &v)) != BT_OK)
    return node_fail(out, rc);
  for (size_t i = 0; i < sc->nfields && st == 0; i++) {
    const crdt_field *f = &sc->fields[i];
    const crdt_id *id = (const crdt_id *)((const char *)&b->u + f->off);
    const crdt_cf_entry *hit = NULL;
    uint32_t want = want_of(b->type, f->name);
    if (f->kind != CRDT_F_ID || crdt_id_is_zero(id))
      continue;
    for (size_t k = 0; k < v.nentries && !hit; k++)
      if (crdt_id_cmp(&v.entries[k]->op->id, id) == 0)
        hit = v.entries[k];
    if (hit == NULL)
      snprintf(msg, sizeof msg, "%s: no entry with that id in this file; nothing was "
                                "recorded", f->name);
    else if (want && hit->body->type != want)
      snprintf(msg, sizeof msg, "%s: that entry is %s %s, not %s %s; nothing was recorded",
               f->name, a_an(crdt_optype_name(hit->body->type)),
               crdt_optype_name(hit->body->type), a_an(crdt_optype_name(want)),
               crdt_optype_name(want));
    else
      continue;
    st = fail(out, 400, msg);
  }
  node_view_free(&v);
  return st;
}

/* The type named by the body (and taken out of it): 0, or 400. */
static int entry_type(json_t *j, uint32_t *type, json_t **out)
{
  char msg[300];
  const char *t = NULL;
  size_t o;

  if (web_api_str(j, "type", &t) == 1)
    for (size_t k = 0; k < sizeof TYPES / sizeof TYPES[0]; k++)
      if (strcmp(t, crdt_optype_name(TYPES[k])) == 0) {
        *type = TYPES[k];
        json_object_del(j, "type");
        return 0;
      }
  o = (size_t)snprintf(msg, sizeof msg, "type must be one of:");
  for (size_t k = 0; k < sizeof TYPES / sizeof TYPES[0] && o < sizeof msg; k++)
    o += (size_t)snprintf(msg + o, sizeof msg - o, "%s %s", k ? "," : "",
                          crdt_optype_name(TYPES[k]));
  if (o < sizeof msg)
    snprintf(msg + o, sizeof msg - o, "; nothing was recorded");
  return fail(out, 400, msg);
}

static int add_entry(const web_call *c, const uint8_t *file, json_t **out)
{
  char msg[900], names[400], who[CRDT_USER_MAX + 32], id[2 * CRDT_ID_LEN + 1];
  const crdt_schema *sc;
  web_rec_mem mem = {0};
  crdt_body b = {.known = 1};
  json_t *j;
  crdt_id op;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if ((st = entry_type(j, &b.type, out)) != 0)
    goto done;
  sc = crdt_body_schema(b.type);
  if ((rc = web_rec_take(sc, j, &b.u, &mem, msg, sizeof msg)) != BT_OK) {
    st = rc == BT_ENOMEM ? fail(out, 500, "out of memory") : fail(out, 400, msg);
    goto done;
  }
  defaults(&b, c, who, sizeof who);
  if (web_rec_missing(sc, &b.u, names, sizeof names) > 0) {
    snprintf(msg, sizeof msg, "required, and not given: %s; nothing was recorded", names);
    st = fail(out, 400, msg);
    goto done;
  }
  if (crdt_rec_check(sc, &b.u) != BT_OK) {
    snprintf(msg, sizeof msg, "the %s is not valid; nothing was recorded", sc->name);
    st = fail(out, 400, msg);
    goto done;
  }
  /* node/ decides the role before the file is read for the references. */
  if (!node_may(c->role, node_action_for(b.type))) {
    st = node_fail(out, BT_EDENIED);
    goto done;
  }
  if ((st = check_refs(c, file, &b, out)) != 0)
    goto done;
  if ((rc = node_author_as(c->s, c->user, c->role, file, &b, &op)) != BT_OK) {
    st = node_fail(out, rc);
    goto done;
  }
  *out = json_pack("{s:s, s:s}", "id", web_api_hexstr(op.b, CRDT_ID_LEN, id), "type",
                   sc->name);
  st = 201;
done:
  web_rec_mem_free(&mem);
  json_decref(j);
  return st;
}

/* ---- POST /api/files/ID/front and /resolve ------------------------------------- */

static int write_front(const web_call *c, const uint8_t *file, const front *fr, json_t **out)
{
  char id[2 * CRDT_ID_LEN + 1];
  crdt_fieldval v[CRDT_FS_END];
  crdt_body b = {.type = CRDT_OP_FIELD_SET, .known = 1};
  crdt_id op;
  int rc;

  b.u.fields = (crdt_fields){v, front_values(fr, v)};
  if ((rc = node_author_as(c->s, c->user, c->role, file, &b, &op)) != BT_OK)
    return node_fail(out, rc);
  *out = json_pack("{s:s}", "id", web_api_hexstr(op.b, CRDT_ID_LEN, id));
  return 201;
}

static int set_front(const web_call *c, const uint8_t *file, json_t **out)
{
  json_t *j;
  front fr;
  int st;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if (json_object_size(j) == 0)
    st = fail(out, 400, "send at least one front-sheet field {\"field\": value, ...}");
  else if ((st = front_from_json(j, &fr, out)) == 0 && (st = cleared_required(&fr, out)) == 0)
    st = write_front(c, file, &fr, out);
  json_decref(j);
  return st;
}

/* The resolve body: field, value, seen (optional write ids: *nseen of them,
 * or SIZE_MAX when not given). 0, or 400. */
static int resolve_body(json_t *j, front *fr, uint32_t *field, crdt_id *seen, size_t *nseen,
                        json_t **out)
{
  char names[400], msg[600];
  const char *key, *name = NULL;
  json_t *v, *one, *s;
  size_t i;
  int st;

  json_object_foreach(j, key, v)
    if (strcmp(key, "field") != 0 && strcmp(key, "value") != 0 && strcmp(key, "seen") != 0) {
      snprintf(msg, sizeof msg, "no such field in a resolve: %s; its fields are: field, "
                                "value, seen", web_rec_key_word(key));
      return fail(out, 400, msg);
    }
  if (web_api_str(j, "field", &name) != 1 || (*field = crdt_fs_lookup(name)) == 0) {
    fs_names(names, sizeof names);
    snprintf(msg, sizeof msg, "field must be a front-sheet field: one of %s", names);
    return fail(out, 400, msg);
  }
  if (json_object_get(j, "value") == NULL)
    return fail(out, 400, "value is required (\"\" or null clears the field)");
  if ((one = json_object()) == NULL)
    return fail(out, 500, "out of memory");
  json_object_set(one, name, json_object_get(j, "value"));
  st = front_from_json(one, fr, out);
  json_decref(one); /* fr's text borrows from j's value, still held */
  if (st != 0 || (st = cleared_required(fr, out)) != 0)
    return st;
  *nseen = SIZE_MAX;
  s = json_object_get(j, "seen");
  if (s == NULL || json_is_null(s))
    return 0;
  if (!json_is_array(s) || json_array_size(s) > SEEN_MAX)
    return fail(out, 400, "seen must be a list of at most 64 write ids (64 hex digits each)");
  json_array_foreach(s, i, v) {
    const char *h = json_string_value(v);
    if (h == NULL || !web_api_hex(h, json_string_length(v), seen[i].b, CRDT_ID_LEN))
      return fail(out, 400, "seen must be a list of at most 64 write ids (64 hex digits each)");
  }
  *nseen = json_array_size(s);
  return 0;
}

/* The register's state: 0 when field is in conflict and every value's
 * write is in seen (unless nseen is SIZE_MAX: not given), else 409. */
static int still_in_conflict(const crdt_cf_register *r, uint32_t field, const crdt_id *seen,
                             size_t nseen, json_t **out)
{
  char msg[200];

  if (!r->conflict) {
    snprintf(msg, sizeof msg, "%s is not in conflict: nothing to resolve (POST "
                              "/api/files/ID/front sets it); nothing was recorded",
             crdt_fs_name(field));
    return fail(out, 409, msg);
  }
  for (size_t k = 0; nseen != SIZE_MAX && k < r->n; k++) {
    size_t i = 0;
    while (i < nseen && crdt_id_cmp(&seen[i], &r->v[k].id) != 0)
      i++;
    if (i == nseen) {
      snprintf(msg, sizeof msg, "%s has a value written since the ones you saw: look at the "
                                "file again; nothing was recorded", crdt_fs_name(field));
      return fail(out, 409, msg);
    }
  }
  return 0;
}

static int resolve(const web_call *c, const uint8_t *file, json_t **out)
{
  crdt_id seen[SEEN_MAX];
  size_t nseen = 0;
  uint32_t field = 0;
  node_view v;
  json_t *j;
  front fr;
  int st, rc;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return st;
  if ((st = resolve_body(j, &fr, &field, seen, &nseen, out)) != 0)
    goto done;
  /* node/ decides the role before the file is read. */
  if (!node_may(c->role, NODE_DO_WRITE_FILE)) {
    st = node_fail(out, BT_EDENIED);
    goto done;
  }
  if ((rc = node_casefile_as(c->s, c->user, c->role, file, &v)) != BT_OK) {
    st = node_fail(out, rc);
    goto done;
  }
  st = v.file ? still_in_conflict(&v.file->fields[field], field, seen, nseen, out)
              : node_fail(out, BT_EDENIED);
  node_view_free(&v);
  if (st == 0)
    st = write_front(c, file, &fr, out);
done:
  json_decref(j);
  return st;
}

/* ---- routing -------------------------------------------------------------------- */

int web_api_entries(const web_call *c, json_t **out, const char **allow)
{
  web_seg seg[3];
  uint8_t file[CRDT_FILE_LEN];

  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/files") == 0) { /* GET: web/api_files.c */
    if (c->method != WEB_POST)
      return web_api_not_allowed(out, allow, "GET, HEAD, POST");
    return open_file(c, out);
  }
  if (web_api_split(c->req->path, "/api/files/", seg, 3) != 2 ||
      !(web_api_seg_is(&seg[1], "entries") || web_api_seg_is(&seg[1], "front") ||
        web_api_seg_is(&seg[1], "resolve")))
    return 0;
  if (c->method != WEB_POST)
    return web_api_not_allowed(out, allow, "POST");
  if (!web_api_hex(seg[0].p, seg[0].len, file, CRDT_FILE_LEN))
    return fail(out, 404, "no such case file here");
  if (web_api_seg_is(&seg[1], "entries"))
    return add_entry(c, file, out);
  if (web_api_seg_is(&seg[1], "front"))
    return set_front(c, file, out);
  return resolve(c, file, out);
}
