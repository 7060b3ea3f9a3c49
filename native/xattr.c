/* Extended-attribute wrappers. fd variants for open files; l* variants on a path; *at
 * variants address <name> in the directory open at dirfd through "/proc/self/fd/<dirfd>/<name>"
 * with the l* calls, so a final symlink is never followed (the name must be one component,
 * checked in arg_name). Values are bytes (Buffers), never strings. */
#include "ocibundle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static int set_fd(void *ctx, const char *name, const void *val, size_t len) {
  return fsetxattr(*(int *)ctx, name, val, len, 0) == 0 ? 0 : errno;
}

static int set_path(void *ctx, const char *name, const void *val, size_t len) {
  return lsetxattr((const char *)ctx, name, val, len, 0) == 0 ? 0 : errno;
}

int apply_xattrs(napi_env env, napi_value names, napi_value values, const char *syscall,
                 int (*set_one)(void *ctx, const char *name, const void *val, size_t len), void *ctx) {
  if (is_nullish(env, names)) return 0;
  bool ia = false, ib = false;
  napi_is_array(env, names, &ia);
  napi_is_array(env, values, &ib);
  if (!ia || !ib) {
    throw_type(env, "xattr names and values must be arrays");
    return -1;
  }
  uint32_t n, m;
  napi_get_array_length(env, names, &n);
  napi_get_array_length(env, values, &m);
  if (n != m) {
    throw_type(env, "xattr names and values differ in length");
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value jn, jv;
    napi_get_element(env, names, i, &jn);
    napi_get_element(env, values, i, &jv);
    path_arg name;
    bytes_arg val;
    if (arg_path(env, jn, "xattr name", &name) || arg_bytes(env, jv, "xattr value", &val)) return -1;
    int err = set_one(ctx, name.buf, val.data, val.len);
    if (err != 0) {
      throw_xattr(env, err, syscall, NULL, name.buf);
      return -1;
    }
  }
  return 0;
}

/* fsetxattr(fd, name, value, flags) */
napi_value n_fsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, flags;
  path_arg name;
  bytes_arg val;
  if (get_args(env, info, 4, argv) || arg_int(env, argv[0], "fd", &fd) || arg_path(env, argv[1], "name", &name) ||
      arg_bytes(env, argv[2], "value", &val) || arg_int(env, argv[3], "flags", &flags))
    return NULL;
  if (fsetxattr(fd, name.buf, val.data, val.len, flags) != 0) return throw_xattr(env, errno, "fsetxattr", NULL, name.buf);
  return js_undefined(env);
}

/* lsetxattr(path, name, value, flags) */
napi_value n_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t flags;
  path_arg p, name;
  bytes_arg val;
  if (get_args(env, info, 4, argv) || arg_path(env, argv[0], "path", &p) || arg_path(env, argv[1], "name", &name) ||
      arg_bytes(env, argv[2], "value", &val) || arg_int(env, argv[3], "flags", &flags))
    return NULL;
  if (lsetxattr(p.buf, name.buf, val.data, val.len, flags) != 0)
    return throw_xattr(env, errno, "lsetxattr", p.buf, name.buf);
  return js_undefined(env);
}

/* lsetxattrat(dirfd, entry, name, value, flags): lsetxattr on /proc/self/fd/<dirfd>/<entry> */
napi_value n_lsetxattrat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, flags;
  path_arg entry, name;
  bytes_arg val;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "dirfd", &dirfd) ||
      arg_name(env, argv[1], "entry", &entry) || arg_path(env, argv[2], "name", &name) ||
      arg_bytes(env, argv[3], "value", &val) || arg_int(env, argv[4], "flags", &flags))
    return NULL;
  char pp[PATH_MAX + 64];
  int err = proc_path(pp, sizeof pp, dirfd, entry.buf);
  if (err == 0 && lsetxattr(pp, name.buf, val.data, val.len, flags) != 0) err = errno;
  if (err != 0) return throw_xattr(env, err, "lsetxattr", entry.buf, name.buf);
  return js_undefined(env);
}

/* Splits a NUL-separated name list into a JS string array. */
static napi_value names_to_js(napi_env env, const char *list, ssize_t n) {
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (ssize_t off = 0; off < n;) {
    size_t len = strnlen(list + off, (size_t)(n - off));
    if (len > 0) {
      napi_value s;
      napi_create_string_utf8(env, list + off, len, &s);
      napi_set_element(env, arr, i++, s);
    }
    off += (ssize_t)len + 1;
  }
  return arr;
}

/* The size-probe-then-read loop shared by list and get; `call` returns bytes or -1/errno. */
typedef ssize_t (*sized_call)(void *ctx, void *buf, size_t cap);

static int read_sized(sized_call call, void *ctx, char **out, ssize_t *outlen) {
  for (int tries = 0; tries < 8; tries++) {
    ssize_t n = call(ctx, NULL, 0);
    if (n < 0) return errno;
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL) return ENOMEM;
    ssize_t got = n > 0 ? call(ctx, buf, (size_t)n) : 0;
    if (got >= 0) {
      *out = buf;
      *outlen = got;
      return 0;
    }
    int e = errno;
    free(buf);
    if (e != ERANGE) return e; /* ERANGE: it grew between the calls; probe again */
  }
  return ERANGE;
}

struct xctx {
  int fd;
  const char *path;
  const char *name;
};

static ssize_t c_flist(void *c, void *b, size_t n) { return flistxattr(((struct xctx *)c)->fd, b, n); }
static ssize_t c_llist(void *c, void *b, size_t n) { return llistxattr(((struct xctx *)c)->path, b, n); }
static ssize_t c_fget(void *c, void *b, size_t n) {
  struct xctx *x = c;
  return fgetxattr(x->fd, x->name, b, n);
}
static ssize_t c_lget(void *c, void *b, size_t n) {
  struct xctx *x = c;
  return lgetxattr(x->path, x->name, b, n);
}

static napi_value list_result(napi_env env, sized_call call, struct xctx *x, const char *syscall, const char *shown) {
  char *buf = NULL;
  ssize_t n = 0;
  int err = read_sized(call, x, &buf, &n);
  if (err != 0) return throw_errno(env, err, syscall, shown, NULL);
  napi_value r = names_to_js(env, buf, n);
  free(buf);
  return r;
}

static napi_value get_result(napi_env env, sized_call call, struct xctx *x, const char *syscall, const char *shown) {
  char *buf = NULL;
  ssize_t n = 0;
  int err = read_sized(call, x, &buf, &n);
  if (err != 0) return throw_xattr(env, err, syscall, shown, x->name);
  napi_value r;
  napi_create_buffer_copy(env, (size_t)n, buf, NULL, &r);
  free(buf);
  return r;
}

/* flistxattr(fd) -> string[] */
napi_value n_flistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct xctx x = {0, NULL, NULL};
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &x.fd)) return NULL;
  return list_result(env, c_flist, &x, "flistxattr", NULL);
}

/* llistxattr(path) -> string[] */
napi_value n_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  path_arg p;
  if (get_args(env, info, 1, argv) || arg_path(env, argv[0], "path", &p)) return NULL;
  struct xctx x = {-1, p.buf, NULL};
  return list_result(env, c_llist, &x, "llistxattr", p.buf);
}

static ssize_t c_list(void *c, void *b, size_t n) { return listxattr(((struct xctx *)c)->path, b, n); }
static ssize_t c_get(void *c, void *b, size_t n) {
  struct xctx *x = c;
  return getxattr(x->path, x->name, b, n);
}

/* Reads (dirfd, entry) into a /proc path; entry "" means the directory itself. */
static int at_args(napi_env env, napi_value jdir, napi_value jentry, path_arg *entry, char *pp, size_t cap) {
  int32_t dirfd;
  if (arg_int(env, jdir, "dirfd", &dirfd) || arg_path(env, jentry, "entry", entry)) return -1;
  if (entry->len > 0 && arg_name(env, jentry, "entry", entry)) return -1;
  int err = proc_path(pp, cap, dirfd, entry->buf);
  if (err != 0) {
    throw_errno(env, err, "proc_path", entry->buf, NULL);
    return -1;
  }
  return 0;
}

/* llistxattrat(dirfd, entry) -> string[]. For entry "" the /proc magic link is followed to
 * the directory open at dirfd itself; otherwise the entry itself, never a symlink's target. */
napi_value n_llistxattrat(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  path_arg entry;
  char pp[PATH_MAX + 64];
  if (get_args(env, info, 2, argv) || at_args(env, argv[0], argv[1], &entry, pp, sizeof pp)) return NULL;
  struct xctx x = {-1, pp, NULL};
  return list_result(env, entry.len == 0 ? c_list : c_llist, &x, "llistxattr", entry.buf);
}

/* fgetxattr(fd, name) -> Buffer */
napi_value n_fgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  path_arg name;
  struct xctx x = {0, NULL, NULL};
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "fd", &x.fd) || arg_path(env, argv[1], "name", &name))
    return NULL;
  x.name = name.buf;
  return get_result(env, c_fget, &x, "fgetxattr", NULL);
}

/* lgetxattr(path, name) -> Buffer */
napi_value n_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  path_arg p, name;
  if (get_args(env, info, 2, argv) || arg_path(env, argv[0], "path", &p) || arg_path(env, argv[1], "name", &name))
    return NULL;
  struct xctx x = {-1, p.buf, name.buf};
  return get_result(env, c_lget, &x, "lgetxattr", p.buf);
}

/* lgetxattrat(dirfd, entry, name) -> Buffer; entry "" as in llistxattrat. */
napi_value n_lgetxattrat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  path_arg entry, name;
  char pp[PATH_MAX + 64];
  if (get_args(env, info, 3, argv) || at_args(env, argv[0], argv[1], &entry, pp, sizeof pp) ||
      arg_path(env, argv[2], "name", &name))
    return NULL;
  struct xctx x = {-1, pp, name.buf};
  return get_result(env, entry.len == 0 ? c_get : c_lget, &x, "lgetxattr", entry.buf);
}

/* The setters used by the combined calls in meta.c. */
int xattr_set_fd(void *ctx, const char *name, const void *val, size_t len) { return set_fd(ctx, name, val, len); }
int xattr_set_path(void *ctx, const char *name, const void *val, size_t len) { return set_path(ctx, name, val, len); }
