// vidur-csv: the traces Vidur and Sarathi-Serve read (data/processed_traces). Three CSV layouts:
//   arrived_at,num_prefill_tokens,num_decode_tokens                       splitwise_*.csv; arrived_at in seconds
//   num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio        ShareGPT / arXiv lengths, no arrivals
//   Date,Time,PromptTokenCount,CompletionTokenCount                       the trace-replay generator's input
//                                                                         (vidur/request_generator/
//                                                                         trace_replay_request_generator.py)
// The derived columns num_total_tokens and pd_ratio are not read. In the replay layout Time is the arrival in
// seconds; Vidur replays the rows of one Date (its trace_request_generator_config_date), so a file must hold one
// date: a row of another date is an error naming its line (arrival times of two days would interleave).
// Vidur's own scaling and clipping (prefill/decode scale factors, at least one token, max_tokens) are its options,
// not the file's: kvsim reads the lengths as written (workload.time_scale scales arrivals).
#include <string>

#include <fmt/format.h>

#include "traces/impl/csv_reader.h"
#include "traces/impl/formats.h"

namespace kvsim::trace_impl {

namespace {

const CsvLayout kArrivalLayout = {"arrived_at", "num_prefill_tokens", "num_decode_tokens"};
const CsvLayout kLengthLayout = {"num_prefill_tokens", "num_decode_tokens", "num_total_tokens", "pd_ratio"};
const CsvLayout kReplayLayout = {"Date", "Time", "PromptTokenCount", "CompletionTokenCount"};

class VidurCsvReader final : public CsvTraceReader {
 public:
  explicit VidurCsvReader(const std::filesystem::path& path)
      : CsvTraceReader("vidur-csv", path, {kArrivalLayout, kLengthLayout, kReplayLayout}) {
    if (layout() == kArrivalLayout) set_arrival_field("arrived_at");
    if (layout() == kReplayLayout) set_arrival_field("Time");
  }

 private:
  bool parse_fields(const CsvRow& row, TraceRecord& out) override {
    if (layout() == kReplayLayout) {
      check_date(row);
      out.arrival_ns = row.seconds_ns("Time");
      out.prompt_tokens = row.length("PromptTokenCount");
      out.output_tokens = row.length("CompletionTokenCount");
      return true;
    }
    if (has_arrivals()) out.arrival_ns = row.seconds_ns("arrived_at");
    out.prompt_tokens = row.length("num_prefill_tokens");
    out.output_tokens = row.length("num_decode_tokens");
    return true;
  }

  void check_date(const CsvRow& row) {
    const std::string_view date = row.text("Date");
    if (date.empty()) throw_trace_error(row.pos(), "Date", "is empty", "the date of the replayed day");
    if (first_date_.empty()) {
      first_date_ = std::string(date);
      first_line_ = row.pos().line;
    } else if (date != first_date_) {
      throw_trace_error(row.pos(), "Date",
                        fmt::format("'{}' differs from '{}' of line {}: Vidur replays the rows of one date (its "
                                    "trace_request_generator_config_date), and Time restarts each day",
                                    date, first_date_, first_line_),
                        "one date per file: keep the rows of the day to replay");
    }
  }

  std::string first_date_;
  std::int64_t first_line_ = 0;
};

}  // namespace

TraceFormatRegistry::Entry vidur_csv_format() {
  return {"vidur-csv",
          "Vidur / Sarathi-Serve CSV: arrived_at (s),num_prefill_tokens,num_decode_tokens; Vidur's trace replay "
          "Date,Time (s),PromptTokenCount,CompletionTokenCount (one date); or length-only "
          "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio (needs an arrival process)",
          "Agrawal et al., Vidur, MLSys 2024 (github.com/microsoft/vidur data/processed_traces); "
          "Sarathi-Serve, OSDI 2024 (github.com/microsoft/sarathi-serve)",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<VidurCsvReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
