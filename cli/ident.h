/* cli/ident.h: who this node is -- its device and its org -- as the JSON
 * objects `init` and `status` show, and their text form.
 *
 *   device: {"fingerprint"}
 *   org:    {"name", "kind", "urn"?, "laestab"?, "fingerprint",
 *            "certificate": "provisional" | "certified",
 *            "issuer"? (the LA root's fingerprint, when certified),
 *            "valid_from", "valid_until"}
 *
 * Fingerprints are crdt_fingerprint's, for reading aloud and comparing out
 * of band. Nothing here is secret or about a child. */
#ifndef BT_CLI_IDENT_H
#define BT_CLI_IDENT_H

#include <jansson.h>

#include "node/store.h"

/* *device and *org (NULL when the node has no org yet: BT_OK still).
 * Errors as node_org_get, crdt_cert_decode; BT_ENOMEM. */
int cli_ident_json(node_store *s, json_t **device, json_t **org);

/* Text rows for doc's "device" and "org" members. */
void cli_ident_text(const json_t *doc);

/* The org kind's name ("school") or NULL; and back (BT_EINVAL). */
const char *cli_ident_kind_name(uint32_t kind);
int cli_ident_kind_parse(const char *name, uint32_t *kind);

#endif
