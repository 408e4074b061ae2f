/* crdt/body.h: the plaintext of an op: what a case file is made of.
 *
 * A body is [hlc, type, user, fields] in msgpack, where fields is a record
 * (schema.h) whose layout depends on type. It is only ever seen decrypted in
 * memory; on the wire and on disk it is the ciphertext inside an envelope
 * (op.h). Fields follow domain.md: Part 1 and Part 2 of a record of concern,
 * body-map marks, the existing-injury reflection, and so on.
 *
 * Types the decoder does not know (from a newer version) decode to a body
 * with known == 0 whose fields are kept as raw canonical msgpack; the case
 * file keeps such ops and ignores them. */
#ifndef BT_CRDT_BODY_H
#define BT_CRDT_BODY_H

#include <msgpack.h>
#include <stdint.h>

#include "hlc.h"
#include "schema.h"
#include "types.h"

#define CRDT_BODY_MAX   (96 * 1024) /* encoded plaintext */
#define CRDT_STR_MAX    256         /* short text fields */
#define CRDT_TEXT_MAX   (16 * 1024) /* free-text fields */
#define CRDT_USER_MAX   64          /* staff user id */
#define CRDT_TAG_MAX    64
#define CRDT_MARKS_MAX  64
#define CRDT_FIELDS_MAX 32

typedef enum {
  CRDT_OP_FILE_CREATE = 1, /* crdt_fields: the first front sheet */
  CRDT_OP_FIELD_SET,       /* crdt_fields: front-sheet changes */
  CRDT_OP_CHRONO,          /* crdt_chrono */
  CRDT_OP_CONCERN,         /* crdt_concern: record of concern, Part 1 */
  CRDT_OP_REVIEW,          /* crdt_review: DSL review, Part 2 */
  CRDT_OP_BODYMAP,         /* crdt_bodymap */
  CRDT_OP_REFLECT,         /* crdt_reflect: existing-injury reflection */
  CRDT_OP_ACTION,          /* crdt_action */
  CRDT_OP_ACTION_DONE,     /* crdt_action_done */
  CRDT_OP_CORRECTION,      /* crdt_correction */
  CRDT_OP_TAG_ADD,         /* crdt_tag */
  CRDT_OP_TAG_DEL,         /* crdt_tag */
  /* Access (docs/access.md). Control ops use the epoch's control key. */
  CRDT_OP_GENESIS,         /* crdt_genesis: control; the file's root op */
  CRDT_OP_MEMBER,          /* crdt_member: control; binds a device to its org */
  CRDT_OP_GRANT,           /* crdt_grant: control */
  CRDT_OP_REVOKE,          /* crdt_revoke: control */
  CRDT_OP_EPOCH,           /* crdt_epoch: control; starts a key epoch */
  CRDT_OP_KEYBOX,          /* crdt_keybox: public envelope, sealed keys */
  CRDT_OP_DECISION,        /* crdt_decision: a sharing decision, recorded */
  CRDT_OP_COPY,            /* crdt_copy: an entry copied from another file */
  /* A directory (public file of an LA, crdt/directory.h). */
  CRDT_OP_DIR_ORG,         /* crdt_dir_org: an org certificate listed */
  CRDT_OP_DIR_REVOKE,      /* crdt_dir_revoke: a certificate or key revoked */
  /* Transfers (crdt/transfer.h): entries in the child's file. */
  CRDT_OP_XFER_START,      /* crdt_xfer_start: the sending DSL starts a transfer */
  CRDT_OP_XFER_DELIVERED,  /* crdt_xfer_note: the receiving node holds and reads it */
  CRDT_OP_XFER_ACK,        /* crdt_xfer_note: the receiving DSL confirms receipt */
  CRDT_OP_XFER_REJECT,     /* crdt_xfer_note: the receiver refuses a misdirected file */
  CRDT_OP_XFER_CLOSE,      /* crdt_xfer_note: the sender archives its copy */
  CRDT_OP_KNOWN_END        /* first type this version does not know */
} crdt_optype;

/* 1 for the access-control types that are encrypted with the control key
 * of their epoch rather than its content key. */
int crdt_optype_control(uint32_t type);

/* Front-sheet fields: each one is a multi-value register. */
typedef enum {
  CRDT_FS_GIVEN = 1,  /* given name */
  CRDT_FS_FAMILY,     /* family name */
  CRDT_FS_OTHER,      /* other names / aliases */
  CRDT_FS_PREFERRED,  /* preferred name */
  CRDT_FS_DOB,        /* YYYY-MM-DD */
  CRDT_FS_UPN,        /* 13 characters, check letter verified */
  CRDT_FS_GENDER,     /* female | male | other | unknown */
  CRDT_FS_PLAN,       /* none | eh | cin | cp | lac */
  CRDT_FS_RATING,     /* none | red | amber | blue | yellow */
  CRDT_FS_SW_NAME,    /* allocated social worker */
  CRDT_FS_SW_CONTACT, /* social worker's team / phone */
  CRDT_FS_STATUS,     /* open | closed */
  CRDT_FS_OPENED,     /* YYYY-MM-DD */
  CRDT_FS_CLOSED,     /* YYYY-MM-DD */
  CRDT_FS_ADDRESS,
  CRDT_FS_CARERS,     /* parents / carers and contact */
  CRDT_FS_AGENCIES,   /* other agencies involved */
  CRDT_FS_NOTES,
  CRDT_FS_END
} crdt_fsfield;

/* Name of a front-sheet field ("given_name"...), NULL if out of range. */
const char *crdt_fs_name(uint32_t field);
/* Field number for a name, 0 if none. */
uint32_t crdt_fs_lookup(const char *name);
/* Whether value is acceptable for field: dates, UPN check letter, enum
 * words. An empty value (clearing the field) is always acceptable except for
 * names and DOB. BT_OK, BT_EINVAL, BT_EDATE or BT_EUPN. */
int crdt_fs_check(uint32_t field, bt_str value);
/* The words a choice field takes (gender, plan_status, rating, status), in
 * order, NULL-terminated; NULL for a field of free text or a date. */
const char *const *crdt_fs_words(uint32_t field);

typedef struct {
  uint32_t field;  /* crdt_fsfield */
  bt_str value;
} crdt_fieldval;

typedef struct {
  crdt_fieldval *v;  /* ascending, distinct fields */
  size_t n;
} crdt_fields;

typedef enum {
  CRDT_CHR_CONCERN = 1, CRDT_CHR_CONTACT, CRDT_CHR_CALL, CRDT_CHR_MEETING,
  CRDT_CHR_REFERRAL, CRDT_CHR_VISIT, CRDT_CHR_ENCOMPASS, CRDT_CHR_TRANSFER,
  CRDT_CHR_OTHER
} crdt_chr_category;

typedef struct {
  uint64_t event_at;  /* required */
  uint32_t category;  /* crdt_chr_category, required */
  bt_str summary;     /* required */
  bt_str with_whom;   /* people or agency contacted */
  bt_str recorded_by; /* name and role */
} crdt_chrono;

typedef struct {
  uint64_t incident_at;
  uint64_t written_at;  /* required */
  bt_str author_name;   /* required */
  bt_str author_role;   /* required */
  bt_str reason;        /* reason for recording */
  bt_str facts;         /* what happened: required */
  bt_str where;
  bt_str who;           /* who was involved */
  bt_str witnesses;
  bt_str child_words;   /* the child's own words, verbatim */
  bt_str opinion;       /* professional opinion, kept apart from fact */
  bt_str actions_taken;
  bt_str passed_to;     /* to whom it was passed */
} crdt_concern;

typedef struct {
  crdt_id concern;        /* required: the Part 1 op */
  uint64_t received_at;   /* required */
  bt_str received_from;
  bt_str advice_sought;
  bt_str action;          /* action taken: required */
  bt_str reasons;         /* including for a decision not to refer */
  uint32_t referred;      /* yes/no */
  uint32_t parents_informed;
  bt_str parents_why;
  bt_str outcome;
  bt_str info_held;       /* where more information is held */
  uint32_t open_cp_file;  /* should a confidential file be opened */
  bt_str reviewer;        /* required: name of the DSL */
} crdt_review;

typedef enum { CRDT_VIEW_FRONT = 1, CRDT_VIEW_BACK } crdt_view;
typedef enum { CRDT_CLEAN = 1, CRDT_DIRTY } crdt_cleanliness;

typedef struct {
  uint32_t view;       /* required */
  uint32_t x, y;       /* required: position on the outline, 0..1000 */
  bt_str site;         /* required: site on the body */
  bt_str size, shape, colour;
  uint32_t skin_broken, swelling, scab, blistering, bleeding;  /* yes/no */
  uint32_t clean;      /* crdt_cleanliness */
  bt_str mobility;
  uint32_t heat, pain; /* yes/no */
  bt_str notes;
} crdt_mark;

typedef struct {
  uint64_t observed_at;  /* required */
  bt_str observer_name;  /* required */
  bt_str observer_role;  /* required */
  crdt_id concern;       /* optional link to a record of concern */
  crdt_mark *marks;      /* 1..CRDT_MARKS_MAX */
  size_t nmarks;
} crdt_bodymap;

typedef struct {
  bt_str what;  /* required */
  bt_str who;
  uint32_t by;  /* date */
} crdt_raction;

typedef enum { CRDT_EXPL_CONSISTENT = 1, CRDT_EXPL_CONFLICTING, CRDT_EXPL_NONE } crdt_expl;
typedef enum { CRDT_RISK_LOW = 1, CRDT_RISK_MEDIUM, CRDT_RISK_HIGH } crdt_risk;

typedef struct {
  crdt_id about;           /* optional: the body map or concern */
  bt_str prior_concerns;
  bt_str last_injuries;
  bt_str pattern;
  uint32_t explanation;    /* crdt_expl */
  bt_str explanation_text;
  uint32_t risk;           /* crdt_risk, required */
  crdt_raction *actions;
  size_t nactions;
  uint32_t referral;       /* yes/no */
  bt_str reviewed_by;      /* DSL who reviewed */
} crdt_reflect;

typedef struct {
  bt_str what;    /* required */
  bt_str owner;
  uint32_t due;   /* date */
  crdt_id about;  /* optional: the entry it follows from */
} crdt_action;

typedef struct {
  crdt_id action;    /* required */
  uint64_t done_at;  /* required */
  bt_str note;
} crdt_action_done;

typedef struct {
  crdt_id target;  /* required: the entry corrected; it stays, marked */
  bt_str reason;   /* required */
  bt_str text;     /* the corrected account */
} crdt_correction;

typedef struct {
  bt_str tag;  /* required */
} crdt_tag;

#define CRDT_CERT_BYTES_MAX 2048 /* = CRDT_CERT_MAX (cert.h) */
#define CRDT_SEALED_MAX     4096 /* a keybox's sealed key set */
#define CRDT_COPY_MAX       (CRDT_BODY_MAX - 2048) /* a copied body */

typedef struct {
  bt_str device_cert;  /* required: the author's device certificate */
  bt_str org_cert;     /* required: its org's certificate (from the LA) */
  bt_str salt;         /* required, 16 bytes: file id = H(author, salt) */
  bt_str epoch;        /* required, 16 bytes: the first key epoch */
} crdt_genesis;

typedef struct {
  bt_str device_cert;  /* required */
  bt_str org_cert;     /* required */
} crdt_member;

typedef enum {
  CRDT_PURPOSE_TRANSFER = 1, CRDT_PURPOSE_REFERRAL, CRDT_PURPOSE_STRATEGY,
  CRDT_PURPOSE_INFO_REQUEST
} crdt_purpose;
typedef enum {
  CRDT_BASIS_CONSENT = 1, CRDT_BASIS_HARM, CRDT_BASIS_POLICE, CRDT_BASIS_PUBLIC
} crdt_basis;
typedef enum { CRDT_RIGHTS_READ = 1, CRDT_RIGHTS_WRITE } crdt_rights;
typedef enum { CRDT_HISTORY_ALL = 1, CRDT_HISTORY_FROM_NOW } crdt_history;

typedef struct {
  crdt_id org;          /* required: grantee org signing key */
  crdt_id box;          /* required: its X25519 box key */
  bt_str org_name;      /* required */
  uint32_t purpose;     /* crdt_purpose, required */
  uint32_t basis;       /* crdt_basis, required */
  bt_str consent_by;    /* consent: who gave it (required with consent) */
  bt_str consent_how;   /* consent: how (required with consent) */
  uint32_t consent_on;  /* consent: date (required with consent) */
  bt_str reason;        /* without consent: why, in words (required then) */
  bt_str approved_by;   /* required: the approving DSL */
  uint64_t expires_at;  /* Unix ms; 0 = no expiry */
  uint32_t rights;      /* crdt_rights, required */
  uint32_t history;     /* crdt_history, required */
} crdt_grant;

typedef struct {
  crdt_id grant;        /* required: the grant op it ends */
  bt_str reason;        /* required */
  bt_str revoked_by;    /* required */
} crdt_revoke;

typedef enum {
  CRDT_CAUSE_GRANT = 1, CRDT_CAUSE_REVOKE, CRDT_CAUSE_EXPIRY, CRDT_CAUSE_ROTATE,
  CRDT_CAUSE_MERGE
} crdt_epoch_cause;

typedef struct {
  bt_str epoch;         /* required, 16 bytes */
  uint32_t cause;       /* crdt_epoch_cause, required */
} crdt_epoch;

typedef struct {
  crdt_id org;          /* required: recipient org signing key */
  crdt_id box;          /* required: the box key sealed to */
  bt_str sealed;        /* required: crypto_box_seal(key set) (access.h) */
} crdt_keybox;

typedef enum { CRDT_DECIDE_SHARE = 1, CRDT_DECIDE_NOT_SHARE } crdt_decide;

typedef struct {
  uint32_t decision;    /* crdt_decide, required */
  bt_str with_whom;     /* required: the partner asked or considered */
  uint32_t purpose;     /* crdt_purpose */
  bt_str reason;        /* required */
  bt_str decided_by;    /* required */
  uint32_t decided_on;  /* required: date */
} crdt_decision;

typedef struct {
  bt_str from_file;     /* required, 16 bytes */
  crdt_id source;       /* required: the op copied */
  bt_str body;          /* required: its body's canonical encoding */
} crdt_copy;

typedef struct {
  bt_str cert;          /* required: an org certificate */
} crdt_dir_org;

typedef struct {
  crdt_id subject;      /* required: a certificate id or a subject key */
  bt_str reason;        /* required */
  uint64_t at;          /* required: from when, Unix ms */
} crdt_dir_revoke;

/* A transfer of the file to another org (DESIGN.md, "Transfers and the
 * five-day window"). The deadline is computed by the sender's node from its
 * calendar and recorded, so every node shows the same date. */
typedef enum {
  CRDT_RETAIN_KEEP = 1,   /* keep the whole copy */
  CRDT_RETAIN_CHRONO,     /* keep the chronology until keep_until, then the log */
  CRDT_RETAIN_LOG,        /* keep only the transfer log */
} crdt_retain;

typedef struct {
  crdt_id to_org;         /* required: receiving org's signing key */
  bt_str to_name;         /* required: its name, as certified */
  crdt_id grant;          /* required: the transfer grant that gives it the key */
  uint32_t on_roll;       /* date on roll at the new school (0: not known yet) */
  uint32_t leaving;       /* date the child left (0: not recorded) */
  uint32_t deadline;      /* required: date the receipt is due by */
  uint32_t days;          /* required: 1 working, 2 school days (crdt_calendar_days) */
  uint32_t count;         /* required: how many days (1..60) */
  uint32_t via_la;        /* yes: the new school is unknown; the LA holds it */
  bt_str started_by;      /* required: the sending DSL */
  bt_str note;            /* what was sent, anything the receiver should know */
} crdt_xfer_start;

typedef struct {
  crdt_id transfer;       /* required: the XFER_START op */
  uint64_t at;            /* required: when */
  bt_str by;              /* required: name (and role) of the person, or the node */
  bt_str stored;          /* ACK: where the file is now kept */
  bt_str reason;          /* REJECT: required; CLOSE/ACK: optional note */
  uint32_t ops;           /* DELIVERED: ops held, start included */
  uint32_t retain;        /* CLOSE: crdt_retain, required there */
  uint32_t keep_until;    /* CLOSE with CRDT_RETAIN_CHRONO: required date */
} crdt_xfer_note;

typedef struct crdt_body {
  crdt_hlc_ts hlc;  /* full timestamp; the header carries only the hour */
  uint32_t type;    /* crdt_optype or a newer one */
  bt_str user;      /* staff user who made the op: required */
  int known;        /* set by the decoder: type < CRDT_OP_KNOWN_END */
  union {
    crdt_fields fields;
    crdt_chrono chrono;
    crdt_concern concern;
    crdt_review review;
    crdt_bodymap bodymap;
    crdt_reflect reflect;
    crdt_action action;
    crdt_action_done done;
    crdt_correction correction;
    crdt_tag tag;
    crdt_genesis genesis;
    crdt_member member;
    crdt_grant grant;
    crdt_revoke revoke;
    crdt_epoch epoch;
    crdt_keybox keybox;
    crdt_decision decision;
    crdt_copy copy;
    crdt_dir_org dir_org;
    crdt_dir_revoke dir_revoke;
    crdt_xfer_start xfer;
    crdt_xfer_note xnote;
  } u;
  bt_str raw;  /* unknown types: the fields map, canonical msgpack */
} crdt_body;

/* Schema for a known type, NULL otherwise. */
const crdt_schema *crdt_body_schema(uint32_t type);
/* "concern", "field_set", ...; "unknown" for types this version lacks. */
const char *crdt_optype_name(uint32_t type);

/* Appends the canonical encoding of b to out. Validates first: BT_EINVAL,
 * BT_EMISSING, BT_ETOOBIG (including over CRDT_BODY_MAX), BT_EUPN,
 * BT_EDATE; BT_ENOMEM. On error out may hold a partial tail: the caller
 * discards it. out grows through crdt_mp_secure_write (no freed block keeps
 * plaintext); release it with crdt_mp_secure_destroy. */
int crdt_body_encode(const crdt_body *b, msgpack_sbuffer *out);

/* Decodes p[0..len). Takes ownership of p (malloc'd) in every case: it is
 * wiped and freed by crdt_body_free, or at once on failure. All slices in
 * *out point into it. Errors: the crdt_mp_unpack and crdt_rec_unpack
 * errors, BT_ETOOBIG, BT_ENONCANON. */
int crdt_body_decode(uint8_t *p, size_t len, crdt_body **out);

/* Wipes the plaintext and frees. NULL is a no-op. Only for decoded bodies. */
void crdt_body_free(crdt_body *b);

/* The event time an entry is ordered by: the incident, contact or
 * observation time where the type has one, else the HLC's milliseconds. */
uint64_t crdt_body_event_time(const crdt_body *b);

#endif
