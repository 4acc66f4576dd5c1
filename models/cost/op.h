// The vocabulary of the cost model: kernel-level ops an iteration is made of, and what pricing one returns.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace kvsim {

// What an op is, for pricing (which efficiency and which link apply).
enum class OpKind : std::uint8_t {
  kGemm,              // dense matrix multiply on tensor cores
  kAttentionPrefill,  // causal attention of new tokens over cached + new tokens (compute-heavy)
  kAttentionDecode,   // one query token per sequence over its KV cache (memory-bound)
  kElementwise,       // memory-bound elementwise work on CUDA cores (KV quantize/dequantize, score upkeep)
  kAllReduce,         // tensor-parallel all-reduce over NVLink
  kAllToAll,          // expert-parallel dispatch or combine: every GPU of the group sends to every other
  kSendRecv,          // point-to-point copy between two GPUs (pipeline stages' activations)
  kHostTransfer,      // host <-> device copy over PCIe (swap)
  kFixed,             // a fixed time per iteration (scheduler, sampling, launch of the step)
};

// Which op of a transformer iteration, for the breakdown. Stable names: see op_name().
enum class OpId : std::uint8_t {
  kGemmQkv, kGemmAttnOut, kGemmMlp, kGemmMoeRouter, kGemmMoeExperts, kGemmLmHead,
  kAttentionPrefill, kAttentionDecode, kAllReduce, kSwapOut, kSwapIn, kIterationOverhead,
  kKvQuantize, kKvDequantize, kKvSelect, kKvReconstruct, kKvFetch, kTierLoad, kTierStore,
  kEngineCpu,    // the engine's CPU time per step not hidden behind the GPU's (sim/engine/engine_profile.h)
  kEngineEager,  // kernel-launch time of a step run outside CUDA graphs
  kAllToAll,     // expert parallelism: tokens dispatched to their experts' GPUs and combined back
  kPipelineSend,  // pipeline parallelism: a micro-batch's activations from one stage to the next
  kWeightDecompress,  // compressed weights (DFloat11) decoded into a bf16 buffer, once per forward pass
  kCount
};
inline constexpr std::size_t kNumOpIds = static_cast<std::size_t>(OpId::kCount);

constexpr std::string_view op_name(OpId id) {
  constexpr std::array<std::string_view, kNumOpIds> kNames = {
      "gemm.qkv", "gemm.attn_out", "gemm.mlp", "gemm.moe_router", "gemm.moe_experts", "gemm.lm_head",
      "attention.prefill", "attention.decode", "allreduce", "kv.swap_out", "kv.swap_in", "iteration.overhead",
      "kv.quantize", "kv.dequantize", "kv.select", "kv.reconstruct", "kv.fetch", "kv.tier_load", "kv.tier_store",
      "engine.cpu", "engine.eager", "alltoall", "pipeline.send", "weights.decompress"};
  return kNames[static_cast<std::size_t>(id)];
}

// The shape of one launch of an op, for backends that look times up in measured tables. Attention shapes are
// per-batch means (sequences in one iteration differ in length; the iteration runs one varlen kernel).
// MoE experts (OpId::kGemmMoeExperts) use m, n, k, experts, topk and share for one layer's fused-MoE call: m =
// tokens entering the layer (CUDA-graph padding included; under expert parallelism, the whole expert-parallel
// group's), k = hidden size, n = expert intermediate size PER GPU (the model's expert width / tp when tensor
// parallelism shards every expert; the whole width under expert parallelism), experts = routed experts, topk =
// experts per token, share = this GPU's part of that call's work.
struct OpShape {
  double m = 0, n = 0, k = 0;     // GEMM: C[m x n] = A[m x k] * B[k x n]; MoE: see above
  double batch = 0;               // attention: sequences in the launch
  double tokens = 0;              // prefill: mean new tokens per sequence
  double kv_len = 0;              // attention: mean KV tokens each sequence reads (decode) or has cached (prefill)
  int q_heads = 0, kv_heads = 0, head_dim = 0;  // per GPU
  // MoE under expert parallelism: this GPU's share of the layer's fused-MoE work over m tokens (its experts are
  // 1/ep of them, so it computes about 1/ep of the routed pairs and reads 1/ep of the touched weights); 1 without.
  // (A float in the padding after head_dim: every op is built per iteration, its size matters.)
  float share = 1;
  double kv_bits = 16;            // stored bits per KV element
  double message_bytes = 0;       // all-reduce: bytes per call; all-to-all: each GPU's send buffer per call
  int experts = 0, topk = 0;      // MoE: routed experts (whole model) and experts per token; 0 for other ops
  double weight_bits = 16;        // GEMM and MoE: stored bits per weight element (16 = bf16/fp16)
};

// gemm.moe_experts launches two kernels per MoE layer (gate+up, then down: KernelOp::launches = 2 x MoE layers),
// while a measured fused-MoE time (models/profile MoePoint) covers one whole layer, both launches included.
inline constexpr double kMoeLaunchesPerLayer = 2;

// One op, summed over every layer it runs in. The roofline prices from flops and bytes; measured backends price
// one launch of `shape` and multiply by `launches` (gemm.moe_experts: one layer, times launches /
// kMoeLaunchesPerLayer).
struct KernelOp {
  OpId id = OpId::kIterationOverhead;
  OpKind kind = OpKind::kFixed;
  bool fp8 = false;  // kGemm: on FP8 tensor cores (W8A8 weights, WeightStorage::fp8_tensor_cores), where the card has them
  bool weight_format = false;  // fp8 or core_instructions set (a weight format's op): pricing's rare path
  // Collectives and sends placed on a topology whose path between the GPUs is slower than the card's own link: the
  // path latency and the slowest link's bandwidth per direction (below; 0: the card's NVLink, or PCIe without, and
  // no added latency; measured tables, taken within one NVLink domain, then do not apply). Floats in padding: every
  // op is built per iteration, its size matters.
  float link_latency_s = 0;
  double flops = 0;             // floating-point operations, total over `launches`
  double bytes = 0;             // bytes moved through HBM (or over the link for collectives/transfers), total
  double dequant_elements = 0;  // quantized K/V elements decoded on CUDA cores (not tensor cores), total; their
                                // storage bits are shape.kv_bits
  double core_instructions = 0;  // other CUDA-core work, in instructions, total: weight dequantization inside a
                                 // W4A16 GEMM, DFloat11's decoding (sharing issue slots with the tensor cores)
  double launches = 1;          // kernel launches (one per layer for per-layer ops), each pays the launch latency
  double fixed_s = 0;           // kFixed only: seconds
  int tp = 1;                   // GPUs taking part, for collectives (tensor-parallel or expert-parallel group)
  float link_Bps = 0;           // see link_latency_s
  OpShape shape;                // one launch (see OpShape)
};

enum class Bound : std::uint8_t { kCompute, kMemory, kLatency };
enum class Source : std::uint8_t { kRoofline, kMeasured, kInterpolated, kExtrapolated, kCalibrated };

constexpr std::string_view bound_name(Bound b) {
  return b == Bound::kCompute ? "compute" : b == Bound::kMemory ? "memory" : "latency";
}
constexpr std::string_view source_name(Source s) {
  switch (s) {
    case Source::kRoofline: return "roofline";
    case Source::kMeasured: return "measured";
    case Source::kInterpolated: return "interpolated";
    case Source::kExtrapolated: return "extrapolated";
    case Source::kCalibrated: return "calibrated";
  }
  return "?";
}

// The price of one op.
struct CostEstimate {
  double seconds = 0;
  double flops = 0;
  double bytes = 0;
  Bound bound = Bound::kLatency;
  Source source = Source::kRoofline;
};

}  // namespace kvsim
