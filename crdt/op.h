/* crdt/op.h: the signed, encrypted op envelope (DESIGN.md "Op").
 *
 * Wire layout, canonical msgpack:
 *
 *   envelope = fixarray(4) [ header, nonce bin(24), ciphertext bin, sig bin(64) ]
 *   header   = fixarray(7) [ version uint (= 1), file bin(16), author bin(32),
 *                            seq uint (>= 1), parents array of bin(32)
 *                            (strictly ascending, at most CRDT_PARENTS_MAX),
 *                            epoch bin(16), hour uint ]
 *
 * - ciphertext = XChaCha20-Poly1305-IETF(epoch key, nonce, body,
 *   ad = the header's encoded bytes): an op cannot be moved to another file,
 *   epoch or position in the DAG without failing decryption.
 * - sig = Ed25519(author key, the envelope bytes from the header's first byte
 *   to the ciphertext's last), i.e. over header, nonce and ciphertext as
 *   encoded. Anyone can check it without the file key.
 * - id = BLAKE2b-256 of the whole envelope. Canonical encoding makes it a
 *   function of the content: the same op always has the same bytes and id.
 * - hour = the body HLC's milliseconds / 3,600,000, checked on decryption.
 *
 * Decoding is strict: size cap first, then a bounded walk, exact types, no
 * trailing bytes, canonical form (a re-encode must reproduce the input). Each
 * failure has its own code so a peer's rejection can be reported precisely. */
#ifndef BT_CRDT_OP_H
#define BT_CRDT_OP_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"
#include "types.h"

#define CRDT_OP_VERSION     1
#define CRDT_PARENTS_MAX    64
#define CRDT_OP_MAX         (CRDT_BODY_MAX + 4096) /* whole envelope */

typedef struct {
  uint32_t version;               /* CRDT_OP_VERSION */
  uint8_t file[CRDT_FILE_LEN];
  uint8_t author[CRDT_PK_LEN];    /* device signing key */
  uint64_t seq;                   /* author's 1, 2, 3, ... in this file */
  const crdt_id *parents;         /* ascending, distinct */
  size_t nparents;
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint32_t hour;                  /* coarse timestamp */
} crdt_header;

/* A decoded envelope. Read-only for callers; every pointer points into the
 * op's own allocation and lives until crdt_op_free. */
typedef struct crdt_op {
  crdt_header h;
  crdt_id id;
  const uint8_t *env;      /* the whole envelope */
  size_t env_len;
  const uint8_t *hdr;      /* encoded header: the AEAD associated data */
  size_t hdr_len;
  const uint8_t *nonce;    /* CRDT_NONCE_LEN bytes */
  const uint8_t *ct;       /* ciphertext including the tag */
  size_t ct_len;
  const uint8_t *sig;      /* CRDT_SIG_LEN bytes */
} crdt_op;

/* Strictly decodes p[0..len) (copied) and computes the id. Does not check
 * the signature. Errors: BT_ETOOBIG, BT_ETRUNC, BT_ETRAILING, BT_EDEPTH,
 * BT_ETYPE, BT_EPROTO, BT_EMISSING (too few items), BT_EVERSION, BT_ESEQ,
 * BT_EPARENTS, BT_EINVAL, BT_ENONCANON, BT_ENOMEM. */
int crdt_op_decode(const uint8_t *p, size_t len, crdt_op **out);

/* BT_OK if sig is the author's signature over the envelope, else BT_ESIG. */
int crdt_op_verify(const crdt_op *op);

/* Decrypts and decodes the body with the epoch key. BT_EDECRYPT when the key,
 * the file, the header or the ciphertext do not match; BT_EINVAL when the
 * body's HLC disagrees with the header hour; body decode errors otherwise.
 * The caller frees *out with crdt_body_free. */
int crdt_op_decrypt(const crdt_op *op, const uint8_t key[CRDT_KEY_LEN],
                    crdt_body **out);

/* Encodes, encrypts and signs. h->hour must equal crdt_hlc_hour(b->hlc).
 * nonce must be fresh random bytes (the caller owns randomness); sk is the
 * author's libsodium Ed25519 secret key, whose public half must be h->author
 * (asserted). Errors: header errors as for decode, body encode errors. */
int crdt_op_seal(const crdt_header *h, const crdt_body *b,
                 const uint8_t key[CRDT_KEY_LEN],
                 const uint8_t nonce[CRDT_NONCE_LEN],
                 const uint8_t sk[CRDT_SK_LEN], crdt_op **out);

/* decode + verify + file and epoch match + decrypt, the receiver's path.
 * file and epoch may be NULL to skip those checks. On failure nothing is
 * returned. Extra errors: BT_EFILE, BT_EEPOCH. */
int crdt_op_open(const uint8_t *p, size_t len, const uint8_t *file,
                 const uint8_t *epoch, const uint8_t key[CRDT_KEY_LEN],
                 crdt_op **op, crdt_body **body);

/* A copy of op (same bytes, same id). */
int crdt_op_dup(const crdt_op *op, crdt_op **out);

void crdt_op_free(crdt_op *op); /* NULL is a no-op */

/* Checks a header's own rules: version, seq >= 1, parents ascending and
 * within CRDT_PARENTS_MAX. */
int crdt_header_check(const crdt_header *h);

#endif
