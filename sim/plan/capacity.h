// The highest arrival rate a scenario sustains within its SLOs (`kvsim capacity`): the workload's arrivals are
// compressed or stretched in time (workload.time_scale = its own / m: m times its request rate) and each probe is a
// full simulation; a probe passes when every SLO is met and the run is not over capacity (sim/metrics/slo.h).
//
// Search: from m = 1, doubling while probes pass (or halving while they fail) brackets the boundary between a
// passing m_lo and a failing m_hi = 2 m_lo, then bisection halves the bracket until (m_hi - m_lo) / m_lo <=
// tolerance; the answer is m_lo (a rate that was simulated and passed). It assumes that passing is monotone in the
// rate (a faster stream never does better); where simulated noise breaks that near the boundary, the answer is one
// boundary the bisection found, within the tolerance of it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

struct CapacityOptions {
  double tolerance = 0.02;        // relative width of the final bracket
  double max_multiplier = 1024;   // of the workload's own rate: beyond, "passes at every rate tried"
  double min_multiplier = 1.0 / 1024;  // below: "no rate meets the SLOs"
};

// One simulated rate.
struct CapacityProbe {
  double multiplier = 0;           // of the workload's own request rate
  double offered_rate_per_s = 0;   // requests per second arriving (summary.load)
  bool passes = false;
  nlohmann::json summary;          // the run's summary (results.json)
};

struct CapacityResult {
  bool found = false;              // some rate passed and some failed: the boundary is bracketed
  std::string verdict;             // "bracketed", "no rate meets the SLOs", "passes at every rate tried"
  double multiplier = 0;           // the highest passing multiplier (0 if none)
  std::vector<CapacityProbe> probes;  // the search's path, in order: the same whatever ran at once
  int simulations = 0;             // probes simulated, speculative ones off the path included
  const CapacityProbe* best() const;  // the probe at `multiplier` (null if none passed)
};

// The search as a state machine that several workers can feed: wanted(k) names up to k multipliers to simulate
// next (the one the search needs, then, speculatively, the ones it may need after it, breadth first over the
// outcomes: with k = 3 a bisection advances two levels per round), record() takes their outcomes in any order. The
// path, the answer and the verdict are those of the one-at-a-time search, whatever k was; only the count of
// simulations grows with speculation.
class CapacitySearch {
 public:
  explicit CapacitySearch(const CapacityOptions& options);  // throws std::invalid_argument on bad options
  bool done() const { return state_.phase == Phase::kDone; }
  std::vector<double> wanted(std::size_t k) const;  // empty once done
  void record(const CapacityProbe& probe);           // an outcome at probe.multiplier
  CapacityResult result() const;                     // once done

 private:
  enum class Phase { kStart, kUp, kDown, kBisect, kDone };
  struct State {
    Phase phase = Phase::kStart;
    double lo = 0, hi = 0;  // passing and failing multipliers (0: none yet)
    std::string verdict;
  };
  double next(const State& s) const;             // the multiplier that state probes
  State step(const State& s, bool passes) const;  // the state after that probe's outcome
  void advance();                                // follows the path while outcomes are known

  CapacityOptions options_;
  State state_;
  std::map<double, CapacityProbe> seen_;  // every outcome recorded, by multiplier (dyadic: exact keys)
  std::vector<double> path_;
  int simulations_ = 0;
};

// `probe(m)` simulates// `probe(m)` simulates the workload at m times its rate.
CapacityResult find_capacity(const std::function<CapacityProbe(double)>& probe, const CapacityOptions& options);
// The same search fed `width` probes at a time by `probes` (which may simulate them concurrently).
CapacityResult find_capacity(const std::function<std::vector<CapacityProbe>(const std::vector<double>&)>& probes,
                             std::size_t width, const CapacityOptions& options);

// One probe of `scenario` (which must have an slo section; no variants) at `m` times its workload's request rate
// (workload.time_scale divided by m): a full simulation; it passes when every SLO is met (the run's and each request
// class's: all_slos_met) and not summary.overloaded.
CapacityProbe probe_scenario(const nlohmann::json& scenario, const std::filesystem::path& base_dir, double m);

}  // namespace kvsim
