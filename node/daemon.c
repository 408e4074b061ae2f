/* node/daemon.c: the node daemon, batond (docs/batond.md); node/daemon.h.
 *
 *   batond [--config FILE] [--dir DIR] [--key-file FILE] [--listen ADDR:PORT]
 *          [--peer ADDR:PORT]... [--relay-for FPR|all]... [--sync-period DURATION]
 *          [--init NAME] [--help]
 *
 * Settings come from built-in defaults, then the config file (`key = value`
 * lines), then the command line, each overriding the one before; --peer
 * options, when given, replace the file's peer lines. The store is opened
 * with a key file, or else with the passphrase in BATON_PASSPHRASE (which
 * is wiped from the environment once read). With --init, a missing key
 * file, store and org are created, so a first run needs nothing else.
 *
 * Then node/net.c runs, with node/hub.c syncing every session, until
 * SIGTERM or SIGINT: stop the hub's timers, stop accepting, end each
 * session with a bye, close the store, exit 0. A second signal stops
 * without waiting for peers. Exit status 2 is a usage or config error, 1
 * a failure to start. Nothing logged names a person, a key or a path
 * beyond what the operator typed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/daemon.h"
#include "node/hub.h"
#include "node/net.h"
#include "node/org.h"
#include "node/peers.h"
#include "node/store.h"

#define LINE_MAX_LEN 1024
#define DAY_MS UINT64_C(86400000)

typedef struct {
  char *config, *dir, *key_file, *listen, *init_name;
  char **peers;
  size_t npeers;
  char **relay; /* fingerprints of the orgs relayed for */
  size_t nrelay;
  int relay_all;
  int peers_from_cli, relay_from_cli, help;
  node_net_opts net;
  uint64_t sync_period_ms;
  unsigned seen; /* keys met in the config file, against repeats */
} settings;

/* The front end run inside this daemon (web/: the web UI), or NULL. */
static const node_daemon_ext *ext;

static const char USAGE[] =
  "usage: batond [options]\n"
  "  --config FILE      settings as `key = value` lines (docs/batond.md)\n"
  "  --dir DIR          data directory (default $XDG_DATA_HOME/baton,\n"
  "                     else ~/.local/share/baton)\n"
  "  --key-file FILE    the store's key file (else BATON_PASSPHRASE is the\n"
  "                     passphrase); with --init, created 0600 if missing\n"
  "  --listen ADDR:PORT accept peers here (default " NODE_NET_LISTEN_DEFAULT "; off: none)\n"
  "  --peer ADDR:PORT   keep a connection to this peer (repeatable)\n"
  "  --relay-for FPR    store and forward the ciphertext of the org whose\n"
  "                     signing key has this fingerprint (repeatable), or\n"
  "                     `all`: every org whose certificate this node accepts\n"
  "  --sync-period DURATION  sync with each dialled peer at least this often\n"
  "                     (default 60s; 500ms, 10s, 2m, 1h; bare: seconds)\n"
  "  --init NAME        first run: create the key file, store and an org\n"
  "                     called NAME (a school) if there are none\n"
  "  --help             this text\n"
  "Stops cleanly on SIGTERM or SIGINT.\n";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
  va_list ap;

  fputs("batond: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ---- values --------------------------------------------------------------------- */

/* "10s", "500ms", "2m", "1h", or a bare number of seconds; 1 ms .. 1 day. */
static int parse_duration(const char *v, uint64_t *ms)
{
  char *end;
  unsigned long long x;
  uint64_t mul = 1000;

  errno = 0;
  if (*v < '0' || *v > '9')
    return BT_EINVAL;
  x = strtoull(v, &end, 10);
  if (errno != 0)
    return BT_EINVAL;
  if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "m") == 0)
    mul = 60000;
  else if (strcmp(end, "h") == 0)
    mul = 3600000;
  else if (*end != '\0' && strcmp(end, "s") != 0)
    return BT_EINVAL;
  if (x == 0 || x > DAY_MS / mul)
    return BT_EINVAL;
  *ms = x * mul;
  return BT_OK;
}

/* A count in lo..hi, with an optional K or M (binary) suffix. */
static int parse_count(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
  char *end;
  unsigned long long x;

  errno = 0;
  if (*v < '0' || *v > '9')
    return BT_EINVAL;
  x = strtoull(v, &end, 10);
  if (errno != 0 || x > UINT32_MAX)
    return BT_EINVAL;
  if ((end[0] == 'K' || end[0] == 'k') && end[1] == '\0')
    x <<= 10;
  else if (end[0] == 'M' && end[1] == '\0')
    x <<= 20;
  else if (*end != '\0')
    return BT_EINVAL;
  if (x < lo || x > hi)
    return BT_EINVAL;
  *out = x;
  return BT_OK;
}

static int parse_addr(const char *v, int peer)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t port;

  if (strlen(v) >= NODE_NET_ADDR_MAX || node_net_addr_parse(v, host, sizeof host, &port) != 0)
    return BT_EINVAL;
  return peer && port == 0 ? BT_EINVAL : BT_OK;
}

static int set_str(char **dst, const char *v)
{
  char *p = strdup(v);

  if (p == NULL)
    return BT_ENOMEM;
  free(*dst);
  *dst = p;
  return BT_OK;
}

static int add_str(char ***list, size_t *n, const char *v)
{
  char **p = realloc(*list, (*n + 1) * sizeof(*p));

  if (p == NULL)
    return BT_ENOMEM;
  *list = p;
  if ((p[*n] = strdup(v)) == NULL)
    return BT_ENOMEM;
  (*n)++;
  return BT_OK;
}

static void free_strs(char **list, size_t n)
{
  for (size_t k = 0; k < n; k++)
    free(list[k]);
}

/* An org's fingerprint as crdt_fingerprint writes it (eight groups of four
 * Crockford base32 symbols), read as people type it: any case, O for 0,
 * I and L for 1. Writes the canonical form into out. */
static int parse_fpr(const char *v, char out[CRDT_FPR_LEN])
{
  static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  size_t i;

  if (strlen(v) != CRDT_FPR_LEN - 1)
    return BT_EINVAL;
  for (i = 0; i < CRDT_FPR_LEN - 1; i++) {
    char ch = v[i];
    if (i % 5 == 4) {
      if (ch != '-')
        return BT_EINVAL;
      out[i] = ch;
      continue;
    }
    if (ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    ch = ch == 'O' ? '0' : ch == 'I' || ch == 'L' ? '1' : ch;
    if (ch == '\0' || strchr(alpha, ch) == NULL)
      return BT_EINVAL;
    out[i] = ch;
  }
  out[i] = '\0';
  return BT_OK;
}

static int add_relay(settings *st, const char *v)
{
  char fpr[CRDT_FPR_LEN];

  if (strcmp(v, "all") == 0) {
    st->relay_all = 1;
    return BT_OK;
  }
  if (parse_fpr(v, fpr) != BT_OK)
    return BT_EINVAL;
  return add_str(&st->relay, &st->nrelay, fpr);
}

/* ---- keys ----------------------------------------------------------------------- */

enum { K_DIR, K_KEYFILE, K_LISTEN, K_PEER, K_CONNS, K_HS, K_IDLE, K_FRAME, K_MAXFRAME,
       K_RMIN, K_RMAX, K_RELAY, K_PERIOD, K_COUNT, K_EXT = K_COUNT /* ext->key */ };
static const char *const KEYS[K_COUNT] = {
  "dir", "key_file", "listen", "peer", "max_connections", "handshake_timeout",
  "idle_timeout", "frame_timeout", "max_frame", "reconnect_min", "reconnect_max",
  "relay_for", "sync_period"};

/* Applies one setting. *why says what is wrong with a bad value. */
static int set_key(settings *st, int k, const char *v, const char **why)
{
  node_net_opts *o = &st->net;
  uint64_t x;
  int rc = BT_OK;

  *why = "bad value";
  switch (k) {
  case K_EXT:
    return ext->set(ext->ctx, v, why);
  case K_DIR:
    return *v ? set_str(&st->dir, v) : BT_EINVAL;
  case K_KEYFILE:
    return *v ? set_str(&st->key_file, v) : BT_EINVAL;
  case K_LISTEN:
    *why = "want ADDR:PORT, [IPv6]:PORT or off";
    return strcmp(v, "off") == 0 || parse_addr(v, 0) == BT_OK ? set_str(&st->listen, v)
                                                               : BT_EINVAL;
  case K_PEER:
    *why = "want HOST:PORT or [IPv6]:PORT, port 1..65535";
    return parse_addr(v, 1) == BT_OK ? add_str(&st->peers, &st->npeers, v) : BT_EINVAL;
  case K_RELAY:
    *why = "want an org fingerprint (XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX) or all";
    return add_relay(st, v);
  case K_CONNS:
    *why = "want 1..4096";
    if ((rc = parse_count(v, 1, 4096, &x)) == BT_OK)
      o->max_conns = (unsigned)x;
    return rc;
  case K_MAXFRAME: /* a sync message is at least NODE_SYNC_MSG_MIN, sealed */
    *why = "want 128K..64M bytes";
    if ((rc = parse_count(v, (uint64_t)128 << 10, (uint64_t)64 << 20, &x)) == BT_OK)
      o->max_frame = (size_t)x;
    return rc;
  default:
    break;
  }
  *why = "want a duration: 500ms, 10s, 2m, 1h (at most a day)";
  if ((rc = parse_duration(v, &x)) != BT_OK)
    return rc;
  uint64_t *dst[K_COUNT] = {[K_HS] = &o->hs_timeout_ms, [K_IDLE] = &o->idle_timeout_ms,
                            [K_FRAME] = &o->frame_timeout_ms, [K_RMIN] = &o->retry_min_ms,
                            [K_RMAX] = &o->retry_max_ms, [K_PERIOD] = &st->sync_period_ms};
  *dst[k] = x;
  return BT_OK;
}

/* A key, with - and _ alike (relay-for is relay_for). */
static int key_index(const char *name)
{
  if (ext && strcmp(name, ext->key) == 0)
    return K_EXT;
  for (int k = 0; k < K_COUNT; k++) {
    const char *a = KEYS[k], *b = name;
    while (*a && (*a == *b || (*a == '_' && *b == '-')))
      a++, b++;
    if (*a == '\0' && *b == '\0')
      return k;
  }
  return -1;
}

static char *trim(char *s)
{
  char *e;

  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
    *--e = '\0';
  return s;
}

/* One line: blank, a # comment, or key = value; a # after a space or tab
 * starts a comment too. */
static int config_line(settings *st, char *line, const char **why)
{
  char *s, *eq, *key, *val;
  int k;

  for (char *p = line; *p; p++)
    if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
      *p = '\0';
      break;
    }
  s = trim(line);
  if (*s == '\0')
    return BT_OK;
  *why = "want key = value";
  if ((eq = strchr(s, '=')) == NULL)
    return BT_EINVAL;
  *eq = '\0';
  key = trim(s);
  val = trim(eq + 1);
  *why = "unknown key";
  if ((k = key_index(key)) < 0)
    return BT_EINVAL;
  *why = "set twice";
  if (k != K_PEER && k != K_RELAY && (st->seen & (1u << k)))
    return BT_EINVAL;
  st->seen |= 1u << k;
  return set_key(st, k, val, why);
}

static int config_load(settings *st, const char *path)
{
  char line[LINE_MAX_LEN + 2];
  const char *why = NULL;
  unsigned no = 0;
  FILE *f = fopen(path, "r");
  int rc = BT_OK;

  if (f == NULL) {
    say("%s: %s", path, strerror(errno));
    return -errno;
  }
  while (rc == BT_OK && fgets(line, sizeof line, f) != NULL) {
    no++;
    if (strlen(line) > LINE_MAX_LEN && strchr(line, '\n') == NULL) {
      why = "line too long";
      rc = BT_ETOOBIG;
    } else {
      char copy[sizeof line];
      memcpy(copy, line, sizeof line);
      if ((rc = config_line(st, line, &why)) != BT_OK) {
        char *key = trim(copy), *eq = strchr(key, '=');
        if (eq)
          *eq = '\0';
        say("%s:%u: %s: %s", path, no, trim(key), why);
      }
      continue;
    }
    say("%s:%u: %s", path, no, why);
  }
  if (rc == BT_OK && ferror(f)) {
    say("%s: read error", path);
    rc = BT_EINVAL;
  }
  fclose(f);
  return rc;
}

/* ---- the command line ---------------------------------------------------------- */

static const struct {
  const char *opt;
  int key; /* a config key, or one of these: */
} OPTS[] = {
  {"--dir", K_DIR}, {"--key-file", K_KEYFILE}, {"--listen", K_LISTEN}, {"--peer", K_PEER},
  {"--relay-for", K_RELAY}, {"--sync-period", K_PERIOD},
  {"--config", -1}, {"--init", -2}, {"--help", -3},
};
#define OPT_EXT ((int)(sizeof OPTS / sizeof OPTS[0])) /* --KEY of ext */

static const char *opt_name(int j)
{
  return j == OPT_EXT ? "--" /* + ext->key, said below */ : OPTS[j].opt;
}

static int opt_key(int j)
{
  return j == OPT_EXT ? K_EXT : OPTS[j].key;
}

static int opt_index(const char *a, size_t alen)
{
  if (ext && alen == strlen(ext->key) + 2 && strncmp(a, "--", 2) == 0 &&
      strncmp(a + 2, ext->key, alen - 2) == 0)
    return OPT_EXT;
  for (size_t j = 0; j < sizeof OPTS / sizeof OPTS[0]; j++)
    if (strlen(OPTS[j].opt) == alen && strncmp(a, OPTS[j].opt, alen) == 0)
      return (int)j;
  return -1;
}

/* One option with its value, over what the config file said. */
static int cli_apply(settings *st, int j, const char *v)
{
  const char *why;

  if (opt_key(j) == -2) {
    if (*v == '\0' || set_str(&st->init_name, v) != BT_OK) {
      say("--init needs a name");
      return BT_EINVAL;
    }
    return BT_OK;
  }
  if (opt_key(j) == K_PEER && !st->peers_from_cli) { /* replace the file's */
    free_strs(st->peers, st->npeers);
    st->npeers = 0;
    st->peers_from_cli = 1;
  }
  if (opt_key(j) == K_RELAY && !st->relay_from_cli) { /* likewise */
    free_strs(st->relay, st->nrelay);
    st->nrelay = 0;
    st->relay_all = 0;
    st->relay_from_cli = 1;
  }
  if (set_key(st, opt_key(j), v, &why) != BT_OK) {
    say("%s%s %s: %s", opt_name(j), j == OPT_EXT ? ext->key : "", v, why);
    return BT_EINVAL;
  }
  return BT_OK;
}

/* Pass 0 only finds --config and --help (and refuses unknown options);
 * pass 1, after the file, applies the rest over it. */
static int cli_pass(settings *st, int argc, char **argv, int pass)
{
  for (int i = 1; i < argc; i++) {
    char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
    int j = opt_index(a, eq ? (size_t)(eq - a) : strlen(a));

    if (j < 0) {
      say("unknown option %s (try --help)", a);
      return BT_EINVAL;
    }
    if (opt_key(j) == -3) {
      st->help = 1;
      continue;
    }
    if (eq)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    if (v == NULL) {
      say("%s%s needs a value", opt_name(j), j == OPT_EXT ? ext->key : "");
      return BT_EINVAL;
    }
    if (opt_key(j) == -1) {
      if (pass == 0 && set_str(&st->config, v) != BT_OK)
        return BT_ENOMEM;
    } else if (pass == 1 && cli_apply(st, j, v) != BT_OK) {
      return BT_EINVAL;
    }
  }
  return BT_OK;
}

static void settings_free(settings *st)
{
  free_strs(st->peers, st->npeers);
  free(st->peers);
  free_strs(st->relay, st->nrelay);
  free(st->relay);
  free(st->config);
  free(st->dir);
  free(st->key_file);
  free(st->listen);
  free(st->init_name);
}

/* ---- the store ------------------------------------------------------------------ */

/* With --init and no key file: create one, unless a store is already
 * there (a new key could not open it). */
static int keyfile_ensure(const settings *st, const char *dir)
{
  char path[PATH_MAX + 16];
  struct stat sb;
  int rc;

  if (st->init_name == NULL || stat(st->key_file, &sb) == 0 || errno != ENOENT)
    return BT_OK;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (stat(path, &sb) == 0) {
    say("the key file is missing, and the data directory holds a store: not making a new key");
    return BT_EKEYFILE;
  }
  if ((rc = node_keyfile_create(st->key_file)) != BT_OK) {
    say("cannot create the key file: %s", bt_strerror(rc));
    return rc;
  }
  node_net_log("created key file (mode 0600): keep it outside the data directory, and backed up");
  return BT_OK;
}

/* Opens the store; st->dir is the data directory from then on. */
static int store_open(settings *st, node_store **s)
{
  char dir[PATH_MAX], *pass = NULL, *env;
  node_store_opts o = {.kdf = NODE_KDF_MODERATE, .create = st->init_name != NULL};
  int rc;

  if (st->dir)
    snprintf(dir, sizeof dir, "%s", st->dir);
  else if ((rc = node_store_default_dir(dir, sizeof dir)) != BT_OK) {
    say("no data directory: give --dir (HOME and XDG_DATA_HOME are unset)");
    return rc;
  }
  o.dir = dir;
  if (st->dir == NULL && (rc = set_str(&st->dir, dir)) != BT_OK)
    return rc;
  if (st->key_file) {
    if ((rc = keyfile_ensure(st, dir)) != BT_OK)
      return rc;
    o.key_file = st->key_file;
  } else if ((env = getenv("BATON_PASSPHRASE")) != NULL && *env) {
    if ((pass = strdup(env)) == NULL)
      return BT_ENOMEM;
    sodium_memzero(env, strlen(env));
    unsetenv("BATON_PASSPHRASE");
    o.passphrase = pass;
    o.passphrase_len = strlen(pass);
  } else {
    say("no key: give --key-file FILE, or the passphrase in BATON_PASSPHRASE");
    return BT_EPASS;
  }
  rc = node_store_open(s, &o);
  if (pass) {
    sodium_memzero(pass, strlen(pass));
    free(pass);
  }
  if (rc == BT_ENOTFOUND)
    say("no store in the data directory: run once with --init NAME to create one");
  else if (rc != BT_OK)
    say("cannot open the store: %s", bt_strerror(rc));
  return rc;
}

static int org_ensure(node_store *s, const char *init_name)
{
  char dfpr[CRDT_FPR_LEN], ofpr[CRDT_FPR_LEN];
  uint8_t pk[CRDT_PK_LEN];
  node_org o;
  int rc = node_org_get(s, &o);

  if (rc == BT_ENOTFOUND && init_name) {
    node_org_info info = {.kind = CRDT_ORG_SCHOOL, .name = init_name};
    if ((rc = node_org_create(s, &info)) == BT_OK && (rc = node_org_get(s, &o)) == BT_OK)
      node_net_log("created this node's org");
  }
  if (rc == BT_ENOTFOUND) {
    say("this node has no org yet: run once with --init NAME");
    return rc;
  }
  if (rc != BT_OK) {
    say("cannot read this node's org: %s", bt_strerror(rc));
    return rc;
  }
  node_store_device(s, pk);
  crdt_fingerprint(pk, CRDT_PK_LEN, dfpr);
  crdt_fingerprint(o.sign_pk.b, CRDT_PK_LEN, ofpr);
  node_net_log("device fpr=%s org fpr=%s", dfpr, ofpr);
  if (o.provisional)
    node_net_log("the org certificate is provisional (self-signed): peers refuse this node "
                 "until its LA certifies the org");
  node_org_clear(&o);
  return BT_OK;
}

/* The peers kept in the store (`baton peer add`, node/peers.h) are dialled
 * too, after those of the config file and the command line, each address
 * once. Read at start only. */
static int store_peers(settings *st, node_store *s)
{
  node_peer *p = calloc(NODE_PEERS_MAX, sizeof *p);
  size_t n = 0, k, j;
  int rc;

  if (p == NULL)
    return BT_ENOMEM;
  if ((rc = node_peer_list(s, p, NODE_PEERS_MAX, &n)) != BT_OK) {
    say("cannot read the peers kept in the store: %s (going on without them)",
        bt_strerror(rc));
    free(p);
    return BT_OK;
  }
  for (k = 0; rc == BT_OK && k < n && k < NODE_PEERS_MAX; k++) {
    for (j = 0; j < st->npeers && strcmp(st->peers[j], p[k].addr) != 0; j++)
      ;
    if (j == st->npeers)
      rc = add_str(&st->peers, &st->npeers, p[k].addr);
  }
  free(p);
  return rc;
}

/* ---- running ---------------------------------------------------------------------- */

typedef struct {
  uv_signal_t term, intr;
  node_net *net;
  node_hub *hub;
} daemon_ctx;

static void on_stopped(void *ctx)
{
  daemon_ctx *d = ctx;

  uv_close((uv_handle_t *)&d->term, NULL);
  uv_close((uv_handle_t *)&d->intr, NULL);
}

static void stop(daemon_ctx *d)
{
  if (ext && ext->stop)
    ext->stop(ext->ctx); /* stops accepting, closes its handles */
  node_hub_stop(d->hub, NULL, NULL); /* its timers; net ends the sessions */
  node_net_stop(d->net, on_stopped, d); /* a second call: without waiting */
}

static void on_signal(uv_signal_t *h, int signum)
{
  node_net_log("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  stop(h->data);
}

/* Only an LA org's node is a relay to its peers (node/hub.h): say so when
 * another is told to relay. */
static void relay_note(const settings *st, node_store *s)
{
  crdt_cert *c = NULL;
  node_org o;

  if ((!st->relay_all && st->nrelay == 0) || node_org_get(s, &o) != BT_OK)
    return;
  if (crdt_cert_decode(o.org_cert, o.org_cert_len, &c) == BT_OK &&
      c->b.org_kind != CRDT_ORG_LA)
    node_net_log("relay-for is set, but this node's org is not an LA: peers offer a relay "
                 "only what they would offer any node of its org");
  crdt_cert_free(c);
  node_org_clear(&o);
  node_net_log("relaying for %s", st->relay_all ? "every accepted org" : "the orgs listed");
}

static int hub_new(settings *st, uv_loop_t *loop, node_store *s, node_hub **hub)
{
  node_hub_opts ho = {.sync = {.relay_all = st->relay_all}, .dir = st->dir,
                      .period_ms = st->sync_period_ms,
                      .relay_fprs = (const char *const *)st->relay,
                      .nrelay_fprs = st->nrelay};
  int rc;

  if ((rc = node_hub_new(hub, loop, s, &ho)) != BT_OK) {
    say("cannot set up sync: %s", bt_strerror(rc));
    return rc;
  }
  relay_note(st, s);
  st->net.sync = node_hub_hook(*hub);
  return BT_OK;
}

static int run(settings *st, node_store *s)
{
  daemon_ctx d = {0};
  uv_loop_t loop;
  int rc, started;

  st->net.listen = st->listen == NULL                 ? NODE_NET_LISTEN_DEFAULT
                   : strcmp(st->listen, "off") == 0 ? NULL
                                                      : st->listen;
  st->net.peers = (const char *const *)st->peers;
  st->net.npeers = st->npeers;
  if ((rc = uv_loop_init(&loop)) != 0)
    return rc;
  if ((rc = hub_new(st, &loop, s, &d.hub)) != BT_OK) {
    uv_loop_close(&loop);
    return rc;
  }
  if ((rc = node_net_new(&d.net, &loop, s, &st->net)) != BT_OK) {
    say("cannot set up the network: %s", bt_strerror(rc));
    node_hub_free(d.hub);
    uv_loop_close(&loop);
    return rc;
  }
  uv_signal_init(&loop, &d.term);
  uv_signal_init(&loop, &d.intr);
  d.term.data = d.intr.data = &d;
  uv_signal_start(&d.term, on_signal, SIGTERM);
  uv_signal_start(&d.intr, on_signal, SIGINT);
  node_hub_start(d.hub);
  if ((started = node_net_start(d.net)) != 0) {
    say("cannot listen on %s: %s", st->net.listen, uv_strerror(started));
    stop(&d);
  } else if (ext && ext->start && (rc = ext->start(ext->ctx, &loop, s)) != BT_OK) {
    say("cannot start %s: %s", ext->key, bt_strerror(rc));
    started = rc;
    stop(&d);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (ext && ext->free)
    ext->free(ext->ctx);
  node_net_free(d.net);
  node_hub_free(d.hub); /* after net: its closes freed the sessions */
  rc = uv_loop_close(&loop);
  if (rc != 0)
    say("event loop did not close cleanly: %s", uv_strerror(rc));
  return started != 0 ? started : BT_OK;
}

int node_daemon_main(int argc, char **argv, const node_daemon_ext *front)
{
  settings st = {0};
  node_store *s = NULL;
  int rc;

  ext = front;
  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error code, not a death */
  if (cli_pass(&st, argc, argv, 0) != BT_OK) {
    settings_free(&st);
    return 2;
  }
  if (st.help) {
    fputs(USAGE, stdout);
    if (ext && ext->usage)
      fputs(ext->usage, stdout);
    settings_free(&st);
    return 0;
  }
  if ((st.config && config_load(&st, st.config) != BT_OK) ||
      cli_pass(&st, argc, argv, 1) != BT_OK) {
    settings_free(&st);
    return 2;
  }
  if (st.net.retry_min_ms && st.net.retry_max_ms && st.net.retry_min_ms > st.net.retry_max_ms) {
    say("reconnect_min is above reconnect_max");
    settings_free(&st);
    return 2;
  }
  if (sodium_init() < 0 || (rc = store_open(&st, &s)) != BT_OK ||
      (rc = org_ensure(s, st.init_name)) != BT_OK || (rc = store_peers(&st, s)) != BT_OK ||
      (rc = run(&st, s)) != BT_OK) {
    node_store_close(s);
    settings_free(&st);
    return 1;
  }
  node_store_close(s);
  settings_free(&st);
  node_net_log("store closed; exiting");
  return 0;
}
