// Absolute arrival times from an arrival process: the first request at 0, then the running sum of the gaps.
// Gaps are summed in double seconds and each arrival is rounded to the nanosecond (units::s_to_ns), so
// rounding does not accumulate.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "sim/core/units.h"
#include "traces/synthetic.h"

namespace kvsim::trace_impl {

class ArrivalClock {
 public:
  ArrivalClock(std::unique_ptr<IArrivalProcess> process, Rng rng) : process_(std::move(process)), rng_(rng) {}

  SimTimeNs next() {
    if (started_) now_s_ += process_->next_gap_s(rng_);
    started_ = true;
    return units::s_to_ns(now_s_);
  }

  std::string describe() const { return process_->describe(); }

 private:
  std::unique_ptr<IArrivalProcess> process_;
  Rng rng_;
  double now_s_ = 0;
  bool started_ = false;
};

}  // namespace kvsim::trace_impl
