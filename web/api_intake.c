/* web/api_intake.c: a concern about a child, from any staff member (docs/web.md "API"). */
#define _POSIX_C_SOURCE 200809L
#include "web/api.h"

int web_api_intake(const web_call *c, json_t **out, const char **allow)
{
  (void)c;
  *out = NULL;
  *allow = NULL;
  return 0; /* no calls yet: issue 7 */
}
