/* tests/daemon/test_net.c: node/net.h in this process, with the sync
 * layer's hook plugged in.
 *
 * A node_net runs on its own loop in a second thread (the only thread that
 * touches its store); the test thread is its peer, through the same test
 * client as the batond tests. The hook records what it sees, echoes kind-1
 * messages back with node_net_send and closes the session on a kind-2
 * message with node_net_close. Also: address parsing and reason names. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "crdt/err.h"
#include "node/net.h"
#include "peer.h"

typedef struct {
  pthread_mutex_t mu;
  int opens, messages, closes, close_reason, refuse;
  node_net_peer peer; /* copied scalars only */
  uint8_t last[64];
  size_t last_len;
  int send_rc_big, send_rc;
} hook_log;

static dm_world w;
static dm_node a, c_org;
static dm_ident good;
static node_store *s;
static node_net *net;
static uv_loop_t loop;
static uv_async_t wake;
static pthread_t th;
static hook_log hl = {.mu = PTHREAD_MUTEX_INITIALIZER};
static int port;

static int h_open(void *ctx, node_net_conn *c, const node_net_peer *p)
{
  hook_log *h = ctx;
  int rc;

  pthread_mutex_lock(&h->mu);
  h->opens++;
  h->peer = *p;
  h->peer.addr = NULL;
  h->peer.caps = NULL;
  rc = h->refuse ? BT_EDENIED : BT_OK;
  pthread_mutex_unlock(&h->mu);
  node_net_set_data(c, h);
  return rc;
}

static int h_message(void *ctx, node_net_conn *c, const uint8_t *m, size_t len)
{
  static uint8_t big[(64 << 10) + 1];
  static const uint8_t echo[] = {0x92, 1, 0xa4, 'e', 'c', 'h', 'o'};
  hook_log *h = ctx;

  cr_assert_eq(node_net_data(c), h);
  pthread_mutex_lock(&h->mu);
  h->messages++;
  h->last_len = len < sizeof h->last ? len : sizeof h->last;
  memcpy(h->last, m, h->last_len);
  pthread_mutex_unlock(&h->mu);
  if (len >= 2 && m[1] == 2) {
    node_net_close(c, 0);
    return BT_OK;
  }
  h->send_rc_big = node_net_send(c, big, node_net_max_message(c) + 1);
  h->send_rc = node_net_send(c, echo, sizeof echo);
  return BT_OK;
}

static void h_close(void *ctx, node_net_conn *c, int reason)
{
  hook_log *h = ctx;

  (void)c;
  pthread_mutex_lock(&h->mu);
  h->closes++;
  h->close_reason = reason;
  pthread_mutex_unlock(&h->mu);
}

static const bt_str CAPS[] = {BT_STR("recon")};
static const node_net_sync SYNC = {.open = h_open, .message = h_message, .close = h_close,
                                   .ctx = &hl, .caps = CAPS, .ncaps = 1};

static void on_wake(uv_async_t *as)
{
  (void)as;
  node_net_stop(net, NULL, NULL);
  uv_close((uv_handle_t *)&wake, NULL);
}

static void *loop_main(void *arg)
{
  (void)arg;
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

static void setup(void)
{
  node_net_opts o = {.listen = "127.0.0.1:0", .max_frame = 64 << 10, .sync = &SYNC};
  char addr[NODE_NET_ADDR_MAX];

  dm_world_init(&w);
  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &c_org, "c", DM_ANCHORED);
  dm_ident_make(&good, &c_org);
  s = dm_node_open(&a);
  cr_assert_eq(uv_loop_init(&loop), 0);
  cr_assert_eq(node_net_new(&net, &loop, s, &o), BT_OK);
  cr_assert_eq(node_net_start(net), BT_OK);
  cr_assert_eq(node_net_address(net, addr), BT_OK);
  cr_assert_eq(strncmp(addr, "127.0.0.1:", 10), 0);
  port = atoi(addr + 10);
  uv_async_init(&loop, &wake, on_wake);
  cr_assert_eq(pthread_create(&th, NULL, loop_main, NULL), 0);
}

static void teardown(void)
{
  uv_async_send(&wake);
  pthread_join(th, NULL);
  cr_assert_eq(uv_loop_close(&loop), 0);
  node_net_free(net);
  node_store_close(s);
  dm_ident_free(&good);
  dm_world_free(&w);
}

TestSuite(daemon_net, .init = setup, .fini = teardown);

static int wait_for(int *field, int want)
{
  for (int i = 0; i < 300; i++) {
    pthread_mutex_lock(&hl.mu);
    int v = *field;
    pthread_mutex_unlock(&hl.mu);
    if (v >= want)
      return v;
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  return -1;
}

Test(daemon_net, the_hook_gets_the_session_and_its_messages)
{
  static const uint8_t hello[] = {0x92, 1, 0xa5, 'h', 'e', 'l', 'l', 'o'};
  static const uint8_t done[] = {0x91, 2};
  uint8_t got[64];
  size_t len;
  int final = 0;
  dm_conn c;

  dm_connect(&c, port);
  cr_assert_eq(dm_handshake(&c, &good, 1), BT_OK);
  cr_assert_eq(wait_for(&hl.opens, 1), 1);
  cr_assert_eq(memcmp(hl.peer.device_pk, good.pk, CRDT_PK_LEN), 0);
  cr_assert_eq(hl.peer.initiator, 0);
  cr_assert_eq(hl.peer.version, PROTO_VERSION);
  cr_assert_eq(hl.peer.ncaps, 0); /* we offered none */
  cr_assert(hl.peer.dev_cert.len == good.dlen && hl.peer.org_cert.len == good.olen);

  dm_ping(&c); /* net's own kinds never reach the hook */
  dm_seal(&c, hello, sizeof hello, 0);
  cr_assert_eq(dm_open(&c, got, sizeof got, &len, &final), DM_OK);
  cr_assert(len == 7 && memcmp(got, "\x92\x01\xa4" "echo", 7) == 0 && !final);
  cr_assert_eq(hl.messages, 1);
  cr_assert(hl.last_len == sizeof hello && memcmp(hl.last, hello, sizeof hello) == 0);
  cr_assert_eq(hl.send_rc, BT_OK);
  cr_assert_eq(hl.send_rc_big, BT_ETOOBIG);

  dm_seal(&c, done, sizeof done, 0); /* the hook closes */
  cr_assert_eq(dm_open(&c, got, sizeof got, &len, &final), DM_OK);
  cr_assert(final && len == 2 && got[1] == 66, "want a bye");
  dm_bye(&c);
  cr_assert(dm_wait_closed(&c, 3000));
  dm_close(&c);
  cr_assert_eq(wait_for(&hl.closes, 1), 1);
  cr_assert_eq(hl.close_reason, NODE_NET_R_CLOSED);
}

Test(daemon_net, a_session_the_hook_refuses_is_closed)
{
  dm_conn c;

  pthread_mutex_lock(&hl.mu);
  hl.refuse = 1;
  pthread_mutex_unlock(&hl.mu);
  dm_connect(&c, port);
  cr_assert_eq(dm_handshake(&c, &good, 1), BT_OK);
  cr_assert(dm_wait_closed(&c, 3000));
  dm_close(&c);
  cr_assert_eq(wait_for(&hl.opens, 1), 1);
  cr_assert_eq(hl.closes, 0); /* close follows only an accepted open */
}

Test(daemon_net, addresses_parse_strictly)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t p;

  cr_assert_eq(node_net_addr_parse("127.0.0.1:7643", host, sizeof host, &p), BT_OK);
  cr_assert(strcmp(host, "127.0.0.1") == 0 && p == 7643);
  cr_assert_eq(node_net_addr_parse("[::1]:0", host, sizeof host, &p), BT_OK);
  cr_assert(strcmp(host, "::1") == 0 && p == 0);
  cr_assert_eq(node_net_addr_parse("hub.example:65535", host, sizeof host, &p), BT_OK);
  const char *bad[] = {"::1:7643", "host", "host:", ":7643", "host:65536", "host:12a",
                       "[::1]7643", "[::1", "host:123456"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(node_net_addr_parse(bad[i], host, sizeof host, &p), BT_EINVAL, "%s", bad[i]);
  cr_assert_eq(node_net_addr_parse("abcdef:1", host, 4, &p), BT_EINVAL);
}

Test(daemon_net, reasons_have_names)
{
  char b[48];

  cr_assert_str_eq(node_net_reason_name(NODE_NET_R_LIMIT, b, sizeof b), "limit");
  cr_assert_str_eq(node_net_reason_name(NODE_NET_R_HS_TIMEOUT, b, sizeof b), "hs_timeout");
  cr_assert_str_eq(node_net_reason_name(BT_EANCHOR, b, sizeof b), "BT_EANCHOR");
  cr_assert_str_eq(node_net_reason_name(UV_ECONNRESET, b, sizeof b), "ECONNRESET");
  cr_assert_str_eq(node_net_reason_name(99, b, sizeof b), "reason_99");
}
