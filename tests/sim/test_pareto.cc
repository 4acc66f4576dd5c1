// The Pareto front of kvsim plan against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sim/plan/pareto.h"

namespace kvsim {
namespace {

bool dominated(const std::vector<ParetoPoint>& p, std::size_t i) {
  for (std::size_t j = 0; j < p.size(); ++j) {
    if (p[j].x >= p[i].x && p[j].y >= p[i].y && (p[j].x > p[i].x || p[j].y > p[i].y)) return true;
  }
  return false;
}

TEST(Pareto, TheFrontIsExactlyTheUndominatedPoints) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::uniform_int_distribution<int> n_of(0, 60), coarse(0, 9);  // coarse values: many ties and duplicates
    std::vector<ParetoPoint> p(static_cast<std::size_t>(n_of(rng)));
    for (ParetoPoint& q : p) q = {static_cast<double>(coarse(rng)), static_cast<double>(coarse(rng))};
    std::vector<std::size_t> front = pareto_front(p);
    std::sort(front.begin(), front.end());
    std::vector<std::size_t> brute;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (!dominated(p, i)) brute.push_back(i);
    }
    ASSERT_EQ(front, brute) << "trial " << trial;
  }
}

}  // namespace
}  // namespace kvsim
