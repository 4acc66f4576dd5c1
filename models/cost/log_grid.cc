// Log-log grid interpolation (see log_grid.h).
#include "models/cost/log_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace kvsim {

LogGrid::LogGrid(std::size_t dims) : dims_(dims) {
  if (dims == 0 || dims > kMaxDims) throw std::logic_error("LogGrid: 1 to 3 dimensions");
}

void LogGrid::add(const std::array<double, kMaxDims>& coords, double seconds) {
  std::array<double, kMaxDims + 1> row{};
  for (std::size_t d = 0; d < dims_; ++d) {
    if (!(coords[d] > 0)) throw std::logic_error("LogGrid: coordinates must be > 0");
    row[d] = std::log(coords[d]);
  }
  if (!(seconds > 0)) throw std::logic_error("LogGrid: times must be > 0");
  row[kMaxDims] = std::log(seconds);
  raw_.push_back(row);
}

std::size_t LogGrid::index(const std::array<std::size_t, kMaxDims>& idx) const {
  std::size_t i = 0;
  for (std::size_t d = 0; d < dims_; ++d) i = i * axes_[d].size() + idx[d];
  return i;
}

void LogGrid::finalize() {
  for (std::size_t d = 0; d < dims_; ++d) {
    std::vector<double>& a = axes_[d];
    for (const auto& r : raw_) a.push_back(r[d]);
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end(), [](double x, double y) { return std::fabs(x - y) < 1e-12; }), a.end());
  }
  std::size_t size = 1;
  for (std::size_t d = 0; d < dims_; ++d) size *= axes_[d].size();
  values_.assign(size, 0.0);
  counts_.assign(size, 0);
  for (const auto& r : raw_) {
    std::array<std::size_t, kMaxDims> idx{};
    for (std::size_t d = 0; d < dims_; ++d) {
      idx[d] = static_cast<std::size_t>(std::lower_bound(axes_[d].begin(), axes_[d].end(), r[d] - 1e-12) -
                                        axes_[d].begin());
    }
    const std::size_t i = index(idx);
    values_[i] += r[kMaxDims];
    counts_[i] += 1;
  }
  for (std::size_t i = 0; i < size; ++i) {
    values_[i] = counts_[i] > 0 ? values_[i] / counts_[i] : std::numeric_limits<double>::quiet_NaN();
    if (counts_[i] > 0) ++points_;
  }
  raw_.clear();
  raw_.shrink_to_fit();
}

double LogGrid::fill(const std::array<std::size_t, kMaxDims>& idx) const {
  // An unmeasured node: the mean of the log-linear interpolations between its two neighbours along each axis
  // where both are measured.
  double sum = 0;
  int n = 0;
  for (std::size_t d = 0; d < dims_; ++d) {
    if (idx[d] == 0 || idx[d] + 1 >= axes_[d].size()) continue;
    std::array<std::size_t, kMaxDims> lo = idx, hi = idx;
    lo[d] -= 1;
    hi[d] += 1;
    const double a = values_[index(lo)], b = values_[index(hi)];
    if (std::isnan(a) || std::isnan(b)) continue;
    const std::vector<double>& ax = axes_[d];
    const double f = (ax[idx[d]] - ax[lo[d]]) / (ax[hi[d]] - ax[lo[d]]);
    sum += a + f * (b - a);
    ++n;
  }
  return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

LogGrid::Result LogGrid::at(const std::array<double, kMaxDims>& coords) const {
  Result res;
  res.inside = true;
  res.exact = true;
  std::array<std::size_t, kMaxDims> lo{};
  std::array<double, kMaxDims> frac{};
  for (std::size_t d = 0; d < dims_; ++d) {
    const std::vector<double>& a = axes_[d];
    if (a.empty()) return res;
    const double x = std::log(coords[d]);
    if (a.size() == 1) {
      lo[d] = 0;
      frac[d] = 0;
      if (std::fabs(x - a[0]) > 1e-9) res.inside = res.exact = false;
      continue;
    }
    // The cell [a[j], a[j+1]] containing x (or the edge cell, extended, outside the range).
    auto it = std::upper_bound(a.begin(), a.end(), x);
    std::size_t j = it == a.begin() ? 0 : static_cast<std::size_t>(it - a.begin()) - 1;
    j = std::min(j, a.size() - 2);
    lo[d] = j;
    frac[d] = (x - a[j]) / (a[j + 1] - a[j]);
    if (x < a.front() - 1e-9 || x > a.back() + 1e-9) res.inside = false;
    if (std::fabs(frac[d]) > 1e-9 && std::fabs(frac[d] - 1) > 1e-9) res.exact = false;
  }
  // Multilinear combination of the cell's corners (those with zero weight are skipped, so an exact lookup needs
  // only its own point).
  double sum = 0;
  const std::size_t corners = std::size_t{1} << dims_;
  for (std::size_t c = 0; c < corners; ++c) {
    double w = 1;
    std::array<std::size_t, kMaxDims> idx{};
    for (std::size_t d = 0; d < dims_; ++d) {
      const bool upper = (c >> d) & 1;
      if (axes_[d].size() == 1) {
        if (upper) w = 0;
        idx[d] = 0;
        continue;
      }
      w *= upper ? frac[d] : 1 - frac[d];
      idx[d] = lo[d] + (upper ? 1 : 0);
    }
    if (std::fabs(w) < 1e-12) continue;
    double v = values_[index(idx)];
    if (std::isnan(v)) {
      v = fill(idx);
      if (std::isnan(v)) return res;  // found stays false
      res.exact = false;
    }
    sum += w * v;
  }
  res.seconds = std::exp(sum);
  res.found = true;
  return res;
}

}  // namespace kvsim
