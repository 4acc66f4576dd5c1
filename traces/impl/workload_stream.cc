// Arrival replacement, request cap and time scaling of a request stream: see workload_stream.h.
#include "traces/impl/workload_stream.h"

#include "sim/core/units.h"

#include <cmath>

#include <fmt/format.h>

namespace kvsim::trace_impl {

namespace {

class TransformedStream final : public ITraceReader {
 public:
  TransformedStream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms)
      : inner_(std::move(inner)), t_(std::move(transforms)) {
    if (t_.arrivals) inner_->allow_unsorted_arrivals();
  }

  std::optional<TraceRecord> next() override {
    if (t_.max_requests && produced_ >= *t_.max_requests) return std::nullopt;
    std::optional<TraceRecord> record = inner_->next();
    if (!record) return std::nullopt;
    if (t_.arrivals) record->arrival_ns = t_.arrivals->next();
    if (t_.time_scale != 1.0) {
      record->arrival_ns = units::s_to_ns(units::ns_to_s(record->arrival_ns) * t_.time_scale);
      record->think_ns = units::s_to_ns(units::ns_to_s(record->think_ns) * t_.time_scale);
    }
    ++produced_;
    return record;
  }

  bool has_arrivals() const override { return t_.arrivals.has_value() || inner_->has_arrivals(); }

  std::string describe() const override {
    std::string text = inner_->describe();
    if (t_.arrivals) text += fmt::format("; arrivals: {}", t_.arrivals->describe());
    if (t_.max_requests) text += fmt::format("; first {} requests", *t_.max_requests);
    if (t_.time_scale != 1.0) text += fmt::format("; arrival times x{:g}", t_.time_scale);
    return text;
  }

  std::int64_t skipped_rows() const override { return inner_->skipped_rows(); }
  void allow_unsorted_arrivals() override { inner_->allow_unsorted_arrivals(); }

 private:
  std::unique_ptr<ITraceReader> inner_;
  StreamTransforms t_;
  std::int64_t produced_ = 0;
};

}  // namespace

std::unique_ptr<ITraceReader> transform_stream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms) {
  return std::make_unique<TransformedStream>(std::move(inner), std::move(transforms));
}

}  // namespace kvsim::trace_impl
