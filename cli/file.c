/* cli/file.c: opening and listing case files and changing the front sheet
 * (docs/cli.md). Every value is checked before the store is opened, with
 * the front sheet's own rules (crdt_fs_check); what node/ refuses (a role,
 * a file this org does not hold) is said with nothing changed. A front-
 * sheet write has the file's heads as parents, so writing a field that is
 * in conflict, after seeing its values, is what resolves the conflict. */
#define _POSIX_C_SOURCE 200809L
#include "cli/file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/upn.h"
#include "node/files.h"

int cli_upn_arg(const cli_ctx *c, const char *v, char up[14])
{
  size_t n = strlen(v);
  char want;

  if (n != CRDT_UPN_LEN)
    return cli_usage(c, "--upn: a UPN is 13 characters: a check letter, the LA number (3 "
                        "digits), the establishment (4), the year (2) and a serial (3)");
  for (size_t i = 0; i < n; i++)
    up[i] = (char)toupper((unsigned char)v[i]);
  up[n] = '\0';
  if (crdt_upn_check(up, n) == BT_OK)
    return CLI_OK;
  if ((want = crdt_upn_check_letter(up, n)) == 0)
    return cli_usage(c, "--upn: after the check letter a UPN has 11 digits, then a digit or "
                        "(temporary UPN) a letter");
  return cli_usage(c, "--upn: the check letter is wrong: for these digits it is %c (was "
                      "the UPN copied correctly?)", want);
}

json_t *cli_reg_json(const crdt_cf_register *r)
{
  json_t *vals;

  if (r->n == 0)
    return json_null();
  if (!r->conflict)
    return cli_out_str(r->v[0].value);
  vals = json_array();
  for (size_t i = 0; vals && i < r->n; i++)
    json_array_append_new(vals, cli_out_str(r->v[i].value));
  return json_pack("{s:o}", "conflict", vals);
}

json_t *cli_front_json(const crdt_casefile *cf)
{
  json_t *o = json_object();

  for (uint32_t f = 1; o && f < CRDT_FS_END; f++)
    if (cf->fields[f].n)
      json_object_set_new(o, crdt_fs_name(f), cli_reg_json(&cf->fields[f]));
  return o;
}

/* Authors a FIELD_SET (or FILE_CREATE) of n values. */
static int write_fields(cli_sess *ss, const uint8_t *file, crdt_fieldval *v, size_t n,
                        crdt_id *id)
{
  crdt_body b = {0};

  b.type = CRDT_OP_FIELD_SET;
  b.u.fields = (crdt_fields){v, n};
  return node_author_as(ss->s, ss->u.name, ss->u.role, file, &b, id);
}

static void written_text(const json_t *doc)
{
  printf("%s\n", cli_out_get(doc, "message"));
  cli_out_row("file", cli_out_get(doc, "file"));
  cli_out_row("entry", cli_out_get(doc, "id"));
}

static json_t *written(const char *msg, const uint8_t *file, const crdt_id *id)
{
  char f[2 * CRDT_FILE_LEN + 1], i[2 * CRDT_ID_LEN + 1];

  cli_hex(file, CRDT_FILE_LEN, f);
  cli_hex(id->b, CRDT_ID_LEN, i);
  return json_pack("{s:s, s:s, s:s}", "message", msg, "file", f, "id", i);
}

/* ---- file open ---------------------------------------------------------- */

/* The id of a file already open for this UPN, if any. */
static int upn_taken(cli_sess *ss, const char *upn, uint8_t out[CRDT_FILE_LEN])
{
  uint8_t *ids = NULL;
  size_t n = 0;
  int hit = 0;

  if (node_files_as(ss->s, ss->u.role, &ids, &n) != BT_OK)
    return 0;
  for (size_t i = 0; i < n && !hit; i++) {
    node_view v; /* through node/'s audited view, like every read of a file */
    if (node_casefile_as(ss->s, ss->u.name, ss->u.role, ids + i * CRDT_FILE_LEN, &v) != BT_OK)
      continue;
    if (v.file) {
      const crdt_cf_register *r = &v.file->fields[CRDT_FS_UPN];
      for (size_t k = 0; k < r->n && !hit; k++)
        if (bt_str_eq(r->v[k].value, bt_strz(upn))) {
          memcpy(out, ids + i * CRDT_FILE_LEN, CRDT_FILE_LEN);
          hit = 1;
        }
    }
    node_view_free(&v);
  }
  free(ids);
  return hit;
}

static int open_run(cli_ctx *c, const cli_args *a)
{
  crdt_fieldval v[8];
  char upn[14] = "", today[11], q[CLI_QUOTE_LEN], hex[2 * CRDT_FILE_LEN + 1];
  const char *plan = a->val[4] ? a->val[4] : NULL;
  uint8_t file[CRDT_FILE_LEN];
  crdt_body b = {0};
  crdt_id id;
  cli_sess ss;
  uint32_t ymd;
  size_t n = 0;
  int rc;

  for (int k = 1; k <= 3; k++)
    if (a->val[k] == NULL)
      return cli_usage(c, "give the child's --given name, --family name and --dob date of "
                          "birth");
  if (a->val[0] && (rc = cli_upn_arg(c, a->val[0], upn)) != CLI_OK)
    return rc;
  if ((rc = cli_date_arg(c, "--dob", a->val[3], &ymd)) != CLI_OK)
    return rc;
  if (crdt_fs_check(CRDT_FS_GIVEN, bt_strz(a->val[1])) != BT_OK ||
      crdt_fs_check(CRDT_FS_FAMILY, bt_strz(a->val[2])) != BT_OK)
    return cli_usage(c, "a name is one line of text, at most 256 bytes");
  if (plan && crdt_fs_check(CRDT_FS_PLAN, bt_strz(plan)) != BT_OK)
    return cli_usage(c, "--plan %s: one of cp, cin, lac, eh, none", cli_quote(plan, q));
  crdt_date_format(crdt_date_from_ms(cli_now_ms()), today);
  v[n++] = (crdt_fieldval){CRDT_FS_GIVEN, bt_strz(a->val[1])};
  v[n++] = (crdt_fieldval){CRDT_FS_FAMILY, bt_strz(a->val[2])};
  v[n++] = (crdt_fieldval){CRDT_FS_DOB, bt_strz(a->val[3])};
  if (*upn)
    v[n++] = (crdt_fieldval){CRDT_FS_UPN, bt_strz(upn)};
  if (plan)
    v[n++] = (crdt_fieldval){CRDT_FS_PLAN, bt_strz(plan)};
  v[n++] = (crdt_fieldval){CRDT_FS_STATUS, BT_STR("open")};
  v[n++] = (crdt_fieldval){CRDT_FS_OPENED, bt_strz(today)};
  if ((rc = cli_sess_open(c, NODE_DO_WRITE_FILE, &ss)) != CLI_OK)
    return rc;
  if (*upn && upn_taken(&ss, upn, file)) {
    cli_hex(file, CRDT_FILE_LEN, hex);
    cli_sess_close(&ss);
    return cli_fail(c, "a case file for this UPN is here already: %s (`baton file show "
                       "%.8s`); nothing changed", hex, hex);
  }
  b.type = CRDT_OP_FILE_CREATE;
  b.u.fields = (crdt_fields){v, n};
  rc = node_file_create_as(ss.s, ss.u.name, ss.u.role, &b, file, &id);
  if (rc != BT_OK) {
    rc = cli_node_fail(c, &ss, "opening the file", rc);
    cli_sess_close(&ss);
    return rc;
  }
  cli_sess_close(&ss);
  return cli_out_emit(c, written("Opened a case file.", file, &id), written_text);
}

static const cli_opt OPEN_OPTS[] = {
  {"--upn", "UPN", 13, "the child's Unique Pupil Number (check letter verified)"},
  {"--given", "NAME", 256, "given name (required)"},
  {"--family", "NAME", 256, "family name (required)"},
  {"--dob", "DATE", 10, "date of birth, YYYY-MM-DD (required)"},
  {"--plan", "PLAN", 4, "cp, cin, lac, eh or none"},
};

const cli_cmd cli_file_open_cmd = {
  "file open", "open a case file for a child",
  "Opens a case file with the child's front sheet: names, date of birth, UPN\n"
  "(its check letter is verified), plan status; status open from today.\n"
  "Refused when a file for the same UPN is here already. Prints the file id\n"
  "(hex), which the other commands take. DSL or deputy.\n",
  OPEN_OPTS, 5, NULL, 0, open_run,
};

/* ---- files ---------------------------------------------------------------- */

/* Whether any value of register r equals v (exactly), or contains it
 * ignoring case (sub). */
static int reg_has(const crdt_cf_register *r, const char *v, int sub)
{
  size_t n = strlen(v);

  for (size_t k = 0; k < r->n; k++) {
    bt_str x = r->v[k].value;
    if (!sub && bt_str_eq(x, bt_strz(v)))
      return 1;
    for (size_t i = 0; sub && n && i + n <= x.len; i++)
      if (strncasecmp(x.p + i, v, n) == 0)
        return 1;
  }
  return 0;
}

static int wanted(const crdt_casefile *cf, const cli_args *a, const char *upn)
{
  const crdt_cf_register *st = &cf->fields[CRDT_FS_STATUS];
  int closed = st->n && reg_has(st, "closed", 0);

  if (*upn && !reg_has(&cf->fields[CRDT_FS_UPN], upn, 0))
    return 0;
  if (a->val[1] && !reg_has(&cf->fields[CRDT_FS_GIVEN], a->val[1], 1) &&
      !reg_has(&cf->fields[CRDT_FS_FAMILY], a->val[1], 1) &&
      !reg_has(&cf->fields[CRDT_FS_PREFERRED], a->val[1], 1) &&
      !reg_has(&cf->fields[CRDT_FS_OTHER], a->val[1], 1))
    return 0;
  if (a->val[2] && (strcmp(a->val[2], "closed") == 0) != closed)
    return 0;
  return !a->val[3] || reg_has(&cf->fields[CRDT_FS_PLAN], a->val[3], 0);
}

/* A front-sheet value for a one-line listing: "(conflict)" when it has
 * several, dflt when unset. */
static const char *shown(const json_t *front, const char *field, const char *dflt)
{
  const json_t *v = json_object_get(front, field);

  if (json_is_string(v))
    return json_string_value(v);
  return v ? "(conflict)" : dflt;
}

static void files_text(const json_t *doc)
{
  const json_t *f;
  size_t i;

  if (json_array_size(json_object_get(doc, "files")) == 0)
    printf("No case files match.\n");
  json_array_foreach(json_object_get(doc, "files"), i, f) {
    const json_t *fr = json_object_get(f, "front");
    printf("%s  %-6s %-4s %s %s  dob %s  upn %s%s\n", cli_out_get(f, "id"),
           shown(fr, "status", "open"), shown(fr, "plan_status", "-"),
           shown(fr, "given_name", "-"), shown(fr, "family_name", "-"), shown(fr, "dob", "-"),
           shown(fr, "upn", "-"),
           json_integer_value(json_object_get(f, "conflicts")) ? "  CONFLICT" : "");
  }
}

static int files_run(cli_ctx *c, const cli_args *a)
{
  char upn[14] = "", q[CLI_QUOTE_LEN], hex[2 * CRDT_FILE_LEN + 1];
  uint8_t *ids = NULL;
  json_t *arr;
  cli_sess ss;
  size_t n = 0;
  int rc;

  if (a->val[0] && (rc = cli_upn_arg(c, a->val[0], upn)) != CLI_OK)
    return rc;
  if (a->val[2] && strcmp(a->val[2], "open") != 0 && strcmp(a->val[2], "closed") != 0)
    return cli_usage(c, "--status %s: open or closed", cli_quote(a->val[2], q));
  if (a->val[3] && crdt_fs_check(CRDT_FS_PLAN, bt_strz(a->val[3])) != BT_OK)
    return cli_usage(c, "--plan %s: one of cp, cin, lac, eh, none", cli_quote(a->val[3], q));
  if ((rc = cli_sess_open(c, NODE_DO_READ_FILE, &ss)) != CLI_OK)
    return rc;
  if ((rc = node_files_as(ss.s, ss.u.role, &ids, &n)) != BT_OK) {
    rc = cli_node_fail(c, &ss, "listing files", rc);
    cli_sess_close(&ss);
    return rc;
  }
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    node_view v;
    if (node_casefile_as(ss.s, ss.u.name, ss.u.role, ids + i * CRDT_FILE_LEN, &v) != BT_OK)
      continue;
    if (v.file && wanted(v.file, a, upn)) {
      cli_hex(ids + i * CRDT_FILE_LEN, CRDT_FILE_LEN, hex);
      json_array_append_new(arr, json_pack("{s:s, s:o, s:I, s:I}", "id", hex, "front",
                                           cli_front_json(v.file), "entries",
                                           (json_int_t)v.nentries, "conflicts",
                                           (json_int_t)v.file->nconflicts));
    }
    node_view_free(&v);
  }
  free(ids);
  cli_sess_close(&ss);
  return cli_out_emit(c, json_pack("{s:o}", "files", arr), files_text);
}

static const cli_opt FILES_OPTS[] = {
  {"--upn", "UPN", 13, "only the file with this UPN"},
  {"--name", "TEXT", 128, "names containing TEXT (any case)"},
  {"--status", "STATUS", 6, "open or closed"},
  {"--plan", "PLAN", 4, "cp, cin, lac, eh or none"},
};

const cli_cmd cli_files_cmd = {
  "files", "list the case files, with their front-sheet summary",
  "Lists the case files this node holds and can read: id (hex), status,\n"
  "plan, names, date of birth, UPN, and CONFLICT when a front-sheet field has\n"
  "more than one value. DSL or deputy.\n",
  FILES_OPTS, 4, NULL, 0, files_run,
};

/* ---- file set / resolve / close / reopen ---------------------------------- */

static int set_field(cli_ctx *c, const cli_args *a, int resolve)
{
  char q[CLI_QUOTE_LEN], names[400] = "", msg[128];
  uint32_t f = crdt_fs_lookup(a->pos[1]);
  crdt_fieldval v;
  uint8_t file[CRDT_FILE_LEN];
  char upn[14];
  crdt_id id;
  cli_sess ss;
  node_view view;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  for (uint32_t k = 1, o = 0; f == 0 && k < CRDT_FS_END && o < sizeof names; k++)
    o += (uint32_t)snprintf(names + o, sizeof names - o, "%s%s", k > 1 ? ", " : "",
                            crdt_fs_name(k));
  if (f == 0)
    return cli_usage(c, "no front-sheet field %s; the fields are: %s", cli_quote(a->pos[1], q),
                     names);
  v = (crdt_fieldval){f, bt_strz(a->pos[2])};
  if (f == CRDT_FS_UPN) {
    if ((rc = cli_upn_arg(c, a->pos[2], upn)) != CLI_OK)
      return rc;
    v.value = bt_strz(upn);
  }
  if ((rc = crdt_fs_check(f, v.value)) != BT_OK)
    return cli_usage(c, "%s cannot be %s: %s", crdt_fs_name(f), cli_quote(a->pos[2], q),
                     rc == BT_EDATE ? "write a date as YYYY-MM-DD" : "not a value it takes");
  if ((rc = cli_sess_open(c, NODE_DO_WRITE_FILE, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_sess_view(c, &ss, file, &view)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  int conflict = view.file->fields[f].conflict;
  node_view_free(&view);
  if (resolve && !conflict) {
    cli_sess_close(&ss);
    return cli_fail(c, "%s is not in conflict: nothing to resolve (use `baton file set`); "
                       "nothing changed", crdt_fs_name(f));
  }
  if ((rc = write_fields(&ss, file, &v, 1, &id)) != BT_OK) {
    rc = cli_node_fail(c, &ss, "writing the front sheet", rc);
    cli_sess_close(&ss);
    return rc;
  }
  cli_sess_close(&ss);
  snprintf(msg, sizeof msg, "%s %s.", conflict ? "Resolved" : "Set", crdt_fs_name(f));
  return cli_out_emit(c, written(msg, file, &id), written_text);
}

static int set_run(cli_ctx *c, const cli_args *a)
{
  return set_field(c, a, 0);
}

static int resolve_run(cli_ctx *c, const cli_args *a)
{
  return set_field(c, a, 1);
}

static const cli_pos SET_POS[] = {{"FILE", 64, 0}, {"FIELD", 32, 0}, {"VALUE", 4096, 0}};

const cli_cmd cli_file_set_cmd = {
  "file set", "change one front-sheet field",
  "Writes VALUE to a front-sheet FIELD (given_name, family_name, other_names,\n"
  "preferred_name, dob, upn, gender, plan_status, rating, social_worker,\n"
  "social_worker_contact, status, opened_on, closed_on, address, carers,\n"
  "agencies, notes). Dates are YYYY-MM-DD; a UPN's check letter is verified.\n"
  "A field in conflict takes this one value from then on. DSL or deputy.\n",
  NULL, 0, SET_POS, 3, set_run,
};

const cli_cmd cli_file_resolve_cmd = {
  "file resolve", "settle a front-sheet conflict with one value",
  "For a FIELD that `baton file show` lists as in conflict (more than one\n"
  "value written without seeing each other): writes VALUE, which replaces\n"
  "them all. Refused when the field is not in conflict. DSL or deputy.\n",
  NULL, 0, SET_POS, 3, resolve_run,
};

static int status_change(cli_ctx *c, const cli_args *a, int close)
{
  char today[11];
  uint8_t file[CRDT_FILE_LEN];
  crdt_fieldval v[2];
  crdt_id id;
  cli_sess ss;
  node_view view;
  int rc, closed;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  crdt_date_format(crdt_date_from_ms(cli_now_ms()), today);
  if ((rc = cli_sess_open(c, NODE_DO_WRITE_FILE, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_sess_view(c, &ss, file, &view)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  const crdt_cf_register *st = &view.file->fields[CRDT_FS_STATUS];
  closed = st->n && !st->conflict && bt_str_eq(st->v[0].value, BT_STR("closed"));
  node_view_free(&view);
  if (closed == close) {
    cli_sess_close(&ss);
    return cli_fail(c, "the file is %s already; nothing changed", close ? "closed" : "open");
  }
  v[0] = (crdt_fieldval){CRDT_FS_STATUS, close ? BT_STR("closed") : BT_STR("open")};
  v[1] = (crdt_fieldval){CRDT_FS_CLOSED, close ? bt_strz(today) : BT_STR("")};
  if ((rc = write_fields(&ss, file, v, 2, &id)) != BT_OK) {
    rc = cli_node_fail(c, &ss, close ? "closing the file" : "reopening the file", rc);
    cli_sess_close(&ss);
    return rc;
  }
  cli_sess_close(&ss);
  return cli_out_emit(c, written(close ? "Closed the file." : "Reopened the file.", file, &id),
                      written_text);
}

static int close_run(cli_ctx *c, const cli_args *a)
{
  return status_change(c, a, 1);
}

static int reopen_run(cli_ctx *c, const cli_args *a)
{
  return status_change(c, a, 0);
}

static const cli_pos FILE_POS[] = {{"FILE", 64, 0}};

const cli_cmd cli_file_close_cmd = {
  "file close", "close a case file (it can be reopened)",
  "Sets the front sheet's status to closed and closed_on to today (UTC).\n"
  "Nothing is deleted. DSL or deputy.\n",
  NULL, 0, FILE_POS, 1, close_run,
};

const cli_cmd cli_file_reopen_cmd = {
  "file reopen", "reopen a closed case file",
  "Sets the status back to open and clears closed_on. DSL or deputy.\n",
  NULL, 0, FILE_POS, 1, reopen_run,
};

/* ---- tags ------------------------------------------------------------------ */

static int tag_run(cli_ctx *c, const cli_args *a, int add)
{
  char q[CLI_QUOTE_LEN];
  uint8_t file[CRDT_FILE_LEN];
  crdt_body b = {0};
  crdt_id id;
  cli_sess ss;
  node_view view;
  int rc, has = 0;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if (strcmp(a->pos[1], "extract") == 0)
    return cli_usage(c, "the tag 'extract' is Baton's own (it marks extracts)");
  if ((rc = cli_sess_open(c, NODE_DO_WRITE_FILE, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_sess_view(c, &ss, file, &view)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  for (size_t i = 0; i < view.file->ntags; i++)
    has |= bt_str_eq(view.file->tags[i], bt_strz(a->pos[1]));
  node_view_free(&view);
  if (has == add) {
    cli_sess_close(&ss);
    return cli_fail(c, "the file %s the tag %s; nothing changed", add ? "has" : "does not have",
                    cli_quote(a->pos[1], q));
  }
  b.type = add ? CRDT_OP_TAG_ADD : CRDT_OP_TAG_DEL;
  b.u.tag.tag = bt_strz(a->pos[1]);
  if ((rc = node_author_as(ss.s, ss.u.name, ss.u.role, file, &b, &id)) != BT_OK) {
    rc = cli_node_fail(c, &ss, "tagging the file", rc);
    cli_sess_close(&ss);
    return rc;
  }
  cli_sess_close(&ss);
  return cli_out_emit(c, written(add ? "Tag added." : "Tag removed.", file, &id), written_text);
}

static int tag_add_run(cli_ctx *c, const cli_args *a)
{
  return tag_run(c, a, 1);
}

static int tag_del_run(cli_ctx *c, const cli_args *a)
{
  return tag_run(c, a, 0);
}

static const cli_pos TAG_POS[] = {{"FILE", 64, 0}, {"TAG", 64, 0}};

const cli_cmd cli_tag_add_cmd = {
  "tag add", "add a tag to a case file",
  "Adds TAG (one line, at most 64 bytes) to the file's tags. DSL or deputy.\n",
  NULL, 0, TAG_POS, 2, tag_add_run,
};

const cli_cmd cli_tag_remove_cmd = {
  "tag remove", "remove a tag from a case file",
  "Removes TAG. A tag added elsewhere at the same time (not yet seen here)\n"
  "stays: adds win. DSL or deputy.\n",
  NULL, 0, TAG_POS, 2, tag_del_run,
};
