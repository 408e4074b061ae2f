/* proto/handshake.h: the authenticated handshake (docs/protocol.md
 * "Handshake"), as a state machine with no I/O.
 *
 *   initiator                                   responder
 *   proto_hs_start     -- hello  [1, v, caps, e_i] -->  proto_hs_recv
 *   proto_hs_recv  <-- reply  [2, v, caps, e_r, box_r] --
 *                  -- finish [3, box_i] ------------->  proto_hs_recv
 *   done                                                 done
 *
 * Noise XX's message pattern from libsodium parts: ephemeral X25519, each
 * side's Ed25519 device key proven by signing the transcript hash inside an
 * AEAD box keyed from the ephemeral DH, certificates inside the boxes. The
 * caller supplies the ephemeral key pair (fresh for every handshake: it is
 * the only randomness), and a verify callback that judges the peer's
 * certificates; it runs only once the peer has proven its device key.
 *
 * A handshake belongs to one connection and one thread at a time. Every
 * error is final: the handshake wipes its secrets and returns that error
 * from every later call; the caller ends the connection. */
#ifndef BT_PROTO_HANDSHAKE_H
#define BT_PROTO_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/cert.h"
#include "crdt/types.h"

#define PROTO_VERSION 1
#define PROTO_CAPS_MAX 32 /* capabilities per side */
#define PROTO_CAP_LEN 32  /* bytes per capability */
#define PROTO_EPH_LEN 32  /* X25519 key */
#define PROTO_KEY_LEN 32  /* a secretstream key */
/* No handshake message is longer (the largest, a reply with 32 caps of 32
 * bytes and two certificates of CRDT_CERT_MAX, is about 5.4 KiB). Buffers
 * for proto_hs_start and proto_hs_recv must hold this much; a peer's
 * message above it is refused with BT_ETOOBIG. */
#define PROTO_HS_MAX 8192

/* Judges the peer's certificates once the peer has proven device_pk (its
 * signature over the transcript verified, and dev_cert is a well-formed
 * device certificate whose subject is device_pk). Returns 0 to accept or a
 * negative bt_err reason, which proto_hs_recv returns (BT_EANCHOR,
 * BT_EREVOKED, BT_EEXPIRED, ...; a positive value counts as BT_EAUTH). The
 * bytes are borrowed for the call. Called at most once per handshake. */
typedef int (*proto_hs_verify_fn)(void *ctx, const uint8_t device_pk[CRDT_PK_LEN],
                                  const uint8_t *dev_cert, size_t dlen,
                                  const uint8_t *org_cert, size_t olen);

typedef struct {
  int initiator;                  /* 1: sends hello; 0: answers one */
  const uint8_t *sign_sk;         /* own Ed25519 device key, CRDT_SK_LEN */
  bt_bytes dev_cert, org_cert;    /* own certificates, 1..CRDT_CERT_MAX each */
  uint32_t version;               /* own protocol version, >= 1 */
  const bt_str *caps;             /* own capabilities: strictly ascending */
  size_t ncaps;                   /* (bytewise), 1..PROTO_CAP_LEN bytes each */
  const uint8_t *eph_pk, *eph_sk; /* fresh X25519 pair, PROTO_EPH_LEN each */
  proto_hs_verify_fn verify;
  void *verify_ctx;
} proto_hs_config;

typedef struct proto_hs proto_hs;

/* A handshake in its first state. Copies everything in cfg (keys into
 * guarded memory, which is wiped as soon as it is no longer needed).
 * Errors: BT_EINVAL (a missing key or callback, a certificate size out of
 * range, version 0, caps unsorted or out of range, eph_pk not eph_sk's
 * public key), BT_ENOMEM. */
int proto_hs_new(proto_hs **out, const proto_hs_config *cfg);

/* Wipes and frees every secret, key and copy. NULL is a no-op. */
void proto_hs_free(proto_hs *hs);

/* Initiator: writes hello to out[0..cap) and sets *olen. Errors: BT_EINVAL
 * (a responder, called twice, or cap < PROTO_HS_MAX; the handshake is
 * unchanged), BT_ENOMEM. */
int proto_hs_start(proto_hs *hs, uint8_t *out, size_t cap, size_t *olen);

/* Takes the peer's next message, p[0..len) (one frame payload). On BT_OK
 * sets *olen to the length of the message to send back in out (0 when there
 * is none); then proto_hs_done tells whether the handshake is complete.
 * The responder answers hello with reply and completes on finish; the
 * initiator answers reply with finish and completes at once.
 *
 * Errors, all final: BT_ETOOBIG (len > PROTO_HS_MAX, caps or certificates
 * over their limits), BT_ETRUNC, BT_ETYPE, BT_EDEPTH, BT_ETRAILING (from
 * the msgpack walk), BT_EPROTO (wrong message kind or array length, a size
 * off, caps unsorted), BT_ENONCANON (not canonical msgpack), BT_EVERSION
 * (version 0 or above 2^32-1), BT_EAUTH (a low-order ephemeral key: the DH
 * is all zeroes), BT_EDECRYPT (the box does not open: tampering, another
 * session, a swapped ephemeral key), BT_ESIG (the transcript signature does
 * not verify), the errors of crdt_cert_decode and BT_ECHAIN (the device
 * certificate is not the signer's), the verify callback's reason, BT_ENOMEM.
 * BT_EINVAL when called out of turn or with cap < PROTO_HS_MAX (not final:
 * the handshake is unchanged). */
int proto_hs_recv(proto_hs *hs, const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                  size_t *olen);

/* 1 once the handshake has completed. */
int proto_hs_done(const proto_hs *hs);

/* The outcome. Everything points into hs and lives until proto_hs_free. */
typedef struct {
  uint8_t peer_pk[CRDT_PK_LEN];         /* the peer's proven device key */
  bt_bytes peer_dev_cert, peer_org_cert;
  uint32_t version;                     /* the lower of the two */
  bt_str caps[PROTO_CAPS_MAX];          /* the common ones, ascending */
  size_t ncaps;
  const uint8_t *send_key, *recv_key;   /* PROTO_KEY_LEN each, guarded memory */
} proto_hs_result;

/* Fills *r once proto_hs_done; BT_EINVAL before. */
int proto_hs_get_result(const proto_hs *hs, proto_hs_result *r);

#endif
