/* proto/sync.h: the sync session's messages (docs/protocol.md "Sync
 * session messages"): one codec, no state, no I/O.
 *
 * After the handshake, a connection carries runs. A run is a strict
 * alternation of SYNC messages begun by the side that dialled (the
 * initiator): every message but the last gets exactly one reply. A run
 * carries, in any message, any of:
 *
 *   - the file-level reconciliation (proto/recon.h) over the files in
 *     scope, items (0, file id || first 16 bytes of H(count || sum));
 *   - sections, one per (file, what): a per-file op reconciliation
 *     message, a claim of a file's state, a per-author seq vector, a want
 *     list, an out-of-scope notice;
 *   - op envelopes (crdt/op.h), in an order the receiver ingests as a
 *     batch.
 *
 *   SYNC  = [1, run u32, n u32, flags u8, digest bin(0|32), frecon bin,
 *            [section...], [envelope bin(1..PROTO_SYNC_ENV_MAX)...]]
 *   NUDGE = [2]   (responder: "I have news, start a run")
 *
 *   section = [file bin(16), what u8, ...]
 *     RECON  [file, 1, msg bin(1..)]         a proto/recon message
 *     FAST   [file, 2, count u64, sum bin32] the envelopes of this file in
 *                                            this and earlier messages of
 *                                            the run are what it lacked
 *                                            since we last agreed; after
 *                                            them my state is (count, sum)
 *     VV     [file, 3, [[author bin32, seq u64]...]]
 *                                            my highest seq of each author
 *                                            in the file (0 to
 *                                            PROTO_SYNC_VV_MAX, authors
 *                                            strictly ascending, seq >= 1):
 *                                            send me the ops above it
 *     WANT   [file, 4, [id bin32...]]        send me these ops (1 to
 *                                            PROTO_SYNC_WANT_MAX ids)
 *     OUT    [file, 5]                       not in my scope for you: stop
 *
 * `n` counts the messages of a run from 0, across both sides (the
 * initiator's are even): a duplicated, dropped or reordered message is
 * BT_ESEQ (the session's check, not the codec's). The digest is empty
 * unless FAST is set; frecon is empty when the message carries no
 * file-level reconciliation. "One per (file, what)" is the session's rule:
 * the codec does not check that the pairs are distinct. Decoding
 * checks sizes against the limits below before anything is allocated, and
 * the canonical (shortest, msgpack-c's packer) encoding is the only one
 * accepted. No globals: any thread may call; an encoder or a decoded
 * message belongs to one thread at a time. */
#ifndef BT_PROTO_SYNC_H
#define BT_PROTO_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"

#define PROTO_SYNC_VERSION 1
#define PROTO_SYNC_CAP "sync1"  /* the handshake capability */

enum { PROTO_SYNC_MSG = 1, PROTO_SYNC_NUDGE = 2 };

/* flags */
#define PROTO_SYNC_START 0x01    /* first message of a run: set iff n == 0 */
#define PROTO_SYNC_FAST 0x02     /* set iff digest holds the remembered state's digest */
#define PROTO_SYNC_IDLE 0x04     /* the sender has nothing left to send */
#define PROTO_SYNC_END 0x08      /* the run is over; no reply */
#define PROTO_SYNC_FALLBACK 0x10 /* the digest did not match: no fast path */
#define PROTO_SYNC_FLAGS 0x1f

enum {
  PROTO_SYNC_S_RECON = 1,
  PROTO_SYNC_S_FAST = 2,
  PROTO_SYNC_S_VV = 3,
  PROTO_SYNC_S_WANT = 4,
  PROTO_SYNC_S_OUT = 5,
};

#define PROTO_SYNC_DIGEST_LEN 32
#define PROTO_SYNC_SECTIONS_MAX 8192
#define PROTO_SYNC_WANT_MAX 1024
#define PROTO_SYNC_VV_MAX 256 /* authors in one VV section */
#define PROTO_SYNC_ENVS_MAX 65536
#define PROTO_SYNC_ENV_MAX ((size_t)1 << 20) /* one envelope */

/* One author's highest sequence number in a file. */
typedef struct {
  uint8_t author[CRDT_PK_LEN];
  uint64_t seq;
} proto_sync_vv;

typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint8_t what;          /* PROTO_SYNC_S_* */
  bt_bytes recon;        /* RECON: borrowed from the message */
  uint64_t count;        /* FAST */
  uint8_t sum[32];       /* FAST */
  const uint8_t *ids;    /* WANT: nids * 32 bytes; decoded: owned by the
                            message (the wire puts a bin header before each
                            id), freed by proto_sync_msg_free */
  size_t nids;
  const proto_sync_vv *vv; /* VV: authors strictly ascending, seq >= 1; decoded:
                              owned by the message, like ids */
  size_t nvv;
} proto_sync_section;

typedef struct {
  uint32_t run, n;
  uint8_t flags;
  int has_digest;
  uint8_t digest[PROTO_SYNC_DIGEST_LEN];
  bt_bytes frecon;       /* borrowed; len 0 (p NULL): none */
  proto_sync_section *sections; /* owned by the decoder's caller: proto_sync_msg_free */
  size_t nsections;
  bt_bytes *envs;        /* borrowed bytes, owned array */
  size_t nenvs;
} proto_sync_msg;

/* Decodes one message m[0..len) (already walked by the transport, but
 * decoding does not rely on it). Kind SYNC: *kind = 1 and *msg filled (free
 * it with proto_sync_msg_free); kind NUDGE: *kind = 2 and msg untouched.
 * Errors, with nothing written: BT_ETRUNC/BT_ETYPE/BT_EDEPTH/BT_ETRAILING
 * (the msgpack walk, checked first; BT_ETYPE also for a field of the wrong
 * type, including a negative integer), BT_ETOOBIG (more than
 * PROTO_SYNC_SECTIONS_MAX sections, PROTO_SYNC_WANT_MAX ids in a WANT or
 * PROTO_SYNC_ENVS_MAX envelopes, an envelope above PROTO_SYNC_ENV_MAX),
 * BT_EPROTO (an unknown kind, flag, section type or field count, run or n
 * above 2^32-1, a file, id, sum or digest of another size, a digest
 * without FAST or FAST without a digest, START with n != 0 or n == 0
 * without START, an empty RECON msg, WANT list or envelope), BT_ENOMEM;
 * these in the order the fields are read. Then BT_ENONCANON for any
 * encoding but the canonical one. Borrowed fields point into m. */
int proto_sync_decode(const uint8_t *m, size_t len, int *kind, proto_sync_msg *msg);
/* Frees what a decoded SYNC owns and zeroes its arrays; NULL is a no-op. */
void proto_sync_msg_free(proto_sync_msg *msg);

/* Encoding: an encoder writes into a growing buffer and tracks its size so
 * the caller can keep a message under its budget. */
typedef struct proto_sync_enc proto_sync_enc;

/* Starts a SYNC message. digest (PROTO_SYNC_DIGEST_LEN bytes, copied) may
 * be NULL. frecon may be {NULL, 0}; it is copied. Errors: BT_EINVAL (flags
 * outside PROTO_SYNC_FLAGS, frecon with a length and no bytes),
 * BT_ENOMEM. */
int proto_sync_enc_new(proto_sync_enc **out, uint32_t run, uint32_t n, uint8_t flags,
                       const uint8_t *digest, bt_bytes frecon);
void proto_sync_enc_free(proto_sync_enc *e); /* NULL is a no-op */
/* Adds a section (copied, ids included). Errors, leaving e unchanged:
 * BT_EINVAL (a section the decoder would refuse: unknown what, an empty
 * RECON msg or WANT list), BT_ETOOBIG (more than PROTO_SYNC_WANT_MAX ids,
 * or the message already holds PROTO_SYNC_SECTIONS_MAX sections),
 * BT_ENOMEM. */
int proto_sync_enc_section(proto_sync_enc *e, const proto_sync_section *s);
/* Adds an envelope (copied). Errors, leaving e unchanged: BT_EINVAL (len
 * 0), BT_ETOOBIG (len above PROTO_SYNC_ENV_MAX, or the message already
 * holds PROTO_SYNC_ENVS_MAX envelopes), BT_ENOMEM. */
int proto_sync_enc_env(proto_sync_enc *e, const uint8_t *p, size_t len);
/* Sets the flags (they are known last: IDLE). Checked by _finish. */
void proto_sync_enc_flags(proto_sync_enc *e, uint8_t flags);
/* Bytes the finished message will take, for budgeting: an upper bound at
 * most 8 bytes above the final size (both array headers counted at their
 * largest). It grows by exactly proto_sync_section_size(s) with each
 * section and by len plus 2, 3 or 5 (len below 256, 65536, or more) with
 * each envelope, so a message kept within a budget by this bound ends
 * within it. */
size_t proto_sync_enc_size(const proto_sync_enc *e);
/* Writes the finished message; *out is malloc'd, the caller frees it. e is
 * unchanged (free it with proto_sync_enc_free). Errors: BT_EINVAL (flags
 * the decoder would refuse: unknown bits, START without n == 0 or n == 0
 * without START, FAST without a digest or a digest without FAST),
 * BT_ENOMEM. */
int proto_sync_enc_finish(proto_sync_enc *e, uint8_t **out, size_t *len);

/* The NUDGE message (2 bytes). */
size_t proto_sync_nudge(uint8_t out[2]);

/* The byte cost of a section in a message, for budgeting: exactly the
 * bytes it takes on the wire (the sections array's header aside). */
size_t proto_sync_section_size(const proto_sync_section *s);

#endif
