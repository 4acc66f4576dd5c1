// Bracketing and bisection of the sustainable arrival rate (see capacity.h).
#include "sim/plan/capacity.h"

#include <stdexcept>

#include "sim/config/scenario.h"
#include "sim/engine/results.h"

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
  p.passes = p.summary.contains("slo") && p.summary["slo"].value("met", false) && !p.summary.value("overloaded", true);
  return p;
}

const CapacityProbe* CapacityResult::best() const {
  const CapacityProbe* out = nullptr;
  for (const CapacityProbe& p : probes) {
    if (p.passes && p.multiplier == multiplier) out = &p;
  }
  return out;
}

CapacityResult find_capacity(const std::function<CapacityProbe(double)>& probe, const CapacityOptions& o) {
  if (!(o.tolerance > 0) || !(o.min_multiplier > 0) || !(o.max_multiplier >= o.min_multiplier)) {
    throw std::invalid_argument("capacity search: tolerance and multipliers must be positive, min <= max");
  }
  CapacityResult r;
  const auto run = [&](double m) {
    r.probes.push_back(probe(m));
    r.probes.back().multiplier = m;
    return r.probes.back().passes;
  };
  double lo = 0, hi = 0;  // passing and failing multipliers
  if (run(1.0)) {
    lo = 1.0;
    while (true) {
      const double next = lo * 2;
      if (next > o.max_multiplier) {
        r.verdict = "passes at every rate tried";
        r.multiplier = lo;
        return r;
      }
      if (!run(next)) {
        hi = next;
        break;
      }
      lo = next;
    }
  } else {
    hi = 1.0;
    while (true) {
      const double next = hi / 2;
      if (next < o.min_multiplier) {
        r.verdict = "no rate meets the SLOs";
        return r;
      }
      if (run(next)) {
        lo = next;
        break;
      }
      hi = next;
    }
  }
  while ((hi - lo) / lo > o.tolerance) {
    const double mid = (lo + hi) / 2;
    if (run(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  r.found = true;
  r.verdict = "bracketed";
  r.multiplier = lo;
  return r;
}

}  // namespace kvsim
