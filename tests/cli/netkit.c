/* tests/cli/netkit.c: nodes run with the real binaries (netkit.h). */
#define _GNU_SOURCE
#include "cli/netkit.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

char ndir[KIT_MAX][160], nkey[KIT_MAX][160];
static const char *const *kit_names;

const char *path(const char *name)
{
  static char buf[8][200];
  static int k;
  char *p = buf[k++ % 8];

  snprintf(p, 200, "%s/%s", root, name);
  return p;
}

void kit_nodes(const char *const *names, int n)
{
  cr_assert_leq(n, KIT_MAX);
  kit_names = names;
  for (int k = 0; k < n; k++) {
    snprintf(ndir[k], sizeof ndir[k], "%s/%s", root, names[k]);
    snprintf(nkey[k], sizeof nkey[k], "%s/%s.key", root, names[k]);
  }
}

/* baton --dir DIR --key-file KEY args... on node n. */
int bt_env(int n, const char *const *env, const char *const *args)
{
  const char *argv[48];
  size_t k = 0;

  argv[k++] = "--dir";
  argv[k++] = ndir[n];
  argv[k++] = "--key-file";
  argv[k++] = nkey[n];
  for (size_t i = 0; args[i] && k < 47; i++)
    argv[k++] = args[i];
  argv[k] = NULL;
  return run_env(env, argv);
}

/* A --json string result of node n's command, copied. */
char *json_of(const char *key)
{
  json_t *j = parse_out();
  const char *v = jstr(j, key);
  char *s;

  cr_assert_not_null(v, "no %s in %s", key, out);
  s = strdup(v);
  json_decref(j);
  return s;
}


/* ---- batond ------------------------------------------------------------------------ */


int log_has(const daemon_t *d, const char *needle, int timeout_ms, char *line_out)
{
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    static char buf[1 << 16];
    FILE *f = fopen(d->log, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    char *hit;
    if (f)
      fclose(f);
    buf[n] = '\0';
    if ((hit = strstr(buf, needle)) != NULL) {
      if (line_out)
        snprintf(line_out, 200, "%.*s", (int)strcspn(hit, "\n"), hit);
      return 1;
    }
    usleep(20000);
  }
  return 0;
}

/* batond on node n with extra arguments; waits for it to listen (unless
 * "--listen off" is among them). */
void daemon_start(daemon_t *d, int n, const char *const *extra)
{
  const char *argv[32] = {BATOND, "--dir", ndir[n], "--key-file", nkey[n], "--web",
                          "127.0.0.1:0"};
  size_t k = 7;
  int listens = 1;
  char line[200];

  for (size_t i = 0; extra && extra[i]; i++) {
    argv[k++] = extra[i];
    if (strcmp(extra[i], "off") == 0)
      listens = 0;
  }
  if (listens) {
    argv[k++] = "--listen";
    argv[k++] = "127.0.0.1:0";
  }
  argv[k] = NULL;
  snprintf(d->log, sizeof d->log, "%s/batond-%s.log", root, kit_names[n]);
  fflush(NULL);
  if ((d->pid = fork()) == 0) {
    int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, 2);
    setenv("HOME", home, 1);
    execv(BATOND, (char *const *)argv);
    _exit(127);
  }
  cr_assert_gt(d->pid, 0);
  d->port = 0;
  if (!listens)
    return;
  cr_assert(log_has(d, "listening on 127.0.0.1:", 5000, line), "batond did not listen");
  d->port = atoi(strrchr(line, ':') + 1);
  cr_assert_gt(d->port, 0);
}

void daemon_stop(daemon_t *d)
{
  int st;

  kill(d->pid, SIGTERM);
  cr_assert_eq(waitpid(d->pid, &st, 0), d->pid);
}

const char *addr_of(int port)
{
  static char buf[4][32];
  static int k;
  char *p = buf[k++ % 4];

  snprintf(p, 32, "127.0.0.1:%d", port);
  return p;
}

int free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

long ms_since(const struct timespec *t0)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

