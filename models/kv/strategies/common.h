// Building blocks shared by the KV strategies (kv-strategies.md §0.6): quantizing a group, imposing a retention
// rule, reading typed parameters with their documentation. One place for each, so strategies stay declarative.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/kv/strategy.h"

namespace kvsim::kvstrat {

// Group quantization of K and V: `bits` per element plus metadata per group of `group_size` elements
// (asymmetric: fp16 scale + zero = 32/G bits; symmetric: fp16 scale = 16/G bits); `residual` most recent tokens
// stay at 16 bits. Adds the append-time quantize work and marks dequantization in attention.
void quantize(KvGroup& g, double k_bits, double v_bits, int group_size, bool asymmetric, TokenCount residual);

// Token retention on every group that keeps all tokens (model-defined window groups are already bounded).
// `dense_prefill`: the prompt is prefilled with full attention and cut to the window when it completes (how a
// window imposed at inference time runs in its reference code); false: the prefill attends within the window.
void retain_window(KvLayout& layout, TokenCount window, TokenCount sinks, bool dense_prefill);
// Reads a window strategy's `prefill` parameter: "dense" (default) or "windowed"; true for dense.
bool read_window_prefill(ParamReader& p);
void retain_budget(KvLayout& layout, Retention kind, TokenCount budget_tokens, double budget_fraction);

// Query heads on one GPU.
inline double q_heads(const StrategyContext& c) {
  return static_cast<double>(c.model.num_attention_heads) / c.tensor_parallel;
}

// Accumulated attention scores (H2O and the policies built on it: Keyformer, MiKV): an fp32 score per held token per
// query head, read and written at every decode step with the probabilities recomputed to update it, and at prefill
// the scores of every prompt query over every prompt key it attends to (the reference implementations compute
// softmax(QK^T) of the whole prompt; FlashAttention returns no probabilities, so this is a second pass). One score
// costs (2 d + 2 + extra_flops) FLOPs per query head: the QK product, the exponent and normalisation, the
// accumulation, and `extra_flops` of the policy's own (Keyformer's Gumbel noise and temperature).
void add_accumulated_scores(KvGroup& g, const StrategyContext& c, double extra_flops);

// Offload and selection strategies that need a 16-bit cache keeping every token (ShadowKV, InfLLM, SentenceKV,
// HiP with offload): throws KvsimError saying why `strategy` cannot build on `l` (token eviction, no full layers).
void check_offloadable(const KvLayout& l, const std::string& strategy);

// Parameter documentation helpers.
ParamDoc int_param(const std::string& name, long long def, const std::string& help);
ParamDoc num_param(const std::string& name, double def, const std::string& help);
ParamDoc bool_param(const std::string& name, bool def, const std::string& help);

// A strategy whose parameters are a JSON object and whose effect is a function; for simple presets.
class LambdaStrategy final : public IKvStrategy {
 public:
  using Apply = std::function<void(KvLayout&, const StrategyContext&)>;
  LambdaStrategy(nlohmann::json params, Apply apply, std::vector<std::string> approximations = {})
      : params_(std::move(params)), apply_(std::move(apply)), approximations_(std::move(approximations)) {}
  void apply(KvLayout& layout, const StrategyContext& ctx) const override { apply_(layout, ctx); }
  nlohmann::json params() const override { return params_; }
  std::vector<std::string> approximations() const override { return approximations_; }

 private:
  nlohmann::json params_;
  Apply apply_;
  std::vector<std::string> approximations_;
};

// Registration lists per family of strategies (one file each), called by builtin.cc.
void add_architecture_strategies(KvStrategyRegistry& r);
void add_sharing_strategies(KvStrategyRegistry& r);
void add_width_strategies(KvStrategyRegistry& r);
void add_eviction_strategies(KvStrategyRegistry& r);
void add_quantization_strategies(KvStrategyRegistry& r);
void add_offload_strategies(KvStrategyRegistry& r);
void add_sparse_strategies(KvStrategyRegistry& r);

}  // namespace kvsim::kvstrat
