/* Owner, mode and time wrappers, plus the two combined calls the unpacker uses once per
 * entry: finishFd (fchown, fchmod, fsetxattr*, futimens, close on one fd) and setMetaAt
 * (the same for a name in a directory, never following a final symlink). Order is fixed:
 * owner first (chown clears setuid/setgid and security.capability), then mode, xattrs, times. */
#include "ocibundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int have_fchmodat2 = -1; /* unknown; 0 once the kernel said ENOSYS */

static int chmod_via_proc(int dirfd, const char *name, mode_t mode, int empty) {
  int fd = dirfd;
  if (!empty) {
    fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno;
  }
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) != 0)
    err = errno;
  else if (S_ISLNK(st.st_mode))
    err = EOPNOTSUPP; /* what fchmodat2 answers for a symlink */
  else {
    char pp[64];
    snprintf(pp, sizeof pp, "/proc/self/fd/%d", fd);
    if (chmod(pp, mode) != 0) err = errno;
  }
  if (!empty) close(fd);
  return err;
}

static int fchmodat_flags(int dirfd, const char *name, mode_t mode, int flags) {
  if (flags == 0) return fchmodat(dirfd, name, mode, 0) == 0 ? 0 : errno;
  if (have_fchmodat2 != 0) {
    if (syscall(SYS_fchmodat2, dirfd, name, mode, flags) == 0) return 0;
    int e = errno;
    if (e == ENOSYS)
      have_fchmodat2 = 0;
    else if (e != EPERM) /* EPERM may be a seccomp filter that predates fchmodat2 */
      return e;
  }
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return EINVAL;
  return chmod_via_proc(dirfd, name, mode, (flags & AT_EMPTY_PATH) && name[0] == '\0');
}

int chmod_nofollow(int dirfd, const char *name, mode_t mode) {
  return fchmodat_flags(dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/* fchownat(dirfd, path, uid, gid, flags); uid/gid -1 leave that id unchanged */
napi_value n_fchownat(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t dirfd, flags;
  int64_t uid, gid;
  path_arg p;
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_id(env, argv[2], "uid", &uid) || arg_id(env, argv[3], "gid", &gid) || arg_int(env, argv[4], "flags", &flags))
    return NULL;
  if (fchownat(dirfd, p.buf, (uid_t)uid, (gid_t)gid, flags) != 0) return throw_errno(env, errno, "fchownat", p.buf, NULL);
  return js_undefined(env);
}

/* fchown(fd, uid, gid) */
napi_value n_fchown(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  int64_t uid, gid;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "fd", &fd) || arg_id(env, argv[1], "uid", &uid) ||
      arg_id(env, argv[2], "gid", &gid))
    return NULL;
  if (fchown(fd, (uid_t)uid, (gid_t)gid) != 0) return throw_errno(env, errno, "fchown", NULL, NULL);
  return js_undefined(env);
}

/* fchmodat(dirfd, path, mode, flags): fchmodat2 when flags are set (AT_SYMLINK_NOFOLLOW on a
 * symlink fails with EOPNOTSUPP), else plain fchmodat. */
napi_value n_fchmodat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t dirfd, mode, flags;
  path_arg p;
  if (get_args(env, info, 4, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_int(env, argv[2], "mode", &mode) || arg_int(env, argv[3], "flags", &flags))
    return NULL;
  int err = fchmodat_flags(dirfd, p.buf, (mode_t)mode, flags);
  if (err != 0) return throw_errno(env, err, flags ? "fchmodat2" : "fchmodat", p.buf, NULL);
  return js_undefined(env);
}

/* fchmod(fd, mode) */
napi_value n_fchmod(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, mode;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "fd", &fd) || arg_int(env, argv[1], "mode", &mode))
    return NULL;
  if (fchmod(fd, (mode_t)mode) != 0) return throw_errno(env, errno, "fchmod", NULL, NULL);
  return js_undefined(env);
}

/* utimensat(dirfd, path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags) */
napi_value n_utimensat(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int32_t dirfd, flags;
  path_arg p;
  struct timespec ts[2];
  if (get_args(env, info, 7, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_path(env, argv[1], "path", &p) ||
      arg_timespec(env, argv[2], argv[3], "atime", &ts[0]) || arg_timespec(env, argv[4], argv[5], "mtime", &ts[1]) ||
      arg_int(env, argv[6], "flags", &flags))
    return NULL;
  if (utimensat(dirfd, p.buf, ts, flags) != 0) return throw_errno(env, errno, "utimensat", p.buf, NULL);
  return js_undefined(env);
}

/* futimens(fd, atimeSec, atimeNsec, mtimeSec, mtimeNsec) */
napi_value n_futimens(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd;
  struct timespec ts[2];
  if (get_args(env, info, 5, argv) || arg_int(env, argv[0], "fd", &fd) ||
      arg_timespec(env, argv[1], argv[2], "atime", &ts[0]) || arg_timespec(env, argv[3], argv[4], "mtime", &ts[1]))
    return NULL;
  if (futimens(fd, ts) != 0) return throw_errno(env, errno, "futimens", NULL, NULL);
  return js_undefined(env);
}

/* finishFd(fd, uid, gid, mode, xattrNames|null, xattrValues|null, aSec, aNsec, mSec, mNsec):
 * fchown (skipped when uid and gid are both -1, or when fstat shows them already), fchmod
 * (skipped when mode is -1, or when fstat shows it already and no chown ran: a chown may clear
 * setuid/setgid), fsetxattr for each pair, futimens, then close. fstat is cheap; fchown and
 * fchmod each dirty the inode (a journal write on ext4), and a file just created usually
 * has the right owner and mode already. The fd is closed even when a step fails; the first
 * failure is thrown with its syscall name. */
/* The body of finishFd: argv[0] is the fd, argv[1..9] the rest of its arguments. Closes the
 * fd whatever happens; returns 0, or -1 with a JS exception pending. */
int finish_fd_args(napi_env env, int fd, napi_value *argv) {
  int32_t mode;
  int64_t uid, gid;
  struct timespec ts[2];
  if (arg_id(env, argv[1], "uid", &uid) || arg_id(env, argv[2], "gid", &gid) || arg_int(env, argv[3], "mode", &mode) ||
      arg_timespec(env, argv[6], argv[7], "atime", &ts[0]) || arg_timespec(env, argv[8], argv[9], "mtime", &ts[1])) {
    close(fd);
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "fstat", NULL, NULL);
    return -1;
  }
  int chowned = 0;
  if ((uid >= 0 && (uid_t)uid != st.st_uid) || (gid >= 0 && (gid_t)gid != st.st_gid)) {
    if (fchown(fd, (uid_t)uid, (gid_t)gid) != 0) {
      int e = errno;
      close(fd);
      throw_errno(env, e, "fchown", NULL, NULL);
      return -1;
    }
    chowned = 1;
  }
  if (mode >= 0 && (chowned || (st.st_mode & 07777) != (mode_t)mode) && fchmod(fd, (mode_t)mode) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "fchmod", NULL, NULL);
    return -1;
  }
  if (apply_xattrs(env, argv[4], argv[5], "fsetxattr", xattr_set_fd, &fd) != 0) {
    close(fd);
    return -1;
  }
  if (futimens(fd, ts) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "futimens", NULL, NULL);
    return -1;
  }
  if (close(fd) != 0 && errno != EINTR) {
    throw_errno(env, errno, "close", NULL, NULL);
    return -1;
  }
  return 0;
}

napi_value n_finish_fd(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  int32_t fd;
  if (get_args(env, info, 10, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (finish_fd_args(env, fd, argv) != 0) return NULL;
  return js_undefined(env);
}

/* setMetaAt(dirfd, name, uid, gid, mode, xattrNames|null, xattrValues|null, aSec, aNsec,
 * mSec, mNsec) -> the st_mode seen before the change. For a symlink: lchown, lsetxattr,
 * lutimes and no chmod (Linux has no symlink modes). Never follows the final component. */
napi_value n_set_meta_at(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  int32_t dirfd, mode;
  int64_t uid, gid;
  path_arg name;
  struct timespec ts[2];
  if (get_args(env, info, 11, argv) || arg_int(env, argv[0], "dirfd", &dirfd) ||
      arg_name(env, argv[1], "name", &name) || arg_id(env, argv[2], "uid", &uid) || arg_id(env, argv[3], "gid", &gid) ||
      arg_int(env, argv[4], "mode", &mode) || arg_timespec(env, argv[7], argv[8], "atime", &ts[0]) ||
      arg_timespec(env, argv[9], argv[10], "mtime", &ts[1]))
    return NULL;
  struct stat st;
  if (fstatat(dirfd, name.buf, &st, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "fstatat", name.buf, NULL);
  if ((uid >= 0 || gid >= 0) && fchownat(dirfd, name.buf, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) != 0)
    return throw_errno(env, errno, "fchownat", name.buf, NULL);
  if (mode >= 0 && !S_ISLNK(st.st_mode)) {
    int err = chmod_nofollow(dirfd, name.buf, (mode_t)mode);
    if (err != 0) return throw_errno(env, err, "fchmodat2", name.buf, NULL);
  }
  if (!is_nullish(env, argv[5])) {
    char pp[PATH_MAX + 64];
    int err = proc_path(pp, sizeof pp, dirfd, name.buf);
    if (err != 0) return throw_errno(env, err, "lsetxattr", name.buf, NULL);
    if (apply_xattrs(env, argv[5], argv[6], "lsetxattr", xattr_set_path, pp) != 0) return NULL;
  }
  if (utimensat(dirfd, name.buf, ts, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "utimensat", name.buf, NULL);
  napi_value r;
  napi_create_uint32(env, st.st_mode, &r);
  return r;
}
