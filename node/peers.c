/* node/peers.c: the peers kept in the store (node/peers.h). One meta
 * record per address, so adding and removing are single puts and deletes
 * that two processes (baton beside batond) cannot interleave badly. */
#define _POSIX_C_SOURCE 200809L
#include "node/peers.h"

#include <stdio.h>
#include <string.h>

#include "crdt/err.h"
#include "node/store_int.h"

#define K_PEER "peer/"
#define K_PEER_LEN (sizeof(K_PEER) - 1)

static int check(const char *addr, char key[K_PEER_LEN + NODE_NET_ADDR_MAX], size_t *klen)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t port;
  size_t n = strlen(addr);

  if (n == 0 || n >= NODE_NET_ADDR_MAX ||
      node_net_addr_parse(addr, host, sizeof host, &port) != BT_OK || port == 0)
    return BT_EINVAL;
  memcpy(key, K_PEER, K_PEER_LEN);
  memcpy(key + K_PEER_LEN, addr, n);
  *klen = K_PEER_LEN + n;
  return BT_OK;
}

static int count(node_store *s, MDB_txn *t, size_t *n)
{
  MDB_cursor *cur;
  MDB_val k = {K_PEER_LEN, (void *)K_PEER}, v;
  int rc;

  *n = 0;
  if ((rc = mdb_cursor_open(t, s->db[DB_META], &cur)) != 0)
    return node__err(rc);
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size < K_PEER_LEN || memcmp(k.mv_data, K_PEER, K_PEER_LEN) != 0)
      break;
    (*n)++;
  }
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
}

int node_peer_add(node_store *s, const char *addr, uint64_t now_ms)
{
  char key[K_PEER_LEN + NODE_NET_ADDR_MAX];
  uint8_t val[8];
  size_t klen, n;
  MDB_txn *t;
  int rc;

  if ((rc = check(addr, key, &klen)) != BT_OK)
    return rc;
  node__put_le64(val, now_ms);
  if ((rc = node__txn(s, 0, &t)) != BT_OK)
    return rc;
  if ((rc = count(s, t, &n)) == BT_OK && n >= NODE_PEERS_MAX)
    rc = BT_EFULL;
  if (rc == BT_OK) {
    MDB_val k = {klen, key}, v = {sizeof val, val};
    rc = mdb_put(t, s->db[DB_META], &k, &v, MDB_NOOVERWRITE);
    rc = rc == MDB_KEYEXIST ? BT_EDUP : node__err(rc);
  }
  return node__txn_end(t, rc);
}

int node_peer_remove(node_store *s, const char *addr)
{
  char key[K_PEER_LEN + NODE_NET_ADDR_MAX];
  size_t klen;
  MDB_txn *t;
  int rc;

  if ((rc = check(addr, key, &klen)) != BT_OK)
    return rc;
  if ((rc = node__txn(s, 0, &t)) != BT_OK)
    return rc;
  MDB_val k = {klen, key};
  rc = mdb_del(t, s->db[DB_META], &k, NULL);
  return node__txn_end(t, rc == MDB_NOTFOUND ? BT_ENOTFOUND : node__err(rc));
}

int node_peer_list(node_store *s, node_peer *out, size_t max, size_t *n)
{
  MDB_cursor *cur = NULL;
  MDB_val k = {K_PEER_LEN, (void *)K_PEER}, v;
  size_t total = 0;
  MDB_txn *t;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != BT_OK)
    return rc;
  if ((rc = mdb_cursor_open(t, s->db[DB_META], &cur)) != 0) {
    mdb_txn_abort(t);
    return node__err(rc);
  }
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    size_t alen = k.mv_size - K_PEER_LEN;
    if (k.mv_size < K_PEER_LEN || memcmp(k.mv_data, K_PEER, K_PEER_LEN) != 0)
      break;
    if (alen == 0 || alen >= NODE_NET_ADDR_MAX || v.mv_size != 8) {
      rc = BT_ECORRUPT;
      break;
    }
    if (total < max) {
      memcpy(out[total].addr, (const char *)k.mv_data + K_PEER_LEN, alen);
      out[total].addr[alen] = '\0';
      out[total].added_ms = node__get_le64(v.mv_data);
    }
    total++;
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(t);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc == BT_ECORRUPT ? rc : node__err(rc);
  *n = total;
  return BT_OK;
}
