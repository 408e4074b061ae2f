/* node/enrol.c: one-time enrolment codes (see enrol.h, docs/enrol.md).
 *
 * The code's 19 id and secret symbols hash (BLAKE2b, keyed by a context) to
 * a 32-byte code key; two subkeys (crypto_kdf) authenticate the request and
 * the answer. The secret is 80 uniformly random bits, not a chosen
 * passphrase, so a slow KDF would add little: online guesses are capped by
 * the attempt counters, and an offline search of a captured request must
 * cover 2^80 codes before the code is used or expires.
 *
 * The org's node keeps, per code, the code key wrapped under the data key
 * (the record's name as the label), never the code:
 *
 *   enrol/<id>  = version(1) | used(1) | failures(1) | name length(1) |
 *                 issued(8) | expires(8) | device(32) | wrapped key(72) | name
 *   enrol/guard = version(1) | failures(1) | 0(2) | locked until(8)
 *
 * integers little-endian, as in every stored value.
 *
 * An answer is released only by the transaction that marks its code used:
 * the request is judged once to learn whether to build an answer, the
 * answer is built, and the request is judged again in the transaction that
 * marks the code used (another process may have used it meanwhile). */
#include "node/enrol.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/schema.h"
#include "node/org.h"
#include "node/store_int.h"

#define VERSION 1
#define SYMS 20                          /* symbols in a code */
#define CANON (NODE_ENROL_ID_LEN + 16)   /* id and secret: the check is the last */
#define P_ENROL "enrol/"
#define KEY_LEN (sizeof(P_ENROL) - 1 + NODE_ENROL_ID_LEN)
#define K_GUARD "enrol/guard"
#define SUB_REQ 1                        /* crypto_kdf subkey ids */
#define SUB_ANS 2

/* Request: version(1) | id(3) | device key(32) | mac(32) | sig(64), where
 * mac = BLAKE2b-256 keyed by the request subkey over the first 36 bytes and
 * sig = Ed25519 by the device key over REQ_CTX and the first 68 bytes. */
#define R_PK 4
#define R_MAC 36
#define R_SIG 68
#define REQ_CTX "baton/enrol/req/1"
_Static_assert(R_SIG + 64 == NODE_ENROL_REQ_LEN, "request layout");

/* Answer: version(1) | id(3) | sealed | mac(32), where sealed is
 * crypto_box_seal to the X25519 form of the device key of
 *   org sign key(64) | org box key(32) | len(2, BE) | org cert | len(2, BE) | device cert
 * and mac = BLAKE2b-256 keyed by the answer subkey over the first 4 bytes,
 * the device key and sealed. */
#define PT_FIXED (64 + 32 + 2 + 2)
#define ANS_MIN (4 + crypto_box_SEALBYTES + PT_FIXED + 32)
_Static_assert(ANS_MIN + 2 * CRDT_CERT_MAX == NODE_ENROL_ANS_MAX, "answer layout");

#define REC_HDR (4 + 8 + 8 + 32 + 32 + NODE_WRAP_OVERHEAD)
#define GUARD_LEN 12

static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */

typedef struct {
  uint8_t used, failures;
  uint64_t issued, expires;
  uint8_t device[32];
  uint8_t wrapped[32 + NODE_WRAP_OVERHEAD];
  char name[NODE_ENROL_NAME_MAX + 1];
} rec;

typedef struct {
  uint8_t failures;
  uint64_t locked_until;
} guard;

typedef struct {
  const uint8_t *p; /* NODE_ENROL_REQ_LEN bytes */
  char key[KEY_LEN];
} request;

/* ---- codes -------------------------------------------------------------- */

static int sym_value(char c)
{
  if (c >= 'a' && c <= 'z')
    c = (char)(c - 'a' + 'A');
  if (c == 'O')
    c = '0';
  else if (c == 'I' || c == 'L')
    c = '1';
  for (int i = 0; i < 32; i++)
    if (alpha[i] == c)
      return i;
  return -1;
}

static char check_sym(const char sym[SYMS])
{
  static const char ctx[] = "baton/enrol/check";
  uint8_t h[16];

  crypto_generichash(h, sizeof(h), (const uint8_t *)sym, CANON, (const uint8_t *)ctx,
                     sizeof(ctx) - 1);
  return alpha[h[0] & 31];
}

/* The canonical symbols of a typed code, its check symbol verified. */
static int parse_code(const char *code, char sym[SYMS])
{
  size_t n = 0;
  int v;

  if (code == NULL)
    return BT_EINVAL;
  for (size_t i = 0; code[i] != '\0'; i++) {
    if (i >= 64)
      return BT_EINVAL;
    if (code[i] == '-' || code[i] == ' ')
      continue;
    if ((v = sym_value(code[i])) < 0 || n == SYMS)
      return BT_EINVAL;
    sym[n++] = alpha[v];
  }
  if (n != SYMS || sym[CANON] != check_sym(sym))
    return BT_EINVAL;
  return BT_OK;
}

static void format_code(const char sym[SYMS], char code[NODE_ENROL_CODE_LEN])
{
  size_t o = 0;

  for (int i = 0; i < SYMS; i++) {
    if (i > 0 && i % 4 == 0)
      code[o++] = '-';
    code[o++] = sym[i];
  }
  code[o] = '\0';
}

static void record_key(const char *id, char key[KEY_LEN])
{
  memcpy(key, P_ENROL, sizeof(P_ENROL) - 1);
  memcpy(key + sizeof(P_ENROL) - 1, id, NODE_ENROL_ID_LEN);
}

static int code_key(const char sym[SYMS], node_secret **out)
{
  static const char ctx[] = "baton/enrol/code/1";
  int rc = node_secret_random(out, 32);

  if (rc == 0)
    crypto_generichash((uint8_t *)node_secret_bytes(*out), 32, (const uint8_t *)sym, CANON,
                       (const uint8_t *)ctx, sizeof(ctx) - 1);
  return rc;
}

/* BLAKE2b-256 keyed by a subkey of the code key, over a, b and c. */
static void code_mac(const node_secret *k, uint64_t sub, const uint8_t *a, size_t alen,
                     const uint8_t *b, size_t blen, const uint8_t *c, size_t clen,
                     uint8_t mac[32])
{
  crypto_generichash_state st;
  uint8_t sk[32];

  crypto_kdf_derive_from_key(sk, sizeof(sk), sub, "btenrol1", node_secret_bytes(k));
  crypto_generichash_init(&st, sk, sizeof(sk), 32);
  crypto_generichash_update(&st, a, alen);
  if (blen)
    crypto_generichash_update(&st, b, blen);
  if (clen)
    crypto_generichash_update(&st, c, clen);
  crypto_generichash_final(&st, mac, 32);
  sodium_memzero(sk, sizeof(sk));
  sodium_memzero(&st, sizeof(st));
}

static void req_sig_msg(const uint8_t *q, uint8_t msg[sizeof(REQ_CTX) - 1 + R_SIG])
{
  memcpy(msg, REQ_CTX, sizeof(REQ_CTX) - 1);
  memcpy(msg + sizeof(REQ_CTX) - 1, q, R_SIG);
}

/* ---- records ------------------------------------------------------------ */

static int rec_get(node_store *s, MDB_txn *t, const char key[KEY_LEN], rec *r)
{
  MDB_val k = {KEY_LEN, (void *)key}, v;
  const uint8_t *p;
  int rc;

  if ((rc = mdb_get(t, s->db[DB_KEYRING], &k, &v)) != 0)
    return node__err(rc);
  p = v.mv_data;
  if (v.mv_size < REC_HDR || p[0] != 1 || p[3] == 0 || p[3] > NODE_ENROL_NAME_MAX ||
      v.mv_size != REC_HDR + (size_t)p[3])
    return BT_ECORRUPT;
  r->used = p[1];
  r->failures = p[2];
  r->issued = node__get_le64(p + 4);
  r->expires = node__get_le64(p + 12);
  memcpy(r->device, p + 20, 32);
  memcpy(r->wrapped, p + 52, sizeof(r->wrapped));
  memcpy(r->name, p + REC_HDR, p[3]);
  r->name[p[3]] = '\0';
  return BT_OK;
}

static int rec_put(node_store *s, MDB_txn *t, const char key[KEY_LEN], const rec *r,
                   unsigned flags)
{
  uint8_t p[REC_HDR + NODE_ENROL_NAME_MAX];
  size_t n = strlen(r->name);
  MDB_val k = {KEY_LEN, (void *)key}, v = {REC_HDR + n, p};

  p[0] = 1;
  p[1] = r->used;
  p[2] = r->failures;
  p[3] = (uint8_t)n;
  node__put_le64(p + 4, r->issued);
  node__put_le64(p + 12, r->expires);
  memcpy(p + 20, r->device, 32);
  memcpy(p + 52, r->wrapped, sizeof(r->wrapped));
  memcpy(p + REC_HDR, r->name, n);
  return node__err(mdb_put(t, s->db[DB_KEYRING], &k, &v, flags));
}

static int guard_get(node_store *s, MDB_txn *t, guard *g)
{
  MDB_val k = {sizeof(K_GUARD) - 1, (void *)K_GUARD}, v;
  int rc = mdb_get(t, s->db[DB_KEYRING], &k, &v);

  memset(g, 0, sizeof(*g));
  if (rc == MDB_NOTFOUND)
    return BT_OK;
  if (rc != 0)
    return node__err(rc);
  if (v.mv_size != GUARD_LEN || ((const uint8_t *)v.mv_data)[0] != 1)
    return BT_ECORRUPT;
  g->failures = ((const uint8_t *)v.mv_data)[1];
  g->locked_until = node__get_le64((const uint8_t *)v.mv_data + 4);
  return BT_OK;
}

static int guard_put(node_store *s, MDB_txn *t, const guard *g)
{
  uint8_t p[GUARD_LEN] = {1, g->failures};
  MDB_val k = {sizeof(K_GUARD) - 1, (void *)K_GUARD}, v = {GUARD_LEN, p};

  node__put_le64(p + 4, g->locked_until);
  return node__err(mdb_put(t, s->db[DB_KEYRING], &k, &v, 0));
}

/* ---- issue -------------------------------------------------------------- */

static int has_org(node_store *s)
{
  node_org o;
  int rc = node_org_get(s, &o);

  node_org_clear(&o);
  return rc;
}

/* Stores a fresh code for r; BT_EDUP if its id is taken. */
static int issue_one(node_store *s, rec *r, char sym[SYMS])
{
  node_secret *k;
  char key[KEY_LEN];
  MDB_txn *t;
  int rc;

  for (int i = 0; i < CANON; i++)
    sym[i] = alpha[randombytes_uniform(32)];
  sym[CANON] = check_sym(sym);
  record_key(sym, key);
  if ((rc = code_key(sym, &k)) != 0)
    return rc;
  node_wrap(s->dek, key, KEY_LEN, node_secret_bytes(k), 32, r->wrapped);
  node_secret_free(k);
  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  return node__txn_end(t, rec_put(s, t, key, r, MDB_NOOVERWRITE));
}

int node_enrol_issue(node_store *s, const char *device_name, uint64_t ttl_ms, uint64_t now_ms,
                     char code[NODE_ENROL_CODE_LEN])
{
  rec r = {.issued = now_ms, .expires = now_ms + ttl_ms};
  char sym[SYMS];
  size_t n;
  int rc;

  if (device_name == NULL || (n = strlen(device_name)) == 0 || n > NODE_ENROL_NAME_MAX ||
      crdt_text_check(bt_strz(device_name), 0) != 0 || ttl_ms == 0 ||
      ttl_ms > NODE_ENROL_TTL_MAX || now_ms > UINT64_MAX - ttl_ms)
    return BT_EINVAL;
  if ((rc = has_org(s)) != 0)
    return rc;
  memcpy(r.name, device_name, n + 1);
  for (int tries = 0; tries < 16; tries++) /* 2^15 ids: collisions are rare */
    if ((rc = issue_one(s, &r, sym)) != BT_EDUP)
      break;
  if (rc == 0)
    format_code(sym, code);
  sodium_memzero(sym, sizeof(sym));
  return rc;
}

/* ---- request (new device) ----------------------------------------------- */

int node_enrol_request(node_store *s, const char *code, uint8_t **req, size_t *len)
{
  uint8_t msg[sizeof(REQ_CTX) - 1 + R_SIG], *q = NULL;
  node_secret *k = NULL;
  char sym[SYMS];
  int rc;

  if ((rc = parse_code(code, sym)) != 0)
    goto out;
  if ((rc = has_org(s)) != BT_ENOTFOUND) {
    rc = rc == 0 ? BT_EDUP : rc;
    goto out;
  }
  if ((rc = code_key(sym, &k)) != 0)
    goto out;
  if ((q = malloc(NODE_ENROL_REQ_LEN)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  q[0] = VERSION;
  memcpy(q + 1, sym, NODE_ENROL_ID_LEN);
  memcpy(q + R_PK, s->device_pk, 32);
  code_mac(k, SUB_REQ, q, R_MAC, NULL, 0, NULL, 0, q + R_MAC);
  req_sig_msg(q, msg);
  crypto_sign_detached(q + R_SIG, NULL, msg, sizeof(msg), node_secret_bytes(s->device));
  *req = q;
  *len = NODE_ENROL_REQ_LEN;
  q = NULL;
out:
  free(q);
  node_secret_free(k);
  sodium_memzero(sym, sizeof(sym));
  return rc;
}

/* ---- answer (org's node) ------------------------------------------------ */

static int parse_request(const uint8_t *p, size_t len, request *q)
{
  if (p == NULL || len == 0)
    return BT_EPROTO;
  if (p[0] != VERSION)
    return BT_EVERSION;
  if (len != NODE_ENROL_REQ_LEN)
    return BT_EPROTO;
  for (int i = 1; i <= NODE_ENROL_ID_LEN; i++)
    if (memchr(alpha, p[i], 32) == NULL)
      return BT_EPROTO;
  q->p = p;
  record_key((const char *)p + 1, q->key);
  return BT_OK;
}

/* The verdict on a request against its code's record: BT_OK, or the
 * refusal. Returns a store error in rc, else BT_OK. *k gets the code key
 * when the verdict is BT_OK. */
static int judge(node_store *s, const request *q, const rec *r, uint64_t now, int *verdict,
                 node_secret **k)
{
  uint8_t mac[32], msg[sizeof(REQ_CTX) - 1 + R_SIG];
  MDB_val wrapped = {sizeof(r->wrapped), (void *)r->wrapped};
  int rc;

  *verdict = BT_ELOCKED;
  if (r->failures >= NODE_ENROL_TRIES)
    return BT_OK;
  if ((rc = node__unwrap_stored(s, q->key, KEY_LEN, &wrapped, k)) != 0)
    return rc;
  code_mac(*k, SUB_REQ, q->p, R_MAC, NULL, 0, NULL, 0, mac);
  req_sig_msg(q->p, msg);
  if (sodium_memcmp(mac, q->p + R_MAC, 32) != 0)
    *verdict = BT_EPASS;
  else if (crypto_sign_verify_detached(q->p + R_SIG, msg, sizeof(msg), q->p + R_PK) != 0)
    *verdict = BT_ESIG;
  else if (r->used)
    *verdict = BT_EDUP;
  else if (now >= r->expires)
    *verdict = BT_EEXPIRED;
  else
    *verdict = BT_OK;
  if (*verdict != BT_OK) {
    node_secret_free(*k);
    *k = NULL;
  }
  return BT_OK;
}

static void guard_fail(guard *g, uint64_t now)
{
  if (++g->failures >= NODE_ENROL_GUARD_FAILS) {
    g->locked_until = now + NODE_ENROL_GUARD_MS;
    g->failures = 0;
  }
}

/* Inside t: judges q and writes what the verdict changes: a counted
 * failure, or with use, the code marked used. */
static int decide(node_store *s, MDB_txn *t, const request *q, uint64_t now, int use,
                  int *verdict, rec *r, node_secret **k)
{
  guard g;
  int rc;

  *verdict = BT_ELOCKED;
  if ((rc = guard_get(s, t, &g)) != 0 || now < g.locked_until)
    return rc;
  if ((rc = rec_get(s, t, q->key, r)) == BT_ENOTFOUND) {
    *verdict = BT_EPASS;
    guard_fail(&g, now);
    return guard_put(s, t, &g);
  }
  if (rc != 0 || (rc = judge(s, q, r, now, verdict, k)) != 0)
    return rc;
  if (*verdict == BT_EPASS || *verdict == BT_ESIG) {
    r->failures++;
    return rec_put(s, t, q->key, r, 0);
  }
  if (*verdict != BT_OK || !use)
    return BT_OK;
  r->used = 1;
  memcpy(r->device, q->p + R_PK, 32);
  if ((rc = rec_put(s, t, q->key, r, 0)) != 0 || g.failures == 0)
    return rc;
  g.failures = 0; /* a code holder got in: forget earlier unknown ids */
  return guard_put(s, t, &g);
}

/* One write transaction around decide: commits what it wrote (counted
 * failures are kept although the request is refused), returns the verdict. */
static int settle(node_store *s, const request *q, uint64_t now, int use, rec *r,
                  node_secret **k)
{
  node_secret *key = NULL;
  MDB_txn *t;
  int verdict, rc;

  if ((rc = node__txn(s, 0, &t)) != 0)
    return rc;
  rc = decide(s, t, q, now, use, &verdict, r, &key);
  if ((rc = node__txn_end(t, rc)) == 0)
    rc = verdict;
  if (rc == 0 && k)
    *k = key;
  else
    node_secret_free(key);
  return rc;
}

static void put_be16(uint8_t *p, size_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* The answer's plaintext, in sodium_malloc'd memory. */
static int answer_plain(node_store *s, const uint8_t *ocert, size_t olen, const uint8_t *dcert,
                        size_t dlen, uint8_t **out, size_t *len)
{
  node_secret *sign = NULL, *box = NULL;
  uint8_t *p = NULL;
  int rc;

  if (olen > CRDT_CERT_MAX || dlen > CRDT_CERT_MAX)
    return BT_ECORRUPT;
  if ((rc = node_org_sign_sk(s, &sign)) != 0 || (rc = node_org_box_sk(s, &box)) != 0)
    goto out;
  if (node_secret_len(sign) != 64 || node_secret_len(box) != 32) {
    rc = BT_ECORRUPT;
    goto out;
  }
  if ((p = sodium_malloc(PT_FIXED + olen + dlen)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  memcpy(p, node_secret_bytes(sign), 64);
  memcpy(p + 64, node_secret_bytes(box), 32);
  put_be16(p + 96, olen);
  memcpy(p + 98, ocert, olen);
  put_be16(p + 98 + olen, dlen);
  memcpy(p + 100 + olen, dcert, dlen);
  *out = p;
  *len = PT_FIXED + olen + dlen;
out:
  node_secret_free(sign);
  node_secret_free(box);
  return rc;
}

/* Seals the answer to the requesting device and binds it to the code. */
static int build_answer(node_store *s, const request *q, const rec *r, const node_secret *k,
                        uint64_t now, uint8_t **ans, size_t *alen)
{
  uint8_t xpk[32], *dcert = NULL, *pt = NULL, *a = NULL;
  size_t dlen = 0, ptlen = 0, slen;
  node_org o = {0};
  int rc;

  if (crypto_sign_ed25519_pk_to_curve25519(xpk, q->p + R_PK) != 0)
    return BT_EINVAL; /* unreachable: the signature verified with this key */
  if ((rc = node_org_get(s, &o)) != 0 ||
      (rc = node_org_certify_device(s, q->p + R_PK, r->name, now, &dcert, &dlen)) != 0 ||
      (rc = answer_plain(s, o.org_cert, o.org_cert_len, dcert, dlen, &pt, &ptlen)) != 0)
    goto out;
  slen = crypto_box_SEALBYTES + ptlen;
  if ((a = malloc(4 + slen + 32)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  memcpy(a, q->p, 4); /* version and id */
  crypto_box_seal(a + 4, pt, ptlen, xpk);
  code_mac(k, SUB_ANS, a, 4, q->p + R_PK, 32, a + 4, slen, a + 4 + slen);
  *ans = a;
  *alen = 4 + slen + 32;
out:
  sodium_free(pt); /* wipes; NULL is a no-op */
  free(dcert);
  node_org_clear(&o);
  return rc;
}

int node_enrol_answer(node_store *s, const uint8_t *req, size_t len, uint64_t now_ms,
                      uint8_t **ans, size_t *alen)
{
  node_secret *k = NULL;
  uint8_t *a = NULL;
  size_t n = 0;
  request q;
  rec r;
  int rc;

  if ((rc = parse_request(req, len, &q)) != 0 || (rc = has_org(s)) != 0)
    return rc;
  if (memcmp(req + R_PK, s->device_pk, 32) == 0)
    return BT_EINVAL;
  if ((rc = settle(s, &q, now_ms, 0, &r, &k)) != 0)
    return rc;
  if ((rc = build_answer(s, &q, &r, k, now_ms, &a, &n)) == 0 &&
      (rc = settle(s, &q, now_ms, 1, &r, NULL)) == 0) {
    *ans = a;
    *alen = n;
    a = NULL;
  }
  free(a);
  node_secret_free(k);
  return rc;
}

/* ---- accept (new device) ------------------------------------------------ */

static size_t get_be16(const uint8_t *p)
{
  return (size_t)p[0] << 8 | p[1];
}

/* Checks the plaintext's layout and installs what it carries. */
static int install(node_store *s, const uint8_t *p, size_t len)
{
  size_t olen, dlen;

  olen = get_be16(p + 96);
  if (olen > len - PT_FIXED)
    return BT_EPROTO;
  dlen = get_be16(p + 98 + olen);
  if (dlen != len - PT_FIXED - olen)
    return BT_EPROTO;
  return node_org_adopt(s, p, p + 64, p + 98, olen, p + 100 + olen, dlen);
}

/* This device's key as an X25519 key pair, the secret half locked. */
static int device_x25519(node_store *s, node_secret **sk, uint8_t pk[32])
{
  int rc = node_secret_random(sk, 32);

  if (rc != 0)
    return rc;
  if (crypto_sign_ed25519_sk_to_curve25519((uint8_t *)node_secret_bytes(*sk),
                                           node_secret_bytes(s->device)) != 0 ||
      crypto_sign_ed25519_pk_to_curve25519(pk, s->device_pk) != 0)
    return BT_ECORRUPT;
  return BT_OK;
}

static int check_answer(const uint8_t *a, size_t alen, const char sym[SYMS])
{
  if (a == NULL || alen == 0)
    return BT_EPROTO;
  if (a[0] != VERSION)
    return BT_EVERSION;
  if (alen < ANS_MIN || alen > NODE_ENROL_ANS_MAX)
    return BT_EPROTO;
  return memcmp(a + 1, sym, NODE_ENROL_ID_LEN) == 0 ? BT_OK : BT_EAUTH;
}

int node_enrol_accept(node_store *s, const char *code, const uint8_t *ans, size_t alen)
{
  node_secret *k = NULL, *xsk = NULL;
  uint8_t mac[32], xpk[32], *pt = NULL;
  size_t slen;
  char sym[SYMS];
  int rc;

  if ((rc = parse_code(code, sym)) != 0 || (rc = check_answer(ans, alen, sym)) != 0 ||
      (rc = code_key(sym, &k)) != 0)
    goto out;
  slen = alen - 4 - 32; /* check_answer: at least ANS_MIN */
  code_mac(k, SUB_ANS, ans, 4, s->device_pk, 32, ans + 4, slen, mac);
  if (sodium_memcmp(mac, ans + 4 + slen, 32) != 0) {
    rc = BT_EAUTH;
    goto out;
  }
  if ((rc = device_x25519(s, &xsk, xpk)) != 0)
    goto out;
  if ((pt = sodium_malloc(slen - crypto_box_SEALBYTES)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  if (crypto_box_seal_open(pt, ans + 4, slen, xpk, node_secret_bytes(xsk)) != 0) {
    rc = BT_EDECRYPT; /* authentic but not for this device's key */
    goto out;
  }
  rc = install(s, pt, slen - crypto_box_SEALBYTES);
out:
  sodium_free(pt);
  node_secret_free(xsk);
  node_secret_free(k);
  sodium_memzero(sym, sizeof(sym));
  return rc;
}

/* ---- list --------------------------------------------------------------- */

static void info_from(const char *key, const rec *r, node_enrol_info *i)
{
  memcpy(i->id, key + sizeof(P_ENROL) - 1, NODE_ENROL_ID_LEN);
  i->id[NODE_ENROL_ID_LEN] = '\0';
  memcpy(i->name, r->name, sizeof(i->name));
  i->issued_ms = r->issued;
  i->expires_ms = r->expires;
  i->failures = r->failures;
  i->used = r->used;
  memcpy(i->device_pk, r->device, 32);
}

int node_enrol_list(node_store *s, node_enrol_info *out, size_t max, size_t *n)
{
  MDB_val k = {sizeof(P_ENROL) - 1, (void *)P_ENROL}, v;
  MDB_cursor *c = NULL;
  MDB_txn *t;
  size_t got = 0;
  rec r;
  int rc;

  if ((rc = node__txn(s, MDB_RDONLY, &t)) != 0)
    return rc;
  if ((rc = node__err(mdb_cursor_open(t, s->db[DB_KEYRING], &c))) != 0)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < sizeof(P_ENROL) - 1 || memcmp(k.mv_data, P_ENROL, sizeof(P_ENROL) - 1))
      break;
    if (k.mv_size != KEY_LEN) /* the guard */
      continue;
    if ((rc = rec_get(s, t, k.mv_data, &r)) != 0)
      goto out;
    if (got < max)
      info_from(k.mv_data, &r, &out[got]);
    got++;
  }
  rc = rc == MDB_NOTFOUND ? BT_OK : node__err(rc);
  if (rc == 0)
    *n = got;
out:
  if (c)
    mdb_cursor_close(c);
  mdb_txn_abort(t);
  return rc;
}
