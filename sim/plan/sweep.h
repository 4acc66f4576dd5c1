// A sweep: one scenario run at every point of a grid of overrides (`kvsim sweep`).
//
// A sweep file: {"scenario": "path/to/scenario.json", "grid": {"engine.max_num_seqs": [64, 256], "kv.strategy":
// ["full", "fp8"]}, "points": [{"engine.max_num_seqs": 32, "kv.strategy": "kivi-2"}]}: the cartesian product of the
// grid's lists (keys in sorted order, the last key varying fastest), then the explicit points, each a set of
// overrides (dotted scenario keys, values as JSON). Either may be absent, not both. The scenario must not have
// variants ("scenario" may also be the scenario object itself, its relative paths resolving against the sweep file's
// folder). Points are numbered from 0 in that order; their results do not depend on how many run at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/plan/workers.h"

namespace kvsim {

struct SweepPoint {
  std::map<std::string, nlohmann::json> overrides;  // dotted key -> value
  nlohmann::json to_json() const;
};

struct Sweep {
  std::filesystem::path scenario_path;  // absolute
  nlohmann::json scenario;              // as read
  std::vector<std::string> keys;        // every overridden key, sorted (the CSV's input columns)
  std::vector<SweepPoint> points;
  // The scenario of point i: the base with its overrides. Throws KvsimError naming the point.
  nlohmann::json scenario_of(std::size_t i) const;
  // The base with `overrides` (an object of dotted keys to values; errors name `where` and the key).
  nlohmann::json scenario_with(const nlohmann::json& overrides, const std::string& where) const;
  // Everything that decides the results (the scenario and the points), for resuming a sweep.
  nlohmann::json definition() const;
};

// Reads a sweep file's document; relative paths resolve against `base_dir` (the sweep file's folder). Errors name
// `where` and the key at fault.
Sweep read_sweep(const nlohmann::json& doc, const std::filesystem::path& base_dir, const std::string& where);

// `key` if it is a dotted scenario key (e.g. engine.max_num_seqs); else throws KvsimError naming `where`.
std::string checked_dotted_key(const std::string& key, const std::string& where);

// The figures a sweep keeps of one run (the CSV's metric columns, in this order): results.json -> flat object.
nlohmann::json sweep_metrics(const nlohmann::json& results);
const std::vector<std::string>& sweep_metric_names();
// A value of a point (an override or a metric) as a field of sweep.csv / plan.csv: numbers in their shortest form
// (as CsvWriter writes them), strings as they are, null empty, booleans true/false, anything else compact JSON.
std::string csv_field(const nlohmann::json& v);

}  // namespace kvsim
