// A calibrated roofline: per op family, the time of one launch is a linear combination of roofline features
// (FLOPs / peak, bytes / bandwidth, their max, a constant latency and a few shape terms), with coefficients fitted
// to measured points by weighted least squares (Eigen), weights 1/t so the fit minimises relative error.
// Features are normalised by the GPU's own peaks, so coefficients fitted on one GPU apply to another GPU that has
// only a spec card (efficiencies and latencies transfer; peaks come from the card).
//
// Attention families are also fitted per head shape and KV dtype (q heads, kv heads, head dim, kv bits), GEMMs
// per weight shape (n, k) and MoE experts per layer shape (hidden, expert width per GPU, experts, top-k), where a
// shape has enough points; a shape without its own fit (another model), and every shape on another GPU than the
// measured one, uses the family's fit.
// The constant (fixed latency) feature of the kernel families is the card's clock period in ns, c = 1 GHz / boost
// clock, so its coefficient is a latency in clock cycles: a kernel's fixed cost (prologue, epilogue, tail, the
// dependent memory round trips of a small launch) is cycles of the GPU, and counting it in cycles carries across
// GPUs of different clocks (1.41 GHz A100, 1.98 GHz H100, 2.62 GHz RTX PRO 6000) where seconds did not: fitted on
// one of the three GPUs' aiconfigurator tables and priced on another's, median GEMM error 12-17 % instead of 15-29 %
// (kvsim-calibration-3; files of schema 1 and 2 keep the constant 1, with which they were fitted).
// Families and features (one launch; MoE: one layer's fused-MoE call, both of its launches):
//   gemm:              c, F/P, B/BW, max(F/P, B/BW), waves*tile_flops/P (tile 128x128 on the card's sm_count SMs),
//                      W/BW * min(1, W/L2) (W the weights' bytes, L2 the card's l2_cache_MiB: a benchmark keeps
//                      weights that fit in L2 there between repetitions, larger ones stream from memory; without
//                      it the RTX PRO 6000 fit, 128 MiB of L2, priced 4096 x 28672 weights at m = 32 27 % fast;
//                      kvsim-calibration-4)
//   decode_attention:  c, batch, B/BW, F/P, batch*kv_len, sqrt(kv_len), sqrt(batch), waves of batch*kv_heads CTAs,
//                      dequantization, and for KV beyond L2 (B > L2) B/BW and c again: a regime of its own, as the
//                      tables show (RTX PRO 6000: KV within its 128 MiB L2 read at up to 2.4 TB/s, beyond it at
//                      1.35-1.5); without them its fit priced 32 x 1024-token Llama-3.1-8B decodes 26 % fast
//   prefill_attention: c, batch, F/P, B/BW, max(F/P, B/BW)
//   all_reduce:        1, log2(gpus), 2(g-1)/g * bytes / link bandwidth
//   moe_experts:       c, F/P, Bw/BW, Ba/BW, max(F/P, (Bw+Ba)/BW), waves*tile_flops/P
//     T tokens, hidden h, expert width I per GPU, E experts, top-k: F = 2 T k 3 h I; Bw = the touched experts'
//     weights, min(E, T k) x 3 h I x weight bytes; Ba = the routed tokens' activations, T k (2 h + 3 I) x 2 B;
//     tile FLOPs: each touched expert's T k / min(E, T k) rows padded to 64-row tiles, 64-column tiles of the
//     gate+up (2I wide, depth h) and down (h wide, depth I) GEMMs, in waves over the card's SMs.
//     Experts touched: min(E, T k), the balanced routing the measured tables use (every token's k experts spread
//     over all E, so T tokens touch min(E, T k) experts), not the roofline's uniform-random expectation
//     E (1 - (1 - k/E)^T): the features must describe the measured kernel's work for the fit to mean something,
//     and the measured and hybrid backends price the same balanced tables.
//     Its coefficients are fitted non-negative (every feature is a cost; see fit_points in calibration.cc).
#pragma once

#include <array>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cost/op.h"
#include "models/profile/profile.h"
#include "models/spec/gpu_spec.h"

namespace kvsim {

enum class OpFamily : std::uint8_t { kGemm, kDecodeAttention, kPrefillAttention, kAllReduce, kMoeExperts };
inline constexpr std::array<OpFamily, 5> kOpFamilies = {OpFamily::kGemm, OpFamily::kDecodeAttention,
                                                        OpFamily::kPrefillAttention, OpFamily::kAllReduce,
                                                        OpFamily::kMoeExperts};
std::string_view family_name(OpFamily f);

// One measured point as an op (shape, FLOPs, bytes) and its time.
struct MeasuredOp {
  OpFamily family;
  KernelOp op;
  double seconds;
};
// Every usable point of a profile as ops (same filters as the measured backend: bf16 GEMMs, 16-bit KV prefill,
// 16-bit all-reduce, 16-bit MoE experts; decode attention at every KV dtype). An MoE point is one layer's op
// (moe_experts_op: kMoeLaunchesPerLayer launches) and its time covers that layer.
std::vector<MeasuredOp> measured_ops(const Profile& p);

// The family of an op the calibrated model prices, or false. gemm.moe_experts is moe_experts when its shape is
// set and its weights are 16-bit (the only ones measured; quantized experts stay with the roofline, as in the
// measured backend).
bool op_family(const KernelOp& op, OpFamily& family);

// The features of one launch, at most ten, held without a heap allocation (every op of every iteration is priced).
class Features {
 public:
  static constexpr std::size_t kMax = 11;
  Features(std::initializer_list<double> values);
  std::size_t size() const { return n_; }
  double operator[](std::size_t i) const { return v_[i]; }
  double at(std::size_t i) const;  // throws std::out_of_range past size()

 private:
  std::array<double, kMax> v_{};
  std::size_t n_ = 0;
};

// The card's figures the features use, looked up once (a card's dense_flops is a map keyed by dtype).
struct FeatureCard {
  explicit FeatureCard(const GpuSpec& gpu);
  double peak_bf16_flops, memory_Bps, clock_Hz, sm_count, l2_bytes, fp32_flops, link_Bps;
};

struct Calibration {
  // attention: q heads, kv heads, head dim, kv bits; GEMM: n, k, 0, 0; MoE: hidden, expert width per GPU, experts,
  // top-k
  using ShapeKey = std::array<int, 4>;
  std::string fitted_on;  // GPU and source the coefficients come from
  std::string gpu;        // card name of the GPU measured ("" in files written before it was recorded)
  // Where the measurements came from (tables, their sha256, command, date), as the file records it; an object,
  // null if the file has none. Shipped calibrations carry one (models/specs/calibrations/).
  nlohmann::json provenance;
  std::map<OpFamily, std::vector<double>> coefficients;
  std::map<OpFamily, std::size_t> points;  // points used per family
  std::map<std::pair<OpFamily, ShapeKey>, std::vector<double>> shape_coefficients;  // per shape (see above)
  std::map<std::pair<OpFamily, ShapeKey>, std::size_t> shape_points;
  // Whether the constant feature is the clock period (kvsim-calibration-3 on) or 1 (files of schema 1 and 2).
  bool latency_in_cycles = true;

  // Fits every family present in `ops` (families with too few points keep no coefficients).
  static Calibration fit(const std::vector<MeasuredOp>& ops, const GpuSpec& gpu, const std::string& fitted_on);
  // Seconds of one launch of `op` (op.launches ignored; moe_experts: of one layer, kMoeLaunchesPerLayer
  // launches), or a negative value if the family was not fitted. The
  // per-shape fits apply only on the GPU they were measured on; another GPU gets the family fits, which carry
  // better (fitted on the H100 tables, priced on the A100 ones: GEMM median 14.2 % / p90 30.7 %, decode attention
  // median 20.4 %; README, leave one GPU out).
  double predict_launch(OpFamily family, const KernelOp& op, const GpuSpec& gpu) const;
  // The two halves of predict_launch, for callers that keep the coefficients of the shapes they price: the
  // coefficients that apply to `op` on `gpu` (nullptr if the family was not fitted), and the time they give.
  const std::vector<double>* coefficients_for(OpFamily family, const KernelOp& op, const GpuSpec& gpu) const;
  double predict_with(const std::vector<double>& beta, OpFamily family, const KernelOp& op,
                      const FeatureCard& card) const;
  // The key per-shape fits are stored under (see shape_coefficients).
  static ShapeKey shape_key(OpFamily family, const KernelOp& op);

  // Schema kvsim-calibration-4 (the GEMM L2 feature; -3 put the constant feature in clock cycles; -2 added the
  // moe_experts family, its shapes keyed hidden, intermediate, experts, topk). from_json also reads -3 files (their
  // five GEMM coefficients apply to the first five features) and -2 and -1 files (-1: the four other families),
  // which keep the constant feature 1 they were fitted with.
  nlohmann::json to_json() const;
  static Calibration from_json(const nlohmann::json& j, const std::string& where);
};

// The feature vector of one launch (see the table above); latency_in_cycles false: the constant feature is 1, as
// in files of schema 1 and 2.
Features calibration_features(OpFamily family, const KernelOp& op, const FeatureCard& card,
                              bool latency_in_cycles = true);
inline Features calibration_features(OpFamily family, const KernelOp& op, const GpuSpec& gpu,
                                     bool latency_in_cycles = true) {
  return calibration_features(family, op, FeatureCard(gpu), latency_in_cycles);
}

}  // namespace kvsim
