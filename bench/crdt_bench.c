/* bench/crdt_bench.c: seal and open throughput against bare libsodium.
 *
 * Usage: crdt_bench [N [ROUNDS]]   (N ops, default 100000; ROUNDS, default 3)
 *
 * Builds N realistic ops (mostly records of concern and chronology entries,
 * encoded bodies of 260..340 bytes, mean about 300), then times
 * crdt_op_seal and crdt_op_open over all of them, and the same crypto done
 * with libsodium alone on buffers of exactly the same sizes:
 *
 *   raw seal = AEAD encrypt (same plaintext and header sizes)
 *            + Ed25519 sign (header .. ciphertext) + BLAKE2b-256 (envelope)
 *   raw open = Ed25519 verify + AEAD decrypt + BLAKE2b-256 (envelope)
 *
 * The raw buffers are copies of our own envelopes, so the raw path redoes the
 * very same encryption and signature; after the runs the bench checks that
 * both paths produced identical bytes and ids. Everything is generated before
 * the clock starts. Raw and ours alternate for ROUNDS rounds (the order flips
 * each round) and the best round of each counts, so machine load hits both.
 * What our calls return (ops, bodies) is freed after the clock stops: the
 * timed work is seal and open themselves.
 *
 * Prints one "name: value" line per figure, ending with ratio_open and
 * ratio_seal (our rate / raw rate). Exits non-zero if anything fails. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sodium.h>

#include "crdt/err.h"
#include "crdt/gen.h"
#include "body.h"
#include "crdt/mp.h"
#include "crdt/op.h"

#define BENCH_SEED     20240501u
#define BENCH_AUTHORS  4

/* One op's inputs. h.parents points into parents: never move an op_in. */
typedef struct {
  crdt_header h;
  crdt_id parents[2];
  crdt_body b;
  uint8_t nonce[CRDT_NONCE_LEN];
  const gen_key *author;
  char *strs;   /* b's strings */
} op_in;

/* One op for the raw path: a copy of our envelope, and where its parts are. */
typedef struct {
  uint8_t *env;
  size_t env_len, hdr_len, ct_off, ct_len;
  uint8_t *pt;    /* the encoded body: what seal encrypts */
  uint8_t *out;   /* where open decrypts to */
  crdt_id id;
} raw_op;

typedef struct {
  size_t n;
  unsigned rounds;
  op_in *in;
  raw_op *raw;
  crdt_op **ops;        /* ours: sealed envelopes, then opened ones */
  crdt_body **bodies;   /* ours: opened bodies */
  crdt_op **sealed;     /* the envelopes the open phase reads */
  gen_key keys[BENCH_AUTHORS];
  uint8_t key[CRDT_KEY_LEN];
  uint8_t file[CRDT_FILE_LEN];
  uint8_t epoch[CRDT_EPOCH_LEN];
} bench;

static int fail(const char *what, size_t i, int rc)
{
  fprintf(stderr, "crdt_bench: %s failed at op %zu: %s\n", what, i,
          rc < 0 ? bt_strerror(rc) : "wrong result");
  return 1;
}

/* ---- inputs ----------------------------------------------------------- */


/* Moves the body's strings from the scratch arena into one block of their
 * own, returned (NULL on failure). The four types used have no lists, so the
 * strings are the schema's STR/TEXT fields. Not a gen_arena: gen_alloc
 * starts a fresh 4 KiB chunk for every request once its first chunk is full. */
static char *keep_strings(crdt_body *b)
{
  const crdt_schema *s = crdt_body_schema(b->type);
  size_t total = 1, at = 0;
  char *block;

  for (size_t i = 0; i < s->nfields; i++)
    if (s->fields[i].kind == CRDT_F_STR || s->fields[i].kind == CRDT_F_TEXT)
      total += ((bt_str *)((char *)&b->u + s->fields[i].off))->len;
  if ((block = malloc(total)) == NULL)
    return NULL;
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    bt_str *v = (bt_str *)((char *)&b->u + f->off);

    if ((f->kind != CRDT_F_STR && f->kind != CRDT_F_TEXT) || v->len == 0)
      continue;
    memcpy(block + at, v->p, v->len);
    v->p = block + at;
    at += v->len;
  }
  return block;
}


/* Header of op i: one case file, four devices taking turns, one parent
 * (two for one op in eight), one epoch. */
static void make_header(bench *bn, gen_rng *r, size_t i, crdt_hlc_ts hlc)
{
  op_in *in = &bn->in[i];
  crdt_header *h = &in->h;

  in->author = &bn->keys[i % BENCH_AUTHORS];
  h->version = CRDT_OP_VERSION;
  memcpy(h->file, bn->file, CRDT_FILE_LEN);
  memcpy(h->author, in->author->pk, CRDT_PK_LEN);
  h->seq = i / BENCH_AUTHORS + 1;
  gen_bytes(r, in->parents, sizeof(in->parents));
  h->nparents = gen_below(r, 8) == 0 ? 2 : 1;
  if (h->nparents == 2 && crdt_id_cmp(&in->parents[0], &in->parents[1]) > 0) {
    crdt_id t = in->parents[0];
    in->parents[0] = in->parents[1];
    in->parents[1] = t;
  }
  h->parents = in->parents;
  memcpy(h->epoch, bn->epoch, CRDT_EPOCH_LEN);
  h->hour = crdt_hlc_hour(hlc);
  gen_bytes(r, in->nonce, CRDT_NONCE_LEN); /* the bench's stand-in for randombytes */
}

static int make_inputs(bench *bn)
{
  msgpack_sbuffer sb;
  gen_rng r;
  int rc = 0;

  gen_seed(&r, BENCH_SEED);
  for (int k = 0; k < BENCH_AUTHORS; k++)
    gen_keypair((uint64_t)k + 1, &bn->keys[k]);
  gen_bytes(&r, bn->key, sizeof(bn->key));
  gen_bytes(&r, bn->file, sizeof(bn->file));
  gen_bytes(&r, bn->epoch, sizeof(bn->epoch));
  msgpack_sbuffer_init(&sb);
  for (size_t i = 0; i < bn->n && rc == 0; i++) {
    crdt_hlc_ts hlc = crdt_hlc_make(UINT64_C(1714550400000) + i * 37000, 0);
    size_t target = BODY_MIN + gen_below(&r, BODY_MAX - BODY_MIN + 1);
    gen_arena *scratch = gen_arena_new();

    make_header(bn, &r, i, hlc);
    if ((rc = bench_sized_body(&r, scratch, bench_pick_type(&r), hlc, target, &bn->in[i].b, &sb)) != 0)
      fprintf(stderr, "crdt_bench: cannot build a %zu-byte body\n", target);
    else if ((bn->in[i].strs = keep_strings(&bn->in[i].b)) == NULL)
      rc = fail("setup", i, BT_ENOMEM);
    gen_arena_free(scratch);
  }
  crdt_mp_secure_destroy(&sb);
  return rc;
}

/* Seals every op once, untimed: it warms up, gives the open phase its input
 * and gives the raw path the exact layout and plaintext of each envelope. */
static int make_raw(bench *bn)
{
  msgpack_sbuffer pt;
  int rc = 0;

  msgpack_sbuffer_init(&pt);
  for (size_t i = 0; i < bn->n; i++) {
    op_in *in = &bn->in[i];
    raw_op *w = &bn->raw[i];
    crdt_op *o;

    if ((rc = crdt_op_seal(&in->h, &in->b, bn->key, in->nonce, in->author->sk, &o)) != 0) {
      fail("crdt_op_seal (setup)", i, rc);
      break;
    }
    bn->sealed[i] = o;
    pt.size = 0;
    if ((rc = crdt_body_encode(&in->b, &pt)) != 0) {
      fail("crdt_body_encode (setup)", i, rc);
      break;
    }
    w->env_len = o->env_len;
    w->hdr_len = o->hdr_len;
    w->ct_off = (size_t)(o->ct - o->env);
    w->ct_len = o->ct_len;
    w->env = malloc(o->env_len);
    w->pt = malloc(pt.size);
    w->out = malloc(pt.size);
    if (w->env == NULL || w->pt == NULL || w->out == NULL) {
      rc = fail("setup", i, BT_ENOMEM);
      break;
    }
    memcpy(w->env, o->env, o->env_len);
    memcpy(w->pt, pt.data, pt.size);
  }
  crdt_mp_secure_destroy(&pt);
  return rc;
}

/* ---- the timed phases ------------------------------------------------- */

static double raw_seal(bench *bn)
{
  double t0 = bench_now_s();

  for (size_t i = 0; i < bn->n; i++) {
    raw_op *w = &bn->raw[i];
    const op_in *in = &bn->in[i];
    size_t pt_len = w->ct_len - CRDT_TAG_LEN;

    crypto_aead_xchacha20poly1305_ietf_encrypt(w->env + w->ct_off, NULL, w->pt, pt_len,
                                               w->env + 1, w->hdr_len, NULL,
                                               in->nonce, bn->key);
    crypto_sign_detached(w->env + w->env_len - CRDT_SIG_LEN, NULL, w->env + 1,
                         w->ct_off + w->ct_len - 1, in->author->sk);
    crypto_generichash(w->id.b, CRDT_ID_LEN, w->env, w->env_len, NULL, 0);
  }
  return bench_now_s() - t0;
}

/* Returns the time, or -1 after reporting the first failure. */
static double raw_open(bench *bn)
{
  size_t bad = bn->n;
  double t0 = bench_now_s(), t;

  for (size_t i = 0; i < bn->n; i++) {
    raw_op *w = &bn->raw[i];
    const op_in *in = &bn->in[i];

    if (crypto_sign_verify_detached(w->env + w->env_len - CRDT_SIG_LEN, w->env + 1,
                                    w->ct_off + w->ct_len - 1, in->author->pk) != 0 ||
        crypto_aead_xchacha20poly1305_ietf_decrypt(w->out, NULL, NULL, w->env + w->ct_off,
                                                   w->ct_len, w->env + 1, w->hdr_len,
                                                   in->nonce, bn->key) != 0)
      bad = bad < i ? bad : i;
    crypto_generichash(w->id.b, CRDT_ID_LEN, w->env, w->env_len, NULL, 0);
  }
  t = bench_now_s() - t0;
  if (bad < bn->n) {
    fail("raw open", bad, 0);
    return -1;
  }
  return t;
}

static void free_ops(bench *bn)
{
  for (size_t i = 0; i < bn->n; i++) {
    crdt_op_free(bn->ops[i]);
    crdt_body_free(bn->bodies[i]);
    bn->ops[i] = NULL;
    bn->bodies[i] = NULL;
  }
}

/* Returns the time, or -1 after reporting the first failure. */
static double our_seal(bench *bn)
{
  size_t bad = bn->n;
  int bad_rc = 0;
  double t0 = bench_now_s(), t;

  for (size_t i = 0; i < bn->n; i++) {
    const op_in *in = &bn->in[i];
    int rc = crdt_op_seal(&in->h, &in->b, bn->key, in->nonce, in->author->sk, &bn->ops[i]);
    if (rc != 0 && bad == bn->n)
      bad = i, bad_rc = rc;
  }
  t = bench_now_s() - t0;
  if (bad < bn->n) {
    fail("crdt_op_seal", bad, bad_rc);
    return -1;
  }
  return t;
}

static double our_open(bench *bn)
{
  size_t bad = bn->n;
  int bad_rc = 0;
  double t0 = bench_now_s(), t;

  for (size_t i = 0; i < bn->n; i++) {
    const crdt_op *s = bn->sealed[i];
    int rc = crdt_op_open(s->env, s->env_len, bn->file, bn->epoch, bn->key,
                          &bn->ops[i], &bn->bodies[i]);
    if (rc != 0 && bad == bn->n)
      bad = i, bad_rc = rc;
  }
  t = bench_now_s() - t0;
  if (bad < bn->n) {
    fail("crdt_op_open", bad, bad_rc);
    return -1;
  }
  return t;
}

/* Both paths must have done the same work: same envelope bytes and ids, and
 * after opening, our body re-encodes to the plaintext the raw path got. */
static int check_same(const bench *bn, int sealing)
{
  msgpack_sbuffer sb;
  int rc = 0;

  msgpack_sbuffer_init(&sb);
  for (size_t i = 0; i < bn->n && rc == 0; i++) {
    const raw_op *w = &bn->raw[i];
    const crdt_op *o = bn->ops[i];
    size_t pt_len = w->ct_len - CRDT_TAG_LEN;

    if (o->env_len != w->env_len || memcmp(o->env, w->env, w->env_len) != 0 ||
        memcmp(o->id.b, w->id.b, CRDT_ID_LEN) != 0)
      rc = fail(sealing ? "seal check" : "open check", i, 0);
    if (sealing || rc != 0)
      continue;
    sb.size = 0;
    if ((rc = crdt_body_encode(bn->bodies[i], &sb)) != 0 || sb.size != pt_len ||
        memcmp(sb.data, w->pt, pt_len) != 0 || memcmp(w->out, w->pt, pt_len) != 0)
      rc = fail("open check", i, rc);
  }
  crdt_mp_secure_destroy(&sb);
  return rc;
}

/* Runs raw and ours alternately; *raw_best and *our_best get the best round. */
static int run_phase(bench *bn, int sealing, double *raw_best, double *our_best)
{
  *raw_best = *our_best = 1e300;
  for (unsigned r = 0; r < 2 * bn->rounds; r++) {
    int ours = (r & 1) ^ ((r >> 1) & 1); /* raw, ours, ours, raw, raw, ours... */
    double t;

    free_ops(bn);
    if (ours)
      t = sealing ? our_seal(bn) : our_open(bn);
    else
      t = sealing ? raw_seal(bn) : raw_open(bn);
    if (t < 0)
      return 1;
    if (ours && check_same(bn, sealing) != 0)
      return 1;
    if (ours ? t < *our_best : t < *raw_best)
      *(ours ? our_best : raw_best) = t;
  }
  free_ops(bn);
  return 0;
}

/* ---- setup, report ---------------------------------------------------- */

static int bench_alloc(bench *bn)
{
  size_t n = bn->n;

  bn->in = calloc(n, sizeof(*bn->in));
  bn->raw = calloc(n, sizeof(*bn->raw));
  bn->ops = calloc(n, sizeof(*bn->ops));
  bn->bodies = calloc(n, sizeof(*bn->bodies));
  bn->sealed = calloc(n, sizeof(*bn->sealed));
  return bn->in && bn->raw && bn->ops && bn->bodies && bn->sealed ? 0 : 1;
}

static void bench_free(bench *bn)
{
  for (size_t i = 0; i < bn->n; i++) {
    if (bn->raw) {
      free(bn->raw[i].env);
      free(bn->raw[i].pt);
      free(bn->raw[i].out);
    }
    if (bn->sealed)
      crdt_op_free(bn->sealed[i]);
    if (bn->in)
      free(bn->in[i].strs);
  }
  if (bn->ops && bn->bodies)
    free_ops(bn);
  free(bn->in);
  free(bn->raw);
  free(bn->ops);
  free(bn->bodies);
  free(bn->sealed);
  sodium_memzero(bn->key, sizeof(bn->key));
}

static void report(const bench *bn, const double t[4])
{
  double env = 0, body = 0, n = (double)bn->n;

  for (size_t i = 0; i < bn->n; i++) {
    env += (double)bn->raw[i].env_len;
    body += (double)(bn->raw[i].ct_len - CRDT_TAG_LEN);
  }
  printf("ops: %zu\n", bn->n);
  printf("rounds: %u\n", bn->rounds);
  printf("body_bytes_mean: %.1f\n", body / n);
  printf("envelope_bytes_mean: %.1f\n", env / n);
  printf("seal_ops_per_s: %.0f\n", n / t[1]);
  printf("raw_seal_ops_per_s: %.0f\n", n / t[0]);
  printf("open_ops_per_s: %.0f\n", n / t[3]);
  printf("raw_open_ops_per_s: %.0f\n", n / t[2]);
  printf("ratio_open: %.3f\n", t[2] / t[3]);
  printf("ratio_seal: %.3f\n", t[0] / t[1]);
}

static int parse_args(int argc, char **argv, bench *bn)
{
  bn->n = 100000;
  bn->rounds = 3;
  return bench_args(argc, argv, 100000000, &bn->n, &bn->rounds);
}

int main(int argc, char **argv)
{
  bench bn = {0};
  double t[4]; /* best: raw seal, our seal, raw open, our open */
  int rc = 1;

  if (parse_args(argc, argv, &bn) != 0) {
    fprintf(stderr, "usage: crdt_bench [N [ROUNDS]]\n");
    return 2;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "crdt_bench: sodium_init failed\n");
    return 1;
  }
  if (bench_alloc(&bn) != 0) {
    fprintf(stderr, "crdt_bench: out of memory\n");
    goto out;
  }
  if (make_inputs(&bn) != 0)
    goto out;
  if (make_raw(&bn) != 0)
    goto out;
  if ((rc = run_phase(&bn, 1, &t[0], &t[1])) != 0 ||
      (rc = run_phase(&bn, 0, &t[2], &t[3])) != 0)
    goto out;
  report(&bn, t);
out:
  bench_free(&bn);
  return rc;
}
