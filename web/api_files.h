/* web/api_files.h: the case-file calls of the web API (docs/web.md "API"):
 *
 *   GET  /api/files               the files held here, front-sheet summaries
 *   GET  /api/files/ID            one case file as the role may see it
 *   POST /api/files/ID/concerns   log a concern (Part 1)
 *
 * ID is the file's id, 32 hex digits; anything else, or a file this node
 * does not hold, is 404. Every role decision is node/'s (node_files_as,
 * node_casefile_as, node_author_as); a refusal is 403. web/app.c has
 * already checked the session, and for a POST the same origin and the
 * CSRF token, before calling here. Error replies name fields, never the
 * values sent. */
#ifndef BT_WEB_API_FILES_H
#define BT_WEB_API_FILES_H

#include <jansson.h>
#include <stdint.h>

#include "node/store.h"
#include "node/users.h"
#include "web/http.h"

#define WEB_CONCERN_BODY_MAX (256 * 1024) /* bytes of a concern's JSON: 413 above */

/* 0 when req's path is none of the calls above (the caller answers 404);
 * else the HTTP status, with *out the JSON reply (an error is {"error":
 * ...}; NULL on out of memory) and, for 405, *allow the methods allowed. */
int web_api_files(node_store *s, const char *user, node_role role, uint64_t now_ms,
                  const web_request *req, json_t **out, const char **allow);

#endif
