// libFuzzer target: `engine.profile` (sim/engine/engine_profile.cc read_engine_profile): a profile name or an object
// {"name": ..., <values to override>}. Input: byte 0 sets max_num_seqs (1 to 256), the rest is the JSON value of the
// key; a profile that reads is used as the engine uses it (graph sizes, step times, to_json, describe). A finding
// is anything but a clean return or a KvsimError. Seeds: every registered profile, bare and with overrides.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/engine/engine_profile.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const auto dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    int n = 0;
    for (const std::string& name : kvsim::engine_profiles().names()) {
      const nlohmann::json bare = name;
      kvsim_fuzz::write_file(dir / ("profile-" + std::to_string(n++)), std::string(1, '\x3f') + bare.dump());
      const nlohmann::json over = {{"name", name}, {"step_s", 1e-4}, {"cuda_graphs", true},
                                   {"capture_sizes", {1, 2, 4, 8, 512}}, {"output_s", 0.002}};
      kvsim_fuzz::write_file(dir / ("profile-" + std::to_string(n++)), std::string(1, '\x07') + over.dump());
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int max_num_seqs = 1 + data[0];
  try {
    nlohmann::json engine = nlohmann::json::object();
    engine["profile"] = kvsim::parse_json_text(kvsim_fuzz::text(data + 1, size - 1), "engine.profile");
    kvsim::ParamReader reader(engine, "engine");
    const kvsim::EngineProfile p = kvsim::read_engine_profile(reader, "profile", max_num_seqs);
    reader.finish();
    for (const kvsim::TokenCount tokens : {1, 7, 256, 8192}) {
      if (p.graphed(tokens)) (void)p.graph_tokens(tokens);
      (void)p.step_seconds(1e-3, p.step_cpu_s(static_cast<std::size_t>(max_num_seqs), tokens));
      (void)p.front_s(tokens);
    }
    (void)p.to_json().dump();
    (void)p.describe();
  } catch (const kvsim::KvsimError&) {
    // a rejected value: the expected outcome
  }
  return 0;
}
