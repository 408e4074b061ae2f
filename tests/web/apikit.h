/* tests/web/apikit.h: a real batond serving the web UI on a store the test
 * prepared (tests/node/parties.h, passphrase "pw"), and a small HTTP client
 * for it (test_api.c, test_api_files.c). batond runs with --listen off and
 * --web 127.0.0.1:0; the port is read back from its log. Criterion fixture
 * code: failures are assertions. */
#ifndef BT_TESTS_WEB_APIKIT_H
#define BT_TESTS_WEB_APIKIT_H

#include <stddef.h>

extern int port;               /* the web UI's port */
extern char origin[64];        /* "http://127.0.0.1:PORT" */
extern char resp[1 << 18];     /* the last answer, NUL-terminated */

/* Starts batond on the store in dir; stops it (SIGTERM, waits). */
void apikit_start(const char *dir);
void apikit_stop(void);

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

#endif
