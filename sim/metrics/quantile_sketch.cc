// Logarithmic-bucket quantile sketch (see quantile_sketch.h).
#include "sim/metrics/quantile_sketch.h"

#include <algorithm>
#include <cmath>

namespace kvsim {

namespace {
constexpr double kGamma = 1.002;
const double kLogGamma = std::log(kGamma);
}  // namespace

void QuantileSketch::add(double v) {
  if (v < 0 || std::isnan(v)) v = 0;
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
  const auto idx = static_cast<std::size_t>(std::log(v / kMinValue) / kLogGamma);
  if (idx >= buckets_.size()) buckets_.resize(idx + 1, 0);
  ++buckets_[idx];
}

double QuantileSketch::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count_))));
  std::int64_t seen = zeros_;
  if (seen >= rank) return min_;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // Geometric middle of the bucket, clamped to the exact extremes.
      const double mid = kMinValue * std::exp((static_cast<double>(i) + 0.5) * kLogGamma);
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::vector<std::pair<double, double>> QuantileSketch::cdf(int points) const {
  std::vector<std::pair<double, double>> out;
  if (count_ == 0 || points < 2) return out;
  for (int i = 0; i < points; ++i) {
    const double f = static_cast<double>(i) / (points - 1);
    out.emplace_back(quantile(f), f);
  }
  return out;
}

}  // namespace kvsim
