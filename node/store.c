/* node/store.c: opening, creating and keying a data directory.
 *
 * Key hierarchy: master key (Argon2id(passphrase, salt) or a key file)
 * wraps the data key ("dek", meta); the data key wraps the device signing
 * key and every file epoch key. A wrong passphrase fails to unwrap the dek
 * and nothing is written. Each wrapped record carries a label as associated
 * data so records cannot be swapped.
 *
 * Opening refuses a data.mdb shorter than LMDB's own last page: reading a
 * truncated map would be a SIGBUS, not an error. */
#define _POSIX_C_SOURCE 200809L
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "node/org.h"

static const char *const db_names[DB_COUNT] = {
  "meta", "ops", "fileops", "heads", "seq", "fpb", "files", "epochs", "buffer",
  "waiting", "missing", "equiv", "keyring", "grants", "transfers", "users", "audit",
  "blobs", "peers", "tags",
};

#define LABEL_DEK "baton/dek"
#define INIT_LOST 1 /* init_store: another process created the store first */
#define LABEL_DEVICE "baton/device"

int node__err(int rc)
{
  switch (rc) {
  case MDB_SUCCESS:
    return BT_OK;
  case MDB_NOTFOUND:
    return BT_ENOTFOUND;
  case MDB_KEYEXIST:
    return BT_EDUP;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL:
  case MDB_DBS_FULL:
    return BT_EFULL;
  case MDB_INVALID:
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_VERSION_MISMATCH:
  case MDB_INCOMPATIBLE:
  case MDB_BAD_DBI:
    return BT_ECORRUPT;
  case EACCES:
  case EROFS:
  case EPERM:
    return BT_EREADONLY;
  default:
    return rc > 0 ? -rc : BT_ESTORE; /* errno passes; other LMDB codes */
  }
}

int node__txn(node_store *s, unsigned flags, MDB_txn **t)
{
  int rc = mdb_txn_begin(s->env, NULL, flags, t);

  if (rc == MDB_MAP_RESIZED) { /* another process grew the map */
    if ((rc = mdb_env_set_mapsize(s->env, 0)) == 0)
      rc = mdb_txn_begin(s->env, NULL, flags, t);
  }
  return node__err(rc);
}

int node__txn_end(MDB_txn *t, int rc)
{
  if (rc == BT_OK)
    return node__err(mdb_txn_commit(t));
  mdb_txn_abort(t);
  return rc;
}

uint64_t node__now_ms(node_store *s)
{
  struct timespec ts;

  if (s->clock_ms)
    return s->clock_ms(s->clock_ctx);
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void node__sum_add(uint8_t sum[32], const crdt_id *id)
{
  unsigned carry = 0;

  for (int i = 0; i < 32; i++) {
    carry += (unsigned)sum[i] + id->b[i];
    sum[i] = (uint8_t)carry;
    carry >>= 8;
  }
}

/* ---- small records -------------------------------------------------------- */

void node__put_le64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t node__get_le64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

void node__filerec_pack(const filerec *r, uint8_t out[FILEREC_LEN])
{
  out[0] = 1;
  memcpy(out + 1, r->epoch, CRDT_EPOCH_LEN);
  node__put_le64(out + 1 + CRDT_EPOCH_LEN, r->count);
  memcpy(out + 1 + CRDT_EPOCH_LEN + 8, r->sum, 32);
}

int node__filerec_get(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                      filerec *r)
{
  MDB_val k = {CRDT_FILE_LEN, (void *)file}, v;
  const uint8_t *p;
  int rc;

  if ((rc = mdb_get(t, s->db[DB_FILES], &k, &v)) != 0)
    return rc == MDB_NOTFOUND ? BT_ENOFILE : node__err(rc);
  p = v.mv_data;
  if (v.mv_size != FILEREC_LEN || p[0] != 1)
    return BT_ECORRUPT;
  memcpy(r->epoch, p + 1, CRDT_EPOCH_LEN);
  r->count = node__get_le64(p + 1 + CRDT_EPOCH_LEN);
  memcpy(r->sum, p + 1 + CRDT_EPOCH_LEN + 8, 32);
  return BT_OK;
}

int node__filerec_put(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                      const filerec *r)
{
  uint8_t buf[FILEREC_LEN];
  MDB_val k = {CRDT_FILE_LEN, (void *)file}, v = {sizeof(buf), buf};

  node__filerec_pack(r, buf);
  return node__err(mdb_put(t, s->db[DB_FILES], &k, &v, 0));
}

static int meta_get(node_store *s, MDB_txn *t, const char *key, MDB_val *v)
{
  MDB_val k = {strlen(key), (void *)key};

  return node__err(mdb_get(t, s->db[DB_META], &k, v));
}

static int meta_put(node_store *s, MDB_txn *t, const char *key, const void *p, size_t n)
{
  MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)p};

  return node__err(mdb_put(t, s->db[DB_META], &k, &v, 0));
}

int node__unwrap_stored(node_store *s, const void *label, size_t label_len, const MDB_val *v,
                        node_secret **out)
{
  int rc = node_unwrap(s->dek, label, label_len, v->mv_data, v->mv_size, out);

  /* The data key is right (the store opened): a record that fails to open
   * was damaged, not mistyped. */
  return rc == BT_EPASS || rc == BT_EINVAL ? BT_ECORRUPT : rc;
}

/* ---- epoch keys ----------------------------------------------------------- */

static void epoch_label(uint8_t label[12 + CRDT_FILE_LEN + CRDT_EPOCH_LEN], const char *what,
                        const uint8_t *file, const uint8_t *epoch)
{
  memcpy(label, what, 12); /* "baton/epoch" or "baton/secret", NUL-padded */
  memcpy(label + 12, file, CRDT_FILE_LEN);
  memcpy(label + 12 + CRDT_FILE_LEN, epoch, CRDT_EPOCH_LEN);
}

static int epoch_get(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                     int secret, node_secret **out)
{
  uint8_t k[CRDT_FILE_LEN + CRDT_EPOCH_LEN + 1], label[12 + CRDT_FILE_LEN + CRDT_EPOCH_LEN];
  MDB_val key = {sizeof(k) - (secret ? 0 : 1), k}, v;
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, epoch, CRDT_EPOCH_LEN);
  k[sizeof(k) - 1] = 'S';
  if ((rc = mdb_get(t, s->db[DB_EPOCHS], &key, &v)) != 0)
    return rc == MDB_NOTFOUND ? BT_EEPOCH : node__err(rc);
  epoch_label(label, secret ? "baton/secret" : "baton/epoch", file, epoch);
  return node__unwrap_stored(s, label, sizeof(label), &v, out);
}

int node__epoch_key(node_store *s, MDB_txn *t, const uint8_t file[CRDT_FILE_LEN],
                    const uint8_t epoch[CRDT_EPOCH_LEN], node_secret **out)
{
  return epoch_get(s, t, file, epoch, 0, out);
}

int node__epoch_secret(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                       node_secret **out)
{
  return epoch_get(s, t, file, epoch, 1, out);
}

/* Puts a wrapped key unless one is held (keys are fixed per epoch: the
 * first one kept stays). */
static int epoch_put(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                     int secret, const uint8_t *key)
{
  uint8_t k[CRDT_FILE_LEN + CRDT_EPOCH_LEN + 1], label[12 + CRDT_FILE_LEN + CRDT_EPOCH_LEN];
  uint8_t wrapped[CRDT_KEY_LEN + NODE_WRAP_OVERHEAD];
  MDB_val kv = {sizeof(k) - (secret ? 0 : 1), k}, v = {sizeof(wrapped), wrapped};
  int rc;

  memcpy(k, file, CRDT_FILE_LEN);
  memcpy(k + CRDT_FILE_LEN, epoch, CRDT_EPOCH_LEN);
  k[sizeof(k) - 1] = 'S';
  epoch_label(label, secret ? "baton/secret" : "baton/epoch", file, epoch);
  node_wrap(s->dek, label, sizeof(label), key, CRDT_KEY_LEN, wrapped);
  rc = mdb_put(t, s->db[DB_EPOCHS], &kv, &v, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? BT_OK : node__err(rc);
}

int node__key_put(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *hdr_epoch,
                  const uint8_t *key)
{
  return epoch_put(s, t, file, hdr_epoch, 0, key);
}

/* ---- opening -------------------------------------------------------------- */

int node_store_default_dir(char *buf, size_t len)
{
  const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  int n;

  if (xdg && xdg[0] == '/')
    n = snprintf(buf, len, "%s/baton", xdg);
  else if (home && home[0])
    n = snprintf(buf, len, "%s/.local/share/baton", home);
  else
    return BT_ENOTFOUND;
  return n < 0 || (size_t)n >= len ? BT_ETOOBIG : BT_OK;
}

/* mkdir -p, each new level 0700. */
static int make_dirs(const char *dir)
{
  char path[PATH_MAX];
  size_t n = strlen(dir);

  if (n == 0 || n >= sizeof(path))
    return BT_ETOOBIG;
  memcpy(path, dir, n + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return errno == EACCES || errno == EROFS ? BT_EREADONLY : -errno;
    *p = '/';
  }
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return errno == EACCES || errno == EROFS ? BT_EREADONLY : -errno;
  return BT_OK;
}

static int env_open(node_store *s, const char *dir, size_t map_size, int create)
{
  struct stat st;
  int rc;

  if (stat(dir, &st) != 0) {
    if (errno != ENOENT)
      return -errno;
    if (!create)
      return BT_ENOTFOUND;
    if ((rc = make_dirs(dir)) != 0)
      return rc;
  } else if (!S_ISDIR(st.st_mode)) {
    return -ENOTDIR;
  } else if (!create) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path))
      return BT_ETOOBIG;
    if (stat(path, &st) != 0)
      return errno == ENOENT ? BT_ENOTFOUND : -errno; /* and leave no files */
  }
  if ((rc = mdb_env_create(&s->env)) != 0 || (rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 4)) != 0 ||
      (rc = mdb_env_set_mapsize(s->env, map_size)) != 0)
    return node__err(rc);
  if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0)
    return node__err(rc);
  /* Reader slots of processes that died mid-read would pin old pages. */
  mdb_reader_check(s->env, NULL);
  return BT_OK;
}

/* LMDB maps the file; a page past its end would be a SIGBUS when read. */
static int check_size(node_store *s, const char *dir)
{
  char path[PATH_MAX];
  MDB_envinfo info;
  MDB_stat ms;
  struct stat st;

  if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path))
    return BT_ETOOBIG;
  /* Meta first, file size second: a writer in another process only ever
   * grows the file, so this order cannot mistake growth for truncation. */
  if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &ms) != 0)
    return BT_ECORRUPT;
  if (stat(path, &st) != 0)
    return -errno;
  if ((uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize)
    return BT_ECORRUPT;
  return BT_OK;
}

/* Opens every named database. *late is set when the store predates the
 * tags index (it is then made and filled by add_tags). */
static int open_dbs(node_store *s, MDB_txn *t, unsigned flags, int *late)
{
  int rc;

  for (int i = 0; i < DB_COUNT; i++)
    if ((rc = mdb_dbi_open(t, db_names[i], flags, &s->db[i])) != 0) {
      if (i == DB_TAGS && rc == MDB_NOTFOUND && late) {
        *late = 1;
        continue;
      }
      return rc == MDB_NOTFOUND ? BT_ECORRUPT : node__err(rc);
    }
  return BT_OK;
}

/* A store made before sync's tags index: make it from the ops, once. */
static int add_tags(node_store *s)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = node__err(mdb_dbi_open(t, db_names[DB_TAGS], MDB_CREATE, &s->db[DB_TAGS]))) == 0)
    rc = node__tags_build(s, t);
  return node__txn_end(t, rc);
}

/* The master key from the options, for a store keyed in `mode`. */
static int master_key(const node_store_opts *o, char mode, const node_kdf *k,
                      node_secret **out)
{
  if (mode == 'k' && o->key_file)
    return node_keyfile_read(o->key_file, out);
  if (mode == 'p' && o->passphrase)
    return node_kdf_derive(k, o->passphrase, o->passphrase_len, out);
  return BT_EPASS; /* a passphrase for a key-file store, or the reverse */
}

static void kdf_pack(const node_kdf *k, uint8_t out[32])
{
  memcpy(out, k->salt, 16);
  node__put_le64(out + 16, k->opslimit);
  node__put_le64(out + 24, k->memlimit);
}

/* Writes meta: version, key mode, kdf, wrapped dek. Used by init and rekey. */
static int write_keying(node_store *s, MDB_txn *t, const node_store_opts *o)
{
  uint8_t kdfb[32], wrapped[32 + NODE_WRAP_OVERHEAD];
  char mode = o->key_file ? 'k' : 'p';
  node_secret *master = NULL;
  node_kdf k;
  int rc;

  node_kdf_init(&k, o->kdf);
  if ((rc = master_key(o, mode, &k, &master)) != 0)
    return rc;
  kdf_pack(&k, kdfb);
  node_wrap(master, LABEL_DEK, strlen(LABEL_DEK), node_secret_bytes(s->dek), 32, wrapped);
  node_secret_free(master);
  if ((rc = meta_put(s, t, "mode", &mode, 1)) == 0 &&
      (rc = meta_put(s, t, "kdf", kdfb, sizeof(kdfb))) == 0)
    rc = meta_put(s, t, "dek", wrapped, sizeof(wrapped));
  return rc;
}

static int init_store(node_store *s, const node_store_opts *o)
{
  uint8_t ver[4] = {NODE_STORE_VERSION, 0, 0, 0}, hlc[8] = {0};
  uint8_t wrapped[CRDT_SK_LEN + NODE_WRAP_OVERHEAD];
  MDB_txn *t;
  int rc;

  if ((rc = node_secret_random(&s->dek, 32)) != 0 ||
      (rc = node_secret_random(&s->device, CRDT_SK_LEN)) != 0)
    return rc;
  /* A fresh Ed25519 key pair, generated straight into locked memory. */
  crypto_sign_keypair(s->device_pk, (uint8_t *)node_secret_bytes(s->device));
  node_wrap(s->dek, LABEL_DEVICE, strlen(LABEL_DEVICE), node_secret_bytes(s->device),
            CRDT_SK_LEN, wrapped);
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  /* Another process may have made the store since we looked: theirs wins. */
  MDB_dbi meta;
  if (mdb_dbi_open(t, "meta", 0, &meta) == 0) {
    mdb_txn_abort(t);
    node_secret_free(s->dek);
    node_secret_free(s->device);
    s->dek = s->device = NULL;
    return INIT_LOST;
  }
  if ((rc = open_dbs(s, t, MDB_CREATE, NULL)) == 0 && (rc = write_keying(s, t, o)) == 0 &&
      (rc = meta_put(s, t, "device", wrapped, sizeof(wrapped))) == 0 &&
      (rc = meta_put(s, t, "device_pk", s->device_pk, CRDT_PK_LEN)) == 0 &&
      (rc = meta_put(s, t, "hlc", hlc, sizeof(hlc))) == 0 &&
      (rc = meta_put(s, t, "version", ver, sizeof(ver))) == 0)
    return node__err(mdb_txn_commit(t));
  mdb_txn_abort(t);
  return rc;
}

static int load_keys(node_store *s, MDB_txn *t, const node_store_opts *o)
{
  node_secret *master = NULL;
  MDB_val mode, kdfv, dek, dev, pk, hlc;
  node_kdf k;
  int rc;

  if ((rc = meta_get(s, t, "mode", &mode)) != 0 || (rc = meta_get(s, t, "kdf", &kdfv)) != 0 ||
      (rc = meta_get(s, t, "dek", &dek)) != 0 || (rc = meta_get(s, t, "device", &dev)) != 0 ||
      (rc = meta_get(s, t, "device_pk", &pk)) != 0 || (rc = meta_get(s, t, "hlc", &hlc)) != 0)
    return rc == BT_ENOTFOUND ? BT_ECORRUPT : rc;
  if (mode.mv_size != 1 || kdfv.mv_size != 32 || pk.mv_size != CRDT_PK_LEN || hlc.mv_size != 8)
    return BT_ECORRUPT;
  memcpy(k.salt, kdfv.mv_data, 16);
  k.opslimit = node__get_le64((const uint8_t *)kdfv.mv_data + 16);
  k.memlimit = node__get_le64((const uint8_t *)kdfv.mv_data + 24);
  if ((rc = master_key(o, *(const char *)mode.mv_data, &k, &master)) != 0)
    return rc == BT_EINVAL ? BT_ECORRUPT : rc;
  rc = node_unwrap(master, LABEL_DEK, strlen(LABEL_DEK), dek.mv_data, dek.mv_size, &s->dek);
  node_secret_free(master);
  if (rc != 0)
    return rc; /* BT_EPASS: wrong passphrase or key file */
  rc = node_unwrap(s->dek, LABEL_DEVICE, strlen(LABEL_DEVICE), dev.mv_data, dev.mv_size,
                   &s->device);
  if (rc != 0)
    return BT_ECORRUPT;
  memcpy(s->device_pk, pk.mv_data, CRDT_PK_LEN);
  s->hlc.last = node__get_le64(hlc.mv_data);
  return node__org_load(s, t);
}

/* Decides between a new store, ours, and someone else's LMDB file. */
static int load_or_init(node_store *s, const node_store_opts *o)
{
  MDB_txn *t;
  MDB_dbi meta;
  MDB_stat ms;
  MDB_val ver;
  int rc, late = 0;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = mdb_dbi_open(t, "meta", 0, &meta);
  if (rc == MDB_NOTFOUND) {
    MDB_dbi main_db;
    int empty = mdb_dbi_open(t, NULL, 0, &main_db) == 0 &&
                mdb_stat(t, main_db, &ms) == 0 && ms.ms_entries == 0;
    mdb_txn_abort(t);
    if (!empty)
      return BT_ECORRUPT; /* an LMDB environment, but not ours */
    if (!o->create)
      return BT_ENOTFOUND;
    rc = init_store(s, o);
    return rc == INIT_LOST ? load_or_init(s, o) : rc;
  }
  if (rc != 0) {
    mdb_txn_abort(t);
    return node__err(rc);
  }
  if ((rc = open_dbs(s, t, 0, &late)) == 0 && (rc = meta_get(s, t, "version", &ver)) == 0) {
    if (ver.mv_size != 4)
      rc = BT_ECORRUPT;
    else if (((const uint8_t *)ver.mv_data)[0] > NODE_STORE_VERSION)
      rc = BT_EVERSION;
    else
      rc = load_keys(s, t, o);
  } else if (rc == BT_ENOTFOUND) {
    rc = BT_ECORRUPT;
  }
  if (rc != 0) {
    mdb_txn_abort(t);
    return rc;
  }
  if ((rc = node__err(mdb_txn_commit(t))) != 0) /* commit keeps the dbi handles */
    return rc;
  return late ? add_tags(s) : BT_OK;
}

int node_store_open(node_store **out, const node_store_opts *o)
{
  char dir[PATH_MAX];
  node_store *s;
  int rc;

  if (sodium_init() < 0)
    return BT_ENOMEM;
  if ((o->passphrase == NULL) == (o->key_file == NULL) ||
      (o->passphrase && o->passphrase_len == 0))
    return BT_EINVAL;
  if (o->dir)
    rc = strlen(o->dir) < sizeof(dir) ? (strcpy(dir, o->dir), BT_OK) : BT_ETOOBIG;
  else
    rc = node_store_default_dir(dir, sizeof(dir));
  if (rc != 0)
    return rc;
  if ((s = calloc(1, sizeof(*s))) == NULL)
    return BT_ENOMEM;
  crdt_hlc_init(&s->hlc, 5 * 60 * 1000);
  s->clock_ms = o->clock_ms;
  s->clock_ctx = o->clock_ctx;
  s->threads = o->threads;
  s->kdf = o->kdf;
  if ((rc = env_open(s, dir, o->map_size ? o->map_size : NODE_MAP_SIZE_DEFAULT, o->create)) != 0 ||
      (rc = check_size(s, dir)) != 0 || (rc = load_or_init(s, o)) != 0) {
    node_store_close(s);
    return rc;
  }
  *out = s;
  return BT_OK;
}

void node_store_close(node_store *s)
{
  if (s == NULL)
    return;
  node__cache_free(s);
  if (s->env)
    mdb_env_close(s->env);
  node_secret_free(s->dek);
  node_secret_free(s->device);
  sodium_memzero(s, sizeof(*s));
  free(s);
}

int node_store_rekey(node_store *s, const char *passphrase, size_t len, const char *key_file)
{
  node_store_opts o = {.passphrase = passphrase, .passphrase_len = len,
                       .key_file = key_file, .kdf = NODE_KDF_MODERATE};
  MDB_txn *t;
  MDB_val kdfv;
  int rc;

  if ((passphrase == NULL) == (key_file == NULL))
    return BT_EINVAL;
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  /* Keep the store's KDF strength: a rekey never weakens it. */
  if ((rc = meta_get(s, t, "kdf", &kdfv)) == 0 && kdfv.mv_size == 32 &&
      node__get_le64((const uint8_t *)kdfv.mv_data + 24) < crypto_pwhash_MEMLIMIT_MODERATE)
    o.kdf = node__get_le64((const uint8_t *)kdfv.mv_data + 24) <= crypto_pwhash_MEMLIMIT_MIN
              ? NODE_KDF_MIN : NODE_KDF_INTERACTIVE;
  return node__txn_end(t, write_keying(s, t, &o));
}

void node_store_device(const node_store *s, uint8_t pk[CRDT_PK_LEN])
{
  memcpy(pk, s->device_pk, CRDT_PK_LEN);
}

/* ---- files ------------------------------------------------------------------ */

int node__track_txn(node_store *s, MDB_txn *t, const uint8_t *file, const uint8_t *epoch,
                    const uint8_t *secret)
{
  node_secret *keys = NULL;
  uint8_t ctl[CRDT_EPOCH_LEN];
  filerec r = {0};
  int rc;

  rc = node__filerec_get(s, t, file, &r);
  if (rc == BT_ENOFILE) {
    memcpy(r.epoch, epoch, CRDT_EPOCH_LEN);
    rc = node__filerec_put(s, t, file, &r);
  }
  if (rc != 0 || secret == NULL)
    return rc;
  if ((rc = node_secret_random(&keys, 2 * CRDT_KEY_LEN)) != 0)
    return rc;
  uint8_t *content = (uint8_t *)node_secret_bytes(keys), *control = content + CRDT_KEY_LEN;
  crdt_epoch_keys(secret, content, control);
  crdt_control_id(epoch, ctl);
  if ((rc = epoch_put(s, t, file, epoch, 1, secret)) == 0 &&
      (rc = epoch_put(s, t, file, epoch, 0, content)) == 0)
    rc = epoch_put(s, t, file, ctl, 0, control);
  node_secret_free(keys);
  return rc;
}

int node__keybox_take(node_store *s, MDB_txn *t, const crdt_op *op)
{
  crdt_keyitem *items = NULL;
  node_secret *box_sk = NULL;
  crdt_body *b = NULL;
  uint8_t key[CRDT_KEY_LEN];
  size_t n = 0;
  int rc = BT_OK;

  crdt_public_key(op->h.file, op->h.epoch, key);
  if (crdt_op_decrypt(op, key, &b) != 0 || !b->known || b->type != CRDT_OP_KEYBOX ||
      crdt_id_cmp(&b->u.keybox.box, &s->box_pk) != 0)
    goto out; /* not a keybox for us: the rules will say what it is */
  if ((items = sodium_malloc(CRDT_KEYSET_MAX * sizeof(*items))) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  if ((rc = node__org_box_sk(s, t, &box_sk)) != 0)
    goto out;
  if (crdt_keyset_open((const uint8_t *)b->u.keybox.sealed.p, b->u.keybox.sealed.len,
                       s->box_pk.b, node_secret_bytes(box_sk), items, CRDT_KEYSET_MAX,
                       &n) != 0)
    n = 0; /* damaged or forged: nothing to keep */
  for (size_t i = 0; i < n && rc == BT_OK; i++) {
    uint8_t id[CRDT_EPOCH_LEN];
    if (items[i].kind == CRDT_KEY_SECRET) {
      crdt_epoch_id(items[i].key, id);
      if (memcmp(id, items[i].epoch, CRDT_EPOCH_LEN) != 0)
        continue; /* not that epoch's secret: forged or damaged */
      rc = node__track_txn(s, t, op->h.file, items[i].epoch, items[i].key);
    } else { /* a control key alone cannot be checked: the first kept stays */
      crdt_control_id(items[i].epoch, id);
      rc = epoch_put(s, t, op->h.file, id, 0, items[i].key);
    }
  }
out:
  if (items)
    sodium_free(items); /* sodium_free wipes */
  node_secret_free(box_sk);
  crdt_body_free(b);
  sodium_memzero(key, sizeof(key));
  return rc;
}

int node_file_track(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                    const uint8_t epoch[CRDT_EPOCH_LEN], const uint8_t *key)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  if ((rc = node__txn_end(t, node__track_txn(s, t, file, epoch, key))) == 0)
    node__cache_drop(s, file); /* a key may have made ops readable */
  return rc;
}

int node_file_epoch(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                    uint8_t epoch[CRDT_EPOCH_LEN])
{
  MDB_txn *t;
  filerec r;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = node__filerec_get(s, t, file, &r)) == 0)
    memcpy(epoch, r.epoch, CRDT_EPOCH_LEN);
  mdb_txn_abort(t);
  return rc;
}

int node_file_key(node_store *s, const uint8_t file[CRDT_FILE_LEN],
                  const uint8_t epoch[CRDT_EPOCH_LEN], node_secret **out)
{
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = node__filerec_get(s, t, file, &(filerec){0})) == 0)
    rc = node__epoch_secret(s, t, file, epoch, out);
  mdb_txn_abort(t);
  return rc == BT_EEPOCH ? BT_ENOTFOUND : rc;
}

int node__keybox_txn(node_store *s, MDB_txn *t, const uint8_t *file, bt_str user,
                     const crdt_id *org, const crdt_id *box, const crdt_keyitem *items,
                     size_t n)
{
  int rc = BT_OK;

  for (size_t off = 0; off < n && rc == BT_OK; off += CRDT_KEYSET_MAX) {
    size_t k = n - off < CRDT_KEYSET_MAX ? n - off : CRDT_KEYSET_MAX;
    crdt_body b = {.type = CRDT_OP_KEYBOX, .known = 1, .user = user};
    uint8_t *sealed;
    size_t len;
    if ((rc = crdt_keyset_seal(items + off, k, box->b, &sealed, &len)) != 0)
      return rc;
    b.u.keybox = (crdt_keybox){*org, *box, {(const char *)sealed, len}};
    rc = node__author_txn(s, t, file, &b, NULL);
    free(sealed);
  }
  return rc;
}

/* The first epoch's secret boxed to this node's own org, so its other
 * devices (a DSL's laptop) read the file too. */
static int own_keybox(node_store *s, MDB_txn *t, const uint8_t *file, const node_org *o,
                      const uint8_t *epoch, const node_secret *secret, bt_str user)
{
  crdt_keyitem *item = sodium_malloc(sizeof(*item));
  int rc;

  if (item == NULL)
    return BT_ENOMEM;
  item->kind = CRDT_KEY_SECRET;
  memcpy(item->epoch, epoch, CRDT_EPOCH_LEN);
  memcpy(item->key, node_secret_bytes(secret), CRDT_KEY_LEN);
  rc = node__keybox_txn(s, t, file, user, &o->sign_pk, &o->box_pk, item, 1);
  sodium_free(item);
  return rc;
}

int node_file_create(node_store *s, crdt_body *b, uint8_t file[CRDT_FILE_LEN], crdt_id *op)
{
  uint8_t f[CRDT_FILE_LEN], salt[16], epoch[CRDT_EPOCH_LEN];
  crdt_body g = {.type = CRDT_OP_GENESIS, .known = 1, .user = b->user};
  node_secret *secret = NULL;
  node_org o;
  MDB_txn *t;
  int rc;

  if (b->type != CRDT_OP_FILE_CREATE)
    return BT_EINVAL;
  if ((rc = node_org_get(s, &o)) != 0)
    return rc; /* BT_ENOTFOUND: no org yet */
  randombytes_buf(salt, sizeof(salt));
  crdt_file_id(s->device_pk, salt, f);
  g.u.genesis = (crdt_genesis){{(const char *)o.device_cert, o.device_cert_len},
                               {(const char *)o.org_cert, o.org_cert_len},
                               {(const char *)salt, sizeof(salt)},
                               {(const char *)epoch, sizeof(epoch)}};
  if ((rc = node_secret_random(&secret, CRDT_KEY_LEN)) == 0)
    crdt_epoch_id(node_secret_bytes(secret), epoch);
  if (rc == 0 && (rc = node__txn(s, 0, &t)) == 0) {
    /* The file, its keys, its genesis and first op commit together. */
    if ((rc = node__track_txn(s, t, f, epoch, node_secret_bytes(secret))) == 0 &&
        (rc = node__author_txn(s, t, f, &g, NULL)) == 0 &&
        (rc = own_keybox(s, t, f, &o, epoch, secret, b->user)) == 0)
      rc = node__author_txn(s, t, f, b, op);
    rc = node__txn_end(t, rc);
  }
  node_secret_free(secret);
  node_org_clear(&o);
  if (rc == 0)
    memcpy(file, f, CRDT_FILE_LEN);
  return rc;
}

int node_store_counts(node_store *s, size_t *ops, size_t *buffered)
{
  MDB_txn *t;
  MDB_stat a, b;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  rc = mdb_stat(t, s->db[DB_OPS], &a);
  if (rc == 0)
    rc = mdb_stat(t, s->db[DB_BUFFER], &b);
  mdb_txn_abort(t);
  if (rc != 0)
    return node__err(rc);
  *ops = a.ms_entries;
  *buffered = b.ms_entries;
  return BT_OK;
}
