// Runtime value -> compile-time constant switches for the kernel launchers (FlashInfer's DISPATCH_* style). Each
// macro binds NAME as a constexpr (or a type) inside the body and throws std::invalid_argument naming the value
// and the supported set otherwise. The supported sets are the instantiated ones: adding a value here adds one
// instantiation per kernel file, so keep them few (see README.md, "Adding a kernel").
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kvsim::kernels {
[[noreturn]] inline void throw_unsupported(const char* what, long long value, const char* supported) {
  throw std::invalid_argument(std::string("kvsim kernels: unsupported ") + what + " " + std::to_string(value) +
                              " (built: " + supported + ")");
}
}  // namespace kvsim::kernels

/// One case of a dispatch switch: binds NAME to the case's VALUE as a constexpr and runs the body.
#define KVSIM_DISPATCH_CASE(VALUE, NAME, ...) \
  case VALUE: {                               \
    constexpr auto NAME = VALUE;              \
    __VA_ARGS__                               \
    break;                                    \
  }

/// HEAD_DIM in {64, 128}.
#define KVSIM_DISPATCH_HEAD_DIM(head_dim, HEAD_DIM, ...)                      \
  switch (head_dim) {                                                         \
    KVSIM_DISPATCH_CASE(64u, HEAD_DIM, __VA_ARGS__)                           \
    KVSIM_DISPATCH_CASE(128u, HEAD_DIM, __VA_ARGS__)                          \
    default:                                                                  \
      ::kvsim::kernels::throw_unsupported("head_dim", (head_dim), "64, 128"); \
  }

/// DType -> T (CUDA only: __nv_bfloat16 or __half).
#define KVSIM_DISPATCH_DTYPE(dtype, T, ...)                                                \
  switch (dtype) {                                                                         \
    case ::kvsim::kernels::DType::kBF16: {                                                 \
      using T = __nv_bfloat16;                                                             \
      __VA_ARGS__                                                                          \
      break;                                                                               \
    }                                                                                      \
    case ::kvsim::kernels::DType::kFP16: {                                                 \
      using T = __half;                                                                    \
      __VA_ARGS__                                                                          \
      break;                                                                               \
    }                                                                                      \
    default:                                                                               \
      ::kvsim::kernels::throw_unsupported("dtype", static_cast<int>(dtype), "bf16, fp16"); \
  }

/// KvFormat -> FMT constant.
#define KVSIM_DISPATCH_KV_FORMAT(format, FMT, ...)                                                                 \
  switch (format) {                                                                                                \
    KVSIM_DISPATCH_CASE(::kvsim::kernels::KvFormat::kNative, FMT, __VA_ARGS__)                                     \
    KVSIM_DISPATCH_CASE(::kvsim::kernels::KvFormat::kFP8E4M3, FMT, __VA_ARGS__)                                    \
    KVSIM_DISPATCH_CASE(::kvsim::kernels::KvFormat::kINT8, FMT, __VA_ARGS__)                                       \
    KVSIM_DISPATCH_CASE(::kvsim::kernels::KvFormat::kINT4, FMT, __VA_ARGS__)                                       \
    KVSIM_DISPATCH_CASE(::kvsim::kernels::KvFormat::kINT2, FMT, __VA_ARGS__)                                       \
    default:                                                                                                       \
      ::kvsim::kernels::throw_unsupported("kv format", static_cast<int>(format), "native, fp8, int8, int4, int2"); \
  }
