/* SHA-256 for file contents hashed where their bytes already are (the one-call small-file write,
 * the writer thread). The implementation is OpenSSL's low-level SHA256_Init/Update/Final, which
 * Node carries and exports (it picks SHA-NI or AVX2 at run time); they are looked up once with
 * dlsym in the running process, so the addon builds without OpenSSL headers and still loads
 * (without native hashing: sha256Ready() is false) under a runtime that lacks them. */
#include "ocibundle.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

static struct {
  int (*init)(void *);
  int (*update)(void *, const void *, size_t);
  int (*final)(unsigned char *, void *);
} ssl;
static int ready = 0;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void lookup(void) {
  *(void **)&ssl.init = dlsym(RTLD_DEFAULT, "SHA256_Init");
  *(void **)&ssl.update = dlsym(RTLD_DEFAULT, "SHA256_Update");
  *(void **)&ssl.final = dlsym(RTLD_DEFAULT, "SHA256_Final");
  if (ssl.init == NULL || ssl.update == NULL || ssl.final == NULL) return;
  /* the known answer for "abc": a symbol of that name that is not SHA-256 is not used */
  static const unsigned char abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  sha256_ctx c;
  unsigned char md[32];
  if (ssl.init(&c) != 1 || ssl.update(&c, "abc", 3) != 1 || ssl.final(md, &c) != 1 || memcmp(md, abc, 32) != 0) return;
  ready = 1;
}

int sha256_ready(void) {
  pthread_once(&once, lookup);
  return ready;
}

void sha256_init(sha256_ctx *c) { ssl.init(c); }
void sha256_update(sha256_ctx *c, const void *p, size_t n) {
  if (n > 0) ssl.update(c, p, n);
}
void sha256_final(sha256_ctx *c, unsigned char out[32]) { ssl.final(out, c); }

/* Feeds n zero bytes (a sparse file's holes are content too). */
void sha256_zeros(sha256_ctx *c, uint64_t n) {
  static const unsigned char zeros[65536];
  while (n > 0) {
    size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
    ssl.update(c, zeros, k);
    n -= k;
  }
}

/* sha256Ready(): whether file contents can be hashed here (else the caller hashes them). */
napi_value n_sha256_ready(napi_env env, napi_callback_info info) { return js_bool(env, sha256_ready()); }
