/* cli/record.h: adding entries to a case file: `baton concern log|review`,
 * `chrono add`, `bodymap add`, `reflect add`, `action add|done`, `correct`. */
#ifndef BT_CLI_RECORD_H
#define BT_CLI_RECORD_H

#include "cli/args.h"

extern const cli_cmd cli_concern_log_cmd, cli_concern_review_cmd, cli_chrono_add_cmd,
  cli_bodymap_add_cmd, cli_reflect_add_cmd, cli_action_add_cmd, cli_action_done_cmd,
  cli_correct_cmd;

#endif
