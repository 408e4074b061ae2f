/* bench/body.c: see body.h. */
#define _POSIX_C_SOURCE 200809L
#include "body.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_TRIES 1000

int bench_args(int argc, char **argv, size_t max_n, size_t *n, unsigned *rounds)
{
  char *end;

  if (argc > 1) {
    unsigned long long v = strtoull(argv[1], &end, 10);
    if (*end != '\0' || v == 0 || v > max_n)
      return 1;
    *n = (size_t)v;
  }
  if (argc > 2) {
    unsigned long v = strtoul(argv[2], &end, 10);
    if (*end != '\0' || v == 0 || v > 100)
      return 1;
    *rounds = (unsigned)v;
  }
  return argc > 3;
}

double bench_now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Exactly len bytes of word text (whole UTF-8 characters), in a. */
static bt_str text_of(gen_rng *r, gen_arena *a, size_t len)
{
  char *p = gen_alloc(a, len);
  size_t n = 0;

  while (n < len) {
    if (n > 0 && len - n >= 2)
      p[n++] = ' ';
    bt_str w = gen_str(r, a, len - n); /* 1..len-n bytes */
    memcpy(p + n, w.p, w.len);
    n += w.len;
  }
  return (bt_str){p, len};
}

/* The free-text field that carries most of an entry. */
static bt_str *main_text(crdt_body *b)
{
  switch (b->type) {
  case CRDT_OP_CONCERN:
    return &b->u.concern.facts;
  case CRDT_OP_CHRONO:
    return &b->u.chrono.summary;
  case CRDT_OP_REVIEW:
    return &b->u.review.action;
  default:
    return &b->u.action.what;
  }
}

/* A random body of type whose encoding is exactly target bytes, built in a:
 * the generator fills the record, then the main text is resized to fit. A
 * record whose other fields alone exceed target is drawn again. */
int bench_sized_body(gen_rng *r, gen_arena *a, uint32_t type, crdt_hlc_ts hlc,
                     size_t target, crdt_body *b, msgpack_sbuffer *sb)
{
  for (int t = 0; t < BODY_TRIES; t++) {
    gen_body(r, a, type, hlc, b, NULL, 0);
    bt_str *text = main_text(b);
    for (int k = 0; k < 4; k++) {
      int64_t want;
      sb->size = 0;
      if (crdt_body_encode(b, sb) != 0)
        return -1;
      if (sb->size == target)
        return 0;
      want = (int64_t)text->len + (int64_t)target - (int64_t)sb->size;
      if (want < 1 || want > CRDT_TEXT_MAX)
        break; /* the other fields are too long: draw again */
      *text = text_of(r, a, (size_t)want);
    }
  }
  return -1;
}

/* Moves the body's strings from the scratch arena into one block of their
 * own, returned (NULL on failure). The four types used have no lists, so the
 * strings are the schema's STR/TEXT fields. Not a gen_arena: gen_alloc
 * starts a fresh 4 KiB chunk for every request once its first chunk is full. */
uint32_t bench_pick_type(gen_rng *r)
{
  uint64_t x = gen_below(r, 100);

  if (x < 45)
    return CRDT_OP_CONCERN;
  if (x < 85)
    return CRDT_OP_CHRONO;
  return x < 93 ? CRDT_OP_REVIEW : CRDT_OP_ACTION;
}

