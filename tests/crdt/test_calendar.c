/* tests/crdt/test_calendar.c: bank holidays, term dates, transfer deadlines.
 *
 * Every expected date in the tables was worked by hand from a printed
 * calendar for 2025..2028 (the counting is written next to the less obvious
 * ones: "(1)" marks day 1 of the count); none comes from the code under test.
 * The property tests check the library against an oracle written again here
 * from scratch: its own bank-holiday list (copied from domain.md), its own
 * weekday formula (Sakamoto's) and its own day stepping, walking one day at a
 * time, and share nothing with crdt/calendar.c or crdt/date.c.
 *
 * The made-up LA's term dates for 2025/26 (six half-terms):
 *   autumn 1  Wed 3 Sep 2025 .. Fri 24 Oct 2025
 *   autumn 2  Mon 3 Nov 2025 .. Fri 19 Dec 2025
 *   spring 1  Mon 5 Jan 2026 .. Fri 13 Feb 2026
 *   spring 2  Mon 23 Feb 2026 .. Fri 27 Mar 2026   (Easter break 30 Mar..10 Apr)
 *   summer 1  Mon 13 Apr 2026 .. Fri 22 May 2026   (4 May bank holiday inside)
 *   summer 2  Mon 1 Jun 2026 .. Wed 22 Jul 2026 */
#include "crdt/calendar.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/gen.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL UINT32_C(0xdeadbeef)

static const crdt_calendar_term la_terms[] = {
  {20250903, 20251024}, {20251103, 20251219}, {20260105, 20260213},
  {20260223, 20260327}, {20260413, 20260522}, {20260601, 20260722},
};

static crdt_calendar *cal_new(void)
{
  crdt_calendar *cal = NULL;

  cr_assert_eq(crdt_calendar_new(&cal), BT_OK);
  cr_assert_not_null(cal);
  return cal;
}

static crdt_calendar *cal_with_terms(void)
{
  crdt_calendar *cal = cal_new();

  cr_assert_eq(crdt_calendar_set_terms(cal, la_terms, N(la_terms)), BT_OK);
  return cal;
}

static crdt_calendar_rule rule(crdt_calendar_days days, uint32_t count)
{
  return (crdt_calendar_rule){days, count};
}

#define WORKING CRDT_CALENDAR_WORKING
#define SCHOOL  CRDT_CALENDAR_SCHOOL

/* Asserts the deadline (want_rc BT_OK) or the error; on error the output
 * must be untouched. */
static void expect_deadline(const crdt_calendar *cal, crdt_calendar_rule r,
                            uint32_t on_roll, int want_rc, uint32_t want,
                            const char *what)
{
  uint32_t got = SENTINEL;
  int rc = crdt_calendar_deadline(cal, r, on_roll, &got);

  cr_assert_eq(rc, want_rc, "%s: on roll %" PRIu32 " count %" PRIu32 ": got %s, want %s",
               what, on_roll, r.count, bt_errname(rc), bt_errname(want_rc));
  if (want_rc == BT_OK)
    cr_assert_eq(got, want, "%s: on roll %" PRIu32 " count %" PRIu32 ": got %" PRIu32
                 ", want %" PRIu32, what, on_roll, r.count, got, want);
  else
    cr_assert_eq(got, SENTINEL, "%s: output written on error", what);
}

static void expect_left(const crdt_calendar *cal, crdt_calendar_days days,
                        uint32_t deadline, uint32_t now, int want_rc, int32_t want)
{
  int32_t got = 12345;
  int rc = crdt_calendar_days_left(cal, days, deadline, now, &got);

  cr_assert_eq(rc, want_rc, "deadline %" PRIu32 " now %" PRIu32 ": got %s, want %s",
               deadline, now, bt_errname(rc), bt_errname(want_rc));
  if (want_rc == BT_OK)
    cr_assert_eq(got, want, "deadline %" PRIu32 " now %" PRIu32 ": got %" PRId32
                 ", want %" PRId32, deadline, now, got, want);
  else
    cr_assert_eq(got, 12345, "output written on error");
}

/* ---- built-in bank holidays ---------------------------------------------- */

/* domain.md, "Working days and term dates", copied again. */
static const uint32_t domain_holidays[] = {
  20250101, 20250418, 20250421, 20250505, 20250526, 20250825, 20251225, 20251226,
  20260101, 20260403, 20260406, 20260504, 20260525, 20260831, 20261225, 20261228,
  20270101, 20270326, 20270329, 20270503, 20270531, 20270830, 20271227, 20271228,
  20280103, 20280414, 20280417, 20280501, 20280529, 20280828, 20281225, 20281226,
};

Test(crdt_calendar, builtin_holidays_are_exactly_domain_md)
{
  crdt_calendar *cal = cal_new();
  uint32_t ymd;
  bt_str title;

  cr_assert_eq(N(domain_holidays), CRDT_CALENDAR_BUILTIN_COUNT);
  cr_assert_eq(crdt_calendar_holiday_count(cal), N(domain_holidays));
  for (size_t i = 0; i < N(domain_holidays); i++) {
    cr_assert_eq(crdt_calendar_holiday_at(cal, i, &ymd, &title), BT_OK);
    cr_assert_eq(ymd, domain_holidays[i], "index %zu", i);
    cr_assert_gt(title.len, 0, "%" PRIu32 " has a title", ymd);
    cr_assert(crdt_calendar_holiday(cal, domain_holidays[i], NULL));
  }
  cr_assert_eq(crdt_calendar_holiday_at(cal, N(domain_holidays), &ymd, NULL),
               BT_ENOTFOUND);
  /* Neighbours of substitute days are not holidays. */
  cr_assert(!crdt_calendar_holiday(cal, 20261226, NULL)); /* Saturday */
  cr_assert(!crdt_calendar_holiday(cal, 20280101, NULL)); /* Saturday */
  cr_assert(!crdt_calendar_holiday(cal, 20271225, NULL)); /* Saturday */
  cr_assert(!crdt_calendar_holiday(cal, 20250102, NULL));
  cr_assert(crdt_calendar_holiday(cal, 20261228, &title));
  cr_assert(bt_str_eq(title, BT_STR("Boxing Day")));
  cr_assert(crdt_calendar_holiday(cal, 20250101, &title));
  cr_assert(bt_str_eq(title, BT_STR("New Year\xe2\x80\x99s Day")));
  for (uint32_t y = 2025; y <= 2028; y++)
    cr_assert(crdt_calendar_covers(cal, y), "%" PRIu32, y);
  cr_assert(!crdt_calendar_covers(cal, 2024));
  cr_assert(!crdt_calendar_covers(cal, 2029));
  cr_assert(!crdt_calendar_covers(cal, 0));
  cr_assert(!crdt_calendar_covers(cal, 2200));
  crdt_calendar_free(cal);
  crdt_calendar_free(NULL);
}

/* ---- weekends ------------------------------------------------------------- */

Test(crdt_calendar, weekends_are_skipped)
{
  static const struct {
    uint32_t on_roll, want;
  } t[] = {
    {20250602, 20250609}, /* Mon -> next Mon */
    {20250605, 20250612}, /* Thu: Fri(1) Mon Tue Wed Thu(5) */
    {20250606, 20250613}, /* Fri: Mon(1)..Fri(5) */
    {20250607, 20250613}, /* Sat */
    {20250608, 20250613}, /* Sun */
    {20250730, 20250806}, /* Wed: Thu 31 Jul(1) Fri 1 Aug Mon 4 Tue 5 Wed 6(5) */
    {20260227, 20260306}, /* Fri 27 Feb: Mon 2 Mar(1)..Fri 6 Mar(5) */
    {20281129, 20281206}, /* Wed: Thu 30(1) Fri 1 Dec Mon 4 Tue 5 Wed 6(5) */
  };
  crdt_calendar *cal = cal_new();

  for (size_t i = 0; i < N(t); i++)
    expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, t[i].on_roll, BT_OK, t[i].want,
                    "weekend");
  crdt_calendar_free(cal);
}

/* ---- every bank holiday, 2025..2028 --------------------------------------- */

/* On roll the calendar day before each holiday: with count 1 the deadline is
 * the first working day after the holiday (or holidays), never the holiday. */
static const struct {
  uint32_t holiday, on_roll, c1, c5;
  int rc5;
} every_holiday[] = {
  /* 2025 */
  {20250101, 20241231, 20250102, 20250108, BT_OK}, /* Thu 2(1) Fri Mon Tue Wed 8(5) */
  {20250418, 20250417, 20250422, 20250428, BT_OK}, /* GF, wknd, EM: Tue 22(1)..Mon 28(5) */
  {20250421, 20250420, 20250422, 20250428, BT_OK},
  {20250505, 20250504, 20250506, 20250512, BT_OK},
  {20250526, 20250525, 20250527, 20250602, BT_OK}, /* Tue 27(1)..Fri 30, Mon 2 Jun(5) */
  {20250825, 20250824, 20250826, 20250901, BT_OK},
  {20251225, 20251224, 20251229, 20260105, BT_OK}, /* 29 30 31 [1 Jan] 2 5 */
  {20251226, 20251225, 20251229, 20260105, BT_OK},
  /* 2026 */
  {20260101, 20251231, 20260102, 20260108, BT_OK}, /* Fri 2(1) Mon 5..Thu 8(5) */
  {20260403, 20260402, 20260407, 20260413, BT_OK}, /* GF, wknd, EM: Tue 7(1)..Mon 13(5) */
  {20260406, 20260405, 20260407, 20260413, BT_OK},
  {20260504, 20260503, 20260505, 20260511, BT_OK},
  {20260525, 20260524, 20260526, 20260601, BT_OK},
  {20260831, 20260830, 20260901, 20260907, BT_OK},
  {20261225, 20261224, 20261229, 20270105, BT_OK}, /* [25 wknd 28] 29 30 31 [1 Jan] 4 5 */
  {20261228, 20261227, 20261229, 20270105, BT_OK},
  /* 2027 */
  {20270101, 20261231, 20270104, 20270108, BT_OK}, /* Mon 4(1)..Fri 8(5) */
  {20270326, 20270325, 20270330, 20270405, BT_OK}, /* Tue 30(1) 31 1 2 Mon 5 Apr(5) */
  {20270329, 20270328, 20270330, 20270405, BT_OK},
  {20270503, 20270502, 20270504, 20270510, BT_OK},
  {20270531, 20270530, 20270601, 20270607, BT_OK},
  {20270830, 20270829, 20270831, 20270906, BT_OK}, /* Tue 31(1) 1 2 3 Mon 6 Sep(5) */
  {20271227, 20271226, 20271229, 20280105, BT_OK}, /* 29 30 31 [3 Jan] 4 5 */
  {20271228, 20271227, 20271229, 20280105, BT_OK},
  /* 2028 */
  {20280103, 20280102, 20280104, 20280110, BT_OK}, /* Tue 4(1)..Fri 7, Mon 10(5) */
  {20280414, 20280413, 20280418, 20280424, BT_OK},
  {20280417, 20280416, 20280418, 20280424, BT_OK},
  {20280501, 20280430, 20280502, 20280508, BT_OK},
  {20280529, 20280528, 20280530, 20280605, BT_OK}, /* Tue 30(1) 31 1 2 Mon 5 Jun(5) */
  {20280828, 20280827, 20280829, 20280904, BT_OK}, /* Tue 29(1) 30 31 Fri 1 Mon 4(5) */
  /* Wed 27(1) Thu 28 Fri 29, then Mon 1 Jan 2029: not known. */
  {20281225, 20281224, 20281227, 0, BT_EHOLIDAYS},
  {20281226, 20281225, 20281227, 0, BT_EHOLIDAYS},
};

Test(crdt_calendar, every_bank_holiday_2025_to_2028_is_skipped)
{
  crdt_calendar *cal = cal_new();

  cr_assert_eq(N(every_holiday), N(domain_holidays));
  for (size_t i = 0; i < N(every_holiday); i++) {
    cr_assert_eq(every_holiday[i].holiday, domain_holidays[i]);
    cr_assert(crdt_calendar_holiday(cal, every_holiday[i].holiday, NULL));
    expect_deadline(cal, rule(WORKING, 1), every_holiday[i].on_roll, BT_OK,
                    every_holiday[i].c1, "holiday, count 1");
    cr_assert_gt(every_holiday[i].c1, every_holiday[i].holiday);
    expect_deadline(cal, rule(WORKING, 5), every_holiday[i].on_roll,
                    every_holiday[i].rc5, every_holiday[i].c5, "holiday, count 5");
  }
  crdt_calendar_free(cal);
}

/* ---- Christmas and Easter, with and without term dates --------------------- */

Test(crdt_calendar, christmas_and_easter_working_days_with_and_without_terms)
{
  static const struct {
    uint32_t on_roll, with_terms, without;
  } t[] = {
    /* Christmas 2025: autumn 2 ends Fri 19 Dec, spring 1 starts Mon 5 Jan. */
    {20251219, 20251230, 20251230}, /* last day of term: Mon 22(1) 23 24 29 30(5) */
    {20251220, 20260109, 20251230}, /* holiday: term day 1 is Mon 5 Jan, 5..9 */
    {20251222, 20260109, 20251231}, /* without: 23(1) 24 29 30 31(5) */
    {20251224, 20260109, 20260105}, /* without: 29 30 31 [1 Jan] 2 5 */
    {20251231, 20260109, 20260108}, /* without: Fri 2(1) Mon 5..Thu 8(5) */
    {20260102, 20260109, 20260109},
    {20260104, 20260109, 20260109}, /* Sunday before term */
    {20260105, 20260112, 20260112}, /* first day of term is in term: 6..9, 12 */
    /* Easter 2026: spring 2 ends Fri 27 Mar, summer 1 starts Mon 13 Apr;
     * Good Friday 3 Apr and Easter Monday 6 Apr fall in the break. */
    {20260327, 20260407, 20260407}, /* last day: Mon 30(1) 31 1 2 [3, 6] Tue 7(5) */
    {20260328, 20260417, 20260407}, /* holiday: term day 1 is Mon 13 Apr, 13..17 */
    {20260330, 20260417, 20260408}, /* without: 31(1) 1 2 7 8(5) */
    {20260402, 20260417, 20260413}, /* without: 7(1) 8 9 10 13(5) */
    {20260403, 20260417, 20260413}, /* on roll on Good Friday */
    {20260410, 20260417, 20260417},
    {20260413, 20260420, 20260420}, /* first day of summer term: 14..17, 20 */
    /* Half-term 25 Oct .. 2 Nov 2025. */
    {20251027, 20251107, 20251103}, /* without: 28(1) 29 30 31 Mon 3 Nov(5) */
    /* Summer holiday after the last term: unknown with terms. */
    {20260724, 0, 20260731},        /* Fri: Mon 27(1)..Fri 31(5) */
  };
  crdt_calendar *with = cal_with_terms(), *without = cal_new();

  for (size_t i = 0; i < N(t); i++) {
    expect_deadline(with, CRDT_CALENDAR_RULE_DEFAULT, t[i].on_roll,
                    t[i].with_terms ? BT_OK : BT_ETERMS, t[i].with_terms,
                    "with terms");
    expect_deadline(without, CRDT_CALENDAR_RULE_DEFAULT, t[i].on_roll, BT_OK,
                    t[i].without, "without terms");
  }
  crdt_calendar_free(with);
  crdt_calendar_free(without);
}

Test(crdt_calendar, school_days_skip_holidays_and_need_terms)
{
  static const struct {
    uint32_t on_roll, want;
  } t[] = {
    {20251218, 20260108}, /* Thu: Fri 19(1), Mon 5..Thu 8 Jan(5) */
    {20251219, 20260109}, /* last day of term: 5..9 Jan */
    {20251222, 20260109},
    {20260326, 20260416}, /* Thu: Fri 27(1), Mon 13..Thu 16 Apr(5) */
    {20260327, 20260417},
    {20260401, 20260417},
    {20251023, 20251106}, /* Thu: Fri 24(1), half-term, Mon 3..Thu 6 Nov(5) */
    {20251027, 20251107}, /* in half-term */
    {20260501, 20260511}, /* Fri: [Mon 4 May bank holiday] Tue 5(1)..Mon 11(5) */
    {20250902, 20250909}, /* day before the first term: Wed 3(1)..Tue 9(5) */
    {20250609, 0},        /* before the first term, school days between: unknown */
    {20260720, 0},        /* Tue 21(1) Wed 22(2), then past the last term */
  };
  crdt_calendar *with = cal_with_terms(), *without = cal_new();

  for (size_t i = 0; i < N(t); i++) {
    expect_deadline(with, rule(SCHOOL, 5), t[i].on_roll, t[i].want ? BT_OK : BT_ETERMS,
                    t[i].want, "school days");
    expect_deadline(without, rule(SCHOOL, 5), t[i].on_roll, BT_ETERMS, 0,
                    "school days without terms");
  }
  crdt_calendar_free(with);
  crdt_calendar_free(without);
}

Test(crdt_calendar, school_and_working_days_agree_inside_a_term)
{
  /* Whole weeks in term with no holiday: both types give the same day. */
  static const uint32_t on_roll[] = {20250915, 20251112, 20260121, 20260305, 20260617};
  static const uint32_t want[] = {20250922, 20251119, 20260128, 20260312, 20260624};
  crdt_calendar *cal = cal_with_terms();

  for (size_t i = 0; i < N(on_roll); i++) {
    expect_deadline(cal, rule(WORKING, 5), on_roll[i], BT_OK, want[i], "working");
    expect_deadline(cal, rule(SCHOOL, 5), on_roll[i], BT_OK, want[i], "school");
  }
  crdt_calendar_free(cal);
}

Test(crdt_calendar, term_starting_on_a_bank_holiday_starts_on_the_next_working_day)
{
  /* Summer term entered as starting on Easter Monday 6 Apr 2026. */
  static const crdt_calendar_term terms[] = {{20260105, 20260327}, {20260406, 20260722}};
  crdt_calendar *cal = cal_new();

  cr_assert_eq(crdt_calendar_set_terms(cal, terms, N(terms)), BT_OK);
  /* [Mon 6 bank holiday] Tue 7(1) Wed 8 Thu 9 Fri 10, Mon 13(5) */
  expect_deadline(cal, rule(WORKING, 5), 20260330, BT_OK, 20260413, "working");
  expect_deadline(cal, rule(WORKING, 1), 20260330, BT_OK, 20260407, "working");
  expect_deadline(cal, rule(SCHOOL, 5), 20260330, BT_OK, 20260413, "school");
  crdt_calendar_free(cal);
}

Test(crdt_calendar, before_the_first_term_only_with_no_working_day_between)
{
  static const crdt_calendar_term terms[] = {{20260105, 20260327}};
  crdt_calendar *cal = cal_new();

  cr_assert_eq(crdt_calendar_set_terms(cal, terms, N(terms)), BT_OK);
  expect_deadline(cal, rule(WORKING, 5), 20260102, BT_OK, 20260109, "only a weekend");
  expect_deadline(cal, rule(WORKING, 5), 20260104, BT_OK, 20260109, "Sunday");
  /* Fri 2 Jan is a working day before the first term: holiday or term? */
  expect_deadline(cal, rule(WORKING, 5), 20260101, BT_ETERMS, 0, "bank holiday");
  expect_deadline(cal, rule(WORKING, 5), 20251231, BT_ETERMS, 0, "a week before");
  expect_deadline(cal, rule(WORKING, 5), 20260328, BT_ETERMS, 0, "after the last");
  /* In term, working days run past the last term without needing it. */
  expect_deadline(cal, rule(WORKING, 5), 20260326, BT_OK, 20260402, "in term");
  crdt_calendar_free(cal);
}

/* ---- imported holidays ---------------------------------------------------- */

Test(crdt_calendar, an_imported_one_off_holiday_moves_the_deadline)
{
  crdt_calendar *cal = cal_new();
  bt_str title;
  uint32_t ymd;

  /* Fri 7 May 2027: Mon 10(1)..Fri 14(5); count 1 gives Mon 10. */
  expect_deadline(cal, rule(WORKING, 5), 20270507, BT_OK, 20270514, "before import");
  expect_deadline(cal, rule(WORKING, 1), 20270507, BT_OK, 20270510, "before import");
  /* A coronation-style one-off on Mon 10 May 2027, a week after Early May. */
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20270510,
                                         BT_STR("Bank holiday for a coronation")),
               BT_OK);
  cr_assert_eq(crdt_calendar_holiday_count(cal), CRDT_CALENDAR_BUILTIN_COUNT + 1);
  cr_assert(crdt_calendar_holiday(cal, 20270510, &title));
  cr_assert(bt_str_eq(title, BT_STR("Bank holiday for a coronation")));
  /* Sorted in among the built-in ones: after 3 May, before 31 May. */
  cr_assert_eq(crdt_calendar_holiday_at(cal, 20, &ymd, NULL), BT_OK);
  cr_assert_eq(ymd, 20270510);
  cr_assert_eq(crdt_calendar_holiday_at(cal, 21, &ymd, NULL), BT_OK);
  cr_assert_eq(ymd, 20270531);
  /* Tue 11(1) Wed 12 Thu 13 Fri 14, Mon 17(5); count 1 gives Tue 11. */
  expect_deadline(cal, rule(WORKING, 5), 20270507, BT_OK, 20270517, "after import");
  expect_deadline(cal, rule(WORKING, 1), 20270507, BT_OK, 20270511, "after import");
  expect_left(cal, WORKING, 20270517, 20270507, BT_OK, 5);
  crdt_calendar_free(cal);
}

Test(crdt_calendar, importing_a_year_makes_it_known)
{
  /* England and Wales 2029 (Easter Sunday 1 April) and 2024 (31 March). */
  static const uint32_t y2029[] = {20290101, 20290330, 20290402, 20290507,
                                   20290528, 20290827, 20291225, 20291226};
  static const uint32_t y2024[] = {20240101, 20240329, 20240401, 20240506,
                                   20240527, 20240826, 20241225, 20241226};
  crdt_calendar *cal = cal_new();

  /* Wed 27 Dec 2028: Thu 28(1) Fri 29(2), Mon 1 Jan 2029 unknown. */
  expect_deadline(cal, rule(WORKING, 5), 20281227, BT_EHOLIDAYS, 0, "2029 unknown");
  expect_deadline(cal, rule(WORKING, 2), 20281227, BT_OK, 20281229, "within 2028");
  /* Fri 20 Dec 2024: Mon 23 is the first day looked at. */
  expect_deadline(cal, rule(WORKING, 5), 20241220, BT_EHOLIDAYS, 0, "2024 unknown");
  for (size_t i = 0; i < N(y2029); i++)
    cr_assert_eq(crdt_calendar_add_holiday(cal, y2029[i], (bt_str){NULL, 0}), BT_OK);
  for (size_t i = 0; i < N(y2024); i++)
    cr_assert_eq(crdt_calendar_add_holiday(cal, y2024[i], BT_STR("x")), BT_OK);
  cr_assert(crdt_calendar_covers(cal, 2029));
  cr_assert(crdt_calendar_covers(cal, 2024));
  cr_assert(!crdt_calendar_covers(cal, 2030));
  /* Thu 28(1) Fri 29(2) [Mon 1 Jan] Tue 2(3) Wed 3(4) Thu 4(5) */
  expect_deadline(cal, rule(WORKING, 5), 20281227, BT_OK, 20290104, "2029 known");
  /* Mon 23(1) Tue 24(2) [25, 26] Fri 27(3) Mon 30(4) Tue 31(5) */
  expect_deadline(cal, rule(WORKING, 5), 20241220, BT_OK, 20241231, "2024 known");
  /* Still nothing past 2029: Mon 24 Dec 2029, [25, 26], Thu 27(1) Fri 28 Mon 31(3),
   * then Tue 1 Jan 2030. */
  expect_deadline(cal, rule(WORKING, 3), 20291224, BT_OK, 20291231, "end of 2029");
  expect_deadline(cal, rule(WORKING, 4), 20291224, BT_EHOLIDAYS, 0, "2030 unknown");
  crdt_calendar_free(cal);
}

Test(crdt_calendar, duplicate_holidays_are_ignored)
{
  crdt_calendar *cal = cal_new();
  bt_str title;

  cr_assert_eq(crdt_calendar_add_holiday(cal, 20251225, BT_STR("Christmas Day")), BT_OK);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20251225, BT_STR("Other")), BT_OK);
  cr_assert_eq(crdt_calendar_holiday_count(cal), CRDT_CALENDAR_BUILTIN_COUNT);
  cr_assert(crdt_calendar_holiday(cal, 20251225, &title));
  cr_assert(bt_str_eq(title, BT_STR("Christmas Day")));
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20270510, BT_STR("first")), BT_OK);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20270510, BT_STR("second")), BT_OK);
  cr_assert_eq(crdt_calendar_holiday_count(cal), CRDT_CALENDAR_BUILTIN_COUNT + 1);
  cr_assert(crdt_calendar_holiday(cal, 20270510, &title));
  cr_assert(bt_str_eq(title, BT_STR("first")));
  crdt_calendar_free(cal);
}

Test(crdt_calendar, bad_holidays_are_refused_and_change_nothing)
{
  char long_title[CRDT_CALENDAR_TITLE_MAX + 1];
  crdt_calendar *cal = cal_new();

  memset(long_title, 'a', sizeof long_title);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 0, BT_STR("x")), BT_EDATE);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20270229, BT_STR("x")), BT_EDATE);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20271301, BT_STR("x")), BT_EDATE);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 18991231, BT_STR("x")), BT_EDATE);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 22000101, BT_STR("x")), BT_EDATE);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101,
                                         (bt_str){long_title, sizeof long_title}),
               BT_ETOOBIG);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101, BT_STR("\x1b[31mred")), BT_EINVAL);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101, BT_STR("two\nlines")), BT_EINVAL);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101, BT_STR("bad \xff utf-8")),
               BT_EINVAL);
  cr_assert_eq(crdt_calendar_holiday_count(cal), CRDT_CALENDAR_BUILTIN_COUNT);
  cr_assert(!crdt_calendar_covers(cal, 2030));
  /* Exactly the maximum title length is fine. */
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101,
                                         (bt_str){long_title, CRDT_CALENDAR_TITLE_MAX}),
               BT_OK);
  crdt_calendar_free(cal);
}

Test(crdt_calendar, added_holidays_are_bounded)
{
  crdt_calendar *cal = cal_new();
  uint32_t ymd;
  size_t added = 0;

  /* Every day of 2030 and 2031 (365 each) until the cap. */
  for (uint32_t y = 2030; added < CRDT_CALENDAR_ADDED_MAX; y++)
    for (uint32_t m = 1; m <= 12 && added < CRDT_CALENDAR_ADDED_MAX; m++)
      for (uint32_t d = 1; d <= 28 && added < CRDT_CALENDAR_ADDED_MAX; d++, added++)
        cr_assert_eq(crdt_calendar_add_holiday(cal, y * 10000 + m * 100 + d,
                                               BT_STR("h")), BT_OK);
  cr_assert_eq(crdt_calendar_holiday_count(cal),
               CRDT_CALENDAR_BUILTIN_COUNT + CRDT_CALENDAR_ADDED_MAX);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20400101, BT_STR("one too many")),
               BT_ETOOBIG);
  cr_assert(!crdt_calendar_holiday(cal, 20400101, NULL));
  cr_assert(!crdt_calendar_covers(cal, 2040));
  /* A duplicate is still fine when full: importing the same file again. */
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20251225, BT_STR("Christmas Day")), BT_OK);
  cr_assert_eq(crdt_calendar_add_holiday(cal, 20300101, BT_STR("h")), BT_OK);
  /* Still sorted. */
  for (size_t i = 1; i < crdt_calendar_holiday_count(cal); i++) {
    uint32_t prev;

    cr_assert_eq(crdt_calendar_holiday_at(cal, i - 1, &prev, NULL), BT_OK);
    cr_assert_eq(crdt_calendar_holiday_at(cal, i, &ymd, NULL), BT_OK);
    cr_assert_lt(prev, ymd, "index %zu", i);
  }
  crdt_calendar_free(cal);
}

/* ---- counts 1 and 10 ------------------------------------------------------- */

Test(crdt_calendar, counts_one_and_ten)
{
  static const struct {
    int terms;
    crdt_calendar_days days;
    uint32_t count, on_roll, want;
  } t[] = {
    {0, WORKING, 1, 20250606, 20250609},  /* Fri -> Mon */
    {0, WORKING, 1, 20250602, 20250603},  /* Mon -> Tue */
    {0, WORKING, 1, 20251224, 20251229},  /* over Christmas */
    {1, WORKING, 1, 20251222, 20260105},  /* holiday: the first day of term */
    {1, SCHOOL, 1, 20251219, 20260105},
    {0, WORKING, 10, 20250602, 20250616}, /* 3..6 (4), 9..13 (9), Mon 16 (10) */
    {0, WORKING, 10, 20251222, 20260108}, /* 23 24 29 30 31 2 5 6 7 8 */
    {1, WORKING, 10, 20251222, 20260116}, /* 5..9 (5), 12..16 (10) */
    {1, SCHOOL, 10, 20251218, 20260115},  /* 19 (1), 5..9 (6), 12 13 14 15 (10) */
    {1, WORKING, 10, 20260401, 20260424}, /* Easter break: 13..17, 20..24 */
    {1, SCHOOL, 10, 20260515, 20260605},  /* Fri: 18..22 (5), half-term, 1..5 Jun (10) */
  };
  crdt_calendar *with = cal_with_terms(), *without = cal_new();

  for (size_t i = 0; i < N(t); i++)
    expect_deadline(t[i].terms ? with : without, rule(t[i].days, t[i].count),
                    t[i].on_roll, BT_OK, t[i].want, "count");
  crdt_calendar_free(with);
  crdt_calendar_free(without);
}

/* ---- days left ------------------------------------------------------------- */

Test(crdt_calendar, days_left_before_on_and_after_the_deadline)
{
  static const struct {
    crdt_calendar_days days;
    uint32_t deadline, now;
    int32_t want;
  } t[] = {
    /* Deadline Fri 13 Jun 2025. */
    {WORKING, 20250613, 20250606, 5},  /* 9..13 */
    {WORKING, 20250613, 20250607, 5},  /* Saturday */
    {WORKING, 20250613, 20250609, 4},  /* Mon: Tue..Fri */
    {WORKING, 20250613, 20250612, 1},
    {WORKING, 20250613, 20250613, 0},  /* the deadline day */
    {WORKING, 20250613, 20250614, -1}, /* Saturday after: already overdue */
    {WORKING, 20250613, 20250615, -1},
    {WORKING, 20250613, 20250616, -1}, /* Monday */
    {WORKING, 20250613, 20250617, -2},
    {WORKING, 20250613, 20250620, -5},
    {WORKING, 20250613, 20250101, 113}, /* 22+20+21+22+22+10 weekdays, 4 holidays */
    /* Deadline Wed 31 Dec 2025, over Christmas. */
    {WORKING, 20251231, 20251222, 5},  /* 23 24 29 30 31 */
    {WORKING, 20251231, 20251224, 3},
    {WORKING, 20251231, 20251225, 3},
    {WORKING, 20251231, 20260101, -1}, /* bank holiday after: overdue */
    {WORKING, 20251231, 20260102, -1},
    {WORKING, 20251231, 20260105, -2},
    /* Working days ignore terms: 23 24 29 30 31 2 5 6 7 8 9. */
    {WORKING, 20260109, 20251222, 11},
    /* School days (the table's calendar has term dates). */
    {SCHOOL, 20260109, 20251219, 5},   /* 5..9 Jan */
    {SCHOOL, 20260109, 20251222, 5},
    {SCHOOL, 20260109, 20260105, 4},
    {SCHOOL, 20260109, 20260109, 0},
    {SCHOOL, 20260109, 20260112, -1},
    {SCHOOL, 20260416, 20260326, 5},   /* 27 Mar, 13..16 Apr */
    {SCHOOL, 20260416, 20260330, 4},
    {SCHOOL, 20260327, 20260410, -1},  /* Easter break after a Friday deadline */
    {SCHOOL, 20260327, 20260413, -1},
    {SCHOOL, 20260327, 20260414, -2},
    /* A deadline that is not a working day (stored under another rule). */
    {WORKING, 20250614, 20250613, 0},
    {WORKING, 20250614, 20250614, 0},
    {WORKING, 20250614, 20250615, -1},
    {WORKING, 20250614, 20250616, -1},
  };
  crdt_calendar *cal = cal_with_terms();

  for (size_t i = 0; i < N(t); i++)
    expect_left(cal, t[i].days, t[i].deadline, t[i].now, BT_OK, t[i].want);
  /* On the deadline day nothing needs to be known. */
  expect_left(cal, SCHOOL, 20350101, 20350101, BT_OK, 0);
  crdt_calendar_free(cal);
}

/* ---- errors ---------------------------------------------------------------- */

Test(crdt_calendar, rules_are_checked)
{
  crdt_calendar *cal = cal_with_terms();

  cr_assert_eq(crdt_calendar_rule_check(CRDT_CALENDAR_RULE_DEFAULT), BT_OK);
  cr_assert_eq(CRDT_CALENDAR_RULE_DEFAULT.days, WORKING);
  cr_assert_eq(CRDT_CALENDAR_RULE_DEFAULT.count, 5);
  cr_assert_eq(crdt_calendar_rule_check(rule(WORKING, 1)), BT_OK);
  cr_assert_eq(crdt_calendar_rule_check(rule(SCHOOL, 60)), BT_OK);
  cr_assert_eq(crdt_calendar_rule_check(rule(WORKING, 0)), BT_EINVAL);
  cr_assert_eq(crdt_calendar_rule_check(rule(WORKING, 61)), BT_EINVAL);
  cr_assert_eq(crdt_calendar_rule_check(rule(WORKING, UINT32_MAX)), BT_EINVAL);
  cr_assert_eq(crdt_calendar_rule_check(rule((crdt_calendar_days)0, 5)), BT_EINVAL);
  cr_assert_eq(crdt_calendar_rule_check(rule((crdt_calendar_days)3, 5)), BT_EINVAL);
  cr_assert_eq(crdt_calendar_rule_check((crdt_calendar_rule){0}), BT_EINVAL);
  expect_deadline(cal, rule(WORKING, 0), 20250602, BT_EINVAL, 0, "count 0");
  expect_deadline(cal, rule(WORKING, 61), 20250602, BT_EINVAL, 0, "count 61");
  expect_deadline(cal, rule((crdt_calendar_days)0, 5), 20250602, BT_EINVAL, 0, "type 0");
  expect_deadline(cal, rule((crdt_calendar_days)7, 5), 20250602, BT_EINVAL, 0, "type 7");
  crdt_calendar_free(cal);
}

Test(crdt_calendar, deadline_errors)
{
  crdt_calendar *cal = cal_new(), *terms = cal_with_terms();
  static const uint32_t bad[] = {0, 20250229, 20251301, 20250100, 20250431,
                                 18991231, 22000101, UINT32_MAX};

  for (size_t i = 0; i < N(bad); i++) {
    expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, bad[i], BT_EDATE, 0, "bad date");
    expect_deadline(terms, rule(SCHOOL, 5), bad[i], BT_EDATE, 0, "bad date");
  }
  /* No term dates for school days. */
  expect_deadline(cal, rule(SCHOOL, 5), 20250602, BT_ETERMS, 0, "no terms");
  /* Bank holidays not known. */
  expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 20240603, BT_EHOLIDAYS, 0, "2024");
  expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 20290604, BT_EHOLIDAYS, 0, "2029");
  expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 21000104, BT_EHOLIDAYS, 0, "2100");
  /* Only weekdays of an unknown year matter: Fri 29 Dec 2028 + 1 day. */
  expect_deadline(cal, rule(WORKING, 1), 20281228, BT_OK, 20281229, "weekend only");
  expect_deadline(cal, rule(WORKING, 1), 20281229, BT_EHOLIDAYS, 0, "Mon 1 Jan 2029");
  /* Term dates: after the last term (summer holiday or an unknown term?). */
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20260723, BT_ETERMS, 0, "after");
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20270104, BT_ETERMS, 0, "after");
  /* Before the first term with working days between (Thu 28 Aug .. Tue 2 Sep). */
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20250827, BT_ETERMS, 0, "before");
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20250901, BT_ETERMS, 0, "before");
  /* The day before the first term has nothing between: Wed 3(1)..Tue 9 Sep(5). */
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20250902, BT_OK, 20250909, "eve");
  /* In the last term, working days need no term past it: Mon 20 Jul 2026,
   * Tue 21(1) 22 23 24 Mon 27(5). */
  expect_deadline(terms, CRDT_CALENDAR_RULE_DEFAULT, 20260720, BT_OK, 20260727, "end");
  expect_deadline(terms, rule(SCHOOL, 5), 20260720, BT_ETERMS, 0, "school past end");
  crdt_calendar_free(cal);
  crdt_calendar_free(terms);
}

Test(crdt_calendar, deadline_past_the_last_representable_date_is_an_error)
{
  crdt_calendar *cal = cal_new();

  /* 31 Dec 2199 is a Tuesday; 2200 cannot be represented. */
  cr_assert_eq(crdt_calendar_add_holiday(cal, 21991225, BT_STR("Christmas Day")), BT_OK);
  expect_deadline(cal, rule(WORKING, 1), 21991230, BT_OK, 21991231, "last day");
  expect_deadline(cal, rule(WORKING, 2), 21991230, BT_EDATE, 0, "past 2199");
  expect_deadline(cal, rule(WORKING, 1), 21991231, BT_EDATE, 0, "past 2199");
  crdt_calendar_free(cal);
}

Test(crdt_calendar, days_left_errors)
{
  crdt_calendar *cal = cal_new(), *terms = cal_with_terms();

  expect_left(cal, WORKING, 0, 20250602, BT_EDATE, 0);
  expect_left(cal, WORKING, 20250602, 20250230, BT_EDATE, 0);
  expect_left(cal, WORKING, 22000101, 20250602, BT_EDATE, 0);
  expect_left(cal, (crdt_calendar_days)0, 20250613, 20250602, BT_EINVAL, 0);
  expect_left(cal, (crdt_calendar_days)3, 20250613, 20250602, BT_EINVAL, 0);
  expect_left(cal, SCHOOL, 20250613, 20250602, BT_ETERMS, 0);
  expect_left(cal, WORKING, 20290105, 20281227, BT_EHOLIDAYS, 0);
  expect_left(cal, WORKING, 20281227, 20290105, BT_EHOLIDAYS, 0);
  expect_left(cal, WORKING, 20250106, 20241227, BT_EHOLIDAYS, 0);
  /* School days past the last term or before the first. */
  expect_left(terms, SCHOOL, 20260722, 20260731, BT_ETERMS, 0);
  expect_left(terms, SCHOOL, 20250905, 20250825, BT_ETERMS, 0);
  crdt_calendar_free(cal);
  crdt_calendar_free(terms);
}

Test(crdt_calendar, term_lists_are_checked_sorted_and_replaced_whole)
{
  static const crdt_calendar_term shuffled[] = {
    {20260601, 20260722}, {20250903, 20251024}, {20260223, 20260327},
    {20251103, 20251219}, {20260413, 20260522}, {20260105, 20260213},
  };
  crdt_calendar_term many[CRDT_CALENDAR_TERMS_MAX + 1];
  const crdt_calendar_term *got = la_terms;
  crdt_calendar *cal = cal_new();

  cr_assert_eq(crdt_calendar_terms(cal, &got), 0);
  cr_assert_null(got);
  cr_assert_eq(crdt_calendar_set_terms(cal, shuffled, N(shuffled)), BT_OK);
  cr_assert_eq(crdt_calendar_terms(cal, &got), N(la_terms));
  cr_assert_arr_eq(got, la_terms, sizeof la_terms);
  expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 20251222, BT_OK, 20260109, "sorted");

  /* Each bad list is refused and the sorted list above stays. */
  {
    static const crdt_calendar_term bad_date[] = {{20250903, 20251024}, {20251103, 20251232}};
    static const crdt_calendar_term bad_first[] = {{20250931, 20251024}};
    static const crdt_calendar_term zero[] = {{0, 20251024}};
    static const crdt_calendar_term backwards[] = {{20251024, 20250903}};
    static const crdt_calendar_term overlap[] = {{20250903, 20251024}, {20251020, 20251219}};
    static const crdt_calendar_term shared_day[] = {{20250903, 20251024}, {20251024, 20251219}};
    static const crdt_calendar_term same[] = {{20250903, 20251024}, {20250903, 20251024}};
    static const crdt_calendar_term inside[] = {{20250903, 20251219}, {20251103, 20251107}};
    static const struct {
      const crdt_calendar_term *t;
      size_t n;
      int rc;
    } cases[] = {
      {bad_date, N(bad_date), BT_EDATE},     {bad_first, N(bad_first), BT_EDATE},
      {zero, N(zero), BT_EDATE},             {backwards, N(backwards), BT_EINVAL},
      {overlap, N(overlap), BT_EINVAL},      {shared_day, N(shared_day), BT_EINVAL},
      {same, N(same), BT_EINVAL},            {inside, N(inside), BT_EINVAL},
    };

    for (size_t i = 0; i < N(cases); i++) {
      cr_assert_eq(crdt_calendar_set_terms(cal, cases[i].t, cases[i].n), cases[i].rc,
                   "case %zu", i);
      cr_assert_eq(crdt_calendar_terms(cal, &got), N(la_terms), "case %zu", i);
      cr_assert_arr_eq(got, la_terms, sizeof la_terms, "case %zu", i);
    }
  }
  /* Too many: one term a month from January 2025. */
  for (size_t i = 0; i < N(many); i++) {
    uint32_t y = 2025 + (uint32_t)(i / 12), m = 1 + (uint32_t)(i % 12);

    many[i] = (crdt_calendar_term){y * 10000 + m * 100 + 1, y * 10000 + m * 100 + 20};
  }
  cr_assert_eq(crdt_calendar_set_terms(cal, many, N(many)), BT_ETOOBIG);
  cr_assert_eq(crdt_calendar_terms(cal, &got), N(la_terms));
  cr_assert_eq(crdt_calendar_set_terms(cal, many, CRDT_CALENDAR_TERMS_MAX), BT_OK);
  cr_assert_eq(crdt_calendar_terms(cal, &got), CRDT_CALENDAR_TERMS_MAX);

  /* Adjacent terms share no day and are fine. */
  {
    static const crdt_calendar_term adjacent[] = {{20250903, 20251024}, {20251025, 20251219}};

    cr_assert_eq(crdt_calendar_set_terms(cal, adjacent, N(adjacent)), BT_OK);
    /* Mon 27 Oct is now in term: Tue 28(1)..Mon 3 Nov(5). */
    expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 20251027, BT_OK, 20251103, "adj");
  }
  /* n == 0 removes them. */
  cr_assert_eq(crdt_calendar_set_terms(cal, NULL, 0), BT_OK);
  cr_assert_eq(crdt_calendar_terms(cal, &got), 0);
  expect_deadline(cal, rule(SCHOOL, 5), 20251027, BT_ETERMS, 0, "removed");
  expect_deadline(cal, CRDT_CALENDAR_RULE_DEFAULT, 20251027, BT_OK, 20251103, "removed");
  crdt_calendar_free(cal);
}

Test(crdt_calendar, new_error_codes_have_names_and_messages)
{
  cr_assert_str_eq(bt_errname(BT_EHOLIDAYS), "BT_EHOLIDAYS");
  cr_assert_str_eq(bt_errname(BT_ETERMS), "BT_ETERMS");
  cr_assert_str_neq(bt_strerror(BT_EHOLIDAYS), bt_strerror(BT_ETERMS));
  cr_assert_neq(BT_EHOLIDAYS, BT_ETERMS);
}

/* ---- the oracle ------------------------------------------------------------ */

static int o_leap(uint32_t y)
{
  return y % 400 == 0 || (y % 4 == 0 && y % 100 != 0);
}

static uint32_t o_next(uint32_t ymd)
{
  static const uint32_t len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  uint32_t y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
  uint32_t last = len[m - 1] + (m == 2 && o_leap(y));

  if (d < last)
    return ymd + 1;
  if (m < 12)
    return y * 10000 + (m + 1) * 100 + 1;
  return (y + 1) * 10000 + 101;
}

/* Sakamoto's method, shifted so Monday is 0. */
static int o_weekday(uint32_t ymd)
{
  static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  int y = (int)(ymd / 10000), m = (int)(ymd / 100 % 100), d = (int)(ymd % 100);

  y -= m < 3;
  return ((y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7 + 6) % 7;
}

static int o_bank(uint32_t ymd)
{
  for (size_t i = 0; i < N(domain_holidays); i++)
    if (domain_holidays[i] == ymd)
      return 1;
  return 0;
}

static int o_working(uint32_t ymd)
{
  return o_weekday(ymd) < 5 && !o_bank(ymd);
}

static int o_in_term(uint32_t ymd)
{
  for (size_t i = 0; i < N(la_terms); i++)
    if (la_terms[i].first <= ymd && ymd <= la_terms[i].last)
      return 1;
  return 0;
}

/* Working days in (lo, hi]. */
static int32_t o_count(uint32_t lo, uint32_t hi)
{
  int32_t n = 0;

  for (uint32_t d = o_next(lo); d <= hi; d = o_next(d))
    n += o_working(d);
  return n;
}

/* Every day of 2025..2028, in order. */
static uint32_t o_days[4 * 366];
static size_t o_ndays;

static void o_fill(void)
{
  o_ndays = 0;
  for (uint32_t d = 20250101; d <= 20281231; d = o_next(d))
    o_days[o_ndays++] = d;
}

Test(crdt_calendar, oracle_agrees_with_the_printed_calendar)
{
  o_fill();
  cr_assert_eq(o_ndays, 365 + 365 + 365 + 366);
  cr_assert_eq(o_weekday(20250101), 2); /* Wednesday */
  cr_assert_eq(o_weekday(20260403), 4); /* Good Friday */
  cr_assert_eq(o_weekday(20281231), 6); /* Sunday */
  cr_assert_eq(o_weekday(20280229), 1); /* Tuesday */
  for (size_t i = 0; i < N(domain_holidays); i++)
    cr_assert_lt(o_weekday(domain_holidays[i]), 5, "%" PRIu32, domain_holidays[i]);
}

/* For random on-roll dates in 2025..2028 and counts 1..60 (working days, no
 * term dates): the deadline is a working day after the on-roll date with
 * exactly count working days in (on_roll, deadline]; BT_EHOLIDAYS exactly
 * when the oracle's walk reaches a weekday of 2029. days_left agrees too. */
Test(crdt_calendar, deadline_property_working_days)
{
  crdt_calendar *cal = cal_new();

  o_fill();
  for (uint64_t seed = 1; seed <= 600; seed++) {
    gen_rng r;
    uint32_t on_roll, count, got = 0, want = 0, now;
    int rc, want_rc = BT_OK;
    int32_t left, n = 0;

    gen_seed(&r, seed);
    on_roll = o_days[gen_below(&r, o_ndays)];
    count = 1 + (uint32_t)gen_below(&r, seed % 4 == 0 ? 60 : 10);
    for (uint32_t d = on_roll; n < (int32_t)count;) {
      d = o_next(d);
      if (o_weekday(d) < 5 && d > 20281231) {
        want_rc = BT_EHOLIDAYS;
        break;
      }
      n += o_working(d);
      want = d;
    }
    rc = crdt_calendar_deadline(cal, rule(WORKING, count), on_roll, &got);
    cr_assert_eq(rc, want_rc, "seed %" PRIu64 ": on roll %" PRIu32 " count %" PRIu32
                 ": %s", seed, on_roll, count, bt_errname(rc));
    if (rc != BT_OK)
      continue;
    cr_assert(o_working(got), "seed %" PRIu64 ": %" PRIu32 " not a working day", seed, got);
    cr_assert_gt(got, on_roll, "seed %" PRIu64, seed);
    cr_assert_eq(o_count(on_roll, got), (int32_t)count, "seed %" PRIu64, seed);
    cr_assert_eq(got, want, "seed %" PRIu64 ": on roll %" PRIu32 " count %" PRIu32,
                 seed, on_roll, count);
    /* On the on-roll date, count days are left. */
    cr_assert_eq(crdt_calendar_days_left(cal, WORKING, got, on_roll, &left), BT_OK);
    cr_assert_eq(left, (int32_t)count, "seed %" PRIu64, seed);
    /* Any other day of 2025..2028. */
    now = o_days[gen_below(&r, o_ndays)];
    cr_assert_eq(crdt_calendar_days_left(cal, WORKING, got, now, &left), BT_OK,
                 "seed %" PRIu64, seed);
    if (now <= got)
      cr_assert_eq(left, o_count(now, got), "seed %" PRIu64 ": now %" PRIu32, seed, now);
    else
      cr_assert_eq(left, o_count(got, now) > 0 ? -o_count(got, now) : -1,
                   "seed %" PRIu64 ": now %" PRIu32, seed, now);
  }
  crdt_calendar_free(cal);
}

/* The same with the LA's term dates, both day types, on-roll dates inside
 * the span of the terms: the oracle starts counting at the on-roll date in
 * term, or at the first day of the next term (counted itself) in a holiday. */
Test(crdt_calendar, deadline_property_with_terms)
{
  crdt_calendar *cal = cal_with_terms();
  size_t lo = 0, hi = 0;

  o_fill();
  while (o_days[lo] != 20250903)
    lo++;
  while (o_days[hi] != 20260722)
    hi++;
  for (uint64_t seed = 1; seed <= 600; seed++) {
    gen_rng r;
    int school;
    uint32_t on_roll, count, got = 0, want = 0, d;
    int rc, want_rc = BT_OK;
    uint32_t n = 0;

    gen_seed(&r, seed);
    school = (int)gen_below(&r, 2);
    on_roll = o_days[lo + gen_below(&r, hi - lo + 1)];
    count = 1 + (uint32_t)gen_below(&r, seed % 4 == 0 ? 60 : 10);
    d = on_roll;
    if (!school && !o_in_term(on_roll)) {
      /* Find the first day of the next term; it is day 1 if a working day. */
      do
        d = o_next(d);
      while (!o_in_term(d));
      if (o_working(d) && ++n == count)
        want = d;
    }
    while (n < count) {
      d = o_next(d);
      if (school && o_working(d) && d > 20260722) {
        want_rc = BT_ETERMS;
        break;
      }
      if (o_working(d) && (!school || o_in_term(d)) && ++n == count)
        want = d;
    }
    rc = crdt_calendar_deadline(cal, rule(school ? SCHOOL : WORKING, count), on_roll,
                                &got);
    cr_assert_eq(rc, want_rc, "seed %" PRIu64 ": on roll %" PRIu32 " count %" PRIu32
                 " school %d: %s", seed, on_roll, count, school, bt_errname(rc));
    if (rc == BT_OK)
      cr_assert_eq(got, want, "seed %" PRIu64 ": on roll %" PRIu32 " count %" PRIu32
                   " school %d: got %" PRIu32 " want %" PRIu32, seed, on_roll, count,
                   school, got, want);
  }
  crdt_calendar_free(cal);
}
