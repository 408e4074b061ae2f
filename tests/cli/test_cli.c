/* tests/cli/test_cli.c: the real `baton` binary, as a person or a script
 * runs it.
 *
 * Each test gets a temporary HOME (so the default data directory and key
 * file are its own) and runs baton in a new session without a controlling
 * terminal, so nothing can stop to prompt. stdout and stderr are captured
 * to files and checked; --json output is parsed with jansson. Covered:
 * help and --help for every command, init then status in text and JSON, a
 * second init refused, wrong or missing keys and stores, passphrase
 * stores, usage errors (unknown commands and options, missing, extra,
 * repeated, malformed and 5000-byte arguments) with exit 2 and nothing
 * written to disk. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>

#include "cli/runner.h"
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const COMMANDS[] = {"init", "status", "calendar show", "calendar import",
                                       "calendar terms", "calendar rule", "calendar deadline",
                                       "user add", "user list", "user passwd", "file open",
                                       "files", "file show", "file set", "file resolve",
                                       "file close", "file reopen", "tag add", "tag remove",
                                       "concern log", "concern review", "chrono add",
                                       "bodymap add", "reflect add", "action add",
                                       "action done", "correct", "share grant",
                                       "share extract", "share revoke", "share decide",
                                       "grants", "transfer start", "transfer ack",
                                       "transfer reject", "transfer close", "transfers",
                                       "package export", "package import", "audit",
                                       "root create", "root show", "root certify",
                                       "directory", "directory publish", "directory revoke",
                                       "org request", "org install", "anchor add", "anchors",
                                       "enrol issue", "enrol request", "enrol answer",
                                       "enrol accept", "peer add", "peer list", "peer remove",
                                       "sync", "version", "help"};

TestSuite(cli, .init = cli_setup, .fini = cli_teardown);

static void dir_of(char *buf, size_t len, const char *name)
{
  snprintf(buf, len, "%s/%s", root, name);
}

static int exists(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0;
}

/* ---- help ---------------------------------------------------------------- */

Test(cli, help_lists_every_command)
{
  const char *forms[][2] = {{"help", NULL}, {"--help", NULL}, {"-h", NULL}};

  for (size_t f = 0; f < 3; f++) {
    cr_assert_eq(RUN(forms[f][0]), 0, "%s: %s", forms[f][0], err);
    cr_assert_not_null(strstr(out, "usage: baton"), "%s", out);
    for (size_t k = 0; k < sizeof COMMANDS / sizeof COMMANDS[0]; k++)
      cr_assert_not_null(strstr(out, COMMANDS[k]), "%s lacks %s:\n%s", forms[f][0],
                         COMMANDS[k], out);
    cr_assert_not_null(strstr(out, "exit status"), "%s", out);
  }
}

Test(cli, help_and_dash_help_for_each_command)
{
  char want[64], first[OUT_MAX];

  for (size_t k = 0; k < sizeof COMMANDS / sizeof COMMANDS[0]; k++) {
    snprintf(want, sizeof want, "usage: baton %s", COMMANDS[k]);
    cr_assert_eq(RUN("help", COMMANDS[k]), 0, "help %s: %s", COMMANDS[k], err);
    cr_assert_not_null(strstr(out, want), "%s", out);
    memcpy(first, out, sizeof first);
    cr_assert_eq(RUN(COMMANDS[k], "--help"), 0, "%s --help: %s", COMMANDS[k], err);
    cr_assert_str_eq(out, first, "%s --help differs from help %s", COMMANDS[k], COMMANDS[k]);
    cr_assert_str_empty(err);
  }
  /* --help wins over anything else on the line, even bad arguments */
  cr_assert_eq(RUN("init", "--bogus", "--help"), 0);
  cr_assert_not_null(strstr(out, "usage: baton init"));
}

Test(cli, help_in_json)
{
  json_t *j;

  cr_assert_eq(RUN("--json", "help"), 0, "%s", err);
  j = parse_out();
  cr_assert_eq(json_array_size(json_object_get(j, "commands")),
               sizeof COMMANDS / sizeof COMMANDS[0]);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "exit_codes"),
                                                  "attention")), 3);
  json_decref(j);
  cr_assert_eq(RUN("help", "init", "--json"), 0, "%s", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "name"), "init");
  cr_assert_geq(json_array_size(json_object_get(j, "options")), 4);
  json_decref(j);
}

Test(cli, help_for_an_unknown_command_is_a_usage_error)
{
  cr_assert_eq(RUN("help", "frobnicate"), 2);
  cr_assert_not_null(strstr(err, "no command 'frobnicate'"), "%s", err);
}

Test(cli, version_in_text_and_json)
{
  json_t *j;

  cr_assert_eq(RUN("version"), 0, "%s", err);
  cr_assert_eq(strncmp(out, "baton ", 6), 0, "%s", out);
  cr_assert_eq(RUN("--json", "version"), 0, "%s", err);
  j = parse_out();
  cr_assert_not_null(jstr(j, "baton"));
  cr_assert_eq(json_integer_value(json_object_get(j, "store_version")), 1);
  json_decref(j);
  cr_assert_eq(RUN("--version"), 0);
}

/* ---- init and status ----------------------------------------------------- */

Test(cli, init_then_status_in_text)
{
  char key[256], dfpr[64] = "", ofpr[64] = "", *p;
  struct stat sb;

  cr_assert_eq(RUN("init", "Hillside Primary", "--urn", "123456"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "Hillside Primary (school)"), "%s", out);
  cr_assert_not_null(p = strstr(out, "device fingerprint"), "%s", out);
  sscanf(p, "device fingerprint %63s", dfpr);
  cr_assert_not_null(p = strstr(out, "org fingerprint"), "%s", out);
  sscanf(p, "org fingerprint %63s", ofpr);
  cr_assert_eq(strlen(dfpr), 39, "%s", out);
  cr_assert_eq(strlen(ofpr), 39, "%s", out);
  snprintf(key, sizeof key, "%s/.config/baton/node.key", home);
  cr_assert_eq(stat(key, &sb), 0, "no default key file");
  cr_assert_eq(sb.st_mode & 0777, 0600);
  cr_assert_not_null(strstr(out, "new: back it up"), "%s", out);

  cr_assert_eq(RUN("status"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "Hillside Primary (school)"), "%s", out);
  cr_assert_not_null(strstr(out, dfpr), "%s", out);
  cr_assert_not_null(strstr(out, ofpr), "%s", out);
  cr_assert_not_null(strstr(out, "provisional"), "%s", out);
  cr_assert_not_null(strstr(out, "123456"), "%s", out);
  cr_assert_not_null(strstr(out, "0 readable"), "%s", out);
  cr_assert_not_null(strstr(out, "/.local/share/baton"), "%s", out);
}

Test(cli, init_then_status_in_json)
{
  char dir[128], key[128];
  json_t *a, *b;

  dir_of(dir, sizeof dir, "node");
  dir_of(key, sizeof key, "node.key");
  cr_assert_eq(RUN("--json", "--dir", dir, "--key-file", key, "init", "MASH North", "--kind",
                   "mash"), 0, "%s", err);
  a = parse_out();
  cr_assert_str_eq(jstr(a, "dir"), dir);
  cr_assert_str_eq(jstr(a, "key.file"), key);
  cr_assert(json_is_true(json_object_get(json_object_get(a, "key"), "created")));
  cr_assert(json_is_true(json_object_get(a, "store_created")));
  cr_assert_str_eq(jstr(a, "org.kind"), "mash");

  /* global options after the command work too */
  cr_assert_eq(RUN("status", "--dir", dir, "--key-file", key, "--json"), 0, "%s", err);
  b = parse_out();
  cr_assert_str_eq(jstr(b, "dir"), dir);
  cr_assert_str_eq(jstr(b, "device.fingerprint"), jstr(a, "device.fingerprint"));
  cr_assert_str_eq(jstr(b, "org.fingerprint"), jstr(a, "org.fingerprint"));
  cr_assert_str_eq(jstr(b, "org.name"), "MASH North");
  cr_assert_str_eq(jstr(b, "org.kind"), "mash");
  cr_assert_str_eq(jstr(b, "org.certificate"), "provisional");
  cr_assert_null(json_object_get(json_object_get(b, "org"), "issuer"));
  cr_assert(json_is_integer(json_object_get(json_object_get(b, "ops"), "stored")));
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(b, "ops"), "buffered")), 0);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(b, "files"), "readable")), 0);
  cr_assert_str_empty(err);
  json_decref(a);
  json_decref(b);
}

Test(cli, second_init_is_refused_and_changes_nothing)
{
  json_t *a, *b;

  cr_assert_eq(RUN("--json", "init", "Hillside Primary"), 0, "%s", err);
  a = parse_out();
  cr_assert_eq(RUN("init", "Another School", "--kind", "la"), 1);
  cr_assert_not_null(strstr(err, "already holds a node"), "%s", err);
  cr_assert_not_null(strstr(err, "nothing changed"), "%s", err);
  cr_assert_str_empty(out);
  cr_assert_eq(RUN("--json", "status"), 0, "%s", err);
  b = parse_out();
  cr_assert_str_eq(jstr(b, "org.name"), "Hillside Primary");
  cr_assert_str_eq(jstr(b, "org.fingerprint"), jstr(a, "org.fingerprint"));
  json_decref(a);
  json_decref(b);
}

Test(cli, init_with_utf8_name_and_la_kind)
{
  json_t *j;

  cr_assert_eq(RUN("init", "Ysgol Gymraeg Aberystwyth \xe2\x80\x94 \xc3\xa9", "--kind", "la",
                   "--laestab", "8881234"), 0, "%s", err);
  cr_assert_eq(RUN("status", "--json"), 0, "%s", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "org.name"), "Ysgol Gymraeg Aberystwyth \xe2\x80\x94 \xc3\xa9");
  cr_assert_str_eq(jstr(j, "org.kind"), "la");
  cr_assert_str_eq(jstr(j, "org.laestab"), "8881234");
  json_decref(j);
}

/* ---- keys and stores ------------------------------------------------------ */

Test(cli, missing_store_says_how_to_make_one)
{
  char dir[128];

  dir_of(dir, sizeof dir, "empty");
  cr_assert_eq(RUN("status"), 1);
  cr_assert_not_null(strstr(err, "no store in"), "%s", err);
  cr_assert_not_null(strstr(err, "baton init"), "%s", err);
  cr_assert_str_empty(out);
  cr_assert_eq(RUN("status", "--dir", dir, "--json"), 1);
  cr_assert_str_empty(out);
  cr_assert(!exists(dir), "status made a directory");
}

Test(cli, wrong_key_file_is_refused)
{
  char dir[128], k1[128], k2[128], other[128];

  dir_of(dir, sizeof dir, "a");
  dir_of(other, sizeof other, "b");
  dir_of(k1, sizeof k1, "a.key");
  dir_of(k2, sizeof k2, "b.key");
  cr_assert_eq(RUN("--dir", dir, "--key-file", k1, "init", "A"), 0, "%s", err);
  cr_assert_eq(RUN("--dir", other, "--key-file", k2, "init", "B"), 0, "%s", err);
  cr_assert_eq(RUN("--dir", dir, "--key-file", k2, "status"), 1);
  cr_assert_not_null(strstr(err, "does not open the store"), "%s", err);
  cr_assert_str_empty(out);
  /* the default key file (none here) is not used when --key-file is given */
  cr_assert_eq(RUN("--dir", dir, "--key-file", k1, "status"), 0, "%s", err);
}

Test(cli, missing_key_file_is_refused)
{
  char dir[128], k1[128], nokey[128];

  dir_of(dir, sizeof dir, "a");
  dir_of(k1, sizeof k1, "a.key");
  dir_of(nokey, sizeof nokey, "nokey");
  cr_assert_eq(RUN("--dir", dir, "--key-file", k1, "init", "A"), 0, "%s", err);
  cr_assert_eq(RUN("--dir", dir, "--key-file", nokey, "status"), 1);
  cr_assert_not_null(strstr(err, "does not exist"), "%s", err);
  cr_assert(!exists(nokey), "status created a key file");
  /* init on an existing store never makes a new key it could not use */
  cr_assert_eq(RUN("--dir", dir, "--key-file", nokey, "init", "A"), 1);
  cr_assert(!exists(nokey), "init created a key file for an existing store");
}

Test(cli, no_key_and_no_terminal)
{
  char dir[128], k1[128];

  dir_of(dir, sizeof dir, "a");
  dir_of(k1, sizeof k1, "a.key");
  cr_assert_eq(RUN("--dir", dir, "--key-file", k1, "init", "A"), 0, "%s", err);
  /* no --key-file, no BATON_PASSPHRASE, no default key file, no terminal */
  cr_assert_eq(RUN("--dir", dir, "status"), 1);
  cr_assert_not_null(strstr(err, "no key"), "%s", err);
  cr_assert_not_null(strstr(err, "BATON_PASSPHRASE"), "%s", err);
}

Test(cli, passphrase_store)
{
  char dir[128], key[256];
  json_t *j;

  dir_of(dir, sizeof dir, "p");
  cr_assert_eq(RUN_ENV("BATON_PASSPHRASE=correct horse", "--dir", dir, "--json", "init", "P"),
               0, "%s", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "key.source"), "env");
  cr_assert_null(jstr(j, "key.file"));
  cr_assert_null(strstr(out, "correct horse"), "the passphrase was printed");
  json_decref(j);
  snprintf(key, sizeof key, "%s/.config/baton/node.key", home);
  cr_assert(!exists(key), "a key file was made for a passphrase store");
  cr_assert_eq(RUN_ENV("BATON_PASSPHRASE=correct horse", "--dir", dir, "status"), 0, "%s",
               err);
  cr_assert_eq(RUN_ENV("BATON_PASSPHRASE=wrong horse", "--dir", dir, "status"), 1);
  cr_assert_not_null(strstr(err, "wrong passphrase"), "%s", err);
  cr_assert_null(strstr(err, "horse"), "the passphrase was printed");
  /* --passphrase without the variable or a terminal to ask on */
  dir_of(dir, sizeof dir, "q");
  cr_assert_eq(RUN("--dir", dir, "init", "Q", "--passphrase"), 1);
  cr_assert_not_null(strstr(err, "no key"), "%s", err);
  cr_assert(!exists(dir), "a store was made without a key");
}

/* ---- usage errors ---------------------------------------------------------- */

static void usage_error(const char *want, const char *const *argv)
{
  char dir[256];

  cr_assert_eq(run_env(NULL, argv), 2, "%s %s: want exit 2\nstderr: %s", argv[0],
               argv[1] ? argv[1] : "", err);
  cr_assert_not_null(strstr(err, want), "want '%s' in:\n%s", want, err);
  cr_assert_not_null(strstr(err, "Try 'baton help"), "%s", err);
  cr_assert_str_empty(out);
  snprintf(dir, sizeof dir, "%s/.local/share/baton", home);
  cr_assert(!exists(dir), "a usage error touched the disk");
}

#define USAGE(want, ...) usage_error(want, (const char *const[]){__VA_ARGS__, NULL})

Test(cli, unknown_commands_and_options)
{
  cr_assert_eq(RUN("--json"), 2);
  cr_assert_not_null(strstr(err, "no command given"), "%s", err);
  USAGE("unknown command 'frobnicate'", "frobnicate");
  USAGE("unknown command 'Status'", "Status");
  USAGE("unknown option '--bogus'", "--bogus", "status");
  USAGE("unknown option '--bogus'", "status", "--bogus");
  USAGE("unknown option '-x'", "status", "-x");
  USAGE("unexpected argument 'extra'", "status", "extra");
  USAGE("unexpected argument 'Y'", "init", "X", "Y");
}

Test(cli, bad_option_values)
{
  USAGE("NAME is missing", "init");
  USAGE("--kind must be school, la or mash", "init", "X", "--kind", "nursery");
  USAGE("--kind must be school, la or mash", "init", "X", "--kind", "police");
  USAGE("--urn must be 6 digits", "init", "X", "--urn", "12345a");
  USAGE("--laestab must be 7 digits", "init", "X", "--laestab", "123");
  USAGE("--kind needs a value", "init", "X", "--kind");
  USAGE("--kind needs a value", "init", "X", "--kind", "--json");
  USAGE("--kind given twice", "init", "X", "--kind", "la", "--kind", "la");
  USAGE("--passphrase takes no value", "init", "X", "--passphrase=yes");
  USAGE("--dir needs a value", "--dir");
  USAGE("--dir is empty", "--dir", "", "status");
  USAGE("--dir given twice", "--dir", "/tmp/a", "status", "--dir", "/tmp/b");
  USAGE("--json takes no value", "--json=1", "status");
  USAGE("NAME is empty", "init", "");
  USAGE("NAME contains a control character", "init", "two\nlines");
  USAGE("NAME contains a control character", "init", "esc\x1b[31m");
  USAGE("NAME is not valid UTF-8", "init", "caf\xe9");
  USAGE("NAME is not valid UTF-8", "init", "\xed\xa0\x80"); /* a surrogate */
  USAGE("NAME is not valid UTF-8", "init", "\xc0\xaf");     /* overlong */
  /* `--` ends options: a name may start with a dash */
  cr_assert_eq(RUN("init", "--", "--Dash Academy"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "--Dash Academy"), "%s", out);
}

Test(cli, arguments_of_5000_characters)
{
  static char big[5001], opt[5010], eq[5010];
  const char *forms[][5] = {
    {"init", big, NULL},         {big, NULL},
    {"--dir", big, "status", NULL}, {"--key-file", big, "status", NULL},
    {"status", opt, NULL},       {"init", "X", "--kind", big, NULL},
    {"init", "X", eq, NULL},     {"help", big, NULL},
    {opt, "status", NULL},
  };

  memset(big, 'a', 5000);
  snprintf(opt, sizeof opt, "--%s", big);
  snprintf(eq, sizeof eq, "--urn=%s", big);
  for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
    int st = run_env(NULL, forms[f]);
    cr_assert_eq(st, 2, "form %zu: exit %d\nstderr: %.300s", f, st, err);
    cr_assert_lt(strlen(err), 400, "form %zu: stderr echoes the argument: %.300s", f, err);
    cr_assert_str_empty(out);
  }
  cr_assert_not_null(strstr((RUN("init", big), err), "NAME is too long (5000 bytes; at most "
                                                     "128)"), "%s", err);
}

/* ---- calendar ------------------------------------------------------------------ */

Test(cli, a_deadline_is_counted_in_working_days_and_overdue_exits_3)
{
  json_t *j;

  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  /* Thu 24 Dec 2026: 25 and 28 Dec and 1 Jan are holidays: 29, 30, 31, 4, 5 */
  cr_assert_eq(RUN("calendar", "deadline", "2026-12-24", "--now", "2026-12-30"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "2027-01-05"), "%s", out);
  cr_assert_not_null(strstr(out, "3 working days left"), "%s", out);
  cr_assert_eq(RUN("--json", "calendar", "deadline", "2026-12-24", "--now", "2027-01-07"), 3,
               "overdue: exit 3 (%s)", err);
  j = parse_out();
  cr_assert_str_eq(jstr(j, "deadline"), "2027-01-05");
  cr_assert_eq(json_integer_value(json_object_get(j, "days_left")), -2);
  cr_assert(json_is_true(json_object_get(j, "overdue")));
  json_decref(j);
  cr_assert_eq(RUN("calendar", "deadline", "2026-02-30"), 2, "not a date");
  cr_assert_not_null(strstr(err, "not a date"), "%s", err);
  cr_assert_eq(RUN("calendar", "deadline", "2026-12-24", "--now", "tomorrow"), 2);
  cr_assert_eq(RUN("calendar", "deadline", "2028-12-28"), 1, "2029 unknown");
  cr_assert_not_null(strstr(err, "calendar import"), "says what to do: %s", err);
}

Test(cli, bank_holidays_import_from_govuk_all_or_nothing)
{
  char good[256], bad[256];
  FILE *f;

  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  snprintf(good, sizeof good, "%s/bank-holidays.json", root);
  snprintf(bad, sizeof bad, "%s/bad.json", root);
  cr_assert_not_null(f = fopen(good, "w"));
  fputs("{\"england-and-wales\":{\"division\":\"england-and-wales\",\"events\":["
        "{\"title\":\"New Year\u2019s Day\",\"date\":\"2029-01-01\",\"notes\":\"\","
        "\"bunting\":true}]}}", f);
  fclose(f);
  cr_assert_not_null(f = fopen(bad, "w"));
  fputs("{\"england-and-wales\":{\"events\":[{\"title\":\"x\",\"date\":\"2029-13-01\"}]}}", f);
  fclose(f);
  cr_assert_eq(RUN("calendar", "import", bad), 1);
  cr_assert_not_null(strstr(err, "nothing was imported"), "%s", err);
  cr_assert_eq(RUN("calendar", "import", good), 0, "%s", err);
  cr_assert_not_null(strstr(out, "1 new"), "%s", out);
  cr_assert_eq(RUN("calendar", "import", good), 0, "%s", err);
  cr_assert_not_null(strstr(out, "0 new"), "twice changes nothing: %s", out);
  cr_assert_eq(RUN("calendar", "deadline", "2028-12-28", "--now", "2028-12-28"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "2029-01-05"), "%s", out);
  cr_assert_eq(RUN("calendar", "import", "/nonexistent/file.json"), 1);
}

Test(cli, terms_and_rules_are_checked_and_school_days_need_terms)
{
  cr_assert_eq(RUN("init", "Oak Primary"), 0, "%s", err);
  cr_assert_eq(RUN("calendar", "rule", "school", "5"), 1, "no terms yet");
  cr_assert_not_null(strstr(err, "term dates"), "%s", err);
  cr_assert_eq(RUN("calendar", "rule", "fortnights", "5"), 2);
  cr_assert_eq(RUN("calendar", "rule", "working", "0"), 2);
  cr_assert_eq(RUN("calendar", "rule", "working", "61"), 2);
  cr_assert_eq(RUN("calendar", "rule", "working", "-1"), 2);
  cr_assert_eq(RUN("calendar", "terms", "2026-01-05-2026-03-27"), 2);
  cr_assert_eq(RUN("calendar", "terms", "2026-03-27:2026-01-05"), 1, "ends before it starts");
  cr_assert_eq(RUN("calendar", "terms", "2026-01-05:2026-03-27,2026-04-13:2026-07-22"), 0,
               "%s", err);
  cr_assert_eq(RUN("calendar", "rule", "school", "5"), 0, "%s", err);
  /* Thu 26 Mar 2026 in school days: 27 Mar, then 13, 14, 15, 16 Apr */
  cr_assert_eq(RUN("calendar", "deadline", "2026-03-26", "--now", "2026-03-26"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "2026-04-16"), "%s", out);
  cr_assert_eq(RUN("calendar", "terms", "none"), 1, "the school-day rule needs them");
  cr_assert_eq(RUN("--json", "calendar", "show"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "\"school\""), "%s", out);
  cr_assert_eq(RUN("calendar"), 2, "a group alone");
  cr_assert_not_null(strstr(err, "deadline"), "names the subcommands: %s", err);
}
