/* tests/crdt/gen.c: see gen.h. Walks the schema tables so a new op type or
 * field is covered by every property test without touching them. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/upn.h"

void gen_seed(gen_rng *r, uint64_t seed)
{
  r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (r->s == 0)
    r->s = 1;
}

uint64_t gen_u64(gen_rng *r)
{
  /* xorshift64* */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

uint64_t gen_below(gen_rng *r, uint64_t n)
{
  return gen_u64(r) % n;
}

void gen_bytes(gen_rng *r, void *p, size_t n)
{
  uint8_t *b = p;

  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)gen_u64(r);
}

struct gen_arena {
  struct gen_arena *next;
  size_t used, cap;
  unsigned char buf[];
};

gen_arena *gen_arena_new(void)
{
  gen_arena *a = calloc(1, sizeof(*a) + 4096);

  if (a == NULL)
    abort();
  a->cap = 4096;
  return a;
}

void gen_arena_free(gen_arena *a)
{
  while (a) {
    gen_arena *n = a->next;
    free(a);
    a = n;
  }
}

void *gen_alloc(gen_arena *a, size_t n)
{
  size_t need = (n + 15) & ~(size_t)15;

  if (a->next && a->next->cap - a->next->used >= need) {
    void *q = a->next->buf + a->next->used; /* the newest chunk has room */
    a->next->used += need;
    return q;
  }
  if (a->cap - a->used < need) {
    size_t cap = need > 4096 ? need : 4096;
    gen_arena *c = calloc(1, sizeof(*c) + cap);
    if (c == NULL)
      abort();
    /* New chunk goes second so `a` stays the handle the caller holds. */
    c->cap = cap;
    c->next = a->next;
    a->next = c;
    c->used = need;
    return c->buf;
  }
  void *p = a->buf + a->used;
  a->used += need;
  return p;
}

bt_str gen_str(gen_rng *r, gen_arena *a, size_t max)
{
  static const char *const words[] = {
    "the", "child", "said", "bruise", "arm", "school", "mum", "home", "visit",
    "Zoë", "café", "teacher", "playground", "left", "upset", "–", "\"quoted\"",
  };
  size_t want = 1 + gen_below(r, max < 120 ? max : 120), len = 0;
  char *p = gen_alloc(a, want + 16);

  while (len < want) {
    const char *w = words[gen_below(r, sizeof(words) / sizeof(words[0]))];
    size_t wl = strlen(w);
    if (len + wl + 1 > want)
      break;
    if (len)
      p[len++] = ' ';
    memcpy(p + len, w, wl);
    len += wl;
  }
  if (len == 0)
    p[len++] = 'x';
  return (bt_str){p, len};
}

bt_str gen_upn(gen_rng *r, gen_arena *a)
{
  char *p = gen_alloc(a, CRDT_UPN_LEN + 1);

  for (int i = 1; i < CRDT_UPN_LEN; i++)
    p[i] = (char)('0' + gen_below(r, 10));
  if (gen_below(r, 4) == 0)
    p[12] = CRDT_UPN_ALPHABET[gen_below(r, 23)];
  p[0] = 'A';
  p[0] = crdt_upn_check_letter(p, CRDT_UPN_LEN);
  return (bt_str){p, CRDT_UPN_LEN};
}

static uint32_t gen_date(gen_rng *r)
{
  return crdt_date_from_days((int64_t)gen_below(r, 25000) - 5000);
}

bt_str gen_fs_value(gen_rng *r, gen_arena *a, uint32_t field)
{
  static const char *const gender[] = {"female", "male", "other", "unknown"};
  static const char *const plan[] = {"none", "eh", "cin", "cp", "lac"};
  static const char *const rating[] = {"none", "red", "amber", "blue", "yellow"};
  static const char *const status[] = {"open", "closed"};
  char *p;

  switch (field) {
  case CRDT_FS_DOB:
  case CRDT_FS_OPENED:
  case CRDT_FS_CLOSED:
    p = gen_alloc(a, 11);
    crdt_date_format(gen_date(r), p);
    return (bt_str){p, 10};
  case CRDT_FS_UPN:
    return gen_upn(r, a);
  case CRDT_FS_GENDER:
    return bt_strz(gender[gen_below(r, 4)]);
  case CRDT_FS_PLAN:
    return bt_strz(plan[gen_below(r, 5)]);
  case CRDT_FS_RATING:
    return bt_strz(rating[gen_below(r, 5)]);
  case CRDT_FS_STATUS:
    return bt_strz(status[gen_below(r, 2)]);
  default:
    return gen_str(r, a, 40);
  }
}

static void gen_fields(gen_rng *r, gen_arena *a, crdt_fields *fs, int create)
{
  uint32_t picked[CRDT_FS_END] = {0};
  size_t n = 0;

  if (create)
    picked[CRDT_FS_GIVEN] = picked[CRDT_FS_FAMILY] = picked[CRDT_FS_DOB] = 1;
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    if (gen_below(r, create ? 3 : 8) == 0)
      picked[f] = 1;
  if (!create && gen_below(r, 2) == 0) /* often just one field: more conflicts */
    memset(picked, 0, sizeof(picked));
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    n += picked[f];
  if (n == 0)
    picked[1 + gen_below(r, 12)] = 1, n = 1;
  fs->v = gen_alloc(a, n * sizeof(crdt_fieldval));
  fs->n = 0;
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    if (picked[f])
      fs->v[fs->n++] = (crdt_fieldval){f, gen_fs_value(r, a, f)};
}

static void gen_field(gen_rng *r, gen_arena *a, const crdt_field *f, void *rec,
                      const crdt_id *refs, size_t nrefs)
{
  char *at = (char *)rec + f->off;

  switch (f->kind) {
  case CRDT_F_STR:
  case CRDT_F_TEXT:
    *(bt_str *)at = gen_str(r, a, f->kind == CRDT_F_TEXT ? 400 : f->max);
    break;
  case CRDT_F_UINT:
    *(uint32_t *)at = (uint32_t)gen_below(r, (uint64_t)f->max + 1);
    break;
  case CRDT_F_YESNO:
    *(uint32_t *)at = 1 + (uint32_t)gen_below(r, 2);
    break;
  case CRDT_F_ENUM:
    *(uint32_t *)at = 1 + (uint32_t)gen_below(r, f->max);
    break;
  case CRDT_F_DATE:
    *(uint32_t *)at = gen_date(r);
    break;
  case CRDT_F_TIME:
    *(uint64_t *)at = 1500000000000ull + gen_below(r, 400000000000ull);
    break;
  case CRDT_F_ID:
    if (nrefs)
      *(crdt_id *)at = refs[gen_below(r, nrefs)];
    else
      gen_bytes(r, at, CRDT_ID_LEN);
    break;
  case CRDT_F_BIN: {
    size_t n = 1 + gen_below(r, f->max < 64 ? f->max : 64);
    char *p = gen_alloc(a, n);
    gen_bytes(r, p, n);
    *(bt_str *)at = (bt_str){p, n};
    break;
  }
  case CRDT_F_LIST: {
    size_t n = 1 + gen_below(r, f->max < 4 ? f->max : 4);
    char *items = gen_alloc(a, n * f->sub->size);
    for (size_t i = 0; i < n; i++)
      gen_record(r, a, f->sub, items + i * f->sub->size, refs, nrefs);
    *(char **)at = items;
    *(size_t *)((char *)rec + f->count_off) = n;
    break;
  }
  }
}

void gen_record(gen_rng *r, gen_arena *a, const crdt_schema *s, void *rec,
                const crdt_id *refs, size_t nrefs)
{
  memset(rec, 0, s->size);
  for (size_t i = 0; i < s->nfields; i++)
    if (s->fields[i].req || gen_below(r, 2))
      gen_field(r, a, &s->fields[i], rec, refs, nrefs);
}

static bt_str gen_bin16(gen_rng *r, gen_arena *a)
{
  char *p = gen_alloc(a, 16);

  gen_bytes(r, p, 16);
  return (bt_str){p, 16};
}

/* Cross-field rules the table cannot say: fixed-length ids, a whole lawful
 * basis. */
static void gen_fixup(gen_rng *r, gen_arena *a, crdt_body *b)
{
  switch (b->type) {
  case CRDT_OP_GENESIS:
    b->u.genesis.salt = gen_bin16(r, a);
    b->u.genesis.epoch = gen_bin16(r, a);
    break;
  case CRDT_OP_EPOCH:
    b->u.epoch.epoch = gen_bin16(r, a);
    break;
  case CRDT_OP_COPY:
    b->u.copy.from_file = gen_bin16(r, a);
    break;
  case CRDT_OP_GRANT:
    if (b->u.grant.basis == CRDT_BASIS_CONSENT) {
      b->u.grant.consent_by = bt_strz("mother");
      b->u.grant.consent_how = bt_strz("in person");
      b->u.grant.consent_on = 20260105;
    } else
      b->u.grant.reason = bt_strz("risk of significant harm to the child");
    break;
  case CRDT_OP_XFER_START: /* a deadline after both dates, a count */
    if (b->u.xfer.count == 0)
      b->u.xfer.count = 5;
    if (b->u.xfer.on_roll && b->u.xfer.deadline <= b->u.xfer.on_roll)
      b->u.xfer.on_roll = 0;
    if (b->u.xfer.leaving && b->u.xfer.deadline < b->u.xfer.leaving)
      b->u.xfer.leaving = 0;
    break;
  case CRDT_OP_XFER_DELIVERED: /* each note carries only its own fields */
  case CRDT_OP_XFER_ACK:
  case CRDT_OP_XFER_REJECT:
  case CRDT_OP_XFER_CLOSE: {
    crdt_xfer_note *x = &b->u.xnote;
    uint32_t t = b->type;
    if (t != CRDT_OP_XFER_DELIVERED)
      x->ops = 0;
    else if (x->ops == 0)
      x->ops = 1 + (uint32_t)gen_below(r, 5000);
    if (t != CRDT_OP_XFER_ACK)
      x->stored = (bt_str){0};
    if (t == CRDT_OP_XFER_DELIVERED)
      x->reason = (bt_str){0};
    if (t == CRDT_OP_XFER_REJECT && x->reason.len == 0)
      x->reason = bt_strz("not on our roll: misdirected");
    if (t != CRDT_OP_XFER_CLOSE) {
      x->retain = 0;
      x->keep_until = 0;
    } else {
      if (x->retain == 0)
        x->retain = 1 + (uint32_t)gen_below(r, 3);
      if (x->retain != CRDT_RETAIN_CHRONO)
        x->keep_until = 0;
      else if (x->keep_until == 0)
        x->keep_until = 20280731;
    }
    break;
  }
  default:
    break;
  }
}

void gen_body(gen_rng *r, gen_arena *a, uint32_t type, crdt_hlc_ts hlc,
              crdt_body *b, const crdt_id *refs, size_t nrefs)
{
  static const char *const users[] = {"dsl.jones", "deputy.khan", "staff.ali", "head"};

  memset(b, 0, sizeof(*b));
  b->hlc = hlc;
  b->type = type;
  b->known = 1;
  b->user = bt_strz(users[gen_below(r, 4)]);
  if (type == CRDT_OP_FILE_CREATE || type == CRDT_OP_FIELD_SET)
    gen_fields(r, a, &b->u.fields, type == CRDT_OP_FILE_CREATE);
  else if (type == CRDT_OP_TAG_ADD || type == CRDT_OP_TAG_DEL) {
    static const char *const tags[] = {"neglect", "online", "dv", "sen", "young-carer"};
    b->u.tag.tag = bt_strz(tags[gen_below(r, 5)]);
  } else
    gen_record(r, a, crdt_body_schema(type), &b->u, refs, nrefs);
  gen_fixup(r, a, b);
}

void gen_keypair(uint64_t n, gen_key *k)
{
  uint8_t seed[crypto_sign_SEEDBYTES] = {0};

  for (int i = 0; i < 8; i++)
    seed[i] = (uint8_t)(n >> (8 * i));
  seed[31] = 0xB7;
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

crdt_op *gen_seal(gen_rng *r, const gen_key *author, const uint8_t file[CRDT_FILE_LEN],
                  const uint8_t epoch[CRDT_EPOCH_LEN], const uint8_t key[CRDT_KEY_LEN],
                  uint64_t seq, const crdt_id *parents, size_t nparents,
                  const crdt_body *b)
{
  crdt_id ps[CRDT_PARENTS_MAX];
  uint8_t nonce[CRDT_NONCE_LEN];
  crdt_header h = {.version = CRDT_OP_VERSION, .seq = seq, .parents = ps,
                   .hour = crdt_hlc_hour(b->hlc)};
  crdt_op *op;
  size_t n = 0;
  int rc;

  if (nparents > CRDT_PARENTS_MAX)
    nparents = CRDT_PARENTS_MAX;
  if (nparents)
    memcpy(ps, parents, nparents * sizeof(crdt_id));
  qsort(ps, nparents, sizeof(crdt_id), cmp_id);
  for (size_t i = 0; i < nparents; i++)
    if (n == 0 || crdt_id_cmp(&ps[n - 1], &ps[i]) != 0)
      ps[n++] = ps[i];
  h.nparents = n;
  memcpy(h.file, file, CRDT_FILE_LEN);
  memcpy(h.epoch, epoch, CRDT_EPOCH_LEN);
  memcpy(h.author, author->pk, CRDT_PK_LEN);
  gen_bytes(r, nonce, sizeof(nonce));
  if ((rc = crdt_op_seal(&h, b, key, nonce, author->sk, &op)) != 0) {
    fprintf(stderr, "gen_seal: %s\n", bt_strerror(rc));
    abort();
  }
  return op;
}

void gen_shuffle(gen_rng *r, void **p, size_t n)
{
  for (size_t i = n; i > 1; i--) {
    size_t j = gen_below(r, i);
    void *t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
  }
}
