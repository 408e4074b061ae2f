/* crdt/transfer.h: the state of a case file's transfers, read from its
 * entries (DESIGN.md, "Transfers and the five-day window").
 *
 * A transfer is a TRANSFER_START entry and the notes that name it:
 *   start      by the sending org; names the receiving org, the transfer
 *              grant that boxed the file's keys to it, and the deadline the
 *              sender's calendar computed (recorded, so every node shows the
 *              same date).
 *   delivered  by the receiving org's node, when it holds the file up to
 *              the start and can read all of it.
 *   ack        by the receiving org's DSL: receipt confirmed.
 *   reject     by the receiving org: misdirected, with a reason.
 *   close      by the sending org: its copy archived under a retention
 *              setting.
 * What counts depends only on the file's ops, so every node shows the
 * same state:
 * - a start counts if its grant is one of the file's valid transfer grants
 *   to the org it names, made by the start's own org and in the start's
 *   causal past, and its author is not of the receiving org; of several
 *   starts naming one grant, only the first in display order counts;
 * - a note counts if the start is in its causal past (casefile.h link
 *   rules) and its author's org is the right one: the receiver for
 *   delivered, ack and reject; the start's own org for close. Others are
 *   listed in `ignored` and otherwise have no effect;
 * - of each kind, the first counting note in display order is the one
 *   shown. When both an ack and a reject count, the later in display order
 *   decides the status, and `disputed` is set so a person looks;
 * - a transfer whose grant has been revoked with no answer and no close is
 *   withdrawn (the sender called it back); never overdue.
 * Pure: no clock; "today" is a parameter. */
#ifndef BT_CRDT_TRANSFER_H
#define BT_CRDT_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "casefile.h"

typedef enum {
  CRDT_XS_PENDING = 1,  /* started; the receiver does not hold it yet */
  CRDT_XS_DELIVERED,    /* the receiving node holds and reads it */
  CRDT_XS_ACKED,        /* the receiving DSL confirmed receipt */
  CRDT_XS_REJECTED,     /* the receiver refused it */
  CRDT_XS_CLOSED,       /* the sender archived its copy */
  CRDT_XS_WITHDRAWN,    /* the sender revoked its grant before any answer */
  CRDT_XS_END
} crdt_xfer_status;

typedef struct {
  const crdt_cf_entry *start;
  const crdt_cf_entry *delivered, *ack, *reject, *close; /* NULL: none */
  crdt_id from_org;      /* the start's author's org */
  uint32_t status;       /* crdt_xfer_status */
  int disputed;          /* both an ack and a reject count */
  size_t ignored;        /* notes naming it that do not count */
} crdt_xfer;

/* "pending", ...; "unknown" out of range. */
const char *crdt_xfer_status_name(uint32_t status);

/* The transfers of cf, in display order of their starts. cf must be an
 * access build (cf->access set), else BT_EINVAL. Free *out with free().
 * Entries are borrowed from cf. BT_ENOMEM. */
int crdt_xfer_list(const crdt_casefile *cf, crdt_xfer **out, size_t *n);

/* 1 if x still waits for the receiver's confirmation (pending or
 * delivered) and today (yyyymmdd) is after its deadline, else 0. */
int crdt_xfer_overdue(const crdt_xfer *x, uint32_t today);

/* 1 if the receipt was confirmed on or before the deadline (UTC date of
 * the ack) and not later refused, 0 otherwise. */
int crdt_xfer_on_time(const crdt_xfer *x);

/* 1 when the receiver's last word is a rejection (a reject, and no ack
 * after it): the sender's node then withdraws its grant. */
int crdt_xfer_refused(const crdt_xfer *x);

/* The org of the device that wrote e, from cf->access; NULL if unknown. */
const crdt_id *crdt_xfer_author_org(const crdt_casefile *cf, const crdt_cf_entry *e);

#endif
