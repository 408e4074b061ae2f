/* cli/session.h: what the case-file commands share: the store opened and
 * a staff user signed in, a file named by its id, an entry named by its
 * id, and node/ errors said in words a DSL can act on.
 *
 * File ids are shown and typed as 32 hex characters; a unique prefix of at
 * least 8 is accepted from roles that may list files (DSL, deputy). Entry
 * ids (op ids) are 64 hex characters; a unique prefix of at least 8 among
 * the entries the user may see is accepted. */
#ifndef BT_CLI_SESSION_H
#define BT_CLI_SESSION_H

#include <stdint.h>

#include "cli/cli.h"
#include "cli/login.h"
#include "cli/store.h"
#include "node/users.h"

#define CLI_ID_MIN 8 /* shortest id prefix accepted */

typedef struct {
  node_store *s;
  cli_store_info where;
  cli_user u;
} cli_sess;

/* Opens the store and signs the user in for need (cli_login). CLI_OK, or
 * the exit code (said why). */
int cli_sess_open(const cli_ctx *c, node_action need, cli_sess *ss);
void cli_sess_close(cli_sess *ss);

/* The form of a file id or entry id argument (hex, 8 to max characters):
 * CLI_OK, or CLI_USAGE naming what. Checked before the store is opened. */
int cli_id_arg(const cli_ctx *c, const char *what, const char *v, size_t max);

/* The file named by arg (cli_id_arg-checked): CLI_OK and file; CLI_ERROR
 * when no file or more than one matches (said so). */
int cli_sess_file(const cli_ctx *c, cli_sess *ss, const char *arg, uint8_t file[CRDT_FILE_LEN]);

/* node_casefile_as for the user, with errors said. Free with
 * node_view_free. */
int cli_sess_view(const cli_ctx *c, cli_sess *ss, const uint8_t file[CRDT_FILE_LEN],
                  node_view *v);

/* The visible entry whose id starts with hex; want: its op type, or 0 for
 * any. CLI_OK, else CLI_ERROR (said: none, several, or of another type). */
int cli_entry_find(const cli_ctx *c, const node_view *v, const char *what, const char *hex,
                   uint32_t want, crdt_id *out);

/* A node/ error while doing something, said with what to do. Returns
 * CLI_ERROR. */
int cli_node_fail(const cli_ctx *c, const cli_sess *ss, const char *doing, int rc);

/* Now, Unix ms (the system clock). */
uint64_t cli_now_ms(void);

/* Parse a date or time option: CLI_OK, or CLI_USAGE naming it. */
int cli_date_arg(const cli_ctx *c, const char *what, const char *v, uint32_t *ymd);
int cli_time_arg(const cli_ctx *c, const char *what, const char *v, uint64_t *ms);

#endif
