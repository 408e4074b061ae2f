/* web/api_xfer.c: the transfer calls of the web API (docs/web.md "API"). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "crdt/transfer.h"
#include "node/transfer.h"
#include "web/api.h"

/* GET /api/transfers: in and out, with status, deadline and days left. */
static int list(const web_call *c, json_t **out)
{
  static const char *const dirs[] = {"", "out", "in", "other"};
  uint32_t today = crdt_date_from_ms(c->now_ms);
  node_xfer_info *xs = NULL;
  size_t n = 0;
  json_t *arr;
  int rc;

  if ((rc = node_transfer_tick(c->s, c->now_ms, NULL)) != BT_OK ||
      (rc = node_transfer_list_as(c->s, c->role, &xs, &n)) != BT_OK)
    return web_api_node_fail(out, rc);
  arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    const node_xfer_info *x = &xs[i];
    char file[2 * CRDT_FILE_LEN + 1], id[2 * CRDT_ID_LEN + 1];
    int32_t left = 0;
    int have = node_transfer_days_left(c->s, x, today, &left) == BT_OK;
    int overdue = node_transfer_overdue(x, today);
    web_api_hexstr(x->file, CRDT_FILE_LEN, file);
    web_api_hexstr(x->start.b, CRDT_ID_LEN, id);
    json_array_append_new(
      arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:s, s:o}", "transfer", id, "file",
                     file, "direction", dirs[x->dir], "status",
                     overdue ? "overdue" : crdt_xfer_status_name(x->status), "overdue",
                     overdue, "deadline", web_api_datejson(x->deadline), "days_left",
                     have ? json_integer(left) : json_null(), "org", x->to_name,
                     "acknowledged_by",
                     x->acked_by[0] ? json_string(x->acked_by) : json_null()));
  }
  free(xs);
  *out = json_pack("{s:o}", "transfers", arr);
  return 200;
}

int web_api_xfer(const web_call *c, json_t **out, const char **allow)
{
  *out = NULL;
  *allow = NULL;
  if (strcmp(c->req->path, "/api/transfers") == 0) {
    if (c->method != WEB_GET)
      return web_api_not_allowed(out, allow, "GET, HEAD");
    return list(c, out);
  }
  return 0;
}
