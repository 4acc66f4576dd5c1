// Schedulers decide which requests run in the next iteration and how many tokens each computes.
// They never price anything and never advance time (policies decide, cost models price, the simulator
// advances time). Implementations live in sim/sched/impl/, registered in sim/sched/builtin.cc.
//
// Contract for IScheduler::schedule():
//  - May move requests between the queues (admit waiting -> running, preempt running -> waiting/swapped,
//    swap in swapped -> running) and reserve KV memory through KvManager, only for the work it plans.
//  - Fills `plan.work` with (request, tokens) pairs: 1 <= tokens <= request.missing_tokens(), each request at most
//    once, all of them in the running queue afterwards; the sum of tokens <= limits.max_num_batched_tokens (except
//    a lone recompute prefill longer than the budget when chunked prefill is off), at most max_num_seqs running.
//  - After it returns, every planned request holds KV memory for its step (KvManager::reserve).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/registry.h"
#include "sim/kv/kv_manager.h"
#include "sim/request/request.h"

namespace kvsim {

// The order in which waiting requests are considered for admission (engine.admission).
enum class AdmissionOrder : std::uint8_t {
  kFcfs,         // arrival order (vLLM)
  kLpm,          // longest cached prefix first (SGLang's "lpm" policy)
  kPrefixGroup,  // requests sharing a first block together, the group's first computing it before the others
};

struct EngineLimits {
  TokenCount max_num_batched_tokens = 8192;  // tokens computed per iteration, prefill + decode
  int max_num_seqs = 256;                    // requests in the running queue
  bool chunked_prefill = true;               // split prompts across iterations
  AdmissionOrder admission = AdmissionOrder::kFcfs;
  std::size_t reorder_max_waiting = 128;     // longer waiting queues are taken FCFS (SGLang's cut-off)
};

struct EngineQueues {
  std::deque<Request*> waiting;   // FCFS; preempted-by-recompute requests go back to the front
  std::vector<Request*> running;  // admission order; preemption victims are taken from the back
  std::deque<Request*> swapped;   // swapped to host memory, resumed FIFO before new admissions
};

struct ScheduledWork {
  Request* request;
  TokenCount tokens;
};

struct StepPlan {
  std::vector<ScheduledWork> work;
  double swap_out_bytes = 0;
  double swap_in_bytes = 0;
  int preemptions = 0;
  TokenCount recomputed_tokens = 0;  // KV tokens discarded by recompute preemption in this step
  TokenCount padding_tokens = 0;     // rows computed for nothing (static batching's padding): GEMMs only
  void clear() {
    work.clear();
    swap_out_bytes = swap_in_bytes = 0;
    preemptions = 0;
    recomputed_tokens = 0;
    padding_tokens = 0;
  }
};

struct SchedulerContext {
  EngineQueues& queues;
  KvManager& kv;
  const EngineLimits& limits;
  SimTimeNs now;
};

class IScheduler {
 public:
  virtual ~IScheduler() = default;
  virtual void schedule(SchedulerContext& ctx, StepPlan& plan) = 0;
};

// Builds one replica's scheduler (each replica has its own).
using SchedulerFactory = std::function<std::unique_ptr<IScheduler>()>;
// A registry entry's constructor: checks the scheduler's parameters (the strategy syntax, "sjf:predictor=oracle",
// as a JSON object; errors name `where` and the key) and returns the factory of schedulers with them.
using SchedulerBuilder = std::function<SchedulerFactory(const nlohmann::json& params, const std::string& where)>;
using SchedulerRegistry = Registry<SchedulerBuilder>;
const SchedulerRegistry& schedulers();

// The order in which a scheduler considers waiting requests for admission, when it is the policy's own (SJF):
// arrange() reorders ctx.queues.waiting before admissions, leaving requests resumed after preemption in front.
class WaitingOrder {
 public:
  virtual ~WaitingOrder() = default;
  virtual void arrange(SchedulerContext& ctx) = 0;
  // Called before the step is planned: may preempt running requests (preempt_request) the policy no longer wants
  // running (SJF: one whose output outgrew its prediction).
  virtual void review_running(SchedulerContext& ctx, StepPlan& plan) {
    (void)ctx;
    (void)plan;
  }
};

// Shared scheduling mechanics (sim/sched/mechanics.cc), used by every scheduler so they differ only in policy.
// Admits `r` (front of waiting) into running; records the first-scheduled time.
void admit(SchedulerContext& ctx, Request& r);
// Makes room for a step computing `chunk` tokens of running request `r`, preempting from the back of the running
// queue.
// Returns false if `r` itself had to be preempted (it is then no longer running).
bool reserve_or_preempt(SchedulerContext& ctx, StepPlan& plan, Request& r, TokenCount chunk);
// Reuse-aware admission (engine.admission), used by every scheduler before and while it admits waiting requests:
// order_waiting() reorders the waiting queue once per step (requests resumed after preemption stay in front, FCFS
// with a queue longer than limits.reorder_max_waiting); hold_back() says whether `r`, next in line, should wait
// for the next step because a request admitted in this step computes its first block (prefix-group), and
// admitted() records a request admitted in this step. A fresh AdmissionStep per step.
struct AdmissionStep {
  std::vector<std::uint64_t> computing;  // first blocks that requests admitted in this step compute
};
void reorder_waiting(SchedulerContext& ctx);
bool hold_back_for_group(SchedulerContext& ctx, AdmissionStep& step, Request& r);
void record_group(SchedulerContext& ctx, AdmissionStep& step, Request& r);
// FCFS, the common case, costs one comparison.
inline void order_waiting(SchedulerContext& ctx) {
  if (ctx.limits.admission != AdmissionOrder::kFcfs) [[unlikely]] reorder_waiting(ctx);
}
inline bool hold_back(SchedulerContext& ctx, AdmissionStep& step, Request& r) {
  return ctx.limits.admission == AdmissionOrder::kPrefixGroup && hold_back_for_group(ctx, step, r);
}
inline void admitted(SchedulerContext& ctx, AdmissionStep& step, Request& r) {
  if (ctx.limits.admission == AdmissionOrder::kPrefixGroup) [[unlikely]] record_group(ctx, step, r);
}
// Preempts running request `r` (recompute or swap, as engine.preemption says) and puts it at the back of the
// waiting queue (a policy's order then places it) or in the swapped queue.
void preempt_request(SchedulerContext& ctx, StepPlan& plan, Request& r);
// Resumes swapped requests (FIFO) while blocks and sequence slots allow; returns how many.
int swap_in_swapped(SchedulerContext& ctx, StepPlan& plan);

}  // namespace kvsim
