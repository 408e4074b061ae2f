/* node/audit.c: see audit.h.
 *
 * DB_AUDIT: key = seq as 8 bytes big-endian (so LMDB's order is seq
 * order), value = a canonical msgpack array [bin body, bin(64) sig].
 *
 * body = canonical msgpack map, unsigned keys ascending, absent when empty:
 *   0: version (1)      1: seq          2: ms           3: action
 *   4: user (str)       5: file (bin16) 6: detail (str) 7: prev (bin32)
 *
 * sig = Ed25519 (device key) over "baton-audit-v1" NUL body. prev =
 * BLAKE2b-256 of the whole previous stored value (body and signature), so
 * editing, deleting or re-signing a record breaks its successor too.
 *
 * The next seq and prev come from the last record in the write
 * transaction, read as raw bytes: a damaged record never stops appends
 * (node_audit_verify reports it). Decoding is strict: bounded walk first
 * (crdt_mp_unpack), type checks, then the record is encoded again and must
 * give the stored bytes exactly. */
#include "node/audit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "node/store_int.h"

#define VERSION 1
#define CTX "baton-audit-v1"
#define BODY_MAX 512  /* fields are bounded: the largest body is under 300 */
#define VALUE_MAX (BODY_MAX + 80)

static const char *const names[NODE_AUDIT_END] = {
  NULL, "login", "login_failed", "view", "export", "grant", "revoke", "extract",
  "share_decision", "transfer_start", "transfer_ack", "transfer_reject", "transfer_close",
  "package_export", "package_import", "user_add", "user_passwd", "read_audit", "file_create",
  "intake",
};

const char *node_audit_action_name(node_audit_action a)
{
  return a >= 1 && a < NODE_AUDIT_END ? names[a] : NULL;
}

int node_audit_action_parse(const char *name, node_audit_action *out)
{
  for (int a = 1; a < NODE_AUDIT_END; a++)
    if (strcmp(names[a], name) == 0) {
      *out = (node_audit_action)a;
      return BT_OK;
    }
  return BT_EINVAL;
}

const char *node_audit_fault_text(node_audit_fault f)
{
  switch (f) {
  case NODE_AUDIT_INTACT: return "intact";
  case NODE_AUDIT_UNREADABLE: return "record is damaged (does not decode)";
  case NODE_AUDIT_MISSING: return "record missing or out of order";
  case NODE_AUDIT_BROKEN_CHAIN: return "hash chain broken (previous record changed)";
  case NODE_AUDIT_BAD_SIG: return "signature does not verify (record changed or forged)";
  }
  return "unknown fault";
}

/* ---- fields ------------------------------------------------------------ */

static int user_ok(const char *u, size_t n)
{
  if (n > NODE_USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = u[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

static int detail_ok(const char *d, size_t n)
{
  if (n > NODE_AUDIT_DETAIL_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (d[i] < 0x20 || d[i] > 0x7e)
      return 0;
  return 1;
}

static void put_be64(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* ---- encoding ---------------------------------------------------------- */

/* A fixed buffer as a msgpack write target: bodies are bounded, so no heap. */
typedef struct {
  uint8_t *p;
  size_t len, cap;
} fbuf;

static int fbuf_write(void *data, const char *buf, size_t len)
{
  fbuf *b = data;

  if (len > b->cap - b->len)
    return -1;
  memcpy(b->p + b->len, buf, len);
  b->len += len;
  return 0;
}

static int encode_body(const node_audit_rec *r, fbuf *out)
{
  msgpack_packer pk;
  size_t ulen = strlen(r->user), dlen = strlen(r->detail);
  uint32_t n = 5 + (ulen > 0) + (r->has_file != 0) + (dlen > 0);
  int rc = 0;

  msgpack_packer_init(&pk, out, fbuf_write);
  rc |= msgpack_pack_map(&pk, n);
  rc |= msgpack_pack_uint8(&pk, 0) | msgpack_pack_uint64(&pk, VERSION);
  rc |= msgpack_pack_uint8(&pk, 1) | msgpack_pack_uint64(&pk, r->seq);
  rc |= msgpack_pack_uint8(&pk, 2) | msgpack_pack_uint64(&pk, r->ms);
  rc |= msgpack_pack_uint8(&pk, 3) | msgpack_pack_uint64(&pk, (uint64_t)r->action);
  if (ulen)
    rc |= msgpack_pack_uint8(&pk, 4) | crdt_mp_pack_str(&pk, r->user, ulen);
  if (r->has_file)
    rc |= msgpack_pack_uint8(&pk, 5) | crdt_mp_pack_bin(&pk, r->file, CRDT_FILE_LEN);
  if (dlen)
    rc |= msgpack_pack_uint8(&pk, 6) | crdt_mp_pack_str(&pk, r->detail, dlen);
  rc |= msgpack_pack_uint8(&pk, 7) | crdt_mp_pack_bin(&pk, r->prev, NODE_AUDIT_HASH_LEN);
  return rc ? BT_ETOOBIG : BT_OK;
}

static int encode_value(const uint8_t *body, size_t blen, const uint8_t *sig, fbuf *out)
{
  msgpack_packer pk;
  int rc = 0;

  msgpack_packer_init(&pk, out, fbuf_write);
  rc |= msgpack_pack_array(&pk, 2);
  rc |= crdt_mp_pack_bin(&pk, body, blen);
  rc |= crdt_mp_pack_bin(&pk, sig, CRDT_SIG_LEN);
  return rc ? BT_ETOOBIG : BT_OK;
}

/* The signed message: context string, its NUL, the body. */
static size_t signed_msg(const uint8_t *body, size_t blen, uint8_t *out)
{
  memcpy(out, CTX, sizeof(CTX));
  memcpy(out + sizeof(CTX), body, blen);
  return sizeof(CTX) + blen;
}

/* ---- decoding ---------------------------------------------------------- */

static int copy_str(const msgpack_object *o, size_t max, char *out)
{
  bt_str v;
  int rc;

  if ((rc = crdt_mp_str(o, max, &v)) != 0)
    return rc;
  if (v.len == 0)
    return BT_ENONCANON; /* empty fields are left out */
  memcpy(out, v.p, v.len);
  out[v.len] = 0;
  return BT_OK;
}

static int body_field(uint64_t k, const msgpack_object *v, node_audit_rec *r)
{
  uint64_t x;
  int rc;

  switch (k) {
  case 0:
    if ((rc = crdt_mp_uint(v, &x)) != 0)
      return rc;
    return x == VERSION ? BT_OK : BT_EVERSION;
  case 1: return crdt_mp_uint(v, &r->seq);
  case 2: return crdt_mp_uint(v, &r->ms);
  case 3:
    if ((rc = crdt_mp_uint(v, &x)) != 0)
      return rc;
    if (x < 1 || x >= NODE_AUDIT_END)
      return BT_EINVAL;
    r->action = (node_audit_action)x;
    return BT_OK;
  case 4:
    if ((rc = copy_str(v, NODE_USER_MAX, r->user)) != 0)
      return rc;
    return user_ok(r->user, strlen(r->user)) ? BT_OK : BT_EINVAL;
  case 5:
    r->has_file = 1;
    return crdt_mp_bin(v, CRDT_FILE_LEN, r->file);
  case 6:
    if ((rc = copy_str(v, NODE_AUDIT_DETAIL_MAX, r->detail)) != 0)
      return rc;
    return detail_ok(r->detail, strlen(r->detail)) ? BT_OK : BT_EINVAL;
  case 7: return crdt_mp_bin(v, NODE_AUDIT_HASH_LEN, r->prev);
  }
  return BT_EPROTO;
}

static int decode_body(const uint8_t *p, size_t len, node_audit_rec *r)
{
  msgpack_zone z;
  msgpack_object o;
  unsigned seen = 0;
  int rc;

  msgpack_zone_init(&z, 1024);
  if ((rc = crdt_mp_unpack(p, len, 2, &z, &o)) != 0)
    goto out;
  if (o.type != MSGPACK_OBJECT_MAP) {
    rc = BT_ETYPE;
    goto out;
  }
  for (uint32_t i = 0; i < o.via.map.size && rc == BT_OK; i++) {
    const msgpack_object_kv *kv = &o.via.map.ptr[i];
    uint64_t k;
    if ((rc = crdt_mp_uint(&kv->key, &k)) != 0)
      break;
    if (k > 7 || (seen >> k) != 0) {
      rc = BT_ENONCANON; /* unknown, repeated or out of order */
      break;
    }
    seen |= 1u << k;
    rc = body_field(k, &kv->val, r);
  }
  if (rc == BT_OK && (seen & 0x8f) != 0x8f) /* version, seq, ms, action, prev */
    rc = BT_EMISSING;
out:
  msgpack_zone_destroy(&z);
  return rc;
}

/* Decodes a stored value into *r; *body and *blen point at the signed body
 * inside v. Any departure from the canonical form is an error. */
static int decode(const MDB_val *v, node_audit_rec *r, const uint8_t **body, size_t *blen)
{
  uint8_t buf[VALUE_MAX], bb[BODY_MAX];
  fbuf re = {buf, 0, sizeof buf}, rb = {bb, 0, sizeof bb};
  msgpack_zone z;
  msgpack_object o;
  int rc;

  memset(r, 0, sizeof(*r));
  if (v->mv_size > VALUE_MAX)
    return BT_ETOOBIG;
  msgpack_zone_init(&z, 256);
  rc = crdt_mp_unpack(v->mv_data, v->mv_size, 2, &z, &o);
  if (rc == BT_OK && (o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 2 ||
                      o.via.array.ptr[0].type != MSGPACK_OBJECT_BIN))
    rc = BT_ETYPE;
  if (rc == BT_OK && (rc = crdt_mp_bin(&o.via.array.ptr[1], CRDT_SIG_LEN, r->sig)) == 0) {
    *body = (const uint8_t *)o.via.array.ptr[0].via.bin.ptr;
    *blen = o.via.array.ptr[0].via.bin.size;
  }
  msgpack_zone_destroy(&z); /* *body points into v, not into the zone */
  if (rc == BT_OK && *blen > BODY_MAX)
    rc = BT_ETOOBIG;
  if (rc == BT_OK)
    rc = decode_body(*body, *blen, r);
  /* Canonical: encoding what was read gives the same bytes. */
  if (rc == BT_OK && (rc = encode_body(r, &rb)) == BT_OK &&
      (rc = encode_value(bb, rb.len, r->sig, &re)) == BT_OK &&
      (re.len != v->mv_size || memcmp(buf, v->mv_data, re.len) != 0 || rb.len != *blen))
    rc = BT_ENONCANON;
  return rc;
}

/* ---- appending --------------------------------------------------------- */

/* The next seq and prev hash, from the last stored record. */
static int decode(const MDB_val *v, node_audit_rec *r, const uint8_t **body, size_t *blen);

/* The next seq, the hash to chain to, and the time of the last record (0
 * when there is none, or it does not decode: verify reports that). */
static int tail(node_store *s, MDB_txn *t, uint64_t *seq, uint8_t prev[NODE_AUDIT_HASH_LEN],
                uint64_t *last_ms)
{
  node_audit_rec last;
  const uint8_t *lb;
  size_t ll;

  MDB_cursor *c;
  MDB_val k, v;
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_AUDIT], &c)) != 0)
    return node__err(rc);
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  *last_ms = 0;
  if (rc == MDB_NOTFOUND) {
    *seq = 1;
    memset(prev, 0, NODE_AUDIT_HASH_LEN);
    rc = 0;
  } else if (rc == 0) {
    if (k.mv_size != 8 || get_be64(k.mv_data) == UINT64_MAX)
      rc = BT_ECORRUPT;
    else {
      *seq = get_be64(k.mv_data) + 1;
      crypto_generichash(prev, NODE_AUDIT_HASH_LEN, v.mv_data, v.mv_size, NULL, 0);
      if (decode(&v, &last, &lb, &ll) == BT_OK)
        *last_ms = last.ms;
    }
  } else
    rc = node__err(rc);
  mdb_cursor_close(c);
  return rc;
}

int node__audit_txn(node_store *s, MDB_txn *t, const char *user, node_audit_action a,
                    const uint8_t *file, const char *detail)
{
  node_audit_rec r = {.action = a};
  uint8_t bb[BODY_MAX], vb[VALUE_MAX], msg[sizeof(CTX) + BODY_MAX], key[8];
  fbuf body = {bb, 0, sizeof bb}, val = {vb, 0, sizeof vb};
  size_t ulen = user ? strlen(user) : 0, dlen = detail ? strlen(detail) : 0;
  MDB_val k = {8, key}, v;
  uint64_t last_ms;
  int rc;

  if (a < 1 || a >= NODE_AUDIT_END || !user_ok(user, ulen) || !detail_ok(detail, dlen))
    return BT_EINVAL;
  memcpy(r.user, user ? user : "", ulen + 1);
  memcpy(r.detail, detail ? detail : "", dlen + 1);
  if (file) {
    r.has_file = 1;
    memcpy(r.file, file, CRDT_FILE_LEN);
  }
  r.ms = node__now_ms(s);
  if ((rc = tail(s, t, &r.seq, r.prev, &last_ms)) != 0)
    return rc;
  if (r.ms < last_ms)
    r.ms = last_ms; /* a clock set back never dates a record before the last */
  if ((rc = encode_body(&r, &body)) != 0)
    return rc;
  crypto_sign_detached(r.sig, NULL, msg, signed_msg(bb, body.len, msg),
                       node_secret_bytes(s->device));
  if ((rc = encode_value(bb, body.len, r.sig, &val)) != 0)
    return rc;
  put_be64(key, r.seq);
  v = (MDB_val){val.len, vb};
  return node__err(mdb_put(t, s->db[DB_AUDIT], &k, &v, MDB_NOOVERWRITE | MDB_APPEND));
}

int node_audit_add(node_store *s, const char *user, node_audit_action a, const uint8_t *file,
                   const char *detail)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  return node__txn_end(t, node__audit_txn(s, t, user, a, file, detail));
}

/* ---- reading ----------------------------------------------------------- */

static int matches(const node_audit_rec *r, const node_audit_filter *f)
{
  if (f->file && (!r->has_file || memcmp(r->file, f->file, CRDT_FILE_LEN) != 0))
    return 0;
  if (f->user && strcmp(r->user, f->user) != 0)
    return 0;
  return f->action == 0 || r->action == f->action;
}

typedef struct {
  node_audit_rec *v;
  size_t n, cap, start; /* with a limit: a ring of cap = limit */
  size_t limit;
} reclist;

static int keep(reclist *l, const node_audit_rec *r)
{
  if (l->limit && l->n == l->limit) {
    l->v[l->start] = *r;
    l->start = (l->start + 1) % l->limit;
    return BT_OK;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64; /* a large limit is not allocated up front */
    if (l->limit && cap > l->limit)
      cap = l->limit;
    node_audit_rec *v = realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
      return BT_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *r;
  return BT_OK;
}

/* Oldest first: rotates the ring so that start is at 0. */
static int unring(reclist *l)
{
  node_audit_rec *v;

  if (l->start == 0)
    return BT_OK;
  if ((v = malloc(l->n * sizeof(*v))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < l->n; i++)
    v[i] = l->v[(l->start + i) % l->n];
  free(l->v);
  l->v = v;
  l->start = 0;
  return BT_OK;
}

static int scan(node_store *s, MDB_txn *t, const node_audit_filter *f, reclist *l)
{
  MDB_cursor *c;
  MDB_val k, v;
  uint8_t from[8];
  const uint8_t *body;
  size_t blen;
  node_audit_rec r;
  int rc = BT_OK, mrc;

  if ((mrc = mdb_cursor_open(t, s->db[DB_AUDIT], &c)) != 0)
    return node__err(mrc);
  put_be64(from, f->since);
  k = (MDB_val){8, from};
  for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == BT_OK;
       mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (f->before && k.mv_size == 8 && get_be64(k.mv_data) >= f->before)
      break; /* keys are big-endian seqs: the rest are later still */
    if (k.mv_size != 8 || decode(&v, &r, &body, &blen) != 0)
      rc = BT_ECORRUPT;
    else if (matches(&r, f))
      rc = keep(l, &r);
  }
  mdb_cursor_close(c);
  if (rc == BT_OK && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = node__err(mrc);
  return rc;
}

int node_audit_list(node_store *s, const node_audit_filter *f, node_audit_rec **out, size_t *n)
{
  node_audit_filter all = {0};
  reclist l = {0};
  MDB_txn *t;
  int rc;

  if (f == NULL)
    f = &all;
  l.limit = f->limit;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = scan(s, t, f, &l);
  mdb_txn_abort(t);
  if (rc == BT_OK)
    rc = unring(&l);
  if (rc != BT_OK) {
    free(l.v);
    return rc;
  }
  if (l.n == 0) {
    free(l.v);
    l.v = NULL;
  }
  *out = l.v;
  *n = l.n;
  return BT_OK;
}

void node_audit_list_free(node_audit_rec *recs)
{
  free(recs);
}

/* ---- verifying --------------------------------------------------------- */

/* One record against what the one before it implies. */
static node_audit_fault check_one(node_store *s, const MDB_val *k, const MDB_val *v,
                                  uint64_t want, const uint8_t *prev)
{
  uint8_t msg[sizeof(CTX) + BODY_MAX];
  node_audit_rec r;
  const uint8_t *body;
  size_t blen;

  if (k->mv_size != 8)
    return NODE_AUDIT_UNREADABLE;
  if (get_be64(k->mv_data) != want)
    return NODE_AUDIT_MISSING;
  if (decode(v, &r, &body, &blen) != 0)
    return NODE_AUDIT_UNREADABLE;
  if (r.seq != want)
    return NODE_AUDIT_MISSING; /* a record moved under another key */
  if (crypto_sign_verify_detached(r.sig, msg, signed_msg(body, blen, msg), s->device_pk) != 0)
    return NODE_AUDIT_BAD_SIG;
  if (sodium_memcmp(r.prev, prev, NODE_AUDIT_HASH_LEN) != 0)
    return NODE_AUDIT_BROKEN_CHAIN;
  return NODE_AUDIT_INTACT;
}

static int walk(node_store *s, MDB_txn *t, node_audit_check *out)
{
  uint8_t prev[NODE_AUDIT_HASH_LEN] = {0};
  MDB_cursor *c;
  MDB_val k, v;
  node_audit_check ck = {0};
  int rc;

  if ((rc = mdb_cursor_open(t, s->db[DB_AUDIT], &c)) != 0)
    return node__err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if ((ck.fault = check_one(s, &k, &v, ck.records + 1, prev)) != NODE_AUDIT_INTACT) {
      ck.bad_seq = ck.records + 1;
      break;
    }
    crypto_generichash(prev, sizeof prev, v.mv_data, v.mv_size, NULL, 0);
    ck.records++;
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return node__err(rc);
  *out = ck;
  return ck.fault == NODE_AUDIT_INTACT ? BT_OK : BT_ECORRUPT;
}

int node_audit_verify(node_store *s, node_audit_check *out)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = walk(s, t, out);
  mdb_txn_abort(t);
  return rc;
}

/* ---- as a signed-in user ------------------------------------------------ */

int node_audit_list_as(node_store *s, const char *user, node_role role,
                       const node_audit_filter *f, node_audit_rec **out, size_t *n)
{
  int rc;

  if (!node_may(role, NODE_DO_READ_AUDIT))
    return BT_EDENIED;
  if ((rc = node_audit_add(s, user, NODE_AUDIT_READ_AUDIT, f ? f->file : NULL, "list")) != 0)
    return rc;
  return node_audit_list(s, f, out, n);
}

int node_audit_verify_as(node_store *s, const char *user, node_role role,
                         node_audit_check *out)
{
  int rc;

  if (!node_may(role, NODE_DO_READ_AUDIT))
    return BT_EDENIED;
  if ((rc = node_audit_add(s, user, NODE_AUDIT_READ_AUDIT, NULL, "verify")) != 0)
    return rc;
  return node_audit_verify(s, out);
}
