// Host-side logic of the kernels: checks, the decode plan and page-run coalescing (see plan.h).
#include "kernels/plan.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kvsim::kernels {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

bool supported_head_dim(int d) { return d == 64 || d == 128; }

std::string field(const char* name, const std::string& problem) { return std::string(name) + ": " + problem; }

}  // namespace

std::string check_cache(const PagedKvCache& kv, bool with_block_table) {
  const int f = static_cast<int>(kv.format);
  if (f < 0 || f > static_cast<int>(KvFormat::kINT2)) return field("kv.format", "unknown value " + std::to_string(f));
  if (kv.num_pages < 1) return field("kv.num_pages", "must be >= 1");
  if (kv.page_size < 1) return field("kv.page_size", "must be >= 1");
  if (kv.num_kv_heads < 1) return field("kv.num_kv_heads", "must be >= 1");
  if (!supported_head_dim(kv.head_dim)) {
    return field("kv.head_dim", std::to_string(kv.head_dim) + " is not built (built: 64, 128)");
  }
  if (kv.k_data == nullptr || kv.v_data == nullptr) return field("kv.k_data/v_data", "null");
  if (is_tensor_scaled(kv.format)) {
    if (!(std::isfinite(kv.k_scale) && kv.k_scale > 0) || !(std::isfinite(kv.v_scale) && kv.v_scale > 0)) {
      return field("kv.k_scale/v_scale", "must be finite and > 0 for fp8/int8");
    }
  }
  if (is_group_quantized(kv.format)) {
    if (kv.k_meta == nullptr || kv.v_meta == nullptr) return field("kv.k_meta/v_meta", "null for int4/int2");
    if (kv.residual_k == nullptr || kv.residual_v == nullptr) {
      return field("kv.residual_k/residual_v", "null for int4/int2");
    }
    if (kv.v_group_size < 8 || kv.v_group_size % 8 != 0 || kv.head_dim % kv.v_group_size != 0) {
      return field("kv.v_group_size", std::to_string(kv.v_group_size) +
                                          " must be a multiple of 8 that divides head_dim " +
                                          std::to_string(kv.head_dim));
    }
    if (kv.residual_tokens < 0) return field("kv.residual_tokens", "must be >= 0");
    if (kv.page_size > 256) return field("kv.page_size", "int4/int2 groups support at most 256 tokens per page");
  }
  if (with_block_table) {
    if (kv.block_table == nullptr) return field("kv.block_table", "null");
    if (kv.max_pages_per_seq < 1) return field("kv.max_pages_per_seq", "must be >= 1");
  }
  return {};
}

std::string check_decode_params(const DecodeAttentionParams& p) {
  if (p.dtype != DType::kBF16 && p.dtype != DType::kFP16) return field("dtype", "must be bf16 or fp16");
  if (std::string e = check_cache(p.kv, true); !e.empty()) return e;
  if (p.q == nullptr || p.o == nullptr || p.seq_lens == nullptr) return field("q/o/seq_lens", "null");
  if (p.batch < 1) return field("batch", "must be >= 1");
  if (p.num_q_heads < 1 || p.num_q_heads % p.kv.num_kv_heads != 0) {
    return field("num_q_heads", std::to_string(p.num_q_heads) + " is not a positive multiple of num_kv_heads " +
                                    std::to_string(p.kv.num_kv_heads));
  }
  if (p.max_seq_len < 0) return field("max_seq_len", "must be >= 0");
  if (static_cast<std::int64_t>(p.max_seq_len) > static_cast<std::int64_t>(p.kv.max_pages_per_seq) * p.kv.page_size) {
    return field("max_seq_len", std::to_string(p.max_seq_len) + " exceeds max_pages_per_seq * page_size");
  }
  if (!std::isfinite(p.sm_scale)) return field("sm_scale", "must be finite");
  switch (p.range) {
    case TokenRange::kFull:
      break;
    case TokenRange::kWindow:
      if (p.window_tokens < 0 || p.sink_tokens < 0) return field("window_tokens/sink_tokens", "must be >= 0");
      break;
    case TokenRange::kSparse:
      if (p.sparse_indices == nullptr || p.sparse_counts == nullptr) {
        return field("sparse_indices/sparse_counts", "null for a sparse range");
      }
      if (p.sparse_capacity < 1) return field("sparse_capacity", "must be >= 1");
      break;
    default:
      return field("range", "unknown value " + std::to_string(static_cast<int>(p.range)));
  }
  const int group = p.num_q_heads / p.kv.num_kv_heads;
  const std::int64_t ctas =
      static_cast<std::int64_t>(p.batch) * p.kv.num_kv_heads * ceil_div(group, std::min(group, kMaxGroupPerCta));
  if (ctas >= (std::int64_t{1} << 31)) return field("batch", "batch * num_kv_heads * q chunks exceeds the grid");
  return {};
}

std::string check_append_params(const KvAppendParams& p) {
  if (p.dtype != DType::kBF16 && p.dtype != DType::kFP16) return field("dtype", "must be bf16 or fp16");
  if (std::string e = check_cache(p.kv, true); !e.empty()) return e;
  if (p.k_new == nullptr || p.v_new == nullptr || p.positions == nullptr) return field("k_new/v_new/positions", "null");
  if (p.batch < 1 || p.batch > 65535) return field("batch", "must be in [1, 65535]");
  if (p.kv.num_kv_heads > 65535) return field("kv.num_kv_heads", "must be <= 65535");
  return {};
}

std::string check_page_copy_params(const PageCopyParams& p) {
  if (p.num_copies < 0) return field("num_copies", "must be >= 0");
  if (p.num_copies == 0) return {};
  if (p.src == nullptr || p.dst == nullptr) return field("src/dst", "null");
  if (p.src_pages == nullptr || p.dst_pages == nullptr) return field("src_pages/dst_pages", "null");
  if (p.page_bytes < 1) return field("page_bytes", "must be >= 1");
  return {};
}

int max_range_length(const DecodeAttentionParams& p) {
  switch (p.range) {
    case TokenRange::kFull:
      return p.max_seq_len;
    case TokenRange::kWindow:
      return std::min<std::int64_t>(p.max_seq_len, std::int64_t{p.sink_tokens} + p.window_tokens);
    case TokenRange::kSparse:
      return p.sparse_capacity;
  }
  return p.max_seq_len;
}

DecodePlan plan_decode_attention(const DecodeAttentionParams& p, const DecodePlanOptions& opt) {
  if (std::string e = check_decode_params(p); !e.empty()) throw std::invalid_argument("kvsim kernels: " + e);
  DecodePlan plan;
  const int group = p.num_q_heads / p.kv.num_kv_heads;
  plan.group_slots = 1;
  while (plan.group_slots < group && plan.group_slots < kMaxGroupPerCta) plan.group_slots *= 2;
  plan.q_chunks = static_cast<int>(ceil_div(group, plan.group_slots));

  const std::int64_t n = std::max(1, max_range_length(p));
  const std::int64_t base_ctas = std::int64_t{p.batch} * p.kv.num_kv_heads * plan.q_chunks;
  const auto tokens_per_split = [&](std::int64_t s) {
    return ceil_div(ceil_div(n, s), kSplitGranularity) * kSplitGranularity;
  };
  std::int64_t splits = 1, tps = tokens_per_split(1);
  if (opt.force_num_splits > 0) {
    splits = std::clamp<std::int64_t>(opt.force_num_splits, 1, 65535);
    tps = tokens_per_split(splits);
  } else {
    // CTAs run in waves of `slots`, and a CTA's time grows with its tokens: pick the split count with the least
    // waves x tokens per CTA, each extra split costing split_cost (partial outputs, merge), so that the last wave is
    // not left mostly idle. Splits keep at least min_tokens_per_split tokens.
    const std::int64_t slots = std::int64_t{std::max(1, opt.num_sms)} * std::max(1, opt.target_ctas_per_sm);
    const std::int64_t max_splits = std::clamp<std::int64_t>(
        std::min(n / std::max(1, opt.min_tokens_per_split), ceil_div(8 * slots, base_ctas) + 1), 1, 65535);
    double best = static_cast<double>(ceil_div(base_ctas, slots) * tps);
    for (std::int64_t s = 2; s <= max_splits; ++s) {
      const std::int64_t t = tokens_per_split(s), used = ceil_div(n, t);  // rounding may leave splits empty
      if (used < s) continue;
      const double waves_x_tokens = static_cast<double>(ceil_div(base_ctas * used, slots) * t);
      const double cost = waves_x_tokens * (1.0 + opt.split_cost * static_cast<double>(used - 1));
      if (cost < best) best = cost, splits = used, tps = t;
    }
  }
  plan.num_splits = static_cast<int>(splits);
  plan.tokens_per_split = static_cast<int>(tps);
  if (plan.num_splits > 1) {
    plan.workspace_bytes =
        static_cast<std::size_t>(plan.num_splits) * p.batch * p.num_q_heads * (p.kv.head_dim + 1) * sizeof(float);
  }
  return plan;
}

std::int64_t kv_data_bytes(const PagedKvCache& kv) {
  return std::int64_t{kv.num_pages} * kv.page_size * kv.num_kv_heads * kv.head_dim * kv_element_bits(kv.format) / 8;
}
std::int64_t kv_k_meta_bytes(const PagedKvCache& kv) {
  if (!is_group_quantized(kv.format)) return 0;
  return std::int64_t{kv.num_pages} * kv.num_kv_heads * kv.head_dim * 4;
}
std::int64_t kv_v_meta_bytes(const PagedKvCache& kv) {
  if (!is_group_quantized(kv.format)) return 0;
  return std::int64_t{kv.num_pages} * kv.page_size * kv.num_kv_heads * (kv.head_dim / kv.v_group_size) * 4;
}
std::int64_t kv_residual_bytes(const PagedKvCache& kv, int batch) {
  if (!is_group_quantized(kv.format)) return 0;
  return std::int64_t{batch} * kv.num_kv_heads * kivi_residual_capacity(kv.residual_tokens, kv.page_size) *
         kv.head_dim * 2;
}

std::vector<PageRun> coalesce_page_runs(const std::int32_t* src_pages, const std::int32_t* dst_pages, int n) {
  std::vector<PageRun> runs;
  for (int i = 0; i < n; ++i) {
    if (!runs.empty()) {
      PageRun& r = runs.back();
      if (src_pages[i] == r.src_page + r.count && dst_pages[i] == r.dst_page + r.count) {
        ++r.count;
        continue;
      }
    }
    runs.push_back({src_pages[i], dst_pages[i], 1});
  }
  return runs;
}

}  // namespace kvsim::kernels
