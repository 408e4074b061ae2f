/* tests/cli/test_cli_package.c: `baton package export` and `baton package
 * import` through the real binary, on stores the test sets up in-process
 * (tests/node/parties.h: an LA whose directory lists Oak Primary, County
 * MASH and Elm Academy), as test_cli_transfer.c does. Here nothing is
 * synced: the file and its receipts move only as package files, as between
 * schools without a running node. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/runner.h"
#include "cli/world.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "crdt/cert.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/users.h"

TestSuite(cli_package, .init = world_open, .fini = world_close, .timeout = 300);

/* baton as a user of p's node (world.h). */
static int as(party *p, const char *user, const char *pass, const char *const *args)
{
  return world_as(p, user, pass, NULL, args);
}
#define PKGPASS "BATON_PACKAGE_PASSPHRASE=correct horse battery"

static size_t ops(party *p)
{
  return world_ops(p);
}

/* Every op in p's store, stored or buffered. */
static size_t all_ops(party *p)
{
  size_t n = 0, b = 0;

  cr_assert_eq(node_store_counts(p->s, &n, &b), BT_OK);
  return n + b;
}

static void path(char *buf, const char *name)
{
  snprintf(buf, 256, "%s/%s", root, name);
}

static int exists(const char *p)
{
  struct stat st;

  return stat(p, &st) == 0;
}

static unsigned char *slurp(const char *p, size_t *len)
{
  FILE *f = fopen(p, "rb");
  unsigned char *b;
  long n;

  cr_assert(f, "%s", p);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc((size_t)n + 1);
  cr_assert(b);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void spit(const char *p, const void *b, size_t len)
{
  FILE *f = fopen(p, "wb");

  cr_assert(f, "%s", p);
  cr_assert_eq(fwrite(b, 1, len, f), len);
  fclose(f);
}

/* The only transfer in the JSON of `transfers`. */
static const json_t *only(json_t *doc)
{
  const json_t *xs = json_object_get(doc, "transfers");

  cr_assert_eq(json_array_size(xs), 1, "one transfer listed: %s", out);
  return json_array_get(xs, 0);
}

/* No secret and no child's name in what baton said. */
static void says_nothing_private(void)
{
  const char *bad[] = {"Amy", "Bell", "correct horse", "oak pass", "elm pass", "disclosure"};

  cr_assert_null(strstr(err, "Sanitizer"), "%s", err); /* ASan builds: refusals exit 1 too */
  cr_assert_null(strstr(err, "runtime error:"), "%s", err);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_null(strstr(err, bad[i]), "stderr names '%s': %s", bad[i], err);
    cr_assert_null(strstr(out, bad[i]), "stdout names '%s': %s", bad[i], out);
  }
}

static void status_is(party *p, const char *user, const char *pass, const char *want,
                      const char *dir)
{
  json_t *doc;
  const json_t *x;

  cr_assert_eq(as(p, user, pass, (const char *const[]){"--json", "transfers", NULL}), 0, "%s",
               err);
  doc = parse_out();
  x = only(doc);
  cr_assert_str_eq(jstr(x, "status"), want, "%s", out);
  cr_assert_str_eq(jstr(x, "direction"), dir, "%s", out);
  json_decref(doc);
}

Test(cli_package, org_mode_carries_the_file_and_its_receipts_both_ways)
{
  char p[256], r[256], r2[256];
  json_t *doc;
  const json_t *x;
  size_t oak_before;

  path(p, "to-elm.baton");
  path(r, "to-elm.receipt");
  path(r2, "ack.baton");
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  {
    /* --to by a fingerprint prefix, dashes and case as a person types them */
    node_org elm;
    char f[CRDT_FPR_LEN], q[16];
    cr_assert_eq(node_org_get(other.s, &elm), BT_OK);
    crdt_fingerprint(elm.sign_pk.b, CRDT_PK_LEN, f);
    node_org_clear(&elm);
    snprintf(q, sizeof q, "%.9s", f);
    for (char *c = q; *c; c++)
      *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    cr_assert_eq(OAK("--json", "package", "export", fid, "--to", q, "--out", p), 0, "%s: %s", q,
                 err);
  }
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "mode"), "org");
  cr_assert_str_eq(jstr(doc, "package"), p);
  json_decref(doc);
  says_nothing_private();
  {
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "package mode %o", st.st_mode & 0777);
  }
  cr_assert_eq(ops(&other), 0, "Elm has nothing of the file yet");

  cr_assert_eq(ELM("--json", "package", "import", p, "--receipt", r), 0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "file"), fid);
  cr_assert_str_eq(jstr(doc, "receipt"), r);
  json_decref(doc);
  says_nothing_private();
  cr_assert(exists(r), "a receipt for Oak");
  cr_assert_eq(ELM("--json", "file", "show", fid), 0, "%s", err);
  cr_assert(strstr(out, "disclosure in class"), "Elm reads every entry: %s", out);
  cr_assert(strstr(out, "Received by package from Oak Primary"), "%s", out);
  cr_assert_eq(ELM("--json", "transfers"), 0, "%s", err);
  doc = parse_out();
  x = only(doc);
  cr_assert_str_eq(jstr(x, "direction"), "in");
  cr_assert_str_eq(jstr(x, "state"), "delivered", "%s", out);
  json_decref(doc);

  {
    char again[256];
    size_t elm = ops(&other);
    path(again, "again.receipt");
    cr_assert_eq(ELM("--json", "package", "import", p, "--receipt", again), 0, "%s", err);
    doc = parse_out();
    cr_assert_eq(json_integer_value(json_object_get(doc, "stored")), 0, "%s", out);
    json_decref(doc);
    cr_assert(!exists(again), "a second import makes no receipt");
    cr_assert_eq(ops(&other), elm);
  }
  oak_before = ops(&school);
  cr_assert_eq(OAK("--json", "package", "import", r), 0, "%s", err);
  says_nothing_private();
  cr_assert_gt(ops(&school), oak_before, "Elm's ops are stored at Oak");
  status_is(&school, "dsl.jones", "oak pass", "delivered", "out");
  cr_assert_eq(OAK("package", "import", r), 0, "a second import stores nothing new: %s", err);

  cr_assert_eq(ELM("transfer", "ack", fid, "--stored", "locked cabinet"), 0, "%s", err);
  cr_assert_eq(ELM("package", "export", fid, "--to", "Oak Primary", "--out", r2), 0, "%s",
               err);
  says_nothing_private();
  cr_assert_eq(OAK("package", "import", r2), 0, "%s", err);
  says_nothing_private();
  cr_assert_eq(OAK("--json", "transfers"), 0, "%s", err);
  doc = parse_out();
  x = only(doc);
  cr_assert_str_eq(jstr(x, "status"), "acknowledged", "%s", out);
  cr_assert_str_eq(jstr(x, "acknowledged_by"), "dsl.green");
  cr_assert_str_eq(jstr(x, "stored"), "locked cabinet");
  json_decref(doc);
  cr_assert_eq(ops(&school), ops(&other), "both hold the same file");
}

Test(cli_package, passphrase_mode_round_trip_with_a_receipt_document)
{
  char p[256], r[256];
  json_t *doc;
  size_t before;

  path(p, "pass.baton");
  path(r, "pass.receipt");
  cr_assert_eq(OAK_PW(PKGPASS, "--json", "package", "export", fid, "--passphrase", "--out", p),
               0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "mode"), "passphrase");
  json_decref(doc);
  says_nothing_private();

  cr_assert_eq(ELM("package", "import", p), 1, "no passphrase, no terminal");
  cr_assert(strstr(err, "BATON_PACKAGE_PASSPHRASE"), "%s", err);
  cr_assert_eq(ops(&other), 0);

  cr_assert_eq(ELM_PW(PKGPASS, "--json", "package", "import", p, "--receipt", r), 0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "file"), fid);
  json_decref(doc);
  says_nothing_private();
  cr_assert_eq(ops(&other), ops(&school), "Elm holds every op");
  cr_assert_eq(ELM("--json", "file", "show", fid), 0, "%s", err);
  cr_assert(strstr(out, "disclosure in class"), "Elm reads the file: %s", out);
  cr_assert(exists(r));

  before = ops(&school);
  cr_assert_eq(OAK("--json", "package", "import", r), 0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "kind"), "receipt");
  json_decref(doc);
  says_nothing_private();
  cr_assert_eq(ops(&school), before + 1, "the receipt is recorded as one entry");
  cr_assert_eq(OAK("--json", "file", "show", fid), 0, "%s", err);
  cr_assert(strstr(out, "Package receipt:"), "%s", out);
  cr_assert(strstr(out, "received by dsl.green (Elm Academy, certified by a trusted LA)"), "%s",
            out);
  cr_assert_eq(OAK("package", "import", r), 1, "a receipt is recorded once");
  cr_assert(strstr(err, "already"), "%s", err);
  cr_assert_eq(ops(&school), before + 1);
}

/* Runs a refused command at party p and checks it said why and that p's
 * store holds no new op. */
#define REFUSED(p, code, want, ...)                                                   \
  do {                                                                                \
    size_t o_ = all_ops(p);                                                           \
    cr_assert_eq(__VA_ARGS__, code, "exit for '%s': %s", want, err);                 \
    cr_assert(strstr(err, want), "stderr lacks '%s': %s", want, err);                \
    says_nothing_private();                                                           \
    if (getenv("SHOW_ERR"))                                                           \
      fprintf(stderr, "[%s] %s", want, err);                                          \
    cr_assert_eq(all_ops(p), o_, "nothing stored (%s)", want);                       \
  } while (0)

Test(cli_package, damaged_or_foreign_packages_are_refused_and_store_nothing)
{
  char p[256], bad[256], pp[256], pm[256];
  unsigned char *b;
  size_t len, sent;

  path(p, "good.baton");
  path(bad, "bad.baton");
  path(pp, "pass.baton");
  path(pm, "mash.baton");
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  cr_assert_eq(OAK("package", "export", fid, "--to", "Elm Academy", "--out", p), 0, "%s", err);
  sent = ops(&school);
  b = slurp(p, &len);
  cr_assert_gt(len, 400);

  b[len / 2] ^= 0x20;
  spit(bad, b, len);
  REFUSED(&other, 1, "damaged", ELM("package", "import", bad));
  b[len / 2] ^= 0x20;
  remove(bad);

  spit(bad, b, len - 100);
  REFUSED(&other, 1, "package", ELM("package", "import", bad));
  remove(bad);

  spit(bad, "", 0);
  REFUSED(&other, 1, "package", ELM("package", "import", bad));
  remove(bad);

  spit(bad, "Dear Elm, here is the file you asked for.\n", 42);
  REFUSED(&other, 1, "not a Baton package", ELM("package", "import", bad));
  remove(bad);

  b[len - 1] ^= 1; /* the signature itself */
  spit(bad, b, len);
  REFUSED(&other, 1, "damaged", ELM("package", "import", bad));
  remove(bad);
  free(b);

  REFUSED(&other, 1, "cannot read", ELM("package", "import", bad));
  REFUSED(&other, 2, "PATH", ELM("package", "import"));

  cr_assert_eq(OAK_PW(PKGPASS, "package", "export", fid, "--passphrase", "--out", pp), 0, "%s",
               err);
  REFUSED(&other, 1, "passphrase is wrong",
          ELM_PW("BATON_PACKAGE_PASSPHRASE=wrong horse", "package", "import", pp));

  {
    node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
    crdt_id grant;
    cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  }
  cr_assert_eq(OAK("package", "export", fid, "--to", "County MASH", "--out", pm), 0, "%s", err);
  REFUSED(&other, 1, "sealed to another org", ELM("package", "import", pm));

  /* The real one still imports after all that. */
  cr_assert_eq(ELM("package", "import", p, "--receipt", bad), 0, "%s", err);
  cr_assert_gt(ops(&other), sent, "the file and Elm's own entries: %s", out);
}

Test(cli_package, export_refusals_say_why_and_write_nothing)
{
  char p[256], taken[256];
  size_t before = ops(&school);

  path(p, "x.baton");
  path(taken, "taken.baton");
  REFUSED(&school, 2, "--to", OAK("package", "export", fid, "--out", p));
  REFUSED(&school, 2, "--to",
          OAK_PW(PKGPASS, "package", "export", fid, "--to", "Elm Academy", "--passphrase",
                 "--out", p));
  REFUSED(&school, 2, "FILE_ID",
          OAK("package", "export", "zz", "--to", "Elm Academy", "--out", p));
  REFUSED(&school, 1, "case file",
          OAK("package", "export", "0123456789abcdef0123456789abcdef", "--to", "Elm Academy",
              "--out", p));
  REFUSED(&school, 1, "baton directory",
          OAK("package", "export", fid, "--to", "Nowhere School", "--out", p));
  cr_assert_null(strstr(err, "org list"), "%s", err);
  REFUSED(&school, 1, "own org",
          OAK("package", "export", fid, "--to", "Oak Primary", "--out", p));
  REFUSED(&school, 1, "transfer start",
          OAK("package", "export", fid, "--to", "Elm Academy", "--out", p));
  REFUSED(&school, 1, "staff",
          as(&school, "staff.ali", "ali pass",
             (const char *const[]){"package", "export", fid, "--to", "Elm Academy", "--out", p,
                                   NULL}));
  REFUSED(&school, 1, "BATON_PACKAGE_PASSPHRASE",
          OAK("package", "export", fid, "--passphrase", "--out", p));
  cr_assert(!exists(p), "no refused export wrote a file");
  cr_assert_eq(ops(&school), before);

  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  before = ops(&school);
  spit(taken, "keep me", 7);
  REFUSED(&school, 1, "exists",
          OAK("package", "export", fid, "--to", "Elm Academy", "--out", taken));
  {
    size_t len;
    unsigned char *b = slurp(taken, &len);
    cr_assert_eq(len, 7);
    cr_assert_eq(memcmp(b, "keep me", 7), 0, "not overwritten");
    free(b);
  }
  cr_assert_eq(ops(&school), before, "the refused export wrote no op");
}

Test(cli_package, an_existing_receipt_path_is_refused_before_importing)
{
  char p[256], r[256];

  path(p, "to-elm.baton");
  path(r, "taken.receipt");
  cr_assert_eq(OAK("transfer", "start", fid, "--to", "Elm Academy", "--on-roll", "2026-11-23"),
               0, "%s", err);
  cr_assert_eq(OAK("package", "export", fid, "--to", "Elm Academy", "--out", p), 0, "%s", err);
  spit(r, "keep me", 7);
  REFUSED(&other, 1, "exists", ELM("package", "import", p, "--receipt", r));
  cr_assert_eq(ops(&other), 0);
  remove(r);
  cr_assert_eq(ELM("package", "import", p, "--receipt", r), 0, "then it works: %s", err);
  cr_assert(exists(r));
}

Test(cli_package, a_read_only_grantee_answers_with_a_receipt_document)
{
  char p[256], r[256];
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_READ, CRDT_HISTORY_ALL);
  crdt_id grant;
  json_t *doc;
  size_t before;

  path(p, "mash.baton");
  path(r, "mash.receipt");
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(OAK("package", "export", fid, "--to", "County MASH", "--out", p), 0, "%s", err);
  cr_assert_eq(MASH("--json", "package", "import", p, "--receipt", r), 0, "%s", err);
  says_nothing_private();
  cr_assert_eq(ops(&mash), ops(&school), "MASH holds the file and wrote nothing into it");
  cr_assert_eq(MASH("--json", "file", "show", fid), 0, "%s", err);
  cr_assert(strstr(out, "disclosure in class"), "MASH reads it: %s", out);
  before = ops(&school);
  cr_assert_eq(OAK("--json", "package", "import", r), 0, "%s", err);
  doc = parse_out();
  cr_assert_str_eq(jstr(doc, "kind"), "receipt");
  json_decref(doc);
  cr_assert_eq(ops(&school), before + 1);
  cr_assert_eq(OAK("--json", "file", "show", fid), 0, "%s", err);
  cr_assert(strstr(out, "received by dsl.moss (County MASH, certified by a trusted LA)"), "%s",
            out);
}
