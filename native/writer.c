/* A file writer thread: the unpacker opens each file itself (so create errors stay in order
 * with everything else) and hands the rest to this thread: content at explicit offsets, then
 * the finishing steps (optional ftruncate, then finishFd's owner, mode, times) and close, in
 * the order given. Content is copied into a fixed arena, so memory is bounded and the caller's
 * buffers are free at once; a full arena makes the caller wait. The first failure is kept
 * (errno, syscall, the caller's file id) and raised by the next call; after it, queued content
 * is dropped but every fd is still closed. On request a file's content is also hashed
 * (SHA-256, holes as zeros) as it is written; a drain returns the digests. No policy:
 * the caller decides what goes here. */
#include "ocibundle.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_WRITE = 1, OP_FINISH = 2 };

typedef struct {
  int kind;
  int fd;
  int hash; /* this file's content is hashed (its writes and its finish all say so) */
  int32_t file;
  /* write: arena bytes [at, at+len) preceded by `skip` unused bytes (a wrap) */
  size_t at, len, skip;
  int64_t pos;
  /* finish */
  int64_t uid, gid, truncate;
  int32_t mode;
  struct timespec ts[2];
} wop;

#define QCAP 4096
/* Files whose finish is queued (each holds an open fd until the thread closes it). */
#define MAX_FILES 256

typedef struct {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t work, space, idle;
  wop q[QCAP];
  size_t qhead, qlen;
  size_t files; /* queued finishes */
  unsigned char *arena;
  size_t acap, atail, aused; /* atail: where the next write's bytes go; aused: bytes held */
  int busy, stop, started, closed;
  int err;
  const char *err_call;
  int32_t err_file;
  /* the hashed file being written (the thread's alone), and the digests done: (file, 32 bytes) */
  sha256_ctx hc;
  int32_t hfile;
  int hactive;
  int64_t hpos;
  unsigned char *dig;
  size_t ndig, capdig;
} writer;

#define DIG_REC 36

/* The thread's hash of file o->file, started when this op is its first hashed one. */
static void hash_for(writer *w, const wop *o) {
  if (w->hactive && w->hfile == o->file) return;
  sha256_init(&w->hc);
  w->hfile = o->file;
  w->hactive = 1;
  w->hpos = 0;
}

/* Zeros for the hole before `pos` (a sparse file's holes are content too). */
static void hash_to(writer *w, int64_t pos) {
  if (pos > w->hpos) sha256_zeros(&w->hc, (uint64_t)(pos - w->hpos));
  if (pos > w->hpos) w->hpos = pos;
}

static void fail(writer *w, int err, const char *call, int32_t file) {
  if (w->err != 0) return;
  w->err = err;
  w->err_call = call;
  w->err_file = file;
}

/* The finishing steps of one file; returns 0, or an errno with *call naming the syscall. */
static int run_finish(const wop *o, const char **call) {
  int fd = o->fd;
  struct stat st;
  if (o->truncate >= 0 && ftruncate(fd, (off_t)o->truncate) != 0) return *call = "ftruncate", errno;
  if (fstat(fd, &st) != 0) return *call = "fstat", errno;
  int chowned = 0;
  if ((o->uid >= 0 && (uid_t)o->uid != st.st_uid) || (o->gid >= 0 && (gid_t)o->gid != st.st_gid)) {
    if (fchown(fd, (uid_t)o->uid, (gid_t)o->gid) != 0) return *call = "fchown", errno;
    chowned = 1;
  }
  if (o->mode >= 0 && (chowned || (st.st_mode & 07777) != (mode_t)o->mode) && fchmod(fd, (mode_t)o->mode) != 0)
    return *call = "fchmod", errno;
  if (futimens(fd, o->ts) != 0) return *call = "futimens", errno;
  return 0;
}

static void *loop(void *arg) {
  writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->qlen == 0 && !w->stop) {
      w->busy = 0;
      pthread_cond_broadcast(&w->idle);
      pthread_cond_wait(&w->work, &w->mu);
    }
    if (w->qlen == 0 && w->stop) break;
    w->busy = 1;
    wop o = w->q[w->qhead];
    int failed = w->err != 0;
    pthread_mutex_unlock(&w->mu);
    int err = 0;
    const char *call = NULL;
    int digested = 0;
    unsigned char md[32];
    if (o.kind == OP_WRITE) {
      if (!failed && o.hash && o.pos < (w->hactive && w->hfile == o.file ? w->hpos : 0)) {
        err = EINVAL; /* content of a hashed file must come in order */
        call = "sha256";
      } else if (!failed) {
        const unsigned char *p = w->arena + o.at;
        size_t left = o.len;
        off_t pos = (off_t)o.pos;
        while (left > 0) {
          ssize_t n = pwrite(o.fd, p, left, pos);
          if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            call = "write";
            break;
          }
          p += n;
          pos += n;
          left -= (size_t)n;
        }
        if (err == 0 && o.hash) {
          hash_for(w, &o);
          hash_to(w, o.pos);
          sha256_update(&w->hc, w->arena + o.at, o.len);
          w->hpos += (int64_t)o.len;
        }
      }
    } else {
      if (!failed && o.hash) {
        hash_for(w, &o);
        hash_to(w, o.truncate);
        sha256_final(&w->hc, md);
        w->hactive = 0;
        digested = 1;
      }
      if (!failed) err = run_finish(&o, &call);
      if (close(o.fd) != 0 && errno != EINTR && err == 0 && !failed) {
        err = errno;
        call = "close";
      }
    }
    pthread_mutex_lock(&w->mu);
    if (err != 0) fail(w, err, call, o.file);
    if (digested && err == 0) {
      if (w->ndig == w->capdig) {
        size_t cap = w->capdig == 0 ? 64 : w->capdig * 2;
        unsigned char *d = realloc(w->dig, cap * DIG_REC);
        if (d == NULL) fail(w, ENOMEM, "sha256", o.file);
        else w->dig = d, w->capdig = cap;
      }
      if (w->ndig < w->capdig) {
        unsigned char *r = w->dig + w->ndig * DIG_REC;
        uint32_t f = (uint32_t)o.file;
        r[0] = (unsigned char)f, r[1] = (unsigned char)(f >> 8), r[2] = (unsigned char)(f >> 16), r[3] = (unsigned char)(f >> 24);
        memcpy(w->dig + w->ndig * DIG_REC + 4, md, 32);
        w->ndig++;
      }
    }
    if (o.kind == OP_WRITE) w->aused -= o.skip + o.len;
    else w->files--;
    w->qhead = (w->qhead + 1) % QCAP;
    w->qlen--;
    pthread_cond_broadcast(&w->space);
  }
  w->busy = 0;
  pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Stops the thread after the queue is done; the writer may be freed afterwards. */
static void shut(writer *w) {
  if (w->closed) return;
  w->closed = 1;
  if (!w->started) return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->work);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  free(w->arena); /* the thread is gone: nothing reads the arena any more */
  w->arena = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  writer *w = data;
  shut(w);
  free(w->arena);
  free(w->dig);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->work);
  pthread_cond_destroy(&w->space);
  pthread_cond_destroy(&w->idle);
  free(w);
}

static writer *get_writer(napi_env env, napi_value v) {
  writer *w = arg_external(env, v, "the \"writer\" argument must be a writer");
  if (w == NULL) return NULL;
  if (w->closed) {
    throw_errno(env, EBADF, "writer", NULL, NULL);
    return NULL;
  }
  return w;
}

/* Throws the kept failure (the lock is held), as a Node-shaped error with `file` set. */
static napi_value throw_kept(napi_env env, writer *w) {
  int err = w->err;
  const char *call = w->err_call;
  int32_t file = w->err_file;
  pthread_mutex_unlock(&w->mu);
  throw_errno(env, err, call, NULL, NULL);
  napi_value e, f;
  if (napi_get_and_clear_last_exception(env, &e) == napi_ok) {
    napi_create_int32(env, file, &f);
    napi_set_named_property(env, e, "file", f);
    napi_throw(env, e);
  }
  return NULL;
}

/* Waits (lock held) for a queue slot and, when need > 0, `need` contiguous arena bytes;
 * sets *at and *skip. Returns 0, or -1 when a failure is kept (lock still held). */
static int reserve(writer *w, size_t need, size_t *at, size_t *skip) {
  for (;;) {
    if (w->err != 0) return -1;
    if (w->qlen < QCAP) {
      if (need == 0) return 0;
      size_t tail = w->atail;
      int wrap = tail + need > w->acap; /* the rest of the arena is too short: start at 0 */
      size_t sk = wrap ? w->acap - tail : 0;
      if (w->aused + sk + need <= w->acap) {
        *skip = sk;
        *at = wrap ? 0 : tail;
        return 0;
      }
    }
    pthread_cond_wait(&w->space, &w->mu);
  }
}

static void push(writer *w, const wop *o) {
  w->q[(w->qhead + w->qlen) % QCAP] = *o;
  w->qlen++;
  w->busy = 1;
  pthread_cond_signal(&w->work);
}

/* writerOpen(arenaBytes): a writer thread with an arena of that many bytes (>= 64 KiB). */
napi_value n_writer_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t cap;
  if (get_args(env, info, 1, argv) || arg_i64(env, argv[0], "arenaBytes", &cap)) return NULL;
  if (cap < 65536 || cap > ((int64_t)1 << 32)) return throw_type(env, "arenaBytes must be in [64 KiB, 4 GiB]");
  writer *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "writerOpen", NULL, NULL);
  w->arena = malloc((size_t)cap);
  if (w->arena == NULL) {
    free(w);
    return throw_errno(env, ENOMEM, "writerOpen", NULL, NULL);
  }
  w->acap = (size_t)cap;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->work, NULL);
  pthread_cond_init(&w->space, NULL);
  pthread_cond_init(&w->idle, NULL);
  int e = pthread_create(&w->th, NULL, loop, w);
  if (e != 0) {
    w->closed = 1;
    finalize(env, w, NULL);
    return throw_errno(env, e, "pthread_create", NULL, NULL);
  }
  w->started = 1;
  napi_value ext;
  if (napi_create_external(env, w, finalize, NULL, &ext) != napi_ok) {
    finalize(env, w, NULL);
    return NULL;
  }
  return ext;
}

/* writerWrite(w, fd, file, data, off, len, pos, hash): data[off, +len) copied, to be written at
 * pos of fd (and hashed, in order, when `hash`). Waits while the arena is full; throws a failure
 * kept from earlier work. */
napi_value n_writer_write(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (get_args(env, info, 8, argv)) return NULL;
  writer *w = get_writer(env, argv[0]);
  if (w == NULL) return NULL;
  int32_t fd, file;
  bytes_arg data;
  int64_t off, len, pos;
  int hash;
  if (arg_int(env, argv[1], "fd", &fd) || arg_int(env, argv[2], "file", &file) || arg_bytes(env, argv[3], "data", &data) ||
      arg_i64(env, argv[4], "off", &off) || arg_i64(env, argv[5], "len", &len) || arg_i64(env, argv[6], "pos", &pos) ||
      arg_bool(env, argv[7], "hash", &hash))
    return NULL;
  if (off < 0 || len < 0 || pos < 0 || (uint64_t)off + (uint64_t)len > data.len) return throw_type(env, "data range out of bounds");
  if (hash && !sha256_ready()) return throw_errno(env, ENOSYS, "sha256", NULL, NULL);
  const unsigned char *src = (const unsigned char *)data.data + off;
  size_t piece_max = w->acap / 4;
  pthread_mutex_lock(&w->mu);
  while (len > 0) {
    size_t n = (size_t)len < piece_max ? (size_t)len : piece_max;
    size_t at = 0, skip = 0;
    if (reserve(w, n, &at, &skip) != 0) return throw_kept(env, w);
    if (at + n > w->acap) { /* cannot happen: reserve() keeps pieces inside the arena */
      pthread_mutex_unlock(&w->mu);
      return throw_type(env, "writer arena overrun");
    }
    /* the reserved bytes are ours alone: copy without the lock */
    w->aused += skip + n;
    w->atail = at + n;
    pthread_mutex_unlock(&w->mu);
    memcpy(w->arena + at, src, n);
    pthread_mutex_lock(&w->mu);
    wop o = {.kind = OP_WRITE, .fd = fd, .hash = hash, .file = file, .at = at, .len = n, .skip = skip, .pos = pos};
    push(w, &o);
    src += n;
    pos += (int64_t)n;
    len -= (int64_t)n;
  }
  if (w->err != 0) return throw_kept(env, w);
  pthread_mutex_unlock(&w->mu);
  return js_undefined(env);
}

/* writerFinish(w, fd, file, uid, gid, mode, aSec, aNsec, mSec, mNsec, truncate, hash): after
 * fd's queued content: ftruncate(truncate) when >= 0, owner (unless -1/-1), mode (unless -1),
 * times, close; with `hash`, the digest of the content (zeros up to `truncate` for a trailing
 * hole) is returned by the next writerDrain(). fd belongs to the writer from here on. */
napi_value n_writer_finish(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (get_args(env, info, 12, argv)) return NULL;
  writer *w = get_writer(env, argv[0]);
  if (w == NULL) return NULL;
  wop o = {.kind = OP_FINISH};
  if (arg_int(env, argv[1], "fd", &o.fd) || arg_int(env, argv[2], "file", &o.file) || arg_id(env, argv[3], "uid", &o.uid) ||
      arg_id(env, argv[4], "gid", &o.gid) || arg_int(env, argv[5], "mode", &o.mode) ||
      arg_timespec(env, argv[6], argv[7], "atime", &o.ts[0]) || arg_timespec(env, argv[8], argv[9], "mtime", &o.ts[1]) ||
      arg_i64(env, argv[10], "truncate", &o.truncate) || arg_bool(env, argv[11], "hash", &o.hash))
    return NULL;
  if (o.hash && !sha256_ready()) return throw_errno(env, ENOSYS, "sha256", NULL, NULL);
  pthread_mutex_lock(&w->mu);
  while (w->qlen >= QCAP || w->files >= MAX_FILES) pthread_cond_wait(&w->space, &w->mu);
  w->files++;
  push(w, &o); /* queued even after a failure: the thread still closes the fd */
  if (w->err != 0) return throw_kept(env, w);
  pthread_mutex_unlock(&w->mu);
  return js_undefined(env);
}

/* writerDrain(w): waits until everything queued is done; throws the kept failure, if any
 * (it stays kept). Returns the digests of the hashed files finished since the last drain, as
 * a Buffer of 36-byte records (int32 file id, little-endian, then the 32-byte SHA-256). */
napi_value n_writer_drain(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  writer *w = get_writer(env, argv[0]);
  if (w == NULL) return NULL;
  pthread_mutex_lock(&w->mu);
  while (w->qlen > 0 || w->busy) pthread_cond_wait(&w->idle, &w->mu);
  if (w->err != 0) return throw_kept(env, w);
  size_t n = w->ndig * DIG_REC;
  void *out;
  napi_value buf;
  napi_status st = napi_create_buffer_copy(env, n, n > 0 ? (const void *)w->dig : (const void *)"", &out, &buf);
  w->ndig = 0;
  pthread_mutex_unlock(&w->mu);
  return st == napi_ok ? buf : NULL;
}

/* writerClose(w): drains, stops the thread; idempotent, never throws for the work's failure. */
napi_value n_writer_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) == napi_ok && p != NULL) shut((writer *)p);
  return js_undefined(env);
}
