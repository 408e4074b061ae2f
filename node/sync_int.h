/* node/sync_int.h: what the files of the sync session share (node/sync.h
 * is the API): the run's state and the helpers each part uses. Not an API.
 *
 *   sync.c       life, runs, composing and taking messages
 *   sync_map.c   the run's per-file map and send queue
 *   sync_mem.c   the state remembered per peer (DB_PEERS), the digest
 *   sync_in.c    what a message brings: envelopes, sections, claims */
#ifndef BT_NODE_SYNC_INT_H
#define BT_NODE_SYNC_INT_H

#include "node/scope.h"
#include "node/store_int.h"
#include "node/sync.h"
#include "proto/recon.h"
#include "proto/sync.h"

#define VV_MAX 256          /* authors remembered per file; more: no fast path for it */
#define ASKS_MAX 8          /* want lists per file per run */
#define RECON_ROUNDS 4096   /* per file: a first sync of a large file lists many ids */
#define FRECON_ROUNDS 1024
#define FRECON_THRESHOLD 8  /* list a range of files once it holds this few: few differ */
#define RECON_ACTIVE_MAX 1024 /* op reconciliations under way at once */
#define MEM_TAG 'M'         /* DB_PEERS: M | device | file -> agreed state */
#define OUT_TAG 'O'         /* DB_PEERS: O | device | file -> state when it was out */


/* ---- per-file state of a run --------------------------------------------------- */

typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint8_t used;
  uint8_t scope;      /* offered to the peer (scope at run start, or taken new) */
  uint8_t out;        /* out of this run: either side said OUT */
  uint8_t out_owed;   /* an OUT notice to send */
  uint8_t claimed;    /* a FAST claim from the peer waits for the check */
  uint8_t fast_sent;  /* we sent a FAST claim (skip checking the peer's) */
  uint8_t touched;    /* ops of it arrived this run */
  uint8_t asks;       /* want lists we sent */
  uint8_t wants;      /* want lists the peer sent */
  uint8_t to_recon;   /* queued to start an op reconciliation */
  uint8_t probed;     /* new here: an envelope of it probed this run */
  uint8_t named_new;  /* the peer named it, we hold none of it (yet) */
  uint8_t taken;      /* we took it new from the peer this run */
  uint8_t take_only;  /* a copy we carry without keys: its ops are taken
                         from this peer, none of ours offered to it */
  uint8_t quiet;      /* remembered as refused at this state: not offered,
                         but taken if the peer brings it up */
  uint8_t vv_owed;    /* a VV section to send */
  uint8_t vvs_in;     /* VV sections the peer sent for it this run */
  uint8_t vv_begun;   /* a VV exchange for it began this run (either side) */
  uint8_t out_told;   /* we sent OUT for it */
  uint32_t judged;    /* 1 + the message index its scope was last confirmed at */
  uint8_t vv_lead;    /* we sent the first VV: we claim once the peer's comes */
  uint64_t claim_count;
  uint8_t claim_sum[32];
  proto_recon *rc;    /* op reconciliation, while under way */
  proto_recon_item *items;
  uint8_t *rc_out;    /* its next message to send */
  size_t rc_len;
} sfile;

/* A send queue item: an op, or the FAST claim that follows a file's ops. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint8_t claim;
  crdt_id id;
} qitem;

/* Remembered state of one file with this peer. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  uint64_t count;
  uint8_t sum[32];
  node_vv *vv;       /* NULL when not kept */
  size_t nv;
} mem;

struct node_sync {
  node_store *s;
  node_sync_peer peer;
  node_sync_opts o;
  crdt_id *relay;
  int initiator;
  node_sync_stats st;

  /* the run */
  int running, want_run, fast, fallback_owed, peer_idle, idle_sent;
  int ignore_claims;        /* the fast start we declined: its claims are moot */
  uint32_t run, n;          /* run number, index of the next message */
  uint32_t new_files;
  size_t extra;             /* files in the map the peer named, out of our scope */
  uint64_t now;
  node_scope_file *scope;   /* ascending by file */
  size_t nscope;
  sfile *map;               /* open addressing; capacity a power of two */
  size_t mapcap, mapused;
  size_t active;            /* op reconciliations under way */
  qitem *q;
  size_t qhead, qlen, qcap;
  proto_recon *fr;          /* file-level reconciliation */
  proto_recon_item *fitems;
  uint8_t *fr_out;
  size_t fr_len;
  int fr_done;
  mem *mem;                 /* remembered, ascending by file */
  size_t nmem;

  uint8_t *scratch;         /* NODE_SYNC_RECON_BUDGET: what a reconciliation writes */
  proto_sync_msg pend;      /* envelopes of a bulk message, ingested by node_sync_work */
  uint8_t *pend_buf;
  uint8_t *out;             /* the last message composed */
  size_t outlen;
  uint8_t nudge[2];
};


/* sync_map.c */
/* The run's entry for a file; with create, made when absent (NULL: out of
 * memory, or absent without create). Pointers die when the map grows. */
sfile *node__sf(node_sync *x, const uint8_t *file, int create);
void node__sf_recon_free(node_sync *x, sfile *f);
int node__q_push(node_sync *x, const uint8_t *file, const crdt_id *id, int claim);
/* Queues ops of a file, reordered parents first (node__causal_order). */
int node__q_ids(node_sync *x, const uint8_t *file, crdt_id *ids, size_t n);
/* Every stored op of a file. */
int node__q_whole(node_sync *x, const uint8_t *file);

/* sync_mem.c */
void node__mem_free(node_sync *x);
int node__mem_load(node_sync *x);
int node__mem_save(node_sync *x);
void node__mem_digest(const node_sync *x, uint8_t out[PROTO_SYNC_DIGEST_LEN]);
const mem *node__mem_find(const node_sync *x, const uint8_t *file);
int node__was_out(node_sync *x, MDB_txn *t, const node_scope_file *f);

/* sync_in.c */
int node__take_envs(node_sync *x, const proto_sync_msg *m);
int node__frecon_recv(node_sync *x, bt_bytes b);
int node__section(node_sync *x, const proto_sync_section *s);
int node__check_claims(node_sync *x);
void node__differs(node_sync *x, sfile *f);
int node__recon_open(node_sync *x, sfile *f, int initiator);
int node__recon_keep(node_sync *x, sfile *f, size_t len);
int node__recon_start(node_sync *x, sfile *f);

/* sync.c */
void node__run_clear(node_sync *x);
void node__pend_clear(node_sync *x);
size_t node__frecon_budget(const node_sync *x);
int node__frecon_items(node_sync *x);

#endif
