/* cli/setup.h: the commands that set a network up (docs/cli.md, "Setting
 * a network up"): an LA's root key and directory (cli/root.c, cli/dir.c),
 * an org's certificate and trust anchors (cli/org.c), a second device of
 * an org (cli/enrol.c), peers and syncing now (cli/peer.c).
 *
 * They are node-administrator actions: whoever can open the store (holds
 * its key file or passphrase) may run them; no staff sign-in. None reads
 * or writes a case file.
 *
 * The helpers below are shared by those modules. */
#ifndef BT_CLI_SETUP_H
#define BT_CLI_SETUP_H

#include <jansson.h>
#include <stdint.h>

#include "cli/args.h"
#include "crdt/cert.h"
#include "node/store.h"

extern const cli_cmd cli_root_create_cmd, cli_root_show_cmd, cli_root_certify_cmd;
extern const cli_cmd cli_directory_cmd, cli_directory_publish_cmd, cli_directory_revoke_cmd;
extern const cli_cmd cli_org_request_cmd, cli_org_install_cmd, cli_anchor_add_cmd,
  cli_anchors_cmd;
extern const cli_cmd cli_enrol_issue_cmd, cli_enrol_request_cmd, cli_enrol_answer_cmd,
  cli_enrol_accept_cmd;
extern const cli_cmd cli_peer_add_cmd, cli_peer_list_cmd, cli_peer_remove_cmd, cli_sync_cmd;

/* The wall clock, Unix ms. */
uint64_t cli_setup_now(void);

/* An org certificate as people and scripts see it: {"name", "kind",
 * "urn"?, "laestab"?, "fingerprint" (of the org's signing key),
 * "issuer" (the fingerprint of the key that signed it), "valid_from",
 * "valid_until"}. NULL: out of memory. */
json_t *cli_setup_cert_json(const crdt_cert *c);
/* "Hillside Primary (school) RRFH-..." into buf, for notes and messages. */
void cli_setup_cert_line(const crdt_cert *c, char *buf, size_t len);
/* Text rows of cli_setup_cert_json's object. */
void cli_setup_cert_text(const json_t *o);

/* What a certificate or chain error means for the person installing or
 * publishing: one sentence with what to do. */
const char *cli_setup_cert_why(int rc);

/* The store, opened by cli_store_open's rules: CLI_OK, or CLI_ERROR (said). */
int cli_setup_open(const cli_ctx *c, node_store **s);

#endif
