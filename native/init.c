/* Module registration: the exported functions and the numeric constants (open flags,
 * AT_*, RESOLVE_*, S_IF*, RENAME_*, UTIME_*) that the TypeScript layer passes back in.
 * Nothing here decides anything. */
#include "ocibundle.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/xattr.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

#define FN(jsname, cfn) {jsname, NULL, cfn, NULL, NULL, NULL, napi_enumerable, NULL}

static void set_const(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value n;
  napi_create_int64(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      FN("openat2", n_openat2),       FN("openat", n_openat),         FN("close", n_close),
      FN("mkdirat", n_mkdirat),       FN("mknodat", n_mknodat),       FN("symlinkat", n_symlinkat),
      FN("linkat", n_linkat),         FN("unlinkat", n_unlinkat),     FN("renameat2", n_renameat2),
      FN("readlinkat", n_readlinkat), FN("getdents", n_getdents),     FN("rmtreeat", n_rmtreeat),
      FN("fstatat", n_fstatat),       FN("fstat", n_fstat),           FN("fchownat", n_fchownat),
      FN("fchown", n_fchown),         FN("fchmodat", n_fchmodat),     FN("fchmod", n_fchmod),
      FN("utimensat", n_utimensat),   FN("futimens", n_futimens),     FN("finishFd", n_finish_fd),
      FN("setMetaAt", n_set_meta_at), FN("fsetxattr", n_fsetxattr),   FN("lsetxattr", n_lsetxattr),
      FN("lsetxattrat", n_lsetxattrat), FN("flistxattr", n_flistxattr), FN("llistxattr", n_llistxattr),
      FN("llistxattrat", n_llistxattrat), FN("fgetxattr", n_fgetxattr), FN("lgetxattr", n_lgetxattr),
      FN("lgetxattrat", n_lgetxattrat), FN("flock", n_flock),         FN("ficlone", n_ficlone),
      FN("copyFileRange", n_copy_file_range), FN("fsopen", n_fsopen), FN("fsconfigSet", n_fsconfig_set),
      FN("fsconfigCreate", n_fsconfig_create), FN("fsmount", n_fsmount), FN("moveMount", n_move_mount),
      FN("fsMessages", n_fs_messages), FN("umount2", n_umount2),       FN("syncfs", n_syncfs), FN("decoders", n_decoders), FN("writeFileAt", n_write_file_at),
      FN("writerOpen", n_writer_open), FN("writerWrite", n_writer_write), FN("writerFinish", n_writer_finish),
      FN("writerDrain", n_writer_drain), FN("writerClose", n_writer_close),
      FN("sha256Ready", n_sha256_ready), FN("sha256PairReady", n_sha256_pair_ready), FN("sha256PairOpen", n_sha256_pair_open),
      FN("sha256PairUpdate", n_sha256_pair_update), FN("sha256PairDigest", n_sha256_pair_digest),
      FN("decoderOpen", n_decoder_open), FN("decoderRun", n_decoder_run), FN("decoderEnd", n_decoder_end),
      FN("decoderClose", n_decoder_close),
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;

  napi_value c;
  napi_create_object(env, &c);
#define K(name) set_const(env, c, #name, (int64_t)(name))
  K(O_RDONLY); K(O_WRONLY); K(O_RDWR); K(O_CREAT); K(O_EXCL); K(O_TRUNC); K(O_APPEND);
  K(O_NOFOLLOW); K(O_DIRECTORY); K(O_CLOEXEC); K(O_PATH); K(O_NONBLOCK); K(O_NOCTTY);
  K(O_NOATIME); K(O_TMPFILE);
  K(AT_FDCWD); K(AT_SYMLINK_NOFOLLOW); K(AT_SYMLINK_FOLLOW); K(AT_REMOVEDIR); K(AT_EMPTY_PATH);
  K(RESOLVE_NO_XDEV); K(RESOLVE_NO_MAGICLINKS); K(RESOLVE_NO_SYMLINKS); K(RESOLVE_BENEATH);
  K(RESOLVE_IN_ROOT);
  K(S_IFMT); K(S_IFREG); K(S_IFDIR); K(S_IFLNK); K(S_IFCHR); K(S_IFBLK); K(S_IFIFO); K(S_IFSOCK);
  K(RENAME_NOREPLACE); K(RENAME_EXCHANGE); K(RENAME_WHITEOUT);
  K(UTIME_NOW); K(UTIME_OMIT);
  K(XATTR_CREATE); K(XATTR_REPLACE);
  K(PATH_MAX);
  K(MNT_DETACH);
#undef K
  napi_set_named_property(env, exports, "constants", c);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
