// `kvsim calibrate --serving-runs RUNS.json`: fits the engine profile's time outside the engine (request_s) to
// measured serving runs by K-fold cross-validation and reports only the held-out folds' errors.
//
// RUNS.json: {"runs": [{"name": ..., "scenario": FILE, "measured": FILE, "format": FORMAT}, ...]}, paths relative to
// RUNS.json's folder; each entry is what `kvsim validate` takes. Each run is simulated once with request_s = 0 (its
// scenario's engine.profile otherwise as given); kvsim's client-side TTFT moves one for one with request_s (every
// arrival at the engine shifts by it), so for each fold the least-squares fit of the other folds' relative TTFT-mean
// errors, sum(((k + x - m) / m)^2), is x = sum((m - k) / m^2) / sum(1 / m^2) (at least 0). The fold's runs are then
// simulated with their fold's x and compared with their measurements (every metric validate reports).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/config/json_input.h"
#include "sim/config/scenario.h"
#include "sim/core/error.h"
#include "sim/core/param_reader.h"
#include "sim/engine/results.h"
#include "sim/metrics/validation.h"
#include "tools/kvsim/commands.h"
#include "traces/measured_run.h"

namespace kvsim::cli {

namespace {

struct ServingRun {
  std::string name;
  nlohmann::json scenario;
  std::filesystem::path base_dir;
  LatencySamples measured;
};

// The scenario with the engine profile's request_s set to `request_s`.
nlohmann::json with_request_s(nlohmann::json doc, double request_s) {
  nlohmann::json& engine = doc["engine"];
  if (engine.is_null()) engine = nlohmann::json::object();
  nlohmann::json profile = engine.contains("profile") ? engine["profile"] : nlohmann::json("none");
  if (profile.is_string()) profile = {{"name", profile}};
  if (profile.is_object()) profile["request_s"] = request_s;  // anything else: prepare_run reports it
  engine["profile"] = profile;
  return doc;
}

LatencySamples simulate(const ServingRun& run, double request_s) {
  PreparedRun prepared = prepare_run(with_request_s(run.scenario, request_s), run.base_dir);
  LatencyRecorder recorder;
  run_prepared(prepared, {&recorder});
  return recorder.take();
}

double ttft_mean(const LatencySamples& s) {
  double sum = 0;
  for (const double v : s.ttft_s) sum += v;
  return sum / static_cast<double>(s.ttft_s.size());
}

}  // namespace

nlohmann::json calibrate_serving_runs(const std::filesystem::path& list, int folds) {
  const nlohmann::json doc = parse_json_file(list);
  const std::filesystem::path dir = std::filesystem::absolute(list).parent_path();
  ParamReader top(doc, "");
  const nlohmann::json* entries = top.raw("runs");
  top.check(entries != nullptr && entries->is_array() && entries->size() >= 2, "runs",
            "expected a list of at least 2 runs: {\"name\", \"scenario\", \"measured\", \"format\"}");
  top.finish();
  top.check(folds >= 2 && static_cast<std::size_t>(folds) <= entries->size(), "runs",
            fmt::format("--folds {} needs at least that many runs (and at least 2 folds)", folds));
  std::vector<ServingRun> runs;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    ParamReader r((*entries)[i], fmt::format("runs[{}]", i));
    ServingRun run;
    run.name = r.require_nonempty("name");
    const std::filesystem::path scenario = dir / r.require_nonempty("scenario");
    const std::filesystem::path measured = dir / r.require_nonempty("measured");
    const std::string format = r.require_nonempty("format");
    r.finish();
    run.scenario = parse_json_file(scenario);
    run.base_dir = scenario.parent_path();
    for (const MeasuredRequest& m : read_measured_run(measured, format).requests) run.measured.add(m);
    runs.push_back(std::move(run));
  }
  std::vector<double> base;
  for (const ServingRun& run : runs) base.push_back(ttft_mean(simulate(run, 0.0)));
  nlohmann::json out = {{"folds", folds}, {"parameter", "engine.profile.request_s"}};
  nlohmann::json fold_fits = nlohmann::json::array(), held = nlohmann::json::array();
  std::map<std::string, std::vector<double>> errors;  // metric stat -> held-out |errors|
  for (int f = 0; f < folds; ++f) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (static_cast<int>(i % static_cast<std::size_t>(folds)) == f) continue;
      const double m = ttft_mean(runs[i].measured);
      num += (m - base[i]) / (m * m);
      den += 1.0 / (m * m);
    }
    const double request_s = std::max(0.0, num / den);
    fold_fits.push_back(request_s);
    for (std::size_t i = static_cast<std::size_t>(f); i < runs.size(); i += static_cast<std::size_t>(folds)) {
      const nlohmann::json v = compare_latencies(runs[i].measured, simulate(runs[i], request_s));
      held.push_back({{"run", runs[i].name}, {"fold", f}, {"request_s", request_s}, {"metrics", v["metrics"]}});
      for (const auto& [metric, stats] : v["metrics"].items()) {
        for (const auto& [stat, c] : stats.items()) {
          if (!c["error"].is_null()) errors[metric + " " + stat].push_back(std::abs(c["error"].get<double>()));
        }
      }
    }
  }
  nlohmann::json medians = nlohmann::json::object();
  for (auto& [key, v] : errors) {
    std::sort(v.begin(), v.end());
    medians[key] = v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  out["fitted_request_s"] = fold_fits;
  out["held_out"] = held;
  out["held_out_median_abs_error"] = medians;
  return out;
}

void print_serving_fit(const nlohmann::json& fit) {
  fmt::print("engine.profile.request_s fitted by {}-fold cross-validation:", fit["folds"].get<int>());
  for (const auto& x : fit["fitted_request_s"]) fmt::print(" {:.2f} ms", 1e3 * x.get<double>());
  fmt::print("\n{:<24} {:>4} {:>22} {:>22}\n", "held-out run", "fold", "TTFT mean meas/kvsim", "E2E mean meas/kvsim");
  for (const auto& h : fit["held_out"]) {
    const auto cell = [&](const char* metric) {
      const auto& c = h["metrics"][metric]["mean"];
      return fmt::format("{:.4g}/{:.4g} s ({:+.1f} %)", c["measured"].get<double>(), c["kvsim"].get<double>(),
                         100 * c["error"].get<double>());
    };
    fmt::print("{:<24} {:>4} {:>22} {:>22}\n", h["run"].get<std::string>(), h["fold"].get<int>(), cell("ttft_s"),
               cell("e2e_s"));
  }
  fmt::print("held-out median |error|:");
  for (const char* key : {"ttft_s mean", "ttft_s p99", "e2e_s mean", "e2e_s p99"}) {
    if (fit["held_out_median_abs_error"].contains(key)) {
      fmt::print("  {} {:.1f} %", key, 100 * fit["held_out_median_abs_error"][key].get<double>());
    }
  }
  fmt::print("\n");
}

}  // namespace kvsim::cli
