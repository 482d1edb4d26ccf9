/*
 * ChaCha20-Poly1305 through the EVP API that the `node` binary itself exports (the addon
 * links only libc). One cached EVP_CIPHER_CTX per key handle; the key is set once and each
 * packet only re-initialises the nonce and direction.
 */
#include "common.h"

#include <openssl/evp.h>
#include <string.h>

#define TAG_LEN 16

typedef struct {
  EVP_CIPHER_CTX *ctx;
} aead_key;

static void aead_free(aead_key *k) {
  if (k->ctx) {
    EVP_CIPHER_CTX_free(k->ctx); /* the provider clears its key state */
    k->ctx = NULL;
  }
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  aead_key *k = data;
  aead_free(k);
  free(k);
}

static void make_nonce(uint8_t nonce[12], uint32_t lo, uint32_t hi) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 4; i++) nonce[4 + i] = (uint8_t)(lo >> (8 * i));
  for (int i = 0; i < 4; i++) nonce[8 + i] = (uint8_t)(hi >> (8 * i));
}

/* Seals buf[0, len) in place and writes the tag at buf+len. Returns 1 on success. */
static int seal_one(EVP_CIPHER_CTX *ctx, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                    uint8_t *buf, size_t len) {
  int outl = 0;
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) != 1) return 0;
  if (aad_len && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) return 0;
  if (len && EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1) return 0;
  if (EVP_CipherFinal_ex(ctx, buf + len, &outl) != 1) return 0;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, buf + len) == 1;
}

/* Verifies and decrypts buf[0, sealed_len) in place. Returns 1 when authentic. */
static int open_one(EVP_CIPHER_CTX *ctx, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                    uint8_t *buf, size_t sealed_len) {
  int outl = 0;
  if (sealed_len < TAG_LEN) return 0;
  size_t len = sealed_len - TAG_LEN;
  uint8_t tag[TAG_LEN];
  memcpy(tag, buf + len, TAG_LEN);
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) != 1) return 0;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1) return 0;
  if (aad_len && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) return 0;
  if (len && EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1) return 0;
  return EVP_CipherFinal_ex(ctx, buf + len, &outl) == 1;
}

static aead_key *get_key(napi_env env, napi_value v) {
  aead_key *k = tsg_get_external(env, v);
  if (k && !k->ctx) {
    napi_throw_error(env, NULL, "AEAD key handle destroyed");
    return NULL;
  }
  return k;
}

/* aeadCreate(key: Uint8Array(32)): handle */
static napi_value aead_create(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  tsg_array key;
  if (!tsg_get_array(env, argv[0], napi_uint8_array, &key, "key")) return NULL;
  if (key.length != 32) {
    tsg_throw_range(env, "key must be 32 bytes");
    return NULL;
  }
  aead_key *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->ctx = EVP_CIPHER_CTX_new();
  if (!k->ctx || EVP_CipherInit_ex(k->ctx, EVP_chacha20_poly1305(), NULL, key.data, NULL, 1) != 1) {
    aead_free(k);
    free(k);
    napi_throw_error(env, NULL, "EVP chacha20-poly1305 initialisation failed");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, k, aead_finalize, NULL, &ext) != napi_ok) {
    aead_free(k);
    free(k);
    tsg_throw_last(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

/* aeadDestroy(handle): frees the context now (the finalizer frees the rest). */
static napi_value aead_destroy(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  aead_key *k = tsg_get_external(env, argv[0]);
  if (!k) return NULL;
  aead_free(k);
  return tsg_undefined(env);
}

/* Resolves buf[off, off+len+extra) with bounds checks. */
static uint8_t *span(napi_env env, napi_value vbuf, napi_value voff, napi_value vlen, size_t extra, uint32_t *len_out) {
  tsg_array buf;
  uint32_t off, len;
  if (!tsg_get_array(env, vbuf, napi_uint8_array, &buf, "buf")) return NULL;
  if (!tsg_get_u32(env, voff, &off) || !tsg_get_u32(env, vlen, &len)) return NULL;
  if ((uint64_t)off + len + extra > buf.length || len > 0x7fffffff) {
    tsg_throw_range(env, "packet out of buffer bounds");
    return NULL;
  }
  *len_out = len;
  return (uint8_t *)buf.data + off;
}

/* aeadSeal(handle, counterLo, counterHi, buf, off, len): tag written at off+len. */
static napi_value aead_seal(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 6);
  aead_key *k = get_key(env, argv[0]);
  uint32_t lo, hi, len;
  if (!k || !tsg_get_u32(env, argv[1], &lo) || !tsg_get_u32(env, argv[2], &hi)) return NULL;
  uint8_t *p = span(env, argv[3], argv[4], argv[5], TAG_LEN, &len);
  if (!p) return NULL;
  uint8_t nonce[12];
  make_nonce(nonce, lo, hi);
  if (!seal_one(k->ctx, nonce, NULL, 0, p, len)) {
    napi_throw_error(env, NULL, "EVP seal failed");
    return NULL;
  }
  return tsg_undefined(env);
}

/* aeadOpen(handle, counterLo, counterHi, buf, off, sealedLen): boolean */
static napi_value aead_open(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 6);
  aead_key *k = get_key(env, argv[0]);
  uint32_t lo, hi, len;
  if (!k || !tsg_get_u32(env, argv[1], &lo) || !tsg_get_u32(env, argv[2], &hi)) return NULL;
  uint8_t *p = span(env, argv[3], argv[4], argv[5], 0, &len);
  if (!p) return NULL;
  uint8_t nonce[12];
  make_nonce(nonce, lo, hi);
  napi_value r;
  napi_get_boolean(env, open_one(k->ctx, nonce, NULL, 0, p, len), &r);
  return r;
}

/* Optional AAD argument: a Uint8Array, or null/undefined for none. */
static int get_aad(napi_env env, napi_value v, tsg_array *aad) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    aad->data = NULL;
    aad->length = 0;
    return 1;
  }
  return tsg_get_array(env, v, napi_uint8_array, aad, "aad");
}

/* aeadSealNonce(handle, nonce12, aad|null, buf, off, len) / aeadOpenNonce(...sealedLen): any 96-bit nonce. */
static napi_value aead_nonce_op(napi_env env, napi_callback_info info, int seal) {
  TSG_ARGS(env, info, 6);
  aead_key *k = get_key(env, argv[0]);
  tsg_array nonce, aad;
  uint32_t len;
  if (!k || !tsg_get_array(env, argv[1], napi_uint8_array, &nonce, "nonce") || !get_aad(env, argv[2], &aad)) return NULL;
  if (nonce.length != 12) {
    tsg_throw_range(env, "nonce must be 12 bytes");
    return NULL;
  }
  uint8_t *p = span(env, argv[3], argv[4], argv[5], seal ? TAG_LEN : 0, &len);
  if (!p) return NULL;
  napi_value r;
  if (seal) {
    if (!seal_one(k->ctx, nonce.data, aad.data, aad.length, p, len)) {
      napi_throw_error(env, NULL, "EVP seal failed");
      return NULL;
    }
    napi_get_undefined(env, &r);
  } else {
    napi_get_boolean(env, open_one(k->ctx, nonce.data, aad.data, aad.length, p, len), &r);
  }
  return r;
}
static napi_value aead_seal_nonce(napi_env env, napi_callback_info info) { return aead_nonce_op(env, info, 1); }
static napi_value aead_open_nonce(napi_env env, napi_callback_info info) { return aead_nonce_op(env, info, 0); }

/*
 * aeadSealBatch(handle, data, offsets, lengths, counterLo, counterHi, count, start)
 * aeadOpenBatch(handle, data, offsets, lengths, counterLo, counterHi, count, start, status)
 * Packets [start, start+count). Seal writes each tag after the packet (lengths unchanged).
 * Open writes status[i] = 1 when authentic (plaintext = lengths[i]-16 bytes), else 0.
 * Returns the number of packets sealed / opened successfully.
 */
static napi_value aead_batch(napi_env env, napi_callback_info info, int seal) {
  TSG_ARGS(env, info, 9);
  aead_key *k = get_key(env, argv[0]);
  tsg_array data, offs, lens, clo, chi, status = {0};
  uint32_t count, start;
  if (!k || !tsg_get_array(env, argv[1], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[3], napi_uint32_array, &lens, "lengths") ||
      !tsg_get_array(env, argv[4], napi_uint32_array, &clo, "counterLo") ||
      !tsg_get_array(env, argv[5], napi_uint32_array, &chi, "counterHi") || !tsg_get_u32(env, argv[6], &count) ||
      !tsg_get_u32(env, argv[7], &start))
    return NULL;
  if (!seal && !tsg_get_array(env, argv[8], napi_uint8_array, &status, "status")) return NULL;
  uint64_t end = (uint64_t)start + count;
  if (end > offs.length || end > lens.length || end > clo.length || end > chi.length ||
      (!seal && end > status.length)) {
    tsg_throw_range(env, "batch index out of range");
    return NULL;
  }
  const uint32_t *o = offs.data, *l = lens.data, *lo = clo.data, *hi = chi.data;
  uint8_t *st = status.data, *d = data.data;
  /* Validate every span first so a bad batch throws without half-processing it. */
  for (uint32_t i = start; i < end; i++) {
    if ((uint64_t)o[i] + l[i] + (seal ? TAG_LEN : 0) > data.length || l[i] > 0x7fffffff) {
      tsg_throw_range(env, "packet out of buffer bounds");
      return NULL;
    }
  }
  int ok = 0;
  uint8_t nonce[12];
  for (uint32_t i = start; i < end; i++) {
    make_nonce(nonce, lo[i], hi[i]);
    if (seal) {
      if (!seal_one(k->ctx, nonce, NULL, 0, d + o[i], l[i])) {
        napi_throw_error(env, NULL, "EVP seal failed");
        return NULL;
      }
      ok++;
    } else {
      int r = open_one(k->ctx, nonce, NULL, 0, d + o[i], l[i]);
      st[i] = (uint8_t)r;
      ok += r;
    }
  }
  return tsg_int(env, ok);
}
static napi_value aead_seal_batch(napi_env env, napi_callback_info info) { return aead_batch(env, info, 1); }
static napi_value aead_open_batch(napi_env env, napi_callback_info info) { return aead_batch(env, info, 0); }

napi_value tsg_init_aead(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "aeadCreate", aead_create);
  tsg_set_fn(env, exports, "aeadDestroy", aead_destroy);
  tsg_set_fn(env, exports, "aeadSeal", aead_seal);
  tsg_set_fn(env, exports, "aeadOpen", aead_open);
  tsg_set_fn(env, exports, "aeadSealNonce", aead_seal_nonce);
  tsg_set_fn(env, exports, "aeadOpenNonce", aead_open_nonce);
  tsg_set_fn(env, exports, "aeadSealBatch", aead_seal_batch);
  tsg_set_fn(env, exports, "aeadOpenBatch", aead_open_batch);
  return exports;
}
