// Bracketing and bisection of the sustainable arrival rate (see capacity.h).
#include "sim/plan/capacity.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "sim/config/scenario.h"
#include "sim/engine/results.h"
#include "sim/metrics/slo.h"

namespace kvsim {

CapacityProbe probe_scenario(const nlohmann::json& scenario, const std::filesystem::path& base_dir, double m) {
  nlohmann::json s = scenario;
  const double own = s.value("workload", nlohmann::json::object()).value("time_scale", 1.0);
  s["workload"]["time_scale"] = own / m;
  PreparedRun run = prepare_run(s, base_dir);
  const nlohmann::json results = run_prepared(run, {});
  CapacityProbe p;
  p.multiplier = m;
  p.summary = results["summary"];
  p.offered_rate_per_s = p.summary["load"].value("offered_rate_per_s", 0.0);
  p.passes = all_slos_met(p.summary).value_or(false) && !p.summary.value("overloaded", true);
  return p;
}

const CapacityProbe* CapacityResult::best() const {
  const CapacityProbe* out = nullptr;
  for (const CapacityProbe& p : probes) {
    if (p.passes && p.multiplier == multiplier) out = &p;
  }
  return out;
}

CapacitySearch::CapacitySearch(const CapacityOptions& o) : options_(o) {
  if (!(o.tolerance > 0) || !(o.min_multiplier > 0) || !(o.max_multiplier >= o.min_multiplier)) {
    throw std::invalid_argument("capacity search: tolerance and multipliers must be positive, min <= max");
  }
}

double CapacitySearch::next(const State& s) const {
  switch (s.phase) {
    case Phase::kStart: return 1.0;
    case Phase::kUp: return s.lo * 2;
    case Phase::kDown: return s.hi / 2;
    case Phase::kBisect: return (s.lo + s.hi) / 2;
    case Phase::kDone: break;
  }
  return 0;
}

CapacitySearch::State CapacitySearch::step(const State& s, bool passes) const {
  const double m = next(s);
  State t = s;
  if (passes) {
    t.lo = m;
  } else {
    t.hi = m;
  }
  if (s.phase == Phase::kStart) t.phase = passes ? Phase::kUp : Phase::kDown;
  if (t.phase == Phase::kUp && !passes) t.phase = Phase::kBisect;
  if (t.phase == Phase::kDown && passes) t.phase = Phase::kBisect;
  if (t.phase == Phase::kUp && t.lo * 2 > options_.max_multiplier) {
    t.phase = Phase::kDone;
    t.verdict = "passes at every rate tried";
  } else if (t.phase == Phase::kDown && t.hi / 2 < options_.min_multiplier) {
    t.phase = Phase::kDone;
    t.verdict = "no rate meets the SLOs";
  } else if (t.phase == Phase::kBisect && (t.hi - t.lo) / t.lo <= options_.tolerance) {
    t.phase = Phase::kDone;
    t.verdict = "bracketed";
  }
  return t;
}

std::vector<double> CapacitySearch::wanted(std::size_t k) const {
  std::vector<double> out;
  std::deque<State> frontier{state_};  // breadth first over the outcomes still unknown
  while (!frontier.empty() && out.size() < k) {
    const State s = frontier.front();
    frontier.pop_front();
    if (s.phase == Phase::kDone) continue;
    const double m = next(s);
    const auto known = seen_.find(m);
    if (known != seen_.end()) {  // a speculative probe answered it already: follow its outcome
      frontier.push_back(step(s, known->second.passes));
      continue;
    }
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    frontier.push_back(step(s, true));
    frontier.push_back(step(s, false));
  }
  return out;
}

void CapacitySearch::record(const CapacityProbe& probe) {
  CapacityProbe p = probe;
  ++simulations_;
  seen_.insert_or_assign(p.multiplier, std::move(p));
  advance();
}

void CapacitySearch::advance() {
  while (state_.phase != Phase::kDone) {
    const double m = next(state_);
    const auto known = seen_.find(m);
    if (known == seen_.end()) return;
    path_.push_back(m);
    state_ = step(state_, known->second.passes);
  }
}

CapacityResult CapacitySearch::result() const {
  CapacityResult r;
  r.verdict = state_.verdict;
  r.found = state_.phase == Phase::kDone && state_.verdict == "bracketed";
  r.multiplier = state_.lo;
  r.simulations = simulations_;
  for (const double m : path_) r.probes.push_back(seen_.at(m));
  return r;
}

CapacityResult find_capacity(const std::function<std::vector<CapacityProbe>(const std::vector<double>&)>& probes,
                             std::size_t width, const CapacityOptions& o) {
  CapacitySearch search(o);
  while (!search.done()) {
    const std::vector<double> ms = search.wanted(std::max<std::size_t>(width, 1));
    std::vector<CapacityProbe> got = probes(ms);
    if (got.size() != ms.size()) throw std::logic_error("capacity search: a probe batch lost probes");
    for (std::size_t i = 0; i < ms.size(); ++i) {
      got[i].multiplier = ms[i];
      search.record(got[i]);
    }
  }
  return search.result();
}

CapacityResult find_capacity(const std::function<CapacityProbe(double)>& probe, const CapacityOptions& o) {
  return find_capacity(
      [&](const std::vector<double>& ms) {
        std::vector<CapacityProbe> out;
        for (const double m : ms) out.push_back(probe(m));
        return out;
      },
      1, o);
}

}  // namespace kvsim
