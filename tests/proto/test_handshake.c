/* tests/proto/test_handshake.c: the handshake state machine.
 *
 * What issue 5 names, each as a test: success both ways with the
 * certificates passed through; an unknown or revoked peer refused with the
 * verify callback's reason, on the side that checks it; a man in the middle
 * who swaps either ephemeral key, relays someone else's identity, or claims
 * it as its own; replayed replies and finishes; version and capability
 * downgrades; and every bit flip and truncation of every message.
 *
 * The attacks are built with the reference arithmetic in fixture.c, which
 * follows docs/protocol.md independently of proto/handshake.c; the tests
 * that forge an honest reply or finish with it double as a check that the
 * implementation and the document agree. */
#include "proto/handshake.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "proto/fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define E_I 0x41 /* ephemeral seeds: initiator, responder, Mallory */
#define E_R 0x42
#define E_M 0x5E

static fx_party P[FX_PARTIES];

static void setup(void)
{
  cr_assert(sodium_init() >= 0);
  for (int w = 0; w < FX_PARTIES; w++)
    fx_party_make((fx_who)w, &P[w]);
}

static void teardown(void)
{
  for (int w = 0; w < FX_PARTIES; w++)
    fx_party_free(&P[w]);
}

TestSuite(proto_handshake, .init = setup, .fini = teardown);

typedef struct {
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], finish[PROTO_HS_MAX];
  size_t hl, rl, fl;
} msgs;

static proto_hs *mk(fx_who who, int initiator, uint8_t eph, fx_trust *t)
{
  return fx_hs(&P[who], initiator, eph, t);
}

static void run_ok(proto_hs *i, proto_hs *r, msgs *m)
{
  uint8_t none[PROTO_HS_MAX];
  size_t n = 1;
  int rc;

  cr_assert_eq(proto_hs_start(i, m->hello, sizeof m->hello, &m->hl), BT_OK);
  rc = proto_hs_recv(r, m->hello, m->hl, m->reply, sizeof m->reply, &m->rl);
  cr_assert_eq(rc, BT_OK, "hello: %s", bt_errname(rc));
  cr_assert(!proto_hs_done(r));
  rc = proto_hs_recv(i, m->reply, m->rl, m->finish, sizeof m->finish, &m->fl);
  cr_assert_eq(rc, BT_OK, "reply: %s", bt_errname(rc));
  cr_assert(proto_hs_done(i));
  rc = proto_hs_recv(r, m->finish, m->fl, none, sizeof none, &n);
  cr_assert_eq(rc, BT_OK, "finish: %s", bt_errname(rc));
  cr_assert_eq(n, 0, "nothing to send after finish");
  cr_assert(proto_hs_done(r));
}

static void check_peer(const proto_hs_result *res, const fx_party *p)
{
  cr_assert_eq(memcmp(res->peer_pk, p->pk, 32), 0);
  cr_assert_eq(res->peer_dev_cert.len, p->dlen);
  cr_assert_eq(memcmp(res->peer_dev_cert.p, p->dev, p->dlen), 0, "device cert passed through");
  cr_assert_eq(res->peer_org_cert.len, p->olen);
  cr_assert_eq(memcmp(res->peer_org_cert.p, p->org, p->olen), 0, "org cert passed through");
}

static void success(fx_who a, fx_who b)
{
  fx_trust ti, tr;
  proto_hs *i, *r;
  proto_hs_result ri, rr;
  msgs m;

  fx_trust_init(&ti);
  fx_trust_init(&tr);
  i = mk(a, 1, E_I, &ti);
  r = mk(b, 0, E_R, &tr);
  cr_assert_eq(proto_hs_get_result(i, &ri), BT_EINVAL, "no result before the end");
  run_ok(i, r, &m);
  cr_assert_eq(proto_hs_get_result(i, &ri), BT_OK);
  cr_assert_eq(proto_hs_get_result(r, &rr), BT_OK);
  check_peer(&ri, &P[b]);
  check_peer(&rr, &P[a]);
  cr_assert_eq(ti.calls, 1);
  cr_assert_eq(tr.calls, 1);
  cr_assert_eq(memcmp(ti.last_pk, P[b].pk, 32), 0);
  cr_assert_eq(memcmp(tr.last_pk, P[a].pk, 32), 0);
  cr_assert_eq(ri.version, 1);
  cr_assert_eq(rr.version, 1);
  /* Bob offers attach and zstd, everyone else attach, relay and zstd. */
  size_t want = a == FX_BOB || b == FX_BOB ? 2 : 3;
  cr_assert_eq(ri.ncaps, want);
  cr_assert_eq(rr.ncaps, want);
  cr_assert(bt_str_eq(ri.caps[0], BT_STR("attach")) && bt_str_eq(rr.caps[0], BT_STR("attach")));
  cr_assert(bt_str_eq(ri.caps[want - 1], BT_STR("zstd")));
  cr_assert(bt_str_eq(rr.caps[want - 1], BT_STR("zstd")));
  cr_assert_eq(memcmp(ri.send_key, rr.recv_key, PROTO_KEY_LEN), 0);
  cr_assert_eq(memcmp(ri.recv_key, rr.send_key, PROTO_KEY_LEN), 0);
  cr_assert_neq(memcmp(ri.send_key, ri.recv_key, PROTO_KEY_LEN), 0, "one key per direction");
  proto_hs_free(i);
  proto_hs_free(r);
}

Test(proto_handshake, succeeds_both_ways_with_certificates_passed_through)
{
  success(FX_ALICE, FX_BOB);
  success(FX_BOB, FX_ALICE);
  success(FX_ALICE, FX_INSIDER);
}

Test(proto_handshake, keys_match_the_reference_derivation)
{
  fx_trust t;
  proto_hs *i, *r;
  proto_hs_result res;
  fx_transcript tr;
  uint8_t epk[32], esk[32], rpk[32], rsk[32], dh[32], i2r[32], r2i[32];
  msgs m;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  run_ok(i, r, &m);
  fx_eph(E_I, epk, esk);
  fx_eph(E_R, rpk, rsk);
  fx_ref_dh(dh, esk, rpk);
  fx_ref_transcript(m.hello, m.hl, m.reply, m.rl, m.finish, m.fl, &tr);
  fx_ref_keys(tr.h4, dh, i2r, r2i);
  cr_assert_eq(proto_hs_get_result(i, &res), BT_OK);
  cr_assert_eq(memcmp(res.send_key, i2r, 32), 0);
  cr_assert_eq(memcmp(res.recv_key, r2i, 32), 0);
  proto_hs_free(i);
  proto_hs_free(r);
}

static proto_hs *mk_v(fx_who who, int initiator, uint8_t eph, fx_trust *t, uint32_t version,
                      const bt_str *caps, size_t ncaps)
{
  uint8_t epk[32], esk[32];
  proto_hs_config cfg = {.initiator = initiator, .sign_sk = P[who].sk,
                         .dev_cert = {P[who].dev, P[who].dlen},
                         .org_cert = {P[who].org, P[who].olen}, .version = version,
                         .caps = caps, .ncaps = ncaps, .eph_pk = epk, .eph_sk = esk,
                         .verify = fx_verify, .verify_ctx = t};
  proto_hs *hs;

  fx_eph(eph, epk, esk);
  cr_assert_eq(proto_hs_new(&hs, &cfg), BT_OK);
  return hs;
}

Test(proto_handshake, version_is_the_lower_and_caps_the_common_ones)
{
  static const bt_str c1[] = {BT_STR("a"), BT_STR("ab"), BT_STR("b"), BT_STR("zz")};
  static const bt_str c2[] = {BT_STR("ab"), BT_STR("b"), BT_STR("c")};
  static const uint32_t v[][3] = {{1, 1, 1}, {5, 2, 2}, {2, 7, 2}, {UINT32_MAX, 3, 3}};
  fx_trust t;
  msgs m;

  fx_trust_init(&t);
  for (size_t k = 0; k < N(v); k++) {
    proto_hs *i = mk_v(FX_ALICE, 1, E_I, &t, v[k][0], c1, N(c1));
    proto_hs *r = mk_v(FX_BOB, 0, E_R, &t, v[k][1], c2, N(c2));
    proto_hs_result a, b;

    run_ok(i, r, &m);
    cr_assert_eq(proto_hs_get_result(i, &a), BT_OK);
    cr_assert_eq(proto_hs_get_result(r, &b), BT_OK);
    cr_assert_eq(a.version, v[k][2], "case %zu", k);
    cr_assert_eq(b.version, v[k][2], "case %zu", k);
    cr_assert_eq(a.ncaps, 2);
    cr_assert_eq(b.ncaps, 2);
    cr_assert(bt_str_eq(a.caps[0], BT_STR("ab")) && bt_str_eq(a.caps[1], BT_STR("b")));
    cr_assert(bt_str_eq(b.caps[0], BT_STR("ab")) && bt_str_eq(b.caps[1], BT_STR("b")));
    proto_hs_free(i);
    proto_hs_free(r);
  }
  /* No caps at all on one side. */
  proto_hs *i = mk_v(FX_ALICE, 1, E_I, &t, 1, NULL, 0);
  proto_hs *r = mk_v(FX_BOB, 0, E_R, &t, 1, c2, N(c2));
  proto_hs_result a;

  run_ok(i, r, &m);
  cr_assert_eq(proto_hs_get_result(r, &a), BT_OK);
  cr_assert_eq(a.ncaps, 0);
  proto_hs_free(i);
  proto_hs_free(r);
}

/* ---- unknown and revoked peers ---- */

static void refused_peer(fx_who bad, int want)
{
  fx_trust ti, tr;
  proto_hs *i, *r;
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], fin[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, rl, fl, n;

  /* bad initiates: the responder refuses it on finish. */
  fx_trust_init(&ti);
  fx_trust_init(&tr);
  i = mk(bad, 1, E_I, &ti);
  r = mk(FX_ALICE, 0, E_R, &tr);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
  cr_assert_eq(proto_hs_recv(i, reply, rl, fin, sizeof fin, &fl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, fin, fl, out, sizeof out, &n), want, "%s", bt_errname(want));
  cr_assert(!proto_hs_done(r));
  cr_assert_eq(tr.calls, 1);
  proto_hs_free(i);
  proto_hs_free(r);

  /* bad answers: the initiator refuses it on reply, before revealing
   * itself; the responder never gets to check anyone. */
  fx_trust_init(&ti);
  fx_trust_init(&tr);
  i = mk(FX_ALICE, 1, E_I, &ti);
  r = mk(bad, 0, E_R, &tr);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
  cr_assert_eq(proto_hs_recv(i, reply, rl, fin, sizeof fin, &fl), want, "%s", bt_errname(want));
  cr_assert(!proto_hs_done(i));
  cr_assert_eq(ti.calls, 1);
  cr_assert_eq(tr.calls, 0);
  proto_hs_free(i);
  proto_hs_free(r);
}

Test(proto_handshake, unknown_peer_gets_the_callbacks_reason)
{
  refused_peer(FX_OUTSIDER, BT_EANCHOR);
}

Test(proto_handshake, revoked_peer_gets_the_callbacks_reason)
{
  refused_peer(FX_REVOKED, BT_EREVOKED);
}

static int refuse_all(void *ctx, const uint8_t pk[32], const uint8_t *d, size_t dl,
                      const uint8_t *o, size_t ol)
{
  (void)ctx, (void)pk, (void)d, (void)dl, (void)o, (void)ol;
  return 7; /* positive: not a reason */
}

Test(proto_handshake, a_positive_callback_result_counts_as_auth_failure)
{
  uint8_t epk[32], esk[32];
  proto_hs_config cfg = {.initiator = 1, .sign_sk = P[FX_ALICE].sk,
                         .dev_cert = {P[FX_ALICE].dev, P[FX_ALICE].dlen},
                         .org_cert = {P[FX_ALICE].org, P[FX_ALICE].olen}, .version = 1,
                         .eph_pk = epk, .eph_sk = esk, .verify = refuse_all};
  fx_trust t;
  proto_hs *i, *r;
  uint8_t a[PROTO_HS_MAX], b[PROTO_HS_MAX];
  size_t al, bl;

  fx_trust_init(&t);
  fx_eph(E_I, epk, esk);
  cr_assert_eq(proto_hs_new(&i, &cfg), BT_OK);
  r = mk(FX_BOB, 0, E_R, &t);
  cr_assert_eq(proto_hs_start(i, a, sizeof a, &al), BT_OK);
  cr_assert_eq(proto_hs_recv(r, a, al, b, sizeof b, &bl), BT_OK);
  cr_assert_eq(proto_hs_recv(i, b, bl, a, sizeof a, &al), BT_EAUTH);
  proto_hs_free(i);
  proto_hs_free(r);
}

/* ---- forging with the reference ---- */

typedef size_t (*id_fn)(uint8_t *out, const uint8_t h[32], const char *label, void *ctx);

/* Mallory answers a real initiator (victim, ephemeral E_I) with a reply
 * sealed correctly under her own ephemeral E_M, whose identity plaintext
 * mk_id writes given h2. Returns the initiator's verdict. */
static int forge_reply(fx_who victim, id_fn mk_id, void *ctx)
{
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], id[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, n, rl;
  fx_forger f;
  fx_trust t;
  proto_hs *i;
  int rc;

  fx_trust_init(&t);
  i = mk(victim, 1, E_I, &t);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  fx_forge_reply_begin(&f, hello, hl, E_M);
  n = mk_id(id, f.h, f.slabel, ctx);
  rl = fx_forge_reply_end(&f, reply, id, n);
  rc = proto_hs_recv(i, reply, rl, out, sizeof out, &n);
  cr_assert_eq(proto_hs_done(i), rc == BT_OK);
  proto_hs_free(i);
  return rc;
}

/* Mallory opens a session to a real responder (victim, ephemeral E_R) with
 * her own ephemeral E_M and sends a finish sealed correctly, whose identity
 * plaintext mk_id writes given h3. Returns the responder's verdict. */
static int forge_finish(fx_who victim, id_fn mk_id, void *ctx)
{
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], fin[PROTO_HS_MAX], id[PROTO_HS_MAX];
  uint8_t out[PROTO_HS_MAX];
  size_t hl, rl, fl, n;
  fx_forger f;
  fx_trust t;
  proto_hs *r;
  int rc;

  fx_trust_init(&t);
  r = mk(victim, 0, E_R, &t);
  hl = fx_forge_hello(hello, E_M);
  cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
  fx_forge_finish_begin(&f, hello, hl, reply, rl, E_M);
  n = mk_id(id, f.h, f.slabel, ctx);
  fl = fx_forge_finish_end(&f, fin, id, n);
  rc = proto_hs_recv(r, fin, fl, out, sizeof out, &n);
  cr_assert_eq(proto_hs_done(r), rc == BT_OK);
  proto_hs_free(r);
  return rc;
}

/* Identity plaintexts, honest and not. */
typedef struct {
  fx_who pk_of, sk_of, certs_of;
  int swap_label, org_as_dev;
  size_t dev_len; /* 0: the real one */
  const uint8_t *raw; /* a fixed plaintext instead */
  size_t raw_len;
} id_spec;

static size_t make_id(uint8_t *out, const uint8_t h[32], const char *label, void *ctx)
{
  const id_spec *s = ctx;
  const fx_party *c = &P[s->certs_of];
  const uint8_t *dev = s->org_as_dev ? c->org : c->dev;
  size_t dlen = s->org_as_dev ? c->olen : c->dlen;
  uint8_t big[CRDT_CERT_MAX + 2];

  if (s->raw) {
    memcpy(out, s->raw, s->raw_len);
    return s->raw_len;
  }
  if (s->swap_label)
    label = label[13] == 'r' ? "baton/hs/sig/i" : "baton/hs/sig/r";
  if (s->dev_len) {
    memset(big, 0x5a, sizeof big);
    memcpy(big, dev, dlen < s->dev_len ? dlen : s->dev_len);
    dev = big;
    dlen = s->dev_len;
  }
  return fx_ref_id(out, P[s->pk_of].pk, P[s->sk_of].sk, label, h, dev, dlen, c->org, c->olen);
}

Test(proto_handshake, the_reference_forges_honest_messages_the_implementation_accepts)
{
  id_spec ins = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 0, 0, NULL, 0};

  cr_assert_eq(forge_reply(FX_ALICE, make_id, &ins), BT_OK);
  cr_assert_eq(forge_finish(FX_BOB, make_id, &ins), BT_OK);
}

Test(proto_handshake, the_largest_messages_fit)
{
  char names[PROTO_CAPS_MAX][PROTO_CAP_LEN];
  bt_str caps[PROTO_CAPS_MAX];
  id_spec maxcerts = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 0, CRDT_CERT_MAX, NULL, 0};
  proto_hs_result res;
  fx_trust t;
  msgs m;
  int rc;

  for (int k = 0; k < PROTO_CAPS_MAX; k++) {
    memset(names[k], 'c', PROTO_CAP_LEN);
    names[k][PROTO_CAP_LEN - 1] = (char)('A' + k);
    caps[k] = (bt_str){names[k], PROTO_CAP_LEN};
  }
  fx_trust_init(&t);
  proto_hs *i = mk_v(FX_ALICE, 1, E_I, &t, UINT32_MAX, caps, PROTO_CAPS_MAX);
  proto_hs *r = mk_v(FX_BOB, 0, E_R, &t, UINT32_MAX, caps, PROTO_CAPS_MAX);

  run_ok(i, r, &m);
  cr_assert_eq(m.hl, 1132, "docs/protocol.md: the largest hello");
  cr_assert_eq(proto_hs_get_result(i, &res), BT_OK);
  cr_assert_eq(res.ncaps, PROTO_CAPS_MAX);
  cr_assert_eq(res.version, UINT32_MAX);
  proto_hs_free(i);
  proto_hs_free(r);
  /* Certificates of CRDT_CERT_MAX bytes pass the size checks (and then
   * fail to decode, being padded). */
  rc = forge_reply(FX_ALICE, make_id, &maxcerts);
  cr_assert(rc != BT_OK && rc != BT_ETOOBIG, "%s", bt_errname(rc));
  rc = forge_finish(FX_BOB, make_id, &maxcerts);
  cr_assert(rc != BT_OK && rc != BT_ETOOBIG, "%s", bt_errname(rc));
}

/* ---- men in the middle ---- */

static size_t raw_id(uint8_t *out, const uint8_t h[32], const char *label, void *ctx)
{
  const id_spec *s = ctx;

  (void)h, (void)label;
  memcpy(out, s->raw, s->raw_len);
  return s->raw_len;
}

Test(proto_handshake, mitm_swapping_the_initiators_ephemeral_fails)
{
  uint8_t hello[PROTO_HS_MAX], hello2[PROTO_HS_MAX], reply[PROTO_HS_MAX], out[PROTO_HS_MAX];
  uint8_t id[PROTO_HS_MAX], mpk[32], msk[32], dh[32];
  size_t hl, h2l, rl, idl, n;
  fx_transcript tr;
  fx_trust ti, tr_;
  fx_msg hm, rm;
  proto_hs *i, *r;

  /* Alice's hello reaches Bob with Mallory's ephemeral in it. */
  fx_trust_init(&ti);
  fx_trust_init(&tr_);
  i = mk(FX_ALICE, 1, E_I, &ti);
  r = mk(FX_BOB, 0, E_R, &tr_);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  fx_ref_parse(hello, hl, &hm);
  fx_eph(0x5B, mpk, msk);
  h2l = fx_ref_msg(hello2, 1, hm.version, hm.caps, hm.ncaps, mpk, NULL, 0);
  cr_assert_eq(proto_hs_recv(r, hello2, h2l, reply, sizeof reply, &rl), BT_OK);

  /* Forwarded as is, Bob's reply does not open for Alice. */
  cr_assert_eq(proto_hs_recv(i, reply, rl, out, sizeof out, &n), BT_EDECRYPT);
  proto_hs_free(i);

  /* Mallory can open it (she chose the ephemeral), and re-seal Bob's
   * identity for Alice under her own; Bob's signature is over the wrong
   * transcript. */
  fx_ref_parse(reply, rl, &rm);
  fx_ref_dh(dh, msk, rm.e);
  fx_ref_transcript(hello2, h2l, reply, rl, NULL, 0, &tr);
  cr_assert_eq(fx_ref_open(id, &idl, tr.h1, dh, "baton/hs/r", tr.h2, rm.box, rm.blen), 0);
  id_spec relay = {.raw = id, .raw_len = idl};
  cr_assert_eq(forge_reply(FX_ALICE, raw_id, &relay), BT_ESIG);
  cr_assert_eq(ti.calls, 0, "the callback never sees an unproven identity");
  proto_hs_free(r);
}

Test(proto_handshake, mitm_swapping_the_responders_ephemeral_fails)
{
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], reply2[PROTO_HS_MAX], out[PROTO_HS_MAX];
  uint8_t mpk[32], msk[32];
  size_t hl, rl, r2l, n;
  fx_trust t;
  fx_msg rm;
  proto_hs *i, *r;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
  fx_ref_parse(reply, rl, &rm);
  fx_eph(0x5C, mpk, msk);
  r2l = fx_ref_msg(reply2, 2, rm.version, rm.caps, rm.ncaps, mpk, rm.box, rm.blen);
  cr_assert_eq(proto_hs_recv(i, reply2, r2l, out, sizeof out, &n), BT_EDECRYPT);
  proto_hs_free(i);
  proto_hs_free(r);
}

Test(proto_handshake, mitm_relaying_the_initiators_identity_fails)
{
  /* The insider is a trusted device: Alice talks to it and knows it. It
   * opens Alice's finish and passes her identity on to Bob as if Alice
   * were connecting: her signature is over the Alice-insider transcript. */
  uint8_t id[PROTO_HS_MAX], mpk[32], msk[32], apk[32], ask[32], dh[32];
  fx_transcript tr;
  proto_hs_result res;
  fx_trust ti, tm;
  proto_hs *i, *m;
  fx_msg fm;
  msgs s;
  size_t idl;

  fx_trust_init(&ti);
  fx_trust_init(&tm);
  i = mk(FX_ALICE, 1, E_I, &ti);
  m = mk(FX_INSIDER, 0, 0x5A, &tm);
  run_ok(i, m, &s);
  cr_assert_eq(proto_hs_get_result(i, &res), BT_OK);
  cr_assert_eq(memcmp(res.peer_pk, P[FX_INSIDER].pk, 32), 0, "Alice knows whom she talks to");
  fx_eph(0x5A, mpk, msk);
  fx_eph(E_I, apk, ask);
  fx_ref_dh(dh, msk, apk);
  fx_ref_transcript(s.hello, s.hl, s.reply, s.rl, s.finish, s.fl, &tr);
  fx_ref_parse(s.finish, s.fl, &fm);
  cr_assert_eq(fx_ref_open(id, &idl, tr.h3, dh, "baton/hs/i", tr.h3, fm.box, fm.blen), 0);
  id_spec relay = {.raw = id, .raw_len = idl};
  cr_assert_eq(forge_finish(FX_BOB, raw_id, &relay), BT_ESIG);
  proto_hs_free(i);
  proto_hs_free(m);
}

Test(proto_handshake, mitm_claiming_someone_elses_identity_fails)
{
  /* Alice's key and certificates, Mallory's signature. */
  id_spec claim = {FX_ALICE, FX_OUTSIDER, FX_ALICE, 0, 0, 0, NULL, 0};
  /* Mallory's own key and signature, Alice's certificates. */
  id_spec borrow = {FX_OUTSIDER, FX_OUTSIDER, FX_ALICE, 0, 0, 0, NULL, 0};
  /* Mallory as herself: her chain ends at an LA nobody trusts. */
  id_spec self = {FX_OUTSIDER, FX_OUTSIDER, FX_OUTSIDER, 0, 0, 0, NULL, 0};

  cr_assert_eq(forge_reply(FX_ALICE, make_id, &claim), BT_ESIG);
  cr_assert_eq(forge_finish(FX_BOB, make_id, &claim), BT_ESIG);
  cr_assert_eq(forge_reply(FX_ALICE, make_id, &borrow), BT_ECHAIN);
  cr_assert_eq(forge_finish(FX_BOB, make_id, &borrow), BT_ECHAIN);
  cr_assert_eq(forge_reply(FX_ALICE, make_id, &self), BT_EANCHOR);
  cr_assert_eq(forge_finish(FX_BOB, make_id, &self), BT_EANCHOR);
}

Test(proto_handshake, a_signature_made_for_the_other_role_fails)
{
  id_spec refl = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 1, 0, 0, NULL, 0};

  cr_assert_eq(forge_reply(FX_ALICE, make_id, &refl), BT_ESIG);
  cr_assert_eq(forge_finish(FX_BOB, make_id, &refl), BT_ESIG);
}

Test(proto_handshake, identity_plaintext_is_decoded_strictly)
{
  static const uint8_t not_array[] = {0x01};
  static const uint8_t three[] = {0x93, 0xc4, 0x01, 0x00, 0xc4, 0x01, 0x00, 0xc4, 0x01, 0x00};
  static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  uint8_t buf[PROTO_HS_MAX], h[32] = {0};
  id_spec orgdev = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 1, 0, NULL, 0};
  id_spec big = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 0, CRDT_CERT_MAX + 1, NULL, 0};
  id_spec cut = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 0, 40, NULL, 0};
  id_spec raw = {.raw = not_array, .raw_len = sizeof not_array};
  id_spec honest = {FX_INSIDER, FX_INSIDER, FX_INSIDER, 0, 0, 0, NULL, 0};
  size_t n;

  cr_assert_eq(forge_reply(FX_ALICE, make_id, &orgdev), BT_ECHAIN, "org cert as device's");
  cr_assert_eq(forge_reply(FX_ALICE, make_id, &big), BT_ETOOBIG, "cert over CRDT_CERT_MAX");
  cr_assert_neq(forge_reply(FX_ALICE, make_id, &cut), BT_OK, "cut certificate");
  cr_assert_eq(forge_reply(FX_ALICE, raw_id, &raw), BT_ETYPE);
  raw = (id_spec){.raw = three, .raw_len = sizeof three};
  cr_assert_eq(forge_reply(FX_ALICE, raw_id, &raw), BT_EPROTO);
  raw = (id_spec){.raw = huge, .raw_len = sizeof huge};
  cr_assert_eq(forge_reply(FX_ALICE, raw_id, &raw), BT_ETRUNC);
  /* Trailing byte; then a non-canonical bin16 header for the key. */
  n = make_id(buf, h, "baton/hs/sig/r", &honest);
  buf[n] = 0xc0;
  raw = (id_spec){.raw = buf, .raw_len = n + 1};
  cr_assert_eq(forge_reply(FX_ALICE, raw_id, &raw), BT_ETRAILING);
  memmove(buf + 4, buf + 3, n - 3);
  buf[1] = 0xc5, buf[2] = 0x00, buf[3] = 0x20;
  raw = (id_spec){.raw = buf, .raw_len = n + 1};
  cr_assert_eq(forge_finish(FX_BOB, raw_id, &raw), BT_ENONCANON);
}

/* ---- replays ---- */

Test(proto_handshake, a_replayed_reply_or_finish_fails)
{
  uint8_t hello[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, n;
  fx_trust t;
  proto_hs *i, *r;
  msgs old;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  run_ok(i, r, &old);
  proto_hs_free(i);
  proto_hs_free(r);

  /* A new session of Alice's gets yesterday's reply. */
  i = mk(FX_ALICE, 1, 0x43, &t);
  cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
  cr_assert_eq(proto_hs_recv(i, old.reply, old.rl, out, sizeof out, &n), BT_EDECRYPT);
  proto_hs_free(i);

  /* Bob, with a fresh ephemeral, gets yesterday's hello and finish. */
  r = mk(FX_BOB, 0, 0x44, &t);
  cr_assert_eq(proto_hs_recv(r, old.hello, old.hl, out, sizeof out, &n), BT_OK);
  cr_assert_eq(proto_hs_recv(r, old.finish, old.fl, out, sizeof out, &n), BT_EDECRYPT);
  cr_assert(!proto_hs_done(r));
  proto_hs_free(r);
}

/* ---- downgrades ---- */

static const bt_str ONLY_ATTACH[] = {BT_STR("attach")};

Test(proto_handshake, a_version_or_caps_downgrade_fails)
{
  static const bt_str caps[] = {BT_STR("attach"), BT_STR("zstd")};
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], t2[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, rl, tl, n;
  fx_trust t;
  fx_msg m;

  fx_trust_init(&t);
  for (int which = 0; which < 4; which++) {
    proto_hs *i = mk_v(FX_ALICE, 1, E_I, &t, 2, caps, N(caps));
    proto_hs *r = mk_v(FX_BOB, 0, E_R, &t, 2, caps, N(caps));
    int rc;

    cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
    if (which < 2) { /* the hello: version 1, or no zstd */
      fx_ref_parse(hello, hl, &m);
      tl = fx_ref_msg(t2, 1, which == 0 ? 1 : m.version, which == 1 ? ONLY_ATTACH : m.caps,
                      which == 1 ? 1 : m.ncaps, m.e, NULL, 0);
      cr_assert_eq(proto_hs_recv(r, t2, tl, reply, sizeof reply, &rl), BT_OK);
      rc = proto_hs_recv(i, reply, rl, out, sizeof out, &n);
    } else { /* the reply */
      cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
      fx_ref_parse(reply, rl, &m);
      tl = fx_ref_msg(t2, 2, which == 2 ? 1 : m.version, which == 3 ? ONLY_ATTACH : m.caps,
                      which == 3 ? 1 : m.ncaps, m.e, m.box, m.blen);
      rc = proto_hs_recv(i, t2, tl, out, sizeof out, &n);
    }
    cr_assert_eq(rc, BT_EDECRYPT, "downgrade %d: %s", which, bt_errname(rc));
    cr_assert(!proto_hs_done(i));
    proto_hs_free(i);
    proto_hs_free(r);
  }
}

/* ---- every bit flip, every truncation ---- */

typedef struct {
  int kind; /* 0 hello, 1 reply, 2 finish */
  int hello_accepted; /* flips of the hello the responder took */
} flip_stats;

/* Delivers a damaged copy of one message of s in a fresh session and
 * asserts that the session fails without completing where it matters. */
static void deliver_damaged(const msgs *s, int kind, const uint8_t *p, size_t len,
                            flip_stats *st, const char *what)
{
  uint8_t a[PROTO_HS_MAX], b[PROTO_HS_MAX];
  size_t al, bl;
  fx_trust t;
  proto_hs *i, *r;
  int rc;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  cr_assert_eq(proto_hs_start(i, a, sizeof a, &al), BT_OK);
  if (kind == 0) {
    rc = proto_hs_recv(r, p, len, a, sizeof a, &al);
    if (rc == BT_OK) { /* the damage is in the transcript: Alice must notice */
      st->hello_accepted++;
      rc = proto_hs_recv(i, a, al, b, sizeof b, &bl);
      cr_assert_neq(rc, BT_OK, "%s: accepted", what);
      cr_assert(!proto_hs_done(i), "%s", what);
    }
  } else if (kind == 1) {
    cr_assert_neq(proto_hs_recv(i, p, len, b, sizeof b, &bl), BT_OK, "%s: accepted", what);
    cr_assert(!proto_hs_done(i), "%s", what);
  } else {
    cr_assert_eq(proto_hs_recv(r, s->hello, s->hl, a, sizeof a, &al), BT_OK);
    cr_assert_neq(proto_hs_recv(r, p, len, b, sizeof b, &bl), BT_OK, "%s: accepted", what);
  }
  cr_assert(!proto_hs_done(r), "%s", what);
  proto_hs_free(i);
  proto_hs_free(r);
}

static void damage_all(int flips)
{
  fx_trust t;
  proto_hs *i, *r;
  flip_stats st = {0, 0};
  char what[64];
  msgs s;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  run_ok(i, r, &s);
  proto_hs_free(i);
  proto_hs_free(r);
  for (int kind = 0; kind < 3; kind++) {
    const uint8_t *msg = kind == 0 ? s.hello : kind == 1 ? s.reply : s.finish;
    size_t len = kind == 0 ? s.hl : kind == 1 ? s.rl : s.fl;
    uint8_t *copy = malloc(len);

    for (size_t k = 0; k < len; k++) {
      if (!flips) { /* truncation to k bytes, in an exact-size buffer */
        memcpy(copy, msg, k);
        snprintf(what, sizeof what, "message %d cut to %zu", kind, k);
        deliver_damaged(&s, kind, copy, k, &st, what);
        continue;
      }
      for (int bit = 0; bit < 8; bit++) {
        memcpy(copy, msg, len);
        copy[k] ^= (uint8_t)(1 << bit);
        snprintf(what, sizeof what, "message %d byte %zu bit %d", kind, k, bit);
        deliver_damaged(&s, kind, copy, len, &st, what);
      }
    }
    free(copy);
  }
  cr_log_info("hello %zu, reply %zu, finish %zu bytes; %d damaged hellos reached Alice",
              s.hl, s.rl, s.fl, st.hello_accepted);
}

Test(proto_handshake, every_bit_flip_of_every_message_fails_cleanly)
{
  damage_all(1);
}

Test(proto_handshake, every_truncation_of_every_message_fails_cleanly)
{
  damage_all(0);
}

/* ---- malformed hellos: each defect its own reason ---- */

typedef struct {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mp;

static void mp_init(mp *m)
{
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void raw(mp *m, const void *p, size_t n)
{
  msgpack_sbuffer_write(&m->sb, p, n);
}

static int to_responder(const void *p, size_t len)
{
  uint8_t *copy = malloc(len ? len : 1), out[PROTO_HS_MAX];
  fx_trust t;
  proto_hs *r;
  size_t n;
  int rc;

  fx_trust_init(&t);
  memcpy(copy, p, len);
  r = mk(FX_BOB, 0, E_R, &t);
  rc = proto_hs_recv(r, copy, len, out, sizeof out, &n);
  proto_hs_free(r);
  free(copy);
  return rc;
}

/* A hello with the given fields; NULL caps or e: put nothing (for the
 * tests that write their own). */
static void hello_of(mp *m, uint32_t n, uint64_t kind, uint64_t version, const bt_str *caps,
                     size_t ncaps, const uint8_t *e, size_t elen)
{
  mp_init(m);
  msgpack_pack_array(&m->pk, n);
  msgpack_pack_uint64(&m->pk, kind);
  msgpack_pack_uint64(&m->pk, version);
  if (caps || ncaps == 0) {
    msgpack_pack_array(&m->pk, ncaps);
    for (size_t i = 0; i < ncaps; i++)
      crdt_mp_pack_str(&m->pk, caps[i].p, caps[i].len);
  }
  if (e)
    crdt_mp_pack_bin(&m->pk, e, elen);
}

static void expect(mp *m, int want, const char *what)
{
  int rc = to_responder(m->sb.data, m->sb.size);

  cr_assert_eq(rc, want, "%s: got %s, want %s", what, bt_errname(rc), bt_errname(want));
  msgpack_sbuffer_destroy(&m->sb);
}

Test(proto_handshake, malformed_hellos_have_distinct_reasons)
{
  static const bt_str unsorted[] = {BT_STR("b"), BT_STR("a")};
  static const bt_str dup[] = {BT_STR("a"), BT_STR("a")};
  static const bt_str empty[] = {BT_STR("")};
  static const bt_str long1[] = {BT_STR("0123456789abcdef0123456789abcdefX")};
  static const bt_str max1[] = {BT_STR("0123456789abcdef0123456789abcdef")};
  bt_str many[PROTO_CAPS_MAX + 1];
  char names[PROTO_CAPS_MAX + 1][3];
  uint8_t e[33], pk[32], sk[32];
  mp m;

  fx_eph(0x77, pk, sk);
  memcpy(e, pk, 32);
  e[32] = 0;
  for (int k = 0; k <= PROTO_CAPS_MAX; k++) {
    names[k][0] = (char)('a' + k / 26), names[k][1] = (char)('a' + k % 26);
    many[k] = (bt_str){names[k], 2};
  }
  hello_of(&m, 4, 1, 1, max1, 1, e, 32);
  expect(&m, BT_OK, "valid");
  hello_of(&m, 4, 1, 1, many, PROTO_CAPS_MAX, e, 32);
  expect(&m, BT_OK, "32 caps");
  hello_of(&m, 4, 2, 1, NULL, 0, e, 32);
  expect(&m, BT_EPROTO, "kind 2");
  hello_of(&m, 5, 1, 1, NULL, 0, e, 32);
  msgpack_pack_nil(&m.pk);
  expect(&m, BT_EPROTO, "5 items");
  hello_of(&m, 3, 1, 1, NULL, 0, NULL, 0);
  expect(&m, BT_EPROTO, "3 items");
  hello_of(&m, 4, 1, 0, NULL, 0, e, 32);
  expect(&m, BT_EVERSION, "version 0");
  hello_of(&m, 4, 1, UINT64_C(1) << 32, NULL, 0, e, 32);
  expect(&m, BT_EVERSION, "version 2^32");
  hello_of(&m, 4, 1, 1, many, PROTO_CAPS_MAX + 1, e, 32);
  expect(&m, BT_ETOOBIG, "33 caps");
  hello_of(&m, 4, 1, 1, long1, 1, e, 32);
  expect(&m, BT_ETOOBIG, "33-byte cap");
  hello_of(&m, 4, 1, 1, empty, 1, e, 32);
  expect(&m, BT_EPROTO, "empty cap");
  hello_of(&m, 4, 1, 1, unsorted, 2, e, 32);
  expect(&m, BT_EPROTO, "unsorted caps");
  hello_of(&m, 4, 1, 1, dup, 2, e, 32);
  expect(&m, BT_EPROTO, "repeated cap");
  hello_of(&m, 4, 1, 1, NULL, 0, e, 31);
  expect(&m, BT_EPROTO, "31-byte key");
  hello_of(&m, 4, 1, 1, NULL, 0, e, 33);
  expect(&m, BT_EPROTO, "33-byte key");
  hello_of(&m, 4, 1, 1, NULL, 0, NULL, 0);
  crdt_mp_pack_str(&m.pk, (const char *)e, 32);
  expect(&m, BT_ETYPE, "key as str");
  hello_of(&m, 4, 1, 1, NULL, 1, NULL, 0);
  msgpack_pack_array(&m.pk, 1);
  crdt_mp_pack_bin(&m.pk, "x", 1);
  crdt_mp_pack_bin(&m.pk, e, 32);
  expect(&m, BT_ETYPE, "cap as bin");
  hello_of(&m, 4, 1, 1, NULL, 1, NULL, 0);
  msgpack_pack_map(&m.pk, 0);
  crdt_mp_pack_bin(&m.pk, e, 32);
  expect(&m, BT_ETYPE, "caps as map");
  hello_of(&m, 4, 1, 1, NULL, 1, NULL, 0);
  raw(&m, "\x91\x91\x01", 3);
  crdt_mp_pack_bin(&m.pk, e, 32);
  expect(&m, BT_EDEPTH, "caps nested");
  hello_of(&m, 4, 1, 1, NULL, 0, NULL, 0);
  raw(&m, "\xcb\0\0\0\0\0\0\0\0", 9);
  expect(&m, BT_ETYPE, "a float");
  hello_of(&m, 4, 1, 1, NULL, 0, e, 32);
  raw(&m, "\x00", 1);
  expect(&m, BT_ETRAILING, "trailing byte");
  hello_of(&m, 4, 1, 1, NULL, 0, e, 31);
  m.sb.size -= 1; /* the bin says 31 but 30 follow */
  expect(&m, BT_ETRUNC, "truncated");
  mp_init(&m);
  raw(&m, "\xdd\xff\xff\xff\xff\x01", 6);
  expect(&m, BT_ETRUNC, "array32 of 2^32-1");
  mp_init(&m);
  raw(&m, "\x01", 1);
  expect(&m, BT_ETYPE, "not an array");
  mp_init(&m);
  raw(&m, "\x94\x01\xcd\x00\x01\x90", 6); /* version 1 as uint16 */
  crdt_mp_pack_bin(&m.pk, e, 32);
  expect(&m, BT_ENONCANON, "long version");
  mp_init(&m);
  raw(&m, "\xdc\x00\x04\x01\x01\x90", 6); /* array16 of 4 */
  crdt_mp_pack_bin(&m.pk, e, 32);
  expect(&m, BT_ENONCANON, "long array header");
  mp_init(&m);
  raw(&m, "\x94\x01\x01\x90\xc5\x00\x20", 7); /* bin16 of 32 */
  raw(&m, e, 32);
  expect(&m, BT_ENONCANON, "long bin header");
  hello_of(&m, 4, 1, 1, NULL, 0, NULL, 0);
  crdt_mp_pack_bin(&m.pk, e, 32);
  raw(&m, "", 0);
  {
    uint8_t big[PROTO_HS_MAX + 1];

    memset(big, 0, sizeof big);
    memcpy(big, m.sb.data, m.sb.size);
    msgpack_sbuffer_destroy(&m.sb);
    cr_assert_eq(to_responder(big, sizeof big), BT_ETOOBIG, "over PROTO_HS_MAX");
  }
}

Test(proto_handshake, low_order_ephemeral_keys_are_refused)
{
  /* u = 0, u = 1 and a point of order 8: with a clamped scalar, the DH is
   * all zeroes and crypto_scalarmult fails. */
  static const uint8_t order8[32] = {
    0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
    0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  uint8_t pts[3][32] = {{0}, {1}, {0}};
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t hl, rl, n;
  fx_trust t;
  fx_msg m;

  memcpy(pts[2], order8, 32);
  fx_trust_init(&t);
  for (int k = 0; k < 3; k++) {
    proto_hs *i = mk(FX_ALICE, 1, E_I, &t), *r = mk(FX_BOB, 0, E_R, &t);

    hl = fx_ref_msg(hello, 1, 1, NULL, 0, pts[k], NULL, 0);
    cr_assert_eq(to_responder(hello, hl), BT_EAUTH, "responder, point %d", k);
    cr_assert_eq(proto_hs_start(i, hello, sizeof hello, &hl), BT_OK);
    cr_assert_eq(proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl), BT_OK);
    fx_ref_parse(reply, rl, &m);
    rl = fx_ref_msg(out, 2, m.version, m.caps, m.ncaps, pts[k], m.box, m.blen);
    cr_assert_eq(proto_hs_recv(i, out, rl, reply, sizeof reply, &n), BT_EAUTH,
                 "initiator, point %d", k);
    proto_hs_free(i);
    proto_hs_free(r);
  }
}

/* ---- the state machine's edges ---- */

Test(proto_handshake, errors_are_final_and_misuse_changes_nothing)
{
  uint8_t a[PROTO_HS_MAX], b[PROTO_HS_MAX], small[16];
  size_t al, bl;
  fx_trust t;
  proto_hs *i, *r;

  fx_trust_init(&t);
  i = mk(FX_ALICE, 1, E_I, &t);
  r = mk(FX_BOB, 0, E_R, &t);
  cr_assert_eq(proto_hs_start(r, a, sizeof a, &al), BT_EINVAL, "a responder does not start");
  cr_assert_eq(proto_hs_recv(i, a, 1, b, sizeof b, &bl), BT_EINVAL, "recv before start");
  cr_assert_eq(proto_hs_start(i, small, sizeof small, &al), BT_EINVAL, "small buffer");
  cr_assert_eq(proto_hs_start(i, a, sizeof a, &al), BT_OK, "still in its first state");
  cr_assert_eq(proto_hs_start(i, a, sizeof a, &al), BT_EINVAL, "twice");
  cr_assert_eq(proto_hs_recv(r, a, al, small, sizeof small, &bl), BT_EINVAL);
  cr_assert_eq(proto_hs_recv(r, a, al, b, sizeof b, &bl), BT_OK, "unchanged by misuse");
  b[bl - 1] ^= 1;
  cr_assert_eq(proto_hs_recv(i, b, bl, a, sizeof a, &al), BT_EDECRYPT);
  b[bl - 1] ^= 1;
  cr_assert_eq(proto_hs_recv(i, b, bl, a, sizeof a, &al), BT_EDECRYPT, "final");
  cr_assert(!proto_hs_done(i));
  proto_hs_free(i);
  proto_hs_free(r);
  proto_hs_free(NULL);
}

Test(proto_handshake, configuration_is_checked)
{
  static const bt_str unsorted[] = {BT_STR("b"), BT_STR("a")};
  static const bt_str toolong[] = {BT_STR("0123456789abcdef0123456789abcdefX")};
  uint8_t epk[32], esk[32], bad_sk[64];
  fx_trust t;
  proto_hs_config ok = {.initiator = 1, .sign_sk = P[FX_ALICE].sk,
                        .dev_cert = {P[FX_ALICE].dev, P[FX_ALICE].dlen},
                        .org_cert = {P[FX_ALICE].org, P[FX_ALICE].olen}, .version = 1,
                        .eph_pk = epk, .eph_sk = esk, .verify = fx_verify, .verify_ctx = &t};
  proto_hs_config c;
  proto_hs *hs = NULL;

  fx_trust_init(&t);
  fx_eph(E_I, epk, esk);
  cr_assert_eq(proto_hs_new(&hs, &ok), BT_OK);
  proto_hs_free(hs);
  hs = NULL;
  c = ok, c.version = 0;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "version 0");
  c = ok, c.caps = unsorted, c.ncaps = 2;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "unsorted caps");
  c = ok, c.caps = toolong, c.ncaps = 1;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "long cap");
  c = ok, c.eph_pk = P[FX_ALICE].pk;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "mismatched ephemeral pair");
  memcpy(bad_sk, P[FX_ALICE].sk, 64);
  bad_sk[40] ^= 1;
  c = ok, c.sign_sk = bad_sk;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "public half not the seed's");
  c = ok, c.dev_cert.len = 0;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "no certificate");
  c = ok, c.org_cert.len = CRDT_CERT_MAX + 1;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "certificate too big");
  c = ok, c.verify = NULL;
  cr_assert_eq(proto_hs_new(&hs, &c), BT_EINVAL, "no callback");
  cr_assert_null(hs);
}
