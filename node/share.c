/* node/share.c: authoring under the access rules; grants, revokes, epochs
 * and keyboxes.
 *
 * Every write goes through write_begin: it reads the access state at the
 * heads (the materialised file), refuses what the rules would hide anyway
 * (no write rights: BT_EDENIED), and inside the write transaction first
 * authors what the next op needs: a member op binding this device to its
 * org, a merge epoch when concurrent rekeys forked the file, and the
 * revocation of grants that have expired. */
#include "node/share.h"
#include "node/scope.h"

#include <sodium.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/store_int.h"

typedef struct {
  node_store *s;
  MDB_txn *t;
  const uint8_t *file;
  const crdt_access *a;   /* at the heads before this write; borrowed */
  bt_str user;
  int manager;
  crdt_id gone[64];       /* grants revoked as expired in this transaction */
  size_t ngone;
  uint8_t fresh[8][CRDT_EPOCH_LEN]; /* epochs started in this transaction */
  size_t nfresh;
} wctx;

int node_access(node_store *s, const uint8_t file[CRDT_FILE_LEN], const crdt_access **out)
{
  const crdt_casefile *cf;
  int rc;

  if ((rc = node_casefile(s, file, &cf)) != 0)
    return rc;
  if (cf->access == NULL || !cf->access->has_genesis)
    return BT_EEPOCH; /* we cannot read the file's access ops */
  *out = cf->access;
  return BT_OK;
}

static int author(wctx *w, crdt_body *b, crdt_id *id)
{
  b->user = w->user;
  return node__author_txn(w->s, w->t, w->file, b, id);
}

static int set_epoch(wctx *w, const uint8_t *epoch)
{
  filerec r;
  int rc;

  if ((rc = node__filerec_get(w->s, w->t, w->file, &r)) != 0)
    return rc;
  if (memcmp(r.epoch, epoch, CRDT_EPOCH_LEN) == 0)
    return BT_OK;
  memcpy(r.epoch, epoch, CRDT_EPOCH_LEN);
  return node__filerec_put(w->s, w->t, w->file, &r);
}

/* Keyboxes for an org, sealing items to its box key. */
static int keybox(wctx *w, const crdt_id *org, const crdt_id *box, const crdt_keyitem *items,
                  size_t n)
{
  return node__keybox_txn(w->s, w->t, w->file, w->user, org, box, items, n);
}

/* Whether org keeps access at ms once the grants in gone[] are revoked. */
static int keeps_access(const crdt_access *a, const crdt_id *org, uint64_t ms,
                        const crdt_id *gone, size_t ngone)
{
  if (crdt_id_cmp(org, &a->holder) == 0)
    return 1;
  for (size_t k = 0; k < a->ngrants; k++) {
    const crdt_acc_grant *g = &a->grants[k];
    if (crdt_id_cmp(&g->g->org, org) != 0 || !crdt_acc_grant_live(g, ms))
      continue;
    int ended = 0;
    for (size_t x = 0; x < ngone && !ended; x++)
      ended = crdt_id_cmp(&g->op->id, &gone[x]) == 0;
    if (!ended)
      return 1;
  }
  return 0;
}

/* Starts a new epoch: the epoch op, then a keybox with its secret for
 * every org that keeps access (the holder, this org, live grantees), except
 * those whose grants are in gone[]. */
static int rekey(wctx *w, uint32_t cause, const crdt_id *gone, size_t ngone, uint64_t ms,
                 uint8_t epoch[CRDT_EPOCH_LEN])
{
  const crdt_access *a = w->a;
  crdt_body b = {.type = CRDT_OP_EPOCH, .known = 1};
  node_secret *secret = NULL;
  crdt_keyitem *item;
  crdt_id done[64];
  size_t ndone = 0;
  int rc;

  if ((item = sodium_malloc(sizeof(*item))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_secret_random(&secret, CRDT_KEY_LEN)) != 0)
    goto out;
  crdt_epoch_id(node_secret_bytes(secret), epoch); /* the id commits to the keys */
  if ((rc = node__track_txn(w->s, w->t, w->file, epoch, node_secret_bytes(secret))) != 0)
    goto out;
  b.u.epoch = (crdt_epoch){{(const char *)epoch, CRDT_EPOCH_LEN}, cause};
  if ((rc = author(w, &b, NULL)) != 0 || (rc = set_epoch(w, epoch)) != 0)
    goto out;
  if (w->nfresh < sizeof(w->fresh) / sizeof(w->fresh[0]))
    memcpy(w->fresh[w->nfresh++], epoch, CRDT_EPOCH_LEN);
  item->kind = CRDT_KEY_SECRET;
  memcpy(item->epoch, epoch, CRDT_EPOCH_LEN);
  memcpy(item->key, node_secret_bytes(secret), CRDT_KEY_LEN);
  /* The holder and this org first, then each grantee org once. */
  const crdt_id *orgs[2] = {&a->holder, &w->s->org_pk};
  const crdt_id *boxes[2] = {&a->holder_box, &w->s->box_pk};
  for (int k = 0; k < 2 && rc == BT_OK; k++) {
    if (k == 1 && crdt_id_cmp(orgs[0], orgs[1]) == 0)
      break;
    rc = keybox(w, orgs[k], boxes[k], item, 1);
    done[ndone++] = *orgs[k];
  }
  for (size_t g = 0; g < a->ngrants && rc == BT_OK; g++) {
    const crdt_id *org = &a->grants[g].g->org;
    int skip = 0;
    for (size_t d = 0; d < ndone && !skip; d++)
      skip = crdt_id_cmp(&done[d], org) == 0;
    if (skip)
      continue;
    if (!keeps_access(a, org, ms, gone, ngone))
      continue;
    if ((rc = keybox(w, org, &a->grants[g].g->box, item, 1)) == 0 &&
        ndone < sizeof(done) / sizeof(done[0]))
      done[ndone++] = *org;
  }
out:
  sodium_free(item);
  node_secret_free(secret);
  return rc;
}

/* Revokes the grants that expired by ms (this org must manage the file),
 * adding them to w->gone, and rekeys once without them. */
static int expire(wctx *w, uint64_t ms)
{
  const size_t cap = sizeof(w->gone) / sizeof(w->gone[0]), start = w->ngone;
  uint8_t epoch[CRDT_EPOCH_LEN];
  int rc = BT_OK;

  for (size_t k = 0; k < w->a->ngrants && w->ngone < cap; k++) {
    const crdt_acc_grant *g = &w->a->grants[k];
    if (!crdt_id_is_zero(&g->revoked_by) || crdt_acc_grant_live(g, ms))
      continue; /* revoked already, or still live */
    crdt_body b = {.type = CRDT_OP_REVOKE, .known = 1};
    b.u.revoke = (crdt_revoke){g->op->id, BT_STR("expired"), w->user};
    if ((rc = author(w, &b, NULL)) != 0)
      return rc;
    w->gone[w->ngone++] = g->op->id;
  }
  if (w->ngone > start)
    rc = rekey(w, CRDT_CAUSE_EXPIRY, w->gone + start, w->ngone - start, ms, epoch);
  return rc;
}

/* Reads the state and opens the transaction; then, inside it, what the
 * rules need before this node's next op. */
static int write_begin(wctx *w, node_store *s, const uint8_t *file, bt_str user,
                       int need_manager, uint64_t ms, int retries)
{
  const crdt_access *a;
  uint8_t epoch[CRDT_EPOCH_LEN];
  int rc;

  memset(w, 0, sizeof(*w));
  w->s = s;
  w->file = file;
  /* Rights are judged at the time the op will claim: this node's HLC may
   * be ahead of its wall clock (it follows its peers). */
  if (crdt_hlc_ms(s->hlc.last) > ms)
    ms = crdt_hlc_ms(s->hlc.last);
  w->user = user;
  if (!s->has_org)
    return BT_EDENIED;
  if ((rc = node_access(s, file, &a)) != 0)
    return rc;
  w->a = a;
  if (crdt_access_rights(a, s->org_pk.b, ms, &w->manager) != CRDT_RIGHTS_WRITE ||
      (need_manager && !w->manager))
    return BT_EDENIED;
  if (a->fork && !w->manager)
    return BT_EEPOCH; /* concurrent rekeys: the holder merges them first */
  if ((rc = node__txn(s, 0, &w->t)) != 0)
    return rc;
  /* The state was read before the write lock: if another process wrote
   * the file in between, judge again from what the lock sees. */
  if ((rc = node__cache_current(s, w->t, file)) != 1) {
    mdb_txn_abort(w->t);
    w->t = NULL;
    if (rc < 0 && rc != BT_ENOFILE)
      return rc;
    node__cache_drop(s, file);
    return rc == 0 && retries > 0 ? write_begin(w, s, file, user, need_manager, ms, retries - 1)
                                  : rc == 0 ? BT_ESTORE : rc;
  }
  /* Who holds the file, for sync's scope: read here anyway, and still
   * true after this write unless it adds access ops (which change the
   * summary's key). */
  if ((rc = node__scope_summary_put(s, w->t, file, a)) != BT_OK) {
    mdb_txn_abort(w->t);
    w->t = NULL;
    return rc;
  }
  /* Before anything is sealed: the current epoch, or over a fork one of
   * its tips (a member op may join under either; the merge follows). */
  rc = set_epoch(w, a->fork ? a->tips[0] : a->epoch);
  if (rc == BT_OK && crdt_access_member(a, s->device_pk) == NULL) {
    node_org o;
    if ((rc = node_org_get(s, &o)) == 0) {
      crdt_body m = {.type = CRDT_OP_MEMBER, .known = 1};
      m.u.member = (crdt_member){{(const char *)o.device_cert, o.device_cert_len},
                                 {(const char *)o.org_cert, o.org_cert_len}};
      rc = author(w, &m, NULL);
      node_org_clear(&o);
    }
  }
  if (rc == BT_OK && a->fork)
    rc = rekey(w, CRDT_CAUSE_MERGE, NULL, 0, ms, epoch);
  if (rc == BT_OK && w->manager)
    rc = expire(w, ms);
  if (rc != BT_OK) {
    mdb_txn_abort(w->t);
    w->t = NULL;
  }
  return rc;
}

static int write_end(wctx *w, int rc)
{
  rc = node__txn_end(w->t, rc);
  node__cache_drop(w->s, w->file);
  return rc;
}

/* A sharing decision is audited in the op's transaction. */
static int audit_decision(wctx *w, const crdt_body *b)
{
  char u[NODE_USER_MAX + 1] = "";

  if (b->type != CRDT_OP_DECISION)
    return BT_OK;
  if (b->user.len <= NODE_USER_MAX)
    memcpy(u, b->user.p, b->user.len), u[b->user.len] = 0;
  for (size_t i = 0; u[i]; i++) /* not a user name (node_author's own callers): none */
    if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '.' ||
          u[i] == '_' || u[i] == '-')) {
      u[0] = 0;
      break;
    }
  return node__audit_txn(w->s, w->t, u, NODE_AUDIT_SHARE_DECISION, w->file,
                         b->u.decision.decision == CRDT_DECIDE_SHARE ? "share" : "not share");
}

int node__author_checked(node_store *s, const uint8_t *file, crdt_body *b, crdt_id *id)
{
  wctx w;
  int rc;

  if ((rc = write_begin(&w, s, file, b->user,
                       crdt_optype_control(b->type) || b->type == CRDT_OP_KEYBOX,
                       node__now_ms(s), 8)) != 0)
    return rc;
  if ((rc = node__author_txn(s, w.t, file, b, id)) == BT_OK)
    rc = audit_decision(&w, b);
  return write_end(&w, rc);
}

int node__author_many(node_store *s, const uint8_t *file, const char *user, crdt_body *const *bs,
                      size_t n)
{
  wctx w;
  int rc;

  if ((rc = write_begin(&w, s, file, bt_strz(user), 0, node__now_ms(s), 8)) != 0)
    return rc;
  for (size_t i = 0; i < n && rc == BT_OK; i++)
    rc = author(&w, bs[i], NULL);
  return write_end(&w, rc);
}

/* A concern and its body map (may be NULL), the body map naming the
 * concern, then the extra ops (tags), and the intake's audit record, in one transaction (intake.c). */
int node__author_intake(node_store *s, const uint8_t *file, const char *user, crdt_body *concern,
                        crdt_body *bodymap, crdt_body *const *extra, size_t nextra,
                        const char *detail, crdt_id *cid)
{
  wctx w;
  int rc;

  if ((rc = write_begin(&w, s, file, bt_strz(user), 0, node__now_ms(s), 8)) != 0)
    return rc;
  if ((rc = author(&w, concern, cid)) == BT_OK && bodymap) {
    bodymap->u.bodymap.concern = *cid;
    rc = author(&w, bodymap, NULL);
  }
  for (size_t i = 0; i < nextra && rc == BT_OK; i++)
    rc = author(&w, extra[i], NULL);
  if (rc == BT_OK)
    rc = node__audit_txn(s, w.t, user, NODE_AUDIT_INTAKE, file, detail);
  return write_end(&w, rc);
}

/* ---- grants ------------------------------------------------------------- */

int node__grant_check(node_store *s, const char *user, const node_grant_req *g, uint64_t ms,
                      crdt_cert **c, crdt_grant *out)
{
  int rc;

  *c = NULL;
  if ((rc = node_org_cert_check(s, g->org_cert, g->org_cert_len, ms, c)) != 0)
    return rc;
  if (g->purpose < CRDT_PURPOSE_TRANSFER || g->purpose > CRDT_PURPOSE_INFO_REQUEST ||
      g->basis < CRDT_BASIS_CONSENT || g->basis > CRDT_BASIS_PUBLIC ||
      (g->rights != CRDT_RIGHTS_READ && g->rights != CRDT_RIGHTS_WRITE) ||
      (g->history != CRDT_HISTORY_ALL && g->history != CRDT_HISTORY_FROM_NOW))
    return g->basis == 0 ? BT_EMISSING : BT_EINVAL;
  *out = (crdt_grant){.org = (*c)->b.subject, .box = (*c)->b.box, .org_name = (*c)->b.name,
                      .purpose = g->purpose, .basis = g->basis,
                      .consent_by = bt_strz(g->consent_by ? g->consent_by : ""),
                      .consent_how = bt_strz(g->consent_how ? g->consent_how : ""),
                      .consent_on = g->consent_on,
                      .reason = bt_strz(g->reason ? g->reason : ""),
                      .approved_by = bt_strz(user), .expires_at = g->expires_at,
                      .rights = g->rights, .history = g->history};
  if ((rc = crdt_rec_check(crdt_body_schema(CRDT_OP_GRANT), out)) != 0)
    return rc;
  return crdt_id_cmp(&(*c)->b.subject, &s->org_pk) == 0 ? BT_EDUP : BT_OK;
}

/* The keys a new grantee gets: every epoch's secret (history all) or only
 * the control keys of the epochs before `fresh` (from now). */
/* One key item for epoch ep: its secret when want_secret and held here,
 * else its control key. BT_EEPOCH when neither is held. */
static int grant_item(wctx *w, const uint8_t *ep, int want_secret, crdt_keyitem *out)
{
  uint8_t ctl[CRDT_EPOCH_LEN];
  node_secret *key = NULL;
  int rc = BT_EEPOCH;

  if (want_secret && (rc = node__epoch_secret(w->s, w->t, w->file, ep, &key)) == 0)
    out->kind = CRDT_KEY_SECRET;
  else if (rc == BT_EEPOCH) {
    crdt_control_id(ep, ctl);
    if ((rc = node__epoch_key(w->s, w->t, w->file, ctl, &key)) != 0)
      return rc;
    out->kind = CRDT_KEY_CONTROL;
  } else
    return rc;
  memcpy(out->epoch, ep, CRDT_EPOCH_LEN);
  memcpy(out->key, node_secret_bytes(key), CRDT_KEY_LEN);
  node_secret_free(key);
  return BT_OK;
}

static int grant_keys(wctx *w, const crdt_grant *g, const uint8_t *fresh)
{
  size_t n = w->a->nepochs + w->nfresh, k = 0;
  crdt_keyitem *items = sodium_malloc((n + 1) * sizeof(*items));
  int rc = BT_OK;

  if (items == NULL)
    return BT_ENOMEM;
  /* Every epoch before this grant (those of the state, then those this
   * transaction started), then the one it starts itself. */
  for (size_t e = 0; e < n && rc == BT_OK; e++) {
    const uint8_t *ep = e < w->a->nepochs ? w->a->epochs[e].epoch
                                          : w->fresh[e - w->a->nepochs];
    if (fresh && memcmp(ep, fresh, CRDT_EPOCH_LEN) == 0)
      continue;
    rc = grant_item(w, ep, g->history == CRDT_HISTORY_ALL, &items[k]);
    if (rc == BT_OK)
      k++;
    else if (rc == BT_EEPOCH)
      rc = BT_OK; /* an epoch we were never given */
  }
  if (rc == BT_OK && fresh && (rc = grant_item(w, fresh, 1, &items[k])) == BT_OK)
    k++;
  if (rc == BT_OK)
    rc = keybox(w, &g->org, &g->box, items, k);
  sodium_free(items);
  return rc;
}

int node__grant_with(node_store *s, const char *user, node_role role,
                     const uint8_t file[CRDT_FILE_LEN], const node_grant_req *g,
                     node__after_fn after, void *ctx, crdt_id *grant, crdt_id *then)
{
  crdt_body b = {.type = CRDT_OP_GRANT, .known = 1}, nb;
  uint8_t epoch[CRDT_EPOCH_LEN];
  crdt_cert *c = NULL;
  uint64_t ms = node__now_ms(s);
  crdt_id gid;
  wctx w;
  int rc;

  if (!node_may(role, NODE_DO_SHARE))
    return BT_EDENIED;
  if ((rc = node__grant_check(s, user, g, ms, &c, &b.u.grant)) != 0)
    goto out;
  if ((rc = write_begin(&w, s, file, bt_strz(user), 1, ms, 8)) != 0)
    goto out;
  if (keeps_access(w.a, &c->b.subject, ms, NULL, 0))
    rc = BT_EDUP;
  if (rc == BT_OK)
    rc = author(&w, &b, &gid);
  if (rc == BT_OK && g->history == CRDT_HISTORY_FROM_NOW) {
    if ((rc = rekey(&w, CRDT_CAUSE_GRANT, NULL, 0, ms, epoch)) == 0)
      rc = grant_keys(&w, &b.u.grant, epoch);
  } else if (rc == BT_OK) {
    rc = grant_keys(&w, &b.u.grant, NULL);
  }
  if (rc == BT_OK && after) {
    memset(&nb, 0, sizeof nb);
    nb.known = 1;
    if ((rc = after(ctx, &gid, &nb)) == BT_OK)
      rc = author(&w, &nb, then);
  }
  if (rc == BT_OK) { /* audited in the grant's transaction */
    char d[8 + CRDT_FPR_LEN];
    memcpy(d, "org ", 4);
    crdt_fingerprint(c->b.subject.b, CRDT_PK_LEN, d + 4);
    rc = node__audit_txn(s, w.t, user, NODE_AUDIT_GRANT, file, d);
    if (rc == BT_OK && after && nb.type == CRDT_OP_XFER_START)
      rc = node__audit_txn(s, w.t, user, NODE_AUDIT_TRANSFER_START, file, d);
  }
  if (rc == BT_OK && grant)
    *grant = gid;
  rc = write_end(&w, rc);
out:
  crdt_cert_free(c);
  return rc;
}

int node_grant_as(node_store *s, const char *user, node_role role,
                  const uint8_t file[CRDT_FILE_LEN], const node_grant_req *g, crdt_id *grant)
{
  return node__grant_with(s, user, role, file, g, NULL, NULL, grant, NULL);
}

int node_revoke_as(node_store *s, const char *user, node_role role,
                   const uint8_t file[CRDT_FILE_LEN], const crdt_id *grant, const char *reason)
{
  crdt_body b = {.type = CRDT_OP_REVOKE, .known = 1};
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint64_t ms = node__now_ms(s);
  wctx w;
  int rc, found = 0;

  if (!node_may(role, NODE_DO_SHARE))
    return BT_EDENIED;
  if (reason == NULL || *reason == 0)
    return BT_EMISSING;
  if ((rc = write_begin(&w, s, file, bt_strz(user), 1, ms, 8)) != 0)
    return rc;
  for (size_t k = 0; k < w.a->ngrants; k++)
    found |= crdt_id_cmp(&w.a->grants[k].op->id, grant) == 0 &&
             crdt_id_is_zero(&w.a->grants[k].revoked_by);
  for (size_t k = 0; k < w.ngone && found; k++)
    if (crdt_id_cmp(&w.gone[k], grant) == 0)
      return write_end(&w, BT_OK); /* it had just expired: revoked already */
  if (!found)
    return write_end(&w, BT_ENOTFOUND);
  b.u.revoke = (crdt_revoke){*grant, bt_strz(reason), bt_strz(user)};
  if ((rc = author(&w, &b, NULL)) == 0)
    rc = rekey(&w, CRDT_CAUSE_REVOKE, grant, 1, ms, epoch);
  if (rc == BT_OK) { /* the reason is free text: not audited, the grant's id is */
    char d[8 + 2 * CRDT_ID_LEN + 1];
    memcpy(d, "grant ", 6);
    sodium_bin2hex(d + 6, sizeof d - 6, grant->b, CRDT_ID_LEN);
    rc = node__audit_txn(s, w.t, user, NODE_AUDIT_REVOKE, file, d);
  }
  return write_end(&w, rc);
}

int node_expire(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint64_t now_ms, size_t *n)
{
  wctx w;
  int rc;

  if (n)
    *n = 0;
  /* write_begin revokes what expired by now_ms. */
  if ((rc = write_begin(&w, s, file, BT_STR("baton"), 1, now_ms, 8)) != 0)
    return rc == BT_EDENIED ? BT_OK : rc;
  if (n)
    *n = w.ngone;
  return write_end(&w, BT_OK);
}
