/* node/secret.c: see secret.h. libsodium does every cryptographic step;
 * this file only decides sizes, labels and file checks. */
#define _POSIX_C_SOURCE 200809L
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crdt/err.h"

#define SECRET_MAX 64

struct node_secret {
  size_t len;
  uint8_t b[SECRET_MAX];
};

static int secret_alloc(node_secret **out, size_t len)
{
  node_secret *s;

  if (len == 0 || len > SECRET_MAX)
    return BT_EINVAL;
  if ((s = sodium_malloc(sizeof(*s))) == NULL)
    return BT_ENOMEM;
  s->len = len;
  *out = s;
  return BT_OK;
}

int node_secret_random(node_secret **out, size_t len)
{
  int rc = secret_alloc(out, len);

  if (rc == 0)
    randombytes_buf((*out)->b, len);
  return rc;
}

int node_secret_copy(node_secret **out, const uint8_t *p, size_t len)
{
  int rc = secret_alloc(out, len);

  if (rc == 0)
    memcpy((*out)->b, p, len);
  return rc;
}

const uint8_t *node_secret_bytes(const node_secret *s)
{
  return s->b;
}

size_t node_secret_len(const node_secret *s)
{
  return s->len;
}

void node_secret_free(node_secret *s)
{
  sodium_free(s); /* wipes before freeing; NULL is a no-op */
}

void node_kdf_init(node_kdf *k, node_kdf_level level)
{
  randombytes_buf(k->salt, sizeof(k->salt));
  switch (level) {
  case NODE_KDF_MIN:
    k->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    k->memlimit = crypto_pwhash_MEMLIMIT_MIN;
    break;
  case NODE_KDF_INTERACTIVE:
    k->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    k->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    break;
  default:
    k->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    k->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    break;
  }
}

int node_kdf_derive(const node_kdf *k, const char *pass, size_t len, node_secret **out)
{
  node_secret *s;
  int rc;

  if (len == 0 || k->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      k->opslimit > crypto_pwhash_OPSLIMIT_MAX || k->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      k->memlimit > (uint64_t)4 << 30)
    return BT_EINVAL; /* stored limits are read from disk: bound them */
  if ((rc = secret_alloc(&s, 32)) != 0)
    return rc;
  if (crypto_pwhash(s->b, 32, pass, len, k->salt, k->opslimit, (size_t)k->memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    node_secret_free(s);
    return BT_ENOMEM;
  }
  *out = s;
  return BT_OK;
}

static int parse_key(const uint8_t *buf, size_t n, node_secret **out)
{
  uint8_t key[32];
  size_t bin_len;
  int rc = BT_EKEYFILE;

  if (n == 32)
    return node_secret_copy(out, buf, 32);
  if (n == 65 && buf[64] == '\n')
    n = 64;
  if (n == 64 && sodium_hex2bin(key, sizeof(key), (const char *)buf, 64, NULL, &bin_len,
                                NULL) == 0 && bin_len == 32)
    rc = node_secret_copy(out, key, 32);
  sodium_memzero(key, sizeof(key));
  return rc;
}

int node_keyfile_read(const char *path, node_secret **out)
{
  uint8_t buf[66];
  struct stat st;
  ssize_t n;
  int fd, rc;

  if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    return -errno;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  rc = BT_EKEYFILE;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
    goto out;
  if ((n = read(fd, buf, sizeof(buf))) < 0) {
    rc = -errno;
    goto out;
  }
  rc = parse_key(buf, (size_t)n, out);
out:
  sodium_memzero(buf, sizeof(buf));
  close(fd);
  return rc;
}

int node_keyfile_create(const char *path)
{
  uint8_t key[32];
  int fd, rc = BT_OK;

  if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
    return -errno;
  randombytes_buf(key, sizeof(key));
  ssize_t w = write(fd, key, sizeof(key));
  if (w != (ssize_t)sizeof(key))
    rc = w < 0 ? -errno : -EIO;
  else if (fsync(fd) != 0)
    rc = -errno;
  sodium_memzero(key, sizeof(key));
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc != 0)
    unlink(path);
  return rc;
}

void node_wrap(const node_secret *kek, const void *label, size_t label_len,
               const uint8_t *key, size_t key_len, uint8_t *out)
{
  uint8_t *nonce = out;

  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL, key, key_len, label, label_len,
                                             NULL, nonce, kek->b);
}

int node_unwrap(const node_secret *kek, const void *label, size_t label_len,
                const uint8_t *in, size_t in_len, node_secret **out)
{
  node_secret *s;
  int rc;

  if (in_len <= NODE_WRAP_OVERHEAD || in_len - NODE_WRAP_OVERHEAD > SECRET_MAX)
    return BT_EINVAL;
  if ((rc = secret_alloc(&s, in_len - NODE_WRAP_OVERHEAD)) != 0)
    return rc;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(s->b, NULL, NULL, in + 24, in_len - 24,
                                                 label, label_len, in, kek->b) != 0) {
    node_secret_free(s);
    return BT_EPASS;
  }
  *out = s;
  return BT_OK;
}
