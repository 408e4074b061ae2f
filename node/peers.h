/* node/peers.h: the peers this node keeps a connection to, kept in the
 * store (so `baton peer add` and batond agree without a config file).
 *
 * batond dials these as well as its --peer options and config `peer`
 * lines (read once, at start: a peer added while it runs is dialled from
 * its next start; `baton sync ADDR` syncs at once meanwhile). An address
 * is "host:port" or "[v6]:port" (node_net_addr_parse), port not 0. Meta
 * table keys (docs/store.md): "peer/" · address -> added (8, LE, unix ms).
 *
 * Threads: as node_store. 0 or a bt_err; results only on success. */
#ifndef BT_NODE_PEERS_H
#define BT_NODE_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "node/net.h"
#include "node/store.h"

#define NODE_PEERS_MAX 256 /* peers one node keeps */

typedef struct {
  char addr[NODE_NET_ADDR_MAX];
  uint64_t added_ms;
} node_peer;

/* Adds addr. BT_EINVAL (not an address, or port 0), BT_EDUP (already
 * there: nothing changed), BT_EFULL (NODE_PEERS_MAX reached), store errors. */
int node_peer_add(node_store *s, const char *addr, uint64_t now_ms);
/* Removes addr. BT_EINVAL, BT_ENOTFOUND. */
int node_peer_remove(node_store *s, const char *addr);
/* Up to max peers in address order, the total in *n. BT_ECORRUPT for a
 * damaged record. */
int node_peer_list(node_store *s, node_peer *out, size_t max, size_t *n);

#endif
