/* crdt/directory.c: the LA directory materialised from its public file.
 *
 * Each applied op is judged on its own bytes, so its verdict cannot depend
 * on what else has arrived. The signature check here is what makes the
 * directory trustworthy: the public key lets anyone seal an op, so only
 * the author's signature ties it to the anchor (the DAG checks structure
 * only). Supersession is the one rule across ops: within the listings of
 * one subject, a listing with a descendant listing drops out, which needs
 * only the DAG's ancestry. Everything is sorted before it is exposed. */
#include "directory.h"

#include <stdlib.h>
#include <sodium.h>

#include "access.h"
#include "err.h"
#include "mp.h"

static const char *const reason_names[] = {
  "ok", "envelope", "sig", "author", "unreadable", "type", "cert", "kind", "issuer",
  "selfsigned",
};

const char *crdt_dir_reason_name(uint32_t reason)
{
  return reason < CRDT_DIR_REASON_END ? reason_names[reason] : "unknown";
}

/* An accepted listing, keyed for grouping by subject. */
typedef struct {
  crdt_id subject;
  crdt_id op;
  uint32_t i; /* position in the topological order */
} listing;

typedef struct {
  crdt_dag *d;
  const crdt_op **ord;
  size_t n;
  uint8_t file[CRDT_FILE_LEN];
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint8_t key[CRDT_KEY_LEN];
  const uint8_t *anchor;
  listing *listings;  /* accepted DIR_ORG ops */
  size_t nlistings;
  crdt_directory *dir;
} build;

/* qsort, but fine with an empty (possibly NULL) array. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  if (n > 1)
    qsort(base, n, size, cmp);
}

/* Room for one more item after n of size: the new block, or NULL (a is
 * then untouched). The caller stores the block and the item. */
static void *grow(void *a, size_t n, size_t size)
{
  return realloc(a, (n + 1) * size);
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

/* ---- certificates ------------------------------------------------------ */

/* Decodes a listed certificate and applies the DIR_ORG rules. BT_OK (*out is
 * the caller's), a decode error, BT_ECHAIN, BT_EANCHOR or BT_ESELFSIGNED. */
static int cert_judge(bt_str bytes, const uint8_t anchor[CRDT_PK_LEN], crdt_cert **out)
{
  crdt_cert *c;
  int rc;

  if ((rc = crdt_cert_decode((const uint8_t *)bytes.p, bytes.len, &c)) != 0)
    return rc;
  if (c->b.kind != CRDT_CERT_ORG)
    rc = BT_ECHAIN;
  else if (memcmp(c->b.issuer.b, anchor, CRDT_PK_LEN) != 0)
    rc = BT_EANCHOR;
  else if (memcmp(c->b.subject.b, anchor, CRDT_PK_LEN) == 0)
    rc = BT_ESELFSIGNED;
  if (rc != 0) {
    crdt_cert_free(c);
    return rc;
  }
  *out = c;
  return BT_OK;
}

static uint32_t cert_reason(int rc)
{
  switch (rc) {
  case BT_ECHAIN:
    return CRDT_DIR_KIND;
  case BT_EANCHOR:
    return CRDT_DIR_ISSUER;
  case BT_ESELFSIGNED:
    return CRDT_DIR_SELFSIGNED;
  default:
    return CRDT_DIR_CERT;
  }
}

/* ---- judging ----------------------------------------------------------- */

/* The rules an envelope alone decides, in order. */
static uint32_t envelope_reason(const build *b, const crdt_op *op)
{
  if (memcmp(op->h.file, b->file, CRDT_FILE_LEN) != 0 ||
      memcmp(op->h.epoch, b->epoch, CRDT_EPOCH_LEN) != 0)
    return CRDT_DIR_ENVELOPE;
  if (crdt_op_verify(op) != 0)
    return CRDT_DIR_SIG;
  if (memcmp(op->h.author, b->anchor, CRDT_PK_LEN) != 0)
    return CRDT_DIR_AUTHOR;
  return CRDT_DIR_OK;
}

/* The verdict on ord[i]: *reason, with its body and certificate kept in the
 * directory. Only BT_ENOMEM fails; a bad op is a verdict, not an error. */
static int judge(build *b, uint32_t i, uint32_t *reason)
{
  const crdt_op *op = b->ord[i];
  crdt_body **body = &b->dir->bodies[i];
  int rc;

  if ((*reason = envelope_reason(b, op)) != CRDT_DIR_OK)
    return BT_OK;
  if ((rc = crdt_op_decrypt(op, b->key, body)) != 0) {
    *body = NULL;
    *reason = CRDT_DIR_UNREADABLE;
    return rc == BT_ENOMEM ? rc : BT_OK;
  }
  if (!(*body)->known ||
      ((*body)->type != CRDT_OP_DIR_ORG && (*body)->type != CRDT_OP_DIR_REVOKE)) {
    *reason = CRDT_DIR_TYPE;
    return BT_OK;
  }
  if ((*body)->type == CRDT_OP_DIR_REVOKE)
    return BT_OK;
  rc = cert_judge((*body)->u.dir_org.cert, b->anchor, &b->dir->certs[i]);
  if (rc == BT_ENOMEM)
    return rc;
  if (rc != 0)
    *reason = cert_reason(rc);
  return BT_OK;
}

static int record(build *b, uint32_t i, uint32_t reason)
{
  crdt_directory *dir = b->dir;
  const crdt_body *body = dir->bodies[i];
  crdt_dir_rejected *rj;
  crdt_dir_revocation *rv;
  listing *l;

  if (reason != CRDT_DIR_OK) {
    if ((rj = grow(dir->rejected, dir->nrejected, sizeof(*rj))) == NULL)
      return BT_ENOMEM;
    dir->rejected = rj;
    rj[dir->nrejected++] = (crdt_dir_rejected){b->ord[i]->id, reason};
  } else if (body->type == CRDT_OP_DIR_REVOKE) {
    if ((rv = grow(dir->revocations, dir->nrevocations, sizeof(*rv))) == NULL)
      return BT_ENOMEM;
    dir->revocations = rv;
    rv[dir->nrevocations++] = (crdt_dir_revocation){
      body->u.dir_revoke.subject, body->u.dir_revoke.at, body->u.dir_revoke.reason,
      b->ord[i]->id};
  } else {
    if ((l = grow(b->listings, b->nlistings, sizeof(*l))) == NULL)
      return BT_ENOMEM;
    b->listings = l;
    l[b->nlistings++] = (listing){dir->certs[i]->b.subject, b->ord[i]->id, i};
  }
  return BT_OK;
}

/* ---- renewal ----------------------------------------------------------- */

static int cmp_listing(const void *a, const void *b)
{
  const listing *x = a, *y = b;
  int c = crdt_id_cmp(&x->subject, &y->subject);

  return c ? c : crdt_id_cmp(&x->op, &y->op);
}

/* Whether listing x of one subject's run l[0..n) drops out: it has a
 * descendant listing, or repeats a certificate an earlier one (by op id)
 * still lists. drop[] holds the verdicts on l[0..x). */
static int dropped(build *b, const listing *l, size_t n, size_t x, const uint8_t *drop)
{
  const crdt_cert *const *certs = (const crdt_cert *const *)b->dir->certs;

  for (size_t y = 0; y < n; y++)
    if (crdt_dag_precedes(b->d, &l[x].op, &l[y].op))
      return 1;
  for (size_t y = 0; y < x; y++)
    if (!drop[y] && crdt_id_cmp(&certs[l[x].i]->id, &certs[l[y].i]->id) == 0)
      return 1;
  return 0;
}

/* Sorts the listings by subject and keeps, in place, those that stand;
 * the rest go to superseded. A subject's run is checked pairwise: runs are
 * short (renewals of one org). */
static int settle(build *b)
{
  crdt_directory *dir = b->dir;
  uint8_t *drop = calloc(b->nlistings ? b->nlistings : 1, 1);
  size_t k = 0;
  crdt_id *s;

  if (drop == NULL)
    return BT_ENOMEM;
  sort(b->listings, b->nlistings, sizeof(listing), cmp_listing);
  for (size_t lo = 0, hi; lo < b->nlistings; lo = hi) {
    for (hi = lo + 1; hi < b->nlistings &&
                      crdt_id_cmp(&b->listings[hi].subject, &b->listings[lo].subject) == 0;
         hi++)
      ;
    for (size_t x = lo; x < hi; x++)
      drop[x] = (uint8_t)dropped(b, b->listings + lo, hi - lo, x - lo, drop + lo);
  }
  for (size_t x = 0; x < b->nlistings; x++) {
    if (!drop[x]) {
      b->listings[k++] = b->listings[x];
      continue;
    }
    if ((s = grow(dir->superseded, dir->nsuperseded, sizeof(*s))) == NULL) {
      free(drop);
      return BT_ENOMEM;
    }
    dir->superseded = s;
    s[dir->nsuperseded++] = b->listings[x].op;
  }
  b->nlistings = k;
  free(drop);
  return BT_OK;
}

/* ---- entries and revocations ------------------------------------------- */

static int cmp_revocation(const void *a, const void *b)
{
  const crdt_dir_revocation *x = a, *y = b;
  int c = crdt_id_cmp(&x->subject, &y->subject);

  if (c)
    return c;
  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return crdt_id_cmp(&x->op, &y->op);
}

/* The earliest revocation of subject (the list is sorted), or NULL. */
static const crdt_dir_revocation *revocation_of(const crdt_directory *dir,
                                                const crdt_id *subject)
{
  size_t lo = 0, hi = dir->nrevocations;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (crdt_id_cmp(&dir->revocations[mid].subject, subject) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < dir->nrevocations && crdt_id_cmp(&dir->revocations[lo].subject, subject) == 0)
    return &dir->revocations[lo];
  return NULL;
}

static void fill_entry(const crdt_directory *dir, crdt_dir_entry *e, const crdt_cert *c,
                       const crdt_id *op)
{
  const crdt_dir_revocation *r = revocation_of(dir, &c->id);
  const crdt_dir_revocation *k = revocation_of(dir, &c->b.subject);
  uint64_t now = dir->now_ms;

  if (r == NULL || (k && (k->at < r->at || (k->at == r->at &&
                                             crdt_id_cmp(&k->op, &r->op) < 0))))
    r = k;
  memset(e, 0, sizeof(*e));
  e->cert = c;
  e->listed_by = *op;
  crdt_fingerprint(c->b.subject.b, CRDT_PK_LEN, e->fingerprint);
  e->when = now < c->b.not_before ? CRDT_DIR_NOT_YET
            : now > c->b.not_after ? CRDT_DIR_EXPIRED : CRDT_DIR_CURRENT;
  if (r) {
    e->revoked_by = r->op;
    e->revoked_at = r->at;
    e->revoke_reason = r->reason;
    e->revoked = r->at <= now;
  }
}

static int cmp_str(bt_str x, bt_str y)
{
  size_t n = x.len < y.len ? x.len : y.len;
  int c = n ? memcmp(x.p, y.p, n) : 0;

  return c ? c : (x.len > y.len) - (x.len < y.len);
}

static int cmp_entry(const void *a, const void *b)
{
  const crdt_cert *x = ((const crdt_dir_entry *)a)->cert, *y = ((const crdt_dir_entry *)b)->cert;
  int c = cmp_str(x->b.name, y->b.name);

  if (c == 0)
    c = crdt_id_cmp(&x->b.subject, &y->b.subject);
  return c ? c : crdt_id_cmp(&x->id, &y->id);
}

static int cmp_rejected(const void *a, const void *b)
{
  return crdt_id_cmp(&((const crdt_dir_rejected *)a)->op, &((const crdt_dir_rejected *)b)->op);
}

static int finish(build *b)
{
  crdt_directory *dir = b->dir;

  sort(dir->revocations, dir->nrevocations, sizeof(crdt_dir_revocation), cmp_revocation);
  if ((dir->entries = calloc(b->nlistings ? b->nlistings : 1, sizeof(crdt_dir_entry))) == NULL)
    return BT_ENOMEM;
  for (size_t x = 0; x < b->nlistings; x++)
    fill_entry(dir, &dir->entries[x], dir->certs[b->listings[x].i], &b->listings[x].op);
  dir->nentries = b->nlistings;
  sort(dir->entries, dir->nentries, sizeof(crdt_dir_entry), cmp_entry);
  for (size_t r = 0; r < dir->nrevocations; r++) {
    const crdt_dir_revocation *v = &dir->revocations[r];
    crdt_id *s;
    if (v->at > dir->now_ms ||
        (dir->nrevoked && crdt_id_cmp(&dir->revoked[dir->nrevoked - 1], &v->subject) == 0))
      continue;
    if ((s = grow(dir->revoked, dir->nrevoked, sizeof(*s))) == NULL)
      return BT_ENOMEM;
    dir->revoked = s;
    s[dir->nrevoked++] = v->subject;
  }
  sort(dir->superseded, dir->nsuperseded, sizeof(crdt_id), cmp_id);
  sort(dir->rejected, dir->nrejected, sizeof(crdt_dir_rejected), cmp_rejected);
  return BT_OK;
}

/* ---- the build --------------------------------------------------------- */

static int run(build *b)
{
  crdt_directory *dir = b->dir;
  int rc;

  if ((rc = crdt_dag_topo(b->d, &b->ord, &b->n)) != 0)
    return rc;
  dir->certs = calloc(b->n ? b->n : 1, sizeof(crdt_cert *));
  dir->bodies = calloc(b->n ? b->n : 1, sizeof(crdt_body *));
  if (dir->certs == NULL || dir->bodies == NULL)
    return BT_ENOMEM;
  dir->nowned = dir->nops = b->n;
  for (uint32_t i = 0; i < b->n; i++) {
    uint32_t reason;
    if ((rc = judge(b, i, &reason)) != 0 || (rc = record(b, i, reason)) != 0)
      return rc;
    /* Only revocations keep their body (for the reason's bytes). */
    if (reason != CRDT_DIR_OK || dir->bodies[i]->type != CRDT_OP_DIR_REVOKE) {
      crdt_body_free(dir->bodies[i]);
      dir->bodies[i] = NULL;
    }
  }
  if ((rc = settle(b)) != 0)
    return rc;
  return finish(b);
}

int crdt_directory_build(crdt_dag *d, const uint8_t file[CRDT_FILE_LEN],
                         const uint8_t anchor[CRDT_PK_LEN], uint64_t now_ms,
                         crdt_directory **out)
{
  build b = {.d = d, .anchor = anchor};
  int rc;

  if ((b.dir = calloc(1, sizeof(*b.dir))) == NULL)
    return BT_ENOMEM;
  b.dir->now_ms = now_ms;
  memcpy(b.file, file, CRDT_FILE_LEN);
  crdt_public_epoch(file, b.epoch);
  crdt_public_key(file, b.epoch, b.key); /* public by design: nothing to wipe */
  rc = run(&b);
  free(b.ord);
  free(b.listings);
  if (rc != 0) {
    crdt_directory_free(b.dir);
    return rc;
  }
  *out = b.dir;
  return BT_OK;
}

void crdt_directory_free(crdt_directory *dir)
{
  if (dir == NULL)
    return;
  for (size_t i = 0; i < dir->nowned; i++) {
    crdt_cert_free(dir->certs[i]);
    crdt_body_free(dir->bodies[i]);
  }
  free(dir->certs);
  free(dir->bodies);
  free(dir->entries);
  free(dir->revocations);
  free(dir->revoked);
  free(dir->superseded);
  free(dir->rejected);
  free(dir);
}

static int usable(const crdt_dir_entry *e)
{
  return !e->revoked && e->when == CRDT_DIR_CURRENT;
}

const crdt_dir_entry *crdt_directory_find(const crdt_directory *dir,
                                          const uint8_t org_pk[CRDT_PK_LEN])
{
  const crdt_dir_entry *best = NULL;

  for (size_t x = 0; x < dir->nentries; x++) {
    const crdt_dir_entry *e = &dir->entries[x];
    if (memcmp(e->cert->b.subject.b, org_pk, CRDT_PK_LEN) != 0)
      continue;
    if (best == NULL || usable(e) > usable(best) ||
        (usable(e) == usable(best) &&
         (e->cert->b.not_after > best->cert->b.not_after ||
          (e->cert->b.not_after == best->cert->b.not_after &&
           crdt_id_cmp(&e->cert->id, &best->cert->id) < 0))))
      best = e;
  }
  return best;
}

/* ---- digest ------------------------------------------------------------ */

static int pack_entries(msgpack_packer *pk, const crdt_directory *dir)
{
  int rc;

  if (msgpack_pack_array(pk, dir->nentries) != 0)
    return BT_ENOMEM;
  for (size_t x = 0; x < dir->nentries; x++) {
    const crdt_dir_entry *e = &dir->entries[x];
    if (msgpack_pack_array(pk, 6) != 0)
      return BT_ENOMEM;
    if ((rc = crdt_mp_pack_bin(pk, e->cert->id.b, CRDT_ID_LEN)) != 0 ||
        (rc = crdt_mp_pack_bin(pk, e->listed_by.b, CRDT_ID_LEN)) != 0)
      return rc;
    if (msgpack_pack_uint32(pk, e->when) != 0 || msgpack_pack_int(pk, e->revoked) != 0)
      return BT_ENOMEM;
    if ((rc = crdt_mp_pack_bin(pk, e->revoked_by.b, CRDT_ID_LEN)) != 0)
      return rc;
    if (msgpack_pack_uint64(pk, e->revoked_at) != 0)
      return BT_ENOMEM;
  }
  return BT_OK;
}

static int pack_revocations(msgpack_packer *pk, const crdt_directory *dir)
{
  int rc;

  if (msgpack_pack_array(pk, dir->nrevocations) != 0)
    return BT_ENOMEM;
  for (size_t r = 0; r < dir->nrevocations; r++) {
    const crdt_dir_revocation *v = &dir->revocations[r];
    if (msgpack_pack_array(pk, 4) != 0)
      return BT_ENOMEM;
    if ((rc = crdt_mp_pack_bin(pk, v->subject.b, CRDT_ID_LEN)) != 0)
      return rc;
    if (msgpack_pack_uint64(pk, v->at) != 0)
      return BT_ENOMEM;
    if ((rc = crdt_mp_pack_str(pk, v->reason.p, v->reason.len)) != 0 ||
        (rc = crdt_mp_pack_bin(pk, v->op.b, CRDT_ID_LEN)) != 0)
      return rc;
  }
  return BT_OK;
}

static int pack_rejected(msgpack_packer *pk, const crdt_directory *dir)
{
  int rc;

  if (msgpack_pack_array(pk, dir->nrejected) != 0)
    return BT_ENOMEM;
  for (size_t r = 0; r < dir->nrejected; r++) {
    if ((rc = crdt_mp_pack_bin(pk, dir->rejected[r].op.b, CRDT_ID_LEN)) != 0)
      return rc;
    if (msgpack_pack_uint32(pk, dir->rejected[r].reason) != 0)
      return BT_ENOMEM;
  }
  return BT_OK;
}

int crdt_directory_digest(const crdt_directory *dir, uint8_t out[32])
{
  crypto_generichash_state st;
  msgpack_packer pk;
  int rc = BT_ENOMEM;

  crypto_generichash_init(&st, NULL, 0, 32);
  msgpack_packer_init(&pk, &st, crdt_mp_hash_write);
  if (msgpack_pack_array(&pk, 7) == 0 && msgpack_pack_uint64(&pk, dir->now_ms) == 0 &&
      msgpack_pack_uint64(&pk, dir->nops) == 0 && (rc = pack_entries(&pk, dir)) == 0 &&
      (rc = pack_revocations(&pk, dir)) == 0 &&
      (rc = crdt_mp_pack_ids(&pk, dir->revoked, dir->nrevoked)) == 0 &&
      (rc = crdt_mp_pack_ids(&pk, dir->superseded, dir->nsuperseded)) == 0)
    rc = pack_rejected(&pk, dir);
  if (rc == 0)
    crypto_generichash_final(&st, out, 32);
  sodium_memzero(&st, sizeof(st));
  return rc;
}

/* ---- authoring --------------------------------------------------------- */

int crdt_directory_seal(const uint8_t file[CRDT_FILE_LEN], const uint8_t root_sk[CRDT_SK_LEN],
                        uint64_t seq, const crdt_id *parents, size_t nparents,
                        const crdt_body *b, const uint8_t nonce[CRDT_NONCE_LEN],
                        crdt_op **out)
{
  const uint8_t *root_pk = root_sk + 32; /* libsodium sk = seed || pk */
  crdt_header h = {.version = CRDT_OP_VERSION, .seq = seq, .parents = parents,
                   .nparents = nparents, .hour = crdt_hlc_hour(b->hlc)};
  uint8_t key[CRDT_KEY_LEN];
  crdt_cert *c;
  int rc;

  /* Refuse what the directory would reject, rather than publish it. */
  if (b->type == CRDT_OP_DIR_ORG) {
    if ((rc = cert_judge(b->u.dir_org.cert, root_pk, &c)) != 0)
      return rc;
    crdt_cert_free(c);
  } else if (b->type != CRDT_OP_DIR_REVOKE)
    return BT_EINVAL;
  memcpy(h.file, file, CRDT_FILE_LEN);
  memcpy(h.author, root_pk, CRDT_PK_LEN);
  crdt_public_epoch(file, h.epoch);
  crdt_public_key(file, h.epoch, key);
  return crdt_op_seal(&h, b, key, nonce, root_sk, out);
}
