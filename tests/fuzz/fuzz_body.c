/* tests/fuzz/fuzz_body.c: libFuzzer harness for the op body decoder.
 *
 * crdt_body_decode takes ownership of a malloc'd buffer, so each input is
 * copied into one of exactly its size (ASan then sees any overread). Besides
 * crashes and sanitizer reports, it aborts when the decoder accepts bytes
 * that do not re-encode to themselves, or returns a body it cannot encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/body.h"
#include "crdt/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t *p = malloc(size ? size : 1);
  crdt_body *b = NULL;
  msgpack_sbuffer sb;

  if (p == NULL)
    return 0;
  if (size)
    memcpy(p, data, size);
  if (crdt_body_decode(p, size, &b) != BT_OK)
    return 0;
  msgpack_sbuffer_init(&sb);
  if (crdt_body_encode(b, &sb) != BT_OK || sb.size != size ||
      memcmp(sb.data, data, size) != 0)
    abort();
  if (b->known != (crdt_body_schema(b->type) != NULL) || (!b->known && b->raw.len == 0))
    abort();
  (void)crdt_body_event_time(b);
  (void)crdt_optype_name(b->type);
  msgpack_sbuffer_destroy(&sb);
  crdt_body_free(b);
  return 0;
}
