/* tests/fuzz/fuzz_frame.c: libFuzzer harness for the frame decoder.
 *
 * Input: byte 0 picks the maximum (64 bytes, 4 KiB, 64 KiB or the
 * default), bytes 1-2 seed the split points, the rest is what a peer sent.
 * The stream is decoded twice, in one piece and cut into chunks of 1..64
 * bytes (sometimes larger); both runs must yield the same frames and end
 * in the same state or error. Besides sanitizer reports it aborts when a
 * frame of length 0 or above the maximum comes out, when the decoder holds
 * more than one frame, or when a frame's payload the msgpack pre-walk
 * accepted does not unpack. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  crypto_generichash_state h; /* over (length || payload) of every frame */
  size_t frames;
  int rc, idle;
} outcome;

static uint32_t next(uint32_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void check_frame(bt_bytes f, size_t max, outcome *o)
{
  uint8_t len[8];
  msgpack_zone z;
  msgpack_object obj;

  if (f.len == 0 || f.len > max)
    abort();
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)f.len >> (8 * i));
  crypto_generichash_update(&o->h, len, sizeof len);
  crypto_generichash_update(&o->h, f.p, f.len);
  o->frames++;
  if (!msgpack_zone_init(&z, 256))
    abort();
  (void)proto_frame_unpack(f.p, f.len, &z, &obj);
  msgpack_zone_destroy(&z);
}

/* seed 0: one piece. */
static void decode(const uint8_t *p, size_t len, size_t max, uint32_t seed, outcome *o)
{
  proto_frame_dec *d;
  size_t pos = 0;

  crypto_generichash_init(&o->h, NULL, 0, 32);
  o->frames = 0;
  o->rc = BT_OK;
  if (proto_frame_dec_new(&d, max) != BT_OK)
    abort();
  while (pos < len && o->rc == BT_OK) {
    size_t n = len - pos, used = 0, off = 0;

    if (seed) {
      uint32_t r = next(&seed);
      size_t want = (r & 0xff) == 0 ? 1 + (r >> 8) % 70000 : 1 + (r >> 8) % 64;
      n = want < n ? want : n;
    }
    /* An exact-size copy of the chunk, so ASan sees any overread. */
    uint8_t *chunk = malloc(n);
    memcpy(chunk, p + pos, n);
    while (off < n) {
      bt_bytes f;

      if ((o->rc = proto_frame_dec_feed(d, chunk + off, n - off, &used, &f)) != BT_OK)
        break;
      if (used == 0 || used > n - off)
        abort();
      off += used;
      if (proto_frame_dec_pending(d) > PROTO_FRAME_HDR + max)
        abort();
      if (f.p)
        check_frame(f, max, o);
      else if (off != n)
        abort();
    }
    free(chunk);
    pos += n;
  }
  o->idle = proto_frame_dec_idle(d);
  proto_frame_dec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const size_t maxes[] = {64, 4096, 65536, PROTO_FRAME_MAX_DEFAULT};
  uint8_t a[32], b[32];
  outcome one, cut;
  size_t max;
  uint32_t seed;

  if (size < 3)
    return 0;
  if (sodium_init() < 0)
    abort();
  max = maxes[data[0] & 3];
  seed = (uint32_t)data[1] << 8 | data[2] | 0x10000u; /* never 0 */
  decode(data + 3, size - 3, max, 0, &one);
  decode(data + 3, size - 3, max, seed, &cut);
  crypto_generichash_final(&one.h, a, sizeof a);
  crypto_generichash_final(&cut.h, b, sizeof b);
  if (one.frames != cut.frames || one.rc != cut.rc || one.idle != cut.idle ||
      memcmp(a, b, sizeof a) != 0)
    abort();
  return 0;
}
