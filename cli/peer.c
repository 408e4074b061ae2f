/* cli/peer.c: the peers batond keeps a connection to, and a sync now:
 *
 *   baton peer add ADDR:PORT | peer remove ADDR:PORT | peer list
 *   baton sync ADDR:PORT [--timeout SECONDS] [--verbose]
 *
 * Peers live in the store (node/peers.h), so the CLI and batond share them
 * with no config file; batond dials them as well as its --peer options and
 * config `peer` lines, from its next start.
 *
 * `baton sync` runs one sync session from this process (node/dial.h: it
 * dials, never listens), with or without a batond on the same data
 * directory, then applies the trusted LAs' directory revocations
 * (node_dir_apply). The network's log lines are dropped unless --verbose
 * (then they go to stderr). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ident.h"
#include "cli/out.h"
#include "cli/setup.h"
#include "crdt/err.h"
#include "node/dial.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/peers.h"

static const cli_pos ADDR_POS[] = {{"ADDR:PORT", NODE_NET_ADDR_MAX - 1, 0}};

static int addr_check(const cli_ctx *c, const char *v)
{
  char host[NODE_NET_HOST_MAX];
  uint16_t port;

  if (node_net_addr_parse(v, host, sizeof host, &port) != BT_OK || port == 0)
    return cli_usage(c, "ADDR:PORT must be HOST:PORT or [IPv6]:PORT with a port from 1 to "
                        "65535 (batond listens on 7643 unless told otherwise)");
  return CLI_OK;
}

/* ---- peer add, remove, list ------------------------------------------------------- */

static void peer_text(const json_t *doc)
{
  const char *verb = cli_out_get(doc, "done");

  printf("%s %s.\n", verb, cli_out_get(doc, "peer"));
  if (strcmp(verb, "Added") == 0)
    printf("batond dials it from its next start; `baton sync %s` syncs now.\n",
           cli_out_get(doc, "peer"));
}

static int peer_change(cli_ctx *c, const cli_args *a, int add)
{
  node_store *s = NULL;
  int rc;

  if ((rc = addr_check(c, a->pos[0])) != CLI_OK || (rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = add ? node_peer_add(s, a->pos[0], cli_setup_now()) : node_peer_remove(s, a->pos[0]);
  node_store_close(s);
  if (rc == BT_EDUP)
    return cli_out_emit(c, json_pack("{s:s, s:s, s:b}", "peer", a->pos[0], "done",
                                     "Already a peer (nothing changed):", "changed", 0),
                        peer_text);
  if (rc == BT_ENOTFOUND)
    return cli_fail(c, "%s is not one of this node's peers (`baton peer list`): nothing "
                       "changed", a->pos[0]);
  if (rc == BT_EFULL)
    return cli_fail(c, "this node keeps at most %d peers: remove one first", NODE_PEERS_MAX);
  if (rc != BT_OK)
    return cli_fail(c, "cannot change the peers: %s", bt_strerror(rc));
  return cli_out_emit(c, json_pack("{s:s, s:s, s:b}", "peer", a->pos[0], "done",
                                   add ? "Added" : "Removed", "changed", 1), peer_text);
}

static int add_run(cli_ctx *c, const cli_args *a)
{
  return peer_change(c, a, 1);
}

static int remove_run(cli_ctx *c, const cli_args *a)
{
  return peer_change(c, a, 0);
}

const cli_cmd cli_peer_add_cmd = {
  .name = "peer add",
  .summary = "add a peer for batond to stay connected to",
  .about = "Keeps ADDR:PORT in the store as a peer: batond dials it (as well as its\n"
           "--peer options) from its next start. Adding it again changes nothing.",
  .pos = ADDR_POS, .npos = 1, .run = add_run,
};

const cli_cmd cli_peer_remove_cmd = {
  .name = "peer remove",
  .summary = "stop keeping a peer",
  .about = "Removes ADDR:PORT from the peers kept in the store (batond drops it at its\n"
           "next start).",
  .pos = ADDR_POS, .npos = 1, .run = remove_run,
};

static void list_text(const json_t *doc)
{
  const json_t *p;
  size_t k;

  if (json_array_size(json_object_get(doc, "peers")) == 0)
    printf("No peers kept (`baton peer add ADDR:PORT`).\n");
  json_array_foreach(json_object_get(doc, "peers"), k, p)
    printf("%-40s added %s\n", cli_out_get(p, "peer"), cli_out_get(p, "added"));
}

static int list_run(cli_ctx *c, const cli_args *a)
{
  node_peer *p = calloc(NODE_PEERS_MAX, sizeof *p);
  node_store *s = NULL;
  json_t *arr = json_array();
  char when[32];
  size_t n = 0;
  int rc;

  (void)a;
  if (p == NULL || arr == NULL || (rc = cli_setup_open(c, &s)) != CLI_OK) {
    free(p);
    json_decref(arr);
    return CLI_ERROR;
  }
  rc = node_peer_list(s, p, NODE_PEERS_MAX, &n);
  node_store_close(s);
  for (size_t k = 0; rc == BT_OK && k < n && k < NODE_PEERS_MAX; k++) {
    cli_out_time(p[k].added_ms, when, sizeof when);
    json_array_append_new(arr, json_pack("{s:s, s:s}", "peer", p[k].addr, "added", when));
  }
  free(p);
  if (rc != BT_OK) {
    json_decref(arr);
    return cli_fail(c, "cannot read the peers: %s", bt_strerror(rc));
  }
  return cli_out_emit(c, json_pack("{s:o}", "peers", arr), list_text);
}

const cli_cmd cli_peer_list_cmd = {
  .name = "peer list",
  .summary = "list the peers kept in the store",
  .run = list_run,
};

/* ---- sync ------------------------------------------------------------------------- */

enum { O_TIMEOUT, O_VERBOSE };
static const cli_opt SYNC_OPTS[] = {
  [O_TIMEOUT] = {"--timeout", "SECONDS", 5, "give up after this long, 1..3600 (default 60)"},
  [O_VERBOSE] = {"--verbose", NULL, 0, "show the network's log lines on stderr"},
};

static void log_drop(void *ctx, const char *line, size_t len)
{
  (void)ctx, (void)line, (void)len;
}

static void log_stderr(void *ctx, const char *line, size_t len)
{
  (void)ctx;
  if (write(STDERR_FILENO, line, len) < 0)
    return;
}

/* Why a sync did not happen, in words, with what to do. */
static const char *why(const node_dial_result *r, char *buf, size_t len)
{
  char name[48];
  const char *n = node_net_reason_name(r->reason, name, sizeof name);
  const char *what;

  if (r->timed_out)
    return "no sync within the time given (--timeout)";
  if (r->stage == NODE_NET_STAGE_CONNECT) {
    if (r->reason == UV_ECONNREFUSED)
      what = "nothing is listening there (is batond running? the right port?)";
    else if (r->reason == NODE_NET_R_HS_TIMEOUT || r->reason == UV_ETIMEDOUT)
      what = "no answer in time (wrong address, or a firewall)";
    else if (strncmp(n, "EAI_", 4) == 0)
      what = "the host name does not resolve";
    else
      what = "cannot connect";
  } else if (r->stage == NODE_NET_STAGE_HANDSHAKE) {
    switch (r->reason) {
    case BT_EANCHOR:
      what = "the peer's certificate is not from an LA this node trusts (`baton anchor "
             "add ROOT_KEY`)";
      break;
    case BT_ESELFSIGNED:
      what = "the peer's org is not certified by its LA yet";
      break;
    case BT_EREVOKED:
      what = "the peer's certificate has been revoked";
      break;
    case BT_EEXPIRED:
      what = "the peer's certificate is not valid at this time (expired, or a clock is "
             "wrong)";
      break;
    case NODE_NET_R_SELF:
      what = "that address is this node itself";
      break;
    default:
      what = "the handshake failed (not a Baton node, or it refused this node)";
    }
  } else if (r->stage == NODE_NET_STAGE_HEADER) {
    what = "the peer refused this node's certificates (is this org certified by an LA "
           "the peer trusts, and not revoked? `baton status`)";
  } else {
    what = r->reason == BT_EVERSION ? "the peer does not speak this sync protocol"
                                    : "the session ended before the sync was done";
  }
  snprintf(buf, len, "%s (%s)", what, n);
  return buf;
}

static json_t *result_json(const char *addr, const node_dial_result *r, size_t applied)
{
  const node_sync_stats *st = &r->st;

  return json_pack("{s:s, s:o, s:o, s:s?, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
                   "s:{s:i, s:i}, s:I}",
                   "peer", addr, "device", cli_out_fpr(r->peer_device), "org",
                   cli_out_fpr(r->peer_org), "kind", cli_ident_kind_name(r->peer_kind),
                   "path", st->last_fast ? "fast" : "full", "ms", (json_int_t)r->ms, "ops",
                   "sent", (json_int_t)st->ops_sent, "received", (json_int_t)st->ops_stored,
                   "duplicate", (json_int_t)st->ops_dup, "buffered",
                   (json_int_t)st->ops_buffered, "rejected", (json_int_t)st->ops_rejected,
                   "refused", (json_int_t)st->ops_refused, "files", "differ",
                   (int)st->files_differ, "new", (int)st->files_new, "revocations_applied",
                   (json_int_t)applied);
}

static void sync_text(const json_t *doc)
{
  const json_t *ops = json_object_get(doc, "ops"), *files = json_object_get(doc, "files");

  printf("Synced with %s (%s, org %s) in %" JSON_INTEGER_FORMAT " ms.\n",
         cli_out_get(doc, "peer"), cli_out_get(doc, "device"), cli_out_get(doc, "org"),
         json_integer_value(json_object_get(doc, "ms")));
  printf("ops    sent %" JSON_INTEGER_FORMAT ", received %" JSON_INTEGER_FORMAT
         " (duplicate %" JSON_INTEGER_FORMAT ", waiting for parents %" JSON_INTEGER_FORMAT
         ", rejected %" JSON_INTEGER_FORMAT ", refused %" JSON_INTEGER_FORMAT ")\n",
         json_integer_value(json_object_get(ops, "sent")),
         json_integer_value(json_object_get(ops, "received")),
         json_integer_value(json_object_get(ops, "duplicate")),
         json_integer_value(json_object_get(ops, "buffered")),
         json_integer_value(json_object_get(ops, "rejected")),
         json_integer_value(json_object_get(ops, "refused")));
  printf("files  %" JSON_INTEGER_FORMAT " differed, %" JSON_INTEGER_FORMAT " new here\n",
         json_integer_value(json_object_get(files, "differ")),
         json_integer_value(json_object_get(files, "new")));
  if (json_integer_value(json_object_get(doc, "revocations_applied")) > 0)
    printf("revocations from the LA directory applied: %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(doc, "revocations_applied")));
}

/* The org can sync at all: it exists and an LA has certified it. */
static int sync_ready(const cli_ctx *c, node_store *s)
{
  node_org o;
  int rc = node_org_get(s, &o), prov;

  if (rc == BT_ENOTFOUND)
    return cli_fail(c, "this node has no org yet (`baton init`, or `baton enrol` for a "
                       "second device): nothing to sync as");
  if (rc != BT_OK)
    return cli_fail(c, "cannot read this node's org: %s", bt_strerror(rc));
  prov = o.provisional;
  node_org_clear(&o);
  if (prov)
    return cli_fail(c, "this org's certificate is provisional (self-signed), and peers refuse "
                       "it: have the LA certify it (`baton org request`, then `baton org "
                       "install`)");
  return CLI_OK;
}

/* Applies the directory revocations of every trusted LA; the count. */
static size_t apply_dirs(node_store *s)
{
  crdt_id roots[64];
  size_t n = 0, total = 0, one;

  if (node_anchors(s, roots, 64, &n) != BT_OK)
    return 0;
  for (size_t k = 0; k < n && k < 64; k++)
    if (node_dir_apply(s, &roots[k], cli_setup_now(), &one) == BT_OK)
      total += one;
  return total;
}

static int sync_run(cli_ctx *c, const cli_args *a)
{
  node_dial_result r;
  node_store *s = NULL;
  unsigned long secs = 60;
  char *end, buf[320];
  size_t applied = 0;
  int rc;

  if ((rc = addr_check(c, a->pos[0])) != CLI_OK)
    return rc;
  if (a->val[O_TIMEOUT] &&
      ((secs = strtoul(a->val[O_TIMEOUT], &end, 10)) < 1 || secs > 3600 || *end ||
       a->val[O_TIMEOUT][0] < '0' || a->val[O_TIMEOUT][0] > '9'))
    return cli_usage(c, "--timeout must be a number of seconds from 1 to 3600");
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  if ((rc = sync_ready(c, s)) != CLI_OK) {
    node_store_close(s);
    return rc;
  }
  node_net_log_sink(a->val[O_VERBOSE] ? log_stderr : log_drop, NULL);
  rc = node_dial_sync(s, a->pos[0], secs * 1000ull, &r);
  node_net_log_sink(NULL, NULL);
  if (rc == BT_OK)
    applied = apply_dirs(s);
  node_store_close(s);
  if (rc == BT_EAUTH)
    return cli_fail(c, "no sync with %s: %s", a->pos[0], why(&r, buf, sizeof buf));
  if (rc != BT_OK)
    return cli_fail(c, "no sync with %s: %s", a->pos[0], bt_strerror(rc));
  return cli_out_emit(c, result_json(a->pos[0], &r, applied), sync_text);
}

const cli_cmd cli_sync_cmd = {
  .name = "sync",
  .summary = "sync with a peer now (one session, from this process)",
  .about = "Connects to the node at ADDR:PORT, runs one sync session (the same as batond's:\n"
           "each side judged by its anchors) and prints what moved. Works with no batond\n"
           "running (a laptop back from a home visit) and beside one. Then applies the\n"
           "trusted LAs' directory revocations. Exit 1, with the reason, when the peer\n"
           "cannot be reached or the handshake is refused.",
  .opts = SYNC_OPTS, .nopts = 2, .pos = ADDR_POS, .npos = 1, .run = sync_run,
};
