// vidur-csv: the processed traces of Vidur and Sarathi-Serve (data/processed_traces). Two CSV layouts:
//   arrived_at,num_prefill_tokens,num_decode_tokens                       splitwise_*.csv; arrived_at in seconds
//   num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio        ShareGPT / arXiv lengths, no arrivals
// The derived columns num_total_tokens and pd_ratio are not read.
#include "traces/impl/csv_reader.h"
#include "traces/impl/formats.h"

namespace kvsim::trace_impl {

namespace {

const CsvLayout kReplayLayout = {"arrived_at", "num_prefill_tokens", "num_decode_tokens"};
const CsvLayout kLengthLayout = {"num_prefill_tokens", "num_decode_tokens", "num_total_tokens", "pd_ratio"};

class VidurCsvReader final : public CsvTraceReader {
 public:
  explicit VidurCsvReader(const std::filesystem::path& path)
      : CsvTraceReader("vidur-csv", path, {kReplayLayout, kLengthLayout}) {
    if (layout() == kReplayLayout) set_arrival_field("arrived_at");
  }

 private:
  bool parse_fields(const CsvRow& row, TraceRecord& out) override {
    if (has_arrivals()) out.arrival_ns = row.seconds_ns("arrived_at");
    out.prompt_tokens = row.length("num_prefill_tokens");
    out.output_tokens = row.length("num_decode_tokens");
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry vidur_csv_format() {
  return {"vidur-csv",
          "Vidur / Sarathi-Serve CSV: arrived_at (s),num_prefill_tokens,num_decode_tokens, or length-only "
          "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio (needs an arrival process)",
          "Agrawal et al., Vidur, MLSys 2024 (github.com/microsoft/vidur data/processed_traces); "
          "Sarathi-Serve, OSDI 2024 (github.com/microsoft/sarathi-serve)",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<VidurCsvReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
