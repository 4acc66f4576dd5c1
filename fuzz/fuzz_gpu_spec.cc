// libFuzzer target: GPU cards (models/spec/gpu_spec.cc parse_gpu_spec; models/specs/gpu/*.json). Input: card JSON
// text; a card that reads is written back and read again (to_json must agree) and its derived figures computed
// (clock, the calibrated model's FeatureCard, flops_for). A finding is anything but a clean return or a KvsimError,
// or a round trip that changes the card. Seeds: every card of the built-in catalog.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "models/cost/calibration.h"
#include "models/spec/gpu_spec.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"

namespace kvsim::embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& spec_files();
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    for (const auto& [name, text] : kvsim::embedded::spec_files()) {
      if (name.substr(0, 4) == "gpu/") kvsim_fuzz::write_file(dir / std::string(name.substr(4)), text);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kvsim::GpuSpec gpu;
  try {
    gpu = kvsim::parse_gpu_spec(kvsim::parse_json_text(kvsim_fuzz::text(data, size), "gpu.json"), "gpu.json");
  } catch (const kvsim::KvsimError&) {
    return 0;  // a rejected card: the expected outcome
  }
  const nlohmann::json card = kvsim::to_json(gpu);
  const nlohmann::json again = kvsim::to_json(kvsim::parse_gpu_spec(card, "round trip"));
  if (again != card) {
    std::fprintf(stderr, "GPU card round trip changed the card:\n%s\n%s\n", card.dump().c_str(), again.dump().c_str());
    std::abort();
  }
  (void)gpu.clock_Hz();
  // The calibrated backend's view of the card and the roofline's bf16 peak: both need dense_tflops.bf16, which a
  // card may lack (an fp16-only GPU, priced by the roofline with compute_dtype fp16), so without it they must fail
  // with a KvsimError naming the GPU and the dtypes it lists (found by the long run: a card listing only tf32).
  try {
    (void)kvsim::FeatureCard(gpu);
  } catch (const kvsim::KvsimError&) {
  }
  try {
    (void)gpu.flops_for("bf16");
  } catch (const kvsim::KvsimError&) {
  }
  return 0;
}
