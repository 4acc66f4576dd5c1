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
// Static batching, padded or packed (sim/sched/impl/static_batch.cc).
SchedulerBuilder static_batch_builder();
std::vector<ParamDoc> static_batch_params();

}  // namespace kvsim
