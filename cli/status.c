/* cli/status.c: `baton status`.
 *
 * The data directory, device and org (cli/ident.h), the op counts
 * (node_store_counts) and the case-file counts. node/ has no plain count
 * of files, so the numbers come from node_counts_as with the role that
 * may read counts and nothing else (head): numbers only, never a name,
 * over the files this node can read (extracts are not counted again,
 * files a relay carries but cannot read are not counted). It materialises
 * every readable file: fine for a school, worth a cheap node/ count later.
 * Opens the store read-mostly and writes nothing, so it is safe beside a
 * running batond. */
#define _POSIX_C_SOURCE 200809L
#include "cli/status.h"

#include <stdio.h>
#include <time.h>

#include "cli/ident.h"
#include "cli/out.h"
#include "cli/store.h"
#include "crdt/err.h"
#include "node/users.h"

static uint64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *counts_json(node_store *s, int *rc)
{
  size_t ops = 0, buffered = 0;
  node_counts n = {0};

  if ((*rc = node_store_counts(s, &ops, &buffered)) != BT_OK ||
      (*rc = node_counts_as(s, NODE_ROLE_HEAD, now_ms(), &n)) != BT_OK)
    return NULL;
  return json_pack("{s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}", "ops", "stored",
                   (json_int_t)ops, "buffered", (json_int_t)buffered, "files", "readable",
                   (json_int_t)n.files, "open", (json_int_t)n.open, "closed",
                   (json_int_t)n.closed, "conflicts", (json_int_t)n.conflicts, "shared",
                   (json_int_t)n.shared);
}

static void text(const json_t *doc)
{
  const json_t *ops = json_object_get(doc, "ops"), *files = json_object_get(doc, "files");
  char buf[160];

  cli_out_row("data directory", cli_out_get(doc, "dir"));
  cli_ident_text(doc);
  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " stored, %" JSON_INTEGER_FORMAT
           " waiting for their parents", json_integer_value(json_object_get(ops, "stored")),
           json_integer_value(json_object_get(ops, "buffered")));
  cli_out_row("ops", buf);
  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " readable (%" JSON_INTEGER_FORMAT
           " open, %" JSON_INTEGER_FORMAT " closed), %" JSON_INTEGER_FORMAT
           " with a conflict, %" JSON_INTEGER_FORMAT " shared",
           json_integer_value(json_object_get(files, "readable")),
           json_integer_value(json_object_get(files, "open")),
           json_integer_value(json_object_get(files, "closed")),
           json_integer_value(json_object_get(files, "conflicts")),
           json_integer_value(json_object_get(files, "shared")));
  cli_out_row("case files", buf);
}

static int run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  node_store *s = NULL;
  json_t *device = NULL, *org = NULL, *counts = NULL, *doc = NULL;
  int rc;

  (void)a;
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  if ((rc = cli_ident_json(s, &device, &org)) != BT_OK) {
    node_store_close(s);
    return cli_fail(c, "cannot read this node's org: %s", bt_strerror(rc));
  }
  counts = counts_json(s, &rc);
  node_store_close(s);
  if (rc != BT_OK) {
    json_decref(device);
    json_decref(org);
    return cli_fail(c, "cannot count what the store holds: %s", bt_strerror(rc));
  }
  /* "o" steals each reference, also when packing fails */
  doc = json_pack("{s:s, s:o, s:o}", "dir", where.dir, "device", device, "org",
                  org ? org : json_null());
  if (doc && (counts == NULL || json_object_update_new(doc, counts) != 0)) {
    json_decref(doc);
    doc = NULL;
  } else if (doc == NULL) {
    json_decref(counts);
  }
  return cli_out_emit(c, doc, text);
}

const cli_cmd cli_status_cmd = {
  .name = "status",
  .summary = "show this node: data directory, device, org, what it holds",
  .about = "Shows the data directory, the device and org fingerprints, the org's name and\n"
           "kind and whether its certificate is provisional or certified by an LA, the\n"
           "numbers of ops (stored, and waiting for missing parents) and of case files\n"
           "this node can read. Numbers only: no names. Safe beside a running batond.",
  .run = run,
};
