/* cli/armor.c: armoured setup files (cli/armor.h). Base64 is libsodium's
 * (an encoding: no crypto here). */
#define _POSIX_C_SOURCE 200809L
#include "cli/armor.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const LABEL[] = {
  [CLI_ARMOR_ORG_REQUEST] = "BATON ORG REQUEST",
  [CLI_ARMOR_ORG_CERT] = "BATON ORG CERTIFICATE",
  [CLI_ARMOR_ENROL_REQUEST] = "BATON ENROL REQUEST",
  [CLI_ARMOR_ENROL_ANSWER] = "BATON ENROL ANSWER",
};
#define NKINDS (sizeof LABEL / sizeof LABEL[0])

static const char *const WORDS[] = {
  [CLI_ARMOR_ORG_REQUEST] = "org certificate request",
  [CLI_ARMOR_ORG_CERT] = "org certificate",
  [CLI_ARMOR_ENROL_REQUEST] = "enrolment request",
  [CLI_ARMOR_ENROL_ANSWER] = "enrolment answer",
};

char *cli_armor(cli_armor_kind k, const char *note, const uint8_t *p, size_t len)
{
  size_t b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
  size_t cap = b64 + b64 / 64 + 2 * strlen(LABEL[k]) + 64 + (note ? strlen(note) + 4 : 0);
  char *enc = malloc(b64), *out = malloc(cap);
  size_t o = 0, elen;

  if (enc == NULL || out == NULL) {
    free(enc);
    free(out);
    return NULL;
  }
  sodium_bin2base64(enc, b64, p, len, sodium_base64_VARIANT_ORIGINAL);
  elen = strlen(enc);
  if (note)
    o += (size_t)snprintf(out + o, cap - o, "# %s\n", note);
  o += (size_t)snprintf(out + o, cap - o, "-----BEGIN %s-----\n", LABEL[k]);
  for (size_t i = 0; i < elen; i += 64)
    o += (size_t)snprintf(out + o, cap - o, "%.*s\n", (int)(elen - i < 64 ? elen - i : 64),
                          enc + i);
  snprintf(out + o, cap - o, "-----END %s-----\n", LABEL[k]);
  free(enc);
  return out;
}

int cli_armor_write(const cli_ctx *c, const char *path, const char *text)
{
  char tmp[4200];
  size_t len = strlen(text);
  int fd, ok;

  if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
    return cli_fail(c, "the output path is too long");
  if ((fd = mkstemp(tmp)) < 0)
    return cli_fail(c, "cannot write %s: %s", path, strerror(errno));
  ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return cli_fail(c, "cannot write %s: %s", path, strerror(e));
  }
  return CLI_OK;
}

static int slurp(const cli_ctx *c, const char *path, char **buf)
{
  FILE *f = fopen(path, "rb");
  size_t n;

  if (f == NULL)
    return cli_fail(c, "cannot read %s: %s", path, strerror(errno));
  if ((*buf = malloc(CLI_ARMOR_MAX + 1)) == NULL) {
    fclose(f);
    return cli_fail(c, "out of memory");
  }
  n = fread(*buf, 1, CLI_ARMOR_MAX + 1, f);
  fclose(f);
  if (n > CLI_ARMOR_MAX || memchr(*buf, '\0', n)) {
    free(*buf);
    return cli_fail(c, "%s is not a Baton setup file (%s)", path,
                    n > CLI_ARMOR_MAX ? "too large" : "binary data");
  }
  (*buf)[n] = '\0';
  return CLI_OK;
}

/* The kind whose BEGIN line starts at line, or -1. */
static int begin_kind(const char *line)
{
  for (size_t k = 0; k < NKINDS; k++) {
    size_t n = strlen(LABEL[k]);
    if (strncmp(line, "-----BEGIN ", 11) == 0 && strncmp(line + 11, LABEL[k], n) == 0 &&
        strncmp(line + 11 + n, "-----", 5) == 0)
      return (int)k;
  }
  return -1;
}

static int decode(const cli_ctx *c, const char *path, const char *body, cli_armor_kind k,
                  size_t max, uint8_t **p, size_t *len)
{
  char end[64];
  const char *e;
  uint8_t *bin;
  size_t blen;

  snprintf(end, sizeof end, "-----END %s-----", LABEL[k]);
  if ((e = strstr(body, end)) == NULL)
    return cli_fail(c, "%s is truncated: its END line is missing", path);
  if ((bin = malloc(max + 1)) == NULL)
    return cli_fail(c, "out of memory");
  if (sodium_base642bin(bin, max + 1, body, (size_t)(e - body), "\r\n", &blen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      blen == 0 || blen > max) {
    free(bin);
    return cli_fail(c, "%s is damaged: its contents do not decode", path);
  }
  *p = bin;
  *len = blen;
  return CLI_OK;
}

int cli_armor_read(const cli_ctx *c, const char *path, cli_armor_kind k, size_t max,
                   uint8_t **p, size_t *len)
{
  char *buf = NULL, *line, *nl;
  int rc, got = -1;

  if ((rc = slurp(c, path, &buf)) != CLI_OK)
    return rc;
  for (line = buf; line; line = (nl = strchr(line, '\n')) ? nl + 1 : NULL)
    if ((got = begin_kind(line)) >= 0)
      break;
  nl = line ? strchr(line, '\n') : NULL;
  if (got < 0)
    rc = cli_fail(c, "%s is not a Baton %s (no \"-----BEGIN %s-----\" line)", path, WORDS[k],
                  LABEL[k]);
  else if (got != (int)k)
    rc = cli_fail(c, "%s holds an %s, not an %s", path, WORDS[got], WORDS[k]);
  else
    rc = decode(c, path, nl ? nl + 1 : "", k, max, p, len);
  free(buf);
  return rc;
}
