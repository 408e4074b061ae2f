/* tests/node/test_calendar.c: the deadline settings kept in a store
 * (node/calendar.h): the rule, term dates, and GOV.UK bank-holiday
 * imports, all or nothing. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "crdt/calendar.h"
#include "crdt/err.h"
#include "node/calendar.h"
#include "node/parties.h"

static char dir[64];
static node_store *s;

static void setup(void)
{
  party_mkdtemp(dir, sizeof dir);
  s = party_store_open(dir);
}

static void teardown(void)
{
  node_store_close(s);
  party_rmdir(dir);
}

TestSuite(node_calendar, .init = setup, .fini = teardown);

/* GOV.UK's shape, cut down: two divisions, England and Wales with a known
 * 2026 date and two 2029 dates. */
static const char GOVUK[] =
  "{\"england-and-wales\":{\"division\":\"england-and-wales\",\"events\":["
  "{\"title\":\"Christmas Day\",\"date\":\"2026-12-25\",\"notes\":\"\",\"bunting\":true},"
  "{\"title\":\"New Year\\u2019s Day\",\"date\":\"2029-01-01\",\"notes\":\"\",\"bunting\":true},"
  "{\"title\":\"Good Friday\",\"date\":\"2029-03-30\",\"notes\":\"\",\"bunting\":false}]},"
  "\"scotland\":{\"division\":\"scotland\",\"events\":["
  "{\"title\":\"St Andrew's Day\",\"date\":\"2029-11-30\",\"notes\":\"\",\"bunting\":true}]}}";

static size_t holidays(void)
{
  crdt_calendar *cal;
  size_t n;

  cr_assert_eq(node_calendar_load(s, &cal), BT_OK);
  n = crdt_calendar_holiday_count(cal);
  crdt_calendar_free(cal);
  return n;
}

static int deadline(uint32_t on_roll, uint32_t *out)
{
  crdt_calendar *cal;
  crdt_calendar_rule r;
  int rc;

  cr_assert_eq(node_calendar_load(s, &cal), BT_OK);
  cr_assert_eq(node_calendar_rule(s, &r), BT_OK);
  rc = crdt_calendar_deadline(cal, r, on_roll, out);
  crdt_calendar_free(cal);
  return rc;
}

Test(node_calendar, a_new_store_has_the_built_in_holidays_and_the_default_rule)
{
  crdt_calendar_rule r;
  uint32_t d;

  cr_assert_eq(holidays(), CRDT_CALENDAR_BUILTIN_COUNT);
  cr_assert_eq(node_calendar_rule(s, &r), BT_OK);
  cr_assert(r.days == CRDT_CALENDAR_WORKING && r.count == 5);
  /* Thu 24 Dec 2026: 29, 30, 31 Dec, (1 Jan holiday), 4, 5 Jan */
  cr_assert_eq(deadline(20261224, &d), BT_OK);
  cr_assert_eq(d, 20270105);
  cr_assert_eq(deadline(20281228, &d), BT_EHOLIDAYS, "2029 is not known yet");
}

Test(node_calendar, an_import_adds_the_new_dates_of_england_and_wales_only_and_persists)
{
  size_t added;
  uint32_t d;

  cr_assert_eq(node_calendar_import(s, (const uint8_t *)GOVUK, strlen(GOVUK), &added), BT_OK);
  cr_assert_eq(added, 2, "Christmas 2026 was known; Scotland's day is not ours");
  cr_assert_eq(holidays(), CRDT_CALENDAR_BUILTIN_COUNT + 2);
  /* Thu 28 Dec 2028 (25, 26 Dec holidays): 29 Dec, (1 Jan 2029 holiday), 2, 3, 4, 5 Jan */
  cr_assert_eq(deadline(20281228, &d), BT_OK);
  cr_assert_eq(d, 20290105);
  cr_assert_eq(node_calendar_import(s, (const uint8_t *)GOVUK, strlen(GOVUK), &added), BT_OK);
  cr_assert_eq(added, 0, "importing twice changes nothing");
  node_store_close(s);
  s = party_store_open(dir);
  cr_assert_eq(holidays(), CRDT_CALENDAR_BUILTIN_COUNT + 2, "kept in the store");
}

Test(node_calendar, a_bad_file_changes_nothing)
{
  static const char *const bad[] = {
    "not json",
    "[]",
    "{\"scotland\":{\"events\":[]}}",
    "{\"england-and-wales\":{\"events\":{}}}",
    "{\"england-and-wales\":{\"events\":[{\"title\":\"x\"}]}}",
    "{\"england-and-wales\":{\"events\":[{\"date\":\"2029-01-01\"}]}}",
    "{\"england-and-wales\":{\"events\":[{\"title\":1,\"date\":\"2029-01-01\"}]}}",
    "{\"england-and-wales\":{\"events\":[{\"title\":\"a\",\"date\":\"2029-01-01\"},"
    "{\"title\":\"b\",\"date\":\"2029-02-30\"}]}}",
    "{\"england-and-wales\":{\"events\":[{\"title\":\"a\",\"date\":\"2029-01-01\"},"
    "{\"title\":\"b\\u0007\",\"date\":\"2029-03-30\"}]}}",
    "{\"england-and-wales\":{\"events\":[],\"events\":[]}}",
  };
  static const int want[] = {BT_EPROTO, BT_EPROTO, BT_EPROTO, BT_EPROTO, BT_EPROTO,
                             BT_EPROTO, BT_EPROTO, BT_EDATE,  BT_EINVAL, BT_EPROTO};
  size_t added = 99;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = node_calendar_import(s, (const uint8_t *)bad[i], strlen(bad[i]), &added);
    cr_assert_eq(rc, want[i], "file %zu: %s, want %s", i, bt_errname(rc), bt_errname(want[i]));
    cr_assert_eq(added, 0);
    cr_assert_eq(holidays(), CRDT_CALENDAR_BUILTIN_COUNT, "file %zu stored something", i);
  }
  cr_assert_eq(node_calendar_import(s, (const uint8_t *)"{}", NODE_CALENDAR_IMPORT_MAX + 1,
                                    &added),
               BT_ETOOBIG);
}

Test(node_calendar, school_days_need_terms_and_terms_are_kept_sorted)
{
  crdt_calendar_term terms[] = {{20260413, 20260722}, {20260105, 20260327}};
  crdt_calendar_rule school = {CRDT_CALENDAR_SCHOOL, 5}, bad = {0, 5};
  crdt_calendar *cal;
  const crdt_calendar_term *got;
  uint32_t d;

  cr_assert_eq(node_calendar_set_rule(s, school), BT_ETERMS, "no terms yet");
  cr_assert_eq(node_calendar_set_rule(s, bad), BT_EINVAL);
  cr_assert_eq(node_calendar_set_terms(s, (crdt_calendar_term[]){{20260105, 20260101}}, 1),
               BT_EINVAL, "a term that ends before it starts");
  cr_assert_eq(node_calendar_set_terms(s, terms, 2), BT_OK);
  cr_assert_eq(node_calendar_set_rule(s, school), BT_OK);
  cr_assert_eq(node_calendar_load(s, &cal), BT_OK);
  cr_assert_eq(crdt_calendar_terms(cal, &got), 2);
  cr_assert_eq(got[0].first, 20260105, "sorted");
  crdt_calendar_free(cal);
  /* On roll Thu 26 Mar 2026: Fri 27 Mar, then the Easter break, then
   * 13 (Mon), 14, 15, 16 Apr */
  cr_assert_eq(deadline(20260326, &d), BT_OK);
  cr_assert_eq(d, 20260416);
  cr_assert_eq(node_calendar_set_terms(s, NULL, 0), BT_ETERMS, "the rule needs them");
  cr_assert_eq(node_calendar_set_rule(s, CRDT_CALENDAR_RULE_DEFAULT), BT_OK);
  cr_assert_eq(node_calendar_set_terms(s, NULL, 0), BT_OK);
  cr_assert_eq(deadline(20260326, &d), BT_OK);
  cr_assert_eq(d, 20260402, "working days again: 27, 30, 31 Mar, 1, 2 Apr");
}
