/* tests/node/syncpair.c: see syncpair.h. */
#define _POSIX_C_SOURCE 200809L
#include "node/syncpair.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/op.h"
#include "node/share.h"
#include "node/users.h"

void sync_link_open(sync_link *l, party *a, party *b)
{
  node_sync_peer pa, pb;

  party_peer(a, &pa);
  party_peer(b, &pb);
  cr_assert_eq(node_sync_new(&l->a, a->s, &pb, 1, &l->oa), BT_OK);
  cr_assert_eq(node_sync_new(&l->b, b->s, &pa, 0, &l->ob), BT_OK);
}

void sync_link_close(sync_link *l)
{
  node_sync_free(l->a);
  node_sync_free(l->b);
}

unsigned sync_run(sync_link *l)
{
  const uint8_t *m;
  size_t len;
  unsigned from_a = 1, total = 0;
  int turn = 1; /* 1: the message is for b */

  cr_assert_eq(node_sync_start(l->a, &m, &len), BT_OK);
  cr_assert_gt(len, 0);
  while (len > 0) {
    int rc;
    cr_assert_lt(++total, 10000, "the run does not end");
    rc = node_sync_recv(turn ? l->b : l->a, m, len, &m, &len);
    cr_assert_eq(rc, BT_OK, "%s", bt_errname(rc));
    turn = !turn;
    if (len > 0 && turn == 1) /* a spoke again */
      from_a++;
  }
  if (getenv("BT_SYNC_TRACE")) {
    node_sync_stats sa, sb;
    node_sync_get_stats(l->a, &sa);
    node_sync_get_stats(l->b, &sb);
    fprintf(stderr,
            "run: a sent %u of %u msgs, fast=%d differ=%u; a sent %llu ops, stored %llu; "
            "b sent %llu, stored %llu dup %llu buffered %llu rejected %llu refused %llu\n",
            from_a, total + 1, sa.last_fast, sa.files_differ, (unsigned long long)sa.ops_sent,
            (unsigned long long)sa.ops_stored, (unsigned long long)sb.ops_sent,
            (unsigned long long)sb.ops_stored, (unsigned long long)sb.ops_dup,
            (unsigned long long)sb.ops_buffered, (unsigned long long)sb.ops_rejected,
            (unsigned long long)sb.ops_refused);
  }
  cr_assert_not(node_sync_running(l->a));
  cr_assert_not(node_sync_running(l->b));
  return from_a;
}

void sync_same_state(party *a, party *b, const uint8_t *file)
{
  uint64_t ca, cb;
  uint8_t sa[32], sb[32];

  cr_assert_eq(node_sync_file_state(a->s, file, &ca, sa), BT_OK);
  cr_assert_eq(node_sync_file_state(b->s, file, &cb, sb), BT_OK);
  cr_assert_eq(ca, cb, "counts %llu and %llu", (unsigned long long)ca, (unsigned long long)cb);
  cr_assert_arr_eq(sa, sb, 32);
}

void sync_grant(party *from, party *to, const uint8_t *file, uint32_t rights, crdt_id *gid)
{
  node_grant_req g = party_consent_req(to, rights, CRDT_HISTORY_ALL);
  crdt_id id;

  cr_assert_eq(node_grant_as(from->s, "dsl.jones", NODE_ROLE_DSL, file, &g, gid ? gid : &id),
               BT_OK);
}

int sync_holds(party *p, const uint8_t *file)
{
  uint64_t c;
  uint8_t s[32];

  return node_sync_file_state(p->s, file, &c, s) == BT_OK;
}

uint64_t sync_count(party *p, const uint8_t *file)
{
  uint64_t c = 0;
  uint8_t s[32];

  cr_assert_eq(node_sync_file_state(p->s, file, &c, s), BT_OK);
  return c;
}

void sync_forge_begin(sync_forge *f, uint32_t run, uint32_t n)
{
  cr_assert_eq(proto_sync_enc_new(&f->e, run, n, n == 0 ? PROTO_SYNC_START : 0, NULL,
                                  (bt_bytes){NULL, 0}),
               BT_OK);
}

void sync_forge_section(sync_forge *f, const proto_sync_section *s)
{
  int rc = proto_sync_enc_section(f->e, s);

  cr_assert_eq(rc, BT_OK, "%s", bt_errname(rc));
}

void sync_forge_env(sync_forge *f, const uint8_t *p, size_t len)
{
  cr_assert_eq(proto_sync_enc_env(f->e, p, len), BT_OK);
}

int sync_forge_send(sync_forge *f, node_sync *victim, proto_sync_msg *answer)
{
  uint8_t *m;
  size_t len, olen = 0;
  const uint8_t *out;
  int kind, rc;

  cr_assert_eq(proto_sync_enc_finish(f->e, &m, &len), BT_OK);
  proto_sync_enc_free(f->e);
  f->e = NULL;
  rc = node_sync_recv(victim, m, len, &out, &olen);
  free(m);
  memset(answer, 0, sizeof(*answer));
  if (rc == BT_OK && olen > 0)
    cr_assert_eq(proto_sync_decode(out, olen, &kind, answer), BT_OK);
  return rc;
}

size_t sync_envs_of(const proto_sync_msg *m, const uint8_t *file)
{
  size_t n = 0;

  for (size_t i = 0; i < m->nenvs; i++) {
    crdt_op *op;
    cr_assert_eq(crdt_op_decode(m->envs[i].p, m->envs[i].len, &op), BT_OK);
    n += memcmp(op->h.file, file, CRDT_FILE_LEN) == 0;
    crdt_op_free(op);
  }
  return n;
}
