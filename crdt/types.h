/* crdt/types.h: small value types shared across Baton's layers.
 *
 * bt_str is a borrowed byte slice: not NUL-terminated, and valid only as long
 * as whatever owns the bytes (each function that returns one says so).
 * crdt_id is the BLAKE2b-256 id of a signed op envelope. */
#ifndef BT_CRDT_TYPES_H
#define BT_CRDT_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  const char *p;
  size_t len;
} bt_str;

typedef struct {
  const uint8_t *p;
  size_t len;
} bt_bytes;

#define BT_STR(lit) ((bt_str){(lit), sizeof(lit) - 1})

#define CRDT_ID_LEN     32 /* op id: BLAKE2b-256 of the envelope */
#define CRDT_FILE_LEN   16 /* case file id: random */
#define CRDT_EPOCH_LEN  16 /* key epoch id: random */
#define CRDT_PK_LEN     32 /* Ed25519 public key */
#define CRDT_SK_LEN     64 /* Ed25519 secret key (libsodium layout) */
#define CRDT_KEY_LEN    32 /* XChaCha20-Poly1305 epoch key */
#define CRDT_NONCE_LEN  24
#define CRDT_SIG_LEN    64
#define CRDT_TAG_LEN    16 /* AEAD tag */

typedef struct {
  uint8_t b[CRDT_ID_LEN];
} crdt_id;

static inline int crdt_id_cmp(const crdt_id *a, const crdt_id *b)
{
  return memcmp(a->b, b->b, CRDT_ID_LEN);
}

/* The all-zero id means "no id" in optional reference fields. */
static inline int crdt_id_is_zero(const crdt_id *a)
{
  for (size_t i = 0; i < CRDT_ID_LEN; i++)
    if (a->b[i])
      return 0;
  return 1;
}

/* A slice over a NUL-terminated string (evaluates s once). */
static inline bt_str bt_strz(const char *s)
{
  return (bt_str){s, strlen(s)};
}

static inline int bt_str_eq(bt_str a, bt_str b)
{
  return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

#endif
