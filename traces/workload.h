// Builds the request stream of a scenario's `workload` section: a trace file or a synthetic generator,
// with time scaling, a request cap and optional sorting applied.
//
// Scenario keys (section `workload`), read strictly through ParamReader:
//   trace: {path, format, sort=false, arrival?}   -- `arrival` (same keys as synthetic.arrival) gives arrivals
//                                                   to a length-only trace; it is an error to omit it there
//   synthetic: {num_requests | duration_s, arrival: {process: poisson|gamma|constant, rate_per_s, cv},
//               prompt_tokens: <length dist>, output_tokens: <length dist>}
//   <length dist>: {dist: fixed, value} | {dist: uniform, min, max} | {dist: lognormal, mean, sigma, min?, max?}
//                | {dist: zipf, min, max, exponent} | {dist: empirical, path, format}   (empirical prompt and
//                  output from the same file are sampled jointly, row by row)
//   max_requests: null | N   -- stop after N requests
//   time_scale: 1.0          -- arrival times are multiplied by this (0.5 = twice the request rate)
//   client_timeout_s: 0      -- read by the scenario for the engine (sim/config/scenario.cc), not by the stream
// Exactly one of `trace` and `synthetic` must be given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/param_reader.h"
#include "traces/trace_reader.h"

namespace kvsim {

// `base_dir` resolves relative paths (the scenario file's folder). `seed` drives every random draw.
// The scenario's request classes (workload.classes, read by the scenario): their names, which a trace's labels
// name, and their shares of the unlabelled requests; empty: none. Calls finish() on the section, so unknown keys
// are rejected here.
struct WorkloadClasses {
  std::vector<std::string> names;
  std::vector<double> shares;
};
std::unique_ptr<ITraceReader> make_workload(ParamReader& workload, std::uint64_t seed,
                                            const std::filesystem::path& base_dir, WorkloadClasses classes = {});

}  // namespace kvsim
