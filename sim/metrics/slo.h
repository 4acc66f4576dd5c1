// Service-level objectives (scenario `slo`), the measurement window (`metrics.warmup_s`, `metrics.cooldown_s`) and
// whether the run was over capacity: an observer of every finished request (completed, rejected or timed out).
//
// SLOs are per-request deadlines: a request meets `ttft_p99_s` if it completed and its TTFT was at most that (a
// request with one output token meets any TPOT deadline); rejected and timed-out requests meet none. Attainment of
// an SLO is the share of the counted requests that meet it; the SLO is met when attainment >= `attainment` (0.99 by
// default: the deadline is then a p99). Goodput: requests (and their tokens) meeting every SLO, per second of the
// counted requests' arrival span.
//
// Counted requests: all, or with a window those that arrived at or after `warmup_s` and no later than `cooldown_s`
// before the last arrival (kept until the end to know it: 48 bytes per request); the latency distributions of the
// summary are then those of the window's completed requests.
//
// Over capacity: the queue grows without bound when the time requests wait before their first step grows with their
// arrival time. kvsim fits queue delay against arrival time over the counted completed requests (least squares);
// the run is overloaded when that slope exceeds 0.02 s per s (2 % of elapsed time accumulates as backlog) and the
// fitted delay at the last arrival exceeds 1 s, or when more than 5 % of the counted requests timed out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/metrics/observer.h"
#include "sim/metrics/quantile_sketch.h"

namespace kvsim {

struct SloSpec {
  std::optional<double> ttft_s, tpot_s, e2e_s;  // deadlines per request
  double attainment = 0.99;                     // share of requests that must meet each
  bool any() const { return ttft_s || tpot_s || e2e_s; }
};

// A request class (scenario `workload.classes`) and its own deadlines (slo.any() false: none).
struct ClassSlo {
  std::string name;
  SloSpec slo;
};

struct MetricsWindow {
  double warmup_s = 0, cooldown_s = 0;
  bool any() const { return warmup_s > 0 || cooldown_s > 0; }
};

// Whether a run's summary meets every SLO it has: summary.slo.met and each class's (summary.classes.*.slo.met);
// none when it has no SLO at all. What capacity searches, sweeps and plans judge a deployment by.
std::optional<bool> all_slos_met(const nlohmann::json& summary);

class SloTracker final : public ISimObserver {
 public:
  // `classes`: the request classes (RequestRecord::request_class indexes them); empty without classes.
  SloTracker(SloSpec slo, MetricsWindow window, std::vector<ClassSlo> classes = {});
  void on_request_finished(const RequestRecord& r) override;
  bool wants_iterations() const override { return false; }

  struct Result {
    nlohmann::json slo;   // summary.slo (null without SLOs)
    nlohmann::json load;  // summary.load: offered and served rates, queue growth, why overloaded
    bool overloaded = false;
    // With a window: the counted requests' latency distributions (replace the whole run's); else empty.
    bool windowed = false;
    QuantileSketch ttft_s, tpot_s, e2e_s, queue_s;
    nlohmann::json window;  // summary.window (null without)
    // summary.classes (null without classes): per class, its counted and completed requests, latency quantiles
    // and, where the class has deadlines, its SLO result (the shape of summary.slo; goodput per second of the
    // whole run's arrival span, so the classes' goodputs add up).
    nlohmann::json classes;
  };
  // Call once, after the run.
  Result finish() const;

 private:
  struct Entry {
    double arrival_s, ttft_s, tpot_s, e2e_s, queue_s;
    std::int32_t input, output;  // tokens (clamped: counts only)
    std::uint8_t flags;          // completed, timed out, has tpot
    std::uint8_t request_class;
  };
  static Entry entry_of(const RequestRecord& r);
  SloSpec slo_;
  MetricsWindow window_;
  std::vector<Entry> kept_;  // with a window only
  // Without a window: the accumulations of finish(), as requests finish.
  struct Sums {
    std::int64_t counted = 0, timed_out = 0, completed = 0;
    std::int64_t met_ttft = 0, met_tpot = 0, met_e2e = 0, met_all = 0;
    double good_input = 0, good_output = 0;
    double first_arrival = 1e300, last_arrival = -1e300;
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;  // queue delay against arrival, completed requests
    void add(const Entry& e, const SloSpec& slo);
  };
  // One class's share of the counted requests.
  struct ClassSums {
    Sums sums;
    QuantileSketch ttft_s, tpot_s, e2e_s, queue_s;  // completed requests
  };
  void add_to_class(std::vector<ClassSums>& to, const Entry& e) const;
  static nlohmann::json slo_json(const Sums& s, const SloSpec& slo, double per_s);
  Sums sums_;
  std::vector<ClassSlo> classes_;
  std::vector<ClassSums> class_sums_;  // without a window, as requests finish
};

}  // namespace kvsim
