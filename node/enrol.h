/* node/enrol.h: enrolling another device of this node's org (a DSL's
 * laptop) with a one-time code (docs/enrol.md).
 *
 * The org's node issues a code a person reads and types:
 *
 *   IIIS-SSSS-SSSS-SSSS-SSSC   20 Crockford base32 symbols, in groups of 4
 *
 * III is the code's id (15 bits, shown in lists and logs), S... its secret
 * (80 bits, never stored: the node keeps a hash of the code, wrapped under
 * the data key), C a check symbol that catches most typing errors on the
 * new device before they cost an attempt. Input is case-insensitive,
 * ignores '-' and spaces, and reads O as 0 and I, L as 1.
 *
 * The exchange is bytes, carried by the caller (a file, later the sync
 * link): the new device makes a request (node_enrol_request), the org's
 * node answers it (node_enrol_answer), the new device installs the answer
 * (node_enrol_accept). A code works once, until it expires; NODE_ENROL_TRIES
 * wrong codes for one id burn it, and NODE_ENROL_GUARD_FAILS requests for
 * unknown ids lock all enrolment for NODE_ENROL_GUARD_MS.
 *
 * Threads: as node_store. Every function returns 0 or a bt_err; results go
 * through out-parameters only on success. */
#ifndef BT_NODE_ENROL_H
#define BT_NODE_ENROL_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/cert.h"
#include "node/store.h"

#define NODE_ENROL_CODE_LEN 25         /* "XXXX-XXXX-XXXX-XXXX-XXXX" and NUL */
#define NODE_ENROL_ID_LEN 3            /* symbols of the id */
#define NODE_ENROL_NAME_MAX 128        /* bytes of a device name (as certificates) */
#define NODE_ENROL_TTL_MAX (7 * 86400000ull) /* longest life of a code */
#define NODE_ENROL_TRIES 5             /* wrong codes that burn a code */
#define NODE_ENROL_GUARD_FAILS 20      /* unknown ids before enrolment locks */
#define NODE_ENROL_GUARD_MS (15 * 60 * 1000)
#define NODE_ENROL_REQ_LEN 132         /* a request is always this long */
/* An answer: 4 + sealed(48 + 64 + 32 + 2 + org cert + 2 + device cert) + 32. */
#define NODE_ENROL_ANS_MAX (184 + 2 * CRDT_CERT_MAX)

/* Issues a code for a device to be called device_name (1..128 bytes of
 * one-line UTF-8: it goes in the device certificate), valid from now_ms for
 * ttl_ms (1..NODE_ENROL_TTL_MAX). code gets the code, NUL-terminated: show
 * it to the person enrolling and do not keep or log it. Errors: BT_EINVAL,
 * BT_ENOTFOUND (this node has no org), store errors. */
int node_enrol_issue(node_store *s, const char *device_name, uint64_t ttl_ms, uint64_t now_ms,
                     char code[NODE_ENROL_CODE_LEN]);

/* On the new device (a node with no org yet): a request carrying this
 * node's device key, authenticated with the code and signed with the device
 * key. *req (NODE_ENROL_REQ_LEN bytes) is malloc'd: the caller frees it.
 * Errors: BT_EINVAL (not a code, or mistyped), BT_EDUP (this node already
 * has an org), BT_ENOMEM. */
int node_enrol_request(node_store *s, const char *code, uint8_t **req, size_t *len);

/* On the org's node: checks a request at now_ms and answers it with the
 * org's keys, its certificate and a new device certificate, sealed to the
 * requesting device and authenticated with the code. The code is marked
 * used in the transaction that lets the answer out; *ans is malloc'd (the
 * caller frees it; it holds org secrets, but only the requesting device can
 * open them). Errors, in the order they are checked:
 *   BT_EVERSION, BT_EPROTO (not a request: wrong length or id symbols),
 *   BT_ENOTFOUND (this node has no org), BT_EINVAL (the request names this
 *   node's own device key), BT_ELOCKED (enrolment locked after unknown
 *   ids, or this code burned after NODE_ENROL_TRIES wrong codes),
 *   BT_EPASS (unknown id, or wrong code: counted), BT_ESIG (the device key
 *   did not sign it: counted), BT_EDUP (code already used),
 *   BT_EEXPIRED, store errors.
 * Only counted failures write anything; a refused request gets no answer. */
int node_enrol_answer(node_store *s, const uint8_t *req, size_t len, uint64_t now_ms,
                      uint8_t **ans, size_t *alen);

/* On the new device: checks an answer against the code the request was made
 * with and installs the org keys and certificates (node_org_adopt).
 * Errors: BT_EINVAL (not a code; or certificates that do not fit this
 * device), BT_EVERSION, BT_EPROTO (malformed), BT_EAUTH (not answered by
 * the holder of this code for this device: tampered or substituted),
 * BT_EDUP (this node already has an org), decode errors of the
 * certificates, store errors. Nothing is stored unless every check passes. */
int node_enrol_accept(node_store *s, const char *code, const uint8_t *ans, size_t alen);

/* What the org's node keeps about a code (never the code itself). */
typedef struct {
  char id[NODE_ENROL_ID_LEN + 1];     /* the code's first symbols: may be logged */
  char name[NODE_ENROL_NAME_MAX + 1]; /* the device name given at issue */
  uint64_t issued_ms, expires_ms;
  unsigned failures;                  /* wrong codes so far */
  int used;                           /* answered once */
  uint8_t device_pk[32];              /* the device it enrolled, if used */
} node_enrol_info;

/* Up to max codes in id order, the total in *n. BT_ECORRUPT for a damaged
 * record. */
int node_enrol_list(node_store *s, node_enrol_info *out, size_t max, size_t *n);

#endif
