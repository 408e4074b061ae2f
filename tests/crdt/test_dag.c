/* tests/crdt/test_dag.c: the causal DAG. Ops are sealed for real (gen_seal)
 * so ids are true envelope hashes. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>

#include "crdt/dag.h"
#include "crdt/err.h"
#include "crdt/gen.h"

static const uint8_t FILE_A[CRDT_FILE_LEN] = {1, 2, 3};
static const uint8_t EPOCH[CRDT_EPOCH_LEN] = {9};
static const uint8_t KEY[CRDT_KEY_LEN] = {7, 7, 7};
static const uint8_t HK[16] = {0};

/* A chronology op by author a (seq s) with the given parents. */
static crdt_op *mk(gen_rng *r, gen_arena *ar, int a, uint64_t s, const crdt_id *ps, size_t n)
{
  gen_key k;
  crdt_body b;

  gen_keypair((uint64_t)a, &k);
  gen_body(r, ar, CRDT_OP_CHRONO, crdt_hlc_make(1700000000000ull + s * 1000, 0), &b, NULL, 0);
  return gen_seal(r, &k, FILE_A, EPOCH, KEY, s, ps, n, &b);
}

static crdt_op *dup(const crdt_op *op)
{
  crdt_op *c;

  cr_assert_eq(crdt_op_dup(op, &c), BT_OK);
  return c;
}

static crdt_dag_status add(crdt_dag *d, const crdt_op *op)
{
  crdt_dag_status st = 0;

  cr_assert_eq(crdt_dag_add(d, dup(op), &st), BT_OK);
  return st;
}

Test(crdt_dag, chain_delivered_children_first_is_released_by_its_root)
{
  gen_rng r;
  gen_arena *ar = gen_arena_new();
  crdt_op *ops[5];
  crdt_dag *d;
  crdt_id miss[4], heads[2];

  gen_seed(&r, 1);
  ops[0] = mk(&r, ar, 1, 1, NULL, 0);
  for (int i = 1; i < 5; i++)
    ops[i] = mk(&r, ar, 1, (uint64_t)i + 1, &ops[i - 1]->id, 1);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  for (int i = 4; i >= 1; i--) {
    cr_assert_eq(add(d, ops[i]), CRDT_DAG_PENDING);
    /* Only the deepest unseen ancestor is missing. */
    cr_assert_eq(crdt_dag_missing(d, miss, 4), 1);
    cr_assert_eq(crdt_id_cmp(&miss[0], &ops[i - 1]->id), 0);
  }
  cr_assert_eq(crdt_dag_applied(d), 0);
  cr_assert_eq(crdt_dag_heads(d, heads, 2), 0);
  cr_assert_eq(add(d, ops[0]), CRDT_DAG_APPLIED);
  cr_assert_eq(crdt_dag_applied(d), 5);
  cr_assert_eq(crdt_dag_pending(d), 0);
  cr_assert_eq(crdt_dag_missing(d, miss, 4), 0);
  cr_assert_eq(crdt_dag_heads(d, heads, 2), 1);
  cr_assert_eq(crdt_id_cmp(&heads[0], &ops[4]->id), 0);
  cr_assert(crdt_dag_precedes(d, &ops[0]->id, &ops[4]->id));
  cr_assert(!crdt_dag_precedes(d, &ops[4]->id, &ops[0]->id));
  cr_assert(!crdt_dag_precedes(d, &ops[2]->id, &ops[2]->id));
  crdt_dag_free(d);
  for (int i = 0; i < 5; i++)
    crdt_op_free(ops[i]);
  gen_arena_free(ar);
}

Test(crdt_dag, duplicates_change_nothing)
{
  gen_rng r;
  gen_arena *ar = gen_arena_new();
  crdt_op *a, *b;
  crdt_dag *d;

  gen_seed(&r, 2);
  a = mk(&r, ar, 1, 1, NULL, 0);
  b = mk(&r, ar, 1, 2, &a->id, 1);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  cr_assert_eq(add(d, b), CRDT_DAG_PENDING);
  cr_assert_eq(add(d, b), CRDT_DAG_DUPLICATE);
  cr_assert_eq(crdt_dag_pending(d), 1);
  cr_assert_eq(add(d, a), CRDT_DAG_APPLIED);
  cr_assert_eq(add(d, a), CRDT_DAG_DUPLICATE);
  cr_assert_eq(add(d, b), CRDT_DAG_DUPLICATE);
  cr_assert_eq(crdt_dag_applied(d), 2);
  crdt_dag_free(d);
  crdt_op_free(a);
  crdt_op_free(b);
  gen_arena_free(ar);
}

Test(crdt_dag, concurrent_ops_are_both_heads_until_merged)
{
  gen_rng r;
  gen_arena *ar = gen_arena_new();
  crdt_op *root, *x, *y, *m;
  crdt_id ps[2], heads[3];
  crdt_dag *d;

  gen_seed(&r, 3);
  root = mk(&r, ar, 1, 1, NULL, 0);
  x = mk(&r, ar, 1, 2, &root->id, 1);
  y = mk(&r, ar, 2, 1, &root->id, 1);
  ps[0] = x->id;
  ps[1] = y->id;
  m = mk(&r, ar, 3, 1, ps, 2);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  add(d, root);
  add(d, x);
  add(d, y);
  cr_assert_eq(crdt_dag_heads(d, heads, 3), 2);
  cr_assert(crdt_id_cmp(&heads[0], &heads[1]) < 0, "heads sorted");
  cr_assert(!crdt_dag_precedes(d, &x->id, &y->id));
  cr_assert(!crdt_dag_precedes(d, &y->id, &x->id));
  add(d, m);
  cr_assert_eq(crdt_dag_heads(d, heads, 3), 1);
  cr_assert_eq(crdt_id_cmp(&heads[0], &m->id), 0);
  cr_assert(crdt_dag_precedes(d, &x->id, &m->id));
  cr_assert(crdt_dag_precedes(d, &root->id, &m->id));
  crdt_dag_free(d);
  crdt_op_free(root);
  crdt_op_free(x);
  crdt_op_free(y);
  crdt_op_free(m);
  gen_arena_free(ar);
}

Test(crdt_dag, same_author_and_seq_is_an_equivocation_flagged_on_both)
{
  gen_rng r;
  gen_arena *ar = gen_arena_new();
  crdt_op *root, *x, *y, *z;
  crdt_dag *d;

  gen_seed(&r, 4);
  root = mk(&r, ar, 1, 1, NULL, 0);
  x = mk(&r, ar, 1, 2, &root->id, 1);
  y = mk(&r, ar, 1, 2, &root->id, 1); /* same author, same seq, other body */
  z = mk(&r, ar, 2, 1, &root->id, 1);
  cr_assert_neq(crdt_id_cmp(&x->id, &y->id), 0);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  add(d, y);
  add(d, x);
  add(d, z);
  add(d, root);
  cr_assert_eq(crdt_dag_applied(d), 4, "both equivocating ops are kept");
  cr_assert(crdt_dag_equivocated(d, &x->id));
  cr_assert(crdt_dag_equivocated(d, &y->id));
  cr_assert(!crdt_dag_equivocated(d, &z->id));
  cr_assert(!crdt_dag_equivocated(d, &root->id));
  crdt_dag_free(d);
  crdt_op_free(root);
  crdt_op_free(x);
  crdt_op_free(y);
  crdt_op_free(z);
  gen_arena_free(ar);
}

/* Property: a random DAG (random parents among earlier ops) delivered in
 * random orders with duplicates gives the same heads, the same topological
 * order, and every op after its parents in that order. */
Test(crdt_dag, any_arrival_order_gives_same_heads_and_topo_order)
{
  for (uint64_t seed = 1; seed <= 200; seed++) {
    gen_rng r;
    gen_arena *ar = gen_arena_new();
    size_t n = 5 + gen_below(&(gen_rng){seed}, 40);
    crdt_op **ops = calloc(n, sizeof(*ops));
    crdt_id ref_heads[64], heads[64];
    const crdt_op **ref_topo = NULL;
    size_t ref_nh = 0, ref_nt = 0;

    gen_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
      crdt_id ps[4];
      size_t np = i == 0 ? 0 : 1 + gen_below(&r, i < 4 ? i : 4);
      for (size_t k = 0; k < np; k++)
        ps[k] = ops[gen_below(&r, i)]->id;
      ops[i] = mk(&r, ar, (int)gen_below(&r, 3), i + 1, ps, np);
    }
    for (int round = 0; round < 4; round++) {
      size_t m = n + gen_below(&r, n);
      crdt_op **order = malloc(m * sizeof(*order));
      const crdt_op **topo;
      size_t nt, nh;
      crdt_dag *d;

      for (size_t i = 0; i < m; i++)
        order[i] = i < n ? ops[i] : ops[gen_below(&r, n)];
      gen_shuffle(&r, (void **)order, m);
      cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
      for (size_t i = 0; i < m; i++)
        add(d, order[i]);
      cr_assert_eq(crdt_dag_applied(d), n, "seed %" PRIu64, seed);
      nh = crdt_dag_heads(d, heads, 64);
      cr_assert_eq(crdt_dag_topo(d, &topo, &nt), BT_OK);
      cr_assert_eq(nt, n, "seed %" PRIu64, seed);
      for (size_t i = 0; i < nt; i++)
        for (size_t k = 0; k < topo[i]->h.nparents; k++) {
          size_t j = 0;
          while (j < i && crdt_id_cmp(&topo[j]->id, &topo[i]->h.parents[k]) != 0)
            j++;
          cr_assert_lt(j, i, "parent after child, seed %" PRIu64, seed);
        }
      if (round == 0) {
        ref_nh = nh;
        memcpy(ref_heads, heads, sizeof(heads));
        ref_topo = malloc(nt * sizeof(*ref_topo));
        for (size_t i = 0; i < nt; i++) /* compare by id: ops are copies */
          ref_topo[i] = topo[i];
        ref_nt = nt;
        /* keep this DAG's ops alive: compare ids below before freeing */
        crdt_id *ids = malloc(nt * sizeof(*ids));
        for (size_t i = 0; i < nt; i++)
          ids[i] = topo[i]->id;
        free(ref_topo);
        ref_topo = (const crdt_op **)ids;
      } else {
        const crdt_id *ids = (const crdt_id *)ref_topo;
        cr_assert_eq(nh, ref_nh, "seed %" PRIu64, seed);
        cr_assert_eq(memcmp(heads, ref_heads, nh * sizeof(crdt_id)), 0, "seed %" PRIu64, seed);
        cr_assert_eq(nt, ref_nt);
        for (size_t i = 0; i < nt; i++)
          cr_assert_eq(crdt_id_cmp(&ids[i], &topo[i]->id), 0, "seed %" PRIu64, seed);
      }
      free(topo);
      free(order);
      crdt_dag_free(d);
    }
    free(ref_topo);
    for (size_t i = 0; i < n; i++)
      crdt_op_free(ops[i]);
    free(ops);
    gen_arena_free(ar);
  }
}

/* Adversarial ids: an op naming many parents nobody has stays pending, and
 * all of them are reported missing. */
Test(crdt_dag, unknown_parents_are_all_reported_missing)
{
  gen_rng r;
  gen_arena *ar = gen_arena_new();
  crdt_id ps[CRDT_PARENTS_MAX], miss[CRDT_PARENTS_MAX];
  crdt_op *x;
  crdt_dag *d;

  gen_seed(&r, 5);
  for (int i = 0; i < CRDT_PARENTS_MAX; i++)
    gen_bytes(&r, ps[i].b, CRDT_ID_LEN);
  x = mk(&r, ar, 1, 1, ps, CRDT_PARENTS_MAX);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  cr_assert_eq(add(d, x), CRDT_DAG_PENDING);
  cr_assert_eq(crdt_dag_missing(d, miss, CRDT_PARENTS_MAX), CRDT_PARENTS_MAX);
  for (int i = 1; i < CRDT_PARENTS_MAX; i++)
    cr_assert(crdt_id_cmp(&miss[i - 1], &miss[i]) < 0);
  cr_assert_null(crdt_dag_get(d, &x->id), "pending ops are not visible");
  crdt_dag_free(d);
  crdt_op_free(x);
  gen_arena_free(ar);
}
