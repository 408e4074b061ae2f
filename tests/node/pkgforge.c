/* tests/node/pkgforge.c: forged packages (pkgforge.h). */
#define _POSIX_C_SOURCE 200809L
#include "node/pkgforge.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/org.h"
#include "node/package.h"
#include "node/store.h"
#include "node/store_int.h"
#include "node/users.h"

const node_pkg_opts pkgforge_pass_opts = {
  .pass = PKGFORGE_PASS, .pass_len = sizeof(PKGFORGE_PASS) - 1, .opslimit = NODE_PKG_OPS_MIN,
  .memlimit = NODE_PKG_MEM_MIN};

void pkgforge_file(party *holder, party *grantee, uint8_t file[CRDT_FILE_LEN])
{
  node_grant_req g = party_consent_req(grantee, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_id grant;

  party_new_file(holder, file);
  cr_assert_eq(party_note(holder, file, "home visit", NULL), BT_OK);
  cr_assert_eq(party_note(holder, file, "call with social worker", NULL), BT_OK);
  cr_assert_eq(node_grant_as(holder->s, "dsl.jones", NODE_ROLE_DSL, file, &g, &grant), BT_OK);
  cr_assert_eq(party_note(holder, file, "after the grant", NULL), BT_OK);
}


/* A passphrase package of envs and keys, signed by from's device with its
 * real (certified) certificates. */
uint8_t *forge_keys(party *from, const uint8_t *file, const proto_pkg_key *keys,
                           size_t nkeys, const bt_bytes *envs, size_t n, size_t *len)
{
  uint8_t salt[PROTO_PKG_SALT_LEN], nonce[PROTO_PKG_NONCE_LEN], key[32], *plain, *pkg;
  proto_pkg h = {.kind = PROTO_PKG_PASS, .opslimit = NODE_PKG_OPS_MIN,
                 .memlimit = NODE_PKG_MEM_MIN};
  size_t plen = proto_pkg_payload_len(envs, n, nkeys), hl;
  unsigned long long clen;
  node_org o;

  cr_assert_eq(node_org_get(from->s, &o), BT_OK);
  randombytes_buf(salt, sizeof(salt));
  randombytes_buf(nonce, sizeof(nonce));
  h.salt = salt;
  h.nonce = nonce;
  h.signer = from->s->device_pk;
  h.device_cert = (bt_bytes){o.device_cert, o.device_cert_len};
  h.org_cert = (bt_bytes){o.org_cert, o.org_cert_len};
  hl = proto_pkg_head_len(&h);
  *len = hl + plen + PROTO_PKG_TAG_LEN + PROTO_PKG_SIG_LEN;
  plain = malloc(plen);
  pkg = malloc(*len);
  proto_pkg_payload_write(file, keys, nkeys, envs, n, plain);
  proto_pkg_head_write(&h, plen + PROTO_PKG_TAG_LEN, pkg);
  cr_assert_eq(crypto_pwhash(key, 32, PKGFORGE_PASS, sizeof(PKGFORGE_PASS) - 1, salt, h.opslimit,
                             (size_t)h.memlimit, crypto_pwhash_ALG_ARGON2ID13), 0);
  crypto_aead_xchacha20poly1305_ietf_encrypt(pkg + hl, &clen, plain, plen, pkg, hl, NULL, nonce,
                                             key);
  crypto_sign_detached(pkg + *len - 64, NULL, pkg, *len - 64,
                       node_secret_bytes(from->s->device));
  node_org_clear(&o);
  free(plain);
  return pkg;
}

/* The stored envelopes of file at p. *envs and each p are malloc'd. */
size_t envelopes(party *p, const uint8_t *file, bt_bytes **envs)
{
  crdt_id ids[256];
  size_t n;

  cr_assert_eq(node_file_ops(p->s, file, ids, 256, &n), BT_OK);
  *envs = calloc(n + 1, sizeof(**envs));
  for (size_t i = 0; i < n; i++) {
    crdt_op *op;
    cr_assert_eq(node_op_get(p->s, &ids[i], &op), BT_OK);
    uint8_t *c = malloc(op->env_len);
    memcpy(c, op->env, op->env_len);
    (*envs)[i] = (bt_bytes){c, op->env_len};
    crdt_op_free(op);
  }
  return n;
}

void envelopes_free(bt_bytes *envs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free((void *)envs[i].p);
  free(envs);
}
