// POD parameter structs shared by the CUDA kernels (kernels/*.cuh) and their CPU references (kernels/reference/):
// raw pointers with their shapes, no CUDA types, nothing from sim/ or models/. The same struct describes device
// buffers for a launch and host buffers for a reference call. Index helpers that both sides must agree on (where a
// token lives, which tokens a restricted range keeps) are defined here once, for host and device.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define KVSIM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KVSIM_HOST_DEVICE inline
#endif

namespace kvsim::kernels {

/// Activation dtype: of q, o, the full-precision KV cache and the KIVI residual window. Stored as 16-bit words.
enum class DType : std::uint8_t { kBF16 = 0, kFP16 = 1 };

/// How K and V are stored in the pages.
///   kNative   the activation dtype T                          [num_pages, page_size, num_kv_heads, head_dim]
///   kFP8E4M3  OCP E4M3 ("fn", max 448) bytes, x = fp8 * scale    same shape, uint8, one scale per tensor (K, V)
///   kINT8     signed codes in [-127, 127], x = code * scale     same shape, int8,  one scale per tensor (K, V)
///   kINT4/2   KIVI group quantization with unsigned codes, x = code * scale + zero, packed little-endian
///             (channel c at bit (c % (8/bits)) * bits of byte c / (8/bits))      [num_pages, page_size, num_kv_heads,
///             head_dim * bits / 8]; keys per channel with the page's tokens as the group (k_meta), values per token
///             with groups of v_group_size channels (v_meta); the most recent tokens live in a residual ring in T.
enum class KvFormat : std::uint8_t { kNative = 0, kFP8E4M3 = 1, kINT8 = 2, kINT4 = 3, kINT2 = 4 };

/// Which cached tokens a decode step attends to.
///   kFull     [0, seq_len)
///   kWindow   [0, sink_tokens) ∪ [seq_len - window_tokens, seq_len)   (all tokens when seq_len <= sinks + window)
///   kSparse   the positions listed in sparse_indices for (sequence, kv head); positions outside [0, seq_len) are
///             skipped, a position listed twice counts twice
enum class TokenRange : std::uint8_t { kFull = 0, kWindow = 1, kSparse = 2 };

inline const char* to_string(DType d) { return d == DType::kBF16 ? "bf16" : "fp16"; }
inline const char* to_string(KvFormat f) {
  switch (f) {
    case KvFormat::kNative:
      return "native";
    case KvFormat::kFP8E4M3:
      return "fp8";
    case KvFormat::kINT8:
      return "int8";
    case KvFormat::kINT4:
      return "int4";
    case KvFormat::kINT2:
      return "int2";
  }
  return "?";
}
inline const char* to_string(TokenRange r) {
  return r == TokenRange::kFull ? "full" : r == TokenRange::kWindow ? "window" : "sparse";
}

/// Bits of one stored K or V element (16 for native).
KVSIM_HOST_DEVICE constexpr int kv_element_bits(KvFormat f) {
  switch (f) {
    case KvFormat::kNative:
      return 16;
    case KvFormat::kFP8E4M3:
    case KvFormat::kINT8:
      return 8;
    case KvFormat::kINT4:
      return 4;
    case KvFormat::kINT2:
      return 2;
  }
  return 16;
}
KVSIM_HOST_DEVICE constexpr bool is_group_quantized(KvFormat f) { return f == KvFormat::kINT4 || f == KvFormat::kINT2; }
KVSIM_HOST_DEVICE constexpr bool is_tensor_scaled(KvFormat f) {
  return f == KvFormat::kFP8E4M3 || f == KvFormat::kINT8;
}

/// A paged KV cache of one layer (vLLM-style pages, one page holds page_size tokens of every kv head).
/// Sequence b's token at position pos lives in page block_table[b * max_pages_per_seq + pos / page_size], slot
/// pos % page_size. KIVI formats (kINT4, kINT2) keep positions >= kivi_quantized_len(seq_len, ...) in the residual
/// ring instead (at slot pos % kivi_residual_capacity(...)); their pages hold only whole quantized groups.
struct PagedKvCache {
  KvFormat format = KvFormat::kNative;
  int num_pages = 0;
  int page_size = 0;  // tokens per page (and the KIVI key group size)
  int num_kv_heads = 0;
  int head_dim = 0;
  // kNative: T [num_pages, page_size, num_kv_heads, head_dim]; kFP8E4M3/kINT8: 1 byte per element, same shape;
  // kINT4/kINT2: uint8 [num_pages, page_size, num_kv_heads, head_dim * bits / 8].
  void* k_data = nullptr;
  void* v_data = nullptr;
  // kFP8E4M3/kINT8: x = stored * scale (one per tensor).
  float k_scale = 1.0f;
  float v_scale = 1.0f;
  // kINT4/kINT2 metadata, pairs of fp16 (scale, zero) bit patterns (uint16 x2):
  void* k_meta = nullptr;  // [num_pages, num_kv_heads, head_dim] per channel over the page's tokens
  void* v_meta = nullptr;  // [num_pages, page_size, num_kv_heads, head_dim / v_group_size] per token
  int v_group_size = 32;   // channels per value group: a multiple of 8 that divides head_dim
  // kINT4/kINT2 residual ring, T [batch, num_kv_heads, kivi_residual_capacity(residual_tokens, page_size), head_dim]
  void* residual_k = nullptr;
  void* residual_v = nullptr;
  int residual_tokens = 0;                    // R: the most recent R..R+page_size-1 tokens stay in full precision
  const std::int32_t* block_table = nullptr;  // [batch, max_pages_per_seq] page ids
  int max_pages_per_seq = 0;
};

/// KIVI: tokens [0, result) are quantized in pages, [result, seq_len) are in the residual ring. A group (one page)
/// is quantized when the residual would otherwise hold residual_tokens + page_size tokens.
KVSIM_HOST_DEVICE int kivi_quantized_len(int seq_len, int residual_tokens, int page_size) {
  const int over = seq_len - residual_tokens;
  return over <= 0 ? 0 : (over / page_size) * page_size;
}
/// KIVI: slots of the residual ring per (sequence, kv head).
KVSIM_HOST_DEVICE int kivi_residual_capacity(int residual_tokens, int page_size) { return residual_tokens + page_size; }

/// Row index of (page, slot, kv head): multiply by the row's element or byte count to address k_data/v_data.
KVSIM_HOST_DEVICE std::int64_t kv_row(const PagedKvCache& kv, int page, int slot, int kv_head) {
  return (static_cast<std::int64_t>(page) * kv.page_size + slot) * kv.num_kv_heads + kv_head;
}
/// Row index into the residual ring of (sequence, kv head, position).
KVSIM_HOST_DEVICE std::int64_t kivi_residual_row(const PagedKvCache& kv, int b, int kv_head, int pos) {
  const int cap = kivi_residual_capacity(kv.residual_tokens, kv.page_size);
  return (static_cast<std::int64_t>(b) * kv.num_kv_heads + kv_head) * cap + pos % cap;
}

/// One decode step: every sequence has one new query token (already appended to the cache).
struct DecodeAttentionParams {
  DType dtype = DType::kBF16;
  PagedKvCache kv;
  const void* q = nullptr;                 // T [batch, num_q_heads, head_dim]
  void* o = nullptr;                       // T [batch, num_q_heads, head_dim]
  float* lse = nullptr;                    // [batch, num_q_heads] natural-log sum of exp(scores); may be null
  const std::int32_t* seq_lens = nullptr;  // [batch] cached tokens per sequence (including the new one)
  int batch = 0;
  int num_q_heads = 0;    // a multiple of kv.num_kv_heads; q head h reads kv head h / (num_q_heads / num_kv_heads)
  int max_seq_len = 0;    // host-known upper bound of seq_lens (sizes the split-K plan)
  float sm_scale = 1.0f;  // scores are sm_scale * q·k
  TokenRange range = TokenRange::kFull;
  int window_tokens = 0;                         // kWindow
  int sink_tokens = 0;                           // kWindow
  const std::int32_t* sparse_indices = nullptr;  // kSparse: [batch, num_kv_heads, sparse_capacity] positions
  const std::int32_t* sparse_counts = nullptr;   // kSparse: [batch, num_kv_heads] entries used (<= capacity)
  int sparse_capacity = 0;
};

/// Number of range entries (index i in [0, result)) that sequence b / kv head reads.
KVSIM_HOST_DEVICE int range_length(const DecodeAttentionParams& p, int b, int kv_head, int seq_len) {
  switch (p.range) {
    case TokenRange::kFull:
      return seq_len;
    case TokenRange::kWindow: {
      const int keep = p.sink_tokens + p.window_tokens;
      return seq_len < keep ? seq_len : keep;
    }
    case TokenRange::kSparse: {
      const int n = p.sparse_counts[b * p.kv.num_kv_heads + kv_head];
      return n < 0 ? 0 : (n > p.sparse_capacity ? p.sparse_capacity : n);
    }
  }
  return 0;
}
/// Token position of range entry i (0 <= i < range_length); kSparse may return a position outside [0, seq_len),
/// which readers skip.
KVSIM_HOST_DEVICE int range_position(const DecodeAttentionParams& p, int b, int kv_head, int seq_len, int i) {
  switch (p.range) {
    case TokenRange::kFull:
      return i;
    case TokenRange::kWindow:
      if (seq_len <= p.sink_tokens + p.window_tokens || i < p.sink_tokens) return i;
      return seq_len - p.window_tokens + (i - p.sink_tokens);
    case TokenRange::kSparse:
      return p.sparse_indices[(static_cast<std::int64_t>(b) * p.kv.num_kv_heads + kv_head) * p.sparse_capacity + i];
  }
  return i;
}

/// Appends one new token per sequence: native/fp8/int8 store it in its page slot (quantizing with the tensor
/// scale); KIVI formats store it in the residual ring and, when a group is complete, quantize the oldest page's
/// worth of residual tokens into their page (keys per channel, values per token group) and write the metadata.
struct KvAppendParams {
  DType dtype = DType::kBF16;
  PagedKvCache kv;                          // written
  const void* k_new = nullptr;              // T [batch, num_kv_heads, head_dim]
  const void* v_new = nullptr;              // T [batch, num_kv_heads, head_dim]
  const std::int32_t* positions = nullptr;  // [batch] position of the new token (= cached tokens before it); < 0 skips
  int batch = 0;
};

/// Copies whole pages: dst page dst_pages[i] <- src page src_pages[i], each page_bytes bytes. One call per array of
/// a cache (K, V, metadata); gather = copy listed pages to consecutive ones, scatter = the reverse.
struct PageCopyParams {
  const void* src = nullptr;                // [*, page_bytes] bytes
  void* dst = nullptr;                      // [*, page_bytes] bytes
  const std::int32_t* src_pages = nullptr;  // [num_copies]
  const std::int32_t* dst_pages = nullptr;  // [num_copies]
  int num_copies = 0;
  std::int64_t page_bytes = 0;
};

}  // namespace kvsim::kernels
