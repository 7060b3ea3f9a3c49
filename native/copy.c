/* File content copies between two open fds, for building a rootfs from the layer store:
 * FICLONE (a reflink: shared extents, no data copied) and copy_file_range (an in-kernel copy,
 * which some file systems turn into a reflink or a server-side copy), and syncfs for --sync.
 * No policy: the caller chooses which to try and what to do when the kernel refuses. */
#include "ocibundle.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ficlone(dstFd, srcFd): the whole of src shared into dst (dst's content is replaced). */
napi_value n_ficlone(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t dst, src;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], "dstFd", &dst) || arg_int(env, argv[1], "srcFd", &src)) return NULL;
  if (ioctl(dst, FICLONE, src) != 0) return throw_errno(env, errno, "ioctl(FICLONE)", NULL, NULL);
  return js_undefined(env);
}

/* syncfs(fd): flushes the whole file system that fd is on (what `sync -f` does): one call
 * makes a finished rootfs durable instead of an fsync per file. */
napi_value n_syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) || arg_int(env, argv[0], "fd", &fd)) return NULL;
  if (syncfs(fd) != 0) return throw_errno(env, errno, "syncfs", NULL, NULL);
  return js_undefined(env);
}

/* copyFileRange(srcFd, dstFd, length): copies `length` bytes from the start of src to the
 * start of dst (both file offsets are left alone); returns the bytes copied, which is less
 * than `length` only when src is shorter. */
napi_value n_copy_file_range(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t src, dst;
  int64_t len;
  if (get_args(env, info, 3, argv) || arg_int(env, argv[0], "srcFd", &src) || arg_int(env, argv[1], "dstFd", &dst) ||
      arg_i64(env, argv[2], "length", &len))
    return NULL;
  if (len < 0) return throw_type(env, "length must not be negative");
  off_t in = 0, out = 0;
  int64_t done = 0;
  while (done < len) {
    ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(len - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, errno, "copy_file_range", NULL, NULL);
    }
    if (n == 0) break;
    done += n;
  }
  napi_value r;
  napi_create_int64(env, done, &r);
  return r;
}
