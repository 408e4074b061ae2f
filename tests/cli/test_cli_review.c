/* tests/cli/test_cli_review.c: review findings for the `baton` command,
 * each a test that failed while the defect was there. Run helpers as in
 * tests/cli/test_cli.c. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
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


#define OUT_MAX (1 << 16)

static char root[64], home[128], out[OUT_MAX], err[OUT_MAX];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
  (void)sb, (void)flag, (void)f;
  return remove(p);
}

static void setup(void)
{
  snprintf(root, sizeof root, "/tmp/bt-cli-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
  snprintf(home, sizeof home, "%s/home", root);
  cr_assert_eq(mkdir(home, 0700), 0);
}

static void teardown(void)
{
  nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cli_review, .init = setup, .fini = teardown);

static void slurp(const char *path, char *buf)
{
  FILE *f = fopen(path, "r");
  size_t n = 0;

  if (f) {
    n = fread(buf, 1, OUT_MAX - 1, f);
    fclose(f);
  }
  buf[n] = '\0';
}

/* Runs baton with argv (NULL-terminated) and env assignments ("K=V", or
 * NULL-terminated list, may be NULL); fills out and err; returns the exit
 * status, or 128 + signal. */
static int run_env(const char *const *env, const char *const *argv)
{
  char po[192], pe[192];
  const char *args[64];
  size_t n = 0;
  int st;
  pid_t pid;

  snprintf(po, sizeof po, "%s/stdout", root);
  snprintf(pe, sizeof pe, "%s/stderr", root);
  args[n++] = BATON;
  for (; argv[n - 1] && n < 63; n++)
    args[n] = argv[n - 1];
  args[n] = NULL;
  fflush(NULL);
  if ((pid = fork()) == 0) {
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    setsid(); /* no controlling terminal: a prompt fails instead of waiting */
    dup2(fo, 1);
    dup2(fe, 2);
    close(0);
    open("/dev/null", O_RDONLY);
    setenv("HOME", home, 1);
    unsetenv("XDG_DATA_HOME");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("BATON_PASSPHRASE");
    for (size_t k = 0; env && env[k]; k++)
      putenv((char *)env[k]);
    execv(BATON, (char *const *)args);
    _exit(127);
  }
  cr_assert_gt(pid, 0);
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  slurp(po, out);
  slurp(pe, err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define RUN(...) run_env(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_ENV(env, ...) run_env((const char *const[]){env, NULL}, \
                                  (const char *const[]){__VA_ARGS__, NULL})

__attribute__((unused)) static json_t *parse_out(void)
{
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);

  cr_assert_not_null(j, "stdout is not JSON (%s at line %d):\n%s", je.text, je.line, out);
  return j;
}

__attribute__((unused)) static const char *jstr(const json_t *o, const char *path)
{
  char key[64];
  const char *dot = strchr(path, '.');

  if (dot) {
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    return jstr(json_object_get(o, key), dot + 1);
  }
  return json_string_value(json_object_get(o, path));
}

__attribute__((unused)) static void dir_of(char *buf, size_t len, const char *name)
{
  snprintf(buf, len, "%s/%s", root, name);
}

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
