/* tests/crdt/gen.h: seeded generators of valid random case-file content.
 *
 * Everything is a function of the seed, so a failing property test replays
 * exactly. Strings live in a gen_arena that the test frees at the end. */
#ifndef BT_TESTS_GEN_H
#define BT_TESTS_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/body.h"
#include "crdt/op.h"

typedef struct {
  uint64_t s;
} gen_rng;

void gen_seed(gen_rng *r, uint64_t seed);
uint64_t gen_u64(gen_rng *r);
uint64_t gen_below(gen_rng *r, uint64_t n); /* 0..n-1, n > 0 */
void gen_bytes(gen_rng *r, void *p, size_t n);

typedef struct gen_arena gen_arena;
gen_arena *gen_arena_new(void);
void gen_arena_free(gen_arena *a);
void *gen_alloc(gen_arena *a, size_t n); /* zeroed; aborts on OOM */

/* A random string of 1..max printable bytes (UTF-8 text with some
 * multi-byte characters), allocated in a. */
bt_str gen_str(gen_rng *r, gen_arena *a, size_t max);

/* A valid UPN (permanent or temporary), allocated in a. */
bt_str gen_upn(gen_rng *r, gen_arena *a);

/* A valid value for a front-sheet field (dates, UPNs, enum words...). */
bt_str gen_fs_value(gen_rng *r, gen_arena *a, uint32_t field);

/* Fills *rec with a random valid record of schema s: required fields always,
 * optional ones about half the time. ID fields get random ids unless refs
 * (n ids) is non-empty, in which case they pick from it. */
void gen_record(gen_rng *r, gen_arena *a, const crdt_schema *s, void *rec,
                const crdt_id *refs, size_t nrefs);

/* A random valid body of the given known type (user, hlc set from args). */
void gen_body(gen_rng *r, gen_arena *a, uint32_t type, crdt_hlc_ts hlc,
              crdt_body *b, const crdt_id *refs, size_t nrefs);

/* A deterministic device key pair from a small number. */
typedef struct {
  uint8_t pk[CRDT_PK_LEN];
  uint8_t sk[CRDT_SK_LEN];
} gen_key;
void gen_keypair(uint64_t n, gen_key *k);

#endif

/* Seals body b as the next op of an author: header from the arguments, hour
 * from b->hlc, nonce from r. Parents need not be sorted (they are sorted and
 * deduplicated here). Aborts on failure: for building fixtures. */
crdt_op *gen_seal(gen_rng *r, const gen_key *author, const uint8_t file[CRDT_FILE_LEN],
                  const uint8_t epoch[CRDT_EPOCH_LEN], const uint8_t key[CRDT_KEY_LEN],
                  uint64_t seq, const crdt_id *parents, size_t nparents,
                  const crdt_body *b);

/* Fisher-Yates shuffle of n pointers. */
void gen_shuffle(gen_rng *r, void **p, size_t n);
