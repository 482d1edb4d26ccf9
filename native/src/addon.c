#include <node_api.h>

/* Placeholder module init; TUN, UDP and batch AEAD are registered here. */
static napi_value Init(napi_env env, napi_value exports) { return exports; }

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
