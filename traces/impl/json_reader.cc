// JSON-lines trace reading: see json_reader.h.
#include "traces/impl/json_reader.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "traces/content_ids.h"

namespace kvsim::trace_impl {

namespace {
constexpr std::string_view kLengthExpected = "an integer >= 1 (tokens)";
constexpr std::string_view kTimeExpected = "a non-negative number";
}  // namespace

JsonRow::JsonRow(std::string_view line, const SourcePos& at) : at_(at) {
  try {
    object_ = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // syntax, or a number beyond a double's range
    throw_trace_error(at, "line", fmt::format("is not valid JSON ({})", e.what()), "one JSON object per line");
  }
  if (!object_.is_object()) {
    throw_trace_error(at, "line", fmt::format("is a JSON {}, not an object", object_.type_name()),
                      "one JSON object per line");
  }
}

bool JsonRow::has(std::string_view key) const { return object_.contains(key); }

const nlohmann::json& JsonRow::value(std::string_view key, std::string_view expected) const {
  const auto it = object_.find(key);
  if (it == object_.end()) throw_trace_error(at_, key, "is missing", expected);
  return *it;
}

TokenCount JsonRow::length(std::string_view key) const {
  const nlohmann::json& v = value(key, kLengthExpected);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<TokenCount>::max())) {
      throw_trace_error(at_, key, fmt::format("{} is out of range", u), kLengthExpected);
    }
  } else if (!v.is_number_integer()) {
    throw_trace_error(at_, key, fmt::format("{} is not an integer", v.dump()), kLengthExpected);
  }
  const auto n = v.get<std::int64_t>();
  require_length(n, at_, key);
  return n;
}

SimTimeNs JsonRow::time_ns(std::string_view key, std::int64_t ns_per_unit) const {
  const nlohmann::json& v = value(key, kTimeExpected);
  if (!v.is_number()) throw_trace_error(at_, key, fmt::format("{} is not a number", v.dump()), kTimeExpected);
  if (v.is_number_unsigned() || v.is_number_integer()) {
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0) {
      throw_trace_error(at_, key, fmt::format("{} is negative", v.dump()), kTimeExpected);
    }
    const auto n = v.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<SimTimeNs>::max() / ns_per_unit)) {
      throw_trace_error(at_, key, fmt::format("{} is out of range", n), kTimeExpected);
    }
    require_trace_seconds(static_cast<double>(n) * static_cast<double>(ns_per_unit) * 1e-9, at_, key);
    return static_cast<SimTimeNs>(n) * ns_per_unit;
  }
  const double d = v.get<double>();
  if (d < 0) throw_trace_error(at_, key, fmt::format("{} is negative", v.dump()), kTimeExpected);
  if (!std::isfinite(d) || d * static_cast<double>(ns_per_unit) >= 9.2e18) {
    throw_trace_error(at_, key, fmt::format("{} is out of range", v.dump()), kTimeExpected);
  }
  require_trace_seconds(d * static_cast<double>(ns_per_unit) * 1e-9, at_, key);
  return static_cast<SimTimeNs>(std::llround(d * static_cast<double>(ns_per_unit)));
}

std::vector<std::uint64_t> JsonRow::hash_ids(std::string_view key) const { return ids(key, "prefix-block hashes"); }

std::vector<std::uint64_t> JsonRow::token_ids(std::string_view key, TokenCount prompt_tokens) const {
  std::vector<std::uint64_t> tokens = ids(key, "the prompt's token ids");
  if (static_cast<TokenCount>(tokens.size()) != prompt_tokens) {
    throw_trace_error(at_, key, fmt::format("has {} ids for a {}-token prompt", tokens.size(), prompt_tokens),
                      fmt::format("one id per prompt token: {}", prompt_tokens));
  }
  chain_token_ids(tokens);
  return tokens;
}

std::vector<TraceRecord::Chunk> JsonRow::chunks(std::string_view key, TokenCount prompt_tokens) const {
  constexpr std::string_view kExpected =
      "an array of {\"start\": token, \"tokens\": n, \"id\": integer}, in prompt order, disjoint, inside the prompt";
  const nlohmann::json& v = value(key, kExpected);
  if (!v.is_array()) throw_trace_error(at_, key, fmt::format("is a JSON {}", v.type_name()), kExpected);
  std::vector<TraceRecord::Chunk> out;
  TokenCount end = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const nlohmann::json& c = v[i];
    const auto field = [&](const char* name, std::int64_t min) -> std::int64_t {
      if (!c.is_object() || !c.contains(name) || !c[name].is_number_integer() ||
          (!c[name].is_number_unsigned() && c[name].get<std::int64_t>() < min)) {
        throw_trace_error(at_, key, fmt::format("element {} ({}) has no valid \"{}\"", i, c.dump(), name), kExpected);
      }
      return c[name].get<std::int64_t>();
    };
    TraceRecord::Chunk chunk;
    chunk.start = field("start", 0);
    chunk.tokens = field("tokens", 1);
    chunk.id = static_cast<std::uint64_t>(field("id", 0));
    if (c.size() != 3) throw_trace_error(at_, key, fmt::format("element {} ({}) has other keys", i, c.dump()), kExpected);
    // tokens < 1: a count beyond 2^63 read back negative; start + tokens is not formed before it is known to fit.
    if (chunk.start < end || chunk.tokens < 1 || chunk.start > prompt_tokens - chunk.tokens) {
      throw_trace_error(at_, key,
                        fmt::format("element {} (tokens {} to {}) overlaps the one before or leaves the {}-token "
                                    "prompt",
                                    i, chunk.start, static_cast<double>(chunk.start) + chunk.tokens, prompt_tokens),
                        kExpected);
    }
    end = chunk.start + chunk.tokens;
    out.push_back(chunk);
  }
  return out;
}

std::int64_t JsonRow::count(std::string_view key) const {
  constexpr std::string_view kExpected = "an integer >= 0";
  const nlohmann::json& v = value(key, kExpected);
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) ||
      (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    throw_trace_error(at_, key, fmt::format("{} is not a non-negative integer", v.dump()), kExpected);
  }
  return v.get<std::int64_t>();
}

std::vector<std::uint64_t> JsonRow::ids(std::string_view key, std::string_view what) const {
  const std::string expected = fmt::format("an array of non-negative integers ({})", what);
  const std::string_view kHashExpected = expected;
  const nlohmann::json& v = value(key, kHashExpected);
  if (!v.is_array()) throw_trace_error(at_, key, fmt::format("is a JSON {}", v.type_name()), kHashExpected);
  std::vector<std::uint64_t> ids;
  ids.reserve(v.size());
  for (const nlohmann::json& id : v) {
    if (!id.is_number_unsigned()) {
      const bool negative = id.is_number_integer() || (id.is_number_float() && id.get<double>() < 0);
      throw_trace_error(at_, key,
                        fmt::format("element {} ({}) is {}", ids.size(), id.dump(),
                                    negative ? "negative" : "not an integer"),
                        kHashExpected);
    }
    ids.push_back(id.get<std::uint64_t>());
  }
  return ids;
}

std::string JsonRow::string(std::string_view key) const {
  const nlohmann::json& v = value(key, "a string");
  if (!v.is_string()) throw_trace_error(at_, key, fmt::format("{} is not a string", v.dump()), "a string");
  return v.get<std::string>();
}

void JsonRow::reject_unknown_keys(std::initializer_list<std::string_view> known) const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || it.key() == k;
    if (!ok) {
      throw_trace_error(at_, fmt::format("key '{}'", it.key()), "is not part of this format",
                        fmt::format("only the keys {}", fmt::join(known, ", ")));
    }
  }
}

JsonTraceReader::JsonTraceReader(std::string format, const std::filesystem::path& path,
                                 std::string_view signature_key, std::string_view layout)
    : FileTraceReader(std::move(format), path) {
  const auto first = lines().peek();
  if (!first) return;  // an empty file is an empty trace
  const JsonRow row(*first, lines().pos());
  if (!row.has(signature_key)) {
    throw_trace_error(lines().pos(), "first object",
                      fmt::format("has no '{}' key, so it is not a {} trace", signature_key, this->format()),
                      fmt::format("one JSON object per line with {}", layout));
  }
}

bool JsonTraceReader::parse_row(std::string_view line, const SourcePos& at, TraceRecord& out) {
  return parse_object(JsonRow(line, at), out);
}

}  // namespace kvsim::trace_impl
