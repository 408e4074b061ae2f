/* tests/crdt/test_hlc.c: the hybrid logical clock.
 *
 * The central law: whatever the wall clock does, every timestamp a clock hands
 * out is strictly greater than everything it handed out or received before.
 * We check it against a fake wall clock that jumps both ways at random, with a
 * small local xorshift PRNG seeded per iteration; the seed is in every assert
 * message so a failure can be replayed. */
#include "crdt/hlc.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>

#define SEEDS 500
#define STEPS 2000

/* A fixed start near today (2026-04-03T09:30Z) so jumps stay in range. */
#define BASE_MS UINT64_C(1775208600000)

typedef struct {
  uint64_t s;
} rng;

/* splitmix64 turns a small seed into a well-mixed non-zero xorshift state. */
static void rng_seed(rng *r, uint64_t seed)
{
  uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15);

  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  z ^= z >> 31;
  r->s = z ? z : 1;
}

static uint64_t rng_next(rng *r)
{
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

/* Uniform-enough value in [0, n). */
static uint64_t rng_below(rng *r, uint64_t n)
{
  return rng_next(r) % n;
}

/* A wall clock that mostly ticks forward a little, sometimes stalls, sometimes
 * jumps back (NTP step, VM restore) and sometimes jumps far forward. */
static uint64_t wall_step(rng *r, uint64_t wall)
{
  uint64_t k = rng_below(r, 100), d;

  if (k < 50)
    return wall + rng_below(r, 5);
  if (k < 65)
    return wall;
  if (k < 90) {
    d = rng_below(r, 60000);
    return wall > d ? wall - d : 0;
  }
  return wall + rng_below(r, 3600000);
}

/* A remote timestamp near our wall time: behind, level, a little ahead, or far
 * ahead (past the skew limit), with a random counter, including 0xFFFF. */
static crdt_hlc_ts remote_near(rng *r, uint64_t wall, uint64_t max_skew)
{
  uint64_t k = rng_below(r, 100), ms;
  uint32_t count;

  if (k < 30)
    ms = wall - rng_below(r, 120000);
  else if (k < 45)
    ms = wall;
  else if (k < 75)
    ms = wall + rng_below(r, max_skew + 1);
  else if (k < 80)
    ms = wall + max_skew + (rng_below(r, 2)); /* the boundary and one past it */
  else
    ms = wall + max_skew + 1 + rng_below(r, 86400000);
  count = rng_below(r, 8) == 0 ? CRDT_HLC_COUNT_MAX
                               : (uint32_t)rng_below(r, CRDT_HLC_COUNT_MAX + 1);
  return crdt_hlc_make(ms, count);
}

Test(crdt_hlc, strictly_monotonic_under_random_wall_clock)
{
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    rng r;
    crdt_hlc c;
    crdt_hlc_ts prev = 0, t, remote;
    uint64_t wall, max_skew;
    int skewed, want;

    rng_seed(&r, seed);
    max_skew = rng_below(&r, 600000);
    wall = BASE_MS + rng_below(&r, 86400000);
    crdt_hlc_init(&c, max_skew);
    for (int i = 0; i < STEPS; i++) {
      wall = wall_step(&r, wall);
      if (rng_below(&r, 2) == 0) {
        t = crdt_hlc_now(&c, wall);
        cr_assert(t > prev, "seed %" PRIu64 " step %d: now did not advance",
                  seed, i);
      } else {
        remote = remote_near(&r, wall, max_skew);
        skewed = -1;
        t = crdt_hlc_recv(&c, remote, wall, &skewed);
        want = crdt_hlc_ms(remote) > wall + max_skew;
        cr_assert(t > prev, "seed %" PRIu64 " step %d: recv did not advance",
                  seed, i);
        cr_assert(t > remote, "seed %" PRIu64 " step %d: recv <= remote",
                  seed, i);
        cr_assert_eq(skewed, want, "seed %" PRIu64 " step %d: skew flag %d",
                     seed, i, skewed);
      }
      cr_assert(crdt_hlc_ms(t) >= wall,
                "seed %" PRIu64 " step %d: clock behind wall time", seed, i);
      cr_assert_eq(c.last, t, "seed %" PRIu64 " step %d", seed, i);
      prev = t;
    }
  }
}

Test(crdt_hlc, monotonic_under_backward_wall_clock)
{
  crdt_hlc c;
  crdt_hlc_ts prev, t;

  crdt_hlc_init(&c, 1000);
  prev = crdt_hlc_now(&c, 1000000);
  cr_assert_eq(prev, crdt_hlc_make(1000000, 0));
  /* The wall clock steps back a minute and stays there for more than a full
   * counter's worth of events: the counter runs out and carries. */
  for (uint32_t i = 1; i <= 70000; i++) {
    t = crdt_hlc_now(&c, 940000);
    cr_assert(t > prev, "event %" PRIu32, i);
    cr_assert_eq(t, prev + 1, "event %" PRIu32, i);
    prev = t;
  }
  cr_assert_eq(crdt_hlc_ms(prev), 1000001);
  cr_assert_eq(crdt_hlc_count(prev), 70000 - 65536);
}

Test(crdt_hlc, wall_clock_ahead_resets_counter)
{
  crdt_hlc c;

  crdt_hlc_init(&c, 1000);
  crdt_hlc_now(&c, 5000);
  crdt_hlc_now(&c, 5000);
  cr_assert_eq(crdt_hlc_now(&c, 5000), crdt_hlc_make(5000, 2));
  cr_assert_eq(crdt_hlc_now(&c, 5001), crdt_hlc_make(5001, 0));
}

Test(crdt_hlc, counter_overflow_carries_into_ms)
{
  crdt_hlc c;
  int skewed;

  crdt_hlc_init(&c, 1000);
  c.last = crdt_hlc_make(7000, CRDT_HLC_COUNT_MAX);
  cr_assert_eq(crdt_hlc_now(&c, 6000), crdt_hlc_make(7001, 0));

  /* The remote's counter is full: the merged value carries past it. */
  crdt_hlc_init(&c, 1000);
  c.last = crdt_hlc_make(7000, 3);
  cr_assert_eq(crdt_hlc_recv(&c, crdt_hlc_make(7500, CRDT_HLC_COUNT_MAX),
                             7000, &skewed),
               crdt_hlc_make(7501, 0));
  cr_assert_eq(skewed, 0);

  /* Our own counter is full and level with the remote's physical time. */
  crdt_hlc_init(&c, 1000);
  c.last = crdt_hlc_make(7000, CRDT_HLC_COUNT_MAX);
  cr_assert_eq(crdt_hlc_recv(&c, crdt_hlc_make(7000, 9), 7000, &skewed),
               crdt_hlc_make(7001, 0));
}

Test(crdt_hlc, recv_takes_the_larger_counter_on_a_tie)
{
  crdt_hlc c;
  int skewed;

  crdt_hlc_init(&c, 1000);
  c.last = crdt_hlc_make(7000, 4);
  cr_assert_eq(crdt_hlc_recv(&c, crdt_hlc_make(7000, 9), 6000, &skewed),
               crdt_hlc_make(7000, 10));
  c.last = crdt_hlc_make(7000, 20);
  cr_assert_eq(crdt_hlc_recv(&c, crdt_hlc_make(7000, 9), 6000, &skewed),
               crdt_hlc_make(7000, 21));
  /* Wall time ahead of both: counter restarts at the wall time. */
  cr_assert_eq(crdt_hlc_recv(&c, crdt_hlc_make(7000, 9), 8000, &skewed),
               crdt_hlc_make(8000, 0));
}

Test(crdt_hlc, skew_flag_boundary_and_remote_still_adopted)
{
  crdt_hlc c;
  crdt_hlc_ts t;
  int skewed = -1;

  crdt_hlc_init(&c, 1000);
  /* Exactly max_skew ahead: tolerated. */
  t = crdt_hlc_recv(&c, crdt_hlc_make(6000, 0), 5000, &skewed);
  cr_assert_eq(skewed, 0);
  cr_assert_eq(t, crdt_hlc_make(6000, 1));
  /* One millisecond more: flagged, and the clock still moves past it. */
  t = crdt_hlc_recv(&c, crdt_hlc_make(6001, 0), 5000, &skewed);
  cr_assert_eq(skewed, 1);
  cr_assert_eq(t, crdt_hlc_make(6001, 1));
  /* Behind: never skewed. */
  t = crdt_hlc_recv(&c, crdt_hlc_make(10, 5), 5000, &skewed);
  cr_assert_eq(skewed, 0);
  cr_assert_eq(t, crdt_hlc_make(6001, 2));
  /* The flag is about the remote, not about our own clock being ahead. */
  t = crdt_hlc_recv(&c, crdt_hlc_make(5500, 0), 5000, &skewed);
  cr_assert_eq(skewed, 0);
  cr_assert_eq(t, crdt_hlc_make(6001, 3));
}

Test(crdt_hlc, zero_skew_limit_flags_any_future_remote)
{
  crdt_hlc c;
  int skewed;

  crdt_hlc_init(&c, 0);
  crdt_hlc_recv(&c, crdt_hlc_make(5000, CRDT_HLC_COUNT_MAX), 5000, &skewed);
  cr_assert_eq(skewed, 0);
  crdt_hlc_recv(&c, crdt_hlc_make(5001, 0), 5000, &skewed);
  cr_assert_eq(skewed, 1);
}

Test(crdt_hlc, huge_skew_limit_does_not_overflow)
{
  crdt_hlc c;
  int skewed;

  crdt_hlc_init(&c, UINT64_MAX);
  crdt_hlc_recv(&c, crdt_hlc_make(CRDT_HLC_MS_MAX, 0), 0, &skewed);
  cr_assert_eq(skewed, 0);
}

Test(crdt_hlc, wall_clock_beyond_48_bits_is_clamped)
{
  crdt_hlc c;
  crdt_hlc_ts t;
  int skewed;

  crdt_hlc_init(&c, 1000);
  t = crdt_hlc_now(&c, UINT64_MAX);
  cr_assert_eq(t, crdt_hlc_make(CRDT_HLC_MS_MAX, 0));
  t = crdt_hlc_now(&c, CRDT_HLC_MS_MAX + 12345);
  cr_assert_eq(t, crdt_hlc_make(CRDT_HLC_MS_MAX, 1));
  t = crdt_hlc_recv(&c, crdt_hlc_make(CRDT_HLC_MS_MAX, 7), UINT64_MAX, &skewed);
  cr_assert_eq(skewed, 0);
  cr_assert_eq(t, crdt_hlc_make(CRDT_HLC_MS_MAX, 8));
}

Test(crdt_hlc, saturates_at_the_top_instead_of_wrapping)
{
  crdt_hlc c;
  int skewed;

  crdt_hlc_init(&c, 1000);
  cr_assert_eq(crdt_hlc_recv(&c, CRDT_HLC_TS_MAX, BASE_MS, &skewed),
               CRDT_HLC_TS_MAX);
  cr_assert_eq(skewed, 1);
  cr_assert_eq(crdt_hlc_now(&c, BASE_MS), CRDT_HLC_TS_MAX);
  cr_assert_eq(crdt_hlc_now(&c, UINT64_MAX), CRDT_HLC_TS_MAX);
}

Test(crdt_hlc, init_starts_at_zero)
{
  crdt_hlc c;

  c.last = 99;
  crdt_hlc_init(&c, 250);
  cr_assert_eq(c.last, 0);
  cr_assert_eq(c.max_skew_ms, 250);
  cr_assert_eq(crdt_hlc_now(&c, 0), 1);
}

Test(crdt_hlc, pack_and_unpack_round_trip)
{
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    rng r;
    uint64_t ms;
    uint32_t count;
    crdt_hlc_ts t;

    rng_seed(&r, seed);
    ms = rng_next(&r) & CRDT_HLC_MS_MAX;
    count = (uint32_t)(rng_next(&r) & CRDT_HLC_COUNT_MAX);
    t = crdt_hlc_make(ms, count);
    cr_assert_eq(crdt_hlc_ms(t), ms, "seed %" PRIu64, seed);
    cr_assert_eq(crdt_hlc_count(t), count, "seed %" PRIu64, seed);
    cr_assert_eq(crdt_hlc_hour(t), ms / 3600000, "seed %" PRIu64, seed);
  }
}

Test(crdt_hlc, hour_extraction)
{
  cr_assert_eq(crdt_hlc_hour(crdt_hlc_make(0, CRDT_HLC_COUNT_MAX)), 0);
  cr_assert_eq(crdt_hlc_hour(crdt_hlc_make(3599999, CRDT_HLC_COUNT_MAX)), 0);
  cr_assert_eq(crdt_hlc_hour(crdt_hlc_make(3600000, 0)), 1);
  /* 2026-04-03T09:30:15Z = 1775208615000 ms: 493113 hours since the epoch. */
  cr_assert_eq(crdt_hlc_hour(crdt_hlc_make(UINT64_C(1775208615000), 42)),
               493113);
  /* The largest physical time still fits in 32 bits of hours. */
  cr_assert_eq(crdt_hlc_hour(CRDT_HLC_TS_MAX), 78187493);
}
