/* node/org.h: the node's organisation, its certificates and trust anchors
 * (DESIGN.md "Org", "Device", "Trust anchor"; docs/access.md).
 *
 * A node belongs to one org. The org has an Ed25519 signing key (it
 * certifies the org's devices) and an X25519 box key (keyboxes are sealed
 * to it); every device of the org holds both, wrapped under the data key
 * like every other secret. The org certificate comes from the LA root; until
 * it is installed the org certifies itself (a provisional, self-signed
 * certificate: files work locally, peers do not accept it).
 *
 * An LA node may also hold an LA root key: the trust anchor it certifies
 * its area's orgs with. A root key is a long-lived secret: in a real
 * deployment it lives on a node kept offline.
 *
 * Trust: anchors (root public keys) and revoked ids or keys are local
 * settings; node_chain_check applies them with the time passed in. */
#ifndef BT_NODE_ORG_H
#define BT_NODE_ORG_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/cert.h"
#include "crdt/types.h"
#include "node/secret.h"
#include "node/store.h"

#define NODE_CERT_DAYS_DEFAULT 825 /* validity of certificates we issue */

typedef struct {
  uint32_t kind;        /* crdt_org_kind */
  const char *name;
  const char *urn;      /* 6 digits or NULL */
  const char *laestab;  /* 7 digits or NULL */
} node_org_info;

/* The org of this node, as installed. Byte buffers are malloc'd: free with
 * node_org_clear. */
typedef struct {
  crdt_id sign_pk;
  crdt_id box_pk;
  uint8_t *org_cert;    /* from the LA, or provisional (self-signed) */
  size_t org_cert_len;
  uint8_t *device_cert; /* this device, signed by the org */
  size_t device_cert_len;
  int provisional;      /* org_cert is self-signed */
} node_org;

/* Creates the org of this node: fresh signing and box keys, a provisional
 * org certificate and this device's certificate. BT_EDUP if the node has
 * an org; schema errors for bad names, URN or LAESTAB. */
int node_org_create(node_store *s, const node_org_info *info);

/* BT_ENOTFOUND when the node has no org yet. */
int node_org_get(node_store *s, node_org *out);
void node_org_clear(node_org *o);

/* Installs an org certificate issued by an LA: it must certify this org's
 * signing and box keys and chain to an installed anchor, in date at now_ms
 * (BT_EINVAL: not ours; chain errors as crdt_chain_check). */
int node_org_install(node_store *s, const uint8_t *cert, size_t len, uint64_t now_ms);

/* Org secret keys, for enrolment and keyboxes: sodium_malloc'd copies. */
int node_org_sign_sk(node_store *s, node_secret **out); /* CRDT_SK_LEN */
int node_org_box_sk(node_store *s, node_secret **out);  /* 32 bytes */

/* Signs a device certificate for another device of this org (enrolment). */
int node_org_certify_device(node_store *s, const uint8_t device_pk[CRDT_PK_LEN],
                            const char *name, uint64_t now_ms, uint8_t **cert, size_t *len);

/* Installs org keys and certificates received through enrolment, for a
 * node that has no org yet: the device certificate must name this node's
 * device key and be signed by sign_sk's public half. */
int node_org_adopt(node_store *s, const uint8_t sign_sk[CRDT_SK_LEN], const uint8_t box_sk[32],
                   const uint8_t *org_cert, size_t org_len, const uint8_t *dev_cert,
                   size_t dev_len);

/* ---- LA root ---------------------------------------------------------- */

/* Creates this node's LA root key and installs it as an anchor. BT_EDUP. */
int node_root_create(node_store *s, crdt_id *pk);
/* BT_ENOTFOUND if this node holds no root key. */
int node_root_pk(node_store *s, crdt_id *pk);
int node_root_sk(node_store *s, node_secret **out);
/* Issues an org certificate from an org's provisional certificate (its
 * request: self-signed, so it proves the org holds its signing key), valid
 * from now_ms for days. BT_EINVAL if req is not a self-signed org cert. */
int node_root_certify(node_store *s, const uint8_t *req, size_t req_len, uint64_t now_ms,
                      uint32_t days, uint8_t **cert, size_t *len);

/* ---- trust ------------------------------------------------------------ */

int node_anchor_add(node_store *s, const crdt_id *pk);
/* Up to max anchors ascending, total in *n. */
int node_anchors(node_store *s, crdt_id *out, size_t max, size_t *n);
/* Revokes a certificate id or subject key locally (from the directory). */
int node_revoked_add(node_store *s, const crdt_id *id);
int node_revoked(node_store *s, crdt_id *out, size_t max, size_t *n);

/* Checks an org certificate alone (a grantee's, from the directory):
 * issued by an installed anchor, unrevoked, in date. Errors as
 * crdt_chain_check. On BT_OK and out non-NULL, *out is the decoded cert. */
int node_org_cert_check(node_store *s, const uint8_t *cert, size_t len, uint64_t now_ms,
                        crdt_cert **out);

/* crdt_chain_check with this node's anchors and revocations. */
int node_chain_check(node_store *s, const uint8_t *device_cert, size_t dlen,
                     const uint8_t *org_cert, size_t olen, uint64_t now_ms);

#endif
