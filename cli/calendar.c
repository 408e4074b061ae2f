/* cli/calendar.c: `baton calendar show|import|terms|rule|deadline`: the
 * transfer deadline's settings (node/calendar.h) and the deadline itself
 * (crdt/calendar.h), for a DSL to check a date before a transfer exists.
 * Every value is checked here before the store is opened; what the node
 * refuses (a bad bank-holiday file, terms that overlap) comes back as an
 * error naming it, with nothing changed. */
#define _POSIX_C_SOURCE 200809L
#include "cli/calendar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/out.h"
#include "cli/store.h"
#include "crdt/date.h"
#include "crdt/err.h"
#include "node/calendar.h"

static const char *days_name(crdt_calendar_days d)
{
  return d == CRDT_CALENDAR_SCHOOL ? "school" : "working";
}

static int parse_date(const cli_ctx *c, const char *what, const char *v, uint32_t *ymd)
{
  char q[CLI_QUOTE_LEN];

  if (crdt_date_parse(v, strlen(v), ymd) != BT_OK)
    return cli_usage(c, "%s %s is not a date: write YYYY-MM-DD, e.g. 2026-09-07", what,
                     cli_quote(v, q));
  return CLI_OK;
}

static json_t *date_json(uint32_t ymd)
{
  char d[11];

  crdt_date_format(ymd, d);
  return json_string(d);
}

/* Why the node refused, in words a DSL can act on. */
static int refused(const cli_ctx *c, int rc)
{
  switch (rc) {
  case BT_EHOLIDAYS:
    return cli_fail(c, "the bank holidays of a year it needs are not known: import GOV.UK's "
                       "file with 'baton calendar import FILE'");
  case BT_ETERMS:
    return cli_fail(c, "term dates do not cover the dates it needs: set them with "
                       "'baton calendar terms'");
  default:
    return cli_fail(c, "%s", bt_strerror(rc));
  }
}

/* ---- show ---------------------------------------------------------------------- */

static void show_text(const json_t *doc)
{
  const json_t *rule = json_object_get(doc, "rule"), *terms = json_object_get(doc, "terms");
  const json_t *hol = json_object_get(doc, "holidays"), *v;
  char buf[64];
  size_t i;

  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " %s days after going on roll",
           json_integer_value(json_object_get(rule, "count")), cli_out_get(rule, "days"));
  cli_out_row("deadline", buf);
  if (json_array_size(terms) == 0)
    cli_out_row("terms", "none set");
  json_array_foreach(terms, i, v) {
    snprintf(buf, sizeof buf, "%s to %s", cli_out_get(v, "first"), cli_out_get(v, "last"));
    cli_out_row(i == 0 ? "terms" : "", buf);
  }
  json_array_foreach(hol, i, v) {
    snprintf(buf, sizeof buf, "%s  %.40s", cli_out_get(v, "date"), cli_out_get(v, "title"));
    cli_out_row(i == 0 ? "bank holidays" : "", buf);
  }
}

static int show_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  crdt_calendar *cal = NULL;
  crdt_calendar_rule rule;
  const crdt_calendar_term *terms;
  node_store *s = NULL;
  json_t *doc = NULL, *jt, *jh;
  size_t n;
  int rc;

  (void)a;
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  rc = node_calendar_rule(s, &rule);
  if (rc == BT_OK)
    rc = node_calendar_load(s, &cal);
  node_store_close(s);
  if (rc != BT_OK)
    return refused(c, rc);
  jt = json_array();
  jh = json_array();
  n = crdt_calendar_terms(cal, &terms);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(jt, json_pack("{s:o, s:o}", "first", date_json(terms[i].first), "last",
                                        date_json(terms[i].last)));
  for (size_t i = 0; i < crdt_calendar_holiday_count(cal); i++) {
    uint32_t ymd;
    bt_str title;
    if (crdt_calendar_holiday_at(cal, i, &ymd, &title) == BT_OK)
      json_array_append_new(jh, json_pack("{s:o, s:o*}", "date", date_json(ymd), "title",
                                          cli_out_str(title)));
  }
  doc = json_pack("{s:{s:s, s:I}, s:o, s:o}", "rule", "days", days_name(rule.days), "count",
                  (json_int_t)rule.count, "terms", jt, "holidays", jh);
  crdt_calendar_free(cal);
  return cli_out_emit(c, doc, show_text);
}

const cli_cmd cli_calendar_show_cmd = {
  "calendar show", "the deadline rule, term dates and bank holidays",
  "Shows how transfer deadlines are counted on this node: the rule (which\n"
  "days, how many), the school's term dates and every bank holiday known.\n",
  NULL, 0, NULL, 0, show_run,
};

/* ---- import -------------------------------------------------------------------- */

static void import_text(const json_t *doc)
{
  char buf[96];

  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " new (%" JSON_INTEGER_FORMAT
           " known in all)", json_integer_value(json_object_get(doc, "added")),
           json_integer_value(json_object_get(doc, "known")));
  cli_out_row("bank holidays", buf);
}

static int import_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  char q[CLI_QUOTE_LEN];
  uint8_t *buf = NULL;
  size_t len = 0, added = 0, known = 0;
  crdt_calendar *cal = NULL;
  node_store *s = NULL;
  FILE *f;
  int rc;

  if ((f = fopen(a->pos[0], "rb")) == NULL)
    return cli_fail(c, "cannot read %s: %s", cli_quote(a->pos[0], q), strerror(errno));
  if ((buf = malloc(NODE_CALENDAR_IMPORT_MAX + 1)) == NULL) {
    fclose(f);
    return cli_fail(c, "out of memory");
  }
  len = fread(buf, 1, NODE_CALENDAR_IMPORT_MAX + 1, f);
  rc = ferror(f);
  fclose(f);
  if (rc) {
    free(buf);
    return cli_fail(c, "cannot read %s", cli_quote(a->pos[0], q));
  }
  if (len > NODE_CALENDAR_IMPORT_MAX) {
    free(buf);
    return cli_fail(c, "%s is larger than GOV.UK's bank-holidays.json can be (1 MiB)",
                    cli_quote(a->pos[0], q));
  }
  if (cli_store_open(c, &s, &where) != BT_OK) {
    free(buf);
    return CLI_ERROR;
  }
  rc = node_calendar_import(s, buf, len, &added);
  if (rc == BT_OK && (rc = node_calendar_load(s, &cal)) == BT_OK)
    known = crdt_calendar_holiday_count(cal);
  crdt_calendar_free(cal);
  node_store_close(s);
  free(buf);
  if (rc == BT_EPROTO || rc == BT_EDATE || rc == BT_EINVAL || rc == BT_ETOOBIG)
    return cli_fail(c, "%s is not GOV.UK's bank-holidays.json as expected (%s): nothing was "
                       "imported", cli_quote(a->pos[0], q), bt_strerror(rc));
  if (rc != BT_OK)
    return refused(c, rc);
  return cli_out_emit(c, json_pack("{s:I, s:I}", "added", (json_int_t)added, "known",
                                   (json_int_t)known),
                      import_text);
}

static const cli_pos IMPORT_POS[] = {{"FILE", 1024, 0}};

const cli_cmd cli_calendar_import_cmd = {
  "calendar import", "add bank holidays from GOV.UK's bank-holidays.json",
  "Reads the England and Wales division of GOV.UK's file\n"
  "(https://www.gov.uk/bank-holidays.json) and adds the dates this node does\n"
  "not know yet. The whole file is checked first: a bad file changes nothing.\n",
  NULL, 0, IMPORT_POS, 1, import_run,
};

/* ---- terms --------------------------------------------------------------------- */

static void terms_text(const json_t *doc)
{
  char buf[48];

  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " set",
           json_integer_value(json_object_get(doc, "terms")));
  cli_out_row("terms", buf);
}

static int terms_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  crdt_calendar_term terms[CRDT_CALENDAR_TERMS_MAX];
  char q[CLI_QUOTE_LEN], one[32];
  const char *p = a->pos[0];
  node_store *s = NULL;
  size_t n = 0;
  int rc;

  if (strcmp(p, "none") != 0) {
    while (*p) {
      const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
      size_t l = (size_t)(end - p);
      if (n == CRDT_CALENDAR_TERMS_MAX)
        return cli_usage(c, "at most %d terms", CRDT_CALENDAR_TERMS_MAX);
      if (l != 21 || p[10] != ':') {
        size_t k = l < sizeof(one) - 1 ? l : sizeof(one) - 1;
        memcpy(one, p, k);
        one[k] = 0;
        return cli_usage(c, "terms are FIRST:LAST, e.g. 2026-09-02:2026-10-23, separated by "
                            "commas; %s is not", cli_quote(one, q));
      }
      memcpy(one, p, 10);
      one[10] = 0;
      if (parse_date(c, "the first day", one, &terms[n].first) != CLI_OK)
        return CLI_USAGE;
      memcpy(one, p + 11, 10);
      one[10] = 0;
      if (parse_date(c, "the last day", one, &terms[n].last) != CLI_OK)
        return CLI_USAGE;
      n++;
      p = comma ? comma + 1 : end;
    }
  }
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  rc = node_calendar_set_terms(s, terms, n);
  node_store_close(s);
  if (rc == BT_EINVAL)
    return cli_fail(c, "a term ends before it starts, or two terms share a day: nothing changed");
  if (rc == BT_ETERMS)
    return cli_fail(c, "the deadline counts school days, which need term dates: change the "
                       "rule first ('baton calendar rule working 5')");
  if (rc != BT_OK)
    return refused(c, rc);
  return cli_out_emit(c, json_pack("{s:I}", "terms", (json_int_t)n), terms_text);
}

static const cli_pos TERMS_POS[] = {{"TERMS", CRDT_CALENDAR_TERMS_MAX * 22, 0}};

const cli_cmd cli_calendar_terms_cmd = {
  "calendar terms", "set the school's term dates (or none)",
  "TERMS is FIRST:LAST[,FIRST:LAST...], each a term's first and last day as\n"
  "YYYY-MM-DD, or the word none. They replace the terms set before. With term\n"
  "dates, a child going on roll in a holiday counts from the first day of the\n"
  "next term; school days can be counted instead of working days.\n",
  NULL, 0, TERMS_POS, 1, terms_run,
};

/* ---- rule ---------------------------------------------------------------------- */

static void rule_text(const json_t *doc)
{
  char buf[64];

  snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " %s days after going on roll",
           json_integer_value(json_object_get(doc, "count")), cli_out_get(doc, "days"));
  cli_out_row("deadline", buf);
}

static int rule_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  crdt_calendar_rule r;
  char q[CLI_QUOTE_LEN], *end;
  node_store *s = NULL;
  unsigned long n;
  int rc;

  if (strcmp(a->pos[0], "working") == 0)
    r.days = CRDT_CALENDAR_WORKING;
  else if (strcmp(a->pos[0], "school") == 0)
    r.days = CRDT_CALENDAR_SCHOOL;
  else
    return cli_usage(c, "DAYS is working or school, not %s", cli_quote(a->pos[0], q));
  errno = 0;
  n = strtoul(a->pos[1], &end, 10);
  if (*end || errno || a->pos[1][0] < '0' || a->pos[1][0] > '9' || n < CRDT_CALENDAR_COUNT_MIN ||
      n > CRDT_CALENDAR_COUNT_MAX)
    return cli_usage(c, "COUNT is a number of days from %d to %d, not %s",
                     CRDT_CALENDAR_COUNT_MIN, CRDT_CALENDAR_COUNT_MAX, cli_quote(a->pos[1], q));
  r.count = (uint32_t)n;
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  rc = node_calendar_set_rule(s, r);
  node_store_close(s);
  if (rc == BT_ETERMS)
    return cli_fail(c, "school days need term dates: set them first ('baton calendar terms')");
  if (rc != BT_OK)
    return refused(c, rc);
  return cli_out_emit(c, json_pack("{s:s, s:I}", "days", days_name(r.days), "count",
                                   (json_int_t)r.count),
                      rule_text);
}

static const cli_pos RULE_POS[] = {{"DAYS", 8, 0}, {"COUNT", 3, 0}};

const cli_cmd cli_calendar_rule_cmd = {
  "calendar rule", "how deadlines are counted: working or school days, and how many",
  "Baton's default is 5 working days after the day the child goes on roll\n"
  "(KCSiE says 5 days without saying which; domain.md). School days need term\n"
  "dates.\n",
  NULL, 0, RULE_POS, 2, rule_run,
};

/* ---- deadline ------------------------------------------------------------------- */

static void deadline_text(const json_t *doc)
{
  json_int_t left = json_integer_value(json_object_get(doc, "days_left"));
  char buf[96];

  cli_out_row("on roll", cli_out_get(doc, "on_roll"));
  cli_out_row("deadline", cli_out_get(doc, "deadline"));
  if (left >= 0)
    snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " %s day%s left on %s", left,
             cli_out_get(doc, "days"), left == 1 ? "" : "s", cli_out_get(doc, "now"));
  else
    snprintf(buf, sizeof buf, "OVERDUE by %" JSON_INTEGER_FORMAT " %s day%s on %s", -left,
             cli_out_get(doc, "days"), left == -1 ? "" : "s", cli_out_get(doc, "now"));
  cli_out_row("", buf);
}

enum { D_NOW };

static const cli_opt DEADLINE_OPTS[] = {
  [D_NOW] = {"--now", "DATE", 10, "the day to count from (default: today, UTC)"},
};

static const cli_pos DEADLINE_POS[] = {{"ON_ROLL", 10, 0}};

static int deadline_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  crdt_calendar *cal = NULL;
  crdt_calendar_rule rule;
  node_store *s = NULL;
  uint32_t on_roll, now, deadline;
  int32_t left = 0;
  json_t *doc;
  int rc;

  if (parse_date(c, "ON_ROLL", a->pos[0], &on_roll) != CLI_OK)
    return CLI_USAGE;
  if (a->val[D_NOW]) {
    if (parse_date(c, "--now", a->val[D_NOW], &now) != CLI_OK)
      return CLI_USAGE;
  } else {
    now = crdt_date_from_ms((uint64_t)time(NULL) * 1000);
  }
  if (cli_store_open(c, &s, &where) != BT_OK)
    return CLI_ERROR;
  rc = node_calendar_rule(s, &rule);
  if (rc == BT_OK)
    rc = node_calendar_load(s, &cal);
  node_store_close(s);
  if (rc == BT_OK)
    rc = crdt_calendar_deadline(cal, rule, on_roll, &deadline);
  if (rc == BT_OK)
    rc = crdt_calendar_days_left(cal, rule.days, deadline, now, &left);
  crdt_calendar_free(cal);
  if (rc != BT_OK)
    return refused(c, rc);
  doc = json_pack("{s:o, s:o, s:o, s:s, s:i, s:b}", "on_roll", date_json(on_roll), "deadline",
                  date_json(deadline), "now", date_json(now), "days", days_name(rule.days),
                  "days_left", (int)left, "overdue", left < 0);
  rc = cli_out_emit(c, doc, deadline_text);
  return rc == CLI_OK && left < 0 ? CLI_ATTENTION : rc;
}

const cli_cmd cli_calendar_deadline_cmd = {
  "calendar deadline", "the transfer deadline for a child on roll from ON_ROLL",
  "Counts as the rule says (baton calendar show) and prints the deadline and\n"
  "the days left on --now (default today). Exit 3 when it is overdue, so a\n"
  "script can alert.\n",
  DEADLINE_OPTS, 1, DEADLINE_POS, 1, deadline_run,
};
