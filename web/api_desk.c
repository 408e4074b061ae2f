/* web/api_desk.c: the DSL's desk: what waits for review, open actions,
 * front-sheet conflicts and plan counts over every case file held here
 * (docs/web.md "API"; web/api.h).
 *
 * One pass over node_files_as, the files read through node_casefiles_as
 * (the role's views, one audit record for the desk, as GET /api/files
 * does): a file that cannot be read fails the desk, never a silent gap. What waits and what is open is read
 * from the materialised file (crdt/casefile.h): a concern waits until a
 * review links to it; an action is open until a done marker does (the
 * "done" flag). Items are sorted across files: the oldest concern first,
 * the action due soonest first (none due last). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/files.h"

#define fail web_api_fail
#define node_fail web_api_node_fail

/* Plan words in node_counts.by_plan's order ([0] not recorded); a file
 * counts by its first value, as node/counts.c does. */

typedef struct {
  uint64_t key;             /* sort key: a time, or a due date (UINT64_MAX: none) */
  char file[2 * CRDT_FILE_LEN + 1];
  char id[2 * CRDT_ID_LEN + 1];
  json_t *o;
} item;

typedef struct {
  item *v;
  size_t n, cap;
} items;

typedef struct {
  items waiting, actions;
  json_t *conflicts;
  size_t plans[WEB_API_PLANS], files;
  const web_call *call;
} desk;

static int push(items *a, uint64_t key, const char *file, const crdt_id *id, json_t *o)
{
  item *nv;

  if (o == NULL)
    return BT_ENOMEM;
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 16;
    if ((nv = realloc(a->v, cap * sizeof(*nv))) == NULL) {
      json_decref(o);
      return BT_ENOMEM;
    }
    a->v = nv;
    a->cap = cap;
  }
  nv = &a->v[a->n++];
  nv->key = key;
  memcpy(nv->file, file, sizeof nv->file);
  web_api_hexstr(id->b, CRDT_ID_LEN, nv->id);
  nv->o = o;
  return BT_OK;
}

static void items_free(items *a)
{
  for (size_t i = 0; i < a->n; i++)
    json_decref(a->v[i].o);
  free(a->v);
}

static int cmp_item(const void *x, const void *y)
{
  const item *a = x, *b = y;
  int c;

  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  if ((c = strcmp(a->file, b->file)) != 0)
    return c;
  return strcmp(a->id, b->id);
}

/* The items sorted, as a JSON array (the items' objects move into it). */
static json_t *sorted(items *a)
{
  json_t *arr = json_array();

  if (a->n > 1) /* an empty list has no array: qsort must not see NULL */
    qsort(a->v, a->n, sizeof(*a->v), cmp_item);
  for (size_t i = 0; arr && i < a->n; i++)
    json_array_append(arr, a->v[i].o);
  return arr;
}

static json_t *str_or_null(bt_str v)
{
  json_t *j = v.len ? json_stringn(v.p, v.len) : NULL;

  return j ? j : json_null();
}

/* A register's first value ("" when none). */
static bt_str first(const crdt_cf_register *r)
{
  return r->n ? r->v[0].value : BT_STR("");
}

/* "Preferred (else given) family", from the front sheet's first values. */
static json_t *child_json(const crdt_casefile *cf)
{
  bt_str given = first(&cf->fields[CRDT_FS_PREFERRED]);
  bt_str family = first(&cf->fields[CRDT_FS_FAMILY]);
  char name[2 * CRDT_STR_MAX + 2];
  size_t n = 0;

  if (given.len == 0)
    given = first(&cf->fields[CRDT_FS_GIVEN]);
  memcpy(name, given.p, given.len);
  n = given.len;
  if (given.len && family.len)
    name[n++] = ' ';
  memcpy(name + n, family.p, family.len);
  n += family.len;
  return json_stringn(name, n);
}

/* Whether any link of e is a review (a correction links too). */
static int reviewed(const crdt_casefile *cf, const crdt_cf_entry *e)
{
  for (size_t k = 0; k < e->nlinks; k++) {
    const crdt_cf_entry *l = crdt_casefile_entry(cf, &e->links[k]);
    if (l && l->body->type == CRDT_OP_REVIEW)
      return 1;
  }
  return 0;
}

static int concern_item(desk *d, const char *hex, const crdt_cf_entry *e, json_t *child)
{
  const crdt_concern *c = &e->body->u.concern;
  char id[2 * CRDT_ID_LEN + 1];

  return push(&d->waiting, e->event_at, hex, &e->op->id,
              json_pack("{s:s, s:O, s:s, s:o, s:o, s:o}", "file", hex, "child", child,
                        "concern", web_api_hexstr(e->op->id.b, CRDT_ID_LEN, id),
                        "incident_at", web_api_timejson(c->incident_at), "written_at",
                        web_api_timejson(c->written_at), "author",
                        str_or_null(c->author_name)));
}

static int action_item(desk *d, const web_call *c, const char *hex, const crdt_cf_entry *e,
                       json_t *child)
{
  const crdt_action *a = &e->body->u.action;
  uint32_t today = crdt_date_from_ms(c->now_ms);
  char id[2 * CRDT_ID_LEN + 1];

  return push(&d->actions, a->due ? a->due : UINT64_MAX, hex, &e->op->id,
              json_pack("{s:s, s:O, s:s, s:s%, s:o, s:o, s:b, s:b}", "file", hex, "child",
                        child, "action", web_api_hexstr(e->op->id.b, CRDT_ID_LEN, id),
                        "what", a->what.p, a->what.len, "owner", str_or_null(a->owner),
                        "due", web_api_datejson(a->due), "overdue", a->due && a->due < today,
                        "mine", bt_str_eq(a->owner, bt_strz(c->user))));
}

static void count_plan(desk *d, const crdt_casefile *cf)
{
  const char *const *w = crdt_fs_words(CRDT_FS_PLAN);
  bt_str plan = first(&cf->fields[CRDT_FS_PLAN]);
  size_t p = 0;

  for (size_t k = 0; w[k] && k + 1 < WEB_API_PLANS; k++)
    if (bt_str_eq(plan, bt_strz(w[k])))
      p = k + 1;
  d->plans[p]++;
}

static int conflict_item(desk *d, const char *hex, const crdt_casefile *cf, json_t *child)
{
  json_t *names = json_array();

  for (uint32_t f = 1; names && f < CRDT_FS_END; f++)
    if (cf->fields[f].conflict)
      json_array_append_new(names, json_string(crdt_fs_name(f)));
  return json_array_append_new(d->conflicts, json_pack("{s:s, s:O, s:o}", "file", hex, "child",
                                                       child, "fields", names)) == 0
           ? BT_OK : BT_ENOMEM;
}

/* One file's part of the desk. */
static int one_file(desk *d, const web_call *c, const uint8_t *file, const node_view *v)
{
  char hex[2 * CRDT_FILE_LEN + 1];
  json_t *child;
  int rc = BT_OK;

  if (v->file == NULL)
    return BT_OK;
  web_api_hexstr(file, CRDT_FILE_LEN, hex);
  if ((child = child_json(v->file)) == NULL)
    return BT_ENOMEM;
  d->files++;
  count_plan(d, v->file);
  for (size_t i = 0; i < v->nentries && rc == BT_OK; i++) {
    const crdt_cf_entry *e = v->entries[i];
    if (e->body->type == CRDT_OP_CONCERN && !reviewed(v->file, e))
      rc = concern_item(d, hex, e, child);
    else if (e->body->type == CRDT_OP_ACTION && !(e->flags & CRDT_CF_DONE))
      rc = action_item(d, c, hex, e, child);
  }
  if (rc == BT_OK && v->file->nconflicts > 0)
    rc = conflict_item(d, hex, v->file, child);
  json_decref(child);
  return rc;
}

static int each_file(void *ctx, const uint8_t *file, const node_view *v)
{
  desk *d = ctx;

  return one_file(d, d->call, file, v);
}

static int show(const web_call *c, json_t **out)
{
  desk d = {0};
  uint8_t *ids = NULL;
  json_t *plans;
  size_t n = 0;
  int rc;

  if ((rc = node_files_as(c->s, c->role, &ids, &n)) != BT_OK)
    return node_fail(out, rc);
  if ((d.conflicts = json_array()) == NULL)
    rc = BT_ENOMEM;
  d.call = c;
  if (rc == BT_OK)
    rc = node_casefiles_as(c->s, c->user, c->role, ids, n, "desk", each_file, &d);
  free(ids);
  if (rc == BT_OK && (plans = web_api_plans_json(d.plans)) != NULL) {
    *out = json_pack("{s:o, s:o, s:O, s:o, s:I}", "awaiting_review", sorted(&d.waiting),
                     "actions", sorted(&d.actions), "conflicts", d.conflicts, "plans", plans,
                     "files", (json_int_t)d.files);
  }
  items_free(&d.waiting);
  items_free(&d.actions);
  json_decref(d.conflicts);
  if (rc != BT_OK)
    return node_fail(out, rc);
  return *out ? 200 : fail(out, 500, "out of memory");
}

int web_api_desk(const web_call *c, json_t **out, const char **allow)
{
  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/desk") != 0)
    return 0;
  if (c->method != WEB_GET)
    return web_api_not_allowed(out, allow, "GET, HEAD");
  return show(c, out);
}
