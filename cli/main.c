/* cli/main.c: the `baton` executable (docs/cli.md); everything is in
 * cli/cmd.c, so tests can drive the same code. */
#include "cli/cmd.h"

int main(int argc, char **argv)
{
  return cli_cmd_main(argc, argv);
}
