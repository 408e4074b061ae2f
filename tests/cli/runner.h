/* tests/cli/runner.h: the real `baton` binary run as a person or a
 * script would (tests/cli/test_*.c). Each test gets a temporary root with a
 * HOME of its own (so the default data directory and key file are its
 * own); baton runs in a new session without a controlling terminal, so
 * nothing can stop to prompt; stdout and stderr are captured. Criterion
 * fixture code: failures are assertions. BATON is the binary's path
 * (tests/CMakeLists.txt). */
#ifndef BT_TESTS_CLI_RUNNER_H
#define BT_TESTS_CLI_RUNNER_H

#include <jansson.h>

#define OUT_MAX (1 << 16)

extern char root[64], home[128], out[OUT_MAX], err[OUT_MAX];

/* A new root and HOME (TestSuite .init), and their removal (.fini). */
void cli_setup(void);
void cli_teardown(void);

/* Runs baton with argv (NULL-terminated) and env assignments ("K=V",
 * NULL-terminated, may be NULL); fills out and err; returns the exit
 * status, or 128 + signal. */
int run_env(const char *const *env, const char *const *argv);
#define RUN(...) run_env(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_ENV(env, ...) run_env((const char *const[]){env, NULL}, \
                                  (const char *const[]){__VA_ARGS__, NULL})

/* stdout as JSON (asserts it is); a string member by dotted path. */
json_t *parse_out(void);
const char *jstr(const json_t *o, const char *path);

#endif
