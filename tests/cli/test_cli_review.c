/* tests/cli/test_cli_review.c: review findings for the `baton` command,
 * each a test that failed while the defect was there. Run helpers as in
 * tests/cli/test_cli.c. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>

#include "cli/runner.h"
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>



TestSuite(cli_review, .init = cli_setup, .fini = cli_teardown);

static int exists(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0;
}

/* ---- review findings ------------------------------------------------------ */

/* docs/cli.md "Bad input": a control character in an argument is a usage
 * error (exit 2) and nothing is written. cli/args.c checks only C0 and DEL,
 * but U+0085 (NEL, a C1 control) is refused later by crdt_text_check inside
 * node_org_create, after the store and key file were made. */
Test(cli_review, c1_control_in_init_name_is_a_usage_error_and_writes_nothing)
{
  char data[256], key[256];
  int rc = RUN("init", "Oak\xc2\x85Primary");

  snprintf(data, sizeof data, "%s/.local/share/baton/data.mdb", home);
  snprintf(key, sizeof key, "%s/.config/baton/node.key", home);
  cr_expect_eq(rc, 2, "exit %d, want 2 (usage); stderr: %s", rc, err);
  cr_expect(!exists(data), "a usage error created the store %s", data);
  cr_expect(!exists(key), "a usage error created the key file %s", key);
}

/* A HOME that is not UTF-8 (legal on POSIX) used to make every result
 * document fail to build (json_pack "s" refuses the dir): init said "out
 * of memory" and exit 1 after it had created the store, key and org. Now
 * such a default directory is refused up front, naming --dir, and nothing
 * is created. */
Test(cli_review, init_with_a_non_utf8_home_is_refused_before_anything_is_made)
{
  char h[192], henv[256], data[320];
  int rc;

  snprintf(h, sizeof h, "%s/h\xff", root);
  cr_assert_eq(mkdir(h, 0700), 0);
  snprintf(henv, sizeof henv, "HOME=%s", h);
  snprintf(data, sizeof data, "%s/.local/share/baton/data.mdb", h);
  rc = RUN_ENV(henv, "init", "Oak Primary");
  cr_expect_eq(rc, 1, "exit %d; stderr: %s", rc, err);
  cr_expect_not_null(strstr(err, "--dir"), "says what to do: %s", err);
  cr_expect(!exists(data), "exit %d but the store was created (%s)", rc, err);
  rc = RUN_ENV(henv, "status");
  cr_expect_eq(rc, 1, "status exit %d; stderr: %s", rc, err);
  cr_expect_null(strstr(err, "out of memory"), "%s", err);
}

/* docs/cli.md "Bad input": an option given twice is a usage error. */
Test(cli_review, json_given_twice_is_a_usage_error)
{
  int rc = RUN("--json", "version", "--json");

  cr_expect_eq(rc, 2, "exit %d, want 2; stdout: %s", rc, out);
}

/* docs/cli.md: "The whole file is checked first; a bad file changes
 * nothing". node_calendar_import checks a title only for dates it does not
 * know, so a bad title on a built-in date passes and the new date beside
 * it is stored. */
Test(cli_review, import_with_a_bad_title_on_a_known_date_imports_nothing)
{
  char bad[256];
  FILE *f;
  int rc;

  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  snprintf(bad, sizeof bad, "%s/bad.json", root);
  cr_assert_not_null(f = fopen(bad, "w"));
  fputs("{\"england-and-wales\":{\"division\":\"england-and-wales\",\"events\":["
        "{\"title\":\"Christmas Day\\u001b[2J\",\"date\":\"2025-12-25\",\"notes\":\"\","
        "\"bunting\":true},"
        "{\"title\":\"New Year's Day\",\"date\":\"2029-01-01\",\"notes\":\"\","
        "\"bunting\":true}]}}", f);
  fclose(f);
  rc = RUN("calendar", "import", bad);
  cr_expect_eq(rc, 1, "a title with ESC must be refused: exit %d, stdout: %s", rc, out);
  rc = RUN("calendar", "deadline", "2028-12-28", "--now", "2028-12-28");
  cr_expect_eq(rc, 1, "2029 must still be unknown after a refused file: exit %d, stdout: %s", rc,
               out);
}
