/* node/audit.h: the append-only, hash-chained, device-signed audit log.
 *
 * Every view of a case file, export, grant, revoke, extract, decision not
 * to share, transfer step, package, staff sign-in (and failed sign-in) and
 * user change is written here by node/ itself, so no front end can skip
 * it. A record holds only: its sequence number (1, 2, 3, ... with no gaps),
 * the time (the store's clock, Unix ms), the staff user name, the action,
 * the case file id (16 random bytes, never a child's name) when there is
 * one, a short non-personal detail (a role, an org fingerprint, an op id in
 * hex), the BLAKE2b-256 hash of the previous stored record (all zero for
 * seq 1) and an Ed25519 signature by this node's device key. Never case
 * content, names of children or families, passphrases or keys: callers
 * must only pass ids, fingerprints, role names and counts as detail.
 * docs/audit.md has the byte layout.
 *
 * Append-only: nothing here edits or deletes a record. node_audit_verify
 * finds edits, deletions, reordering and re-signing made behind the API
 * (raw LMDB writes). It cannot tell that the newest records were cut off
 * the end (nothing after them to break).
 *
 * If an action cannot be audited it does not happen: node_casefile_as
 * refuses the view, node_user_login refuses the sign-in; grants, revokes,
 * sharing decisions and user changes write the record in the same
 * transaction as the change, so both commit or neither; an extract (several
 * transactions) writes its record last and reports failure if it fails.
 * Callers outside node/audit.c that add records for their own actions
 * (transfers, packages) must do the same: write the record before reporting
 * success (in their transaction where they have one: node__audit_txn), and
 * fail if it fails.
 *
 * Threads: as node_store (one thread at a time per node_store; other
 * processes may append at once, LMDB serialises them). */
#ifndef BT_NODE_AUDIT_H
#define BT_NODE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"
#include "node/store.h"
#include "node/users.h"

struct MDB_txn;

/* Actions. The numbers are stored: never renumber, only add before END. */
typedef enum {
  NODE_AUDIT_LOGIN = 1,       /* a staff sign-in succeeded */
  NODE_AUDIT_LOGIN_FAILED,    /* wrong passphrase, unknown name or locked */
  NODE_AUDIT_VIEW,            /* a case file was read (detail: role) */
  NODE_AUDIT_EXPORT,          /* a case file left the node as a document */
  NODE_AUDIT_GRANT,           /* detail: grantee org fingerprint */
  NODE_AUDIT_REVOKE,          /* detail: revoked grant op id */
  NODE_AUDIT_EXTRACT,         /* file: the source; detail: the extract's id */
  NODE_AUDIT_SHARE_DECISION,  /* a recorded decision (not) to share */
  NODE_AUDIT_TRANSFER_START,
  NODE_AUDIT_TRANSFER_ACK,
  NODE_AUDIT_TRANSFER_REJECT,
  NODE_AUDIT_TRANSFER_CLOSE,
  NODE_AUDIT_PACKAGE_EXPORT,  /* an offline package was written */
  NODE_AUDIT_PACKAGE_IMPORT,  /* an offline package was read in */
  NODE_AUDIT_USER_ADD,        /* user: who did it (may be ""); detail: new name, role */
  NODE_AUDIT_USER_PASSWD,     /* detail: whose passphrase */
  NODE_AUDIT_READ_AUDIT,      /* the audit log itself was read or verified */
  NODE_AUDIT_FILE_CREATE,     /* a case file was opened */
  NODE_AUDIT_INTAKE,          /* a staff concern found its file (detail: matched, new) */
  NODE_AUDIT_END
} node_audit_action;

/* "login", "view", "transfer_start", ...; NULL outside 1..END-1. */
const char *node_audit_action_name(node_audit_action a);
int node_audit_action_parse(const char *name, node_audit_action *out); /* BT_EINVAL */

#define NODE_AUDIT_DETAIL_MAX 128   /* bytes, printable ASCII */
#define NODE_AUDIT_HASH_LEN 32

typedef struct {
  uint64_t seq;
  uint64_t ms;                      /* Unix ms, the store's clock */
  node_audit_action action;
  char user[NODE_USER_MAX + 1];     /* NUL-terminated; "" when none */
  int has_file;
  uint8_t file[CRDT_FILE_LEN];      /* valid when has_file */
  char detail[NODE_AUDIT_DETAIL_MAX + 1]; /* NUL-terminated; "" when none */
  uint8_t prev[NODE_AUDIT_HASH_LEN]; /* hash of record seq-1 as stored */
  uint8_t sig[CRDT_SIG_LEN];
} node_audit_rec;

/* Appends a record in its own write transaction, signed with the device
 * key, at the store's clock. user: NULL or "" for none, else at most
 * NODE_USER_MAX bytes of [a-z0-9._-]; file: NULL or CRDT_FILE_LEN bytes;
 * detail: NULL or at most NODE_AUDIT_DETAIL_MAX bytes of printable ASCII
 * (0x20..0x7e). Errors: BT_EINVAL (bad user, detail or action), BT_EFULL,
 * BT_EREADONLY, BT_ESTORE. On error nothing is written, and the caller's
 * action must not go ahead (or must be undone). */
int node_audit_add(node_store *s, const char *user, node_audit_action a, const uint8_t *file,
                   const char *detail);

/* node_audit_add inside the caller's write transaction t (node/ only):
 * the record commits or aborts with the caller's change. It may be called
 * several times in one t (each record follows the last one t wrote). Do
 * not call node_audit_add while t is open: LMDB allows one write
 * transaction at a time, so it would wait for t forever. */
int node__audit_txn(node_store *s, struct MDB_txn *t, const char *user, node_audit_action a,
                    const uint8_t *file, const char *detail);

/* Which records node_audit_list returns: those with seq >= since (0: all)
 * and seq < before (0: no bound), of file (NULL: any), of action (0: any)
 * and by user (NULL: anyone; "" only those without a user), oldest first;
 * at most limit of them (0: no limit), the newest ones when limit cuts. */
typedef struct {
  uint64_t since;
  size_t limit;
  const uint8_t *file;
  node_audit_action action;
  uint64_t before;
  const char *user;
} node_audit_filter;

/* Decodes the matching records into a new array (*out, *n; *out NULL when
 * *n is 0); free with node_audit_list_free. f NULL: every record. Does not
 * check the chain or signatures (node_audit_verify does). Errors:
 * BT_ECORRUPT (a record does not decode: run node_audit_verify to find
 * it), BT_ENOMEM, BT_ESTORE. */
int node_audit_list(node_store *s, const node_audit_filter *f, node_audit_rec **out, size_t *n);
void node_audit_list_free(node_audit_rec *recs); /* NULL is a no-op */

/* What node_audit_verify found wrong first. */
typedef enum {
  NODE_AUDIT_INTACT = 0,
  NODE_AUDIT_UNREADABLE,   /* bad bytes: not a canonical record */
  NODE_AUDIT_MISSING,      /* seq is not the next number: a record deleted or moved */
  NODE_AUDIT_BROKEN_CHAIN, /* prev is not the hash of the record before */
  NODE_AUDIT_BAD_SIG,      /* not signed by this node's device key */
} node_audit_fault;

const char *node_audit_fault_text(node_audit_fault f); /* never NULL */

typedef struct {
  uint64_t records;        /* records checked (all of them when intact) */
  node_audit_fault fault;
  uint64_t bad_seq;        /* the first bad record's seq (for MISSING: the
                              number that was expected there); 0 if intact */
} node_audit_check;

/* Checks every record in order: decodes canonically, seq is the previous
 * plus one starting at 1, prev is the hash of the stored bytes before, and
 * the signature verifies under this node's device key. Fills *out and
 * returns BT_OK when intact; BT_ECORRUPT with *out naming the first bad
 * record otherwise; storage errors pass through (then *out is unset). */
int node_audit_verify(node_store *s, node_audit_check *out);

/* The reads staff make, checked and audited here so that no front end can
 * skip either: BT_EDENIED unless node_may(role, NODE_DO_READ_AUDIT); then a
 * NODE_AUDIT_READ_AUDIT record (detail "list" or "verify") is appended
 * before the read (so a verify checks its own record too), and if that
 * fails nothing is read. Otherwise as node_audit_list / node_audit_verify. */
int node_audit_list_as(node_store *s, const char *user, node_role role,
                       const node_audit_filter *f, node_audit_rec **out, size_t *n);
int node_audit_verify_as(node_store *s, const char *user, node_role role,
                         node_audit_check *out);

#endif
