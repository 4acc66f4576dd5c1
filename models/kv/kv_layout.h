// The KV layout of one model under one KV-cache strategy: what every layer keeps, at what precision and width,
// where it lives, and what reading and maintaining it costs. Strategies (models/kv/strategies/) compile to a
// layout; the engine sizes and frees KV memory from it and the cost model prices attention and the strategy's
// extra work from it. Formulas: ../shared/kv-strategies.md (§0.6 building blocks, §6 composition).
//
// Layers with the same rules form a group. Within a group every "cache layer" holds its own KV; "reader layers"
// are the layers whose attention reads the group's caches at each step (more than the cache layers when layers
// share KV across depth). Sizes are per token per cache layer on one GPU (heads already sharded by TP).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/types.h"

namespace kvsim {

struct LlmSpec;

// Which tokens a group keeps.
enum class Retention : std::uint8_t {
  kAll,           // every token
  kWindow,        // the first `sink_tokens` and the last `window_tokens` tokens (sliding window, StreamingLLM)
  kPromptBudget,  // after prefill: `budget` prompt tokens and every generated token (SnapKV, PyramidKV, PrefixKV)
  kTotalBudget,   // after prefill: at most `budget` tokens in all, each new token evicting one (H2O, Keyformer)
};
std::string_view retention_name(Retention r);

struct KvGroup {
  std::string name;             // "global", "local", "layer 7", ...
  int cache_layers = 0;         // distinct KV caches held under this rule (one per owning layer)
  int reader_layers = 0;        // layers attending to this group's caches at each step (decode traffic multiplier)

  // --- retention ---
  Retention retention = Retention::kAll;
  TokenCount window_tokens = 0;   // kWindow
  TokenCount sink_tokens = 0;     // kWindow
  TokenCount budget_tokens = 0;   // kPromptBudget / kTotalBudget: fixed budget; or
  double budget_fraction = 0;     //   a fraction of the prompt (budget = ceil(fraction * prompt)), if > 0

  // --- width and precision (per token per cache layer on one GPU) ---
  double k_elems = 0, v_elems = 0;          // elements kept (H_kv*d each at full width; latent for MLA)
  double k_bits = 16, v_bits = 16;          // stored bits per element
  double k_meta_bits = 0, v_meta_bits = 0;  // quantization metadata bits per element (scale+zero: 32/G)
  double outlier_fraction = 0;              // elements kept sparse in fp16 + int32 index (48 bits each)
  TokenCount residual_tokens = 0;           // most recent tokens kept at 16 bits (KIVI residual)
  double extra_bytes_per_token = 0;         // per held token: scores, selection metadata (on the device)
  double fixed_bytes = 0;                   // per request per cache layer (bases, static buffers), on the device

  // --- placement ---
  double k_host_fraction = 0, v_host_fraction = 0;  // part of the K / V bytes held in host memory

  // --- decode traffic and extra work, per reader layer per step ---
  TokenCount read_budget_tokens = 0;     // read at most this many held tokens (traffic-only selection); 0 = all
  double select_bytes_per_token = 0;     // bytes read per held token to choose what to read (Quest min/max, landmarks)
  double score_flops_per_token = 0;      // FLOPs per held token for selection or score upkeep
  double reconstruct_flops_per_token = 0;  // FLOPs per read token to rebuild K/V (low rank)
  double attention_flops_scale = 1.0;    // QK/PV FLOPs relative to full width (ThinK pruned key channels)
  double fetch_hit_rate = 0;             // fraction of host-resident bytes found in a device cache (not fetched)
  double prefill_select_flops_per_token = 0;  // once per prompt token per cache layer when prefill completes

  // Derived sizes.
  double full_bytes_per_token() const;     // 16-bit K+V of the kept width (what a residual token costs)
  double stored_bytes_per_token() const;   // K+V at the stored precision, incl. metadata and outliers
  double device_bytes_per_token() const;   // stored bytes not offloaded + extra
  double host_bytes_per_token() const;     // stored bytes offloaded
  // Tokens kept after a sequence of `prompt` tokens has `computed` tokens in the cache.
  TokenCount held(TokenCount prompt, TokenCount computed) const;
  // Tokens that must be resident while a step computes `chunk` new tokens on top of `computed`.
  TokenCount held_during(TokenCount prompt, TokenCount computed, TokenCount chunk) const;
  TokenCount budget(TokenCount prompt) const;
  // Tokens a decode step's new token attends to when `held` tokens are kept before it: itself and the kept ones,
  // within the window (which counts the new token).
  TokenCount decode_attended(TokenCount held) const {
    const TokenCount n = held + 1;
    return retention == Retention::kWindow && n > sink_tokens + window_tokens ? sink_tokens + window_tokens : n;
  }
  // Of `attended` tokens, how many one reader layer actually reads (traffic-only selection budget applied).
  TokenCount read_tokens(TokenCount attended) const {
    return read_budget_tokens > 0 && attended > read_budget_tokens ? read_budget_tokens : attended;
  }
};

struct KvLayout {
  std::vector<KvGroup> groups;
  TokenCount block_size = 16;
  bool fused_dequant = true;       // dequantization fused into attention; else a 16-bit copy is written and read
  bool overlap_transfers = true;   // host fetches overlap with compute
  std::vector<std::string> strategies;  // names of the strategies that built it, in application order

  // Bytes of one page (block_size tokens of one group, all its cache layers), rounded up to whole bytes.
  std::int64_t page_bytes(std::size_t g) const;
  // Pages any group needs to hold `held` tokens.
  std::int64_t pages(TokenCount held) const {
    return held <= 0 ? 0 : (held + block_size - 1) / block_size;
  }
  // Bytes a request holds on the device per group independent of its length (fixed + residual premium).
  std::int64_t fixed_device_bytes(std::size_t g) const;
  // Device bytes of one request holding `held[g]` tokens in each group (page-granular).
  double device_bytes(std::span<const TokenCount> held) const;
  // Device bytes per token summed over groups, for a token kept by every group (capacity in tokens).
  double device_bytes_per_token() const;
  double host_bytes_per_token() const;
  int reader_layers() const;
  nlohmann::json to_json() const;
};

// The layout a model has with no strategy: its own attention pattern (global / sliding-window groups from the
// card, MLA latent), full precision (the card's KV dtype), everything on the device. `tensor_parallel` shards
// KV heads (replicated when tp > H_kv; MLA latent replicated on every rank).
KvLayout base_layout(const LlmSpec& model, int tensor_parallel, TokenCount block_size);

}  // namespace kvsim
