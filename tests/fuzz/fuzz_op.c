/* tests/fuzz/fuzz_op.c: libFuzzer harness for the op envelope decoder.
 *
 * Runs the receiver's whole path on arbitrary bytes: crdt_op_decode, then
 * crdt_op_verify and crdt_op_decrypt with a fixed epoch key (the one
 * mkcorpus.c seals its corpus with, so the seeds reach the body decoder),
 * crdt_op_dup, and crdt_op_open, which must agree with the steps taken one
 * by one. Besides crashes and sanitizer reports, it aborts when a decoder
 * accepts bytes that are not the canonical encoding of what it returned. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crdt/err.h"
#include "crdt/op.h"

/* Must match KEY in mkcorpus.c. */
static const uint8_t KEY[CRDT_KEY_LEN] = "baton fuzz corpus epoch key 32b";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
  msgpack_pack_bin(pk, len);
  msgpack_pack_bin_body(pk, p, len);
}

/* The envelope re-encoded from the decoded fields must be the input. */
static void check_canonical(const crdt_op *op, const uint8_t *data, size_t size)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const crdt_header *h = &op->h;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_array(&pk, 7);
  msgpack_pack_uint32(&pk, h->version);
  pack_bin(&pk, h->file, CRDT_FILE_LEN);
  pack_bin(&pk, h->author, CRDT_PK_LEN);
  msgpack_pack_uint64(&pk, h->seq);
  msgpack_pack_array(&pk, h->nparents);
  for (size_t i = 0; i < h->nparents; i++)
    pack_bin(&pk, h->parents[i].b, CRDT_ID_LEN);
  pack_bin(&pk, h->epoch, CRDT_EPOCH_LEN);
  msgpack_pack_uint32(&pk, h->hour);
  pack_bin(&pk, op->nonce, CRDT_NONCE_LEN);
  pack_bin(&pk, op->ct, op->ct_len);
  pack_bin(&pk, op->sig, CRDT_SIG_LEN);
  if (sb.size != size || memcmp(sb.data, data, size) != 0 || op->env_len != size ||
      memcmp(op->env, data, size) != 0)
    abort();
  msgpack_sbuffer_destroy(&sb);
}

/* Decrypts; a body that comes out must re-encode to what was decrypted,
 * which we cannot see, so at least it must encode and agree with the hour. */
static int try_decrypt(const crdt_op *op)
{
  crdt_body *b = NULL;
  msgpack_sbuffer sb;
  int rc = crdt_op_decrypt(op, KEY, &b);

  if (rc != BT_OK)
    return rc;
  msgpack_sbuffer_init(&sb);
  if (crdt_body_encode(b, &sb) != BT_OK || sb.size + CRDT_TAG_LEN != op->ct_len ||
      crdt_hlc_hour(b->hlc) != op->h.hour)
    abort();
  (void)crdt_body_event_time(b);
  msgpack_sbuffer_destroy(&sb);
  crdt_body_free(b);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  crdt_op *op = NULL, *dup = NULL, *op2 = NULL;
  crdt_body *b2 = NULL;
  crdt_id id;
  int rc, vrc, drc = BT_ESIG, orc;

  rc = crdt_op_decode(data, size, &op);
  if (rc == BT_OK) {
    check_canonical(op, data, size);
    crypto_generichash(id.b, CRDT_ID_LEN, data, size, NULL, 0);
    if (crdt_id_cmp(&id, &op->id) != 0)
      abort();
    vrc = crdt_op_verify(op);
    if (vrc != BT_OK && vrc != BT_ESIG)
      abort();
    drc = try_decrypt(op); /* also without a signature: more of it is reached */
    if (vrc != BT_OK)
      drc = vrc;
    if (crdt_op_dup(op, &dup) != BT_OK || crdt_id_cmp(&dup->id, &op->id) != 0 ||
        dup->env_len != op->env_len || memcmp(dup->env, op->env, op->env_len) != 0)
      abort();
    crdt_op_free(dup);
    crdt_op_free(op);
  }
  /* open = decode, verify, decrypt: the same verdict, taken together */
  orc = crdt_op_open(data, size, NULL, NULL, KEY, &op2, &b2);
  if (orc != (rc != BT_OK ? rc : drc))
    abort();
  if (orc == BT_OK) {
    crdt_op_free(op2);
    crdt_body_free(b2);
  }
  return 0;
}
