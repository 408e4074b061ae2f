/* tests/crdt/test_mp.c: the strict msgpack walker in front of msgpack-c.
 *
 * The walker is the only thing standing between untrusted bytes and
 * msgpack-c's allocator, so the tests aim at what it must refuse before
 * msgpack-c sees anything: declared sizes larger than the bytes left (a
 * 5-byte array32 that claims 2^32-1 items would make msgpack-c reserve
 * ~100 GB), nesting past the limit, trailing bytes, and the types crdt never
 * writes. The other half is that it accepts every valid object and reports
 * its size exactly, which is checked against msgpack-c's own packer output
 * and against msgpack-c's unpacker on random bytes.
 *
 * Inputs are always malloc'd copies of exactly their length, so under ASan
 * any read past the end is caught. */
#include "crdt/mp.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "gen.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An exact-size heap copy, so ASan sees any overread. */
static uint8_t *dup_bytes(const void *p, size_t len)
{
  uint8_t *d = malloc(len ? len : 1);

  cr_assert_not_null(d);
  if (len)
    memcpy(d, p, len);
  return d;
}

static int walk(const void *p, size_t len, unsigned depth, size_t *used)
{
  uint8_t *d = dup_bytes(p, len);
  int rc = crdt_mp_walk(d, len, depth, used);

  free(d);
  return rc;
}

static int unpack(const void *p, size_t len, unsigned depth)
{
  uint8_t *d = dup_bytes(p, len);
  msgpack_zone z;
  msgpack_object o;
  int rc;

  cr_assert(msgpack_zone_init(&z, 256));
  rc = crdt_mp_unpack(d, len, depth, &z, &o);
  msgpack_zone_destroy(&z);
  free(d);
  return rc;
}

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

typedef struct {
  const uint8_t *p;
  size_t len;
} bytes;

#define BY(...) {(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})}

static void expect_walk(const uint8_t *p, size_t len, int want, const char *what)
{
  size_t used = 0;
  int rc = walk(p, len, 32, &used);

  cr_assert_eq(rc, want, "%s: walk gave %s, want %s", what, bt_errname(rc),
               bt_errname(want));
  rc = unpack(p, len, 32);
  cr_assert_eq(rc, want, "%s: unpack gave %s, want %s", what, bt_errname(rc),
               bt_errname(want));
}

/* ---- declared sizes ---------------------------------------------------- */

Test(crdt_mp, huge_declared_counts_are_truncation_not_allocation)
{
  const bytes cases[] = {
    BY(0xdd, 0xff, 0xff, 0xff, 0xff),             /* array32, 2^32-1 items */
    BY(0xdf, 0xff, 0xff, 0xff, 0xff),             /* map32, 2^32-1 pairs */
    BY(0xdb, 0xff, 0xff, 0xff, 0xff),             /* str32, 4 GiB */
    BY(0xc6, 0xff, 0xff, 0xff, 0xff),             /* bin32, 4 GiB */
    BY(0xdc, 0xff, 0xff),                         /* array16 */
    BY(0xde, 0xff, 0xff),                         /* map16 */
    BY(0xda, 0xff, 0xff),                         /* str16 */
    BY(0xc5, 0xff, 0xff),                         /* bin16 */
    BY(0xd9, 0xff),                               /* str8 */
    BY(0xc4, 0xff),                               /* bin8 */
    BY(0x91, 0xdd, 0xff, 0xff, 0xff, 0xff),       /* nested array32 */
    BY(0x81, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff), /* map value map32 */
    BY(0x92, 0x01, 0xc6, 0x00, 0x01, 0x00, 0x00), /* bin32 of 65536 */
  };

  for (size_t i = 0; i < N(cases); i++) {
    char what[32];

    snprintf(what, sizeof what, "case %zu", i);
    /* Had msgpack-c seen these first, it would have reserved gigabytes or
     * reported NOMEM: ETRUNC proves the walker answered before it. */
    expect_walk(cases[i].p, cases[i].len, BT_ETRUNC, what);
  }
}

Test(crdt_mp, counts_one_more_than_present_are_truncated)
{
  const bytes cases[] = {
    BY(0x93, 0x01, 0x02),                         /* fixarray 3, 2 items */
    BY(0xdc, 0x00, 0x03, 0x01, 0x02),             /* array16 3, 2 items */
    BY(0xdd, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02), /* array32 3, 2 items */
    BY(0x82, 0x01, 0x01, 0x02),                   /* fixmap 2, 3 of 4 halves */
    BY(0xde, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01), /* 5 bytes, 6 needed */
    BY(0xa5, 'a', 'b', 'c', 'd'),                 /* fixstr 5, 4 bytes */
    BY(0xc4, 0x03, 0x00, 0x00),                   /* bin8 3, 2 bytes */
    BY(0xcd, 0x01),                               /* uint16, 1 byte */
    BY(0xcf, 0, 0, 0, 0, 0, 0, 0),                /* uint64, 7 bytes */
    BY(0xd3, 0, 0, 0),                            /* int64, 3 bytes */
    BY(0xdc, 0x00),                               /* array16 length cut */
    BY(0xdd, 0x00, 0x00, 0x00),                   /* array32 length cut */
    BY(0xc6, 0x00),                               /* bin32 length cut */
    BY(0x91),                                     /* item missing */
  };

  for (size_t i = 0; i < N(cases); i++) {
    char what[32];

    snprintf(what, sizeof what, "case %zu", i);
    expect_walk(cases[i].p, cases[i].len, BT_ETRUNC, what);
  }
}

Test(crdt_mp, a_large_count_that_fits_is_accepted)
{
  size_t n = 70000, len = 5 + n, used = 0;
  uint8_t *p = malloc(len);

  cr_assert_not_null(p);
  p[0] = 0xdd;
  p[1] = 0;
  p[2] = (uint8_t)(n >> 16);
  p[3] = (uint8_t)(n >> 8);
  p[4] = (uint8_t)n;
  memset(p + 5, 0x07, n);
  cr_assert_eq(walk(p, len, 2, &used), BT_OK);
  cr_assert_eq(used, len);
  cr_assert_eq(unpack(p, len, 2), BT_OK);
  cr_assert_eq(walk(p, len - 1, 2, &used), BT_ETRUNC);
  /* One more declared item than there are bytes left. */
  p[4] = (uint8_t)(n + 1);
  cr_assert_eq(walk(p, len, 2, &used), BT_ETRUNC);
  free(p);
}

Test(crdt_mp, empty_input_is_truncated)
{
  size_t used = 99;

  cr_assert_eq(crdt_mp_walk((const uint8_t *)"", 0, 32, &used), BT_ETRUNC);
  cr_assert_eq(used, 99, "used must not change on failure");
  cr_assert_eq(unpack("", 0, 32), BT_ETRUNC);
}

/* ---- depth ------------------------------------------------------------- */

/* n nested one-item containers around a fixint; maps use key 1. */
static uint8_t *nest(size_t n, int map, size_t *len)
{
  size_t per = map ? 2 : 1;
  uint8_t *p = malloc(n * per + 1);

  cr_assert_not_null(p);
  for (size_t i = 0; i < n; i++) {
    p[i * per] = map ? 0x81 : 0x91;
    if (map)
      p[i * per + 1] = 0x01;
  }
  p[n * per] = 0x05;
  *len = n * per + 1;
  return p;
}

Test(crdt_mp, depth_limit_is_exact)
{
  for (int map = 0; map <= 1; map++) {
    for (unsigned max = 0; max <= 32; max++) {
      for (size_t n = 0; n <= max + 1; n++) {
        size_t len, used = 0;
        uint8_t *p = nest(n, map, &len);
        int rc = crdt_mp_walk(p, len, max, &used);

        if (n <= max) {
          cr_assert_eq(rc, BT_OK, "map %d max %u n %zu: %s", map, max, n, bt_errname(rc));
          cr_assert_eq(used, len, "map %d max %u n %zu", map, max, n);
        } else {
          cr_assert_eq(rc, BT_EDEPTH, "map %d max %u n %zu: %s", map, max, n,
                       bt_errname(rc));
        }
        free(p);
      }
    }
  }
}

Test(crdt_mp, depth_limit_is_capped_at_32)
{
  size_t len, used;
  uint8_t *p = nest(33, 0, &len);

  cr_assert_eq(crdt_mp_walk(p, len, 1000, &used), BT_EDEPTH);
  cr_assert_eq(unpack(p, len, UINT32_MAX), BT_EDEPTH);
  free(p);
  p = nest(32, 1, &len);
  cr_assert_eq(crdt_mp_walk(p, len, 1000, &used), BT_OK);
  cr_assert_eq(used, len);
  free(p);
}

Test(crdt_mp, walker_and_msgpack_agree_at_the_deepest_allowed_nesting)
{
  for (int map = 0; map <= 1; map++) {
    size_t len;
    uint8_t *p = nest(32, map, &len);
    int rc = unpack(p, len, 32);

    /* If the walker lets it through, msgpack-c must be able to unpack it:
     * crdt_mp_unpack's EPROTO means "the walker should have caught it". */
    cr_assert_eq(rc, BT_OK, "map %d: %s", map, bt_errname(rc));
    free(p);
  }
}

Test(crdt_mp, very_deep_input_fails_fast_without_recursion)
{
  size_t len, used;
  uint8_t *p = nest(1000000, 0, &len);

  cr_assert_eq(crdt_mp_walk(p, len, 8, &used), BT_EDEPTH);
  free(p);
}

Test(crdt_mp, empty_containers_do_not_open_a_level)
{
  size_t used;

  /* [[[]]]: two levels hold items, the innermost holds none. */
  cr_assert_eq(walk(B(0x91, 0x91, 0x90), 2, &used), BT_OK);
  cr_assert_eq(used, 3);
  cr_assert_eq(walk(B(0x91, 0x91, 0x91, 0x01), 2, &used), BT_EDEPTH);
  /* Wide is fine at depth 1: the walker keeps counts, not a call stack. */
  cr_assert_eq(walk(B(0x94, 0x90, 0x80, 0x90, 0x80), 1, &used), BT_OK);
  cr_assert_eq(used, 5);
}

/* ---- trailing bytes and bad types -------------------------------------- */

Test(crdt_mp, trailing_bytes_are_rejected_by_unpack_and_measured_by_walk)
{
  const bytes cases[] = {
    BY(0x01, 0x02), BY(0x90, 0x90), BY(0x91, 0x01, 0x01), BY(0xa1, 'a', 0x00),
    BY(0x81, 0x01, 0x02, 0xc0), BY(0xcd, 0x01, 0x00, 0xff),
  };
  static const size_t obj_len[] = {1, 1, 2, 2, 3, 3};

  for (size_t i = 0; i < N(cases); i++) {
    size_t used = 0;

    cr_assert_eq(walk(cases[i].p, cases[i].len, 32, &used), BT_OK, "case %zu", i);
    cr_assert_eq(used, obj_len[i], "case %zu", i);
    cr_assert_eq(unpack(cases[i].p, cases[i].len, 32), BT_ETRAILING, "case %zu", i);
    cr_assert_eq(unpack(cases[i].p, obj_len[i], 32), BT_OK, "case %zu", i);
  }
}

Test(crdt_mp, floats_ext_and_reserved_byte_are_wrong_types)
{
  const bytes cases[] = {
    BY(0xc1),                                        /* never used */
    BY(0xca, 0x3f, 0x80, 0x00, 0x00),                /* float32 1.0 */
    BY(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0),          /* float64 1.0 */
    BY(0xd4, 0x01, 0x00),                            /* fixext1 */
    BY(0xd5, 0x01, 0x00, 0x00),                      /* fixext2 */
    BY(0xd6, 0x01, 0, 0, 0, 0),                      /* fixext4 */
    BY(0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0),          /* fixext8 */
    BY(0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), /* fixext16 */
    BY(0xc7, 0x01, 0x01, 0x00),                      /* ext8 */
    BY(0xc8, 0x00, 0x01, 0x01, 0x00),                /* ext16 */
    BY(0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00),    /* ext32 */
    BY(0xd6, 0xff, 0, 0, 0, 0),                      /* timestamp32 */
    BY(0x92, 0x01, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), /* nested float */
    BY(0x81, 0x01, 0xc1),                            /* nested 0xc1 */
    BY(0x81, 0xc7, 0x00, 0x01, 0x01),                /* ext as a key */
  };

  for (size_t i = 0; i < N(cases); i++) {
    char what[32];

    snprintf(what, sizeof what, "case %zu", i);
    expect_walk(cases[i].p, cases[i].len, BT_ETYPE, what);
  }
}

Test(crdt_mp, every_first_byte_is_classified)
{
  /* Each byte alone: a one-byte object, a wrong type, or a truncated one. */
  for (unsigned b = 0; b <= 0xff; b++) {
    uint8_t p = (uint8_t)b;
    size_t used = 0;
    int rc = walk(&p, 1, 32, &used), want;

    if (b <= 0x7f || b >= 0xe0 || b == 0x80 || b == 0x90 || b == 0xa0 || b == 0xc0 ||
        b == 0xc2 || b == 0xc3)
      want = BT_OK;
    else if (b == 0xc1 || (b >= 0xc7 && b <= 0xcb) || (b >= 0xd4 && b <= 0xd8))
      want = BT_ETYPE;
    else
      want = BT_ETRUNC;
    cr_assert_eq(rc, want, "byte 0x%02x: %s", b, bt_errname(rc));
    if (want == BT_OK)
      cr_assert_eq(used, 1, "byte 0x%02x", b);
  }
}

/* ---- every valid object ------------------------------------------------ */

typedef struct {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} packbuf;

static void pb_init(packbuf *b)
{
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

/* Walks p as one object, then with a trailing byte, then every prefix (for
 * small objects; sampled for big ones), and unpacks it. */
static void check_valid(const uint8_t *p, size_t len, const char *what, uint64_t seed)
{
  size_t used = 0;
  uint8_t *t = malloc(len + 1);
  int rc;

  cr_assert_not_null(t);
  memcpy(t, p, len);
  t[len] = 0xc1; /* never valid, so only a walker that overruns would see it */
  rc = crdt_mp_walk(t, len + 1, 32, &used);
  cr_assert_eq(rc, BT_OK, "%s seed %" PRIu64 ": %s", what, seed, bt_errname(rc));
  cr_assert_eq(used, len, "%s seed %" PRIu64, what, seed);
  free(t);
  rc = walk(p, len, 32, &used);
  cr_assert_eq(rc, BT_OK, "%s seed %" PRIu64, what, seed);
  cr_assert_eq(used, len, "%s seed %" PRIu64, what, seed);
  rc = unpack(p, len, 32);
  cr_assert_eq(rc, BT_OK, "%s seed %" PRIu64 ": %s", what, seed, bt_errname(rc));
  for (size_t k = 0; k < len; k++) {
    if (len > 600 && k > 16 && k < len - 16 && k % 997 != 0)
      continue;
    rc = walk(p, k, 32, &used);
    cr_assert_eq(rc, BT_ETRUNC, "%s seed %" PRIu64 " prefix %zu: %s", what, seed, k,
                 bt_errname(rc));
  }
}

Test(crdt_mp, boundary_sized_scalars_and_containers_are_accepted_exactly)
{
  static const uint64_t uints[] = {0, 1, 127, 128, 255, 256, 65535, 65536,
                                   UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
  static const int64_t ints[] = {-1, -32, -33, -128, -129, -32768, -32769,
                                 INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
  static const size_t lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536};
  char *blob = calloc(1, 65536);
  packbuf b;

  cr_assert_not_null(blob);
  for (size_t i = 0; i < N(uints); i++) {
    pb_init(&b);
    msgpack_pack_uint64(&b.pk, uints[i]);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "uint", i);
    msgpack_sbuffer_destroy(&b.sb);
  }
  for (size_t i = 0; i < N(ints); i++) {
    pb_init(&b);
    msgpack_pack_int64(&b.pk, ints[i]);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "int", i);
    msgpack_sbuffer_destroy(&b.sb);
  }
  for (size_t i = 0; i < N(lens); i++) {
    pb_init(&b);
    msgpack_pack_str(&b.pk, lens[i]);
    msgpack_pack_str_body(&b.pk, blob, lens[i]);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "str", lens[i]);
    msgpack_sbuffer_destroy(&b.sb);
    pb_init(&b);
    msgpack_pack_bin(&b.pk, lens[i]);
    msgpack_pack_bin_body(&b.pk, blob, lens[i]);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "bin", lens[i]);
    msgpack_sbuffer_destroy(&b.sb);
    pb_init(&b);
    msgpack_pack_array(&b.pk, lens[i]);
    for (size_t k = 0; k < lens[i]; k++)
      msgpack_pack_nil(&b.pk);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "array", lens[i]);
    msgpack_sbuffer_destroy(&b.sb);
    pb_init(&b);
    msgpack_pack_map(&b.pk, lens[i]);
    for (size_t k = 0; k < lens[i]; k++) {
      msgpack_pack_uint32(&b.pk, (uint32_t)k);
      msgpack_pack_true(&b.pk);
    }
    check_valid((uint8_t *)b.sb.data, b.sb.size, "map", lens[i]);
    msgpack_sbuffer_destroy(&b.sb);
  }
  free(blob);
}

Test(crdt_mp, longer_than_needed_forms_are_still_well_formed)
{
  /* Canonical form is the decoders' business (they re-encode); the walker
   * only measures, and must measure these exactly too. */
  const bytes cases[] = {
    BY(0xcc, 0x05), BY(0xcd, 0x00, 0x05), BY(0xce, 0, 0, 0, 5),
    BY(0xcf, 0, 0, 0, 0, 0, 0, 0, 5), BY(0xd0, 0x01), BY(0xd1, 0xff, 0xff),
    BY(0xd2, 0, 0, 0, 1), BY(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    BY(0xd9, 0x05, 'h', 'e', 'l', 'l', 'o'), BY(0xda, 0x00, 0x01, 'x'),
    BY(0xdb, 0, 0, 0, 0), BY(0xc5, 0x00, 0x01, 0x00), BY(0xc6, 0, 0, 0, 0),
    BY(0xdc, 0x00, 0x01, 0x01), BY(0xdd, 0, 0, 0, 0),
    BY(0xde, 0x00, 0x01, 0x01, 0x01), BY(0xdf, 0, 0, 0, 1, 0xc3, 0xc2),
  };

  for (size_t i = 0; i < N(cases); i++)
    check_valid(cases[i].p, cases[i].len, "long form", i);
}

/* A random well-formed object from msgpack-c's own packer. */
static void rand_obj(gen_rng *r, msgpack_packer *pk, int depth)
{
  uint64_t k = gen_below(r, depth < 6 ? 12 : 9);
  char buf[300];
  size_t n;

  switch (k) {
  case 0: msgpack_pack_uint64(pk, gen_u64(r) >> (gen_below(r, 64))); break;
  case 1:
    msgpack_pack_int64(pk, -(int64_t)(gen_u64(r) >> (1 + gen_below(r, 63))) - 1);
    break;
  case 2: msgpack_pack_nil(pk); break;
  case 3: gen_below(r, 2) ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
  case 4: case 5:
    n = gen_below(r, 300);
    gen_bytes(r, buf, n);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, buf, n);
    break;
  case 6: case 7: case 8:
    n = gen_below(r, 40);
    gen_bytes(r, buf, n);
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, buf, n);
    break;
  case 9: case 10:
    n = gen_below(r, gen_below(r, 8) == 0 ? 40 : 5);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
      rand_obj(r, pk, depth + 1);
    break;
  default:
    n = gen_below(r, 5);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
      rand_obj(r, pk, depth + 1);
      rand_obj(r, pk, depth + 1);
    }
    break;
  }
}

Test(crdt_mp, random_packed_objects_are_accepted_with_exact_size)
{
  for (uint64_t seed = 1; seed <= 400; seed++) {
    gen_rng r;
    packbuf b;
    msgpack_sbuffer again;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object o;
    int rc;

    gen_seed(&r, seed);
    pb_init(&b);
    rand_obj(&r, &b.pk, 0);
    check_valid((uint8_t *)b.sb.data, b.sb.size, "random", seed);
    /* What crdt_mp_unpack hands back re-packs to the same bytes. */
    cr_assert(msgpack_zone_init(&z, 256));
    rc = crdt_mp_unpack((uint8_t *)b.sb.data, b.sb.size, 32, &z, &o);
    cr_assert_eq(rc, BT_OK, "seed %" PRIu64, seed);
    msgpack_sbuffer_init(&again);
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, o);
    cr_assert(again.size == b.sb.size && memcmp(again.data, b.sb.data, again.size) == 0,
              "seed %" PRIu64, seed);
    msgpack_sbuffer_destroy(&again);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&b.sb);
  }
}

/* Random bytes drawn mostly from headers and small values, so containers,
 * lengths and bad types turn up often. */
static size_t rand_msgpackish(gen_rng *r, uint8_t *p, size_t max)
{
  static const uint8_t pool[] = {
    0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x8f, 0x90, 0x91, 0x92, 0x9f, 0xa0, 0xa3,
    0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xca, 0xcb, 0xcc, 0xcd,
    0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0,
    0xff,
  };
  size_t len = gen_below(r, max + 1);

  for (size_t i = 0; i < len; i++)
    p[i] = gen_below(r, 3) ? pool[gen_below(r, N(pool))] : (uint8_t)gen_u64(r);
  return len;
}

Test(crdt_mp, walker_never_lets_through_what_msgpack_c_cannot_unpack)
{
  unsigned ok = 0;

  for (uint64_t seed = 1; seed <= 30000; seed++) {
    gen_rng r;
    uint8_t buf[48];
    size_t len, used = 0, off = 0;
    msgpack_zone z;
    msgpack_object o;
    int rc, mrc;

    gen_seed(&r, seed);
    len = rand_msgpackish(&r, buf, sizeof buf);
    uint8_t *p = dup_bytes(buf, len);
    rc = crdt_mp_walk(p, len, 32, &used);
    cr_assert(rc == BT_OK || rc == BT_ETRUNC || rc == BT_ETYPE || rc == BT_EDEPTH,
              "seed %" PRIu64 ": %s", seed, bt_errname(rc));
    if (rc == BT_OK) {
      ok++;
      cr_assert(used >= 1 && used <= len, "seed %" PRIu64, seed);
      /* Only now is it safe to hand the bytes to msgpack-c. */
      cr_assert(msgpack_zone_init(&z, 256));
      mrc = msgpack_unpack((const char *)p, used, &off, &z, &o);
      cr_assert_eq(mrc, MSGPACK_UNPACK_SUCCESS, "seed %" PRIu64 ": msgpack %d", seed, mrc);
      cr_assert_eq(off, used, "seed %" PRIu64, seed);
      msgpack_zone_destroy(&z);
      rc = unpack(buf, len, 32);
      cr_assert_eq(rc, used == len ? BT_OK : BT_ETRAILING, "seed %" PRIu64 ": %s", seed,
                   bt_errname(rc));
    }
    free(p);
  }
  cr_assert(ok > 1000, "the generator should produce many valid objects (%u)", ok);
}

/* ---- typed readers ----------------------------------------------------- */

Test(crdt_mp, typed_readers_check_type_and_size)
{
  msgpack_object o;
  uint64_t v = 7;
  uint8_t out[4] = {0};
  bt_str s = {0};
  const msgpack_object *items;
  msgpack_object arr[3];
  size_t n;

  memset(&o, 0, sizeof o);
  o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
  o.via.i64 = -1;
  cr_assert_eq(crdt_mp_uint(&o, &v), BT_ETYPE);
  cr_assert_eq(v, 7, "no write on failure");
  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
  o.via.u64 = UINT64_MAX;
  cr_assert_eq(crdt_mp_uint(&o, &v), BT_OK);
  cr_assert_eq(v, UINT64_MAX);

  o.type = MSGPACK_OBJECT_STR;
  o.via.str.ptr = "abcd";
  o.via.str.size = 4;
  cr_assert_eq(crdt_mp_bin(&o, 4, out), BT_ETYPE);
  cr_assert_eq(crdt_mp_str(&o, 3, &s), BT_ETOOBIG);
  cr_assert_eq(crdt_mp_str(&o, 4, &s), BT_OK);
  cr_assert(bt_str_eq(s, BT_STR("abcd")));
  o.type = MSGPACK_OBJECT_BIN;
  o.via.bin.ptr = "wxyz";
  o.via.bin.size = 4;
  cr_assert_eq(crdt_mp_str(&o, 10, &s), BT_ETYPE);
  cr_assert_eq(crdt_mp_bin(&o, 3, out), BT_EINVAL);
  cr_assert_eq(crdt_mp_bin(&o, 4, out), BT_OK);
  cr_assert_eq(memcmp(out, "wxyz", 4), 0);

  cr_assert_eq(crdt_mp_array(&o, 0, 4, &items, &n), BT_ETYPE);
  memset(arr, 0, sizeof arr);
  o.type = MSGPACK_OBJECT_ARRAY;
  o.via.array.ptr = arr;
  o.via.array.size = 3;
  cr_assert_eq(crdt_mp_array(&o, 4, 8, &items, &n), BT_EMISSING);
  cr_assert_eq(crdt_mp_array(&o, 0, 2, &items, &n), BT_ETOOBIG);
  cr_assert_eq(crdt_mp_array(&o, 3, 3, &items, &n), BT_OK);
  cr_assert_eq(n, 3);
  cr_assert_eq(items, arr);
}

Test(crdt_mp, pack_helpers_write_shortest_forms)
{
  packbuf b;

  pb_init(&b);
  cr_assert_eq(crdt_mp_pack_str(&b.pk, "hello", 5), BT_OK);
  cr_assert_eq(crdt_mp_pack_bin(&b.pk, "\x01\x02", 2), BT_OK);
  cr_assert_eq(b.sb.size, 10);
  cr_assert_eq(memcmp(b.sb.data, "\xa5hello\xc4\x02\x01\x02", 10), 0);
  msgpack_sbuffer_destroy(&b.sb);
}
