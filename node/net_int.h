/* node/net_int.h: what net.c (the listener, the dialers, the network as a
 * whole) and conn.c (one connection's state machine) share. Not an API. */
#ifndef BT_NODE_NET_INT_H
#define BT_NODE_NET_INT_H

#include <uv.h>

#include "node/net.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/stream.h"

#define NODE_NET_RBUF_LEN 65536 /* the shared read buffer */

/* A connection's states, in order (conn.c's opening comment). */
enum { C_CONNECT, C_HS, C_HDR, C_OPEN, C_DRAIN };

typedef struct dialer dialer;

struct node_net_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  node_net *n;
  dialer *d; /* outbound: the dialer that owns this attempt */
  node_net_conn *prev, *next;
  int state, inbound, closing, reason, self, have_pk;
  int established, opened; /* a session came up; the sync layer took it */
  proto_frame_dec *dec;
  proto_hs *hs;
  proto_stream *st;
  uint64_t t0, last_rx, frame_t0, drain_t0; /* uv_now, ms */
  uint64_t ping_token, ping_at;
  int ping_out;
  uint8_t peer_pk[CRDT_PK_LEN];
  char addr[NODE_NET_ADDR_MAX];
  void *data;
};

/* One configured peer: redialled whenever it has no connection. */
struct dialer {
  node_net *n;
  char addr[NODE_NET_ADDR_MAX];
  char host[NODE_NET_HOST_MAX], port[8];
  uv_timer_t timer;
  uv_getaddrinfo_t gai;
  int resolving;
  unsigned attempt;
  node_net_conn *c;
};

struct node_net {
  uv_loop_t *loop;
  node_store *s;
  node_net_opts o; /* with the defaults filled in */
  node_net_sync sync;
  char *listen;
  uv_tcp_t server;
  int listening, started, stopping, stopped_called;
  dialer *dialers;
  size_t ndialers;
  node_net_conn *conns;
  unsigned nconns, live;
  void (*done)(void *);
  void *done_ctx;
  uint8_t *rbuf, *pbuf; /* NODE_NET_RBUF_LEN, max_frame */
};

/* ---- conn.c ---- */

/* A connection in n's list, its handles initialised (counted in live). */
node_net_conn *node__conn_new(node_net *n, int inbound);
/* Accepted: starts the handshake as responder and reading. */
int node__conn_accepted(node_net_conn *c);
/* Dials sa; on connect, sends hello. The handshake deadline runs from now. */
int node__conn_connect(node_net_conn *c, const struct sockaddr *sa);
/* Logs reason (the first one only) and closes at once. */
void node__conn_fail(node_net_conn *c, int reason);
/* After the handshake: bye, then drain; before: node__conn_fail. */
void node__conn_end(node_net_conn *c, int reason);
/* Closes both handles without a word; frees c once they are closed. */
void node__conn_kill(node_net_conn *c);

/* ---- net.c ---- */

/* Calls the stop callback once stopping and nothing is live. */
void node__net_maybe_stopped(node_net *n);
/* The dialer's next try, after its backoff delay. */
void node__dialer_schedule(dialer *d);

#endif
