/* A whole small file in one call: create it exclusively in a directory (never through a final
 * symlink), write its content, then finishFd's owner, mode, xattrs and times, and close; on
 * request also the content's SHA-256 (the bundle's mtree), taken while the bytes are at hand.
 * The unpacker's common case (a file whose content arrives in one piece) thus costs one
 * crossing instead of three. Same errors as the separate calls; no policy. */
#include "ocibundle.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* writeFileAt(dirfd, name, createMode, data, dataOff, dataLen, uid, gid, mode, xattrNames|null,
 * xattrValues|null, aSec, aNsec, mSec, mNsec, digest|null): O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|
 * O_CLOEXEC with createMode, data[dataOff, +dataLen) written in full, then as finishFd; with a
 * `digest` Buffer (32 bytes or more, only when sha256Ready()), the content's SHA-256 is written
 * into its first 32 bytes after the write. A failure after the create leaves the file as far as
 * it got (the caller's abort path removes the bundle). */
napi_value n_write_file_at(napi_env env, napi_callback_info info) {
  napi_value argv[16];
  int32_t dirfd, cmode;
  path_arg name;
  bytes_arg data, digest = {NULL, 0};
  int64_t off, len;
  if (get_args(env, info, 16, argv) || arg_int(env, argv[0], "dirfd", &dirfd) || arg_name(env, argv[1], "name", &name) ||
      arg_int(env, argv[2], "createMode", &cmode) || arg_bytes(env, argv[3], "data", &data) ||
      arg_i64(env, argv[4], "dataOff", &off) || arg_i64(env, argv[5], "dataLen", &len) ||
      (!is_nullish(env, argv[15]) && arg_bytes(env, argv[15], "digest", &digest)))
    return NULL;
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > data.len) return throw_type(env, "data range out of bounds");
  if (digest.data != NULL && digest.len < 32) return throw_type(env, "digest must hold 32 bytes");
  if (digest.data != NULL && !sha256_ready()) return throw_errno(env, ENOSYS, "sha256", name.buf, NULL);
  int fd = openat(dirfd, name.buf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)(cmode & 07777));
  if (fd < 0) return throw_errno(env, errno, "openat", name.buf, NULL);
  const char *p = (const char *)data.data + off;
  size_t left = (size_t)len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return throw_errno(env, e, "write", name.buf, NULL);
    }
    p += n;
    left -= (size_t)n;
  }
  if (digest.data != NULL) {
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, (const char *)data.data + off, (size_t)len);
    sha256_final(&c, (unsigned char *)digest.data);
  }
  /* finish_fd_args reads argv[1..9] as uid, gid, mode, names, values, times */
  if (finish_fd_args(env, fd, argv + 5) != 0) return NULL;
  return js_undefined(env);
}
