/* node/store_int.h: what store.c, ingest.c and view.c share. Not an API. */
#ifndef BT_NODE_STORE_INT_H
#define BT_NODE_STORE_INT_H

#include <lmdb.h>

#include "crdt/dag.h"
#include "crdt/hlc.h"
#include "crdt/cert.h"
#include "node/share.h"
#include "node/store.h"

/* Named databases. Key layouts in docs/store.md. */
enum {
  DB_META, DB_OPS, DB_FILEOPS, DB_HEADS, DB_SEQ, DB_FPB, DB_FILES, DB_EPOCHS,
  DB_BUFFER, DB_WAITING, DB_MISSING, DB_EQUIV, DB_KEYRING, DB_GRANTS,
  DB_TRANSFERS, DB_USERS, DB_AUDIT, DB_BLOBS, DB_PEERS, DB_TAGS, DB_COUNT
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
  int has_org;           /* the node belongs to an org (org.h) */
  crdt_id org_pk, box_pk;
  uint8_t box_tag[CRDT_EPOCH_LEN]; /* keyboxes for this org carry it */
};

/* node_author's body: the access checks and what they need first, then
 * the op, in one transaction (share.c). */
int node__author_checked(node_store *s, const uint8_t *file, crdt_body *b, crdt_id *id);
/* A staff concern and its body map (may be NULL; its concern field is set
 * to *cid), then extra ops (tags), and the intake's audit record, in one transaction under one
 * access check (share.c; node/intake.h). */
int node__author_intake(node_store *s, const uint8_t *file, const char *user, crdt_body *concern,
                        crdt_body *bodymap, crdt_body *const *extra, size_t nextra,
                        const char *detail, crdt_id *cid);
/* Authors n case-file ops (no access types) in file as user, in one
 * transaction under one access check (share.c). */
int node__author_many(node_store *s, const uint8_t *file, const char *user, crdt_body *const *bs,
                      size_t n);
/* What node_grant_as refuses before writing anything: the grantee's
 * certificate (*c, the caller frees it, also on error), the grant record
 * (enums, a whole lawful basis), a grant to this org itself (BT_EDUP).
 * *out borrows from *c and user (share.c). */
int node__grant_check(node_store *s, const char *user, const node_grant_req *g, uint64_t ms,
                      crdt_cert **c, crdt_grant *out);
/* node_grant_as, then (after != NULL) one more op in the same transaction:
 * after(ctx, grant id, body) fills the body (type and fields; user is set
 * here) and it is authored right after the grant's keyboxes, so both land
 * or neither does. *then is its id (share.c; transfer.c uses it). */
typedef int (*node__after_fn)(void *ctx, const crdt_id *grant, crdt_body *b);
int node__grant_with(node_store *s, const char *user, node_role role,
                     const uint8_t file[CRDT_FILE_LEN], const node_grant_req *g,
                     node__after_fn after, void *ctx, crdt_id *grant, crdt_id *then);
/* The org box secret key, inside t (org.c). BT_ENOTFOUND. */
int node__org_box_sk(node_store *s, MDB_txn *t, node_secret **out);
/* Loads has_org, org_pk, box_pk and box_tag from the keyring (org.c). */
int node__org_load(node_store *s, MDB_txn *t);
/* A stored keybox op for this org: unseals it and keeps the keys it holds
 * (store.c). Not ours, damaged or forged: ignored (the op stays, the rules
 * judge it). Only storage errors are returned. */
int node__keybox_take(node_store *s, MDB_txn *t, const crdt_op *op);
/* Keeps an epoch's secret and both keys derived from it; a NULL secret
 * makes the file known without keys (a relay). Keys once held are never
 * replaced. */
int node__track_txn(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                    const uint8_t *secret);
/* Keeps one key for a header epoch (content or control id). */
int node__key_put(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *hdr_epoch,
                  const uint8_t *key);
/* The secret of an epoch: BT_EEPOCH if not held. */
int node__epoch_secret(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                       node_secret **out);

/* Unwraps a stored record v under the data key, label as when wrapped.
 * A record that does not open is BT_ECORRUPT (the data key is known
 * right); else node_unwrap's errors. */
int node__unwrap_stored(node_store *s, const void *label, size_t label_len, const MDB_val *v,
                        node_secret **out);
int node__err(int mdb_rc);  /* LMDB code -> bt_err */
/* mdb_txn_begin that adopts a map grown by another process. bt_err. */
int node__txn(node_store *s, unsigned flags, MDB_txn **t);
/* Ends a write transaction: commits when rc is BT_OK, else aborts and
 * passes rc on. Returns the outcome. */
int node__txn_end(MDB_txn *t, int rc);
/* An author's latest ops in file, from the per-author seq index (DB_SEQ:
 * file | author | seq | id): its highest sequence number in *seq (0: none
 * yet) and up to max ids at that number in ids, ascending, their count in
 * *nids (more than one only if it ever equivocated). ids and nids may be
 * NULL when max is 0. */
int node__seq_tip(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *author,
                  uint64_t *seq, crdt_id *ids, size_t max, size_t *nids);
/* Seals b as this device's next op in file and stores it, inside t. */
int node__author_txn(node_store *s, MDB_txn *t, const uint8_t *file, crdt_body *b,
                     crdt_id *id);
/* Authors keyboxes sealing items to an org's box key, inside t: one op
 * per CRDT_KEYSET_MAX items. */
int node__keybox_txn(node_store *s, MDB_txn *t, const uint8_t *file, bt_str user,
                     const crdt_id *org, const crdt_id *box, const crdt_keyitem *items,
                     size_t n);
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
/* 1 if the cached materialisation of file is of the op set t sees, 0 if
 * not (another process wrote since, or not cached), or an error. */
int node__cache_current(node_store *s, MDB_txn *t, const uint8_t *file);

/* ---- indexes for sync (index.c) ---- */

/* One author's highest sequence number in a file. */
typedef struct {
  uint8_t author[CRDT_PK_LEN];
  uint64_t seq;
} node_vv;

/* The header epochs (epoch ids, control ids, keybox tags) a file's stored
 * ops carry (DB_TAGS: file | tag): 1 if tag is one of them, else 0. */
int node__file_has_tag(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *tag);

/* Every file id this store knows (node/files.c), copied out of one read
 * transaction; *out malloc'd, CRDT_FILE_LEN bytes each. */
int node__file_ids(node_store *s, uint8_t **out, size_t *n);
/* Calls fn for each tag of the file until it returns non-zero (passed on). */
int node__file_tags(node_store *s, MDB_txn *t, const uint8_t *file,
                    int (*fn)(void *ctx, const uint8_t *tag), void *ctx);
/* A key that changes whenever an op arrives that could change who holds
 * the file (an access op, a keybox, an op of another epoch) and not for
 * content ops of the current epoch: a hash of the file's tag counts but
 * the current epoch's. BT_ENOFILE. */
#define NODE_ACCESS_KEY_LEN 16
int node__file_access_key(node_store *s, MDB_txn *t, const uint8_t *file,
                          uint8_t key[NODE_ACCESS_KEY_LEN]);
/* Rebuilds DB_TAGS from the op table (a store made before it existed). */
int node__tags_build(node_store *s, MDB_txn *t);
/* The file's per-author highest seq, authors ascending: up to max in out,
 * the total in *n. */
int node__file_vv(node_store *s, MDB_txn *t, const uint8_t *file, node_vv *out, size_t max,
                  size_t *n);
/* Appends to *ids (NULL and 0 at first, grown by this function only;
 * *n its length) the file's stored ops whose author is not in vv (sorted
 * by author) or whose seq is above vv's for it. */
int node__ops_beyond(node_store *s, MDB_txn *t, const uint8_t *file, const node_vv *vv,
                     size_t nv, crdt_id **ids, size_t *n);

/* Reorders ids[0..n) (stored ops, any files) so that parents come before
 * their children, ties in the given order: what a receiver stores without
 * buffering. Ids not stored stay where roots go. */
int node__causal_order(node_store *s, MDB_txn *t, crdt_id *ids, size_t n);

/* Stores already-verified ops inside t, as node_ingest's second phase. */
int node__ingest_txn(node_store *s, MDB_txn *t, crdt_op **ops, size_t n,
                     node_ingest_result *res, node_ingest_stats *st);

#endif
