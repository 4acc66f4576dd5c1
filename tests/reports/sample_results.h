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

}  // namespace kvsim::test
