// Pricing a fuzzed profile as the measured and calibrated backends do: see price_profile.h.
#include "fuzz/price_profile.h"

#include "models/cost/calibration.h"
#include "models/cost/impl/measured.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"

namespace kvsim_fuzz {

void price_profile(const kvsim::Profile& profile) {
  const kvsim::GpuSpec& gpu = kvsim::Catalog::builtin().gpu("h100-sxm", "fuzz");
  try {
    const kvsim::MeasuredCostModel measured(profile, gpu, kvsim::RooflineParams{}, nlohmann::json::object());
    const std::vector<kvsim::MeasuredOp> ops = kvsim::measured_ops(profile);
    for (const kvsim::MeasuredOp& m : ops) (void)measured.estimate(m.op);
    const kvsim::Calibration fitted = kvsim::Calibration::fit(ops, gpu, "fuzz");
    for (const kvsim::MeasuredOp& m : ops) (void)fitted.predict_launch(m.family, m.op, gpu);
  } catch (const kvsim::KvsimError&) {
    // a profile the backends refuse, with a message: the expected outcome
  }
}

}  // namespace kvsim_fuzz
