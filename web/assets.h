/* web/assets.h: the pages, styles and scripts, embedded in the binary at
 * build time from web/assets/ (web/embed.cmake): nothing is fetched at run
 * time, and nothing third-party is committed. */
#ifndef BT_WEB_ASSETS_H
#define BT_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
  const char *path;          /* "/index.html" */
  const char *type;          /* "text/html; charset=utf-8" */
  const unsigned char *data;
  size_t len;
} web_asset;

/* The asset at path, or NULL. */
const web_asset *web_asset_find(const char *path);

#endif
