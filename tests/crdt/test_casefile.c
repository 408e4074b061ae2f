/* tests/crdt/test_casefile.c: CRDT semantics of a case file.
 *
 * A small world of replicas (one device each) authors real sealed ops with
 * parents = its current heads and syncs by copying ops it lacks. The
 * convergence property then feeds the same op set to fresh DAGs in random
 * orders with duplicates and demands byte-identical digests and heads. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>

#include "crdt/casefile.h"
#include "crdt/err.h"
#include "crdt/gen.h"

#define MAXOPS 256
#define NREP 3

static const uint8_t FILE_A[CRDT_FILE_LEN] = {0xCA, 0x5E};
static const uint8_t EPOCH[CRDT_EPOCH_LEN] = {1};
static uint8_t KEY[CRDT_KEY_LEN] = {0x42, 0x42};
static const uint8_t HK[16] = {3};

typedef struct {
  gen_key key;
  uint64_t seq;
  crdt_hlc clock;
  uint64_t wall;
  crdt_dag *dag;
  uint8_t known[MAXOPS];
} replica;

typedef struct {
  gen_rng r;
  gen_arena *ar;
  replica rep[NREP];
  crdt_op *ops[MAXOPS];
  uint32_t type[MAXOPS];
  crdt_hlc_ts hlc[MAXOPS];
  size_t n;
} world;

static void world_init(world *w, uint64_t seed)
{
  memset(w, 0, sizeof(*w));
  gen_seed(&w->r, seed);
  w->ar = gen_arena_new();
  for (int i = 0; i < NREP; i++) {
    gen_keypair(100 + (uint64_t)i, &w->rep[i].key);
    crdt_hlc_init(&w->rep[i].clock, 60000);
    /* Clocks up to ten minutes apart: skew must not matter. */
    w->rep[i].wall = 1760000000000ull + gen_below(&w->r, 600000);
    cr_assert_eq(crdt_dag_new(&w->rep[i].dag, HK), BT_OK);
  }
}

static void world_free(world *w)
{
  for (int i = 0; i < NREP; i++)
    crdt_dag_free(w->rep[i].dag);
  for (size_t i = 0; i < w->n; i++)
    crdt_op_free(w->ops[i]);
  gen_arena_free(w->ar);
}

static void learn(world *w, int a, size_t i)
{
  replica *p = &w->rep[a];
  crdt_dag_status st;
  crdt_op *c;
  int skew;

  if (p->known[i])
    return;
  p->known[i] = 1;
  cr_assert_eq(crdt_op_dup(w->ops[i], &c), BT_OK);
  cr_assert_eq(crdt_dag_add(p->dag, c, &st), BT_OK);
  crdt_hlc_recv(&p->clock, w->hlc[i], p->wall, &skew);
}

/* a receives everything b has (b's ops in b's own arrival order). */
static void sync_from(world *w, int a, int b)
{
  for (size_t i = 0; i < w->n; i++)
    if (w->rep[b].known[i])
      learn(w, a, i);
}

static void sync_all(world *w)
{
  for (int a = 0; a < NREP; a++)
    for (int b = 0; b < NREP; b++)
      sync_from(w, a, b);
}

/* Ids of the ops a knows whose type is want (0: any entry type). */
static size_t refs_of(const world *w, int a, uint32_t want, crdt_id *out)
{
  size_t k = 0;

  for (size_t i = 0; i < w->n; i++) {
    uint32_t t = w->type[i];
    int entry = t >= CRDT_OP_CHRONO && t <= CRDT_OP_CORRECTION;
    if (w->rep[a].known[i] && (want ? t == want : entry))
      out[k++] = w->ops[i]->id;
  }
  return k;
}

/* Author a seals body b with parents = its heads; reuse_seq != 0 makes an
 * equivocation by reusing that sequence number. Returns the op index. */
static size_t author_body(world *w, int a, crdt_body *b, uint64_t reuse_seq)
{
  replica *p = &w->rep[a];
  crdt_id heads[CRDT_PARENTS_MAX];
  size_t nh = crdt_dag_heads(p->dag, heads, CRDT_PARENTS_MAX);
  size_t i = w->n++;

  cr_assert_lt(i, MAXOPS);
  if (nh > CRDT_PARENTS_MAX)
    nh = CRDT_PARENTS_MAX;
  w->ops[i] = gen_seal(&w->r, &p->key, FILE_A, EPOCH, KEY,
                       reuse_seq ? reuse_seq : ++p->seq, heads, nh, b);
  w->type[i] = b->type;
  w->hlc[i] = b->hlc;
  learn(w, a, i);
  return i;
}

static crdt_hlc_ts tick(world *w, int a)
{
  replica *p = &w->rep[a];

  /* Wall clocks wander, sometimes backwards. */
  p->wall = p->wall + gen_below(&w->r, 90000) - 20000;
  return crdt_hlc_now(&p->clock, p->wall);
}

static size_t author(world *w, int a, uint32_t type)
{
  crdt_id refs[MAXOPS];
  size_t nrefs = 0;
  crdt_body b;

  if (type == CRDT_OP_REVIEW)
    nrefs = refs_of(w, a, CRDT_OP_CONCERN, refs);
  else if (type == CRDT_OP_ACTION_DONE)
    nrefs = refs_of(w, a, CRDT_OP_ACTION, refs);
  else
    nrefs = refs_of(w, a, 0, refs);
  gen_body(&w->r, w->ar, type, tick(w, a), &b, refs, nrefs);
  return author_body(w, a, &b, 0);
}

static void author_field(world *w, int a, uint32_t field, const char *value)
{
  crdt_fieldval *fv = gen_alloc(w->ar, sizeof(*fv));
  crdt_body b = {.hlc = tick(w, a), .type = CRDT_OP_FIELD_SET, .user = BT_STR("dsl"),
                 .known = 1};

  *fv = (crdt_fieldval){field, bt_strz(value)};
  b.u.fields = (crdt_fields){fv, 1};
  author_body(w, a, &b, 0);
}

static void author_tag(world *w, int a, uint32_t type, const char *tag)
{
  crdt_body b = {.hlc = tick(w, a), .type = type, .user = BT_STR("dsl"), .known = 1};

  b.u.tag.tag = bt_strz(tag);
  author_body(w, a, &b, 0);
}

static crdt_casefile *materialise(crdt_dag *d)
{
  crdt_casefile *cf;

  cr_assert_eq(crdt_casefile_build(d, crdt_cf_open_key, KEY, &cf), BT_OK);
  return cf;
}

static void digest_of(crdt_dag *d, uint8_t out[32])
{
  crdt_casefile *cf = materialise(d);

  cr_assert_eq(crdt_casefile_digest(cf, out), BT_OK);
  crdt_casefile_free(cf);
}

/* Feeds ops[0..n) except `skip` (or none if skip >= n) to a fresh DAG in a
 * random order with random duplicates. */
static crdt_dag *replay(world *w, gen_rng *r, size_t skip)
{
  size_t m = w->n + gen_below(r, w->n + 1), k = 0;
  crdt_op **order = malloc(m * sizeof(*order));
  crdt_dag *d;

  for (size_t i = 0; i < m; i++) {
    size_t j = i < w->n ? i : gen_below(r, w->n);
    if (j != skip)
      order[k++] = w->ops[j];
  }
  gen_shuffle(r, (void **)order, k);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  for (size_t i = 0; i < k; i++) {
    crdt_dag_status st;
    crdt_op *c;
    cr_assert_eq(crdt_op_dup(order[i], &c), BT_OK);
    cr_assert_eq(crdt_dag_add(d, c, &st), BT_OK);
  }
  free(order);
  return d;
}

static void file_create(world *w)
{
  author(w, 0, CRDT_OP_FILE_CREATE);
  sync_all(w);
}

/* ---- the convergence property ------------------------------------------ */

static const uint32_t mix[] = {
  CRDT_OP_FIELD_SET, CRDT_OP_FIELD_SET, CRDT_OP_FIELD_SET, CRDT_OP_CHRONO,
  CRDT_OP_CONCERN, CRDT_OP_CONCERN, CRDT_OP_REVIEW, CRDT_OP_BODYMAP,
  CRDT_OP_REFLECT, CRDT_OP_ACTION, CRDT_OP_ACTION_DONE, CRDT_OP_CORRECTION,
  CRDT_OP_TAG_ADD, CRDT_OP_TAG_ADD, CRDT_OP_TAG_DEL, CRDT_OP_TAG_DEL,
};

typedef struct {
  size_t conflicts, tags, badrefs, corrected, done, equivocated, unknown, pending_seen;
} stats;

static void random_history(world *w, uint64_t seed)
{
  size_t steps = 20 + gen_below(&w->r, 40);

  file_create(w);
  for (size_t s = 0; s < steps && w->n < MAXOPS - 4; s++) {
    int a = (int)gen_below(&w->r, NREP);
    uint64_t roll = gen_below(&w->r, 100);
    if (roll < 20) {
      sync_from(w, a, (int)gen_below(&w->r, NREP)); /* partial: one peer */
    } else if (roll < 22) {
      /* Equivocation: the same author and sequence number, two bodies. */
      crdt_body b;
      uint64_t seq = w->rep[a].seq + 1;
      gen_body(&w->r, w->ar, CRDT_OP_CHRONO, tick(w, a), &b, NULL, 0);
      author_body(w, a, &b, seq);
      gen_body(&w->r, w->ar, CRDT_OP_CHRONO, tick(w, a), &b, NULL, 0);
      w->rep[a].seq = seq;
      /* Sealed against the same heads minus the first twin. */
      replica *p = &w->rep[a];
      crdt_id heads[CRDT_PARENTS_MAX];
      size_t nh = crdt_dag_heads(p->dag, heads, CRDT_PARENTS_MAX), k = 0;
      for (size_t j = 0; j < nh; j++)
        if (crdt_id_cmp(&heads[j], &w->ops[w->n - 1]->id) != 0)
          heads[k++] = heads[j];
      size_t i = w->n++;
      w->ops[i] = gen_seal(&w->r, &p->key, FILE_A, EPOCH, KEY, seq, heads, k, &b);
      w->type[i] = b.type;
      w->hlc[i] = b.hlc;
      learn(w, a, i);
    } else if (roll < 24) {
      static const uint8_t raw[] = {0x82, 0x01, 0xa3, 'n', 'e', 'w', 0x02, 0x07};
      crdt_body b = {.hlc = tick(w, a), .type = 77, .user = BT_STR("future"),
                     .raw = {(const char *)raw, sizeof(raw)}};
      author_body(w, a, &b, 0);
    } else {
      author(w, a, mix[gen_below(&w->r, sizeof(mix) / sizeof(mix[0]))]);
    }
  }
  (void)seed;
}

static void tally(stats *st, const crdt_casefile *cf)
{
  st->conflicts += cf->nconflicts;
  st->tags += cf->ntags;
  st->equivocated += cf->nequivocated;
  st->unknown += cf->nunknown;
  for (size_t e = 0; e < cf->nentries; e++) {
    st->badrefs += !!(cf->entries[e].flags & CRDT_CF_BADREF);
    st->corrected += !!(cf->entries[e].flags & CRDT_CF_CORRECTED);
    st->done += !!(cf->entries[e].flags & CRDT_CF_DONE);
  }
}

Test(crdt_casefile, any_order_partition_or_duplication_converges, .timeout = 240)
{
  stats st = {0};

  for (uint64_t seed = 1; seed <= 500; seed++) {
    world w;
    gen_rng r;
    uint8_t ref[32], dg[32];
    crdt_id ref_heads[CRDT_PARENTS_MAX], heads[CRDT_PARENTS_MAX];
    size_t ref_nh;

    world_init(&w, seed);
    gen_seed(&r, seed ^ 0xABCDEF);
    random_history(&w, seed);
    /* Reference: replay of everything in one random order. */
    crdt_dag *d = replay(&w, &r, SIZE_MAX);
    crdt_casefile *cf = materialise(d);
    cr_assert_eq(cf->nops, w.n, "seed %" PRIu64, seed);
    cr_assert_eq(crdt_casefile_digest(cf, ref), BT_OK);
    tally(&st, cf);
    crdt_casefile_free(cf);
    ref_nh = crdt_dag_heads(d, ref_heads, CRDT_PARENTS_MAX);
    crdt_dag_free(d);
    /* Other orders with duplicates. */
    for (int k = 0; k < 3; k++) {
      d = replay(&w, &r, SIZE_MAX);
      digest_of(d, dg);
      cr_assert_eq(memcmp(dg, ref, 32), 0, "digest differs, seed %" PRIu64, seed);
      cr_assert_eq(crdt_dag_heads(d, heads, CRDT_PARENTS_MAX), ref_nh, "seed %" PRIu64, seed);
      cr_assert_eq(memcmp(heads, ref_heads, ref_nh * sizeof(crdt_id)), 0, "seed %" PRIu64, seed);
      crdt_dag_free(d);
    }
    /* The replicas themselves, healed after their partitions. */
    sync_all(&w);
    for (int a = 0; a < NREP; a++) {
      digest_of(w.rep[a].dag, dg);
      cr_assert_eq(memcmp(dg, ref, 32), 0, "replica %d, seed %" PRIu64, a, seed);
    }
    /* The digest is not blind: losing any one op changes it. */
    d = replay(&w, &r, 1 + gen_below(&r, w.n - 1));
    st.pending_seen += crdt_dag_pending(d);
    digest_of(d, dg);
    cr_assert_neq(memcmp(dg, ref, 32), 0, "seed %" PRIu64, seed);
    crdt_dag_free(d);
    world_free(&w);
  }
  /* The histories really exercised every rule. */
  cr_assert_gt(st.conflicts, 0);
  cr_assert_gt(st.tags, 0);
  cr_assert_gt(st.badrefs, 0);
  cr_assert_gt(st.corrected, 0);
  cr_assert_gt(st.done, 0);
  cr_assert_gt(st.equivocated, 0);
  cr_assert_gt(st.unknown, 0);
  cr_assert_gt(st.pending_seen, 0);
}

/* ---- front-sheet registers --------------------------------------------- */

static const crdt_cf_register *reg(const crdt_casefile *cf, uint32_t f)
{
  return &cf->fields[f];
}

Test(crdt_casefile, concurrent_front_sheet_writes_are_both_kept_until_resolved)
{
  world w;

  world_init(&w, 42);
  file_create(&w);
  author_field(&w, 0, CRDT_FS_PLAN, "cp");  /* offline on a home visit */
  author_field(&w, 1, CRDT_FS_PLAN, "cin"); /* at school, concurrently */
  sync_all(&w);
  for (int a = 0; a < NREP; a++) {
    crdt_casefile *cf = materialise(w.rep[a].dag);
    const crdt_cf_register *p = reg(cf, CRDT_FS_PLAN);
    cr_assert_eq(p->n, 2, "replica %d", a);
    cr_assert(p->conflict);
    cr_assert_eq(cf->nconflicts, 1);
    int cp = bt_str_eq(p->v[0].value, BT_STR("cp")) || bt_str_eq(p->v[1].value, BT_STR("cp"));
    int cin = bt_str_eq(p->v[0].value, BT_STR("cin")) || bt_str_eq(p->v[1].value, BT_STR("cin"));
    cr_assert(cp && cin, "both values shown on replica %d", a);
    crdt_casefile_free(cf);
  }
  /* Replica 2 has seen both writes: its write resolves them. */
  author_field(&w, 2, CRDT_FS_PLAN, "cp");
  sync_all(&w);
  for (int a = 0; a < NREP; a++) {
    crdt_casefile *cf = materialise(w.rep[a].dag);
    cr_assert_eq(reg(cf, CRDT_FS_PLAN)->n, 1, "replica %d", a);
    cr_assert(!reg(cf, CRDT_FS_PLAN)->conflict);
    cr_assert(bt_str_eq(reg(cf, CRDT_FS_PLAN)->v[0].value, BT_STR("cp")));
    cr_assert_eq(cf->nconflicts, 0);
    crdt_casefile_free(cf);
  }
  world_free(&w);
}

Test(crdt_casefile, a_write_that_saw_only_one_side_does_not_resolve)
{
  world w;
  crdt_casefile *cf;

  world_init(&w, 43);
  file_create(&w);
  author_field(&w, 0, CRDT_FS_RATING, "red");
  author_field(&w, 1, CRDT_FS_RATING, "amber");
  sync_from(&w, 2, 1); /* replica 2 saw only "amber" */
  author_field(&w, 2, CRDT_FS_RATING, "blue");
  sync_all(&w);
  cf = materialise(w.rep[0].dag);
  cr_assert_eq(reg(cf, CRDT_FS_RATING)->n, 2, "red and blue remain");
  cr_assert(reg(cf, CRDT_FS_RATING)->conflict);
  crdt_casefile_free(cf);
  world_free(&w);
}

Test(crdt_casefile, same_value_written_concurrently_is_not_a_conflict)
{
  world w;
  crdt_casefile *cf;

  world_init(&w, 44);
  file_create(&w);
  author_field(&w, 0, CRDT_FS_SW_NAME, "Sam Social");
  author_field(&w, 1, CRDT_FS_SW_NAME, "Sam Social");
  sync_all(&w);
  cf = materialise(w.rep[0].dag);
  cr_assert_eq(reg(cf, CRDT_FS_SW_NAME)->n, 2);
  cr_assert(!reg(cf, CRDT_FS_SW_NAME)->conflict);
  crdt_casefile_free(cf);
  world_free(&w);
}

/* ---- tags ---------------------------------------------------------------- */

static int has_tag(const crdt_casefile *cf, const char *t)
{
  for (size_t i = 0; i < cf->ntags; i++)
    if (bt_str_eq(cf->tags[i], bt_strz(t)))
      return 1;
  return 0;
}

Test(crdt_casefile, tag_add_wins_over_concurrent_remove)
{
  world w;
  crdt_casefile *cf;

  world_init(&w, 45);
  file_create(&w);
  author_tag(&w, 0, CRDT_OP_TAG_ADD, "dv");
  sync_all(&w);
  author_tag(&w, 1, CRDT_OP_TAG_DEL, "dv"); /* removes the add it saw */
  author_tag(&w, 0, CRDT_OP_TAG_ADD, "dv"); /* concurrent re-add */
  author_tag(&w, 2, CRDT_OP_TAG_ADD, "online");
  sync_all(&w);
  cf = materialise(w.rep[1].dag);
  cr_assert(has_tag(cf, "dv"), "concurrent add survives");
  cr_assert(has_tag(cf, "online"));
  crdt_casefile_free(cf);
  author_tag(&w, 1, CRDT_OP_TAG_DEL, "dv"); /* has now seen both adds */
  sync_all(&w);
  cf = materialise(w.rep[2].dag);
  cr_assert(!has_tag(cf, "dv"));
  cr_assert(has_tag(cf, "online"));
  cr_assert_eq(cf->ntags, 1);
  crdt_casefile_free(cf);
  world_free(&w);
}

/* ---- entries ------------------------------------------------------------- */

static size_t last(const world *w)
{
  return w->n - 1;
}

Test(crdt_casefile, correction_keeps_the_original_and_marks_it)
{
  world w;
  crdt_casefile *cf;
  crdt_body b;

  world_init(&w, 46);
  file_create(&w);
  size_t concern = author(&w, 0, CRDT_OP_CONCERN);
  b = (crdt_body){.hlc = tick(&w, 1), .type = CRDT_OP_CORRECTION, .user = BT_STR("dsl"),
                  .known = 1};
  sync_all(&w);
  b.hlc = tick(&w, 1);
  b.u.correction = (crdt_correction){w.ops[concern]->id, BT_STR("wrong date of incident"),
                                     BT_STR("the incident was on Tuesday")};
  size_t corr = author_body(&w, 1, &b, 0);
  sync_all(&w);
  cf = materialise(w.rep[0].dag);
  const crdt_cf_entry *orig = crdt_casefile_entry(cf, &w.ops[concern]->id);
  const crdt_cf_entry *fix = crdt_casefile_entry(cf, &w.ops[corr]->id);
  cr_assert_not_null(orig, "the original stays");
  cr_assert_not_null(fix);
  cr_assert(orig->flags & CRDT_CF_CORRECTED);
  cr_assert_eq(orig->nlinks, 1);
  cr_assert_eq(crdt_id_cmp(&orig->links[0], &w.ops[corr]->id), 0);
  cr_assert(!(fix->flags & CRDT_CF_BADREF));
  crdt_casefile_free(cf);
  world_free(&w);
}

Test(crdt_casefile, references_outside_the_causal_past_are_flagged_not_honoured)
{
  world w;
  crdt_casefile *cf;
  crdt_body b;

  world_init(&w, 47);
  file_create(&w);
  size_t concern = author(&w, 0, CRDT_OP_CONCERN); /* replica 1 never saw it */
  gen_body(&w.r, w.ar, CRDT_OP_REVIEW, tick(&w, 1), &b, &w.ops[concern]->id, 1);
  size_t review = author_body(&w, 1, &b, 0);
  sync_all(&w);
  cf = materialise(w.rep[2].dag);
  cr_assert(crdt_casefile_entry(cf, &w.ops[review]->id)->flags & CRDT_CF_BADREF);
  cr_assert_eq(crdt_casefile_entry(cf, &w.ops[concern]->id)->nlinks, 0);
  crdt_casefile_free(cf);
  /* A review that did see the concern links to it. */
  gen_body(&w.r, w.ar, CRDT_OP_REVIEW, tick(&w, 2), &b, &w.ops[concern]->id, 1);
  review = author_body(&w, 2, &b, 0);
  cf = materialise(w.rep[2].dag);
  cr_assert(!(crdt_casefile_entry(cf, &w.ops[review]->id)->flags & CRDT_CF_BADREF));
  cr_assert_eq(crdt_casefile_entry(cf, &w.ops[concern]->id)->nlinks, 1);
  crdt_casefile_free(cf);
  /* An action_done pointing at a concern (wrong type) is flagged. */
  gen_body(&w.r, w.ar, CRDT_OP_ACTION_DONE, tick(&w, 2), &b, &w.ops[concern]->id, 1);
  size_t done = author_body(&w, 2, &b, 0);
  cf = materialise(w.rep[2].dag);
  cr_assert(crdt_casefile_entry(cf, &w.ops[done]->id)->flags & CRDT_CF_BADREF);
  crdt_casefile_free(cf);
  (void)last;
  world_free(&w);
}

Test(crdt_casefile, action_done_marks_the_action)
{
  world w;
  crdt_casefile *cf;
  crdt_body b;

  world_init(&w, 48);
  file_create(&w);
  size_t act = author(&w, 0, CRDT_OP_ACTION);
  sync_all(&w);
  gen_body(&w.r, w.ar, CRDT_OP_ACTION_DONE, tick(&w, 1), &b, &w.ops[act]->id, 1);
  author_body(&w, 1, &b, 0);
  sync_all(&w);
  cf = materialise(w.rep[0].dag);
  cr_assert(crdt_casefile_entry(cf, &w.ops[act]->id)->flags & CRDT_CF_DONE);
  crdt_casefile_free(cf);
  world_free(&w);
}

Test(crdt_casefile, entries_are_ordered_by_event_time_then_hlc_then_id)
{
  world w;
  crdt_casefile *cf;

  world_init(&w, 49);
  file_create(&w);
  for (int i = 0; i < 40; i++)
    author(&w, (int)gen_below(&w.r, NREP), mix[3 + gen_below(&w.r, 9)]);
  sync_all(&w);
  cf = materialise(w.rep[0].dag);
  cr_assert_gt(cf->nentries, 20);
  for (size_t e = 1; e < cf->nentries; e++) {
    const crdt_cf_entry *x = &cf->entries[e - 1], *y = &cf->entries[e];
    cr_assert(x->event_at < y->event_at ||
              (x->event_at == y->event_at &&
               (x->body->hlc < y->body->hlc ||
                (x->body->hlc == y->body->hlc && crdt_id_cmp(&x->op->id, &y->op->id) < 0))));
  }
  crdt_casefile_free(cf);
  world_free(&w);
}

Test(crdt_casefile, unknown_types_and_unreadable_ops_are_kept_and_ignored)
{
  static const uint8_t raw[] = {0x81, 0x01, 0xc3};
  world w;
  crdt_casefile *cf;
  uint8_t wrong[CRDT_KEY_LEN] = {0};

  world_init(&w, 50);
  file_create(&w);
  crdt_body b = {.hlc = tick(&w, 0), .type = 200, .user = BT_STR("future"),
                 .raw = {(const char *)raw, sizeof(raw)}};
  size_t u = author_body(&w, 0, &b, 0);
  author(&w, 0, CRDT_OP_CHRONO); /* a child of the unknown op still applies */
  cf = materialise(w.rep[0].dag);
  cr_assert_eq(cf->nops, 3);
  cr_assert_eq(cf->nunknown, 1);
  cr_assert_eq(crdt_id_cmp(&cf->unknown[0], &w.ops[u]->id), 0);
  cr_assert_eq(cf->nentries, 1);
  crdt_casefile_free(cf);
  /* Without the key nothing is readable, yet nothing is dropped. */
  cr_assert_eq(crdt_casefile_build(w.rep[0].dag, crdt_cf_open_key, wrong, &cf), BT_OK);
  cr_assert_eq(cf->nunknown, 3);
  cr_assert_eq(cf->nentries, 0);
  cr_assert_eq(cf->nheads, 1);
  crdt_casefile_free(cf);
  world_free(&w);
}

Test(crdt_casefile, equivocating_ops_are_both_shown_and_flagged)
{
  world w;
  crdt_casefile *cf;
  crdt_body b1, b2;

  world_init(&w, 51);
  file_create(&w);
  gen_body(&w.r, w.ar, CRDT_OP_CHRONO, tick(&w, 0), &b1, NULL, 0);
  gen_body(&w.r, w.ar, CRDT_OP_CHRONO, tick(&w, 0), &b2, NULL, 0);
  size_t x = author_body(&w, 0, &b1, 2);
  /* The twin: same seq, sealed on another device image with the old heads. */
  crdt_id root = w.ops[0]->id;
  size_t y = w.n++;
  w.ops[y] = gen_seal(&w.r, &w.rep[0].key, FILE_A, EPOCH, KEY, 2, &root, 1, &b2);
  w.type[y] = CRDT_OP_CHRONO;
  w.hlc[y] = b2.hlc;
  learn(&w, 1, y);
  sync_all(&w);
  cf = materialise(w.rep[2].dag);
  cr_assert_eq(cf->nequivocated, 2);
  cr_assert(crdt_casefile_entry(cf, &w.ops[x]->id)->flags & CRDT_CF_EQUIVOCATED);
  cr_assert(crdt_casefile_entry(cf, &w.ops[y]->id)->flags & CRDT_CF_EQUIVOCATED);
  crdt_casefile_free(cf);
  world_free(&w);
}
