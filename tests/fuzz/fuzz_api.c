/* tests/fuzz/fuzz_api.c: libFuzzer harness for the web UI's request handler
 * (web/app.c, web_app_handle) and the JSON API modules behind it
 * (web/api_*.c), on a real store. It needs no seed corpus.
 *
 * The world, built once: an LA (root) certifies Oak Primary, County MASH
 * and Elm Academy and lists them in its directory; Oak's store holds Amy
 * Bell's file (a chronology note, a concern staff.ali logged, an action, a
 * write grant to the MASH, plan status and rating in conflict between the
 * two) and Ben Cole's (a transfer to Elm started), and one user of every
 * role. That store is kept as a template in a temporary directory (tmpfs
 * when there is one: every write syncs); the handler runs on a copy, on a
 * fixed clock, with every user signed in through web_app_handle itself
 * (POST /api/login, from an address of the harness's own). State
 * accumulates across inputs: every REOPEN_RUNS requests the store is closed
 * and opened again, and once it has grown past its budget (GROW_*) it is
 * swapped for a fresh copy, so lists and the desk stay fast.
 *
 * An input is up to MAX_REQUESTS requests, each ended by SEP, so that a
 * reproducer carries what leads up to a failure. A request is: byte 0, the
 * user (bits 0-2: dsl, deputy, staff, head, governor, auditor, nobody, a
 * forged cookie), the client address (3-4) and the Host (5-7); byte 1, the
 * method (0-2), the CSRF token (3-4), the origin (5-6) and a variant (7)
 * (headers and method_of say how); byte 2, the call: one of ROUTES (each
 * with its method and a body that gets through), or from FREE_PATH the
 * input's line; byte 3, the body (body_of); then the line up to the first
 * '\n' and the body after it. In the line and the body, bytes 0x01-0x0f
 * stand for the world's ids (M_*) and 0x10-0x1f for a route's path or
 * body, so short inputs reach deep code. The path is made to keep web/http.h's
 * promises (rooted, UTF-8, no controls, no dot segments): the parser has
 * its own harness.
 *
 * Besides sanitizer reports (UBSan's too: __ubsan_default_options) it
 * aborts when an answer breaks a promise of web/app.h or web/api.h: a
 * status outside 200..599; a reply the server could not write
 * (web_http_response refuses it); an API answer or any error that is not
 * JSON, an error without {"error": string}; a 4xx that echoes the CANARY
 * the request sent (route bodies carry it in every text field); anything
 * but 401 for an API call without a session; a signed-in user's session
 * lost (401) while the table had room; a store whose op count goes down,
 * whose audit log is not numbered one after another, or that does not open
 * again with all of it. A 5xx is printed once per message
 * (BT_FUZZ_API_STRICT=1: abort). BT_FUZZ_API_DEBUG=1 prints each request
 * and answer; BT_FUZZ_API_STATS=1 counts answers by call and status. */
#define _GNU_SOURCE /* memmem, nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crdt/body.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/dir.h"
#include "node/files.h"
#include "node/org.h"
#include "node/share.h"
#include "node/store.h"
#include "node/transfer.h"
#include "node/users.h"
#include "web/api.h"
#include "web/app.h"
#include "web/session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

/* The build lets UBSan recover (the top level's -fsanitize=undefined), so a
 * report would scroll past: here it is a finding, it stops the run and
 * libFuzzer keeps the input. UBSAN_OPTIONS=halt_on_error=0 goes past it. */
const char *__ubsan_default_options(void)
{
  return "halt_on_error=1:print_stacktrace=1";
}

#define T0 UINT64_C(1767600000000) /* 2026-01-05, the fixed clock */
#define HOST "127.0.0.1:7644"
#define ORIGIN "http://" HOST
#define CANARY "QZXCANARY"
#define TARGET_IN_MAX 600       /* bytes of the target line read */
#define PATH_MAX_OUT 1800       /* bytes of the target after expansion */
#define REOPEN_RUNS 1000       /* inputs between reopenings of the store */
#define GROW_OPS 150           /* ops, case files and audit records the copy may */
#define GROW_FILES 12          /* gain before it is swapped for a fresh one: */
#define GROW_AUDIT 1500        /* lists and the desk read every file, verify every record */
#define MAP_SIZE ((size_t)256 << 20)

#define die(...) (fprintf(stderr, "fuzz_api: " __VA_ARGS__), fputc('\n', stderr), abort())

/* ---- the world ------------------------------------------------------------------ */

enum { U_DSL, U_DEPUTY, U_STAFF, U_HEAD, U_GOVERNOR, U_AUDITOR, NUSERS };

static const struct {
  const char *name;
  node_role role;
} USERS[NUSERS] = {
  {"dsl.jones", NODE_ROLE_DSL},   {"dep.kay", NODE_ROLE_DEPUTY},  {"staff.ali", NODE_ROLE_STAFF},
  {"head.may", NODE_ROLE_HEAD},   {"gov.bea", NODE_ROLE_GOVERNOR}, {"aud.cy", NODE_ROLE_AUDITOR},
};

/* What the marker bytes 0x01-0x0f stand for ('\n' and '\r' stay). */
enum {
  M_AMY = 1, M_CONCERN, M_NOTE, M_ACTION, M_MASH, M_ELM, M_GRANT, M_XFER, M_BEN,
  M_USER = 0x0b, M_PASS = 0x0c, M_CANARY = 0x0e, M_SEEN = 0x0f, M_END
};

typedef struct {
  char cookie[96]; /* "baton_session=..." */
  char csrf[64];
} who;

static struct {
  char base[80], tmpl[128], work[128];
  char mark[M_END][144];
  node_store *s;
  web_app *app;
  who w[NUSERS];
  size_t ops, ops0;     /* the op count now, and when the copy was fresh */
  size_t files;         /* case files the inputs may have opened since */
  uint64_t audit, audit0; /* the last audit record's seq, now and when fresh */
  unsigned long runs;
  size_t logins;        /* sign-ins the fuzzer made since world_open */
  int strict, stats, debug;
} W;

static void stats_print(void);

static uint64_t clock_fn(void *ctx)
{
  (void)ctx;
  return T0;
}

static node_store *store_open(const char *dir, int create)
{
  node_store_opts o = {.dir = dir, .map_size = MAP_SIZE, .passphrase = "pw",
                       .passphrase_len = 2, .create = create, .kdf = NODE_KDF_MIN,
                       .threads = 1, .clock_ms = clock_fn};
  node_store *s;
  int rc;

  if ((rc = node_store_open(&s, &o)) != BT_OK)
    die("cannot open the store in %s: %s", dir, bt_strerror(rc));
  return s;
}

static node_store *store_in(const char *name, int create)
{
  char d[160];

  snprintf(d, sizeof d, "%s/%s", W.base, name);
  if (create && mkdir(d, 0700) != 0)
    die("mkdir %s", d);
  return store_open(d, create);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
  (void)st, (void)flag, (void)f;
  return remove(p);
}

static void rm_tree(const char *dir)
{
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void at_exit(void)
{
  web_app_free(W.app);
  node_store_close(W.s);
  W.app = NULL, W.s = NULL;
  if (W.base[0])
    rm_tree(W.base);
}

#define OK(call)                                                       \
  do {                                                                 \
    int rc_ = (call);                                                  \
    if (rc_ != BT_OK)                                                  \
      die("%s:%d: %s: %s", __FILE__, __LINE__, #call, bt_strerror(rc_)); \
  } while (0)

static void hex(char *out, const uint8_t *p, size_t n)
{
  sodium_bin2hex(out, 2 * n + 1, p, n);
}

/* An org of kind at a new store in name, certified by la; its certificate
 * (malloc'd) and signing key. */
static node_store *org_open(node_store *la, const char *dir, const char *name, uint32_t kind,
                            uint8_t **cert, size_t *len, crdt_id *pk)
{
  node_store *s = store_in(dir, 1);
  node_org_info oi = {kind, name, NULL, NULL};
  node_org o;
  crdt_id root;
  crdt_cert *c;

  OK(node_org_create(s, &oi));
  OK(node_org_get(s, &o));
  OK(node_root_certify(la, o.org_cert, o.org_cert_len, T0, 365, cert, len));
  node_org_clear(&o);
  OK(node_root_pk(la, &root));
  OK(node_anchor_add(s, &root));
  OK(node_org_install(s, *cert, *len, T0));
  OK(crdt_cert_decode(*cert, *len, &c));
  *pk = c->b.subject;
  crdt_cert_free(c);
  return s;
}

/* Copies every stored op of file from one store to another (as sync does). */
static void copy_file(node_store *from, node_store *to, const uint8_t *file)
{
  uint8_t zero[CRDT_EPOCH_LEN] = {0};
  size_t n = 0;
  crdt_id *ids;
  crdt_op **ops;
  bt_bytes *envs;
  node_ingest_result *res;

  OK(node_file_ops(from, file, NULL, 0, &n));
  ids = calloc(n + 1, sizeof *ids), ops = calloc(n + 1, sizeof *ops);
  envs = calloc(n + 1, sizeof *envs), res = calloc(n + 1, sizeof *res);
  if (!ids || !ops || !envs || !res)
    die("out of memory");
  OK(node_file_ops(from, file, ids, n, &n));
  for (size_t i = 0; i < n; i++) {
    OK(node_op_get(from, &ids[i], &ops[i]));
    envs[i] = (bt_bytes){ops[i]->env, ops[i]->env_len};
  }
  OK(node_file_track(to, file, zero, NULL));
  OK(node_ingest(to, envs, n, res, NULL));
  for (size_t i = 0; i < n; i++) {
    if (res[i].status == NODE_REJECTED)
      die("op %zu of a file rejected: %s", i, bt_strerror(res[i].reason));
    crdt_op_free(ops[i]);
  }
  free(ids), free(ops), free(envs), free(res);
}

static void new_file(node_store *s, const char *given, const char *family, const char *dob,
                     uint8_t file[CRDT_FILE_LEN])
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, bt_strz(given)}, {CRDT_FS_FAMILY, bt_strz(family)},
                        {CRDT_FS_DOB, bt_strz(dob)}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};

  b.u.fields = (crdt_fields){fv, 3};
  OK(node_file_create_as(s, "dsl.jones", NODE_ROLE_DSL, &b, file, NULL));
}

/* Amy's entries: a note, staff.ali's concern, an action. */
static void amy_entries(node_store *s, const uint8_t *amy)
{
  crdt_body b = {.type = CRDT_OP_CHRONO, .known = 1};
  crdt_id id;

  b.u.chrono = (crdt_chrono){.event_at = T0 - 3600000, .category = CRDT_CHR_CONTACT,
                             .summary = BT_STR("Phoned the parents")};
  OK(node_author_as(s, "dsl.jones", NODE_ROLE_DSL, amy, &b, &id));
  hex(W.mark[M_NOTE], id.b, CRDT_ID_LEN);
  b = (crdt_body){.type = CRDT_OP_CONCERN, .known = 1};
  b.u.concern = (crdt_concern){.written_at = T0 - 7200000, .author_name = BT_STR("staff.ali"),
                               .author_role = BT_STR("staff"), .facts = BT_STR("A bruise")};
  OK(node_author_as(s, "staff.ali", NODE_ROLE_STAFF, amy, &b, &id));
  hex(W.mark[M_CONCERN], id.b, CRDT_ID_LEN);
  b = (crdt_body){.type = CRDT_OP_ACTION, .known = 1};
  b.u.action = (crdt_action){.what = BT_STR("Call the school nurse"), .owner = BT_STR("dep.kay")};
  OK(node_author_as(s, "dsl.jones", NODE_ROLE_DSL, amy, &b, &id));
  hex(W.mark[M_ACTION], id.b, CRDT_ID_LEN);
}

/* Amy's plan status and rating, written at once by Oak and the MASH (which
 * holds a write grant): two fields in conflict; M_SEEN names both writes. */
static void conflict(node_store *oak, node_store *mash, const uint8_t *amy)
{
  crdt_fieldval m[] = {{CRDT_FS_PLAN, BT_STR("cin")}, {CRDT_FS_RATING, BT_STR("red")}};
  crdt_fieldval o[] = {{CRDT_FS_PLAN, BT_STR("lac")}, {CRDT_FS_RATING, BT_STR("amber")}};
  crdt_body b = {.type = CRDT_OP_FIELD_SET, .known = 1};
  crdt_id a, c;
  char ha[2 * CRDT_ID_LEN + 1], hc[2 * CRDT_ID_LEN + 1];

  copy_file(oak, mash, amy);
  b.u.fields = (crdt_fields){m, 2};
  OK(node_author_as(mash, "mash.duty", NODE_ROLE_DSL, amy, &b, &a));
  b.u.fields = (crdt_fields){o, 2};
  OK(node_author_as(oak, "dsl.jones", NODE_ROLE_DSL, amy, &b, &c));
  copy_file(mash, oak, amy);
  hex(ha, a.b, CRDT_ID_LEN);
  hex(hc, c.b, CRDT_ID_LEN);
  snprintf(W.mark[M_SEEN], sizeof W.mark[0], "\"%s\",\"%s\"", ha, hc);
}

/* Oak's files: Amy (entries, a grant to the MASH, a conflict), Ben (on his
 * way to Elm). */
static void oak_files(node_store *s, node_store *mash, const uint8_t *c_mash, size_t l_mash,
                      const uint8_t *elm, size_t elm_len)
{
  uint8_t amy[CRDT_FILE_LEN], ben[CRDT_FILE_LEN];
  node_grant_req g = {.org_cert = c_mash, .org_cert_len = l_mash,
                      .purpose = CRDT_PURPOSE_REFERRAL, .basis = CRDT_BASIS_CONSENT,
                      .consent_by = "mother", .consent_how = "in person", .consent_on = 20260102,
                      .rights = CRDT_RIGHTS_WRITE, .history = CRDT_HISTORY_ALL};
  node_transfer_req x = {.org_cert = elm, .org_cert_len = elm_len, .on_roll = 20261123,
                         .today = 20260105, .note = "the whole file"};
  crdt_id id;
  uint32_t deadline;

  new_file(s, "Amy", "Bell", "2016-03-04", amy);
  hex(W.mark[M_AMY], amy, CRDT_FILE_LEN);
  amy_entries(s, amy);
  OK(node_grant_as(s, "dsl.jones", NODE_ROLE_DSL, amy, &g, &id));
  hex(W.mark[M_GRANT], id.b, CRDT_ID_LEN);
  conflict(s, mash, amy);
  new_file(s, "Ben", "Cole", "2015-07-08", ben);
  hex(W.mark[M_BEN], ben, CRDT_FILE_LEN);
  OK(node_transfer_start_as(s, "dsl.jones", NODE_ROLE_DSL, ben, &x, &id, &deadline));
  hex(W.mark[M_XFER], id.b, CRDT_ID_LEN);
}

/* Builds the world and leaves Oak's store, closed, in W.tmpl. */
static void build_world(void)
{
  node_store *la, *oak, *mash, *elm;
  uint8_t *c_oak, *c_mash, *c_elm, dir[CRDT_FILE_LEN];
  size_t l_oak, l_mash, l_elm;
  crdt_id root, pk;
  char pass[96];

  la = store_in("la", 1);
  OK(node_root_create(la, NULL));
  oak = org_open(la, "tmpl", "Oak Primary", CRDT_ORG_SCHOOL, &c_oak, &l_oak, &pk);
  mash = org_open(la, "mash", "County MASH", CRDT_ORG_MASH, &c_mash, &l_mash, &pk);
  hex(W.mark[M_MASH], pk.b, CRDT_ID_LEN);
  elm = org_open(la, "elm", "Elm Academy", CRDT_ORG_SCHOOL, &c_elm, &l_elm, &pk);
  hex(W.mark[M_ELM], pk.b, CRDT_ID_LEN);
  OK(node_dir_publish(la, c_oak, l_oak, NULL));
  OK(node_dir_publish(la, c_mash, l_mash, NULL));
  OK(node_dir_publish(la, c_elm, l_elm, NULL));
  OK(node_root_pk(la, &root));
  node_dir_file(&root, dir);
  OK(node_dir_track(oak, &root));
  copy_file(la, oak, dir);
  for (size_t i = 0; i < NUSERS; i++) {
    snprintf(pass, sizeof pass, "pass %s", USERS[i].name);
    OK(node_user_add(oak, USERS[i].name, pass, strlen(pass), USERS[i].role));
  }
  oak_files(oak, mash, c_mash, l_mash, c_elm, l_elm);
  node_store_close(oak);
  node_store_close(la);
  node_store_close(mash);
  node_store_close(elm);
  free(c_oak), free(c_mash), free(c_elm);
}

/* ---- the store's copy -------------------------------------------------------------- */

static void copy_one(const char *from, const char *to)
{
  char buf[1 << 16];
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ssize_t n;

  if (in < 0 || out < 0)
    die("cannot copy %s", from);
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n)
      die("cannot write %s", to);
  if (n < 0)
    die("cannot read %s", from);
  close(in);
  close(out);
}

/* W.work becomes a fresh copy of the template (its lock file excepted). */
static void fresh_copy(void)
{
  DIR *d;
  struct dirent *e;
  char a[400], b[400];

  rm_tree(W.work);
  if (mkdir(W.work, 0700) != 0 || (d = opendir(W.tmpl)) == NULL)
    die("cannot make %s", W.work);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "lock.mdb") == 0)
      continue;
    snprintf(a, sizeof a, "%s/%s", W.tmpl, e->d_name);
    snprintf(b, sizeof b, "%s/%s", W.work, e->d_name);
    copy_one(a, b);
  }
  closedir(d);
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1)
      cap *= 2;
    if ((b->p = realloc(b->p, cap)) == NULL)
      die("out of memory");
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void puts_(buf *b, const char *s)
{
  put(b, s, strlen(s));
}

/* Reply as the server sees it; freed as web/server.c does. */
static void reply_free(web_reply *r)
{
  free(r->body);
  sodium_memzero(r->scratch, sizeof r->scratch);
}

static const char *reply_body(const web_reply *r, size_t *n)
{
  const char *p = r->resp.body ? r->resp.body : (const char *)r->body;

  *n = p ? r->resp.body_len : 0;
  return p ? p : "";
}

static const char *reply_header(const web_reply *r, const char *name)
{
  for (size_t i = 0; i < r->resp.nheaders; i++)
    if (strcasecmp(r->resp.headers[i].name, name) == 0)
      return r->resp.headers[i].value;
  return NULL;
}

/* Signs user u in through the handler, from an address of its own (the
 * fuzzer's failures count against theirs). A lockout the fuzzer caused is
 * lifted as an administrator would: a new passphrase, the same one. */
static void sign_in(size_t u)
{
  char body[160], pass[96];
  web_header h[] = {{"host", HOST}, {"origin", ORIGIN}, {"content-type", "application/json"}};
  web_request req = {.method = WEB_POST, .method_name = "POST", .http_minor = 1,
                     .target = "/api/login", .path = "/api/login", .query = "",
                     .headers = h, .nheaders = 3, .keep_alive = 1};
  web_reply r;

  snprintf(pass, sizeof pass, "pass %s", USERS[u].name);
  snprintf(body, sizeof body, "{\"user\": \"%s\", \"passphrase\": \"%s\"}", USERS[u].name, pass);
  for (int tries = 0;; tries++) {
    size_t n;
    const char *c;
    json_t *j;
    req.body = (const uint8_t *)body, req.body_len = strlen(body);
    memset(&r, 0, sizeof r);
    web_app_handle(W.app, "10.99.0.1", &req, &r);
    if (r.resp.status == 423 && tries == 0) {
      reply_free(&r);
      OK(node_user_passwd(W.s, USERS[u].name, pass, strlen(pass)));
      continue;
    }
    c = reply_header(&r, "Set-Cookie");
    j = json_loadb(reply_body(&r, &n), n, 0, NULL);
    if (r.resp.status != 200 || c == NULL || j == NULL ||
        !json_is_string(json_object_get(j, "csrf")))
      die("cannot sign %s in: %d", USERS[u].name, r.resp.status);
    snprintf(W.w[u].cookie, sizeof W.w[u].cookie, "%.*s", (int)strcspn(c, ";"), c);
    snprintf(W.w[u].csrf, sizeof W.w[u].csrf, "%s", json_string_value(json_object_get(j, "csrf")));
    json_decref(j);
    reply_free(&r);
    return;
  }
}

static size_t op_count(void)
{
  size_t ops, buffered;

  OK(node_store_counts(W.s, &ops, &buffered));
  return ops;
}

/* The seq of the last audit record, read from where it was last time: the
 * log only grows, by records numbered one after the other. */
static uint64_t audit_seq(void)
{
  node_audit_filter f = {.since = W.audit + 1};
  node_audit_rec *r;
  size_t n;
  uint64_t last = W.audit;

  OK(node_audit_list(W.s, &f, &r, &n));
  for (size_t i = 0; i < n; i++)
    if (r[i].seq != ++last)
      die("audit record %" PRIu64 " follows %" PRIu64, r[i].seq, last - 1);
  node_audit_list_free(r);
  return last;
}

/* Opens W.work (a fresh copy when fresh) with a new app and sessions. */
static void world_open(int fresh)
{
  web_app_opts ao = {.origin = ORIGIN, .clock_ms = clock_fn};

  if (fresh)
    fresh_copy();
  W.s = store_open(W.work, 0);
  OK(web_app_new(&W.app, W.s, &ao));
  if (fresh)
    W.audit = 0;
  for (size_t u = 0; u < NUSERS; u++)
    sign_in(u);
  W.ops = op_count();
  W.audit = audit_seq();
  W.logins = 0;
  if (fresh)
    W.ops0 = W.ops, W.audit0 = W.audit, W.files = 0;
}

static void world_close(void)
{
  web_app_free(W.app);
  node_store_close(W.s);
  W.app = NULL, W.s = NULL;
}

/* The store must open again with every op and audit record; one grown
 * past its budget is swapped for a fresh copy. */
static void maintain(int grown)
{
  size_t before = W.ops;
  uint64_t audit = W.audit;

  world_close();
  world_open(0);
  if (W.ops != before || W.audit < audit)
    die("the store held %zu ops and %" PRIu64 " audit records, %zu and %" PRIu64
        " after reopening", before, audit, W.ops, W.audit);
  if (grown) {
    world_close();
    world_open(1);
  }
}

static int grown(void)
{
  return W.ops - W.ops0 > GROW_OPS || W.audit - W.audit0 > GROW_AUDIT || W.files > GROW_FILES;
}

/* A crash ends the process without atexit: the next run removes what a
 * dead one left (its pid is in the name). */
static void sweep(const char *tmp)
{
  DIR *d = opendir(tmp);
  struct dirent *e;
  char path[400];
  int pid;

  while (d && (e = readdir(d)) != NULL)
    if (sscanf(e->d_name, "bt-fuzz-api-%d-", &pid) == 1 && pid > 0 && kill(pid, 0) != 0 &&
        errno == ESRCH) {
      snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
      rm_tree(path);
    }
  if (d)
    closedir(d);
}

/* The handler keeps state across inputs (sessions, the store's caches), so
 * most inputs allocate more than they free without leaking, and libFuzzer
 * would run each of them twice and scan the heap after (a thousand times,
 * most of a CI run's time). Unless the command line says otherwise, leaks
 * are found by LeakSanitizer's check at exit instead: at_exit frees the
 * world first, so whatever is left unreachable leaked. libFuzzer reads its
 * flags after this function (it may change argv). */
static void no_leak_pass(int *argc, char ***argv)
{
  static char flag[] = "-detect_leaks=0";
  static char *args[256];

  for (int i = 1; i < *argc; i++)
    if (strncmp((*argv)[i], "-detect_leaks=", 14) == 0)
      return;
  if (*argc + 2 > (int)(sizeof args / sizeof args[0]))
    return;
  memcpy(args, *argv, (size_t)*argc * sizeof *args);
  args[(*argc)++] = flag;
  args[*argc] = NULL;
  *argv = args;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

  no_leak_pass(argc, argv);
  if (sodium_init() < 0)
    die("sodium_init");
  sweep(tmp);
  snprintf(W.base, sizeof W.base, "%s/bt-fuzz-api-%d-XXXXXX", tmp, (int)getpid());
  if (mkdtemp(W.base) == NULL)
    die("mkdtemp %s", W.base);
  atexit(at_exit);
  snprintf(W.tmpl, sizeof W.tmpl, "%s/tmpl", W.base);
  snprintf(W.work, sizeof W.work, "%s/work", W.base);
  build_world();
  snprintf(W.mark[M_USER], sizeof W.mark[0], "%s", USERS[U_HEAD].name);
  snprintf(W.mark[M_PASS], sizeof W.mark[0], "pass %s", USERS[U_HEAD].name);
  snprintf(W.mark[M_CANARY], sizeof W.mark[0], "%s", CANARY);
  W.strict = getenv("BT_FUZZ_API_STRICT") != NULL;
  W.debug = getenv("BT_FUZZ_API_DEBUG") != NULL;
  if ((W.stats = getenv("BT_FUZZ_API_STATS") != NULL))
    atexit(stats_print);
  world_open(1);
  return 0;
}

/* ---- templates ------------------------------------------------------------------ */

/* Markers inside templates (octal: a hex escape would swallow the digits after). */
#define AMY "\001"
#define CONCERN "\002"
#define NOTE "\003"
#define ACTION "\004"
#define MASH "\005"
#define ELM "\006"
#define GRANT "\007"
#define XFER "\010"
#define BEN "\011"
#define SEEN "\017"
#define CN "\016"
#define F "/api/files/" AMY
#define X "/api/transfers/" XFER

#define MARK_ "{\"view\":\"front\",\"x\":10,\"y\":20,\"site\":\"" CN " arm\",\"skin_broken\":true}"
#define CONSENT "\"purpose\":\"referral\",\"basis\":\"consent\",\"consent_by\":\"" CN \
  "\",\"consent_how\":\"" CN "\",\"consent_on\":\"2026-01-04\""
#define START "{\"file\":\"" AMY "\",\"to\":\"" ELM "\",\"on_roll\":\"2026-11-23\",\"note\":\"" \
  CN "\"}"
#define E(type) "{\"type\":\"" type "\","

static const char HUGE[] = "(just over WEB_API_BODY_MAX)";

/* Every call with the body it takes (GET: none), so that one byte makes a
 * request that gets through; text fields carry the CANARY. */
static const struct {
  web_method m;
  const char *path, *body;
} ROUTES[] = {
  {WEB_GET, "/api/files", ""},
  {WEB_POST, "/api/files",
   "{\"given_name\":\"Cy " CN "\",\"family_name\":\"Dee\",\"dob\":\"2017-02-03\",\"upn\":\"\"}"},
  {WEB_GET, F, ""},
  {WEB_POST, F "/concerns", "{\"facts\":\"" CN " saw a bruise\",\"incident_at\":"
   "\"2026-01-04T10:00:00Z\",\"where\":\"" CN "\",\"child_words\":\"" CN "\"}"},
  {WEB_POST, F "/entries", E("chronology") "\"category\":\"call\",\"summary\":\"" CN "\","
   "\"with_whom\":\"" CN "\"}"},
  {WEB_POST, F "/entries", E("review") "\"concern\":\"" CONCERN "\",\"action\":\"" CN "\","
   "\"referred\":false}"},
  {WEB_POST, F "/entries", E("body_map") "\"concern\":\"" CONCERN "\",\"marks\":[" MARK_ "]}"},
  {WEB_POST, F "/entries", E("injury_reflection") "\"about\":\"" CONCERN "\",\"risk\":\"low\","
   "\"actions\":[{\"what\":\"" CN "\",\"by\":\"2026-01-09\"}]}"},
  {WEB_POST, F "/entries", E("action") "\"what\":\"" CN "\",\"owner\":\"" CN "\","
   "\"due\":\"2026-02-01\",\"about\":\"" CONCERN "\"}"},
  {WEB_POST, F "/entries", E("action_done") "\"action\":\"" ACTION "\",\"note\":\"" CN "\"}"},
  {WEB_POST, F "/entries", E("correction") "\"target\":\"" NOTE "\",\"reason\":\"" CN "\","
   "\"text\":\"" CN "\"}"},
  {WEB_POST, F "/front",
   "{\"plan_status\":\"cin\",\"rating\":\"red\",\"notes\":\"" CN "\",\"upn\":\"A123456789012\"}"},
  {WEB_POST, F "/resolve", "{\"field\":\"plan_status\",\"value\":\"cp\",\"seen\":[" SEEN "]}"},
  {WEB_GET, F "/grants", ""},
  {WEB_POST, F "/grants", "{\"to\":\"" ELM "\"," CONSENT ",\"rights\":\"read\","
   "\"history\":\"all\"}"},
  {WEB_POST, F "/grants", "{\"to\":\"" MASH "\",\"purpose\":\"strategy_meeting\",\"basis\":"
   "\"significant_harm\",\"reason\":\"" CN "\",\"rights\":\"read_write\",\"history\":"
   "\"from_now\",\"expires\":\"2026-03-01\"}"},
  {WEB_POST, F "/grants/" GRANT "/revoke", "{\"reason\":\"" CN "\"}"},
  {WEB_POST, F "/extracts", "{\"to\":\"" ELM "\"," CONSENT ",\"entries\":[\"" NOTE "\",\""
   CONCERN "\"]}"},
  {WEB_POST, F "/decisions", "{\"with\":\"" CN "\",\"reason\":\"" CN "\",\"purpose\":"
   "\"referral\",\"decision\":\"not_share\"}"},
  {WEB_POST, "/api/concerns", "{\"child\":{\"given_name\":\"Amy\",\"family_name\":\"Bell\","
   "\"dob\":\"2016-03-04\"},\"concern\":{\"facts\":\"" CN "\"},\"body_map\":{\"marks\":["
   MARK_ "]}}"},
  {WEB_GET, "/api/transfers", ""},
  {WEB_POST, "/api/transfers", START},
  {WEB_POST, "/api/transfers/preview", START},
  {WEB_POST, "/api/transfers", "{\"file\":\"" BEN "\",\"via_la\":true,\"note\":\"" CN "\"}"},
  {WEB_POST, X "/ack", "{\"file\":\"" BEN "\",\"stored\":\"" CN "\",\"note\":\"" CN "\"}"},
  {WEB_POST, X "/reject", "{\"file\":\"" BEN "\",\"reason\":\"" CN "\"}"},
  {WEB_POST, X "/close", "{\"file\":\"" BEN "\",\"retain\":\"chrono\",\"keep_until\":"
   "\"2030-01-01\",\"note\":\"" CN "\"}"},
  {WEB_GET, "/api/directory", ""},
  {WEB_GET, "/api/desk", ""},
  {WEB_GET, "/api/counts", ""},
  {WEB_GET, "/api/audit?limit=5", ""},
  {WEB_GET, "/api/audit?file=" AMY "&action=view&user=dsl.jones&before=99&limit=2", ""},
  {WEB_GET, "/api/audit/verify", ""},
  {WEB_GET, "/api/me", ""},
  {WEB_POST, "/api/logout", ""},
  {WEB_POST, "/api/login", "{\"user\":\"\013\",\"passphrase\":\"\014\"}"},
  {WEB_POST, "/api/login", "{\"user\":\"\013\",\"passphrase\":\"" CN "\"}"},
  {WEB_GET, "/", ""},
  {WEB_GET, "/app.js", ""},
  {WEB_GET, "/api/files/" BEN, ""},
  {WEB_POST, "/api/files/" BEN "/front", "{\"status\":\"closed\",\"closed_on\":\"2026-01-05\"}"},
  {WEB_POST, F "/concerns", HUGE},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

static void huge(buf *b)
{
  static char fill[4096];

  memset(fill, 'a', sizeof fill);
  puts_(b, "{\"facts\":\"" CANARY);
  while (b->n < WEB_API_BODY_MAX + 16)
    put(b, fill, sizeof fill);
  puts_(b, "\"}");
}

static int special(uint8_t c)
{
  return c >= M_AMY && c <= 0x1f && c != '\n' && c != '\r';
}

/* Expands p[0..n) into b: markers (0x01-0x0f), and the path or body of
 * ROUTES[c - 0x10] (0x10-0x1e) or ROUTES[next byte % NROUTES] (0x1f). */
static void expand(buf *b, const uint8_t *p, size_t n, int path, int depth)
{
  for (size_t i = 0; i < n;) {
    size_t k = i;
    uint8_t c;
    const char *t = "";
    while (k < n && !special(p[k]))
      k++;
    put(b, p + i, k - i); /* plain bytes in one go */
    if ((i = k) == n)
      break;
    c = p[i++];
    if (c < M_END)
      t = W.mark[c];
    else if (depth == 0 && (c < 0x1f || i < n)) {
      k = c < 0x1f ? c - 0x10 : p[i++] % NROUTES;
      t = path ? ROUTES[k].path : ROUTES[k].body;
    }
    if (t == HUGE)
      huge(b);
    else
      expand(b, (const uint8_t *)t, strlen(t), path, depth + 1);
  }
}

/* Segments of in[0..n) ('/'-rooted) but "." and "..", into out. */
static void drop_dots(const char *in, size_t n, buf *out)
{
  const char *p = in + 1, *end = in + n;

  for (;;) {
    const char *s = memchr(p, '/', (size_t)(end - p));
    size_t len = s ? (size_t)(s - p) : (size_t)(end - p);
    if (!(len == 1 && p[0] == '.') && !(len == 2 && p[0] == '.' && p[1] == '.')) {
      put(out, "/", 1);
      put(out, p, len);
    }
    if (s == NULL)
      break;
    p = s + 1;
  }
  if (out->n == 0)
    put(out, "/", 1);
}

/* The target as web/http.h promises it: the path rooted, UTF-8, without
 * controls, '?' or dot segments; the query without controls, spaces or
 * '#' (llhttp would refuse them, or cut there). */
static void target_of(const buf *raw, buf *target, buf *path, buf *query)
{
  size_t q = strcspn(raw->p, "?"), n = q < PATH_MAX_OUT ? q : PATH_MAX_OUT;
  buf clean = {0};

  put(&clean, "/", raw->p[0] == '/' ? 0 : 1);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)raw->p[i] >= 0x20 && raw->p[i] != 0x7f)
      put(&clean, raw->p + i, 1);
  if (!web__utf8_ok((const unsigned char *)clean.p, clean.n)) {
    size_t k = 0;
    for (size_t i = 0; i < clean.n; i++)
      if ((unsigned char)clean.p[i] < 0x80)
        clean.p[k++] = clean.p[i];
    clean.n = k, clean.p[k] = '\0';
  }
  drop_dots(clean.p, clean.n, path);
  puts_(query, "");
  for (size_t i = q + 1; i < raw->n && i < q + 1 + PATH_MAX_OUT; i++)
    if ((unsigned char)raw->p[i] > 0x20 && raw->p[i] != 0x7f && raw->p[i] != '#')
      put(query, raw->p + i, 1);
  puts_(target, path->p);
  if (q < raw->n) {
    puts_(target, "?");
    puts_(target, query->p);
  }
  free(clean.p);
}

/* ---- one input ------------------------------------------------------------------ */

static const char *const PEERS[4] = {"127.0.0.1", "::1", "192.168.7.20",
                                     "2001:db8:1:2:3:4:5:6"};
#define FORGED "baton_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FREE_PATH 0xc0 /* byte 2 from here: the path is the input's line */
#define FREE_BODY 0x80 /* byte 3 from here: see body_of */

typedef struct {
  unsigned user;           /* < NUSERS: signed in; NUSERS: nobody; more: forged */
  const char *peer;
  web_header h[8];
  web_request req;
  buf target, path, query, body;
  int canary;              /* the input carries CANARY */
} input;

/* Byte 1, bits 0-2: the route's own method (0-3), the other of GET and
 * POST, HEAD, PUT or DELETE, PATCH. */
static void method_of(input *in, uint8_t b1, web_method natural)
{
  static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
  unsigned k = b1 & 7;
  web_method m = natural;

  if (k == 4)
    m = natural == WEB_GET ? WEB_POST : WEB_GET;
  else if (k == 5)
    m = WEB_HEAD;
  else if (k == 6)
    m = b1 & 0x80 ? WEB_DELETE : WEB_PUT;
  else if (k == 7)
    m = WEB_OTHER;
  in->req.method = m;
  in->req.method_name = names[m];
}

/* Host (byte 0, bits 5-7: 7 wrong or, with bit 3, missing), Origin (byte
 * 1, bits 5-6: 2 Referer only, 3 foreign or, with bit 7, none), the cookie
 * (byte 0, bits 0-2), the CSRF token (byte 1, bits 3-4: 3 another user's
 * or, with bit 7, none). */
static void headers(input *in, uint8_t b0, uint8_t b1)
{
  unsigned host = b0 >> 5 & 7, csrf = b1 >> 3 & 3, origin = b1 >> 5 & 3, alt = b1 >> 7;
  size_t n = 0;

  if (host < 7)
    in->h[n++] = (web_header){"host", HOST};
  else if (!(b0 & 8))
    in->h[n++] = (web_header){"host", "evil.example:7644"};
  if (origin < 2)
    in->h[n++] = (web_header){"origin", ORIGIN};
  else if (origin == 2)
    in->h[n++] = (web_header){"referer", ORIGIN "/desk"};
  else if (!alt)
    in->h[n++] = (web_header){"origin", "http://evil.example"};
  if (in->user < NUSERS)
    in->h[n++] = (web_header){"cookie", W.w[in->user].cookie};
  else if (in->user > NUSERS)
    in->h[n++] = (web_header){"cookie", FORGED};
  if (csrf < 3 && in->user < NUSERS)
    in->h[n++] = (web_header){"x-csrf-token", W.w[in->user].csrf};
  else if (csrf == 3 && !alt)
    in->h[n++] = (web_header){"x-csrf-token", W.w[(in->user + 1) % NUSERS].csrf};
  in->h[n++] = (web_header){"content-type", "application/json"};
  in->req.headers = in->h;
  in->req.nheaders = n;
}

/* Byte 3: below FREE_BODY the route's own body; up to 0xbf the input's
 * body with markers expanded, up to 0xdf taken raw; above, another
 * route's body (or none). */
static void body_of(input *in, uint8_t b3, const char *own, const uint8_t *p, size_t n)
{
  uint8_t t[2] = {0x1f, (uint8_t)(b3 - 0xe0)};

  puts_(&in->body, "");
  if (b3 < FREE_BODY && own)
    own == HUGE ? huge(&in->body) : expand(&in->body, (const uint8_t *)own, strlen(own), 0, 1);
  else if (b3 < 0xc0)
    expand(&in->body, p, n, 0, 0);
  else if (b3 < 0xe0)
    put(&in->body, p, n);
  else if (t[1] < NROUTES)
    expand(&in->body, t, 2, 0, 0);
}

/* Input: user, method and flags (bytes 0-1, above), the route (byte 2:
 * ROUTES[b % NROUTES], or from FREE_PATH the line), the body (byte 3),
 * then the line up to the first '\n' and the body after it. */
static void parse_input(input *in, const uint8_t *data, size_t size)
{
  const uint8_t *p = data + 4, *end = data + size, *nl = memchr(p, '\n', (size_t)(end - p));
  size_t tn = (size_t)((nl ? nl : end) - p);
  const uint8_t *bp = nl ? nl + 1 : end;
  unsigned r = data[2] % NROUTES;
  buf raw = {0};

  memset(in, 0, sizeof *in);
  in->user = data[0] & 7;
  in->user = in->user < NUSERS ? in->user : in->user == NUSERS ? NUSERS : NUSERS + 1;
  in->peer = PEERS[data[0] >> 3 & 3];
  puts_(&raw, "");
  if (data[2] >= FREE_PATH)
    expand(&raw, p, tn < TARGET_IN_MAX ? tn : TARGET_IN_MAX, 1, 0);
  else
    expand(&raw, (const uint8_t *)ROUTES[r].path, strlen(ROUTES[r].path), 1, 1);
  target_of(&raw, &in->target, &in->path, &in->query);
  free(raw.p);
  body_of(in, data[3], data[2] >= FREE_PATH ? NULL : ROUTES[r].body, bp, (size_t)(end - bp));
  method_of(in, data[1], data[2] >= FREE_PATH ? WEB_POST : ROUTES[r].m);
  in->req.http_minor = 1;
  in->req.target = in->target.p, in->req.path = in->path.p, in->req.query = in->query.p;
  in->req.body = (const uint8_t *)in->body.p, in->req.body_len = in->body.n;
  in->req.keep_alive = 1;
  headers(in, data[0], data[1]);
  in->canary = strstr(in->target.p, CANARY) ||
               memmem(in->body.p, in->body.n, CANARY, sizeof CANARY - 1);
}

static void input_free(input *in)
{
  free(in->target.p), free(in->path.p), free(in->query.p);
  sodium_memzero(in->body.p, in->body.cap);
  free(in->body.p);
}

/* A 5xx is told once per message; under BT_FUZZ_API_STRICT it aborts. */
static void server_error(const input *in, int status, const char *msg)
{
  static char seen[64][160];
  static size_t nseen;
  char key[160];

  snprintf(key, sizeof key, "%d %s", status, msg);
  for (size_t i = 0; i < nseen; i++)
    if (strcmp(seen[i], key) == 0)
      return;
  if (nseen < 64)
    snprintf(seen[nseen++], sizeof seen[0], "%s", key);
  fprintf(stderr, "fuzz_api: %s %s as %s: %s\n", in->req.method_name, in->path.p,
          in->user < NUSERS ? USERS[in->user].name : "nobody", key);
  if (W.strict)
    abort();
}

/* The reply's body is JSON, an error {"error": string} (extra members may
 * come with it, as a 409's "file"). */
static void check_json(const input *in, const web_reply *r)
{
  size_t n;
  const char *body = reply_body(r, &n);
  json_error_t e;
  json_t *j = json_loadb(body, n, 0, &e), *err;

  if (j == NULL)
    die("%d reply to %s %s is not JSON: %.*s", r->resp.status, in->req.method_name,
        in->path.p, (int)(n < 300 ? n : 300), body);
  err = json_object_get(j, "error");
  if (r->resp.status >= 400 && (!json_is_object(j) || !json_is_string(err)))
    die("%d reply to %s %s is no {\"error\": string}: %.*s", r->resp.status,
        in->req.method_name, in->path.p, (int)(n < 300 ? n : 300), body);
  if (r->resp.status >= 500)
    server_error(in, r->resp.status, json_string_value(err));
  json_decref(j);
}

/* What no request may get from a web_app without a session. */
static void check_session(const input *in, int status)
{
  const char *host = web_http_header(&in->req, "host");
  int post_ok = in->req.method != WEB_POST ||
                web_origin_ok(web_http_header(&in->req, "origin"),
                              web_http_header(&in->req, "referer"), host, ORIGIN);

  if (in->user >= NUSERS && web_host_ok(host, ORIGIN) && post_ok &&
      strncmp(in->path.p, "/api/", 5) == 0 && strcmp(in->path.p, "/api/login") != 0 &&
      status != 401)
    die("%d, not 401, to %s %s without a session", status, in->req.method_name, in->path.p);
}

static void check(const input *in, web_reply *r)
{
  int st = r->resp.status, api = strncmp(in->path.p, "/api/", 5) == 0;
  web_response resp = r->resp;
  uint8_t *out;
  size_t out_len;

  if (st < 200 || st > 599)
    die("status %d to %s %s", st, in->req.method_name, in->path.p);
  if (resp.headers == NULL && resp.nheaders == 0)
    resp.headers = r->headers;
  resp.body = reply_body(r, &resp.body_len);
  resp.head = in->req.method == WEB_HEAD;
  if (web_http_response(&resp, &out, &out_len) != BT_OK)
    die("the %d reply to %s %s cannot be written", st, in->req.method_name, in->path.p);
  if (in->canary && st >= 400 && st < 500 && memmem(out, out_len, CANARY, sizeof CANARY - 1))
    die("the %d reply to %s %s echoes what was sent: %.*s", st, in->req.method_name,
        in->path.p, (int)(out_len < 600 ? out_len : 600), (const char *)out);
  free(out);
  if (api || st != 200)
    check_json(in, r);
  check_session(in, st);
}

/* BT_FUZZ_API_DEBUG=1: each request and its answer, for reproducers. */
static void debug(const input *in, const web_reply *r)
{
  size_t n;
  const char *body = reply_body(r, &n);

  fprintf(stderr, "fuzz_api: %s %s as %s from %s, headers:", in->req.method_name, in->target.p,
          in->user < NUSERS ? USERS[in->user].name : in->user == NUSERS ? "nobody" : "forged",
          in->peer);
  for (size_t i = 0; i < in->req.nheaders; i++)
    if (strcmp(in->h[i].name, "cookie") != 0 && strcmp(in->h[i].name, "x-csrf-token") != 0)
      fprintf(stderr, " %s: %s;", in->h[i].name, in->h[i].value);
    else
      fprintf(stderr, " %s;", in->h[i].name);
  fprintf(stderr, "\nfuzz_api: body %zu bytes: %.*s\nfuzz_api: -> %d %.*s\n", in->body.n,
          (int)(in->body.n < 400 ? in->body.n : 400), in->body.p, r->resp.status,
          (int)(n < 400 ? n : 400), body);
}

/* BT_FUZZ_API_STATS=1: how often each call (ids as ID) got each status,
 * printed at exit, to see how deep the inputs reach. */
static struct {
  char key[96];
  unsigned long n;
} STATS[1024];

static void stats_add(const input *in, int status)
{
  char key[96];
  size_t o = (size_t)snprintf(key, sizeof key, "%d %s ", status, in->req.method_name);

  for (const char *p = in->path.p; *p && o + 3 < sizeof key;) {
    size_t h = strspn(p, "0123456789abcdefABCDEF");
    if (h >= 32)
      o += (size_t)snprintf(key + o, sizeof key - o, "ID"), p += h;
    else
      key[o++] = *p++;
  }
  key[o] = '\0';
  for (size_t i = 0; i < sizeof STATS / sizeof STATS[0]; i++)
    if (STATS[i].n == 0 || strcmp(STATS[i].key, key) == 0) {
      snprintf(STATS[i].key, sizeof STATS[i].key, "%s", key);
      STATS[i].n++;
      return;
    }
}

static void stats_print(void)
{
  for (size_t i = 0; i < sizeof STATS / sizeof STATS[0] && STATS[i].n; i++)
    fprintf(stderr, "fuzz_api: stats %8lu %s\n", STATS[i].n, STATS[i].key);
}

/* One request of an input, and what must hold after it. */
static void one(const uint8_t *data, size_t size)
{
  uint8_t pad[4] = {0};
  input in;
  web_reply r;
  size_t ops;

  if (size < sizeof pad) { /* a short one is a short route call */
    memcpy(pad, data, size);
    data = pad, size = sizeof pad;
  }
  if (++W.runs % REOPEN_RUNS == 0)
    maintain(0);
  parse_input(&in, data, size);
  memset(&r, 0, sizeof r);
  web_app_handle(W.app, in.peer, &in.req, &r);
  if (W.debug)
    debug(&in, &r);
  check(&in, &r);
  if (W.stats)
    stats_add(&in, r.resp.status);
  reply_free(&r);
  if ((ops = op_count()) < W.ops)
    die("the store held %zu ops, %zu after %s %s", W.ops, ops, in.req.method_name, in.path.p);
  W.ops = ops;
  W.audit = audit_seq();
  if (strcmp(in.path.p, "/api/login") == 0) {
    W.logins += r.resp.status == 200;
  } else if (in.user < NUSERS && r.resp.status == 401) {
    /* Only the fuzzer's own sign-ins, filling the table, push one out. */
    if (W.logins < WEB_SESSION_MAX - 2 * NUSERS)
      die("%s, signed in, got 401 to %s %s", USERS[in.user].name, in.req.method_name,
          in.path.p);
    sign_in(in.user);
  } else if (in.user < NUSERS && strcmp(in.path.p, "/api/logout") == 0) {
    sign_in(in.user);
  }
  if (in.req.method == WEB_POST && r.resp.status == 201 &&
      (strcmp(in.path.p, "/api/files") == 0 || strcmp(in.path.p, "/api/concerns") == 0 ||
       strstr(in.path.p, "/extracts")))
    W.files++;
  if (grown())
    maintain(1);
  input_free(&in);
}

/* An input is up to MAX_REQUESTS requests, each ended by SEP (or the end),
 * so that a reproducer holds the requests that lead up to a failure. */
#define SEP "\n\xff\xff\n"
#define MAX_REQUESTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *p = data, *end = data + size;

  for (int k = 0; k < MAX_REQUESTS && (p < end || k == 0); k++) {
    const uint8_t *q = memmem(p, (size_t)(end - p), SEP, 4);
    if (q == NULL || k == MAX_REQUESTS - 1)
      q = end;
    one(p, (size_t)(q - p));
    p = q + (q < end ? 4 : 0);
  }
  return 0;
}
