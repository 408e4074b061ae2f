/* tests/node/parties.c: the stores and parties of parties.h.
 *
 * The stores use the cheapest KDF so a suite opening dozens stays fast,
 * and one clock variable so a test can step past an expiry. Only node/'s
 * public functions are called: test_review.c's own mdb_txn_begin and
 * mdb_get stand under these calls as under the tests' own. */
#define _POSIX_C_SOURCE 200809L
#include "node/parties.h"
#include "crdt/cert.h"
#include <sodium.h>
#include "node/dir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/users.h"

uint64_t party_now_ms = PARTY_T0;

static uint64_t clock_fn(void *ctx)
{
  (void)ctx;
  return party_now_ms;
}

void party_mkdtemp(char *dir, size_t len)
{
  snprintf(dir, len, "/tmp/bt-node-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

void party_rmdir(const char *dir)
{
  char cmd[96];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

node_store *party_store_open(const char *dir)
{
  node_store_opts o = {.dir = dir, .passphrase = "pw", .passphrase_len = 2, .create = 1,
                       .kdf = NODE_KDF_MIN, .clock_ms = clock_fn};
  node_store *s;

  cr_assert_eq(node_store_open(&s, &o), BT_OK);
  return s;
}

node_store *party_store_in(const char *dir, const char *name)
{
  char d[128];

  snprintf(d, sizeof(d), "%s/%s", dir, name);
  cr_assert_eq(mkdir(d, 0700), 0);
  return party_store_open(d);
}

void party_open(party *p, const char *name, uint32_t kind)
{
  party_mkdtemp(p->dir, sizeof(p->dir));
  p->s = party_store_open(p->dir);
  if (name == NULL)
    return;
  node_org_info oi = {kind, name, NULL, NULL};
  cr_assert_eq(node_org_create(p->s, &oi), BT_OK);
}

void party_close(party *p)
{
  node_store_close(p->s);
  free(p->cert);
  party_rmdir(p->dir);
}

/* The LA certifies p's org (for the longest a certificate may run, 3650
 * days: the web tests run batond on the real clock, so a certificate from
 * PARTY_T0 must still be valid on the day they run) and p trusts the LA. */
static void certify(party *la, party *p)
{
  node_org o;
  crdt_id root;

  cr_assert_eq(node_org_get(p->s, &o), BT_OK);
  cr_assert(o.provisional);
  cr_assert_eq(node_root_certify(la->s, o.org_cert, o.org_cert_len, party_now_ms, 3650,
                                 &p->cert, &p->cert_len), BT_OK);
  node_org_clear(&o);
  cr_assert_eq(node_root_pk(la->s, &root), BT_OK);
  cr_assert_eq(node_anchor_add(p->s, &root), BT_OK);
  cr_assert_eq(node_org_install(p->s, p->cert, p->cert_len, party_now_ms), BT_OK);
}

void party_join(party *la, party *p, const char *name, uint32_t kind)
{
  party_open(p, name, kind);
  certify(la, p);
}

void party_see_directory(party *la, party *p)
{
  crdt_id root;
  uint8_t dir[CRDT_FILE_LEN];

  cr_assert_eq(node_root_pk(la->s, &root), BT_OK);
  node_dir_file(&root, dir);
  cr_assert_eq(node_dir_track(p->s, &root), BT_OK);
  party_sync(la, p, dir);
}

void party_org_hex(const party *p, char *hex, char *fpr)
{
  crdt_cert *c;

  cr_assert_eq(crdt_cert_decode(p->cert, p->cert_len, &c), BT_OK);
  sodium_bin2hex(hex, 2 * CRDT_ID_LEN + 1, c->b.subject.b, CRDT_ID_LEN);
  if (fpr)
    crdt_fingerprint(c->b.subject.b, CRDT_PK_LEN, fpr);
  crdt_cert_free(c);
}

void party_peer(party *p, node_sync_peer *out)
{
  node_org o;
  crdt_cert *c;

  memset(out, 0, sizeof(*out));
  cr_assert_eq(node_org_get(p->s, &o), BT_OK);
  cr_assert_eq(crdt_cert_decode(o.org_cert, o.org_cert_len, &c), BT_OK);
  node_store_device(p->s, out->device_pk);
  memcpy(out->org_pk.b, c->b.subject.b, CRDT_ID_LEN);
  memcpy(out->box_pk.b, c->b.box.b, CRDT_ID_LEN);
  out->org_kind = c->b.org_kind;
  out->relay = c->b.org_kind == CRDT_ORG_LA;
  crdt_cert_free(c);
  node_org_clear(&o);
}

void parties_open(party *la, party *school, party *mash, party *other)
{
  party_now_ms = PARTY_T0;
  party_open(la, NULL, 0);
  cr_assert_eq(node_root_create(la->s, NULL), BT_OK);
  party_open(school, "Oak Primary", CRDT_ORG_SCHOOL);
  party_open(mash, "County MASH", CRDT_ORG_MASH);
  party_open(other, "Elm Academy", CRDT_ORG_SCHOOL);
  certify(la, school);
  certify(la, mash);
  certify(la, other);
}

void parties_close(party *la, party *school, party *mash, party *other)
{
  party_close(la);
  party_close(school);
  party_close(mash);
  party_close(other);
}

size_t party_sync(party *from, party *to, const uint8_t *file)
{
  size_t n = 0;
  crdt_id *ids;
  bt_bytes *envs;
  crdt_op **ops;
  node_ingest_result *res;
  uint8_t zero[CRDT_EPOCH_LEN] = {0};

  cr_assert_eq(node_file_ops(from->s, file, NULL, 0, &n), BT_OK);
  ids = calloc(n + 1, sizeof(*ids));
  envs = calloc(n + 1, sizeof(*envs));
  ops = calloc(n + 1, sizeof(*ops));
  res = calloc(n + 1, sizeof(*res));
  cr_assert_eq(node_file_ops(from->s, file, ids, n, &n), BT_OK);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(node_op_get(from->s, &ids[i], &ops[i]), BT_OK);
    envs[i] = (bt_bytes){ops[i]->env, ops[i]->env_len};
  }
  cr_assert_eq(node_file_track(to->s, file, zero, NULL), BT_OK); /* carry it */
  cr_assert_eq(node_ingest(to->s, envs, n, res, NULL), BT_OK);
  for (size_t i = 0; i < n; i++) {
    /* (hour, id) order is not causal order: a child may wait a moment */
    cr_assert(res[i].status != NODE_REJECTED, "op %zu: %s", i, bt_errname(res[i].reason));
    crdt_op_free(ops[i]);
  }
  free(ids);
  free(envs);
  free(ops);
  free(res);
  return n;
}

void party_new_file(party *p, uint8_t file[CRDT_FILE_LEN])
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Amy")}, {CRDT_FS_FAMILY, BT_STR("Bell")},
                        {CRDT_FS_DOB, BT_STR("2016-03-04")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};

  b.u.fields = (crdt_fields){fv, 3};
  cr_assert_eq(node_file_create_as(p->s, "dsl.jones", NODE_ROLE_DSL, &b, file, NULL), BT_OK);
}

int party_note(party *p, const uint8_t *file, const char *text, crdt_id *id)
{
  crdt_body b = {.type = CRDT_OP_CHRONO, .known = 1};

  party_now_ms += 60000;
  b.u.chrono = (crdt_chrono){.event_at = party_now_ms, .category = CRDT_CHR_CONTACT,
                             .summary = bt_strz(text)};
  return node_author_as(p->s, "dsl.jones", NODE_ROLE_DSL, file, &b, id);
}

int party_shows(party *p, const uint8_t *file, const char *text)
{
  const crdt_casefile *cf;

  cr_assert_eq(node_casefile(p->s, file, &cf), BT_OK);
  for (size_t e = 0; e < cf->nentries; e++)
    if (cf->entries[e].body->type == CRDT_OP_CHRONO &&
        bt_str_eq(cf->entries[e].body->u.chrono.summary, bt_strz(text)))
      return 1;
  return 0;
}

node_grant_req party_consent_req(const party *to, uint32_t rights, uint32_t history)
{
  return (node_grant_req){.org_cert = to->cert, .org_cert_len = to->cert_len,
                          .purpose = CRDT_PURPOSE_REFERRAL, .basis = CRDT_BASIS_CONSENT,
                          .consent_by = "mother", .consent_how = "in person at school",
                          .consent_on = 20260105, .rights = rights, .history = history};
}
