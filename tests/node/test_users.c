/* tests/node/test_users.c: staff users, sign-in lockout, the role matrix. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/audit.h"
#include "node/org.h"
#include "node/users.h"

static char dir[64];
static node_store *s;

static void setup(void)
{
  node_store_opts o = {.passphrase = "node", .passphrase_len = 4, .create = 1,
                       .kdf = NODE_KDF_MIN};

  strcpy(dir, "/tmp/bt-users-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  o.dir = dir;
  cr_assert_eq(node_store_open(&s, &o), BT_OK);
  node_org_info oi = {CRDT_ORG_SCHOOL, "Test School", NULL, NULL};
  cr_assert_eq(node_org_create(s, &oi), BT_OK);
}

static void teardown(void)
{
  char cmd[96];

  node_store_close(s);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(node_users, .init = setup, .fini = teardown);

#define T0 1767225600000ull

static int login(const char *name, const char *pass, uint64_t now, node_role *role)
{
  return node_user_login(s, name, pass, strlen(pass), now, role);
}

Test(node_users, a_user_signs_in_with_the_right_passphrase_only)
{
  node_role role = 0;

  cr_assert_eq(node_user_add(s, "j.jones", "tea and biscuits", 16, NODE_ROLE_DSL), BT_OK);
  cr_assert_eq(login("j.jones", "tea and biscuits", T0, &role), BT_OK);
  cr_assert_eq(role, NODE_ROLE_DSL);
  cr_assert_eq(login("j.jones", "tea and biscuit", T0, &role), BT_EPASS);
  cr_assert_eq(login("nobody", "tea and biscuits", T0, &role), BT_EPASS,
               "an unknown name gets the same answer as a wrong passphrase");
  cr_assert_eq(node_user_add(s, "j.jones", "x", 1, NODE_ROLE_STAFF), BT_EDUP);
  cr_assert_eq(node_user_add(s, "J.Jones", "x", 1, NODE_ROLE_STAFF), BT_EINVAL);
  cr_assert_eq(node_user_add(s, "a b", "x", 1, NODE_ROLE_STAFF), BT_EINVAL);
  cr_assert_eq(node_user_add(s, "", "x", 1, NODE_ROLE_STAFF), BT_EINVAL);
  cr_assert_eq(node_user_add(s, "ok", "", 0, NODE_ROLE_STAFF), BT_EINVAL, "empty passphrase");
  cr_assert_eq(node_user_add(s, "ok", "x", 1, (node_role)99), BT_EINVAL);
}

Test(node_users, repeated_failures_lock_the_account_for_a_while)
{
  node_role role;

  cr_assert_eq(node_user_add(s, "staff1", "right", 5, NODE_ROLE_STAFF), BT_OK);
  for (int i = 0; i < NODE_LOCKOUT_FAILS; i++)
    cr_assert_eq(login("staff1", "wrong", T0 + (uint64_t)i, &role), BT_EPASS, "try %d", i);
  cr_assert_eq(login("staff1", "right", T0 + 10, &role), BT_ELOCKED,
               "locked: even the right passphrase is refused");
  cr_assert_eq(login("staff1", "right", T0 + NODE_LOCKOUT_MS - 1, &role), BT_ELOCKED);
  cr_assert_eq(login("staff1", "right", T0 + 10 + NODE_LOCKOUT_MS, &role), BT_OK);
  /* A success resets the count: four more failures do not lock. */
  for (int i = 0; i < NODE_LOCKOUT_FAILS - 1; i++)
    cr_assert_eq(login("staff1", "wrong", T0 + 2 * NODE_LOCKOUT_MS, &role), BT_EPASS);
  cr_assert_eq(login("staff1", "right", T0 + 2 * NODE_LOCKOUT_MS, &role), BT_OK);
}

Test(node_users, a_new_passphrase_replaces_the_old_and_clears_a_lockout)
{
  node_role role;

  cr_assert_eq(node_user_add(s, "head", "old", 3, NODE_ROLE_HEAD), BT_OK);
  for (int i = 0; i < NODE_LOCKOUT_FAILS; i++)
    login("head", "guess", T0, &role);
  cr_assert_eq(login("head", "old", T0, &role), BT_ELOCKED);
  cr_assert_eq(node_user_passwd(s, "head", "new", 3), BT_OK);
  cr_assert_eq(login("head", "old", T0, &role), BT_EPASS);
  cr_assert_eq(login("head", "new", T0, &role), BT_OK);
  cr_assert_eq(node_user_passwd(s, "ghost", "x", 1), BT_ENOTFOUND);
}

/* The matrix, written out again as the cells that say yes: each role
 * against each action, and only those succeed. */
Test(node_users, each_role_against_each_action)
{
  static const struct {
    node_role role;
    node_action action;
  } yes[] = {
    {NODE_ROLE_STAFF, NODE_DO_LOG_CONCERN},   {NODE_ROLE_STAFF, NODE_DO_READ_OWN},
    {NODE_ROLE_DSL, NODE_DO_LOG_CONCERN},     {NODE_ROLE_DSL, NODE_DO_READ_OWN},
    {NODE_ROLE_DSL, NODE_DO_READ_FILE},       {NODE_ROLE_DSL, NODE_DO_WRITE_FILE},
    {NODE_ROLE_DSL, NODE_DO_SHARE},           {NODE_ROLE_DSL, NODE_DO_TRANSFER},
    {NODE_ROLE_DSL, NODE_DO_READ_COUNTS},     {NODE_ROLE_DSL, NODE_DO_READ_AUDIT},
    {NODE_ROLE_DSL, NODE_DO_MANAGE_USERS},    {NODE_ROLE_DEPUTY, NODE_DO_LOG_CONCERN},
    {NODE_ROLE_DEPUTY, NODE_DO_READ_OWN},     {NODE_ROLE_DEPUTY, NODE_DO_READ_FILE},
    {NODE_ROLE_DEPUTY, NODE_DO_WRITE_FILE},   {NODE_ROLE_DEPUTY, NODE_DO_SHARE},
    {NODE_ROLE_DEPUTY, NODE_DO_TRANSFER},     {NODE_ROLE_DEPUTY, NODE_DO_READ_COUNTS},
    {NODE_ROLE_HEAD, NODE_DO_LOG_CONCERN},    {NODE_ROLE_HEAD, NODE_DO_READ_OWN},
    {NODE_ROLE_HEAD, NODE_DO_READ_COUNTS},    {NODE_ROLE_GOVERNOR, NODE_DO_READ_COUNTS},
    {NODE_ROLE_AUDITOR, NODE_DO_READ_COUNTS}, {NODE_ROLE_AUDITOR, NODE_DO_READ_AUDIT},
  };
  size_t nyes = 0;

  for (int r = 0; r <= NODE_ROLE_END; r++)
    for (int a = 0; a <= NODE_DO_END; a++) {
      int want = 0;
      for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++)
        want |= yes[k].role == (node_role)r && yes[k].action == (node_action)a;
      cr_assert_eq(node_may((node_role)r, (node_action)a), want, "role %d action %d", r, a);
      nyes += (size_t)want;
    }
  cr_assert_eq(nyes, sizeof(yes) / sizeof(yes[0]));
  node_role role;
  for (int r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++) {
    cr_assert_eq(node_role_parse(node_role_name((node_role)r), &role), BT_OK);
    cr_assert_eq(role, (node_role)r);
  }
  cr_assert_eq(node_role_parse("admin", &role), BT_EINVAL);
}

/* Each role tries to make each kind of op through node/: only the
 * matrix's yes-cells succeed, and the op records who made it. */
Test(node_users, each_role_against_each_kind_of_op)
{
  crdt_fieldval fv[] = {
    {CRDT_FS_GIVEN, BT_STR("Amy")}, {CRDT_FS_FAMILY, BT_STR("Lee")},
    {CRDT_FS_DOB, BT_STR("2016-05-04")},
  };
  crdt_body create = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  uint8_t file[16];
  crdt_id id;

  create.u.fields = (crdt_fields){fv, 3};
  cr_assert_eq(node_file_create_as(s, "staff1", NODE_ROLE_STAFF, &create, file, &id),
               BT_EDENIED, "staff do not open files");
  cr_assert_eq(node_file_create_as(s, "dsl1", NODE_ROLE_DSL, &create, file, &id), BT_OK);
  for (int r = NODE_ROLE_STAFF; r < NODE_ROLE_END; r++)
    for (uint32_t type = CRDT_OP_FIELD_SET; type < CRDT_OP_KNOWN_END; type++) {
      crdt_body b = {.type = type, .known = 1};
      crdt_concern c = {.written_at = T0, .author_name = BT_STR("Ms A"),
                        .author_role = BT_STR("TA"), .facts = BT_STR("seen upset")};
      crdt_chrono ch = {.event_at = T0, .category = CRDT_CHR_CALL, .summary = BT_STR("call")};
      crdt_fieldval set = {CRDT_FS_PLAN, BT_STR("cin")};
      if (type == CRDT_OP_CONCERN)
        b.u.concern = c;
      else if (type == CRDT_OP_FIELD_SET)
        b.u.fields = (crdt_fields){&set, 1};
      else if (type == CRDT_OP_TAG_ADD || type == CRDT_OP_TAG_DEL)
        b.u.tag.tag = BT_STR("dv");
      else {
        b.type = CRDT_OP_CHRONO; /* the rest need references: one stands for all */
        b.u.chrono = ch;
      }
      int want = node_may((node_role)r, node_action_for(b.type));
      int rc = node_author_as(s, node_role_name((node_role)r), (node_role)r, file, &b, &id);
      cr_assert_eq(rc, want ? BT_OK : BT_EDENIED, "role %d type %u: %s", r, type,
                   bt_strerror(rc));
      if (want) { /* entries show who made them; registers and tags are not entries */
        const crdt_casefile *cf;
        cr_assert_eq(node_casefile(s, file, &cf), BT_OK);
        const crdt_cf_entry *e = crdt_casefile_entry(cf, &id);
        if (b.type == CRDT_OP_CONCERN || b.type == CRDT_OP_CHRONO)
          cr_assert(e && bt_str_eq(e->body->user, bt_strz(node_role_name((node_role)r))),
                    "role %d type %u", r, type);
      }
    }
  /* Independently of the table: staff may log a concern but not review. */
  cr_assert_eq(node_action_for(CRDT_OP_CONCERN), NODE_DO_LOG_CONCERN);
  cr_assert(node_may(NODE_ROLE_STAFF, NODE_DO_LOG_CONCERN));
  cr_assert(!node_may(NODE_ROLE_STAFF, node_action_for(CRDT_OP_REVIEW)));
  cr_assert(!node_may(NODE_ROLE_GOVERNOR, node_action_for(CRDT_OP_CONCERN)));
}

static void log_concern(const char *user, node_role role, const uint8_t *file, crdt_id *id)
{
  crdt_body b = {.type = CRDT_OP_CONCERN, .known = 1};

  b.u.concern = (crdt_concern){.written_at = T0, .author_name = BT_STR("Ms A"),
                               .author_role = BT_STR("TA"), .facts = BT_STR("upset at lunch")};
  cr_assert_eq(node_author_as(s, user, role, file, &b, id), BT_OK);
}

/* Staff see only the concerns they logged; DSLs see the file; heads and
 * governors see counts, never case content. */
Test(node_users, each_role_reads_only_what_it_may)
{
  crdt_fieldval fv[] = {
    {CRDT_FS_GIVEN, BT_STR("Amy")}, {CRDT_FS_FAMILY, BT_STR("Lee")},
    {CRDT_FS_DOB, BT_STR("2016-05-04")},
  };
  crdt_body create = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  crdt_body chrono = {.type = CRDT_OP_CHRONO, .known = 1};
  uint8_t file[16];
  crdt_id id, mine, theirs;
  node_view v;

  create.u.fields = (crdt_fields){fv, 3};
  cr_assert_eq(node_file_create_as(s, "dsl1", NODE_ROLE_DSL, &create, file, &id), BT_OK);
  log_concern("staff1", NODE_ROLE_STAFF, file, &mine);
  log_concern("staff2", NODE_ROLE_STAFF, file, &theirs);
  chrono.u.chrono = (crdt_chrono){.event_at = T0, .category = CRDT_CHR_CALL,
                                  .summary = BT_STR("called social care")};
  cr_assert_eq(node_author_as(s, "dsl1", NODE_ROLE_DSL, file, &chrono, &id), BT_OK);

  cr_assert_eq(node_casefile_as(s, "staff1", NODE_ROLE_STAFF, file, &v), BT_OK);
  cr_assert_null(v.file, "no front sheet for staff");
  cr_assert_eq(v.nentries, 1);
  cr_assert_eq(crdt_id_cmp(&v.entries[0]->op->id, &mine), 0);
  node_view_free(&v);

  cr_assert_eq(node_casefile_as(s, "dsl1", NODE_ROLE_DSL, file, &v), BT_OK);
  cr_assert_not_null(v.file);
  cr_assert_eq(v.nentries, 3);
  node_view_free(&v);
  cr_assert_eq(node_casefile_as(s, "dep", NODE_ROLE_DEPUTY, file, &v), BT_OK);
  cr_assert_eq(v.nentries, 3);
  node_view_free(&v);

  cr_assert_eq(node_casefile_as(s, "h", NODE_ROLE_HEAD, file, &v), BT_OK,
               "a head is staff too: own concerns only");
  cr_assert_eq(v.nentries, 0);
  cr_assert_null(v.file);
  node_view_free(&v);
  cr_assert_eq(node_casefile_as(s, "g", NODE_ROLE_GOVERNOR, file, &v), BT_EDENIED);
  cr_assert_eq(node_casefile_as(s, "a", NODE_ROLE_AUDITOR, file, &v), BT_EDENIED);
}

/* ---- node_casefiles_as: many views, one audit record ---- */

static int count_views(void *ctx, const uint8_t *file, const node_view *v)
{
  (void)file;
  ++*(size_t *)ctx;
  return v->file ? BT_OK : BT_EINVAL;
}

static int stop_at_first(void *ctx, const uint8_t *file, const node_view *v)
{
  (void)file;
  (void)v;
  ++*(size_t *)ctx;
  return BT_ENOMEM;
}

static size_t views_audited(const uint8_t *file)
{
  node_audit_filter f = {.action = NODE_AUDIT_VIEW, .file = file};
  node_audit_rec *r = NULL;
  size_t n = 0, none = 0;

  cr_assert_eq(node_audit_list(s, &f, &r, &n), BT_OK);
  for (size_t i = 0; i < n; i++)
    none += !r[i].has_file;
  node_audit_list_free(r);
  return file ? n : none;
}

Test(node_users, a_list_of_files_is_read_through_the_role_and_audited_once)
{
  crdt_fieldval fv[] = {{CRDT_FS_GIVEN, BT_STR("Amy")}, {CRDT_FS_FAMILY, BT_STR("Bell")},
                        {CRDT_FS_DOB, BT_STR("2016-03-04")}};
  crdt_body b = {.type = CRDT_OP_FILE_CREATE, .known = 1};
  uint8_t files[2 * CRDT_FILE_LEN];
  size_t seen = 0;

  b.u.fields = (crdt_fields){fv, 3};
  for (int i = 0; i < 2; i++)
    cr_assert_eq(node_file_create_as(s, "j.jones", NODE_ROLE_DSL, &b, files + i * CRDT_FILE_LEN,
                                     NULL), BT_OK);
  cr_assert_eq(node_casefiles_as(s, "j.jones", NODE_ROLE_DSL, files, 2, "desk", count_views,
                                 &seen), BT_OK);
  cr_assert_eq(seen, 2);
  cr_assert_eq(views_audited(NULL), 1, "one record for the list");
  cr_assert_eq(views_audited(files), 0, "none per file");
  /* Roles that read no file: refused, nothing read, nothing recorded. */
  seen = 0;
  cr_assert_eq(node_casefiles_as(s, "g.gov", NODE_ROLE_GOVERNOR, files, 2, "desk", count_views,
                                 &seen), BT_EDENIED);
  cr_assert_eq(seen, 0);
  /* A reader that stops: its error, and no record (nothing was shown). */
  cr_assert_eq(node_casefiles_as(s, "j.jones", NODE_ROLE_DSL, files, 2, "desk", stop_at_first,
                                 &seen), BT_ENOMEM);
  cr_assert_eq(seen, 1);
  cr_assert_eq(views_audited(NULL), 1);
}
