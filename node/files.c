/* node/files.c: see files.h. The ids are copied out of one read
 * transaction before any file is materialised, so none stays open while
 * node_casefile works. */
#include "node/files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/store_int.h"

int node__file_ids(node_store *s, uint8_t **out, size_t *n)
{
  MDB_cursor *c;
  MDB_txn *t;
  MDB_val k, v;
  MDB_stat st;
  uint8_t *ids = NULL;
  int rc;

  *n = 0;
  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = mdb_stat(t, s->db[DB_FILES], &st)) == 0 &&
      (ids = malloc((st.ms_entries ? st.ms_entries : 1) * CRDT_FILE_LEN)) == NULL)
    rc = ENOMEM;
  if (rc == 0 && (rc = mdb_cursor_open(t, s->db[DB_FILES], &c)) == 0) {
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && *n < st.ms_entries;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      if (k.mv_size == CRDT_FILE_LEN)
        memcpy(ids + CRDT_FILE_LEN * (*n)++, k.mv_data, CRDT_FILE_LEN);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
      rc = 0;
  }
  mdb_txn_abort(t);
  if (rc != 0) {
    free(ids);
    *n = 0;
    return rc == ENOMEM ? BT_ENOMEM : node__err(rc);
  }
  *out = ids;
  return BT_OK;
}

int node_files_as(node_store *s, node_role role, uint8_t **ids, size_t *n)
{
  uint8_t *all = NULL;
  size_t m = 0, k = 0;
  int rc;

  if (!node_may(role, NODE_DO_READ_FILE))
    return BT_EDENIED;
  if ((rc = node__file_ids(s, &all, &m)) != BT_OK)
    return rc;
  for (size_t i = 0; i < m; i++) {
    const crdt_casefile *cf;
    const uint8_t *f = all + i * CRDT_FILE_LEN;
    if ((rc = node_casefile(s, f, &cf)) == BT_ENOMEM)
      break;
    if (rc == BT_OK && cf->access && cf->access->has_genesis && cf->fields[CRDT_FS_GIVEN].n)
      memmove(all + k++ * CRDT_FILE_LEN, f, CRDT_FILE_LEN);
    rc = BT_OK;
  }
  if (rc != BT_OK) {
    free(all);
    return rc;
  }
  *ids = all;
  *n = k;
  return BT_OK;
}
