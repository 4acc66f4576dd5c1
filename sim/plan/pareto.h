// The Pareto front of points with two objectives to maximize (kvsim plan: output tokens per second per GPU against
// tokens per second per user, as NVIDIA AIConfigurator draws it).
#pragma once

#include <cstddef>
#include <vector>

namespace kvsim {

struct ParetoPoint {
  double x = 0, y = 0;  // both: higher is better
};

// Indices of the points no other point dominates (at least as good in both, better in one), by x descending
// (y ascending along the front). Equal points are all kept. O(n log n).
std::vector<std::size_t> pareto_front(const std::vector<ParetoPoint>& points);

}  // namespace kvsim
