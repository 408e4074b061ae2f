/* node/scope.h: which case files a peer may be offered, and taken from
 * (node/sync.h has the rules in words; docs/sync.md the reasons).
 *
 * Scope is judged from what this node holds: the header tags of each
 * file's ops (a keybox's tag names the org it gave keys to), and, where
 * this node can read the file, its access state (the grant still live). */
#ifndef BT_NODE_SCOPE_H
#define BT_NODE_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"
#include "node/sync.h"

/* A file and its state: count and id sum of its stored ops. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint64_t count;
  uint8_t sum[32];
} node_scope_file;

/* Every file in scope for peer at now_ms, ascending by file id: *out is
 * malloc'd (the caller frees it), *n its length. */
int node_scope_list(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                    uint64_t now_ms, node_scope_file **out, size_t *n);

/* 1 if file is in scope for peer, 0 if not (or not held), or an error. */
int node_scope_has(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                   uint64_t now_ms, const uint8_t file[CRDT_FILE_LEN]);

/* 1 if this node takes files it does not hold from this peer: a relay
 * from an org it relays for; any other node from any peer. */
int node_scope_takes_new(const node_sync_peer *peer, const node_sync_opts *o);

/* Keeps, inside t, who holds file by access state a (which must be the
 * state t sees): read by scope judgements until an op arrives that could
 * change it. The write paths call it, having read the state anyway. */
struct crdt_access;
#include <lmdb.h>
int node__scope_summary_put(node_store *s, MDB_txn *t, const uint8_t *file,
                            const struct crdt_access *a);

/* 1 if this node holds the file without a keybox of its own org (it
 * carries the ciphertext: a relay, or a first transfer not yet whole),
 * 0 if it reads it. */
int node_scope_carried(node_store *s, const uint8_t file[CRDT_FILE_LEN]);

/* 1 if this node (not a relay) carries the file without keys, a first
 * transfer cut short, and the peer may complete it: a relay, or an org
 * that was given keys to the file (a keybox of its in it). Its ops are
 * then taken from the peer; nothing of it is offered. */
int node_scope_completes(node_store *s, const node_sync_peer *peer, const node_sync_opts *o,
                         const uint8_t file[CRDT_FILE_LEN]);

/* 1 if this node relays for the peer's org. */
int node_scope_relays_for(const node_sync_peer *peer, const node_sync_opts *o);

#endif
