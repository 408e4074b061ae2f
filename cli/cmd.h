/* cli/cmd.h: the `baton` command: global options, the table of commands,
 * `help` and `version`, and the run from argv to exit code.
 *
 * A new command is a module (cli/<name>.c with its header) exporting a
 * cli_cmd, and one line in the table in cmd.c; help, --help, argument
 * checking and --json come with it. Commands with subcommands (`transfer
 * start`, later) will be a cli_cmd whose run looks up a second table the
 * same way. */
#ifndef BT_CLI_CMD_H
#define BT_CLI_CMD_H

#include "cli/args.h"

/* The command called name, or NULL. */
const cli_cmd *cli_cmd_find(const char *name);

/* The whole of `baton argv...`: returns the exit code (cli/cli.h). */
int cli_cmd_main(int argc, char **argv);

#endif
