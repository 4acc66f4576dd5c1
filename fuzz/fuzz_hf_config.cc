// libFuzzer target: Hugging Face config.json files (models/spec/hf_config.cc hf_config_card, then parse_llm_spec:
// what a scenario's `model` path to a config.json goes through). Input: config JSON text; a model that reads goes
// through check_model.h (round trip, derived sizes, KV layout). A finding is anything but a clean return or a
// KvsimError. Seeds: a sample Llama config here; the configs under ../shared (tools/fuzz.sh).
#include <cstdlib>
#include <string>

#include "fuzz/check_model.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/samples.h"
#include "models/spec/hf_config.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    kvsim_fuzz::write_file(dir / "sample-config.json", kvsim_fuzz::sample_hf_config_json());
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const nlohmann::json config = kvsim::parse_json_text(kvsim_fuzz::text(data, size), "config.json");
    const kvsim::LlmSpec spec =
        kvsim::parse_llm_spec(kvsim::hf_config_card(config, "config.json", "fuzz-model"), "config.json");
    kvsim_fuzz::check_model(spec);
  } catch (const kvsim::KvsimError&) {
    // a rejected config: the expected outcome
  }
  return 0;
}
