/* node/users.c: see users.h.
 *
 * users[name] = version(1) | role(1) | failures(1) | 0 | locked_until(8,
 * little-endian, Unix ms) | crypto_pwhash_str hash (NUL-padded).
 * Argon2 runs outside write transactions, so a sign-in never holds the
 * store's write lock for the length of a hash. */
#define _POSIX_C_SOURCE 200809L
#include "users.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "audit.h"
#include "store_int.h"
#include "transfer.h"

#define REC_LEN (12 + crypto_pwhash_STRBYTES)

static const char *const role_names[NODE_ROLE_END] = {
  NULL, "staff", "dsl", "deputy", "head", "governor", "auditor",
};

/* The matrix. Any staff member may log a concern and read what they
 * logged; DSL and deputy hold the files; head and governor see counts only;
 * the auditor reads the audit log. Only the DSL manages users. */
static const unsigned char may[NODE_ROLE_END][NODE_DO_END] = {
  /*                 log read_own read write share transfer counts audit users */
  [NODE_ROLE_STAFF]    = {0, 1, 1, 0, 0, 0, 0, 0, 0, 0},
  [NODE_ROLE_DSL]      = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1},
  [NODE_ROLE_DEPUTY]   = {0, 1, 1, 1, 1, 1, 1, 1, 0, 0},
  [NODE_ROLE_HEAD]     = {0, 1, 1, 0, 0, 0, 0, 1, 0, 0},
  [NODE_ROLE_GOVERNOR] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
  [NODE_ROLE_AUDITOR]  = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
};

const char *node_role_name(node_role r)
{
  return r >= NODE_ROLE_STAFF && r < NODE_ROLE_END ? role_names[r] : NULL;
}

int node_role_parse(const char *name, node_role *out)
{
  for (int r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++)
    if (strcmp(role_names[r], name) == 0) {
      *out = (node_role)r;
      return BT_OK;
    }
  return BT_EINVAL;
}

int node_may(node_role role, node_action action)
{
  if (role < NODE_ROLE_STAFF || role >= NODE_ROLE_END || action < 1 || action >= NODE_DO_END)
    return 0;
  return may[role][action];
}

static int name_ok(const char *name)
{
  size_t n = strlen(name);

  if (n == 0 || n > NODE_USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

static int hash(node_store *s, const char *pass, size_t len, char out[crypto_pwhash_STRBYTES])
{
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

  if (len == 0)
    return BT_EINVAL;
  if (s->kdf == NODE_KDF_MIN) { /* test stores */
    ops = crypto_pwhash_OPSLIMIT_MIN;
    mem = crypto_pwhash_MEMLIMIT_MIN;
  }
  return crypto_pwhash_str(out, pass, len, ops, mem) == 0 ? BT_OK : BT_ENOMEM;
}

static int rec_put(node_store *s, MDB_txn *t, const char *name, const uint8_t rec[REC_LEN],
                   unsigned flags)
{
  MDB_val k = {strlen(name), (void *)name}, v = {REC_LEN, (void *)rec};

  return node__err(mdb_put(t, s->db[DB_USERS], &k, &v, flags));
}

static int rec_get(node_store *s, MDB_txn *t, const char *name, uint8_t rec[REC_LEN])
{
  MDB_val k = {strlen(name), (void *)name}, v;
  int rc = mdb_get(t, s->db[DB_USERS], &k, &v);

  if (rc != 0)
    return node__err(rc);
  if (v.mv_size != REC_LEN || ((const uint8_t *)v.mv_data)[0] != 1)
    return BT_ECORRUPT;
  memcpy(rec, v.mv_data, REC_LEN);
  return BT_OK;
}

/* Runs f(rec) on name's record inside one write transaction, with the
 * audit record a (0: none) in the same transaction: both or neither. */
static int update_audited(node_store *s, const char *name, void (*f)(uint8_t *rec, void *ctx),
                          void *ctx, node_audit_action a, const char *auser,
                          const char *detail)
{
  uint8_t rec[REC_LEN];
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = rec_get(s, t, name, rec)) == 0) {
    f(rec, ctx);
    rc = rec_put(s, t, name, rec, 0);
  }
  if (rc == 0 && a)
    rc = node__audit_txn(s, t, auser, a, NULL, detail);
  rc = node__txn_end(t, rc);
  sodium_memzero(rec, sizeof(rec));
  return rc;
}

int node_user_add(node_store *s, const char *name, const char *pass, size_t len,
                  node_role role)
{
  uint8_t rec[REC_LEN] = {1, (uint8_t)role};
  MDB_txn *t;
  int rc;

  if (!name_ok(name) || node_role_name(role) == NULL)
    return BT_EINVAL;
  if ((rc = hash(s, pass, len, (char *)rec + 12)) != 0)
    return rc;
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = rec_put(s, t, name, rec, MDB_NOOVERWRITE)) == 0) {
    char d[NODE_USER_MAX + 32];
    snprintf(d, sizeof d, "user %s role %s", name, node_role_name(role));
    rc = node__audit_txn(s, t, NULL, NODE_AUDIT_USER_ADD, NULL, d);
  }
  return node__txn_end(t, rc);
}

static void count_failure(uint8_t *rec, void *ctx)
{
  uint64_t now = *(const uint64_t *)ctx;

  if (rec[2] < 255)
    rec[2]++;
  if (rec[2] >= NODE_LOCKOUT_FAILS) {
    node__put_le64(rec + 4, now + NODE_LOCKOUT_MS);
    rec[2] = 0;
  }
}

static void reset_failures(uint8_t *rec, void *ctx)
{
  (void)ctx;
  rec[2] = 0;
  node__put_le64(rec + 4, 0);
}

int node_user_login(node_store *s, const char *name, const char *pass, size_t len,
                    uint64_t now_ms, node_role *role)
{
  uint8_t rec[REC_LEN];
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = name_ok(name) ? rec_get(s, t, name, rec) : BT_ENOTFOUND;
  mdb_txn_abort(t);
  /* Every outcome is audited; a name that is not a user is not recorded
   * (it may be a mistyped passphrase). If the audit write fails, its error
   * is returned instead, and a right passphrase does not sign in. */
  if (rc == BT_ENOTFOUND) {
    char dummy[crypto_pwhash_STRBYTES];
    hash(s, pass, len ? len : 1, dummy); /* the same work as a real check */
    rc = node_audit_add(s, NULL, NODE_AUDIT_LOGIN_FAILED, NULL, "unknown name");
    return rc == 0 ? BT_EPASS : rc;
  }
  if (rc != 0)
    return rc;
  if (now_ms < node__get_le64(rec + 4)) {
    rc = node_audit_add(s, name, NODE_AUDIT_LOGIN_FAILED, NULL, "locked out");
    rc = rc == 0 ? BT_ELOCKED : rc;
  } else if (len == 0 || crypto_pwhash_str_verify((const char *)rec + 12, pass, len) != 0) {
    rc = update_audited(s, name, count_failure, &now_ms, NODE_AUDIT_LOGIN_FAILED, name,
                        "wrong passphrase");
    rc = rc == 0 ? BT_EPASS : rc;
  } else {
    const char *rn = node_role_name((node_role)rec[1]);
    rc = rec[2] || node__get_le64(rec + 4)
             ? update_audited(s, name, reset_failures, NULL, NODE_AUDIT_LOGIN, name, rn)
             : node_audit_add(s, name, NODE_AUDIT_LOGIN, NULL, rn);
    if (rc == BT_OK)
      *role = (node_role)rec[1];
  }
  sodium_memzero(rec, sizeof(rec));
  return rc;
}

static void set_hash(uint8_t *rec, void *ctx)
{
  memcpy(rec + 12, ctx, crypto_pwhash_STRBYTES);
  reset_failures(rec, NULL);
}

int node_user_passwd(node_store *s, const char *name, const char *pass, size_t len)
{
  char h[crypto_pwhash_STRBYTES] = {0};
  int rc;

  if (!name_ok(name))
    return BT_ENOTFOUND;
  if ((rc = hash(s, pass, len, h)) != 0)
    return rc;
  char d[NODE_USER_MAX + 8];
  snprintf(d, sizeof d, "user %s", name);
  return update_audited(s, name, set_hash, h, NODE_AUDIT_USER_PASSWD, NULL, d);
}

int node_user_count(node_store *s, size_t *n)
{
  MDB_txn *t;
  MDB_stat st;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = node__err(mdb_stat(t, s->db[DB_USERS], &st));
  mdb_txn_abort(t);
  if (rc == 0)
    *n = st.ms_entries;
  return rc;
}

static int list_users(node_store *s, MDB_txn *t, uint64_t now, node_user_info *u, size_t max,
                      size_t *n)
{
  MDB_cursor *c;
  MDB_val k, v;
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_USERS], &c)) != 0)
    return node__err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && *n < max;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const uint8_t *r = v.mv_data;
    if (k.mv_size == 0 || k.mv_size > NODE_USER_MAX || v.mv_size != REC_LEN || r[0] != 1)
      continue;
    memcpy(u[*n].name, k.mv_data, k.mv_size);
    u[*n].name[k.mv_size] = '\0';
    u[*n].role = (node_role)r[1];
    u[*n].locked_until = node__get_le64(r + 4);
    u[*n].locked = now < u[*n].locked_until;
    (*n)++;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND || rc == 0 ? BT_OK : node__err(rc);
}

int node_user_list_as(node_store *s, node_role role, uint64_t now_ms, node_user_info **out,
                      size_t *n)
{
  node_user_info *u = NULL;
  MDB_txn *t;
  MDB_stat st;
  size_t k = 0;
  int rc;

  if (!node_may(role, NODE_DO_MANAGE_USERS))
    return BT_EDENIED;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = node__err(mdb_stat(t, s->db[DB_USERS], &st))) == 0 &&
      (u = calloc(st.ms_entries ? st.ms_entries : 1, sizeof(*u))) == NULL)
    rc = BT_ENOMEM;
  if (rc == 0)
    rc = list_users(s, t, now_ms, u, st.ms_entries, &k);
  mdb_txn_abort(t);
  if (rc != 0) {
    free(u);
    return rc;
  }
  *out = u;
  *n = k;
  return BT_OK;
}

node_action node_action_for(uint32_t optype)
{
  switch (optype) {
  case CRDT_OP_CONCERN:
    return NODE_DO_LOG_CONCERN;
  case CRDT_OP_GRANT: case CRDT_OP_REVOKE: case CRDT_OP_EPOCH: case CRDT_OP_KEYBOX:
  case CRDT_OP_DECISION:
    return NODE_DO_SHARE;
  case CRDT_OP_XFER_START: case CRDT_OP_XFER_DELIVERED: case CRDT_OP_XFER_ACK:
  case CRDT_OP_XFER_REJECT: case CRDT_OP_XFER_CLOSE:
    return NODE_DO_TRANSFER;
  default:
    return NODE_DO_WRITE_FILE;
  }
}

int node_author_as(node_store *s, const char *user, node_role role,
                   const uint8_t file[CRDT_FILE_LEN], crdt_body *b, crdt_id *id)
{
  if (!node_may(role, node_action_for(b->type)))
    return BT_EDENIED;
  b->user = bt_strz(user);
  return node_author(s, file, b, id);
}

int node_file_create_as(node_store *s, const char *user, node_role role, crdt_body *b,
                        uint8_t file[CRDT_FILE_LEN], crdt_id *op)
{
  int rc;

  if (!node_may(role, NODE_DO_WRITE_FILE))
    return BT_EDENIED;
  b->user = bt_strz(user);
  if ((rc = node_file_create(s, b, file, op)) != 0)
    return rc;
  /* The file exists now; if the record cannot be written, say so. */
  return node_audit_add(s, user, NODE_AUDIT_FILE_CREATE, file, node_role_name(role));
}

/* The role's view of one file, not audited (the callers audit). */
static int view_build(node_store *s, const char *user, node_role role,
                      const uint8_t file[CRDT_FILE_LEN], node_view *out)
{
  const crdt_casefile *cf;
  int whole = node_may(role, NODE_DO_READ_FILE);
  bt_str me = bt_strz(user);
  uint8_t dev[CRDT_PK_LEN];
  int rc;

  uint32_t retain = 0;

  if (!whole && !node_may(role, NODE_DO_READ_OWN))
    return BT_EDENIED;
  node_store_device(s, dev);
  if ((rc = node_transfer_retention(s, file, crdt_date_from_ms(node__now_ms(s)), &retain)) != 0)
    return rc;
  if ((rc = node_casefile(s, file, &cf)) != 0)
    return rc;
  memset(out, 0, sizeof(*out));
  out->retain = retain;
  if ((out->entries = calloc(cf->nentries ? cf->nentries : 1, sizeof(*out->entries))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < cf->nentries; i++) {
    const crdt_cf_entry *e = &cf->entries[i];
    /* Own = logged by this user on this node (names are per node): their
     * concerns and the body maps they recorded with them (node/intake.h). */
    uint32_t t = e->body->type;
    /* After a transfer is closed, this org's retention choice applies. */
    if (!node_transfer_keeps(retain, t))
      continue;
    if (whole || ((t == CRDT_OP_CONCERN || t == CRDT_OP_BODYMAP) &&
                  bt_str_eq(e->body->user, me) &&
                  memcmp(e->op->h.author, dev, CRDT_PK_LEN) == 0))
      out->entries[out->nentries++] = e;
  }
  out->file = whole ? cf : NULL;
  return BT_OK;
}

int node_casefile_as(node_store *s, const char *user, node_role role,
                     const uint8_t file[CRDT_FILE_LEN], node_view *out)
{
  int rc;

  if ((rc = view_build(s, user, role, file, out)) != BT_OK)
    return rc;
  /* A view that cannot be audited is refused. The audit write touches no
   * op, so the borrowed materialisation stays valid. */
  if ((rc = node_audit_add(s, user, NODE_AUDIT_VIEW, file, node_role_name(role))) != 0) {
    node_view_free(out);
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

int node_casefiles_as(node_store *s, const char *user, node_role role, const uint8_t *files,
                      size_t n, const char *what,
                      int (*each)(void *ctx, const uint8_t *file, const node_view *v),
                      void *ctx)
{
  char detail[NODE_AUDIT_DETAIL_MAX + 1];
  int rc = BT_OK;

  if (!node_may(role, NODE_DO_READ_FILE) && !node_may(role, NODE_DO_READ_OWN))
    return BT_EDENIED;
  if (what == NULL || strlen(what) > 64)
    return BT_EINVAL;
  for (size_t i = 0; i < n && rc == BT_OK; i++) {
    node_view v;
    if ((rc = view_build(s, user, role, files + i * CRDT_FILE_LEN, &v)) != BT_OK)
      break;
    rc = each(ctx, files + i * CRDT_FILE_LEN, &v);
    node_view_free(&v);
  }
  if (rc != BT_OK)
    return rc;
  snprintf(detail, sizeof detail, "%s: %s, %zu files", node_role_name(role), what, n);
  return node_audit_add(s, user, NODE_AUDIT_VIEW, NULL, detail);
}

void node_view_free(node_view *v)
{
  free(v->entries);
  memset(v, 0, sizeof(*v));
}
