// Base of the JSON-lines trace formats (one JSON object per line). The constructor peeks at the first object
// and checks that it has the format's signature key, so a file in another format is refused at open time
// (that is also how detect_trace_format() tells formats apart). Rows are handed to the format as a JsonRow with
// strict, typed field access; unknown keys are rejected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "traces/impl/file_reader.h"

namespace kvsim::trace_impl {

// One JSON object read from one line, with strictly typed access; errors name the line and the key.
class JsonRow {
 public:
  JsonRow(std::string_view line, const SourcePos& at);  // throws unless the line is one JSON object

  bool has(std::string_view key) const;
  TokenCount length(std::string_view key) const;           // required integer >= 1
  SimTimeNs time_ns(std::string_view key, std::int64_t ns_per_unit) const;  // required number >= 0, in units
  std::vector<std::uint64_t> hash_ids(std::string_view key) const;  // required array of integers >= 0
  // Required array of integers >= 0; `what` names them in messages ("token ids").
  std::vector<std::uint64_t> ids(std::string_view key, std::string_view what) const;
  std::int64_t count(std::string_view key) const;           // required integer >= 0
  // Chunks of a prompt: [{"start": tokens, "tokens": n >= 1, "id": integer >= 0}, ...] in order, disjoint, inside
  // the prompt.
  std::vector<TraceRecord::Chunk> chunks(std::string_view key, TokenCount prompt_tokens) const;
  // A prompt's token ids (one per prompt token, else an error naming the counts), as chained per-token content ids
  // (traces/content_ids.h).
  std::vector<std::uint64_t> token_ids(std::string_view key, TokenCount prompt_tokens) const;
  std::string string(std::string_view key) const;          // required string

  // Throws naming the first key not in `known`, listing the valid keys.
  void reject_unknown_keys(std::initializer_list<std::string_view> known) const;

  const SourcePos& pos() const { return at_; }

 private:
  const nlohmann::json& value(std::string_view key, std::string_view expected) const;  // throws if absent

  nlohmann::json object_;
  SourcePos at_;
};

class JsonTraceReader : public FileTraceReader {
 protected:
  // `signature_key` must be in the first object; `layout` describes the format's keys for messages.
  JsonTraceReader(std::string format, const std::filesystem::path& path, std::string_view signature_key,
                  std::string_view layout);

  // Fills the record from one object; false skips the row (counted). See FileTraceReader::parse_row.
  virtual bool parse_object(const JsonRow& row, TraceRecord& out) = 0;

 private:
  bool parse_row(std::string_view line, const SourcePos& at, TraceRecord& out) final;
};

}  // namespace kvsim::trace_impl
