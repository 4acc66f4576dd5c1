// The latency sketch against exact percentiles computed by sorting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "sim/metrics/quantile_sketch.h"

namespace kvsim {
namespace {

double exact_nearest_rank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))));
  return v[rank - 1];
}

TEST(QuantileSketch, PercentilesWithinATenthOfAPercent) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(-3.0, 1.5);  // latencies from ~1 ms to seconds
  std::vector<double> values;
  QuantileSketch s;
  for (int i = 0; i < 50000; ++i) {
    const double v = dist(rng);
    values.push_back(v);
    s.add(v);
  }
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999}) {
    const double exact = exact_nearest_rank(values, q);
    EXPECT_NEAR(s.quantile(q), exact, 1e-3 * exact) << "q=" << q;
  }
  EXPECT_DOUBLE_EQ(s.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_DOUBLE_EQ(s.min(), *std::min_element(values.begin(), values.end()));
  double sum = 0;
  for (double v : values) sum += v;
  EXPECT_NEAR(s.mean(), sum / values.size(), 1e-12);
}

TEST(QuantileSketch, CdfIsMonotoneAndMatchesQuantiles) {
  QuantileSketch s;
  for (int i = 1; i <= 1000; ++i) s.add(i * 1e-3);
  const auto cdf = s.cdf(201);
  ASSERT_EQ(cdf.size(), 201u);
  for (std::size_t i = 1; i < cdf.size(); ++i) {
    EXPECT_GE(cdf[i].first, cdf[i - 1].first);
    EXPECT_GT(cdf[i].second, cdf[i - 1].second);
  }
  EXPECT_DOUBLE_EQ(cdf[100].first, s.quantile(0.5));
  EXPECT_DOUBLE_EQ(cdf.back().first, s.max());
}

TEST(QuantileSketch, HandlesZerosAndEmpty) {
  QuantileSketch s;
  EXPECT_TRUE(s.cdf(10).empty());
  EXPECT_EQ(s.quantile(0.5), 0.0);
  s.add(0.0);
  s.add(0.0);
  s.add(2.0);
  EXPECT_EQ(s.quantile(0.5), 0.0);
  EXPECT_NEAR(s.quantile(1.0), 2.0, 2e-3);
}

}  // namespace
}  // namespace kvsim
