#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void tsg_throw_last(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, info && info->error_message ? info->error_message : "N-API error");
  napi_throw_error(env, NULL, msg);
}

void tsg_throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *name = strerrorname_np(err);
  napi_value m, code, e, num;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, e, "errno", num);
  napi_throw(env, e);
}

void tsg_throw_range(napi_env env, const char *msg) { napi_throw_range_error(env, NULL, msg); }
void tsg_throw_type(napi_env env, const char *msg) { napi_throw_type_error(env, NULL, msg); }

int tsg_get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    tsg_throw_type(env, "expected a number");
    return 0;
  }
  return 1;
}

int tsg_get_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    tsg_throw_type(env, "expected a number");
    return 0;
  }
  return 1;
}

int tsg_get_array(napi_env env, napi_value v, napi_typedarray_type type, tsg_array *out, const char *name) {
  bool is = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, &out->length, &out->data, NULL, NULL) != napi_ok || t != type) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: wrong typed array type", name);
    tsg_throw_type(env, msg);
    return 0;
  }
  out->type = t;
  return 1;
}

void *tsg_get_external(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok) {
    tsg_throw_type(env, "expected a native handle");
    return NULL;
  }
  return p;
}

napi_value tsg_int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

napi_value tsg_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

void tsg_set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

void tsg_call_js(napi_env env, napi_async_context ctx, napi_ref fn_ref, int argc, const int32_t *args) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[4], result;
  if (napi_get_reference_value(env, fn_ref, &fn) == napi_ok && fn != NULL) {
    napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
    for (int i = 0; i < argc && i < 4; i++) napi_create_int32(env, args[i], &argv[i]);
    napi_status st = napi_make_callback(env, ctx, recv, fn, (size_t)argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

uv_loop_t *tsg_loop(napi_env env) {
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

/* errnoName(n): "EBADFD" etc. (libuv's names lack some Linux errnos), or "" when unknown. */
static napi_value errno_name(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  int32_t n;
  if (!tsg_get_i32(env, argv[0], &n)) return NULL;
  const char *name = strerrorname_np(n);
  napi_value s;
  napi_create_string_utf8(env, name ? name : "", NAPI_AUTO_LENGTH, &s);
  return s;
}

/* errnoMessage(n): strerror text. */
static napi_value errno_message(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  int32_t n;
  if (!tsg_get_i32(env, argv[0], &n)) return NULL;
  napi_value s;
  napi_create_string_utf8(env, strerror(n), NAPI_AUTO_LENGTH, &s);
  return s;
}

void tsg_init_common(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "errnoName", errno_name);
  tsg_set_fn(env, exports, "errnoMessage", errno_message);
}
