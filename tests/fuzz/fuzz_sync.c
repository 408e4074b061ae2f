/* tests/fuzz/fuzz_sync.c: libFuzzer harness for the sync session's
 * messages (proto_sync_decode).
 *
 * The input is one message from a peer, decoded from an exact-size copy so
 * ASan sees any overread. Besides sanitizer reports it aborts when a
 * decoded SYNC, written again with the encoder, is not the same bytes (only
 * the canonical form may decode) or the encoder's size bound is below the
 * size or more than 8 bytes above it; when a borrowed field points outside
 * the input; when what decoded breaks a rule the decoder promises (flags,
 * limits, sizes); when a NUDGE is anything but 0x91 0x02; when an error is
 * not one proto/sync.h documents; or when a failed decode wrote its
 * results. Seeds: sync-*.bin from mkcorpus.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "proto/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const uint8_t *p, size_t len, const uint8_t *m, size_t size)
{
  return len == 0 || (p >= m && len <= size && p - m <= (ptrdiff_t)(size - len));
}

static void check_rules(const proto_sync_msg *m, const uint8_t *in, size_t size)
{
  if (m->flags & ~PROTO_SYNC_FLAGS || !(m->flags & PROTO_SYNC_START) != (m->n != 0) ||
      !(m->flags & PROTO_SYNC_FAST) != !m->has_digest)
    abort();
  if (!inside(m->frecon.p, m->frecon.len, in, size) || (m->frecon.len == 0) != !m->frecon.p)
    abort();
  if (m->nsections > PROTO_SYNC_SECTIONS_MAX || m->nenvs > PROTO_SYNC_ENVS_MAX)
    abort();
  for (size_t k = 0; k < m->nsections; k++) {
    const proto_sync_section *s = &m->sections[k];

    if (s->what == PROTO_SYNC_S_RECON && (s->recon.len == 0 ||
                                          !inside(s->recon.p, s->recon.len, in, size)))
      abort();
    if (s->what == PROTO_SYNC_S_WANT && (s->nids == 0 || s->nids > PROTO_SYNC_WANT_MAX))
      abort();
    if (s->what == PROTO_SYNC_S_VV) {
      if (s->nvv > PROTO_SYNC_VV_MAX || (s->nvv > 0) != (s->vv != NULL))
        abort();
      for (size_t j = 0; j < s->nvv; j++)
        if (s->vv[j].seq == 0 ||
            (j > 0 && memcmp(s->vv[j - 1].author, s->vv[j].author, CRDT_PK_LEN) >= 0))
          abort();
    } else if (s->nvv != 0 || s->vv != NULL) {
      abort();
    }
    if (s->what != PROTO_SYNC_S_RECON && s->what != PROTO_SYNC_S_FAST &&
        s->what != PROTO_SYNC_S_WANT && s->what != PROTO_SYNC_S_OUT && s->what != PROTO_SYNC_S_VV)
      abort();
  }
  for (size_t k = 0; k < m->nenvs; k++)
    if (m->envs[k].len == 0 || m->envs[k].len > PROTO_SYNC_ENV_MAX ||
        !inside(m->envs[k].p, m->envs[k].len, in, size))
      abort();
}

/* Writes m again and requires exactly in[0..size). */
static void check_reencoding(const proto_sync_msg *m, const uint8_t *in, size_t size)
{
  proto_sync_enc *e;
  uint8_t *out;
  size_t len, bound;

  if (proto_sync_enc_new(&e, m->run, m->n, m->flags, m->has_digest ? m->digest : NULL,
                         m->frecon) != BT_OK)
    abort();
  for (size_t k = 0; k < m->nsections; k++)
    if (proto_sync_enc_section(e, &m->sections[k]) != BT_OK)
      abort();
  for (size_t k = 0; k < m->nenvs; k++)
    if (proto_sync_enc_env(e, m->envs[k].p, m->envs[k].len) != BT_OK)
      abort();
  bound = proto_sync_enc_size(e);
  if (proto_sync_enc_finish(e, &out, &len) != BT_OK)
    abort();
  if (len != size || memcmp(out, in, size) != 0 || bound < len || bound > len + 8)
    abort();
  free(out);
  proto_sync_enc_free(e);
}

static int documented(int rc)
{
  switch (rc) {
  case BT_ETRUNC:
  case BT_ETYPE:
  case BT_EDEPTH:
  case BT_ETRAILING:
  case BT_ENONCANON:
  case BT_ETOOBIG:
  case BT_EPROTO:
  case BT_ENOMEM:
    return 1;
  default:
    return 0;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t *copy = malloc(size ? size : 1);
  proto_sync_msg msg, untouched;
  int kind = -1, rc;

  if (copy == NULL)
    abort();
  if (size)
    memcpy(copy, data, size);
  memset(&msg, 0x5a, sizeof msg);
  memset(&untouched, 0x5a, sizeof untouched);
  rc = proto_sync_decode(copy, size, &kind, &msg);
  if (rc != BT_OK) {
    if (!documented(rc) || kind != -1 || memcmp(&msg, &untouched, sizeof msg) != 0)
      abort();
  } else if (kind == PROTO_SYNC_NUDGE) {
    if (size != 2 || copy[0] != 0x91 || copy[1] != 0x02 ||
        memcmp(&msg, &untouched, sizeof msg) != 0)
      abort();
  } else if (kind == PROTO_SYNC_MSG) {
    check_rules(&msg, copy, size);
    check_reencoding(&msg, copy, size);
    proto_sync_msg_free(&msg);
  } else {
    abort();
  }
  free(copy);
  return 0;
}
