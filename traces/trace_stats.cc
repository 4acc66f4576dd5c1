// Statistics of a request stream: see trace_stats.h.
#include "traces/trace_stats.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "sim/core/units.h"

namespace kvsim {

namespace {

// Percentile q in [0, 1] of sorted values, interpolating linearly between order statistics.
double percentile(const std::vector<TokenCount>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return static_cast<double>(sorted[lo]) + frac * static_cast<double>(sorted[hi] - sorted[lo]);
}

LengthStats length_stats(std::vector<TokenCount>& values, std::int64_t& total) {
  LengthStats s;
  total = 0;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  for (TokenCount v : values) total += v;
  s.mean = static_cast<double>(total) / static_cast<double>(values.size());
  s.p50 = percentile(values, 0.50);
  s.p90 = percentile(values, 0.90);
  s.p99 = percentile(values, 0.99);
  s.min = static_cast<double>(values.front());
  s.max = static_cast<double>(values.back());
  return s;
}

nlohmann::json length_json(const LengthStats& s) {
  return {{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"min", s.min}, {"max", s.max}};
}

std::string length_text(const LengthStats& s) {
  return fmt::format("mean {:.1f}  p50 {:g}  p90 {:g}  p99 {:g}  min {:g}  max {:g}", s.mean, s.p50, s.p90, s.p99,
                     s.min, s.max);
}

// Prefix-run hits in a cache of the given capacity (blocks; < 0: unlimited) over `requests` (each request's block
// ids, first block first), LRU: after its lookup, a request's blocks are used from last to first.
double prefix_hit_rate(const std::vector<std::vector<std::uint64_t>>& requests, std::int64_t capacity) {
  std::list<std::uint64_t> order;  // most recently used first
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  std::int64_t blocks = 0, hits = 0;
  for (const std::vector<std::uint64_t>& ids : requests) {
    std::size_t run = 0;
    while (run < ids.size() && where.count(ids[run]) != 0) ++run;
    hits += static_cast<std::int64_t>(run);
    blocks += static_cast<std::int64_t>(ids.size());
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      const auto found = where.find(*it);
      if (found != where.end()) {
        order.splice(order.begin(), order, found->second);
      } else {
        order.push_front(*it);
        where.emplace(*it, order.begin());
      }
    }
    while (capacity >= 0 && static_cast<std::int64_t>(order.size()) > capacity) {
      where.erase(order.back());
      order.pop_back();
    }
  }
  return blocks > 0 ? static_cast<double>(hits) / static_cast<double>(blocks) : 0.0;
}

// 12 capacities spaced geometrically from distinct / 2^11 to `distinct` (whole blocks, distinct values).
std::vector<std::int64_t> default_capacities(std::int64_t distinct) {
  std::vector<std::int64_t> out;
  for (int k = 11; k >= 0; --k) {
    const auto c = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(std::ldexp(distinct, -k))));
    if (out.empty() || c > out.back()) out.push_back(c);
  }
  return out;
}

}  // namespace

TraceStats compute_trace_stats(ITraceReader& reader, const std::vector<std::int64_t>& cache_blocks) {
  TraceStats stats;
  stats.has_arrivals = reader.has_arrivals();
  std::vector<TokenCount> prompts, outputs;
  // Inter-arrival gaps: running mean and variance (Welford), in seconds.
  std::int64_t gaps = 0;
  double gap_mean = 0, gap_m2 = 0;
  SimTimeNs first_ns = 0, last_ns = 0;
  // Prefix reuse with an infinite cache.
  std::unordered_set<std::uint64_t> seen;
  std::int64_t blocks = 0, reused_blocks = 0;
  TokenCount hashed_tokens = 0, reused_tokens = 0;
  std::vector<std::vector<std::uint64_t>> hashed;  // each request's ids, for the cache curves

  while (auto r = reader.next()) {
    if (stats.requests == 0) {
      first_ns = r->arrival_ns;
    } else {
      const double gap = units::ns_to_s(r->arrival_ns - last_ns);
      ++gaps;
      const double delta = gap - gap_mean;
      gap_mean += delta / static_cast<double>(gaps);
      gap_m2 += delta * (gap - gap_mean);
    }
    last_ns = r->arrival_ns;
    ++stats.requests;
    prompts.push_back(r->prompt_tokens);
    outputs.push_back(r->output_tokens);

    if (!r->hash_ids.empty()) hashed.push_back(r->hash_ids);
    const std::size_t n = r->hash_ids.size();
    for (std::size_t i = 0; i < n; ++i) {
      const TokenCount block_tokens =
          i + 1 < n ? r->hash_block_tokens
                    : r->prompt_tokens - r->hash_block_tokens * static_cast<TokenCount>(n - 1);
      ++blocks;
      hashed_tokens += block_tokens;
      if (!seen.insert(r->hash_ids[i]).second) {
        ++reused_blocks;
        reused_tokens += block_tokens;
      }
    }
  }

  stats.skipped_rows = reader.skipped_rows();
  if (stats.has_arrivals && stats.requests > 0) {
    stats.duration_s = units::ns_to_s(last_ns - first_ns);
    if (stats.duration_s > 0) stats.rate_per_s = static_cast<double>(stats.requests) / stats.duration_s;
    if (gaps > 0 && gap_mean > 0) stats.interarrival_cv = std::sqrt(gap_m2 / static_cast<double>(gaps)) / gap_mean;
  }
  stats.prompt_tokens = length_stats(prompts, stats.total_prompt_tokens);
  stats.output_tokens = length_stats(outputs, stats.total_output_tokens);
  stats.has_prefix_hashes = blocks > 0;
  if (blocks > 0) {
    stats.prefix_block_reuse = static_cast<double>(reused_blocks) / static_cast<double>(blocks);
    stats.prefix_token_reuse = static_cast<double>(reused_tokens) / static_cast<double>(hashed_tokens);
    stats.distinct_blocks = static_cast<std::int64_t>(seen.size());
    stats.ideal_block_hit_rate = prefix_hit_rate(hashed, -1);
    for (std::int64_t c : cache_blocks.empty() ? default_capacities(stats.distinct_blocks) : cache_blocks) {
      stats.lru_curve.push_back({c, prefix_hit_rate(hashed, c)});
    }
  }
  return stats;
}

nlohmann::json prefix_json(const TraceStats& s) {
  nlohmann::json curve = nlohmann::json::array();
  for (const TraceStats::CurvePoint& p : s.lru_curve) {
    curve.push_back({{"capacity_blocks", p.capacity_blocks}, {"block_hit_rate", p.block_hit_rate}});
  }
  return {{"ideal_block_hit_rate", s.ideal_block_hit_rate}, {"distinct_blocks", s.distinct_blocks},
          {"lru_curve", curve}};
}

nlohmann::json to_json(const TraceStats& s) {
  return {{"requests", s.requests},
          {"skipped_rows", s.skipped_rows},
          {"has_arrivals", s.has_arrivals},
          {"duration_s", s.duration_s},
          {"rate_per_s", s.rate_per_s},
          {"interarrival_cv", s.interarrival_cv},
          {"prompt_tokens", length_json(s.prompt_tokens)},
          {"output_tokens", length_json(s.output_tokens)},
          {"total_prompt_tokens", s.total_prompt_tokens},
          {"total_output_tokens", s.total_output_tokens},
          {"has_prefix_hashes", s.has_prefix_hashes},
          {"prefix_block_reuse", s.prefix_block_reuse},
          {"prefix_token_reuse", s.prefix_token_reuse},
          {"prefix_reuse", s.has_prefix_hashes ? prefix_json(s) : nlohmann::json(nullptr)}};
}

std::string to_text(const TraceStats& s) {
  std::string out;
  auto line = [&out](std::string_view name, const std::string& value) { out += fmt::format("{:<22}{}\n", name, value); };
  line("requests", fmt::format("{}", s.requests));
  line("skipped rows", s.skipped_rows > 0 ? fmt::format("{} (format rule, e.g. failed requests with 0 tokens)",
                                                        s.skipped_rows)
                                          : "0");
  if (s.has_arrivals) {
    line("duration", fmt::format("{:.3f} s", s.duration_s));
    line("rate", fmt::format("{:.3f} req/s", s.rate_per_s));
    line("inter-arrival CV", fmt::format("{:.3f}", s.interarrival_cv));
  } else {
    line("arrivals", "none (length-only trace; needs an arrival process)");
  }
  line("prompt tokens", length_text(s.prompt_tokens));
  line("output tokens", length_text(s.output_tokens));
  line("total prompt tokens", fmt::format("{}", s.total_prompt_tokens));
  line("total output tokens", fmt::format("{}", s.total_output_tokens));
  if (s.has_prefix_hashes) {
    line("prefix reuse (blocks)", fmt::format("{:.1f} % (infinite cache)", 100 * s.prefix_block_reuse));
    line("prefix reuse (tokens)", fmt::format("{:.1f} % (infinite cache)", 100 * s.prefix_token_reuse));
    line("prefix hits (blocks)", fmt::format("{:.1f} % of blocks, infinite cache, {} distinct blocks",
                                             100 * s.ideal_block_hit_rate, s.distinct_blocks));
    for (const TraceStats::CurvePoint& p : s.lru_curve) {
      line("", fmt::format("{:.1f} % in an LRU cache of {} blocks", 100 * p.block_hit_rate, p.capacity_blocks));
    }
  } else {
    line("prefix reuse", "n/a (no prefix hashes)");
  }
  return out;
}

}  // namespace kvsim
