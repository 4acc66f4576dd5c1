// Scheduling mechanics shared by every scheduler: admission, preemption from the back, swap-in.
#include <algorithm>

#include "sim/sched/scheduler.h"

namespace kvsim {

void admit(SchedulerContext& ctx, Request& r) {
  ctx.queues.waiting.pop_front();
  ctx.queues.running.push_back(&r);
  r.state = RequestState::kRunning;
  if (r.first_scheduled_ns < 0) r.first_scheduled_ns = ctx.now;
}

bool reserve_or_preempt(SchedulerContext& ctx, StepPlan& plan, Request& r, TokenCount chunk) {
  auto& running = ctx.queues.running;
  while (!ctx.kv.reserve(r, chunk)) {
    Request* victim = running.back();
    running.pop_back();
    plan.swap_out_bytes += ctx.kv.preempt(*victim, plan.recomputed_tokens);
    plan.preemptions++;
    if (victim->state == RequestState::kSwapped) {
      ctx.queues.swapped.push_back(victim);
    } else {
      ctx.queues.waiting.push_front(victim);
    }
    if (victim == &r) return false;
  }
  return true;
}

int swap_in_swapped(SchedulerContext& ctx, StepPlan& plan) {
  int resumed = 0;
  auto& swapped = ctx.queues.swapped;
  while (!swapped.empty() && static_cast<int>(ctx.queues.running.size()) < ctx.limits.max_num_seqs &&
         ctx.kv.can_swap_in(*swapped.front())) {
    Request* r = swapped.front();
    swapped.pop_front();
    plan.swap_in_bytes += ctx.kv.swap_in(*r);
    ctx.queues.running.push_back(r);
    ++resumed;
  }
  return resumed;
}

}  // namespace kvsim
