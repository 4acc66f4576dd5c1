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
#include <memory>
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
  kOutsideWindow, // the tokens a window of `sink_tokens` + `window_tokens` drops, max(0, computed - sinks - window):
                  // a group beside a working-set window group (InfLLM's memory units); a decode step's new token is
                  // never in it
};
std::string_view retention_name(Retention r);

// What a scanning selection scans per decode step of a sequence attending to `a` tokens, per cache layer:
//   units + log_units * max(1, log2(a / log_tokens))   (at least one level of a tree search).
struct ScanSelection {
  double units = 0, log_units = 0;
  TokenCount log_tokens = 1;
  double scanned(TokenCount attended) const;  // 0 when nothing is attended
};

// Cache-line aligned: every step indexes the layout's groups, and a size of 512 bytes makes that a shift (the hot
// loops' instruction counts moved by 0.4 % with the size when it was not a power of two).
struct alignas(64) KvGroup {
  std::string name;             // "global", "local", "layer 7", ...
  int cache_layers = 0;         // distinct KV caches held under this rule (one per owning layer)
  int reader_layers = 0;        // layers attending to this group's caches at each step (decode traffic multiplier)

  // --- retention ---
  Retention retention = Retention::kAll;
  TokenCount window_tokens = 0;   // kWindow, kOutsideWindow
  TokenCount sink_tokens = 0;     // kWindow, kOutsideWindow
  bool dense_prefill = false;     // kWindow: the prompt is prefilled with full attention and held whole until the step
                                  // that completes it, then cut to the window (StreamingLLM's reference); false: the
                                  // prefill attends within the window and frees pages as it slides
  bool block_table = false;       // kWindow without sinks or dense prefill: pages are an engine's block table, whose
                                  // blocks have identities (prefix caching): a block is freed only once all its
                                  // tokens left the window (vLLM's SlidingWindowManager), see window_table_pages();
                                  // false: the window's tokens in as few pages as they fill
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
  double read_fraction = 1.0;            // part of a cache layer's stored token bytes one reader layer reads (a
                                         // layer of a MiniCache merged pair reads the shared direction and its own
                                         // magnitudes and retained tokens, not its partner's)
  double select_bytes_per_token = 0;     // bytes read per held token to choose what to read (Quest min/max, landmarks)
  double score_flops_per_token = 0;      // FLOPs per held token for selection or score upkeep
  double reconstruct_flops_per_token = 0;  // FLOPs per read token to rebuild K/V (low rank)
  double attention_flops_scale = 1.0;    // QK/PV FLOPs relative to full width (ThinK pruned key channels)
  double fetch_hit_rate = 0;             // fraction of host-resident bytes found in a device cache (not fetched)
  double prefill_select_flops_per_token = 0;  // once per prompt token per cache layer when prefill completes
  double prefill_score_flops_per_pair = 0;    // per (query, key) pair a prefill chunk attends to, per reader layer:
                                              // accumulated attention scores over every prompt query (H2O-style
                                              // policies), which FlashAttention does not return
  // Selection that scans units not proportional to the tokens held: `scan` and its fields, at the end of the struct
  // (away from the fields every step reads).

  // Per cache layer prompt budgets (kPromptBudget only, PyramidKV): when non-empty, a prompt of at least
  // `layer_budgets_from` tokens keeps min(prompt, layer_budgets[i]) prompt tokens in cache layer i after prefill, and
  // a shorter prompt keeps min(prompt, budget_tokens) in every layer; size == cache_layers. KvLayout::prepare() builds
  // the tables that make the sums below O(1).
  std::vector<TokenCount> layer_budgets;
  TokenCount layer_budgets_from = 0;

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
  // Whether a prompt of `prompt` tokens keeps per-layer budgets (layer_budgets) rather than one budget.
  bool per_layer(TokenCount prompt) const { return !layer_budgets.empty() && prompt >= layer_budgets_from; }
  // Whether the group holds every prompt token until the step that completes the prompt and then keeps fewer:
  // budgets chosen from the whole prompt (SnapKV, PyramidKV, H2O, ...) and windows after a dense prefill.
  bool compresses_prompt() const {
    return retention == Retention::kPromptBudget || retention == Retention::kTotalBudget ||
           (retention == Retention::kWindow && dense_prefill);
  }
  // Tokens one cache layer keeps after a sequence of `prompt` tokens has `computed` tokens in the cache
  // (for layer_budgets groups: the layer with the largest budget).
  TokenCount held(TokenCount prompt, TokenCount computed) const {
    switch (retention) {
      case Retention::kAll: return computed;
      case Retention::kWindow:
        if (dense_prefill && computed < prompt) return computed;
        return std::min(computed, sink_tokens + window_tokens);
      case Retention::kPromptBudget:
        if (computed < prompt) return computed;
        return std::min(prompt, per_layer(prompt) ? max_budget_ : budget(prompt)) + (computed - prompt);
      case Retention::kTotalBudget: return computed < prompt ? computed : std::min(computed, budget(prompt));
      case Retention::kOutsideWindow: return std::max<TokenCount>(0, computed - sink_tokens - window_tokens);
    }
    return computed;
  }
  // Tokens one cache layer must hold while a step computes `chunk` new tokens: the kept ones plus the new ones; a
  // window drops its oldest token first (the new token's window counts the new token itself), and a total budget
  // past prefill reuses the slot of the token it evicts. For a decode step this equals held() after the step, so
  // memory only changes at page boundaries.
  // A group that compresses the prompt holds it whole until the step that completes it (see
  // final_prefill_pages() for that step); kOutsideWindow receives what the window drops during the step.
  TokenCount held_during(TokenCount prompt, TokenCount computed, TokenCount chunk) const {
    if (retention == Retention::kAll) return computed + chunk;  // the common case, first
    const TokenCount h = held(prompt, computed);
    if (retention == Retention::kOutsideWindow) return held(prompt, computed + chunk);
    if (chunk > 0 && retention == Retention::kWindow && !(dense_prefill && computed < prompt)) {
      return std::min(h, sink_tokens + window_tokens - 1) + chunk;
    }
    if (retention == Retention::kTotalBudget && computed >= prompt) return std::min(h + chunk, std::max(h, budget(prompt)));
    return h + chunk;
  }
  // Tokens a decode step's new token attends to when `held` tokens are kept before it: itself and the kept ones,
  // within the window (which counts the new token); in a kOutsideWindow group, the kept ones only.
  TokenCount decode_attended(TokenCount held) const {
    if (retention == Retention::kOutsideWindow) return held;
    const TokenCount n = held + 1;
    return retention == Retention::kWindow && n > sink_tokens + window_tokens ? sink_tokens + window_tokens : n;
  }
  // Of `attended` tokens, how many one reader layer actually reads (traffic-only selection budget applied).
  TokenCount read_tokens(TokenCount attended) const {
    return read_budget_tokens > 0 && attended > read_budget_tokens ? read_budget_tokens : attended;
  }


  // Sums over the group's cache layers for one request: tokens held, and for its next decode step the tokens its
  // new token attends to (priced_tokens(): for a group with `scan`, the units its selection scans), reads, and reads
  // among the 16-bit residual tokens.
  struct Tokens {
    double held = 0, attended = 0, read = 0, residual_read = 0;
  };
  Tokens tokens(TokenCount prompt, TokenCount computed) const {
    if (per_layer(prompt) && computed >= prompt) return layer_tokens(prompt, computed);
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
  // tokens() as selection prices it: for a group with `scan`, `attended` holds the units its selection scans (what
  // select_bytes_per_token and score_flops_per_token then price) instead of the tokens attended. (The cost model's
  // per-sequence loop calls tokens() and redoes this only for scanning groups, keeping the others' loop lean.)
  Tokens priced_tokens(TokenCount prompt, TokenCount computed) const;
  // Whether a step computing `chunk` tokens on top of `computed` completes the prompt of a group that compresses it.
  bool final_prefill_step(TokenCount prompt, TokenCount computed, TokenCount chunk) const {
    return computed < prompt && computed + chunk >= prompt && compresses_prompt();
  }
  // Pages of `block` tokens summed over the cache layers while a step computes `chunk` more tokens. In the step
  // that completes a compressed prompt, every cache layer is counted at max(prefix, kept after the step); the one
  // layer being computed holds more (final_prefill_pages), which KvLayout::step_pages() adds once per model.
  std::int64_t pages_sum(TokenCount prompt, TokenCount computed, TokenCount chunk, TokenCount block) const {
    if (computed >= prompt) {
      if (per_layer(prompt)) return layer_pages(prompt, computed, chunk, block);
    } else if (final_prefill_step(prompt, computed, chunk)) {
      return final_prefill_pages(prompt, computed, chunk, block).sum;
    }
    if (block_table) [[unlikely]] return window_table_pages(computed, chunk, block);
    const TokenCount n = held_during(prompt, computed, chunk);
    return n <= 0 ? 0 : static_cast<std::int64_t>(cache_layers) * ceil_div(n, block);
  }
  // pages_sum() of a block_table window: the blocks of positions [computed - window_tokens + 1, computed + chunk),
  // the tokens the step's queries attend to and its new tokens (as vLLM's get_num_skipped_tokens), whole blocks;
  // at most one page per layer more than those tokens fill.
  std::int64_t window_table_pages(TokenCount computed, TokenCount chunk, TokenCount block) const {
    const TokenCount end = computed + chunk;
    if (end <= 0) return 0;
    const TokenCount first_block = std::max<TokenCount>(0, computed - window_tokens + 1) / block;
    return static_cast<std::int64_t>(cache_layers) * (ceil_div(end, block) - first_block);
  }
  // The step that completes a compressed prompt, as the reference implementations run it (SnapKV, KVCache-Factory,
  // H2O, StreamingLLM): each layer computes its attention over the whole prompt and compresses right after, inside
  // its own forward pass. While layer i runs, the layers before it keep what they keep after the step, the layers
  // after it still hold the `computed` prefix of earlier chunks, and layer i holds the whole sequence
  // (computed + chunk). `sum` bounds every layer by max(prefix, kept) pages; `transient` is what the layer being
  // computed holds beyond that bound, at its largest over the group's layers.
  struct StepPages {
    std::int64_t sum = 0, transient = 0;
  };
  StepPages final_prefill_pages(TokenCount prompt, TokenCount computed, TokenCount chunk, TokenCount block) const;
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
  double host_token_bytes_ = 0;     // host_bytes_per_token(), for the per-step host accounting

 public:
  // Selection that scans a number of units not proportional to the tokens held (Squeezed Attention's fixed
  // centroids, HiP's tree search over key blocks): when set, select_bytes_per_token and score_flops_per_token are
  // per scanned unit (ScanSelection), and priced_tokens() holds the scanned units in Tokens::attended. Held by
  // pointer: the fields every step reads keep their size and place (compared by identity: a strategy that sets one
  // has an effect).
  std::shared_ptr<const ScanSelection> scan;

  // Every field, the prepared tables included (composition compares layouts to find strategies with no effect).
  bool operator==(const KvGroup&) const = default;
};
static_assert(sizeof(KvGroup) == 512, "KvGroup grew past 512 bytes: group indexing is no longer a shift");

struct KvLayout {
  std::vector<KvGroup> groups;
  std::vector<std::size_t> host_groups_;  // groups holding KV in host memory (filled by prepare())
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
  // A uniform group's page spans its cache layers and is rounded up to whole bytes (pages beyond a multiple of the
  // cache layers, a layer computed alone in the step that completes a compressed prompt, round their own total);
  // layer_budgets groups round their total. Valid after prepare(); called for every request at every step, so it
  // only reads cached values.
  std::int64_t group_device_bytes(std::size_t g, std::int64_t pages) const {
    if (pages <= 0) return 0;
    const KvGroup& x = groups[g];
    if (x.layer_budgets.empty()) {
      const std::int64_t whole = pages / x.cache_layers, rest = pages - whole * x.cache_layers;
      const std::int64_t rest_bytes =
          rest == 0 ? 0 : static_cast<std::int64_t>(std::ceil(static_cast<double>(rest) * x.page_layer_bytes_));
      return whole * x.page_bytes_ + rest_bytes + x.fixed_bytes_;
    }
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(pages) * x.page_layer_bytes_)) + x.fixed_bytes_;
  }
  // Pages of every group (summed over its cache layers, KvGroup::pages_sum) that a request of `prompt` tokens needs
  // while a step computes `chunk` tokens on top of `computed`. In the step that completes a compressed prompt the
  // layer being computed holds the whole sequence: that one layer of the model (KvGroup::final_prefill_pages), not
  // one per group, is added to the group where it costs the most bytes. `pages.size()` == groups.size().
  void step_pages(TokenCount prompt, TokenCount computed, TokenCount chunk, std::span<std::int64_t> pages) const;
  // Device bytes of a request holding `pages` (one entry per group). Inline: every running request, every step.
  std::int64_t device_bytes(std::span<const std::int64_t> pages) const {
    std::int64_t bytes = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) bytes += group_device_bytes(g, pages[g]);
    return bytes;
  }
  // Bytes of one page in every cache layer of every group (a block of block_size tokens across the model), fixed
  // bytes excluded. Valid after prepare().
  std::int64_t block_bytes() const;
  // Host bytes of offloaded KV a request needs while a step computes `chunk` tokens on top of `computed`. Valid
  // after prepare().
  std::int64_t host_bytes(TokenCount prompt, TokenCount computed, TokenCount chunk) const;
  // The most device and host KV memory a request of `prompt` tokens can hold on its way to `total_tokens` tokens
  // (prompt + output - 1: its last step computes the last token), whatever the chunks of its prefill or of a
  // recompute after preemption (chunks of at most `steps.max_step_tokens` with chunked prefill; else the whole
  // sequence in one step). An upper bound of every reachable step, exact but for one page per layer on layouts
  // where a window that prefills within itself sits beside a compressed prompt (see the .cc). With chunked prefill
  // a compressed prompt can be completed after a prefix of prompt - 1 tokens, held in every layer but the one being
  // computed. kvsim run admits a request only if this fits; kvsim kv-size reports it.
  struct Footprint {
    std::int64_t device_bytes = 0, host_bytes = 0;
  };
  struct PrefillSteps {
    bool chunked = true;                // engine.chunked_prefill
    TokenCount max_step_tokens = 8192;  // engine.max_num_batched_tokens: the largest chunk
  };
  Footprint peak_footprint(TokenCount prompt, TokenCount total_tokens, const PrefillSteps& steps) const;
  // Device bytes per token summed over groups, for a token kept by every group (capacity in tokens).
  double device_bytes_per_token() const;
  double host_bytes_per_token() const;
  // Layers that read KV in a decode step (a layer reading two groups, a window and what it drops, counts once).
  int reader_layers() const;
  nlohmann::json to_json() const;
};

// The layout a model has with no strategy: its own attention pattern (global / sliding-window groups from the
// card, MLA latent), full precision (the card's KV dtype), everything on the device. `tensor_parallel` shards
// KV heads (replicated when tp > H_kv; MLA latent replicated on every rank).
KvLayout base_layout(const LlmSpec& model, int tensor_parallel, TokenCount block_size);

}  // namespace kvsim
