/* cli/orgref.h: an org named on the command line, found in the LA
 * directories this node trusts (one per installed anchor: node/dir.h).
 *
 * REF may be the org's exact name (ASCII case ignored), its URN or
 * LAESTAB, or its fingerprint (as `baton directory` and `baton status`
 * print it; dashes and case ignored), whole or a prefix of at least 8
 * characters. Revoked, expired and not-yet-valid certificates never match
 * (a message says so when they were the only match); two matches are an
 * error that lists them, so a person picks by fingerprint. */
#ifndef BT_CLI_ORGREF_H
#define BT_CLI_ORGREF_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "crdt/cert.h"
#include "node/store.h"

typedef struct {
  uint8_t *cert;                  /* the org certificate (malloc'd) */
  size_t cert_len;
  char name[129];
  char fingerprint[CRDT_FPR_LEN];
  uint32_t kind;                  /* crdt_org_kind */
} cli_org;

/* Finds REF (or, with ref NULL, the one LA org listed in the directories:
 * for transfers whose new school is unknown). CLI_OK and *out (free with
 * cli_org_free); CLI_ERROR said why. */
int cli_org_find(const cli_ctx *c, node_store *s, const char *ref, uint64_t now_ms,
                 cli_org *out);
void cli_org_free(cli_org *o);

#endif
