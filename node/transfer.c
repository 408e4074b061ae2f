/* node/transfer.c: transfers of a child's file (node/transfer.h).
 *
 * DB_TRANSFERS holds two kinds of record, keyed by a one-byte kind:
 *   'c' | file(16)             -> u64 LE: the file's op count at the last tick
 *   's' | file(16) | start(32) -> a summary (msgpack array, see pack_info)
 * Summaries are derived data: a record that does not decode is reported
 * as BT_ECORRUPT by the list, and the next tick of its file rewrites it. */
#include "node/transfer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/mp.h"
#include "node/audit.h"
#include "node/calendar.h"
#include "node/org.h"
#include "node/share.h"
#include "node/store_int.h"

#define SYSTEM_USER "node" /* the author of what the node writes itself */
#define INFO_FIELDS 22

static const char TRANSFER_REASON[] =
  "Keeping Children Safe in Education, Annex C: the child protection file follows the "
  "child to the new school or college (public task)";

/* ---- starting --------------------------------------------------------- */

typedef struct {
  const crdt_cert *to;
  const node_transfer_req *r;
  const char *user;
  uint32_t deadline;
  crdt_calendar_rule rule;
} start_ctx;

static int fill_start(void *ctx, const crdt_id *grant, crdt_body *b)
{
  start_ctx *x = ctx;

  b->type = CRDT_OP_XFER_START;
  b->u.xfer = (crdt_xfer_start){
    .to_org = x->to->b.subject,
    .to_name = x->to->b.name,
    .grant = *grant,
    .on_roll = x->r->on_roll,
    .leaving = x->r->leaving,
    .deadline = x->deadline,
    .days = (uint32_t)x->rule.days,
    .count = x->rule.count,
    .via_la = x->r->via_la ? CRDT_YES : 0,
    .started_by = bt_strz(x->user),
    .note = x->r->note ? bt_strz(x->r->note) : (bt_str){0},
  };
  return BT_OK;
}

static void copy_name(char *dst, size_t cap, bt_str v)
{
  size_t n = v.len < cap - 1 ? v.len : cap - 1;

  if (n)
    memcpy(dst, v.p, n);
  dst[n] = 0;
}

static int deadline_for(node_store *s, const node_transfer_req *r, start_ctx *x)
{
  crdt_calendar *cal = NULL;
  uint32_t anchor = r->on_roll ? r->on_roll : r->today;
  int rc;

  if ((rc = node_calendar_rule(s, &x->rule)) != BT_OK)
    return rc;
  if ((rc = node_calendar_load(s, &cal)) != BT_OK)
    return rc;
  rc = crdt_calendar_deadline(cal, x->rule, anchor, &x->deadline);
  crdt_calendar_free(cal);
  return rc;
}

/* The checks of a start before anything is written, and its deadline:
 * shared by start and preview. *to is the receiving org's certificate
 * (the caller frees it, also on error). */
static int start_check(node_store *s, node_role role, const node_transfer_req *r,
                       start_ctx *x, crdt_cert **to)
{
  int rc;

  *to = NULL;
  if (!node_may(role, NODE_DO_TRANSFER) || !node_may(role, NODE_DO_SHARE))
    return BT_EDENIED;
  if ((r->on_roll && !crdt_date_valid(r->on_roll)) ||
      (r->leaving && !crdt_date_valid(r->leaving)))
    return BT_EDATE;
  if (r->on_roll == 0 && (!r->via_la || !crdt_date_valid(r->today)))
    return BT_EINVAL;
  if (r->on_roll && r->leaving && r->leaving > r->on_roll)
    return BT_EINVAL;
  if ((rc = node_org_cert_check(s, r->org_cert, r->org_cert_len, node__now_ms(s), to)) != 0)
    return rc;
  x->to = *to;
  if (r->via_la && (*to)->b.org_kind != CRDT_ORG_LA)
    return BT_EINVAL;
  return deadline_for(s, r, x);
}

int node_transfer_start_as(node_store *s, const char *user, node_role role,
                           const uint8_t file[CRDT_FILE_LEN], const node_transfer_req *r,
                           crdt_id *start, uint32_t *deadline)
{
  node_grant_req g = {
    .org_cert = r->org_cert, .org_cert_len = r->org_cert_len,
    .purpose = CRDT_PURPOSE_TRANSFER, .basis = CRDT_BASIS_PUBLIC,
    .reason = TRANSFER_REASON, .rights = CRDT_RIGHTS_WRITE, .history = CRDT_HISTORY_ALL,
  };
  start_ctx x = {.r = r, .user = user};
  crdt_cert *to = NULL;
  crdt_id sid;
  int rc;

  if ((rc = start_check(s, role, r, &x, &to)) == BT_OK)
    rc = node__grant_with(s, user, role, file, &g, fill_start, &x, NULL, &sid);
  crdt_cert_free(to);
  if (rc == BT_OK) {
    if (start)
      *start = sid;
    if (deadline)
      *deadline = x.deadline;
  }
  return rc;
}

int node_transfer_preview_as(node_store *s, node_role role, const uint8_t file[CRDT_FILE_LEN],
                             const node_transfer_req *r, node_xfer_preview *out)
{
  start_ctx x = {.r = r};
  const crdt_access *a;
  crdt_cert *to = NULL;
  uint64_t ms = node__now_ms(s);
  int rc, manager = 0;

  if ((rc = start_check(s, role, r, &x, &to)) != BT_OK)
    goto out;
  /* As node__grant_with judges it: this org manages the file (rights at
   * the later of the clock and the HLC), and the org has no access yet. */
  if (crdt_hlc_ms(s->hlc.last) > ms)
    ms = crdt_hlc_ms(s->hlc.last);
  if (crdt_id_cmp(&to->b.subject, &s->org_pk) == 0) {
    rc = BT_EDUP; /* this org itself (node__grant_check) */
    goto out;
  }
  if (!s->has_org) {
    rc = BT_EDENIED;
    goto out;
  }
  if ((rc = node_access(s, file, &a)) != BT_OK)
    goto out;
  if (crdt_access_rights(a, s->org_pk.b, ms, &manager) != CRDT_RIGHTS_WRITE || !manager) {
    rc = BT_EDENIED;
    goto out;
  }
  if (crdt_id_cmp(&to->b.subject, &a->holder) == 0)
    rc = BT_EDUP;
  for (size_t k = 0; k < a->ngrants && rc == BT_OK; k++)
    if (crdt_id_cmp(&a->grants[k].g->org, &to->b.subject) == 0 &&
        crdt_acc_grant_live(&a->grants[k], ms))
      rc = BT_EDUP;
  if (rc == BT_OK) {
    memset(out, 0, sizeof(*out));
    out->deadline = x.deadline;
    out->days = (uint32_t)x.rule.days;
    out->count = x.rule.count;
    out->kind = to->b.org_kind;
    copy_name(out->org, sizeof out->org, to->b.name);
    crdt_fingerprint(to->b.subject.b, CRDT_PK_LEN, out->fingerprint);
  }
out:
  crdt_cert_free(to);
  return rc;
}

/* ---- the receiver's and the sender's notes ------------------------------ */

/* The transfer start names in file, as this node reads it now, with the
 * casefile it borrows from (valid until the next write). */
static int find(node_store *s, const uint8_t *file, const crdt_id *start, crdt_xfer *out)
{
  const crdt_casefile *cf;
  crdt_xfer *xs;
  size_t n;
  int rc, found = 0;

  if ((rc = node_casefile(s, file, &cf)) != BT_OK)
    return rc;
  if ((rc = crdt_xfer_list(cf, &xs, &n)) != BT_OK)
    return rc;
  for (size_t k = 0; k < n && !found; k++)
    if (crdt_id_cmp(&xs[k].start->op->id, start) == 0) {
      *out = xs[k];
      found = 1;
    }
  free(xs);
  return found ? BT_OK : BT_ENOTFOUND;
}

/* Writes a note; a person's note (not the node's own delivery note) is
 * then audited, with the transfer's id as detail, and fails if the audit
 * record cannot be written. */
static int note(node_store *s, const uint8_t *file, uint32_t type, const char *user,
                const crdt_xfer_note *n)
{
  crdt_body b = {.type = type, .known = 1, .user = bt_strz(user)};
  node_audit_action a = type == CRDT_OP_XFER_ACK      ? NODE_AUDIT_TRANSFER_ACK
                      : type == CRDT_OP_XFER_REJECT   ? NODE_AUDIT_TRANSFER_REJECT
                      : type == CRDT_OP_XFER_CLOSE    ? NODE_AUDIT_TRANSFER_CLOSE : 0;
  char d[16 + 2 * CRDT_ID_LEN];
  int rc;

  b.u.xnote = *n;
  if ((rc = node_author(s, file, &b, NULL)) != BT_OK || a == 0)
    return rc;
  memcpy(d, "transfer ", 9);
  for (size_t i = 0; i < CRDT_ID_LEN; i++)
    snprintf(d + 9 + 2 * i, 3, "%02x", n->transfer.b[i]);
  return node_audit_add(s, user, a, file, d);
}

static int is_ours(node_store *s, const crdt_id *org)
{
  return s->has_org && crdt_id_cmp(org, &s->org_pk) == 0;
}

static int delivered(node_store *s, const uint8_t *file, const crdt_xfer *x)
{
  const crdt_casefile *cf;
  crdt_id start = x->start->op->id; /* x may point into the file rebuilt below */
  int rc;

  if ((rc = node_casefile(s, file, &cf)) != BT_OK)
    return rc;
  if (cf->nunreadable != 0)
    return BT_EEPOCH; /* not all of it is readable here yet (newer op types are fine) */
  return note(s, file, CRDT_OP_XFER_DELIVERED, SYSTEM_USER,
              &(crdt_xfer_note){.transfer = start, .at = node__now_ms(s),
                                .by = bt_strz(SYSTEM_USER),
                                .ops = cf->nops > UINT32_MAX ? UINT32_MAX
                                                              : (uint32_t)cf->nops});
}

/* The receiver's answer: checks shared by ack and reject. */
static int answerable(node_store *s, const char *user, node_role role, const uint8_t *file,
                      const crdt_id *start, crdt_xfer *x)
{
  int rc;

  if (!node_may(role, NODE_DO_TRANSFER) || user == NULL)
    return BT_EDENIED;
  if ((rc = find(s, file, start, x)) != BT_OK)
    return rc;
  if (!is_ours(s, &x->start->body->u.xfer.to_org))
    return BT_EDENIED;
  return x->status == CRDT_XS_CLOSED ? BT_ESTATE : BT_OK;
}

int node_transfer_ack_as(node_store *s, const char *user, node_role role,
                         const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                         const char *stored, const char *text)
{
  crdt_xfer x;
  int rc;

  if ((rc = answerable(s, user, role, file, start, &x)) != BT_OK)
    return rc;
  if (x.status == CRDT_XS_ACKED || x.status == CRDT_XS_REJECTED)
    return BT_ESTATE; /* answered already: one answer per transfer */
  if (x.delivered == NULL && (rc = delivered(s, file, &x)) != BT_OK)
    return rc;
  return note(s, file, CRDT_OP_XFER_ACK, user,
              &(crdt_xfer_note){.transfer = *start, .at = node__now_ms(s), .by = bt_strz(user),
                                .stored = stored ? bt_strz(stored) : (bt_str){0},
                                .reason = text ? bt_strz(text) : (bt_str){0}});
}

int node_transfer_reject_as(node_store *s, const char *user, node_role role,
                            const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                            const char *reason)
{
  crdt_xfer x;
  int rc;

  if (reason == NULL || *reason == 0)
    return BT_EMISSING;
  if ((rc = answerable(s, user, role, file, start, &x)) != BT_OK)
    return rc;
  if (x.status == CRDT_XS_REJECTED || x.status == CRDT_XS_ACKED)
    return BT_ESTATE; /* answered already: a signed receipt is not taken back */
  return note(s, file, CRDT_OP_XFER_REJECT, user,
              &(crdt_xfer_note){.transfer = *start, .at = node__now_ms(s), .by = bt_strz(user),
                                .reason = bt_strz(reason)});
}

int node_transfer_close_as(node_store *s, const char *user, node_role role,
                           const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                           uint32_t retain, uint32_t keep_until, const char *text)
{
  crdt_xfer x;
  int rc;

  if (!node_may(role, NODE_DO_TRANSFER) || user == NULL)
    return BT_EDENIED;
  if (retain < CRDT_RETAIN_KEEP || retain > CRDT_RETAIN_LOG)
    return BT_EINVAL;
  if (retain == CRDT_RETAIN_CHRONO && !keep_until)
    return BT_EMISSING;
  if ((retain != CRDT_RETAIN_CHRONO && keep_until) ||
      (keep_until && !crdt_date_valid(keep_until)))
    return BT_EINVAL;
  if ((rc = find(s, file, start, &x)) != BT_OK)
    return rc;
  if (!is_ours(s, &x.from_org))
    return BT_EDENIED;
  if (x.status != CRDT_XS_ACKED && x.status != CRDT_XS_REJECTED &&
      x.status != CRDT_XS_WITHDRAWN)
    return BT_ESTATE;
  if (keep_until && keep_until < crdt_date_from_ms(node__now_ms(s)))
    return BT_EINVAL; /* "keep until" a day already past */
  return note(s, file, CRDT_OP_XFER_CLOSE, user,
              &(crdt_xfer_note){.transfer = *start, .at = node__now_ms(s), .by = bt_strz(user),
                                .reason = text ? bt_strz(text) : (bt_str){0},
                                .retain = retain, .keep_until = keep_until});
}

int node_transfer_retention(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint32_t today,
                            uint32_t *retain)
{
  const crdt_casefile *cf;
  crdt_xfer *xs;
  size_t n;
  int rc;

  *retain = 0;
  if ((rc = node_casefile(s, file, &cf)) != BT_OK)
    return rc;
  if (cf->access == NULL)
    return BT_OK;
  if ((rc = crdt_xfer_list(cf, &xs, &n)) != BT_OK)
    return rc;
  for (size_t k = 0; k < n; k++) {
    const crdt_xfer_note *c;
    uint32_t r;
    if (xs[k].close == NULL || !is_ours(s, &xs[k].from_org) ||
        xs[k].status != CRDT_XS_CLOSED)
      continue;
    c = &xs[k].close->body->u.xnote;
    r = c->retain;
    if (r == CRDT_RETAIN_CHRONO && today > c->keep_until)
      r = CRDT_RETAIN_LOG;
    if (r > *retain)
      *retain = r;
  }
  free(xs);
  if (*retain == CRDT_RETAIN_KEEP)
    *retain = 0;
  return BT_OK;
}

int node_transfer_keeps(uint32_t retain, uint32_t type)
{
  int xfer = type >= CRDT_OP_XFER_START && type <= CRDT_OP_XFER_CLOSE;

  if (retain == CRDT_RETAIN_LOG)
    return xfer;
  if (retain == CRDT_RETAIN_CHRONO)
    return xfer || type == CRDT_OP_CHRONO;
  return 1;
}

/* ---- summaries ---------------------------------------------------------- */

static void copy_text(char *dst, bt_str v)
{
  size_t n = v.len < NODE_XFER_TEXT - 1 ? v.len : NODE_XFER_TEXT - 1;

  if (n) /* an absent field has no pointer at all */
    memcpy(dst, v.p, n);
  dst[n] = 0;
}

static void summarise(node_store *s, const uint8_t *file, const crdt_xfer *x,
                      node_xfer_info *o)
{
  const crdt_xfer_start *st = &x->start->body->u.xfer;

  memset(o, 0, sizeof(*o));
  memcpy(o->file, file, CRDT_FILE_LEN);
  o->start = x->start->op->id;
  o->dir = is_ours(s, &x->from_org) ? NODE_XFER_OUT
         : is_ours(s, &st->to_org)  ? NODE_XFER_IN : NODE_XFER_OTHER;
  o->status = x->status;
  o->disputed = x->disputed;
  o->on_roll = st->on_roll;
  o->leaving = st->leaving;
  o->deadline = st->deadline;
  o->days = st->days;
  o->count = st->count;
  o->via_la = st->via_la == CRDT_YES;
  o->from_org = x->from_org;
  o->to_org = st->to_org;
  copy_text(o->to_name, st->to_name);
  copy_text(o->started_by, st->started_by);
  o->started_at = crdt_hlc_ms(x->start->body->hlc);
  if (x->delivered)
    o->delivered_at = x->delivered->body->u.xnote.at;
  if (x->ack) {
    o->acked_at = x->ack->body->u.xnote.at;
    copy_text(o->acked_by, x->ack->body->u.xnote.by);
    copy_text(o->stored, x->ack->body->u.xnote.stored);
  }
  if (x->reject)
    o->rejected_at = x->reject->body->u.xnote.at;
  if (x->close) {
    o->closed_at = x->close->body->u.xnote.at;
    o->retain = x->close->body->u.xnote.retain;
    o->keep_until = x->close->body->u.xnote.keep_until;
  }
}

static int pack_info(msgpack_packer *pk, const node_xfer_info *o)
{
  const char *texts[] = {o->to_name, o->started_by, o->acked_by, o->stored};
  const uint64_t nums[] = {o->dir, o->status, (uint64_t)o->disputed, o->on_roll, o->leaving,
                           o->deadline, o->days, o->count, (uint64_t)o->via_la,
                           o->started_at, o->delivered_at, o->acked_at, o->rejected_at,
                           o->closed_at, o->retain, o->keep_until};
  int rc = msgpack_pack_array(pk, INFO_FIELDS) ? BT_ENOMEM : BT_OK;

  for (size_t i = 0; i < sizeof nums / sizeof nums[0] && rc == BT_OK; i++)
    rc = msgpack_pack_uint64(pk, nums[i]) ? BT_ENOMEM : BT_OK;
  if (rc == BT_OK)
    rc = crdt_mp_pack_bin(pk, o->from_org.b, CRDT_ID_LEN);
  if (rc == BT_OK)
    rc = crdt_mp_pack_bin(pk, o->to_org.b, CRDT_ID_LEN);
  for (size_t i = 0; i < 4 && rc == BT_OK; i++)
    rc = crdt_mp_pack_str(pk, texts[i], strlen(texts[i]));
  return rc;
}

static int unpack_info(const uint8_t *p, size_t len, node_xfer_info *o)
{
  char *texts[] = {o->to_name, o->started_by, o->acked_by, o->stored};
  uint64_t v[16];
  const msgpack_object *it;
  msgpack_object obj;
  msgpack_zone z;
  size_t n;
  int rc;

  if (!msgpack_zone_init(&z, 256))
    return BT_ENOMEM;
  rc = crdt_mp_unpack(p, len, 4, &z, &obj);
  if (rc == BT_OK)
    rc = crdt_mp_array(&obj, INFO_FIELDS, INFO_FIELDS, &it, &n);
  for (size_t i = 0; i < 16 && rc == BT_OK; i++)
    rc = crdt_mp_uint(&it[i], &v[i]);
  if (rc == BT_OK)
    rc = crdt_mp_bin(&it[16], CRDT_ID_LEN, o->from_org.b);
  if (rc == BT_OK)
    rc = crdt_mp_bin(&it[17], CRDT_ID_LEN, o->to_org.b);
  for (size_t i = 0; i < 4 && rc == BT_OK; i++) {
    const msgpack_object *t = &it[18 + i]; /* may be empty, unlike op fields */
    if (t->type != MSGPACK_OBJECT_STR || t->via.str.size > NODE_XFER_TEXT - 1)
      rc = BT_ECORRUPT;
    else {
      memcpy(texts[i], t->via.str.ptr, t->via.str.size);
      texts[i][t->via.str.size] = 0;
    }
  }
  msgpack_zone_destroy(&z);
  if (rc != BT_OK)
    return BT_ECORRUPT;
  for (size_t i = 0; i < 16; i++)
    if (v[i] > (i >= 9 && i <= 13 ? UINT64_MAX : UINT32_MAX))
      return BT_ECORRUPT;
  o->dir = (uint32_t)v[0];
  o->status = (uint32_t)v[1];
  o->disputed = v[2] != 0;
  o->on_roll = (uint32_t)v[3];
  o->leaving = (uint32_t)v[4];
  o->deadline = (uint32_t)v[5];
  o->days = (uint32_t)v[6];
  o->count = (uint32_t)v[7];
  o->via_la = v[8] != 0;
  o->started_at = v[9];
  o->delivered_at = v[10];
  o->acked_at = v[11];
  o->rejected_at = v[12];
  o->closed_at = v[13];
  o->retain = (uint32_t)v[14];
  o->keep_until = (uint32_t)v[15];
  if (o->dir < NODE_XFER_OUT || o->dir > NODE_XFER_OTHER || o->status < CRDT_XS_PENDING ||
      o->status >= CRDT_XS_END || !crdt_date_valid(o->deadline))
    return BT_ECORRUPT;
  return BT_OK;
}

/* Replaces file's summaries with xs[0..n) and records count, the op count
 * read before they were derived: if ops came in since, the next tick sees
 * a difference and derives them again. */
static int save(node_store *s, const uint8_t *file, const node_xfer_info *xs, size_t n,
                uint64_t count)
{
  uint8_t k[1 + CRDT_FILE_LEN + CRDT_ID_LEN], cnt[8];
  MDB_val key = {1 + CRDT_FILE_LEN, k}, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  k[0] = 's';
  memcpy(k + 1, file, CRDT_FILE_LEN);
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_TRANSFERS], &c)) == 0) {
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == sizeof k && memcmp(key.mv_data, k, 1 + CRDT_FILE_LEN) == 0)
      if ((rc = mdb_cursor_del(c, 0)) == 0)
        rc = mdb_cursor_get(c, &key, &v, MDB_GET_CURRENT);
    mdb_cursor_close(c);
    rc = rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if ((rc = pack_info(&pk, &xs[i])) == BT_OK) {
      memcpy(k + 1 + CRDT_FILE_LEN, xs[i].start.b, CRDT_ID_LEN);
      key = (MDB_val){sizeof k, k};
      v = (MDB_val){sb.size, sb.data};
      rc = mdb_put(t, s->db[DB_TRANSFERS], &key, &v, 0);
    }
    msgpack_sbuffer_destroy(&sb);
  }
  if (rc == 0) {
    k[0] = 'c';
    for (int i = 0; i < 8; i++)
      cnt[i] = (uint8_t)(count >> (8 * i));
    key = (MDB_val){1 + CRDT_FILE_LEN, k};
    v = (MDB_val){8, cnt};
    rc = mdb_put(t, s->db[DB_TRANSFERS], &key, &v, 0);
  }
  return node__txn_end(t, rc);
}

/* ---- the tick ----------------------------------------------------------- */

/* Files whose op count differs from the one recorded at the last tick. */
static int changed_files(node_store *s, uint8_t **out, size_t *n)
{
  uint8_t k[1 + CRDT_FILE_LEN] = {'c'}, *ids = NULL;
  size_t cap = 0;
  MDB_val key, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  *n = 0;
  *out = NULL;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_FILES], &c)) == 0) {
    for (rc = mdb_cursor_get(c, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
      MDB_val ck = {sizeof k, k}, cv;
      filerec r;
      uint64_t seen = UINT64_MAX;
      if (key.mv_size != CRDT_FILE_LEN)
        continue;
      if (node__filerec_get(s, t, key.mv_data, &r) != 0)
        continue;
      memcpy(k + 1, key.mv_data, CRDT_FILE_LEN);
      if (mdb_get(t, s->db[DB_TRANSFERS], &ck, &cv) == 0 && cv.mv_size == 8) {
        seen = 0;
        for (int i = 7; i >= 0; i--)
          seen = seen << 8 | ((uint8_t *)cv.mv_data)[i];
      }
      if (seen == r.count)
        continue;
      if (*n == cap) {
        size_t nc = cap ? 2 * cap : 16;
        uint8_t *g = realloc(ids, nc * CRDT_FILE_LEN);
        if (g == NULL) {
          rc = ENOMEM;
          break;
        }
        ids = g;
        cap = nc;
      }
      memcpy(ids + CRDT_FILE_LEN * (*n)++, key.mv_data, CRDT_FILE_LEN);
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    free(ids);
    *n = 0;
    return rc == ENOMEM ? BT_ENOMEM : node__err(rc);
  }
  *out = ids;
  return BT_OK;
}

/* The op count of file now (0 if it has no record). */
static int op_count(node_store *s, const uint8_t *file, uint64_t *count)
{
  MDB_txn *t;
  filerec r;
  int rc;

  *count = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = node__filerec_get(s, t, file, &r)) == 0)
    *count = r.count;
  mdb_txn_abort(t);
  return rc == BT_ENOFILE || rc == BT_ENOTFOUND ? BT_OK : rc;
}

/* One file: act where this node should, then save the summaries. */
static int tick_file(node_store *s, const uint8_t *file, uint64_t now_ms, size_t *acted)
{
  for (int pass = 0; pass < 3; pass++) {
    uint64_t count;
    const crdt_casefile *cf;
    node_xfer_info *info = NULL;
    crdt_xfer *xs = NULL;
    size_t n = 0;
    int again = 0, rc;

    if ((rc = op_count(s, file, &count)) != BT_OK)
      return rc;
    rc = node_casefile(s, file, &cf);
    if (rc == BT_OK && cf->access)
      rc = crdt_xfer_list(cf, &xs, &n);
    else if (rc != BT_OK && rc != BT_ENOMEM && rc != BT_ESTORE)
      rc = BT_OK; /* a file this node cannot read: nothing to summarise */
    if (rc != BT_OK)
      return rc;
    for (size_t k = 0; k < n && !again; k++) {
      const crdt_xfer *x = &xs[k];
      if (x->status == CRDT_XS_PENDING && is_ours(s, &x->start->body->u.xfer.to_org) &&
          cf->nunreadable == 0) {
        rc = delivered(s, file, x);
        again = 1;
      } else if (crdt_xfer_refused(x) && is_ours(s, &x->from_org)) {
        /* A copy: the revoke rebuilds the cached file x and g point into. */
        crdt_id g = x->start->body->u.xfer.grant;
        for (size_t j = 0; j < cf->access->ngrants && !again; j++)
          if (crdt_id_cmp(&cf->access->grants[j].op->id, &g) == 0 &&
              crdt_id_is_zero(&cf->access->grants[j].revoked_by) &&
              crdt_acc_grant_live(&cf->access->grants[j], now_ms))
            again = 1;
        if (again)
          rc = node_revoke_as(s, SYSTEM_USER, NODE_ROLE_DSL, file, &g,
                              "transfer rejected by the receiving org");
      }
      if (again && rc == BT_OK && acted)
        (*acted)++;
      if (rc == BT_EDENIED || rc == BT_EEPOCH || rc == BT_ENOTFOUND)
        rc = BT_OK, again = 0; /* not ours to do (yet), or another device of this
                                  org did it first: the summary still counts */
    }
    if (rc == BT_OK && !again && n && (info = calloc(n, sizeof(*info))) == NULL)
      rc = BT_ENOMEM;
    for (size_t k = 0; rc == BT_OK && !again && k < n; k++)
      summarise(s, file, &xs[k], &info[k]);
    if (rc == BT_OK && !again)
      rc = save(s, file, info, n, count);
    free(info);
    free(xs);
    if (rc != BT_OK || !again)
      return rc;
  }
  return BT_OK;
}

/* Summary records that do not read back (a damaged store, an older
 * layout): removed, with their file's count, so the file is derived again.
 * A read pass first; a write only when something is wrong. */
static int sweep(node_store *s)
{
  uint8_t k0 = 's', (*bad)[512] = NULL; /* LMDB keys are at most 511 bytes */
  size_t nbad = 0, badlen[64];
  MDB_val key = {1, &k0}, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_TRANSFERS], &c)) == 0) {
    for (rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
         rc == 0 && key.mv_size >= 1 && ((uint8_t *)key.mv_data)[0] == 's' && nbad < 64;
         rc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
      node_xfer_info x;
      if (key.mv_size == 1 + CRDT_FILE_LEN + CRDT_ID_LEN &&
          unpack_info(v.mv_data, v.mv_size, &x) == BT_OK)
        continue;
      if (bad == NULL && (bad = malloc(64 * sizeof(*bad))) == NULL) {
        rc = ENOMEM;
        break;
      }
      badlen[nbad] = key.mv_size < sizeof(*bad) ? key.mv_size : sizeof(*bad);
      memcpy(bad[nbad], key.mv_data, badlen[nbad]);
      nbad++;
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    free(bad);
    return rc == ENOMEM ? BT_ENOMEM : node__err(rc);
  }
  if (nbad == 0)
    return BT_OK;
  if ((rc = node__txn(s, 0, &t)) != 0) {
    free(bad);
    return rc;
  }
  for (size_t i = 0; i < nbad && (rc == 0 || rc == MDB_NOTFOUND); i++) {
    MDB_val dk = {badlen[i], bad[i]};
    rc = mdb_del(t, s->db[DB_TRANSFERS], &dk, NULL);
    if ((rc == 0 || rc == MDB_NOTFOUND) && badlen[i] >= 1 + CRDT_FILE_LEN) {
      uint8_t ck[1 + CRDT_FILE_LEN] = {'c'};
      memcpy(ck + 1, bad[i] + 1, CRDT_FILE_LEN);
      dk = (MDB_val){sizeof ck, ck};
      rc = mdb_del(t, s->db[DB_TRANSFERS], &dk, NULL);
    }
  }
  free(bad);
  return node__txn_end(t, rc == MDB_NOTFOUND ? 0 : rc);
}

int node_transfer_tick(node_store *s, uint64_t now_ms, size_t *acted)
{
  uint8_t *files;
  size_t n;
  int rc, first = BT_OK;

  if (acted)
    *acted = 0;
  if ((rc = sweep(s)) != BT_OK || (rc = changed_files(s, &files, &n)) != BT_OK)
    return rc;
  /* One file's trouble does not hold up the others; storage trouble ends
   * the tick. The first error is returned. */
  for (size_t i = 0; i < n; i++) {
    rc = tick_file(s, files + CRDT_FILE_LEN * i, now_ms, acted);
    if (rc != BT_OK && first == BT_OK)
      first = rc;
    if (rc == BT_ENOMEM || rc == BT_ESTORE || rc == BT_EFULL || rc == BT_EREADONLY)
      break;
  }
  free(files);
  return first;
}

/* ---- reading ------------------------------------------------------------ */

int node_transfer_list_as(node_store *s, node_role role, node_xfer_info **out, size_t *n)
{
  uint8_t k = 's';
  node_xfer_info *xs = NULL;
  size_t cap = 0;
  MDB_val key = {1, &k}, v;
  MDB_cursor *c;
  MDB_txn *t;
  int rc;

  *out = NULL;
  *n = 0;
  if (!node_may(role, NODE_DO_TRANSFER) && !node_may(role, NODE_DO_READ_COUNTS))
    return BT_EDENIED;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_TRANSFERS], &c)) == 0) {
    for (rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
         rc == 0 && key.mv_size >= 1 && ((uint8_t *)key.mv_data)[0] == 's';
         rc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
      if (key.mv_size != 1 + CRDT_FILE_LEN + CRDT_ID_LEN)
        continue; /* not a summary's key: the next tick removes it */
      if (*n == cap) {
        size_t nc = cap ? 2 * cap : 16;
        node_xfer_info *g = realloc(xs, nc * sizeof(*g));
        if (g == NULL) {
          rc = ENOMEM;
          break;
        }
        xs = g;
        cap = nc;
      }
      memset(&xs[*n], 0, sizeof(xs[*n]));
      if ((rc = unpack_info(v.mv_data, v.mv_size, &xs[*n])) != BT_OK)
        break;
      memcpy(xs[*n].file, (uint8_t *)key.mv_data + 1, CRDT_FILE_LEN);
      memcpy(xs[*n].start.b, (uint8_t *)key.mv_data + 1 + CRDT_FILE_LEN, CRDT_ID_LEN);
      if (!node_may(role, NODE_DO_TRANSFER)) {
        /* Heads and governors: dates and statuses, not who handled the
         * file nor where it is kept. */
        xs[*n].started_by[0] = xs[*n].acked_by[0] = xs[*n].stored[0] = 0;
      }
      (*n)++;
    }
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  if (rc == MDB_NOTFOUND || rc == 0) {
    *out = xs;
    return BT_OK;
  }
  free(xs);
  *n = 0;
  return rc == ENOMEM ? BT_ENOMEM : rc < 0 ? rc : node__err(rc);
}

int node_transfer_days_left(node_store *s, const node_xfer_info *x, uint32_t today,
                            int32_t *left)
{
  crdt_calendar *cal;
  int rc;

  if ((rc = node_calendar_load(s, &cal)) != BT_OK)
    return rc;
  rc = crdt_calendar_days_left(cal, (crdt_calendar_days)x->days, x->deadline, today, left);
  crdt_calendar_free(cal);
  return rc;
}

int node_transfer_overdue(const node_xfer_info *x, uint32_t today)
{
  return (x->status == CRDT_XS_PENDING || x->status == CRDT_XS_DELIVERED) &&
         today > x->deadline;
}
