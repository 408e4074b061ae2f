/* crdt/casefile.h: a case file materialised from its ops (DESIGN.md, "CRDT
 * semantics of a case file").
 *
 * - Entries (chronology, concerns, reviews, body maps, reflections, actions,
 *   corrections) form an append-only set, shown in (event time, HLC, id)
 *   order. Nothing is edited in place: a correction is its own entry and the
 *   entry it corrects stays, listing the corrections that point at it.
 * - Each front-sheet field is a multi-value register: its values are the
 *   writes that no other write to the field has in its causal past. More
 *   than one distinct value is a conflict, shown with every value until a
 *   write that has seen them all replaces them. Never last-writer-wins.
 * - Tags are an observed-remove set: a remove deletes the adds in its causal
 *   past, so an add concurrent with a remove survives (add wins).
 * - A reference (review -> concern, done -> action, correction -> entry) is
 *   honoured only if its target is of the right type and in the referring
 *   op's causal past; otherwise the referring entry is flagged CRDT_CF_BADREF.
 *   Like everything here, that depends only on the op and its past.
 * - Ops of unknown types, or whose body cannot be read, are kept in the DAG,
 *   listed in `unknown`, and otherwise ignored.
 *
 * The same set of ops gives the same casefile on every node; crdt_casefile_
 * digest hashes its canonical encoding so tests can compare replicas. */
#ifndef BT_CRDT_CASEFILE_H
#define BT_CRDT_CASEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "body.h"
#include "dag.h"
#include "op.h"
#include "types.h"

enum {
  CRDT_CF_EQUIVOCATED = 1, /* author reused a sequence number */
  CRDT_CF_BADREF = 2,      /* its reference is not honoured */
  CRDT_CF_DONE = 4,        /* an action with a done marker */
  CRDT_CF_CORRECTED = 8,   /* an entry some correction points at */
  CRDT_CF_UNSEEN_REVOKED = 16, /* by an org whose grant a revoke ended, and
                                  concurrent with that revoke: the revoker had
                                  not seen it (it may be back-dated) */
  CRDT_CF_FLAGS_END = 32
};

/* The name front ends show for one flag bit ("equivocated", "bad_reference",
 * "done", "corrected", "unseen_by_revoker"), NULL for any other value. */
const char *crdt_cf_flag_name(uint32_t bit);

typedef struct {
  const crdt_op *op;       /* borrowed from the DAG */
  const crdt_body *body;   /* owned by the casefile */
  uint64_t event_at;
  uint32_t flags;
  crdt_id *links;          /* corrections of it; reviews of a concern; done markers */
  size_t nlinks;
} crdt_cf_entry;

typedef struct {
  bt_str value;            /* borrowed from the writing op's body */
  crdt_id id;              /* the write */
} crdt_cf_value;

typedef struct {
  crdt_cf_value *v;        /* ascending by id */
  size_t n;
  int conflict;            /* more than one distinct value */
} crdt_cf_register;

typedef struct {
  crdt_id id;
  uint32_t reason;         /* crdt_acc_reason */
} crdt_cf_hidden;

typedef struct crdt_casefile {
  crdt_cf_register fields[CRDT_FS_END]; /* indexed by crdt_fsfield */
  crdt_cf_entry *entries;               /* display order */
  size_t nentries;
  bt_str *tags;                         /* ascending bytewise */
  size_t ntags;
  crdt_id *heads, *unknown, *equivocated; /* ascending */
  size_t nheads, nunknown, nequivocated;
  size_t nunreadable;                   /* of unknown: bodies that did not open
                                           here (no key), not newer types */
  size_t nops;                          /* applied ops materialised */
  size_t nconflicts;                    /* registers in conflict */
  /* Access builds only (crdt_casefile_build_access), else NULL / 0. */
  crdt_cf_hidden *hidden;               /* ops that break an access rule, ascending */
  size_t nhidden;
  crdt_access *access;                  /* the access state at the heads */
  /* private */
  crdt_body **bodies;
  size_t nbodies;
} crdt_casefile;

/* Opens one op's body: BT_OK and *out (freed by the casefile); BT_ENOMEM,
 * which fails the build; or any other error, and the op is listed as
 * unknown. */
typedef int (*crdt_cf_opener)(void *ctx, const crdt_op *op, crdt_body **out);

/* Materialises the applied ops of d. The casefile borrows ops from d: free
 * it before d. Pending ops are not included. BT_ENOMEM. */
int crdt_casefile_build(crdt_dag *d, crdt_cf_opener open, void *ctx, crdt_casefile **out);
void crdt_casefile_free(crdt_casefile *cf); /* NULL is a no-op */

/* crdt_casefile_build with the access rules of access.h: ops are opened
 * with the keys key() gives for file (public envelopes as well), judged,
 * and only those that pass are materialised; the rest are listed in hidden
 * (unreadable ones in unknown, as before). cf->access is the state at the
 * heads. BT_ENOMEM. */
int crdt_casefile_build_access(crdt_dag *d, const uint8_t file[CRDT_FILE_LEN],
                               crdt_key_lookup key, void *ctx, crdt_casefile **out);

/* An opener for files with one epoch key: ctx points at CRDT_KEY_LEN bytes. */
int crdt_cf_open_key(void *ctx, const crdt_op *op, crdt_body **out);

/* BLAKE2b-256 of the canonical encoding of cf. BT_ENOMEM. */
int crdt_casefile_digest(const crdt_casefile *cf, uint8_t out[32]);

/* The entry made by op id, or NULL. */
const crdt_cf_entry *crdt_casefile_entry(const crdt_casefile *cf, const crdt_id *id);

#endif
