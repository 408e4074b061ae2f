/* tests/node/test_store.c: the LMDB store and its ingest path. Each test
 * makes its own data directory under /tmp and removes it. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "crdt/gen.h"
#include "node/org.h"
#include "node/store.h"

#include <lmdb.h>
#include <sodium.h>

static char dir[64];
static uint64_t fake_now = 1767225600000ull; /* 2026-01-01 */

static uint64_t clock_fn(void *ctx)
{
  (void)ctx;
  return fake_now += 1000;
}

static void mkdir_tmp(void)
{
  strcpy(dir, "/tmp/bt-store-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
  char cmd[128];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(node_store, .init = mkdir_tmp, .fini = rm_tmp);

static node_store_opts opts(const char *d, const char *pass)
{
  node_store_opts o = {.dir = d, .passphrase = pass, .passphrase_len = strlen(pass),
                       .create = 1, .kdf = NODE_KDF_MIN, .clock_ms = clock_fn};
  return o;
}

/* Files belong to an org (node/org.h): every test store gets one. */
static void ensure_org(node_store *s)
{
  node_org_info oi = {CRDT_ORG_SCHOOL, "Test School", NULL, NULL};
  int rc = node_org_create(s, &oi);

  cr_assert(rc == BT_OK || rc == BT_EDUP, "org: %s", bt_strerror(rc));
}

/* A store without an org of its own (to be enrolled with same_org). */
static node_store *open_bare(const char *d, const char *pass)
{
  node_store_opts o = opts(d, pass);
  node_store *s;
  int rc = node_store_open(&s, &o);

  cr_assert_eq(rc, BT_OK, "open %s: %s", d, bt_strerror(rc));
  return s;
}

static node_store *open_store(const char *d, const char *pass)
{
  node_store *s = open_bare(d, pass);

  ensure_org(s);
  return s;
}

/* Enrols b (a store with no org yet) as another device of a's org, as the
 * enrolment protocol would: a certifies b's device key and hands over the
 * org keys and certificate. Two devices of one org may both write its
 * files; a device of another org may not (without a grant). */
static void same_org(node_store *a, node_store *b)
{
  node_secret *sign, *box;
  uint8_t dev[CRDT_PK_LEN], *cert;
  size_t len;
  node_org o;

  node_store_device(b, dev);
  cr_assert_eq(node_org_sign_sk(a, &sign), BT_OK);
  cr_assert_eq(node_org_box_sk(a, &box), BT_OK);
  cr_assert_eq(node_org_certify_device(a, dev, "second device", fake_now, &cert, &len), BT_OK);
  cr_assert_eq(node_org_get(a, &o), BT_OK);
  cr_assert_eq(node_org_adopt(b, node_secret_bytes(sign), node_secret_bytes(box), o.org_cert,
                              o.org_cert_len, cert, len),
               BT_OK);
  free(cert);
  node_org_clear(&o);
  node_secret_free(sign);
  node_secret_free(box);
}

/* node_file_create authors CREATE_OPS ops: the genesis (binding the file to
 * this store's org and starting epoch 1), a keybox sealing epoch 1's secret
 * to the org (for its other devices), then the file-create op. The keybox
 * is a public envelope: anyone holding the op opens it, keys or not. */
#define CREATE_OPS 3
#define CREATE_PUBLIC_OPS 1

static void create_body(gen_rng *r, gen_arena *a, crdt_body *b)
{
  gen_body(r, a, CRDT_OP_FILE_CREATE, 0, b, NULL, 0);
}

/* Authors n random entries in a new file; returns the file id. */
static void make_file(node_store *s, gen_rng *r, gen_arena *a, size_t n, uint8_t file[16])
{
  static const uint32_t types[] = {CRDT_OP_CHRONO, CRDT_OP_CONCERN, CRDT_OP_FIELD_SET,
                                   CRDT_OP_TAG_ADD, CRDT_OP_ACTION, CRDT_OP_BODYMAP};
  crdt_body b;
  crdt_id id;

  create_body(r, a, &b);
  cr_assert_eq(node_file_create(s, &b, file, &id), BT_OK);
  for (size_t i = 0; i < n; i++) {
    gen_body(r, a, types[gen_below(r, 6)], 0, &b, NULL, 0);
    int rc = node_author(s, file, &b, &id);
    cr_assert_eq(rc, BT_OK, "author: %s", bt_strerror(rc));
  }
}

static int by_seq(const void *a, const void *b)
{
  const crdt_op *x = *(crdt_op *const *)a, *y = *(crdt_op *const *)b;

  return (x->h.seq > y->h.seq) - (x->h.seq < y->h.seq);
}

/* Every stored op of a file, found by walking back from the heads, sorted
 * by sequence number (parents first for a file with one author). */
static crdt_op **export_ops(node_store *s, const uint8_t *file, size_t *n)
{
  crdt_id *stack = malloc(4096 * sizeof(*stack)), *seen = malloc(4096 * sizeof(*seen));
  crdt_op **ops = malloc(4096 * sizeof(*ops));
  size_t top = 0, ns = 0;

  cr_assert_eq(node_heads(s, file, stack, 4096, &top), BT_OK);
  *n = 0;
  while (top > 0) {
    crdt_id id = stack[--top];
    size_t j = 0;
    while (j < ns && crdt_id_cmp(&seen[j], &id) != 0)
      j++;
    if (j < ns)
      continue;
    seen[ns++] = id;
    cr_assert_eq(node_op_get(s, &id, &ops[*n]), BT_OK);
    for (size_t k = 0; k < ops[*n]->h.nparents; k++)
      stack[top++] = ops[*n]->h.parents[k];
    (*n)++;
  }
  qsort(ops, *n, sizeof(*ops), by_seq);
  free(stack);
  free(seen);
  return ops;
}

static void digest(node_store *s, const uint8_t *file, uint8_t out[32])
{
  const crdt_casefile *cf;

  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(crdt_casefile_digest(cf, out), BT_OK);
}

/* make_file from gen_seed(seed), and the file's digest in d. */
static void seeded_file(node_store *s, uint64_t seed, size_t n, uint8_t file[16], uint8_t d[32])
{
  gen_rng r;
  gen_arena *a = gen_arena_new();

  gen_seed(&r, seed);
  make_file(s, &r, a, n, file);
  digest(s, file, d);
  gen_arena_free(a);
}

Test(node_store, reopening_returns_the_same_ops_heads_and_digest)
{
  uint8_t file[16], d1[32], d2[32];
  crdt_id h1[8], h2[8];
  size_t n1, n2, ops1, ops2, buf;
  node_store *s = open_store(dir, "correct horse");

  seeded_file(s, 1, 30, file, d1);
  cr_assert_eq(node_heads(s, file, h1, 8, &n1), BT_OK);
  cr_assert_eq(n1, 1, "one author in sequence: one head");
  cr_assert_eq(node_store_counts(s, &ops1, &buf), BT_OK);
  cr_assert_eq(ops1, CREATE_OPS + 30, "the file's first ops and 30 entries");
  node_store_close(s);
  s = open_store(dir, "correct horse");
  cr_assert_eq(node_heads(s, file, h2, 8, &n2), BT_OK);
  cr_assert_eq(n2, n1);
  cr_assert_eq(memcmp(h1, h2, n1 * sizeof(crdt_id)), 0);
  cr_assert_eq(node_store_counts(s, &ops2, &buf), BT_OK);
  cr_assert_eq(ops2, ops1);
  digest(s, file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  const crdt_casefile *cf;
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, CREATE_OPS + 30, "the genesis and keybox count as applied ops");
  cr_assert_eq(cf->nunknown, 0, "every op readable with the file key");
  cr_assert_eq(cf->nhidden, 0, "every op by the creating device counts");
  node_store_close(s);
}

/* The keys of one epoch, by header epoch id: the content key under the
 * epoch id, the control key under its control id (crdt/access.h). */
typedef struct {
  uint8_t epoch[2][CRDT_EPOCH_LEN];
  uint8_t key[2][CRDT_KEY_LEN];
} epoch_keys;

static void epoch_keys_of(const uint8_t *epoch, const node_secret *secret, epoch_keys *k)
{
  memcpy(k->epoch[0], epoch, CRDT_EPOCH_LEN);
  crdt_control_id(epoch, k->epoch[1]);
  crdt_epoch_keys(node_secret_bytes(secret), k->key[0], k->key[1]);
}

static int epoch_keys_lookup(void *ctx, const uint8_t epoch[CRDT_EPOCH_LEN],
                             uint8_t key[CRDT_KEY_LEN])
{
  const epoch_keys *k = ctx;

  for (int i = 0; i < 2; i++)
    if (memcmp(k->epoch[i], epoch, CRDT_EPOCH_LEN) == 0) {
      memcpy(key, k->key[i], CRDT_KEY_LEN);
      return BT_OK;
    }
  return BT_ENOTFOUND;
}

/* The store's materialisation equals the pure crdt one (with the access
 * rules) over the same ops, with the keys derived from the epoch secret
 * node_file_key hands out. */
Test(node_store, materialisation_equals_the_pure_core)
{
  uint8_t file[16], d1[32], d2[32], epoch[16];
  node_store *s = open_store(dir, "pw");
  crdt_casefile *pure;
  node_secret *secret;
  epoch_keys keys;
  crdt_dag *d;
  uint8_t hk[16] = {0};

  seeded_file(s, 2, 25, file, d1);
  cr_assert_eq(node_file_epoch(s, file, epoch), BT_OK);
  cr_assert_eq(node_file_key(s, file, epoch, &secret), BT_OK);
  epoch_keys_of(epoch, secret, &keys);
  cr_assert_eq(crdt_dag_new(&d, hk), BT_OK);
  size_t n;
  crdt_op **ops = export_ops(s, file, &n);
  for (size_t i = 0; i < n; i++) {
    crdt_dag_status st;
    cr_assert_eq(crdt_dag_add(d, ops[i], &st), BT_OK);
  }
  free(ops);
  cr_assert_eq(crdt_dag_applied(d), CREATE_OPS + 25, "the file's first ops and 25 entries");
  cr_assert_eq(crdt_casefile_build_access(d, file, epoch_keys_lookup, &keys, &pure), BT_OK);
  cr_assert_eq(pure->nops, CREATE_OPS + 25);
  cr_assert_eq(pure->nunknown, 0, "the derived keys open every op");
  cr_assert_eq(pure->nhidden, 0, "every op passes the access rules");
  cr_assert_eq(crdt_casefile_digest(pure, d2), BT_OK);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  crdt_casefile_free(pure);
  crdt_dag_free(d);
  sodium_memzero(&keys, sizeof(keys));
  node_secret_free(secret);
  node_store_close(s);
}

static void share(node_store *from, node_store *to, const uint8_t *file, int with_key)
{
  node_secret *key;
  uint8_t epoch[16];

  cr_assert_eq(node_file_epoch(from, file, epoch), BT_OK);
  cr_assert_eq(node_file_key(from, file, epoch, &key), BT_OK);
  cr_assert_eq(node_file_track(to, file, epoch, with_key ? node_secret_bytes(key) : NULL), BT_OK);
  node_secret_free(key);
}

static void free_ops(crdt_op **ops, size_t n)
{
  for (size_t i = 0; i < n; i++)
    crdt_op_free(ops[i]);
  free(ops);
}

static bt_bytes env_of(const crdt_op *op)
{
  return (bt_bytes){op->env, op->env_len};
}

Test(node_store, children_first_delivery_is_buffered_then_released)
{
  char dir2[80];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], d1[32], d2[32];
  node_store *s, *t;
  node_ingest_result res[64];
  node_ingest_stats st;
  size_t n, nm, ops, buf;
  crdt_id miss[4];

  snprintf(dir2, sizeof(dir2), "%s/b", dir);
  s = open_store(dir, "a");
  t = open_store(dir2, "b");
  gen_seed(&r, 3);
  make_file(s, &r, a, 40, file);
  share(s, t, file, 1);
  crdt_op **o = export_ops(s, file, &n);
  cr_assert_eq(n, CREATE_OPS + 40, "the file's first ops (the genesis is the root), 40 entries");
  /* Newest first, one op per batch: each waits for its parent. */
  for (size_t i = n; i-- > 1;) {
    bt_bytes e = env_of(o[i]);
    cr_assert_eq(node_ingest(t, &e, 1, res, &st), BT_OK);
    cr_assert_eq(res[0].status, NODE_BUFFERED, "op %zu", i);
    cr_assert_eq(crdt_id_cmp(&res[0].id, &o[i]->id), 0);
    cr_assert_eq(node_missing(t, file, miss, 4, &nm), BT_OK);
    cr_assert_eq(nm, 1, "only the deepest unseen parent is missing");
    cr_assert_eq(crdt_id_cmp(&miss[0], &o[i - 1]->id), 0);
  }
  cr_assert_eq(node_store_counts(t, &ops, &buf), BT_OK);
  cr_assert_eq(ops, 0);
  cr_assert_eq(buf, n - 1);
  /* The root releases everything, in the same transaction. */
  bt_bytes e = env_of(o[0]);
  cr_assert_eq(node_ingest(t, &e, 1, res, &st), BT_OK);
  cr_assert_eq(res[0].status, NODE_STORED);
  cr_assert_eq(st.released, n - 1);
  cr_assert_eq(node_store_counts(t, &ops, &buf), BT_OK);
  cr_assert_eq(ops, n);
  cr_assert_eq(buf, 0);
  cr_assert_eq(node_missing(t, file, miss, 4, &nm), BT_OK);
  cr_assert_eq(nm, 0);
  digest(s, file, d1);
  digest(t, file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0, "same ops, same file");
  /* Everything again, in one batch: all duplicates, nothing changes. */
  bt_bytes all[64];
  for (size_t i = 0; i < n; i++)
    all[i] = env_of(o[i]);
  cr_assert_eq(node_ingest(t, all, n, res, &st), BT_OK);
  cr_assert_eq(st.duplicate, n);
  cr_assert_eq(st.stored + st.buffered + st.rejected, 0);
  free_ops(o, n);
  node_store_close(s);
  node_store_close(t);
  gen_arena_free(a);
}

Test(node_store, bad_ops_are_rejected_with_a_reason_and_change_nothing)
{
  char dir2[80];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], other[16], d1[32], d2[32];
  node_store *s, *t;
  node_ingest_result res[8];
  node_ingest_stats st;
  size_t n, ops, buf;

  snprintf(dir2, sizeof(dir2), "%s/b", dir);
  s = open_store(dir, "a");
  t = open_store(dir2, "b");
  gen_seed(&r, 4);
  make_file(s, &r, a, 3, file);
  make_file(s, &r, a, 1, other); /* t never hears of this one */
  share(s, t, file, 1);
  crdt_op **o = export_ops(s, file, &n), **p;
  cr_assert_leq(n, 8, "the arrays below hold every op");
  size_t np;
  p = export_ops(s, other, &np);
  bt_bytes e[8];
  uint8_t *forged = malloc(o[0]->env_len);
  memcpy(forged, o[0]->env, o[0]->env_len);
  forged[o[0]->env_len - 5] ^= 0x40; /* inside the signature */
  e[0] = (bt_bytes){forged, o[0]->env_len};
  e[1] = env_of(p[0]);
  e[2] = (bt_bytes){(const uint8_t *)"\x94junk", 5};
  e[3] = env_of(o[0]);
  cr_assert_eq(node_ingest(t, e, 4, res, &st), BT_OK);
  cr_assert_eq(res[0].status, NODE_REJECTED);
  cr_assert_eq(res[0].reason, BT_ESIG);
  cr_assert_eq(res[1].status, NODE_REJECTED);
  cr_assert_eq(res[1].reason, BT_ENOFILE, "a file this node does not hold");
  cr_assert_eq(res[2].status, NODE_REJECTED);
  cr_assert_lt(res[2].reason, 0);
  cr_assert_eq(res[3].status, NODE_STORED, "good ops in the same batch still land");
  cr_assert_eq(st.rejected, 3);
  cr_assert_eq(node_store_counts(t, &ops, &buf), BT_OK);
  cr_assert_eq(ops, 1);
  /* The rest, then the forged copy again: the file is exactly the sender's. */
  for (size_t i = 1; i < n; i++)
    e[i - 1] = env_of(o[i]);
  cr_assert_eq(node_ingest(t, e, n - 1, res, &st), BT_OK);
  e[0] = (bt_bytes){forged, o[0]->env_len};
  cr_assert_eq(node_ingest(t, e, 1, res, &st), BT_OK);
  cr_assert_eq(res[0].reason, BT_ESIG);
  digest(s, file, d1);
  digest(t, file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  free(forged);
  free_ops(o, n);
  free_ops(p, np);
  node_store_close(s);
  node_store_close(t);
  gen_arena_free(a);
}

/* ---- equivocation, relays, fingerprints ---------------------------------------- */

Test(node_store, equivocating_ops_are_both_stored_and_flagged)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], epoch[16];
  node_store *s = open_store(dir, "a");
  node_ingest_result res[2];
  node_ingest_stats st;
  node_secret *key;
  gen_key dev;
  crdt_body b1, b2;
  crdt_id heads[4];
  size_t nh;

  gen_seed(&r, 5);
  make_file(s, &r, a, 2, file);
  cr_assert_eq(node_file_epoch(s, file, epoch), BT_OK);
  cr_assert_eq(node_file_key(s, file, epoch, &key), BT_OK);
  cr_assert_eq(node_heads(s, file, heads, 4, &nh), BT_OK);
  gen_keypair(77, &dev); /* another device of ours, reusing its seq 1 */
  gen_body(&r, a, CRDT_OP_CHRONO, crdt_hlc_make(fake_now, 0), &b1, NULL, 0);
  gen_body(&r, a, CRDT_OP_CHRONO, crdt_hlc_make(fake_now, 1), &b2, NULL, 0);
  crdt_op *x = gen_seal(&r, &dev, file, epoch, node_secret_bytes(key), 1, heads, nh, &b1);
  crdt_op *y = gen_seal(&r, &dev, file, epoch, node_secret_bytes(key), 1, heads, nh, &b2);
  bt_bytes e[2] = {env_of(x), env_of(y)};
  cr_assert_eq(node_ingest(s, e, 2, res, &st), BT_OK);
  cr_assert_eq(res[0].status, NODE_STORED);
  cr_assert_eq(res[1].status, NODE_STORED);
  cr_assert_eq(st.equivocations, 1);
  const crdt_casefile *cf;
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(cf->nequivocated, 2);
  cr_assert_eq(node_heads(s, file, heads, 4, &nh), BT_OK);
  cr_assert_eq(nh, 2, "both twins are heads");
  crdt_op_free(x);
  crdt_op_free(y);
  node_secret_free(key);
  node_store_close(s);
  gen_arena_free(a);
}

Test(node_store, a_relay_stores_what_it_cannot_read)
{
  char dir2[80];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *s, *relay;
  node_ingest_result res[32];
  node_ingest_stats st;
  size_t n;

  snprintf(dir2, sizeof(dir2), "%s/relay", dir);
  s = open_store(dir, "a");
  relay = open_store(dir2, "r");
  gen_seed(&r, 6);
  make_file(s, &r, a, 12, file);
  share(s, relay, file, 0);
  crdt_op **o = export_ops(s, file, &n);
  cr_assert_leq(n, 32, "the arrays below hold every op");
  bt_bytes e[32];
  for (size_t i = 0; i < n; i++)
    e[i] = env_of(o[n - 1 - i]);
  cr_assert_eq(node_ingest(relay, e, n, res, &st), BT_OK);
  cr_assert_eq(st.buffered + st.stored, n);
  cr_assert_eq(st.released + st.stored, n, "all stored in the end");
  const crdt_casefile *cf;
  cr_assert_eq(node_casefile(relay, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, n);
  cr_assert_eq(cf->nunknown, n - CREATE_PUBLIC_OPS,
               "no key: nothing readable but public envelopes, nothing dropped");
  cr_assert_eq(cf->nentries, 0);
  crdt_body b;
  crdt_id id;
  gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  cr_assert_eq(node_author(relay, file, &b, &id), BT_EEPOCH, "a relay cannot write");
  /* Its heads and fingerprints agree with the reader's. */
  node_rkey lo = {0}, hi;
  node_fp f1, f2;
  memset(&hi, 0xff, sizeof(hi));
  cr_assert_eq(node_fingerprint(s, file, &lo, &hi, &f1), BT_OK);
  cr_assert_eq(node_fingerprint(relay, file, &lo, &hi, &f2), BT_OK);
  cr_assert_eq(f1.count, n);
  cr_assert_eq(f2.count, n);
  cr_assert_eq(memcmp(f1.sum, f2.sum, 32), 0);
  free_ops(o, n);
  node_store_close(s);
  node_store_close(relay);
  gen_arena_free(a);
}

/* Ingest no longer refuses an epoch it holds no key for (it used to
 * reject such ops with BT_EEPOCH): any epoch of a known file is stored, and
 * whether an op can be read, and whether it counts, is decided when the
 * file is materialised. Such an op is kept, counted and listed unreadable,
 * and is read as soon as its epoch's secret arrives. */
Test(node_store, an_op_under_an_unknown_epoch_is_stored_but_unreadable)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], stray[16], secret[32], content[32], control[32];
  node_store *s = open_store(dir, "a");
  node_ingest_result res[1];
  node_ingest_stats st;
  const crdt_casefile *cf;
  crdt_id heads[4];
  size_t nh;
  gen_key dev;
  crdt_body b;

  gen_seed(&r, 22);
  make_file(s, &r, a, 2, file);
  cr_assert_eq(node_heads(s, file, heads, 4, &nh), BT_OK);
  gen_bytes(&r, stray, sizeof(stray));
  gen_bytes(&r, secret, sizeof(secret));
  crdt_epoch_keys(secret, content, control);
  gen_keypair(79, &dev);
  gen_body(&r, a, CRDT_OP_CHRONO, crdt_hlc_make(fake_now, 0), &b, NULL, 0);
  crdt_op *x = gen_seal(&r, &dev, file, stray, content, 1, heads, nh, &b);
  bt_bytes e = env_of(x);
  cr_assert_eq(node_ingest(s, &e, 1, res, &st), BT_OK);
  cr_assert_eq(res[0].status, NODE_STORED, "stored, not rejected: reason %s",
               bt_strerror(res[0].reason));
  cr_assert_eq(st.rejected, 0);
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, CREATE_OPS + 3, "the file's first ops, 2 entries and the stray op");
  cr_assert_eq(cf->nunknown, 1, "only the stray op is unreadable");
  cr_assert_eq(crdt_id_cmp(&cf->unknown[0], &x->id), 0);
  cr_assert_null(crdt_casefile_entry(cf, &x->id));
  cr_assert_eq(cf->nheads, 1);
  cr_assert_eq(crdt_id_cmp(&cf->heads[0], &x->id), 0, "it is the file's head all the same");
  /* Its secret arrives: the op opens, and now the access rules judge it:
   * its author is bound to no org in its past, so it is hidden, with that
   * reason (still held, still counted). */
  cr_assert_eq(node_file_track(s, file, stray, secret), BT_OK);
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, CREATE_OPS + 3);
  cr_assert_eq(cf->nunknown, 0);
  cr_assert_eq(cf->nhidden, 1);
  cr_assert_eq(crdt_id_cmp(&cf->hidden[0].id, &x->id), 0);
  cr_assert_eq(cf->hidden[0].reason, CRDT_ACC_NOT_MEMBER, "hidden as %s",
               crdt_acc_reason_name(cf->hidden[0].reason));
  crdt_op_free(x);
  node_store_close(s);
  gen_arena_free(a);
}

static int key_cmp(const node_rkey *k, const crdt_op *op)
{
  if (op->h.hour != k->hour)
    return op->h.hour < k->hour ? -1 : 1;
  return memcmp(op->id.b, k->id.b, 32);
}

/* Range fingerprints from buckets and edge scans equal a brute-force sum. */
Test(node_store, range_fingerprints_match_brute_force)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *s = open_store(dir, "a");
  size_t n;

  gen_seed(&r, 7);
  crdt_body b;
  crdt_id id;
  gen_body(&r, a, CRDT_OP_FILE_CREATE, 0, &b, NULL, 0);
  cr_assert_eq(node_file_create(s, &b, file, &id), BT_OK);
  for (int i = 0; i < 120; i++) {
    fake_now += gen_below(&r, 3) * 3600000ull; /* spread over many hours */
    gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
    cr_assert_eq(node_author(s, file, &b, &id), BT_OK);
  }
  crdt_op **o = export_ops(s, file, &n);
  uint32_t h0 = o[0]->h.hour, h1 = o[n - 1]->h.hour;
  cr_assert_gt(h1 - h0, 20, "the ops span many hours");
  for (int q = 0; q < 300; q++) {
    node_rkey lo, hi;
    node_fp fp, want = {0};
    lo.hour = h0 + (uint32_t)gen_below(&r, h1 - h0 + 2) - 1;
    hi.hour = lo.hour + (uint32_t)gen_below(&r, h1 - h0 + 2);
    gen_bytes(&r, lo.id.b, 32);
    gen_bytes(&r, hi.id.b, 32);
    if (gen_below(&r, 4) == 0)
      lo.id = o[gen_below(&r, n)]->id, lo.hour = o[0]->h.hour;
    for (size_t i = 0; i < n; i++)
      if (key_cmp(&lo, o[i]) >= 0 && key_cmp(&hi, o[i]) < 0) {
        want.count++;
        unsigned c = 0;
        for (int j = 0; j < 32; j++) {
          c += (unsigned)want.sum[j] + o[i]->id.b[j];
          want.sum[j] = (uint8_t)c;
          c >>= 8;
        }
      }
    cr_assert_eq(node_fingerprint(s, file, &lo, &hi, &fp), BT_OK);
    cr_assert_eq(fp.count, want.count, "query %d", q);
    cr_assert_eq(memcmp(fp.sum, want.sum, 32), 0, "query %d", q);
  }
  free_ops(o, n);
  node_store_close(s);
  gen_arena_free(a);
}

/* ---- keys and failures ------------------------------------------------------------- */

static int try_open(const char *d, const char *pass, const char *keyfile, int create)
{
  node_store_opts o = {.dir = d, .passphrase = pass, .passphrase_len = pass ? strlen(pass) : 0,
                       .key_file = keyfile, .create = create, .kdf = NODE_KDF_MIN,
                       .clock_ms = clock_fn};
  node_store *s;
  int rc = node_store_open(&s, &o);

  if (rc == 0)
    node_store_close(s);
  return rc;
}

static void file_digest(const char *d, const char *pass, const uint8_t *file, uint8_t out[32])
{
  node_store *s = open_store(d, pass);

  digest(s, file, out);
  node_store_close(s);
}

Test(node_store, wrong_passphrase_is_a_clear_error_and_writes_nothing)
{
  uint8_t file[16], d1[32], d2[32];
  node_store *s = open_store(dir, "right");

  seeded_file(s, 8, 5, file, d1);
  node_store_close(s);
  cr_assert_eq(try_open(dir, "wrong", NULL, 0), BT_EPASS);
  cr_assert_eq(try_open(dir, "Right", NULL, 1), BT_EPASS, "create does not overwrite");
  file_digest(dir, "right", file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
}

Test(node_store, rekey_changes_the_passphrase_and_nothing_else)
{
  uint8_t file[16], d1[32], d2[32];
  node_store *s = open_store(dir, "old");
  char kf[96];

  seeded_file(s, 9, 5, file, d1);
  cr_assert_eq(node_store_rekey(s, "new", 3, NULL), BT_OK);
  node_store_close(s);
  cr_assert_eq(try_open(dir, "old", NULL, 0), BT_EPASS);
  file_digest(dir, "new", file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  /* To a key file, for an unattended server. */
  snprintf(kf, sizeof(kf), "%s/../%s.key", dir, strrchr(dir, '/') + 1);
  cr_assert_eq(node_keyfile_create(kf), BT_OK);
  s = open_store(dir, "new");
  cr_assert_eq(node_store_rekey(s, NULL, 0, kf), BT_OK);
  node_store_close(s);
  cr_assert_eq(try_open(dir, "new", NULL, 0), BT_EPASS);
  cr_assert_eq(try_open(dir, NULL, kf, 0), BT_OK);
  cr_assert_eq(chmod(kf, 0644), 0);
  cr_assert_eq(try_open(dir, NULL, kf, 0), BT_EKEYFILE, "a key file others can read");
  cr_assert_eq(chmod(kf, 0600), 0);
  cr_assert_eq(try_open(dir, NULL, kf, 0), BT_OK);
  unlink(kf);
}

static void write_file(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");

  cr_assert_not_null(f);
  cr_assert_eq(fwrite(p, 1, n, f), n);
  fclose(f);
}

Test(node_store, foreign_or_truncated_data_files_are_refused)
{
  char path[128], sub[96];
  uint8_t junk[8192];
  gen_rng r;

  gen_seed(&r, 10);
  /* Random bytes where data.mdb should be. */
  snprintf(sub, sizeof(sub), "%s/junk", dir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  snprintf(path, sizeof(path), "%s/data.mdb", sub);
  gen_bytes(&r, junk, sizeof(junk));
  write_file(path, junk, sizeof(junk));
  cr_assert_eq(try_open(sub, "pw", NULL, 1), BT_ECORRUPT);
  /* A real LMDB environment that is someone else's. */
  snprintf(sub, sizeof(sub), "%s/other", dir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  {
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi db;
    MDB_val k = {3, "key"}, v = {5, "value"};
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_open(env, sub, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &t), 0);
    cr_assert_eq(mdb_dbi_open(t, NULL, 0, &db), 0);
    cr_assert_eq(mdb_put(t, db, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(t), 0);
    mdb_env_close(env);
  }
  cr_assert_eq(try_open(sub, "pw", NULL, 1), BT_ECORRUPT);
  /* Ours, truncated. */
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *s = open_store(dir, "pw");
  make_file(s, &r, a, 200, file);
  node_store_close(s);
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(truncate(path, st.st_size / 2), 0);
  cr_assert_eq(try_open(dir, "pw", NULL, 0), BT_ECORRUPT);
  cr_assert_eq(truncate(path, 100), 0);
  cr_assert_eq(try_open(dir, "pw", NULL, 0), BT_ECORRUPT);
  gen_arena_free(a);
}

Test(node_store, a_full_store_refuses_the_batch_and_keeps_what_it_had)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], d1[32], d2[32];
  node_store_opts o = opts(dir, "pw");
  node_store *s;
  crdt_body b;
  crdt_id id;
  int rc = BT_OK, ok = 0;

  o.map_size = 256 * 1024; /* a tiny disk */
  cr_assert_eq(node_store_open(&s, &o), BT_OK);
  ensure_org(s);
  gen_seed(&r, 11);
  gen_body(&r, a, CRDT_OP_FILE_CREATE, 0, &b, NULL, 0);
  cr_assert_eq(node_file_create(s, &b, file, &id), BT_OK);
  while (rc == BT_OK && ok < 100000) {
    digest(s, file, d1);
    gen_body(&r, a, CRDT_OP_CONCERN, 0, &b, NULL, 0);
    if ((rc = node_author(s, file, &b, &id)) == BT_OK)
      ok++;
  }
  cr_assert_eq(rc, BT_EFULL, "got %s", bt_strerror(rc));
  cr_assert_gt(ok, 10);
  digest(s, file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0, "the failed write changed nothing");
  node_store_close(s);
  cr_assert_eq(node_store_open(&s, &o), BT_OK, "and it still opens");
  digest(s, file, d2);
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  node_store_close(s);
  gen_arena_free(a);
}

/* Opens d in a child process that is not root (root ignores permissions):
 * the child's result code. */
static int open_as_nobody(const char *d)
{
  int status;
  pid_t pid = fork();

  cr_assert_neq(pid, -1);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
      _exit(1);
    int rc = try_open(d, "pw", NULL, 0);
    _exit(rc == BT_EREADONLY ? 10 : rc == BT_OK ? 11 : 12);
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

Test(node_store, a_read_only_directory_is_a_clear_error)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  char sub[96], cmd[400];
  node_store *s;

  snprintf(sub, sizeof(sub), "%s/ro", dir);
  cr_assert_eq(chmod(dir, 0755), 0);
  s = open_store(sub, "pw");
  gen_seed(&r, 12);
  make_file(s, &r, a, 3, file);
  node_store_close(s);
  snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 '%s'", sub);
  if (geteuid() == 0)
    cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof(cmd), "chmod 0444 '%s'/*.mdb && chmod 0555 '%s'", sub, sub);
  cr_assert_eq(system(cmd), 0);
  cr_assert_eq(open_as_nobody(sub), 10, "BT_EREADONLY");
  snprintf(cmd, sizeof(cmd), "chmod 0700 '%s' && chmod 0600 '%s'/*.mdb", sub, sub);
  cr_assert_eq(system(cmd), 0);
  cr_assert_eq(open_as_nobody(sub), 11, "nothing was lost");
  gen_arena_free(a);
}

/* ---- a stolen disk ------------------------------------------------------------------ */

static int file_contains(const char *path, const char *needle)
{
  FILE *f = fopen(path, "rb");
  size_t cap = 1 << 16, n = 0, r, nl = strlen(needle);
  char *buf = malloc(cap);
  int found = 0;

  cr_assert_not_null(f);
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap)
      cr_assert_not_null(buf = realloc(buf, cap *= 2));
  }
  fclose(f);
  for (size_t i = 0; i + nl <= n && !found; i++)
    found = memcmp(buf + i, needle, nl) == 0;
  free(buf);
  return found;
}

Test(node_store, a_stolen_data_directory_reveals_no_name_text_or_upn)
{
  static const char *const canaries[] = {
    "Quoxanthe", "Zebrowskaya", "CANARY-concern-words-7731", "disclosed-canary-9",
    "B801200005001", "canary-passphrase-xyzzy",
  };
  crdt_fieldval fv[] = {
    {CRDT_FS_GIVEN, BT_STR("Quoxanthe")}, {CRDT_FS_FAMILY, BT_STR("Zebrowskaya")},
    {CRDT_FS_DOB, BT_STR("2015-03-04")}, {CRDT_FS_UPN, BT_STR("B801200005001")},
  };
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .user = BT_STR("dsl"), .known = 1};
  node_store *s = open_store(dir, "canary-passphrase-xyzzy");
  const crdt_casefile *cf;
  uint8_t file[16];
  crdt_id id;

  b.u.fields = (crdt_fields){fv, 4};
  cr_assert_eq(node_file_create(s, &b, file, &id), BT_OK);
  b = (crdt_body){.type = CRDT_OP_CONCERN, .user = BT_STR("staff"), .known = 1};
  b.u.concern = (crdt_concern){.written_at = fake_now, .author_name = BT_STR("Ms A"),
                               .author_role = BT_STR("TA"),
                               .facts = BT_STR("CANARY-concern-words-7731"),
                               .child_words = BT_STR("disclosed-canary-9")};
  cr_assert_eq(node_author(s, file, &b, &id), BT_OK);
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert(bt_str_eq(cf->fields[CRDT_FS_GIVEN].v[0].value, BT_STR("Quoxanthe")),
            "the node itself can read it");
  node_store_close(s);
  const char *files[] = {"data.mdb", "lock.mdb"};
  for (size_t f = 0; f < 2; f++) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
    for (size_t c = 0; c < sizeof(canaries) / sizeof(canaries[0]); c++)
      cr_assert(!file_contains(path, canaries[c]), "%s found in %s", canaries[c], files[f]);
    cr_assert(f == 1 || file_contains(path, "fileops"), "the scan sees plain bytes");
  }
}

/* ---- two writers, many orders ----------------------------------------------------- */

/* Sends every op of file that from holds to `to`, shuffled, in random batches. */
static void sync_one_way(gen_rng *r, node_store *from, node_store *to, const uint8_t *file)
{
  size_t n;
  crdt_op **o = export_ops(from, file, &n);
  bt_bytes *e = malloc(n * sizeof(*e));
  node_ingest_result *res = malloc(n * sizeof(*res));

  gen_shuffle(r, (void **)o, n);
  for (size_t i = 0; i < n; i++)
    e[i] = env_of(o[i]);
  for (size_t i = 0; i < n;) {
    size_t k = 1 + gen_below(r, n - i);
    node_ingest_stats st;
    cr_assert_eq(node_ingest(to, e + i, k, res, &st), BT_OK);
    cr_assert_eq(st.rejected, 0);
    i += k;
  }
  free(res);
  free(e);
  free_ops(o, n);
}

Test(node_store, two_writers_converge_whatever_the_delivery_order, .timeout = 120)
{
  for (uint64_t seed = 1; seed <= 12; seed++) {
    char da[96], db[96];
    gen_rng r;
    gen_arena *a = gen_arena_new();
    uint8_t file[16], d1[32], d2[32];
    node_store *s, *t;

    snprintf(da, sizeof(da), "%s/a%" PRIu64, dir, seed);
    snprintf(db, sizeof(db), "%s/b%" PRIu64, dir, seed);
    s = open_store(da, "a");
    t = open_bare(db, "b");
    same_org(s, t); /* two devices of the org that holds the file */
    gen_seed(&r, 100 + seed);
    make_file(s, &r, a, 2, file);
    share(s, t, file, 1);
    /* t reads the access state from the file before it writes: it needs
     * the genesis (and gets the rest of s's ops with it). */
    sync_one_way(&r, s, t, file);
    for (int round = 0; round < 6; round++) {
      for (int k = 0; k < 5; k++) {
        crdt_body b;
        crdt_id id;
        node_store *w = gen_below(&r, 2) ? s : t;
        gen_body(&r, a, gen_below(&r, 3) ? CRDT_OP_FIELD_SET : CRDT_OP_TAG_ADD, 0, &b, NULL, 0);
        cr_assert_eq(node_author(w, file, &b, &id), BT_OK, "seed %" PRIu64, seed);
      }
      if (gen_below(&r, 2))
        sync_one_way(&r, s, t, file);
      if (gen_below(&r, 2))
        sync_one_way(&r, t, s, file);
    }
    sync_one_way(&r, s, t, file);
    sync_one_way(&r, t, s, file);
    digest(s, file, d1);
    digest(t, file, d2);
    cr_assert_eq(memcmp(d1, d2, 32), 0, "seed %" PRIu64, seed);
    const crdt_casefile *cf;
    cr_assert_eq(node_casefile(t, file, &cf), BT_OK);
    cr_assert_eq(cf->nhidden, 0, "seed %" PRIu64 ": both write as members", seed);
    node_store_close(s);
    node_store_close(t);
    gen_arena_free(a);
  }
}

/* Signature checks on several threads give the same results as on one. */
Test(node_store, parallel_verification_agrees_with_serial)
{
  char d1s[96], d2s[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *src = open_store(dir, "src");
  size_t n;

  gen_seed(&r, 13);
  make_file(src, &r, a, 300, file);
  crdt_op **o = export_ops(src, file, &n);
  bt_bytes *e = malloc(n * sizeof(*e));
  node_ingest_result *r1 = malloc(n * sizeof(*r1)), *r2 = malloc(n * sizeof(*r2));
  uint8_t **bad = calloc(n, sizeof(*bad));
  for (size_t i = 0; i < n; i++) {
    e[i] = env_of(o[i]);
    if (gen_below(&r, 10) == 0) { /* some forged */
      bad[i] = malloc(o[i]->env_len);
      memcpy(bad[i], o[i]->env, o[i]->env_len);
      bad[i][o[i]->env_len - 1 - gen_below(&r, 64)] ^= 1;
      e[i] = (bt_bytes){bad[i], o[i]->env_len};
    }
  }
  for (int pass = 0; pass < 2; pass++) {
    node_store_opts op = opts(pass ? d2s : d1s, "x");
    node_store *s;
    snprintf(pass ? d2s : d1s, 96, "%s/p%d", dir, pass);
    op.threads = pass ? 4 : 1;
    cr_assert_eq(node_store_open(&s, &op), BT_OK);
    share(src, s, file, 1);
    cr_assert_eq(node_ingest(s, e, n, pass ? r2 : r1, NULL), BT_OK);
    node_store_close(s);
  }
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(r1[i].status, r2[i].status, "op %zu", i);
    cr_assert_eq(r1[i].reason, r2[i].reason, "op %zu", i);
    cr_assert_eq(r1[i].status == NODE_REJECTED, bad[i] != NULL, "op %zu", i);
    free(bad[i]);
  }
  free(bad);
  free(r1);
  free(r2);
  free(e);
  free_ops(o, n);
  node_store_close(src);
  gen_arena_free(a);
}

/* Two files in s, and an op of f2 (by device dev) whose parent is f1's
 * head: the fixture of the foreign-parent tests. */
static crdt_op *foreign_child(node_store *s, gen_rng *r, gen_arena *a, uint64_t dev,
                              uint8_t f1[16], uint8_t f2[16])
{
  uint8_t e2[16];
  node_secret *key;
  crdt_body b;
  gen_key k;
  crdt_id h1[4];
  size_t n1;

  make_file(s, r, a, 1, f1);
  make_file(s, r, a, 1, f2);
  cr_assert_eq(node_heads(s, f1, h1, 4, &n1), BT_OK);
  cr_assert_eq(node_file_epoch(s, f2, e2), BT_OK);
  cr_assert_eq(node_file_key(s, f2, e2, &key), BT_OK);
  gen_keypair(dev, &k);
  gen_body(r, a, CRDT_OP_CHRONO, crdt_hlc_make(fake_now, 0), &b, NULL, 0);
  crdt_op *x = gen_seal(r, &k, f2, e2, node_secret_bytes(key), 1, h1, n1, &b);
  node_secret_free(key);
  return x;
}

/* Ingests at t, in one batch, every op of file that s holds (at most 8);
 * returns how many. */
static size_t ingest_every_op(node_store *s, node_store *t, const uint8_t *file,
                              node_ingest_result res[8])
{
  size_t n;
  crdt_op **o = export_ops(s, file, &n);
  bt_bytes all[8];

  cr_assert_leq(n, 8, "the arrays below hold every op");
  for (size_t i = 0; i < n; i++)
    all[i] = env_of(o[i]);
  cr_assert_eq(node_ingest(t, all, n, res, NULL), BT_OK);
  free_ops(o, n);
  return n;
}

/* An op whose parent lives in another file can never apply: refused when
 * that parent is here, left in the buffer when it comes later. */
Test(node_store, a_parent_from_another_file_is_refused)
{
  char d2[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t f1[16], f2[16];
  node_store *s = open_store(dir, "a"), *t;
  node_ingest_result res[8];
  size_t ops, buf;

  gen_seed(&r, 14);
  crdt_op *x = foreign_child(s, &r, a, 5, f1, f2);
  bt_bytes e = env_of(x);
  cr_assert_eq(node_ingest(s, &e, 1, res, NULL), BT_OK);
  cr_assert_eq(res[0].status, NODE_REJECTED);
  cr_assert_eq(res[0].reason, BT_EPARENTS);
  /* Elsewhere, the same op first, then its foreign parent. */
  snprintf(d2, sizeof(d2), "%s/t", dir);
  t = open_store(d2, "t");
  share(s, t, f1, 1);
  share(s, t, f2, 1);
  cr_assert_eq(node_ingest(t, &e, 1, res, NULL), BT_OK);
  cr_assert_eq(res[0].status, NODE_BUFFERED);
  size_t n = ingest_every_op(s, t, f1, res);
  cr_assert_eq(node_store_counts(t, &ops, &buf), BT_OK);
  cr_assert_eq(ops, n, "the foreign child was not released");
  cr_assert_eq(buf, 1);
  crdt_op_free(x);
  node_store_close(s);
  node_store_close(t);
  gen_arena_free(a);
}

/* The CLI beside a running batond: two processes on one directory (LMDB
 * allows one handle per process). A write by the other process is seen by
 * this one's next read, though it had the file cached. */
Test(node_store, another_process_writing_is_seen_through_the_cache)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *daemon = open_store(dir, "pw");
  const crdt_casefile *cf;
  crdt_id id;
  int status, fd[2];

  gen_seed(&r, 15);
  make_file(daemon, &r, a, 3, file);
  cr_assert_eq(node_casefile(daemon, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, CREATE_OPS + 3, "the file's first ops and 3 entries");
  cr_assert_eq(pipe(fd), 0);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) { /* the CLI: its own handle, never the parent's */
    node_store_opts o = opts(dir, "pw");
    node_store *cli;
    crdt_body b;
    if (node_store_open(&cli, &o) != 0)
      _exit(1);
    gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
    if (node_author(cli, file, &b, &id) != 0)
      _exit(2);
    node_store_close(cli);
    _exit(write(fd[1], &id, sizeof(id)) == sizeof(id) ? 0 : 3);
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d", WEXITSTATUS(status));
  cr_assert_eq(read(fd[0], &id, sizeof(id)), (ssize_t)sizeof(id));
  close(fd[0]);
  close(fd[1]);
  cr_assert_eq(node_casefile(daemon, file, &cf), BT_OK);
  cr_assert_eq(cf->nops, CREATE_OPS + 4, "the daemon's cached view was refreshed");
  cr_assert_not_null(crdt_casefile_entry(cf, &id));
  node_store_close(daemon);
  gen_arena_free(a);
}

/* ---- from the review of the store ------------------------------------------------ */

/* A parent that lives in another file, once held, is no longer missing. */
Test(node_store, a_foreign_parent_once_held_is_not_missing)
{
  char d2[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t f1[16], f2[16];
  node_store *s = open_store(dir, "a"), *t;
  node_ingest_result res[8];
  crdt_id miss[4];
  size_t nm;

  gen_seed(&r, 16);
  crdt_op *x = foreign_child(s, &r, a, 6, f1, f2);
  snprintf(d2, sizeof(d2), "%s/t", dir);
  t = open_store(d2, "t");
  share(s, t, f1, 1);
  share(s, t, f2, 1);
  bt_bytes e = env_of(x);
  cr_assert_eq(node_ingest(t, &e, 1, res, NULL), BT_OK);
  cr_assert_eq(node_missing(t, f2, miss, 4, &nm), BT_OK);
  cr_assert_eq(nm, 1);
  ingest_every_op(s, t, f1, res);
  cr_assert_eq(node_missing(t, f2, miss, 4, &nm), BT_OK);
  cr_assert_eq(nm, 0, "sync must not ask for an op it holds");
  crdt_op_free(x);
  node_store_close(s);
  node_store_close(t);
  gen_arena_free(a);
}

/* A peer's clock ten hours ahead: our reply still sorts after it. */
Test(node_store, a_reply_comes_after_its_parents_in_hlc_order)
{
  char d2[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *s = open_store(dir, "a"), *t;
  const crdt_casefile *cf;
  crdt_body b;
  crdt_id id, ahead;
  size_t n;

  snprintf(d2, sizeof(d2), "%s/t", dir);
  t = open_bare(d2, "t");
  same_org(s, t); /* t may write in s's file */
  gen_seed(&r, 17);
  make_file(s, &r, a, 1, file);
  share(s, t, file, 1);
  fake_now += 10 * 3600000ull; /* s's clock runs ahead */
  gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  cr_assert_eq(node_author(s, file, &b, &ahead), BT_OK);
  fake_now -= 10 * 3600000ull;
  crdt_op **o = export_ops(s, file, &n);
  cr_assert_leq(n, 8, "the arrays below hold every op");
  bt_bytes all[8];
  node_ingest_result res[8];
  for (size_t i = 0; i < n; i++)
    all[i] = env_of(o[i]);
  cr_assert_eq(node_ingest(t, all, n, res, NULL), BT_OK);
  gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  cr_assert_eq(node_author(t, file, &b, &id), BT_OK);
  size_t ops, buf;
  cr_assert_eq(node_store_counts(t, &ops, &buf), BT_OK);
  cr_assert_eq(ops, n + 2, "t's first op in the file comes after a member op binding t");
  cr_assert_eq(node_casefile(t, file, &cf), BT_OK);
  cr_assert_eq(cf->nhidden, 0, "t writes as a member of the holding org");
  cr_assert_gt(crdt_casefile_entry(cf, &id)->body->hlc,
               crdt_casefile_entry(cf, &ahead)->body->hlc);
  free_ops(o, n);
  node_store_close(s);
  node_store_close(t);
  gen_arena_free(a);
}

Test(node_store, a_held_key_is_never_dropped_or_replaced)
{
  char d2[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], epoch[16], other[32] = {1};
  node_store *s = open_store(dir, "a"), *relay;
  const crdt_casefile *cf;
  node_secret *key, *again;
  crdt_body b;
  crdt_id id;
  size_t n;

  snprintf(d2, sizeof(d2), "%s/relay", dir);
  relay = open_store(d2, "r");
  gen_seed(&r, 18);
  make_file(s, &r, a, 3, file);
  cr_assert_eq(node_file_epoch(s, file, epoch), BT_OK);
  cr_assert_eq(node_file_track(s, file, epoch, NULL), BT_OK);
  cr_assert_eq(node_file_key(s, file, epoch, &key), BT_OK, "still a reader");
  /* A second, different secret for a held epoch is ignored (BT_OK): the
   * first is kept, and so are the content and control keys derived from it. */
  cr_assert_eq(node_file_track(s, file, epoch, other), BT_OK);
  cr_assert_eq(node_file_key(s, file, epoch, &again), BT_OK);
  cr_assert_eq(memcmp(node_secret_bytes(again), node_secret_bytes(key), CRDT_KEY_LEN), 0,
               "no second key");
  node_secret_free(again);
  gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  cr_assert_eq(node_author(s, file, &b, &id), BT_OK, "still a writer, with the first key");
  cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
  cr_assert_eq(cf->nunknown, 0, "every op, the new one too, opens with the first key");
  cr_assert_eq(cf->nhidden, 0);
  /* A relay that is later given the key reads at once. */
  share(s, relay, file, 0);
  crdt_op **o = export_ops(s, file, &n);
  cr_assert_leq(n, 8, "the arrays below hold every op");
  bt_bytes all[8];
  node_ingest_result res[8];
  for (size_t i = 0; i < n; i++)
    all[i] = env_of(o[i]);
  cr_assert_eq(node_ingest(relay, all, n, res, NULL), BT_OK);
  cr_assert_eq(node_casefile(relay, file, &cf), BT_OK);
  cr_assert_eq(cf->nunknown, n - CREATE_PUBLIC_OPS);
  cr_assert_eq(node_file_track(relay, file, epoch, node_secret_bytes(key)), BT_OK);
  cr_assert_eq(node_casefile(relay, file, &cf), BT_OK);
  cr_assert_eq(cf->nunknown, 0);
  free_ops(o, n);
  node_secret_free(key);
  node_store_close(s);
  node_store_close(relay);
  gen_arena_free(a);
}

Test(node_store, opening_nothing_creates_nothing)
{
  char path[96];
  struct stat st;

  cr_assert_eq(try_open(dir, "pw", NULL, 0), BT_ENOTFOUND);
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  cr_assert_neq(stat(path, &st), 0, "no data.mdb left behind");
  cr_assert_eq(try_open(dir, "", NULL, 1), BT_EINVAL, "an empty passphrase");
}

/* ---- the streaming ingest ------------------------------------------------------------ */

Test(node_store, a_stream_stores_what_one_batch_would)
{
  char d1s[96], d2s[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16], dg1[32], dg2[32];
  node_store *src = open_store(dir, "src"), *s1, *s2;
  size_t n, ops, buf;

  gen_seed(&r, 19);
  make_file(src, &r, a, 1500, file);
  crdt_op **o = export_ops(src, file, &n);
  gen_shuffle(&r, (void **)o, n); /* plenty of buffering and release */
  bt_bytes *e = malloc(n * sizeof(*e));
  node_ingest_result *r1 = malloc(n * sizeof(*r1)), *r2 = malloc(n * sizeof(*r2));
  node_ingest_stats st1, st2;
  for (size_t i = 0; i < n; i++)
    e[i] = env_of(o[i]);
  snprintf(d1s, sizeof(d1s), "%s/one", dir);
  snprintf(d2s, sizeof(d2s), "%s/stream", dir);
  s1 = open_store(d1s, "x");
  s2 = open_store(d2s, "x");
  share(src, s1, file, 1);
  share(src, s2, file, 1);
  cr_assert_eq(node_ingest(s1, e, n, r1, &st1), BT_OK);
  cr_assert_eq(node_ingest_stream(s2, e, n, 300, r2, &st2), BT_OK);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(r1[i].status, r2[i].status, "op %zu", i);
  cr_assert_eq(st1.stored, st2.stored);
  cr_assert_eq(st1.released, st2.released);
  cr_assert_gt(st2.released, 100, "the order really buffered ops");
  cr_assert_eq(node_store_counts(s2, &ops, &buf), BT_OK);
  cr_assert_eq(ops, n);
  cr_assert_eq(buf, 0);
  digest(s1, file, dg1);
  digest(s2, file, dg2);
  cr_assert_eq(memcmp(dg1, dg2, 32), 0);
  free(e);
  free(r1);
  free(r2);
  free_ops(o, n);
  node_store_close(s1);
  node_store_close(s2);
  node_store_close(src);
  gen_arena_free(a);
}

/* The store fills up mid-stream: what was committed stays and says so;
 * what was not is reported undecided (status 0) and is not there. */
Test(node_store, a_stream_that_fills_the_disk_keeps_its_committed_part)
{
  char d2[96];
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t file[16];
  node_store *src = open_store(dir, "src"), *s;
  node_store_opts o2;
  size_t n, ops, buf, decided = 0;

  gen_seed(&r, 20);
  make_file(src, &r, a, 1200, file);
  crdt_op **o = export_ops(src, file, &n);
  bt_bytes *e = malloc(n * sizeof(*e));
  node_ingest_result *res = malloc(n * sizeof(*res));
  for (size_t i = 0; i < n; i++)
    e[i] = env_of(o[i]);
  snprintf(d2, sizeof(d2), "%s/small", dir);
  o2 = opts(d2, "x");
  o2.map_size = 1536 * 1024;
  cr_assert_eq(node_store_open(&s, &o2), BT_OK);
  share(src, s, file, 1);
  cr_assert_eq(node_ingest_stream(s, e, n, 256, res, NULL), BT_EFULL);
  while (decided < n && res[decided].status != 0)
    decided++;
  cr_assert_gt(decided, 0, "some transactions committed before the map filled");
  cr_assert_lt(decided, n);
  for (size_t i = decided; i < n; i++)
    cr_assert_eq(res[i].status, 0, "op %zu", i);
  node_store_close(s);
  cr_assert_eq(node_store_open(&s, &o2), BT_OK);
  cr_assert_eq(node_store_counts(s, &ops, &buf), BT_OK);
  cr_assert_eq(ops + buf, decided, "exactly the decided ops are there");
  for (size_t i = 0; i < decided; i++) {
    crdt_op *got;
    cr_assert_eq(node_op_get(s, &o[i]->id, &got), BT_OK, "op %zu", i);
    crdt_op_free(got);
  }
  free(e);
  free(res);
  free_ops(o, n);
  node_store_close(s);
  node_store_close(src);
  gen_arena_free(a);
}

/* Plaintext of many files is not all kept: the cache holds the most
 * recently used NODE_CACHE_FILES, and an evicted file is rebuilt. */
Test(node_store, the_cache_keeps_a_bounded_number_of_files)
{
  gen_rng r;
  gen_arena *a = gen_arena_new();
  uint8_t files[NODE_CACHE_FILES + 8][16], d1[32], d2[32];
  node_store *s = open_store(dir, "a");

  gen_seed(&r, 21);
  for (size_t i = 0; i < NODE_CACHE_FILES + 8; i++)
    make_file(s, &r, a, 1, files[i]);
  digest(s, files[0], d1);
  for (size_t i = 1; i < NODE_CACHE_FILES + 8; i++)
    digest(s, files[i], d2);
  digest(s, files[0], d2); /* evicted by now: rebuilt, same answer */
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  node_store_close(s);
  gen_arena_free(a);
}
