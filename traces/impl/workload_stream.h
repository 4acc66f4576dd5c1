// The transformations `make_workload` applies to a request stream, in this order:
//  1. arrival replacement: the stream's arrival times (if any) are replaced, in stream order, by an arrival
//     process (`trace.arrival`); the inner reader's ordering check is then lifted, since its times are unused;
//  2. max_requests: the stream ends after that many requests;
//  3. time_scale: every arrival time is multiplied by it (rounded to the nanosecond);
//  4. request classes: a request labelled by the trace (TraceRecord::class_name) is given that class (an error
//     naming the line if it is not one of class_names); any other, class i with probability class_shares[i] (its
//     own random stream, so the classes do not change any other draw), or class 0 if every share is 0.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "traces/impl/arrival_clock.h"
#include "traces/trace_reader.h"

namespace kvsim::trace_impl {

struct StreamTransforms {
  std::optional<ArrivalClock> arrivals;
  std::optional<std::int64_t> max_requests;
  double time_scale = 1.0;
  std::vector<std::string> class_names;  // empty: no classes (every request is class 0)
  std::vector<double> class_shares;      // one per class
  std::uint64_t seed = 0;            // of the class draws
};

std::unique_ptr<ITraceReader> transform_stream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms);

}  // namespace kvsim::trace_impl
