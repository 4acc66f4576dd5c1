// Calibrated and hybrid kernel cost models.
//  - calibrated: the roofline features with coefficients fitted to measurements (models/cost/calibration.h); works
//    for any GPU card (features use the card's peaks), including one that was never measured.
//  - hybrid: measured tables inside their range (interpolated), the calibrated model outside it and for shapes
//    with no table; every op says which priced it.
// Ops outside the five fitted families (KV-strategy elementwise work, PCIe, fixed overhead, quantized MoE experts)
// and families a calibration has no fit for (the A100 tables have no MoE points) use the roofline.
#pragma once

#include <memory>
#include <optional>

#include "models/cost/calibration.h"
#include "models/cost/impl/measured.h"
#include "models/cost/impl/roofline.h"

namespace kvsim {

class CalibratedCostModel final : public IKernelCostModel {
 public:
  // How the L2 cache holds a launch's operands. The tables a calibration is fitted on come from benchmarks that
  // repeat one kernel, so weights or KV that fit in L2 are read from it; in a serving step they are not (the next
  // use of a layer's weights or KV comes after the whole model's weights have streamed through), so scenarios price
  // with kCold: every weight and KV byte from memory (the fit's beyond-L2 terms; never below the benchmark's time,
  // as those terms are fitted on large launches). kBenchmark prices as the tables were measured.
  enum class L2Cache : std::uint8_t { kCold, kBenchmark };

  CalibratedCostModel(Calibration calibration, const GpuSpec& gpu, const RooflineParams& fallback,
                      nlohmann::json params, L2Cache l2 = L2Cache::kCold);
  CostEstimate estimate(const KernelOp& op) const override;
  nlohmann::json params() const override { return params_; }
  const Calibration& calibration() const { return calibration_; }

  // Keys: calibration (a file written by `kvsim calibrate`) or the measurement keys of the measured backend
  // (profile | aiconfigurator + framework + version) to fit on the fly; plus the roofline keys for the fallback.
  static std::unique_ptr<IKernelCostModel> create(ParamReader& params, const GpuSpec& gpu,
                                                  const std::filesystem::path& base_dir);
  static std::vector<ParamDoc> docs();

 private:
  // The coefficients that apply to `op`: a run prices a handful of shapes millions of times, so the few it has
  // looked up are kept (a linear scan of a short list instead of a map lookup of the per-shape fits).
  const std::vector<double>* coefficients(OpFamily family, const KernelOp& op) const;
  // Whether the L2 terms of `op`'s features see its operand within L2 on this card (else cold and benchmark agree).
  bool within_l2(OpFamily family, const KernelOp& op) const;

  struct Looked {
    OpFamily family;
    Calibration::ShapeKey key;
    const std::vector<double>* beta;
  };
  Calibration calibration_;
  GpuSpec gpu_;
  FeatureCard card_;       // the card as it is (the benchmark's L2)
  FeatureCard cold_card_;  // the card without L2: every operand read from memory
  bool cold_;
  RooflineCostModel fallback_;
  nlohmann::json params_;
  mutable std::vector<Looked> looked_;  // one run prices on one thread
};

class HybridCostModel final : public IKernelCostModel {
 public:
  HybridCostModel(const Profile& profile, Calibration calibration, const GpuSpec& gpu, const RooflineParams& fallback,
                  nlohmann::json params, CalibratedCostModel::L2Cache l2 = CalibratedCostModel::L2Cache::kCold);
  CostEstimate estimate(const KernelOp& op) const override;
  nlohmann::json params() const override { return params_; }

  // Keys: the measured backend's (profile | aiconfigurator + framework + version) and optionally calibration;
  // without it the calibration is fitted on the same measurements.
  static std::unique_ptr<IKernelCostModel> create(ParamReader& params, const GpuSpec& gpu,
                                                  const std::filesystem::path& base_dir);
  static std::vector<ParamDoc> docs();

 private:
  MeasuredCostModel measured_;
  CalibratedCostModel calibrated_;
  nlohmann::json params_;
};

// The measurements named by a cost_model section: `profile` (kvsim profile JSON) or `aiconfigurator` (+ framework,
// version); std::nullopt if neither is given. Relative paths resolve against `base_dir`. Records what it read in
// `params_out`.
std::optional<Profile> read_profile_source(ParamReader& r, const GpuSpec& gpu, const std::filesystem::path& base_dir,
                                           nlohmann::json& params_out);
// Documentation of those keys plus the roofline fallback's.
std::vector<ParamDoc> profile_source_docs();

}  // namespace kvsim
