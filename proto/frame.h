/* proto/frame.h: length-prefixed frames (docs/protocol.md "Framing").
 *
 *   frame = length (u32, big-endian) || payload (length bytes)
 *   1 <= length <= max
 *
 * The decoder is incremental: it takes whatever the socket gave, split
 * anywhere, and yields whole frames one at a time. It holds at most one
 * frame: a length of 0 or above its maximum is refused as soon as the four
 * length bytes are in, before any payload byte is buffered. Pure: no I/O,
 * no globals. A decoder belongs to one connection and one thread at a time. */
#ifndef BT_PROTO_FRAME_H
#define BT_PROTO_FRAME_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"

#define PROTO_FRAME_HDR 4
#define PROTO_FRAME_MAX_DEFAULT ((size_t)4 << 20) /* 4 MiB */
#define PROTO_FRAME_MAX_CAP ((size_t)64 << 20)    /* no setting goes above */

/* Nesting allowed in any msgpack payload (proto_frame_unpack). */
#define PROTO_MP_DEPTH 16

typedef struct proto_frame_dec proto_frame_dec;

/* A decoder accepting payloads of 1..max bytes; max 0 means
 * PROTO_FRAME_MAX_DEFAULT. Errors: BT_EINVAL (max above
 * PROTO_FRAME_MAX_CAP), BT_ENOMEM. */
int proto_frame_dec_new(proto_frame_dec **out, size_t max);
void proto_frame_dec_free(proto_frame_dec *d); /* NULL is a no-op */

/* Changes the maximum for every frame whose length is not yet read (a node
 * lowers it during the handshake). Same rules and errors as _new. */
int proto_frame_dec_set_max(proto_frame_dec *d, size_t max);

/* Consumes bytes of p[0..len) up to the end of the next whole frame.
 *
 * Sets *used to the bytes consumed and *frame to the frame's payload, or to
 * {NULL, 0} when the bytes ran out first (then *used == len). Call again
 * with p + *used until the input is used up. The payload is borrowed: it
 * lives until the next call on d, and may point into p (when the frame
 * arrived whole), so p must stay valid as long.
 *
 * Errors: BT_EPROTO (a length of 0), BT_ETOOBIG (a length above the
 * maximum), BT_ENOMEM. An error ends the stream: d keeps no payload and
 * returns the same error from then on; *used and *frame are not written. */
int proto_frame_dec_feed(proto_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
                         bt_bytes *frame);

/* 1 when no part of a frame is pending, so the byte stream may end here;
 * 0 when it would end mid-frame (a cut connection) or after an error. */
int proto_frame_dec_idle(const proto_frame_dec *d);

/* Bytes of the pending frame held by d (length bytes included): at most
 * PROTO_FRAME_HDR + max. For tests and accounting. */
size_t proto_frame_dec_pending(const proto_frame_dec *d);

/* The four length bytes for a payload of len bytes. Errors: BT_EPROTO
 * (len 0), BT_ETOOBIG (len above max; max 0 means the default), BT_EINVAL
 * (max above PROTO_FRAME_MAX_CAP). */
int proto_frame_header(size_t len, size_t max, uint8_t hdr[PROTO_FRAME_HDR]);

/* Writes header and payload to out[0..cap) and sets *olen. Errors: those of
 * proto_frame_header, BT_ETOOBIG when cap < PROTO_FRAME_HDR + len. */
int proto_frame_encode(const void *payload, size_t len, size_t max, uint8_t *out, size_t cap,
                       size_t *olen);

/* Unpacks one msgpack payload from a peer: first walks it with
 * crdt_mp_walk, which checks every declared array, map, str and bin size
 * against the bytes that remain (msgpack-c reserves memory from declared
 * counts) and refuses floats, ext and nesting beyond PROTO_MP_DEPTH; then
 * requires the payload to be exactly one object. Strings and binaries in
 * *obj point into p. Errors: BT_ETRUNC, BT_ETYPE, BT_EDEPTH, BT_ETRAILING,
 * BT_EPROTO, BT_ENOMEM. */
int proto_frame_unpack(const uint8_t *p, size_t len, msgpack_zone *zone, msgpack_object *obj);

#endif
