/* web/api_intake.c: a concern about a child, from any member of staff
 * (docs/web.md "API"; node/intake.h):
 *
 *   POST /api/concerns  {child: {given_name, family_name, dob, upn?},
 *                        concern: {Part 1 fields}, body_map?: {observed_at?, marks}}
 *
 * node/ finds the child's file or opens one; a member of staff is told only
 * that the concern is recorded (file is null), so the answer never says
 * whether the child already had a file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/intake.h"
#include "web/api.h"
#include "web/rec.h"

/* The record of type in o (an object) into b, lists into mem: 0, or the
 * 400 (413 for a list too long) with *out naming the field by its path
 * under what ("concern", "body_map"), never a value. */
static int record(crdt_body *b, uint32_t type, const json_t *o, const char *what,
                  web_rec_mem *mem, json_t **out)
{
  char msg[640], why[512];
  int rc;

  if (o == NULL || json_is_null(o)) {
    snprintf(msg, sizeof msg, "required, and not given: %s; nothing was recorded", what);
    return web_api_fail(out, 400, msg);
  }
  if (!json_is_object(o)) {
    snprintf(msg, sizeof msg, "%s must be an object {\"field\": value, ...}", what);
    return web_api_fail(out, 400, msg);
  }
  memset(b, 0, sizeof *b);
  b->type = type;
  if ((rc = web_rec_take(crdt_body_schema(type), o, &b->u, mem, why, sizeof why)) == BT_OK)
    return 0;
  if (rc == BT_ENOMEM)
    return web_api_fail(out, 500, "out of memory");
  snprintf(msg, sizeof msg, "%s: %s; nothing was recorded", what, why);
  return web_api_fail(out, 400, msg);
}

static const char *const CHILD_KEYS[] = {"given_name", "family_name", "dob", "upn", NULL};
static const char *const BODY_KEYS[] = {"child", "concern", "body_map", NULL};

/* The child: names and date of birth required, UPN optional. */
static int child_of(const json_t *o, node_child *c, json_t **out)
{
  const char *dob = NULL;
  int g, f, d, u;

  if (o == NULL || json_is_null(o))
    return web_api_fail(out, 400, "required, and not given: child.given_name, child.family_name "
                                  "and child.dob; nothing was recorded");
  if (!json_is_object(o))
    return web_api_fail(out, 400, "child must be an object {\"given_name\", \"family_name\", "
                                  "\"dob\", \"upn\"}");
  memset(c, 0, sizeof *c);
  if (!web_api_only_keys(o, CHILD_KEYS, out)) {
    json_decref(*out);
    return web_api_fail(out, 400, "child takes only given_name, family_name, dob and upn; "
                                  "nothing was recorded");
  }
  g = web_api_str(o, "given_name", &c->given);
  f = web_api_str(o, "family_name", &c->family);
  d = web_api_str(o, "dob", &dob);
  u = web_api_str(o, "upn", &c->upn);
  if (g < 0 || f < 0 || d < 0 || u < 0)
    return web_api_fail(out, 400, g < 0 ? "child.given_name must be text"
                                  : f < 0 ? "child.family_name must be text"
                                  : d < 0 ? "child.dob must be a date YYYY-MM-DD"
                                          : "child.upn must be text");
  if (g == 0 || f == 0 || d == 0 || !*c->given || !*c->family || !*dob)
    return web_api_fail(out, 400, "required, and not given: child.given_name, child.family_name "
                                  "and child.dob; nothing was recorded");
  if (crdt_date_parse(dob, strlen(dob), &c->dob) != BT_OK)
    return web_api_fail(out, 400, "child.dob must be a date YYYY-MM-DD");
  if (c->upn && !*c->upn)
    c->upn = NULL;
  return 0;
}

static int intake(const web_call *c, json_t **out)
{
  char missing[384], fhex[2 * CRDT_FILE_LEN + 1], chex[2 * CRDT_ID_LEN + 1];
  json_t *o = NULL, *bm;
  crdt_body concern, bodymap;
  web_rec_mem mem = {0};
  uint8_t file[CRDT_FILE_LEN];
  node_child child;
  crdt_id cid;
  int st, rc, created = 0, have_bm;

  if ((st = web_api_body(c, WEB_API_BODY_MAX, &o, out)) != 0)
    return st;
  if (!web_api_only_keys(o, BODY_KEYS, out)) {
    json_decref(*out);
    json_decref(o);
    return web_api_fail(out, 400, "the body's fields are child, concern and body_map; nothing "
                                  "was recorded");
  }
  if ((st = child_of(json_object_get(o, "child"), &child, out)) != 0 ||
      (st = record(&concern, CRDT_OP_CONCERN, json_object_get(o, "concern"), "concern", &mem,
                   out)) != 0) {
    web_rec_mem_free(&mem);
    json_decref(o);
    return st;
  }
  bm = json_object_get(o, "body_map");
  have_bm = bm && !json_is_null(bm);
  if (have_bm && (st = record(&bodymap, CRDT_OP_BODYMAP, bm, "body_map", &mem, out)) != 0) {
    web_rec_mem_free(&mem);
    json_decref(o);
    return st;
  }
  /* Defaults: written now, by the signed-in user in their role. */
  if (concern.u.concern.written_at == 0)
    concern.u.concern.written_at = c->now_ms;
  if (concern.u.concern.author_name.len == 0)
    concern.u.concern.author_name = bt_strz(c->user);
  if (concern.u.concern.author_role.len == 0)
    concern.u.concern.author_role = bt_strz(node_role_name(c->role));
  if (have_bm) {
    if (bodymap.u.bodymap.observed_at == 0)
      bodymap.u.bodymap.observed_at = c->now_ms;
    if (bodymap.u.bodymap.observer_name.len == 0)
      bodymap.u.bodymap.observer_name = bt_strz(c->user);
    if (bodymap.u.bodymap.observer_role.len == 0)
      bodymap.u.bodymap.observer_role = bt_strz(node_role_name(c->role));
  }
  if (web_rec_missing(crdt_body_schema(CRDT_OP_CONCERN), &concern.u.concern, missing,
                      sizeof missing) > 0 ||
      (have_bm && web_rec_missing(crdt_body_schema(CRDT_OP_BODYMAP), &bodymap.u.bodymap,
                                  missing, sizeof missing) > 0)) {
    char msg[512];
    snprintf(msg, sizeof msg, "required, and not given: %s; nothing was recorded", missing);
    st = web_api_fail(out, 400, msg);
  } else {
    rc = node_intake_as(c->s, c->user, c->role, &child, &concern, have_bm ? &bodymap : NULL,
                        file, &cid, &created);
    if (rc == BT_EUPN)
      st = web_api_fail(out, 400, "child.upn is not a valid UPN (13 characters, its check "
                                  "letter first); nothing was recorded");
    else if (rc != BT_OK)
      st = web_api_node_fail(out, rc);
    else {
      int reads = node_may(c->role, NODE_DO_READ_FILE);
      *out = json_pack("{s:b, s:s, s:o, s:o}", "logged", 1, "concern",
                       web_api_hexstr(cid.b, CRDT_ID_LEN, chex), "file",
                       reads ? json_string(web_api_hexstr(file, CRDT_FILE_LEN, fhex))
                             : json_null(),
                       "new_file", reads ? json_boolean(created) : json_null());
      st = 201;
    }
  }
  web_rec_mem_free(&mem);
  json_decref(o);
  return st;
}

int web_api_intake(const web_call *c, json_t **out, const char **allow)
{
  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/concerns") != 0)
    return 0;
  if (c->method != WEB_POST)
    return web_api_not_allowed(out, allow, "POST");
  return intake(c, out);
}
