/* crdt/err.h: Baton's error codes, shared by every layer.
 *
 * A function that can fail returns 0 (BT_OK) or a negative code. Negative errno
 * values (and libuv's, which are negative errno on Unix) pass through unchanged;
 * the codes below live above errno's range. One table generates the enum and the
 * messages, as libuv's UV_ERRNO_MAP does. Messages never carry personal data. */
#ifndef BT_ERR_H
#define BT_ERR_H

#define BT_ERR_MAP(X)                                                     \
  X(NOMEM,    -1001, "out of memory")                                     \
  X(PROTO,    -1002, "malformed message")                                 \
  X(AUTH,     -1003, "peer failed authentication")                        \
  X(NOTFOUND, -1004, "no such record")                                    \
  X(NONCANON, -1005, "encoding is not canonical")                         \
  X(TOOBIG,   -1006, "size limit exceeded")                               \
  X(SIG,      -1007, "bad signature")                                     \
  X(DECRYPT,  -1008, "decryption failed (wrong key, file or tampered)")   \
  X(FILE,     -1009, "op belongs to another file")                        \
  X(EPOCH,    -1010, "op is for another key epoch")                       \
  X(INVAL,    -1011, "invalid value")                                     \
  X(VERSION,  -1012, "unsupported version")                               \
  X(UPN,      -1013, "invalid UPN")                                       \
  X(DUP,      -1014, "already present")                                   \
  X(TRAILING, -1015, "trailing bytes after message")                      \
  X(TRUNC,    -1016, "message is truncated")                              \
  X(DEPTH,    -1017, "nesting too deep")                                  \
  X(TYPE,     -1018, "field has the wrong type")                          \
  X(MISSING,  -1019, "required field missing")                            \
  X(SEQ,      -1020, "bad sequence number")                               \
  X(PARENTS,  -1021, "bad parent list")                                   \
  X(DATE,     -1022, "invalid date")                                      \
  X(FULL,     -1023, "the store is full (raise its map size)")             \
  X(CORRUPT,  -1024, "not a Baton store, or damaged")                     \
  X(PASS,     -1025, "wrong passphrase or key file")                      \
  X(KEYFILE,  -1026, "key file must be 32 random bytes, mode 0600, yours") \
  X(NOFILE,   -1027, "this node does not hold that case file")            \
  X(READONLY, -1028, "the data directory is not writable")                \
  X(STORE,    -1029, "storage error")                                     \
  X(EXPIRED,  -1030, "certificate not valid at this time")                \
  X(REVOKED,  -1031, "certificate revoked")                               \
  X(ANCHOR,   -1032, "certificate chain does not end at a trusted LA")    \
  X(CHAIN,    -1033, "certificates do not chain (keys or kinds mismatch)") \
  X(SELFSIGNED, -1034, "self-signed certificate")                        \
  X(LOCKED,   -1035, "too many failed sign-ins: try again later")         \
  X(DENIED,   -1036, "your role does not allow this")                     \
  X(HOLIDAYS, -1037, "bank holidays not known for that year (import them)") \
  X(TERMS,    -1038, "no term dates cover that date (add the terms)")  \
  X(STATE,    -1039, "not possible in the record's present state")

typedef enum {
  BT_OK = 0,
#define X(name, code, msg) BT_E##name = code,
  BT_ERR_MAP(X)
#undef X
} bt_err;

/* A static message for any code this project returns, or strerror(-err) for a
 * negative errno. Never NULL. Thread-safe for Baton's own codes. */
const char *bt_strerror(int err);

/* The symbolic name ("BT_ESIG") of a Baton code, or "errno" for anything else:
 * for logs and for tests that print which reason they got. */
const char *bt_errname(int err);

#endif
