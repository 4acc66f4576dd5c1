// Hand-made results.json documents (reports/RESULTS.md) for the report tests and the browser check.
#pragma once

#include <nlohmann/json.hpp>

namespace kvsim::test {

enum class SampleKind {
  kNormal,   // a plausible run of the reference scenario, every section present
  kHostile,  // the same, with strings that try to break out of HTML / <script> ("</script>", "<b>", "<!--")
  kMinimal,  // only kvsim_version and request counts: every optional section missing
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

}  // namespace kvsim::test
