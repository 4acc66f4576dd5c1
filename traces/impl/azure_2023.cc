// azure-2023: the Azure LLM inference trace 2023 (AzureLLMInferenceTrace_{code,conv}.csv).
// Columns TIMESTAMP (wall clock "YYYY-MM-DD HH:MM:SS.fffffff", no time zone), ContextTokens, GeneratedTokens.
#include <chrono>

#include <fmt/format.h>

#include "traces/impl/csv_reader.h"
#include "traces/impl/formats.h"

namespace kvsim::trace_impl {

namespace {

constexpr std::string_view kTimestampExpected =
    "a wall-clock time 'YYYY-MM-DD HH:MM:SS' with an optional fraction of up to 9 digits";

// Parses exactly "YYYY-MM-DD HH:MM:SS[.f{1,9}]" into nanoseconds since 1970-01-01 00:00:00 (the trace has no
// time zone; only differences matter). Integer arithmetic throughout, so 100-ns digits are kept exactly.
SimTimeNs parse_wall_clock_ns(std::string_view s, const SourcePos& at, std::string_view field) {
  auto bad = [&](std::string_view why) -> SimTimeNs {
    throw_trace_error(at, field, fmt::format("'{}' {}", s, why), kTimestampExpected);
  };
  auto digits = [&](std::size_t pos, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') bad("is not a timestamp");
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') {
    return bad("is not a timestamp");
  }
  const int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  std::int64_t fraction_ns = 0;
  if (s.size() > 19) {
    const std::size_t n = s.size() - 20;
    if (s[19] != '.' || n == 0 || n > 9) return bad("has a malformed fraction of a second");
    fraction_ns = digits(20, n);
    for (std::size_t i = n; i < 9; ++i) fraction_ns *= 10;
  }
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return bad("is not a valid date");
  // 1970 to 2200: nanoseconds since 1970 fit in 64 bits (to 2262), and no real trace is older.
  if (year < 1970 || year > 2200) return bad("is not between the years 1970 and 2200");
  if (hour > 23 || minute > 59 || second > 59) return bad("is not a valid time of day");
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const std::int64_t seconds = ((days * 24 + hour) * 60 + minute) * 60 + second;
  return seconds * 1'000'000'000 + fraction_ns;
}

class Azure2023Reader final : public CsvTraceReader {
 public:
  explicit Azure2023Reader(const std::filesystem::path& path)
      : CsvTraceReader("azure-2023", path, {{"TIMESTAMP", "ContextTokens", "GeneratedTokens"}}) {
    set_arrival_field("TIMESTAMP");
  }

 private:
  bool parse_fields(const CsvRow& row, TraceRecord& out) override {
    out.arrival_ns = parse_wall_clock_ns(row.text("TIMESTAMP"), row.pos(), "TIMESTAMP");
    out.prompt_tokens = row.length("ContextTokens");
    out.output_tokens = row.length("GeneratedTokens");
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry azure_2023_format() {
  return {"azure-2023",
          "Azure LLM inference trace 2023, CSV TIMESTAMP,ContextTokens,GeneratedTokens (wall-clock arrivals)",
          "Patel et al., Splitwise, ISCA 2024; github.com/Azure/AzurePublicDataset (AzureLLMInferenceDataset2023.md)",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<Azure2023Reader>(path);
          }};
}

}  // namespace kvsim::trace_impl
