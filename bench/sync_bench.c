/* bench/sync_bench.c: two batond processes syncing on loopback, and the
 * ingest limit of the same ops, in one run (docs/sync.md, "Benchmark").
 *
 * Usage: sync_bench [N [D]]   (N ops, default 100000; D new ops, default 100)
 *
 * Untimed setup: a temporary world holding an LA root store and two nodes,
 * A and B, each a data directory with a 0600 key file and a store whose
 * school org the LA certified (both anchor the LA), as tests/daemon/peer.c
 * makes them. A authors, through the node API, F = N/100 case files (at
 * most 1,000, at least 1): node_file_create, then node_grant_as to B's org
 * (read rights, history "all": a grant per file is how a second org gets a
 * file in real use), then entries (records of concern, chronology, reviews
 * and actions of 260..340 encoded bytes, as the other benchmarks) until A
 * holds exactly N ops. Entries go in one transaction per file through
 * node__author_many, node_author's batch form: node_author rematerialises
 * the file and commits once per op, minutes for 100,000. B holds no file.
 *
 * Then, each case with fresh batond processes (A listens, B dials A; the
 * dialler starts a run as soon as the session opens):
 *
 *   ingest  node_ingest_stream of A's N envelopes (per file in seq order:
 *           parents first) into a fresh store in this process, all cores,
 *           committing every 10,000: the ingest limit, just before and
 *           just after (a); the better round counts;
 *   (a)     initial sync: B receives all N ops;
 *   (b)     D new ops authored on A while the daemons are stopped, then a
 *           sync between peers that remember their last state (fast path);
 *   (c)     D more new ops on A, then node_sync_forget on both stores for
 *           each other's device (daemons stopped), then a sync (full path);
 *   (d)     live: with both daemons up and synced, this process authors one
 *           op on A (its store opened beside A's batond) and polls B's store
 *           every 1 ms until the op is there; LIVE_TRIALS trials, median.
 *
 * Messages, bytes and path come from the synced lines B (the dialler) logs
 * (node/hub.c); a case's time from the timestamps of B's session line and
 * its last synced line (the ms= field misses the handling of a run's last
 * message: the loop's cached time). Bytes are sync message payloads as
 * node/sync.c counts them, before stream sealing and framing
 * (PROTO_STREAM_ABYTES + PROTO_FRAME_HDR per message on the wire). Peak RSS
 * is VmHWM from /proc/PID/status just before each batond is stopped.
 *
 * Every wait has a deadline; an exceeded one, a failed call or SIGINT /
 * SIGTERM ends the run with a message and status 1, after the daemons are
 * killed and the temporary directory is removed. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "body.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/gen.h"
#include "crdt/mp.h"
#include "node/org.h"
#include "node/secret.h"
#include "node/share.h"
#include "node/store.h"
#include "node/store_int.h" /* node__author_many: the bulk build */
#include "node/sync.h"
#include "proto/frame.h"
#include "proto/stream.h"

#ifndef BATOND
#error "BATOND: path of the batond executable (bench/CMakeLists.txt)"
#endif

#define SEED          20240602u
#define FILES_MAX     1000
#define OPS_PER_FILE  100     /* F = N / OPS_PER_FILE, 1..FILES_MAX */
#define BATCH         10000   /* ops per transaction of the ingest limit */
#define LIVE_TRIALS   21
#define PATH_LEN      256
#define ROOT_LEN      160     /* TMPDIR (< 128) + /sync_bench-XXXXXX */
#define USER          "dsl.bench"
#define START_S       20.0    /* batond listening; a session up */
#define STOP_S        15.0    /* batond gone after SIGTERM */
#define LIVE_S        30.0    /* one live op reaching B; its run ending */

typedef struct {
  char dir[PATH_LEN], key[PATH_LEN];
  uint8_t pk[CRDT_PK_LEN];
} bnode;

typedef struct {
  pid_t pid;
  int port;
  char log[PATH_LEN];
} proc;

/* Sums of the synced lines of one log; span_ms is from the session's line
 * to the last synced line, by the log's own timestamps. */
typedef struct {
  unsigned runs, fast, cuts;
  uint64_t msgs, out, in, stored, ms;
  long span_ms;
} runsum;

/* One sync case: what B logged and what the clock saw. */
typedef struct {
  runsum r;
  double wall_s;     /* from B's start (listening) to its count reaching the target */
  long rss_a, rss_b; /* kB */
} phase;

typedef struct {
  size_t n, d, nfiles;
  char root[ROOT_LEN];
  int made;
  bnode la, a, b;
  uint8_t (*files)[CRDT_FILE_LEN];
  uint8_t *b_org;          /* B's org certificate, for the grants */
  size_t b_org_len;
  gen_rng r;
  size_t ops_a;            /* A's op count now */
  double build_s, ingest_ops_s, ingest_round[2], env_mean, new_env_mean[2];
  phase ph[3];             /* a, b, c */
  double live_ms[LIVE_TRIALS], author_ms[LIVE_TRIALS];
  runsum live;
  int unwatched;           /* A's batond said it does not watch its store */
  long rss_max_a, rss_max_b;
} bench;

static proc *g_procs[2];        /* running daemons, for every way out */
static volatile sig_atomic_t g_stop;
static unsigned g_seq;

/* ---- small things ---------------------------------------------------------------- */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
  va_list ap;

  fputs("sync_bench: error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

static int bt_fail(const char *what, int rc)
{
  return fail("%s: %s", what, bt_strerror(rc));
}

/* Sleeps; 1 if the run was interrupted (SIGINT, SIGTERM). */
static int nap(double s)
{
  struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

  nanosleep(&t, NULL);
  return g_stop != 0;
}

/* One step of a wait with a deadline: 0 after sleeping step seconds, 1
 * once the deadline has passed, -1 when the run was interrupted. */
static int overdue(double end, double step)
{
  if (g_stop)
    return -1;
  if (bench_now_s() > end)
    return 1;
  return nap(step) ? -1 : 0;
}

static uint64_t wall_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
  (void)sig;
  g_stop = 1;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
  (void)sb;
  (void)flag;
  (void)f;
  remove(p);
  return 0;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
  double s[LIVE_TRIALS];

  memcpy(s, v, n * sizeof(*v));
  qsort(s, n, sizeof(*s), cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- stores ----------------------------------------------------------------------- */

static int open_store(const bnode *nd, int create, node_store **s)
{
  node_store_opts o = {.dir = nd->dir, .key_file = nd->key, .create = create,
                       .kdf = NODE_KDF_MIN};
  int rc = node_store_open(s, &o);

  return rc ? bt_fail(nd->dir, rc) : 0;
}

static int store_count(node_store *s, size_t *ops)
{
  size_t buffered;
  int rc = node_store_counts(s, ops, &buffered);

  return rc ? bt_fail("node_store_counts", rc) : 0;
}

/* A data directory with a 0600 key file and a new store. */
static int make_node(bench *bn, bnode *nd, const char *name, node_store **s)
{
  int rc;

  snprintf(nd->dir, sizeof nd->dir, "%s/%s", bn->root, name);
  snprintf(nd->key, sizeof nd->key, "%s/%s.key", bn->root, name);
  if ((rc = node_keyfile_create(nd->key)) != 0)
    return bt_fail("node_keyfile_create", rc);
  if (open_store(nd, 1, s) != 0)
    return 1;
  node_store_device(*s, nd->pk);
  return 0;
}

/* A school org, certified by the LA (30 days from a minute ago). */
static int certified_org(node_store *la, node_store *s, const char *name)
{
  node_org_info info = {.kind = CRDT_ORG_SCHOOL, .name = name};
  uint64_t now = wall_ms() - 60000;
  uint8_t *cert = NULL;
  size_t len;
  node_org o = {0};
  crdt_id pk;
  int rc;

  if ((rc = node_org_create(s, &info)) != 0 || (rc = node_org_get(s, &o)) != 0 ||
      (rc = node_root_pk(la, &pk)) != 0 ||
      (rc = node_root_certify(la, o.org_cert, o.org_cert_len, now, 30, &cert, &len)) != 0 ||
      (rc = node_anchor_add(s, &pk)) != 0 || (rc = node_org_install(s, cert, len, now + 60000)))
    bt_fail("making a certified org", rc);
  free(cert);
  node_org_clear(&o);
  return rc != 0;
}

static int make_world(bench *bn)
{
  node_store *la = NULL, *a = NULL, *b = NULL;
  crdt_id anchor;
  node_org o = {0};
  int rc = 1;

  if (make_node(bn, &bn->la, "la", &la) != 0)
    goto out;
  if ((rc = node_root_create(la, &anchor)) != 0) {
    rc = bt_fail("node_root_create", rc);
    goto out;
  }
  rc = 1;
  if (make_node(bn, &bn->a, "a", &a) != 0 || certified_org(la, a, "Bench School A") != 0 ||
      make_node(bn, &bn->b, "b", &b) != 0 || certified_org(la, b, "Bench School B") != 0)
    goto out;
  if ((rc = node_org_get(b, &o)) != 0) {
    rc = bt_fail("node_org_get", rc);
    goto out;
  }
  if ((bn->b_org = malloc(o.org_cert_len)) == NULL) {
    rc = fail("out of memory");
    goto out;
  }
  memcpy(bn->b_org, o.org_cert, bn->b_org_len = o.org_cert_len);
  rc = 0;
out:
  node_org_clear(&o);
  node_store_close(la);
  node_store_close(a);
  node_store_close(b);
  return rc;
}

/* ---- authoring on A ---------------------------------------------------------------- */

/* A random entry body in a (sb is scratch). */
static int entry_body(bench *bn, gen_arena *a, crdt_body *b, msgpack_sbuffer *sb)
{
  int rc = bench_sized_body(&bn->r, a, bench_pick_type(&bn->r), crdt_hlc_make(wall_ms(), 0),
                            BODY_MIN + gen_below(&bn->r, BODY_MAX - BODY_MIN + 1), b, sb);

  b->user = BT_STR(USER);
  return rc ? fail("cannot build a body of the wanted size") : 0;
}

/* One entry through node_author, as the CLI would write it. */
static int author_entry(bench *bn, node_store *s, size_t f, crdt_id *id)
{
  gen_arena *scratch = gen_arena_new();
  msgpack_sbuffer sb;
  crdt_body b;
  int rc;

  msgpack_sbuffer_init(&sb);
  if ((rc = entry_body(bn, scratch, &b, &sb)) == 0 &&
      (rc = node_author(s, bn->files[f], &b, id)) != 0)
    rc = bt_fail("node_author", rc);
  crdt_mp_secure_destroy(&sb);
  gen_arena_free(scratch);
  return rc;
}

/* q entries in file f in one transaction (node__author_many: node_author
 * would rematerialise the file for every op, and commit each). */
static int author_bulk(bench *bn, node_store *s, size_t f, size_t q)
{
  gen_arena *scratch = gen_arena_new();
  crdt_body *b = calloc(q ? q : 1, sizeof(*b)), **bs = calloc(q ? q : 1, sizeof(*bs));
  msgpack_sbuffer sb;
  int rc = b && bs ? 0 : fail("out of memory");

  msgpack_sbuffer_init(&sb);
  for (size_t j = 0; j < q && rc == 0; j++) {
    rc = entry_body(bn, scratch, &b[j], &sb);
    bs[j] = &b[j];
  }
  if (rc == 0 && q && (rc = node__author_many(s, bn->files[f], USER, bs, q)) != 0)
    rc = bt_fail("node__author_many", rc);
  crdt_mp_secure_destroy(&sb);
  gen_arena_free(scratch);
  free(b);
  free(bs);
  return rc;
}

/* A file as a school makes one, shared with B's org at once. */
static int make_file(bench *bn, node_store *s, size_t f)
{
  node_grant_req g = {.org_cert = bn->b_org, .org_cert_len = bn->b_org_len,
                      .purpose = CRDT_PURPOSE_REFERRAL, .basis = CRDT_BASIS_CONSENT,
                      .consent_by = "mother", .consent_how = "in person at school",
                      .consent_on = 20260105, .rights = CRDT_RIGHTS_READ,
                      .history = CRDT_HISTORY_ALL};
  gen_arena *scratch = gen_arena_new();
  crdt_body b;
  crdt_id id;
  int rc;

  gen_body(&bn->r, scratch, CRDT_OP_FILE_CREATE, crdt_hlc_make(wall_ms(), 0), &b, NULL, 0);
  b.user = BT_STR(USER);
  if ((rc = node_file_create(s, &b, bn->files[f], &id)) != 0)
    rc = bt_fail("node_file_create", rc);
  else if ((rc = node_grant_as(s, USER, NODE_ROLE_DSL, bn->files[f], &g, &id)) != 0)
    rc = bt_fail("node_grant_as", rc);
  gen_arena_free(scratch);
  return rc;
}

/* F files granted to B, then entries, one transaction per file, until A
 * holds exactly N ops. */
static int build(bench *bn)
{
  node_store *s = NULL;
  size_t have = 0, rest;
  double t0 = bench_now_s();
  int rc = 1;

  if (open_store(&bn->a, 0, &s) != 0)
    return 1;
  for (size_t f = 0; f < bn->nfiles; f++)
    if (g_stop || make_file(bn, s, f) != 0)
      goto out;
  if (store_count(s, &have) != 0)
    goto out;
  if (have > bn->n) {
    rc = fail("N = %zu is too small: %zu files alone hold %zu ops", bn->n, bn->nfiles, have);
    goto out;
  }
  rest = bn->n - have;
  for (size_t f = 0; f < bn->nfiles; f++)
    if (g_stop || author_bulk(bn, s, f, rest / bn->nfiles + (f < rest % bn->nfiles)) != 0)
      goto out;
  if (store_count(s, &bn->ops_a) != 0)
    goto out;
  rc = bn->ops_a == bn->n ? 0 : fail("A holds %zu ops, not %zu", bn->ops_a, bn->n);
  bn->build_s = bench_now_s() - t0;
out:
  node_store_close(s);
  return rc || g_stop;
}

/* D new entries on A (daemons stopped), NEWS_PER_FILE to a file in
 * distinct files (a day's work: several entries in each of a few files;
 * the per-file cost of finding a difference is amortised over them, see
 * docs/sync.md); *env_mean is their mean envelope size. */
#define NEWS_PER_FILE 10
static int author_news(bench *bn, double *env_mean)
{
  node_store *s = NULL;
  size_t *pick = malloc(bn->nfiles * sizeof(*pick)), bytes = 0;
  int rc = 1;

  if (pick == NULL)
    return fail("out of memory");
  for (size_t f = 0; f < bn->nfiles; f++)
    pick[f] = f;
  if (open_store(&bn->a, 0, &s) != 0)
    goto out;
  for (size_t i = 0; i < bn->d; i++) {
    size_t k = (i / NEWS_PER_FILE) % bn->nfiles;
    crdt_op *op = NULL;
    crdt_id id;
    if (i % NEWS_PER_FILE == 0) { /* a new distinct file */
      size_t j = k + gen_below(&bn->r, bn->nfiles - k), t = pick[k];
      pick[k] = pick[j];
      pick[j] = t;
    }
    if (author_entry(bn, s, pick[k], &id) != 0)
      goto out;
    if ((rc = node_op_get(s, &id, &op)) != 0) {
      rc = bt_fail("node_op_get", rc);
      goto out;
    }
    bytes += op->env_len;
    crdt_op_free(op);
    rc = 1;
  }
  *env_mean = (double)bytes / (double)bn->d;
  rc = store_count(s, &bn->ops_a);
out:
  node_store_close(s);
  free(pick);
  return rc;
}

/* ---- the ingest limit -------------------------------------------------------------- */

typedef struct {
  uint32_t file;
  uint64_t seq;
  size_t off, len;
} envref;

static int cmp_envref(const void *a, const void *b)
{
  const envref *x = a, *y = b;

  if (x->file != y->file)
    return x->file < y->file ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef struct {
  envref *ref;
  uint8_t *pool;
  size_t n, len, cap;
  uint8_t (*epoch)[CRDT_EPOCH_LEN];
} envset;

static void envset_free(envset *e)
{
  free(e->ref);
  free(e->pool);
  free(e->epoch);
}

static int keep(envset *e, uint32_t f, const crdt_op *op)
{
  if (e->len + op->env_len > e->cap) {
    size_t cap = e->cap ? 2 * e->cap : (size_t)1 << 20;
    uint8_t *p;
    while (cap < e->len + op->env_len)
      cap *= 2;
    if ((p = realloc(e->pool, cap)) == NULL)
      return fail("out of memory");
    e->pool = p;
    e->cap = cap;
  }
  memcpy(e->pool + e->len, op->env, op->env_len);
  e->ref[e->n++] = (envref){f, op->h.seq, e->len, op->env_len};
  e->len += op->env_len;
  return 0;
}

/* Every op of A's files, each file's in seq order: one author (A's device)
 * wrote them all, so that is the order they were written, parents first. */
static int gather(bench *bn, envset *e)
{
  node_store *s = NULL;
  crdt_id *ids = NULL;
  size_t n;
  int rc;

  if ((e->ref = calloc(bn->n, sizeof(*e->ref))) == NULL ||
      (e->epoch = calloc(bn->nfiles, sizeof(*e->epoch))) == NULL)
    return fail("out of memory");
  if (open_store(&bn->a, 0, &s) != 0)
    return 1;
  for (uint32_t f = 0; f < bn->nfiles; f++) {
    if ((rc = node_file_epoch(s, bn->files[f], e->epoch[f])) != 0 ||
        (rc = node_file_ops(s, bn->files[f], NULL, 0, &n)) != 0)
      break;
    if (e->n + n > bn->n) {
      rc = fail("A's files hold more than %zu ops", bn->n);
      break;
    }
    if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL) {
      rc = fail("out of memory");
      break;
    }
    rc = node_file_ops(s, bn->files[f], ids, n, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
      crdt_op *op = NULL;
      if ((rc = node_op_get(s, &ids[i], &op)) == 0)
        rc = keep(e, f, op) ? BT_ENOMEM : 0;
      crdt_op_free(op);
    }
    free(ids);
    if (rc != 0)
      break;
  }
  node_store_close(s);
  if (rc != 0)
    return rc > 0 ? rc : bt_fail("reading A's ops", rc);
  if (e->n != bn->n)
    return fail("gathered %zu ops of A's %zu", e->n, bn->n);
  qsort(e->ref, e->n, sizeof(*e->ref), cmp_envref);
  bn->env_mean = (double)e->len / (double)e->n;
  return 0;
}

/* cp -a src dst: copies a store that no process has open. */
static int copy_dir(const char *src, const char *dst)
{
  int status = 0;
  pid_t pid = fork();

  if (pid < 0)
    return fail("fork: %s", strerror(errno));
  if (pid == 0) {
    execlp("cp", "cp", "-a", src, dst, (char *)NULL);
    _exit(127);
  }
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("cp -a %s %s failed", src, dst);
  return 0;
}

/* One round of the ingest limit: node_ingest_stream of A's N envelopes
 * into a copy of B's store as it was before any sync (B's org, so the
 * keyboxes open and ops are read as B reads them when it syncs), all
 * cores (tracking the files first is not timed, as in ingest_bench). The
 * copy is removed after. */
static int ingest_round(bench *bn, const envset *e, unsigned k)
{
  bt_bytes *env = calloc(e->n, sizeof(*env));
  node_ingest_result *res = calloc(e->n, sizeof(*res));
  node_store *s = NULL;
  node_ingest_stats st;
  char name[16], pristine[sizeof(((bnode *)0)->dir)];
  bnode in;
  double t0;
  int rc = 1;

  if (env == NULL || res == NULL) {
    rc = fail("out of memory");
    goto out;
  }
  for (size_t i = 0; i < e->n; i++)
    env[i] = (bt_bytes){e->pool + e->ref[i].off, e->ref[i].len};
  snprintf(name, sizeof name, "ingest%u", k);
  memset(&in, 0, sizeof in);
  snprintf(in.dir, sizeof in.dir, "%s/%s", bn->root, name);
  snprintf(in.key, sizeof in.key, "%s", bn->b.key);
  snprintf(pristine, sizeof pristine, "%s/b-before", bn->root);
  if ((k == 0 && copy_dir(bn->b.dir, pristine) != 0) || copy_dir(pristine, in.dir) != 0 ||
      open_store(&in, 0, &s) != 0)
    goto out;
  for (size_t f = 0; f < bn->nfiles; f++)
    if ((rc = node_file_track(s, bn->files[f], e->epoch[f], NULL)) != 0) {
      rc = bt_fail("node_file_track", rc);
      goto out;
    }
  t0 = bench_now_s();
  rc = node_ingest_stream(s, env, e->n, BATCH, res, &st);
  bn->ingest_round[k] = (double)e->n / (bench_now_s() - t0);
  if (rc != 0)
    rc = bt_fail("node_ingest_stream", rc);
  else if (st.stored + st.released != e->n || st.rejected || st.duplicate)
    rc = fail("ingest limit: stored %zu, released %zu, rejected %zu, duplicate %zu of %zu",
              st.stored, st.released, st.rejected, st.duplicate, e->n);
  if (bn->ingest_round[k] > bn->ingest_ops_s)
    bn->ingest_ops_s = bn->ingest_round[k];
out:
  node_store_close(s);
  if (s) /* the copy; the key file is B's own */
    nftw(in.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(env);
  free(res);
  return rc;
}

/* ---- daemons --------------------------------------------------------------------- */

/* The log's whole lines (one being written is left out), NUL-terminated
 * and malloc'd (NULL: no memory). */
static char *log_text(const proc *p)
{
  FILE *f = fopen(p->log, "r");
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap), *nb;

  while (f && buf && (got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
    n += got;
    if (n + 1 == cap && (nb = realloc(buf, cap *= 2)) != NULL)
      buf = nb;
    else if (n + 1 == cap)
      break;
  }
  if (f)
    fclose(f);
  while (buf && n > 0 && buf[n - 1] != '\n')
    n--;
  if (buf)
    buf[n] = '\0';
  return buf;
}

static void log_dump(const proc *p, const char *who)
{
  char *t = log_text(p);
  size_t len = t ? strlen(t) : 0;

  fprintf(stderr, "---- %s's log (%s), last lines:\n%s\n----\n", who, p->log,
          len > 3000 ? t + len - 3000 : t ? t : "");
  free(t);
}

static int log_has(const proc *p, const char *needle)
{
  char *t = log_text(p);
  int yes = t && strstr(t, needle) != NULL;

  free(t);
  return yes;
}

static uint64_t field(const char *line, const char *key)
{
  const char *at = strstr(line, key);

  return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

/* Milliseconds of the day a log line was written ("...THH:MM:SS.mmmZ"). */
static long line_ms(const char *line)
{
  int h, m, sec, ms;

  if (strlen(line) < 24 || sscanf(line + 11, "%2d:%2d:%2d.%3d", &h, &m, &sec, &ms) != 4)
    return -1;
  return ((h * 60L + m) * 60 + sec) * 1000 + ms;
}

/* Sums the "synced" lines (and counts the "sync-cut" ones) in p's log. */
static void log_runs(const proc *p, runsum *r)
{
  char *t = log_text(p), *line, *save = NULL;
  long t0 = -1, t1 = -1;

  memset(r, 0, sizeof(*r));
  for (line = t ? strtok_r(t, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    if (t0 < 0 && strstr(line, " batond: session "))
      t0 = line_ms(line);
    if (strstr(line, " batond: sync-cut "))
      r->cuts++;
    if (strstr(line, " batond: synced ") == NULL)
      continue;
    t1 = line_ms(line);
    r->runs++;
    r->fast += strstr(line, " path=fast ") != NULL;
    r->msgs += field(line, " msgs=");
    r->out += field(line, " bytes_out=");
    r->in += field(line, " bytes_in=");
    r->stored += field(line, " stored=");
    r->ms += field(line, " ms=");
  }
  r->span_ms = t0 >= 0 && t1 >= 0 ? (t1 - t0 + 86400000L) % 86400000L : -1;
  free(t);
}

static long rss_kb(pid_t pid)
{
  char path[64], line[256];
  long kb = -1;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

/* SIGTERM, then up to STOP_S for the exit; SIGKILL after that. 0 after a
 * clean exit (status 0). */
static int stop_proc(proc *p, const char *who)
{
  double end = bench_now_s() + STOP_S;
  int status = 0, rc = 1;

  if (p->pid <= 0)
    return 0;
  kill(p->pid, SIGTERM);
  while (bench_now_s() < end && (rc = waitpid(p->pid, &status, WNOHANG)) == 0)
    nap(0.005);
  if (rc != p->pid) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    log_dump(p, who);
    return fail("%s did not stop within %.0f s of SIGTERM: killed", who, STOP_S);
  }
  p->pid = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_dump(p, who);
    return fail("%s exited with status %d", who,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return 0;
}

static void exec_batond(const proc *p, const char *const *argv)
{
  int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600), nul = open("/dev/null", O_RDWR);

#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
#endif
  if (fd < 0 || nul < 0)
    _exit(127);
  dup2(nul, 0);
  dup2(nul, 1);
  dup2(fd, 2);
  execv(BATOND, (char *const *)argv);
  _exit(127);
}

/* Starts batond on nd (dialling peer_port unless 0) and waits until it
 * listens; p->port is where. */
static int start_proc(bench *bn, proc *p, const bnode *nd, const char *who, int peer_port)
{
  char peer[32], *t, *at;
  const char *argv[16] = {BATOND, "--dir", nd->dir, "--key-file", nd->key, "--listen",
                          "127.0.0.1:0", "--sync-period", "1h", "--web", "off"};
  size_t k = 11;
  double end = bench_now_s() + START_S;
  int status, late;

  if (peer_port) {
    snprintf(peer, sizeof peer, "127.0.0.1:%d", peer_port);
    argv[k++] = "--peer";
    argv[k++] = peer;
  }
  snprintf(p->log, sizeof p->log, "%s/%s.%u.log", bn->root, who, g_seq++);
  if ((p->pid = fork()) < 0)
    return fail("fork: %s", strerror(errno));
  if (p->pid == 0)
    exec_batond(p, argv);
  for (;;) {
    t = log_text(p);
    at = t ? strstr(t, "listening on 127.0.0.1:") : NULL;
    p->port = at ? atoi(at + strlen("listening on 127.0.0.1:")) : 0;
    free(t);
    if (p->port > 0)
      return 0;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
      p->pid = 0;
      log_dump(p, who);
      return fail("%s (%s) exited before listening", who, BATOND);
    }
    if ((late = overdue(end, 0.005)) != 0) {
      if (late > 0)
        log_dump(p, who);
      return late > 0 ? fail("%s did not listen within %.0f s", who, START_S) : 1;
    }
  }
}

/* A listening, then B dialling A; waits for B's session with A. */
static int up(bench *bn, proc *a, proc *b)
{
  char needle[64];
  double end;
  int late;

  if (start_proc(bn, a, &bn->a, "A", 0) != 0 || start_proc(bn, b, &bn->b, "B", a->port) != 0)
    return 1;
  snprintf(needle, sizeof needle, "session peer=127.0.0.1:%d dir=out", a->port);
  for (end = bench_now_s() + START_S; !log_has(b, needle);)
    if ((late = overdue(end, 0.002)) != 0) {
      if (late < 0)
        return 1;
      log_dump(a, "A");
      log_dump(b, "B");
      return fail("B opened no session with A within %.0f s", START_S);
    }
  return 0;
}

/* Peak RSS of both, then both stopped (B, the dialler, first). */
static int down(bench *bn, proc *a, proc *b, phase *ph)
{
  long ra = a->pid > 0 ? rss_kb(a->pid) : -1, rb = b->pid > 0 ? rss_kb(b->pid) : -1;
  int rc = stop_proc(b, "B");

  rc |= stop_proc(a, "A");
  if (ph) {
    ph->rss_a = ra;
    ph->rss_b = rb;
  }
  bn->rss_max_a = ra > bn->rss_max_a ? ra : bn->rss_max_a;
  bn->rss_max_b = rb > bn->rss_max_b ? rb : bn->rss_max_b;
  return rc;
}

/* ---- the sync cases ---------------------------------------------------------------- */

/* Waits for B to hold want ops (polling its store), then for B's synced
 * lines to account for the stored ones. */
static int converge(bench *bn, const proc *a, const proc *b, size_t stored, double limit_s,
                    phase *ph, const char *label)
{
  node_store *s = NULL;
  double t0 = bench_now_s(), end = t0 + limit_s;
  size_t ops = 0;
  int late = 0;

  if (open_store(&bn->b, 0, &s) != 0)
    return 1;
  while (store_count(s, &ops) == 0 && ops < bn->ops_a && (late = overdue(end, 0.002)) == 0)
    ;
  ph->wall_s = bench_now_s() - t0;
  node_store_close(s);
  if (late < 0)
    return 1;
  if (ops != bn->ops_a) {
    log_dump(a, "A");
    log_dump(b, "B");
    return fail("case %s: B holds %zu ops of %zu after %.0f s", label, ops, bn->ops_a, limit_s);
  }
  for (end = bench_now_s() + START_S;;) {
    log_runs(b, &ph->r);
    if (ph->r.stored >= stored)
      return 0;
    if ((late = overdue(end, 0.002)) < 0)
      return 1;
    if (late > 0) {
      log_dump(b, "B");
      return fail("case %s: B logged %llu ops stored, not %zu, within %.0f s", label,
                  (unsigned long long)ph->r.stored, stored, START_S);
    }
  }
}

/* One sync case: both up, B converges on A's ops (stored of them new), both
 * down. Waits at most limit_s for the ops. */
static int sync_case(bench *bn, size_t stored, double limit_s, phase *ph, const char *label)
{
  proc a = {0}, b = {0};
  int rc;

  g_procs[0] = &a;
  g_procs[1] = &b;
  rc = up(bn, &a, &b);
  if (rc == 0)
    rc = converge(bn, &a, &b, stored, limit_s, ph, label);
  rc |= down(bn, &a, &b, ph);
  g_procs[0] = g_procs[1] = NULL;
  return rc;
}

/* Both stores forget what they agreed with the other (daemons stopped). */
static int forget(bench *bn)
{
  node_store *a = NULL, *b = NULL;
  int rc = 1;

  if (open_store(&bn->a, 0, &a) == 0 && open_store(&bn->b, 0, &b) == 0) {
    if ((rc = node_sync_forget(a, bn->b.pk)) == 0)
      rc = node_sync_forget(b, bn->a.pk);
    rc = rc ? bt_fail("node_sync_forget", rc) : 0;
  }
  node_store_close(a);
  node_store_close(b);
  return rc;
}

/* Waits until B has logged more than runs synced lines. */
static int await_run(const proc *b, unsigned runs, runsum *r)
{
  double end = bench_now_s() + LIVE_S;

  for (;;) {
    int late;
    log_runs(b, r);
    if (r->runs > runs)
      return 0;
    if ((late = overdue(end, 0.002)) < 0)
      return 1;
    if (late > 0) {
      log_dump(b, "B");
      return fail("B logged no run within %.0f s", LIVE_S);
    }
  }
}

/* One trial: an op authored on A (this process), B's store polled every
 * 1 ms until it holds it. */
static int live_trial(bench *bn, node_store *sa, node_store *sb, const proc *b, int i)
{
  size_t f = (size_t)gen_below(&bn->r, bn->nfiles);
  double t0 = bench_now_s(), t1, end;
  crdt_op *op = NULL;
  runsum r;
  crdt_id id;
  int rc, late;

  log_runs(b, &r);
  if (author_entry(bn, sa, f, &id) != 0)
    return 1;
  t1 = bench_now_s();
  for (end = t1 + LIVE_S; (rc = node_op_get(sb, &id, &op)) == BT_ENOTFOUND;)
    if ((late = overdue(end, 0.001)) != 0) {
      if (late > 0)
        log_dump(b, "B");
      return late > 0 ? fail("case d: the op did not reach B within %.0f s", LIVE_S) : 1;
    }
  bn->live_ms[i] = (bench_now_s() - t1) * 1e3;
  bn->author_ms[i] = (t1 - t0) * 1e3;
  crdt_op_free(op);
  if (rc != 0)
    return bt_fail("node_op_get on B", rc);
  bn->ops_a++;
  return await_run(b, r.runs, &r); /* the run that brought it has ended */
}

static int live_case(bench *bn)
{
  proc a = {0}, b = {0};
  node_store *sa = NULL, *sb = NULL;
  runsum r0, r1;
  int rc;

  g_procs[0] = &a;
  g_procs[1] = &b;
  if ((rc = up(bn, &a, &b)) == 0)
    rc = await_run(&b, 0, &r0); /* the opening run: nothing to do */
  if (rc == 0 && (rc = open_store(&bn->a, 0, &sa)) == 0)
    rc = open_store(&bn->b, 0, &sb);
  for (int i = 0; i < LIVE_TRIALS && rc == 0; i++)
    if ((rc = live_trial(bn, sa, sb, &b, i)) == 0)
      rc = nap(0.1);
  node_store_close(sa);
  node_store_close(sb);
  bn->unwatched = log_has(&a, "not watching the store");
  if (rc == 0) {
    log_runs(&b, &r1);
    bn->live = r1;
    bn->live.runs -= r0.runs;
    bn->live.msgs -= r0.msgs;
    bn->live.out -= r0.out;
    bn->live.in -= r0.in;
    bn->live.ms -= r0.ms;
  }
  rc |= down(bn, &a, &b, NULL);
  g_procs[0] = g_procs[1] = NULL;
  return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

static unsigned rt(uint64_t msgs)
{
  return (unsigned)((msgs + 1) / 2);
}

static void report_case(const char *name, const phase *ph, size_t ops)
{
  const runsum *r = &ph->r;

  printf("%s_runs: %u (fast %u, cut %u)\n", name, r->runs, r->fast, r->cuts);
  printf("%s_ms: %ld\n", name, r->span_ms);
  printf("%s_ms_logged: %llu\n", name, (unsigned long long)r->ms);
  printf("%s_wall_ms: %.1f\n", name, ph->wall_s * 1e3);
  printf("%s_msgs: %llu\n", name, (unsigned long long)r->msgs);
  printf("%s_bytes_b_to_a: %llu\n", name, (unsigned long long)r->out);
  printf("%s_bytes_a_to_b: %llu\n", name, (unsigned long long)r->in);
  printf("%s_ops_stored_on_b: %llu of %zu\n", name, (unsigned long long)r->stored, ops);
  printf("%s_rss_kb: A %ld, B %ld\n", name, ph->rss_a, ph->rss_b);
}

static void report(const bench *bn)
{
  const phase *a = &bn->ph[0], *c = &bn->ph[2];
  double sync_ops_s = (double)bn->n / ((double)(a->r.span_ms > 0 ? a->r.span_ms : 1) / 1e3);
  double frame = (double)(PROTO_STREAM_ABYTES + PROTO_FRAME_HDR);
  double bpo = (double)(c->r.out + c->r.in) / (double)bn->d;
  double lo = bn->live_ms[0], hi = bn->live_ms[0];

  for (int i = 1; i < LIVE_TRIALS; i++) {
    lo = bn->live_ms[i] < lo ? bn->live_ms[i] : lo;
    hi = bn->live_ms[i] > hi ? bn->live_ms[i] : hi;
  }

  printf("ops: %zu\n", bn->n);
  printf("files: %zu\n", bn->nfiles);
  printf("new_ops: %zu\n", bn->d);
  printf("cores: %u\n", uv_available_parallelism());
  printf("scope: one grant per file to B's org (node_grant_as: read, history all)\n");
  printf("build_s: %.1f (%.0f ops/s authored on A)\n", bn->build_s, (double)bn->n / bn->build_s);
  printf("envelope_bytes_mean: %.1f\n", bn->env_mean);
  printf("ingest_rounds_ops_per_s: %.0f %.0f (before and after case a)\n", bn->ingest_round[0],
         bn->ingest_round[1]);
  printf("ingest_all_cores_ops_per_s: %.0f\n", bn->ingest_ops_s);
  report_case("initial", a, bn->n);
  printf("initial_sync_ops_per_s: %.0f\n", sync_ops_s);
  report_case("known_peer", &bn->ph[1], bn->d);
  report_case("delta", c, bn->d);
  printf("delta_envelope_bytes_mean: %.1f\n", bn->new_env_mean[1]);
  printf("delta_goal_bytes_per_op: %.1f (1.1 x envelope + %.1f framing per op: %llu msgs x "
         "%.0f bytes / D)\n",
         1.1 * bn->new_env_mean[1] + (double)c->r.msgs * frame / (double)bn->d,
         (double)c->r.msgs * frame / (double)bn->d, (unsigned long long)c->r.msgs, frame);
  printf("round_trips_delta_bound: %.2f (log16(N) + 3)\n", log((double)bn->n) / log(16.0) + 3);
  printf("live_trials: %d (runs %u, msgs %llu)\n", LIVE_TRIALS, bn->live.runs,
         (unsigned long long)bn->live.msgs);
  printf("live_author_ms_median: %.2f\n", median(bn->author_ms, LIVE_TRIALS));
  if (bn->unwatched)
    printf("note: A's batond logged that it does not watch its store (it polls)\n");
  printf("live_ms_min: %.2f\n", lo);
  printf("live_ms_max: %.2f\n", hi);
  printf("peak_rss_kb: A %ld, B %ld\n", bn->rss_max_a, bn->rss_max_b);
  printf("note: round trips = ceil(msgs / 2), msgs = both directions in B's (the dialler's) "
         "synced lines\n");
  printf("round_trips_known_peer: %u\n", rt(bn->ph[1].r.msgs));
  printf("round_trips_delta: %u\n", rt(c->r.msgs));
  printf("bytes_per_missing_op: %.1f\n", bpo);
  printf("live_ms: %.2f\n", median(bn->live_ms, LIVE_TRIALS));
  printf("ratio_initial_sync_vs_ingest: %.3f\n", sync_ops_s / bn->ingest_ops_s);
}

/* Kills what runs and removes the temporary directory: every way out. */
static void cleanup(bench *bn)
{
  for (int i = 0; i < 2; i++)
    if (g_procs[i] && g_procs[i]->pid > 0) {
      kill(g_procs[i]->pid, SIGKILL);
      waitpid(g_procs[i]->pid, NULL, 0);
      g_procs[i]->pid = 0;
    }
  if (bn->made && getenv("SYNC_BENCH_KEEP") == NULL)
    nftw(bn->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(bn->files);
  free(bn->b_org);
}

static int setup(bench *bn, int argc, char **argv)
{
  const char *tmp = getenv("TMPDIR");
  char *end;

  bn->n = 100000;
  bn->d = 100;
  if (argc > 1 && ((bn->n = strtoull(argv[1], &end, 10)) == 0 || *end || bn->n > 10000000))
    return 2;
  if (argc > 2 && ((bn->d = strtoull(argv[2], &end, 10)) == 0 || *end || bn->d > 1000000))
    return 2;
  if (argc > 3)
    return 2;
  bn->nfiles = bn->n / OPS_PER_FILE;
  bn->nfiles = bn->nfiles < 1 ? 1 : bn->nfiles > FILES_MAX ? FILES_MAX : bn->nfiles;
  gen_seed(&bn->r, SEED);
  snprintf(bn->root, sizeof bn->root, "%s/sync_bench-XXXXXX",
           tmp && tmp[0] == '/' && strlen(tmp) < 128 ? tmp : "/tmp");
  if (mkdtemp(bn->root) == NULL)
    return fail("mkdtemp %s: %s", bn->root, strerror(errno));
  bn->made = 1;
  if ((bn->files = calloc(bn->nfiles, sizeof(*bn->files))) == NULL)
    return fail("out of memory");
  return 0;
}

/* The cases in order, each one's daemons gone before the next, with a
 * round of the ingest limit just before and just after the initial sync
 * (the better one counts). The initial sync may take 2 ms an op beyond a
 * minute. */
static int run_cases(bench *bn, const envset *e)
{
  double t;

  if (ingest_round(bn, e, 0) != 0)
    return 1;
  fprintf(stderr, "sync_bench: (a) initial sync...\n");
  if (sync_case(bn, bn->n, 60 + 0.002 * (double)bn->n, &bn->ph[0], "a") != 0 ||
      ingest_round(bn, e, 1) != 0)
    return 1;
  fprintf(stderr, "sync_bench: (b) known peer, %zu new ops...\n", bn->d);
  if (author_news(bn, &bn->new_env_mean[0]) != 0 ||
      sync_case(bn, bn->d, 60, &bn->ph[1], "b") != 0)
    return 1;
  fprintf(stderr, "sync_bench: (c) no remembered state, %zu new ops...\n", bn->d);
  if (author_news(bn, &bn->new_env_mean[1]) != 0 || forget(bn) != 0 ||
      sync_case(bn, bn->d, 60, &bn->ph[2], "c") != 0)
    return 1;
  fprintf(stderr, "sync_bench: (d) live, %d trials...\n", LIVE_TRIALS);
  t = bench_now_s();
  if (live_case(bn) != 0)
    return 1;
  fprintf(stderr, "sync_bench: done (live %.1f s)\n", bench_now_s() - t);
  return g_stop != 0;
}

static int run(bench *bn)
{
  envset e = {0};
  int rc;

  if (make_world(bn) != 0)
    return 1;
  fprintf(stderr, "sync_bench: building %zu ops in %zu files on A...\n", bn->n, bn->nfiles);
  if (build(bn) != 0)
    return 1;
  fprintf(stderr, "sync_bench: built in %.1f s; ingest limit...\n", bn->build_s);
  if ((rc = gather(bn, &e)) == 0)
    rc = run_cases(bn, &e);
  envset_free(&e);
  return rc;
}

int main(int argc, char **argv)
{
  struct sigaction sa = {.sa_handler = on_signal};
  bench bn = {0};
  int rc;

  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    return fail("sodium_init failed");
  if ((rc = setup(&bn, argc, argv)) == 2)
    fprintf(stderr, "usage: sync_bench [N [D]]   (defaults 100000 100)\n");
  if (rc == 0 && (rc = run(&bn)) == 0)
    report(&bn);
  cleanup(&bn);
  if (g_stop)
    rc = fail("interrupted: daemons killed, %s removed", bn.root);
  return rc ? (rc == 2 ? 2 : 1) : 0;
}
