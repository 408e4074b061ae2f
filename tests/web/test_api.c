/* tests/web/test_api.c: the web UI's HTTP/JSON API against a real batond
 * (web/main.c) on loopback: pages and their security headers, sign-in and
 * its cookie, CSRF and same-origin checks, the Host check, roles against
 * each endpoint, the sign-in rate limit, and malformed or oversized
 * requests. The store is prepared in-process (tests/node/parties.h: Oak
 * Primary with a DSL, a member of staff and a governor); batond opens it
 * with the passphrase "pw" and serves the UI at a port the kernel picks. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/parties.h"
#include "node/users.h"
#include "web/apikit.h"


static void start(void)
{
  parties_open(&la, &school, &mash, &other);
  cr_assert_eq(node_user_add(school.s, "dsl.jones", "oak pass 1", 10, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(node_user_add(school.s, "staff.ali", "ali pass 1", 10, NODE_ROLE_STAFF), BT_OK);
  cr_assert_eq(node_user_add(school.s, "gov.bea", "bea pass 1", 10, NODE_ROLE_GOVERNOR), BT_OK);
  apikit_start(school.dir);
}

TestSuite(web_api, .init = start, .fini = apikit_close);

/* ---- tests ---------------------------------------------------------------------- */

Test(web_api, pages_are_embedded_and_carry_the_security_headers)
{
  cr_assert_eq(req("GET", "/", "", NULL), 200, "%s", resp);
  cr_assert(header_has("Content-Type", "text/html"));
  cr_assert(header_has("Content-Security-Policy", "script-src 'self'"));
  cr_assert(header_has("X-Content-Type-Options", "nosniff"));
  cr_assert(header_has("X-Frame-Options", "DENY"));
  cr_assert(header_has("Referrer-Policy", "no-referrer"));
  cr_assert(strstr(body_of(), "<script src=\"/app.js\""), "the script is a file");
  cr_assert_null(strstr(body_of(), "<script>"), "no inline script");
  cr_assert_eq(req("GET", "/app.js", "", NULL), 200);
  cr_assert(header_has("Content-Type", "text/javascript"));
  cr_assert_eq(req("GET", "/app.css", "", NULL), 200);
  cr_assert_eq(req("GET", "/nothing.html", "", NULL), 404);
  cr_assert_eq(req("DELETE", "/", "", NULL), 405);
  cr_assert_eq(req("GET", "/../../etc/passwd", "", NULL), 400, "%s", resp);
}

Test(web_api, sign_in_gives_an_httponly_strict_cookie_and_sign_out_ends_it)
{
  apikit_who w, nonsense = {"baton_session=nonsense", ""};
  char extra[300];

  cr_assert_eq(apikit_get(&nonsense, "/api/me"), 401);
  cr_assert_eq(apikit_login("dsl.jones", "wrong", &w), 401);
  cr_assert(strstr(body_of(), "wrong user name or passphrase"), "%s", resp);
  cr_assert_eq(apikit_login("nobody", "whatever", &w), 401, "unknown users look the same");
  cr_assert_eq(req("POST", "/api/login", "Origin: http://127.0.0.1:1\r\n",
                   "{\"user\":\"dsl.jones\",\"passphrase\":\"oak pass 1\"}"), 403,
               "a sign-in from another origin");
  cr_assert_eq(req("POST", "/api/login", "", "{\"user\":\"dsl.jones\",\"passphrase\":\"oak pass 1\"}"),
               403, "no Origin or Referer");
  cr_assert_eq(apikit_login("dsl.jones", "oak pass 1", &w), 200, "%s", resp);
  cr_assert(header_has("Set-Cookie", "HttpOnly"));
  cr_assert(header_has("Set-Cookie", "SameSite=Strict"));
  cr_assert_eq(apikit_get(&w, "/api/me"), 200);
  cr_assert(strstr(body_of(), "\"role\":\"dsl\""), "%s", body_of());

  /* Sign-out is a state change: CSRF token and same origin. */
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\n", w.cookie, origin);
  cr_assert_eq(req("POST", "/api/logout", extra, NULL), 403, "no CSRF token");
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %.42sX\r\n", w.cookie,
           origin, w.csrf);
  cr_assert_eq(req("POST", "/api/logout", extra, NULL), 403, "a wrong CSRF token");
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: %s\r\n",
           w.cookie, w.csrf);
  cr_assert_eq(req("POST", "/api/logout", extra, NULL), 403, "another origin");
  cr_assert_eq(apikit_get(&w, "/api/me"), 200, "refused requests changed nothing");
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %s\r\n", w.cookie,
           origin, w.csrf);
  cr_assert_eq(req("POST", "/api/logout", extra, NULL), 200, "%s", resp);
  cr_assert(header_has("Set-Cookie", "Max-Age=0"));
  cr_assert_eq(apikit_get(&w, "/api/me"), 401, "the session is over");
}

Test(web_api, the_host_header_must_name_this_server)
{
  char buf[256];
  int n = snprintf(buf, sizeof buf, "GET /api/me HTTP/1.1\r\nHost: rebound.example:%d\r\n"
                                    "Connection: close\r\n\r\n", port);

  cr_assert_eq(raw(buf, (size_t)n), 421, "%s", resp);
  n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  cr_assert_eq(raw(buf, (size_t)n), 400, "HTTP/1.1 without Host: %s", resp);
}

Test(web_api, each_role_gets_only_what_node_allows)
{
  apikit_who dsl, staff, gov;

  cr_assert_eq(apikit_login("dsl.jones", "oak pass 1", &dsl), 200);
  cr_assert_eq(apikit_login("staff.ali", "ali pass 1", &staff), 200);
  cr_assert_eq(apikit_login("gov.bea", "bea pass 1", &gov), 200);
  cr_assert_eq(apikit_get(&dsl, "/api/transfers"), 200);
  cr_assert_eq(apikit_get(&dsl, "/api/counts"), 200);
  cr_assert_eq(apikit_get(&gov, "/api/counts"), 200, "governors see counts");
  cr_assert_eq(apikit_get(&gov, "/api/transfers"), 200, "and transfer timeliness");
  cr_assert_eq(apikit_get(&staff, "/api/counts"), 403, "staff see no counts");
  cr_assert_eq(apikit_get(&staff, "/api/transfers"), 403, "nor transfers");
  cr_assert_eq(apikit_get(&staff, "/api/me"), 200);
  cr_assert_eq(apikit_get(&dsl, "/api/nothing"), 404);
  cr_assert_eq(req("GET", "/api/counts", "", NULL), 401, "no session");
}

Test(web_api, sign_in_is_rate_limited_per_address)
{
  apikit_who w;
  int st = 0, tries = 0;

  while (tries < 20 && (st = apikit_login("nobody", "guess", &w)) == 401)
    tries++;
  cr_assert_eq(st, 429, "after %d wrong tries: %d", tries, st);
  cr_assert_eq(tries, 10, "ten tries are allowed in the window");
  cr_assert(header_has("Retry-After", NULL));
  cr_assert_eq(apikit_login("dsl.jones", "oak pass 1", &w), 429,
               "even the right passphrase waits");
}

Test(web_api, malformed_and_oversized_requests_get_4xx_and_the_server_lives)
{
  static char big[1 << 16];
  char *huge;
  size_t n;

  cr_assert_eq(raws("GARBAGE\r\n\r\n"), 400, "%s", resp);
  cr_assert_eq(raws("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"), 400, "smuggling: %s", resp);
  cr_assert_eq(raws("GET / HTTP/3.0\r\nHost: x\r\n\r\n"), 505, "%s", resp);
  n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Big: ", port);
  memset(big + n, 'a', 20000);
  memcpy(big + n + 20000, "\r\n\r\n", 4);
  cr_assert_eq(raw(big, n + 20004), 431, "%s", resp);
  n = (size_t)snprintf(big, sizeof big, "GET /%0*d HTTP/1.1\r\nHost: x\r\n\r\n", 3000, 0);
  cr_assert_eq(raw(big, n), 414, "%s", resp);
  huge = malloc((1 << 20) + 4096);
  n = (size_t)sprintf(huge, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Content-Length: %d\r\n\r\n", port, (1 << 20) + 1);
  memset(huge + n, '{', (1 << 20) + 1);
  cr_assert_eq(raw(huge, n + (1 << 20) + 1), 413, "%.200s", resp);
  free(huge);
  cr_assert_eq(req("GET", "/", "", NULL), 200, "and the server still answers");
}
