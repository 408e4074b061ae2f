/* web/form.h: application/x-www-form-urlencoded bytes (a form body or a
 * query string) as name/value pairs.
 *
 * Split on '&', then on the first '='; '+' is a space and %XX is decoded
 * once. Empty pieces ("a=1&&b=2") are skipped; "a" alone is a with value "".
 * Every count and size is bounded, and what comes out is UTF-8 with no
 * control bytes (values may keep tab, CR and LF: a textarea's line breaks),
 * so a handler can hand it on to node/ without checking bytes again. Pure;
 * one thread per web_form. */
#ifndef BT_WEB_FORM_H
#define BT_WEB_FORM_H

#include <stddef.h>

#include "web/http.h"

typedef struct {
  size_t max_params; /* pairs: 128 */
  size_t max_name;   /* decoded name, bytes: 128 */
  size_t max_value;  /* decoded value, bytes: 64 KiB */
} web_form_limits;

#define WEB_FORM_MAX_PARAMS 128
#define WEB_FORM_MAX_NAME   128
#define WEB_FORM_MAX_VALUE  65536

typedef struct {
  const char *name;  /* NUL-terminated */
  const char *value; /* NUL-terminated */
  size_t value_len;
} web_param;

typedef struct {
  web_param *v;  /* in the order sent; names may repeat (checkboxes) */
  size_t n;
  char *mem;     /* owns the strings */
  size_t mem_len;
} web_form;

/* Parses s[0..len) into *out (lim NULL: the defaults). 0, or, with nothing
 * to free: BT_EPROTO (a '%' not followed by two hex digits, %00 or another
 * forbidden control byte, not UTF-8), BT_ETOOBIG (more than max_params
 * pairs, a name or value too long), BT_ENOMEM. */
int web_form_parse(web_form *out, const void *s, size_t len, const web_form_limits *lim);

/* web_form_parse over req->query. */
int web_form_query(web_form *out, const web_request *req, const web_form_limits *lim);

/* The first value of name, or NULL; borrowed from f. */
const char *web_form_get(const web_form *f, const char *name);

/* Wipes (a sign-in form holds a passphrase) and frees what web_form_parse
 * made, and zeroes *f. NULL, or a zeroed web_form, is a no-op. */
void web_form_free(web_form *f);

#endif
