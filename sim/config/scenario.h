// From a scenario document to ready-to-run components. Every section is read strictly (unknown keys, unknown
// names and impossible configurations are errors that name the key and list what is valid).
//
// Sections: model, hardware {gpu, num_gpus, tensor_parallel}, engine {...}, kv {strategy, ...}, workload {...},
// cost_model {backend, iteration_overhead_s, <backend params>}, output {timeline_interval_s}, seed,
// name, description. See sim/README.md for every key, its default and unit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cost/iteration_cost_model.h"
#include "models/kv/strategy.h"
#include "models/spec/gpu_spec.h"
#include "models/spec/llm_spec.h"
#include "sim/cluster/topology.h"
#include "sim/engine/simulator.h"
#include "sim/metrics/energy.h"
#include "sim/metrics/request_table.h"
#include "sim/metrics/slo.h"
#include "sim/sched/scheduler.h"
#include "traces/trace_reader.h"

namespace kvsim {

// How the KV pool of one GPU is sized: util * memory - weights - activation reserve.
struct KvCapacity {
  double gpu_memory_bytes = 0;
  double usable_bytes = 0;          // gpu_memory_utilization * memory
  double weight_bytes = 0;          // per GPU
  double activation_reserve_bytes = 0;
  std::int64_t kv_bytes = 0;        // left for the KV cache
  double bytes_per_token = 0;       // device KV bytes of a token kept by every layout group
  // Tokens the pool holds when every group keeps every token (a full-attention-equivalent capacity).
  TokenCount capacity_tokens() const {
    return bytes_per_token > 0 ? static_cast<TokenCount>(static_cast<double>(kv_bytes) / bytes_per_token) : 0;
  }
};

// Replicas of another card or parallel layout than the scenario's first (hardware.pools, a disaggregated decode
// pool): their card, cost model (null: the run's), pricing and KV capacity per GPU.
struct ReplicaPool {
  std::string name;
  const GpuSpec* gpu = nullptr;
  std::shared_ptr<const GpuSpec> gpu_owner;  // a what-if memory or price of the scenario's
  std::unique_ptr<IKernelCostModel> kernels;
  std::unique_ptr<IterationCostModel> iteration;
  KvCapacity capacity;
  int replicas = 0;
};

struct PreparedRun {
  const LlmSpec* model = nullptr;
  std::shared_ptr<const LlmSpec> model_owner;  // keeps a model read from a file (scenario `model`) alive
  std::shared_ptr<const GpuSpec> gpu_owner;    // keeps a GPU with a what-if memory (hardware.memory_GiB) alive
  const GpuSpec* gpu = nullptr;
  int tensor_parallel = 1;
  Parallelism parallelism;                  // tensor_parallel with the pipeline and expert parallelism
  std::unique_ptr<Topology> topology;       // hardware.topology (null: none); SimOptions points into it
  // On a topology: the pricing of each distinct placement (SimOptions::replica_cost points to these).
  std::vector<std::unique_ptr<IterationCostModel>> placed_costs;
  std::vector<ReplicaPool> pools;           // hardware.pools beyond the first (the first is the run's own)
  std::vector<const GpuSpec*> replica_gpu;  // each replica's card
  SloSpec slo;                              // scenario `slo` (none: no deadlines)
  // Request classes (scenario workload.classes: name, share, priority, slo), each with its own deadlines; empty:
  // none. Their priorities are in sim.class_priority.
  std::vector<ClassSlo> classes;
  MetricsWindow window;                     // scenario `metrics` (none: every request counts)
  PowerModel power;                         // scenario `metrics.power_model`, `metrics.idle_power_fraction`
  std::vector<int> replica_gpus;            // each replica's GPU count (tensor x pipeline parallel)
  std::string scheduler_name;
  std::string strategy_label;               // "snapkv:budget_tokens=2048+kivi-2"
  nlohmann::json strategy_resolved;         // every strategy with its parameters in force
  std::vector<const KvStrategyEntry*> strategy_entries;
  SimOptions sim;
  KvCapacity capacity;
  std::unique_ptr<IKernelCostModel> kernels;
  std::unique_ptr<IterationCostModel> iteration;
  SchedulerFactory scheduler;  // builds one replica's scheduler
  // Disaggregation with decode replicas of another GPU (disaggregation.decode_gpu): their card, cost model, pricing
  // (the same KV layout) and KV capacity; null otherwise.
  const GpuSpec* decode_gpu = nullptr;
  std::unique_ptr<IKernelCostModel> decode_kernels;
  std::unique_ptr<IterationCostModel> decode_iteration;
  KvCapacity decode_capacity;
  std::unique_ptr<ITraceReader> workload;
  nlohmann::json resolved;                  // the scenario with defaults filled in
  std::vector<std::string> approximations;  // how this run approximates a real engine (shown in reports)
};

// The run's per-request table (requests.csv's columns): a cluster's columns with several replicas, the class column
// with request classes.
inline RequestTable request_table(const PreparedRun& run) {
  std::vector<std::string> classes;
  for (const ClassSlo& c : run.classes) classes.push_back(c.name);
  return RequestTable(run.sim.replicas > 1, std::move(classes));
}

// Why `tp` GPUs cannot shard `model` by tensor parallelism (tp must divide its attention heads), or nothing: the
// rule `kvsim run` and `kvsim kv-size` share.
std::optional<std::string> tensor_parallel_problem(const LlmSpec& model, int tp);

// `base_dir` resolves relative paths in the scenario (the scenario file's folder).
PreparedRun prepare_run(const nlohmann::json& scenario, const std::filesystem::path& base_dir);

// KV memory of one GPU: util * memory - its weights (Parallelism::weight_bytes_per_gpu) - activation reserve
// (estimated unless given). Throws KvsimError
// naming the model and GPU when the weights and activations do not fit.
KvCapacity compute_kv_capacity(const LlmSpec& model, const GpuSpec& gpu, Parallelism parallelism, double utilization,
                               std::optional<double> activation_reserve_GiB, TokenCount max_num_batched_tokens,
                               int max_num_seqs);

// The `kv` section: {"strategy": "name[:k=v][+name...]" | [...] | omitted (= "full"), <params of a single
// strategy>, "overlap_transfers": bool}. Params given beside a single named strategy belong to it.
ComposedStrategy read_kv_section(ParamReader& kv, const LlmSpec& model, int tensor_parallel, TokenCount block_size);

// The built-in demo scenario (Llama-3.1-8B on one H100, synthetic chat-like workload); needs no files.
nlohmann::json demo_scenario();

}  // namespace kvsim
