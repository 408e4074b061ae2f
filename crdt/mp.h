/* crdt/mp.h: strict msgpack decoding of untrusted bytes, and packing helpers.
 *
 * msgpack-c reserves memory from the counts a message declares, and
 * msgpack_unpack reports success with bytes left over. crdt_mp_unpack closes
 * both holes: it first walks the bytes without allocating, rejecting any
 * declared array/map/str/bin size larger than the bytes that remain, floats,
 * ext types and nesting deeper than max_depth; then it unpacks with msgpack-c
 * and requires the whole input to be one object.
 *
 * Canonical form (what crdt writes and what it accepts) is msgpack-c's own
 * packer output: shortest integer, str and bin forms, maps with unsigned keys
 * in strictly ascending order, no nil, no floats. Decoders enforce it by
 * re-encoding what they decoded and comparing bytes. */
#ifndef BT_CRDT_MP_H
#define BT_CRDT_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* Walks one object at p[0..len). On success sets *used to its size.
 * Errors: BT_ETRUNC (a declared size runs past the end), BT_EDEPTH, BT_ETYPE
 * (float, ext or the reserved byte 0xc1). Reads only p[0..len). */
int crdt_mp_walk(const uint8_t *p, size_t len, unsigned max_depth, size_t *used);

/* Walks, then unpacks p[0..len) into *obj, allocating in zone. Strings and
 * binaries in *obj point into p (zero copy): p must outlive *obj.
 * Errors: those of crdt_mp_walk, BT_ETRAILING, BT_EPROTO, BT_ENOMEM. */
int crdt_mp_unpack(const uint8_t *p, size_t len, unsigned max_depth,
                   msgpack_zone *zone, msgpack_object *obj);

/* Type-checked readers of a decoded object. Each returns BT_ETYPE when the
 * object has another type; crdt_mp_str and crdt_mp_array return BT_ETOOBIG
 * above max, crdt_mp_array BT_EMISSING below min, crdt_mp_bin BT_EINVAL for
 * any size but want. */
int crdt_mp_uint(const msgpack_object *o, uint64_t *v);
int crdt_mp_bin(const msgpack_object *o, size_t want, uint8_t *out); /* exact size */
int crdt_mp_str(const msgpack_object *o, size_t max, bt_str *out);
int crdt_mp_array(const msgpack_object *o, size_t min, size_t max,
                  const msgpack_object **items, size_t *n);

/* Packing: thin wrappers that turn msgpack-c's -1 into BT_ENOMEM. */
int crdt_mp_pack_bin(msgpack_packer *pk, const void *p, size_t len);
int crdt_mp_pack_str(msgpack_packer *pk, const char *p, size_t len);
/* An array of n ids as bin(32) each. */
int crdt_mp_pack_ids(msgpack_packer *pk, const crdt_id *ids, size_t n);

/* Write callbacks for msgpack_packer, beyond msgpack-c's sbuffer:
 *
 * crdt_mp_secure_write: like msgpack_sbuffer_write (data is a
 * msgpack_sbuffer) but grows by allocate, copy, wipe, free, so no freed block
 * ever held the plaintext written to it. Release with crdt_mp_secure_destroy,
 * which wipes what was written before freeing.
 *
 * crdt_mp_cmp_write: stores nothing; compares what is written with expected
 * bytes. How decoders prove canonical form without a second buffer.
 *
 * crdt_mp_hash_write: feeds a crypto_generichash_state. */
int crdt_mp_secure_write(void *data, const char *buf, size_t len);
void crdt_mp_secure_destroy(msgpack_sbuffer *sb);

typedef struct {
  const uint8_t *p;
  size_t len, pos;
  int differ;
} crdt_mp_cmp;

int crdt_mp_cmp_write(void *data, const char *buf, size_t len);

/* 1 when the bytes written were exactly p[0..len). */
static inline int crdt_mp_cmp_equal(const crdt_mp_cmp *c)
{
  return !c->differ && c->pos == c->len;
}

int crdt_mp_hash_write(void *data, const char *buf, size_t len);

#endif
