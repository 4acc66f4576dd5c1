// Helpers shared by the KV layout and strategy tests: a strategy string composed for a catalog model.
#pragma once

#include <string>

#include "models/kv/strategy.h"
#include "models/spec/catalog.h"

namespace kvsim::testing {

// `spec` (a kv.strategy string) composed for `model` at tensor parallelism `tp`, pages of 16 tokens.
inline ComposedStrategy compose(const std::string& spec, const std::string& model = "llama-3.1-8b", int tp = 1) {
  return compose_strategies(parse_strategy_string(spec, "test"), Catalog::builtin().model(model, "test"), tp, 16,
                            "test");
}

}  // namespace kvsim::testing
