/* tests/web/apikit.c: batond with the web UI, and an HTTP client for it
 * (apikit.h). */
#define _GNU_SOURCE
#include "web/apikit.h"

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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

int port;
char origin[64], resp[1 << 18];
static pid_t daemon_pid;
static char logpath[160];

void apikit_start(const char *dir)
{
  char line[512] = "";

  port = 0;
  snprintf(logpath, sizeof logpath, "%s/batond.log", dir);
  fflush(NULL);
  if ((daemon_pid = fork()) == 0) {
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, 2);
    setenv("BATON_PASSPHRASE", "pw", 1);
    execl(BATOND, BATOND, "--dir", dir, "--listen", "off", "--web", "127.0.0.1:0",
          (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 250 && port == 0; i++) {
    FILE *f = fopen(logpath, "r");
    while (f && fgets(line, sizeof line, f))
      if (strstr(line, "web UI on http://127.0.0.1:"))
        port = atoi(strrchr(line, ':') + 1);
    if (f)
      fclose(f);
    if (port == 0)
      usleep(20000);
  }
  cr_assert_gt(port, 0, "batond did not serve the web UI");
  snprintf(origin, sizeof origin, "http://127.0.0.1:%d", port);
}

void apikit_stop(void)
{
  int st;

  if (daemon_pid > 0) {
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, &st, 0);
    daemon_pid = 0;
  }
}

int connect_ui(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Sends raw bytes, reads the whole answer (until the server closes or 2 s
 * pass) into resp; returns the status code (0: no answer). */
int raw(const void *bytes, size_t len)
{
  int fd = connect_ui(), status = 0;
  size_t got = 0;
  ssize_t n;
  struct timeval tv = {2, 0};

  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t off = 0; off < len;) {
    n = send(fd, (const char *)bytes + off, len - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  while (got < sizeof resp - 1 && (n = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0)
    got += (size_t)n;
  resp[got] = 0;
  close(fd);
  sscanf(resp, "HTTP/1.1 %d", &status);
  return status;
}

int raws(const char *text)
{
  return raw(text, strlen(text));
}

/* One request with Connection: close. extra: more header lines, each
 * ending in \r\n (may be ""). */
int req(const char *method, const char *path, const char *extra, const char *body)
{
  size_t blen = body ? strlen(body) : 0, cap = blen + strlen(path) + strlen(extra) + 256;
  char *buf = malloc(cap);
  int n, st;

  cr_assert_not_null(buf);
  n = snprintf(buf, cap,
               "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
               "Content-Length: %zu\r\n\r\n%s",
               method, path, port, extra, blen, body ? body : "");
  cr_assert(n > 0 && (size_t)n < cap);
  st = raw(buf, (size_t)n);
  free(buf);
  return st;
}

const char *body_of(void)
{
  const char *b = strstr(resp, "\r\n\r\n");

  return b ? b + 4 : "";
}

/* The value of header name (case as the server writes it) in resp. */
int header_has(const char *name, const char *needle)
{
  char key[64];
  const char *h;

  snprintf(key, sizeof key, "\r\n%s: ", name);
  if ((h = strstr(resp, key)) == NULL)
    return 0;
  h += strlen(key);
  return needle == NULL || (strstr(h, needle) && strstr(h, needle) < strstr(h, "\r\n"));
}
