// KV quantize-and-append of one new token per sequence (see KvAppendParams): the templated kernel and its launcher.
// Instantiated in kv_append.cu for every (dtype, format). The quantization arithmetic matches
// kernels/reference/numeric.cc operation for operation, so GPU and CPU caches agree code for code.
#pragma once

#include <cuda_fp8.h>

#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/params.h"
#include "kernels/vec_types.cuh"

namespace kvsim::kernels {

inline constexpr std::uint32_t kAppendThreads = 128;

namespace detail {

/// KIVI group parameters as stored: fp16 (scale, zero) packed in a word, and their float values.
struct GroupParams {
  std::uint32_t word;
  float scale, zero;
};
__device__ __forceinline__ GroupParams group_params(float lo, float hi, int bits) {
  const float levels = static_cast<float>((1 << bits) - 1);
  __half scale_h = __float2half_rn((hi - lo) / levels);
  if (__half2float(scale_h) == 0.0f) scale_h = __float2half_rn(1.0f);
  const __half zero_h = __float2half_rn(lo);
  return {static_cast<std::uint32_t>(__half_as_ushort(scale_h)) |
              (static_cast<std::uint32_t>(__half_as_ushort(zero_h)) << 16),
          __half2float(scale_h), __half2float(zero_h)};
}
__device__ __forceinline__ std::uint32_t group_code(float x, float scale, float zero, int bits) {
  const float c = fminf(fmaxf(rintf((x - zero) / scale), 0.0f), static_cast<float>((1 << bits) - 1));
  return static_cast<std::uint32_t>(c);
}

}  // namespace detail

/*!
 * \brief Appends token positions[b] of every kv head: grid = (batch, num_kv_heads), kAppendThreads threads.
 * KIVI formats need dynamic shared memory of (2 head_dim + 2 page_size head_dim / v_group_size) floats.
 */
template <typename T, KvFormat FMT>
__global__ void __launch_bounds__(kAppendThreads) AppendKvKernel(const __grid_constant__ KvAppendParams p) {
  using namespace detail;
  const PagedKvCache& kv = p.kv;
  const int b = blockIdx.x, h = blockIdx.y, d = kv.head_dim, ps = kv.page_size;
  const int pos = p.positions[b];
  if (pos < 0) return;
  const std::int64_t src = (static_cast<std::int64_t>(b) * kv.num_kv_heads + h) * d;
  const T* k_new = static_cast<const T*>(p.k_new) + src;
  const T* v_new = static_cast<const T*>(p.v_new) + src;
  const std::int32_t* block_row = kv.block_table + static_cast<std::int64_t>(b) * kv.max_pages_per_seq;

  if constexpr (!is_group_quantized(FMT)) {
    const std::int64_t row = kv_row(kv, block_row[pos / ps], pos % ps, h) * d;
    for (int c = threadIdx.x; c < d; c += kAppendThreads) {
      if constexpr (FMT == KvFormat::kNative) {
        static_cast<T*>(kv.k_data)[row + c] = k_new[c];
        static_cast<T*>(kv.v_data)[row + c] = v_new[c];
      } else if constexpr (FMT == KvFormat::kFP8E4M3) {
        static_cast<__nv_fp8_storage_t*>(kv.k_data)[row + c] =
            __nv_cvt_float_to_fp8(static_cast<float>(k_new[c]) / kv.k_scale, __NV_SATFINITE, __NV_E4M3);
        static_cast<__nv_fp8_storage_t*>(kv.v_data)[row + c] =
            __nv_cvt_float_to_fp8(static_cast<float>(v_new[c]) / kv.v_scale, __NV_SATFINITE, __NV_E4M3);
      } else {
        const float kc = fminf(fmaxf(rintf(static_cast<float>(k_new[c]) / kv.k_scale), -127.0f), 127.0f);
        const float vc = fminf(fmaxf(rintf(static_cast<float>(v_new[c]) / kv.v_scale), -127.0f), 127.0f);
        static_cast<std::int8_t*>(kv.k_data)[row + c] = static_cast<std::int8_t>(kc);
        static_cast<std::int8_t*>(kv.v_data)[row + c] = static_cast<std::int8_t>(vc);
      }
    }
    return;
  } else {
    constexpr int BITS = kv_element_bits(FMT), PER_BYTE = 8 / BITS;
    T* res_k = static_cast<T*>(kv.residual_k);
    T* res_v = static_cast<T*>(kv.residual_v);
    const std::int64_t r = kivi_residual_row(kv, b, h, pos) * d;
    for (int c = threadIdx.x; c < d; c += kAppendThreads) {
      res_k[r + c] = k_new[c];
      res_v[r + c] = v_new[c];
    }
    const int t0 = kivi_quantized_len(pos, kv.residual_tokens, ps);
    if (kivi_quantized_len(pos + 1, kv.residual_tokens, ps) == t0) return;  // no group completed (CTA-uniform)
    __syncthreads();  // with residual_tokens = 0 the new token is part of the group

    // Quantize residual tokens [t0, t0 + ps) into page block_row[t0 / ps].
    extern __shared__ float smem[];
    const int groups = d / kv.v_group_size;
    float* k_scale = smem;
    float* k_zero = k_scale + d;
    float* v_scale = k_zero + d;
    float* v_zero = v_scale + ps * groups;
    const int page = block_row[t0 / ps];
    auto res = [&](const T* buf, int j, int c) {
      return static_cast<float>(buf[kivi_residual_row(kv, b, h, t0 + j) * d + c]);
    };
    auto* k_meta = static_cast<std::uint32_t*>(kv.k_meta);
    auto* v_meta = static_cast<std::uint32_t*>(kv.v_meta);
    for (int c = threadIdx.x; c < d; c += kAppendThreads) {  // keys: per channel over the group's tokens
      float lo = res(res_k, 0, c), hi = lo;
      for (int j = 1; j < ps; ++j) {
        const float x = res(res_k, j, c);
        lo = fminf(lo, x);
        hi = fmaxf(hi, x);
      }
      const GroupParams g = group_params(lo, hi, BITS);
      k_meta[(static_cast<std::int64_t>(page) * kv.num_kv_heads + h) * d + c] = g.word;
      k_scale[c] = g.scale;
      k_zero[c] = g.zero;
    }
    for (int e = threadIdx.x; e < ps * groups; e += kAppendThreads) {  // values: per token, channel groups
      const int j = e / groups, c0 = (e % groups) * kv.v_group_size;
      float lo = res(res_v, j, c0), hi = lo;
      for (int c = c0 + 1; c < c0 + kv.v_group_size; ++c) {
        const float x = res(res_v, j, c);
        lo = fminf(lo, x);
        hi = fmaxf(hi, x);
      }
      const GroupParams g = group_params(lo, hi, BITS);
      v_meta[kv_row(kv, page, j, h) * groups + e % groups] = g.word;
      v_scale[e] = g.scale;
      v_zero[e] = g.zero;
    }
    __syncthreads();
    const int row_bytes = d / PER_BYTE;
    for (int e = threadIdx.x; e < ps * row_bytes; e += kAppendThreads) {  // pack one byte of K and V each
      const int j = e / row_bytes, i = e % row_bytes;
      std::uint32_t kb = 0, vb = 0;
#pragma unroll
      for (int q = 0; q < PER_BYTE; ++q) {
        const int c = i * PER_BYTE + q, vg = j * groups + c / kv.v_group_size;
        kb |= group_code(res(res_k, j, c), k_scale[c], k_zero[c], BITS) << (q * BITS);
        vb |= group_code(res(res_v, j, c), v_scale[vg], v_zero[vg], BITS) << (q * BITS);
      }
      const std::int64_t row = kv_row(kv, page, j, h) * row_bytes;
      static_cast<std::uint8_t*>(kv.k_data)[row + i] = static_cast<std::uint8_t>(kb);
      static_cast<std::uint8_t*>(kv.v_data)[row + i] = static_cast<std::uint8_t>(vb);
    }
  }
}

/// Host launcher of one (dtype, format).
template <typename T, KvFormat FMT>
cudaError_t AppendKvDispatched(const KvAppendParams& p, cudaStream_t stream) {
  std::size_t smem = 0;
  if constexpr (is_group_quantized(FMT)) {
    smem = sizeof(float) * (2 * p.kv.head_dim + 2 * p.kv.page_size * (p.kv.head_dim / p.kv.v_group_size));
  }
  const dim3 grid(static_cast<unsigned>(p.batch), static_cast<unsigned>(p.kv.num_kv_heads));
  AppendKvKernel<T, FMT><<<grid, kAppendThreads, smem, stream>>>(p);
  KVSIM_CUDA_CALL(cudaGetLastError());
  return cudaSuccess;
}

}  // namespace kvsim::kernels
