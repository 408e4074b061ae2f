/* cli/ident.c: the node's device and org for people and scripts
 * (cli/ident.h). Org details come from the installed org certificate,
 * decoded and signature-checked by crdt/cert.h; kind names are the
 * certificate schema's own, so they match every other front end. */
#include "cli/ident.h"

#include <stdio.h>
#include <string.h>

#include "cli/out.h"
#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/org.h"

const char *cli_ident_kind_name(uint32_t kind)
{
  const crdt_field *f = crdt_schema_field(crdt_cert_schema(), "org_kind");

  return f && kind >= 1 && kind <= f->max ? f->names[kind] : NULL;
}

int cli_ident_kind_parse(const char *name, uint32_t *kind)
{
  const crdt_field *f = crdt_schema_field(crdt_cert_schema(), "org_kind");

  for (uint32_t k = 1; f && k <= f->max; k++)
    if (strcmp(f->names[k], name) == 0) {
      *kind = k;
      return BT_OK;
    }
  return BT_EINVAL;
}

static json_t *org_json(const node_org *o, const crdt_cert *c)
{
  char from[32], until[32];
  const char *kind = cli_ident_kind_name(c->b.org_kind);
  json_t *j;

  cli_out_time(c->b.not_before, from, sizeof from);
  cli_out_time(c->b.not_after, until, sizeof until);
  j = json_pack("{s:o, s:s?, s:o, s:s, s:s, s:s}", "name", cli_out_str(c->b.name), "kind",
                kind, "fingerprint", cli_out_fpr(o->sign_pk.b), "certificate",
                o->provisional ? "provisional" : "certified", "valid_from", from,
                "valid_until", until);
  if (j == NULL)
    return NULL;
  if ((c->b.urn.len && json_object_set_new(j, "urn", cli_out_str(c->b.urn)) != 0) ||
      (c->b.laestab.len && json_object_set_new(j, "laestab", cli_out_str(c->b.laestab)) != 0) ||
      (!o->provisional && json_object_set_new(j, "issuer", cli_out_fpr(c->b.issuer.b)) != 0)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

int cli_ident_json(node_store *s, json_t **device, json_t **org)
{
  uint8_t pk[CRDT_PK_LEN];
  crdt_cert *c = NULL;
  node_org o;
  int rc;

  *device = *org = NULL;
  node_store_device(s, pk);
  if ((*device = json_pack("{s:o}", "fingerprint", cli_out_fpr(pk))) == NULL)
    return BT_ENOMEM;
  if ((rc = node_org_get(s, &o)) == BT_ENOTFOUND)
    return BT_OK;
  if (rc != BT_OK)
    goto fail;
  if ((rc = crdt_cert_decode(o.org_cert, o.org_cert_len, &c)) == BT_OK &&
      (*org = org_json(&o, c)) == NULL)
    rc = BT_ENOMEM;
  crdt_cert_free(c);
  node_org_clear(&o);
  if (rc == BT_OK)
    return BT_OK;
fail:
  json_decref(*device);
  *device = NULL;
  return rc;
}

static const char *or_dash(const char *v)
{
  return v ? v : "-";
}

void cli_ident_text(const json_t *doc)
{
  const json_t *org = json_object_get(doc, "org");
  char buf[256];

  cli_out_row("device fingerprint", cli_out_get(json_object_get(doc, "device"), "fingerprint"));
  if (!json_is_object(org)) {
    cli_out_row("org", "none yet: run `baton init NAME`");
    return;
  }
  snprintf(buf, sizeof buf, "%s (%s)", or_dash(cli_out_get(org, "name")),
           or_dash(cli_out_get(org, "kind")));
  cli_out_row("org", buf);
  if (cli_out_get(org, "urn"))
    cli_out_row("URN", cli_out_get(org, "urn"));
  if (cli_out_get(org, "laestab"))
    cli_out_row("LAESTAB", cli_out_get(org, "laestab"));
  cli_out_row("org fingerprint", cli_out_get(org, "fingerprint"));
  if (cli_out_get(org, "issuer")) {
    snprintf(buf, sizeof buf, "certified by the LA %s, until %s", cli_out_get(org, "issuer"),
             or_dash(cli_out_get(org, "valid_until")));
    cli_out_row("certificate", buf);
  } else {
    cli_out_row("certificate", "provisional (self-signed): peers refuse this node until its "
                               "LA certifies the org");
  }
}
