/* tests/sim/sim_rng.c: libsodium's randomness from the seed.
 *
 * File ids, nonces, epoch and org keys, enrolment codes: everything the
 * stores draw from randombytes_buf must replay, so the simulation installs
 * its own randombytes implementation: ChaCha20 (IETF) keystream under a key
 * derived from the seed, block counter from 0. libsodium allows replacing
 * the implementation only before sodium_init(), hence the constructor in
 * test_sim.c. The ChaCha20 reference code is usable before sodium_init().
 *
 * The stores draw randomness on the calling thread only (their worker
 * threads check signatures), but a spin lock keeps a stray call from
 * another thread from tearing the pool. */
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

static uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
static uint32_t block;
static uint8_t pool[64];
static size_t pos = sizeof(pool);
static atomic_flag lock = ATOMIC_FLAG_INIT;

static void refill(void)
{
  static const uint8_t zero[64];
  static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];

  crypto_stream_chacha20_ietf_xor_ic(pool, zero, sizeof(pool), nonce, block++, key);
  pos = 0;
}

static void rng_buf(void *const buf, const size_t size)
{
  uint8_t *p = buf;
  size_t n = size;

  while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
    ;
  while (n > 0) {
    size_t k;
    if (pos == sizeof(pool))
      refill();
    k = sizeof(pool) - pos < n ? sizeof(pool) - pos : n;
    memcpy(p, pool + pos, k);
    pos += k;
    p += k;
    n -= k;
  }
  atomic_flag_clear_explicit(&lock, memory_order_release);
}

static uint32_t rng_random(void)
{
  uint32_t v;

  rng_buf(&v, sizeof(v));
  return v;
}

static const char *rng_name(void)
{
  return "baton-sim";
}

static randombytes_implementation impl = {
  .implementation_name = rng_name,
  .random = rng_random,
  .buf = rng_buf,
};

void sim_rng_install(void)
{
  randombytes_set_implementation(&impl);
  /* sodium_init() draws its canary now, not in the first seed's stream */
  if (sodium_init() < 0)
    abort();
}

void sim_rng_seed(uint64_t seed)
{
  uint8_t in[8 + 13];

  for (int i = 0; i < 8; i++)
    in[i] = (uint8_t)(seed >> (8 * i));
  memcpy(in + 8, "baton/sim/rng", 13);
  while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
    ;
  crypto_generichash(key, sizeof(key), in, sizeof(in), NULL, 0);
  block = 0;
  pos = sizeof(pool);
  atomic_flag_clear_explicit(&lock, memory_order_release);
}
