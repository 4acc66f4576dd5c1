// mooncake: Mooncake FAST'25 traces (conversation_trace.jsonl, synthetic_trace.jsonl, toolagent_trace.jsonl).
// One object per line: timestamp (ms since trace start), input_length, output_length, hash_ids (chained
// prefix-block hashes, one per 512-token block).
#include "traces/impl/formats.h"
#include "traces/impl/json_reader.h"

namespace kvsim::trace_impl {

namespace {

constexpr TokenCount kMooncakeBlockTokens = 512;  // FAST25-release/README: one hash id per 512-token block
constexpr std::int64_t kNsPerMs = 1'000'000;

class MooncakeReader final : public JsonTraceReader {
 public:
  explicit MooncakeReader(const std::filesystem::path& path)
      : JsonTraceReader("mooncake", path, "input_length",
                        "the keys timestamp (ms), input_length, output_length, hash_ids") {
    set_arrival_field("timestamp");
  }

 private:
  bool parse_object(const JsonRow& row, TraceRecord& out) override {
    row.reject_unknown_keys({"timestamp", "input_length", "output_length", "hash_ids"});
    out.arrival_ns = row.time_ns("timestamp", kNsPerMs);
    out.prompt_tokens = row.length("input_length");
    out.output_tokens = row.length("output_length");
    out.hash_ids = row.hash_ids("hash_ids");
    out.hash_block_tokens = kMooncakeBlockTokens;
    require_hash_coverage(out.hash_ids.size(), out.prompt_tokens, kMooncakeBlockTokens, row.pos(), "hash_ids");
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry mooncake_format() {
  return {"mooncake",
          "Mooncake FAST'25 JSONL {timestamp (ms), input_length, output_length, hash_ids (512-token blocks)}",
          "Qin et al., Mooncake: Trading More Storage for Less Computation, FAST 2025; "
          "github.com/kvcache-ai/Mooncake FAST25-release/traces",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<MooncakeReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
