/* tests/node/test_intake.c: a concern from any member of staff about a child
 * named by identity (node/intake.h): which file it lands in, what is opened
 * when none matches, who may, and that nothing is written on a refusal. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/casefile.h"
#include "crdt/err.h"
#include "crdt/upn.h"
#include "node/audit.h"
#include "node/files.h"
#include "node/intake.h"
#include "node/parties.h"
#include "node/users.h"

PARTIES_SUITE(node_intake);

static crdt_body concern_of(const char *facts)
{
  crdt_body b;

  memset(&b, 0, sizeof b);
  b.type = CRDT_OP_CONCERN;
  b.u.concern.written_at = party_now_ms;
  b.u.concern.author_name = bt_strz("Ali Khan");
  b.u.concern.author_role = bt_strz("teaching assistant");
  b.u.concern.facts = bt_strz(facts);
  return b;
}

static crdt_mark mark = {.view = CRDT_VIEW_FRONT, .x = 300, .y = 420};

static crdt_body bodymap_of(void)
{
  crdt_body b;

  memset(&b, 0, sizeof b);
  b.type = CRDT_OP_BODYMAP;
  mark.site = bt_strz("left forearm");
  mark.colour = bt_strz("red");
  b.u.bodymap.observed_at = party_now_ms;
  b.u.bodymap.observer_name = bt_strz("Ali Khan");
  b.u.bodymap.observer_role = bt_strz("teaching assistant");
  b.u.bodymap.marks = &mark;
  b.u.bodymap.nmarks = 1;
  return b;
}

static size_t ops(party *p)
{
  size_t n = 0, buffered = 0;

  cr_assert_eq(node_store_counts(p->s, &n, &buffered), BT_OK);
  return n;
}

static size_t nfiles(party *p)
{
  uint8_t *ids = NULL;
  size_t n = 0;

  cr_assert_eq(node_files_as(p->s, NODE_ROLE_DSL, &ids, &n), BT_OK);
  free(ids);
  return n;
}

static int tagged(const crdt_casefile *cf, const char *tag)
{
  for (size_t i = 0; i < cf->ntags; i++)
    if (bt_str_eq(cf->tags[i], bt_strz(tag)))
      return 1;
  return 0;
}

static int intake(const char *user, node_role role, node_child c, const char *facts, int map,
                  uint8_t file[CRDT_FILE_LEN], crdt_id *cid, int *created)
{
  crdt_body b = concern_of(facts), m = bodymap_of();

  return node_intake_as(school.s, user, role, &c, &b, map ? &m : NULL, file, cid, created);
}

Test(node_intake, a_first_concern_opens_a_tagged_file_with_the_body_map_linked)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  uint8_t file[CRDT_FILE_LEN];
  const crdt_casefile *cf;
  node_view v;
  crdt_id cid;
  int created = -1;

  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "crying by the fence", 1, file, &cid,
                      &created), BT_OK);
  cr_assert_eq(created, 1);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_GIVEN].v[0].value, bt_strz("Amy")));
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_FAMILY].v[0].value, bt_strz("Bell")));
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_DOB].v[0].value, bt_strz("2016-03-04")));
  cr_assert_eq(cf->fields[CRDT_FS_UPN].n, 0);
  cr_assert(tagged(cf, NODE_INTAKE_TAG));
  cr_assert(!tagged(cf, NODE_INTAKE_UNCLEAR_TAG));
  /* The member of staff sees their concern and the body map naming it. */
  cr_assert_eq(node_casefile_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, &v), BT_OK);
  cr_assert_null(v.file);
  cr_assert_eq(v.nentries, 2);
  int seen_c = 0, seen_m = 0;
  for (size_t i = 0; i < v.nentries; i++) {
    const crdt_body *b = v.entries[i]->body;
    if (b->type == CRDT_OP_CONCERN) {
      seen_c = 1;
      cr_assert(crdt_id_cmp(&v.entries[i]->op->id, &cid) == 0);
      cr_assert(bt_str_eq(b->user, bt_strz("staff.ali")));
    } else if (b->type == CRDT_OP_BODYMAP) {
      seen_m = 1;
      cr_assert(crdt_id_cmp(&b->u.bodymap.concern, &cid) == 0);
      cr_assert_eq(b->u.bodymap.nmarks, 1);
      cr_assert(bt_str_eq(b->u.bodymap.marks[0].site, bt_strz("left forearm")));
    }
  }
  cr_assert(seen_c && seen_m);
  node_view_free(&v);
  /* Another member of staff sees none of it. */
  cr_assert_eq(node_casefile_as(school.s, "staff.bo", NODE_ROLE_STAFF, file, &v), BT_OK);
  cr_assert_eq(v.nentries, 0);
  node_view_free(&v);
}

Test(node_intake, a_later_concern_finds_the_file_by_names_and_dob_or_by_upn)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  node_child amy2 = {"  aMY ", "BELL", 20160304, NULL};
  node_child other_dob = {"Amy", "Bell", 20160305, NULL};
  uint8_t f1[CRDT_FILE_LEN], f2[CRDT_FILE_LEN], f3[CRDT_FILE_LEN], f4[CRDT_FILE_LEN];
  crdt_id cid;
  int created;

  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "one", 0, f1, &cid, &created), BT_OK);
  cr_assert_eq(intake("staff.bo", NODE_ROLE_STAFF, amy2, "two", 1, f2, &cid, &created), BT_OK);
  cr_assert_eq(created, 0);
  cr_assert_eq(memcmp(f1, f2, CRDT_FILE_LEN), 0, "case and spaces do not matter");
  cr_assert_eq(intake("staff.bo", NODE_ROLE_STAFF, other_dob, "three", 0, f3, &cid, &created),
               BT_OK);
  cr_assert_eq(created, 1, "another date of birth is another child");
  cr_assert_neq(memcmp(f1, f3, CRDT_FILE_LEN), 0);
  /* A DSL's file with a UPN: a concern naming the child and the UPN (in
   * any case) lands there; the file's UPN with another name (a nickname, a
   * sibling's UPN, a typo) is never guessed into it: a new file flagged
   * for the DSL; so is the right name with another UPN. */
  uint8_t ben[CRDT_FILE_LEN], f5[CRDT_FILE_LEN], f6[CRDT_FILE_LEN];
  const crdt_casefile *cf;
  crdt_fieldval v[] = {{CRDT_FS_GIVEN, bt_strz("Benjamin")}, {CRDT_FS_FAMILY, bt_strz("Cole")},
                       {CRDT_FS_DOB, bt_strz("2015-09-01")},
                       {CRDT_FS_UPN, bt_strz("B801200005001")}};
  crdt_body fc = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  crdt_id op;
  fc.u.fields = (crdt_fields){v, 4};
  cr_assert_eq(node_file_create_as(school.s, "dsl.jones", NODE_ROLE_DSL, &fc, ben, &op), BT_OK);
  node_child ben_upn = {"benjamin", "Cole", 20150901, "b801200005001"};
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, ben_upn, "four", 0, f4, &cid, &created),
               BT_OK);
  cr_assert_eq(created, 0);
  cr_assert_eq(memcmp(f4, ben, CRDT_FILE_LEN), 0);
  node_child benny = {"Ben", "Cole", 20150901, "B801200005001"};
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, benny, "five", 0, f5, &cid, &created), BT_OK);
  cr_assert_eq(created, 1, "the same UPN with another name is for the DSL to settle");
  cr_assert_eq(node_casefile(school.s, f5, &cf), BT_OK);
  cr_assert(tagged(cf, NODE_INTAKE_UNCLEAR_TAG));
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_UPN].v[0].value, bt_strz("B801200005001")));
  char upn2[] = "?801200005002"; /* another valid UPN */
  upn2[0] = crdt_upn_check_letter(upn2, CRDT_UPN_LEN);
  node_child other_upn = {"Benjamin", "Cole", 20150901, upn2};
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, other_upn, "six", 0, f6, &cid, &created),
               BT_OK);
  cr_assert_eq(created, 1, "the same child's names with another UPN: the DSL settles it");
  cr_assert_neq(memcmp(f6, ben, CRDT_FILE_LEN), 0);
  cr_assert_eq(nfiles(&school), 5);
}

Test(node_intake, an_extract_or_a_file_sent_away_and_closed_is_no_candidate)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  uint8_t a[CRDT_FILE_LEN], x[CRDT_FILE_LEN], f[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id note, cid;
  int created;

  party_new_file(&school, a); /* Amy Bell, 2016-03-04 */
  cr_assert_eq(party_note(&school, a, "Phoned mum", &note), BT_OK);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, a, &note, 1, &g, x), BT_OK);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "x", 0, f, &cid, &created), BT_OK);
  cr_assert_eq(created, 0, "the extract for the MASH is not Amy's file");
  cr_assert_eq(memcmp(f, a, CRDT_FILE_LEN), 0);
}

Test(node_intake, two_matching_files_open_a_third_flagged_for_the_dsl_to_check)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  uint8_t a[CRDT_FILE_LEN], b[CRDT_FILE_LEN], f[CRDT_FILE_LEN];
  const crdt_casefile *cf;
  crdt_id cid;
  int created;

  party_new_file(&school, a); /* Amy Bell, 2016-03-04, by the DSL */
  party_new_file(&school, b);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "x", 0, f, &cid, &created), BT_OK);
  cr_assert_eq(created, 1);
  cr_assert(memcmp(f, a, CRDT_FILE_LEN) && memcmp(f, b, CRDT_FILE_LEN));
  cr_assert_eq(node_casefile(school.s, f, &cf), BT_OK);
  cr_assert(tagged(cf, NODE_INTAKE_TAG) && tagged(cf, NODE_INTAKE_UNCLEAR_TAG));
}

Test(node_intake, a_file_this_org_may_only_read_is_not_a_candidate)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  uint8_t mashfile[CRDT_FILE_LEN], f[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&school, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant, cid;
  int created;

  party_new_file(&mash, mashfile); /* the MASH's Amy Bell, shared read-only */
  cr_assert_eq(node_grant_as(mash.s, "dsl.jones", NODE_ROLE_DSL, mashfile, &g, &grant), BT_OK);
  party_sync(&mash, &school, mashfile);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "x", 0, f, &cid, &created), BT_OK);
  cr_assert_eq(created, 1);
  cr_assert_neq(memcmp(f, mashfile, CRDT_FILE_LEN), 0);
}

Test(node_intake, refusals_write_nothing)
{
  node_child ok = {"Amy", "Bell", 20160304, NULL};
  node_child bad_upn = {"Amy", "Bell", 20160304, "A801200005001"};
  node_child no_name = {"", "Bell", 20160304, NULL};
  node_child spaces = {"  ", "Bell", 20160304, NULL};
  node_child no_dob = {"Amy", "Bell", 0, NULL};
  node_child bad_dob = {"Amy", "Bell", 20160230, NULL};
  uint8_t f[CRDT_FILE_LEN];
  crdt_id cid;
  int created;
  size_t before = ops(&school);

  cr_assert_eq(intake("gov.bea", NODE_ROLE_GOVERNOR, ok, "x", 1, f, &cid, &created), BT_EDENIED);
  cr_assert_eq(intake("aud.cy", NODE_ROLE_AUDITOR, ok, "x", 1, f, &cid, &created), BT_EDENIED);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, bad_upn, "x", 1, f, &cid, &created),
               BT_EUPN);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, no_name, "x", 1, f, &cid, &created),
               BT_EMISSING);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, spaces, "x", 1, f, &cid, &created),
               BT_EMISSING);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, no_dob, "x", 1, f, &cid, &created),
               BT_EMISSING);
  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, bad_dob, "x", 1, f, &cid, &created),
               BT_EDATE);
  /* A record that does not pass its schema: no facts; a mark off the map. */
  crdt_body c = concern_of(""), m = bodymap_of();
  c.u.concern.facts = bt_strz("");
  cr_assert_neq(node_intake_as(school.s, "staff.ali", NODE_ROLE_STAFF, &ok, &c, NULL, f, &cid,
                               &created), BT_OK);
  c = concern_of("x");
  mark.x = 1001;
  m.u.bodymap.marks = &mark;
  crdt_mark far = mark;
  far.x = 1001;
  m.u.bodymap.marks = &far;
  cr_assert_neq(node_intake_as(school.s, "staff.ali", NODE_ROLE_STAFF, &ok, &c, &m, f, &cid,
                               &created), BT_OK);
  mark.x = 300;
  cr_assert_eq(ops(&school), before);
  cr_assert_eq(nfiles(&school), 0);
}

Test(node_intake, each_intake_is_audited_as_matched_or_new)
{
  node_child amy = {"Amy", "Bell", 20160304, NULL};
  node_audit_filter flt = {.action = NODE_AUDIT_INTAKE};
  node_audit_rec *r = NULL;
  uint8_t f[CRDT_FILE_LEN];
  crdt_id cid;
  size_t n = 0;
  int created;

  cr_assert_eq(intake("staff.ali", NODE_ROLE_STAFF, amy, "x", 0, f, &cid, &created), BT_OK);
  cr_assert_eq(intake("dsl.jones", NODE_ROLE_DSL, amy, "y", 1, f, &cid, &created), BT_OK);
  cr_assert_eq(node_audit_list(school.s, &flt, &r, &n), BT_OK);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(r[0].user, "staff.ali");
  cr_assert_str_eq(r[0].detail, "new");
  cr_assert_str_eq(r[1].user, "dsl.jones");
  cr_assert_str_eq(r[1].detail, "matched");
  cr_assert(r[1].has_file && memcmp(r[1].file, f, CRDT_FILE_LEN) == 0);
  node_audit_list_free(r);
}
