/* cli/audit.c: `baton audit`.
 *
 * A staff user whose role may read the audit log signs in (cli/session.h);
 * node_audit_list_as / node_audit_verify_as check the role again and write
 * the read itself into the log before reading, so this command cannot
 * read it unseen. Records hold only ids, user names, actions, times and
 * short non-personal details (node/audit.h), so they are shown as stored.
 * --verify exits CLI_ERROR naming the first bad record when the log is not
 * intact. */
#define _POSIX_C_SOURCE 200809L
#include "cli/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/out.h"
#include "cli/rec.h"
#include "cli/session.h"
#include "crdt/err.h"
#include "node/audit.h"

enum { O_VERIFY, O_FILE, O_LIMIT };

static const cli_opt OPTS[] = {
  [O_VERIFY] = {"--verify", NULL, 0, "check the chain and every signature instead of listing"},
  [O_FILE] = {"--file", "FILE_ID", 2 * CRDT_FILE_LEN, "only records about this case file"},
  [O_LIMIT] = {"--limit", "N", 9, "only the newest N records (1 to 999999999)"},
};

#define LIMIT_MAX 999999999UL

static int limit_arg(const cli_ctx *c, const char *v, size_t *n)
{
  char q[CLI_QUOTE_LEN], *end;
  unsigned long x;

  if (v[0] < '0' || v[0] > '9' || (x = strtoul(v, &end, 10), *end) || x == 0 || x > LIMIT_MAX)
    return cli_usage(c, "--limit %s is not a number from 1 to %lu", cli_quote(v, q),
                     LIMIT_MAX);
  *n = (size_t)x;
  return CLI_OK;
}

/* ---- list ---------------------------------------------------------------- */

static json_t *rec_json(const node_audit_rec *r)
{
  char at[32], file[2 * CRDT_FILE_LEN + 1];

  cli_out_time(r->ms, at, sizeof at);
  if (r->has_file)
    cli_hex(r->file, CRDT_FILE_LEN, file);
  return json_pack("{s:I, s:s, s:I, s:s, s:s?, s:s?, s:s?}", "seq", (json_int_t)r->seq, "at",
                   at, "ms", (json_int_t)r->ms, "action", node_audit_action_name(r->action),
                   "user", r->user[0] ? r->user : NULL, "file", r->has_file ? file : NULL,
                   "detail", r->detail[0] ? r->detail : NULL);
}

static void list_text(const json_t *doc)
{
  const json_t *recs = json_object_get(doc, "records");
  size_t i;
  json_t *r;

  if (json_array_size(recs) == 0) {
    printf("No audit records%s.\n", json_object_get(doc, "file") ? " for that file" : "");
    return;
  }
  json_array_foreach(recs, i, r) {
    const char *u = cli_out_get(r, "user"), *f = cli_out_get(r, "file"),
               *d = cli_out_get(r, "detail");
    printf("%8" JSON_INTEGER_FORMAT "  %s  %-15s %-16s %-32s %s\n",
           json_integer_value(json_object_get(r, "seq")), cli_out_get(r, "at"),
           cli_out_get(r, "action"), u ? u : "-", f ? f : "-", d ? d : "");
  }
}

static int list(cli_ctx *c, cli_sess *ss, const node_audit_filter *f, const char *fhex)
{
  node_audit_rec *recs = NULL;
  json_t *arr;
  size_t n = 0;
  int rc;

  if ((rc = node_audit_list_as(ss->s, ss->u.name, ss->u.role, f, &recs, &n)) != BT_OK) {
    if (rc == BT_ECORRUPT)
      return cli_fail(c, "the audit log holds a damaged record: run `baton audit --verify` "
                         "to find it");
    return cli_node_fail(c, ss, "reading the audit log", rc);
  }
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    if (json_array_append_new(arr, rec_json(&recs[i])) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  node_audit_list_free(recs);
  return cli_out_emit(c, json_pack("{s:o, s:s?}", "records", arr ? arr : json_null(), "file",
                                   fhex),
                      list_text);
}

/* ---- verify -------------------------------------------------------------- */

static void verify_text(const json_t *doc)
{
  json_int_t n = json_integer_value(json_object_get(doc, "records"));

  if (json_is_true(json_object_get(doc, "intact")))
    printf("Audit log intact: %" JSON_INTEGER_FORMAT " records, chain and signatures "
           "verified.\n", n);
  else
    printf("Audit log NOT intact: record %" JSON_INTEGER_FORMAT ": %s (%" JSON_INTEGER_FORMAT
           " records before it verified).\n",
           json_integer_value(json_object_get(doc, "bad_seq")), cli_out_get(doc, "fault"), n);
}

static int verify(cli_ctx *c, cli_sess *ss)
{
  node_audit_check ck;
  json_t *doc;
  int rc = node_audit_verify_as(ss->s, ss->u.name, ss->u.role, &ck);

  if (rc != BT_OK && rc != BT_ECORRUPT)
    return cli_node_fail(c, ss, "checking the audit log", rc);
  if (rc == BT_OK)
    doc = json_pack("{s:b, s:I}", "intact", 1, "records", (json_int_t)ck.records);
  else
    doc = json_pack("{s:b, s:I, s:I, s:s}", "intact", 0, "records", (json_int_t)ck.records,
                    "bad_seq", (json_int_t)ck.bad_seq, "fault",
                    node_audit_fault_text(ck.fault));
  if ((rc = cli_out_emit(c, doc, verify_text)) != CLI_OK)
    return rc;
  if (ck.fault != NODE_AUDIT_INTACT)
    return cli_fail(c, "the audit log is not intact: record %llu: %s",
                    (unsigned long long)ck.bad_seq, node_audit_fault_text(ck.fault));
  return CLI_OK;
}

static int run(cli_ctx *c, const cli_args *a)
{
  node_audit_filter f = {0};
  uint8_t file[CRDT_FILE_LEN];
  cli_sess ss;
  int rc;

  if (a->val[O_VERIFY] && (a->val[O_FILE] || a->val[O_LIMIT]))
    return cli_usage(c, "--verify checks the whole log: it takes no --file or --limit");
  if (a->val[O_LIMIT] && (rc = limit_arg(c, a->val[O_LIMIT], &f.limit)) != CLI_OK)
    return rc;
  if (a->val[O_FILE] && (rc = cli_id_arg(c, "--file", a->val[O_FILE], 2 * CRDT_FILE_LEN)) !=
                            CLI_OK)
    return rc;
  if ((rc = cli_sess_open(c, NODE_DO_READ_AUDIT, &ss)) != CLI_OK)
    return rc;
  if (a->val[O_FILE]) {
    if ((rc = cli_sess_file(c, &ss, a->val[O_FILE], file)) != CLI_OK) {
      cli_sess_close(&ss);
      return rc;
    }
    f.file = file;
  }
  rc = a->val[O_VERIFY] ? verify(c, &ss) : list(c, &ss, &f, a->val[O_FILE]);
  cli_sess_close(&ss);
  return rc;
}

const cli_cmd cli_audit_cmd = {
  .name = "audit",
  .summary = "list the audit log, or check it (--verify)",
  .about = "Lists the audit log: every sign-in (and failed one), view of a case file,\n"
           "export, grant, revoke, extract, sharing decision, transfer step, package\n"
           "and user change, oldest first, with its number, time, user, action, file id\n"
           "and a short detail (no case content). --file FILE_ID keeps one file's\n"
           "records; --limit N the newest N. --verify checks that the records run\n"
           "1, 2, 3... without gaps, that each holds the hash of the one before, and\n"
           "that each is signed by this node's device key; it exits 1 naming the first\n"
           "bad record when not. Needs a user whose role may read the audit log\n"
           "(auditor or DSL); this read is itself recorded.",
  .opts = OPTS,
  .nopts = sizeof OPTS / sizeof OPTS[0],
  .run = run,
};
