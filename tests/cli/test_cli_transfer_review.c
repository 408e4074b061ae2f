/* tests/cli/test_cli_transfer_review.c: review findings on `baton transfer
 * ...` and `baton transfers` (cli/transfer.c). Each test names a defect
 * and FAILS on the code as reviewed. World as in test_cli_transfer.c. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
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
#include "node/share.h"
#include "node/users.h"

TestSuite(cli_transfer_review, .init = world_open, .fini = world_close, .timeout = 120);

/* TRANSFER ids are hex "as `baton transfers` shows it"; FILE ids and every
 * other id the CLI takes are matched in any case (cli/session.c
 * hex_prefix), and cli_id_arg accepts upper-case hex. pick()
 * (cli/transfer.c:112) compares with a case-sensitive strncmp against
 * lower-case hex, so an id typed or pasted in upper case is "no transfer
 * ... to this node in that file". It should be found. */
Test(cli_transfer_review, upper_case_transfer_id_is_not_found)
{
  json_t *doc;
  char id[2 * CRDT_ID_LEN + 1];

  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  party_sync(&school, &other, file);
  cr_assert_eq(ELM("--json", "transfers"), 0, "%s", err);
  doc = parse_out();
  snprintf(id, sizeof id, "%s",
           json_string_value(json_object_get(
             json_array_get(json_object_get(doc, "transfers"), 0), "transfer")));
  json_decref(doc);
  for (char *p = id; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  cr_assert_eq(ELM("transfer", "ack", fid, id), 0, "ack by upper-case id: %s", err);
}

/* `baton transfers` lists, and counts for its exit status, transfers
 * between two other orgs (direction "other") that this node merely can
 * read, e.g. a MASH holding a referral grant on the file. So the MASH
 * DSL's cron job (`transfers --overdue || notify-dsl`, docs/transfer.md)
 * exits 3 and alerts for a school's transfer the MASH has nothing to
 * chase, while node_counts_as (node/counts.c:82) rightly leaves such
 * transfers out of its overdue count. Exit 3 should mean a transfer in or
 * out of this org is overdue. */
Test(cli_transfer_review, someone_elses_overdue_transfer_sets_exit_3)
{
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);

  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, NULL), BT_OK);
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  party_sync(&school, &mash, file);
  cr_assert_eq(MASH("transfers", "--overdue", "--now", "2026-12-31"), 0,
               "the MASH is neither sender nor receiver, yet cron gets exit 3: %s", out);
}

/* With --to-la and a --leaving date after the computed deadline (a child
 * who leaves next term, sent to the LA now), the start op fails its
 * schema check (crdt/body.c xfer_check: deadline < leaving) with
 * BT_EINVAL, which start_run (cli/transfer.c:226) reports as "the org
 * found is not an LA" although it is one. The CLI should say the leaving
 * date is the problem (better: refuse a leaving date after today as a
 * usage error). */
Test(cli_transfer_review, to_la_with_a_later_leaving_date_is_misreported_as_not_an_la)
{
  party lao;
  crdt_id anchor;
  uint8_t dir[CRDT_FILE_LEN];
  size_t before = world_ops(&school);

  party_join(&la, &lao, "Northshire LA", CRDT_ORG_LA);
  cr_assert_eq(node_dir_publish(la.s, lao.cert, lao.cert_len, NULL), BT_OK);
  cr_assert_eq(node_root_pk(la.s, &anchor), BT_OK);
  node_dir_file(&anchor, dir);
  party_sync(&la, &school, dir);
  int rc = OAK("transfer", "start", fid, "--to-la", "--leaving", "2027-06-30");
  cr_assert(rc == 1 || rc == 2, "refused (%d): %s", rc, err);
  cr_assert_eq(world_ops(&school), before);
  cr_assert_null(strstr(err, "not an LA"), "Northshire LA is an LA; the message blames the "
                 "wrong thing: %s", err);
  party_close(&lao);
}
