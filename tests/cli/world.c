/* tests/cli/world.c: the in-process stores of the CLI transfer and package
 * tests (world.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli/world.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/users.h"

party la, school, mash, other;
uint8_t file[CRDT_FILE_LEN];
char fid[2 * CRDT_FILE_LEN + 1];

static void publish(party *p)
{
  cr_assert_eq(node_dir_publish(la.s, p->cert, p->cert_len, NULL), BT_OK);
}


void world_open(void)
{
  cli_setup();
  parties_open(&la, &school, &mash, &other);
  publish(&school);
  publish(&mash);
  publish(&other);
  party_see_directory(&la, &school);
  party_see_directory(&la, &other);
  party_see_directory(&la, &mash);
  cr_assert_eq(node_user_add(school.s, "dsl.jones", "oak pass", 8, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(node_user_add(school.s, "staff.ali", "ali pass", 8, NODE_ROLE_STAFF), BT_OK);
  cr_assert_eq(node_user_add(other.s, "dsl.green", "elm pass", 8, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(node_user_add(mash.s, "dsl.moss", "mash pass", 9, NODE_ROLE_DSL), BT_OK);
  party_new_file(&school, file);
  cr_assert_eq(party_note(&school, file, "disclosure in class", NULL), BT_OK);
  for (size_t i = 0; i < CRDT_FILE_LEN; i++)
    sprintf(fid + 2 * i, "%02x", file[i]);
}

void world_close(void)
{
  parties_close(&la, &school, &mash, &other);
  cli_teardown();
}

int world_as(party *p, const char *user, const char *pass, const char *extra,
             const char *const *args)
{
  char e1[] = "BATON_PASSPHRASE=pw", e2[128], e3[] = "BATON_USER=";
  const char *argv[24] = {"--dir", p->dir, "--user", user};
  size_t n = 4;

  snprintf(e2, sizeof e2, "BATON_USER_PASSPHRASE=%s", pass);
  for (size_t i = 0; args[i] && n < 23; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  return run_env((const char *const[]){e1, e2, e3, extra, NULL}, argv);
}

size_t world_ops(party *p)
{
  size_t n = 0;

  cr_assert_eq(node_file_ops(p->s, file, NULL, 0, &n), BT_OK);
  return n;
}
