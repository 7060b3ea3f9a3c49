/* Mount syscalls for overlay bundles, one-to-one: the new mount API (fsopen, fsconfig,
 * fsmount, move_mount; overlayfs takes one lower dir per "lowerdir+" call since Linux 6.8, so
 * a stack is not limited by the one-page option string), the file system context's messages,
 * and umount2. No policy: src/store/mount.ts decides what to mount where. */
#include "ocibundle.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <linux/mount.h> clashes with glibc's <sys/mount.h> on some releases: the ABI values. */
#define OB_FSOPEN_CLOEXEC 0x1
#define OB_FSCONFIG_SET_FLAG 0
#define OB_FSCONFIG_SET_STRING 1
#define OB_FSCONFIG_CMD_CREATE 6
#define OB_FSMOUNT_CLOEXEC 0x1
#define OB_MOVE_MOUNT_F_EMPTY_PATH 0x4

#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#define SYS_move_mount 429
#endif

/* fsopen(fsname): a new file system context fd (close-on-exec). */
napi_value n_fsopen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  path_arg name;
  if (get_args(env, info, 1, argv) || arg_path(env, argv[0], "fsname", &name)) return NULL;
  long fd = syscall(SYS_fsopen, name.buf, OB_FSOPEN_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "fsopen", name.buf, NULL);
  return js_int(env, (int32_t)fd);
}

/* fsconfig(fd, key, value): FSCONFIG_SET_STRING, or FSCONFIG_SET_FLAG when value is null. */
napi_value n_fsconfig_set(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  path_arg key, value;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "fd", &fd) || arg_path(env, argv[1], "key", &key)) return NULL;
  int flag = is_nullish(env, argv[2]);
  if (!flag && arg_path(env, argv[2], "value", &value)) return NULL;
  long r = flag ? syscall(SYS_fsconfig, fd, OB_FSCONFIG_SET_FLAG, key.buf, NULL, 0)
                : syscall(SYS_fsconfig, fd, OB_FSCONFIG_SET_STRING, key.buf, value.buf, 0);
  if (r < 0) return throw_errno(env, errno, "fsconfig", key.buf, flag ? NULL : value.buf);
  return js_undefined(env);
}

/* fsconfig(fd, FSCONFIG_CMD_CREATE): the superblock from the options set so far. */
napi_value n_fsconfig_create(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (syscall(SYS_fsconfig, fd, OB_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return throw_errno(env, errno, "fsconfig(create)", NULL, NULL);
  return js_undefined(env);
}

/* fsmount(fd): a detached mount of the context's superblock (close-on-exec fd). */
napi_value n_fsmount(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  long m = syscall(SYS_fsmount, fd, OB_FSMOUNT_CLOEXEC, 0);
  if (m < 0) return throw_errno(env, errno, "fsmount", NULL, NULL);
  return js_int(env, (int32_t)m);
}

/* move_mount(mountFd, target): attach the detached mount at the path `target`. */
napi_value n_move_mount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  path_arg target;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "mountFd", &fd) || arg_path(env, argv[1], "target", &target)) return NULL;
  if (syscall(SYS_move_mount, fd, "", AT_FDCWD, target.buf, OB_MOVE_MOUNT_F_EMPTY_PATH) < 0) return throw_errno(env, errno, "move_mount", target.buf, NULL);
  return js_undefined(env);
}

/* The messages the kernel queued on a file system context ("e overlay: ..."), oldest first. */
napi_value n_fs_messages(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  napi_value arr;
  napi_create_array(env, &arr);
  char buf[1024];
  for (uint32_t i = 0; i < 64; i++) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) break; /* ENODATA: no more */
    buf[n] = '\0';
    napi_value s;
    napi_create_string_utf8(env, buf, (size_t)n, &s);
    napi_set_element(env, arr, i, s);
  }
  return arr;
}

/* umount2(target, flags). */
napi_value n_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  path_arg target;
  int32_t flags;
  if (get_args(env, info, 2, argv) || arg_path(env, argv[0], "target", &target) || arg_int(env, argv[1], "flags", &flags)) return NULL;
  if (umount2(target.buf, flags) != 0) return throw_errno(env, errno, "umount2", target.buf, NULL);
  return js_undefined(env);
}
