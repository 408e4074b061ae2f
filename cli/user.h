/* cli/user.h: `baton user add|list|passwd`: the node's staff users. */
#ifndef BT_CLI_USER_H
#define BT_CLI_USER_H

#include "cli/args.h"

extern const cli_cmd cli_user_add_cmd, cli_user_list_cmd, cli_user_passwd_cmd;

#endif
