// Time-weighted accumulation of an engine's state into fixed sampling intervals (timeline.csv and results.json's
// timelines): the fleet's, and each replica's in a cluster.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/core/units.h"
#include "sim/metrics/observer.h"

namespace kvsim {

inline constexpr std::size_t kMaxTimelineRows = 2000;

// Merges sample `b` (spanning `wb` ns) into `a` (spanning `wa` ns): time-weighted means, maxima, sums.
inline void merge_sample(TimelineSample& a, double wa, const TimelineSample& b, double wb) {
  const double w = wa + wb;
  a.kv_utilization = (a.kv_utilization * wa + b.kv_utilization * wb) / w;
  a.kv_utilization_max = std::max(a.kv_utilization_max, b.kv_utilization_max);
  a.running = (a.running * wa + b.running * wb) / w;
  a.waiting = (a.waiting * wa + b.waiting * wb) / w;
  a.batch_size = (a.batch_size * wa + b.batch_size * wb) / w;
  a.batch_tokens = (a.batch_tokens * wa + b.batch_tokens * wb) / w;
  a.preemptions += b.preemptions;
  a.prefix_lookup_tokens += b.prefix_lookup_tokens;
  a.prefix_hit_tokens += b.prefix_hit_tokens;
  a.prefix_tier_hit_tokens += b.prefix_tier_hit_tokens;
}

// Time-weighted accumulation of the engine state into fixed sampling intervals. Idle stretches (nothing running
// or waiting) are skipped: no rows are emitted for intervals in which the engine held no request. `observers` see
// every sample (none for a replica's own timeline).
class TimelineRecorder {
 public:
  TimelineRecorder(double interval_s, const std::vector<ISimObserver*>& observers)
      : interval_ns_(std::max<SimTimeNs>(1, units::s_to_ns(interval_s))), observers_(observers) {}

  struct State {
    double kv_utilization = 0, running = 0, waiting = 0, batch_size = 0, batch_tokens = 0;
    bool idle() const { return running == 0 && waiting == 0 && batch_size == 0 && kv_utilization == 0; }
  };

  // Integrates `state` (constant since the last call) up to `now`, emitting finished intervals.
  void advance(SimTimeNs now, const State& s) {
    if (s.idle() && now > bucket_start_ + interval_ns_) {
      // Close the current interval and jump to the one containing `now`.
      if (last_ > bucket_start_) emit(static_cast<double>(last_ - bucket_start_));
      bucket_start_ = now - (now % interval_ns_);
      last_ = bucket_start_;
      return;
    }
    while (now > last_) {
      const SimTimeNs end = std::min(now, bucket_start_ + interval_ns_);
      const double dt = static_cast<double>(end - last_);
      acc_.kv_utilization += s.kv_utilization * dt;
      acc_.running += s.running * dt;
      acc_.waiting += s.waiting * dt;
      acc_.batch_size += s.batch_size * dt;
      acc_.batch_tokens += s.batch_tokens * dt;
      in_system_integral_ += (s.running + s.waiting) * dt;
      kv_integral_ += s.kv_utilization * dt;
      max_util_ = std::max(max_util_, s.kv_utilization);
      last_ = end;
      if (end == bucket_start_ + interval_ns_) {
        emit(static_cast<double>(interval_ns_));
        bucket_start_ += interval_ns_;
      }
    }
    max_util_ = std::max(max_util_, s.kv_utilization);
  }
  void add_preemptions(int n) { preemptions_ += n; }
  void add_prefix(std::int64_t lookup, std::int64_t hit, std::int64_t tier_hit) {
    prefix_.prefix_lookup_tokens += lookup;
    prefix_.prefix_hit_tokens += hit;
    prefix_.prefix_tier_hit_tokens += tier_hit;
  }

  // Emits the last, partial interval and flushes rows held for merging.
  void finish() {
    if (last_ > bucket_start_) emit(static_cast<double>(last_ - bucket_start_));
    if (pending_count_ > 0) rows_.push_back(pending_);
    pending_count_ = 0;
  }

  double kv_integral_ns() const { return kv_integral_; }
  double in_system_integral_ns() const { return in_system_integral_; }
  std::vector<TimelineSample>& rows() { return rows_; }
  double row_interval_s() const { return units::ns_to_s(interval_ns_) * merge_; }

 private:
  void emit(double span_ns) {
    TimelineSample t;
    t.time_s = units::ns_to_s(bucket_start_);
    t.kv_utilization = acc_.kv_utilization / span_ns;
    t.kv_utilization_max = max_util_;
    t.running = acc_.running / span_ns;
    t.waiting = acc_.waiting / span_ns;
    t.batch_size = acc_.batch_size / span_ns;
    t.batch_tokens = acc_.batch_tokens / span_ns;
    t.preemptions = preemptions_;
    t.prefix_lookup_tokens = prefix_.prefix_lookup_tokens;
    t.prefix_hit_tokens = prefix_.prefix_hit_tokens;
    t.prefix_tier_hit_tokens = prefix_.prefix_tier_hit_tokens;
    prefix_ = TimelineSample{};
    for (ISimObserver* o : observers_) o->on_timeline_sample(t);
    keep(t, span_ns);
    acc_ = State{};
    max_util_ = 0;
    preemptions_ = 0;
  }
  // Keeps a bounded copy for results.json (at most kMaxTimelineRows): `merge_` consecutive samples make one row,
  // and when the rows would exceed the bound, neighbouring rows are merged and `merge_` doubles.
  void keep(const TimelineSample& t, double span_ns) {
    if (pending_count_ == 0) {
      pending_ = t;
      pending_span_ = span_ns;
    } else {
      merge_sample(pending_, pending_span_, t, span_ns);
      pending_span_ += span_ns;
    }
    if (++pending_count_ < merge_) return;
    rows_.push_back(pending_);
    pending_count_ = 0;
    if (rows_.size() >= kMaxTimelineRows) {
      std::vector<TimelineSample> merged;
      for (std::size_t i = 0; i < rows_.size(); i += 2) {
        TimelineSample m = rows_[i];
        if (i + 1 < rows_.size()) merge_sample(m, 1.0, rows_[i + 1], 1.0);
        merged.push_back(m);
      }
      rows_ = std::move(merged);
      merge_ *= 2;
    }
  }

  SimTimeNs interval_ns_;
  const std::vector<ISimObserver*>& observers_;
  SimTimeNs bucket_start_ = 0, last_ = 0;
  State acc_;
  double max_util_ = 0;
  std::int64_t preemptions_ = 0;
  TimelineSample prefix_;  // prefix-cache counts of the open interval
  double kv_integral_ = 0, in_system_integral_ = 0;
  std::vector<TimelineSample> rows_;
  int merge_ = 1;
  TimelineSample pending_;
  double pending_span_ = 0;
  int pending_count_ = 0;
};

}  // namespace kvsim
