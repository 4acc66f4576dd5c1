// From a scenario document to ready-to-run components. Every section is read strictly (unknown keys, unknown
// names and impossible configurations are errors that name the key and list what is valid).
//
// Sections: model, hardware {gpu, num_gpus, tensor_parallel}, engine {...}, kv {strategy}, workload {...},
// cost_model {backend, iteration_overhead_s, <backend params>}, output {timeline_interval_s}, seed,
// name, description. See sim/README.md for every key, its default and unit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cost/iteration_cost_model.h"
#include "models/spec/gpu_spec.h"
#include "models/spec/llm_spec.h"
#include "sim/engine/simulator.h"
#include "sim/sched/scheduler.h"
#include "traces/trace_reader.h"

namespace kvsim {

// How the KV pool of one GPU is sized: util * memory - weights - activation reserve.
struct KvCapacity {
  double gpu_memory_bytes = 0;
  double usable_bytes = 0;          // gpu_memory_utilization * memory
  double weight_bytes = 0;          // per GPU
  double activation_reserve_bytes = 0;
  double kv_bytes = 0;              // left for the KV cache
  double block_bytes = 0;           // one block, all layers, one GPU
  std::int64_t num_blocks = 0;
  TokenCount block_size = 0;
  TokenCount capacity_tokens() const { return num_blocks * block_size; }
};

struct PreparedRun {
  const LlmSpec* model = nullptr;
  const GpuSpec* gpu = nullptr;
  int tensor_parallel = 1;
  std::string scheduler_name;
  SimOptions sim;
  KvCapacity capacity;
  std::unique_ptr<IKernelCostModel> kernels;
  std::unique_ptr<IterationCostModel> iteration;
  std::unique_ptr<IScheduler> scheduler;
  std::unique_ptr<ITraceReader> workload;
  nlohmann::json resolved;                  // the scenario with defaults filled in
  std::vector<std::string> approximations;  // how this run approximates a real engine (shown in reports)
};

// `base_dir` resolves relative paths in the scenario (the scenario file's folder).
PreparedRun prepare_run(const nlohmann::json& scenario, const std::filesystem::path& base_dir);

// The built-in demo scenario (Llama-3.1-8B on one H100, synthetic chat-like workload); needs no files.
nlohmann::json demo_scenario();

}  // namespace kvsim
