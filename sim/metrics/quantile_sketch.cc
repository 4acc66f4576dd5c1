// Log-linear bucket quantile sketch (see quantile_sketch.h).
#include "sim/metrics/quantile_sketch.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace kvsim {

namespace {
constexpr int kSubBuckets = 512;     // linear buckets per power of two
constexpr int kMinExponent = -30;    // frexp exponent of ~1e-9 s: 2^-30 = 9.3e-10
constexpr double kMinValue = 0x1p-31;

std::size_t index_of(double v) {
  int e = 0;
  const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  const auto sub = static_cast<int>((m - 0.5) * 2.0 * kSubBuckets);
  return static_cast<std::size_t>(e - kMinExponent) * kSubBuckets + static_cast<std::size_t>(sub);
}
}  // namespace

void QuantileSketch::add(double v) {
  assert(v >= 0 && !std::isnan(v));
  if (count_ == 0) {
    min_ = max_ = v;
  } else {
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  ++count_;
  sum_ += v;
  if (v < kMinValue) {
    ++zeros_;
    return;
  }
  const std::size_t idx = index_of(v);
  if (idx >= buckets_.size()) buckets_.resize(idx + 1, 0);
  ++buckets_[idx];
}

double QuantileSketch::bucket_value(std::size_t i) const {
  const int e = static_cast<int>(i / kSubBuckets) + kMinExponent;
  const double m = 0.5 + (static_cast<double>(i % kSubBuckets) + 0.5) / (2.0 * kSubBuckets);
  return std::clamp(std::ldexp(m, e), min_, max_);
}

double QuantileSketch::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count_))));
  std::int64_t seen = zeros_;
  if (seen >= rank) return min_;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return bucket_value(i);
  }
  return max_;
}

std::vector<std::pair<double, double>> QuantileSketch::cdf(int points) const {
  std::vector<std::pair<double, double>> out;
  if (count_ == 0 || points < 2) return out;
  // One cumulative pass over the buckets for all the requested fractions.
  std::int64_t seen = zeros_;
  std::size_t i = 0;
  for (int p = 0; p < points; ++p) {
    const double f = static_cast<double>(p) / (points - 1);
    const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(f * static_cast<double>(count_))));
    while (seen < rank && i < buckets_.size()) seen += buckets_[i++];
    out.emplace_back(i == 0 ? min_ : bucket_value(i - 1), f);
  }
  return out;
}

}  // namespace kvsim
