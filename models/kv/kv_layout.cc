// KV layout arithmetic (see kv_layout.h).
#include "models/kv/kv_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "models/spec/llm_spec.h"

namespace kvsim {

std::string_view retention_name(Retention r) {
  switch (r) {
    case Retention::kAll: return "all";
    case Retention::kWindow: return "window";
    case Retention::kPromptBudget: return "prompt-budget";
    case Retention::kTotalBudget: return "total-budget";
    case Retention::kOutsideWindow: return "outside-window";
  }
  return "?";
}

KvGroup::Tokens KvGroup::layer_tokens(TokenCount prompt, TokenCount computed) const {
  Tokens t;
  const double layers = cache_layers;
  // Per-layer budgets after prefill: layer i holds min(prompt, B_i) + generated.
  const double generated = static_cast<double>(computed - prompt);
  const std::size_t k = budgets_below(prompt);
  t.held = budget_prefix_[k] + static_cast<double>(sorted_budgets_.size() - k) * static_cast<double>(prompt) +
           layers * generated;
  t.attended = t.held + layers;
  if (read_budget_tokens == 0 && residual_tokens == 0) {
    t.read = t.attended;
    return t;
  }
  for (TokenCount b : sorted_budgets_) {  // compositions with a read budget or a residual window: per layer
    const TokenCount r = read_tokens(std::min(b, prompt) + (computed - prompt) + 1);
    t.read += static_cast<double>(r);
    t.residual_read += static_cast<double>(std::min(r, residual_tokens));
  }
  return t;
}

std::size_t KvGroup::budgets_below(TokenCount prompt) const {
  if (prompt >= 0 && static_cast<std::size_t>(prompt) < rank_below_.size()) {
    return rank_below_[static_cast<std::size_t>(prompt)];
  }
  if (prompt > max_budget_) return sorted_budgets_.size();
  return static_cast<std::size_t>(std::lower_bound(sorted_budgets_.begin(), sorted_budgets_.end(), prompt) -
                                  sorted_budgets_.begin());
}

std::int64_t KvGroup::layer_pages(TokenCount prompt, TokenCount computed, TokenCount chunk, TokenCount block) const {
  const auto pages = [this, block](TokenCount n) { return n <= 0 ? 0 : ceil_div(n, block); };
  // sum_i ceil((min(P, B_i) + x) / block) with x = generated + chunk: layers with B_i >= P contribute
  // ceil((P + x) / block) each; for the k layers with B_i < P, write B_i + block - 1 = q_i block + r_i and
  // x = G block + h: the sum is sum(q_i) + k G + #{r_i >= block - h}.
  const TokenCount x = computed - prompt + chunk;
  const std::size_t k = budgets_below(prompt);
  const std::int64_t rest = static_cast<std::int64_t>(sorted_budgets_.size() - k) * pages(prompt + x);
  if (k == 0) return rest;
  const std::int64_t G = block_shift_ >= 0 && block == prepared_block_ ? x >> block_shift_ : x / block;
  const std::int64_t h = x - G * block;
  const std::int64_t carry = h == 0 ? 0 : residue_at_least_[k * static_cast<std::size_t>(block + 1) +
                                                          static_cast<std::size_t>(block - h)];
  return rest + page_quot_prefix_[k] + static_cast<std::int64_t>(k) * G + carry;
}

KvGroup::StepPages KvGroup::final_prefill_pages(TokenCount prompt, TokenCount computed, TokenCount chunk,
                                                 TokenCount block) const {
  const auto pages = [this, block](TokenCount n) -> std::int64_t { return n <= 0 ? 0 : ceil_div(n, block); };
  const TokenCount whole = computed + chunk;  // what the layer being computed holds
  if (per_layer(prompt)) {
    // Layer i keeps min(prompt, B_i) + (whole - prompt) after the step; at most layers times, so O(layers).
    std::int64_t sum = 0, least = pages(whole);
    for (TokenCount b : sorted_budgets_) {
      const std::int64_t p = pages(std::max(computed, std::min(prompt, b) + (whole - prompt)));
      sum += p;
      least = std::min(least, p);
    }
    return {sum, pages(whole) - least};
  }
  const std::int64_t per_layer_pages = pages(std::max(computed, held(prompt, whole)));
  return {static_cast<std::int64_t>(cache_layers) * per_layer_pages, pages(whole) - per_layer_pages};
}

void KvLayout::step_pages(TokenCount prompt, TokenCount computed, TokenCount chunk,
                          std::span<std::int64_t> pages) const {
  std::size_t widest = groups.size();
  double widest_bytes = 0;
  std::int64_t widest_pages = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const KvGroup& x = groups[g];
    if (!x.final_prefill_step(prompt, computed, chunk)) {
      pages[g] = x.pages_sum(prompt, computed, chunk, block_size);
      continue;
    }
    const KvGroup::StepPages s = x.final_prefill_pages(prompt, computed, chunk, block_size);
    pages[g] = s.sum;
    const double bytes = static_cast<double>(s.transient) * x.page_layer_bytes_;
    if (s.transient > 0 && bytes > widest_bytes) {
      widest = g;
      widest_bytes = bytes;
      widest_pages = s.transient;
    }
  }
  if (widest < groups.size()) pages[widest] += widest_pages;
}

std::int64_t KvLayout::block_bytes() const {
  std::int64_t bytes = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) bytes += group_device_bytes(g, groups[g].cache_layers) - fixed_device_bytes(g);
  return bytes;
}

std::int64_t KvLayout::host_bytes(TokenCount prompt, TokenCount computed, TokenCount chunk) const {
  std::int64_t host = 0;
  for (const std::size_t i : host_groups_) {
    const KvGroup& g = groups[i];
    const double per_token = g.host_token_bytes_;
    const double held = g.per_layer(prompt) && computed >= prompt
                            ? g.tokens(prompt, computed).held + static_cast<double>(chunk) * g.cache_layers
                            : static_cast<double>(g.held_during(prompt, computed, chunk)) * g.cache_layers;
    host += static_cast<std::int64_t>(std::ceil(held * per_token));
  }
  return host;
}

KvLayout::Footprint KvLayout::peak_footprint(TokenCount prompt, TokenCount total_tokens,
                                             const PrefillSteps& steps) const {
  // Reachable steps: a prefix of c tokens computed, then a chunk of n, with c + n <= K (the prompt, or the prompt
  // and the output tokens a recompute after preemption covers) and n <= S (the largest chunk; K - c without chunked
  // prefill, where a step runs the whole rest). For a given c more tokens never hold less, so the largest chunk is
  // the worst: n = min(S, K - c). As c grows:
  //  - while n = S, every group's pages are non-decreasing except where the step starts to complete a compressed
  //    prompt (c = P - S: the layers compress inside it), so the worst is at c = P - 1 - S, P - 1 or K - S;
  //  - once n = K - c, a window that prefills within itself holds its span then fewer and fewer (a concave
  //    piece), while a compressed prompt's layers hold max(c, kept) (convex): the worst is at a breakpoint, c = K - S,
  //    c = span - 1 of each such window, P - 1 or P. Between breakpoints the unrounded sum is convex, so it is at
  //    most its value at an end; rounding to pages can add less than one page per layer where such a window
  //    shrinks while a compressed prompt grows, so one page per layer is added to layouts that have both (other
  //    groups are constant there).
  const TokenCount last = std::max(total_tokens, prompt);
  const TokenCount step = steps.chunked ? std::max<TokenCount>(1, steps.max_step_tokens) : last;
  std::vector<std::int64_t> pages(groups.size());
  Footprint peak;
  const auto consider = [&](TokenCount computed) {
    if (computed < 0 || computed >= last) return;
    const TokenCount chunk = std::min(step, last - computed);
    step_pages(prompt, computed, chunk, pages);
    peak.device_bytes = std::max(peak.device_bytes, device_bytes(pages));
    peak.host_bytes = std::max(peak.host_bytes, host_bytes(prompt, computed, chunk));
  };
  // The last step: a decode step, or with chunked prefill the prompt's last token after a prefix of P - 1.
  if (steps.chunked || last - 1 >= prompt) consider(last - 1);
  consider(std::max<TokenCount>(0, last - step));
  // A block-table window's whole blocks hold at most one page per layer more than its tokens fill, wherever the
  // steps fall (and at least what they fill): one page per layer on the considered steps' peak bounds it.
  const auto with_block_tables = [this](Footprint f) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].block_table) f.device_bytes += group_device_bytes(g, groups[g].cache_layers) - fixed_device_bytes(g);
    }
    return f;
  };
  if (!steps.chunked) return with_block_tables(peak);  // the whole sequence in one step, and decode steps
  for (const TokenCount c : {prompt - 1 - step, prompt - 1, prompt}) consider(c);
  bool windowed = false, compressed = false;
  for (const KvGroup& g : groups) {
    compressed = compressed || g.compresses_prompt();
    if (g.retention != Retention::kWindow || g.dense_prefill) continue;
    windowed = true;
    consider(g.sink_tokens + g.window_tokens - 1);
  }
  if (windowed && compressed) peak.device_bytes += block_bytes();
  return with_block_tables(peak);
}

double ScanSelection::scanned(TokenCount attended) const {
  if (attended <= 0) return 0;
  const double levels =
      log_units > 0 ? std::max(1.0, std::log2(static_cast<double>(attended) / static_cast<double>(log_tokens))) : 0.0;
  return units + log_units * levels;
}

KvGroup::Tokens KvGroup::priced_tokens(TokenCount prompt, TokenCount computed) const {
  Tokens t = tokens(prompt, computed);
  if (scan) t.attended = cache_layers * scan->scanned(decode_attended(held(prompt, computed)));
  return t;
}

void KvLayout::prepare() {
  int shift = -1;
  for (int b = 0; b < 62; ++b) {
    if ((TokenCount{1} << b) == block_size) shift = b;
  }
  host_groups_.clear();
  for (KvGroup& g : groups) {
    if (g.host_bytes_per_token() > 0) host_groups_.push_back(static_cast<std::size_t>(&g - groups.data()));
    g.prepared_block_ = block_size;
    g.block_shift_ = shift;
    g.page_layer_bytes_ = static_cast<double>(block_size) * g.device_bytes_per_token();
    g.host_token_bytes_ = g.host_bytes_per_token();
    g.page_bytes_ = static_cast<std::int64_t>(std::ceil(g.page_layer_bytes_ * g.cache_layers));
    // Residual tokens cost 16 bits instead of the stored precision: a fixed premium per request.
    const double premium = static_cast<double>(g.residual_tokens) *
                           std::max(0.0, g.full_bytes_per_token() - g.stored_bytes_per_token());
    g.fixed_bytes_ = static_cast<std::int64_t>(std::ceil((g.fixed_bytes + premium) * g.cache_layers));
    if (g.scan && (!g.layer_budgets.empty() || g.scan->log_tokens <= 0)) {
      throw std::logic_error("KvGroup '" + g.name + "': a scanning selection needs one budget and scan_log_tokens > 0");
    }
    if (g.layer_budgets.empty()) continue;
    if (static_cast<int>(g.layer_budgets.size()) != g.cache_layers || g.retention != Retention::kPromptBudget) {
      throw std::logic_error("KvGroup '" + g.name + "': layer_budgets needs kPromptBudget and one budget per layer");
    }
    g.sorted_budgets_ = g.layer_budgets;
    std::sort(g.sorted_budgets_.begin(), g.sorted_budgets_.end());
    g.max_budget_ = g.sorted_budgets_.back();
    // rank_below_[p] = number of budgets < p, for p up to the largest budget (capped; beyond: binary search).
    const auto table = static_cast<std::size_t>(std::min<TokenCount>(g.max_budget_, 1 << 16)) + 1;
    g.rank_below_.assign(table, 0);
    for (std::size_t p = 0; p < table; ++p) {
      g.rank_below_[p] = static_cast<std::uint16_t>(
          std::lower_bound(g.sorted_budgets_.begin(), g.sorted_budgets_.end(), static_cast<TokenCount>(p)) -
          g.sorted_budgets_.begin());
    }
    const std::size_t n = g.sorted_budgets_.size(), width = static_cast<std::size_t>(block_size + 1);
    g.budget_prefix_.assign(n + 1, 0.0);
    g.page_quot_prefix_.assign(n + 1, 0);
    g.residue_at_least_.assign((n + 1) * width, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const TokenCount c = g.sorted_budgets_[i] + block_size - 1;
      g.budget_prefix_[i + 1] = g.budget_prefix_[i] + static_cast<double>(g.sorted_budgets_[i]);
      g.page_quot_prefix_[i + 1] = g.page_quot_prefix_[i] + c / block_size;
      const TokenCount r = c % block_size;
      for (std::size_t t = 0; t < width; ++t) {
        g.residue_at_least_[(i + 1) * width + t] =
            g.residue_at_least_[i * width + t] + (static_cast<TokenCount>(t) <= r ? 1 : 0);
      }
    }
  }
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
  // A group of the tokens a window drops (InfLLM's memory units) is read by the layers of its window's group, which
  // count already: a layer reading both is one reader.
  int n = 0;
  for (const KvGroup& g : groups) {
    if (g.retention != Retention::kOutsideWindow) n += g.reader_layers;
  }
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
                        {"page_bytes_per_layer", page_layer_bytes(i)},
                        {"fixed_device_bytes_per_request", fixed_device_bytes(i)}};
    if (g.retention == Retention::kWindow || g.retention == Retention::kOutsideWindow) {
      j["window_tokens"] = g.window_tokens;
      j["sink_tokens"] = g.sink_tokens;
    }
    if (g.retention == Retention::kWindow) j["prefill"] = g.dense_prefill ? "dense" : "windowed";
    if (g.retention == Retention::kPromptBudget || g.retention == Retention::kTotalBudget) {
      j["budget_tokens"] = g.budget_tokens;
      if (g.budget_fraction > 0) j["budget_fraction"] = g.budget_fraction;
    }
    if (g.residual_tokens > 0) j["residual_tokens"] = g.residual_tokens;
    if (!g.layer_budgets.empty()) {
      j["layer_budgets"] = g.layer_budgets;
      j["layer_budgets_from_prompt_tokens"] = g.layer_budgets_from;
    }
    if (g.read_budget_tokens > 0) j["read_budget_tokens"] = g.read_budget_tokens;
    if (g.scan) {
      j["scan_units"] = g.scan->units;
      if (g.scan->log_units > 0) {
        j["scan_log_units"] = g.scan->log_units;
        j["scan_log_tokens"] = g.scan->log_tokens;
      }
    }
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
  layout.prepare();
  return layout;
}

}  // namespace kvsim
