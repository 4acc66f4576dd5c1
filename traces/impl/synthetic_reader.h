// The request stream of `workload.synthetic`: arrivals from an arrival process, prompt and output lengths from
// length distributions, bounded by a request count and/or a duration.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "sim/core/param_reader.h"
#include "traces/trace_reader.h"

namespace kvsim::trace_impl {

// Reads the `synthetic` section (num_requests and/or duration_s, arrival, prompt_tokens, output_tokens) and
// calls finish() on it. Arrivals, prompt lengths and output lengths draw from separate streams of `seed`.
std::unique_ptr<ITraceReader> make_synthetic_reader(ParamReader& synthetic, std::uint64_t seed,
                                                    const std::filesystem::path& base_dir);

}  // namespace kvsim::trace_impl
