/* node/pkgrcpt.c: closing a package's loop (docs/package.md "Receipts").
 *
 * After an org-mode import this node writes a chronology entry saying it
 * received the file (its first op in the file also binds this device to
 * the file: the member op), and answers with an org-mode package of the
 * ops this org wrote in the file, sealed to the sender's org, which the
 * sender imports like any package. When that cannot be (passphrase mode,
 * or this org may not write the file), the answer is a receipt document
 * signed by this device. Importing a receipt document records it in the
 * file as a chronology entry (category transfer): what it says, and
 * whether its signer chains to our anchors. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/pkg_int.h"
#include "node/transfer.h"
#include "store_int.h"

static int note(node_store *s, const char *user, node_role role, const uint8_t *file,
                const char *text, crdt_id *id)
{
  crdt_body b = {.type = CRDT_OP_CHRONO, .known = 1};

  b.u.chrono = (crdt_chrono){.event_at = node__now_ms(s), .category = CRDT_CHR_TRANSFER,
                             .summary = bt_strz(text)};
  return node_author_as(s, user, role, file, &b, id);
}

/* The signed receipt document for the package r describes. */
static int receipt_doc(node_store *s, const char *user, node_pkg_result *r)
{
  proto_pkg_receipt d = {.nops = r->nops, .received_at = node__now_ms(s)};
  proto_pkg h = {.kind = PROTO_PKG_RECEIPT, .signer = s->device_pk};
  node_org org = {0};
  size_t hl, bl, total;
  uint8_t *p;
  int rc;

  memcpy(d.package, r->hash, 32);
  memcpy(d.file, r->file, CRDT_FILE_LEN);
  memcpy(d.device, s->device_pk, CRDT_PK_LEN);
  d.user = bt_strz(user && user[0] ? user : "unknown");
  if (d.user.len > PROTO_PKG_USER_MAX)
    return BT_EINVAL;
  if (node_org_get(s, &org) == BT_OK) { /* a node without an org signs with its device alone */
    h.device_cert = (bt_bytes){org.device_cert, org.device_cert_len};
    h.org_cert = (bt_bytes){org.org_cert, org.org_cert_len};
  }
  hl = proto_pkg_head_len(&h);
  bl = proto_pkg_receipt_len(&d);
  total = hl + bl + PROTO_PKG_SIG_LEN;
  if ((p = malloc(total)) == NULL) {
    node_org_clear(&org);
    return BT_ENOMEM;
  }
  proto_pkg_head_write(&h, bl, p);
  proto_pkg_receipt_write(&d, p + hl);
  node_org_clear(&org);
  if ((rc = node__pkg_sign(s, p, hl + bl)) != 0) {
    free(p);
    return rc;
  }
  r->receipt = p;
  r->receipt_len = total;
  r->receipt_kind = PROTO_PKG_RECEIPT;
  return BT_OK;
}

int node__pkg_answer(node_store *s, const char *user, node_role role, const proto_pkg *h,
                     node_pkg_result *r)
{
  node_pkg_opts o = {.to_org = &r->sender_org, .own_ops_only = 1};
  char text[512];
  int rc;

  if (h->kind != PROTO_PKG_ORG)
    return receipt_doc(s, user, r);
  {
    snprintf(text, sizeof(text), "Received by package from %s: %zu ops.", r->sender_name,
             r->nops);
    if (note(s, user, role, r->file, text, NULL) != BT_OK)
      return receipt_doc(s, user, r); /* read-only here: the document says it */
  }
  /* The transfer's delivery note (node/transfer.h) goes in the receipt too,
   * so the sender's status moves to delivered when it imports it. */
  if ((rc = node_transfer_tick(s, node__now_ms(s), NULL)) != BT_OK)
    return rc;
  rc = node_package_export(s, user, role, r->file, &o, &r->receipt, &r->receipt_len);
  if (rc == BT_OK) {
    r->receipt_kind = PROTO_PKG_ORG;
    return BT_OK;
  }
  return receipt_doc(s, user, r);
}

int node__pkg_record(node_store *s, const char *user, node_role role, const proto_pkg *h,
                     node_pkg_result *r)
{
  char text[512], when[21], dev[CRDT_FPR_LEN], hex[17], who[CRDT_STR_MAX + 64];
  const crdt_casefile *cf;
  proto_pkg_receipt d;
  int rc;

  if ((rc = proto_pkg_receipt_parse(h->body.p, h->body.len, &d)) != 0)
    return rc;
  if (memcmp(d.device, h->signer, CRDT_PK_LEN) != 0)
    return BT_EPROTO;
  if ((rc = node__pkg_sender(s, h, 0, r)) != 0)
    return rc;
  memcpy(r->file, d.file, CRDT_FILE_LEN);
  r->nops = (size_t)d.nops;
  if ((rc = node_file_epoch(s, d.file, (uint8_t[CRDT_EPOCH_LEN]){0})) != 0)
    return rc;
  crdt_fingerprint(d.device, CRDT_PK_LEN, dev);
  sodium_bin2hex(hex, sizeof(hex), d.package, 8);
  if (crdt_date_from_ms(d.received_at) != 0)
    crdt_date_format_time(d.received_at, when);
  else
    snprintf(when, sizeof(when), "an invalid time");
  if (h->org_cert.len == 0)
    snprintf(who, sizeof(who), "no org certificate");
  else
    snprintf(who, sizeof(who), "%s, %s", r->sender_name,
             r->certified ? "certified by a trusted LA" : "NOT certified by a trusted LA");
  snprintf(text, sizeof(text),
           "Package receipt: %" PRIu64 " ops received by %.*s (%s) at %s; package %s; "
           "device %s.", d.nops, (int)d.user.len, d.user.p, who, when, hex, dev);
  if ((rc = node_casefile(s, d.file, &cf)) != 0)
    return rc;
  for (size_t i = 0; i < cf->nentries; i++)
    if (cf->entries[i].body->type == CRDT_OP_CHRONO &&
        bt_str_eq(cf->entries[i].body->u.chrono.summary, bt_strz(text)))
      return BT_EDUP;
  if ((rc = note(s, user, role, d.file, text, &r->recorded)) != 0)
    return rc;
  snprintf(text, sizeof(text), "receipt from device %s", dev);
  return node_audit_add(s, user, NODE_AUDIT_PACKAGE_IMPORT, d.file, text);
}
