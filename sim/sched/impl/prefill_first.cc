// Prefill-first scheduler (vLLM v0 default): an iteration is either all prefills or all decodes. Waiting
// requests are admitted whole (no chunking) while the token budget, max_num_seqs and free blocks allow; when none
// can be admitted, every running request decodes one token. A recompute prefill longer than the budget runs
// alone. Preemption takes the most recently admitted request.
#include "sim/sched/impl/schedulers.h"

namespace kvsim {

namespace {

class PrefillFirstScheduler final : public IScheduler {
 public:
  void schedule(SchedulerContext& ctx, StepPlan& plan) override {
    auto& q = ctx.queues;
    if (q.swapped.empty()) {
      TokenCount budget = ctx.limits.max_num_batched_tokens;
      order_waiting(ctx);
      AdmissionStep step;
      while (!q.waiting.empty() && static_cast<int>(q.running.size()) < ctx.limits.max_num_seqs) {
        Request& r = *q.waiting.front();
        if (hold_back(ctx, step, r)) break;
        ctx.kv.match_prefix(r);  // cached prompt blocks count as computed
        const TokenCount n = r.missing_tokens();
        const bool lone_oversize = plan.work.empty() && n > ctx.limits.max_num_batched_tokens;
        if ((n > budget && !lone_oversize) || !ctx.kv.reserve(r, n)) {
          ctx.kv.forget_prefix(r);
          break;
        }
        admit(ctx, r);
        admitted(ctx, step, r);
        plan.work.push_back({&r, n});
        budget -= n;
        if (lone_oversize) break;
      }
      if (!plan.work.empty()) return;
    }
    for (std::size_t i = 0; i < q.running.size(); ++i) {
      Request& r = *q.running[i];
      if (!reserve_or_preempt(ctx, plan, r, 1)) break;
      plan.work.push_back({&r, 1});
    }
    if (plan.preemptions == 0) {
      const std::size_t before = q.running.size();
      swap_in_swapped(ctx, plan);
      for (std::size_t i = before; i < q.running.size(); ++i) {
        Request& r = *q.running[i];
        if (r.missing_tokens() == 1 && ctx.kv.reserve(r, 1)) plan.work.push_back({&r, 1});
      }
    }
  }
};

}  // namespace

std::unique_ptr<IScheduler> make_prefill_first_scheduler() { return std::make_unique<PrefillFirstScheduler>(); }

}  // namespace kvsim
