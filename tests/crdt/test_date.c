/* tests/crdt/test_date.c: civil dates and UTC times.
 *
 * The exhaustive test walks every day of 1900..2199 with its own calendar
 * (nested year/month/day loops and the leap rule written out again), so a
 * mistake in the library's arithmetic cannot cancel itself out in a round
 * trip. Known anchors (epoch, weekdays) come from outside: Python's datetime
 * and a printed calendar. */
#include "crdt/date.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "crdt/err.h"

#define MS_PER_DAY UINT64_C(86400000)

static int test_leap(uint32_t y)
{
  if (y % 400 == 0)
    return 1;
  if (y % 100 == 0)
    return 0;
  return y % 4 == 0;
}

static uint32_t test_month_len(uint32_t y, uint32_t m)
{
  switch (m) {
  case 2:
    return test_leap(y) ? 29 : 28;
  case 4:
  case 6:
  case 9:
  case 11:
    return 30;
  default:
    return 31;
  }
}

Test(crdt_date, every_day_round_trips_1900_to_2199)
{
  int64_t expect = -25567; /* 1900-01-01, from Python's datetime */
  int wd = 0;              /* 1900-01-01 was a Monday */
  uint64_t total = 0;
  char buf[11];
  uint32_t back;

  for (uint32_t y = 1900; y <= 2199; y++) {
    for (uint32_t m = 1; m <= 12; m++) {
      for (uint32_t d = 1; d <= test_month_len(y, m); d++) {
        uint32_t ymd = y * 10000 + m * 100 + d;

        cr_assert(crdt_date_valid(ymd), "%" PRIu32, ymd);
        cr_assert_eq(crdt_date_days(ymd), expect, "%" PRIu32, ymd);
        cr_assert_eq(crdt_date_from_days(expect), ymd, "day %" PRId64, expect);
        cr_assert_eq(crdt_date_weekday(ymd), wd, "%" PRIu32, ymd);
        crdt_date_format(ymd, buf);
        back = 0;
        cr_assert_eq(crdt_date_parse(buf, strlen(buf), &back), BT_OK, "%s", buf);
        cr_assert_eq(back, ymd, "%s", buf);
        if (expect >= 0) {
          cr_assert_eq(crdt_date_from_ms((uint64_t)expect * MS_PER_DAY), ymd,
                       "%" PRIu32, ymd);
          cr_assert_eq(crdt_date_from_ms((uint64_t)(expect + 1) * MS_PER_DAY - 1),
                       ymd, "%" PRIu32, ymd);
        }
        expect++;
        wd = (wd + 1) % 7;
        total++;
      }
      /* The day after the last of the month is not a date. */
      cr_assert(!crdt_date_valid(y * 10000 + m * 100 + test_month_len(y, m) + 1),
                "%" PRIu32 "-%" PRIu32, y, m);
    }
  }
  /* 300 years of 365 days plus 73 leap days (75 multiples of 4, less 1900
   * and 2100). */
  cr_assert_eq(total, 300 * 365 + 73);
  cr_assert_eq(expect - 1, 84005); /* 2199-12-31 */
}

Test(crdt_date, known_day_counts)
{
  cr_assert_eq(crdt_date_days(19700101), 0);
  cr_assert_eq(crdt_date_days(19691231), -1);
  cr_assert_eq(crdt_date_days(20000229), 11016);
  cr_assert_eq(crdt_date_days(20000301), 11017);
  cr_assert_eq(crdt_date_days(20260403), 20546);
}

Test(crdt_date, from_days_outside_range_is_zero)
{
  cr_assert_eq(crdt_date_from_days(-25567), 19000101);
  cr_assert_eq(crdt_date_from_days(-25568), 0);
  cr_assert_eq(crdt_date_from_days(84005), 21991231);
  cr_assert_eq(crdt_date_from_days(84006), 0);
  cr_assert_eq(crdt_date_from_days(INT64_MIN), 0);
  cr_assert_eq(crdt_date_from_days(INT64_MAX), 0);
}

Test(crdt_date, known_weekdays)
{
  cr_assert_eq(crdt_date_weekday(20261122), 6); /* Sunday */
  cr_assert_eq(crdt_date_weekday(19700101), 3); /* Thursday */
  cr_assert_eq(crdt_date_weekday(19000101), 0); /* Monday */
  cr_assert_eq(crdt_date_weekday(20000229), 1); /* Tuesday */
  cr_assert_eq(crdt_date_weekday(20260403), 4); /* Good Friday 2026 */
  cr_assert_eq(crdt_date_weekday(20260406), 0); /* Easter Monday 2026 */
  cr_assert_eq(crdt_date_weekday(21991231), 1); /* Tuesday */
}

Test(crdt_date, leap_days_follow_the_gregorian_rule)
{
  cr_assert(crdt_date_valid(20000229));  /* divisible by 400 */
  cr_assert(!crdt_date_valid(19000229)); /* century, not by 400 */
  cr_assert(!crdt_date_valid(21000229));
  cr_assert(crdt_date_valid(20240229));
  cr_assert(!crdt_date_valid(20250229));
  cr_assert(crdt_date_valid(19040229));
  cr_assert(crdt_date_valid(21960229));
}

Test(crdt_date, invalid_numbers_are_rejected)
{
  static const uint32_t bad[] = {
    0,        18991231, 22000101, 20260001, 20261301, 20260100, 20260132,
    20260431, 20260230, 20269999, 99999999, 1010101,  UINT32_MAX,
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert(!crdt_date_valid(bad[i]), "%" PRIu32, bad[i]);
  cr_assert(crdt_date_valid(19000101));
  cr_assert(crdt_date_valid(21991231));
}

Test(crdt_date, parse_accepts_strict_form)
{
  uint32_t ymd = 0;

  cr_assert_eq(crdt_date_parse("2026-04-03", 10, &ymd), BT_OK);
  cr_assert_eq(ymd, 20260403);
  cr_assert_eq(crdt_date_parse("2000-02-29", 10, &ymd), BT_OK);
  cr_assert_eq(ymd, 20000229);
  /* Not NUL-terminated: only len bytes are read. */
  cr_assert_eq(crdt_date_parse("1900-01-01garbage", 10, &ymd), BT_OK);
  cr_assert_eq(ymd, 19000101);
}

Test(crdt_date, parse_rejects_anything_else)
{
  static const char *const bad[] = {
    "2026-2-03",  "2026-02-3",  "2026-02-30", " 2026-02-03", "2026-02-03x",
    "2026-02-03 ", "+026-02-03", "2026/02/03", "2026-02_03", "20260203",
    "2026-00-10", "2026-13-01", "2026-02-00", "1899-12-31", "2200-01-01",
    "1900-02-29", "2100-02-29", "2026-0a-03", "2026--2-03", "-026-02-03",
    "2026-02- 3", "",
  };
  uint32_t ymd;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ymd = 12345;
    cr_assert_eq(crdt_date_parse(bad[i], strlen(bad[i]), &ymd), BT_EDATE,
                 "\"%s\"", bad[i]);
    cr_assert_eq(ymd, 12345, "\"%s\" wrote the output", bad[i]);
  }
}

Test(crdt_date, parse_rejects_length_mismatch)
{
  uint32_t ymd = 12345;

  cr_assert_eq(crdt_date_parse("2026-02-03", 9, &ymd), BT_EDATE);
  cr_assert_eq(crdt_date_parse("2026-02-03", 11, &ymd), BT_EDATE); /* the NUL */
  cr_assert_eq(crdt_date_parse("2026-02-03", 0, &ymd), BT_EDATE);
  cr_assert_eq(crdt_date_parse(NULL, 0, &ymd), BT_EDATE);
  cr_assert_eq(ymd, 12345);
}

Test(crdt_date, format_known_dates)
{
  char buf[11];

  memset(buf, 'x', sizeof buf);
  crdt_date_format(20260403, buf);
  cr_assert_str_eq(buf, "2026-04-03");
  crdt_date_format(19000101, buf);
  cr_assert_str_eq(buf, "1900-01-01");
  crdt_date_format(21991231, buf);
  cr_assert_str_eq(buf, "2199-12-31");
}

Test(crdt_date, from_ms_edges)
{
  uint64_t end = (uint64_t)84006 * MS_PER_DAY; /* 2200-01-01T00:00Z */

  cr_assert_eq(crdt_date_from_ms(0), 19700101);
  cr_assert_eq(crdt_date_from_ms(MS_PER_DAY - 1), 19700101);
  cr_assert_eq(crdt_date_from_ms(MS_PER_DAY), 19700102);
  cr_assert_eq(crdt_date_from_ms(UINT64_C(1775208615000)), 20260403);
  cr_assert_eq(crdt_date_from_ms(end - 1), 21991231);
  cr_assert_eq(crdt_date_from_ms(end), 0);
  cr_assert_eq(crdt_date_from_ms(UINT64_MAX), 0);
}

Test(crdt_date, parse_time_known_values)
{
  uint64_t ms = 0;

  /* 2026-04-03T09:30:15Z per Python: 1775208615 s. */
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30:15Z", 20, &ms), BT_OK);
  cr_assert_eq(ms, UINT64_C(1775208615000));
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30:15", 19, &ms), BT_OK);
  cr_assert_eq(ms, UINT64_C(1775208615000));
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30", 16, &ms), BT_OK);
  cr_assert_eq(ms, UINT64_C(1775208600000));
  cr_assert_eq(crdt_date_parse_time("1970-01-01T00:00", 16, &ms), BT_OK);
  cr_assert_eq(ms, 0);
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30Z", 17, &ms), BT_OK);
  cr_assert_eq(ms, (uint64_t)20546 * MS_PER_DAY + (9 * 3600 + 30 * 60) * 1000ull);
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:3Z0", 17, &ms), BT_EDATE);
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30:", 17, &ms), BT_EDATE);
  cr_assert_eq(crdt_date_parse_time("2199-12-31T23:59:59Z", 20, &ms), BT_OK);
  cr_assert_eq(ms, (uint64_t)84006 * MS_PER_DAY - 1000);
}

Test(crdt_date, parse_time_rejects_anything_else)
{
  static const char *const bad[] = {
    "2026-04-03T24:00",     "2026-04-03T23:60",      "2026-04-03T09:30:60Z",
    "2026-04-03 09:30",     "2026-04-03t09:30",      "2026-04-03T09:30z",
    "2026-04-03T09:30:15z", "2026-04-03T9:30",       "2026-04-03T09:3",
    "2026-04-03T09:30:15+", "2026-04-03T09:30:15ZZ", "2026-04-03T09:30:5Z",
    "2026-04-03T09-30",     "2026-04-03T09:30:15.0", "2026-02-30T09:30",
    "1969-12-31T23:59",     "2200-01-01T00:00",      "2026-04-03",
    "2026-04-03T",          " 2026-04-03T09:30",     "2026-04-03T09:30 ",
    "2026-04-03T09:30:1 Z", "2026-04-03T0a:30",      "",
  };
  uint64_t ms;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms = 777;
    cr_assert_eq(crdt_date_parse_time(bad[i], strlen(bad[i]), &ms), BT_EDATE,
                 "\"%s\"", bad[i]);
    cr_assert_eq(ms, 777, "\"%s\" wrote the output", bad[i]);
  }
  ms = 777;
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30", 15, &ms), BT_EDATE);
  cr_assert_eq(crdt_date_parse_time("2026-04-03T09:30:15Z", 19 + 2, &ms),
               BT_EDATE);
  cr_assert_eq(ms, 777);
}

Test(crdt_date, format_time_truncates_milliseconds)
{
  char buf[21];

  crdt_date_format_time(0, buf);
  cr_assert_str_eq(buf, "1970-01-01T00:00:00Z");
  crdt_date_format_time(1999, buf);
  cr_assert_str_eq(buf, "1970-01-01T00:00:01Z");
  crdt_date_format_time(UINT64_C(1775208615999), buf);
  cr_assert_str_eq(buf, "2026-04-03T09:30:15Z");
  crdt_date_format_time((uint64_t)84006 * MS_PER_DAY - 1, buf);
  cr_assert_str_eq(buf, "2199-12-31T23:59:59Z");
}

/* xorshift64, seeded per iteration; the seed goes in the assert message. */
static uint64_t xs(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

Test(crdt_date, time_format_parse_round_trip)
{
  const uint64_t span = (uint64_t)84006 * 86400; /* whole seconds in range */

  for (uint64_t seed = 1; seed <= 500; seed++) {
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15), secs, back = 0;
    char buf[21];

    secs = xs(&s) % span;
    crdt_date_format_time(secs * 1000, buf);
    cr_assert_eq(strlen(buf), 20, "seed %" PRIu64, seed);
    cr_assert_eq(crdt_date_parse_time(buf, 20, &back), BT_OK,
                 "seed %" PRIu64 " %s", seed, buf);
    cr_assert_eq(back, secs * 1000, "seed %" PRIu64 " %s", seed, buf);
    /* Without the Z, and without the seconds. */
    cr_assert_eq(crdt_date_parse_time(buf, 19, &back), BT_OK, "seed %" PRIu64, seed);
    cr_assert_eq(back, secs * 1000, "seed %" PRIu64 " %s", seed, buf);
    cr_assert_eq(crdt_date_parse_time(buf, 16, &back), BT_OK, "seed %" PRIu64, seed);
    cr_assert_eq(back, secs / 60 * 60000, "seed %" PRIu64 " %s", seed, buf);
  }
}
