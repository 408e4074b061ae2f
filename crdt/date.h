/* crdt/date.h: civil dates and UTC times.
 *
 * A date is a uint32_t yyyymmdd (20260403 is 3 April 2026) in the proleptic
 * Gregorian calendar, valid for the years 1900..2199: wide enough for any
 * pupil's date of birth and for retention dates (birth + 25 years), narrow
 * enough that every conversion here is exact. 0 is never a valid date and is
 * used as "none" by the functions that can fail without an error code.
 *
 * A time is an unsigned count of milliseconds since 1970-01-01T00:00:00Z, so
 * times before 1970 cannot be represented. Times are always UTC; turning them
 * into UK local time is the caller's business.
 *
 * All functions are pure, allocate nothing and may be called from any thread.
 * Functions documented as taking a valid date assert it: passing an unchecked
 * date is a programmer error. Text from outside goes through the parse
 * functions, which return BT_EDATE. */
#ifndef BT_CRDT_DATE_H
#define BT_CRDT_DATE_H

#include <stddef.h>
#include <stdint.h>

#define CRDT_DATE_MIN 19000101u
#define CRDT_DATE_MAX 21991231u

/* 1 if ymd is a real calendar date between CRDT_DATE_MIN and CRDT_DATE_MAX,
 * else 0. */
int crdt_date_valid(uint32_t ymd);

/* Parse exactly "YYYY-MM-DD": len must be 10, ASCII digits only, no sign, space
 * or trailing text; the date must be valid. s need not be NUL-terminated.
 * Returns BT_OK and writes *ymd, or BT_EDATE and leaves *ymd untouched. */
int crdt_date_parse(const char *s, size_t len, uint32_t *ymd);

/* Write "YYYY-MM-DD" and a NUL into out. ymd must be valid. */
void crdt_date_format(uint32_t ymd, char out[11]);

/* Days since 1970-01-01 (negative before it). ymd must be valid. */
int64_t crdt_date_days(uint32_t ymd);

/* Inverse of crdt_date_days: the date `days` after 1970-01-01, or 0 if that
 * falls outside CRDT_DATE_MIN..CRDT_DATE_MAX. */
uint32_t crdt_date_from_days(int64_t days);

/* Day of the week: 0 = Monday .. 6 = Sunday. ymd must be valid. */
int crdt_date_weekday(uint32_t ymd);

/* UTC calendar date of a Unix millisecond time, or 0 if after CRDT_DATE_MAX. */
uint32_t crdt_date_from_ms(uint64_t unix_ms);

/* Parse a UTC time, strictly one of (len 16, 17, 19 or 20):
 *   "YYYY-MM-DDTHH:MM"   "YYYY-MM-DDTHH:MMZ"   "YYYY-MM-DDTHH:MM:SS"
 *   "YYYY-MM-DDTHH:MM:SSZ"
 * Hours 00..23, minutes and seconds 00..59 (no leap second); uppercase T and Z
 * only; no offsets or fractions. A time without Z is read as UTC too. Dates
 * before 1970 are rejected, as they have no unsigned Unix time. Returns BT_OK
 * and writes *unix_ms, or BT_EDATE and leaves *unix_ms untouched. */
int crdt_date_parse_time(const char *s, size_t len, uint64_t *unix_ms);

/* Write "YYYY-MM-DDTHH:MM:SSZ" and a NUL into out; milliseconds are truncated.
 * unix_ms must fall on or before CRDT_DATE_MAX (crdt_date_from_ms != 0). */
void crdt_date_format_time(uint64_t unix_ms, char out[21]);

#endif
