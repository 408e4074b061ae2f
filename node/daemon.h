/* node/daemon.h: batond's whole life (docs/batond.md) as a function, so a
 * layer above node/ can run inside the daemon without node/ knowing it: the
 * web UI (web/) passes itself as the extension, and the batond binary is a
 * one-line main around node_daemon_main.
 *
 * The extension gets one setting of its own (option --KEY VALUE and config
 * key KEY), the event loop and the open store once the node's network and
 * sync are up, and a stop call when the daemon stops (SIGTERM, SIGINT): it
 * must then close its handles so the loop can end. */
#ifndef BT_NODE_DAEMON_H
#define BT_NODE_DAEMON_H

#include <uv.h>

#include "node/store.h"

typedef struct node_daemon_ext {
  const char *key;   /* its setting: "web" gives --web VALUE and `web = VALUE` */
  const char *usage; /* lines added to --help */
  /* The setting's value (config file, then command line): BT_OK, or an
   * error with *why saying what is wrong (exit 2). */
  int (*set)(void *ctx, const char *value, const char **why);
  /* Once the store is open and sync runs; an error stops the daemon (exit 1). */
  int (*start)(void *ctx, uv_loop_t *loop, node_store *s);
  void (*stop)(void *ctx); /* may be NULL */
  void (*free)(void *ctx); /* after the loop has ended; may be NULL */
  void *ctx;
} node_daemon_ext;

/* Runs batond with argv and the extension (NULL: none). Returns the exit
 * status: 0, 1 (could not start or run), 2 (usage or config error). */
int node_daemon_main(int argc, char **argv, const node_daemon_ext *ext);

#endif
