/* tests/node/syncpair.h: two sync sessions between parties' stores with
 * their messages handed across in memory (test_sync*.c), and a hostile
 * peer's messages built by hand with the proto/sync.h encoder. Failures
 * are Criterion assertions: fixture code for Criterion tests only. */
#ifndef BT_TESTS_NODE_SYNCPAIR_H
#define BT_TESTS_NODE_SYNCPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "node/parties.h"
#include "node/sync.h"
#include "proto/sync.h"

typedef struct {
  node_sync *a, *b; /* a dialled */
  node_sync_opts oa, ob;
} sync_link;

/* Sessions a -> b with the options l->oa and l->ob. */
void sync_link_open(sync_link *l, party *a, party *b);
void sync_link_close(sync_link *l);
/* One run, a's start to its end, every message taken: the messages a sent
 * (its round trips). BT_SYNC_TRACE=1 prints each run's counts. */
unsigned sync_run(sync_link *l);

/* Both hold file with the same op count and id sum. */
void sync_same_state(party *a, party *b, const uint8_t *file);
/* A grant of file from `from` to `to`'s org on consent, history all. */
void sync_grant(party *from, party *to, const uint8_t *file, uint32_t rights, crdt_id *gid);
/* Whether p holds file; how many ops of it (asserting it holds it). */
int sync_holds(party *p, const uint8_t *file);
uint64_t sync_count(party *p, const uint8_t *file);

/* The hostile side of a session: a message built by hand. */
typedef struct {
  proto_sync_enc *e;
} sync_forge;

void sync_forge_begin(sync_forge *f, uint32_t run, uint32_t n);
void sync_forge_section(sync_forge *f, const proto_sync_section *s);
void sync_forge_env(sync_forge *f, const uint8_t *p, size_t len);
/* Finishes the message and hands it to the victim: its code, and its
 * answer decoded into *answer (free with proto_sync_msg_free). */
int sync_forge_send(sync_forge *f, node_sync *victim, proto_sync_msg *answer);
/* How many of m's envelopes are ops of file. */
size_t sync_envs_of(const proto_sync_msg *m, const uint8_t *file);

#endif
