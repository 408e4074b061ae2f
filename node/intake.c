/* node/intake.c: see intake.h. */
#define _POSIX_C_SOURCE 200809L
#include "node/intake.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/access.h"
#include "crdt/casefile.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/schema.h"
#include "crdt/upn.h"
#include "node/audit.h"
#include "node/share.h"
#include "node/transfer.h"
#include "node/store_int.h"

/* s without the spaces around it. */
static bt_str trim(bt_str s)
{
  while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
    s.p++, s.len--;
  while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
    s.len--;
  return s;
}

/* Equal without ASCII case or surrounding spaces. */
static int same(bt_str a, bt_str b)
{
  a = trim(a);
  b = trim(b);
  if (a.len != b.len)
    return 0;
  for (size_t i = 0; i < a.len; i++) {
    char x = a.p[i], y = b.p[i];
    if (x >= 'A' && x <= 'Z')
      x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (char)(y - 'A' + 'a');
    if (x != y)
      return 0;
  }
  return 1;
}

/* 1 if any value of the register is v. */
static int has(const crdt_cf_register *r, bt_str v)
{
  for (size_t i = 0; i < r->n; i++)
    if (same(r->v[i].value, v))
      return 1;
  return 0;
}

typedef struct {
  bt_str given, family, dob, upn;
} ident;

/* How a file compares with the child named: 0 another child; 1 the same
 * child (names and date of birth, and the UPN when both sides have one);
 * 2 a near match the DSL must settle (the same UPN with other names or
 * another date of birth, or the same names and date of birth with another
 * UPN): never guessed either way. */
static int compare(const crdt_casefile *cf, const ident *id)
{
  int person = has(&cf->fields[CRDT_FS_GIVEN], id->given) &&
               has(&cf->fields[CRDT_FS_FAMILY], id->family) &&
               has(&cf->fields[CRDT_FS_DOB], id->dob);

  if (id->upn.len && cf->fields[CRDT_FS_UPN].n) {
    int upn = has(&cf->fields[CRDT_FS_UPN], id->upn);
    return upn && person ? 1 : upn || person ? 2 : 0;
  }
  return person;
}

/* 1 if this org holds the file, or was sent it by a transfer: a file a
 * partner shares (a MASH's, even with write rights) is not this school's
 * record of the child. */
static int ours(const node_store *s, const crdt_access *a, uint64_t now)
{
  if (crdt_id_cmp(&a->holder, &s->org_pk) == 0)
    return 1;
  for (size_t i = 0; i < a->ngrants; i++) {
    const crdt_grant *g = a->grants[i].g;
    if (g->purpose == CRDT_PURPOSE_TRANSFER && crdt_id_cmp(&g->org, &s->org_pk) == 0 &&
        crdt_acc_grant_live(&a->grants[i], now))
      return 1;
  }
  return 0;
}

static int tagged(const crdt_casefile *cf, const char *tag)
{
  for (size_t i = 0; i < cf->ntags; i++)
    if (bt_str_eq(cf->tags[i], bt_strz(tag)))
      return 1;
  return 0;
}

/* The files a concern about the child may go to: this school's own record
 * (ours), writable, not an extract (a copy of part of a file made for a
 * partner: what is written there goes to the partner), and not one this
 * school sent away and closed (its retention choice hides new entries).
 * *n the files that are the same child, the first in one; *near those the
 * DSL must settle. */
static int find(node_store *s, const ident *id, uint8_t one[CRDT_FILE_LEN], size_t *n,
                size_t *near)
{
  uint64_t now = node__now_ms(s);
  uint8_t *ids = NULL;
  size_t m = 0;
  int rc;

  *n = *near = 0;
  if ((rc = node__file_ids(s, &ids, &m)) != BT_OK)
    return rc;
  for (size_t i = 0; i < m && rc == BT_OK; i++) {
    const uint8_t *f = ids + i * CRDT_FILE_LEN;
    const crdt_casefile *cf;
    uint32_t retain = 0;
    int mgr = 0, how;
    if ((rc = node_transfer_retention(s, f, crdt_date_from_ms(now), &retain)) != BT_OK ||
        (rc = node_casefile(s, f, &cf)) != BT_OK) {
      if (rc != BT_ENOMEM)
        rc = BT_OK; /* a file that cannot be read here is no candidate */
      continue;
    }
    if (retain || cf->access == NULL || !cf->access->has_genesis || !ours(s, cf->access, now) ||
        crdt_access_rights(cf->access, s->org_pk.b, now, &mgr) != CRDT_RIGHTS_WRITE ||
        tagged(cf, NODE_EXTRACT_TAG) || (how = compare(cf, id)) == 0)
      continue;
    if (how == 2)
      (*near)++;
    else if ((*n)++ == 0)
      memcpy(one, f, CRDT_FILE_LEN);
  }
  free(ids);
  return rc;
}

/* A new file for the child, with what the staff member gave. */
static int open_file(node_store *s, const char *user, const ident *id,
                     uint8_t file[CRDT_FILE_LEN])
{
  crdt_fieldval v[4];
  crdt_body b;
  size_t n = 0;
  crdt_id op;
  int rc;

  v[n++] = (crdt_fieldval){CRDT_FS_GIVEN, trim(id->given)};
  v[n++] = (crdt_fieldval){CRDT_FS_FAMILY, trim(id->family)};
  v[n++] = (crdt_fieldval){CRDT_FS_DOB, id->dob};
  if (id->upn.len)
    v[n++] = (crdt_fieldval){CRDT_FS_UPN, id->upn};
  memset(&b, 0, sizeof b);
  b.type = CRDT_OP_FILE_CREATE;
  b.user = bt_strz(user);
  b.u.fields = (crdt_fields){v, n};
  if ((rc = node_file_create(s, &b, file, &op)) != BT_OK)
    return rc;
  return node_audit_add(s, user, NODE_AUDIT_FILE_CREATE, file, "intake");
}

int node_intake_as(node_store *s, const char *user, node_role role, const node_child *child,
                   crdt_body *concern, crdt_body *bodymap, uint8_t file[CRDT_FILE_LEN],
                   crdt_id *concern_id, int *created)
{
  char dob[11];
  uint8_t f[CRDT_FILE_LEN];
  crdt_body tags[2], *extra[2];
  size_t nmatch = 0, nnear = 0, ntags = 0;
  char upn[CRDT_UPN_LEN + 1];
  ident id;
  crdt_id cid;
  int rc;

  if (!node_may(role, NODE_DO_LOG_CONCERN) || !s->has_org)
    return BT_EDENIED;
  if (child == NULL || child->given == NULL || child->family == NULL ||
      trim(bt_strz(child->given)).len == 0 || trim(bt_strz(child->family)).len == 0 ||
      child->dob == 0)
    return BT_EMISSING;
  if (!crdt_date_valid(child->dob))
    return BT_EDATE;
  crdt_date_format(child->dob, dob);
  /* A UPN is written in capitals (as `baton file open` folds it). */
  upn[0] = 0;
  if (child->upn && *child->upn) {
    size_t n = strlen(child->upn);
    if (n != CRDT_UPN_LEN)
      return BT_EUPN;
    for (size_t i = 0; i <= n; i++)
      upn[i] = (char)(child->upn[i] >= 'a' && child->upn[i] <= 'z' ? child->upn[i] - 32
                                                                    : child->upn[i]);
  }
  id = (ident){bt_strz(child->given), bt_strz(child->family), bt_strz(dob), bt_strz(upn)};
  if ((rc = crdt_fs_check(CRDT_FS_GIVEN, trim(id.given))) != BT_OK ||
      (rc = crdt_fs_check(CRDT_FS_FAMILY, trim(id.family))) != BT_OK ||
      (id.upn.len && (rc = crdt_fs_check(CRDT_FS_UPN, id.upn)) != BT_OK))
    return rc;
  /* The records are checked before anything is looked up or written. */
  if (concern == NULL || concern->type != CRDT_OP_CONCERN ||
      (bodymap && bodymap->type != CRDT_OP_BODYMAP))
    return BT_EINVAL;
  if ((rc = crdt_rec_check(crdt_body_schema(CRDT_OP_CONCERN), &concern->u.concern)) != BT_OK ||
      (bodymap &&
       (rc = crdt_rec_check(crdt_body_schema(CRDT_OP_BODYMAP), &bodymap->u.bodymap)) != BT_OK))
    return rc;
  if ((rc = find(s, &id, f, &nmatch, &nnear)) != BT_OK)
    return rc;
  if (nmatch != 1 || nnear > 0) {
    if ((rc = open_file(s, user, &id, f)) != BT_OK)
      return rc;
    memset(tags, 0, sizeof tags);
    tags[ntags].type = CRDT_OP_TAG_ADD;
    tags[ntags].u.tag.tag = bt_strz(NODE_INTAKE_TAG);
    extra[ntags] = &tags[ntags];
    ntags++;
    if (nmatch > 1 || nnear > 0) {
      tags[ntags].type = CRDT_OP_TAG_ADD;
      tags[ntags].u.tag.tag = bt_strz(NODE_INTAKE_UNCLEAR_TAG);
      extra[ntags] = &tags[ntags];
      ntags++;
    }
  }
  concern->user = bt_strz(user);
  if (bodymap)
    bodymap->user = bt_strz(user);
  if ((rc = node__author_intake(s, f, user, concern, bodymap, extra, ntags,
                                ntags == 0 ? "matched" : "new", &cid)) != BT_OK)
    return rc;
  memcpy(file, f, CRDT_FILE_LEN);
  *concern_id = cid;
  *created = ntags != 0;
  return BT_OK;
}
