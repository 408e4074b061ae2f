/* tests/node/test_crash.c: the op store survives SIGKILL at any moment.
 *
 * For each seed, crash_helper (crash_helper.c) ingests batches into a fresh
 * data directory and is killed with SIGKILL at a seeded moment: after a
 * random delay (0-40 ms, sometimes up to 300), or 0-15 ms after its n-th
 * output line, which often lands inside node_ingest. Its lines say, before
 * and after each node_ingest, which ops the batch stores, releases, buffers
 * or rejects; a line cut by the kill is ignored. After the kill the store
 * must open and:
 *   - hold every op of every batch reported committed (node_op_get), every
 *     op reported buffered (stored or buffered), no op reported rejected,
 *     and nothing no line named;
 *   - have applied the batch in flight at the kill wholly or not at all;
 *   - keep every index equal to what the op and buffer tables imply, read
 *     straight from LMDB (store_int.h): fileops, heads, seq, equiv, fpb, the
 *     file records, waiting and missing;
 *   - materialise every file with all its stored ops, of which exactly
 *     those under an epoch the store holds no key for are unreadable (the
 *     helper's stray ops: ingest used to reject them with BT_EEPOCH, now
 *     it stores them and the file lists them in cf->unknown).
 * Then the parent authors an op itself (in a file whose genesis is there,
 * as node_author needs), the helper runs again on the same
 * directory, is killed again, and all of it is checked again (RUNS kills a
 * seed): the store goes on working after recovery. For one seed in three the
 * test holds the store open across the kills, as the CLI beside batond would:
 * whatever the dead process held in lock.mdb (a reader slot, the write lock)
 * is still there when the test writes.
 *
 * SIGKILL is a crashed process, not a lost machine: the page cache survives,
 * so this tests transaction atomicity, not the order of fsyncs.
 *
 * The generator links ops to parents in their own file only, so "a buffered
 * op has a parent not stored" holds exactly (cross-file parents, which may
 * stay buffered for good, are test_store.c's business).
 *
 * Replay one seed: CRASH_SEED=n test_node_crash. The kill moment is seeded,
 * but what the helper has done by then depends on the machine. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "crdt/access.h"
#include "crdt/err.h"
#include "crdt/gen.h"
#include "node/store.h"
#include "node/store_int.h"

#ifndef CRASH_HELPER
#error "CRASH_HELPER: path of the crash_helper executable (tests/CMakeLists.txt)"
#endif

#define RUNS 3 /* the first kill, then two restarts on the same store, killed too */

/* ---- sets of ids ------------------------------------------------------------ */

typedef struct {
  crdt_id *v;
  size_t n, cap;
} idset;

static int cmp_id(const void *a, const void *b)
{
  return memcmp(a, b, CRDT_ID_LEN);
}

static void set_add(idset *s, const crdt_id *id)
{
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->v = realloc(s->v, s->cap * sizeof(*s->v));
    cr_assert_not_null(s->v);
  }
  s->v[s->n++] = *id;
}

static void set_sort(idset *s)
{
  size_t n = 0;

  if (s->n > 1)
    qsort(s->v, s->n, sizeof(*s->v), cmp_id);
  for (size_t i = 0; i < s->n; i++)
    if (n == 0 || crdt_id_cmp(&s->v[n - 1], &s->v[i]) != 0)
      s->v[n++] = s->v[i];
  s->n = n;
}

static int set_has(const idset *s, const crdt_id *id) /* s sorted */
{
  return s->n && bsearch(id, s->v, s->n, sizeof(*s->v), cmp_id) != NULL;
}

static void set_move(idset *to, idset *from)
{
  for (size_t i = 0; i < from->n; i++)
    set_add(to, &from->v[i]);
  from->n = 0;
}

/* ---- what the helper said ------------------------------------------------- */

typedef struct {
  idset stored, held, rejected, mentioned, authored;
  idset fs, fr, fh;      /* the batch in flight: its s, r and h tokens */
  int64_t inflight;      /* its number, -1: none */
  int ready, created;    /* R seen in this run / in any run */
  int authoring;         /* an a-line without its A-line */
  size_t author_k;       /* how many ops that call may commit */
  size_t maybe_authored; /* device ops that may exist unreported */
  size_t lines, batches;
  char *buf;
  size_t len, cap;
  char err[160]; /* the first malformed line */
} report;

static void report_free(report *rp)
{
  idset *sets[] = {&rp->stored, &rp->held, &rp->rejected, &rp->mentioned,
                   &rp->authored, &rp->fs, &rp->fr, &rp->fh};

  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
    free(sets[i]->v);
  free(rp->buf);
}

static int nibble(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex_id(const char *h, crdt_id *id)
{
  if (strlen(h) != 2 * CRDT_ID_LEN)
    return -1;
  for (size_t i = 0; i < CRDT_ID_LEN; i++) {
    int hi = nibble(h[2 * i]), lo = nibble(h[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    id->b[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

static void bad_line(report *rp, const char *what)
{
  if (rp->err[0] == '\0')
    snprintf(rp->err, sizeof(rp->err), "malformed helper output: %.100s", what);
}

static void parse_batch(report *rp, char **save)
{
  char *tok;
  crdt_id id;

  rp->fs.n = rp->fr.n = rp->fh.n = 0;
  while ((tok = strtok_r(NULL, " ", save)) != NULL) {
    if (hex_id(tok + 1, &id) != 0) {
      bad_line(rp, tok);
      return;
    }
    if (tok[0] == 'x') {
      set_add(&rp->rejected, &id);
      continue;
    }
    if (tok[0] != 's' && tok[0] != 'r' && tok[0] != 'h') {
      bad_line(rp, tok);
      return;
    }
    set_add(tok[0] == 's' ? &rp->fs : tok[0] == 'r' ? &rp->fr : &rp->fh, &id);
    set_add(&rp->mentioned, &id);
  }
}

static void parse_line(report *rp, char *l)
{
  char *save = NULL, *tok = strtok_r(l, " ", &save);
  int64_t n;
  crdt_id id;

  rp->lines++;
  if (tok == NULL) {
    bad_line(rp, "an empty line");
    return;
  }
  n = tok[1] ? strtoll(tok + 1, NULL, 10) : -1;
  if (tok[0] == 'R') {
    rp->ready = rp->created = 1;
  } else if (tok[0] == 'b') {
    rp->inflight = n;
    parse_batch(rp, &save);
  } else if (tok[0] == 'B' && n == rp->inflight) {
    set_move(&rp->stored, &rp->fs);
    set_move(&rp->stored, &rp->fr);
    set_move(&rp->held, &rp->fh);
    rp->inflight = -1;
    rp->batches++;
  } else if (tok[0] == 'a') {
    rp->authoring = 1;
    rp->author_k = 1;
    if ((tok = strtok_r(NULL, " ", &save)) != NULL) {
      if (tok[0] != 'k' || (rp->author_k = strtoul(tok + 1, NULL, 10)) == 0)
        bad_line(rp, tok);
    }
  } else if (tok[0] == 'A') {
    size_t ids = 0;
    while ((tok = strtok_r(NULL, " ", &save)) != NULL && tok[0] == 'i' &&
           hex_id(tok + 1, &id) == 0) {
      set_add(&rp->authored, &id);
      ids++;
    }
    if (ids == 0 || tok != NULL)
      bad_line(rp, tok ? tok : "A-line without an id");
    rp->authoring = 0;
  } else {
    bad_line(rp, tok ? tok : "A-line without an id");
  }
}

/* Takes the bytes read from the helper; complete lines are parsed, the rest
 * waits for more. */
static void feed(report *rp, const char *p, size_t n)
{
  size_t start = 0;
  char *nl;

  if (rp->len + n + 1 > rp->cap) {
    rp->cap = 2 * (rp->len + n + 1);
    rp->buf = realloc(rp->buf, rp->cap);
    cr_assert_not_null(rp->buf);
  }
  memcpy(rp->buf + rp->len, p, n);
  rp->len += n;
  while ((nl = memchr(rp->buf + start, '\n', rp->len - start)) != NULL) {
    *nl = '\0';
    parse_line(rp, rp->buf + start);
    start = (size_t)(nl - rp->buf) + 1;
  }
  memmove(rp->buf, rp->buf + start, rp->len - start);
  rp->len -= start;
}

/* ---- context, failures ---------------------------------------------------- */

typedef struct {
  size_t kills, before_ready, shared, batches, checked, unique, writes;
  size_t committed, rolled_back, blank, authoring, unreadable;
} totals;

typedef struct {
  uint64_t seed;
  unsigned run;
  char dir[128];
  report rp;
  totals *tot;
} ctx;

static void fail(const ctx *cx, int line, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void fail(const ctx *cx, int line, const char *fmt, ...)
{
  char msg[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  cr_assert_fail("seed %" PRIu64 " run %u (test_crash.c:%d): %s\n"
                 "  replay: CRASH_SEED=%" PRIu64 " test_node_crash",
                 cx->seed, cx->run, line, msg, cx->seed);
}

#define CHECK(cx, cond, ...)                                                                 \
  do {                                                                                       \
    if (!(cond))                                                                             \
      fail((cx), __LINE__, __VA_ARGS__);                                                     \
  } while (0)

/* Hex of up to 96 bytes, in one of four rotating buffers (for messages). */
static const char *hx(const void *p, size_t n)
{
  static char bufs[4][2 * 96 + 1];
  static unsigned next;
  char *b = bufs[next++ % 4];

  if (n > 96)
    n = 96;
  for (size_t i = 0; i < n; i++)
    snprintf(b + 2 * i, 3, "%02x", ((const uint8_t *)p)[i]);
  b[2 * n] = '\0';
  return b;
}

static uint64_t fake_now = 1767225600000ull;

static uint64_t clock_fn(void *c)
{
  (void)c;
  return fake_now += 1000;
}

static int open_store(const char *dir, int create, node_store **s)
{
  node_store_opts o = {.dir = dir, .passphrase = "crash", .passphrase_len = 5,
                       .create = create, .kdf = NODE_KDF_MIN, .clock_ms = clock_fn};

  return node_store_open(s, &o);
}

/* ---- running and killing the helper --------------------------------------- */

typedef struct {
  uint64_t delay_us; /* from the start, or from the lines-th line */
  size_t lines;      /* 0: from the start */
} plan;

static plan make_plan(uint64_t seed, unsigned run)
{
  plan p = {0, 0};
  gen_rng r;
  uint64_t m;

  gen_seed(&r, seed * 7919 + run);
  m = gen_below(&r, 10);
  if (m < 3) {
    p.delay_us = gen_below(&r, 40000);
  } else if (m < 5) {
    p.delay_us = 40000 + gen_below(&r, 260000);
  } else {
    p.lines = 1 + gen_below(&r, 16);
    p.delay_us = gen_below(&r, 15000);
  }
  return p;
}

static uint64_t now_us(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static pid_t spawn(const ctx *cx, int *fd)
{
  char seed[24], run[24];
  int p[2];
  pid_t pid;

  snprintf(seed, sizeof(seed), "%" PRIu64, cx->seed);
  snprintf(run, sizeof(run), "%u", cx->run);
  if (pipe(p) != 0)
    return -1;
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  if ((pid = fork()) == 0) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* if this test dies, so does the helper */
#endif
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(CRASH_HELPER, CRASH_HELPER, cx->dir, seed, run, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  if (pid < 0)
    close(p[0]);
  *fd = p[0];
  return pid;
}

/* Reads the helper's lines until the plan says kill, then kills it and reads
 * what is left. With share, the store is opened here as soon as the helper
 * has it ready, and stays open across the kill (*share_rc says how the open
 * went). Nothing here asserts while the helper lives. */
static int run_once(ctx *cx, node_store **share, int *share_rc)
{
  plan p = make_plan(cx->seed, cx->run);
  size_t lines0 = cx->rp.lines;
  uint64_t deadline = now_us() + (p.lines ? 10000000 : p.delay_us);
  char buf[65536];
  int fd, status;
  ssize_t n = 0;
  pid_t pid = spawn(cx, &fd);

  CHECK(cx, pid > 0, "cannot start %s: %s", CRASH_HELPER, strerror(errno));
  for (uint64_t now; (now = now_us()) < deadline;) {
    struct pollfd pf = {fd, POLLIN, 0};
    int rc = poll(&pf, 1, (int)((deadline - now + 999) / 1000));
    if (rc <= 0 && (rc == 0 || errno == EINTR))
      continue;
    if (rc < 0 || (n = read(fd, buf, sizeof(buf))) == 0 || (n < 0 && errno != EINTR))
      break; /* the helper is gone: its wait status says why */
    if (n > 0)
      feed(&cx->rp, buf, (size_t)n);
    if (p.lines && cx->rp.lines - lines0 >= p.lines) {
      deadline = now_us() + p.delay_us;
      p.lines = 0;
    }
    if (share && *share == NULL && *share_rc == BT_OK && cx->rp.created)
      *share_rc = open_store(cx->dir, 0, share);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  while ((n = read(fd, buf, sizeof(buf))) != 0)
    if (n > 0)
      feed(&cx->rp, buf, (size_t)n);
    else if (errno != EINTR)
      break;
  close(fd);
  cx->rp.len = 0; /* a line the kill cut */
  return status;
}

/* ---- reading the tables --------------------------------------------------- */

typedef struct {
  crdt_op **ops, **buf; /* the op table and the buffer, ascending id */
  size_t nops, nbuf;
} snap;

static int cmp_key_op(const void *key, const void *elem)
{
  return memcmp(key, (*(crdt_op *const *)elem)->id.b, CRDT_ID_LEN);
}

static crdt_op **find(crdt_op **v, size_t n, const crdt_id *id)
{
  return n ? bsearch(id->b, v, n, sizeof(*v), cmp_key_op) : NULL;
}

/* Every entry of an id -> envelope table decodes and has its key as id. */
static void load_table(const ctx *cx, MDB_txn *t, MDB_dbi dbi, const char *name, crdt_op ***out,
                       size_t *nout)
{
  size_t n = 0, cap = 0;
  crdt_op **v = NULL;
  MDB_cursor *c = NULL;
  MDB_val k, d;
  int rc;

  CHECK(cx, mdb_cursor_open(t, dbi, &c) == 0, "%s: no cursor", name);
  for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    crdt_op *op = NULL;
    CHECK(cx, k.mv_size == CRDT_ID_LEN, "%s: a key of %zu bytes", name, k.mv_size);
    CHECK(cx, crdt_op_decode(d.mv_data, d.mv_size, &op) == 0, "%s %s: the envelope does not decode",
          name, hx(k.mv_data, k.mv_size));
    CHECK(cx, memcmp(op->id.b, k.mv_data, CRDT_ID_LEN) == 0, "%s %s holds op %s", name,
          hx(k.mv_data, CRDT_ID_LEN), hx(op->id.b, CRDT_ID_LEN));
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      v = realloc(v, cap * sizeof(*v));
      cr_assert_not_null(v);
    }
    v[n++] = op;
  }
  CHECK(cx, rc == MDB_NOTFOUND, "%s: %s", name, mdb_strerror(rc));
  mdb_cursor_close(c);
  *out = v;
  *nout = n;
}

static void snap_free(snap *sn)
{
  for (size_t i = 0; i < sn->nops; i++)
    crdt_op_free(sn->ops[i]);
  for (size_t i = 0; i < sn->nbuf; i++)
    crdt_op_free(sn->buf[i]);
  free(sn->ops);
  free(sn->buf);
}

/* ---- expected keys -------------------------------------------------------- */

typedef struct {
  uint8_t *v;
  size_t n, cap, len; /* n entries of len bytes: key, then value if any */
} keys;

static size_t sort_len;

static int cmp_entry(const void *a, const void *b)
{
  return memcmp(a, b, sort_len);
}

static uint8_t *key_new(keys *k)
{
  if (k->n == k->cap) {
    k->cap = k->cap ? 2 * k->cap : 256;
    k->v = realloc(k->v, k->cap * k->len);
    cr_assert_not_null(k->v);
  }
  memset(k->v + k->n * k->len, 0, k->len);
  return k->v + k->n++ * k->len;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* val = count (8, little-endian) | sum of ids (32, little-endian): one more id. */
static void count_in(uint8_t *val, const uint8_t id[CRDT_ID_LEN])
{
  unsigned carry = 0;

  for (int i = 0; i < 8 && ++val[i] == 0; i++)
    ;
  for (int i = 0; i < 32; i++) {
    carry += (unsigned)val[8 + i] + id[i];
    val[8 + i] = (uint8_t)carry;
    carry >>= 8;
  }
}

/* The database holds exactly the entries of want (key, and value when
 * want->len > klen), in key order. want is sorted and deduplicated here. */
static void expect_db(const ctx *cx, MDB_txn *t, MDB_dbi dbi, const char *name, keys *want,
                      size_t klen)
{
  size_t vlen = want->len - klen, i = 0, n = 0;
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc;

  sort_len = want->len;
  if (want->n > 1)
    qsort(want->v, want->n, want->len, cmp_entry);
  for (size_t j = 0; j < want->n; j++)
    if (n == 0 || memcmp(want->v + (n - 1) * want->len, want->v + j * want->len, want->len) != 0)
      memmove(want->v + n++ * want->len, want->v + j * want->len, want->len);
  want->n = n;
  CHECK(cx, mdb_cursor_open(t, dbi, &c) == 0, "%s: no cursor", name);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), i++) {
    const uint8_t *w = want->v + i * want->len;
    CHECK(cx, k.mv_size == klen, "%s: a key of %zu bytes, want %zu", name, k.mv_size, klen);
    CHECK(cx, i < want->n && memcmp(k.mv_data, w, klen) == 0,
          "%s holds %s where %s was expected (entry %zu of %zu)", name, hx(k.mv_data, klen),
          i < want->n ? hx(w, klen) : "nothing more", i, want->n);
    CHECK(cx, vlen == 0 || (v.mv_size == vlen && memcmp(v.mv_data, w + klen, vlen) == 0),
          "%s %s: value %s, recomputed %s", name, hx(k.mv_data, klen),
          hx(v.mv_data, v.mv_size), hx(w + klen, vlen));
  }
  CHECK(cx, rc == MDB_NOTFOUND, "%s: %s", name, mdb_strerror(rc));
  CHECK(cx, i == want->n, "%s lacks %s (%zu entries, want %zu)", name,
        i < want->n ? hx(want->v + i * want->len, klen) : "-", i, want->n);
  mdb_cursor_close(c);
}

/* ---- index checks --------------------------------------------------------- */

/* Stored ops have stored parents; heads = stored ops of a file that no
 * stored op of the file names as a parent. */
static void check_heads(const ctx *cx, node_store *s, MDB_txn *t, const snap *sn)
{
  keys want = {.len = CRDT_FILE_LEN + CRDT_ID_LEN};
  char *named = calloc(sn->nops + 1, 1);

  cr_assert_not_null(named);
  for (size_t i = 0; i < sn->nops; i++) {
    const crdt_op *op = sn->ops[i];
    for (size_t j = 0; j < op->h.nparents; j++) {
      crdt_op **q = find(sn->ops, sn->nops, &op->h.parents[j]);
      CHECK(cx, q != NULL, "op %s is stored, its parent %s is not", hx(op->id.b, CRDT_ID_LEN),
            hx(op->h.parents[j].b, CRDT_ID_LEN));
      if (memcmp((*q)->h.file, op->h.file, CRDT_FILE_LEN) == 0)
        named[q - sn->ops] = 1;
    }
  }
  for (size_t i = 0; i < sn->nops; i++) {
    if (named[i])
      continue;
    uint8_t *k = key_new(&want);
    memcpy(k, sn->ops[i]->h.file, CRDT_FILE_LEN);
    memcpy(k + CRDT_FILE_LEN, sn->ops[i]->id.b, CRDT_ID_LEN);
  }
  expect_db(cx, t, s->db[DB_HEADS], "heads", &want, want.len);
  free(named);
  free(want.v);
}

/* fpb from the sorted file|hour|id keys: count and id sum per file and
 * bucket (NODE_BUCKET_HOURS hours), keyed file|bucket. */
static void check_fpb(const ctx *cx, node_store *s, MDB_txn *t, const keys *fo)
{
  const size_t kl = CRDT_FILE_LEN + 4;
  keys want = {.len = kl + 40};

  for (size_t i = 0; i < fo->n; i++) {
    const uint8_t *k = fo->v + i * fo->len;
    uint8_t bk[CRDT_FILE_LEN + 4];
    uint32_t hour = (uint32_t)k[CRDT_FILE_LEN] << 24 | (uint32_t)k[CRDT_FILE_LEN + 1] << 16 |
                    (uint32_t)k[CRDT_FILE_LEN + 2] << 8 | k[CRDT_FILE_LEN + 3];
    memcpy(bk, k, CRDT_FILE_LEN);
    put_be(bk + CRDT_FILE_LEN, hour / NODE_BUCKET_HOURS, 4);
    if (want.n == 0 || memcmp(want.v + (want.n - 1) * want.len, bk, kl) != 0)
      memcpy(key_new(&want), bk, kl);
    count_in(want.v + (want.n - 1) * want.len + kl, k + kl);
  }
  expect_db(cx, t, s->db[DB_FPB], "fpb", &want, kl);
  free(want.v);
}

/* Each file record's count and sum equal its stored ops'; a file with ops
 * has a record. */
static void check_files(const ctx *cx, node_store *s, MDB_txn *t, const keys *fo)
{
  keys agg = {.len = CRDT_FILE_LEN + 40};
  MDB_cursor *c = NULL;
  MDB_val k, v;
  size_t j = 0;
  int rc;

  for (size_t i = 0; i < fo->n; i++) {
    const uint8_t *f = fo->v + i * fo->len;
    if (agg.n == 0 || memcmp(agg.v + (agg.n - 1) * agg.len, f, CRDT_FILE_LEN) != 0)
      memcpy(key_new(&agg), f, CRDT_FILE_LEN);
    count_in(agg.v + (agg.n - 1) * agg.len + CRDT_FILE_LEN, f + CRDT_FILE_LEN + 4);
  }
  CHECK(cx, mdb_cursor_open(t, s->db[DB_FILES], &c) == 0, "files: no cursor");
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    uint8_t zero[40] = {0}, got[40];
    const uint8_t *a = j < agg.n ? agg.v + j * agg.len : NULL, *want = zero;
    filerec r;
    CHECK(cx, k.mv_size == CRDT_FILE_LEN, "files: a key of %zu bytes", k.mv_size);
    CHECK(cx, a == NULL || memcmp(a, k.mv_data, CRDT_FILE_LEN) >= 0,
          "file %s has stored ops but no file record", hx(a, CRDT_FILE_LEN));
    if (a && memcmp(a, k.mv_data, CRDT_FILE_LEN) == 0)
      want = a + CRDT_FILE_LEN, j++;
    CHECK(cx, (rc = node__filerec_get(s, t, k.mv_data, &r)) == BT_OK, "file %s: record: %s",
          hx(k.mv_data, CRDT_FILE_LEN), bt_strerror(rc));
    for (int b = 0; b < 8; b++)
      got[b] = (uint8_t)(r.count >> (8 * b));
    memcpy(got + 8, r.sum, 32);
    CHECK(cx, memcmp(got, want, 40) == 0, "file %s: record count|sum %s, the op table says %s",
          hx(k.mv_data, CRDT_FILE_LEN), hx(got, 40), hx(want, 40));
  }
  CHECK(cx, rc == MDB_NOTFOUND, "files: %s", mdb_strerror(rc));
  CHECK(cx, j == agg.n, "file %s has stored ops but no file record",
        j < agg.n ? hx(agg.v + j * agg.len, CRDT_FILE_LEN) : "-");
  mdb_cursor_close(c);
  free(agg.v);
}

/* fileops is exactly file|hour|id of each stored op; fpb and the file
 * records follow from it. */
static void check_fileops(const ctx *cx, node_store *s, MDB_txn *t, const snap *sn)
{
  keys fo = {.len = CRDT_FILE_LEN + 4 + CRDT_ID_LEN};

  for (size_t i = 0; i < sn->nops; i++) {
    uint8_t *k = key_new(&fo);
    memcpy(k, sn->ops[i]->h.file, CRDT_FILE_LEN);
    put_be(k + CRDT_FILE_LEN, sn->ops[i]->h.hour, 4);
    memcpy(k + CRDT_FILE_LEN + 4, sn->ops[i]->id.b, CRDT_ID_LEN);
  }
  expect_db(cx, t, s->db[DB_FILEOPS], "fileops", &fo, fo.len);
  check_fpb(cx, s, t, &fo);
  check_files(cx, s, t, &fo);
  free(fo.v);
}

/* seq is exactly file|author|seq|id of each stored op; equiv is file|id of
 * every op that shares its (file, author, seq) with another. */
static void check_seq(const ctx *cx, node_store *s, MDB_txn *t, const snap *sn)
{
  const size_t pre = CRDT_FILE_LEN + CRDT_PK_LEN + 8;
  keys seq = {.len = pre + CRDT_ID_LEN}, eq = {.len = CRDT_FILE_LEN + CRDT_ID_LEN};

  for (size_t i = 0; i < sn->nops; i++) {
    const crdt_op *op = sn->ops[i];
    uint8_t *k = key_new(&seq);
    memcpy(k, op->h.file, CRDT_FILE_LEN);
    memcpy(k + CRDT_FILE_LEN, op->h.author, CRDT_PK_LEN);
    put_be(k + CRDT_FILE_LEN + CRDT_PK_LEN, op->h.seq, 8);
    memcpy(k + pre, op->id.b, CRDT_ID_LEN);
  }
  expect_db(cx, t, s->db[DB_SEQ], "seq", &seq, seq.len);
  for (size_t i = 0, j; i < seq.n; i = j) {
    for (j = i + 1; j < seq.n && memcmp(seq.v + i * seq.len, seq.v + j * seq.len, pre) == 0; j++)
      ;
    for (size_t m = i; j - i > 1 && m < j; m++) {
      uint8_t *e = key_new(&eq);
      memcpy(e, seq.v + m * seq.len, CRDT_FILE_LEN);
      memcpy(e + CRDT_FILE_LEN, seq.v + m * seq.len + pre, CRDT_ID_LEN);
    }
  }
  expect_db(cx, t, s->db[DB_EQUIV], "equiv", &eq, eq.len);
  free(seq.v);
  free(eq.v);
}

/* A buffered op is not stored and lacks a stored parent; waiting is exactly
 * parent|op for each parent not stored; missing is exactly file|parent for
 * each such parent that is not buffered either. */
static void check_buffer(const ctx *cx, node_store *s, MDB_txn *t, const snap *sn)
{
  keys wait = {.len = 2 * CRDT_ID_LEN}, miss = {.len = CRDT_FILE_LEN + CRDT_ID_LEN};

  for (size_t i = 0; i < sn->nbuf; i++) {
    const crdt_op *op = sn->buf[i];
    size_t absent = 0;
    CHECK(cx, find(sn->ops, sn->nops, &op->id) == NULL, "op %s is both stored and buffered",
          hx(op->id.b, CRDT_ID_LEN));
    for (size_t j = 0; j < op->h.nparents; j++) {
      const crdt_id *p = &op->h.parents[j];
      if (find(sn->ops, sn->nops, p))
        continue;
      absent++;
      uint8_t *w = key_new(&wait);
      memcpy(w, p->b, CRDT_ID_LEN);
      memcpy(w + CRDT_ID_LEN, op->id.b, CRDT_ID_LEN);
      if (find(sn->buf, sn->nbuf, p))
        continue;
      uint8_t *m = key_new(&miss);
      memcpy(m, op->h.file, CRDT_FILE_LEN);
      memcpy(m + CRDT_FILE_LEN, p->b, CRDT_ID_LEN);
    }
    CHECK(cx, absent > 0, "op %s is buffered though its parents are all stored",
          hx(op->id.b, CRDT_ID_LEN));
  }
  expect_db(cx, t, s->db[DB_WAITING], "waiting", &wait, wait.len);
  expect_db(cx, t, s->db[DB_MISSING], "missing", &miss, miss.len);
  free(wait.v);
  free(miss.v);
}

/* ---- checks against what the helper reported ------------------------------ */

static int held(const snap *sn, const crdt_id *id)
{
  return find(sn->ops, sn->nops, id) || find(sn->buf, sn->nbuf, id);
}

/* The batch in flight at the kill is there wholly or not at all. */
static void check_inflight(ctx *cx, const snap *sn)
{
  report *rp = &cx->rp;
  size_t total = rp->fs.n + rp->fr.n + rp->fh.n, applied = 0;

  if (rp->inflight < 0)
    return;
  for (size_t i = 0; i < rp->fs.n; i++)
    applied += find(sn->ops, sn->nops, &rp->fs.v[i]) != NULL;
  for (size_t i = 0; i < rp->fr.n; i++)
    applied += find(sn->ops, sn->nops, &rp->fr.v[i]) != NULL;
  for (size_t i = 0; i < rp->fh.n; i++)
    applied += held(sn, &rp->fh.v[i]);
  for (size_t i = 0; i < rp->fs.n && applied == 0; i++)
    CHECK(cx, !held(sn, &rp->fs.v[i]), "op %s of batch %" PRId64 " (rolled back) is buffered",
          hx(rp->fs.v[i].b, CRDT_ID_LEN), rp->inflight);
  CHECK(cx, applied == 0 || applied == total,
        "batch %" PRId64 ", in flight at the kill, is half there: %zu of its %zu effects",
        rp->inflight, applied, total);
  if (total == 0)
    cx->tot->blank++;
  else if (applied == 0)
    cx->tot->rolled_back++;
  else
    cx->tot->committed++;
  if (applied) {
    set_move(&rp->stored, &rp->fs);
    set_move(&rp->stored, &rp->fr);
    set_move(&rp->held, &rp->fh);
  }
  rp->fs.n = rp->fr.n = rp->fh.n = 0;
  rp->inflight = -1;
}

static void get_op(const ctx *cx, node_store *s, const crdt_id *id)
{
  crdt_op *op = NULL;
  int rc = node_op_get(s, id, &op);

  CHECK(cx, rc == BT_OK, "op %s was reported committed; node_op_get: %s", hx(id->b, CRDT_ID_LEN),
        bt_strerror(rc));
  CHECK(cx, crdt_id_cmp(&op->id, id) == 0, "node_op_get %s returned op %s", hx(id->b, CRDT_ID_LEN),
        hx(op->id.b, CRDT_ID_LEN));
  crdt_op_free(op);
}

static void check_required(const ctx *cx, node_store *s, const snap *sn)
{
  const report *rp = &cx->rp;

  for (size_t i = 0; i < rp->stored.n; i++)
    get_op(cx, s, &rp->stored.v[i]);
  for (size_t i = 0; i < rp->authored.n; i++)
    get_op(cx, s, &rp->authored.v[i]);
  for (size_t i = 0; i < rp->held.n; i++)
    CHECK(cx, held(sn, &rp->held.v[i]), "op %s, buffered by a committed batch, is gone",
          hx(rp->held.v[i].b, CRDT_ID_LEN));
  for (size_t i = 0; i < rp->rejected.n; i++)
    CHECK(cx, !held(sn, &rp->rejected.v[i]), "op %s was rejected but is in the store",
          hx(rp->rejected.v[i].b, CRDT_ID_LEN));
  cx->tot->checked += rp->stored.n + rp->authored.n;
}

/* Nothing comes from nowhere: another device's op was named by some batch
 * line; this device's ops were reported, but for author calls the kill cut. */
static void check_origin(const ctx *cx, node_store *s, crdt_op **v, size_t n, const char *name)
{
  uint8_t dev[CRDT_PK_LEN];
  size_t unreported = 0;

  node_store_device(s, dev);
  for (size_t i = 0; i < n; i++) {
    if (memcmp(v[i]->h.author, dev, CRDT_PK_LEN) == 0)
      unreported += !set_has(&cx->rp.authored, &v[i]->id);
    else
      CHECK(cx, set_has(&cx->rp.mentioned, &v[i]->id), "%s holds op %s, which no batch named",
            name, hx(v[i]->id.b, CRDT_ID_LEN));
  }
  CHECK(cx, unreported <= cx->rp.maybe_authored,
        "%s holds %zu ops of this device never reported, %zu author calls were cut", name,
        unreported, cx->rp.maybe_authored);
}

/* This device's ops in a file with a sequence number above after, from
 * the seq index (file|author|seq|id): added to set if not NULL; *last gets
 * the highest sequence number (after if none). Returns how many. */
static size_t own_ops(const ctx *cx, node_store *s, const uint8_t *file, uint64_t after,
                      idset *set, uint64_t *last)
{
  uint8_t k[CRDT_FILE_LEN + CRDT_PK_LEN];
  MDB_val key = {sizeof(k), k}, v;
  MDB_cursor *c = NULL;
  MDB_txn *t = NULL;
  size_t n = 0;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  node_store_device(s, k + CRDT_FILE_LEN);
  *last = after;
  CHECK(cx, mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t) == 0, "read txn");
  CHECK(cx, mdb_cursor_open(t, s->db[DB_SEQ], &c) == 0, "seq: no cursor");
  for (rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
    const uint8_t *p = (const uint8_t *)key.mv_data + sizeof(k);
    uint64_t seq = 0;
    crdt_id id;
    if (key.mv_size != sizeof(k) + 8 + CRDT_ID_LEN || memcmp(key.mv_data, k, sizeof(k)) != 0)
      break;
    for (int i = 0; i < 8; i++)
      seq = seq << 8 | p[i];
    if (seq <= after)
      continue;
    memcpy(id.b, p + 8, CRDT_ID_LEN);
    if (set)
      set_add(set, &id);
    n++;
    *last = seq;
  }
  CHECK(cx, rc == 0 || rc == MDB_NOTFOUND, "seq: %s", mdb_strerror(rc));
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  return n;
}

/* A writer killed inside its commit (meta page written, the lock file's
 * latest-transaction field not yet) leaves readers of an environment that
 * stayed open (the shared handle) on the state before that commit, until a
 * write transaction begins: LMDB then recovers the dead writer's mutex and
 * moves the field on. node_author judges access from a read snapshot before
 * it opens its write transaction, so the test begins (and drops) one first:
 * the counts below and what node_author reads are then the latest state. */
static void catch_up_readers(const ctx *cx, node_store *s)
{
  MDB_txn *t = NULL;
  int rc = mdb_txn_begin(s->env, NULL, 0, &t);

  CHECK(cx, rc == 0, "write txn: %s", mdb_strerror(rc));
  mdb_txn_abort(t);
}

/* The store takes writes after the kill: the parent authors an op, in the
 * first file whose genesis (its only parentless op) is stored. Before its
 * first op in a file, this device is bound to the org by a member op that
 * node_author adds: both are this device's, both go into authored. */
static void write_after(ctx *cx, node_store *s, const snap *sn)
{
  const uint8_t *file = NULL;
  uint64_t seq0, last;
  size_t n, want;
  gen_rng r;
  gen_arena *a;
  crdt_body b;
  crdt_id id;
  idset mine = {0};
  int rc;

  for (size_t i = 0; i < sn->nops && file == NULL; i++)
    if (sn->ops[i]->h.nparents == 0)
      file = sn->ops[i]->h.file;
  if (file == NULL)
    return; /* killed before any genesis was stored: nothing to write in */
  catch_up_readers(cx, s);
  own_ops(cx, s, file, 0, NULL, &seq0);
  want = seq0 == 0 ? 2 : 1;
  gen_seed(&r, cx->seed * 31 + cx->run);
  a = gen_arena_new();
  gen_body(&r, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  rc = node_author(s, file, &b, &id);
  gen_arena_free(a);
  CHECK(cx, rc == BT_OK, "authoring after the kill: %s", bt_strerror(rc));
  n = own_ops(cx, s, file, seq0, &mine, &last);
  CHECK(cx, n == want, "authoring after the kill committed %zu ops of this device, want %zu", n,
        want);
  CHECK(cx, crdt_id_cmp(&mine.v[n - 1], &id) == 0, "node_author returned %s, its last op is %s",
        hx(id.b, CRDT_ID_LEN), hx(mine.v[n - 1].b, CRDT_ID_LEN));
  set_move(&cx->rp.authored, &mine);
  free(mine.v);
  cx->tot->writes++;
}

/* Each file with stored ops materialises with all of them; the ops it
 * cannot read are exactly those whose header epoch (content or control id)
 * the store holds no key for, public envelopes (keyboxes) aside. Ingest
 * does not judge epochs any more (it used to reject such ops, BT_EEPOCH):
 * they are stored, counted, listed in cf->unknown. */
static void check_readable(ctx *cx, node_store *s, const snap *sn)
{
  uint8_t files[8][CRDT_FILE_LEN];
  size_t nfiles = 0;

  for (size_t i = 0; i < sn->nops; i++) {
    size_t f = 0;
    while (f < nfiles && memcmp(files[f], sn->ops[i]->h.file, CRDT_FILE_LEN) != 0)
      f++;
    CHECK(cx, f < 8, "ops of more than 8 files");
    if (f == nfiles)
      memcpy(files[nfiles++], sn->ops[i]->h.file, CRDT_FILE_LEN);
  }
  for (size_t f = 0; f < nfiles; f++) {
    const crdt_casefile *cf;
    idset unread = {0};
    size_t nops = 0;
    MDB_txn *t = NULL;
    int rc;

    CHECK(cx, mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t) == 0, "read txn");
    for (size_t i = 0; i < sn->nops; i++) {
      const crdt_op *op = sn->ops[i];
      node_secret *key = NULL;
      if (memcmp(op->h.file, files[f], CRDT_FILE_LEN) != 0)
        continue;
      nops++;
      rc = node__epoch_key(s, t, files[f], op->h.epoch, &key);
      CHECK(cx, rc == BT_OK || rc == BT_EEPOCH, "key of epoch %s: %s",
            hx(op->h.epoch, CRDT_EPOCH_LEN), bt_strerror(rc));
      if (rc == BT_EEPOCH) {
        uint8_t pub[CRDT_KEY_LEN];
        crdt_body *body = NULL;
        crdt_public_key(op->h.file, op->h.epoch, pub);
        if (crdt_op_decrypt(op, pub, &body) != 0)
          set_add(&unread, &op->id);
        crdt_body_free(body);
      }
      node_secret_free(key);
    }
    mdb_txn_abort(t);
    set_sort(&unread);
    rc = node_casefile(s, files[f], &cf);
    CHECK(cx, rc == BT_OK, "file %s does not materialise: %s", hx(files[f], CRDT_FILE_LEN),
          bt_strerror(rc));
    CHECK(cx, cf->nops == nops, "file %s: %zu ops materialised, %zu stored",
          hx(files[f], CRDT_FILE_LEN), cf->nops, nops);
    CHECK(cx, cf->nunknown == unread.n,
          "file %s: %zu ops unreadable, %zu under epochs without a key",
          hx(files[f], CRDT_FILE_LEN), cf->nunknown, unread.n);
    for (size_t i = 0; i < cf->nunknown; i++)
      CHECK(cx, set_has(&unread, &cf->unknown[i]),
            "file %s: op %s is unreadable, though its key is here",
            hx(files[f], CRDT_FILE_LEN), hx(cf->unknown[i].b, CRDT_ID_LEN));
    cx->tot->unreadable += unread.n;
    free(unread.v);
  }
}

static void verify(ctx *cx, node_store *shared)
{
  node_store *s = shared;
  snap sn = {0};
  MDB_txn *t = NULL;
  int rc;

  if (s == NULL) {
    rc = open_store(cx->dir, !cx->rp.created, &s);
    CHECK(cx, rc == BT_OK, "the store does not open after the kill: %s", bt_strerror(rc));
  }
  rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t);
  CHECK(cx, rc == 0, "read txn: %s", mdb_strerror(rc));
  load_table(cx, t, s->db[DB_OPS], "ops", &sn.ops, &sn.nops);
  load_table(cx, t, s->db[DB_BUFFER], "buffer", &sn.buf, &sn.nbuf);
  check_heads(cx, s, t, &sn);
  check_fileops(cx, s, t, &sn);
  check_seq(cx, s, t, &sn);
  check_buffer(cx, s, t, &sn);
  mdb_txn_abort(t);
  check_inflight(cx, &sn);
  set_sort(&cx->rp.mentioned);
  set_sort(&cx->rp.authored);
  check_origin(cx, s, sn.ops, sn.nops, "ops");
  check_origin(cx, s, sn.buf, sn.nbuf, "buffer");
  check_required(cx, s, &sn);
  check_readable(cx, s, &sn);
  write_after(cx, s, &sn);
  cx->tot->unique += sn.nops;
  snap_free(&sn);
  if (shared == NULL)
    node_store_close(s);
}

/* ---- the test ------------------------------------------------------------- */

static char base[64];

static void mk_base(void)
{
  strcpy(base, "/tmp/bt-crash-XXXXXX");
  cr_assert_not_null(mkdtemp(base));
}

static void rm_base(void)
{
  char cmd[128];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(node_crash, .init = mk_base, .fini = rm_base);

static const char *describe(int status)
{
  static char b[64];

  if (WIFEXITED(status))
    snprintf(b, sizeof(b), "exit status %d (the helper's stderr says why)", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(b, sizeof(b), "signal %d", WTERMSIG(status));
  else
    snprintf(b, sizeof(b), "wait status %#x", status);
  return b;
}

static void one_seed(totals *tot, uint64_t seed)
{
  ctx cx = {.seed = seed, .tot = tot, .rp = {.inflight = -1}};
  node_store *shared = NULL;
  int share = seed % 3 == 0;
  char cmd[160];

  snprintf(cx.dir, sizeof(cx.dir), "%s/s%" PRIu64, base, seed);
  for (cx.run = 0; cx.run < RUNS; cx.run++) {
    int share_rc = BT_OK, status;
    cx.rp.ready = 0;
    status = run_once(&cx, share && shared == NULL ? &shared : NULL, &share_rc);
    CHECK(&cx, cx.rp.err[0] == '\0', "%s", cx.rp.err);
    CHECK(&cx, WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the helper ended before the kill: %s", describe(status));
    CHECK(&cx, share_rc == BT_OK, "opening the store beside the running helper: %s",
          bt_strerror(share_rc));
    tot->kills++;
    tot->before_ready += !cx.rp.ready;
    tot->shared += shared != NULL;
    if (cx.rp.authoring) {
      cx.rp.maybe_authored += cx.rp.author_k;
      cx.rp.authoring = 0;
      tot->authoring++;
    }
    verify(&cx, shared);
  }
  tot->batches += cx.rp.batches;
  node_store_close(shared);
  report_free(&cx.rp);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cx.dir);
  cr_assert_eq(system(cmd), 0);
}

typedef struct {
  uint64_t first, last;
} block;

ParameterizedTestParameters(node_crash, sigkill_loses_no_committed_op_and_indexes_agree)
{
  static block blocks[] = {{1, 32}, {33, 64}, {65, 96}, {97, 128}};

  return cr_make_param_array(block, blocks, sizeof(blocks) / sizeof(blocks[0]));
}

/* Four blocks of 32 seeds, run in parallel; each seed kills the helper RUNS times. */
ParameterizedTest(block *bl, node_crash, sigkill_loses_no_committed_op_and_indexes_agree,
                  .timeout = 240)
{
  const char *only = getenv("CRASH_SEED");
  uint64_t t0 = now_us();
  totals tot = {0};

  for (uint64_t seed = bl->first; seed <= bl->last; seed++)
    if (only == NULL || strtoull(only, NULL, 10) == seed)
      one_seed(&tot, seed);
  fprintf(stderr,
          "node_crash seeds %" PRIu64 "-%" PRIu64 ": %zu kills (%zu before the store was ready, "
          "%zu with the store held open), %zu batches reported committed, %zu op presence "
          "checks, %zu ops in the stores at the checks; batch in flight at the kill: %zu "
          "committed, %zu rolled back, %zu without visible effect; %zu author calls cut; "
          "%zu writes after recovery; %zu stored ops unreadable (stray epochs) at the checks; "
          "%.1f s\n",
          bl->first, bl->last, tot.kills, tot.before_ready, tot.shared, tot.batches, tot.checked,
          tot.unique, tot.committed, tot.rolled_back, tot.blank, tot.authoring, tot.writes,
          tot.unreadable, (double)(now_us() - t0) / 1e6);
}
