/* node/hub.h: sync sessions (node/sync.h) on the daemon's network
 * (node/net.h).
 *
 * The hub is the node_net_sync hook: for every authenticated session it
 * reads the peer's org certificate (org key, box key, kind: an LA org's
 * node is treated as a relay), requires the PROTO_SYNC_CAP capability in
 * common, and runs a node_sync session over it:
 *
 *   - the side that dialled starts a run as soon as the session opens, when
 *     the store has new ops (another process such as the CLI wrote them, or
 *     another session brought them), and every period_ms;
 *   - the side that did not dial sends a NUDGE on new ops instead;
 *   - two sessions with the same peer device (both dialled at once): the one
 *     dialled by the side with the lower device key is kept, the other is
 *     closed (logged "duplicate"), the same choice on both sides;
 *   - each run ends with one log line: peer address and device fingerprint,
 *     fast or full, messages, bytes both ways, ops sent, stored,
 *     duplicate, buffered, rejected and refused, files that differed, new
 *     files, milliseconds. Never file ids, names or anything decrypted:
 *
 *       synced peer=10.1.2.3:7643 fpr=7QKM-... path=fast msgs=2
 *         bytes_out=812 bytes_in=95 ops_sent=3 stored=0 dup=0 buffered=0
 *         rejected=0 refused=0 differ=1 new=0 ms=4
 *
 *     A run that the session's end (or an error) cuts short is logged the
 *     same way as "sync-cut ... reason=NAME" (path=-, differ=0);
 *   - a peer that does not offer PROTO_SYNC_CAP is refused (BT_EVERSION);
 *
 * New ops are noticed by watching the store's data file (uv_fs_event) and,
 * as a backstop, polling the store's op count every poll_ms; a run is due
 * for a session when the count differs from the one at its last run's end.
 *
 * Sync work runs on the loop thread (the store is one thread's at a time):
 * a message is handled in full before the next event. Messages are capped
 * by the session's max_message, so each step is bounded.
 *
 * Threads: the loop's only. */
#ifndef BT_NODE_HUB_H
#define BT_NODE_HUB_H

#include <stdint.h>
#include <uv.h>

#include "node/net.h"
#include "node/store.h"
#include "node/sync.h"

#define NODE_HUB_PERIOD_MS 60000
#define NODE_HUB_POLL_MS 1000

typedef struct {
  node_sync_opts sync; /* copied, with the relay_orgs array */
  const char *dir;     /* the data directory to watch; NULL: poll only */
  uint64_t period_ms;  /* 0: NODE_HUB_PERIOD_MS */
  uint64_t poll_ms;    /* 0: NODE_HUB_POLL_MS */
  /* Orgs relayed for, named by the fingerprint of their signing key as
   * crdt_fingerprint writes it (what an operator can read and type; a
   * fingerprint cannot be turned back into a key). A session whose peer's
   * org key has one of these fingerprints gets that key added to its
   * relay_orgs. Copied. */
  const char *const *relay_fprs;
  size_t nrelay_fprs;
} node_hub_opts;

typedef struct node_hub node_hub;

/* A hub for s on loop (borrowed: both must outlive it). o may be NULL
 * (the defaults). Errors: BT_EINVAL (a fingerprint of the wrong length,
 * nrelay without relay_orgs), BT_ENOMEM. */
int node_hub_new(node_hub **out, uv_loop_t *loop, node_store *s, const node_hub_opts *o);

/* The hook to put in node_net_opts.sync (it offers PROTO_SYNC_CAP).
 * Valid while the hub lives. */
const node_net_sync *node_hub_hook(node_hub *h);

/* Starts the watcher and timers. A store file that cannot be watched is
 * logged, and the poll alone notices news. BT_EINVAL if started before. */
int node_hub_start(node_hub *h);

/* Local news (the caller wrote to the store itself): runs with every
 * session soon (from the loop, not inside this call). */
void node_hub_changed(node_hub *h);

/* Totals over every session so far, for tests and benchmarks. */
void node_hub_stats(const node_hub *h, node_sync_stats *st);

/* Stops the watcher and timers; done(ctx) (may be NULL) from the loop once
 * their handles are closed, or at once if the hub was never started. A
 * second call does nothing. Sessions end through node_net_stop, which
 * must run before node_hub_free (its close callbacks free the sessions). */
void node_hub_stop(node_hub *h, void (*done)(void *ctx), void *ctx);
void node_hub_free(node_hub *h); /* after stop's done; NULL is a no-op */

#endif
