// Pareto front by a sweep over x descending (see pareto.h).
#include "sim/plan/pareto.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace kvsim {

std::vector<std::size_t> pareto_front(const std::vector<ParetoPoint>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // x descending, then y descending: a point is on the front when its y beats every y seen at a larger x, or it
  // equals the best point seen so far exactly (duplicates of a front point stay).
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return p[a].x != p[b].x ? p[a].x > p[b].x : p[a].y > p[b].y;
  });
  std::vector<std::size_t> front;
  double best_y = -std::numeric_limits<double>::infinity();
  double best_x = std::numeric_limits<double>::infinity();
  for (const std::size_t i : order) {
    const bool same_as_best = p[i].y == best_y && p[i].x == best_x;
    if (p[i].y > best_y || same_as_best) {
      front.push_back(i);
      if (p[i].y > best_y) {
        best_y = p[i].y;
        best_x = p[i].x;
      }
    }
  }
  return front;
}

}  // namespace kvsim
