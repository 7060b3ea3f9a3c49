/* Shared declarations of the ocibundle_native addon: argument readers that validate JS values,
 * the Node-shaped errno error, and the exported function prototypes. The addon wraps Linux
 * syscalls one-to-one (plus two combined metadata calls); it holds no policy about paths,
 * modes or owners: that lives in src/fs/rootfs.ts. */
#ifndef OCIBUNDLE_NATIVE_H
#define OCIBUNDLE_NATIVE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* A path or name argument: a JS string (UTF-8) or a Buffer (bytes verbatim). */
typedef struct {
  char buf[PATH_MAX];
  size_t len;
} path_arg;

/* A byte-buffer argument (xattr values): borrowed from the JS Buffer, not copied. */
typedef struct {
  const void *data;
  size_t len;
} bytes_arg;

/* Reads exactly n arguments (more are ignored); throws a TypeError and returns -1 if fewer. */
int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
int arg_int(napi_env env, napi_value v, const char *what, int32_t *out);
int arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out);
/* uid/gid: an integer in [-1, 2^32-1]; -1 means "leave unchanged". */
int arg_id(napi_env env, napi_value v, const char *what, int64_t *out);
int arg_i64(napi_env env, napi_value v, const char *what, int64_t *out);
int arg_bool(napi_env env, napi_value v, const char *what, int *out);
/* A path/name without NUL bytes and shorter than PATH_MAX. */
int arg_path(napi_env env, napi_value v, const char *what, path_arg *out);
/* Like arg_path, but the value must be one component: non-empty, no '/', not "." or "..". */
int arg_name(napi_env env, napi_value v, const char *what, path_arg *out);
int arg_bytes(napi_env env, napi_value v, const char *what, bytes_arg *out);
/* (sec, nsec) pair; nsec may also be UTIME_NOW or UTIME_OMIT. */
int arg_timespec(napi_env env, napi_value sec, napi_value nsec, const char *what, struct timespec *out);
int is_nullish(napi_env env, napi_value v);
/* The pointer of an addon-made external (a writer, a decoder...); NULL after throwing `msg` as a TypeError. */
void *arg_external(napi_env env, napi_value v, const char *msg);

/* Throws an Error shaped like Node's fs errors: code, errno (negative), syscall, path, dest.
 * `path` and `dest` may be NULL. Always returns NULL (the value to return from a callback). */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path, const char *dest);
/* The same for an *xattr call: `path` is the file (or NULL), `xattr` the attribute name,
 * set as the error's `xattr` property. */
napi_value throw_xattr(napi_env env, int err, const char *syscall, const char *path, const char *xattr);
napi_value throw_type(napi_env env, const char *msg);
napi_value js_undefined(napi_env env);
napi_value js_int(napi_env env, int32_t v);
napi_value js_bool(napi_env env, int v);

/* "/proc/self/fd/<dirfd>/<name>" (or "/proc/self/fd/<dirfd>" when name is empty). */
int proc_path(char *out, size_t cap, int dirfd, const char *name);

/* chmod that never follows a final symlink: fchmodat2(AT_SYMLINK_NOFOLLOW) when the kernel
 * has it, else an O_PATH|O_NOFOLLOW handle re-opened through /proc. Returns 0 or an errno. */
int chmod_nofollow(int dirfd, const char *name, mode_t mode);

/* A JS object describing a struct stat. */
napi_value stat_to_js(napi_env env, const struct stat *st);

/* paths.c */
napi_value n_openat2(napi_env env, napi_callback_info info);
napi_value n_openat(napi_env env, napi_callback_info info);
napi_value n_close(napi_env env, napi_callback_info info);
napi_value n_flock(napi_env env, napi_callback_info info);
napi_value n_mkdirat(napi_env env, napi_callback_info info);
napi_value n_mknodat(napi_env env, napi_callback_info info);
napi_value n_symlinkat(napi_env env, napi_callback_info info);
napi_value n_linkat(napi_env env, napi_callback_info info);
napi_value n_unlinkat(napi_env env, napi_callback_info info);
napi_value n_renameat2(napi_env env, napi_callback_info info);
napi_value n_readlinkat(napi_env env, napi_callback_info info);
napi_value n_getdents(napi_env env, napi_callback_info info);
napi_value n_rmtreeat(napi_env env, napi_callback_info info);

/* stat.c */
napi_value n_fstatat(napi_env env, napi_callback_info info);
napi_value n_fstat(napi_env env, napi_callback_info info);

/* meta.c */
napi_value n_fchownat(napi_env env, napi_callback_info info);
napi_value n_fchown(napi_env env, napi_callback_info info);
napi_value n_fchmodat(napi_env env, napi_callback_info info);
napi_value n_fchmod(napi_env env, napi_callback_info info);
napi_value n_utimensat(napi_env env, napi_callback_info info);
napi_value n_futimens(napi_env env, napi_callback_info info);
napi_value n_finish_fd(napi_env env, napi_callback_info info);
/* finishFd's work on fd with its other nine arguments at argv[1..9]; closes fd; 0 or -1 (thrown). */
int finish_fd_args(napi_env env, int fd, napi_value *argv);
napi_value n_set_meta_at(napi_env env, napi_callback_info info);

/* xattr.c */
napi_value n_fsetxattr(napi_env env, napi_callback_info info);
napi_value n_lsetxattr(napi_env env, napi_callback_info info);
napi_value n_lsetxattrat(napi_env env, napi_callback_info info);
napi_value n_flistxattr(napi_env env, napi_callback_info info);
napi_value n_llistxattr(napi_env env, napi_callback_info info);
napi_value n_llistxattrat(napi_env env, napi_callback_info info);
napi_value n_fgetxattr(napi_env env, napi_callback_info info);
napi_value n_lgetxattr(napi_env env, napi_callback_info info);
napi_value n_lgetxattrat(napi_env env, napi_callback_info info);
/* Sets each (names[i], values[i]) pair; set_one does the syscall. Returns 0 or throws. */
int apply_xattrs(napi_env env, napi_value names, napi_value values, const char *syscall,
                 int (*set_one)(void *ctx, const char *name, const void *val, size_t len), void *ctx);
/* set_one callbacks: ctx is an int* fd, or a NUL-terminated path (lsetxattr). */
int xattr_set_fd(void *ctx, const char *name, const void *val, size_t len);
int xattr_set_path(void *ctx, const char *name, const void *val, size_t len);

/* copy.c */
napi_value n_ficlone(napi_env env, napi_callback_info info);
napi_value n_syncfs(napi_env env, napi_callback_info info);
napi_value n_copy_file_range(napi_env env, napi_callback_info info);

/* write.c */
napi_value n_write_file_at(napi_env env, napi_callback_info info);

/* sha256.c: OpenSSL's SHA-256 from the running process (see sha256.c); use only when
 * sha256_ready() said yes. The context is OpenSSL's SHA256_CTX (112 bytes) in room to spare. */
typedef struct {
  _Alignas(16) unsigned char st[256];
} sha256_ctx;
int sha256_ready(void);
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *p, size_t n);
void sha256_zeros(sha256_ctx *c, uint64_t n);
void sha256_final(sha256_ctx *c, unsigned char out[32]);
napi_value n_sha256_ready(napi_env env, napi_callback_info info);
napi_value n_sha256_pair_ready(napi_env env, napi_callback_info info);
napi_value n_sha256_pair_open(napi_env env, napi_callback_info info);
napi_value n_sha256_pair_update(napi_env env, napi_callback_info info);
napi_value n_sha256_pair_digest(napi_env env, napi_callback_info info);

/* writer.c */
napi_value n_writer_open(napi_env env, napi_callback_info info);
napi_value n_writer_write(napi_env env, napi_callback_info info);
napi_value n_writer_finish(napi_env env, napi_callback_info info);
napi_value n_writer_drain(napi_env env, napi_callback_info info);
napi_value n_writer_close(napi_env env, napi_callback_info info);

/* decode.c */
napi_value n_decoders(napi_env env, napi_callback_info info);
napi_value n_decoder_open(napi_env env, napi_callback_info info);
napi_value n_decoder_run(napi_env env, napi_callback_info info);
napi_value n_decoder_end(napi_env env, napi_callback_info info);
napi_value n_decoder_close(napi_env env, napi_callback_info info);

/* mount.c */
napi_value n_fsopen(napi_env env, napi_callback_info info);
napi_value n_fsconfig_set(napi_env env, napi_callback_info info);
napi_value n_fsconfig_create(napi_env env, napi_callback_info info);
napi_value n_fsmount(napi_env env, napi_callback_info info);
napi_value n_move_mount(napi_env env, napi_callback_info info);
napi_value n_fs_messages(napi_env env, napi_callback_info info);
napi_value n_umount2(napi_env env, napi_callback_info info);

#endif
