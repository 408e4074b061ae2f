/* tests/proto/test_vectors.c: golden vectors (STYLE.md §7).
 *
 * Each test renders, from fixed inputs, the exact bytes the protocol
 * produces (handshake messages and keys, frames, transport messages) as
 * "name = value" lines and compares them byte for byte with the file under
 * tests/proto/vectors/. If a vector changes, the protocol changed.
 *
 * Regenerate only deliberately, after changing docs/protocol.md:
 *
 *   BT_PROTO_WRITE_VECTORS=1 build/tests/test_proto_vectors
 *
 * which writes the files instead of comparing (the tests then pass), so the
 * change shows up in review as a diff of the vectors. The intermediate
 * values (transcript hashes, DH, box keys) come from the reference
 * arithmetic in fixture.c and are checked against the implementation's
 * keys, so the file documents every step for another implementation. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "proto/fixture.h"
#include "proto/frame.h"
#include "proto/golden.h"
#include "proto/handshake.h"
#include "proto/stream.h"

#define E_I 0x41
#define E_R 0x42

static void setup(void)
{
  cr_assert(sodium_init() >= 0);
}

TestSuite(proto_vectors, .init = setup);

static void put_hex(gv_text *t, const char *name, const uint8_t *p, size_t len)
{
  char *h = malloc(2 * len + 1);

  fx_hex(h, p, len);
  gv_put(t, "%s = %s\n", name, h);
  free(h);
}

typedef struct {
  fx_party a, b;
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], finish[PROTO_HS_MAX];
  size_t hl, rl, fl;
  proto_hs_result ri, rr;
  proto_hs *i, *r;
  fx_trust t;
} session;

static void run(session *s)
{
  uint8_t none[PROTO_HS_MAX];
  size_t n;

  fx_party_make(FX_ALICE, &s->a);
  fx_party_make(FX_BOB, &s->b);
  fx_trust_init(&s->t);
  s->i = fx_hs(&s->a, 1, E_I, &s->t);
  s->r = fx_hs(&s->b, 0, E_R, &s->t);
  cr_assert_eq(proto_hs_start(s->i, s->hello, sizeof s->hello, &s->hl), BT_OK);
  cr_assert_eq(proto_hs_recv(s->r, s->hello, s->hl, s->reply, sizeof s->reply, &s->rl), BT_OK);
  cr_assert_eq(proto_hs_recv(s->i, s->reply, s->rl, s->finish, sizeof s->finish, &s->fl), BT_OK);
  cr_assert_eq(proto_hs_recv(s->r, s->finish, s->fl, none, sizeof none, &n), BT_OK);
  cr_assert_eq(proto_hs_get_result(s->i, &s->ri), BT_OK);
  cr_assert_eq(proto_hs_get_result(s->r, &s->rr), BT_OK);
}

static void done(session *s)
{
  proto_hs_free(s->i);
  proto_hs_free(s->r);
  fx_party_free(&s->a);
  fx_party_free(&s->b);
}

static void put_party(gv_text *t, const char *role, fx_who who, const fx_party *p, uint8_t eph)
{
  uint8_t seed[32], epk[32], esk[32];
  char name[64];

  fx_sign_seed(who, seed);
  fx_eph(eph, epk, esk);
  snprintf(name, sizeof name, "%s.sign_seed", role);
  put_hex(t, name, seed, 32);
  snprintf(name, sizeof name, "%s.device_pk", role);
  put_hex(t, name, p->pk, 32);
  snprintf(name, sizeof name, "%s.device_cert", role);
  put_hex(t, name, p->dev, p->dlen);
  snprintf(name, sizeof name, "%s.org_cert", role);
  put_hex(t, name, p->org, p->olen);
  gv_put(t, "%s.version = %d (decimal)\n%s.caps = ", role, PROTO_VERSION, role);
  for (size_t k = 0; k < p->ncaps; k++)
    gv_put(t, "%s%.*s", k ? "," : "", (int)p->caps[k].len, p->caps[k].p);
  gv_put(t, " (text)\n");
  snprintf(name, sizeof name, "%s.eph_sk", role);
  put_hex(t, name, esk, 32);
  snprintf(name, sizeof name, "%s.eph_pk", role);
  put_hex(t, name, epk, 32);
}

Test(proto_vectors, handshake)
{
  uint8_t h0[32], epk[32], esk[32], rpk[32], rsk[32], dh[32], k[32], t_[32], i2r[32], r2i[32];
  gv_text t = {NULL, 0, 0};
  fx_transcript tr;
  session s;

  run(&s);
  fx_eph(E_I, epk, esk);
  fx_eph(E_R, rpk, rsk);
  fx_ref_dh(dh, esk, rpk);
  fx_ref_h0(h0);
  fx_ref_transcript(s.hello, s.hl, s.reply, s.rl, s.finish, s.fl, &tr);
  fx_ref_keys(tr.h4, dh, i2r, r2i);
  cr_assert_eq(memcmp(s.ri.send_key, i2r, 32), 0, "reference and implementation agree");
  cr_assert_eq(memcmp(s.rr.send_key, r2i, 32), 0, "reference and implementation agree");

  gv_header(&t, "handshake.txt", "the handshake", "vectors");
  gv_put(&t, "# Inputs. Device keys: crypto_sign_seed_keypair(sign_seed). Ephemeral keys:\n"
             "# eph_pk = crypto_scalarmult_base(eph_sk). Certificates: crdt_cert_sign\n"
             "# (tests/proto/fixture.c); the verify callback accepts both chains.\n");
  put_party(&t, "initiator", FX_ALICE, &s.a, E_I);
  put_party(&t, "responder", FX_BOB, &s.b, E_R);
  gv_put(&t, "\n# Messages (frame payloads) and the steps between them.\n");
  put_hex(&t, "h0", h0, 32);
  put_hex(&t, "hello", s.hello, s.hl);
  put_hex(&t, "h1", tr.h1, 32);
  put_hex(&t, "dh", dh, 32);
  fx_ref_kdf(k, tr.h1, dh, 32, "baton/hs/r");
  put_hex(&t, "k_r", k, 32);
  put_hex(&t, "h2", tr.h2, 32);
  put_hex(&t, "reply", s.reply, s.rl);
  put_hex(&t, "h3", tr.h3, 32);
  fx_ref_kdf(k, tr.h3, dh, 32, "baton/hs/i");
  put_hex(&t, "k_i", k, 32);
  put_hex(&t, "finish", s.finish, s.fl);
  put_hex(&t, "h4", tr.h4, 32);
  fx_ref_kdf(t_, tr.h4, dh, 32, "baton/hs/t");
  put_hex(&t, "t", t_, 32);
  gv_put(&t, "\n# Outcome (the same on both sides).\n");
  put_hex(&t, "key_i2r", i2r, 32);
  put_hex(&t, "key_r2i", r2i, 32);
  gv_put(&t, "version = %u (decimal)\ncaps = ", (unsigned)s.ri.version);
  for (size_t c = 0; c < s.ri.ncaps; c++)
    gv_put(&t, "%s%.*s", c ? "," : "", (int)s.ri.caps[c].len, s.ri.caps[c].p);
  gv_put(&t, " (text)\n");
  gv_check(&t, "handshake.txt");
  free(t.p);
  done(&s);
}

Test(proto_vectors, frames)
{
  static const uint8_t one[] = {0x01};
  static const uint8_t arr[] = {0x92, 0x01, 0xa1, 'x'};
  uint8_t out[PROTO_HS_MAX + PROTO_FRAME_HDR];
  gv_text t = {NULL, 0, 0};
  session s;
  size_t n;

  run(&s);
  gv_header(&t, "frames.txt", "framing", "vectors");
  gv_put(&t, "# frame = length (u32, big-endian) || payload\n");
  const struct {
    const char *name;
    const uint8_t *p;
    size_t len;
  } f[] = {{"one_byte", one, sizeof one}, {"msgpack", arr, sizeof arr},
           {"hello", s.hello, s.hl}};
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
    char name[64];

    cr_assert_eq(proto_frame_encode(f[k].p, f[k].len, 0, out, sizeof out, &n), BT_OK);
    snprintf(name, sizeof name, "%s.payload", f[k].name);
    put_hex(&t, name, f[k].p, f[k].len);
    snprintf(name, sizeof name, "%s.frame", f[k].name);
    put_hex(&t, name, out, n);
  }
  gv_check(&t, "frames.txt");
  free(t.p);
  done(&s);
}

Test(proto_vectors, stream)
{
  static const char *msgs[] = {"first", "second", "third, after the rekey", "bye"};
  uint8_t ra[PROTO_STREAM_HEADER], rb[PROTO_STREAM_HEADER], c[64], m[64];
  proto_stream *a, *b;
  gv_text t = {NULL, 0, 0};
  session s;
  size_t n, mn;
  int fin;

  run(&s);
  memset(ra, 0x24, sizeof ra);
  memset(rb, 0x42, sizeof rb);
  cr_assert_eq(proto_stream_new(&a, s.ri.send_key, s.ri.recv_key, ra, 2), BT_OK);
  cr_assert_eq(proto_stream_new(&b, s.rr.send_key, s.rr.recv_key, rb, 2), BT_OK);
  cr_assert_eq(proto_stream_accept(b, proto_stream_header(a), PROTO_STREAM_HEADER), BT_OK);
  gv_header(&t, "stream.txt", "the transport", "vectors");
  gv_put(&t, "# The initiator's direction of the session in handshake.txt (key_i2r),\n"
             "# rekeyed every 2 messages for the vector (the protocol's default is 4096).\n"
             "# Each message is crypto_secretstream_xchacha20poly1305 with TAG_MESSAGE,\n"
             "# the last with TAG_FINAL; the plaintexts are text here, msgpack in use.\n");
  put_hex(&t, "key", s.ri.send_key, 32);
  gv_put(&t, "rekey_every = 2 (decimal)\n");
  put_hex(&t, "header", proto_stream_header(a), PROTO_STREAM_HEADER);
  for (size_t k = 0; k < 4; k++) {
    size_t len = strlen(msgs[k]);
    char name[32];

    cr_assert_eq(proto_stream_seal(a, (const uint8_t *)msgs[k], len, k == 3, c, sizeof c, &n),
                 BT_OK);
    cr_assert_eq(proto_stream_open(b, c, n, m, sizeof m, &mn, &fin), BT_OK);
    cr_assert_eq(fin, k == 3);
    gv_put(&t, "message.%zu = %s (text)\n", k, msgs[k]);
    snprintf(name, sizeof name, "sealed.%zu", k);
    put_hex(&t, name, c, n);
  }
  gv_check(&t, "stream.txt");
  free(t.p);
  proto_stream_free(a);
  proto_stream_free(b);
  done(&s);
}
