/* crdt/body.c: the op body tables and codec.
 *
 * The tables below are the case-file vocabulary of domain.md, one schema per
 * op type. Decoding is strict in three steps: crdt_mp_unpack (bounded walk,
 * whole input one object), crdt_rec_unpack (types, keys, limits), then a
 * re-encode that must reproduce the input byte for byte: that one comparison
 * rejects every non-canonical form (long integer forms, empty strings,
 * explicit defaults) without a rule for each. */
#include "body.h"

#include <stdlib.h>
#include <sodium.h>

#include "date.h"
#include "err.h"
#include "mp.h"
#include "upn.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FLD(T, m, k, kind, req, max) \
  {#m, k, kind, req, max, offsetof(T, m), 0, NULL, NULL}
#define ENM(T, m, k, req, names) \
  {#m, k, CRDT_F_ENUM, req, N(names) - 1, offsetof(T, m), 0, NULL, names}
#define LST(T, m, cnt, k, req, max, sub) \
  {#m, k, CRDT_F_LIST, req, max, offsetof(T, m), offsetof(T, cnt), &sub, NULL}
#define SCHEMA(T, tname, tbl, chk) \
  {tname, sizeof(T), N(tbl), tbl, chk}

enum { S = CRDT_STR_MAX, X = CRDT_TEXT_MAX };

/* ---- front sheet ------------------------------------------------------ */

static const char *const fs_names[CRDT_FS_END] = {
  "", "given_name", "family_name", "other_names", "preferred_name", "dob",
  "upn", "gender", "plan_status", "rating", "social_worker",
  "social_worker_contact", "status", "opened_on", "closed_on", "address",
  "carers", "agencies", "notes",
};
static const char *const gender_words[] = {"female", "male", "other", "unknown", NULL};
static const char *const plan_words[] = {"none", "eh", "cin", "cp", "lac", NULL};
static const char *const rating_words[] = {"none", "red", "amber", "blue", "yellow", NULL};
static const char *const status_words[] = {"open", "closed", NULL};

const char *crdt_fs_name(uint32_t field)
{
  return field >= 1 && field < CRDT_FS_END ? fs_names[field] : NULL;
}

uint32_t crdt_fs_lookup(const char *name)
{
  for (uint32_t i = 1; i < CRDT_FS_END; i++)
    if (strcmp(fs_names[i], name) == 0)
      return i;
  return 0;
}

const char *const *crdt_fs_words(uint32_t field)
{
  switch (field) {
  case CRDT_FS_GENDER:
    return gender_words;
  case CRDT_FS_PLAN:
    return plan_words;
  case CRDT_FS_RATING:
    return rating_words;
  case CRDT_FS_STATUS:
    return status_words;
  default:
    return NULL;
  }
}

static int one_of(bt_str v, const char *const *words)
{
  for (; *words; words++)
    if (bt_str_eq(v, bt_strz(*words)))
      return BT_OK;
  return BT_EINVAL;
}

int crdt_fs_check(uint32_t field, bt_str v)
{
  uint32_t ymd;

  if (field < 1 || field >= CRDT_FS_END)
    return BT_EINVAL;
  if (v.len == 0)
    return field == CRDT_FS_GIVEN || field == CRDT_FS_FAMILY || field == CRDT_FS_DOB
             ? BT_EMISSING : BT_OK;
  switch (field) {
  case CRDT_FS_DOB:
  case CRDT_FS_OPENED:
  case CRDT_FS_CLOSED:
    return crdt_date_parse(v.p, v.len, &ymd);
  case CRDT_FS_UPN:
    return crdt_upn_check(v.p, v.len);
  case CRDT_FS_GENDER:
    return one_of(v, gender_words);
  case CRDT_FS_PLAN:
    return one_of(v, plan_words);
  case CRDT_FS_RATING:
    return one_of(v, rating_words);
  case CRDT_FS_STATUS:
    return one_of(v, status_words);
  default:
    return BT_OK;
  }
}

static const crdt_field fieldval_f[] = {
  FLD(crdt_fieldval, field, 1, CRDT_F_UINT, 1, CRDT_FS_END - 1),
  FLD(crdt_fieldval, value, 2, CRDT_F_STR, 0, S),
};

static int fieldval_check(const void *rec)
{
  const crdt_fieldval *fv = rec;

  if (fv->field == 0)
    return BT_EINVAL;
  return crdt_fs_check(fv->field, fv->value);
}

static const crdt_schema fieldval_s =
  SCHEMA(crdt_fieldval, "field_value", fieldval_f, fieldval_check);

static const crdt_field fields_f[] = {
  LST(crdt_fields, v, n, 1, 1, CRDT_FIELDS_MAX, fieldval_s),
};

static int fields_check(const void *rec)
{
  const crdt_fields *fs = rec;

  for (size_t i = 1; i < fs->n; i++)
    if (fs->v[i].field <= fs->v[i - 1].field)
      return BT_EINVAL; /* one value per field, ascending */
  return BT_OK;
}

static int create_check(const void *rec)
{
  const crdt_fields *fs = rec;
  unsigned need = 1u << CRDT_FS_GIVEN | 1u << CRDT_FS_FAMILY | 1u << CRDT_FS_DOB;
  unsigned have = 0;
  int rc;

  if ((rc = fields_check(rec)) != 0)
    return rc;
  for (size_t i = 0; i < fs->n; i++)
    if (fs->v[i].value.len > 0)
      have |= 1u << fs->v[i].field;
  return (have & need) == need ? BT_OK : BT_EMISSING;
}


/* ---- entries ---------------------------------------------------------- */

static const char *const chr_names[] = {
  "", "concern", "contact", "call", "meeting", "referral", "visit",
  "encompass", "transfer", "other",
};

static const crdt_field chrono_f[] = {
  FLD(crdt_chrono, event_at, 1, CRDT_F_TIME, 1, 0),
  ENM(crdt_chrono, category, 2, 1, chr_names),
  FLD(crdt_chrono, summary, 3, CRDT_F_TEXT, 1, X),
  FLD(crdt_chrono, with_whom, 4, CRDT_F_STR, 0, S),
  FLD(crdt_chrono, recorded_by, 5, CRDT_F_STR, 0, S),
};

static const crdt_field concern_f[] = {
  FLD(crdt_concern, incident_at, 1, CRDT_F_TIME, 0, 0),
  FLD(crdt_concern, written_at, 2, CRDT_F_TIME, 1, 0),
  FLD(crdt_concern, author_name, 3, CRDT_F_STR, 1, S),
  FLD(crdt_concern, author_role, 4, CRDT_F_STR, 1, S),
  FLD(crdt_concern, reason, 5, CRDT_F_TEXT, 0, X),
  FLD(crdt_concern, facts, 6, CRDT_F_TEXT, 1, X),
  FLD(crdt_concern, where, 7, CRDT_F_STR, 0, S),
  FLD(crdt_concern, who, 8, CRDT_F_STR, 0, S),
  FLD(crdt_concern, witnesses, 9, CRDT_F_STR, 0, S),
  FLD(crdt_concern, child_words, 10, CRDT_F_TEXT, 0, X),
  FLD(crdt_concern, opinion, 11, CRDT_F_TEXT, 0, X),
  FLD(crdt_concern, actions_taken, 12, CRDT_F_TEXT, 0, X),
  FLD(crdt_concern, passed_to, 13, CRDT_F_STR, 0, S),
};

static const crdt_field review_f[] = {
  FLD(crdt_review, concern, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_review, received_at, 2, CRDT_F_TIME, 1, 0),
  FLD(crdt_review, received_from, 3, CRDT_F_STR, 0, S),
  FLD(crdt_review, advice_sought, 4, CRDT_F_TEXT, 0, X),
  FLD(crdt_review, action, 5, CRDT_F_TEXT, 1, X),
  FLD(crdt_review, reasons, 6, CRDT_F_TEXT, 0, X),
  FLD(crdt_review, referred, 7, CRDT_F_YESNO, 0, 0),
  FLD(crdt_review, parents_informed, 8, CRDT_F_YESNO, 0, 0),
  FLD(crdt_review, parents_why, 9, CRDT_F_TEXT, 0, X),
  FLD(crdt_review, outcome, 10, CRDT_F_TEXT, 0, X),
  FLD(crdt_review, info_held, 11, CRDT_F_STR, 0, S),
  FLD(crdt_review, open_cp_file, 12, CRDT_F_YESNO, 0, 0),
  FLD(crdt_review, reviewer, 13, CRDT_F_STR, 1, S),
};

static const char *const view_names[] = {"", "front", "back"};
static const char *const clean_names[] = {"", "clean", "dirty"};

static const crdt_field mark_f[] = {
  ENM(crdt_mark, view, 1, 1, view_names),
  FLD(crdt_mark, x, 2, CRDT_F_UINT, 1, 1000),
  FLD(crdt_mark, y, 3, CRDT_F_UINT, 1, 1000),
  FLD(crdt_mark, site, 4, CRDT_F_STR, 1, S),
  FLD(crdt_mark, size, 5, CRDT_F_STR, 0, S),
  FLD(crdt_mark, shape, 6, CRDT_F_STR, 0, S),
  FLD(crdt_mark, colour, 7, CRDT_F_STR, 0, S),
  FLD(crdt_mark, skin_broken, 8, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, swelling, 9, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, scab, 10, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, blistering, 11, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, bleeding, 12, CRDT_F_YESNO, 0, 0),
  ENM(crdt_mark, clean, 13, 0, clean_names),
  FLD(crdt_mark, mobility, 14, CRDT_F_STR, 0, S),
  FLD(crdt_mark, heat, 15, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, pain, 16, CRDT_F_YESNO, 0, 0),
  FLD(crdt_mark, notes, 17, CRDT_F_TEXT, 0, X),
};
static const crdt_schema mark_s = SCHEMA(crdt_mark, "mark", mark_f, NULL);

static const crdt_field bodymap_f[] = {
  FLD(crdt_bodymap, observed_at, 1, CRDT_F_TIME, 1, 0),
  FLD(crdt_bodymap, observer_name, 2, CRDT_F_STR, 1, S),
  FLD(crdt_bodymap, observer_role, 3, CRDT_F_STR, 1, S),
  FLD(crdt_bodymap, concern, 4, CRDT_F_ID, 0, 0),
  LST(crdt_bodymap, marks, nmarks, 5, 1, CRDT_MARKS_MAX, mark_s),
};

static const crdt_field raction_f[] = {
  FLD(crdt_raction, what, 1, CRDT_F_STR, 1, S),
  FLD(crdt_raction, who, 2, CRDT_F_STR, 0, S),
  FLD(crdt_raction, by, 3, CRDT_F_DATE, 0, 0),
};
static const crdt_schema raction_s =
  SCHEMA(crdt_raction, "reflection_action", raction_f, NULL);

static const char *const expl_names[] = {"", "consistent", "conflicting", "none"};
static const char *const risk_names[] = {"", "low", "medium", "high"};

static const crdt_field reflect_f[] = {
  FLD(crdt_reflect, about, 1, CRDT_F_ID, 0, 0),
  FLD(crdt_reflect, prior_concerns, 2, CRDT_F_TEXT, 0, X),
  FLD(crdt_reflect, last_injuries, 3, CRDT_F_TEXT, 0, X),
  FLD(crdt_reflect, pattern, 4, CRDT_F_TEXT, 0, X),
  ENM(crdt_reflect, explanation, 5, 0, expl_names),
  FLD(crdt_reflect, explanation_text, 6, CRDT_F_TEXT, 0, X),
  ENM(crdt_reflect, risk, 7, 1, risk_names),
  LST(crdt_reflect, actions, nactions, 8, 0, 16, raction_s),
  FLD(crdt_reflect, referral, 9, CRDT_F_YESNO, 0, 0),
  FLD(crdt_reflect, reviewed_by, 10, CRDT_F_STR, 0, S),
};

static const crdt_field action_f[] = {
  FLD(crdt_action, what, 1, CRDT_F_TEXT, 1, X),
  FLD(crdt_action, owner, 2, CRDT_F_STR, 0, S),
  FLD(crdt_action, due, 3, CRDT_F_DATE, 0, 0),
  FLD(crdt_action, about, 4, CRDT_F_ID, 0, 0),
};

static const crdt_field done_f[] = {
  FLD(crdt_action_done, action, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_action_done, done_at, 2, CRDT_F_TIME, 1, 0),
  FLD(crdt_action_done, note, 3, CRDT_F_TEXT, 0, X),
};

static const crdt_field correction_f[] = {
  FLD(crdt_correction, target, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_correction, reason, 2, CRDT_F_TEXT, 1, X),
  FLD(crdt_correction, text, 3, CRDT_F_TEXT, 0, X),
};

static const crdt_field tag_f[] = {
  FLD(crdt_tag, tag, 1, CRDT_F_STR, 1, CRDT_TAG_MAX),
};

/* ---- access ----------------------------------------------------------- */

enum { CB = CRDT_CERT_BYTES_MAX };

static int len16(bt_str v)
{
  return v.len == 16 ? BT_OK : BT_EINVAL;
}

static const crdt_field genesis_f[] = {
  FLD(crdt_genesis, device_cert, 1, CRDT_F_BIN, 1, CB),
  FLD(crdt_genesis, org_cert, 2, CRDT_F_BIN, 1, CB),
  FLD(crdt_genesis, salt, 3, CRDT_F_BIN, 1, 16),
  FLD(crdt_genesis, epoch, 4, CRDT_F_BIN, 1, 16),
};

static int genesis_check(const void *rec)
{
  const crdt_genesis *g = rec;

  return len16(g->salt) || len16(g->epoch) ? BT_EINVAL : BT_OK;
}

static const crdt_field member_f[] = {
  FLD(crdt_member, device_cert, 1, CRDT_F_BIN, 1, CB),
  FLD(crdt_member, org_cert, 2, CRDT_F_BIN, 1, CB),
};

static const char *const purpose_names[] = {
  "", "transfer", "referral", "strategy_meeting", "information_request",
};
static const char *const basis_names[] = {
  "", "consent", "significant_harm", "police_investigation", "public_interest",
};
static const char *const rights_names[] = {"", "read", "read_write"};
static const char *const history_names[] = {"", "all", "from_now"};

static const crdt_field grant_f[] = {
  FLD(crdt_grant, org, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_grant, box, 2, CRDT_F_ID, 1, 0),
  FLD(crdt_grant, org_name, 3, CRDT_F_STR, 1, S),
  ENM(crdt_grant, purpose, 4, 1, purpose_names),
  ENM(crdt_grant, basis, 5, 1, basis_names),
  FLD(crdt_grant, consent_by, 6, CRDT_F_STR, 0, S),
  FLD(crdt_grant, consent_how, 7, CRDT_F_STR, 0, S),
  FLD(crdt_grant, consent_on, 8, CRDT_F_DATE, 0, 0),
  FLD(crdt_grant, reason, 9, CRDT_F_TEXT, 0, X),
  FLD(crdt_grant, approved_by, 10, CRDT_F_STR, 1, S),
  FLD(crdt_grant, expires_at, 11, CRDT_F_TIME, 0, 0),
  ENM(crdt_grant, rights, 12, 1, rights_names),
  ENM(crdt_grant, history, 13, 1, history_names),
};

/* A lawful basis is whole: consent says by whom, how and when; sharing
 * without consent says why in words (domain.md "Sharing"). */
static int grant_check(const void *rec)
{
  const crdt_grant *g = rec;

  if (g->basis == CRDT_BASIS_CONSENT)
    return g->consent_by.len && g->consent_how.len && g->consent_on ? BT_OK : BT_EMISSING;
  return g->reason.len ? BT_OK : BT_EMISSING;
}

static const crdt_field revoke_f[] = {
  FLD(crdt_revoke, grant, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_revoke, reason, 2, CRDT_F_TEXT, 1, X),
  FLD(crdt_revoke, revoked_by, 3, CRDT_F_STR, 1, S),
};

static const char *const cause_names[] = {
  "", "grant", "revoke", "expiry", "rotate", "merge",
};

static const crdt_field epoch_f[] = {
  FLD(crdt_epoch, epoch, 1, CRDT_F_BIN, 1, 16),
  ENM(crdt_epoch, cause, 2, 1, cause_names),
};

static int epoch_check(const void *rec)
{
  return len16(((const crdt_epoch *)rec)->epoch);
}

static const crdt_field keybox_f[] = {
  FLD(crdt_keybox, org, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_keybox, box, 2, CRDT_F_ID, 1, 0),
  FLD(crdt_keybox, sealed, 3, CRDT_F_BIN, 1, CRDT_SEALED_MAX),
};

static const char *const decide_names[] = {"", "share", "not_share"};

static const crdt_field decision_f[] = {
  ENM(crdt_decision, decision, 1, 1, decide_names),
  FLD(crdt_decision, with_whom, 2, CRDT_F_STR, 1, S),
  ENM(crdt_decision, purpose, 3, 0, purpose_names),
  FLD(crdt_decision, reason, 4, CRDT_F_TEXT, 1, X),
  FLD(crdt_decision, decided_by, 5, CRDT_F_STR, 1, S),
  FLD(crdt_decision, decided_on, 6, CRDT_F_DATE, 1, 0),
};

static const crdt_field copy_f[] = {
  FLD(crdt_copy, from_file, 1, CRDT_F_BIN, 1, 16),
  FLD(crdt_copy, source, 2, CRDT_F_ID, 1, 0),
  FLD(crdt_copy, body, 3, CRDT_F_BIN, 1, CRDT_COPY_MAX),
};

static int copy_check(const void *rec)
{
  return len16(((const crdt_copy *)rec)->from_file);
}

static const crdt_field dir_org_f[] = {
  FLD(crdt_dir_org, cert, 1, CRDT_F_BIN, 1, CB),
};

static const crdt_field dir_revoke_f[] = {
  FLD(crdt_dir_revoke, subject, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_dir_revoke, reason, 2, CRDT_F_TEXT, 1, X),
  FLD(crdt_dir_revoke, at, 3, CRDT_F_TIME, 1, 0),
};

/* ---- transfers ------------------------------------------------------- */

static const char *const xdays_names[] = {"", "working", "school"};
static const char *const retain_names[] = {"", "keep", "chronology", "log"};

static const crdt_field xfer_f[] = {
  FLD(crdt_xfer_start, to_org, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_xfer_start, to_name, 2, CRDT_F_STR, 1, S),
  FLD(crdt_xfer_start, grant, 3, CRDT_F_ID, 1, 0),
  FLD(crdt_xfer_start, on_roll, 4, CRDT_F_DATE, 0, 0),
  FLD(crdt_xfer_start, leaving, 5, CRDT_F_DATE, 0, 0),
  FLD(crdt_xfer_start, deadline, 6, CRDT_F_DATE, 1, 0),
  ENM(crdt_xfer_start, days, 7, 1, xdays_names),
  FLD(crdt_xfer_start, count, 8, CRDT_F_UINT, 1, 60),
  FLD(crdt_xfer_start, via_la, 9, CRDT_F_YESNO, 0, 0),
  FLD(crdt_xfer_start, started_by, 10, CRDT_F_STR, 1, S),
  FLD(crdt_xfer_start, note, 11, CRDT_F_TEXT, 0, X),
};

/* A deadline before the on-roll date cannot have come from the rule. */
static int xfer_check(const void *rec)
{
  const crdt_xfer_start *x = rec;

  if (x->count == 0)
    return BT_EINVAL;
  if ((x->on_roll && x->deadline <= x->on_roll) || (x->leaving && x->deadline < x->leaving))
    return BT_EINVAL;
  return BT_OK;
}

static const crdt_field xnote_f[] = {
  FLD(crdt_xfer_note, transfer, 1, CRDT_F_ID, 1, 0),
  FLD(crdt_xfer_note, at, 2, CRDT_F_TIME, 1, 0),
  FLD(crdt_xfer_note, by, 3, CRDT_F_STR, 1, S),
  FLD(crdt_xfer_note, stored, 4, CRDT_F_STR, 0, S),
  FLD(crdt_xfer_note, reason, 5, CRDT_F_TEXT, 0, X),
  FLD(crdt_xfer_note, ops, 6, CRDT_F_UINT, 0, UINT32_MAX),
  ENM(crdt_xfer_note, retain, 7, 0, retain_names),
  FLD(crdt_xfer_note, keep_until, 8, CRDT_F_DATE, 0, 0),
};

/* Each kind of note carries only its own fields. */
static int delivered_check(const void *rec)
{
  const crdt_xfer_note *x = rec;

  return x->ops && !x->stored.len && !x->reason.len && !x->retain && !x->keep_until
           ? BT_OK : BT_EINVAL;
}

static int ack_check(const void *rec)
{
  const crdt_xfer_note *x = rec;

  return !x->ops && !x->retain && !x->keep_until ? BT_OK : BT_EINVAL;
}

static int reject_check(const void *rec)
{
  const crdt_xfer_note *x = rec;

  if (!x->reason.len)
    return BT_EMISSING;
  return !x->ops && !x->stored.len && !x->retain && !x->keep_until ? BT_OK : BT_EINVAL;
}

static int close_check(const void *rec)
{
  const crdt_xfer_note *x = rec;

  if (!x->retain || (x->retain == CRDT_RETAIN_CHRONO && !x->keep_until))
    return BT_EMISSING;
  if (x->retain != CRDT_RETAIN_CHRONO && x->keep_until)
    return BT_EINVAL;
  return !x->ops && !x->stored.len ? BT_OK : BT_EINVAL;
}

static const crdt_schema body_schemas[CRDT_OP_KNOWN_END] = {
  [CRDT_OP_FILE_CREATE] = SCHEMA(crdt_fields, "file_create", fields_f, create_check),
  [CRDT_OP_FIELD_SET] = SCHEMA(crdt_fields, "field_set", fields_f, fields_check),
  [CRDT_OP_CHRONO] = SCHEMA(crdt_chrono, "chronology", chrono_f, NULL),
  [CRDT_OP_CONCERN] = SCHEMA(crdt_concern, "concern", concern_f, NULL),
  [CRDT_OP_REVIEW] = SCHEMA(crdt_review, "review", review_f, NULL),
  [CRDT_OP_BODYMAP] = SCHEMA(crdt_bodymap, "body_map", bodymap_f, NULL),
  [CRDT_OP_REFLECT] = SCHEMA(crdt_reflect, "injury_reflection", reflect_f, NULL),
  [CRDT_OP_ACTION] = SCHEMA(crdt_action, "action", action_f, NULL),
  [CRDT_OP_ACTION_DONE] = SCHEMA(crdt_action_done, "action_done", done_f, NULL),
  [CRDT_OP_CORRECTION] = SCHEMA(crdt_correction, "correction", correction_f, NULL),
  [CRDT_OP_TAG_ADD] = SCHEMA(crdt_tag, "tag_add", tag_f, NULL),
  [CRDT_OP_TAG_DEL] = SCHEMA(crdt_tag, "tag_remove", tag_f, NULL),
  [CRDT_OP_GENESIS] = SCHEMA(crdt_genesis, "genesis", genesis_f, genesis_check),
  [CRDT_OP_MEMBER] = SCHEMA(crdt_member, "member", member_f, NULL),
  [CRDT_OP_GRANT] = SCHEMA(crdt_grant, "grant", grant_f, grant_check),
  [CRDT_OP_REVOKE] = SCHEMA(crdt_revoke, "revoke", revoke_f, NULL),
  [CRDT_OP_EPOCH] = SCHEMA(crdt_epoch, "epoch", epoch_f, epoch_check),
  [CRDT_OP_KEYBOX] = SCHEMA(crdt_keybox, "keybox", keybox_f, NULL),
  [CRDT_OP_DECISION] = SCHEMA(crdt_decision, "decision", decision_f, NULL),
  [CRDT_OP_COPY] = SCHEMA(crdt_copy, "copy", copy_f, copy_check),
  [CRDT_OP_DIR_ORG] = SCHEMA(crdt_dir_org, "directory_org", dir_org_f, NULL),
  [CRDT_OP_DIR_REVOKE] = SCHEMA(crdt_dir_revoke, "directory_revoke", dir_revoke_f, NULL),
  [CRDT_OP_XFER_START] = SCHEMA(crdt_xfer_start, "transfer_start", xfer_f, xfer_check),
  [CRDT_OP_XFER_DELIVERED] =
    SCHEMA(crdt_xfer_note, "transfer_delivered", xnote_f, delivered_check),
  [CRDT_OP_XFER_ACK] = SCHEMA(crdt_xfer_note, "transfer_ack", xnote_f, ack_check),
  [CRDT_OP_XFER_REJECT] = SCHEMA(crdt_xfer_note, "transfer_reject", xnote_f, reject_check),
  [CRDT_OP_XFER_CLOSE] = SCHEMA(crdt_xfer_note, "transfer_close", xnote_f, close_check),
};

int crdt_optype_control(uint32_t type)
{
  return type >= CRDT_OP_GENESIS && type <= CRDT_OP_EPOCH;
}

const crdt_schema *crdt_body_schema(uint32_t type)
{
  return type >= 1 && type < CRDT_OP_KNOWN_END ? &body_schemas[type] : NULL;
}

const char *crdt_optype_name(uint32_t type)
{
  const crdt_schema *s = crdt_body_schema(type);

  return s ? s->name : "unknown";
}

uint64_t crdt_body_event_time(const crdt_body *b)
{
  switch (b->known ? b->type : 0) {
  case CRDT_OP_CHRONO:
    return b->u.chrono.event_at;
  case CRDT_OP_CONCERN:
    return b->u.concern.incident_at ? b->u.concern.incident_at : b->u.concern.written_at;
  case CRDT_OP_REVIEW:
    return b->u.review.received_at;
  case CRDT_OP_BODYMAP:
    return b->u.bodymap.observed_at;
  case CRDT_OP_ACTION_DONE:
    return b->u.done.done_at;
  case CRDT_OP_XFER_DELIVERED: case CRDT_OP_XFER_ACK: case CRDT_OP_XFER_REJECT:
  case CRDT_OP_XFER_CLOSE:
    return b->u.xnote.at;
  default:
    return crdt_hlc_ms(b->hlc);
  }
}

/* ---- codec ------------------------------------------------------------ */

/* The generic canonical rules, for a newer type's fields we cannot read:
 * no nil, no empty string, binary or container below the top (absent
 * things are omitted), map keys unsigned and strictly ascending. Depth is
 * bounded by the walk, so the recursion is too. */
static int raw_shape(const msgpack_object *o, int top)
{
  int rc;

  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return BT_ENONCANON;
  case MSGPACK_OBJECT_STR:
    return o->via.str.size ? BT_OK : BT_ENONCANON;
  case MSGPACK_OBJECT_BIN:
    return o->via.bin.size ? BT_OK : BT_ENONCANON;
  case MSGPACK_OBJECT_ARRAY:
    if (o->via.array.size == 0)
      return BT_ENONCANON;
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if ((rc = raw_shape(&o->via.array.ptr[i], 0)) != 0)
        return rc;
    return BT_OK;
  case MSGPACK_OBJECT_MAP:
    if (o->via.map.size == 0 && !top)
      return BT_ENONCANON;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
          (i > 0 && k->via.u64 <= o->via.map.ptr[i - 1].key.via.u64))
        return BT_ENONCANON;
      if ((rc = raw_shape(&o->via.map.ptr[i].val, 0)) != 0)
        return rc;
    }
    return BT_OK;
  default:
    return BT_OK;
  }
}

/* A newer type's fields: a map in the generic canonical form, in the
 * shortest encoding (a re-encode must give back p[0..len)). */
static int check_raw(const msgpack_object *o, const uint8_t *p, size_t len)
{
  crdt_mp_cmp cmp = {p, len, 0, 0};
  msgpack_packer pk;
  int rc;

  if (o->type != MSGPACK_OBJECT_MAP)
    return BT_ETYPE;
  if ((rc = raw_shape(o, 1)) != 0)
    return rc;
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if (msgpack_pack_object(&pk, *o) != 0)
    return BT_ENOMEM;
  return crdt_mp_cmp_equal(&cmp) ? BT_OK : BT_ENONCANON;
}

/* For the encoder: raw fields must be what a decoder would accept. */
static int validate_raw(bt_str raw)
{
  msgpack_zone z;
  msgpack_object o;
  int rc;

  if (!msgpack_zone_init(&z, 512))
    return BT_ENOMEM;
  rc = crdt_mp_unpack((const uint8_t *)raw.p, raw.len, 7, &z, &o);
  if (rc == 0)
    rc = check_raw(&o, (const uint8_t *)raw.p, raw.len);
  msgpack_zone_destroy(&z);
  return rc;
}

/* Wire layout of a body: fixarray [hlc uint, type uint, user str, fields map]. */
static int pack_body(const crdt_body *b, msgpack_packer *pk)
{
  const crdt_schema *s = crdt_body_schema(b->type);
  int rc;

  if (b->user.len == 0)
    return BT_EMISSING;
  if (b->user.len > CRDT_USER_MAX)
    return BT_ETOOBIG;
  if ((rc = crdt_text_check(b->user, 0)) != 0)
    return rc;
  if (msgpack_pack_array(pk, 4) != 0 || msgpack_pack_uint64(pk, b->hlc) != 0 ||
      msgpack_pack_uint32(pk, b->type) != 0)
    return BT_ENOMEM;
  if ((rc = crdt_mp_pack_str(pk, b->user.p, b->user.len)) != 0)
    return rc;
  if (s != NULL)
    return crdt_rec_pack(pk, s, &b->u);
  if (b->raw.len == 0)
    return BT_EMISSING;
  return pk->callback(pk->data, b->raw.p, b->raw.len) != 0 ? BT_ENOMEM : BT_OK;
}

int crdt_body_encode(const crdt_body *b, msgpack_sbuffer *out)
{
  size_t start = out->size;
  msgpack_packer pk;
  int rc;

  if (b->type == 0)
    return BT_EINVAL;
  if (crdt_body_schema(b->type) == NULL && b->raw.len && (rc = validate_raw(b->raw)) != 0)
    return rc;
  msgpack_packer_init(&pk, out, crdt_mp_secure_write);
  if ((rc = pack_body(b, &pk)) == 0 && out->size - start > CRDT_BODY_MAX)
    rc = BT_ETOOBIG;
  return rc;
}

typedef struct {
  crdt_body b; /* first: crdt_body_free casts back */
  msgpack_zone zone;
  int zone_ok;
  msgpack_object root; /* valid when have_root: wiped before the zone goes */
  int have_root;
  uint8_t *buf;
  size_t len;
} body_box;

static int decode_into(body_box *x)
{
  const msgpack_object *it;
  msgpack_object *root = &x->root;
  crdt_mp_cmp cmp = {x->buf, x->len, 0, 0};
  msgpack_packer pk;
  crdt_body *b = &x->b;
  uint64_t type;
  size_t n;
  int rc;

  if ((rc = crdt_mp_unpack(x->buf, x->len, 8, &x->zone, root)) != 0)
    return rc;
  x->have_root = 1;
  if ((rc = crdt_mp_array(root, 4, 4, &it, &n)) != 0)
    return rc == BT_ETOOBIG ? BT_EPROTO : rc;
  if ((rc = crdt_mp_uint(&it[0], &b->hlc)) != 0 || (rc = crdt_mp_uint(&it[1], &type)) != 0 ||
      (rc = crdt_mp_str(&it[2], CRDT_USER_MAX, &b->user)) != 0)
    return rc;
  if (type == 0 || type > UINT32_MAX)
    return BT_EINVAL;
  b->type = (uint32_t)type;
  b->known = crdt_body_schema(b->type) != NULL;
  if (b->known) {
    if ((rc = crdt_rec_unpack(crdt_body_schema(b->type), &it[3], &x->zone, &b->u)) != 0)
      return rc;
  } else {
    /* The fields map is the tail of the buffer: find where it starts. */
    size_t off = 1, used;
    for (int i = 0; i < 3; i++) {
      if ((rc = crdt_mp_walk(x->buf + off, x->len - off, 1, &used)) != 0)
        return rc;
      off += used;
    }
    b->raw = (bt_str){(const char *)x->buf + off, x->len - off};
    if ((rc = check_raw(&it[3], x->buf + off, x->len - off)) != 0)
      return rc;
  }
  /* Canonical: encoding what we decoded must give back the input. */
  msgpack_packer_init(&pk, &cmp, crdt_mp_cmp_write);
  if ((rc = pack_body(b, &pk)) == 0 && !crdt_mp_cmp_equal(&cmp))
    rc = BT_ENONCANON;
  return rc;
}

int crdt_body_decode(uint8_t *p, size_t len, crdt_body **out)
{
  body_box *x;
  int rc;

  if (len > CRDT_BODY_MAX) {
    sodium_memzero(p, len);
    free(p);
    return BT_ETOOBIG;
  }
  if ((x = calloc(1, sizeof(*x))) == NULL) {
    sodium_memzero(p, len);
    free(p);
    return BT_ENOMEM;
  }
  x->buf = p;
  x->len = len;
  if (!(x->zone_ok = msgpack_zone_init(&x->zone, 1024))) {
    crdt_body_free(&x->b);
    return BT_ENOMEM;
  }
  if ((rc = decode_into(x)) != 0) {
    crdt_body_free(&x->b);
    return rc;
  }
  *out = &x->b;
  return BT_OK;
}

/* The zone holds the decoded integers, flags and arrays of the body: wipe
 * every block the root reaches before the zone is freed. */
static void wipe_obj(msgpack_object *o)
{
  if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.ptr) {
    for (uint32_t i = 0; i < o->via.array.size; i++)
      wipe_obj(&o->via.array.ptr[i]);
    sodium_memzero(o->via.array.ptr, o->via.array.size * sizeof(msgpack_object));
  } else if (o->type == MSGPACK_OBJECT_MAP && o->via.map.ptr) {
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      wipe_obj(&o->via.map.ptr[i].key);
      wipe_obj(&o->via.map.ptr[i].val);
    }
    sodium_memzero(o->via.map.ptr, o->via.map.size * sizeof(msgpack_object_kv));
  }
  sodium_memzero(o, sizeof(*o));
}

void crdt_body_free(crdt_body *b)
{
  body_box *x = (body_box *)b;

  if (x == NULL)
    return;
  if (x->b.known)
    crdt_rec_wipe(crdt_body_schema(x->b.type), &x->b.u);
  if (x->have_root)
    wipe_obj(&x->root);
  if (x->zone_ok)
    msgpack_zone_destroy(&x->zone);
  if (x->buf) {
    sodium_memzero(x->buf, x->len);
    free(x->buf);
  }
  sodium_memzero(x, sizeof(*x));
  free(x);
}
