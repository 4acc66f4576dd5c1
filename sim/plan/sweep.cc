// Sweep files, points and their parallel running (see sweep.h).
#include "sim/plan/sweep.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "sim/config/json_input.h"
#include "sim/core/error.h"
#include "sim/core/param_reader.h"
#include "sim/metrics/slo.h"

namespace kvsim {

namespace {
constexpr std::size_t kMaxPoints = 1'000'000;

}  // namespace

std::string checked_dotted_key(const std::string& key, const std::string& where) {
  if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos) {
    throw KvsimError(fmt::format("{}: '{}' is not a dotted scenario key (e.g. engine.max_num_seqs)", where, key));
  }
  return key;
}

nlohmann::json SweepPoint::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : overrides) j[k] = v;
  return j;
}

nlohmann::json Sweep::scenario_of(std::size_t i) const {
  return scenario_with(points.at(i).to_json(), fmt::format("point {}", i));
}

nlohmann::json Sweep::scenario_with(const nlohmann::json& overrides, const std::string& where) const {
  nlohmann::json s = scenario;
  for (const auto& [k, v] : overrides.items()) set_json_path(s, k, v, fmt::format("{}: {}", where, k));
  return s;
}

nlohmann::json Sweep::definition() const {
  nlohmann::json pts = nlohmann::json::array();
  for (const SweepPoint& p : points) pts.push_back(p.to_json());
  return {{"scenario", scenario}, {"points", pts}};
}

Sweep read_sweep(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where) {
  ParamReader r(doc, where);
  Sweep s;
  if (const nlohmann::json* inline_scenario = r.raw("scenario"); inline_scenario != nullptr && inline_scenario->is_object()) {
    // The scenario itself (kvsim plan SCENARIO.json): relative paths in it resolve against `base_dir`.
    s.scenario = *inline_scenario;
    s.scenario_path = std::filesystem::absolute(base_dir / "scenario.json").lexically_normal();
  } else {
    const std::string path = r.require_nonempty("scenario");
    s.scenario_path = std::filesystem::absolute(base_dir / path).lexically_normal();
    s.scenario = parse_json_file(s.scenario_path);
  }
  r.check(!s.scenario.contains("variants"), "scenario",
          fmt::format("{} has \"variants\": a sweep runs one scenario (put the variants' keys in the grid)",
                      s.scenario_path.string()));
  std::set<std::string> keys;
  if (const nlohmann::json* grid = r.raw("grid"); grid != nullptr && !grid->is_null()) {
    r.check(grid->is_object(), "grid", "expected an object of dotted keys to lists of values");
    std::vector<SweepPoint> points(1);
    for (const auto& [key, values] : grid->items()) {  // sorted keys: the last one varies fastest
      const std::string at = fmt::format("{}.grid.{}", where.empty() ? "sweep" : where, key);
      checked_dotted_key(key, at);
      if (!values.is_array() || values.empty()) {
        throw KvsimError(fmt::format("{}: expected a non-empty list of values", at));
      }
      if (points.size() * values.size() > kMaxPoints) {
        throw KvsimError(fmt::format("{}: the grid has more than {} points", at, kMaxPoints));
      }
      std::vector<SweepPoint> next;
      for (const SweepPoint& p : points) {
        for (const nlohmann::json& v : values) {
          SweepPoint q = p;
          q.overrides[key] = v;
          next.push_back(std::move(q));
        }
      }
      points = std::move(next);
      keys.insert(key);
    }
    if (!grid->empty()) s.points = std::move(points);
  }
  if (const nlohmann::json* pts = r.raw("points"); pts != nullptr && !pts->is_null()) {
    r.check(pts->is_array(), "points", "expected a list of objects of dotted keys to values");
    for (std::size_t i = 0; i < pts->size(); ++i) {
      const nlohmann::json& p = (*pts)[i];
      const std::string at = fmt::format("{}.points[{}]", where.empty() ? "sweep" : where, i);
      if (!p.is_object() || p.empty()) throw KvsimError(at + ": expected a non-empty object of dotted keys to values");
      SweepPoint q;
      for (const auto& [key, v] : p.items()) {
        q.overrides[checked_dotted_key(key, at)] = v;
        keys.insert(key);
      }
      s.points.push_back(std::move(q));
    }
  }
  r.finish();
  if (s.points.empty()) {
    throw KvsimError(fmt::format("{}: no points: give a non-empty \"grid\" or \"points\"", where.empty() ? "sweep" : where));
  }
  if (s.points.size() > kMaxPoints) throw KvsimError(fmt::format("{}: more than {} points", where, kMaxPoints));
  s.keys.assign(keys.begin(), keys.end());
  return s;
}

std::string csv_field(const nlohmann::json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

const std::vector<std::string>& sweep_metric_names() {
  static const std::vector<std::string> kNames = {
      "completed", "rejected", "timed_out", "requests_per_s", "output_tokens_per_s", "ttft_p50_s", "ttft_p99_s",
      "tpot_p50_s", "tpot_p99_s", "e2e_p99_s", "kv_capacity_tokens", "preemptions", "overloaded", "slo_attainment",
      "slo_met", "goodput_requests_per_s", "gpus", "usd_per_hour", "usd_per_million_output_tokens"};
  return kNames;
}

namespace {
// Every SLO of the run (its own and its request classes'), or null without SLOs.
nlohmann::json slo_met(const nlohmann::json& summary) {
  const std::optional<bool> met = all_slos_met(summary);
  return met ? nlohmann::json(*met) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json sweep_metrics(const nlohmann::json& results) {
  const nlohmann::json& s = results.at("summary");
  const auto at = [&](std::initializer_list<const char*> path) -> nlohmann::json {
    const nlohmann::json* j = &s;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return nullptr;
      j = &(*j)[k];
    }
    return *j;
  };
  return {{"completed", at({"requests", "completed"})},
          {"rejected", at({"requests", "rejected"})},
          {"timed_out", at({"requests", "timed_out"})},
          {"requests_per_s", at({"throughput", "requests_per_s"})},
          {"output_tokens_per_s", at({"throughput", "output_tokens_per_s"})},
          {"ttft_p50_s", at({"ttft_s", "p50"})},
          {"ttft_p99_s", at({"ttft_s", "p99"})},
          {"tpot_p50_s", at({"tpot_s", "p50"})},
          {"tpot_p99_s", at({"tpot_s", "p99"})},
          {"e2e_p99_s", at({"e2e_s", "p99"})},
          {"kv_capacity_tokens", at({"kv", "capacity_tokens"})},
          {"preemptions", at({"kv", "preemptions"})},
          {"overloaded", at({"overloaded"})},
          {"slo_attainment", at({"slo", "attainment", "all"})},
          {"slo_met", slo_met(s)},
          {"goodput_requests_per_s", at({"slo", "goodput_requests_per_s"})},
          {"gpus", at({"cost", "gpus"})},
          {"usd_per_hour", at({"cost", "usd_per_hour"})},
          {"usd_per_million_output_tokens", at({"cost", "usd_per_million_output_tokens"})}};
}

}  // namespace kvsim
