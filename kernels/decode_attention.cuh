// Paged decode attention on the tensor cores: templated kernels and their host launcher. Included by one
// decode_attention_<format>.cu per KV format, each of which explicitly instantiates decode_attention_for_format<FMT>
// (2 activation dtypes x 2 head dims); decode_attention.cu dispatches on the format at run time.
//
// Work decomposition: one CTA of 4 warps per (sequence, kv head, query-head chunk of up to 8, split). Each warp takes
// tiles of 16 consecutive range entries (tokens): lane k locates entry k (range position, page, row) and the threads
// take the rows they need from it by shuffles. The warp then computes, with mma.sync m16n8k16 and f32 accumulators,
//   S^T[16 tokens x 8 heads] = K[16 tokens x D] . Q^T[D x 8 heads]           (D/16 MMAs, K is the A operand)
//   O^T[D x 8 heads]        += V^T[D x 16 tokens] . P^T[16 tokens x 8 heads]  (D/16 MMAs, V^T is the A operand)
// so each K/V byte is read once for the whole GQA group and no register or instruction is spent on padding rows.
// Fragments come straight from global memory, with no shared-memory staging, thanks to two permutations that leave
// the result unchanged:
//   - the reduction dimension of Q.K can be permuted freely (Q and K the same way): thread (g, t) of a warp
//     (g = lane / 4, t = lane % 4) owns the contiguous dims [D/4 t, D/4 t + D/4) of its tokens g and g + 8 and of
//     query head g, so that each K row is read with the widest loads the format allows;
//   - the rows of O^T can be permuted freely too: thread g owns the contiguous dims [D/8 g, D/8 g + D/8) of the V
//     rows of tokens 2t, 2t+1, 2t+8, 2t+9, and dim-tile j's rows g and g + 8 are its dims j and D/16 + j.
// The probabilities P leave the S^T accumulators in the layout of an m8n8 block transposed from the one the PV
// product needs: one movmatrix.trans per 8 tokens fixes that in registers.
// Quantized KV is dequantized in registers to fp16 pairs (exact for fp8, int8 and the KIVI codes; the KIVI
// scale/zero fma rounds once to fp16), so those formats run the MMAs in fp16 with q converted from the activation
// dtype (|q| must stay below 65504, fp16's largest value). Scores are scaled in f32 after the QK product (softmax
// scale, log2 e, and the fp8/int8 key scale), so q is used as stored.
// Each warp keeps its own online-softmax state; the 4 warps are merged through shared memory at the end, splits by
// MergeSplitsKernel (flash-decoding) when the plan splits long ranges to fill the GPU.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/dispatch.h"
#include "kernels/params.h"
#include "kernels/kv_slice.cuh"
#include "kernels/mma.cuh"
#include "kernels/plan.h"
#include "kernels/vec_types.cuh"

namespace kvsim::kernels {

// Static analysis only (tools/bench/sass_hot_loop.py): -DKVSIM_DECODE_STEADY_STATE compiles the steady-state tile
// alone (no residual tokens, no accumulator rescale), so that the tile loop's SASS is what one tile costs. Such a
// build is never launched; without the macro the kernel is unchanged.
#ifdef KVSIM_DECODE_STEADY_STATE
inline constexpr bool kDecodeSteadyStateOnly = true;
#else
inline constexpr bool kDecodeSteadyStateOnly = false;
#endif

inline constexpr std::uint32_t kDecodeThreads = 128;
inline constexpr int kDecodeWarps = kDecodeThreads / 32;
inline constexpr int kDecodeTileTokens = 16;  // tokens per warp per step (the M of the QK product)

/*!
 * \brief Decode attention of one (sequence, kv head, query-head chunk, split) on the tensor cores.
 * \tparam HEAD_DIM 64 or 128
 * \tparam T activation dtype (__nv_bfloat16 or __half)
 * \tparam FMT KV storage format
 * \param p the step (shapes in params.h); grid = (batch * num_kv_heads * q_chunks, num_splits), 128 threads
 * \param q_chunks query-head chunks per kv head (chunk c serves heads [8c, 8c + 8) of the group)
 * \param tokens_per_split range entries per split (a multiple of kSplitGranularity)
 * \param part_o [num_splits, batch, num_q_heads, HEAD_DIM] normalized partial outputs, or null when not split
 * \param part_lse [num_splits, batch, num_q_heads] partial log2-sum-exp2 of log2-scaled scores
 */
/// CTAs per SM the register allocation must allow (65536 registers / 128 threads: 4 CTAs at <= 128 registers, 3 at
/// <= 168). Native, fp8 and int8 fit 4 without spilling (native bf16 at 4 CTAs: 94 % of the copy bandwidth on H100,
/// 3 CTAs: 84 %); KIVI decoding would otherwise take ~200 registers (2 CTAs).
template <KvFormat FMT>
inline constexpr int kDecodeMinCtasPerSm = is_group_quantized(FMT) ? 3 : 4;

template <std::uint32_t HEAD_DIM, typename T, KvFormat FMT>
__global__ void __launch_bounds__(kDecodeThreads, kDecodeMinCtasPerSm<FMT>)
    PagedDecodeAttentionKernel(const __grid_constant__ DecodeAttentionParams p, const int q_chunks,
                               const int tokens_per_split, float* __restrict__ part_o, float* __restrict__ part_lse) {
  using namespace detail;
  using C = std::conditional_t<FMT == KvFormat::kNative, T, __half>;  // MMA operand type
  constexpr int KD = HEAD_DIM / 4;                                    // key dims per thread (QK reduction slots)
  constexpr int KP = KD / 2;                                          // ... as pairs: pair 2j, 2j+1 feed k-step j
  constexpr int VD = HEAD_DIM / 8;                                    // value dims per thread (O^T rows)
  constexpr int NT = HEAD_DIM / 16;                                   // k-steps of QK = dim tiles of PV
  constexpr bool kKivi = is_group_quantized(FMT);
  constexpr int kHeads = kMaxGroupPerCta;  // the N of both products
  static_assert(kHeads == 8, "the MMA's N is 8 query heads");
  static_assert(kDecodeWarps * kDecodeTileTokens <= kSplitGranularity && kSplitGranularity % 64 == 0,
                "splits must be a multiple of the CTA's token step");
  using KSlice = Slice<HEAD_DIM, KD, T, FMT>;
  using VSlice = Slice<HEAD_DIM, VD, T, FMT>;

  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  const int g = lane / 4, t = lane % 4;
  const int num_kv_heads = p.kv.num_kv_heads;
  const int chunk = static_cast<int>(blockIdx.x) % q_chunks;
  const int kvh = (static_cast<int>(blockIdx.x) / q_chunks) % num_kv_heads;
  const int b = static_cast<int>(blockIdx.x) / (q_chunks * num_kv_heads);
  const int split = static_cast<int>(blockIdx.y);
  const int group = p.num_q_heads / num_kv_heads;
  const int qh0 = kvh * group + chunk * kHeads;
  const int heads = min(kHeads, group - chunk * kHeads);
  const int seq_len = p.seq_lens[b];
  const int n = range_length(p, b, kvh, seq_len);
  const int i0 = split * tokens_per_split;
  const int i1 = min(n, i0 + tokens_per_split);

  // Q^T as the B operand of the QK product: query head g (zero past the chunk's heads), dims [KD t, KD t + KD).
  std::uint32_t qf[KP];
#pragma unroll
  for (int i = 0; i < KP; ++i) qf[i] = 0;
  if (g < heads) {
    ldg_bytes<KD * 2>(
        static_cast<const T*>(p.q) + (static_cast<std::int64_t>(b) * p.num_q_heads + qh0 + g) * HEAD_DIM + KD * t, qf);
#pragma unroll
    for (int i = 0; i < KP; ++i) qf[i] = convert_pair<T, C>(qf[i]);
  }
  // Scores come out in log2 units (exp2 below); fp8/int8 fold the key scale in too.
  float score_scale = p.sm_scale * kLog2e;
  if constexpr (is_tensor_scaled(FMT)) score_scale *= p.kv.k_scale;

  // O^T accumulators: dim tile j holds rows (dims) VD g + j and VD g + NT + j, cols (heads) 2t and 2t + 1.
  float o[NT][4];
#pragma unroll
  for (int j = 0; j < NT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, d[2] = {0.0f, 0.0f};  // heads 2t, 2t + 1; d is this thread's part

  const int quantized_len = kKivi ? kivi_quantized_len(seq_len, p.kv.residual_tokens, p.kv.page_size) : 0;
  const int page_shift = (p.kv.page_size & (p.kv.page_size - 1)) == 0 ? __ffs(p.kv.page_size) - 1 : -1;
  const std::int32_t* block_row = p.kv.block_table + static_cast<std::int64_t>(b) * p.kv.max_pages_per_seq;
  // KIVI key metadata of this thread's dims for the page it was loaded for, as fp16 pairs: the scales of channel
  // pair i in k_scale2[i], their zeros in k_zero2[i] (the stored words are (scale, zero) per channel).
  [[maybe_unused]] int meta_page = -1;
  [[maybe_unused]] std::uint32_t k_scale2[kKivi ? KP : 1], k_zero2[kKivi ? KP : 1];
#pragma unroll
  for (int i = 0; i < (kKivi ? KP : 1); ++i) k_scale2[i] = k_zero2[i] = 0;  // invalid tokens decode to zeros
  [[maybe_unused]] const auto load_k_meta = [&](int page) {
    std::uint32_t meta[kKivi ? KD : 1];
    ldg_bytes<KD * 4>(static_cast<const std::uint32_t*>(p.kv.k_meta) +
                          (static_cast<std::int64_t>(page) * num_kv_heads + kvh) * HEAD_DIM + KD * t,
                      meta);
#pragma unroll
    for (int i = 0; i < (kKivi ? KP : 1); ++i) {
      k_scale2[i] = __byte_perm(meta[2 * i], meta[2 * i + 1], 0x5410u);
      k_zero2[i] = __byte_perm(meta[2 * i], meta[2 * i + 1], 0x7632u);
    }
    meta_page = page;
  };
  // KIVI value (scale, zero) words: one per token row and value group; the groups of this thread's 8-channel chunks.
  constexpr int kVGroups = kKivi ? VD / 8 : 1;
  [[maybe_unused]] const int v_meta_stride = kKivi ? HEAD_DIM / p.kv.v_group_size : 0;
  [[maybe_unused]] int v_meta_col[kVGroups];
#pragma unroll
  for (int c = 0; c < kVGroups; ++c) v_meta_col[c] = kKivi ? (VD * g + 8 * c) / p.kv.v_group_size : 0;

  for (int base = i0 + kDecodeTileTokens * warp; base < i1; base += kDecodeWarps * kDecodeTileTokens) {
    // Lane k (and k + 16) locates entry k of the tile; each thread then takes the rows of its 6 tokens from those
    // lanes (shuffles and ballots) instead of locating them itself: fp8/int8 decode went from 65 % to 96 % of the
    // copy bandwidth with this alone (locating one step ahead instead was slower: it holds more registers).
    const TokenRef here =
        locate(p, block_row, b, kvh, seq_len, i1, base + lane % kDecodeTileTokens, page_shift, quantized_len, kKivi);
    const unsigned valid_mask = __ballot_sync(0xFFFFFFFFu, here.valid);
    [[maybe_unused]] const unsigned residual_mask = kKivi ? __ballot_sync(0xFFFFFFFFu, here.residual) : 0u;
    const auto token = [&](int k) {
      TokenRef r;
      r.valid = (valid_mask >> k) & 1u;
      r.row = shfl_i64(here.row, k);
      if constexpr (kKivi) {
        r.residual = (residual_mask >> k) & 1u;
        r.page = __shfl_sync(0xFFFFFFFFu, here.page, k);
      }
      return r;
    };
    // Issue every load of the tile first: K of tokens g, g + 8; V of tokens 2t, 2t+1, 2t+8, 2t+9.
    TokenRef kref[2], vref[4];
    KSlice ks[2];
    VSlice vs[4];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      kref[r] = token(g + 8 * r);
      if constexpr (kKivi) {
        ks[r].load(p.kv.k_data, kref[r], KD * t);
      } else {
        ks[r].load_any(p.kv.k_data, kref[r], KD * t);
      }
    }
    [[maybe_unused]] std::uint32_t v_meta[4][kVGroups];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      vref[r] = token(2 * t + (r & 1) + 8 * (r >> 1));
      vs[r].load(p.kv.v_data, vref[r], VD * g);
      if constexpr (kKivi) {
#pragma unroll
        for (int c = 0; c < kVGroups; ++c) {
          v_meta[r][c] = 0;
          if (vref[r].valid && !vref[r].residual) {
            v_meta[r][c] =
                ldg4(static_cast<const std::uint32_t*>(p.kv.v_meta) + vref[r].row * v_meta_stride + v_meta_col[c]);
          }
        }
      }
    }
    if constexpr (kKivi) {  // the key metadata of token g's page, after the data (token g + 8 is usually on it too)
      if (kref[0].valid && !kref[0].residual && kref[0].page != meta_page) load_k_meta(kref[0].page);
    }

    // K -> MMA operand pairs. KIVI tiles without residual tokens (all but the last one or two of a sequence) take a
    // copy of the code without the residual branches (a warp-uniform choice).
    const auto decode_k = [&](auto with_residual) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        if constexpr (is_tensor_scaled(FMT)) {
          decode_pairs<FMT, KP>(ks[r].raw, ks[r].pairs);
        } else if constexpr (kKivi) {
          if constexpr (decltype(with_residual)::value) {
            if (kref[r].residual) {
              ks[r].load_residual(p.kv.residual_k, kref[r], KD * t);
              continue;
            }
          }
          if (kref[r].valid && kref[r].page != meta_page) load_k_meta(kref[r].page);  // token g + 8 on another page
          decode_pairs<FMT, KP>(ks[r].raw, ks[r].pairs);
#pragma unroll
          for (int i = 0; i < KP; ++i) {
            ks[r].pairs[i] = as_u32(__hfma2(as_half2(ks[r].pairs[i]), as_half2(k_scale2[i]), as_half2(k_zero2[i])));
          }
        }
      }
    };
    if (!kDecodeSteadyStateOnly && kKivi && residual_mask != 0) {
      decode_k(std::true_type{});
    } else {
      decode_k(std::false_type{});
    }
    // S^T = K . Q^T: rows tokens g (s[0..1]) and g + 8 (s[2..3]), cols heads 2t, 2t + 1. Two accumulator chains
    // (even and odd k-steps) halve the dependent MMA latency.
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f}, s_odd[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      mma_16816<C>(j % 2 ? s_odd : s, ks[0].pairs[2 * j], ks[1].pairs[2 * j], ks[0].pairs[2 * j + 1],
                   ks[1].pairs[2 * j + 1], qf[2 * j], qf[2 * j + 1]);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) s[i] += s_odd[i];

    // Online softmax per head over the tile's 16 tokens (8 row groups: shuffles across g).
    // The accumulators are rescaled only when some head's running maximum moved (after the first tiles, rarely).
    float prob[4], rescale[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float s0 = kref[0].valid ? s[h] * score_scale : -INFINITY;  // invalid: -inf, whatever K held
      const float s1 = kref[1].valid ? s[2 + h] * score_scale : -INFINITY;
      float mx = fmaxf(s0, s1);
#pragma unroll
      for (int off = 4; off < 32; off *= 2) mx = fmaxf(mx, __shfl_xor_sync(0xFFFFFFFFu, mx, off));
      const float m_new = fmaxf(m[h], mx);
      const float ref = m_new == -INFINITY ? 0.0f : m_new;  // nothing seen yet: every weight is exp2(-inf) = 0
      rescale[h] = exp2f(m[h] - ref);
      m[h] = m_new;
      d[h] *= rescale[h];
      prob[h] = exp2f(s0 - ref);
      prob[2 + h] = exp2f(s1 - ref);
      d[h] += prob[h] + prob[2 + h];
    }
    if (!kDecodeSteadyStateOnly && __any_sync(0xFFFFFFFFu, rescale[0] != 1.0f || rescale[1] != 1.0f)) {
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        o[j][0] *= rescale[0], o[j][1] *= rescale[1], o[j][2] *= rescale[0], o[j][3] *= rescale[1];
      }
    }
    // P^T as the B operand of the PV product (k = tokens 2t.., n = head g): transpose the two 8x8 blocks.
    const std::uint32_t p_lo = movmatrix_trans(pack2<C>(prob[0], prob[1]));
    const std::uint32_t p_hi = movmatrix_trans(pack2<C>(prob[2], prob[3]));

    // V -> MMA operand pairs (KIVI: with or without the residual branches, as for K).
    const auto decode_v = [&](auto with_residual) {
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        if constexpr (is_tensor_scaled(FMT)) {
          decode_pairs<FMT, VD / 2>(vs[r].raw, vs[r].pairs);
        } else if constexpr (kKivi) {
          if constexpr (decltype(with_residual)::value) {
            if (vref[r].residual) {
              vs[r].load_residual(p.kv.residual_v, vref[r], VD * g);
              continue;
            }
          }
          decode_pairs<FMT, VD / 2>(vs[r].raw, vs[r].pairs);
#pragma unroll
          for (int i = 0; i < VD / 2; ++i) {
            const std::uint32_t mw = v_meta[r][i / 4];  // (scale, zero) of the pair's value group
            vs[r].pairs[i] = as_u32(__hfma2(as_half2(vs[r].pairs[i]), as_half2(__byte_perm(mw, mw, 0x1010u)),
                                            as_half2(__byte_perm(mw, mw, 0x3232u))));
          }
        }
      }
    };
    if (!kDecodeSteadyStateOnly && kKivi && residual_mask != 0) {
      decode_v(std::true_type{});
    } else {
      decode_v(std::false_type{});
    }
    // O^T += V^T . P^T: A rows are dims, cols tokens 2t, 2t+1 (a0, a1) and 2t+8, 2t+9 (a2, a3).
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      constexpr std::uint32_t kLo = 0x5410u, kHi = 0x7632u;  // low or high halves of two words, in one word
      const std::uint32_t sel = j % 2 ? kHi : kLo;
      const int w0 = j / 2, w1 = (NT + j) / 2;
      mma_16816<C>(o[j], __byte_perm(vs[0].pairs[w0], vs[1].pairs[w0], sel),
                   __byte_perm(vs[0].pairs[w1], vs[1].pairs[w1], sel),
                   __byte_perm(vs[2].pairs[w0], vs[3].pairs[w0], sel),
                   __byte_perm(vs[2].pairs[w1], vs[3].pairs[w1], sel), p_lo, p_hi);
    }
  }

  // Each head's denominator over the warp, then the warps merged through shared memory.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
#pragma unroll
    for (int off = 4; off < 32; off *= 2) d[h] += __shfl_xor_sync(0xFFFFFFFFu, d[h], off);
  }
  __shared__ float warp_o[kDecodeWarps][kHeads][HEAD_DIM];
  __shared__ float warp_md[kDecodeWarps][kHeads][2];
#pragma unroll
  for (int j = 0; j < NT; ++j) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      warp_o[warp][2 * t + h][VD * g + j] = o[j][h];
      warp_o[warp][2 * t + h][VD * g + NT + j] = o[j][2 + h];
    }
  }
  if (g == 0) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      warp_md[warp][2 * t + h][0] = m[h];
      warp_md[warp][2 * t + h][1] = d[h];
    }
  }
  __syncthreads();
  const std::int64_t rows = static_cast<std::int64_t>(p.batch) * p.num_q_heads;
  for (std::uint32_t e = threadIdx.x; e < kHeads * HEAD_DIM; e += kDecodeThreads) {
    const int h = static_cast<int>(e / HEAD_DIM), c = static_cast<int>(e % HEAD_DIM);
    if (h >= heads) continue;
    float m_all = -INFINITY;
#pragma unroll
    for (int w = 0; w < kDecodeWarps; ++w) m_all = fmaxf(m_all, warp_md[w][h][0]);
    float d_all = 0.0f, o_all = 0.0f;
    if (m_all != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kDecodeWarps; ++w) {
        const float wt = exp2f(warp_md[w][h][0] - m_all);
        d_all = fmaf(warp_md[w][h][1], wt, d_all);
        o_all = fmaf(warp_o[w][h][c], wt, o_all);
      }
    }
    float out = d_all > 0.0f ? o_all / d_all : 0.0f;
    if constexpr (is_tensor_scaled(FMT)) out *= p.kv.v_scale;
    const std::int64_t bh = static_cast<std::int64_t>(b) * p.num_q_heads + qh0 + h;
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
template <std::uint32_t HEAD_DIM, typename T, KvFormat FMT>
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
  PagedDecodeAttentionKernel<HEAD_DIM, T, FMT>
      <<<grid, kDecodeThreads, 0, stream>>>(p, plan.q_chunks, plan.tokens_per_split, part_o, part_lse);
  KVSIM_CUDA_CALL(cudaGetLastError());
  if (plan.num_splits > 1) {
    MergeSplitsKernel<HEAD_DIM, T><<<static_cast<unsigned>(rows), HEAD_DIM, 0, stream>>>(
        part_o, part_lse, plan.num_splits, rows, static_cast<T*>(p.o), p.lse);
    KVSIM_CUDA_CALL(cudaGetLastError());
  }
  return cudaSuccess;
}

/// All instantiations of one format: dtype x head_dim. Explicitly instantiated once per format in
/// decode_attention_<format>.cu; declared for the format dispatch in decode_attention.cu.
template <KvFormat FMT>
cudaError_t decode_attention_for_format(const DecodeAttentionParams& p, const DecodePlan& plan, void* workspace,
                                        cudaStream_t stream) {
  KVSIM_DISPATCH_DTYPE(p.dtype, T, {KVSIM_DISPATCH_HEAD_DIM(p.kv.head_dim, HEAD_DIM, {
                         return PagedDecodeAttentionDispatched<HEAD_DIM, T, FMT>(p, plan, workspace, stream);
                       })})
  return cudaErrorInvalidValue;
}

/// Resident CTAs per SM of the decode kernel for p's dtype and head_dim in format FMT (CUDA occupancy calculator).
template <KvFormat FMT>
int decode_ctas_per_sm_for_format(const DecodeAttentionParams& p) {
  int ctas = 0;
  KVSIM_DISPATCH_DTYPE(
      p.dtype, T, {KVSIM_DISPATCH_HEAD_DIM(p.kv.head_dim, HEAD_DIM, {
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, PagedDecodeAttentionKernel<HEAD_DIM, T, FMT>,
                                                          kDecodeThreads, 0) != cudaSuccess) {
          return 0;
        }
        return ctas;
      })})
  return ctas;
}

}  // namespace kvsim::kernels
