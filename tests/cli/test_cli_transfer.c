/* tests/cli/test_cli_transfer.c: `baton transfer ...` and `baton transfers`
 * through the real binary, on stores the test sets up in-process
 * (tests/node/parties.h: an LA whose directory lists Oak Primary, County
 * MASH and Elm Academy). Ops move between the stores by copying envelopes,
 * as a sync would; test_e2e.c does the same with real daemons. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/runner.h"
#include "cli/world.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/users.h"

TestSuite(cli_transfer, .init = world_open, .fini = world_close);

static int as(party *p, const char *user, const char *pass, const char *const *args)
{
  return world_as(p, user, pass, NULL, args);
}

static size_t ops(party *p)
{
  return world_ops(p);
}

/* The only transfer in the JSON of `transfers`. */
static const json_t *only(json_t *doc)
{
  const json_t *xs = json_object_get(doc, "transfers");

  cr_assert_eq(json_array_size(xs), 1, "one transfer listed: %s", out);
  return json_array_get(xs, 0);
}

Test(cli_transfer, start_ack_and_the_sender_sees_the_receipt)
{
  json_t *doc;
  const json_t *x;

  cr_assert_eq(OAK("--json", "transfer", "start", fid, "--to", "Elm Academy", "--on-roll",
                   "2026-11-23", "--leaving", "2026-11-20"), 0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "deadline"), "2026-11-30", "Monday on roll: due next Monday");
  cr_assert_str_eq(jstr(doc, "to_name"), "Elm Academy");
  cr_assert_str_eq(jstr(doc, "status"), "pending");
  json_decref(doc);

  cr_assert_eq(OAK("--json", "transfers", "--now", "2026-11-25"), 0, "%s", err);
  doc = parse_out();
  x = only(doc);
  cr_assert_eq(json_integer_value(json_object_get(x, "days_left")), 3, "%s", out);
  cr_assert_str_eq(jstr(x, "direction"), "out");
  json_decref(doc);
  cr_assert_eq(OAK("transfers", "--overdue", "--now", "2026-12-01"), 3,
               "overdue: exit 3 for cron (%s)", err);
  cr_assert(strstr(out, "overdue"), "%s", out);
  cr_assert_eq(OAK("transfers", "--overdue", "--now", "2026-11-30"), 0, "due today is not late");

  party_sync(&school, &other, file);
  cr_assert_eq(ELM("--json", "transfers"), 0, "%s", err);
  doc = parse_out();
  x = only(doc);
  cr_assert_str_eq(jstr(x, "direction"), "in");
  cr_assert_str_eq(jstr(x, "state"), "delivered", "the receiving node signed its delivery");
  json_decref(doc);
  cr_assert_eq(ELM("transfer", "ack", fid, "--stored", "locked cabinet, DSL office"), 0, "%s",
               err);
  cr_assert_eq(ELM("transfer", "ack", fid), 1, "a second ack is refused");
  cr_assert(strstr(err, "transfer"), "%s", err);

  party_sync(&other, &school, file);
  cr_assert_eq(OAK("--json", "transfers", "--now", "2026-12-01"), 0, "acknowledged: not overdue");
  doc = parse_out();
  x = only(doc);
  cr_assert_str_eq(jstr(x, "status"), "acknowledged");
  cr_assert_str_eq(jstr(x, "acknowledged_by"), "dsl.green");
  cr_assert_str_eq(jstr(x, "stored"), "locked cabinet, DSL office");
  json_decref(doc);

  cr_assert_eq(OAK("transfer", "close", fid, "--retain", "chronology"), 2, "needs --keep-until");
  cr_assert_eq(OAK("transfer", "close", fid, "--retain", "shred"), 2);
  cr_assert_eq(OAK("transfer", "close", fid, "--retain", "log"), 0, "%s", err);
  cr_assert_eq(OAK("--json", "transfers"), 0);
  doc = parse_out();
  cr_assert_str_eq(jstr(only(doc), "status"), "closed");
  json_decref(doc);
}

Test(cli_transfer, a_misdirected_file_is_rejected_with_a_reason)
{
  json_t *doc;

  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  party_sync(&school, &other, file);
  cr_assert_eq(ELM("transfer", "reject", fid), 2, "a reject needs --reason");
  cr_assert_eq(ELM("transfer", "reject", fid, "--reason", "not on our roll"), 0, "%s", err);
  party_sync(&other, &school, file);
  cr_assert_eq(OAK("--json", "transfers"), 0);
  doc = parse_out();
  cr_assert_str_eq(jstr(only(doc), "status"), "rejected");
  json_decref(doc);
}

Test(cli_transfer, bad_input_is_refused_and_changes_nothing)
{
  size_t before = ops(&school);

  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy"), 2, "no on-roll date");
  cr_assert(strstr(err, "--on-roll"), "%s", err);
  cr_assert_eq(OAK("transfer", "start", fid, "--on-roll", "2026-11-23"), 2, "no destination");
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--to-la", "--on-roll",
                   "2026-11-23"), 2);
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-31"),
               2, "not a date");
  cr_assert(strstr(err, "YYYY-MM-DD"), "%s", err);
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23",
                   "--leaving", "2026-11-24"), 2, "left after going on roll");
  cr_assert_eq(OAK("transfer", "start", "zz", "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               2, "not a file id");
  cr_assert_eq(OAK("transfer", "start", "0123456789abcdef0123456789abcdef", "--to",
                   "Elm Academy", "--on-roll", "2026-11-23"), 1, "unknown file");
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Nowhere School", "--on-roll",
                   "2026-11-23"), 1, "unknown org");
  cr_assert(strstr(err, "directory"), "%s", err);
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2030-01-07"),
               1, "a year without known bank holidays");
  cr_assert(strstr(err, "calendar import"), "%s", err);
  cr_assert_eq(as(&school, "staff.ali", "ali pass",
                  (const char *const[]){"transfer", "start", fid, "--to", "Elm Academy",
                                        "--on-roll", "2026-11-23", NULL}), 1, "staff may not");
  cr_assert(strstr(err, "staff"), "%s", err);
  cr_assert_eq(as(&school, "dsl.jones", "wrong",
                  (const char *const[]){"transfer", "start", fid, "--to", "Elm Academy",
                                        "--on-roll", "2026-11-23", NULL}), 1, "wrong passphrase");
  cr_assert_eq(RUN_ENV("BATON_PASSPHRASE=pw", "--dir", school.dir, "transfers"), 2,
               "no user named");
  cr_assert_eq(OAK("transfer", "ack", fid), 1, "nothing to acknowledge here");
  cr_assert_eq(OAK("transfer", "start", fid, "--to-la"), 1, "no LA org in the directory");
  cr_assert(strstr(err, "LA"), "%s", err);
  cr_assert_eq(as(&school, "staff.ali", "ali pass", (const char *const[]){"transfers", NULL}), 1,
               "staff do not see transfers");
  cr_assert_eq(ops(&school), before, "no refusal wrote an op");
}
