/* tests/web/test_api_share.c: the sharing calls of the web API
 * (web/api_share.c) against a real batond on loopback:
 *
 *   GET  /api/files/ID/grants                 grants and sharing decisions
 *   POST /api/files/ID/grants                 share, on a lawful basis
 *   POST /api/files/ID/grants/GID/revoke      end a grant
 *   POST /api/files/ID/extracts               share chosen entries only
 *   POST /api/files/ID/decisions              a decision not to share
 *
 * Oak Primary holds Amy Bell's file (a chronology note) and knows the LA
 * directory (County MASH, Elm Academy). Each happy path is read back
 * through GET grants; every refusal leaves the op count unchanged and no
 * reply echoes the text sent. batond runs on the real clock. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/parties.h"
#include "node/sync.h"
#include "node/users.h"
#include "web/apikit.h"

static uint8_t amy[CRDT_FILE_LEN];
static char amy_hex[2 * CRDT_FILE_LEN + 1], note_hex[2 * CRDT_ID_LEN + 1];
static char mash_id[2 * CRDT_ID_LEN + 1], elm_id[2 * CRDT_ID_LEN + 1];

#define MARK "Zebra-Quartz-7741" /* text no reply may echo */


static void start(void)
{
  party *listed[] = {&school, &mash, &other};
  crdt_id note;

  parties_open(&la, &school, &mash, &other);
  for (size_t i = 0; i < 3; i++)
    cr_assert_eq(node_dir_publish(la.s, listed[i]->cert, listed[i]->cert_len, NULL), BT_OK);
  party_see_directory(&la, &school);
  apikit_users(school.s);
  party_new_file(&school, amy);
  cr_assert_eq(party_note(&school, amy, "Phoned the parents", &note), BT_OK);
  sodium_bin2hex(amy_hex, sizeof amy_hex, amy, CRDT_FILE_LEN);
  sodium_bin2hex(note_hex, sizeof note_hex, note.b, CRDT_ID_LEN);
  party_org_hex(&mash, mash_id, NULL);
  party_org_hex(&other, elm_id, NULL);
  apikit_start(school.dir);
}

TestSuite(web_api_share, .init = start, .fini = apikit_close);

/* ---- helpers ------------------------------------------------------------------------ */

#define ops(file) apikit_ops(school.s, file)

#define GRANTS(f) path_of("/api/files/%s/grants", f)
#define REVOKE(f, g) path_of("/api/files/%s/grants/%s/revoke", f, g)
#define EXTRACTS(f) path_of("/api/files/%s/extracts", f)
#define DECISIONS(f) path_of("/api/files/%s/decisions", f)

/* A grant body to the MASH on the mother's consent, then more (may be ""). */
static const char *consent(const char *to, const char *more)
{
  static char b[1024];

  snprintf(b, sizeof b,
           "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": \"consent\", "
           "\"consent_by\": \"mother\", \"consent_how\": \"in writing\", "
           "\"consent_on\": \"2026-01-05\"%s}", to, more);
  return b;
}

/* GET grants as w (the caller decrefs it). */
static json_t *grants_of(const apikit_who *w, const char *file_hex)
{
  cr_assert_eq(apikit_get(w, GRANTS(file_hex)), 200, "%s", resp);
  return apikit_json();
}

static json_t *grant_by_id(json_t *doc, const char *id)
{
  size_t i;
  json_t *g;

  json_array_foreach(json_object_get(doc, "grants"), i, g)
    if (strcmp(jstr(g, "id"), id) == 0)
      return g;
  cr_assert_fail("grant %s not listed: %s", id, json_dumps(doc, 0));
  return NULL;
}

/* ---- grant, read back, revoke ------------------------------------------------------- */

Test(web_api_share, a_grant_reads_back_in_the_schemas_words_and_is_revoked)
{
  apikit_who d = apikit_as("dsl.jones");
  char gid[65];
  json_t *j, *doc, *g;
  uint64_t n;

  doc = grants_of(&d, amy_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "grants")), 0);
  cr_assert_eq(json_array_size(json_object_get(doc, "decisions")), 0);
  json_decref(doc);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex),
                           consent(mash_id, ", \"expires\": \"2030-12-31\", \"rights\": "
                                            "\"read_write\", \"history\": \"from_now\"")),
               201, "%s", resp);
  j = apikit_json();
  cr_assert_eq(strlen(jstr(j, "grant")), 64);
  strcpy(gid, jstr(j, "grant"));
  json_decref(j);

  doc = grants_of(&d, amy_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "grants")), 1);
  g = grant_by_id(doc, gid);
  cr_assert_str_eq(jstr(g, "org"), mash_id);
  cr_assert_str_eq(jstr(g, "org_name"), "County MASH");
  cr_assert_str_eq(jstr(g, "purpose"), "referral");
  cr_assert_str_eq(jstr(g, "basis"), "consent");
  cr_assert_str_eq(jstr(g, "rights"), "read_write");
  cr_assert_str_eq(jstr(g, "history"), "from_now");
  cr_assert_str_eq(jstr(g, "expires_at"), "2031-01-01T00:00:00Z", "the end of 31 December");
  cr_assert(json_is_false(json_object_get(g, "revoked")));
  cr_assert(json_is_false(json_object_get(g, "transfer")));
  cr_assert_str_eq(jstr(g, "state"), "live");
  json_decref(doc);

  /* A second live grant to the same org: 409, nothing written. */
  n = ops(amy);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, "")), 409, "%s", resp);
  cr_assert_eq(ops(amy), n);

  /* Revoke: a reason is required; only share roles; then it reads back revoked. */
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, gid), "{}"), 400);
  cr_assert(strstr(body_of(), "reason"));
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, gid), "{\"reason\": 5}"), 400);
  for (size_t i = 2; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    cr_assert_eq(apikit_post(&w, REVOKE(amy_hex, gid), "{\"reason\": \"done\"}"), 403, "%s",
                 apikit_roles[i].name);
  }
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, "12"), "{\"reason\": \"done\"}"), 404);
  char zero[65];
  memset(zero, '0', 64);
  zero[64] = 0;
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, zero), "{\"reason\": \"done\"}"), 404, "%s",
               resp);
  cr_assert_eq(ops(amy), n, "nothing stored by the refusals");
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, gid), "{\"reason\": \"referral closed\"}"), 200,
               "%s", resp);
  cr_assert_gt(ops(amy), n);
  n = ops(amy);
  cr_assert_eq(apikit_post(&d, REVOKE(amy_hex, gid), "{\"reason\": \"again\"}"), 404,
               "revoked already");
  cr_assert_eq(ops(amy), n);
  doc = grants_of(&d, amy_hex);
  g = grant_by_id(doc, gid);
  cr_assert(json_is_true(json_object_get(g, "revoked")));
  cr_assert_str_eq(jstr(g, "state"), "revoked");
  json_decref(doc);
  cr_assert_eq(apikit_get(&d, REVOKE(amy_hex, gid)), 405);
}

Test(web_api_share, a_deputy_shares_on_another_basis_with_a_reason)
{
  apikit_who dep = apikit_as("dep.kay");
  json_t *doc, *g;
  char b[512];

  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"strategy_meeting\", \"basis\": "
                        "\"significant_harm\", \"reason\": \"risk of harm\"}", elm_id);
  cr_assert_eq(apikit_post(&dep, GRANTS(amy_hex), b), 201, "%s", resp);
  doc = grants_of(&dep, amy_hex);
  g = json_array_get(json_object_get(doc, "grants"), 0);
  cr_assert_str_eq(jstr(g, "org_name"), "Elm Academy");
  cr_assert_str_eq(jstr(g, "basis"), "significant_harm");
  cr_assert_str_eq(jstr(g, "rights"), "read", "read by default");
  cr_assert_str_eq(jstr(g, "history"), "all", "all by default");
  cr_assert(json_is_null(json_object_get(g, "expires_at")));
  json_decref(doc);
}

Test(web_api_share, only_dsls_and_deputies_see_or_share)
{
  uint64_t n = ops(amy);
  char b[512];

  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\"], \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"x\"}", mash_id, note_hex);
  for (size_t i = 2; i < APIKIT_NROLES; i++) {
    apikit_who w = apikit_as(apikit_roles[i].name);
    const char *u = apikit_roles[i].name;
    cr_assert_eq(apikit_get(&w, GRANTS(amy_hex)), 403, "%s: %s", u, resp);
    cr_assert_null(strstr(body_of(), "MASH"));
    cr_assert_eq(apikit_post(&w, GRANTS(amy_hex), consent(mash_id, "")), 403, "%s: %s", u, resp);
    cr_assert_eq(apikit_post(&w, EXTRACTS(amy_hex), b), 403, "%s: %s", u, resp);
    cr_assert_eq(apikit_post(&w, DECISIONS(amy_hex), "{\"with\": \"Police\", \"reason\": \"no\"}"),
                 403, "%s: %s", u, resp);
  }
  cr_assert_eq(ops(amy), n, "nothing stored");
}

Test(web_api_share, no_lawful_basis_and_other_bad_grants_are_refused_with_nothing_stored)
{
  apikit_who d = apikit_as("dsl.jones");
  uint64_t n = ops(amy);
  char b[1024], zero[65];

  memset(zero, '0', 64);
  zero[64] = 0;
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"referral\"}", mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400, "no lawful basis: %s", resp);
  cr_assert(strstr(body_of(), "lawful basis"));
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": \"consent\", "
                        "\"consent_by\": \"mother\"}", mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400, "consent in part");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": "
                        "\"public_interest\"}", mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400, "no reason without consent");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex),
                           consent(mash_id, ", \"reason\": \"also\", \"basis2\": 1")), 400);
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"referral\", \"basis\": \"public_"
                        "interest\", \"reason\": \"x\", \"consent_by\": \"m\"}", mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400, "consent fields go with consent only");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": \"" MARK "\", \"basis\": \"consent\"}",
           mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400);
  cr_assert_null(strstr(resp, MARK), "the value sent is not echoed");
  cr_assert(strstr(body_of(), "referral"), "the words are listed: %s", body_of());
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"purpose\": 2, \"basis\": 1}", mash_id);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), b), 400, "numbers are no words");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, ", \"rights\": \"all\"")), 400);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, ", \"history\": true")), 400);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, ", \"expires\": \"2020-01-01\"")),
               400, "expired already");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, ", \"expires\": \"soon\"")), 400);
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(zero, "")), 404, "unknown org");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(MARK, "")), 400, "bad org id");
  cr_assert_null(strstr(resp, MARK));
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), consent(mash_id, ", \"" MARK "\": 1")), 400);
  cr_assert_null(strstr(resp, MARK));
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), "{\"to\": "), 400, "not JSON");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), "\"to\""), 400, "not an object");
  cr_assert_eq(ops(amy), n, "nothing stored by any refusal");
  /* Unknown and bad file ids. */
  cr_assert_eq(apikit_post(&d, GRANTS("abc"), consent(mash_id, "")), 404);
  snprintf(b, sizeof b, "%.32s", zero);
  cr_assert_eq(apikit_post(&d, GRANTS(b), consent(mash_id, "")), 404, "%s", resp);
  cr_assert_eq(apikit_get(&d, GRANTS(b)), 404, "%s", resp);
  /* CSRF and origin. */
  char extra[400];
  snprintf(extra, sizeof extra, "Cookie: %s\r\nOrigin: %s\r\nContent-Type: application/json\r\n",
           d.cookie, origin);
  cr_assert_eq(req("POST", GRANTS(amy_hex), extra, consent(mash_id, "")), 403);
  snprintf(extra, sizeof extra,
           "Cookie: %s\r\nOrigin: http://evil.example\r\nX-CSRF-Token: %s\r\n"
           "Content-Type: application/json\r\n", d.cookie, d.csrf);
  cr_assert_eq(req("POST", GRANTS(amy_hex), extra, consent(mash_id, "")), 403);
  /* Too long. */
  size_t big = 300 * 1024;
  char *huge = malloc(big + 64);
  cr_assert_not_null(huge);
  snprintf(huge, 64, "{\"reason\": \"");
  memset(huge + strlen(huge), 'a', big);
  strcpy(huge + 12 + big, "\"}");
  cr_assert_eq(apikit_post(&d, GRANTS(amy_hex), huge), 413, "%.200s", resp);
  free(huge);
  cr_assert_eq(ops(amy), n);
}

/* ---- extracts ------------------------------------------------------------------------- */

Test(web_api_share, an_extract_is_a_new_file_shared_with_the_partner)
{
  apikit_who d = apikit_as("dsl.jones");
  char b[1024], ext[33], zero[65];
  json_t *j, *doc, *x;
  uint64_t n;

  memset(zero, '0', 64);
  zero[64] = 0;
  n = ops(amy);
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [], \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"x\"}", mash_id);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "no entries");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": \"%s\", \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"x\"}", mash_id, note_hex);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "not a list");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\"], \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"x\"}", mash_id, zero);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "not an entry of the file: %s", resp);
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\", \"%s\"], \"purpose\": "
                        "\"referral\", \"basis\": \"public_interest\", \"reason\": \"x\"}",
           mash_id, note_hex, note_hex);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "twice");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\"], \"purpose\": \"referral\"}",
           mash_id, note_hex);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "no lawful basis");
  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\"], \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"x\", \"history\": \"all\"}",
           mash_id, note_hex);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 400, "history is moot: not taken");
  cr_assert_eq(ops(amy), n, "nothing stored");

  snprintf(b, sizeof b, "{\"to\": \"%s\", \"entries\": [\"%s\"], \"purpose\": \"referral\", "
                        "\"basis\": \"public_interest\", \"reason\": \"a strategy meeting\"}",
           mash_id, note_hex);
  cr_assert_eq(apikit_post(&d, EXTRACTS(amy_hex), b), 201, "%s", resp);
  j = apikit_json();
  cr_assert_eq(strlen(jstr(j, "extract")), 32);
  strcpy(ext, jstr(j, "extract"));
  json_decref(j);
  cr_assert_str_neq(ext, amy_hex);
  doc = grants_of(&d, ext);
  cr_assert_eq(json_array_size(json_object_get(doc, "grants")), 1, "%s", body_of());
  x = json_array_get(json_object_get(doc, "grants"), 0);
  cr_assert_str_eq(jstr(x, "org"), mash_id);
  cr_assert_str_eq(jstr(x, "basis"), "public_interest");
  json_decref(doc);
  doc = grants_of(&d, amy_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "grants")), 0, "the main file is not shared");
  cr_assert_eq(json_array_size(json_object_get(doc, "decisions")), 1,
               "the main file records the decision: %s", body_of());
  x = json_array_get(json_object_get(doc, "decisions"), 0);
  cr_assert_str_eq(jstr(x, "decision"), "share");
  json_decref(doc);
}

/* ---- decisions not to share ------------------------------------------------------------- */

Test(web_api_share, a_decision_not_to_share_is_recorded_and_read_back)
{
  apikit_who d = apikit_as("dsl.jones");
  uint64_t n = ops(amy);
  json_t *j, *doc, *x;
  char id[65];

  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"reason\": \"no\"}"), 400, "no with");
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"with\": \"Police\"}"), 400, "no reason");
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"with\": \"Police\", \"reason\": \"no\", "
                                                   "\"decision\": \"share\"}"), 400);
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"with\": \"Police\", \"reason\": \"no\", "
                                                   "\"purpose\": \"" MARK "\"}"), 400);
  cr_assert_null(strstr(resp, MARK));
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"with\": \"a\\nb\", \"reason\": \"no\"}"),
               400, "with is one line");
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex), "{\"with\": 1, \"reason\": \"no\"}"), 400);
  cr_assert_eq(ops(amy), n, "nothing stored");
  cr_assert_eq(apikit_get(&d, DECISIONS(amy_hex)), 405);
  cr_assert_eq(apikit_post(&d, DECISIONS(amy_hex),
                           "{\"with\": \"Police\", \"reason\": \"no consent, no risk\", "
                           "\"purpose\": \"information_request\", \"decision\": \"not_share\"}"),
               201, "%s", resp);
  j = apikit_json();
  strcpy(id, jstr(j, "id"));
  json_decref(j);
  doc = grants_of(&d, amy_hex);
  cr_assert_eq(json_array_size(json_object_get(doc, "decisions")), 1);
  x = json_array_get(json_object_get(doc, "decisions"), 0);
  cr_assert_str_eq(jstr(x, "id"), id);
  cr_assert_str_eq(jstr(x, "decision"), "not_share");
  cr_assert_str_eq(jstr(x, "with_whom"), "Police");
  cr_assert_str_eq(jstr(x, "reason"), "no consent, no risk");
  cr_assert_str_eq(jstr(x, "purpose"), "information_request");
  cr_assert_str_eq(jstr(x, "decided_by"), "dsl.jones");
  json_decref(doc);
}

Test(web_api_share, a_transfer_grant_shows_as_one)
{
  apikit_who d = apikit_as("dsl.jones");
  char b[512];
  json_t *doc, *g;

  snprintf(b, sizeof b, "{\"file\": \"%s\", \"to\": \"%s\", \"on_roll\": \"2026-11-23\"}",
           amy_hex, elm_id);
  cr_assert_eq(apikit_post(&d, "/api/transfers", b), 201, "%s", resp);
  doc = grants_of(&d, amy_hex);
  g = json_array_get(json_object_get(doc, "grants"), 0);
  cr_assert(json_is_true(json_object_get(g, "transfer")));
  cr_assert_str_eq(jstr(g, "purpose"), "transfer");
  cr_assert_str_eq(jstr(g, "basis"), "public_interest");
  cr_assert_str_eq(jstr(g, "rights"), "read_write");
  json_decref(doc);
}
