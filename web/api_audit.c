/* web/api_audit.c: counts, the governor's view and the audit log (docs/web.md
 * "API"). */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crdt/err.h"
#include "node/transfer.h"
#include "web/api.h"

/* GET /api/counts: numbers only, no names. */
static int counts(const web_call *c, json_t **out)
{
  node_counts n;
  int rc;

  if ((rc = node_transfer_tick(c->s, c->now_ms, NULL)) != BT_OK ||
      (rc = node_counts_as(c->s, c->role, c->now_ms, &n)) != BT_OK)
    return web_api_node_fail(out, rc);
  *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "files", (json_int_t)n.files,
                   "open", (json_int_t)n.open, "concerns", (json_int_t)n.concerns, "conflicts",
                   (json_int_t)n.conflicts, "transfers_out", (json_int_t)n.transfers_out,
                   "transfers_in", (json_int_t)n.transfers_in, "transfers_on_time",
                   (json_int_t)n.transfers_on_time, "transfers_late",
                   (json_int_t)n.transfers_late, "transfers_overdue",
                   (json_int_t)n.transfers_overdue);
  return 200;
}

int web_api_audit(const web_call *c, json_t **out, const char **allow)
{
  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/counts") == 0) {
    if (c->method != WEB_GET)
      return web_api_not_allowed(out, allow, "GET, HEAD");
    return counts(c, out);
  }
  return 0;
}
