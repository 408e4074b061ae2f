/* cli/orgref.c: orgs by name, number or fingerprint (cli/orgref.h). */
#include "cli/orgref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/directory.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"

#define ANCHORS_MAX 16
#define MATCHES_MAX 8

/* Letters and digits of s, upper-cased, into out (fingerprint form). */
static void squash(const char *s, char *out, size_t len)
{
  size_t o = 0;

  for (; *s && o + 1 < len; s++)
    if (isalnum((unsigned char)*s))
      out[o++] = (char)toupper((unsigned char)*s);
  out[o] = 0;
}

static int str_eq(bt_str a, const char *b)
{
  return a.len == strlen(b) && memcmp(a.p, b, a.len) == 0;
}

static int name_eq(bt_str a, const char *b)
{
  if (a.len != strlen(b))
    return 0;
  for (size_t i = 0; i < a.len; i++)
    if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)b[i]))
      return 0;
  return 1;
}

static int matches(const crdt_dir_entry *e, const char *ref)
{
  char want[CRDT_FPR_LEN + 8], fpr[CRDT_FPR_LEN];

  if (ref == NULL)
    return e->cert->b.org_kind == CRDT_ORG_LA;
  if (name_eq(e->cert->b.name, ref) || str_eq(e->cert->b.urn, ref) ||
      str_eq(e->cert->b.laestab, ref))
    return 1;
  squash(ref, want, sizeof want);
  squash(e->fingerprint, fpr, sizeof fpr);
  return strlen(want) >= 8 && strncmp(fpr, want, strlen(want)) == 0 && strlen(ref) < 64;
}

static void take(const crdt_dir_entry *e, cli_org *o)
{
  size_t n = e->cert->b.name.len < sizeof o->name - 1 ? e->cert->b.name.len
                                                       : sizeof o->name - 1;

  memcpy(o->name, e->cert->b.name.p, n);
  o->name[n] = 0;
  memcpy(o->fingerprint, e->fingerprint, CRDT_FPR_LEN);
  o->kind = e->cert->b.org_kind;
}

int cli_org_find(const cli_ctx *c, node_store *s, const char *ref, uint64_t now_ms,
                 cli_org *out)
{
  crdt_id anchors[ANCHORS_MAX];
  cli_org found[MATCHES_MAX];
  char q[CLI_QUOTE_LEN];
  size_t na = 0, nfound = 0, stale = 0;
  int rc;

  memset(out, 0, sizeof(*out));
  if ((rc = node_anchors(s, anchors, ANCHORS_MAX, &na)) != BT_OK)
    return cli_fail(c, "cannot read the trust anchors: %s", bt_strerror(rc));
  if (na > ANCHORS_MAX)
    na = ANCHORS_MAX;
  for (size_t a = 0; a < na; a++) {
    crdt_directory *dir = NULL;
    if (node_dir_get(s, &anchors[a], now_ms, &dir) != BT_OK)
      continue; /* a directory not held (yet): nothing to find in it */
    for (size_t i = 0; i < dir->nentries; i++) {
      const crdt_dir_entry *e = &dir->entries[i];
      if (!matches(e, ref))
        continue;
      if (e->revoked || e->when != CRDT_DIR_CURRENT) {
        stale++;
        continue;
      }
      if (nfound < MATCHES_MAX) {
        cli_org *o = &found[nfound];
        memset(o, 0, sizeof(*o));
        take(e, o);
        if ((o->cert = malloc(e->cert->enc_len)) != NULL) {
          memcpy(o->cert, e->cert->enc, e->cert->enc_len);
          o->cert_len = e->cert->enc_len;
        }
      }
      nfound++;
    }
    crdt_directory_free(dir);
  }
  rc = CLI_OK;
  if (nfound == 0 && na == 0)
    rc = cli_fail(c, "this node trusts no LA yet, so it knows no orgs: `baton anchor add` "
                     "first");
  else if (nfound == 0 && stale)
    rc = cli_fail(c, "%s is in the LA directory, but its certificate is revoked or out of "
                     "date: ask the LA", ref ? cli_quote(ref, q) : "the LA");
  else if (nfound == 0)
    rc = cli_fail(c, "no org %s in the LA directory (`baton directory` lists them; sync with "
                     "the LA if it is new)", ref ? cli_quote(ref, q) : "of kind LA");
  else if (nfound > 1) {
    cli_say(c, "%s matches %zu orgs; name one by its fingerprint:",
            ref ? cli_quote(ref, q) : "the LA", nfound);
    for (size_t i = 0; i < nfound && i < MATCHES_MAX; i++)
      cli_say(c, "  %s  %s", found[i].fingerprint, cli_quote(found[i].name, q));
    rc = CLI_ERROR;
  } else if (found[0].cert == NULL)
    rc = cli_fail(c, "out of memory");
  if (rc == CLI_OK) {
    *out = found[0];
    found[0].cert = NULL;
  }
  for (size_t i = 0; i < nfound && i < MATCHES_MAX; i++)
    free(found[i].cert);
  return rc;
}

void cli_org_free(cli_org *o)
{
  free(o->cert);
  memset(o, 0, sizeof(*o));
}
