/* tests/web/apikit.h: a real batond serving the web UI on a store the test
 * prepared (tests/node/parties.h, passphrase "pw"), a small HTTP client for
 * it, and what the API tests (tests/web/test_api*.c) share: the standard
 * roster of users, signing in as one of them, op counts and reply
 * helpers. batond runs with --listen off and --web ADDR:0 (127.0.0.1 unless
 * the test names another); the port is read back from its log. Criterion
 * fixture code: failures are assertions. */
#ifndef BT_TESTS_WEB_APIKIT_H
#define BT_TESTS_WEB_APIKIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crdt/body.h"
#include "node/parties.h"
#include "node/store.h"
#include "node/users.h"

extern int port;               /* the web UI's port */
extern char origin[64];        /* "http://127.0.0.1:PORT" ("http://[ADDR]:PORT" on IPv6) */
extern char hostport[64];      /* "127.0.0.1:PORT": what the Host header names */
extern char resp[1 << 18];     /* the last answer, NUL-terminated */
/* The source address connect_ui binds to before connecting to an IPv6 UI
 * (NULL: the kernel picks); an IPv4 UI ignores it. */
extern const char *apikit_source;

/* Starts batond on the store in dir, serving the UI on 127.0.0.1; stops it
 * (SIGTERM, waits). */
void apikit_start(const char *dir);
void apikit_stop(void);
/* As apikit_start, on web: "127.0.0.1:0" or "[IPV6]:0". */
void apikit_start_at(const char *dir, const char *web);
/* The running batond's process id (the test is its parent); 0 if none. */
pid_t apikit_pid(void);

/* A connected socket to the UI. */
int connect_ui(void);
/* Sends raw bytes, reads the whole answer (until the server closes, or 2 s
 * pass) into resp; the status code, 0 for no answer. */
int raw(const void *req, size_t len);
int raws(const char *text);
/* One request with Host, Connection: close and Content-Length; extra: more
 * header lines, each ending in \r\n (may be ""). */
int req(const char *method, const char *path, const char *extra, const char *body);
/* The body of resp. */
const char *body_of(void);
/* 1 if resp has header name (as the server writes it) containing needle
 * (NULL: present at all). */
int header_has(const char *name, const char *needle);

/* A signed-in user: the session cookie ("baton_session=...") and the CSRF
 * token. */
typedef struct {
  char cookie[64], csrf[64];
} apikit_who;
/* POST /api/login from the same origin; the status. On 200, the cookie and
 * token into *w (asserted present); otherwise *w is left as it was. */
int apikit_login(const char *user, const char *pass, apikit_who *w);
/* apikit_login asserted to succeed. */
apikit_who apikit_sign_in(const char *user, const char *pass);
/* Signs in user with the roster's passphrase convention, "pass USER". */
apikit_who apikit_as(const char *user);
/* GET as w; POST a JSON body as w, same origin, with its CSRF token. The
 * status, the answer in resp. */
int apikit_get(const apikit_who *w, const char *path);
int apikit_post(const apikit_who *w, const char *path, const char *body);
/* The JSON body of resp (asserted to parse; the caller decrefs it). */
json_t *apikit_json(void);
/* The string member key of o, NULL if absent or not a string. */
const char *jstr(const json_t *o, const char *key);
/* A path formatted from fmt, in one of four static buffers used in turn
 * (so a few may be live at once, as arguments to one call). */
const char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the store -------------------------------------------------------------------- */

/* The four parties of tests/node/parties.h the API tests run on; batond
 * serves school's store (Oak Primary). */
extern party la, school, mash, other;
/* parties_open on them, then the standard roster on school (apikit_users). */
void apikit_open(void);
/* apikit_stop, then parties_close: a suite's .fini. */
void apikit_close(void);

/* One user of each role, in this order: dsl.jones (DSL), dep.kay (deputy),
 * staff.ali (staff), head.may (head), gov.bea (governor), aud.cy
 * (auditor). Role x endpoint tests walk it; from index 2 on are the roles
 * that neither share nor transfer. */
typedef struct {
  const char *name;
  node_role role;
} apikit_user;
#define APIKIT_NROLES 6
extern const apikit_user apikit_roles[APIKIT_NROLES];

/* Adds user name in role to s with the passphrase "pass NAME". */
void apikit_user_add(node_store *s, const char *name, node_role role);
/* The standard roster: apikit_roles, then staff.bo (a second member of
 * staff), each with "pass NAME". */
void apikit_users(node_store *s);
/* A file on school in conflict: created by dsl.jones with the nfv fields
 * fv, write rights granted to mash (all history) and synced there; then
 * the n fields at_mash written at mash (mash.duty, DSL) and at_school at
 * school (dsl.jones) at the same time, and synced back to school. Its id
 * into file. */
void apikit_conflicting_file(const crdt_fieldval *fv, size_t nfv, const crdt_fieldval *at_mash,
                             const crdt_fieldval *at_school, size_t n,
                             uint8_t file[CRDT_FILE_LEN]);
/* The ops s holds for a file (node_sync_file_state), read in-process. */
uint64_t apikit_ops(node_store *s, const uint8_t *file);

#endif
