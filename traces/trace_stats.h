// Statistics of a request stream, for `kvsim trace stats`.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "traces/trace_reader.h"

namespace kvsim {

struct LengthStats {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

struct TraceStats {
  std::int64_t requests = 0;
  bool has_arrivals = false;
  double duration_s = 0;            // last arrival − first arrival
  double rate_per_s = 0;            // requests / duration (0 if duration is 0)
  double interarrival_cv = 0;       // std/mean of inter-arrival gaps
  LengthStats prompt_tokens, output_tokens;
  std::int64_t total_prompt_tokens = 0, total_output_tokens = 0;
  bool has_prefix_hashes = false;
  double prefix_block_reuse = 0;    // fraction of hash blocks seen before (infinite cache), if hashes exist
  double prefix_token_reuse = 0;    // same, weighted by tokens covered
  std::int64_t skipped_rows = 0;    // source rows the reader skipped by a format rule (ITraceReader::skipped_rows)
};

// Consumes the reader. Memory grows with the number of requests (percentiles are exact, linearly interpolated
// between order statistics as numpy.percentile does). Prefix reuse assumes an infinite cache: a hash block
// counts as reused if any earlier request had the same id; token-weighted, a request's last block holds
// prompt_tokens − hash_block_tokens·(n − 1) tokens.
TraceStats compute_trace_stats(ITraceReader& reader);

nlohmann::json to_json(const TraceStats& stats);
std::string to_text(const TraceStats& stats);  // human-readable, one metric per line

}  // namespace kvsim
