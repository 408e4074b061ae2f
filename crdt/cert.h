/* crdt/cert.h: certificates, fingerprints: who is who (DESIGN.md "Org",
 * "Device", "Trust anchor").
 *
 * An LA root key (a trust anchor) certifies the orgs of its area; an org
 * certifies its devices. A certificate is canonical msgpack:
 *
 *   cert = fixarray(2) [ record, sig bin(64) ]
 *   sig  = Ed25519(issuer key, "baton/cert/1" || record as encoded)
 *
 * where record is a schema record (schema.h) with the fields of
 * crdt_cert_body. Its id is BLAKE2b-256 of the whole encoding; revocations
 * name ids or subject keys. Pure: the caller passes the time. */
#ifndef BT_CRDT_CERT_H
#define BT_CRDT_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "types.h"

#define CRDT_CERT_MAX 2048

typedef enum { CRDT_CERT_ORG = 1, CRDT_CERT_DEVICE } crdt_cert_kind;

typedef enum {
  CRDT_ORG_SCHOOL = 1, CRDT_ORG_LA, CRDT_ORG_MASH, CRDT_ORG_POLICE, CRDT_ORG_HEALTH
} crdt_org_kind;

typedef struct {
  uint32_t kind;        /* crdt_cert_kind */
  crdt_id subject;      /* the Ed25519 public key certified */
  crdt_id box;          /* org: its X25519 key, for wrapping file keys to it */
  bt_str name;          /* org name, or a device's name ("DSL laptop") */
  uint32_t org_kind;    /* org: crdt_org_kind */
  bt_str urn;           /* org: 6 digits (school register), optional */
  bt_str laestab;       /* org: 7 digits (LA + establishment), optional */
  uint64_t not_before;  /* Unix ms */
  uint64_t not_after;   /* Unix ms */
  crdt_id issuer;       /* the Ed25519 key that signs this certificate */
} crdt_cert_body;

const crdt_schema *crdt_cert_schema(void);

typedef struct crdt_cert {
  crdt_cert_body b;  /* slices point into the cert's own bytes */
  crdt_id id;
  const uint8_t *enc;
  size_t enc_len;
} crdt_cert;

/* Encodes and signs b with the issuer's secret key, whose public half must
 * be b->issuer (BT_EINVAL otherwise). *out is malloc'd. Errors: the schema
 * errors (an org cert needs a box key and kind, a device cert has neither;
 * URN and LAESTAB digits), BT_ENOMEM. */
int crdt_cert_sign(const crdt_cert_body *b, const uint8_t issuer_sk[CRDT_SK_LEN],
                   uint8_t **out, size_t *len);

/* Strictly decodes a certificate and checks its signature against its
 * issuer field. Errors: decode errors, BT_ENONCANON, BT_ESIG, BT_ETOOBIG. */
int crdt_cert_decode(const uint8_t *p, size_t len, crdt_cert **out);
void crdt_cert_free(crdt_cert *c);

/* Whether device (a device cert) and org (an org cert) form a chain to one
 * of the anchors, valid at now_ms, with nothing in it revoked (revoked holds
 * cert ids or subject keys). Each defect has its own reason, checked in
 * this order: BT_ECHAIN (kinds), BT_ESELFSIGNED, BT_ECHAIN (device not
 * issued by this org), BT_EANCHOR, BT_EREVOKED, BT_EEXPIRED. */
int crdt_chain_check(const crdt_cert *device, const crdt_cert *org, const crdt_id *anchors,
                     size_t nanchors, uint64_t now_ms, const crdt_id *revoked,
                     size_t nrevoked);

/* A key's fingerprint for people to read aloud and compare: BLAKE2b-160 of
 * the key in Crockford base32, eight groups of four ("7QKM-..."). */
#define CRDT_FPR_LEN 40 /* with the NUL */
void crdt_fingerprint(const uint8_t *key, size_t len, char out[CRDT_FPR_LEN]);

#endif
