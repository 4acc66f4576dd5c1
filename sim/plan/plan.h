// `kvsim plan`: search the deployments kvsim models for one model, GPU, traffic and SLOs, and answer with the
// cheapest that meets the SLOs and the Pareto set of output tokens per second per GPU against tokens per second per
// user (1 / TPOT p50), as NVIDIA AIConfigurator presents it, but under the scenario's real traffic.
//
// A plan file is a sweep file (sim/plan/sweep.h) with "max_gpus" (default 8) and an optional "grid" (default:
// default_plan_grid(): tensor and pipeline parallelism, replicas, max_num_seqs, max_num_batched_tokens and the KV
// strategy). Points are pruned before simulating when the scenario cannot run them (the model does not fit, a
// parallel layout the model cannot take: the reason is kept) or they need more than max_gpus GPUs; the others are
// simulated (on `jobs` threads). A configuration is feasible when it meets every SLO (or, without SLOs, is not over
// capacity) and is not over capacity; the answer is the feasible one of least USD per million output tokens (then
// fewest GPUs, then lowest point number). The Pareto set is taken over the feasible configurations: the trade-off
// between throughput per GPU and speed per user among those that serve the traffic within its SLOs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/plan/sweep.h"

namespace kvsim {

nlohmann::json default_plan_grid();

struct Plan {
  Sweep sweep;
  int max_gpus = 8;
};
Plan read_plan(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where);

struct PlanConfig {
  std::size_t point = 0;
  std::string pruned;        // why it was not simulated; empty if it was
  double gpus = 0;
  nlohmann::json metrics;    // sweep_metrics() of its run (null if pruned)
  double per_gpu = 0;        // output tokens per second per GPU
  double per_user = 0;       // tokens per second per user: 1 / TPOT p50
  bool feasible = false, pareto = false;
};

struct PlanResult {
  std::vector<PlanConfig> configs;  // in point order
  std::optional<std::size_t> answer;  // index into configs
  std::size_t simulated = 0, pruned_invalid = 0, pruned_gpus = 0;
  bool holds_results = true;  // false in an MPI worker
};

// Simulates the configurations not pruned where `distribute` says; `progress(k, n)` is called as each result is
// stored. In a process that only computed (an MPI worker) the result holds the pruning alone (`distributed` false).
PlanResult run_plan(const Plan& plan, const Distribute& distribute,
                    const std::function<void(std::size_t, std::size_t)>& progress);

nlohmann::json plan_json(const Plan& plan, const PlanResult& result);

}  // namespace kvsim
