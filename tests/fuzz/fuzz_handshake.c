/* tests/fuzz/fuzz_handshake.c: libFuzzer harness for the handshake.
 *
 * Byte 0 picks what the fuzzer plays (the fixed world of
 * tests/proto/fixture.h: Alice initiates with ephemeral 0x41, Bob responds
 * with 0x42, Mallory uses 0x5E):
 *
 *   0  a responder fed arbitrary first and third messages:
 *      [u16 BE length of hello][hello][finish]
 *   1  an initiator fed an arbitrary reply
 *   2  an initiator fed a reply sealed with the right key whose identity
 *      plaintext is arbitrary (reaches the identity decoder, signature and
 *      certificate checks, which random bytes never would through AEAD)
 *   3  a responder fed, after an honest hello, a finish sealed with the
 *      right key whose identity plaintext is arbitrary
 *
 * Besides sanitizer reports it aborts when a side reports completion
 * inconsistently (done without a result, or a result whose peer key is not
 * the one the verify callback accepted), or when an error is not final. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "proto/fixture.h"
#include "proto/handshake.h"

#define E_I 0x41
#define E_R 0x42
#define E_M 0x5E

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fx_party alice, bob;
static int ready;

static void setup(void)
{
  if (ready)
    return;
  fx_party_make(FX_ALICE, &alice);
  fx_party_make(FX_BOB, &bob);
  ready = 1;
}

/* Feeds one message; checks the invariants; returns its verdict. */
static int feed(proto_hs *hs, const fx_trust *t, const uint8_t *p, size_t len, uint8_t *out,
                size_t *olen)
{
  uint8_t *copy = malloc(len ? len : 1), again[PROTO_HS_MAX];
  proto_hs_result r;
  size_t n;
  int rc;

  if (len)
    memcpy(copy, p, len); /* exact size: ASan sees overreads */
  rc = proto_hs_recv(hs, copy, len, out, PROTO_HS_MAX, olen);
  free(copy);
  if (rc != BT_OK) {
    if (proto_hs_done(hs) || proto_hs_recv(hs, p, len, again, sizeof again, &n) != rc)
      abort(); /* errors are final */
    return rc;
  }
  if (*olen > PROTO_HS_MAX)
    abort();
  if (proto_hs_done(hs)) {
    if (proto_hs_get_result(hs, &r) != BT_OK || t->calls != 1 ||
        memcmp(r.peer_pk, t->last_pk, 32) != 0 || r.version < 1)
      abort();
  }
  return rc;
}

static void responder(const uint8_t *p, size_t len)
{
  uint8_t out[PROTO_HS_MAX];
  size_t hl, n;
  fx_trust t;
  proto_hs *r;

  if (len < 2)
    return;
  hl = (size_t)p[0] << 8 | p[1];
  p += 2, len -= 2;
  if (hl > len)
    hl = len;
  fx_trust_init(&t);
  r = fx_hs(&bob, 0, E_R, &t);
  if (feed(r, &t, p, hl, out, &n) == BT_OK)
    (void)feed(r, &t, p + hl, len - hl, out, &n);
  proto_hs_free(r);
}

static void initiator(const uint8_t *p, size_t len, int sealed)
{
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, n;
  fx_forger f;
  fx_trust t;
  proto_hs *i;

  fx_trust_init(&t);
  i = fx_hs(&alice, 1, E_I, &t);
  if (proto_hs_start(i, hello, sizeof hello, &hl) != BT_OK)
    abort();
  if (sealed) {
    if (len > PROTO_HS_MAX - 256)
      len = PROTO_HS_MAX - 256;
    fx_forge_reply_begin(&f, hello, hl, E_M);
    len = fx_forge_reply_end(&f, reply, p, len);
    p = reply;
  }
  (void)feed(i, &t, p, len, out, &n);
  proto_hs_free(i);
}

static void sealed_finish(const uint8_t *p, size_t len)
{
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], fin[PROTO_HS_MAX];
  size_t hl, rl, fl, n;
  fx_forger f;
  fx_trust t;
  proto_hs *r;

  if (len > PROTO_HS_MAX - 256)
    len = PROTO_HS_MAX - 256;
  fx_trust_init(&t);
  r = fx_hs(&bob, 0, E_R, &t);
  hl = fx_forge_hello(hello, E_M);
  if (feed(r, &t, hello, hl, reply, &rl) != BT_OK)
    abort();
  fx_forge_finish_begin(&f, hello, hl, reply, rl, E_M);
  fl = fx_forge_finish_end(&f, fin, p, len);
  (void)feed(r, &t, fin, fl, reply, &n);
  proto_hs_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  setup();
  switch (data[0] & 3) {
  case 0:
    responder(data + 1, size - 1);
    break;
  case 1:
    initiator(data + 1, size - 1, 0);
    break;
  case 2:
    initiator(data + 1, size - 1, 1);
    break;
  default:
    sealed_finish(data + 1, size - 1);
    break;
  }
  return 0;
}
