/* tests/crdt/test_upn.c: Unique Pupil Number checks.
 *
 * Valid examples are worked by hand below (weights are positions 2..13; the
 * alphabet is ABCDEFGHJKLMNPQRTUVWXYZ, A = 0 .. Z = 22), so the tests do not
 * just repeat the library's arithmetic back to itself. */
#include "crdt/upn.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "crdt/err.h"

/* Permanent UPNs.
 *
 * B801200005001 (domain.md's worked example):
 *   8*2 + 0*3 + 1*4 + 2*5 + 0*6 + 0*7 + 0*8 + 0*9 + 5*10 + 0*11 + 0*12 + 1*13
 *   = 16 + 4 + 10 + 50 + 13 = 93;  93 = 4*23 + 1  -> index 1 = B
 * L201361425042:
 *   2*2 + 0*3 + 1*4 + 3*5 + 6*6 + 1*7 + 4*8 + 2*9 + 5*10 + 0*11 + 4*12 + 2*13
 *   = 4 + 4 + 15 + 36 + 7 + 32 + 18 + 50 + 48 + 26 = 240;  240 = 10*23 + 10 -> L
 * D926200119007:
 *   9*2 + 2*3 + 6*4 + 2*5 + 0*6 + 0*7 + 1*8 + 1*9 + 9*10 + 0*11 + 0*12 + 7*13
 *   = 18 + 6 + 24 + 10 + 8 + 9 + 90 + 91 = 256;  256 = 11*23 + 3 -> D
 * H938212325987:
 *   9*2 + 3*3 + 8*4 + 2*5 + 1*6 + 2*7 + 3*8 + 2*9 + 5*10 + 9*11 + 8*12 + 7*13
 *   = 18 + 9 + 32 + 10 + 6 + 14 + 24 + 18 + 50 + 99 + 96 + 91 = 467;
 *   467 = 20*23 + 7 -> H
 * W330400224150:
 *   3*2 + 3*3 + 0*4 + 4*5 + 0*6 + 0*7 + 2*8 + 2*9 + 4*10 + 1*11 + 5*12 + 0*13
 *   = 6 + 9 + 20 + 16 + 18 + 40 + 11 + 60 = 180;  180 = 7*23 + 19 -> W
 * A000000000000: sum 0 -> A */
static const char *const permanent[] = {
  "B801200005001", "L201361425042", "D926200119007",
  "H938212325987", "W330400224150", "A000000000000",
};

/* Temporary UPNs: the final letter counts as its alphabet index.
 *
 * Characters 2..12 of 80120000500? sum to 16 + 4 + 10 + 50 = 80.
 * N80120000500T: T = 16, 80 + 16*13 = 288;  288 = 12*23 + 12 -> N
 * Y80120000500Z: Z = 22, 80 + 22*13 = 366;  366 = 15*23 + 21 -> Y
 * M80120000500A: A = 0,  80 + 0*13  = 80;   80  = 3*23 + 11  -> M
 * D80120000500L: L = 10, 80 + 10*13 = 210;  210 = 9*23 + 3   -> D
 * C93821232598W: as H938212325987 with 7*13 = 91 replaced by W = 19, 19*13 = 247:
 *   467 - 91 + 247 = 623;  623 = 27*23 + 2 -> C */
static const char *const temporary[] = {
  "N80120000500T", "Y80120000500Z", "M80120000500A", "D80120000500L",
  "C93821232598W",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int alpha_value(char c)
{
  const char *p = c ? strchr(CRDT_UPN_ALPHABET, c) : NULL;

  return p ? (int)(p - CRDT_UPN_ALPHABET) : -1;
}

/* The value a final character carries, or -1 if it may not end a UPN. */
static int last_value(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : alpha_value(c);
}

static int check_str(const char *s)
{
  return crdt_upn_check(s, strlen(s));
}

Test(crdt_upn, worked_example_is_valid)
{
  cr_assert_eq(crdt_upn_check("B801200005001", CRDT_UPN_LEN), BT_OK);
  cr_assert_eq(crdt_upn_check_letter("B801200005001", CRDT_UPN_LEN), 'B');
  cr_assert_eq(crdt_upn_is_temporary("B801200005001", CRDT_UPN_LEN), 0);
}

Test(crdt_upn, hand_computed_permanent_upns_are_valid)
{
  for (size_t i = 0; i < N(permanent); i++) {
    cr_assert_eq(check_str(permanent[i]), BT_OK, "%s", permanent[i]);
    cr_assert_eq(crdt_upn_check_letter(permanent[i], CRDT_UPN_LEN),
                 permanent[i][0], "%s", permanent[i]);
    cr_assert_eq(crdt_upn_is_temporary(permanent[i], CRDT_UPN_LEN), 0, "%s",
                 permanent[i]);
  }
}

Test(crdt_upn, hand_computed_temporary_upns_are_valid)
{
  for (size_t i = 0; i < N(temporary); i++) {
    cr_assert_eq(check_str(temporary[i]), BT_OK, "%s", temporary[i]);
    cr_assert_eq(crdt_upn_check_letter(temporary[i], CRDT_UPN_LEN),
                 temporary[i][0], "%s", temporary[i]);
    cr_assert_eq(crdt_upn_is_temporary(temporary[i], CRDT_UPN_LEN), 1, "%s",
                 temporary[i]);
  }
}

Test(crdt_upn, invalid_temporary_upns_are_rejected)
{
  static const char *const bad[] = {
    "X80120000500A", /* sum 80 -> M, not X */
    "N80120000500U", /* U = 17: 80 + 221 = 301 = 13*23 + 2 -> C, not N */
    "B80120000500I", /* I, O and S are not in the alphabet */
    "B80120000500O",
    "B80120000500S",
    "N80120000500t", /* lower case final letter */
    "N8012000050T0", /* a letter anywhere but last */
  };

  for (size_t i = 0; i < N(bad); i++) {
    cr_assert_eq(check_str(bad[i]), BT_EUPN, "%s", bad[i]);
    cr_assert_eq(crdt_upn_is_temporary(bad[i], CRDT_UPN_LEN), 0, "%s", bad[i]);
  }
}

/* Every byte value in every position of every example: a single change must be
 * caught. The one exception is the scheme's own: in position 13, digit d and
 * the alphabet letter of index d carry the same value, so B801200005001 and
 * B80120000500B are both valid (one permanent, one temporary). */
Test(crdt_upn, single_character_changes_are_rejected)
{
  const char *const *sets[] = {permanent, temporary};
  size_t sizes[] = {N(permanent), N(temporary)};
  char buf[CRDT_UPN_LEN + 1];

  for (size_t k = 0; k < 2; k++) {
    for (size_t i = 0; i < sizes[k]; i++) {
      const char *upn = sets[k][i];

      for (size_t pos = 0; pos < CRDT_UPN_LEN; pos++) {
        for (int c = 0; c < 256; c++) {
          int same_value, rc;

          if ((char)c == upn[pos])
            continue;
          memcpy(buf, upn, sizeof buf);
          buf[pos] = (char)c;
          rc = crdt_upn_check(buf, CRDT_UPN_LEN);
          same_value = pos == CRDT_UPN_LEN - 1 && last_value((char)c) >= 0 &&
                       last_value((char)c) == last_value(upn[pos]);
          cr_assert_eq(rc, same_value ? BT_OK : BT_EUPN,
                       "%s: position %zu set to 0x%02x", upn, pos + 1, c);
        }
      }
    }
  }
}

Test(crdt_upn, final_digit_and_equal_valued_letter_share_a_check_letter)
{
  cr_assert_eq(check_str("B80120000500B"), BT_OK); /* B = 1, like the digit 1 */
  cr_assert_eq(crdt_upn_is_temporary("B80120000500B", CRDT_UPN_LEN), 1);
  cr_assert_eq(check_str("B80120000500C"), BT_EUPN);
}

Test(crdt_upn, lowercase_is_rejected)
{
  cr_assert_eq(check_str("b801200005001"), BT_EUPN);
  cr_assert_eq(check_str("l201361425042"), BT_EUPN);
  cr_assert_eq(check_str("n80120000500t"), BT_EUPN);
  cr_assert_eq(crdt_upn_check_letter("?80120000500t", CRDT_UPN_LEN), 0);
}

Test(crdt_upn, wrong_length_is_rejected)
{
  /* Only len counts: a valid UPN followed by more text, or cut short. */
  for (size_t len = 0; len <= 20; len++) {
    if (len == CRDT_UPN_LEN)
      continue;
    cr_assert_eq(crdt_upn_check("B801200005001000000", len), BT_EUPN,
                 "len %zu", len);
    cr_assert_eq(crdt_upn_check_letter("B801200005001000000", len), 0,
                 "len %zu", len);
    cr_assert_eq(crdt_upn_is_temporary("N80120000500T000000", len), 0,
                 "len %zu", len);
  }
  cr_assert_eq(check_str("B80120000500"), BT_EUPN);
  cr_assert_eq(check_str("B8012000050010"), BT_EUPN);
  cr_assert_eq(check_str(" B801200005001"), BT_EUPN);
  cr_assert_eq(check_str(""), BT_EUPN);
  cr_assert_eq(crdt_upn_check(NULL, 0), BT_EUPN);
  /* Not NUL-terminated: exactly 13 bytes are read. */
  cr_assert_eq(crdt_upn_check("B801200005001xyz", CRDT_UPN_LEN), BT_OK);
}

Test(crdt_upn, i_o_s_never_valid_as_check_letter)
{
  static const char bad[] = {'I', 'O', 'S'};
  char buf[CRDT_UPN_LEN + 1];

  for (size_t i = 0; i < N(permanent); i++) {
    for (size_t j = 0; j < N(bad); j++) {
      memcpy(buf, permanent[i], sizeof buf);
      buf[0] = bad[j];
      cr_assert_eq(crdt_upn_check(buf, CRDT_UPN_LEN), BT_EUPN, "%s", buf);
    }
  }
  /* And no remainder maps to one of them. With only a final letter of value
   * v, the sum is 13v; 13 is invertible mod 23, so v = 0..22 reaches all 23
   * remainders, and each must give a different alphabet letter. */
  for (int v = 0; v < 23; v++) {
    char c;

    memcpy(buf, "?00000000000A", sizeof buf);
    buf[12] = CRDT_UPN_ALPHABET[v];
    c = crdt_upn_check_letter(buf, CRDT_UPN_LEN);
    cr_assert(c != 0 && strchr(CRDT_UPN_ALPHABET, c) != NULL, "%s", buf);
    cr_assert(c != 'I' && c != 'O' && c != 'S', "%s -> %c", buf, c);
    cr_assert_eq(CRDT_UPN_ALPHABET[13 * v % 23], c, "%s", buf);
  }
}

Test(crdt_upn, check_letter_ignores_first_character)
{
  cr_assert_eq(crdt_upn_check_letter("?801200005001", CRDT_UPN_LEN), 'B');
  cr_assert_eq(crdt_upn_check_letter("Z801200005001", CRDT_UPN_LEN), 'B');
  cr_assert_eq(crdt_upn_check_letter("\0" "801200005001", CRDT_UPN_LEN), 'B');
}

Test(crdt_upn, check_letter_rejects_bad_body)
{
  cr_assert_eq(crdt_upn_check_letter("B8012000050A1", CRDT_UPN_LEN), 0);
  cr_assert_eq(crdt_upn_check_letter("B80120000500I", CRDT_UPN_LEN), 0);
  cr_assert_eq(crdt_upn_check_letter("B80120000500 ", CRDT_UPN_LEN), 0);
  cr_assert_eq(crdt_upn_check_letter("B80120000500\0", CRDT_UPN_LEN), 0);
  cr_assert_eq(crdt_upn_check_letter("B 01200005001", CRDT_UPN_LEN), 0);
  /* The bytes either side of '0'..'9' are not digits. */
  cr_assert_eq(crdt_upn_check_letter("?00000000000:", CRDT_UPN_LEN), 0);
  cr_assert_eq(crdt_upn_check_letter("?/00000000000", CRDT_UPN_LEN), 0);
}

/* xorshift64, seeded per iteration; the seed goes in the assert message. */
static uint64_t xs(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

Test(crdt_upn, exactly_one_first_letter_fits_each_body)
{
  for (uint64_t seed = 1; seed <= 500; seed++) {
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15);
    char buf[CRDT_UPN_LEN + 1];
    int valid = 0, temp = (int)(xs(&s) % 2);
    char want;

    for (size_t i = 1; i < CRDT_UPN_LEN; i++)
      buf[i] = (char)('0' + xs(&s) % 10);
    if (temp)
      buf[12] = CRDT_UPN_ALPHABET[xs(&s) % 23];
    buf[CRDT_UPN_LEN] = '\0';
    want = crdt_upn_check_letter(buf, CRDT_UPN_LEN);
    cr_assert(want != 0, "seed %" PRIu64, seed);
    for (int c = 0; c < 256; c++) {
      buf[0] = (char)c;
      if (crdt_upn_check(buf, CRDT_UPN_LEN) == BT_OK) {
        valid++;
        cr_assert_eq((char)c, want, "seed %" PRIu64, seed);
        cr_assert_eq(crdt_upn_is_temporary(buf, CRDT_UPN_LEN), temp,
                     "seed %" PRIu64, seed);
      }
    }
    cr_assert_eq(valid, 1, "seed %" PRIu64, seed);
  }
}
