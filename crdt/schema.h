/* crdt/schema.h: records described by tables, and their canonical codec.
 *
 * Every op body and every nested item (a body-map mark, a front-sheet value)
 * is a C struct described by a crdt_schema: for each field, its map key, kind,
 * limit and offset in the struct. One generic codec reads and writes all of
 * them, so canonical form, limits and required fields are enforced in one
 * place, and tests can build random records of any type from the table.
 *
 * Wire form of a record: a msgpack map, unsigned keys in strictly ascending
 * order, absent fields omitted. "Absent" is the zero value of the field's C
 * type (empty string, 0, all-zero id, empty list), so a struct has exactly one
 * encoding. Keys a decoder does not know are rejected: a newer version that
 * adds fields adds a new op type, which older nodes keep but do not show. */
#ifndef BT_CRDT_SCHEMA_H
#define BT_CRDT_SCHEMA_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

typedef enum {
  CRDT_F_STR = 1, /* bt_str, UTF-8, one line, up to max bytes */
  CRDT_F_TEXT,    /* bt_str, UTF-8, newlines and tabs allowed, up to max bytes */
  CRDT_F_UINT,    /* uint32_t, 0..max; written when non-zero or required */
  CRDT_F_YESNO,   /* uint32_t: 0 not recorded, 1 yes, 2 no; wire: bool */
  CRDT_F_ENUM,    /* uint32_t, 1..max, names[v] */
  CRDT_F_DATE,    /* uint32_t yyyymmdd, a valid date */
  CRDT_F_TIME,    /* uint64_t Unix milliseconds, UTC */
  CRDT_F_ID,      /* crdt_id: a reference to another op */
  CRDT_F_LIST,    /* pointer to an array of sub records + size_t count */
  CRDT_F_BIN,     /* bt_str holding bytes (not text), up to max bytes */
} crdt_fkind;

enum { CRDT_YES = 1, CRDT_NO = 2 };

struct crdt_schema;

typedef struct {
  const char *name;  /* stable identifier, also the CLI/JSON name */
  uint8_t key;       /* map key, 1..127 */
  uint8_t kind;      /* crdt_fkind */
  uint8_t req;       /* 1: must be present */
  uint32_t max;      /* STR/TEXT: bytes; UINT: value; ENUM: last value; LIST: items */
  size_t off;        /* offset of the value in the struct */
  size_t count_off;  /* LIST: offset of the size_t count */
  const struct crdt_schema *sub;   /* LIST: schema of one item */
  const char *const *names;        /* ENUM: names[1..max] */
} crdt_field;

typedef struct crdt_schema {
  const char *name;
  size_t size;       /* sizeof the struct */
  size_t nfields;
  const crdt_field *fields;  /* ascending keys */
  /* Cross-field rules beyond the table (e.g. a front-sheet value's format).
   * Returns BT_OK or an error. May be NULL. */
  int (*check)(const void *rec);
} crdt_schema;

/* Validates rec against the schema: required fields, limits, enum ranges,
 * dates, list sizes, nested records, then s->check. BT_OK, BT_EMISSING,
 * BT_ETOOBIG, BT_EINVAL, BT_EDATE or whatever check returns. */
int crdt_rec_check(const crdt_schema *s, const void *rec);

/* Validates, then packs rec as a canonical map. BT_ENOMEM on packer failure. */
int crdt_rec_pack(msgpack_packer *pk, const crdt_schema *s, const void *rec);

/* Fills *rec (zeroed first) from a decoded map. Strings point into the
 * buffer o was unpacked from; lists are allocated in zone. Rejects unknown or
 * repeated keys, keys out of order, wrong types, and anything crdt_rec_check
 * rejects. The caller proves canonical form by re-packing and comparing. */
int crdt_rec_unpack(const crdt_schema *s, const msgpack_object *o,
                    msgpack_zone *zone, void *rec);

/* Wipes a decoded record: every list it reaches (recursively), then the
 * record itself. The memory stays allocated (it belongs to a zone). */
void crdt_rec_wipe(const crdt_schema *s, void *rec);

/* BT_OK if t is UTF-8 text without control characters (newline and tab
 * allowed when multiline), else BT_EINVAL. Applied to every STR and TEXT
 * field, both ways. */
int crdt_text_check(bt_str t, int multiline);

/* 1 if rec's field f holds the zero value of its C type (what "absent"
 * means, save that a required UINT is written even when 0): front ends use
 * it to name the required fields not given. */
int crdt_field_zero(const crdt_field *f, const void *rec);

/* Field lookup by name, for front ends; NULL if none. */
const crdt_field *crdt_schema_field(const crdt_schema *s, const char *name);

#endif
