/* crdt/access.c: key derivations, sealed key sets, and the access rules.
 *
 * The evaluation walks the DAG's topological order once. For each op it
 * keeps the set of valid control ops in its strict causal past as a bitset
 * (bit k = the k-th valid control op, in topological order): the parents'
 * sets joined, plus the parents themselves when they are valid control
 * ops. The state for a set is folded from those control ops in bit order
 * and reused while consecutive ops have the same set, which in a file with
 * few access changes is nearly always. */
#include "access.h"

#include <stdlib.h>
#include <sodium.h>

#include "cert.h"
#include "err.h"
#include "hlc.h"

/* ---- derivations ------------------------------------------------------- */

static void hash2(uint8_t *out, size_t outlen, const char *label, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen)
{
  crypto_generichash_state st;

  crypto_generichash_init(&st, NULL, 0, outlen);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label) + 1);
  crypto_generichash_update(&st, a, alen);
  if (blen)
    crypto_generichash_update(&st, b, blen);
  crypto_generichash_final(&st, out, outlen);
}

void crdt_file_id(const uint8_t author[CRDT_PK_LEN], const uint8_t salt[16],
                  uint8_t file[CRDT_FILE_LEN])
{
  hash2(file, CRDT_FILE_LEN, "baton/file", author, CRDT_PK_LEN, salt, 16);
}

void crdt_control_id(const uint8_t epoch[CRDT_EPOCH_LEN], uint8_t out[CRDT_EPOCH_LEN])
{
  hash2(out, CRDT_EPOCH_LEN, "baton/control", epoch, CRDT_EPOCH_LEN, NULL, 0);
}

void crdt_epoch_keys(const uint8_t secret[CRDT_KEY_LEN], uint8_t content[CRDT_KEY_LEN],
                     uint8_t control[CRDT_KEY_LEN])
{
  if (content)
    crypto_kdf_derive_from_key(content, CRDT_KEY_LEN, 1, "btepoch_", secret);
  if (control)
    crypto_kdf_derive_from_key(control, CRDT_KEY_LEN, 2, "btepoch_", secret);
}

void crdt_epoch_id(const uint8_t secret[CRDT_KEY_LEN], uint8_t epoch[CRDT_EPOCH_LEN])
{
  uint8_t k[2][CRDT_KEY_LEN], h[2][32];

  crdt_epoch_keys(secret, k[0], k[1]);
  crypto_generichash(h[0], 32, k[0], CRDT_KEY_LEN, NULL, 0);
  crypto_generichash(h[1], 32, k[1], CRDT_KEY_LEN, NULL, 0);
  hash2(epoch, CRDT_EPOCH_LEN, "baton/epoch-id", h[0], 32, h[1], 32);
  sodium_memzero(k, sizeof(k));
}

void crdt_keybox_tag(const uint8_t box[CRDT_BOX_PK_LEN], uint8_t tag[CRDT_EPOCH_LEN])
{
  hash2(tag, CRDT_EPOCH_LEN, "baton/keybox", box, CRDT_BOX_PK_LEN, NULL, 0);
}

void crdt_public_key(const uint8_t file[CRDT_FILE_LEN], const uint8_t epoch[CRDT_EPOCH_LEN],
                     uint8_t key[CRDT_KEY_LEN])
{
  hash2(key, CRDT_KEY_LEN, "baton/public", file, CRDT_FILE_LEN, epoch, CRDT_EPOCH_LEN);
}

void crdt_public_epoch(const uint8_t file[CRDT_FILE_LEN], uint8_t epoch[CRDT_EPOCH_LEN])
{
  hash2(epoch, CRDT_EPOCH_LEN, "baton/public-epoch", file, CRDT_FILE_LEN, NULL, 0);
}

/* ---- key sets ---------------------------------------------------------- */

/* Layout of the plaintext: n items of kind(1) epoch(16) key(32). */
int crdt_keyset_seal(const crdt_keyitem *items, size_t n, const uint8_t box[CRDT_BOX_PK_LEN],
                     uint8_t **out, size_t *len)
{
  size_t plen = n * CRDT_KEYITEM_LEN, clen = plen + crypto_box_SEALBYTES;
  uint8_t *plain, *ct;
  int rc = BT_OK;

  if (n == 0 || n > CRDT_KEYSET_MAX)
    return BT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (items[i].kind != CRDT_KEY_SECRET && items[i].kind != CRDT_KEY_CONTROL)
      return BT_EINVAL;
  if ((plain = sodium_malloc(plen)) == NULL)
    return BT_ENOMEM;
  if ((ct = malloc(clen)) == NULL) {
    sodium_free(plain);
    return BT_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = plain + i * CRDT_KEYITEM_LEN;
    p[0] = items[i].kind;
    memcpy(p + 1, items[i].epoch, CRDT_EPOCH_LEN);
    memcpy(p + 1 + CRDT_EPOCH_LEN, items[i].key, CRDT_KEY_LEN);
  }
  if (crypto_box_seal(ct, plain, plen, box) != 0)
    rc = BT_EINVAL; /* not a valid public key */
  sodium_free(plain);
  if (rc != 0) {
    free(ct);
    return rc;
  }
  *out = ct;
  *len = clen;
  return BT_OK;
}

int crdt_keyset_open(const uint8_t *sealed, size_t len, const uint8_t box[CRDT_BOX_PK_LEN],
                     const uint8_t box_sk[CRDT_BOX_SK_LEN], crdt_keyitem *items, size_t max,
                     size_t *n)
{
  size_t plen, cnt;
  uint8_t *plain;
  int rc = BT_OK;

  if (len < crypto_box_SEALBYTES || len > CRDT_SEALED_MAX)
    return BT_EDECRYPT;
  plen = len - crypto_box_SEALBYTES;
  if (plen == 0 || plen % CRDT_KEYITEM_LEN != 0)
    return BT_EPROTO;
  cnt = plen / CRDT_KEYITEM_LEN;
  if (cnt > max || cnt > CRDT_KEYSET_MAX)
    return BT_ETOOBIG;
  if ((plain = sodium_malloc(plen)) == NULL)
    return BT_ENOMEM;
  if (crypto_box_seal_open(plain, sealed, len, box, box_sk) != 0)
    rc = BT_EDECRYPT;
  for (size_t i = 0; i < cnt && rc == BT_OK; i++) {
    const uint8_t *p = plain + i * CRDT_KEYITEM_LEN;
    if (p[0] != CRDT_KEY_SECRET && p[0] != CRDT_KEY_CONTROL) {
      rc = BT_EPROTO;
      break;
    }
    items[i].kind = p[0];
    memcpy(items[i].epoch, p + 1, CRDT_EPOCH_LEN);
    memcpy(items[i].key, p + 1 + CRDT_EPOCH_LEN, CRDT_KEY_LEN);
  }
  sodium_free(plain);
  if (rc != BT_OK) {
    sodium_memzero(items, cnt * sizeof(*items));
    return rc;
  }
  *n = cnt;
  return BT_OK;
}

/* ---- names ------------------------------------------------------------- */

const char *crdt_acc_reason_name(uint32_t reason)
{
  static const char *const names[CRDT_ACC_END] = {
    "ok", "unreadable", "not_genesis", "bad_certificate", "not_member", "no_rights",
    "not_manager", "wrong_epoch", "epoch_fork", "bad_reference", "wrong_envelope",
  };
  return reason < CRDT_ACC_END ? names[reason] : "unknown";
}

/* ---- evaluation state -------------------------------------------------- */

typedef struct {
  crdt_id id;
  uint32_t i;
} idpos;

typedef struct {
  uint64_t *w;
  uint32_t nw;
} bits;

typedef struct {
  crdt_dag *d;
  const crdt_op **ord;
  size_t n;
  const uint8_t *file;
  crdt_acc_verdict *v;
  idpos *byid;
  bits *past;            /* per topo position */
  uint32_t *ctl;         /* bit k -> topo position of the k-th valid control op */
  size_t nctl;
  int32_t *bit_of;       /* topo position -> bit, or -1 */
  crdt_acc_member *mem;  /* topo position -> the binding a valid genesis or
                          * member op makes (decoded once, when judged) */
  crdt_id *org;          /* topo position -> its author's org, for valid ops */
  crdt_access st;        /* state for the set in `cur` */
  bits cur;
  int have_cur;
  uint8_t *pubkey;       /* scratch, secure */
  uint8_t *key;
} eval;

static int cmp_idpos(const void *a, const void *b)
{
  return crdt_id_cmp(&((const idpos *)a)->id, &((const idpos *)b)->id);
}

static int64_t pos_of(const eval *e, const crdt_id *id)
{
  idpos k = {*id, 0}, *f = bsearch(&k, e->byid, e->n, sizeof(idpos), cmp_idpos);

  return f ? (int64_t)f->i : -1;
}

static int has_bit(const bits *b, size_t k)
{
  return k / 64 < b->nw && (b->w[k / 64] >> (k % 64) & 1);
}

static int bits_eq(const bits *a, const bits *b)
{
  uint32_t n = a->nw > b->nw ? a->nw : b->nw;

  for (uint32_t k = 0; k < n; k++) {
    uint64_t x = k < a->nw ? a->w[k] : 0, y = k < b->nw ? b->w[k] : 0;
    if (x != y)
      return 0;
  }
  return 1;
}

static void state_clear(crdt_access *a)
{
  free(a->tips);
  free(a->members);
  free(a->grants);
  free(a->epochs);
  memset(a, 0, sizeof(*a));
}

void crdt_access_free(crdt_access *a)
{
  if (a == NULL)
    return;
  state_clear(a);
  free(a);
}

const crdt_acc_member *crdt_access_member(const crdt_access *a, const uint8_t device[CRDT_PK_LEN])
{
  for (size_t k = 0; k < a->nmembers; k++)
    if (memcmp(a->members[k].device.b, device, CRDT_PK_LEN) == 0)
      return &a->members[k];
  return NULL;
}

uint32_t crdt_access_rights(const crdt_access *a, const uint8_t org[CRDT_PK_LEN], uint64_t ms,
                            int *manager)
{
  uint32_t best = 0;
  int mgr = 0;

  if (a->has_genesis && memcmp(a->holder.b, org, CRDT_PK_LEN) == 0) {
    best = CRDT_RIGHTS_WRITE;
    mgr = 1;
  }
  for (size_t k = 0; k < a->ngrants; k++) {
    const crdt_grant *g = a->grants[k].g;
    if (!crdt_acc_grant_live(&a->grants[k], ms) || memcmp(g->org.b, org, CRDT_PK_LEN) != 0)
      continue;
    if (g->rights > best)
      best = g->rights;
    if (g->purpose == CRDT_PURPOSE_TRANSFER && g->rights == CRDT_RIGHTS_WRITE)
      mgr = 1;
  }
  if (manager)
    *manager = mgr;
  return best;
}

/* Decodes the certificates of a genesis or member op: the device must be
 * the op's author and be certified by the org certificate's key. */
static int member_certs(const crdt_op *op, bt_str dev_b, bt_str org_b, crdt_acc_member *m)
{
  crdt_cert *dev = NULL, *org = NULL;
  int ok;

  if (crdt_cert_decode((const uint8_t *)dev_b.p, dev_b.len, &dev) != 0 ||
      crdt_cert_decode((const uint8_t *)org_b.p, org_b.len, &org) != 0) {
    crdt_cert_free(dev);
    crdt_cert_free(org);
    return 0;
  }
  ok = dev->b.kind == CRDT_CERT_DEVICE && org->b.kind == CRDT_CERT_ORG &&
       memcmp(dev->b.subject.b, op->h.author, CRDT_PK_LEN) == 0 &&
       crdt_id_cmp(&dev->b.issuer, &org->b.subject) == 0;
  if (ok) {
    memset(m, 0, sizeof(*m));
    memcpy(m->device.b, op->h.author, CRDT_PK_LEN);
    m->org = org->b.subject;
    m->box = org->b.box;
    memcpy(m->org_name, org->b.name.p, org->b.name.len); /* <= CRDT_STR_MAX */
    m->via = op->id;
  }
  crdt_cert_free(dev);
  crdt_cert_free(org);
  return ok;
}

static int cmp_member(const void *a, const void *b)
{
  return crdt_id_cmp(&((const crdt_acc_member *)a)->device,
                     &((const crdt_acc_member *)b)->device);
}

static int add_member(crdt_access *a, const crdt_acc_member *m)
{
  for (size_t k = 0; k < a->nmembers; k++)
    if (crdt_id_cmp(&a->members[k].device, &m->device) == 0) {
      if (crdt_id_cmp(&m->via, &a->members[k].via) < 0)
        a->members[k] = *m; /* two claims: the smaller op id wins */
      return BT_OK;
    }
  crdt_acc_member *nm = realloc(a->members, (a->nmembers + 1) * sizeof(*nm));
  if (nm == NULL)
    return BT_ENOMEM;
  a->members = nm;
  nm[a->nmembers++] = *m;
  return BT_OK;
}

/* Folds the valid control ops of set s into e->st. */
/* The revokes of a set: which org each one ends a grant of. */
typedef struct {
  crdt_id org;
  uint32_t pos; /* topo position of the revoke */
} rv;

static int in_past(const eval *e, uint32_t of, uint32_t i)
{
  return e->bit_of[i] >= 0 && has_bit(&e->past[of], (size_t)e->bit_of[i]);
}

/* Access ops an org made that a revoke of its grant did not see are void
 * once that revoke is known: its author kept old keys and can always
 * write "before" the revoke, so only what the revoker had seen stands
 * (docs/access.md). */
static int voided(const eval *e, const rv *r, size_t nr, uint32_t i)
{
  for (size_t k = 0; k < nr; k++)
    if (r[k].pos != i && crdt_id_cmp(&r[k].org, &e->org[i]) == 0 &&
        !in_past(e, r[k].pos, i) && !in_past(e, i, r[k].pos))
      return 1; /* concurrent with the revoke */
  return 0;
}

static int collect_revokes(const eval *e, const bits *s, rv **out, size_t *n, uint32_t *genesis)
{
  rv *r = NULL;
  size_t nr = 0;

  *genesis = UINT32_MAX;
  for (size_t k = 0; k < e->nctl; k++) {
    if (!has_bit(s, k))
      continue;
    uint32_t i = e->ctl[k];
    const crdt_body *b = e->v[i].body;
    if (b->type == CRDT_OP_GENESIS &&
        (*genesis == UINT32_MAX || crdt_id_cmp(&e->ord[i]->id, &e->ord[*genesis]->id) < 0))
      *genesis = i; /* two geneses in one past: the smaller id holds */
    if (b->type != CRDT_OP_REVOKE)
      continue;
    for (size_t q = 0; q < e->nctl; q++) {
      uint32_t g = e->ctl[q];
      if (!has_bit(s, q) || e->v[g].body->type != CRDT_OP_GRANT ||
          crdt_id_cmp(&e->ord[g]->id, &b->u.revoke.grant) != 0)
        continue;
      rv *nx = realloc(r, (nr + 1) * sizeof(*nx));
      if (nx == NULL) {
        free(r);
        return BT_ENOMEM;
      }
      r = nx;
      r[nr++] = (rv){e->v[g].body->u.grant.org, i};
    }
  }
  /* A revoke made by an org whose own grant another revoke here ended,
   * concurrently, is void itself and ends nothing. */
  size_t kept = 0;
  for (size_t k = 0; k < nr; k++)
    if (!voided(e, r, nr, r[k].pos))
      r[kept++] = r[k];
  *out = r;
  *n = kept;
  return BT_OK;
}

static int fold(eval *e, const bits *s, crdt_access *a)
{
  size_t *epos = NULL, nep = 0, nr = 0;
  uint32_t genesis;
  rv *r = NULL;
  int rc;

  state_clear(a);
  if ((rc = collect_revokes(e, s, &r, &nr, &genesis)) != 0)
    return rc;
  for (size_t k = 0; k < e->nctl && rc == BT_OK; k++) {
    if (!has_bit(s, k))
      continue;
    uint32_t i = e->ctl[k];
    const crdt_op *op = e->ord[i];
    const crdt_body *b = e->v[i].body;
    crdt_acc_member m;

    if ((b->type == CRDT_OP_GENESIS && i != genesis) || voided(e, r, nr, i))
      continue;
    switch (b->type) {
    case CRDT_OP_GENESIS:
      m = e->mem[i];
      a->has_genesis = 1;
      a->holder = m.org;
      a->holder_box = m.box;
      rc = add_member(a, &m);
      __attribute__((fallthrough)); /* the genesis starts the first epoch */
    case CRDT_OP_EPOCH: {
      crdt_acc_epoch *ne = realloc(a->epochs, (a->nepochs + 1) * sizeof(*ne));
      size_t *np = realloc(epos, (nep + 1) * sizeof(*np));
      if (np)
        epos = np;
      if (ne == NULL || np == NULL) {
        if (ne)
          a->epochs = ne;
        rc = BT_ENOMEM;
        break;
      }
      a->epochs = ne;
      bt_str ep = b->type == CRDT_OP_EPOCH ? b->u.epoch.epoch : b->u.genesis.epoch;
      memcpy(ne[a->nepochs].epoch, ep.p, CRDT_EPOCH_LEN);
      ne[a->nepochs].started_by = op->id;
      ne[a->nepochs].cause = b->type == CRDT_OP_EPOCH ? b->u.epoch.cause : 0;
      a->nepochs++;
      epos[nep++] = i;
      break;
    }
    case CRDT_OP_MEMBER:
      rc = add_member(a, &e->mem[i]);
      break;
    case CRDT_OP_GRANT: {
      crdt_acc_grant *ng = realloc(a->grants, (a->ngrants + 1) * sizeof(*ng));
      if (ng == NULL) {
        rc = BT_ENOMEM;
        break;
      }
      a->grants = ng;
      ng[a->ngrants++] = (crdt_acc_grant){op, &b->u.grant, {{0}}};
      break;
    }
    case CRDT_OP_REVOKE:
      for (size_t g = 0; g < a->ngrants; g++)
        if (crdt_id_cmp(&a->grants[g].op->id, &b->u.revoke.grant) == 0 &&
            (crdt_id_is_zero(&a->grants[g].revoked_by) ||
             crdt_id_cmp(&op->id, &a->grants[g].revoked_by) < 0))
          a->grants[g].revoked_by = op->id;
      break;
    default:
      break;
    }
  }
  if (rc == BT_OK) {
    /* The current epoch: the epoch op no other epoch op in s descends from. */
    size_t maxima = 0, which = 0;
    if (nep && (a->tips = malloc(nep * sizeof(*a->tips))) == NULL)
      rc = BT_ENOMEM;
    for (size_t x = 0; x < nep && rc == BT_OK; x++) {
      int dominated = 0;
      for (size_t y = 0; y < nep && !dominated; y++)
        dominated = x != y && has_bit(&e->past[epos[y]], (size_t)e->bit_of[epos[x]]);
      if (!dominated) {
        memcpy(a->tips[maxima++], a->epochs[x].epoch, CRDT_EPOCH_LEN);
        which = x;
      }
    }
    a->ntips = maxima;
    a->fork = maxima > 1;
    if (maxima >= 1)
      memcpy(a->epoch, a->epochs[which].epoch, CRDT_EPOCH_LEN);
    if (a->nmembers > 1)
      qsort(a->members, a->nmembers, sizeof(*a->members), cmp_member);
  }
  free(epos);
  free(r);
  return rc;
}

/* ---- opening ----------------------------------------------------------- */

/* Opens op: with the key its header epoch names, else with the public key
 * of that epoch. *pub tells which. BT_ENOMEM or 0 (body NULL: unreadable). */
static int open_op(eval *e, crdt_key_lookup key, void *ctx, const crdt_op *op,
                   crdt_body **out, int *pub)
{
  int rc;

  *out = NULL;
  *pub = 0;
  if (key(ctx, op->h.epoch, e->key) == BT_OK) {
    rc = crdt_op_decrypt(op, e->key, out);
    if (rc == BT_ENOMEM)
      return rc;
    if (rc == BT_OK)
      return BT_OK;
  }
  crdt_public_key(e->file, op->h.epoch, e->pubkey);
  rc = crdt_op_decrypt(op, e->pubkey, out);
  if (rc == BT_ENOMEM)
    return rc;
  if (rc == BT_OK)
    *pub = 1;
  else
    *out = NULL;
  return BT_OK;
}

/* ---- judging ----------------------------------------------------------- */

static int epoch_is(const uint8_t *hdr, const uint8_t *epoch, int control)
{
  uint8_t c[CRDT_EPOCH_LEN];

  if (!control)
    return memcmp(hdr, epoch, CRDT_EPOCH_LEN) == 0;
  crdt_control_id(epoch, c);
  return memcmp(hdr, c, CRDT_EPOCH_LEN) == 0;
}

static uint32_t judge_genesis(eval *e, const crdt_op *op, const crdt_body *b,
                              crdt_acc_member *m)
{
  uint8_t fid[CRDT_FILE_LEN];

  if (op->h.nparents != 0 || e->st.has_genesis)
    return CRDT_ACC_GENESIS;
  crdt_file_id(op->h.author, (const uint8_t *)b->u.genesis.salt.p, fid);
  if (memcmp(fid, e->file, CRDT_FILE_LEN) != 0)
    return CRDT_ACC_GENESIS;
  if (!member_certs(op, b->u.genesis.device_cert, b->u.genesis.org_cert, m))
    return CRDT_ACC_CERT;
  return epoch_is(op->h.epoch, (const uint8_t *)b->u.genesis.epoch.p, 1) ? CRDT_ACC_OK
                                                                         : CRDT_ACC_EPOCH;
}

/* Judges op (topo position i) against e->st, the state of its past. */
static uint32_t judge(eval *e, uint32_t i, const crdt_body *b, int pub)
{
  const crdt_op *op = e->ord[i];
  const crdt_access *s = &e->st;
  uint64_t ms = crdt_hlc_ms(b->hlc);
  uint32_t type = b->known ? b->type : 0;
  const crdt_acc_member *m;
  int mgr = 0;
  uint32_t rights;

  if (pub != (type == CRDT_OP_KEYBOX))
    return CRDT_ACC_ENVELOPE;
  if (type == CRDT_OP_DIR_ORG || type == CRDT_OP_DIR_REVOKE)
    return CRDT_ACC_ENVELOPE; /* directory ops belong in a directory file */
  if (type == CRDT_OP_GENESIS) {
    uint32_t r = judge_genesis(e, op, b, &e->mem[i]);
    if (r == CRDT_ACC_OK)
      e->org[i] = e->mem[i].org;
    return r;
  }
  if (!s->has_genesis)
    return CRDT_ACC_NOT_MEMBER;
  if (type == CRDT_OP_MEMBER) {
    if (!member_certs(op, b->u.member.device_cert, b->u.member.org_cert, &e->mem[i]))
      return CRDT_ACC_CERT;
    m = &e->mem[i];
  } else if ((m = crdt_access_member(s, op->h.author)) == NULL)
    return CRDT_ACC_NOT_MEMBER;
  e->org[i] = m->org;
  rights = crdt_access_rights(s, m->org.b, ms, &mgr);
  switch (type) {
  case CRDT_OP_KEYBOX: {
    uint8_t tag[CRDT_EPOCH_LEN];
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    crdt_keybox_tag(b->u.keybox.box.b, tag);
    return memcmp(tag, op->h.epoch, CRDT_EPOCH_LEN) == 0 ? CRDT_ACC_OK : CRDT_ACC_EPOCH;
  }
  case CRDT_OP_EPOCH:
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    for (size_t k = 0; k < s->nepochs; k++)
      if (memcmp(s->epochs[k].epoch, b->u.epoch.epoch.p, CRDT_EPOCH_LEN) == 0)
        return CRDT_ACC_EPOCH; /* an epoch id is never reused */
    return epoch_is(op->h.epoch, (const uint8_t *)b->u.epoch.epoch.p, 1) ? CRDT_ACC_OK
                                                                         : CRDT_ACC_EPOCH;
  case CRDT_OP_GRANT:
  case CRDT_OP_REVOKE:
    if (!mgr)
      return CRDT_ACC_NOT_MANAGER;
    break;
  case CRDT_OP_MEMBER:
    if (rights != CRDT_RIGHTS_WRITE)
      return CRDT_ACC_NO_RIGHTS;
    break;
  default:
    if (rights != CRDT_RIGHTS_WRITE)
      return CRDT_ACC_NO_RIGHTS;
    break;
  }
  if (s->fork && type == CRDT_OP_MEMBER) {
    /* A device new to a forked file joins under either tip's control
     * key, so that it can then merge them. */
    for (size_t k = 0; k < s->ntips; k++)
      if (epoch_is(op->h.epoch, s->tips[k], 1))
        return CRDT_ACC_OK;
    return CRDT_ACC_FORK;
  }
  if (s->fork)
    return CRDT_ACC_FORK;
  if (!epoch_is(op->h.epoch, s->epoch, crdt_optype_control(type)))
    return CRDT_ACC_EPOCH;
  if (type == CRDT_OP_REVOKE) {
    for (size_t k = 0; k < s->ngrants; k++)
      if (crdt_id_cmp(&s->grants[k].op->id, &b->u.revoke.grant) == 0)
        return CRDT_ACC_OK;
    return CRDT_ACC_REF;
  }
  return CRDT_ACC_OK;
}

/* past[i] = union over parents p of past[p], plus p when p is a valid
 * control op. Width: enough for the control ops seen so far. */
static int build_past(eval *e, uint32_t i, uint64_t **arena, size_t *used, size_t *cap)
{
  const crdt_op *op = e->ord[i];
  uint32_t nw = (uint32_t)((e->nctl + 63) / 64);
  uint64_t *w;

  if (nw == 0) { /* no valid control op yet: every past is empty */
    e->past[i] = (bits){NULL, 0};
    return BT_OK;
  }
  if (*used + nw > *cap) {
    /* New block: earlier slices stay valid, blocks are kept on a list. */
    size_t ncap = nw > 4096 ? nw : 4096;
    uint64_t *blk = calloc(ncap + 1, sizeof(uint64_t));
    if (blk == NULL)
      return BT_ENOMEM;
    blk[0] = (uint64_t)(uintptr_t)*arena; /* link to the previous block */
    *arena = blk;
    *used = 1;
    *cap = ncap + 1;
  }
  w = *arena + *used;
  *used += nw;
  memset(w, 0, nw * sizeof(uint64_t));
  for (size_t k = 0; k < op->h.nparents; k++) {
    int64_t p = pos_of(e, &op->h.parents[k]);
    if (p < 0)
      continue; /* cannot happen for an applied op */
    const bits *pb = &e->past[p];
    for (uint32_t x = 0; x < pb->nw; x++)
      w[x] |= pb->w[x];
    if (e->bit_of[p] >= 0)
      w[e->bit_of[p] / 64] |= UINT64_C(1) << (e->bit_of[p] % 64);
  }
  e->past[i] = (bits){w, nw};
  return BT_OK;
}

static void free_arena(uint64_t *blk)
{
  while (blk) {
    uint64_t *prev = (uint64_t *)(uintptr_t)blk[0];
    free(blk);
    blk = prev;
  }
}

static int heads_state(eval *e, crdt_access **out)
{
  uint32_t nw = (uint32_t)((e->nctl + 63) / 64);
  bits s = {calloc(nw ? nw : 1, sizeof(uint64_t)), nw};
  crdt_access *a = calloc(1, sizeof(*a));
  size_t nh = crdt_dag_heads(e->d, NULL, 0);
  crdt_id *h = calloc(nh ? nh : 1, sizeof(crdt_id));
  int rc = BT_ENOMEM;

  if (s.w && a && h) {
    crdt_dag_heads(e->d, h, nh);
    for (size_t k = 0; k < nh; k++) {
      int64_t p = pos_of(e, &h[k]);
      if (p < 0)
        continue;
      for (uint32_t x = 0; x < e->past[p].nw; x++)
        s.w[x] |= e->past[p].w[x];
      if (e->bit_of[p] >= 0)
        s.w[e->bit_of[p] / 64] |= UINT64_C(1) << (e->bit_of[p] % 64);
    }
    rc = fold(e, &s, a);
  }
  free(s.w);
  free(h);
  if (rc != BT_OK) {
    crdt_access_free(a);
    return rc;
  }
  *out = a;
  return BT_OK;
}

int crdt_access_eval(crdt_dag *d, const crdt_op **ord, size_t n,
                     const uint8_t file[CRDT_FILE_LEN], crdt_key_lookup key, void *ctx,
                     crdt_acc_verdict *v, crdt_access **out)
{
  eval e = {.d = d, .ord = ord, .n = n, .file = file, .v = v};
  uint64_t *arena = NULL;
  size_t used = 0, cap = 0;
  int rc = BT_OK;

  memset(v, 0, n * sizeof(*v));
  e.byid = malloc((n ? n : 1) * sizeof(idpos));
  e.past = calloc(n ? n : 1, sizeof(bits));
  e.ctl = malloc((n ? n : 1) * sizeof(uint32_t));
  e.bit_of = malloc((n ? n : 1) * sizeof(int32_t));
  e.mem = calloc(n ? n : 1, sizeof(crdt_acc_member));
  e.org = calloc(n ? n : 1, sizeof(crdt_id));
  e.key = sodium_malloc(CRDT_KEY_LEN);
  e.pubkey = sodium_malloc(CRDT_KEY_LEN);
  if (!e.byid || !e.past || !e.ctl || !e.bit_of || !e.mem || !e.org || !e.key || !e.pubkey) {
    rc = BT_ENOMEM;
    goto done;
  }
  for (uint32_t i = 0; i < n; i++) {
    e.byid[i] = (idpos){ord[i]->id, i};
    e.bit_of[i] = -1;
  }
  qsort(e.byid, n, sizeof(idpos), cmp_idpos);
  for (uint32_t i = 0; i < n && rc == BT_OK; i++) {
    int pub;
    if ((rc = build_past(&e, i, &arena, &used, &cap)) != 0 ||
        (rc = open_op(&e, key, ctx, ord[i], &v[i].body, &pub)) != 0)
      break;
    if (v[i].body == NULL) {
      v[i].reason = CRDT_ACC_UNREADABLE;
      continue;
    }
    if (!e.have_cur || !bits_eq(&e.cur, &e.past[i])) {
      if ((rc = fold(&e, &e.past[i], &e.st)) != 0)
        break;
      e.cur = e.past[i];
      e.have_cur = 1;
    }
    v[i].reason = judge(&e, i, v[i].body, pub);
    if (v[i].reason == CRDT_ACC_OK)
      v[i].org = e.org[i];
    if (v[i].reason == CRDT_ACC_OK && v[i].body->known &&
        crdt_optype_control(v[i].body->type)) {
      e.bit_of[i] = (int32_t)e.nctl;
      e.ctl[e.nctl++] = i;
    }
  }
  if (rc == BT_OK && out)
    rc = heads_state(&e, out);
done:
  state_clear(&e.st);
  free_arena(arena);
  free(e.byid);
  free(e.past);
  free(e.ctl);
  free(e.bit_of);
  free(e.mem);
  free(e.org);
  sodium_free(e.key);
  sodium_free(e.pubkey);
  if (rc != BT_OK)
    for (size_t i = 0; i < n; i++) {
      crdt_body_free(v[i].body);
      v[i].body = NULL;
    }
  return rc;
}
