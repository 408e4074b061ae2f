/* proto/package.h: the byte layout of a transfer package file, and of the
 * receipt that closes its loop (docs/package.md has the layout byte by
 * byte; node/package.h does the crypto, the checks and the storing).
 *
 * A package is one file: a fixed header in the clear (magic, version,
 * kind, the signer's key and certificates, how the key is wrapped), then a
 * body (ciphertext for packages, plaintext for receipts), then an Ed25519
 * signature over everything before it. Inside the ciphertext is a payload:
 * the file id, an optional key set and the op envelopes.
 *
 * Pure: no I/O, no clock, no crypto. Parsers are zero-copy (results point
 * into the caller's bytes), bounded (every length is checked against what
 * remains before anything is read or allocated), and refuse trailing
 * bytes. Thread-safe: no state. */
#ifndef BT_PROTO_PACKAGE_H
#define BT_PROTO_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"

#define PROTO_PKG_MAGIC "BATONPKG"
#define PROTO_PKG_MAGIC_LEN 8
#define PROTO_PKG_VERSION 1
#define PROTO_PKG_MAX ((size_t)64 << 20) /* whole file, bytes */
#define PROTO_PKG_CERT_MAX 4096
#define PROTO_PKG_SEALED_LEN (32 + 48)   /* crypto_box_seal of a 32-byte key */
#define PROTO_PKG_SALT_LEN 16            /* crypto_pwhash_SALTBYTES */
#define PROTO_PKG_NONCE_LEN 24           /* XChaCha20-Poly1305-IETF */
#define PROTO_PKG_TAG_LEN 16
#define PROTO_PKG_SIG_LEN 64
#define PROTO_PKG_ENV_MIN 64             /* no envelope is shorter (its signature) */
#define PROTO_PKG_KEYS_MAX 4096          /* key items in one payload */
#define PROTO_PKG_USER_MAX 64

typedef enum {
  PROTO_PKG_ORG = 1,     /* sealed to an org's box key */
  PROTO_PKG_PASS = 2,    /* key from a passphrase (Argon2id) */
  PROTO_PKG_RECEIPT = 3, /* a signed receipt, in the clear */
} proto_pkg_kind;

/* A parsed header. Pointers borrow from the parsed bytes. */
typedef struct {
  uint32_t kind;              /* proto_pkg_kind */
  const uint8_t *signer;      /* Ed25519 key the signature is by (32) */
  bt_bytes device_cert;       /* the signer's device certificate; len 0: none */
  bt_bytes org_cert;          /* its org certificate; len 0: none */
  /* PROTO_PKG_ORG */
  const uint8_t *to_org;      /* recipient org signing key (32) */
  const uint8_t *to_box;      /* recipient org box key (32) */
  const uint8_t *sealed;      /* PROTO_PKG_SEALED_LEN */
  /* PROTO_PKG_PASS */
  const uint8_t *salt;        /* PROTO_PKG_SALT_LEN */
  uint32_t opslimit;
  uint64_t memlimit;
  /* packages (not receipts) */
  const uint8_t *nonce;       /* PROTO_PKG_NONCE_LEN */
  bt_bytes body;              /* ciphertext (packages) or receipt (receipts) */
  size_t ad_len;              /* bytes before the body: AEAD associated data */
  size_t signed_len;          /* bytes before the signature */
  const uint8_t *sig;
} proto_pkg;

/* Parses p[0..len). Errors: BT_ETOOBIG (len > PROTO_PKG_MAX), BT_EPROTO
 * (not a package: bad magic, reserved bytes, kind, cert sizes), BT_EVERSION,
 * BT_ETRUNC, BT_ETRAILING, BT_EMISSING (certificates a package must carry). */
int proto_pkg_parse(const uint8_t *p, size_t len, proto_pkg *out);

/* Size of h's header up to and including the body length field, i.e. the
 * associated data of a body of any length. */
size_t proto_pkg_head_len(const proto_pkg *h);
/* Writes h's header (proto_pkg_head_len bytes) with body_len into out.
 * h->body, ad_len, signed_len and sig are ignored. */
void proto_pkg_head_write(const proto_pkg *h, uint64_t body_len, uint8_t *out);

/* ---- payload (the plaintext of a package's body) ---- */

typedef enum {
  PROTO_PKG_KEY_SECRET = 1, /* an epoch secret, for the epoch it hashes to */
  PROTO_PKG_KEY_HEADER = 2, /* the key of ops whose header names epoch */
} proto_pkg_keykind;

typedef struct {
  uint8_t kind;             /* proto_pkg_keykind */
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint8_t key[CRDT_KEY_LEN];
} proto_pkg_key;

#define PROTO_PKG_KEY_ITEM_LEN (1 + CRDT_EPOCH_LEN + CRDT_KEY_LEN)

typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  const uint8_t *keys;      /* nkeys items of PROTO_PKG_KEY_ITEM_LEN: read with
                               proto_pkg_key_at */
  size_t nkeys;
  bt_bytes *ops;            /* malloc'd array; each points into the payload */
  size_t nops;
} proto_pkg_payload;

/* Bytes proto_pkg_payload_write needs. */
size_t proto_pkg_payload_len(const bt_bytes *ops, size_t nops, size_t nkeys);
/* Writes the payload into out (proto_pkg_payload_len bytes). */
void proto_pkg_payload_write(const uint8_t file[CRDT_FILE_LEN], const proto_pkg_key *keys,
                             size_t nkeys, const bt_bytes *ops, size_t nops, uint8_t *out);
/* Parses p[0..len); free with proto_pkg_payload_clear. Errors: BT_EVERSION,
 * BT_ETRUNC, BT_ETRAILING, BT_ETOOBIG (counts past the limits), BT_EPROTO
 * (a key kind, an envelope shorter than PROTO_PKG_ENV_MIN), BT_ENOMEM. */
int proto_pkg_payload_parse(const uint8_t *p, size_t len, proto_pkg_payload *out);
void proto_pkg_payload_clear(proto_pkg_payload *pl);
/* Copies key item i of pl into *k (the caller's secure memory). */
void proto_pkg_key_at(const proto_pkg_payload *pl, size_t i, proto_pkg_key *k);

/* ---- receipt (the body of a PROTO_PKG_RECEIPT) ---- */

typedef struct {
  uint8_t package[32];      /* BLAKE2b-256 of the whole package received */
  uint8_t file[CRDT_FILE_LEN];
  uint64_t nops;            /* ops the package carried */
  uint64_t received_at;     /* Unix ms, the receiver's clock */
  uint8_t device[CRDT_PK_LEN]; /* the receiving device (= the signer) */
  bt_str user;              /* the staff user who imported it */
} proto_pkg_receipt;

#define PROTO_PKG_RECEIPT_FIXED (1 + 32 + CRDT_FILE_LEN + 8 + 8 + CRDT_PK_LEN + 1)

size_t proto_pkg_receipt_len(const proto_pkg_receipt *r);
/* r->user.len <= PROTO_PKG_USER_MAX (asserted). */
void proto_pkg_receipt_write(const proto_pkg_receipt *r, uint8_t *out);
/* Errors: BT_EVERSION, BT_ETRUNC, BT_ETRAILING, BT_EINVAL (user empty, too
 * long or not [a-z0-9._-]). user borrows from p. */
int proto_pkg_receipt_parse(const uint8_t *p, size_t len, proto_pkg_receipt *out);

#endif
