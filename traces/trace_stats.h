// Statistics of a request stream, for `kvsim trace stats`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  // Prefix reuse as a cache sees it, in the trace's own blocks, lookups in arrival order: a request hits the longest
  // run of its leading blocks that is cached. Ideal: an infinite cache. LRU curve: a cache of capacity_blocks
  // blocks, least recently used evicted first, every request's blocks used (its last block first, so a prefix
  // outlives its continuations) after its lookup.
  double ideal_block_hit_rate = 0;
  std::int64_t distinct_blocks = 0;
  struct CurvePoint {
    std::int64_t capacity_blocks = 0;
    double block_hit_rate = 0;
  };
  std::vector<CurvePoint> lru_curve;
  std::int64_t skipped_rows = 0;    // source rows the reader skipped by a format rule (ITraceReader::skipped_rows)
};

// Consumes the reader. Memory grows with the number of requests (percentiles are exact, linearly interpolated
// between order statistics as numpy.percentile does) and with their prefix hashes. Prefix reuse assumes an infinite
// cache: a hash block counts as reused if any earlier request had the same id; token-weighted, a request's last
// block holds prompt_tokens − hash_block_tokens·(n − 1) tokens. `cache_blocks`: capacities of the LRU curve (empty:
// 12 log-spaced ones up to the trace's distinct blocks).
TraceStats compute_trace_stats(ITraceReader& reader, const std::vector<std::int64_t>& cache_blocks = {});

nlohmann::json to_json(const TraceStats& stats);
std::string to_text(const TraceStats& stats);  // human-readable, one metric per line

}  // namespace kvsim
