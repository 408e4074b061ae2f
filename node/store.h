/* node/store.h: a node's data directory: the LMDB op store, its indexes,
 * the sealed keys, and the ingest path every op goes through.
 *
 * One LMDB environment per data directory, named databases as DESIGN.md
 * "Storage and secrets" lists (docs/store.md has the key layouts). Ops are
 * stored as received: ciphertext. Secrets are stored wrapped under a data
 * key, itself wrapped under the node master key (from a passphrase through
 * Argon2id, or a key file), so changing the passphrase rewraps one record.
 *
 * Threads: a node_store is used by one thread at a time; other processes
 * (the CLI beside a running batond) may open the same directory at once,
 * LMDB serialises their writes. Every function returns 0 or a bt_err. */
#ifndef BT_NODE_STORE_H
#define BT_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/body.h"
#include "crdt/casefile.h"
#include "crdt/op.h"
#include "crdt/types.h"
#include "node/secret.h"

#define NODE_STORE_VERSION 1
#define NODE_MAP_SIZE_DEFAULT ((size_t)4 << 30) /* sparse: disk is used as needed */

typedef struct node_store node_store;

typedef struct {
  const char *dir;        /* NULL: $XDG_DATA_HOME/baton, else ~/.local/share/baton */
  size_t map_size;        /* 0: NODE_MAP_SIZE_DEFAULT */
  const char *passphrase; /* exactly one of passphrase and key_file */
  size_t passphrase_len;
  const char *key_file;
  int create;             /* make the store if the directory holds none */
  node_kdf_level kdf;     /* for a new store */
  unsigned threads;       /* signature checks in parallel: 0 = one per core */
  /* Wall clock in Unix ms for the HLC; NULL = the system clock. */
  uint64_t (*clock_ms)(void *ctx);
  void *clock_ctx;
} node_store_opts;

/* Opens (or with o->create, creates) the store. Errors: BT_EPASS (wrong
 * passphrase or key file: nothing is written), BT_EKEYFILE, BT_ECORRUPT
 * (not a Baton store, truncated or damaged), BT_EVERSION (made by a newer
 * Baton), BT_EREADONLY, BT_ENOTFOUND (no store and !create), negative errno. */
int node_store_open(node_store **out, const node_store_opts *o);
void node_store_close(node_store *s); /* NULL is a no-op */

/* Writes the default data directory into buf. BT_ETOOBIG, BT_ENOTFOUND
 * (neither XDG_DATA_HOME nor HOME is set). */
int node_store_default_dir(char *buf, size_t len);

/* Rewraps the data key under a new passphrase (or key file): one record
 * changes, ops and keys do not. */
int node_store_rekey(node_store *s, const char *passphrase, size_t len, const char *key_file);

/* This node's device signing key (public half). */
void node_store_device(const node_store *s, uint8_t pk[CRDT_PK_LEN]);

/* ---- case files --------------------------------------------------------- */

/* Creates a file: a random file id and first epoch with a fresh key, then
 * authors b (a CRDT_OP_FILE_CREATE body; its hlc is set here). */
int node_file_create(node_store *s, crdt_body *b, uint8_t file[CRDT_FILE_LEN], crdt_id *op);

/* Makes a file known to this node: with key, a reader of that epoch; with
 * key NULL, a carrier of its ciphertext (a relay). Grants (issue 4) will
 * call this; tests use it to share a file between stores. */
int node_file_track(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                    const uint8_t epoch[CRDT_EPOCH_LEN], const uint8_t *key);

/* The file's current epoch (the one new ops use). BT_ENOFILE. */
int node_file_epoch(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                    uint8_t epoch[CRDT_EPOCH_LEN]);

/* Hands out a file's epoch key (wrapped for nobody: for tests and, later,
 * grant ops). The caller frees *out. BT_ENOFILE, BT_ENOTFOUND (relay). */
int node_file_key(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                  const uint8_t epoch[CRDT_EPOCH_LEN], node_secret **out);

/* Authors b in file: author = this device, seq = its next, parents = the
 * file's heads, hlc = now, epoch = the current one by the access rules
 * (crdt/access.h); sealed, then stored through the same ingest path as
 * received ops, in one transaction with what the rules need first (a
 * member op for a device new to the file, a merge of concurrent epochs,
 * revokes of expired grants). BT_EDENIED when this org may not write the
 * file, BT_EEPOCH when this node holds no key for it, BT_EINVAL for the
 * access and directory types (node/share.h and node/dir.h author those). */
int node_author(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_body *b, crdt_id *id);

/* ---- ingest --------------------------------------------------------------- */

typedef enum {
  NODE_STORED = 1,   /* committed with its parents */
  NODE_DUPLICATE,    /* already held (stored or buffered): nothing changed */
  NODE_BUFFERED,     /* held in the causal buffer until its parents arrive */
  NODE_REJECTED,     /* not stored: reason says why */
} node_ingest_status;

typedef struct {
  node_ingest_status status;
  int reason;   /* for NODE_REJECTED: BT_ESIG, BT_ENOFILE, BT_EEPOCH, decode errors */
  crdt_id id;   /* when the envelope decoded */
} node_ingest_result;

typedef struct {
  size_t stored, duplicate, buffered, rejected;
  size_t released; /* buffered earlier, stored now that their parents came */
  size_t equivocations;
} node_ingest_stats;

/* Checks each envelope (size, decoding, signature, known file and epoch)
 * and stores the good ones in one write transaction: res[i] says what
 * happened to envs[i]. Returns BT_OK once committed (and synced: what is
 * reported stored survives a crash), or an error (BT_EFULL, ...) with
 * nothing stored and every res[i].status 0. stats may be NULL. */
int node_ingest(node_store *s, const bt_bytes *envs, size_t n, node_ingest_result *res,
                node_ingest_stats *stats);

/* node_ingest for a long run of envelopes (an initial sync): commits every
 * per_txn ops (rounded up to whole chunks of 256) while other threads keep
 * checking the ops after them, so signature checks overlap the commits.
 * On error, what was committed before stays committed: res[i].status is 0
 * for every envelope that was not. */
int node_ingest_stream(node_store *s, const bt_bytes *envs, size_t n, size_t per_txn,
                       node_ingest_result *res, node_ingest_stats *stats);

/* ---- reads ---------------------------------------------------------------- */

/* Heads of a file, ascending: up to max written, the total in *n. */
int node_heads(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
               size_t *n);

/* Parent ids that buffered ops of the file wait for and nobody supplied. */
int node_missing(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
                 size_t *n);

/* Ids of a file's stored ops in (hour, id) order: up to max written, the
 * total in *n. */
int node_file_ops(node_store *s, const uint8_t file[CRDT_FILE_LEN], crdt_id *out, size_t max,
                  size_t *n);

/* A stored op by id (not buffered ones). The caller frees *out. */
int node_op_get(node_store *s, const crdt_id *id, crdt_op **out);

/* Count and 256-bit sum (little-endian, mod 2^256) of the ids of a file's
 * stored ops whose (hour, id) key is in [lo, hi). Whole hours come from
 * per-hour buckets kept at ingest; only the two edge hours are scanned. */
typedef struct {
  uint32_t hour;
  crdt_id id;
} node_rkey;

typedef struct {
  uint64_t count;
  uint8_t sum[32];
} node_fp;

int node_fingerprint(node_store *s, const uint8_t file[CRDT_FILE_LEN], const node_rkey *lo,
                     const node_rkey *hi, node_fp *out);

/* The (hour, id) keys of a file's stored ops, ascending (the order
 * reconciliation uses): up to max written, the total in *n. */
int node_file_keys(node_store *s, const uint8_t file[CRDT_FILE_LEN], node_rkey *out, size_t max,
                   size_t *n);


/* The file materialised by the crdt core, decrypted with the epoch keys
 * this node holds. Cached in memory (the NODE_CACHE_FILES most recently
 * used files) and rebuilt after new ops for the file. Borrowed: valid until
 * the next node_casefile call or write to the store, or close. */
#define NODE_CACHE_FILES 64
int node_casefile(node_store *s, const uint8_t file[CRDT_FILE_LEN], const crdt_casefile **out);

/* Numbers of stored and buffered ops in the whole store. */
int node_store_counts(node_store *s, size_t *ops, size_t *buffered);

#endif
