/* cli/status.h: `baton status`: what this node is and holds (docs/cli.md). */
#ifndef BT_CLI_STATUS_H
#define BT_CLI_STATUS_H

#include "cli/args.h"

extern const cli_cmd cli_status_cmd;

#endif
