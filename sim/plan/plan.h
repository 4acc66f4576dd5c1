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
//
// A second stage varies one thing at a time around the best of the first (its "seeds": the `refine_seeds`
// cheapest feasible configurations, or, when none is feasible, those of highest SLO attainment; of configurations
// that ran alike, same throughput, TPOT and cost, only the first): each alternative
// of "refine" (default_plan_refine(): prefix caching; prefix caching with a host-memory KV tier) laid over a seed,
// and each prefill/decode split of "pd_splits" laid over the best configurations of two replicas or more (chosen
// the same way): fractions of a seed's replicas that prefill, default 0.25 and 0.5, i.e. disaggregation with
// round(f x R) prefill replicas (at least 1, at most R - 1) and the rest decode. Its points are numbered
// after the grid's, pruned and judged the same way; points already searched are not repeated. "refine": [] and
// "pd_splits": [] leave the second stage out.
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
nlohmann::json default_plan_refine();

struct Plan {
  Sweep sweep;           // the first stage's points; run_plan appends the second's
  int max_gpus = 8;
  std::vector<nlohmann::json> refine;  // objects of dotted overrides laid over each seed
  std::vector<double> pd_splits;       // in (0, 1): shares of a seed's replicas that prefill
  int refine_seeds = 4;
  std::size_t first_stage_points = 0;  // points [0, this) are the grid's
};
Plan read_plan(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where);

struct PlanConfig {
  std::size_t point = 0;
  int stage = 1;
  std::optional<std::size_t> seed;  // the first-stage point a second-stage one varies
  int replicas = 0;          // as the scenario resolves them
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
  std::size_t second_stage_simulated = 0;
  std::vector<std::size_t> seeds;     // first-stage points the refine alternatives varied
  std::vector<std::size_t> pd_seeds;  // and those the P/D splits varied (of two replicas or more)
  bool holds_results = true;  // false in an MPI worker
};

// Simulates the configurations not pruned on `pool`'s workers, stage after stage, appending the second stage's
// points to plan.sweep; `progress(k, n)` is called as each result is stored (n: the points of the stages so far). In
// a process that only computed (an MPI worker) the result holds the first stage's pruning alone.
PlanResult run_plan(Plan& plan, const Pool& pool, const std::function<void(std::size_t, std::size_t)>& progress);

nlohmann::json plan_json(const Plan& plan, const PlanResult& result);

}  // namespace kvsim
