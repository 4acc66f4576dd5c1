// Simulated requests beside measured ones (see validation.h).
#include "sim/metrics/validation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvsim {

namespace {

// Nearest-rank percentile of sorted values: the smallest value with at least q of them at or below it.
double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * n)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

nlohmann::json stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return {{"mean", mean}, {"p50", nearest_rank(v, 0.5)}, {"p90", nearest_rank(v, 0.9)}, {"p99", nearest_rank(v, 0.99)}};
}

// 201 points of the empirical CDF: the value at each 0.5 % of the requests.
nlohmann::json cdf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i <= 200; ++i) {
    const double q = i / 200.0;
    out.push_back({i == 0 ? v.front() : nearest_rank(v, q), q});
  }
  return out;
}

nlohmann::json cell(double measured, double kvsim) {
  return {{"measured", measured},
          {"kvsim", kvsim},
          // A measured 0 gives no relative error, unless kvsim agrees exactly.
          {"error", measured != 0   ? nlohmann::json((kvsim - measured) / measured)
                    : kvsim == 0    ? nlohmann::json(0.0)
                                    : nlohmann::json(nullptr)}};
}

}  // namespace

void LatencySamples::add(const MeasuredRequest& r) {
  if (r.ttft_s) ttft_s.push_back(*r.ttft_s);
  if (r.tpot_s) tpot_s.push_back(*r.tpot_s);
  if (r.e2e_s) e2e_s.push_back(*r.e2e_s);
  if (r.queue_s) queue_s.push_back(*r.queue_s);
  output_tokens += r.output_tokens;
}

void LatencySamples::add(const RequestRecord& r) {
  if (!r.completed) return;
  ttft_s.push_back(r.ttft_s);
  if (r.tpot_s) tpot_s.push_back(*r.tpot_s);
  e2e_s.push_back(r.e2e_s);
  queue_s.push_back(r.queue_s);
  output_tokens += r.output_tokens;
}

void LatencyRecorder::on_request_finished(const RequestRecord& r) {
  if (!r.completed) return;
  samples_.add(r);
  first_ = std::min(first_, r.arrival_s);
  last_ = std::max(last_, r.arrival_s + r.e2e_s);
}

LatencySamples LatencyRecorder::take() {
  if (last_ > first_) samples_.span_s = last_ - first_;
  return std::move(samples_);
}

nlohmann::json compare_latencies(const LatencySamples& measured, const LatencySamples& simulated) {
  nlohmann::json out;
  out["requests"] = {{"measured", measured.e2e_s.size()}, {"kvsim", simulated.e2e_s.size()}};
  nlohmann::json metrics = nlohmann::json::object(), measured_cdf = nlohmann::json::object(),
                 kvsim_cdf = nlohmann::json::object();
  const std::pair<const char*, std::vector<double> LatencySamples::*> kMetrics[] = {
      {"ttft_s", &LatencySamples::ttft_s}, {"tpot_s", &LatencySamples::tpot_s},
      {"e2e_s", &LatencySamples::e2e_s}, {"queue_s", &LatencySamples::queue_s}};
  for (const auto& [name, member] : kMetrics) {
    const std::vector<double>&m = measured.*member, &k = simulated.*member;
    if (m.empty() || k.empty()) continue;
    const nlohmann::json ms = stats(m), ks = stats(k);
    nlohmann::json row;
    for (const char* stat : {"mean", "p50", "p90", "p99"}) row[stat] = cell(ms[stat], ks[stat]);
    metrics[name] = row;
    measured_cdf[name] = cdf(m);
    kvsim_cdf[name] = cdf(k);
  }
  out["metrics"] = metrics;
  if (measured.span_s && simulated.span_s && *measured.span_s > 0 && *simulated.span_s > 0) {
    out["throughput"] = {
        {"requests_per_s", cell(static_cast<double>(measured.e2e_s.size()) / *measured.span_s,
                                static_cast<double>(simulated.e2e_s.size()) / *simulated.span_s)},
        {"output_tokens_per_s", cell(static_cast<double>(measured.output_tokens) / *measured.span_s,
                                     static_cast<double>(simulated.output_tokens) / *simulated.span_s)}};
  }
  out["distributions"] = {{"measured", measured_cdf}, {"kvsim", kvsim_cdf}};
  return out;
}

}  // namespace kvsim
