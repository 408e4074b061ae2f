/* tests/proto/test_recon.c: range-based set reconciliation.
 *
 * Property: for hundreds of seeds, two random sets with a random overlap
 * (0 to 100k items, differences from none to thousands, one side empty,
 * ts spread wide, clustered in a few values, or at the extremes, ids with
 * long shared prefixes) reconcile in memory to exactly the symmetric
 * difference on both sides; every message fits its sender's budget; round
 * trips stay within ceil(log16 N) + 3 while the difference fits one
 * message, and bytes grow with the difference, not the sets. Then every
 * kind of malformed or hostile message a peer can send is refused with its
 * own reason, errors are final, and a peer that never converges is cut off
 * after max_rounds. A golden vector pins the wire format of one small
 * exchange (tests/proto/vectors/recon.txt; regenerate only deliberately:
 *
 *   BT_PROTO_WRITE_VECTORS=1 build/tests/test_proto_recon
 *
 * as test_vectors.c does for the other vectors). */
#include "proto/recon.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/gen.h"
#include "proto/golden.h"

#define INF ((uint64_t)1 << 32)
#define BUF PROTO_RECON_MSG_MAX

static void setup(void)
{
  cr_assert(sodium_init() >= 0);
}

TestSuite(proto_recon, .init = setup);

/* ---- sets ---- */

enum { TS_SPREAD, TS_CLUSTER, TS_PREFIX, TS_EXTREME, TS_MODES };

typedef struct {
  proto_recon_item *a, *b, *ao, *bo; /* A, B, A \ B, B \ A: each sorted */
  size_t na, nb, nao, nbo;
} sets;

static int order(const void *x, const void *y)
{
  const proto_recon_item *a = x, *b = y;

  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return memcmp(a->id.b, b->id.b, 32);
}

static void rand_item(gen_rng *r, int mode, proto_recon_item *it)
{
  static const uint32_t ext[] = {0, 1, UINT32_MAX - 1, UINT32_MAX};

  memset(it, 0, sizeof *it);
  switch (mode) {
  case TS_SPREAD:
    it->ts = 490000 + (uint32_t)gen_below(r, 1u << 20);
    gen_bytes(r, it->id.b, 32);
    break;
  case TS_CLUSTER:
    it->ts = 490000 + (uint32_t)gen_below(r, 3);
    gen_bytes(r, it->id.b, 32);
    break;
  case TS_PREFIX:
    /* One ts; ids sharing 26-byte prefixes, mostly zeros, so bounds need
     * long prefixes. The last 6 bytes are random: ids from a small space
     * would make equal sums (fingerprints) easy, which real op ids, being
     * hashes, do not (equal_sums_and_counts_look_equal). */
    it->ts = 7;
    it->id.b[0] = (uint8_t)gen_below(r, 3);
    it->id.b[17] = (uint8_t)gen_below(r, 2);
    it->id.b[25] = (uint8_t)gen_below(r, 4);
    gen_bytes(r, it->id.b + 26, 6);
    break;
  default: /* the key space's ends: ts 0 and 2^32-1, ids 00.. and ff.. */
    it->ts = ext[gen_below(r, 4)];
    switch (gen_below(r, 4)) {
    case 0:
      break;
    case 1:
      memset(it->id.b, 0xff, 32);
      break;
    default:
      gen_bytes(r, it->id.b, 32);
    }
  }
}

static proto_recon_item *dup_sorted(const proto_recon_item *p, size_t n)
{
  proto_recon_item *d = malloc((n ? n : 1) * sizeof *d);

  cr_assert_not_null(d);
  if (n)
    memcpy(d, p, n * sizeof *d);
  qsort(d, n, sizeof *d, order);
  return d;
}

/* common items in both, ao only in A, bo only in B (fewer when random
 * items repeat). */
static void make_sets(gen_rng *r, size_t common, size_t ao, size_t bo, int mode, sets *s)
{
  size_t total = common + ao + bo, n = 0;
  proto_recon_item *all = malloc((total ? total : 1) * sizeof *all), *both;

  cr_assert_not_null(all);
  for (size_t i = 0; i < total; i++)
    rand_item(r, mode, &all[i]);
  qsort(all, total, sizeof *all, order);
  for (size_t i = 0; i < total; i++)
    if (n == 0 || order(&all[n - 1], &all[i]) != 0)
      all[n++] = all[i];
  for (size_t i = n; i > 1; i--) { /* shuffle */
    size_t j = gen_below(r, i);
    proto_recon_item t = all[i - 1];

    all[i - 1] = all[j];
    all[j] = t;
  }
  common = common < n ? common : n;
  ao = ao < n - common ? ao : n - common;
  bo = n - common - ao;
  both = all;
  s->ao = dup_sorted(all + common, ao);
  s->bo = dup_sorted(all + common + ao, bo);
  s->nao = ao;
  s->nbo = bo;
  s->na = common + ao;
  s->nb = common + bo;
  s->a = dup_sorted(both, s->na); /* common, then A's own */
  s->b = malloc((s->nb ? s->nb : 1) * sizeof *s->b);
  cr_assert_not_null(s->b);
  memcpy(s->b, both, common * sizeof *s->b);
  memcpy(s->b + common, s->bo, bo * sizeof *s->b);
  qsort(s->b, s->nb, sizeof *s->b, order);
  free(all);
}

static void free_sets(sets *s)
{
  free(s->a);
  free(s->b);
  free(s->ao);
  free(s->bo);
}

/* ---- an exchange in memory ---- */

typedef struct {
  size_t msgs, bytes, max_msg;
} xstats;

static uint8_t *buf_a, *buf_b;

static void buffers(void)
{
  if (!buf_a) {
    buf_a = malloc(BUF);
    buf_b = malloc(BUF);
    cr_assert(buf_a && buf_b);
  }
}

static size_t budget_of(const proto_recon_opts *o)
{
  return o && o->budget ? o->budget : PROTO_RECON_BUDGET_DEFAULT;
}

/* Runs the exchange to the end; returns both sides for their results. */
static void exchange(const sets *s, const proto_recon_opts *oa, const proto_recon_opts *ob,
                     proto_recon **pi, proto_recon **pr, xstats *st, const char *what)
{
  proto_recon *side[2];
  uint8_t *in, *out, *t;
  size_t len, olen;
  int k = 1; /* who receives next */

  buffers();
  in = buf_a;
  out = buf_b;
  memset(st, 0, sizeof *st);
  cr_assert_eq(proto_recon_new(&side[0], 1, s->a, s->na, oa), BT_OK, "%s", what);
  cr_assert_eq(proto_recon_new(&side[1], 0, s->b, s->nb, ob), BT_OK, "%s", what);
  cr_assert_eq(proto_recon_start(side[0], in, BUF, &len), BT_OK, "%s", what);
  for (;;) {
    size_t budget = budget_of(k ? oa : ob); /* the sender's */

    cr_assert(len > 0 && len <= budget, "%s: message %zu is %zu bytes", what, st->msgs, len);
    st->msgs++;
    st->bytes += len;
    st->max_msg = len > st->max_msg ? len : st->max_msg;
    cr_assert(st->msgs < 10000, "%s: no end", what);
    int rc = proto_recon_recv(side[k], in, len, out, BUF, &olen);
    cr_assert_eq(rc, BT_OK, "%s: message %zu: %s", what, st->msgs, bt_errname(rc));
    if (olen == 0)
      break;
    cr_assert(!proto_recon_done(side[!k]), "%s: a reply to a side that is done", what);
    t = in, in = out, out = t;
    len = olen;
    k = !k;
  }
  cr_assert(proto_recon_done(side[0]) && proto_recon_done(side[1]), "%s: not both done", what);
  *pi = side[0];
  *pr = side[1];
}

static void expect(const proto_recon_item *got, size_t n, const proto_recon_item *want,
                   size_t m, const char *what, const char *which)
{
  cr_assert_eq(n, m, "%s: %s has %zu items, want %zu", what, which, n, m);
  for (size_t i = 0; i < n; i++)
    cr_assert(order(&got[i], &want[i]) == 0, "%s: %s item %zu differs", what, which, i);
}

static void check_results(const sets *s, proto_recon *i, proto_recon *r, const char *what)
{
  const proto_recon_item *p;
  size_t n;

  cr_assert_eq(proto_recon_have(i, &p, &n), BT_OK);
  expect(p, n, s->ao, s->nao, what, "initiator have");
  cr_assert_eq(proto_recon_need(i, &p, &n), BT_OK);
  expect(p, n, s->bo, s->nbo, what, "initiator need");
  cr_assert_eq(proto_recon_have(r, &p, &n), BT_OK);
  expect(p, n, s->bo, s->nbo, what, "responder have");
  cr_assert_eq(proto_recon_need(r, &p, &n), BT_OK);
  expect(p, n, s->ao, s->nao, what, "responder need");
}

static size_t ceil_log16(size_t n)
{
  size_t k = 0, p = 1;

  while (p < n)
    p *= 16, k++;
  return k;
}

/* ---- property ---- */

typedef struct {
  size_t common, ao, bo;
  int mode, small; /* small: 4 KiB budgets and thresholds that differ */
} shape;

static void pick_shape(gen_rng *r, uint64_t seed, shape *sh)
{
  static const size_t sizes[] = {0, 1, 20, 200, 2000, 20000, 100000};
  uint64_t c = gen_below(r, 100);
  size_t diff;

  sh->mode = (int)(seed % TS_MODES);
  sh->common = c < 50 ? gen_below(r, 300) : c < 85 ? gen_below(r, 5000)
             : c < 97 ? gen_below(r, 30000) : 60000 + gen_below(r, 40001);
  if (seed < 14) /* the fixed corners: empty sides, identical sets */
    sh->common = sizes[seed % 7];
  c = gen_below(r, 100);
  diff = c < 15 ? 0 : c < 50 ? 1 + gen_below(r, 10) : c < 85 ? gen_below(r, 300)
       : gen_below(r, 4000);
  sh->ao = gen_below(r, diff + 1);
  sh->bo = diff - sh->ao;
  if (seed % 11 == 3) /* one side empty */
    sh->common = 0, sh->ao = 0, sh->bo = sh->bo ? sh->bo * 8 : 300;
  sh->small = gen_below(r, 5) == 0;
  if (sh->mode == TS_PREFIX || sh->mode == TS_EXTREME) /* the time: 100k is spread's */
    sh->common = sh->common > 20000 ? 20000 : sh->common;
}

typedef struct {
  size_t runs, max_rt_small_diff, worst_n;
  double max_bytes_per_diff;
  size_t worst_diff, worst_bytes;
} summary;

/* Bytes one differing item may cost: a path of split fingerprints (16
 * ranges of at most 32 bytes per level) and one list of up to threshold
 * entries (41 bytes each, with its share of headers) and its answer. */
static size_t per_diff_max(size_t n)
{
  return 16 * 32 * ceil_log16(n > 1 ? n : 2) + 41 * PROTO_RECON_THRESHOLD_DEFAULT + 128;
}

/* Round trips (a message each way) and bytes, for honest default options. */
static void check_cost(const sets *s, const xstats *st, const char *what, summary *sum)
{
  size_t n = s->na > s->nb ? s->na : s->nb, diff = s->nao + s->nbo;
  size_t rt = (st->msgs + 1) / 2, bound = ceil_log16(n > 1 ? n : 2) + 3;
  size_t fulls = (st->bytes + PROTO_RECON_BUDGET_DEFAULT - 1) / PROTO_RECON_BUDGET_DEFAULT;
  double per = diff ? (double)st->bytes / (double)diff : 0;

  if (getenv("BT_RECON_COST"))
    fprintf(stderr, "n=%zu diff=%zu msgs=%zu rt=%zu bound=%zu bytes=%zu max=%zu per=%.0f\n", n,
            diff, st->msgs, rt, bound, st->bytes, st->max_msg, per);
  /* Identical sets: a fingerprint and a skip, or the initiator's list. */
  size_t base = 64 + 40 * (s->na <= PROTO_RECON_THRESHOLD_DEFAULT ? s->na : 0);

  if (diff == 0)
    cr_assert(st->bytes <= base, "%s: %zu bytes for identical sets", what, st->bytes);
  if (diff <= 100) { /* the difference fits one message */
    cr_assert(st->msgs <= bound, "%s: %zu messages, bound %zu", what, st->msgs, bound);
    cr_assert(st->bytes <= base + diff * per_diff_max(n), "%s: %zu bytes", what, st->bytes);
    if (rt > sum->max_rt_small_diff)
      sum->max_rt_small_diff = rt, sum->worst_n = n;
    if (per > sum->max_bytes_per_diff)
      sum->max_bytes_per_diff = per, sum->worst_diff = diff, sum->worst_bytes = st->bytes;
  }
  /* Larger differences take a round trip per budget's worth besides. */
  cr_assert(rt <= bound + 2 * fulls, "%s: %zu round trips", what, rt);
}

static void run_seed(uint64_t seed, summary *sum)
{
  proto_recon_opts oa = {0}, ob = {0};
  proto_recon *i, *r;
  char what[160];
  xstats st;
  shape sh;
  gen_rng g;
  sets s;

  gen_seed(&g, seed);
  pick_shape(&g, seed, &sh);
  make_sets(&g, sh.common, sh.ao, sh.bo, sh.mode, &s);
  if (sh.small) {
    oa = (proto_recon_opts){.budget = 4096, .threshold = 1 + gen_below(&g, 32)};
    ob = (proto_recon_opts){.budget = 4096 + gen_below(&g, 8192),
                            .threshold = 1 + gen_below(&g, 64)};
    oa.max_rounds = ob.max_rounds = PROTO_RECON_ROUNDS_CAP;
  }
  snprintf(what, sizeof what, "seed %" PRIu64 " (A %zu, B %zu, A-B %zu, B-A %zu, mode %d%s)",
           seed, s.na, s.nb, s.nao, s.nbo, sh.mode, sh.small ? ", 4 KiB" : "");
  exchange(&s, &oa, &ob, &i, &r, &st, what);
  check_results(&s, i, r, what);
  if (!sh.small)
    check_cost(&s, &st, what, sum);
  sum->runs++;
  proto_recon_free(i);
  proto_recon_free(r);
  free_sets(&s);
}

Test(proto_recon, finds_exactly_the_symmetric_difference)
{
  summary sum = {0};

  for (uint64_t seed = 0; seed < 800; seed++)
    run_seed(seed, &sum);
  cr_log_info("%zu exchanges; with a difference <= 100: at most %zu round trips (n %zu), "
              "%.0f bytes per differing item (%zu items, %zu bytes)",
              sum.runs, sum.max_rt_small_diff, sum.worst_n, sum.max_bytes_per_diff,
              sum.worst_diff, sum.worst_bytes);
}

/* A fixed table at 100k items, for the numbers in docs/protocol.md. */
Test(proto_recon, cost_at_100k_items_grows_with_the_difference)
{
  static const size_t diffs[] = {0, 1, 10, 100, 1000};
  proto_recon *i, *r;
  char what[96];
  xstats st;
  gen_rng g;
  sets s;

  for (int mode = TS_SPREAD; mode <= TS_CLUSTER; mode++)
    for (size_t d = 0; d < sizeof diffs / sizeof diffs[0]; d++) {
      gen_seed(&g, 1000 + d);
      make_sets(&g, 100000 - diffs[d] / 2, diffs[d] / 2, diffs[d] - diffs[d] / 2, mode, &s);
      snprintf(what, sizeof what, "%s, difference %zu", mode ? "clustered" : "spread", diffs[d]);
      exchange(&s, NULL, NULL, &i, &r, &st, what);
      check_results(&s, i, r, what);
      if (diffs[d] <= 100)
        cr_assert(st.msgs <= ceil_log16(100000) + 3, "%s: %zu messages", what, st.msgs);
      cr_log_info("100k items, %s: %zu messages, %zu bytes (%.0f per item), largest %zu",
                  what, st.msgs, st.bytes,
                  diffs[d] ? (double)st.bytes / (double)diffs[d] : 0.0, st.max_msg);
      proto_recon_free(i);
      proto_recon_free(r);
      free_sets(&s);
    }
}

/* 20000 items against none, 4 KiB messages: the answer streams in budget
 * sized pieces, about 100 items a message, and every message fits. */
Test(proto_recon, a_large_difference_streams_under_a_small_budget)
{
  proto_recon_opts o = {.budget = PROTO_RECON_BUDGET_MIN, .max_rounds = 1000};
  proto_recon *i, *r;
  xstats st;
  gen_rng g;
  sets s;

  for (int flip = 0; flip < 2; flip++) {
    gen_seed(&g, 77);
    make_sets(&g, 0, flip ? 20000 : 0, flip ? 0 : 20000, TS_SPREAD, &s);
    exchange(&s, &o, &o, &i, &r, &st, flip ? "initiator has all" : "responder has all");
    check_results(&s, i, r, "small budget");
    cr_assert(st.max_msg <= PROTO_RECON_BUDGET_MIN);
    cr_assert(st.msgs >= 20000 * 40 / PROTO_RECON_BUDGET_MIN, "%zu messages", st.msgs);
    cr_assert(st.bytes <= 20000 * 48, "%zu bytes", st.bytes);
    cr_log_info("20000 missing items at a 4 KiB budget: %zu messages, %zu bytes", st.msgs,
                st.bytes);
    proto_recon_free(i);
    proto_recon_free(r);
    free_sets(&s);
  }
}

/* The fingerprint is of the sum and count only (as node_fingerprint's
 * node_fp): two sets with equal sums and counts look equal. This is the
 * known limit of additive fingerprints (docs/protocol.md). */
Test(proto_recon, equal_sums_and_counts_look_equal)
{
  proto_recon_item a[2] = {{5, {{0}}}, {5, {{0}}}}, b[2] = {{5, {{0}}}, {5, {{0}}}};
  proto_recon_opts o = {.threshold = 1};
  proto_recon *i, *r;
  const proto_recon_item *p;
  sets s = {a, b, NULL, NULL, 2, 2, 0, 0};
  xstats st;
  size_t n;

  a[0].id.b[0] = 1, a[1].id.b[0] = 4; /* 1 + 4 = 2 + 3 */
  b[0].id.b[0] = 2, b[1].id.b[0] = 3;
  exchange(&s, &o, &o, &i, &r, &st, "collision");
  cr_assert_eq(st.msgs, 2);
  cr_assert_eq(proto_recon_need(i, &p, &n), BT_OK);
  cr_assert_eq(n, 0);
  proto_recon_free(i);
  proto_recon_free(r);
}

/* The longest prefix among the bounds of a message. */
static size_t max_prefix(const uint8_t *p, size_t len)
{
  msgpack_unpacked u;
  size_t off = 0, max = 0;

  msgpack_unpacked_init(&u);
  cr_assert_eq(msgpack_unpack_next(&u, (const char *)p, len, &off), MSGPACK_UNPACK_SUCCESS);
  msgpack_object_array *rs = &u.data.via.array.ptr[1].via.array;
  for (uint32_t k = 0; k < rs->size; k++) {
    size_t n = rs->ptr[k].via.array.ptr[1].via.bin.size;

    max = n > max ? n : max;
  }
  msgpack_unpacked_destroy(&u);
  return max;
}

/* Ids that differ only in their last byte (one of them all zeros, the
 * minimum key) need bounds of every prefix length up to 32. */
Test(proto_recon, bounds_take_prefixes_up_to_32_bytes)
{
  proto_recon_opts o = {.budget = PROTO_RECON_BUDGET_MIN, .threshold = 1};
  proto_recon_item a[41], b[41];
  const proto_recon_item *p;
  proto_recon *side[2];
  uint8_t *in, *out, *t;
  size_t len, olen, n, longest = 0;
  int k = 1;

  buffers();
  memset(a, 0, sizeof a);
  for (size_t i = 0; i < 41; i++)
    a[i].id.b[31] = (uint8_t)(i * 3); /* 0, 3, ..., 120 */
  memcpy(b, a, sizeof b);
  b[7].id.b[31] = 200; /* B lacks 21, A lacks 200 */
  qsort(b, 41, sizeof *b, order);
  cr_assert_eq(proto_recon_new(&side[0], 1, a, 41, &o), BT_OK);
  cr_assert_eq(proto_recon_new(&side[1], 0, b, 41, &o), BT_OK);
  in = buf_a, out = buf_b;
  cr_assert_eq(proto_recon_start(side[0], in, BUF, &len), BT_OK);
  for (;;) {
    size_t m = max_prefix(in, len);

    longest = m > longest ? m : longest;
    cr_assert_eq(proto_recon_recv(side[k], in, len, out, BUF, &olen), BT_OK);
    if (olen == 0)
      break;
    t = in, in = out, out = t, len = olen, k = !k;
  }
  cr_assert_eq(longest, 32);
  cr_assert_eq(proto_recon_have(side[0], &p, &n), BT_OK);
  cr_assert(n == 1 && p[0].id.b[31] == 21);
  cr_assert_eq(proto_recon_need(side[0], &p, &n), BT_OK);
  cr_assert(n == 1 && p[0].id.b[31] == 200);
  proto_recon_free(side[0]);
  proto_recon_free(side[1]);
}

/* ---- hostile and malformed messages ---- */

typedef struct {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mb;

static void mb_msg(mb *m, uint32_t nranges)
{
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
  msgpack_pack_array(&m->pk, 2);
  msgpack_pack_uint8(&m->pk, 1);
  msgpack_pack_array(&m->pk, nranges);
}

static void mb_head(mb *m, uint32_t fields, uint64_t ts, const char *pre, size_t n, uint64_t mode)
{
  msgpack_pack_array(&m->pk, fields);
  msgpack_pack_uint64(&m->pk, ts);
  msgpack_pack_bin(&m->pk, n);
  msgpack_pack_bin_body(&m->pk, pre, n);
  msgpack_pack_uint64(&m->pk, mode);
}

static void mb_skip(mb *m, uint64_t ts, const char *pre, size_t n)
{
  mb_head(m, 3, ts, pre, n, 0);
}

static void mb_fp(mb *m, uint64_t ts, const char *pre, size_t n)
{
  static const uint8_t fp[16] = "0123456789abcdef";

  mb_head(m, 4, ts, pre, n, 1);
  msgpack_pack_bin(&m->pk, 16);
  msgpack_pack_bin_body(&m->pk, fp, 16);
}

static void mb_entry(mb *m, uint64_t ts, uint8_t first, size_t idlen)
{
  uint8_t id[64] = {0};

  id[0] = first;
  msgpack_pack_array(&m->pk, 2);
  msgpack_pack_uint64(&m->pk, ts);
  msgpack_pack_bin(&m->pk, idlen);
  msgpack_pack_bin_body(&m->pk, id, idlen);
}

/* The responder's items in the hostile tests: ts 100..104, id[0] = 10 k + 10
 * (k = 0..49, ten per ts). */
static proto_recon_item fixed[50];

static void fixed_set(void)
{
  for (size_t k = 0; k < 50; k++) {
    memset(&fixed[k], 0, sizeof fixed[k]);
    fixed[k].ts = 100 + (uint32_t)(k / 10);
    fixed[k].id.b[0] = (uint8_t)(10 + 5 * (k % 10));
    fixed[k].id.b[31] = (uint8_t)k;
  }
}

/* Feeds p to a fresh side (a responder, or an initiator after its first
 * message) and checks the error is want, and final. */
static void refused(proto_recon *s, const void *p, size_t len, int want, const char *what)
{
  const proto_recon_item *it;
  size_t olen = 12345, n;
  int rc;

  buffers();
  rc = proto_recon_recv(s, p, len, buf_a, BUF, &olen);
  cr_assert_eq(rc, want, "%s: got %s, want %s", what, bt_errname(rc), bt_errname(want));
  cr_assert_eq(olen, 12345, "%s: olen written on error", what);
  cr_assert_eq(proto_recon_recv(s, p, len, buf_a, BUF, &olen), want, "%s: not final", what);
  cr_assert(!proto_recon_done(s), "%s", what);
  cr_assert_eq(proto_recon_have(s, &it, &n), BT_EINVAL, "%s", what);
}

static proto_recon *responder(void)
{
  proto_recon *r;

  fixed_set();
  cr_assert_eq(proto_recon_new(&r, 0, fixed, 50, NULL), BT_OK);
  return r;
}

static void refused_mb(mb *m, int want, const char *what)
{
  proto_recon *r = responder();

  refused(r, m->sb.data, m->sb.size, want, what);
  proto_recon_free(r);
  msgpack_sbuffer_destroy(&m->sb);
}

Test(proto_recon, bounds_must_ascend_to_infinity)
{
  mb m;

  mb_msg(&m, 3), mb_fp(&m, 5, "", 0), mb_fp(&m, 3, "", 0), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_EPROTO, "descending");
  mb_msg(&m, 3), mb_fp(&m, 5, "\x07", 1), mb_fp(&m, 5, "\x07", 1), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_EPROTO, "repeated");
  mb_msg(&m, 2), mb_fp(&m, 0, "", 0), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_EPROTO, "an empty first range");
  mb_msg(&m, 1), mb_fp(&m, 5, "", 0);
  refused_mb(&m, BT_EPROTO, "last bound not infinity");
  mb_msg(&m, 2), mb_fp(&m, INF, "", 0), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_EPROTO, "a range after infinity");
  mb_msg(&m, 1), mb_skip(&m, INF + 1, "", 0);
  refused_mb(&m, BT_EPROTO, "ts above infinity");
  mb_msg(&m, 1), mb_skip(&m, INF, "\x01", 1);
  refused_mb(&m, BT_EPROTO, "infinity with a prefix");
  mb_msg(&m, 2), mb_fp(&m, 5, "0123456789abcdef0123456789abcdefX", 33), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_ETOOBIG, "a 33-byte prefix");
  mb_msg(&m, 2), mb_fp(&m, 5, "\x01\x00", 2), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_ENONCANON, "a prefix ending in zero");
  mb_msg(&m, 2), mb_skip(&m, 5, "", 0), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_ENONCANON, "two skips in a row");
  mb_msg(&m, 1);
  msgpack_pack_array(&m.pk, 3), msgpack_pack_int64(&m.pk, -1);
  msgpack_pack_bin(&m.pk, 0), msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_ETYPE, "a negative ts");
  mb_msg(&m, 1);
  msgpack_pack_array(&m.pk, 3), msgpack_pack_uint64(&m.pk, INF);
  msgpack_pack_str(&m.pk, 0), msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_ETYPE, "a prefix as str");
}

Test(proto_recon, modes_and_payloads_are_checked)
{
  mb m;

  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 4), msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_EPROTO, "mode 4");
  mb_msg(&m, 1), mb_head(&m, 3, INF, "", 0, 200);
  refused_mb(&m, BT_EPROTO, "mode 200");
  mb_msg(&m, 1), msgpack_pack_array(&m.pk, 3), msgpack_pack_uint64(&m.pk, INF);
  msgpack_pack_bin(&m.pk, 0), msgpack_pack_str(&m.pk, 0);
  refused_mb(&m, BT_ETYPE, "mode as str");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 0), msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_EPROTO, "a skip with a payload");
  mb_msg(&m, 1), mb_head(&m, 3, INF, "", 0, 1);
  refused_mb(&m, BT_EPROTO, "a fingerprint without one");
  mb_msg(&m, 1), msgpack_pack_array(&m.pk, 2), msgpack_pack_uint64(&m.pk, INF);
  msgpack_pack_bin(&m.pk, 0);
  refused_mb(&m, BT_EPROTO, "a range of two fields");
  mb_msg(&m, 1), mb_head(&m, 6, INF, "", 0, 3);
  for (int k = 0; k < 3; k++)
    msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_EPROTO, "a range of six fields");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 1), msgpack_pack_bin(&m.pk, 15);
  msgpack_pack_bin_body(&m.pk, "0123456789abcde", 15);
  refused_mb(&m, BT_EPROTO, "a 15-byte fingerprint");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 1), msgpack_pack_str(&m.pk, 16);
  msgpack_pack_str_body(&m.pk, "0123456789abcdef", 16);
  refused_mb(&m, BT_ETYPE, "a fingerprint as str");
  mb_msg(&m, 1), msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_ETYPE, "a range that is not an array");
}

Test(proto_recon, lists_are_checked)
{
  mb m;

  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 1025);
  for (int k = 0; k < 1025; k++)
    mb_entry(&m, 7, (uint8_t)k, 32);
  refused_mb(&m, BT_ETOOBIG, "1025 entries");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 1);
  mb_entry(&m, 7, 1, 31);
  refused_mb(&m, BT_EPROTO, "a 31-byte id");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 1);
  mb_entry(&m, 7, 1, 33);
  refused_mb(&m, BT_EPROTO, "a 33-byte id");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 1);
  mb_entry(&m, INF - 1 + 1, 1, 32);
  refused_mb(&m, BT_EPROTO, "an entry ts above 2^32-1");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 2);
  mb_entry(&m, 7, 2, 32), mb_entry(&m, 7, 1, 32);
  refused_mb(&m, BT_EPROTO, "entries descending");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 2);
  mb_entry(&m, 7, 2, 32), mb_entry(&m, 7, 2, 32);
  refused_mb(&m, BT_EPROTO, "an entry twice");
  mb_msg(&m, 2), mb_head(&m, 4, 7, "\x05", 1, 2), msgpack_pack_array(&m.pk, 1);
  mb_entry(&m, 7, 5, 32), mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_EPROTO, "an entry at the upper bound");
  mb_msg(&m, 2), mb_fp(&m, 7, "", 0), mb_head(&m, 4, INF, "", 0, 2);
  msgpack_pack_array(&m.pk, 1), mb_entry(&m, 6, 9, 32);
  refused_mb(&m, BT_EPROTO, "an entry below the lower bound");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_array(&m.pk, 1);
  msgpack_pack_array(&m.pk, 3), msgpack_pack_uint8(&m.pk, 7), msgpack_pack_bin(&m.pk, 0);
  msgpack_pack_uint8(&m.pk, 0);
  refused_mb(&m, BT_EPROTO, "an entry of three fields");
  mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 2), msgpack_pack_bin(&m.pk, 0);
  refused_mb(&m, BT_ETYPE, "a list as bin");
}

Test(proto_recon, the_message_shell_is_checked)
{
  static const uint8_t noncanon[] = {0x92, 0xcc, 0x01, 0x91, 0x93, 0xcf, 0, 0, 0, 1,
                                     0,    0,    0,    0,    0xc4, 0x00, 0x00};
  static const uint8_t ok[] = {0x92, 0x01, 0x91, 0x93, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xc4, 0, 0};
  static const uint8_t flt[] = {0x92, 0x01, 0x91, 0x93, 0xca, 0, 0, 0, 0, 0xc4, 0, 0};
  uint8_t big[sizeof ok + 1];
  uint8_t *huge = calloc(1, PROTO_RECON_MSG_MAX + 1);
  proto_recon *r;
  mb m;

  cr_assert_not_null(huge);
  memcpy(big, ok, sizeof ok);
  big[sizeof ok] = 0;
  r = responder(), refused(r, noncanon, sizeof noncanon, BT_ENONCANON, "uint8 version");
  proto_recon_free(r);
  r = responder(), refused(r, ok, sizeof ok - 1, BT_ETRUNC, "cut short");
  proto_recon_free(r);
  r = responder(), refused(r, big, sizeof big, BT_ETRAILING, "a byte after");
  proto_recon_free(r);
  r = responder(), refused(r, flt, sizeof flt, BT_ETYPE, "a float");
  proto_recon_free(r);
  r = responder(), refused(r, huge, PROTO_RECON_MSG_MAX + 1, BT_ETOOBIG, "over 1 MiB");
  proto_recon_free(r);
  free(huge);
  r = responder(), refused(r, "", 0, BT_ETRUNC, "empty");
  proto_recon_free(r);
  mb_msg(&m, 1), mb_skip(&m, INF, "", 0), msgpack_pack_uint8(&m.pk, 0);
  m.sb.data[0] = (char)0x93;
  refused_mb(&m, BT_EPROTO, "three fields");
  msgpack_sbuffer_init(&m.sb), msgpack_packer_init(&m.pk, &m.sb, msgpack_sbuffer_write);
  msgpack_pack_uint8(&m.pk, 1);
  refused_mb(&m, BT_ETYPE, "not an array");
  mb_msg(&m, 1), mb_skip(&m, INF, "", 0);
  m.sb.data[1] = 2;
  refused_mb(&m, BT_EVERSION, "version 2");
  mb_msg(&m, 1), mb_skip(&m, INF, "", 0);
  m.sb.data[1] = 0;
  refused_mb(&m, BT_EVERSION, "version 0");
  mb_msg(&m, 0);
  refused_mb(&m, BT_EPROTO, "no ranges");
  mb_msg(&m, PROTO_RECON_RANGES_MAX + 1);
  for (int k = 0; k < PROTO_RECON_RANGES_MAX + 1; k++)
    mb_skip(&m, INF, "", 0);
  refused_mb(&m, BT_ETOOBIG, "16385 ranges");
}

/* An initiator holding fixed[0..n): its first message is a list of all
 * of it (n <= 32) or a fingerprint. */
static proto_recon *initiator(size_t n)
{
  proto_recon *r;
  size_t len;

  fixed_set();
  buffers();
  cr_assert_eq(proto_recon_new(&r, 1, fixed, n, NULL), BT_OK);
  cr_assert_eq(proto_recon_start(r, buf_b, BUF, &len), BT_OK);
  return r;
}

/* [[inf, "", 3, entries, bits]] */
static void answer(mb *m, const uint8_t *first, size_t ne, const void *bits, size_t nb)
{
  mb_msg(m, 1), mb_head(m, 5, INF, "", 0, 3), msgpack_pack_array(&m->pk, (uint32_t)ne);
  for (size_t k = 0; k < ne; k++)
    mb_entry(m, 100, first[k], 32);
  msgpack_pack_bin(&m->pk, nb), msgpack_pack_bin_body(&m->pk, bits, nb);
}

static void answer_refused(size_t n, mb *m, int want, const char *what)
{
  proto_recon *r = initiator(n);

  refused(r, m->sb.data, m->sb.size, want, what);
  proto_recon_free(r);
  msgpack_sbuffer_destroy(&m->sb);
}

Test(proto_recon, answers_must_fit_what_was_listed)
{
  static const uint8_t some[] = {11}, twelve[] = {12}, mine[] = {10};
  const proto_recon_item *p;
  proto_recon *r;
  size_t olen, n;
  mb m;

  /* fixed[0..12): ts 100 and 101 with id[0] 10..55 and 10, 15. */
  answer(&m, some, 1, "\x01\x08", 2);
  r = initiator(12);
  cr_assert_eq(proto_recon_recv(r, (const uint8_t *)m.sb.data, m.sb.size, buf_a, BUF, &olen),
               BT_OK);
  cr_assert_eq(olen, 0, "an answer ends the exchange");
  cr_assert(proto_recon_done(r));
  cr_assert_eq(proto_recon_need(r, &p, &n), BT_OK);
  cr_assert(n == 1 && p[0].ts == 100 && p[0].id.b[0] == 11);
  cr_assert_eq(proto_recon_have(r, &p, &n), BT_OK);
  cr_assert(n == 2 && order(&p[0], &fixed[0]) == 0 && order(&p[1], &fixed[11]) == 0);
  cr_assert_eq(proto_recon_recv(r, (const uint8_t *)m.sb.data, m.sb.size, buf_a, BUF, &olen),
               BT_EINVAL);
  proto_recon_free(r);
  msgpack_sbuffer_destroy(&m.sb);

  answer(&m, some, 1, "\x01", 1);
  answer_refused(12, &m, BT_EPROTO, "a bitmap one byte short");
  answer(&m, some, 1, "\x01\x00\x00", 3);
  answer_refused(12, &m, BT_EPROTO, "a bitmap one byte long");
  answer(&m, some, 1, "\x01\x10", 2);
  answer_refused(12, &m, BT_EPROTO, "a spare bit set");
  answer(&m, mine, 1, "\x00\x00", 2);
  answer_refused(12, &m, BT_EPROTO, "naming an item the receiver holds");
  answer(&m, twelve, 0, "\x00\x00", 2);
  answer_refused(12, &m, BT_ENONCANON, "an answer that says nothing");
  answer(&m, twelve, 1, "", 0);
  answer_refused(40, &m, BT_EPROTO, "an answer to a fingerprint");
  mb_msg(&m, 2), mb_fp(&m, 100, "", 0), mb_head(&m, 5, INF, "", 0, 3);
  msgpack_pack_array(&m.pk, 0), msgpack_pack_bin(&m.pk, 1), msgpack_pack_bin_body(&m.pk, "\x01", 1);
  answer_refused(12, &m, BT_EPROTO, "an answer to part of a list, misaligned bits");
  r = responder();
  answer(&m, twelve, 1, "", 0);
  refused(r, m.sb.data, m.sb.size, BT_EPROTO, "an answer to nothing");
  proto_recon_free(r);
  msgpack_sbuffer_destroy(&m.sb);
}

/* A peer that answers everything with a new fingerprint of the whole key
 * space is cut off after max_rounds messages. */
static void never_converges(uint32_t max_rounds)
{
  proto_recon_opts o = {.threshold = 4, .max_rounds = max_rounds};
  proto_recon *r;
  size_t olen;
  uint32_t k;
  int rc = BT_OK;
  mb m;

  fixed_set();
  buffers();
  cr_assert_eq(proto_recon_new(&r, 0, fixed, 50, &o), BT_OK);
  for (k = 0; k < 100000 && rc == BT_OK; k++) {
    uint8_t fp[16];

    for (int x = 0; x < 16; x++)
      fp[x] = (uint8_t)(k * 7 + (uint32_t)x);
    mb_msg(&m, 1), mb_head(&m, 4, INF, "", 0, 1);
    msgpack_pack_bin(&m.pk, 16), msgpack_pack_bin_body(&m.pk, fp, 16);
    rc = proto_recon_recv(r, (const uint8_t *)m.sb.data, m.sb.size, buf_a, BUF, &olen);
    cr_assert(rc != BT_OK || olen > 0);
    msgpack_sbuffer_destroy(&m.sb);
  }
  cr_assert_eq(rc, BT_EPROTO);
  cr_assert_eq(k, max_rounds + 1, "cut off at message %u", k);
  cr_assert_eq(proto_recon_rounds(r), max_rounds);
  proto_recon_free(r);
}

Test(proto_recon, a_peer_that_never_converges_is_cut_off)
{
  never_converges(PROTO_RECON_ROUNDS_DEFAULT);
  never_converges(3);
  never_converges(1);
}

Test(proto_recon, misuse_is_refused_and_changes_nothing)
{
  proto_recon_item two[2] = {{5, {{2}}}, {5, {{1}}}};
  proto_recon_opts bad[] = {
      {.budget = PROTO_RECON_BUDGET_MIN - 1},
      {.budget = PROTO_RECON_MSG_MAX + 1},
      {.threshold = PROTO_RECON_LIST_MAX + 1},
      {.budget = 4096, .threshold = 97},
      {.max_rounds = PROTO_RECON_ROUNDS_CAP + 1},
  };
  proto_recon_opts edge = {.budget = 4096, .threshold = 96};
  const proto_recon_item *p;
  proto_recon *r, *i;
  size_t len, n;
  mb m;

  fixed_set();
  buffers();
  cr_assert_eq(proto_recon_new(&r, 0, two, 2, NULL), BT_EINVAL, "descending");
  two[1] = two[0];
  cr_assert_eq(proto_recon_new(&r, 0, two, 2, NULL), BT_EINVAL, "repeated");
  cr_assert_eq(proto_recon_new(&r, 0, NULL, 1, NULL), BT_EINVAL);
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    cr_assert_eq(proto_recon_new(&r, 0, fixed, 50, &bad[k]), BT_EINVAL, "options %zu", k);
  cr_assert_eq(proto_recon_new(&r, 0, fixed, 50, &edge), BT_OK);
  proto_recon_free(r);
  proto_recon_free(NULL);

  r = responder();
  cr_assert_eq(proto_recon_start(r, buf_a, BUF, &len), BT_EINVAL, "a responder starts");
  cr_assert_eq(proto_recon_new(&i, 1, fixed, 50, NULL), BT_OK);
  cr_assert_eq(proto_recon_recv(i, buf_a, 1, buf_b, BUF, &len), BT_EINVAL, "before start");
  cr_assert_eq(proto_recon_start(i, buf_a, PROTO_RECON_BUDGET_DEFAULT - 1, &len), BT_EINVAL);
  cr_assert_eq(proto_recon_start(i, buf_a, BUF, &len), BT_OK);
  cr_assert_eq(proto_recon_start(i, buf_b, BUF, &n), BT_EINVAL, "twice");
  cr_assert_eq(proto_recon_have(r, &p, &n), BT_EINVAL, "results before done");
  cr_assert_eq(proto_recon_recv(r, buf_a, len, buf_b, PROTO_RECON_BUDGET_DEFAULT - 1, &n),
               BT_EINVAL, "a short buffer");
  cr_assert_eq(proto_recon_recv(r, buf_a, len, buf_b, BUF, &n), BT_OK, "unchanged");
  cr_assert_eq(proto_recon_rounds(r), 1);
  proto_recon_free(i);
  proto_recon_free(r);

  /* Identical sets: the reply is a lone skip, and ends it. */
  r = responder();
  mb_msg(&m, 1), mb_skip(&m, INF, "", 0);
  cr_assert_eq(proto_recon_recv(r, (const uint8_t *)m.sb.data, m.sb.size, buf_b, BUF, &n), BT_OK);
  cr_assert(n == 0 && proto_recon_done(r));
  cr_assert_eq(proto_recon_recv(r, (const uint8_t *)m.sb.data, m.sb.size, buf_b, BUF, &n),
               BT_EINVAL, "done");
  msgpack_sbuffer_destroy(&m.sb);
  proto_recon_free(r);
}

/* Every bit flip and every truncation of every message of an honest
 * exchange is refused with a final error or accepted as some other valid
 * message, whose reply still fits the budget. */
Test(proto_recon, every_bit_flip_and_cut_fails_cleanly_or_reads_as_valid)
{
  static uint8_t msgs[8][8192];
  proto_recon_opts o = {.budget = PROTO_RECON_BUDGET_MIN, .threshold = 4};
  size_t lens[8], nmsgs = 0, olen, len, tried = 0, refusals = 0;
  proto_recon *side[2];
  gen_rng g;
  sets s;
  int k = 1;

  buffers();
  gen_seed(&g, 5);
  make_sets(&g, 60, 4, 5, TS_CLUSTER, &s);
  cr_assert_eq(proto_recon_new(&side[0], 1, s.a, s.na, &o), BT_OK);
  cr_assert_eq(proto_recon_new(&side[1], 0, s.b, s.nb, &o), BT_OK);
  cr_assert_eq(proto_recon_start(side[0], msgs[0], BUF, &lens[0]), BT_OK);
  for (nmsgs = 1;; nmsgs++, k = !k) {
    cr_assert(nmsgs < 8);
    cr_assert_eq(proto_recon_recv(side[k], msgs[nmsgs - 1], lens[nmsgs - 1], buf_a, BUF, &olen),
                 BT_OK);
    if (olen == 0)
      break;
    cr_assert(olen <= sizeof msgs[0]);
    memcpy(msgs[nmsgs], buf_a, olen);
    lens[nmsgs] = olen;
  }
  proto_recon_free(side[0]);
  proto_recon_free(side[1]);
  for (size_t m = 0; m < nmsgs; m++)
    for (size_t bit = 0; bit < 9 * lens[m]; bit++) { /* 8 flips a byte, then a cut */
      uint8_t *copy = malloc(lens[m]);
      int rc;

      cr_assert_eq(proto_recon_new(&side[0], 1, s.a, s.na, &o), BT_OK);
      cr_assert_eq(proto_recon_new(&side[1], 0, s.b, s.nb, &o), BT_OK);
      cr_assert_eq(proto_recon_start(side[0], buf_a, BUF, &len), BT_OK);
      for (size_t x = 0; x < m; x++) /* replay up to message m */
        cr_assert_eq(proto_recon_recv(side[x % 2 == 0], msgs[x], lens[x], buf_a, BUF, &len),
                     BT_OK);
      memcpy(copy, msgs[m], lens[m]);
      len = lens[m];
      if (bit < 8 * lens[m])
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      else
        len = bit - 8 * lens[m];
      rc = proto_recon_recv(side[m % 2 == 0], copy, len, buf_a, BUF, &olen);
      if (rc != BT_OK) {
        refusals++;
        cr_assert_eq(proto_recon_recv(side[m % 2 == 0], copy, len, buf_a, BUF, &olen), rc);
      } else {
        cr_assert(olen <= PROTO_RECON_BUDGET_MIN);
      }
      tried++;
      free(copy);
      proto_recon_free(side[0]);
      proto_recon_free(side[1]);
    }
  cr_log_info("%zu messages, %zu damaged copies, %zu refused", nmsgs, tried, refusals);
  free_sets(&s);
}

/* ---- golden vector ---- */

static void put_hex(gv_text *t, const void *p, size_t len)
{
  for (size_t i = 0; i < len; i++)
    gv_put(t, "%02x", ((const uint8_t *)p)[i]);
}

/* One line per range: "bound | mode payload"; the bound as ts and prefix
 * ("-" when empty), entries as ts:first four id bytes. */
static void put_ranges(gv_text *t, const char *name, const uint8_t *p, size_t len)
{
  static const char *modes[] = {"skip", "fingerprint", "list", "answer"};
  msgpack_unpacked u;
  size_t off = 0;

  msgpack_unpacked_init(&u);
  cr_assert_eq(msgpack_unpack_next(&u, (const char *)p, len, &off), MSGPACK_UNPACK_SUCCESS);
  msgpack_object_array *rs = &u.data.via.array.ptr[1].via.array;
  for (uint32_t k = 0; k < rs->size; k++) {
    msgpack_object *a = rs->ptr[k].via.array.ptr;
    uint64_t mode = a[2].via.u64;

    gv_put(t, "%s.range.%u = ", name, k);
    if (a[0].via.u64 == INF)
      gv_put(t, "infinity");
    else
      gv_put(t, "%" PRIu64 " %s", a[0].via.u64, a[1].via.bin.size ? "" : "-"),
          put_hex(t, a[1].via.bin.ptr, a[1].via.bin.size);
    gv_put(t, " | %s", modes[mode]);
    if (mode == 1)
      gv_put(t, " "), put_hex(t, a[3].via.bin.ptr, 16);
    if (mode >= 2)
      gv_put(t, " %u entries", a[3].via.array.size);
    for (uint32_t e = 0; mode >= 2 && e < a[3].via.array.size; e++) {
      msgpack_object *en = a[3].via.array.ptr[e].via.array.ptr;

      gv_put(t, " %" PRIu64 ":", en[0].via.u64), put_hex(t, en[1].via.bin.ptr, 4), gv_put(t, "..");
    }
    if (mode == 3)
      gv_put(t, " bits %s", a[4].via.bin.size ? "" : "-"),
          put_hex(t, a[4].via.bin.ptr, a[4].via.bin.size);
    gv_put(t, "\n");
  }
  msgpack_unpacked_destroy(&u);
}

#define VK 23 /* items k = 0..22 */

static void vector_item(size_t k, proto_recon_item *it)
{
  char in[32];

  it->ts = 490000 + (uint32_t)(k % 3);
  snprintf(in, sizeof in, "baton recon vector %zu", k);
  crypto_generichash(it->id.b, 32, (const uint8_t *)in, strlen(in), NULL, 0);
}

static size_t vector_index(const proto_recon_item *all, const proto_recon_item *it)
{
  for (size_t k = 0; k < VK; k++)
    if (order(&all[k], it) == 0)
      return k;
  cr_assert_fail("not a vector item");
  return 0;
}

static void put_result(gv_text *t, const char *name, const proto_recon_item *all,
                       const proto_recon_item *p, size_t n)
{
  gv_put(t, "%s =", name);
  for (size_t i = 0; i < n; i++)
    gv_put(t, "%s %zu", i ? "," : "", vector_index(all, &p[i]));
  gv_put(t, " (k)\n");
}

Test(proto_recon, golden_vector)
{
  proto_recon_opts o = {.threshold = 4};
  proto_recon_item all[VK], a[20], b[20];
  const proto_recon_item *p;
  proto_recon *side[2];
  gv_text t = {NULL, 0, 0};
  uint8_t *in, *out, *tmp;
  size_t len, olen, n, na = 0, nb = 0, msg = 1;
  int k = 1;

  buffers();
  for (size_t i = 0; i < VK; i++) {
    vector_item(i, &all[i]);
    if (i < 20)
      a[na++] = all[i];
    if (i < 17 || i >= 20)
      b[nb++] = all[i];
  }
  qsort(a, na, sizeof *a, order);
  qsort(b, nb, sizeof *b, order);
  gv_header(&t, "recon.txt", "reconciliation", "recon");
  gv_put(&t, "# Items k = 0..22: ts = 490000 + k mod 3 (decimal), id = BLAKE2b-256, unkeyed,\n"
             "# of the ASCII text \"baton recon vector <k>\". The initiator holds k = 0..19,\n"
             "# the responder k = 0..16 and 20..22. Both use threshold 4 and the default\n"
             "# budget. msg.N is the Nth message (odd: the initiator's), msg.N.range.R a\n"
             "# reading of its ranges (entries shown as ts:first 4 id bytes).\n");
  for (size_t i = 0; i < VK; i++) {
    gv_put(&t, "item.%zu = %" PRIu32 " ", i, all[i].ts);
    put_hex(&t, all[i].id.b, 32);
    gv_put(&t, "\n");
  }
  cr_assert_eq(proto_recon_new(&side[0], 1, a, na, &o), BT_OK);
  cr_assert_eq(proto_recon_new(&side[1], 0, b, nb, &o), BT_OK);
  in = buf_a, out = buf_b;
  cr_assert_eq(proto_recon_start(side[0], in, BUF, &len), BT_OK);
  for (;;) {
    gv_put(&t, "\nmsg.%zu = ", msg);
    put_hex(&t, in, len);
    gv_put(&t, "\n");
    char name[16];
    snprintf(name, sizeof name, "msg.%zu", msg);
    put_ranges(&t, name, in, len);
    cr_assert_eq(proto_recon_recv(side[k], in, len, out, BUF, &olen), BT_OK);
    if (olen == 0)
      break;
    tmp = in, in = out, out = tmp;
    len = olen, k = !k, msg++;
  }
  cr_assert_eq(msg, 4, "four messages");
  gv_put(&t, "\n# Outcome: the items each side has that the other lacks, and lacks.\n");
  cr_assert_eq(proto_recon_have(side[0], &p, &n), BT_OK);
  put_result(&t, "initiator.have", all, p, n);
  cr_assert_eq(proto_recon_need(side[0], &p, &n), BT_OK);
  put_result(&t, "initiator.need", all, p, n);
  cr_assert_eq(proto_recon_have(side[1], &p, &n), BT_OK);
  put_result(&t, "responder.have", all, p, n);
  cr_assert_eq(proto_recon_need(side[1], &p, &n), BT_OK);
  put_result(&t, "responder.need", all, p, n);
  gv_check(&t, "recon.txt");
  free(t.p);
  proto_recon_free(side[0]);
  proto_recon_free(side[1]);
}
