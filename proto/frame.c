/* proto/frame.c: the incremental frame decoder and the encoder.
 *
 * Wire layout (docs/protocol.md "Framing"):
 *
 *   +--------------------+-------------------------+
 *   | length u32 BE (4)  | payload (length bytes)  |   1 <= length <= max
 *   +--------------------+-------------------------+
 *
 * The decoder is a two-state machine: collecting the four length bytes, then
 * collecting the payload. The length is judged the moment its fourth byte
 * arrives, so a hostile peer can make us hold at most max + 4 bytes, and
 * only after it has announced them within the limit. A frame that arrives
 * whole in one read is handed out in place, without a copy; only frames
 * split across reads are assembled in a buffer, which is released once it
 * has carried a frame larger than KEEP so one big frame does not pin its
 * memory for the rest of the connection. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"

#define KEEP ((size_t)64 << 10)

struct proto_frame_dec {
  size_t max;
  uint8_t hdr[PROTO_FRAME_HDR];
  size_t nhdr;   /* length bytes read so far */
  size_t need;   /* payload length, once nhdr == PROTO_FRAME_HDR */
  size_t have;   /* payload bytes in buf */
  uint8_t *buf;
  size_t cap;
  int err;       /* sticky */
};

static int check_max(size_t *max)
{
  if (*max == 0)
    *max = PROTO_FRAME_MAX_DEFAULT;
  return *max > PROTO_FRAME_MAX_CAP ? BT_EINVAL : BT_OK;
}

int proto_frame_dec_new(proto_frame_dec **out, size_t max)
{
  proto_frame_dec *d;

  if (check_max(&max) != BT_OK)
    return BT_EINVAL;
  if ((d = calloc(1, sizeof(*d))) == NULL)
    return BT_ENOMEM;
  d->max = max;
  *out = d;
  return BT_OK;
}

void proto_frame_dec_free(proto_frame_dec *d)
{
  if (d == NULL)
    return;
  free(d->buf);
  free(d);
}

int proto_frame_dec_set_max(proto_frame_dec *d, size_t max)
{
  if (check_max(&max) != BT_OK)
    return BT_EINVAL;
  d->max = max;
  return BT_OK;
}

int proto_frame_dec_idle(const proto_frame_dec *d)
{
  return d->err == 0 && d->nhdr == 0;
}

size_t proto_frame_dec_pending(const proto_frame_dec *d)
{
  return d->nhdr + d->have;
}

static uint32_t rd_u32(const uint8_t p[4])
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int length_ok(size_t n, size_t max)
{
  if (n == 0)
    return BT_EPROTO;
  return n > max ? BT_ETOOBIG : BT_OK;
}

/* Makes room for need payload bytes; nothing is buffered yet. */
static int reserve(proto_frame_dec *d)
{
  if (d->cap >= d->need)
    return BT_OK;
  free(d->buf);
  d->cap = 0;
  if ((d->buf = malloc(d->need)) == NULL)
    return BT_ENOMEM;
  d->cap = d->need;
  return BT_OK;
}

static void frame_done(proto_frame_dec *d)
{
  d->nhdr = d->need = d->have = 0;
}

/* Reads length bytes; returns bytes consumed or an error. */
static int take_header(proto_frame_dec *d, const uint8_t *p, size_t len)
{
  size_t n = PROTO_FRAME_HDR - d->nhdr;
  int rc;

  if (n > len)
    n = len;
  memcpy(d->hdr + d->nhdr, p, n);
  d->nhdr += n;
  if (d->nhdr < PROTO_FRAME_HDR)
    return (int)n;
  d->need = rd_u32(d->hdr);
  if ((rc = length_ok(d->need, d->max)) != BT_OK)
    return rc;
  return (int)n;
}

int proto_frame_dec_feed(proto_frame_dec *d, const uint8_t *p, size_t len, size_t *used,
                         bt_bytes *frame)
{
  size_t pos = 0, n;
  int rc;

  if (d->err)
    return d->err;
  if (d->cap > KEEP && d->have == 0) {
    free(d->buf);
    d->buf = NULL;
    d->cap = 0;
  }
  if (d->nhdr < PROTO_FRAME_HDR) {
    if ((rc = take_header(d, p, len)) < 0)
      goto fail;
    pos = (size_t)rc;
    if (d->nhdr < PROTO_FRAME_HDR) {
      *used = pos;
      *frame = (bt_bytes){NULL, 0};
      return BT_OK;
    }
    if (len - pos >= d->need) { /* whole: hand it out in place */
      *frame = (bt_bytes){p + pos, d->need};
      *used = pos + d->need;
      frame_done(d);
      return BT_OK;
    }
  }
  if (d->have == 0 && (rc = reserve(d)) != BT_OK)
    goto fail;
  n = d->need - d->have;
  if (n > len - pos)
    n = len - pos;
  if (n)
    memcpy(d->buf + d->have, p + pos, n);
  d->have += n;
  pos += n;
  *used = pos;
  if (d->have < d->need) {
    *frame = (bt_bytes){NULL, 0};
    return BT_OK;
  }
  *frame = (bt_bytes){d->buf, d->need};
  frame_done(d);
  return BT_OK;
fail:
  d->err = rc;
  d->have = 0;
  return rc;
}

int proto_frame_header(size_t len, size_t max, uint8_t hdr[PROTO_FRAME_HDR])
{
  int rc;

  if (check_max(&max) != BT_OK)
    return BT_EINVAL;
  if ((rc = length_ok(len, max)) != BT_OK)
    return rc;
  hdr[0] = (uint8_t)(len >> 24);
  hdr[1] = (uint8_t)(len >> 16);
  hdr[2] = (uint8_t)(len >> 8);
  hdr[3] = (uint8_t)len;
  return BT_OK;
}

int proto_frame_encode(const void *payload, size_t len, size_t max, uint8_t *out, size_t cap,
                       size_t *olen)
{
  uint8_t hdr[PROTO_FRAME_HDR];
  int rc;

  if ((rc = proto_frame_header(len, max, hdr)) != BT_OK)
    return rc;
  if (cap < PROTO_FRAME_HDR || cap - PROTO_FRAME_HDR < len)
    return BT_ETOOBIG;
  memcpy(out, hdr, PROTO_FRAME_HDR);
  memcpy(out + PROTO_FRAME_HDR, payload, len);
  *olen = PROTO_FRAME_HDR + len;
  return BT_OK;
}

int proto_frame_unpack(const uint8_t *p, size_t len, msgpack_zone *zone, msgpack_object *obj)
{
  /* crdt_mp_unpack walks before msgpack-c allocates anything. */
  return crdt_mp_unpack(p, len, PROTO_MP_DEPTH, zone, obj);
}
