/*
 * Test-only exports of the offload logic (offload.c), so tests can feed crafted
 * super-packets and batches without a TUN:
 *   offloadSplitForTest(frame)  frame = 10-byte virtio header + packet → segments, or null (drop)
 *   offloadCoalesceForTest(data, offsets, lengths, count) → frames as written (header + bytes)
 */
#include "common.h"
#include "offload.h"

#include <string.h>

static napi_value make_buffer(napi_env env, const void *p, size_t len) {
  napi_value b;
  void *out = NULL;
  napi_create_buffer_copy(env, len, p, &out, &b);
  return b;
}

static napi_value split_for_test(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  tsg_array in;
  if (!tsg_get_array(env, argv[0], napi_uint8_array, &in, "frame")) return NULL;
  if (in.length < TSG_VNET_HDR_LEN || in.length > 65535 + TSG_VNET_HDR_LEN) {
    tsg_throw_range(env, "frame length");
    return NULL;
  }
  uint32_t len = (uint32_t)in.length - TSG_VNET_HDR_LEN;
  uint8_t *pkt = malloc(len + 1), *seg = malloc(65536);
  if (!pkt || !seg) {
    free(pkt);
    free(seg);
    tsg_throw_errno(env, "malloc", 12);
    return NULL;
  }
  memcpy(pkt, (uint8_t *)in.data + TSG_VNET_HDR_LEN, len);
  tsg_vnet_hdr h;
  tsg_vnet_parse(in.data, &h);
  tsg_gso_iter it;
  int n = tsg_gso_prepare(&it, pkt, len, &h);
  napi_value result;
  if (n < 0) {
    napi_get_null(env, &result);
  } else {
    napi_create_array_with_length(env, (size_t)n, &result);
    /* Segments 1.. first into separate buffers, then segment 0 in place, as the reader does. */
    for (int k = 1; k < n; k++) {
      uint32_t l = tsg_gso_segment(&it, (uint32_t)k, seg);
      napi_set_element(env, result, (uint32_t)k, make_buffer(env, seg, l));
    }
    uint32_t l = tsg_gso_segment(&it, 0, pkt);
    napi_set_element(env, result, 0, make_buffer(env, pkt, l));
  }
  free(pkt);
  free(seg);
  return result;
}

static napi_value coalesce_for_test(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 4);
  tsg_array data, offs, lens;
  uint32_t count;
  if (!tsg_get_array(env, argv[0], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[1], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &lens, "lengths") || !tsg_get_u32(env, argv[3], &count))
    return NULL;
  if (count > offs.length || count > lens.length) {
    tsg_throw_range(env, "count exceeds the batch");
    return NULL;
  }
  const uint32_t *o = offs.data;
  uint32_t *l = malloc((count + 1) * sizeof *l);
  tsg_gro_plan plan;
  memset(&plan, 0, sizeof plan);
  if (!l || !tsg_gro_reserve(&plan, count + 1)) {
    free(l);
    tsg_throw_errno(env, "malloc", 12);
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++)
  {
    uint32_t li = ((uint32_t *)lens.data)[i];
    l[i] = (uint64_t)o[i] + li > data.length || li > 65535 ? 0 : li;
  }
  tsg_gro_plan_batch(&plan, data.data, o, l, count);
  napi_value result;
  napi_create_array(env, &result);
  uint32_t out = 0;
  uint8_t vnet[TSG_VNET_HDR_LEN], hdr[TSG_MAX_HDR];
  struct iovec iov[TSG_GRO_MAX_IOV];
  static uint8_t frame[TSG_VNET_HDR_LEN + 65536];
  for (uint32_t g = 0; g < plan.ngroups; g++) {
    if (l[plan.first[g]] == 0) continue;
    int n = tsg_gro_frame(&plan, g, data.data, o, l, vnet, hdr, iov);
    size_t pos = 0;
    for (int j = 0; j < n; j++) {
      memcpy(frame + pos, iov[j].iov_base, iov[j].iov_len);
      pos += iov[j].iov_len;
    }
    napi_set_element(env, result, out++, make_buffer(env, frame, pos));
  }
  tsg_gro_free(&plan);
  free(l);
  return result;
}

napi_value tsg_init_offload_test(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "offloadSplitForTest", split_for_test);
  tsg_set_fn(env, exports, "offloadCoalesceForTest", coalesce_for_test);
  return exports;
}
