// Constructors of the built-in schedulers (registered in sim/sched/builtin.cc).
#pragma once

#include <memory>
#include <vector>

#include "sim/sched/scheduler.h"

namespace kvsim {

// vLLM v1's scheduling; `order` (null: engine.admission's order) arranges the waiting queue before admissions.
std::unique_ptr<IScheduler> make_vllm_v1_scheduler(std::unique_ptr<WaitingOrder> order = nullptr);
std::unique_ptr<IScheduler> make_prefill_first_scheduler();
// Shortest job first (sim/sched/impl/sjf.cc): vLLM v1's scheduling, waiting requests by predicted output length.
SchedulerBuilder sjf_builder();
std::vector<ParamDoc> sjf_params();
// The output lengths an `sjf` scheduler with `params` predicts for `requests`, predicted in this order (what its
// queue is ordered by; for checking a predictor's error model).
std::vector<double> sjf_predictions(const nlohmann::json& params, const std::vector<Request>& requests);
// Priority scheduling by request class (sim/sched/impl/priority.cc).
SchedulerBuilder priority_builder();
std::vector<ParamDoc> priority_params();
// Static batching, padded or packed (sim/sched/impl/static_batch.cc).
SchedulerBuilder static_batch_builder();
std::vector<ParamDoc> static_batch_params();

}  // namespace kvsim
