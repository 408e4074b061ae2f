/* tests/daemon/test_batond.c: batond as an operator runs it.
 *
 * Two daemons of orgs certified by one LA find each other (one dials, the
 * other answers) and run a sync session (each side logs the run); the
 * dialler, which starts runs, backs off with
 * jitter while its peer is down and connects once it is up; an idle
 * session ends with a bye; SIGTERM ends sessions with a bye and exits 0
 * promptly with the store intact; the config file's errors name their
 * line; --init makes a key file, store and org on a first run. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crdt/err.h"
#include "node/org.h"
#include "peer.h"
#include "proto/sync.h"

static dm_world w;

static void setup(void)
{
  dm_world_init(&w);
}

static void teardown(void)
{
  dm_world_free(&w);
}

TestSuite(daemon_batond, .init = setup, .fini = teardown);

static void stop_ok(dm_proc *p, long max_ms)
{
  char log[1 << 16];
  long ms = 0;
  int st = dm_stop(p, SIGTERM, &ms);

  dm_log_read(p, log, sizeof log);
  cr_assert_eq(st, 0, "exit status %d\n%s", st, log);
  cr_assert_lt(ms, max_ms, "took %ld ms to stop\n%s", ms, log);
}

static void fpr_of(const dm_node *nd, char fpr[CRDT_FPR_LEN])
{
  node_store *s = dm_node_open(nd);
  uint8_t pk[CRDT_PK_LEN];

  node_store_device(s, pk);
  crdt_fingerprint(pk, CRDT_PK_LEN, fpr);
  node_store_close(s);
}

Test(daemon_batond, two_nodes_handshake_and_sync)
{
  dm_node a, b;
  dm_proc pa, pb;
  char peer[32], fa[CRDT_FPR_LEN], fb[CRDT_FPR_LEN], needle[128], log[1 << 16];

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &b, "b", DM_ANCHORED);
  fpr_of(&a, fa);
  fpr_of(&b, fb);
  dm_start(&pb, &b, NULL, NULL);
  snprintf(peer, sizeof peer, "127.0.0.1:%d", pb.port);
  const char *extra[] = {"--peer", peer, NULL};
  dm_start(&pa, &a, NULL, extra);

  snprintf(needle, sizeof needle, "session peer=%s dir=out fpr=%s", peer, fb);
  if (dm_log_wait(&pa, needle, 1, 5000) != 1) {
    dm_log_read(&pa, log, sizeof log);
    cr_assert_fail("a never opened a session with b:\n%s", log);
  }
  snprintf(needle, sizeof needle, "dir=in fpr=%s", fa);
  cr_assert_eq(dm_log_wait(&pb, needle, 1, 2000), 1);
  /* The dialler starts a run at once; both sides log its end. Neither
   * holds a file in the other's scope: nothing moves. */
  snprintf(needle, sizeof needle, "synced peer=%s fpr=%s path=full ", peer, fb);
  if (dm_log_wait(&pa, needle, 1, 3000) != 1) {
    dm_log_read(&pa, log, sizeof log);
    cr_assert_fail("a logged no run with b:\n%s", log);
  }
  snprintf(needle, sizeof needle, "fpr=%s path=full ", fa);
  cr_assert_eq(dm_log_wait(&pb, needle, 1, 2000), 1);
  cr_assert_eq(dm_log_count(&pa, "ops_sent=0 stored=0 dup=0 buffered=0 rejected=0 refused=0"),
               1);
  cr_assert_eq(dm_log_count(&pa, "pong"), 0, "no placeholder once sync is plugged in");

  /* a stops: its session ends with a bye, which b logs. */
  stop_ok(&pa, 3000);
  cr_assert_eq(dm_log_count(&pa, "dir=out state=open reason=stop"), 1);
  cr_assert_eq(dm_log_wait(&pb, "dir=in state=open reason=bye", 1, 2000), 1);
  stop_ok(&pb, 3000);
  dm_node_check_intact(&a);
  dm_node_check_intact(&b);
}

Test(daemon_batond, sigterm_ends_sessions_with_a_bye_and_exits_0)
{
  dm_node a, c_org;
  dm_ident id;
  dm_proc p;
  dm_conn c;
  uint8_t got[64];
  size_t len;
  int final = 0;
  long ms = 0;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &c_org, "c", DM_ANCHORED);
  dm_ident_make(&id, &c_org);
  dm_ident_sync(&id);
  dm_start(&p, &a, NULL, NULL);
  dm_connect(&c, p.port);
  cr_assert_eq(dm_handshake(&c, &id, 1), BT_OK);
  dm_ping(&c);

  kill(p.pid, SIGTERM);
  cr_assert_eq(dm_open(&c, got, sizeof got, &len, &final), DM_OK);
  cr_assert(final && len == 2 && got[0] == 0x91 && got[1] == 66, "want a final bye");
  cr_assert(proto_stream_closed(c.st));
  dm_bye(&c);
  cr_assert(dm_wait_closed(&c, 2000));
  dm_close(&c);
  cr_assert_eq(dm_stop(&p, 0, &ms), 0); /* signal 0: just wait */
  cr_assert_lt(ms, 1500);
  cr_assert_eq(dm_log_count(&p, "state=open reason=stop"), 1);
  dm_node_check_intact(&a);
  dm_ident_free(&id);
}

Test(daemon_batond, a_silent_session_is_closed_when_idle)
{
  dm_node a, c_org;
  dm_ident id;
  dm_proc p;
  dm_conn c;
  uint8_t got[64];
  size_t len;
  int final = 0;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &c_org, "c", DM_ANCHORED);
  dm_ident_make(&id, &c_org);
  dm_ident_sync(&id);
  dm_start(&p, &a, "idle_timeout = 800ms\n", NULL);
  dm_connect(&c, p.port);
  cr_assert_eq(dm_handshake(&c, &id, 1), BT_OK);
  dm_ping(&c);
  cr_assert_eq(dm_open(&c, got, sizeof got, &len, &final), DM_OK);
  cr_assert(final && len == 2 && got[1] == 66, "want the daemon's bye");
  cr_assert(dm_wait_closed(&c, 3000)); /* its FIN follows the bye */
  cr_assert_eq(dm_log_wait(&p, "state=open reason=idle", 1, 1000), 1);
  dm_close(&c);
  stop_ok(&p, 3000);
  dm_ident_free(&id);
}

/* Delays logged as "retry peer=ADDR in_ms=N", in order. */
static int retries(const dm_proc *p, const char *peer, long *ms, int max)
{
  static char log[1 << 16];
  char needle[64];
  int n = 0;

  dm_log_read(p, log, sizeof log);
  snprintf(needle, sizeof needle, "retry peer=%s in_ms=", peer);
  for (const char *q = log; n < max && (q = strstr(q, needle)) != NULL; q += strlen(needle))
    ms[n++] = atol(q + strlen(needle));
  return n;
}

/* The daemon dialled us: its first message is the start of a run. */
static void expect_run_start(dm_conn *c)
{
  proto_sync_msg m;
  uint8_t *got;
  size_t len;
  int final = 0, kind = 0, rc;

  rc = dm_open_big(c, &got, &len, &final);
  cr_assert_eq(rc, DM_OK, "no message from the dialler: %d", rc);
  cr_assert_not(final);
  rc = proto_sync_decode(got, len, &kind, &m);
  cr_assert_eq(rc, BT_OK, "not a sync message: %s", bt_strerror(rc));
  cr_assert(kind == PROTO_SYNC_MSG && m.n == 0 && (m.flags & PROTO_SYNC_START));
  proto_sync_msg_free(&m);
  free(got);
}

Test(daemon_batond, the_dialler_backs_off_then_connects)
{
  dm_node a, c_org;
  dm_ident id;
  dm_proc p;
  dm_conn c;
  char peer[32], needle[128];
  long ms[64];
  int port = dm_free_port(), lfd, n;

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &c_org, "c", DM_ANCHORED);
  dm_ident_make(&id, &c_org);
  dm_ident_sync(&id);
  snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
  const char *extra[] = {"--peer", peer, NULL};
  dm_start(&p, &a, "reconnect_min = 40ms\nreconnect_max = 200ms\n", extra);

  /* Nobody there: refused, and the delays double (each drawn from the
   * upper half of 40, 80, 160, 200, 200... ms). */
  snprintf(needle, sizeof needle, "retry peer=%s ", peer);
  cr_assert_geq(dm_log_wait(&p, needle, 6, 5000), 6);
  cr_assert_geq(dm_log_count(&p, "state=connect reason=ECONNREFUSED"), 6);
  n = retries(&p, peer, ms, 64);
  long lo[] = {20, 40, 80, 100, 100, 100}, hi[] = {40, 80, 160, 200, 200, 200};
  for (int i = 0; i < 6; i++)
    cr_assert(ms[i] >= lo[i] && ms[i] <= hi[i], "retry %d after %ld ms", i, ms[i]);

  /* Up: the daemon dials in and starts a sync run. */
  lfd = dm_listen(port);
  dm_accept(&c, lfd);
  cr_assert_eq(dm_handshake(&c, &id, 0), BT_OK);
  expect_run_start(&c);
  snprintf(needle, sizeof needle, "session peer=%s dir=out", peer);
  cr_assert_eq(dm_log_wait(&p, needle, 1, 2000), 1);

  /* We hang up: after a session, the next try comes at the first delay. */
  dm_bye(&c);
  cr_assert(dm_wait_closed(&c, 3000));
  dm_close(&c);
  cr_assert_geq(dm_log_wait(&p, "retry peer=", n + 1, 2000), n + 1);
  n = retries(&p, peer, ms, 64);
  cr_assert(ms[n - 1] >= 20 && ms[n - 1] <= 40, "after a session: %ld ms", ms[n - 1]);
  dm_accept(&c, lfd); /* and it does come back */
  cr_assert_eq(dm_handshake(&c, &id, 0), BT_OK);
  expect_run_start(&c);
  /* Our hanging up cut its run short: logged as such. */
  snprintf(needle, sizeof needle, "sync-cut peer=%s fpr=%s ", peer, id.fpr);
  cr_assert_geq(dm_log_wait(&p, needle, 1, 2000), 1);
  dm_close(&c);
  close(lfd);
  stop_ok(&p, 3000);
  dm_ident_free(&id);
}

Test(daemon_batond, a_provisional_node_is_refused)
{
  dm_node a, lone;
  dm_proc pa, pl;
  char peer[32];

  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &lone, "lone", DM_PROVISIONAL);
  dm_start(&pa, &a, NULL, NULL);
  snprintf(peer, sizeof peer, "127.0.0.1:%d", pa.port);
  const char *extra[] = {"--peer", peer, NULL};
  dm_start(&pl, &lone, "reconnect_min = 5s\n", extra);
  cr_assert_eq(dm_log_wait(&pl, "provisional", 1, 1000), 1);
  /* lone, the initiator, accepts a's proof and sends its own: a refuses
   * the self-signed chain and closes. */
  cr_assert_eq(dm_log_wait(&pa, "state=handshake reason=BT_ESELFSIGNED", 1, 3000), 1);
  /* lone sees the cut while waiting for a's stream header: an EOF, or a
   * reset when its own header reached a's socket after a read its last. */
  cr_assert_eq(dm_log_wait(&pl, "state=header reason=", 1, 2000), 1);
  stop_ok(&pl, 3000);
  stop_ok(&pa, 3000);
}

/* Runs batond to completion with args; its stderr into err. */
static int run(const char *const *args, char *err, size_t len)
{
  char path[160];
  FILE *f;
  pid_t pid;
  int st;

  snprintf(path, sizeof path, "%s/run.err", w.root);
  if ((pid = fork()) == 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    execv(BATOND, (char *const *)args);
    _exit(127);
  }
  waitpid(pid, &st, 0);
  err[0] = '\0';
  if ((f = fopen(path, "r")) != NULL) {
    err[fread(err, 1, len - 1, f)] = '\0';
    fclose(f);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void config_error(const char *text, const char *want)
{
  char path[160], err[4096];
  FILE *f;

  snprintf(path, sizeof path, "%s/bad.conf", w.root);
  cr_assert_not_null(f = fopen(path, "w"));
  fputs(text, f);
  fclose(f);
  const char *args[] = {BATOND, "--config", path, NULL};
  cr_assert_eq(run(args, err, sizeof err), 2, "%s", err);
  cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
}

Test(daemon_batond, config_errors_name_their_line)
{
  config_error("# fine\nlisten = 127.0.0.1:7643\nlisen = 127.0.0.1:1\n", "bad.conf:3: lisen: unknown key");
  config_error("idle_timeout = 10 minutes\n", "bad.conf:1: idle_timeout: want a duration");
  config_error("\n\nmax_connections = 0\n", "bad.conf:3: max_connections: want 1..4096");
  config_error("peer = 10.0.0.1\n", "bad.conf:1: peer: want HOST:PORT");
  config_error("peer = [::1]:7643\nlisten = ::1:7643\n", "bad.conf:2: listen");
  config_error("dir = /a\ndir = /b\n", "bad.conf:2: dir: set twice");
  config_error("just words\n", "bad.conf:1: just words: want key = value");
  config_error("max_frame = 1K\n", "bad.conf:1: max_frame: want 128K..64M bytes");
  config_error("max_frame = 64K\n", "bad.conf:1: max_frame: want 128K..64M bytes");
  config_error("relay-for = all\nrelay-for = 7QKM\n", "bad.conf:2: relay-for: want an org fingerprint");
  config_error("relay_for = 7QKM-7QKM-7QKM-7QKM-7QKM-7QKM-7QKM-7QKU\n",
               "bad.conf:1: relay_for: want an org fingerprint");
  config_error("sync-period = 0\n", "bad.conf:1: sync-period: want a duration");
  config_error("sync_period = 1m\nsync-period = 2m\n", "bad.conf:2: sync-period: set twice");

  config_error("idle_timeout = 2m # two minutes\nfoo = 1 # no\n", "bad.conf:2: foo: unknown key");

  char err[4096], example[512], *slash;
  const char *args[] = {BATOND, "--nope", NULL};
  cr_assert_eq(run(args, err, sizeof err), 2);
  cr_assert_not_null(strstr(err, "unknown option --nope"));
  const char *bad_fpr[] = {BATOND, "--relay-for", "nobody", NULL};
  cr_assert_eq(run(bad_fpr, err, sizeof err), 2);
  cr_assert_not_null(strstr(err, "--relay-for nobody: want an org fingerprint"), "%s", err);
  const char *bad_period[] = {BATOND, "--sync-period", "soon", NULL};
  cr_assert_eq(run(bad_period, err, sizeof err), 2);
  cr_assert_not_null(strstr(err, "--sync-period soon: want a duration"), "%s", err);

  /* The shipped example parses: it gets as far as the key file. */
  snprintf(example, sizeof example, "%s", __FILE__);
  cr_assert_not_null(slash = strstr(example, "tests/daemon/"));
  strcpy(slash, "dist/batond.conf.example");
  const char *ex[] = {BATOND, "--config", example, "--dir", w.root, "--key-file",
                      "/nonexistent/node.key", NULL};
  cr_assert_eq(run(ex, err, sizeof err), 1, "%s", err);
  cr_assert_null(strstr(err, "conf.example:"), "%s", err);
}

Test(daemon_batond, init_makes_a_key_file_store_and_org)
{
  char dir[120], key[120];
  dm_node nd;
  dm_proc p;
  struct stat sb;

  snprintf(dir, sizeof dir, "%s/fresh", w.root);
  snprintf(key, sizeof key, "%s/fresh.key", w.root);
  memset(&nd, 0, sizeof nd);
  snprintf(nd.dir, sizeof nd.dir, "%s", dir);
  snprintf(nd.key, sizeof nd.key, "%s", key);
  const char *extra[] = {"--init", "Hillside Primary", NULL};
  dm_start(&p, &nd, NULL, extra);
  cr_assert_eq(dm_log_count(&p, "created key file"), 1);
  cr_assert_eq(dm_log_count(&p, "created this node's org"), 1);
  cr_assert_eq(dm_log_count(&p, "Hillside"), 0);
  stop_ok(&p, 3000);
  cr_assert_eq(stat(key, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600);

  /* Again: the same key and org, nothing new. */
  dm_start(&p, &nd, NULL, extra);
  cr_assert_eq(dm_log_count(&p, "created"), 0);
  stop_ok(&p, 3000);

  /* A store without its key file: no new key is made for it. */
  char err[4096];
  cr_assert_eq(unlink(key), 0);
  const char *args[] = {BATOND, "--dir", dir, "--key-file", key, "--init", "X", NULL};
  cr_assert_eq(run(args, err, sizeof err), 1);
  cr_assert_not_null(strstr(err, "key file is missing"), "%s", err);
  cr_assert_neq(stat(key, &sb), 0);
}
