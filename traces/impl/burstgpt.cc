// burstgpt: BurstGPT traces (ChatGPT / GPT-4 traffic on Azure OpenAI). Two CSV layouts:
//   BurstGPT_1/_2:  Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
//   BurstGPT_3+:    Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
// Timestamp is in seconds. Rows with 0 request or 0 response tokens are requests that failed at the source
// (BurstGPT's "_without_fails_" files drop exactly these); they are skipped and counted in skipped_rows().
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
