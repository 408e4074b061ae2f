/* crdt/upn.c: Unique Pupil Number checks.
 *
 * The weights 2..13 are all below the prime 23 and any two digits (or two
 * alphabet values, 0..22) differ by less than 23, so changing any single
 * character changes the sum mod 23 and the check letter catches it. The one
 * blind spot is built into the scheme: a final digit d and the alphabet letter
 * of index d carry the same value, so swapping one for the other turns a
 * permanent UPN into a temporary one with the same check letter. */
#include "upn.h"

#include <string.h>

#include "err.h"

#define ALPHABET_LEN 23

/* Index of c in CRDT_UPN_ALPHABET, or -1. Upper case only. */
static int alpha_index(char c)
{
  const char *p;

  if (c == '\0')
    return -1; /* strchr would match the terminator */
  p = strchr(CRDT_UPN_ALPHABET, c);
  return p == NULL ? -1 : (int)(p - CRDT_UPN_ALPHABET);
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

char crdt_upn_check_letter(const char *s, size_t len)
{
  unsigned sum = 0;
  int last;

  if (s == NULL || len != CRDT_UPN_LEN)
    return 0;
  /* s[i] is character i + 1, weighted by its 1-based position. */
  for (size_t i = 1; i < CRDT_UPN_LEN - 1; i++) {
    if (!is_digit(s[i]))
      return 0;
    sum += (unsigned)(s[i] - '0') * (unsigned)(i + 1);
  }
  last = is_digit(s[12]) ? s[12] - '0' : alpha_index(s[12]);
  if (last < 0)
    return 0;
  sum += (unsigned)last * CRDT_UPN_LEN;
  return CRDT_UPN_ALPHABET[sum % ALPHABET_LEN];
}

int crdt_upn_check(const char *s, size_t len)
{
  char want = crdt_upn_check_letter(s, len);

  /* want is never I, O or S, so a bad first letter fails the comparison. */
  if (want == 0 || s[0] != want)
    return BT_EUPN;
  return BT_OK;
}

int crdt_upn_is_temporary(const char *s, size_t len)
{
  return crdt_upn_check(s, len) == BT_OK && !is_digit(s[12]);
}
