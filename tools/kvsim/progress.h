// A progress line on stderr while a run simulates, for runs longer than a second on a terminal (kvsim run without
// --quiet): simulated time, requests finished, wall time; rewritten in place about twice a second, cleared at the end.
#pragma once

#include <chrono>
#include <cstdint>

#include "sim/metrics/observer.h"

namespace kvsim::cli {

class Progress final : public ISimObserver {
 public:
  Progress() : start_(std::chrono::steady_clock::now()), next_(start_ + std::chrono::seconds(1)) {}
  void on_request_finished(const RequestRecord& r) override;
  void on_timeline_sample(const TimelineSample& t) override;
  bool wants_iterations() const override { return false; }
  // Clears the line if one was printed.
  void finish();

 private:
  void maybe_print(double simulated_s);
  std::chrono::steady_clock::time_point start_, next_;
  std::int64_t finished_ = 0;
  double last_simulated_s_ = 0;
  int checks_ = 0;
  bool printed_ = false;
};

}  // namespace kvsim::cli
