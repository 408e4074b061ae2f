/* tests/node/test_sync.c: sync sessions (node/sync.h) between real stores,
 * messages handed across in memory: full and fast runs, scope, relays,
 * the message counts the issue bounds. The seeded, faulty network is
 * tests/sim; real daemons are tests/daemon. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/parties.h"
#include "node/syncpair.h"
#include "node/share.h"
#include "node/store.h"
#include "node/sync.h"
#include "node/users.h"
#include "proto/sync.h"

PARTIES_SUITE(node_sync);

Test(node_sync, a_granted_file_syncs_and_reads_and_the_next_run_is_fast)
{
  uint8_t file[CRDT_FILE_LEN], secret[CRDT_FILE_LEN];
  sync_link l = {0};
  node_sync_stats st;
  unsigned rt;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "first visit", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_WRITE, NULL);
  party_new_file(&school, secret); /* never shared */
  cr_assert_eq(party_note(&school, secret, "not for the MASH", NULL), BT_OK);

  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  sync_same_state(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "first visit"));
  cr_assert_not(sync_holds(&mash, secret), "a file out of scope is not even named");

  /* news on the dialler's side: the fast path, two round trips at most */
  cr_assert_eq(party_note(&school, file, "second visit", NULL), BT_OK);
  rt = sync_run(&l);
  node_sync_get_stats(l.a, &st);
  cr_assert(st.last_fast);
  cr_assert_leq(rt, 2, "%u round trips", rt);
  cr_assert(party_shows(&mash, file, "second visit"));
  sync_same_state(&school, &mash, file);

  /* news on the other side */
  cr_assert_eq(party_note(&mash, file, "strategy meeting", NULL), BT_OK);
  rt = sync_run(&l);
  node_sync_get_stats(l.a, &st);
  cr_assert(st.last_fast);
  cr_assert_leq(rt, 2, "%u round trips", rt);
  cr_assert(party_shows(&school, file, "strategy meeting"));
  sync_same_state(&school, &mash, file);

  /* nothing new: one round trip */
  rt = sync_run(&l);
  cr_assert_eq(rt, 1);
  cr_assert_not(sync_holds(&mash, secret));
  sync_link_close(&l);
}

/* Both sides write between runs; then one side writes much more. Every
 * way of comparing (fast path, per-author seqs, ranges) must end equal. */
static void both_write(int no_fast, int ranges)
{
  uint8_t file[CRDT_FILE_LEN];
  sync_link l = {0};
  node_sync_stats st;

  party_new_file(&school, file);
  for (int i = 0; i < 200; i++)
    cr_assert_eq(party_note(&school, file, "entry", NULL), BT_OK);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_WRITE, NULL);
  l.oa.no_fast = l.ob.no_fast = no_fast;
  l.oa.ranges = l.ob.ranges = ranges;
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  sync_same_state(&school, &mash, file);
  for (int i = 0; i < 5; i++) {
    char t[32];
    snprintf(t, sizeof t, "school %d", i);
    cr_assert_eq(party_note(&school, file, t, NULL), BT_OK);
    snprintf(t, sizeof t, "mash %d", i);
    cr_assert_eq(party_note(&mash, file, t, NULL), BT_OK);
  }
  sync_run(&l);
  node_sync_get_stats(l.a, &st);
  cr_assert_eq(st.last_fast, !no_fast);
  sync_same_state(&school, &mash, file);
  cr_assert(party_shows(&school, file, "mash 4"));
  cr_assert(party_shows(&mash, file, "school 4"));
  for (int i = 0; i < 40; i++)
    cr_assert_eq(party_note(&mash, file, "reply", NULL), BT_OK);
  sync_run(&l);
  sync_same_state(&school, &mash, file);
  sync_link_close(&l);
}

Test(node_sync, both_sides_write_between_runs)
{
  both_write(0, 0);
}

Test(node_sync, without_memory_per_author_seqs_find_the_difference)
{
  both_write(1, 0);
}

Test(node_sync, without_memory_ranges_find_the_difference)
{
  both_write(1, 1);
}

Test(node_sync, a_forgotten_peer_falls_back_to_the_full_path)
{
  uint8_t file[CRDT_FILE_LEN];
  sync_link l = {0};
  node_sync_stats st;
  uint8_t dev[CRDT_PK_LEN];

  party_new_file(&school, file);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_WRITE, NULL);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  node_store_device(school.s, dev);
  cr_assert_eq(node_sync_forget(mash.s, dev), BT_OK); /* the MASH lost its memory */
  cr_assert_eq(party_note(&school, file, "after", NULL), BT_OK);
  sync_run(&l);
  node_sync_get_stats(l.b, &st);
  cr_assert_not(st.last_fast);
  sync_same_state(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "after"));
  /* and the memories agree again */
  cr_assert_eq(party_note(&school, file, "later", NULL), BT_OK);
  sync_run(&l);
  node_sync_get_stats(l.b, &st);
  cr_assert(st.last_fast);
  sync_link_close(&l);
}

Test(node_sync, a_relay_carries_what_it_cannot_read)
{
  party relay;
  uint8_t file[CRDT_FILE_LEN], own[CRDT_FILE_LEN];
  sync_link l1 = {0}, l2 = {0};
  node_secret *k;
  uint8_t epoch[CRDT_EPOCH_LEN];

  party_join(&la, &relay, "County Hall", CRDT_ORG_LA);
  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "moving school", NULL), BT_OK);
  sync_grant(&school, &other, file, CRDT_RIGHTS_WRITE, NULL);
  party_new_file(&school, own); /* not shared: the relay never gets it */

  l1.ob.relay_all = 1; /* school dials the relay */
  sync_link_open(&l1, &school, &relay);
  sync_run(&l1);
  cr_assert(sync_holds(&relay, file));
  cr_assert_not(sync_holds(&relay, own));
  cr_assert_eq(node_file_epoch(relay.s, file, epoch), BT_OK);
  cr_assert_neq(node_file_key(relay.s, file, epoch, &k), BT_OK, "the relay holds no key");

  l2.ob.relay_all = 1; /* the other school dials it too */
  sync_link_open(&l2, &other, &relay);
  sync_run(&l2);
  sync_same_state(&school, &other, file);
  cr_assert(party_shows(&other, file, "moving school"));
  cr_assert_not(sync_holds(&other, own));

  /* the reply comes back the same way */
  cr_assert_eq(party_note(&other, file, "received", NULL), BT_OK);
  sync_run(&l2);
  sync_run(&l1);
  cr_assert(party_shows(&school, file, "received"));
  sync_same_state(&school, &other, file);
  sync_link_close(&l1);
  sync_link_close(&l2);
  party_close(&relay);
}

Test(node_sync, a_revoked_org_is_offered_nothing_more)
{
  uint8_t file[CRDT_FILE_LEN];
  sync_link l = {0};
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id gid;
  uint64_t c0, c1;
  uint8_t s[32];

  party_new_file(&school, file);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &gid), BT_OK);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert(sync_holds(&mash, file));
  cr_assert_eq(node_sync_file_state(mash.s, file, &c0, s), BT_OK);
  cr_assert_eq(node_revoke_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &gid, "ended"),
               BT_OK);
  cr_assert_eq(party_note(&school, file, "after the revoke", NULL), BT_OK);
  sync_run(&l);
  cr_assert_eq(node_sync_file_state(mash.s, file, &c1, s), BT_OK);
  cr_assert_eq(c0, c1, "nothing more reached the MASH");
  cr_assert_not(party_shows(&mash, file, "after the revoke"));
  sync_link_close(&l);
}

Test(node_sync, messages_out_of_turn_are_refused)
{
  uint8_t file[CRDT_FILE_LEN];
  sync_link l = {0};
  const uint8_t *m, *r;
  size_t len, rlen;
  uint8_t *copy;

  party_new_file(&school, file);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_WRITE, NULL);
  sync_link_open(&l, &school, &mash);
  cr_assert_eq(node_sync_start(l.a, &m, &len), BT_OK);
  copy = malloc(len);
  memcpy(copy, m, len);
  cr_assert_eq(node_sync_recv(l.b, copy, len, &r, &rlen), BT_OK);
  cr_assert_eq(node_sync_recv(l.b, copy, len, &r, &rlen), BT_ESEQ, "a duplicate");
  free(copy);
  sync_link_close(&l);
}

Test(node_sync, an_op_waiting_for_its_parent_is_released_by_the_next_run)
{
  uint8_t file[CRDT_FILE_LEN];
  sync_link l = {0};
  crdt_id parent, child;
  crdt_op *op;
  node_ingest_result res;
  size_t missing = 0;

  party_new_file(&school, file);
  sync_grant(&school, &mash, file, CRDT_RIGHTS_WRITE, NULL);
  sync_link_open(&l, &school, &mash);
  sync_run(&l);
  cr_assert_eq(party_note(&school, file, "parent", &parent), BT_OK);
  cr_assert_eq(party_note(&school, file, "child", &child), BT_OK);
  /* the MASH got the child alone, by another way: it waits for its parent */
  cr_assert_eq(node_op_get(school.s, &child, &op), BT_OK);
  cr_assert_eq(node_ingest(mash.s, &(bt_bytes){op->env, op->env_len}, 1, &res, NULL), BT_OK);
  crdt_op_free(op);
  cr_assert_eq(res.status, NODE_BUFFERED);
  cr_assert_eq(node_missing(mash.s, file, NULL, 0, &missing), BT_OK);
  cr_assert_eq(missing, 1);
  sync_run(&l);
  cr_assert(party_shows(&mash, file, "parent"));
  cr_assert(party_shows(&mash, file, "child"));
  cr_assert_eq(node_missing(mash.s, file, NULL, 0, &missing), BT_OK);
  cr_assert_eq(missing, 0);
  sync_same_state(&school, &mash, file);
  sync_link_close(&l);
}
