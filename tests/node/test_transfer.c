/* tests/node/test_transfer.c: transfers between real stores (node/transfer.h):
 * the start with its grant and deadline, the receiving node's delivery
 * note, the receiving DSL's ack or reject, the sender's close and
 * retention, summaries, and every refusal. Parties: an LA, Oak Primary
 * (holds the file), County MASH and Elm Academy (parties.h); ops move by
 * copying envelopes, as sync does. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/calendar.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/transfer.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/transfer.h"
#include "node/users.h"

PARTIES_SUITE(node_transfer);

static node_transfer_req to(const party *p, uint32_t on_roll)
{
  return (node_transfer_req){.org_cert = p->cert, .org_cert_len = p->cert_len,
                             .on_roll = on_roll, .leaving = on_roll ? on_roll - 3 : 0,
                             .today = 20260105, .note = "whole file"};
}

/* The one summary p holds for start, after a tick. */
static node_xfer_info summary(party *p, const crdt_id *start)
{
  node_xfer_info *xs, found = {0};
  size_t n, hits = 0;

  cr_assert_eq(node_transfer_tick(p->s, party_now_ms, NULL), BT_OK);
  { int lrc = node_transfer_list_as(p->s, NODE_ROLE_DSL, &xs, &n); cr_assert_eq(lrc, BT_OK, "%s", bt_errname(lrc)); }
  for (size_t i = 0; i < n; i++)
    if (crdt_id_cmp(&xs[i].start, start) == 0) {
      found = xs[i];
      hits++;
    }
  free(xs);
  cr_assert_eq(hits, 1, "one summary of the transfer, found %zu", hits);
  return found;
}

/* How many audit records of action about file p's node holds. */
static size_t audited(party *p, node_audit_action a, const uint8_t *file)
{
  node_audit_filter f = {.file = file, .action = a};
  node_audit_rec *r;
  size_t n;

  cr_assert_eq(node_audit_list(p->s, &f, &r, &n), BT_OK);
  node_audit_list_free(r);
  return n;
}

static size_t tick(party *p)
{
  size_t acted = 99;

  cr_assert_eq(node_transfer_tick(p->s, party_now_ms, &acted), BT_OK);
  return acted;
}

static size_t entries_of(party *p, const uint8_t *file, uint32_t type)
{
  node_view v;
  size_t n = 0;

  cr_assert_eq(node_casefile_as(p->s, "dsl.jones", NODE_ROLE_DSL, file, &v), BT_OK);
  for (size_t i = 0; i < v.nentries; i++)
    n += v.entries[i]->body->type == type;
  node_view_free(&v);
  return n;
}

Test(node_transfer, a_file_moves_is_delivered_acknowledged_and_the_sender_sees_it)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105); /* a Monday */
  crdt_id start;
  uint32_t deadline = 0;
  node_xfer_info x;
  node_counts counts;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "disclosure at lunch", NULL), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      &deadline), BT_OK);
  cr_assert_eq(deadline, 20260112, "five working days after Monday 5 January: %u", deadline);
  x = summary(&school, &start);
  cr_assert_eq(x.dir, NODE_XFER_OUT);
  cr_assert_eq(x.status, CRDT_XS_PENDING);
  cr_assert_str_eq(x.to_name, "Elm Academy");
  cr_assert_str_eq(x.started_by, "dsl.jones");
  cr_assert_eq(x.on_roll, 20260105);

  party_sync(&school, &other, file);
  cr_assert_eq(tick(&other), 1, "the receiving node writes its delivery note");
  cr_assert_eq(tick(&other), 0, "and only once");
  x = summary(&other, &start);
  cr_assert_eq(x.dir, NODE_XFER_IN);
  cr_assert_eq(x.status, CRDT_XS_DELIVERED);
  cr_assert(party_shows(&other, file, "disclosure at lunch"), "the receiver reads every entry");

  cr_assert_eq(node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start,
                                    "CP cabinet, DSL office", NULL), BT_OK);
  cr_assert_eq(node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start, NULL,
                                    NULL), BT_ESTATE, "acknowledged once");
  party_sync(&other, &school, file);
  x = summary(&school, &start);
  cr_assert_eq(x.status, CRDT_XS_ACKED);
  cr_assert_str_eq(x.acked_by, "dsl.green");
  cr_assert_str_eq(x.stored, "CP cabinet, DSL office");
  cr_assert_neq(x.delivered_at, 0);
  cr_assert(!node_transfer_overdue(&x, 20260301), "an acknowledged transfer is never overdue");
  cr_assert_eq(audited(&school, NODE_AUDIT_TRANSFER_START, file), 1, "the start is audited");
  cr_assert_eq(node_counts_as(school.s, NODE_ROLE_GOVERNOR, party_now_ms, &counts), BT_OK);
  cr_assert_eq(counts.transfers_out, 1);
  cr_assert_eq(counts.transfers_in, 0);
  cr_assert_eq(counts.transfers_on_time, 1, "acknowledged on the day it was sent");
  cr_assert_eq(counts.transfers_overdue, 0);
  cr_assert_eq(node_counts_as(other.s, NODE_ROLE_GOVERNOR, party_now_ms, &counts), BT_OK);
  cr_assert_eq(counts.transfers_in, 1);
  cr_assert_eq(audited(&other, NODE_AUDIT_TRANSFER_ACK, file), 1, "and the ack");
  cr_assert_eq(audited(&other, NODE_AUDIT_TRANSFER_START, file), 0);
  /* A governor sees the transfer's dates and status, not who handled the
   * file nor where it is kept. */
  node_xfer_info *gx = NULL;
  size_t gn = 0;
  cr_assert_eq(node_transfer_list_as(school.s, NODE_ROLE_GOVERNOR, &gx, &gn), BT_OK);
  cr_assert_eq(gn, 1);
  cr_assert_eq(gx[0].status, CRDT_XS_ACKED);
  cr_assert_eq(gx[0].deadline, 20260112);
  cr_assert_str_eq(gx[0].started_by, "");
  cr_assert_str_eq(gx[0].acked_by, "");
  cr_assert_str_eq(gx[0].stored, "");
  free(gx);
}

Test(node_transfer, overdue_counts_from_the_recorded_deadline_and_ends_with_the_ack)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  crdt_id start;
  node_xfer_info x;
  int32_t left = 0;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      NULL), BT_OK);
  x = summary(&school, &start);
  cr_assert(!node_transfer_overdue(&x, 20260112), "due on the 12th: not overdue that day");
  cr_assert(node_transfer_overdue(&x, 20260113));
  cr_assert_eq(node_transfer_days_left(school.s, &x, 20260108, &left), BT_OK);
  cr_assert_eq(left, 2, "Thursday 8th: Friday and Monday left, got %d", left);
  cr_assert_eq(node_transfer_days_left(school.s, &x, 20260113, &left), BT_OK);
  cr_assert_lt(left, 0);
  party_sync(&school, &other, file);
  tick(&other);
  x = summary(&other, &start);
  cr_assert(node_transfer_overdue(&x, 20260113), "delivered but unconfirmed is still overdue");
}

Test(node_transfer, a_misdirected_file_is_rejected_and_the_sender_revokes_its_grant)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&mash, 20260105);
  const crdt_access *a;
  crdt_id start;
  node_xfer_info x;
  node_org mo;
  int live = 0;

  party_new_file(&school, file);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      NULL), BT_OK);
  party_sync(&school, &mash, file);
  tick(&mash);
  cr_assert_eq(node_transfer_reject_as(mash.s, "duty.worker", NODE_ROLE_DSL, file, &start, ""),
               BT_EMISSING, "a reject says why");
  cr_assert_eq(node_transfer_reject_as(mash.s, "duty.worker", NODE_ROLE_DSL, file, &start,
                                       "not known to us: misdirected"), BT_OK);
  party_sync(&mash, &school, file);
  cr_assert_eq(tick(&school), 1, "the sender revokes the transfer grant by itself");
  x = summary(&school, &start);
  cr_assert_eq(x.status, CRDT_XS_REJECTED);
  cr_assert_neq(x.rejected_at, 0);
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert_eq(node_org_get(mash.s, &mo), BT_OK);
  for (size_t k = 0; k < a->ngrants; k++)
    live += crdt_id_cmp(&a->grants[k].g->org, &mo.sign_pk) == 0 &&
            crdt_id_is_zero(&a->grants[k].revoked_by);
  node_org_clear(&mo);
  cr_assert_eq(live, 0, "no live grant is left to the MASH");
  cr_assert_eq(tick(&school), 0);
  cr_assert(!node_transfer_overdue(&x, 20260301), "a rejected transfer is not overdue");
  /* The sender then closes it. */
  cr_assert_eq(node_transfer_close_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_KEEP, 0, NULL), BT_OK);
  x = summary(&school, &start);
  cr_assert_eq(x.status, CRDT_XS_CLOSED);
}

Test(node_transfer, closing_applies_the_retention_choice_to_the_senders_view_only)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  crdt_id start;
  node_view v;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "first contact", NULL), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      NULL), BT_OK);
  cr_assert_eq(node_transfer_close_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_LOG, 0, NULL), BT_ESTATE,
               "an unconfirmed transfer cannot be closed: chase it");
  party_sync(&school, &other, file);
  tick(&other);
  cr_assert_eq(node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start, NULL,
                                    NULL), BT_OK);
  party_sync(&other, &school, file);
  cr_assert_eq(node_transfer_close_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_CHRONO, 0, NULL), BT_EMISSING);
  cr_assert_eq(node_transfer_close_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_LOG, 20270101, NULL), BT_EINVAL);
  cr_assert_eq(node_transfer_close_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_LOG, 0, NULL), BT_EDENIED,
               "only the sender closes");
  cr_assert_eq(node_transfer_close_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start,
                                      CRDT_RETAIN_CHRONO, 20260201, NULL), BT_OK);
  /* Until 1 February the sender keeps the chronology and the log. */
  cr_assert_eq(entries_of(&school, file, CRDT_OP_CHRONO), 1);
  cr_assert_eq(entries_of(&school, file, CRDT_OP_XFER_START), 1);
  cr_assert_eq(node_casefile_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &v), BT_OK);
  cr_assert_eq(v.retain, CRDT_RETAIN_CHRONO);
  node_view_free(&v);
  party_now_ms += UINT64_C(40) * 86400000; /* mid-February */
  cr_assert_eq(entries_of(&school, file, CRDT_OP_CHRONO), 0, "then only the transfer log");
  cr_assert_eq(entries_of(&school, file, CRDT_OP_XFER_ACK), 1);
  party_sync(&school, &other, file);
  cr_assert_eq(entries_of(&other, file, CRDT_OP_CHRONO), 1, "the receiver keeps everything");
}

Test(node_transfer, refusals_change_nothing)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105), bad;
  crdt_id start, nothing;
  size_t before, after;

  party_new_file(&school, file);
  cr_assert_eq(node_file_ops(school.s, file, NULL, 0, &before), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, &r, &start,
                                      NULL), BT_EDENIED, "staff cannot transfer");
  cr_assert_eq(node_transfer_start_as(school.s, "head", NODE_ROLE_HEAD, file, &r, &start, NULL),
               BT_EDENIED);
  bad = r;
  bad.on_roll = 0;
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad, &start,
                                      NULL), BT_EINVAL, "an on-roll date, unless via the LA");
  bad = r;
  bad.leaving = 20260110;
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad, &start,
                                      NULL), BT_EINVAL, "left after going on roll elsewhere");
  bad = r;
  bad.on_roll = 20260231;
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad, &start,
                                      NULL), BT_EDATE);
  bad = r;
  bad.on_roll = 20300107;
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad, &start,
                                      NULL), BT_EHOLIDAYS, "2030's bank holidays are unknown");
  bad = r;
  bad.via_la = 1;
  bad.on_roll = 0;
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad, &start,
                                      NULL), BT_EINVAL, "via the LA goes to an LA");
  bad = r;
  bad.org_cert_len = r.org_cert_len - 1;
  cr_assert_neq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &bad,
                                       &start, NULL), BT_OK, "a damaged certificate");
  cr_assert_eq(node_file_ops(school.s, file, NULL, 0, &after), BT_OK);
  cr_assert_eq(after, before, "no refusal wrote an op");

  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      NULL), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &nothing,
                                      NULL), BT_EDUP, "already on its way there");
  cr_assert_eq(node_transfer_ack_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &start, NULL,
                                    NULL), BT_EDENIED, "the sender cannot acknowledge");
  memset(&nothing, 7, sizeof nothing);
  party_sync(&school, &other, file);
  cr_assert_eq(node_transfer_ack_as(other.s, "dsl.green", NODE_ROLE_DSL, file, &nothing, NULL,
                                    NULL), BT_ENOTFOUND);
  cr_assert_eq(node_transfer_ack_as(other.s, "staff.bo", NODE_ROLE_STAFF, file, &start, NULL,
                                    NULL), BT_EDENIED);
}

Test(node_transfer, notes_by_the_wrong_org_do_not_count_and_a_third_org_reads_nothing)
{
  uint8_t file[CRDT_FILE_LEN];
  node_transfer_req r = to(&other, 20260105);
  crdt_body b = {.type = CRDT_OP_XFER_ACK, .known = 1};
  const crdt_casefile *cf;
  crdt_xfer *xs;
  node_xfer_info *list;
  size_t n;
  crdt_id start;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "secret words", NULL), BT_OK);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      NULL), BT_OK);
  /* The sender writes an ack itself: it is kept, and ignored. */
  b.u.xnote = (crdt_xfer_note){.transfer = start, .at = party_now_ms, .by = BT_STR("forger")};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &b, NULL), BT_OK);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert_eq(crdt_xfer_list(cf, &xs, &n), BT_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(xs[0].status, CRDT_XS_PENDING);
  cr_assert_eq(xs[0].ignored, 1);
  free(xs);
  /* The MASH gets the ciphertext (as a relay would) and reads nothing. */
  party_sync(&school, &mash, file);
  cr_assert_eq(tick(&mash), 0);
  cr_assert(!party_shows(&mash, file, "secret words"));
  cr_assert_eq(node_transfer_list_as(mash.s, NODE_ROLE_DSL, &list, &n), BT_OK);
  cr_assert_eq(n, 0, "not even the transfer is known to it");
  free(list);
}

Test(node_transfer, an_unknown_new_school_sends_the_file_to_the_la_counted_from_today)
{
  uint8_t file[CRDT_FILE_LEN];
  party lao;
  node_transfer_req r;
  crdt_id start;
  uint32_t deadline = 0;
  node_xfer_info x;

  party_join(&la, &lao, "Northshire LA", CRDT_ORG_LA);
  party_new_file(&school, file);
  r = (node_transfer_req){.org_cert = lao.cert, .org_cert_len = lao.cert_len, .via_la = 1,
                          .today = 20260105, .leaving = 20260102};
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      &deadline), BT_OK);
  cr_assert_eq(deadline, 20260112, "five working days after the day it is sent");
  x = summary(&school, &start);
  cr_assert(x.via_la);
  cr_assert_eq(x.on_roll, 0);
  cr_assert_str_eq(x.to_name, "Northshire LA");
  party_sync(&school, &lao, file);
  cr_assert_eq(tick(&lao), 1, "the LA's node signs the delivery like a school's");
  party_close(&lao);
}

Test(node_transfer, preview_is_what_start_records_and_writes_nothing)
{
  uint8_t file[CRDT_FILE_LEN], gone[CRDT_FILE_LEN] = {9};
  node_transfer_req r = to(&other, 20260105);
  node_xfer_preview p;
  crdt_id start;
  uint32_t deadline = 0;
  size_t before, after;
  char fp[CRDT_FPR_LEN];
  crdt_cert *oc;

  party_new_file(&school, file);
  for (node_role role = NODE_ROLE_STAFF; role < NODE_ROLE_END; role++)
    if (role != NODE_ROLE_DSL && role != NODE_ROLE_DEPUTY)
      cr_assert_eq(node_transfer_preview_as(school.s, role, file, &r, &p), BT_EDENIED);
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, gone, &r, &p), BT_ENOFILE);
  cr_assert_eq(node_transfer_preview_as(mash.s, NODE_ROLE_DSL, file, &r, &p), BT_ENOFILE,
               "the MASH does not hold it");
  r.on_roll = 20310602;
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, file, &r, &p), BT_EHOLIDAYS);
  r = to(&other, 20260105);
  r.leaving = 20260106;
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, file, &r, &p), BT_EINVAL);
  r = to(&school, 20260105);
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, file, &r, &p), BT_EDUP,
               "not to itself");
  r = to(&other, 20260105);
  r.via_la = 1;
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, file, &r, &p), BT_EINVAL,
               "via_la needs an LA");
  r = to(&other, 20260105);
  size_t buffered;
  cr_assert_eq(node_store_counts(school.s, &before, &buffered), BT_OK);
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DEPUTY, file, &r, &p), BT_OK);
  cr_assert_eq(node_store_counts(school.s, &after, &buffered), BT_OK);
  cr_assert_eq(after, before, "a preview writes nothing");
  cr_assert_eq(p.deadline, 20260112);
  cr_assert_eq(p.days, CRDT_CALENDAR_WORKING);
  cr_assert_eq(p.count, 5);
  cr_assert_eq(p.kind, CRDT_ORG_SCHOOL);
  cr_assert_str_eq(p.org, "Elm Academy");
  cr_assert_eq(crdt_cert_decode(other.cert, other.cert_len, &oc), BT_OK);
  crdt_fingerprint(oc->b.subject.b, CRDT_PK_LEN, fp);
  crdt_cert_free(oc);
  cr_assert_str_eq(p.fingerprint, fp);
  cr_assert_eq(node_transfer_start_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &r, &start,
                                      &deadline), BT_OK);
  cr_assert_eq(deadline, p.deadline, "start records the preview's deadline");
  cr_assert_eq(summary(&school, &start).deadline, p.deadline);
  cr_assert_eq(node_transfer_preview_as(school.s, NODE_ROLE_DSL, file, &r, &p), BT_EDUP,
               "on its way there already, as start would say");
}
