/* crdt/dag.h: the causal DAG of one case file's ops.
 *
 * Ops arrive in any order, any number of times. An op is applied once every
 * parent is applied; until then it waits (pending), and the parent ids that
 * nobody has supplied yet are reported as missing so sync can ask for them.
 * Everything the DAG reports (heads, missing ids, the topological order,
 * equivocation flags, ancestry) depends only on the set of ops it holds,
 * never on the order they came in.
 *
 * The DAG checks structure only: signatures, decryption and the author's
 * right to write are the caller's business before crdt_dag_add.
 * Not thread-safe: one thread per DAG (queries use internal scratch). */
#ifndef BT_CRDT_DAG_H
#define BT_CRDT_DAG_H

#include <stddef.h>
#include <stdint.h>

#include "op.h"
#include "types.h"

typedef struct crdt_dag crdt_dag;

typedef enum {
  CRDT_DAG_APPLIED = 1, /* stored, all parents present (may release others) */
  CRDT_DAG_PENDING,     /* stored, waiting for parents */
  CRDT_DAG_DUPLICATE,   /* same id already held: nothing changed */
} crdt_dag_status;

/* hashkey keys the internal hash tables (SipHash) so that chosen op ids
 * cannot degrade them; pass random bytes (tests may pass a constant). */
int crdt_dag_new(crdt_dag **out, const uint8_t hashkey[16]);
void crdt_dag_free(crdt_dag *d); /* frees every op it holds; NULL is a no-op */

/* Takes ownership of op in every case (a duplicate is freed at once).
 * Errors: BT_ENOMEM, after which the DAG may be half-updated and must be
 * freed and rebuilt (the store, not the DAG, is the record). */
int crdt_dag_add(crdt_dag *d, crdt_op *op, crdt_dag_status *st);

size_t crdt_dag_applied(const crdt_dag *d);
size_t crdt_dag_pending(const crdt_dag *d);

/* Write the smallest min(max, total) ids in ascending order; return the
 * total. out may be NULL when max is 0. Never fails. */
size_t crdt_dag_heads(const crdt_dag *d, crdt_id *out, size_t max);
size_t crdt_dag_missing(const crdt_dag *d, crdt_id *out, size_t max);

/* The applied op with this id, or NULL. Borrowed: lives as long as d. */
const crdt_op *crdt_dag_get(const crdt_dag *d, const crdt_id *id);

/* 1 if a and b are applied and a is a strict ancestor of b, else 0. Never
 * allocates (its stack grows with the DAG), so never fails. */
int crdt_dag_precedes(crdt_dag *d, const crdt_id *a, const crdt_id *b);

/* 1 if the applied op shares its author and sequence number with another
 * applied op (an equivocation: both are kept, both flagged). */
int crdt_dag_equivocated(const crdt_dag *d, const crdt_id *id);

/* All applied ops in a deterministic topological order (parents first, ties
 * by ascending id). *out is malloc'd (caller frees); the ops are borrowed. */
int crdt_dag_topo(const crdt_dag *d, const crdt_op ***out, size_t *n);

#endif
