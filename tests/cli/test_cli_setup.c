/* tests/cli/test_cli_setup.c: a whole network set up from nothing with the
 * real binaries only (`baton` and `batond`), as docs/cli.md "Setting a
 * network up" describes it:
 *
 *   - an LA node and two schools: init, root create, org request, root
 *     certify, anchor add, org install, directory publish; the schools get
 *     the LA's directory with `baton sync` against a running batond on the
 *     LA (one of them beside its own running batond), and list it with
 *     the fingerprints the LA printed; a revocation reaches them;
 *   - a DSL's laptop enrolled with a one-time code (files carry the
 *     request and answer) syncs with its school's batond;
 *   - a peer kept with `baton peer add` is dialled by batond;
 *   - bad input on each command: missing arguments (exit 2), certificate
 *     files that are garbage, truncated, of another kind or for another
 *     org, an unknown fingerprint, a bad address, an unreachable peer
 *     (exit 1 within seconds), a handshake refused; each failure leaves
 *     the store as it was (what status, anchors, directory and peer list
 *     show is unchanged).
 *
 * batond runs on 127.0.0.1 at a port the kernel picks, read back from its
 * log; it dies with the test process (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "cli/netkit.h"
#include "cli/runner.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(cli_setup, .init = cli_setup, .fini = cli_teardown, .timeout = 60);

enum { LA, S1, S2, LAP, NNODES };
static const char *const NAMES[] = {"la", "s1", "s2", "lap"};

static void nodes_init(void)
{
  kit_nodes(NAMES, NNODES);
}

/* ---- the network ------------------------------------------------------------------- */

static char *root_key, *root_fpr, *org_fpr[NNODES];

/* One school: init, request, certified by the LA, anchor, install,
 * listed. */
static void school(int n, const char *name, const char *urn)
{
  char req[64], cert[64];

  snprintf(req, sizeof req, "%s.req", NAMES[n]);
  snprintf(cert, sizeof cert, "%s.cert", NAMES[n]);
  OK(n, "--json", "init", name, "--urn", urn);
  org_fpr[n] = json_of("org.fingerprint");
  OK(n, "org", "request", "--out", path(req));
  OK(LA, "--json", "root", "certify", path(req), "--out", path(cert));
  {
    char *f = json_of("org.fingerprint"); /* what the LA person reads out */
    cr_assert_str_eq(f, org_fpr[n]);
    free(f);
  }
  OK(n, "--json", "anchor", "add", root_key);
  {
    char *f = json_of("fingerprint");
    cr_assert_str_eq(f, root_fpr, "the school sees the fingerprint the LA printed");
    free(f);
  }
  OK(n, "--json", "org", "install", path(cert));
  {
    json_t *j = parse_out();
    cr_assert_str_eq(jstr(j, "org.certificate"), "certified");
    cr_assert_str_eq(jstr(j, "org.issuer"), root_fpr);
    json_decref(j);
  }
  OK(LA, "directory", "publish", path(cert));
}

static void network(void)
{
  nodes_init();
  OK(LA, "--json", "init", "Hillshire LA", "--kind", "la", "--laestab", "1230000");
  org_fpr[LA] = json_of("org.fingerprint");
  OK(LA, "--json", "root", "create");
  root_key = json_of("root.key");
  root_fpr = json_of("root.fingerprint");
  {
    json_t *j = parse_out();
    cr_assert_str_eq(jstr(j, "org.certificate"), "certified");
    json_decref(j);
  }
  school(S1, "Hillside Primary", "123456");
  school(S2, "Brookfield Academy", "654321");
}

/* The orgs of the only directory node n lists: name -> fingerprint. */
static int dir_has(int n, const char *name, const char *fpr)
{
  json_t *j, *d, *o;
  size_t k;
  int found = 0;

  cr_assert_eq(BT(n, "--json", "directory"), 0, "%s", err);
  j = parse_out();
  d = json_array_get(json_object_get(j, "directories"), 0);
  json_array_foreach(json_object_get(d, "orgs"), k, o)
    if (strcmp(jstr(o, "name"), name) == 0 && strcmp(jstr(o, "fingerprint"), fpr) == 0 &&
        !json_is_true(json_object_get(o, "revoked")))
      found = 1;
  json_decref(j);
  return found;
}

Test(cli_setup, la_and_two_schools_from_nothing)
{
  daemon_t la, s2;
  json_t *j;

  network();
  /* before any sync a school's copy of the directory is empty */
  cr_assert_not(dir_has(S1, "Hillside Primary", org_fpr[S1]));
  /* the LA lists all three */
  cr_assert(dir_has(LA, "Hillshire LA", org_fpr[LA]));
  cr_assert(dir_has(LA, "Hillside Primary", org_fpr[S1]));
  cr_assert(dir_has(LA, "Brookfield Academy", org_fpr[S2]));

  daemon_start(&la, LA, (const char *const[]){"--relay-for", "all", NULL});
  OK(S1, "--json", "sync", addr_of(la.port));
  j = parse_out();
  cr_assert_str_eq(jstr(j, "org"), org_fpr[LA], "synced with the LA's org");
  cr_assert_str_eq(jstr(j, "kind"), "la");
  cr_assert_geq(json_integer_value(json_object_get(json_object_get(j, "ops"), "received")), 3,
                "the directory's ops arrived: %s", out);
  json_decref(j);
  cr_assert(dir_has(S1, "Hillshire LA", org_fpr[LA]));
  cr_assert(dir_has(S1, "Hillside Primary", org_fpr[S1]));
  cr_assert(dir_has(S1, "Brookfield Academy", org_fpr[S2]), "%s", out);
  /* text form: the LAESTAB and URNs, with the LA's fingerprints */
  OK(S1, "directory");
  cr_assert(strstr(out, org_fpr[S2]) && strstr(out, "654321") && strstr(out, "1230000"), "%s",
            out);

  /* beside a batond running on the same data directory */
  daemon_start(&s2, S2, NULL);
  OK(S2, "sync", addr_of(la.port));
  cr_assert(strstr(out, "Synced with"), "%s", out);
  cr_assert(dir_has(S2, "Hillside Primary", org_fpr[S1]));
  /* a second sync finds nothing new */
  OK(S2, "--json", "sync", addr_of(la.port));
  j = parse_out();
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "ops"), "received")), 0);
  json_decref(j);

  /* revoking a school reaches the other one with its next sync */
  OK(LA, "directory", "revoke", org_fpr[S2], "--reason", "closed");
  OK(S1, "--json", "sync", addr_of(la.port));
  j = parse_out();
  cr_assert_geq(json_integer_value(json_object_get(j, "revocations_applied")), 1, "%s", out);
  json_decref(j);
  cr_assert_not(dir_has(S1, "Brookfield Academy", org_fpr[S2]));
  OK(S1, "directory");
  cr_assert(strstr(out, "revoked: closed"), "%s", out);
  daemon_stop(&s2);
  daemon_stop(&la);
}

Test(cli_setup, a_laptop_enrols_and_syncs_with_its_school)
{
  daemon_t s1;
  char *code, *dev;
  json_t *j;

  network();
  OK(S1, "--json", "enrol", "issue", "DSL laptop");
  code = json_of("code");
  OK(LAP, "--json", "enrol", "request", code, "--out", path("lap.req"));
  dev = json_of("device");
  OK(S1, "enrol", "answer", path("lap.req"), "--out", path("lap.ans"));
  OK(LAP, "--json", "enrol", "accept", code, path("lap.ans"));
  j = parse_out();
  cr_assert_str_eq(jstr(j, "org.fingerprint"), org_fpr[S1], "the laptop is of the school's org");
  cr_assert_str_eq(jstr(j, "device.fingerprint"), dev);
  cr_assert(json_is_false(json_object_get(j, "anchored")));
  json_decref(j);
  /* a used code is refused on both sides; nothing changes */
  cr_assert_eq(BT(S1, "enrol", "answer", path("lap.req"), "--out", path("lap.ans2")), 1);
  cr_assert(strstr(err, "used already"), "%s", err);
  cr_assert_eq(BT(LAP, "enrol", "accept", code, path("lap.ans")), 1);

  daemon_start(&s1, S1, NULL);
  /* without the LA's anchor the laptop cannot judge the school's chain */
  cr_assert_eq(BT(LAP, "sync", addr_of(s1.port)), 1);
  cr_assert(strstr(err, "BT_EANCHOR") && strstr(err, "anchor add"), "%s", err);
  OK(LAP, "anchor", "add", root_key);
  OK(LAP, "--json", "sync", addr_of(s1.port));
  j = parse_out();
  cr_assert_str_eq(jstr(j, "org"), org_fpr[S1]);
  json_decref(j);
  cr_assert(log_has(&s1, "synced peer=", 3000, NULL));
  daemon_stop(&s1);
  free(code);
  free(dev);
}

Test(cli_setup, batond_dials_the_peers_kept_in_the_store)
{
  daemon_t la, s1;

  network();
  daemon_start(&la, LA, NULL);
  OK(S1, "peer", "add", addr_of(la.port));
  OK(S1, "--json", "peer", "add", addr_of(la.port)); /* again: nothing changes */
  {
    json_t *j = parse_out();
    cr_assert(json_is_false(json_object_get(j, "changed")));
    json_decref(j);
  }
  OK(S1, "peer", "add", "[::1]:7643");
  OK(S1, "--json", "peer", "list");
  cr_assert(strstr(out, addr_of(la.port)) && strstr(out, "[::1]:7643"), "%s", out);
  OK(S1, "peer", "remove", "[::1]:7643");
  OK(S1, "peer", "list");
  cr_assert_null(strstr(out, "[::1]"), "%s", out);
  /* batond on the school, told nothing about peers, dials the LA */
  daemon_start(&s1, S1, (const char *const[]){"--listen", "off", NULL});
  cr_assert(log_has(&la, "synced peer=", 5000, NULL), "the school's batond never came");
  cr_assert(log_has(&s1, org_fpr[LA], 3000, NULL));
  daemon_stop(&s1);
  daemon_stop(&la);
}

/* ---- bad input -------------------------------------------------------------------- */

/* What node n shows of itself: equal before and after a failure means the
 * failure changed nothing. */
static char *snapshot(int n)
{
  static const char *const what[][3] = {{"status", NULL}, {"anchors", NULL},
                                        {"directory", NULL}, {"peer", "list"}};
  size_t cap = 1 << 17, o = 0;
  char *s = calloc(1, cap);

  for (size_t k = 0; k < sizeof what / sizeof what[0]; k++) {
    int rc = what[k][1] ? BT(n, "--json", what[k][0], what[k][1]) : BT(n, "--json", what[k][0]);
    cr_assert_eq(rc, 0, "%s", err);
    o += (size_t)snprintf(s + o, cap - o, "%s\n", out);
  }
  return s;
}

#define UNCHANGED(n, before)                                                                 \
  do {                                                                                       \
    char *after_ = snapshot(n);                                                              \
    cr_assert_str_eq(after_, before, "the store changed");                                   \
    free(after_);                                                                            \
  } while (0)

static void write_file(const char *name, const char *text)
{
  FILE *f = fopen(path(name), "w");

  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* The first half of a file, its END line gone. */
static void truncate_copy(const char *from, const char *to)
{
  char buf[8192];
  FILE *f = fopen(path(from), "r");
  size_t n = fread(buf, 1, sizeof buf - 1, f);

  fclose(f);
  buf[n / 2] = '\0';
  write_file(to, buf);
}

Test(cli_setup, missing_arguments_are_usage_errors)
{
  static const char *const cmds[][3] = {
    {"root", "certify", NULL}, {"org", "install", NULL},    {"anchor", "add", NULL},
    {"directory", "publish", NULL}, {"enrol", "issue", NULL}, {"enrol", "request", NULL},
    {"enrol", "answer", NULL}, {"enrol", "accept", NULL},   {"peer", "add", NULL},
    {"peer", "remove", NULL}, {"sync", NULL, NULL},          {"directory", "revoke", NULL},
  };

  nodes_init();
  for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
    int rc = cmds[k][1] ? BT(S1, cmds[k][0], cmds[k][1]) : BT(S1, cmds[k][0]);
    cr_assert_eq(rc, 2, "%s %s: %d %s", cmds[k][0], cmds[k][1], rc, err);
    cr_assert(strstr(err, "Try 'baton help"), "%s", err);
  }
  cr_assert_eq(BT(S1, "enrol", "accept", "AAAA-AAAA-AAAA-AAAA-AAAA"), 2);
  cr_assert_eq(BT(S1, "root", "certify", "x", "--days", "0"), 2);
  /* and nothing was made on disk */
  cr_assert_neq(access(ndir[S1], F_OK), 0);
}

Test(cli_setup, bad_certificate_files_change_nothing)
{
  char *before;

  network();
  /* the school's own store: every failure below leaves it as it is */
  before = snapshot(S1);
  cr_assert_eq(BT(S1, "org", "request", "--out", path("again.req")), 1, "certified already");
  cr_assert(strstr(err, "already certified"), "%s", err);
  write_file("garbage.cert", "this is not a certificate\n");
  cr_assert_eq(BT(S1, "org", "install", path("garbage.cert")), 1);
  cr_assert(strstr(err, "not a Baton org certificate"), "%s", err);
  write_file("bad64.cert", "-----BEGIN BATON ORG CERTIFICATE-----\n!!!!\n"
                           "-----END BATON ORG CERTIFICATE-----\n");
  cr_assert_eq(BT(S1, "org", "install", path("bad64.cert")), 1);
  cr_assert(strstr(err, "damaged"), "%s", err);
  write_file("junk.cert", "-----BEGIN BATON ORG CERTIFICATE-----\naGVsbG8gd29ybGQ=\n"
                          "-----END BATON ORG CERTIFICATE-----\n");
  cr_assert_eq(BT(S1, "org", "install", path("junk.cert")), 1);
  cr_assert(strstr(err, "not installed"), "%s", err);
  truncate_copy("s1.cert", "cut.cert");
  cr_assert_eq(BT(S1, "org", "install", path("cut.cert")), 1);
  cr_assert(strstr(err, "truncated"), "%s", err);
  cr_assert_eq(BT(S1, "org", "install", path("s2.cert")), 1, "another school's certificate");
  cr_assert(strstr(err, "not for this node's org"), "%s", err);
  cr_assert_eq(BT(S1, "org", "install", path("s1.req")), 1);
  cr_assert(strstr(err, "holds an org certificate request, not an org certificate"), "%s", err);
  cr_assert_eq(BT(S1, "org", "install", path("missing.cert")), 1);
  cr_assert(strstr(err, "cannot read"), "%s", err);
  cr_assert_eq(BT(S1, "anchor", "add", "00zz"), 2);
  cr_assert_eq(BT(S1, "sync", "nohost"), 2);
  cr_assert_eq(BT(S1, "sync", "127.0.0.1:0"), 2);
  cr_assert_eq(BT(S1, "sync", "127.0.0.1:80", "--timeout", "x"), 2);
  cr_assert_eq(BT(S1, "peer", "add", "1.2.3.4"), 2);
  cr_assert_eq(BT(S1, "peer", "remove", "127.0.0.1:9"), 1);
  cr_assert_eq(BT(S1, "root", "create"), 1, "a school holds no root");
  cr_assert(strstr(err, "not an LA"), "%s", err);
  cr_assert_eq(BT(S1, "directory", "publish", path("s1.cert")), 1, "only the LA publishes");
  UNCHANGED(S1, before);
  free(before);
}

Test(cli_setup, bad_input_on_the_la_changes_nothing)
{
  char *before;

  network();
  OK(LA, "--json", "directory"); /* settle anything lazily written */
  before = snapshot(LA);
  cr_assert_eq(BT(LA, "root", "create"), 1, "done already");
  cr_assert(strstr(err, "nothing changed"), "%s", err);
  write_file("garbage.req", "-----BEGIN BATON ORG REQUEST-----\naGVsbG8gd29ybGQ=\n"
                            "-----END BATON ORG REQUEST-----\n");
  cr_assert_eq(BT(LA, "root", "certify", path("garbage.req")), 1);
  cr_assert(strstr(err, "not certified"), "%s", err);
  cr_assert_eq(BT(LA, "root", "certify", path("s1.cert")), 1, "a certificate is no request");
  cr_assert(strstr(err, "holds an org certificate, not an org certificate request"), "%s", err);
  truncate_copy("s1.req", "cut.req");
  cr_assert_eq(BT(LA, "root", "certify", path("cut.req")), 1);
  cr_assert_eq(BT(LA, "directory", "revoke", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
                  "--reason", "x"), 1);
  cr_assert(strstr(err, "no org in this LA's directory"), "%s", err);
  cr_assert_eq(BT(LA, "directory", "revoke", "not-a-fingerprint", "--reason", "x"), 2);
  cr_assert_eq(BT(LA, "directory", "revoke", org_fpr[S1]), 2, "--reason is required");
  cr_assert_eq(BT(LA, "directory", "publish", path("s1.req")), 1, "a request is no cert");
  OK(LA, "--json", "directory", "publish", path("s1.cert")); /* listed already: no change */
  {
    json_t *j = parse_out();
    cr_assert(json_is_false(json_object_get(j, "published")));
    json_decref(j);
  }
  UNCHANGED(LA, before);
  free(before);
}

Test(cli_setup, unreachable_and_refused_peers_fail_quickly_and_clearly)
{
  struct timespec t0;
  daemon_t la;
  char *before;
  int port = free_port();

  network();
  before = snapshot(S1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(BT(S1, "sync", addr_of(port), "--timeout", "20"), 1);
  cr_assert_lt(ms_since(&t0), 3000, "an unreachable peer is reported at once");
  cr_assert(strstr(err, "nothing is listening") && strstr(err, "ECONNREFUSED"), "%s", err);
  cr_assert_eq(out[0], '\0', "nothing on stdout");

  /* a school not yet certified is refused by its own node before dialling */
  OK(LAP, "init", "Unlisted School");
  daemon_start(&la, LA, NULL);
  cr_assert_eq(BT(LAP, "sync", addr_of(la.port)), 1);
  cr_assert(strstr(err, "provisional"), "%s", err);
  cr_assert_eq(BT(LAP, "root", "create"), 1, "a school cannot hold a root");
  OK(S2, "sync", addr_of(la.port)); /* while a certified school syncs */
  UNCHANGED(S1, before);
  daemon_stop(&la);
  free(before);
}

Test(cli_setup, a_peer_that_does_not_trust_us_refuses_the_handshake)
{
  daemon_t la;
  char *before;

  network();
  /* a second LA with its own root; S1 trusts it, it does not trust S1's */
  OK(LAP, "init", "Otherborough LA", "--kind", "la");
  OK(LAP, "root", "create");
  OK(LAP, "--json", "root", "show");
  {
    char *k = json_of("key");
    OK(S1, "anchor", "add", k);
    free(k);
  }
  daemon_start(&la, LAP, NULL);
  before = snapshot(S1);
  cr_assert_eq(BT(S1, "sync", addr_of(la.port), "--timeout", "10"), 1);
  cr_assert(strstr(err, "refused this node's certificates"), "%s", err);
  UNCHANGED(S1, before);
  /* the other way round: the school does not trust that LA's root */
  cr_assert_eq(BT(S2, "sync", addr_of(la.port)), 1);
  cr_assert(strstr(err, "BT_EANCHOR"), "%s", err);
  daemon_stop(&la);
  free(before);
}
