/* tests/daemon/peer.c: see peer.h. */
#define _POSIX_C_SOURCE 200809L
#include "peer.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "crdt/err.h"
#include "node/enrol.h"
#include "node/org.h"
#include "node/store_int.h"
#include "proto/sync.h"

#ifndef BATOND
#error "BATOND: path of the batond executable (tests/CMakeLists.txt)"
#endif

#define DAY UINT64_C(86400000)

uint64_t dm_now_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&t, NULL);
}

/* ---- world and nodes ------------------------------------------------------------ */

static node_store *open_at(const char *dir, const char *key, int create)
{
  node_store_opts o = {.dir = dir, .key_file = key, .create = create, .kdf = NODE_KDF_MIN};
  node_store *s;
  int rc = node_store_open(&s, &o);

  cr_assert_eq(rc, BT_OK, "open store: %s", bt_strerror(rc));
  return s;
}

static node_store *make_store(const dm_world *w, const char *name, char *dir, size_t dl,
                              char *key, size_t kl)
{
  snprintf(dir, dl, "%s/%s", w->root, name);
  snprintf(key, kl, "%s/%s.key", w->root, name);
  cr_assert_eq(node_keyfile_create(key), BT_OK);
  return open_at(dir, key, 1);
}

void dm_world_init(dm_world *w)
{
  char dir[128], key[128];
  crdt_id other;

  cr_assert_eq(sodium_init() >= 0, 1);
  signal(SIGPIPE, SIG_IGN);
  strcpy(w->root, "/tmp/bt-daemon-XXXXXX");
  cr_assert_not_null(mkdtemp(w->root));
  w->la = make_store(w, "la", dir, sizeof dir, key, sizeof key);
  w->foreign = make_store(w, "foreign-la", dir, sizeof dir, key, sizeof key);
  cr_assert_eq(node_root_create(w->la, &w->anchor), BT_OK);
  cr_assert_eq(node_root_create(w->foreign, &other), BT_OK);
}

void dm_world_free(dm_world *w)
{
  char cmd[128];

  node_store_close(w->la);
  node_store_close(w->foreign);
  w->la = w->foreign = NULL;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->root);
  cr_assert_eq(system(cmd), 0);
}

/* One case file, so "nothing stored changed" compares real counts. */
static void add_file(node_store *s)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Quoxanthe")},
                        {CRDT_FS_FAMILY, BT_STR("Zebrowskaya")},
                        {CRDT_FS_DOB, BT_STR("2015-03-04")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .user = BT_STR("dsl"), .known = 1};
  uint8_t file[CRDT_FILE_LEN];
  crdt_id id;
  int rc;

  b.u.fields = (crdt_fields){fv, 3};
  rc = node_file_create(s, &b, file, &id);
  cr_assert_eq(rc, BT_OK, "file: %s", bt_strerror(rc));
}

static void certify(dm_world *w, node_store *s, int how)
{
  node_store *root = how == DM_ANCHORED ? w->la : w->foreign;
  uint64_t now = dm_now_ms() - 60000;
  uint8_t *cert;
  size_t len;
  node_org o;
  crdt_id pk;

  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_eq(node_root_pk(root, &pk), BT_OK);
  cr_assert_eq(node_root_certify(root, o.org_cert, o.org_cert_len, now, 30, &cert, &len), BT_OK);
  cr_assert_eq(node_anchor_add(s, &pk), BT_OK);
  cr_assert_eq(node_org_install(s, cert, len, now + 60000), BT_OK);
  free(cert);
  node_org_clear(&o);
}

void dm_node_make(dm_world *w, dm_node *nd, const char *name, int how)
{
  dm_node_make_kind(w, nd, name, how, CRDT_ORG_SCHOOL);
}

void dm_node_make_kind(dm_world *w, dm_node *nd, const char *name, int how, uint32_t kind)
{
  node_org_info info = {.kind = kind, .name = "Hillside Primary"};
  node_store *s;

  memset(nd, 0, sizeof *nd);
  snprintf(nd->name, sizeof nd->name, "%s", name);
  s = make_store(w, name, nd->dir, sizeof nd->dir, nd->key, sizeof nd->key);
  cr_assert_eq(node_org_create(s, &info), BT_OK);
  if (how != DM_PROVISIONAL)
    certify(w, s, how);
  else
    cr_assert_eq(node_anchor_add(s, &w->anchor), BT_OK); /* trusts, is not trusted */
  add_file(s);
  cr_assert_eq(node_store_counts(s, &nd->ops, &nd->buffered), BT_OK);
  cr_assert_gt(nd->ops, 0);
  node_store_close(s);
}

void dm_node_enrol(dm_world *w, dm_node *nd, const char *name, const dm_node *org)
{
  char code[NODE_ENROL_CODE_LEN];
  uint8_t *req, *ans;
  size_t rlen, alen;
  node_store *s, *o;
  int rc;

  memset(nd, 0, sizeof *nd);
  snprintf(nd->name, sizeof nd->name, "%s", name);
  s = make_store(w, name, nd->dir, sizeof nd->dir, nd->key, sizeof nd->key);
  o = dm_node_open(org);
  cr_assert_eq(node_enrol_issue(o, "DSL laptop", 3600000, dm_now_ms(), code), BT_OK);
  cr_assert_eq(node_enrol_request(s, code, &req, &rlen), BT_OK);
  rc = node_enrol_answer(o, req, rlen, dm_now_ms(), &ans, &alen);
  cr_assert_eq(rc, BT_OK, "enrol answer: %s", bt_strerror(rc));
  rc = node_enrol_accept(s, code, ans, alen);
  cr_assert_eq(rc, BT_OK, "enrol accept: %s", bt_strerror(rc));
  cr_assert_eq(node_anchor_add(s, &w->anchor), BT_OK);
  sodium_memzero(code, sizeof code);
  free(req);
  free(ans);
  node_store_close(o);
  cr_assert_eq(node_store_counts(s, &nd->ops, &nd->buffered), BT_OK);
  node_store_close(s);
}

node_store *dm_node_open(const dm_node *nd)
{
  return open_at(nd->dir, nd->key, 0);
}

void dm_node_recount(dm_node *nd)
{
  node_store *s = dm_node_open(nd);

  cr_assert_eq(node_store_counts(s, &nd->ops, &nd->buffered), BT_OK);
  node_store_close(s);
}

void dm_node_check_intact(const dm_node *nd)
{
  node_store *s = dm_node_open(nd);
  size_t ops, buffered;

  cr_assert_eq(node_store_counts(s, &ops, &buffered), BT_OK);
  cr_assert_eq(ops, nd->ops, "%s: ops %zu, were %zu", nd->name, ops, nd->ops);
  cr_assert_eq(buffered, nd->buffered);
  node_store_close(s);
}

/* ---- the daemon process ------------------------------------------------------------ */

void dm_log_read(const dm_proc *p, char *buf, size_t len)
{
  FILE *f = fopen(p->log, "r");
  size_t n = 0;

  if (f) {
    n = fread(buf, 1, len - 1, f);
    fclose(f);
  }
  buf[n] = '\0';
}

int dm_log_count(const dm_proc *p, const char *needle)
{
  static char buf[1 << 20];
  int n = 0;

  dm_log_read(p, buf, sizeof buf);
  for (const char *q = buf; (q = strstr(q, needle)) != NULL; q += strlen(needle))
    n++;
  return n;
}

int dm_log_wait(const dm_proc *p, const char *needle, int count, int timeout_ms)
{
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  int n;

  while ((n = dm_log_count(p, needle)) < count && mono_ms() < end)
    sleep_ms(10);
  return n;
}

static void write_config(const dm_node *nd, const char *text, char *path, size_t len)
{
  static int seq;
  FILE *f;

  snprintf(path, len, "%s.%d.conf", nd->dir, seq++);
  cr_assert_not_null(f = fopen(path, "w"));
  fputs(text, f);
  fclose(f);
}

void dm_start(dm_proc *p, const dm_node *nd, const char *config, const char *const *extra)
{
  static int seq;
  char cfg[192], buf[4096];
  const char *argv[32];
  size_t k = 0;
  char *at;

  snprintf(p->log, sizeof p->log, "%s.%d.log", nd->dir, seq++);
  argv[k++] = BATOND;
  argv[k++] = "--dir";
  argv[k++] = nd->dir;
  argv[k++] = "--key-file";
  argv[k++] = nd->key;
  argv[k++] = "--listen";
  argv[k++] = "127.0.0.1:0";
  argv[k++] = "--web"; /* the web UI runs too, at a port of its own */
  argv[k++] = "127.0.0.1:0";
  if (config) {
    write_config(nd, config, cfg, sizeof cfg);
    argv[k++] = "--config";
    argv[k++] = cfg;
  }
  for (size_t i = 0; extra && extra[i] && k < 30; i++)
    argv[k++] = extra[i];
  argv[k] = NULL;
  cr_assert_neq(p->pid = fork(), -1);
  if (p->pid == 0) {
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600), nul = open("/dev/null", O_RDONLY);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    dup2(fd, 2);
    dup2(nul, 0);
    execv(BATOND, (char *const *)argv);
    _exit(127);
  }
  if (dm_log_wait(p, "listening on 127.0.0.1:", 1, 5000) < 1) {
    dm_log_read(p, buf, sizeof buf);
    cr_assert_fail("batond did not start:\n%s", buf);
  }
  dm_log_read(p, buf, sizeof buf);
  at = strstr(buf, "listening on 127.0.0.1:");
  p->port = atoi(at + strlen("listening on 127.0.0.1:"));
  cr_assert_gt(p->port, 0);
}

int dm_stop(dm_proc *p, int sig, long *ms)
{
  uint64_t t0 = mono_ms();
  int status;

  kill(p->pid, sig);
  while (mono_ms() - t0 < 5000) {
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
      if (ms)
        *ms = (long)(mono_ms() - t0);
      p->pid = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    sleep_ms(5);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, &status, 0);
  p->pid = 0;
  return -1;
}

/* ---- identities ------------------------------------------------------------------- */

void dm_ident_make(dm_ident *id, const dm_node *nd)
{
  node_org o;

  memset(id, 0, sizeof *id);
  crypto_sign_keypair(id->pk, id->sk);
  id->trust = dm_node_open(nd);
  cr_assert_eq(node_org_certify_device(id->trust, id->pk, "test peer", dm_now_ms() - 60000,
                                       &id->dev, &id->dlen),
               BT_OK);
  cr_assert_eq(node_org_get(id->trust, &o), BT_OK);
  cr_assert_not_null(id->org = malloc(o.org_cert_len));
  memcpy(id->org, o.org_cert, o.org_cert_len);
  id->olen = o.org_cert_len;
  node_org_clear(&o);
  crdt_fingerprint(id->pk, CRDT_PK_LEN, id->fpr);
}

void dm_ident_self(dm_ident *id, const dm_node *nd)
{
  node_store *s = dm_node_open(nd);
  node_org o;

  memset(id, 0, sizeof *id);
  memcpy(id->sk, node_secret_bytes(s->device), CRDT_SK_LEN);
  memcpy(id->pk, s->device_pk, CRDT_PK_LEN);
  cr_assert_eq(node_org_get(s, &o), BT_OK);
  cr_assert_not_null(id->org = malloc(o.org_cert_len));
  cr_assert_not_null(id->dev = malloc(o.device_cert_len));
  memcpy(id->org, o.org_cert, id->olen = o.org_cert_len);
  memcpy(id->dev, o.device_cert, id->dlen = o.device_cert_len);
  node_org_clear(&o);
  node_store_close(s);
  crdt_fingerprint(id->pk, CRDT_PK_LEN, id->fpr);
}

void dm_ident_sync(dm_ident *id)
{
  static const bt_str caps[] = {{PROTO_SYNC_CAP, sizeof(PROTO_SYNC_CAP) - 1}};

  id->caps = caps;
  id->ncaps = 1;
}

void dm_ident_free(dm_ident *id)
{
  node_store_close(id->trust);
  free(id->dev);
  free(id->org);
  sodium_memzero(id->sk, sizeof id->sk);
  memset(id, 0, sizeof *id);
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_setup(dm_conn *c, int fd)
{
  struct timeval tv = {3, 0};

  memset(c, 0, sizeof *c);
  c->fd = fd;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  cr_assert_eq(proto_frame_dec_new(&c->dec, PROTO_FRAME_MAX_DEFAULT), BT_OK);
}

void dm_connect(dm_conn *c, int port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  cr_assert_geq(fd, 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
  conn_setup(c, fd);
}

void dm_accept(dm_conn *c, int lfd)
{
  struct pollfd p = {lfd, POLLIN, 0};
  int fd;

  cr_assert_eq(poll(&p, 1, 5000), 1, "nobody connected");
  cr_assert_geq(fd = accept(lfd, NULL, NULL), 0);
  conn_setup(c, fd);
}

void dm_close(dm_conn *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  proto_frame_dec_free(c->dec);
  proto_hs_free(c->hs);
  proto_stream_free(c->st);
  c->dec = NULL;
  c->hs = NULL;
  c->st = NULL;
}

void dm_send(dm_conn *c, const void *p, size_t len)
{
  const uint8_t *b = p;

  while (len > 0) {
    ssize_t n = send(c->fd, b, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    b += n;
    len -= (size_t)n;
  }
}

void dm_send_frame(dm_conn *c, const void *p, size_t len)
{
  uint8_t hdr[PROTO_FRAME_HDR];

  cr_assert_eq(proto_frame_header(len, PROTO_FRAME_MAX_CAP, hdr), BT_OK);
  dm_send(c, hdr, sizeof hdr);
  dm_send(c, p, len);
}

int dm_recv_frame(dm_conn *c, uint8_t *out, size_t cap, size_t *len)
{
  for (;;) {
    if (c->pos < c->len) {
      size_t used;
      bt_bytes f;
      int rc = proto_frame_dec_feed(c->dec, c->buf + c->pos, c->len - c->pos, &used, &f);
      cr_assert_eq(rc, BT_OK, "the daemon sent a bad frame: %s", bt_strerror(rc));
      c->pos += used;
      if (f.p) {
        cr_assert_leq(f.len, cap);
        memcpy(out, f.p, f.len);
        *len = f.len;
        return DM_OK;
      }
      continue;
    }
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return DM_TIMEOUT;
    if (n <= 0)
      return DM_EOF; /* closed, or reset */
    c->pos = 0;
    c->len = (size_t)n;
  }
}

int dm_wait_closed(dm_conn *c, int ms)
{
  uint64_t end = mono_ms() + (uint64_t)ms;
  uint8_t junk[4096];

  while (mono_ms() < end) {
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, (int)(end - mono_ms())) <= 0)
      continue;
    ssize_t n = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      return 1;
  }
  return 0;
}

/* ---- the protocol ------------------------------------------------------------------- */

static int verify(void *ctx, const uint8_t pk[CRDT_PK_LEN], const uint8_t *dev, size_t dlen,
                  const uint8_t *org, size_t olen)
{
  const dm_ident *id = ctx;

  (void)pk;
  return id->trust ? node_chain_check(id->trust, dev, dlen, org, olen, dm_now_ms()) : BT_OK;
}

static void hs_new(dm_conn *c, const dm_ident *id, int initiator)
{
  uint8_t epk[PROTO_EPH_LEN], esk[PROTO_EPH_LEN];
  proto_hs_config cfg = {.initiator = initiator, .sign_sk = id->sk,
                         .dev_cert = {id->dev, id->dlen}, .org_cert = {id->org, id->olen},
                         .version = PROTO_VERSION, .caps = id->caps, .ncaps = id->ncaps,
                         .eph_pk = epk, .eph_sk = esk, .verify = verify,
                         .verify_ctx = (void *)id};

  crypto_kx_keypair(epk, esk);
  cr_assert_eq(proto_hs_new(&c->hs, &cfg), BT_OK);
}

size_t dm_hello(const dm_ident *id, uint8_t out[PROTO_HS_MAX])
{
  dm_conn c = {.fd = -1};
  size_t len;

  hs_new(&c, id, 1);
  cr_assert_eq(proto_hs_start(c.hs, out, PROTO_HS_MAX, &len), BT_OK);
  proto_hs_free(c.hs);
  return len;
}

/* One handshake message in, the answer (if any) out. */
static int hs_step(dm_conn *c, uint8_t *sent, size_t *sent_len)
{
  uint8_t in[PROTO_HS_MAX], out[PROTO_HS_MAX];
  size_t len, olen = 0;
  int rc;

  if ((rc = dm_recv_frame(c, in, sizeof in, &len)) != DM_OK)
    return rc;
  if ((rc = proto_hs_recv(c->hs, in, len, out, sizeof out, &olen)) != BT_OK)
    return rc;
  if (olen) {
    dm_send_frame(c, out, olen);
    if (sent) {
      memcpy(sent, out, olen);
      *sent_len = olen;
    }
  }
  return DM_OK;
}

int dm_handshake(dm_conn *c, const dm_ident *id, int initiator)
{
  uint8_t rnd[PROTO_STREAM_HEADER], hdr[64];
  proto_hs_result r;
  size_t len;
  int rc;

  hs_new(c, id, initiator);
  if (initiator) {
    cr_assert_eq(proto_hs_start(c->hs, c->hello, sizeof c->hello, &c->hello_len), BT_OK);
    dm_send_frame(c, c->hello, c->hello_len);
    rc = hs_step(c, c->finish, &c->finish_len);
  } else if ((rc = hs_step(c, NULL, NULL)) == DM_OK) {
    rc = hs_step(c, NULL, NULL);
  }
  if (rc != DM_OK)
    return c->hs_rc = rc;
  cr_assert(proto_hs_done(c->hs));
  cr_assert_eq(proto_hs_get_result(c->hs, &r), BT_OK);
  randombytes_buf(rnd, sizeof rnd);
  cr_assert_eq(proto_stream_new(&c->st, r.send_key, r.recv_key, rnd, 0), BT_OK);
  dm_send_frame(c, proto_stream_header(c->st), PROTO_STREAM_HEADER);
  if ((rc = dm_recv_frame(c, hdr, sizeof hdr, &len)) != DM_OK)
    return c->hs_rc = rc;
  return c->hs_rc = proto_stream_accept(c->st, hdr, len);
}

void dm_seal(dm_conn *c, const uint8_t *m, size_t len, int final)
{
  uint8_t *out = malloc(len + PROTO_STREAM_ABYTES);
  size_t olen;

  cr_assert_not_null(out);
  cr_assert_eq(proto_stream_seal(c->st, m, len, final, out, len + PROTO_STREAM_ABYTES, &olen),
               BT_OK);
  dm_send_frame(c, out, olen);
  free(out);
}

int dm_open(dm_conn *c, uint8_t *out, size_t cap, size_t *len, int *final)
{
  static uint8_t f[1 << 16];
  size_t flen;
  int rc;

  if ((rc = dm_recv_frame(c, f, sizeof f, &flen)) != DM_OK)
    return rc;
  return proto_stream_open(c->st, f, flen, out, cap, len, final);
}

int dm_open_big(dm_conn *c, uint8_t **m, size_t *len, int *final)
{
  uint8_t *f = malloc(PROTO_FRAME_MAX_DEFAULT), *out = malloc(PROTO_FRAME_MAX_DEFAULT);
  size_t flen;
  int rc;

  cr_assert(f && out);
  if ((rc = dm_recv_frame(c, f, PROTO_FRAME_MAX_DEFAULT, &flen)) == DM_OK)
    rc = proto_stream_open(c->st, f, flen, out, PROTO_FRAME_MAX_DEFAULT, len, final);
  free(f);
  if (rc != DM_OK) {
    free(out);
    return rc;
  }
  *m = out;
  return DM_OK;
}

static size_t link_msg(uint8_t *m, unsigned kind, uint64_t token)
{
  m[0] = 0x92;
  m[1] = (uint8_t)kind;
  m[2] = 0xcf;
  for (int i = 0; i < 8; i++)
    m[3 + i] = (uint8_t)(token >> (56 - 8 * i));
  return 11;
}

void dm_ping(dm_conn *c)
{
  uint8_t m[16], want[16], got[64];
  uint64_t token;
  size_t len;
  int final = 0, rc;

  randombytes_buf(&token, sizeof token);
  dm_seal(c, m, link_msg(m, 64, token), 0);
  link_msg(want, 65, token);
  rc = dm_open(c, got, sizeof got, &len, &final);
  cr_assert_eq(rc, DM_OK, "no pong: %d", rc);
  cr_assert(len == 11 && memcmp(got, want, 11) == 0 && !final, "not our pong");
}

void dm_pong(dm_conn *c)
{
  uint8_t got[64], m[16];
  size_t len;
  int final = 0, rc;

  rc = dm_open(c, got, sizeof got, &len, &final);
  cr_assert_eq(rc, DM_OK, "no ping: %d", rc);
  cr_assert(len == 11 && got[0] == 0x92 && got[1] == 64 && got[2] == 0xcf && !final);
  memcpy(m, got, 11);
  m[1] = 65;
  dm_seal(c, m, 11, 0);
}

void dm_bye(dm_conn *c)
{
  static const uint8_t bye[] = {0x91, 66};

  dm_seal(c, bye, sizeof bye, 1);
}

void dm_good_peer(int port, const dm_ident *id)
{
  uint8_t got[64];
  size_t len;
  int final = 0, rc;
  dm_conn c;

  dm_connect(&c, port);
  rc = dm_handshake(&c, id, 1);
  cr_assert_eq(rc, BT_OK, "a good peer's handshake failed: %d (%s)", rc, bt_strerror(rc));
  dm_ping(&c);
  dm_bye(&c);
  rc = dm_open(&c, got, sizeof got, &len, &final);
  cr_assert_eq(rc, DM_OK, "no bye back: %d", rc);
  cr_assert(final && len == 2 && got[0] == 0x91 && got[1] == 66, "not a bye");
  cr_assert(proto_stream_closed(c.st));
  cr_assert(dm_wait_closed(&c, 3000), "the daemon kept the socket after bye");
  dm_close(&c);
}

int dm_free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t l = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
  port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int dm_listen(int port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
  cr_assert_eq(listen(fd, 16), 0);
  return fd;
}
