/* web/api_share.c: grants, extracts, decisions not to share, revokes (docs/web.md "API"). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

int web_api_share(const web_call *c, json_t **out, const char **allow)
{
  (void)c;
  *out = NULL;
  *allow = NULL;
  return 0; /* no calls yet: issue 7 */
}
