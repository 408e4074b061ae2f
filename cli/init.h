/* cli/init.h: `baton init NAME`: this machine's store and org (docs/cli.md). */
#ifndef BT_CLI_INIT_H
#define BT_CLI_INIT_H

#include "cli/args.h"

extern const cli_cmd cli_init_cmd;

#endif
