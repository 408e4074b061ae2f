/* node/counts.c: the counts view (users.h): numbers over every readable
 * case file, nothing that names or describes a child. An extract (a file
 * tagged "extract", node/share.h) is a copy of part of another file, the
 * same child: it is not counted again. */
#include "node/users.h"

#include <errno.h>
#include <stdlib.h>

#include "crdt/date.h"
#include "crdt/err.h"
#include "node/share.h"
#include "node/store_int.h"
#include "node/transfer.h"

static int is_extract(const crdt_casefile *cf)
{
  for (size_t i = 0; i < cf->ntags; i++)
    if (bt_str_eq(cf->tags[i], BT_STR(NODE_EXTRACT_TAG)))
      return 1;
  return 0;
}

static uint32_t month_add(uint32_t yyyymm, int k)
{
  int m = (int)(yyyymm / 100) * 12 + (int)(yyyymm % 100) - 1 + k;

  return (uint32_t)(m / 12 * 100 + m % 12 + 1);
}

static void count_file(const crdt_casefile *cf, const uint8_t *org, uint64_t now,
                       node_counts *out)
{
  const char *const *plans = crdt_fs_words(CRDT_FS_PLAN);
  const crdt_cf_register *plan = &cf->fields[CRDT_FS_PLAN];
  const crdt_cf_register *st = &cf->fields[CRDT_FS_STATUS];
  size_t p = 0;

  out->files++;
  if (st->n && bt_str_eq(st->v[0].value, BT_STR("closed")))
    out->closed++;
  else
    out->open++;
  for (size_t k = 0; plan->n && plans[k] && k + 1 < sizeof out->by_plan / sizeof out->by_plan[0];
       k++)
    if (bt_str_eq(plan->v[0].value, bt_strz(plans[k])))
      p = k + 1;
  out->by_plan[p]++;
  out->conflicts += cf->nconflicts > 0;
  int shared = 0;
  for (size_t g = 0; cf->access && g < cf->access->ngrants && !shared; g++) {
    const crdt_acc_grant *x = &cf->access->grants[g];
    shared = crdt_acc_grant_live(x, now) && memcmp(x->g->org.b, org, CRDT_PK_LEN) != 0;
  }
  out->shared += (size_t)shared;
  for (size_t e = 0; e < cf->nentries; e++) {
    if (cf->entries[e].body->type != CRDT_OP_CONCERN)
      continue;
    out->concerns++;
    uint32_t ym = crdt_date_from_ms(cf->entries[e].event_at) / 100;
    for (size_t m = 0; m < NODE_COUNT_MONTHS; m++)
      if (out->months[m].yyyymm == ym)
        out->months[m].concerns++;
  }
}

/* Transfers from their summaries (node/transfer.h; call
 * node_transfer_tick first for fresh ones): dates and statuses only. */
static int count_transfers(node_store *s, node_role role, uint64_t now_ms, node_counts *out)
{
  uint32_t today = crdt_date_from_ms(now_ms);
  node_xfer_info *xs;
  size_t n;
  int rc = node_transfer_list_as(s, role, &xs, &n);

  if (rc != BT_OK)
    return rc;
  for (size_t i = 0; i < n; i++) {
    const node_xfer_info *x = &xs[i];
    if (x->dir == NODE_XFER_OUT)
      out->transfers_out++;
    else if (x->dir == NODE_XFER_IN)
      out->transfers_in++;
    else
      continue;
    if (x->acked_at)
      crdt_date_from_ms(x->acked_at) <= x->deadline ? out->transfers_on_time++
                                                    : out->transfers_late++;
    out->transfers_overdue += (size_t)node_transfer_overdue(x, today);
  }
  free(xs);
  return BT_OK;
}

int node_counts_as(node_store *s, node_role role, uint64_t now_ms, node_counts *out)
{
  uint8_t *files = NULL;
  size_t n = 0;
  int rc;

  if (!node_may(role, NODE_DO_READ_COUNTS))
    return BT_EDENIED;
  memset(out, 0, sizeof(*out));
  uint32_t now_ym = crdt_date_from_ms(now_ms) / 100;
  for (int m = 0; m < NODE_COUNT_MONTHS; m++)
    out->months[m].yyyymm = month_add(now_ym, m - (NODE_COUNT_MONTHS - 1));
  if ((rc = node__file_ids(s, &files, &n)) != 0)
    return rc;
  for (size_t i = 0; i < n && rc == BT_OK; i++) {
    const crdt_casefile *cf;
    rc = node_casefile(s, files + i * CRDT_FILE_LEN, &cf);
    if (rc == BT_OK && cf->access && cf->access->has_genesis && cf->fields[CRDT_FS_GIVEN].n &&
        !is_extract(cf))
      count_file(cf, s->org_pk.b, now_ms, out);
  }
  free(files);
  if (rc == BT_OK)
    rc = count_transfers(s, role, now_ms, out);
  return rc;
}
