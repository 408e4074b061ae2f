/* node/users.h: staff users of a node and what each role may do.
 *
 * A user is a name, a role and a passphrase hashed with Argon2id
 * (crypto_pwhash_str). Five wrong passphrases in a row lock the account for
 * fifteen minutes; a right one resets the count. Roles follow DESIGN.md; the
 * permission matrix is here, in node/, so no front end can widen it.
 * Names and passphrases never reach a log. */
#ifndef BT_NODE_USERS_H
#define BT_NODE_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"

typedef enum {
  NODE_ROLE_STAFF = 1, NODE_ROLE_DSL, NODE_ROLE_DEPUTY, NODE_ROLE_HEAD, NODE_ROLE_GOVERNOR,
  NODE_ROLE_AUDITOR, NODE_ROLE_END
} node_role;

typedef enum {
  NODE_DO_LOG_CONCERN = 1, /* record a concern (Part 1) */
  NODE_DO_READ_OWN,        /* read the concerns one logged oneself */
  NODE_DO_READ_FILE,       /* read whole case files */
  NODE_DO_WRITE_FILE,      /* reviews, chronology, front sheet, actions... */
  NODE_DO_SHARE,           /* grants, extracts, decisions not to share */
  NODE_DO_TRANSFER,        /* start, acknowledge, close transfers */
  NODE_DO_READ_COUNTS,     /* counts and timeliness, no names */
  NODE_DO_READ_AUDIT,      /* the audit log */
  NODE_DO_MANAGE_USERS,    /* add users, reset passphrases, set roles */
  NODE_DO_END
} node_action;

#define NODE_LOCKOUT_FAILS 5
#define NODE_LOCKOUT_MS (15 * 60 * 1000)
#define NODE_USER_MAX 64

const char *node_role_name(node_role r);   /* "dsl", ...; NULL if none */
int node_role_parse(const char *name, node_role *out); /* BT_EINVAL */

/* 1 if role may do action, else 0. */
int node_may(node_role role, node_action action);

/* Adds a user. name: 1..64 of [a-z0-9._-]. BT_EDUP, BT_EINVAL. */
int node_user_add(node_store *s, const char *name, const char *pass, size_t len,
                  node_role role);

/* How many users the node has (no names): 0 means the first user may be
 * added without signing in (docs/cli.md, `baton user add`). */
int node_user_count(node_store *s, size_t *n);

/* One user as node_user_list_as shows it. */
typedef struct {
  char name[NODE_USER_MAX + 1];
  node_role role;
  int locked;        /* locked out at now_ms */
  uint64_t locked_until;
} node_user_info;

/* Every user, by name; *out malloc'd (the caller frees it). BT_EDENIED
 * unless the role may manage users. */
int node_user_list_as(node_store *s, node_role role, uint64_t now_ms, node_user_info **out,
                      size_t *n);

/* Checks a passphrase at now_ms. BT_OK with *role; BT_EPASS (wrong, or no
 * such user: the same answer, so names cannot be probed); BT_ELOCKED. */
int node_user_login(node_store *s, const char *name, const char *pass, size_t len,
                    uint64_t now_ms, node_role *role);

/* Sets a new passphrase (and clears a lockout). BT_ENOTFOUND. */
int node_user_passwd(node_store *s, const char *name, const char *pass, size_t len);

/* The action an op body needs: a record of concern is NODE_DO_LOG_CONCERN;
 * grants, revokes, epochs, keyboxes and sharing decisions NODE_DO_SHARE;
 * every other case-file op NODE_DO_WRITE_FILE. */
node_action node_action_for(uint32_t optype);

/* node_author on behalf of a signed-in user: refused with BT_EDENIED unless
 * the role may make this kind of op; the op records the user's name. */
int node_author_as(node_store *s, const char *user, node_role role,
                   const uint8_t file[CRDT_FILE_LEN], crdt_body *b, crdt_id *id);

/* node_file_create on behalf of a user (a DSL or deputy opens files). */
int node_file_create_as(node_store *s, const char *user, node_role role, crdt_body *b,
                        uint8_t file[CRDT_FILE_LEN], crdt_id *op);

/* A case file as a signed-in user may see it. DSL and deputy: the whole
 * file. Staff: only the records of concern they logged themselves and
 * the body maps they recorded, and no front sheet (file is NULL). Other
 * roles: BT_EDENIED (they see counts). */
typedef struct {
  const crdt_casefile *file;     /* NULL unless the role reads whole files */
  const crdt_cf_entry **entries; /* what the role may see, display order */
  size_t nentries;
  uint32_t retain;               /* 0, or the crdt_retain this org chose when
                                    it closed a transfer of the file: then
                                    entries hold only what it keeps */
} node_view;

/* Fills *out; free with node_view_free. Borrowed parts live as long as
 * node_casefile's result. */
int node_casefile_as(node_store *s, const char *user, node_role role,
                     const uint8_t file[CRDT_FILE_LEN], node_view *out);
void node_view_free(node_view *v);

/* The role's views of n files (files: n ids one after another) for a list
 * or a summary (the desk): each view goes to each() for the length of the
 * call, and one audit record covers them all (view, no file, detail
 * "ROLE: WHAT, N files"; what at most 64 bytes of printable ASCII),
 * written after the reads and before BT_OK is returned: if it cannot be
 * written, the caller must not show what each() gathered. A file that
 * cannot be read fails the whole call (never a silent gap); each()'s
 * non-zero return stops it and is returned. BT_EDENIED as
 * node_casefile_as. */
int node_casefiles_as(node_store *s, const char *user, node_role role, const uint8_t *files,
                      size_t n, const char *what,
                      int (*each)(void *ctx, const uint8_t *file, const node_view *v),
                      void *ctx);

/* Counts for heads and governors (and DSLs): numbers only, no names, no
 * text. Over every case file this node can read. */
#define NODE_COUNT_MONTHS 24
typedef struct {
  size_t files;                   /* case files readable here */
  size_t open, closed;            /* by front-sheet status (open if unset) */
  size_t by_plan[6];              /* [0] not recorded, then none, eh, cin, cp, lac */
  size_t concerns;                /* records of concern, all time */
  struct {
    uint32_t yyyymm;
    size_t concerns;              /* by incident (else written) date */
  } months[NODE_COUNT_MONTHS];    /* the 24 months up to now, oldest first */
  size_t conflicts;               /* files with a front-sheet conflict */
  size_t shared;                  /* files with a live grant to another org */
  size_t transfers_out, transfers_in; /* transfers this node sent, received */
  size_t transfers_on_time;       /* of those, receipts confirmed by the deadline */
  size_t transfers_late;          /* receipts confirmed after it */
  size_t transfers_overdue;       /* waiting for a receipt past the deadline now */
} node_counts;

/* BT_EDENIED unless the role may read counts. */
int node_counts_as(node_store *s, node_role role, uint64_t now_ms, node_counts *out);

#endif
