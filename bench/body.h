/* bench/body.h: what both benchmarks generate: realistic op bodies of an
 * exact encoded size, the entry-type mix of a school's files, and a clock. */
#ifndef BT_BENCH_BODY_H
#define BT_BENCH_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/body.h"
#include "crdt/gen.h"

#define BODY_MIN 260 /* encoded body bytes, uniform in MIN..MAX */
#define BODY_MAX 340

/* Reads "[N [ROUNDS]]": *n and *rounds keep their defaults when absent;
 * N must be 1..max_n, ROUNDS 1..100. 0, or 1 for a usage error. */
int bench_args(int argc, char **argv, size_t max_n, size_t *n, unsigned *rounds);

/* Monotonic seconds. */
double bench_now_s(void);

/* Concerns 45 %, chronology 40 %, reviews 8 %, actions 7 %. */
uint32_t bench_pick_type(gen_rng *r);

/* A random body of type whose encoding is exactly target bytes, built in a
 * (sb is scratch). 0, or -1 when no such body was found. */
int bench_sized_body(gen_rng *r, gen_arena *a, uint32_t type, crdt_hlc_ts hlc,
                     size_t target, crdt_body *b, msgpack_sbuffer *sb);

#endif
