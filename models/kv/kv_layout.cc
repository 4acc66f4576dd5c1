// KV layout arithmetic (see kv_layout.h).
#include "models/kv/kv_layout.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "models/spec/llm_spec.h"

namespace kvsim {

std::string_view retention_name(Retention r) {
  switch (r) {
    case Retention::kAll: return "all";
    case Retention::kWindow: return "window";
    case Retention::kPromptBudget: return "prompt-budget";
    case Retention::kTotalBudget: return "total-budget";
  }
  return "?";
}

double KvGroup::full_bytes_per_token() const { return (k_elems + v_elems) * 2.0; }

double KvGroup::stored_bytes_per_token() const {
  const double k = k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0;
  const double v = v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0;
  return k + v;
}

double KvGroup::device_bytes_per_token() const {
  const double k = k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0;
  const double v = v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0;
  return k * (1 - k_host_fraction) + v * (1 - v_host_fraction) + extra_bytes_per_token;
}

double KvGroup::host_bytes_per_token() const {
  const double k = k_elems * (k_bits + k_meta_bits + outlier_fraction * 48.0) / 8.0;
  const double v = v_elems * (v_bits + v_meta_bits + outlier_fraction * 48.0) / 8.0;
  return k * k_host_fraction + v * v_host_fraction;
}

TokenCount KvGroup::budget(TokenCount prompt) const {
  TokenCount b = budget_tokens;
  if (budget_fraction > 0) {
    b = std::max(b, static_cast<TokenCount>(std::ceil(budget_fraction * static_cast<double>(prompt))));
  }
  return std::max<TokenCount>(b, 1);
}

TokenCount KvGroup::held(TokenCount prompt, TokenCount computed) const {
  switch (retention) {
    case Retention::kAll: return computed;
    case Retention::kWindow: return std::min(computed, sink_tokens + window_tokens);
    case Retention::kPromptBudget:
      return computed < prompt ? computed : std::min(prompt, budget(prompt)) + (computed - prompt);
    case Retention::kTotalBudget: return computed < prompt ? computed : std::min(computed, budget(prompt));
  }
  return computed;
}

TokenCount KvGroup::held_during(TokenCount prompt, TokenCount computed, TokenCount chunk) const {
  return held(prompt, computed) + chunk;
}

std::int64_t KvLayout::page_bytes(std::size_t g) const {
  const KvGroup& x = groups[g];
  return static_cast<std::int64_t>(
      std::ceil(static_cast<double>(block_size) * x.device_bytes_per_token() * x.cache_layers));
}

std::int64_t KvLayout::fixed_device_bytes(std::size_t g) const {
  const KvGroup& x = groups[g];
  // Residual tokens cost 16 bits instead of the stored precision: a fixed premium per request.
  const double premium = static_cast<double>(x.residual_tokens) *
                         std::max(0.0, x.full_bytes_per_token() - x.stored_bytes_per_token());
  return static_cast<std::int64_t>(std::ceil((x.fixed_bytes + premium) * x.cache_layers));
}

double KvLayout::device_bytes(std::span<const TokenCount> held) const {
  double total = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    total += static_cast<double>(pages(held[g]) * page_bytes(g) + fixed_device_bytes(g));
  }
  return total;
}

double KvLayout::device_bytes_per_token() const {
  double b = 0;
  for (const KvGroup& g : groups) b += g.device_bytes_per_token() * g.cache_layers;
  return b;
}

double KvLayout::host_bytes_per_token() const {
  double b = 0;
  for (const KvGroup& g : groups) b += g.host_bytes_per_token() * g.cache_layers;
  return b;
}

int KvLayout::reader_layers() const {
  int n = 0;
  for (const KvGroup& g : groups) n += g.reader_layers;
  return n;
}

nlohmann::json KvLayout::to_json() const {
  nlohmann::json gs = nlohmann::json::array();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const KvGroup& g = groups[i];
    nlohmann::json j = {{"name", g.name},
                        {"cache_layers", g.cache_layers},
                        {"reader_layers", g.reader_layers},
                        {"retention", retention_name(g.retention)},
                        {"k_elems", g.k_elems},
                        {"v_elems", g.v_elems},
                        {"k_bits", g.k_bits},
                        {"v_bits", g.v_bits},
                        {"device_bytes_per_token_per_layer", g.device_bytes_per_token()},
                        {"host_bytes_per_token_per_layer", g.host_bytes_per_token()},
                        {"page_bytes", page_bytes(i)},
                        {"fixed_device_bytes_per_request", fixed_device_bytes(i)}};
    if (g.retention == Retention::kWindow) {
      j["window_tokens"] = g.window_tokens;
      j["sink_tokens"] = g.sink_tokens;
    }
    if (g.retention == Retention::kPromptBudget || g.retention == Retention::kTotalBudget) {
      j["budget_tokens"] = g.budget_tokens;
      if (g.budget_fraction > 0) j["budget_fraction"] = g.budget_fraction;
    }
    if (g.residual_tokens > 0) j["residual_tokens"] = g.residual_tokens;
    if (g.read_budget_tokens > 0) j["read_budget_tokens"] = g.read_budget_tokens;
    gs.push_back(j);
  }
  return {{"strategies", strategies},     {"block_size", block_size}, {"fused_dequant", fused_dequant},
          {"overlap_transfers", overlap_transfers}, {"groups", gs}};
}

KvLayout base_layout(const LlmSpec& m, int tp, TokenCount block_size) {
  KvLayout layout;
  layout.block_size = block_size;
  double k_elems, v_elems;
  if (m.mla) {
    // The latent (d_c) plays the role of V and of the non-RoPE part of K; the RoPE key is extra. Replicated on
    // every TP rank.
    k_elems = m.mla->qk_rope_head_dim;
    v_elems = m.mla->kv_lora_rank;
  } else {
    const double kv_heads = std::ceil(static_cast<double>(m.num_kv_heads) / tp);
    k_elems = v_elems = kv_heads * m.head_dim;
  }
  const double bits = m.kv_bytes_per_element * 8.0;
  std::map<TokenCount, int> by_window;
  for (TokenCount w : m.layer_window_tokens) by_window[w]++;
  if (m.layer_window_tokens.empty()) by_window[0] = m.num_layers;
  for (auto [window, n] : by_window) {
    KvGroup g;
    g.name = window == 0 ? "global" : "local";
    g.cache_layers = g.reader_layers = n;
    if (window > 0) {
      g.retention = Retention::kWindow;
      g.window_tokens = window;
    }
    g.k_elems = k_elems;
    g.v_elems = v_elems;
    g.k_bits = g.v_bits = bits;
    layout.groups.push_back(g);
  }
  return layout;
}

}  // namespace kvsim
