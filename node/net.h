/* node/net.h: the node's network: proto's state machines bound to libuv.
 *
 * A node_net listens on one address, keeps a connection open to each
 * configured peer (reconnecting with jittered exponential backoff), and
 * runs every connection through the same steps:
 *
 *   handshake (proto/handshake.h, frames capped at PROTO_HS_MAX, the peer
 *   judged by node_chain_check at the current time; this node's own device
 *   key is refused) -> both stream headers (proto/stream.h) -> a session:
 *   sealed msgpack messages both ways until one side says bye.
 *
 * A session is handed to the sync layer through node_net_sync (the hook
 * reconciliation plugs into). Without one, net plays a placeholder: the
 * side that dialled sends a ping, the other answers with a pong, and the
 * session stays open until it is idle or closed.
 *
 * Transport messages are msgpack arrays whose first item is a kind:
 *
 *   [64, token u64]   ping      answered at once with a pong
 *   [65, token u64]   pong      must echo the token of our last ping
 *   [66]              bye       the last message of a direction, sealed
 *                               with TAG_FINAL (and nothing else is)
 *
 * Kinds 64..79 are net's own (handled here, never shown to the sync
 * layer); every other kind belongs to the sync layer. Each message from a
 * peer is walked (crdt_mp_walk: declared counts against the bytes present)
 * before anything reads it.
 *
 * Limits: a connection limit (excess accepted sockets are closed at once),
 * a handshake deadline (from accept, or from the start of connect), an idle
 * deadline (no frame received), a frame deadline (a frame begun must
 * complete: a peer that drips bytes is cut), the frame maximum, and a cap
 * on bytes queued to a peer that does not read. Every refusal and close is
 * logged to stderr with a reason name and the peer's address, and the
 * peer's device key fingerprint once it has proven that key; never keys,
 * certificates' names or anything a message carries.
 *
 * Threads: everything runs on the loop's thread. Nothing here blocks, save
 * the store reads of the handshake (node_org_get, node_chain_check). */
#ifndef BT_NODE_NET_H
#define BT_NODE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "crdt/types.h"
#include "node/store.h"

#define NODE_NET_LISTEN_DEFAULT "127.0.0.1:7643" /* loopback unless configured */
#define NODE_NET_CONNS_DEFAULT 64
#define NODE_NET_HS_TIMEOUT_MS 10000
#define NODE_NET_IDLE_TIMEOUT_MS 120000
#define NODE_NET_FRAME_TIMEOUT_MS 30000
#define NODE_NET_RETRY_MIN_MS 1000
#define NODE_NET_RETRY_MAX_MS 300000
#define NODE_NET_LINGER_MS 2000 /* a closing session waits this long for the peer */
#define NODE_NET_ADDR_MAX 64    /* "[v6]:port" or "host:port" with the NUL */
#define NODE_NET_HOST_MAX 254   /* a DNS name with the NUL */

#define NODE_NET_MSG_PING 64
#define NODE_NET_MSG_PONG 65
#define NODE_NET_MSG_BYE 66

/* Why a connection ended, beside bt_err codes (negative, "BT_E...") and
 * libuv / errno codes (negative, "ECONNRESET"). These are positive. */
#define NODE_NET_REASON_MAP(X)                                               \
  X(LIMIT, 1, "limit", "connection limit reached")                           \
  X(HS_TIMEOUT, 2, "hs_timeout", "handshake not finished in time")           \
  X(IDLE, 3, "idle", "no frame received for the idle time")                  \
  X(SLOW, 4, "slow", "a frame did not complete in time")                     \
  X(EOF, 5, "eof", "peer closed the connection without a bye")               \
  X(BYE, 6, "bye", "peer closed the session")                                \
  X(STOP, 7, "stop", "this node is stopping")                                \
  X(SELF, 8, "self", "peer presented this node's own device key")            \
  X(BACKLOG, 9, "backlog", "peer does not read what is sent to it")          \
  X(CLOSED, 10, "closed", "closed by the sync layer")                      \
  X(DUPLICATE, 11, "duplicate", "another session with this peer is kept")

enum {
#define X(name, code, str, msg) NODE_NET_R_##name = code,
  NODE_NET_REASON_MAP(X)
#undef X
};

/* The name of any reason a close is logged with: "limit", "BT_ETOOBIG",
 * "ECONNRESET". Writes into buf (at least 32 bytes) and returns it. */
const char *node_net_reason_name(int reason, char *buf, size_t len);

/* One log line to stderr, prefixed with the UTC time and "batond:", in one
 * write(2) so lines from several processes do not interleave. */
void node_net_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Where node_net_log's lines go from now on: fn(ctx, line, len) with the
 * line and its newline; NULL: stderr again. For a process that is not
 * batond (the baton command) and reports in its own words. Not
 * thread-safe: set it before the loop runs. */
void node_net_log_sink(void (*fn)(void *ctx, const char *line, size_t len), void *ctx);

/* Splits "host:port" or "[v6]:port" (port 0..65535). BT_EINVAL for anything
 * else, including an unbracketed IPv6 address or a host above hlen - 1. */
int node_net_addr_parse(const char *s, char *host, size_t hlen, uint16_t *port);

/* ---- the sync layer's hook ------------------------------------------------- */

typedef struct node_net_conn node_net_conn;

/* Who a session is with. Borrowed: valid until the close callback. */
typedef struct {
  uint8_t device_pk[CRDT_PK_LEN]; /* proven by the handshake */
  bt_bytes dev_cert, org_cert;    /* accepted by node_chain_check */
  uint32_t version;               /* the lower of both sides' */
  const bt_str *caps;             /* offered by both, ascending */
  size_t ncaps;
  int initiator;                  /* 1: this node dialled */
  const char *addr;               /* "ip:port" */
} node_net_peer;

/* Called on the loop thread. open: the session is authenticated and both
 * streams are up; return 0 to keep it, or a reason to close it. message:
 * one message of a kind that is not net's (m[0..len): untrusted msgpack,
 * walked but not decoded; borrowed for the call); return 0, or a reason to
 * close. close: the session is gone (after open returned 0); reason as
 * logged. Callbacks may call node_net_send and node_net_close. */
typedef struct {
  int (*open)(void *ctx, node_net_conn *c, const node_net_peer *peer);
  int (*message)(void *ctx, node_net_conn *c, const uint8_t *m, size_t len);
  void (*close)(void *ctx, node_net_conn *c, int reason);
  void *ctx;
  const bt_str *caps; /* offered in the handshake: ascending, as proto wants */
  size_t ncaps;
} node_net_sync;

/* Seals m[0..len) (one msgpack message, at most node_net_max_message
 * bytes) and queues it. Errors: BT_EINVAL (no open session: not yet, or
 * closing), BT_ETOOBIG, BT_ENOMEM; when the peer has stopped reading, the
 * connection is closed (reason "backlog") and BT_EPROTO returned. */
int node_net_send(node_net_conn *c, const uint8_t *m, size_t len);
/* Ends a session: bye, then close. reason is logged (0: "closed"). */
void node_net_close(node_net_conn *c, int reason);
size_t node_net_max_message(const node_net_conn *c);
/* One pointer for the sync layer's own state. */
void node_net_set_data(node_net_conn *c, void *data);
void *node_net_data(const node_net_conn *c);

/* ---- the network ------------------------------------------------------------- */

typedef struct {
  const char *listen;       /* "host:port" to accept on (port 0: any); NULL: none */
  const char *const *peers; /* "host:port" to keep a connection to */
  size_t npeers;
  unsigned max_conns;       /* in and out together; 0: NODE_NET_CONNS_DEFAULT */
  uint64_t hs_timeout_ms;   /* 0: the defaults above, for each */
  uint64_t idle_timeout_ms;
  uint64_t frame_timeout_ms;
  uint64_t retry_min_ms, retry_max_ms;
  size_t max_frame;         /* after the handshake; 0: PROTO_FRAME_MAX_DEFAULT */
  const node_net_sync *sync; /* NULL: the ping/pong placeholder */
  /* Called, when set, each time a dialled attempt ends without a session
   * the sync layer took: the name did not resolve, the connection failed,
   * the handshake failed or the peer refused this node (it closed before
   * its stream header), or sync.open refused the session. stage: how far
   * it got (NODE_NET_STAGE_*); reason as logged. The dialer tries again
   * after its backoff; a one-shot caller (baton sync, node/dial.h) stops
   * the network from the loop, not from inside this call. */
  void (*dial_failed)(void *ctx, const char *addr, int stage, int reason);
  void *dial_ctx;
} node_net_opts;

/* How far a dialled attempt got (node_net_opts.dial_failed). */
enum {
  NODE_NET_STAGE_CONNECT = 0, /* resolving or connecting */
  NODE_NET_STAGE_HANDSHAKE,   /* handshake frames */
  NODE_NET_STAGE_HEADER,      /* our handshake done, waiting for the peer's
                                 stream header: a peer that closes here
                                 refused this node's certificates */
  NODE_NET_STAGE_OPEN,        /* a session was up */
};

typedef struct node_net node_net;

/* A network for store s on loop (both borrowed: they must outlive it).
 * Copies o. Errors: BT_EINVAL (an address that does not parse, a peer with
 * port 0, max_frame out of PROTO_HS_MAX..PROTO_FRAME_MAX_CAP, retry_min
 * above retry_max, caps proto would refuse), BT_ENOTFOUND (the node has no
 * org: nothing to prove who it is with), BT_ENOMEM. */
int node_net_new(node_net **out, uv_loop_t *loop, node_store *s, const node_net_opts *o);

/* Binds and listens (logging the address), then starts dialling. Errors:
 * libuv's (UV_EADDRINUSE, UV_EACCES, getaddrinfo errors). After an error
 * (or none), node_net_stop is how to end it. */
int node_net_start(node_net *n);

/* The bound listening address ("127.0.0.1:7643"). BT_ENOTFOUND when not
 * listening. */
int node_net_address(const node_net *n, char buf[NODE_NET_ADDR_MAX]);

/* Stops: closes the listener and the dialers, ends open sessions with a
 * bye (waiting at most NODE_NET_LINGER_MS for each peer), closes every
 * other connection; then calls done(ctx) from the loop once every handle
 * is closed. A second call closes everything at once, without waiting for
 * peers. */
void node_net_stop(node_net *n, void (*done)(void *ctx), void *ctx);

/* Frees n: before node_net_start, or after node_net_stop's done. NULL is a
 * no-op. */
void node_net_free(node_net *n);

#endif
