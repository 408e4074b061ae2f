/* crdt/directory.h: an LA's directory of its orgs (DESIGN.md "Trust anchor").
 *
 * An LA publishes the orgs of its area as a public file: every op is sealed
 * with crdt_public_key(file, crdt_public_epoch(file)) (access.h), so anyone
 * holding the op bytes can read it. Directory ops are signed, not secret.
 *
 * Rules, for the directory of file under trust anchor A (an LA root key):
 * - An op counts only if its header names file and the public epoch, its
 *   signature verifies, its author is A itself (op->h.author == A), it opens
 *   with the public key, and it is a DIR_ORG or DIR_REVOKE. Anything else is
 *   kept in the DAG but rejected, with the first rule it breaks (in that
 *   order; crdt_dir_reason).
 * - DIR_ORG lists an org certificate: it must decode (cert.h: canonical, its
 *   signature good), be of kind ORG, be issued by A and not certify A
 *   itself. Otherwise the op is rejected (CERT, KIND, ISSUER, SELFSIGNED).
 * - DIR_REVOKE revokes a certificate id or a subject key from its time `at`,
 *   for its reason. It needs nothing else in the file: a key can be revoked
 *   before (or without) being listed, device keys and certificates included.
 *   Revocations are never undone. Where several name one certificate (by id
 *   or by subject key), the earliest `at` counts (ties: smallest op id).
 * - Renewal: a listing is superseded by a listing of the same subject in its
 *   causal future, and drops out. Concurrent listings of one subject are
 *   all listed; the same certificate listed more than once appears once
 *   (the smallest listing op id). Superseding is not revoking: the older
 *   certificate still chains until it expires or a DIR_REVOKE names it.
 * - At the caller's now_ms, an entry is revoked when a revocation naming it
 *   has at <= now_ms, and in date when not_before <= now_ms <= not_after
 *   (the test crdt_chain_check applies).
 *
 * Only the applied ops of the DAG count (pending ones wait for parents), and
 * the result depends only on that set and on now_ms, never on the order the
 * ops arrived in: each op is judged on its own bytes, supersession on the
 * DAG's ancestry, and every list is sorted before it is exposed.
 *
 * Pure: no I/O, no clock, no globals. */
#ifndef BT_CRDT_DIRECTORY_H
#define BT_CRDT_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"
#include "cert.h"
#include "dag.h"
#include "op.h"
#include "types.h"

typedef enum {
  CRDT_DIR_OK = 0,
  CRDT_DIR_ENVELOPE,   /* header names another file, or not the public epoch */
  CRDT_DIR_SIG,        /* the envelope's signature does not verify */
  CRDT_DIR_AUTHOR,     /* not authored by the trust anchor */
  CRDT_DIR_UNREADABLE, /* does not open with the public key, or bad body */
  CRDT_DIR_TYPE,       /* not a directory op (or a type this version lacks) */
  CRDT_DIR_CERT,       /* certificate does not decode or its signature fails */
  CRDT_DIR_KIND,       /* a device certificate, not an org's */
  CRDT_DIR_ISSUER,     /* certificate issued by another key than the anchor */
  CRDT_DIR_SELFSIGNED, /* certificate of the anchor key itself */
  CRDT_DIR_REASON_END
} crdt_dir_reason;

/* "envelope", "sig", ...; "unknown" out of range. */
const char *crdt_dir_reason_name(uint32_t reason);

typedef enum {
  CRDT_DIR_CURRENT = 0, /* not_before <= now_ms <= not_after */
  CRDT_DIR_NOT_YET,     /* now_ms < not_before */
  CRDT_DIR_EXPIRED,     /* now_ms > not_after */
} crdt_dir_when;

typedef struct {
  const crdt_cert *cert;          /* the org certificate; owned by the directory */
  crdt_id listed_by;              /* the DIR_ORG op */
  char fingerprint[CRDT_FPR_LEN]; /* of cert->b.subject, the org's signing key */
  uint32_t when;                  /* crdt_dir_when at now_ms */
  int revoked;                    /* a revocation of it is in effect at now_ms */
  crdt_id revoked_by;             /* earliest revocation naming it, even a future
                                     one; zero: none */
  uint64_t revoked_at;            /* its `at` (0: none) */
  bt_str revoke_reason;           /* its reason; owned by the directory */
} crdt_dir_entry;

typedef struct {
  crdt_id subject;                /* certificate id or subject key */
  uint64_t at;
  bt_str reason;                  /* owned by the directory */
  crdt_id op;                     /* the DIR_REVOKE op */
} crdt_dir_revocation;

typedef struct {
  crdt_id op;
  uint32_t reason;                /* crdt_dir_reason */
} crdt_dir_rejected;

typedef struct crdt_directory {
  uint64_t now_ms;                /* the time it was built for */
  crdt_dir_entry *entries;        /* by org name (bytewise), subject key, cert id */
  size_t nentries;
  crdt_dir_revocation *revocations; /* every valid one, by subject, at, op id */
  size_t nrevocations;
  crdt_id *revoked;               /* subjects revoked at now_ms: ascending, distinct; */
  size_t nrevoked;                /*   the `revoked` argument of crdt_chain_check */
  crdt_id *superseded;            /* valid DIR_ORG ops not listed (renewed or */
  size_t nsuperseded;             /*   repeating a certificate), ascending */
  crdt_dir_rejected *rejected;    /* ops that break a rule, ascending by op id */
  size_t nrejected;
  size_t nops;                    /* applied ops judged */
  /* private */
  crdt_cert **certs;
  crdt_body **bodies;
  size_t nowned;
} crdt_directory;

/* Builds the directory of file under anchor from the applied ops of d, at
 * now_ms. The result owns everything it points to (it does not borrow from
 * d), is read-only and may be shared between threads; building uses d's
 * scratch, so not concurrently with other use of d. BT_ENOMEM. */
int crdt_directory_build(crdt_dag *d, const uint8_t file[CRDT_FILE_LEN],
                         const uint8_t anchor[CRDT_PK_LEN], uint64_t now_ms,
                         crdt_directory **out);
void crdt_directory_free(crdt_directory *dir); /* NULL is a no-op */

/* The entry for an org signing key, or NULL. With several (concurrent
 * listings), the best: unrevoked and in date first, then the latest
 * not_after, then the smallest certificate id. Borrowed from dir. */
const crdt_dir_entry *crdt_directory_find(const crdt_directory *dir,
                                          const uint8_t org_pk[CRDT_PK_LEN]);

/* BLAKE2b-256 of the canonical encoding of dir (entries, revocations,
 * revoked, superseded, rejected): equal for equal directories. BT_ENOMEM. */
int crdt_directory_digest(const crdt_directory *dir, uint8_t out[32]);

/* Authors a directory op for file as the LA root key root_sk (its public
 * half becomes the author): header from the arguments (parents ascending
 * and distinct, seq >= 1), epoch and key public, hour from b->hlc. b must
 * be a DIR_ORG whose certificate this directory would accept, or a
 * DIR_REVOKE. nonce must be fresh random bytes. *out is the caller's
 * (crdt_op_free). Errors: BT_EINVAL (another type), the certificate's
 * decode errors, BT_ECHAIN (not an org certificate), BT_EANCHOR (issued by
 * another key), BT_ESELFSIGNED (certifies root_sk's own key), and those of
 * crdt_op_seal (BT_EPARENTS, BT_ESEQ, body errors, BT_ENOMEM). */
int crdt_directory_seal(const uint8_t file[CRDT_FILE_LEN], const uint8_t root_sk[CRDT_SK_LEN],
                        uint64_t seq, const crdt_id *parents, size_t nparents,
                        const crdt_body *b, const uint8_t nonce[CRDT_NONCE_LEN],
                        crdt_op **out);

#endif
