/* tests/node/test_audit_review.c: review findings on the audit log
 * (node/audit.c). Each test names a defect and FAILS on the code as
 * reviewed. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "node/audit.h"
#include "node/users.h"
#include "parties.h"

PARTIES_SUITE(node_audit_review, .timeout = 120);

static const uint8_t FILE_A[CRDT_FILE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* DEFECT (low): node/audit.c node__audit_txn (~line 334) stamps each record
 * with node__now_ms() as it is, and walk()/check_one() (~line 474) never
 * compare a record's time with its predecessor's. Whoever can set the
 * node's clock back (a local admin, a bad NTP source) appends correctly
 * signed, correctly chained records dated before the ones already in the
 * log, e.g. a 02:00 view recorded as yesterday afternoon, and
 * node_audit_verify calls the log intact. What should happen: a record's
 * time is never earlier than the record before it (clamp to the last
 * record's time when appending), or verify reports the backwards step. */
Test(node_audit_review, a_record_dated_before_its_predecessor_verifies_intact)
{
  node_audit_rec *r;
  node_audit_check c;
  size_t n;

  party_now_ms += 3600 * 1000;
  cr_assert_eq(node_audit_add(school.s, "dsl.jones", NODE_AUDIT_VIEW, FILE_A, "dsl"), BT_OK);
  party_now_ms -= 24 * 3600 * 1000; /* the clock is set back a day */
  cr_assert_eq(node_audit_add(school.s, "dsl.jones", NODE_AUDIT_VIEW, FILE_A, "dsl"), BT_OK);
  cr_assert_eq(node_audit_list(school.s, NULL, &r, &n), BT_OK);
  cr_assert_geq(n, 2);
  uint64_t a = r[n - 2].ms, b = r[n - 1].ms;
  node_audit_list_free(r);
  int rc = node_audit_verify(school.s, &c);
  cr_assert(b >= a || rc != BT_OK,
            "record %zu is dated %llu ms before record %zu and verify says %s",
            n, (unsigned long long)(a - b), n - 1, node_audit_fault_text(c.fault));
}
