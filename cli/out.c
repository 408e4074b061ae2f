/* cli/out.c: text and JSON results (cli/out.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli/out.h"

#include <stdio.h>
#include <time.h>

#include "crdt/cert.h"

int cli_out_emit(const cli_ctx *c, json_t *doc, void (*text)(const json_t *doc))
{
  int rc = CLI_OK;

  if (doc == NULL)
    return cli_fail(c, "out of memory");
  if (c->json) {
    if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 ||
        fputc('\n', stdout) == EOF)
      rc = CLI_ERROR;
  } else {
    text(doc);
  }
  json_decref(doc);
  return rc;
}

void cli_out_row(const char *label, const char *value)
{
  printf("%-20s %s\n", label, value ? value : "-");
}

json_t *cli_out_str(bt_str s)
{
  return json_stringn((const char *)s.p, s.len);
}

const char *cli_out_get(const json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

void cli_out_time(uint64_t ms, char *buf, size_t len)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "?");
}

json_t *cli_out_fpr(const uint8_t *key)
{
  char fpr[CRDT_FPR_LEN];

  crdt_fingerprint(key, 32, fpr);
  return json_string(fpr);
}
