/* cli/session.c: the store, the signed-in user, and ids (cli/session.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/rec.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/files.h"

uint64_t cli_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cli_sess_open(const cli_ctx *c, node_action need, cli_sess *ss)
{
  int rc;

  memset(ss, 0, sizeof(*ss));
  if (cli_login_name(c) == NULL)
    return cli_usage(c, "this needs a staff user: give --user NAME (or set BATON_USER)");
  if (cli_store_open(c, &ss->s, &ss->where) != BT_OK)
    return CLI_ERROR;
  if ((rc = cli_login(c, ss->s, need, &ss->u)) != CLI_OK) {
    node_store_close(ss->s);
    ss->s = NULL;
  }
  return rc;
}

void cli_sess_close(cli_sess *ss)
{
  node_store_close(ss->s);
  ss->s = NULL;
}

static int is_hex(const char *v)
{
  for (; *v; v++)
    if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'f') || (*v >= 'A' && *v <= 'F')))
      return 0;
  return 1;
}

int cli_id_arg(const cli_ctx *c, const char *what, const char *v, size_t max)
{
  char q[CLI_QUOTE_LEN];
  size_t n = strlen(v);

  if (!is_hex(v) || n < CLI_ID_MIN || n > max)
    return cli_usage(c, "%s %s is not an id: give its hex id as `baton %s` shows it (%d to "
                        "%zu hex characters)", what, cli_quote(v, q),
                     max == 2 * CRDT_FILE_LEN ? "files" : "file show", CLI_ID_MIN, max);
  return CLI_OK;
}

/* 1 if the hex of p[0..n) starts with the (any case) prefix. */
static int hex_prefix(const uint8_t *p, size_t n, const char *prefix)
{
  char hex[2 * CRDT_ID_LEN + 1];
  size_t k = strlen(prefix);

  cli_hex(p, n, hex);
  if (k > 2 * n)
    return 0;
  for (size_t i = 0; i < k; i++)
    if (hex[i] != (prefix[i] >= 'A' && prefix[i] <= 'F' ? prefix[i] + 32 : prefix[i]))
      return 0;
  return 1;
}

static int hex_bytes(const char *h, uint8_t *out, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(h + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

int cli_sess_file(const cli_ctx *c, cli_sess *ss, const char *arg, uint8_t file[CRDT_FILE_LEN])
{
  char q[CLI_QUOTE_LEN];
  uint8_t *ids = NULL;
  size_t n = 0, hits = 0;
  int rc;

  if (strlen(arg) == 2 * CRDT_FILE_LEN)
    return hex_bytes(arg, file, CRDT_FILE_LEN) == 0 ? CLI_OK : CLI_USAGE;
  if (!node_may(ss->u.role, NODE_DO_READ_FILE))
    return cli_fail(c, "give the file's whole id (32 hex characters, as the DSL gave it): "
                       "a %s may not list files to complete %s", node_role_name(ss->u.role),
                    cli_quote(arg, q));
  if ((rc = node_files_as(ss->s, ss->u.role, &ids, &n)) != BT_OK)
    return cli_node_fail(c, ss, "listing files", rc);
  for (size_t i = 0; i < n; i++)
    if (hex_prefix(ids + i * CRDT_FILE_LEN, CRDT_FILE_LEN, arg)) {
      if (hits++ == 0)
        memcpy(file, ids + i * CRDT_FILE_LEN, CRDT_FILE_LEN);
    }
  free(ids);
  if (hits == 0)
    return cli_fail(c, "no case file %s here: `baton files` lists them", cli_quote(arg, q));
  if (hits > 1)
    return cli_fail(c, "%s is the start of %zu file ids: give more of it", cli_quote(arg, q),
                    hits);
  return CLI_OK;
}

int cli_sess_view(const cli_ctx *c, cli_sess *ss, const uint8_t file[CRDT_FILE_LEN],
                  node_view *v)
{
  int rc = node_casefile_as(ss->s, ss->u.name, ss->u.role, file, v);

  if (rc == BT_OK && v->file && !(v->file->access && v->file->access->has_genesis)) {
    node_view_free(v);
    rc = BT_ENOFILE;
  }
  return rc == BT_OK ? CLI_OK : cli_node_fail(c, ss, "reading the file", rc);
}

int cli_entry_find(const cli_ctx *c, const node_view *v, const char *what, const char *hex,
                   uint32_t want, crdt_id *out)
{
  char q[CLI_QUOTE_LEN];
  const crdt_cf_entry *hit = NULL;
  size_t hits = 0;

  if (strlen(hex) < CLI_ID_MIN || strlen(hex) > 2 * CRDT_ID_LEN || !is_hex(hex))
    return cli_fail(c, "%s %s is not an entry id (8 to 64 hex characters, as `baton file "
                       "show` gives it)", what, cli_quote(hex, q));
  for (size_t i = 0; i < v->nentries; i++)
    if (hex_prefix(v->entries[i]->op->id.b, CRDT_ID_LEN, hex) && hits++ == 0)
      hit = v->entries[i];
  if (hits == 0)
    return cli_fail(c, "%s: no entry %s in this file (`baton file show FILE` lists them)",
                    what, cli_quote(hex, q));
  if (hits > 1)
    return cli_fail(c, "%s: %s is the start of %zu entry ids: give more of it", what,
                    cli_quote(hex, q), hits);
  if (want && hit->body->type != want)
    return cli_fail(c, "%s: entry %s is of type %s, not %s", what, cli_quote(hex, q),
                    crdt_optype_name(hit->body->type), crdt_optype_name(want));
  *out = hit->op->id;
  return CLI_OK;
}

int cli_node_fail(const cli_ctx *c, const cli_sess *ss, const char *doing, int rc)
{
  const char *role = ss ? node_role_name(ss->u.role) : NULL;

  switch (rc) {
  case BT_EDENIED:
    return cli_fail(c, "%s: refused: %s%s may not do this (or this node's org does not hold "
                       "the file); nothing changed", doing, role ? "a " : "",
                    role ? role : "this user");
  case BT_ENOFILE: case BT_ENOTFOUND:
    return cli_fail(c, "%s: this node holds no such case file or entry (`baton files` lists "
                       "files); nothing changed", doing);
  case BT_EEPOCH:
    return cli_fail(c, "%s: this node holds no key for the file (it only carries it)", doing);
  case BT_EUPN:
    return cli_fail(c, "%s: the UPN's check letter is wrong; nothing changed", doing);
  case BT_EDATE:
    return cli_fail(c, "%s: a date is not valid; nothing changed", doing);
  default:
    return cli_fail(c, "%s: %s; nothing changed", doing, bt_strerror(rc));
  }
}

int cli_date_arg(const cli_ctx *c, const char *what, const char *v, uint32_t *ymd)
{
  char q[CLI_QUOTE_LEN];

  if (crdt_date_parse(v, strlen(v), ymd) != BT_OK)
    return cli_usage(c, "%s %s is not a date: write YYYY-MM-DD, e.g. 2026-09-07", what,
                     cli_quote(v, q));
  return CLI_OK;
}

int cli_time_arg(const cli_ctx *c, const char *what, const char *v, uint64_t *ms)
{
  char q[CLI_QUOTE_LEN];

  if (crdt_date_parse_time(v, strlen(v), ms) != BT_OK)
    return cli_usage(c, "%s %s is not a time: write YYYY-MM-DDTHH:MM (UTC), e.g. "
                        "2026-09-07T14:30", what, cli_quote(v, q));
  return CLI_OK;
}
