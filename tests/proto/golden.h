/* tests/proto/golden.h: golden vector files (STYLE.md §7).
 *
 * A test renders the bytes the protocol produces as text and compares it
 * byte for byte with its file under tests/proto/vectors/. With
 * BT_PROTO_WRITE_VECTORS set (and not "0") the file is written instead, so
 * a deliberate change shows up in review as a diff of the vectors.
 * Failures are Criterion assertions: for Criterion tests only (fixture.h
 * is the part the fuzz harnesses share). */
#ifndef BT_TESTS_PROTO_GOLDEN_H
#define BT_TESTS_PROTO_GOLDEN_H

#include <stddef.h>

/* A growing text; start from {NULL, 0, 0}, free(p) when done. */
typedef struct {
  char *p;
  size_t len, cap;
} gv_text;

/* Appends printf-style output to t. */
void gv_put(gv_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The opening lines of every vector file: what file holds (golden vectors
 * for what), that test_<test>.c writes it and how to regenerate it. */
void gv_header(gv_text *t, const char *file, const char *what, const char *test);

/* Compares t with tests/proto/vectors/<name>, or writes it in generator
 * mode. A difference fails with the first line that differs. */
void gv_check(const gv_text *t, const char *name);

#endif
