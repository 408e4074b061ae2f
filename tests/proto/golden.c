/* tests/proto/golden.c: the golden vector files of golden.h.
 *
 * CMake compiles with absolute paths, so the vectors are found next to
 * this file through __FILE__, wherever the build directory is. */
#include "proto/golden.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gv_put(gv_text *t, const char *fmt, ...)
{
  va_list ap;
  int n;

  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0);
    if ((size_t)n < t->cap - t->len)
      break;
    t->cap = 2 * (t->cap + (size_t)n);
    t->p = realloc(t->p, t->cap);
    cr_assert_not_null(t->p);
  }
  t->len += (size_t)n;
}

void gv_header(gv_text *t, const char *file, const char *what, const char *test)
{
  gv_put(t, "# tests/proto/vectors/%s: golden vectors for %s (docs/protocol.md).\n", file, what);
  gv_put(t, "# If one changes, the protocol changed. Written by tests/proto/test_%s.c;\n", test);
  gv_put(t, "# regenerate only deliberately: BT_PROTO_WRITE_VECTORS=1 build/tests/test_proto_%s\n",
         test);
  gv_put(t, "# Values are lowercase hex unless noted.\n\n");
}

void gv_check(const gv_text *t, const char *name)
{
  char path[4096];
  const char *w = getenv("BT_PROTO_WRITE_VECTORS");
  const char *slash = strrchr(__FILE__, '/');
  FILE *f;

  cr_assert_not_null(slash, "__FILE__ has no directory: %s", __FILE__);
  snprintf(path, sizeof path, "%.*s/vectors/%s", (int)(slash - __FILE__), __FILE__, name);
  if (w && *w && strcmp(w, "0") != 0) {
    cr_assert_not_null(f = fopen(path, "wb"), "cannot write %s", path);
    cr_assert_eq(fwrite(t->p, 1, t->len, f), t->len);
    cr_assert_eq(fclose(f), 0);
    cr_log_warn("wrote %s", path);
    return;
  }
  cr_assert_not_null(f = fopen(path, "rb"), "cannot read %s", path);
  char *have = malloc(t->len + 2);
  size_t n = fread(have, 1, t->len + 1, f);

  fclose(f);
  if (n != t->len || memcmp(have, t->p, n) != 0) {
    size_t line = 1, i = 0;

    while (i < n && i < t->len && have[i] == t->p[i])
      line += have[i++] == '\n';
    cr_assert_fail("%s differs from what the code produces, first at line %zu", path, line);
  }
  free(have);
}
