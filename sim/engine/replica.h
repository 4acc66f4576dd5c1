// One engine instance of a cluster: its scheduler, KV manager (block pool, prefix cache, tiers) and queues, priced
// by the shared iteration cost model, stepping on the cluster's event clock.
//
// Pipeline parallelism (SimOptions::pipeline_parallel = P > 1): the replica's layers run in P stages, each taking
// 1/P of the step's priced time, plus the hand-over of the activations to the next stage (pipeline.send). Up to P
// micro-batches are in flight (vLLM's batch queue): a new one is planned whenever stage 0 is free and a slot is,
// from the requests not in flight (the scheduler does not see those; they rejoin the front of the running queue
// after the plan); a micro-batch's tokens appear when it leaves the last stage, micro-batches finish in order, and
// a stage waits while the one before it is busy (the bubbles). With P = 1 a replica is the plain engine.
//
// Expert parallelism across replicas (an ExpertGroup, sim/engine/expert_group.h): the group's members plan their
// steps together, each priced with the group's MoE tokens, and all last as long as the slowest (lockstep).
//
// The cluster (simulator.cc) owns the clock, the workload, the router and the requests' lifecycle around the engine
// (client sessions and timeouts, records, latency statistics); a replica owns what happens inside one engine:
// admission checks against its memory, the waiting / running / swapped queues, iterations and their prices, and the
// per-replica counters. It tells the cluster when a request finishes or is aborted (ReplicaHost).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "models/cost/iteration_cost_model.h"
#include "sim/core/event_queue.h"
#include "sim/kv/kv_manager.h"
#include "sim/metrics/observer.h"
#include "sim/sched/scheduler.h"

namespace kvsim {

struct SimOptions;
struct TraceRecord;

// What a replica reports back to its cluster.
class ReplicaHost {
 public:
  virtual ~ReplicaHost() = default;
  // `r` produced a token now; `itl_s` is the time since its previous token (negative for its first).
  virtual void token_generated(double itl_s) = 0;
  // `r` produced its last token now; the replica has freed its KV (r.state is kFinished).
  virtual void completed(Request& r) = 0;
  // `r`, completed, left the replica's queues: its object may serve another request.
  virtual void recycle(Request& r) = 0;
  // A prefill replica: `r` has its first token and left the queues (state kTransferring); its KV stays allocated
  // here until the cluster calls Replica::release().
  virtual void handed_off(Request& r) = 0;
  // `r`'s client gave up and the replica removed it and freed its KV (r.state is kFinished).
  virtual void aborted(Request& r) = 0;
  // A step was planned now: the prefix cache's first admissions of that plan (prompt tokens looked up, found on the
  // GPU, found below it; only with prefix caching) and its preemptions (only when some).
  virtual void prefix_looked_up(std::int64_t lookup_tokens, std::int64_t hit_tokens, std::int64_t tier_hit_tokens) = 0;
  virtual void preempted(int preemptions) = 0;
};

// The load a router may read (sim/cluster/router.h).
struct ReplicaLoad {
  std::int64_t outstanding = 0;  // requests admitted and not finished: waiting, running, swapped
  std::int64_t running = 0;
  double kv_utilization = 0;     // used / capacity of the device KV pool
};

// Per-replica counters, summed (or maxed) into the run's summary by the cluster.
struct ReplicaCounters {
  std::int64_t admitted = 0, completed = 0, iterations = 0;
  std::int64_t preemptions = 0;
  TokenCount recomputed_tokens = 0;
  double swapped_out_bytes = 0, swapped_in_bytes = 0, fetched_bytes = 0;
  std::int64_t max_batch_size = 0;
  double batch_size_sum = 0, batch_tokens_sum = 0;  // over iterations
  std::int64_t peak_used_bytes = 0, peak_host_kv_bytes = 0;
  double kv_integral_ns = 0;                         // used / capacity, integrated over simulated time
  SimTimeNs busy_ns = 0;                             // time with a step in flight (the sum of its steps' times)
  std::array<CostEstimate, kNumOpIds> op_totals{};
  std::array<std::int64_t, kNumOpIds> op_calls{};
  std::array<std::array<double, 3>, kNumOpIds> op_bound_seconds{};
};

// What a replica does: everything (an ordinary engine), or one side of prefill/decode disaggregation.
enum class ReplicaRole : std::uint8_t { kMixed, kPrefill, kDecode };

class ExpertGroup;

class Replica {
 public:
  // `cost` prices its steps and `kv_capacity_bytes` is its device KV pool (a pool of another GPU may differ).
  Replica(std::int32_t index, ReplicaRole role, const SimOptions& options, std::unique_ptr<IScheduler> scheduler,
          const IterationCostModel& cost, std::int64_t kv_capacity_bytes, EventQueue& events, ReplicaHost& host,
          const std::vector<class ISimObserver*>& observers);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  std::int32_t index() const { return index_; }
  ReplicaRole role() const { return role_; }
  // A prefill replica: frees the KV of `r`, handed off earlier, once it has reached its decode replica.
  void release(Request& r);
  // A prefill replica: `r`, handed off and still moving, is aborted (its client gave up): its KV is freed here.
  void abort_handed_off(Request& r);
  // Why this replica can never serve `rec` (its length limits, its whole KV pools), or "" if it can.
  std::string admission_problem(const TraceRecord& rec) const;
  // Takes `r` (accepted now) into its waiting queue, or holds it for the step after the running one under
  // asynchronous scheduling; schedules a step if the engine is idle.
  void admit(Request* r);
  // The cluster's EngineStep and IterationDone events for this replica (a group member's go to its ExpertGroup).
  void on_engine_step();
  void on_iteration_done();

  // Expert parallelism across replicas: the lockstep group this replica steps in (null: it steps on its own).
  void join(ExpertGroup* group) { group_ = group; }
  ExpertGroup* group() const { return group_; }
  // A step in three parts, for a lockstep group: plan_step() plans it (false: nothing to run; the replica stays
  // idle); price_step() prices the planned step with the MoE tokens of the whole group and returns its seconds;
  // launch_step() starts it for `dt_ns`, and with `own_event` schedules its IterationDone (a group schedules one for
  // all). end_step() applies a finished step's progress and the aborts that waited for it.
  bool plan_step();
  double price_step(double moe_group_tokens);
  void launch_step(SimTimeNs dt_ns, bool own_event);
  void end_step();
  bool busy() const { return busy_; }
  // Tokens the planned or running step sends through the GEMMs (padding to a CUDA graph included).
  double step_tokens() const { return static_cast<double>(batch_tokens_ + shape_.padded_tokens); }
  // `r`'s client gave up: aborted now, or after the running step (an engine aborts between steps).
  void on_client_timeout(Request& r);

  // Integrates the replica's KV utilization (and its own timeline) up to `now`; call before anything that changes
  // its state.
  void touch(SimTimeNs now);
  // Ends its own timeline at `now` and hands its rows over (none without one).
  std::vector<TimelineSample> finish_timeline(SimTimeNs now, double& interval_s);
  bool has_requests() const;
  ReplicaLoad load() const;
  std::int64_t waiting_count() const;  // waiting + swapped + held for the next step
  std::int64_t running_count() const { return static_cast<std::int64_t>(queues_.running.size()); }
  std::int64_t batch_size() const;     // sequences in the executing step(s) (0 when idle)
  TokenCount batch_tokens() const { return batch_tokens_; }
  const KvManager& kv() const { return kv_; }
  const IterationCostModel& cost() const { return cost_; }
  // The tokens of `r`'s prompt this replica's GPU prefix cache holds now (no effect on the cache).
  TokenCount cached_prefix_tokens(Request& r) { return kv_.cached_prefix_tokens(r); }
  const ReplicaCounters& counters() const { return c_; }
  // Throws std::logic_error on a broken invariant (queues, KV accounting); returns the requests it holds (queued,
  // running, or handed off with their KV still here).
  std::int64_t check_invariants();

 private:
  // A micro-batch in a replica's pipeline: its plan and sizes.
  struct MicroBatch {
    StepPlan plan;
    std::int64_t sequences = 0;
    TokenCount tokens = 0;
  };

  void wake();
  void start_iteration();
  // plan_step(), price_step() and launch_step(), defined inline in replica.cc only.
  inline bool plan();
  inline double price(double moe_group_tokens);
  inline void launch(SimTimeNs dt_ns, bool own_event);
  void finish_iteration(StepPlan& plan);
  void start_microbatch();
  void finish_microbatch();
  void schedule_microbatch();
  void release_incoming();
  void add_engine_time(bool graphed);
  void add_tier_traffic(IterationShape& shape);
  void process_aborts();
  void abort(Request& r);

  std::int32_t index_;
  ReplicaRole role_;
  const SimOptions& opt_;
  std::unique_ptr<IScheduler> scheduler_;
  const IterationCostModel& cost_;
  EventQueue& events_;
  ReplicaHost& host_;
  const std::vector<ISimObserver*>& observers_;
  std::unique_ptr<class TimelineRecorder> timeline_;  // its own, in a cluster of several replicas; else none
  KvManager kv_;
  const bool caching_;  // its KV manager has a prefix cache
  KvManager::PrefixStats last_prefix_;
  EngineQueues queues_;
  StepPlan plan_;
  IterationShape shape_;
  std::vector<SeqWork> work_;
  std::vector<const Request*> holders_;
  IterationCost cost_result_;
  TokenCount batch_tokens_ = 0;
  bool busy_ = false, step_pending_ = false;
  SimTimeNs step_start_ns_ = 0;    // when the running (or last) step started
  std::deque<Request*> incoming_;  // arrived during a step under asynchronous scheduling, not yet schedulable
  std::vector<std::pair<Request*, RequestId>> pending_aborts_;
  std::vector<Request*> handed_off_;  // a prefill replica's requests whose KV is moving (still held here)
  const bool step_time_;           // the engine profile adds step time (read once: every step asks)
  ExpertGroup* group_ = nullptr;
  // Pipeline parallelism (pp_ > 1): micro-batches in flight, oldest first, plans to reuse, when each stage is free
  // again, and the requests hidden from the scheduler while a plan is made.
  const int pp_;
  std::deque<MicroBatch> in_flight_;
  std::vector<StepPlan> spare_plans_;
  std::vector<SimTimeNs> stage_free_ns_;
  std::vector<Request*> held_;
  std::int64_t in_flight_sequences_ = 0;
  TokenCount in_flight_tokens_ = 0;
  SimTimeNs touched_ns_ = 0;
  ReplicaCounters c_;
};

}  // namespace kvsim
