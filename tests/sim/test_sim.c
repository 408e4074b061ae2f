/* tests/sim/test_sim.c: the deterministic simulation (sim.h), over many
 * seeds, and the proof that a seed replays exactly.
 *
 * The seeds are split over SIM_TESTS tests so Criterion runs them in
 * parallel: test seeds_k runs the seeds s < BT_SIM_SEEDS (default
 * SIM_SEEDS) with s % SIM_TESTS == k. BT_SIM_SEED=S runs exactly seed S,
 * in the test whose share it is; BT_SIM_TRACE=1 prints every step. A
 * failing seed prints the line that replays it. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

#define SIM_TESTS 4
#define SIM_SEEDS 200

/* libsodium takes another randomness source only before sodium_init(),
 * which the first store opened calls: before Criterion's main. */
__attribute__((constructor)) static void install_rng(void)
{
  sim_rng_install();
}

static void fini(void)
{
  sim_abandon();
}

TestSuite(sim, .fini = fini);

static int env_u64(const char *name, uint64_t *v)
{
  const char *s = getenv(name);
  char *end;

  if (s == NULL || *s == '\0')
    return 0;
  *v = strtoull(s, &end, 10);
  cr_assert(*end == '\0', "%s must be a number, not \"%s\"", name, s);
  return 1;
}

static int tracing(void)
{
  const char *s = getenv("BT_SIM_TRACE");

  if (s == NULL || *s == '\0' || strcmp(s, "0") == 0)
    return 0;
  setvbuf(stdout, NULL, _IOLBF, 0); /* in step with anything on stderr */
  return 1;
}

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add(sim_result *tot, const sim_result *r)
{
  tot->steps += r->steps;
  tot->msgs += r->msgs;
  tot->refused += r->refused;
  tot->drops += r->drops;
  tot->partitions += r->partitions;
  tot->teardowns += r->teardowns;
  tot->authored += r->authored;
  tot->rounds += r->rounds;
  tot->quiet_ops_sent += r->quiet_ops_sent;
  tot->runs += r->runs;
}

static void run_share(uint64_t k, const char *test)
{
  uint64_t one, n = SIM_SEEDS, seeds = 0;
  sim_result r, tot = {0};
  sim_cfg cfg = {.test = test, .trace = tracing()};
  double t0 = seconds();

  if (env_u64("BT_SIM_SEED", &one)) {
    if (one % SIM_TESTS == k) {
      cfg.seed = one;
      sim_run(&cfg, &r);
      add(&tot, &r);
      seeds++;
      fprintf(stderr, "sim: seed %" PRIu64 " trace %02x%02x%02x%02x%02x%02x%02x%02x\n", one,
              r.trace[0], r.trace[1], r.trace[2], r.trace[3], r.trace[4], r.trace[5],
              r.trace[6], r.trace[7]);
    }
  } else {
    env_u64("BT_SIM_SEEDS", &n);
    for (cfg.seed = k; cfg.seed < n; cfg.seed += SIM_TESTS) {
      sim_run(&cfg, &r);
      add(&tot, &r);
      seeds++;
    }
  }
  fprintf(stderr,
          "sim/%s: %" PRIu64 " seeds in %.1f s: %" PRIu64 " steps, %" PRIu64 " messages, %" PRIu64
          " runs, %" PRIu64 " authored; faults: %" PRIu64 " refused, %" PRIu64 " drops, %" PRIu64
          " partitions, %" PRIu64 " teardowns; %" PRIu64 " heal rounds, %" PRIu64
          " ops sent in quiet rounds\n",
          test, seeds, seconds() - t0, tot.steps, tot.msgs, tot.runs, tot.authored, tot.refused,
          tot.drops, tot.partitions, tot.teardowns, tot.rounds, tot.quiet_ops_sent);
}

Test(sim, seeds_0)
{
  run_share(0, "seeds_0");
}

Test(sim, seeds_1)
{
  run_share(1, "seeds_1");
}

Test(sim, seeds_2)
{
  run_share(2, "seeds_2");
}

Test(sim, seeds_3)
{
  run_share(3, "seeds_3");
}

/* The same seed twice: the same messages in the same order, bit for bit.
 * (Store worker threads check signatures in parallel; what they decide
 * must not depend on their timing.) Another seed: another trace. */
Test(sim, a_seed_replays_exactly)
{
  uint64_t seed = 7;
  sim_result a, b, c;
  char share[16];

  env_u64("BT_SIM_SEED", &seed);
  snprintf(share, sizeof(share), "seeds_%d", (int)(seed % SIM_TESTS)); /* replays alone */
  sim_cfg cfg = {.seed = seed, .test = share, .trace = tracing()};
  sim_run(&cfg, &a);
  sim_run(&cfg, &b);
  cr_assert_eq(a.steps, b.steps, "seed %" PRIu64 ": %" PRIu64 " steps, then %" PRIu64, seed,
               a.steps, b.steps);
  cr_assert_eq(a.msgs, b.msgs, "seed %" PRIu64 ": %" PRIu64 " messages, then %" PRIu64, seed,
               a.msgs, b.msgs);
  cr_assert_eq(memcmp(a.trace, b.trace, sizeof(a.trace)), 0,
               "seed %" PRIu64 ": the same messages, but not the same bytes", seed);
  cfg.seed = seed + 1;
  snprintf(share, sizeof(share), "seeds_%d", (int)(cfg.seed % SIM_TESTS));
  sim_run(&cfg, &c);
  cr_assert_neq(memcmp(a.trace, c.trace, sizeof(a.trace)), 0, "the trace covers the seed");
}
