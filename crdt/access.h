/* crdt/access.h: who may write a case file, with which key, decided from
 * each op's causal past (docs/access.md).
 *
 * Keys. A file's history is cut into key epochs. Each epoch has a 32-byte
 * secret from which two keys derive: the content key (entries, front sheet)
 * and the control key (genesis, member, grant, revoke, epoch ops). Content
 * ops carry the epoch id in their header; control ops carry the epoch's
 * control id, H("baton/control" || epoch)[:16]. A keybox op carries a key
 * set sealed (crypto_box_seal) to one org's box key; its envelope uses a
 * public key derived from the file and the recipient tag, so the org can
 * find and open it without holding any key of the file yet.
 *
 * Rules, each evaluated over the op's causal past P (the op excluded):
 * - The genesis is the parentless GENESIS op whose file id is
 *   H("baton/file" || author || salt)[:16], and whose device certificate
 *   names the author and is signed by its org certificate's key. That org
 *   holds the file (is its first manager) and the genesis starts epoch 1.
 * - A device belongs to the org of the genesis (its author) or of a valid
 *   MEMBER op it authored in P (certificates as for the genesis; with two
 *   claims, the smaller op id wins).
 * - An org's rights at an op: the holder writes; otherwise the best of the
 *   valid, unrevoked grants to it in P whose expiry (if any) is after the
 *   op's HLC time. A grant for a transfer with write rights makes its
 *   grantee a manager too (the new school holds the file).
 * - Content ops need write rights and the current epoch: the one epoch op
 *   (or the genesis) in P that no other epoch op in P descends from. Two
 *   such epochs (concurrent rekeys) are a fork: only an EPOCH op may follow
 *   it (its author rekeys for the members it knows), content is refused.
 * - MEMBER needs write rights; GRANT, REVOKE, EPOCH and KEYBOX need a
 *   manager. A REVOKE names a valid grant in P. An EPOCH names a new epoch
 *   id and is sealed with that epoch's control key. Over a fork, a MEMBER
 *   may use the control key of any tip (so a new device can then merge).
 * - Two geneses in one past (only the creator's device can make a second):
 *   the smaller op id holds the file for the ops that see both.
 * - Once a REVOKE of an org's grant is in P, that org's access ops in P
 *   that the revoke did not have in its own past are void: the org kept its
 *   old keys and could always write "before" the revoke, so only what the
 *   revoker had seen stands. (Its entries are judged as ever; a case file
 *   flags those the revoker had not seen, CRDT_CF_UNSEEN_REVOKED.)
 * An op that breaks a rule is kept (every node holds the same ops) but does
 * not count: it is hidden from the case file, with its reason, and a hidden
 * control op changes nothing. The verdict depends on P alone, so it is the
 * same on every node that can read P's control ops (every member: a grant
 * hands over the control keys of all earlier epochs, whatever its history
 * policy).
 *
 * Pure: no I/O, no clock. Keys reach the evaluation through a lookup
 * callback and are copied into sodium_malloc'd memory only. */
#ifndef BT_CRDT_ACCESS_H
#define BT_CRDT_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"
#include "dag.h"
#include "op.h"
#include "types.h"

#define CRDT_BOX_PK_LEN   32 /* X25519 */
#define CRDT_BOX_SK_LEN   32
#define CRDT_KEYSET_MAX   64 /* items in one keybox */
#define CRDT_KEYITEM_LEN  (1 + CRDT_EPOCH_LEN + CRDT_KEY_LEN)

/* ---- derivations (all BLAKE2b or crypto_kdf, domain-separated) ---------- */

void crdt_file_id(const uint8_t author[CRDT_PK_LEN], const uint8_t salt[16],
                  uint8_t file[CRDT_FILE_LEN]);
void crdt_control_id(const uint8_t epoch[CRDT_EPOCH_LEN], uint8_t out[CRDT_EPOCH_LEN]);
/* Content and control keys of an epoch secret. */
void crdt_epoch_keys(const uint8_t secret[CRDT_KEY_LEN], uint8_t content[CRDT_KEY_LEN],
                     uint8_t control[CRDT_KEY_LEN]);
/* An epoch's id from its secret: H("baton/epoch-id" || H(content key) ||
 * H(control key))[:16]. Ids commit to their keys, so a key set received
 * from anyone can be checked: a secret that does not hash to the epoch it
 * claims is refused (a stranger cannot poison a node's keys). */
void crdt_epoch_id(const uint8_t secret[CRDT_KEY_LEN], uint8_t epoch[CRDT_EPOCH_LEN]);
/* A keybox's header epoch: its recipient's tag. */
void crdt_keybox_tag(const uint8_t box[CRDT_BOX_PK_LEN], uint8_t tag[CRDT_EPOCH_LEN]);
/* The key of public envelopes (keyboxes, directory files): anyone holding
 * the op can compute it. */
void crdt_public_key(const uint8_t file[CRDT_FILE_LEN], const uint8_t epoch[CRDT_EPOCH_LEN],
                     uint8_t key[CRDT_KEY_LEN]);
/* The public epoch of a directory file. */
void crdt_public_epoch(const uint8_t file[CRDT_FILE_LEN], uint8_t epoch[CRDT_EPOCH_LEN]);

/* ---- key sets: what a keybox seals ------------------------------------- */

typedef enum {
  CRDT_KEY_SECRET = 1,  /* the epoch secret: content and control */
  CRDT_KEY_CONTROL = 2, /* the control key only (history "from now") */
} crdt_keykind;

typedef struct {
  uint8_t kind;                  /* crdt_keykind */
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint8_t key[CRDT_KEY_LEN];
} crdt_keyitem;

/* Seals n items (1..CRDT_KEYSET_MAX) to box. *out is malloc'd (ciphertext
 * only; the plaintext is wiped). BT_EINVAL, BT_ENOMEM. */
int crdt_keyset_seal(const crdt_keyitem *items, size_t n, const uint8_t box[CRDT_BOX_PK_LEN],
                     uint8_t **out, size_t *len);

/* Opens a sealed key set into items (room for max; the caller's secure
 * memory). BT_EDECRYPT (not for this key pair, or damaged), BT_EPROTO (bad
 * layout or kind), BT_ETOOBIG (more than max). */
int crdt_keyset_open(const uint8_t *sealed, size_t len, const uint8_t box[CRDT_BOX_PK_LEN],
                     const uint8_t box_sk[CRDT_BOX_SK_LEN], crdt_keyitem *items, size_t max,
                     size_t *n);

/* ---- evaluation --------------------------------------------------------- */

typedef enum {
  CRDT_ACC_OK = 0,
  CRDT_ACC_UNREADABLE,  /* no key for it here, or a body that does not decode */
  CRDT_ACC_GENESIS,     /* a root that is not this file's genesis */
  CRDT_ACC_CERT,        /* certificates that do not name the author or chain */
  CRDT_ACC_NOT_MEMBER,  /* the author is bound to no org in its past */
  CRDT_ACC_NO_RIGHTS,   /* its org may not write here (never, read-only, revoked, expired) */
  CRDT_ACC_NOT_MANAGER, /* an access op by an org that does not hold the file */
  CRDT_ACC_EPOCH,       /* sealed for another epoch than its past requires */
  CRDT_ACC_FORK,        /* content written over concurrent epochs */
  CRDT_ACC_REF,         /* a revoke of something that is not a grant in its past */
  CRDT_ACC_ENVELOPE,    /* a type in the wrong kind of envelope */
  CRDT_ACC_END
} crdt_acc_reason;

const char *crdt_acc_reason_name(uint32_t reason);

/* Returns BT_OK and the key for a header epoch (content or control id), or
 * BT_ENOTFOUND. */
typedef int (*crdt_key_lookup)(void *ctx, const uint8_t epoch[CRDT_EPOCH_LEN],
                               uint8_t key[CRDT_KEY_LEN]);

typedef struct {
  crdt_id device;         /* a device key */
  crdt_id org;            /* its org's signing key */
  crdt_id box;            /* the org's box key */
  char org_name[CRDT_STR_MAX + 1]; /* from the org certificate */
  crdt_id via;            /* the binding op (genesis or member) */
} crdt_acc_member;

typedef struct {
  const crdt_op *op;      /* the grant op */
  const crdt_grant *g;    /* its body */
  crdt_id revoked_by;     /* the valid revoke with the smallest op id (zero: not
                             revoked): the same on every node, whatever order */
} crdt_acc_grant;

typedef struct {
  uint8_t epoch[CRDT_EPOCH_LEN];
  crdt_id started_by;     /* genesis or epoch op */
  uint32_t cause;         /* crdt_epoch_cause; 0 for the genesis */
} crdt_acc_epoch;

/* The access state at the file's heads: what the next op must respect. */
typedef struct crdt_access {
  int has_genesis;
  crdt_id holder;                 /* org that created the file */
  crdt_id holder_box;
  uint8_t epoch[CRDT_EPOCH_LEN];  /* current epoch (valid when !fork) */
  int fork;                       /* concurrent epochs: rekey before writing */
  uint8_t (*tips)[CRDT_EPOCH_LEN]; /* the epochs no other descends from */
  size_t ntips;                   /* (more than one: a fork) */
  crdt_acc_member *members;       /* ascending by device */
  size_t nmembers;
  crdt_acc_grant *grants;         /* valid grants, in topological order */
  size_t ngrants;
  crdt_acc_epoch *epochs;         /* every valid epoch, topological order */
  size_t nepochs;
} crdt_access;

/* Per-op result of crdt_access_eval. */
typedef struct {
  crdt_body *body;   /* NULL when unreadable; owned by the caller after eval */
  uint32_t reason;   /* crdt_acc_reason */
  crdt_id org;       /* its author's org as judged at the op (zero: none) */
} crdt_acc_verdict;

/* Opens and judges every op of ord (d's topological order, n ops) for
 * file: v[i] for ord[i]. *out (may be NULL if not wanted) gets the state
 * at the heads; free it with crdt_access_free. Bodies in v stay the
 * caller's (crdt_body_free each). BT_ENOMEM. */
int crdt_access_eval(crdt_dag *d, const crdt_op **ord, size_t n,
                     const uint8_t file[CRDT_FILE_LEN], crdt_key_lookup key, void *ctx,
                     crdt_acc_verdict *v, crdt_access **out);
void crdt_access_free(crdt_access *a);

/* Whether a grant is unrevoked and not expired at ms. */
static inline int crdt_acc_grant_live(const crdt_acc_grant *g, uint64_t ms)
{
  return crdt_id_is_zero(&g->revoked_by) && (g->g->expires_at == 0 || ms < g->g->expires_at);
}

/* The org a device is bound to at the heads, or NULL. */
const crdt_acc_member *crdt_access_member(const crdt_access *a, const uint8_t device[CRDT_PK_LEN]);

/* An org's rights at the heads for an op at time ms: 0 none, else
 * crdt_rights; *manager set when it may grant and revoke. */
uint32_t crdt_access_rights(const crdt_access *a, const uint8_t org[CRDT_PK_LEN], uint64_t ms,
                            int *manager);

#endif
