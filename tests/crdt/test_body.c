/* tests/crdt/test_body.c: op bodies, their canonical codec and field rules.
 *
 * Three groups. Round trips: random valid bodies of every known type (from
 * gen.h, so a new type or field is covered without touching this file) must
 * encode deterministically and decode to the same fields, compared field by
 * field through the schema tables and again by re-encoding. Non-canonical
 * forms: each is built by hand with msgpack-c's packer, or as raw bytes where
 * the packer would refuse, and must be rejected with ENONCANON or the
 * specific reason. Field rules: UPN, dates, enum words, required front-sheet
 * fields, ordering and size limits, on both the encode and the decode side.
 *
 * crdt_body_decode takes ownership of a malloc'd buffer; every call here
 * passes a fresh exact-size copy so ASan sees overreads and leaks. */
#include "crdt/body.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "gen.h"

#define SEEDS 300
#define HLC0 UINT64_C(0x0197F2A1B3C40005) /* some ms in 2025, counter 5 */

/* ---- helpers ----------------------------------------------------------- */

static uint8_t *dup_bytes(const void *p, size_t len)
{
  uint8_t *d = malloc(len ? len : 1);

  cr_assert_not_null(d);
  if (len)
    memcpy(d, p, len);
  return d;
}

/* Decodes a copy of p; frees the result unless out is given. */
static int dec(const void *p, size_t len, crdt_body **out)
{
  crdt_body *b = NULL;
  int rc = crdt_body_decode(dup_bytes(p, len), len, &b);

  if (rc == BT_OK && out)
    *out = b;
  else if (rc == BT_OK)
    crdt_body_free(b);
  return rc;
}

static int enc(const crdt_body *b, msgpack_sbuffer *sb)
{
  msgpack_sbuffer_init(sb);
  return crdt_body_encode(b, sb);
}

/* Encodes, discards the bytes, returns the code. */
static int enc_rc(const crdt_body *b)
{
  msgpack_sbuffer sb;
  int rc = enc(b, &sb);

  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int same(const msgpack_sbuffer *sb, const void *p, size_t len)
{
  return sb->size == len && memcmp(sb->data, p, len) == 0;
}

/* Field-by-field equality through the schema table. */
static int rec_eq(const crdt_schema *s, const void *a, const void *b)
{
  for (size_t i = 0; i < s->nfields; i++) {
    const crdt_field *f = &s->fields[i];
    const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;

    switch (f->kind) {
    case CRDT_F_STR:
    case CRDT_F_TEXT:
    case CRDT_F_BIN:
      if (!bt_str_eq(*(const bt_str *)pa, *(const bt_str *)pb))
        return 0;
      break;
    case CRDT_F_UINT:
    case CRDT_F_YESNO:
    case CRDT_F_ENUM:
    case CRDT_F_DATE:
      if (*(const uint32_t *)pa != *(const uint32_t *)pb)
        return 0;
      break;
    case CRDT_F_TIME:
      if (*(const uint64_t *)pa != *(const uint64_t *)pb)
        return 0;
      break;
    case CRDT_F_ID:
      if (memcmp(pa, pb, CRDT_ID_LEN) != 0)
        return 0;
      break;
    case CRDT_F_LIST: {
      size_t na = *(const size_t *)((const char *)a + f->count_off);
      size_t nb = *(const size_t *)((const char *)b + f->count_off);
      const char *ia = *(char *const *)pa, *ib = *(char *const *)pb;

      if (na != nb)
        return 0;
      for (size_t k = 0; k < na; k++)
        if (!rec_eq(f->sub, ia + k * f->sub->size, ib + k * f->sub->size))
          return 0;
      break;
    }
    default:
      return 0;
    }
  }
  return 1;
}

typedef struct {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} hb;

/* Starts a hand-built body: fixarray(4) [hlc, type, user, ...]. */
static void hb_begin(hb *h, uint32_t type)
{
  msgpack_sbuffer_init(&h->sb);
  msgpack_packer_init(&h->pk, &h->sb, msgpack_sbuffer_write);
  msgpack_pack_array(&h->pk, 4);
  msgpack_pack_uint64(&h->pk, HLC0);
  msgpack_pack_uint32(&h->pk, type);
  crdt_mp_pack_str(&h->pk, "dsl.jones", 9);
}

static void hb_raw(hb *h, const void *p, size_t len)
{
  msgpack_sbuffer_write(&h->sb, p, len);
}

static void hb_str(hb *h, const char *s)
{
  crdt_mp_pack_str(&h->pk, s, strlen(s));
}

/* Decodes what was built, frees it, returns the code. */
static int hb_end(hb *h)
{
  int rc = dec(h->sb.data, h->sb.size, NULL);

  msgpack_sbuffer_destroy(&h->sb);
  return rc;
}

/* A body of `type` whose fields map is the given raw bytes. */
static int dec_map(uint32_t type, const void *map, size_t len)
{
  hb h;

  hb_begin(&h, type);
  hb_raw(&h, map, len);
  return hb_end(&h);
}

#define MAP(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

#define EXPECT(rc, want, what)                                                   \
  do {                                                                           \
    int rc_ = (rc);                                                              \
    cr_assert_eq(rc_, (want), "%s: got %s, want %s", (what), bt_errname(rc_),     \
                 bt_errname(want));                                              \
  } while (0)

/* ---- round trips ------------------------------------------------------- */

Test(crdt_body, every_known_type_round_trips_byte_for_byte)
{
  for (uint32_t type = 1; type < CRDT_OP_KNOWN_END; type++) {
    const crdt_schema *s = crdt_body_schema(type);

    cr_assert_not_null(s, "type %" PRIu32, type);
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
      gen_rng r;
      gen_arena *a = gen_arena_new();
      crdt_body b, *d = NULL;
      msgpack_sbuffer e1, e2, e3;
      int rc;

      gen_seed(&r, seed * 100 + type);
      gen_body(&r, a, type, gen_u64(&r) >> 1, &b, NULL, 0);
      rc = enc(&b, &e1);
      cr_assert_eq(rc, BT_OK, "type %" PRIu32 " seed %" PRIu64 ": %s", type, seed,
                   bt_errname(rc));
      cr_assert_eq(enc(&b, &e2), BT_OK, "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert(same(&e1, e2.data, e2.size), "type %" PRIu32 " seed %" PRIu64
                ": two encodings differ", type, seed);
      rc = dec(e1.data, e1.size, &d);
      cr_assert_eq(rc, BT_OK, "type %" PRIu32 " seed %" PRIu64 ": %s", type, seed,
                   bt_errname(rc));
      cr_assert(d->known, "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert_eq(d->type, type, "seed %" PRIu64, seed);
      cr_assert_eq(d->hlc, b.hlc, "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert(bt_str_eq(d->user, b.user), "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert(rec_eq(s, &b.u, &d->u), "type %" PRIu32 " seed %" PRIu64
                ": decoded fields differ", type, seed);
      cr_assert_eq(d->raw.len, 0, "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert_eq(crdt_body_event_time(d), crdt_body_event_time(&b),
                   "type %" PRIu32 " seed %" PRIu64, type, seed);
      rc = enc(d, &e3);
      cr_assert_eq(rc, BT_OK, "type %" PRIu32 " seed %" PRIu64, type, seed);
      cr_assert(same(&e3, e1.data, e1.size), "type %" PRIu32 " seed %" PRIu64
                ": re-encode differs", type, seed);
      crdt_body_free(d);
      msgpack_sbuffer_destroy(&e1);
      msgpack_sbuffer_destroy(&e2);
      msgpack_sbuffer_destroy(&e3);
      gen_arena_free(a);
    }
  }
}

Test(crdt_body, decoded_fields_spot_checks)
{
  crdt_fieldval fv[] = {
    {CRDT_FS_GIVEN, BT_STR("Zoë")},
    {CRDT_FS_FAMILY, BT_STR("Smith")},
    {CRDT_FS_DOB, BT_STR("2015-02-28")},
    {CRDT_FS_UPN, BT_STR("B801200005001")},
    {CRDT_FS_PLAN, BT_STR("cp")},
  };
  crdt_mark marks[2] = {
    {.view = CRDT_VIEW_FRONT, .x = 0, .y = 1000, .site = BT_STR("left arm"),
     .skin_broken = CRDT_NO, .clean = CRDT_DIRTY},
    {.view = CRDT_VIEW_BACK, .x = 512, .y = 3, .site = BT_STR("back"),
     .pain = CRDT_YES},
  };
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_FILE_CREATE, .user = BT_STR("dsl.jones")};
  crdt_body *d;
  msgpack_sbuffer sb;

  b.u.fields = (crdt_fields){fv, 5};
  cr_assert_eq(enc(&b, &sb), BT_OK);
  cr_assert_eq(dec(sb.data, sb.size, &d), BT_OK);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(d->u.fields.n, 5);
  cr_assert_eq(d->u.fields.v[3].field, CRDT_FS_UPN);
  cr_assert(bt_str_eq(d->u.fields.v[3].value, BT_STR("B801200005001")));
  cr_assert(bt_str_eq(d->u.fields.v[0].value, BT_STR("Zoë")));
  cr_assert(bt_str_eq(d->user, BT_STR("dsl.jones")));
  cr_assert_eq(d->hlc, HLC0);
  crdt_body_free(d);

  memset(&b.u, 0, sizeof b.u);
  b.type = CRDT_OP_BODYMAP;
  b.u.bodymap = (crdt_bodymap){.observed_at = 1700000000000, .observer_name = BT_STR("A"),
                               .observer_role = BT_STR("TA"), .marks = marks, .nmarks = 2};
  cr_assert_eq(enc(&b, &sb), BT_OK);
  cr_assert_eq(dec(sb.data, sb.size, &d), BT_OK);
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(d->u.bodymap.nmarks, 2);
  cr_assert_eq(d->u.bodymap.marks[0].x, 0, "x = 0 is a value, not absent");
  cr_assert_eq(d->u.bodymap.marks[0].y, 1000);
  cr_assert_eq(d->u.bodymap.marks[0].skin_broken, CRDT_NO);
  cr_assert_eq(d->u.bodymap.marks[0].clean, CRDT_DIRTY);
  cr_assert_eq(d->u.bodymap.marks[1].pain, CRDT_YES);
  cr_assert_eq(d->u.bodymap.marks[1].skin_broken, 0);
  cr_assert(bt_str_eq(d->u.bodymap.marks[1].site, BT_STR("back")));
  cr_assert(crdt_id_is_zero(&d->u.bodymap.concern));
  cr_assert_eq(crdt_body_event_time(d), 1700000000000);
  crdt_body_free(d);
}

Test(crdt_body, exact_bytes_of_a_small_body)
{
  /* [HLC0, 11, "dsl.jones", {1: "dv"}], written out by hand. */
  static const uint8_t want[] = {
    0x94, 0xcf, 0x01, 0x97, 0xf2, 0xa1, 0xb3, 0xc4, 0x00, 0x05, 0x0b,
    0xa9, 'd', 's', 'l', '.', 'j', 'o', 'n', 'e', 's', 0x81, 0x01, 0xa2, 'd', 'v',
  };
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_TAG_ADD, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;

  b.u.tag.tag = BT_STR("dv");
  cr_assert_eq(enc(&b, &sb), BT_OK);
  cr_assert(same(&sb, want, sizeof want));
  msgpack_sbuffer_destroy(&sb);
  cr_assert_eq(dec(want, sizeof want, NULL), BT_OK);
}

/* ---- non-canonical forms ----------------------------------------------- */

Test(crdt_body, longer_integer_forms_are_not_canonical)
{
  /* chronology {1: event_at, 2: category 5 as uint16, 3: "x"} */
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0xcf, 0, 0, 0x01, 0x8b, 0, 0, 0, 0,
                                     0x02, 0xcd, 0x00, 0x05, 0x03, 0xa1, 'x')),
         BT_ENONCANON, "category as uint16");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0xcf, 0, 0, 0x01, 0x8b, 0, 0, 0, 0,
                                     0x02, 0xcc, 0x05, 0x03, 0xa1, 'x')),
         BT_ENONCANON, "category as uint8");
  /* event_at that fits in 32 bits, written in 64 */
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0xcf, 0, 0, 0, 0, 0, 0, 0x30, 0x39,
                                     0x02, 0x05, 0x03, 0xa1, 'x')),
         BT_ENONCANON, "event_at as uint64");
  /* the canonical one next to them is accepted */
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0xcd, 0x30, 0x39, 0x02, 0x05, 0x03,
                                     0xa1, 'x')),
         BT_OK, "canonical chronology");
  /* map key in a long form */
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0xcc, 0x01, 0xa2, 'd', 'v')), BT_ENONCANON,
         "key as uint8");
  /* the type and the HLC in long forms */
  EXPECT(dec(MAP(0x94, 0x05, 0xcd, 0x00, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'),
                 NULL),
         BT_ENONCANON, "type as uint16");
  EXPECT(dec(MAP(0x94, 0xcc, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ENONCANON, "hlc as uint8");
  EXPECT(dec(MAP(0x94, 0xd0, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ENONCANON, "hlc as int8");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_OK, "the canonical form of the same");
}

Test(crdt_body, short_strings_in_long_forms_are_not_canonical)
{
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0x01, 0xd9, 0x05, 'h', 'e', 'l', 'l', 'o')),
         BT_ENONCANON, "str8 for 5 bytes");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0x01, 0xda, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o')),
         BT_ENONCANON, "str16 for 5 bytes");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0x01, 0xa5, 'h', 'e', 'l', 'l', 'o')), BT_OK,
         "fixstr");
  /* the user string */
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xd9, 0x01, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ENONCANON, "user as str8");
}

Test(crdt_body, long_container_forms_are_not_canonical)
{
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0xde, 0x00, 0x01, 0x01, 0xa2, 'd', 'v')),
         BT_ENONCANON, "map16 of one");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0xdf, 0, 0, 0, 1, 0x01, 0xa2, 'd', 'v')),
         BT_ENONCANON, "map32 of one");
  EXPECT(dec(MAP(0xdc, 0x00, 0x04, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'),
                 NULL),
         BT_ENONCANON, "body as array16");
  EXPECT(dec(MAP(0xdd, 0, 0, 0, 0x04, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd',
                 'v'), NULL),
         BT_ENONCANON, "body as array32");
  /* a one-mark body map whose marks list is an array16 */
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0xdc, 0x00,
                     0x01, 0x84, 0x01, 0x01, 0x02, 0x00, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_ENONCANON, "list as array16");
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x84, 0x01, 0x01, 0x02, 0x00, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_OK, "the canonical body map");
}

Test(crdt_body, explicit_defaults_are_not_canonical)
{
  /* chronology with an explicit empty with_whom (key 4) */
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x84, 0x01, 0x01, 0x02, 0x05, 0x03, 0xa1, 'x',
                                     0x04, 0xa0)),
         BT_ENONCANON, "empty optional string");
  /* concern with incident_at = 0 (key 1) */
  EXPECT(dec_map(CRDT_OP_CONCERN, MAP(0x85, 0x01, 0x00, 0x02, 0x01, 0x03, 0xa1, 'a',
                                      0x04, 0xa1, 'r', 0x06, 0xa1, 'f')),
         BT_ENONCANON, "zero optional time");
  EXPECT(dec_map(CRDT_OP_CONCERN, MAP(0x84, 0x02, 0x01, 0x03, 0xa1, 'a',
                                      0x04, 0xa1, 'r', 0x06, 0xa1, 'f')),
         BT_OK, "the same concern without it");
  /* action with an all-zero `about` id (key 4) */
  {
    uint8_t m[64] = {0x82, 0x01, 0xa1, 'w', 0x04, 0xc4, 0x20};
    EXPECT(dec_map(CRDT_OP_ACTION, m, 7 + 32), BT_ENONCANON, "zero optional id");
    m[7 + 31] = 1;
    EXPECT(dec_map(CRDT_OP_ACTION, m, 7 + 32), BT_OK, "non-zero optional id");
  }
  /* reflection: explicit explanation 0 (key 5), risk 1 (key 7) */
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x82, 0x05, 0x00, 0x07, 0x01)), BT_ENONCANON,
         "zero optional enum");
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x81, 0x07, 0x01)), BT_OK, "risk only");
  /* action: due = 0 (key 3) */
  EXPECT(dec_map(CRDT_OP_ACTION, MAP(0x82, 0x01, 0xa1, 'w', 0x03, 0x00)), BT_ENONCANON,
         "zero optional date");
}

Test(crdt_body, empty_lists_are_not_canonical)
{
  /* reflection.actions (key 8) is optional: absent, not [] */
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x82, 0x07, 0x01, 0x08, 0x90)), BT_ENONCANON,
         "empty optional list");
  /* body map marks (key 5) is required */
  EXPECT(dec_map(CRDT_OP_BODYMAP, MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r',
                                      0x05, 0x90)),
         BT_ENONCANON, "empty required list");
  EXPECT(dec_map(CRDT_OP_FIELD_SET, MAP(0x81, 0x01, 0x90)), BT_ENONCANON,
         "empty field list");
  EXPECT(dec_map(CRDT_OP_FIELD_SET, MAP(0x80)), BT_EMISSING, "no field list");
}

Test(crdt_body, keys_out_of_order_repeated_or_unknown_are_rejected)
{
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x02, 0x05, 0x01, 0x01, 0x03, 0xa1, 'x')),
         BT_EINVAL, "out of order");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x84, 0x01, 0x01, 0x02, 0x05, 0x02, 0x05, 0x03,
                                     0xa1, 'x')),
         BT_EINVAL, "repeated");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x84, 0x01, 0x01, 0x02, 0x05, 0x03, 0xa1, 'x',
                                     0x06, 0xa1, 'y')),
         BT_EINVAL, "unknown key after the last");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x82, 0x00, 0x01, 0x01, 0xa2, 'd', 'v')), BT_EINVAL,
         "key 0");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x82, 0x01, 0xa2, 'd', 'v', 0x7f, 0x01)), BT_EINVAL,
         "key 127");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x82, 0x01, 0xa2, 'd', 'v', 0xcf, 0x80, 0, 0, 0,
                                      0, 0, 0, 0x01, 0x01)),
         BT_EINVAL, "huge key");
  /* a repeated key inside a nested record (mark x twice) */
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x85, 0x01, 0x01, 0x02, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_EINVAL, "nested repeat");
}

Test(crdt_body, yes_no_is_a_bool_not_an_integer)
{
  /* review {1: concern id, 2: 1, 5: "a", 7: referred, 13: "r"} */
  uint8_t m[64] = {0x85, 0x01, 0xc4, 0x20};
  size_t n = 4 + 32;

  m[4] = 9;
  memcpy(m + n, (const uint8_t[]){0x02, 0x01, 0x05, 0xa1, 'a', 0x07, 0x01, 0x0d,
                                  0xa1, 'r'}, 10);
  EXPECT(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_ETYPE, "yes/no as integer 1");
  m[n + 6] = 0x00;
  EXPECT(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_ETYPE, "yes/no as integer 0");
  m[n + 6] = 0xc3;
  EXPECT(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_OK, "yes/no as true");
  m[n + 6] = 0xc2;
  EXPECT(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_OK, "yes/no as false");
  m[n + 6] = 0xc0;
  EXPECT(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_ETYPE, "yes/no as nil");
  m[n + 6] = 0xc3;
  m[2] = 0xa0 | 0x1f; /* the id as a str of 31 bytes, which eats a byte of */
  m[3] = 9;           /* the next key: rejected one way or another */
  cr_assert_neq(dec_map(CRDT_OP_REVIEW, m, n + 10), BT_OK);
}

Test(crdt_body, wrong_field_types_are_rejected)
{
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0x01, 0xc4, 0x02, 'd', 'v')), BT_ETYPE,
         "bin for str");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0x01, 0x05)), BT_ETYPE, "int for str");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0xa1, '1', 0xa2, 'd', 'v')), BT_ETYPE,
         "str key");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x81, 0xff, 0xa2, 'd', 'v')), BT_ETYPE,
         "negative key");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0xff, 0x02, 0x05, 0x03, 0xa1, 'x')),
         BT_ETYPE, "negative time");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0xa4, 'c', 'a', 'l', 'l',
                                     0x03, 0xa1, 'x')),
         BT_ETYPE, "enum as word");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0xc3, 0x03, 0xa1, 'x')),
         BT_ETYPE, "enum as bool");
  EXPECT(dec_map(CRDT_OP_ACTION_DONE, MAP(0x82, 0x01, 0xc4, 0x01, 0x07, 0x02, 0x01)),
         BT_EINVAL, "id of 1 byte");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0x91, 0xa2, 'd', 'v')), BT_ETYPE, "fields as array");
  EXPECT(dec_map(CRDT_OP_TAG_ADD, MAP(0xa2, 'd', 'v')), BT_ETYPE, "fields as str");
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x82, 0x07, 0x01, 0x08, 0x91, 0xa1, 'w')), BT_ETYPE,
         "list item not a map");
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x82, 0x07, 0x01, 0x08, 0x81, 0x01, 0xa1, 'w')),
         BT_ETYPE, "list as a map");
}

Test(crdt_body, malformed_body_arrays_are_rejected)
{
  EXPECT(dec(MAP(0x84, 0x01, 0x05, 0x02, 0x0b, 0x03, 0xa1, 'u', 0x04, 0x80), NULL),
         BT_ETYPE, "body as map");
  EXPECT(dec(MAP(0x93, 0x05, 0x0b, 0xa1, 'u'), NULL), BT_EMISSING, "body of 3");
  EXPECT(dec(MAP(0x95, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v', 0x00), NULL),
         BT_EPROTO, "body of 5");
  EXPECT(dec(MAP(0x94, 0xff, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ETYPE, "negative hlc");
  EXPECT(dec(MAP(0x94, 0x05, 0xa1, 'x', 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ETYPE, "type as str");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xc4, 0x01, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ETYPE, "user as bin");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xc0, 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_ETYPE, "user nil");
  EXPECT(dec(MAP(0x94, 0x05, 0x00, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_EINVAL, "type 0");
  EXPECT(dec(MAP(0x94, 0x05, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0x0b, 0xa1, 'u', 0x81, 0x01,
                 0xa2, 'd', 'v'), NULL), BT_EINVAL, "type above 32 bits");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xa0, 0x81, 0x01, 0xa2, 'd', 'v'), NULL),
         BT_EMISSING, "empty user");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xa2, 'd', 'v', 0x00), NULL),
         BT_ETRAILING, "trailing byte");
  EXPECT(dec(MAP(0x94, 0x05, 0x0b, 0xa1, 'u', 0x81, 0x01, 0xca, 0, 0, 0, 0), NULL),
         BT_ETYPE, "float value");
  cr_assert_eq(dec("", 0, NULL), BT_ETRUNC);
}

/* ---- field rules ------------------------------------------------------- */

/* Packs {1: [{1: field, 2: value}...]} without any validation. */
static int dec_fields(uint32_t type, const crdt_fieldval *v, size_t n)
{
  hb h;

  hb_begin(&h, type);
  msgpack_pack_map(&h.pk, 1);
  msgpack_pack_uint8(&h.pk, 1);
  msgpack_pack_array(&h.pk, n);
  for (size_t i = 0; i < n; i++) {
    msgpack_pack_map(&h.pk, v[i].value.len ? 2 : 1);
    msgpack_pack_uint8(&h.pk, 1);
    msgpack_pack_uint32(&h.pk, v[i].field);
    if (v[i].value.len) {
      msgpack_pack_uint8(&h.pk, 2);
      crdt_mp_pack_str(&h.pk, v[i].value.p, v[i].value.len);
    }
  }
  return hb_end(&h);
}

static int enc_fields(uint32_t type, const crdt_fieldval *v, size_t n)
{
  crdt_body b = {.hlc = HLC0, .type = type, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;
  int rc;

  b.u.fields = (crdt_fields){(crdt_fieldval *)v, n};
  rc = enc(&b, &sb);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* The same rule on both sides, for file_create (with the required names)
 * and field_set (alone). */
static void expect_field(uint32_t field, const char *value, int want)
{
  crdt_fieldval cv[4] = {
    {CRDT_FS_GIVEN, BT_STR("Ann")}, {CRDT_FS_FAMILY, BT_STR("Lee")},
    {CRDT_FS_DOB, BT_STR("2014-06-01")},
  };
  crdt_fieldval one = {field, bt_strz(value)};
  size_t n = 3;
  char what[96];

  if (field > CRDT_FS_DOB)
    cv[n++] = one;
  else
    cv[field == CRDT_FS_DOB ? 2 : field - 1] = one;
  snprintf(what, sizeof what, "field %" PRIu32 " = \"%s\" create enc", field, value);
  EXPECT(enc_fields(CRDT_OP_FILE_CREATE, cv, n), want, what);
  snprintf(what, sizeof what, "field %" PRIu32 " = \"%s\" create dec", field, value);
  EXPECT(dec_fields(CRDT_OP_FILE_CREATE, cv, n), want, what);
  snprintf(what, sizeof what, "field %" PRIu32 " = \"%s\" set enc", field, value);
  EXPECT(enc_fields(CRDT_OP_FIELD_SET, &one, 1), want, what);
  snprintf(what, sizeof what, "field %" PRIu32 " = \"%s\" set dec", field, value);
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, &one, 1), want, what);
}

Test(crdt_body, front_sheet_values_are_checked)
{
  expect_field(CRDT_FS_UPN, "B801200005001", BT_OK);
  expect_field(CRDT_FS_UPN, "C801200005001", BT_EUPN);   /* check letter */
  expect_field(CRDT_FS_UPN, "b801200005001", BT_EUPN);   /* lower case */
  expect_field(CRDT_FS_UPN, "B80120000500", BT_EUPN);    /* 12 characters */
  expect_field(CRDT_FS_UPN, "N80120000500T", BT_OK);     /* temporary */
  expect_field(CRDT_FS_UPN, "N80120000500S", BT_EUPN);   /* S is not in the alphabet */
  expect_field(CRDT_FS_DOB, "2016-02-29", BT_OK);
  expect_field(CRDT_FS_DOB, "2015-02-29", BT_EDATE);
  expect_field(CRDT_FS_DOB, "2015-2-28", BT_EDATE);
  expect_field(CRDT_FS_DOB, "28/02/2015", BT_EDATE);
  expect_field(CRDT_FS_DOB, "1899-12-31", BT_EDATE);
  expect_field(CRDT_FS_OPENED, "2024-13-01", BT_EDATE);
  expect_field(CRDT_FS_CLOSED, "2024-12-01 ", BT_EDATE);
  expect_field(CRDT_FS_GENDER, "female", BT_OK);
  expect_field(CRDT_FS_GENDER, "Female", BT_EINVAL);
  expect_field(CRDT_FS_GENDER, "alien", BT_EINVAL);
  expect_field(CRDT_FS_PLAN, "cin", BT_OK);
  expect_field(CRDT_FS_PLAN, "cpp", BT_EINVAL);
  expect_field(CRDT_FS_PLAN, "c", BT_EINVAL);
  expect_field(CRDT_FS_RATING, "amber", BT_OK);
  expect_field(CRDT_FS_RATING, "green", BT_EINVAL);
  expect_field(CRDT_FS_STATUS, "closed", BT_OK);
  expect_field(CRDT_FS_STATUS, "archived", BT_EINVAL);
  expect_field(CRDT_FS_NOTES, "anything at all", BT_OK);
}

Test(crdt_body, file_create_needs_given_family_and_dob)
{
  crdt_fieldval all[] = {
    {CRDT_FS_GIVEN, BT_STR("Ann")}, {CRDT_FS_FAMILY, BT_STR("Lee")},
    {CRDT_FS_DOB, BT_STR("2014-06-01")}, {CRDT_FS_GENDER, BT_STR("female")},
  };

  EXPECT(enc_fields(CRDT_OP_FILE_CREATE, all, 4), BT_OK, "all there");
  EXPECT(dec_fields(CRDT_OP_FILE_CREATE, all, 4), BT_OK, "all there");
  for (int drop = 0; drop < 3; drop++) {
    crdt_fieldval v[3];
    size_t n = 0;
    char what[48];

    for (int i = 0; i < 4; i++)
      if (i != drop)
        v[n++] = all[i];
    snprintf(what, sizeof what, "without field %d (enc)", drop + 1);
    EXPECT(enc_fields(CRDT_OP_FILE_CREATE, v, n), BT_EMISSING, what);
    snprintf(what, sizeof what, "without field %d (dec)", drop + 1);
    EXPECT(dec_fields(CRDT_OP_FILE_CREATE, v, n), BT_EMISSING, what);
    /* present but without a value: the same as clearing, never allowed */
    memcpy(v, all, 3 * sizeof(v[0]));
    v[drop].value = (bt_str){"", 0};
    snprintf(what, sizeof what, "field %d empty (dec)", drop + 1);
    EXPECT(dec_fields(CRDT_OP_FILE_CREATE, v, 3), BT_EMISSING, what);
    /* and field_set may not clear them either */
    snprintf(what, sizeof what, "field_set clears %d (dec)", drop + 1);
    EXPECT(dec_fields(CRDT_OP_FIELD_SET, &v[drop], 1), BT_EMISSING, what);
    snprintf(what, sizeof what, "field_set clears %d (enc)", drop + 1);
    EXPECT(enc_fields(CRDT_OP_FIELD_SET, &v[drop], 1), BT_EMISSING, what);
  }
}

Test(crdt_body, field_set_may_clear_other_fields)
{
  crdt_fieldval v[] = {{CRDT_FS_GENDER, {"", 0}}, {CRDT_FS_NOTES, {"", 0}}};
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_FIELD_SET, .user = BT_STR("dsl.jones")};
  crdt_body *d;
  msgpack_sbuffer sb;

  b.u.fields = (crdt_fields){v, 2};
  cr_assert_eq(enc(&b, &sb), BT_OK);
  cr_assert_eq(dec(sb.data, sb.size, &d), BT_OK);
  cr_assert_eq(d->u.fields.n, 2);
  cr_assert_eq(d->u.fields.v[1].field, CRDT_FS_NOTES);
  cr_assert_eq(d->u.fields.v[1].value.len, 0);
  crdt_body_free(d);
  msgpack_sbuffer_destroy(&sb);
}

Test(crdt_body, fields_must_ascend_and_exist)
{
  crdt_fieldval down[] = {{CRDT_FS_PLAN, BT_STR("cp")}, {CRDT_FS_GENDER, BT_STR("male")}};
  crdt_fieldval twice[] = {{CRDT_FS_PLAN, BT_STR("cp")}, {CRDT_FS_PLAN, BT_STR("eh")}};
  crdt_fieldval zero[] = {{0, BT_STR("x")}};
  crdt_fieldval past[] = {{CRDT_FS_END, BT_STR("x")}};
  crdt_fieldval create_down[] = {
    {CRDT_FS_FAMILY, BT_STR("Lee")}, {CRDT_FS_GIVEN, BT_STR("Ann")},
    {CRDT_FS_DOB, BT_STR("2014-06-01")},
  };

  EXPECT(enc_fields(CRDT_OP_FIELD_SET, down, 2), BT_EINVAL, "descending enc");
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, down, 2), BT_EINVAL, "descending dec");
  EXPECT(enc_fields(CRDT_OP_FIELD_SET, twice, 2), BT_EINVAL, "repeated enc");
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, twice, 2), BT_EINVAL, "repeated dec");
  EXPECT(enc_fields(CRDT_OP_FILE_CREATE, create_down, 3), BT_EINVAL, "create descending");
  EXPECT(dec_fields(CRDT_OP_FILE_CREATE, create_down, 3), BT_EINVAL, "create descending");
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, zero, 1), BT_EINVAL, "field 0 dec");
  EXPECT(enc_fields(CRDT_OP_FIELD_SET, past, 1), BT_EINVAL, "field past the end enc");
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, past, 1), BT_EINVAL, "field past the end dec");
  /* a value with no field number */
  EXPECT(dec_map(CRDT_OP_FIELD_SET, MAP(0x81, 0x01, 0x91, 0x81, 0x02, 0xa1, 'x')),
         BT_EMISSING, "value without field");
}

Test(crdt_body, field_limits_are_enforced)
{
  crdt_fieldval many[CRDT_FIELDS_MAX + 1];
  char *big = malloc(CRDT_TEXT_MAX + 2);
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_TAG_ADD, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;
  hb h;

  cr_assert_not_null(big);
  memset(big, 'a', CRDT_TEXT_MAX + 2);
  /* tag: 64 bytes fine, 65 too big */
  b.u.tag.tag = (bt_str){big, CRDT_TAG_MAX};
  EXPECT(enc(&b, &sb), BT_OK, "tag at max");
  EXPECT(dec(sb.data, sb.size, NULL), BT_OK, "tag at max");
  msgpack_sbuffer_destroy(&sb);
  b.u.tag.tag = (bt_str){big, CRDT_TAG_MAX + 1};
  EXPECT(enc_rc(&b), BT_ETOOBIG, "tag over max");
  hb_begin(&h, CRDT_OP_TAG_ADD);
  msgpack_pack_map(&h.pk, 1);
  msgpack_pack_uint8(&h.pk, 1);
  crdt_mp_pack_str(&h.pk, big, CRDT_TAG_MAX + 1);
  EXPECT(hb_end(&h), BT_ETOOBIG, "tag over max dec");

  /* user: 64 fine, 65 too big */
  b.u.tag.tag = BT_STR("dv");
  b.user = (bt_str){big, CRDT_USER_MAX + 1};
  EXPECT(enc_rc(&b), BT_ETOOBIG, "user over max");
  b.user = (bt_str){"", 0};
  EXPECT(enc_rc(&b), BT_EMISSING, "no user");
  msgpack_sbuffer_init(&h.sb);
  msgpack_packer_init(&h.pk, &h.sb, msgpack_sbuffer_write);
  msgpack_pack_array(&h.pk, 4);
  msgpack_pack_uint8(&h.pk, 5);
  msgpack_pack_uint8(&h.pk, CRDT_OP_TAG_ADD);
  crdt_mp_pack_str(&h.pk, big, CRDT_USER_MAX + 1);
  hb_raw(&h, MAP(0x81, 0x01, 0xa2, 'd', 'v'));
  EXPECT(hb_end(&h), BT_ETOOBIG, "user over max dec");

  /* short text 256 / 257 and free text 16K / 16K+1, on a concern */
  b.user = BT_STR("dsl.jones");
  b.type = CRDT_OP_CONCERN;
  memset(&b.u, 0, sizeof b.u);
  b.u.concern = (crdt_concern){.written_at = 1, .author_name = {big, CRDT_STR_MAX},
                               .author_role = BT_STR("r"), .facts = {big, CRDT_TEXT_MAX}};
  EXPECT(enc(&b, &sb), BT_OK, "strings at max");
  EXPECT(dec(sb.data, sb.size, NULL), BT_OK, "strings at max");
  msgpack_sbuffer_destroy(&sb);
  b.u.concern.author_name.len++;
  EXPECT(enc_rc(&b), BT_ETOOBIG, "short text over max");
  b.u.concern.author_name.len--;
  b.u.concern.facts.len++;
  EXPECT(enc_rc(&b), BT_ETOOBIG, "free text over max");
  hb_begin(&h, CRDT_OP_CONCERN);
  msgpack_pack_map(&h.pk, 4);
  msgpack_pack_uint8(&h.pk, 2);
  msgpack_pack_uint8(&h.pk, 1);
  msgpack_pack_uint8(&h.pk, 3);
  crdt_mp_pack_str(&h.pk, big, CRDT_STR_MAX + 1);
  msgpack_pack_uint8(&h.pk, 4);
  hb_str(&h, "r");
  msgpack_pack_uint8(&h.pk, 6);
  hb_str(&h, "f");
  EXPECT(hb_end(&h), BT_ETOOBIG, "short text over max dec");
  hb_begin(&h, CRDT_OP_CONCERN);
  msgpack_pack_map(&h.pk, 4);
  msgpack_pack_uint8(&h.pk, 2);
  msgpack_pack_uint8(&h.pk, 1);
  msgpack_pack_uint8(&h.pk, 3);
  hb_str(&h, "a");
  msgpack_pack_uint8(&h.pk, 4);
  hb_str(&h, "r");
  msgpack_pack_uint8(&h.pk, 6);
  crdt_mp_pack_str(&h.pk, big, CRDT_TEXT_MAX + 1);
  EXPECT(hb_end(&h), BT_ETOOBIG, "free text over max dec");

  /* more field values than CRDT_FIELDS_MAX */
  for (size_t i = 0; i <= CRDT_FIELDS_MAX; i++)
    many[i] = (crdt_fieldval){(uint32_t)(i % (CRDT_FS_END - 1)) + 1, BT_STR("x")};
  EXPECT(enc_fields(CRDT_OP_FIELD_SET, many, CRDT_FIELDS_MAX + 1), BT_ETOOBIG,
         "too many fields enc");
  EXPECT(dec_fields(CRDT_OP_FIELD_SET, many, CRDT_FIELDS_MAX + 1), BT_ETOOBIG,
         "too many fields dec");
  free(big);
}

Test(crdt_body, nested_record_rules_are_enforced)
{
  crdt_mark m[CRDT_MARKS_MAX + 1];
  crdt_raction acts[17];
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_BODYMAP, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;

  for (size_t i = 0; i <= CRDT_MARKS_MAX; i++)
    m[i] = (crdt_mark){.view = CRDT_VIEW_FRONT, .x = 1, .y = 2, .site = BT_STR("arm")};
  b.u.bodymap = (crdt_bodymap){.observed_at = 5, .observer_name = BT_STR("n"),
                               .observer_role = BT_STR("r"), .marks = m, .nmarks = 1};
  EXPECT(enc_rc(&b), BT_OK, "one mark");
  b.u.bodymap.nmarks = CRDT_MARKS_MAX;
  EXPECT(enc(&b, &sb), BT_OK, "max marks");
  EXPECT(dec(sb.data, sb.size, NULL), BT_OK, "max marks");
  msgpack_sbuffer_destroy(&sb);
  b.u.bodymap.nmarks = CRDT_MARKS_MAX + 1;
  EXPECT(enc_rc(&b), BT_ETOOBIG, "too many marks");
  b.u.bodymap.nmarks = 0;
  EXPECT(enc_rc(&b), BT_EMISSING, "no marks");
  b.u.bodymap.nmarks = 1;
  m[0].x = 1001;
  EXPECT(enc_rc(&b), BT_EINVAL, "x out of range");
  m[0].x = 1000;
  m[0].view = 3;
  EXPECT(enc_rc(&b), BT_EINVAL, "view out of range");
  m[0].view = CRDT_VIEW_BACK;
  m[0].heat = 3;
  EXPECT(enc_rc(&b), BT_EINVAL, "yes/no of 3");
  m[0].heat = 0;
  m[0].site = (bt_str){"", 0};
  EXPECT(enc_rc(&b), BT_EMISSING, "mark without site");

  /* decode side of the same */
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x84, 0x01, 0x01, 0x02, 0xcd, 0x03, 0xe9, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_EINVAL, "x 1001 dec");
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x84, 0x01, 0x03, 0x02, 0x00, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_EINVAL, "view 3 dec");
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x83, 0x01, 0x01, 0x02, 0x00, 0x03, 0x00)),
         BT_EMISSING, "mark without site dec");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0x0a, 0x03, 0xa1, 'x')),
         BT_EINVAL, "category 10");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0x00, 0x03, 0xa1, 'x')),
         BT_EMISSING, "category 0");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x82, 0x01, 0x01, 0x03, 0xa1, 'x')), BT_EMISSING,
         "no category");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x00, 0x02, 0x01, 0x03, 0xa1, 'x')),
         BT_EMISSING, "event_at 0");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0xce, 0x00, 0x01, 0x00, 0x01,
                                     0x03, 0xa1, 'x')),
         BT_EINVAL, "category 65537");
  EXPECT(dec_map(CRDT_OP_CHRONO, MAP(0x83, 0x01, 0x01, 0x02, 0xcf, 0x00, 0x00, 0x00, 0x01,
                                     0x00, 0x00, 0x00, 0x01, 0x03, 0xa1, 'x')),
         BT_EINVAL, "category above 32 bits");

  /* reflection actions: dates and the list limit */
  memset(&b.u, 0, sizeof b.u);
  b.type = CRDT_OP_REFLECT;
  for (size_t i = 0; i < 17; i++)
    acts[i] = (crdt_raction){.what = BT_STR("w"), .by = 20240229};
  b.u.reflect = (crdt_reflect){.risk = CRDT_RISK_HIGH, .actions = acts, .nactions = 16};
  EXPECT(enc(&b, &sb), BT_OK, "16 actions");
  EXPECT(dec(sb.data, sb.size, NULL), BT_OK, "16 actions");
  msgpack_sbuffer_destroy(&sb);
  b.u.reflect.nactions = 17;
  EXPECT(enc_rc(&b), BT_ETOOBIG, "17 actions");
  b.u.reflect.nactions = 1;
  acts[0].by = 20230229;
  EXPECT(enc_rc(&b), BT_EDATE, "by 2023-02-29");
  acts[0].by = 18991231;
  EXPECT(enc_rc(&b), BT_EDATE, "by 1899-12-31");
  EXPECT(dec_map(CRDT_OP_REFLECT, MAP(0x82, 0x07, 0x01, 0x08, 0x91, 0x82, 0x01, 0xa1, 'w',
                                      0x03, 0xce, 0x01, 0x34, 0xb0, 0x55)),
         BT_EDATE, "by 20230229 dec");
  b.u.reflect.risk = 4;
  acts[0].by = 0;
  EXPECT(enc_rc(&b), BT_EINVAL, "risk 4");
  b.u.reflect.risk = 0;
  EXPECT(enc_rc(&b), BT_EMISSING, "no risk");
}

/* A required number may be 0, so its absence is told by the missing key. */
Test(crdt_body, mark_without_required_x_is_missing)
{
  EXPECT(dec_map(CRDT_OP_BODYMAP,
                 MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                     0x83, 0x01, 0x01, 0x03, 0x00, 0x04, 0xa1, 's')),
         BT_EMISSING, "mark without x");
}

Test(crdt_body, mark_without_required_x_is_rejected)
{
  int rc = dec_map(CRDT_OP_BODYMAP,
                   MAP(0x84, 0x01, 0x01, 0x02, 0xa1, 'n', 0x03, 0xa1, 'r', 0x05, 0x91,
                       0x83, 0x01, 0x01, 0x03, 0x00, 0x04, 0xa1, 's'));

  cr_assert_neq(rc, BT_OK);
}

Test(crdt_body, oversize_bodies_are_rejected)
{
  enum { NM = 7 };
  crdt_mark m[NM];
  char *big = malloc(CRDT_TEXT_MAX);
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_BODYMAP, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;
  uint8_t *junk;

  cr_assert_not_null(big);
  memset(big, 'n', CRDT_TEXT_MAX);
  for (size_t i = 0; i < NM; i++)
    m[i] = (crdt_mark){.view = CRDT_VIEW_FRONT, .x = 1, .y = 2, .site = BT_STR("arm"),
                       .notes = {big, CRDT_TEXT_MAX}};
  /* each field is within its limit; together they pass CRDT_BODY_MAX */
  b.u.bodymap = (crdt_bodymap){.observed_at = 5, .observer_name = BT_STR("n"),
                               .observer_role = BT_STR("r"), .marks = m, .nmarks = NM};
  EXPECT(enc_rc(&b), BT_ETOOBIG, "7 x 16K notes");
  b.u.bodymap.nmarks = 5;
  EXPECT(enc(&b, &sb), BT_OK, "5 x 16K notes");
  EXPECT(dec(sb.data, sb.size, NULL), BT_OK, "5 x 16K notes");
  msgpack_sbuffer_destroy(&sb);
  free(big);
  /* the decoder refuses on length alone, before looking */
  junk = calloc(1, CRDT_BODY_MAX + 1);
  cr_assert_not_null(junk);
  EXPECT(crdt_body_decode(junk, CRDT_BODY_MAX + 1, &(crdt_body *){NULL}), BT_ETOOBIG,
         "CRDT_BODY_MAX + 1 bytes");
}

/* ---- unknown types ----------------------------------------------------- */

Test(crdt_body, unknown_types_keep_their_fields_raw)
{
  const uint8_t map[] = {0x84, 0x01, 0x05, 0x03, 0xa1, 'x', 0x07, 0x92, 0x01, 0x02,
                         0xcc, 0xc8, 0x81, 0x01, 0xc4, 0x01, 0x00};
  const uint32_t types[] = {CRDT_OP_KNOWN_END, 200, 0x10000, UINT32_MAX};

  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    hb h;
    crdt_body *d;
    msgpack_sbuffer sb;

    hb_begin(&h, types[t]);
    hb_raw(&h, map, sizeof map);
    EXPECT(dec(h.sb.data, h.sb.size, &d), BT_OK, "unknown type");
    cr_assert_eq(d->known, 0, "type %" PRIu32, types[t]);
    cr_assert_eq(d->type, types[t]);
    cr_assert_eq(d->hlc, HLC0);
    cr_assert(bt_str_eq(d->user, BT_STR("dsl.jones")));
    cr_assert(bt_str_eq(d->raw, (bt_str){(const char *)map, sizeof map}),
              "type %" PRIu32 ": raw is the fields map", types[t]);
    cr_assert_eq(crdt_body_event_time(d), crdt_hlc_ms(HLC0));
    cr_assert_eq(strcmp(crdt_optype_name(types[t]), "unknown"), 0);
    EXPECT(enc(d, &sb), BT_OK, "re-encode");
    cr_assert(same(&sb, h.sb.data, h.sb.size), "type %" PRIu32 ": re-encode differs",
              types[t]);
    msgpack_sbuffer_destroy(&sb);
    crdt_body_free(d);
    msgpack_sbuffer_destroy(&h.sb);
  }
  EXPECT(dec_map(200, MAP(0x80)), BT_OK, "empty map");
}

Test(crdt_body, unknown_types_with_random_canonical_maps_round_trip)
{
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    gen_rng r;
    hb h;
    size_t n, start;
    uint64_t key = 0;
    crdt_body *d = NULL;
    uint32_t type;
    int rc;

    gen_seed(&r, seed);
    type = CRDT_OP_KNOWN_END + (uint32_t)gen_below(&r, 1000);
    hb_begin(&h, type);
    start = h.sb.size;
    n = gen_below(&r, 8);
    msgpack_pack_map(&h.pk, n);
    for (size_t i = 0; i < n; i++) {
      key += 1 + gen_below(&r, gen_below(&r, 4) ? 10 : 100000);
      msgpack_pack_uint64(&h.pk, key);
      switch (gen_below(&r, 4)) {
      case 0: msgpack_pack_uint64(&h.pk, gen_u64(&r) >> gen_below(&r, 64)); break;
      case 1: crdt_mp_pack_str(&h.pk, "some text", 1 + gen_below(&r, 9)); break;
      case 2: gen_below(&r, 2) ? msgpack_pack_true(&h.pk) : msgpack_pack_false(&h.pk); break;
      default: crdt_mp_pack_bin(&h.pk, "0123456789abcdef", 1 + gen_below(&r, 16)); break;
      }
    }
    rc = dec(h.sb.data, h.sb.size, &d);
    cr_assert_eq(rc, BT_OK, "seed %" PRIu64 ": %s", seed, bt_errname(rc));
    cr_assert_eq(d->known, 0, "seed %" PRIu64, seed);
    cr_assert(bt_str_eq(d->raw, (bt_str){h.sb.data + start, h.sb.size - start}),
              "seed %" PRIu64, seed);
    crdt_body_free(d);
    msgpack_sbuffer_destroy(&h.sb);
  }
}

Test(crdt_body, unknown_types_with_non_canonical_maps_are_rejected)
{
  EXPECT(dec_map(200, MAP(0x82, 0x02, 0x01, 0x01, 0x01)), BT_ENONCANON, "keys descending");
  EXPECT(dec_map(200, MAP(0x82, 0x01, 0x01, 0x01, 0x02)), BT_ENONCANON, "key repeated");
  EXPECT(dec_map(200, MAP(0x81, 0xa1, 'k', 0x01)), BT_ENONCANON, "str key");
  EXPECT(dec_map(200, MAP(0x81, 0xff, 0x01)), BT_ENONCANON, "negative key");
  EXPECT(dec_map(200, MAP(0x81, 0xcc, 0x01, 0x01)), BT_ENONCANON, "long key");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xcd, 0x00, 0x01)), BT_ENONCANON, "long value");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xd9, 0x01, 'x')), BT_ENONCANON, "str8 value");
  EXPECT(dec_map(200, MAP(0xde, 0x00, 0x01, 0x01, 0x01)), BT_ENONCANON, "map16");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x91, 0xd0, 0x01)), BT_ENONCANON, "nested long");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x82, 0x02, 0x00, 0x01, 0x00)), BT_ENONCANON,
         "nested keys descending");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x82, 0x01, 0x00, 0x01, 0x00)), BT_ENONCANON,
         "nested key repeated");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x81, 0xa1, 'k', 0x00)), BT_ENONCANON, "nested str key");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xa0)), BT_ENONCANON, "empty string value");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xc4, 0x00)), BT_ENONCANON, "empty bin value");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x90)), BT_ENONCANON, "empty array value");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x80)), BT_ENONCANON, "empty map value");
  EXPECT(dec_map(200, MAP(0x80)), BT_OK, "a type with no fields");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x92, 0x01, 0x81, 0x03, 0xff)), BT_OK, "nested ok");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xc0)), BT_ENONCANON, "nil value");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x92, 0x01, 0xc0)), BT_ENONCANON, "nested nil");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0)), BT_ETYPE, "float");
  EXPECT(dec_map(200, MAP(0x91, 0x01)), BT_ETYPE, "fields as array");
  EXPECT(dec_map(200, MAP(0x01)), BT_ETYPE, "fields as int");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x01, 0x00)), BT_ETRAILING, "trailing byte");
  EXPECT(dec_map(200, MAP(0x81, 0x01, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01)),
         BT_EDEPTH, "nested too deep");
  {
    EXPECT(dec(MAP(0xdc, 0x00, 0x04, 0x05, 0xcc, 0xc8, 0xa1, 'u', 0x81, 0x01, 0x01),
                   NULL),
           BT_ENONCANON, "unknown type in an array16 body");
    EXPECT(dec(MAP(0x94, 0x05, 0xcc, 0xc8, 0xa0, 0x81, 0x01, 0x01), NULL),
           BT_EMISSING, "unknown type without a user");
  }
}

Test(crdt_body, unknown_type_without_raw_fields_does_not_encode)
{
  crdt_body b = {.hlc = HLC0, .type = 200, .user = BT_STR("u")};
  msgpack_sbuffer sb;

  EXPECT(enc_rc(&b), BT_EMISSING, "no raw");
  b.raw = BT_STR("\x81\x01\x01");
  EXPECT(enc(&b, &sb), BT_OK, "raw map");
  cr_assert(same(&sb, "\x94\xcf\x01\x97\xf2\xa1\xb3\xc4\x00\x05\xcc\xc8\xa1u\x81\x01\x01",
                 17));
  msgpack_sbuffer_destroy(&sb);
}

Test(crdt_body, type_names)
{
  cr_assert_eq(strcmp(crdt_optype_name(CRDT_OP_CONCERN), "concern"), 0);
  cr_assert_eq(strcmp(crdt_optype_name(CRDT_OP_TAG_DEL), "tag_remove"), 0);
  cr_assert_eq(strcmp(crdt_optype_name(0), "unknown"), 0);
  cr_assert_null(crdt_body_schema(0));
  cr_assert_null(crdt_body_schema(CRDT_OP_KNOWN_END));
  cr_assert_eq(crdt_fs_lookup("upn"), CRDT_FS_UPN);
  cr_assert_eq(crdt_fs_lookup("nope"), 0);
  cr_assert_null(crdt_fs_name(0));
  cr_assert_null(crdt_fs_name(CRDT_FS_END));
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    cr_assert_eq(crdt_fs_lookup(crdt_fs_name(f)), f);
}

/* What a decoder would refuse, the encoder refuses too: nothing is sealed
 * that no reader could open. */
Test(crdt_body, encoder_refuses_what_no_decoder_accepts)
{
  static const uint8_t not_map[] = {0x01}, trailing[] = {0x80, 0x80},
                       nested_nil[] = {0x81, 0x01, 0xc0};
  crdt_body b = {.hlc = HLC0, .type = 200, .user = BT_STR("dsl.jones")};
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  b.raw = (bt_str){(const char *)not_map, sizeof(not_map)};
  cr_assert_eq(crdt_body_encode(&b, &sb), BT_ETYPE);
  b.raw = (bt_str){(const char *)trailing, sizeof(trailing)};
  cr_assert_eq(crdt_body_encode(&b, &sb), BT_ETRAILING);
  b.raw = (bt_str){(const char *)nested_nil, sizeof(nested_nil)};
  cr_assert_eq(crdt_body_encode(&b, &sb), BT_ENONCANON);
  b.type = 0;
  cr_assert_eq(crdt_body_encode(&b, &sb), BT_EINVAL, "type 0");
  crdt_mp_secure_destroy(&sb);
}

/* Names, notes and user ids reach terminals and JSON: UTF-8 only, no
 * control characters (free text may hold newlines and tabs). */
Test(crdt_body, text_must_be_utf8_without_control_characters)
{
  static const char *const bad[] = {
    "Amy\x1b[2J", "A\0my", "\xff\xfe", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80",
    "\xf4\x90\x80\x80", "\xc2\x9b", "a\x7f", "a\rb",
  };
  static const size_t badlen[] = {7, 4, 2, 4, 2, 3, 4, 2, 2, 3};
  crdt_concern c = {.written_at = 1, .author_name = BT_STR("Ms Teacher"),
                    .author_role = BT_STR("class teacher"), .facts = BT_STR("ok")};
  const crdt_schema *s = crdt_body_schema(CRDT_OP_CONCERN);

  cr_assert_eq(crdt_rec_check(s, &c), BT_OK);
  c.facts = BT_STR("line one\n\tline two \xe2\x80\x94 Zo\xc3\xab \xf0\x9f\x99\x82");
  cr_assert_eq(crdt_rec_check(s, &c), BT_OK, "newline, tab and UTF-8 in free text");
  c.author_name = BT_STR("Zo\xc3\xab\nX");
  cr_assert_eq(crdt_rec_check(s, &c), BT_EINVAL, "newline in a one-line field");
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    c.author_name = BT_STR("Ms Teacher");
    c.facts = (bt_str){bad[i], badlen[i]};
    cr_assert_eq(crdt_rec_check(s, &c), BT_EINVAL, "bad text %zu", i);
  }
  crdt_body b = {.hlc = HLC0, .type = CRDT_OP_TAG_ADD, .user = {"ds\x1bl", 4}};
  msgpack_sbuffer sb;
  b.u.tag.tag = BT_STR("dv");
  msgpack_sbuffer_init(&sb);
  cr_assert_eq(crdt_body_encode(&b, &sb), BT_EINVAL, "escape in a user id");
  crdt_mp_secure_destroy(&sb);
}
