/* proto/stream.c: secretstream in both directions, with counted rekeying.
 *
 * crypto_secretstream_xchacha20poly1305_init_push draws its header from
 * randombytes_buf. This layer takes no randomness of its own, so the push
 * state is built with init_pull over the caller's random header instead:
 * both functions derive the state from (key, header) in the same way (the
 * tests check this against init_push), and the peer's init_pull over the
 * same header yields the matching state.
 *
 * Every message is sealed with TAG_MESSAGE, or TAG_FINAL to close. The
 * peer may also use TAG_REKEY (libsodium then rekeys itself); TAG_PUSH, or
 * any other tag byte, has no meaning here and ends the stream. After each direction's
 * rekey_every-th, 2*rekey_every-th, ... message both ends call
 * crypto_secretstream_xchacha20poly1305_rekey, so keys change without
 * a message saying so. All state sits in one sodium_malloc'd block. */
#include "stream.h"

#include <sodium.h>
#include <string.h>

#include "crdt/err.h"

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

struct proto_stream {
  ss_state tx, rx;
  uint8_t recv_key[32];
  uint8_t header[PROTO_STREAM_HEADER];
  uint64_t sent, opened;
  uint32_t rekey_every;
  int have_header, sent_final, got_final, dead;
};

int proto_stream_new(proto_stream **out, const uint8_t send_key[32], const uint8_t recv_key[32],
                     const uint8_t rnd[PROTO_STREAM_HEADER], uint32_t rekey_every)
{
  proto_stream *s;

  if ((s = sodium_malloc(sizeof(*s))) == NULL)
    return BT_ENOMEM;
  memset(s, 0, sizeof(*s));
  memcpy(s->header, rnd, PROTO_STREAM_HEADER);
  crypto_secretstream_xchacha20poly1305_init_pull(&s->tx, s->header, send_key);
  memcpy(s->recv_key, recv_key, sizeof s->recv_key);
  s->rekey_every = rekey_every ? rekey_every : PROTO_REKEY_FRAMES;
  *out = s;
  return BT_OK;
}

void proto_stream_free(proto_stream *s)
{
  if (s)
    sodium_free(s); /* wipes */
}

const uint8_t *proto_stream_header(const proto_stream *s)
{
  return s->header;
}

int proto_stream_accept(proto_stream *s, const uint8_t *hdr, size_t len)
{
  if (s->have_header || len != PROTO_STREAM_HEADER)
    return BT_EPROTO;
  crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, hdr, s->recv_key);
  sodium_memzero(s->recv_key, sizeof s->recv_key);
  s->have_header = 1;
  return BT_OK;
}

int proto_stream_seal(proto_stream *s, const uint8_t *m, size_t mlen, int final, uint8_t *out,
                      size_t cap, size_t *olen)
{
  uint8_t tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                      : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  unsigned long long n;

  if (s->sent_final)
    return BT_EPROTO;
  if (cap < PROTO_STREAM_ABYTES || cap - PROTO_STREAM_ABYTES < mlen)
    return BT_ETOOBIG;
  crypto_secretstream_xchacha20poly1305_push(&s->tx, out, &n, m, mlen, NULL, 0, tag);
  if (++s->sent % s->rekey_every == 0)
    crypto_secretstream_xchacha20poly1305_rekey(&s->tx);
  s->sent_final = final != 0;
  *olen = (size_t)n;
  return BT_OK;
}

int proto_stream_open(proto_stream *s, const uint8_t *c, size_t clen, uint8_t *out, size_t cap,
                      size_t *olen, int *final)
{
  unsigned long long n;
  uint8_t tag;

  if (!s->have_header || s->got_final || s->dead)
    return BT_EPROTO;
  if (clen < PROTO_STREAM_ABYTES)
    return BT_ETRUNC;
  if (cap < clen - PROTO_STREAM_ABYTES)
    return BT_ETOOBIG;
  /* On failure libsodium leaves the state as it was. */
  if (crypto_secretstream_xchacha20poly1305_pull(&s->rx, out, &n, &tag, c, clen, NULL, 0) != 0)
    return BT_EDECRYPT;
  if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_REKEY &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    sodium_memzero(out, (size_t)n);
    s->dead = 1;
    return BT_EPROTO;
  }
  if (++s->opened % s->rekey_every == 0)
    crypto_secretstream_xchacha20poly1305_rekey(&s->rx);
  s->got_final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  *olen = (size_t)n;
  *final = s->got_final;
  return BT_OK;
}

int proto_stream_closed(const proto_stream *s)
{
  return s->got_final;
}
