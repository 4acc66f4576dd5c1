// Strict field parsing shared by every trace reader, and the one place that formats trace errors.
//
// Every error reads "<path>:<line>: <field> <problem>; expected <what is valid>". Parsers accept exactly the
// number and nothing else: "12abc", "", " 12" (inside quotes), "+3", "nan" and "inf" are errors, and so is a
// negative value (a minus sign is reported as "is negative", not as "not a number").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/types.h"

namespace kvsim::trace_impl {

// The ranges a trace's values must be in (beyond them a trace is corrupt, not a real workload).
inline constexpr TokenCount kMaxTraceTokens = TokenCount{1} << 30;  // prompt or output tokens of one request
inline constexpr double kMaxTraceSeconds = 1e9;                       // an arrival time or offset, seconds

// Where a value was read, for messages.
struct SourcePos {
  std::string_view path;
  std::int64_t line = 0;  // 1-based
};

// Throws KvsimError "<path>:<line>: <field> <problem>; expected <expected>".
[[noreturn]] void throw_trace_error(const SourcePos& at, std::string_view field, std::string_view problem,
                                    std::string_view expected);

// Splits one CSV line into fields. Double-quoted fields may contain commas and "" (an escaped quote);
// spaces around unquoted fields are trimmed. An unterminated quote is an error.
std::vector<std::string> split_csv_line(std::string_view line, const SourcePos& at);

// A whole non-negative decimal integer ("0", "4808").
std::int64_t parse_count(std::string_view text, const SourcePos& at, std::string_view field);

// A token length: an integer >= 1.
TokenCount parse_length(std::string_view text, const SourcePos& at, std::string_view field);

// A non-negative finite decimal number ("0.0", "4.314579", "1e-05").
double parse_nonnegative(std::string_view text, const SourcePos& at, std::string_view field);

// A non-negative number of seconds, converted to integer nanoseconds (units::s_to_ns).
SimTimeNs parse_seconds_ns(std::string_view text, const SourcePos& at, std::string_view field);

// Checks that a time already parsed (seconds, >= 0) is at most kMaxTraceSeconds.
void require_trace_seconds(double seconds, const SourcePos& at, std::string_view field);

// Checks that a token length already parsed as an integer is in [1, kMaxTraceTokens].
void require_length(std::int64_t value, const SourcePos& at, std::string_view field);

// Checks that `num_hashes` prefix-block hashes cover exactly `prompt_tokens` tokens in blocks of
// `block_tokens`: num_hashes == ceil(prompt_tokens / block_tokens). Prefix-reuse statistics and the prefix
// cache rely on it (the last block holds prompt_tokens − block_tokens·(num_hashes − 1) tokens).
void require_hash_coverage(std::size_t num_hashes, TokenCount prompt_tokens, TokenCount block_tokens,
                           const SourcePos& at, std::string_view field);

}  // namespace kvsim::trace_impl
