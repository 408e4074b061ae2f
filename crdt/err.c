/* crdt/err.c: messages for the error table in err.h. */
#include "err.h"

#include <string.h>

const char *bt_strerror(int err)
{
  switch (err) {
  case BT_OK:
    return "success";
#define X(name, code, msg) \
  case BT_E##name:         \
    return msg;
    BT_ERR_MAP(X)
#undef X
  default:
    return err < 0 ? strerror(-err) : "unknown error";
  }
}

const char *bt_errname(int err)
{
  switch (err) {
  case BT_OK:
    return "BT_OK";
#define X(name, code, msg) \
  case BT_E##name:         \
    return "BT_E" #name;
    BT_ERR_MAP(X)
#undef X
  default:
    return "errno";
  }
}
