/* web/session.h: staff sign-in sessions, CSRF tokens, origin checks and the
 * sign-in rate limit of the web UI (docs/web.md, "Sessions, CSRF and rate
 * limits").
 *
 * Pure: no sockets and no clock reads. Every time is a parameter, now_ms, in
 * milliseconds of one clock that never goes back (the server passes
 * uv_now()); a time earlier than one already seen counts as that time, so a
 * clock that steps back never lengthens a session.
 *
 * Sessions live in memory only: they are not persisted, so restarting batond
 * signs everyone out. A session is made after node_user_login has accepted
 * the passphrase (the caller does that). Its id, the cookie value, is 32
 * random bytes in base64url (43 characters); the table keeps only the
 * BLAKE2b hash of the id, so a dump of the table gives no live cookie. The
 * user name and the CSRF token sit in sodium_malloc'd memory and are wiped
 * when the session ends.
 *
 * Not thread-safe: one table, one thread (the server's loop). */
#ifndef BT_WEB_SESSION_H
#define BT_WEB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "node/users.h"

#define WEB_SESSION_COOKIE "baton_session"
#define WEB_TOKEN_LEN 43                      /* base64url of 32 bytes, no padding */
#define WEB_SESSION_MAX 256                   /* default table size */
#define WEB_SESSION_IDLE_MS (15 * 60 * 1000)  /* idle expiry, refreshed on use */
#define WEB_SESSION_ABS_MS (8 * 60 * 60 * 1000) /* absolute expiry from sign-in */

typedef struct web_sessions web_sessions;
typedef struct web_session web_session;

typedef struct {
  size_t max;        /* sessions held at once; 0: WEB_SESSION_MAX */
  uint64_t idle_ms;  /* 0: WEB_SESSION_IDLE_MS */
  uint64_t abs_ms;   /* 0: WEB_SESSION_ABS_MS */
} web_session_opts;

/* A new, empty table; o may be NULL for the defaults. BT_ENOMEM. Needs
 * sodium_init() to have succeeded. */
int web_sessions_new(web_sessions **out, const web_session_opts *o);
/* Ends every session (wiping it) and frees the table. NULL is a no-op. */
void web_sessions_free(web_sessions *tab);

/* What web_session_create hands back, NUL-terminated base64url. id is the
 * cookie value: a bearer secret the table does not keep, so the caller
 * builds the Set-Cookie header from it and then wipes it (sodium_memzero).
 * csrf is the session's CSRF token (web_session_csrf gives it again). */
typedef struct {
  char id[WEB_TOKEN_LEN + 1];
  char csrf[WEB_TOKEN_LEN + 1];
} web_session_tokens;

/* Opens a session for user (1..NODE_USER_MAX characters) in role at now_ms.
 * If the table is full, expired sessions go first, then the one idle the
 * longest is ended to make room: signing in always succeeds. BT_EINVAL for
 * a bad name or role. */
int web_session_create(web_sessions *tab, const char *user, node_role role, uint64_t now_ms,
                       web_session_tokens *out);

/* The session whose id is cookie[0..len). The comparison is by hash with
 * sodium_memcmp over every slot. touch = 1 refreshes the idle timer (a
 * request the person made); touch = 0 does not (automatic polling, so an
 * unattended screen still signs out). BT_ENOTFOUND (malformed, unknown or
 * ended); BT_EEXPIRED (idle or absolute expiry reached: the session is ended
 * here, so the next lookup says BT_ENOTFOUND). *out is borrowed: valid until
 * the next call that creates, ends, sweeps or frees. */
int web_session_get(web_sessions *tab, const char *cookie, size_t len, uint64_t now_ms,
                    int touch, web_session **out);

/* The signed-in user's name and role, and the CSRF token (43 characters,
 * NUL-terminated) for pages to embed. Borrowed, as the session is. */
const char *web_session_user(const web_session *s);
node_role web_session_role(const web_session *s);
const char *web_session_csrf(const web_session *s);
/* Milliseconds until s expires at now_ms (the earlier of idle and absolute
 * expiry): for a "you will be signed out soon" warning. 0 if already. */
uint64_t web_session_left_ms(const web_sessions *tab, const web_session *s, uint64_t now_ms);

/* Sign-out: wipes s and frees its slot. s is invalid afterwards. */
void web_session_end(web_sessions *tab, web_session *s);
/* Ends every session of user (after a passphrase reset or a role change, or
 * when the user is removed). Returns how many ended. */
size_t web_session_end_user(web_sessions *tab, const char *user);
/* Ends every session expired at now_ms (the server runs it on a timer so
 * expired secrets do not linger). Returns how many ended. */
size_t web_sessions_sweep(web_sessions *tab, uint64_t now_ms);
/* Sessions held (expired ones not yet swept included). */
size_t web_sessions_count(const web_sessions *tab);

/* CSRF. Every state-changing request (POST, PUT, PATCH, DELETE) carries the
 * session's token in the X-CSRF-Token header or the form field csrf_token,
 * and the server refuses it (403) unless this returns BT_OK; it also checks
 * web_origin_ok. GET and HEAD change nothing, so they need neither.
 * Compares in constant time. BT_OK, or BT_EAUTH (missing, or not exactly the
 * token). token may be NULL when the request had none. */
int web_csrf_check(const web_session *s, const char *token, size_t len);

/* 1 if host (the Host header) names expected_origin's host and port, case
 * aside: the defence against DNS rebinding, for every request. expected_
 * origin is the origin as a browser serialises it: "http://127.0.0.1:8080",
 * lower case, no path, no default port. Else 0 (NULL host included). */
int web_host_ok(const char *host, const char *expected_origin);

/* 1 if a state-changing request is same-origin: web_host_ok(host), and the
 * Origin header equals expected_origin, or (no Origin) the Referer is
 * expected_origin followed by '/' or nothing. A request with neither header,
 * or with Origin "null", is refused. Any argument may be NULL (missing). */
int web_origin_ok(const char *origin, const char *referer, const char *host,
                  const char *expected_origin);

/* Set-Cookie values. id: 43 base64url characters. secure = 1 adds
 * "; Secure" (HTTPS, or any address other than loopback). max_age_s is the
 * absolute lifetime (WEB_SESSION_ABS_MS / 1000, or the table's). Writes
 * "baton_session=ID; Path=/; Max-Age=N; HttpOnly; SameSite=Strict[; Secure]"
 * and a NUL into buf. BT_EINVAL (id malformed); BT_ETOOBIG (len too small;
 * WEB_COOKIE_LEN always suffices). */
#define WEB_COOKIE_LEN 160
int web_session_cookie(const char *id, int secure, uint64_t max_age_s, char *buf, size_t len);
/* The sign-out cookie that makes the browser forget it:
 * "baton_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict[; Secure]".
 * BT_ETOOBIG. */
int web_session_cookie_clear(int secure, char *buf, size_t len);

/* Finds baton_session's value in a Cookie header, header[0..len). *val
 * points into header. BT_ENOTFOUND; BT_EDUP if it appears more than once (a
 * cookie planted under another path or a parent domain: the request is
 * treated as signed out rather than guess which is ours). */
int web_session_cookie_find(const char *header, size_t len, const char **val, size_t *vlen);

/* Sign-in rate limit per client address, on top of node/'s per-user lockout
 * (NODE_LOCKOUT_FAILS wrong passphrases lock a user for NODE_LOCKOUT_MS).
 * An address may make at most `attempts` failed or in-flight sign-ins in a
 * window of window_ms that starts with its first attempt; a success does not
 * count and does not forgive earlier failures (so one valid account cannot
 * be used to reset the count while guessing others). The table holds at most
 * max_addrs addresses, keyed by a keyed hash (no addresses kept in clear);
 * when full, an address whose window has passed goes first, else the one
 * least recently seen. The server passes IPv6 clients as their /64. */
#define WEB_RL_ATTEMPTS 10
#define WEB_RL_WINDOW_MS (15 * 60 * 1000)
#define WEB_RL_ADDRS 1024

typedef struct web_ratelimit web_ratelimit;

typedef struct {
  uint32_t attempts;   /* 0: WEB_RL_ATTEMPTS */
  uint64_t window_ms;  /* 0: WEB_RL_WINDOW_MS */
  size_t max_addrs;    /* 0: WEB_RL_ADDRS */
} web_ratelimit_opts;

int web_ratelimit_new(web_ratelimit **out, const web_ratelimit_opts *o); /* BT_ENOMEM */
void web_ratelimit_free(web_ratelimit *rl);                              /* NULL: no-op */

/* Before checking a passphrase: 0 if addr may try now, and the attempt is
 * then counted as in flight until web_ratelimit_fail or _ok settles it (so
 * concurrent guesses count too). Otherwise the whole seconds, at least 1,
 * until it may try again (the Retry-After value), and nothing is counted. */
uint32_t web_ratelimit_allow(web_ratelimit *rl, const char *addr, uint64_t now_ms);
/* Settles an attempt allowed for addr: a wrong passphrase (or a locked
 * user) keeps it counted; a success uncounts it. */
void web_ratelimit_fail(web_ratelimit *rl, const char *addr, uint64_t now_ms);
void web_ratelimit_ok(web_ratelimit *rl, const char *addr, uint64_t now_ms);
/* Addresses held. */
size_t web_ratelimit_count(const web_ratelimit *rl);

/* For tests: the table's memory, region 0 the slots, 1 the sodium_malloc'd
 * secrets; *n = 0 past the last. */
void web__sessions_region(const web_sessions *tab, int i, const void **p, size_t *n);

#endif
