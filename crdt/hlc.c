/* crdt/hlc.c: hybrid logical clock.
 *
 * With the physical time in the high bits and the counter in the low bits, the
 * HLC rules collapse to integer arithmetic. "Same physical time: counter + 1;
 * else counter 0 at the larger physical time" is max(wall << 16, last + 1), and
 * for a receive the remote timestamp joins the max as remote + 1. Adding 1 to a
 * timestamp whose counter is 0xFFFF carries into the milliseconds by itself,
 * which is exactly the overflow rule we want. The only edge left is the top of
 * the 64-bit range, where we saturate instead of wrapping to 0. */
#include "hlc.h"

#include <stddef.h>

static crdt_hlc_ts wall_ts(uint64_t wall_ms)
{
  if (wall_ms > CRDT_HLC_MS_MAX)
    wall_ms = CRDT_HLC_MS_MAX;
  return crdt_hlc_make(wall_ms, 0);
}

/* t + 1, saturating: wrapping to 0 would break monotonicity far worse. */
static crdt_hlc_ts next(crdt_hlc_ts t)
{
  return t == CRDT_HLC_TS_MAX ? t : t + 1;
}

void crdt_hlc_init(crdt_hlc *c, uint64_t max_skew_ms)
{
  assert(c != NULL);
  c->last = 0;
  c->max_skew_ms = max_skew_ms;
}

crdt_hlc_ts crdt_hlc_now(crdt_hlc *c, uint64_t wall_ms)
{
  crdt_hlc_ts w, t;

  assert(c != NULL);
  w = wall_ts(wall_ms);
  t = next(c->last);
  if (w > t)
    t = w;
  c->last = t;
  return t;
}

crdt_hlc_ts crdt_hlc_recv(crdt_hlc *c, crdt_hlc_ts remote, uint64_t wall_ms,
                          int *skewed)
{
  crdt_hlc_ts w, t, r;
  uint64_t wms, rms;

  assert(c != NULL);
  assert(skewed != NULL);
  w = wall_ts(wall_ms);
  wms = crdt_hlc_ms(w);
  rms = crdt_hlc_ms(remote);
  /* Subtract rather than add: wms + max_skew_ms could overflow. */
  *skewed = rms > wms && rms - wms > c->max_skew_ms;

  t = next(c->last);
  r = next(remote);
  if (r > t)
    t = r;
  if (w > t)
    t = w;
  c->last = t;
  return t;
}
