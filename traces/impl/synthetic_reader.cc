// Synthetic request streams: see synthetic_reader.h.
#include "traces/impl/synthetic_reader.h"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "sim/core/units.h"
#include "traces/impl/arrival_clock.h"
#include "traces/synthetic.h"

namespace kvsim::trace_impl {

namespace {

class SyntheticReader final : public ITraceReader {
 public:
  SyntheticReader(ArrivalClock clock, std::unique_ptr<ILengthDistribution> prompt,
                  std::unique_ptr<ILengthDistribution> output, std::uint64_t seed,
                  std::optional<std::int64_t> num_requests, std::optional<SimTimeNs> duration_ns)
      : clock_(std::move(clock)),
        prompt_(std::move(prompt)),
        output_(std::move(output)),
        prompt_rng_(seed, RngStream::kPromptLengths),
        output_rng_(seed, RngStream::kOutputLengths),
        joint_(prompt_->rows() != nullptr && prompt_->rows() == output_->rows()),
        num_requests_(num_requests),
        duration_ns_(duration_ns) {}

  std::optional<TraceRecord> next() override {
    if (done_ || (num_requests_ && produced_ >= *num_requests_)) return std::nullopt;
    TraceRecord record;
    record.arrival_ns = clock_.next();
    if (duration_ns_ && record.arrival_ns >= *duration_ns_) {
      done_ = true;
      return std::nullopt;
    }
    if (joint_) {
      const LengthTable& rows = *prompt_->rows();
      const auto row = static_cast<std::size_t>(
          prompt_rng_.uniform_int(0, static_cast<std::int64_t>(rows.prompt_tokens.size()) - 1));
      record.prompt_tokens = rows.prompt_tokens[row];
      record.output_tokens = rows.output_tokens[row];
    } else {
      record.prompt_tokens = prompt_->sample(prompt_rng_);
      record.output_tokens = output_->sample(output_rng_);
    }
    ++produced_;
    return record;
  }

  bool has_arrivals() const override { return true; }

  std::string describe() const override {
    std::string bound;
    if (num_requests_) bound = fmt::format("{} requests", *num_requests_);
    if (duration_ns_) bound += fmt::format("{}{:g} s", bound.empty() ? "" : " or ", units::ns_to_s(*duration_ns_));
    return fmt::format("synthetic workload of {}: arrivals {}; prompt {}; output {}{}", bound, clock_.describe(),
                       prompt_->describe(), output_->describe(), joint_ ? " (prompt and output from one row)" : "");
  }

 private:
  ArrivalClock clock_;
  std::unique_ptr<ILengthDistribution> prompt_, output_;
  Rng prompt_rng_, output_rng_;
  bool joint_;
  std::optional<std::int64_t> num_requests_;
  std::optional<SimTimeNs> duration_ns_;
  std::int64_t produced_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ITraceReader> make_synthetic_reader(ParamReader& synthetic, std::uint64_t seed,
                                                    const std::filesystem::path& base_dir) {
  const auto num_requests = synthetic.get_optional<std::int64_t>("num_requests");
  const auto duration_s = synthetic.get_optional<double>("duration_s");
  synthetic.check(num_requests || duration_s, "num_requests",
                  "required key is missing; expected num_requests (a request count) and/or duration_s (seconds) "
                  "to bound the synthetic stream");
  if (num_requests) {
    synthetic.check(*num_requests >= 1, "num_requests", fmt::format("{} is not valid; expected an integer >= 1",
                                                                    *num_requests));
  }
  if (duration_s) {
    synthetic.check(std::isfinite(*duration_s) && *duration_s > 0, "duration_s",
                    fmt::format("{} is not valid; expected seconds > 0", *duration_s));
  }
  ParamReader arrival = synthetic.child("arrival");
  ParamReader prompt = synthetic.child("prompt_tokens");
  ParamReader output = synthetic.child("output_tokens");
  synthetic.finish();

  ArrivalClock clock(make_arrival_process(arrival), Rng(seed, RngStream::kArrivals));
  LengthTableCache tables;
  auto prompt_dist = make_length_distribution(prompt, {base_dir, LengthField::kPrompt, &tables});
  auto output_dist = make_length_distribution(output, {base_dir, LengthField::kOutput, &tables});
  std::optional<SimTimeNs> duration_ns;
  if (duration_s) duration_ns = units::s_to_ns(*duration_s);
  return std::make_unique<SyntheticReader>(std::move(clock), std::move(prompt_dist), std::move(output_dist), seed,
                                           num_requests, duration_ns);
}

}  // namespace kvsim::trace_impl
