/* cli/rec.h: case-file records as JSON, both ways, from the schema tables.
 *
 * Every op body is described by a crdt_schema (crdt/schema.h): its fields'
 * names, kinds, limits and which are required. The commands that record
 * things (`concern log`, `chrono add`, `bodymap add`...) build one JSON
 * object (from --from FILE, from options, or from prompts) and
 * cli_rec_from_json turns it into the C record with the schema's field
 * names, so no field is hand-mapped and a field added to the schema is
 * accepted at once. `file show` prints records back with cli_rec_json.
 *
 * JSON values by kind: text fields are strings; numbers integers (or
 * strings of digits); yes/no fields true/false or "yes"/"no"; choices
 * their word ("front", "high"); dates "YYYY-MM-DD"; times
 * "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC); references an entry id in hex (a
 * unique prefix of 8 or more, resolved by the caller's cli_rec_ids); lists
 * arrays of objects. Byte fields are never taken from people.
 *
 * Strings in the record borrow from the JSON object: keep it alive until
 * the record has been written. Lists are allocated in a cli_rec_arena. */
#ifndef BT_CLI_REC_H
#define BT_CLI_REC_H

#include <jansson.h>

#include "cli/cli.h"
#include "crdt/casefile.h"
#include "crdt/schema.h"

typedef struct {
  void *p[80];
  size_t n;
} cli_rec_arena;

void cli_rec_arena_free(cli_rec_arena *a);

/* Resolves a reference (hex prefix) for field; says why on failure and
 * returns CLI_ERROR or CLI_USAGE. */
typedef struct {
  int (*find)(void *ctx, const char *field, const char *hex, crdt_id *out);
  void *ctx;
} cli_rec_ids;

/* Fills rec (s->size bytes, zeroed first) from o. what names the input in
 * messages ("record.json", "the options"); bad is the exit code for a
 * wrong value (CLI_USAGE for options, CLI_ERROR for a file). Refuses
 * fields the schema does not have (naming those it does), values of the
 * wrong kind, too long, not UTF-8 or with control characters. Required
 * fields are not checked here (cli_rec_check, after defaults). */
int cli_rec_from_json(const cli_ctx *c, const char *what, int bad, const crdt_schema *s,
                      const json_t *o, const cli_rec_ids *ids, cli_rec_arena *a, void *rec);

/* Checks rec as the node will (crdt_rec_check), naming the required
 * fields that are missing. CLI_OK or bad (said why). */
int cli_rec_check(const cli_ctx *c, const char *what, int bad, const crdt_schema *s,
                  const void *rec);

/* rec as a JSON object (absent fields left out; bytes as their length).
 * NULL on out of memory. */
json_t *cli_rec_json(const crdt_schema *s, const void *rec);

/* One entry of a materialised file: {"id", "type", "by", "at", "recorded",
 * "flags": [...], "links": [...], "fields": {...}}. */
json_t *cli_entry_json(const crdt_cf_entry *e);

/* Reads and parses a JSON file holding one object. CLI_OK and *out, or
 * CLI_ERROR (said why: cannot read, not JSON at line:column, not an
 * object). */
int cli_rec_load(const cli_ctx *c, const char *path, json_t **out);

/* Hex of n bytes into out (2n + 1). */
void cli_hex(const uint8_t *p, size_t n, char *out);

/* The names of s's fields, ", "-separated, into buf (for messages). */
void cli_rec_names(const crdt_schema *s, char *buf, size_t len);

#endif
