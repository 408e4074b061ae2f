/* cli/pass.c: passphrases from the environment or the terminal (cli/pass.h).
 *
 * The terminal is /dev/tty, not stdin, so `baton X < file` still prompts
 * the person and a pipe never answers in their place. While echo is off a
 * SIGINT/SIGTERM/SIGHUP handler restores the terminal before the signal
 * does its default work: a shell left without echo is a bad way to learn
 * that Ctrl-C worked. */
#define _POSIX_C_SOURCE 200809L
#include "cli/pass.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crdt/err.h"

static int tty_fd = -1;
static struct termios tty_saved;

static void on_signal(int sig)
{
  if (tty_fd >= 0)
    tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
  signal(sig, SIG_DFL);
  raise(sig);
}

int cli_pass_in_env(const char *env)
{
  const char *v = getenv(env);

  return v != NULL && *v != '\0';
}

static int alloc(cli_pass *out)
{
  memset(out, 0, sizeof(*out));
  if (sodium_init() < 0 || (out->p = sodium_malloc(CLI_PASS_MAX + 2)) == NULL)
    return BT_ENOMEM;
  return BT_OK;
}

static int from_env(const char *env, cli_pass *out)
{
  char *v = getenv(env);
  size_t n = strlen(v);
  int rc = BT_OK;

  if (n > CLI_PASS_MAX)
    rc = BT_EINVAL;
  else if ((rc = alloc(out)) == BT_OK) {
    memcpy(out->p, v, n + 1);
    out->len = n;
    out->from_env = 1;
  }
  sodium_memzero(v, n);
  unsetenv(env);
  return rc;
}

/* One line from fd into buf (capacity CLI_PASS_MAX + 2), without the
 * newline. BT_EINVAL when longer than CLI_PASS_MAX (the rest is read and
 * dropped, so it does not reach the shell). */
static int read_line(int fd, char *buf, size_t *len)
{
  size_t n = 0;
  int too_long = 0;
  char ch;

  for (;;) {
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0 || ch == '\n' || ch == '\r')
      break;
    if (n < CLI_PASS_MAX)
      buf[n++] = ch;
    else
      too_long = 1;
  }
  ch = 0;
  buf[n] = '\0';
  *len = n;
  return too_long ? BT_EINVAL : BT_OK;
}

static int prompt_once(int fd, const char *prompt, char *buf, size_t *len)
{
  struct termios quiet;
  struct sigaction sa = {.sa_handler = on_signal}, old[3];
  static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
  int rc;

  if (tcgetattr(fd, &tty_saved) != 0)
    return -errno;
  quiet = tty_saved;
  quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  tty_fd = fd;
  for (int k = 0; k < 3; k++)
    sigaction(sigs[k], &sa, &old[k]);
  if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSANOW, &quiet) != 0)
    rc = -errno;
  else
    rc = read_line(fd, buf, len);
  tcsetattr(fd, TCSANOW, &tty_saved);
  tty_fd = -1;
  for (int k = 0; k < 3; k++)
    sigaction(sigs[k], &old[k], NULL);
  if (write(fd, "\n", 1) < 0 && rc == BT_OK)
    rc = -errno;
  return rc;
}

static int from_tty(const char *prompt, int confirm, cli_pass *out)
{
  cli_pass again = {0};
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), rc;

  if (fd < 0)
    return BT_ENOTFOUND;
  if ((rc = alloc(out)) != BT_OK || (rc = prompt_once(fd, prompt, out->p, &out->len)) != BT_OK)
    goto out;
  if (out->len == 0) {
    rc = BT_EINVAL;
    goto out;
  }
  if (confirm) {
    if ((rc = alloc(&again)) != BT_OK ||
        (rc = prompt_once(fd, "Again, to confirm: ", again.p, &again.len)) != BT_OK)
      goto out;
    if (again.len != out->len || sodium_memcmp(again.p, out->p, out->len) != 0)
      rc = BT_EINVAL;
  }
out:
  cli_pass_free(&again);
  close(fd);
  if (rc != BT_OK)
    cli_pass_free(out);
  return rc;
}

int cli_pass_get(const char *env, const char *prompt, int confirm, cli_pass *out)
{
  memset(out, 0, sizeof(*out));
  if (env && cli_pass_in_env(env))
    return from_env(env, out);
  return from_tty(prompt, confirm, out);
}

void cli_pass_free(cli_pass *pw)
{
  if (pw->p) {
    sodium_memzero(pw->p, CLI_PASS_MAX + 2);
    sodium_free(pw->p);
  }
  memset(pw, 0, sizeof(*pw));
}
