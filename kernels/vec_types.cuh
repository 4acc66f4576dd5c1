// Device helpers shared by the kernels: activation-dtype traits, 16-bit pairs (packing floats, converting between
// bf16 and fp16, reinterpreting as half2), read-only vector loads, and a fused AND-OR.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

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

/// Read-only loads (ld.global.nc) of 16, 8, 4 and 2 bytes.
__device__ __forceinline__ uint4 ldg16(const void* p) { return __ldg(static_cast<const uint4*>(p)); }
__device__ __forceinline__ uint2 ldg8(const void* p) { return __ldg(static_cast<const uint2*>(p)); }
__device__ __forceinline__ std::uint32_t ldg4(const void* p) { return __ldg(static_cast<const unsigned int*>(p)); }
__device__ __forceinline__ std::uint32_t ldg2(const void* p) { return __ldg(static_cast<const unsigned short*>(p)); }

/// Two floats -> one packed pair of C (lo in the low 16 bits).
template <typename C>
__device__ __forceinline__ std::uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<C, __nv_bfloat16>) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  } else {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  }
}
__device__ __forceinline__ __half2 as_half2(std::uint32_t u) { return *reinterpret_cast<const __half2*>(&u); }
__device__ __forceinline__ std::uint32_t as_u32(__half2 h) { return *reinterpret_cast<const std::uint32_t*>(&h); }

/// A pair of T (activation dtype) -> a pair of C.
template <typename T, typename C>
__device__ __forceinline__ std::uint32_t convert_pair(std::uint32_t w) {
  if constexpr (std::is_same_v<T, C>) {
    return w;
  } else {
    return pack2<C>(Act<T>::lo(w), Act<T>::hi(w));
  }
}

/// Loads NBYTES contiguous bytes (2, 4, 8 or a multiple of 16, aligned to min(NBYTES, 16)) into 32-bit words.
template <int NBYTES>
__device__ __forceinline__ void ldg_bytes(const void* ptr, std::uint32_t* w) {
  const auto* p = static_cast<const std::uint8_t*>(ptr);
  if constexpr (NBYTES >= 16) {
    static_assert(NBYTES % 16 == 0);
#pragma unroll
    for (int i = 0; i < NBYTES / 16; ++i) {
      const uint4 v = ldg16(p + 16 * i);
      w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
    }
  } else if constexpr (NBYTES == 8) {
    const uint2 v = ldg8(p);
    w[0] = v.x, w[1] = v.y;
  } else if constexpr (NBYTES == 4) {
    w[0] = ldg4(p);
  } else {
    static_assert(NBYTES == 2);
    w[0] = ldg2(p);
  }
}

/// (a & mask) | bits in one LOP3 (the compiler splits it in two when both constants are immediates).
template <std::uint32_t MASK, std::uint32_t BITS>
__device__ __forceinline__ std::uint32_t and_or(std::uint32_t a) {
  std::uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(r) : "r"(a), "n"(MASK), "n"(BITS));  // 0xEA: (a & b) | c
  return r;
}

}  // namespace kvsim::kernels::detail
