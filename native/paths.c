/* Thin wrappers for the path-creating and path-resolving syscalls: openat2, openat, close,
 * mkdirat, mknodat, symlinkat, linkat, unlinkat, renameat2, readlinkat, getdents64, flock, and an
 * fd-relative recursive delete. One syscall per call (except rmtreeat); no path policy. */
#include "ocibundle.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif

/* openat2(dirfd, path, flags, mode, resolve) -> fd. ENOSYS when the kernel lacks it. */
napi_value n_openat2(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, flags, mode, resolve;
  path_arg p;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "flags", &flags) || arg_int(env, argv[3], "mode", &mode) ||
      arg_int(env, argv[4], "resolve", &resolve))
    return NULL;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(uint32_t)flags;
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? (uint64_t)(uint32_t)mode : 0;
  how.resolve = (uint64_t)(uint32_t)resolve;
  long fd;
  /* EAGAIN: a concurrent rename or mount raced a scoped lookup; the kernel asks us to retry. */
  for (int tries = 0;; tries++) {
    fd = syscall(SYS_openat2, dirfd, p.buf, &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || tries >= 32) break;
  }
  if (fd < 0) return throw_errno(env, errno, "openat2", p.buf, NULL);
  return js_int(env, (int32_t)fd);
}

/* openat(dirfd, path, flags, mode) -> fd */
napi_value n_openat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t dirfd, flags, mode;
  path_arg p;
  if (get_args(env, info, 4, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "flags", &flags) || arg_int(env, argv[3], "mode", &mode))
    return NULL;
  int fd;
  do fd = openat(dirfd, p.buf, flags, (mode_t)mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return throw_errno(env, errno, "openat", p.buf, NULL);
  return js_int(env, fd);
}

/* close(fd); EINTR is not retried (the fd is gone either way on Linux). */
napi_value n_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL, NULL);
  return js_undefined(env);
}

/* flock(fd, LOCK_EX|LOCK_NB or LOCK_UN): true when taken (or released), false when another
 * open file description holds it (EWOULDBLOCK). Never blocks. */
napi_value n_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, exclusive;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "fd", &fd) || arg_int(env, argv[1], "exclusive", &exclusive))
    return NULL;
  int r;
  do r = flock(fd, exclusive ? (LOCK_EX | LOCK_NB) : LOCK_UN);
  while (r != 0 && errno == EINTR);
  if (r != 0 && errno == EWOULDBLOCK) return js_bool(env, 0);
  if (r != 0) return throw_errno(env, errno, "flock", NULL, NULL);
  return js_bool(env, 1);
}

/* mkdirat(dirfd, path, mode) */
napi_value n_mkdirat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd, mode;
  path_arg p;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "mode", &mode))
    return NULL;
  if (mkdirat(dirfd, p.buf, (mode_t)mode) != 0) return throw_errno(env, errno, "mkdirat", p.buf, NULL);
  return js_undefined(env);
}

/* mknodat(dirfd, path, mode including the S_IF* type bits, major, minor) */
napi_value n_mknodat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, mode;
  uint32_t major, minor;
  path_arg p;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "mode", &mode) || arg_u32(env, argv[3], "major", &major) ||
      arg_u32(env, argv[4], "minor", &minor))
    return NULL;
  if (mknodat(dirfd, p.buf, (mode_t)mode, makedev(major, minor)) != 0)
    return throw_errno(env, errno, "mknodat", p.buf, NULL);
  return js_undefined(env);
}

/* symlinkat(target, dirfd, path): the target is stored verbatim. */
napi_value n_symlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd;
  path_arg target, p;
  if (get_args(env, info, 3, argv) || arg_path(env, argv[0], "target", &target) ||
      arg_int(env, argv[1], "dirfd", &dirfd) || arg_path(env, argv[2], "path", &p))
    return NULL;
  if (symlinkat(target.buf, dirfd, p.buf) != 0) return throw_errno(env, errno, "symlinkat", target.buf, p.buf);
  return js_undefined(env);
}

/* linkat(olddirfd, oldpath, newdirfd, newpath, flags) */
napi_value n_linkat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t odir, ndir, flags;
  path_arg op, np;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "olddirfd", &odir) ||
      arg_path(env, argv[1], "oldpath", &op) || arg_int(env, argv[2], "newdirfd", &ndir) ||
      arg_path(env, argv[3], "newpath", &np) || arg_int(env, argv[4], "flags", &flags))
    return NULL;
  if (linkat(odir, op.buf, ndir, np.buf, flags) != 0) return throw_errno(env, errno, "linkat", op.buf, np.buf);
  return js_undefined(env);
}

/* unlinkat(dirfd, path, flags) */
napi_value n_unlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd, flags;
  path_arg p;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "flags", &flags))
    return NULL;
  if (unlinkat(dirfd, p.buf, flags) != 0) return throw_errno(env, errno, "unlinkat", p.buf, NULL);
  return js_undefined(env);
}

/* renameat2(olddirfd, oldpath, newdirfd, newpath, flags); flags 0 falls back to renameat. */
napi_value n_renameat2(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t odir, ndir, flags;
  path_arg op, np;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "olddirfd", &odir) ||
      arg_path(env, argv[1], "oldpath", &op) || arg_int(env, argv[2], "newdirfd", &ndir) ||
      arg_path(env, argv[3], "newpath", &np) || arg_int(env, argv[4], "flags", &flags))
    return NULL;
  long r = syscall(SYS_renameat2, odir, op.buf, ndir, np.buf, (unsigned)flags);
  if (r != 0 && errno == ENOSYS && flags == 0) r = renameat(odir, op.buf, ndir, np.buf);
  if (r != 0) return throw_errno(env, errno, "renameat2", op.buf, np.buf);
  return js_undefined(env);
}

/* readlinkat(dirfd, path, asBuffer) -> string | Buffer. An empty path reads an O_PATH symlink fd. */
napi_value n_readlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t dirfd;
  int asbuf;
  path_arg p;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_bool(env, argv[2], "asBuffer", &asbuf))
    return NULL;
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat(dirfd, p.buf, target, PATH_MAX);
  if (n < 0) return throw_errno(env, errno, "readlinkat", p.buf, NULL);
  napi_value r;
  if (asbuf)
    napi_create_buffer_copy(env, (size_t)n, target, NULL, &r);
  else
    napi_create_string_utf8(env, target, (size_t)n, &r);
  return r;
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int is_dot(const char *n) { return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')); }

/* getdents(fd) -> string[]: every name of an open directory except "." and "..", in the
 * order the file system returns them. Rewinds the fd first. */
napi_value n_getdents(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (lseek(fd, 0, SEEK_SET) < 0) return throw_errno(env, errno, "lseek", NULL, NULL);
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t count = 0;
  char *buf = malloc(65536);
  if (buf == NULL) return throw_errno(env, ENOMEM, "getdents64", NULL, NULL);
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, 65536);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      return throw_errno(env, e, "getdents64", NULL, NULL);
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      if (is_dot(d->d_name)) continue;
      napi_value s;
      napi_create_string_utf8(env, d->d_name, NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, arr, count++, s);
    }
  }
  free(buf);
  return arr;
}

/* Empties the directory open at fd (recursively), then returns 0 or an errno, with the
 * failing syscall in *what. Each pass reads the directory to its end (getdents64 returns a
 * short, non-empty buffer whenever a signal is pending, so one buffer says nothing about the
 * rest); passes repeat from the start until one removes nothing, so removals during
 * iteration cannot hide entries. Never follows symlinks: subdirectories are opened with
 * O_NOFOLLOW|O_DIRECTORY relative to their parent's fd. */
static int empty_dir(int fd, const char **what, int depth) {
  if (depth > 4096) {
    *what = "openat";
    return ELOOP;
  }
  char *buf = malloc(32768);
  if (buf == NULL) return ENOMEM;
  int err = 0;
  for (;;) {
    if (lseek(fd, 0, SEEK_SET) < 0) {
      err = errno;
      *what = "lseek";
      break;
    }
    long removed = 0;
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, 32768);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err = errno;
        *what = "getdents64";
        break;
      }
      if (n == 0) break; /* the end of this pass */
      for (long off = 0; off < n && err == 0;) {
        struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
        off += d->d_reclen;
        if (is_dot(d->d_name)) continue;
        if (unlinkat(fd, d->d_name, 0) == 0) {
          removed++;
          continue;
        }
        if (errno == ENOENT) continue;
        if (errno != EISDIR) {
          err = errno;
          *what = "unlinkat";
          break;
        }
        int sub = openat(fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          err = errno;
          *what = "openat";
          break;
        }
        err = empty_dir(sub, what, depth + 1);
        close(sub);
        if (err == 0 && unlinkat(fd, d->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
          err = errno;
          *what = "rmdir";
        }
        removed++;
      }
      if (err != 0) break;
    }
    if (err != 0 || removed == 0) break;
  }
  free(buf);
  return err;
}

/* rmtreeat(dirfd, name) -> boolean: unlinks name, or deletes the directory tree at name.
 * false if name does not exist. Never follows a symlink anywhere in the tree. */
napi_value n_rmtreeat(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t dirfd;
  path_arg p;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_name(env, argv[1], "name", &p))
    return NULL;
  if (unlinkat(dirfd, p.buf, 0) == 0) return js_bool(env, 1);
  if (errno == ENOENT) return js_bool(env, 0);
  if (errno != EISDIR) return throw_errno(env, errno, "unlinkat", p.buf, NULL);
  int fd = openat(dirfd, p.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "openat", p.buf, NULL);
  const char *what = "rmtree";
  int err = empty_dir(fd, &what, 0);
  close(fd);
  if (err != 0) return throw_errno(env, err, what, p.buf, NULL);
  if (unlinkat(dirfd, p.buf, AT_REMOVEDIR) != 0) return throw_errno(env, errno, "rmdir", p.buf, NULL);
  return js_bool(env, 1);
}
