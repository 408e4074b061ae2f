/* node/pkgfile.c: package files on disk, and finding the org a user means.
 *
 * Files are read only after their size is known to be within the limit,
 * and written as a temporary file in the same directory (mode 0600,
 * fsync'd) renamed over nothing: a reader never sees half a package and an
 * existing file is never replaced. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crdt/cert.h"
#include "crdt/err.h"
#include "node/dir.h"
#include "node/org.h"
#include "node/pkg_int.h"
#include "node/share.h"
#include "store_int.h"

int node_package_read(const char *path, uint8_t **out, size_t *len)
{
  struct stat st;
  uint8_t *p = NULL;
  size_t got = 0;
  int fd, rc = BT_OK;

  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -errno;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = -EINVAL;
    goto out;
  }
  if ((uint64_t)st.st_size > NODE_PKG_MAX) {
    rc = BT_ETOOBIG;
    goto out;
  }
  if ((p = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL) {
    rc = BT_ENOMEM;
    goto out;
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = n < 0 ? -errno : BT_ETRUNC; /* shrank while we read */
      goto out;
    }
    got += (size_t)n;
  }
  *out = p;
  *len = got;
  p = NULL;
out:
  free(p);
  close(fd);
  return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    p += n;
    len -= (size_t)n;
  }
  return fsync(fd) == 0 ? BT_OK : -errno;
}

int node_package_write(const char *path, const uint8_t *p, size_t len)
{
  char tmp[4096];
  int fd, rc;

  if (access(path, F_OK) == 0)
    return BT_EDUP;
  if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
    return BT_ETOOBIG;
  if ((fd = mkstemp(tmp)) < 0) /* mode 0600 */
    return -errno;
  rc = fchmod(fd, 0600) == 0 ? write_all(fd, p, len) : -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  /* link() fails if path appeared meanwhile: never replaces a file. */
  if (rc == 0 && link(tmp, path) != 0)
    rc = errno == EEXIST ? BT_EDUP : -errno;
  unlink(tmp);
  return rc;
}

/* ---- which org ---- */

typedef struct {
  const char *q;
  crdt_id found;
  int n;          /* distinct orgs matched */
  int in_file;
} finder;

/* Upper-case alphanumerics only: "7qkm-ab" and "7QKMAB" compare equal. */
static void squash(const char *in, char *out, size_t len)
{
  size_t o = 0;

  for (; *in && o + 1 < len; in++)
    if (isalnum((unsigned char)*in))
      out[o++] = (char)toupper((unsigned char)*in);
  out[o] = 0;
}

static int matches(const char *q, bt_str name, const crdt_id *pk)
{
  char f[CRDT_FPR_LEN], fq[CRDT_FPR_LEN + 64], fs[CRDT_FPR_LEN], hex[2 * CRDT_PK_LEN + 1];
  size_t ql = strlen(q), i;

  if (bt_str_eq(name, bt_strz(q)))
    return 1;
  crdt_fingerprint(pk->b, CRDT_PK_LEN, f);
  squash(q, fq, sizeof(fq));
  squash(f, fs, sizeof(fs));
  if (strlen(fq) >= 4 && strncmp(fs, fq, strlen(fq)) == 0)
    return 1;
  sodium_bin2hex(hex, sizeof(hex), pk->b, CRDT_PK_LEN);
  for (i = 0; i < ql && isxdigit((unsigned char)q[i]); i++)
    ;
  return ql >= 8 && i == ql && ql <= 64 && strncasecmp(hex, q, ql) == 0;
}

static void consider(finder *f, const char *name, size_t nlen, const crdt_id *pk, int in_file)
{
  if (!matches(f->q, (bt_str){name, nlen}, pk))
    return;
  if (f->n > 0 && crdt_id_cmp(&f->found, pk) == 0) {
    f->in_file |= in_file;
    return;
  }
  f->found = *pk;
  f->in_file = in_file;
  f->n++;
}

static int from_file(node_store *s, const uint8_t *file, finder *f)
{
  const crdt_access *a;
  uint64_t now = node__now_ms(s);
  int rc;

  if ((rc = node_access(s, file, &a)) != 0)
    return rc;
  for (size_t i = 0; i < a->nmembers; i++)
    if (a->has_genesis && crdt_id_cmp(&a->members[i].org, &a->holder) == 0) {
      consider(f, a->members[i].org_name, strlen(a->members[i].org_name), &a->holder, 1);
      break;
    }
  for (size_t i = 0; i < a->ngrants; i++) {
    const crdt_grant *g = a->grants[i].g;
    consider(f, g->org_name.p, g->org_name.len, &g->org, crdt_acc_grant_live(&a->grants[i], now));
  }
  return BT_OK;
}

static int from_directories(node_store *s, finder *f)
{
  crdt_id roots[16];
  size_t n = 0;
  int rc;

  if ((rc = node_anchors(s, roots, 16, &n)) != 0)
    return rc;
  for (size_t i = 0; i < n && i < 16; i++) {
    crdt_directory *d = NULL;
    if (node_dir_get(s, &roots[i], node__now_ms(s), &d) != BT_OK)
      continue; /* not carried here: nothing to find in it */
    for (size_t e = 0; e < d->nentries; e++)
      consider(f, d->entries[e].cert->b.name.p, d->entries[e].cert->b.name.len,
               &d->entries[e].cert->b.subject, 0);
    crdt_directory_free(d);
  }
  return BT_OK;
}

int node_package_find_org(node_store *s, const uint8_t file[CRDT_FILE_LEN], const char *query,
                          crdt_id *org, int *in_file)
{
  finder f = {.q = query};
  int rc;

  if ((rc = from_file(s, file, &f)) != 0)
    return rc;
  if (f.n == 0 && (rc = from_directories(s, &f)) != 0)
    return rc;
  if (f.n == 0)
    return BT_ENOTFOUND;
  if (f.n > 1)
    return BT_EDUP;
  *org = f.found;
  *in_file = f.in_file;
  return BT_OK;
}
