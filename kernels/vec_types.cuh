// Device helpers shared by the kernels: activation-dtype traits, read-only vector loads, and the unpacking of 8
// stored KV elements (one thread's slice of a token row) into floats for every format.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

namespace kvsim::kernels::detail {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

/// Activation dtype T (__nv_bfloat16 or __half): two packed elements of a 32-bit word <-> floats.
template <typename T>
struct Act;
template <>
struct Act<__nv_bfloat16> {
  static __device__ __forceinline__ float lo(std::uint32_t w) { return __uint_as_float(w << 16); }
  static __device__ __forceinline__ float hi(std::uint32_t w) { return __uint_as_float(w & 0xFFFF0000u); }
  static __device__ __forceinline__ __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
};
template <>
struct Act<__half> {
  static __device__ __forceinline__ float lo(std::uint32_t w) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(w & 0xFFFFu)));
  }
  static __device__ __forceinline__ float hi(std::uint32_t w) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(w >> 16)));
  }
  static __device__ __forceinline__ __half from_float(float x) { return __float2half_rn(x); }
};

/// fp16 bit pattern -> float (metadata words hold (scale, zero) as the low and high halves).
__device__ __forceinline__ float half_lo(std::uint32_t w) { return Act<__half>::lo(w); }
__device__ __forceinline__ float half_hi(std::uint32_t w) { return Act<__half>::hi(w); }

/// Read-only loads (ld.global.nc) of 16, 8, 4 and 2 bytes.
__device__ __forceinline__ uint4 ldg16(const void* p) { return __ldg(static_cast<const uint4*>(p)); }
__device__ __forceinline__ uint2 ldg8(const void* p) { return __ldg(static_cast<const uint2*>(p)); }
__device__ __forceinline__ std::uint32_t ldg4(const void* p) { return __ldg(static_cast<const unsigned int*>(p)); }
__device__ __forceinline__ std::uint32_t ldg2(const void* p) { return __ldg(static_cast<const unsigned short*>(p)); }

/// 8 activation elements (16 bytes) -> floats.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& w, float (&x)[8]) {
  const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    x[2 * i] = Act<T>::lo(words[i]);
    x[2 * i + 1] = Act<T>::hi(words[i]);
  }
}

/// 8 FP8 E4M3 bytes -> floats (exact, through the hardware fp8x2 -> f16x2 conversion on sm_89+).
__device__ __forceinline__ void fp8x8_to_float(std::uint32_t lo, std::uint32_t hi, float (&x)[8]) {
  const std::uint32_t words[2] = {lo, hi};
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const __half2_raw r =
          __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>((words[i] >> (16 * j)) & 0xFFFFu), __NV_E4M3);
      x[4 * i + 2 * j] = __half2float(__ushort_as_half(r.x));
      x[4 * i + 2 * j + 1] = __half2float(__ushort_as_half(r.y));
    }
  }
}

/// 8 signed bytes -> floats: byte b ^ 0x80 placed under the exponent of 2^23 gives 2^23 + 128 + b exactly.
__device__ __forceinline__ void int8x8_to_float(std::uint32_t lo, std::uint32_t hi, float (&x)[8]) {
  const std::uint32_t words[2] = {lo ^ 0x80808080u, hi ^ 0x80808080u};
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      x[4 * i + j] = __uint_as_float(__byte_perm(words[i], 0x4B000000u, 0x7440u | j)) - 8388736.0f;
    }
  }
}

/// 8 unsigned BITS-bit codes packed little-endian in `w` -> floats (exact: code under the exponent of 2^23).
template <int BITS>
__device__ __forceinline__ void codes8_to_float(std::uint32_t w, float (&x)[8]) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    x[j] = __uint_as_float(0x4B000000u | ((w >> (BITS * j)) & ((1u << BITS) - 1u))) - 8388608.0f;
  }
}

}  // namespace kvsim::kernels::detail
