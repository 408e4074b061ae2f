/* tests/proto/test_stream.c: the secretstream transport.
 *
 * Messages round trip in both directions; tampering, reordering, dropping,
 * replaying and cutting are all detected, and a failed open changes
 * nothing; both ends rekey in step (checked against a raw libsodium stream
 * that does not rekey, which must fail on the first message after each
 * rekey); the final tag closes the stream. The handshake's keys drive a
 * stream end to end. */
#include "proto/stream.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/gen.h"
#include "proto/fixture.h"
#include "proto/handshake.h"

#define MAXM 600

static void setup(void)
{
  cr_assert(sodium_init() >= 0);
}

TestSuite(proto_stream, .init = setup);

static const uint8_t KA[32] = "key from alice to bob, 32 bytes";
static const uint8_t KB[32] = "key from bob to alice, 32 bytes";

/* Alice and Bob, headers exchanged. */
static void pair(proto_stream **a, proto_stream **b, uint32_t rekey)
{
  uint8_t ra[PROTO_STREAM_HEADER], rb[PROTO_STREAM_HEADER];

  memset(ra, 0xa5, sizeof ra);
  memset(rb, 0x5a, sizeof rb);
  cr_assert_eq(proto_stream_new(a, KA, KB, ra, rekey), BT_OK);
  cr_assert_eq(proto_stream_new(b, KB, KA, rb, rekey), BT_OK);
  cr_assert_eq(memcmp(proto_stream_header(*a), ra, sizeof ra), 0);
  cr_assert_eq(proto_stream_accept(*a, proto_stream_header(*b), PROTO_STREAM_HEADER), BT_OK);
  cr_assert_eq(proto_stream_accept(*b, proto_stream_header(*a), PROTO_STREAM_HEADER), BT_OK);
}

typedef struct {
  uint8_t c[MAXM + PROTO_STREAM_ABYTES];
  size_t len;
} sealed;

static void seal(proto_stream *s, const void *m, size_t len, int final, sealed *out)
{
  cr_assert_eq(proto_stream_seal(s, m, len, final, out->c, sizeof out->c, &out->len), BT_OK);
  cr_assert_eq(out->len, len + PROTO_STREAM_ABYTES);
}

static void open_ok(proto_stream *s, const sealed *c, const void *want, size_t wlen,
                    int want_final)
{
  uint8_t m[MAXM];
  size_t n;
  int fin = -1;
  int rc = proto_stream_open(s, c->c, c->len, m, sizeof m, &n, &fin);

  cr_assert_eq(rc, BT_OK, "%s", bt_errname(rc));
  cr_assert_eq(n, wlen);
  cr_assert_eq(memcmp(m, want, wlen), 0);
  cr_assert_eq(fin, want_final);
}

static int open_rc(proto_stream *s, const uint8_t *c, size_t len)
{
  uint8_t m[MAXM];
  size_t n;
  int fin;

  return proto_stream_open(s, c, len, m, sizeof m, &n, &fin);
}

Test(proto_stream, messages_round_trip_both_ways)
{
  proto_stream *a, *b;
  uint8_t m[MAXM];
  sealed c;
  gen_rng r;

  pair(&a, &b, 0);
  gen_seed(&r, 1);
  for (int k = 0; k < 200; k++) {
    size_t len = gen_below(&r, MAXM + 1);

    gen_bytes(&r, m, len);
    seal(k % 3 ? a : b, m, len, 0, &c);
    open_ok(k % 3 ? b : a, &c, m, len, 0);
  }
  cr_assert(!proto_stream_closed(a) && !proto_stream_closed(b));
  proto_stream_free(a);
  proto_stream_free(b);
  proto_stream_free(NULL);
}

Test(proto_stream, every_bit_flip_is_detected_and_changes_nothing)
{
  proto_stream *a, *b;
  sealed c;

  pair(&a, &b, 0);
  seal(a, "case file op batch", 18, 0, &c);
  for (size_t i = 0; i < c.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      c.c[i] ^= (uint8_t)(1 << bit);
      cr_assert_eq(open_rc(b, c.c, c.len), BT_EDECRYPT, "byte %zu bit %d", i, bit);
      c.c[i] ^= (uint8_t)(1 << bit);
    }
  open_ok(b, &c, "case file op batch", 18, 0);
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, reordering_dropping_and_replaying_are_detected)
{
  proto_stream *a, *b;
  sealed c1, c2, c3;

  pair(&a, &b, 0);
  seal(a, "one", 3, 0, &c1);
  seal(a, "two", 3, 0, &c2);
  seal(a, "three", 5, 0, &c3);
  cr_assert_eq(open_rc(b, c2.c, c2.len), BT_EDECRYPT, "second before first");
  cr_assert_eq(open_rc(b, c3.c, c3.len), BT_EDECRYPT, "third before first");
  open_ok(b, &c1, "one", 3, 0);
  cr_assert_eq(open_rc(b, c1.c, c1.len), BT_EDECRYPT, "replay");
  cr_assert_eq(open_rc(b, c3.c, c3.len), BT_EDECRYPT, "second dropped");
  open_ok(b, &c2, "two", 3, 0);
  open_ok(b, &c3, "three", 5, 0);
  /* Alice's own message does not open as Bob's (one key per direction). */
  seal(b, "from bob", 8, 0, &c1);
  cr_assert_eq(open_rc(b, c1.c, c1.len), BT_EDECRYPT, "reflected");
  open_ok(a, &c1, "from bob", 8, 0);
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, truncation_is_detected)
{
  proto_stream *a, *b;
  sealed c;

  pair(&a, &b, 0);
  seal(a, "a message of some length", 25, 0, &c);
  for (size_t k = 0; k < c.len; k++) {
    uint8_t *cut = malloc(k ? k : 1);

    memcpy(cut, c.c, k);
    cr_assert_eq(open_rc(b, cut, k), k < PROTO_STREAM_ABYTES ? BT_ETRUNC : BT_EDECRYPT,
                 "cut at %zu", k);
    free(cut);
  }
  open_ok(b, &c, "a message of some length", 25, 0);
  /* A byte stream that ends here was cut, not closed. */
  cr_assert(!proto_stream_closed(b));
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, final_tag_closes_cleanly)
{
  proto_stream *a, *b;
  uint8_t out[64];
  size_t n;
  sealed c, last;

  pair(&a, &b, 0);
  seal(a, "bye", 3, 1, &last);
  cr_assert_eq(proto_stream_seal(a, (const uint8_t *)"x", 1, 0, out, sizeof out, &n), BT_EPROTO,
               "nothing after final");
  cr_assert(!proto_stream_closed(b));
  open_ok(b, &last, "bye", 3, 1);
  cr_assert(proto_stream_closed(b));
  cr_assert_eq(open_rc(b, last.c, last.len), BT_EPROTO, "nothing opens after final");
  /* The other direction is still open until Bob closes it. */
  seal(b, "ok", 2, 0, &c);
  open_ok(a, &c, "ok", 2, 0);
  seal(b, "", 0, 1, &c);
  open_ok(a, &c, "", 0, 1);
  cr_assert(proto_stream_closed(a));
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, both_ends_rekey_in_step)
{
  enum { R = 7, MSGS = 2 * R + 9 }; /* well past two rekeys */
  crypto_secretstream_xchacha20poly1305_state raw;
  proto_stream *a, *b, *late;
  uint8_t m[64], pt[64], rb[PROTO_STREAM_HEADER];
  unsigned long long n;
  uint8_t tag;
  sealed c[MSGS];

  pair(&a, &b, R);
  memset(rb, 0x33, sizeof rb);
  cr_assert_eq(proto_stream_new(&late, KB, KA, rb, R + 1), BT_OK);
  cr_assert_eq(proto_stream_accept(late, proto_stream_header(a), PROTO_STREAM_HEADER), BT_OK);
  crypto_secretstream_xchacha20poly1305_init_pull(&raw, proto_stream_header(a), KA);
  for (int k = 0; k < MSGS; k++) {
    int rc;

    memset(m, k, sizeof m);
    seal(a, m, sizeof m, 0, &c[k]);
    open_ok(b, &c[k], m, sizeof m, 0);
    /* A plain stream that never rekeys keeps up only until the first
     * rekey: so the keys really changed after message R. */
    rc = crypto_secretstream_xchacha20poly1305_pull(&raw, pt, &n, &tag, c[k].c, c[k].len, NULL,
                                                    0);
    if (k < R)
      cr_assert_eq(rc, 0, "message %d", k);
    else if (k == R)
      cr_assert_eq(rc, -1, "message %d opened without the rekey", k);
    /* A receiver counting to R + 1 falls out of step at the same point. */
    rc = open_rc(late, c[k].c, c[k].len);
    if (k < R)
      cr_assert_eq(rc, BT_OK, "message %d", k);
    else if (k == R)
      cr_assert_eq(rc, BT_EDECRYPT, "message %d", k);
  }
  proto_stream_free(a);
  proto_stream_free(b);
  proto_stream_free(late);
}

Test(proto_stream, push_state_from_the_callers_header_equals_init_push)
{
  crypto_secretstream_xchacha20poly1305_state pushed, pulled;
  uint8_t hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];

  cr_assert_eq(PROTO_STREAM_HEADER, crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  cr_assert_eq(PROTO_STREAM_ABYTES, crypto_secretstream_xchacha20poly1305_ABYTES);
  for (int k = 0; k < 20; k++) {
    crypto_secretstream_xchacha20poly1305_init_push(&pushed, hdr, KA);
    crypto_secretstream_xchacha20poly1305_init_pull(&pulled, hdr, KA);
    cr_assert_eq(memcmp(&pushed, &pulled, sizeof pushed), 0);
  }
}

/* A peer that tags a message in a way this protocol does not use. */
Test(proto_stream, unused_tags_end_the_stream_and_rekey_tags_are_honoured)
{
  crypto_secretstream_xchacha20poly1305_state peer;
  proto_stream *a, *b;
  uint8_t c[64];
  unsigned long long n;

  pair(&a, &b, 0);
  /* Alice's sending state, driven by hand (same key and header). */
  crypto_secretstream_xchacha20poly1305_init_pull(&peer, proto_stream_header(a), KA);
  crypto_secretstream_xchacha20poly1305_push(&peer, c, &n, (const uint8_t *)"r", 1, NULL, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_REKEY);
  cr_assert_eq(open_rc(b, c, (size_t)n), BT_OK, "TAG_REKEY");
  crypto_secretstream_xchacha20poly1305_push(&peer, c, &n, (const uint8_t *)"m", 1, NULL, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  cr_assert_eq(open_rc(b, c, (size_t)n), BT_OK, "in step after the peer's rekey");
  crypto_secretstream_xchacha20poly1305_push(&peer, c, &n, (const uint8_t *)"p", 1, NULL, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_PUSH);
  cr_assert_eq(open_rc(b, c, (size_t)n), BT_EPROTO, "TAG_PUSH");
  crypto_secretstream_xchacha20poly1305_push(&peer, c, &n, (const uint8_t *)"m", 1, NULL, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  cr_assert_eq(open_rc(b, c, (size_t)n), BT_EPROTO, "the stream ended");
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, misuse_is_refused)
{
  uint8_t r[PROTO_STREAM_HEADER] = {0}, out[8];
  proto_stream *a, *b;
  size_t n;
  sealed c;

  cr_assert_eq(proto_stream_new(&a, KA, KB, r, 0), BT_OK);
  cr_assert_eq(proto_stream_new(&b, KB, KA, r, 0), BT_OK);
  seal(a, "hi", 2, 0, &c);
  cr_assert_eq(open_rc(b, c.c, c.len), BT_EPROTO, "before the header");
  cr_assert_eq(proto_stream_accept(b, proto_stream_header(a), PROTO_STREAM_HEADER - 1),
               BT_EPROTO);
  cr_assert_eq(proto_stream_accept(b, proto_stream_header(a), PROTO_STREAM_HEADER), BT_OK);
  cr_assert_eq(proto_stream_accept(b, proto_stream_header(a), PROTO_STREAM_HEADER), BT_EPROTO,
               "twice");
  {
    uint8_t m[1];
    size_t mn;
    int fin;

    cr_assert_eq(proto_stream_open(b, c.c, c.len, m, sizeof m, &mn, &fin), BT_ETOOBIG);
  }
  open_ok(b, &c, "hi", 2, 0);
  cr_assert_eq(proto_stream_seal(a, (const uint8_t *)"too long", 8, 0, out, sizeof out, &n),
               BT_ETOOBIG);
  proto_stream_free(a);
  proto_stream_free(b);
}

Test(proto_stream, handshake_keys_drive_a_stream_end_to_end)
{
  fx_party alice, bob;
  fx_trust t;
  proto_hs *i, *r;
  proto_hs_result ri, rr;
  proto_stream *a, *b;
  uint8_t x[PROTO_HS_MAX], y[PROTO_HS_MAX], ra[PROTO_STREAM_HEADER], rb[PROTO_STREAM_HEADER];
  size_t xl, yl;
  sealed c;

  fx_party_make(FX_ALICE, &alice);
  fx_party_make(FX_BOB, &bob);
  fx_trust_init(&t);
  i = fx_hs(&alice, 1, 0x41, &t);
  r = fx_hs(&bob, 0, 0x42, &t);
  cr_assert_eq(proto_hs_start(i, x, sizeof x, &xl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, x, xl, y, sizeof y, &yl), BT_OK);
  cr_assert_eq(proto_hs_recv(i, y, yl, x, sizeof x, &xl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, x, xl, y, sizeof y, &yl), BT_OK);
  cr_assert_eq(proto_hs_get_result(i, &ri), BT_OK);
  cr_assert_eq(proto_hs_get_result(r, &rr), BT_OK);
  memset(ra, 1, sizeof ra);
  memset(rb, 2, sizeof rb);
  cr_assert_eq(proto_stream_new(&a, ri.send_key, ri.recv_key, ra, 0), BT_OK);
  cr_assert_eq(proto_stream_new(&b, rr.send_key, rr.recv_key, rb, 0), BT_OK);
  proto_hs_free(i); /* the streams keep their own copies */
  proto_hs_free(r);
  cr_assert_eq(proto_stream_accept(a, proto_stream_header(b), PROTO_STREAM_HEADER), BT_OK);
  cr_assert_eq(proto_stream_accept(b, proto_stream_header(a), PROTO_STREAM_HEADER), BT_OK);
  seal(a, "hello bob", 9, 0, &c);
  open_ok(b, &c, "hello bob", 9, 0);
  seal(b, "hello alice", 11, 1, &c);
  open_ok(a, &c, "hello alice", 11, 1);
  proto_stream_free(a);
  proto_stream_free(b);
  fx_party_free(&alice);
  fx_party_free(&bob);
}
