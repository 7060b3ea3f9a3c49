/* Streaming layer decoders: gzip through ISA-L's igzip (isal_inflate) and zstd through
 * libzstd, both loaded with dlopen at first use, so the addon builds and loads without them
 * (decoders() says which are there; the JS side then falls back to node:zlib or its zstd
 * backends). Bounded memory: the caller's input and output buffers, ISA-L's fixed state, and
 * libzstd's window (at most its default 2^27 bytes). gzip follows node:zlib's rules:
 * concatenated members are read, a NUL after a member starts padding that ends the stream,
 * anything else must be another member. No policy beyond that. */
#include "ocibundle.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<isa-l/igzip_lib.h>) && !defined(OCIBUNDLE_NO_ISAL)
#include <isa-l/igzip_lib.h>
#define HAVE_ISAL 1
#endif
#if __has_include(<zstd.h>) && !defined(OCIBUNDLE_NO_ZSTD)
#include <zstd.h>
#define HAVE_ZSTD 1
#endif

/* --- the libraries, looked up once ------------------------------------------------------ */

#ifdef HAVE_ISAL
static struct {
  void (*init)(struct inflate_state *);
  void (*reset)(struct inflate_state *);
  int (*inflate)(struct inflate_state *);
} isal;
#endif
#ifdef HAVE_ZSTD
static struct {
  ZSTD_DCtx *(*create)(void);
  size_t (*free_)(ZSTD_DCtx *);
  size_t (*stream)(ZSTD_DCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *);
  unsigned (*is_error)(size_t);
  const char *(*error_name)(size_t);
} zstd;
#endif
static int loaded = 0; /* 0: not tried; 1: tried */
static int have_gzip = 0, have_zstd = 0;

__attribute__((unused)) static void *sym(void *h, const char *name, int *ok) {
  void *p = h ? dlsym(h, name) : NULL;
  if (p == NULL) *ok = 0;
  return p;
}

/* Worker threads may race here: dlopen/dlsym are thread-safe and the result is the same. */
static void load_libs(void) {
  if (loaded) return;
#ifdef HAVE_ISAL
  {
    void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    int ok = h != NULL;
    *(void **)&isal.init = sym(h, "isal_inflate_init", &ok);
    *(void **)&isal.reset = sym(h, "isal_inflate_reset", &ok);
    *(void **)&isal.inflate = sym(h, "isal_inflate", &ok);
    have_gzip = ok;
  }
#endif
#ifdef HAVE_ZSTD
  {
    void *h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    int ok = h != NULL;
    *(void **)&zstd.create = sym(h, "ZSTD_createDCtx", &ok);
    *(void **)&zstd.free_ = sym(h, "ZSTD_freeDCtx", &ok);
    *(void **)&zstd.stream = sym(h, "ZSTD_decompressStream", &ok);
    *(void **)&zstd.is_error = sym(h, "ZSTD_isError", &ok);
    *(void **)&zstd.error_name = sym(h, "ZSTD_getErrorName", &ok);
    have_zstd = ok;
  }
#endif
  loaded = 1;
}

/* --- decoder state ---------------------------------------------------------------------- */

enum { KIND_GZIP = 1, KIND_ZSTD = 2 };
/* gzip phases: inside a member (its header too), after a member (the next byte decides), in
 * NUL padding after a member (everything that follows is ignored, as node:zlib does). */
enum { IN_MEMBER = 0, AFTER_MEMBER = 1, PADDING = 2 };

typedef struct {
  int kind;
  int closed;
  int seen_input;
  /* gzip */
  int phase;
  unsigned char carry[32]; /* input bytes ISA-L read ahead past a member's end, not yet fed again */
  size_t carry_len;
#ifdef HAVE_ISAL
  struct inflate_state st;
#endif
  /* zstd */
#ifdef HAVE_ZSTD
  ZSTD_DCtx *z;
#endif
  size_t zlast; /* ZSTD_decompressStream's last hint: 0 at the end of a frame */
} decoder;

static void release(decoder *d) {
  if (d->closed) return;
  d->closed = 1;
#ifdef HAVE_ZSTD
  if (d->kind == KIND_ZSTD && d->z != NULL) zstd.free_(d->z);
  d->z = NULL;
#endif
}

static void finalize(napi_env env, void *data, void *hint) {
  release((decoder *)data);
  free(data);
}

static napi_value throw_decode(napi_env env, const char *msg) {
  napi_value code, m, e;
  napi_create_string_utf8(env, "EDECODE", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, code, m, &e);
  napi_throw(env, e);
  return NULL;
}

static decoder *get_decoder(napi_env env, napi_value v) {
  decoder *d = arg_external(env, v, "the \"decoder\" argument must be a decoder");
  if (d == NULL) return NULL;
  if (d->closed) {
    throw_decode(env, "decoder is closed");
    return NULL;
  }
  return d;
}

/* decoders(): { gzip, zstd }, true where the library loaded. */
napi_value n_decoders(napi_env env, napi_callback_info info) {
  load_libs();
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "gzip", js_bool(env, have_gzip));
  napi_set_named_property(env, o, "zstd", js_bool(env, have_zstd));
  return o;
}

/* decoderOpen(kind): 'gzip' or 'zstd'; ENOTSUP when that library is not there. */
napi_value n_decoder_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  path_arg kind;
  if (get_args(env, info, 1, argv) || arg_path(env, argv[0], "kind", &kind)) return NULL;
  load_libs();
  int k = strcmp(kind.buf, "gzip") == 0 ? KIND_GZIP : strcmp(kind.buf, "zstd") == 0 ? KIND_ZSTD : 0;
  if (k == 0) return throw_type(env, "the \"kind\" argument must be 'gzip' or 'zstd'");
  if ((k == KIND_GZIP && !have_gzip) || (k == KIND_ZSTD && !have_zstd)) return throw_errno(env, ENOTSUP, "decoderOpen", kind.buf, NULL);
  decoder *d = calloc(1, sizeof *d);
  if (d == NULL) return throw_errno(env, ENOMEM, "decoderOpen", NULL, NULL);
  d->kind = k;
#ifdef HAVE_ISAL
  if (k == KIND_GZIP) {
    isal.init(&d->st);
    d->st.crc_flag = ISAL_GZIP;
  }
#endif
#ifdef HAVE_ZSTD
  if (k == KIND_ZSTD) {
    d->z = zstd.create();
    if (d->z == NULL) {
      free(d);
      return throw_errno(env, ENOMEM, "ZSTD_createDCtx", NULL, NULL);
    }
  }
#endif
  napi_value ext;
  if (napi_create_external(env, d, finalize, NULL, &ext) != napi_ok) {
    release(d);
    free(d);
    return NULL;
  }
  return ext;
}

#ifdef HAVE_ISAL
static const char *isal_message(int r) {
  switch (r) {
    case ISAL_INVALID_WRAPPER: return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_INVALID_BLOCK: return "invalid block type";
    case ISAL_INVALID_SYMBOL: return "invalid code";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_NEED_DICT: return "need dictionary";
    default: return "invalid deflate data";
  }
}

/* Decode gzip from in[0..inlen) into out[0..outlen); *used and *made report the bytes taken
 * and produced. Returns NULL or an error message. */
static const char *gzip_run(decoder *d, const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen,
                            size_t *used, size_t *made) {
  size_t ui = 0, uo = 0;
  for (;;) {
    if (d->phase == PADDING) {
      ui = inlen;
      break;
    }
    if (d->phase == AFTER_MEMBER) {
      int next;
      if (d->carry_len > 0) next = d->carry[0];
      else if (ui < inlen) next = in[ui];
      else break; /* the next byte decides: wait for it */
      if (next == 0) {
        d->phase = PADDING;
        d->carry_len = 0;
        continue;
      }
      isal.reset(&d->st);
      d->st.crc_flag = ISAL_GZIP;
      d->phase = IN_MEMBER;
    }
    int from_carry = d->carry_len > 0;
    unsigned char *src = from_carry ? d->carry : (unsigned char *)in + ui;
    size_t srclen = from_carry ? d->carry_len : inlen - ui;
    if (srclen > UINT32_MAX) srclen = UINT32_MAX;
    size_t room = outlen - uo;
    if (room > UINT32_MAX) room = UINT32_MAX;
    d->st.next_in = src;
    d->st.avail_in = (uint32_t)srclen;
    d->st.next_out = out + uo;
    d->st.avail_out = (uint32_t)room;
    int r = isal.inflate(&d->st);
    size_t took = srclen - d->st.avail_in;
    uo += room - d->st.avail_out;
    if (from_carry) {
      memmove(d->carry, d->carry + took, d->carry_len - took);
      d->carry_len -= took;
    } else {
      ui += took;
    }
    if (r < 0) {
      *used = ui;
      *made = uo;
      return isal_message(r);
    }
    if (d->st.block_state == ISAL_BLOCK_FINISH) {
      /* Bytes read ahead into the bit buffer belong to whatever follows the member: put them
       * back in front of the unread input. */
      size_t ahead = d->st.read_in_length > 0 ? (size_t)d->st.read_in_length / 8 : 0;
      if (ahead > 8) ahead = 8;
      unsigned char tmp[40];
      for (size_t i = 0; i < ahead; i++) tmp[i] = (unsigned char)(d->st.read_in >> (8 * i));
      memcpy(tmp + ahead, d->carry, d->carry_len);
      d->carry_len += ahead;
      memcpy(d->carry, tmp, d->carry_len);
      d->st.read_in = 0;
      d->st.read_in_length = 0;
      d->phase = AFTER_MEMBER;
      continue;
    }
    if (uo == outlen) break;
    if (from_carry && d->carry_len == 0) continue;
    if (!from_carry && ui == inlen) break;
    if (took == 0 && room == d->st.avail_out) break; /* no progress: needs more input */
  }
  *used = ui;
  *made = uo;
  return NULL;
}
#endif

#ifdef HAVE_ZSTD
static const char *zstd_run(decoder *d, const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen,
                            size_t *used, size_t *made) {
  ZSTD_inBuffer ib = {in, inlen, 0};
  ZSTD_outBuffer ob = {out, outlen, 0};
  for (;;) {
    size_t in0 = ib.pos, out0 = ob.pos;
    size_t r = zstd.stream(d->z, &ob, &ib);
    if (zstd.is_error(r)) {
      *used = ib.pos;
      *made = ob.pos;
      return zstd.error_name(r);
    }
    /* A call that moved nothing (a drain after a frame's end) only reports the next header's
     * size: the stream still ends where the last frame did. */
    if (ib.pos != in0 || ob.pos != out0) d->zlast = r;
    if (ob.pos == ob.size) break;
    if (ib.pos == ib.size) break;
  }
  *used = ib.pos;
  *made = ob.pos;
  return NULL;
}
#endif

/* decoderRun(dec, input, inOff, inLen, out, outOff, outLen, result): decodes from
 * input[inOff..inOff+inLen) into out[outOff..outOff+outLen); result (a Uint32Array of 2)
 * gets [input bytes taken, output bytes made]. Call again while output came out full or
 * input is left; inLen 0 drains what the decoder holds. Throws EDECODE on corrupt data. */
napi_value n_decoder_run(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (get_args(env, info, 8, argv)) return NULL;
  decoder *d = get_decoder(env, argv[0]);
  if (d == NULL) return NULL;
  bytes_arg in, out;
  int64_t inoff, inlen, outoff, outlen;
  if (arg_bytes(env, argv[1], "input", &in) || arg_i64(env, argv[2], "inOff", &inoff) || arg_i64(env, argv[3], "inLen", &inlen) ||
      arg_bytes(env, argv[4], "out", &out) || arg_i64(env, argv[5], "outOff", &outoff) || arg_i64(env, argv[6], "outLen", &outlen))
    return NULL;
  if (inoff < 0 || inlen < 0 || (uint64_t)inoff + (uint64_t)inlen > in.len) return throw_type(env, "input range out of bounds");
  if (outoff < 0 || outlen < 0 || (uint64_t)outoff + (uint64_t)outlen > out.len) return throw_type(env, "output range out of bounds");
  napi_typedarray_type tt;
  size_t rlen;
  void *rdata;
  if (napi_get_typedarray_info(env, argv[7], &tt, &rlen, &rdata, NULL, NULL) != napi_ok || tt != napi_uint32_array || rlen < 2)
    return throw_type(env, "the \"result\" argument must be a Uint32Array of 2");
  if (inlen > 0) d->seen_input = 1;
  const unsigned char *src = (const unsigned char *)in.data + inoff;
  unsigned char *dst = (unsigned char *)out.data + outoff;
  size_t used = 0, made = 0;
  const char *err = "unsupported decoder";
  (void)src;
  (void)dst;
#ifdef HAVE_ISAL
  if (d->kind == KIND_GZIP) err = gzip_run(d, src, (size_t)inlen, dst, (size_t)outlen, &used, &made);
#endif
#ifdef HAVE_ZSTD
  if (d->kind == KIND_ZSTD) err = zstd_run(d, src, (size_t)inlen, dst, (size_t)outlen, &used, &made);
#endif
  ((uint32_t *)rdata)[0] = (uint32_t)used;
  ((uint32_t *)rdata)[1] = (uint32_t)made;
  if (err != NULL) {
    release(d);
    return throw_decode(env, err);
  }
  return js_undefined(env);
}

/* decoderEnd(dec): the input is over; throws EDECODE unless it ended where a stream may end
 * (after a whole gzip member or zstd frame). Frees the decoder either way. */
napi_value n_decoder_end(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  decoder *d = get_decoder(env, argv[0]);
  if (d == NULL) return NULL;
  const char *err = NULL;
  if (d->kind == KIND_GZIP) {
    if (!d->seen_input || d->phase == IN_MEMBER || (d->phase == AFTER_MEMBER && d->carry_len > 0 && d->carry[0] != 0))
      err = "unexpected end of file";
  } else {
    if (!d->seen_input) err = "empty stream";
    else if (d->zlast != 0) err = "truncated input";
  }
  release(d);
  if (err != NULL) return throw_decode(env, err);
  return js_undefined(env);
}

/* decoderClose(dec): frees it now (a finalizer does so otherwise); closing twice is fine. */
napi_value n_decoder_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) == napi_ok && p != NULL) release((decoder *)p);
  return js_undefined(env);
}
