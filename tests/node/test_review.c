/* tests/node/test_review.c: regressions for defects a review found in the
 * LA directory (node/dir.c), extracts (node/extract.c), counts
 * (node/counts.c) and orgs (node/org.c), between real stores set up as in
 * test_share.c (parties.h): an LA (root), a school that holds a file, a
 * MASH and a second school.
 *
 * Two tests need the store to meet a condition at one exact moment:
 * another process storing ops between two reads, and a storage error in
 * the middle of a write. This file defines mdb_txn_begin and mdb_get,
 * which the node library (linked statically) then calls instead of
 * LMDB's; they pass through to LMDB's (dlsym RTLD_NEXT) unless a test arms
 * them. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <lmdb.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crdt/directory.h"
#include "crdt/err.h"
#include "crdt/hlc.h"
#include "node/dir.h"
#include "node/enrol.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/store.h"
#include "node/users.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK 1
#endif
#endif

/* ---- LMDB hooks ----------------------------------------------------------- */

static struct {
  void (*on_read)(void); /* called before a read-only transaction begins */
  int reads_left;        /* ... this many times */
  const crdt_id *miss;   /* mdb_get of these keys finds nothing */
  size_t nmiss;
} hook;

int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
  static int (*real)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **);

  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "mdb_txn_begin");
  if ((flags & MDB_RDONLY) && hook.on_read && hook.reads_left > 0) {
    void (*f)(void) = hook.on_read;
    hook.reads_left--;
    hook.on_read = NULL; /* f itself uses the store */
    f();
    hook.on_read = f;
  }
  return real(env, parent, flags, txn);
}

int mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
  static int (*real)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);

  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "mdb_get");
  for (size_t i = 0; i < hook.nmiss; i++)
    if (key->mv_size == CRDT_ID_LEN && memcmp(key->mv_data, hook.miss[i].b, CRDT_ID_LEN) == 0)
      return MDB_NOTFOUND;
  return real(txn, dbi, key, data);
}

/* ---- parties (parties.h) ------------------------------------------------- */

static party la, school, mash, other;

static void setup(void)
{
  memset(&hook, 0, sizeof(hook));
  parties_open(&la, &school, &mash, &other);
}

static void teardown(void)
{
  memset(&hook, 0, sizeof(hook));
  parties_close(&la, &school, &mash, &other);
}

TestSuite(node_review, .init = setup, .fini = teardown);

static size_t stored_ops(party *p)
{
  size_t ops = 0, buffered = 0;

  cr_assert_eq(node_store_counts(p->s, &ops, &buffered), BT_OK);
  return ops + buffered;
}

/* ---- the LA directory ---------------------------------------------------- */

/* n directory ops sealed by a key that is not the root (anyone can send
 * such ops: the directory file is public), each without parents. */
static bt_bytes *junk_ops(const crdt_id *root, size_t n, crdt_op ***ops)
{
  uint8_t file[CRDT_FILE_LEN], pk[CRDT_PK_LEN], sk[CRDT_SK_LEN], nonce[CRDT_NONCE_LEN];
  bt_bytes *envs = calloc(n, sizeof(*envs));

  *ops = calloc(n, sizeof(**ops));
  cr_assert(envs && *ops);
  node_dir_file(root, file);
  crypto_sign_keypair(pk, sk);
  for (size_t i = 0; i < n; i++) {
    crdt_body b = {.type = CRDT_OP_DIR_REVOKE, .known = 1, .user = BT_STR("junk")};
    crdt_id subject;
    randombytes_buf(subject.b, sizeof(subject.b));
    randombytes_buf(nonce, sizeof(nonce));
    b.hlc = crdt_hlc_make(party_now_ms, (uint32_t)i);
    b.u.dir_revoke = (crdt_dir_revoke){subject, BT_STR("junk"), party_now_ms};
    cr_assert_eq(crdt_directory_seal(file, sk, i + 1, NULL, 0, &b, nonce, &(*ops)[i]), BT_OK);
    envs[i] = (bt_bytes){(*ops)[i]->env, (*ops)[i]->env_len};
  }
  return envs;
}

static void junk_free(bt_bytes *envs, crdt_op **ops, size_t n)
{
  for (size_t i = 0; i < n; i++)
    crdt_op_free(ops[i]);
  free(ops);
  free(envs);
}

static void ingest_all(party *p, const bt_bytes *envs, size_t n)
{
  node_ingest_result *res = calloc(n, sizeof(*res));

  cr_assert_eq(node_ingest(p->s, envs, n, res, NULL), BT_OK);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(res[i].status, NODE_STORED, "op %zu", i);
  free(res);
}

Test(node_review, junk_in_the_directory_does_not_stop_the_la)
{
  uint8_t dfile[CRDT_FILE_LEN];
  crdt_id root, first, second, third;
  crdt_directory *dir;
  crdt_op **ops, *op;
  size_t heads = 0;
  enum { JUNK = 70 };

  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  node_dir_file(&root, dfile);
  cr_assert_eq(node_dir_publish(la.s, school.cert, school.cert_len, &first), BT_OK);
  bt_bytes *envs = junk_ops(&root, JUNK, &ops);
  ingest_all(&la, envs, JUNK);
  cr_assert_eq(node_heads(la.s, dfile, NULL, 0, &heads), BT_OK);
  cr_assert_eq(heads, JUNK + 1, "more heads than an op may have parents");
  /* The LA still publishes, and its ops chain on its own. */
  cr_assert_eq(node_dir_publish(la.s, mash.cert, mash.cert_len, &second), BT_OK);
  cr_assert_eq(node_op_get(la.s, &second, &op), BT_OK);
  cr_assert_eq(op->h.seq, 2, "other keys' ops do not count in the root's seq");
  cr_assert_eq(op->h.nparents, 1);
  cr_assert_eq(crdt_id_cmp(&op->h.parents[0], &first), 0);
  crdt_op_free(op);
  cr_assert_eq(node_dir_revoke(la.s, &root, "test", party_now_ms + 1, &third), BT_OK);
  cr_assert_eq(node_op_get(la.s, &third, &op), BT_OK);
  cr_assert_eq(op->h.seq, 3);
  cr_assert_eq(op->h.nparents, 1);
  cr_assert_eq(crdt_id_cmp(&op->h.parents[0], &second), 0);
  crdt_op_free(op);
  /* Whoever reads it sees the LA's listings, the junk rejected. */
  cr_assert_eq(node_dir_track(school.s, &root), BT_OK);
  party_sync(&la, &school, dfile);
  cr_assert_eq(node_dir_get(school.s, &root, party_now_ms, &dir), BT_OK);
  cr_assert_eq(dir->nentries, 2);
  cr_assert_eq(dir->nrejected, JUNK);
  cr_assert_eq(dir->nrevocations, 1);
  crdt_directory_free(dir);
  junk_free(envs, ops, JUNK);
}

Test(node_review, an_untracked_directory_is_not_a_file_here)
{
  crdt_directory *dir = NULL;
  crdt_id root;

  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  cr_assert_eq(node_dir_get(school.s, &root, party_now_ms, &dir), BT_ENOFILE);
  cr_assert_null(dir);
  size_t n = 99;
  cr_assert_eq(node_dir_apply(school.s, &root, party_now_ms, &n), BT_ENOFILE);
  cr_assert_eq(node_dir_track(school.s, &root), BT_OK);
  cr_assert_eq(node_dir_get(school.s, &root, party_now_ms, &dir), BT_OK);
  cr_assert_eq(dir->nentries, 0);
  crdt_directory_free(dir);
}

/* Ops another process stores while node_dir_get reads: one before each of
 * its first read transactions. */
static bt_bytes *racing;
static size_t nracing, raced;

static void store_racing_op(void)
{
  node_ingest_result res = {0};

  if (raced < nracing) {
    cr_assert_eq(node_ingest(school.s, &racing[raced++], 1, &res, NULL), BT_OK);
    cr_assert_eq(res.status, NODE_STORED);
  }
}

Test(node_review, reading_the_directory_while_ops_arrive_stays_in_bounds)
{
  uint8_t dfile[CRDT_FILE_LEN];
  crdt_directory *dir;
  crdt_op **ops;
  crdt_id root;
  enum { RACE = 4 };

  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  node_dir_file(&root, dfile);
  cr_assert_eq(node_dir_publish(la.s, school.cert, school.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_publish(la.s, mash.cert, mash.cert_len, NULL), BT_OK);
  cr_assert_eq(node_dir_track(school.s, &root), BT_OK);
  party_sync(&la, &school, dfile);
  racing = junk_ops(&root, RACE, &ops);
  nracing = RACE;
  raced = 0;
  hook.on_read = store_racing_op;
  hook.reads_left = RACE;
  int rc = node_dir_get(school.s, &root, party_now_ms, &dir);
  hook.on_read = NULL;
  cr_assert_eq(rc, BT_OK, "%s", bt_errname(rc));
  cr_assert_eq(raced, RACE, "ops arrived while it read");
  cr_assert_eq(dir->nentries, 2);
  cr_assert_leq(dir->nrejected, RACE);
  crdt_directory_free(dir);
  junk_free(racing, ops, RACE);
}

/* ---- extracts ------------------------------------------------------------ */

Test(node_review, a_refused_extract_leaves_no_file_behind)
{
  uint8_t file[CRDT_FILE_LEN], ex[CRDT_FILE_LEN];
  node_grant_req g;
  crdt_id ids[2];

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "bruise on arm", &ids[0]), BT_OK);
  cr_assert_eq(party_note(&school, file, "disclosure", &ids[1]), BT_OK);
  size_t before = stored_ops(&school);

  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.basis = 0;
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_EMISSING, "no lawful basis");
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.consent_how = NULL;
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_EMISSING, "consent without how");
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.rights = 7;
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_EINVAL, "bad rights");
  g = party_consent_req(&school, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_EDUP, "to itself: it holds the extract already");
  /* A provisional (self-signed) certificate is no grantee. */
  party fake = {0};
  party_open(&fake, "Unvetted School", CRDT_ORG_SCHOOL);
  node_org fo;
  cr_assert_eq(node_org_get(fake.s, &fo), BT_OK);
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  g.org_cert = fo.org_cert;
  g.org_cert_len = fo.org_cert_len;
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_ESELFSIGNED);
  node_org_clear(&fo);
  party_close(&fake);
  /* The LA revoked the partner, and the school applied it. */
  crdt_cert *mc;
  cr_assert_eq(crdt_cert_decode(mash.cert, mash.cert_len, &mc), BT_OK);
  cr_assert_eq(node_revoked_add(school.s, &mc->b.subject), BT_OK);
  crdt_cert_free(mc);
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, ids, 2, &g, ex),
               BT_EREVOKED);
  cr_assert_eq(stored_ops(&school), before, "nothing was written");
}

Test(node_review, only_the_holder_makes_an_extract)
{
  uint8_t file[CRDT_FILE_LEN], ex[CRDT_FILE_LEN];
  node_grant_req gm = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  node_grant_req go = party_consent_req(&other, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id id, grant;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "bruise on arm", &id), BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &gm, &grant), BT_OK);
  party_sync(&school, &mash, file);
  cr_assert(party_shows(&mash, file, "bruise on arm"));
  size_t before = stored_ops(&mash);
  cr_assert_eq(node_extract_as(mash.s, "dsl.jones", NODE_ROLE_DSL, file, &id, 1, &go, ex),
               BT_EDENIED, "a grantee that may write may not re-share, extracts included");
  cr_assert_eq(stored_ops(&mash), before);
}

Test(node_review, extracts_are_tagged_and_not_counted_again)
{
  uint8_t file[CRDT_FILE_LEN], ex[CRDT_FILE_LEN];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  const crdt_casefile *cf;
  node_counts k;
  crdt_id id;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "bruise on arm", &id), BT_OK);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &id, 1, &g, ex),
               BT_OK);
  cr_assert_eq(node_casefile(school.s, ex, &cf), BT_OK);
  int tagged = 0;
  for (size_t i = 0; i < cf->ntags; i++)
    tagged |= bt_str_eq(cf->tags[i], BT_STR("extract"));
  cr_assert(tagged, "the extract says what it is");
  cr_assert_eq(node_casefile(school.s, file, &cf), BT_OK);
  cr_assert_eq(cf->ntags, 0, "the main file is not tagged");
  cr_assert_eq(node_counts_as(school.s, NODE_ROLE_HEAD, party_now_ms, &k), BT_OK);
  cr_assert_eq(k.files, 1, "one child, one file counted");
  cr_assert_eq(k.open, 1);
}

/* Whether `runs` calls of leak_fn leak memory: LeakSanitizer's check under
 * ASan, else glibc's count of bytes in use growing by 256 a call or more
 * (the leak this looks for is an encoded body of at least 512). */
static void (*leak_fn)(void);

static int leaks(int runs)
{
#ifdef LEAK_CHECK
  for (int i = 0; i < runs; i++)
    leak_fn();
  return __lsan_do_recoverable_leak_check() != 0;
#else
  for (int i = 0; i < 3; i++) /* caches and the like settle first */
    leak_fn();
  size_t before = mallinfo2().uordblks;
  for (int i = 0; i < runs; i++)
    leak_fn();
  size_t after = mallinfo2().uordblks;
  return after > before && after - before >= (size_t)runs * 256;
#endif
}

static uint8_t link_file[CRDT_FILE_LEN], link_ex[CRDT_FILE_LEN];
static crdt_id link_reply;

/* Links the reply while every head of the main file reads as missing: the
 * copy op fails with BT_ENOTFOUND after the reply was encoded. */
static void failing_link(void)
{
  crdt_id heads[CRDT_PARENTS_MAX], out;
  const crdt_casefile *cf;
  size_t nh;

  cr_assert_eq(node_casefile(school.s, link_file, &cf), BT_OK);
  cr_assert_eq(node_heads(school.s, link_file, heads, CRDT_PARENTS_MAX, &nh), BT_OK);
  hook.miss = heads;
  hook.nmiss = nh;
  int rc = node_extract_link_as(school.s, "dsl.jones", NODE_ROLE_DSL, link_file, link_ex,
                                &link_reply, &out);
  hook.miss = NULL;
  hook.nmiss = 0;
  cr_assert_eq(rc, BT_ENOTFOUND, "%s", bt_errname(rc));
}

Test(node_review, a_link_that_fails_wipes_and_frees_what_it_encoded)
{
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_id id, out;

  party_new_file(&school, link_file);
  cr_assert_eq(party_note(&school, link_file, "bruise on arm", &id), BT_OK);
  cr_assert_eq(node_extract_as(school.s, "dsl.jones", NODE_ROLE_DSL, link_file, &id, 1, &g,
                               link_ex), BT_OK);
  party_sync(&school, &mash, link_ex);
  cr_assert_eq(party_note(&mash, link_ex, "strategy meeting set for Friday", &link_reply), BT_OK);
  party_sync(&mash, &school, link_ex);
  leak_fn = failing_link;
  cr_assert_not(leaks(50), "the encoded reply is freed when the copy fails");
  cr_assert_eq(node_extract_link_as(school.s, "dsl.jones", NODE_ROLE_DSL, link_file, link_ex,
                                    &link_reply, &out), BT_OK, "and links once the store is well");
}

/* ---- orgs ----------------------------------------------------------------- */

Test(node_review, keyboxes_stored_before_the_org_are_taken_when_it_is_adopted)
{
  uint8_t file[CRDT_FILE_LEN];
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *req, *ans;
  size_t rl, al;
  party laptop = {0};
  crdt_id root;

  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "home visit", NULL), BT_OK);
  /* A node without an org carries the file first (a relay). */
  party_open(&laptop, NULL, 0);
  party_sync(&school, &laptop, file);
  cr_assert_not(party_shows(&laptop, file, "home visit"));
  /* Then it joins the school's org by enrolment. */
  cr_assert_eq(node_enrol_issue(school.s, "DSL laptop", 600000, party_now_ms, code), BT_OK);
  cr_assert_eq(node_enrol_request(laptop.s, code, &req, &rl), BT_OK);
  cr_assert_eq(node_enrol_answer(school.s, req, rl, party_now_ms, &ans, &al), BT_OK);
  cr_assert_eq(node_enrol_accept(laptop.s, code, ans, al), BT_OK);
  cr_assert_eq(node_root_pk(la.s, &root), BT_OK);
  cr_assert_eq(node_anchor_add(laptop.s, &root), BT_OK);
  free(req);
  free(ans);
  cr_assert(party_shows(&laptop, file, "home visit"), "the keybox it already held opens the file");
  cr_assert_eq(party_note(&laptop, file, "written on the laptop", NULL), BT_OK);
  party_close(&laptop);
}

Test(node_review, a_grant_stored_before_the_grantee_org_came_opens_the_file)
{
  uint8_t file[CRDT_FILE_LEN];
  node_grant_req g;
  party late = {0};
  node_org o;
  crdt_id grant;

  /* The org certificate is made before the store's org exists here: the
   * same keys, adopted, stand for an org created on another node. */
  party_open(&late, NULL, 0);
  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "before the org", NULL), BT_OK);
  g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  party_sync(&school, &late, file);
  cr_assert_not(party_shows(&late, file, "before the org"));
  /* The MASH's keys, moved to this store as an org of its own. */
  node_secret *sign, *box;
  uint8_t *dcert;
  size_t dlen;
  uint8_t dev[CRDT_PK_LEN];
  cr_assert_eq(node_org_get(mash.s, &o), BT_OK);
  cr_assert_eq(node_org_sign_sk(mash.s, &sign), BT_OK);
  cr_assert_eq(node_org_box_sk(mash.s, &box), BT_OK);
  node_store_device(late.s, dev);
  cr_assert_eq(node_org_certify_device(mash.s, dev, "late", party_now_ms, &dcert, &dlen), BT_OK);
  cr_assert_eq(node_org_adopt(late.s, node_secret_bytes(sign), node_secret_bytes(box),
                              o.org_cert, o.org_cert_len, dcert, dlen), BT_OK);
  cr_assert(party_shows(&late, file, "before the org"));
  free(dcert);
  node_secret_free(sign);
  node_secret_free(box);
  node_org_clear(&o);
  party_close(&late);
}
