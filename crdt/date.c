/* crdt/date.c: civil dates and UTC times.
 *
 * Day counts use the days-from-civil arithmetic popularised by Howard Hinnant:
 * shift the year to start on 1 March so the leap day falls at the end, then
 * count 400-year eras (146097 days), years in the era and days in the year,
 * where (153 * month + 2) / 5 gives the days before each month of the shifted
 * year. Our years are 1900..2199, so every intermediate value is non-negative
 * and the usual floor-division fix-ups for negative years are not needed.
 *
 * Parsers are strict on purpose: dates in case files are evidence, and a
 * lenient reader ("2026-2-3", a stray space) would let two nodes disagree on
 * what a record says. */
#include "date.h"

#include <assert.h>

#include "err.h"

#define MS_PER_DAY UINT64_C(86400000)
#define EPOCH_SHIFT 719468 /* days from 0000-03-01 to 1970-01-01 */
#define DAYS_MIN (-25567)  /* crdt_date_days(CRDT_DATE_MIN) */
#define DAYS_MAX 84005     /* crdt_date_days(CRDT_DATE_MAX) */

static int is_leap(uint32_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static uint32_t month_days(uint32_t y, uint32_t m)
{
  static const uint8_t len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

int crdt_date_valid(uint32_t ymd)
{
  uint32_t y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;

  if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
    return 0;
  return d <= month_days(y, m);
}

/* n ASCII digits as a number; 0 if any byte is not '0'..'9'. */
static int read_digits(const char *s, size_t n, uint32_t *v)
{
  uint32_t x = 0;

  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    x = x * 10 + (uint32_t)(s[i] - '0');
  }
  *v = x;
  return 1;
}

int crdt_date_parse(const char *s, size_t len, uint32_t *ymd)
{
  uint32_t y, m, d, v;

  assert(ymd != NULL);
  if (len != 10 || s == NULL)
    return BT_EDATE;
  if (s[4] != '-' || s[7] != '-')
    return BT_EDATE;
  if (!read_digits(s, 4, &y) || !read_digits(s + 5, 2, &m) ||
      !read_digits(s + 8, 2, &d))
    return BT_EDATE;
  v = y * 10000 + m * 100 + d;
  if (!crdt_date_valid(v))
    return BT_EDATE;
  *ymd = v;
  return BT_OK;
}

/* n digits of v, zero-padded, most significant first. */
static void put_digits(char *out, size_t n, uint32_t v)
{
  while (n-- > 0) {
    out[n] = (char)('0' + v % 10);
    v /= 10;
  }
}

void crdt_date_format(uint32_t ymd, char out[11])
{
  assert(crdt_date_valid(ymd));
  put_digits(out, 4, ymd / 10000);
  out[4] = '-';
  put_digits(out + 5, 2, ymd / 100 % 100);
  out[7] = '-';
  put_digits(out + 8, 2, ymd % 100);
  out[10] = '\0';
}

int64_t crdt_date_days(uint32_t ymd)
{
  int64_t y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
  int64_t era, yoe, doy, doe;

  assert(crdt_date_valid(ymd));
  y -= m <= 2;
  era = y / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - EPOCH_SHIFT;
}

uint32_t crdt_date_from_days(int64_t days)
{
  int64_t z, era, doe, yoe, y, doy, mp, d, m;

  /* Checking the range first also keeps z below from overflowing. */
  if (days < DAYS_MIN || days > DAYS_MAX)
    return 0;
  z = days + EPOCH_SHIFT;
  era = z / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  return (uint32_t)(y * 10000 + m * 100 + d);
}

int crdt_date_weekday(uint32_t ymd)
{
  int64_t days = crdt_date_days(ymd);

  /* Day 0, 1970-01-01, was a Thursday (3). Adding 7 * 3652 = 25564 keeps the
   * dividend non-negative back to DAYS_MIN without changing the remainder. */
  return (int)((days + 7 * 3652 + 3) % 7);
}

uint32_t crdt_date_from_ms(uint64_t unix_ms)
{
  uint64_t days = unix_ms / MS_PER_DAY;

  if (days > DAYS_MAX)
    return 0;
  return crdt_date_from_days((int64_t)days);
}

/* "HH:MM" or "HH:MM:SS" after the date and 'T'; seconds absent if n == 5. */
static int parse_clock(const char *s, size_t n, uint64_t *secs)
{
  uint32_t h, mi, sec = 0;

  if (s[2] != ':' || !read_digits(s, 2, &h) || !read_digits(s + 3, 2, &mi))
    return BT_EDATE;
  if (n == 8 && (s[5] != ':' || !read_digits(s + 6, 2, &sec)))
    return BT_EDATE;
  if (h > 23 || mi > 59 || sec > 59)
    return BT_EDATE;
  *secs = (uint64_t)h * 3600 + mi * 60 + sec;
  return BT_OK;
}

int crdt_date_parse_time(const char *s, size_t len, uint64_t *unix_ms)
{
  uint32_t ymd;
  uint64_t secs;
  int64_t days;

  assert(unix_ms != NULL);
  if (s == NULL || (len != 16 && len != 17 && len != 19 && len != 20))
    return BT_EDATE;
  if ((len == 17 || len == 20) && s[len - 1] != 'Z')
    return BT_EDATE;
  if (s[10] != 'T' || crdt_date_parse(s, 10, &ymd) != BT_OK)
    return BT_EDATE;
  if (parse_clock(s + 11, len <= 17 ? 5 : 8, &secs) != BT_OK)
    return BT_EDATE;
  days = crdt_date_days(ymd);
  if (days < 0)
    return BT_EDATE;
  *unix_ms = (uint64_t)days * MS_PER_DAY + secs * 1000;
  return BT_OK;
}

void crdt_date_format_time(uint64_t unix_ms, char out[21])
{
  uint32_t ymd = crdt_date_from_ms(unix_ms);
  uint64_t secs = unix_ms % MS_PER_DAY / 1000;

  assert(ymd != 0);
  crdt_date_format(ymd, out);
  out[10] = 'T';
  put_digits(out + 11, 2, (uint32_t)(secs / 3600));
  out[13] = ':';
  put_digits(out + 14, 2, (uint32_t)(secs / 60 % 60));
  out[16] = ':';
  put_digits(out + 17, 2, (uint32_t)(secs % 60));
  out[19] = 'Z';
  out[20] = '\0';
}
