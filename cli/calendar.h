/* cli/calendar.h: `baton calendar show|import|terms|rule|deadline`: how the
 * five-day transfer deadline is counted on this node (docs/cli.md,
 * docs/calendar.md). */
#ifndef BT_CLI_CALENDAR_H
#define BT_CLI_CALENDAR_H

#include "cli/args.h"

extern const cli_cmd cli_calendar_show_cmd, cli_calendar_import_cmd, cli_calendar_terms_cmd,
  cli_calendar_rule_cmd, cli_calendar_deadline_cmd;

#endif
