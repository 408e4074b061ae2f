/* node/extract.c: consent-scoped extracts, links back, provenance checks.
 *
 * Chosen entries are encoded (canonical, so byte-equal to what the source
 * op decrypts to) before anything is written: the materialised file they
 * come from is borrowed and a write to the store would invalidate it.
 * Everything node_grant_as and the other ops would refuse is checked
 * before the extract is created, so a refused extract leaves no file. */
#include "node/share.h"

#include <msgpack.h>
#include <stdlib.h>
#include <sodium.h>

#include "crdt/cert.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/mp.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/store_int.h"
#include "node/transfer.h"


typedef struct {
  crdt_id source;
  msgpack_sbuffer body; /* plaintext: secure buffer, wiped when freed */
} copied;

static void copies_free(copied *c, size_t n)
{
  for (size_t i = 0; i < n; i++)
    crdt_mp_secure_destroy(&c[i].body);
  free(c);
}

/* out->body is initialised whatever happens: the caller destroys it. */
static int encode_entry(const crdt_casefile *cf, const crdt_id *id, copied *out)
{
  const crdt_cf_entry *e = crdt_casefile_entry(cf, id);
  int rc;

  msgpack_sbuffer_init(&out->body);
  if (e == NULL)
    return BT_ENOTFOUND;
  out->source = *id;
  if ((rc = crdt_body_encode(e->body, &out->body)) != 0)
    return rc;
  return out->body.size > CRDT_COPY_MAX ? BT_ETOOBIG : BT_OK;
}

/* The first value of a front-sheet register (a conflict copies its
 * smallest-id value; the DSL resolves conflicts in the main file). */
static bt_str first(const crdt_casefile *cf, uint32_t f)
{
  return cf->fields[f].n ? cf->fields[f].v[0].value : (bt_str){NULL, 0};
}

static int copy_op(node_store *s, const char *user, node_role role, const uint8_t *into,
                   const uint8_t *from, const copied *c, crdt_id *id)
{
  crdt_body b = {.type = CRDT_OP_COPY, .known = 1};

  b.u.copy = (crdt_copy){{(const char *)from, CRDT_FILE_LEN}, c->source,
                         {c->body.data, c->body.size}};
  return node_author_as(s, user, role, into, &b, id);
}

/* Only the org that holds the file shares it (node_grant_as's rule; the
 * decision op goes into it). */
static int check_holder(const node_store *s, const crdt_casefile *cf, uint64_t ms)
{
  int manager = 0;

  if (!s->has_org || cf->access == NULL || !cf->access->has_genesis)
    return BT_EDENIED;
  if (crdt_access_rights(cf->access, s->org_pk.b, ms, &manager) != CRDT_RIGHTS_WRITE ||
      !manager)
    return BT_EDENIED;
  return BT_OK;
}

/* Encodes the chosen entries and copies the child's identity out of the
 * borrowed main file, checking each copy as its op will be checked. */
static int gather(const crdt_casefile *cf, const uint8_t *file, const crdt_id *entries,
                  size_t n, copied *c, char names[3][CRDT_STR_MAX], crdt_fieldval fv[3])
{
  static const uint32_t fs[3] = {CRDT_FS_GIVEN, CRDT_FS_FAMILY, CRDT_FS_DOB};
  int rc = BT_OK;

  for (size_t i = 0; i < n && rc == BT_OK; i++) {
    crdt_copy r;
    if ((rc = encode_entry(cf, &entries[i], &c[i])) != 0)
      break;
    r = (crdt_copy){{(const char *)file, CRDT_FILE_LEN}, c[i].source,
                    {c[i].body.data, c[i].body.size}};
    rc = crdt_rec_check(crdt_body_schema(CRDT_OP_COPY), &r);
  }
  for (int k = 0; k < 3 && rc == BT_OK; k++) {
    bt_str v = first(cf, fs[k]);
    if (v.len == 0 || v.len > CRDT_STR_MAX)
      return BT_EMISSING;
    memcpy(names[k], v.p, v.len);
    fv[k] = (crdt_fieldval){fs[k], {names[k], v.len}};
  }
  return rc;
}

int node_extract_as(node_store *s, const char *user, node_role role,
                    const uint8_t file[CRDT_FILE_LEN], const crdt_id *entries, size_t n,
                    const node_grant_req *g, uint8_t extract[CRDT_FILE_LEN])
{
  const crdt_casefile *cf;
  crdt_fieldval fv[3];
  char names[3][CRDT_STR_MAX];
  crdt_body create = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  crdt_body tag = {.type = CRDT_OP_TAG_ADD, .known = 1};
  crdt_body d = {.type = CRDT_OP_DECISION, .known = 1};
  crdt_cert *pc = NULL;
  copied *c = NULL;
  crdt_body *ops = NULL, **bodies = NULL;
  uint32_t retain = 0;
  uint64_t ms = node__now_ms(s);
  crdt_id grant;
  int rc;

  if (!node_may(role, NODE_DO_SHARE))
    return BT_EDENIED;
  if (n == 0 || n > 10000)
    return BT_EINVAL;
  crdt_grant gr; /* what node_grant_as would refuse, refused before anything exists */
  if ((rc = node__grant_check(s, user, g, ms, &pc, &gr)) != 0)
    goto out;
  /* The main file records the decision to share, and with whom. */
  d.u.decision = (crdt_decision){
    .decision = CRDT_DECIDE_SHARE, .with_whom = pc->b.name, .purpose = g->purpose,
    .reason = bt_strz(g->basis == CRDT_BASIS_CONSENT ? "extract shared with consent"
                                                     : g->reason),
    .decided_by = bt_strz(user), .decided_on = crdt_date_from_ms(ms)};
  if ((rc = crdt_rec_check(crdt_body_schema(CRDT_OP_DECISION), &d.u.decision)) != 0)
    goto out;
  if ((c = calloc(n, sizeof(*c))) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  if ((rc = node_transfer_retention(s, file, crdt_date_from_ms(ms), &retain)) != 0)
    goto out;
  if ((rc = node_casefile(s, file, &cf)) != 0 || (rc = check_holder(s, cf, ms)) != 0 ||
      (rc = gather(cf, file, entries, n, c, names, fv)) != 0)
    goto out;
  /* What this org's retention choice hides after a transfer is not shared. */
  for (size_t k = 0; k < n && rc == BT_OK; k++) {
    const crdt_cf_entry *e = crdt_casefile_entry(cf, &entries[k]);
    if (e == NULL || !node_transfer_keeps(retain, e->body->type))
      rc = BT_ENOTFOUND;
  }
  if (rc != BT_OK)
    goto out;
  /* Everything checked: from here on only the store can fail. The tag
   * marks the file as an extract (share.h), so counts skip it. */
  create.u.fields = (crdt_fields){fv, 3};
  tag.u.tag = (crdt_tag){BT_STR(NODE_EXTRACT_TAG)};
  if ((rc = node_file_create_as(s, user, role, &create, extract, NULL)) != 0)
    goto out;
  /* The tag and every copy in one transaction, under one access check. */
  if ((bodies = calloc(n + 1, sizeof(*bodies))) == NULL ||
      (ops = calloc(n + 1, sizeof(*ops))) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  ops[0] = tag;
  bodies[0] = &ops[0];
  for (size_t i = 0; i < n; i++) {
    ops[i + 1] = (crdt_body){.type = CRDT_OP_COPY, .known = 1};
    ops[i + 1].u.copy = (crdt_copy){{(const char *)file, CRDT_FILE_LEN}, c[i].source,
                                    {c[i].body.data, c[i].body.size}};
    bodies[i + 1] = &ops[i + 1];
  }
  rc = node__author_many(s, extract, user, bodies, n + 1);
  if (rc == BT_OK)
    rc = node_grant_as(s, user, role, extract, g, &grant);
  if (rc == BT_OK)
    rc = node_author_as(s, user, role, file, &d, NULL);
  if (rc == BT_OK) { /* the grant and the decision were audited with their ops */
    char x[8 + 2 * CRDT_FILE_LEN + 1];
    memcpy(x, "extract ", 8);
    sodium_bin2hex(x + 8, sizeof x - 8, extract, CRDT_FILE_LEN);
    rc = node_audit_add(s, user, NODE_AUDIT_EXTRACT, file, x);
  }
out:
  sodium_memzero(names, sizeof(names));
  free(bodies);
  free(ops); /* bodies borrowed the copies' buffers: wiped below */
  if (c)
    copies_free(c, n);
  crdt_cert_free(pc);
  return rc;
}

int node_extract_link_as(node_store *s, const char *user, node_role role,
                         const uint8_t file[CRDT_FILE_LEN],
                         const uint8_t extract[CRDT_FILE_LEN], const crdt_id *reply,
                         crdt_id *out)
{
  const crdt_casefile *cf;
  copied c;
  int rc;

  if (!node_may(role, NODE_DO_WRITE_FILE))
    return BT_EDENIED;
  if ((rc = node_casefile(s, extract, &cf)) != 0)
    return rc;
  /* Whatever copy_op returns, the plaintext encoded here is wiped. */
  if ((rc = encode_entry(cf, reply, &c)) == BT_OK)
    rc = copy_op(s, user, role, file, extract, &c, out);
  crdt_mp_secure_destroy(&c.body);
  return rc;
}

int node_copy_verify(node_store *s, const crdt_cf_entry *copy)
{
  const crdt_copy *c = &copy->body->u.copy;
  msgpack_sbuffer enc;
  crdt_body *body = NULL;
  node_secret *key = NULL;
  crdt_op *op = NULL;
  MDB_txn *t;
  int rc;

  if (copy->body->type != CRDT_OP_COPY)
    return BT_EINVAL;
  if ((rc = node_op_get(s, &c->source, &op)) != 0)
    return rc == BT_ENOTFOUND ? BT_ENOTFOUND : rc;
  if (memcmp(op->h.file, c->from_file.p, CRDT_FILE_LEN) != 0) {
    crdt_op_free(op);
    return BT_EFILE;
  }
  if ((rc = node__txn(s, MDB_RDONLY, &t)) == 0) {
    rc = node__epoch_key(s, t, op->h.file, op->h.epoch, &key);
    mdb_txn_abort(t);
  }
  if (rc == 0 && crdt_op_decrypt(op, node_secret_bytes(key), &body) != 0)
    rc = BT_EEPOCH;
  msgpack_sbuffer_init(&enc);
  if (rc == 0 && (rc = crdt_body_encode(body, &enc)) == 0)
    rc = enc.size == c->body.len && sodium_memcmp(enc.data, c->body.p, enc.size) == 0
           ? BT_OK : BT_EINVAL;
  crdt_mp_secure_destroy(&enc);
  crdt_body_free(body);
  node_secret_free(key);
  crdt_op_free(op);
  return rc;
}
