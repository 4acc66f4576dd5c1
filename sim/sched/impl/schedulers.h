// Constructors of the built-in schedulers (registered in sim/sched/builtin.cc).
#pragma once

#include <memory>

#include "sim/sched/scheduler.h"

namespace kvsim {

std::unique_ptr<IScheduler> make_vllm_v1_scheduler();
std::unique_ptr<IScheduler> make_prefill_first_scheduler();

}  // namespace kvsim
