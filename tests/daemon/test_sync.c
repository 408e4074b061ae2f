/* tests/daemon/test_sync.c: case files moving between real batond
 * processes on loopback (node/hub.h over node/sync.h), and hostile sync
 * messages against one.
 *
 * daemon_sync: two schools sync a shared file both ways; a DSL's laptop
 * (an enrolled second device of the school's org) takes a file, writes
 * offline, and brings its entries back when it is started again; an LA
 * relay carries a file between two schools that only ever dial the relay,
 * and holds none of its plaintext (canary strings and the child's name are
 * absent from every file under its data directory and from its log) and
 * none of its keys; a relay for one org's fingerprint carries nothing to
 * another org; the dialler runs every sync period; two nodes that dial
 * each other keep the same one of their two sessions.
 *
 * daemon_sync_adversary: the test process, as a device of an org the
 * daemon shares one file with, sends sync messages built with proto/sync.h
 * carrying a forged op, a replayed op, ops of a file never shared with it,
 * and a message out of sequence. Each is counted in the daemon's run line
 * (or ends the session with its reason), the daemon's ops and heads do not
 * change, and a fresh session then runs a whole sync (node/sync.h in this
 * process, over the test peer's own store) to the end.
 *
 * Stores of running daemons are read through a second handle in this
 * process (LMDB allows that across processes); a store is never open twice
 * in this process at once. Every daemon started is stopped in teardown,
 * and dies with this process anyway (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crdt/err.h"
#include "node/org.h"
#include "node/share.h"
#include "node/sync.h"
#include "node/users.h"
#include "peer.h"
#include "proto/sync.h"

#define WAIT_MS 10000 /* the longest any sync here may take */

static dm_world w;
/* Daemons live here, not on a test's stack: teardown runs after the test
 * function has returned, and stops whatever a failed test left running. */
static dm_proc pa, pb, pl, pr, d;
static dm_proc *const procs[] = {&pa, &pb, &pl, &pr, &d};
#define NPROCS (sizeof procs / sizeof procs[0])

static void sleep_ms(long ms)
{
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&t, NULL);
}

static uint64_t mono_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- daemons ------------------------------------------------------------------ */

static void start(dm_proc *p, const dm_node *nd, const char *config, const char *const *extra)
{
  dm_start(p, nd, config, extra);
}

static void stop(dm_proc *p)
{
  char log[1 << 16];
  int st = dm_stop(p, SIGTERM, NULL);

  dm_log_read(p, log, sizeof log);
  cr_assert_eq(st, 0, "batond exit status %d\n%s", st, log);
}

/* Stops what still runs; with BT_DAEMON_LOGS set, prints every log. */
static void stop_all(void)
{
  static char log[1 << 16];

  for (size_t i = 0; i < NPROCS; i++) {
    if (procs[i]->pid > 0)
      dm_stop(procs[i], SIGTERM, NULL);
    if (procs[i]->log[0] && getenv("BT_DAEMON_LOGS")) {
      dm_log_read(procs[i], log, sizeof log);
      fprintf(stderr, "---- %s\n%s", procs[i]->log, log);
    }
  }
}

/* Fails the test showing every daemon's log. */
static void fail_logs(const char *what)
{
  static char all[1 << 18], one[1 << 16];
  size_t k = 0;

  for (size_t i = 0; i < NPROCS && k < sizeof all - 1; i++) {
    if (procs[i]->log[0] == '\0')
      continue;
    dm_log_read(procs[i], one, sizeof one);
    k += (size_t)snprintf(all + k, sizeof all - k, "---- %s\n%s", procs[i]->log, one);
  }
  cr_assert_fail("%s\n%s", what, all);
}

static void peer_arg(const dm_proc *p, char *buf, size_t len)
{
  snprintf(buf, len, "127.0.0.1:%d", p->port);
}

/* ---- case files, through a store handle of this process ------------------------- */

static void new_file(node_store *s, const char *given, const char *family,
                     uint8_t file[CRDT_FILE_LEN])
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, bt_strz(given)},
                        {CRDT_FS_FAMILY, bt_strz(family)},
                        {CRDT_FS_DOB, BT_STR("2016-03-04")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  int rc;

  b.u.fields = (crdt_fields){fv, 3};
  rc = node_file_create_as(s, "dsl.jones", NODE_ROLE_DSL, &b, file, NULL);
  cr_assert_eq(rc, BT_OK, "file: %s", bt_strerror(rc));
}

static void note(node_store *s, const uint8_t *file, const char *text)
{
  crdt_body b = {.type = CRDT_OP_CHRONO, .known = 1};
  int rc;

  b.u.chrono = (crdt_chrono){.event_at = dm_now_ms(), .category = CRDT_CHR_CONTACT,
                             .summary = bt_strz(text)};
  rc = node_author_as(s, "dsl.jones", NODE_ROLE_DSL, file, &b, NULL);
  cr_assert_eq(rc, BT_OK, "note: %s", bt_strerror(rc));
}

/* Grants to's org access to file, on the mother's consent. to's store must
 * not be open here. */
static void grant(node_store *s, const uint8_t *file, const dm_node *to, uint32_t rights)
{
  node_store *t = dm_node_open(to);
  node_org o;
  crdt_id id;
  int rc;

  cr_assert_eq(node_org_get(t, &o), BT_OK);
  node_store_close(t);
  node_grant_req g = {.org_cert = o.org_cert, .org_cert_len = o.org_cert_len,
                      .purpose = CRDT_PURPOSE_REFERRAL, .basis = CRDT_BASIS_CONSENT,
                      .consent_by = "mother", .consent_how = "in person at school",
                      .consent_on = 20260105, .rights = rights, .history = CRDT_HISTORY_ALL};
  rc = node_grant_as(s, "dsl.jones", NODE_ROLE_DSL, file, &g, &id);
  cr_assert_eq(rc, BT_OK, "grant: %s", bt_strerror(rc));
  node_org_clear(&o);
}

static size_t ops_in(node_store *s, const uint8_t *file)
{
  size_t n = 0;
  int rc = node_file_ops(s, file, NULL, 0, &n);

  cr_assert(rc == BT_OK || rc == BT_ENOFILE, "file ops: %s", bt_strerror(rc));
  return rc == BT_OK ? n : 0;
}

static int shows(node_store *s, const uint8_t *file, const char *text)
{
  const crdt_casefile *cf;

  if (node_casefile(s, file, &cf) != BT_OK)
    return 0;
  for (size_t e = 0; e < cf->nentries; e++)
    if (cf->entries[e].body->type == CRDT_OP_CHRONO &&
        bt_str_eq(cf->entries[e].body->u.chrono.summary, bt_strz(text)))
      return 1;
  return 0;
}

/* Whether nd holds at least nops ops of file and shows every text. */
static int holds(const dm_node *nd, const uint8_t *file, size_t nops, const char *const *texts)
{
  node_store *s = dm_node_open(nd);
  int ok = ops_in(s, file) >= nops;

  for (size_t i = 0; ok && texts && texts[i]; i++)
    ok = shows(s, file, texts[i]);
  node_store_close(s);
  return ok;
}

static void wait_holds(const dm_node *nd, const uint8_t *file, size_t nops,
                       const char *const *texts, const char *what)
{
  uint64_t end = mono_ms() + WAIT_MS;

  while (!holds(nd, file, nops, texts)) {
    if (mono_ms() > end)
      fail_logs(what);
    sleep_ms(20);
  }
}

static void org_fpr(const dm_node *nd, char fpr[CRDT_FPR_LEN])
{
  node_store *s = dm_node_open(nd);
  node_org o;

  cr_assert_eq(node_org_get(s, &o), BT_OK);
  crdt_fingerprint(o.sign_pk.b, CRDT_PK_LEN, fpr);
  node_org_clear(&o);
  node_store_close(s);
}

static void device_fpr(const dm_node *nd, char fpr[CRDT_FPR_LEN])
{
  node_store *s = dm_node_open(nd);
  uint8_t pk[CRDT_PK_LEN];

  node_store_device(s, pk);
  crdt_fingerprint(pk, CRDT_PK_LEN, fpr);
  node_store_close(s);
}

/* ---- two schools, a laptop, a relay ------------------------------------------------ */

static void setup(void)
{
  dm_world_init(&w);
}

static void teardown(void)
{
  stop_all();
  dm_world_free(&w);
}

TestSuite(daemon_sync, .init = setup, .fini = teardown);

Test(daemon_sync, two_schools_sync_a_shared_file_both_ways)
{
  static const char *const first[] = {"first chronology entry", NULL};
  static const char *const reply[] = {"reply from the second school", NULL};
  uint8_t file[CRDT_FILE_LEN];
  char peer[32], fb[CRDT_FPR_LEN], needle[128];
  dm_node a, b;
  node_store *s;
  size_t n;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  s = dm_node_open(&a);
  new_file(s, "Ottoline", "Marchbanks", file);
  note(s, file, first[0]);
  grant(s, file, &b, CRDT_RIGHTS_WRITE);
  n = ops_in(s, file);
  node_store_close(s);

  start(&pb, &b, NULL, NULL);
  peer_arg(&pb, peer, sizeof peer);
  const char *extra[] = {"--peer", peer, NULL};
  start(&pa, &a, NULL, extra);
  wait_holds(&b, file, n, first, "b never held a's file");

  /* b writes in the file (the CLI beside its daemon would): b's daemon
   * sees its store change and nudges a, which runs again. */
  s = dm_node_open(&b);
  note(s, file, reply[0]);
  node_store_close(s);
  wait_holds(&a, file, n + 1, reply, "a never saw b's entry");

  device_fpr(&b, fb);
  snprintf(needle, sizeof needle, "synced peer=%s fpr=%s ", peer, fb);
  if (dm_log_wait(&pa, needle, 2, 2000) < 2) /* the entry lands before the run ends */
    fail_logs("a run for each change");
  cr_assert_eq(dm_log_count(&pa, "rejected=1"), 0);
  cr_assert_eq(dm_log_count(&pb, "Ottoline"), 0, "a child's name in the log");
  stop(&pa);
  stop(&pb);
}

Test(daemon_sync, a_laptop_syncs_writes_offline_and_brings_its_entries_back)
{
  static const char *const server[] = {"written on the school server", NULL};
  static const char *const visits[] = {"home visit: spoke to mother", "home visit: follow-up",
                                       NULL};
  uint8_t file[CRDT_FILE_LEN];
  char peer[32];
  dm_node a, lap;
  node_store *s;
  size_t n;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_enrol(&w, &lap, "laptop", &a);
  start(&pa, &a, NULL, NULL);
  peer_arg(&pa, peer, sizeof peer);
  const char *extra[] = {"--peer", peer, NULL};

  /* Written on the server while its daemon runs; the laptop comes up and
   * takes it (a device of the same org: every file of the org). */
  s = dm_node_open(&a);
  new_file(s, "Peregrine", "Halloway", file);
  note(s, file, server[0]);
  n = ops_in(s, file);
  node_store_close(s);
  start(&pl, &lap, NULL, extra);
  wait_holds(&lap, file, n, server, "the laptop never held the file");
  cr_assert_geq(dm_log_wait(&pl, "synced peer=", 1, 2000), 1);
  stop(&pl);

  /* Offline: two entries on the laptop alone. */
  s = dm_node_open(&lap);
  note(s, file, visits[0]);
  note(s, file, visits[1]);
  node_store_close(s);
  cr_assert_not(holds(&a, file, 0, (const char *const[]){visits[0], NULL}));

  /* Back on the network: both sides remember what they agreed, so the run
   * takes the fast path. */
  start(&pl, &lap, NULL, extra);
  wait_holds(&a, file, n + 2, visits, "the server never saw the laptop's entries");
  cr_assert_geq(dm_log_wait(&pl, "path=fast ", 1, 2000), 1);
  stop(&pl);
  stop(&pa);
}

/* Every file under dir (recursively), and extra files, must hold none of
 * the needles. */
static void scan_file(const char *path, const char *const *needles)
{
  static uint8_t buf[1 << 20];
  size_t keep = 0, got;
  FILE *f = fopen(path, "rb");

  cr_assert_not_null(f, "cannot read %s", path);
  while ((got = fread(buf + keep, 1, sizeof buf - keep, f)) > 0) {
    size_t len = keep + got;
    for (size_t i = 0; needles[i]; i++)
      cr_assert_null(memmem(buf, len, needles[i], strlen(needles[i])), "'%s' found in %s",
                     needles[i], path);
    keep = len < 128 ? len : 128; /* needles are shorter: chunks overlap by that */
    memmove(buf, buf + len - keep, keep);
  }
  fclose(f);
}

static size_t scan_dir(const char *dir, const char *const *needles)
{
  char path[512];
  struct dirent *e;
  struct stat sb;
  size_t files = 0;
  DIR *dp = opendir(dir);

  cr_assert_not_null(dp, "cannot list %s", dir);
  while ((e = readdir(dp)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    cr_assert_eq(lstat(path, &sb), 0);
    if (S_ISDIR(sb.st_mode)) {
      files += scan_dir(path, needles);
    } else if (S_ISREG(sb.st_mode)) {
      scan_file(path, needles);
      files++;
    }
  }
  closedir(dp);
  return files;
}

static void canary(char *out, size_t len, const char *prefix)
{
  uint8_t r[8];
  char hex[17];

  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(out, len, "%s%s", prefix, hex);
}

/* Schools a and b each dial only the relay; a's file reaches b through it
 * with every canary, and the relay holds the ciphertext but no plaintext
 * and no key. relay_conf: the relay's config text. */
static void relay_carries_blind(const char *relay_conf)
{
  char c1[40], c2[40], c3[40], given[40], family[40], peer[32], fa[CRDT_FPR_LEN],
    fb[CRDT_FPR_LEN], fr[CRDT_FPR_LEN], conf[256], needle[96];
  uint8_t file[CRDT_FILE_LEN], epoch[CRDT_EPOCH_LEN];
  dm_node a, b, r;
  node_store *s;
  node_secret *key = NULL;
  size_t n;

  canary(c1, sizeof c1, "CANARY-");
  canary(c2, sizeof c2, "CANARY-");
  canary(c3, sizeof c3, "CANARY-");
  canary(given, sizeof given, "Given");
  canary(family, sizeof family, "Family");
  dm_node_make_kind(&w, &r, "relay", DM_ANCHORED, CRDT_ORG_LA);
  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  org_fpr(&a, fa);
  org_fpr(&b, fb);
  for (char *p = fb; *p; p++) /* as someone might type it */
    *p = (char)(*p == '0' ? 'o' : *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  snprintf(conf, sizeof conf, relay_conf, fa, fb);

  s = dm_node_open(&a);
  new_file(s, given, family, file);
  note(s, file, c1);
  note(s, file, c2);
  grant(s, file, &b, CRDT_RIGHTS_READ);
  note(s, file, c3);
  n = ops_in(s, file);
  cr_assert_eq(node_file_epoch(s, file, epoch), BT_OK);
  node_store_close(s);

  start(&pr, &r, conf, NULL);
  peer_arg(&pr, peer, sizeof peer);
  const char *extra[] = {"--peer", peer, NULL};
  start(&pb, &b, NULL, extra);
  start(&pa, &a, NULL, extra);
  wait_holds(&b, file, n, (const char *const[]){c1, c2, c3, NULL},
             "b never read a's file through the relay");

  /* The relay carries every op, and cannot open one. */
  s = dm_node_open(&r);
  cr_assert_eq(ops_in(s, file), n);
  cr_assert_neq(node_file_key(s, file, epoch, &key), BT_OK, "the relay holds a file key");
  cr_assert_eq(shows(s, file, c1), 0);
  node_store_close(s);
  /* a and b never met. */
  device_fpr(&a, fa);
  device_fpr(&b, fb);
  device_fpr(&r, fr);
  snprintf(needle, sizeof needle, "fpr=%s", fa);
  cr_assert_eq(dm_log_count(&pb, needle), 0, "b met a");
  snprintf(needle, sizeof needle, "synced peer=%s fpr=%s ", peer, fr);
  cr_assert_geq(dm_log_count(&pb, needle), 1);
  stop(&pa);
  stop(&pb);
  stop(&pr);

  const char *const needles[] = {c1, c2, c3, given, family, NULL};
  cr_assert_geq(scan_dir(r.dir, needles), 2, "data.mdb and lock.mdb at least");
  scan_file(pr.log, needles);
  scan_file(pa.log, needles);
  scan_file(pb.log, needles);
}

Test(daemon_sync, a_relay_for_all_carries_a_file_it_cannot_read)
{
  relay_carries_blind("relay-for = all\n# %s %s\n");
}

Test(daemon_sync, a_relay_for_two_fingerprints_carries_a_file_it_cannot_read)
{
  relay_carries_blind("relay-for = %s\nrelay_for = %s\n");
}

/* Appended to daemon_sync above: the suite's fixture is the same. */
/* The dialler runs again every sync period, even with no news: after the
 * first run, on the fast path (both remember the shared file's state). */
Test(daemon_sync, the_dialler_runs_every_sync_period)
{
  uint8_t file[CRDT_FILE_LEN];
  char peer[32];
  dm_node a, b;
  node_store *s;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  s = dm_node_open(&a);
  new_file(s, "Cosimo", "Underhill", file);
  grant(s, file, &b, CRDT_RIGHTS_READ);
  node_store_close(s);
  start(&pb, &b, NULL, NULL);
  peer_arg(&pb, peer, sizeof peer);
  const char *extra[] = {"--peer", peer, "--sync-period", "150ms", NULL};
  start(&pa, &a, NULL, extra);
  if (dm_log_wait(&pa, "synced peer=", 4, 3000) < 4)
    fail_logs("fewer runs than periods");
  cr_assert_geq(dm_log_count(&pa, "path=fast "), 3);
  cr_assert_geq(dm_log_wait(&pb, "synced peer=", 4, 1000), 4);
  stop(&pa);
  stop(&pb);
}

/* The "duplicate" lines in p's log all name dir (the closed session's). */
static int duplicates_all(const dm_proc *p, const char *dir)
{
  static char log[1 << 18];
  int n = 0;

  dm_log_read(p, log, sizeof log);
  for (const char *q = log; (q = strstr(q, "batond: duplicate ")) != NULL; q++, n++) {
    const char *f = strstr(q, " dir=");
    cr_assert(f && strncmp(f + 1, dir, strlen(dir)) == 0 && f[1 + strlen(dir)] == ' ',
              "a duplicate of the other direction: %.160s", q);
  }
  return n;
}

/* Both list each other: both dial. Each side closes the session dialled
 * by the higher device key (logged "duplicate"), the same one, and the
 * file syncs over the other. */
Test(daemon_sync, two_nodes_that_dial_each_other_keep_one_session)
{
  static const char *const text[] = {"entry over the kept session", NULL};
  uint8_t file[CRDT_FILE_LEN], ka[CRDT_PK_LEN], kb[CRDT_PK_LEN];
  char la[32], lb[32];
  dm_node a, b;
  dm_proc *lo, *hi;
  node_store *s;
  size_t n;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  s = dm_node_open(&b);
  node_store_device(s, kb);
  node_store_close(s);
  s = dm_node_open(&a);
  node_store_device(s, ka);
  new_file(s, "Ignatius", "Fairweather", file);
  note(s, file, text[0]);
  grant(s, file, &b, CRDT_RIGHTS_READ);
  n = ops_in(s, file);
  node_store_close(s);
  lo = memcmp(ka, kb, CRDT_PK_LEN) < 0 ? &pa : &pb;
  hi = lo == &pa ? &pb : &pa;

  snprintf(la, sizeof la, "127.0.0.1:%d", dm_free_port());
  snprintf(lb, sizeof lb, "127.0.0.1:%d", dm_free_port());
  const char *xa[] = {"--listen", la, "--peer", lb, NULL};
  const char *xb[] = {"--listen", lb, "--peer", la, NULL};
  start(&pa, &a, "reconnect_min = 100ms\n", xa);
  start(&pb, &b, "reconnect_min = 100ms\n", xb);
  if (dm_log_wait(&pa, "duplicate", 1, 5000) < 1 || dm_log_wait(&pb, "duplicate", 1, 5000) < 1)
    fail_logs("no duplicate session seen");
  wait_holds(&b, file, n, text, "b never got the file");
  /* The lower key's node closes sessions the other dialled (dir=in for
   * it), the higher key's node its own (dir=out). */
  cr_assert_geq(duplicates_all(lo, "dir=in"), 1);
  cr_assert_geq(duplicates_all(hi, "dir=out"), 1);
  /* The losing dialler waits reconnect_max (default 5 min) before it
   * tries again, not reconnect_min (100 ms here): no duplicate storm. */
  int before = dm_log_count(hi, "batond: duplicate ");
  usleep(1500 * 1000);
  cr_assert_leq(dm_log_count(hi, "batond: duplicate "), before + 1,
                "the loser redials at once");
  cr_assert_geq(dm_log_count(hi, "reason=duplicate"), 1);
  stop(&pa);
  stop(&pb);
}

/* A relay for a's org only: it takes a's file, but b's org is not one it
 * relays for, so b is never offered it (and could not push files to it). */
Test(daemon_sync, a_relay_carries_only_for_the_orgs_it_relays_for)
{
  static const char *const text[] = {"only a's relay carries this", NULL};
  uint8_t file[CRDT_FILE_LEN];
  char peer[32], fa[CRDT_FPR_LEN], conf[96];
  dm_node a, b, r;
  node_store *s;
  size_t n;
  int runs;

  dm_node_make_kind(&w, &r, "relay", DM_ANCHORED, CRDT_ORG_LA);
  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  org_fpr(&a, fa);
  snprintf(conf, sizeof conf, "relay-for = %s\n", fa);
  s = dm_node_open(&a);
  new_file(s, "Philippa", "Oakenshaw", file);
  note(s, file, text[0]);
  grant(s, file, &b, CRDT_RIGHTS_READ);
  n = ops_in(s, file);
  node_store_close(s);

  start(&pr, &r, conf, NULL);
  peer_arg(&pr, peer, sizeof peer);
  const char *xa[] = {"--peer", peer, NULL};
  const char *xb[] = {"--peer", peer, "--sync-period", "100ms", NULL};
  start(&pb, &b, NULL, xb);
  start(&pa, &a, NULL, xa);
  wait_holds(&r, file, n, NULL, "the relay never took a's file");
  runs = dm_log_count(&pb, "synced peer=");
  if (dm_log_wait(&pb, "synced peer=", runs + 3, 3000) < runs + 3)
    fail_logs("b stopped running");
  cr_assert_not(holds(&b, file, 1, NULL), "b got a file its org is not relayed for");
  stop(&pa);
  stop(&pb);
  stop(&pr);
}

/* ---- hostile messages ------------------------------------------------------------------ */

static dm_node da, dc; /* the daemon's node; the test peer's */
static dm_ident me; /* c's own device */
static uint8_t shared[CRDT_FILE_LEN], unshared[CRDT_FILE_LEN];
static uint8_t *env_shared, *env_unshared;
static size_t env_shared_len, env_unshared_len;
static crdt_id heads_shared[8], heads_unshared[8];
static size_t nheads_shared, nheads_unshared;

/* A stored envelope of file (its last op in (hour, id) order). */
static uint8_t *some_env(node_store *s, const uint8_t *file, size_t *len)
{
  crdt_id ids[64];
  crdt_op *op;
  uint8_t *p;
  size_t n;

  cr_assert_eq(node_file_ops(s, file, ids, 64, &n), BT_OK);
  cr_assert(n > 0 && n <= 64);
  cr_assert_eq(node_op_get(s, &ids[n - 1], &op), BT_OK);
  cr_assert_not_null(p = malloc(op->env_len));
  memcpy(p, op->env, op->env_len);
  *len = op->env_len;
  crdt_op_free(op);
  return p;
}

static void adv_setup(void)
{
  node_store *s;

  dm_world_init(&w);
  dm_node_make(&w, &da, "a", DM_ANCHORED);
  dm_node_make(&w, &dc, "c", DM_ANCHORED);
  s = dm_node_open(&da);
  new_file(s, "Wilhelmina", "Ashgrove", unshared); /* never shared with c */
  note(s, unshared, "not for c");
  new_file(s, "Barnaby", "Thistlewood", shared);
  note(s, shared, "shared with c");
  grant(s, shared, &dc, CRDT_RIGHTS_READ);
  env_shared = some_env(s, shared, &env_shared_len);
  env_unshared = some_env(s, unshared, &env_unshared_len);
  cr_assert_eq(node_heads(s, shared, heads_shared, 8, &nheads_shared), BT_OK);
  cr_assert_eq(node_heads(s, unshared, heads_unshared, 8, &nheads_unshared), BT_OK);
  node_store_close(s);
  dm_node_recount(&da);
  dm_ident_self(&me, &dc);
  dm_ident_sync(&me);
  start(&d, &da, NULL, NULL);
}

static void adv_teardown(void)
{
  char log[1 << 16];

  if (d.pid > 0)
    stop(&d);
  stop_all();
  dm_log_read(&d, log, sizeof log);
  cr_assert_null(strstr(log, "Wilhelmina"), "a child's name in the log");
  cr_assert_null(strstr(log, "Barnaby"), "a child's name in the log");
  free(env_shared);
  free(env_unshared);
  dm_ident_free(&me);
  dm_world_free(&w);
}

TestSuite(daemon_sync_adversary, .init = adv_setup, .fini = adv_teardown);

/* The daemon's ops, and the heads of both files, are as before. */
static void unchanged(void)
{
  node_store *s = dm_node_open(&da);
  crdt_id h[8];
  size_t ops, buffered, n;

  cr_assert_eq(node_store_counts(s, &ops, &buffered), BT_OK);
  cr_assert_eq(ops, da.ops, "ops %zu, were %zu", ops, da.ops);
  cr_assert_eq(buffered, da.buffered);
  cr_assert_eq(node_heads(s, shared, h, 8, &n), BT_OK);
  cr_assert(n == nheads_shared && memcmp(h, heads_shared, n * sizeof *h) == 0);
  cr_assert_eq(node_heads(s, unshared, h, 8, &n), BT_OK);
  cr_assert(n == nheads_unshared && memcmp(h, heads_unshared, n * sizeof *h) == 0);
  node_store_close(s);
}

static void session(dm_conn *cn)
{
  int rc;

  dm_connect(cn, d.port);
  rc = dm_handshake(cn, &me, 1);
  cr_assert_eq(rc, BT_OK, "handshake: %d", rc);
}

static void send_msg(dm_conn *cn, uint32_t run, uint32_t n, uint8_t flags, const uint8_t *env,
                     size_t elen)
{
  proto_sync_enc *e;
  uint8_t *m;
  size_t len;

  cr_assert_eq(proto_sync_enc_new(&e, run, n, flags, NULL, (bt_bytes){NULL, 0}), BT_OK);
  if (env)
    cr_assert_eq(proto_sync_enc_env(e, env, elen), BT_OK);
  cr_assert_eq(proto_sync_enc_finish(e, &m, &len), BT_OK);
  proto_sync_enc_free(e);
  dm_seal(cn, m, len, 0);
  free(m);
}

/* The daemon's next message, decoded: its flags. */
static uint8_t recv_msg(dm_conn *cn, uint32_t run, uint32_t n)
{
  proto_sync_msg m;
  uint8_t *got, flags;
  size_t len;
  int final = 0, kind = 0, rc;

  rc = dm_open_big(cn, &got, &len, &final);
  if (rc != DM_OK)
    fail_logs("no answer from the daemon");
  cr_assert_not(final, "the daemon said bye");
  rc = proto_sync_decode(got, len, &kind, &m);
  cr_assert_eq(rc, BT_OK, "%s", bt_strerror(rc));
  cr_assert_eq(kind, PROTO_SYNC_MSG);
  cr_assert(m.run == run && m.n == n, "run %u n %u", m.run, m.n);
  flags = m.flags;
  proto_sync_msg_free(&m);
  free(got);
  return flags;
}

/* A one-message run from us: START and IDLE, carrying env; then END when
 * the daemon still had something to say (an OUT notice). */
static void run_with(dm_conn *cn, uint32_t run, const uint8_t *env, size_t elen)
{
  uint8_t flags;

  send_msg(cn, run, 0, PROTO_SYNC_START | PROTO_SYNC_IDLE, env, elen);
  flags = recv_msg(cn, run, 1);
  if (!(flags & PROTO_SYNC_END)) {
    cr_assert(flags & PROTO_SYNC_IDLE);
    send_msg(cn, run, 2, PROTO_SYNC_END | PROTO_SYNC_IDLE, NULL, 0);
  }
}

/* The daemon logged a finished run with us counting what (e.g.
 * "rejected=1"). */
static void run_logged(const char *what)
{
  char needle[128];
  uint64_t end = mono_ms() + 3000;
  static char log[1 << 18];

  snprintf(needle, sizeof needle, "fpr=%s path=", me.fpr);
  for (;;) {
    dm_log_read(&d, log, sizeof log);
    for (char *q = log; (q = strstr(q, needle)) != NULL; q++) {
      char *eol = strchr(q, '\n');
      if (eol && memmem(q, (size_t)(eol - q), what, strlen(what)))
        return;
    }
    if (mono_ms() > end)
      fail_logs(what);
    sleep_ms(10);
  }
}

static void hang_up(dm_conn *cn)
{
  dm_bye(cn);
  cr_assert(dm_wait_closed(cn, 3000), "the daemon kept the session after our bye");
  dm_close(cn);
}

/* A whole run of node/sync.h from c's own store, with the daemon: it must
 * end, and leave c holding every op of the shared file (and nothing of the
 * unshared one). */
static void fresh_session_completes(void)
{
  node_store *s = dm_node_open(&dc);
  node_sync_peer peer = {0};
  proto_hs_result r;
  crdt_cert *oc;
  node_sync *x;
  node_sync_stats st;
  const uint8_t *out;
  size_t olen;
  dm_conn cn;
  int rc;

  session(&cn);
  cr_assert_eq(proto_hs_get_result(cn.hs, &r), BT_OK);
  memcpy(peer.device_pk, r.peer_pk, CRDT_PK_LEN);
  cr_assert_eq(crdt_cert_decode(r.peer_org_cert.p, r.peer_org_cert.len, &oc), BT_OK);
  peer.org_pk = oc->b.subject;
  peer.box_pk = oc->b.box;
  peer.org_kind = oc->b.org_kind;
  crdt_cert_free(oc);
  cr_assert_eq(node_sync_new(&x, s, &peer, 1, NULL), BT_OK);
  cr_assert_eq(node_sync_start(x, &out, &olen), BT_OK);
  dm_seal(&cn, out, olen, 0);
  for (node_sync_get_stats(x, &st); st.runs == 0; node_sync_get_stats(x, &st)) {
    uint8_t *m;
    size_t len;
    int final = 0;
    if ((rc = dm_open_big(&cn, &m, &len, &final)) != DM_OK)
      fail_logs("the fresh session broke off");
    cr_assert_not(final, "the daemon said bye mid-run");
    rc = node_sync_recv(x, m, len, &out, &olen);
    free(m);
    cr_assert_eq(rc, BT_OK, "recv: %s", bt_strerror(rc));
    if (olen)
      dm_seal(&cn, out, olen, 0);
  }
  cr_assert_eq(st.ops_rejected, 0);
  node_sync_free(x);
  run_logged("rejected=0 refused=0");
  hang_up(&cn);
  cr_assert_eq(ops_in(s, unshared), 0, "the unshared file reached c");
  cr_assert_gt(ops_in(s, shared), 0, "the shared file did not reach c");
  node_store_close(s);
}

Test(daemon_sync_adversary, a_forged_op_is_rejected_and_nothing_changes)
{
  uint8_t *forged = malloc(env_shared_len);
  dm_conn cn;

  memcpy(forged, env_shared, env_shared_len);
  forged[env_shared_len - 1] ^= 0x01; /* the signature's last byte */
  session(&cn);
  run_with(&cn, 1, forged, env_shared_len);
  run_logged("rejected=1 refused=0");
  hang_up(&cn);
  free(forged);
  unchanged();
  fresh_session_completes();
}

Test(daemon_sync_adversary, a_replayed_op_is_a_duplicate)
{
  dm_conn cn;

  session(&cn);
  run_with(&cn, 1, env_shared, env_shared_len);
  run_logged("stored=0 dup=1 ");
  run_with(&cn, 2, env_shared, env_shared_len); /* and again, in a second run */
  hang_up(&cn);
  unchanged();
  fresh_session_completes();
}

Test(daemon_sync_adversary, ops_of_a_file_out_of_scope_are_refused)
{
  dm_conn cn;

  session(&cn);
  run_with(&cn, 1, env_unshared, env_unshared_len);
  run_logged("stored=0 dup=0 buffered=0 rejected=0 refused=1 ");
  hang_up(&cn);
  unchanged();
  fresh_session_completes();
}

Test(daemon_sync_adversary, a_message_out_of_sequence_ends_the_session)
{
  char needle[128];
  dm_conn cn;

  session(&cn);
  send_msg(&cn, 1, 0, PROTO_SYNC_START, NULL, 0);
  (void)recv_msg(&cn, 1, 1);
  send_msg(&cn, 1, 3, PROTO_SYNC_IDLE, env_shared, env_shared_len); /* n should be 2 */
  cr_assert(dm_wait_closed(&cn, 3000), "the daemon kept the session");
  dm_close(&cn);
  snprintf(needle, sizeof needle, "state=open reason=BT_ESEQ fpr=%s", me.fpr);
  if (dm_log_wait(&d, needle, 1, 2000) != 1)
    fail_logs("no close with BT_ESEQ");
  snprintf(needle, sizeof needle, "sync-cut peer=");
  cr_assert_eq(dm_log_wait(&d, needle, 1, 2000), 1);
  unchanged();
  fresh_session_completes();
}
