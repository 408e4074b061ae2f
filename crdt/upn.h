/* crdt/upn.h: Unique Pupil Number (UPN) checks.
 *
 * A UPN is 13 characters: a check letter, a 3-digit LA number, a 4-digit
 * establishment number, a 2-digit year and a 3-digit serial. A temporary UPN
 * has a letter instead of the final digit. The check letter is the sum of
 * characters 2..13, each times its position (2..13), taken mod 23, as an index
 * into CRDT_UPN_ALPHABET (no I, O or S). A final letter counts as its 0-based
 * index in that same alphabet (A = 0 .. Z = 22).
 *
 * Only the form and the check letter are verified; whether the LA and
 * establishment exist is not. Upper case only: callers that want to accept
 * "b801200005001" must fold case themselves, deliberately.
 *
 * A UPN is personal data: never log one, nor put one in an error message.
 * All functions are pure and may be called from any thread. s need not be
 * NUL-terminated; exactly len bytes are read (none if len != CRDT_UPN_LEN). */
#ifndef BT_CRDT_UPN_H
#define BT_CRDT_UPN_H

#include <stddef.h>

#define CRDT_UPN_LEN 13
#define CRDT_UPN_ALPHABET "ABCDEFGHJKLMNPQRTUVWXYZ"

/* BT_OK if s is a well-formed UPN (permanent or temporary) whose check letter
 * matches, else BT_EUPN. */
int crdt_upn_check(const char *s, size_t len);

/* The check letter computed from characters 2..13 of a 13-character UPN
 * (character 1 is ignored), or 0 if len is not 13 or characters 2..13 are not
 * eleven digits followed by a digit or an alphabet letter. */
char crdt_upn_check_letter(const char *s, size_t len);

/* 1 if s is a valid UPN (crdt_upn_check passes) whose last character is a
 * letter, else 0. */
int crdt_upn_is_temporary(const char *s, size_t len);

#endif
