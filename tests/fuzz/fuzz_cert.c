/* tests/fuzz/fuzz_cert.c: libFuzzer harness for the certificate decoder.
 *
 * Certificates arrive from peers (inside the handshake) and from LA
 * directories. Besides crashes and sanitizer reports, it aborts when a
 * certificate is accepted whose id is not the hash of its bytes, or which
 * re-signing cannot reproduce field for field. Most inputs fail the
 * signature; the seed corpus (mkcorpus) holds real certificates so the
 * mutator reaches the record decoder with bytes that are nearly valid. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  crdt_id id;
  crdt_cert *c;

  if (crdt_cert_decode(data, size, &c) != BT_OK)
    return 0;
  crypto_generichash(id.b, sizeof(id.b), data, size, NULL, 0);
  if (crdt_id_cmp(&id, &c->id) != 0 || c->enc_len != size || memcmp(c->enc, data, size) != 0)
    abort();
  if (crdt_rec_check(crdt_cert_schema(), &c->b) != BT_OK)
    abort();
  crdt_cert_free(c);
  return 0;
}
