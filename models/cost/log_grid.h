// Interpolation of measured kernel times: piecewise-linear in log(time) over log(coordinates) on a rectilinear
// grid of up to three axes (e.g. GEMM m, n, k; decode attention batch, kv_len). Exact at grid points, monotone
// between them wherever the data are monotone (linear interpolation cannot overshoot). Outside the grid the edge
// cell's log-linear trend is extended and the result is marked as extrapolated.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace kvsim {

class LogGrid {
 public:
  static constexpr std::size_t kMaxDims = 3;
  explicit LogGrid(std::size_t dims);

  // Adds one measurement (coordinates > 0, seconds > 0). Repeated points are averaged (in log space).
  void add(const std::array<double, kMaxDims>& coords, double seconds);
  // Builds the grid; call once after the last add().
  void finalize();

  struct Result {
    double seconds = 0;
    bool found = false;      // false: a needed grid corner was never measured and has no measured neighbours on
                             // both sides along any axis (the caller must fall back)
    bool exact = false;      // at a grid point
    bool inside = false;     // within the grid's range on every axis
  };
  Result at(const std::array<double, kMaxDims>& coords) const;

  std::size_t points() const { return points_; }
  const std::vector<double>& axis(std::size_t d) const { return axes_[d]; }  // sorted log coordinates

 private:
  std::size_t index(const std::array<std::size_t, kMaxDims>& idx) const;
  double fill(const std::array<std::size_t, kMaxDims>& idx) const;  // estimate of an unmeasured node, or NaN
  std::size_t dims_;
  std::size_t points_ = 0;
  std::vector<std::array<double, kMaxDims + 1>> raw_;  // log coords..., log seconds
  std::array<std::vector<double>, kMaxDims> axes_;
  std::vector<double> values_;   // log seconds; NaN where unmeasured
  std::vector<int> counts_;
};

}  // namespace kvsim
