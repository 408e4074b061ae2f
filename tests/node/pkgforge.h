/* tests/node/pkgforge.h: hostile transfer packages for the package tests,
 * forged with a sender's own device key (as a compromised or buggy sender
 * could), and the stored envelopes of a file to put in them. Criterion
 * fixture code: failures are assertions. */
#ifndef BT_TESTS_NODE_PKGFORGE_H
#define BT_TESTS_NODE_PKGFORGE_H

#include <stddef.h>
#include <stdint.h>

#include "node/parties.h"
#include "node/package.h"
#include "proto/package.h"

#define PKGFORGE_PASS "correct horse battery staple"

/* Export options for a passphrase package: PKGFORGE_PASS, the least cost. */
extern const node_pkg_opts pkgforge_pass_opts;

/* A file at holder with a few entries ("home visit", "call with social
 * worker", "after the grant"), granted (read and write, whole history) to
 * grantee by dsl.jones. */
void pkgforge_file(party *holder, party *grantee, uint8_t file[CRDT_FILE_LEN]);

/* A passphrase package (PKGFORGE_PASS, the least Argon2id cost) of file
 * holding keys[0..nkeys) and envs[0..n) as given, signed by from's device.
 * malloc'd; *len its size. */
uint8_t *forge_keys(party *from, const uint8_t *file, const proto_pkg_key *keys, size_t nkeys,
                    const bt_bytes *envs, size_t n, size_t *len);

/* The stored envelopes of file at p, in store order. *envs and each p are
 * malloc'd: envelopes_free. */
size_t envelopes(party *p, const uint8_t *file, bt_bytes **envs);
void envelopes_free(bt_bytes *envs, size_t n);

#endif
