/* tests/cli/netkit.h: nodes run with the real binaries, for the tests
 * that build networks (test_cli_setup.c, test_cli_e2e.c): each node is a
 * data directory and key file under the test's root; `baton` runs through
 * tests/cli/runner.h; batond runs in the background on 127.0.0.1 at a port
 * the kernel picks (read back from its log) and dies with the test process
 * (PR_SET_PDEATHSIG). Criterion fixture code: failures are assertions. */
#ifndef BT_TESTS_CLI_NETKIT_H
#define BT_TESTS_CLI_NETKIT_H

#include <sys/types.h>
#include <time.h>

#include "cli/runner.h"

#define KIT_MAX 8

extern char ndir[KIT_MAX][160], nkey[KIT_MAX][160];

/* Names the nodes (names[0..n)): node k lives in ROOT/names[k]. */
void kit_nodes(const char *const *names, int n);

/* ROOT/name (a rotating static buffer: use it at once). */
const char *path(const char *name);

/* baton --dir DIR --key-file KEY args... on node n, with env ("K=V"
 * strings, NULL-terminated, may be NULL). */
int bt_env(int n, const char *const *env, const char *const *args);
#define BT(n, ...) bt_env(n, NULL, (const char *const[]){__VA_ARGS__, NULL})

/* A --json string result of the last command (dotted path), copied. */
char *json_of(const char *key);

#define OK(n, ...)                                                                        \
  do {                                                                                    \
    int rc_ = BT(n, __VA_ARGS__);                                                         \
    cr_assert_eq(rc_, 0, "%s: exit %d\nstdout: %s\nstderr: %s", #__VA_ARGS__, rc_, out,   \
                 err);                                                                    \
  } while (0)

typedef struct {
  pid_t pid;
  char log[200];
  int port;
} daemon_t;

/* Waits up to timeout_ms for needle in d's log; the line into line_out
 * (200 bytes) when non-NULL. 1 if found. */
int log_has(const daemon_t *d, const char *needle, int timeout_ms, char *line_out);
/* batond on node n with extra arguments; waits for it to listen (unless
 * "--listen off" is among them). */
void daemon_start(daemon_t *d, int n, const char *const *extra);
void daemon_stop(daemon_t *d);
const char *addr_of(int port);
int free_port(void);
long ms_since(const struct timespec *t0);

#endif
