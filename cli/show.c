/* cli/show.c: `baton file show` and `baton grants`: a case file as the
 * signed-in user may see it (node_casefile_as decides: a DSL or deputy
 * sees the whole file, staff only the concerns they logged). Front-sheet
 * conflicts are shown with every value and make the exit status 3, so a
 * script notices; entries are shown in the file's order with their ids,
 * which the recording commands take. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/file.h"
#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/body.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/share.h"

enum { P_FRONT = 1, P_CHRONO = 2, P_CONCERNS = 4, P_BODYMAPS = 8, P_ACTIONS = 16,
       P_ENTRIES = 32, P_GRANTS = 64, P_CONFLICTS = 128, P_ALL = 255 };

static const struct { const char *name; unsigned bits; } PARTS[] = {
  {"front", P_FRONT}, {"chronology", P_CHRONO}, {"concerns", P_CONCERNS},
  {"bodymaps", P_BODYMAPS}, {"actions", P_ACTIONS}, {"entries", P_ENTRIES},
  {"grants", P_GRANTS}, {"conflicts", P_CONFLICTS}, {"all", P_ALL},
};

static int entry_in(uint32_t type, unsigned parts)
{
  if (parts & P_ENTRIES)
    return 1;
  switch (type) {
  case CRDT_OP_CHRONO: return (parts & P_CHRONO) != 0;
  case CRDT_OP_CONCERN: case CRDT_OP_REVIEW: return (parts & P_CONCERNS) != 0;
  case CRDT_OP_BODYMAP: case CRDT_OP_REFLECT: return (parts & P_BODYMAPS) != 0;
  case CRDT_OP_ACTION: case CRDT_OP_ACTION_DONE: return (parts & P_ACTIONS) != 0;
  default: return 0;
  }
}

static json_t *conflicts_json(const crdt_casefile *cf)
{
  char id[2 * CRDT_ID_LEN + 1];
  json_t *arr = json_array();

  for (uint32_t f = 1; arr && f < CRDT_FS_END; f++) {
    const crdt_cf_register *r = &cf->fields[f];
    json_t *vals;
    if (!r->conflict)
      continue;
    vals = json_array();
    for (size_t k = 0; vals && k < r->n; k++) {
      cli_hex(r->v[k].id.b, CRDT_ID_LEN, id);
      json_array_append_new(vals, json_pack("{s:o, s:s}", "value", cli_out_str(r->v[k].value),
                                            "id", id));
    }
    json_array_append_new(arr, json_pack("{s:s, s:o}", "field", crdt_fs_name(f), "values",
                                         vals));
  }
  return arr;
}

static json_t *grants_json(const crdt_access *acc, uint64_t now)
{
  const crdt_schema *gs = crdt_body_schema(CRDT_OP_GRANT);
  char id[2 * CRDT_ID_LEN + 1];
  json_t *arr = json_array();

  for (size_t i = 0; arr && acc && i < acc->ngrants; i++) {
    const crdt_acc_grant *g = &acc->grants[i];
    const char *state = !crdt_id_is_zero(&g->revoked_by) ? "revoked"
                        : crdt_acc_grant_live(g, now) ? "live" : "expired";
    json_t *o = cli_rec_json(gs, g->g);
    cli_hex(g->op->id.b, CRDT_ID_LEN, id);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "org_fingerprint", cli_out_fpr(g->g->org.b));
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *show_json(const uint8_t *file, const node_view *v, unsigned parts)
{
  char hex[2 * CRDT_FILE_LEN + 1];
  json_t *doc, *ents, *tags;

  cli_hex(file, CRDT_FILE_LEN, hex);
  doc = json_pack("{s:s}", "id", hex);
  if (doc && v->file && (parts & P_FRONT)) {
    json_object_set_new(doc, "front", cli_front_json(v->file));
    tags = json_array();
    for (size_t i = 0; tags && i < v->file->ntags; i++)
      json_array_append_new(tags, cli_out_str(v->file->tags[i]));
    json_object_set_new(doc, "tags", tags);
  }
  if (doc && v->file && (parts & (P_FRONT | P_CONFLICTS)))
    json_object_set_new(doc, "conflicts", conflicts_json(v->file));
  if (doc && (parts & ~(unsigned)(P_FRONT | P_GRANTS | P_CONFLICTS))) {
    ents = json_array();
    for (size_t i = 0; ents && i < v->nentries; i++)
      if (entry_in(v->entries[i]->body->type, parts))
        json_array_append_new(ents, cli_entry_json(v->entries[i]));
    json_object_set_new(doc, "entries", ents);
  }
  if (doc && v->file && (parts & P_GRANTS))
    json_object_set_new(doc, "grants", grants_json(v->file->access, cli_now_ms()));
  return doc;
}

/* ---- text ------------------------------------------------------------------ */

static void value_line(const char *indent, const char *k, const json_t *v)
{
  char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  const char *t = json_is_string(v) ? json_string_value(v) : s;

  if (json_is_string(v) && strchr(t, '\n')) {
    printf("%s%-22s\n", indent, k);
    for (const char *p = t, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
      nl = strchr(p, '\n');
      printf("%s    %.*s\n", indent, nl ? (int)(nl - p) : (int)strlen(p), p);
    }
  } else {
    printf("%s%-22s %s\n", indent, k, t ? t : "?");
  }
  free(s);
}

static void show_text(const json_t *doc)
{
  const json_t *front = json_object_get(doc, "front"), *x, *v;
  const char *k;
  size_t i, j;

  printf("case file %s\n", cli_out_get(doc, "id"));
  if (front) {
    printf("\nfront sheet\n");
    json_object_foreach((json_t *)front, k, v)
      if (json_is_string(v))
        value_line("  ", k, v);
  }
  json_array_foreach(json_object_get(doc, "conflicts"), i, x) {
    printf("%s  CONFLICT %s: every value below was written without seeing the others;\n"
           "  settle it with `baton file resolve FILE %s VALUE`\n", i ? "" : "\n",
           cli_out_get(x, "field"), cli_out_get(x, "field"));
    json_array_foreach(json_object_get(x, "values"), j, v)
      printf("    %-20s (%.12s)\n", cli_out_get(v, "value"), cli_out_get(v, "id"));
  }
  if (json_array_size(json_object_get(doc, "tags")))
    value_line("  ", "tags", json_object_get(doc, "tags"));
  json_array_foreach(json_object_get(doc, "entries"), i, x) {
    const json_t *fl = json_object_get(x, "flags");
    printf("\n%s  %-12s %.12s  by %s", cli_out_get(x, "at"), cli_out_get(x, "type"),
           cli_out_get(x, "id"), cli_out_get(x, "by"));
    if (json_array_size(fl)) {
      char *f = json_dumps(fl, JSON_COMPACT);
      printf("  %s", f ? f : "");
      free(f);
    }
    printf("\n");
    json_object_foreach(json_object_get(x, "fields"), k, v)
      value_line("    ", k, v);
  }
  if (json_object_get(doc, "grants")) {
    printf("\ngrants\n");
    if (json_array_size(json_object_get(doc, "grants")) == 0)
      printf("  none\n");
  }
  json_array_foreach(json_object_get(doc, "grants"), i, x)
    printf("  %.12s  %-8s %s  %s, %s, %s, expires %s\n", cli_out_get(x, "id"),
           cli_out_get(x, "state"), cli_out_get(x, "org_name"), cli_out_get(x, "purpose"),
           cli_out_get(x, "basis"), cli_out_get(x, "rights"),
           cli_out_get(x, "expires_at") ? cli_out_get(x, "expires_at") : "never");
}

/* ---- file show -------------------------------------------------------------- */

static int show_run(cli_ctx *c, const cli_args *a)
{
  char q[CLI_QUOTE_LEN];
  const char *part = a->val[0] ? a->val[0] : "all";
  uint8_t file[CRDT_FILE_LEN];
  unsigned parts = 0;
  node_view v;
  cli_sess ss;
  json_t *doc;
  int rc, attention;

  for (size_t k = 0; k < sizeof PARTS / sizeof PARTS[0]; k++)
    if (strcmp(part, PARTS[k].name) == 0)
      parts = PARTS[k].bits;
  if (parts == 0)
    return cli_usage(c, "--part %s: one of front, chronology, concerns, bodymaps, actions, "
                        "entries, grants, conflicts, all", cli_quote(part, q));
  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_open(c, NODE_DO_READ_OWN, &ss)) != CLI_OK)
    return rc;
  if (!node_may(ss.u.role, NODE_DO_READ_FILE) && parts != P_CONCERNS) {
    cli_sess_close(&ss);
    return cli_fail(c, "a %s may read only the concerns they logged themselves: add "
                       "--part concerns", node_role_name(ss.u.role));
  }
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_sess_view(c, &ss, file, &v)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  doc = show_json(file, &v, parts);
  attention = v.file && (parts & (P_FRONT | P_CONFLICTS)) && v.file->nconflicts > 0;
  node_view_free(&v);
  cli_sess_close(&ss);
  rc = cli_out_emit(c, doc, show_text);
  if (rc == CLI_OK && attention) {
    cli_say(c, "the front sheet has a conflict: resolve it with `baton file resolve`");
    return CLI_ATTENTION;
  }
  return rc;
}

static const cli_opt SHOW_OPTS[] = {
  {"--part", "PART", 16, "front, chronology, concerns, bodymaps, actions, entries, grants, "
                         "conflicts or all (default)"},
};
static const cli_pos SHOW_POS[] = {{"FILE", 64, 0}};

const cli_cmd cli_file_show_cmd = {
  "file show", "show a case file, or one part of it",
  "Shows the front sheet, tags, conflicts (every value), the entries in the\n"
  "file's order with their ids, and the grants. A DSL or deputy sees it all;\n"
  "staff see only the concerns they logged (--part concerns). Exit 3 when\n"
  "the front sheet shown has a conflict to resolve.\n",
  SHOW_OPTS, 1, SHOW_POS, 1, show_run,
};

/* ---- grants ---------------------------------------------------------------- */

static int grants_run(cli_ctx *c, const cli_args *a)
{
  uint8_t file[CRDT_FILE_LEN];
  node_view v;
  cli_sess ss;
  json_t *doc;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_open(c, NODE_DO_READ_FILE, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_sess_view(c, &ss, file, &v)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  doc = show_json(file, &v, P_GRANTS);
  node_view_free(&v);
  cli_sess_close(&ss);
  return cli_out_emit(c, doc, show_text);
}

const cli_cmd cli_grants_cmd = {
  "grants", "list who a case file is shared with, and until when",
  "Lists the file's grants: id, live, revoked or expired, the org, purpose,\n"
  "lawful basis, rights and expiry. DSL or deputy.\n",
  NULL, 0, SHOW_POS, 1, grants_run,
};
