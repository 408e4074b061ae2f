/* crdt/transfer.c: transfers read from a case file (transfer.h). */
#include "crdt/transfer.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/date.h"
#include "crdt/err.h"

static const char *const status_names[CRDT_XS_END] = {
  "unknown", "pending", "delivered", "acknowledged", "rejected", "closed", "withdrawn",
};

const char *crdt_xfer_status_name(uint32_t status)
{
  return status >= 1 && status < CRDT_XS_END ? status_names[status] : status_names[0];
}

const crdt_id *crdt_xfer_author_org(const crdt_casefile *cf, const crdt_cf_entry *e)
{
  const crdt_acc_member *m;

  if (cf->access == NULL)
    return NULL;
  m = crdt_access_member(cf->access, e->op->h.author);
  return m ? &m->org : NULL;
}

static int same(const crdt_id *a, const crdt_id *b)
{
  return a && b && crdt_id_cmp(a, b) == 0;
}

/* The start's grant, if the start counts: a valid transfer grant to the
 * org it names, made by the start's own org (and in its causal past: the
 * casefile flags the start BADREF otherwise); the start not by that org. */
static const crdt_acc_grant *start_grant(const crdt_casefile *cf, const crdt_cf_entry *e,
                                         crdt_id *from)
{
  const crdt_xfer_start *x = &e->body->u.xfer;
  const crdt_id *org = crdt_xfer_author_org(cf, e);

  if (org == NULL || same(org, &x->to_org) ||
      (e->flags & (CRDT_CF_EQUIVOCATED | CRDT_CF_BADREF)))
    return NULL;
  for (size_t k = 0; k < cf->access->ngrants; k++) {
    const crdt_acc_grant *g = &cf->access->grants[k];
    const crdt_acc_member *by;
    if (crdt_id_cmp(&g->op->id, &x->grant) != 0 || g->g->purpose != CRDT_PURPOSE_TRANSFER ||
        crdt_id_cmp(&g->g->org, &x->to_org) != 0)
      continue;
    by = crdt_access_member(cf->access, g->op->h.author);
    if (by == NULL || !same(&by->org, org))
      return NULL;
    *from = *org;
    return g;
  }
  return NULL;
}

static int is_note(uint32_t t)
{
  return t == CRDT_OP_XFER_DELIVERED || t == CRDT_OP_XFER_ACK || t == CRDT_OP_XFER_REJECT ||
         t == CRDT_OP_XFER_CLOSE;
}

/* Files a note under its transfer (x, whose start it names), if it counts. */
static void take_note(const crdt_casefile *cf, crdt_xfer *x, const crdt_cf_entry *e)
{
  const crdt_id *org = crdt_xfer_author_org(cf, e);
  const crdt_cf_entry **slot = NULL;
  uint32_t t = e->body->type;

  if ((e->flags & CRDT_CF_BADREF) == 0) {
    if (t == CRDT_OP_XFER_CLOSE && same(org, &x->from_org))
      slot = &x->close;
    else if (same(org, &x->start->body->u.xfer.to_org))
      slot = t == CRDT_OP_XFER_DELIVERED ? &x->delivered
           : t == CRDT_OP_XFER_ACK       ? &x->ack
           : t == CRDT_OP_XFER_REJECT    ? &x->reject : NULL;
  }
  if (slot == NULL) {
    x->ignored++;
    return;
  }
  if (*slot == NULL)
    *slot = e;
}

int crdt_xfer_refused(const crdt_xfer *x)
{
  return x->reject && !(x->ack && x->ack > x->reject);
}

/* Entries are in display order, so pointer order is display order. */
static void decide(crdt_xfer *x, const crdt_acc_grant *g)
{
  x->disputed = x->ack && x->reject;
  if (x->close)
    x->status = CRDT_XS_CLOSED;
  else if (x->ack && (!x->reject || x->ack > x->reject))
    x->status = CRDT_XS_ACKED;
  else if (x->reject)
    x->status = CRDT_XS_REJECTED;
  else if (!crdt_id_is_zero(&g->revoked_by))
    x->status = CRDT_XS_WITHDRAWN;
  else if (x->delivered)
    x->status = CRDT_XS_DELIVERED;
  else
    x->status = CRDT_XS_PENDING;
}

int crdt_xfer_list(const crdt_casefile *cf, crdt_xfer **out, size_t *n)
{
  const crdt_acc_grant **grants = NULL;
  crdt_xfer *xs = NULL;
  size_t nx = 0, cap = 0;

  *out = NULL;
  *n = 0;
  if (cf->access == NULL)
    return BT_EINVAL;
  for (size_t i = 0; i < cf->nentries; i++) {
    const crdt_cf_entry *e = &cf->entries[i];
    const crdt_acc_grant *g;
    crdt_id from;
    int taken = 0;
    if (e->body->type != CRDT_OP_XFER_START || (g = start_grant(cf, e, &from)) == NULL)
      continue;
    for (size_t k = 0; k < nx && !taken; k++)
      taken = grants[k] == g; /* one start per grant: the first */
    if (taken)
      continue;
    if (nx == cap) {
      size_t nc = cap ? 2 * cap : 4;
      crdt_xfer *gx = realloc(xs, nc * sizeof(*gx));
      const crdt_acc_grant **gg = gx ? realloc(grants, nc * sizeof(*gg)) : NULL;
      if (gx)
        xs = gx;
      if (gg == NULL) {
        free(xs);
        free(grants);
        return BT_ENOMEM;
      }
      grants = gg;
      cap = nc;
    }
    grants[nx] = g;
    xs[nx++] = (crdt_xfer){.start = e, .from_org = from};
  }
  for (size_t i = 0; i < cf->nentries; i++) {
    const crdt_cf_entry *e = &cf->entries[i];
    if (!is_note(e->body->type))
      continue;
    for (size_t k = 0; k < nx; k++)
      if (crdt_id_cmp(&xs[k].start->op->id, &e->body->u.xnote.transfer) == 0) {
        take_note(cf, &xs[k], e);
        break;
      }
  }
  for (size_t k = 0; k < nx; k++)
    decide(&xs[k], grants[k]);
  free(grants);
  *out = xs;
  *n = nx;
  return BT_OK;
}

int crdt_xfer_overdue(const crdt_xfer *x, uint32_t today)
{
  return (x->status == CRDT_XS_PENDING || x->status == CRDT_XS_DELIVERED) &&
         today > x->start->body->u.xfer.deadline;
}

int crdt_xfer_on_time(const crdt_xfer *x)
{
  uint32_t d;

  if (x->ack == NULL || crdt_xfer_refused(x) || x->disputed)
    return 0;
  d = crdt_date_from_ms(x->ack->body->u.xnote.at);
  return d != 0 && d <= x->start->body->u.xfer.deadline;
}
