{
  "targets": [
    {
      "target_name": "tsguard_native",
      "sources": ["src/addon.c", "src/common.c", "src/tun.c", "src/udp.c", "src/netlink.c", "src/aead.c", "src/offload.c", "src/offload-test.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
