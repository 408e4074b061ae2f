/* web/api.h: what every JSON API module of the web UI shares (docs/web.md
 * "API"): the call (who is signed in, the request), the module table
 * web/app.c dispatches to, and the helpers for replies, ids and bodies.
 *
 * A module answers the paths it owns: it returns 0 when the request's path
 * is none of its calls (the next module is asked; 404 when none answers),
 * else the HTTP status with *out the JSON reply (an error is {"error":
 * "..."}; NULL on out of memory) and, for 405, *allow the methods allowed.
 * web/app.c has already checked the Host, the session, and for a POST the
 * same origin and the CSRF token. Every role decision is node/'s (the *_as
 * calls); a module never widens or narrows what a role may see. Error
 * messages name fields, never the values sent: no case content is echoed. */
#ifndef BT_WEB_API_H
#define BT_WEB_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt/op.h"
#include "node/store.h"
#include "node/users.h"
#include "web/http.h"

typedef struct {
  node_store *s;
  const char *user;        /* the signed-in user */
  node_role role;
  uint64_t now_ms;         /* Unix ms, the app's clock */
  const web_request *req;
  web_method method;       /* req->method, HEAD read as GET */
} web_call;

#define WEB_API_BODY_MAX (256 * 1024) /* bytes of a JSON body: 413 above */

typedef int (*web_api_fn)(const web_call *c, json_t **out, const char **allow);

/* The modules, in the order web/app.c asks them. */
int web_api_files(const web_call *c, json_t **out, const char **allow);   /* api_files.c */
int web_api_entries(const web_call *c, json_t **out, const char **allow); /* api_entries.c */
int web_api_desk(const web_call *c, json_t **out, const char **allow);    /* api_desk.c */
int web_api_intake(const web_call *c, json_t **out, const char **allow);  /* api_intake.c */
int web_api_xfer(const web_call *c, json_t **out, const char **allow);    /* api_xfer.c */
int web_api_share(const web_call *c, json_t **out, const char **allow);   /* api_share.c */
int web_api_audit(const web_call *c, json_t **out, const char **allow);   /* api_audit.c */

/* ---- helpers (api.c) ---------------------------------------------------------- */

/* *out = {"error": msg}; returns status. */
int web_api_fail(json_t **out, int status, const char *msg);

/* What node/ answered, as a status and a message that never carries the
 * request's text: BT_EDENIED 403, BT_ENOFILE/BT_ENOTFOUND/BT_EEPOCH 404,
 * BT_ETOOBIG 413, BT_EMISSING/BT_EINVAL/BT_EDATE 400, BT_EDUP and
 * BT_ESTATE 409, calendar gaps (BT_EHOLIDAYS, BT_ETERMS) 409 with what to
 * do, anything else 500 with bt_strerror. */
int web_api_node_fail(json_t **out, int rc);

/* 405 for a known path: *allow = allow. */
int web_api_not_allowed(json_t **out, const char **allow, const char *allow_methods);

/* Exactly 2 * len hex digits (either case) into out: 1, else 0. */
int web_api_hex(const char *p, size_t n, uint8_t *out, size_t len);

/* An id as lower-case hex into buf (2 * len + 1 bytes); returns buf. */
char *web_api_hexstr(const uint8_t *p, size_t len, char *buf);

/* A JSON value of bytes as hex, a string (null when n is 0 and p NULL). */
json_t *web_api_hexjson(const uint8_t *p, size_t len);

/* The path's segments after prefix ("/api/files/"), split at '/': at most
 * max into seg[] (each {p, len}, not NUL-terminated). Returns how many,
 * or -1 when the path does not start with prefix, or has more than max
 * segments, or an empty one (a doubled or trailing slash). */
typedef struct {
  const char *p;
  size_t len;
} web_seg;
int web_api_split(const char *path, const char *prefix, web_seg *seg, size_t max);

/* 1 if seg is exactly the word w. */
int web_api_seg_is(const web_seg *seg, const char *w);

/* The request body as one JSON object (at most max bytes). On success
 * returns 0 with *obj (the caller decrefs it); else the 4xx status with
 * *out the error (413 too long; 400 not JSON, a field named twice, or not
 * an object, with only the line and column: Jansson's own message quotes
 * the text). */
int web_api_body(const web_call *c, size_t max, json_t **obj, json_t **out);

/* Optional members of a JSON object, type-checked. Each returns 1 when
 * present and of the right kind (null counts as absent: 0), 0 absent, -1
 * present and wrong (the caller answers 400 naming the key). */
int web_api_str(const json_t *o, const char *key, const char **v);
int web_api_bool(const json_t *o, const char *key, int *v);
/* "YYYY-MM-DD" into yyyymmdd (a real date). */
int web_api_date(const json_t *o, const char *key, uint32_t *ymd);

/* Member checks that answer for themselves: on a refusal *out holds the
 * 400, naming the key (never a value; a key that does not look like a
 * field name is not echoed). */
/* 1 if every key of o is one of keys (NULL-terminated); else 0. */
int web_api_only_keys(const json_t *o, const char *const *keys, json_t **out);
/* An id member of len bytes as hex: 1 set, 0 absent (when not required),
 * -1 refused. */
int web_api_hex_field(const json_t *o, const char *key, uint8_t *id, size_t len, int required,
                      json_t **out);
/* An optional text member: 0 fine (*v NULL when absent, null or ""), -1
 * refused. */
int web_api_text_field(const json_t *o, const char *key, const char **v, json_t **out);
/* An optional date member "YYYY-MM-DD": 0 fine (*ymd 0 when absent), -1
 * refused. */
int web_api_date_field(const json_t *o, const char *key, uint32_t *ymd, json_t **out);

/* Counts by plan status as {"not_recorded": n[0], "none": n[1], ...}: n
 * has 1 + the number of crdt_fs_words(CRDT_FS_PLAN) counts, as
 * node_counts.by_plan. */
#define WEB_API_PLANS 6
json_t *web_api_plans_json(const size_t n[WEB_API_PLANS]);

/* A crdt date (yyyymmdd, 0 none) as "YYYY-MM-DD" or null. */
json_t *web_api_datejson(uint32_t ymd);
/* A time in Unix ms (0 none) as "YYYY-MM-DDTHH:MM:SSZ" or null. */
json_t *web_api_timejson(uint64_t ms);

#endif
