/* node/pkg_int.h: what package.c and pkgrcpt.c share. Not an API. */
#ifndef BT_NODE_PKG_INT_H
#define BT_NODE_PKG_INT_H

#include "node/package.h"
#include "proto/package.h"

/* Signs p[0..signed_len) with the device key into p[signed_len..+64). */
int node__pkg_sign(node_store *s, uint8_t *p, size_t signed_len);
/* Checks the certificates of h: they must name the signer; with required,
 * they must be there and chain to our anchors (else their errors). Fills
 * r->sender_org, sender_name and certified. */
int node__pkg_sender(node_store *s, const proto_pkg *h, int required, node_pkg_result *r);
/* After a package was imported: makes the receipt for its sender into r. */
int node__pkg_answer(node_store *s, const char *user, node_role role, const proto_pkg *h,
                     node_pkg_result *r);
/* Imports a receipt document: records it in its file (r->recorded). */
int node__pkg_record(node_store *s, const char *user, node_role role, const proto_pkg *h,
                     node_pkg_result *r);

#endif
