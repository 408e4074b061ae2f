/* tests/fuzz/mkcorpus.c: writes the libFuzzer seed corpus.
 *
 *   mkcorpus DIR
 *
 * For every known op type and a few seeds, a random valid body (gen.h)
 * sealed into an envelope with the key fuzz_op.c decrypts with, written as
 * DIR/op-TT-S.bin, and the plaintext body as DIR/body-TT-S.bin. Envelopes
 * carry 0 to 2 parents, and CRDT_PARENTS_MAX for the last seed; a body and an
 * op of a type this version does not know come last. Everything is a
 * function of the seeds, so the corpus is the same on every run and a fuzz
 * run from -seed=N replays exactly.
 *
 * For the protocol harnesses (fuzz_frame.c, fuzz_handshake.c), from the
 * fixed world of tests/proto/fixture.h: frame-*.bin, streams of framed
 * handshake messages behind fuzz_frame's three control bytes; and
 * hs-M-*.bin, inputs for each mode M of fuzz_handshake: a whole genuine
 * session (which completes), a genuine reply, and identity plaintexts
 * signed over the transcripts the harness's forger will compute.
 *
 * For fuzz_recon.c: recon-*.bin, the peer's side of honest exchanges with
 * each kind of side the harness plays (its item sets, either role, both
 * budgets), so runs start from messages that get deep into the engine.
 *
 * For fuzz_sync.c: sync-*.bin, valid session messages: one with a section
 * of each type and envelopes, the first message of a run, one past each
 * array's fixarray size, and a NUDGE.
 *
 * For fuzz_http.c: http-*.bin, fuzz_http's three control bytes (default or
 * tiny limits, a split seed) before streams a browser or an attacker would
 * send: pipelined GET and POST, a chunked body with a trailer, a form, and
 * smuggling attempts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/op.h"
#include "gen.h"
#include "proto/fixture.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "proto/recon.h"
#include "proto/sync.h"

#define SEEDS 4
#define BASE_MS UINT64_C(1775208600000)

/* Must match KEY in fuzz_op.c. */
static const uint8_t KEY[CRDT_KEY_LEN] = "baton fuzz corpus epoch key 32b";

static int put(const char *dir, const char *name, const void *p, size_t len)
{
  char path[4096];
  FILE *f;
  int ok;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((f = fopen(path, "wb")) == NULL) {
    perror(path);
    return -1;
  }
  ok = fwrite(p, 1, len, f) == len;
  ok = fclose(f) == 0 && ok;
  if (!ok)
    perror(path);
  return ok ? 0 : -1;
}

/* Seals b under a header from r with n parents; writes op-<tag>.bin. */
static int put_op(const char *dir, const char *tag, gen_rng *r, const crdt_body *b,
                  size_t nparents)
{
  crdt_id parents[CRDT_PARENTS_MAX];
  uint8_t nonce[CRDT_NONCE_LEN];
  crdt_header h = {.version = CRDT_OP_VERSION};
  crdt_op *op;
  gen_key k;
  char name[64];
  int rc;

  gen_keypair(gen_below(r, 3), &k);
  gen_bytes(r, h.file, CRDT_FILE_LEN);
  gen_bytes(r, h.epoch, CRDT_EPOCH_LEN);
  memcpy(h.author, k.pk, CRDT_PK_LEN);
  h.seq = 1 + gen_below(r, 1000);
  for (size_t i = 0; i < nparents; i++) {
    gen_bytes(r, &parents[i], sizeof parents[i]);
    parents[i].b[0] = (uint8_t)(i * 256 / (nparents + 1)); /* ascending */
  }
  h.parents = parents;
  h.nparents = nparents;
  h.hour = crdt_hlc_hour(b->hlc);
  gen_bytes(r, nonce, sizeof nonce);
  if ((rc = crdt_op_seal(&h, b, KEY, nonce, k.sk, &op)) != BT_OK) {
    fprintf(stderr, "mkcorpus: seal %s: %s\n", tag, bt_strerror(rc));
    return -1;
  }
  snprintf(name, sizeof name, "op-%s.bin", tag);
  rc = put(dir, name, op->env, op->env_len);
  crdt_op_free(op);
  return rc;
}

static int put_body(const char *dir, const char *tag, const crdt_body *b)
{
  msgpack_sbuffer sb;
  char name[64];
  int rc;

  msgpack_sbuffer_init(&sb);
  if ((rc = crdt_body_encode(b, &sb)) != BT_OK) {
    fprintf(stderr, "mkcorpus: encode %s: %s\n", tag, bt_strerror(rc));
    msgpack_sbuffer_destroy(&sb);
    return -1;
  }
  snprintf(name, sizeof name, "body-%s.bin", tag);
  rc = put(dir, name, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int one(const char *dir, uint32_t type, uint64_t seed)
{
  gen_arena *a = gen_arena_new();
  crdt_body b;
  gen_rng r;
  char tag[32];
  int rc;

  gen_seed(&r, seed * 1000 + type);
  gen_body(&r, a, type, crdt_hlc_make(BASE_MS + gen_below(&r, UINT64_C(1) << 36), 0), &b,
           NULL, 0);
  snprintf(tag, sizeof tag, "%02" PRIu32 "-%" PRIu64, type, seed);
  rc = put_body(dir, tag, &b);
  if (rc == 0)
    rc = put_op(dir, tag, &r, &b, seed == SEEDS ? CRDT_PARENTS_MAX : (size_t)seed - 1);
  gen_arena_free(a);
  return rc;
}

/* A body of a type this version does not know, kept raw. */
static int unknown(const char *dir)
{
  static const uint8_t map[] = {0x83, 0x01, 0x05, 0x02, 0xa3, 'n', 'e', 'w',
                                0x09, 0x92, 0xc3, 0xc4, 0x01, 0x00};
  crdt_body b = {.hlc = crdt_hlc_make(BASE_MS, 1), .type = 200, .user = BT_STR("dsl.new")};
  gen_rng r;

  b.raw = (bt_str){(const char *)map, sizeof map};
  gen_seed(&r, 200);
  if (put_body(dir, "unknown-200", &b) != 0)
    return -1;
  return put_op(dir, "unknown-200", &r, &b, 1);
}

/* Real certificates: an org certified by an LA, a device by the org. */
static int certs(const char *dir)
{
  crdt_cert_body org = {.kind = CRDT_CERT_ORG, .name = BT_STR("Oakfield Primary"),
                        .org_kind = CRDT_ORG_SCHOOL, .urn = BT_STR("100001"),
                        .laestab = BT_STR("8012000"), .not_before = BASE_MS,
                        .not_after = BASE_MS + 86400000ull * 365};
  crdt_cert_body dev = {.kind = CRDT_CERT_DEVICE, .name = BT_STR("DSL laptop"),
                        .not_before = BASE_MS, .not_after = BASE_MS + 86400000ull * 90};
  gen_key la, o, d;
  uint8_t *enc;
  size_t len;
  int rc;

  gen_keypair(900, &la);
  gen_keypair(901, &o);
  gen_keypair(902, &d);
  memcpy(org.subject.b, o.pk, 32);
  memcpy(org.issuer.b, la.pk, 32);
  memset(org.box.b, 0x42, 32);
  memcpy(dev.subject.b, d.pk, 32);
  memcpy(dev.issuer.b, o.pk, 32);
  if (crdt_cert_sign(&org, la.sk, &enc, &len) != 0)
    return -1;
  rc = put(dir, "cert-org", enc, len);
  free(enc);
  if (rc != 0 || crdt_cert_sign(&dev, o.sk, &enc, &len) != 0)
    return -1;
  rc = put(dir, "cert-device", enc, len);
  free(enc);
  return rc;
}

/* ---- protocol seeds ---- */

/* Must match fuzz_handshake.c. */
#define HS_E_I 0x41
#define HS_E_R 0x42
#define HS_E_M 0x5E

typedef struct {
  uint8_t hello[PROTO_HS_MAX], reply[PROTO_HS_MAX], finish[PROTO_HS_MAX];
  size_t hl, rl, fl;
} hs_session;

static int session(const fx_party *a, const fx_party *b, hs_session *s)
{
  uint8_t none[PROTO_HS_MAX];
  fx_trust t;
  proto_hs *i, *r;
  size_t n;
  int rc;

  fx_trust_init(&t);
  i = fx_hs(a, 1, HS_E_I, &t);
  r = fx_hs(b, 0, HS_E_R, &t);
  rc = proto_hs_start(i, s->hello, sizeof s->hello, &s->hl);
  if (rc == BT_OK)
    rc = proto_hs_recv(r, s->hello, s->hl, s->reply, sizeof s->reply, &s->rl);
  if (rc == BT_OK)
    rc = proto_hs_recv(i, s->reply, s->rl, s->finish, sizeof s->finish, &s->fl);
  if (rc == BT_OK)
    rc = proto_hs_recv(r, s->finish, s->fl, none, sizeof none, &n);
  proto_hs_free(i);
  proto_hs_free(r);
  if (rc != BT_OK)
    fprintf(stderr, "mkcorpus: handshake: %s\n", bt_strerror(rc));
  return rc == BT_OK ? 0 : -1;
}

/* Appends one frame of p to buf. */
static size_t framed(uint8_t *buf, size_t at, const void *p, size_t len)
{
  size_t n;

  if (proto_frame_encode(p, len, PROTO_FRAME_MAX_CAP, buf + at, 4 * PROTO_HS_MAX, &n) != BT_OK)
    abort();
  return at + n;
}

static int frame_seeds(const char *dir, const hs_session *s)
{
  static const uint8_t small[70] = {0x92, 0x01, 0xa1, 'x'};
  static uint8_t buf[16 * PROTO_HS_MAX];
  size_t n;

  /* Default maximum; the three handshake messages. */
  buf[0] = 3, buf[1] = 0x12, buf[2] = 0x34;
  n = framed(buf, 3, s->hello, s->hl);
  n = framed(buf, n, s->reply, s->rl);
  n = framed(buf, n, s->finish, s->fl);
  if (put(dir, "frame-handshake.bin", buf, n) != 0)
    return -1;
  /* A 64-byte maximum: frames of 1, 4 and 64 bytes, then one of 65. */
  buf[0] = 0, buf[1] = 0, buf[2] = 1;
  n = framed(buf, 3, small, 1);
  n = framed(buf, n, small, 4);
  n = framed(buf, n, small, 64);
  n = framed(buf, n, small, 65);
  if (put(dir, "frame-small.bin", buf, n) != 0)
    return -1;
  /* A frame, then a length of 0. */
  buf[0] = 1, buf[1] = 0xff, buf[2] = 0xff;
  n = framed(buf, 3, small, 4);
  memset(buf + n, 0, 4);
  return put(dir, "frame-zero.bin", buf, n + 4);
}

/* mode byte || p, as a seed file. */
static int put_mode(const char *dir, const char *name, uint8_t mode, const uint8_t *p,
                    size_t len)
{
  static uint8_t buf[2 * PROTO_HS_MAX + 3];

  buf[0] = mode;
  memcpy(buf + 1, p, len);
  return put(dir, name, buf, len + 1);
}

static int id_seed(const char *dir, const char *name, uint8_t mode, const fx_party *who,
                   const fx_forger *f)
{
  uint8_t id[PROTO_HS_MAX];
  size_t n = fx_ref_id(id, who->pk, who->sk, f->slabel, f->h, who->dev, who->dlen, who->org,
                       who->olen);

  return put_mode(dir, name, mode, id, n);
}

static int handshake_seeds(const char *dir, const hs_session *s, const fx_party *bob,
                           const fx_party *insider, const fx_party *outsider)
{
  uint8_t buf[3 * PROTO_HS_MAX], hello[PROTO_HS_MAX], reply[PROTO_HS_MAX];
  size_t hl, rl;
  fx_forger f;
  fx_trust t;
  proto_hs *r;
  int rc;

  buf[0] = (uint8_t)(s->hl >> 8), buf[1] = (uint8_t)s->hl;
  memcpy(buf + 2, s->hello, s->hl);
  memcpy(buf + 2 + s->hl, s->finish, s->fl);
  if (put_mode(dir, "hs-0-session.bin", 0, buf, 2 + s->hl + s->fl) != 0 ||
      put_mode(dir, "hs-0-hello.bin", 0, buf, 2 + s->hl) != 0 ||
      put_mode(dir, "hs-1-reply.bin", 1, s->reply, s->rl) != 0)
    return -1;
  /* Mode 2: the forger answers Alice's hello (the session's: same key). */
  fx_forge_reply_begin(&f, s->hello, s->hl, HS_E_M);
  if (id_seed(dir, "hs-2-insider.bin", 2, insider, &f) != 0 ||
      id_seed(dir, "hs-2-outsider.bin", 2, outsider, &f) != 0)
    return -1;
  /* Mode 3: the forger's hello to Bob, and Bob's reply. */
  fx_trust_init(&t);
  r = fx_hs(bob, 0, HS_E_R, &t);
  hl = fx_forge_hello(hello, HS_E_M);
  rc = proto_hs_recv(r, hello, hl, reply, sizeof reply, &rl);
  proto_hs_free(r);
  if (rc != BT_OK)
    return -1;
  fx_forge_finish_begin(&f, hello, hl, reply, rl, HS_E_M);
  if (id_seed(dir, "hs-3-insider.bin", 3, insider, &f) != 0 ||
      id_seed(dir, "hs-3-outsider.bin", 3, outsider, &f) != 0)
    return -1;
  return 0;
}

static int protocol(const char *dir)
{
  static hs_session s;
  fx_party alice, bob, insider, outsider;
  int rc = -1;

  fx_party_make(FX_ALICE, &alice);
  fx_party_make(FX_BOB, &bob);
  fx_party_make(FX_INSIDER, &insider);
  fx_party_make(FX_OUTSIDER, &outsider);
  if (session(&alice, &bob, &s) == 0 && frame_seeds(dir, &s) == 0 &&
      handshake_seeds(dir, &s, &bob, &insider, &outsider) == 0)
    rc = 0;
  fx_party_free(&alice);
  fx_party_free(&bob);
  fx_party_free(&insider);
  fx_party_free(&outsider);
  return rc;
}

/* ---- reconciliation seeds ---- */

static uint64_t recon_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static int recon_order(const void *x, const void *y)
{
  const proto_recon_item *a = x, *b = y;

  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return memcmp(a->id.b, b->id.b, CRDT_ID_LEN);
}

static void recon_items(uint64_t s, int spread, proto_recon_item *items, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    items[i].ts = 490000 + (uint32_t)(spread ? recon_next(&s) % 100000 : recon_next(&s) % 3);
    for (int k = 0; k < 4; k++) {
      uint64_t v = recon_next(&s);

      memcpy(items[i].id.b + 8 * k, &v, 8);
    }
  }
}

/* Must match recon_set in fuzz_recon.c. */
static size_t recon_set(int which, proto_recon_item *items)
{
  static const size_t sizes[] = {40, 2000, 0, 1};
  size_t n = sizes[which];

  recon_items(0x9e3779b97f4a7c15u + (uint64_t)which, which == 1, items, n);
  qsort(items, n, sizeof *items, recon_order);
  return n;
}

/* Runs an honest exchange between the harness's side (mode byte m) and a
 * peer holding the side's items but every drop-th, plus extra new ones;
 * writes the peer's messages as the harness reads them. */
static int recon_seed(const char *dir, const char *name, uint8_t m, size_t drop, size_t extra)
{
  static proto_recon_item side[2000], peer[4000];
  static uint8_t seed[1 << 17], a[PROTO_RECON_MSG_MAX], b[PROTO_RECON_MSG_MAX];
  proto_recon_opts small = {.budget = PROTO_RECON_BUDGET_MIN, .threshold = 8};
  size_t ns = recon_set(m >> 1 & 3, side), np = 0, len, olen, at = 1;
  proto_recon *r[2]; /* r[0] the harness's side, r[1] the peer */
  int turn, rc;

  for (size_t i = 0; i < ns; i++)
    if (drop == 0 || i % drop != 0)
      peer[np++] = side[i];
  recon_items(extra * 7919, m >> 1 & 1, peer + np, extra);
  qsort(peer, np += extra, sizeof *peer, recon_order);
  if (proto_recon_new(&r[0], m & 1, side, ns, m & 8 ? &small : NULL) != BT_OK ||
      proto_recon_new(&r[1], !(m & 1), peer, np, m & 8 ? &small : NULL) != BT_OK)
    return -1;
  turn = m & 1 ? 0 : 1; /* who starts */
  rc = proto_recon_start(r[turn], a, sizeof a, &len);
  seed[0] = m;
  while (rc == BT_OK && len > 0) {
    if (turn == 1 && (len > 0xffff || at + 2 + len > sizeof seed))
      break;
    if (turn == 1) {
      seed[at] = (uint8_t)(len >> 8), seed[at + 1] = (uint8_t)len;
      memcpy(seed + at + 2, a, len);
      at += 2 + len;
    }
    rc = proto_recon_recv(r[!turn], a, len, b, sizeof b, &olen);
    memcpy(a, b, olen);
    len = olen;
    turn = !turn;
  }
  proto_recon_free(r[0]);
  proto_recon_free(r[1]);
  if (rc != BT_OK) {
    fprintf(stderr, "mkcorpus: recon %s: %s\n", name, bt_strerror(rc));
    return -1;
  }
  return put(dir, name, seed, at);
}

static int recon_seeds(const char *dir)
{
  return recon_seed(dir, "recon-resp-40.bin", 0 << 1, 5, 4) ||
         recon_seed(dir, "recon-resp-2000.bin", 1 << 1, 97, 30) ||
         recon_seed(dir, "recon-resp-2000-small.bin", 8 | 1 << 1, 13, 200) ||
         recon_seed(dir, "recon-resp-empty.bin", 2 << 1, 0, 60) ||
         recon_seed(dir, "recon-resp-same.bin", 0 << 1, 0, 0) ||
         recon_seed(dir, "recon-init-40.bin", 1 | 0 << 1, 3, 9) ||
         recon_seed(dir, "recon-init-2000.bin", 1 | 1 << 1, 50, 10) ||
         recon_seed(dir, "recon-init-2000-small.bin", 1 | 8 | 1 << 1, 7, 300) ||
         recon_seed(dir, "recon-init-one.bin", 1 | 3 << 1, 0, 3) ||
         recon_seed(dir, "recon-init-empty-small.bin", 1 | 8 | 2 << 1, 0, 500);
}

/* ---- sync session seeds ---- */

static int sync_put(const char *dir, const char *name, proto_sync_enc *e)
{
  uint8_t *out;
  size_t len;
  int rc;

  if ((rc = proto_sync_enc_finish(e, &out, &len)) != BT_OK) {
    fprintf(stderr, "mkcorpus: sync %s: %s\n", name, bt_strerror(rc));
    proto_sync_enc_free(e);
    return -1;
  }
  rc = put(dir, name, out, len);
  free(out);
  proto_sync_enc_free(e);
  return rc;
}

/* Sections of every type (WANT with nids ids), files 0x10 + k. */
static int sync_sections(proto_sync_enc *e, size_t n, size_t nids)
{
  static uint8_t ids[32 * PROTO_SYNC_WANT_MAX], msg[40];
  static proto_sync_vv vv[3];
  proto_sync_section s;

  for (size_t i = 0; i < sizeof ids; i++)
    ids[i] = (uint8_t)(i * 7);
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(0x90 + i);
  for (size_t k = 0; k < n; k++) {
    memset(&s, 0, sizeof s);
    memset(s.file, (int)(0x10 + k), sizeof s.file);
    s.what = (uint8_t[]){PROTO_SYNC_S_RECON, PROTO_SYNC_S_FAST, PROTO_SYNC_S_WANT,
                         PROTO_SYNC_S_OUT, PROTO_SYNC_S_VV}[k % 5];
    s.recon = (bt_bytes){msg, 1 + k % sizeof msg};
    s.count = (uint64_t)1 << (k % 64);
    memset(s.sum, (int)k, sizeof s.sum);
    s.ids = ids;
    s.nids = s.what == PROTO_SYNC_S_WANT ? nids : 0;
    for (size_t j = 0; j < 3; j++) {
      memset(vv[j].author, (int)(0x40 + j), sizeof vv[j].author);
      vv[j].seq = 1 + j * 1000;
    }
    s.vv = s.what == PROTO_SYNC_S_VV ? vv : NULL;
    s.nvv = s.what == PROTO_SYNC_S_VV ? k % 4 : 0;
    if (proto_sync_enc_section(e, &s) != BT_OK)
      return -1;
  }
  return 0;
}

static int sync_envs(proto_sync_enc *e, size_t n, size_t len)
{
  static uint8_t env[1024];

  for (size_t i = 0; i < sizeof env; i++)
    env[i] = (uint8_t)(i ^ 0x5a);
  for (size_t k = 0; k < n; k++)
    if (proto_sync_enc_env(e, env, 1 + (len + k) % sizeof env) != BT_OK)
      return -1;
  return 0;
}

static int sync_seeds(const char *dir)
{
  static const uint8_t digest[PROTO_SYNC_DIGEST_LEN] = "baton fuzz corpus state digest!";
  static const uint8_t frecon[] = {0x92, 0x01, 0x91, 0x93, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0,
                                   0xc4, 0x00, 0x00};
  static const uint8_t nudge[] = {0x91, PROTO_SYNC_NUDGE};
  proto_sync_enc *e;

  if (put(dir, "sync-nudge.bin", nudge, sizeof nudge) != 0)
    return -1;
  if (proto_sync_enc_new(&e, 1, 0, PROTO_SYNC_START, NULL, (bt_bytes){frecon, sizeof frecon}) !=
          BT_OK ||
      sync_put(dir, "sync-start.bin", e) != 0)
    return -1;
  if (proto_sync_enc_new(&e, 70000, 3, PROTO_SYNC_FAST | PROTO_SYNC_IDLE, digest,
                         (bt_bytes){NULL, 0}) != BT_OK)
    return -1;
  if (sync_sections(e, 5, 2) != 0 || sync_envs(e, 2, 300) != 0) {
    proto_sync_enc_free(e);
    return -1;
  }
  if (sync_put(dir, "sync-all.bin", e) != 0)
    return -1;
  if (proto_sync_enc_new(&e, UINT32_MAX, 200, PROTO_SYNC_END | PROTO_SYNC_FALLBACK, NULL,
                         (bt_bytes){frecon, sizeof frecon}) != BT_OK)
    return -1;
  if (sync_sections(e, 17, 17) != 0 || sync_envs(e, 17, 20) != 0) {
    proto_sync_enc_free(e);
    return -1;
  }
  return sync_put(dir, "sync-many.bin", e);
}

/* The three control bytes of fuzz_http.c (byte 0 odd: tiny limits), then
 * one connection's stream. */
static int http_seeds(const char *dir)
{
  static const char *const streams[] = {
    ("GET /files/a%20b?x=1&y=%C3%A9 HTTP/1.1\r\nHost: localhost:8080\r\n"
     "Cookie: theme=dark; baton_session=AbC-_123\r\nAccept: text/html\r\n\r\n"
     "GET /app.css HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"),
    ("POST /concerns HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
     "Content-Length: 37\r\n\r\nwords=%22he+hit+me%22&part=a&part=b&x\r\n"
     "HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    ("PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     "4\r\nname\r\n7;ext=1\r\n=a%20b&\r\n0\r\nTrailer-X: t\r\n\r\n"
     "DELETE /s/1 HTTP/1.0\r\n\r\n"),
    ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
     "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("GET /%2e%2e/x%00 HTTP/1.1\r\nHost: h\r\nX-A: a\r\n folded\r\n\r\n"),
  };
  char name[32];
  uint8_t buf[1024];

  for (size_t i = 0; i < sizeof streams / sizeof *streams; i++)
    for (uint8_t mode = 0; mode < 2; mode++) {
      size_t n = strlen(streams[i]);
      buf[0] = (uint8_t)(mode ? 0x81 : 0x00);
      buf[1] = (uint8_t)(0x5a + i);
      buf[2] = 0xa5;
      memcpy(buf + 3, streams[i], n);
      snprintf(name, sizeof name, "http-%zu-%u.bin", i, mode);
      if (put(dir, name, buf, n + 3) != 0)
        return -1;
    }
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mkcorpus DIR\n");
    return 2;
  }
  for (uint32_t type = 1; type < CRDT_OP_KNOWN_END; type++)
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
      if (one(argv[1], type, seed) != 0)
        return 1;
  return unknown(argv[1]) != 0 || certs(argv[1]) != 0 || protocol(argv[1]) != 0 ||
         recon_seeds(argv[1]) != 0 || sync_seeds(argv[1]) != 0 ||
         http_seeds(argv[1]) != 0;
}
