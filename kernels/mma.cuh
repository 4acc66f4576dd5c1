// Warp-level register primitives of the tensor-core kernels: the m16n8k16 MMA with f32 accumulators, the 8x8
// 16-bit transpose that turns an accumulator layout into an operand layout, and a 64-bit shuffle.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace kvsim::kernels::detail {

/// D += A.B for one m16n8k16 tile, f32 accumulators; C is the operand type (__nv_bfloat16 or __half).
/// Fragments as in the PTX ISA: a0 (row g, cols 2t..2t+1), a1 (row g+8), a2 (row g, cols 2t+8..), a3 (row g+8,
/// cols 2t+8..); b0 (rows 2t..2t+1, col g), b1 (rows 2t+8..); d0..d1 (row g, cols 2t..2t+1), d2..d3 (row g+8).
template <typename C>
__device__ __forceinline__ void mma_16816(float (&d)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                          std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
  if constexpr (std::is_same_v<C, __nv_bfloat16>) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
}

/// Lane `src`'s 64-bit value, for the whole warp.
__device__ __forceinline__ std::int64_t shfl_i64(std::int64_t x, int src) {
  const auto lo = static_cast<std::uint32_t>(__shfl_sync(0xFFFFFFFFu, static_cast<unsigned>(x), src));
  const auto hi = static_cast<std::uint32_t>(__shfl_sync(0xFFFFFFFFu, static_cast<unsigned>(x >> 32), src));
  return static_cast<std::int64_t>((std::uint64_t{hi} << 32) | lo);
}

/// Transposes an 8x8 matrix of 16-bit elements held one row pair per thread (row lane / 4, cols 2 (lane % 4) ..).
__device__ __forceinline__ std::uint32_t movmatrix_trans(std::uint32_t x) {
  std::uint32_t y;
  asm("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(y) : "r"(x));
  return y;
}

}  // namespace kvsim::kernels::detail
