/* tests/cli/test_cli_share.c: sharing a case file through the real
 * `baton` binary, and a front-sheet conflict shown and resolved.
 *
 * The LA (root key and directory) and the partner org (County MASH) are
 * made in-process with tests/node/parties.c, and the school's own store
 * (made by `baton init`) is opened in-process between runs only to be
 * certified, to trust the LA and to receive the directory's ops -- what
 * sync does between nodes. For the conflict, the MASH (granted write
 * rights by `baton share grant`) writes the plan status in-process while
 * the school's DSL writes another with `baton file set`, neither seeing
 * the other; the MASH's ops are then copied into the school's store. */
#define _XOPEN_SOURCE 700
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <time.h>

#include "cli/files_fixture.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/users.h"

static party la, mash, school;
static crdt_id root_pk;

static void init(void)
{
  cli_setup();
  memset(&la, 0, sizeof la);
  memset(&mash, 0, sizeof mash);
  memset(&school, 0, sizeof school);
}

static void fini(void)
{
  node_store_close(school.s);
  if (la.s)
    party_close(&la);
  if (mash.s)
    party_close(&mash);
  cli_teardown();
}

TestSuite(cli_share, .init = init, .fini = fini);

/* The school's store as `baton init` made it (default dir and key file). */
static void school_open(void)
{
  char dir[192], key[192];
  node_store_opts o = {0};

  snprintf(dir, sizeof dir, "%s/.local/share/baton", home);
  snprintf(key, sizeof key, "%s/.config/baton/node.key", home);
  o.dir = dir;
  o.key_file = key;
  cr_assert_eq(node_store_open(&school.s, &o), BT_OK);
}

static void school_close(void)
{
  node_store_close(school.s);
  school.s = NULL;
}

/* The LA, a certified MASH listed in the LA's directory, and the school
 * certified, trusting the LA and holding its directory. */
static void network(void)
{
  uint8_t dfile[CRDT_FILE_LEN];
  node_org o;
  uint8_t *cert;
  size_t len;

  struct timespec ts;

  /* the wall clock to the millisecond: the school's device certificate
   * (made by `baton init` a moment ago) must already be valid */
  clock_gettime(CLOCK_REALTIME, &ts);
  party_now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  party_open(&la, NULL, 0);
  cr_assert_eq(node_root_create(la.s, &root_pk), BT_OK);
  party_join(&la, &mash, "County MASH", CRDT_ORG_MASH);
  cr_assert_eq(node_dir_publish(la.s, mash.cert, mash.cert_len, NULL), BT_OK);
  school_open();
  cr_assert_eq(node_org_get(school.s, &o), BT_OK);
  cr_assert_eq(node_root_certify(la.s, o.org_cert, o.org_cert_len, party_now_ms, 365, &cert,
                                 &len), BT_OK);
  node_org_clear(&o);
  cr_assert_eq(node_anchor_add(school.s, &root_pk), BT_OK);
  int irc = node_org_install(school.s, cert, len, party_now_ms);
  cr_assert_eq(irc, BT_OK, "%s", bt_errname(irc));
  free(cert);
  cr_assert_eq(node_dir_track(school.s, &root_pk), BT_OK);
  node_dir_file(&root_pk, dfile);
  party_sync(&la, &school, dfile);
  school_close();
}

static void file_id(const char *hex, uint8_t fid[CRDT_FILE_LEN])
{
  for (size_t i = 0; i < CRDT_FILE_LEN; i++) {
    unsigned v;
    cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
    fid[i] = (uint8_t)v;
  }
}

static json_t *grants(const char *file)
{
  cr_assert_eq(AS_DSL("--json", "grants", file), 0, "%s", err);
  return parse_out();
}

Test(cli_share, grant_extract_revoke_and_decide_need_a_lawful_basis)
{
  char file[40], concern[72], grant[72], fpr[CRDT_FPR_LEN], pre[16];
  size_t before;
  json_t *j, *g;

  fx_node();
  network();
  fx_open(file);
  fx_staff_concern(file, concern, "t.smith", STAFF_PASS);

  /* no basis, or a partial one: refused before anything, nothing changed */
  before = fx_ops();
  cr_assert_eq(AS_DSL("share", "grant", file, "--to", "County MASH", "--purpose", "referral"),
               2);
  cr_assert_not_null(strstr(err, "no lawful basis"), "%s", err);
  cr_assert_eq(AS_DSL("share", "grant", file, "--to", "County MASH", "--purpose", "referral",
                      "--basis", "consent", "--consent-by", "Mother", "--consent-how",
                      "in person"), 2);
  cr_assert_eq(AS_DSL("share", "grant", file, "--to", "Elm Academy", "--purpose", "referral",
                      "--basis", "harm", "--reason", "r"), 1);
  cr_assert_not_null(strstr(err, "no org 'Elm Academy' in the LA directory"), "%s", err);
  cr_assert_eq(AS_STAFF("share", "grant", file, "--to", "County MASH", "--purpose",
                        "referral", "--basis", "harm", "--reason", "r"), 1);
  cr_assert_eq(fx_ops(), before);
  j = grants(file);
  cr_assert_eq(json_array_size(json_object_get(j, "grants")), 0);
  json_decref(j);

  /* a grant on the basis of significant harm, with write rights and an expiry */
  cr_assert_eq(AS_DSL("--json", "share", "grant", file, "--to", "County MASH", "--purpose",
                      "referral", "--basis", "harm", "--reason", "Disclosure of assault",
                      "--rights", "write", "--expires", "2099-12-31"), 0, "%s", err);
  j = parse_out();
  snprintf(grant, sizeof grant, "%s", jstr(j, "grant"));
  cr_assert_str_eq(jstr(j, "org"), "County MASH");
  json_decref(j);
  j = grants(file);
  g = json_array_get(json_object_get(j, "grants"), 0);
  cr_assert_eq(json_array_size(json_object_get(j, "grants")), 1);
  cr_assert_str_eq(jstr(g, "id"), grant);
  cr_assert_str_eq(jstr(g, "state"), "live");
  cr_assert_str_eq(jstr(g, "org_name"), "County MASH");
  cr_assert_str_eq(jstr(g, "basis"), "significant_harm");
  cr_assert_str_eq(jstr(g, "reason"), "Disclosure of assault");
  cr_assert_str_eq(jstr(g, "approved_by"), "dsl.jones");
  cr_assert_str_eq(jstr(g, "rights"), "read_write");
  cr_assert_str_eq(jstr(g, "expires_at"), "2100-01-01T00:00:00Z");
  json_decref(j);
  cr_assert_eq(AS_DSL("share", "grant", file, "--to", "County MASH", "--purpose", "referral",
                      "--basis", "harm", "--reason", "again"), 1);
  cr_assert_not_null(strstr(err, "already has a live grant"), "%s", err);

  /* an extract of one entry, the partner named by a fingerprint prefix, on consent */
  {
    node_org mo;
    cr_assert_eq(node_org_get(mash.s, &mo), BT_OK);
    crdt_fingerprint(mo.sign_pk.b, CRDT_PK_LEN, fpr);
    node_org_clear(&mo);
  }
  snprintf(pre, sizeof pre, "%.9s", fpr); /* "ABCD-EFGH" */
  cr_assert_eq(AS_DSL("--json", "share", "extract", file, "--to", pre, "--entries",
                      fx_short(concern), "--purpose", "referral", "--basis", "consent",
                      "--consent-by", "Mother", "--consent-how", "in person",
                      "--consent-on", "2026-03-01"), 0, "%s", err);
  j = parse_out();
  cr_assert_eq(strlen(jstr(j, "extract")), 32);
  json_decref(j);

  /* a decision not to share is recorded in the file */
  cr_assert_eq(AS_DSL("share", "decide", file, "--not-share", "--with", "Police",
                      "--reason", "No risk; family not told"), 0, "%s", err);
  cr_assert_eq(AS_DSL("--json", "file", "show", file, "--part", "entries"), 0, "%s", err);
  j = parse_out();
  size_t i, decisions = 0;
  json_array_foreach(json_object_get(j, "entries"), i, g)
    if (strcmp(jstr(g, "type"), "decision") == 0 &&
        strcmp(jstr(g, "fields.decision"), "not_share") == 0 &&
        strcmp(jstr(g, "fields.with_whom"), "Police") == 0)
      decisions++;
  cr_assert_eq(decisions, 1, "%s", out);
  json_decref(j);

  /* revoke: the grant is shown revoked; a second revoke is refused */
  cr_assert_eq(AS_DSL("share", "revoke", file, fx_short(grant)), 2);
  cr_assert_eq(AS_DSL("share", "revoke", file, fx_short(grant), "--reason", "Case closed"), 0,
               "%s", err);
  j = grants(file);
  cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "grants"), 0), "state"), "revoked");
  json_decref(j);
  cr_assert_eq(AS_DSL("share", "revoke", file, fx_short(grant), "--reason", "again"), 1);
  cr_assert_not_null(strstr(err, "no live grant"), "%s", err);
}

Test(cli_share, a_front_sheet_conflict_is_shown_with_every_value_then_resolved)
{
  char file[40];
  uint8_t fid[CRDT_FILE_LEN];
  crdt_fieldval v = {CRDT_FS_PLAN, BT_STR("cin")};
  crdt_body b = {0};
  crdt_id id;
  json_t *j, *c;

  fx_node();
  network();
  fx_open(file);
  file_id(file, fid);
  cr_assert_eq(AS_DSL("share", "grant", file, "--to", "County MASH", "--purpose", "strategy_meeting",
                      "--basis", "harm", "--reason", "Strategy meeting", "--rights", "write"),
               0, "%s", err);
  /* the MASH gets the file and writes the plan status... */
  school_open();
  party_sync(&school, &mash, fid);
  school_close();
  b.type = CRDT_OP_FIELD_SET;
  b.u.fields = (crdt_fields){&v, 1};
  cr_assert_eq(node_author_as(mash.s, "mash.duty", NODE_ROLE_DSL, fid, &b, &id), BT_OK);
  /* ...while the school's DSL writes another, not having seen it */
  cr_assert_eq(AS_DSL("file", "set", file, "plan_status", "lac"), 0, "%s", err);
  school_open();
  party_sync(&mash, &school, fid);
  school_close();

  cr_assert_eq(AS_DSL("--json", "file", "show", file), 3, "%s", err);
  cr_assert_not_null(strstr(err, "conflict"), "%s", err);
  j = parse_out();
  c = json_array_get(json_object_get(j, "conflicts"), 0);
  cr_assert_eq(json_array_size(json_object_get(j, "conflicts")), 1, "%s", out);
  cr_assert_str_eq(jstr(c, "field"), "plan_status");
  cr_assert_eq(json_array_size(json_object_get(c, "values")), 2);
  cr_assert(fx_has(json_object_get(json_object_get(json_object_get(j, "front"), "plan_status"),
                                   "conflict"), "cin"), "%s", out);
  cr_assert(fx_has(json_object_get(json_object_get(json_object_get(j, "front"), "plan_status"),
                                   "conflict"), "lac"), "%s", out);
  json_decref(j);
  cr_assert_eq(AS_DSL("file", "show", file), 3);
  cr_assert_not_null(strstr(out, "CONFLICT plan_status"), "%s", out);
  cr_assert_eq(AS_DSL("files"), 0);
  cr_assert_not_null(strstr(out, "CONFLICT"), "%s", out);
  cr_assert_eq(AS_DSL("file", "show", file, "--part", "chronology"), 0, "no front: no 3");

  cr_assert_eq(AS_DSL("file", "resolve", file, "plan_status", "cin"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "Resolved plan_status"), "%s", out);
  cr_assert_eq(AS_DSL("--json", "file", "show", file), 0, "%s", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "front.plan_status"), "cin");
  cr_assert_eq(json_array_size(json_object_get(j, "conflicts")), 0);
  json_decref(j);
}
