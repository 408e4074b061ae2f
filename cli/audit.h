/* cli/audit.h: `baton audit [--verify] [--file FILE_ID] [--limit N]`: the
 * node's audit log, listed or checked (docs/audit.md, docs/cli.md). */
#ifndef BT_CLI_AUDIT_H
#define BT_CLI_AUDIT_H

#include "cli/args.h"

extern const cli_cmd cli_audit_cmd;

#endif
