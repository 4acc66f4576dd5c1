// Measured kernel cost model: looks one launch of each op up in a profile of real-GPU measurements
// (models/profile) and interpolates in log-log space (LogGrid). Ops the profile has no table for (KV-strategy
// elementwise work, PCIe transfers, head shapes never measured) are priced by the roofline and say so in their
// source. Outside a table's range the edge trend is extended and the op is tagged "extrapolated".
//
// MoE experts (gemm.moe_experts) are looked up in the profile's fused-MoE points of the same hidden size, expert
// width per GPU, expert count and top-k (16-bit weights only), interpolated along the token count; a point's time
// covers one layer (both of the op's launches), so the op costs time x launches / kMoeLaunchesPerLayer. A shape
// with no points (another model, a TP degree never measured, quantized experts) is priced by the roofline.
//
// Approximations: decode attention of a batch with mixed lengths is looked up at the mean KV length; prefill with
// cached context (chunks) scales the measured no-cache time of the same chunk by the ratio of attended
// (query, key) pairs; KV dtypes other than the table's are priced by the roofline; repeated measurements of one
// point are averaged (geometric mean); prefill uses the 16-bit-KV rows and all-reduce the 16-bit rows; MoE tables
// were measured with balanced routing (each expert gets ~T*k/E tokens), not the model's real router.
#pragma once

#include <map>
#include <string>
#include <tuple>

#include "models/cost/impl/roofline.h"
#include "models/cost/kernel_cost_model.h"
#include "models/cost/log_grid.h"
#include "models/profile/profile.h"

namespace kvsim {

class MeasuredCostModel final : public IKernelCostModel {
 public:
  MeasuredCostModel(const Profile& profile, const GpuSpec& gpu, const RooflineParams& fallback,
                    nlohmann::json params);
  CostEstimate estimate(const KernelOp& op) const override;
  nlohmann::json params() const override { return params_; }

  // Reads the backend's keys: profile (a kvsim profile JSON) or aiconfigurator (a system folder) + framework +
  // version; plus the roofline's keys for the fallback. Relative paths resolve against `base_dir`.
  static std::unique_ptr<IKernelCostModel> create(ParamReader& params, const GpuSpec& gpu,
                                                  const std::filesystem::path& base_dir);
  static std::vector<ParamDoc> docs();

 private:
  using AttnKey = std::tuple<int, int, int, int>;  // q heads, kv heads, head dim, kv bits
  using MoeKey = std::tuple<int, int, int, int>;   // hidden, expert width per GPU, experts, top-k
  // The grid's time at `at` x scale x `calls` (the measured calls the op makes: its launches, or its MoE layers).
  CostEstimate from_grid(const KernelOp& op, const LogGrid* grid, const std::array<double, 3>& at, double scale,
                         double calls) const;
  CostEstimate estimate_moe(const KernelOp& op) const;

  RooflineCostModel fallback_;
  LogGrid gemm_{3};
  std::map<AttnKey, LogGrid> decode_, prefill_;
  std::map<int, LogGrid> all_reduce_;  // by GPUs
  std::map<int, LogGrid> all_to_all_;
  std::map<MoeKey, LogGrid> moe_;  // 1-D grids over tokens
  nlohmann::json params_;
};

}  // namespace kvsim
