/* tests/daemon/test_adversary.c: hostile peers against a real batond.
 *
 * Each test starts batond on a node whose org the world's LA certified,
 * with short timeouts (handshake 2 s, frame 1 s, idle 5 s) and a 64 KiB
 * frame maximum, then plays one attack from the test process: garbage,
 * truncated, oversized and count-inflated frames before and after the
 * handshake, a slow drip, 200 connections at once, an unanchored peer, a
 * replayed handshake, this node's own key, a tampered message, messages
 * outside the protocol, a silent socket, a peer that does not speak sync.
 * Each must be closed with its reason in the log, and a good peer (a
 * device of another certified org, offering sync) must still get a whole
 * session afterwards. Hostile sync messages: tests/daemon/test_sync.c. Teardown sends SIGTERM: batond must exit 0 within 3 s, and
 * the store must reopen with the counts it had before the daemon ran; the
 * log must hold none of the store's names. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/err.h"
#include "peer.h"

static dm_world w;
static dm_node a, c_org, stranger;
static dm_ident good;
static dm_proc d;

static const char CONFIG[] = "# the adversaries' daemon\n"
                             "handshake_timeout = 2s\n"
                             "frame_timeout = 1s\n"
                             "idle_timeout = 5s\n"
                             "max_frame = 128K\n"
                             "max_connections = 64\n";

static void setup(void)
{
  dm_world_init(&w);
  dm_node_make(&w, &a, "a", DM_ANCHORED);
  dm_node_make(&w, &c_org, "c", DM_ANCHORED);
  dm_node_make(&w, &stranger, "m", DM_UNKNOWN_LA);
  dm_ident_make(&good, &c_org);
  dm_ident_sync(&good);
  dm_start(&d, &a, CONFIG, NULL);
}

static void teardown(void)
{
  char log[1 << 16];
  long ms = 0;
  int st = dm_stop(&d, SIGTERM, &ms);

  dm_log_read(&d, log, sizeof log);
  cr_assert_eq(st, 0, "batond exit status %d\n%s", st, log);
  cr_assert_lt(ms, 3000, "batond took %ld ms to stop", ms);
  cr_assert_geq(dm_log_count(&d, "store closed"), 1);
  cr_assert_null(strstr(log, "Quoxanthe"), "a child's name in the log");
  cr_assert_null(strstr(log, "Zebrowskaya"), "a child's name in the log");
  cr_assert_null(strstr(log, "Hillside"), "an org's name in the log");
  dm_node_check_intact(&a);
  dm_ident_free(&good);
  dm_world_free(&w);
}

TestSuite(daemon_adversary, .init = setup, .fini = teardown);

static void sleep_ms(long ms)
{
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&t, NULL);
}

/* The attack was closed with this reason, and a good peer still works. */
static void expect_closed(dm_conn *c, const char *reason)
{
  char needle[96], log[1 << 16];

  cr_assert(dm_wait_closed(c, 3000), "the daemon kept a %s connection", reason);
  snprintf(needle, sizeof needle, "reason=%s ", reason);
  if (dm_log_wait(&d, needle, 1, 2000) < 1) {
    dm_log_read(&d, log, sizeof log);
    cr_assert_fail("no close with %s in the log:\n%s", reason, log);
  }
  dm_close(c);
  dm_good_peer(d.port, &good);
}

/* An authenticated session, for attacks from inside one. */
static void session(dm_conn *c)
{
  dm_connect(c, d.port);
  cr_assert_eq(dm_handshake(c, &good, 1), BT_OK);
  dm_ping(c);
}

Test(daemon_adversary, a_good_peer_gets_a_session)
{
  char needle[96];

  dm_good_peer(d.port, &good);
  snprintf(needle, sizeof needle, "dir=in fpr=%s", good.fpr);
  cr_assert_eq(dm_log_wait(&d, needle, 1, 2000), 1);
  cr_assert_eq(dm_log_wait(&d, "reason=bye ", 1, 2000), 1);
}

Test(daemon_adversary, garbage_is_refused)
{
  static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  dm_conn c;

  dm_connect(&c, d.port);
  dm_send(&c, http, sizeof http - 1); /* "GET " is a length of 1.2 GB */
  expect_closed(&c, "BT_ETOOBIG");
}

Test(daemon_adversary, framed_junk_is_refused)
{
  uint8_t junk[32];
  dm_conn c;

  memset(junk, 0xc1, sizeof junk); /* msgpack's reserved byte */
  dm_connect(&c, d.port);
  dm_send_frame(&c, junk, sizeof junk);
  expect_closed(&c, "BT_ETYPE");
}

Test(daemon_adversary, a_truncated_frame_then_close_is_logged)
{
  static const uint8_t part[] = {0, 0, 0, 100, 0x94, 1, 1, 0x90};
  dm_conn c;

  dm_connect(&c, d.port);
  dm_send(&c, part, sizeof part);
  shutdown(c.fd, SHUT_WR);
  expect_closed(&c, "BT_ETRUNC");
}

Test(daemon_adversary, an_oversized_length_is_refused_before_the_handshake)
{
  static const uint8_t hdr[] = {0x7f, 0xff, 0xff, 0xff};
  dm_conn c;

  dm_connect(&c, d.port);
  dm_send(&c, hdr, sizeof hdr);
  expect_closed(&c, "BT_ETOOBIG");
}

Test(daemon_adversary, a_handshake_message_above_its_cap_is_refused)
{
  static const uint8_t hdr[] = {0, 0, 0x20, 0x01}; /* PROTO_HS_MAX + 1 */
  dm_conn c;

  dm_connect(&c, d.port);
  dm_send(&c, hdr, sizeof hdr);
  expect_closed(&c, "BT_ETOOBIG");
}

Test(daemon_adversary, an_oversized_length_is_refused_in_a_session)
{
  static const uint8_t hdr[] = {0, 2, 0, 1}; /* max_frame + 1 */
  dm_conn c;

  session(&c);
  dm_send(&c, hdr, sizeof hdr);
  expect_closed(&c, "BT_ETOOBIG");
  cr_assert_eq(dm_log_count(&d, "state=open reason=BT_ETOOBIG"), 1);
}

Test(daemon_adversary, huge_msgpack_counts_are_refused_before_the_handshake)
{
  static const uint8_t arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  dm_conn c;

  dm_connect(&c, d.port);
  dm_send_frame(&c, arr, sizeof arr);
  expect_closed(&c, "BT_ETRUNC");
}

Test(daemon_adversary, huge_msgpack_counts_are_refused_in_a_session)
{
  static const uint8_t map[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 1, 2};
  dm_conn c;

  session(&c);
  dm_seal(&c, map, sizeof map, 0);
  expect_closed(&c, "BT_ETRUNC");
  cr_assert_eq(dm_log_count(&d, "state=open reason=BT_ETRUNC"), 1);
}

Test(daemon_adversary, a_slow_drip_is_cut)
{
  uint8_t hello[PROTO_HS_MAX], frame[PROTO_HS_MAX + 4];
  size_t len = dm_hello(&good, hello);
  dm_conn c;

  /* A real hello, one byte every 150 ms: the frame deadline (1 s) cuts
   * it before the handshake deadline (2 s) would. */
  cr_assert_eq(proto_frame_encode(hello, len, 0, frame, sizeof frame, &len), BT_OK);
  dm_connect(&c, d.port);
  for (size_t i = 0; i < len && i < 12; i++) {
    dm_send(&c, frame + i, 1);
    sleep_ms(150);
  }
  expect_closed(&c, "slow");
  cr_assert_eq(dm_log_count(&d, "state=handshake reason=slow"), 1);
}

Test(daemon_adversary, a_slow_drip_in_a_session_is_cut)
{
  static const uint8_t hdr[] = {0, 0, 0, 40};
  dm_conn c;

  session(&c);
  dm_send(&c, hdr, sizeof hdr);
  for (int i = 0; i < 12; i++) {
    dm_send(&c, "x", 1);
    sleep_ms(150);
  }
  expect_closed(&c, "slow");
  cr_assert_eq(dm_log_count(&d, "state=open reason=slow"), 1);
}

Test(daemon_adversary, two_hundred_connections_at_once)
{
  enum { N = 200, LIMIT = 64 };
  static dm_conn c[N];
  char log[1 << 16];
  int closed = 0;

  for (int i = 0; i < N; i++)
    dm_connect(&c[i], d.port);
  if (dm_log_wait(&d, "reason=limit ", N - LIMIT, 3000) != N - LIMIT) {
    dm_log_read(&d, log, sizeof log);
    cr_assert_fail("want %d refusals:\n%s", N - LIMIT, log);
  }
  sleep_ms(100);
  for (int i = 0; i < N; i++)
    closed += dm_wait_closed(&c[i], 1);
  cr_assert_eq(closed, N - LIMIT, "%d of %d closed at once", closed, N);
  for (int i = 0; i < N; i++)
    dm_close(&c[i]);
  /* The held ones end when we hang up (or time out); then there is room. */
  cr_assert_eq(dm_log_wait(&d, "state=handshake reason=", LIMIT, 3000), LIMIT);
  dm_good_peer(d.port, &good);
  cr_assert_eq(dm_log_count(&d, "reason=limit "), N - LIMIT);
}

Test(daemon_adversary, an_unanchored_peer_is_refused)
{
  char needle[128];
  dm_ident x;
  dm_conn c;
  int rc;

  dm_ident_make(&x, &stranger);
  node_store_close(x.trust);
  x.trust = NULL; /* it would go on regardless: the daemon must say no */
  dm_connect(&c, d.port);
  rc = dm_handshake(&c, &x, 1);
  cr_assert_eq(rc, DM_EOF, "rc %d", rc);
  snprintf(needle, sizeof needle, "reason=BT_EANCHOR fpr=%s", x.fpr);
  cr_assert_eq(dm_log_wait(&d, needle, 1, 2000), 1);
  expect_closed(&c, "BT_EANCHOR");
  dm_ident_free(&x);
}

Test(daemon_adversary, a_replayed_handshake_is_refused)
{
  uint8_t reply[PROTO_HS_MAX];
  size_t len;
  dm_conn rec, c;

  dm_connect(&rec, d.port);
  cr_assert_eq(dm_handshake(&rec, &good, 1), BT_OK);
  dm_ping(&rec);
  dm_bye(&rec);
  cr_assert(dm_wait_closed(&rec, 3000));
  /* The recorded hello gets a fresh reply; the recorded finish was sealed
   * for the old one and cannot open. */
  dm_connect(&c, d.port);
  dm_send_frame(&c, rec.hello, rec.hello_len);
  cr_assert_eq(dm_recv_frame(&c, reply, sizeof reply, &len), DM_OK);
  dm_send_frame(&c, rec.finish, rec.finish_len);
  dm_close(&rec);
  expect_closed(&c, "BT_EDECRYPT");
}

Test(daemon_adversary, its_own_device_key_is_refused)
{
  dm_ident self;
  dm_conn c;

  dm_ident_self(&self, &a);
  dm_connect(&c, d.port);
  cr_assert_eq(dm_handshake(&c, &self, 1), DM_EOF);
  expect_closed(&c, "self");
  dm_ident_free(&self);
}

Test(daemon_adversary, a_tampered_message_ends_the_session)
{
  uint8_t m[] = {0x92, 64, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8}, out[64];
  size_t olen;
  dm_conn c;

  session(&c);
  cr_assert_eq(proto_stream_seal(c.st, m, sizeof m, 0, out, sizeof out, &olen), BT_OK);
  out[olen / 2] ^= 0x20;
  dm_send_frame(&c, out, olen);
  expect_closed(&c, "BT_EDECRYPT");
}

Test(daemon_adversary, messages_out_of_the_protocol_end_the_session)
{
  static const uint8_t unknown[] = {0x91, 9};             /* neither net's nor sync's */
  static const uint8_t pong[] = {0x92, 65, 0x01};         /* nobody pinged */
  static const uint8_t bye_not_final[] = {0x91, 66};
  const uint8_t *msgs[] = {unknown, pong, bye_not_final};
  size_t lens[] = {sizeof unknown, sizeof pong, sizeof bye_not_final};

  for (int i = 0; i < 3; i++) {
    dm_conn c;
    session(&c);
    dm_seal(&c, msgs[i], lens[i], 0);
    cr_assert(dm_wait_closed(&c, 3000));
    dm_close(&c);
  }
  cr_assert_eq(dm_log_wait(&d, "state=open reason=BT_EPROTO", 3, 2000), 3);
  dm_good_peer(d.port, &good);
}

Test(daemon_adversary, a_peer_that_does_not_speak_sync_is_refused)
{
  char needle[128];
  dm_ident x = good; /* the good device, offering no capability */
  dm_conn c;

  x.caps = NULL;
  x.ncaps = 0;
  dm_connect(&c, d.port);
  cr_assert_eq(dm_handshake(&c, &x, 1), BT_OK);
  snprintf(needle, sizeof needle, "state=open reason=BT_EVERSION fpr=%s", x.fpr);
  cr_assert_eq(dm_log_wait(&d, needle, 1, 2000), 1);
  expect_closed(&c, "BT_EVERSION");
}

Test(daemon_adversary, a_silent_socket_times_out)
{
  dm_conn c;

  dm_connect(&c, d.port);
  expect_closed(&c, "hs_timeout");
}
