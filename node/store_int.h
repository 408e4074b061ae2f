/* node/store_int.h: what store.c, ingest.c and view.c share. Not an API. */
#ifndef BT_NODE_STORE_INT_H
#define BT_NODE_STORE_INT_H

#include <lmdb.h>

#include "crdt/dag.h"
#include "crdt/hlc.h"
#include "node/store.h"

/* Named databases. Key layouts in docs/store.md. */
enum {
  DB_META, DB_OPS, DB_FILEOPS, DB_HEADS, DB_SEQ, DB_FPB, DB_FILES, DB_EPOCHS,
  DB_BUFFER, DB_WAITING, DB_MISSING, DB_EQUIV, DB_KEYRING, DB_GRANTS,
  DB_TRANSFERS, DB_USERS, DB_AUDIT, DB_BLOBS, DB_PEERS, DB_COUNT
};

/* Fingerprint buckets (DB_FPB) cover this many hours of a file's ops. */
#define NODE_BUCKET_HOURS 24

/* A file record (DB_FILES value), fixed little-endian layout:
 * version(1) | current epoch(16) | ops count(8) | id sum(32). */
#define FILEREC_LEN (1 + CRDT_EPOCH_LEN + 8 + 32)
typedef struct {
  uint8_t epoch[CRDT_EPOCH_LEN];
  uint64_t count;
  uint8_t sum[32];
} filerec;

typedef struct cached cached; /* a materialised file, view.c */

struct node_store {
  MDB_env *env;
  MDB_dbi db[DB_COUNT];
  node_secret *dek;      /* data key: wraps every other secret */
  node_secret *device;   /* Ed25519 secret key */
  uint8_t device_pk[CRDT_PK_LEN];
  crdt_hlc hlc;
  unsigned threads;
  uint64_t (*clock_ms)(void *);
  void *clock_ctx;
  cached *cache;         /* list of materialised files */
  node_kdf_level kdf;    /* strength for new passphrase hashes (staff users) */
};

int node__err(int mdb_rc);  /* LMDB code -> bt_err */
/* mdb_txn_begin that adopts a map grown by another process. bt_err. */
int node__txn(node_store *s, unsigned flags, MDB_txn **t);
/* Ends a write transaction: commits when rc is BT_OK, else aborts and
 * passes rc on. Returns the outcome. */
int node__txn_end(MDB_txn *t, int rc);
/* Seals b as this device's next op in file and stores it, inside t. */
int node__author_txn(node_store *s, MDB_txn *t, const uint8_t *file, crdt_body *b,
                     crdt_id *id);
void node__filerec_pack(const filerec *r, uint8_t out[FILEREC_LEN]);
int node__filerec_get(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                      filerec *r);
int node__filerec_put(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                      const filerec *r);
/* The unwrapped epoch key, or BT_ENOTFOUND (relay) / BT_EEPOCH (unknown). */
int node__epoch_key(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                    const uint8_t epoch[CRDT_EPOCH_LEN], node_secret **out);
uint64_t node__now_ms(node_store *s);
/* Little-endian u64 in stored values. */
void node__put_le64(uint8_t *p, uint64_t v);
uint64_t node__get_le64(const uint8_t *p);
/* Adds an id to a 256-bit little-endian sum. */
void node__sum_add(uint8_t sum[32], const crdt_id *id);
/* Drops the cached materialisation of a file (all files when file NULL). */
void node__cache_drop(node_store *s, const uint8_t *file);
void node__cache_free(node_store *s);

/* Stores already-verified ops inside t, as node_ingest's second phase. */
int node__ingest_txn(node_store *s, MDB_txn *t, crdt_op **ops, size_t n,
                     node_ingest_result *res, node_ingest_stats *st);

#endif
