// Turns one engine iteration (prefill chunks + decode tokens + swaps) into the kernel ops of a transformer forward
// pass under a KV layout, and prices them with a kernel cost model.
//
// Ops (each summed over the layers it runs in, sharded by tensor parallelism `tp`):
//   gemm.qkv, gemm.attn_out, gemm.mlp (dense MLP and shared experts), gemm.moe_router, gemm.moe_experts (routed
//   experts: 2 launches per MoE layer; its OpShape is one layer's fused-MoE call, for measured MoE tables),
//   attention.prefill (FLOPs over the kept context + the chunk, causal), attention.decode (bytes of KV read, at the
//   stored precision, per KV layout group), allreduce (2 per layer when tp > 1; 1 per MoE layer under expert
//   parallelism, whose combine replaces the MLP's), alltoall (expert parallelism: a dispatch and a combine per MoE
//   layer, each GPU sending its tokens' hidden states once per chosen expert), gemm.lm_head (one row per sequence
//   that samples a token), kv.swap_out / kv.swap_in (PCIe), iteration.overhead (fixed), and the KV strategy's work:
//   kv.quantize (on append), kv.dequantize (when not fused into attention), kv.select (scoring / selection, at
//   prefill per prompt token or per attended (query, key) pair, at decode per held token),
//   kv.reconstruct (low-rank keys), kv.fetch (host-resident KV over PCIe; overlapped with compute when the layout
//   says so: the iteration then takes max(compute, fetch)), kv.tier_load / kv.tier_store (prefix-cache blocks to
//   and from lower memory tiers, timed by the tiers; overlapped as IterationShape says).
// Approximations (also listed in every report): activations are bf16; each chunk reads the KV it attends to once;
// embedding lookup, norms, rotary and sampling are folded into iteration.overhead; MoE weight traffic counts the
// expected number of distinct experts hit by T tokens routed uniformly, E*(1-(1-k/E)^T); fused dequantization adds
// 2 FLOPs per element read; quantize-on-append reads 16-bit K/V and writes the stored format; under expert
// parallelism every GPU gets 1/ep of the routed (token, expert) pairs and of the touched experts (balanced routing).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/cost/kernel_cost_model.h"
#include "models/kv/kv_layout.h"
#include "models/spec/gpu_spec.h"
#include "models/spec/llm_spec.h"
#include "models/spec/parallelism.h"

namespace kvsim {

// One sequence's work in an iteration.
struct SeqWork {
  TokenCount prompt = 0;    // prompt length of the request (retention budgets depend on it)
  TokenCount computed = 0;  // tokens already in the KV cache before this iteration
  TokenCount tokens = 0;    // tokens computed now (1 with computed > 0: a decode step; else a prefill chunk)
  bool decode() const { return tokens == 1 && computed > 0; }
};

// One iteration as the cost model sees it. Spans must stay valid during price().
struct IterationShape {
  std::span<const SeqWork> work;
  int sampled_sequences = 0;    // sequences that produce a token (rows of the LM head)
  double swap_out_bytes = 0;    // KV bytes copied device -> host this iteration
  double swap_in_bytes = 0;     // KV bytes copied host -> device this iteration
  // Prefix-cache blocks moved between the GPU and lower memory tiers (sim/kv/tiers.h), priced by the tiers'
  // own links: seconds = latency + bytes / bandwidth per tier.
  double tier_load_bytes = 0, tier_load_s = 0;    // lower tier -> GPU (hits)
  double tier_store_bytes = 0, tier_store_s = 0;  // GPU -> lower tier, and between tiers (offload, demotion)
  bool tier_load_layerwise = true;    // loads stream layer by layer under compute (LMCache, Mooncake): only the
                                      // first layer's share waits; false: the whole load precedes the forward
  bool tier_store_overlapped = true;  // stores are asynchronous (hidden behind compute where shorter)
  // CUDA graphs: rows the step's graph adds to the batch's tokens (padding to a captured size). They run through
  // every GEMM and the all-reduces, not attention or sampling.
  TokenCount padded_tokens = 0;
  // Expert parallelism across replicas (data-parallel attention): the tokens the whole expert-parallel group's
  // step sends through its MoE layers (this step's included; padding included); 0: this step's own tokens.
  double moe_group_tokens = 0;
};

struct IterationCost {
  double seconds = 0;                           // iteration time (ops back to back; overlapped fetches hidden)
  std::array<CostEstimate, kNumOpIds> ops{};    // per op id; ops that did not run have seconds == 0
  std::array<int, kNumOpIds> present{};         // 1 if the op ran in this iteration
  std::uint32_t present_mask = 0;               // the same as bits (bit i: op id i), to visit only those that ran
  static_assert(kNumOpIds <= 32);

  // Records that op `id` ran (its estimate is in ops[id]).
  void mark(OpId id) {
    present[static_cast<std::size_t>(id)] = 1;
    present_mask |= std::uint32_t{1} << static_cast<unsigned>(id);
  }
  // Forgets every op of the last iteration (only those that ran were written).
  void clear() {
    for (std::uint32_t m = present_mask; m != 0; m &= m - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(m));
      ops[i] = CostEstimate{};
      present[i] = 0;
    }
    present_mask = 0;
    seconds = 0;
  }
};

class IterationCostModel {
 public:
  // `kernels` must outlive this object. `layout` is copied. `iteration_overhead_s` is added once per iteration.
  // An iteration is priced whole, every layer on one GPU's share of the work (its tensor-parallel slice and, under
  // expert parallelism, its experts); pipeline stages divide that time (sim/engine/replica.h).
  IterationCostModel(const LlmSpec& model, const KvLayout& layout, Parallelism parallelism,
                     const IKernelCostModel& kernels, double iteration_overhead_s);

  // The ops of one iteration (cleared first). Exposed for tests and `kvsim cost`.
  void build_ops(const IterationShape& shape, std::vector<KernelOp>& ops) const;

  // Prices one iteration. Allocation-free after the first call.
  void price(const IterationShape& shape, IterationCost& out) const;
  // Pipeline parallelism: one stage's hand-over of `tokens` tokens' activations (bf16 hidden states) to the next
  // stage's GPU, over NVLink (PCIe on cards without), priced by the kernel model (id pipeline.send).
  CostEstimate pipeline_send(double tokens) const;

  const KvLayout& layout() const { return layout_; }
  const LlmSpec& model() const { return model_; }
  const Parallelism& parallelism() const { return par_; }

  // Where a replica's GPUs sit on a topology: the slowest link (bandwidth per direction, 0: the card's own link)
  // and the path latency of its tensor-parallel all-reduces, expert-parallel all-to-alls and pipeline sends, and
  // the class of that slowest link ("nvlink", "network", ...; empty without a topology), for bytes per link class.
  struct Links {
    double tp_Bps = 0, tp_latency_s = 0, ep_Bps = 0, ep_latency_s = 0, pp_Bps = 0, pp_latency_s = 0;
    std::string tp_class, ep_class, pp_class;
    friend bool operator==(const Links&, const Links&) = default;
  };
  void set_links(const Links& links) { links_ = links; }
  const Links& links() const { return links_; }
  // Weight bytes held by one GPU.
  double weight_bytes_per_gpu() const;

 private:
  // A GEMM reading its weights at the model's WeightStorage::gemm_read_bits.
  void add_gemm(std::vector<KernelOp>& ops, OpId id, double m, double k, double n, double layers) const;
  // A weight format's part of a step (models/spec/weight_format.h), only for formatted weights: FP8 compute and
  // in-kernel dequantization of the linear layers' GEMMs, the LM head at the embeddings' bits, DFloat11's
  // decompression of every weight.
  void add_weight_format(double attended_tokens, std::vector<KernelOp>& ops) const;
  void add_attention(const IterationShape& s, std::vector<KernelOp>& ops) const;
  void add_tier_transfers(const IterationShape& s, std::vector<KernelOp>& ops) const;
  // The ops that run on the GPU (build_ops() without the tier transfers, which their tiers time).
  void build_gpu_ops(const IterationShape& s, std::vector<KernelOp>& ops) const;
  void price_tier_transfers(const IterationShape& s, IterationCost& out, double fetch_s) const;

  const LlmSpec& model_;
  KvLayout layout_;
  Parallelism par_;
  Links links_;
  int tp_;
  const IKernelCostModel& kernels_;
  double overhead_s_;
  double q_heads_;            // query heads per GPU
  double act_bytes_ = 2.0;    // activation element size (bf16)
  double gemm_weight_bytes_ = 2.0;  // bytes per weight the GEMMs read
  bool weights_formatted_ = false;  // a weight format with its own pricing (add_weight_format)
  mutable std::vector<KernelOp> scratch_;
};

}  // namespace kvsim
