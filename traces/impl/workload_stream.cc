// Arrival replacement, request cap and time scaling of a request stream: see workload_stream.h.
#include "traces/impl/workload_stream.h"

#include "sim/core/units.h"
#include "traces/random.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/error.h"

namespace kvsim::trace_impl {

namespace {

class TransformedStream final : public ITraceReader {
 public:
  TransformedStream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms)
      : inner_(std::move(inner)), t_(std::move(transforms)) {
    if (t_.arrivals) inner_->allow_unsorted_arrivals();
    double sum = 0;
    for (double s : t_.class_shares) cumulative_.push_back(sum += s);
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
    if (!t_.class_names.empty()) record->request_class = class_of(*record);
    ++produced_;
    return record;
  }

  std::uint8_t class_of(const TraceRecord& r) {
    if (!r.class_name.empty()) {
      const auto it = std::find(t_.class_names.begin(), t_.class_names.end(), r.class_name);
      if (it == t_.class_names.end()) {
        throw KvsimError(fmt::format("{}, line {}: class '{}' is not one of workload.classes ({})", describe(),
                                     r.source_line, r.class_name, fmt::join(t_.class_names, ", ")));
      }
      return static_cast<std::uint8_t>(it - t_.class_names.begin());
    }
    if (cumulative_.empty() || cumulative_.back() <= 0) return 0;
    const double u = class_rng_.uniform01() * cumulative_.back();
    std::size_t c = 0;
    while (c + 1 < cumulative_.size() && u >= cumulative_[c]) ++c;
    return static_cast<std::uint8_t>(c);
  }

  bool has_arrivals() const override { return t_.arrivals.has_value() || inner_->has_arrivals(); }

  std::string describe() const override {
    std::string text = inner_->describe();
    if (t_.arrivals) text += fmt::format("; arrivals: {}", t_.arrivals->describe());
    if (t_.max_requests) text += fmt::format("; first {} requests", *t_.max_requests);
    if (t_.time_scale != 1.0) text += fmt::format("; arrival times x{:g}", t_.time_scale);
    if (!t_.class_names.empty()) text += fmt::format("; {} request classes", t_.class_names.size());
    return text;
  }

  std::int64_t skipped_rows() const override { return inner_->skipped_rows(); }
  void allow_unsorted_arrivals() override { inner_->allow_unsorted_arrivals(); }

 private:
  std::unique_ptr<ITraceReader> inner_;
  StreamTransforms t_;
  std::vector<double> cumulative_;  // of the class shares
  Rng class_rng_{t_.seed, RngStream::kRequestClasses};
  std::int64_t produced_ = 0;
};

}  // namespace

std::unique_ptr<ITraceReader> transform_stream(std::unique_ptr<ITraceReader> inner, StreamTransforms transforms) {
  return std::make_unique<TransformedStream>(std::move(inner), std::move(transforms));
}

}  // namespace kvsim::trace_impl
