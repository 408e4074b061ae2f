/* proto/stream.h: the transport after the handshake (docs/protocol.md
 * "Transport"): one crypto_secretstream_xchacha20poly1305 per direction.
 *
 * Each side's first frame is its 24-byte stream header; every later frame
 * is one sealed message. Both directions rekey after every rekey_every
 * messages, counted on both sides, so no message announces it. A stream
 * ends cleanly with a message tagged final; a byte stream that ends before
 * the peer's final message was cut (truncation), which proto_stream_closed
 * tells. Pure: the caller supplies the random header bytes. One connection,
 * one thread at a time. */
#ifndef BT_PROTO_STREAM_H
#define BT_PROTO_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_STREAM_HEADER 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define PROTO_STREAM_ABYTES 17 /* added to every message */
#define PROTO_REKEY_FRAMES 4096

typedef struct proto_stream proto_stream;

/* A stream from the handshake's keys (proto_hs_result send_key, recv_key;
 * copied into guarded memory). rnd: 24 fresh random bytes, which become
 * this side's header (proto_stream_header). rekey_every 0 means
 * PROTO_REKEY_FRAMES; both sides must use the same value. Errors:
 * BT_ENOMEM. */
int proto_stream_new(proto_stream **out, const uint8_t send_key[32], const uint8_t recv_key[32],
                     const uint8_t rnd[PROTO_STREAM_HEADER], uint32_t rekey_every);
void proto_stream_free(proto_stream *s); /* wipes; NULL is a no-op */

/* The header to send as this side's first frame: PROTO_STREAM_HEADER bytes,
 * valid until proto_stream_free. */
const uint8_t *proto_stream_header(const proto_stream *s);

/* Takes the peer's first frame, its header. Errors: BT_EPROTO (not
 * PROTO_STREAM_HEADER bytes, or a header was already taken). */
int proto_stream_accept(proto_stream *s, const uint8_t *hdr, size_t len);

/* Seals m[0..mlen) into out[0..cap) (mlen + PROTO_STREAM_ABYTES bytes),
 * tagged final when final is nonzero; after that the stream seals nothing
 * more. Errors: BT_ETOOBIG (cap too small), BT_EPROTO (after final). */
int proto_stream_seal(proto_stream *s, const uint8_t *m, size_t mlen, int final, uint8_t *out,
                      size_t cap, size_t *olen);

/* Opens the peer's next message c[0..clen) into out[0..cap) (clen -
 * PROTO_STREAM_ABYTES bytes) and sets *final when it was the last.
 * Errors: BT_EDECRYPT (tampered, reordered, replayed, dropped before, or
 * not from this session; the stream is unchanged and the next genuine
 * message still opens), BT_ETRUNC (shorter than PROTO_STREAM_ABYTES),
 * BT_ETOOBIG (cap too small), BT_EPROTO (before the peer's header, after
 * its final message, or an authentic message with a tag this protocol does
 * not use, which ends the stream). */
int proto_stream_open(proto_stream *s, const uint8_t *c, size_t clen, uint8_t *out, size_t cap,
                      size_t *olen, int *final);

/* 1 once the peer's final message has been opened: the stream was closed,
 * not cut. */
int proto_stream_closed(const proto_stream *s);

#endif
