// Roofline kernel cost model: time = max(FLOPs / (peak * eff) + dequant, bytes / (bandwidth * eff)) + launches *
// latency, where dequant is the CUDA-core time of decoding quantized KV (attention and elementwise ops):
// dequant_elements * instructions per element / (fp32_flops / 2 lanes/s * core_efficiency).
#pragma once

#include <string>

#include "models/cost/kernel_cost_model.h"

namespace kvsim {

struct RooflineParams {
  std::string compute_dtype = "bf16";  // which peak of the GPU card GEMMs and attention run at
  double gemm_efficiency = 0.7;        // achieved / peak FLOP/s for GEMMs
  double attention_efficiency = 0.5;   // achieved / peak FLOP/s for attention (FlashAttention-2 class)
  double memory_efficiency = 0.8;      // achieved / peak HBM bandwidth
  double nvlink_efficiency = 0.7;      // achieved / peak NVLink bandwidth for collectives
  double pcie_efficiency = 0.8;        // achieved / peak PCIe bandwidth for host transfers
  double launch_latency_s = 2e-6;      // per kernel launch (CUDA-graph-like replay)
  double allreduce_latency_s = 10e-6;  // per collective call (all-reduce, all-to-all), on top of the bandwidth term
  // Dequantizing quantized KV on the CUDA cores, in instructions per K/V element and thread lane. Defaults: the
  // tile loop of kvsim's decode kernels (sm_90 SASS, tools/bench/sass_hot_loop.py), minus the bf16 kernel's, per
  // element: 8-bit storage (int8 0.69, fp8 0.16) and sub-byte group quantization (KIVI int4 4.51, int2 4.43:
  // unpacking, per-group scale/zero, metadata).
  double dequant_instructions_8bit = 0.7;
  double dequant_instructions_subbyte = 4.5;
  // Achieved fraction of the CUDA-core issue rate for those instructions: decode kernels are latency-bound and
  // issue little. With 0.26, `kvsim cost` prices KIVI int4/int2 decode on H100 at batch 64 x 32K tokens (Llama-3-8B
  // heads) at 2294 us, against 2266 / 2081 us measured (models/profiles/h100-sxm-kvsim-kernels.json): +1 % / +10 %.
  double core_efficiency = 0.26;

  // CUDA-core instructions per element of KV stored at kv_bits (0 for 16-bit and wider).
  double dequant_instructions(double kv_bits) const {
    return kv_bits >= 16 ? 0.0 : kv_bits >= 8 ? dequant_instructions_8bit : dequant_instructions_subbyte;
  }
  static RooflineParams read(ParamReader& params);  // keys as the field names; validates ranges
  static std::vector<ParamDoc> docs();
};

class RooflineCostModel final : public IKernelCostModel {
 public:
  RooflineCostModel(const RooflineParams& params, const GpuSpec& gpu);
  CostEstimate estimate(const KernelOp& op) const override;
  // Seconds the CUDA cores spend decoding op.dequant_elements at op.shape.kv_bits (0 for 16-bit KV).
  template <bool kWeightFormat>  // the op's weight-format fields (fp8, core_instructions) count only when true
  CostEstimate priced(const KernelOp& op) const;
  double core_seconds(const KernelOp& op) const {  // op.core_instructions on the CUDA cores
    return op.core_instructions > 0 && core_lanes_ > 0 ? op.core_instructions / core_lanes_ : 0;
  }
  double dequant_seconds(const KernelOp& op) const;
  nlohmann::json params() const override;

 private:
  // Effective bandwidth of a collective's or send's link: the op's topology path, else NVLink, else PCIe.
  double link_Bps(const KernelOp& op) const;
  RooflineParams p_;
  double peak_flops_;  // FLOP/s at compute_dtype
  double gemm_Fps_;       // achieved FLOP/s of GEMMs: peak_flops_ x gemm_efficiency
  double fp8_gemm_Fps_;   // of FP8 GEMMs (KernelOp::fp8): the card's fp8 rate (peak_flops_ without one) x the same
  double attention_Fps_;  // of attention: peak_flops_ x attention_efficiency
  double core_lanes_;  // effective CUDA-core lane-instructions/s (fp32_flops / 2 * core_efficiency)
  double hbm_Bps_;     // effective, bytes/s
  double nvlink_Bps_;  // effective
  double pcie_Bps_;    // effective
};

}  // namespace kvsim
