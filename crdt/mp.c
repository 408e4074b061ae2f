/* crdt/mp.c: a non-allocating msgpack walker in front of msgpack-c.
 *
 * The walker reads only type bytes and lengths; it keeps an explicit stack of
 * "items still to read" per open container, so deep or wide input costs no
 * recursion. Every declared size is compared with the bytes that remain
 * before it is believed: since each item takes at least one byte (a map entry
 * two), a message of L bytes can never make msgpack-c reserve more than L
 * objects. */
#include "mp.h"

#include <sodium.h>
#include <stdlib.h>

#include "err.h"

#define MP_MAX_DEPTH 32

static uint64_t be(const uint8_t *p, unsigned n)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* Reads one header at p[0..left). *skip: payload bytes after the header;
 * *items: child items (0 for scalars). Returns header size or an error. */
static int header(const uint8_t *p, size_t left, uint64_t *skip, uint64_t *items)
{
  uint8_t b = p[0];
  unsigned n = 0;

  *skip = 0;
  *items = 0;
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return 1;
  if (b >= 0x80 && b <= 0x8f) {
    *items = 2u * (b & 0x0f);
    return 1;
  }
  if (b >= 0x90 && b <= 0x9f) {
    *items = b & 0x0f;
    return 1;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    *skip = b & 0x1f;
    return 1;
  }
  switch (b) {
  case 0xcc: case 0xd0: *skip = 1; return 1;
  case 0xcd: case 0xd1: *skip = 2; return 1;
  case 0xce: case 0xd2: *skip = 4; return 1;
  case 0xcf: case 0xd3: *skip = 8; return 1;
  case 0xc4: case 0xd9: n = 1; break;
  case 0xc5: case 0xda: case 0xdc: case 0xde: n = 2; break;
  case 0xc6: case 0xdb: case 0xdd: case 0xdf: n = 4; break;
  default:
    return BT_ETYPE; /* 0xc1, floats, ext, fixext */
  }
  if (left < 1u + n)
    return BT_ETRUNC;
  uint64_t v = be(p + 1, n);
  if (b == 0xdc || b == 0xdd)
    *items = v;
  else if (b == 0xde || b == 0xdf)
    *items = 2 * v;
  else
    *skip = v;
  return 1 + (int)n;
}

int crdt_mp_walk(const uint8_t *p, size_t len, unsigned max_depth, size_t *used)
{
  uint64_t pending[MP_MAX_DEPTH + 1];
  size_t pos = 0;
  int depth = 0;

  if (max_depth > MP_MAX_DEPTH)
    max_depth = MP_MAX_DEPTH;
  pending[0] = 1;
  while (depth >= 0) {
    uint64_t skip, items;
    int h;

    if (pending[depth] == 0) {
      depth--;
      continue;
    }
    pending[depth]--;
    if (pos >= len)
      return BT_ETRUNC;
    if ((h = header(p + pos, len - pos, &skip, &items)) < 0)
      return h;
    pos += (size_t)h;
    if (skip > len - pos || items > len - pos)
      return BT_ETRUNC;
    pos += (size_t)skip;
    if (items > 0) {
      if ((unsigned)depth + 1 > max_depth)
        return BT_EDEPTH;
      pending[++depth] = items;
    }
  }
  *used = pos;
  return BT_OK;
}

int crdt_mp_unpack(const uint8_t *p, size_t len, unsigned max_depth,
                   msgpack_zone *zone, msgpack_object *obj)
{
  size_t used, off = 0;
  int rc;

  if ((rc = crdt_mp_walk(p, len, max_depth, &used)) != 0)
    return rc;
  if (used != len)
    return BT_ETRAILING;
  switch (msgpack_unpack((const char *)p, len, &off, zone, obj)) {
  case MSGPACK_UNPACK_SUCCESS:
    return off == len ? BT_OK : BT_ETRAILING;
  case MSGPACK_UNPACK_NOMEM_ERROR:
    return BT_ENOMEM;
  default:
    return BT_EPROTO; /* the walker should have caught it */
  }
}

int crdt_mp_uint(const msgpack_object *o, uint64_t *v)
{
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return BT_ETYPE;
  *v = o->via.u64;
  return BT_OK;
}

int crdt_mp_bin(const msgpack_object *o, size_t want, uint8_t *out)
{
  if (o->type != MSGPACK_OBJECT_BIN)
    return BT_ETYPE;
  if (o->via.bin.size != want)
    return BT_EINVAL;
  memcpy(out, o->via.bin.ptr, want);
  return BT_OK;
}

int crdt_mp_str(const msgpack_object *o, size_t max, bt_str *out)
{
  if (o->type != MSGPACK_OBJECT_STR)
    return BT_ETYPE;
  if (o->via.str.size > max)
    return BT_ETOOBIG;
  out->p = o->via.str.ptr;
  out->len = o->via.str.size;
  return BT_OK;
}

int crdt_mp_array(const msgpack_object *o, size_t min, size_t max,
                  const msgpack_object **items, size_t *n)
{
  if (o->type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (o->via.array.size < min)
    return BT_EMISSING;
  if (o->via.array.size > max)
    return BT_ETOOBIG;
  *items = o->via.array.ptr;
  *n = o->via.array.size;
  return BT_OK;
}

int crdt_mp_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
  if (msgpack_pack_bin(pk, len) != 0 || msgpack_pack_bin_body(pk, p, len) != 0)
    return BT_ENOMEM;
  return BT_OK;
}

int crdt_mp_pack_str(msgpack_packer *pk, const char *p, size_t len)
{
  if (msgpack_pack_str(pk, len) != 0 || msgpack_pack_str_body(pk, p, len) != 0)
    return BT_ENOMEM;
  return BT_OK;
}

int crdt_mp_secure_write(void *data, const char *buf, size_t len)
{
  msgpack_sbuffer *sb = data;

  if (sb->alloc - sb->size < len) {
    size_t cap = sb->alloc ? sb->alloc : 512;
    char *nd;

    while (cap - sb->size < len) {
      if (cap > SIZE_MAX / 2)
        return -1;
      cap *= 2;
    }
    if ((nd = malloc(cap)) == NULL)
      return -1;
    if (sb->size)
      memcpy(nd, sb->data, sb->size);
    if (sb->data) {
      sodium_memzero(sb->data, sb->size);
      free(sb->data);
    }
    sb->data = nd;
    sb->alloc = cap;
  }
  memcpy(sb->data + sb->size, buf, len);
  sb->size += len;
  return 0;
}

void crdt_mp_secure_destroy(msgpack_sbuffer *sb)
{
  if (sb->data) {
    sodium_memzero(sb->data, sb->size);
    free(sb->data);
  }
  sb->data = NULL;
  sb->size = sb->alloc = 0;
}

int crdt_mp_cmp_write(void *data, const char *buf, size_t len)
{
  crdt_mp_cmp *c = data;

  if (c->differ || len > c->len - c->pos || memcmp(c->p + c->pos, buf, len) != 0)
    c->differ = 1;
  else
    c->pos += len;
  return 0;
}

int crdt_mp_hash_write(void *data, const char *buf, size_t len)
{
  return crypto_generichash_update(data, (const uint8_t *)buf, len);
}

int crdt_mp_pack_ids(msgpack_packer *pk, const crdt_id *ids, size_t n)
{
  int rc;

  if (msgpack_pack_array(pk, n) != 0)
    return BT_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if ((rc = crdt_mp_pack_bin(pk, ids[i].b, CRDT_ID_LEN)) != 0)
      return rc;
  return BT_OK;
}
