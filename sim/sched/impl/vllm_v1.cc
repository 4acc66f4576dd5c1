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
  explicit VllmV1Scheduler(std::unique_ptr<WaitingOrder> order) : order_(std::move(order)) {}

  // Tokens `r` computes in this iteration with `budget` tokens left, or 0 if it must wait. Without chunked prefill a
  // prefill runs whole; one longer than the whole budget (a recompute after preemption) runs alone.
  static TokenCount tokens_for(const Request& r, TokenCount budget, const SchedulerContext& ctx,
                               const StepPlan& plan) {
    const TokenCount missing = r.missing_tokens();
    if (ctx.limits.chunked_prefill || missing <= budget) return std::min(missing, budget);
    const bool lone_oversize = plan.work.empty() && missing > ctx.limits.max_num_batched_tokens;
    return lone_oversize ? missing : 0;
  }

  void schedule(SchedulerContext& ctx, StepPlan& plan) override {
    auto& q = ctx.queues;
    if (order_) [[unlikely]] order_->review_running(ctx, plan);
    TokenCount budget = ctx.limits.max_num_batched_tokens;

    for (std::size_t i = 0; i < q.running.size() && budget > 0;) {
      Request& r = *q.running[i];
      const TokenCount n = tokens_for(r, budget, ctx, plan);
      if (n == 0) {
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
      const TokenCount n = tokens_for(r, budget, ctx, plan);
      if (n == 0) continue;
      if (!ctx.kv.reserve(r, n)) break;
      plan.work.push_back({&r, n});
      budget -= n;
    }
    if (!q.swapped.empty()) return;  // swapped requests resume before new ones are admitted

    if (order_) [[unlikely]] {
      order_->arrange(ctx);
    } else {
      order_waiting(ctx);
    }
    AdmissionStep step;
    while (!q.waiting.empty() && budget > 0 && static_cast<int>(q.running.size()) < ctx.limits.max_num_seqs) {
      Request& r = *q.waiting.front();
      if (hold_back(ctx, step, r)) break;
      ctx.kv.match_prefix(r);  // cached prompt blocks count as computed
      const TokenCount n = tokens_for(r, budget, ctx, plan);
      if (n == 0 || !ctx.kv.reserve(r, n)) {
        ctx.kv.forget_prefix(r);
        break;
      }
      admit(ctx, r);
      admitted(ctx, step, r);
      plan.work.push_back({&r, n});
      budget -= n;
    }
  }

 private:
  std::unique_ptr<WaitingOrder> order_;
};

}  // namespace

std::unique_ptr<IScheduler> make_vllm_v1_scheduler(std::unique_ptr<WaitingOrder> order) {
  return std::make_unique<VllmV1Scheduler>(std::move(order));
}

}  // namespace kvsim
