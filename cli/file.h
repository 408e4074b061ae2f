/* cli/file.h: case files: `baton file open|show|set|resolve|close|reopen`,
 * `baton files`, `baton tag add|remove` (cli/file.c, cli/show.c). */
#ifndef BT_CLI_FILE_H
#define BT_CLI_FILE_H

#include <jansson.h>

#include "cli/args.h"
#include "crdt/casefile.h"

extern const cli_cmd cli_file_open_cmd, cli_files_cmd, cli_file_show_cmd, cli_file_set_cmd,
  cli_file_resolve_cmd, cli_file_close_cmd, cli_file_reopen_cmd, cli_tag_add_cmd,
  cli_tag_remove_cmd, cli_grants_cmd;

/* A front-sheet register: its value as a string, or, in conflict,
 * {"conflict": [every value]}; null when unset. */
json_t *cli_reg_json(const crdt_cf_register *r);

/* Every set front-sheet field of cf by name (cli_reg_json values). */
json_t *cli_front_json(const crdt_casefile *cf);

/* Checks a UPN typed by a person (folded to capitals into up, 14 bytes):
 * CLI_OK, or CLI_USAGE naming the check letter it should have. */
int cli_upn_arg(const cli_ctx *c, const char *v, char up[14]);

#endif
