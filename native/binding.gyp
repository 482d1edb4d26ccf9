{
  "targets": [
    {
      "target_name": "tsguard_native",
      "sources": ["src/addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
