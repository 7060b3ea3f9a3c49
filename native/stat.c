/* fstatat/fstat wrappers: a struct stat becomes a plain JS object with exact values
 * (ino/dev as BigInt, times as separate sec and nsec numbers, rdev split into major/minor).
 * Interpreting the mode bits is the caller's job. */
#include "ocibundle.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

napi_value stat_to_js(napi_env env, const struct stat *st) {
  napi_value obj;
  napi_create_object(env, &obj);
  napi_value v[15];
  napi_create_uint32(env, st->st_mode, &v[0]);
  napi_create_uint32(env, st->st_uid, &v[1]);
  napi_create_uint32(env, st->st_gid, &v[2]);
  napi_create_double(env, (double)st->st_size, &v[3]);
  napi_create_bigint_uint64(env, (uint64_t)st->st_ino, &v[4]);
  napi_create_bigint_uint64(env, (uint64_t)st->st_dev, &v[5]);
  napi_create_double(env, (double)st->st_nlink, &v[6]);
  napi_create_uint32(env, major(st->st_rdev), &v[7]);
  napi_create_uint32(env, minor(st->st_rdev), &v[8]);
  napi_create_double(env, (double)st->st_atim.tv_sec, &v[9]);
  napi_create_int32(env, (int32_t)st->st_atim.tv_nsec, &v[10]);
  napi_create_double(env, (double)st->st_mtim.tv_sec, &v[11]);
  napi_create_int32(env, (int32_t)st->st_mtim.tv_nsec, &v[12]);
  napi_create_double(env, (double)st->st_ctim.tv_sec, &v[13]);
  napi_create_int32(env, (int32_t)st->st_ctim.tv_nsec, &v[14]);
  static const char *names[15] = {"mode", "uid", "gid", "size", "ino", "dev", "nlink", "rdevMajor", "rdevMinor",
                                  "atimeSec", "atimeNsec", "mtimeSec", "mtimeNsec", "ctimeSec", "ctimeNsec"};
  napi_property_descriptor d[15];
  for (int i = 0; i < 15; i++) {
    d[i] = (napi_property_descriptor){names[i], NULL, NULL, NULL, NULL, v[i], napi_writable | napi_enumerable | napi_configurable, NULL};
  }
  napi_define_properties(env, obj, 15, d);
  return obj;
}

/* fstatat(dirfd, path, flags) -> stat object */
napi_value n_fstatat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd, flags;
  path_arg p;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "flags", &flags))
    return NULL;
  struct stat st;
  if (fstatat(dirfd, p.buf, &st, flags) != 0) return throw_errno(env, errno, "fstatat", p.buf, NULL);
  return stat_to_js(env, &st);
}

/* fstat(fd) -> stat object (works on O_PATH fds) */
napi_value n_fstat(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return throw_errno(env, errno, "fstat", NULL, NULL);
  return stat_to_js(env, &st);
}
