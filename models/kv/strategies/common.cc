// Shared building blocks of the KV strategies (see common.h).
#include "models/kv/strategies/common.h"

#include <fmt/format.h>

namespace kvsim::kvstrat {

void quantize(KvGroup& g, double k_bits, double v_bits, int group_size, bool asymmetric, TokenCount residual) {
  g.k_bits = k_bits;
  g.v_bits = v_bits;
  const double meta = group_size > 0 ? (asymmetric ? 32.0 : 16.0) / group_size : 0.0;
  g.k_meta_bits = k_bits < 16 ? meta : 0.0;
  g.v_meta_bits = v_bits < 16 ? meta : 0.0;
  g.residual_tokens = residual;
}

void retain_window(KvLayout& layout, TokenCount window, TokenCount sinks, bool dense_prefill) {
  for (KvGroup& g : layout.groups) {
    if (g.retention != Retention::kAll) continue;
    g.retention = Retention::kWindow;
    g.window_tokens = window;
    g.sink_tokens = sinks;
    g.dense_prefill = dense_prefill;
  }
}

bool read_window_prefill(ParamReader& p) {
  const std::string mode = p.get<std::string>("prefill", "dense");
  p.check(mode == "dense" || mode == "windowed", "prefill",
          fmt::format("must be \"dense\" (full attention over the prompt, then the window) or \"windowed\" "
                      "(the prefill attends within the window), got \"{}\"",
                      mode));
  return mode == "dense";
}

void retain_budget(KvLayout& layout, Retention kind, TokenCount budget_tokens, double budget_fraction) {
  for (KvGroup& g : layout.groups) {
    if (g.retention != Retention::kAll) continue;
    g.retention = kind;
    g.budget_tokens = budget_tokens;
    g.budget_fraction = budget_fraction;
  }
}

void add_accumulated_scores(KvGroup& g, const StrategyContext& c, double extra_flops) {
  const double heads = q_heads(c);
  const double per_score = (2.0 * c.model.head_dim + 2.0 + extra_flops) * heads;
  g.extra_bytes_per_token += 4.0 * heads;
  g.select_bytes_per_token += 8.0 * heads;
  g.score_flops_per_token += per_score;
  g.prefill_score_flops_per_pair += per_score;
}

ParamDoc int_param(const std::string& name, long long def, const std::string& help) {
  return {name, "int", fmt::format("{}", def), help};
}
ParamDoc num_param(const std::string& name, double def, const std::string& help) {
  return {name, "number", fmt::format("{}", def), help};
}
ParamDoc bool_param(const std::string& name, bool def, const std::string& help) {
  return {name, "bool", def ? "true" : "false", help};
}

// Offload strategies place a 16-bit cache that keeps every token; they say why they cannot build on anything else.
void check_offloadable(const KvLayout& l, const std::string& strategy) {
  bool any_full = false;
  for (const KvGroup& g : l.groups) {
    if (g.retention == Retention::kPromptBudget || g.retention == Retention::kTotalBudget) {
      throw KvsimError(fmt::format("strategy '{}' selects from the whole context and cannot be combined with token "
                                   "eviction (a retention-axis strategy)",
                                   strategy));
    }
    if (g.retention == Retention::kAll) any_full = true;
  }
  if (!any_full) {
    throw KvsimError(fmt::format("strategy '{}': the layout has no full-attention layers keeping every token to "
                                 "offload (every layer is windowed)",
                                 strategy));
  }
}

}  // namespace kvsim::kvstrat
