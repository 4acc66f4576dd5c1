// The fuzz targets' file sandbox: see sandbox.h.
#include "fuzz/sandbox.h"

#include <string>
#include <system_error>

#include "fuzz/fuzz_util.h"
#include "fuzz/samples.h"
#include "models/cost/builtin_calibrations.h"
#include "models/spec/catalog.h"

namespace kvsim_fuzz {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The sandbox file standing in for a missing file `base` named by `key`, beside a trace `format` (or "").
std::string stand_in(const std::string& key, const std::string& format, const std::string& base) {
  if (key == "profile") return "profile.json";
  if (key == "calibration") return "calibration.json";
  if (key == "scenario") return "scenario.json";
  if (key == "model") return base.find("config") != std::string::npos ? "config.json" : "model.json";
  for (const TraceSample& s : trace_samples()) {
    if (s.format == format) return s.file;
  }
  if (ends_with(base, ".jsonl")) return "trace.jsonl";
  if (ends_with(base, ".csv")) return "azure.csv";
  if (ends_with(base, ".json")) return "model.json";
  return "no-such-file";
}

void confine(nlohmann::json& j, const std::string& key, const std::string& format) {
  if (j.is_object()) {
    const auto f = j.find("format");
    const std::string inner = f != j.end() && f->is_string() ? f->get<std::string>() : std::string();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "name" && it.key() != "description") confine(it.value(), it.key(), inner);
    }
  } else if (j.is_array()) {
    for (nlohmann::json& v : j) confine(v, key, format);
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s.find('/') == std::string::npos && !ends_with(s, ".json") && !ends_with(s, ".jsonl") && !ends_with(s, ".csv")) {
      return;
    }
    const std::size_t slash = s.rfind('/');
    const std::string base = slash == std::string::npos ? s : s.substr(slash + 1);
    std::error_code ec;
    const bool present = !base.empty() && base != "." && base != ".." && base.find('\0') == std::string::npos &&
                         fs::is_regular_file(sandbox_dir() / base, ec);
    j = present ? base : stand_in(key, format, base);
  }
}

}  // namespace

nlohmann::json sandbox_scenario() {
  return nlohmann::json::parse(R"({
    "model": "llama-3.1-8b", "hardware": {"gpu": "h100-sxm", "num_gpus": 1, "tensor_parallel": 1},
    "engine": {"max_num_batched_tokens": 2048, "max_num_seqs": 64},
    "workload": {"trace": {"path": "azure.csv", "format": "azure-2023"}, "max_requests": 20}, "seed": 3})");
}

const fs::path& sandbox_dir() {
  static const fs::path dir = [] {
    const fs::path d = temp_dir() / "sandbox";
    for (const TraceSample& s : trace_samples()) write_file(d / s.file, s.text);
    write_file(d / "model.json", kvsim::to_json(kvsim::Catalog::builtin().model("llama-3.1-8b", "fuzz")).dump(2));
    write_file(d / "config.json", sample_hf_config_json());
    write_file(d / "profile.json", sample_profile_json());
    const kvsim::Calibration* calibration = kvsim::builtin_calibration("h100-sxm");
    write_file(d / "calibration.json", calibration != nullptr ? calibration->to_json().dump(1) : std::string("{}"));
    write_file(d / "scenario.json", sandbox_scenario().dump(1));
    return d;
  }();
  return dir;
}

void confine_paths(nlohmann::json& doc) { confine(doc, "", ""); }

}  // namespace kvsim_fuzz
