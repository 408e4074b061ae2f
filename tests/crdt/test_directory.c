/* tests/crdt/test_directory.c: an LA's directory of orgs (crdt/directory.h).
 *
 * The LA (key 1) publishes a public file; key 2 is a neighbouring LA and
 * key 3 a stranger. Ops are real sealed envelopes. Each rule gets its own
 * test, with the reason a broken op is listed under; the convergence
 * property then feeds random worlds to fresh DAGs in random orders with
 * duplicates and demands identical digests. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sodium.h>

#include "crdt/access.h"
#include "crdt/directory.h"
#include "crdt/err.h"
#include "crdt/gen.h"

#define T0 1767225600000ull /* 2026-01-01 */
#define DAY 86400000ull
#define YEAR (365 * DAY)
#define MAXOPS 128

static const uint8_t DIRF[CRDT_FILE_LEN] = {0xD1, 0x5E, 0xC7};
static const uint8_t OTHERF[CRDT_FILE_LEN] = {0x07};
static const uint8_t HK[16] = {7};

typedef struct {
  gen_rng r;
  gen_arena *ar;
  gen_key la, la2, stranger;
  crdt_op *ops[MAXOPS];
  size_t n;
  uint64_t seq, sseq; /* the LA's and the stranger's */
  uint64_t ms;        /* HLC milliseconds of the next op */
} world;

static world w;

static void world_init(world *x, uint64_t seed)
{
  memset(x, 0, sizeof(*x));
  gen_seed(&x->r, seed);
  x->ar = gen_arena_new();
  gen_keypair(1, &x->la);
  gen_keypair(2, &x->la2);
  gen_keypair(3, &x->stranger);
  x->ms = T0 - 30 * DAY;
}

static void world_free(world *x)
{
  for (size_t i = 0; i < x->n; i++)
    crdt_op_free(x->ops[i]);
  gen_arena_free(x->ar);
}

static void setup(void)
{
  world_init(&w, 1);
}

static void teardown(void)
{
  world_free(&w);
}

TestSuite(crdt_directory, .init = setup, .fini = teardown);

/* ---- fixtures ----------------------------------------------------------- */

static gen_key org_key(uint64_t n)
{
  gen_key k;

  gen_keypair(100 + n, &k);
  return k;
}

/* Certificate bytes, in the world's arena. */
static bt_str cert(world *x, uint32_t kind, const gen_key *subject, const gen_key *issuer,
                   const char *name, uint64_t nb, uint64_t na)
{
  crdt_cert_body b = {.kind = kind, .name = bt_strz(name), .not_before = nb, .not_after = na};
  uint8_t *enc;
  size_t len;
  char *p;
  int rc;

  memcpy(b.subject.b, subject->pk, 32);
  memcpy(b.issuer.b, issuer->pk, 32);
  if (kind == CRDT_CERT_ORG) {
    memset(b.box.b, 0x5b, 32);
    b.org_kind = CRDT_ORG_SCHOOL;
  }
  rc = crdt_cert_sign(&b, issuer->sk, &enc, &len);
  cr_assert_eq(rc, BT_OK, "sign: %s", bt_strerror(rc));
  p = gen_alloc(x->ar, len);
  memcpy(p, enc, len);
  free(enc);
  return (bt_str){p, len};
}

static bt_str org_cert(world *x, const gen_key *subject, const char *name, uint64_t nb,
                       uint64_t na)
{
  return cert(x, CRDT_CERT_ORG, subject, &x->la, name, nb, na);
}

static crdt_cert *decoded(bt_str bytes)
{
  crdt_cert *c;

  cr_assert_eq(crdt_cert_decode((const uint8_t *)bytes.p, bytes.len, &c), BT_OK);
  return c;
}

static crdt_body listing(world *x, bt_str c)
{
  crdt_body b = {.hlc = crdt_hlc_make(x->ms += 1000, 0), .type = CRDT_OP_DIR_ORG,
                 .user = BT_STR("la.admin"), .known = 1};

  b.u.dir_org.cert = c;
  return b;
}

static crdt_body revocation(world *x, const uint8_t subject[32], const char *why, uint64_t at)
{
  crdt_body b = {.hlc = crdt_hlc_make(x->ms += 1000, 0), .type = CRDT_OP_DIR_REVOKE,
                 .user = BT_STR("la.admin"), .known = 1};

  memcpy(b.u.dir_revoke.subject.b, subject, 32);
  b.u.dir_revoke.reason = bt_strz(why);
  b.u.dir_revoke.at = at;
  return b;
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

static crdt_id keep(world *x, crdt_op *op)
{
  cr_assert_lt(x->n, MAXOPS);
  x->ops[x->n++] = op;
  return op->id;
}

/* The LA publishes b through the API, after parents p[0..np). */
static crdt_id publish(world *x, const crdt_body *b, const crdt_id *p, size_t np)
{
  crdt_id ps[CRDT_PARENTS_MAX];
  uint8_t nonce[CRDT_NONCE_LEN];
  crdt_op *op;
  size_t k = 0;
  int rc;

  if (np)
    memcpy(ps, p, np * sizeof(crdt_id));
  qsort(ps, np, sizeof(crdt_id), cmp_id);
  for (size_t i = 0; i < np; i++)
    if (k == 0 || crdt_id_cmp(&ps[k - 1], &ps[i]) != 0)
      ps[k++] = ps[i];
  gen_bytes(&x->r, nonce, sizeof(nonce));
  rc = crdt_directory_seal(DIRF, x->la.sk, ++x->seq, ps, k, b, nonce, &op);
  cr_assert_eq(rc, BT_OK, "seal: %s", bt_strerror(rc));
  return keep(x, op);
}

/* Seals b by hand, bypassing the API's checks: file, epoch and key given. */
static crdt_id forge_with(world *x, const gen_key *author, uint64_t seq, const uint8_t *file,
                          const uint8_t *epoch, const uint8_t *key, const crdt_body *b,
                          const crdt_id *p, size_t np)
{
  return keep(x, gen_seal(&x->r, author, file, epoch, key, seq, p, np, b));
}

/* A public op of this directory by any author, checks bypassed. */
static crdt_id forge(world *x, const gen_key *author, const crdt_body *b, const crdt_id *p,
                     size_t np)
{
  uint8_t epoch[CRDT_EPOCH_LEN], key[CRDT_KEY_LEN];
  uint64_t seq = author == &x->la ? ++x->seq : ++x->sseq;

  crdt_public_epoch(DIRF, epoch);
  crdt_public_key(DIRF, epoch, key);
  return forge_with(x, author, seq, DIRF, epoch, key, b, p, np);
}

/* A fresh DAG holding ops[0..n) (copies), in that order. */
static crdt_dag *dag_of(crdt_op *const *ops, size_t n)
{
  crdt_dag_status st;
  crdt_dag *d;
  crdt_op *c;

  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(crdt_op_dup(ops[i], &c), BT_OK);
    cr_assert_eq(crdt_dag_add(d, c, &st), BT_OK);
  }
  return d;
}

/* The directory of the world's ops at now, from a DAG freed at once: the
 * directory must not borrow from it. */
static crdt_directory *dir_at(world *x, uint64_t now)
{
  crdt_dag *d = dag_of(x->ops, x->n);
  crdt_directory *dir;
  int rc = crdt_directory_build(d, DIRF, x->la.pk, now, &dir);

  cr_assert_eq(rc, BT_OK, "build: %s", bt_strerror(rc));
  crdt_dag_free(d);
  return dir;
}

static const crdt_dir_rejected *rejected(const crdt_directory *dir, const crdt_id *op)
{
  for (size_t i = 0; i < dir->nrejected; i++)
    if (crdt_id_cmp(&dir->rejected[i].op, op) == 0)
      return &dir->rejected[i];
  return NULL;
}

static void assert_rejected(const crdt_directory *dir, const crdt_id *op, uint32_t reason)
{
  const crdt_dir_rejected *r = rejected(dir, op);

  cr_assert_not_null(r, "op not rejected (wanted %s)", crdt_dir_reason_name(reason));
  cr_assert_eq(r->reason, reason, "reason %s, wanted %s", crdt_dir_reason_name(r->reason),
               crdt_dir_reason_name(reason));
}

/* ---- listing ------------------------------------------------------------ */

Test(crdt_directory, listed_orgs_are_sorted_by_name_with_fingerprints)
{
  const char *names[] = {"Oakfield Primary", "Ashby Academy", "Beech Hill Infants"};
  gen_key k[3];
  crdt_id prev = {{0}};
  crdt_directory *dir;
  char fpr[CRDT_FPR_LEN];

  for (int i = 0; i < 3; i++) {
    k[i] = org_key((uint64_t)i);
    crdt_body b = listing(&w, org_cert(&w, &k[i], names[i], T0, T0 + YEAR));
    prev = publish(&w, &b, &prev, i > 0);
  }
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 3);
  cr_assert_eq(dir->nrejected, 0);
  cr_assert_eq(dir->nops, 3);
  for (int i = 0; i < 3; i++) {
    const crdt_dir_entry *e = &dir->entries[i];
    int want = i == 0 ? 1 : i == 1 ? 2 : 0; /* Ashby, Beech, Oakfield */
    cr_assert(bt_str_eq(e->cert->b.name, bt_strz(names[want])), "entry %d", i);
    crdt_fingerprint(k[want].pk, 32, fpr);
    cr_assert_str_eq(e->fingerprint, fpr);
    cr_assert_eq(e->when, CRDT_DIR_CURRENT);
    cr_assert_eq(e->revoked, 0);
    cr_assert(crdt_id_is_zero(&e->revoked_by));
    cr_assert_eq(crdt_directory_find(dir, k[want].pk), e);
  }
  cr_assert_null(crdt_directory_find(dir, w.stranger.pk));
  crdt_directory_free(dir);
}

Test(crdt_directory, the_seal_is_public_and_signed_by_the_root_key)
{
  crdt_body b = listing(&w, org_cert(&w, &w.stranger, "Oakfield Primary", T0, T0 + YEAR));
  uint8_t epoch[CRDT_EPOCH_LEN], key[CRDT_KEY_LEN];
  crdt_id id = publish(&w, &b, NULL, 0);
  const crdt_op *op = w.ops[0];
  crdt_body *body;

  cr_assert_eq(crdt_id_cmp(&id, &op->id), 0);
  cr_assert_eq(memcmp(op->h.author, w.la.pk, 32), 0);
  crdt_public_epoch(DIRF, epoch);
  cr_assert_eq(memcmp(op->h.epoch, epoch, CRDT_EPOCH_LEN), 0);
  cr_assert_eq(crdt_op_verify(op), BT_OK);
  /* Anyone holding the bytes reads it with what the bytes say. */
  crdt_public_key(op->h.file, op->h.epoch, key);
  cr_assert_eq(crdt_op_decrypt(op, key, &body), BT_OK);
  cr_assert_eq(body->type, CRDT_OP_DIR_ORG);
  crdt_body_free(body);
}

/* ---- revocation --------------------------------------------------------- */

static crdt_cert *device_of(world *x, const gen_key *org, uint64_t n)
{
  gen_key dev;

  gen_keypair(500 + n, &dev);
  return decoded(cert(x, CRDT_CERT_DEVICE, &dev, org, "DSL laptop", T0 - YEAR, T0 + 2 * YEAR));
}

Test(crdt_directory, revocations_are_listed_and_refuse_chains)
{
  gen_key a = org_key(1), b = org_key(2);
  bt_str ca = org_cert(&w, &a, "Ashby Academy", T0 - YEAR, T0 + YEAR);
  bt_str cb = org_cert(&w, &b, "Beech Hill Infants", T0 - YEAR, T0 + YEAR);
  crdt_cert *oa = decoded(ca), *ob = decoded(cb);
  crdt_cert *da = device_of(&w, &a, 1), *db = device_of(&w, &b, 2);
  crdt_id anchor, h[2], rk, rid;
  crdt_body x;
  crdt_directory *dir;
  const crdt_dir_entry *ea, *eb;

  memcpy(anchor.b, w.la.pk, 32);
  x = listing(&w, ca);
  h[0] = publish(&w, &x, NULL, 0);
  x = listing(&w, cb);
  h[1] = publish(&w, &x, NULL, 0);
  /* A by key from day 10, and by certificate id from day 15: the earlier counts. */
  x = revocation(&w, a.pk, "school closed", T0 + 10 * DAY);
  rk = publish(&w, &x, h, 2);
  x = revocation(&w, oa->id.b, "superseded by academy order", T0 + 15 * DAY);
  publish(&w, &x, &rk, 1);
  /* B's certificate from day 100: in the future at day 20. */
  x = revocation(&w, ob->id.b, "key compromised", T0 + 100 * DAY);
  rid = publish(&w, &x, &h[1], 1);

  dir = dir_at(&w, T0 + 20 * DAY);
  cr_assert_eq(dir->nrevocations, 3);
  ea = crdt_directory_find(dir, a.pk);
  eb = crdt_directory_find(dir, b.pk);
  cr_assert(ea && eb);
  cr_assert_eq(ea->revoked, 1);
  cr_assert_eq(crdt_id_cmp(&ea->revoked_by, &rk), 0);
  cr_assert_eq(ea->revoked_at, T0 + 10 * DAY);
  cr_assert(bt_str_eq(ea->revoke_reason, BT_STR("school closed")));
  cr_assert_eq(eb->revoked, 0, "a future revocation is not yet in effect");
  cr_assert_eq(crdt_id_cmp(&eb->revoked_by, &rid), 0, "but it is shown");
  cr_assert_eq(dir->nrevoked, 2, "A's key and A's certificate");
  cr_assert_eq(crdt_chain_check(da, oa, &anchor, 1, T0 + 20 * DAY, NULL, 0), BT_OK);
  cr_assert_eq(crdt_chain_check(da, oa, &anchor, 1, T0 + 20 * DAY, dir->revoked, dir->nrevoked),
               BT_EREVOKED);
  cr_assert_eq(crdt_chain_check(db, ob, &anchor, 1, T0 + 20 * DAY, dir->revoked, dir->nrevoked),
               BT_OK);
  crdt_directory_free(dir);

  dir = dir_at(&w, T0 + 100 * DAY);
  cr_assert_eq(dir->nrevoked, 3);
  eb = crdt_directory_find(dir, b.pk);
  cr_assert_eq(eb->revoked, 1);
  cr_assert(bt_str_eq(eb->revoke_reason, BT_STR("key compromised")));
  cr_assert_eq(crdt_chain_check(db, ob, &anchor, 1, T0 + 100 * DAY, dir->revoked, dir->nrevoked),
               BT_EREVOKED);
  for (size_t i = 1; i < dir->nrevoked; i++)
    cr_assert_lt(crdt_id_cmp(&dir->revoked[i - 1], &dir->revoked[i]), 0, "ascending, distinct");
  crdt_directory_free(dir);
  crdt_cert_free(oa);
  crdt_cert_free(ob);
  crdt_cert_free(da);
  crdt_cert_free(db);
}

Test(crdt_directory, a_key_can_be_revoked_before_it_is_listed)
{
  gen_key a = org_key(1);
  crdt_body x = revocation(&w, a.pk, "stolen laptop held the key", T0);
  crdt_id r = publish(&w, &x, NULL, 0);
  crdt_directory *dir;

  x = listing(&w, org_cert(&w, &a, "Ashby Academy", T0 - YEAR, T0 + YEAR));
  publish(&w, &x, NULL, 0); /* concurrent with the revocation */
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 1);
  cr_assert_eq(dir->entries[0].revoked, 1);
  cr_assert_eq(crdt_id_cmp(&dir->entries[0].revoked_by, &r), 0);
  crdt_directory_free(dir);
}

/* ---- rejection ---------------------------------------------------------- */

Test(crdt_directory, an_op_by_another_author_is_rejected)
{
  gen_key a = org_key(1), c = org_key(3);
  crdt_body x = listing(&w, org_cert(&w, &a, "Ashby Academy", T0 - YEAR, T0 + YEAR));
  crdt_id h = publish(&w, &x, NULL, 0), f1, f2;
  crdt_directory *dir;

  /* A valid LA certificate, but published by someone else. */
  x = listing(&w, org_cert(&w, &c, "Cedar Lane Primary", T0 - YEAR, T0 + YEAR));
  f1 = forge(&w, &w.stranger, &x, &h, 1);
  x = revocation(&w, a.pk, "spite", T0);
  f2 = forge(&w, &w.stranger, &x, &h, 1);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 1);
  cr_assert_eq(dir->nrejected, 2);
  assert_rejected(dir, &f1, CRDT_DIR_AUTHOR);
  assert_rejected(dir, &f2, CRDT_DIR_AUTHOR);
  cr_assert_null(crdt_directory_find(dir, c.pk));
  cr_assert_eq(crdt_directory_find(dir, a.pk)->revoked, 0);
  cr_assert_eq(dir->nrevocations, 0);
  cr_assert_eq(dir->nrevoked, 0);
  crdt_directory_free(dir);
}

Test(crdt_directory, a_certificate_of_another_la_is_rejected)
{
  gen_key a = org_key(1);
  bt_str theirs = cert(&w, CRDT_CERT_ORG, &a, &w.la2, "Ashby Academy", T0 - YEAR, T0 + YEAR);
  crdt_body x = listing(&w, theirs);
  uint8_t nonce[CRDT_NONCE_LEN] = {0};
  crdt_directory *dir;
  crdt_op *op;
  crdt_id f;

  cr_assert_eq(crdt_directory_seal(DIRF, w.la.sk, 1, NULL, 0, &x, nonce, &op), BT_EANCHOR,
               "the API refuses to publish it");
  f = forge(&w, &w.la, &x, NULL, 0);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 0);
  assert_rejected(dir, &f, CRDT_DIR_ISSUER);
  crdt_directory_free(dir);
}

Test(crdt_directory, every_certificate_defect_has_its_reason)
{
  gen_key a = org_key(1), dev;
  uint8_t nonce[CRDT_NONCE_LEN] = {0};
  crdt_directory *dir;
  crdt_body x;
  crdt_op *op;
  crdt_id f[3];
  bt_str bad;
  char *p;

  gen_keypair(500, &dev);
  x = listing(&w, cert(&w, CRDT_CERT_DEVICE, &dev, &w.la, "DSL laptop", T0, T0 + YEAR));
  cr_assert_eq(crdt_directory_seal(DIRF, w.la.sk, 1, NULL, 0, &x, nonce, &op), BT_ECHAIN);
  f[0] = forge(&w, &w.la, &x, NULL, 0);
  x = listing(&w, org_cert(&w, &w.la, "The LA itself", T0, T0 + YEAR));
  cr_assert_eq(crdt_directory_seal(DIRF, w.la.sk, 1, NULL, 0, &x, nonce, &op), BT_ESELFSIGNED);
  f[1] = forge(&w, &w.la, &x, NULL, 0);
  bad = org_cert(&w, &a, "Ashby Academy", T0, T0 + YEAR);
  p = gen_alloc(w.ar, bad.len);
  memcpy(p, bad.p, bad.len);
  p[bad.len - 1] ^= 1; /* the certificate's signature */
  x = listing(&w, (bt_str){p, bad.len});
  cr_assert_eq(crdt_directory_seal(DIRF, w.la.sk, 1, NULL, 0, &x, nonce, &op), BT_ESIG);
  f[2] = forge(&w, &w.la, &x, NULL, 0);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 0);
  assert_rejected(dir, &f[0], CRDT_DIR_KIND);
  assert_rejected(dir, &f[1], CRDT_DIR_SELFSIGNED);
  assert_rejected(dir, &f[2], CRDT_DIR_CERT);
  crdt_directory_free(dir);
}

Test(crdt_directory, ops_outside_the_public_envelope_are_rejected)
{
  gen_key a = org_key(1);
  uint8_t epoch[CRDT_EPOCH_LEN], key[CRDT_KEY_LEN], other_epoch[CRDT_EPOCH_LEN] = {9};
  uint8_t nonce[CRDT_NONCE_LEN] = {0}, wrong[CRDT_KEY_LEN] = {1};
  crdt_body x = listing(&w, org_cert(&w, &a, "Ashby Academy", T0, T0 + YEAR)), tag;
  crdt_directory *dir;
  crdt_op *op;
  crdt_id f[4];

  crdt_public_epoch(OTHERF, epoch);
  crdt_public_key(OTHERF, epoch, key);
  f[0] = forge_with(&w, &w.la, ++w.seq, OTHERF, epoch, key, &x, NULL, 0); /* another file */
  crdt_public_key(DIRF, other_epoch, key);
  f[1] = forge_with(&w, &w.la, ++w.seq, DIRF, other_epoch, key, &x, NULL, 0); /* epoch */
  crdt_public_epoch(DIRF, epoch);
  f[2] = forge_with(&w, &w.la, ++w.seq, DIRF, epoch, wrong, &x, NULL, 0); /* not public */
  tag = (crdt_body){.hlc = crdt_hlc_make(w.ms += 1000, 0), .type = CRDT_OP_TAG_ADD,
                    .user = BT_STR("la.admin"), .known = 1};
  tag.u.tag.tag = BT_STR("neglect");
  cr_assert_eq(crdt_directory_seal(DIRF, w.la.sk, 1, NULL, 0, &tag, nonce, &op), BT_EINVAL);
  f[3] = forge(&w, &w.la, &tag, NULL, 0);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 0);
  cr_assert_eq(dir->nrejected, 4);
  assert_rejected(dir, &f[0], CRDT_DIR_ENVELOPE);
  assert_rejected(dir, &f[1], CRDT_DIR_ENVELOPE);
  assert_rejected(dir, &f[2], CRDT_DIR_UNREADABLE);
  assert_rejected(dir, &f[3], CRDT_DIR_TYPE);
  crdt_directory_free(dir);
}

/* Every single-bit change to a published op is refused somewhere on the
 * receiving path: the strict decoder, the signature, or (for a flip that
 * still decodes and reaches the DAG) the directory, which lists nothing. */
Test(crdt_directory, every_bit_flip_is_refused)
{
  gen_key a = org_key(1);
  crdt_body x = listing(&w, org_cert(&w, &a, "Ashby Academy", T0, T0 + YEAR));
  uint8_t epoch[CRDT_EPOCH_LEN];
  size_t len, decoded_n = 0, refused_decode = 0;
  crdt_directory *dir;
  crdt_dag *d;
  uint8_t *env;

  publish(&w, &x, NULL, 0);
  crdt_public_epoch(DIRF, epoch);
  len = w.ops[0]->env_len;
  env = malloc(len);
  memcpy(env, w.ops[0]->env, len);
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      crdt_op *op;
      env[i] ^= (uint8_t)(1 << bit);
      if (crdt_op_decode(env, len, &op) != BT_OK) {
        refused_decode++;
        env[i] ^= (uint8_t)(1 << bit);
        continue;
      }
      decoded_n++;
      cr_assert_eq(crdt_op_verify(op), BT_ESIG, "byte %zu bit %d verifies", i, bit);
      int envelope = memcmp(op->h.file, DIRF, CRDT_FILE_LEN) != 0 ||
                     memcmp(op->h.epoch, epoch, CRDT_EPOCH_LEN) != 0;
      d = dag_of(&op, 1);
      crdt_op_free(op);
      cr_assert_eq(crdt_directory_build(d, DIRF, w.la.pk, T0 + DAY, &dir), BT_OK);
      cr_assert_eq(dir->nentries, 0, "byte %zu bit %d listed", i, bit);
      if (dir->nops == 1) {
        cr_assert_eq(dir->nrejected, 1);
        cr_assert_eq(dir->rejected[0].reason, envelope ? CRDT_DIR_ENVELOPE : CRDT_DIR_SIG,
                     "byte %zu bit %d: %s", i, bit,
                     crdt_dir_reason_name(dir->rejected[0].reason));
      }
      crdt_directory_free(dir);
      crdt_dag_free(d);
      env[i] ^= (uint8_t)(1 << bit);
    }
  cr_assert_gt(decoded_n, 0);
  cr_assert_gt(refused_decode, 0);
  cr_log_info("%zu flips: %zu refused by the decoder, %zu by the signature", 8 * len,
              refused_decode, decoded_n);
  free(env);
}

/* ---- time --------------------------------------------------------------- */

Test(crdt_directory, expiry_is_reported_against_now)
{
  gen_key a = org_key(1);
  bt_str ca = org_cert(&w, &a, "Ashby Academy", T0, T0 + YEAR);
  crdt_body x = listing(&w, ca);
  const uint64_t at[] = {T0 - 1, T0, T0 + YEAR, T0 + YEAR + 1};
  const uint32_t want[] = {CRDT_DIR_NOT_YET, CRDT_DIR_CURRENT, CRDT_DIR_CURRENT,
                           CRDT_DIR_EXPIRED};
  crdt_cert *oa = decoded(ca), *da = device_of(&w, &a, 1);
  crdt_id anchor;

  memcpy(anchor.b, w.la.pk, 32);
  publish(&w, &x, NULL, 0);
  for (int i = 0; i < 4; i++) {
    crdt_directory *dir = dir_at(&w, at[i]);
    cr_assert_eq(dir->nentries, 1);
    cr_assert_eq(dir->entries[0].when, want[i], "at %d", i);
    cr_assert_eq(dir->now_ms, at[i]);
    /* The same test crdt_chain_check applies. */
    int rc = crdt_chain_check(da, oa, &anchor, 1, at[i], dir->revoked, dir->nrevoked);
    cr_assert_eq(rc, want[i] == CRDT_DIR_CURRENT ? BT_OK : BT_EEXPIRED, "at %d", i);
    crdt_directory_free(dir);
  }
  crdt_cert_free(oa);
  crdt_cert_free(da);
}

/* ---- renewal ------------------------------------------------------------ */

Test(crdt_directory, a_renewal_supersedes_and_concurrent_listings_stay)
{
  gen_key a = org_key(1);
  bt_str v1 = org_cert(&w, &a, "Ashby", T0 - YEAR, T0 + DAY);
  bt_str v2 = org_cert(&w, &a, "Ashby", T0, T0 + YEAR);
  bt_str v3 = org_cert(&w, &a, "Ashby Academy", T0, T0 + 2 * YEAR);
  bt_str v4 = org_cert(&w, &a, "Ashby Academy Trust", T0, T0 + 3 * YEAR);
  crdt_id op[6], both[2], s[3];
  crdt_body x;
  crdt_directory *dir;
  crdt_cert *c2 = decoded(v2), *c3 = decoded(v3), *c4 = decoded(v4);

  x = listing(&w, v1);
  op[0] = publish(&w, &x, NULL, 0);
  x = listing(&w, v2);
  op[1] = publish(&w, &x, &op[0], 1);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 1, "the renewal replaces the original");
  cr_assert_eq(crdt_id_cmp(&dir->entries[0].cert->id, &c2->id), 0);
  cr_assert_eq(crdt_id_cmp(&dir->entries[0].listed_by, &op[1]), 0);
  cr_assert_eq(dir->nsuperseded, 1);
  cr_assert_eq(crdt_id_cmp(&dir->superseded[0], &op[0]), 0);
  crdt_directory_free(dir);

  /* A second renewal of v1, concurrent with v2: both stand. */
  x = listing(&w, v3);
  op[2] = publish(&w, &x, &op[0], 1);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 2);
  cr_assert(bt_str_eq(dir->entries[0].cert->b.name, BT_STR("Ashby")));
  cr_assert(bt_str_eq(dir->entries[1].cert->b.name, BT_STR("Ashby Academy")));
  cr_assert_eq(crdt_directory_find(dir, a.pk)->cert->b.not_after, T0 + 2 * YEAR,
               "find prefers the later expiry");
  cr_assert_eq(dir->nsuperseded, 1);
  crdt_directory_free(dir);

  /* A listing that has seen both replaces both. */
  both[0] = op[1];
  both[1] = op[2];
  x = listing(&w, v4);
  op[3] = publish(&w, &x, both, 2);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 1);
  cr_assert_eq(crdt_id_cmp(&dir->entries[0].cert->id, &c4->id), 0);
  cr_assert_eq(dir->nsuperseded, 3);
  memcpy(s, op, sizeof(s));
  qsort(s, 3, sizeof(crdt_id), cmp_id);
  cr_assert_eq(memcmp(dir->superseded, s, sizeof(s)), 0, "ascending");
  crdt_directory_free(dir);

  /* The same certificate listed again, twice concurrently: shown once. */
  x = listing(&w, v4);
  op[4] = publish(&w, &x, &op[3], 1);
  x = listing(&w, v4);
  op[5] = publish(&w, &x, &op[3], 1);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(dir->nentries, 1);
  cr_assert_eq(crdt_id_cmp(&dir->entries[0].listed_by,
                           crdt_id_cmp(&op[4], &op[5]) < 0 ? &op[4] : &op[5]), 0);
  cr_assert_eq(dir->nsuperseded, 5);
  crdt_directory_free(dir);
  crdt_cert_free(c2);
  crdt_cert_free(c3);
  crdt_cert_free(c4);
}

Test(crdt_directory, superseding_is_not_revoking)
{
  gen_key a = org_key(1);
  bt_str v1 = org_cert(&w, &a, "Ashby", T0 - YEAR, T0 + YEAR);
  bt_str v2 = org_cert(&w, &a, "Ashby", T0, T0 + 2 * YEAR);
  crdt_cert *c1 = decoded(v1), *d1 = device_of(&w, &a, 1);
  crdt_body x = listing(&w, v1);
  crdt_id h = publish(&w, &x, NULL, 0), anchor;
  crdt_directory *dir;

  memcpy(anchor.b, w.la.pk, 32);
  x = listing(&w, v2);
  h = publish(&w, &x, &h, 1);
  /* The old certificate still chains until it is revoked by id... */
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(crdt_chain_check(d1, c1, &anchor, 1, T0 + DAY, dir->revoked, dir->nrevoked),
               BT_OK);
  crdt_directory_free(dir);
  x = revocation(&w, c1->id.b, "renewed", T0);
  publish(&w, &x, &h, 1);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(crdt_chain_check(d1, c1, &anchor, 1, T0 + DAY, dir->revoked, dir->nrevoked),
               BT_EREVOKED);
  /* ...which leaves the renewal standing. */
  cr_assert_eq(dir->nentries, 1);
  cr_assert_eq(dir->entries[0].revoked, 0);
  crdt_directory_free(dir);
  crdt_cert_free(c1);
  crdt_cert_free(d1);
}

Test(crdt_directory, pending_ops_do_not_count)
{
  gen_key a = org_key(1), b = org_key(2);
  crdt_body x = listing(&w, org_cert(&w, &a, "Ashby", T0, T0 + YEAR));
  crdt_id h = publish(&w, &x, NULL, 0);
  crdt_directory *dir;
  crdt_dag *d;

  x = listing(&w, org_cert(&w, &b, "Beech", T0, T0 + YEAR));
  publish(&w, &x, &h, 1);
  d = dag_of(&w.ops[1], 1);
  cr_assert_eq(crdt_dag_pending(d), 1);
  cr_assert_eq(crdt_directory_build(d, DIRF, w.la.pk, T0, &dir), BT_OK);
  cr_assert_eq(dir->nops, 0);
  cr_assert_eq(dir->nentries, 0);
  crdt_directory_free(dir);
  crdt_dag_free(d);
}

/* ---- convergence -------------------------------------------------------- */

#define NORGS 6

/* One random step of an LA's life (and of those around it), after a few
 * random earlier ops: listings, renewals, repeats, revocations by id and
 * by key (past and future), and ops that must be rejected. */
static void random_step(world *x, gen_key *orgs, bt_str *certs, size_t *ncerts)
{
  crdt_id p[3];
  size_t np = x->n ? gen_below(&x->r, 4) : 0;
  uint64_t roll = gen_below(&x->r, 100), k = gen_below(&x->r, NORGS);
  uint64_t nb = T0 - gen_below(&x->r, 400) * DAY;
  static const char *const names[] = {"Ashby", "Beech", "Cedar", "Oak"};
  const char *name = names[gen_below(&x->r, 4)];
  crdt_body b;

  for (size_t i = 0; i < np; i++)
    p[i] = x->ops[gen_below(&x->r, x->n)]->id;
  if (roll < 45 || *ncerts == 0) {
    certs[*ncerts] = org_cert(x, &orgs[k], name, nb, nb + (1 + gen_below(&x->r, 700)) * DAY);
    b = listing(x, certs[(*ncerts)++]);
    publish(x, &b, p, np);
  } else if (roll < 55) {
    b = listing(x, certs[gen_below(&x->r, *ncerts)]); /* a repeat */
    publish(x, &b, p, np);
  } else if (roll < 75) {
    uint64_t at = T0 - 50 * DAY + gen_below(&x->r, 100) * DAY;
    crdt_cert *c = decoded(certs[gen_below(&x->r, *ncerts)]);
    b = revocation(x, gen_below(&x->r, 2) ? c->id.b : orgs[k].pk, "revoked", at);
    publish(x, &b, p, np);
    crdt_cert_free(c);
  } else if (roll < 85) {
    b = listing(x, org_cert(x, &orgs[k], name, nb, nb + YEAR));
    forge(x, &x->stranger, &b, p, np);
  } else if (roll < 92) {
    b = listing(x, cert(x, CRDT_CERT_ORG, &orgs[k], &x->la2, name, nb, nb + YEAR));
    forge(x, &x->la, &b, p, np);
  } else {
    b = revocation(x, orgs[k].pk, "not ours to revoke", T0);
    forge(x, &x->stranger, &b, p, np);
  }
}

static void digest_of(crdt_op *const *ops, size_t n, uint8_t out[32], crdt_directory **keep_dir)
{
  crdt_dag *d = dag_of(ops, n);
  crdt_directory *dir;

  cr_assert_eq(crdt_directory_build(d, DIRF, w.la.pk, T0, &dir), BT_OK);
  cr_assert_eq(crdt_directory_digest(dir, out), BT_OK);
  crdt_dag_free(d);
  if (keep_dir)
    *keep_dir = dir;
  else
    crdt_directory_free(dir);
}

Test(crdt_directory, any_order_with_duplicates_gives_the_same_directory, .timeout = 240)
{
  size_t nworlds = 6, norders = 12, concurrent = 0, superseded = 0, revoked = 0;
  size_t rejected_n = 0, orders = 0;

  for (uint64_t seed = 1; seed <= nworlds; seed++) {
    world x;
    gen_key orgs[NORGS];
    bt_str certs[MAXOPS];
    size_t ncerts = 0;
    uint8_t ref[32], got[32];
    crdt_directory *dir;
    crdt_op *order[2 * MAXOPS];

    world_init(&x, 1000 + seed);
    for (int k = 0; k < NORGS; k++)
      orgs[k] = org_key((uint64_t)k);
    for (int s = 0; s < 60; s++)
      random_step(&x, orgs, certs, &ncerts);
    digest_of(x.ops, x.n, ref, &dir);
    cr_assert_eq(dir->nops, x.n, "seed %" PRIu64, seed);
    for (size_t e = 1; e < dir->nentries; e++)
      concurrent += crdt_id_cmp(&dir->entries[e - 1].cert->b.subject,
                                &dir->entries[e].cert->b.subject) == 0;
    superseded += dir->nsuperseded;
    revoked += dir->nrevoked;
    rejected_n += dir->nrejected;
    crdt_directory_free(dir);
    for (uint64_t o = 0; o < norders; o++) {
      gen_rng r;
      size_t n = x.n, dups;
      gen_seed(&r, seed * 7919 + o);
      dups = gen_below(&r, x.n);
      memcpy(order, x.ops, x.n * sizeof(crdt_op *));
      for (size_t i = 0; i < dups; i++)
        order[n++] = x.ops[gen_below(&r, x.n)];
      gen_shuffle(&r, (void **)order, n);
      digest_of(order, n, got, NULL);
      cr_assert_eq(memcmp(ref, got, 32), 0, "seed %" PRIu64 " order %" PRIu64, seed, o);
      orders++;
    }
    world_free(&x);
  }
  cr_log_info("%zu orders; totals: %zu concurrent listings, %zu superseded, %zu revoked, "
              "%zu rejected", orders, concurrent, superseded, revoked, rejected_n);
  cr_assert_geq(orders, 50);
  cr_assert_gt(concurrent, 0, "the worlds exercise concurrent listings");
  cr_assert_gt(superseded, 0);
  cr_assert_gt(revoked, 0);
  cr_assert_gt(rejected_n, 0);
}

Test(crdt_directory, the_digest_tells_directories_apart)
{
  gen_key a = org_key(1);
  crdt_body x = listing(&w, org_cert(&w, &a, "Ashby", T0, T0 + YEAR));
  uint8_t d1[32], d2[32], d3[32];
  crdt_directory *dir;

  publish(&w, &x, NULL, 0);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(crdt_directory_digest(dir, d1), BT_OK);
  crdt_directory_free(dir);
  dir = dir_at(&w, T0 + 2 * YEAR); /* expired now */
  cr_assert_eq(crdt_directory_digest(dir, d2), BT_OK);
  crdt_directory_free(dir);
  x = revocation(&w, a.pk, "closed", T0);
  publish(&w, &x, NULL, 0);
  dir = dir_at(&w, T0 + DAY);
  cr_assert_eq(crdt_directory_digest(dir, d3), BT_OK);
  crdt_directory_free(dir);
  cr_assert_neq(memcmp(d1, d2, 32), 0);
  cr_assert_neq(memcmp(d1, d3, 32), 0);
  cr_assert_str_eq(crdt_dir_reason_name(CRDT_DIR_AUTHOR), "author");
  cr_assert_str_eq(crdt_dir_reason_name(999), "unknown");
}
