/* tests/cli/runner.c: see runner.h. */
#define _XOPEN_SOURCE 700
#include "cli/runner.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char root[64], home[128], out[OUT_MAX], err[OUT_MAX];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
  (void)sb, (void)flag, (void)f;
  return remove(p);
}

void cli_setup(void)
{
  snprintf(root, sizeof root, "/tmp/bt-cli-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
  snprintf(home, sizeof home, "%s/home", root);
  cr_assert_eq(mkdir(home, 0700), 0);
}

void cli_teardown(void)
{
  nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

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
int run_env(const char *const *env, const char *const *argv)
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

json_t *parse_out(void)
{
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);

  cr_assert_not_null(j, "stdout is not JSON (%s at line %d):\n%s", je.text, je.line, out);
  return j;
}

const char *jstr(const json_t *o, const char *path)
{
  char key[64];
  const char *dot = strchr(path, '.');

  if (dot) {
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    return jstr(json_object_get(o, key), dot + 1);
  }
  return json_string_value(json_object_get(o, path));
}

