/* tests/proto/fixture.h: a small fixed world for protocol tests, the golden
 * vectors, the fuzz harnesses and their corpus.
 *
 * Every key comes from a fixed seed (crypto_sign_seed_keypair; ephemeral
 * X25519 secrets are 32 copies of one byte) and every certificate from
 * crdt_cert_sign at fixed times, so all handshake bytes are reproducible.
 *
 * The fx_ref_* functions are a second, deliberately plain rendering of the
 * handshake's arithmetic straight from docs/protocol.md. Tests use them to
 * play a man in the middle (who must open and re-seal boxes) and to check
 * the derived keys independently; the fuzz harness uses them to seal
 * arbitrary identities under the right keys. Failures abort: this is
 * fixture code, usable outside Criterion. */
#ifndef BT_TESTS_PROTO_FIXTURE_H
#define BT_TESTS_PROTO_FIXTURE_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt/cert.h"
#include "crdt/types.h"
#include "proto/handshake.h"

#define FX_T0 UINT64_C(1767225600000) /* 2026-01-01 */
#define FX_DAY UINT64_C(86400000)
#define FX_NOW (FX_T0 + FX_DAY)

typedef enum {
  FX_ALICE,    /* a device of org A (anchored) */
  FX_BOB,      /* a device of org B (anchored) */
  FX_INSIDER,  /* another device of org A: trusted, and ill-intentioned */
  FX_OUTSIDER, /* a device of org M, certified by an LA nobody trusts */
  FX_REVOKED,  /* a device of org A whose certificate is revoked */
  FX_PARTIES
} fx_who;

typedef struct {
  uint8_t pk[CRDT_PK_LEN], sk[CRDT_SK_LEN];
  uint8_t *dev, *org; /* malloc'd certificates */
  size_t dlen, olen;
  const bt_str *caps;
  size_t ncaps;
} fx_party;

void fx_party_make(fx_who who, fx_party *p); /* calls sodium_init */
void fx_party_free(fx_party *p);

/* The seeds, for the vectors file. */
void fx_sign_seed(fx_who who, uint8_t seed[32]);
void fx_eph(uint8_t seed_byte, uint8_t pk[PROTO_EPH_LEN], uint8_t sk[PROTO_EPH_LEN]);

/* The verify callback's context: the LA anchor, the revoked device
 * certificate, the time; and what the callback saw. */
typedef struct {
  crdt_id anchor;
  crdt_id revoked;
  int calls;
  uint8_t last_pk[CRDT_PK_LEN];
} fx_trust;

void fx_trust_init(fx_trust *t);
/* proto_hs_verify_fn: decodes both certificates and runs crdt_chain_check
 * at FX_NOW (the device cert's subject was already bound by proto). */
int fx_verify(void *ctx, const uint8_t pk[CRDT_PK_LEN], const uint8_t *dev, size_t dlen,
              const uint8_t *org, size_t olen);

/* A handshake for p in the given role with ephemeral fx_eph(eph_byte). */
proto_hs *fx_hs(const fx_party *p, int initiator, uint8_t eph_byte, fx_trust *t);

/* ---- the reference arithmetic ---- */

void fx_ref_h0(uint8_t h[32]);
void fx_ref_absorb(uint8_t h[32], const uint8_t *p, size_t len);
void fx_ref_kdf(uint8_t out[32], const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len,
                const char *label);
/* DH; aborts on a low-order point. */
void fx_ref_dh(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32]);

/* A parsed handshake message (lenient: for building attacks). Slices
 * point into the message. */
typedef struct {
  unsigned kind;
  uint32_t version;
  bt_str caps[PROTO_CAPS_MAX];
  size_t ncaps;
  const uint8_t *e, *box;
  size_t blen;
} fx_msg;

void fx_ref_parse(const uint8_t *p, size_t len, fx_msg *m);

/* Encoders: hello, reply (box != NULL) or the reply's head (box NULL),
 * finish; and the identity plaintext with its signature over label || h. */
size_t fx_ref_msg(uint8_t *out, unsigned kind, uint32_t version, const bt_str *caps,
                  size_t ncaps, const uint8_t *e, const uint8_t *box, size_t blen);
size_t fx_ref_finish(uint8_t *out, const uint8_t *box, size_t blen);
size_t fx_ref_id(uint8_t *out, const uint8_t pk[32], const uint8_t sk[64], const char *label,
                 const uint8_t h[32], const uint8_t *dev, size_t dlen, const uint8_t *org,
                 size_t olen);

/* AEAD under KDF(ck, dh, label), nonce 0, ad = h. open returns 0 or -1. */
size_t fx_ref_seal(uint8_t *out, const uint8_t ck[32], const uint8_t dh[32], const char *label,
                   const uint8_t h[32], const uint8_t *pt, size_t len);
int fx_ref_open(uint8_t *out, size_t *olen, const uint8_t ck[32], const uint8_t dh[32],
                const char *label, const uint8_t h[32], const uint8_t *box, size_t blen);

/* Transcript of one session from its three messages: h1, h2, h3, h4. */
typedef struct {
  uint8_t h1[32], h2[32], h3[32], h4[32];
} fx_transcript;

void fx_ref_transcript(const uint8_t *hello, size_t hlen, const uint8_t *reply, size_t rlen,
                       const uint8_t *finish, size_t flen, fx_transcript *t);

/* The transport keys from h4 and the DH. */
void fx_ref_keys(const uint8_t h4[32], const uint8_t dh[32], uint8_t i2r[32], uint8_t r2i[32]);

/* Mallory, the forger, holding the keys of her side of a session: she
 * seals a box whose identity plaintext she chooses (honest, borrowed or
 * garbage) under the right key, so the victim's checks past the AEAD are
 * reached. Her ephemeral secret is fx_eph(eph); her head uses version 1
 * and caps attach, zstd. */
typedef struct {
  uint8_t ck[32], h[32], dh[32]; /* the box: KDF(ck, dh, klabel), ad h */
  const char *klabel, *slabel;   /* slabel: what the identity signs, with h */
  uint8_t epk[32];
} fx_forger;

/* Answering a real initiator's hello: ck = h1, h = h2. */
void fx_forge_reply_begin(fx_forger *f, const uint8_t *hello, size_t hl, uint8_t eph);
size_t fx_forge_reply_end(const fx_forger *f, uint8_t *out, const uint8_t *id, size_t idl);
/* Opening a session to a real responder: her hello, then, given the
 * reply, ck = h = h3. */
size_t fx_forge_hello(uint8_t *out, uint8_t eph);
void fx_forge_finish_begin(fx_forger *f, const uint8_t *hello, size_t hl, const uint8_t *reply,
                           size_t rl, uint8_t eph);
size_t fx_forge_finish_end(const fx_forger *f, uint8_t *out, const uint8_t *id, size_t idl);

/* Hex helpers for vectors and messages. */
void fx_hex(char *out, const uint8_t *p, size_t len); /* out: 2 * len + 1 */

#endif
