/* node/share.h: sharing a case file with another org, and taking it back
 * (issue 4; docs/access.md; domain.md "Sharing").
 *
 * Every function here authors ops that crdt/access.h judges on every node;
 * node/ checks the staff role first (NODE_DO_SHARE: DSL and deputy) and
 * that this node's org holds the file. Each grant, revoke and decision is
 * an op in the file, so the file itself is the record of every decision to
 * share or not.
 *
 * Key handling: a grant with history "all" boxes every epoch's secret to
 * the grantee; "from now" starts a new epoch first and boxes only its
 * secret (plus the control keys of earlier epochs, so the grantee judges
 * access like everyone else). A revoke, or an expiry found when this node
 * next writes, starts a new epoch boxed only to those who keep access. */
#ifndef BT_NODE_SHARE_H
#define BT_NODE_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/access.h"
#include "node/store.h"
#include "node/users.h"

typedef struct {
  const uint8_t *org_cert;   /* the grantee's org certificate (directory) */
  size_t org_cert_len;
  uint32_t purpose;          /* crdt_purpose */
  uint32_t basis;            /* crdt_basis */
  const char *consent_by;    /* consent: who gave it */
  const char *consent_how;   /* consent: how */
  uint32_t consent_on;       /* consent: yyyymmdd */
  const char *reason;        /* without consent: why, in words */
  uint64_t expires_at;       /* Unix ms, 0 = none */
  uint32_t rights;           /* crdt_rights */
  uint32_t history;          /* crdt_history */
} node_grant_req;

/* Grants an org access to a file. Errors: BT_EDENIED (role, or this org
 * does not hold the file), BT_EMISSING (no lawful basis, or an incomplete
 * one: consent without who, how or when; no consent without a reason),
 * BT_EINVAL (bad enum values), certificate errors for the grantee
 * (BT_EANCHOR, BT_ESELFSIGNED, BT_EREVOKED, BT_EEXPIRED), BT_EDUP (the org
 * already has a live grant). *grant is the grant op's id. */
int node_grant_as(node_store *s, const char *user, node_role role,
                  const uint8_t file[CRDT_FILE_LEN], const node_grant_req *g, crdt_id *grant);

/* Ends a grant and starts a new epoch without its grantee. BT_EDENIED,
 * BT_ENOTFOUND (no such live grant), BT_EMISSING (no reason). */
int node_revoke_as(node_store *s, const char *user, node_role role,
                   const uint8_t file[CRDT_FILE_LEN], const crdt_id *grant, const char *reason);

/* Revokes the grants that have expired by now_ms, with one new epoch.
 * Does nothing (BT_OK) unless this org holds the file. *n = revoked. */
int node_expire(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint64_t now_ms, size_t *n);

/* ---- extracts ---------------------------------------------------------- */

/* A consent-scoped share as its own file: creates a new file (own keys)
 * whose front sheet carries the child's names and date of birth, one copy
 * op per chosen entry (each naming the op it came from, with that op's
 * body byte for byte), and a grant of it to the partner (g; its history
 * policy is moot: the extract holds only what was chosen). The main file
 * records the decision to share. The extract carries the tag "extract"
 * (a TAG_ADD op, right after its creation): counts (users.h) skip files
 * with it, as the child is counted in the main file. Everything that can
 * be refused is checked before the extract is created, so an error leaves
 * no file behind (only a storage error part way can). Errors: as
 * node_grant_as (BT_EDUP: the grantee is this org; BT_EDENIED: this org
 * does not hold file), BT_ENOTFOUND (an id that is not a visible entry of
 * file), BT_EINVAL (n == 0), BT_ETOOBIG (an entry too large to copy),
 * BT_EMISSING (no name or date of birth to copy). *extract is the new
 * file. */
/* The tag every extract carries (a copy of part of another file, made for
 * a partner). */
#define NODE_EXTRACT_TAG "extract"

int node_extract_as(node_store *s, const char *user, node_role role,
                    const uint8_t file[CRDT_FILE_LEN], const crdt_id *entries, size_t n,
                    const node_grant_req *g, uint8_t extract[CRDT_FILE_LEN]);

/* Links an entry of an extract (a partner's reply) back into the main
 * file as a copy naming it. BT_ENOTFOUND if reply is not an entry of
 * extract. */
int node_extract_link_as(node_store *s, const char *user, node_role role,
                         const uint8_t file[CRDT_FILE_LEN],
                         const uint8_t extract[CRDT_FILE_LEN], const crdt_id *reply,
                         crdt_id *out);

/* Verifies a copy entry's provenance: its source op is stored here, in the
 * file the copy names, and decrypts to exactly the copied body. BT_OK;
 * BT_ENOTFOUND (the source is not held here: a partner only sees that the
 * copy was made by a member of the org holding the extract, which the
 * access rules check); BT_EFILE (the source is in another file);
 * BT_EINVAL (the body differs); BT_EEPOCH (source unreadable here). */
int node_copy_verify(node_store *s, const crdt_cf_entry *copy);

/* The access state at the heads as this node reads it (borrowed from the
 * materialised file: valid until the next node_casefile call or write). */
int node_access(node_store *s, const uint8_t file[CRDT_FILE_LEN], const crdt_access **out);

#endif
