// llmservingsim: the workload files of LLMServingSim's vLLM bench (casys-kaist/LLMServingSim bench/workloads/
// *.jsonl), which real vLLM 0.19 runs replayed: one object per line with input_toks, output_toks, arrival_time_ns
// (from the first request), input_tok_ids (the prompt's token ids) and output_tok_ids (the dataset's reply). The
// prompt's token ids become chained per-token content ids (traces/content_ids.h), hashed per engine block as vLLM
// does. The reply's ids are read and checked but not used: the engine generated its own tokens (pinned lengths,
// ignore_eos), so a later prompt holding the dataset's reply does not match generated blocks.
#include "traces/impl/formats.h"
#include "traces/impl/json_reader.h"

namespace kvsim::trace_impl {

namespace {

class LlmServingSimReader final : public JsonTraceReader {
 public:
  explicit LlmServingSimReader(const std::filesystem::path& path)
      : JsonTraceReader("llmservingsim", path, "input_tok_ids",
                        "the keys input_toks, output_toks, arrival_time_ns, input_tok_ids, output_tok_ids") {
    set_arrival_field("arrival_time_ns");
  }

 private:
  bool parse_object(const JsonRow& row, TraceRecord& out) override {
    row.reject_unknown_keys({"input_toks", "output_toks", "arrival_time_ns", "input_tok_ids", "output_tok_ids"});
    out.arrival_ns = row.time_ns("arrival_time_ns", 1);
    out.prompt_tokens = row.length("input_toks");
    out.output_tokens = row.length("output_toks");
    out.hash_ids = row.token_ids("input_tok_ids", out.prompt_tokens);
    out.hash_block_tokens = 1;
    if (row.has("output_tok_ids")) row.ids("output_tok_ids", "the reply's token ids");
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry llmservingsim_format() {
  return {"llmservingsim",
          "LLMServingSim vLLM-bench workload JSONL {input_toks, output_toks, arrival_time_ns, input_tok_ids, "
          "output_tok_ids}",
          "github.com/casys-kaist/LLMServingSim bench/workloads (replayed by real vLLM 0.19 runs, "
          "../shared/serving-runs/llmservingsim-vllm-0.19)",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<LlmServingSimReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
