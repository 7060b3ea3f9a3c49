{
  "targets": [
    {
      "target_name": "ocibundle_native",
      "sources": [
        "util.c",
        "paths.c",
        "stat.c",
        "xattr.c",
        "meta.c",
        "copy.c",
        "mount.c",
        "init.c",
        "decode.c",
        "write.c",
        "writer.c",
        "sha256.c"
      ],
      "libraries": ["-ldl", "-lpthread"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
