// Iteration -> ops -> seconds (see iteration_cost_model.h).
#include "models/cost/iteration_cost_model.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace kvsim {

namespace {
// Sum over query positions p = cached+1 .. cached+tokens of the keys each attends to, min(p, window).
double attended_pairs(TokenCount tokens, TokenCount cached, TokenCount window) {
  const double c = static_cast<double>(tokens);
  const double lo = static_cast<double>(cached) + 1, hi = static_cast<double>(cached + tokens);
  if (window <= 0 || hi <= static_cast<double>(window)) return (lo + hi) * c / 2.0;
  const double w = static_cast<double>(window);
  if (lo > w) return c * w;
  return (lo + w) * (w - lo + 1) / 2.0 + (hi - w) * w;
}
}  // namespace

IterationCostModel::IterationCostModel(const LlmSpec& model, const GpuSpec& /*gpu*/, int tensor_parallel,
                                       const IKernelCostModel& kernels, double iteration_overhead_s)
    : model_(model), tp_(tensor_parallel), kernels_(kernels), overhead_s_(iteration_overhead_s) {
  std::map<TokenCount, int> by_window;
  for (TokenCount w : model.layer_window_tokens) by_window[w]++;
  if (model.layer_window_tokens.empty()) by_window[0] = model.num_layers;
  for (auto [w, n] : by_window) groups_.push_back({w, n});
  q_heads_ = static_cast<double>(model.num_attention_heads) / tp_;
  if (model.mla) {
    kv_bytes_token_layer_ = (model.mla->kv_lora_rank + model.mla->qk_rope_head_dim) * model.kv_bytes_per_element;
  } else {
    const double kv_heads = std::ceil(static_cast<double>(model.num_kv_heads) / tp_);
    kv_bytes_token_layer_ = 2.0 * kv_heads * model.head_dim * model.kv_bytes_per_element;
  }
}

double IterationCostModel::weight_bytes_per_gpu() const { return model_.weight_bytes() / tp_; }

void IterationCostModel::add_gemm(std::vector<KernelOp>& ops, OpId id, double m, double k, double n,
                                  double layers) const {
  if (m <= 0 || layers <= 0) return;
  KernelOp op;
  op.id = id;
  op.kind = OpKind::kGemm;
  op.flops = 2.0 * m * k * n * layers;
  op.bytes = (k * n * model_.weight_bytes_per_param + m * (k + n) * act_bytes_) * layers;
  op.launches = layers;
  ops.push_back(op);
}

void IterationCostModel::build_ops(const IterationShape& s, std::vector<KernelOp>& ops) const {
  ops.clear();
  const LlmSpec& m = model_;
  const double t = tp_;
  const double L = m.num_layers;
  const double h = m.hidden_size;
  double T = static_cast<double>(s.decode_contexts.size());
  for (const PrefillChunk& c : s.prefills) T += static_cast<double>(c.tokens);

  if (T > 0) {
    // Attention projections.
    if (m.mla) {
      const MlaSpec& a = *m.mla;
      const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
      const double q_params = a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank * m.num_attention_heads * qk / t
                                                : h * m.num_attention_heads * qk / t;
      const double kv_params = h * (a.kv_lora_rank + a.qk_rope_head_dim) +
                               a.kv_lora_rank * m.num_attention_heads * (a.qk_nope_head_dim + a.v_head_dim) / t;
      add_gemm(ops, OpId::kGemmQkv, T, h, (q_params + kv_params) / h, L);
      add_gemm(ops, OpId::kGemmAttnOut, T, m.num_attention_heads * a.v_head_dim / t, h, L);
    } else {
      const double kv_heads = std::ceil(m.num_kv_heads / t);
      add_gemm(ops, OpId::kGemmQkv, T, h, (q_heads_ + 2 * kv_heads) * m.head_dim, L);
      add_gemm(ops, OpId::kGemmAttnOut, T, q_heads_ * m.head_dim, h, L);
    }
    // Feed-forward.
    if (m.moe) {
      const MoeSpec& e = *m.moe;
      const double dense_layers = e.first_dense_layers, moe_layers = L - e.first_dense_layers;
      add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * e.dense_intermediate_size / t, dense_layers);
      add_gemm(ops, OpId::kGemmMlp, T, e.dense_intermediate_size / t, h, dense_layers);
      if (e.num_shared_experts > 0) {
        const double shared = static_cast<double>(e.num_shared_experts) * e.expert_intermediate_size / t;
        add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * shared, moe_layers);
        add_gemm(ops, OpId::kGemmMlp, T, shared, h, moe_layers);
      }
      add_gemm(ops, OpId::kGemmMoeRouter, T, h, e.num_experts, moe_layers);
      if (moe_layers > 0) {
        const double E = e.num_experts, k = e.experts_per_token, I = e.expert_intermediate_size / t;
        const double active = E * (1.0 - std::pow(1.0 - k / E, T));
        KernelOp op;
        op.id = OpId::kGemmMoeExperts;
        op.kind = OpKind::kGemm;
        op.flops = 2.0 * T * k * 3.0 * h * I * moe_layers;
        op.bytes = (active * 3.0 * h * I * m.weight_bytes_per_param + T * k * (2.0 * h + 3.0 * I) * act_bytes_) *
                   moe_layers;
        op.launches = 2 * moe_layers;
        ops.push_back(op);
      }
    } else {
      add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * m.intermediate_size / t, L);
      add_gemm(ops, OpId::kGemmMlp, T, m.intermediate_size / t, h, L);
    }

    // Attention. FLOPs per (query, key) pair per layer on one GPU.
    double prefill_pair_flops, decode_pair_flops, q_o_bytes_per_token;
    if (m.mla) {
      const MlaSpec& a = *m.mla;
      prefill_pair_flops = 2.0 * q_heads_ * (a.qk_nope_head_dim + a.qk_rope_head_dim) + 2.0 * q_heads_ * a.v_head_dim;
      decode_pair_flops = 2.0 * q_heads_ * (a.kv_lora_rank + a.qk_rope_head_dim) + 2.0 * q_heads_ * a.kv_lora_rank;
      q_o_bytes_per_token = q_heads_ * (a.kv_lora_rank + a.qk_rope_head_dim + a.kv_lora_rank) * act_bytes_;
    } else {
      prefill_pair_flops = decode_pair_flops = 4.0 * q_heads_ * m.head_dim;
      q_o_bytes_per_token = 2.0 * q_heads_ * m.head_dim * act_bytes_;
    }
    if (!s.prefills.empty()) {
      KernelOp op;
      op.id = OpId::kAttentionPrefill;
      op.kind = OpKind::kAttentionPrefill;
      op.launches = L;
      for (const LayerGroup& g : groups_) {
        for (const PrefillChunk& c : s.prefills) {
          const double pairs = attended_pairs(c.tokens, c.cached, g.window);
          const double read_tokens = g.window > 0 ? std::min<double>(c.cached + c.tokens, g.window)
                                                  : static_cast<double>(c.cached + c.tokens);
          op.flops += g.layers * pairs * prefill_pair_flops;
          op.bytes += g.layers * ((read_tokens + c.tokens) * kv_bytes_token_layer_ + c.tokens * q_o_bytes_per_token);
        }
      }
      ops.push_back(op);
    }
    if (!s.decode_contexts.empty()) {
      KernelOp op;
      op.id = OpId::kAttentionDecode;
      op.kind = OpKind::kAttentionDecode;
      op.launches = L;
      const double n = static_cast<double>(s.decode_contexts.size());
      for (const LayerGroup& g : groups_) {
        double kv_tokens = 0;
        if (g.window <= 0) {
          for (TokenCount ctx : s.decode_contexts) kv_tokens += static_cast<double>(ctx);
        } else {
          for (TokenCount ctx : s.decode_contexts) kv_tokens += static_cast<double>(std::min(ctx, g.window));
        }
        op.flops += g.layers * kv_tokens * decode_pair_flops;
        op.bytes += g.layers * (kv_tokens * kv_bytes_token_layer_ + n * q_o_bytes_per_token);
      }
      ops.push_back(op);
    }
    if (tp_ > 1) {
      KernelOp op;
      op.id = OpId::kAllReduce;
      op.kind = OpKind::kAllReduce;
      op.tp = tp_;
      op.launches = 2 * L;
      op.bytes = 2 * L * T * h * act_bytes_;
      ops.push_back(op);
    }
  }
  add_gemm(ops, OpId::kGemmLmHead, s.sampled_sequences, h, m.vocab_size / t, 1);
  for (auto [id, bytes] : {std::pair{OpId::kSwapOut, s.swap_out_bytes}, std::pair{OpId::kSwapIn, s.swap_in_bytes}}) {
    if (bytes <= 0) continue;
    KernelOp op;
    op.id = id;
    op.kind = OpKind::kHostTransfer;
    op.bytes = bytes;
    op.launches = 1;
    ops.push_back(op);
  }
  KernelOp fixed;
  fixed.id = OpId::kIterationOverhead;
  fixed.kind = OpKind::kFixed;
  fixed.fixed_s = overhead_s_;
  fixed.launches = 0;
  ops.push_back(fixed);
}

void IterationCostModel::price(const IterationShape& shape, IterationCost& out) const {
  build_ops(shape, scratch_);
  out.seconds = 0;
  out.ops.fill(CostEstimate{});
  out.present.fill(0);
  for (const KernelOp& op : scratch_) {
    const CostEstimate e = kernels_.estimate(op);
    CostEstimate& acc = out.ops[static_cast<std::size_t>(op.id)];
    // Ops sharing an id (gate/up and down GEMMs) add up; the bound is that of the larger part.
    if (e.seconds >= acc.seconds) acc.bound = e.bound;
    acc.seconds += e.seconds;
    acc.flops += e.flops;
    acc.bytes += e.bytes;
    acc.source = e.source;
    out.present[static_cast<std::size_t>(op.id)] = 1;
    out.seconds += e.seconds;
  }
}

}  // namespace kvsim
