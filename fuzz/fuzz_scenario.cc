// libFuzzer target: the scenario reader. Input: scenario JSON text, read as `kvsim run` reads a file
// (parse_json_text), then prepare_run() (sim/config/scenario.h) on it, or on each of its first 4 variants
// (expand_variants); the first 64 requests of the prepared workload are drawn.
// Files: every file a scenario names resolves inside a sandbox folder of small valid files, never elsewhere:
// base_dir is the sandbox and confine_paths() rewrites each path-like string to a sandbox file name (sandbox.h).
// A finding is anything but a clean return or a KvsimError.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/samples.h"
#include "fuzz/sandbox.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/engine/engine_profile.h"

namespace {

namespace fs = std::filesystem;

void prepare(const nlohmann::json& scenario) {
  kvsim::PreparedRun run = kvsim::prepare_run(scenario, kvsim_fuzz::sandbox_dir());
  for (int i = 0; i < 64 && run.workload; ++i) {
    if (!run.workload->next()) break;
  }
}

// Scenarios over the sandbox's files and the registries' names, and the demo scenario with its variants.
void write_seeds(const fs::path& dir) {
  const nlohmann::json base = kvsim_fuzz::sandbox_scenario();
  int n = 0;
  const auto seed = [&](const nlohmann::json& s) {
    kvsim_fuzz::write_file(dir / ("scenario-" + std::to_string(n++) + ".json"), s.dump(1));
  };
  seed(base);
  seed(kvsim::demo_scenario());
  for (const kvsim::Variant& v : kvsim::expand_variants(kvsim::demo_scenario())) seed(v.scenario);
  for (const kvsim_fuzz::TraceSample& t : kvsim_fuzz::trace_samples()) {
    nlohmann::json s = base;
    s["workload"]["trace"] = {{"path", t.file}, {"format", t.format}, {"sort", n % 2 == 0}};
    if (t.file == "lengths.csv") s["workload"]["trace"]["arrival"] = {{"process", "poisson"}, {"rate_per_s", 4}};
    seed(s);
    s["workload"]["trace"].erase("format");
    seed(s);
  }
  for (const char* cm : {R"({"backend": "measured", "profile": "profile.json"})",
                         R"({"backend": "calibrated", "calibration": "calibration.json"})",
                         R"({"backend": "calibrated", "profile": "profile.json"})",
                         R"({"backend": "hybrid", "profile": "profile.json", "calibration": "builtin"})",
                         R"({"backend": "roofline", "iteration_overhead_s": 0.002})"}) {
    nlohmann::json s = base;
    s["cost_model"] = nlohmann::json::parse(cm);
    seed(s);
  }
  for (const char* model : {"model.json", "config.json", "mixtral-8x7b", "deepseek-v3", "gemma-2-9b"}) {
    nlohmann::json s = base;
    s["model"] = model;
    seed(s);
  }
  for (const std::string& p : kvsim::engine_profiles().names()) {
    nlohmann::json s = base;
    s["engine"]["profile"] = p;
    seed(s);
  }
  nlohmann::json s = base;
  s["workload"] = nlohmann::json::parse(R"({"synthetic": {"num_requests": 40,
      "arrival": {"process": "gamma", "rate_per_s": 5, "cv": 2},
      "prompt_tokens": {"dist": "empirical", "path": "vidur.csv", "format": "vidur-csv"},
      "output_tokens": {"dist": "zipf", "min": 1, "max": 500, "exponent": 1.2}}})");
  s["engine"]["scheduler"] = "sjf:predictor=oracle";
  s["kv"] = {{"strategy", "snapkv:budget_tokens=1024+kivi-2"}};
  s["slo"] = {{"ttft_p99_s", 2}, {"tpot_p99_s", 0.05}};
  seed(s);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const fs::path dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    write_seeds(dir);
    std::exit(0);
  }
  (void)kvsim_fuzz::sandbox_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nlohmann::json doc = kvsim::parse_json_text(kvsim_fuzz::text(data, size), "scenario.json");
    kvsim_fuzz::confine_paths(doc);
    if (kvsim::has_variants(doc)) {
      const std::vector<kvsim::Variant> variants = kvsim::expand_variants(doc);
      for (std::size_t i = 0; i < variants.size() && i < 4; ++i) prepare(variants[i].scenario);
    } else {
      prepare(doc);
    }
  } catch (const kvsim::KvsimError&) {
    // a rejected scenario: the expected outcome
  }
  return 0;
}
