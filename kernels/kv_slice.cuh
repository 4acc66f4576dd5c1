// Reading one thread's part of a paged KV cache for the decode kernel: where a range entry lives (TokenRef,
// locate), the slice of a K or V row a thread loads (Slice), and the decoding of stored 8-, 4- and 2-bit elements
// into fp16 pairs that the tensor cores take (decode_pair(s), kivi_code_pair). Layouts: kernels/params.h.
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>
#include <utility>

#include "kernels/params.h"
#include "kernels/vec_types.cuh"

namespace kvsim::kernels::detail {

/// Stored pair i (elements 2i, 2i+1 of a thread's slice) of an 8-bit or narrower format -> an fp16 pair: the value
/// for fp8 (E4M3, exact), the code for int8 (exact) and for KIVI (the unsigned code, exact; scale/zero come after).
template <KvFormat FMT, int I>
__device__ __forceinline__ std::uint32_t decode_pair(const std::uint32_t* raw) {
  constexpr std::uint32_t k1024 = 0x64006400u;  // fp16 1024 in both halves: codes sit in its mantissa
  if constexpr (FMT == KvFormat::kFP8E4M3) {
    const auto two = static_cast<__nv_fp8x2_storage_t>((raw[I / 2] >> (16 * (I % 2))) & 0xFFFFu);
    const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(two, __NV_E4M3);
    return std::uint32_t{h.x} | (std::uint32_t{h.y} << 16);
  } else if constexpr (FMT == KvFormat::kINT8) {
    // Bytes b ^ 0x80 = b + 128 under 1024's exponent: 1152 + b, then subtract 1152 (0x6480), exactly.
    const std::uint32_t x = __byte_perm(raw[I / 2] ^ 0x80808080u, 0x64646464u, I % 2 ? 0x4342u : 0x4140u);
    return as_u32(__hsub2(as_half2(x), as_half2(0x64806480u)));
  } else if constexpr (FMT == KvFormat::kINT4) {
    // Byte I % 4 of word I / 4 holds channels 2i (low nibble) and 2i+1 (high nibble).
    constexpr std::uint32_t b = I % 4, sel = b | (b << 4) | ((4 + b) << 8) | ((4 + b) << 12);
    const std::uint32_t w = raw[I / 4];
    const std::uint32_t x = and_or<0x000F000Fu, k1024>(__byte_perm(w, w >> 4, sel));
    return as_u32(__hsub2(as_half2(x), as_half2(k1024)));
  } else {
    static_assert(FMT == KvFormat::kINT2);
    // Byte (I % 8) / 2 of word I / 8 holds 4 channels; pair I is at bits 4 (I % 2) and 4 (I % 2) + 2.
    constexpr std::uint32_t b = (I % 8) / 2, s = (I % 2) * 4, sel = b | (b << 4) | ((4 + b) << 8) | ((4 + b) << 12);
    const std::uint32_t w = raw[I / 8];
    const std::uint32_t x = and_or<0x00030003u, k1024>(__byte_perm(w >> s, w >> (s + 2), sel));
    return as_u32(__hsub2(as_half2(x), as_half2(k1024)));
  }
}

template <KvFormat FMT, int N, int... I>
__device__ __forceinline__ void decode_pairs_impl(const std::uint32_t* raw, std::uint32_t* out,
                                                  std::integer_sequence<int, I...>) {
  ((out[I] = decode_pair<FMT, I>(raw)), ...);
}
/// Pairs [0, N) of a stored slice -> fp16 pairs (see decode_pair).
template <KvFormat FMT, int N>
__device__ __forceinline__ void decode_pairs(const std::uint32_t* raw, std::uint32_t* out) {
  decode_pairs_impl<FMT, N>(raw, out, std::make_integer_sequence<int, N>{});
}

/// Where range entry `idx` of a (sequence, kv head) lives: invalid past the split's end or outside [0, seq_len);
/// KIVI positions at or past quantized_len are in the residual ring (row of residual_k/v), others in a page.
struct TokenRef {
  std::int64_t row = 0;
  int page = -1;
  bool valid = false;
  bool residual = false;
};
__device__ __forceinline__ TokenRef locate(const DecodeAttentionParams& p, const std::int32_t* block_row, int b,
                                           int kvh, int seq_len, int end, int idx, int page_shift, int quantized_len,
                                           bool kivi) {
  TokenRef r;
  if (idx >= end) return r;
  const int pos = range_position(p, b, kvh, seq_len, idx);
  if (pos < 0 || pos >= seq_len) return r;
  r.valid = true;
  if (kivi && pos >= quantized_len) {
    r.residual = true;
    r.row = kivi_residual_row(p.kv, b, kvh, pos);
    return r;
  }
  // Page sizes are usually powers of two: a shift instead of a division (page_shift < 0 otherwise).
  const int page_idx = page_shift >= 0 ? pos >> page_shift : pos / p.kv.page_size;
  r.page = block_row[page_idx];
  r.row = kv_row(p.kv, r.page, pos - page_idx * p.kv.page_size, kvh);
  return r;
}

/// One thread's slice of a K or V row: DIMS contiguous channels starting at `dim0`, as stored: in T pairs (`pairs`)
/// for native KV, else in `raw`, which the kernel decodes into `pairs`. KIVI residual tokens are read at decode time
/// (load_residual), so that only the narrow raw words are live while the tile's loads are in flight. Invalid tokens
/// read nothing and stay zero.
template <std::uint32_t HEAD_DIM, int DIMS, typename T, KvFormat FMT>
struct Slice {
  static constexpr int kBits = kv_element_bits(FMT);
  static constexpr int kRawBytes = DIMS * kBits / 8;
  static constexpr int kRawWords = kRawBytes >= 4 ? kRawBytes / 4 : 1;
  static constexpr int kPairs = DIMS / 2;
  std::uint32_t raw[FMT == KvFormat::kNative ? 1 : kRawWords];
  std::uint32_t pairs[kPairs];

  /// Loads token r's slice; an invalid token reads nothing and its words stay zero.
  __device__ __forceinline__ void load(const void* data, const TokenRef& r, int dim0) {
    if constexpr (FMT == KvFormat::kNative) {
#pragma unroll
      for (int i = 0; i < kPairs; ++i) pairs[i] = 0;
      if (r.valid) ldg_bytes<DIMS * 2>(static_cast<const T*>(data) + r.row * HEAD_DIM + dim0, pairs);
    } else {
#pragma unroll
      for (int i = 0; i < kRawWords; ++i) raw[i] = 0;
      if (r.valid && !r.residual) {
        ldg_bytes<kRawBytes>(static_cast<const std::uint8_t*>(data) + (r.row * HEAD_DIM + dim0) * kBits / 8, raw);
      }
    }
  }
  /// Loads row r.row whether r is valid or not (an invalid TokenRef has row 0, always in the pages): for K, whose
  /// invalid tokens get a score of -inf whatever they hold, this saves zeroing the registers. Not for KIVI, whose
  /// residual rows index another array.
  __device__ __forceinline__ void load_any(const void* data, const TokenRef& r, int dim0) {
    static_assert(!is_group_quantized(FMT));
    if constexpr (FMT == KvFormat::kNative) {
      ldg_bytes<DIMS * 2>(static_cast<const T*>(data) + r.row * HEAD_DIM + dim0, pairs);
    } else {
      ldg_bytes<kRawBytes>(static_cast<const std::uint8_t*>(data) + (r.row * HEAD_DIM + dim0) * kBits / 8, raw);
    }
  }
  /// KIVI residual token: its T row slice -> fp16 pairs.
  __device__ __forceinline__ void load_residual(const void* residual, const TokenRef& r, int dim0) {
    ldg_bytes<DIMS * 2>(static_cast<const T*>(residual) + r.row * HEAD_DIM + dim0, pairs);
#pragma unroll
    for (int i = 0; i < kPairs; ++i) pairs[i] = convert_pair<T, __half>(pairs[i]);
  }
};

}  // namespace kvsim::kernels::detail
