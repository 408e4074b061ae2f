/* tests/proto/test_frame.c: framing and the msgpack pre-walk.
 *
 * The decoder must give the same frames however the socket splits the
 * bytes (every split point of a multi-frame stream, byte by byte, random
 * splits), judge a length the moment its four bytes are in (before any
 * payload is buffered), and hold at most one frame. Inputs are exact-size
 * heap copies so ASan sees any overread. */
#include "proto/frame.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/gen.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t *dup_bytes(const void *p, size_t len)
{
  uint8_t *d = malloc(len ? len : 1);

  cr_assert_not_null(d);
  if (len)
    memcpy(d, p, len);
  return d;
}

/* A stream of frames with payload lengths lens[], payload bytes from seed. */
typedef struct {
  uint8_t *bytes;
  size_t len;
  size_t nframes;
  size_t off[16], flen[16]; /* payload offsets in bytes */
} stream;

static void make_stream(stream *s, const size_t *lens, size_t n, uint64_t seed)
{
  gen_rng r;
  size_t total = 0, pos = 0, olen;

  cr_assert(n <= N(s->off));
  gen_seed(&r, seed);
  for (size_t i = 0; i < n; i++)
    total += PROTO_FRAME_HDR + lens[i];
  s->bytes = malloc(total);
  cr_assert_not_null(s->bytes);
  for (size_t i = 0; i < n; i++) {
    uint8_t *payload = malloc(lens[i]);

    gen_bytes(&r, payload, lens[i]);
    cr_assert_eq(proto_frame_encode(payload, lens[i], 0, s->bytes + pos, total - pos, &olen),
                 BT_OK);
    cr_assert_eq(olen, PROTO_FRAME_HDR + lens[i]);
    s->off[i] = pos + PROTO_FRAME_HDR;
    s->flen[i] = lens[i];
    pos += olen;
    free(payload);
  }
  s->len = total;
  s->nframes = n;
}

/* Feeds s in chunks cut at cuts[0..ncuts) (ascending) and checks that
 * exactly the frames of s come out, in order, and nothing more is held. */
static void feed_split(const stream *s, const size_t *cuts, size_t ncuts, size_t max,
                       const char *what)
{
  proto_frame_dec *d;
  size_t got = 0, start = 0;

  cr_assert_eq(proto_frame_dec_new(&d, max), BT_OK);
  for (size_t c = 0; c <= ncuts; c++) {
    size_t end = c < ncuts ? cuts[c] : s->len;
    uint8_t *chunk = dup_bytes(s->bytes + start, end - start);
    size_t pos = 0;

    while (pos < end - start) {
      bt_bytes f;
      size_t used;

      cr_assert_eq(proto_frame_dec_feed(d, chunk + pos, end - start - pos, &used, &f), BT_OK,
                   "%s", what);
      cr_assert(used > 0 && used <= end - start - pos, "%s", what);
      pos += used;
      cr_assert_leq(proto_frame_dec_pending(d), PROTO_FRAME_HDR + s->flen[got < s->nframes ? got : 0],
                    "%s: holds more than one frame", what);
      if (f.p == NULL) {
        cr_assert_eq(pos, end - start, "%s", what);
        continue;
      }
      cr_assert_lt(got, s->nframes, "%s: extra frame", what);
      cr_assert_eq(f.len, s->flen[got], "%s: frame %zu length", what, got);
      cr_assert_eq(memcmp(f.p, s->bytes + s->off[got], f.len), 0, "%s: frame %zu", what, got);
      got++;
    }
    free(chunk);
    start = end;
  }
  cr_assert_eq(got, s->nframes, "%s: frames", what);
  cr_assert(proto_frame_dec_idle(d), "%s", what);
  proto_frame_dec_free(d);
}

Test(proto_frame, every_split_point_yields_the_same_frames)
{
  static const size_t lens[] = {1, 5, 300, 2, 3000, 4};
  stream s;
  char what[64];

  make_stream(&s, lens, N(lens), 1);
  for (size_t k = 0; k <= s.len; k++) {
    snprintf(what, sizeof what, "split at %zu", k);
    feed_split(&s, &k, 1, 0, what);
  }
  free(s.bytes);
}

/* Frames above the 64 KiB the decoder keeps between frames, split so that
 * each is assembled in (and then releases) a buffer of its own. */
Test(proto_frame, large_frames_split_anywhere)
{
  static const size_t lens[] = {70000, 1, 200000, 5, 65537};
  size_t cuts[3];
  stream s;
  gen_rng r;
  char what[64];

  make_stream(&s, lens, N(lens), 5);
  gen_seed(&r, 5);
  for (int k = 0; k < 40; k++) {
    cuts[0] = 1 + gen_below(&r, s.len / 3);
    cuts[1] = cuts[0] + 1 + gen_below(&r, s.len / 3);
    cuts[2] = cuts[1] + 1 + gen_below(&r, s.len / 3);
    snprintf(what, sizeof what, "cuts %zu %zu %zu", cuts[0], cuts[1], cuts[2]);
    feed_split(&s, cuts, 3, 0, what);
  }
  free(s.bytes);
}

Test(proto_frame, byte_by_byte_and_random_splits)
{
  static const size_t lens[] = {3, 1, 17, 1000, 1, 64};
  stream s;
  size_t *cuts;
  char what[64];

  make_stream(&s, lens, N(lens), 2);
  cuts = malloc(s.len * sizeof(*cuts));
  for (size_t i = 0; i + 1 < s.len; i++)
    cuts[i] = i + 1;
  feed_split(&s, cuts, s.len - 1, 0, "byte by byte");
  for (uint64_t seed = 1; seed <= 300; seed++) {
    gen_rng r;
    size_t n = 0, at = 0;

    gen_seed(&r, seed);
    while ((at += 1 + gen_below(&r, 40)) < s.len)
      cuts[n++] = at;
    snprintf(what, sizeof what, "seed %" PRIu64, seed);
    feed_split(&s, cuts, n, 1000, what);
  }
  free(cuts);
  free(s.bytes);
}

Test(proto_frame, one_call_yields_one_frame_at_a_time)
{
  static const size_t lens[] = {10, 20, 30};
  stream s;
  proto_frame_dec *d;
  bt_bytes f;
  size_t used;

  make_stream(&s, lens, N(lens), 3);
  cr_assert_eq(proto_frame_dec_new(&d, 0), BT_OK);
  cr_assert_eq(proto_frame_dec_feed(d, s.bytes, s.len, &used, &f), BT_OK);
  cr_assert_eq(used, PROTO_FRAME_HDR + 10);
  cr_assert_eq(f.len, 10);
  cr_assert_eq(f.p, s.bytes + PROTO_FRAME_HDR, "a whole frame is handed out in place");
  cr_assert_eq(proto_frame_dec_pending(d), 0);
  proto_frame_dec_free(d);
  free(s.bytes);
}

/* Feeds hdr then one payload byte; the error must come with the header. */
static void refused(uint32_t length, size_t max, int want)
{
  uint8_t b[5] = {(uint8_t)(length >> 24), (uint8_t)(length >> 16), (uint8_t)(length >> 8),
                  (uint8_t)length, 0xAA};
  proto_frame_dec *d;
  bt_bytes f = {NULL, 0};
  size_t used = 99;

  cr_assert_eq(proto_frame_dec_new(&d, max), BT_OK);
  /* Three bytes: nothing to judge yet. */
  cr_assert_eq(proto_frame_dec_feed(d, b, 3, &used, &f), BT_OK);
  cr_assert_eq(used, 3);
  /* The fourth byte, with payload behind it: refused, nothing buffered. */
  cr_assert_eq(proto_frame_dec_feed(d, b + 3, 2, &used, &f), want, "length %" PRIu32, length);
  cr_assert_eq(used, 3, "outputs untouched on error");
  cr_assert_leq(proto_frame_dec_pending(d), PROTO_FRAME_HDR);
  cr_assert(!proto_frame_dec_idle(d));
  /* The error sticks: the stream is over. */
  cr_assert_eq(proto_frame_dec_feed(d, b + 4, 1, &used, &f), want);
  proto_frame_dec_free(d);
}

Test(proto_frame, zero_and_oversize_lengths_are_refused_before_buffering)
{
  refused(0, 0, BT_EPROTO);
  refused(PROTO_FRAME_MAX_DEFAULT + 1, 0, BT_ETOOBIG);
  refused(UINT32_MAX, 0, BT_ETOOBIG);
  refused((uint32_t)PROTO_FRAME_MAX_CAP, 0, BT_ETOOBIG);
  refused(101, 100, BT_ETOOBIG);
  refused(UINT32_MAX, PROTO_FRAME_MAX_CAP, BT_ETOOBIG);
}

Test(proto_frame, the_maximum_itself_is_accepted)
{
  static const size_t lens[] = {100};
  stream s;
  size_t cut = 50;

  make_stream(&s, lens, 1, 4);
  feed_split(&s, &cut, 1, 100, "at max");
  free(s.bytes);
}

Test(proto_frame, maximum_is_configurable_up_to_the_cap)
{
  proto_frame_dec *d = NULL;
  uint8_t hdr[PROTO_FRAME_HDR];
  uint8_t b[] = {0, 0, 0, 200, 1};
  bt_bytes f;
  size_t used;

  cr_assert_eq(proto_frame_dec_new(&d, PROTO_FRAME_MAX_CAP + 1), BT_EINVAL);
  cr_assert_null(d);
  cr_assert_eq(proto_frame_dec_new(&d, PROTO_FRAME_MAX_CAP), BT_OK);
  cr_assert_eq(proto_frame_dec_set_max(d, PROTO_FRAME_MAX_CAP + 1), BT_EINVAL);
  cr_assert_eq(proto_frame_dec_set_max(d, 100), BT_OK);
  cr_assert_eq(proto_frame_dec_feed(d, b, sizeof b, &used, &f), BT_ETOOBIG);
  proto_frame_dec_free(d);
  proto_frame_dec_free(NULL);

  cr_assert_eq(proto_frame_header(PROTO_FRAME_MAX_DEFAULT, 0, hdr), BT_OK);
  cr_assert_eq(proto_frame_header(PROTO_FRAME_MAX_DEFAULT + 1, 0, hdr), BT_ETOOBIG);
  cr_assert_eq(proto_frame_header(PROTO_FRAME_MAX_DEFAULT + 1, PROTO_FRAME_MAX_CAP, hdr), BT_OK);
  cr_assert_eq(proto_frame_header(1, PROTO_FRAME_MAX_CAP + 1, hdr), BT_EINVAL);
  cr_assert_eq(proto_frame_header(0, 0, hdr), BT_EPROTO);
}

Test(proto_frame, encoder_checks_its_buffer)
{
  uint8_t out[8], p[5] = {1, 2, 3, 4, 5};
  size_t olen = 0;

  cr_assert_eq(proto_frame_encode(p, 5, 0, out, 8, &olen), BT_ETOOBIG);
  cr_assert_eq(proto_frame_encode(p, 4, 0, out, 8, &olen), BT_OK);
  cr_assert_eq(olen, 8);
  cr_assert_eq(memcmp(out, "\x00\x00\x00\x04\x01\x02\x03\x04", 8), 0);
  cr_assert_eq(proto_frame_encode(p, 0, 0, out, 8, &olen), BT_EPROTO);
  cr_assert_eq(proto_frame_encode(p, 5, 4, out, 8, &olen), BT_ETOOBIG);
}

Test(proto_frame, a_cut_stream_is_not_idle)
{
  static const uint8_t b[] = {0, 0, 0, 3, 'a', 'b'};
  proto_frame_dec *d;
  bt_bytes f;
  size_t used;

  cr_assert_eq(proto_frame_dec_new(&d, 0), BT_OK);
  cr_assert(proto_frame_dec_idle(d));
  cr_assert_eq(proto_frame_dec_feed(d, b, 2, &used, &f), BT_OK);
  cr_assert(!proto_frame_dec_idle(d), "cut inside the length");
  cr_assert_eq(proto_frame_dec_feed(d, b + 2, 4, &used, &f), BT_OK);
  cr_assert_null(f.p);
  cr_assert_eq(proto_frame_dec_pending(d), 6);
  cr_assert(!proto_frame_dec_idle(d), "cut inside the payload");
  cr_assert_eq(proto_frame_dec_feed(d, (const uint8_t *)"c", 1, &used, &f), BT_OK);
  cr_assert_eq(f.len, 3);
  cr_assert_eq(memcmp(f.p, "abc", 3), 0);
  cr_assert(proto_frame_dec_idle(d));
  proto_frame_dec_free(d);
}

/* A frame of a few bytes that declares a huge container must be refused by
 * the walk, before msgpack-c reserves anything: the zone stays untouched. */
static void refused_before_unpack(const uint8_t *p, size_t len, int want, const char *what)
{
  uint8_t *d = dup_bytes(p, len);
  msgpack_zone z;
  msgpack_object o;
  size_t free_before;
  char *ptr_before;

  cr_assert(msgpack_zone_init(&z, 64));
  free_before = z.chunk_list.free;
  ptr_before = z.chunk_list.ptr;
  cr_assert_eq(proto_frame_unpack(d, len, &z, &o), want, "%s", what);
  cr_assert_eq(z.chunk_list.free, free_before, "%s: msgpack-c allocated", what);
  cr_assert_eq(z.chunk_list.ptr, ptr_before, "%s: msgpack-c allocated", what);
  msgpack_zone_destroy(&z);
  free(d);
}

Test(proto_frame, huge_declared_counts_are_refused_before_unpacking)
{
  static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
  static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02};
  static const uint8_t arr16[] = {0x92, 0x01, 0xdc, 0xff, 0xff, 0x01, 0x02, 0x03};
  static const uint8_t bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xf0, 0x00};
  static const uint8_t str32[] = {0xdb, 0x00, 0x10, 0x00, 0x00, 'a'};
  static const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
                                 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01};
  static const uint8_t flt[] = {0xca, 0, 0, 0, 0};
  static const uint8_t trail[] = {0x01, 0x02};
  uint8_t frame[16];
  size_t olen;
  proto_frame_dec *d;
  bt_bytes f;

  /* Through the decoder: the frame itself is fine, its content is not. */
  cr_assert_eq(proto_frame_encode(arr32, sizeof arr32, 0, frame, sizeof frame, &olen), BT_OK);
  cr_assert_eq(proto_frame_dec_new(&d, 0), BT_OK);
  cr_assert_eq(proto_frame_dec_feed(d, frame, olen, &olen, &f), BT_OK);
  refused_before_unpack(f.p, f.len, BT_ETRUNC, "array32 of 2^32-1 in a frame");
  proto_frame_dec_free(d);

  refused_before_unpack(map32, sizeof map32, BT_ETRUNC, "map32");
  refused_before_unpack(arr16, sizeof arr16, BT_ETRUNC, "nested array16");
  refused_before_unpack(bin32, sizeof bin32, BT_ETRUNC, "bin32");
  refused_before_unpack(str32, sizeof str32, BT_ETRUNC, "str32");
  refused_before_unpack(deep, sizeof deep, BT_EDEPTH, "17 levels");
  refused_before_unpack(flt, sizeof flt, BT_ETYPE, "float");
  refused_before_unpack(trail, sizeof trail, BT_ETRAILING, "two objects");
  refused_before_unpack(trail, 0, BT_ETRUNC, "empty");
}

Test(proto_frame, valid_payloads_unpack)
{
  static const uint8_t ok[] = {0x93, 0x01, 0xa2, 'h', 'i', 0xc4, 0x01, 0x00};
  uint8_t *d = dup_bytes(ok, sizeof ok);
  msgpack_zone z;
  msgpack_object o;

  cr_assert(msgpack_zone_init(&z, 64));
  cr_assert_eq(proto_frame_unpack(d, sizeof ok, &z, &o), BT_OK);
  cr_assert_eq(o.type, MSGPACK_OBJECT_ARRAY);
  cr_assert_eq(o.via.array.size, 3);
  cr_assert_eq((const uint8_t *)o.via.array.ptr[1].via.str.ptr, d + 3, "zero copy");
  msgpack_zone_destroy(&z);
  free(d);
}
