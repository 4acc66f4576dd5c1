// One engine instance of a cluster: its scheduler, KV manager (block pool, prefix cache, tiers) and queues, priced
// by the shared iteration cost model, stepping on the cluster's event clock.
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
  std::array<CostEstimate, kNumOpIds> op_totals{};
  std::array<std::int64_t, kNumOpIds> op_calls{};
  std::array<std::array<double, 3>, kNumOpIds> op_bound_seconds{};
};

// What a replica does: everything (an ordinary engine), or one side of prefill/decode disaggregation.
enum class ReplicaRole : std::uint8_t { kMixed, kPrefill, kDecode };

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
  // The cluster's EngineStep and IterationDone events for this replica.
  void on_engine_step();
  void on_iteration_done();
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
  std::int64_t batch_size() const;     // sequences in the executing step (0 when idle)
  TokenCount batch_tokens() const { return batch_tokens_; }
  const KvManager& kv() const { return kv_; }
  // The tokens of `r`'s prompt this replica's GPU prefix cache holds now (no effect on the cache).
  TokenCount cached_prefix_tokens(Request& r) { return kv_.cached_prefix_tokens(r); }
  const ReplicaCounters& counters() const { return c_; }
  // Throws std::logic_error on a broken invariant (queues, KV accounting); returns the requests it holds (queued,
  // running, or handed off with their KV still here).
  std::int64_t check_invariants();

 private:
  void wake();
  void start_iteration();
  void finish_iteration();
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
  KvManager::PrefixStats last_prefix_;
  EngineQueues queues_;
  StepPlan plan_;
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
  SimTimeNs touched_ns_ = 0;
  ReplicaCounters c_;
};

}  // namespace kvsim
