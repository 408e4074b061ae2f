/* web/api_entries.c: case-file writes: open a file, entries, the front sheet (docs/web.md "API"). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

int web_api_entries(const web_call *c, json_t **out, const char **allow)
{
  (void)c;
  *out = NULL;
  *allow = NULL;
  return 0; /* no calls yet: issue 7 */
}
