/* crdt/calendar.c: bank holidays, term dates and the transfer deadline.
 *
 * Every answer comes from walking day by day and asking one question of each
 * day: is it of the type, is it not, or can we not know (is_day)? Counts are
 * at most 60 and the walks a few months long, so a loop is fast enough and is
 * obviously right, where arithmetic on weeks would need its own proof around
 * every holiday. The "cannot know" answer is what turns missing holidays or
 * term dates into an error instead of a wrong deadline: it is asked only of
 * weekdays, so a walk that ends on 29 December 2028 does not need 2029.
 *
 * Holidays, built in and added, live in one array sorted by date (binary
 * search; inserts move at most a few hundred entries). Which years are known
 * is a bitmap over the years crdt/date.h can represent. Terms are validated
 * and sorted into a stack copy first, so a bad list changes nothing. */
#include "calendar.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "err.h"
#include "schema.h"

#define YEAR_MIN (CRDT_DATE_MIN / 10000)
#define YEAR_MAX (CRDT_DATE_MAX / 10000)
#define NYEARS   (YEAR_MAX - YEAR_MIN + 1)

typedef struct {
  uint32_t ymd;
  uint8_t title_len;
  char title[CRDT_CALENDAR_TITLE_MAX];
} holiday;

struct crdt_calendar {
  size_t nhol;   /* hol[0..nhol) sorted by date, no duplicates */
  size_t nadded; /* of which added after the built-in ones */
  size_t nterms; /* terms[0..nterms) sorted, not overlapping */
  uint64_t years[(NYEARS + 63) / 64]; /* bit y - YEAR_MIN: year y known */
  crdt_calendar_term terms[CRDT_CALENDAR_TERMS_MAX];
  holiday hol[CRDT_CALENDAR_BUILTIN_COUNT + CRDT_CALENDAR_ADDED_MAX];
};

/* England and Wales, from GOV.UK's bank-holidays.json (and domain.md). A
 * substitute day keeps the title of the day it replaces, as GOV.UK does. */
#define NEW_YEAR "New Year\xe2\x80\x99s Day" /* GOV.UK's apostrophe is U+2019 */
static const struct {
  uint32_t ymd;
  const char *title;
} builtin[CRDT_CALENDAR_BUILTIN_COUNT] = {
  {20250101, NEW_YEAR},          {20250418, "Good Friday"},
  {20250421, "Easter Monday"},   {20250505, "Early May bank holiday"},
  {20250526, "Spring bank holiday"}, {20250825, "Summer bank holiday"},
  {20251225, "Christmas Day"},   {20251226, "Boxing Day"},
  {20260101, NEW_YEAR},          {20260403, "Good Friday"},
  {20260406, "Easter Monday"},   {20260504, "Early May bank holiday"},
  {20260525, "Spring bank holiday"}, {20260831, "Summer bank holiday"},
  {20261225, "Christmas Day"},   {20261228, "Boxing Day"},
  {20270101, NEW_YEAR},          {20270326, "Good Friday"},
  {20270329, "Easter Monday"},   {20270503, "Early May bank holiday"},
  {20270531, "Spring bank holiday"}, {20270830, "Summer bank holiday"},
  {20271227, "Christmas Day"},   {20271228, "Boxing Day"},
  {20280103, NEW_YEAR},          {20280414, "Good Friday"},
  {20280417, "Easter Monday"},   {20280501, "Early May bank holiday"},
  {20280529, "Spring bank holiday"}, {20280828, "Summer bank holiday"},
  {20281225, "Christmas Day"},   {20281226, "Boxing Day"},
};

static void mark_year(crdt_calendar *cal, uint32_t y)
{
  cal->years[(y - YEAR_MIN) / 64] |= UINT64_C(1) << ((y - YEAR_MIN) % 64);
}

int crdt_calendar_covers(const crdt_calendar *cal, uint32_t year)
{
  assert(cal != NULL);
  if (year < YEAR_MIN || year > YEAR_MAX)
    return 0;
  return (cal->years[(year - YEAR_MIN) / 64] >> ((year - YEAR_MIN) % 64)) & 1;
}

static void set_holiday(holiday *h, uint32_t ymd, const char *title, size_t len)
{
  assert(len <= CRDT_CALENDAR_TITLE_MAX);
  memset(h, 0, sizeof(*h));
  h->ymd = ymd;
  h->title_len = (uint8_t)len;
  if (len > 0)
    memcpy(h->title, title, len);
}

int crdt_calendar_new(crdt_calendar **out)
{
  crdt_calendar *cal;

  assert(out != NULL);
  if ((cal = calloc(1, sizeof(*cal))) == NULL)
    return BT_ENOMEM;
  for (size_t i = 0; i < CRDT_CALENDAR_BUILTIN_COUNT; i++) {
    assert(i == 0 || builtin[i - 1].ymd < builtin[i].ymd);
    set_holiday(&cal->hol[i], builtin[i].ymd, builtin[i].title,
                strlen(builtin[i].title));
    mark_year(cal, builtin[i].ymd / 10000);
  }
  cal->nhol = CRDT_CALENDAR_BUILTIN_COUNT;
  *out = cal;
  return BT_OK;
}

void crdt_calendar_free(crdt_calendar *cal)
{
  free(cal);
}

/* Index of the first holiday on or after ymd (nhol if none). */
static size_t hol_lower(const crdt_calendar *cal, uint32_t ymd)
{
  size_t lo = 0, hi = cal->nhol;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (cal->hol[mid].ymd < ymd)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int crdt_calendar_add_holiday(crdt_calendar *cal, uint32_t ymd, bt_str title)
{
  size_t i;

  assert(cal != NULL);
  assert(title.p != NULL || title.len == 0);
  if (!crdt_date_valid(ymd))
    return BT_EDATE;
  if (title.len > CRDT_CALENDAR_TITLE_MAX)
    return BT_ETOOBIG;
  /* Titles end up on terminals: no escape sequences, no broken UTF-8. */
  if (title.len > 0 && crdt_text_check(title, 0) != BT_OK)
    return BT_EINVAL;
  i = hol_lower(cal, ymd);
  if (i < cal->nhol && cal->hol[i].ymd == ymd)
    return BT_OK;
  if (cal->nadded == CRDT_CALENDAR_ADDED_MAX)
    return BT_ETOOBIG;
  memmove(&cal->hol[i + 1], &cal->hol[i], (cal->nhol - i) * sizeof(cal->hol[0]));
  set_holiday(&cal->hol[i], ymd, title.p, title.len);
  cal->nhol++;
  cal->nadded++;
  mark_year(cal, ymd / 10000);
  return BT_OK;
}

static bt_str title_of(const holiday *h)
{
  return (bt_str){h->title, h->title_len};
}

int crdt_calendar_holiday(const crdt_calendar *cal, uint32_t ymd, bt_str *title)
{
  size_t i;

  assert(cal != NULL);
  assert(crdt_date_valid(ymd));
  i = hol_lower(cal, ymd);
  if (i == cal->nhol || cal->hol[i].ymd != ymd)
    return 0;
  if (title != NULL)
    *title = title_of(&cal->hol[i]);
  return 1;
}

size_t crdt_calendar_holiday_count(const crdt_calendar *cal)
{
  assert(cal != NULL);
  return cal->nhol;
}

int crdt_calendar_holiday_at(const crdt_calendar *cal, size_t i, uint32_t *ymd,
                             bt_str *title)
{
  assert(cal != NULL && ymd != NULL);
  if (i >= cal->nhol)
    return BT_ENOTFOUND;
  *ymd = cal->hol[i].ymd;
  if (title != NULL)
    *title = title_of(&cal->hol[i]);
  return BT_OK;
}

int crdt_calendar_set_terms(crdt_calendar *cal, const crdt_calendar_term *terms,
                            size_t n)
{
  crdt_calendar_term tmp[CRDT_CALENDAR_TERMS_MAX];

  assert(cal != NULL);
  assert(terms != NULL || n == 0);
  if (n > CRDT_CALENDAR_TERMS_MAX)
    return BT_ETOOBIG;
  for (size_t i = 0; i < n; i++) {
    if (!crdt_date_valid(terms[i].first) || !crdt_date_valid(terms[i].last))
      return BT_EDATE;
    if (terms[i].first > terms[i].last)
      return BT_EINVAL;
  }
  /* Insertion sort by first day (yyyymmdd compares in date order). */
  for (size_t i = 0; i < n; i++) {
    size_t j = i;

    for (; j > 0 && tmp[j - 1].first > terms[i].first; j--)
      tmp[j] = tmp[j - 1];
    tmp[j] = terms[i];
  }
  for (size_t i = 1; i < n; i++)
    if (tmp[i].first <= tmp[i - 1].last)
      return BT_EINVAL;
  if (n > 0)
    memcpy(cal->terms, tmp, n * sizeof(tmp[0]));
  cal->nterms = n;
  return BT_OK;
}

size_t crdt_calendar_terms(const crdt_calendar *cal,
                           const crdt_calendar_term **terms)
{
  assert(cal != NULL && terms != NULL);
  *terms = cal->nterms > 0 ? cal->terms : NULL;
  return cal->nterms;
}

int crdt_calendar_rule_check(crdt_calendar_rule rule)
{
  if (rule.days != CRDT_CALENDAR_WORKING && rule.days != CRDT_CALENDAR_SCHOOL)
    return BT_EINVAL;
  if (rule.count < CRDT_CALENDAR_COUNT_MIN || rule.count > CRDT_CALENDAR_COUNT_MAX)
    return BT_EINVAL;
  return BT_OK;
}

/* The first term ending on or after ymd, or NULL after the last term. */
static const crdt_calendar_term *term_from(const crdt_calendar *cal, uint32_t ymd)
{
  size_t lo = 0, hi = cal->nterms;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (cal->terms[mid].last < ymd)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < cal->nterms ? &cal->terms[lo] : NULL;
}

/* 1 if ymd is a day of type days, 0 if not, or why that cannot be known.
 * Weekends are decided first: they need neither holidays nor terms. */
static int is_day(const crdt_calendar *cal, crdt_calendar_days days, uint32_t ymd)
{
  const crdt_calendar_term *t;

  if (crdt_date_weekday(ymd) >= 5)
    return 0;
  if (!crdt_calendar_covers(cal, ymd / 10000))
    return BT_EHOLIDAYS;
  if (crdt_calendar_holiday(cal, ymd, NULL))
    return 0;
  if (days == CRDT_CALENDAR_WORKING)
    return 1;
  if (cal->nterms == 0 || ymd < cal->terms[0].first ||
      ymd > cal->terms[cal->nterms - 1].last)
    return BT_ETERMS;
  t = term_from(cal, ymd);
  return ymd >= t->first;
}

/* The n-th day of type days strictly after day number from. */
static int nth_after(const crdt_calendar *cal, crdt_calendar_days days,
                     int64_t from, uint32_t n, uint32_t *out)
{
  uint32_t ymd = 0;
  int rc;

  assert(n > 0);
  while (n > 0) {
    if ((ymd = crdt_date_from_days(++from)) == 0)
      return BT_EDATE;
    if ((rc = is_day(cal, days, ymd)) < 0)
      return rc;
    n -= (uint32_t)rc;
  }
  *out = ymd;
  return BT_OK;
}

/* The number of days of type days in (lo, hi], day numbers of valid dates. */
static int count_between(const crdt_calendar *cal, crdt_calendar_days days,
                         int64_t lo, int64_t hi, int32_t *out)
{
  int32_t n = 0;
  int rc;

  for (int64_t d = lo + 1; d <= hi; d++) {
    if ((rc = is_day(cal, days, crdt_date_from_days(d))) < 0)
      return rc;
    n += rc;
  }
  *out = n;
  return BT_OK;
}

/* Working days with term dates: where counting starts for a child on roll
 * from on_roll. In a term, on_roll itself; in a holiday, the day before the
 * next term, so that term's first working day is day 1. */
static int term_anchor(const crdt_calendar *cal, uint32_t on_roll, int64_t *anchor)
{
  const crdt_calendar_term *t = term_from(cal, on_roll);
  int64_t start;
  int32_t between;
  int rc;

  if (t == NULL)
    return BT_ETERMS; /* after the last term: a holiday, or a term not entered? */
  if (on_roll >= t->first) {
    *anchor = crdt_date_days(on_roll);
    return BT_OK;
  }
  start = crdt_date_days(t->first) - 1;
  if (t == cal->terms) {
    /* Before the first term we cannot tell a holiday from a term not entered,
     * unless no working day lies between: then both give the same answer. */
    rc = count_between(cal, CRDT_CALENDAR_WORKING, crdt_date_days(on_roll), start,
                       &between);
    if (rc != BT_OK)
      return rc;
    if (between > 0)
      return BT_ETERMS;
  }
  *anchor = start;
  return BT_OK;
}

int crdt_calendar_deadline(const crdt_calendar *cal, crdt_calendar_rule rule,
                           uint32_t on_roll, uint32_t *deadline)
{
  int64_t from;
  uint32_t d;
  int rc;

  assert(cal != NULL && deadline != NULL);
  if (!crdt_date_valid(on_roll))
    return BT_EDATE;
  if ((rc = crdt_calendar_rule_check(rule)) != BT_OK)
    return rc;
  if (rule.days == CRDT_CALENDAR_SCHOOL && cal->nterms == 0)
    return BT_ETERMS;
  from = crdt_date_days(on_roll);
  if (rule.days == CRDT_CALENDAR_WORKING && cal->nterms > 0 &&
      (rc = term_anchor(cal, on_roll, &from)) != BT_OK)
    return rc;
  if ((rc = nth_after(cal, rule.days, from, rule.count, &d)) != BT_OK)
    return rc;
  *deadline = d;
  return BT_OK;
}

int crdt_calendar_days_left(const crdt_calendar *cal, crdt_calendar_days days,
                            uint32_t deadline, uint32_t now, int32_t *left)
{
  int64_t dl, nw;
  int32_t n;
  int rc;

  assert(cal != NULL && left != NULL);
  if (!crdt_date_valid(deadline) || !crdt_date_valid(now))
    return BT_EDATE;
  if (days != CRDT_CALENDAR_WORKING && days != CRDT_CALENDAR_SCHOOL)
    return BT_EINVAL;
  dl = crdt_date_days(deadline);
  nw = crdt_date_days(now);
  if (nw <= dl) {
    if ((rc = count_between(cal, days, nw, dl, &n)) != BT_OK)
      return rc;
    *left = n;
    return BT_OK;
  }
  if ((rc = count_between(cal, days, dl, nw, &n)) != BT_OK)
    return rc;
  /* Past the deadline is overdue even before the next day of the type. */
  *left = n > 0 ? -n : -1;
  return BT_OK;
}
