// vLLM-v1-style scheduler: one token budget per iteration shared by running requests (decodes and unfinished
// prefill chunks, in admission order) and then new admissions from the waiting queue (FCFS), with chunked prefill.
// When a running request needs a block and none is free, the most recently admitted request is preempted.
// New requests are admitted only in iterations without preemption (as vLLM v1 does).
#include "sim/sched/impl/schedulers.h"

#include <algorithm>

namespace kvsim {

namespace {

class VllmV1Scheduler final : public IScheduler {
 public:
  void schedule(SchedulerContext& ctx, StepPlan& plan) override {
    auto& q = ctx.queues;
    TokenCount budget = ctx.limits.max_num_batched_tokens;
    const bool chunked = ctx.limits.chunked_prefill;

    for (std::size_t i = 0; i < q.running.size() && budget > 0;) {
      Request& r = *q.running[i];
      const TokenCount n = std::min(r.missing_tokens(), budget);
      if (!chunked && n < r.missing_tokens()) {
        ++i;
        continue;
      }
      if (!reserve_or_preempt(ctx, plan, r, n)) break;  // r itself was preempted (it was last)
      plan.work.push_back({&r, n});
      budget -= n;
      ++i;
    }
    if (plan.preemptions > 0) return;

    const std::size_t before = q.running.size();
    swap_in_swapped(ctx, plan);
    for (std::size_t i = before; i < q.running.size() && budget > 0; ++i) {
      Request& r = *q.running[i];
      const TokenCount n = std::min(r.missing_tokens(), budget);
      if (!chunked && n < r.missing_tokens()) continue;
      if (!ctx.kv.reserve(r, n)) break;
      plan.work.push_back({&r, n});
      budget -= n;
    }
    if (!q.swapped.empty()) return;  // swapped requests resume before new ones are admitted

    while (!q.waiting.empty() && budget > 0 && static_cast<int>(q.running.size()) < ctx.limits.max_num_seqs) {
      Request& r = *q.waiting.front();
      const TokenCount n = std::min(r.missing_tokens(), budget);
      if (!chunked && n < r.missing_tokens()) break;
      if (!ctx.kv.reserve(r, n)) break;
      admit(ctx, r);
      plan.work.push_back({&r, n});
      budget -= n;
    }
  }
};

}  // namespace

std::unique_ptr<IScheduler> make_vllm_v1_scheduler() { return std::make_unique<VllmV1Scheduler>(); }

}  // namespace kvsim
