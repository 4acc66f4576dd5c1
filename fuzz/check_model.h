// What kvsim does with a model card that read, for the model-reading fuzz targets (fuzz_llm_spec, fuzz_hf_config):
// the card written back must read back the same (to_json / parse_llm_spec round trip, documented in
// models/spec/llm_spec.h), and its derived sizes and the full-precision KV layout (base_layout) must compute.
// Aborts with both cards printed when the round trip changes the card; KvsimError is the only exception it lets out.
#pragma once

#include "models/spec/llm_spec.h"

namespace kvsim_fuzz {

void check_model(const kvsim::LlmSpec& spec);

}  // namespace kvsim_fuzz
