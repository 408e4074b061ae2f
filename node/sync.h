/* node/sync.h: one sync session with one peer over one store
 * (docs/sync.md): the proto/sync.h messages driven by the store, with no
 * I/O of its own (node/hub.h binds it to node/net.h; tests/sim to a
 * virtual network).
 *
 * A session lives as long as a connection and carries runs. A run brings
 * both sides' copies of every file in scope to the same op set:
 *
 *   - fast path: when both sides remember the state they agreed on last
 *     time (DB_PEERS, per peer device and file: count, id sum, per-author
 *     highest seq) and their digests of it match, each side sends the ops
 *     of each file it changed since (by the remembered per-author seqs)
 *     with its resulting (count, sum); a file whose states still differ
 *     falls back to op reconciliation. Two round trips when one side has
 *     news.
 *   - full path: range reconciliation over the files in scope, then over
 *     the ops of each file that differs (both proto/recon.h); a file the
 *     peer lacks altogether is sent whole without listing its ids.
 *   - ops are sent in (hour, id) order, parents the receiver still misses
 *     are asked for by id once the sender is idle.
 *
 * Scope (what this node names or sends to a peer, and takes from it):
 *   - a device of this node's own org (a DSL's laptop): every file the org
 *     holds (this node keeps a keybox of the org's for it);
 *   - another org: files holding a keybox for that org (it was given the
 *     keys), whose access state, where this node can read it, still grants
 *     that org;
 *   - a relay (any node of an LA org: the LA hub):
 *     every file that holds a keybox for an org other than this node's;
 *   - this node as relay, for an org it relays for: the files holding a
 *     keybox for that org; from such a peer it takes files it did not
 *     know. A node that is not a relay takes a file it did not know from
 *     any authenticated peer, at most max_new_files per run.
 * Ops for a file outside scope are refused (counted, the peer told OUT);
 * the session goes on.
 *
 * Not thread-safe: a session and its store are used by one thread. */
#ifndef BT_NODE_SYNC_H
#define BT_NODE_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"
#include "node/store.h"

#define NODE_SYNC_MSG_DEFAULT (((size_t)4 << 20) - 4096)
#define NODE_SYNC_MSG_MIN ((size_t)64 << 10)
#define NODE_SYNC_NEW_FILES_DEFAULT 1024
#define NODE_SYNC_RECON_BUDGET ((size_t)64 << 10) /* per file, per message */

/* Who the session is with, from the handshake. */
typedef struct {
  uint8_t device_pk[CRDT_PK_LEN];
  crdt_id org_pk;  /* the peer's org signing key (its org certificate's subject) */
  crdt_id box_pk;  /* the org's box key (keyboxes for it carry its tag) */
  uint32_t org_kind; /* crdt_org_kind */
  int relay;       /* a relay: the hub sets it for an LA org's nodes */
} node_sync_peer;

typedef struct {
  /* This node relays for these orgs (signing keys); relay_all: for every
   * org whose certificate chain this node accepts. */
  const crdt_id *relay_orgs;
  size_t nrelay;
  int relay_all;
  size_t max_message;   /* 0: NODE_SYNC_MSG_DEFAULT; at least NODE_SYNC_MSG_MIN */
  size_t max_new_files; /* 0: NODE_SYNC_NEW_FILES_DEFAULT */
  int no_fast;          /* never use remembered state (it is still kept) */
  int no_defer;         /* ingest every message before answering it (tests) */
  int ranges;           /* compare a differing file's ops by range at once,
                           without per-author seqs first (tests) */
} node_sync_opts;

typedef struct {
  uint32_t runs;              /* runs completed */
  uint32_t msgs_sent, msgs_recv;
  uint64_t bytes_sent, bytes_recv;
  uint64_t ops_sent;          /* envelopes sent */
  uint64_t ops_stored, ops_dup, ops_buffered, ops_rejected;
  uint64_t ops_refused;       /* out of scope: not offered to ingest */
  uint32_t files_new;         /* files this node did not know, taken */
  uint32_t files_differ;      /* files found to differ (last run) */
  uint32_t last_msgs;         /* messages in the last run, both sides */
  int last_fast;              /* the last run took the fast path */
} node_sync_stats;

typedef struct node_sync node_sync;

/* A session with peer over s (borrowed: both must outlive it), as the
 * side that dialled (initiator 1) or not. Copies peer and o (o may be
 * NULL). Errors: BT_EINVAL, BT_ENOTFOUND (this node has no org),
 * BT_ENOMEM. */
int node_sync_new(node_sync **out, node_store *s, const node_sync_peer *peer, int initiator,
                  const node_sync_opts *o);
void node_sync_free(node_sync *x); /* NULL is a no-op */

/* Initiator: starts a run and writes its first message (*out owned by x,
 * valid until the next call on x). While a run is under way it only marks
 * another run as wanted (node_sync_pending) and sets *olen 0. BT_EINVAL
 * for a responder. */
int node_sync_start(node_sync *x, const uint8_t **out, size_t *olen);

/* Takes one message from the peer (untrusted) and writes the reply into
 * *out (owned by x, valid until the next call), *olen 0 when nothing is to
 * be sent. A NUDGE at the initiator marks a run as wanted.
 * Errors (the caller ends the session): the decoder's (proto_sync_decode),
 * BT_ESEQ (a message out of turn), BT_EPROTO (what the peer says makes no
 * sense: a section for a file it was not offered and did not offer, a
 * reconciliation error, an END while work is pending), storage errors.
 * Nothing stored changes because of a bad message: ops are judged one by
 * one by ingest, and a message that does not decode is refused whole. */
int node_sync_recv(node_sync *x, const uint8_t *m, size_t len, const uint8_t **out,
                   size_t *olen);

/* Ingests the envelopes of the last message if node_sync_recv left them
 * for later (a bulk message, answered at once so the peer prepares its
 * next one meanwhile). Call it after sending the answer; node_sync_recv
 * calls it first if the caller did not. Errors: storage errors (the run
 * is abandoned: the caller ends the session). */
int node_sync_work(node_sync *x);

/* Responder: a NUDGE to send (the store has news for the peer). */
int node_sync_nudge(node_sync *x, const uint8_t **out, size_t *olen);

/* 1 while a run is under way. */
int node_sync_running(const node_sync *x);
/* Initiator: 1 when a run was asked for (nudge, or start during a run)
 * and none is under way: call node_sync_start. */
int node_sync_pending(const node_sync *x);

void node_sync_get_stats(const node_sync *x, node_sync_stats *st);

/* Forgets what was agreed with a peer device (the next run takes the full
 * path). */
int node_sync_forget(node_store *s, const uint8_t device_pk[CRDT_PK_LEN]);

/* A digest of a file's state on this node: (count, id sum) as the file
 * level reconciliation compares them. BT_ENOFILE. */
int node_sync_file_state(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint64_t *count,
                         uint8_t sum[32]);

#endif
