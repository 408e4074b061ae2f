/* tests/proto/test_sync.c: the sync session's messages (proto/sync.h).
 *
 * Property: for hundreds of seeds, a random SYNC message (every section
 * type, sizes that cross each msgpack header boundary) encodes to
 * msgpack-c's canonical form, decodes to exactly what was put in, and
 * re-encodes to the same bytes; the encoder's size bound grows by exactly
 * each addition's cost and ends at most 8 bytes above the final size. Then
 * every rule and limit is checked at the limit and one above, every error
 * with its own code; non-canonical spellings are refused; every cut of a
 * valid message is BT_ETRUNC and every bit flip either fails cleanly or
 * reads as another canonical message (run this under the ASan build too:
 * every input is an exact-size copy). A golden vector pins the wire format
 * (tests/proto/vectors/sync.txt; regenerate only deliberately:
 *
 *   BT_PROTO_WRITE_VECTORS=1 build/tests/test_proto_sync
 *
 * as test_vectors.c does for the other vectors). */
#include "proto/sync.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/gen.h"
#include "crdt/mp.h"
#include "proto/frame.h"
#include "proto/golden.h"

TestSuite(proto_sync);

/* ---- decoding an exact-size copy ---- */

typedef struct {
  uint8_t *p;
  size_t len;
  int kind;
  proto_sync_msg msg;
} decoded;

/* Decodes a copy of p[0..len) (kept in d->p, so borrowed fields stay
 * valid); on failure checks that nothing was written. */
static int dec(const void *p, size_t len, decoded *d)
{
  proto_sync_msg sentinel;
  int rc;

  d->p = malloc(len ? len : 1);
  cr_assert_not_null(d->p);
  if (len)
    memcpy(d->p, p, len);
  d->len = len;
  d->kind = -7;
  memset(&d->msg, 0xa5, sizeof d->msg);
  memset(&sentinel, 0xa5, sizeof sentinel);
  rc = proto_sync_decode(d->p, len, &d->kind, &d->msg);
  if (rc != BT_OK || d->kind == PROTO_SYNC_NUDGE) {
    cr_assert(rc != BT_OK || len == 2, "a NUDGE is two bytes");
    cr_assert_eq(memcmp(&d->msg, &sentinel, sizeof sentinel), 0, "msg written (%s)",
                 bt_errname(rc));
    cr_assert(rc == BT_OK || d->kind == -7, "kind written on error");
    memset(&d->msg, 0, sizeof d->msg);
  }
  return rc;
}

static void undec(decoded *d)
{
  if (d->kind == PROTO_SYNC_MSG)
    proto_sync_msg_free(&d->msg);
  free(d->p);
  d->p = NULL;
}

static void expect_bytes(const void *p, size_t len, int want, const char *what)
{
  decoded d;
  int rc = dec(p, len, &d);

  cr_assert_eq(rc, want, "%s: got %s, want %s", what, bt_errname(rc), bt_errname(want));
  undec(&d);
}

/* ---- a raw message builder, for what the encoder will not write ---- */

typedef struct {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mb;

static void mb_init(mb *m)
{
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mb_raw(mb *m, const void *p, size_t n)
{
  msgpack_sbuffer_write(&m->sb, p, n);
}

static void mb_uint(mb *m, uint64_t v)
{
  msgpack_pack_uint64(&m->pk, v);
}

static void mb_bin(mb *m, size_t len, uint8_t fill)
{
  uint8_t *p = malloc(len ? len : 1);

  cr_assert_not_null(p);
  memset(p, fill, len);
  msgpack_pack_bin(&m->pk, len);
  if (len)
    msgpack_pack_bin_body(&m->pk, p, len);
  free(p);
}

static void mb_array(mb *m, size_t n)
{
  msgpack_pack_array(&m->pk, n);
}

/* [1, run, n, flags, bin(dlen), bin(flen), ... with `fields` items. */
static void mb_head(mb *m, uint32_t fields, uint64_t run, uint64_t n, uint64_t flags, size_t dlen,
                    size_t flen)
{
  mb_init(m);
  mb_array(m, fields);
  mb_uint(m, PROTO_SYNC_MSG);
  mb_uint(m, run);
  mb_uint(m, n);
  mb_uint(m, flags);
  mb_bin(m, dlen, 0xd1);
  mb_bin(m, flen, 0xf2);
}

/* A plain message's head: run 9, n 1, no flags, no digest, no frecon. */
static void mb_plain(mb *m)
{
  mb_head(m, 8, 9, 1, 0, 0, 0);
}

/* [file, what, ...] with `fields` items and a file of flen bytes. */
static void mb_sec(mb *m, uint32_t fields, size_t flen, uint64_t what)
{
  mb_array(m, fields);
  mb_bin(m, flen, 0x5f);
  mb_uint(m, what);
}

static void mb_want(mb *m, size_t nids, size_t idlen)
{
  mb_sec(m, 3, 16, PROTO_SYNC_S_WANT);
  mb_array(m, nids);
  for (size_t k = 0; k < nids; k++)
    mb_bin(m, idlen, (uint8_t)k);
}

static void expect(mb *m, int want, const char *what)
{
  expect_bytes(m->sb.data, m->sb.size, want, what);
  msgpack_sbuffer_destroy(&m->sb);
}

/* A plain head, one section from the caller, no envelopes: the caller
 * writes the section between mb_one and expect. */
static void mb_one(mb *m)
{
  mb_plain(m);
  mb_array(m, 1);
}

/* ---- random messages ---- */

typedef struct {
  uint32_t run, n;
  uint8_t flags;
  int has_digest;
  uint8_t digest[PROTO_SYNC_DIGEST_LEN];
  bt_bytes frecon;
  proto_sync_section *secs;
  size_t ns;
  bt_bytes *envs;
  size_t ne;
  gen_arena *a;
} spec;

/* A value of random magnitude: every msgpack integer size turns up. */
static uint64_t mag(gen_rng *g)
{
  return gen_u64(g) >> gen_below(g, 64);
}

static size_t rand_len(gen_rng *g, size_t max)
{
  static const size_t edges[] = {1, 2, 15, 16, 255, 256, 257, 65535, 65536, 65537};
  size_t n;

  if (gen_below(g, 8) == 0) {
    n = edges[gen_below(g, sizeof edges / sizeof edges[0])];
    if (n <= max && (n < 4096 || gen_below(g, 4) == 0))
      return n;
  }
  return 1 + gen_below(g, max < 300 ? max : 300);
}

static bt_bytes rand_bytes(gen_rng *g, gen_arena *a, size_t len)
{
  uint8_t *p = gen_alloc(a, len ? len : 1);

  gen_bytes(g, p, len);
  return (bt_bytes){len ? p : NULL, len};
}

static void rand_section(gen_rng *g, gen_arena *a, proto_sync_section *s)
{
  static const uint8_t whats[] = {PROTO_SYNC_S_RECON, PROTO_SYNC_S_FAST, PROTO_SYNC_S_WANT,
                                  PROTO_SYNC_S_OUT, PROTO_SYNC_S_VV};

  memset(s, 0, sizeof *s);
  gen_bytes(g, s->file, sizeof s->file);
  s->what = whats[gen_below(g, 5)];
  switch (s->what) {
  case PROTO_SYNC_S_RECON:
    s->recon = rand_bytes(g, a, rand_len(g, 70000));
    break;
  case PROTO_SYNC_S_FAST:
    s->count = mag(g);
    gen_bytes(g, s->sum, sizeof s->sum);
    break;
  case PROTO_SYNC_S_WANT:
    s->nids = gen_below(g, 10) == 0 ? PROTO_SYNC_WANT_MAX - gen_below(g, 30) : 1 + gen_below(g, 20);
    s->ids = rand_bytes(g, a, 32 * s->nids).p;
    break;
  case PROTO_SYNC_S_VV: {
    /* authors ascending: increasing first bytes, random rest */
    proto_sync_vv *vv;
    s->nvv = gen_below(g, 8) == 0 ? PROTO_SYNC_VV_MAX : gen_below(g, 6);
    vv = gen_alloc(a, (s->nvv ? s->nvv : 1) * sizeof(*vv));
    for (size_t k = 0; k < s->nvv; k++) {
      gen_bytes(g, vv[k].author, sizeof vv[k].author);
      vv[k].author[0] = (uint8_t)k;
      vv[k].seq = 1 + mag(g) % UINT64_MAX;
    }
    s->vv = s->nvv ? vv : NULL;
    break;
  }
  default:
    break;
  }
}

static void rand_spec(gen_rng *g, spec *s)
{
  static const uint8_t extra[] = {0, PROTO_SYNC_IDLE, PROTO_SYNC_END, PROTO_SYNC_FALLBACK,
                                  PROTO_SYNC_IDLE | PROTO_SYNC_END};
  size_t many;

  memset(s, 0, sizeof *s);
  s->a = gen_arena_new();
  s->run = (uint32_t)(gen_below(g, 4) == 0 ? UINT32_MAX - gen_below(g, 2) : mag(g));
  s->n = gen_below(g, 3) == 0 ? 0 : (uint32_t)(gen_below(g, 5) == 0 ? UINT32_MAX : mag(g));
  if (s->n == 0 && gen_below(g, 2))
    s->n = 1;
  s->flags = extra[gen_below(g, sizeof extra)] | (s->n == 0 ? PROTO_SYNC_START : 0);
  if ((s->has_digest = (int)gen_below(g, 2)) != 0) {
    s->flags |= PROTO_SYNC_FAST;
    gen_bytes(g, s->digest, sizeof s->digest);
  }
  s->frecon = gen_below(g, 3) == 0 ? (bt_bytes){NULL, 0} : rand_bytes(g, s->a, rand_len(g, 70000));
  many = gen_below(g, 6);
  s->ns = many == 0 ? 0 : many == 1 ? 14 + gen_below(g, 4) : many == 2 ? 200 : gen_below(g, 20);
  s->secs = gen_alloc(s->a, (s->ns + 1) * sizeof *s->secs);
  for (size_t k = 0; k < s->ns; k++)
    rand_section(g, s->a, &s->secs[k]);
  many = gen_below(g, 6);
  s->ne = many == 0 ? 0 : many == 1 ? 14 + gen_below(g, 4) : many == 2 ? 300 : gen_below(g, 20);
  s->envs = gen_alloc(s->a, (s->ne + 1) * sizeof *s->envs);
  for (size_t k = 0; k < s->ne; k++)
    s->envs[k] = rand_bytes(g, s->a, rand_len(g, 70000));
}

static size_t bin_hdr(size_t len)
{
  return len < 256 ? 2 : len < 65536 ? 3 : 5;
}

/* Encodes s, checking the size bound after every step. */
static void encode(const spec *s, uint64_t seed, uint8_t **out, size_t *len)
{
  proto_sync_enc *e;
  size_t was, bound;

  cr_assert_eq(proto_sync_enc_new(&e, s->run, s->n, s->flags & ~PROTO_SYNC_IDLE,
                                  s->has_digest ? s->digest : NULL, s->frecon),
               BT_OK, "seed %" PRIu64, seed);
  for (size_t k = 0, j = 0; k < s->ns || j < s->ne;) { /* interleaved */
    was = proto_sync_enc_size(e);
    if (k < s->ns && (j == s->ne || (k + j) % 3 != 0)) {
      cr_assert_eq(proto_sync_enc_section(e, &s->secs[k]), BT_OK, "seed %" PRIu64, seed);
      cr_assert_eq(proto_sync_enc_size(e), was + proto_sync_section_size(&s->secs[k]),
                   "seed %" PRIu64 ": a section costs section_size", seed);
      k++;
    } else {
      cr_assert_eq(proto_sync_enc_env(e, s->envs[j].p, s->envs[j].len), BT_OK,
                   "seed %" PRIu64, seed);
      cr_assert_eq(proto_sync_enc_size(e), was + s->envs[j].len + bin_hdr(s->envs[j].len),
                   "seed %" PRIu64 ": an envelope costs its bin", seed);
      j++;
    }
  }
  proto_sync_enc_flags(e, s->flags);
  bound = proto_sync_enc_size(e);
  cr_assert_eq(proto_sync_enc_finish(e, out, len), BT_OK, "seed %" PRIu64, seed);
  cr_assert(*len <= bound && bound <= *len + 8, "seed %" PRIu64 ": bound %zu, size %zu", seed,
            bound, *len);
  proto_sync_enc_free(e);
}

static int inside(const uint8_t *p, size_t len, const decoded *d)
{
  return p >= d->p && p + len <= d->p + d->len;
}

static void check_equal(const spec *s, const decoded *d, uint64_t seed)
{
  const proto_sync_msg *m = &d->msg;

  cr_assert_eq(d->kind, PROTO_SYNC_MSG, "seed %" PRIu64, seed);
  cr_assert(m->run == s->run && m->n == s->n && m->flags == s->flags, "seed %" PRIu64, seed);
  cr_assert_eq(m->has_digest, s->has_digest, "seed %" PRIu64, seed);
  cr_assert(!s->has_digest || memcmp(m->digest, s->digest, 32) == 0, "seed %" PRIu64, seed);
  cr_assert_eq(m->frecon.len, s->frecon.len, "seed %" PRIu64, seed);
  cr_assert(m->frecon.len == 0 ? m->frecon.p == NULL
                               : inside(m->frecon.p, m->frecon.len, d) &&
                                     memcmp(m->frecon.p, s->frecon.p, s->frecon.len) == 0,
            "seed %" PRIu64 ": frecon", seed);
  cr_assert_eq(m->nsections, s->ns, "seed %" PRIu64, seed);
  for (size_t k = 0; k < s->ns; k++) {
    const proto_sync_section *a = &m->sections[k], *b = &s->secs[k];

    cr_assert(memcmp(a->file, b->file, 16) == 0 && a->what == b->what, "seed %" PRIu64, seed);
    cr_assert(a->recon.len == b->recon.len && a->count == b->count && a->nids == b->nids,
              "seed %" PRIu64 " section %zu", seed, k);
    if (a->what == PROTO_SYNC_S_RECON)
      cr_assert(inside(a->recon.p, a->recon.len, d) &&
                    memcmp(a->recon.p, b->recon.p, b->recon.len) == 0,
                "seed %" PRIu64 " section %zu: borrowed msg", seed, k);
    if (a->what == PROTO_SYNC_S_FAST)
      cr_assert(memcmp(a->sum, b->sum, 32) == 0, "seed %" PRIu64, seed);
    if (a->what == PROTO_SYNC_S_WANT)
      cr_assert(!inside(a->ids, 32 * a->nids, d) && memcmp(a->ids, b->ids, 32 * b->nids) == 0,
                "seed %" PRIu64 " section %zu: owned ids", seed, k);
    else
      cr_assert_null(a->ids, "seed %" PRIu64, seed);
    cr_assert_eq(a->nvv, b->nvv, "seed %" PRIu64 " section %zu", seed, k);
    for (size_t j = 0; j < a->nvv; j++)
      cr_assert(memcmp(a->vv[j].author, b->vv[j].author, 32) == 0 && a->vv[j].seq == b->vv[j].seq,
                "seed %" PRIu64 " section %zu: vv %zu", seed, k, j);
  }
  cr_assert_eq(m->nenvs, s->ne, "seed %" PRIu64, seed);
  for (size_t k = 0; k < s->ne; k++)
    cr_assert(m->envs[k].len == s->envs[k].len && inside(m->envs[k].p, m->envs[k].len, d) &&
                  memcmp(m->envs[k].p, s->envs[k].p, s->envs[k].len) == 0,
              "seed %" PRIu64 " envelope %zu", seed, k);
}

/* The decoded message, encoded again. */
static void reencode(const proto_sync_msg *m, uint8_t **out, size_t *len)
{
  proto_sync_enc *e;

  cr_assert_eq(proto_sync_enc_new(&e, m->run, m->n, m->flags, m->has_digest ? m->digest : NULL,
                                  m->frecon),
               BT_OK);
  for (size_t k = 0; k < m->nsections; k++)
    cr_assert_eq(proto_sync_enc_section(e, &m->sections[k]), BT_OK);
  for (size_t k = 0; k < m->nenvs; k++)
    cr_assert_eq(proto_sync_enc_env(e, m->envs[k].p, m->envs[k].len), BT_OK);
  cr_assert_eq(proto_sync_enc_finish(e, out, len), BT_OK);
  proto_sync_enc_free(e);
}

/* What msgpack-c's packer writes for the object in p equals p. */
static int msgpack_c_canonical(const uint8_t *p, size_t len)
{
  crdt_mp_cmp c = {p, len, 0, 0};
  msgpack_packer pk;
  msgpack_object o;
  msgpack_zone z;
  int ok;

  cr_assert(msgpack_zone_init(&z, 4096));
  cr_assert_eq(proto_frame_unpack(p, len, &z, &o), BT_OK);
  msgpack_packer_init(&pk, &c, crdt_mp_cmp_write);
  msgpack_pack_object(&pk, o);
  ok = crdt_mp_cmp_equal(&c);
  msgpack_zone_destroy(&z);
  return ok;
}

Test(proto_sync, random_messages_round_trip_canonically)
{
  size_t total = 0, largest = 0;

  for (uint64_t seed = 1; seed <= 300; seed++) {
    uint8_t *bytes, *again;
    size_t len, alen;
    decoded d;
    gen_rng g;
    spec s;
    int rc;

    gen_seed(&g, seed);
    rand_spec(&g, &s);
    encode(&s, seed, &bytes, &len);
    cr_assert(msgpack_c_canonical(bytes, len), "seed %" PRIu64 ": msgpack-c's form", seed);
    rc = dec(bytes, len, &d);
    cr_assert_eq(rc, BT_OK, "seed %" PRIu64 ": %s", seed, bt_errname(rc));
    check_equal(&s, &d, seed);
    reencode(&d.msg, &again, &alen);
    cr_assert(alen == len && memcmp(again, bytes, len) == 0, "seed %" PRIu64 ": re-encoding",
              seed);
    total += len;
    largest = len > largest ? len : largest;
    free(again);
    undec(&d);
    free(bytes);
    gen_arena_free(s.a);
  }
  cr_log_info("300 messages, %zu bytes, largest %zu", total, largest);
}

/* ---- the rules ---- */

Test(proto_sync, the_nudge_is_exactly_two_bytes)
{
  static const uint8_t two_fields[] = {0x92, 0x02, 0x00}, wide[] = {0x91, 0xcc, 0x02},
                       arr16[] = {0xdc, 0x00, 0x01, 0x02}, after[] = {0x91, 0x02, 0x00};
  uint8_t n[2];
  decoded d;

  cr_assert_eq(proto_sync_nudge(n), 2);
  cr_assert(n[0] == 0x91 && n[1] == 0x02);
  cr_assert_eq(dec(n, 2, &d), BT_OK);
  cr_assert_eq(d.kind, PROTO_SYNC_NUDGE);
  undec(&d);
  expect_bytes(two_fields, sizeof two_fields, BT_EPROTO, "[2, 0]");
  expect_bytes(wide, sizeof wide, BT_ENONCANON, "kind as uint8");
  expect_bytes(arr16, sizeof arr16, BT_ENONCANON, "array16");
  expect_bytes(after, sizeof after, BT_ETRAILING, "a byte after");
}

Test(proto_sync, the_shell_is_checked)
{
  static const uint8_t scalar[] = {0x01}, map[] = {0x80}, empty[] = {0x90},
                       str_kind[] = {0x91, 0xa1, 'x'}, neg_kind[] = {0x91, 0xff},
                       kind0[] = {0x91, 0x00}, kind3[] = {0x91, 0x03}, kind64[] = {0x91, 0x40},
                       flt[] = {0x91, 0xca, 0, 0, 0, 0}, ext[] = {0x91, 0xd4, 0, 0};
  uint8_t deep[40];
  mb m;

  expect_bytes(NULL, 0, BT_ETRUNC, "nothing");
  expect_bytes(scalar, sizeof scalar, BT_ETYPE, "not an array");
  expect_bytes(map, sizeof map, BT_ETYPE, "a map");
  expect_bytes(empty, sizeof empty, BT_EPROTO, "no kind");
  expect_bytes(str_kind, sizeof str_kind, BT_ETYPE, "kind a string");
  expect_bytes(neg_kind, sizeof neg_kind, BT_ETYPE, "kind -1");
  expect_bytes(kind0, sizeof kind0, BT_EPROTO, "kind 0");
  expect_bytes(kind3, sizeof kind3, BT_EPROTO, "kind 3");
  expect_bytes(kind64, sizeof kind64, BT_EPROTO, "kind 64 (the connection layer's)");
  expect_bytes(flt, sizeof flt, BT_ETYPE, "a float");
  expect_bytes(ext, sizeof ext, BT_ETYPE, "an ext");
  memset(deep, 0x91, sizeof deep);
  deep[sizeof deep - 1] = 0x01;
  expect_bytes(deep, sizeof deep, BT_EDEPTH, "39 arrays deep");
  mb_head(&m, 7, 9, 1, 0, 0, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "7 fields");
  mb_head(&m, 9, 9, 1, 0, 0, 0), mb_array(&m, 0), mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "9 fields");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 0);
  msgpack_sbuffer_write(&m.sb, "", 1);
  expect(&m, BT_ETRAILING, "a byte after");
  mb_plain(&m), mb_array(&m, 0);
  expect(&m, BT_ETRUNC, "no envelopes array (7 of 8 items)");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_OK, "the smallest message");
}

Test(proto_sync, run_n_and_flags_are_checked)
{
  static const uint64_t bad_flags[] = {0x20, 0x40, 0x80, 0xff, 0x100, UINT64_MAX};
  mb m;

#define SHELL(m) mb_array(m, 0), mb_array(m, 0)
  mb_head(&m, 8, UINT32_MAX, 1, 0, 0, 0), SHELL(&m);
  expect(&m, BT_OK, "run 2^32-1");
  mb_head(&m, 8, (uint64_t)UINT32_MAX + 1, 1, 0, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "run 2^32");
  mb_head(&m, 8, UINT64_MAX, 1, 0, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "run 2^64-1");
  mb_head(&m, 8, 9, UINT32_MAX, 0, 0, 0), SHELL(&m);
  expect(&m, BT_OK, "n 2^32-1");
  mb_head(&m, 8, 9, (uint64_t)UINT32_MAX + 1, 0, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "n 2^32");
  mb_init(&m), mb_array(&m, 8), mb_uint(&m, 1), mb_raw(&m, "\xff", 1);
  mb_uint(&m, 1), mb_uint(&m, 0), mb_bin(&m, 0, 0), mb_bin(&m, 0, 0), SHELL(&m);
  expect(&m, BT_ETYPE, "run -1");
  mb_init(&m), mb_array(&m, 8), mb_uint(&m, 1), mb_raw(&m, "\xa1r", 2);
  mb_uint(&m, 1), mb_uint(&m, 0), mb_bin(&m, 0, 0), mb_bin(&m, 0, 0), SHELL(&m);
  expect(&m, BT_ETYPE, "run a string");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_FLAGS & ~(PROTO_SYNC_START | PROTO_SYNC_FAST), 0, 0);
  SHELL(&m);
  expect(&m, BT_OK, "every known flag but START and FAST");
  for (size_t k = 0; k < sizeof bad_flags / sizeof bad_flags[0]; k++) {
    mb_head(&m, 8, 9, 1, bad_flags[k], 0, 0), SHELL(&m);
    expect(&m, BT_EPROTO, "an unknown flag");
  }
  mb_head(&m, 8, 9, 0, PROTO_SYNC_START, 0, 0), SHELL(&m);
  expect(&m, BT_OK, "START at n 0");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_START, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "START at n 1");
  mb_head(&m, 8, 9, 0, 0, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "n 0 without START");
#undef SHELL
}

Test(proto_sync, digest_and_frecon_are_checked)
{
  mb m;

#define SHELL(m) mb_array(m, 0), mb_array(m, 0)
  mb_head(&m, 8, 9, 1, PROTO_SYNC_FAST, 32, 0), SHELL(&m);
  expect(&m, BT_OK, "FAST with a digest");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_FAST, 31, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "a 31-byte digest");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_FAST, 33, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "a 33-byte digest");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_FAST, 0, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "FAST without a digest");
  mb_head(&m, 8, 9, 1, 0, 32, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "a digest without FAST");
  mb_head(&m, 8, 9, 1, PROTO_SYNC_START, 32, 0), SHELL(&m);
  expect(&m, BT_EPROTO, "START at n 1 comes first");
  mb_init(&m), mb_array(&m, 8), mb_uint(&m, 1), mb_uint(&m, 9), mb_uint(&m, 1), mb_uint(&m, 0);
  mb_raw(&m, "\xa0", 1), mb_bin(&m, 0, 0), SHELL(&m);
  expect(&m, BT_ETYPE, "the digest a string");
  mb_init(&m), mb_array(&m, 8), mb_uint(&m, 1), mb_uint(&m, 9), mb_uint(&m, 1), mb_uint(&m, 0);
  mb_bin(&m, 0, 0), mb_raw(&m, "\xc0", 1), SHELL(&m);
  expect(&m, BT_ETYPE, "frecon nil");
  mb_head(&m, 8, 9, 1, 0, 0, 70000), SHELL(&m);
  expect(&m, BT_OK, "frecon of 70000 bytes (its limit is the recon engine's)");
#undef SHELL
}

Test(proto_sync, sections_are_checked)
{
  static const uint64_t bad_what[] = {0, 6, 255, 256};
  mb m;

  mb_plain(&m), mb_raw(&m, "\x80", 1), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "sections a map");
  mb_one(&m), mb_bin(&m, 16, 1), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "a section as bin");
  mb_one(&m), mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "an empty section");
  mb_one(&m), mb_array(&m, 1), mb_bin(&m, 16, 1), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "a section of one field");
  mb_one(&m), mb_sec(&m, 2, 15, PROTO_SYNC_S_OUT), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "a 15-byte file");
  mb_one(&m), mb_sec(&m, 2, 17, PROTO_SYNC_S_OUT), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "a 17-byte file");
  mb_one(&m), mb_array(&m, 2), mb_raw(&m, "\xb0" "0123456789abcdef", 17), mb_uint(&m, 5);
  mb_array(&m, 0);
  expect(&m, BT_ETYPE, "a file as str");
  for (size_t k = 0; k < sizeof bad_what / sizeof bad_what[0]; k++) {
    mb_one(&m), mb_sec(&m, 2, 16, bad_what[k]), mb_array(&m, 0);
    expect(&m, BT_EPROTO, "an unknown section type");
  }
  mb_one(&m), mb_array(&m, 2), mb_bin(&m, 16, 1), mb_raw(&m, "\xa1" "5", 2), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "what as str");
  mb_one(&m), mb_sec(&m, 2, 16, PROTO_SYNC_S_OUT), mb_array(&m, 0);
  expect(&m, BT_OK, "OUT");
  /* VV: [[author bin32, seq u64]...], authors strictly ascending, seq >= 1 */
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_OK, "an empty VV (nothing of the file held)");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 2);
  mb_array(&m, 2), mb_bin(&m, 32, 1), mb_uint(&m, 5);
  mb_array(&m, 2), mb_bin(&m, 32, 2), mb_uint(&m, 1), mb_array(&m, 0);
  expect(&m, BT_OK, "a VV of two authors");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 2);
  mb_array(&m, 2), mb_bin(&m, 32, 2), mb_uint(&m, 5);
  mb_array(&m, 2), mb_bin(&m, 32, 1), mb_uint(&m, 1), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "VV authors descending");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 2);
  mb_array(&m, 2), mb_bin(&m, 32, 1), mb_uint(&m, 5);
  mb_array(&m, 2), mb_bin(&m, 32, 1), mb_uint(&m, 6), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "VV author twice");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 1);
  mb_array(&m, 2), mb_bin(&m, 32, 1), mb_uint(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "VV seq 0");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 1);
  mb_array(&m, 2), mb_bin(&m, 31, 1), mb_uint(&m, 1), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "VV author of 31 bytes");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, 1);
  mb_array(&m, 3), mb_bin(&m, 32, 1), mb_uint(&m, 1), mb_uint(&m, 1), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "VV entry of three fields");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, PROTO_SYNC_VV_MAX + 1);
  mb_array(&m, 0);
  expect(&m, BT_ETRUNC, "VV of 257 authors declared, not present");
  for (size_t n = PROTO_SYNC_VV_MAX; n <= PROTO_SYNC_VV_MAX + 1; n++) {
    mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_VV), mb_array(&m, n);
    for (size_t k = 0; k < n; k++) {
      uint8_t a[32] = {(uint8_t)(k >> 8), (uint8_t)k};
      mb_array(&m, 2), mb_raw(&m, "\xc4\x20", 2), mb_raw(&m, a, 32), mb_uint(&m, 1);
    }
    mb_array(&m, 0);
    expect(&m, n > PROTO_SYNC_VV_MAX ? BT_ETOOBIG : BT_OK, "VV at its limit and one above");
  }
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_OUT), mb_uint(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "OUT with 3 fields");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_RECON), mb_bin(&m, 1, 7), mb_array(&m, 0);
  expect(&m, BT_OK, "RECON of 1 byte");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_RECON), mb_bin(&m, 0, 7), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "RECON of 0 bytes");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_RECON), mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "RECON msg as array");
  mb_one(&m), mb_sec(&m, 2, 16, PROTO_SYNC_S_RECON), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "RECON with 2 fields");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_RECON), mb_bin(&m, 1, 7), mb_uint(&m, 0);
  mb_array(&m, 0);
  expect(&m, BT_EPROTO, "RECON with 4 fields");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_FAST), mb_uint(&m, UINT64_MAX), mb_bin(&m, 32, 3);
  mb_array(&m, 0);
  expect(&m, BT_OK, "FAST, count 2^64-1");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_FAST), mb_uint(&m, 5), mb_bin(&m, 31, 3);
  mb_array(&m, 0);
  expect(&m, BT_EPROTO, "FAST, a 31-byte sum");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_FAST), mb_uint(&m, 5), mb_bin(&m, 33, 3);
  mb_array(&m, 0);
  expect(&m, BT_EPROTO, "FAST, a 33-byte sum");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_FAST), mb_raw(&m, "\xd0\x80", 2), mb_bin(&m, 32, 3);
  mb_array(&m, 0);
  expect(&m, BT_ETYPE, "FAST, count -128");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_FAST), mb_uint(&m, 5), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "FAST with 3 fields");
  mb_one(&m), mb_sec(&m, 5, 16, PROTO_SYNC_S_FAST), mb_uint(&m, 5), mb_bin(&m, 32, 3);
  mb_uint(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "FAST with 5 fields");
  mb_one(&m), mb_want(&m, 1, 32), mb_array(&m, 0);
  expect(&m, BT_OK, "WANT one id");
  mb_one(&m), mb_want(&m, 0, 32), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "WANT no id");
  mb_one(&m), mb_want(&m, 3, 31), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "WANT a 31-byte id");
  mb_one(&m), mb_want(&m, 3, 33), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "WANT a 33-byte id");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_WANT), mb_array(&m, 2), mb_bin(&m, 32, 1);
  mb_raw(&m, "\xa1x", 2), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "WANT an id as str");
  mb_one(&m), mb_sec(&m, 3, 16, PROTO_SYNC_S_WANT), mb_bin(&m, 32, 1), mb_array(&m, 0);
  expect(&m, BT_ETYPE, "WANT ids as bin");
  mb_one(&m), mb_sec(&m, 2, 16, PROTO_SYNC_S_WANT), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "WANT with 2 fields");
  mb_one(&m), mb_sec(&m, 4, 16, PROTO_SYNC_S_WANT), mb_array(&m, 0), mb_uint(&m, 0);
  mb_array(&m, 0);
  expect(&m, BT_EPROTO, "WANT with 4 fields");
}

Test(proto_sync, envelopes_are_checked)
{
  mb m;

  mb_plain(&m), mb_array(&m, 0), mb_bin(&m, 1, 0);
  expect(&m, BT_ETYPE, "envelopes as bin");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 1), mb_raw(&m, "\xa1x", 2);
  expect(&m, BT_ETYPE, "an envelope as str");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 2), mb_bin(&m, 1, 1), mb_bin(&m, 0, 0);
  expect(&m, BT_EPROTO, "an empty envelope");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 1), mb_bin(&m, PROTO_SYNC_ENV_MAX, 1);
  expect(&m, BT_OK, "an envelope of 1 MiB");
  mb_plain(&m), mb_array(&m, 0), mb_array(&m, 1), mb_bin(&m, PROTO_SYNC_ENV_MAX + 1, 1);
  expect(&m, BT_ETOOBIG, "an envelope of 1 MiB + 1");
}

Test(proto_sync, counts_are_checked_at_the_limit_and_one_above)
{
  mb m;

  for (size_t extra = 0; extra < 2; extra++) {
    int want = extra ? BT_ETOOBIG : BT_OK;

    mb_one(&m), mb_want(&m, PROTO_SYNC_WANT_MAX + extra, 32), mb_array(&m, 0);
    expect(&m, want, "WANT ids");
    mb_plain(&m), mb_array(&m, PROTO_SYNC_SECTIONS_MAX + extra);
    for (size_t k = 0; k < PROTO_SYNC_SECTIONS_MAX + extra; k++)
      mb_sec(&m, 2, 16, PROTO_SYNC_S_OUT);
    mb_array(&m, 0);
    expect(&m, want, "sections");
    mb_plain(&m), mb_array(&m, 0), mb_array(&m, PROTO_SYNC_ENVS_MAX + extra);
    for (size_t k = 0; k < PROTO_SYNC_ENVS_MAX + extra; k++)
      mb_bin(&m, 1, (uint8_t)k);
    expect(&m, want, "envelopes");
  }
  /* A count above the limit is refused before the items are read, and one
   * above the bytes present by the walk. */
  mb_plain(&m), mb_array(&m, PROTO_SYNC_SECTIONS_MAX + 1), mb_raw(&m, "\x90\x90", 2);
  expect(&m, BT_ETRUNC, "8193 sections declared, 2 bytes present");
}

Test(proto_sync, errors_come_in_reading_order_and_noncanon_last)
{
  mb m;

  /* run as uint16 (non-canonical) and an unknown flag */
  mb_init(&m), mb_array(&m, 8), mb_uint(&m, 1), mb_raw(&m, "\xcd\x00\x09", 3);
  mb_uint(&m, 1), mb_uint(&m, 0x40), mb_bin(&m, 0, 0), mb_bin(&m, 0, 0);
  mb_array(&m, 0), mb_array(&m, 0);
  expect(&m, BT_EPROTO, "the flag, then canonical form");
  /* too many envelopes after a bad section */
  mb_one(&m), mb_sec(&m, 2, 16, 3), mb_array(&m, PROTO_SYNC_ENVS_MAX + 1);
  for (size_t k = 0; k < PROTO_SYNC_ENVS_MAX + 1; k++)
    mb_raw(&m, "\x01", 1);
  expect(&m, BT_EPROTO, "the section comes first");
  /* a walk error anywhere comes before everything */
  mb_head(&m, 8, 9, 1, 0x40, 0, 0), mb_array(&m, 0), mb_array(&m, 1), mb_raw(&m, "\xca", 1);
  mb_raw(&m, "\0\0\0\0", 4);
  expect(&m, BT_ETYPE, "a float after a bad flag");
}

/* ---- canonical form ---- */

typedef struct {
  uint8_t p[256];
  size_t len;
} bytes;

static void put(bytes *b, const char *p, size_t n)
{
  cr_assert(b->len + n <= sizeof b->p);
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

#define FILE16 "\xc4\x10" "ffffffffffffffff"
#define ID32 "\xc4\x20" "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
#define SUM32 "\xc4\x20" "ssssssssssssssssssssssssssssssss"

/* One spelling of a part of a message. */
typedef struct {
  const char *p;
  size_t n;
} sp;

#define S(lit) {lit, sizeof(lit) - 1}
#define NONE {NULL, 0}
#define NPARTS 13

/* The base message [1, 9, 200, IDLE, "", "r", [RECON, FAST, WANT, OUT],
 * ["e"]] part by part: spelling 0 is canonical, 1-3 others (NONE: no
 * such spelling). */
static const sp parts[NPARTS][4] = {
    {S("\x98"), S("\xdc\x00\x08"), S("\xdd\x00\x00\x00\x08"), NONE}, /* outer array */
    {S("\x01"), S("\xcc\x01"), S("\xd0\x01"), S("\xcf\0\0\0\0\0\0\0\x01")}, /* kind */
    {S("\x09"), S("\xcd\x00\x09"), S("\xce\0\0\0\x09"), S("\xd1\x00\x09")}, /* run */
    {S("\xcc\xc8"), S("\xcd\x00\xc8"), S("\xd1\x00\xc8"), S("\xcf\0\0\0\0\0\0\0\xc8")}, /* n */
    {S("\x04"), S("\xcc\x04"), S("\xd0\x04"), NONE},                  /* flags: IDLE */
    {S("\xc4\x00"), S("\xc5\x00\x00"), S("\xc6\0\0\0\0"), NONE},      /* digest: none */
    {S("\xc4\x01r"), S("\xc5\x00\x01r"), S("\xc6\0\0\0\x01r"), NONE}, /* frecon */
    {S("\x94"), S("\xdc\x00\x04"), NONE, NONE},                      /* sections */
    {S("\x93" FILE16 "\x01\xc4\x01m"),
     S("\x93\xc5\x00\x10" "ffffffffffffffff" "\x01\xc4\x01m"),
     S("\x93" FILE16 "\xcc\x01\xc4\x01m"), S("\x93" FILE16 "\x01\xc5\x00\x01m")}, /* RECON */
    {S("\x94" FILE16 "\x02\xcd\x01\x00" SUM32), S("\x94" FILE16 "\x02\xce\0\0\x01\x00" SUM32),
     S("\x94" FILE16 "\x02\xcd\x01\x00\xc5\x00\x20" "ssssssssssssssssssssssssssssssss"),
     S("\xdc\x00\x04" FILE16 "\x02\xcd\x01\x00" SUM32)},             /* FAST, count 256 */
    {S("\x93" FILE16 "\x04\x91" ID32), S("\x93" FILE16 "\x04\xdc\x00\x01" ID32),
     S("\x93" FILE16 "\x04\x91\xc6\0\0\0\x20" "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"), NONE}, /* WANT */
    {S("\x92" FILE16 "\x05"), S("\x92" FILE16 "\xd0\x05"), NONE, NONE}, /* OUT */
    {S("\x91\xc4\x01" "e"), S("\xdd\0\0\0\x01\xc4\x01" "e"), S("\x91\xc5\x00\x01" "e"),
     NONE}, /* envelopes */
};

/* The base message with part k spelled v (v 0: the base); 0 when part k
 * has no spelling v. */
static int spell(bytes *b, int k, int v)
{
  b->len = 0;
  if (parts[k][v].p == NULL)
    return 0;
  for (int j = 0; j < NPARTS; j++)
    put(b, parts[j][j == k ? v : 0].p, parts[j][j == k ? v : 0].n);
  return 1;
}

Test(proto_sync, only_the_canonical_spelling_is_accepted)
{
  bytes b;
  int variants = 0;

  cr_assert(spell(&b, 0, 0));
  expect_bytes(b.p, b.len, BT_OK, "the base message");
  cr_assert(msgpack_c_canonical(b.p, b.len), "the base is msgpack-c's form");
  for (int k = 0; k < NPARTS; k++)
    for (int v = 1; v < 4; v++) {
      char what[64];

      if (!spell(&b, k, v))
        continue;
      snprintf(what, sizeof what, "part %d spelled %d", k, v);
      cr_assert(!msgpack_c_canonical(b.p, b.len), "%s is another spelling", what);
      expect_bytes(b.p, b.len, BT_ENONCANON, what);
      variants++;
    }
  cr_log_info("%d other spellings refused", variants);
}

/* ---- damage ---- */

/* A message with every section type and two envelopes, as the vector. */
static void sample(uint8_t **out, size_t *len);

Test(proto_sync, every_cut_is_truncated)
{
  uint8_t *p;
  size_t len;

  sample(&p, &len);
  for (size_t n = 0; n < len; n++)
    expect_bytes(p, n, BT_ETRUNC, "a cut");
  expect_bytes(p, len, BT_OK, "whole");
  free(p);
}

static void flips(const uint8_t *p, size_t len, size_t *tried, size_t *refused)
{
  uint8_t *copy = malloc(len);

  cr_assert_not_null(copy);
  for (size_t bit = 0; bit < 8 * len; bit++) {
    uint8_t *again;
    size_t alen;
    decoded d;

    memcpy(copy, p, len);
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    if (dec(copy, len, &d) != BT_OK) {
      (*refused)++;
    } else if (d.kind == PROTO_SYNC_MSG) { /* another message: canonical */
      reencode(&d.msg, &again, &alen);
      cr_assert(alen == len && memcmp(again, copy, len) == 0, "bit %zu", bit);
      free(again);
    }
    (*tried)++;
    undec(&d);
  }
  free(copy);
}

Test(proto_sync, every_bit_flip_fails_cleanly_or_reads_as_canonical)
{
  size_t tried = 0, refused = 0, len;
  uint8_t *p, n[2];

  sample(&p, &len);
  flips(p, len, &tried, &refused);
  free(p);
  for (uint64_t seed = 1; seed <= 40; seed++) {
    gen_rng g;
    spec s;

    gen_seed(&g, 1000 + seed);
    rand_spec(&g, &s);
    encode(&s, seed, &p, &len);
    if (len <= 4096)
      flips(p, len, &tried, &refused);
    free(p);
    gen_arena_free(s.a);
  }
  flips(n, proto_sync_nudge(n), &tried, &refused);
  cr_log_info("%zu damaged copies, %zu refused", tried, refused);
  cr_assert(refused > 0 && refused < tried);
}

/* ---- the encoder ---- */

Test(proto_sync, the_encoder_refuses_what_the_decoder_would)
{
  static const uint8_t digest[32], id[32 * (PROTO_SYNC_WANT_MAX + 1)], one = 1;
  proto_sync_section s = {.what = PROTO_SYNC_S_RECON};
  proto_sync_enc *e;
  uint8_t *out = NULL, *big;
  size_t len, was;

  cr_assert_eq(proto_sync_enc_new(&e, 1, 1, 0x20, NULL, (bt_bytes){NULL, 0}), BT_EINVAL);
  cr_assert_eq(proto_sync_enc_new(&e, 1, 1, 0, NULL, (bt_bytes){NULL, 3}), BT_EINVAL);
  cr_assert_eq(proto_sync_enc_new(&e, 1, 1, 0, NULL, (bt_bytes){NULL, 0}), BT_OK);
  was = proto_sync_enc_size(e);
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_EINVAL, "empty RECON");
  s.what = PROTO_SYNC_S_WANT;
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_EINVAL, "empty WANT");
  s.ids = id, s.nids = PROTO_SYNC_WANT_MAX + 1;
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_ETOOBIG, "1025 ids");
  s.what = 6;
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_EINVAL, "what 6");
  {
    proto_sync_vv vv[PROTO_SYNC_VV_MAX + 1];
    proto_sync_section v = {.what = PROTO_SYNC_S_VV, .vv = vv};
    for (size_t k = 0; k <= PROTO_SYNC_VV_MAX; k++) {
      memset(vv[k].author, 0, 32);
      vv[k].author[0] = (uint8_t)(k >> 8), vv[k].author[1] = (uint8_t)k;
      vv[k].seq = 1;
    }
    v.nvv = PROTO_SYNC_VV_MAX + 1;
    cr_assert_eq(proto_sync_enc_section(e, &v), BT_ETOOBIG, "257 authors");
    v.nvv = 2, vv[1].seq = 0;
    cr_assert_eq(proto_sync_enc_section(e, &v), BT_EINVAL, "seq 0");
    vv[1].seq = 1, vv[1].author[1] = 0;
    cr_assert_eq(proto_sync_enc_section(e, &v), BT_EINVAL, "authors not ascending");
    v.nvv = 1, v.vv = NULL;
    cr_assert_eq(proto_sync_enc_section(e, &v), BT_EINVAL, "no vector");
  }
  cr_assert_eq(proto_sync_enc_env(e, &one, 0), BT_EINVAL, "an empty envelope");
  cr_assert_not_null(big = calloc(1, PROTO_SYNC_ENV_MAX + 1));
  cr_assert_eq(proto_sync_enc_env(e, big, PROTO_SYNC_ENV_MAX + 1), BT_ETOOBIG);
  cr_assert_eq(proto_sync_enc_size(e), was, "refusals change nothing");
  cr_assert_eq(proto_sync_enc_env(e, big, PROTO_SYNC_ENV_MAX), BT_OK);
  free(big);
  s.what = PROTO_SYNC_S_WANT, s.nids = PROTO_SYNC_WANT_MAX;
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_OK);
  proto_sync_enc_flags(e, PROTO_SYNC_START);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_EINVAL, "START at n 1");
  proto_sync_enc_flags(e, PROTO_SYNC_FAST);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_EINVAL, "FAST without a digest");
  proto_sync_enc_flags(e, 0x40);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_EINVAL, "an unknown flag");
  cr_assert_null(out);
  proto_sync_enc_flags(e, PROTO_SYNC_IDLE);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_OK);
  expect_bytes(out, len, BT_OK, "what the encoder wrote");
  free(out);
  proto_sync_enc_free(e);
  cr_assert_eq(proto_sync_enc_new(&e, 1, 0, 0, digest, (bt_bytes){NULL, 0}), BT_OK);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_EINVAL, "n 0 without START");
  proto_sync_enc_flags(e, PROTO_SYNC_START);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_EINVAL, "a digest without FAST");
  proto_sync_enc_flags(e, PROTO_SYNC_START | PROTO_SYNC_FAST);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_OK);
  free(out);
  proto_sync_enc_free(e);
  proto_sync_enc_free(NULL);
  proto_sync_msg_free(NULL);
}

Test(proto_sync, the_encoder_stops_at_the_count_limits)
{
  proto_sync_section s = {.what = PROTO_SYNC_S_OUT};
  proto_sync_enc *e;
  uint8_t *out, one = 7;
  size_t len;
  decoded d;

  cr_assert_eq(proto_sync_enc_new(&e, 1, 0, PROTO_SYNC_START, NULL, (bt_bytes){NULL, 0}), BT_OK);
  for (size_t k = 0; k < PROTO_SYNC_SECTIONS_MAX; k++)
    cr_assert_eq(proto_sync_enc_section(e, &s), BT_OK);
  cr_assert_eq(proto_sync_enc_section(e, &s), BT_ETOOBIG);
  for (size_t k = 0; k < PROTO_SYNC_ENVS_MAX; k++)
    cr_assert_eq(proto_sync_enc_env(e, &one, 1), BT_OK);
  cr_assert_eq(proto_sync_enc_env(e, &one, 1), BT_ETOOBIG);
  cr_assert_eq(proto_sync_enc_finish(e, &out, &len), BT_OK);
  cr_assert(len <= proto_sync_enc_size(e) && proto_sync_enc_size(e) <= len + 8);
  cr_assert_eq(dec(out, len, &d), BT_OK);
  cr_assert(d.msg.nsections == PROTO_SYNC_SECTIONS_MAX && d.msg.nenvs == PROTO_SYNC_ENVS_MAX);
  undec(&d);
  free(out);
  proto_sync_enc_free(e);
}

/* ---- golden vector ---- */

#define V_RUN 7
#define V_N 3
#define V_COUNT UINT64_C(1234567890123)

static void fill(uint8_t *p, size_t n, uint8_t start, uint8_t step)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(start + step * i);
}

typedef struct {
  uint8_t digest[32], frecon[34], recon[17], sum[32], ids[64], env0[3], env1[300];
  proto_sync_vv vv[2];
  proto_sync_section secs[5];
} vector_in;

/* Fixed inputs; every byte string is opaque to the codec (in use frecon
 * and msg are proto/recon messages, envelopes crdt/op.h envelopes). */
static void vector_inputs(vector_in *v)
{
  static const uint8_t frecon[] = {0x92, 0x01, 0x91, 0x94, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0,
                                   0xc4, 0x00, 0x01, 0xc4, 0x10, 0x0e, 0x65, 0x0b, 0x7d,
                                   0xd8, 0x51, 0xa5, 0x4c, 0x3e, 0xf8, 0x10, 0x79, 0xfd,
                                   0x78, 0xc8, 0xcf};

  memset(v, 0, sizeof *v);
  fill(v->digest, 32, 0xd0, 1);
  memcpy(v->frecon, frecon, sizeof frecon);
  fill(v->recon, sizeof v->recon, 0x90, 3);
  fill(v->sum, 32, 0x20, 1);
  fill(v->ids, 64, 0x40, 1);
  fill(v->env0, sizeof v->env0, 0xe0, 1);
  fill(v->env1, sizeof v->env1, 0x00, 1);
  for (int k = 0; k < 5; k++)
    memset(v->secs[k].file, 0x11 * (k + 1), 16);
  v->secs[0].what = PROTO_SYNC_S_RECON;
  v->secs[0].recon = (bt_bytes){v->recon, sizeof v->recon};
  v->secs[1].what = PROTO_SYNC_S_FAST;
  v->secs[1].count = V_COUNT;
  memcpy(v->secs[1].sum, v->sum, 32);
  v->secs[2].what = PROTO_SYNC_S_WANT;
  v->secs[2].ids = v->ids;
  v->secs[2].nids = 2;
  v->secs[3].what = PROTO_SYNC_S_OUT;
  fill(v->vv[0].author, 32, 0x60, 1);
  v->vv[0].seq = 1;
  fill(v->vv[1].author, 32, 0x61, 1);
  v->vv[1].seq = 70000;
  v->secs[4].what = PROTO_SYNC_S_VV;
  v->secs[4].vv = v->vv;
  v->secs[4].nvv = 2;
}

static void vector_encode(const vector_in *v, uint8_t **out, size_t *len)
{
  proto_sync_enc *e;

  cr_assert_eq(proto_sync_enc_new(&e, V_RUN, V_N, PROTO_SYNC_FAST, v->digest,
                                  (bt_bytes){v->frecon, sizeof v->frecon}),
               BT_OK);
  for (int k = 0; k < 5; k++)
    cr_assert_eq(proto_sync_enc_section(e, &v->secs[k]), BT_OK);
  cr_assert_eq(proto_sync_enc_env(e, v->env0, sizeof v->env0), BT_OK);
  cr_assert_eq(proto_sync_enc_env(e, v->env1, sizeof v->env1), BT_OK);
  proto_sync_enc_flags(e, PROTO_SYNC_FAST | PROTO_SYNC_IDLE);
  cr_assert_eq(proto_sync_enc_finish(e, out, len), BT_OK);
  proto_sync_enc_free(e);
}

static void sample(uint8_t **out, size_t *len)
{
  vector_in v;

  vector_inputs(&v);
  vector_encode(&v, out, len);
}

static void put_hex(gv_text *t, const char *name, const void *p, size_t len)
{
  gv_put(t, "%s = ", name);
  for (size_t i = 0; i < len; i++)
    gv_put(t, "%02x", ((const uint8_t *)p)[i]);
  gv_put(t, "\n");
}

Test(proto_sync, golden_vector)
{
  static const char *names[] = {"", "RECON", "FAST", "VV", "WANT", "OUT"};
  gv_text t = {NULL, 0, 0};
  proto_sync_enc *e;
  uint8_t *full, *start, nudge[2];
  size_t flen, slen;
  vector_in v;
  decoded d;
  char name[64];

  vector_inputs(&v);
  vector_encode(&v, &full, &flen);
  cr_assert_eq(proto_sync_enc_new(&e, 1, 0, PROTO_SYNC_START, NULL, (bt_bytes){NULL, 0}), BT_OK);
  cr_assert_eq(proto_sync_enc_finish(e, &start, &slen), BT_OK);
  proto_sync_enc_free(e);
  gv_header(&t, "sync.txt", "the sync session's messages", "sync");
  gv_put(&t, "# full: a SYNC message with one section of each type and two envelopes;\n"
             "# start: the first message of a run with nothing in it; nudge: a NUDGE.\n"
             "# Byte strings are opaque to the codec: frecon is msg.1 of recon.txt, the\n"
             "# rest fixed patterns (in use msg is a proto/recon message and envelopes\n"
             "# are crdt/op.h envelopes).\n");
  gv_put(&t, "full.run = %u (decimal)\nfull.n = %u (decimal)\nfull.flags = %02x (FAST|IDLE)\n",
         V_RUN, V_N, PROTO_SYNC_FAST | PROTO_SYNC_IDLE);
  put_hex(&t, "full.digest", v.digest, 32);
  put_hex(&t, "full.frecon", v.frecon, sizeof v.frecon);
  for (int k = 0; k < 5; k++) {
    const proto_sync_section *s = &v.secs[k];

    snprintf(name, sizeof name, "full.section.%d.file", k);
    put_hex(&t, name, s->file, 16);
    gv_put(&t, "full.section.%d.what = %u (%s)\n", k, s->what, names[s->what]);
    snprintf(name, sizeof name, "full.section.%d.%s", k,
             s->what == PROTO_SYNC_S_RECON ? "msg" : s->what == PROTO_SYNC_S_FAST ? "sum" : "ids");
    if (s->what == PROTO_SYNC_S_RECON)
      put_hex(&t, name, s->recon.p, s->recon.len);
    if (s->what == PROTO_SYNC_S_FAST) {
      gv_put(&t, "full.section.%d.count = %" PRIu64 " (decimal)\n", k, s->count);
      put_hex(&t, name, s->sum, 32);
    }
    if (s->what == PROTO_SYNC_S_WANT)
      put_hex(&t, name, s->ids, 32 * s->nids);
    for (size_t j = 0; s->what == PROTO_SYNC_S_VV && j < s->nvv; j++) {
      snprintf(name, sizeof name, "full.section.%d.vv.%zu.author", k, j);
      put_hex(&t, name, s->vv[j].author, 32);
      gv_put(&t, "full.section.%d.vv.%zu.seq = %" PRIu64 " (decimal)\n", k, j, s->vv[j].seq);
    }
  }
  put_hex(&t, "full.envelope.0", v.env0, sizeof v.env0);
  put_hex(&t, "full.envelope.1", v.env1, sizeof v.env1);
  gv_put(&t, "\n# The messages (transport plaintexts).\n");
  put_hex(&t, "full", full, flen);
  gv_put(&t, "start.run = 1 (decimal)\nstart.n = 0 (decimal)\nstart.flags = %02x (START)\n",
         PROTO_SYNC_START);
  put_hex(&t, "start", start, slen);
  put_hex(&t, "nudge", nudge, proto_sync_nudge(nudge));
  gv_check(&t, "sync.txt");
  cr_assert_eq(dec(full, flen, &d), BT_OK);
  cr_assert(d.msg.nsections == 5 && d.msg.nenvs == 2 && d.msg.run == V_RUN && d.msg.n == V_N);
  cr_assert(d.msg.sections[4].nvv == 2 && d.msg.sections[4].vv[1].seq == 70000);
  undec(&d);
  cr_assert_eq(dec(start, slen, &d), BT_OK);
  cr_assert(d.msg.flags == PROTO_SYNC_START && d.msg.nsections == 0 && d.msg.nenvs == 0);
  undec(&d);
  free(full);
  free(start);
  free(t.p);
}
