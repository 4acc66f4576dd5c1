// jsonl: kvsim's own trace format, one object per line:
//   {"arrival_s": 0.0, "prompt_tokens": 100, "output_tokens": 20}
// with optional content: "hash_ids" (prefix-block hashes, together with "hash_block_tokens") or "token_ids" (the
// prompt's token ids, one per prompt token), and optional "session_id" and "turn".
// Every key is checked; an unknown key is an error (see traces/FORMAT.md).
#include <fmt/format.h>

#include "sim/core/units.h"
#include "traces/content_ids.h"
#include "traces/impl/formats.h"
#include "traces/impl/json_reader.h"

namespace kvsim::trace_impl {

namespace {

constexpr auto kNsPerS = static_cast<std::int64_t>(units::kNsPerS);

class JsonlReader final : public JsonTraceReader {
 public:
  explicit JsonlReader(const std::filesystem::path& path)
      : JsonTraceReader("jsonl", path, "prompt_tokens",
                        "the keys arrival_s, prompt_tokens, output_tokens and optionally hash_ids, "
                        "hash_block_tokens, token_ids, output_token_ids, chunks, session_id, turn, class") {
    set_arrival_field("arrival_s");
  }

 private:
  bool parse_object(const JsonRow& row, TraceRecord& out) override {
    row.reject_unknown_keys({"arrival_s", "prompt_tokens", "output_tokens", "hash_ids", "hash_block_tokens",
                             "token_ids", "output_token_ids", "chunks", "session_id", "turn", "class"});
    out.arrival_ns = row.time_ns("arrival_s", kNsPerS);
    out.prompt_tokens = row.length("prompt_tokens");
    out.output_tokens = row.length("output_tokens");
    if (row.has("token_ids")) {
      if (row.has("hash_ids") || row.has("hash_block_tokens")) {
        throw_trace_error(row.pos(), "token_ids", "is given with hash_ids",
                          "one kind of content: token_ids, or hash_ids with hash_block_tokens");
      }
      // Each token's id becomes its prefix's identity (chained), so that equal ids mean equal prefixes, as the
      // engine hashes a block with its parent's identity.
      out.hash_ids = row.token_ids("token_ids", out.prompt_tokens);
      out.hash_block_tokens = 1;
      if (row.has("output_token_ids")) {
        // The reply the engine generated, so that its blocks are cached too (a later prompt may hold it).
        std::vector<std::uint64_t> reply = row.ids("output_token_ids", "the reply's token ids");
        if (static_cast<TokenCount>(reply.size()) != out.output_tokens) {
          throw_trace_error(row.pos(), "output_token_ids",
                            fmt::format("has {} ids for {} output tokens", reply.size(), out.output_tokens),
                            fmt::format("one id per output token: {}", out.output_tokens));
        }
        chain_token_ids(reply, out.hash_ids.empty() ? kTokenChainRoot : out.hash_ids.back());
        out.output_content_ids = std::move(reply);
      }
    } else if (row.has("output_token_ids")) {
      throw_trace_error(row.pos(), "output_token_ids", "is given without token_ids",
                        "the prompt's token_ids with the reply's output_token_ids");
    } else if (row.has("hash_ids")) {
      out.hash_ids = row.hash_ids("hash_ids");
      out.hash_block_tokens = row.length("hash_block_tokens");
      require_hash_coverage(out.hash_ids.size(), out.prompt_tokens, out.hash_block_tokens, row.pos(), "hash_ids");
    } else if (row.has("hash_block_tokens")) {
      throw_trace_error(row.pos(), "hash_block_tokens", "is given without hash_ids",
                        "both hash_ids and hash_block_tokens, or neither");
    }
    if (row.has("chunks")) out.chunks = row.chunks("chunks", out.prompt_tokens);
    if (row.has("session_id")) out.session_id = row.string("session_id");
    if (row.has("class")) {
      out.class_name = row.string("class");
      if (out.class_name.empty()) throw_trace_error(row.pos(), "class", "is empty", "the name of a workload class");
    }
    if (row.has("turn")) {
      if (!row.has("session_id")) {
        throw_trace_error(row.pos(), "turn", "is given without session_id", "a turn of a session: both keys");
      }
      out.turn = row.count("turn");
    }
    return true;
  }
};

}  // namespace

TraceFormatRegistry::Entry jsonl_format() {
  return {"jsonl",
          "kvsim JSONL {arrival_s, prompt_tokens, output_tokens[, hash_ids + hash_block_tokens | token_ids, chunks, "
          "session_id, turn, class]}, strict",
          "kvsim traces/FORMAT.md",
          {},
          [](const std::filesystem::path& path) -> std::unique_ptr<ITraceReader> {
            return std::make_unique<JsonlReader>(path);
          }};
}

}  // namespace kvsim::trace_impl
