// Hand-made results.json documents (reports/RESULTS.md) for the report tests and the browser check.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

namespace kvsim::test {

enum class SampleKind {
  kNormal,   // a plausible run of the reference scenario, every section present
  kHostile,  // the same, with strings that try to break out of HTML / <script> ("</script>", "<b>", "<!--")
  kMinimal,  // only kvsim_version and request counts: every optional section missing
  kCluster,  // kNormal as a cluster of two replicas: summary.cluster and replica_timelines
  kClusterMany,  // the same with eight replicas: per-replica timelines as small multiples
};

nlohmann::json sample_results(SampleKind kind = SampleKind::kNormal);

// Hand-made comparison.json documents (reports/RESULTS.md, "comparison.json"): variants derived from the normal
// sample with each strategy's memory, latency and throughput effects scaled in.
enum class ComparisonKind {
  kNormal,   // three variants: full (baseline), fp8, kivi-2 (with reported quality)
  kHostile,  // the same, with names, descriptions, folders and reported quality that try to break out of HTML
  kMany,     // ten variants: the colour palette goes round
  kMinimal,  // two variants, one with null results and one with an empty results document
};

nlohmann::json sample_comparison(ComparisonKind kind = ComparisonKind::kNormal);

// String helpers of the report tests: occurrences of `needle` (overlapping), ASCII lower case.
inline std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace kvsim::test
