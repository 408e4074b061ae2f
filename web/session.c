/* web/session.c: see session.h.
 *
 * Both tables are small fixed arrays scanned from end to end: a sign-in runs
 * Argon2 (about a second), and a lookup compares 256 hashes, so neither
 * needs an index, and a full scan with sodium_memcmp takes the same time
 * whichever slot matches. A session slot holds BLAKE2b(id), never the id;
 * its name and CSRF token live in one sodium_malloc'd array (guard pages,
 * mlock'd where allowed) indexed like the slots. The rate limiter keys
 * addresses by a keyed BLAKE2b so the table is no log of who tried. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "session.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

#define RAW_LEN 32
#define HASH_LEN crypto_generichash_BYTES
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

struct secret {
  char user[NODE_USER_MAX + 1];
  char csrf[WEB_TOKEN_LEN + 1];
};

struct web_session {
  uint8_t hash[HASH_LEN];   /* BLAKE2b of the 32 id bytes */
  uint64_t created, used;
  node_role role;
  int live;
  struct secret *sec;       /* this slot's part of tab->sec */
};

struct web_sessions {
  size_t max, n;
  uint64_t idle_ms, abs_ms;
  struct secret *sec;       /* sodium_malloc'd, max entries */
  web_session slot[];
};

/* Random bytes as a 43-character token; raw is left for the caller to wipe. */
static void token(uint8_t raw[RAW_LEN], char out[WEB_TOKEN_LEN + 1])
{
  randombytes_buf(raw, RAW_LEN);
  sodium_bin2base64(out, WEB_TOKEN_LEN + 1, raw, RAW_LEN, B64);
}

static int is_token(const char *p, size_t len)
{
  if (p == NULL || len != WEB_TOKEN_LEN)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

int web_sessions_new(web_sessions **out, const web_session_opts *o)
{
  size_t max = o != NULL && o->max != 0 ? o->max : WEB_SESSION_MAX;
  web_sessions *t;

  if (max > SIZE_MAX / sizeof(struct secret) / 2)
    return BT_EINVAL;
  if ((t = calloc(1, sizeof(*t) + max * sizeof(t->slot[0]))) == NULL)
    return BT_ENOMEM;
  t->max = max;
  t->idle_ms = o != NULL && o->idle_ms != 0 ? o->idle_ms : WEB_SESSION_IDLE_MS;
  t->abs_ms = o != NULL && o->abs_ms != 0 ? o->abs_ms : WEB_SESSION_ABS_MS;
  if ((t->sec = sodium_malloc(max * sizeof(struct secret))) == NULL) {
    free(t);
    return BT_ENOMEM;
  }
  sodium_memzero(t->sec, max * sizeof(struct secret));
  for (size_t i = 0; i < max; i++)
    t->slot[i].sec = &t->sec[i];
  *out = t;
  return BT_OK;
}

static void end_slot(web_sessions *tab, web_session *s)
{
  struct secret *sec = s->sec;

  if (!s->live)
    return;
  sodium_memzero(sec, sizeof(*sec));
  sodium_memzero(s, sizeof(*s));
  s->sec = sec;
  tab->n--;
}

void web_sessions_free(web_sessions *tab)
{
  if (tab == NULL)
    return;
  for (size_t i = 0; i < tab->max; i++)
    end_slot(tab, &tab->slot[i]);
  sodium_free(tab->sec); /* wipes too */
  free(tab);
}

/* A clock that steps back counts as the last time seen. */
static uint64_t since(uint64_t then, uint64_t now)
{
  return now > then ? now - then : 0;
}

static int expired(const web_sessions *tab, const web_session *s, uint64_t now)
{
  return since(s->used, now) >= tab->idle_ms || since(s->created, now) >= tab->abs_ms;
}

size_t web_sessions_sweep(web_sessions *tab, uint64_t now_ms)
{
  size_t ended = 0;

  for (size_t i = 0; i < tab->max; i++)
    if (tab->slot[i].live && expired(tab, &tab->slot[i], now_ms)) {
      end_slot(tab, &tab->slot[i]);
      ended++;
    }
  return ended;
}

/* A free slot, making one if need be: expired sessions first, then the
 * one idle the longest. */
static web_session *free_slot(web_sessions *tab, uint64_t now)
{
  web_session *oldest = NULL;

  if (tab->n == tab->max)
    web_sessions_sweep(tab, now);
  for (size_t i = 0; i < tab->max; i++) {
    web_session *s = &tab->slot[i];
    if (!s->live)
      return s;
    if (oldest == NULL || s->used < oldest->used)
      oldest = s;
  }
  end_slot(tab, oldest);
  return oldest;
}

int web_session_create(web_sessions *tab, const char *user, node_role role, uint64_t now_ms,
                       web_session_tokens *out)
{
  uint8_t raw[RAW_LEN];
  web_session *s;
  size_t ulen;

  if (user == NULL || (ulen = strnlen(user, NODE_USER_MAX + 1)) == 0 || ulen > NODE_USER_MAX ||
      node_role_name(role) == NULL)
    return BT_EINVAL;
  s = free_slot(tab, now_ms);
  token(raw, out->id);
  crypto_generichash(s->hash, HASH_LEN, raw, RAW_LEN, NULL, 0);
  token(raw, out->csrf);
  sodium_memzero(raw, sizeof raw);
  memcpy(s->sec->user, user, ulen + 1);
  memcpy(s->sec->csrf, out->csrf, WEB_TOKEN_LEN + 1);
  s->created = s->used = now_ms;
  s->role = role;
  s->live = 1;
  tab->n++;
  return BT_OK;
}

int web_session_get(web_sessions *tab, const char *cookie, size_t len, uint64_t now_ms,
                    int touch, web_session **out)
{
  uint8_t raw[RAW_LEN], h[HASH_LEN];
  web_session *found = NULL;
  size_t n = 0;

  if (!is_token(cookie, len) ||
      sodium_base642bin(raw, sizeof raw, cookie, len, NULL, &n, NULL, B64) != 0 ||
      n != RAW_LEN) {
    sodium_memzero(raw, sizeof raw);
    return BT_ENOTFOUND;
  }
  crypto_generichash(h, HASH_LEN, raw, RAW_LEN, NULL, 0);
  sodium_memzero(raw, sizeof raw);
  for (size_t i = 0; i < tab->max; i++) {
    web_session *s = &tab->slot[i];
    int eq = sodium_memcmp(s->hash, h, HASH_LEN) == 0;
    if (eq & s->live)
      found = s;
  }
  if (found == NULL)
    return BT_ENOTFOUND;
  if (expired(tab, found, now_ms)) {
    end_slot(tab, found);
    return BT_EEXPIRED;
  }
  if (touch && now_ms > found->used)
    found->used = now_ms;
  *out = found;
  return BT_OK;
}

const char *web_session_user(const web_session *s)
{
  return s->sec->user;
}

node_role web_session_role(const web_session *s)
{
  return s->role;
}

const char *web_session_csrf(const web_session *s)
{
  return s->sec->csrf;
}

uint64_t web_session_left_ms(const web_sessions *tab, const web_session *s, uint64_t now_ms)
{
  uint64_t idle = since(s->used, now_ms), age = since(s->created, now_ms);
  uint64_t a = idle >= tab->idle_ms ? 0 : tab->idle_ms - idle;
  uint64_t b = age >= tab->abs_ms ? 0 : tab->abs_ms - age;

  return a < b ? a : b;
}

void web_session_end(web_sessions *tab, web_session *s)
{
  assert(s >= tab->slot && s < tab->slot + tab->max);
  end_slot(tab, s);
}

size_t web_session_end_user(web_sessions *tab, const char *user)
{
  size_t ended = 0;

  for (size_t i = 0; i < tab->max; i++) {
    web_session *s = &tab->slot[i];
    if (s->live && strcmp(s->sec->user, user) == 0) {
      end_slot(tab, s);
      ended++;
    }
  }
  return ended;
}

size_t web_sessions_count(const web_sessions *tab)
{
  return tab->n;
}

void web__sessions_region(const web_sessions *tab, int i, const void **p, size_t *n)
{
  *p = i == 0 ? (const void *)tab : i == 1 ? (const void *)tab->sec : NULL;
  *n = i == 0 ? sizeof(*tab) + tab->max * sizeof(tab->slot[0])
     : i == 1 ? tab->max * sizeof(struct secret) : 0;
}

/* ---- CSRF and origins ---- */

int web_csrf_check(const web_session *s, const char *token_, size_t len)
{
  /* The length is public (always 43); only the bytes need constant time. */
  if (token_ == NULL || len != WEB_TOKEN_LEN)
    return BT_EAUTH;
  return sodium_memcmp(s->sec->csrf, token_, WEB_TOKEN_LEN) == 0 ? BT_OK : BT_EAUTH;
}

static int eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
  if (an != bn)
    return 0;
  for (size_t i = 0; i < an; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y - 'A' + 'a');
    if (x != y)
      return 0;
  }
  return 1;
}

int web_host_ok(const char *host, const char *expected_origin)
{
  const char *auth;

  if (host == NULL || expected_origin == NULL ||
      (auth = strstr(expected_origin, "://")) == NULL)
    return 0;
  auth += 3;
  return *auth != '\0' && eq_nocase(host, strlen(host), auth, strlen(auth));
}

int web_origin_ok(const char *origin, const char *referer, const char *host,
                  const char *expected_origin)
{
  size_t el;

  if (!web_host_ok(host, expected_origin))
    return 0;
  el = strlen(expected_origin);
  if (origin != NULL)
    return eq_nocase(origin, strlen(origin), expected_origin, el);
  if (referer != NULL && strlen(referer) >= el && eq_nocase(referer, el, expected_origin, el))
    return referer[el] == '\0' || referer[el] == '/';
  return 0;
}

/* ---- Cookies ---- */

static int put(size_t len, int n)
{
  return n < 0 || (size_t)n >= len ? BT_ETOOBIG : BT_OK;
}

int web_session_cookie(const char *id, int secure, uint64_t max_age_s, char *buf, size_t len)
{
  if (id == NULL || !is_token(id, strnlen(id, WEB_TOKEN_LEN + 1)))
    return BT_EINVAL;
  return put(len,
             snprintf(buf, len, "%s=%s; Path=/; Max-Age=%llu; HttpOnly; SameSite=Strict%s",
                      WEB_SESSION_COOKIE, id, (unsigned long long)max_age_s,
                      secure ? "; Secure" : ""));
}

int web_session_cookie_clear(int secure, char *buf, size_t len)
{
  return put(len, snprintf(buf, len, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
                           WEB_SESSION_COOKIE, secure ? "; Secure" : ""));
}

static int ows(char c)
{
  return c == ' ' || c == '\t';
}

/* Cookie: a=1; b=2 (RFC 6265 section 4.2), read leniently: pairs split on
 * ';', whitespace around names and values ignored. */
int web_session_cookie_find(const char *header, size_t len, const char **val, size_t *vlen)
{
  const size_t nl = sizeof(WEB_SESSION_COOKIE) - 1;
  const char *p = header, *end = header + len, *v = NULL;
  size_t vl = 0, seen = 0;

  while (p < end) {
    const char *e = memchr(p, ';', (size_t)(end - p)), *eq, *ne, *ve;
    if (e == NULL)
      e = end;
    while (p < e && ows(*p))
      p++;
    if ((eq = memchr(p, '=', (size_t)(e - p))) != NULL) {
      for (ne = eq; ne > p && ows(ne[-1]); ne--)
        ;
      if ((size_t)(ne - p) == nl && memcmp(p, WEB_SESSION_COOKIE, nl) == 0) {
        for (v = eq + 1; v < e && ows(*v); v++)
          ;
        for (ve = e; ve > v && ows(ve[-1]); ve--)
          ;
        vl = (size_t)(ve - v);
        seen++;
      }
    }
    p = e + (e < end);
  }
  if (seen == 0)
    return BT_ENOTFOUND;
  if (seen > 1)
    return BT_EDUP;
  *val = v;
  *vlen = vl;
  return BT_OK;
}

/* ---- Sign-in rate limit ---- */

#define ADDR_HASH 16

struct rl_entry {
  uint8_t key[ADDR_HASH];
  uint64_t start, seen;   /* window start; last activity */
  uint32_t failed, pending;
  int live;
};

struct web_ratelimit {
  uint32_t attempts;
  uint64_t window_ms;
  size_t max, n;
  uint8_t hkey[crypto_generichash_KEYBYTES];
  struct rl_entry e[];
};

int web_ratelimit_new(web_ratelimit **out, const web_ratelimit_opts *o)
{
  size_t max = o != NULL && o->max_addrs != 0 ? o->max_addrs : WEB_RL_ADDRS;
  web_ratelimit *rl;

  if (max > SIZE_MAX / sizeof(struct rl_entry) / 2)
    return BT_EINVAL;
  if ((rl = calloc(1, sizeof(*rl) + max * sizeof(rl->e[0]))) == NULL)
    return BT_ENOMEM;
  rl->attempts = o != NULL && o->attempts != 0 ? o->attempts : WEB_RL_ATTEMPTS;
  rl->window_ms = o != NULL && o->window_ms != 0 ? o->window_ms : WEB_RL_WINDOW_MS;
  rl->max = max;
  randombytes_buf(rl->hkey, sizeof rl->hkey);
  *out = rl;
  return BT_OK;
}

void web_ratelimit_free(web_ratelimit *rl)
{
  if (rl == NULL)
    return;
  sodium_memzero(rl, sizeof(*rl) + rl->max * sizeof(rl->e[0]));
  free(rl);
}

size_t web_ratelimit_count(const web_ratelimit *rl)
{
  return rl->n;
}

static int window_over(const web_ratelimit *rl, const struct rl_entry *e, uint64_t now)
{
  return since(e->start, now) >= rl->window_ms;
}

static void rl_drop(web_ratelimit *rl, struct rl_entry *e)
{
  memset(e, 0, sizeof(*e));
  rl->n--;
}

/* addr's entry, or NULL; or, with add, a fresh one (evicting if full). */
static struct rl_entry *rl_find(web_ratelimit *rl, const char *addr, uint64_t now, int add)
{
  uint8_t k[ADDR_HASH];
  struct rl_entry *free_e = NULL, *victim = NULL;

  crypto_generichash(k, sizeof k, (const uint8_t *)addr, strlen(addr), rl->hkey,
                     sizeof rl->hkey);
  for (size_t i = 0; i < rl->max; i++) {
    struct rl_entry *e = &rl->e[i];
    if (!e->live) {
      if (free_e == NULL)
        free_e = e;
      continue;
    }
    if (memcmp(e->key, k, sizeof k) == 0)
      return e;
    /* Prefer a passed window; among equals, the least recently seen. */
    if (victim == NULL || window_over(rl, e, now) > window_over(rl, victim, now) ||
        (window_over(rl, e, now) == window_over(rl, victim, now) && e->seen < victim->seen))
      victim = e;
  }
  if (!add)
    return NULL;
  if (free_e == NULL) {
    rl_drop(rl, victim);
    free_e = victim;
  }
  memcpy(free_e->key, k, sizeof k);
  free_e->start = free_e->seen = now;
  free_e->live = 1;
  rl->n++;
  return free_e;
}

/* A passed window starts afresh at now. */
static void rl_roll(web_ratelimit *rl, struct rl_entry *e, uint64_t now)
{
  if (window_over(rl, e, now)) {
    e->start = now;
    e->failed = e->pending = 0;
  }
  if (now > e->seen)
    e->seen = now;
}

uint32_t web_ratelimit_allow(web_ratelimit *rl, const char *addr, uint64_t now_ms)
{
  struct rl_entry *e = rl_find(rl, addr, now_ms, 1);
  uint64_t left;

  rl_roll(rl, e, now_ms);
  if ((uint64_t)e->failed + e->pending < rl->attempts) {
    e->pending++;
    return 0;
  }
  left = rl->window_ms - since(e->start, now_ms);
  left = (left + 999) / 1000;
  return left > UINT32_MAX ? UINT32_MAX : left == 0 ? 1 : (uint32_t)left;
}

void web_ratelimit_fail(web_ratelimit *rl, const char *addr, uint64_t now_ms)
{
  /* Recreated if a flood of other addresses evicted it meanwhile. */
  struct rl_entry *e = rl_find(rl, addr, now_ms, 1);

  rl_roll(rl, e, now_ms);
  if (e->pending > 0)
    e->pending--;
  if (e->failed < UINT32_MAX)
    e->failed++;
}

void web_ratelimit_ok(web_ratelimit *rl, const char *addr, uint64_t now_ms)
{
  struct rl_entry *e = rl_find(rl, addr, now_ms, 0);

  if (e == NULL)
    return;
  rl_roll(rl, e, now_ms);
  if (e->pending > 0)
    e->pending--;
  if (e->pending == 0 && e->failed == 0)
    rl_drop(rl, e);
}
