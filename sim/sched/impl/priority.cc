// Priority scheduling (vLLM's `--scheduling-policy priority`): vLLM v1's scheduling (sim/sched/impl/vllm_v1.cc)
// whose waiting queue is ordered by each request's class priority (scenario workload.classes; lower first), then
// requests resumed after preemption, then arrival; and whose running queue is kept in priority order, so a running
// request that needs a block preempts the lowest-priority request admitted last (vLLM picks the running request
// with the largest (priority, arrival time)). As in vLLM, a waiting request never preempts a running one: a
// high-priority arrival waits for memory that lower-priority requests free as they finish or are preempted.
// With `preempt_for_waiting=true` it does: before each step, while the first waiting request outranks the last
// running one and the pool lacks the blocks its prompt needs, the last running request is preempted.
// Without classes every request has priority 0 and this is vllm-v1.
#include <algorithm>
#include <memory>

#include "sim/core/param_reader.h"
#include "sim/sched/impl/schedulers.h"

namespace kvsim {

namespace {

bool before(const Request* a, const Request* b) {
  if (a->priority != b->priority) return a->priority < b->priority;
  const bool ra = a->preemptions > 0, rb = b->preemptions > 0;
  if (ra != rb) return ra;
  return a->id < b->id;
}

class PriorityOrder final : public WaitingOrder {
 public:
  explicit PriorityOrder(bool preempt_for_waiting) : preempt_for_waiting_(preempt_for_waiting) {}

  void review_running(SchedulerContext& ctx, StepPlan& plan) override {
    auto& running = ctx.queues.running;
    const auto by_priority = [](const Request* a, const Request* b) { return a->priority < b->priority; };
    if (!std::is_sorted(running.begin(), running.end(), by_priority)) {
      std::stable_sort(running.begin(), running.end(), by_priority);
    }
    if (!preempt_for_waiting_) return;
    arrange(ctx);
    auto& waiting = ctx.queues.waiting;
    while (!waiting.empty() && !running.empty() && waiting.front()->priority < running.back()->priority &&
           !fits(ctx, *waiting.front())) {
      preempt_request(ctx, plan, *running.back());
      arrange(ctx);
    }
  }

  // Whether waiting request `r` could be admitted now: a sequence slot and the memory of its first step.
  static bool fits(const SchedulerContext& ctx, const Request& r) {
    if (static_cast<int>(ctx.queues.running.size()) >= ctx.limits.max_num_seqs) return false;
    const TokenCount missing = r.missing_tokens();
    const TokenCount chunk = ctx.limits.chunked_prefill ? std::min(missing, ctx.limits.max_num_batched_tokens) : missing;
    return ctx.kv.step_bytes_from_nothing(r, chunk) <= ctx.kv.free_bytes();
  }

  void arrange(SchedulerContext& ctx) override {
    auto& waiting = ctx.queues.waiting;
    // Sorted but for the arrivals since the last step (appended at the back): sort those, merge.
    const auto sorted_end = std::is_sorted_until(waiting.begin(), waiting.end(), before);
    if (sorted_end == waiting.end()) return;
    std::sort(sorted_end, waiting.end(), before);
    std::inplace_merge(waiting.begin(), sorted_end, waiting.end(), before);
  }

 private:
  bool preempt_for_waiting_;
};

}  // namespace

std::vector<ParamDoc> priority_params() {
  return {{"preempt_for_waiting", "bool", "false",
           "a waiting request that outranks running ones and does not fit preempts them (vLLM does not)"}};
}

SchedulerBuilder priority_builder() {
  return [](const nlohmann::json& params, const std::string& where) -> SchedulerFactory {
    ParamReader r(params, where);
    const bool preempt = r.get<bool>("preempt_for_waiting", false);
    r.finish();
    return [preempt] { return make_vllm_v1_scheduler(std::make_unique<PriorityOrder>(preempt)); };
  };
}

}  // namespace kvsim
