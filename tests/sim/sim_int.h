/* tests/sim/sim_int.h: the simulation's state, shared by sim.c (the world:
 * nodes, authoring, the final checks) and sim_net.c (the virtual network
 * and its scheduler). */
#ifndef BT_TESTS_SIM_INT_H
#define BT_TESTS_SIM_INT_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"
#include "node/store.h"
#include "node/sync.h"
#include "sim/sim.h"

/* Nodes, and the orgs they belong to (the laptop is a device of A's). */
enum { N_A, N_B, N_RELAY, N_MASH, N_LAPTOP, N_NODES };
enum { ORG_A, ORG_B, ORG_LA, ORG_MASH, N_ORGS };

/* Links; B never talks to A. */
enum { L_LAPTOP_A, L_A_RELAY, L_B_RELAY, L_MASH_RELAY, L_MASH_A, N_LINKS };

#define SIM_FILES 12
#define SIM_NOTES 512
#define SIM_STALE 3 /* delivered messages kept per direction for replays */

typedef struct {
  char dir[96];
  node_store *s;
  int org;
  uint8_t *cert;        /* its org's certificate (the laptop: A's); malloc'd */
  size_t cert_len;
  crdt_id org_pk;
  node_sync_peer as_peer; /* how its peers see it */
  node_sync_opts opts;
  crdt_id relay_orgs[N_ORGS];
  int64_t skew_ms;      /* its clock against the virtual one */
} sim_node;

typedef struct {
  uint8_t *m;
  size_t len;
  uint64_t mid;         /* the message it copies */
  uint32_t sseq;
} sim_buf;

typedef struct {
  int end[2];           /* node at each end; end[0] dials by default */
  int up;               /* not partitioned */
  int open;             /* a connection is up */
  uint32_t gen;         /* connection number: older messages are dropped */
  int init;             /* which end dialled (the initiator) */
  node_sync *x[2];      /* the sessions at end[0], end[1] */
  size_t seen[2];       /* op count of the end's store at its last run end */
  size_t nudged[2];     /* op count when this end last nudged */
  int dirty[2];         /* news came during a run: kick again at its end */
  size_t start[2];      /* op counts of both ends when the run began */
  uint64_t fifo[2];     /* latest delivery time per direction (from end d) */
  uint32_t sseq[2], rseq[2]; /* SYNC messages sent / next expected, per dir */
  sim_buf stale[2][SIM_STALE];
} sim_link;

enum { EV_MSG = 1, EV_TIMEOUT, EV_OPEN, EV_TICK, EV_AUTHOR, EV_PARTITION, EV_LINKUP };

typedef struct {
  uint64_t t, seq;
  int kind;
  int link;
  uint32_t gen;
  int dir;              /* EV_MSG: sent from end[dir] */
  uint8_t *m;           /* EV_MSG: owned by the event */
  size_t len;
  uint64_t mid;         /* EV_MSG: copies share it */
  uint32_t sseq;        /* EV_MSG: SYNC sequence in its direction, or 0 */
  int stale;            /* EV_MSG: a copy of an older message */
} sim_ev;

typedef struct {
  uint8_t id[CRDT_FILE_LEN];
  int holder;           /* holding org */
  int granted[N_ORGS];  /* a grant was made (never twice) */
  int revoked[N_ORGS];
  crdt_id grant[N_ORGS];
  uint32_t history[N_ORGS];
} sim_file;

enum { ST_NONE, ST_LIVE, ST_REVOKED };

typedef struct {
  int file, writer;
  char text[48];
  uint8_t st[N_ORGS];   /* grants as the writer saw them when it wrote */
} sim_note;

typedef struct {
  sim_cfg cfg;
  uint64_t rng;         /* splitmix64 state: the scheduler's and authoring's */
  char dir[64];
  sim_node n[N_NODES];
  sim_link l[N_LINKS];
  sim_file f[SIM_FILES];
  size_t nfiles;
  sim_note notes[SIM_NOTES];
  size_t nnotes;
  /* scheduler */
  sim_ev *q;
  size_t nq, capq;
  uint64_t seq, mid, now, t0;
  uint8_t *delivered;   /* by mid */
  uint8_t *held;        /* the message being delivered (owned by its event) */
  size_t capd;
  int faults;           /* 0 once healing starts */
  unsigned p_drop, p_dup, p_stale, p_hold, p_delay; /* per mille */
  unsigned p_partition; /* partitions per authoring step, per mille */
  uint64_t step;
  char what[160];       /* the event being processed, for failures */
  crypto_generichash_state trace;
  sim_result res;
  node_sync_stats tot;  /* sessions closed so far */
} sim;

/* sim.c */
uint64_t sim_u64(sim *w);
uint64_t sim_below(sim *w, uint64_t n);
void sim_fail(sim *w, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
size_t sim_count(sim *w, int node);
/* The ids of the ops of file f node holds (malloc'd), or NULL. */
crdt_id *sim_file_ops(sim *w, int node, int f, size_t *n);
void sim_author(sim *w);

/* sim_check.c: the properties that must hold once healed */
void sim_check(sim *w);
void sim_check_run(sim *w, int a, int b);

extern const char *const sim_names[N_NODES];

/* sim_net.c */
void net_push(sim *w, const sim_ev *ev);
int net_pop(sim *w, uint64_t until, sim_ev *out);
void net_open(sim *w, int link);
void net_close(sim *w, int link);
void net_event(sim *w, sim_ev *ev);
void net_kick(sim *w, int node, int except);
void net_clear(sim *w);
void net_free(sim *w);
int net_start(sim *w, int link);
int net_idle(sim *w, int link);

#endif
