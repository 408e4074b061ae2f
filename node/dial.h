/* node/dial.h: one sync with one peer, now, from a process that is not
 * batond (the `baton sync` command: an offline laptop coming back, a
 * school that wants the LA's directory at once).
 *
 * node_dial_sync runs a libuv loop of its own with a node/net.h network
 * that dials addr once and never listens, and the node/hub.h sync hook
 * batond uses: the handshake judges the peer by this node's anchors and
 * revocations, the hub runs one sync over the session, and once that run
 * completes the session ends with a bye and the loop stops. It works with
 * no batond running and beside one on the same data directory (LMDB lets
 * several processes write; each message's ops are one transaction).
 *
 * It does not retry: the first failure ends it, with how far it got and
 * why (r->stage, r->reason as node/net.h names reasons). The network's
 * log lines go wherever node_net_log_sink sends them.
 *
 * Threads: the caller's; blocks until done or timeout_ms passes. */
#ifndef BT_NODE_DIAL_H
#define BT_NODE_DIAL_H

#include <stdint.h>

#include "crdt/types.h"
#include "node/net.h"
#include "node/store.h"
#include "node/sync.h"

typedef struct {
  int stage;              /* NODE_NET_STAGE_*: how far it got */
  int reason;             /* 0: synced; else why not (node_net_reason_name) */
  int timed_out;          /* timeout_ms passed first */
  int have_peer;          /* the peer proved its device key: the rest is set */
  uint8_t peer_device[CRDT_PK_LEN];
  uint8_t peer_org[CRDT_PK_LEN]; /* its org certificate's subject */
  uint32_t peer_kind;     /* crdt_org_kind */
  node_sync_stats st;     /* this run's counts */
  uint64_t ms;            /* how long it took */
} node_dial_result;

/* Syncs with the peer at addr ("host:port", "[v6]:port") within timeout_ms
 * (1 ms..1 day). BT_OK when a run completed (*r filled); BT_EAUTH when it
 * did not (r->stage and r->reason say why: unreachable, refused, timed
 * out, cut); BT_EINVAL (addr, timeout), BT_ENOTFOUND (this node has no
 * org), BT_ENOMEM, libuv errors. *r is filled on BT_OK and BT_EAUTH. */
int node_dial_sync(node_store *s, const char *addr, uint64_t timeout_ms, node_dial_result *r);

#endif
