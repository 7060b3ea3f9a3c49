/* Argument readers and error construction for the addon. Every JS value is checked here
 * (type, range, NUL bytes, length) before it reaches a syscall; errors are built to look like
 * Node's own fs errors. No syscalls other than the /proc path formatting live here. */
#include "ocibundle.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

napi_value js_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value js_int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

napi_value js_bool(napi_env env, int v) {
  napi_value r;
  napi_get_boolean(env, v != 0, &r);
  return r;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value s;
  if (napi_create_string_utf8(env, val, NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_named_property(env, obj, key, s);
}

static napi_value throw_full(napi_env env, int err, const char *syscall, const char *path, const char *dest,
                             const char *xattr) {
  const char *code = strerrorname_np(err);
  const char *desc = strerrordesc_np(err);
  char codebuf[32];
  if (code == NULL) {
    snprintf(codebuf, sizeof codebuf, "E%d", err);
    code = codebuf;
  }
  if (desc == NULL) desc = "unknown error";
  /* Node's messages are lowercase ("no such file or directory"); glibc capitalises. */
  char descbuf[128];
  snprintf(descbuf, sizeof descbuf, "%s", desc);
  descbuf[0] = (char)tolower((unsigned char)descbuf[0]);

  char msg[PATH_MAX * 2 + 256];
  if (path != NULL && dest != NULL)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s' -> '%s'", code, descbuf, syscall, path, dest);
  else if (path != NULL)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, descbuf, syscall, path);
  else
    snprintf(msg, sizeof msg, "%s: %s, %s", code, descbuf, syscall);
  if (xattr != NULL) {
    size_t used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, " (xattr '%s')", xattr);
  }

  napi_value jcode, jmsg, e, jerrno;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_error(env, jcode, jmsg, &e);
  napi_create_int32(env, -err, &jerrno);
  napi_set_named_property(env, e, "errno", jerrno);
  set_str(env, e, "syscall", syscall);
  if (path != NULL) set_str(env, e, "path", path);
  if (dest != NULL) set_str(env, e, "dest", dest);
  if (xattr != NULL) set_str(env, e, "xattr", xattr);
  napi_throw(env, e);
  return NULL;
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path, const char *dest) {
  return throw_full(env, err, syscall, path, dest, NULL);
}

napi_value throw_xattr(napi_env env, int err, const char *syscall, const char *path, const char *xattr) {
  return throw_full(env, err, syscall, path, NULL, xattr);
}

int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < n) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", n, argc);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

static int bad(napi_env env, const char *what, const char *expect) {
  char msg[160];
  snprintf(msg, sizeof msg, "the \"%s\" argument must be %s", what, expect);
  throw_type(env, msg);
  return -1;
}

static int get_number(napi_env env, napi_value v, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return -1;
  if (napi_get_value_double(env, v, out) != napi_ok) return -1;
  if (!isfinite(*out) || floor(*out) != *out) return -1;
  return 0;
}

int arg_int(napi_env env, napi_value v, const char *what, int32_t *out) {
  double d;
  if (get_number(env, v, &d) != 0 || d < INT32_MIN || d > INT32_MAX) return bad(env, what, "a 32-bit integer");
  *out = (int32_t)d;
  return 0;
}

int arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  double d;
  if (get_number(env, v, &d) != 0 || d < 0 || d > 4294967295.0) return bad(env, what, "an integer in [0, 2^32-1]");
  *out = (uint32_t)d;
  return 0;
}

int arg_id(napi_env env, napi_value v, const char *what, int64_t *out) {
  double d;
  if (get_number(env, v, &d) != 0 || d < -1 || d > 4294967295.0) return bad(env, what, "an integer in [-1, 2^32-1]");
  *out = (int64_t)d;
  return 0;
}

int arg_i64(napi_env env, napi_value v, const char *what, int64_t *out) {
  double d;
  /* 2^53: beyond it a JS number is not an exact integer. */
  if (get_number(env, v, &d) != 0 || d < -9007199254740992.0 || d > 9007199254740992.0)
    return bad(env, what, "a safe integer");
  *out = (int64_t)d;
  return 0;
}

int arg_bool(napi_env env, napi_value v, const char *what, int *out) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return bad(env, what, "a boolean");
  *out = b ? 1 : 0;
  return 0;
}

void *arg_external(napi_env env, napi_value v, const char *msg) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    throw_type(env, msg);
    return NULL;
  }
  return p;
}

int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

int arg_path(napi_env env, napi_value v, const char *what, path_arg *out) {
  bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  if (isbuf) {
    void *data;
    size_t len;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return bad(env, what, "a string or Buffer");
    if (len >= PATH_MAX) {
      throw_errno(env, ENAMETOOLONG, "path", NULL, NULL);
      return -1;
    }
    memcpy(out->buf, data, len);
    out->buf[len] = '\0';
    out->len = len;
  } else {
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return bad(env, what, "a string or Buffer");
    size_t len;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return bad(env, what, "a string");
    if (len >= PATH_MAX) {
      throw_errno(env, ENAMETOOLONG, "path", NULL, NULL);
      return -1;
    }
    napi_get_value_string_utf8(env, v, out->buf, sizeof out->buf, &out->len);
  }
  if (strlen(out->buf) != out->len) return bad(env, what, "a string without NUL bytes");
  return 0;
}

int arg_name(napi_env env, napi_value v, const char *what, path_arg *out) {
  if (arg_path(env, v, what, out) != 0) return -1;
  if (out->len == 0 || strchr(out->buf, '/') != NULL || strcmp(out->buf, ".") == 0 || strcmp(out->buf, "..") == 0)
    return bad(env, what, "a single path component");
  return 0;
}

int arg_bytes(napi_env env, napi_value v, const char *what, bytes_arg *out) {
  bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  if (!isbuf) return bad(env, what, "a Buffer");
  void *data;
  if (napi_get_buffer_info(env, v, &data, &out->len) != napi_ok) return bad(env, what, "a Buffer");
  out->data = data;
  return 0;
}

int arg_timespec(napi_env env, napi_value sec, napi_value nsec, const char *what, struct timespec *out) {
  int64_t s;
  int32_t ns;
  if (arg_i64(env, sec, what, &s) != 0) return -1;
  if (arg_int(env, nsec, what, &ns) != 0) return -1;
  if ((ns < 0 || ns > 999999999) && ns != UTIME_NOW && ns != UTIME_OMIT)
    return bad(env, what, "a nanosecond count in [0, 999999999]");
  out->tv_sec = (time_t)s;
  out->tv_nsec = ns;
  return 0;
}

int proc_path(char *out, size_t cap, int dirfd, const char *name) {
  int n = name[0] == '\0' ? snprintf(out, cap, "/proc/self/fd/%d", dirfd)
                          : snprintf(out, cap, "/proc/self/fd/%d/%s", dirfd, name);
  return (n < 0 || (size_t)n >= cap) ? ENAMETOOLONG : 0;
}
