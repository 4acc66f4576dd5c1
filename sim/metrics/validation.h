// Simulated requests beside measured ones (`kvsim validate`): per latency metric, the mean and the nearest-rank
// p50 / p90 / p99 of both sides, computed the same way from exact per-request values, and kvsim's relative error
// (kvsim - measured) / measured (0 where both are 0, none where only the measured value is); throughput where the measured run gives its span; both distributions as
// 201-point CDFs for the report. A run compared with its own requests.csv has every error 0.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/metrics/observer.h"
#include "traces/measured_run.h"

namespace kvsim {

// One side's completed requests.
struct LatencySamples {
  std::vector<double> ttft_s, tpot_s, e2e_s, queue_s;
  std::int64_t output_tokens = 0;
  std::optional<double> span_s;  // first arrival to last token, for throughput

  void add(const MeasuredRequest& r);
  void add(const RequestRecord& r);  // completed records only
};

// Records a simulation's completed requests as LatencySamples, with the span from the first arrival to the last
// token.
class LatencyRecorder final : public ISimObserver {
 public:
  void on_request_finished(const RequestRecord& r) override;
  void on_timeline_sample(const TimelineSample&) override {}
  LatencySamples take();

 private:
  LatencySamples samples_;
  double first_ = 1e300, last_ = 0;
};

// {"requests": {measured, kvsim}, "metrics": {"ttft_s": {"mean": {"measured", "kvsim", "error"}, "p50": ...}, ...},
//  "throughput": {...} (when both spans are known), "distributions": {"measured": {...}, "kvsim": {...}}}.
// Metrics a side lacks (vllm-bench has no queue delay) are left out.
nlohmann::json compare_latencies(const LatencySamples& measured, const LatencySamples& simulated);

}  // namespace kvsim
