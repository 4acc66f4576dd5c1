// Paged decode attention: templated kernels and their host launcher. Included by one decode_attention_<format>.cu
// per KV format, each of which explicitly instantiates decode_attention_for_format<FMT> (2 dtypes x 2 head dims x
// 4 group sizes); decode_attention.cu dispatches on the format at run time.
//
// Work decomposition (bandwidth first): one CTA of 128 threads per (sequence, kv head, query-head chunk, split).
// The CTA reads each K/V row of its kv head once for all GROUP query heads that share it (GQA/MQA). A token row of
// HEAD_DIM channels is read by BDX = HEAD_DIM/8 threads, 8 channels each (16-byte loads for 16-bit KV); BDZ rows
// are read side by side and every thread keeps UNROLL tokens' K and V loads in flight before using them. Each row
// keeps its own online-softmax state; rows are merged through shared memory at the end, splits by
// MergeSplitsKernel (flash-decoding) when the plan splits long ranges to fill the GPU.
#pragma once

#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/dispatch.h"
#include "kernels/params.h"
#include "kernels/plan.h"
#include "kernels/vec_types.cuh"

namespace kvsim::kernels {

inline constexpr std::uint32_t kDecodeThreads = 128;

namespace detail {

/// One thread's 8-channel slice of a token's K and V row as loaded (raw bits), with the KIVI metadata it needs.
struct KvSlice {
  uint4 k{0, 0, 0, 0};
  uint4 v{0, 0, 0, 0};
  uint4 k_meta0{0, 0, 0, 0}, k_meta1{0, 0, 0, 0};  // KIVI: (scale, zero) fp16 pairs of the 8 key channels
  std::uint32_t v_meta = 0;                        // KIVI: (scale, zero) of the value group
  bool residual = false;                           // KIVI: the token is in the full-precision residual ring
};

/// Issues the loads of token `pos` (valid, < seq_len) for channels [8 tx, 8 tx + 8).
template <std::uint32_t HEAD_DIM, typename T, KvFormat FMT>
__device__ __forceinline__ KvSlice load_slice(const PagedKvCache& kv, const std::int32_t* block_row, int b, int kvh,
                                              int pos, int quantized_len, int page_shift, std::uint32_t tx,
                                              int v_group_index) {
  KvSlice s;
  if constexpr (is_group_quantized(FMT)) {
    if (pos >= quantized_len) {
      const std::int64_t r = kivi_residual_row(kv, b, kvh, pos) * HEAD_DIM + tx * 8;
      s.k = ldg16(static_cast<const T*>(kv.residual_k) + r);
      s.v = ldg16(static_cast<const T*>(kv.residual_v) + r);
      s.residual = true;
      return s;
    }
  }
  // Page sizes are usually powers of two: a shift instead of a division (page_shift < 0 otherwise).
  const int page_idx = page_shift >= 0 ? pos >> page_shift : pos / kv.page_size;
  const int slot = pos - page_idx * kv.page_size;
  const int page = block_row[page_idx];
  const std::int64_t row = kv_row(kv, page, slot, kvh);
  if constexpr (FMT == KvFormat::kNative) {
    s.k = ldg16(static_cast<const T*>(kv.k_data) + row * HEAD_DIM + tx * 8);
    s.v = ldg16(static_cast<const T*>(kv.v_data) + row * HEAD_DIM + tx * 8);
  } else if constexpr (is_tensor_scaled(FMT)) {
    const uint2 k = ldg8(static_cast<const std::uint8_t*>(kv.k_data) + row * HEAD_DIM + tx * 8);
    const uint2 v = ldg8(static_cast<const std::uint8_t*>(kv.v_data) + row * HEAD_DIM + tx * 8);
    s.k.x = k.x, s.k.y = k.y, s.v.x = v.x, s.v.y = v.y;
  } else {
    constexpr int BITS = kv_element_bits(FMT);
    constexpr int ROW_BYTES = HEAD_DIM * BITS / 8, SLICE_BYTES = BITS;  // 8 channels * BITS / 8
    const auto* kd = static_cast<const std::uint8_t*>(kv.k_data) + row * ROW_BYTES + tx * SLICE_BYTES;
    const auto* vd = static_cast<const std::uint8_t*>(kv.v_data) + row * ROW_BYTES + tx * SLICE_BYTES;
    if constexpr (BITS == 4) {
      s.k.x = ldg4(kd), s.v.x = ldg4(vd);
    } else {
      s.k.x = ldg2(kd), s.v.x = ldg2(vd);
    }
    const auto* km = static_cast<const std::uint32_t*>(kv.k_meta) +
                     (static_cast<std::int64_t>(page) * kv.num_kv_heads + kvh) * HEAD_DIM + tx * 8;
    s.k_meta0 = ldg16(km);
    s.k_meta1 = ldg16(km + 4);
    s.v_meta = ldg4(static_cast<const std::uint32_t*>(kv.v_meta) + row * (HEAD_DIM / kv.v_group_size) + v_group_index);
  }
  return s;
}

/// K slice -> floats. fp8/int8 leave out the tensor scale (folded into q), KIVI applies its group scale/zero.
template <typename T, KvFormat FMT>
__device__ __forceinline__ void dequant_k(const KvSlice& s, float (&k)[8]) {
  if constexpr (FMT == KvFormat::kNative) {
    unpack8<T>(s.k, k);
  } else if constexpr (FMT == KvFormat::kFP8E4M3) {
    fp8x8_to_float(s.k.x, s.k.y, k);
  } else if constexpr (FMT == KvFormat::kINT8) {
    int8x8_to_float(s.k.x, s.k.y, k);
  } else {
    if (s.residual) {
      unpack8<T>(s.k, k);
      return;
    }
    codes8_to_float<kv_element_bits(FMT)>(s.k.x, k);
    const std::uint32_t meta[8] = {s.k_meta0.x, s.k_meta0.y, s.k_meta0.z, s.k_meta0.w,
                                   s.k_meta1.x, s.k_meta1.y, s.k_meta1.z, s.k_meta1.w};
#pragma unroll
    for (int c = 0; c < 8; ++c) k[c] = fmaf(k[c], half_lo(meta[c]), half_hi(meta[c]));
  }
}

/// V slice -> floats. fp8/int8 leave out the tensor scale (applied to the output).
template <typename T, KvFormat FMT>
__device__ __forceinline__ void dequant_v(const KvSlice& s, float (&v)[8]) {
  if constexpr (FMT == KvFormat::kNative) {
    unpack8<T>(s.v, v);
  } else if constexpr (FMT == KvFormat::kFP8E4M3) {
    fp8x8_to_float(s.v.x, s.v.y, v);
  } else if constexpr (FMT == KvFormat::kINT8) {
    int8x8_to_float(s.v.x, s.v.y, v);
  } else {
    if (s.residual) {
      unpack8<T>(s.v, v);
      return;
    }
    codes8_to_float<kv_element_bits(FMT)>(s.v.x, v);
    const float scale = half_lo(s.v_meta), zero = half_hi(s.v_meta);
#pragma unroll
    for (int c = 0; c < 8; ++c) v[c] = fmaf(v[c], scale, zero);
  }
}

}  // namespace detail

/*!
 * \brief Decode attention of one (sequence, kv head, query-head chunk, split).
 * \tparam HEAD_DIM 64 or 128
 * \tparam GROUP query heads served (slots; the last chunk of a group may use fewer)
 * \tparam T activation dtype (__nv_bfloat16 or __half)
 * \tparam FMT KV storage format
 * \param p the step (shapes in params.h); grid = (batch * num_kv_heads * q_chunks, num_splits), 128 threads
 * \param q_chunks query-head chunks per kv head
 * \param tokens_per_split range entries per split
 * \param part_o [num_splits, batch, num_q_heads, HEAD_DIM] normalized partial outputs, or null when not split
 * \param part_lse [num_splits, batch, num_q_heads] partial log2-sum-exp2 of log2-scaled scores
 */
template <std::uint32_t HEAD_DIM, std::uint32_t GROUP, typename T, KvFormat FMT>
__global__ void __launch_bounds__(kDecodeThreads)
    PagedDecodeAttentionKernel(const __grid_constant__ DecodeAttentionParams p, const int q_chunks,
                               const int tokens_per_split, float* __restrict__ part_o, float* __restrict__ part_lse) {
  constexpr std::uint32_t VEC = 8;                      // channels per thread
  constexpr std::uint32_t BDX = HEAD_DIM / VEC;         // threads per token row
  constexpr std::uint32_t BDZ = kDecodeThreads / BDX;   // token rows side by side
  constexpr std::uint32_t UNROLL = GROUP >= 8 ? 2 : 4;  // tokens per row with loads in flight
  static_assert(BDX <= 32 && 32 % BDX == 0, "a token row must sit inside one warp");
  static_assert(BDZ * UNROLL <= kSplitGranularity, "splits must be a multiple of the token step");
  using namespace detail;

  const std::uint32_t tx = threadIdx.x % BDX, tz = threadIdx.x / BDX;
  const int num_kv_heads = p.kv.num_kv_heads;
  const int chunk = blockIdx.x % q_chunks;
  const int kvh = (blockIdx.x / q_chunks) % num_kv_heads;
  const int b = blockIdx.x / (q_chunks * num_kv_heads);
  const int split = blockIdx.y;
  const int group = p.num_q_heads / num_kv_heads;
  const int qh0 = kvh * group + chunk * static_cast<int>(GROUP);
  const int heads = min(static_cast<int>(GROUP), group - chunk * static_cast<int>(GROUP));
  const int seq_len = p.seq_lens[b];
  const int n = range_length(p, b, kvh, seq_len);
  const int i0 = split * tokens_per_split;
  const int i1 = min(n, i0 + tokens_per_split);

  // q, pre-scaled so that scores come out in log2 units (exp2 below); fp8/int8 fold the key scale in too.
  float q_scale = p.sm_scale * kLog2e;
  if constexpr (is_tensor_scaled(FMT)) q_scale *= p.kv.k_scale;
  float q[GROUP][VEC];
#pragma unroll
  for (std::uint32_t g = 0; g < GROUP; ++g) {
    if (static_cast<int>(g) < heads) {
      const std::int64_t off = (static_cast<std::int64_t>(b) * p.num_q_heads + qh0 + g) * HEAD_DIM + tx * VEC;
      unpack8<T>(ldg16(static_cast<const T*>(p.q) + off), q[g]);
#pragma unroll
      for (std::uint32_t c = 0; c < VEC; ++c) q[g][c] *= q_scale;
    } else {
#pragma unroll
      for (std::uint32_t c = 0; c < VEC; ++c) q[g][c] = 0.0f;
    }
  }

  float m[GROUP], d[GROUP], acc[GROUP][VEC];
#pragma unroll
  for (std::uint32_t g = 0; g < GROUP; ++g) {
    m[g] = -INFINITY;
    d[g] = 0.0f;
#pragma unroll
    for (std::uint32_t c = 0; c < VEC; ++c) acc[g][c] = 0.0f;
  }

  const int quantized_len =
      is_group_quantized(FMT) ? kivi_quantized_len(seq_len, p.kv.residual_tokens, p.kv.page_size) : 0;
  const int page_shift = (p.kv.page_size & (p.kv.page_size - 1)) == 0 ? __ffs(p.kv.page_size) - 1 : -1;
  const int v_group_index = is_group_quantized(FMT) ? static_cast<int>(tx * VEC) / p.kv.v_group_size : 0;
  const std::int32_t* block_row = p.kv.block_table + static_cast<std::int64_t>(b) * p.kv.max_pages_per_seq;

  // The loop bound is uniform over the CTA so that whole warps shuffle together.
  for (int base = i0; base < i1; base += BDZ * UNROLL) {
    KvSlice slice[UNROLL];
    bool valid[UNROLL];
#pragma unroll
    for (std::uint32_t u = 0; u < UNROLL; ++u) {
      const int idx = base + static_cast<int>(tz + u * BDZ);
      const int pos = idx < i1 ? range_position(p, b, kvh, seq_len, idx) : -1;
      valid[u] = pos >= 0 && pos < seq_len;
      if (valid[u]) {
        slice[u] =
            load_slice<HEAD_DIM, T, FMT>(p.kv, block_row, b, kvh, pos, quantized_len, page_shift, tx, v_group_index);
      }
    }
    // Scores: partial dot products over this thread's channels, summed across the row's BDX lanes.
    float s[UNROLL][GROUP];
#pragma unroll
    for (std::uint32_t u = 0; u < UNROLL; ++u) {
      float k[VEC];
      dequant_k<T, FMT>(slice[u], k);
#pragma unroll
      for (std::uint32_t g = 0; g < GROUP; ++g) {
        float dot = 0.0f;
#pragma unroll
        for (std::uint32_t c = 0; c < VEC; ++c) dot = fmaf(q[g][c], k[c], dot);
        s[u][g] = dot;
      }
    }
#pragma unroll
    for (std::uint32_t offset = BDX / 2; offset > 0; offset /= 2) {
#pragma unroll
      for (std::uint32_t u = 0; u < UNROLL; ++u) {
#pragma unroll
        for (std::uint32_t g = 0; g < GROUP; ++g) s[u][g] += __shfl_xor_sync(0xFFFFFFFFu, s[u][g], offset);
      }
    }
    // Online softmax over this row's UNROLL tokens, one rescale per iteration.
    float prob[UNROLL][GROUP];
#pragma unroll
    for (std::uint32_t g = 0; g < GROUP; ++g) {
      float m_new = m[g];
#pragma unroll
      for (std::uint32_t u = 0; u < UNROLL; ++u) {
        if (!valid[u]) s[u][g] = -INFINITY;
        m_new = fmaxf(m_new, s[u][g]);
      }
      const float ref = m_new == -INFINITY ? 0.0f : m_new;  // nothing seen yet: every weight is exp2(-inf) = 0
      const float rescale = exp2f(m[g] - ref);
      m[g] = m_new;
      d[g] *= rescale;
#pragma unroll
      for (std::uint32_t c = 0; c < VEC; ++c) acc[g][c] *= rescale;
#pragma unroll
      for (std::uint32_t u = 0; u < UNROLL; ++u) {
        prob[u][g] = exp2f(s[u][g] - ref);
        d[g] += prob[u][g];
      }
    }
#pragma unroll
    for (std::uint32_t u = 0; u < UNROLL; ++u) {
      float v[VEC];
      dequant_v<T, FMT>(slice[u], v);
#pragma unroll
      for (std::uint32_t g = 0; g < GROUP; ++g) {
#pragma unroll
        for (std::uint32_t c = 0; c < VEC; ++c) acc[g][c] = fmaf(prob[u][g], v[c], acc[g][c]);
      }
    }
  }

  // Merge the BDZ rows' states through shared memory; each thread then finishes (head, channel) outputs.
  __shared__ float row_o[BDZ][GROUP][HEAD_DIM];
  __shared__ float row_md[BDZ][GROUP][2];
#pragma unroll
  for (std::uint32_t g = 0; g < GROUP; ++g) {
    float4* dst = reinterpret_cast<float4*>(&row_o[tz][g][tx * VEC]);
    dst[0] = make_float4(acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
    dst[1] = make_float4(acc[g][4], acc[g][5], acc[g][6], acc[g][7]);
    if (tx == 0) {
      row_md[tz][g][0] = m[g];
      row_md[tz][g][1] = d[g];
    }
  }
  __syncthreads();
  const std::int64_t rows = static_cast<std::int64_t>(p.batch) * p.num_q_heads;
  for (std::uint32_t e = threadIdx.x; e < GROUP * HEAD_DIM; e += kDecodeThreads) {
    const int g = static_cast<int>(e / HEAD_DIM), c = static_cast<int>(e % HEAD_DIM);
    if (g >= heads) continue;
    float m_all = -INFINITY;
#pragma unroll
    for (std::uint32_t z = 0; z < BDZ; ++z) m_all = fmaxf(m_all, row_md[z][g][0]);
    float d_all = 0.0f, o_all = 0.0f;
    if (m_all != -INFINITY) {
#pragma unroll
      for (std::uint32_t z = 0; z < BDZ; ++z) {
        const float w = exp2f(row_md[z][g][0] - m_all);
        d_all = fmaf(row_md[z][g][1], w, d_all);
        o_all = fmaf(row_o[z][g][c], w, o_all);
      }
    }
    float out = d_all > 0.0f ? o_all / d_all : 0.0f;
    if constexpr (is_tensor_scaled(FMT)) out *= p.kv.v_scale;
    const std::int64_t bh = static_cast<std::int64_t>(b) * p.num_q_heads + qh0 + g;
    const float lse2 = d_all > 0.0f ? m_all + log2f(d_all) : -INFINITY;
    if (part_o != nullptr) {
      part_o[(split * rows + bh) * HEAD_DIM + c] = out;
      if (c == 0) part_lse[split * rows + bh] = lse2;
    } else {
      static_cast<T*>(p.o)[bh * HEAD_DIM + c] = Act<T>::from_float(out);
      if (c == 0 && p.lse != nullptr) p.lse[bh] = lse2 * kLn2;
    }
  }
}

/*!
 * \brief Merges split-K partial results: o = sum_s w_s o_s / sum_s w_s with w_s = exp2(lse_s - max lse).
 * \param part_o [num_splits, rows, HEAD_DIM], part_lse [num_splits, rows] (log2 units)
 * \param o [rows, HEAD_DIM] T, lse [rows] natural log or null; grid = rows, HEAD_DIM threads
 */
template <std::uint32_t HEAD_DIM, typename T>
__global__ void __launch_bounds__(HEAD_DIM)
    MergeSplitsKernel(const float* __restrict__ part_o, const float* __restrict__ part_lse, const int num_splits,
                      const std::int64_t rows, T* __restrict__ o, float* __restrict__ lse) {
  using namespace detail;
  const std::int64_t r = blockIdx.x;
  const int c = threadIdx.x;
  float m_all = -INFINITY;
  for (int s = 0; s < num_splits; ++s) m_all = fmaxf(m_all, part_lse[s * rows + r]);
  float w_all = 0.0f, o_all = 0.0f;
  if (m_all != -INFINITY) {
    for (int s = 0; s < num_splits; ++s) {
      const float w = exp2f(part_lse[s * rows + r] - m_all);
      w_all += w;
      o_all = fmaf(w, part_o[(s * rows + r) * HEAD_DIM + c], o_all);
    }
  }
  o[r * HEAD_DIM + c] = Act<T>::from_float(w_all > 0.0f ? o_all / w_all : 0.0f);
  if (c == 0 && lse != nullptr) lse[r] = w_all > 0.0f ? (m_all + log2f(w_all)) * kLn2 : -INFINITY;
}

/// Host launcher of one instantiation: the main kernel, then the merge when the plan splits.
template <std::uint32_t HEAD_DIM, std::uint32_t GROUP, typename T, KvFormat FMT>
cudaError_t PagedDecodeAttentionDispatched(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                                           cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(p.batch) * p.num_q_heads;
  float* part_o = nullptr;
  float* part_lse = nullptr;
  if (plan.num_splits > 1) {
    part_o = static_cast<float*>(workspace);
    part_lse = part_o + static_cast<std::int64_t>(plan.num_splits) * rows * HEAD_DIM;
  }
  const dim3 grid(static_cast<unsigned>(p.batch * p.kv.num_kv_heads * plan.q_chunks),
                  static_cast<unsigned>(plan.num_splits));
  PagedDecodeAttentionKernel<HEAD_DIM, GROUP, T, FMT>
      <<<grid, kDecodeThreads, 0, stream>>>(p, plan.q_chunks, plan.tokens_per_split, part_o, part_lse);
  KVSIM_CUDA_CALL(cudaGetLastError());
  if (plan.num_splits > 1) {
    MergeSplitsKernel<HEAD_DIM, T><<<static_cast<unsigned>(rows), HEAD_DIM, 0, stream>>>(
        part_o, part_lse, plan.num_splits, rows, static_cast<T*>(p.o), p.lse);
    KVSIM_CUDA_CALL(cudaGetLastError());
  }
  return cudaSuccess;
}

/// All instantiations of one format: dtype x head_dim x group slots. Explicitly instantiated once per format in
/// decode_attention_<format>.cu; declared for the format dispatch in decode_attention.cu.
template <KvFormat FMT>
cudaError_t decode_attention_for_format(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                                        cudaStream_t stream) {
  KVSIM_DISPATCH_DTYPE(
      p.dtype, T, {KVSIM_DISPATCH_HEAD_DIM(p.kv.head_dim, HEAD_DIM, {KVSIM_DISPATCH_GROUP(plan.group_slots, GROUP, {
                                             return PagedDecodeAttentionDispatched<HEAD_DIM, GROUP, T, FMT>(
                                                 p, plan, workspace, stream);
                                           })})})
  return cudaErrorInvalidValue;
}

}  // namespace kvsim::kernels
