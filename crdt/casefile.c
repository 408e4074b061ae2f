/* crdt/casefile.c: materialisation.
 *
 * Works over the DAG's deterministic topological order, so when an op is
 * processed every op in its causal past already has been. A register keeps
 * its current writes; a new write drops those it descends from and joins the
 * rest, which are exactly the concurrent ones. Tags do the same with adds
 * and removes. What comes out is a function of the op set alone: the result
 * sets are sorted before they are exposed or hashed. */
#include "casefile.h"

#include <stdlib.h>
#include <sodium.h>

#include "err.h"
#include "mp.h"

typedef struct {
  crdt_id id;
  uint32_t i; /* position in the topological order */
} idpos;

typedef struct {
  bt_str tag;
  uint32_t *adds; /* live adds, topo positions */
  size_t n;
} tagset;

typedef struct {
  crdt_dag *d;
  const crdt_op **ord;
  size_t n;
  crdt_body **bodies;
  idpos *byid;
  int32_t *entry_of;      /* topo position -> entry index or -1 */
  uint32_t *cur[CRDT_FS_END];
  size_t ncur[CRDT_FS_END];
  tagset *tags;
  size_t ntags;
  crdt_casefile *cf;
  crdt_id *orgs;          /* access builds: author org per topo position */
  uint8_t *skip;          /* access builds: ops hidden by the rules */
} build;

/* qsort, but fine with an empty (possibly NULL) array. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  if (n > 1)
    qsort(base, n, size, cmp);
}

static int push_u32(uint32_t **a, size_t *n, uint32_t v)
{
  uint32_t *na = realloc(*a, (*n + 1) * sizeof(**a));

  if (na == NULL)
    return BT_ENOMEM;
  na[(*n)++] = v;
  *a = na;
  return BT_OK;
}

static int push_id(crdt_id **a, size_t *n, const crdt_id *v)
{
  crdt_id *na = realloc(*a, (*n + 1) * sizeof(**a));

  if (na == NULL)
    return BT_ENOMEM;
  na[(*n)++] = *v;
  *a = na;
  return BT_OK;
}

static int cmp_idpos(const void *a, const void *b)
{
  return crdt_id_cmp(&((const idpos *)a)->id, &((const idpos *)b)->id);
}

static int cmp_id(const void *a, const void *b)
{
  return crdt_id_cmp(a, b);
}

static int64_t find(const build *b, const crdt_id *id)
{
  idpos key = {*id, 0};
  const idpos *hit = bsearch(&key, b->byid, b->n, sizeof(idpos), cmp_idpos);

  return hit ? (int64_t)hit->i : -1;
}

static int precedes(build *b, uint32_t x, uint32_t y)
{
  return crdt_dag_precedes(b->d, &b->ord[x]->id, &b->ord[y]->id);
}

/* ---- registers and tags ----------------------------------------------- */

static int reg_write(build *b, uint32_t field, uint32_t i)
{
  uint32_t *c = b->cur[field];
  size_t k = 0;

  for (size_t j = 0; j < b->ncur[field]; j++)
    if (!precedes(b, c[j], i))
      c[k++] = c[j];
  b->ncur[field] = k;
  return push_u32(&b->cur[field], &b->ncur[field], i);
}

static tagset *tag_find(build *b, bt_str tag)
{
  for (size_t j = 0; j < b->ntags; j++)
    if (bt_str_eq(b->tags[j].tag, tag))
      return &b->tags[j];
  return NULL;
}

static int tag_op(build *b, const crdt_body *body, uint32_t i)
{
  tagset *t = tag_find(b, body->u.tag.tag);

  if (body->type == CRDT_OP_TAG_DEL) {
    size_t k = 0;
    for (size_t j = 0; t && j < t->n; j++)
      if (!precedes(b, t->adds[j], i))
        t->adds[k++] = t->adds[j];
    if (t)
      t->n = k;
    return BT_OK;
  }
  if (t == NULL) {
    tagset *nt = realloc(b->tags, (b->ntags + 1) * sizeof(*nt));
    if (nt == NULL)
      return BT_ENOMEM;
    b->tags = nt;
    t = &b->tags[b->ntags++];
    *t = (tagset){body->u.tag.tag, NULL, 0};
  }
  return push_u32(&t->adds, &t->n, i);
}

/* ---- entries and references ------------------------------------------- */

static int is_entry(uint32_t type)
{
  switch (type) {
  case CRDT_OP_CHRONO: case CRDT_OP_CONCERN: case CRDT_OP_REVIEW:
  case CRDT_OP_BODYMAP: case CRDT_OP_REFLECT: case CRDT_OP_ACTION:
  case CRDT_OP_ACTION_DONE: case CRDT_OP_CORRECTION: case CRDT_OP_DECISION:
  case CRDT_OP_COPY: case CRDT_OP_XFER_START: case CRDT_OP_XFER_DELIVERED:
  case CRDT_OP_XFER_ACK: case CRDT_OP_XFER_REJECT: case CRDT_OP_XFER_CLOSE:
    return 1;
  default:
    return 0;
  }
}

static int add_entry(build *b, uint32_t i)
{
  crdt_casefile *cf = b->cf;
  crdt_cf_entry *ne = realloc(cf->entries, (cf->nentries + 1) * sizeof(*ne));

  if (ne == NULL)
    return BT_ENOMEM;
  cf->entries = ne;
  b->entry_of[i] = (int32_t)cf->nentries;
  ne[cf->nentries++] = (crdt_cf_entry){
    b->ord[i], b->bodies[i], crdt_body_event_time(b->bodies[i]), 0, NULL, 0};
  return BT_OK;
}

/* Resolves entry i's reference: to an op of type want (0: any entry type),
 * in i's causal past. On success flags and links the target. */
static int link_ref(build *b, uint32_t i, const crdt_id *target, uint32_t want,
                    uint32_t flag)
{
  crdt_cf_entry *e = &b->cf->entries[b->entry_of[i]];
  int64_t t = find(b, target);
  crdt_cf_entry *te;

  if (t < 0 || b->entry_of[t] < 0 || (want && b->bodies[t]->type != want) ||
      !precedes(b, (uint32_t)t, i)) {
    e->flags |= CRDT_CF_BADREF;
    return BT_OK;
  }
  te = &b->cf->entries[b->entry_of[t]];
  te->flags |= flag;
  return push_id(&te->links, &te->nlinks, &b->ord[i]->id);
}

/* Flags entry i CRDT_CF_BADREF unless target is an applied op of type
 * want in i's causal past (a reference to a control op, not an entry). */
static void past_ref(build *b, uint32_t i, const crdt_id *target, uint32_t want)
{
  int64_t t = find(b, target);

  if (t < 0 || b->bodies[t] == NULL || b->bodies[t]->type != want ||
      !precedes(b, (uint32_t)t, i))
    b->cf->entries[b->entry_of[i]].flags |= CRDT_CF_BADREF;
}

static int resolve_refs(build *b)
{
  int rc = BT_OK;

  for (uint32_t i = 0; i < b->n && rc == BT_OK; i++) {
    const crdt_body *body = b->bodies[i];
    if (b->entry_of[i] < 0)
      continue;
    switch (body->type) {
    case CRDT_OP_REVIEW:
      rc = link_ref(b, i, &body->u.review.concern, CRDT_OP_CONCERN, 0);
      break;
    case CRDT_OP_ACTION_DONE:
      rc = link_ref(b, i, &body->u.done.action, CRDT_OP_ACTION, CRDT_CF_DONE);
      break;
    case CRDT_OP_CORRECTION:
      rc = link_ref(b, i, &body->u.correction.target, 0, CRDT_CF_CORRECTED);
      break;
    case CRDT_OP_XFER_DELIVERED: case CRDT_OP_XFER_ACK: case CRDT_OP_XFER_REJECT:
    case CRDT_OP_XFER_CLOSE:
      rc = link_ref(b, i, &body->u.xnote.transfer, CRDT_OP_XFER_START, 0);
      break;
    case CRDT_OP_XFER_START: /* its grant: an applied grant op in its past */
      past_ref(b, i, &body->u.xfer.grant, CRDT_OP_GRANT);
      break;
    default:
      break;
    }
  }
  return rc;
}

static int cmp_entry(const void *a, const void *b)
{
  const crdt_cf_entry *x = a, *y = b;

  if (x->event_at != y->event_at)
    return x->event_at < y->event_at ? -1 : 1;
  if (x->body->hlc != y->body->hlc)
    return x->body->hlc < y->body->hlc ? -1 : 1;
  return crdt_id_cmp(&x->op->id, &y->op->id);
}

/* ---- the build -------------------------------------------------------- */

static int process(build *b, uint32_t i)
{
  const crdt_body *body = b->bodies[i];
  crdt_casefile *cf = b->cf;
  int rc = BT_OK;

  if (body == NULL || !body->known) {
    cf->nunreadable += body == NULL;
    return push_id(&cf->unknown, &cf->nunknown, &b->ord[i]->id);
  }
  switch (body->type) {
  case CRDT_OP_FILE_CREATE:
  case CRDT_OP_FIELD_SET:
    for (size_t k = 0; k < body->u.fields.n && rc == BT_OK; k++)
      rc = reg_write(b, body->u.fields.v[k].field, i);
    return rc;
  case CRDT_OP_TAG_ADD:
  case CRDT_OP_TAG_DEL:
    return tag_op(b, body, i);
  default:
    return is_entry(body->type) ? add_entry(b, i) : BT_OK;
  }
}

static bt_str value_of(const crdt_body *body, uint32_t field)
{
  for (size_t k = 0; k < body->u.fields.n; k++)
    if (body->u.fields.v[k].field == field)
      return body->u.fields.v[k].value;
  return (bt_str){NULL, 0};
}

static int cmp_value(const void *a, const void *b)
{
  return crdt_id_cmp(&((const crdt_cf_value *)a)->id, &((const crdt_cf_value *)b)->id);
}

static int finish_registers(build *b)
{
  crdt_casefile *cf = b->cf;

  for (uint32_t f = 1; f < CRDT_FS_END; f++) {
    crdt_cf_register *r = &cf->fields[f];
    if (b->ncur[f] == 0)
      continue;
    if ((r->v = calloc(b->ncur[f], sizeof(*r->v))) == NULL)
      return BT_ENOMEM;
    for (size_t k = 0; k < b->ncur[f]; k++) {
      uint32_t i = b->cur[f][k];
      r->v[k] = (crdt_cf_value){value_of(b->bodies[i], f), b->ord[i]->id};
    }
    r->n = b->ncur[f];
    sort(r->v, r->n, sizeof(*r->v), cmp_value);
    for (size_t k = 1; k < r->n && !r->conflict; k++)
      r->conflict = !bt_str_eq(r->v[k].value, r->v[0].value);
    cf->nconflicts += (size_t)r->conflict;
  }
  return BT_OK;
}

static int cmp_str(const void *a, const void *b)
{
  const bt_str *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = n ? memcmp(x->p, y->p, n) : 0;

  return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A valid revoke and the org whose grant it ends. */
typedef struct {
  uint32_t pos;
  crdt_id org;
} revoke_of;

/* Flags each entry by an org (as judged at the entry) whose grant a valid
 * revoke ended, when the entry and that revoke are concurrent (neither saw
 * the other). Every valid revoke counts, not only the first of a grant.
 * Runs before the entries are sorted (entry_of indexes them). */
static int flag_unseen(build *b)
{
  revoke_of *rv = NULL;
  size_t nr = 0;

  for (uint32_t r = 0; r < b->n; r++) {
    const crdt_body *rb = b->bodies[r];
    if (b->skip[r] || rb == NULL || !rb->known || rb->type != CRDT_OP_REVOKE)
      continue;
    int64_t g = find(b, &rb->u.revoke.grant);
    if (g < 0 || b->bodies[g] == NULL || b->bodies[g]->type != CRDT_OP_GRANT)
      continue;
    revoke_of *n = realloc(rv, (nr + 1) * sizeof(*n));
    if (n == NULL) {
      free(rv);
      return BT_ENOMEM;
    }
    rv = n;
    rv[nr++] = (revoke_of){r, b->bodies[g]->u.grant.org};
  }
  for (uint32_t i = 0; nr && i < b->n; i++) {
    if (b->entry_of[i] < 0 || crdt_id_is_zero(&b->orgs[i]))
      continue;
    for (size_t k = 0; k < nr; k++)
      if (crdt_id_cmp(&rv[k].org, &b->orgs[i]) == 0 && !precedes(b, i, rv[k].pos) &&
          !precedes(b, rv[k].pos, i)) {
        b->cf->entries[b->entry_of[i]].flags |= CRDT_CF_UNSEEN_REVOKED;
        break;
      }
  }
  free(rv);
  return BT_OK;
}

static int finish(build *b)
{
  crdt_casefile *cf = b->cf;
  size_t nh = crdt_dag_heads(b->d, NULL, 0);
  int rc;

  if ((rc = finish_registers(b)) != 0 || (rc = resolve_refs(b)) != 0)
    return rc;
  if ((cf->tags = calloc(b->ntags ? b->ntags : 1, sizeof(bt_str))) == NULL)
    return BT_ENOMEM;
  for (size_t j = 0; j < b->ntags; j++)
    if (b->tags[j].n > 0)
      cf->tags[cf->ntags++] = b->tags[j].tag;
  sort(cf->tags, cf->ntags, sizeof(bt_str), cmp_str);
  for (size_t e = 0; e < cf->nentries; e++)
    sort(cf->entries[e].links, cf->entries[e].nlinks, sizeof(crdt_id), cmp_id);
  if (b->orgs && (rc = flag_unseen(b)) != 0) /* before the sort: entry_of */
    return rc;
  sort(cf->entries, cf->nentries, sizeof(crdt_cf_entry), cmp_entry);
  sort(cf->unknown, cf->nunknown, sizeof(crdt_id), cmp_id);
  for (uint32_t i = 0; i < b->n; i++)
    if (crdt_dag_equivocated(b->d, &b->ord[i]->id) &&
        (rc = push_id(&cf->equivocated, &cf->nequivocated, &b->ord[i]->id)) != 0)
      return rc;
  sort(cf->equivocated, cf->nequivocated, sizeof(crdt_id), cmp_id);
  for (size_t e = 0; e < cf->nentries; e++)
    if (crdt_dag_equivocated(b->d, &cf->entries[e].op->id))
      cf->entries[e].flags |= CRDT_CF_EQUIVOCATED;

  if ((cf->heads = calloc(nh ? nh : 1, sizeof(crdt_id))) == NULL)
    return BT_ENOMEM;
  cf->nheads = crdt_dag_heads(b->d, cf->heads, nh);
  return BT_OK;
}

static int run(build *b)
{
  int rc;

  if ((rc = crdt_dag_topo(b->d, &b->ord, &b->n)) != 0)
    return rc;
  b->cf->nops = b->n;
  b->bodies = b->cf->bodies = calloc(b->n ? b->n : 1, sizeof(crdt_body *));
  b->byid = malloc((b->n ? b->n : 1) * sizeof(idpos));
  b->entry_of = malloc((b->n ? b->n : 1) * sizeof(int32_t));
  if (b->bodies == NULL || b->byid == NULL || b->entry_of == NULL)
    return BT_ENOMEM;
  b->cf->nbodies = b->n;
  return BT_OK;
}

static int cmp_hidden(const void *a, const void *b)
{
  return crdt_id_cmp(&((const crdt_cf_hidden *)a)->id, &((const crdt_cf_hidden *)b)->id);
}

/* Opens every op: with the opener, or (access builds) through the access
 * rules, which also decide which ops count. */
static int open_all(build *b, crdt_cf_opener open, void *ctx, const uint8_t *file,
                    crdt_key_lookup key)
{
  crdt_acc_verdict *v;
  int rc;

  for (uint32_t i = 0; i < b->n; i++) {
    b->byid[i] = (idpos){b->ord[i]->id, i};
    b->entry_of[i] = -1;
  }
  sort(b->byid, b->n, sizeof(idpos), cmp_idpos);
  if (open != NULL) {
    for (uint32_t i = 0; i < b->n; i++) {
      /* Unreadable is a property of the op (listed as unknown); running out
       * of memory is not, and must not change what the file shows. */
      int orc = open(ctx, b->ord[i], &b->bodies[i]);
      if (orc == BT_ENOMEM)
        return orc;
      if (orc != 0)
        b->bodies[i] = NULL;
    }
    return BT_OK;
  }
  if ((v = malloc((b->n ? b->n : 1) * sizeof(*v))) == NULL)
    return BT_ENOMEM;
  rc = crdt_access_eval(b->d, b->ord, b->n, file, key, ctx, v, &b->cf->access);
  for (uint32_t i = 0; i < b->n && rc == BT_OK; i++)
    b->bodies[i] = v[i].body; /* all first: the casefile frees (and wipes) them */
  if (rc == BT_OK && (b->orgs = malloc((b->n ? b->n : 1) * sizeof(crdt_id))) == NULL)
    rc = BT_ENOMEM;
  for (uint32_t i = 0; i < b->n && rc == BT_OK; i++)
    b->orgs[i] = v[i].org;
  for (uint32_t i = 0; i < b->n && rc == BT_OK; i++) {
    if (v[i].reason == CRDT_ACC_OK || v[i].reason == CRDT_ACC_UNREADABLE)
      continue;
    crdt_cf_hidden *nh = realloc(b->cf->hidden, (b->cf->nhidden + 1) * sizeof(*nh));
    if (nh == NULL) {
      rc = BT_ENOMEM;
      break;
    }
    b->cf->hidden = nh;
    nh[b->cf->nhidden++] = (crdt_cf_hidden){b->ord[i]->id, v[i].reason};
    b->skip[i] = 1;
  }
  free(v);
  sort(b->cf->hidden, b->cf->nhidden, sizeof(crdt_cf_hidden), cmp_hidden);
  return rc;
}

static int build_any(crdt_dag *d, crdt_cf_opener open, void *ctx, const uint8_t *file,
                     crdt_key_lookup key, crdt_casefile **out)
{
  build b = {.d = d};
  int rc;

  if ((b.cf = calloc(1, sizeof(*b.cf))) == NULL)
    return BT_ENOMEM;
  if ((rc = run(&b)) != 0)
    goto done;
  if ((b.skip = calloc(b.n ? b.n : 1, 1)) == NULL) {
    rc = BT_ENOMEM;
    goto done;
  }
  if ((rc = open_all(&b, open, ctx, file, key)) != 0)
    goto done;
  for (uint32_t i = 0; i < b.n && rc == BT_OK; i++)
    if (!b.skip[i])
      rc = process(&b, i);
  if (rc == BT_OK)
    rc = finish(&b);
done:
  free(b.skip);
  free(b.orgs);
  for (uint32_t f = 0; f < CRDT_FS_END; f++)
    free(b.cur[f]);
  for (size_t j = 0; j < b.ntags; j++)
    free(b.tags[j].adds);
  free(b.tags);
  free(b.byid);
  free(b.entry_of);
  free(b.ord);
  if (rc != 0) {
    crdt_casefile_free(b.cf);
    return rc;
  }
  *out = b.cf;
  return BT_OK;
}

int crdt_casefile_build(crdt_dag *d, crdt_cf_opener open, void *ctx, crdt_casefile **out)
{
  return build_any(d, open, ctx, NULL, NULL, out);
}

int crdt_casefile_build_access(crdt_dag *d, const uint8_t file[CRDT_FILE_LEN],
                               crdt_key_lookup key, void *ctx, crdt_casefile **out)
{
  return build_any(d, NULL, ctx, file, key, out);
}

void crdt_casefile_free(crdt_casefile *cf)
{
  if (cf == NULL)
    return;
  for (size_t i = 0; i < cf->nbodies; i++)
    crdt_body_free(cf->bodies[i]);
  for (size_t e = 0; e < cf->nentries; e++)
    free(cf->entries[e].links);
  for (size_t f = 0; f < CRDT_FS_END; f++)
    free(cf->fields[f].v);
  free(cf->bodies);
  free(cf->entries);
  free(cf->tags);
  free(cf->heads);
  free(cf->unknown);
  free(cf->equivocated);
  free(cf->hidden);
  crdt_access_free(cf->access);
  free(cf);
}

int crdt_cf_open_key(void *ctx, const crdt_op *op, crdt_body **out)
{
  return crdt_op_decrypt(op, ctx, out);
}

const crdt_cf_entry *crdt_casefile_entry(const crdt_casefile *cf, const crdt_id *id)
{
  for (size_t e = 0; e < cf->nentries; e++)
    if (crdt_id_cmp(&cf->entries[e].op->id, id) == 0)
      return &cf->entries[e];
  return NULL;
}

/* ---- digest ----------------------------------------------------------- */

static int pack_fields(msgpack_packer *pk, const crdt_casefile *cf)
{
  int rc;

  if (msgpack_pack_array(pk, CRDT_FS_END - 1) != 0)
    return BT_ENOMEM;
  for (uint32_t f = 1; f < CRDT_FS_END; f++) {
    const crdt_cf_register *r = &cf->fields[f];
    if (msgpack_pack_array(pk, 2 * r->n) != 0)
      return BT_ENOMEM;
    for (size_t k = 0; k < r->n; k++)
      if ((rc = crdt_mp_pack_bin(pk, r->v[k].id.b, CRDT_ID_LEN)) != 0 ||
          (rc = crdt_mp_pack_str(pk, r->v[k].value.p, r->v[k].value.len)) != 0)
        return rc;
  }
  return BT_OK;
}

static int pack_entries(msgpack_packer *pk, const crdt_casefile *cf)
{
  int rc;

  if (msgpack_pack_array(pk, cf->nentries) != 0)
    return BT_ENOMEM;
  for (size_t e = 0; e < cf->nentries; e++) {
    const crdt_cf_entry *x = &cf->entries[e];
    if (msgpack_pack_array(pk, 4) != 0 ||
        (rc = crdt_mp_pack_bin(pk, x->op->id.b, CRDT_ID_LEN)) != 0 ||
        msgpack_pack_uint64(pk, x->event_at) != 0 || msgpack_pack_uint32(pk, x->flags) != 0)
      return BT_ENOMEM;
    if ((rc = crdt_mp_pack_ids(pk, x->links, x->nlinks)) != 0)
      return rc;
  }
  return BT_OK;
}

int crdt_casefile_digest(const crdt_casefile *cf, uint8_t out[32])
{
  crypto_generichash_state st;
  msgpack_packer pk;
  int rc;

  /* Hashed as it is packed: the names in it never sit in a buffer. */
  crypto_generichash_init(&st, NULL, 0, 32);
  msgpack_packer_init(&pk, &st, crdt_mp_hash_write);
  if (msgpack_pack_array(&pk, 7) != 0)
    rc = BT_ENOMEM;
  else if ((rc = crdt_mp_pack_ids(&pk, cf->heads, cf->nheads)) == 0 &&
           (rc = pack_fields(&pk, cf)) == 0 && (rc = pack_entries(&pk, cf)) == 0 &&
           (rc = crdt_mp_pack_ids(&pk, cf->unknown, cf->nunknown)) == 0 &&
           (rc = crdt_mp_pack_ids(&pk, cf->equivocated, cf->nequivocated)) == 0) {
    if (msgpack_pack_array(&pk, cf->ntags) != 0)
      rc = BT_ENOMEM;
    for (size_t t = 0; t < cf->ntags && rc == 0; t++)
      rc = crdt_mp_pack_str(&pk, cf->tags[t].p, cf->tags[t].len);
  }
  if (rc == 0 && msgpack_pack_array(&pk, cf->nhidden) != 0)
    rc = BT_ENOMEM;
  for (size_t h = 0; h < cf->nhidden && rc == 0; h++)
    if ((rc = crdt_mp_pack_bin(&pk, cf->hidden[h].id.b, CRDT_ID_LEN)) == 0 &&
        msgpack_pack_uint32(&pk, cf->hidden[h].reason) != 0)
      rc = BT_ENOMEM;
  if (rc == 0)
    crypto_generichash_final(&st, out, 32);
  sodium_memzero(&st, sizeof(st));
  return rc;
}

const char *crdt_cf_flag_name(uint32_t bit)
{
  switch (bit) {
  case CRDT_CF_EQUIVOCATED: return "equivocated";
  case CRDT_CF_BADREF: return "bad_reference";
  case CRDT_CF_DONE: return "done";
  case CRDT_CF_CORRECTED: return "corrected";
  case CRDT_CF_UNSEEN_REVOKED: return "unseen_by_revoker";
  default: return NULL;
  }
}
