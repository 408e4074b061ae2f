/* tests/node/test_share.c: grants, revokes, expiry and lawful bases through
 * node/, between real stores: an LA (root), a school that holds a file, a
 * MASH and a second school (parties.h). Ops move between stores by copying
 * stored envelopes (the sync of issue 5 will do the same over the wire). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include <sodium.h>
#include "crdt/gen.h"
#include "node/dir.h"
#include "node/enrol.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/store.h"
#include "node/users.h"

PARTIES_SUITE(node_share);

/* Copies every stored op of file from one store to another, and checks
 * the copy is whole: every op stored, none missing. */
static void sync_to(party *from, party *to, const uint8_t *file)
{
  size_t n = party_sync(from, to, file);
  size_t held = 0, missing = 0;

  cr_assert_eq(node_file_ops(to->s, file, NULL, 0, &held), BT_OK);
  cr_assert_geq(held, n, "every op is stored once the batch is in");
  cr_assert_eq(node_missing(to->s, file, NULL, 0, &missing), BT_OK);
  cr_assert_eq(missing, 0);
}

Test(node_share, an_org_without_a_grant_reads_nothing)
{
  uint8_t file[CRDT_FILE_LEN];
  const crdt_casefile *cf;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "home visit", NULL), BT_OK);
  sync_to(&school, &other, file);
  cr_assert_eq(node_casefile(other.s, file, &cf), BT_OK);
  cr_assert_eq(cf->nentries, 0);
  /* Only the school's own keybox opens (a public envelope: it shows that
   * a key set exists for some org, sealed): nothing else does. */
  node_org so;
  uint8_t tag[CRDT_EPOCH_LEN];
  crdt_id ids[16];
  size_t n, boxes = 0;
  cr_assert_eq(node_org_get(school.s, &so), BT_OK);
  crdt_keybox_tag(so.box_pk.b, tag);
  node_org_clear(&so);
  cr_assert_eq(node_file_ops(other.s, file, ids, 16, &n), BT_OK);
  for (size_t i = 0; i < n; i++) {
    crdt_op *op;
    cr_assert_eq(node_op_get(other.s, &ids[i], &op), BT_OK);
    boxes += memcmp(op->h.epoch, tag, sizeof(tag)) == 0;
    crdt_op_free(op);
  }
  cr_assert_eq(boxes, 1);
  cr_assert_eq(cf->nunknown, cf->nops - boxes, "every other op is unreadable there");
  cr_assert_eq(cf->fields[CRDT_FS_GIVEN].n, 0);
  cr_assert_eq(party_note(&other, file, "x", NULL), BT_EEPOCH, "it cannot write either");
}

Test(node_share, a_grant_with_all_history_reads_everything_and_read_only_cannot_write)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "before the grant", NULL), BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(party_note(&school, file, "after the grant", NULL), BT_OK);
  sync_to(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "before the grant"));
  cr_assert(party_shows(&mash, file, "after the grant"));
  cr_assert_eq(party_note(&mash, file, "mash note", NULL), BT_EDENIED, "read-only grant");
  /* The grant is recorded in the file, with its lawful basis. */
  const crdt_access *a;
  cr_assert_eq(node_access(mash.s, file, &a), BT_OK);
  cr_assert_eq(a->ngrants, 1);
  cr_assert(bt_str_eq(a->grants[0].g->consent_by, BT_STR("mother")));
  cr_assert(bt_str_eq(a->grants[0].g->approved_by, BT_STR("dsl.jones")));
}

Test(node_share, a_grant_from_now_reads_exactly_what_follows_it)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_FROM_NOW);
  const crdt_casefile *cf;
  crdt_id grant;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "old concern", NULL), BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(party_note(&school, file, "new concern", NULL), BT_OK);
  sync_to(&school, &mash, file);
  cr_assert_not(party_shows(&mash, file, "old concern"));
  cr_assert(party_shows(&mash, file, "new concern"));
  cr_assert_eq(node_casefile(mash.s, file, &cf), BT_OK);
  cr_assert_eq(cf->fields[CRDT_FS_GIVEN].n, 0, "the front sheet was written before");
  cr_assert_gt(cf->nunknown, 0);
  cr_assert_eq(cf->nhidden, 0);
  /* Both judge access the same way: same grants, same current epoch. */
  const crdt_access *a;
  uint8_t ep[CRDT_EPOCH_LEN];
  size_t ng;
  cr_assert_eq(node_access(mash.s, file, &a), BT_OK);
  memcpy(ep, a->epoch, sizeof(ep));
  ng = a->ngrants;
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert_eq(memcmp(ep, a->epoch, sizeof(ep)), 0);
  cr_assert_eq(ng, a->ngrants);
  cr_assert(party_shows(&school, file, "old concern"));
}

Test(node_share, revocation_locks_the_org_out_of_what_follows)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_id grant;

  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  sync_to(&school, &mash, file);
  cr_assert_eq(party_note(&mash, file, "mash before revoke", NULL), BT_OK);
  sync_to(&mash, &school, file);
  cr_assert(party_shows(&school, file, "mash before revoke"), "a write grant lets MASH write");
  /* Concurrently: the school revokes while MASH writes, unaware. */
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant,
                              "consent withdrawn"), BT_OK);
  cr_assert_eq(party_note(&mash, file, "mash concurrent", NULL), BT_OK);
  cr_assert_eq(party_note(&school, file, "school after revoke", NULL), BT_OK);
  sync_to(&mash, &school, file);
  sync_to(&school, &mash, file);
  cr_assert(party_shows(&school, file, "mash concurrent"),
            "a write concurrent with the revoke stays");
  cr_assert(party_shows(&mash, file, "mash concurrent"));
  cr_assert(party_shows(&school, file, "school after revoke"));
  cr_assert_not(party_shows(&mash, file, "school after revoke"), "the new epoch is not MASH's");
  cr_assert_eq(party_note(&mash, file, "mash after revoke", NULL), BT_EDENIED);
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant, "again"),
               BT_ENOTFOUND);
}

Test(node_share, an_expired_grant_ends_at_its_date)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  const crdt_access *a;
  crdt_id grant;
  size_t n;

  party_new_file(&school, file);
  g.expires_at = party_now_ms + 3600000;
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(node_expire(school.s, file, party_now_ms, &n), BT_OK);
  cr_assert_eq(n, 0, "not yet");
  party_now_ms += 2 * 3600000;
  cr_assert_eq(party_note(&school, file, "after expiry", NULL), BT_OK); /* expires it first */
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert_eq(a->ngrants, 1);
  cr_assert_not(crdt_id_is_zero(&a->grants[0].revoked_by), "expiry recorded as a revoke");
  sync_to(&school, &mash, file);
  cr_assert_not(party_shows(&mash, file, "after expiry"));
}

Test(node_share, a_grant_needs_a_whole_lawful_basis_and_a_dsl)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;

  party_new_file(&school, file);
  g.basis = 0;
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant),
               BT_EMISSING);
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.consent_how = NULL;
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant),
               BT_EMISSING, "consent without how it was given");
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.basis = CRDT_BASIS_HARM;
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant),
               BT_EMISSING, "no consent and no reason");
  g.reason = "disclosure of physical abuse; informing the parent would put the child at risk";
  for (node_role r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++) {
    int want = node_may(r, NODE_DO_SHARE) ? BT_OK : BT_EDENIED;
    int rc = node_grant_as(school.s, "someone", r, file, &g, &grant);
    if (want == BT_OK) {
      cr_assert(rc == BT_OK || rc == BT_EDUP, "role %s: %s", node_role_name(r), bt_errname(rc));
    } else {
      cr_assert_eq(rc, BT_EDENIED, "role %s", node_role_name(r));
    }
  }
  /* A provisional (self-signed) org certificate is not a grantee. */
  node_org o;
  cr_assert_eq(node_org_get(other.s, &o), BT_OK);
  party fake = {0};
  party_open(&fake, "Unvetted School", CRDT_ORG_SCHOOL);
  node_org fo;
  cr_assert_eq(node_org_get(fake.s, &fo), BT_OK);
  g.org_cert = fo.org_cert;
  g.org_cert_len = fo.org_cert_len;
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant),
               BT_ESELFSIGNED);
  node_org_clear(&fo);
  node_org_clear(&o);
  party_close(&fake);
}

Test(node_share, access_ops_come_only_through_the_sharing_calls)
{
  uint8_t file[CRDT_FILE_LEN];
  const uint32_t types[] = {CRDT_OP_GENESIS, CRDT_OP_MEMBER, CRDT_OP_GRANT, CRDT_OP_REVOKE,
                            CRDT_OP_EPOCH, CRDT_OP_KEYBOX, CRDT_OP_DIR_ORG,
                            CRDT_OP_DIR_REVOKE};
  crdt_id id;

  party_new_file(&school, file);
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    crdt_body b = {.type = types[i], .known = 1};
    cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &b, &id),
                 BT_EINVAL, "type %u", types[i]);
  }
}

Test(node_share, only_the_holder_shares)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  node_grant_req g2 = party_consent_req(&other, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;

  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  sync_to(&school, &mash, file);
  cr_assert_eq(node_grant_as(mash.s, "dsl.jones", NODE_ROLE_DSL, file, &g2, &grant),
               BT_EDENIED, "a referral grantee may write, not re-share");
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_EDUP);
}

Test(node_share, a_decision_not_to_share_is_recorded_in_the_file)
{
  uint8_t file[CRDT_FILE_LEN];
  crdt_body b = {.type = CRDT_OP_DECISION, .known = 1};
  const crdt_casefile *cf;
  crdt_id id;

  party_new_file(&school, file);
  b.u.decision = (crdt_decision){.decision = CRDT_DECIDE_NOT_SHARE, .with_whom = BT_STR("police"),
                                 .purpose = CRDT_PURPOSE_INFO_REQUEST,
                                 .reason = BT_STR("request not specific to this child"),
                                 .decided_by = BT_STR("dsl.jones"), .decided_on = 20260105};
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, &b, &id), BT_EDENIED);
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &b, &id), BT_OK);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  const crdt_cf_entry *e = crdt_casefile_entry(cf, &id);
  cr_assert_not_null(e, "the decision is an entry of the file");
  cr_assert_eq(e->body->u.decision.decision, CRDT_DECIDE_NOT_SHARE);
}

/* The entry whose chronology text is text, or NULL. */
static const crdt_cf_entry *entry_with(const crdt_casefile *cf, const char *text)
{
  for (size_t e = 0; e < cf->nentries; e++)
    if (cf->entries[e].body->type == CRDT_OP_CHRONO &&
        bt_str_eq(cf->entries[e].body->u.chrono.summary, bt_strz(text)))
      return &cf->entries[e];
  return NULL;
}

/* Copies in f (as this store reads it) whose copied body contains text. */
static size_t copies_of(party *p, const uint8_t *f, const char *text)
{
  const crdt_casefile *cf;
  size_t n = 0, tl = strlen(text);

  cr_assert_eq(node_casefile(p->s, f, &cf), BT_OK);
  for (size_t e = 0; e < cf->nentries; e++) {
    const crdt_body *b = cf->entries[e].body;
    if (b->type != CRDT_OP_COPY)
      continue;
    for (size_t i = 0; i + tl <= b->u.copy.body.len; i++)
      if (memcmp(b->u.copy.body.p + i, text, tl) == 0) {
        n++;
        break;
      }
  }
  return n;
}

Test(node_share, an_extract_shows_the_partner_only_the_chosen_entries)
{
  uint8_t file[CRDT_FILE_LEN], ex[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_id ids[3], chosen[2], reply, link;
  const crdt_casefile *cf;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "bruise on arm, explained", &ids[0]), BT_OK);
  cr_assert_eq(party_note(&school, file, "sibling's private matter", &ids[1]), BT_OK);
  cr_assert_eq(party_note(&school, file, "disclosure to teacher", &ids[2]), BT_OK);
  chosen[0] = ids[0];
  chosen[1] = ids[2];
  cr_assert_eq(node_extract_as(school.s, "staff.ali", NODE_ROLE_STAFF, file, chosen, 2, &g, ex),
               BT_EDENIED);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &ids[1], 0, &g, ex),
               BT_EINVAL);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, chosen, 2, &g, ex),
               BT_OK);
  /* The partner gets the extract and, say, the main file's ciphertext too. */
  sync_to(&school, &mash, ex);
  sync_to(&school, &mash, file);
  cr_assert_eq(copies_of(&mash, ex, "bruise on arm"), 1);
  cr_assert_eq(copies_of(&mash, ex, "disclosure to teacher"), 1);
  cr_assert_eq(copies_of(&mash, ex, "sibling"), 0);
  cr_assert_not(party_shows(&mash, file, "sibling's private matter"));
  cr_assert_not(party_shows(&mash, file, "bruise on arm, explained"), "the main file stays closed");
  cr_assert_eq(node_casefile(mash.s, ex, &cf), BT_OK);
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_FAMILY].v[0].value, BT_STR("Bell")));
  for (size_t e = 0; e < cf->nentries; e++)
    if (cf->entries[e].body->type == CRDT_OP_COPY)
      cr_assert_eq(node_copy_verify(mash.s, &cf->entries[e]), BT_EEPOCH,
                   "the partner holds the source's ciphertext, not its key");
  /* The holder verifies every copy against its source. */
  cr_assert_eq(node_casefile(school.s, ex, &cf), BT_OK);
  size_t verified = 0;
  for (size_t e = 0; e < cf->nentries; e++)
    if (cf->entries[e].body->type == CRDT_OP_COPY) {
      cr_assert_eq(node_copy_verify(school.s, &cf->entries[e]), BT_OK);
      verified++;
    }
  cr_assert_eq(verified, 2);
  /* The partner replies in the extract; the school links it back. */
  cr_assert_eq(party_note(&mash, ex, "strategy meeting set for Friday", &reply), BT_OK);
  sync_to(&mash, &school, ex);
  cr_assert_eq(node_extract_link_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ex, &reply,
                                    &link), BT_OK);
  cr_assert_eq(copies_of(&school, file, "strategy meeting set for Friday"), 1);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert_eq(node_copy_verify(school.s, crdt_casefile_entry(cf, &link)), BT_OK);
  /* The decision to share is in the main file. */
  size_t decisions = 0;
  for (size_t e = 0; e < cf->nentries; e++)
    decisions += cf->entries[e].body->type == CRDT_OP_DECISION &&
                 cf->entries[e].body->u.decision.decision == CRDT_DECIDE_SHARE;
  cr_assert_eq(decisions, 1);
  /* A copy that does not match its source fails verification. */
  crdt_body forged = {.type = CRDT_OP_COPY, .known = 1};
  crdt_id fid;
  const crdt_cf_entry *src = entry_with(cf, "sibling's private matter");
  cr_assert_not_null(src);
  forged.u.copy = (crdt_copy){{(const char *)file, CRDT_FILE_LEN}, src->op->id,
                              BT_STR("\x94\x01\x03\xa1x\x80")};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, ex, &forged, &fid), BT_OK);
  cr_assert_eq(node_casefile(school.s, ex, &cf), BT_OK);
  cr_assert_eq(node_copy_verify(school.s, crdt_casefile_entry(cf, &fid)), BT_EINVAL);
  /* A copy naming the wrong file. */
  forged.u.copy.from_file = (bt_str){(const char *)ex, CRDT_FILE_LEN};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, ex, &forged, &fid), BT_OK);
  cr_assert_eq(node_casefile(school.s, ex, &cf), BT_OK);
  cr_assert_eq(node_copy_verify(school.s, crdt_casefile_entry(cf, &fid)), BT_EFILE);
}

Test(node_share, the_la_directory_lists_orgs_and_its_revocations_stop_grants)
{
  uint8_t file[CRDT_FILE_LEN], dfile[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_directory *dir;
  crdt_id root, grant;
  crdt_cert *mc;
  size_t n;

  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  node_dir_file(&root, dfile);
  cr_assert_eq(node_dir_publish(la.s, school.cert, school.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, mash.cert, mash.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, other.cert, other.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(school.s, mash.cert, mash.cert_len, NULL), BT_ENOTFOUND,
               "only the LA node holds the root key");
  cr_assert_eq(node_dir_track(school.s, &root), BT_OK);
  sync_to(&la, &school, dfile);
  cr_assert_eq(node_dir_get(school.s, &root, party_now_ms, &dir), BT_OK);
  cr_assert_eq(dir->nentries, 3);
  cr_assert(bt_str_eq(dir->entries[0].cert->b.name, BT_STR("County MASH")), "sorted by name");
  cr_assert_eq(crdt_cert_decode(mash.cert, mash.cert_len, &mc), BT_OK);
  char fp[CRDT_FPR_LEN];
  crdt_fingerprint(mc->b.subject.b, CRDT_PK_LEN, fp);
  cr_assert_str_eq(dir->entries[0].fingerprint, fp);
  cr_assert_eq(dir->nrevoked, 0);
  crdt_directory_free(dir);
  /* The LA revokes the MASH's certificate; the school learns it by sync. */
  cr_assert_eq(node_dir_revoke(la.s, &mc->b.subject, "key compromised", party_now_ms, NULL), BT_OK);
  sync_to(&la, &school, dfile);
  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK,
               "still trusted until the school applies the directory");
  cr_assert_eq(node_dir_apply(school.s, &root, party_now_ms, &n), BT_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(node_dir_apply(school.s, &root, party_now_ms, &n), BT_OK);
  cr_assert_eq(n, 0, "applying twice adds nothing");
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant, "revoked by LA"),
               BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant),
               BT_EREVOKED);
  crdt_cert_free(mc);
}

Test(node_share, heads_and_governors_see_counts_only)
{
  uint8_t f1[CRDT_FILE_LEN], f2[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_fieldval fv[] = {{CRDT_FS_PLAN, BT_STR("cp")}};
  crdt_body set = {.type = CRDT_OP_FIELD_SET, .known = 1};
  crdt_body c = {.type = CRDT_OP_CONCERN, .known = 1};
  node_counts k;
  crdt_id grant;

  party_new_file(&school, f1);
  party_new_file(&school, f2);
  set.u.fields = (crdt_fields){fv, 1};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, f1, &set, NULL), BT_OK);
  c.u.concern = (crdt_concern){.written_at = party_now_ms, .author_name = BT_STR("A Teacher"),
                               .author_role = BT_STR("class teacher"),
                               .facts = BT_STR("came in hungry")};
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, f1, &c, NULL), BT_OK);
  c.u.concern.incident_at = party_now_ms - 10ull * 86400000; /* late December */
  cr_assert_eq(node_author_as(school.s, "staff.ali", NODE_ROLE_STAFF, f2, &c, NULL), BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, f2, &g, &grant), BT_OK);
  for (node_role r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++) {
    int rc = node_counts_as(school.s, r, party_now_ms, &k);
    cr_assert_eq(rc, node_may(r, NODE_DO_READ_COUNTS) ? BT_OK : BT_EDENIED, "role %s",
                 node_role_name(r));
  }
  cr_assert_eq(node_counts_as(school.s, NODE_ROLE_GOVERNOR, party_now_ms, &k), BT_OK);
  cr_assert_eq(k.files, 2);
  cr_assert_eq(k.open, 2);
  cr_assert_eq(k.by_plan[4], 1, "one child on a CP plan");
  cr_assert_eq(k.by_plan[0], 1, "one with no plan recorded");
  cr_assert_eq(k.concerns, 2);
  cr_assert_eq(k.months[NODE_COUNT_MONTHS - 1].concerns, 1, "this month");
  cr_assert_eq(k.months[NODE_COUNT_MONTHS - 2].concerns, 1, "last month");
  cr_assert_eq(k.months[NODE_COUNT_MONTHS - 1].yyyymm, 202601);
  cr_assert_eq(k.months[0].yyyymm, 202402);
  cr_assert_eq(k.shared, 1);
  node_view v;
  cr_assert_eq(node_casefile_as(school.s, "gov", NODE_ROLE_GOVERNOR, f1, &v), BT_EDENIED);
}

/* A DSL's laptop: a second device of the school's org, by enrolment. */
static void enrol_laptop(party *laptop)
{
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *req, *ans;
  size_t rl, al;

  party_open(laptop, NULL, 0);
  cr_assert_eq(node_enrol_issue(school.s, "DSL laptop", 600000, party_now_ms, code), BT_OK);
  cr_assert_eq(node_enrol_request(laptop->s, code, &req, &rl), BT_OK);
  cr_assert_eq(node_enrol_answer(school.s, req, rl, party_now_ms, &ans, &al), BT_OK);
  cr_assert_eq(node_enrol_accept(laptop->s, code, ans, al), BT_OK);
  crdt_id root;
  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  cr_assert_eq(node_anchor_add(laptop->s, &root), BT_OK); /* a node setting */
  free(req);
  free(ans);
}

Test(node_share, concurrent_rekeys_fork_and_the_next_write_merges_them)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req gm = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  node_grant_req go = party_consent_req(&other, CRDT_RIGHTS_READ, CRDT_HISTORY_FROM_NOW);
  const crdt_access *a;
  party laptop = {0};
  crdt_id grant, g2;

  enrol_laptop(&laptop);
  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &gm, &grant), BT_OK);
  sync_to(&school, &laptop, file);
  cr_assert(party_shows(&laptop, file, "Amy") == 0); /* (a name is a field, not a note) */
  cr_assert_eq(party_note(&laptop, file, "home visit, offline", NULL), BT_OK,
               "same org: it writes");
  /* Offline, each starts a new epoch: the server revokes MASH, the laptop
   * grants Elm Academy from now. */
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &grant, "ended"),
               BT_OK);
  int grc = node_grant_as(laptop.s, "dsl.jones", NODE_ROLE_DSL, file, &go, &g2);
  cr_assert_eq(grc, BT_OK, "%s", bt_errname(grc));
  sync_to(&laptop, &school, file);
  sync_to(&school, &laptop, file);
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert(a->fork, "two concurrent epochs");
  cr_assert_eq(node_access(laptop.s, file, &a), BT_OK);
  cr_assert(a->fork);
  /* The next write merges: a new epoch for everyone who keeps access. */
  int mrc = party_note(&school, file, "after the merge", NULL);
  cr_assert_eq(mrc, BT_OK, "%d %s", mrc, bt_strerror(mrc));
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  cr_assert_not(a->fork);
  sync_to(&school, &laptop, file);
  sync_to(&school, &mash, file);
  sync_to(&school, &other, file);
  cr_assert(party_shows(&laptop, file, "after the merge"));
  cr_assert(party_shows(&other, file, "after the merge"), "Elm's grant survives the merge");
  cr_assert(party_shows(&school, file, "home visit, offline"));
  cr_assert_not(party_shows(&mash, file, "after the merge"), "MASH's revocation survives it");
  cr_assert(party_shows(&mash, file, "home visit, offline"), "MASH read what came before");
  const crdt_casefile *cf;
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert_eq(cf->nhidden, 0);
  party_close(&laptop);
}

/* Seals b as a stranger's op (a key no certificate names) in file. */
static crdt_op *stranger_op(const uint8_t *file, const uint8_t *epoch, const uint8_t *key,
                            const crdt_id *parents, size_t np, crdt_body *b)
{
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN], nonce[CRDT_NONCE_LEN];
  crdt_header h = {.version = CRDT_OP_VERSION, .seq = 1, .parents = parents,
                   .nparents = np, .hour = crdt_hlc_hour(b->hlc)};
  crdt_op *op = NULL;

  crypto_sign_keypair(pk, sk);
  randombytes_buf(nonce, sizeof(nonce));
  memcpy(h.file, file, CRDT_FILE_LEN);
  memcpy(h.author, pk, CRDT_PK_LEN);
  memcpy(h.epoch, epoch, CRDT_EPOCH_LEN);
  cr_assert_eq(crdt_op_seal(&h, b, key, nonce, sk, &op), BT_OK);
  return op;
}

static void ingest_one(party *p, const crdt_op *op)
{
  bt_bytes env = {op->env, op->env_len};
  node_ingest_result res;

  cr_assert_eq(node_ingest(p->s, &env, 1, &res, NULL), BT_OK);
  cr_assert_neq(res.status, NODE_REJECTED, "%s", bt_errname(res.reason));
}

Test(node_share, a_stranger_cannot_poison_a_grantees_keys)
{
  uint8_t file[CRDT_FILE_LEN], tag[CRDT_EPOCH_LEN], pub[CRDT_KEY_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_keyitem bogus = {.kind = CRDT_KEY_SECRET};
  crdt_body kb = {.type = CRDT_OP_KEYBOX, .known = 1, .user = BT_STR("x"), .hlc = 0};
  const crdt_access *a;
  crdt_id grant, head;
  node_org mo;
  uint8_t *sealed;
  size_t len, nh;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "a note", NULL), BT_OK);
  /* The stranger knows the current epoch (it is in every content header)
   * and MASH's box key (the directory): it boxes a wrong secret for it. */
  cr_assert_eq(node_access(school.s, file, &a), BT_OK);
  memcpy(bogus.epoch, a->epoch, CRDT_EPOCH_LEN);
  randombytes_buf(bogus.key, sizeof(bogus.key));
  cr_assert_eq(node_org_get(mash.s, &mo), BT_OK);
  cr_assert_eq(crdt_keyset_seal(&bogus, 1, mo.box_pk.b, &sealed, &len), BT_OK);
  kb.u.keybox = (crdt_keybox){mo.sign_pk, mo.box_pk, {(const char *)sealed, len}};
  kb.hlc = crdt_hlc_make(party_now_ms, 0);
  crdt_keybox_tag(mo.box_pk.b, tag);
  crdt_public_key(file, tag, pub);
  cr_assert_eq(node_heads(school.s, file, &head, 1, &nh), BT_OK);
  crdt_op *evil = stranger_op(file, tag, pub, &head, 1, &kb);
  sync_to(&school, &mash, file);
  ingest_one(&mash, evil); /* first, before the real keybox */
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  sync_to(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "a note"), "the forged secret was refused, the real one kept");
  crdt_op_free(evil);
  free(sealed);
  node_org_clear(&mo);
}

Test(node_share, a_stranger_cannot_drag_the_clock_into_the_future)
{
  uint8_t file[CRDT_FILE_LEN], ep[CRDT_EPOCH_LEN], key[CRDT_KEY_LEN];
  crdt_body junk = {.type = CRDT_OP_CHRONO, .known = 1, .user = BT_STR("x")};
  const crdt_casefile *cf;
  crdt_id id;

  party_new_file(&school, file);
  randombytes_buf(ep, sizeof(ep));
  randombytes_buf(key, sizeof(key));
  junk.hlc = crdt_hlc_make(party_now_ms + 3650ull * 86400000, 0); /* ten years ahead */
  junk.u.chrono = (crdt_chrono){.event_at = party_now_ms, .category = CRDT_CHR_OTHER,
                                .summary = BT_STR("junk")};
  crdt_op *op = stranger_op(file, ep, key, NULL, 0, &junk); /* a parentless head */
  ingest_one(&school, op);
  cr_assert_eq(party_note(&school, file, "after the junk", &id), BT_OK);
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  const crdt_cf_entry *e = crdt_casefile_entry(cf, &id);
  cr_assert_not_null(e);
  cr_assert_leq(crdt_hlc_ms(e->body->hlc), party_now_ms + 5 * 60000, "the clock stayed near now");
  crdt_op_free(op);
}

Test(node_share, staff_who_share_or_transfer_list_the_orgs_they_may_pick)
{
  uint8_t dfile[CRDT_FILE_LEN];
  node_dir_org *orgs;
  crdt_cert *mc;
  crdt_id root;
  party lao;
  size_t n;

  party_join(&la, &lao, "Northshire LA", CRDT_ORG_LA);
  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  node_dir_file(&root, dfile);
  cr_assert_eq(node_dir_orgs_as(school.s, NODE_ROLE_DSL, party_now_ms, &orgs, &n), BT_OK);
  cr_assert_eq(n, 0, "no directory held yet");
  node_dir_orgs_free(orgs, n);
  cr_assert_eq(node_dir_publish(la.s, other.cert, other.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, school.cert, school.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, mash.cert, mash.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, lao.cert, lao.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_track(school.s, &root), BT_OK);
  sync_to(&la, &school, dfile);
  for (node_role r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++) {
    int may = node_may(r, NODE_DO_SHARE) || node_may(r, NODE_DO_TRANSFER);
    cr_assert_eq(node_dir_orgs_as(school.s, r, party_now_ms, &orgs, &n),
                 may ? BT_OK : BT_EDENIED, "%s", node_role_name(r));
    if (may)
      node_dir_orgs_free(orgs, n);
  }
  cr_assert_eq(node_dir_orgs_as(school.s, NODE_ROLE_DEPUTY, party_now_ms, &orgs, &n), BT_OK);
  cr_assert_eq(n, 3, "Oak Primary (this node's org) left out");
  cr_assert_str_eq(orgs[0].name, "County MASH", "by name");
  cr_assert_str_eq(orgs[1].name, "Elm Academy");
  cr_assert_str_eq(orgs[2].name, "Northshire LA");
  cr_assert_eq(orgs[2].kind, CRDT_ORG_LA);
  cr_assert_str_eq(orgs[0].la, "Northshire LA");
  cr_assert_eq(crdt_cert_decode(mash.cert, mash.cert_len, &mc), BT_OK);
  cr_assert_eq(crdt_id_cmp(&orgs[0].org, &mc->b.subject), 0);
  char fp[CRDT_FPR_LEN];
  crdt_fingerprint(mc->b.subject.b, CRDT_PK_LEN, fp);
  cr_assert_str_eq(orgs[0].fingerprint, fp);
  cr_assert_eq(orgs[0].cert_len, mash.cert_len);
  cr_assert_arr_eq(orgs[0].cert, mash.cert, mash.cert_len);
  node_dir_orgs_free(orgs, n);
  /* Revoked by the LA: gone from the list once the school holds the revocation. */
  cr_assert_eq(node_dir_revoke(la.s, &mc->b.subject, "key lost", party_now_ms, NULL), BT_OK);
  sync_to(&la, &school, dfile);
  cr_assert_eq(node_dir_orgs_as(school.s, NODE_ROLE_DSL, party_now_ms, &orgs, &n), BT_OK);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(orgs[0].name, "Elm Academy");
  node_dir_orgs_free(orgs, n);
  /* Out of date: the parties' certificates run 3650 days. */
  cr_assert_eq(node_dir_orgs_as(school.s, NODE_ROLE_DSL, party_now_ms + 3651ull * 86400000,
                                &orgs, &n), BT_OK);
  cr_assert_eq(n, 0);
  node_dir_orgs_free(orgs, n);
  crdt_cert_free(mc);
  party_close(&lao);
}
