/* cli/package.h: `baton package export|import`: a case file as one
 * encrypted, signed file, for a school without a running node
 * (docs/package.md, docs/cli.md). */
#ifndef BT_CLI_PACKAGE_H
#define BT_CLI_PACKAGE_H

#include "cli/args.h"

extern const cli_cmd cli_package_export_cmd, cli_package_import_cmd;

#endif
