/* node/dir.c: the LA directory file in the store. */
#include "node/dir.h"

#include <stdlib.h>
#include <sodium.h>

#include "crdt/access.h"
#include "crdt/err.h"
#include "node/org.h"
#include "node/store_int.h"

void node_dir_file(const crdt_id *root, uint8_t file[CRDT_FILE_LEN])
{
  static const uint8_t zero[16];

  crdt_file_id(root->b, zero, file);
}

int node_dir_track(node_store *s, const crdt_id *root)
{
  uint8_t file[CRDT_FILE_LEN], epoch[CRDT_EPOCH_LEN];

  node_dir_file(root, file);
  crdt_public_epoch(file, epoch);
  return node_file_track(s, file, epoch, NULL);
}

/* Seals b as the root's next op in its directory and stores it. */
static int author(node_store *s, crdt_body *b, crdt_id *id)
{
  crdt_id root, heads[CRDT_PARENTS_MAX];
  uint8_t file[CRDT_FILE_LEN], nonce[CRDT_NONCE_LEN];
  node_secret *sk = NULL;
  node_ingest_result res = {0};
  crdt_op *op = NULL;
  size_t nh = 0, nops = 0;
  int rc;

  if ((rc = node_root_pk(s, &root)) != 0 || (rc = node_root_sk(s, &sk)) != 0)
    return rc;
  node_dir_file(&root, file);
  if ((rc = node_dir_track(s, &root)) != 0 ||
      (rc = node_heads(s, file, heads, CRDT_PARENTS_MAX, &nh)) != 0 ||
      (rc = node_file_ops(s, file, NULL, 0, &nops)) != 0)
    goto out;
  if (nh > CRDT_PARENTS_MAX) {
    rc = BT_ETOOBIG; /* cannot happen: the root is the only author */
    goto out;
  }
  b->known = 1;
  b->user = BT_STR("la");
  b->hlc = crdt_hlc_now(&s->hlc, node__now_ms(s));
  randombytes_buf(nonce, sizeof(nonce));
  /* The root is the directory's only author: its seq is the op count. */
  if ((rc = crdt_directory_seal(file, node_secret_bytes(sk), nops + 1, heads, nh, b, nonce,
                                &op)) != 0)
    goto out;
  bt_bytes env = {op->env, op->env_len};
  if ((rc = node_ingest(s, &env, 1, &res, NULL)) == 0 && res.status != NODE_STORED)
    rc = res.reason ? res.reason : BT_ESTORE;
  if (rc == 0 && id)
    *id = op->id;
out:
  crdt_op_free(op);
  node_secret_free(sk);
  return rc;
}

int node_dir_publish(node_store *s, const uint8_t *org_cert, size_t len, crdt_id *op)
{
  crdt_body b = {.type = CRDT_OP_DIR_ORG};

  b.u.dir_org.cert = (bt_str){(const char *)org_cert, len};
  return author(s, &b, op);
}

int node_dir_revoke(node_store *s, const crdt_id *subject, const char *reason, uint64_t at_ms,
                    crdt_id *op)
{
  crdt_body b = {.type = CRDT_OP_DIR_REVOKE};

  if (reason == NULL || *reason == 0)
    return BT_EMISSING;
  b.u.dir_revoke = (crdt_dir_revoke){*subject, bt_strz(reason), at_ms};
  return author(s, &b, op);
}

int node_dir_get(node_store *s, const crdt_id *root, uint64_t now_ms, crdt_directory **out)
{
  uint8_t file[CRDT_FILE_LEN], hk[16];
  crdt_id *ids = NULL;
  crdt_dag *d = NULL;
  size_t n = 0;
  int rc;

  node_dir_file(root, file);
  randombytes_buf(hk, sizeof(hk));
  if ((rc = node_heads(s, file, NULL, 0, &n)) != 0) /* BT_ENOFILE if unknown */
    return rc;
  if ((rc = node_file_ops(s, file, NULL, 0, &n)) != 0)
    return rc;
  if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_file_ops(s, file, ids, n, &n)) != 0 || (rc = crdt_dag_new(&d, hk)) != 0)
    goto out;
  for (size_t i = 0; i < n && rc == 0; i++) {
    crdt_op *op;
    crdt_dag_status st;
    if ((rc = node_op_get(s, &ids[i], &op)) == 0)
      rc = crdt_dag_add(d, op, &st);
  }
  if (rc == 0)
    rc = crdt_directory_build(d, file, root->b, now_ms, out);
out:
  crdt_dag_free(d);
  free(ids);
  return rc;
}

int node_dir_apply(node_store *s, const crdt_id *root, uint64_t now_ms, size_t *n)
{
  crdt_directory *dir;
  crdt_id *have = NULL;
  size_t nh = 0, added = 0;
  int rc;

  if ((rc = node_dir_get(s, root, now_ms, &dir)) != 0)
    return rc;
  if ((rc = node_revoked(s, NULL, 0, &nh)) == 0 && nh > 0) {
    size_t cap = nh;
    if ((have = calloc(cap, sizeof(*have))) == NULL)
      rc = BT_ENOMEM;
    else if ((rc = node_revoked(s, have, cap, &nh)) == 0 && nh > cap)
      nh = cap; /* another process added some: they are checked again below */
  }
  for (size_t i = 0; i < dir->nrevoked && rc == 0; i++) {
    int known = 0;
    for (size_t k = 0; k < nh && have && !known; k++)
      known = crdt_id_cmp(&have[k], &dir->revoked[i]) == 0;
    if (!known && (rc = node_revoked_add(s, &dir->revoked[i])) == 0)
      added++;
  }
  free(have);
  crdt_directory_free(dir);
  if (n)
    *n = added;
  return rc;
}
