/* crdt/hlc.h: hybrid logical clock (Kulkarni et al., "Logical Physical Clocks").
 *
 * A timestamp packs milliseconds since the Unix epoch into the top 48 bits and a
 * 16-bit logical counter into the bottom 16, so timestamps compare as plain
 * integers: later physical time wins, the counter breaks ties.
 *
 * crdt_hlc is a transparent value type owned by the caller; there is nothing to
 * free. The clock never reads the system time: the caller passes wall_ms in.
 * A clock is not internally locked; calls on one clock must be serialised by its
 * owner. Distinct clocks may be used from distinct threads.
 *
 * Limits:
 * - The physical part is 48 bits (up to the year 10889). A wall_ms above
 *   CRDT_HLC_MS_MAX is clamped to it.
 * - When the counter would pass 0xFFFF it carries into the physical part
 *   (ms + 1, count 0), so the clock may run slightly ahead of wall time under a
 *   burst of more than 65536 events in one millisecond.
 * - Strict monotonicity holds below CRDT_HLC_TS_MAX. A clock that has reached
 *   CRDT_HLC_TS_MAX (only possible by receiving a remote timestamp that far in
 *   the future, which is always flagged as skewed) saturates there and returns
 *   CRDT_HLC_TS_MAX from then on. */
#ifndef BT_CRDT_HLC_H
#define BT_CRDT_HLC_H

#include <assert.h>
#include <stdint.h>

/* Timestamp: (milliseconds since Unix epoch) << 16 | logical counter (16 bits). */
typedef uint64_t crdt_hlc_ts;

typedef struct {
  crdt_hlc_ts last;     /* greatest timestamp returned or received so far */
  uint64_t max_skew_ms; /* remote physical time further ahead than this is flagged */
} crdt_hlc;

#define CRDT_HLC_MS_MAX    ((UINT64_C(1) << 48) - 1)
#define CRDT_HLC_COUNT_MAX UINT32_C(0xFFFF)
#define CRDT_HLC_TS_MAX    UINT64_MAX

/* Start a clock at timestamp 0. */
void crdt_hlc_init(crdt_hlc *c, uint64_t max_skew_ms);

/* Timestamp for a local event at wall clock wall_ms. The result is strictly
 * greater than every timestamp this clock returned or received before (see the
 * saturation note above), and its physical part is at least min(wall_ms,
 * CRDT_HLC_MS_MAX). A wall clock that goes backwards only advances the counter. */
crdt_hlc_ts crdt_hlc_now(crdt_hlc *c, uint64_t wall_ms);

/* Merge the timestamp of a received op. Returns the new clock value, strictly
 * greater than remote and than every timestamp seen before. *skewed (must not be
 * NULL) is set to 1 when remote's physical part is more than max_skew_ms ahead
 * of wall_ms, else 0. Skew is flagged, never punished: the clock still adopts
 * the remote time so causality holds; what to do about a skewed peer is the
 * caller's decision. Any 64-bit remote value is accepted. */
crdt_hlc_ts crdt_hlc_recv(crdt_hlc *c, crdt_hlc_ts remote, uint64_t wall_ms,
                          int *skewed);

/* Physical part: milliseconds since the Unix epoch. */
static inline uint64_t crdt_hlc_ms(crdt_hlc_ts t)
{
  return t >> 16;
}

/* Logical counter, 0..CRDT_HLC_COUNT_MAX. */
static inline uint32_t crdt_hlc_count(crdt_hlc_ts t)
{
  return (uint32_t)(t & CRDT_HLC_COUNT_MAX);
}

/* Hours since the Unix epoch (ms / 3600000): the coarse timestamp carried in
 * op headers. Always fits: CRDT_HLC_MS_MAX / 3600000 is about 7.8e7. */
static inline uint32_t crdt_hlc_hour(crdt_hlc_ts t)
{
  return (uint32_t)(crdt_hlc_ms(t) / UINT64_C(3600000));
}

/* Pack a timestamp. ms <= CRDT_HLC_MS_MAX and count <= CRDT_HLC_COUNT_MAX are
 * the caller's responsibility (asserted). */
static inline crdt_hlc_ts crdt_hlc_make(uint64_t ms, uint32_t count)
{
  assert(ms <= CRDT_HLC_MS_MAX);
  assert(count <= CRDT_HLC_COUNT_MAX);
  return ms << 16 | count;
}

#endif
