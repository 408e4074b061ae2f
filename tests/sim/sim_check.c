/* tests/sim/sim_check.c: what must hold after a run (sim_check_run: the
 * files in scope on both sides agree), and once the network has healed:
 *
 *   - Convergence: nodes that should share a file hold the same op set
 *     (node_sync_file_state: count and id sum): A and its laptop every
 *     file of A's org; a grantee whose grant is live, the holder's; the
 *     relay, every file shared with another org. Same-org readers
 *     materialise byte-identical files (crdt_casefile_digest).
 *   - Scope: an org never given a file does not hold it; the relay holds
 *     only shared files.
 *   - Relay blindness: the relay reads nothing and holds no epoch key.
 *   - Visibility, from what each writer saw when it wrote: the writer and
 *     the holding org show every note; an org whose grant the writer saw
 *     live (or, with "all history", any org still granted) shows it; an
 *     org whose grant the writer saw revoked does not.
 *   - Nothing waits in a causal buffer. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/parties.h"
#include "node/scope.h"
#include "node/share.h"
#include "sim/sim_int.h"

static const int org_node[N_ORGS] = {N_A, N_B, N_RELAY, N_MASH};

typedef struct {
  int have;
  uint64_t count;
  uint8_t sum[32];
} fstate;

static int shared(const sim_file *f)
{
  for (int o = 0; o < N_ORGS; o++)
    if (f->granted[o])
      return 1;
  return 0;
}

static int live(const sim_file *f, int o)
{
  return f->granted[o] && !f->revoked[o];
}

/* After a run that nothing else disturbed: the files in scope on both
 * sides (each judges from what it holds: node/scope.h) agree. */
void sim_check_run(sim *w, int a, int b)
{
  for (size_t f = 0; f < w->nfiles; f++) {
    uint64_t ca = 0, cb = 0;
    uint8_t sa[32] = {0}, sb[32] = {0};
    if (node_scope_has(w->n[a].s, &w->n[b].as_peer, &w->n[a].opts, party_now_ms,
                       w->f[f].id) != 1 ||
        node_scope_has(w->n[b].s, &w->n[a].as_peer, &w->n[b].opts, party_now_ms,
                       w->f[f].id) != 1)
      continue;
    node_sync_file_state(w->n[a].s, w->f[f].id, &ca, sa);
    node_sync_file_state(w->n[b].s, w->f[f].id, &cb, sb);
    if (ca != cb || memcmp(sa, sb, 32) != 0)
      sim_fail(w, "a run between %s and %s ended with file %zu still differing: %" PRIu64
                  " ops against %" PRIu64, sim_names[a], sim_names[b], f, ca, cb);
  }
}

static int shows(sim *w, int node, int f, const char *text)
{
  const crdt_casefile *cf;
  bt_str t = bt_strz(text);
  int rc;

  if ((rc = node_casefile(w->n[node].s, w->f[f].id, &cf)) != BT_OK)
    sim_fail(w, "node_casefile at %s, file %d: %s", sim_names[node], f, bt_errname(rc));
  for (size_t e = 0; e < cf->nentries; e++) {
    const crdt_body *b = cf->entries[e].body;
    if ((b->type == CRDT_OP_CHRONO && bt_str_eq(b->u.chrono.summary, t)) ||
        (b->type == CRDT_OP_CONCERN && bt_str_eq(b->u.concern.facts, t)))
      return 1;
  }
  return 0;
}

static void digest(sim *w, int node, int f, uint8_t out[32])
{
  const crdt_casefile *cf;
  int rc;

  if ((rc = node_casefile(w->n[node].s, w->f[f].id, &cf)) != BT_OK ||
      (rc = crdt_casefile_digest(cf, out)) != BT_OK)
    sim_fail(w, "materialising file %d at %s: %s", f, sim_names[node], bt_errname(rc));
}

/* The relay reads none of file f and holds no key for any of its epochs. */
static void check_blind(sim *w, int f)
{
  node_store *s = w->n[N_RELAY].s;
  const crdt_casefile *cf;
  crdt_id *ids;
  size_t n;

  if (node_casefile(s, w->f[f].id, &cf) == BT_OK && cf->nentries != 0)
    sim_fail(w, "the relay reads %zu entries of file %d", cf->nentries, f);
  ids = sim_file_ops(w, N_RELAY, f, &n);
  for (size_t i = 0; i < n; i++) {
    crdt_op *op;
    node_secret *k = NULL;
    int rc = node_op_get(s, &ids[i], &op);
    if (rc == BT_OK) {
      rc = node_file_key(s, w->f[f].id, op->h.epoch, &k) == BT_OK ? BT_EDUP : BT_OK;
      crdt_op_free(op);
      node_secret_free(k);
    }
    if (rc != BT_OK) {
      free(ids);
      sim_fail(w, "file %d: %s", f,
               rc == BT_EDUP ? "the relay holds a key for it" : "an op listed but not held");
    }
  }
  free(ids);
}

/* The holder's access state agrees with the grants and revokes made. */
static void check_access(sim *w, int f)
{
  const sim_file *sf = &w->f[f];
  const crdt_access *a;
  int seen[N_ORGS] = {0};

  if (node_access(w->n[org_node[sf->holder]].s, sf->id, &a) != BT_OK)
    sim_fail(w, "node_access at the holder of file %d", f);
  for (size_t g = 0; g < a->ngrants; g++)
    for (int o = 0; o < N_ORGS; o++)
      if (crdt_id_cmp(&a->grants[g].g->org, &w->n[org_node[o]].org_pk) == 0) {
        seen[o] = 1;
        if (crdt_acc_grant_live(&a->grants[g], party_now_ms) != live(sf, o))
          sim_fail(w, "file %d: %s's grant is %s at its holder", f, sim_names[org_node[o]],
                   live(sf, o) ? "not live" : "still live");
      }
  for (int o = 0; o < N_ORGS; o++)
    if (seen[o] != sf->granted[o])
      sim_fail(w, "file %d: the holder %s a grant to %s", f, seen[o] ? "shows" : "lacks",
               sim_names[org_node[o]]);
}

static void check_file(sim *w, int f)
{
  const sim_file *sf = &w->f[f];
  int h = org_node[sf->holder];
  fstate st[N_NODES];

  for (int i = 0; i < N_NODES; i++)
    st[i].have = node_sync_file_state(w->n[i].s, sf->id, &st[i].count, st[i].sum) == BT_OK;
  if (!st[h].have)
    sim_fail(w, "%s does not hold its own file %d", sim_names[h], f);
  for (int i = 0; i < N_NODES; i++) {
    int o = w->n[i].org;
    int should = o == sf->holder || (i == N_RELAY ? shared(sf) : live(sf, o));
    int may = should || (i != N_RELAY && sf->granted[o]);
    if (should && !st[i].have)
      sim_fail(w, "%s lacks file %d (%s holds %" PRIu64 " ops)", sim_names[i], f, sim_names[h],
               st[h].count);
    if (should && (st[i].count != st[h].count || memcmp(st[i].sum, st[h].sum, 32) != 0))
      sim_fail(w, "%s and %s differ on file %d: %" PRIu64 " ops against %" PRIu64, sim_names[i],
               sim_names[h], f, st[i].count, st[h].count);
    if (!may && st[i].have)
      sim_fail(w, "%s holds file %d, never shared with it", sim_names[i], f);
  }
  if (sf->holder == ORG_A) {
    uint8_t da[32], dl[32];
    digest(w, N_A, f, da);
    digest(w, N_LAPTOP, f, dl);
    if (memcmp(da, dl, 32) != 0)
      sim_fail(w, "A and its laptop materialise file %d differently", f);
  }
  if (st[N_RELAY].have)
    check_blind(w, f);
  check_access(w, f);
}

static void check_note(sim *w, const sim_note *nt)
{
  const sim_file *sf = &w->f[nt->file];
  uint64_t c;
  uint8_t sum[32];

  for (int i = 0; i < N_NODES; i++) {
    int o = w->n[i].org;
    if (i == N_RELAY || node_sync_file_state(w->n[i].s, sf->id, &c, sum) != BT_OK)
      continue;
    int want = i == nt->writer || o == sf->holder || (nt->st[o] == ST_LIVE && live(sf, o)) ||
               (nt->st[o] == ST_NONE && live(sf, o) && sf->history[o] == CRDT_HISTORY_ALL);
    int banned = nt->st[o] == ST_REVOKED;
    int has = shows(w, i, nt->file, nt->text);
    if (want && !has)
      sim_fail(w, "%s does not show \"%s\" (file %d)", sim_names[i], nt->text, nt->file);
    if (banned && has)
      sim_fail(w, "%s shows \"%s\", written after its grant of file %d was revoked",
               sim_names[i], nt->text, nt->file);
  }
}

void sim_check(sim *w)
{
  size_t ops, buffered;

  for (int i = 0; i < N_NODES; i++) {
    if (node_store_counts(w->n[i].s, &ops, &buffered) != BT_OK)
      sim_fail(w, "node_store_counts at %s", sim_names[i]);
    if (buffered != 0)
      sim_fail(w, "%zu ops still wait for their parents at %s", buffered, sim_names[i]);
  }
  for (size_t f = 0; f < w->nfiles; f++)
    check_file(w, (int)f);
  for (size_t k = 0; k < w->nnotes; k++)
    check_note(w, &w->notes[k]);
}
