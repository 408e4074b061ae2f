/* tests/web/apikit.c: batond with the web UI, and an HTTP client for it
 * (apikit.h). */
#define _GNU_SOURCE
#include "web/apikit.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crdt/err.h"
#include "node/share.h"
#include "node/sync.h"

int port;
char origin[64], hostport[64], resp[1 << 18];
const char *apikit_source;
static pid_t daemon_pid;
static char logpath[160], host[40]; /* host: "127.0.0.1" or "[IPV6]" */

void apikit_start(const char *dir)
{
  apikit_start_at(dir, "127.0.0.1:0");
}

void apikit_start_at(const char *dir, const char *web)
{
  char line[512] = "", prefix[128];
  const char *colon = strrchr(web, ':');

  cr_assert(colon && (size_t)(colon - web) < sizeof host, "web address %s", web);
  snprintf(host, sizeof host, "%.*s", (int)(colon - web), web);
  snprintf(prefix, sizeof prefix, "web UI on http://%s:", host);
  port = 0;
  snprintf(logpath, sizeof logpath, "%s/batond.log", dir);
  /* Emptied here, before the fork: a previous run's line must not be read
   * as this one's port. */
  {
    FILE *f = fopen(logpath, "w");
    cr_assert_not_null(f, "cannot write %s", logpath);
    fclose(f);
  }
  fflush(NULL);
  if ((daemon_pid = fork()) == 0) {
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fd, 2);
    setenv("BATON_PASSPHRASE", "pw", 1);
    execl(BATOND, BATOND, "--dir", dir, "--listen", "off", "--web", web, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 250 && port == 0; i++) {
    FILE *f = fopen(logpath, "r");
    while (f && fgets(line, sizeof line, f))
      if (strstr(line, prefix))
        port = atoi(strrchr(line, ':') + 1);
    if (f)
      fclose(f);
    if (port == 0)
      usleep(20000);
  }
  cr_assert_gt(port, 0, "batond did not serve the web UI");
  /* host is shorter than 40 bytes (checked above): both fit. */
  cr_assert(snprintf(hostport, sizeof hostport, "%s:%d", host, port) < (int)sizeof hostport);
  cr_assert(snprintf(origin, sizeof origin, "http://%s:%d", host, port) < (int)sizeof origin);
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

pid_t apikit_pid(void)
{
  return daemon_pid;
}

int connect_ui(void)
{
  int fd;

  if (host[0] == '[') {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    struct sockaddr_in6 me = {.sin6_family = AF_INET6};
    char addr[64];

    snprintf(addr, sizeof addr, "%.*s", (int)strlen(host) - 2, host + 1);
    cr_assert_eq(inet_pton(AF_INET6, addr, &a.sin6_addr), 1, "%s", addr);
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (apikit_source) {
      cr_assert_eq(inet_pton(AF_INET6, apikit_source, &me.sin6_addr), 1, "%s", apikit_source);
      cr_assert_eq(bind(fd, (struct sockaddr *)&me, sizeof me), 0, "bind %s", apikit_source);
    }
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  fd = socket(AF_INET, SOCK_STREAM, 0);
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
               "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s"
               "Content-Length: %zu\r\n\r\n%s",
               method, path, hostport, extra, blen, body ? body : "");
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

/* ---- signed-in calls --------------------------------------------------------- */

int apikit_login(const char *user, const char *pass, apikit_who *w)
{
  char extra[200], body[256];
  const char *c, *t;
  int st;

  snprintf(extra, sizeof extra, "Origin: %s\r\nContent-Type: application/json\r\n", origin);
  snprintf(body, sizeof body, "{\"user\": \"%s\", \"passphrase\": \"%s\"}", user, pass);
  if ((st = req("POST", "/api/login", extra, body)) != 200)
    return st;
  cr_assert((c = strstr(resp, "Set-Cookie: baton_session=")), "%s", resp);
  cr_assert_eq(sscanf(c + strlen("Set-Cookie: "), "%63[^;]", w->cookie), 1);
  cr_assert((t = strstr(body_of(), "\"csrf\":\"")), "%s", resp);
  cr_assert_eq(sscanf(t + 8, "%63[^\"]", w->csrf), 1);
  return st;
}

apikit_who apikit_sign_in(const char *user, const char *pass)
{
  apikit_who w;

  cr_assert_eq(apikit_login(user, pass, &w), 200, "%s signs in: %s", user, resp);
  return w;
}

apikit_who apikit_as(const char *user)
{
  char pass[96];

  snprintf(pass, sizeof pass, "pass %s", user);
  return apikit_sign_in(user, pass);
}

int apikit_get(const apikit_who *w, const char *path)
{
  char extra[200];

  snprintf(extra, sizeof extra, "Cookie: %s\r\n", w->cookie);
  return req("GET", path, extra, NULL);
}

int apikit_post(const apikit_who *w, const char *path, const char *body)
{
  char extra[400];

  snprintf(extra, sizeof extra,
           "Cookie: %s\r\nOrigin: %s\r\nX-CSRF-Token: %s\r\nContent-Type: application/json\r\n",
           w->cookie, origin, w->csrf);
  return req("POST", path, extra, body);
}

json_t *apikit_json(void)
{
  json_error_t je;
  json_t *j = json_loads(body_of(), 0, &je);

  cr_assert_not_null(j, "not JSON: %s", resp);
  return j;
}

const char *jstr(const json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

const char *path_of(const char *fmt, ...)
{
  static char p[4][256];
  static int k;
  va_list ap;
  int n;

  k = (k + 1) % 4;
  va_start(ap, fmt);
  n = vsnprintf(p[k], sizeof p[k], fmt, ap);
  va_end(ap);
  cr_assert(n >= 0 && (size_t)n < sizeof p[k], "path too long: %s", fmt);
  return p[k];
}

/* ---- the store -------------------------------------------------------------------- */

party la, school, mash, other;

void apikit_open(void)
{
  parties_open(&la, &school, &mash, &other);
  apikit_users(school.s);
}

void apikit_close(void)
{
  apikit_stop();
  parties_close(&la, &school, &mash, &other);
}

const apikit_user apikit_roles[APIKIT_NROLES] = {
  {"dsl.jones", NODE_ROLE_DSL},   {"dep.kay", NODE_ROLE_DEPUTY},   {"staff.ali", NODE_ROLE_STAFF},
  {"head.may", NODE_ROLE_HEAD},   {"gov.bea", NODE_ROLE_GOVERNOR}, {"aud.cy", NODE_ROLE_AUDITOR},
};

void apikit_user_add(node_store *s, const char *name, node_role role)
{
  char pass[96];

  snprintf(pass, sizeof pass, "pass %s", name);
  cr_assert_eq(node_user_add(s, name, pass, strlen(pass), role), BT_OK, "adding %s", name);
}

void apikit_users(node_store *s)
{
  for (size_t i = 0; i < APIKIT_NROLES; i++)
    apikit_user_add(s, apikit_roles[i].name, apikit_roles[i].role);
  apikit_user_add(s, "staff.bo", NODE_ROLE_STAFF);
}

void apikit_conflicting_file(const crdt_fieldval *fv, size_t nfv, const crdt_fieldval *at_mash,
                             const crdt_fieldval *at_school, size_t n,
                             uint8_t file[CRDT_FILE_LEN])
{
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  node_grant_req g = party_consent_req(&mash, CRDT_RIGHTS_WRITE, CRDT_HISTORY_ALL);
  crdt_id id;

  b.u.fields = (crdt_fields){(crdt_fieldval *)fv, nfv};
  cr_assert_eq(node_file_create_as(school.s, "dsl.jones", NODE_ROLE_DSL, &b, file, NULL), BT_OK);
  cr_assert_eq(node_grant_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &g, &id), BT_OK);
  party_sync(&school, &mash, file);
  b = (crdt_body){.type = CRDT_OP_FIELD_SET, .known = 1};
  b.u.fields = (crdt_fields){(crdt_fieldval *)at_mash, n};
  cr_assert_eq(node_author_as(mash.s, "mash.duty", NODE_ROLE_DSL, file, &b, &id), BT_OK);
  b.u.fields = (crdt_fields){(crdt_fieldval *)at_school, n};
  cr_assert_eq(node_author_as(school.s, "dsl.jones", NODE_ROLE_DSL, file, &b, &id), BT_OK);
  party_sync(&mash, &school, file);
}

uint64_t apikit_ops(node_store *s, const uint8_t *file)
{
  uint64_t c = 0;
  uint8_t sum[32];

  cr_assert_eq(node_sync_file_state(s, file, &c, sum), BT_OK);
  return c;
}
