/* node/dir.h: an LA's directory of its orgs, as a public file in the store
 * (crdt/directory.h has the rules).
 *
 * The directory of an LA is one file per root key, its id derived from the
 * root key alone (crdt_file_id(root, zero salt)), so every node that trusts
 * the LA knows which file to ask for and to carry. The LA node (the one
 * holding the root key) authors its ops; every other node stores them like
 * any other file's and reads them with the public key. Anyone can add ops
 * to the file: they count for nobody (crdt_directory_build rejects them)
 * and the LA node's own ops never build on them (each names the root's
 * previous op as its parent, its seq the root's next). */
#ifndef BT_NODE_DIR_H
#define BT_NODE_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/directory.h"
#include "node/store.h"
#include "node/users.h"

/* The directory file of an LA root key. */
void node_dir_file(const crdt_id *root, uint8_t file[CRDT_FILE_LEN]);

/* Makes the directory of root known here (carried, readable by anyone). */
int node_dir_track(node_store *s, const crdt_id *root);

/* LA node only (holds the root key: BT_ENOTFOUND otherwise). Lists an org
 * certificate this root issued (BT_EANCHOR otherwise, and the other
 * certificate errors of crdt_directory_seal). */
int node_dir_publish(node_store *s, const uint8_t *org_cert, size_t len, crdt_id *op);

/* LA node only: revokes a certificate id or subject key from at_ms. */
int node_dir_revoke(node_store *s, const crdt_id *subject, const char *reason, uint64_t at_ms,
                    crdt_id *op);

/* The directory of root as this node holds it, at now_ms. Free with
 * crdt_directory_free. BT_ENOFILE if not tracked. */
int node_dir_get(node_store *s, const crdt_id *root, uint64_t now_ms, crdt_directory **out);

/* Adds the directory's revocations in effect at now_ms to this node's
 * revoked list (node_revoked), so chains and grants refuse them. *n gets
 * how many were new. */
int node_dir_apply(node_store *s, const crdt_id *root, uint64_t now_ms, size_t *n);

/* One org a file may go to, from the directories of the trusted LAs. */
typedef struct {
  crdt_id org;                     /* its signing key (grants name it) */
  char name[CRDT_STR_MAX + 1];
  uint32_t kind;                   /* crdt_org_kind */
  char fingerprint[CRDT_FPR_LEN];  /* of org, as crdt_fingerprint writes it */
  char la[CRDT_STR_MAX + 1];       /* the name of the LA org its directory
                                      lists ("" when it lists none) */
  uint8_t *cert;                   /* its org certificate (malloc'd) */
  size_t cert_len;
} node_dir_org;

/* The orgs of every trusted LA's directory that this node would share
 * with or transfer to at now_ms (their certificate passes
 * node_org_cert_check: unrevoked, in date, from a trusted LA), this node's
 * own org left out, sorted by name then fingerprint; an org listed by two
 * LAs appears once. For roles that may share or transfer (BT_EDENIED
 * otherwise). A directory not held yet adds nothing. Free with
 * node_dir_orgs_free. */
int node_dir_orgs_as(node_store *s, node_role role, uint64_t now_ms, node_dir_org **out,
                     size_t *n);
void node_dir_orgs_free(node_dir_org *v, size_t n); /* NULL is a no-op */

#endif
