/* proto/sync.c: the sync session's messages (docs/protocol.md "Sync
 * session messages", which is normative).
 *
 * Wire layout (msgpack in canonical form: msgpack-c's packer output):
 *
 *   SYNC    = [1, run uint32, n uint32, flags uint, digest bin(0|32),
 *              frecon bin, [section...], [envelope bin(1..1 MiB)...]]
 *   NUDGE   = [2]                                   exactly 0x91 0x02
 *   section = [file bin(16), 1, msg bin(1..)]               RECON
 *           | [file bin(16), 2, count uint64, sum bin(32)]  FAST
 *           | [file bin(16), 4, [id bin(32)...]]  1..1024   WANT
 *           | [file bin(16), 5]                             OUT
 *
 * Decoding. crdt_mp_walk first proves the bytes are one well-formed object
 * (every declared size checked against the bytes that remain, nesting
 * bounded) and yields the msgpack errors. Then a cursor reads the fields in
 * order, without msgpack-c objects, so nothing is reserved from a declared
 * count: the sections and envelope arrays are allocated only after their
 * counts passed the limits of sync.h (and the walk bounded them by the
 * bytes), and a WANT list's ids are copied out only after all of them were
 * checked, so they never take more memory than they took on the wire. The
 * cursor takes any spelling of a value (as msgpack-c would: a signed int
 * holding a non-negative value is an unsigned one); the one canonical
 * spelling is proven at the end the codebase's way, by writing the decoded
 * message again with the encoder's own packing functions into a comparing
 * writer (crdt_mp_cmp). Encoder and decoder share those functions, so
 * encode(decode(m)) == m for every m that decodes. Errors are reported in
 * the order the bytes are read; BT_ENONCANON comes last.
 *
 * Encoding. Sections and envelopes are packed as they are added, into one
 * buffer each (without their array headers); finish writes the header, then
 * each array's header and buffer. proto_sync_enc_size counts both array
 * headers at their largest (5 bytes), so it is an upper bound at most 8
 * bytes above the final size that grows by exactly the size of what is
 * added: a caller that keeps enc_size + proto_sync_section_size(s) within
 * its budget before adding s never overshoots. */
#include "sync.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "crdt/mp.h"
#include "frame.h"

#define MSG_FIELDS 8
#define ARR_MAX 5 /* array32 header */
#define ID_LEN CRDT_ID_LEN
#define SUM_LEN 32

_Static_assert(PROTO_SYNC_FLAGS < 0x80, "flags pack as one positive fixint");
_Static_assert(CRDT_ID_LEN == 32 && CRDT_FILE_LEN == 16, "wire sizes");

/* ---- sizes of canonical msgpack ---- */

static size_t uint_size(uint64_t v)
{
  if (v < 0x80)
    return 1;
  if (v <= UINT8_MAX)
    return 2;
  if (v <= UINT16_MAX)
    return 3;
  return v <= UINT32_MAX ? 5 : 9;
}

static size_t bin_size(size_t len)
{
  if (len <= UINT8_MAX)
    return 2 + len;
  return (len <= UINT16_MAX ? 3 : 5) + len;
}

static size_t arr_size(size_t n)
{
  if (n < 16)
    return 1;
  return n <= UINT16_MAX ? 3 : 5;
}

/* ---- packing, shared by the encoder and the decoder's canonical check ---- */

/* Never hands msgpack-c (and so memcpy or memcmp) a NULL body. */
static int pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
  if (len == 0)
    return msgpack_pack_bin(pk, 0) == 0 ? BT_OK : BT_ENOMEM;
  return crdt_mp_pack_bin(pk, p, len);
}

/* [1, run, n, flags, digest, frecon, ... (the two arrays follow) */
static int pack_head(msgpack_packer *pk, uint32_t run, uint32_t n, uint8_t flags,
                     const uint8_t *digest, bt_bytes frecon)
{
  if (msgpack_pack_array(pk, MSG_FIELDS) != 0 || msgpack_pack_uint8(pk, PROTO_SYNC_MSG) != 0 ||
      msgpack_pack_uint32(pk, run) != 0 || msgpack_pack_uint32(pk, n) != 0 ||
      msgpack_pack_uint8(pk, flags) != 0)
    return BT_ENOMEM;
  if (pack_bin(pk, digest, digest ? PROTO_SYNC_DIGEST_LEN : 0) != BT_OK)
    return BT_ENOMEM;
  return pack_bin(pk, frecon.p, frecon.len);
}

static int pack_section(msgpack_packer *pk, const proto_sync_section *s)
{
  static const uint8_t fields[] = {[PROTO_SYNC_S_RECON] = 3, [PROTO_SYNC_S_FAST] = 4,
                                   [PROTO_SYNC_S_VV] = 3, [PROTO_SYNC_S_WANT] = 3,
                                   [PROTO_SYNC_S_OUT] = 2};
  int rc = BT_OK;

  if (msgpack_pack_array(pk, fields[s->what]) != 0 ||
      pack_bin(pk, s->file, CRDT_FILE_LEN) != BT_OK || msgpack_pack_uint8(pk, s->what) != 0)
    return BT_ENOMEM;
  switch (s->what) {
  case PROTO_SYNC_S_RECON:
    rc = pack_bin(pk, s->recon.p, s->recon.len);
    break;
  case PROTO_SYNC_S_FAST:
    if (msgpack_pack_uint64(pk, s->count) != 0)
      return BT_ENOMEM;
    rc = pack_bin(pk, s->sum, SUM_LEN);
    break;
  case PROTO_SYNC_S_VV:
    if (msgpack_pack_array(pk, s->nvv) != 0)
      return BT_ENOMEM;
    for (size_t k = 0; k < s->nvv && rc == BT_OK; k++) {
      if (msgpack_pack_array(pk, 2) != 0)
        return BT_ENOMEM;
      if ((rc = pack_bin(pk, s->vv[k].author, CRDT_PK_LEN)) == BT_OK &&
          msgpack_pack_uint64(pk, s->vv[k].seq) != 0)
        rc = BT_ENOMEM;
    }
    break;
  case PROTO_SYNC_S_WANT:
    if (msgpack_pack_array(pk, s->nids) != 0)
      return BT_ENOMEM;
    for (size_t k = 0; k < s->nids && rc == BT_OK; k++)
      rc = pack_bin(pk, s->ids + k * ID_LEN, ID_LEN);
    break;
  default: /* OUT */
    break;
  }
  return rc;
}

size_t proto_sync_section_size(const proto_sync_section *s)
{
  size_t n = 1 + bin_size(CRDT_FILE_LEN) + 1;

  switch (s->what) {
  case PROTO_SYNC_S_RECON:
    return n + bin_size(s->recon.len);
  case PROTO_SYNC_S_FAST:
    return n + uint_size(s->count) + bin_size(SUM_LEN);
  case PROTO_SYNC_S_WANT:
    return n + arr_size(s->nids) + s->nids * bin_size(ID_LEN);
  case PROTO_SYNC_S_VV: {
    size_t v = n + arr_size(s->nvv);
    for (size_t k = 0; k < s->nvv; k++)
      v += 1 + bin_size(CRDT_PK_LEN) + uint_size(s->vv[k].seq);
    return v;
  }
  default:
    return n;
  }
}

size_t proto_sync_nudge(uint8_t out[2])
{
  out[0] = 0x91; /* fixarray of 1 */
  out[1] = PROTO_SYNC_NUDGE;
  return 2;
}

/* ---- the cursor (after crdt_mp_walk: it still never reads past end) ---- */

typedef struct {
  const uint8_t *p, *end;
} rd;

/* A type byte followed by an n-byte big-endian value. */
static int rd_head(rd *r, unsigned n, uint64_t *v)
{
  if ((size_t)(r->end - r->p) < 1u + n)
    return BT_ETRUNC;
  *v = 0;
  for (unsigned i = 1; i <= n; i++)
    *v = *v << 8 | r->p[i];
  r->p += 1 + n;
  return BT_OK;
}

/* Any non-negative integer. */
static int rd_uint(rd *r, uint64_t *v)
{
  uint8_t b;
  int rc;

  if (r->p == r->end)
    return BT_ETRUNC;
  b = *r->p;
  if (b < 0x80) {
    *v = b;
    r->p++;
    return BT_OK;
  }
  if (b >= 0xcc && b <= 0xcf)
    return rd_head(r, 1u << (b - 0xcc), v);
  if (b < 0xd0 || b > 0xd3)
    return BT_ETYPE;
  if ((rc = rd_head(r, 1u << (b - 0xd0), v)) != BT_OK)
    return rc;
  return *v >> (8 * (1u << (b - 0xd0)) - 1) ? BT_ETYPE : BT_OK; /* negative */
}

static int rd_bin(rd *r, bt_bytes *out)
{
  uint64_t len;
  int rc;

  if (r->p == r->end)
    return BT_ETRUNC;
  if (*r->p < 0xc4 || *r->p > 0xc6)
    return BT_ETYPE;
  if ((rc = rd_head(r, 1u << (*r->p - 0xc4), &len)) != BT_OK)
    return rc;
  if (len > (size_t)(r->end - r->p))
    return BT_ETRUNC;
  out->p = r->p;
  out->len = (size_t)len;
  r->p += len;
  return BT_OK;
}

static int rd_array(rd *r, size_t *n)
{
  uint64_t v;
  int rc;

  if (r->p == r->end)
    return BT_ETRUNC;
  if (*r->p >= 0x90 && *r->p <= 0x9f) {
    *n = *r->p++ & 0x0f;
    return BT_OK;
  }
  if (*r->p != 0xdc && *r->p != 0xdd)
    return BT_ETYPE;
  if ((rc = rd_head(r, *r->p == 0xdc ? 2 : 4, &v)) != BT_OK)
    return rc;
  *n = (size_t)v;
  return BT_OK;
}

static int rd_u32(rd *r, uint32_t *v)
{
  uint64_t u;
  int rc;

  if ((rc = rd_uint(r, &u)) != BT_OK)
    return rc;
  if (u > UINT32_MAX)
    return BT_EPROTO;
  *v = (uint32_t)u;
  return BT_OK;
}

/* A bin of exactly len bytes, copied to out. */
static int rd_fixed(rd *r, size_t len, uint8_t *out)
{
  bt_bytes b;
  int rc;

  if ((rc = rd_bin(r, &b)) != BT_OK)
    return rc;
  if (b.len != len)
    return BT_EPROTO;
  memcpy(out, b.p, len);
  return BT_OK;
}

/* ---- decoding ---- */

/* run, n, flags, digest, frecon. */
static int get_head(rd *r, proto_sync_msg *m)
{
  uint64_t flags;
  bt_bytes d;
  int rc;

  if ((rc = rd_u32(r, &m->run)) != BT_OK || (rc = rd_u32(r, &m->n)) != BT_OK ||
      (rc = rd_uint(r, &flags)) != BT_OK)
    return rc;
  if (flags & ~(uint64_t)PROTO_SYNC_FLAGS || !(flags & PROTO_SYNC_START) != (m->n != 0))
    return BT_EPROTO;
  m->flags = (uint8_t)flags;
  if ((rc = rd_bin(r, &d)) != BT_OK)
    return rc;
  if (d.len != 0 && d.len != PROTO_SYNC_DIGEST_LEN)
    return BT_EPROTO;
  m->has_digest = d.len != 0;
  if (m->has_digest != !!(flags & PROTO_SYNC_FAST))
    return BT_EPROTO;
  if (m->has_digest)
    memcpy(m->digest, d.p, PROTO_SYNC_DIGEST_LEN);
  if ((rc = rd_bin(r, &m->frecon)) != BT_OK)
    return rc;
  if (m->frecon.len == 0)
    m->frecon.p = NULL;
  return BT_OK;
}

/* [id bin(32)...], 1..PROTO_SYNC_WANT_MAX: checked whole, then copied. */
static int get_want(rd *r, proto_sync_section *s)
{
  uint8_t *ids;
  size_t n;
  rd again;
  bt_bytes b;
  int rc;

  if ((rc = rd_array(r, &n)) != BT_OK)
    return rc;
  if (n > PROTO_SYNC_WANT_MAX)
    return BT_ETOOBIG;
  if (n == 0)
    return BT_EPROTO;
  again = *r;
  for (size_t k = 0; k < n; k++) {
    if ((rc = rd_bin(r, &b)) != BT_OK)
      return rc;
    if (b.len != ID_LEN)
      return BT_EPROTO;
  }
  if ((ids = malloc(n * ID_LEN)) == NULL)
    return BT_ENOMEM;
  for (size_t k = 0; k < n; k++) {
    (void)rd_bin(&again, &b); /* read once already */
    memcpy(ids + k * ID_LEN, b.p, ID_LEN);
  }
  s->ids = ids;
  s->nids = n;
  return BT_OK;
}

/* [[author bin32, seq u64]...], 0..PROTO_SYNC_VV_MAX, authors strictly
 * ascending, seq >= 1: checked whole, then copied. */
static int get_vv(rd *r, proto_sync_section *s)
{
  proto_sync_vv *vv;
  uint8_t prev[CRDT_PK_LEN];
  size_t n, two;
  uint64_t seq;
  rd again;
  bt_bytes b;
  int rc;

  if ((rc = rd_array(r, &n)) != BT_OK)
    return rc;
  if (n > PROTO_SYNC_VV_MAX)
    return BT_ETOOBIG;
  again = *r;
  for (size_t k = 0; k < n; k++) {
    if ((rc = rd_array(r, &two)) != BT_OK)
      return rc;
    if (two != 2)
      return BT_EPROTO;
    if ((rc = rd_bin(r, &b)) != BT_OK || (rc = rd_uint(r, &seq)) != BT_OK)
      return rc;
    if (b.len != CRDT_PK_LEN || seq == 0 || (k > 0 && memcmp(prev, b.p, CRDT_PK_LEN) >= 0))
      return BT_EPROTO;
    memcpy(prev, b.p, CRDT_PK_LEN);
  }
  if (n == 0)
    return BT_OK;
  if ((vv = malloc(n * sizeof(*vv))) == NULL)
    return BT_ENOMEM;
  for (size_t k = 0; k < n; k++) { /* read once already */
    (void)rd_array(&again, &two);
    (void)rd_bin(&again, &b);
    (void)rd_uint(&again, &vv[k].seq);
    memcpy(vv[k].author, b.p, CRDT_PK_LEN);
  }
  s->vv = vv;
  s->nvv = n;
  return BT_OK;
}

static int get_section(rd *r, proto_sync_section *s)
{
  static const size_t fields[] = {[PROTO_SYNC_S_RECON] = 3, [PROTO_SYNC_S_FAST] = 4,
                                  [PROTO_SYNC_S_VV] = 3, [PROTO_SYNC_S_WANT] = 3,
                                  [PROTO_SYNC_S_OUT] = 2};
  uint64_t what;
  size_t n;
  int rc;

  if ((rc = rd_array(r, &n)) != BT_OK)
    return rc;
  if (n < 2)
    return BT_EPROTO;
  if ((rc = rd_fixed(r, CRDT_FILE_LEN, s->file)) != BT_OK || (rc = rd_uint(r, &what)) != BT_OK)
    return rc;
  if (what >= sizeof fields / sizeof fields[0] || fields[what] == 0 || n != fields[what])
    return BT_EPROTO;
  s->what = (uint8_t)what;
  switch (what) {
  case PROTO_SYNC_S_RECON:
    if ((rc = rd_bin(r, &s->recon)) != BT_OK)
      return rc;
    return s->recon.len > 0 ? BT_OK : BT_EPROTO;
  case PROTO_SYNC_S_FAST:
    if ((rc = rd_uint(r, &s->count)) != BT_OK)
      return rc;
    return rd_fixed(r, SUM_LEN, s->sum);
  case PROTO_SYNC_S_WANT:
    return get_want(r, s);
  case PROTO_SYNC_S_VV:
    return get_vv(r, s);
  default: /* OUT */
    return BT_OK;
  }
}

static int get_sections(rd *r, proto_sync_msg *m)
{
  size_t n;
  int rc;

  if ((rc = rd_array(r, &n)) != BT_OK)
    return rc;
  if (n > PROTO_SYNC_SECTIONS_MAX)
    return BT_ETOOBIG;
  if (n == 0)
    return BT_OK;
  if ((m->sections = calloc(n, sizeof *m->sections)) == NULL)
    return BT_ENOMEM;
  m->nsections = n; /* calloc'd: proto_sync_msg_free copes with a partial array */
  for (size_t k = 0; k < n; k++)
    if ((rc = get_section(r, &m->sections[k])) != BT_OK)
      return rc;
  return BT_OK;
}

static int get_envs(rd *r, proto_sync_msg *m)
{
  size_t n;
  int rc;

  if ((rc = rd_array(r, &n)) != BT_OK)
    return rc;
  if (n > PROTO_SYNC_ENVS_MAX)
    return BT_ETOOBIG;
  if (n == 0)
    return BT_OK;
  if ((m->envs = malloc(n * sizeof *m->envs)) == NULL)
    return BT_ENOMEM;
  for (size_t k = 0; k < n; k++) {
    if ((rc = rd_bin(r, &m->envs[k])) != BT_OK)
      return rc;
    if (m->envs[k].len > PROTO_SYNC_ENV_MAX)
      return BT_ETOOBIG;
    if (m->envs[k].len == 0)
      return BT_EPROTO;
  }
  m->nenvs = n;
  return BT_OK;
}

/* The message m was decoded from p[0..len) iff packing m writes p. */
static int canonical(const proto_sync_msg *m, const uint8_t *p, size_t len)
{
  crdt_mp_cmp c = {p, len, 0, 0};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &c, crdt_mp_cmp_write);
  pack_head(&pk, m->run, m->n, m->flags, m->has_digest ? m->digest : NULL, m->frecon);
  msgpack_pack_array(&pk, m->nsections);
  for (size_t k = 0; k < m->nsections; k++)
    pack_section(&pk, &m->sections[k]);
  msgpack_pack_array(&pk, m->nenvs);
  for (size_t k = 0; k < m->nenvs; k++)
    pack_bin(&pk, m->envs[k].p, m->envs[k].len);
  return crdt_mp_cmp_equal(&c) ? BT_OK : BT_ENONCANON;
}

static int get_msg(rd *r, const uint8_t *p, size_t len, proto_sync_msg *m)
{
  int rc;

  if ((rc = get_head(r, m)) != BT_OK || (rc = get_sections(r, m)) != BT_OK ||
      (rc = get_envs(r, m)) != BT_OK)
    return rc;
  return canonical(m, p, len);
}

int proto_sync_decode(const uint8_t *m, size_t len, int *kind, proto_sync_msg *msg)
{
  static const uint8_t nudge[] = {0x91, PROTO_SYNC_NUDGE};
  proto_sync_msg out = {0};
  uint64_t k;
  rd r;
  size_t used, n;
  int rc;

  if ((rc = crdt_mp_walk(m, len, PROTO_MP_DEPTH, &used)) != BT_OK)
    return rc;
  if (used != len)
    return BT_ETRAILING;
  r = (rd){m, m + len}; /* the walk refused len 0, so m is not NULL */
  if ((rc = rd_array(&r, &n)) != BT_OK)
    return rc;
  if (n == 0)
    return BT_EPROTO;
  if ((rc = rd_uint(&r, &k)) != BT_OK)
    return rc;
  if (k == PROTO_SYNC_NUDGE) {
    if (n != 1)
      return BT_EPROTO;
    if (len != sizeof nudge || memcmp(m, nudge, len) != 0)
      return BT_ENONCANON;
    *kind = PROTO_SYNC_NUDGE;
    return BT_OK;
  }
  if (k != PROTO_SYNC_MSG || n != MSG_FIELDS)
    return BT_EPROTO;
  if ((rc = get_msg(&r, m, len, &out)) != BT_OK) {
    proto_sync_msg_free(&out);
    return rc;
  }
  *kind = PROTO_SYNC_MSG;
  *msg = out;
  return BT_OK;
}

void proto_sync_msg_free(proto_sync_msg *msg)
{
  if (msg == NULL)
    return;
  for (size_t k = 0; k < msg->nsections; k++) {
    free((void *)msg->sections[k].ids); /* the decoder's copy (WANT) or NULL */
    free((void *)msg->sections[k].vv);  /* (VV) or NULL */
  }
  free(msg->sections);
  free(msg->envs);
  msg->sections = NULL;
  msg->envs = NULL;
  msg->nsections = msg->nenvs = 0;
}

/* ---- encoding ---- */

struct proto_sync_enc {
  uint32_t run, n;
  uint8_t flags;
  int has_digest;
  uint8_t digest[PROTO_SYNC_DIGEST_LEN];
  uint8_t *frecon;
  size_t frecon_len;
  msgpack_sbuffer secs, envs; /* packed items, without the arrays' headers */
  size_t nsecs, nenvs;
};

int proto_sync_enc_new(proto_sync_enc **out, uint32_t run, uint32_t n, uint8_t flags,
                       const uint8_t *digest, bt_bytes frecon)
{
  proto_sync_enc *e;

  if (flags & ~PROTO_SYNC_FLAGS || (frecon.len > 0 && frecon.p == NULL))
    return BT_EINVAL;
  if ((e = calloc(1, sizeof *e)) == NULL)
    return BT_ENOMEM;
  if (frecon.len > 0 && (e->frecon = malloc(frecon.len)) == NULL) {
    free(e);
    return BT_ENOMEM;
  }
  if (frecon.len > 0)
    memcpy(e->frecon, frecon.p, frecon.len);
  e->frecon_len = frecon.len;
  e->run = run;
  e->n = n;
  e->flags = flags;
  e->has_digest = digest != NULL;
  if (digest)
    memcpy(e->digest, digest, PROTO_SYNC_DIGEST_LEN);
  msgpack_sbuffer_init(&e->secs);
  msgpack_sbuffer_init(&e->envs);
  *out = e;
  return BT_OK;
}

void proto_sync_enc_free(proto_sync_enc *e)
{
  if (e == NULL)
    return;
  free(e->frecon);
  msgpack_sbuffer_destroy(&e->secs);
  msgpack_sbuffer_destroy(&e->envs);
  free(e);
}

/* What the decoder would refuse in a section, as the encoder's errors. */
static int check_section(const proto_sync_section *s)
{
  switch (s->what) {
  case PROTO_SYNC_S_RECON:
    return s->recon.len > 0 && s->recon.p != NULL ? BT_OK : BT_EINVAL;
  case PROTO_SYNC_S_WANT:
    if (s->nids > PROTO_SYNC_WANT_MAX)
      return BT_ETOOBIG;
    return s->nids > 0 && s->ids != NULL ? BT_OK : BT_EINVAL;
  case PROTO_SYNC_S_VV:
    if (s->nvv > PROTO_SYNC_VV_MAX)
      return BT_ETOOBIG;
    if (s->nvv > 0 && s->vv == NULL)
      return BT_EINVAL;
    for (size_t k = 0; k < s->nvv; k++)
      if (s->vv[k].seq == 0 ||
          (k > 0 && memcmp(s->vv[k - 1].author, s->vv[k].author, CRDT_PK_LEN) >= 0))
        return BT_EINVAL;
    return BT_OK;
  case PROTO_SYNC_S_FAST:
  case PROTO_SYNC_S_OUT:
    return BT_OK;
  default:
    return BT_EINVAL;
  }
}

int proto_sync_enc_section(proto_sync_enc *e, const proto_sync_section *s)
{
  size_t was = e->secs.size;
  msgpack_packer pk;
  int rc;

  if ((rc = check_section(s)) != BT_OK)
    return rc;
  if (e->nsecs == PROTO_SYNC_SECTIONS_MAX)
    return BT_ETOOBIG;
  msgpack_packer_init(&pk, &e->secs, msgpack_sbuffer_write);
  if ((rc = pack_section(&pk, s)) != BT_OK) {
    e->secs.size = was; /* unchanged on failure */
    return rc;
  }
  e->nsecs++;
  return BT_OK;
}

int proto_sync_enc_env(proto_sync_enc *e, const uint8_t *p, size_t len)
{
  size_t was = e->envs.size;
  msgpack_packer pk;

  if (len == 0 || p == NULL)
    return BT_EINVAL;
  if (len > PROTO_SYNC_ENV_MAX || e->nenvs == PROTO_SYNC_ENVS_MAX)
    return BT_ETOOBIG;
  msgpack_packer_init(&pk, &e->envs, msgpack_sbuffer_write);
  if (pack_bin(&pk, p, len) != BT_OK) {
    e->envs.size = was;
    return BT_ENOMEM;
  }
  e->nenvs++;
  return BT_OK;
}

void proto_sync_enc_flags(proto_sync_enc *e, uint8_t flags)
{
  e->flags = flags;
}

static size_t head_size(const proto_sync_enc *e)
{
  return 1 + 1 + uint_size(e->run) + uint_size(e->n) + uint_size(e->flags) +
         bin_size(e->has_digest ? PROTO_SYNC_DIGEST_LEN : 0) + bin_size(e->frecon_len);
}

size_t proto_sync_enc_size(const proto_sync_enc *e)
{
  return head_size(e) + ARR_MAX + e->secs.size + ARR_MAX + e->envs.size;
}

/* A packer target of fixed capacity (the exact size is known). */
typedef struct {
  uint8_t *p;
  size_t cap, len;
} fixed_buf;

static int fixed_write(void *data, const char *buf, size_t len)
{
  fixed_buf *b = data;

  if (len > b->cap - b->len)
    return -1;
  memcpy(b->p + b->len, buf, len);
  b->len += len;
  return 0;
}

int proto_sync_enc_finish(proto_sync_enc *e, uint8_t **out, size_t *len)
{
  bt_bytes frecon = {e->frecon, e->frecon_len};
  fixed_buf b = {NULL, 0, 0};
  msgpack_packer pk;
  uint8_t f = e->flags;

  /* The rules proto_sync_decode enforces on the header. */
  if (f & ~PROTO_SYNC_FLAGS || !(f & PROTO_SYNC_START) != (e->n != 0) ||
      !(f & PROTO_SYNC_FAST) != !e->has_digest)
    return BT_EINVAL;
  b.cap = head_size(e) + arr_size(e->nsecs) + e->secs.size + arr_size(e->nenvs) + e->envs.size;
  if ((b.p = malloc(b.cap)) == NULL)
    return BT_ENOMEM;
  msgpack_packer_init(&pk, &b, fixed_write);
  if (pack_head(&pk, e->run, e->n, f, e->has_digest ? e->digest : NULL, frecon) != BT_OK ||
      msgpack_pack_array(&pk, e->nsecs) != 0 ||
      (e->secs.size && fixed_write(&b, e->secs.data, e->secs.size) != 0) ||
      msgpack_pack_array(&pk, e->nenvs) != 0 ||
      (e->envs.size && fixed_write(&b, e->envs.data, e->envs.size) != 0) || b.len != b.cap) {
    free(b.p); /* cannot happen: the size is exact */
    return BT_ENOMEM;
  }
  *out = b.p;
  *len = b.len;
  return BT_OK;
}
