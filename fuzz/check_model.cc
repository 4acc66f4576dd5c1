// Checks of a fuzzed model card: see check_model.h.
#include "fuzz/check_model.h"

#include <cstdio>
#include <cstdlib>

#include "models/kv/kv_layout.h"
#include "sim/core/error.h"

namespace kvsim_fuzz {

void check_model(const kvsim::LlmSpec& spec) {
  const nlohmann::json card = kvsim::to_json(spec);
  const nlohmann::json again = kvsim::to_json(kvsim::parse_llm_spec(card, "round trip"));
  if (again != card) {
    std::fprintf(stderr, "model card round trip changed the card:\n%s\n%s\n", card.dump().c_str(), again.dump().c_str());
    std::abort();
  }
  (void)spec.parameter_count();
  (void)spec.active_parameter_count();
  (void)spec.weight_bytes();
  (void)spec.routed_expert_parameter_count();
  (void)spec.kv_bytes_per_token();
  (void)spec.num_sliding_layers();
  for (const int tp : {1, 2, 8}) {
    try {
      (void)kvsim::base_layout(spec, tp, 16);
    } catch (const kvsim::KvsimError&) {
      // a tensor parallelism the model cannot take: the expected outcome
    }
  }
}

}  // namespace kvsim_fuzz
