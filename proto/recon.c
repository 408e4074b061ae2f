/* proto/recon.c: range-based set reconciliation (docs/protocol.md
 * "Reconciliation", which is normative; the layouts are repeated next to
 * their decoders below).
 *
 * Design. The items are borrowed, sorted by key (ts, id); prefix sums of
 * the ids (four 64-bit limbs each, mod 2^256) make the fingerprint of any
 * index range two subtractions and one BLAKE2b. A bound is a key; every
 * range [lo, up) of a message maps to the index range [lower_bound(lo),
 * lower_bound(up)) of each side's items, so the two sides never need to
 * agree on anything but keys.
 *
 * Receiving is two passes over the unpacked message: the first checks
 * everything (types, sizes, bounds ascending to infinity, list entries
 * inside their range, answers inside a range this side listed, canonical
 * form), so the second, which builds the reply and records the results,
 * meets only well-formed ranges. The reply is written at an offset that
 * leaves room for the largest message header, then moved down once the
 * range count is known. Before writing a range the writer checks that the
 * range, a skip still pending and the tail that may have to follow all fit
 * the budget; when they do not, processing stops and one fingerprint over
 * [here, infinity) ends the message. Results are only appended while the
 * exchange runs and sorted (and deduplicated, against a peer that repeats
 * itself) once it ends. */
#include "recon.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "frame.h"

enum { S_START = 1, S_WAIT, S_DONE, S_FAILED };
enum { M_SKIP = 0, M_FP = 1, M_LIST = 2, M_ANSWER = 3, M_NONE = 4 };

#define ID_LEN CRDT_ID_LEN
#define TS_INF ((uint64_t)1 << 32) /* the bound above every key */
#define HDR_MAX 7                  /* 0x92, version, array32 header */
#define BOUND_MAX (9 + 2 + ID_LEN) /* ts as uint64, prefix as bin8 */
#define HEAD_MAX (1 + BOUND_MAX + 1) /* range array header, bound, mode */
#define TAIL_MAX (1 + 9 + 2 + 1 + 2 + PROTO_RECON_FP_LEN) /* [inf, "", 1, fp] */
#define RESERVE (HEAD_MAX + TAIL_MAX) /* a pending skip and the tail */
#define BITS_MAX (PROTO_RECON_LIST_MAX / 8)

_Static_assert(HDR_MAX + RESERVE + HEAD_MAX + 3 <= PROTO_RECON_OVERHEAD,
               "a list of threshold items fits a message with one skip before it");
_Static_assert(1 + 5 + 2 + ID_LEN <= PROTO_RECON_ENTRY_MAX, "entry size");

typedef struct {
  uint64_t ts; /* up to TS_INF */
  uint8_t id[ID_LEN];
} rkey;

typedef struct {
  rkey lo, up;
} span;

typedef struct {
  span *p;
  size_t n, cap;
} spans;

typedef struct {
  proto_recon_item *p;
  size_t n, cap;
} vec;

struct proto_recon {
  int initiator, state, err;
  const proto_recon_item *items;
  size_t n;
  uint64_t (*sum)[4]; /* sum[i]: ids of items[0..i), little-endian limbs */
  size_t budget, threshold;
  uint32_t max_rounds, rounds;
  spans sent, next; /* list ranges of the last message sent, of the next */
  vec have, need;
};

/* One range of a received message, checked. */
typedef struct {
  rkey up;
  unsigned mode;
  const uint8_t *fp;           /* M_FP */
  const msgpack_object *ents;  /* M_LIST, M_ANSWER: [ts, id] pairs */
  size_t nents;
  const uint8_t *bits;         /* M_ANSWER */
  size_t nbits;                /* bytes */
} in_range;

typedef struct {
  uint8_t *p;
  size_t cap, len;
  int over; /* a write did not fit: the budget checks failed (a bug) */
} wbuf;

/* A reply being written. */
typedef struct {
  proto_recon *r;
  wbuf w;
  msgpack_packer pk;
  size_t nranges;
  rkey cur;    /* lower bound of the next range */
  int pending; /* a skip up to cur is not written yet */
  int full;    /* the budget ran out at cur: the tail follows */
  int open;    /* a fingerprint or list was written: the peer must reply */
} writer;

static const rkey KEY_MIN = {0, {0}};
static const rkey KEY_INF = {TS_INF, {0}};

/* ---- keys ---- */

static int key_cmp(const rkey *a, const rkey *b)
{
  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return memcmp(a->id, b->id, ID_LEN);
}

static int item_cmp(const proto_recon_item *it, const rkey *k)
{
  if (it->ts != k->ts)
    return it->ts < k->ts ? -1 : 1;
  return memcmp(it->id.b, k->id, ID_LEN);
}

/* A list entry [ts, id] (checked) against an item. */
static int ent_cmp(const msgpack_object *e, const proto_recon_item *it)
{
  uint64_t ts = e->via.array.ptr[0].via.u64;

  if (ts != it->ts)
    return ts < it->ts ? -1 : 1;
  return memcmp(e->via.array.ptr[1].via.bin.ptr, it->id.b, ID_LEN);
}

static void ent_item(const msgpack_object *e, proto_recon_item *it)
{
  it->ts = (uint32_t)e->via.array.ptr[0].via.u64;
  memcpy(it->id.b, e->via.array.ptr[1].via.bin.ptr, ID_LEN);
}

static void ent_key(const msgpack_object *e, rkey *k)
{
  k->ts = e->via.array.ptr[0].via.u64;
  memcpy(k->id, e->via.array.ptr[1].via.bin.ptr, ID_LEN);
}

/* The first index at or after from whose item is not below k. */
static size_t lower_bound(const proto_recon *r, const rkey *k, size_t from)
{
  size_t lo = from, hi = r->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (item_cmp(&r->items[mid], k) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The shortest bound above a and not above b (a < b): b's ts alone when
 * the two differ, else b's id up to the first byte that differs from a's
 * (never 0: it is above a's byte), zeros after. */
static void separator(const proto_recon_item *a, const proto_recon_item *b, rkey *k)
{
  size_t s = 0;

  memset(k, 0, sizeof *k);
  k->ts = b->ts;
  if (a->ts != b->ts)
    return;
  while (s < ID_LEN - 1 && a->id.b[s] == b->id.b[s])
    s++;
  memcpy(k->id, b->id.b, s + 1);
}

/* A bound's id is sent without its trailing zero bytes. */
static size_t prefix_len(const rkey *k)
{
  size_t n = ID_LEN;

  while (n > 0 && k->id[n - 1] == 0)
    n--;
  return n;
}

/* ---- fingerprints ---- */

void proto_recon_fingerprint(const uint8_t sum[32], uint64_t count,
                             uint8_t out[PROTO_RECON_FP_LEN])
{
  uint8_t buf[32 + 8];

  memcpy(buf, sum, 32);
  for (int i = 0; i < 8; i++)
    buf[32 + i] = (uint8_t)(count >> (8 * i));
  crypto_generichash(out, PROTO_RECON_FP_LEN, buf, sizeof buf, NULL, 0);
}

static uint64_t le64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void build_sums(proto_recon *r)
{
  memset(r->sum[0], 0, sizeof r->sum[0]);
  for (size_t i = 0; i < r->n; i++) {
    uint64_t carry = 0;

    for (int k = 0; k < 4; k++) {
      uint64_t a = r->sum[i][k], b = le64(r->items[i].id.b + 8 * k), s = a + b;
      uint64_t c = s < a;

      s += carry;
      r->sum[i + 1][k] = s;
      carry = c | (s < carry);
    }
  }
}

/* The fingerprint of items[i..j). */
static void fp_of(const proto_recon *r, size_t i, size_t j, uint8_t out[PROTO_RECON_FP_LEN])
{
  uint8_t sum[32];
  uint64_t borrow = 0;

  for (int k = 0; k < 4; k++) {
    uint64_t a = r->sum[j][k], b = r->sum[i][k], d = a - b - borrow;

    borrow = a < b || a - b < borrow;
    for (int x = 0; x < 8; x++)
      sum[8 * k + x] = (uint8_t)(d >> (8 * x));
  }
  proto_recon_fingerprint(sum, j - i, out);
}

/* ---- sizes, as msgpack-c's packer writes them (shortest forms) ---- */

static size_t uint_size(uint64_t v)
{
  return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= UINT32_MAX ? 5 : 9;
}

static size_t bin_size(size_t n)
{
  return (n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

static size_t arr_size(size_t n)
{
  return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

/* [up.ts, up.prefix, mode, ...]: everything before the payload */
static size_t head_size(const rkey *up)
{
  return 1 + uint_size(up->ts) + bin_size(prefix_len(up)) + 1;
}

static size_t entry_size(const proto_recon_item *it)
{
  return 1 + uint_size(it->ts) + bin_size(ID_LEN);
}

static size_t list_size(const proto_recon *r, const rkey *up, size_t i, size_t j)
{
  size_t n = head_size(up) + arr_size(j - i);

  for (size_t k = i; k < j; k++)
    n += entry_size(&r->items[k]);
  return n;
}

/* ---- results ---- */

static int push(vec *v, const proto_recon_item *it)
{
  if (v->n == v->cap) {
    size_t cap = v->cap ? 2 * v->cap : 64;
    proto_recon_item *p;

    if (cap > SIZE_MAX / sizeof *p || (p = realloc(v->p, cap * sizeof *p)) == NULL)
      return BT_ENOMEM;
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = *it;
  return BT_OK;
}

static int push_span(spans *s, const rkey *lo, const rkey *up)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    span *p;

    if ((p = realloc(s->p, cap * sizeof *p)) == NULL)
      return BT_ENOMEM;
    s->p = p;
    s->cap = cap;
  }
  s->p[s->n].lo = *lo;
  s->p[s->n++].up = *up;
  return BT_OK;
}

static int item_order(const void *a, const void *b)
{
  const proto_recon_item *x = a, *y = b;

  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return memcmp(x->id.b, y->id.b, ID_LEN);
}

static void sort_unique(vec *v)
{
  size_t k = 0;

  if (v->n == 0)
    return;
  qsort(v->p, v->n, sizeof *v->p, item_order);
  for (size_t i = 1; i < v->n; i++)
    if (item_order(&v->p[k], &v->p[i]) != 0)
      v->p[++k] = v->p[i];
  v->n = k + 1;
}

/* ---- writing a message ----
 *
 * message = [version = 1, ranges]
 * range   = [ts, prefix, 0]                 skip
 *         | [ts, prefix, 1, fp bin(16)]     fingerprint
 *         | [ts, prefix, 2, entries]        list
 *         | [ts, prefix, 3, entries, bits]  answer
 * entries = [[ts, id bin(32)], ...]
 *
 * The packer's results are not checked one by one: wbuf records any write
 * that did not fit, and out_finish reports it. */

static int wbuf_write(void *data, const char *buf, size_t len)
{
  wbuf *w = data;

  if (len > w->cap - w->len) {
    w->over = 1;
    return -1;
  }
  memcpy(w->p + w->len, buf, len);
  w->len += len;
  return 0;
}

static void out_init(writer *o, proto_recon *r, uint8_t *p)
{
  memset(o, 0, sizeof *o);
  o->r = r;
  o->w = (wbuf){p, r->budget, HDR_MAX, 0};
  msgpack_packer_init(&o->pk, &o->w, wbuf_write);
  o->cur = KEY_MIN;
  r->next.n = 0;
}

static size_t flush_size(const writer *o)
{
  return o->pending ? head_size(&o->cur) : 0;
}

/* Whether a range of size bytes fits now, with room left for a skip and
 * the tail after it. */
static int room(const writer *o, size_t size)
{
  return o->nranges + 4 <= PROTO_RECON_RANGES_MAX &&
         o->w.len + flush_size(o) + size + RESERVE <= o->w.cap;
}

static void put_bound(writer *o, const rkey *k)
{
  size_t n = prefix_len(k);

  msgpack_pack_uint64(&o->pk, k->ts);
  msgpack_pack_bin(&o->pk, n);
  msgpack_pack_bin_body(&o->pk, k->id, n);
}

static void put_range_head(writer *o, const rkey *up, unsigned mode, unsigned fields)
{
  msgpack_pack_array(&o->pk, fields);
  put_bound(o, up);
  msgpack_pack_unsigned_int(&o->pk, mode);
  o->nranges++;
}

/* Starts the range [cur, up), writing the pending skip [.., cur) first. */
static void put_head(writer *o, const rkey *up, unsigned mode, unsigned fields)
{
  if (o->pending)
    put_range_head(o, &o->cur, M_SKIP, 3);
  o->pending = 0;
  put_range_head(o, up, mode, fields);
  o->cur = *up;
  o->open |= mode == M_FP || mode == M_LIST;
}

/* Consecutive skips merge: one range, written when something follows. */
static void put_skip(writer *o, const rkey *up)
{
  o->pending = 1;
  o->cur = *up;
}

static void put_fp(writer *o, const rkey *up, size_t i, size_t j)
{
  uint8_t fp[PROTO_RECON_FP_LEN];

  fp_of(o->r, i, j, fp);
  put_head(o, up, M_FP, 4);
  msgpack_pack_bin(&o->pk, sizeof fp);
  msgpack_pack_bin_body(&o->pk, fp, sizeof fp);
}

static void put_entry(writer *o, const proto_recon_item *it)
{
  msgpack_pack_array(&o->pk, 2);
  msgpack_pack_uint32(&o->pk, it->ts);
  msgpack_pack_bin(&o->pk, ID_LEN);
  msgpack_pack_bin_body(&o->pk, it->id.b, ID_LEN);
}

/* My items[i..j) as a list; the range is remembered, for its answer. */
static int put_list(writer *o, const rkey *up, size_t i, size_t j)
{
  rkey lo = o->cur;

  put_head(o, up, M_LIST, 4);
  msgpack_pack_array(&o->pk, (uint32_t)(j - i));
  for (size_t k = i; k < j; k++)
    put_entry(o, &o->r->items[k]);
  return push_span(&o->r->next, &lo, up);
}

/* The header goes in front of the ranges, which were written after
 * HDR_MAX bytes; with a full budget, one fingerprint covers the rest. */
static int out_finish(writer *o, size_t *olen)
{
  uint8_t h[HDR_MAX];
  wbuf hw = {h, sizeof h, 0, 0};
  msgpack_packer hp;

  if (o->full)
    put_fp(o, &KEY_INF, lower_bound(o->r, &o->cur, 0), o->r->n);
  else if (o->pending)
    put_range_head(o, &o->cur, M_SKIP, 3); /* cur is infinity */
  msgpack_packer_init(&hp, &hw, wbuf_write);
  msgpack_pack_array(&hp, 2);
  msgpack_pack_unsigned_int(&hp, PROTO_RECON_VERSION);
  msgpack_pack_array(&hp, (uint32_t)o->nranges);
  if (o->w.over || hw.over)
    return BT_ETOOBIG;
  memmove(o->w.p + hw.len, o->w.p + HDR_MAX, o->w.len - HDR_MAX);
  memcpy(o->w.p, h, hw.len);
  *olen = hw.len + o->w.len - HDR_MAX;
  return BT_OK;
}

/* ---- reading a message ---- */

/* A bound: ts uint (TS_INF is infinity, with an empty prefix), prefix bin
 * of 0..32 bytes not ending in 0; the key is (ts, prefix || zeros). */
static int get_bound(const msgpack_object *ts, const msgpack_object *pre, rkey *k)
{
  size_t n;

  if (ts->type != MSGPACK_OBJECT_POSITIVE_INTEGER || pre->type != MSGPACK_OBJECT_BIN)
    return BT_ETYPE;
  n = pre->via.bin.size;
  if (ts->via.u64 > TS_INF)
    return BT_EPROTO;
  if (n > ID_LEN)
    return BT_ETOOBIG;
  if (n > 0 && pre->via.bin.ptr[n - 1] == 0)
    return BT_ENONCANON;
  if (ts->via.u64 == TS_INF && n > 0)
    return BT_EPROTO;
  memset(k, 0, sizeof *k);
  k->ts = ts->via.u64;
  if (n > 0)
    memcpy(k->id, pre->via.bin.ptr, n);
  return BT_OK;
}

/* entry = [ts uint32, id bin(32)] */
static int get_entry(const msgpack_object *e, rkey *k)
{
  const msgpack_object *a;

  if (e->type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (e->via.array.size != 2)
    return BT_EPROTO;
  a = e->via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].type != MSGPACK_OBJECT_BIN)
    return BT_ETYPE;
  if (a[0].via.u64 > UINT32_MAX || a[1].via.bin.size != ID_LEN)
    return BT_EPROTO;
  ent_key(e, k);
  return BT_OK;
}

/* entries: at most PROTO_RECON_LIST_MAX, strictly ascending, in [lo, up). */
static int get_entries(const msgpack_object *o, const rkey *lo, in_range *in)
{
  rkey prev = *lo, k;
  int rc;

  if (o->type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (o->via.array.size > PROTO_RECON_LIST_MAX)
    return BT_ETOOBIG;
  for (size_t i = 0; i < o->via.array.size; i++) {
    if ((rc = get_entry(&o->via.array.ptr[i], &k)) != BT_OK)
      return rc;
    if (key_cmp(&k, &prev) < (i == 0 ? 0 : 1) || key_cmp(&k, &in->up) >= 0)
      return BT_EPROTO;
    prev = k;
  }
  in->ents = o->via.array.ptr;
  in->nents = o->via.array.size;
  return BT_OK;
}

/* An answer [lo, up) must lie inside one range of my last message's lists
 * (*sp walks them in step); name none of my items; and carry one bit per
 * item I hold in [lo, up), the spare high bits of the last byte zero. */
static int check_answer(const proto_recon *r, const rkey *lo, const in_range *in, size_t *sp)
{
  size_t i, j, c;
  int any = in->nents > 0;

  while (*sp < r->sent.n && key_cmp(&r->sent.p[*sp].up, lo) <= 0)
    (*sp)++;
  if (*sp == r->sent.n || key_cmp(&r->sent.p[*sp].lo, lo) > 0 ||
      key_cmp(&in->up, &r->sent.p[*sp].up) > 0)
    return BT_EPROTO;
  i = lower_bound(r, lo, 0);
  j = lower_bound(r, &in->up, i);
  c = j - i;
  if (in->nbits != (c + 7) / 8 || (c % 8 != 0 && in->bits[c / 8] >> (c % 8) != 0))
    return BT_EPROTO;
  for (size_t e = 0; e < in->nents; e++) {
    rkey k;
    size_t x;

    ent_key(&in->ents[e], &k);
    if ((x = lower_bound(r, &k, i)) < j && item_cmp(&r->items[x], &k) == 0)
      return BT_EPROTO;
  }
  for (size_t b = 0; b < in->nbits; b++)
    any |= in->bits[b] != 0;
  return any ? BT_OK : BT_ENONCANON; /* an answer that says nothing is a skip */
}

static int get_payload(const proto_recon *r, const msgpack_object *a, const rkey *lo,
                       in_range *in, size_t *sp)
{
  int rc;

  switch (in->mode) {
  case M_FP:
    if (a[3].type != MSGPACK_OBJECT_BIN)
      return BT_ETYPE;
    if (a[3].via.bin.size != PROTO_RECON_FP_LEN)
      return BT_EPROTO;
    in->fp = (const uint8_t *)a[3].via.bin.ptr;
    return BT_OK;
  case M_LIST:
    return get_entries(&a[3], lo, in);
  default:
    if ((rc = get_entries(&a[3], lo, in)) != BT_OK)
      return rc;
    if (a[4].type != MSGPACK_OBJECT_BIN)
      return BT_ETYPE;
    in->bits = (const uint8_t *)a[4].via.bin.ptr;
    in->nbits = a[4].via.bin.size;
    return check_answer(r, lo, in, sp);
  }
}

/* range = [ts, prefix, mode, payload...]: 3, 4, 4 or 5 items by mode. */
static int get_range(const proto_recon *r, const msgpack_object *o, const rkey *lo,
                     unsigned prev, in_range *in, size_t *sp)
{
  static const uint32_t fields[] = {3, 4, 4, 5};
  const msgpack_object *a;
  int rc;

  if (o->type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (o->via.array.size < 3 || o->via.array.size > 5)
    return BT_EPROTO;
  a = o->via.array.ptr;
  memset(in, 0, sizeof *in);
  if ((rc = get_bound(&a[0], &a[1], &in->up)) != BT_OK)
    return rc;
  if (key_cmp(&in->up, lo) <= 0)
    return BT_EPROTO;
  if (a[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return BT_ETYPE;
  if (a[2].via.u64 > M_ANSWER || o->via.array.size != fields[a[2].via.u64])
    return BT_EPROTO;
  in->mode = (unsigned)a[2].via.u64;
  if (in->mode == M_SKIP)
    return prev == M_SKIP ? BT_ENONCANON : BT_OK;
  return get_payload(r, a, lo, in, sp);
}

/* The one encoding: what msgpack-c's packer writes for the same object. */
static int canonical(const msgpack_object *o, const uint8_t *p, size_t len)
{
  crdt_mp_cmp c = {p, len, 0, 0};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &c, crdt_mp_cmp_write);
  msgpack_pack_object(&pk, *o);
  return crdt_mp_cmp_equal(&c) ? BT_OK : BT_ENONCANON;
}

/* message = [1, ranges]: checks all of it into in[0..*n); *open when it
 * has a fingerprint or list range (so it needs a reply). */
static int get_msg(const proto_recon *r, const msgpack_object *o, const uint8_t *p, size_t len,
                   in_range **in, size_t *n, int *open)
{
  const msgpack_object *a;
  rkey lo = KEY_MIN;
  unsigned prev = M_NONE;
  size_t sp = 0, nr;
  int rc;

  if (o->type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (o->via.array.size != 2)
    return BT_EPROTO;
  a = o->via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].type != MSGPACK_OBJECT_ARRAY)
    return BT_ETYPE;
  if (a[0].via.u64 != PROTO_RECON_VERSION)
    return BT_EVERSION;
  if ((nr = a[1].via.array.size) == 0)
    return BT_EPROTO;
  if (nr > PROTO_RECON_RANGES_MAX)
    return BT_ETOOBIG;
  if ((rc = canonical(o, p, len)) != BT_OK)
    return rc;
  if ((*in = malloc(nr * sizeof **in)) == NULL)
    return BT_ENOMEM;
  *open = 0;
  for (size_t k = 0; k < nr; k++) {
    if ((rc = get_range(r, &a[1].via.array.ptr[k], &lo, prev, &(*in)[k], &sp)) != BT_OK)
      return rc;
    lo = (*in)[k].up;
    prev = (*in)[k].mode;
    *open |= prev == M_FP || prev == M_LIST;
  }
  *n = nr;
  return key_cmp(&lo, &KEY_INF) == 0 ? BT_OK : BT_EPROTO;
}

/* ---- answering ---- */

/* My items[i..j) split into up to PROTO_RECON_SPLIT ranges of equal count,
 * a fingerprint each. */
static void split(writer *o, const rkey *end, size_t i, size_t j)
{
  size_t c = j - i, parts = c < PROTO_RECON_SPLIT ? c : PROTO_RECON_SPLIT;

  for (size_t k = 0; k < parts; k++) {
    size_t a = i + c * k / parts, b = i + c * (k + 1) / parts;
    rkey up = *end;

    if (k + 1 < parts)
      separator(&o->r->items[b - 1], &o->r->items[b], &up);
    if (!room(o, head_size(&up) + bin_size(PROTO_RECON_FP_LEN))) {
      o->full = 1;
      return;
    }
    put_fp(o, &up, a, b);
  }
}

static int on_fp(writer *o, const in_range *in, size_t i, size_t j)
{
  uint8_t mine[PROTO_RECON_FP_LEN];

  fp_of(o->r, i, j, mine);
  if (memcmp(mine, in->fp, sizeof mine) == 0) {
    put_skip(o, &in->up);
    return BT_OK;
  }
  if (j - i > o->r->threshold) {
    split(o, &in->up, i, j);
    return BT_OK;
  }
  if (!room(o, list_size(o->r, &in->up, i, j))) {
    o->full = 1;
    return BT_OK;
  }
  return put_list(o, &in->up, i, j);
}

/* Whether item it is among ents[0..m), moving *l past smaller entries. */
static int listed(const msgpack_object *ents, size_t m, size_t *l, const proto_recon_item *it)
{
  while (*l < m && ent_cmp(&ents[*l], it) < 0)
    (*l)++;
  return *l < m && ent_cmp(&ents[*l], it) == 0;
}

static int same(const proto_recon *r, const in_range *in, size_t i, size_t j)
{
  if (j - i != in->nents)
    return 0;
  for (size_t k = 0; k < in->nents; k++)
    if (ent_cmp(&in->ents[k], &r->items[i + k]) != 0)
      return 0;
  return 1;
}

/* How many of my extras an answer range can carry now; 0 when not even
 * its head and bitmap fit. */
static size_t answer_room(const writer *o, const in_range *in)
{
  size_t fixed = HEAD_MAX + arr_size(PROTO_RECON_LIST_MAX) + bin_size((in->nents + 7) / 8);
  size_t left;

  if (!room(o, fixed))
    return 0;
  left = (o->w.cap - o->w.len - flush_size(o) - fixed - RESERVE) / PROTO_RECON_ENTRY_MAX;
  return left < PROTO_RECON_LIST_MAX ? left : PROTO_RECON_LIST_MAX;
}

/* Where an answer range starting at my item i (list entry l) must end to
 * carry at most max extras: the index of the first extra beyond them, or
 * j. *e: the extras it carries. */
static size_t chunk_end(const proto_recon *r, const in_range *in, size_t i, size_t j, size_t l,
                        size_t max, size_t *e)
{
  size_t n = 0;

  for (; i < j; i++) {
    if (listed(in->ents, in->nents, &l, &r->items[i]))
      continue;
    if (n == max)
      break;
    n++;
  }
  *e = n;
  return i;
}

/* [cur, up): my items[i..end) the list ents[0..m) lacks, and a bit for
 * each entry I lack; both recorded as results. */
static int put_answer(writer *o, const rkey *up, size_t i, size_t end, size_t e,
                      const msgpack_object *ents, size_t m)
{
  proto_recon *r = o->r;
  uint8_t bits[BITS_MAX] = {0};
  proto_recon_item it;
  size_t l = 0, k = i;
  int rc;

  put_head(o, up, M_ANSWER, 5);
  msgpack_pack_array(&o->pk, (uint32_t)e);
  for (; k < end; k++) {
    if (listed(ents, m, &l, &r->items[k]))
      continue;
    put_entry(o, &r->items[k]);
    if ((rc = push(&r->have, &r->items[k])) != BT_OK)
      return rc;
  }
  for (l = 0, k = i; l < m; l++) {
    while (k < end && ent_cmp(&ents[l], &r->items[k]) > 0)
      k++;
    if (k < end && ent_cmp(&ents[l], &r->items[k]) == 0)
      continue;
    bits[l / 8] |= (uint8_t)(1u << (l % 8));
    ent_item(&ents[l], &it);
    if ((rc = push(&r->need, &it)) != BT_OK)
      return rc;
  }
  msgpack_pack_bin(&o->pk, (m + 7) / 8);
  msgpack_pack_bin_body(&o->pk, bits, (m + 7) / 8);
  return BT_OK;
}

/* The peer listed its items in [cur, up): answer in as many ranges as
 * the extras need (PROTO_RECON_LIST_MAX each, and the budget). */
static int on_list(writer *o, const in_range *in, size_t i, size_t j)
{
  const proto_recon_item *items = o->r->items;
  size_t l = 0;
  int rc;

  if (same(o->r, in, i, j)) {
    put_skip(o, &in->up);
    return BT_OK;
  }
  for (;;) {
    size_t e, m = l, max = answer_room(o, in), end = chunk_end(o->r, in, i, j, l, max, &e);
    rkey up = in->up, k;

    if (max == 0 || (end < j && e == 0)) {
      o->full = 1;
      return BT_OK;
    }
    if (end < j) {
      separator(&items[end - 1], &items[end], &up);
      while (m < in->nents && (ent_key(&in->ents[m], &k), key_cmp(&k, &up) < 0))
        m++;
    } else {
      m = in->nents;
    }
    if ((rc = put_answer(o, &up, i, end, e, in->ents + l, m - l)) != BT_OK || end == j)
      return rc;
    i = end;
    l = m;
  }
}

static int on_answer(writer *o, const in_range *in, size_t i, size_t j)
{
  proto_recon *r = o->r;
  proto_recon_item it;
  int rc;

  for (size_t e = 0; e < in->nents; e++) {
    ent_item(&in->ents[e], &it);
    if ((rc = push(&r->need, &it)) != BT_OK)
      return rc;
  }
  for (size_t b = 0; b < j - i; b++)
    if (in->bits[b / 8] >> (b % 8) & 1 && (rc = push(&r->have, &r->items[i + b])) != BT_OK)
      return rc;
  put_skip(o, &in->up);
  return BT_OK;
}

static int process(writer *o, const in_range *in, size_t n)
{
  size_t i = 0;
  int rc = BT_OK;

  for (size_t k = 0; k < n && rc == BT_OK && !o->full; k++) {
    size_t j = lower_bound(o->r, &in[k].up, i);

    switch (in[k].mode) {
    case M_SKIP:
      put_skip(o, &in[k].up);
      break;
    case M_FP:
      rc = on_fp(o, &in[k], i, j);
      break;
    case M_LIST:
      rc = on_list(o, &in[k], i, j);
      break;
    default:
      rc = on_answer(o, &in[k], i, j);
      break;
    }
    i = j;
  }
  return rc;
}

/* ---- the session ---- */

static int check_opts(const proto_recon_opts *o)
{
  if (o->budget < PROTO_RECON_BUDGET_MIN || o->budget > PROTO_RECON_MSG_MAX)
    return BT_EINVAL;
  if (o->threshold < 1 || o->threshold > PROTO_RECON_LIST_MAX ||
      PROTO_RECON_ENTRY_MAX * o->threshold + PROTO_RECON_OVERHEAD > o->budget)
    return BT_EINVAL;
  return o->max_rounds >= 1 && o->max_rounds <= PROTO_RECON_ROUNDS_CAP ? BT_OK : BT_EINVAL;
}

static int sorted(const proto_recon_item *items, size_t n)
{
  for (size_t i = 1; i < n; i++)
    if (item_order(&items[i - 1], &items[i]) >= 0)
      return 0;
  return 1;
}

int proto_recon_new(proto_recon **out, int initiator, const proto_recon_item *items, size_t n,
                    const proto_recon_opts *o)
{
  proto_recon_opts d = {0};
  proto_recon *r;

  if (o)
    d = *o;
  d.budget = d.budget ? d.budget : PROTO_RECON_BUDGET_DEFAULT;
  d.threshold = d.threshold ? d.threshold : PROTO_RECON_THRESHOLD_DEFAULT;
  d.max_rounds = d.max_rounds ? d.max_rounds : PROTO_RECON_ROUNDS_DEFAULT;
  if (check_opts(&d) != BT_OK || (n > 0 && items == NULL) || !sorted(items, n) ||
      n >= SIZE_MAX / sizeof *r->sum / PROTO_RECON_SPLIT)
    return BT_EINVAL;
  if ((r = calloc(1, sizeof *r)) == NULL)
    return BT_ENOMEM;
  if ((r->sum = malloc((n + 1) * sizeof *r->sum)) == NULL) {
    free(r);
    return BT_ENOMEM;
  }
  r->initiator = !!initiator;
  r->state = initiator ? S_START : S_WAIT;
  r->items = items;
  r->n = n;
  r->budget = d.budget;
  r->threshold = d.threshold;
  r->max_rounds = d.max_rounds;
  build_sums(r);
  *out = r;
  return BT_OK;
}

void proto_recon_free(proto_recon *r)
{
  if (r == NULL)
    return;
  free(r->sum);
  free(r->sent.p);
  free(r->next.p);
  free(r->have.p);
  free(r->need.p);
  free(r);
}

/* The list ranges of the message just written become the ones its answer
 * must fall in. */
static void sent(proto_recon *r)
{
  spans t = r->sent;

  r->sent = r->next;
  r->next = t;
  r->next.n = 0;
}

static void finish(proto_recon *r)
{
  sort_unique(&r->have);
  sort_unique(&r->need);
  r->state = S_DONE;
}

int proto_recon_start(proto_recon *r, uint8_t *out_p, size_t cap, size_t *olen)
{
  writer o;
  int rc;

  if (!r->initiator || r->state != S_START || cap < r->budget)
    return BT_EINVAL;
  out_init(&o, r, out_p);
  if (r->n <= r->threshold) {
    if ((rc = put_list(&o, &KEY_INF, 0, r->n)) != BT_OK)
      return rc;
  } else {
    put_fp(&o, &KEY_INF, 0, r->n);
  }
  if ((rc = out_finish(&o, olen)) != BT_OK)
    return rc;
  sent(r);
  r->state = S_WAIT;
  return BT_OK;
}

/* Checks the message, then answers it into out_p. */
static int receive(proto_recon *r, const uint8_t *p, size_t len, uint8_t *out_p, size_t *olen)
{
  msgpack_zone z;
  msgpack_object root;
  in_range *in = NULL;
  size_t n = 0, reply = 0;
  int open = 0, rc;
  writer o;

  if (r->rounds >= r->max_rounds)
    return BT_EPROTO;
  r->rounds++;
  if (len > PROTO_RECON_MSG_MAX)
    return BT_ETOOBIG;
  if (!msgpack_zone_init(&z, 4096))
    return BT_ENOMEM;
  if ((rc = proto_frame_unpack(p, len, &z, &root)) != BT_OK ||
      (rc = get_msg(r, &root, p, len, &in, &n, &open)) != BT_OK)
    goto out;
  out_init(&o, r, out_p);
  if ((rc = process(&o, in, n)) != BT_OK || (open && (rc = out_finish(&o, &reply)) != BT_OK))
    goto out;
  sent(r);
  if (!open || !o.open)
    finish(r);
  *olen = reply;
out:
  free(in);
  msgpack_zone_destroy(&z);
  return rc;
}

int proto_recon_recv(proto_recon *r, const uint8_t *p, size_t len, uint8_t *out_p, size_t cap,
                     size_t *olen)
{
  int rc;

  if (r->state == S_FAILED)
    return r->err;
  if (r->state != S_WAIT || cap < r->budget || (p == NULL && len > 0))
    return BT_EINVAL;
  if ((rc = receive(r, p, len, out_p, olen)) != BT_OK) {
    r->state = S_FAILED;
    r->err = rc;
  }
  return rc;
}

int proto_recon_done(const proto_recon *r)
{
  return r->state == S_DONE;
}

int proto_recon_have(const proto_recon *r, const proto_recon_item **items, size_t *n)
{
  if (r->state != S_DONE)
    return BT_EINVAL;
  *items = r->have.p;
  *n = r->have.n;
  return BT_OK;
}

int proto_recon_need(const proto_recon *r, const proto_recon_item **items, size_t *n)
{
  if (r->state != S_DONE)
    return BT_EINVAL;
  *items = r->need.p;
  *n = r->need.n;
  return BT_OK;
}

uint32_t proto_recon_rounds(const proto_recon *r)
{
  return r->rounds;
}
