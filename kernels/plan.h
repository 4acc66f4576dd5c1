// Host-side logic of the kernels, plain C++ (no CUDA): parameter checks, the decode work plan (how many query heads
// a CTA serves, split-K over the sequence), and the coalescing of page lists into contiguous copies. It lives in
// kvsim_kernels_ref so that CPU tests cover it on every CI run; the launchers in kernels/*.cu call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/params.h"

namespace kvsim::kernels {

/// Query heads one decode CTA serves at most (the N of its MMAs); larger GQA groups are split into q_chunks chunks of
/// up to 8 heads, each of which re-reads the kv head (from L2 when the chunks run together).
inline constexpr int kMaxGroupPerCta = 8;
/// Tokens per split are a multiple of this (the largest per-iteration token step of a decode CTA).
inline constexpr int kSplitGranularity = 64;

/// How a decode step is cut into CTAs: grid = (batch * num_kv_heads * q_chunks, num_splits).
struct DecodePlan {
  int group_slots = 1;              // 1, 2, 4 or 8: the group size rounded up to a power of two, capped at 8
  int q_chunks = 1;                 // ceil(group / group_slots)
  int num_splits = 1;               // split-K parts per (sequence, kv head); 1 = no reduction kernel
  int tokens_per_split = 0;         // range entries per split, a multiple of kSplitGranularity
  std::size_t workspace_bytes = 0;  // float partial outputs + partial lse when num_splits > 1
};

/// Tuning knobs of plan_decode_attention; the defaults target Hopper (H100/H200).
struct DecodePlanOptions {
  int num_sms = 132;
  int target_ctas_per_sm = 4;      // CTAs resident per SM (decode_attention_ctas_per_sm on a GPU): a wave
  int min_tokens_per_split = 256;  // below this the reduction costs more than it gains
  double split_cost = 0.01;        // relative cost of each split beyond the first (partial outputs, merge)
  int force_num_splits = 0;        // > 0: use exactly this many splits (tests, sweeps)
};

/// Longest range (entries of range_length) any sequence can have, from max_seq_len / window / sparse capacity.
int max_range_length(const DecodeAttentionParams& p);

/// Plans a decode step. Throws std::invalid_argument with check_decode_params' message on bad parameters.
DecodePlan plan_decode_attention(const DecodeAttentionParams& p, const DecodePlanOptions& opt = {});

/// Empty when the parameters are consistent and supported by the built kernels, else a message naming the field.
/// Pointer fields are checked for null only; shapes must be right (the struct cannot know buffer sizes).
std::string check_decode_params(const DecodeAttentionParams& p);
std::string check_append_params(const KvAppendParams& p);
std::string check_page_copy_params(const PageCopyParams& p);
/// Checks shared by every cache user (format, shapes, metadata and residual fields).
std::string check_cache(const PagedKvCache& kv, bool with_block_table);

/// Elements (K or V) and bytes of one cache array, for allocation.
std::int64_t kv_data_bytes(const PagedKvCache& kv);                 // bytes of k_data (= bytes of v_data)
std::int64_t kv_k_meta_bytes(const PagedKvCache& kv);               // bytes of k_meta (0 unless KIVI)
std::int64_t kv_v_meta_bytes(const PagedKvCache& kv);               // bytes of v_meta (0 unless KIVI)
std::int64_t kv_residual_bytes(const PagedKvCache& kv, int batch);  // bytes of residual_k (0 unless KIVI)

/// A run of `count` pages copied from src_page.. to dst_page.. (both consecutive).
struct PageRun {
  std::int32_t src_page = 0;
  std::int32_t dst_page = 0;
  std::int32_t count = 0;
  friend bool operator==(const PageRun&, const PageRun&) = default;
};
/// Merges consecutive (src, dst) pairs whose pages both advance by one into runs, keeping the order; host↔device
/// swaps then issue one cudaMemcpyAsync per run instead of one per page.
std::vector<PageRun> coalesce_page_runs(const std::int32_t* src_pages, const std::int32_t* dst_pages, int n);

}  // namespace kvsim::kernels
