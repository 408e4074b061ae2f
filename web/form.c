/* web/form.c: form bodies and query strings.
 *
 * One allocation holds every decoded string: decoding never lengthens, so
 * the input's length plus two NULs a piece is enough, and it is wiped when
 * freed because a sign-in form carries a passphrase. */
#include "web/form.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"

/* A decoded name (no control bytes) or value (tab, CR and LF allowed). */
static int text_ok(const char *s, size_t n, int value)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 || c == 0x7f) && !(value && (c == '\t' || c == '\r' || c == '\n')))
      return 0;
  }
  return web__utf8_ok((const unsigned char *)s, n);
}

/* Decodes s[0..n) into mem at *off, checked, with a NUL; its start. */
static int decode(const char *s, size_t n, size_t max, int value, char *mem, size_t *off,
                  const char **out, size_t *outn)
{
  char *d = mem + *off;
  size_t dn;

  if (web__pct_decode(s, n, d, &dn, 1) != 0)
    return BT_EPROTO;
  if (dn > max)
    return BT_ETOOBIG;
  if (!text_ok(d, dn, value))
    return BT_EPROTO;
  d[dn] = '\0';
  *off += dn + 1;
  *out = d;
  *outn = dn;
  return BT_OK;
}

static int pair(web_param *pr, const char *s, size_t n, char *mem, size_t *off,
                const web_form_limits *lim)
{
  const char *eq = memchr(s, '=', n);
  size_t nl = eq ? (size_t)(eq - s) : n, dn;
  int rc;

  if ((rc = decode(s, nl, lim->max_name, 0, mem, off, &pr->name, &dn)) != 0)
    return rc;
  return decode(eq ? eq + 1 : "", eq ? n - nl - 1 : 0, lim->max_value, 1, mem, off,
                &pr->value, &pr->value_len);
}

int web_form_parse(web_form *out, const void *data, size_t len, const web_form_limits *lim)
{
  static const web_form_limits defaults = {WEB_FORM_MAX_PARAMS, WEB_FORM_MAX_NAME,
                                           WEB_FORM_MAX_VALUE};
  const char *s = data;
  web_form f = {0};
  size_t pieces = 1, off = 0, nv;
  int rc = BT_ENOMEM;

  if (lim == NULL)
    lim = &defaults;
  for (size_t i = 0; i < len; i++)
    pieces += s[i] == '&';
  nv = pieces < lim->max_params ? pieces : lim->max_params;
  if (len > SIZE_MAX / 4)
    return BT_ETOOBIG;
  f.mem_len = len + 2 * pieces;
  if ((f.mem = malloc(f.mem_len)) == NULL || (f.v = calloc(nv + 1, sizeof(web_param))) == NULL)
    goto fail;
  for (size_t i = 0; i <= len;) {
    const char *amp = len > i ? memchr(s + i, '&', len - i) : NULL;
    size_t n = amp ? (size_t)(amp - (s + i)) : len - i;
    if (n > 0) {
      rc = BT_ETOOBIG;
      if (f.n == lim->max_params || (rc = pair(&f.v[f.n], s + i, n, f.mem, &off, lim)) != 0)
        goto fail;
      f.n++;
    }
    i += n + 1;
  }
  *out = f;
  return BT_OK;
fail:
  web_form_free(&f);
  return rc;
}

int web_form_query(web_form *out, const web_request *req, const web_form_limits *lim)
{
  return web_form_parse(out, req->query, strlen(req->query), lim);
}

const char *web_form_get(const web_form *f, const char *name)
{
  for (size_t i = 0; i < f->n; i++)
    if (!strcmp(f->v[i].name, name))
      return f->v[i].value;
  return NULL;
}

void web_form_free(web_form *f)
{
  if (f == NULL)
    return;
  if (f->mem)
    sodium_memzero(f->mem, f->mem_len);
  free(f->mem);
  free(f->v);
  memset(f, 0, sizeof(*f));
}
