/* tests/cli/test_cli_e2e.c: a pupil moves school, end to end through the
 * real `baton` and `batond` binaries and nothing else (issue 6):
 *
 *   - an LA whose batond relays for every org, and three schools (Oak, Elm,
 *     Ash) whose batonds dial only the LA, all on loopback, set up from
 *     nothing with the setup commands (tests/cli/netkit.h);
 *   - at Oak a member of staff logs a concern and the DSL adds to the
 *     chronology; the DSL transfers the file to Elm;
 *   - the file reaches Elm through the relay; Elm's node signs the
 *     delivery by itself; Elm's DSL reads every entry and acknowledges;
 *   - Oak sees the acknowledgement (who, where kept) after the next sync;
 *   - Ash, certified by the same LA and syncing with the same relay, holds
 *     nothing of the file and cannot show it; the relay's store and Ash's
 *     hold none of the child's details in clear. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/netkit.h"
#include "cli/runner.h"

TestSuite(cli_e2e, .init = cli_setup, .fini = cli_teardown);

enum { LA, OAK, ELM, ASH, NNODES };
static const char *const NAMES[] = {"la", "oak", "elm", "ash"};
static char *root_key;

static const char CANARIES[][40] = {"Quenby", "Thistlewood", "blue lanyard", "torn sleeve"};

static void school(int n, const char *name, const char *urn)
{
  char req[32], cert[32];

  snprintf(req, sizeof req, "%s.req", NAMES[n]);
  snprintf(cert, sizeof cert, "%s.cert", NAMES[n]);
  OK(n, "init", name, "--urn", urn);
  OK(n, "org", "request", "--out", path(req));
  OK(LA, "root", "certify", path(req), "--out", path(cert));
  OK(n, "anchor", "add", root_key);
  OK(n, "org", "install", path(cert));
  OK(LA, "directory", "publish", path(cert));
}

/* baton as user on node n (passphrase "pass USER"), with one more
 * environment assignment (may be NULL). */
static int as_env(int n, const char *user, const char *more, const char *const *args)
{
  char e1[96];
  const char *argv[40] = {"--user", user};
  size_t k = 2;

  snprintf(e1, sizeof e1, "BATON_USER_PASSPHRASE=pass %s", user);
  for (size_t i = 0; args[i] && k < 39; i++)
    argv[k++] = args[i];
  argv[k] = NULL;
  return bt_env(n, (const char *const[]){e1, more, NULL}, argv);
}

static int as(int n, const char *user, const char *const *args)
{
  return as_env(n, user, NULL, args);
}
#define AS(n, user, ...) as(n, user, (const char *const[]){__VA_ARGS__, NULL})
#define AS_OK(n, user, ...)                                                                  \
  do {                                                                                       \
    int rc_ = AS(n, user, __VA_ARGS__);                                                      \
    cr_assert_eq(rc_, 0, "%s: exit %d\nstdout: %s\nstderr: %s", #__VA_ARGS__, rc_, out, err); \
  } while (0)

static void add_user(int n, const char *user, const char *role, const char *by)
{
  char e[96];
  int rc;

  snprintf(e, sizeof e, "BATON_NEW_PASSPHRASE=pass %s", user);
  if (by == NULL)
    rc = bt_env(n, (const char *const[]){e, NULL},
                (const char *const[]){"user", "add", user, "--role", role, NULL});
  else
    rc = as_env(n, by, e, (const char *const[]){"user", "add", user, "--role", role, NULL});
  cr_assert_eq(rc, 0, "user add %s: %s", user, err);
}

/* The first transfer of `baton --json transfers` on n, once its key holds
 * want (polls for up to 30 s: the daemons sync on their own). */
static int wait_transfer(int n, const char *user, const char *key, const char *want)
{
  for (int i = 0; i < 300; i++) {
    if (AS(n, user, "--json", "transfers") == 0) {
      json_t *j = parse_out();
      const json_t *x = json_array_get(json_object_get(j, "transfers"), 0);
      int hit = x && json_is_string(json_object_get(x, key)) &&
                strcmp(json_string_value(json_object_get(x, key)), want) == 0;
      json_decref(j);
      if (hit)
        return 1;
    }
    usleep(100000);
  }
  return 0;
}

/* 1 if any file under dir holds needle (bytes). */
static int dir_holds(const char *dir, const char *needle)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;

  cr_assert_not_null(d, "%s", dir);
  while (!found && (e = readdir(d)) != NULL) {
    char p[512];
    struct stat st;
    if (e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (stat(p, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      found = dir_holds(p, needle);
    } else if (S_ISREG(st.st_mode)) {
      FILE *f = fopen(p, "rb");
      size_t nl = strlen(needle), have = 0, got;
      static char buf[1 << 16];
      while (f && !found && (got = fread(buf + have, 1, sizeof buf - have, f)) > 0) {
        have += got;
        found = memmem(buf, have, needle, nl) != NULL;
        if (have > nl) { /* keep a tail that may start a match */
          memmove(buf, buf + have - nl, nl);
          have = nl;
        }
      }
      if (f)
        fclose(f);
    }
  }
  closedir(d);
  return found;
}

Test(cli_e2e, a_pupil_moves_through_the_relay_and_a_third_school_reads_nothing)
{
  daemon_t la, oak, elm, ash;
  char *file, concern[200];
  json_t *j;
  FILE *f;

  kit_nodes(NAMES, NNODES);
  OK(LA, "init", "Northshire LA", "--kind", "la", "--laestab", "8880000");
  OK(LA, "--json", "root", "create");
  root_key = json_of("root.key");
  school(OAK, "Oak Primary", "100001");
  school(ELM, "Elm Academy", "100002");
  school(ASH, "Ash Grove School", "100003");
  daemon_start(&la, LA, (const char *const[]){"--relay-for", "all", NULL});
  for (int n = OAK; n <= ASH; n++) {
    OK(n, "sync", addr_of(la.port));
    OK(n, "peer", "add", addr_of(la.port));
  }
  add_user(OAK, "dsl.jones", "dsl", NULL);
  add_user(OAK, "staff.ali", "staff", "dsl.jones");
  add_user(ELM, "dsl.green", "dsl", NULL);
  add_user(ASH, "dsl.ash", "dsl", NULL);
  daemon_start(&oak, OAK, (const char *const[]){"--listen", "off", NULL});
  daemon_start(&elm, ELM, (const char *const[]){"--listen", "off", NULL});
  daemon_start(&ash, ASH, (const char *const[]){"--listen", "off", NULL});

  /* Oak: a file, a concern by staff, a chronology entry by the DSL. */
  AS_OK(OAK, "dsl.jones", "--json", "file", "open", "--upn", "B801200005001", "--given",
        "Quenby", "--family", "Thistlewood", "--dob", "2015-06-01", "--plan", "cp");
  file = json_of("file");
  snprintf(concern, sizeof concern, "%s", path("concern.json"));
  cr_assert_not_null(f = fopen(concern, "w"));
  fputs("{\"facts\": \"Came in wearing a torn sleeve; said the blue lanyard was taken.\","
        " \"child_words\": \"I don't want to say.\"}", f);
  fclose(f);
  AS_OK(OAK, "staff.ali", "concern", "log", file, "--from", concern);
  AS_OK(OAK, "dsl.jones", "chrono", "add", file, "--category", "meeting", "--summary",
        "Strategy meeting held", "--with", "Northshire MASH");

  /* The move. */
  AS_OK(OAK, "dsl.jones", "--json", "transfer", "start", file, "--to", "Elm Academy",
        "--on-roll", "2026-11-23");
  j = parse_out();
  cr_assert_str_eq(jstr(j, "deadline"), "2026-11-30");
  json_decref(j);

  cr_assert(wait_transfer(ELM, "dsl.green", "state", "delivered"),
            "Elm's node holds the file and signs its delivery (last: %s %s)", out, err);
  AS_OK(ELM, "dsl.green", "--json", "file", "show", file);
  for (size_t i = 0; i < sizeof CANARIES / sizeof CANARIES[0]; i++)
    cr_assert(strstr(out, CANARIES[i]), "Elm reads %s in every entry", CANARIES[i]);
  cr_assert(strstr(out, "Strategy meeting held"), "and the chronology");
  AS_OK(ELM, "dsl.green", "transfer", "ack", file, "--stored", "CP cabinet, DSL office");

  cr_assert(wait_transfer(OAK, "dsl.jones", "status", "acknowledged"),
            "Oak sees the acknowledgement (last: %s %s)", out, err);
  j = parse_out();
  {
    const json_t *x = json_array_get(json_object_get(j, "transfers"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(x, "acknowledged_by")), "dsl.green");
    cr_assert_str_eq(json_string_value(json_object_get(x, "stored")), "CP cabinet, DSL office");
    cr_assert_str_eq(json_string_value(json_object_get(x, "direction")), "out");
  }
  json_decref(j);
  cr_assert_eq(AS(OAK, "dsl.jones", "transfers", "--overdue", "--now", "2026-12-31"), 0,
               "acknowledged: never overdue");

  /* Ash: same LA, same relay, nothing of the file. */
  OK(ASH, "sync", addr_of(la.port));
  cr_assert_neq(AS(ASH, "dsl.ash", "file", "show", file), 0, "Ash cannot show the file");
  AS_OK(ASH, "dsl.ash", "--json", "files");
  j = parse_out();
  cr_assert_eq(json_array_size(json_object_get(j, "files")), 0, "Ash lists no file: %s", out);
  json_decref(j);
  AS_OK(ASH, "dsl.ash", "--json", "transfers");
  j = parse_out();
  cr_assert_eq(json_array_size(json_object_get(j, "transfers")), 0);
  json_decref(j);

  daemon_stop(&oak);
  daemon_stop(&elm);
  daemon_stop(&ash);
  daemon_stop(&la);
  for (size_t i = 0; i < sizeof CANARIES / sizeof CANARIES[0]; i++) {
    cr_assert(!dir_holds(ndir[LA], CANARIES[i]), "the relay holds %s in clear", CANARIES[i]);
    cr_assert(!dir_holds(ndir[ASH], CANARIES[i]), "Ash holds %s in clear", CANARIES[i]);
    cr_assert(!dir_holds(ndir[OAK], CANARIES[i]), "Oak's store holds %s in clear", CANARIES[i]);
  }
  cr_assert(dir_holds(ndir[ASH], "Ash Grove"), "the scan can find a string it should");
  free(file);
  free(root_key);
}
