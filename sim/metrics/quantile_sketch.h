// Bounded-memory distribution of non-negative values (latencies in seconds): each power-of-two range is split into
// 512 linear buckets (at most 0.2 % wide), so any reported percentile is within 0.1 % of an exact one; count, mean,
// min and max are exact. Memory is independent of the number of values (~26k buckets for 1 ns .. 1e6 s), and
// add() uses no logarithm (frexp), as it runs once per generated token.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace kvsim {

class QuantileSketch {
 public:
  // Precondition: value >= 0 and not NaN (asserted).
  void add(double value);
  std::int64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  // Nearest-rank percentile, q in [0, 1]; 0 if empty.
  double quantile(double q) const;
  // `points` (value, cumulative fraction) pairs describing the CDF, for charts; empty if no values.
  std::vector<std::pair<double, double>> cdf(int points) const;

 private:
  double bucket_value(std::size_t index) const;  // middle of a bucket, clamped to [min, max]
  std::vector<std::int64_t> buckets_;
  std::int64_t zeros_ = 0;  // values below the smallest bucket (1 ns)
  std::int64_t count_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0;
};

}  // namespace kvsim
