/* cli/armor.h: the files people carry between machines during setup (a
 * USB stick, an email, anything): an org's certificate request and its
 * certificate, an enrolment request and its answer.
 *
 * Each is text, so it survives any channel and says what it is:
 *
 *   # Hillside Primary (school) RRFH-815A-A17A-ZV2H-EWGV-SX57-5AES-9Q91
 *   -----BEGIN BATON ORG CERTIFICATE-----
 *   <the bytes in base64, 64 characters a line>
 *   -----END BATON ORG CERTIFICATE-----
 *
 * Lines before BEGIN are notes for people and are ignored. Reading checks
 * the kind (a request given where a certificate is wanted is named as
 * such), the END line (a cut file is "truncated") and the base64; what the
 * bytes mean is judged by node/. Messages go to stderr (cli_say). */
#ifndef BT_CLI_ARMOR_H
#define BT_CLI_ARMOR_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

typedef enum {
  CLI_ARMOR_ORG_REQUEST = 0,
  CLI_ARMOR_ORG_CERT,
  CLI_ARMOR_ENROL_REQUEST,
  CLI_ARMOR_ENROL_ANSWER,
} cli_armor_kind;

#define CLI_ARMOR_MAX 65536 /* bytes of a file read */

/* The armoured text of p[0..len) with note (one line, may be NULL) above
 * it: malloc'd, NUL-terminated, or NULL (out of memory). */
char *cli_armor(cli_armor_kind k, const char *note, const uint8_t *p, size_t len);

/* Writes text to path (a new file beside it, then renamed over it: a
 * reader never sees half a file), mode 0600. CLI_OK or CLI_ERROR (said). */
int cli_armor_write(const cli_ctx *c, const char *path, const char *text);

/* Reads an armoured file of kind k from path: *p (malloc'd: the caller
 * frees it) and *len, at most max bytes decoded. CLI_OK or CLI_ERROR
 * (said why: missing, too large, not a Baton file, another kind,
 * truncated, damaged). */
int cli_armor_read(const cli_ctx *c, const char *path, cli_armor_kind k, size_t max,
                   uint8_t **p, size_t *len);

#endif
