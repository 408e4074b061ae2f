/* tests/sim/sim.c: one seed of the simulation: the world, the authoring,
 * the event loop, healing.
 *
 * The world: an LA node that holds the root key and is also the relay (an
 * LA org's node, relaying for every org or for the three it serves), two
 * schools A and B, a MASH and a laptop enrolled as a second device of A.
 * Links: laptop-A, A-relay, B-relay, MASH-relay, MASH-A: B only ever
 * reaches A's files through the relay.
 *
 * One splitmix64 stream drives everything the simulation chooses (fault
 * profile, clock skews, authoring, faults), libsodium's randomness is the
 * seed's own (sim_rng.c), and every store's clock is the virtual clock
 * plus a fixed skew: a seed replays exactly. The trace hash covers every
 * delivered message and every authoring result. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/enrol.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/share.h"
#include "node/store_int.h"
#include "node/users.h"
#include "sim/sim_int.h"

const char *const sim_names[N_NODES] = {"A", "B", "relay", "MASH", "laptop"};
static const int org_of[N_NODES] = {ORG_A, ORG_B, ORG_LA, ORG_MASH, ORG_A};
static const int org_node[N_ORGS] = {N_A, N_B, N_RELAY, N_MASH};
static const int link_ends[N_LINKS][2] = {
  {N_LAPTOP, N_A}, {N_A, N_RELAY}, {N_B, N_RELAY}, {N_MASH, N_RELAY}, {N_MASH, N_A}};

#define MINUTE 60000ull
#define MAX_ROUNDS 24

static sim *cur; /* the run under way, for sim_abandon */

/* ---- randomness and failures ----------------------------------------------- */

uint64_t sim_u64(sim *w)
{
  uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t sim_below(sim *w, uint64_t n)
{
  return sim_u64(w) % n;
}

static void replay_line(sim *w, const char *how, const char *msg)
{
  fprintf(stderr,
          "sim: seed %" PRIu64 " %s at step %" PRIu64 " (t=+%" PRIu64 " ms, %s): %s | replay: "
          "BT_SIM_SEED=%" PRIu64 " %s --filter 'sim/%s' (BT_SIM_TRACE=1 prints every step)\n",
          w->cfg.seed, how, w->step, w->now - w->t0, w->what, msg, w->cfg.seed, SIM_BIN,
          w->cfg.test);
}

void sim_fail(sim *w, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  replay_line(w, "diverged", msg);
  w->cfg.test = NULL; /* reported */
  cr_assert_fail("seed %" PRIu64 " step %" PRIu64 ": %s", w->cfg.seed, w->step, msg);
  abort();
}

#define OK(w, call)                                                              \
  do {                                                                           \
    int rc_ = (call);                                                            \
    if (rc_ != BT_OK)                                                            \
      sim_fail((w), "%s: %s", #call, bt_errname(rc_));                           \
  } while (0)

size_t sim_count(sim *w, int node)
{
  size_t ops, buffered;

  OK(w, node_store_counts(w->n[node].s, &ops, &buffered));
  return ops;
}

crdt_id *sim_file_ops(sim *w, int node, int f, size_t *n)
{
  crdt_id *ids;
  size_t max = 0;

  *n = 0;
  if (node_file_ops(w->n[node].s, w->f[f].id, NULL, 0, &max) != BT_OK)
    return NULL;
  ids = calloc(max + 1, sizeof(*ids));
  cr_assert_not_null(ids);
  OK(w, node_file_ops(w->n[node].s, w->f[f].id, ids, max, n));
  return ids;
}

static void trace_u64(sim *w, uint64_t a, uint64_t b)
{
  uint64_t v[2] = {a, b};

  crypto_generichash_update(&w->trace, (const uint8_t *)v, sizeof(v));
}

/* ---- the world -------------------------------------------------------------- */

static uint64_t node_clock(void *ctx)
{
  const sim_node *n = ctx;

  return (uint64_t)((int64_t)party_now_ms + n->skew_ms);
}

static void open_node(sim *w, int i, const char *name, uint32_t kind)
{
  sim_node *n = &w->n[i];
  node_store_opts o = {.passphrase = "pw", .passphrase_len = 2, .create = 1,
                       .kdf = NODE_KDF_MIN, .clock_ms = node_clock, .clock_ctx = n};

  snprintf(n->dir, sizeof(n->dir), "%s/%s", w->dir, sim_names[i]);
  cr_assert_eq(mkdir(n->dir, 0700), 0);
  o.dir = n->dir;
  n->org = org_of[i];
  OK(w, node_store_open(&n->s, &o));
  if (name != NULL) {
    node_org_info oi = {kind, name, NULL, NULL};
    OK(w, node_org_create(n->s, &oi));
  }
}

/* The LA root (on the relay node) certifies node i's org; i trusts it. */
static void certify(sim *w, int i, const crdt_id *root)
{
  sim_node *n = &w->n[i];
  node_org o;

  OK(w, node_org_get(n->s, &o));
  OK(w, node_root_certify(w->n[N_RELAY].s, o.org_cert, o.org_cert_len, party_now_ms, 365,
                          &n->cert, &n->cert_len));
  node_org_clear(&o);
  if (i != N_RELAY)
    OK(w, node_anchor_add(n->s, root));
  OK(w, node_org_install(n->s, n->cert, n->cert_len, party_now_ms));
}

static void enrol_laptop(sim *w, const crdt_id *root)
{
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *req, *ans;
  size_t rl, al;

  OK(w, node_enrol_issue(w->n[N_A].s, "DSL laptop", 600000, party_now_ms, code));
  OK(w, node_enrol_request(w->n[N_LAPTOP].s, code, &req, &rl));
  OK(w, node_enrol_answer(w->n[N_A].s, req, rl, party_now_ms, &ans, &al));
  OK(w, node_enrol_accept(w->n[N_LAPTOP].s, code, ans, al));
  OK(w, node_anchor_add(w->n[N_LAPTOP].s, root));
  free(req);
  free(ans);
}

/* How node i's peers see it: its device key and its org certificate. */
static void describe_node(sim *w, int i)
{
  sim_node *n = &w->n[i];
  node_org o;
  crdt_cert *c;

  OK(w, node_org_get(n->s, &o));
  OK(w, crdt_cert_decode(o.org_cert, o.org_cert_len, &c));
  node_store_device(n->s, n->as_peer.device_pk);
  n->as_peer.org_pk = c->b.subject;
  n->as_peer.box_pk = c->b.box;
  n->as_peer.org_kind = c->b.org_kind;
  n->as_peer.relay = c->b.org_kind == CRDT_ORG_LA;
  n->org_pk = c->b.subject;
  if (n->cert == NULL) { /* the laptop: its org's certificate */
    n->cert = malloc(o.org_cert_len);
    cr_assert_not_null(n->cert);
    memcpy(n->cert, o.org_cert, o.org_cert_len);
    n->cert_len = o.org_cert_len;
  }
  crdt_cert_free(c);
  node_org_clear(&o);
}

static void choose_opts(sim *w)
{
  for (int i = 0; i < N_NODES; i++) {
    node_sync_opts *o = &w->n[i].opts;
    *o = (node_sync_opts){0};
    o->no_fast = sim_below(w, 6) == 0;
    if (sim_below(w, 5) == 0)
      o->max_new_files = 1 + sim_below(w, 3);
    if (sim_below(w, 4) == 0)
      o->max_message = NODE_SYNC_MSG_MIN;
  }
  if (sim_below(w, 2)) {
    w->n[N_RELAY].opts.relay_all = 1;
  } else {
    sim_node *r = &w->n[N_RELAY];
    r->relay_orgs[0] = w->n[N_A].org_pk;
    r->relay_orgs[1] = w->n[N_B].org_pk;
    r->relay_orgs[2] = w->n[N_MASH].org_pk;
    r->opts.relay_orgs = r->relay_orgs;
    r->opts.nrelay = 3;
  }
}

static void choose_faults(sim *w)
{
  static const unsigned prof[4][6] = {
    /* drop, dup, stale, hold, delay, partition (per mille) */
    {0, 0, 0, 0, 0, 0},          /* a calm network (but the laptop travels) */
    {6, 10, 10, 10, 30, 60},     /* a poor one */
    {20, 30, 25, 30, 60, 120},   /* a hostile one */
    {0, 0, 0, 0, 20, 250},       /* mostly partitions */
  };
  const unsigned *p = prof[sim_below(w, 4)];

  w->p_drop = p[0];
  w->p_dup = p[1];
  w->p_stale = p[2];
  w->p_hold = p[3];
  w->p_delay = p[4];
  w->p_partition = p[5];
  w->faults = 1;
}

static void make_dir(sim *w)
{
  snprintf(w->dir, sizeof(w->dir), "/dev/shm/bt-sim-XXXXXX");
  if (mkdtemp(w->dir) != NULL)
    return;
  snprintf(w->dir, sizeof(w->dir), "/tmp/bt-sim-XXXXXX");
  cr_assert_not_null(mkdtemp(w->dir));
}

static void build_world(sim *w)
{
  crdt_id root;

  party_now_ms = PARTY_T0;
  make_dir(w);
  open_node(w, N_RELAY, NULL, 0);
  OK(w, node_root_create(w->n[N_RELAY].s, &root));
  node_org_info la = {CRDT_ORG_LA, "County Hub", NULL, NULL};
  OK(w, node_org_create(w->n[N_RELAY].s, &la));
  open_node(w, N_A, "Oak Primary", CRDT_ORG_SCHOOL);
  open_node(w, N_B, "Elm Academy", CRDT_ORG_SCHOOL);
  open_node(w, N_MASH, "County MASH", CRDT_ORG_MASH);
  open_node(w, N_LAPTOP, NULL, 0);
  certify(w, N_RELAY, &root);
  certify(w, N_A, &root);
  certify(w, N_B, &root);
  certify(w, N_MASH, &root);
  enrol_laptop(w, &root);
  for (int i = 0; i < N_NODES; i++)
    describe_node(w, i);
  /* Certificates are valid from now: start the clocks an hour later so a
   * clock running slow still finds them valid. */
  w->t0 = w->now = party_now_ms = PARTY_T0 + 60 * MINUTE;
  for (int i = 0; i < N_NODES; i++)
    w->n[i].skew_ms = (int64_t)sim_below(w, 4 * MINUTE + 1) - (int64_t)(2 * MINUTE);
  choose_opts(w);
  choose_faults(w);
  for (int li = 0; li < N_LINKS; li++) {
    w->l[li].end[0] = link_ends[li][0];
    w->l[li].end[1] = link_ends[li][1];
    w->l[li].up = 1;
  }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
  (void)st;
  (void)flag;
  (void)f;
  return remove(p);
}

static void free_world(sim *w)
{
  free(w->held);
  w->held = NULL;
  net_free(w);
  for (int i = 0; i < N_NODES; i++) {
    node_store_close(w->n[i].s);
    free(w->n[i].cert);
    w->n[i].s = NULL;
    w->n[i].cert = NULL;
  }
  if (w->dir[0] != '\0')
    nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  w->dir[0] = '\0';
}

/* ---- authoring -------------------------------------------------------------- */

static int holds(sim *w, int node, int f)
{
  uint64_t count;
  uint8_t sum[32];

  return node_sync_file_state(w->n[node].s, w->f[f].id, &count, sum) == BT_OK;
}

/* A random file that node holds and passes filter, or -1. */
static int pick_file(sim *w, int node, int (*ok)(sim *, int node, int f))
{
  int c[SIM_FILES], n = 0;

  for (size_t f = 0; f < w->nfiles; f++)
    if (ok(w, node, (int)f) && holds(w, node, (int)f))
      c[n++] = (int)f;
  return n ? c[sim_below(w, (uint64_t)n)] : -1;
}

static int own_file(sim *w, int node, int f)
{
  return w->f[f].holder == w->n[node].org;
}

static int granted_file(sim *w, int node, int f)
{
  return w->f[f].granted[w->n[node].org];
}

static void new_file(sim *w)
{
  static const int who[] = {N_A, N_A, N_A, N_B, N_B, N_LAPTOP};
  int node = who[sim_below(w, 6)];
  sim_file *f = &w->f[w->nfiles];
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Amy")}, {CRDT_FS_FAMILY, BT_STR("Bell")},
                        {CRDT_FS_DOB, BT_STR("2016-03-04")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};

  b.u.fields = (crdt_fields){fv, 3};
  snprintf(w->what, sizeof(w->what), "new file %zu at %s", w->nfiles, sim_names[node]);
  *f = (sim_file){.holder = w->n[node].org};
  OK(w, node_file_create_as(w->n[node].s, "dsl.jones", NODE_ROLE_DSL, &b, f->id, NULL));
  snprintf(w->what, sizeof(w->what), "new file %zu (%02x%02x..) at %s", w->nfiles, f->id[0],
           f->id[1], sim_names[node]);
  crypto_generichash_update(&w->trace, f->id, sizeof(f->id));
  w->nfiles++;
  w->res.authored++;
}

/* The grants of file f as node sees them now. */
static void snapshot(sim *w, int node, int f, uint8_t st[N_ORGS])
{
  const crdt_access *a;

  memset(st, ST_NONE, N_ORGS);
  if (node_access(w->n[node].s, w->f[f].id, &a) != BT_OK)
    return;
  for (size_t g = 0; g < a->ngrants; g++)
    for (int o = 0; o < N_ORGS; o++)
      if (crdt_id_cmp(&a->grants[g].g->org, &w->n[org_node[o]].org_pk) == 0)
        st[o] = crdt_acc_grant_live(&a->grants[g], party_now_ms) ? ST_LIVE : ST_REVOKED;
}

/* A chronology entry (or, at a school, sometimes a record of concern by a
 * member of staff) whose text is unique in this run. */
static int write_note(sim *w, int node, int f)
{
  sim_note *nt = &w->notes[w->nnotes];
  crdt_body b = {.known = 1};
  const char *user = "dsl.jones";
  node_role role = NODE_ROLE_DSL;
  int rc;

  if (w->nnotes == SIM_NOTES)
    return BT_ENOMEM;
  *nt = (sim_note){.file = f, .writer = node};
  snprintf(nt->text, sizeof(nt->text), "note %zu by %s", w->nnotes, sim_names[node]);
  snprintf(w->what, sizeof(w->what), "%s writes \"%s\" in file %d", sim_names[node], nt->text, f);
  snapshot(w, node, f, nt->st);
  if (w->n[node].org != ORG_MASH && w->f[f].holder == w->n[node].org && sim_below(w, 4) == 0) {
    b.type = CRDT_OP_CONCERN;
    b.u.concern = (crdt_concern){.written_at = party_now_ms, .author_name = BT_STR("A Teacher"),
                                 .author_role = BT_STR("class teacher"),
                                 .facts = bt_strz(nt->text)};
    user = "staff.ali";
    role = NODE_ROLE_STAFF;
  } else {
    b.type = CRDT_OP_CHRONO;
    b.u.chrono = (crdt_chrono){.event_at = party_now_ms, .category = CRDT_CHR_CONTACT,
                               .summary = bt_strz(nt->text)};
  }
  rc = node_author_as(w->n[node].s, user, role, w->f[f].id, &b, NULL);
  if (rc == BT_OK) {
    w->nnotes++;
    w->res.authored++;
  }
  return rc;
}

static void holder_note(sim *w)
{
  static const int who[] = {N_A, N_A, N_A, N_B, N_B, N_LAPTOP, N_LAPTOP};
  int node = who[sim_below(w, 7)], f = pick_file(w, node, own_file);

  if (f >= 0)
    OK(w, write_note(w, node, f));
}

/* A backlog typed up at once: many chronology entries in one transaction
 * (so files outgrow a message and a reconciliation budget). */
static void bulk_notes(sim *w)
{
  static const int who[] = {N_A, N_B, N_LAPTOP};
  int node = who[sim_below(w, 3)], f = pick_file(w, node, own_file);
  size_t n = 40 + sim_below(w, 360);
  crdt_body *b, **bs;
  char (*text)[48];
  sim_note *nt;

  if (f < 0 || w->nnotes == SIM_NOTES)
    return;
  b = calloc(n, sizeof(*b));
  bs = calloc(n, sizeof(*bs));
  text = calloc(n, sizeof(*text));
  cr_assert(b != NULL && bs != NULL && text != NULL);
  nt = &w->notes[w->nnotes];
  *nt = (sim_note){.file = f, .writer = node};
  snapshot(w, node, f, nt->st);
  for (size_t i = 0; i < n; i++) {
    snprintf(text[i], sizeof(text[i]), "bulk %zu.%zu by %s", w->nnotes, i, sim_names[node]);
    b[i] = (crdt_body){.type = CRDT_OP_CHRONO, .known = 1};
    b[i].u.chrono = (crdt_chrono){.event_at = party_now_ms - i * 60000,
                                  .category = CRDT_CHR_MEETING, .summary = bt_strz(text[i])};
    bs[i] = &b[i];
  }
  memcpy(nt->text, text[n - 1], sizeof(nt->text)); /* the last stands for them all */
  snprintf(w->what, sizeof(w->what), "%s writes %zu entries in file %d", sim_names[node], n, f);
  int rc = node__author_many(w->n[node].s, w->f[f].id, "dsl.jones", bs, n);
  free(b);
  free(bs);
  free(text);
  OK(w, rc);
  w->nnotes++;
  w->res.authored++;
}

static void grantee_note(sim *w)
{
  int node = sim_below(w, 2) ? N_MASH : N_B, f = pick_file(w, node, granted_file), rc;

  if (f < 0)
    return;
  rc = write_note(w, node, f);
  if (rc != BT_OK && rc != BT_EDENIED && rc != BT_EEPOCH)
    sim_fail(w, "grantee write: %s", bt_errname(rc));
  trace_u64(w, (uint64_t)rc, (uint64_t)f);
}

static int may_grant(sim *w, int node, int f)
{
  for (int o = 0; o < N_ORGS; o++)
    if (o != w->n[node].org && o != ORG_LA && !w->f[f].granted[o] &&
        (w->n[node].org == ORG_A || o == ORG_MASH))
      return own_file(w, node, f);
  return 0;
}

static void grant(sim *w)
{
  int node = sim_below(w, 10) < 7 ? N_A : N_B, f = pick_file(w, node, may_grant), o;
  sim_file *sf;
  node_grant_req g;

  if (f < 0)
    return;
  sf = &w->f[f];
  do
    o = node == N_B ? ORG_MASH : sim_below(w, 2) ? ORG_MASH : ORG_B;
  while (sf->granted[o]);
  g = (node_grant_req){.org_cert = w->n[org_node[o]].cert,
                       .org_cert_len = w->n[org_node[o]].cert_len,
                       .purpose = 1 + (uint32_t)sim_below(w, 4),
                       .rights = sim_below(w, 2) ? CRDT_RIGHTS_WRITE : CRDT_RIGHTS_READ,
                       .history = sim_below(w, 2) ? CRDT_HISTORY_ALL : CRDT_HISTORY_FROM_NOW};
  if (sim_below(w, 2)) {
    g.basis = CRDT_BASIS_CONSENT;
    g.consent_by = "mother";
    g.consent_how = "in person at school";
    g.consent_on = 20260105;
  } else {
    g.basis = CRDT_BASIS_HARM;
    g.reason = "risk of significant harm; consent would put the child at risk";
  }
  snprintf(w->what, sizeof(w->what), "%s grants file %d to %s (%s, %s)", sim_names[node], f,
           sim_names[org_node[o]], g.rights == CRDT_RIGHTS_WRITE ? "write" : "read",
           g.history == CRDT_HISTORY_ALL ? "all history" : "from now");
  OK(w, node_grant_as(w->n[node].s, "dsl.jones", NODE_ROLE_DSL, sf->id, &g, &sf->grant[o]));
  sf->granted[o] = 1;
  sf->history[o] = g.history;
  crypto_generichash_update(&w->trace, sf->grant[o].b, sizeof(sf->grant[o].b));
  w->res.authored++;
}

static void revoke(sim *w)
{
  int c[SIM_FILES * N_ORGS], n = 0;

  for (size_t f = 0; f < w->nfiles; f++)
    for (int o = 0; o < N_ORGS; o++)
      if (w->f[f].granted[o] && !w->f[f].revoked[o])
        c[n++] = (int)f * N_ORGS + o;
  if (n == 0)
    return;
  int k = c[sim_below(w, (uint64_t)n)], f = k / N_ORGS, o = k % N_ORGS;
  int node = org_node[w->f[f].holder];
  snprintf(w->what, sizeof(w->what), "%s revokes %s's grant of file %d", sim_names[node],
           sim_names[org_node[o]], f);
  OK(w, node_revoke_as(w->n[node].s, "dsl.jones", NODE_ROLE_DSL, w->f[f].id, &w->f[f].grant[o],
                       "consent withdrawn"));
  w->f[f].revoked[o] = 1;
  w->res.authored++;
}

void sim_author(sim *w)
{
  unsigned r = (unsigned)sim_below(w, 100);
  size_t before[N_NODES];

  for (int i = 0; i < N_NODES; i++)
    before[i] = sim_count(w, i);
  if (w->nfiles == 0 || (r < 8 && w->nfiles < SIM_FILES))
    new_file(w);
  else if (r < 11)
    bulk_notes(w);
  else if (r < 62)
    holder_note(w);
  else if (r < 76)
    grantee_note(w);
  else if (r < 93)
    grant(w);
  else
    revoke(w);
  if (w->cfg.trace)
    printf("sim: step %" PRIu64 " t=+%" PRIu64 " %s\n", w->step, w->now - w->t0, w->what);
  for (int i = 0; i < N_NODES; i++)
    if (sim_count(w, i) != before[i]) {
      trace_u64(w, (uint64_t)i, sim_count(w, i));
      net_kick(w, i, -1);
    }
}

/* ---- the run ------------------------------------------------------------------ */

static void schedule(sim *w, int kind, int link, uint64_t dt)
{
  sim_ev ev = {.t = w->now + dt, .kind = kind, .link = link};

  net_push(w, &ev);
}

/* Processes events due by until. While healing, only messages matter. */
static void loop(sim *w, uint64_t until, int healing, unsigned *authors)
{
  sim_ev ev;

  while (net_pop(w, until, &ev)) {
    w->now = party_now_ms = ev.t;
    w->step++;
    if (healing && ev.kind != EV_MSG && ev.kind != EV_OPEN) {
      free(ev.m);
      continue;
    }
    w->held = ev.m; /* freed by net_event, or by sim_abandon after a failure */
    w->res.steps++;
    if (ev.kind != EV_AUTHOR) {
      if (ev.kind != EV_MSG) {
        static const char *const kinds[] = {"", "", "timeout", "open", "tick", "",
                                            "partition", "link up"};
        snprintf(w->what, sizeof(w->what), "%s on link %s-%s", kinds[ev.kind],
                 sim_names[w->l[ev.link].end[0]], sim_names[w->l[ev.link].end[1]]);
        if (w->cfg.trace)
          printf("sim: step %" PRIu64 " t=+%" PRIu64 " %s\n", w->step, w->now - w->t0, w->what);
      }
      net_event(w, &ev);
      w->held = NULL;
      continue;
    }
    sim_author(w);
    if (w->faults && sim_below(w, 1000) < w->p_partition)
      schedule(w, EV_PARTITION, (int)sim_below(w, N_LINKS), sim_below(w, 5 * MINUTE));
    if (w->faults && sim_below(w, 6) == 0) /* a home visit: the laptop goes offline */
      schedule(w, EV_PARTITION, L_LAPTOP_A, sim_below(w, MINUTE));
    if (--*authors > 0)
      schedule(w, EV_AUTHOR, 0, 10000 + sim_below(w, 6 * MINUTE));
  }
  if (until != UINT64_MAX && w->now < until)
    w->now = party_now_ms = until;
}

static void counts(sim *w, size_t c[N_NODES][2])
{
  for (int i = 0; i < N_NODES; i++)
    OK(w, node_store_counts(w->n[i].s, &c[i][0], &c[i][1]));
}

static uint64_t ops_sent(sim *w)
{
  uint64_t n = w->tot.ops_sent;
  node_sync_stats st;

  for (int li = 0; li < N_LINKS; li++)
    for (int e = 0; e < 2 && w->l[li].open; e++) {
      node_sync_get_stats(w->l[li].x[e], &st);
      n += st.ops_sent;
    }
  return n;
}

/* Faults off, every link up: rounds of one run per link until a whole
 * round changes no store. */
static void heal(sim *w)
{
  size_t c0[N_NODES][2], c1[N_NODES][2];

  w->faults = 0;
  for (int li = 0; li < N_LINKS; li++) {
    net_close(w, li);
    w->l[li].up = 1;
  }
  net_clear(w);
  snprintf(w->what, sizeof(w->what), "healing");
  for (uint64_t r = 0;; r++) {
    uint64_t sent = ops_sent(w);
    if (r == MAX_ROUNDS)
      sim_fail(w, "no quiescence after %d rounds of runs over every link", MAX_ROUNDS);
    counts(w, c0);
    for (int li = 0; li < N_LINKS; li++) {
      snprintf(w->what, sizeof(w->what), "healing round %" PRIu64 ", link %s-%s", r,
               sim_names[w->l[li].end[0]], sim_names[w->l[li].end[1]]);
      if (!w->l[li].open)
        net_open(w, li); /* starts a run */
      else if (!node_sync_running(w->l[li].x[w->l[li].init]))
        net_start(w, li);
      loop(w, UINT64_MAX, 1, NULL);
      for (int l2 = 0; l2 < N_LINKS; l2++)
        if (!net_idle(w, l2))
          sim_fail(w, "a run on link %s-%s never ended, with no faults and nothing in flight",
                   sim_names[w->l[l2].end[0]], sim_names[w->l[l2].end[1]]);
    }
    counts(w, c1);
    if (w->cfg.trace)
      printf("sim: heal round %" PRIu64 ": %" PRIu64 " ops sent, %s\n", r, ops_sent(w) - sent,
             memcmp(c0, c1, sizeof(c0)) == 0 ? "no store changed" : "stores changed");
    if (memcmp(c0, c1, sizeof(c0)) == 0) {
      w->res.rounds = r + 1;
      w->res.quiet_ops_sent = ops_sent(w) - sent;
      break;
    }
  }
  snprintf(w->what, sizeof(w->what), "after healing");
}

void sim_run(const sim_cfg *cfg, sim_result *out)
{
  sim *w = calloc(1, sizeof(*w));
  unsigned authors;

  cr_assert_not_null(w);
  w->cfg = *cfg;
  w->rng = cfg->seed;
  cur = w;
  snprintf(w->what, sizeof(w->what), "setting up");
  sim_rng_seed(cfg->seed);
  crypto_generichash_init(&w->trace, NULL, 0, sizeof(w->res.trace));
  build_world(w);
  authors = 40 + (unsigned)sim_below(w, 80);
  for (int li = 0; li < N_LINKS; li++)
    schedule(w, EV_OPEN, li, sim_below(w, 10000));
  if (sim_below(w, 2))
    schedule(w, EV_PARTITION, L_LAPTOP_A, 0); /* the laptop starts offline */
  schedule(w, EV_AUTHOR, 0, 5000);
  while (authors > 0)
    loop(w, w->now + MINUTE, 0, &authors);
  loop(w, w->now + 10 * MINUTE, 0, &authors);
  heal(w);
  sim_check(w);
  for (int li = 0; li < N_LINKS; li++)
    net_close(w, li);
  w->res.runs = w->tot.runs;
  if (w->tot.ops_rejected != 0)
    sim_fail(w, "%" PRIu64 " ops from honest peers were rejected", w->tot.ops_rejected);
  crypto_generichash_final(&w->trace, w->res.trace, sizeof(w->res.trace));
  *out = w->res;
  free_world(w);
  cur = NULL;
  free(w);
}

void sim_abandon(void)
{
  sim *w = cur;

  if (w == NULL)
    return;
  if (w->cfg.test != NULL)
    replay_line(w, "failed", "a fixture assertion (see above)");
  free_world(w);
  cur = NULL;
  free(w);
}
