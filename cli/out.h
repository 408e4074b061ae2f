/* cli/out.h: results on stdout, as text or as JSON.
 *
 * A command builds its result as a jansson object (the one description of
 * what it shows) and hands it to cli_out_emit with its text printer: with
 * --json the object is printed as one JSON document, else the printer
 * writes lines for people. JSON is made by jansson only (escaping, UTF-8
 * checks); nothing here formats JSON by hand. */
#ifndef BT_CLI_OUT_H
#define BT_CLI_OUT_H

#include <jansson.h>
#include <stdint.h>

#include "cli/cli.h"
#include "crdt/types.h"

/* Prints doc as --json asks (JSON, or text through text(doc)), then drops
 * the reference (doc may be NULL: out of memory, said so). Returns CLI_OK
 * or CLI_ERROR. */
int cli_out_emit(const cli_ctx *c, json_t *doc, void (*text)(const json_t *doc));

/* One "label   value" line of text output; value NULL prints "-". */
void cli_out_row(const char *label, const char *value);

/* A bt_str as a JSON string (NULL when it is not UTF-8). */
json_t *cli_out_str(bt_str s);

/* The string member key of o, or NULL. */
const char *cli_out_get(const json_t *o, const char *key);

/* Unix ms as "2026-03-02T09:15:01Z" into buf (at least 24 bytes). */
void cli_out_time(uint64_t ms, char *buf, size_t len);

/* A 32-byte key's fingerprint (crdt_fingerprint) as a JSON string. */
json_t *cli_out_fpr(const uint8_t *key);

#endif
