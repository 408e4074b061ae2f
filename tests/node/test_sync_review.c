/* tests/node/test_sync_review.c: review of the sync layer (node/sync.c,
 * node/scope.c): each test is a defect found in review, written so that it
 * fails while the defect is there. A hostile peer is played by hand: its
 * messages are built with the proto/sync.h encoder and handed to the
 * victim's session, as tests/node/test_sync.c hands messages across. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* ASan's allocator */
#endif
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

PARTIES_SUITE(sync_review);

/* ---- helpers ---------------------------------------------------------------- */

/* Every stored envelope of file at p, in the store's (hour, id) order. */
static size_t file_envs(party *p, const uint8_t *file, crdt_op ***out)
{
  size_t n = 0;
  crdt_id *ids;
  crdt_op **ops;

  cr_assert_eq(node_file_ops(p->s, file, NULL, 0, &n), BT_OK);
  ids = malloc((n + 1) * sizeof(*ids));
  ops = calloc(n + 1, sizeof(*ops));
  cr_assert_eq(node_file_ops(p->s, file, ids, n, &n), BT_OK);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(node_op_get(p->s, &ids[i], &ops[i]), BT_OK);
  free(ids);
  *out = ops;
  return n;
}

static void ops_free(crdt_op **ops, size_t n)
{
  for (size_t i = 0; i < n; i++)
    crdt_op_free(ops[i]);
  free(ops);
}

/* Bytes the heap holds now (ASan's allocator when built with it). */
static size_t heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd; /* big blocks are mmapped: hblkhd */
#endif
}

/* ---- 1. max_new_files is not a cap within one message ------------------------ */

/* A certified peer pushes 6 files this node never held, all in one
 * message, to a node whose cap is 2 new files per run. take_envs checks
 * the cap (accepts) against new_files, which only grows after the probe
 * commit, and the probe loop checks it without counting: every new file
 * of the message is tracked. */
Test(sync_review, max_new_files_holds_within_one_message)
{
  enum { NF = 6 };
  uint8_t files[NF][CRDT_FILE_LEN];
  node_sync_peer pm;
  node_sync_opts o = {.max_new_files = 2};
  node_sync *victim;
  proto_sync_msg ans;
  sync_forge f;
  unsigned held = 0;

  for (int i = 0; i < NF; i++)
    party_new_file(&mash, files[i]);
  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, school.s, &pm, 0, &o), BT_OK);
  sync_forge_begin(&f, 1, 0);
  for (int i = 0; i < NF; i++) {
    crdt_op **ops;
    size_t n = file_envs(&mash, files[i], &ops);
    for (size_t k = 0; k < n; k++)
      sync_forge_env(&f, ops[k]->env, ops[k]->env_len);
    ops_free(ops, n);
  }
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  proto_sync_msg_free(&ans);
  for (int i = 0; i < NF; i++)
    held += sync_holds(&school, files[i]);
  node_sync_free(victim);
  cr_assert_leq(held, 2, "max_new_files is 2 but one message made the school take %u new files",
                held);
}

/* ---- 2. repeated VV sections multiply the send queue --------------------------- */

/* The codec lets a message name one file in any number of sections; each
 * VV section for a file in scope queues every op of the file beyond the
 * (empty) vector again. 100 sections of 20 bytes make the school send the
 * file 100 times; 8192 sections per message, messages without end, and a
 * file of 10^5 ops make the queue grow without bound. */
Test(sync_review, a_file_is_queued_once_however_many_vv_sections_name_it)
{
  uint8_t file[CRDT_FILE_LEN];
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  sync_forge f;
  uint64_t count;
  size_t sent;

  party_new_file(&school, file);
  for (int i = 0; i < 20; i++)
    cr_assert_eq(party_note(&school, file, "entry", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, NULL);
  count = sync_count(&school, file);
  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, school.s, &pm, 0, NULL), BT_OK);
  sync_forge_begin(&f, 1, 0);
  for (int i = 0; i < 100; i++) {
    proto_sync_section s = {.what = PROTO_SYNC_S_VV};
    memcpy(s.file, file, CRDT_FILE_LEN);
    sync_forge_section(&f, &s);
  }
  /* Either the message is refused whole (a peer naming a file's vector
   * more than once a run is not honest) or the file goes out once. */
  int rc = sync_forge_send(&f, victim, &ans);
  if (rc != BT_OK) {
    cr_assert_eq(rc, BT_EPROTO, "%s", bt_errname(rc));
    node_sync_free(victim);
    return;
  }
  sent = sync_envs_of(&ans, file);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  cr_assert_leq(sent, count, "the file has %llu ops; the school answered with %zu of its envelopes",
                (unsigned long long)count, sent);
}

/* ---- 3. a forged public tag puts a private file in everyone's scope ---------- */

/* Seals a keybox-shaped op by a key no certificate names, in file, with
 * header epoch `epoch`, on the file's current heads (ingest only checks the
 * signature: any epoch is stored, and indexed in DB_TAGS). */
static crdt_op *forged_op(party *at, const uint8_t *file, const uint8_t *epoch)
{
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN], nonce[CRDT_NONCE_LEN], key[CRDT_KEY_LEN];
  crdt_body b = {.type = CRDT_OP_KEYBOX, .known = 1, .user = BT_STR("x")};
  crdt_keyitem bogus = {.kind = CRDT_KEY_SECRET};
  crdt_header h = {.version = CRDT_OP_VERSION, .seq = 1};
  crdt_id heads[8];
  size_t nh = 0;
  node_org mo;
  uint8_t *sealed;
  size_t slen;
  crdt_op *op = NULL;

  cr_assert_eq(node_org_get(mash.s, &mo), BT_OK);
  randombytes_buf(bogus.epoch, sizeof(bogus.epoch));
  randombytes_buf(bogus.key, sizeof(bogus.key));
  cr_assert_eq(crdt_keyset_seal(&bogus, 1, mo.box_pk.b, &sealed, &slen), BT_OK);
  b.u.keybox = (crdt_keybox){mo.sign_pk, mo.box_pk, {(const char *)sealed, slen}};
  b.hlc = crdt_hlc_make(party_now_ms, 0);
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
  free(sealed);
  node_org_clear(&mo);
  return op;
}

/* MASH, a grantee, sends the school one op in the shared file whose header
 * epoch is the file's public (directory) epoch. The school stores it (any
 * epoch is stored) and DB_TAGS now says the file is public: judge() puts
 * it in scope for every peer, and Elm Academy, which no one granted
 * anything, is offered the whole file. */
Test(sync_review, a_forged_public_epoch_does_not_offer_a_private_file_to_everyone)
{
  uint8_t file[CRDT_FILE_LEN], pub[CRDT_EPOCH_LEN];
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  sync_forge f;
  crdt_op *evil;
  sync_link l = {0};

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "private", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, NULL);
  crdt_public_epoch(file, pub);
  evil = forged_op(&school, file, pub);
  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, school.s, &pm, 0, NULL), BT_OK);
  sync_forge_begin(&f, 1, 0);
  sync_forge_env(&f, evil->env, evil->env_len);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  crdt_op_free(evil);

  sync_link_open(&l, &school, &other); /* Elm Academy: no grant at all */
  sync_run(&l);
  sync_link_close(&l);
  cr_assert_not(sync_holds(&other, file),
                "a peer with no grant was given the file (its id, op ids and ciphertext)");
}

/* The same forged op, planted by MASH while it held its grant, keeps the
 * file flowing to MASH after the school revokes it. */
Test(sync_review, a_forged_public_epoch_keeps_a_revoked_org_receiving)
{
  uint8_t file[CRDT_FILE_LEN], pub[CRDT_EPOCH_LEN];
  sync_link l = {0};
  crdt_id gid;
  crdt_op *evil;
  node_ingest_result res;
  uint64_t c0, c1;

  party_new_file(&school, file);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, &gid);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert(sync_holds(&mash, file));
  /* MASH authors the forged op in its copy; the next run carries it. */
  crdt_public_epoch(file, pub);
  evil = forged_op(&mash, file, pub);
  cr_assert_eq(node_ingest(mash.s, &(bt_bytes){evil->env, evil->env_len}, 1, &res, NULL), BT_OK);
  cr_assert_eq(res.status, NODE_STORED);
  crdt_op_free(evil);
  l.oa.no_fast = 1;
  sync_link_close(&l);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert_eq(sync_count(&school, file), sync_count(&mash, file));
  c0 = sync_count(&mash, file);
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &gid, "ended"), BT_OK);
  cr_assert_eq(party_note(&school, file, "after the revoke", NULL), BT_OK);
  sync_run(&l);
  c1 = sync_count(&mash, file);
  sync_link_close(&l);
  cr_assert_eq(c0, c1, "the revoked MASH still received %llu more ops",
               (unsigned long long)(c1 - c0));
}

/* ---- 4. a file shared since the last run does not arrive on the fast path ---- */

/* After a first run both sides remember each other, so the next run is
 * fast. The school then creates and shares a new file: fast_plan finds no
 * memory of it and opens a VV exchange; the MASH does not hold the file,
 * section() marks it in scope without tracking it (no probe), so every
 * envelope of it is rejected BT_ENOFILE by ingest and the run ends without
 * it. (The school then remembers it as agreed; the digests differ, and
 * only the next run, on the full path, delivers it.) */
Test(sync_review, a_file_shared_after_the_last_run_arrives_on_the_next_fast_run)
{
  uint8_t f1[CRDT_FILE_LEN], f2[CRDT_FILE_LEN];
  sync_link l = {0};
  node_sync_stats sa, sb;

  party_new_file(&school, f1);
  sync_grant(&school, &mash, f1, CRDT_RIGHTS_READ, NULL);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert(sync_holds(&mash, f1));
  party_new_file(&school, f2);
  cr_assert_eq(party_note(&school, f2, "new referral", NULL), BT_OK);
  sync_grant(&school, &mash, f2, CRDT_RIGHTS_READ, NULL);
  sync_run(&l);
  node_sync_get_stats(l.a, &sa);
  node_sync_get_stats(l.b, &sb);
  sync_link_close(&l);
  cr_assert(sa.last_fast, "the run took the fast path");
  cr_assert(sync_holds(&mash, f2),
            "the newly shared file did not arrive (school sent %llu ops, MASH rejected %llu)",
            (unsigned long long)sa.ops_sent, (unsigned long long)sb.ops_rejected);
}

/* ---- 5. a file named before it is held is offered to a peer out of scope ----- */

/* MASH knows a file id (it was granted once, or guessed nothing: it saw
 * it before a revocation). Elm Academy does not hold the file yet. MASH
 * opens a run with Elm and names the file in a VV section: Elm, not
 * holding it, marks it in scope for MASH for the rest of the run (section()
 * sets f->scope = 1 for a file accepts() would take as new). MASH keeps
 * the run open; meanwhile the school shares the file with Elm (another
 * session). MASH names it again, and Elm sends it every op of a file that
 * holds no keybox for MASH's org. */
Test(sync_review, a_file_named_before_it_is_held_is_not_offered_out_of_scope)
{
  uint8_t file[CRDT_FILE_LEN];
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  proto_sync_section s = {.what = PROTO_SYNC_S_VV};
  sync_forge f;
  sync_link l = {0};
  size_t leaked;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "for Elm only", NULL), BT_OK);
  memcpy(s.file, file, CRDT_FILE_LEN);
  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, other.s, &pm, 0, NULL), BT_OK);
  sync_forge_begin(&f, 1, 0);
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  proto_sync_msg_free(&ans);

  /* the school shares the file with Elm, over another session */
  sync_grant(&school, &other, file, CRDT_RIGHTS_READ, NULL);
  sync_link_open(&l, &school, &other);
  sync_run(&l);
  sync_link_close(&l);
  cr_assert(sync_holds(&other, file));

  sync_forge_begin(&f, 1, 2);
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  leaked = sync_envs_of(&ans, file);
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  cr_assert_eq(leaked, 0, "Elm sent MASH %zu ops of a file shared only with Elm", leaked);
}

/* ---- 6. a run's file map grows without bound on the peer's word ------------- */

/* OUT sections are taken for any file id (section() creates the map entry
 * before anything else) and a run has no end the peer cannot postpone: a
 * peer that never says IDLE and names 8,000 new ids per message (160 KB
 * on the wire) grows the victim's per-run map, and every later message
 * walks all of it (compose, owes). 40 messages: over 300,000 entries. */
Test(sync_review, out_sections_for_unknown_files_do_not_grow_memory_without_bound)
{
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  sync_forge f;
  size_t before, after, grown;

  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, school.s, &pm, 0, NULL), BT_OK);
  before = heap_bytes();
  for (uint32_t m = 0; m < 40; m++) {
    sync_forge_begin(&f, 1, 2 * m);
    for (int i = 0; i < 8000; i++) {
      proto_sync_section s = {.what = PROTO_SYNC_S_OUT};
      randombytes_buf(s.file, CRDT_FILE_LEN);
      sync_forge_section(&f, &s);
    }
    cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
    proto_sync_msg_free(&ans);
    cr_assert(node_sync_running(victim));
  }
  after = heap_bytes();
  grown = after > before ? after - before : 0;
  node_sync_free(victim);
  cr_assert_lt(grown, (size_t)8 << 20,
               "the victim holds %zu MB more after 40 messages of OUT notices for unknown files",
               grown >> 20);
}

/* ---- 7. scope is frozen for a run whose length the peer decides ------------- */

/* Scope is judged once, at run start (run_begin), and a run lasts as long
 * as the peer keeps from saying IDLE. MASH opens a run while it holds its
 * grant; the school then revokes MASH and writes a note (a new epoch);
 * MASH, still in the same run, names the file in a VV section and the
 * school sends it the ops written after the revocation. */
Test(sync_review, a_revocation_during_a_run_stops_the_flow_to_the_revoked_org)
{
  uint8_t file[CRDT_FILE_LEN];
  node_sync_peer pm;
  node_sync *victim;
  proto_sync_msg ans;
  proto_sync_section s = {.what = PROTO_SYNC_S_VV};
  sync_forge f;
  crdt_id gid, after;
  int leaked = 0;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "before", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_READ, &gid);
  memcpy(s.file, file, CRDT_FILE_LEN);
  party_peer(&mash, &pm);
  cr_assert_eq(node_sync_new(&victim, school.s, &pm, 0, NULL), BT_OK);
  sync_forge_begin(&f, 1, 0); /* not IDLE: the run goes on */
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  proto_sync_msg_free(&ans);

  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &gid, "ended"), BT_OK);
  cr_assert_eq(party_note(&school, file, "after the revoke", &after), BT_OK);

  sync_forge_begin(&f, 1, 2);
  sync_forge_section(&f, &s);
  cr_assert_eq(sync_forge_send(&f, victim, &ans), BT_OK);
  for (size_t i = 0; i < ans.nenvs; i++) {
    crdt_op *op;
    cr_assert_eq(crdt_op_decode(ans.envs[i].p, ans.envs[i].len, &op), BT_OK);
    leaked |= crdt_id_cmp(&op->id, &after) == 0;
    crdt_op_free(op);
  }
  proto_sync_msg_free(&ans);
  node_sync_free(victim);
  cr_assert_not(leaked, "the op written after MASH's revocation was sent to MASH");
}
