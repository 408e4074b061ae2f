/* tests/web/test_api_review.c: defects found reviewing the web UI's server
 * (web/server.c, web/app.c) against a real batond. Each test is named after
 * the defect, says what is wrong and what should happen, and FAILS on the
 * code as reviewed. The fixture and the HTTP client are tests/web/apikit.h;
 * the slow tests keep their own sender and reader here. Some tests wait
 * out the server's timeouts (10 s head, 30 s idle) and take up to a
 * minute. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crdt/err.h"
#include "node/parties.h"
#include "node/users.h"
#include "web/apikit.h"

#define MEM_USER "mem.test"
#define MEM_PASS "Quokka-Marmalade-93817-zx" /* unique: searched for in batond's memory */


/* Oak Primary's users, and batond serving the UI on web ("ADDR:0"). */
static void start_with(const char *web)
{
  parties_open(&la, &school, &mash, &other);
  cr_assert_eq(node_user_add(school.s, "dsl.jones", "oak pass 1", 10, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(node_user_add(school.s, "staff.ali", "ali pass 1", 10, NODE_ROLE_STAFF), BT_OK);
  cr_assert_eq(node_user_add(school.s, MEM_USER, MEM_PASS, strlen(MEM_PASS), NODE_ROLE_STAFF),
               BT_OK);
  apikit_start_at(school.dir, web);
}

static void start(void)
{
  start_with("127.0.0.1:0");
}

/* A private network namespace (the test runs as root, or with user
 * namespaces) where lo carries 2001:db8::1, ::2 and ::3: one /64. The
 * client connects from ::2 (the suite's source address) unless a test
 * names another. */
static void start_v6(void)
{
  if (unshare(CLONE_NEWNET) != 0)
    cr_skip_test("no network namespace: %s", strerror(errno));
  cr_assert_eq(system("ip link set lo up && "
                      "ip -6 addr add 2001:db8::1/64 dev lo nodad && "
                      "ip -6 addr add 2001:db8::2/64 dev lo nodad && "
                      "ip -6 addr add 2001:db8::3/64 dev lo nodad"),
               0);
  apikit_source = "2001:db8::2";
  start_with("[2001:db8::1]:0");
}

TestSuite(web_review, .init = start, .fini = apikit_close);
TestSuite(web_review_v6, .init = start_v6, .fini = apikit_close);

/* ---- a slow client: sends and reads on a socket of its own ----------------------------- */

static void send_all(int fd, const void *p, size_t len)
{
  for (size_t off = 0; off < len;) {
    ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
}

/* Reads until the server closes or `secs` pass without data; into resp.
 * Returns the bytes read; *eof = 1 when the server closed. */
static size_t read_all(int fd, int secs, int *eof)
{
  struct timeval tv = {secs, 0};
  size_t got = 0;
  ssize_t n;

  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  *eof = 0;
  while (got < sizeof resp - 1 && (n = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0)
    got += (size_t)n;
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
    *eof = 1;
  resp[got] = 0;
  return got;
}

/* How many times needle occurs in batond's writable memory (heap, anonymous
 * mappings, stacks), read through /proc/PID/mem (the test is its parent). */
static int in_daemon_memory(const char *needle)
{
  char path[64], line[512];
  FILE *maps;
  int mem, hits = 0;
  size_t nl = strlen(needle);

  snprintf(path, sizeof path, "/proc/%d/maps", (int)apikit_pid());
  cr_assert((maps = fopen(path, "r")));
  snprintf(path, sizeof path, "/proc/%d/mem", (int)apikit_pid());
  cr_assert((mem = open(path, O_RDONLY)) >= 0, "%s", strerror(errno));
  while (fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || perms[1] != 'w')
      continue;
    size_t n = hi - lo;
    if (n > ((size_t)1 << 28))
      continue; /* not the heap: ASan's shadow memory in sanitised builds */
    char *buf = malloc(n);
    ssize_t got = buf ? pread(mem, buf, n, (off_t)lo) : -1;
    for (ssize_t i = 0; got > 0 && (size_t)got >= nl && i <= got - (ssize_t)nl; i++) {
      char *p = memmem(buf + i, (size_t)got - (size_t)i, needle, nl);
      if (p == NULL)
        break;
      hits++;
      i = p - buf;
    }
    free(buf);
  }
  close(mem);
  fclose(maps);
  return hits;
}

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- connection lifecycle (web/server.c) ------------------------------------------- */

/* web/server.c on_read: the head timer is armed whenever a read arrives with
 * c->len == 0, but serve() hands every byte of an incomplete request to the
 * parser (web_http_feed consumes all of it), so c->len is back to 0 after
 * each read and every new byte restarts the 10 s. A sender that trickles one
 * byte every few seconds is never cut (slow-loris; 64 of them take every
 * connection slot). What should happen: docs/web.md, "a request must arrive
 * whole within 10 s of its first byte": the request is cut at 10 s (408 or
 * close), so the late end of it gets no 200. */
Test(web_review, slow_loris_request_is_never_cut)
{
  char head[256];
  int n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", hostport);
  int fd = connect_ui(), eof, status = 0;
  double t0 = now_s();

  int i = 5;

  send_all(fd, head, 5); /* "GET /" */
  for (; i < n && now_s() - t0 < 16; i++) {
    sleep(1); /* a byte a second: 16 s of request when the limit is 10 */
    send_all(fd, head + i, 1);
  }
  send_all(fd, head + i, (size_t)(n - i)); /* the rest of the head */
  send_all(fd, "\r\n", 2);
  read_all(fd, 3, &eof);
  sscanf(resp, "HTTP/1.1 %d", &status);
  close(fd);
  cr_assert_neq(status, 200,
                "a request that took %.0f s to arrive (limit 10 s) was answered: %.60s",
                now_s() - t0, resp);
}

/* web/server.c on_timeout: a request still arriving when the head timeout
 * fires is closed without an answer, although web/server.h promises "slow
 * senders are cut: 408" and web_http_pending exists to tell that case from
 * an idle connection. What should happen: a 408 with Connection: close. */
Test(web_review, slow_request_timeout_gets_no_408)
{
  char head[256];
  int n = snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: %s\r\n", hostport);
  int fd = connect_ui(), eof, status = 0;

  send_all(fd, head, (size_t)n); /* the head, without its blank line */
  read_all(fd, 14, &eof);        /* the 10 s head timeout passes */
  sscanf(resp, "HTTP/1.1 %d", &status);
  close(fd);
  cr_assert(eof, "the connection was not closed in 14 s");
  cr_assert_eq(status, 408, "a timed-out request should get 408, got %d bytes: \"%.60s\"",
               (int)strlen(resp), resp);
}

/* ---- secrets in memory --------------------------------------------------------------- */

/* web/server.c conn_closed/serve: the raw login body (with the passphrase)
 * sits in the connection's read buffer c->buf, which is memmove'd (leaving
 * the bytes behind) and finally free()d without being wiped; jansson's lexer
 * keeps its own copy of the raw token and frees it unwiped too. app.c
 * login() wipes only jansson's decoded string through a const-cast, which
 * is not UB (the string is jansson's malloc'd buffer) but covers one copy of
 * several. What should happen: once the sign-in is answered and the
 * connection closed, the passphrase is nowhere in batond's memory (wipe
 * c->buf on consume and on free; parse the body with a wiping allocator,
 * json_set_alloc_funcs, or not with jansson). */
Test(web_review, passphrase_lingers_in_daemon_memory_after_sign_in)
{
  apikit_who w;

  cr_assert_eq(in_daemon_memory(MEM_PASS), 0, "before: the test's own setup");
  cr_assert_eq(apikit_login(MEM_USER, MEM_PASS, &w), 200, "%s", resp);
  usleep(200000);
  cr_assert_eq(in_daemon_memory(MEM_PASS), 0,
               "the passphrase is still in batond's memory after the sign-in was answered "
               "and the connection closed (%d copies)",
               in_daemon_memory(MEM_PASS));
}

/* web/server.c on_written: the serialised response with "Set-Cookie:
 * baton_session=ID" is free()d without being wiped (and answer()'s
 * memset(r.scratch) is a dead store an optimiser may drop: not
 * sodium_memzero). docs/web.md: "The table keeps only its BLAKE2b hash, so a
 * memory dump of the server gives no live cookie". What should happen: after
 * the sign-in is written, the live cookie value is not in batond's memory
 * (until the browser sends it back). */
Test(web_review, session_cookie_lingers_in_daemon_memory_after_sign_in)
{
  apikit_who w;
  const char *id;

  cr_assert_eq(apikit_login(MEM_USER, MEM_PASS, &w), 200, "%s", resp);
  cr_assert((id = strchr(w.cookie, '=')) && strlen(id + 1) == 43, "%s", w.cookie);
  id++;
  usleep(200000);
  cr_assert_eq(in_daemon_memory(id), 0,
               "the live session cookie %s is in batond's memory (%d copies) although only "
               "its hash should be",
               id, in_daemon_memory(id));
}

/* ---- status codes (web/app.c) --------------------------------------------------------- */

/* web/app.c web_app_handle: "use POST" on /api/login is a 405 without an
 * Allow header (RFC 9110 §15.5.6: a 405 MUST carry Allow); the page routes
 * do send one. What should happen: 405 with "Allow: POST". */
Test(web_review, api_405_has_no_allow_header)
{
  cr_assert_eq(req("GET", "/api/login", "", NULL), 405, "%s", resp);
  cr_assert(header_has("Allow", "POST"), "405 without Allow: %s", resp);
}

/* web/app.c web_app_handle: a known API call with the wrong method (GET
 * /api/logout, DELETE /api/me, HEAD /api/me) falls through to "no such API
 * call" 404. What should happen: 405 with Allow (and HEAD answered like GET,
 * RFC 9110 §9.3.2), so clients and logs can tell a wrong method from a
 * wrong path. */
Test(web_review, api_wrong_method_is_404_not_405)
{
  apikit_who w;
  char extra[200];

  cr_assert_eq(apikit_login("staff.ali", "ali pass 1", &w), 200);
  snprintf(extra, sizeof extra, "Cookie: %s\r\n", w.cookie);
  cr_assert_eq(req("GET", "/api/logout", extra, NULL), 405, "GET /api/logout: %.40s", resp);
  cr_assert_eq(req("HEAD", "/api/me", extra, NULL), 200, "HEAD /api/me: %.40s", resp);
}

/* ---- rate limit (web/server.c peer_name, web/app.c login) ------------------------------ */

/* web/server.c peer_name passes the full IPv6 address as the rate-limit key,
 * while web/session.h and docs/web.md say "IPv6 clients are counted by their
 * /64": anyone with a /64 (every home line) has 2^64 addresses, so the
 * per-address sign-in limit does not hold against IPv6 clients at all. Here
 * ten wrong tries come from 2001:db8::2 and the eleventh from 2001:db8::3,
 * the same /64. What should happen: 429 with Retry-After. */
Test(web_review_v6, ipv6_rate_limit_is_per_address_not_per_64)
{
  apikit_who w;
  int st = 0, tries = 0;

  apikit_source = "2001:db8::2";
  while (tries < 20 && (st = apikit_login("nobody", "guess", &w)) == 401)
    tries++;
  cr_assert_eq(st, 429, "after %d wrong tries from ::2: %d %s", tries, st, resp);
  apikit_source = "2001:db8::3";
  st = apikit_login("nobody", "guess", &w);
  cr_assert_eq(st, 429, "the next address in the same /64 starts afresh: %d", st);
}

