// libFuzzer target: kvsim model cards (models/spec/llm_spec.cc parse_llm_spec; the files a scenario's `model` names
// and models/specs/llm/*.json). Input: card JSON text; a card that reads goes through check_model.h (round trip,
// derived sizes, KV layout). A finding is anything but a clean return or a KvsimError, or a round trip that
// changes the card. Seeds: every card of the built-in catalog.
#include <cstdlib>
#include <string>

#include "fuzz/check_model.h"
#include "fuzz/fuzz_util.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"

namespace kvsim::embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& spec_files();
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    for (const auto& [name, text] : kvsim::embedded::spec_files()) {
      if (name.substr(0, 4) == "llm/") kvsim_fuzz::write_file(dir / std::string(name.substr(4)), text);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const kvsim::LlmSpec spec =
        kvsim::parse_llm_spec(kvsim::parse_json_text(kvsim_fuzz::text(data, size), "card.json"), "card.json");
    kvsim_fuzz::check_model(spec);
  } catch (const kvsim::KvsimError&) {
    // a rejected card: the expected outcome
  }
  return 0;
}
