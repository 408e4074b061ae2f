/* tests/daemon/peer.h: a real batond on loopback, and the test process as
 * its peer.
 *
 * A world is a temporary directory holding an LA root node (whose key is
 * every certified node's anchor) and a foreign LA nobody anchors. Nodes are
 * data directories with a key file, a store, an org certified by one of the
 * two roots and one case file, made before any daemon starts; a daemon is a
 * batond process on one of them, listening on 127.0.0.1 at a port the
 * kernel picks (read back from its log, which is its stderr).
 *
 * The test peer speaks the protocol with proto/ itself over a blocking
 * socket (every read times out after 3 s, so no test hangs): an identity is
 * a fresh device key certified by some node's org (or a node's own key), a
 * connection does the handshake in either role, and seals and opens
 * messages. Failures are Criterion assertions. */
#ifndef BT_TESTS_DAEMON_PEER_H
#define BT_TESTS_DAEMON_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crdt/cert.h"
#include "node/store.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/stream.h"

typedef struct {
  char root[64];
  node_store *la, *foreign; /* the anchored root and the unknown one */
  crdt_id anchor;
} dm_world;

void dm_world_init(dm_world *w);
void dm_world_free(dm_world *w); /* closes and removes everything */

enum { DM_ANCHORED = 1, DM_UNKNOWN_LA, DM_PROVISIONAL };

typedef struct {
  char name[32];
  char dir[128], key[128];
  size_t ops, buffered; /* node_store_counts when made */
} dm_node;

/* A node whose org is certified by the world's LA (DM_ANCHORED), by the
 * LA nobody anchors (DM_UNKNOWN_LA), or not at all (DM_PROVISIONAL). */
void dm_node_make(dm_world *w, dm_node *nd, const char *name, int how);
/* The same with an org of another kind (crdt_org_kind: CRDT_ORG_LA makes
 * a node its peers treat as a relay). */
void dm_node_make_kind(dm_world *w, dm_node *nd, const char *name, int how, uint32_t kind);
/* A second device of org's org (a DSL's laptop): a store with no org of
 * its own, enrolled with a one-time code that org's node issues and
 * answers, trusting the world's LA. It holds no file. org's store must not
 * be open in this process. */
void dm_node_enrol(dm_world *w, dm_node *nd, const char *name, const dm_node *org);
/* Reads the store's counts again into nd (after a test wrote to it). */
void dm_node_recount(dm_node *nd);
node_store *dm_node_open(const dm_node *nd);
/* Asserts the store opens and its counts are those it was made with. */
void dm_node_check_intact(const dm_node *nd);

typedef struct {
  pid_t pid;
  char log[192];
  int port;
} dm_proc;

/* Starts batond on nd with the config text (NULL: none) and extra
 * arguments (NULL-terminated, or NULL); waits until it listens. */
void dm_start(dm_proc *p, const dm_node *nd, const char *config, const char *const *extra);
/* Sends sig and waits up to 5 s: the exit status (128 + n for a signal,
 * -1 when it had to be killed); *ms how long it took. */
int dm_stop(dm_proc *p, int sig, long *ms);
/* Occurrences of needle in the log. */
int dm_log_count(const dm_proc *p, const char *needle);
/* Waits up to timeout_ms for at least count occurrences; returns the
 * number seen. */
int dm_log_wait(const dm_proc *p, const char *needle, int count, int timeout_ms);
/* Copies the log into buf (NUL-terminated), for messages. */
void dm_log_read(const dm_proc *p, char *buf, size_t len);

typedef struct {
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN];
  uint8_t *dev, *org;
  size_t dlen, olen;
  node_store *trust; /* judges the daemon's chain; NULL: anyone */
  char fpr[CRDT_FPR_LEN];
  const bt_str *caps; /* offered in the handshake; none unless set */
  size_t ncaps;
} dm_ident;

/* A new device of nd's org; it trusts what nd trusts. */
void dm_ident_make(dm_ident *id, const dm_node *nd);
/* nd's own device key and certificates (read from its store). */
void dm_ident_self(dm_ident *id, const dm_node *nd);
void dm_ident_free(dm_ident *id);
/* From now on id offers PROTO_SYNC_CAP: batond syncs with it (a peer that
 * does not offer it is refused with BT_EVERSION once the handshake is
 * done). */
void dm_ident_sync(dm_ident *id);

enum { DM_OK = 0, DM_EOF = -1, DM_TIMEOUT = -2 };

typedef struct {
  int fd;
  proto_frame_dec *dec;
  uint8_t buf[65536];
  size_t pos, len;
  proto_hs *hs;
  proto_stream *st;
  int hs_rc; /* what the handshake ended with */
  uint8_t hello[PROTO_HS_MAX], finish[PROTO_HS_MAX];
  size_t hello_len, finish_len; /* as sent, for replays */
} dm_conn;

void dm_connect(dm_conn *c, int port);
/* Accepts one connection on a listening socket. */
void dm_accept(dm_conn *c, int lfd);
void dm_close(dm_conn *c);
/* Raw bytes; errors (the daemon hung up) are ignored. */
void dm_send(dm_conn *c, const void *p, size_t len);
void dm_send_frame(dm_conn *c, const void *p, size_t len);
/* The next frame's payload. DM_OK, DM_EOF (closed or reset), DM_TIMEOUT. */
int dm_recv_frame(dm_conn *c, uint8_t *out, size_t cap, size_t *len);
/* 1 if the daemon closes the connection within ms (data read meanwhile
 * is dropped), else 0. */
int dm_wait_closed(dm_conn *c, int ms);

/* The handshake and both stream headers, as initiator (1) or responder.
 * DM_OK, or a bt_err from proto, or DM_EOF / DM_TIMEOUT. */
int dm_handshake(dm_conn *c, const dm_ident *id, int initiator);
/* A hello from id, as an initiator would send it first. */
size_t dm_hello(const dm_ident *id, uint8_t out[PROTO_HS_MAX]);
void dm_seal(dm_conn *c, const uint8_t *m, size_t len, int final);
/* Opens the next message. DM_OK, a bt_err, DM_EOF or DM_TIMEOUT. */
int dm_open(dm_conn *c, uint8_t *out, size_t cap, size_t *len, int *final);
/* The same for messages of any size up to PROTO_FRAME_MAX_DEFAULT: *m is
 * malloc'd (the caller frees it) on DM_OK. */
int dm_open_big(dm_conn *c, uint8_t **m, size_t *len, int *final);
/* Sends a ping and asserts the pong echoes its token. */
void dm_ping(dm_conn *c);
/* Answers one ping with its pong (assertions). */
void dm_pong(dm_conn *c);
void dm_bye(dm_conn *c);

/* A whole good session against the daemon: handshake, ping, pong, bye,
 * and the daemon's bye back. */
void dm_good_peer(int port, const dm_ident *id);

/* A loopback port nothing listens on (bound, then released). */
int dm_free_port(void);
/* A listening socket on 127.0.0.1:port. */
int dm_listen(int port);

uint64_t dm_now_ms(void);

#endif
