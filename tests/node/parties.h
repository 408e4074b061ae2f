/* tests/node/parties.h: real stores for node tests, in temporary
 * directories, and the parties built on them: an LA (root), a school that
 * holds a file, a MASH and a second school (test_share.c, test_review.c).
 *
 * Every store opened here uses the cheapest KDF and reads party_now_ms as
 * its clock, which tests move by hand. Ops move between stores by copying
 * stored envelopes (as sync does over the wire). Failures are Criterion
 * assertions: this is fixture code for Criterion tests only. */
#ifndef BT_TESTS_NODE_PARTIES_H
#define BT_TESTS_NODE_PARTIES_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"
#include "node/share.h"
#include "node/store.h"
#include "node/sync.h"

#define PARTY_T0 UINT64_C(1767600000000) /* 2026-01-05 */

/* The wall clock (Unix ms) of every store opened here. */
extern uint64_t party_now_ms;

/* ---- temporary stores ---- */

/* Makes a new directory /tmp/bt-node-XXXXXX into dir (64 bytes at least). */
void party_mkdtemp(char *dir, size_t len);
/* Removes dir and everything under it. */
void party_rmdir(const char *dir);
/* Opens a new store in the existing directory dir: passphrase "pw",
 * NODE_KDF_MIN, clock party_now_ms. The caller closes it. */
node_store *party_store_open(const char *dir);
/* Makes the directory dir/name and opens a new store there. */
node_store *party_store_in(const char *dir, const char *name);

/* ---- parties ---- */

typedef struct {
  char dir[64];
  node_store *s;
  uint8_t *cert; /* org certificate issued by the LA; malloc'd */
  size_t cert_len;
} party;

/* A store in its own temporary directory; with a name, also a new
 * (provisional) org of that kind. */
void party_open(party *p, const char *name, uint32_t kind);
/* Closes the store, frees the certificate and removes the directory. */
void party_close(party *p);

/* Resets party_now_ms to PARTY_T0 and opens la as a root; school (Oak
 * Primary), mash (County MASH) and other (Elm Academy) as orgs the LA
 * certified, each trusting the LA. */
void parties_open(party *la, party *school, party *mash, party *other);
/* A new org of this kind at p, certified by la (opened by parties_open),
 * trusting la. */
void party_join(party *la, party *p, const char *name, uint32_t kind);
/* p tracks la's directory file and receives it as it is now. */
void party_see_directory(party *la, party *p);
/* p's org id (its certificate's subject) as 64 hex digits into hex (129
 * bytes is ample; 65 needed); fpr, when not NULL, its fingerprint
 * (CRDT_FPR_LEN bytes). */
void party_org_hex(const party *p, char *hex, char *fpr);

/* Who p is, as a sync session sees it after the handshake. */
void party_peer(party *p, node_sync_peer *out);
void parties_close(party *la, party *school, party *mash, party *other);

/* A Criterion suite whose every test gets the four parties above as
 * statics of the test file (la, school, mash, other), opened before it and
 * closed after. Extra arguments go to TestSuite (".timeout = 120"). */
#define PARTIES_SUITE(...) /* (name[, more TestSuite options]) */                \
  static party la, school, mash, other;                                          \
  static void parties_setup_(void) { parties_open(&la, &school, &mash, &other); } \
  static void parties_teardown_(void) { parties_close(&la, &school, &mash, &other); } \
  TestSuite(__VA_ARGS__, .init = parties_setup_, .fini = parties_teardown_)

/* Copies every stored op of file from one store to another, which carries
 * the file from then on, and asserts none was rejected. Returns how many
 * ops were copied. */
size_t party_sync(party *from, party *to, const uint8_t *file);

/* A new file at p (Amy Bell, born 2016-03-04), by dsl.jones as DSL. */
void party_new_file(party *p, uint8_t file[CRDT_FILE_LEN]);
/* Advances the clock a minute and writes a chronology entry whose summary
 * is text, by dsl.jones as DSL; returns node_author_as's code. */
int party_note(party *p, const uint8_t *file, const char *text, crdt_id *id);
/* Whether p's view of file shows a chronology entry with this text. */
int party_shows(party *p, const uint8_t *file, const char *text);
/* A grant to `to` for referral, on the mother's consent. */
node_grant_req party_consent_req(const party *to, uint32_t rights, uint32_t history);

#endif
