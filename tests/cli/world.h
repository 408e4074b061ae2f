/* tests/cli/world.h: the stores the CLI transfer and package tests run the
 * real binary on, set up in-process (tests/node/parties.h): an LA whose
 * directory lists Oak Primary (school), County MASH (mash) and Elm Academy
 * (other), each holding that directory; staff users (dsl.jones and
 * staff.ali at Oak, dsl.green at Elm, dsl.moss at the MASH); and a file at
 * Oak (Amy Bell) with one chronology entry, "disclosure in class". Stores
 * are sealed with the passphrase "pw". Criterion fixture code. */
#ifndef BT_TESTS_CLI_WORLD_H
#define BT_TESTS_CLI_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "cli/runner.h"
#include "node/parties.h"

extern party la, school, mash, other;
extern uint8_t file[CRDT_FILE_LEN];     /* the file at Oak */
extern char fid[2 * CRDT_FILE_LEN + 1]; /* its id in hex */

/* TestSuite .init and .fini. */
void world_open(void);
void world_close(void);

/* baton as a user of p's node, with one more environment assignment
 * (extra may be NULL); args NULL-terminated. Returns the exit status. */
int world_as(party *p, const char *user, const char *pass, const char *extra,
             const char *const *args);

#define OAK(...) world_as(&school, "dsl.jones", "oak pass", NULL, (const char *const[]){__VA_ARGS__, NULL})
#define ELM(...) world_as(&other, "dsl.green", "elm pass", NULL, (const char *const[]){__VA_ARGS__, NULL})
#define MASH(...) world_as(&mash, "dsl.moss", "mash pass", NULL, (const char *const[]){__VA_ARGS__, NULL})
#define OAK_PW(env, ...) \
  world_as(&school, "dsl.jones", "oak pass", env, (const char *const[]){__VA_ARGS__, NULL})
#define ELM_PW(env, ...) \
  world_as(&other, "dsl.green", "elm pass", env, (const char *const[]){__VA_ARGS__, NULL})

/* Ops of `file` in p's store. */
size_t world_ops(party *p);

#endif
