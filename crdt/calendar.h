/* crdt/calendar.h: the five-day deadline for moving a CP file.
 *
 * KCSiE wants a child protection file at the new school "within 5 days for an
 * in-year transfer, or within the first 5 days of the start of a new term".
 * Baton's default reading (domain.md): the deadline is the 5th working day
 * after the day the child goes on roll at the new school. The day type and
 * the count are settings (crdt_calendar_rule); docs/calendar.md gives the
 * reasons for each decision below.
 *
 * A calendar holds what the rule needs to know about days:
 * - England and Wales bank holidays, 2025..2028 built in exactly as GOV.UK
 *   lists them (substitute days included), plus holidays added later, one by
 *   one, by the importer of GOV.UK's bank-holidays.json.
 * - Optionally, the school's term dates: a list of terms, each a first and a
 *   last day. Half-terms configured as separate terms make half-term breaks
 *   holidays too; the granularity is the caller's choice.
 *
 * Day types:
 * - working day: Monday to Friday and not a bank holiday;
 * - school day: a working day inside a term (INSET days count: staff are in).
 *
 * The deadline is the count-th day of the type strictly after an anchor:
 * - normally the anchor is the on-roll date itself, so with the default rule
 *   a child on roll on a Monday has a deadline on the next Monday;
 * - with term dates configured, working days, and the on-roll date in a
 *   holiday (outside every term), the anchor is the day before the next
 *   term's first day: the first working day on or after the first day of
 *   term is day 1, so a term starting on a Monday gives a Friday deadline.
 *   Counting then runs on working days, through the next holiday if need be.
 * - For school days the holiday rule needs no special case: no school day
 *   lies between the on-roll date and the next term, so counting from the
 *   on-roll date already starts at the first school day of term.
 *
 * No silently wrong dates. The answer needs to know, for every weekday it
 * looks at, whether it is a bank holiday, and for school days (or an on-roll
 * date outside every term) where the terms are:
 * - a year counts as known when it is built in or when at least one holiday
 *   of it has been added (GOV.UK's file lists whole years, and the importer
 *   must add every event of it); a weekday in any other year is BT_EHOLIDAYS;
 * - terms are known from the first day of the first term to the last day of
 *   the last: a school day wanted outside that span, or an on-roll date after
 *   the last term (is it a holiday or an unconfigured term?) is BT_ETERMS. An
 *   on-roll date before the first term is read as a holiday only when no
 *   working day lies between it and that term (then both readings agree);
 *   otherwise it is BT_ETERMS too.
 * - A count that would run past CRDT_DATE_MAX is BT_EDATE.
 *
 * Ownership: the calendar is opaque, made by crdt_calendar_new and freed by
 * crdt_calendar_free, which is the only allocation in this module. Opaque
 * because its holiday and term lists are kept sorted and free of duplicates
 * and overlaps, invariants a caller could break by writing a transparent
 * struct; and because at about 58 KB (bounded lists, titles inline) it does
 * not belong on a stack.
 *
 * Pure: no I/O, no clock ("now" is always a parameter), no globals. Functions
 * taking a const calendar may run concurrently on one calendar; the others
 * need exclusive access. Dates are yyyymmdd (crdt/date.h). Values from outside
 * (dates, rules, terms, titles) are checked and rejected with an error code;
 * NULL pointers where the contract says a pointer are programmer errors and
 * assert. Functions that fail write no out-parameter and change nothing. */
#ifndef BT_CRDT_CALENDAR_H
#define BT_CRDT_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

#define CRDT_CALENDAR_BUILTIN_FIRST 2025 /* first year built in */
#define CRDT_CALENDAR_BUILTIN_LAST  2028 /* last year built in */
#define CRDT_CALENDAR_BUILTIN_COUNT 32   /* bank holidays built in */
#define CRDT_CALENDAR_ADDED_MAX     512  /* holidays added beyond the built-in ones */
#define CRDT_CALENDAR_TITLE_MAX     96   /* bytes of a holiday title */
#define CRDT_CALENDAR_TERMS_MAX     128  /* terms (about 20 years of 6 half-terms) */
#define CRDT_CALENDAR_COUNT_MIN     1
#define CRDT_CALENDAR_COUNT_MAX     60
#define CRDT_CALENDAR_COUNT_DEFAULT 5

typedef struct crdt_calendar crdt_calendar;

/* What counts as a day. 0 is deliberately not a value: a zeroed setting is
 * invalid rather than silently "working days". */
typedef enum {
  CRDT_CALENDAR_WORKING = 1, /* Mon-Fri, not a bank holiday */
  CRDT_CALENDAR_SCHOOL = 2   /* a working day inside a term */
} crdt_calendar_days;

/* The deadline setting: count days of type days. */
typedef struct {
  crdt_calendar_days days;
  uint32_t count; /* CRDT_CALENDAR_COUNT_MIN..CRDT_CALENDAR_COUNT_MAX */
} crdt_calendar_rule;

/* Baton's default: 5 working days. */
#define CRDT_CALENDAR_RULE_DEFAULT \
  ((crdt_calendar_rule){CRDT_CALENDAR_WORKING, CRDT_CALENDAR_COUNT_DEFAULT})

/* One term, both days inclusive. */
typedef struct {
  uint32_t first;
  uint32_t last;
} crdt_calendar_term;

/* A calendar with the built-in bank holidays (2025..2028 known) and no term
 * dates. Returns BT_OK and *out (free it with crdt_calendar_free), or
 * BT_ENOMEM. */
int crdt_calendar_new(crdt_calendar **out);

/* NULL is a no-op. */
void crdt_calendar_free(crdt_calendar *cal);

/* Adds a bank holiday, e.g. one event of GOV.UK's file. title may be empty
 * ({NULL, 0}); it is copied. A date already known (built in or added) is
 * ignored and returns BT_OK, keeping the first title: importing GOV.UK's file
 * twice changes nothing. Adding a date makes its whole year known (see the
 * top of this file). Errors: BT_EDATE (ymd not valid), BT_ETOOBIG (title over
 * CRDT_CALENDAR_TITLE_MAX bytes, or CRDT_CALENDAR_ADDED_MAX holidays already
 * added), BT_EINVAL (title not UTF-8, or has control characters). */
int crdt_calendar_add_holiday(crdt_calendar *cal, uint32_t ymd, bt_str title);

/* 1 if ymd (which must be valid) is a known bank holiday, else 0. When title
 * is not NULL and the answer is 1, *title is set to its title (possibly
 * empty), borrowed until the calendar is next changed or freed. */
int crdt_calendar_holiday(const crdt_calendar *cal, uint32_t ymd, bt_str *title);

/* Number of known bank holidays, built in and added. */
size_t crdt_calendar_holiday_count(const crdt_calendar *cal);

/* The i-th known holiday in date order: BT_OK with *ymd and, if title is not
 * NULL, *title (borrowed as above); BT_ENOTFOUND if i is past the end. */
int crdt_calendar_holiday_at(const crdt_calendar *cal, size_t i, uint32_t *ymd,
                             bt_str *title);

/* 1 if the bank holidays of year are known (built in or some added), else 0.
 * Any year may be asked. */
int crdt_calendar_covers(const crdt_calendar *cal, uint32_t year);

/* Replaces the term dates with n terms (n == 0 removes them). The terms may
 * come in any order; the calendar keeps them sorted. Adjacent terms are fine.
 * Errors, with the old terms kept: BT_ETOOBIG (n > CRDT_CALENDAR_TERMS_MAX),
 * BT_EDATE (a first or last day not valid), BT_EINVAL (a term ending before
 * it starts, or two terms sharing a day). terms may be NULL only if n == 0. */
int crdt_calendar_set_terms(crdt_calendar *cal, const crdt_calendar_term *terms,
                            size_t n);

/* The term dates, sorted: returns their number and sets *terms (borrowed
 * until the next crdt_calendar_set_terms or free; NULL when there are none). */
size_t crdt_calendar_terms(const crdt_calendar *cal,
                           const crdt_calendar_term **terms);

/* BT_OK if rule is usable (a known day type, count in range), else
 * BT_EINVAL. For settings read from outside. */
int crdt_calendar_rule_check(crdt_calendar_rule rule);

/* The deadline for a child on roll from on_roll, under rule (see the top of
 * this file for what is counted). BT_OK and *deadline, which is then always
 * a day of the rule's type after on_roll; or BT_EDATE (on_roll not valid, or
 * the count runs past CRDT_DATE_MAX), BT_EINVAL (rule), BT_EHOLIDAYS (a
 * weekday needed lies in a year whose bank holidays are not known),
 * BT_ETERMS (school days without term dates, or a school day needed outside
 * their span; for working days with term dates, an on-roll date after the
 * last term, or before the first with a working day in between). */
int crdt_calendar_deadline(const crdt_calendar *cal, crdt_calendar_rule rule,
                           uint32_t on_roll, uint32_t *deadline);

/* Days of type days from now to deadline, for "3 working days left":
 * - now <= deadline: the number of such days in (now, deadline], so 0 on the
 *   deadline day, 1 on the day before it (if the deadline is such a day);
 * - now > deadline (overdue): minus the number of such days in
 *   (deadline, now], and at least 1 of them: the Saturday after a Friday
 *   deadline is -1, as is the Monday; the Tuesday is -2.
 * So *left < 0 exactly when now is after the deadline. Term dates play no
 * part except for school days. Errors: BT_EDATE (either date not valid),
 * BT_EINVAL (days), BT_EHOLIDAYS and BT_ETERMS as for the deadline, for the
 * days between the two dates. */
int crdt_calendar_days_left(const crdt_calendar *cal, crdt_calendar_days days,
                            uint32_t deadline, uint32_t now, int32_t *left);

#endif
