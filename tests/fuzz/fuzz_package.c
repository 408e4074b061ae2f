/* tests/fuzz/fuzz_package.c: the package file decoders (proto/package.h):
 * the outer layout, the payload and the receipt body, each fed the same
 * bytes. Crashes, leaks and overreads are the findings. */
#include <stddef.h>
#include <stdint.h>

#include "proto/package.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t len)
{
  proto_pkg h;
  proto_pkg_payload pl;
  proto_pkg_receipt r;

  if (proto_pkg_parse(p, len, &h) == 0 && h.kind == PROTO_PKG_RECEIPT)
    (void)proto_pkg_receipt_parse(h.body.p, h.body.len, &r);
  if (proto_pkg_payload_parse(p, len, &pl) == 0) {
    for (size_t i = 0; i < pl.nkeys; i++) {
      proto_pkg_key k;
      proto_pkg_key_at(&pl, i, &k);
    }
    proto_pkg_payload_clear(&pl);
  }
  (void)proto_pkg_receipt_parse(p, len, &r);
  return 0;
}
