// Shipped calibrations (see builtin_calibrations.h): parsed once from the embedded files.
#include "models/cost/builtin_calibrations.h"

#include <map>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {
namespace embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& calibration_files();
}  // namespace embedded

namespace {
const std::map<std::string, Calibration, std::less<>>& all() {
  static const std::map<std::string, Calibration, std::less<>> kAll = [] {
    std::map<std::string, Calibration, std::less<>> m;
    for (const auto& [path, text] : embedded::calibration_files()) {
      const std::string where = "models/specs/" + std::string(path) + " (built in)";
      Calibration c = Calibration::from_json(nlohmann::json::parse(text), where);
      if (c.gpu.empty()) throw KvsimError(where + ": a shipped calibration must name its gpu");
      const std::string gpu = c.gpu;
      if (!m.emplace(gpu, std::move(c)).second) throw KvsimError(fmt::format("{}: a second calibration of {}", where, gpu));
    }
    return m;
  }();
  return kAll;
}
}  // namespace

const Calibration* builtin_calibration(std::string_view gpu) {
  const auto it = all().find(gpu);
  return it == all().end() ? nullptr : &it->second;
}

std::vector<std::string> builtin_calibration_gpus() {
  std::vector<std::string> names;
  for (const auto& [gpu, c] : all()) names.push_back(gpu);
  return names;
}

}  // namespace kvsim
