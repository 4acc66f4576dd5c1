// The progress line of kvsim run (see progress.h).
#include "tools/kvsim/progress.h"

#include <cstdio>

#include <fmt/format.h>

namespace kvsim::cli {

void Progress::on_request_finished(const RequestRecord& r) {
  ++finished_;
  if (++checks_ % 4096 == 0) maybe_print(r.arrival_s);  // the clock is read now and then, not per request
}

void Progress::on_timeline_sample(const TimelineSample& t) {
  last_simulated_s_ = t.time_s;
  maybe_print(t.time_s);
}

void Progress::maybe_print(double simulated_s) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return;
  next_ = now + std::chrono::milliseconds(500);
  const double wall = std::chrono::duration<double>(now - start_).count();
  fmt::print(stderr, "\rkvsim: {:.0f} s simulated, {} requests finished, {:.1f} s wall   ",
             std::max(simulated_s, last_simulated_s_), finished_, wall);
  std::fflush(stderr);
  printed_ = true;
}

void Progress::finish() {
  if (!printed_) return;
  fmt::print(stderr, "\r{:80}\r", "");
  std::fflush(stderr);
}

}  // namespace kvsim::cli
