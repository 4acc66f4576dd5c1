// The serving-engine simulator: a deterministic discrete-event loop over request arrivals and iterations.
//
// Lifecycle: construct with fully built components (workload, scheduler, cost model, observers), call run() once.
// Each iteration: the scheduler plans work (and may preempt), the iteration cost model prices it, the clock jumps
// to the end of the iteration, and progress is applied (tokens produced, requests finished, blocks freed).
// Requests that can never be served (prompt + output beyond max_model_len, KV beyond the whole device or host KV
// memory, or a prompt larger than the token budget without chunked prefill) are rejected at arrival with a reason,
// never dropped. KV memory follows the iteration cost model's KV layout (sim/kv/kv_manager.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/cost/iteration_cost_model.h"
#include "sim/engine/engine_profile.h"
#include "sim/kv/kv_manager.h"
#include "sim/metrics/observer.h"
#include "sim/metrics/quantile_sketch.h"
#include "sim/sched/scheduler.h"
#include "traces/trace_reader.h"

namespace kvsim {

struct SimOptions {
  EngineLimits limits;
  std::int64_t kv_capacity_bytes = 0;  // a replica's KV pool, in its KV layout's bytes (all layers of a token): one
                                       // GPU's KV memory x pipeline stages (each stage holds its layers' share)
  std::int64_t host_kv_bytes = 0;      // host memory for KV that the strategy offloads
  std::int64_t swap_bytes = 0;         // host swap space for preemption by swap
  PreemptionMode preemption = PreemptionMode::kRecompute;
  bool prefix_caching = false;         // vLLM v1 automatic prefix caching (sim/kv/kv_manager.h)
  // Builds the prefix cache's eviction policy (sim/kv/eviction/); empty: LRU.
  std::function<std::unique_ptr<EvictionPolicy>()> eviction;
  PrefixCacheMode prefix_cache_mode = PrefixCacheMode::kVllm;
  // Memory tiers below the GPU for prefix-cached blocks (sim/kv/tiers.h), first tier first; empty: none.
  std::vector<TierSpec> tiers;
  TierOffload tier_offload = TierOffload::kEvicted;
  bool tier_load_layerwise = true;    // see IterationShape
  bool tier_store_overlapped = true;
  std::optional<ChunkReuseSpec> chunk_reuse;  // non-prefix chunk reuse (sim/kv/chunk_store.h)
  TokenCount max_model_len = 0;       // prompt + output limit
  double timeline_interval_s = 1.0;   // timeline sampling period (simulated seconds)
  bool check_invariants = false;      // run the invariant checker after every event
  EngineProfile profile;              // what the engine adds around the GPU's work (engine.profile)
  double client_timeout_s = 0;        // a client gives up this long after sending (0: never); the engine aborts
  // By request class (scenario workload.classes): its priority, lower first, for the schedulers that order by it
  // (priority, sjf); empty without classes.
  std::vector<std::int32_t> class_priority;
  // The cluster (hardware.replicas): that many identical engine instances on one clock, and the router that sends
  // each arriving request to one of them (built per run; unused with one replica). Replicas report their load to the
  // router every `router_state_delay_s` (0: the router sees the load at the moment it routes).
  std::int32_t replicas = 1;
  std::function<std::unique_ptr<class IRouter>()> router;
  double router_state_delay_s = 0;
  // Prefill/decode disaggregation: the first `prefill_replicas` replicas only prefill (the router sends new requests
  // to them); at its first token a request's KV moves, `transfer_latency_s` + bytes / `transfer_bandwidth_Bps`
  // later, to the decode replica `decode_router` chooses among the others. 0: no disaggregation.
  std::int32_t prefill_replicas = 0;
  std::function<std::unique_ptr<class IRouter>()> decode_router;
  double transfer_bandwidth_Bps = 0, transfer_latency_s = 0;
  // Layer-wise streaming: the KV moves while the prefill computes it, layer after layer (0: after the prefill).
  int transfer_layerwise_layers = 0;
  // The machines the cluster runs on (hardware.topology; null: none): with disaggregation, each move is one flow
  // per tensor-parallel rank from the prefill replica's GPUs to the decode replica's, sharing links
  // (sim/cluster/link_sharing.h) instead of the transfer_bandwidth / latency above. replica_gpus[i]: the topology
  // nodes of replica i's first stage, one per tensor-parallel rank.
  const class Topology* topology = nullptr;
  std::vector<std::vector<std::size_t>> replica_gpus;
  // On a topology: each replica's pricing, its collectives on its GPUs' paths (empty: the run's, or decode_cost).
  std::vector<const IterationCostModel*> replica_cost;
  // Pools of different cards or layouts (hardware.pools): each replica's KV pool (empty: kv_capacity_bytes).
  std::vector<std::int64_t> replica_kv_capacity_bytes;
  // Pipeline parallelism: a replica's layers in this many stages, up to as many micro-batches in flight (replica.h).
  int pipeline_parallel = 1;
  // Expert parallelism across replicas: groups of this many consecutive replicas (data-parallel attention ranks)
  // share their experts and step in lockstep (1: every replica steps on its own).
  int expert_group_ranks = 1;
  // Decode replicas of another GPU: their pricing and KV pool (null / 0: the same as the others).
  const IterationCostModel* decode_cost = nullptr;
  std::int64_t decode_kv_capacity_bytes = 0;
};

// Everything a run measured; converted to results.json by sim/run.cc.
struct RunSummary {
  std::int64_t arrived = 0, completed = 0, rejected = 0;
  std::int64_t timed_out = 0;  // aborted when their client's timeout expired (workload.client_timeout_s)
  QuantileSketch ttft_s, tpot_s, itl_s, e2e_s, queue_s;
  QuantileSketch prompt_tokens;  // of every arrived request (what one request's KV is sized by)
  TokenCount prompt_tokens_completed = 0, output_tokens_generated = 0, output_tokens_requested_completed = 0;
  double simulated_time_s = 0;
  std::int64_t iterations = 0;
  std::int64_t peak_used_bytes = 0;
  std::int64_t peak_host_kv_bytes = 0;
  double mean_kv_utilization = 0;
  std::int64_t preemptions = 0, preempted_requests = 0;
  TokenCount recomputed_tokens = 0;
  double swapped_out_bytes = 0, swapped_in_bytes = 0;
  double fetched_bytes = 0;                           // host -> device KV fetches of offloading strategies
  double mean_batch_size = 0, mean_batch_tokens = 0;  // averaged over iterations
  std::int64_t max_batch_size = 0;
  double mean_requests_in_system = 0;                 // time average of waiting + running + swapped
  std::array<CostEstimate, kNumOpIds> op_totals{};    // summed over iterations
  std::array<std::int64_t, kNumOpIds> op_calls{};     // iterations in which each op ran
  std::array<std::array<double, 3>, kNumOpIds> op_bound_seconds{};  // seconds by bound, per op
  std::map<std::string, std::int64_t> rejections_by_reason;
  std::vector<std::pair<RequestId, std::string>> first_rejections;  // at most 20
  std::vector<TimelineSample> timeline;               // at most ~2000 samples (adjacent ones merged)
  double timeline_interval_s = 0;                      // interval of `timeline` after merging
  std::int64_t used_bytes_at_end = 0, capacity_bytes = 0;
  KvManager::PrefixStats prefix;              // prefix-cache counters at the end
  struct Tier {
    std::string name;
    KvTiers::Stats stats;
    TokenCount block_tokens = 0;
  };
  std::vector<Tier> tiers;                    // memory tiers below the GPU, first tier first
  ChunkStore::Stats chunk_store;              // chunk reuse (zeros without)
  // Per replica (one entry per engine instance). The fleet figures above sum the replicas' counters; peaks
  // (peak_used_bytes, max_batch_size) are the largest replica's, capacity_bytes is the first replica's pool.
  struct ReplicaSummary {
    std::string role;  // "mixed", "prefill" or "decode"
    std::int64_t admitted = 0, completed = 0, iterations = 0, preemptions = 0;
    double mean_batch_size = 0;      // over the replica's iterations
    double peak_kv_utilization = 0;  // peak used / capacity of its device pool
    double mean_kv_utilization = 0;  // time average over the run
    double busy_fraction = 0;        // of the run's simulated time with a step in flight
    TokenCount prefix_lookup_tokens = 0, prefix_hit_tokens = 0;
    std::vector<TimelineSample> timeline;  // its own, with more than one replica (as `timeline` above)
    double timeline_interval_s = 0;
  };
  std::vector<ReplicaSummary> replicas;
  // Disaggregation: requests whose KV moved from a prefill to a decode replica, the bytes, and each move's time.
  std::int64_t transfers = 0;
  double transfer_bytes = 0;
  std::map<std::string, double> transfer_bytes_by_link_class;  // with a topology
  // With a topology: bytes of the replicas' all-reduces, all-to-alls and pipeline sends, by the class of the
  // slowest link on their paths.
  std::map<std::string, double> collective_bytes_by_link_class;
  QuantileSketch transfer_s;
};

class Simulator {
 public:
  // `schedulers` builds each replica's scheduler.
  Simulator(const SimOptions& options, ITraceReader& workload, const SchedulerFactory& schedulers,
            const IterationCostModel& cost, std::vector<ISimObserver*> observers);
  ~Simulator();
  RunSummary run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvsim
