/* web/api_files.c: the case-file calls (docs/web.md "API"; web/api.h). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/err.h"
#include "node/files.h"
#include "web/api.h"
#include "web/rec.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

static json_t *str_json(bt_str v)
{
  json_t *j = json_stringn(v.p, v.len);

  return j ? j : json_null();
}

/* A front-sheet field: null (not recorded), its value, or every value of a
 * conflict as an array. */
static json_t *reg_json(const crdt_cf_register *r)
{
  json_t *a;

  if (r->n == 0)
    return json_null();
  if (!r->conflict)
    return str_json(r->v[0].value);
  a = json_array();
  for (size_t i = 0; a && i < r->n; i++)
    json_array_append_new(a, str_json(r->v[i].value));
  return a;
}

/* ---- GET /api/files --------------------------------------------------------- */

static const uint32_t SUMMARY[] = {CRDT_FS_GIVEN, CRDT_FS_FAMILY, CRDT_FS_PREFERRED,
                                   CRDT_FS_DOB,   CRDT_FS_UPN,    CRDT_FS_PLAN,
                                   CRDT_FS_STATUS};

/* One file's summary into the list (ctx, a JSON array). */
static int summary(void *ctx, const uint8_t *file, const node_view *v)
{
  char hex[2 * CRDT_FILE_LEN + 1];
  json_t *o;

  if (v->file == NULL)
    return BT_OK;
  sodium_bin2hex(hex, sizeof hex, file, CRDT_FILE_LEN);
  if ((o = json_pack("{s:s}", "id", hex)) == NULL)
    return BT_ENOMEM;
  for (size_t k = 0; k < sizeof SUMMARY / sizeof SUMMARY[0]; k++)
    json_object_set_new(o, crdt_fs_name(SUMMARY[k]), reg_json(&v->file->fields[SUMMARY[k]]));
  json_object_set_new(o, "conflict", json_boolean(v->file->nconflicts > 0));
  return json_array_append_new(ctx, o) == 0 ? BT_OK : BT_ENOMEM;
}

static int list(node_store *s, const char *user, node_role role, json_t **out)
{
  uint8_t *ids = NULL;
  size_t n = 0;
  json_t *arr;
  int rc;

  if ((rc = node_files_as(s, role, &ids, &n)) != BT_OK)
    return node_fail(out, rc);
  /* Through node/'s views, with one audit record for the list. A file
   * that cannot be read (or a list that cannot be audited) fails the list:
   * never a silent gap. */
  if ((arr = json_array()) == NULL)
    rc = BT_ENOMEM;
  else
    rc = node_casefiles_as(s, user, role, ids, n, "file list", summary, arr);
  free(ids);
  if (rc != BT_OK) {
    json_decref(arr);
    return node_fail(out, rc);
  }
  *out = json_pack("{s:o}", "files", arr);
  return 200;
}

/* ---- GET /api/files/ID -------------------------------------------------------- */

static json_t *front_json(const crdt_casefile *cf)
{
  json_t *o = json_object();

  for (uint32_t f = 1; o && f < CRDT_FS_END; f++)
    if (cf->fields[f].n)
      json_object_set_new(o, crdt_fs_name(f), reg_json(&cf->fields[f]));
  return o;
}

/* Every conflicting field with each value and the write that made it
 * (a resolve names what it has seen). */
static json_t *conflicts_json(const crdt_casefile *cf)
{
  char id[2 * CRDT_ID_LEN + 1];
  json_t *arr = json_array(), *vals;

  for (uint32_t f = 1; arr && f < CRDT_FS_END; f++) {
    const crdt_cf_register *r = &cf->fields[f];
    if (!r->conflict)
      continue;
    vals = json_array();
    for (size_t k = 0; vals && k < r->n; k++) {
      sodium_bin2hex(id, sizeof id, r->v[k].id.b, CRDT_ID_LEN);
      json_array_append_new(vals, json_pack("{s:o, s:s}", "value", str_json(r->v[k].value),
                                            "id", id));
    }
    json_array_append_new(arr, json_pack("{s:s, s:o}", "field", crdt_fs_name(f), "values",
                                         vals));
  }
  return arr;
}

/* The retention word ("keep", "chrono", "log") from the schema. */
static json_t *retain_json(uint32_t retain)
{
  const crdt_field *f = crdt_schema_field(crdt_body_schema(CRDT_OP_XFER_CLOSE), "retain");

  if (retain == 0 || f == NULL || f->kind != CRDT_F_ENUM || retain > f->max)
    return json_null();
  return json_string(f->names[retain]);
}

/* A partial view (staff: their own concerns and body maps) links only to
 * entries in it: the ids of reviews and corrections they may not read are
 * not shown either. */
static void links_within(json_t *ents)
{
  size_t i, k, j;
  json_t *e, *l, *keep;

  json_array_foreach(ents, i, e) {
    if ((keep = json_array()) == NULL)
      return;
    json_array_foreach(json_object_get(e, "links"), k, l) {
      json_t *o;
      int seen = 0;
      json_array_foreach(ents, j, o)
        seen |= json_equal(json_object_get(o, "id"), l);
      if (seen)
        json_array_append(keep, l);
    }
    json_object_set_new(e, "links", keep);
  }
}

static int show(node_store *s, const char *user, node_role role, const uint8_t *file,
                json_t **out)
{
  char hex[2 * CRDT_FILE_LEN + 1];
  node_view v;
  json_t *doc, *ents, *tags = json_null(), *front = json_null(), *conf = json_null();
  int rc;

  if ((rc = node_casefile_as(s, user, role, file, &v)) != BT_OK)
    return node_fail(out, rc);
  sodium_bin2hex(hex, sizeof hex, file, CRDT_FILE_LEN);
  if (v.file) { /* a role that reads whole files; staff get only their concerns */
    json_decref(tags);
    json_decref(front);
    json_decref(conf);
    front = front_json(v.file);
    conf = conflicts_json(v.file);
    tags = json_array();
    for (size_t i = 0; tags && i < v.file->ntags; i++)
      json_array_append_new(tags, str_json(v.file->tags[i]));
  }
  ents = json_array();
  for (size_t i = 0; ents && i < v.nentries; i++)
    json_array_append_new(ents, web_entry_json(v.entries[i]));
  if (v.file == NULL)
    links_within(ents);
  doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "id", hex, "front", front, "conflicts",
                  conf, "tags", tags, "retain", retain_json(v.retain), "entries", ents);
  node_view_free(&v);
  *out = doc;
  return 200;
}

/* ---- POST /api/files/ID/concerns ----------------------------------------------- */

static int concern(const web_call *c, const uint8_t *file, json_t **out)
{
  const crdt_schema *sc = crdt_body_schema(CRDT_OP_CONCERN);
  char msg[768], names[384], words[160], id[2 * CRDT_ID_LEN + 1];
  const char *bad = NULL;
  crdt_body b;
  crdt_id op;
  json_t *j;
  int rc;

  if ((rc = web_api_body(c, WEB_API_BODY_MAX, &j, out)) != 0)
    return rc;
  memset(&b, 0, sizeof b);
  b.type = CRDT_OP_CONCERN;
  rc = web_rec_from_json(sc, j, &b.u.concern, &bad);
  if (rc == BT_ENOTFOUND) {
    web_rec_unknown(sc, j, words, sizeof words);
    web_rec_names(sc, names, sizeof names);
    snprintf(msg, sizeof msg, "no such field in a concern: %s; its fields are: %s", words,
             names);
    json_decref(j);
    return fail(out, 400, msg);
  }
  if (rc != BT_OK) {
    web_rec_kind_words(crdt_schema_field(sc, bad), words, sizeof words);
    snprintf(msg, sizeof msg, "%s must be %s; nothing was recorded", bad, words);
    json_decref(j);
    return fail(out, 400, msg);
  }
  /* Defaults: written now, by the signed-in user in their role. */
  if (b.u.concern.written_at == 0)
    b.u.concern.written_at = c->now_ms;
  if (b.u.concern.author_name.len == 0)
    b.u.concern.author_name = bt_strz(c->user);
  if (b.u.concern.author_role.len == 0)
    b.u.concern.author_role = bt_strz(node_role_name(c->role));
  if (web_rec_missing(sc, &b.u.concern, names, sizeof names) > 0) {
    snprintf(msg, sizeof msg, "required, and not given: %s; nothing was recorded", names);
    json_decref(j);
    return fail(out, 400, msg);
  }
  if ((rc = crdt_rec_check(sc, &b.u.concern)) != BT_OK) {
    json_decref(j);
    return fail(out, 400, "the concern is not valid; nothing was recorded");
  }
  rc = node_author_as(c->s, c->user, c->role, file, &b, &op);
  json_decref(j);
  if (rc != BT_OK)
    return node_fail(out, rc);
  sodium_bin2hex(id, sizeof id, op.b, CRDT_ID_LEN);
  *out = json_pack("{s:s, s:s}", "id", id, "type", "concern");
  return 201;
}

/* ---- routing -------------------------------------------------------------------- */

int web_api_files(const web_call *c, json_t **out, const char **allow)
{
  web_seg seg[3];
  uint8_t file[CRDT_FILE_LEN];
  int n;

  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/files") == 0) {
    if (c->method != WEB_GET)
      return 0; /* POST /api/files: web/api_entries.c */
    return list(c->s, c->user, c->role, out);
  }
  n = web_api_split(c->req->path, "/api/files/", seg, 3);
  if (n == 2 && !web_api_seg_is(&seg[1], "concerns"))
    return 0; /* another module's call on a file */
  if (n != 1 && n != 2)
    return 0;
  if (c->method != (n == 2 ? WEB_POST : WEB_GET))
    return web_api_not_allowed(out, allow, n == 2 ? "POST" : "GET, HEAD");
  if (!web_api_hex(seg[0].p, seg[0].len, file, CRDT_FILE_LEN))
    return fail(out, 404, "no such case file here");
  return n == 2 ? concern(c, file, out)
                : show(c->s, c->user, c->role, file, out);
}
