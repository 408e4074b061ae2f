/* tests/node/test_transfer_review.c: review findings on transfers
 * (crdt/transfer.c, node/transfer.c). Each test names a defect, says what
 * is wrong and what should happen, and FAILS on the code as reviewed.
 * Parties as in test_transfer.c (tests/node/parties.h). A "malicious
 * peer" is simulated by authoring ops directly with node_author_as, as a
 * modified node holding a certified device key could. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/transfer.h"
#include "node/org.h"
#include "node/package.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/store_int.h"
#include "node/transfer.h"
#include "node/users.h"

PARTIES_SUITE(node_transfer_review, .timeout = 120);

#define DSL "dsl.jones"

static node_transfer_req to(const party *p, uint32_t on_roll)
{
  return (node_transfer_req){.org_cert = p->cert, .org_cert_len = p->cert_len,
                             .on_roll = on_roll, .leaving = on_roll ? on_roll - 3 : 0,
                             .today = 20260105, .note = "whole file"};
}

static size_t tick(party *p)
{
  size_t acted = 99;
  int rc = node_transfer_tick(p->s, party_now_ms, &acted);

  cr_assert_eq(rc, BT_OK, "tick: %s", bt_errname(rc));
  return acted;
}

static size_t entries_of(party *p, const uint8_t *file, uint32_t type)
{
  node_view v;
  size_t n = 0;

  cr_assert_eq(node_casefile_as(p->s, DSL, NODE_ROLE_DSL, file, &v), BT_OK);
  for (size_t i = 0; i < v.nentries; i++)
    n += v.entries[i]->body->type == type;
  node_view_free(&v);
  return n;
}

/* Live grants to p's org in school's view of file. */
static int live_grants_to(party *p, const uint8_t *file)
{
  const crdt_access *a;
  node_org o;
  int live = 0;

  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert_eq(node_org_get(p->s, &o), BT_OK);
  for (size_t k = 0; k < a->ngrants; k++)
    live += crdt_id_cmp(&a->grants[k].g->org, &o.sign_pk) == 0 &&
            crdt_id_is_zero(&a->grants[k].revoked_by);
  node_org_clear(&o);
  return live;
}

/* Sets every 's' (summary) record of p's DB_TRANSFERS to bytes that do not
 * decode, as a torn write or disk fault would. Returns how many. */
static size_t corrupt_summaries(party *p)
{
  static const uint8_t junk[] = {0xc1, 0xc1, 0xc1};
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  size_t n = 0;
  int rc;

  cr_assert_eq(node__txn(p->s, 0, &t), 0);
  cr_assert_eq(mdb_cursor_open(t, p->s->db[DB_TRANSFERS], &c), 0);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if (((uint8_t *)k.mv_data)[0] == 's') {
      MDB_val jv = {sizeof junk, (void *)junk};
      cr_assert_eq(mdb_cursor_put(c, &k, &jv, MDB_CURRENT), 0);
      n++;
    }
  mdb_cursor_close(c);
  cr_assert_eq(node__txn_end(t, 0), 0);
  return n;
}

/* ---- summaries: bad stored bytes ---------------------------------------- */

/* node/transfer.c:6-7 promises "a record that does not decode is reported
 * as BT_ECORRUPT by the list, and the next tick of its file rewrites it".
 * But the tick only revisits files whose op count changed
 * (changed_files, node/transfer.c:505), so a corrupt summary of a quiet
 * file is never rewritten: `baton transfers`, every `baton transfer ...`
 * (pick() lists first) and node_counts_as (governors' counts) fail with
 * BT_ECORRUPT until some unrelated op happens to arrive. The tick should
 * rewrite (or the list skip and flag) a summary that does not decode. */
Test(node_transfer_review, corrupt_summary_is_never_rewritten_by_the_tick)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  node_xfer_info *xs;
  size_t n;
  crdt_id start;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  tick(&school);
  cr_assert_eq(corrupt_summaries(&school), 1);
  tick(&school); /* "the next tick of its file rewrites it" */
  rc = node_transfer_list_as(school.s, NODE_ROLE_DSL, &xs, &n);
  cr_assert_eq(rc, BT_OK, "after a tick the list should work again, got %s (the corrupt "
               "summary was not rewritten: the file's op count had not changed)",
               bt_errname(rc));
  free(xs);
}

/* node_transfer_list_as (node/transfer.c:619-622) stops at the first key
 * in the 's' range that is not exactly 1+16+32 bytes, and returns BT_OK.
 * One stray record (bad stored bytes) therefore silently hides every
 * summary after it: an overdue transfer disappears from `baton transfers
 * --overdue`, and cron gets exit 0. A bad key should be skipped (or
 * reported as BT_ECORRUPT), never end the listing with success. */
Test(node_transfer_review, stray_short_key_silently_hides_the_summaries_after_it)
{
  uint8_t file[CRDT_FILE_LEN], k[1 + CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  node_xfer_info *xs;
  MDB_txn *t;
  MDB_val key = {sizeof k, k}, v = {1, (void *)"x"};
  size_t n = 0;
  crdt_id start;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  tick(&school);
  k[0] = 's';
  memcpy(k + 1, file, CRDT_FILE_LEN);
  cr_assert_eq(node__txn(school.s, 0, &t), 0);
  cr_assert_eq(mdb_put(t, school.s->db[DB_TRANSFERS], &key, &v, 0), 0);
  cr_assert_eq(node__txn_end(t, 0), 0);
  rc = node_transfer_list_as(school.s, NODE_ROLE_DSL, &xs, &n);
  free(xs);
  cr_assert(rc != BT_OK || n == 1,
            "a stray key must not make the list return success with the real summary "
            "missing (rc %s, %zu summaries)", bt_errname(rc), n);
}

/* ---- receiver: delivery and ack ----------------------------------------- */

/* The receiver writes its delivery note, and an ack first writes one, only
 * when cf->nunknown == 0 (node/transfer.c:177, :212, :551). nunknown also
 * counts ops of a type this version does not know (crdt/casefile.c:239):
 * the forward-compatibility rule keeps them "and otherwise ignores" them.
 * So one op of a newer type anywhere in the file (written by a newer
 * Baton at the sender, or on purpose by any org with write rights) means
 * the receiving node never signs delivery and the receiving DSL can never
 * acknowledge: node_transfer_ack_as returns BT_EEPOCH ("sync again"),
 * forever, and the sender sees the transfer overdue. docs/transfer.md says
 * ack "writes the delivery note first when it can, and says so when it
 * cannot": the receipt should still be confirmable. */
Test(node_transfer_review, an_op_of_a_newer_type_blocks_the_receivers_ack_forever)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  crdt_body nb = {.type = 200, .known = 0, .raw = BT_STR("\x81\x01\x01")};
  crdt_id start;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "disclosure at lunch", NULL), BT_OK);
  rc = node_author_as(school.s, DSL, NODE_ROLE_DSL, file, &nb, NULL);
  cr_assert_eq(rc, BT_OK, "setup: an op of a newer type is accepted: %s", bt_errname(rc));
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  party_sync(&school, &other, file);
  tick(&other);
  cr_assert(party_shows(&other, file, "disclosure at lunch"), "the receiver reads the file");
  rc = node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start, "DSL office",
                            NULL);
  cr_assert_eq(rc, BT_OK, "the receiving DSL cannot confirm receipt of a file it reads: %s",
               bt_errname(rc));
}

/* ---- sender: reject, revoke, close ---------------------------------------- */

/* The sender's node revokes the transfer grant only while the status is
 * exactly REJECTED (node/transfer.c:554). node_transfer_close_as accepts a
 * rejected transfer (node/transfer.c:257) without revoking, and a close
 * makes the status CLOSED. So a close written before the node's tick
 * (another device of the sending org, or any caller of the node API)
 * leaves the misdirected org with a live read/write, manager-making
 * transfer grant for good: the file keeps flowing to it. Closing a
 * rejected transfer should revoke (or the tick should revoke the grant of
 * any transfer whose reject counts, closed or not). */
Test(node_transfer_review, closing_a_rejected_transfer_before_the_tick_leaves_the_grant_live)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&mash, 20260105);
  crdt_id start;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  party_sync(&school, &mash, file);
  tick(&mash);
  cr_assert_eq(node_transfer_reject_as(mash.s, "duty.worker", NODE_ROLE_DSL, file, &start,
                                       "not known to us: misdirected"), BT_OK);
  party_sync(&mash, &school, file);
  cr_assert_eq(node_transfer_close_as(school.s, DSL, NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_KEEP, 0, NULL), BT_OK);
  tick(&school);
  cr_assert_eq(live_grants_to(&mash, file), 0,
               "the misdirected org still holds a live transfer grant after the close");
}

/* A start counts even when its grant has been revoked (start_counts,
 * crdt/transfer.c:43-49, never looks at revoked_by). If the sending DSL
 * withdraws a transfer by revoking its grant (`baton revoke`, say, after
 * naming the wrong school), the transfer stays PENDING for ever: the
 * receiver can no longer write an ack or reject (no rights), and the
 * sender may not close it (BT_ESTATE: only after ack or reject). From the
 * deadline on it is overdue for ever: `baton transfers --overdue` exits 3
 * every day and counts.transfers_overdue never drops. A transfer whose
 * grant is withdrawn should end (not count, or count as withdrawn), or at
 * least be closable by its sender. */
Test(node_transfer_review, a_transfer_whose_grant_is_revoked_is_overdue_forever)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  node_xfer_info *xs;
  const crdt_casefile *cf;
  crdt_xfer *xf;
  crdt_id start, grant;
  size_t n, overdue = 0;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert_eq(crdt_xfer_list(cf, &xf, &n), BT_OK);
  cr_assert_eq(n, 1);
  grant = xf[0].start->body->u.xfer.grant;
  free(xf);
  cr_assert_eq(node_revoke_as(school.s, DSL, NODE_ROLE_DSL, file, &grant,
                              "sent to the wrong school"), BT_OK);
  party_sync(&school, &other, file);
  tick(&other);
  cr_assert_neq(node_transfer_reject_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start,
                                        "not ours"), BT_OK, "the receiver cannot answer now");
  tick(&school);
  cr_assert_eq(node_transfer_list_as(school.s, NODE_ROLE_DSL, &xs, &n), BT_OK);
  for (size_t i = 0; i < n; i++)
    overdue += node_transfer_overdue(&xs[i], 20260301);
  free(xs);
  rc = node_transfer_close_as(school.s, DSL, NODE_ROLE_DSL, file, &start, CRDT_RETAIN_KEEP, 0,
                              NULL);
  cr_assert(overdue == 0 || rc == BT_OK,
            "a withdrawn transfer is overdue for ever (%zu overdue) and cannot be closed (%s)",
            overdue, bt_errname(rc));
}

/* ---- forged starts -------------------------------------------------------- */

/* start_counts (crdt/transfer.c:37-54) accepts any start whose grant is a
 * transfer grant to the org it names, whoever made that grant and whether
 * or not the grant is in the start's causal past. A third org with write
 * rights (here the MASH, on a consent referral) can write its own start
 * naming the sender's transfer grant: it counts as a transfer "from the
 * MASH" to Elm, with a deadline, note, to_name and started_by of the
 * MASH's choosing; Elm's node signs a delivery note for it, Elm lists it
 * as incoming and counts it, and the MASH may close it. A start should
 * count only if its grant was made by the start's author org (the one
 * transaction docs/transfer.md describes) and is in its causal past. */
Test(node_transfer_review, a_third_org_can_start_a_transfer_on_the_senders_grant)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_body b = {.type = CRDT_OP_XFER_START, .known = 1};
  const crdt_casefile *cf;
  crdt_xfer *xf;
  crdt_id start;
  size_t n;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, DSL, NODE_ROLE_DSL, file, &g, NULL), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  party_sync(&school, &mash, file);
  /* The MASH copies Oak's start, keeping its grant, and signs it itself. */
  cr_assert_eq(node_casefile(mash.s, file, &cf), BT_OK);
  cr_assert_eq(crdt_xfer_list(cf, &xf, &n), BT_OK);
  cr_assert_eq(n, 1);
  b.u.xfer = xf[0].start->body->u.xfer;
  b.u.xfer.started_by = BT_STR("moss");
  b.u.xfer.to_name = BT_STR("Elm Academy (urgent)");
  b.u.xfer.deadline = 20260106;
  b.u.xfer.on_roll = 20260105;
  b.u.xfer.leaving = 0;
  free(xf);
  rc = node_author_as(mash.s, "dsl.moss", NODE_ROLE_DSL, file, &b, NULL);
  cr_assert_eq(rc, BT_OK, "setup: the MASH may write to the file: %s", bt_errname(rc));
  party_sync(&mash, &other, file);
  tick(&other);
  cr_assert_eq(node_casefile(other.s, file, &cf), BT_OK);
  cr_assert_eq(crdt_xfer_list(cf, &xf, &n), BT_OK);
  free(xf);
  cr_assert_eq(n, 1, "only Oak's start should count; the MASH's start riding on Oak's grant "
               "counts too (%zu transfers at Elm)", n);
}

/* ---- retention ------------------------------------------------------------ */

/* After "log only", node_casefile_as shows the sender nothing but the
 * transfer log (node/users.c:369), but node_extract_as (node/extract.c:144)
 * still copies any entry of the whole file into a new extract and grants
 * it to a partner. A DSL of the sending school, which docs/transfer.md says
 * is shown "only what the choice keeps", can thus read out and pass on
 * what the retention choice hides. The extract should refuse entries the
 * retention view hides (BT_ENOTFOUND: "not a visible entry of file"). */
Test(node_transfer_review, log_only_retention_is_bypassed_by_an_extract)
{
  uint8_t file[CRDT_FILE_LEN], ex[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id start, note;
  int rc;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "disclosure at lunch", &note), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, DSL, NODE_ROLE_DSL, file, &r, &start, NULL),
               BT_OK);
  party_sync(&school, &other, file);
  tick(&other);
  cr_assert_eq(node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start, NULL,
                                    NULL), BT_OK);
  party_sync(&other, &school, file);
  cr_assert_eq(node_transfer_close_as(school.s, DSL, NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_LOG, 0, NULL), BT_OK);
  cr_assert_eq(entries_of(&school, file, CRDT_OP_CHRONO), 0, "the view keeps only the log");
  rc = node_extract_as(school.s, DSL, NODE_ROLE_DSL, file, &note, 1, &g, ex);
  cr_assert_neq(rc, BT_OK, "an entry hidden by \"log only\" was copied into an extract for "
                "the MASH");
}
