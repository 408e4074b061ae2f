/* node/files.h: the case files this node holds, for a DSL to find one.
 *
 * A listing is of ids only: what a file says comes from node_casefile_as,
 * so the same role checks apply to every part shown. Directories (public
 * LA files) and files this node only carries (a relay: no key) are not
 * listed: only files whose genesis it can read and that have a front
 * sheet (a child's name). */
#ifndef BT_NODE_FILES_H
#define BT_NODE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"
#include "node/users.h"

/* The ids of the case files readable here, CRDT_FILE_LEN bytes each, in
 * id order; *ids is malloc'd (the caller frees it), *n how many. Refused
 * (BT_EDENIED) unless the role reads whole files (NODE_DO_READ_FILE).
 * BT_ENOMEM, storage errors. */
int node_files_as(node_store *s, node_role role, uint8_t **ids, size_t *n);

#endif
