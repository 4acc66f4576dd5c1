// burstgpt: BurstGPT traces (ChatGPT / GPT-4 traffic on Azure OpenAI). Two CSV layouts:
//   BurstGPT_1/_2:  Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
//   BurstGPT_3+:    Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
// Timestamp is in seconds. Rows with 0 request or 0 response tokens are requests that failed at the source
// (BurstGPT's "_without_fails_" files drop exactly these); they are skipped and counted in skipped_rows().
#include <fmt/format.h>

#include "traces/impl/csv_reader.h"
#include "traces/impl/formats.h"

namespace kvsim::trace_impl {

namespace {

const CsvLayout kLayoutV1 = {"Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type"};
const CsvLayout kLayoutV3 = {"Timestamp",      "Session ID",      "Elapsed time", "Model",
                             "Request tokens", "Response tokens", "Total tokens", "Log Type"};

class BurstGptReader final : public CsvTraceReader {
 public:
  explicit BurstGptReader(const std::filesystem::path& path) : CsvTraceReader("burstgpt", path, {kLayoutV1, kLayoutV3}) {
    set_arrival_field("Timestamp");
  }

 private:
  bool parse_fields(const CsvRow& row, TraceRecord& out) override {
    out.arrival_ns = row.seconds_ns("Timestamp");
    const std::int64_t request = row.count("Request tokens");
    const std::int64_t response = row.count("Response tokens");
    // Every row of the dataset has Total = Request + Response and one of two log types: a row that breaks either
    // was cut short or corrupted (a truncated last line), not a request to replay.
    const std::int64_t total = row.count("Total tokens");
    if (total != request + response) {
      throw_trace_error(row.pos(), "Total tokens", fmt::format("{} is not Request tokens + Response tokens ({})",
                                                               total, request + response),
                        "their sum (a row cut short or corrupted otherwise)");
    }
    const std::string_view log_type = row.text("Log Type");
    if (log_type != "Conversation log" && log_type != "API log") {
      throw_trace_error(row.pos(), "Log Type", fmt::format("'{}' is not a log type", log_type),
                        "'Conversation log' or 'API log'");
    }
    if (request == 0 || response == 0) return false;  // failed request at the source: skipped, counted
    out.prompt_tokens = request;
    out.output_tokens = response;
    if (row.has_column("Session ID")) out.session_id = std::string(row.text("Session ID"));
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry burstgpt_format() {
  return {"burstgpt",
          "BurstGPT CSV (Timestamp s, [Session ID, Elapsed time,] Model, Request/Response/Total tokens, Log Type); "
          "failed rows with 0 tokens are skipped and counted",
          "Wang et al., BurstGPT: A Real-World Workload Dataset to Optimize LLM Serving Systems, KDD 2025; "
          "github.com/HPMLL/BurstGPT",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<BurstGptReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
