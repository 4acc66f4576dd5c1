// libFuzzer target: calibration files, the files `cost_model.calibration` names (models/cost/calibration.h,
// Calibration::from_json; every schema it reads, kvsim-calibration-1 to -4). Input: calibration JSON text. A
// calibration that reads is written back and read again (to_json must agree), then prices the points of a small
// profile as the calibrated backend does (CalibratedCostModel::estimate and predict_launch on two cards).
// A finding is anything but a clean return or a KvsimError, or a round trip that changes the calibration.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/samples.h"
#include "models/cost/impl/calibrated.h"
#include "models/profile/profile.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"

namespace kvsim::embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& calibration_files();
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    for (const auto& [name, text] : kvsim::embedded::calibration_files()) {
      kvsim_fuzz::write_file(dir / std::filesystem::path(std::string(name)).filename(), text);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<kvsim::MeasuredOp> ops = kvsim::measured_ops(
      kvsim::profile_from_json(nlohmann::json::parse(kvsim_fuzz::sample_profile_json()), "sample profile"));
  kvsim::Calibration calibration;
  try {
    calibration = kvsim::Calibration::from_json(
        kvsim::parse_json_text(kvsim_fuzz::text(data, size), "calibration.json"), "calibration.json");
  } catch (const kvsim::KvsimError&) {
    return 0;
  }
  const nlohmann::json written = calibration.to_json();
  const nlohmann::json again = kvsim::Calibration::from_json(written, "round trip").to_json();
  if (again != written) {
    std::fprintf(stderr, "calibration round trip changed it:\n%s\n%s\n", written.dump().c_str(), again.dump().c_str());
    std::abort();
  }
  for (const char* card : {"h100-sxm", "a100-sxm-80gb"}) {
    const kvsim::GpuSpec& gpu = kvsim::Catalog::builtin().gpu(card, "fuzz");
    try {
      const kvsim::CalibratedCostModel model(calibration, gpu, kvsim::RooflineParams{}, nlohmann::json::object());
      for (const kvsim::MeasuredOp& m : ops) {
        (void)model.estimate(m.op);
        (void)calibration.predict_launch(m.family, m.op, gpu);
      }
    } catch (const kvsim::KvsimError&) {
    }
  }
  return 0;
}
