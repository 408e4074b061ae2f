/* cli/store.h: finding and opening this node's store, by batond's rules.
 *
 * Data directory: --dir, else node_store_default_dir ($XDG_DATA_HOME/baton,
 * else ~/.local/share/baton). The key, first that applies:
 *   1. --key-file FILE;
 *   2. the passphrase in BATON_PASSPHRASE (wiped from the environment);
 *   3. the default key file, $XDG_CONFIG_HOME/baton/node.key, else
 *      ~/.config/baton/node.key (where scripts/run.sh keeps batond's), if
 *      it exists;
 *   4. a passphrase typed at the terminal (cli/pass.h).
 * Creating (baton init): with --key-file or the default key file, a
 * missing key file is created (mode 0600, its directory 0700) unless the
 * data directory already holds a store, which a new key could not open --
 * batond --init's rule. With a passphrase, the store is sealed under it
 * (Argon2id, batond's level).
 *
 * batond.c has the same rules in static helpers; both should move into one
 * node/ helper. Messages go to stderr (cli_say) and say what to do; the
 * functions return bt_err codes. */
#ifndef BT_CLI_STORE_H
#define BT_CLI_STORE_H

#include "cli/cli.h"
#include "node/store.h"

typedef enum {
  CLI_KEY_FILE = 1, /* a key file: key_file holds its path */
  CLI_KEY_ENV,      /* BATON_PASSPHRASE */
  CLI_KEY_PROMPT,   /* typed at the terminal */
} cli_key_source;

#define CLI_STORE_PATH_LEN 4096 /* PATH_MAX on Linux */

typedef struct {
  char dir[CLI_STORE_PATH_LEN];      /* the data directory used */
  char key_file[CLI_STORE_PATH_LEN]; /* for CLI_KEY_FILE */
  cli_key_source source;
  int key_default;         /* the key file is the default one, not --key-file */
  int key_created;         /* cli_store_create made the key file */
  int store_created;       /* cli_store_create made the store */
} cli_store_info;

/* The default key file's path into buf. BT_ETOOBIG, BT_ENOTFOUND (neither
 * XDG_CONFIG_HOME nor HOME is set). */
int cli_store_default_key(char *buf, size_t len);

/* Opens the existing store. BT_ENOTFOUND when there is none (said so, with
 * `baton init`), BT_EPASS, BT_EKEYFILE, ... each said on stderr. */
int cli_store_open(const cli_ctx *c, node_store **out, cli_store_info *info);

/* Opens the store, creating it (and a missing key file) when the data
 * directory holds none. ask_pass: seal a new store under a passphrase
 * (BATON_PASSPHRASE, else asked twice) rather than a key file. */
int cli_store_create(const cli_ctx *c, int ask_pass, node_store **out, cli_store_info *info);

#endif
