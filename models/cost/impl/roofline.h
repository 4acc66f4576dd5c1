// Roofline kernel cost model: time = max(FLOPs / (peak * eff), bytes / (bandwidth * eff)) + launches * latency.
#pragma once

#include <string>

#include "models/cost/kernel_cost_model.h"

namespace kvsim {

struct RooflineParams {
  std::string compute_dtype = "bf16";   // which peak of the GPU card GEMMs and attention run at
  double gemm_efficiency = 0.7;          // achieved / peak FLOP/s for GEMMs
  double attention_efficiency = 0.5;     // achieved / peak FLOP/s for attention (FlashAttention-2 class)
  double memory_efficiency = 0.8;        // achieved / peak HBM bandwidth
  double nvlink_efficiency = 0.7;        // achieved / peak NVLink bandwidth for all-reduce
  double pcie_efficiency = 0.8;          // achieved / peak PCIe bandwidth for host transfers
  double launch_latency_s = 2e-6;        // per kernel launch (CUDA-graph-like replay)
  double allreduce_latency_s = 10e-6;    // per all-reduce call, on top of the bandwidth term

  static RooflineParams read(ParamReader& params);  // keys as the field names; validates ranges
  static std::vector<ParamDoc> docs();
};

class RooflineCostModel final : public IKernelCostModel {
 public:
  RooflineCostModel(const RooflineParams& params, const GpuSpec& gpu);
  CostEstimate estimate(const KernelOp& op) const override;
  nlohmann::json params() const override;

 private:
  RooflineParams p_;
  double peak_flops_;     // FLOP/s at compute_dtype
  double hbm_Bps_;        // effective, bytes/s
  double nvlink_Bps_;     // effective
  double pcie_Bps_;       // effective
};

}  // namespace kvsim
