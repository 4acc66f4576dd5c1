// The cost-model backends kvsim knows: the single, explicit registration list of the family.
#include "models/cost/impl/calibrated.h"
#include "models/cost/impl/measured.h"
#include "models/cost/impl/roofline.h"
#include "models/cost/kernel_cost_model.h"

namespace kvsim {

const CostModelRegistry& cost_models() {
  static const CostModelRegistry kRegistry = [] {
    CostModelRegistry r("cost-model backend");
    r.add({"roofline",
           "max(FLOPs/(peak*eff) + KV dequantization on the CUDA cores, bytes/(BW*eff)) + launch latency per op, "
           "efficiencies as parameters",
           "Williams et al., Roofline, CACM 2009; LLM-Viewer (arXiv 2402.16363)", RooflineParams::docs(),
           [](ParamReader& params, const GpuSpec& gpu, const std::filesystem::path&)
               -> std::unique_ptr<IKernelCostModel> {
             return std::make_unique<RooflineCostModel>(RooflineParams::read(params), gpu);
           }});
    r.add({"measured",
           "times of real-GPU measurements (kvsim-profile or imported tables), interpolated in log-log space; "
           "ops without a table fall back to the roofline and say so",
           "aiconfigurator (NVIDIA) perf database; Vidur, MLSys 2024 (profiling-based simulation)",
           MeasuredCostModel::docs(), &MeasuredCostModel::create});
    r.add({"calibrated",
           "the roofline with efficiencies, latencies and shape terms fitted to measurements by least squares; "
           "applies to any GPU card",
           "kvsim calibrate (weighted least squares with Eigen); Williams et al., Roofline, CACM 2009",
           CalibratedCostModel::docs(), &CalibratedCostModel::create});
    r.add({"hybrid",
           "measured tables inside their range, the calibrated roofline outside it; every op says which priced it",
           "kvsim: measured + calibrated backends", HybridCostModel::docs(), &HybridCostModel::create});
    return r;
  }();
  return kRegistry;
}

}  // namespace kvsim
