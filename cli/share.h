/* cli/share.h: `baton share grant|extract|revoke|decide`: sharing a case
 * file with another org, and recording decisions (node/share.h). */
#ifndef BT_CLI_SHARE_H
#define BT_CLI_SHARE_H

#include "cli/args.h"

extern const cli_cmd cli_share_grant_cmd, cli_share_extract_cmd, cli_share_revoke_cmd,
  cli_share_decide_cmd;

#endif
