/* tests/sim/sim.h: the deterministic simulation (DESIGN.md "Testing"):
 * five real stores (two schools, an LA relay, a MASH, a school's laptop)
 * in one process, joined by node_sync sessions over a virtual network
 * whose delays, drops, duplicates, reorders and partitions come from a
 * seed, with random authoring in between; then the network heals and the
 * nodes must agree.
 *
 * Checked as it runs (sim_net.c): faulty messages refused, in-order ones
 * taken, no honest op rejected, every undisturbed run complete. Checked
 * once healed (sim_check.c): convergence, scope, relay blindness,
 * revocation, nothing left in a causal buffer.
 *
 * Everything, libsodium's randomness included (sim_rng.c), is a function
 * of the seed, so a seed replays exactly. Failures are Criterion
 * assertions, preceded by one line that says how to replay the seed. */
#ifndef BT_TESTS_SIM_H
#define BT_TESTS_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t seed;
  const char *test; /* this Criterion test's name, for the replay line */
  int trace;        /* print every step (BT_SIM_TRACE=1) */
} sim_cfg;

typedef struct {
  uint8_t trace[32];         /* BLAKE2b of every delivered message, in order */
  uint64_t steps;            /* events processed */
  uint64_t msgs;             /* messages delivered */
  uint64_t refused;          /* faulty messages the sessions refused */
  uint64_t drops, partitions, teardowns;
  uint64_t authored;         /* authoring actions that wrote something */
  uint64_t rounds;           /* heal rounds until quiescent */
  uint64_t quiet_ops_sent;   /* ops sent in the quiescent round */
  uint64_t runs;             /* runs completed, all sessions */
} sim_result;

/* Deterministic randomness for libsodium: sim_rng_install() must run
 * before sodium_init() (a constructor in the test binary does it);
 * sim_rng_seed() restarts the stream. */
void sim_rng_install(void);
void sim_rng_seed(uint64_t seed);

/* Runs one seed. Asserts (Criterion) on any divergence. */
void sim_run(const sim_cfg *cfg, sim_result *out);

/* From a test's .fini: when a run was cut short by an assertion outside
 * sim (fixtures), prints the replay line; closes the stores and removes
 * the run's directories. */
void sim_abandon(void);

#endif
