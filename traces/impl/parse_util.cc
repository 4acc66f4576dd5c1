// Strict field parsing shared by every trace reader: see parse_util.h.
#include "traces/impl/parse_util.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace kvsim::trace_impl {

namespace {

constexpr std::string_view kCountExpected = "a non-negative integer";
constexpr std::string_view kLengthExpected = "an integer >= 1 (tokens)";
constexpr std::string_view kNumberExpected = "a non-negative decimal number";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_decimal_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Reports why `text` is not a valid value: empty, negative, not an integer, or not a number at all.
[[noreturn]] void bad_number(std::string_view text, const SourcePos& at, std::string_view field,
                             std::string_view expected, bool want_integer) {
  if (text.empty()) throw_trace_error(at, field, "is empty", expected);
  if (text.front() == '-') throw_trace_error(at, field, fmt::format("'{}' is negative", text), expected);
  if (want_integer && is_decimal_number(text)) {
    throw_trace_error(at, field, fmt::format("'{}' is not an integer", text), expected);
  }
  throw_trace_error(at, field, fmt::format("'{}' is not a number", text), expected);
}

// Parses a whole decimal integer, or reports why `text` is not one.
std::int64_t parse_integer(std::string_view text, const SourcePos& at, std::string_view field,
                           std::string_view expected) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    throw_trace_error(at, field, fmt::format("'{}' is out of range", text), expected);
  }
  if (ec != std::errc() || ptr != end || text.empty() || text.front() == '-') {
    bad_number(text, at, field, expected, /*want_integer=*/true);
  }
  return value;
}

}  // namespace

void throw_trace_error(const SourcePos& at, std::string_view field, std::string_view problem,
                       std::string_view expected) {
  // The file's text quoted in `problem` may be anything: a few hundred bytes of it, control bytes escaped.
  throw KvsimError(fmt::format("{}:{}: {} {}; expected {}", at.path, at.line, quoted_input(field, 100),
                               quoted_input(problem, 300), expected));
}

std::vector<std::string> split_csv_line(std::string_view line, const SourcePos& at) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    std::string field;
    // Leading spaces before a quote are allowed and dropped.
    std::size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < line.size() && line[j] == '"') {
      ++j;
      bool closed = false;
      while (j < line.size()) {
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            field.push_back('"');
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        field.push_back(line[j++]);
      }
      if (!closed) {
        throw_trace_error(at, fmt::format("field {}", fields.size() + 1), "has an unterminated quote",
                          "a closing '\"'");
      }
      while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
      if (j < line.size() && line[j] != ',') {
        throw_trace_error(at, fmt::format("field {}", fields.size() + 1), "has text after its closing quote",
                          "a ',' after a quoted field");
      }
      fields.push_back(std::move(field));
      i = j;
    } else {
      std::size_t end = line.find(',', i);
      if (end == std::string_view::npos) end = line.size();
      fields.emplace_back(trim(line.substr(i, end - i)));
      i = end;
    }
    if (i >= line.size()) break;
    ++i;  // skip the comma; a trailing comma yields a final empty field
    if (i == line.size()) {
      fields.emplace_back();
      break;
    }
  }
  return fields;
}

std::int64_t parse_count(std::string_view text, const SourcePos& at, std::string_view field) {
  return parse_integer(text, at, field, kCountExpected);
}

TokenCount parse_length(std::string_view text, const SourcePos& at, std::string_view field) {
  const std::int64_t value = parse_integer(text, at, field, kLengthExpected);
  require_length(value, at, field);
  return value;
}

double parse_nonnegative(std::string_view text, const SourcePos& at, std::string_view field) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || text.front() == '-' || !std::isfinite(value)) {
    bad_number(text, at, field, kNumberExpected, /*want_integer=*/false);
  }
  return value;
}

SimTimeNs parse_seconds_ns(std::string_view text, const SourcePos& at, std::string_view field) {
  const double s = parse_nonnegative(text, at, field);
  require_trace_seconds(s, at, field);
  return units::s_to_ns(s);
}

void require_trace_seconds(double seconds, const SourcePos& at, std::string_view field) {
  if (!(seconds <= kMaxTraceSeconds)) {
    throw_trace_error(at, field, fmt::format("{:g} s is out of range", seconds),
                      fmt::format("a time of at most {:g} s (about 31 years)", kMaxTraceSeconds));
  }
}

void require_length(std::int64_t value, const SourcePos& at, std::string_view field) {
  if (value < 0) throw_trace_error(at, field, fmt::format("'{}' is negative", value), kLengthExpected);
  if (value < 1) throw_trace_error(at, field, fmt::format("'{}' is not a valid length", value), kLengthExpected);
  if (value > kMaxTraceTokens) {
    throw_trace_error(at, field, fmt::format("'{}' is out of range", value),
                      fmt::format("at most {} tokens (2^30, a hundred times the longest context of any model)",
                                  kMaxTraceTokens));
  }
}

void require_hash_coverage(std::size_t num_hashes, TokenCount prompt_tokens, TokenCount block_tokens,
                           const SourcePos& at, std::string_view field) {
  const auto needed = static_cast<std::size_t>((prompt_tokens + block_tokens - 1) / block_tokens);
  if (num_hashes != needed) {
    throw_trace_error(at, field,
                      fmt::format("has {} ids for a {}-token prompt", num_hashes, prompt_tokens),
                      fmt::format("ceil({} / {}) = {} ids, one per {}-token block", prompt_tokens, block_tokens,
                                  needed, block_tokens));
  }
}

}  // namespace kvsim::trace_impl
