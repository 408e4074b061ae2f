/* node/secret.h: keys in locked memory, the node master key, and wrapping.
 *
 * A node_secret is a key held in sodium_malloc'd memory (guard pages,
 * mlock'd where the system allows) and wiped by node_secret_free. The node
 * master key comes from a passphrase through Argon2id, or from a key file
 * for unattended servers; every other secret is stored wrapped:
 * XChaCha20-Poly1305 under a key-encryption key, with a label as associated
 * data so a wrapped key cannot be moved to another record.
 *
 * All functions are thread-safe (libsodium must be initialised: node_store_
 * open does it). */
#ifndef BT_NODE_SECRET_H
#define BT_NODE_SECRET_H

#include <stddef.h>
#include <stdint.h>

typedef struct node_secret node_secret;

/* A fresh random key of len bytes (1..64). BT_ENOMEM. */
int node_secret_random(node_secret **out, size_t len);
/* A copy of p[0..len) (1..64). BT_ENOMEM. */
int node_secret_copy(node_secret **out, const uint8_t *p, size_t len);
const uint8_t *node_secret_bytes(const node_secret *s);
size_t node_secret_len(const node_secret *s);
void node_secret_free(node_secret *s); /* wipes; NULL is a no-op */

/* Argon2id parameters, stored beside the salt so a store opens with the
 * parameters it was made with. */
typedef struct {
  uint8_t salt[16];
  uint64_t opslimit;
  uint64_t memlimit;
} node_kdf;

typedef enum {
  NODE_KDF_MODERATE = 0, /* libsodium's MODERATE: 256 MiB, about a second */
  NODE_KDF_INTERACTIVE,  /* 64 MiB */
  NODE_KDF_MIN,          /* libsodium's minimum: for tests only */
} node_kdf_level;

/* Fills k with a random salt and the level's limits. */
void node_kdf_init(node_kdf *k, node_kdf_level level);

/* The 32-byte key for a passphrase. BT_EINVAL for an empty passphrase or
 * limits outside libsodium's range; BT_ENOMEM (Argon2 could not get its
 * memory). */
int node_kdf_derive(const node_kdf *k, const char *pass, size_t len, node_secret **out);

/* Reads a key file: exactly 32 bytes, or 64 hex digits and an optional
 * newline; a regular file owned by this user with no group or other
 * permissions. BT_EKEYFILE, or a negative errno from open/read. */
int node_keyfile_read(const char *path, node_secret **out);

/* Creates path (which must not exist) holding 32 random bytes, mode 0600. */
int node_keyfile_create(const char *path);

#define NODE_WRAP_OVERHEAD (24 + 16) /* nonce + tag */

/* out gets key_len + NODE_WRAP_OVERHEAD bytes. Never fails. */
void node_wrap(const node_secret *kek, const void *label, size_t label_len,
               const uint8_t *key, size_t key_len, uint8_t *out);

/* Unwraps in[0..in_len) into a new secret. BT_EPASS when the tag does not
 * verify (wrong key-encryption key, label or damaged record), BT_EINVAL for
 * a length that cannot be a wrapped key, BT_ENOMEM. */
int node_unwrap(const node_secret *kek, const void *label, size_t label_len,
                const uint8_t *in, size_t in_len, node_secret **out);

#endif
