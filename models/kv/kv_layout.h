// The KV layout of one model under one KV-cache strategy: what every layer keeps, at what precision and width,
// where it lives, and what reading and maintaining it costs. Strategies (models/kv/strategies/) compile to a
// layout; the engine sizes and frees KV memory from it and the cost model prices attention and the strategy's
// extra work from it. Formulas: ../shared/kv-strategies.md (§0.6 building blocks, §6 composition).
//
// Layers with the same rules form a group. Within a group every "cache layer" holds its own KV; "reader layers"
// are the layers whose attention reads the group's caches at each step (more than the cache layers when layers
// share KV across depth). Sizes are per token per cache layer on one GPU (heads already sharded by TP).
#pragma once

#include <algorithm>
#include <cmath>
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

  // Per cache layer prompt budgets (kPromptBudget only, PyramidKV): when non-empty, cache layer i keeps
  // min(prompt, layer_budgets[i]) prompt tokens after prefill; size == cache_layers. KvLayout::prepare() builds the
  // tables that make the sums below O(1).
  std::vector<TokenCount> layer_budgets;

  // Derived sizes, per token per cache layer.
  double full_bytes_per_token() const { return (k_elems + v_elems) * 2.0; }  // 16-bit K+V of the kept width
  double stored_bytes_per_token() const {  // K+V at the stored precision, incl. metadata and outliers
    return k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0 +
           v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0;
  }
  double device_bytes_per_token() const {  // stored bytes not offloaded + extra
    return k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0 * (1 - k_host_fraction) +
           v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0 * (1 - v_host_fraction) +
           extra_bytes_per_token;
  }
  double host_bytes_per_token() const {  // stored bytes offloaded
    return k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0 * k_host_fraction +
           v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0 * v_host_fraction;
  }
  TokenCount budget(TokenCount prompt) const {
    TokenCount b = budget_tokens;
    if (budget_fraction > 0) {
      b = std::max(b, static_cast<TokenCount>(std::ceil(budget_fraction * static_cast<double>(prompt))));
    }
    return std::max<TokenCount>(b, 1);
  }
  // Tokens one cache layer keeps after a sequence of `prompt` tokens has `computed` tokens in the cache
  // (for layer_budgets groups: the layer with the largest budget).
  TokenCount held(TokenCount prompt, TokenCount computed) const {
    switch (retention) {
      case Retention::kAll: return computed;
      case Retention::kWindow: return std::min(computed, sink_tokens + window_tokens);
      case Retention::kPromptBudget:
        if (computed < prompt) return computed;
        return std::min(prompt, layer_budgets.empty() ? budget(prompt) : max_budget_) + (computed - prompt);
      case Retention::kTotalBudget: return computed < prompt ? computed : std::min(computed, budget(prompt));
    }
    return computed;
  }
  // Tokens one cache layer must hold while a step computes `chunk` new tokens: the kept ones plus the new ones; a
  // window drops its oldest token first (the new token's window counts the new token itself), and a total budget
  // past prefill reuses the slot of the token it evicts. For a decode step this equals held() after the step, so
  // memory only changes at page boundaries.
  TokenCount held_during(TokenCount prompt, TokenCount computed, TokenCount chunk) const {
    const TokenCount h = held(prompt, computed);
    if (chunk > 0 && retention == Retention::kWindow) return std::min(h, sink_tokens + window_tokens - 1) + chunk;
    if (retention == Retention::kTotalBudget && computed >= prompt) return std::min(h + chunk, std::max(h, budget(prompt)));
    return h + chunk;
  }
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

  // Sums over the group's cache layers for one request: tokens held, and for its next decode step the tokens its
  // new token attends to, reads, and reads among the 16-bit residual tokens.
  struct Tokens {
    double held = 0, attended = 0, read = 0, residual_read = 0;
  };
  Tokens tokens(TokenCount prompt, TokenCount computed) const {
    if (!layer_budgets.empty() && computed >= prompt) return layer_tokens(prompt, computed);
    Tokens t;
    const double layers = cache_layers;
    const TokenCount a = decode_attended(held(prompt, computed));
    const TokenCount r = read_tokens(a);
    t.held = layers * static_cast<double>(held(prompt, computed));
    t.attended = layers * static_cast<double>(a);
    t.read = layers * static_cast<double>(r);
    t.residual_read = layers * static_cast<double>(std::min(r, residual_tokens));
    return t;
  }
  // Pages of `block` tokens summed over the cache layers while a step computes `chunk` more tokens.
  std::int64_t pages_sum(TokenCount prompt, TokenCount computed, TokenCount chunk, TokenCount block) const {
    if (!layer_budgets.empty() && computed >= prompt) return layer_pages(prompt, computed, chunk, block);
    const TokenCount n = held_during(prompt, computed, chunk);
    return n <= 0 ? 0 : static_cast<std::int64_t>(cache_layers) * ceil_div(n, block);
  }
  // ceil(n / block) for n > 0; a shift when block is the power of two prepare() saw (the hot path: every request,
  // every step).
  std::int64_t ceil_div(std::int64_t n, std::int64_t block) const {
    return block == prepared_block_ && block_shift_ >= 0 ? (n + block - 1) >> block_shift_ : (n + block - 1) / block;
  }
  // The per-layer-budget cases of tokens() and pages_sum(), O(log layers) with the tables below.
  Tokens layer_tokens(TokenCount prompt, TokenCount computed) const;
  std::int64_t layer_pages(TokenCount prompt, TokenCount computed, TokenCount chunk, TokenCount block) const;

  // Tables for layer_budgets (filled by KvLayout::prepare()).
  std::vector<TokenCount> sorted_budgets_;
  std::vector<double> budget_prefix_;             // sum of the first k sorted budgets
  std::vector<std::int64_t> page_quot_prefix_;    // sum over the first k of (budget + block - 1) / block
  std::vector<std::int32_t> residue_at_least_;    // [k * (block + 1) + t]: of the first k, (budget+block-1)%block >= t
  TokenCount prepared_block_ = 0;
  TokenCount max_budget_ = 0;
  std::vector<std::uint16_t> rank_below_;  // [prompt] = budgets below it, for prompt <= max budget (<= 65536)
  std::size_t budgets_below(TokenCount prompt) const;
  int block_shift_ = -1;            // log2(prepared_block_) if it is a power of two
  std::int64_t page_bytes_ = 0;     // uniform groups: one page across all cache layers, whole bytes
  double page_layer_bytes_ = 0;     // one page of one cache layer
  std::int64_t fixed_bytes_ = 0;    // fixed device bytes per request, all cache layers
};

struct KvLayout {
  std::vector<KvGroup> groups;
  TokenCount block_size = 16;
  bool fused_dequant = true;       // dequantization fused into attention; else a 16-bit copy is written and read
  bool overlap_transfers = true;   // host fetches overlap with compute
  std::vector<std::string> strategies;  // names of the strategies that built it, in application order

  // Builds the per-group tables (layer_budgets); call after changing groups. Idempotent.
  void prepare();
  // Bytes of one page of one cache layer of group g (block_size tokens).
  double page_layer_bytes(std::size_t g) const { return static_cast<double>(block_size) * groups[g].device_bytes_per_token(); }
  // Bytes a request holds on the device per group independent of its length (fixed + residual premium), all layers.
  // Valid after prepare().
  std::int64_t fixed_device_bytes(std::size_t g) const { return groups[g].fixed_bytes_; }
  // Device bytes of group g for a request holding `pages` pages summed over its cache layers (0 pages: nothing).
  // A uniform group's page spans its cache layers and is rounded up to whole bytes; layer_budgets groups round
  // their total. Valid after prepare(); called for every request at every step, so it only reads cached values.
  std::int64_t group_device_bytes(std::size_t g, std::int64_t pages) const {
    if (pages <= 0) return 0;
    const KvGroup& x = groups[g];
    if (x.layer_budgets.empty()) return pages / x.cache_layers * x.page_bytes_ + x.fixed_bytes_;
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(pages) * x.page_layer_bytes_)) + x.fixed_bytes_;
  }
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
