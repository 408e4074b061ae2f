/* proto/recon.h: range-based set reconciliation (docs/protocol.md
 * "Reconciliation"), as a state machine with no I/O.
 *
 * Two sides each hold a set of items, keys (ts, id) ordered by ts then id
 * bytewise, and learn the difference: the items each has that the other
 * lacks. Messages cover the key space with ranges; a range is skipped when
 * both sides agree, compared by fingerprint (a hash of the sum of its ids
 * and their count), split into 16 by count where fingerprints differ, and
 * listed outright once a side holds at most `threshold` items in it; the
 * other side answers a list with the items the list lacks and a bitmap of
 * the listed items it lacks itself. Both sides end with the same
 * difference, seen from each side (have, need).
 *
 *   initiator                                       responder
 *   proto_recon_start --- [1, ranges] -------------> proto_recon_recv
 *   proto_recon_recv  <-- [1, ranges] --------------
 *        ...           until a message has no fingerprint or list range:
 *                      its sender is done once it is sent, its receiver
 *                      once it is read (and sends nothing back)
 *
 * Every message fits the sender's byte budget: a reply that would not is
 * cut short, and one fingerprint over the rest of the key space takes the
 * place of what is left, to be continued in the next round.
 *
 * Pure: no I/O, no clock, no randomness, no globals. A session belongs to
 * one connection and one thread at a time. Every error a peer causes is
 * final: the session returns it from every later call and the caller ends
 * the exchange. */
#ifndef BT_PROTO_RECON_H
#define BT_PROTO_RECON_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"

#define PROTO_RECON_VERSION 1
#define PROTO_RECON_FP_LEN 16   /* fingerprint bytes */
#define PROTO_RECON_SPLIT 16    /* sub-ranges a differing range splits into */
/* No message is longer; a peer's longer message is BT_ETOOBIG. Sealed, it
 * fits the default frame (PROTO_FRAME_MAX_DEFAULT). */
#define PROTO_RECON_MSG_MAX ((size_t)1 << 20)
#define PROTO_RECON_BUDGET_MIN 4096
#define PROTO_RECON_BUDGET_DEFAULT ((size_t)512 << 10)
#define PROTO_RECON_THRESHOLD_DEFAULT 32
#define PROTO_RECON_LIST_MAX 1024    /* entries in one list or answer range */
#define PROTO_RECON_RANGES_MAX 16384 /* ranges in one message */
#define PROTO_RECON_ROUNDS_DEFAULT 64
#define PROTO_RECON_ROUNDS_CAP 65535
/* A list of t items fits a budget b when 40 t + PROTO_RECON_OVERHEAD <= b. */
#define PROTO_RECON_ENTRY_MAX 40
#define PROTO_RECON_OVERHEAD 256

/* One item: a coarse timestamp (the op's hour) and a 32-byte id. */
typedef struct {
  uint32_t ts;
  crdt_id id;
} proto_recon_item;

/* Zero fields take the defaults. */
typedef struct {
  /* Most bytes in any message this side sends: PROTO_RECON_BUDGET_MIN ..
   * PROTO_RECON_MSG_MAX (default PROTO_RECON_BUDGET_DEFAULT). */
  size_t budget;
  /* List a range once this side holds at most this many items in it:
   * 1 .. PROTO_RECON_LIST_MAX, and 40 * threshold + PROTO_RECON_OVERHEAD
   * <= budget (default PROTO_RECON_THRESHOLD_DEFAULT). The two sides need
   * not agree. */
  size_t threshold;
  /* Most messages this side accepts from the peer; one more is BT_EPROTO
   * (a peer that never converges). 1 .. PROTO_RECON_ROUNDS_CAP (default
   * PROTO_RECON_ROUNDS_DEFAULT). An honest exchange takes about
   * log16(n / threshold) + 3 messages, plus one per budget's worth of
   * listed items (41 bytes each) when the difference is large: raise this
   * for a first sync of a large set. */
  uint32_t max_rounds;
} proto_recon_opts;

typedef struct proto_recon proto_recon;

/* A session over items[0..n), which must be strictly ascending by (ts, id)
 * (so no duplicates). The items are borrowed: they must stay unchanged
 * until proto_recon_free. Builds prefix sums of the ids (32 bytes per
 * item) so any range's fingerprint costs O(1). o may be NULL (defaults).
 * Errors: BT_EINVAL (items unsorted, an option out of range), BT_ENOMEM. */
int proto_recon_new(proto_recon **out, int initiator, const proto_recon_item *items, size_t n,
                    const proto_recon_opts *o);
void proto_recon_free(proto_recon *r); /* NULL is a no-op */

/* Initiator: writes the first message to out[0..cap) and sets *olen: a
 * list of all its items when there are at most threshold of them, else
 * their fingerprint. Errors (not final; the session is unchanged):
 * BT_EINVAL (a responder, called twice, or cap below the budget),
 * BT_ENOMEM. */
int proto_recon_start(proto_recon *r, uint8_t *out, size_t cap, size_t *olen);

/* Takes the peer's next message p[0..len) and writes the reply to
 * out[0..cap), setting *olen to its length: 0 when there is nothing to
 * send (the peer's message ended the exchange). After each call
 * proto_recon_done tells whether this side is done; a side whose reply
 * ends the exchange is done once the call returns, and must still send it.
 *
 * Errors, all final: BT_ETOOBIG (len above PROTO_RECON_MSG_MAX, more than
 * PROTO_RECON_RANGES_MAX ranges, a list longer than PROTO_RECON_LIST_MAX,
 * a bound prefix over 32 bytes), BT_ETRUNC, BT_ETYPE, BT_EDEPTH,
 * BT_ETRAILING (the msgpack walk, wrong field types), BT_EVERSION (not
 * version 1), BT_ENONCANON (not the one encoding: msgpack not in shortest
 * form, a bound prefix ending in a zero byte, two skip ranges in a row, an
 * answer that says nothing), BT_EPROTO (anything else the peer got wrong:
 * array sizes, bounds not strictly ascending or not ending at infinity, an
 * unknown mode, a fingerprint or id of another size, a list entry outside
 * its range or out of order, an answer outside the ranges this side listed
 * or naming items this side holds or with a bitmap of the wrong size, or
 * the peer's message max_rounds + 1), BT_ENOMEM. BT_EINVAL when called out
 * of turn (before start, after done) or with cap below the budget (not
 * final: the session is unchanged). */
int proto_recon_recv(proto_recon *r, const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                     size_t *olen);

/* 1 once the exchange is complete. */
int proto_recon_done(const proto_recon *r);

/* The outcome, once done (BT_EINVAL before): have, the items of this side
 * the peer lacks; need, the peer's items this side lacks. Each ascending
 * by (ts, id), without repeats; owned by r, valid until proto_recon_free. */
int proto_recon_have(const proto_recon *r, const proto_recon_item **items, size_t *n);
int proto_recon_need(const proto_recon *r, const proto_recon_item **items, size_t *n);

/* Messages this side has received so far (what max_rounds caps). */
uint32_t proto_recon_rounds(const proto_recon *r);

/* The fingerprint of a set of `count` items whose ids sum to `sum`
 * (little-endian, mod 2^256; node_fingerprint's node_fp): BLAKE2b with a
 * 16-byte output over sum || count (u64, little-endian). */
void proto_recon_fingerprint(const uint8_t sum[32], uint64_t count,
                             uint8_t out[PROTO_RECON_FP_LEN]);

#endif
