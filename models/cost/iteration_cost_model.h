// Turns one engine iteration (prefill chunks + decode tokens + swaps) into the list of kernel ops of a
// transformer forward pass, and prices them with a kernel cost model.
//
// Ops (each summed over the layers it runs in, sharded by tensor parallelism `tp`):
//   gemm.qkv, gemm.attn_out, gemm.mlp (dense MLP and shared experts), gemm.moe_router, gemm.moe_experts,
//   attention.prefill (FLOPs over cached context + the chunk, causal), attention.decode (bytes of KV read),
//   allreduce (2 per layer when tp > 1), gemm.lm_head (one row per sequence that samples a token),
//   kv.swap_out / kv.swap_in (PCIe), iteration.overhead (fixed).
// Approximations (also listed in every report): activations are bf16; each chunk reads the KV it attends to once;
// embedding lookup, norms, rotary and sampling are folded into iteration.overhead; MoE weight traffic counts the
// expected number of distinct experts hit by T tokens routed uniformly, E*(1-(1-k/E)^T); sliding-window layers
// attend to min(context, window) tokens.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "models/cost/kernel_cost_model.h"
#include "models/spec/gpu_spec.h"
#include "models/spec/llm_spec.h"

namespace kvsim {

struct PrefillChunk {
  TokenCount tokens = 0;   // new tokens computed for this sequence in this iteration (> 0)
  TokenCount cached = 0;   // tokens of the same sequence already in the KV cache before the chunk
};

// One iteration as the cost model sees it. Spans must stay valid during price().
struct IterationShape {
  std::span<const PrefillChunk> prefills;
  std::span<const TokenCount> decode_contexts;  // per decoding sequence: KV tokens it attends to (incl. new one)
  int sampled_sequences = 0;                    // sequences that produce a token (rows of the LM head)
  double swap_out_bytes = 0;                    // KV bytes copied device -> host this iteration
  double swap_in_bytes = 0;                     // KV bytes copied host -> device this iteration
};

struct IterationCost {
  double seconds = 0;                               // sum of every op's seconds (ops run back to back)
  std::array<CostEstimate, kNumOpIds> ops{};        // per op id; ops that did not run have seconds == 0
  std::array<int, kNumOpIds> present{};             // 1 if the op ran in this iteration
};

class IterationCostModel {
 public:
  // `kernels` must outlive this object. `iteration_overhead_s` is added once per iteration.
  IterationCostModel(const LlmSpec& model, const GpuSpec& gpu, int tensor_parallel, const IKernelCostModel& kernels,
                     double iteration_overhead_s);

  // The ops of one iteration (cleared first). Exposed for tests and `kvsim cost`.
  void build_ops(const IterationShape& shape, std::vector<KernelOp>& ops) const;

  // Prices one iteration. Allocation-free after the first call.
  void price(const IterationShape& shape, IterationCost& out) const;

  // KV-cache bytes per token per layer on one GPU (heads sharded by tp; MLA latent replicated).
  double kv_bytes_per_token_per_layer() const { return kv_bytes_token_layer_; }
  // KV-cache bytes per token over all layers on one GPU.
  double kv_bytes_per_token() const { return kv_bytes_token_layer_ * model_.num_layers; }
  // Weight bytes held by one GPU.
  double weight_bytes_per_gpu() const;

 private:
  struct LayerGroup {
    TokenCount window = 0;  // 0 = global attention
    int layers = 0;
  };
  void add_gemm(std::vector<KernelOp>& ops, OpId id, double m, double k, double n, double layers) const;

  const LlmSpec& model_;
  int tp_;
  const IKernelCostModel& kernels_;
  double overhead_s_;
  std::vector<LayerGroup> groups_;
  double kv_bytes_token_layer_;
  double q_heads_;            // query heads per GPU
  double act_bytes_ = 2.0;    // activation element size (bf16)
  mutable std::vector<KernelOp> scratch_;
};

}  // namespace kvsim
