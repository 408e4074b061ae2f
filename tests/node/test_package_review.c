/* tests/node/test_package_review.c: review findings on transfer packages
 * (node/package.c). Each test names a defect and FAILS on the code as
 * reviewed. Hostile packages are forged with a certified sender's own
 * device key (store_int.h), as a compromised or buggy sender could. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/org.h"
#include "node/package.h"
#include "node/parties.h"
#include "node/pkgforge.h"
#include "node/share.h"
#include "node/store.h"
#include "node/store_int.h"
#include "node/users.h"
#include "proto/package.h"

PARTIES_SUITE(node_package_review, .timeout = 120);

#define PASS "correct horse battery staple"
#define DSL "dsl.jones"

#define pass_opts pkgforge_pass_opts

/* A file at school with a few entries, granted (write) to other. */
static void file_for_other(uint8_t file[CRDT_FILE_LEN])
{
  pkgforge_file(&school, &other, file);
}

static int import(party *p, const uint8_t *pkg, size_t len, const char *pass)
{
  node_pkg_result r;
  int rc = node_package_import(p->s, DSL, NODE_ROLE_DSL, pkg, len, pass,
                               pass ? strlen(pass) : 0, &r);

  if (rc == BT_OK)
    node_pkg_result_clear(&r);
  return rc;
}


/* DEFECT: node/package.c unpack() (~line 494) checks only PROTO_PKG_KEY_SECRET
 * items against their epoch id; PROTO_PKG_KEY_HEADER items are installed by
 * install_keys() (~line 545) with no check at all, not even that an op of the
 * package names that header epoch or that its AEAD opens with the key. Keys
 * are "first kept stays" (node/store.c epoch_put, MDB_NOOVERWRITE). So any
 * certified org (here `other`, a grantee; it could be any LA-certified org)
 * can send a passphrase package holding the file's (duplicate) ops plus a
 * garbage HEADER key for the file's epoch id: it imports "successfully", and
 * from then on the importer can never read that epoch, because the genuine
 * key (from the holder's own package, or a keybox) is silently dropped.
 * What should happen: an unverifiable / wrong header key must be refused
 * (import fails, nothing stored), or at least never block a verified key. */
Test(node_package_review, unchecked_header_key_poisons_the_epoch_for_later_genuine_packages)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  proto_pkg_key bad;
  bt_bytes *envs;
  size_t n, len;

  file_for_other(file);
  bad.kind = PROTO_PKG_KEY_HEADER;
  cr_assert_eq(node_file_epoch(school.s, file, bad.epoch), BT_OK); /* content ops' header epoch */
  randombytes_buf(bad.key, sizeof(bad.key));
  n = envelopes(&school, file, &envs); /* any relay or grantee holds these */
  pkg = forge_keys(&other, file, &bad, 1, envs, n, &len);
  int rc = import(&mash, pkg, len, PASS);
  free(pkg);
  envelopes_free(envs, n);
  if (rc != BT_OK)
    return; /* refused: the right outcome */
  /* The holder's own, genuine package now arrives. */
  cr_assert_eq(node_package_export(school.s, DSL, NODE_ROLE_DSL, file, &pass_opts, &pkg, &len),
               BT_OK);
  rc = import(&mash, pkg, len, PASS);
  free(pkg);
  cr_assert(rc == BT_OK && party_shows(&mash, file, "home visit"),
            "a forged package with a garbage header key was accepted (it should be refused) "
            "and now the genuine package cannot be read (import rc %d, shows %d)",
            rc, party_shows(&mash, file, "home visit"));
}

/* DEFECT (same root cause, within one package): a HEADER key for an epoch
 * placed before that epoch's SECRET is installed first; the content key the
 * secret derives is then dropped (MDB_NOOVERWRITE -> BT_OK). The two items
 * contradict each other and the import is still accepted. What should
 * happen: a header key that disagrees with the key derived from a verified
 * secret of the same epoch is refused (or never wins). */
Test(node_package_review, header_key_contradicting_the_verified_secret_is_accepted)
{
  uint8_t file[CRDT_FILE_LEN], *genuine, *pkg;
  proto_pkg_key keys[1 + PROTO_PKG_KEYS_MAX];
  proto_pkg h;
  proto_pkg_payload pl;
  bt_bytes *envs;
  size_t n, len, glen, plen;
  unsigned long long m;
  uint8_t key[32], *plain;

  file_for_other(file);
  /* The genuine key set, taken from the holder's own passphrase package. */
  cr_assert_eq(node_package_export(school.s, DSL, NODE_ROLE_DSL, file, &pass_opts, &genuine,
                                   &glen), BT_OK);
  cr_assert_eq(proto_pkg_parse(genuine, glen, &h), BT_OK);
  cr_assert_eq(crypto_pwhash(key, 32, PASS, sizeof(PASS) - 1, h.salt, h.opslimit,
                             (size_t)h.memlimit, crypto_pwhash_ALG_ARGON2ID13), 0);
  plain = malloc(h.body.len);
  cr_assert_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &m, NULL, h.body.p, h.body.len,
                                                          genuine, h.ad_len, h.nonce, key), 0);
  plen = (size_t)m;
  cr_assert_eq(proto_pkg_payload_parse(plain, plen, &pl), BT_OK);
  cr_assert_gt(pl.nkeys, 0);
  /* A wrong header key for the current epoch first, then every genuine item. */
  keys[0].kind = PROTO_PKG_KEY_HEADER;
  cr_assert_eq(node_file_epoch(school.s, file, keys[0].epoch), BT_OK);
  randombytes_buf(keys[0].key, sizeof(keys[0].key));
  for (size_t i = 0; i < pl.nkeys; i++)
    proto_pkg_key_at(&pl, i, &keys[1 + i]);
  n = envelopes(&school, file, &envs);
  pkg = forge_keys(&school, file, keys, 1 + pl.nkeys, envs, n, &len);
  int rc = import(&mash, pkg, len, PASS);
  cr_assert(rc != BT_OK || party_shows(&mash, file, "home visit"),
            "a package whose header key contradicts its own verified epoch secret was "
            "accepted and left the file unreadable (rc %d)", rc);
  proto_pkg_payload_clear(&pl);
  free(plain);
  free(pkg);
  free(genuine);
  envelopes_free(envs, n);
}

/* DEFECT (same root cause, worse reach): the poisoned key also defeats the
 * normal channel. After the forged package (signed by `other`, any
 * certified org) mash is later granted the file by its holder and syncs:
 * the keybox's genuine epoch keys are dropped because the forged one was
 * kept first, so a legitimate grantee cannot read the case file.
 * What should happen: the forged package is refused; a grant then reads. */
Test(node_package_review, unchecked_header_key_blocks_a_later_legitimate_grant)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  proto_pkg_key bad;
  bt_bytes *envs;
  crdt_id grant;
  size_t n, len;

  file_for_other(file);
  bad.kind = PROTO_PKG_KEY_HEADER;
  cr_assert_eq(node_file_epoch(school.s, file, bad.epoch), BT_OK);
  randombytes_buf(bad.key, sizeof(bad.key));
  n = envelopes(&school, file, &envs);
  pkg = forge_keys(&other, file, &bad, 1, envs, n, &len);
  int rc = import(&mash, pkg, len, PASS);
  free(pkg);
  envelopes_free(envs, n);
  cr_assert_eq(node_grant_as(school.s, DSL, NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  party_sync(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "home visit"),
            "forged package import rc %d; mash, now a legitimate grantee, cannot read the file",
            rc);
}

/* DEFECT (low): node/package.c verdicts() (~line 526) counts NODE_DUPLICATE
 * as fine, but node_ingest reports DUPLICATE also for an op already held in
 * the causal BUFFER (node/store.h: "already held (stored or buffered)").
 * So a package that lacks an op's parents is accepted whenever that op is
 * already waiting in the importer's buffer (e.g. after a partial sync): the
 * "still waiting for a parent aborts the transaction, the package must hold
 * the whole file" rule of docs/package.md is skipped, the import reports
 * success and a receipt is made for a file that did not arrive. What should
 * happen: BT_EPARENTS (a duplicate that is still buffered is as missing as
 * a new buffered one), nothing stored. */
Test(node_package_review, a_package_missing_parents_passes_when_the_op_is_already_buffered)
{
  uint8_t file[CRDT_FILE_LEN], zero[CRDT_EPOCH_LEN] = {0}, *pkg;
  bt_bytes *envs;
  node_ingest_result res;
  size_t n, len, leaf = SIZE_MAX;

  file_for_other(file);
  n = envelopes(&school, file, &envs);
  for (size_t i = 0; i < n && leaf == SIZE_MAX; i++) {
    crdt_op *op;
    cr_assert_eq(crdt_op_decode(envs[i].p, envs[i].len, &op), BT_OK);
    if (op->h.nparents > 0)
      leaf = i;
    crdt_op_free(op);
  }
  cr_assert_neq(leaf, SIZE_MAX);
  /* mash carries the file and holds one op without its parents (buffered). */
  cr_assert_eq(node_file_track(mash.s, file, zero, NULL), BT_OK);
  cr_assert_eq(node_ingest(mash.s, &envs[leaf], 1, &res, NULL), BT_OK);
  cr_assert_eq(res.status, NODE_BUFFERED);
  /* A package holding only that op: its parents are nowhere. */
  pkg = forge_keys(&school, file, NULL, 0, &envs[leaf], 1, &len);
  int rc = import(&mash, pkg, len, PASS);
  cr_assert_eq(rc, BT_EPARENTS, "a package without the op's parents was accepted (rc %s)",
               bt_errname(rc));
  free(pkg);
  envelopes_free(envs, n);
}
