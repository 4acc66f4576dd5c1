// Scheduling mechanics shared by every scheduler: admission, preemption from the back, swap-in.
#include <algorithm>

#include "sim/sched/scheduler.h"

namespace kvsim {

namespace {
// Preempts `victim`, already out of the running queue: its KV is freed or swapped; it waits in the swapped queue, or
// in the waiting queue's front (resumed first, as vLLM does) or back (a policy's order places it).
void preempt_out(SchedulerContext& ctx, StepPlan& plan, Request& victim, bool to_front) {
  plan.swap_out_bytes += ctx.kv.preempt(victim, plan.recomputed_tokens);
  plan.preemptions++;
  if (victim.state == RequestState::kSwapped) {
    ctx.queues.swapped.push_back(&victim);
  } else if (to_front) {
    ctx.queues.waiting.push_front(&victim);
  } else {
    ctx.queues.waiting.push_back(&victim);
  }
}
}  // namespace

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
    preempt_out(ctx, plan, *victim, /*to_front=*/true);
    if (victim == &r) return false;
  }
  return true;
}

void reorder_waiting(SchedulerContext& ctx) {
  auto& waiting = ctx.queues.waiting;
  if (waiting.size() < 2 || waiting.size() > ctx.limits.reorder_max_waiting) return;
  // Requests resumed after preemption keep their place in front.
  auto first = waiting.begin();
  while (first != waiting.end() && (*first)->preemptions > 0) ++first;
  // A sort key per request, smaller first (stable: ties keep arrival order): lpm, the longest cached prefix;
  // prefix-group, the rank of the request's group, groups in the order of their first request.
  std::vector<std::pair<std::int64_t, Request*>> keyed;
  std::vector<std::uint64_t> groups;
  for (auto it = first; it != waiting.end(); ++it) {
    std::int64_t key;
    if (ctx.limits.admission == AdmissionOrder::kLpm) {
      key = -ctx.kv.cached_prefix_tokens(**it);
    } else {
      const std::uint64_t block = ctx.kv.first_block_key(**it);
      auto g = static_cast<std::size_t>(std::find(groups.begin(), groups.end(), block) - groups.begin());
      if (block == 0 || g == groups.size()) {  // without content, a group of its own
        g = groups.size();
        groups.push_back(block);
      }
      key = static_cast<std::int64_t>(g);
    }
    keyed.emplace_back(key, *it);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < keyed.size(); ++i) *(first + static_cast<std::ptrdiff_t>(i)) = keyed[i].second;
}

bool hold_back_for_group(SchedulerContext& ctx, AdmissionStep& step, Request& r) {
  if (step.computing.empty()) return false;
  const std::uint64_t key = ctx.kv.first_block_key(r);
  return key != 0 && ctx.kv.cached_prefix_tokens(r) == 0 &&
         std::find(step.computing.begin(), step.computing.end(), key) != step.computing.end();
}

void record_group(SchedulerContext& ctx, AdmissionStep& step, Request& r) {
  const std::uint64_t key = ctx.kv.first_block_key(r);
  if (key != 0 && r.blocks.empty()) step.computing.push_back(key);  // it found no cached block: it computes them
}

void preempt_request(SchedulerContext& ctx, StepPlan& plan, Request& r) {
  auto& running = ctx.queues.running;
  running.erase(std::find(running.begin(), running.end(), &r));
  preempt_out(ctx, plan, r, /*to_front=*/false);
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
