/* cli/record.c: the commands that add entries to a case file (docs/cli.md,
 * "Recording").
 *
 * Each command is a table (struct spec): the op type, which options and
 * arguments fill which schema fields, and the defaults it fills from the
 * signed-in user and the clock. All of them run the same steps: build one
 * JSON object (--from FILE, then the options, or prompts at a terminal),
 * turn it into the record by the schema's field names (cli/rec.h), fill
 * the defaults and check the record, all before the store is opened; then
 * sign in, resolve entry ids among what the user may see, and write. An
 * error at any step leaves the store as it was. Records are never edited:
 * `correct` adds an entry that points at the one it corrects. */
#define _POSIX_C_SOURCE 200809L
#include "cli/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/body.h"
#include "crdt/err.h"

#define MAX_MAP 8

typedef struct {
  const char *field; /* schema field */
  int opt;           /* index into the command's options, or -1 */
  int pos;           /* index into its positionals (1: the id after FILE), or -1 */
  uint32_t want;     /* for id fields: the type the entry must be (0: any) */
} fmap;

typedef struct {
  uint32_t type;
  int from;          /* index of --from, or -1 */
  int prompt;        /* ask at a terminal when nothing else is given */
  int need_from;     /* nothing can be given without --from */
  const char *auto_fields; /* filled by the command: not asked for */
  fmap map[MAX_MAP];
  size_t nmap;
  void (*defaults)(crdt_body *b, const char *user, const char *role, uint64_t now,
                   char *buf, size_t len);
  const char *done;  /* "Concern logged." */
} spec;

static const spec *spec_of(const cli_ctx *c);

/* ---- defaults -------------------------------------------------------------- */

#define SETSTR(x, v) do { if ((x).len == 0) (x) = bt_strz(v); } while (0)
#define SETNUM(x, v) do { if ((x) == 0) (x) = (v); } while (0)

static void who(char *buf, size_t len, const char *user, const char *role)
{
  snprintf(buf, len, "%s (%s)", user, role);
}

static void concern_def(crdt_body *b, const char *user, const char *role, uint64_t now,
                        char *buf, size_t len)
{
  (void)buf, (void)len;
  SETNUM(b->u.concern.written_at, now);
  SETSTR(b->u.concern.author_name, user);
  SETSTR(b->u.concern.author_role, role);
}

static void review_def(crdt_body *b, const char *user, const char *role, uint64_t now,
                       char *buf, size_t len)
{
  (void)role, (void)buf, (void)len;
  SETNUM(b->u.review.received_at, now);
  SETSTR(b->u.review.reviewer, user);
}

static void chrono_def(crdt_body *b, const char *user, const char *role, uint64_t now,
                       char *buf, size_t len)
{
  who(buf, len, user, role);
  SETNUM(b->u.chrono.event_at, now);
  SETSTR(b->u.chrono.recorded_by, buf);
}

static void bodymap_def(crdt_body *b, const char *user, const char *role, uint64_t now,
                        char *buf, size_t len)
{
  (void)buf, (void)len;
  SETNUM(b->u.bodymap.observed_at, now);
  SETSTR(b->u.bodymap.observer_name, user);
  SETSTR(b->u.bodymap.observer_role, role);
}

static void done_def(crdt_body *b, const char *user, const char *role, uint64_t now,
                     char *buf, size_t len)
{
  (void)user, (void)role, (void)buf, (void)len;
  SETNUM(b->u.done.done_at, now);
}

/* ---- the steps ----------------------------------------------------------------- */

typedef struct {
  const cli_ctx *c;
  const spec *sp;
  const node_view *v; /* NULL: check the form only */
} idctx;

static int find_id(void *ctx, const char *field, const char *hex, crdt_id *out)
{
  const idctx *x = ctx;
  uint32_t want = 0;
  char q[CLI_QUOTE_LEN];

  for (size_t k = 0; k < x->sp->nmap; k++)
    if (strcmp(x->sp->map[k].field, field) == 0)
      want = x->sp->map[k].want;
  if (x->v == NULL) {
    size_t n = strlen(hex);
    if (n < CLI_ID_MIN || n > 2 * CRDT_ID_LEN || strspn(hex, "0123456789abcdefABCDEF") != n)
      return cli_usage(x->c, "%s %s is not an entry id (8 to 64 hex characters, as `baton "
                             "file show` gives it)", field, cli_quote(hex, q));
    memset(out->b, 0xff, CRDT_ID_LEN); /* a stand-in until the file is read */
    return CLI_OK;
  }
  return cli_entry_find(x->c, x->v, field, hex, want, out);
}

static const char *hint(const crdt_field *f)
{
  switch (f->kind) {
  case CRDT_F_TIME: return " [UTC, YYYY-MM-DDTHH:MM]";
  case CRDT_F_DATE: return " [YYYY-MM-DD]";
  case CRDT_F_YESNO: return " [yes/no]";
  case CRDT_F_TEXT: return " [end with an empty line]";
  default: return "";
  }
}

/* Asks for each field at the terminal (stderr prompts, stdin answers),
 * except those the command fills itself (auto_fields); a required field
 * is asked again until answered. */
static int ask(const cli_ctx *c, const spec *sp, const crdt_schema *s, json_t *o)
{
  char line[4096];

  fprintf(stderr, "Answer each question; leave one empty to skip it.\n");
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    json_t *acc = NULL;
    if (f->kind == CRDT_F_ID || f->kind == CRDT_F_LIST || f->kind == CRDT_F_BIN ||
        (sp->auto_fields && strstr(sp->auto_fields, f->name)))
      continue;
  again:
    fprintf(stderr, "%s%s%s: ", f->name, f->req ? " (required)" : "", hint(f));
    while (fgets(line, sizeof line, stdin) && line[0] != '\n') {
      line[strcspn(line, "\n")] = '\0';
      if (acc == NULL) {
        acc = json_string(line);
      } else {
        size_t n = json_string_length(acc) + strlen(line) + 2;
        char *j = malloc(n);
        if (j == NULL)
          return cli_fail(c, "out of memory");
        snprintf(j, n, "%s\n%s", json_string_value(acc), line);
        json_string_set(acc, j);
        free(j);
      }
      if (f->kind != CRDT_F_TEXT)
        break;
    }
    if (acc == NULL && f->req && !feof(stdin))
      goto again;
    if (acc)
      json_object_set_new(o, f->name, acc);
  }
  return CLI_OK;
}

/* The input as one JSON object: --from FILE, the options, the ids. */
static int gather(const cli_ctx *c, const cli_cmd *cmd, const cli_args *a, const spec *sp,
                  json_t **out)
{
  json_t *o = NULL;
  int given = 0, rc;

  if (sp->from >= 0 && a->val[sp->from]) {
    if ((rc = cli_rec_load(c, a->val[sp->from], &o)) != CLI_OK)
      return rc;
    given = 1;
  } else if ((o = json_object()) == NULL) {
    return cli_fail(c, "out of memory");
  }
  for (size_t k = 0; k < sp->nmap; k++) {
    const fmap *m = &sp->map[k];
    const char *v = m->opt >= 0 ? a->val[m->opt] : m->pos >= 0 ? a->pos[m->pos] : NULL;
    if (v == NULL)
      continue;
    if (json_object_get(o, m->field)) {
      json_decref(o);
      return cli_usage(c, "%s is given both in %s and as %s: give it once", m->field,
                       a->val[sp->from], m->opt >= 0 ? cmd->opts[m->opt].name
                                                     : cmd->pos[m->pos].name);
    }
    json_object_set_new(o, m->field, json_string(v));
    given |= m->opt >= 0;
  }
  if (!given && sp->need_from) {
    json_decref(o);
    return cli_usage(c, "give the record with --from FILE (a JSON object with the fields "
                        "`baton help %s` lists)", cmd->name);
  }
  if (!given && sp->prompt) {
    if (!isatty(0)) {
      json_decref(o);
      return cli_usage(c, "give the record with --from FILE (a JSON object), or run at a "
                          "terminal to be asked for each field");
    }
    if ((rc = ask(c, sp, crdt_body_schema(sp->type), o)) != CLI_OK) {
      json_decref(o);
      return rc;
    }
  }
  *out = o;
  return CLI_OK;
}

/* JSON into b (defaults filled, checked); v NULL: before the store is read. */
static int build(const cli_ctx *c, const cli_args *a, const spec *sp, const json_t *o,
                 const node_view *v, const char *user, const char *role, cli_rec_arena *ar,
                 crdt_body *b, char *buf, size_t len)
{
  const crdt_schema *s = crdt_body_schema(sp->type);
  const char *what = sp->from >= 0 && a->val[sp->from] ? a->val[sp->from] : "the options";
  int bad = sp->from >= 0 && a->val[sp->from] ? CLI_ERROR : CLI_USAGE;
  idctx x = {c, sp, v};
  cli_rec_ids ids = {find_id, &x};
  int rc;

  cli_rec_arena_free(ar);
  memset(b, 0, sizeof(*b));
  b->type = sp->type;
  if ((rc = cli_rec_from_json(c, what, bad, s, o, &ids, ar, &b->u)) != CLI_OK)
    return rc;
  if (sp->defaults)
    sp->defaults(b, user, role, cli_now_ms(), buf, len);
  return cli_rec_check(c, what, bad, s, &b->u);
}

static void done_text(const json_t *doc)
{
  printf("%s\n", cli_out_get(doc, "message"));
  cli_out_row("file", cli_out_get(doc, "file"));
  cli_out_row("entry", cli_out_get(doc, "id"));
}

static int record_run(cli_ctx *c, const cli_args *a)
{
  const cli_cmd *cmd = cli_cmd_find(c->cmd);
  const spec *sp = spec_of(c);
  char buf[CRDT_STR_MAX], f[2 * CRDT_FILE_LEN + 1], i[2 * CRDT_ID_LEN + 1];
  const char *user = cli_login_name(c);
  uint8_t file[CRDT_FILE_LEN];
  cli_rec_arena ar = {0};
  crdt_body b;
  json_t *o = NULL;
  node_view v;
  crdt_id id;
  cli_sess ss;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if (user == NULL)
    return cli_usage(c, "this needs a staff user: give --user NAME (or set BATON_USER)");
  if ((rc = gather(c, cmd, a, sp, &o)) != CLI_OK)
    return rc;
  rc = build(c, a, sp, o, NULL, user, "staff", &ar, &b, buf, sizeof buf);
  if (rc == CLI_OK && (rc = cli_sess_open(c, node_action_for(sp->type), &ss)) == CLI_OK) {
    if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) == CLI_OK &&
        (rc = cli_sess_view(c, &ss, file, &v)) == CLI_OK) {
      rc = build(c, a, sp, o, &v, ss.u.name, node_role_name(ss.u.role), &ar, &b, buf,
                 sizeof buf);
      if (rc == CLI_OK &&
          (rc = node_author_as(ss.s, ss.u.name, ss.u.role, file, &b, &id)) != BT_OK)
        rc = cli_node_fail(c, &ss, "recording", rc);
      node_view_free(&v);
    }
    cli_sess_close(&ss);
  }
  cli_rec_arena_free(&ar);
  json_decref(o);
  if (rc != CLI_OK)
    return rc;
  cli_hex(file, CRDT_FILE_LEN, f);
  cli_hex(id.b, CRDT_ID_LEN, i);
  return cli_out_emit(c, json_pack("{s:s, s:s, s:s, s:s}", "message", sp->done, "file", f,
                                   "id", i, "type", crdt_optype_name(sp->type)),
                      done_text);
}

/* ---- the commands ------------------------------------------------------------ */

#define FROM {"--from", "FILE", CLI_PATH_MAX, "the record as a JSON object (fields as below)"}

static const spec S_CONCERN = {
  CRDT_OP_CONCERN, 0, 1, 0, "written_at author_name author_role", {{0}}, 0, concern_def, "Concern logged.",
};
static const spec S_REVIEW = {
  CRDT_OP_REVIEW, 0, 0, 0, NULL,
  {{"concern", -1, 1, CRDT_OP_CONCERN}, {"action", 1, -1, 0}, {"received_from", 2, -1, 0},
   {"received_at", 3, -1, 0}, {"referred", 4, -1, 0}, {"parents_informed", 5, -1, 0},
   {"outcome", 6, -1, 0}, {"reasons", 7, -1, 0}},
  8, review_def, "Review recorded.",
};
static const spec S_CHRONO = {
  CRDT_OP_CHRONO, 0, 0, 0, NULL,
  {{"category", 1, -1, 0}, {"summary", 2, -1, 0}, {"event_at", 3, -1, 0},
   {"with_whom", 4, -1, 0}},
  4, chrono_def, "Chronology entry added.",
};
static const spec S_BODYMAP = {
  CRDT_OP_BODYMAP, 0, 0, 1, NULL, {{"concern", 1, -1, CRDT_OP_CONCERN}}, 1, bodymap_def,
  "Body map recorded.",
};
static const spec S_REFLECT = {
  CRDT_OP_REFLECT, 0, 0, 1, NULL, {{"about", 1, -1, 0}}, 1, NULL, "Reflection recorded.",
};
static const spec S_ACTION = {
  CRDT_OP_ACTION, 0, 0, 0, NULL,
  {{"what", 1, -1, 0}, {"owner", 2, -1, 0}, {"due", 3, -1, 0}, {"about", 4, -1, 0}},
  4, NULL, "Action added.",
};
static const spec S_DONE = {
  CRDT_OP_ACTION_DONE, -1, 0, 0, NULL,
  {{"action", -1, 1, CRDT_OP_ACTION}, {"note", 0, -1, 0}, {"done_at", 1, -1, 0}},
  3, done_def, "Action marked done.",
};
static const spec S_CORRECT = {
  CRDT_OP_CORRECTION, -1, 0, 0, NULL,
  {{"target", -1, 1, 0}, {"reason", 0, -1, 0}, {"text", 1, -1, 0}},
  3, NULL, "Correction added (the entry it corrects stays, marked corrected).",
};

static const cli_pos P_FILE[] = {{"FILE", 64, 0}};
static const cli_pos P_CONCERN[] = {{"FILE", 64, 0}, {"CONCERN_ID", 64, 0}};
static const cli_pos P_ACTION[] = {{"FILE", 64, 0}, {"ACTION_ID", 64, 0}};
static const cli_pos P_ENTRY[] = {{"FILE", 64, 0}, {"ENTRY_ID", 64, 0}};

static const cli_opt O_FROM[] = {FROM};
static const cli_opt O_REVIEW[] = {
  FROM,
  {"--action", "TEXT", 4096, "the action taken, with reasons (required unless in FILE)"},
  {"--received-from", "NAME", 256, "who passed the concern on"},
  {"--received-at", "TIME", 20, "when the DSL received it (default now)"},
  {"--referred", "YES|NO", 8, "referred to children's social care"},
  {"--parents-informed", "YES|NO", 8, "parents or carers informed"},
  {"--outcome", "TEXT", 4096, "the outcome"},
  {"--reasons", "TEXT", 4096, "reasons, including for a decision not to refer"},
};
static const cli_opt O_CHRONO[] = {
  FROM,
  {"--category", "C", 16, "concern, contact, call, meeting, referral, visit, encompass, "
                          "transfer or other"},
  {"--summary", "TEXT", 4096, "what happened, briefly"},
  {"--at", "TIME", 20, "when (UTC, YYYY-MM-DDTHH:MM; default now)"},
  {"--with", "WHO", 256, "the people or agency contacted"},
};
static const cli_opt O_BODYMAP[] = {FROM, {"--concern", "ID", 64, "the concern it goes with"}};
static const cli_opt O_REFLECT[] = {FROM, {"--about", "ID", 64, "the body map or concern"}};
static const cli_opt O_ACTION[] = {
  FROM,
  {"--what", "TEXT", 4096, "what is to be done"},
  {"--owner", "WHO", 256, "who is to do it"},
  {"--due", "DATE", 10, "by when, YYYY-MM-DD"},
  {"--about", "ID", 64, "the entry it follows from"},
};
static const cli_opt O_DONE[] = {
  {"--note", "TEXT", 4096, "how it was done"},
  {"--at", "TIME", 20, "when (default now)"},
};
static const cli_opt O_CORRECT[] = {
  {"--reason", "TEXT", 4096, "why the entry is corrected (required)"},
  {"--text", "TEXT", 16384, "the corrected account"},
};

static const struct { const char *name; const spec *sp; } SPECS[] = {
  {"concern log", &S_CONCERN}, {"concern review", &S_REVIEW}, {"chrono add", &S_CHRONO},
  {"bodymap add", &S_BODYMAP}, {"reflect add", &S_REFLECT}, {"action add", &S_ACTION},
  {"action done", &S_DONE}, {"correct", &S_CORRECT},
};

static const spec *spec_of(const cli_ctx *c)
{
  for (size_t k = 0; k < sizeof SPECS / sizeof SPECS[0]; k++)
    if (strcmp(SPECS[k].name, c->cmd) == 0)
      return SPECS[k].sp;
  return &S_CONCERN; /* not reached: every command below is in SPECS */
}

const cli_cmd cli_concern_log_cmd = {
  "concern log", "record a concern about a child (Part 1)",
  "Any member of staff records what they saw or heard. The record comes from\n"
  "--from FILE, a JSON object with these fields: incident_at, reason, facts\n"
  "(required), where, who, witnesses, child_words (the child's own words),\n"
  "opinion (kept apart from the facts), actions_taken, passed_to; written_at,\n"
  "author_name and author_role default to now and the signed-in user. At a\n"
  "terminal without --from, each field is asked for. Times are UTC,\n"
  "YYYY-MM-DDTHH:MM. FILE is the whole file id the DSL gave.\n",
  O_FROM, 1, P_FILE, 1, record_run,
};

const cli_cmd cli_concern_review_cmd = {
  "concern review", "the DSL's review of a concern (Part 2)",
  "Records the DSL's Part 2 for CONCERN_ID: received_at, received_from,\n"
  "advice_sought, action (required), reasons, referred, parents_informed,\n"
  "parents_why, outcome, info_held, open_cp_file, reviewer (default: you),\n"
  "from --from FILE and the options. DSL or deputy.\n",
  O_REVIEW, 8, P_CONCERN, 2, record_run,
};

const cli_cmd cli_chrono_add_cmd = {
  "chrono add", "add an entry to the chronology",
  "A brief dated entry: --category and --summary are required; --at defaults\n"
  "to now; recorded_by is you. DSL or deputy.\n",
  O_CHRONO, 5, P_FILE, 1, record_run,
};

const cli_cmd cli_bodymap_add_cmd = {
  "bodymap add", "record a body map (marks observed; never photographs)",
  "--from FILE: {\"observed_at\", \"concern\", \"marks\": [{\"view\": front|back,\n"
  "\"x\", \"y\" (0..1000), \"site\" (required), \"size\", \"shape\", \"colour\",\n"
  "\"skin_broken\", \"swelling\", \"scab\", \"blistering\", \"bleeding\", \"clean\":\n"
  "clean|dirty, \"mobility\", \"heat\", \"pain\", \"notes\"}]}. Yes/no fields are\n"
  "true or false. The observer is you, at now, unless given. DSL or deputy.\n",
  O_BODYMAP, 2, P_FILE, 1, record_run,
};

const cli_cmd cli_reflect_add_cmd = {
  "reflect add", "record an existing-injury reflection",
  "--from FILE: {\"about\", \"prior_concerns\", \"last_injuries\", \"pattern\",\n"
  "\"explanation\": consistent|conflicting|none, \"explanation_text\", \"risk\":\n"
  "low|medium|high (required), \"actions\": [{\"what\", \"who\", \"by\"}],\n"
  "\"referral\", \"reviewed_by\"}. DSL or deputy.\n",
  O_REFLECT, 2, P_FILE, 1, record_run,
};

const cli_cmd cli_action_add_cmd = {
  "action add", "add an action to follow up",
  "--what is required; --owner, --due DATE and --about ENTRY_ID are optional.\n"
  "Mark it done with `baton action done`. DSL or deputy.\n",
  O_ACTION, 5, P_FILE, 1, record_run,
};

const cli_cmd cli_action_done_cmd = {
  "action done", "mark an action done",
  "Records that ACTION_ID was done (--at, default now) with an optional\n"
  "--note. DSL or deputy.\n",
  O_DONE, 2, P_ACTION, 2, record_run,
};

const cli_cmd cli_correct_cmd = {
  "correct", "correct an entry (it stays, with the correction pointing at it)",
  "Records are never altered: this adds a correction of ENTRY_ID with\n"
  "--reason (required) and the corrected --text. DSL or deputy.\n",
  O_CORRECT, 2, P_ENTRY, 2, record_run,
};
