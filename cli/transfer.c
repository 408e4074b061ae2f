/* cli/transfer.c: `baton transfer start|ack|reject|close` and `baton
 * transfers`: moving a child's file to the new school within the five-day
 * window (node/transfer.h; docs/transfer.md).
 *
 * Each command first lets the node catch up (node_transfer_tick: delivery
 * notes it owes, grants of rejected transfers it revokes), so what is shown
 * is what the store holds now. A transfer is named by its start's id (hex,
 * a prefix of 8 or more); when a file has only one transfer the command
 * can act on, the id may be left out. */
#include "cli/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/orgref.h"
#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/transfer.h"

static const char *const DIR_WORDS[] = {"", "out", "in", "other"};
static const char *const RETAIN_WORDS[] = {"", "keep", "chronology", "log"};

static int tick(const cli_ctx *c, cli_sess *ss)
{
  int rc = node_transfer_tick(ss->s, cli_now_ms(), NULL);

  return rc == BT_OK ? CLI_OK : cli_node_fail(c, ss, "bringing transfers up to date", rc);
}

static uint32_t today(void)
{
  return crdt_date_from_ms(cli_now_ms());
}

static json_t *date_json(uint32_t ymd)
{
  char d[11];

  if (ymd == 0)
    return json_null();
  crdt_date_format(ymd, d);
  return json_string(d);
}

static json_t *time_json(uint64_t ms)
{
  char t[32];

  if (ms == 0)
    return json_null();
  cli_out_time(ms, t, sizeof t);
  return json_string(t);
}

static json_t *info_json(cli_sess *ss, const node_xfer_info *x, uint32_t now)
{
  char file[2 * CRDT_FILE_LEN + 1], id[2 * CRDT_ID_LEN + 1];
  int32_t left = 0;
  int have_left = node_transfer_days_left(ss->s, x, now, &left) == BT_OK;
  int overdue = node_transfer_overdue(x, now);
  const char *status = overdue ? "overdue" : crdt_xfer_status_name(x->status);

  cli_hex(x->file, CRDT_FILE_LEN, file);
  cli_hex(x->start.b, CRDT_ID_LEN, id);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:o, s:s, s:i, s:o, s:o, "
                   "s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                   "transfer", id, "file", file, "direction", DIR_WORDS[x->dir], "status",
                   status, "state", crdt_xfer_status_name(x->status), "overdue", overdue,
                   "via_la", x->via_la, "on_roll", date_json(x->on_roll), "leaving",
                   date_json(x->leaving), "deadline", date_json(x->deadline), "days",
                   x->days == 2 ? "school" : "working", "count", (int)x->count, "days_left",
                   have_left ? json_integer(left) : json_null(), "from_org",
                   cli_out_fpr(x->from_org.b), "to_org", cli_out_fpr(x->to_org.b), "to_name",
                   json_string(x->to_name), "started_by", x->started_by, "started_at",
                   time_json(x->started_at), "delivered_at", time_json(x->delivered_at),
                   "acknowledged_at", time_json(x->acked_at), "acknowledged_by",
                   x->acked_by[0] ? json_string(x->acked_by) : json_null(), "stored",
                   x->stored[0] ? json_string(x->stored) : json_null(), "rejected_at",
                   time_json(x->rejected_at), "closed_at", time_json(x->closed_at),
                   "retention", x->retain ? json_string(RETAIN_WORDS[x->retain]) : json_null(),
                   "disputed", json_boolean(x->disputed));
}

/* The summaries of file (all files when file is NULL) this node holds. */
static int load(const cli_ctx *c, cli_sess *ss, node_xfer_info **xs, size_t *n)
{
  int rc = node_transfer_list_as(ss->s, ss->u.role, xs, n);

  return rc == BT_OK ? CLI_OK : cli_node_fail(c, ss, "listing transfers", rc);
}

/* The one transfer of file in direction dir named by hex (or the only one
 * with a state in want, a bit set of crdt_xfer_status, when hex is NULL). */
static int pick(const cli_ctx *c, cli_sess *ss, const uint8_t *file, const char *hex,
                uint32_t dir, unsigned want, node_xfer_info *out)
{
  node_xfer_info *xs;
  size_t n, hits = 0;
  char id[2 * CRDT_ID_LEN + 1], q[CLI_QUOTE_LEN];
  int rc;

  if ((rc = load(c, ss, &xs, &n)) != CLI_OK)
    return rc;
  for (size_t i = 0; i < n; i++) {
    if (memcmp(xs[i].file, file, CRDT_FILE_LEN) != 0 || xs[i].dir != dir)
      continue;
    cli_hex(xs[i].start.b, CRDT_ID_LEN, id);
    if (hex ? strncasecmp(id, hex, strlen(hex)) != 0 : !(want & (1u << xs[i].status)))
      continue;
    if (hits++ == 0)
      *out = xs[i];
  }
  free(xs);
  if (hits == 1)
    return CLI_OK;
  if (hits == 0 && hex)
    return cli_fail(c, "no transfer %s %s this node in that file (`baton transfers` lists "
                       "them)", cli_quote(hex, q), dir == NODE_XFER_IN ? "to" : "from");
  if (hits == 0)
    return cli_fail(c, "that file has no transfer %s this node in a state that allows this "
                       "(`baton transfers` lists them)", dir == NODE_XFER_IN ? "to" : "from");
  return cli_fail(c, "that file has %zu such transfers: name one by its id (`baton transfers`)",
                  hits);
}

static void one_text(const json_t *doc)
{
  printf("%s\n", cli_out_get(doc, "message"));
  cli_out_row("transfer", cli_out_get(doc, "transfer"));
  cli_out_row("file", cli_out_get(doc, "file"));
  if (cli_out_get(doc, "to_name"))
    cli_out_row("to", cli_out_get(doc, "to_name"));
  if (cli_out_get(doc, "deadline"))
    cli_out_row("deadline", cli_out_get(doc, "deadline"));
  cli_out_row("status", cli_out_get(doc, "status"));
}

/* Prints the transfer after a change, with a message. */
static int show_one(const cli_ctx *c, cli_sess *ss, const uint8_t *file, const crdt_id *start,
                    const char *message)
{
  node_xfer_info *xs;
  size_t n;
  json_t *doc = NULL;
  int rc;

  if ((rc = tick(c, ss)) != CLI_OK || (rc = load(c, ss, &xs, &n)) != CLI_OK)
    return rc;
  for (size_t i = 0; i < n && doc == NULL; i++)
    if (memcmp(xs[i].file, file, CRDT_FILE_LEN) == 0 && crdt_id_cmp(&xs[i].start, start) == 0)
      doc = info_json(ss, &xs[i], today());
  free(xs);
  if (doc == NULL)
    return cli_fail(c, "the transfer was written but cannot be read back");
  json_object_set_new(doc, "message", json_string(message));
  return cli_out_emit(c, doc, one_text);
}

/* ---- transfer start ------------------------------------------------------ */

enum { S_TO, S_LA, S_ROLL, S_LEAVING, S_NOTE };

static const cli_opt START_OPTS[] = {
  [S_TO] = {"--to", "ORG", 128, "the new school: name, URN, LAESTAB or fingerprint"},
  [S_LA] = {"--to-la", NULL, 0, "the new school is not known: send the file to the LA"},
  [S_ROLL] = {"--on-roll", "DATE", 10, "the day the child goes on roll there (YYYY-MM-DD)"},
  [S_LEAVING] = {"--leaving", "DATE", 10, "the day the child left (YYYY-MM-DD)"},
  [S_NOTE] = {"--note", "TEXT", 4096, "what is sent, for the receiving DSL"},
};
static const cli_pos FILE_POS[] = {{"FILE", 2 * CRDT_FILE_LEN, 0},
                                   {"TRANSFER", 2 * CRDT_ID_LEN, 1}};

static int start_run(cli_ctx *c, const cli_args *a)
{
  node_transfer_req r = {0};
  uint8_t file[CRDT_FILE_LEN];
  cli_sess ss;
  cli_org org;
  crdt_id start;
  uint32_t deadline;
  char msg[256], d[11];
  int rc;

  if (!!a->val[S_TO] == !!a->val[S_LA])
    return cli_usage(c, "give the new school with --to ORG, or --to-la when it is not known");
  if (a->val[S_LA] == NULL && a->val[S_ROLL] == NULL)
    return cli_usage(c, "--on-roll DATE is needed: the deadline counts from the day the child "
                        "goes on roll at the new school");
  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK)
    return rc;
  if (a->val[S_ROLL] && (rc = cli_date_arg(c, "--on-roll", a->val[S_ROLL], &r.on_roll)))
    return rc;
  if (a->val[S_LEAVING] && (rc = cli_date_arg(c, "--leaving", a->val[S_LEAVING], &r.leaving)))
    return rc;
  if (r.on_roll && r.leaving > r.on_roll)
    return cli_usage(c, "--leaving is after --on-roll: the child leaves before going on roll "
                        "at the new school");
  if (a->npos > 1)
    return cli_usage(c, "transfer start takes only FILE");
  if ((rc = cli_sess_open(c, NODE_DO_TRANSFER, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) != CLI_OK ||
      (rc = cli_org_find(c, ss.s, a->val[S_TO], cli_now_ms(), &org)) != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  r.org_cert = org.cert;
  r.org_cert_len = org.cert_len;
  r.via_la = a->val[S_LA] != NULL;
  r.today = today();
  r.note = a->val[S_NOTE];
  rc = node_transfer_start_as(ss.s, ss.u.name, ss.u.role, file, &r, &start, &deadline);
  if (rc == BT_EHOLIDAYS)
    rc = cli_fail(c, "the deadline falls in a year whose bank holidays this node does not know: "
                     "`baton calendar import bank-holidays.json` first; nothing changed");
  else if (rc == BT_ETERMS)
    rc = cli_fail(c, "the deadline needs term dates this node does not have: `baton calendar "
                     "terms` first; nothing changed");
  else if (rc == BT_EDUP)
    rc = cli_fail(c, "%s already has access to this file (a transfer or a grant): see `baton "
                     "transfers` and `baton grants`; nothing changed", org.name);
  else if (rc == BT_EINVAL)
    rc = cli_fail(c, "the dates do not fit: the child leaves on or before the on-roll date, "
                     "and the deadline (from the on-roll date, or today with --to-la) comes "
                     "after both; nothing changed");
  else if (rc != BT_OK)
    rc = cli_node_fail(c, &ss, "starting the transfer", rc);
  else {
    crdt_date_format(deadline, d);
    snprintf(msg, sizeof msg, "Transfer started to %s: receipt due by %s.", org.name, d);
    rc = show_one(c, &ss, file, &start, msg);
  }
  cli_org_free(&org);
  cli_sess_close(&ss);
  return rc;
}

const cli_cmd cli_transfer_start_cmd = {
  .name = "transfer start",
  .summary = "send a child's file to the new school, with its deadline",
  .about = "Grants the new school the file's keys (a transfer grant: lawful basis public\n"
           "task, KCSiE Annex C) and records the transfer with its deadline: by default 5\n"
           "working days after the on-roll date (`baton calendar` shows the rule). The file\n"
           "goes at the next sync, directly or through the LA relay. With --to-la (new\n"
           "school not known) it goes to the LA, counted from today.",
  .opts = START_OPTS,
  .nopts = sizeof START_OPTS / sizeof START_OPTS[0],
  .pos = FILE_POS,
  .npos = 2,
  .run = start_run,
};

/* ---- transfer ack / reject / close -------------------------------------- */

/* What ack, reject and close do once the transfer is found: node/'s call
 * and its messages. Returns an exit code. */
typedef int (*xfer_act)(const cli_ctx *c, cli_sess *ss, const uint8_t *file,
                        const node_xfer_info *x, const cli_args *a);

/* The common part: FILE [TRANSFER] checked, the user signed in, the node
 * caught up, the transfer of file in direction dir picked (by id, or the
 * only one in a state of want), then act. */
static int on_transfer(cli_ctx *c, const cli_args *a, uint32_t dir, unsigned want, xfer_act act)
{
  uint8_t file[CRDT_FILE_LEN];
  node_xfer_info x;
  cli_sess ss;
  int rc;

  if ((rc = cli_id_arg(c, "FILE", a->pos[0], 2 * CRDT_FILE_LEN)) != CLI_OK ||
      (a->npos > 1 && (rc = cli_id_arg(c, "TRANSFER", a->pos[1], 2 * CRDT_ID_LEN)) != CLI_OK))
    return rc;
  if ((rc = cli_sess_open(c, NODE_DO_TRANSFER, &ss)) != CLI_OK)
    return rc;
  if ((rc = cli_sess_file(c, &ss, a->pos[0], file)) == CLI_OK && (rc = tick(c, &ss)) == CLI_OK &&
      (rc = pick(c, &ss, file, a->npos > 1 ? a->pos[1] : NULL, dir, want, &x)) == CLI_OK)
    rc = act(c, &ss, file, &x, a);
  cli_sess_close(&ss);
  return rc;
}

enum { A_STORED, A_NOTE };
static const cli_opt ACK_OPTS[] = {
  [A_STORED] = {"--stored", "WHERE", 256, "where the file is now kept"},
  [A_NOTE] = {"--note", "TEXT", 4096, "anything the sender should know"},
};

static int ack_do(const cli_ctx *c, cli_sess *ss, const uint8_t *file,
                  const node_xfer_info *x, const cli_args *a)
{
  int rc = node_transfer_ack_as(ss->s, ss->u.name, ss->u.role, file, &x->start,
                                a->val[A_STORED], a->val[A_NOTE]);

  if (rc == BT_ESTATE)
    return cli_fail(c, "that transfer is already acknowledged or closed; nothing changed");
  if (rc == BT_EEPOCH)
    return cli_fail(c, "this node cannot read all of the file yet: sync again, then "
                       "acknowledge; nothing changed");
  if (rc != BT_OK)
    return cli_node_fail(c, ss, "acknowledging the transfer", rc);
  return show_one(c, ss, file, &x->start,
                  "Receipt confirmed: the sender sees it after the next sync.");
}

static int ack_run(cli_ctx *c, const cli_args *a)
{
  return on_transfer(c, a, NODE_XFER_IN, 1u << CRDT_XS_PENDING | 1u << CRDT_XS_DELIVERED,
                     ack_do);
}

const cli_cmd cli_transfer_ack_cmd = {
  .name = "transfer ack",
  .summary = "confirm receipt of a transferred file (receiving DSL)",
  .about = "Records the receiving DSL's confirmation of receipt in the file, signed by this\n"
           "node; the sending school sees it after the next sync, which stops its clock.",
  .opts = ACK_OPTS,
  .nopts = sizeof ACK_OPTS / sizeof ACK_OPTS[0],
  .pos = FILE_POS,
  .npos = 2,
  .run = ack_run,
};

static const cli_opt REJECT_OPTS[] = {
  {"--reason", "TEXT", 4096, "why (required): e.g. not on our roll"},
};

static int reject_do(const cli_ctx *c, cli_sess *ss, const uint8_t *file,
                     const node_xfer_info *x, const cli_args *a)
{
  int rc = node_transfer_reject_as(ss->s, ss->u.name, ss->u.role, file, &x->start, a->val[0]);

  if (rc == BT_ESTATE)
    return cli_fail(c, "that transfer is already rejected or closed; nothing changed");
  if (rc != BT_OK)
    return cli_node_fail(c, ss, "rejecting the transfer", rc);
  return show_one(c, ss, file, &x->start,
                  "Transfer rejected: the sender is told at the next sync, and its node "
                  "withdraws the grant.");
}

static int reject_run(cli_ctx *c, const cli_args *a)
{
  if (a->val[0] == NULL)
    return cli_usage(c, "--reason TEXT is needed: the sender must know why");
  return on_transfer(c, a, NODE_XFER_IN,
                     1u << CRDT_XS_PENDING | 1u << CRDT_XS_DELIVERED | 1u << CRDT_XS_ACKED,
                     reject_do);
}

const cli_cmd cli_transfer_reject_cmd = {
  .name = "transfer reject",
  .summary = "refuse a misdirected transfer, saying why (receiving DSL)",
  .opts = REJECT_OPTS,
  .nopts = 1,
  .pos = FILE_POS,
  .npos = 2,
  .run = reject_run,
};

enum { C_RETAIN, C_UNTIL, C_NOTE };
static const cli_opt CLOSE_OPTS[] = {
  [C_RETAIN] = {"--retain", "WHAT", 16, "keep, chronology (with --keep-until) or log "
                                        "(default keep)"},
  [C_UNTIL] = {"--keep-until", "DATE", 10, "with --retain chronology: until when"},
  [C_NOTE] = {"--note", "TEXT", 4096, "a note for the record"},
};

/* --retain and --keep-until, checked. */
static int retention(const cli_ctx *c, const cli_args *a, uint32_t *retain, uint32_t *until)
{
  const char *w = a->val[C_RETAIN] ? a->val[C_RETAIN] : "keep";

  *retain = *until = 0;
  for (uint32_t k = 1; k <= CRDT_RETAIN_LOG; k++)
    if (strcmp(w, RETAIN_WORDS[k]) == 0)
      *retain = k;
  if (*retain == 0)
    return cli_usage(c, "--retain must be keep, chronology or log");
  if ((*retain == CRDT_RETAIN_CHRONO) != (a->val[C_UNTIL] != NULL))
    return cli_usage(c, "--keep-until DATE goes with --retain chronology, and only with it");
  return a->val[C_UNTIL] ? cli_date_arg(c, "--keep-until", a->val[C_UNTIL], until) : CLI_OK;
}

static int close_do(const cli_ctx *c, cli_sess *ss, const uint8_t *file,
                    const node_xfer_info *x, const cli_args *a)
{
  uint32_t retain, until;
  int rc;

  if ((rc = retention(c, a, &retain, &until)) != CLI_OK)
    return rc;
  rc = node_transfer_close_as(ss->s, ss->u.name, ss->u.role, file, &x->start, retain, until,
                              a->val[C_NOTE]);
  if (rc == BT_ESTATE)
    return cli_fail(c, "the receiver has not confirmed receipt (or it is closed already): "
                       "chase it first; nothing changed");
  if (rc == BT_EINVAL)
    return cli_fail(c, "--keep-until is a day already past; nothing changed");
  if (rc != BT_OK)
    return cli_node_fail(c, ss, "closing the transfer", rc);
  return show_one(c, ss, file, &x->start, "Transfer closed; the transfer log is kept.");
}

static int close_run(cli_ctx *c, const cli_args *a)
{
  uint32_t retain, until;
  int rc;

  if ((rc = retention(c, a, &retain, &until)) != CLI_OK) /* before signing in */
    return rc;
  return on_transfer(c, a, NODE_XFER_OUT,
                     1u << CRDT_XS_ACKED | 1u << CRDT_XS_REJECTED | 1u << CRDT_XS_WITHDRAWN,
                     close_do);
}

const cli_cmd cli_transfer_close_cmd = {
  .name = "transfer close",
  .summary = "archive the sending school's copy after the receipt (sending DSL)",
  .about = "Records the close and this school's retention choice for its copy: keep it,\n"
           "keep the chronology until a date, or keep only the transfer log. This node then\n"
           "shows only what the choice keeps. Both ends keep the transfer log.",
  .opts = CLOSE_OPTS,
  .nopts = sizeof CLOSE_OPTS / sizeof CLOSE_OPTS[0],
  .pos = FILE_POS,
  .npos = 2,
  .run = close_run,
};

/* ---- transfers -------------------------------------------------------------- */

enum { L_OVERDUE, L_NOW, L_IN, L_OUT, L_FILE };
static const cli_opt LIST_OPTS[] = {
  [L_OVERDUE] = {"--overdue", NULL, 0, "only transfers past their deadline without a receipt"},
  [L_NOW] = {"--now", "DATE", 10, "judge deadlines on this day instead of today"},
  [L_IN] = {"--in", NULL, 0, "only transfers to this school"},
  [L_OUT] = {"--out", NULL, 0, "only transfers from this school"},
  [L_FILE] = {"--file", "FILE", 2 * CRDT_FILE_LEN, "only this file's"},
};

static void list_text(const json_t *doc)
{
  const json_t *xs = json_object_get(doc, "transfers"), *x;
  size_t i;

  if (json_array_size(xs) == 0) {
    printf("No transfers%s.\n", json_is_true(json_object_get(doc, "overdue_only"))
                                  ? " overdue" : "");
    return;
  }
  printf("%-8s %-3s %-12s %-10s %-5s %-16s %s\n", "TRANSFER", "DIR", "STATUS", "DEADLINE",
         "LEFT", "FILE", "ORG");
  json_array_foreach(xs, i, x) {
    const json_t *left = json_object_get(x, "days_left");
    char l[16] = "?";
    if (json_is_integer(left))
      snprintf(l, sizeof l, "%" JSON_INTEGER_FORMAT, json_integer_value(left));
    printf("%.8s %-3s %-12s %-10s %-5s %.16s %s\n", cli_out_get(x, "transfer"),
           cli_out_get(x, "direction"), cli_out_get(x, "status"), cli_out_get(x, "deadline"), l,
           cli_out_get(x, "file"), cli_out_get(x, "to_name"));
  }
  printf("\n%" JSON_INTEGER_FORMAT " overdue on %s.\n",
         json_integer_value(json_object_get(doc, "overdue")), cli_out_get(doc, "now"));
}

static int list_run(cli_ctx *c, const cli_args *a)
{
  uint32_t now = today();
  node_xfer_info *xs = NULL;
  uint8_t file[CRDT_FILE_LEN];
  size_t n = 0, overdue = 0;
  json_t *arr;
  cli_sess ss;
  char d[11];
  int rc;

  if (a->val[L_NOW] && (rc = cli_date_arg(c, "--now", a->val[L_NOW], &now)) != CLI_OK)
    return rc;
  if (a->val[L_IN] && a->val[L_OUT])
    return cli_usage(c, "--in and --out together show nothing: give one or neither");
  if (a->val[L_FILE] && (rc = cli_id_arg(c, "--file", a->val[L_FILE], 2 * CRDT_FILE_LEN)))
    return rc;
  if ((rc = cli_sess_open(c, 0, &ss)) != CLI_OK)
    return rc;
  if (!node_may(ss.u.role, NODE_DO_TRANSFER) && !node_may(ss.u.role, NODE_DO_READ_COUNTS)) {
    cli_sess_close(&ss);
    return cli_fail(c, "a %s may not see transfers", node_role_name(ss.u.role));
  }
  if ((a->val[L_FILE] == NULL || (rc = cli_sess_file(c, &ss, a->val[L_FILE], file)) == CLI_OK) &&
      (rc = tick(c, &ss)) == CLI_OK)
    rc = load(c, &ss, &xs, &n);
  if (rc != CLI_OK) {
    cli_sess_close(&ss);
    return rc;
  }
  arr = json_array();
  for (size_t i = 0; i < n && arr; i++) {
    int od = node_transfer_overdue(&xs[i], now);
    if ((a->val[L_OVERDUE] && !od) || (a->val[L_IN] && xs[i].dir != NODE_XFER_IN) ||
        (a->val[L_OUT] && xs[i].dir != NODE_XFER_OUT) ||
        (a->val[L_FILE] && memcmp(xs[i].file, file, CRDT_FILE_LEN) != 0))
      continue;
    /* Only this school's own transfers alert: one between two other orgs
     * (a file this node can read under a referral grant) is listed, not
     * chased from here. */
    overdue += od && xs[i].dir != NODE_XFER_OTHER;
    json_array_append_new(arr, info_json(&ss, &xs[i], now));
  }
  free(xs);
  crdt_date_format(now, d);
  rc = cli_out_emit(c, json_pack("{s:s, s:b, s:I, s:o}", "now", d, "overdue_only",
                                 a->val[L_OVERDUE] != NULL, "overdue", (json_int_t)overdue,
                                 "transfers", arr), list_text);
  cli_sess_close(&ss);
  return rc == CLI_OK && overdue ? CLI_ATTENTION : rc;
}

const cli_cmd cli_transfers_cmd = {
  .name = "transfers",
  .summary = "list transfers in and out, with deadlines; exit 3 if any is overdue",
  .about = "Statuses: pending (sent, not yet held by the receiver), delivered (its node\n"
           "holds and reads the whole file), acknowledged (its DSL confirmed receipt),\n"
           "rejected, closed, withdrawn (the sender revoked its grant before an answer),\n"
           "and overdue (pending or delivered past the deadline). LEFT is\n"
           "the working (or school) days to the deadline: 0 on the day, negative after.\n"
           "Exit status 3 when any transfer listed is overdue, so cron can alert:\n"
           "  baton --user dsl.jones transfers --overdue || mail ...",
  .opts = LIST_OPTS,
  .nopts = sizeof LIST_OPTS / sizeof LIST_OPTS[0],
  .run = list_run,
};
