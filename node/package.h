/* node/package.h: transfer packages, for a school without a running node
 * (docs/package.md; layout in proto/package.h).
 *
 * A package is one encrypted, signed file holding every op envelope of one
 * case file, as sync would send them:
 * - org mode: sealed to the recipient org's X25519 box key. The recipient
 *   must already read the file through a keybox in it (a live grant, e.g.
 *   a transfer's; or it holds the file), so it reads the ops exactly as
 *   after a sync; the package carries no keys.
 * - passphrase mode: the package key comes from a passphrase (Argon2id),
 *   and the package also carries the file's epoch keys. The importer reads
 *   the file but is no grantee: it cannot write into it.
 * Both are signed by the sender's device key over the whole file, and carry
 * the sender's device and org certificates, checked against the importer's
 * trust anchors before anything is decrypted.
 *
 * Import is all-or-nothing: every envelope is decoded and its signature
 * checked, every op must be of the package's file, and all are stored in
 * one write transaction that is aborted if any op would be rejected or
 * buffered (the package must hold the whole file), so a refused package
 * leaves the store as it was. Import then makes a receipt for the sender:
 * - org mode: the importer writes a chronology entry saying it received the
 *   file (and so its member op), and the receipt is an org-mode package of
 *   the ops this org authored in the file, sealed to the sender's org; the
 *   sender imports it like any package and sees them through normal ingest.
 *   If this org may not write the file (a read-only grant), the receipt is
 *   a signed receipt document instead, as in passphrase mode.
 * - passphrase mode: a small receipt document signed by this device
 *   (proto_pkg_receipt: package hash, file, op count, time, device, user).
 *   The sender imports it and it is recorded in the file as a chronology
 *   entry (category transfer).
 *
 * Every function checks the user's role (NODE_DO_TRANSFER) and writes an
 * audit record (node/audit.h) before reporting success. Threads: as
 * node_store. */
#ifndef BT_NODE_PACKAGE_H
#define BT_NODE_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/types.h"
#include "node/store.h"
#include "node/users.h"
#include "proto/package.h"

#define NODE_PKG_MAX PROTO_PKG_MAX
/* Argon2id limits an importer accepts (a hostile package must not demand
 * absurd memory or time, nor a weak key): */
#define NODE_PKG_OPS_MIN 2U                           /* = OPSLIMIT_INTERACTIVE */
#define NODE_PKG_OPS_MAX 8U
#define NODE_PKG_MEM_MIN ((uint64_t)64 << 20)         /* = MEMLIMIT_INTERACTIVE */
#define NODE_PKG_MEM_MAX ((uint64_t)256 << 20)        /* = MEMLIMIT_MODERATE */

/* Finds the org a user means by query: an exact org name, or a prefix of
 * at least 4 characters of its fingerprint (dashes and case ignored), or
 * of at least 8 hex digits of its signing key. Looked for among the
 * file's holder and grantees, then in the directories of this node's
 * anchors. *org is its signing key; *in_file says whether it can read the
 * file (holder or live grant). Errors: BT_ENOTFOUND, BT_EDUP (several
 * orgs match: be more precise), BT_ENOFILE. */
int node_package_find_org(node_store *s, const uint8_t file[CRDT_FILE_LEN], const char *query,
                          crdt_id *org, int *in_file);

typedef struct {
  const crdt_id *to_org;      /* org mode: the recipient's signing key */
  const char *pass;           /* passphrase mode (exactly one of the two) */
  size_t pass_len;
  uint32_t opslimit;          /* Argon2id; 0: crypto_pwhash_OPSLIMIT_MODERATE */
  uint64_t memlimit;          /* 0: crypto_pwhash_MEMLIMIT_MODERATE */
  int own_ops_only;           /* only ops by devices of this org (receipts) */
} node_pkg_opts;

/* Writes a package of file into *out (malloc'd, *len bytes). Errors:
 * BT_EDENIED (role), BT_ENOFILE, BT_ENOTFOUND (org mode: the recipient
 * cannot read the file: start a transfer or grant first), BT_EINVAL (both
 * or neither mode; the recipient is this org; limits outside the accepted
 * range), BT_ESELFSIGNED (this org's certificate is provisional: install
 * the LA's first), BT_EMISSING (nothing to send), BT_ETOOBIG. */
int node_package_export(node_store *s, const char *user, node_role role,
                        const uint8_t file[CRDT_FILE_LEN], const node_pkg_opts *o,
                        uint8_t **out, size_t *len);

/* What a package file is, without any key: for the CLI to know whether to
 * ask for a passphrase and to say who it is for. */
typedef struct {
  uint32_t kind;              /* proto_pkg_kind */
  crdt_id signer;
  crdt_id to_org;             /* org mode */
} node_pkg_info;

int node_package_info(const uint8_t *p, size_t len, node_pkg_info *out);

typedef struct {
  uint32_t kind;              /* proto_pkg_kind of what was imported */
  uint8_t file[CRDT_FILE_LEN];
  size_t nops, stored, duplicate;
  int new_file;               /* the file was not held here before */
  uint8_t hash[32];           /* BLAKE2b-256 of the package */
  crdt_id sender_org;         /* zero for an uncertified receipt */
  char sender_name[CRDT_STR_MAX + 1];
  int certified;              /* receipts: its sender chains to our anchors */
  uint8_t *receipt;           /* for the sender, when new_file (else NULL) */
  size_t receipt_len;
  uint32_t receipt_kind;      /* PROTO_PKG_ORG or PROTO_PKG_RECEIPT */
  int receipt_err;            /* the package was stored, but no receipt could be
                                 made (this error): export one to the sender */
  crdt_id recorded;           /* receipts: the chronology entry made */
} node_pkg_result;

/* Imports a package or a receipt (pass is needed for passphrase mode
 * only). On success fills *r (free with node_pkg_result_clear); a
 * package stored when no receipt could be made is still a success, with
 * r->receipt NULL and r->receipt_err set. Errors,
 * with nothing stored: BT_ETOOBIG, parse errors (BT_EPROTO, BT_ETRUNC,
 * BT_ETRAILING, BT_EVERSION, BT_EMISSING), BT_ESIG (package signature or
 * an op's), certificate errors (BT_EANCHOR, BT_ESELFSIGNED, BT_EEXPIRED,
 * BT_EREVOKED, BT_ECHAIN), BT_EDECRYPT (sealed to another org; wrong
 * passphrase; tampered), BT_EINVAL (Argon2id limits out of range; bad
 * key), BT_EFILE (an op of another file), BT_EPARENTS (the package does
 * not hold the whole file), BT_EPASS (passphrase needed), ingest reasons;
 * for receipts BT_ENOFILE (not a file held here) and BT_EDUP (recorded
 * already). BT_EDENIED (role). */
int node_package_import(node_store *s, const char *user, node_role role, const uint8_t *p,
                        size_t len, const char *pass, size_t pass_len, node_pkg_result *r);
void node_pkg_result_clear(node_pkg_result *r);

/* Reads a package file: size checked (BT_ETOOBIG above NODE_PKG_MAX)
 * before reading. *out is malloc'd. Negative errno. */
int node_package_read(const char *path, uint8_t **out, size_t *len);
/* Writes atomically (a temporary file beside it, fsync, rename), mode
 * 0600. BT_EDUP if path exists (never overwrites). Negative errno. */
int node_package_write(const char *path, const uint8_t *p, size_t len);

#endif
