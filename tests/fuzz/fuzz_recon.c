/* tests/fuzz/fuzz_recon.c: libFuzzer harness for reconciliation.
 *
 * Byte 0 picks the side the fuzzer plays against:
 *   bit 0     0: a responder; 1: an initiator, after its first message
 *   bits 1-2  its items (recon_set below, shared with mkcorpus.c): 0: 40
 *             items in 3 ts values, 1: 2000 items spread, 2: none, 3: one
 *   bit 3     a 4 KiB budget and threshold 8 instead of the defaults
 * The rest is what the peer sends, as messages [u16 BE length][bytes],
 * fed in order until one is refused, the side is done, or they run out.
 *
 * Besides sanitizer reports it aborts when a reply is empty while the side
 * is not done, is longer than the budget or is not one canonical msgpack
 * message [1, ranges]; when an error is not final or a done side accepts
 * more; or when the results are not ascending, have names an item the side
 * does not hold, or need one it does. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "proto/frame.h"
#include "proto/recon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static proto_recon_item sets[4][2000];
static size_t nsets[4];
static uint8_t *out;

static uint64_t next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static int order(const void *x, const void *y)
{
  const proto_recon_item *a = x, *b = y;

  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return memcmp(a->id.b, b->id.b, CRDT_ID_LEN);
}

/* Must match recon_set in mkcorpus.c. */
static size_t recon_set(int which, proto_recon_item *items)
{
  static const size_t sizes[] = {40, 2000, 0, 1};
  uint64_t s = 0x9e3779b97f4a7c15u + (uint64_t)which;
  size_t n = sizes[which];

  for (size_t i = 0; i < n; i++) {
    items[i].ts = 490000 + (uint32_t)(which == 1 ? next(&s) % 100000 : next(&s) % 3);
    for (int k = 0; k < 4; k++) {
      uint64_t v = next(&s);

      memcpy(items[i].id.b + 8 * k, &v, 8);
    }
  }
  qsort(items, n, sizeof *items, order);
  return n;
}

static void setup(void)
{
  if (out)
    return;
  if (sodium_init() < 0 || (out = malloc(PROTO_RECON_MSG_MAX)) == NULL)
    abort();
  for (int k = 0; k < 4; k++)
    nsets[k] = recon_set(k, sets[k]);
}

static int held(const proto_recon_item *it, const proto_recon_item *items, size_t n)
{
  return bsearch(it, items, n, sizeof *items, order) != NULL;
}

static void check_results(proto_recon *r, const proto_recon_item *items, size_t n)
{
  const proto_recon_item *p;
  size_t m;

  for (int need = 0; need < 2; need++) {
    if ((need ? proto_recon_need(r, &p, &m) : proto_recon_have(r, &p, &m)) != BT_OK)
      abort();
    for (size_t i = 0; i < m; i++)
      if ((i > 0 && order(&p[i - 1], &p[i]) >= 0) || held(&p[i], items, n) == need)
        abort();
  }
}

/* One canonical [1, ranges] of at most budget bytes. */
static void check_reply(const uint8_t *p, size_t len, size_t budget)
{
  crdt_mp_cmp c = {p, len, 0, 0};
  msgpack_packer pk;
  msgpack_object o;
  msgpack_zone z;

  if (len == 0 || len > budget || !msgpack_zone_init(&z, 1024))
    abort();
  if (proto_frame_unpack(p, len, &z, &o) != BT_OK || o.type != MSGPACK_OBJECT_ARRAY ||
      o.via.array.size != 2 || o.via.array.ptr[0].via.u64 != PROTO_RECON_VERSION ||
      o.via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY || o.via.array.ptr[1].via.array.size == 0)
    abort();
  msgpack_packer_init(&pk, &c, crdt_mp_cmp_write);
  msgpack_pack_object(&pk, o);
  if (!crdt_mp_cmp_equal(&c))
    abort();
  msgpack_zone_destroy(&z);
}

/* Feeds one message (an exact-size copy, so ASan sees overreads). */
static int feed(proto_recon *r, const uint8_t *p, size_t len, size_t budget)
{
  uint8_t *copy = malloc(len ? len : 1);
  size_t olen = 0, again;
  int rc;

  if (len)
    memcpy(copy, p, len);
  rc = proto_recon_recv(r, copy, len, out, PROTO_RECON_MSG_MAX, &olen);
  if (rc != BT_OK) {
    if (proto_recon_done(r) || proto_recon_recv(r, copy, len, out, PROTO_RECON_MSG_MAX,
                                                &again) != rc)
      abort();
  } else if (olen > 0) {
    check_reply(out, olen, budget);
  } else if (!proto_recon_done(r)) {
    abort();
  }
  free(copy);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  proto_recon_opts small = {.budget = PROTO_RECON_BUDGET_MIN, .threshold = 8};
  const proto_recon_opts *o;
  const proto_recon_item *items;
  proto_recon *r;
  size_t n, pos = 1, len, budget;
  int which, rc = BT_OK;

  if (size < 1)
    return 0;
  setup();
  which = data[0] >> 1 & 3;
  items = sets[which];
  n = nsets[which];
  o = data[0] & 8 ? &small : NULL;
  budget = o ? o->budget : PROTO_RECON_BUDGET_DEFAULT;
  if (proto_recon_new(&r, data[0] & 1, items, n, o) != BT_OK)
    abort();
  if ((data[0] & 1) && proto_recon_start(r, out, PROTO_RECON_MSG_MAX, &len) != BT_OK)
    abort();
  while (rc == BT_OK && !proto_recon_done(r) && size - pos >= 2) {
    len = (size_t)data[pos] << 8 | data[pos + 1];
    pos += 2;
    len = len < size - pos ? len : size - pos;
    rc = feed(r, data + pos, len, budget);
    pos += len;
  }
  if (proto_recon_done(r)) {
    check_results(r, items, n);
    if (proto_recon_recv(r, data, size, out, PROTO_RECON_MSG_MAX, &len) != BT_EINVAL)
      abort();
  }
  proto_recon_free(r);
  return 0;
}
