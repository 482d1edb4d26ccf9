/* Module entry: registers the TUN, UDP, netlink and AEAD functions (one file per concept). */
#include "common.h"

static napi_value Init(napi_env env, napi_value exports) {
  tsg_init_common(env, exports);
  tsg_init_tun(env, exports);
  tsg_init_udp(env, exports);
  tsg_init_netlink(env, exports);
  tsg_init_aead(env, exports);
  tsg_init_offload_test(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
