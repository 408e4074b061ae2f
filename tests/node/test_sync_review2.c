/* tests/node/test_sync_review2.c: a second review of the sync layer
 * (node/sync*.c, node/scope.c) after 2a77f59 and bee3a1b. Each test is a
 * defect, written so that it fails while the defect is there. A hostile
 * peer is played by hand (its messages built with the proto/sync.h
 * encoder); honest runs pump two sessions as tests/node/test_sync.c does. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "crdt/op.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/syncpair.h"
#include "node/share.h"
#include "node/store.h"
#include "node/sync.h"
#include "node/users.h"
#include "proto/sync.h"

PARTIES_SUITE(sync_review2);

/* ---- helpers ---------------------------------------------------------------- */

/* ---- 1. a relay gives a carried file to any org that names it --------------- */

/* The LA relay (relay for all) carries a file the school shared with MASH
 * only. Elm Academy, for which the relay also relays but which holds no
 * keybox in the file, names the file in one VV section with an empty
 * vector. accepts() (via named()) finds the file held, out of Elm's scope,
 * and "carried" (the relay never holds its own keybox): it puts the file
 * in scope for the run with taken = 1, vv_recv queues every op, and
 * add_envs' re-judgement skips taken files. docs/sync.md: a relay "offers
 * a carried file to an org only if that org holds a keybox in it". */
Test(sync_review2, a_relay_offers_a_carried_file_only_to_orgs_with_a_keybox_in_it)
{
  party relay;
  uint8_t file[CRDT_FILE_LEN];
  node_sync_peer pe;
  node_sync_opts ro = {.relay_all = 1};
  node_sync *victim;
  proto_sync_msg ans;
  proto_sync_section s = {.what = PROTO_SYNC_S_VV};
  sync_link l = {0};
  sync_forge f;
  size_t leaked;

  party_join(&la, &relay, "County Hall", CRDT_ORG_LA);
  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "for MASH only", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, NULL);
  l.ob.relay_all = 1; /* the school dials the relay, which carries the file */
  sync_link_open(&l, &school, &relay);
  sync_run(&l);
  sync_link_close(&l);
  cr_assert(sync_holds(&relay, file));

  party_peer(&other, &pe);
  cr_assert_eq(node_sync_new(&victim, relay.s, &pe, 0, &ro), BT_OK);
  memcpy(s.file, file, CRDT_FILE_LEN);
  sync_forge_begin(&f, 1, 0);
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  leaked = sync_envs_of(&ans, file);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  party_close(&relay);
  cr_assert_eq(leaked, 0,
               "the relay sent Elm Academy %zu ops of a file that holds no keybox for Elm", leaked);
}

/* ---- 2. a school node gives a half-received file to any org that names it ---- */

/* The school shares a file with Elm; the first transfer is cut short
 * before Elm's keybox came (simulated: Elm got the file's ops as they
 * were before the grant). MASH, which no one granted anything, names the
 * file in a VV section: Elm judges its copy "carried", takes it into the
 * run's scope as if MASH were completing it, and answers with every op. */
Test(sync_review2, a_half_received_file_is_not_offered_to_an_org_without_a_grant)
{
  uint8_t file[CRDT_FILE_LEN];
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  proto_sync_section s = {.what = PROTO_SYNC_S_VV};
  sync_forge f;
  size_t leaked;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "for Elm only", NULL), BT_OK);
  party_sync(&school, &other, file); /* the part that came before the keybox */
  sync_grant(&school, &other, file, CRDT_RIGHTS_READ, NULL);
  cr_assert(sync_holds(&other, file));

  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, other.s, &pm, 0, NULL), BT_OK);
  memcpy(s.file, file, CRDT_FILE_LEN);
  sync_forge_begin(&f, 1, 0);
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  leaked = sync_envs_of(&ans, file);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  cr_assert_eq(leaked, 0, "Elm sent MASH %zu ops of a file never shared with MASH", leaked);
}

/* ---- 3. a file refused for the new-file cap is never sent again ------------- */

/* The school shares two files with MASH, which takes at most one new file
 * a run. The first file spans two messages; the second's envelopes come
 * after the cap is reached, so accepts() says no and refuse() answers OUT
 * (take_envs' own cap check, which refuses silently, only covers files
 * of the message that fills the cap). The school remembers the second
 * file as refused at its state (mem_save: OUT record) and from then on
 * leaves it quiet: MASH does not hold it so never brings it up, and the
 * file never arrives until it changes. docs/sync.md: names beyond the
 * cap "go unanswered until a later run". */
Test(sync_review2, a_file_beyond_the_new_file_cap_arrives_in_a_later_run)
{
  uint8_t f1[CRDT_FILE_LEN], f2[CRDT_FILE_LEN], tmp[CRDT_FILE_LEN];
  char big[2001];
  sync_link l = {0};
  node_sync_stats sb;

  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  party_new_file(&school, f1);
  party_new_file(&school, f2);
  if (memcmp(f1, f2, CRDT_FILE_LEN) > 0) { /* f1: the one sent first */
    memcpy(tmp, f1, CRDT_FILE_LEN);
    memcpy(f1, f2, CRDT_FILE_LEN);
    memcpy(f2, tmp, CRDT_FILE_LEN);
  }
  for (int i = 0; i < 45; i++) /* ~90 KB with 2 KB notes: more than one 64 KiB message */
    cr_assert_eq(party_note(&school, f1, big, NULL), BT_OK);
  cr_assert_eq(party_note(&school, f2, "the second referral", NULL), BT_OK);
  sync_grant(&school, &mash, f1, CRDT_RIGHTS_READ, NULL);
  sync_grant(&school, &mash, f2, CRDT_RIGHTS_READ, NULL);

  l.oa.max_message = NODE_SYNC_MSG_MIN;
  l.ob.max_new_files = 1;
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert(sync_holds(&mash, f1));
  cr_assert_not(sync_holds(&mash, f2), "the cap let the second file in (the premise fails)");
  node_sync_get_stats(l.b, &sb);
  cr_assert_gt(sb.ops_refused, 0, "MASH refused none of the second file (the premise fails)");
  sync_run(&l); /* fast */
  sync_link_close(&l);
  l.oa.no_fast = 1;
  sync_link_open(&l, &school, &mash);
  sync_run(&l); /* full */
  sync_run(&l);
  node_sync_get_stats(l.b, &sb);
  sync_link_close(&l);
  cr_assert(sync_holds(&mash, f2),
            "after three more runs MASH still lacks the second file (MASH took %u new files, "
            "refused %llu ops)",
            sb.files_new, (unsigned long long)sb.ops_refused);
}

/* Two files shared with MASH, the first too big for one 64 KiB message;
 * MASH takes one new file a run, so the school ends run 1 remembering the
 * second as refused (OUT record). Shared by tests 3 and 4. */
static void cap_setup(uint8_t f1[CRDT_FILE_LEN], uint8_t f2[CRDT_FILE_LEN])
{
  uint8_t tmp[CRDT_FILE_LEN];
  char big[2001];
  sync_link l = {0};

  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  party_new_file(&school, f1);
  party_new_file(&school, f2);
  if (memcmp(f1, f2, CRDT_FILE_LEN) > 0) {
    memcpy(tmp, f1, CRDT_FILE_LEN);
    memcpy(f1, f2, CRDT_FILE_LEN);
    memcpy(f2, tmp, CRDT_FILE_LEN);
  }
  for (int i = 0; i < 45; i++)
    cr_assert_eq(party_note(&school, f1, big, NULL), BT_OK);
  cr_assert_eq(party_note(&school, f2, "the second referral", NULL), BT_OK);
  sync_grant(&school, &mash, f1, CRDT_RIGHTS_READ, NULL);
  sync_grant(&school, &mash, f2, CRDT_RIGHTS_READ, NULL);
  l.oa.max_message = NODE_SYNC_MSG_MIN;
  l.ob.max_new_files = 1;
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  sync_link_close(&l);
  cr_assert(sync_holds(&mash, f1));
  cr_assert_not(sync_holds(&mash, f2));
}

/* ---- 4. a file quiet on the fast plan stays quiet through a fallback ------- */

/* The school remembers f2 as refused by MASH at its state (OUT record).
 * MASH then gets f2, at that same state, another way (another session:
 * here party_sync), and forgets what it agreed with the school (restored
 * from a backup, or the last END was lost). The next run: the school's
 * fast_plan marks f2 quiet (no MEM, OUT at this state); MASH answers
 * FALLBACK; on the full path f2's items are equal on both sides, so
 * nothing names it and quiet is never cleared. mem_save: the school
 * writes OUT for f2, MASH writes MEM. From then on the digests never
 * agree: every run falls back, until f2 changes. */
Test(sync_review2, a_run_after_a_fallback_leaves_both_sides_remembering_the_same)
{
  uint8_t f1[CRDT_FILE_LEN], f2[CRDT_FILE_LEN];
  node_sync_peer ps;
  sync_link l = {0};
  node_sync_stats sb;
  int fast3, fast4;

  cap_setup(f1, f2);
  party_sync(&school, &mash, f2); /* f2 reaches MASH another way */
  cr_assert(sync_holds(&mash, f2));
  party_peer(&school, &ps);
  cr_assert_eq(node_sync_forget(mash.s, ps.device_pk), BT_OK); /* MASH forgot */

  sync_link_open(&l, &school, &mash);
  sync_run(&l); /* falls back: the full path */
  node_sync_get_stats(l.b, &sb);
  cr_assert_not(sb.last_fast, "premise: this run falls back");
  sync_run(&l); /* nothing changed anywhere: should be fast */
  node_sync_get_stats(l.b, &sb);
  fast3 = sb.last_fast;
  sync_run(&l);
  node_sync_get_stats(l.b, &sb);
  fast4 = sb.last_fast;
  sync_link_close(&l);
  cr_assert(fast3 && fast4,
            "with nothing changed, the runs after the fallback still fall back (fast: %d, %d): "
            "the school remembers f2 as out, MASH as agreed",
            fast3, fast4);
}

/* ---- 5. a relay takes ops of a carried file from an org outside it --------- */

/* An op in file, signed by a key no certificate names (ingest checks only
 * the signature), with header epoch `epoch`, on the file's heads at `at`
 * (as tests/node/test_sync_review.c forges it). */
static crdt_op *stray_op(party *at, const uint8_t *file, const uint8_t *epoch)
{
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN], nonce[CRDT_NONCE_LEN], key[CRDT_KEY_LEN];
  crdt_body b = {.type = CRDT_OP_CHRONO, .known = 1, .user = BT_STR("x")};
  crdt_header h = {.version = CRDT_OP_VERSION, .seq = 1};
  crdt_id heads[8];
  size_t nh = 0;
  crdt_op *op = NULL;

  b.hlc = crdt_hlc_make(party_now_ms, 0);
  b.u.chrono = (crdt_chrono){.event_at = party_now_ms, .category = CRDT_CHR_CONTACT,
                             .summary = bt_strz("junk")};
  cr_assert_eq(node_heads(at->s, file, heads, 8, &nh), BT_OK);
  cr_assert_leq(nh, 8);
  crypto_sign_keypair(pk, sk);
  randombytes_buf(nonce, sizeof(nonce));
  memcpy(h.file, file, CRDT_FILE_LEN);
  memcpy(h.author, pk, CRDT_PK_LEN);
  memcpy(h.epoch, epoch, CRDT_EPOCH_LEN);
  h.parents = heads;
  h.nparents = nh;
  h.hour = crdt_hlc_hour(b.hlc);
  crdt_public_key(file, epoch, key);
  cr_assert_eq(crdt_op_seal(&h, &b, key, nonce, sk, &op), BT_OK);
  return op;
}

/* The relay carries a file the school shares with MASH only. Elm, which
 * the relay relays for but which holds no keybox in the file, sends one
 * op of it. Before bee3a1b a held file out of the peer's scope was
 * refused; now accepts() takes it as "carried" from any peer the relay
 * takes new files from: the relay stores Elm's op, and offers it on to
 * the school and MASH. (At a node that reads the file, accepts() refuses
 * it: not carried.) */
Test(sync_review2, a_relay_takes_no_ops_of_a_carried_file_from_an_org_outside_it)
{
  party relay;
  uint8_t file[CRDT_FILE_LEN], ep[CRDT_EPOCH_LEN];
  node_sync_peer pe;
  node_sync_opts ro = {.relay_all = 1};
  node_sync *victim;
  proto_sync_msg ans;
  sync_link l = {0};
  sync_forge f;
  crdt_op *junk, *got = NULL;
  int stored;

  party_join(&la, &relay, "County Hall", CRDT_ORG_LA);
  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "for MASH only", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, NULL);
  l.ob.relay_all = 1;
  sync_link_open(&l, &school, &relay);
  sync_run(&l);
  sync_link_close(&l);
  cr_assert(sync_holds(&relay, file));

  randombytes_buf(ep, sizeof(ep));
  junk = stray_op(&relay, file, ep);
  party_peer(&other, &pe);
  cr_assert_eq(node_sync_new(&victim, relay.s, &pe, 0, &ro), BT_OK);
  sync_forge_begin(&f, 1, 0);
  cr_assert_eq(proto_sync_enc_env(f.e, junk->env, junk->env_len), BT_OK);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  stored = node_op_get(relay.s, &junk->id, &got) == BT_OK;
  crdt_op_free(got);
  crdt_op_free(junk);
  party_close(&relay);
  cr_assert_not(stored, "the relay stored an op of a MASH-only file sent by Elm Academy");
}
