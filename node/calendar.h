/* node/calendar.h: this node's deadline settings (crdt/calendar.h): the
 * rule (day type and count), the school's term dates, and the bank
 * holidays imported beyond the built-in ones, kept in the store's meta
 * table (docs/store.md) so the CLI and the daemon read the same ones.
 *
 * Imports take GOV.UK's bank-holidays.json (https://www.gov.uk/bank-holidays.json):
 * an object whose "england-and-wales" member has "division" and an "events"
 * array of {"title", "date" "YYYY-MM-DD", "notes", "bunting"}. Only that
 * division is read. The whole file is checked before anything is stored:
 * a file that does not parse, has no such division, an event without a
 * valid date or title, or more events than a calendar holds changes
 * nothing. */
#ifndef BT_NODE_CALENDAR_H
#define BT_NODE_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/calendar.h"
#include "node/store.h"

#define NODE_CALENDAR_IMPORT_MAX ((size_t)1 << 20) /* bytes of a JSON file */

/* A calendar with the built-in holidays, the imported ones and the term
 * dates: free with crdt_calendar_free. Errors: storage errors, BT_ECORRUPT
 * (a stored setting that does not read back), BT_ENOMEM. */
int node_calendar_load(node_store *s, crdt_calendar **out);

/* The deadline rule (CRDT_CALENDAR_RULE_DEFAULT until one is set). */
int node_calendar_rule(node_store *s, crdt_calendar_rule *out);
/* BT_EINVAL for a rule crdt_calendar_rule_check refuses; BT_ETERMS for
 * school days while no term dates are set. */
int node_calendar_set_rule(node_store *s, crdt_calendar_rule rule);

/* Replaces the term dates (n == 0 removes them), checked as
 * crdt_calendar_set_terms does (its errors). BT_ETERMS when removing them
 * would leave a school-day rule without terms. */
int node_calendar_set_terms(node_store *s, const crdt_calendar_term *terms, size_t n);

/* Imports GOV.UK's bank-holidays.json from json[0..len): *added is how many
 * holidays were new (others were known already). Errors, with nothing
 * stored: BT_ETOOBIG (over NODE_CALENDAR_IMPORT_MAX bytes, or more holidays
 * than a calendar holds), BT_EPROTO (not JSON, or not that shape: the
 * division missing, an event without a title or date), BT_EDATE (a date that
 * is not YYYY-MM-DD or not a real date), BT_EINVAL (a title a calendar
 * refuses: control characters, not UTF-8). */
int node_calendar_import(node_store *s, const uint8_t *json, size_t len, size_t *added);

#endif
