#define _POSIX_C_SOURCE 200809L
/* node/batond.c: batond without a front end (node/daemon.h). The batond
 * users run is built in web/, with the web UI inside. */
#include "node/daemon.h"

int main(int argc, char **argv)
{
  return node_daemon_main(argc, argv, NULL);
}
