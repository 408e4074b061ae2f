/* tests/node/test_package.c: transfer packages (node/package.h): round
 * trips by org key and by passphrase, receipts, and refusals that leave
 * the importing store exactly as it was. Hostile packages that need a
 * certified signer are forged here with the sender's own device key
 * (store_int.h), as a compromised or buggy sender could. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crdt/err.h"
#include "node/org.h"
#include "node/package.h"
#include "node/parties.h"
#include "node/pkgforge.h"
#include "node/share.h"
#include "node/store.h"
#include "node/store_int.h"
#include "node/users.h"
#include "proto/package.h"

PARTIES_SUITE(node_package, .timeout = 120);

#define PASS "correct horse battery staple"
#define DSL "dsl.jones"

#define pass_opts pkgforge_pass_opts

/* A file at school with a few entries, granted (write) to other. */
static void file_for_other(uint8_t file[CRDT_FILE_LEN])
{
  pkgforge_file(&school, &other, file);
}

static void digest(party *p, const uint8_t *file, uint8_t out[32])
{
  const crdt_casefile *cf;

  cr_assert_eq(node_casefile(p->s, file, &cf), BT_OK);
  cr_assert_eq(crdt_casefile_digest(cf, out), BT_OK);
}

static void export_to(party *from, const uint8_t *file, party *to, uint8_t **p, size_t *len)
{
  node_org o;
  node_pkg_opts opts = {0};

  cr_assert_eq(node_org_get(to->s, &o), BT_OK);
  opts.to_org = &o.sign_pk;
  cr_assert_eq(node_package_export(from->s, DSL, NODE_ROLE_DSL, file, &opts, p, len), BT_OK);
  node_org_clear(&o);
}

/* What a store holds: op and buffer counts and whether file is known. */
typedef struct {
  size_t ops, buffered;
  int known;
} snap;

static snap snapshot(party *p, const uint8_t *file)
{
  snap s;
  uint8_t e[CRDT_EPOCH_LEN];

  cr_assert_eq(node_store_counts(p->s, &s.ops, &s.buffered), BT_OK);
  s.known = node_file_epoch(p->s, file, e) == BT_OK;
  return s;
}

static void same(snap a, snap b, const char *what)
{
  cr_assert_eq(a.ops, b.ops, "%s: ops stored", what);
  cr_assert_eq(a.buffered, b.buffered, "%s: ops buffered", what);
  cr_assert_eq(a.known, b.known, "%s: file made known", what);
}

static int import(party *p, const uint8_t *pkg, size_t len, const char *pass)
{
  node_pkg_result r;
  int rc = node_package_import(p->s, DSL, NODE_ROLE_DSL, pkg, len, pass,
                               pass ? strlen(pass) : 0, &r);

  if (rc == BT_OK)
    node_pkg_result_clear(&r);
  return rc;
}

Test(node_package, org_round_trip_reads_like_a_sync_and_the_receipt_closes_the_loop)
{
  uint8_t file[CRDT_FILE_LEN], a[32], b[32], *pkg;
  size_t len;
  node_pkg_result r, back;

  file_for_other(file);
  export_to(&school, file, &other, &pkg, &len);
  cr_assert_eq(node_package_import(other.s, DSL, NODE_ROLE_DSL, pkg, len, NULL, 0, &r), BT_OK);
  cr_assert_eq(r.kind, PROTO_PKG_ORG);
  cr_assert_eq(memcmp(r.file, file, CRDT_FILE_LEN), 0);
  cr_assert_gt(r.stored, 0);
  cr_assert_eq(r.stored + r.duplicate, r.nops);
  cr_assert(party_shows(&other, file, "home visit"));
  cr_assert(party_shows(&other, file, "after the grant"));
  /* The receipt: other's own ops, sealed to the school. */
  cr_assert_eq(r.receipt_kind, PROTO_PKG_ORG);
  cr_assert_not_null(r.receipt);
  cr_assert_eq(node_package_import(school.s, DSL, NODE_ROLE_DSL, r.receipt, r.receipt_len, NULL,
                                   0, &back), BT_OK);
  cr_assert_gt(back.stored, 0);
  cr_assert(party_shows(&school, file, "Received by package from Elm Academy: 6 ops.") ||
            back.stored > 0);
  node_pkg_result_clear(&back);
  size_t na = 0, nb = 0;
  cr_assert_eq(node_file_ops(school.s, file, NULL, 0, &na), BT_OK);
  cr_assert_eq(node_file_ops(other.s, file, NULL, 0, &nb), BT_OK);
  cr_assert_eq(na, nb, "both ends hold the same ops");
  digest(&school, file, a);
  digest(&other, file, b);
  cr_assert_eq(memcmp(a, b, 32), 0, "both ends materialise the same file");
  /* Importing the same package again stores nothing new. */
  cr_assert_eq(node_package_import(other.s, DSL, NODE_ROLE_DSL, pkg, len, NULL, 0, &back), BT_OK);
  cr_assert_eq(back.stored, 0);
  node_pkg_result_clear(&back);
  node_pkg_result_clear(&r);
  free(pkg);
}

Test(node_package, org_export_needs_a_grant_first)
{
  uint8_t file[CRDT_FILE_LEN], *pkg = NULL;
  size_t len;
  node_org o;
  node_pkg_opts opts = {0};
  crdt_id org;
  int in_file = 1;

  party_new_file(&school, file);
  cr_assert_eq(node_org_get(mash.s, &o), BT_OK);
  opts.to_org = &o.sign_pk;
  cr_assert_eq(node_package_export(school.s, DSL, NODE_ROLE_DSL, file, &opts, &pkg, &len),
               BT_ENOTFOUND);
  cr_assert_eq(node_package_export(school.s, "amy", NODE_ROLE_STAFF, file, &opts, &pkg, &len),
               BT_EDENIED);
  /* Found by name in the LA's directory (if carried) or not at all. */
  int rc = node_package_find_org(school.s, file, "County MASH", &org, &in_file);
  cr_assert(rc == BT_ENOTFOUND || (rc == BT_OK && !in_file));
  node_org_clear(&o);
}

Test(node_package, find_org_by_name_and_fingerprint)
{
  uint8_t file[CRDT_FILE_LEN];
  node_org o;
  crdt_id org;
  char f[CRDT_FPR_LEN];
  int in_file = 0;

  file_for_other(file);
  cr_assert_eq(node_org_get(other.s, &o), BT_OK);
  cr_assert_eq(node_package_find_org(school.s, file, "Elm Academy", &org, &in_file), BT_OK);
  cr_assert_eq(crdt_id_cmp(&org, &o.sign_pk), 0);
  cr_assert(in_file);
  crdt_fingerprint(o.sign_pk.b, CRDT_PK_LEN, f);
  f[9] = 0; /* "XXXX-XXXX" */
  cr_assert_eq(node_package_find_org(school.s, file, f, &org, &in_file), BT_OK);
  cr_assert_eq(crdt_id_cmp(&org, &o.sign_pk), 0);
  cr_assert_eq(node_package_find_org(school.s, file, "Nowhere School", &org, &in_file),
               BT_ENOTFOUND);
  node_org_clear(&o);
}

Test(node_package, passphrase_round_trip_and_receipt_document)
{
  uint8_t file[CRDT_FILE_LEN], a[32], b[32], *pkg;
  size_t len;
  node_pkg_result r, back;
  crdt_body cb = {.type = CRDT_OP_CHRONO, .known = 1};

  file_for_other(file);
  cr_assert_eq(node_package_export(school.s, DSL, NODE_ROLE_DSL, file, &pass_opts, &pkg, &len),
               BT_OK);
  cr_assert_eq(import(&mash, pkg, len, NULL), BT_EPASS);
  cr_assert_eq(node_package_import(mash.s, DSL, NODE_ROLE_DSL, pkg, len, PASS,
                                   sizeof(PASS) - 1, &r), BT_OK);
  cr_assert_eq(r.kind, PROTO_PKG_PASS);
  digest(&school, file, a);
  digest(&mash, file, b);
  cr_assert_eq(memcmp(a, b, 32), 0, "the importer reads the same file");
  cr_assert(party_shows(&mash, file, "call with social worker"));
  /* A reader, not a grantee: it cannot write into the file. */
  cb.u.chrono = (crdt_chrono){.event_at = party_now_ms, .category = CRDT_CHR_OTHER,
                              .summary = BT_STR("should not be written")};
  cr_assert_neq(node_author_as(mash.s, DSL, NODE_ROLE_DSL, file, &cb, NULL), BT_OK);
  /* The receipt document, recorded once in the sender's file. */
  cr_assert_eq(r.receipt_kind, PROTO_PKG_RECEIPT);
  cr_assert_eq(node_package_import(school.s, DSL, NODE_ROLE_DSL, r.receipt, r.receipt_len, NULL,
                                   0, &back), BT_OK);
  cr_assert_eq(back.kind, PROTO_PKG_RECEIPT);
  cr_assert(back.certified);
  cr_assert_eq(memcmp(back.file, file, CRDT_FILE_LEN), 0);
  node_pkg_result_clear(&back);
  const crdt_casefile *cf;
  int found = 0;
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  for (size_t i = 0; i < cf->nentries; i++)
    if (cf->entries[i].body->type == CRDT_OP_CHRONO &&
        cf->entries[i].body->u.chrono.category == CRDT_CHR_TRANSFER &&
        cf->entries[i].body->u.chrono.summary.len > 16 &&
        memcmp(cf->entries[i].body->u.chrono.summary.p, "Package receipt:", 16) == 0)
      found++;
  cr_assert_eq(found, 1);
  cr_assert_eq(import(&school, r.receipt, r.receipt_len, NULL), BT_EDUP);
  /* A tampered receipt is refused. */
  r.receipt[r.receipt_len / 2] ^= 1;
  cr_assert_eq(import(&school, r.receipt, r.receipt_len, NULL), BT_ESIG);
  node_pkg_result_clear(&r);
  free(pkg);
}

Test(node_package, tampering_anywhere_is_refused_with_nothing_stored)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  size_t len;
  snap before;

  file_for_other(file);
  export_to(&school, file, &other, &pkg, &len);
  before = snapshot(&other, file);
  for (size_t i = 0; i < len; i++) { /* header, certificates, key, ciphertext, signature */
    pkg[i] ^= 0x40;
    int rc = import(&other, pkg, len, NULL);
    pkg[i] ^= 0x40;
    cr_assert_neq(rc, BT_OK, "byte %zu of %zu", i, len);
  }
  same(before, snapshot(&other, file), "tampered");
  cr_assert_eq(import(&other, pkg, len, NULL), BT_OK, "the untouched package still imports");
  free(pkg);
}

Test(node_package, truncated_files_are_refused_with_nothing_stored)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  size_t len;
  snap before;

  file_for_other(file);
  export_to(&school, file, &other, &pkg, &len);
  before = snapshot(&other, file);
  for (size_t cut = 1; cut <= 400 && cut <= len; cut++)
    cr_assert_neq(import(&other, pkg, len - cut, NULL), BT_OK, "%zu bytes short", cut);
  for (size_t n = 0; n < 400 && n < len; n++)
    cr_assert_neq(import(&other, pkg, n, NULL), BT_OK, "first %zu bytes", n);
  same(before, snapshot(&other, file), "truncated");
  free(pkg);
}

Test(node_package, wrong_passphrase_or_recipient_is_refused_with_nothing_stored)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  size_t len;
  snap before;

  file_for_other(file);
  cr_assert_eq(node_package_export(school.s, DSL, NODE_ROLE_DSL, file, &pass_opts, &pkg, &len),
               BT_OK);
  before = snapshot(&mash, file);
  cr_assert_eq(import(&mash, pkg, len, "correct horse battery stapler"), BT_EDECRYPT);
  same(before, snapshot(&mash, file), "wrong passphrase");
  free(pkg);
  export_to(&school, file, &other, &pkg, &len);
  cr_assert_eq(import(&mash, pkg, len, NULL), BT_EDECRYPT);
  same(before, snapshot(&mash, file), "wrong recipient");
  cr_assert_eq(import(&mash, pkg, len, PASS), BT_EDECRYPT);
  same(before, snapshot(&mash, file), "wrong recipient");
  free(pkg);
}

/* ---- forged packages: well signed, certified, but hostile inside ---- */

/* A forged passphrase package of envs, without keys (pkgforge.h). */
static uint8_t *forge(party *from, const uint8_t *file, const bt_bytes *envs, size_t n,
                      size_t *len)
{
  return forge_keys(from, file, NULL, 0, envs, n, len);
}


Test(node_package, a_forged_package_passes_as_made_here)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  bt_bytes *envs;
  size_t n, len;

  file_for_other(file);
  n = envelopes(&school, file, &envs);
  pkg = forge(&school, file, envs, n, &len);
  cr_assert_eq(import(&mash, pkg, len, PASS), BT_OK, "the forger itself is sound");
  free(pkg);
  envelopes_free(envs, n);
}

Test(node_package, an_op_of_another_file_is_refused_with_nothing_stored)
{
  uint8_t file[CRDT_FILE_LEN], file2[CRDT_FILE_LEN], *pkg;
  bt_bytes *envs, *envs2;
  size_t n, n2, len;
  snap before;

  file_for_other(file);
  party_new_file(&school, file2);
  n = envelopes(&school, file, &envs);
  n2 = envelopes(&school, file2, &envs2);
  envs = realloc(envs, (n + 1) * sizeof(*envs));
  envs[n] = envs2[0];
  before = snapshot(&mash, file);
  pkg = forge(&school, file, envs, n + 1, &len);
  cr_assert_eq(import(&mash, pkg, len, PASS), BT_EFILE);
  same(before, snapshot(&mash, file), "foreign op");
  cr_assert_eq(snapshot(&mash, file2).known, 0);
  free(pkg);
  envelopes_free(envs, n); /* envs[n] is envs2[0]'s */
  envelopes_free(envs2, n2);
}

Test(node_package, a_package_missing_ops_is_refused_with_nothing_stored)
{
  uint8_t file[CRDT_FILE_LEN], *pkg;
  bt_bytes *envs;
  size_t n, len;
  snap before;

  file_for_other(file);
  n = envelopes(&school, file, &envs);
  before = snapshot(&mash, file);
  /* Without the genesis (the only root): every other op lacks a parent. */
  size_t root = 0;
  for (size_t i = 0; i < n; i++) {
    crdt_op *op;
    cr_assert_eq(crdt_op_decode(envs[i].p, envs[i].len, &op), BT_OK);
    if (op->h.nparents == 0)
      root = i;
    crdt_op_free(op);
  }
  bt_bytes keep = envs[root];
  envs[root] = envs[n - 1];
  pkg = forge(&school, file, envs, n - 1, &len);
  cr_assert_neq(import(&mash, pkg, len, PASS), BT_OK);
  same(before, snapshot(&mash, file), "incomplete");
  envs[root] = keep;
  free(pkg);
  envelopes_free(envs, n);
}

Test(node_package, an_uncertified_sender_is_refused_with_nothing_stored)
{
  party rogue = {0};
  uint8_t file[CRDT_FILE_LEN], *pkg;
  bt_bytes *envs;
  size_t n, len;
  node_pkg_opts o = pass_opts;
  snap before;

  party_open(&rogue, "Rogue School", CRDT_ORG_SCHOOL);
  party_new_file(&rogue, file);
  cr_assert_eq(node_package_export(rogue.s, DSL, NODE_ROLE_DSL, file, &o, &pkg, &len),
               BT_ESELFSIGNED, "a provisional org cannot export");
  n = envelopes(&rogue, file, &envs);
  pkg = forge(&rogue, file, envs, n, &len);
  before = snapshot(&mash, file);
  cr_assert_eq(import(&mash, pkg, len, PASS), BT_ESELFSIGNED);
  same(before, snapshot(&mash, file), "uncertified");
  free(pkg);
  envelopes_free(envs, n);
  party_close(&rogue);
}

Test(node_package, files_are_written_once_mode_0600_and_read_back)
{
  char dir[64], path[128];
  uint8_t data[100] = {1, 2, 3}, *back;
  size_t len;
  struct stat st;

  party_mkdtemp(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/p.baton", dir);
  cr_assert_eq(node_package_write(path, data, sizeof(data)), BT_OK);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  cr_assert_eq(node_package_write(path, data, sizeof(data)), BT_EDUP);
  cr_assert_eq(node_package_read(path, &back, &len), BT_OK);
  cr_assert_eq(len, sizeof(data));
  cr_assert_eq(memcmp(back, data, len), 0);
  free(back);
  party_rmdir(dir);
}
