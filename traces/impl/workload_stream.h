// The transformations `make_workload` applies to a request stream, in this order:
//  1. arrival replacement: the stream's arrival times (if any) are replaced, in stream order, by an arrival
//     process (`trace.arrival`); the inner reader's ordering check is then lifted, since its times are unused;
//  2. max_requests: the stream ends after that many requests;
//  3. time_scale: every arrival time is multiplied by it (rounded to the nanosecond).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "traces/impl/arrival_clock.h"
#include "traces/trace_reader.h"

namespace kvsim::trace_impl {

struct StreamTransforms {
  std::optional<ArrivalClock> arrivals;
  std::optional<std::int64_t> max_requests;
  double time_scale = 1.0;
};

std::unique_ptr<ITraceReader> transform_stream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms);

}  // namespace kvsim::trace_impl
