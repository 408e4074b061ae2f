/* cli/enrol.c: a second device of an org (a DSL's laptop), with a
 * one-time code (docs/enrol.md; node/enrol.h):
 *
 *   org's node:  baton enrol issue NAME [--hours N]     prints the code
 *   new device:  baton enrol request CODE [--out REQ]   makes its store if
 *                                                       there is none (no org)
 *   org's node:  baton enrol answer REQ [--out ANS]
 *   new device:  baton enrol accept CODE ANS
 *
 * Files carry the request and the answer; the code goes by voice or on
 * paper, never in those files. The code is a secret until used: it is
 * printed once and never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/armor.h"
#include "cli/ident.h"
#include "cli/out.h"
#include "cli/setup.h"
#include "cli/store.h"
#include "crdt/err.h"
#include "node/enrol.h"
#include "node/org.h"

static const cli_opt OUT_OPT = {"--out", "FILE", CLI_PATH_MAX, "write it to FILE (default: "
                                                               "stdout)"};

/* ---- issue ------------------------------------------------------------------------ */

static const cli_opt ISSUE_OPTS[] = {
  {"--hours", "N", 3, "how long the code works, 1..168 hours (default 24)"},
};
static const cli_pos NAME_POS[] = {{"NAME", NODE_ENROL_NAME_MAX, 0}};

static void issue_text(const json_t *doc)
{
  printf("One-time code for %s:\n\n    %s\n\n", cli_out_get(doc, "name"),
         cli_out_get(doc, "code"));
  printf("It works once, until %s. Read it to the person at the new device\n"
         "(`baton enrol request CODE --out REQ` there); do not write it in an email.\n",
         cli_out_get(doc, "expires"));
}

static int issue_run(cli_ctx *c, const cli_args *a)
{
  char code[NODE_ENROL_CODE_LEN], until[32], *end;
  unsigned long hours = 24;
  node_store *s = NULL;
  uint64_t now = cli_setup_now();
  json_t *doc;
  int rc;

  if (a->val[0] && ((hours = strtoul(a->val[0], &end, 10)) < 1 || hours > 168 || *end ||
                    a->val[0][0] < '0' || a->val[0][0] > '9'))
    return cli_usage(c, "--hours must be a number of hours from 1 to 168");
  if ((rc = cli_setup_open(c, &s)) != CLI_OK)
    return rc;
  rc = node_enrol_issue(s, a->pos[0], hours * 3600000ull, now, code);
  node_store_close(s);
  if (rc == BT_ENOTFOUND)
    return cli_fail(c, "this node has no org: issue codes on the org's own node");
  if (rc == BT_EINVAL)
    return cli_usage(c, "NAME must be one line of at most 128 bytes");
  if (rc != BT_OK)
    return cli_fail(c, "cannot issue a code: %s", bt_strerror(rc));
  cli_out_time(now + hours * 3600000ull, until, sizeof until);
  doc = json_pack("{s:s, s:s%, s:s, s:s}", "code", code, "id", code, (size_t)NODE_ENROL_ID_LEN,
                  "name", a->pos[0], "expires", until);
  rc = cli_out_emit(c, doc, issue_text);
  return rc;
}

const cli_cmd cli_enrol_issue_cmd = {
  .name = "enrol issue",
  .summary = "org's node: issue a one-time code to enrol a new device called NAME",
  .about = "Prints a one-time code (20 symbols) for a new device of this org, such as a\n"
           "DSL's laptop, to be called NAME in its certificate. Read the code to the\n"
           "person at that device. It works once, for --hours (default 24), and five\n"
           "wrong tries burn it.",
  .opts = ISSUE_OPTS, .nopts = 1, .pos = NAME_POS, .npos = 1, .run = issue_run,
};

/* ---- request ---------------------------------------------------------------------- */

static const cli_pos CODE_POS[] = {{"CODE", 64, 0}};

static void file_text(const json_t *doc)
{
  const char *file = cli_out_get(doc, "file");

  if (file == NULL) {
    fputs(cli_out_get(doc, "text"), stdout);
    return;
  }
  if (cli_out_get(doc, "device"))
    cli_out_row("device fingerprint", cli_out_get(doc, "device"));
  cli_out_row(cli_out_get(doc, "what"), file);
  printf("%s\n", cli_out_get(doc, "next"));
}

/* Writes text to --out, or not, then emits the result. Takes text. */
static int emit_file(const cli_ctx *c, const char *out, const char *what, char *text,
                     json_t *device, const char *next)
{
  int rc = text ? CLI_OK : cli_fail(c, "out of memory");

  if (rc == CLI_OK && out)
    rc = cli_armor_write(c, out, text);
  if (rc == CLI_OK)
    rc = cli_out_emit(c, json_pack("{s:s, s:s, s:s?, s:O?, s:s}", "what", what, "text", text,
                                   "file", out, "device", device, "next", next),
                      file_text);
  json_decref(device);
  free(text);
  return rc;
}

static int request_run(cli_ctx *c, const cli_args *a)
{
  cli_store_info where;
  node_store *s = NULL;
  uint8_t *req = NULL, pk[CRDT_PK_LEN];
  size_t len = 0;
  char *text;
  int rc;

  if (cli_store_create(c, 0, &s, &where) != BT_OK)
    return CLI_ERROR;
  rc = node_enrol_request(s, a->pos[0], &req, &len);
  node_store_device(s, pk);
  node_store_close(s);
  if (rc == BT_EINVAL)
    return cli_fail(c, "that is not the code the org's node printed (mistyped? it is 20 "
                       "symbols, XXXX-XXXX-XXXX-XXXX-XXXX)");
  if (rc == BT_EDUP)
    return cli_fail(c, "this node already belongs to an org (`baton status`): enrol a "
                       "device with a new data directory (--dir)");
  if (rc != BT_OK)
    return cli_fail(c, "cannot make the request: %s", bt_strerror(rc));
  text = cli_armor(CLI_ARMOR_ENROL_REQUEST, "enrolment request (no secret in it)", req,
                        len);
  free(req);
  return emit_file(c, a->val[0], "request", text, cli_out_fpr(pk),
                   "Take it to the org's node: `baton enrol answer REQ --out ANS`.");
}

const cli_cmd cli_enrol_request_cmd = {
  .name = "enrol request",
  .summary = "new device: ask to join an org with its one-time code",
  .about = "On the new device: makes the data directory's store if there is none (with\n"
           "the key file or passphrase as `baton init` would, but no org), and writes a\n"
           "request carrying this device's key, proven with the code. Take the file to\n"
           "the org's node.",
  .opts = &OUT_OPT, .nopts = 1, .pos = CODE_POS, .npos = 1, .run = request_run,
};

/* ---- answer ----------------------------------------------------------------------- */

static const cli_pos REQ_POS[] = {{"REQ", CLI_PATH_MAX, 0}};

static const char *answer_why(int rc)
{
  switch (rc) {
  case BT_EVERSION:
  case BT_EPROTO:
    return "the file is not an enrolment request (damaged or altered)";
  case BT_ENOTFOUND:
    return "this node has no org: answer on the org's own node";
  case BT_EINVAL:
    return "the request names this node itself";
  case BT_ELOCKED:
    return "enrolment is locked after too many wrong codes: issue a new code (or wait 15 "
           "minutes if many unknown codes were tried)";
  case BT_EPASS:
    return "the request was made with a wrong or unknown code (counted: five burn a code)";
  case BT_ESIG:
    return "the request's signature is not the device's (altered)";
  case BT_EDUP:
    return "that code has been used already: issue a new one";
  case BT_EEXPIRED:
    return "that code has expired: issue a new one";
  default:
    return bt_strerror(rc);
  }
}

static int answer_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  uint8_t *req = NULL, *ans = NULL;
  size_t rlen = 0, alen = 0;
  char *text;
  int rc;

  if ((rc = cli_armor_read(c, a->pos[0], CLI_ARMOR_ENROL_REQUEST, NODE_ENROL_REQ_LEN + 64, &req,
                          &rlen)) != CLI_OK)
    return rc;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK) {
    free(req);
    return rc;
  }
  rc = node_enrol_answer(s, req, rlen, cli_setup_now(), &ans, &alen);
  node_store_close(s);
  free(req);
  if (rc != BT_OK)
    return cli_fail(c, "not answered (%s): %s", bt_errname(rc), answer_why(rc));
  text = cli_armor(CLI_ARMOR_ENROL_ANSWER,
                        "enrolment answer (sealed: only the requesting device opens it)", ans,
                        alen);
  free(ans);
  return emit_file(c, a->val[0], "answer", text, NULL,
                   "Take it to the new device: `baton enrol accept CODE ANS`.");
}

const cli_cmd cli_enrol_answer_cmd = {
  .name = "enrol answer",
  .summary = "org's node: answer a device's enrolment request",
  .about = "Checks the request against the codes this node issued and answers it with\n"
           "the org's keys and a certificate for the device, sealed so that only that\n"
           "device can open them. The code is used up by this.",
  .opts = &OUT_OPT, .nopts = 1, .pos = REQ_POS, .npos = 1, .run = answer_run,
};

/* ---- accept ----------------------------------------------------------------------- */

static const cli_pos ACCEPT_POS[] = {{"CODE", 64, 0}, {"ANS", CLI_PATH_MAX, 0}};

static void accept_text(const json_t *doc)
{
  printf("This device now belongs to the org. Compare the org fingerprint with the org's\n"
         "node (`baton status` there).\n");
  cli_ident_text(doc);
  if (!json_is_true(json_object_get(doc, "anchored")))
    printf("Trust the LA root too: `baton anchor add ROOT_KEY`.\n");
}

static int anchored(node_store *s, const json_t *org)
{
  crdt_id keys[64];
  size_t n = 0;
  const char *issuer = cli_out_get(org, "issuer");
  char fpr[CRDT_FPR_LEN];

  if (issuer == NULL || node_anchors(s, keys, 64, &n) != BT_OK)
    return 0;
  for (size_t k = 0; k < n && k < 64; k++) {
    crdt_fingerprint(keys[k].b, CRDT_PK_LEN, fpr);
    if (strcmp(fpr, issuer) == 0)
      return 1;
  }
  return 0;
}

static int accept_run(cli_ctx *c, const cli_args *a)
{
  node_store *s = NULL;
  uint8_t *ans = NULL;
  size_t alen = 0;
  json_t *device = NULL, *org = NULL;
  int rc;

  if ((rc = cli_armor_read(c, a->pos[1], CLI_ARMOR_ENROL_ANSWER, NODE_ENROL_ANS_MAX, &ans,
                          &alen)) != CLI_OK)
    return rc;
  if ((rc = cli_setup_open(c, &s)) != CLI_OK) {
    free(ans);
    return rc;
  }
  rc = node_enrol_accept(s, a->pos[0], ans, alen);
  free(ans);
  if (rc == BT_EINVAL)
    rc = cli_fail(c, "not accepted: not the code this request was made with, or "
                     "certificates that do not fit this device");
  else if (rc == BT_EAUTH)
    rc = cli_fail(c, "not accepted: the answer was not made for this device with this code "
                     "(altered, or another device's)");
  else if (rc == BT_EDUP)
    rc = cli_fail(c, "this node already belongs to an org: nothing changed");
  else if (rc != BT_OK)
    rc = cli_fail(c, "not accepted (%s): %s", bt_errname(rc), bt_strerror(rc));
  else if ((rc = cli_ident_json(s, &device, &org)) != BT_OK)
    rc = cli_fail(c, "cannot read the org back: %s", bt_strerror(rc));
  else
    rc = cli_out_emit(c, json_pack("{s:o, s:o, s:b}", "device", device, "org", org,
                                   "anchored", anchored(s, org)), accept_text);
  node_store_close(s);
  return rc;
}

const cli_cmd cli_enrol_accept_cmd = {
  .name = "enrol accept",
  .summary = "new device: install the org's answer",
  .about = "Checks the answer against the code and installs the org's keys and this\n"
           "device's certificate. Then compare the org fingerprint with the org's node,\n"
           "and trust the LA root (`baton anchor add`) before syncing.",
  .pos = ACCEPT_POS, .npos = 2, .run = accept_run,
};
