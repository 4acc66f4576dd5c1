// Hooks through which the engine streams per-request records and timeline samples to writers (requests.csv,
// timeline.csv) without depending on them. Called in simulated-time order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/core/types.h"

namespace kvsim {

// One finished request: completed, rejected at arrival with a reason, or timed out (its client gave up before the
// last token: aborted in the engine, the reason says so).
struct RequestRecord {
  RequestId id = 0;
  double arrival_s = 0;
  TokenCount prompt_tokens = 0;
  TokenCount output_tokens = 0;
  bool completed = false;
  bool timed_out = false;
  std::string reject_reason;  // empty if completed
  double queue_s = 0;         // first scheduled - arrival
  double ttft_s = 0;          // first token - arrival
  std::optional<double> tpot_s;  // (last token - first token) / (output_tokens - 1); none for one output token
  double e2e_s = 0;           // last token - arrival
  double max_itl_s = 0;       // largest gap between consecutive tokens
  int preemptions = 0;
  std::int32_t replica = -1;  // the engine instance it was routed to (hardware.replicas), -1 if never routed
  std::uint8_t request_class = 0;  // its class (scenario workload.classes), 0 without classes
  std::optional<double> transfer_s;  // disaggregation: how long its KV took to reach its decode replica
};

// Time-weighted averages over one sampling interval [time_s, time_s + interval).
struct TimelineSample {
  double time_s = 0;
  double kv_utilization = 0;      // used blocks / total blocks, mean over the interval
  double kv_utilization_max = 0;  // max over the interval
  double running = 0;             // requests in the running queue, mean
  double waiting = 0;             // requests waiting (incl. preempted and swapped), mean
  double batch_size = 0;          // requests in the executing iteration, mean
  double batch_tokens = 0;        // tokens computed by the executing iteration, mean
  std::int64_t preemptions = 0;   // preemptions during the interval
  // Prefix cache, first admissions during the interval: prompt tokens looked up, found on the GPU, found below it.
  std::int64_t prefix_lookup_tokens = 0, prefix_hit_tokens = 0, prefix_tier_hit_tokens = 0;
};

struct IterationCost;  // models/cost/iteration_cost_model.h

// One engine iteration, as planned (for tests and traces).
struct IterationRecord {
  SimTimeNs start_ns = 0, end_ns = 0;
  std::int32_t replica = 0;     // the engine instance that ran it (hardware.replicas)
  int prefills = 0;             // sequences computing a prefill chunk
  int decodes = 0;              // sequences computing one decode token
  TokenCount tokens = 0;        // tokens computed
  int preemptions = 0;
  const IterationCost* cost = nullptr;  // the step's price per op (valid during on_iteration only)
};

class ISimObserver {
 public:
  virtual ~ISimObserver() = default;
  virtual void on_request_finished(const RequestRecord&) {}
  virtual void on_timeline_sample(const TimelineSample&) {}
  virtual void on_iteration(const IterationRecord&) {}
  // False for an observer with nothing to do per iteration: the engine then builds no IterationRecord for it (the
  // record costs the hot path when anyone listens).
  virtual bool wants_iterations() const { return true; }
};

}  // namespace kvsim
