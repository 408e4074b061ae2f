/* node/intake.h: a concern about a child, from any member of staff
 * (docs/web.md "Logging a concern"; DESIGN.md: any staff member logs a
 * concern in under a minute, and never reads other children's files).
 *
 * Staff cannot list case files (that would tell them which children have
 * one), so they name the child instead, and node/ finds the file among
 * this school's own records of children: files this org holds or was sent
 * by a transfer, may write, that are not extracts (what is written there
 * goes to the partner) and not files it sent away and closed (its
 * retention choice would hide the concern). The same child is a file whose
 * given name, family name and date of birth all match (names without case
 * or surrounding spaces; a value in conflict matches if any of its values
 * does) and whose UPN, when both sides have one, is the one given (in
 * either case). The same UPN with other names, or the same names with
 * another UPN, is a near match: never guessed either way. Exactly one
 * match and no near match: the concern goes there. Otherwise node/ opens
 * a new file for the child, tagged NODE_INTAKE_TAG (and
 * NODE_INTAKE_UNCLEAR_TAG when several matched or any nearly did) so the
 * DSL sees where it came from and settles who the child is. The caller
 * learns the file only if its role may read files: a member of staff gets
 * the same answer whether the child had a file or not.
 *
 * The concern and its body map (optional: staff record what they saw) are
 * written together, in one transaction per file, the body map naming the
 * concern; opening a new file is a transaction before that (if the second
 * fails, the file holds only the child's name, and a retry finds it). The
 * intake is audited (NODE_AUDIT_INTAKE, detail "matched" or "new"). */
#ifndef BT_NODE_INTAKE_H
#define BT_NODE_INTAKE_H

#include <stdint.h>

#include "crdt/body.h"
#include "node/store.h"
#include "node/users.h"

#define NODE_INTAKE_TAG "from-staff-concern"
#define NODE_INTAKE_UNCLEAR_TAG "check-identity"

typedef struct {
  const char *given, *family; /* required */
  uint32_t dob;               /* yyyymmdd, required */
  const char *upn;            /* NULL or "": not known */
} node_child;

/* concern: a CRDT_OP_CONCERN body (checked here); bodymap: NULL or a
 * CRDT_OP_BODYMAP body whose concern field is set here. Errors:
 * BT_EDENIED (the role may not log concerns; no org), BT_EMISSING (a name
 * or the date of birth), BT_EUPN (a UPN with a wrong check letter),
 * BT_EINVAL (a record that does not pass its schema). On success *file,
 * *concern_id and *created (1: a new file) are set. */
int node_intake_as(node_store *s, const char *user, node_role role, const node_child *child,
                   crdt_body *concern, crdt_body *bodymap, uint8_t file[CRDT_FILE_LEN],
                   crdt_id *concern_id, int *created);

#endif
