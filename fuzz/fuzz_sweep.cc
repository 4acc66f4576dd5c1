// libFuzzer target: sweep and plan files (`kvsim sweep`, `kvsim plan`; sim/plan/sweep.h read_sweep, sim/plan/plan.h
// read_plan). Input: the file's JSON text, read as a sweep file and as a plan file, with base_dir the sandbox and its
// paths confined there (sandbox.h: "scenario": "x/y.json" reads the sandbox's scenario.json). Of a sweep that reads,
// the first 2 points' scenarios are built (scenario_of) and prepared (prepare_run, paths confined again: an override
// may name a file). A finding is anything but a clean return or a KvsimError.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "fuzz/sandbox.h"
#include "sim/config/scenario.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/plan/plan.h"
#include "sim/plan/sweep.h"

namespace {

void prepare_points(const kvsim::Sweep& sweep) {
  (void)sweep.definition().dump();
  for (std::size_t i = 0; i < std::min<std::size_t>(sweep.points.size(), 2); ++i) {
    try {
      nlohmann::json scenario = sweep.scenario_of(i);
      kvsim_fuzz::confine_paths(scenario);
      (void)kvsim::prepare_run(scenario, kvsim_fuzz::sandbox_dir());
    } catch (const kvsim::KvsimError&) {
      // a point the scenario cannot run: the expected outcome
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    const char* seeds[] = {
        R"({"scenario": "scenario.json", "grid": {"engine.max_num_seqs": [16, 64], "kv.strategy": ["full", "fp8"]}})",
        R"({"scenario": "scenario.json", "points": [{"engine.max_num_batched_tokens": 4096, "kv.strategy": "kivi-2"}]})",
        R"({"scenario": "scenario.json", "max_gpus": 4, "refine": [], "pd_splits": [0.5]})",
        R"({"scenario": "scenario.json", "max_gpus": 2, "grid": {"hardware.tensor_parallel": [1, 2]}, "refine_seeds": 2})"};
    int n = 0;
    for (const char* s : seeds) kvsim_fuzz::write_file(dir / ("sweep-" + std::to_string(n++) + ".json"), s);
    nlohmann::json inline_scenario = nlohmann::json::parse(seeds[0]);
    inline_scenario["scenario"] = kvsim_fuzz::sandbox_scenario();
    kvsim_fuzz::write_file(dir / "sweep-inline.json", inline_scenario.dump());
    std::exit(0);
  }
  (void)kvsim_fuzz::sandbox_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json doc;
  try {
    doc = kvsim::parse_json_text(kvsim_fuzz::text(data, size), "sweep.json");
  } catch (const kvsim::KvsimError&) {
    return 0;
  }
  kvsim_fuzz::confine_paths(doc);
  try {
    prepare_points(kvsim::read_sweep(doc, kvsim_fuzz::sandbox_dir(), "sweep.json"));
  } catch (const kvsim::KvsimError&) {
  }
  try {
    prepare_points(kvsim::read_plan(doc, kvsim_fuzz::sandbox_dir(), "plan.json").sweep);
  } catch (const kvsim::KvsimError&) {
  }
  return 0;
}
