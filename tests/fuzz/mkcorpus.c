/* tests/fuzz/mkcorpus.c: writes the libFuzzer seed corpus.
 *
 *   mkcorpus DIR
 *
 * For every known op type and a few seeds, a random valid body (gen.h)
 * sealed into an envelope with the key fuzz_op.c decrypts with, written as
 * DIR/op-TT-S.bin, and the plaintext body as DIR/body-TT-S.bin. Envelopes
 * carry 0 to 2 parents, and CRDT_PARENTS_MAX for the last seed; a body and an
 * op of a type this version does not know come last. Everything is a
 * function of the seeds, so the corpus is the same on every run and a fuzz
 * run from -seed=N replays exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/op.h"
#include "gen.h"

#define SEEDS 4
#define BASE_MS UINT64_C(1775208600000)

/* Must match KEY in fuzz_op.c. */
static const uint8_t KEY[CRDT_KEY_LEN] = "baton fuzz corpus epoch key 32b";

static int put(const char *dir, const char *name, const void *p, size_t len)
{
  char path[4096];
  FILE *f;
  int ok;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((f = fopen(path, "wb")) == NULL) {
    perror(path);
    return -1;
  }
  ok = fwrite(p, 1, len, f) == len;
  ok = fclose(f) == 0 && ok;
  if (!ok)
    perror(path);
  return ok ? 0 : -1;
}

/* Seals b under a header from r with n parents; writes op-<tag>.bin. */
static int put_op(const char *dir, const char *tag, gen_rng *r, const crdt_body *b,
                  size_t nparents)
{
  crdt_id parents[CRDT_PARENTS_MAX];
  uint8_t nonce[CRDT_NONCE_LEN];
  crdt_header h = {.version = CRDT_OP_VERSION};
  crdt_op *op;
  gen_key k;
  char name[64];
  int rc;

  gen_keypair(gen_below(r, 3), &k);
  gen_bytes(r, h.file, CRDT_FILE_LEN);
  gen_bytes(r, h.epoch, CRDT_EPOCH_LEN);
  memcpy(h.author, k.pk, CRDT_PK_LEN);
  h.seq = 1 + gen_below(r, 1000);
  for (size_t i = 0; i < nparents; i++) {
    gen_bytes(r, &parents[i], sizeof parents[i]);
    parents[i].b[0] = (uint8_t)(i * 256 / (nparents + 1)); /* ascending */
  }
  h.parents = parents;
  h.nparents = nparents;
  h.hour = crdt_hlc_hour(b->hlc);
  gen_bytes(r, nonce, sizeof nonce);
  if ((rc = crdt_op_seal(&h, b, KEY, nonce, k.sk, &op)) != BT_OK) {
    fprintf(stderr, "mkcorpus: seal %s: %s\n", tag, bt_strerror(rc));
    return -1;
  }
  snprintf(name, sizeof name, "op-%s.bin", tag);
  rc = put(dir, name, op->env, op->env_len);
  crdt_op_free(op);
  return rc;
}

static int put_body(const char *dir, const char *tag, const crdt_body *b)
{
  msgpack_sbuffer sb;
  char name[64];
  int rc;

  msgpack_sbuffer_init(&sb);
  if ((rc = crdt_body_encode(b, &sb)) != BT_OK) {
    fprintf(stderr, "mkcorpus: encode %s: %s\n", tag, bt_strerror(rc));
    msgpack_sbuffer_destroy(&sb);
    return -1;
  }
  snprintf(name, sizeof name, "body-%s.bin", tag);
  rc = put(dir, name, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int one(const char *dir, uint32_t type, uint64_t seed)
{
  gen_arena *a = gen_arena_new();
  crdt_body b;
  gen_rng r;
  char tag[32];
  int rc;

  gen_seed(&r, seed * 1000 + type);
  gen_body(&r, a, type, crdt_hlc_make(BASE_MS + gen_below(&r, UINT64_C(1) << 36), 0), &b,
           NULL, 0);
  snprintf(tag, sizeof tag, "%02" PRIu32 "-%" PRIu64, type, seed);
  rc = put_body(dir, tag, &b);
  if (rc == 0)
    rc = put_op(dir, tag, &r, &b, seed == SEEDS ? CRDT_PARENTS_MAX : (size_t)seed - 1);
  gen_arena_free(a);
  return rc;
}

/* A body of a type this version does not know, kept raw. */
static int unknown(const char *dir)
{
  static const uint8_t map[] = {0x83, 0x01, 0x05, 0x02, 0xa3, 'n', 'e', 'w',
                                0x09, 0x92, 0xc3, 0xc4, 0x01, 0x00};
  crdt_body b = {.hlc = crdt_hlc_make(BASE_MS, 1), .type = 200, .user = BT_STR("dsl.new")};
  gen_rng r;

  b.raw = (bt_str){(const char *)map, sizeof map};
  gen_seed(&r, 200);
  if (put_body(dir, "unknown-200", &b) != 0)
    return -1;
  return put_op(dir, "unknown-200", &r, &b, 1);
}

/* Real certificates: an org certified by an LA, a device by the org. */
static int certs(const char *dir)
{
  crdt_cert_body org = {.kind = CRDT_CERT_ORG, .name = BT_STR("Oakfield Primary"),
                        .org_kind = CRDT_ORG_SCHOOL, .urn = BT_STR("100001"),
                        .laestab = BT_STR("8012000"), .not_before = BASE_MS,
                        .not_after = BASE_MS + 86400000ull * 365};
  crdt_cert_body dev = {.kind = CRDT_CERT_DEVICE, .name = BT_STR("DSL laptop"),
                        .not_before = BASE_MS, .not_after = BASE_MS + 86400000ull * 90};
  gen_key la, o, d;
  uint8_t *enc;
  size_t len;
  int rc;

  gen_keypair(900, &la);
  gen_keypair(901, &o);
  gen_keypair(902, &d);
  memcpy(org.subject.b, o.pk, 32);
  memcpy(org.issuer.b, la.pk, 32);
  memset(org.box.b, 0x42, 32);
  memcpy(dev.subject.b, d.pk, 32);
  memcpy(dev.issuer.b, o.pk, 32);
  if (crdt_cert_sign(&org, la.sk, &enc, &len) != 0)
    return -1;
  rc = put(dir, "cert-org", enc, len);
  free(enc);
  if (rc != 0 || crdt_cert_sign(&dev, o.sk, &enc, &len) != 0)
    return -1;
  rc = put(dir, "cert-device", enc, len);
  free(enc);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mkcorpus DIR\n");
    return 2;
  }
  for (uint32_t type = 1; type < CRDT_OP_KNOWN_END; type++)
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
      if (one(argv[1], type, seed) != 0)
        return 1;
  return unknown(argv[1]) != 0 || certs(argv[1]) != 0;
}
