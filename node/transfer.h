/* node/transfer.h: moving a child's file to the new school within the
 * five-day window (DESIGN.md "Transfers and the five-day window";
 * domain.md "Moving a CP file"; docs/transfer.md).
 *
 * A transfer lives in the child's file as ops every node judges the same
 * way (crdt/transfer.h): the sender's start (with a transfer grant that
 * boxes the file's keys to the receiving org, in the same transaction),
 * the receiving node's delivery note, the receiving DSL's ack or reject,
 * and the sender's close with its retention choice.
 *
 * This node keeps a summary of every transfer it can read (DB_TRANSFERS),
 * refreshed by node_transfer_tick for files whose op count changed since
 * the last tick, so `baton transfers` and cron checks read no case file.
 * A summary holds dates, org names and fingerprints, the DSLs' user names
 * and the file id: nothing about the child.
 *
 * The tick is also where the node acts by itself:
 * - as receiver, it writes the delivery note once it holds the file up to
 *   the start and can read every op of it (none unreadable);
 * - as sender, it revokes the transfer grant of a rejected transfer, so a
 *   misdirected file stops flowing at the next sync (what the receiver
 *   already holds stays with it: the honest limit of revocation).
 * batond ticks after every sync run; the CLI ticks before it lists.
 *
 * Deadlines: computed at the start from this node's calendar
 * (node/calendar.h) and recorded in the start op, so both ends show the
 * same date. "Overdue" means not acknowledged (nor rejected, nor closed)
 * by the end of the deadline day. */
#ifndef BT_NODE_TRANSFER_H
#define BT_NODE_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/body.h"
#include "crdt/cert.h"
#include "crdt/transfer.h"
#include "node/store.h"
#include "node/users.h"

typedef struct {
  const uint8_t *org_cert;  /* the receiving org's certificate (directory) */
  size_t org_cert_len;
  uint32_t on_roll;         /* yyyymmdd; 0 when not known (via_la) */
  uint32_t leaving;         /* yyyymmdd; 0 when not recorded */
  int via_la;               /* the new school is unknown: org is the LA */
  uint32_t today;           /* yyyymmdd: the deadline's anchor when on_roll
                               is 0 (the day the LA is sent it) */
  const char *note;         /* what was sent, for the receiver; may be NULL */
} node_transfer_req;

/* Starts a transfer: a transfer grant to the org (rights write, whole
 * history, lawful basis public task under KCSiE) and the start op, in one
 * transaction, with the deadline from this node's calendar and rule. The
 * user must be allowed NODE_DO_TRANSFER (and NODE_DO_SHARE, as it grants).
 * Errors: BT_EDENIED (role; this org does not hold the file), BT_EINVAL
 * (no on-roll date without via_la; leaving after on-roll; dates invalid),
 * BT_EDUP (the org already has access: revoke that grant first, or the
 * file is already on its way there), calendar errors (BT_EHOLIDAYS,
 * BT_ETERMS: import holidays or set terms first), certificate errors of
 * node_grant_as. *start is the start op, *deadline its date. */
int node_transfer_start_as(node_store *s, const char *user, node_role role,
                           const uint8_t file[CRDT_FILE_LEN], const node_transfer_req *r,
                           crdt_id *start, uint32_t *deadline);

/* What node_transfer_start_as would record, without writing anything: the
 * same checks in the same order (role, dates, the org's certificate, an LA
 * with via_la, the deadline from this node's calendar, this org managing
 * the file, the org not having access already) with the same errors, and
 * the deadline it would compute now. */
typedef struct {
  uint32_t deadline;            /* yyyymmdd */
  uint32_t days;                /* crdt_calendar_days: working or school days */
  uint32_t count;               /* how many of them */
  uint32_t kind;                /* the receiving org's crdt_org_kind */
  char org[CRDT_STR_MAX + 1];   /* its name, from its certificate */
  char fingerprint[CRDT_FPR_LEN]; /* of its signing key */
} node_xfer_preview;

int node_transfer_preview_as(node_store *s, node_role role, const uint8_t file[CRDT_FILE_LEN],
                             const node_transfer_req *r, node_xfer_preview *out);

/* The receiving DSL confirms receipt; stored says where the file is now
 * kept (may be NULL). Writes the delivery note first if the node has not.
 * Errors: BT_EDENIED (role, or this org is not the receiver),
 * BT_ENOTFOUND (no such transfer in file), BT_ESTATE (closed, or already
 * acknowledged or rejected: one answer per transfer). */
int node_transfer_ack_as(node_store *s, const char *user, node_role role,
                         const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                         const char *stored, const char *note);

/* The receiver refuses a misdirected transfer, with a reason (required:
 * BT_EMISSING). Errors as ack. */
int node_transfer_reject_as(node_store *s, const char *user, node_role role,
                            const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                            const char *reason);

/* The sender archives its copy once the transfer is acknowledged or
 * rejected: retain is a crdt_retain; keep_until (yyyymmdd) is required
 * with CRDT_RETAIN_CHRONO. Errors: BT_EDENIED (role, or not the sender),
 * BT_ENOTFOUND, BT_ESTATE (still pending or delivered: chase it first; or
 * closed already), BT_EMISSING / BT_EINVAL (retention fields). */
int node_transfer_close_as(node_store *s, const char *user, node_role role,
                           const uint8_t file[CRDT_FILE_LEN], const crdt_id *start,
                           uint32_t retain, uint32_t keep_until, const char *note);

/* What this node's retention choices leave visible of a file it sent:
 * 0 everything, else a crdt_retain in force at today (CHRONO turns into
 * LOG after keep_until). node_casefile_as applies it for every role. */
int node_transfer_retention(node_store *s, const uint8_t file[CRDT_FILE_LEN], uint32_t today,
                            uint32_t *retain);

/* 1 if an entry of this op type is kept under retain (0 keeps all). */
int node_transfer_keeps(uint32_t retain, uint32_t type);

/* Refreshes summaries of files changed since the last tick and acts as
 * described above, as of now_ms. *acted (may be NULL) counts the notes and
 * revokes written. */
int node_transfer_tick(node_store *s, uint64_t now_ms, size_t *acted);

typedef enum { NODE_XFER_OUT = 1, NODE_XFER_IN, NODE_XFER_OTHER } node_xfer_dir;

#define NODE_XFER_TEXT 257

/* One transfer as this node last saw it. */
typedef struct {
  uint8_t file[CRDT_FILE_LEN];
  crdt_id start;
  uint32_t dir;                 /* node_xfer_dir */
  uint32_t status;              /* crdt_xfer_status */
  int disputed;
  uint32_t on_roll, leaving, deadline, days, count;
  int via_la;
  crdt_id from_org, to_org;
  char to_name[NODE_XFER_TEXT];
  char started_by[NODE_XFER_TEXT];
  uint64_t started_at, delivered_at, acked_at, rejected_at, closed_at; /* 0: not yet */
  char acked_by[NODE_XFER_TEXT];
  char stored[NODE_XFER_TEXT];  /* where the receiver keeps it */
  uint32_t retain;              /* crdt_retain at close */
  uint32_t keep_until;
} node_xfer_info;

/* Every transfer summary, files ascending then starts; malloc'd array in
 * *out (free()). Reads no case file: call node_transfer_tick first for
 * fresh ones. Needs NODE_DO_TRANSFER or NODE_DO_READ_COUNTS (heads and
 * governors see dates and statuses too; no child is named, and for them
 * started_by, acked_by and stored are empty: who handled a file and where
 * it is kept are not theirs to know): BT_EDENIED. */
int node_transfer_list_as(node_store *s, node_role role, node_xfer_info **out, size_t *n);

/* Whole working (or school) days left to x's deadline at today, as
 * crdt_calendar_days_left: 0 on the day, negative once overdue. */
int node_transfer_days_left(node_store *s, const node_xfer_info *x, uint32_t today,
                            int32_t *left);

/* 1 when x waits for the receiver's confirmation past its deadline. */
int node_transfer_overdue(const node_xfer_info *x, uint32_t today);

#endif
