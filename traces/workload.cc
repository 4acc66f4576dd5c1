// The request stream of a scenario's `workload` section: see workload.h.
#include "traces/workload.h"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "traces/impl/arrival_clock.h"
#include "traces/impl/paths.h"
#include "traces/impl/synthetic_reader.h"
#include "traces/impl/workload_stream.h"
#include "traces/synthetic.h"

namespace kvsim {

namespace {

// The `trace` section: opens the file in its format (given or detected), applies `sort`, and returns the
// arrival replacement given by `arrival` (required for a length-only trace).
std::unique_ptr<ITraceReader> open_trace(ParamReader& trace, std::uint64_t seed, const std::filesystem::path& base_dir,
                                         trace_impl::StreamTransforms& transforms) {
  const std::filesystem::path path = trace_impl::resolve_path(base_dir, trace.require<std::string>("path"));
  const std::optional<std::string> format = trace.get_optional<std::string>("format");
  const bool sort = trace.get<bool>("sort", false);
  const bool has_arrival = trace.has("arrival");
  ParamReader arrival = trace.child("arrival");
  std::unique_ptr<IArrivalProcess> process;
  if (has_arrival) process = make_arrival_process(arrival);
  trace.finish();

  const std::string name = format ? *format : detect_trace_format(path);
  std::unique_ptr<ITraceReader> reader = trace_formats().get(name, trace.full("format")).factory(path);
  if (!reader->has_arrivals() && !process) {
    throw KvsimError(fmt::format(
        "{}: {} has no arrival times ({}, length only); expected an arrival process, e.g. "
        "\"arrival\": {{\"process\": \"poisson\", \"rate_per_s\": 10}}",
        trace.full("arrival"), path.string(), name));
  }
  if (process) transforms.arrivals.emplace(std::move(process), Rng(seed, RngStream::kArrivals));
  if (sort) reader = sorted_reader(std::move(reader));
  return reader;
}

}  // namespace

std::unique_ptr<ITraceReader> make_workload(ParamReader& workload, std::uint64_t seed,
                                            const std::filesystem::path& base_dir,
                                            WorkloadClasses classes) {
  const bool has_trace = workload.has("trace");
  const bool has_synthetic = workload.has("synthetic");
  ParamReader trace = workload.child("trace");
  ParamReader synthetic = workload.child("synthetic");
  trace_impl::StreamTransforms transforms;
  transforms.max_requests = workload.get_optional_in<std::int64_t>("max_requests", 1, 1'000'000'000, "requests");
  transforms.time_scale = workload.get_in<double>("time_scale", 1.0, 1e-6, 1e6, "(multiplies arrival times)");
  transforms.class_names = std::move(classes.names);
  transforms.class_shares = std::move(classes.shares);
  transforms.seed = seed;
  workload.finish();

  workload.check(has_trace != has_synthetic, has_trace ? "synthetic" : "trace",
                 "expected exactly one of 'trace' (a trace file) and 'synthetic' (a generated workload)");
  if (transforms.max_requests) {
    workload.check(*transforms.max_requests >= 1, "max_requests",
                   fmt::format("{} is not valid; expected an integer >= 1, or null for no limit",
                               *transforms.max_requests));
  }
  workload.check(std::isfinite(transforms.time_scale) && transforms.time_scale > 0, "time_scale",
                 fmt::format("{} is not valid; expected a number > 0 (0.5 = twice the request rate)",
                             transforms.time_scale));

  std::unique_ptr<ITraceReader> stream = has_trace ? open_trace(trace, seed, base_dir, transforms)
                                                   : trace_impl::make_synthetic_reader(synthetic, seed, base_dir);
  return trace_impl::transform_stream(std::move(stream), std::move(transforms));
}

}  // namespace kvsim
