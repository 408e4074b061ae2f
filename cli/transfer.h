/* cli/transfer.h: `baton transfer start|ack|reject|close` and `baton
 * transfers` (cli/transfer.c). */
#ifndef BT_CLI_TRANSFER_H
#define BT_CLI_TRANSFER_H

#include "cli/args.h"

extern const cli_cmd cli_transfer_start_cmd, cli_transfer_ack_cmd, cli_transfer_reject_cmd,
  cli_transfer_close_cmd, cli_transfers_cmd;

#endif
