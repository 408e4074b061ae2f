/* tests/web/test_api_review2.c: defects found reviewing the JSON API of
 * commit 9dea502 (web/api_*.c, node/intake.c, node/transfer.c) against a
 * real batond. Each test asserts what should happen and failed on the code
 * as reviewed (each says what was wrong, where, and why it matters); all
 * pass since the fixes: grant expiry dates before 1970, the intake's
 * candidates (this school's own record only: not an extract, not a file
 * sent away and closed; a UPN and a name that disagree are settled by the
 * DSL, never guessed), and one answer per transfer.
 *
 * The fixture: Oak Primary (school) holds Amy Bell's file (born
 * 2016-03-04, one chronology note) and the LA directory (County MASH, Elm
 * Academy), as do Elm (other). Oak has the standard roster
 * (tests/web/apikit.h), Elm a DSL, dsl.green. batond serves Oak's store;
 * a transfer test moves it to Elm's store and back, as
 * tests/web/test_api_xfer.c does. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/upn.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/sync.h"
#include "node/users.h"
#include "web/apikit.h"

static uint8_t amy[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1], note_hex[2 * CRDT_ID_LEN + 1];
static char mash_id[2 * CRDT_ID_LEN + 1], elm_id[2 * CRDT_ID_LEN + 1];

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */
#define AMY "\"child\": {\"given_name\": \"Amy\", \"family_name\": \"Bell\", \"dob\": \"2016-03-04\"}"



static void start(void)
{
  party *listed[] = {&school, &mash, &other};
  crdt_id note;

  parties_open(&la, &school, &mash, &other);
  for (size_t i = 0; i < 3; i++)
    cr_assert_eq(node_dir_publish(la.s, listed[i]->cert, listed[i]->cert_len, NULL), BT_OK);
  party_see_directory(&la, &school);
  party_see_directory(&la, &other);
  apikit_users(school.s);
  apikit_user_add(other.s, "dsl.green", NODE_ROLE_DSL);
  party_new_file(&school, amy);
  cr_assert_eq(party_note(&school, amy, "Phoned the parents", &note), BT_OK);
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  sodium_bin2hex(note_hex, sizeof note_hex, note.b, CRDT_ID_LEN);
  party_org_hex(&mash, mash_id, NULL);
  party_org_hex(&other, elm_id, NULL);
  apikit_start(school.dir);
}

TestSuite(web_review2, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

/* Entries of type in the file as w sees it. */
static size_t entries_of(const apikit_who *w, const char *file_hex, const char *type)
{
  json_t *doc, *e;
  size_t i, n = 0;

  cr_assert_eq(apikit_get(w, path_of("/api/files/%s", file_hex)), 200, "%s", resp);
  doc = apikit_json();
  json_array_foreach(json_object_get(doc, "entries"), i, e)
    if (strcmp(jstr(e, "type"), type) == 0)
      n++;
  json_decref(doc);
  return n;
}

/* How many case files the DSL's list shows. */
static size_t files_listed(const apikit_who *dsl)
{
  json_t *doc;
  size_t n;

  cr_assert_eq(apikit_get(dsl, "/api/files"), 200, "%s", resp);
  doc = apikit_json();
  n = json_array_size(json_object_get(doc, "files"));
  json_decref(doc);
  return n;
}

/* An extract of Amy's note for County MASH on the mother's consent; its
 * file id into ext (33 bytes). */
static void extract_to_mash(const apikit_who *dsl, char *ext)
{
  char b[1024];
  json_t *j;

  snprintf(b, sizeof b,
           "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": \"consent\", "
           "\"consent_by\": \"mother\", \"consent_how\": \"in writing\", "
           "\"consent_on\": \"2026-01-05\", \"entries\": [\"%s\"]}", mash_id, note_hex);
  cr_assert_eq(apikit_post(dsl, path_of("/api/files/%s/extracts", amy_hex), b), 201, "%s",
               resp);
  j = apikit_json();
  snprintf(ext, 33, "%s", jstr(j, "extract"));
  json_decref(j);
}

/* Stops batond, syncs Amy's file from one party to the other and serves
 * `to`'s store (as test_api_xfer.c). */
static void move_to(party *from, party *to)
{
  char log[160];

  apikit_stop();
  party_sync(from, to, amy);
  snprintf(log, sizeof log, "%s/batond.log", to->dir);
  unlink(log);
  apikit_start(to->dir);
}

/* Starts a transfer of Amy's file to Elm as the DSL; its id into tid. */
static void start_to_elm(const apikit_who *dsl, char *tid)
{
  char b[512];
  json_t *j;

  snprintf(b, sizeof b, "{\"file\": \"%s\", \"to\": \"%s\", \"on_roll\": \"2026-11-23\"}",
           amy_hex, elm_id);
  cr_assert_eq(apikit_post(dsl, "/api/transfers", b), 201, "%s", resp);
  j = apikit_json();
  strcpy(tid, jstr(j, "transfer"));
  json_decref(j);
}

/* A valid UPN with these twelve characters after the check letter. */
static void upn_for(const char *rest, char out[14])
{
  snprintf(out, 14, "A%s", rest);
  out[0] = crdt_upn_check_letter(out, 13);
  cr_assert_neq(out[0], 0);
}

/* ---- sharing -------------------------------------------------------------------------- */

/* DEFECT: a grant "expires" date before 1970 wraps to a grant that never
 * expires. web/api_share.c:104 computes
 *   g->expires_at = (uint64_t)(crdt_date_days(ymd) + 1) * 86400000u;
 * crdt_date_days is negative before 1970-01-01 (dates from 1900 parse), so
 * "1969-12-30" gives (uint64_t)-1 * 86400000, about 1.8e19 ms: the check
 * `expires_at <= now` passes and a grant with an effectively infinite
 * expiry is written.
 * docs/web.md promises 400 for an `expires` in the past. Why it matters: a
 * DSL who mistypes the year (1926 for 2026) shares a child's file with a
 * partner for ever instead of being told; the same code serves extracts. */
Test(web_review2, grant_expiry_before_1970_wraps_to_a_grant_that_never_expires)
{
  apikit_who d = apikit_as("dsl.jones");
  char b[1024];
  uint64_t before = apikit_ops(school.s, amy);

  snprintf(b, sizeof b,
           "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": \"consent\", "
           "\"consent_by\": \"mother\", \"consent_how\": \"in writing\", "
           "\"consent_on\": \"2026-01-05\", \"expires\": \"1969-12-30\"}", mash_id);
  int st = apikit_post(&d, path_of("/api/files/%s/grants", amy_hex), b);
  cr_expect_eq(apikit_ops(school.s, amy), before, "a refused grant stores nothing");
  cr_assert_eq(st, 400, "an expiry date in the past must be refused, got %d: %s", st, resp);
}

/* DEFECT: the intake (node/intake.c:68-92, find()) takes extracts as
 * candidate files. An extract (node/extract.c, node_extract_as) is a file
 * this org holds, with the child's given name, family name and date of
 * birth copied in, and granted to a partner. When the child's main file
 * no longer matches those three exactly (here the DSL corrected the given
 * name; a UPN staff give that differs from the main file's does the same,
 * since the extract has no UPN and falls back to names), the extract is
 * the one match, and the staff member's concern (Part 1, not yet reviewed
 * by the DSL) is written into the extract, which syncs to County MASH.
 * Why it matters: an extract is a consent-scoped share of chosen entries
 * ("MASH must never see more than the share's scope", DESIGN.md); here the
 * partner receives an unreviewed concern no DSL decided to share. */
Test(web_review2, intake_writes_a_staff_concern_into_an_extract_shared_with_mash)
{
  apikit_who d = apikit_as("dsl.jones"), ali = apikit_as("staff.ali");
  char ext[33];

  extract_to_mash(&d, ext);
  cr_assert_eq(apikit_post(&d, path_of("/api/files/%s/front", amy_hex),
                           "{\"given_name\": \"Amelia\"}"), 201, "%s", resp);
  cr_assert_eq(apikit_post(&ali, "/api/concerns",
                           "{" AMY ", \"concern\": {\"facts\": \"Bruise on the arm\"}}"),
               201, "%s", resp);
  cr_assert_eq(entries_of(&d, ext, "concern"), 0,
               "the staff member's concern was written into the extract shared with MASH");
}

/* DEFECT: for the same reason (node/intake.c:68-92 counts the extract as a
 * second match; node/intake.c:159 then opens a new file), once a DSL has
 * shared an extract of a child's file, every concern staff log about the
 * child by name goes into a NEW file tagged check-identity, never into the
 * child's own file; and as each new file has the same names, the next
 * concern matches one more file and opens yet another. Why it matters: the
 * chronology of the child's real file stops receiving concerns (patterns
 * of concern are how harm is seen), and the DSL's list fills with copies. */
Test(web_review2, after_an_extract_concerns_by_name_miss_the_childs_file_and_open_new_ones)
{
  apikit_who d = apikit_as("dsl.jones"), ali = apikit_as("staff.ali");
  char ext[33];

  extract_to_mash(&d, ext);
  size_t files = files_listed(&d);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(apikit_post(&ali, "/api/concerns",
                             "{" AMY ", \"concern\": {\"facts\": \"Hungry again\"}}"),
                 201, "%s", resp);
  cr_expect_eq(files_listed(&d), files, "no new file for a child who has one (%zu now, %zu before)",
               files_listed(&d), files);
  cr_assert_eq(entries_of(&d, amy_hex, "concern"), 2,
               "both concerns belong in Amy's own file");
}

/* DEFECT (matching rule): a UPN alone decides the file (node/intake.c:59-60:
 * when the UPN is given and a file has one, the names and date of birth
 * are not looked at). A member of staff who types a UPN that belongs to
 * another child (a typo that still passes the check letter, a sibling's)
 * puts a concern about Zoe Khan, born 2015, silently into Amy Bell's file,
 * with no check-identity tag. docs/web.md says the concern is "never
 * guessed into another child's file". Correct: a UPN match whose names or
 * date of birth disagree is not a match (a new file, tagged
 * check-identity). Why it matters: the DSL reads a concern about another
 * child in Amy's chronology, and Zoe's concern is not where it belongs. */
Test(web_review2, a_upn_alone_steers_a_concern_about_another_child_into_amys_file)
{
  apikit_who d = apikit_as("dsl.jones"), ali = apikit_as("staff.ali");
  char upn[14], b[512];

  upn_for("801200005001", upn);
  snprintf(b, sizeof b, "{\"upn\": \"%s\"}", upn);
  cr_assert_eq(apikit_post(&d, path_of("/api/files/%s/front", amy_hex), b), 201, "%s", resp);
  snprintf(b, sizeof b,
           "{\"child\": {\"given_name\": \"Zoe\", \"family_name\": \"Khan\", \"dob\": "
           "\"2015-09-09\", \"upn\": \"%s\"}, \"concern\": {\"facts\": \"Zoe was upset\"}}", upn);
  cr_assert_eq(apikit_post(&ali, "/api/concerns", b), 201, "%s", resp);
  cr_assert_eq(entries_of(&d, amy_hex, "concern"), 0,
               "a concern naming Zoe Khan was written into Amy Bell's file");
}

/* ---- transfers ----------------------------------------------------------------------- */

/* DEFECT: the receiver can reject a transfer it has already acknowledged.
 * node/transfer.c:300 (node_transfer_reject_as) refuses only when the
 * status is REJECTED; docs/web.md gives reject the errors of ack ("409
 * acknowledged or closed already") and node/transfer.h says "Errors as
 * ack". The reject is written after the ack, crdt_xfer status turns to
 * "rejected" (crdt/transfer.c decide(): the later answer wins) and the
 * sender's next tick revokes the transfer grant (node/transfer.c:659).
 * Why it matters: a file whose receipt was signed for (the statutory
 * record that the new school has it) is withdrawn from the new school by
 * one click, and the transfer counts as refused. */
Test(web_review2, reject_after_ack_is_accepted_and_turns_the_receipt_into_a_refusal)
{
  apikit_who d = apikit_as("dsl.jones");
  char tid[65], b[512];

  start_to_elm(&d, tid);
  move_to(&school, &other);
  apikit_who g = apikit_as("dsl.green");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"CP cabinet\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, path_of("/api/transfers/%s/ack", tid), b), 200, "%s", resp);
  uint64_t n = apikit_ops(other.s, amy);
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"reason\": \"changed my mind\"}", amy_hex);
  int st = apikit_post(&g, path_of("/api/transfers/%s/reject", tid), b);
  cr_expect_eq(apikit_ops(other.s, amy), n, "nothing stored by a refused reject");
  cr_assert_eq(st, 409, "an acknowledged transfer cannot be rejected, got %d: %s", st, resp);
}

/* DEFECT: after a transfer is closed with retain "log" (or "chrono"), the
 * intake still matches the child's file (node/intake.c:83-86 checks only
 * write rights, which the sender keeps), writes the concern into it, and
 * node_casefile_as (node/users.c:364) then hides every concern of that file
 * from every role on this node: the DSL's desk never lists it, the staff
 * member who logged it cannot see it either. Why it matters: DESIGN.md's
 * first "must never happen" is "a concern is lost"; here the DSL of the
 * school where it was logged is never told (staff are told "Your DSL has
 * been told"). */
Test(web_review2, a_concern_logged_after_a_closed_transfer_is_hidden_from_the_dsl)
{
  apikit_who d = apikit_as("dsl.jones");
  char tid[65], b[512], cid[65];
  json_t *j, *x;
  size_t i;
  int seen = 0;

  start_to_elm(&d, tid);
  move_to(&school, &other);
  apikit_who g = apikit_as("dsl.green");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"stored\": \"CP cabinet\"}", amy_hex);
  cr_assert_eq(apikit_post(&g, path_of("/api/transfers/%s/ack", tid), b), 200, "%s", resp);
  move_to(&other, &school);
  d = apikit_as("dsl.jones");
  snprintf(b, sizeof b, "{\"file\": \"%s\", \"retain\": \"log\"}", amy_hex);
  cr_assert_eq(apikit_post(&d, path_of("/api/transfers/%s/close", tid), b), 200, "%s", resp);

  apikit_who ali = apikit_as("staff.ali");
  uint64_t before = apikit_ops(school.s, amy);
  cr_assert_eq(apikit_post(&ali, "/api/concerns",
                           "{" AMY ", \"concern\": {\"facts\": \"Amy came back to visit, "
                           "with a black eye\"}}"), 201, "%s", resp);
  /* Not into the file this school sent away and closed (its retention
   * would hide it): into a new file the DSL sees. */
  cr_assert_eq(apikit_ops(school.s, amy), before, "the concern went into Amy's closed file");
  j = apikit_json();
  snprintf(cid, sizeof cid, "%s", jstr(j, "concern"));
  json_decref(j);
  cr_assert_eq(apikit_get(&d, "/api/desk"), 200, "%s", resp);
  j = apikit_json();
  json_array_foreach(json_object_get(j, "awaiting_review"), i, x)
    seen |= strcmp(jstr(x, "concern"), cid) == 0;
  json_decref(j);
  cr_assert(seen, "the concern staff.ali logged is nowhere on the DSL's desk");
}
