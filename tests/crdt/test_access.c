/* tests/crdt/test_access.c: the access rules of crdt/access.h.
 *
 * A world of orgs (an Ed25519 signing key, an X25519 box key, a certificate
 * from an LA root) and their devices authors real sealed ops: the genesis,
 * members, grants, revokes, epochs with their keyboxes, and content. A node
 * is a set of received ops, delivered to a fresh DAG in a random order with
 * duplicates, plus the keys its org holds, which it gets as a real node
 * does: its own epochs, and the key sets in the keyboxes addressed to it.
 *
 * The scenario tests pin each rule down. The property tests build random
 * partitioned histories of three orgs (and one long history of hundreds of
 * control ops) and compare every node with an oracle written here from the
 * rules in access.h: it recomputes each op's verdict by brute force over
 * its ancestors (no caching, no access.c), with the holder's genesis the
 * smallest of the valid ones and the access ops that a revoke voids left
 * out, and separately re-derives write rights from the grants and revokes
 * among them. It also says which entries casefile.h flags as unseen by a
 * revoker. Each op's metadata (author, the key it was sealed with, what it
 * grants) is recorded when the op is made, so the oracle never decrypts. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crdt/access.h"
#include "crdt/casefile.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/gen.h"

#define MAXOPS 1400
#define MAXEP  40
#define NW     ((MAXOPS + 63) / 64)
#define T0     1767225600000ull /* 2026-01-01 */
#define HOUR   3600000ull
#define YEAR   31536000000ull
#define UNREAD (-1)             /* a verdict: the node has no key for the op */

enum { ORG_A, ORG_B, ORG_C, ORG_D, NORG };
enum { A1, A2, B1, B2, C1, D1, NDEV };
enum { GIVEN_CONTROL = 1, GIVEN_SECRET = 2 };

static const int dev_org[NDEV] = {ORG_A, ORG_A, ORG_B, ORG_B, ORG_C, ORG_D};
static const char *const org_names[NORG] = {
  "Oakfield Primary", "Riverside Academy", "Northshire MASH", "Elm Street Surgery",
};
static const uint32_t org_kinds[NORG] = {
  CRDT_ORG_SCHOOL, CRDT_ORG_SCHOOL, CRDT_ORG_MASH, CRDT_ORG_HEALTH,
};
static const uint8_t HK[16] = {7};

/* Parents by op index: PAR(x, y) expands to an array and its length. */
#define PAR(...) \
  (const size_t[]){__VA_ARGS__}, sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t)

typedef struct {
  gen_key sign;
  uint8_t box_pk[CRDT_BOX_PK_LEN], box_sk[CRDT_BOX_SK_LEN];
  uint8_t *cert;
  size_t cert_len;
} party;

typedef struct {
  gen_key key;
  uint8_t *cert;
  size_t cert_len;
  uint64_t seq;
  crdt_hlc clock;
  uint64_t wall;
  uint64_t kn[NW]; /* ops this device holds: always causally closed */
} device;

typedef struct {
  uint8_t id[CRDT_EPOCH_LEN], ctl[CRDT_EPOCH_LEN];
  uint8_t secret[CRDT_KEY_LEN], content[CRDT_KEY_LEN], control[CRDT_KEY_LEN];
  int org; /* whose device made it: that org holds the secret */
} epochk;

/* What the oracle knows of an op, recorded when it is made. */
typedef struct {
  uint32_t type;
  int dev;
  int ep;           /* epoch sealed for (-1: none) */
  int ctl;          /* with that epoch's control key, else its content key */
  int pub;          /* a public envelope */
  int decl;         /* GENESIS, EPOCH: the epoch it starts */
  int claim;        /* GENESIS, MEMBER: the org its certificates bind (-1: bad) */
  int good_genesis; /* GENESIS: file id = H(author, salt) */
  int g_org;        /* GRANT */
  uint32_t g_rights, g_history, g_purpose;
  uint64_t g_expires;
  int target;       /* REVOKE: op index of the grant named, -1 other */
  int kb_org;       /* KEYBOX: recipient */
  int kb_tag_ok;    /* KEYBOX: header tag matches the box key */
  crdt_hlc_ts hlc;
  uint64_t ms;
  size_t npar;
  uint64_t anc[NW]; /* strict ancestors */
} opmeta;

typedef struct {
  uint8_t read[MAXOPS];  /* the node can open the op */
  uint32_t why[MAXOPS];  /* the oracle's verdict (crdt_acc_reason) */
  int8_t org[MAXOPS];    /* its author's org in its past (valid ops), else -1 */
  uint8_t fork[MAXOPS];  /* its past ends in more than one epoch */
  uint8_t ngen[MAXOPS];  /* valid geneses in its past */
  int16_t holder[MAXOPS]; /* the genesis that holds its past, -1 */
  uint16_t nvoid[MAXOPS]; /* void access ops in its past */
} oview;

/* What o_judge found besides the verdict. */
typedef struct {
  int org, fork, ngen, holder, nvoid;
} onote;

typedef struct {
  uint64_t seed;
  gen_rng r;
  gen_arena *ar;
  gen_key la;
  party org[NORG];
  device dev[NDEV];
  uint8_t salt[16], file[CRDT_FILE_LEN];
  epochk ep[MAXEP];
  size_t nep;
  uint8_t given[NORG][MAXEP]; /* keys handed out so far (GIVEN_*) */
  crdt_op *ops[MAXOPS];
  opmeta m[MAXOPS];
  size_t n;
  oview god;                  /* verdicts with every key: drives generation */
  uint64_t t;                 /* scenario clock, ms */
} world;

typedef struct {
  size_t n;
  uint8_t ep[4 * MAXEP][CRDT_EPOCH_LEN];
  uint8_t key[4 * MAXEP][CRDT_KEY_LEN];
} keytab;

typedef struct {
  keytab kt;
  crdt_dag *d;
  crdt_casefile *cf;
} node;

static void suite_init(void)
{
  cr_assert(sodium_init() >= 0);
}

TestSuite(crdt_access, .init = suite_init);

/* ---- bits ---------------------------------------------------------------- */

static int bit(const uint64_t *s, size_t i)
{
  return (int)(s[i / 64] >> (i % 64) & 1);
}

static void set_bit(uint64_t *s, size_t i)
{
  s[i / 64] |= UINT64_C(1) << (i % 64);
}

/* The first n ops. */
static void upto(uint64_t *s, size_t n)
{
  memset(s, 0, NW * sizeof(uint64_t));
  for (size_t i = 0; i < n; i++)
    set_bit(s, i);
}

/* ---- the world ----------------------------------------------------------- */

static bt_str bin(const void *p, size_t n)
{
  return (bt_str){(const char *)p, n};
}

static const char *rn(int v)
{
  return v == UNREAD ? "unreadable" : crdt_acc_reason_name((uint32_t)v);
}

static void sign_device(world *w, const gen_key *subject, int issuer, uint8_t **out,
                        size_t *len)
{
  crdt_cert_body b = {.kind = CRDT_CERT_DEVICE, .name = BT_STR("DSL laptop"),
                      .not_before = T0 - YEAR, .not_after = T0 + YEAR};
  int rc;

  memcpy(b.subject.b, subject->pk, CRDT_PK_LEN);
  memcpy(b.issuer.b, w->org[issuer].sign.pk, CRDT_PK_LEN);
  rc = crdt_cert_sign(&b, w->org[issuer].sign.sk, out, len);
  cr_assert_eq(rc, BT_OK, "device cert: %s", bt_strerror(rc));
}

static void party_init(world *w, int o)
{
  party *p = &w->org[o];
  uint8_t seed[crypto_box_SEEDBYTES] = {0xB0, (uint8_t)o};
  crdt_cert_body b = {.kind = CRDT_CERT_ORG, .name = bt_strz(org_names[o]),
                      .org_kind = org_kinds[o], .not_before = T0 - YEAR,
                      .not_after = T0 + 3 * YEAR};
  int rc;

  gen_keypair(10 + (uint64_t)o, &p->sign);
  crypto_box_seed_keypair(p->box_pk, p->box_sk, seed);
  memcpy(b.subject.b, p->sign.pk, CRDT_PK_LEN);
  memcpy(b.box.b, p->box_pk, CRDT_BOX_PK_LEN);
  memcpy(b.issuer.b, w->la.pk, CRDT_PK_LEN);
  rc = crdt_cert_sign(&b, w->la.sk, &p->cert, &p->cert_len);
  cr_assert_eq(rc, BT_OK, "org cert: %s", bt_strerror(rc));
}

static world *world_new(uint64_t seed)
{
  world *w = calloc(1, sizeof(*w));

  cr_assert_not_null(w);
  w->seed = seed;
  gen_seed(&w->r, seed);
  w->ar = gen_arena_new();
  gen_keypair(900, &w->la);
  for (int o = 0; o < NORG; o++)
    party_init(w, o);
  for (int d = 0; d < NDEV; d++) {
    gen_keypair(200 + (uint64_t)d, &w->dev[d].key);
    sign_device(w, &w->dev[d].key, dev_org[d], &w->dev[d].cert, &w->dev[d].cert_len);
    crdt_hlc_init(&w->dev[d].clock, 60000);
    w->dev[d].wall = T0 + gen_below(&w->r, 600000);
  }
  gen_bytes(&w->r, w->salt, sizeof(w->salt));
  crdt_file_id(w->dev[A1].key.pk, w->salt, w->file);
  w->t = T0 + 8 * HOUR;
  return w;
}

static void world_free(world *w)
{
  for (size_t i = 0; i < w->n; i++)
    crdt_op_free(w->ops[i]);
  for (int o = 0; o < NORG; o++)
    free(w->org[o].cert);
  for (int d = 0; d < NDEV; d++)
    free(w->dev[d].cert);
  gen_arena_free(w->ar);
  free(w);
}

/* A new epoch, made by a device of org. */
static int new_epoch(world *w, int org)
{
  epochk *e = &w->ep[w->nep];

  cr_assert_lt(w->nep, MAXEP);
  gen_bytes(&w->r, e->id, sizeof(e->id));
  gen_bytes(&w->r, e->secret, sizeof(e->secret));
  crdt_epoch_keys(e->secret, e->content, e->control);
  crdt_control_id(e->id, e->ctl);
  e->org = org;
  w->given[org][w->nep] = GIVEN_SECRET;
  return (int)w->nep++;
}

static int epoch_index(const world *w, const uint8_t id[CRDT_EPOCH_LEN])
{
  for (size_t e = 0; e < w->nep; e++)
    if (memcmp(w->ep[e].id, id, CRDT_EPOCH_LEN) == 0)
      return (int)e;
  return -1;
}

/* The scenario clock: a second per op. */
static crdt_hlc_ts now(world *w)
{
  w->t += 1000;
  return crdt_hlc_make(w->t, 0);
}

static crdt_hlc_ts at(uint64_t ms)
{
  return crdt_hlc_make(ms, 0);
}

static opmeta blank(void)
{
  opmeta m;

  memset(&m, 0, sizeof(m));
  m.ep = m.decl = m.claim = m.g_org = m.target = m.kb_org = -1;
  return m;
}

static crdt_body base(crdt_hlc_ts hlc, uint32_t type)
{
  crdt_body b;

  memset(&b, 0, sizeof(b));
  b.hlc = hlc;
  b.type = type;
  b.known = 1;
  b.user = BT_STR("dsl.jones");
  return b;
}

static int is_control(uint32_t type)
{
  return type == CRDT_OP_GENESIS || type == CRDT_OP_MEMBER || type == CRDT_OP_GRANT ||
         type == CRDT_OP_REVOKE || type == CRDT_OP_EPOCH;
}

/* ---- the oracle ---------------------------------------------------------- */

/* The access state folded from the valid ops of a causally closed set P. */
typedef struct {
  int genesis;              /* op index of the holder's genesis, -1 */
  int bound[NDEV], via[NDEV];
  size_t ngr, nepo, nmax, nvoid, ngen;
  int gr[MAXOPS];           /* valid grants */
  int rev[MAXOPS];          /* gr[k] revoked by a valid revoke in P */
  int epo[MAXOPS];          /* valid genesis and epoch ops */
  int maxima[MAXOPS];       /* those no other one descends from */
  int voided[MAXOPS];       /* valid access ops in P that P's revokes void */
} ostate;

static int valid_in(const oview *v, size_t j)
{
  return v->read[j] && v->why[j] == CRDT_ACC_OK;
}

/* Neither op is in the other's past. */
static int concurrent(const world *w, size_t a, size_t b)
{
  return a != b && !bit(w->m[a].anc, b) && !bit(w->m[b].anc, a);
}

/* The revokes of a set, by the org whose grant each one ends. A revoke
 * made by an org whose own grant another revoke in P ended, concurrently,
 * is void and ends nothing (one pass over the unfiltered list). */
typedef struct {
  size_t n[NORG];
  int k[NORG][MAXOPS];
} orevokes;

static void o_revokes(const world *w, const oview *v, const uint64_t *P, orevokes *r)
{
  memset(r->n, 0, sizeof(r->n));
  for (size_t k = 0; k < w->n; k++)
    if (bit(P, k) && valid_in(v, k) && w->m[k].type == CRDT_OP_REVOKE) {
      int x;
      cr_assert(w->m[k].target >= 0 && w->m[w->m[k].target].type == CRDT_OP_GRANT,
                "a valid revoke names a grant");
      x = w->m[w->m[k].target].g_org;
      r->k[x][r->n[x]++] = (int)k;
    }
  orevokes all = *r;
  for (int x = 0; x < NORG; x++) {
    size_t kept = 0;
    for (size_t q = 0; q < all.n[x]; q++) {
      int k = all.k[x][q], y = v->org[k], dead = 0;
      for (size_t z = 0; y >= 0 && z < all.n[y] && !dead; z++)
        dead = all.k[y][z] != k && concurrent(w, (size_t)k, (size_t)all.k[y][z]);
      if (!dead)
        r->k[x][kept++] = k;
    }
    r->n[x] = kept;
  }
}

/* access.h: once a revoke of org X's grant is in P, X's access ops in P
 * that the revoke had not seen (and that had not seen it) are void. */
static int o_void(const world *w, const oview *v, const orevokes *r, size_t j)
{
  int x = v->org[j];

  for (size_t q = 0; x >= 0 && q < r->n[x]; q++)
    if (concurrent(w, j, (size_t)r->k[x][q]))
      return 1;
  return 0;
}

static void o_bind(const world *w, ostate *s, size_t j)
{
  const opmeta *m = &w->m[j];
  int d = m->dev;

  /* Two claims for one device: the smaller op id wins. */
  if (s->bound[d] < 0 || crdt_id_cmp(&w->ops[j]->id, &w->ops[s->via[d]]->id) < 0) {
    s->bound[d] = m->claim;
    s->via[d] = (int)j;
  }
}

static void o_fold(const world *w, const oview *v, const uint64_t *P, ostate *s)
{
  static orevokes r; /* large; the tests run one at a time in a process */
  int holder = -1;

  s->genesis = -1;
  s->ngr = s->nepo = s->nmax = s->nvoid = s->ngen = 0;
  for (int d = 0; d < NDEV; d++)
    s->bound[d] = s->via[d] = -1;
  o_revokes(w, v, P, &r);
  /* Two valid geneses in P: the one with the smaller op id holds (chosen
   * before voiding; only the holder's own device can make one, and in
   * these histories the holder is never revoked). */
  for (size_t j = 0; j < w->n; j++)
    if (bit(P, j) && valid_in(v, j) && w->m[j].type == CRDT_OP_GENESIS) {
      s->ngen++;
      if (holder < 0 || crdt_id_cmp(&w->ops[j]->id, &w->ops[holder]->id) < 0)
        holder = (int)j;
    }
  /* Creation order is a topological order. */
  for (size_t j = 0; j < w->n; j++) {
    const opmeta *m = &w->m[j];
    if (!bit(P, j) || !valid_in(v, j) || !is_control(m->type))
      continue;
    if (m->type == CRDT_OP_GENESIS && (int)j != holder)
      continue;
    if (o_void(w, v, &r, j)) {
      s->voided[s->nvoid++] = (int)j;
      continue;
    }
    switch (m->type) {
    case CRDT_OP_GENESIS:
      s->genesis = (int)j;
      o_bind(w, s, j);
      s->epo[s->nepo++] = (int)j;
      break;
    case CRDT_OP_EPOCH:
      s->epo[s->nepo++] = (int)j;
      break;
    case CRDT_OP_MEMBER:
      o_bind(w, s, j);
      break;
    case CRDT_OP_GRANT:
      s->rev[s->ngr] = 0;
      s->gr[s->ngr++] = (int)j;
      break;
    case CRDT_OP_REVOKE:
      for (size_t g = 0; g < s->ngr; g++)
        if (s->gr[g] == m->target)
          s->rev[g] = 1;
      break;
    default:
      break;
    }
  }
  for (size_t x = 0; x < s->nepo; x++) {
    int dominated = 0;
    for (size_t y = 0; y < s->nepo && !dominated; y++)
      dominated = x != y && bit(w->m[s->epo[y]].anc, (size_t)s->epo[x]);
    if (!dominated)
      s->maxima[s->nmax++] = s->epo[x];
  }
}

static uint32_t o_rights(const world *w, const ostate *s, int org, uint64_t ms, int *mgr)
{
  uint32_t best = 0;

  *mgr = 0;
  if (s->genesis >= 0 && w->m[s->genesis].claim == org) {
    best = CRDT_RIGHTS_WRITE;
    *mgr = 1;
  }
  for (size_t g = 0; g < s->ngr; g++) {
    const opmeta *gm = &w->m[s->gr[g]];
    if (s->rev[g] || gm->g_org != org || (gm->g_expires && ms >= gm->g_expires))
      continue;
    if (gm->g_rights > best)
      best = gm->g_rights;
    if (gm->g_purpose == CRDT_PURPOSE_TRANSFER && gm->g_rights == CRDT_RIGHTS_WRITE)
      *mgr = 1;
  }
  return best;
}

/* A genesis is judged on its own: every parentless one of this file with
 * good certificates, sealed for the epoch it starts, counts. */
static uint32_t o_genesis(const world *w, size_t i)
{
  const opmeta *m = &w->m[i];

  if (m->npar != 0 || !m->good_genesis)
    return CRDT_ACC_GENESIS;
  if (m->claim < 0)
    return CRDT_ACC_CERT;
  if (m->ep != m->decl || !m->ctl)
    return CRDT_ACC_EPOCH;
  return CRDT_ACC_OK;
}

/* Op i's verdict, from the valid ops among its ancestors (v holds the
 * verdicts of every earlier op); *nt gets its author's org there (-1:
 * none) and what its past was like. */
static uint32_t o_judge(const world *w, const oview *v, size_t i, onote *nt)
{
  const opmeta *m = &w->m[i];
  ostate s;
  uint32_t rights;
  int org, mgr, cur;

  memset(nt, 0, sizeof(*nt));
  nt->org = nt->holder = -1;
  if (m->pub != (m->type == CRDT_OP_KEYBOX))
    return CRDT_ACC_ENVELOPE;
  if (m->type == CRDT_OP_GENESIS) {
    uint32_t r = o_genesis(w, i);
    if (r == CRDT_ACC_OK)
      nt->org = m->claim;
    return r;
  }
  o_fold(w, v, m->anc, &s);
  nt->fork = s.nmax > 1;
  nt->ngen = (int)s.ngen;
  nt->holder = s.genesis;
  nt->nvoid = (int)s.nvoid;
  if (s.genesis < 0)
    return CRDT_ACC_NOT_MEMBER;
  if (m->type == CRDT_OP_MEMBER) {
    if (m->claim < 0)
      return CRDT_ACC_CERT;
    org = m->claim;
  } else if ((org = s.bound[m->dev]) < 0)
    return CRDT_ACC_NOT_MEMBER;
  nt->org = org;
  rights = o_rights(w, &s, org, m->ms, &mgr);
  switch (m->type) {
  case CRDT_OP_KEYBOX:
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    return m->kb_tag_ok ? CRDT_ACC_OK : CRDT_ACC_EPOCH;
  case CRDT_OP_EPOCH:
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    for (size_t k = 0; k < s.nepo; k++)
      if (w->m[s.epo[k]].decl == m->decl)
        return CRDT_ACC_EPOCH;
    return m->ep == m->decl && m->ctl ? CRDT_ACC_OK : CRDT_ACC_EPOCH;
  case CRDT_OP_GRANT:
  case CRDT_OP_REVOKE:
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    break;
  default:
    if (rights != CRDT_RIGHTS_WRITE)
      return CRDT_ACC_NO_RIGHTS;
    break;
  }
  if (s.nmax > 1) {
    /* Over a fork a member joins under the control key of any tip. */
    for (size_t k = 0; k < s.nmax && m->type == CRDT_OP_MEMBER && m->ctl; k++)
      if (m->ep == w->m[s.maxima[k]].decl)
        return CRDT_ACC_OK;
    return CRDT_ACC_FORK;
  }
  cur = w->m[s.maxima[0]].decl;
  if (m->ep != cur || m->ctl != is_control(m->type))
    return CRDT_ACC_EPOCH;
  if (m->type == CRDT_OP_REVOKE) {
    for (size_t g = 0; g < s.ngr; g++)
      if (s.gr[g] == m->target)
        return CRDT_ACC_OK;
    return CRDT_ACC_REF;
  }
  return CRDT_ACC_OK;
}

/* Whether valid op k is void among the ops in P: a revoke in P of a grant
 * to k's org that k and it never saw each other. Spelled out again, apart
 * from o_fold, for the naive check below. */
static int naive_void(const world *w, const oview *v, const uint64_t *P, size_t k)
{
  for (size_t q = 0; q < w->n; q++)
    if (bit(P, q) && v->read[q] && v->why[q] == CRDT_ACC_OK && w->m[q].type == CRDT_OP_REVOKE &&
        w->m[w->m[q].target].g_org == v->org[k] && !bit(w->m[q].anc, k) &&
        !bit(w->m[k].anc, q) && q != k)
      return 1;
  return 0;
}

/* The second, deliberately naive check: may op i's author write at i? Only
 * the ancestors' verdicts are used; org and holder come from the fixture.
 * A revoke counts unless it is void (its author's org was revoked by a
 * revoke concurrent with it): a void revoke ends nothing. */
static int o_can_write(const world *w, const oview *v, size_t i)
{
  const opmeta *m = &w->m[i];
  int org = m->type == CRDT_OP_MEMBER ? m->claim : dev_org[m->dev];

  for (size_t j = 0; j < w->n; j++)
    if (bit(m->anc, j) && v->read[j] && v->why[j] == CRDT_ACC_OK &&
        w->m[j].type == CRDT_OP_GENESIS && w->m[j].claim == org)
      return 1;
  for (size_t j = 0; j < w->n; j++) {
    const opmeta *g = &w->m[j];
    int revoked = 0;
    if (!bit(m->anc, j) || !v->read[j] || v->why[j] != CRDT_ACC_OK ||
        g->type != CRDT_OP_GRANT || g->g_org != org || g->g_rights != CRDT_RIGHTS_WRITE ||
        (g->g_expires && m->ms >= g->g_expires))
      continue;
    for (size_t k = 0; k < w->n && !revoked; k++)
      revoked = bit(m->anc, k) && v->read[k] && v->why[k] == CRDT_ACC_OK &&
                w->m[k].type == CRDT_OP_REVOKE && w->m[k].target == (int)j &&
                !naive_void(w, v, m->anc, k);
    if (!revoked)
      return 1;
  }
  return 0;
}

/* ---- keys ---------------------------------------------------------------- */

static int kt_lookup(void *ctx, const uint8_t epoch[CRDT_EPOCH_LEN], uint8_t key[CRDT_KEY_LEN])
{
  const keytab *kt = ctx;

  for (size_t i = 0; i < kt->n; i++)
    if (memcmp(kt->ep[i], epoch, CRDT_EPOCH_LEN) == 0) {
      memcpy(key, kt->key[i], CRDT_KEY_LEN);
      return BT_OK;
    }
  return BT_ENOTFOUND;
}

static int kt_has(const keytab *kt, const uint8_t epoch[CRDT_EPOCH_LEN])
{
  for (size_t i = 0; i < kt->n; i++)
    if (memcmp(kt->ep[i], epoch, CRDT_EPOCH_LEN) == 0)
      return 1;
  return 0;
}

static void kt_put(keytab *kt, const uint8_t epoch[CRDT_EPOCH_LEN], const uint8_t key[CRDT_KEY_LEN])
{
  if (kt_has(kt, epoch))
    return;
  cr_assert_lt(kt->n, 4 * MAXEP);
  memcpy(kt->ep[kt->n], epoch, CRDT_EPOCH_LEN);
  memcpy(kt->key[kt->n++], key, CRDT_KEY_LEN);
}

/* A secret gives the content key (under the epoch id) and the control key
 * (under its control id); a control item only the latter. */
static void kt_item(keytab *kt, const crdt_keyitem *it)
{
  uint8_t content[CRDT_KEY_LEN], control[CRDT_KEY_LEN], ctl[CRDT_EPOCH_LEN];

  crdt_control_id(it->epoch, ctl);
  if (it->kind == CRDT_KEY_SECRET) {
    crdt_epoch_keys(it->key, content, control);
    kt_put(kt, it->epoch, content);
    kt_put(kt, ctl, control);
  } else
    kt_put(kt, ctl, it->key);
}

static void o_note(oview *v, size_t i, const onote *nt)
{
  v->org[i] = (int8_t)nt->org;
  v->fork[i] = (uint8_t)nt->fork;
  v->ngen[i] = (uint8_t)nt->ngen;
  v->holder[i] = (int16_t)nt->holder;
  v->nvoid[i] = (uint16_t)nt->nvoid;
}

/* The oracle's verdicts on a node holding kt. */
static void o_view(const world *w, const keytab *kt, oview *v)
{
  for (size_t i = 0; i < w->n; i++)
    v->read[i] = w->m[i].pub || kt_has(kt, w->ops[i]->h.epoch);
  for (size_t i = 0; i < w->n; i++) {
    onote nt = {-1, 0, 0, -1, 0};
    v->why[i] = v->read[i] ? o_judge(w, v, i, &nt) : CRDT_ACC_UNREADABLE;
    o_note(v, i, &nt);
  }
}

static crdt_keyitem item(const world *w, int ep, int kind)
{
  crdt_keyitem it = {.kind = (uint8_t)kind};

  memcpy(it.epoch, w->ep[ep].id, CRDT_EPOCH_LEN);
  memcpy(it.key, kind == CRDT_KEY_SECRET ? w->ep[ep].secret : w->ep[ep].control, CRDT_KEY_LEN);
  return it;
}

/* The keys an org holds: the epochs its devices made, and whatever the
 * keyboxes tagged for its box key open to. */
static void org_keys(const world *w, int org, keytab *kt)
{
  uint8_t tag[CRDT_EPOCH_LEN], pub[CRDT_KEY_LEN];

  kt->n = 0;
  for (size_t e = 0; e < w->nep; e++)
    if (w->ep[e].org == org) {
      crdt_keyitem it = item(w, (int)e, CRDT_KEY_SECRET);
      kt_item(kt, &it);
    }
  crdt_keybox_tag(w->org[org].box_pk, tag);
  crdt_public_key(w->file, tag, pub);
  for (size_t i = 0; i < w->n; i++) {
    crdt_keyitem items[CRDT_KEYSET_MAX];
    crdt_body *b;
    size_t n;
    int rc;
    if (memcmp(w->ops[i]->h.epoch, tag, CRDT_EPOCH_LEN) != 0 ||
        crdt_op_decrypt(w->ops[i], pub, &b) != BT_OK)
      continue;
    rc = crdt_keyset_open((const uint8_t *)b->u.keybox.sealed.p, b->u.keybox.sealed.len,
                          w->org[org].box_pk, w->org[org].box_sk, items, CRDT_KEYSET_MAX, &n);
    cr_assert_eq(rc, BT_OK, "seed %" PRIu64 ": keybox %zu: %s", w->seed, i, bt_strerror(rc));
    for (size_t k = 0; k < n; k++)
      kt_item(kt, &items[k]);
    crdt_body_free(b);
  }
}

/* ---- authoring ----------------------------------------------------------- */

static crdt_op *seal_op(world *w, int dev, const crdt_body *b, const uint8_t hdr[CRDT_EPOCH_LEN],
                        const uint8_t key[CRDT_KEY_LEN], uint64_t seq, const size_t *par,
                        size_t np)
{
  crdt_id ids[CRDT_PARENTS_MAX];

  cr_assert_leq(np, CRDT_PARENTS_MAX);
  for (size_t k = 0; k < np; k++)
    ids[k] = w->ops[par[k]]->id;
  return gen_seal(&w->r, &w->dev[dev].key, w->file, hdr, key, seq, ids, np, b);
}

/* Files a sealed op in the world: metadata, ancestors, the god view. */
static size_t adopt(world *w, int dev, crdt_op *op, const crdt_body *b, const size_t *par,
                    size_t np, opmeta *m)
{
  size_t i = w->n;

  cr_assert_lt(i, MAXOPS, "seed %" PRIu64, w->seed);
  m->type = b->type;
  m->dev = dev;
  m->hlc = b->hlc;
  m->ms = crdt_hlc_ms(b->hlc);
  m->npar = np;
  memset(m->anc, 0, sizeof(m->anc));
  for (size_t k = 0; k < np; k++) {
    for (size_t x = 0; x < NW; x++)
      m->anc[x] |= w->m[par[k]].anc[x];
    set_bit(m->anc, par[k]);
  }
  w->ops[i] = op;
  w->m[i] = *m;
  w->n++;
  set_bit(w->dev[dev].kn, i);
  w->god.read[i] = 1;
  {
    onote nt;
    w->god.why[i] = o_judge(w, &w->god, i, &nt);
    o_note(&w->god, i, &nt);
  }
  return i;
}

static size_t emit(world *w, int dev, const crdt_body *b, const uint8_t hdr[CRDT_EPOCH_LEN],
                   const uint8_t key[CRDT_KEY_LEN], const size_t *par, size_t np, opmeta *m)
{
  crdt_op *op = seal_op(w, dev, b, hdr, key, ++w->dev[dev].seq, par, np);

  return adopt(w, dev, op, b, par, np, m);
}

static size_t put_control(world *w, int dev, const crdt_body *b, int ep, const size_t *par,
                          size_t np, opmeta *m)
{
  m->ep = ep;
  m->ctl = 1;
  return emit(w, dev, b, w->ep[ep].ctl, w->ep[ep].control, par, np, m);
}

static size_t put_content(world *w, int dev, uint32_t type, int ep, crdt_hlc_ts hlc,
                          const size_t *par, size_t np)
{
  crdt_body b;
  opmeta m = blank();

  gen_body(&w->r, w->ar, type, hlc, &b, NULL, 0);
  m.ep = ep;
  return emit(w, dev, &b, w->ep[ep].id, w->ep[ep].content, par, np, &m);
}

static void genesis_body(world *w, int dev, int ep, const uint8_t salt[16], crdt_hlc_ts hlc,
                         crdt_body *b, opmeta *m)
{
  uint8_t fid[CRDT_FILE_LEN];
  int o = dev_org[dev];

  *b = base(hlc, CRDT_OP_GENESIS);
  b->u.genesis = (crdt_genesis){bin(w->dev[dev].cert, w->dev[dev].cert_len),
                                bin(w->org[o].cert, w->org[o].cert_len), bin(salt, 16),
                                bin(w->ep[ep].id, CRDT_EPOCH_LEN)};
  *m = blank();
  m->decl = ep;
  m->claim = o;
  crdt_file_id(w->dev[dev].key.pk, salt, fid);
  m->good_genesis = memcmp(fid, w->file, CRDT_FILE_LEN) == 0;
}

static size_t put_genesis(world *w, int dev, int ep, crdt_hlc_ts hlc)
{
  crdt_body b;
  opmeta m;

  genesis_body(w, dev, ep, w->salt, hlc, &b, &m);
  return put_control(w, dev, &b, ep, NULL, 0, &m);
}

static size_t put_member_as(world *w, int dev, int ep, crdt_hlc_ts hlc, const size_t *par,
                            size_t np, bt_str dcert, bt_str ocert, int claim)
{
  crdt_body b = base(hlc, CRDT_OP_MEMBER);
  opmeta m = blank();

  b.u.member = (crdt_member){dcert, ocert};
  m.claim = claim;
  return put_control(w, dev, &b, ep, par, np, &m);
}

static size_t put_member(world *w, int dev, int ep, crdt_hlc_ts hlc, const size_t *par,
                         size_t np)
{
  int o = dev_org[dev];

  return put_member_as(w, dev, ep, hlc, par, np, bin(w->dev[dev].cert, w->dev[dev].cert_len),
                       bin(w->org[o].cert, w->org[o].cert_len), o);
}

typedef struct {
  int org;
  uint32_t rights, history, purpose;
  uint64_t expires;
} grant_args;

static void grant_body(const world *w, const grant_args *g, crdt_hlc_ts hlc, crdt_body *b)
{
  *b = base(hlc, CRDT_OP_GRANT);
  memcpy(b->u.grant.org.b, w->org[g->org].sign.pk, CRDT_PK_LEN);
  memcpy(b->u.grant.box.b, w->org[g->org].box_pk, CRDT_BOX_PK_LEN);
  b->u.grant.org_name = bt_strz(org_names[g->org]);
  b->u.grant.purpose = g->purpose ? g->purpose : CRDT_PURPOSE_REFERRAL;
  b->u.grant.basis = CRDT_BASIS_HARM;
  b->u.grant.reason = BT_STR("risk of significant harm to the child");
  b->u.grant.approved_by = BT_STR("dsl.jones");
  b->u.grant.expires_at = g->expires;
  b->u.grant.rights = g->rights;
  b->u.grant.history = g->history;
}

static size_t put_grant(world *w, int dev, int ep, crdt_hlc_ts hlc, const size_t *par,
                        size_t np, grant_args g)
{
  crdt_body b;
  opmeta m = blank();

  grant_body(w, &g, hlc, &b);
  m.g_org = g.org;
  m.g_rights = g.rights;
  m.g_history = g.history;
  m.g_purpose = b.u.grant.purpose;
  m.g_expires = g.expires;
  return put_control(w, dev, &b, ep, par, np, &m);
}

static grant_args ga(int org, uint32_t rights, uint32_t history)
{
  return (grant_args){org, rights, history, CRDT_PURPOSE_REFERRAL, 0};
}

/* The commonest grant: read-write, all history, for a referral. */
static grant_args write_all(int org)
{
  return ga(org, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
}

/* target_idx: the op index named, or -1 when id is no op of the world. */
static size_t put_revoke(world *w, int dev, int ep, crdt_hlc_ts hlc, const size_t *par,
                         size_t np, const crdt_id *id, int target_idx)
{
  crdt_body b = base(hlc, CRDT_OP_REVOKE);
  opmeta m = blank();

  b.u.revoke = (crdt_revoke){*id, BT_STR("the referral is closed"), BT_STR("dsl.jones")};
  m.target = target_idx;
  return put_control(w, dev, &b, ep, par, np, &m);
}

static size_t put_revoke_of(world *w, int dev, int ep, crdt_hlc_ts hlc, const size_t *par,
                            size_t np, size_t target)
{
  return put_revoke(w, dev, ep, hlc, par, np, &w->ops[target]->id, (int)target);
}

/* An EPOCH op starting ep, sealed with ep's own control key. */
static size_t put_epoch(world *w, int dev, int ep, uint32_t cause, crdt_hlc_ts hlc,
                        const size_t *par, size_t np)
{
  crdt_body b = base(hlc, CRDT_OP_EPOCH);
  opmeta m = blank();

  b.u.epoch = (crdt_epoch){bin(w->ep[ep].id, CRDT_EPOCH_LEN), cause};
  m.decl = ep;
  return put_control(w, dev, &b, ep, par, np, &m);
}

static void keybox_body(world *w, int to, const crdt_keyitem *it, size_t n, crdt_hlc_ts hlc,
                        crdt_body *b)
{
  uint8_t *sealed;
  size_t len;
  char *copy;
  int rc = crdt_keyset_seal(it, n, w->org[to].box_pk, &sealed, &len);

  cr_assert_eq(rc, BT_OK, "keyset_seal: %s", bt_strerror(rc));
  copy = gen_alloc(w->ar, len);
  memcpy(copy, sealed, len);
  free(sealed);
  *b = base(hlc, CRDT_OP_KEYBOX);
  memcpy(b->u.keybox.org.b, w->org[to].sign.pk, CRDT_PK_LEN);
  memcpy(b->u.keybox.box.b, w->org[to].box_pk, CRDT_BOX_PK_LEN);
  b->u.keybox.sealed = (bt_str){copy, len};
}

static size_t put_keybox(world *w, int dev, int to, const crdt_keyitem *it, size_t n,
                         crdt_hlc_ts hlc, const size_t *par, size_t np)
{
  uint8_t tag[CRDT_EPOCH_LEN], key[CRDT_KEY_LEN];
  crdt_body b;
  opmeta m = blank();

  keybox_body(w, to, it, n, hlc, &b);
  crdt_keybox_tag(w->org[to].box_pk, tag);
  crdt_public_key(w->file, tag, key);
  m.pub = 1;
  m.kb_org = to;
  m.kb_tag_ok = 1;
  for (size_t k = 0; k < n; k++) {
    int e = epoch_index(w, it[k].epoch);
    uint8_t g = it[k].kind == CRDT_KEY_SECRET ? GIVEN_SECRET : GIVEN_CONTROL;
    if (e >= 0 && w->given[to][e] < g)
      w->given[to][e] = g;
  }
  return emit(w, dev, &b, tag, key, par, np, &m);
}

/* ---- nodes --------------------------------------------------------------- */

/* A fresh DAG holding the ops in `only` (NULL: all), delivered in a random
 * order with random duplicates. */
static crdt_dag *deliver(const world *w, gen_rng *r, const uint64_t *only)
{
  crdt_op **order = malloc(2 * MAXOPS * sizeof(*order));
  size_t k = 0, m;
  crdt_dag *d;

  cr_assert_not_null(order);
  for (size_t i = 0; i < w->n; i++)
    if (only == NULL || bit(only, i))
      order[k++] = w->ops[i];
  m = k;
  for (size_t e = k ? gen_below(r, k + 1) : 0; e > 0; e--)
    order[m++] = order[gen_below(r, k)];
  gen_shuffle(r, (void **)order, m);
  cr_assert_eq(crdt_dag_new(&d, HK), BT_OK);
  for (size_t i = 0; i < m; i++) {
    crdt_dag_status st;
    crdt_op *c;
    cr_assert_eq(crdt_op_dup(order[i], &c), BT_OK);
    cr_assert_eq(crdt_dag_add(d, c, &st), BT_OK);
  }
  free(order);
  cr_assert_eq(crdt_dag_applied(d), k, "seed %" PRIu64, w->seed);
  return d;
}

static crdt_casefile *materialise(const world *w, crdt_dag *d, keytab *kt)
{
  crdt_casefile *cf;
  int rc = crdt_casefile_build_access(d, w->file, kt_lookup, kt, &cf);

  cr_assert_eq(rc, BT_OK, "seed %" PRIu64 ": %s", w->seed, bt_strerror(rc));
  return cf;
}

static void node_keys(node *nd, const world *w, gen_rng *r, const uint64_t *only)
{
  nd->d = deliver(w, r, only);
  nd->cf = materialise(w, nd->d, &nd->kt);
}

/* A node of org holding the ops in only (NULL: all). */
static void node_open(node *nd, const world *w, int org, gen_rng *r, const uint64_t *only)
{
  org_keys(w, org, &nd->kt);
  node_keys(nd, w, r, only);
}

static void node_close(node *nd)
{
  crdt_casefile_free(nd->cf);
  crdt_dag_free(nd->d);
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

static int cmp_hidden(const void *a, const void *b)
{
  return crdt_id_cmp(&((const crdt_cf_hidden *)a)->id, &((const crdt_cf_hidden *)b)->id);
}

/* What a casefile made of an op: UNREAD, or its reason (CRDT_ACC_OK: shown). */
static int verdict(const crdt_casefile *cf, const crdt_id *id)
{
  crdt_cf_hidden key = {*id, 0};
  const crdt_cf_hidden *h;

  if (cf->nunknown && bsearch(id, cf->unknown, cf->nunknown, sizeof(crdt_id), cmp_id))
    return UNREAD;
  if (cf->nhidden &&
      (h = bsearch(&key, cf->hidden, cf->nhidden, sizeof(*h), cmp_hidden)) != NULL)
    return (int)h->reason;
  return CRDT_ACC_OK;
}

static int vd(const node *nd, const world *w, size_t i)
{
  return verdict(nd->cf, &w->ops[i]->id);
}

#define ASSERT_VD(nd, w, i, want)                                                        \
  do {                                                                                   \
    int got_ = vd((nd), (w), (i)), want_ = (want);                                       \
    cr_assert_eq(got_, want_, "op %zu (%s): got %s, want %s", (size_t)(i),              \
                 crdt_optype_name((w)->m[i].type), rn(got_), rn(want_));                 \
  } while (0)

static int is_entry_op(uint32_t type)
{
  return type >= CRDT_OP_CHRONO && type <= CRDT_OP_CORRECTION;
}

/* The grant, epoch and member lists of two access states agree. */
static void assert_access_eq(const crdt_access *a, const crdt_access *b)
{
  cr_assert_eq(a->has_genesis, b->has_genesis);
  cr_assert_eq(crdt_id_cmp(&a->holder, &b->holder), 0);
  cr_assert_eq(memcmp(a->holder_box.b, b->holder_box.b, CRDT_ID_LEN), 0);
  cr_assert_eq(a->fork, b->fork);
  cr_assert_eq(memcmp(a->epoch, b->epoch, CRDT_EPOCH_LEN), 0, "same current epoch");
  cr_assert_eq(a->ngrants, b->ngrants);
  for (size_t k = 0; k < a->ngrants; k++) {
    cr_assert_eq(crdt_id_cmp(&a->grants[k].op->id, &b->grants[k].op->id), 0);
    cr_assert_eq(crdt_id_cmp(&a->grants[k].revoked_by, &b->grants[k].revoked_by), 0);
  }
  cr_assert_eq(a->nepochs, b->nepochs);
  for (size_t k = 0; k < a->nepochs; k++) {
    cr_assert_eq(memcmp(a->epochs[k].epoch, b->epochs[k].epoch, CRDT_EPOCH_LEN), 0);
    cr_assert_eq(crdt_id_cmp(&a->epochs[k].started_by, &b->epochs[k].started_by), 0);
    cr_assert_eq(a->epochs[k].cause, b->epochs[k].cause);
  }
  cr_assert_eq(a->nmembers, b->nmembers);
  for (size_t k = 0; k < a->nmembers; k++) {
    cr_assert_eq(crdt_id_cmp(&a->members[k].device, &b->members[k].device), 0);
    cr_assert_eq(crdt_id_cmp(&a->members[k].org, &b->members[k].org), 0);
    cr_assert_eq(crdt_id_cmp(&a->members[k].via, &b->members[k].via), 0);
  }
}

static int has_entry(const crdt_casefile *cf, const crdt_id *id)
{
  return crdt_casefile_entry(cf, id) != NULL;
}

/* ---- 1. key sets --------------------------------------------------------- */

static void box_keys(gen_rng *r, uint8_t pk[CRDT_BOX_PK_LEN], uint8_t sk[CRDT_BOX_SK_LEN])
{
  uint8_t seed[crypto_box_SEEDBYTES];

  gen_bytes(r, seed, sizeof(seed));
  crypto_box_seed_keypair(pk, sk, seed);
}

/* A sealed set built by hand: n raw items of kind kind. */
static uint8_t *seal_raw(size_t n, uint8_t kind, const uint8_t pk[CRDT_BOX_PK_LEN], size_t *len)
{
  size_t plen = n * CRDT_KEYITEM_LEN;
  uint8_t *plain = calloc(1, plen), *ct = malloc(plen + crypto_box_SEALBYTES);

  cr_assert(plain && ct);
  for (size_t i = 0; i < n; i++)
    plain[i * CRDT_KEYITEM_LEN] = kind;
  cr_assert_eq(crypto_box_seal(ct, plain, plen, pk), 0);
  free(plain);
  *len = plen + crypto_box_SEALBYTES;
  return ct;
}

static int open_set(const uint8_t *s, size_t len, const uint8_t *pk, const uint8_t *sk,
                    crdt_keyitem *out, size_t max, size_t *n)
{
  return crdt_keyset_open(s, len, pk, sk, out, max, n);
}

Test(crdt_access, keyset_round_trips_and_rejects_wrong_keys_and_damage)
{
  static crdt_keyitem in[CRDT_KEYSET_MAX], out[CRDT_KEYSET_MAX + 8];

  for (uint64_t seed = 1; seed <= 40; seed++) {
    uint8_t pk[32], sk[32], pk2[32], sk2[32], *s, *bad;
    size_t n, len, got = 12345;
    gen_rng r;
    int rc;

    gen_seed(&r, seed);
    box_keys(&r, pk, sk);
    box_keys(&r, pk2, sk2);
    n = seed == 1 ? CRDT_KEYSET_MAX : 1 + gen_below(&r, CRDT_KEYSET_MAX);
    for (size_t i = 0; i < n; i++) {
      in[i].kind = gen_below(&r, 2) ? CRDT_KEY_SECRET : CRDT_KEY_CONTROL;
      gen_bytes(&r, in[i].epoch, CRDT_EPOCH_LEN);
      gen_bytes(&r, in[i].key, CRDT_KEY_LEN);
    }
    cr_assert_eq(crdt_keyset_seal(in, n, pk, &s, &len), BT_OK, "seed %" PRIu64, seed);
    cr_assert_eq(len, n * CRDT_KEYITEM_LEN + crypto_box_SEALBYTES, "seed %" PRIu64, seed);
    /* Round trip, exactly. */
    cr_assert_eq(open_set(s, len, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_OK,
                 "seed %" PRIu64, seed);
    cr_assert_eq(got, n, "seed %" PRIu64, seed);
    for (size_t i = 0; i < n; i++) {
      cr_assert_eq(out[i].kind, in[i].kind, "seed %" PRIu64 " item %zu", seed, i);
      cr_assert_eq(memcmp(out[i].epoch, in[i].epoch, CRDT_EPOCH_LEN), 0, "seed %" PRIu64, seed);
      cr_assert_eq(memcmp(out[i].key, in[i].key, CRDT_KEY_LEN), 0, "seed %" PRIu64, seed);
    }
    /* Another org's key pair, or a mismatched pair, opens nothing. */
    got = 12345;
    cr_assert_eq(open_set(s, len, pk2, sk2, out, CRDT_KEYSET_MAX, &got), BT_EDECRYPT,
                 "seed %" PRIu64, seed);
    cr_assert_eq(open_set(s, len, pk, sk2, out, CRDT_KEYSET_MAX, &got), BT_EDECRYPT,
                 "seed %" PRIu64, seed);
    cr_assert_eq(open_set(s, len, pk2, sk, out, CRDT_KEYSET_MAX, &got), BT_EDECRYPT,
                 "seed %" PRIu64, seed);
    /* Room for fewer items than sealed. */
    if (n > 1)
      cr_assert_eq(open_set(s, len, pk, sk, out, n - 1, &got), BT_ETOOBIG,
                   "seed %" PRIu64, seed);
    cr_assert_eq(got, 12345, "a failed open writes no count, seed %" PRIu64, seed);
    /* Every truncation fails with a reason. */
    for (size_t l = 0; l < len; l++) {
      rc = open_set(s, l, pk, sk, out, CRDT_KEYSET_MAX, &got);
      cr_assert(rc == BT_EDECRYPT || rc == BT_EPROTO, "seed %" PRIu64 " len %zu: %s", seed, l,
                bt_errname(rc));
    }
    /* Garbled bytes. */
    bad = malloc(len + 1);
    cr_assert_not_null(bad);
    for (int k = 0; k < 64; k++) {
      size_t p = gen_below(&r, len);
      memcpy(bad, s, len);
      bad[p] ^= (uint8_t)(1u << gen_below(&r, 8));
      rc = open_set(bad, len, pk, sk, out, CRDT_KEYSET_MAX, &got);
      cr_assert_eq(rc, BT_EDECRYPT, "seed %" PRIu64 " byte %zu: %s", seed, p, bt_errname(rc));
    }
    for (int k = 0; k < 16; k++) {
      size_t l = gen_below(&r, len + 1);
      gen_bytes(&r, bad, l);
      rc = open_set(bad, l, pk, sk, out, CRDT_KEYSET_MAX, &got);
      cr_assert(rc == BT_EDECRYPT || rc == BT_EPROTO, "seed %" PRIu64 " len %zu: %s", seed, l,
                bt_errname(rc));
    }
    cr_assert_eq(got, 12345, "seed %" PRIu64, seed);
    free(bad);
    free(s);
  }
}

Test(crdt_access, keyset_limits_and_layout)
{
  static crdt_keyitem in[CRDT_KEYSET_MAX + 1], out[CRDT_KEYSET_MAX + 8];
  uint8_t pk[32], sk[32], *s = NULL, *big;
  size_t len = 0, got = 0;
  gen_rng r;

  gen_seed(&r, 77);
  box_keys(&r, pk, sk);
  for (size_t i = 0; i <= CRDT_KEYSET_MAX; i++)
    in[i].kind = CRDT_KEY_SECRET;
  /* Sealing: 1..CRDT_KEYSET_MAX items of a known kind. */
  cr_assert_eq(crdt_keyset_seal(in, 0, pk, &s, &len), BT_EINVAL);
  cr_assert_eq(crdt_keyset_seal(in, CRDT_KEYSET_MAX + 1, pk, &s, &len), BT_EINVAL);
  in[3].kind = 3;
  cr_assert_eq(crdt_keyset_seal(in, 5, pk, &s, &len), BT_EINVAL);
  in[3].kind = 0;
  cr_assert_eq(crdt_keyset_seal(in, 5, pk, &s, &len), BT_EINVAL);
  cr_assert_null(s, "nothing is returned on failure");
  /* Opening a set of more items than any keybox may hold. */
  big = seal_raw(CRDT_KEYSET_MAX + 1, CRDT_KEY_SECRET, pk, &len);
  cr_assert_leq(len, CRDT_SEALED_MAX);
  cr_assert_eq(open_set(big, len, pk, sk, out, CRDT_KEYSET_MAX + 8, &got), BT_ETOOBIG);
  free(big);
  /* Exactly the maximum opens. */
  big = seal_raw(CRDT_KEYSET_MAX, CRDT_KEY_CONTROL, pk, &len);
  cr_assert_eq(open_set(big, len, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_OK);
  cr_assert_eq(got, CRDT_KEYSET_MAX);
  free(big);
  /* A kind this version does not know. */
  big = seal_raw(2, 9, pk, &len);
  cr_assert_eq(open_set(big, len, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_EPROTO);
  free(big);
  /* An empty set, and one over the keybox size cap. */
  big = seal_raw(0, 0, pk, &len);
  cr_assert_neq(open_set(big, len, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_OK);
  free(big);
  big = calloc(1, CRDT_SEALED_MAX + 1);
  cr_assert_neq(open_set(big, CRDT_SEALED_MAX + 1, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_OK);
  cr_assert_eq(open_set(NULL, 0, pk, sk, out, CRDT_KEYSET_MAX, &got), BT_EDECRYPT);
  free(big);
}

/* ---- 2. an org with no grant --------------------------------------------- */

Test(crdt_access, an_org_without_grant_or_keys_reads_nothing)
{
  world *w = world_new(2);
  keytab none = {0};
  node out, holder;
  gen_rng r;
  size_t kb[2];
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t ch = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(fc));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(ch), write_all(ORG_B));
  crdt_keyitem it = item(w, e1, CRDT_KEY_SECRET);

  kb[0] = put_keybox(w, A1, ORG_B, &it, 1, now(w), PAR(gb));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kb[0]));
  size_t cb = put_content(w, B1, CRDT_OP_CONCERN, e1, now(w), PAR(mb));
  size_t tg = put_content(w, A1, CRDT_OP_TAG_ADD, e1, now(w), PAR(cb));
  kb[1] = put_keybox(w, A1, ORG_A, &it, 1, now(w), PAR(tg));
  gen_seed(&r, 2);
  /* D holds no key at all: the keys it derives are none. */
  org_keys(w, ORG_D, &out.kt);
  cr_assert_eq(out.kt.n, 0);
  out.kt = none;
  node_keys(&out, w, &r, NULL);
  cr_assert_eq(out.cf->nops, w->n);
  cr_assert_eq(out.cf->nentries, 0);
  cr_assert_eq(out.cf->ntags, 0);
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    cr_assert_eq(out.cf->fields[f].n, 0, "field %u", f);
  /* Every op but the keyboxes is unreadable. The keyboxes are public
   * envelopes, but without the genesis there is no member to judge them by,
   * and their key sets do not open for D. */
  for (size_t i = 0; i < w->n; i++)
    ASSERT_VD(&out, w, i, w->m[i].type == CRDT_OP_KEYBOX ? CRDT_ACC_NOT_MEMBER : UNREAD);
  cr_assert_eq(out.cf->nunknown, w->n - 2);
  cr_assert_eq(out.cf->nhidden, 2);
  cr_assert_eq(out.cf->access->has_genesis, 0);
  cr_assert_eq(out.cf->access->ngrants, 0);
  cr_assert_eq(out.cf->access->nmembers, 0);
  for (int k = 0; k < 2; k++) {
    crdt_keyitem items[CRDT_KEYSET_MAX];
    uint8_t pub[CRDT_KEY_LEN];
    crdt_body *b;
    size_t n = 0;
    crdt_public_key(w->file, w->ops[kb[k]]->h.epoch, pub);
    cr_assert_eq(crdt_op_decrypt(w->ops[kb[k]], pub, &b), BT_OK);
    cr_assert_eq(crdt_keyset_open((const uint8_t *)b->u.keybox.sealed.p, b->u.keybox.sealed.len,
                                  w->org[ORG_D].box_pk, w->org[ORG_D].box_sk, items,
                                  CRDT_KEYSET_MAX, &n),
                 BT_EDECRYPT);
    crdt_body_free(b);
  }
  /* Nor do the keys of another file's epochs help. */
  {
    world *w2 = world_new(3);
    int f1 = new_epoch(w2, ORG_D);
    crdt_keyitem other = item(w2, f1, CRDT_KEY_SECRET);
    node_close(&out);
    out.kt = none;
    kt_item(&out.kt, &other);
    node_keys(&out, w, &r, NULL);
    cr_assert_eq(out.cf->nentries, 0);
    cr_assert_eq(out.cf->nunknown, w->n - 2);
    world_free(w2);
  }
  /* The holder sees it all. */
  node_open(&holder, w, ORG_A, &r, NULL);
  cr_assert_eq(holder.cf->nhidden, 0);
  cr_assert_eq(holder.cf->nunknown, 0);
  cr_assert_eq(holder.cf->nentries, 2);
  node_close(&holder);
  node_close(&out);
  world_free(w);
}

/* ---- 3. history policies ------------------------------------------------- */

Test(crdt_access, history_all_reads_everything_from_now_reads_only_what_follows)
{
  world *w = world_new(3);
  node a, b, c;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t x1 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(fc));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(x1), write_all(ORG_B));
  crdt_keyitem kb1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kbb = put_keybox(w, A1, ORG_B, &kb1, 1, now(w), PAR(gb));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kbb));
  size_t x2 = put_content(w, B1, CRDT_OP_CONCERN, e1, now(w), PAR(mb));
  size_t x3 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(x2));
  /* C, read-only, from now: a new epoch at grant time. */
  size_t gc = put_grant(w, A1, e1, now(w), PAR(x3),
                        ga(ORG_C, CRDT_RIGHTS_READ, CRDT_HISTORY_FROM_NOW));
  int e2 = new_epoch(w, ORG_A);
  size_t ep2 = put_epoch(w, A1, e2, CRDT_CAUSE_GRANT, now(w), PAR(gc));
  crdt_keyitem kb2[2] = {item(w, e2, CRDT_KEY_SECRET), item(w, e1, CRDT_KEY_SECRET)};
  size_t kb2b = put_keybox(w, A1, ORG_B, kb2, 2, now(w), PAR(ep2));
  crdt_keyitem kc[2] = {item(w, e2, CRDT_KEY_SECRET), item(w, e1, CRDT_KEY_CONTROL)};
  size_t kbc = put_keybox(w, A1, ORG_C, kc, 2, now(w), PAR(kb2b));
  size_t y1 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(kbc));
  size_t y2 = put_content(w, B1, CRDT_OP_CONCERN, e2, now(w), PAR(y1));
  size_t y3 = put_content(w, A1, CRDT_OP_FIELD_SET, e2, now(w), PAR(y2));
  /* C tries to join and write: read-only, so neither counts. */
  size_t mc = put_member(w, C1, e2, now(w), PAR(y3));
  size_t yc = put_content(w, C1, CRDT_OP_CHRONO, e2, now(w), PAR(mc));
  /* A stale write in the old epoch: hidden, and C cannot even read it. */
  size_t st = put_content(w, A1, CRDT_OP_ACTION, e1, now(w), PAR(yc));
  size_t y4 = put_content(w, B1, CRDT_OP_ACTION, e2, now(w), PAR(st));

  gen_seed(&r, 3);
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&b, w, ORG_B, &r, NULL);
  node_open(&c, w, ORG_C, &r, NULL);
  /* C's keys are what the policy promised: the new epoch, and only the
   * control key of the old one. */
  cr_assert(kt_has(&c.kt, w->ep[e2].id) && kt_has(&c.kt, w->ep[e2].ctl));
  cr_assert(kt_has(&c.kt, w->ep[e1].ctl));
  cr_assert(!kt_has(&c.kt, w->ep[e1].id));
  cr_assert(kt_has(&b.kt, w->ep[e1].id) && kt_has(&b.kt, w->ep[e2].id));
  /* "All": B reads every entry, like the holder. */
  {
    const size_t all[] = {x1, x2, x3, y1, y2, y4};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
      cr_assert(has_entry(a.cf, &w->ops[all[k]]->id), "holder, op %zu", all[k]);
      cr_assert(has_entry(b.cf, &w->ops[all[k]]->id), "B, op %zu", all[k]);
    }
    cr_assert_eq(b.cf->nentries, a.cf->nentries);
    cr_assert_eq(b.cf->nentries, 6);
    cr_assert_eq(b.cf->nunknown, 0);
  }
  /* "From now": C reads exactly the entries after its grant. */
  cr_assert_eq(c.cf->nentries, 3);
  cr_assert(has_entry(c.cf, &w->ops[y1]->id));
  cr_assert(has_entry(c.cf, &w->ops[y2]->id));
  cr_assert(has_entry(c.cf, &w->ops[y4]->id));
  {
    const size_t unread[] = {fc, x1, x2, x3, st};
    for (size_t k = 0; k < sizeof(unread) / sizeof(unread[0]); k++)
      ASSERT_VD(&c, w, unread[k], UNREAD);
    cr_assert_eq(c.cf->nunknown, sizeof(unread) / sizeof(unread[0]));
  }
  /* The front sheet it sees is the one written since. */
  ASSERT_VD(&c, w, y3, CRDT_ACC_OK);
  for (uint32_t f = 1; f < CRDT_FS_END; f++)
    for (size_t k = 0; k < c.cf->fields[f].n; k++)
      cr_assert_eq(crdt_id_cmp(&c.cf->fields[f].v[k].id, &w->ops[y3]->id), 0, "field %u", f);
  {
    size_t from_fc = 0;
    for (uint32_t f = 1; f < CRDT_FS_END; f++)
      if (a.cf->fields[f].n == 1 && crdt_id_cmp(&a.cf->fields[f].v[0].id, &w->ops[fc]->id) == 0) {
        from_fc++;
        cr_assert_eq(c.cf->fields[f].n, 0, "field %u was set before C's grant", f);
      }
    cr_assert_gt(from_fc, 0);
  }
  /* Verdicts everyone can read agree. */
  ASSERT_VD(&a, w, mc, CRDT_ACC_NO_RIGHTS);
  ASSERT_VD(&c, w, mc, CRDT_ACC_NO_RIGHTS);
  ASSERT_VD(&a, w, yc, CRDT_ACC_NOT_MEMBER);
  ASSERT_VD(&c, w, yc, CRDT_ACC_NOT_MEMBER);
  ASSERT_VD(&a, w, st, CRDT_ACC_EPOCH);
  ASSERT_VD(&b, w, st, CRDT_ACC_EPOCH);
  /* C's access state is the holder's, and so is its hidden set, for every
   * op C can read. */
  assert_access_eq(c.cf->access, a.cf->access);
  assert_access_eq(b.cf->access, a.cf->access);
  cr_assert_eq(memcmp(c.cf->access->epoch, w->ep[e2].id, CRDT_EPOCH_LEN), 0);
  cr_assert_eq(c.cf->access->ngrants, 2);
  {
    size_t readable_hidden = 0;
    for (size_t h = 0; h < a.cf->nhidden; h++) {
      int cv = verdict(c.cf, &a.cf->hidden[h].id);
      if (cv == UNREAD)
        continue;
      readable_hidden++;
      cr_assert_eq(cv, (int)a.cf->hidden[h].reason);
    }
    cr_assert_eq(readable_hidden, c.cf->nhidden);
    cr_assert_eq(a.cf->nhidden, 3);
    cr_assert_eq(c.cf->nhidden, 2);
  }
  node_close(&a);
  node_close(&b);
  node_close(&c);
  world_free(w);
}

/* ---- 4. revocation ------------------------------------------------------- */

Test(crdt_access, revoked_org_loses_new_epochs_and_its_later_writes_are_hidden)
{
  world *w = world_new(4);
  node a, b, c;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), write_all(ORG_B));
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kbb = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(gb));
  size_t gc = put_grant(w, A1, e1, now(w), PAR(kbb), write_all(ORG_C));
  size_t kbc = put_keybox(w, A1, ORG_C, &s1, 1, now(w), PAR(gc));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kbc));
  size_t mc = put_member(w, C1, e1, now(w), PAR(mb));
  size_t b0 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(mc));
  /* The holder revokes B and rekeys for C alone. */
  size_t rv = put_revoke_of(w, A1, e1, now(w), PAR(b0), gb);
  int e2 = new_epoch(w, ORG_A);
  size_t ep = put_epoch(w, A1, e2, CRDT_CAUSE_REVOKE, now(w), PAR(rv));
  crdt_keyitem s2 = item(w, e2, CRDT_KEY_SECRET);
  size_t kc2 = put_keybox(w, A1, ORG_C, &s2, 1, now(w), PAR(ep));
  size_t a1 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(kc2));
  size_t c1 = put_content(w, C1, CRDT_OP_CONCERN, e2, now(w), PAR(a1));
  /* Meanwhile, offline, B keeps writing: concurrent with the revoke. */
  size_t b1 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(b0));
  size_t b2 = put_content(w, B1, CRDT_OP_CONCERN, e1, now(w), PAR(b1));
  /* B hears of the revoke (not yet of the new epoch) and writes anyway. */
  size_t b3 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(b2, rv));
  /* B syncs everything and writes again, in the only epoch it has. */
  size_t b4 = put_content(w, B1, CRDT_OP_ACTION, e1, now(w), PAR(b3, c1));
  size_t mb2 = put_member(w, B2, e1, now(w), PAR(b4));
  size_t a2 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(mb2));

  gen_seed(&r, 4);
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&b, w, ORG_B, &r, NULL);
  node_open(&c, w, ORG_C, &r, NULL);
  /* B has no key for the new epoch: nothing sealed in it opens. */
  cr_assert(!kt_has(&b.kt, w->ep[e2].id) && !kt_has(&b.kt, w->ep[e2].ctl));
  for (size_t i = 0; i < w->n; i++)
    if (w->m[i].ep == e2)
      ASSERT_VD(&b, w, i, UNREAD);
  {
    crdt_keyitem items[CRDT_KEYSET_MAX];
    uint8_t pub[CRDT_KEY_LEN];
    crdt_body *kb;
    size_t n;
    crdt_public_key(w->file, w->ops[kc2]->h.epoch, pub);
    cr_assert_eq(crdt_op_decrypt(w->ops[kc2], pub, &kb), BT_OK);
    cr_assert_eq(crdt_keyset_open((const uint8_t *)kb->u.keybox.sealed.p, kb->u.keybox.sealed.len,
                                  w->org[ORG_B].box_pk, w->org[ORG_B].box_sk, items,
                                  CRDT_KEYSET_MAX, &n),
                 BT_EDECRYPT, "C's keybox does not open for B");
    crdt_body_free(kb);
  }
  /* On every node that can read them, B's writes after the revoke are
   * hidden and those concurrent with it are not. */
  node *all[3] = {&a, &b, &c};
  for (int k = 0; k < 3; k++) {
    const node *nd = all[k];
    const size_t after[] = {b3, b4, mb2};
    for (size_t j = 0; j < sizeof(after) / sizeof(after[0]); j++) {
      int v = vd(nd, w, after[j]);
      cr_assert(v == CRDT_ACC_NO_RIGHTS || v == CRDT_ACC_EPOCH, "node %d, op %zu: %s", k,
                after[j], rn(v));
    }
    ASSERT_VD(nd, w, b0, CRDT_ACC_OK);
    ASSERT_VD(nd, w, b1, CRDT_ACC_OK);
    ASSERT_VD(nd, w, b2, CRDT_ACC_OK);
    cr_assert(has_entry(nd->cf, &w->ops[b1]->id), "node %d", k);
    cr_assert(!has_entry(nd->cf, &w->ops[b3]->id), "node %d", k);
    ASSERT_VD(nd, w, rv, CRDT_ACC_OK);
  }
  /* The rest of the file is unaffected. */
  ASSERT_VD(&a, w, c1, CRDT_ACC_OK);
  ASSERT_VD(&c, w, c1, CRDT_ACC_OK);
  ASSERT_VD(&a, w, a2, CRDT_ACC_OK);
  ASSERT_VD(&c, w, a2, CRDT_ACC_OK);
  ASSERT_VD(&c, w, ep, CRDT_ACC_OK);
  cr_assert_eq(a.cf->nhidden, 3);
  assert_access_eq(c.cf->access, a.cf->access);
  {
    const crdt_access *s = a.cf->access;
    int mgr = 1;
    cr_assert_eq(memcmp(s->epoch, w->ep[e2].id, CRDT_EPOCH_LEN), 0);
    cr_assert_eq(s->ngrants, 2);
    for (size_t k = 0; k < s->ngrants; k++) {
      int is_b = crdt_id_cmp(&s->grants[k].op->id, &w->ops[gb]->id) == 0;
      cr_assert_eq(crdt_id_cmp(&s->grants[k].revoked_by, is_b ? &w->ops[rv]->id : &(crdt_id){{0}}),
                   0);
    }
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, w->t, &mgr), 0);
    cr_assert_eq(mgr, 0);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_C].sign.pk, w->t, &mgr), CRDT_RIGHTS_WRITE);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_A].sign.pk, w->t, &mgr), CRDT_RIGHTS_WRITE);
    cr_assert_eq(mgr, 1);
  }
  node_close(&a);
  node_close(&b);
  node_close(&c);
  world_free(w);
}

/* ---- 6. expiry ----------------------------------------------------------- */

Test(crdt_access, a_grant_expires_at_its_time_by_the_ops_own_clock)
{
  world *w = world_new(6);
  node a, b;
  gen_rng r;
  const uint64_t T = T0 + 30 * HOUR + 1234;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  grant_args gx = write_all(ORG_B);
  gx.expires = T;
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), gx);
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kb = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(gb));
  size_t mb = put_member(w, B1, e1, at(T - HOUR), PAR(kb));
  size_t before = put_content(w, B1, CRDT_OP_CHRONO, e1, at(T - 1000), PAR(mb));
  size_t last = put_content(w, B1, CRDT_OP_CONCERN, e1, at(T - 1), PAR(before));
  size_t on = put_content(w, B1, CRDT_OP_CHRONO, e1, at(T), PAR(last));
  size_t after = put_content(w, B1, CRDT_OP_CHRONO, e1, at(T + 1), PAR(on));
  size_t later = put_content(w, B1, CRDT_OP_ACTION, e1, at(T + 5 * HOUR), PAR(after));
  size_t late_member = put_member(w, B2, e1, at(T + 2 * HOUR), PAR(later));
  /* A concurrent write from before the expiry, and the holder after it. */
  size_t side = put_content(w, B1, CRDT_OP_CHRONO, e1, at(T - 500), PAR(mb));
  size_t hold = put_content(w, A1, CRDT_OP_CHRONO, e1, at(T + 6 * HOUR), PAR(late_member, side));

  gen_seed(&r, 6);
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&b, w, ORG_B, &r, NULL);
  node *both[2] = {&a, &b};
  for (int k = 0; k < 2; k++) {
    ASSERT_VD(both[k], w, mb, CRDT_ACC_OK);
    ASSERT_VD(both[k], w, before, CRDT_ACC_OK);
    ASSERT_VD(both[k], w, last, CRDT_ACC_OK);
    ASSERT_VD(both[k], w, side, CRDT_ACC_OK);
    ASSERT_VD(both[k], w, on, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(both[k], w, after, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(both[k], w, later, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(both[k], w, late_member, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(both[k], w, hold, CRDT_ACC_OK);
  }
  cr_assert_eq(a.cf->nhidden, 4);
  {
    int mgr;
    const crdt_access *s = a.cf->access;
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, T - 1, &mgr), CRDT_RIGHTS_WRITE);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, T, &mgr), 0);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_A].sign.pk, T + YEAR, &mgr), CRDT_RIGHTS_WRITE);
  }
  node_close(&a);
  node_close(&b);
  world_free(w);
}

/* ---- 7. edge rules ------------------------------------------------------- */

/* Seals body b by dev until its id compares to ref's as want (<0 or >0). */
static size_t put_ground(world *w, int dev, const crdt_body *b, int ep, const size_t *par,
                         size_t np, opmeta *m, size_t ref, int want)
{
  uint64_t seq = ++w->dev[dev].seq;
  crdt_op *op;

  for (;;) {
    op = seal_op(w, dev, b, w->ep[ep].ctl, w->ep[ep].control, seq, par, np);
    int c = crdt_id_cmp(&op->id, &w->ops[ref]->id);
    if ((c < 0) == (want < 0))
      break;
    crdt_op_free(op);
  }
  m->ep = ep;
  m->ctl = 1;
  return adopt(w, dev, op, b, par, np, m);
}

/* Every parentless genesis of this file with good certificates is valid on
 * its own; a rival one holds the file only for the ops that see it, and
 * then only if its id is the smaller. */
Test(crdt_access, only_the_files_own_parentless_genesis_counts)
{
  world *w = world_new(7);
  node a, part;
  gen_rng r;
  crdt_body b;
  opmeta m;
  uint64_t real[NW] = {0};
  uint8_t salt_d[16] = {0xD0};
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));

  /* The same device, salt and epoch: the same file, a second root. Its id
   * is the larger. */
  genesis_body(w, A1, e1, w->salt, now(w), &b, &m);
  size_t g2 = put_ground(w, A1, &b, e1, NULL, 0, &m, g, +1);
  /* A genesis under a parent. */
  genesis_body(w, A1, e1, w->salt, now(w), &b, &m);
  size_t g3 = put_control(w, A1, &b, e1, PAR(fc), &m);
  /* Another org's device claims this file: its H(author, salt) is not the
   * file id. Its id is smaller, so the DAG orders it first. */
  genesis_body(w, D1, e1, salt_d, now(w), &b, &m);
  size_t g4 = put_ground(w, D1, &b, e1, NULL, 0, &m, g, -1);
  size_t c2 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(fc, g2, g3, g4));
  size_t c4 = put_content(w, D1, CRDT_OP_CHRONO, e1, now(w), PAR(g4));
  /* The real file goes on, seeing only the larger rival g2: a grant, a
   * member, entries. */
  size_t gb = put_grant(w, A1, e1, now(w), PAR(c2), write_all(ORG_B));
  size_t mb = put_member(w, B1, e1, now(w), PAR(gb));
  size_t c5 = put_content(w, B1, CRDT_OP_CONCERN, e1, now(w), PAR(mb));
  for (size_t i = 0; i < w->n; i++)
    set_bit(real, i);
  /* The creator's device makes a third root, in a new epoch, with an id
   * smaller than the genesis's. */
  int e5 = new_epoch(w, ORG_A);
  genesis_body(w, A1, e5, w->salt, now(w), &b, &m);
  size_t g5 = put_ground(w, A1, &b, e5, NULL, 0, &m, g, -1);
  size_t x5 = put_content(w, A1, CRDT_OP_CHRONO, e5, now(w), PAR(g5));
  /* Ops that see both g and g5 follow g5: its epoch and its binding; g's
   * are ignored (what else g's line did, the grant and the member, still
   * counts). */
  size_t y1 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(c5, x5));
  size_t y2 = put_content(w, A1, CRDT_OP_CHRONO, e5, now(w), PAR(c5, x5));
  size_t y3 = put_content(w, B1, CRDT_OP_CHRONO, e5, now(w), PAR(y2));
  size_t y4 = put_grant(w, A1, e5, now(w), PAR(y2), write_all(ORG_C));

  gen_seed(&r, 7);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, g, CRDT_ACC_OK);
  ASSERT_VD(&a, w, g2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, g5, CRDT_ACC_OK);
  ASSERT_VD(&a, w, g3, CRDT_ACC_GENESIS);
  ASSERT_VD(&a, w, g4, CRDT_ACC_GENESIS);
  ASSERT_VD(&a, w, c4, CRDT_ACC_NOT_MEMBER);
  /* The real file is unaffected: each of its ops sees g, and at most the
   * larger rival g2. */
  {
    const size_t ok[] = {fc, c2, gb, mb, c5};
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
      ASSERT_VD(&a, w, ok[k], CRDT_ACC_OK);
  }
  node_open(&part, w, ORG_A, &r, real);
  for (size_t i = 0; i < w->n; i++)
    if (bit(real, i))
      cr_assert_eq(vd(&part, w, i), vd(&a, w, i), "op %zu", i);
  {
    const crdt_access *s = part.cf->access;
    int mgr;
    cr_assert_eq(memcmp(s->holder.b, w->org[ORG_A].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(s->nepochs, 1, "g2, the larger, starts no epoch here");
    cr_assert_eq(crdt_id_cmp(&s->epochs[0].started_by, &w->ops[g]->id), 0);
    cr_assert_eq(memcmp(s->epoch, w->ep[e1].id, CRDT_EPOCH_LEN), 0);
    cr_assert_eq(s->fork, 0);
    cr_assert_eq(s->ngrants, 1);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, w->t, &mgr), CRDT_RIGHTS_WRITE);
    cr_assert_not_null(crdt_access_member(s, w->dev[B1].key.pk));
    cr_assert_eq(crdt_id_cmp(&crdt_access_member(s, w->dev[A1].key.pk)->via, &w->ops[g]->id), 0);
  }
  node_close(&part);
  /* On its own, g5 starts its file like any genesis. */
  ASSERT_VD(&a, w, x5, CRDT_ACC_OK);
  /* Over g and g5, the smaller id holds: epoch e5, not g's e1. */
  ASSERT_VD(&a, w, y1, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, y2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, y3, CRDT_ACC_OK);
  ASSERT_VD(&a, w, y4, CRDT_ACC_OK);
  {
    const crdt_access *s = a.cf->access;
    int mgr;
    cr_assert_eq(memcmp(s->holder.b, w->org[ORG_A].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(s->nepochs, 1);
    cr_assert_eq(crdt_id_cmp(&s->epochs[0].started_by, &w->ops[g5]->id), 0);
    cr_assert_eq(memcmp(s->epoch, w->ep[e5].id, CRDT_EPOCH_LEN), 0);
    cr_assert_eq(s->fork, 0);
    cr_assert_eq(s->ntips, 1);
    cr_assert_eq(s->ngrants, 2);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, w->t, &mgr), CRDT_RIGHTS_WRITE);
    cr_assert_eq(crdt_id_cmp(&crdt_access_member(s, w->dev[B1].key.pk)->via, &w->ops[mb]->id), 0);
    cr_assert_eq(crdt_id_cmp(&crdt_access_member(s, w->dev[A1].key.pk)->via, &w->ops[g5]->id), 0);
  }
  node_close(&a);
  world_free(w);
}

Test(crdt_access, member_certificates_must_name_the_author_and_chain)
{
  world *w = world_new(8);
  node a;
  gen_rng r;
  uint8_t *wrong_issuer;
  size_t wi_len;
  static const uint8_t junk[] = {0x92, 0x01, 0x02};
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), write_all(ORG_B));
  bt_str borg = bin(w->org[ORG_B].cert, w->org[ORG_B].cert_len);
  bt_str corg = bin(w->org[ORG_C].cert, w->org[ORG_C].cert_len);

  /* B1 presents B2's device certificate. */
  size_t m1 = put_member_as(w, B1, e1, now(w), PAR(gb),
                            bin(w->dev[B2].cert, w->dev[B2].cert_len), borg, -1);
  /* B1's own key, certified by C, with B's org certificate. */
  sign_device(w, &w->dev[B1].key, ORG_C, &wrong_issuer, &wi_len);
  size_t m2 = put_member_as(w, B1, e1, now(w), PAR(m1), bin(wrong_issuer, wi_len), borg, -1);
  /* B1's proper device certificate with C's org certificate. */
  size_t m3 = put_member_as(w, B1, e1, now(w), PAR(m2),
                            bin(w->dev[B1].cert, w->dev[B1].cert_len), corg, -1);
  /* Swapped: the org certificate where the device's belongs. */
  size_t m4 = put_member_as(w, B1, e1, now(w), PAR(m3), borg,
                            bin(w->dev[B1].cert, w->dev[B1].cert_len), -1);
  size_t m5 = put_member_as(w, B1, e1, now(w), PAR(m4), bin(junk, sizeof(junk)), borg, -1);
  size_t x1 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(m5));
  size_t ok = put_member(w, B1, e1, now(w), PAR(x1));
  size_t x2 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(ok));
  /* A device of an org with no grant. */
  size_t md = put_member(w, D1, e1, now(w), PAR(x2));
  size_t xd = put_content(w, D1, CRDT_OP_CHRONO, e1, now(w), PAR(md));

  gen_seed(&r, 8);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, m1, CRDT_ACC_CERT);
  ASSERT_VD(&a, w, m2, CRDT_ACC_CERT);
  ASSERT_VD(&a, w, m3, CRDT_ACC_CERT);
  ASSERT_VD(&a, w, m4, CRDT_ACC_CERT);
  ASSERT_VD(&a, w, m5, CRDT_ACC_CERT);
  ASSERT_VD(&a, w, x1, CRDT_ACC_NOT_MEMBER);
  ASSERT_VD(&a, w, ok, CRDT_ACC_OK);
  ASSERT_VD(&a, w, x2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, md, CRDT_ACC_NO_RIGHTS);
  ASSERT_VD(&a, w, xd, CRDT_ACC_NOT_MEMBER);
  {
    const crdt_acc_member *mm = crdt_access_member(a.cf->access, w->dev[B1].key.pk);
    cr_assert_not_null(mm);
    cr_assert_eq(memcmp(mm->org.b, w->org[ORG_B].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(memcmp(mm->box.b, w->org[ORG_B].box_pk, CRDT_BOX_PK_LEN), 0);
    cr_assert_str_eq(mm->org_name, org_names[ORG_B]);
    cr_assert_eq(crdt_id_cmp(&mm->via, &w->ops[ok]->id), 0);
    cr_assert_null(crdt_access_member(a.cf->access, w->dev[B2].key.pk));
    cr_assert_null(crdt_access_member(a.cf->access, w->dev[D1].key.pk));
  }
  free(wrong_issuer);
  node_close(&a);
  world_free(w);
}

Test(crdt_access, two_claims_for_one_device_the_smaller_op_id_wins)
{
  for (int want = -1; want <= 1; want += 2) {
    world *w = world_new(15);
    node a;
    gen_rng r;
    crdt_body b;
    opmeta m = blank();
    uint8_t *cert_c;
    size_t cert_c_len;
    int e1 = new_epoch(w, ORG_A);
    size_t g = put_genesis(w, A1, e1, now(w));
    size_t gb = put_grant(w, A1, e1, now(w), PAR(g), write_all(ORG_B));
    size_t gc = put_grant(w, A1, e1, now(w), PAR(gb), write_all(ORG_C));
    /* C certifies B1's key too, and B1 claims both orgs. */
    sign_device(w, &w->dev[B1].key, ORG_C, &cert_c, &cert_c_len);
    size_t mb = put_member(w, B1, e1, now(w), PAR(gc));
    b = base(now(w), CRDT_OP_MEMBER);
    b.u.member = (crdt_member){bin(cert_c, cert_c_len),
                               bin(w->org[ORG_C].cert, w->org[ORG_C].cert_len)};
    m.claim = ORG_C;
    size_t mc = put_ground(w, B1, &b, e1, PAR(mb), &m, mb, want);
    size_t x1 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(mc));
    size_t rb = put_revoke_of(w, A1, e1, now(w), PAR(x1), gb);
    size_t x2 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(rb));
    size_t rc = put_revoke_of(w, A1, e1, now(w), PAR(x2), gc);
    size_t x3 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(rc));
    int c_wins = want < 0;

    gen_seed(&r, 15);
    node_open(&a, w, ORG_A, &r, NULL);
    ASSERT_VD(&a, w, mb, CRDT_ACC_OK);
    ASSERT_VD(&a, w, mc, CRDT_ACC_OK);
    ASSERT_VD(&a, w, x1, CRDT_ACC_OK);
    /* Without B's grant, B1 writes only if its binding is C's. */
    ASSERT_VD(&a, w, x2, c_wins ? CRDT_ACC_OK : CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(&a, w, x3, CRDT_ACC_NO_RIGHTS);
    const crdt_acc_member *mm = crdt_access_member(a.cf->access, w->dev[B1].key.pk);
    cr_assert_not_null(mm);
    cr_assert_eq(memcmp(mm->org.b, w->org[c_wins ? ORG_C : ORG_B].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(crdt_id_cmp(&mm->via, &w->ops[c_wins ? mc : mb]->id), 0);
    free(cert_c);
    node_close(&a);
    world_free(w);
  }
}

Test(crdt_access, only_managers_grant_revoke_rekey_or_send_keys)
{
  world *w = world_new(9);
  node a;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), write_all(ORG_B));
  grant_args tr = write_all(ORG_C);
  tr.purpose = CRDT_PURPOSE_TRANSFER;
  size_t gc = put_grant(w, A1, e1, now(w), PAR(gb), tr);
  size_t mb = put_member(w, B1, e1, now(w), PAR(gc));
  size_t mc = put_member(w, C1, e1, now(w), PAR(mb));
  /* B may write, but a referral does not make it a manager. */
  size_t bg = put_grant(w, B1, e1, now(w), PAR(mc), write_all(ORG_D));
  size_t br = put_revoke_of(w, B1, e1, now(w), PAR(bg), gc);
  int eb = new_epoch(w, ORG_B);
  size_t be = put_epoch(w, B1, eb, CRDT_CAUSE_ROTATE, now(w), PAR(br));
  /* Its keybox goes to A, so A can read B's epoch op to judge it. */
  crdt_keyitem sb = item(w, eb, CRDT_KEY_SECRET);
  size_t bk = put_keybox(w, B1, ORG_A, &sb, 1, now(w), PAR(be));
  size_t md = put_member(w, D1, e1, now(w), PAR(bk));
  size_t bx = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(md));
  /* C's transfer grant with write rights does. */
  size_t cg = put_grant(w, C1, e1, now(w), PAR(bx), write_all(ORG_D));
  size_t md2 = put_member(w, D1, e1, now(w), PAR(cg));
  size_t dx = put_content(w, D1, CRDT_OP_CHRONO, e1, now(w), PAR(md2));
  int ec = new_epoch(w, ORG_C);
  size_t ce = put_epoch(w, C1, ec, CRDT_CAUSE_ROTATE, now(w), PAR(dx));
  crdt_keyitem sc = item(w, ec, CRDT_KEY_SECRET);
  size_t ck = put_keybox(w, C1, ORG_A, &sc, 1, now(w), PAR(ce));
  size_t cr = put_revoke_of(w, C1, ec, now(w), PAR(ck), gb);
  size_t ax = put_content(w, A1, CRDT_OP_CHRONO, ec, now(w), PAR(cr));
  size_t bx2 = put_content(w, B1, CRDT_OP_CHRONO, ec, now(w), PAR(cr));

  gen_seed(&r, 9);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, mb, CRDT_ACC_OK);
  ASSERT_VD(&a, w, bg, CRDT_ACC_NOT_MANAGER);
  ASSERT_VD(&a, w, br, CRDT_ACC_NOT_MANAGER);
  ASSERT_VD(&a, w, be, CRDT_ACC_NOT_MANAGER);
  ASSERT_VD(&a, w, bk, CRDT_ACC_NOT_MANAGER);
  ASSERT_VD(&a, w, md, CRDT_ACC_NO_RIGHTS);
  ASSERT_VD(&a, w, bx, CRDT_ACC_OK);
  ASSERT_VD(&a, w, cg, CRDT_ACC_OK);
  ASSERT_VD(&a, w, md2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, dx, CRDT_ACC_OK);
  ASSERT_VD(&a, w, ce, CRDT_ACC_OK);
  ASSERT_VD(&a, w, ck, CRDT_ACC_OK);
  ASSERT_VD(&a, w, cr, CRDT_ACC_OK);
  ASSERT_VD(&a, w, ax, CRDT_ACC_OK);
  ASSERT_VD(&a, w, bx2, CRDT_ACC_NO_RIGHTS);
  {
    int mgr = 0;
    cr_assert_eq(crdt_access_rights(a.cf->access, w->org[ORG_C].sign.pk, w->t, &mgr),
                 CRDT_RIGHTS_WRITE);
    cr_assert_eq(mgr, 1);
    cr_assert_eq(crdt_access_rights(a.cf->access, w->org[ORG_D].sign.pk, w->t, &mgr),
                 CRDT_RIGHTS_WRITE);
    cr_assert_eq(mgr, 0);
  }
  node_close(&a);
  world_free(w);
}

Test(crdt_access, a_revoke_must_name_a_grant_in_its_past)
{
  world *w = world_new(10);
  node a;
  gen_rng r;
  crdt_id random_id;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t m2 = put_member(w, A2, e1, now(w), PAR(fc));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(m2), write_all(ORG_B));
  /* A concurrent grant from the holder's other device. */
  size_t gc = put_grant(w, A2, e1, now(w), PAR(m2), write_all(ORG_C));
  size_t r1 = put_revoke_of(w, A1, e1, now(w), PAR(gb), fc);
  gen_bytes(&w->r, random_id.b, CRDT_ID_LEN);
  size_t r2 = put_revoke(w, A1, e1, now(w), PAR(r1), &random_id, -1);
  size_t r3 = put_revoke_of(w, A1, e1, now(w), PAR(r2), gc);
  size_t r4 = put_revoke_of(w, A1, e1, now(w), PAR(r3), m2);
  size_t r5 = put_revoke_of(w, A1, e1, now(w), PAR(r4), gb);
  size_t r6 = put_revoke_of(w, A1, e1, now(w), PAR(r5, gc), gc);
  size_t mc = put_member(w, C1, e1, now(w), PAR(gc));

  gen_seed(&r, 10);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, gc, CRDT_ACC_OK);
  ASSERT_VD(&a, w, r1, CRDT_ACC_REF);
  ASSERT_VD(&a, w, r2, CRDT_ACC_REF);
  ASSERT_VD(&a, w, r3, CRDT_ACC_REF);
  ASSERT_VD(&a, w, r4, CRDT_ACC_REF);
  ASSERT_VD(&a, w, r5, CRDT_ACC_OK);
  ASSERT_VD(&a, w, r6, CRDT_ACC_OK);
  ASSERT_VD(&a, w, mc, CRDT_ACC_OK);
  {
    const crdt_access *s = a.cf->access;
    cr_assert_eq(s->ngrants, 2);
    for (size_t k = 0; k < 2; k++) {
      int is_b = crdt_id_cmp(&s->grants[k].op->id, &w->ops[gb]->id) == 0;
      cr_assert_eq(crdt_id_cmp(&s->grants[k].revoked_by, &w->ops[is_b ? r5 : r6]->id), 0);
    }
  }
  node_close(&a);
  world_free(w);
}

Test(crdt_access, each_type_needs_its_kind_of_envelope_and_key)
{
  world *w = world_new(11);
  node a, d;
  gen_rng r;
  crdt_body b;
  opmeta m;
  uint8_t pub[CRDT_KEY_LEN], tag_c[CRDT_EPOCH_LEN], key_c[CRDT_KEY_LEN];
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);

  /* Content in a public envelope: anyone could have read it. */
  gen_body(&w->r, w->ar, CRDT_OP_CHRONO, now(w), &b, NULL, 0);
  crdt_public_key(w->file, w->ep[e1].id, pub);
  m = blank();
  m.ep = e1;
  m.pub = 1;
  size_t pc = emit(w, A1, &b, w->ep[e1].id, pub, PAR(fc), &m);
  /* A keybox under the content key instead of its public one. */
  keybox_body(w, ORG_B, &s1, 1, now(w), &b);
  m = blank();
  m.ep = e1;
  m.kb_org = ORG_B;
  size_t kx = emit(w, A1, &b, w->ep[e1].id, w->ep[e1].content, PAR(pc), &m);
  /* A keybox for B under C's tag. */
  keybox_body(w, ORG_B, &s1, 1, now(w), &b);
  crdt_keybox_tag(w->org[ORG_C].box_pk, tag_c);
  crdt_public_key(w->file, tag_c, key_c);
  m = blank();
  m.pub = 1;
  m.kb_org = ORG_B;
  size_t kt = emit(w, A1, &b, tag_c, key_c, PAR(kx), &m);
  /* A control op under the content key, content under the control key. */
  grant_args gx = ga(ORG_B, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  grant_body(w, &gx, now(w), &b);
  m = blank();
  m.ep = e1;
  m.g_org = ORG_B;
  m.g_rights = CRDT_RIGHTS_READ;
  m.g_purpose = CRDT_PURPOSE_REFERRAL;
  size_t gk = emit(w, A1, &b, w->ep[e1].id, w->ep[e1].content, PAR(kt), &m);
  gen_body(&w->r, w->ar, CRDT_OP_CONCERN, now(w), &b, NULL, 0);
  m = blank();
  size_t ck = put_control(w, A1, &b, e1, PAR(gk), &m);
  size_t good = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(ck));
  /* An epoch op under the current epoch's control key, not its own. */
  int e2 = new_epoch(w, ORG_A);
  b = base(now(w), CRDT_OP_EPOCH);
  b.u.epoch = (crdt_epoch){bin(w->ep[e2].id, CRDT_EPOCH_LEN), CRDT_CAUSE_ROTATE};
  m = blank();
  m.decl = e2;
  size_t ew = put_control(w, A1, &b, e1, PAR(good), &m);
  size_t in2 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(ew));
  size_t x = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(in2));

  gen_seed(&r, 11);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, pc, CRDT_ACC_ENVELOPE);
  ASSERT_VD(&a, w, kx, CRDT_ACC_ENVELOPE);
  ASSERT_VD(&a, w, kt, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, gk, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, ck, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, good, CRDT_ACC_OK);
  ASSERT_VD(&a, w, ew, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, in2, CRDT_ACC_EPOCH);
  ASSERT_VD(&a, w, x, CRDT_ACC_OK);
  cr_assert_eq(a.cf->access->nepochs, 1);
  cr_assert_eq(a.cf->access->ngrants, 0);
  cr_assert_null(crdt_casefile_entry(a.cf, &w->ops[pc]->id));
  /* The public envelope is as wrong on a node with no key at all. */
  memset(&d.kt, 0, sizeof(d.kt));
  node_keys(&d, w, &r, NULL);
  ASSERT_VD(&d, w, pc, CRDT_ACC_ENVELOPE);
  ASSERT_VD(&d, w, x, UNREAD);
  node_close(&d);
  node_close(&a);
  world_free(w);
}

Test(crdt_access, concurrent_epochs_fork_until_a_merging_epoch)
{
  world *w = world_new(12);
  node a, c;
  gen_rng r;
  uint64_t pre[NW];
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t m2 = put_member(w, A2, e1, now(w), PAR(fc));
  size_t gc = put_grant(w, A1, e1, now(w), PAR(m2), write_all(ORG_C));
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kc = put_keybox(w, A1, ORG_C, &s1, 1, now(w), PAR(gc));
  size_t mc = put_member(w, C1, e1, now(w), PAR(kc));
  /* Both holder devices rekey, each unaware of the other. */
  int e2 = new_epoch(w, ORG_A), e3 = new_epoch(w, ORG_A);
  size_t x2 = put_epoch(w, A1, e2, CRDT_CAUSE_ROTATE, now(w), PAR(mc));
  size_t x3 = put_epoch(w, A2, e3, CRDT_CAUSE_ROTATE, now(w), PAR(mc));
  crdt_keyitem s2 = item(w, e2, CRDT_KEY_SECRET), s3 = item(w, e3, CRDT_KEY_SECRET);
  size_t k2 = put_keybox(w, A1, ORG_C, &s2, 1, now(w), PAR(x2));
  size_t k3 = put_keybox(w, A2, ORG_C, &s3, 1, now(w), PAR(x3));
  size_t c2 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(k2));
  size_t c3 = put_content(w, A2, CRDT_OP_CHRONO, e3, now(w), PAR(k3));
  /* Over both: no content, no grant; only a rekey may follow, and a member
   * may join under the control key of either tip (not an older epoch's). */
  size_t f1 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(c2, c3));
  size_t f2 = put_content(w, C1, CRDT_OP_CONCERN, e3, now(w), PAR(c2, c3));
  size_t f3 = put_grant(w, A1, e2, now(w), PAR(f1), ga(ORG_B, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL));
  size_t f4 = put_member(w, C1, e3, now(w), PAR(f2));
  size_t f5 = put_member(w, A2, e2, now(w), PAR(f4));
  size_t f6 = put_member(w, A2, e1, now(w), PAR(f5));

  upto(pre, w->n);
  int e4 = new_epoch(w, ORG_A);
  size_t mg = put_epoch(w, A1, e4, CRDT_CAUSE_MERGE, now(w), PAR(f3, f4));
  crdt_keyitem s4 = item(w, e4, CRDT_KEY_SECRET);
  size_t k4 = put_keybox(w, A1, ORG_C, &s4, 1, now(w), PAR(mg));
  size_t y1 = put_content(w, A2, CRDT_OP_CHRONO, e4, now(w), PAR(k4));
  size_t y2 = put_content(w, C1, CRDT_OP_CHRONO, e4, now(w), PAR(y1));
  size_t y3 = put_content(w, C1, CRDT_OP_CHRONO, e3, now(w), PAR(y2));
  /* An epoch id is never reused: rekeying to e2 or e1 again is refused. */
  size_t re2 = put_epoch(w, A1, e2, CRDT_CAUSE_ROTATE, now(w), PAR(y2));
  size_t re1 = put_epoch(w, A1, e1, CRDT_CAUSE_ROTATE, now(w), PAR(re2));
  size_t y4 = put_content(w, A1, CRDT_OP_CHRONO, e4, now(w), PAR(re1));

  gen_seed(&r, 12);
  /* Before the merge the heads are a fork. */
  node_open(&a, w, ORG_A, &r, pre);
  cr_assert_eq(a.cf->access->fork, 1);
  cr_assert_eq(a.cf->access->nepochs, 3);
  cr_assert_eq(a.cf->access->ntips, 2);
  for (size_t k = 0; k < 2; k++)
    cr_assert(memcmp(a.cf->access->tips[k], w->ep[e2].id, CRDT_EPOCH_LEN) == 0 ||
              memcmp(a.cf->access->tips[k], w->ep[e3].id, CRDT_EPOCH_LEN) == 0, "tip %zu", k);
  cr_assert_neq(memcmp(a.cf->access->tips[0], a.cf->access->tips[1], CRDT_EPOCH_LEN), 0);
  ASSERT_VD(&a, w, c2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, c3, CRDT_ACC_OK);
  ASSERT_VD(&a, w, f1, CRDT_ACC_FORK);
  ASSERT_VD(&a, w, f2, CRDT_ACC_FORK);
  ASSERT_VD(&a, w, f3, CRDT_ACC_FORK);
  ASSERT_VD(&a, w, f4, CRDT_ACC_OK);
  ASSERT_VD(&a, w, f5, CRDT_ACC_OK);
  ASSERT_VD(&a, w, f6, CRDT_ACC_FORK);
  /* A member joining over the fork is a binding, not a way out of it. */
  cr_assert_eq(a.cf->access->fork, 1);
  node_close(&a);
  /* After it, on the holder and on C, the merge epoch is current. */
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&c, w, ORG_C, &r, NULL);
  node *both[2] = {&a, &c};
  for (int k = 0; k < 2; k++) {
    const node *nd = both[k];
    cr_assert_eq(nd->cf->access->fork, 0, "node %d", k);
    cr_assert_eq(memcmp(nd->cf->access->epoch, w->ep[e4].id, CRDT_EPOCH_LEN), 0, "node %d", k);
    cr_assert_eq(nd->cf->access->nepochs, 4, "node %d", k);
    cr_assert_eq(nd->cf->access->ntips, 1, "node %d", k);
    cr_assert_eq(memcmp(nd->cf->access->tips[0], w->ep[e4].id, CRDT_EPOCH_LEN), 0, "node %d", k);
    ASSERT_VD(nd, w, f1, CRDT_ACC_FORK);
    ASSERT_VD(nd, w, f4, CRDT_ACC_OK);
    ASSERT_VD(nd, w, f6, CRDT_ACC_FORK);
    ASSERT_VD(nd, w, mg, CRDT_ACC_OK);
    ASSERT_VD(nd, w, k4, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y1, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y2, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y3, CRDT_ACC_EPOCH);
    ASSERT_VD(nd, w, re2, CRDT_ACC_EPOCH);
    ASSERT_VD(nd, w, re1, CRDT_ACC_EPOCH);
    ASSERT_VD(nd, w, y4, CRDT_ACC_OK);
  }
  assert_access_eq(c.cf->access, a.cf->access);
  cr_assert_eq(a.cf->access->epochs[3].cause, CRDT_CAUSE_MERGE);
  node_close(&a);
  node_close(&c);
  world_free(w);
}

/* A device new to a forked file joins under a tip's control key, and its
 * org, a manager, merges the fork; then everyone writes again. */
Test(crdt_access, a_new_device_joins_a_forked_file_under_a_tip_key_and_merges_it)
{
  world *w = world_new(18);
  node a, c;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t m2 = put_member(w, A2, e1, now(w), PAR(fc));
  grant_args tr = write_all(ORG_C);
  tr.purpose = CRDT_PURPOSE_TRANSFER;
  size_t gc = put_grant(w, A1, e1, now(w), PAR(m2), tr);
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kc = put_keybox(w, A1, ORG_C, &s1, 1, now(w), PAR(gc));
  /* The holder's two devices rekey apart, each sending C the new key. */
  int e2 = new_epoch(w, ORG_A), e3 = new_epoch(w, ORG_A);
  size_t x2 = put_epoch(w, A1, e2, CRDT_CAUSE_ROTATE, now(w), PAR(kc));
  size_t x3 = put_epoch(w, A2, e3, CRDT_CAUSE_ROTATE, now(w), PAR(kc));
  crdt_keyitem s2 = item(w, e2, CRDT_KEY_SECRET), s3 = item(w, e3, CRDT_KEY_SECRET);
  size_t k2 = put_keybox(w, A1, ORG_C, &s2, 1, now(w), PAR(x2));
  size_t k3 = put_keybox(w, A2, ORG_C, &s3, 1, now(w), PAR(x3));
  /* C1, not yet a member, receives both sides. Under the old epoch's key
   * its join is refused; under a tip's it stands, but content still waits
   * for a merge. */
  size_t j0 = put_member(w, C1, e1, now(w), PAR(k2, k3));
  size_t j1 = put_member(w, C1, e3, now(w), PAR(j0));
  size_t f1 = put_content(w, C1, CRDT_OP_CHRONO, e3, now(w), PAR(j1));
  int e4 = new_epoch(w, ORG_C);
  size_t mg = put_epoch(w, C1, e4, CRDT_CAUSE_MERGE, now(w), PAR(f1));
  crdt_keyitem s4 = item(w, e4, CRDT_KEY_SECRET);
  size_t k4 = put_keybox(w, C1, ORG_A, &s4, 1, now(w), PAR(mg));
  size_t y1 = put_content(w, C1, CRDT_OP_CONCERN, e4, now(w), PAR(k4));
  size_t y2 = put_content(w, A2, CRDT_OP_CHRONO, e4, now(w), PAR(y1));
  size_t y3 = put_content(w, A1, CRDT_OP_CHRONO, e2, now(w), PAR(y2));

  gen_seed(&r, 18);
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&c, w, ORG_C, &r, NULL);
  node *both[2] = {&a, &c};
  for (int k = 0; k < 2; k++) {
    const node *nd = both[k];
    const crdt_acc_member *mm = crdt_access_member(nd->cf->access, w->dev[C1].key.pk);
    ASSERT_VD(nd, w, x2, CRDT_ACC_OK);
    ASSERT_VD(nd, w, x3, CRDT_ACC_OK);
    ASSERT_VD(nd, w, j0, CRDT_ACC_FORK);
    ASSERT_VD(nd, w, j1, CRDT_ACC_OK);
    ASSERT_VD(nd, w, f1, CRDT_ACC_FORK);
    ASSERT_VD(nd, w, mg, CRDT_ACC_OK);
    ASSERT_VD(nd, w, k4, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y1, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y2, CRDT_ACC_OK);
    ASSERT_VD(nd, w, y3, CRDT_ACC_EPOCH);
    cr_assert_eq(nd->cf->access->fork, 0, "node %d", k);
    cr_assert_eq(nd->cf->access->ntips, 1, "node %d", k);
    cr_assert_eq(memcmp(nd->cf->access->epoch, w->ep[e4].id, CRDT_EPOCH_LEN), 0, "node %d", k);
    cr_assert_not_null(mm, "node %d", k);
    cr_assert_eq(crdt_id_cmp(&mm->via, &w->ops[j1]->id), 0, "node %d", k);
    cr_assert_eq(memcmp(mm->org.b, w->org[ORG_C].sign.pk, CRDT_PK_LEN), 0, "node %d", k);
    cr_assert(has_entry(nd->cf, &w->ops[y1]->id), "node %d", k);
    cr_assert(!has_entry(nd->cf, &w->ops[f1]->id), "node %d", k);
  }
  assert_access_eq(c.cf->access, a.cf->access);
  node_close(&a);
  node_close(&c);
  world_free(w);
}

/* ---- 8. a revoke voids what its revoker had not seen --------------------- */

/* Finds the grant op g among the access state's grants, or NULL. */
static const crdt_acc_grant *find_grant(const crdt_access *s, const world *w, size_t g)
{
  for (size_t k = 0; k < s->ngrants; k++)
    if (crdt_id_cmp(&s->grants[k].op->id, &w->ops[g]->id) == 0)
      return &s->grants[k];
  return NULL;
}

/* C, a transfer grantee and so a manager, is revoked; holding its old keys,
 * it writes "before" the revoke: a grant to D with a keybox, and a revoke
 * of B's grant. Each is valid on its own past, and void once the revoke is
 * known. */
Test(crdt_access, a_revoked_managers_back_dated_grant_and_revoke_are_void)
{
  world *w = world_new(16);
  node a, d;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), write_all(ORG_B));
  grant_args tr = write_all(ORG_C);
  tr.purpose = CRDT_PURPOSE_TRANSFER;
  size_t gc = put_grant(w, A1, e1, now(w), PAR(gb), tr);
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kc = put_keybox(w, A1, ORG_C, &s1, 1, now(w), PAR(gc));
  size_t kb = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(kc));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kb));
  size_t mc = put_member(w, C1, e1, now(w), PAR(mb));
  size_t c0 = put_content(w, C1, CRDT_OP_CHRONO, e1, now(w), PAR(mc));
  /* The holder revokes C's transfer grant. */
  size_t rv = put_revoke_of(w, A1, e1, now(w), PAR(c0), gc);
  size_t a1 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(rv));
  /* C, later, on c0: concurrent with the revoke. */
  size_t bg = put_grant(w, C1, e1, now(w), PAR(c0), write_all(ORG_D));
  size_t br = put_revoke_of(w, C1, e1, now(w), PAR(bg), gb);
  size_t kd = put_keybox(w, C1, ORG_D, &s1, 1, now(w), PAR(br));
  size_t md = put_member(w, D1, e1, now(w), PAR(kd));
  size_t dx = put_content(w, D1, CRDT_OP_CHRONO, e1, now(w), PAR(md));
  size_t bx = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(br));
  /* Everything meets. */
  size_t dy = put_content(w, D1, CRDT_OP_CONCERN, e1, now(w), PAR(dx, a1));
  size_t md2 = put_member(w, D1, e1, now(w), PAR(dx, a1));
  size_t by = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(bx, dx, a1));
  size_t kd2 = put_keybox(w, C1, ORG_D, &s1, 1, now(w), PAR(dx, a1));
  size_t cg2 = put_grant(w, C1, e1, now(w), PAR(dx, a1), write_all(ORG_D));
  size_t ah = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(dy, md2, by, kd2, cg2));

  gen_seed(&r, 16);
  node_open(&a, w, ORG_A, &r, NULL);
  node_open(&d, w, ORG_D, &r, NULL);
  cr_assert(kt_has(&d.kt, w->ep[e1].id), "C's keybox did hand D the keys");
  node *both[2] = {&a, &d};
  for (int k = 0; k < 2; k++) {
    const node *nd = both[k];
    const crdt_access *s = nd->cf->access;
    int mgr = 1;
    /* On their own pasts, C's ops and what follows from them stand. */
    ASSERT_VD(nd, w, rv, CRDT_ACC_OK);
    ASSERT_VD(nd, w, bg, CRDT_ACC_OK);
    ASSERT_VD(nd, w, br, CRDT_ACC_OK);
    ASSERT_VD(nd, w, kd, CRDT_ACC_OK);
    ASSERT_VD(nd, w, md, CRDT_ACC_OK);
    ASSERT_VD(nd, w, dx, CRDT_ACC_OK);
    ASSERT_VD(nd, w, bx, CRDT_ACC_NO_RIGHTS);
    /* Once the revoke is seen, C's grant gives D nothing and its revoke
     * takes nothing from B; C may no longer manage. */
    ASSERT_VD(nd, w, dy, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(nd, w, md2, CRDT_ACC_NO_RIGHTS);
    ASSERT_VD(nd, w, by, CRDT_ACC_OK);
    ASSERT_VD(nd, w, kd2, CRDT_ACC_NOT_MANAGER);
    ASSERT_VD(nd, w, cg2, CRDT_ACC_NOT_MANAGER);
    ASSERT_VD(nd, w, ah, CRDT_ACC_OK);
    /* At the heads: the back-dated grant is absent, B's grant unrevoked,
     * C's revoked by the holder. */
    cr_assert_eq(s->ngrants, 2, "node %d", k);
    cr_assert_null(find_grant(s, w, bg), "node %d", k);
    cr_assert_null(find_grant(s, w, cg2), "node %d", k);
    cr_assert_not_null(find_grant(s, w, gb), "node %d", k);
    cr_assert(crdt_id_is_zero(&find_grant(s, w, gb)->revoked_by), "node %d", k);
    cr_assert_eq(crdt_id_cmp(&find_grant(s, w, gc)->revoked_by, &w->ops[rv]->id), 0, "node %d",
                 k);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_D].sign.pk, w->t, &mgr), 0, "node %d", k);
    cr_assert_eq(mgr, 0, "node %d", k);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_C].sign.pk, w->t, &mgr), 0, "node %d", k);
    cr_assert_eq(mgr, 0, "node %d", k);
    cr_assert_eq(crdt_access_rights(s, w->org[ORG_B].sign.pk, w->t, &mgr), CRDT_RIGHTS_WRITE,
                 "node %d", k);
    cr_assert(has_entry(nd->cf, &w->ops[dx]->id), "node %d", k);
    cr_assert(!has_entry(nd->cf, &w->ops[dy]->id), "node %d", k);
  }
  assert_access_eq(d.cf->access, a.cf->access);
  node_close(&a);
  node_close(&d);
  world_free(w);
}

/* A revoked org's entries that the revoker had not seen are shown (they
 * are judged on their own past, where the grant stood) but flagged; those
 * the revoker had seen are not, nor are other orgs' concurrent entries. */
Test(crdt_access, entries_the_revoker_had_not_seen_are_flagged)
{
  world *w = world_new(17);
  node nd[3];
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e1, now(w), PAR(g));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(fc), write_all(ORG_B));
  size_t gc = put_grant(w, A1, e1, now(w), PAR(gb), write_all(ORG_C));
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kb = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(gc));
  size_t kc = put_keybox(w, A1, ORG_C, &s1, 1, now(w), PAR(kb));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kc));
  size_t mc = put_member(w, C1, e1, now(w), PAR(mb));
  size_t b0 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(mc));
  size_t rv = put_revoke_of(w, A1, e1, now(w), PAR(b0), gb);
  size_t a1 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(rv));
  /* B, back-dating: entries on b0, concurrent with the revoke. */
  size_t b1 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(b0));
  size_t b2 = put_content(w, B1, CRDT_OP_CONCERN, e1, now(w), PAR(b1));
  size_t c1 = put_content(w, C1, CRDT_OP_CHRONO, e1, now(w), PAR(b0));
  size_t b3 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(b2, rv));
  size_t a2 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(a1, b3, c1));

  gen_seed(&r, 17);
  for (int k = 0; k < 3; k++) {
    const crdt_cf_entry *e;
    node_open(&nd[k], w, ORG_A + k, &r, NULL);
    ASSERT_VD(&nd[k], w, b1, CRDT_ACC_OK);
    ASSERT_VD(&nd[k], w, b2, CRDT_ACC_OK);
    ASSERT_VD(&nd[k], w, b3, CRDT_ACC_NO_RIGHTS);
    cr_assert_null(crdt_casefile_entry(nd[k].cf, &w->ops[b3]->id));
    {
      const size_t flagged[] = {b1, b2};
      for (size_t j = 0; j < 2; j++) {
        e = crdt_casefile_entry(nd[k].cf, &w->ops[flagged[j]]->id);
        cr_assert_not_null(e, "node %d, op %zu", k, flagged[j]);
        cr_assert(e->flags & CRDT_CF_UNSEEN_REVOKED, "node %d, op %zu", k, flagged[j]);
      }
    }
    {
      const size_t plain[] = {b0, a1, c1, a2};
      for (size_t j = 0; j < 4; j++) {
        e = crdt_casefile_entry(nd[k].cf, &w->ops[plain[j]]->id);
        cr_assert_not_null(e, "node %d, op %zu", k, plain[j]);
        cr_assert_eq(e->flags & CRDT_CF_UNSEEN_REVOKED, 0, "node %d, op %zu", k, plain[j]);
      }
    }
  }
  /* A node that has the revoke but not yet the back-dated entries flags
   * nothing, and one that has the entries but not the revoke neither. */
  {
    uint64_t only[NW] = {0};
    node p;
    const size_t with_rv[] = {g, fc, gb, gc, kb, kc, mb, mc, b0, rv, a1, c1};
    for (size_t j = 0; j < sizeof(with_rv) / sizeof(with_rv[0]); j++)
      set_bit(only, with_rv[j]);
    node_open(&p, w, ORG_A, &r, only);
    for (size_t j = 0; j < p.cf->nentries; j++)
      cr_assert_eq(p.cf->entries[j].flags & CRDT_CF_UNSEEN_REVOKED, 0);
    node_close(&p);
    memset(only, 0, sizeof(only));
    for (size_t j = 0; j < w->n; j++)
      if (j != rv && j != a1 && j != b3 && j != a2)
        set_bit(only, j);
    node_open(&p, w, ORG_A, &r, only);
    cr_assert(has_entry(p.cf, &w->ops[b1]->id));
    for (size_t j = 0; j < p.cf->nentries; j++)
      cr_assert_eq(p.cf->entries[j].flags & CRDT_CF_UNSEEN_REVOKED, 0);
    node_close(&p);
  }
  for (int k = 0; k < 3; k++)
    node_close(&nd[k]);
  world_free(w);
}

/* The same, by a device of the revoked org that joins after its last
 * sync: its MEMBER and its entries are all concurrent with the revoke.
 * access.h: the member is void once the revoke is known, the entries are
 * judged as ever (shown) and flagged. casefile.c looks the author up in the
 * access state at the heads, where the voided member binds nothing, and
 * does not flag them. Disabled until that is fixed. */
Test(crdt_access, entry_by_a_device_whose_join_was_voided_is_flagged)
{
  world *w = world_new(19);
  node a;
  gen_rng r;
  int e1 = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e1, now(w));
  size_t gb = put_grant(w, A1, e1, now(w), PAR(g), write_all(ORG_B));
  crdt_keyitem s1 = item(w, e1, CRDT_KEY_SECRET);
  size_t kb = put_keybox(w, A1, ORG_B, &s1, 1, now(w), PAR(gb));
  size_t mb = put_member(w, B1, e1, now(w), PAR(kb));
  size_t b0 = put_content(w, B1, CRDT_OP_CHRONO, e1, now(w), PAR(mb));
  size_t rv = put_revoke_of(w, A1, e1, now(w), PAR(b0), gb);
  size_t mb2 = put_member(w, B2, e1, now(w), PAR(b0));
  size_t b5 = put_content(w, B2, CRDT_OP_CHRONO, e1, now(w), PAR(mb2));
  size_t a3 = put_content(w, A1, CRDT_OP_CHRONO, e1, now(w), PAR(rv, b5));
  const crdt_cf_entry *e;

  gen_seed(&r, 19);
  node_open(&a, w, ORG_A, &r, NULL);
  ASSERT_VD(&a, w, mb2, CRDT_ACC_OK);
  ASSERT_VD(&a, w, b5, CRDT_ACC_OK);
  ASSERT_VD(&a, w, a3, CRDT_ACC_OK);
  cr_assert_null(crdt_access_member(a.cf->access, w->dev[B2].key.pk), "B2's join is void");
  e = crdt_casefile_entry(a.cf, &w->ops[b5]->id);
  cr_assert_not_null(e);
  cr_assert(e->flags & CRDT_CF_UNSEEN_REVOKED, "B2's back-dated entry is not flagged");
  node_close(&a);
  world_free(w);
}

/* ---- 5. the property ----------------------------------------------------- */

/* The devices that act in random histories: both of the holder's, two of
 * B's, one of C's. */
#define NPD 5
#define HIST_MAX 320 /* stop a random history here (a step adds at most 6 ops) */
static const int pdev[NPD] = {A1, A2, B1, B2, C1};

static const uint32_t ctypes[] = {
  CRDT_OP_CHRONO, CRDT_OP_CHRONO, CRDT_OP_CONCERN, CRDT_OP_FIELD_SET, CRDT_OP_TAG_ADD,
  CRDT_OP_ACTION,
};

typedef struct {
  size_t same_past_same_verdict, blind_differs;
  size_t revoke_hidden, concurrent_shown, fork, from_now, expiry, transfer, not_manager,
         wrong_epoch, not_member, ops;
  size_t voided, void_member, void_manager, void_past, rivals, rival_both, rival_holds,
         member_fork, unseen_flagged, seen_unflagged, flag_missed;
} pstats;

static size_t heads_of(const world *w, const uint64_t *kn, size_t *out)
{
  uint64_t cov[NW] = {0};
  size_t k = 0;

  for (size_t i = 0; i < w->n; i++)
    if (bit(kn, i))
      for (size_t x = 0; x < NW; x++)
        cov[x] |= w->m[i].anc[x];
  for (size_t i = 0; i < w->n; i++)
    if (bit(kn, i) && !bit(cov, i)) {
      cr_assert_lt(k, CRDT_PARENTS_MAX);
      out[k++] = i;
    }
  return k;
}

static crdt_hlc_ts tick(world *w, int d)
{
  device *p = &w->dev[d];

  /* Wall clocks wander, sometimes backwards. */
  p->wall = p->wall + gen_below(&w->r, 90000) - 20000;
  return crdt_hlc_now(&p->clock, p->wall);
}

static void sync_from(world *w, int a, int b)
{
  for (size_t i = 0; i < w->n; i++)
    if (bit(w->dev[b].kn, i) && !bit(w->dev[a].kn, i)) {
      int skew;
      set_bit(w->dev[a].kn, i);
      crdt_hlc_recv(&w->dev[a].clock, w->m[i].hlc, w->dev[a].wall, &skew);
    }
}

static void sync_all(world *w)
{
  for (int k = 0; k < 2; k++)
    for (int a = 0; a < NPD; a++)
      for (int b = 0; b < NPD; b++)
        sync_from(w, pdev[a], pdev[b]);
}

/* The epoch a device of org seals with (need: GIVEN_SECRET for content,
 * GIVEN_CONTROL for control ops): the current one when it holds its key,
 * now and then an older one, -1 when it holds none in view. */
static int pick_epoch(world *w, const ostate *s, int org, int need)
{
  int e, best = -1;

  if (s->nmax > 0 && gen_below(&w->r, 25) != 0) {
    e = w->m[s->maxima[gen_below(&w->r, s->nmax)]].decl;
    if (w->given[org][e] >= need)
      return e;
  }
  for (size_t k = 0; k < s->nepo; k++) {
    e = w->m[s->epo[k]].decl;
    if (w->given[org][e] >= need && (best < 0 || gen_below(&w->r, 2)))
      best = e;
  }
  return best;
}

static void p_put_content(world *w, int d, const ostate *s)
{
  size_t par[CRDT_PARENTS_MAX], np;
  int e = pick_epoch(w, s, dev_org[d], GIVEN_SECRET);

  if (e < 0)
    return;
  np = heads_of(w, w->dev[d].kn, par);
  put_content(w, d, ctypes[gen_below(&w->r, sizeof(ctypes) / sizeof(ctypes[0]))], e,
                     tick(w, d), par, np);
}

static void p_member(world *w, int d, const ostate *s)
{
  size_t par[CRDT_PARENTS_MAX], np;
  int e = pick_epoch(w, s, dev_org[d], GIVEN_CONTROL);

  if (e < 0)
    return;
  np = heads_of(w, w->dev[d].kn, par);
  put_member(w, d, e, tick(w, d), par, np);
}

/* A new epoch, and keyboxes for every org d's view says holds the file or
 * a live grant: its secret, plus the older epochs in view (secrets where
 * the org had them, else control keys). */
static void p_rekey(world *w, int d, uint32_t cause)
{
  size_t par[CRDT_PARENTS_MAX], np;
  crdt_keyitem items[CRDT_KEYSET_MAX];
  int to[NORG] = {0}, org = dev_org[d], ne;
  ostate s;

  if (w->nep >= MAXEP)
    return;
  ne = new_epoch(w, org);
  np = heads_of(w, w->dev[d].kn, par);
  put_epoch(w, d, ne, cause, tick(w, d), par, np);
  o_fold(w, &w->god, w->dev[d].kn, &s);
  to[org] = 1;
  if (s.genesis >= 0)
    to[w->m[s.genesis].claim] = 1;
  for (size_t g = 0; g < s.ngr; g++)
    if (!s.rev[g])
      to[w->m[s.gr[g]].g_org] = 1;
  for (int x = 0; x < NORG; x++) {
    size_t k = 0;
    if (!to[x])
      continue;
    items[k++] = item(w, ne, CRDT_KEY_SECRET);
    for (size_t j = 0; j < s.nepo; j++) {
      int e = w->m[s.epo[j]].decl;
      if (e != ne)
        items[k++] = item(w, e, w->given[x][e] == GIVEN_SECRET ? CRDT_KEY_SECRET
                                                               : CRDT_KEY_CONTROL);
    }
    np = heads_of(w, w->dev[d].kn, par);
    put_keybox(w, d, x, items, k, tick(w, d), par, np);
  }
}

static void p_grant(world *w, int d, const ostate *s, int mgr)
{
  size_t par[CRDT_PARENTS_MAX], np;
  crdt_keyitem items[CRDT_KEYSET_MAX];
  grant_args g;
  int e = pick_epoch(w, s, dev_org[d], GIVEN_CONTROL);

  if (e < 0)
    return;
  g.org = ORG_B + (int)gen_below(&w->r, 2);
  if (g.org == dev_org[d])
    g.org = ORG_B + ORG_C - g.org;
  g.rights = gen_below(&w->r, 3) ? CRDT_RIGHTS_WRITE : CRDT_RIGHTS_READ;
  g.history = gen_below(&w->r, 2) ? CRDT_HISTORY_ALL : CRDT_HISTORY_FROM_NOW;
  g.purpose = gen_below(&w->r, 5) == 0 ? CRDT_PURPOSE_TRANSFER : CRDT_PURPOSE_REFERRAL;
  g.expires = gen_below(&w->r, 3) == 0 ? w->dev[d].wall + 60000 + gen_below(&w->r, 900000) : 0;
  np = heads_of(w, w->dev[d].kn, par);
  put_grant(w, d, e, tick(w, d), par, np, g);
  if (!mgr)
    return;
  if (g.history == CRDT_HISTORY_FROM_NOW) {
    p_rekey(w, d, CRDT_CAUSE_GRANT);
    return;
  }
  size_t k = 0;
  for (size_t j = 0; j < s->nepo; j++)
    items[k++] = item(w, w->m[s->epo[j]].decl, CRDT_KEY_SECRET);
  np = heads_of(w, w->dev[d].kn, par);
  put_keybox(w, d, g.org, items, k, tick(w, d), par, np);
}

static void p_revoke(world *w, int d, const ostate *s)
{
  size_t par[CRDT_PARENTS_MAX], np, live[MAXOPS], nl = 0;
  int e = pick_epoch(w, s, dev_org[d], GIVEN_CONTROL);

  for (size_t g = 0; g < s->ngr; g++)
    if (!s->rev[g])
      live[nl++] = (size_t)s->gr[g];
  if (e < 0 || nl == 0)
    return;
  np = heads_of(w, w->dev[d].kn, par);
  put_revoke_of(w, d, e, tick(w, d), par, np, live[gen_below(&w->r, nl)]);
  p_rekey(w, d, CRDT_CAUSE_REVOKE);
}

static void p_step(world *w, int d)
{
  int org = dev_org[d], mgr;
  uint32_t rights;
  ostate s;

  o_fold(w, &w->god, w->dev[d].kn, &s);
  if (s.genesis < 0)
    return;
  rights = o_rights(w, &s, org, w->dev[d].wall, &mgr);
  if (s.bound[d] < 0) {
    if (rights == CRDT_RIGHTS_WRITE || gen_below(&w->r, 5) == 0)
      p_member(w, d, &s);
    else if (gen_below(&w->r, 4) == 0)
      p_put_content(w, d, &s); /* not a member: hidden */
    return;
  }
  if (mgr && gen_below(&w->r, 100) < 30) {
    uint64_t roll = gen_below(&w->r, 10);
    if (s.nmax > 1)
      p_rekey(w, d, CRDT_CAUSE_MERGE);
    else if (roll < 4)
      p_grant(w, d, &s, 1);
    else if (roll < 7)
      p_revoke(w, d, &s);
    else if (roll < 9)
      p_rekey(w, d, roll == 7 ? CRDT_CAUSE_ROTATE : CRDT_CAUSE_EXPIRY);
    else
      p_put_content(w, d, &s);
    return;
  }
  if (!mgr && gen_below(&w->r, 100) < 3) {
    p_grant(w, d, &s, 0); /* not a manager: hidden */
    return;
  }
  if (rights != CRDT_RIGHTS_WRITE && gen_below(&w->r, 100) < 60)
    return; /* most clients respect what they know */
  p_put_content(w, d, &s);
}

/* A random history: a genesis, then steps of syncing and authoring, with
 * a partition window in half of the seeds. snap gets one device's holdings
 * halfway through. */
static void p_history(world *w, uint64_t *snap, size_t steps)
{
  size_t par[CRDT_PARENTS_MAX], np, p0, p1, rival;
  int part = (int)gen_below(&w->r, 2), grp[NDEV] = {0};
  int e1 = new_epoch(w, ORG_A);

  put_genesis(w, A1, e1, tick(w, A1));
  np = heads_of(w, w->dev[A1].kn, par);
  put_content(w, A1, CRDT_OP_FILE_CREATE, e1, tick(w, A1), par, np);
  sync_all(w);
  p0 = gen_below(&w->r, steps);
  p1 = p0 + 10 + gen_below(&w->r, 30);
  /* In a third of the histories the creator's device makes a second,
   * parentless genesis of the same file (in the first epoch or a new one),
   * which its next ops then merge. */
  rival = gen_below(&w->r, 3) == 0 ? gen_below(&w->r, steps) : SIZE_MAX;
  for (int k = 0; k < NPD; k++)
    grp[pdev[k]] = (int)gen_below(&w->r, 2);
  grp[A2] = !grp[A1]; /* both holder devices act while apart */
  for (size_t s = 0; s < steps && w->n < HIST_MAX; s++) {
    int in_part = part && s >= p0 && s < p1;
    int d = pdev[gen_below(&w->r, NPD)], o = pdev[gen_below(&w->r, NPD)];
    uint64_t roll = gen_below(&w->r, 100);
    if (part && s == p1)
      sync_all(w);
    if (s == steps / 2)
      memcpy(snap, w->dev[pdev[gen_below(&w->r, NPD)]].kn, NW * sizeof(uint64_t));
    if (s == rival) {
      int e = gen_below(&w->r, 2) || w->nep >= MAXEP ? e1 : new_epoch(w, ORG_A);
      put_genesis(w, A1, e, tick(w, A1));
    } else if (roll < 20) {
      if (!in_part || grp[d] == grp[o])
        sync_from(w, d, o);
    } else if (roll < 23) {
      if (!in_part)
        sync_all(w);
    } else
      p_step(w, d);
  }
  sync_all(w);
}

static int revoked_in(const world *w, const oview *v, int org, const uint64_t *past)
{
  for (size_t k = 0; k < w->n; k++)
    if ((past == NULL || bit(past, k)) && v->why[k] == CRDT_ACC_OK &&
        w->m[k].type == CRDT_OP_REVOKE && w->m[k].target >= 0 &&
        w->m[w->m[k].target].g_org == org)
      return 1;
  return 0;
}

static int expired_in(const world *w, const oview *v, size_t i)
{
  const opmeta *m = &w->m[i];

  for (size_t j = 0; j < w->n; j++)
    if (bit(m->anc, j) && v->why[j] == CRDT_ACC_OK && w->m[j].type == CRDT_OP_GRANT &&
        w->m[j].g_org == dev_org[m->dev] && w->m[j].g_expires && m->ms >= w->m[j].g_expires)
      return 1;
  return 0;
}

/* The holder's view of a finished history: which interesting cases it has. */
static void p_tally(const world *w, const oview *v, const oview *ov, const keytab *kt,
                    pstats *st)
{
  st->ops += w->n;
  for (size_t i = 0; i < w->n; i++) {
    const opmeta *m = &w->m[i];
    int org = dev_org[m->dev];
    st->fork += v->why[i] == CRDT_ACC_FORK;
    st->not_manager += v->why[i] == CRDT_ACC_NOT_MANAGER;
    st->wrong_epoch += v->why[i] == CRDT_ACC_EPOCH;
    st->not_member += v->why[i] == CRDT_ACC_NOT_MEMBER;
    if (v->why[i] == CRDT_ACC_OK && org != ORG_A &&
        (m->type == CRDT_OP_GRANT || m->type == CRDT_OP_EPOCH))
      st->transfer++;
    if (org != ORG_A && v->why[i] == CRDT_ACC_NO_RIGHTS && revoked_in(w, v, org, m->anc))
      st->revoke_hidden++;
    if (org != ORG_A && v->why[i] == CRDT_ACC_NO_RIGHTS && expired_in(w, v, i))
      st->expiry++;
    if (org != ORG_A && v->why[i] == CRDT_ACC_OK && is_entry_op(m->type) &&
        revoked_in(w, v, org, NULL) && !revoked_in(w, v, org, m->anc))
      st->concurrent_shown++;
    /* Held by the holder, unreadable to a grantee "from now" who has the
     * epoch's control key only. */
    for (int x = ORG_B; x <= ORG_C; x++) {
      int from_now = 0;
      for (size_t j = 0; j < w->n && !from_now; j++)
        from_now = v->why[j] == CRDT_ACC_OK && w->m[j].type == CRDT_OP_GRANT &&
                   w->m[j].g_org == x && w->m[j].g_history == CRDT_HISTORY_FROM_NOW;
      if (from_now && v->why[i] == CRDT_ACC_OK && is_entry_op(m->type) &&
          !ov[x - ORG_B].read[i] && kt_has(&kt[x - ORG_B], w->ep[m->ep].ctl))
        st->from_now++;
    }
    /* The new rules: void access ops, rival geneses, members over a fork. */
    st->void_past += v->why[i] != CRDT_ACC_UNREADABLE && v->nvoid[i] > 0;
    st->rivals += v->why[i] == CRDT_ACC_OK && m->type == CRDT_OP_GENESIS && i != 0;
    st->rival_both += v->ngen[i] > 1;
    st->rival_holds += v->ngen[i] > 1 && v->holder[i] != 0;
    st->member_fork += v->why[i] == CRDT_ACC_OK && m->type == CRDT_OP_MEMBER && v->fork[i];
  }
  {
    uint64_t all[NW];
    ostate s;
    upto(all, w->n);
    o_fold(w, v, all, &s);
    st->voided += s.nvoid;
    for (size_t k = 0; k < s.nvoid; k++) {
      uint32_t t = w->m[s.voided[k]].type;
      st->void_member += t == CRDT_OP_MEMBER;
      st->void_manager += t == CRDT_OP_GRANT || t == CRDT_OP_REVOKE || t == CRDT_OP_EPOCH;
    }
  }
}

/* The node's access state at the heads against the oracle's. */
/* Position of id in the topological order ord[0..n). */
static size_t topo_pos(const crdt_op **ord, size_t n, const crdt_id *id)
{
  size_t k = 0;

  while (k < n && crdt_id_cmp(&ord[k]->id, id) != 0)
    k++;
  cr_assert_lt(k, n);
  return k;
}

/* The lists of an access state are in the promised orders: members by
 * device, grants and epochs as d's topological order has them. */
static void check_orders(crdt_dag *d, const crdt_access *a)
{
  const crdt_op **ord;
  size_t n;

  cr_assert_eq(crdt_dag_topo(d, &ord, &n), BT_OK);
  for (size_t k = 1; k < a->nmembers; k++)
    cr_assert_lt(crdt_id_cmp(&a->members[k - 1].device, &a->members[k].device), 0);
  for (size_t k = 1; k < a->ngrants; k++)
    cr_assert_lt(topo_pos(ord, n, &a->grants[k - 1].op->id),
                 topo_pos(ord, n, &a->grants[k].op->id));
  for (size_t k = 1; k < a->nepochs; k++)
    cr_assert_lt(topo_pos(ord, n, &a->epochs[k - 1].started_by),
                 topo_pos(ord, n, &a->epochs[k].started_by));
  free(ord);
}

static void p_check_access(const world *w, const oview *v, const crdt_access *a, int org)
{
  uint64_t all[NW], ms = 0;
  ostate s;
  size_t nb = 0;

  upto(all, w->n);
  o_fold(w, v, all, &s);
  cr_assert_eq(a->has_genesis, s.genesis >= 0, "seed %" PRIu64 " org %d", w->seed, org);
  cr_assert_eq(a->fork, s.nmax > 1, "seed %" PRIu64 " org %d", w->seed, org);
  if (s.nmax == 1)
    cr_assert_eq(memcmp(a->epoch, w->ep[w->m[s.maxima[0]].decl].id, CRDT_EPOCH_LEN), 0,
                 "seed %" PRIu64 " org %d", w->seed, org);
  cr_assert_eq(a->nepochs, s.nepo, "seed %" PRIu64 " org %d", w->seed, org);
  for (size_t x = 0; x < s.nepo; x++) {
    size_t k = 0;
    while (k < a->nepochs && crdt_id_cmp(&a->epochs[k].started_by, &w->ops[s.epo[x]]->id) != 0)
      k++;
    cr_assert_lt(k, a->nepochs, "seed %" PRIu64 " org %d: epoch op %d", w->seed, org, s.epo[x]);
    cr_assert_eq(memcmp(a->epochs[k].epoch, w->ep[w->m[s.epo[x]].decl].id, CRDT_EPOCH_LEN), 0);
  }
  /* The tips: the epochs no other descends from, one per maximal op. */
  cr_assert_eq(a->ntips, s.nmax, "seed %" PRIu64 " org %d", w->seed, org);
  for (size_t x = 0; x < s.nmax; x++) {
    size_t k = 0;
    while (k < a->ntips &&
           memcmp(a->tips[k], w->ep[w->m[s.maxima[x]].decl].id, CRDT_EPOCH_LEN) != 0)
      k++;
    cr_assert_lt(k, a->ntips, "seed %" PRIu64 " org %d: tip %d", w->seed, org, s.maxima[x]);
  }
  if (s.genesis >= 0) {
    cr_assert_eq(memcmp(a->holder.b, w->org[w->m[s.genesis].claim].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(memcmp(a->holder_box.b, w->org[w->m[s.genesis].claim].box_pk, CRDT_BOX_PK_LEN),
                 0);
  }
  cr_assert_eq(a->ngrants, s.ngr, "seed %" PRIu64 " org %d", w->seed, org);
  for (size_t g = 0; g < s.ngr; g++) {
    size_t k = 0;
    while (k < a->ngrants && crdt_id_cmp(&a->grants[k].op->id, &w->ops[s.gr[g]]->id) != 0)
      k++;
    cr_assert_lt(k, a->ngrants, "seed %" PRIu64 " org %d", w->seed, org);
    cr_assert_eq(!crdt_id_is_zero(&a->grants[k].revoked_by), s.rev[g],
                 "seed %" PRIu64 " org %d grant %d", w->seed, org, s.gr[g]);
  }
  for (int d = 0; d < NDEV; d++) {
    const crdt_acc_member *mm = crdt_access_member(a, w->dev[d].key.pk);
    cr_assert_eq(mm != NULL, s.bound[d] >= 0, "seed %" PRIu64 " org %d dev %d", w->seed, org, d);
    if (mm == NULL)
      continue;
    nb++;
    cr_assert_eq(memcmp(mm->org.b, w->org[s.bound[d]].sign.pk, CRDT_PK_LEN), 0);
    cr_assert_eq(crdt_id_cmp(&mm->via, &w->ops[s.via[d]]->id), 0);
  }
  cr_assert_eq(a->nmembers, nb, "seed %" PRIu64 " org %d", w->seed, org);
  for (size_t i = 0; i < w->n; i++)
    ms = w->m[i].ms > ms ? w->m[i].ms : ms;
  for (int o = 0; o < NORG; o++)
    for (int k = 0; k < 3; k++) {
      uint64_t t = ms - 1800000 + (uint64_t)k * 1800000;
      int m1, m2;
      uint32_t want = o_rights(w, &s, o, t, &m2);
      cr_assert_eq(crdt_access_rights(a, w->org[o].sign.pk, t, &m1), want,
                   "seed %" PRIu64 " node %d rights of %d", w->seed, org, o);
      cr_assert_eq(m1, m2, "seed %" PRIu64 " node %d manager %d", w->seed, org, o);
    }
}

/* access.h, casefile.h: an entry by org X is flagged when some valid revoke
 * of a grant to X never saw it (nor it the revoke). */
static int o_unseen(const world *w, const oview *v, size_t i)
{
  for (size_t q = 0; q < w->n; q++)
    if (valid_in(v, q) && w->m[q].type == CRDT_OP_REVOKE &&
        w->m[w->m[q].target].g_org == v->org[i] && concurrent(w, i, q))
      return 1;
  return 0;
}

/* One org's nodes: the oracle on the first, the same digest and hidden
 * list on the rest, and the same verdicts on a partial replica. */
static void p_check_org(world *w, gen_rng *r, int org, const oview *v, keytab *kt,
                        const uint64_t *snap, int replicas, int *verdicts, pstats *st)
{
  static ostate hs; /* the oracle's state at the heads */
  uint64_t all[NW];
  uint8_t ref[32], dg[32];
  crdt_cf_hidden *h0 = NULL;
  crdt_id *u0 = NULL;
  size_t nh0 = 0, nu0 = 0;

  for (int k = 0; k < replicas; k++) {
    crdt_dag *d = deliver(w, r, NULL);
    crdt_casefile *cf = materialise(w, d, kt);
    cr_assert_eq(crdt_casefile_digest(cf, k ? dg : ref), BT_OK);
    if (k == 0) {
      upto(all, w->n);
      o_fold(w, v, all, &hs);
      for (size_t i = 0; i < w->n; i++) {
        int want = v->read[i] ? (int)v->why[i] : UNREAD, got = verdict(cf, &w->ops[i]->id);
        uint32_t t = w->m[i].type;
        verdicts[i] = got;
        cr_assert_eq(got, want,
                     "seed %" PRIu64 ", org %d node, op %zu (%s by dev %d): got %s, want %s",
                     w->seed, org, i, crdt_optype_name(t), w->m[i].dev, rn(got), rn(want));
        if (got == CRDT_ACC_OK && (t == CRDT_OP_MEMBER || !is_control(t)) && t != CRDT_OP_KEYBOX)
          cr_assert(o_can_write(w, v, i),
                    "seed %" PRIu64 ", org %d node: op %zu (%s) shown without write rights",
                    w->seed, org, i, crdt_optype_name(t));
        if (got == CRDT_ACC_OK && is_entry_op(t)) {
          const crdt_cf_entry *e = crdt_casefile_entry(cf, &w->ops[i]->id);
          int want_f = o_unseen(w, v, i), got_f;
          cr_assert_not_null(e);
          got_f = (e->flags & CRDT_CF_UNSEEN_REVOKED) != 0;
          /* Never a flag the rule does not call for; and every one it calls
           * for while the author's device is bound at the heads. (A device
           * whose MEMBER a revoke voided is bound to nothing at the heads,
           * and casefile.c does not flag its entries: counted, not
           * asserted; see entry_by_a_device_whose_join_was_voided_is_flagged.) */
          cr_assert(!got_f || want_f,
                    "seed %" PRIu64 ", org %d node: entry %zu flagged unseen-revoked", w->seed,
                    org, i);
          if (want_f && !got_f) {
            cr_assert_lt(hs.bound[w->m[i].dev], 0,
                         "seed %" PRIu64 ", org %d node: entry %zu by dev %d not flagged "
                         "unseen-revoked", w->seed, org, i, w->m[i].dev);
            st->flag_missed += org == ORG_A;
          }
          if (org == ORG_A) {
            st->unseen_flagged += got_f;
            st->seen_unflagged += !want_f && dev_org[w->m[i].dev] != ORG_A &&
                                  revoked_in(w, v, dev_org[w->m[i].dev], NULL);
          }
        }
      }
      p_check_access(w, v, cf->access, org);
      check_orders(d, cf->access);
      nh0 = cf->nhidden;
      nu0 = cf->nunknown;
      h0 = malloc((nh0 + 1) * sizeof(*h0));
      u0 = malloc((nu0 + 1) * sizeof(*u0));
      cr_assert(h0 && u0);
      if (nh0)
        memcpy(h0, cf->hidden, nh0 * sizeof(*h0));
      if (nu0)
        memcpy(u0, cf->unknown, nu0 * sizeof(*u0));
    } else {
      cr_assert_eq(memcmp(dg, ref, 32), 0, "seed %" PRIu64 ", org %d: digest differs", w->seed,
                   org);
      cr_assert_eq(cf->nhidden, nh0, "seed %" PRIu64 ", org %d", w->seed, org);
      cr_assert_eq(nh0 ? memcmp(cf->hidden, h0, nh0 * sizeof(*h0)) : 0, 0,
                   "seed %" PRIu64 ", org %d: hidden lists differ", w->seed, org);
      cr_assert_eq(cf->nunknown, nu0, "seed %" PRIu64 ", org %d", w->seed, org);
      cr_assert_eq(nu0 ? memcmp(cf->unknown, u0, nu0 * sizeof(*u0)) : 0, 0,
                   "seed %" PRIu64 ", org %d", w->seed, org);
    }
    crdt_casefile_free(cf);
    crdt_dag_free(d);
  }
  free(h0);
  free(u0);
  /* A replica that stopped halfway: each op it holds is judged as before. */
  if (snap != NULL) {
    crdt_dag *d = deliver(w, r, snap);
    crdt_casefile *cf = materialise(w, d, kt);
    for (size_t i = 0; i < w->n; i++) {
      if (!bit(snap, i))
        continue;
      int want = v->read[i] ? (int)v->why[i] : UNREAD, got = verdict(cf, &w->ops[i]->id);
      cr_assert_eq(got, want, "seed %" PRIu64 ", org %d partial node, op %zu: got %s, want %s",
                   w->seed, org, i, rn(got), rn(want));
    }
    crdt_casefile_free(cf);
    crdt_dag_free(d);
  }
}

/* Hundreds of valid control ops: the evaluation's bitsets span many words
 * and its arena more than one block. Two holder devices work apart and
 * merge now and then (rekeying on a fork); a grantee writes between
 * grants, revokes (some of grants not in their past) and expiries. */
Test(crdt_access, a_long_history_of_control_ops_matches_the_oracle)
{
  static keytab kt;
  static oview v;
  world *w = world_new(14);
  gen_rng r;
  size_t tip[2], nctl = 0;
  uint8_t d1[32], d2[32];
  int e = new_epoch(w, ORG_A);
  size_t g = put_genesis(w, A1, e, now(w));
  size_t fc = put_content(w, A1, CRDT_OP_FILE_CREATE, e, now(w), PAR(g));
  size_t m2 = put_member(w, A2, e, now(w), PAR(fc));
  size_t gb = put_grant(w, A1, e, now(w), PAR(m2), write_all(ORG_B));

  tip[0] = tip[1] = put_member(w, B1, e, now(w), PAR(gb));
  while (w->n < MAXOPS - 4) {
    int side = (int)gen_below(&w->r, 2), dev = side ? A2 : A1;
    uint64_t roll = gen_below(&w->r, 100), P[NW];
    ostate st;
    size_t t;
    memcpy(P, w->m[tip[side]].anc, sizeof(P));
    set_bit(P, tip[side]);
    if (roll < 4) {
      for (size_t x = 0; x < NW; x++)
        P[x] |= w->m[tip[!side]].anc[x];
      set_bit(P, tip[!side]);
    }
    o_fold(w, &w->god, P, &st);
    e = w->m[st.maxima[gen_below(&w->r, st.nmax)]].decl;
    if (roll < 4 && st.nmax > 1)
      t = put_epoch(w, dev, new_epoch(w, ORG_A), CRDT_CAUSE_MERGE, now(w), PAR(tip[0], tip[1]));
    else if (roll < 4)
      t = put_content(w, dev, CRDT_OP_CHRONO, e, now(w), PAR(tip[0], tip[1]));
    else if (roll < 34) {
      grant_args x = ga(ORG_B + (int)gen_below(&w->r, 3), gen_below(&w->r, 4) ? 2 : 1,
                        CRDT_HISTORY_ALL);
      x.expires = gen_below(&w->r, 4) ? 0 : w->t + gen_below(&w->r, 200000);
      t = put_grant(w, dev, e, now(w), PAR(tip[side]), x);
    } else if (roll < 54) {
      size_t k = gen_below(&w->r, w->n);
      while (w->m[k].type != CRDT_OP_GRANT)
        k = (k + 1) % w->n;
      t = put_revoke_of(w, dev, e, now(w), PAR(tip[side]), k);
    } else if (roll < 56 && w->nep < MAXEP - 2)
      t = put_epoch(w, dev, new_epoch(w, ORG_A), CRDT_CAUSE_ROTATE, now(w), PAR(tip[side]));
    else if (roll < 80)
      t = put_content(w, B1, CRDT_OP_CONCERN, e, now(w), PAR(tip[side]));
    else
      t = put_content(w, dev, CRDT_OP_CHRONO, e, now(w), PAR(tip[side]));
    if (roll < 4)
      tip[0] = tip[1] = t;
    else
      tip[side] = t;
  }
  org_keys(w, ORG_A, &kt);
  o_view(w, &kt, &v);
  for (size_t i = 0; i < w->n; i++)
    nctl += v.why[i] == CRDT_ACC_OK && is_control(w->m[i].type);
  cr_assert_gt(nctl, 256, "%zu valid control ops", nctl);
  gen_seed(&r, 14);
  for (int k = 0; k < 2; k++) {
    crdt_dag *d = deliver(w, &r, NULL);
    crdt_casefile *cf = materialise(w, d, &kt);
    if (k == 0) {
      for (size_t i = 0; i < w->n; i++) {
        int want = (int)v.why[i], got = verdict(cf, &w->ops[i]->id);
        cr_assert_eq(got, want, "op %zu (%s): got %s, want %s", i,
                     crdt_optype_name(w->m[i].type), rn(got), rn(want));
      }
      p_check_access(w, &v, cf->access, ORG_A);
      check_orders(d, cf->access);
    }
    cr_assert_eq(crdt_casefile_digest(cf, k ? d2 : d1), BT_OK);
    crdt_casefile_free(cf);
    crdt_dag_free(d);
  }
  cr_assert_eq(memcmp(d1, d2, 32), 0);
  world_free(w);
}

/* access.h: an op's verdict depends on its past alone, so it is the same on
 * every node that can read the control ops of that past. got[x]: what the
 * nodes of org x made of each op (the holder reads everything). */
static void p_same_verdicts(const world *w, const oview *v, int got[3][MAXOPS], pstats *st)
{
  for (int x = 1; x < 3; x++)
    for (size_t i = 0; i < w->n; i++) {
      int blind = 0;
      if (got[x][i] == UNREAD)
        continue;
      for (size_t j = 0; j < w->n && !blind; j++)
        blind = bit(w->m[i].anc, j) && is_control(w->m[j].type) && !v[x].read[j];
      if (blind) {
        st->blind_differs += got[x][i] != got[0][i];
        continue;
      }
      st->same_past_same_verdict++;
      cr_assert_eq(got[x][i], got[0][i], "seed %" PRIu64 ", op %zu: org %d says %s, holder %s",
                   w->seed, i, x, rn(got[x][i]), rn(got[0][i]));
    }
}

/* Seeds [from, to): histories of 50..110 steps, each checked on three
 * nodes per org; then every interesting case must have come up. */
static void p_run(uint64_t from, uint64_t to)
{
  static keytab kt[3];
  static oview v[3];
  static int got[3][MAXOPS];
  pstats st = {0};

  for (uint64_t seed = from; seed < to; seed++) {
    world *w = world_new(seed);
    uint64_t snap[NW] = {0};
    gen_rng r;

    gen_seed(&r, seed ^ 0xACCE55);
    p_history(w, snap, 50 + gen_below(&w->r, 60));
    for (int x = 0; x < 3; x++) {
      org_keys(w, ORG_A + x, &kt[x]);
      o_view(w, &kt[x], &v[x]);
    }
    /* The holder has every key, so every op is readable to it. */
    for (size_t i = 0; i < w->n; i++)
      cr_assert(v[0].read[i], "seed %" PRIu64 " op %zu", seed, i);
    for (int x = 0; x < 3; x++)
      p_check_org(w, &r, ORG_A + x, &v[x], &kt[x], x == (int)(seed % 3) ? snap : NULL,
                  x == 0 ? 3 : 2, got[x], &st);
    p_same_verdicts(w, v, got, &st);
    p_tally(w, &v[0], &v[1], &kt[1], &st);
    world_free(w);
  }
  cr_log_info("seeds %" PRIu64 "..%" PRIu64 ": %zu verdicts compared across orgs, %zu differ "
              "where a grantee cannot read its past's control ops",
              from, to - 1, st.same_past_same_verdict, st.blind_differs);
  cr_log_info("seeds %" PRIu64 "..%" PRIu64 ", ops %zu: revoke-hidden %zu, concurrent-shown %zu, "
              "fork %zu, from-now %zu, expiry %zu, transfer %zu, not-manager %zu, "
              "wrong-epoch %zu, not-member %zu",
              from, to - 1, st.ops, st.revoke_hidden, st.concurrent_shown, st.fork, st.from_now,
              st.expiry, st.transfer, st.not_manager, st.wrong_epoch, st.not_member);
  cr_assert_gt(st.revoke_hidden, 0, "no write hidden by a revoke");
  cr_assert_gt(st.concurrent_shown, 0, "no write concurrent with a revoke");
  cr_assert_gt(st.fork, 0, "no epoch fork");
  cr_assert_gt(st.from_now, 0, "no history-from-now grantee missing old entries");
  cr_assert_gt(st.expiry, 0, "no write hidden by an expiry");
  cr_assert_gt(st.transfer, 0, "no transfer grantee managing");
  cr_assert_gt(st.not_manager, 0);
  cr_assert_gt(st.wrong_epoch, 0);
  cr_assert_gt(st.not_member, 0);
  cr_log_info("seeds %" PRIu64 "..%" PRIu64 ": void at heads %zu (members %zu, manager ops %zu), "
              "ops over a void %zu, rival geneses %zu, ops seeing two %zu (the rival holding "
              "%zu), members over a fork %zu, entries flagged unseen %zu, revoked orgs' entries "
              "not flagged %zu, flags missed (device unbound at the heads) %zu",
              from, to - 1, st.voided, st.void_member, st.void_manager, st.void_past, st.rivals,
              st.rival_both, st.rival_holds, st.member_fork, st.unseen_flagged,
              st.seen_unflagged, st.flag_missed);
  cr_assert_gt(st.voided, 0, "no access op voided by a revoke");
  cr_assert_gt(st.void_member, 0, "no member voided by a revoke");
  cr_assert_gt(st.void_manager, 0, "no manager's grant, revoke or epoch voided");
  cr_assert_gt(st.void_past, 0, "no op judged over a void access op");
  cr_assert_gt(st.rivals, 0, "no rival genesis");
  cr_assert_gt(st.rival_holds, 0, "no op whose past a rival genesis holds");
  cr_assert_gt(st.rival_both - st.rival_holds, 0, "no op over a rival that does not hold");
  cr_assert_gt(st.member_fork, 0, "no member joining over a fork");
  cr_assert_gt(st.unseen_flagged, 0, "no entry flagged unseen-revoked");
  cr_assert_gt(st.seen_unflagged, 0, "no revoked org's entry the revoker had seen");
}

/* Two halves so that the runner's two jobs share the work. */
Test(crdt_access, random_histories_converge_and_match_the_oracle_1)
{
  p_run(1, 101);
}

Test(crdt_access, random_histories_converge_and_match_the_oracle_2)
{
  p_run(101, 201);
}
