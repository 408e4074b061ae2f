/* cli/cli.c: messages to the person at the terminal (cli/cli.h). */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vsay(const cli_ctx *c, const char *fmt, va_list ap)
{
  if (c && c->cmd)
    fprintf(stderr, "baton %s: ", c->cmd);
  else
    fputs("baton: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_say(const cli_ctx *c, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(c, fmt, ap);
  va_end(ap);
}

int cli_fail(const cli_ctx *c, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(c, fmt, ap);
  va_end(ap);
  return CLI_ERROR;
}

int cli_usage(const cli_ctx *c, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(c, fmt, ap);
  va_end(ap);
  if (c && c->cmd)
    fprintf(stderr, "Try 'baton help %s'.\n", c->cmd);
  else
    fputs("Try 'baton help'.\n", stderr);
  return CLI_USAGE;
}

/* Bytes at or above 0x80 pass (names may be UTF-8; args.c has checked
 * the encoding where it matters); control bytes become \xNN. */
const char *cli_quote(const char *v, char buf[CLI_QUOTE_LEN])
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, shown = 0;

  buf[o++] = '\'';
  for (; *v && shown < 40; v++, shown++) {
    unsigned char ch = (unsigned char)*v;
    if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\') {
      buf[o++] = '\\';
      buf[o++] = 'x';
      buf[o++] = hex[ch >> 4];
      buf[o++] = hex[ch & 15];
    } else {
      buf[o++] = (char)ch;
    }
  }
  buf[o++] = '\'';
  if (*v) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = '\0'; /* at most 1 + 40*4 + 1 + 3 + 1 < CLI_QUOTE_LEN */
  return buf;
}
