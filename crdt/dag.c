/* crdt/dag.c: nodes in one array, found through keyed hash tables.
 *
 * A node is a ghost (an id some op names as parent, not yet seen), pending
 * (seen, some parent not applied) or applied. Each node keeps its children,
 * so applying an op walks straight to the ops it releases; a pending op
 * counts its unapplied parents. The missing ids are exactly the ghosts.
 *
 * Ancestry queries walk parents from the later op, visiting only nodes
 * deeper than the earlier one (an ancestor is always strictly shallower),
 * with a generation counter instead of clearing marks. */
#include "dag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sodium.h>

#include "err.h"

enum { GHOST, PENDING, APPLIED };
#define NIL UINT32_MAX

typedef struct {
  crdt_id id;
  crdt_op *op;     /* NULL for a ghost */
  uint32_t *kids;
  uint32_t nkids, capkids;
  uint32_t missing; /* pending: parents not applied */
  uint32_t depth;   /* applied: 1 + deepest parent */
  uint32_t mark;
  uint8_t state;
  uint8_t head;
  uint8_t equiv;
} dnode;

typedef struct {
  uint32_t *slot; /* node index or NIL */
  size_t cap;     /* power of two */
  size_t n;
} table;

struct crdt_dag {
  dnode *nodes;
  size_t n, cap;
  table by_id;     /* every node */
  table by_seq;    /* applied nodes, by (author, seq) */
  uint8_t key[crypto_shorthash_KEYBYTES];
  size_t napplied, npending, nheads, nghosts;
  uint32_t gen;
  uint32_t *scratch; /* crdt_dag_precedes' stack: cap entries */
};

/* ---- hashing ---------------------------------------------------------- */

static uint64_t hash_bytes(const crdt_dag *d, const void *p, size_t len)
{
  uint8_t h[crypto_shorthash_BYTES];
  uint64_t v;

  crypto_shorthash(h, p, len, d->key);
  memcpy(&v, h, sizeof(v));
  return v;
}

static uint64_t hash_seq(const crdt_dag *d, const crdt_op *op)
{
  uint8_t k[CRDT_PK_LEN + 8];

  memcpy(k, op->h.author, CRDT_PK_LEN);
  for (int i = 0; i < 8; i++)
    k[CRDT_PK_LEN + i] = (uint8_t)(op->h.seq >> (8 * i));
  return hash_bytes(d, k, sizeof(k));
}

static bool same_seq(const crdt_op *a, const crdt_op *b)
{
  return a->h.seq == b->h.seq && memcmp(a->h.author, b->h.author, CRDT_PK_LEN) == 0;
}

/* Finds the slot for a key: either holding a node eq() accepts, or empty. */
#define PROBE(t, h, eq)                                   \
  size_t mask = (t)->cap - 1, i = (size_t)(h) & mask;     \
  while ((t)->slot[i] != NIL && !(eq))                    \
    i = (i + 1) & mask;

static int table_grow(crdt_dag *d, table *t, bool by_id)
{
  size_t ncap = t->cap ? t->cap * 2 : 64;
  uint32_t *ns = malloc(ncap * sizeof(*ns)), *old = t->slot;
  size_t ocap = t->cap;

  if (ns == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < ncap; i++)
    ns[i] = NIL;
  t->slot = ns;
  t->cap = ncap;
  for (size_t j = 0; j < ocap; j++) {
    uint32_t v = old[j];
    if (v == NIL)
      continue;
    uint64_t h = by_id ? hash_bytes(d, d->nodes[v].id.b, CRDT_ID_LEN)
                       : hash_seq(d, d->nodes[v].op);
    PROBE(t, h, false);
    t->slot[i] = v;
  }
  free(old);
  return BT_OK;
}

static uint32_t find_id(const crdt_dag *d, const crdt_id *id)
{
  const table *t = &d->by_id;

  if (t->cap == 0)
    return NIL;
  PROBE(t, hash_bytes(d, id->b, CRDT_ID_LEN),
        crdt_id_cmp(&d->nodes[t->slot[i]].id, id) == 0);
  return t->slot[i];
}

/* ---- nodes ------------------------------------------------------------ */

static int node_new(crdt_dag *d, const crdt_id *id, uint32_t *out)
{
  table *t = &d->by_id;
  int rc;

  if ((t->n + 1) * 2 > t->cap && (rc = table_grow(d, t, true)) != 0)
    return rc;
  if (d->n == d->cap) {
    size_t ncap = d->cap ? d->cap * 2 : 64;
    dnode *nn;
    uint32_t *ns;

    if (ncap >= NIL)
      return BT_ENOMEM;
    /* The ancestry walk's stack grows with the nodes, so that queries
     * never allocate (and so never fail). */
    if ((ns = realloc(d->scratch, ncap * sizeof(*ns))) == NULL)
      return BT_ENOMEM;
    d->scratch = ns;
    if ((nn = realloc(d->nodes, ncap * sizeof(*nn))) == NULL)
      return BT_ENOMEM;
    d->nodes = nn;
    d->cap = ncap;
  }
  memset(&d->nodes[d->n], 0, sizeof(dnode));
  d->nodes[d->n].id = *id;
  d->nodes[d->n].state = GHOST;
  PROBE(t, hash_bytes(d, id->b, CRDT_ID_LEN), false);
  t->slot[i] = (uint32_t)d->n;
  t->n++;
  d->nghosts++;
  *out = (uint32_t)d->n++;
  return BT_OK;
}

static int add_kid(dnode *p, uint32_t kid)
{
  if (p->nkids == p->capkids) {
    uint32_t ncap = p->capkids ? p->capkids * 2 : 2;
    uint32_t *nk = realloc(p->kids, ncap * sizeof(*nk));
    if (nk == NULL)
      return BT_ENOMEM;
    p->kids = nk;
    p->capkids = ncap;
  }
  p->kids[p->nkids++] = kid;
  return BT_OK;
}

static int flag_equivocation(crdt_dag *d, uint32_t v)
{
  table *t = &d->by_seq;
  const crdt_op *op = d->nodes[v].op;
  int rc;

  if ((t->n + 1) * 2 > t->cap && (rc = table_grow(d, t, false)) != 0)
    return rc;
  PROBE(t, hash_seq(d, op), same_seq(d->nodes[t->slot[i]].op, op));
  if (t->slot[i] == NIL) {
    t->slot[i] = v;
    t->n++;
  } else {
    d->nodes[t->slot[i]].equiv = 1;
    d->nodes[v].equiv = 1;
  }
  return BT_OK;
}

/* Applies v and, transitively, every pending op it releases. The stack
 * holds released ops still to apply. */
static int apply(crdt_dag *d, uint32_t v)
{
  uint32_t *stack, top = 0, cap = 16;
  int rc = BT_OK;

  if ((stack = malloc(cap * sizeof(*stack))) == NULL)
    return BT_ENOMEM;
  stack[top++] = v;
  while (top > 0 && rc == BT_OK) {
    dnode *x = &d->nodes[stack[--top]];
    uint32_t depth = 0;

    for (size_t k = 0; k < x->op->h.nparents; k++) {
      dnode *p = &d->nodes[find_id(d, &x->op->h.parents[k])];
      if (p->depth > depth)
        depth = p->depth;
      if (p->head) {
        p->head = 0;
        d->nheads--;
      }
    }
    x->state = APPLIED;
    x->depth = depth + 1;
    x->head = 1;
    d->nheads++;
    d->napplied++;
    d->npending--;
    rc = flag_equivocation(d, (uint32_t)(x - d->nodes));
    for (uint32_t k = 0; k < x->nkids && rc == BT_OK; k++) {
      if (--d->nodes[x->kids[k]].missing > 0)
        continue;
      if (top == cap) {
        uint32_t *ns = realloc(stack, 2 * cap * sizeof(*ns));
        if (ns == NULL) {
          rc = BT_ENOMEM;
          break;
        }
        stack = ns;
        cap *= 2;
      }
      stack[top++] = x->kids[k];
    }
  }
  free(stack);
  return rc;
}

int crdt_dag_new(crdt_dag **out, const uint8_t hashkey[16])
{
  crdt_dag *d = calloc(1, sizeof(*d));

  if (d == NULL)
    return BT_ENOMEM;
  memcpy(d->key, hashkey, sizeof(d->key));
  *out = d;
  return BT_OK;
}

void crdt_dag_free(crdt_dag *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n; i++) {
    crdt_op_free(d->nodes[i].op);
    free(d->nodes[i].kids);
  }
  free(d->nodes);
  free(d->by_id.slot);
  free(d->by_seq.slot);
  free(d->scratch);
  free(d);
}

/* Links v under each parent, creating ghosts for unknown ones, and counts
 * the parents not yet applied. */
static int link_parents(crdt_dag *d, uint32_t v)
{
  const crdt_op *op = d->nodes[v].op;
  int rc;

  for (size_t k = 0; k < op->h.nparents; k++) {
    uint32_t p = find_id(d, &op->h.parents[k]);
    if (p == NIL && (rc = node_new(d, &op->h.parents[k], &p)) != 0)
      return rc;
    /* Every edge is kept for the topological order; apply() only ever
     * walks a node's kids once, when it is applied, and by then the kids
     * listed are exactly those still waiting for it. */
    if ((rc = add_kid(&d->nodes[p], v)) != 0)
      return rc;
    if (d->nodes[p].state != APPLIED)
      d->nodes[v].missing++;
  }
  return BT_OK;
}

int crdt_dag_add(crdt_dag *d, crdt_op *op, crdt_dag_status *st)
{
  uint32_t v = find_id(d, &op->id);
  int rc;

  if (v != NIL && d->nodes[v].state != GHOST) {
    crdt_op_free(op);
    *st = CRDT_DAG_DUPLICATE;
    return BT_OK;
  }
  if (v == NIL && (rc = node_new(d, &op->id, &v)) != 0) {
    crdt_op_free(op);
    return rc;
  }
  d->nodes[v].op = op;
  d->nodes[v].state = PENDING;
  d->nghosts--;
  d->npending++;
  if ((rc = link_parents(d, v)) != 0)
    return rc;
  if (d->nodes[v].missing > 0) {
    *st = CRDT_DAG_PENDING;
    return BT_OK;
  }
  if ((rc = apply(d, v)) != 0)
    return rc;
  *st = CRDT_DAG_APPLIED;
  return BT_OK;
}

size_t crdt_dag_applied(const crdt_dag *d)
{
  return d->napplied;
}

size_t crdt_dag_pending(const crdt_dag *d)
{
  return d->npending;
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

/* Writes the smallest min(max, total) ids of nodes matching want() to out,
 * ascending: all of them sorted in place, or the smallest few by insertion.
 * No allocation, so no way to fail. */
static size_t collect(const crdt_dag *d, crdt_id *out, size_t max, size_t total,
                      bool (*want)(const dnode *))
{
  size_t k = 0;

  if (max >= total) {
    for (size_t i = 0; i < d->n && k < total; i++)
      if (want(&d->nodes[i]))
        out[k++] = d->nodes[i].id;
    if (k > 1)
      qsort(out, k, sizeof(*out), cmp_id);
    return total;
  }
  for (size_t i = 0; i < d->n && max > 0; i++) {
    const crdt_id *id = &d->nodes[i].id;
    size_t j;

    if (!want(&d->nodes[i]))
      continue;
    if (k == max && crdt_id_cmp(id, &out[k - 1]) >= 0)
      continue;
    j = k < max ? k++ : k - 1;
    while (j > 0 && crdt_id_cmp(&out[j - 1], id) > 0) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = *id;
  }
  return total;
}

static bool is_head(const dnode *x)
{
  return x->head;
}

static bool is_ghost(const dnode *x)
{
  return x->state == GHOST;
}

size_t crdt_dag_heads(const crdt_dag *d, crdt_id *out, size_t max)
{
  return collect(d, out, max, d->nheads, is_head);
}

size_t crdt_dag_missing(const crdt_dag *d, crdt_id *out, size_t max)
{
  return collect(d, out, max, d->nghosts, is_ghost);
}

const crdt_op *crdt_dag_get(const crdt_dag *d, const crdt_id *id)
{
  uint32_t v = find_id(d, id);

  return v != NIL && d->nodes[v].state == APPLIED ? d->nodes[v].op : NULL;
}

int crdt_dag_equivocated(const crdt_dag *d, const crdt_id *id)
{
  uint32_t v = find_id(d, id);

  return v != NIL && d->nodes[v].state == APPLIED && d->nodes[v].equiv;
}

int crdt_dag_precedes(crdt_dag *d, const crdt_id *a, const crdt_id *b)
{
  uint32_t va = find_id(d, a), vb = find_id(d, b), *stack, top = 0;
  int found = 0;

  if (va == NIL || vb == NIL || d->nodes[va].state != APPLIED ||
      d->nodes[vb].state != APPLIED || d->nodes[vb].depth <= d->nodes[va].depth)
    return 0;
  /* Each node is pushed at most once per query (marked when pushed), so
   * the scratch stack of d->cap entries is enough. */
  stack = d->scratch;
  if (++d->gen == 0) {
    for (size_t i = 0; i < d->n; i++)
      d->nodes[i].mark = 0;
    d->gen = 1;
  }
  stack[top++] = vb;
  d->nodes[vb].mark = d->gen;
  while (top > 0 && !found) {
    const crdt_op *op = d->nodes[stack[--top]].op;
    for (size_t k = 0; k < op->h.nparents; k++) {
      uint32_t p = find_id(d, &op->h.parents[k]);
      if (p == va) {
        found = 1;
        break;
      }
      if (d->nodes[p].mark != d->gen && d->nodes[p].depth > d->nodes[va].depth) {
        d->nodes[p].mark = d->gen;
        stack[top++] = p;
      }
    }
  }
  return found;
}

/* ---- deterministic topological order: Kahn's algorithm, min-id first -- */

typedef struct {
  const crdt_dag *d;
  uint32_t *h;
  size_t n;
} heap;

static bool less(const heap *q, size_t i, size_t j)
{
  return crdt_id_cmp(&q->d->nodes[q->h[i]].id, &q->d->nodes[q->h[j]].id) < 0;
}

static void swap(heap *q, size_t i, size_t j)
{
  uint32_t t = q->h[i];
  q->h[i] = q->h[j];
  q->h[j] = t;
}

static void heap_push(heap *q, uint32_t v)
{
  size_t i = q->n++;

  q->h[i] = v;
  while (i > 0 && less(q, i, (i - 1) / 2)) {
    swap(q, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static uint32_t heap_pop(heap *q)
{
  uint32_t top = q->h[0];
  size_t i = 0;

  q->h[0] = q->h[--q->n];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < q->n && less(q, l, m))
      m = l;
    if (r < q->n && less(q, r, m))
      m = r;
    if (m == i)
      break;
    swap(q, i, m);
    i = m;
  }
  return top;
}

int crdt_dag_topo(const crdt_dag *d, const crdt_op ***out, size_t *n)
{
  uint32_t *indeg = calloc(d->n ? d->n : 1, sizeof(*indeg));
  heap q = {d, malloc((d->n ? d->n : 1) * sizeof(uint32_t)), 0};
  const crdt_op **ord = malloc((d->napplied ? d->napplied : 1) * sizeof(*ord));
  size_t k = 0;

  if (indeg == NULL || q.h == NULL || ord == NULL) {
    free(indeg);
    free(q.h);
    free(ord);
    return BT_ENOMEM;
  }
  for (size_t i = 0; i < d->n; i++)
    if (d->nodes[i].state == APPLIED) {
      indeg[i] = (uint32_t)d->nodes[i].op->h.nparents;
      if (indeg[i] == 0)
        heap_push(&q, (uint32_t)i);
    }
  while (q.n > 0) {
    const dnode *x = &d->nodes[heap_pop(&q)];
    ord[k++] = x->op;
    for (uint32_t j = 0; j < x->nkids; j++)
      if (d->nodes[x->kids[j]].state == APPLIED && --indeg[x->kids[j]] == 0)
        heap_push(&q, x->kids[j]);
  }
  free(indeg);
  free(q.h);
  *out = ord;
  *n = k;
  return BT_OK;
}
