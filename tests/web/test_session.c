/* tests/web/test_session.c: sign-in sessions, CSRF, origin checks, cookies
 * and the sign-in rate limit, on a fake clock. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crdt/err.h"
#include "web/session.h"

#define T0 1767225600000ull
#define MIN (60 * 1000ull)

static void init(void)
{
  cr_assert_geq(sodium_init(), 0);
}

TestSuite(web_session, .init = init);
TestSuite(web_csrf, .init = init);
TestSuite(web_cookie, .init = init);
TestSuite(web_ratelimit, .init = init);

static int b64url(const char *s)
{
  if (strlen(s) != WEB_TOKEN_LEN)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_'))
      return 0;
  return 1;
}

static web_session *get(web_sessions *t, const char *cookie, uint64_t now, int touch, int *rc)
{
  web_session *s = NULL;

  *rc = web_session_get(t, cookie, strlen(cookie), now, touch, &s);
  return s;
}

static int lookup(web_sessions *t, const char *cookie, uint64_t now)
{
  int rc;

  get(t, cookie, now, 0, &rc);
  return rc;
}

Test(web_session, ids_are_unique_base64url_and_find_their_session)
{
  enum { N = 200 };
  static web_session_tokens tok[N];
  web_sessions *t;
  char user[16];

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  for (int i = 0; i < N; i++) {
    snprintf(user, sizeof user, "user%d", i);
    cr_assert_eq(web_session_create(t, user, NODE_ROLE_STAFF + i % 6, T0, &tok[i]), BT_OK);
    cr_assert(b64url(tok[i].id), "id %d: %s", i, tok[i].id);
    cr_assert(b64url(tok[i].csrf), "csrf %d: %s", i, tok[i].csrf);
    cr_assert_neq(strcmp(tok[i].id, tok[i].csrf), 0);
    for (int j = 0; j < i; j++) {
      cr_assert_neq(strcmp(tok[i].id, tok[j].id), 0, "%d %d", i, j);
      cr_assert_neq(strcmp(tok[i].csrf, tok[j].csrf), 0, "%d %d", i, j);
    }
  }
  cr_assert_eq(web_sessions_count(t), N);
  for (int i = 0; i < N; i++) {
    int rc;
    web_session *s = get(t, tok[i].id, T0 + 1, 1, &rc);
    snprintf(user, sizeof user, "user%d", i);
    cr_assert_eq(rc, BT_OK, "%d", i);
    cr_assert_str_eq(web_session_user(s), user);
    cr_assert_eq(web_session_role(s), (node_role)(NODE_ROLE_STAFF + i % 6));
    cr_assert_str_eq(web_session_csrf(s), tok[i].csrf);
  }
  web_sessions_free(t);
}

Test(web_session, create_refuses_bad_names_and_roles)
{
  web_sessions *t;
  web_session_tokens tok;
  char longname[NODE_USER_MAX + 2];

  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "", NODE_ROLE_DSL, T0, &tok), BT_EINVAL);
  cr_assert_eq(web_session_create(t, NULL, NODE_ROLE_DSL, T0, &tok), BT_EINVAL);
  cr_assert_eq(web_session_create(t, longname, NODE_ROLE_DSL, T0, &tok), BT_EINVAL);
  cr_assert_eq(web_session_create(t, "a", (node_role)0, T0, &tok), BT_EINVAL);
  cr_assert_eq(web_session_create(t, "a", NODE_ROLE_END, T0, &tok), BT_EINVAL);
  longname[NODE_USER_MAX] = '\0';
  cr_assert_eq(web_session_create(t, longname, NODE_ROLE_DSL, T0, &tok), BT_OK);
  cr_assert_eq(web_sessions_count(t), 1);
  web_sessions_free(t);
}

Test(web_session, wrong_changed_or_truncated_cookies_fail)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  web_sessions *t;
  web_session_tokens tok, other;
  char c[WEB_TOKEN_LEN + 8];
  web_session *s = NULL;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "dsl", NODE_ROLE_DSL, T0, &tok), BT_OK);
  cr_assert_eq(lookup(t, tok.id, T0), BT_OK);
  /* Another table's id, and this session's CSRF token, are not ids here. */
  web_sessions *t2;
  cr_assert_eq(web_sessions_new(&t2, NULL), BT_OK);
  cr_assert_eq(web_session_create(t2, "dsl", NODE_ROLE_DSL, T0, &other), BT_OK);
  cr_assert_eq(lookup(t, other.id, T0), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, tok.csrf, T0), BT_ENOTFOUND);
  web_sessions_free(t2);
  /* Every position, every other character. */
  for (size_t i = 0; i < WEB_TOKEN_LEN; i++)
    for (const char *a = alphabet; *a; a++) {
      if (*a == tok.id[i])
        continue;
      strcpy(c, tok.id);
      c[i] = *a;
      cr_assert_eq(lookup(t, c, T0), BT_ENOTFOUND, "pos %zu char %c", i, *a);
    }
  /* Truncated, extended, padded, empty. */
  for (size_t n = 0; n < WEB_TOKEN_LEN; n++)
    cr_assert_eq(web_session_get(t, tok.id, n, T0, 1, &s), BT_ENOTFOUND, "len %zu", n);
  snprintf(c, sizeof c, "%sA", tok.id);
  cr_assert_eq(lookup(t, c, T0), BT_ENOTFOUND);
  snprintf(c, sizeof c, "%s=", tok.id);
  cr_assert_eq(lookup(t, c, T0), BT_ENOTFOUND);
  snprintf(c, sizeof c, " %s", tok.id);
  cr_assert_eq(lookup(t, c, T0), BT_ENOTFOUND);
  cr_assert_eq(web_session_get(t, NULL, 0, T0, 1, &s), BT_ENOTFOUND);
  cr_assert_null(s, "*out untouched on failure");
  cr_assert_eq(lookup(t, tok.id, T0), BT_OK, "the real one still works");
  web_sessions_free(t);
}

Test(web_session, idle_expiry_at_its_edge_and_refreshed_by_use)
{
  web_sessions *t;
  web_session_tokens tok;
  const uint64_t idle = WEB_SESSION_IDLE_MS;
  int rc;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "amy", NODE_ROLE_STAFF, T0, &tok), BT_OK);
  /* touch = 0 (polling) does not refresh. */
  web_session *s = get(t, tok.id, T0 + idle - 1, 0, &rc);
  cr_assert_eq(rc, BT_OK);
  cr_assert_eq(web_session_left_ms(t, s, T0 + idle - 1), 1);
  /* A touch just before the edge gives a fresh 15 minutes. */
  get(t, tok.id, T0 + idle - 1, 1, &rc);
  cr_assert_eq(rc, BT_OK);
  cr_assert_eq(lookup(t, tok.id, T0 + 2 * idle - 2), BT_OK);
  /* A clock that steps back neither fails nor lengthens the session. */
  get(t, tok.id, T0, 1, &rc);
  cr_assert_eq(rc, BT_OK);
  cr_assert_eq(lookup(t, tok.id, T0 + 2 * idle - 1), BT_EEXPIRED);
  cr_assert_eq(lookup(t, tok.id, T0 + 2 * idle - 1), BT_ENOTFOUND, "ended by the lookup");
  cr_assert_eq(web_sessions_count(t), 0);

  cr_assert_eq(web_session_create(t, "amy", NODE_ROLE_STAFF, T0, &tok), BT_OK);
  cr_assert_eq(lookup(t, tok.id, T0 + idle), BT_EEXPIRED, "exactly 15 minutes idle");
  web_sessions_free(t);
}

Test(web_session, absolute_expiry_at_its_edge_despite_use)
{
  web_sessions *t;
  web_session_tokens tok;
  const uint64_t abs = WEB_SESSION_ABS_MS;
  uint64_t now;
  int rc;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "dsl", NODE_ROLE_DSL, T0, &tok), BT_OK);
  for (now = T0; now < T0 + abs; now += 10 * MIN) {
    get(t, tok.id, now, 1, &rc);
    cr_assert_eq(rc, BT_OK, "at +%llu ms", (unsigned long long)(now - T0));
  }
  web_session *s = get(t, tok.id, T0 + abs - 1, 1, &rc);
  cr_assert_eq(rc, BT_OK);
  cr_assert_eq(web_session_left_ms(t, s, T0 + abs - 1), 1);
  cr_assert_eq(lookup(t, tok.id, T0 + abs), BT_EEXPIRED);
  web_sessions_free(t);
}

Test(web_session, options_set_lifetimes_and_sweep_ends_expired)
{
  web_session_opts o = {.max = 8, .idle_ms = 1000, .abs_ms = 5000};
  web_sessions *t;
  web_session_tokens a, b;

  cr_assert_eq(web_sessions_new(&t, &o), BT_OK);
  cr_assert_eq(web_session_create(t, "a", NODE_ROLE_STAFF, T0, &a), BT_OK);
  cr_assert_eq(web_session_create(t, "b", NODE_ROLE_STAFF, T0 + 500, &b), BT_OK);
  cr_assert_eq(web_sessions_sweep(t, T0 + 999), 0);
  cr_assert_eq(web_sessions_sweep(t, T0 + 1000), 1);
  cr_assert_eq(web_sessions_count(t), 1);
  cr_assert_eq(lookup(t, a.id, T0 + 1000), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, b.id, T0 + 1000), BT_OK);
  web_sessions_free(t);
}

Test(web_session, end_and_end_user)
{
  web_sessions *t;
  web_session_tokens a1, a2, b;
  const void *p;
  size_t n;
  int rc;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "amy", NODE_ROLE_STAFF, T0, &a1), BT_OK);
  cr_assert_eq(web_session_create(t, "amy", NODE_ROLE_STAFF, T0, &a2), BT_OK);
  cr_assert_eq(web_session_create(t, "amyb", NODE_ROLE_DSL, T0, &b), BT_OK);

  web_session *s = get(t, b.id, T0, 1, &rc);
  cr_assert_eq(rc, BT_OK);
  web_session_end(t, s);
  cr_assert_eq(lookup(t, b.id, T0), BT_ENOTFOUND);
  /* Its CSRF token is wiped from the secrets. */
  web__sessions_region(t, 1, &p, &n);
  for (size_t i = 0; i + WEB_TOKEN_LEN <= n; i++)
    cr_assert_neq(memcmp((const char *)p + i, b.csrf, WEB_TOKEN_LEN), 0);

  cr_assert_eq(web_session_end_user(t, "amyb"), 0);
  cr_assert_eq(web_session_end_user(t, "am"), 0, "names match whole");
  cr_assert_eq(web_session_end_user(t, "amy"), 2);
  cr_assert_eq(lookup(t, a1.id, T0), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, a2.id, T0), BT_ENOTFOUND);
  cr_assert_eq(web_sessions_count(t), 0);
  web_sessions_free(t);
}

Test(web_session, full_table_drops_expired_then_the_longest_idle)
{
  web_session_opts o = {.max = 3, .idle_ms = 1000, .abs_ms = 100000};
  web_sessions *t;
  web_session_tokens s1, s2, s3, s4, s5;

  cr_assert_eq(web_sessions_new(&t, &o), BT_OK);
  cr_assert_eq(web_session_create(t, "one", NODE_ROLE_STAFF, T0, &s1), BT_OK);
  cr_assert_eq(web_session_create(t, "two", NODE_ROLE_STAFF, T0 + 500, &s2), BT_OK);
  cr_assert_eq(web_session_create(t, "three", NODE_ROLE_STAFF, T0 + 600, &s3), BT_OK);
  int rc;
  get(t, s1.id, T0 + 900, 1, &rc); /* one: oldest, but used most recently */
  cr_assert_eq(rc, BT_OK);
  /* At +1550 two has expired (idle since +500): it goes. */
  cr_assert_eq(web_session_create(t, "four", NODE_ROLE_STAFF, T0 + 1550, &s4), BT_OK);
  cr_assert_eq(web_sessions_count(t), 3);
  cr_assert_eq(lookup(t, s2.id, T0 + 1550), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, s1.id, T0 + 1550), BT_OK);
  cr_assert_eq(lookup(t, s3.id, T0 + 1550), BT_OK);
  /* Nothing expired at +1560: three, idle the longest, goes. */
  cr_assert_eq(web_session_create(t, "five", NODE_ROLE_STAFF, T0 + 1560, &s5), BT_OK);
  cr_assert_eq(web_sessions_count(t), 3);
  cr_assert_eq(lookup(t, s3.id, T0 + 1560), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, s1.id, T0 + 1560), BT_OK);
  cr_assert_eq(lookup(t, s4.id, T0 + 1560), BT_OK);
  cr_assert_eq(lookup(t, s5.id, T0 + 1560), BT_OK);
  web_sessions_free(t);
}

Test(web_session, default_table_holds_256_then_evicts)
{
  static web_session_tokens tok[WEB_SESSION_MAX + 1];
  web_sessions *t;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  for (int i = 0; i <= WEB_SESSION_MAX; i++)
    cr_assert_eq(web_session_create(t, "u", NODE_ROLE_STAFF, T0 + (uint64_t)i, &tok[i]), BT_OK);
  cr_assert_eq(web_sessions_count(t), WEB_SESSION_MAX);
  cr_assert_eq(lookup(t, tok[0].id, T0 + 300), BT_ENOTFOUND);
  cr_assert_eq(lookup(t, tok[1].id, T0 + 300), BT_OK);
  cr_assert_eq(lookup(t, tok[WEB_SESSION_MAX].id, T0 + 300), BT_OK);
  web_sessions_free(t);
}

static int contains(const void *hay, size_t n, const void *needle, size_t m)
{
  for (size_t i = 0; i + m <= n; i++)
    if (memcmp((const uint8_t *)hay + i, needle, m) == 0)
      return 1;
  return 0;
}

Test(web_session, table_memory_holds_no_session_id)
{
  enum { N = 64 };
  static web_session_tokens tok[N];
  web_sessions *t;
  uint8_t raw[32];
  size_t rl;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  for (int i = 0; i < N; i++)
    cr_assert_eq(web_session_create(t, "dsl", NODE_ROLE_DSL, T0, &tok[i]), BT_OK);
  for (int i = 0; i < N; i++) {
    int found_csrf = 0;
    cr_assert_eq(sodium_base642bin(raw, sizeof raw, tok[i].id, WEB_TOKEN_LEN, NULL, &rl, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    cr_assert_eq(rl, sizeof raw);
    for (int r = 0;; r++) {
      const void *p;
      size_t n;
      web__sessions_region(t, r, &p, &n);
      if (n == 0)
        break;
      cr_assert(!contains(p, n, raw, sizeof raw), "raw id %d in region %d", i, r);
      cr_assert(!contains(p, n, raw, 8), "id prefix %d in region %d", i, r);
      cr_assert(!contains(p, n, tok[i].id, WEB_TOKEN_LEN), "id text %d in region %d", i, r);
      found_csrf |= contains(p, n, tok[i].csrf, WEB_TOKEN_LEN);
    }
    cr_assert(found_csrf, "the scan does find what is kept (csrf %d)", i);
  }
  web_sessions_free(t);
}

/* ---- CSRF ---- */

Test(web_csrf, only_the_exact_token_passes)
{
  web_sessions *t;
  web_session_tokens tok, other;
  char c[WEB_TOKEN_LEN + 2];
  int rc;

  cr_assert_eq(web_sessions_new(&t, NULL), BT_OK);
  cr_assert_eq(web_session_create(t, "dsl", NODE_ROLE_DSL, T0, &tok), BT_OK);
  cr_assert_eq(web_session_create(t, "dsl", NODE_ROLE_DSL, T0, &other), BT_OK);
  web_session *s = get(t, tok.id, T0, 1, &rc);
  cr_assert_eq(rc, BT_OK);

  cr_assert_eq(web_csrf_check(s, tok.csrf, WEB_TOKEN_LEN), BT_OK);
  for (size_t i = 0; i < WEB_TOKEN_LEN; i++) {
    strcpy(c, tok.csrf);
    c[i] = c[i] == 'A' ? 'B' : 'A';
    cr_assert_eq(web_csrf_check(s, c, WEB_TOKEN_LEN), BT_EAUTH, "pos %zu", i);
  }
  cr_assert_eq(web_csrf_check(s, "", 0), BT_EAUTH);
  cr_assert_eq(web_csrf_check(s, NULL, 0), BT_EAUTH);
  cr_assert_eq(web_csrf_check(s, tok.csrf, WEB_TOKEN_LEN - 1), BT_EAUTH);
  snprintf(c, sizeof c, "%sA", tok.csrf);
  cr_assert_eq(web_csrf_check(s, c, WEB_TOKEN_LEN + 1), BT_EAUTH);
  cr_assert_eq(web_csrf_check(s, other.csrf, WEB_TOKEN_LEN), BT_EAUTH, "another session's");
  cr_assert_eq(web_csrf_check(s, tok.id, WEB_TOKEN_LEN), BT_EAUTH, "the session id");
  web_sessions_free(t);
}

Test(web_csrf, host_and_origin_checks)
{
  const char *exp = "http://127.0.0.1:8080";

  cr_assert(web_host_ok("127.0.0.1:8080", exp));
  cr_assert(web_host_ok("LOCALHOST:8080", "http://localhost:8080"));
  cr_assert(!web_host_ok("127.0.0.1", exp));
  cr_assert(!web_host_ok("127.0.0.1:80800", exp));
  cr_assert(!web_host_ok("evil.example:8080", exp), "DNS rebinding");
  cr_assert(!web_host_ok("", exp));
  cr_assert(!web_host_ok(NULL, exp));
  cr_assert(!web_host_ok("127.0.0.1:8080", "127.0.0.1:8080"), "expected needs a scheme");

  const char *h = "127.0.0.1:8080";
  cr_assert(web_origin_ok(exp, NULL, h, exp));
  cr_assert(web_origin_ok("HTTP://127.0.0.1:8080", NULL, h, exp));
  cr_assert(web_origin_ok(exp, "http://evil.example/", h, exp), "Origin wins over Referer");
  cr_assert(!web_origin_ok("http://evil.example", exp, h, exp));
  cr_assert(!web_origin_ok("null", NULL, h, exp));
  cr_assert(!web_origin_ok("https://127.0.0.1:8080", NULL, h, exp));
  cr_assert(!web_origin_ok("http://127.0.0.1:8080/", NULL, h, exp));
  cr_assert(!web_origin_ok(exp, NULL, "evil.example:8080", exp), "Host checked too");
  cr_assert(!web_origin_ok(exp, NULL, NULL, exp));
  cr_assert(web_origin_ok(NULL, "http://127.0.0.1:8080/case/1?x", h, exp));
  cr_assert(web_origin_ok(NULL, "http://127.0.0.1:8080", h, exp));
  cr_assert(!web_origin_ok(NULL, "http://127.0.0.1:8080.evil.example/", h, exp));
  cr_assert(!web_origin_ok(NULL, "http://127.0.0.1:80801/", h, exp));
  cr_assert(!web_origin_ok(NULL, "http://127.0.0.1", h, exp));
  cr_assert(!web_origin_ok(NULL, NULL, h, exp), "neither header");
}

/* ---- Cookies ---- */

Test(web_cookie, strings_exactly_as_documented)
{
  const char *id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
  char buf[160];

  cr_assert_eq(strlen(id), WEB_TOKEN_LEN);
  cr_assert_eq(web_session_cookie(id, 0, WEB_SESSION_ABS_MS / 1000, buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "baton_session=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde; Path=/; "
                        "Max-Age=28800; HttpOnly; SameSite=Strict");
  cr_assert_eq(web_session_cookie(id, 1, 28800, buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "baton_session=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde; Path=/; "
                        "Max-Age=28800; HttpOnly; SameSite=Strict; Secure");
  cr_assert_eq(web_session_cookie_clear(0, buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "baton_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  cr_assert_eq(web_session_cookie_clear(1, buf, sizeof buf), BT_OK);
  cr_assert_str_eq(buf, "baton_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");

  /* WEB_COOKIE_LEN always suffices; one byte short of the text is refused. */
  char small[WEB_COOKIE_LEN];
  cr_assert_eq(web_session_cookie(id, 1, UINT64_MAX, small, sizeof small), BT_OK);
  size_t need = strlen(small) + 1;
  cr_assert_eq(web_session_cookie(id, 1, UINT64_MAX, small, need - 1), BT_ETOOBIG);
  cr_assert_eq(web_session_cookie(id, 1, UINT64_MAX, small, need), BT_OK);
  cr_assert_eq(web_session_cookie_clear(1, small, 10), BT_ETOOBIG);
}

Test(web_cookie, builder_refuses_malformed_ids)
{
  char buf[160];

  cr_assert_eq(web_session_cookie("short", 0, 1, buf, sizeof buf), BT_EINVAL);
  cr_assert_eq(web_session_cookie(NULL, 0, 1, buf, sizeof buf), BT_EINVAL);
  cr_assert_eq(web_session_cookie("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd;", 0, 1, buf,
                                  sizeof buf), BT_EINVAL, "header injection");
  cr_assert_eq(web_session_cookie("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdef", 0, 1, buf,
                                  sizeof buf), BT_EINVAL, "44 characters");
}

static int find(const char *h, const char **v, size_t *n)
{
  return web_session_cookie_find(h, strlen(h), v, n);
}

Test(web_cookie, find_in_a_cookie_header)
{
  const char *v;
  size_t n;

  cr_assert_eq(find("baton_session=abc", &v, &n), BT_OK);
  cr_assert_eq(n, 3);
  cr_assert_eq(memcmp(v, "abc", 3), 0);
  cr_assert_eq(find("a=1; baton_session=xyz; b=2", &v, &n), BT_OK);
  cr_assert_eq(n, 3);
  cr_assert_eq(memcmp(v, "xyz", 3), 0);
  cr_assert_eq(find("a=1;baton_session = q ;b", &v, &n), BT_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(*v, 'q');
  cr_assert_eq(find("baton_session=", &v, &n), BT_OK);
  cr_assert_eq(n, 0);
  cr_assert_eq(find("", &v, &n), BT_ENOTFOUND);
  cr_assert_eq(find("xbaton_session=1; baton_sessionx=2; baton_session", &v, &n), BT_ENOTFOUND);
  cr_assert_eq(find("baton_session=a; baton_session=b", &v, &n), BT_EDUP);
}

/* ---- Rate limit ---- */

static uint32_t fail_n(web_ratelimit *rl, const char *a, int n, uint64_t now)
{
  for (int i = 0; i < n; i++) {
    uint32_t r = web_ratelimit_allow(rl, a, now);
    if (r != 0)
      return r;
    web_ratelimit_fail(rl, a, now);
  }
  return 0;
}

Test(web_ratelimit, ten_failures_then_wait_for_the_window)
{
  web_ratelimit *rl;
  const uint64_t w = WEB_RL_WINDOW_MS;

  cr_assert_eq(web_ratelimit_new(&rl, NULL), BT_OK);
  cr_assert_eq(fail_n(rl, "192.0.2.1", WEB_RL_ATTEMPTS, T0), 0);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0), 900);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + 1), 900, "rounded up");
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + 1000), 899);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + w - 1000), 1);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + w - 1), 1, "never 0 while locked");
  cr_assert_eq(web_ratelimit_allow(rl, "198.51.100.7", T0), 0, "other addresses unaffected");
  web_ratelimit_ok(rl, "198.51.100.7", T0);
  /* Window over: a fresh ten from T0 + w. */
  cr_assert_eq(fail_n(rl, "192.0.2.1", WEB_RL_ATTEMPTS, T0 + w), 0);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + w), 900);
  cr_assert_eq(web_ratelimit_allow(rl, "192.0.2.1", T0 + 2 * w), 0);
  web_ratelimit_free(rl);
}

Test(web_ratelimit, ninth_failure_still_allows_one_more)
{
  web_ratelimit *rl;

  cr_assert_eq(web_ratelimit_new(&rl, NULL), BT_OK);
  cr_assert_eq(fail_n(rl, "a", WEB_RL_ATTEMPTS - 1, T0), 0);
  cr_assert_eq(web_ratelimit_allow(rl, "a", T0 + 5 * MIN), 0);
  web_ratelimit_fail(rl, "a", T0 + 5 * MIN);
  /* The window runs from the first attempt, not the last. */
  cr_assert_eq(web_ratelimit_allow(rl, "a", T0 + 5 * MIN), 600);
  web_ratelimit_free(rl);
}

Test(web_ratelimit, successes_do_not_count_or_forgive)
{
  web_ratelimit *rl;

  cr_assert_eq(web_ratelimit_new(&rl, NULL), BT_OK);
  cr_assert_eq(fail_n(rl, "a", 9, T0), 0);
  for (int i = 0; i < 50; i++) {
    cr_assert_eq(web_ratelimit_allow(rl, "a", T0), 0, "%d", i);
    web_ratelimit_ok(rl, "a", T0);
  }
  cr_assert_eq(fail_n(rl, "a", 1, T0), 0);
  cr_assert_gt(web_ratelimit_allow(rl, "a", T0), 0, "nine failures, fifty successes, one more");
  /* An address with only successes is not kept. */
  cr_assert_eq(web_ratelimit_allow(rl, "b", T0), 0);
  cr_assert_eq(web_ratelimit_count(rl), 2);
  web_ratelimit_ok(rl, "b", T0);
  cr_assert_eq(web_ratelimit_count(rl), 1);
  web_ratelimit_free(rl);
}

Test(web_ratelimit, attempts_in_flight_count)
{
  web_ratelimit_opts o = {.attempts = 3};
  web_ratelimit *rl;

  cr_assert_eq(web_ratelimit_new(&rl, &o), BT_OK);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(web_ratelimit_allow(rl, "a", T0), 0);
  cr_assert_gt(web_ratelimit_allow(rl, "a", T0), 0, "three in flight");
  web_ratelimit_ok(rl, "a", T0);
  cr_assert_eq(web_ratelimit_allow(rl, "a", T0), 0, "one settled as a success");
  web_ratelimit_fail(rl, "a", T0);
  web_ratelimit_fail(rl, "a", T0);
  web_ratelimit_fail(rl, "a", T0);
  cr_assert_gt(web_ratelimit_allow(rl, "a", T0), 0);
  web_ratelimit_free(rl);
}

Test(web_ratelimit, full_table_evicts_passed_windows_then_least_recent)
{
  web_ratelimit_opts o = {.attempts = 1, .window_ms = 1000, .max_addrs = 4};
  web_ratelimit *rl;

  cr_assert_eq(web_ratelimit_new(&rl, &o), BT_OK);
  cr_assert_eq(fail_n(rl, "a", 1, T0), 0);
  cr_assert_eq(fail_n(rl, "b", 1, T0 + 500), 0);
  cr_assert_eq(fail_n(rl, "c", 1, T0 + 600), 0);
  cr_assert_eq(fail_n(rl, "d", 1, T0 + 700), 0);
  web_ratelimit_fail(rl, "a", T0 + 900); /* a: seen last, window from T0 */
  cr_assert_eq(web_ratelimit_count(rl), 4);
  /* At +1050 only a's window has passed: a goes, not b (least recent). */
  cr_assert_eq(fail_n(rl, "e", 1, T0 + 1050), 0);
  cr_assert_eq(web_ratelimit_count(rl), 4);
  cr_assert_gt(web_ratelimit_allow(rl, "b", T0 + 1050), 0, "b kept, still locked");
  cr_assert_gt(web_ratelimit_allow(rl, "c", T0 + 1050), 0);
  cr_assert_gt(web_ratelimit_allow(rl, "d", T0 + 1050), 0);
  cr_assert_gt(web_ratelimit_allow(rl, "e", T0 + 1050), 0);
  /* No window has passed at +1060: the least recently seen goes (b, seen
     at +1050; the others at +1055). */
  web_ratelimit_fail(rl, "c", T0 + 1055);
  web_ratelimit_fail(rl, "d", T0 + 1055);
  web_ratelimit_fail(rl, "e", T0 + 1055);
  cr_assert_eq(fail_n(rl, "f", 1, T0 + 1060), 0);
  cr_assert_eq(web_ratelimit_count(rl), 4);
  cr_assert_eq(web_ratelimit_allow(rl, "b", T0 + 1060), 0, "b was evicted, so forgotten");
  web_ratelimit_free(rl);
}

Test(web_ratelimit, default_table_holds_1024_addresses)
{
  web_ratelimit *rl;
  char a[32];

  cr_assert_eq(web_ratelimit_new(&rl, NULL), BT_OK);
  cr_assert_eq(fail_n(rl, "first", WEB_RL_ATTEMPTS, T0), 0);
  for (int i = 1; i < WEB_RL_ADDRS; i++) {
    snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
    cr_assert_eq(fail_n(rl, a, 1, T0 + 1 + (uint64_t)i), 0);
  }
  cr_assert_eq(web_ratelimit_count(rl), WEB_RL_ADDRS);
  cr_assert_eq(fail_n(rl, "one-more", 1, T0 + 2000), 0);
  cr_assert_eq(web_ratelimit_count(rl), WEB_RL_ADDRS);
  cr_assert_eq(fail_n(rl, "10.0.0.1", WEB_RL_ATTEMPTS - 1, T0 + 2001), 0);
  cr_assert_gt(web_ratelimit_allow(rl, "10.0.0.1", T0 + 2001), 0, "its first failure was kept");
  cr_assert_eq(web_ratelimit_allow(rl, "first", T0 + 2001), 0, "evicted as least recent");
  web_ratelimit_free(rl);
}
