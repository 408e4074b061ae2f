/* web/rec.h: case-file records as JSON, both ways, from the schema tables
 * (crdt/schema.h), for the web API (docs/web.md "API").
 *
 * No op type is named here: a field's JSON key is its schema name, its
 * value follows its kind, so a field added to a schema shows at once.
 *
 * JSON values by kind: text fields are strings; whole numbers integers;
 * yes/no fields true/false; choices their word ("front", "high"); dates
 * "YYYY-MM-DD"; times "YYYY-MM-DDTHH:MM[:SS][Z]" in UTC (written back as
 * "YYYY-MM-DDTHH:MM:SSZ"); references an entry id, 64 hex digits; lists
 * arrays of objects (web_rec_from_json refuses them, web_rec_take takes
 * them). Byte fields are never shown nor taken.
 *
 * Messages made here name fields, never the values sent: an error reply
 * must not echo case content. */
#ifndef BT_WEB_REC_H
#define BT_WEB_REC_H

#include <jansson.h>
#include <stddef.h>

#include "crdt/casefile.h"
#include "crdt/schema.h"

/* rec as a JSON object, absent fields left out. NULL: out of memory. */
json_t *web_rec_json(const crdt_schema *s, const void *rec);

/* One entry of a materialised file: {"id", "type", "user", "event_at",
 * "recorded_at", "flags": [...], "links": [...], "fields": {...}}. */
json_t *web_entry_json(const crdt_cf_entry *e);

/* Fills rec (s->size bytes, zeroed first) from the JSON object o. Strings
 * borrow from o (keep it until rec is written). null and "" leave a field
 * absent. BT_OK; BT_ENOTFOUND: o has a key that is not a field taken from
 * people (web_rec_unknown names them); BT_EINVAL: a value is not of its
 * field's kind or passes its limit, *bad (may be NULL) the field's schema
 * name. Required fields are not checked here (web_rec_missing). */
int web_rec_from_json(const crdt_schema *s, const json_t *o, void *rec, const char **bad);

/* The keys of o that are not fields taken from people, ", "-separated,
 * into buf: a key is shown only if it looks like a field name (a-z, 0-9,
 * '_', at most 32), else as "(a name that is no field)", so free text sent
 * as a key is not echoed. */
void web_rec_unknown(const crdt_schema *s, const json_t *o, char *buf, size_t len);

/* The required fields of s that rec leaves absent, ", "-separated, into
 * buf; returns how many. */
size_t web_rec_missing(const crdt_schema *s, const void *rec, char *buf, size_t len);

/* The names of the fields web_rec_from_json takes, ", "-separated. */
void web_rec_names(const crdt_schema *s, char *buf, size_t len);

/* What a field of this kind must be, in words ("text of at most N bytes"),
 * into buf. */
void web_rec_kind_words(const crdt_field *f, char *buf, size_t len);

/* key itself if it looks like a field name (a-z, 0-9, '_', 1 to 32 of
 * them), else "(a name that is no field)": what a message may say of a key
 * sent, so free text typed as a key is not echoed. */
const char *web_rec_key_word(const char *key);

/* ---- records with lists --------------------------------------------------- */

/* The item arrays web_rec_take allocated for a record's lists: they live
 * until web_rec_mem_free (which wipes them), the record borrowing them. */
typedef struct {
  struct web_rec_block {
    void *p;
    size_t len;
  } *blocks;
  size_t n;
} web_rec_mem;

void web_rec_mem_free(web_rec_mem *m); /* then empty again; {0} is empty */

/* web_rec_from_json that takes lists as well: a list is an array of 1 to
 * the field's max objects, each taken by its item schema ([] or null: the
 * list is absent). Items are checked whole here: their unknown keys,
 * values, and required fields. The record's own required fields are not
 * (web_rec_missing, after the caller's defaults). Strings borrow from o,
 * item arrays from mem (both kept until rec is written).
 *
 * BT_OK; else msg (len bytes) says what is wrong, naming fields by their
 * path ("facts", "marks[2].site", "actions[0]"), never a value:
 * BT_ENOTFOUND a key that is no field (all of them at that level, with the
 * fields there are); BT_EINVAL a value not of its field's kind or past its
 * limit, a list not an array of objects; BT_ETOOBIG a list with more items
 * than its max; BT_EMISSING an item lacks a required field; BT_ENOMEM. On
 * any error rec may hold part of o: free mem and drop rec. */
int web_rec_take(const crdt_schema *s, const json_t *o, void *rec, web_rec_mem *mem, char *msg,
                 size_t len);

#endif
