/* tests/node/crash_helper.c: the process test_crash.c kills with SIGKILL.
 *
 *   crash_helper DIR SEED [RUN]
 *
 * Opens (creating if need be) the store in DIR and feeds it until killed.
 * The ops come from other devices: two or three gen_keypair authors, all
 * devices of one org (seeded keys and certificates), write into two or
 * three tracked files with real parent links (own branch, now and then a
 * merge with another author's branch, rare equivocating forks). Each file
 * starts as a real one does (crdt/access.h): a genesis by author 0 binding
 * it to the org and starting epoch 1, then the file-create op; another
 * author's first op in a file is a member op. Plus ops for a file the store
 * never tracks, which must be rejected, and leaves under an epoch the store
 * has no key for, which are stored (ingest does not judge epochs; the test
 * checks they are listed unreadable). All of that is a function of SEED
 * alone, so a second run on the same directory regenerates the same ops;
 * RUN varies only the delivery: batches of 1..200, some ops held back so
 * that their descendants arrive first (buffered, released later), shuffled
 * batches, duplicates, a corrupted signature now and then, and node_author
 * calls.
 *
 * The store itself joins the org on its first open (node_org_adopt with a
 * certificate for its device), so node_author may write in the files: the
 * genesis ops of the tracked files go in a first batch, before any author
 * call, and this device's first op in a file comes after a member op that
 * node_author adds.
 *
 * The helper keeps a model of what the store holds, read from the store at
 * start-up and then updated batch by batch, and predicts every result before
 * calling node_ingest. Output on fd 1, one write(2) per line, so a kill cuts
 * at most the last line:
 *
 *   R                  the store is open, in the org, and the files are tracked
 *   b<n> <tok>...      batch n goes to node_ingest now (batch 0: the genesis
 *                      ops the store lacks); tokens (ids in hex):
 *                        s<id>  is absent and will be stored
 *                        r<id>  will be released from the buffer and stored
 *                        h<id>  is absent and will be buffered
 *                        x<id>  will be rejected, now and always
 *   B<n>               node_ingest returned BT_OK for batch n, and its
 *                      results and stats are the predicted ones
 *   a<n> k<k>          node_author runs now and may commit k ops (2 when
 *                      this device has no op in the file yet: a member op
 *                      binding it comes first)
 *   A<n> i<id>...      it committed these ops (this device's new ops in the
 *                      file, in sequence order; the last is the one asked for)
 *
 * Exit status: 2 the store disagreed with the model (stderr says how),
 * 3 a store call failed, 4 nobody killed us in LIFETIME_S seconds. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crdt/access.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "crdt/gen.h"
#include "node/org.h"
#include "node/store.h"
#include "node/store_int.h" /* only to read where ops sit and this device's seq */

#define NAUTH_MAX 3
#define NFILES_MAX 3      /* tracked files; one more is never tracked */
#define ROUND 128         /* ops generated at a time */
#define BATCH_MAX 200
#define LIFETIME_S 120
#define EPOCH_MS 1767225600000ull /* 2026-01-01 */
#define DAY_MS 86400000ull
#define ORG_KEY_BASE (1ull << 40) /* gen_keypair numbers of the org keys */

enum { ABSENT, BUFFERED, STORED };        /* where the model has an op */
/* GOOD and STRAY are stored (STRAY: under an epoch the store has no key
 * for, so unreadable there; ingest used to reject it, BT_EEPOCH); FOREIGN
 * is rejected, BT_ENOFILE; CORRUPT, BT_ESIG. */
enum { GOOD, FOREIGN, STRAY, CORRUPT };

typedef struct {
  crdt_op *op;
  uint32_t par[2], *kids;
  uint32_t nkids, capkids;
  uint8_t np, kind, state, sent;
} gop;

typedef struct {
  uint8_t id[CRDT_FILE_LEN], salt[16], epoch[CRDT_EPOCH_LEN], ctl[CRDT_EPOCH_LEN];
  uint8_t secret[CRDT_KEY_LEN];               /* epoch 1's secret, and from it: */
  uint8_t key[CRDT_KEY_LEN], ctl_key[CRDT_KEY_LEN]; /* content and control keys */
  uint8_t stray_epoch[CRDT_EPOCH_LEN], stray_key[CRDT_KEY_LEN];
  uint64_t ms;                  /* the file's clock: body HLCs rise with it */
  int64_t root, create, last[NAUTH_MAX]; /* root: the genesis */
  uint64_t seq[NAUTH_MAX];
} gfile;

typedef struct {
  size_t stored, duplicate, buffered, rejected, released;
} tally;

typedef struct {
  gen_rng gen;   /* op content: the same in every run of one seed */
  gen_rng sched; /* delivery: differs between runs */
  gen_key auth[NAUTH_MAX];
  gen_key org;                          /* the org's signing key */
  uint8_t box_pk[32], box_sk[32];       /* and its box key */
  uint8_t *org_cert, *dev_cert[NAUTH_MAX];
  size_t org_len, dev_len[NAUTH_MAX];
  size_t nauth, nfiles; /* files[nfiles] is the untracked one */
  gfile files[NFILES_MAX + 1];
  gop *ops;
  size_t nops, capops, cursor, known; /* known: ops found in the store */
  uint32_t *sent, *deferred, *stack;
  size_t nsent, capsent, ndef, capdef, nstack, capstack;
  node_store *s;
  uint64_t now_ms; /* the store's fake wall clock */
  char *line;
  size_t len, cap;
} world;

static void die(int code, const char *fmt, ...)
{
  va_list ap;

  fprintf(stderr, "crash_helper: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  fflush(stderr);
  _exit(code); /* no atexit: a leak report would only hide the reason */
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return p;
  *cap = need > 2 * *cap ? need : 2 * *cap;
  if ((p = realloc(p, *cap * size)) == NULL)
    die(3, "out of memory");
  return p;
}

static uint64_t clock_fn(void *ctx)
{
  world *w = ctx;

  return w->now_ms += 1000;
}

/* ---- output --------------------------------------------------------------- */

static void out(world *w, const char *fmt, ...)
{
  va_list ap;
  int n;

  w->line = grow(w->line, &w->cap, w->len + 160, 1);
  va_start(ap, fmt);
  n = vsnprintf(w->line + w->len, w->cap - w->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= w->cap - w->len)
    die(3, "line too long");
  w->len += (size_t)n;
}

static void out_id(world *w, char tag, const crdt_id *id)
{
  static const char hex[] = "0123456789abcdef";
  char buf[2 + 2 * CRDT_ID_LEN + 1];

  buf[0] = ' ';
  buf[1] = tag;
  for (size_t i = 0; i < CRDT_ID_LEN; i++) {
    buf[2 + 2 * i] = hex[id->b[i] >> 4];
    buf[3 + 2 * i] = hex[id->b[i] & 15];
  }
  buf[sizeof(buf) - 1] = '\0';
  out(w, "%s", buf);
}

/* Ends the line and writes it: the parent may kill us at any moment after. */
static void flush_line(world *w)
{
  size_t done = 0;

  out(w, "\n");
  while (done < w->len) {
    ssize_t n = write(1, w->line + done, w->len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      die(3, "write: %s", strerror(errno));
    done += (size_t)n;
  }
  w->len = 0;
}

/* ---- the deterministic ops ------------------------------------------------ */

static void add_kid(world *w, uint32_t parent, uint32_t kid)
{
  gop *g = &w->ops[parent];
  size_t cap = g->capkids;

  g->kids = grow(g->kids, &cap, g->nkids + 1, sizeof(*g->kids));
  g->capkids = (uint32_t)cap;
  g->kids[g->nkids++] = kid;
}

/* An op of author a in file f. Its body is pre (genesis and member ops,
 * whose hlc is set here) or a random one of type (0: any entry type).
 * Control ops are sealed under the control id and key of epoch 1. */
static int64_t make_op(world *w, size_t f, size_t a, int kind, uint64_t seq,
                       const uint32_t *par, size_t np, uint32_t type, const crdt_body *pre)
{
  static const uint32_t types[] = {CRDT_OP_CHRONO, CRDT_OP_CONCERN, CRDT_OP_FIELD_SET,
                                   CRDT_OP_TAG_ADD, CRDT_OP_ACTION, CRDT_OP_BODYMAP};
  gfile *gf = &w->files[f];
  gen_arena *ar = gen_arena_new();
  const uint8_t *epoch = gf->epoch, *key = gf->key;
  crdt_id ids[2];
  crdt_body b;
  gop *g;

  gf->ms += gen_below(&w->gen, 20 * 60 * 1000); /* a few ops an hour: many buckets */
  if (pre) {
    b = *pre;
    b.hlc = gf->ms << 16;
  } else {
    if (type == 0)
      type = types[gen_below(&w->gen, sizeof(types) / sizeof(types[0]))];
    gen_body(&w->gen, ar, type, gf->ms << 16, &b, NULL, 0);
  }
  if (crdt_optype_control(b.type)) {
    epoch = gf->ctl;
    key = gf->ctl_key;
  } else if (kind == STRAY) {
    epoch = gf->stray_epoch;
    key = gf->stray_key;
  }
  for (size_t i = 0; i < np; i++)
    ids[i] = w->ops[par[i]].op->id;
  w->ops = grow(w->ops, &w->capops, w->nops + 1, sizeof(*w->ops));
  g = &w->ops[w->nops];
  memset(g, 0, sizeof(*g));
  g->op = gen_seal(&w->gen, &w->auth[a], gf->id, epoch, key, seq, ids, np, &b);
  g->kind = (uint8_t)kind;
  g->np = (uint8_t)np;
  for (size_t i = 0; i < np; i++) {
    g->par[i] = par[i];
    if (kind != FOREIGN) /* stored, so it may wait for its parents */
      add_kid(w, par[i], (uint32_t)w->nops);
  }
  gen_arena_free(ar);
  return (int64_t)w->nops++;
}

/* One more op: a file's first op after its genesis is its creation by
 * author 0, another author's first op in it binds that author to the org;
 * after that an author extends its own branch, sometimes merging another
 * author's. */
static void gen_one(world *w)
{
  gen_rng *r = &w->gen;
  size_t f = gen_below(r, w->nfiles + 1), a = gen_below(r, w->nauth), b;
  uint32_t par[2];
  size_t np = 0;
  gfile *gf;
  int kind;

  if (f == w->nfiles && gen_below(r, 4) != 0) /* the untracked file: fewer ops */
    f = gen_below(r, w->nfiles);
  gf = &w->files[f];
  kind = f == w->nfiles ? FOREIGN : GOOD;
  if (gf->create < 0) {
    par[0] = (uint32_t)gf->root;
    gf->create = gf->last[0] =
      make_op(w, f, 0, kind, gf->seq[0] = 2, par, 1, CRDT_OP_FILE_CREATE, NULL);
    return;
  }
  if (gf->last[a] < 0) {
    crdt_body m = {.type = CRDT_OP_MEMBER, .user = BT_STR("staff"), .known = 1};
    m.u.member = (crdt_member){{(const char *)w->dev_cert[a], w->dev_len[a]},
                               {(const char *)w->org_cert, w->org_len}};
    par[0] = (uint32_t)gf->create;
    gf->last[a] = make_op(w, f, a, kind, gf->seq[a] = 1, par, 1, 0, &m);
    return;
  }
  par[np++] = (uint32_t)gf->last[a];
  b = gen_below(r, w->nauth);
  if (b != a && gf->last[b] >= 0 && gf->last[b] != par[0] && gen_below(r, 3) == 0)
    par[np++] = (uint32_t)gf->last[b];
  if (kind == GOOD && gen_below(r, 40) == 0) { /* a leaf under an unknown epoch */
    make_op(w, f, a, STRAY, gf->seq[a] + 1, par, np, 0, NULL);
    return;
  }
  if (kind == GOOD && gf->last[a] > gf->create && gen_below(r, 30) == 0) {
    const gop *prev = &w->ops[gf->last[a]]; /* equivocation: same seq again */
    uint32_t pp[2] = {prev->par[0], prev->par[1]};
    int64_t fork = make_op(w, f, a, GOOD, gf->seq[a], pp, prev->np, 0, NULL);
    if (gen_below(r, 2))
      gf->last[a] = fork;
    return;
  }
  gf->last[a] = make_op(w, f, a, kind, ++gf->seq[a], par, np, 0, NULL);
}

static void mark_sent(world *w, uint32_t i)
{
  if (w->ops[i].sent)
    return;
  w->ops[i].sent = 1;
  w->sent = grow(w->sent, &w->capsent, w->nsent + 1, sizeof(*w->sent));
  w->sent[w->nsent++] = i;
}

/* Asks the store where each op from first on already is: after a crash, a
 * run starts from what the last one left. */
static void look_up(world *w, size_t first)
{
  MDB_txn *t;
  int rc;

  if ((rc = mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &t)) != 0)
    die(3, "read txn: %s", mdb_strerror(rc));
  for (size_t i = first; i < w->nops; i++) {
    gop *g = &w->ops[i];
    MDB_val k = {CRDT_ID_LEN, g->op->id.b}, v;

    if (mdb_get(t, w->s->db[DB_OPS], &k, &v) == 0)
      g->state = STORED;
    else if (mdb_get(t, w->s->db[DB_BUFFER], &k, &v) == 0)
      g->state = BUFFERED;
    if (g->state != ABSENT && g->kind == FOREIGN)
      die(2, "op %zu, which must be rejected, is in the store", i);
    if (g->state != ABSENT) {
      mark_sent(w, (uint32_t)i);
      w->known++;
    }
  }
  mdb_txn_abort(t);
}

/* Generates ROUND ops and looks them up. */
static void gen_round(world *w)
{
  size_t first = w->nops;

  for (size_t i = 0; i < ROUND; i++)
    gen_one(w);
  look_up(w, first);
}

/* Ops in the store from other devices: seq entries with another author,
 * plus the buffer (this device's ops are never buffered). */
static size_t foreign_ops(world *w)
{
  uint8_t dev[CRDT_PK_LEN];
  MDB_cursor *c;
  MDB_txn *t;
  MDB_val k, v;
  MDB_stat st;
  size_t n = 0;
  int rc;

  node_store_device(w->s, dev);
  if ((rc = mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &t)) != 0 ||
      (rc = mdb_cursor_open(t, w->s->db[DB_SEQ], &c)) != 0)
    die(3, "read txn: %s", mdb_strerror(rc));
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    n += k.mv_size < CRDT_FILE_LEN + CRDT_PK_LEN ||
         memcmp((uint8_t *)k.mv_data + CRDT_FILE_LEN, dev, CRDT_PK_LEN) != 0;
  mdb_cursor_close(c);
  if ((rc = mdb_stat(t, w->s->db[DB_BUFFER], &st)) != 0)
    die(3, "stat: %s", mdb_strerror(rc));
  mdb_txn_abort(t);
  return n + st.ms_entries;
}

/* After a crash the store may hold ops that the last run generated late:
 * the model must know them all before predicting, or a release of one it
 * has not generated yet would look like a surprise. */
static void catch_up(world *w)
{
  size_t want = foreign_ops(w);

  while (w->known < want) {
    if (w->nops > 8 * want + 64 * ROUND)
      die(2, "the store holds %zu ops from other devices, the generator finds %zu", want,
          w->known);
    gen_round(w);
  }
}

/* ---- the model -------------------------------------------------------------- */

static int parents_stored(const world *w, const gop *g)
{
  for (size_t i = 0; i < g->np; i++)
    if (w->ops[g->par[i]].state != STORED)
      return 0;
  return 1;
}

/* Storing op i releases buffered descendants whose parents are all stored. */
static void release_from(world *w, uint32_t i, tally *t)
{
  w->nstack = 0;
  w->stack = grow(w->stack, &w->capstack, 1, sizeof(*w->stack));
  w->stack[w->nstack++] = i;
  while (w->nstack > 0) {
    const gop *g = &w->ops[w->stack[--w->nstack]];
    for (size_t k = 0; k < g->nkids; k++) {
      gop *kid = &w->ops[g->kids[k]];
      if (kid->state != BUFFERED || !parents_stored(w, kid))
        continue;
      kid->state = STORED;
      t->released++;
      out_id(w, 'r', &kid->op->id);
      w->stack = grow(w->stack, &w->capstack, w->nstack + 1, sizeof(*w->stack));
      w->stack[w->nstack++] = g->kids[k];
    }
  }
}

static node_ingest_status predict(world *w, uint32_t i, tally *t)
{
  gop *g = &w->ops[i];

  if (g->kind == FOREIGN) {
    t->rejected++;
    out_id(w, 'x', &g->op->id);
    return NODE_REJECTED;
  }
  if (g->state != ABSENT) {
    t->duplicate++;
    return NODE_DUPLICATE;
  }
  if (!parents_stored(w, g)) {
    g->state = BUFFERED;
    t->buffered++;
    out_id(w, 'h', &g->op->id);
    return NODE_BUFFERED;
  }
  g->state = STORED;
  t->stored++;
  out_id(w, 's', &g->op->id);
  release_from(w, i, t);
  return NODE_STORED;
}

/* ---- delivery --------------------------------------------------------------- */

/* The next op to send: now and then a duplicate or a held-back op, else the
 * next absent one in generation order, one in ten of which is held back. */
static uint32_t pick(world *w)
{
  gen_rng *r = &w->sched;

  if (w->nsent && gen_below(r, 12) == 0)
    return w->sent[gen_below(r, w->nsent)];
  if (w->ndef && gen_below(r, 5) == 0) {
    size_t j = gen_below(r, w->ndef);
    uint32_t i = w->deferred[j];
    w->deferred[j] = w->deferred[--w->ndef];
    return i;
  }
  for (;;) {
    if (w->cursor == w->nops)
      gen_round(w);
    uint32_t i = (uint32_t)w->cursor++;
    if (w->ops[i].state != ABSENT)
      continue;
    if (gen_below(r, 10) != 0)
      return i;
    w->deferred = grow(w->deferred, &w->capdef, w->ndef + 1, sizeof(*w->deferred));
    w->deferred[w->ndef++] = i;
  }
}

typedef struct {
  uint32_t idx[BATCH_MAX + 1];
  int kind[BATCH_MAX + 1];
  bt_bytes envs[BATCH_MAX + 1];
  node_ingest_status want[BATCH_MAX + 1];
  node_ingest_result res[BATCH_MAX + 1];
  size_t n;
  uint8_t *bad; /* the corrupted copy, if any */
} batch;

static void fill_batch(world *w, batch *x)
{
  gen_rng *r = &w->sched;
  size_t k = gen_below(r, 4) == 0 ? 1 + gen_below(r, 8) : 1 + gen_below(r, BATCH_MAX);

  for (x->n = 0; x->n < k; x->n++)
    x->idx[x->n] = pick(w);
  if (gen_below(r, 2)) /* children before parents within the batch */
    for (size_t i = x->n; i > 1; i--) {
      size_t j = gen_below(r, i);
      uint32_t tmp = x->idx[i - 1];
      x->idx[i - 1] = x->idx[j];
      x->idx[j] = tmp;
    }
  for (size_t i = 0; i < x->n; i++) {
    const gop *g = &w->ops[x->idx[i]];
    x->envs[i] = (bt_bytes){g->op->env, g->op->env_len};
    x->kind[i] = g->kind;
    mark_sent(w, x->idx[i]);
  }
  if (gen_below(r, 30) == 0) { /* a copy with a broken signature */
    size_t j = gen_below(r, x->n);
    x->bad = malloc(x->envs[j].len);
    if (x->bad == NULL)
      die(3, "out of memory");
    memcpy(x->bad, x->envs[j].p, x->envs[j].len);
    x->bad[x->envs[j].len - 1] ^= 1; /* last byte of the signature */
    x->envs[x->n] = (bt_bytes){x->bad, x->envs[j].len};
    x->kind[x->n] = CORRUPT;
    x->idx[x->n++] = UINT32_MAX;
  }
}

static int reason_of(int kind)
{
  return kind == FOREIGN ? BT_ENOFILE : BT_ESIG; /* STRAY ops are stored */
}

static void check_results(world *w, uint64_t n, const batch *x, const tally *t,
                          const node_ingest_stats *st)
{
  for (size_t i = 0; i < x->n; i++) {
    const node_ingest_result *r = &x->res[i];
    if (r->status != x->want[i])
      die(2, "batch %" PRIu64 " entry %zu (op %" PRIu32 "): status %d, the model says %d", n, i,
          x->idx[i], (int)r->status, (int)x->want[i]);
    if (r->status == NODE_REJECTED && r->reason != reason_of(x->kind[i]))
      die(2, "batch %" PRIu64 " entry %zu: rejected for %s, want %s", n, i,
          bt_strerror(r->reason), bt_strerror(reason_of(x->kind[i])));
    if (x->kind[i] != CORRUPT && crdt_id_cmp(&r->id, &w->ops[x->idx[i]].op->id) != 0)
      die(2, "batch %" PRIu64 " entry %zu: result names another id", n, i);
  }
  if (st->stored != t->stored || st->duplicate != t->duplicate || st->buffered != t->buffered ||
      st->rejected != t->rejected || st->released != t->released)
    die(2, "batch %" PRIu64 ": stats stored %zu dup %zu buffered %zu rejected %zu released %zu, "
        "the model says %zu %zu %zu %zu %zu", n, st->stored, st->duplicate, st->buffered,
        st->rejected, st->released, t->stored, t->duplicate, t->buffered, t->rejected,
        t->released);
}

/* Predicts, reports and sends a filled batch, then checks the results. */
static void send_batch(world *w, uint64_t n, batch *x)
{
  node_ingest_stats st;
  tally t = {0};
  int rc;

  out(w, "b%" PRIu64, n);
  for (size_t i = 0; i < x->n; i++) {
    if (x->kind[i] == CORRUPT) {
      x->want[i] = NODE_REJECTED;
      t.rejected++;
    } else {
      x->want[i] = predict(w, x->idx[i], &t);
    }
  }
  flush_line(w);
  if ((rc = node_ingest(w->s, x->envs, x->n, x->res, &st)) != 0)
    die(3, "batch %" PRIu64 ": node_ingest: %s", n, bt_strerror(rc));
  check_results(w, n, x, &t, &st);
  out(w, "B%" PRIu64, n);
  flush_line(w);
  free(x->bad);
}

static void run_batch(world *w, uint64_t n)
{
  batch x = {.n = 0};

  fill_batch(w, &x);
  send_batch(w, n, &x);
}

/* Batch 0: the genesis ops of the tracked files the store lacks, so that
 * the store can read each file's access state before it writes there. */
static void run_genesis(world *w)
{
  batch x = {.n = 0};

  for (size_t f = 0; f < w->nfiles; f++) {
    uint32_t i = (uint32_t)w->files[f].root;
    const gop *g = &w->ops[i];
    if (g->state == STORED)
      continue;
    x.idx[x.n] = i;
    x.envs[x.n] = (bt_bytes){g->op->env, g->op->env_len};
    x.kind[x.n++] = g->kind;
    mark_sent(w, i);
  }
  if (x.n > 0)
    send_batch(w, 0, &x);
}

/* This device's ops in a file with a sequence number above after, in
 * sequence order, from the seq index (file|author|seq|id), into out (NULL:
 * only count); *last gets the highest sequence number (after if none). */
static size_t own_ops(world *w, const uint8_t *file, uint64_t after, crdt_id *out, size_t max,
                      uint64_t *last)
{
  uint8_t k[CRDT_FILE_LEN + CRDT_PK_LEN];
  MDB_val key = {sizeof(k), k}, v;
  MDB_cursor *c;
  MDB_txn *t;
  size_t n = 0;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  node_store_device(w->s, k + CRDT_FILE_LEN);
  *last = after;
  if ((rc = mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &t)) != 0 ||
      (rc = mdb_cursor_open(t, w->s->db[DB_SEQ], &c)) != 0)
    die(3, "read txn: %s", mdb_strerror(rc));
  for (rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
    const uint8_t *p = (const uint8_t *)key.mv_data + sizeof(k);
    uint64_t seq = 0;
    if (key.mv_size != sizeof(k) + 8 + CRDT_ID_LEN || memcmp(key.mv_data, k, sizeof(k)) != 0)
      break;
    for (int i = 0; i < 8; i++)
      seq = seq << 8 | p[i];
    if (seq <= after)
      continue;
    if (out && n == max)
      die(2, "more than %zu new ops of this device in one file", max);
    if (out)
      memcpy(out[n].b, p + 8, CRDT_ID_LEN);
    n++;
    *last = seq;
  }
  if (rc != 0 && rc != MDB_NOTFOUND)
    die(3, "seq index: %s", mdb_strerror(rc));
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  return n;
}

/* node_author into a random file. A device's first op in a file comes
 * after a member op node_author authors for it (crdt/access.h): the call
 * commits both, and both are reported. */
static void run_author(world *w, uint64_t n)
{
  const gfile *gf = &w->files[gen_below(&w->sched, w->nfiles)];
  gen_arena *a = gen_arena_new();
  crdt_id mine[4];
  uint64_t seq0, last;
  size_t want, got;
  crdt_body b;
  crdt_id id;
  int rc;

  own_ops(w, gf->id, 0, NULL, 0, &seq0);
  want = seq0 == 0 ? 2 : 1;
  gen_body(&w->sched, a, CRDT_OP_CHRONO, 0, &b, NULL, 0);
  out(w, "a%" PRIu64 " k%zu", n, want);
  flush_line(w);
  if ((rc = node_author(w->s, gf->id, &b, &id)) != 0)
    die(3, "author %" PRIu64 ": %s", n, bt_strerror(rc));
  got = own_ops(w, gf->id, seq0, mine, 4, &last);
  if (got != want || crdt_id_cmp(&mine[got - 1], &id) != 0)
    die(2, "author %" PRIu64 ": %zu new ops of this device, the last %s the one returned; "
        "want %zu", n, got, got && crdt_id_cmp(&mine[got - 1], &id) == 0 ? "is" : "is not",
        want);
  out(w, "A%" PRIu64, n);
  for (size_t i = 0; i < got; i++)
    out_id(w, 'i', &mine[i]);
  flush_line(w);
  gen_arena_free(a);
}

/* ---- start-up ------------------------------------------------------------- */

static uint8_t *sign_cert(const crdt_cert_body *b, const uint8_t *sk, size_t *len)
{
  uint8_t *c;
  int rc;

  if ((rc = crdt_cert_sign(b, sk, &c, len)) != 0)
    die(3, "certificate: %s", bt_strerror(rc));
  return c;
}

/* The org every author belongs to: seeded keys, a provisional (self-signed)
 * org certificate and a device certificate per author. */
static uint8_t *device_cert(world *w, const uint8_t *device, size_t *len)
{
  crdt_cert_body b = {.kind = CRDT_CERT_DEVICE, .name = BT_STR("device"),
                      .not_before = EPOCH_MS - DAY_MS, .not_after = EPOCH_MS + 3650 * DAY_MS};

  memcpy(b.subject.b, device, CRDT_PK_LEN);
  memcpy(b.issuer.b, w->org.pk, CRDT_PK_LEN);
  return sign_cert(&b, w->org.sk, len);
}

static void make_org(world *w, uint64_t seed)
{
  uint8_t box_seed[crypto_box_SEEDBYTES];
  crdt_cert_body b = {.kind = CRDT_CERT_ORG, .name = BT_STR("Crash School"),
                      .org_kind = CRDT_ORG_SCHOOL, .urn = BT_STR(""), .laestab = BT_STR(""),
                      .not_before = EPOCH_MS - DAY_MS, .not_after = EPOCH_MS + 3650 * DAY_MS};

  gen_keypair(ORG_KEY_BASE + seed, &w->org);
  gen_bytes(&w->gen, box_seed, sizeof(box_seed));
  crypto_box_seed_keypair(w->box_pk, w->box_sk, box_seed);
  memcpy(b.subject.b, w->org.pk, CRDT_PK_LEN);
  memcpy(b.box.b, w->box_pk, 32);
  b.issuer = b.subject;
  w->org_cert = sign_cert(&b, w->org.sk, &w->org_len);
  for (size_t a = 0; a < w->nauth; a++)
    w->dev_cert[a] = device_cert(w, w->auth[a].pk, &w->dev_len[a]);
}

/* The files, each with its genesis by author 0 (ops 0..nfiles). */
static void world_init(world *w, uint64_t seed, uint64_t run)
{
  gen_seed(&w->gen, seed);
  gen_seed(&w->sched, seed * 1000003 + run + 1);
  w->nauth = 2 + gen_below(&w->gen, NAUTH_MAX - 1);
  w->nfiles = 2 + gen_below(&w->gen, NFILES_MAX - 1);
  for (size_t a = 0; a < w->nauth; a++)
    gen_keypair(seed * NAUTH_MAX + a + 1, &w->auth[a]);
  make_org(w, seed);
  for (size_t f = 0; f <= w->nfiles; f++) {
    gfile *gf = &w->files[f];
    gen_bytes(&w->gen, gf->salt, sizeof(gf->salt));
    crdt_file_id(w->auth[0].pk, gf->salt, gf->id);
    gen_bytes(&w->gen, gf->epoch, sizeof(gf->epoch));
    gen_bytes(&w->gen, gf->secret, sizeof(gf->secret));
    crdt_epoch_keys(gf->secret, gf->key, gf->ctl_key);
    crdt_control_id(gf->epoch, gf->ctl);
    gen_bytes(&w->gen, gf->stray_epoch, sizeof(gf->stray_epoch));
    gen_bytes(&w->gen, gf->stray_key, sizeof(gf->stray_key));
    gf->ms = EPOCH_MS + gen_below(&w->gen, 100000000);
    gf->root = gf->create = -1;
    for (size_t a = 0; a < NAUTH_MAX; a++)
      gf->last[a] = -1;
  }
  for (size_t f = 0; f <= w->nfiles; f++) {
    gfile *gf = &w->files[f];
    crdt_body g = {.type = CRDT_OP_GENESIS, .user = BT_STR("dsl"), .known = 1};
    g.u.genesis = (crdt_genesis){{(const char *)w->dev_cert[0], w->dev_len[0]},
                                 {(const char *)w->org_cert, w->org_len},
                                 {(const char *)gf->salt, sizeof(gf->salt)},
                                 {(const char *)gf->epoch, sizeof(gf->epoch)}};
    gf->root = make_op(w, f, 0, f == w->nfiles ? FOREIGN : GOOD, gf->seq[0] = 1, NULL, 0, 0,
                       &g);
  }
  w->now_ms = EPOCH_MS;
}

/* Opens the store; on its first open (or after a kill that came before),
 * it joins the org with a certificate for its own device key. */
static void open_store(world *w, const char *dir)
{
  node_store_opts o = {.dir = dir, .passphrase = "crash", .passphrase_len = 5, .create = 1,
                       .kdf = NODE_KDF_MIN, .clock_ms = clock_fn, .clock_ctx = w};
  uint8_t dev[CRDT_PK_LEN], *cert;
  size_t len;
  node_org org;
  int rc;

  if ((rc = node_store_open(&w->s, &o)) != 0)
    die(3, "open %s: %s", dir, bt_strerror(rc));
  if ((rc = node_org_get(w->s, &org)) == BT_ENOTFOUND) {
    node_store_device(w->s, dev);
    cert = device_cert(w, dev, &len);
    rc = node_org_adopt(w->s, w->org.sk, w->box_sk, w->org_cert, w->org_len, cert, len);
    free(cert);
    if (rc != 0)
      die(3, "adopt the org: %s", bt_strerror(rc));
  } else if (rc != 0) {
    die(3, "org: %s", bt_strerror(rc));
  } else {
    int ours = memcmp(org.sign_pk.b, w->org.pk, CRDT_PK_LEN) == 0;
    node_org_clear(&org);
    if (!ours)
      die(2, "the store belongs to another org");
  }
  for (size_t f = 0; f < w->nfiles; f++)
    if ((rc = node_file_track(w->s, w->files[f].id, w->files[f].epoch, w->files[f].secret)) != 0)
      die(3, "track file %zu: %s", f, bt_strerror(rc));
}

int main(int argc, char **argv)
{
  static world w;
  struct timespec t0, now;
  uint64_t seed, run;

  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: crash_helper DIR SEED [RUN]\n");
    return 64;
  }
  if (sodium_init() < 0)
    die(3, "sodium_init");
  seed = strtoull(argv[2], NULL, 10);
  run = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  world_init(&w, seed, run);
  open_store(&w, argv[1]);
  look_up(&w, 0);
  catch_up(&w);
  out(&w, "R");
  flush_line(&w);
  run_genesis(&w);
  for (uint64_t n = 1;; n++) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > LIFETIME_S)
      die(4, "seed %" PRIu64 ": nobody killed us", seed);
    if (gen_below(&w.sched, 4) == 0)
      run_author(&w, n);
    run_batch(&w, n);
  }
}
