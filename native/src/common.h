/* Shared helpers for the tsguard addon: error throwing and argument access. */
#ifndef TSG_COMMON_H
#define TSG_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

#define TSG_CALL(env, call)                                   \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      tsg_throw_last(env, #call);                             \
      return NULL;                                            \
    }                                                         \
  } while (0)

#define TSG_ARGS(env, info, n)                                \
  size_t argc = (n);                                          \
  napi_value argv[(n) > 0 ? (n) : 1];                         \
  TSG_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

/* A JS typed array's memory, resolved once. */
typedef struct {
  void *data;
  size_t length; /* in elements */
  napi_typedarray_type type;
} tsg_array;

void tsg_throw_last(napi_env env, const char *what);
/* Throws an Error "<what>: <strerror(err)>" with .code = "EXXX" and .errno = err (positive). */
void tsg_throw_errno(napi_env env, const char *what, int err);
void tsg_throw_range(napi_env env, const char *msg);
void tsg_throw_type(napi_env env, const char *msg);

int tsg_get_i32(napi_env env, napi_value v, int32_t *out);
int tsg_get_u32(napi_env env, napi_value v, uint32_t *out);
/* Returns 0 and throws TypeError when `v` is not a typed array of `type`. */
int tsg_get_array(napi_env env, napi_value v, napi_typedarray_type type, tsg_array *out, const char *name);
void *tsg_get_external(napi_env env, napi_value v);
napi_value tsg_int(napi_env env, int32_t v);
napi_value tsg_undefined(napi_env env);
void tsg_set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/*
 * Calls a JS callback held by `ref` from a libuv callback (handle scope, async context,
 * uncaught exceptions routed to process 'uncaughtException').
 */
void tsg_call_js(napi_env env, napi_async_context ctx, napi_ref fn, int argc, const int32_t *args);

uv_loop_t *tsg_loop(napi_env env);

void tsg_init_common(napi_env env, napi_value exports);
napi_value tsg_init_tun(napi_env env, napi_value exports);
napi_value tsg_init_udp(napi_env env, napi_value exports);
napi_value tsg_init_aead(napi_env env, napi_value exports);
napi_value tsg_init_netlink(napi_env env, napi_value exports);
napi_value tsg_init_offload_test(napi_env env, napi_value exports);

#endif
