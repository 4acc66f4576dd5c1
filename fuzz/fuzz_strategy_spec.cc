// libFuzzer target: the strategy syntax of `kv.strategy` and `engine.scheduler` ("snapkv:budget_tokens=2048+kivi-2",
// "sjf:predictor=oracle"; models/kv/strategy.h parse_strategy_string / parse_strategy_json).
// Input: byte 0 picks the model card, tensor parallelism and block size the strategies are composed for; the rest
// is the spec: a string, or JSON (a list, or an object {"name": ..., params}) when it starts with '[' or '{'. The
// specs go to compose_strategies() (the KV layout) and, when there is one, to the scheduler registry (its builder
// and one scheduler). A finding is anything but a clean return or a KvsimError.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "models/kv/strategy.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "sim/sched/scheduler.h"

namespace {

namespace fs = std::filesystem;

// Cards with different KV layouts: GQA, MLA, sliding windows, MoE, MHA.
constexpr const char* kModels[] = {"llama-3.1-8b", "deepseek-v3", "gemma-2-9b", "mixtral-8x7b", "llama-2-7b",
                                   "gemma-3-27b", "qwen3-30b-a3b", "llama-3.1-70b"};
constexpr int kTp[] = {1, 2, 4, 8};

std::vector<kvsim::StrategySpec> parse(const std::string& spec) {
  if (!spec.empty() && (spec.front() == '[' || spec.front() == '{')) {
    nlohmann::json value = nlohmann::json::parse(spec, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) {
      return kvsim::parse_strategy_json(value.is_object() ? nlohmann::json::array({value}) : value, "spec");
    }
  }
  return kvsim::parse_strategy_string(spec, "spec");
}

void write_seeds(const fs::path& dir) {
  int n = 0;
  const auto seed = [&](const std::string& spec) {
    kvsim_fuzz::write_file(dir / ("spec-" + std::to_string(n) + ".txt"), std::string(1, static_cast<char>(n % 64)) + spec);
    ++n;
  };
  const auto with_params = [&](const std::string& name, const std::vector<kvsim::ParamDoc>& params) {
    seed(name);
    std::string all;
    for (const kvsim::ParamDoc& p : params) {
      const std::string kv = p.name + "=" + p.default_value;
      seed(name + ":" + kv);
      all += (all.empty() ? "" : ",") + kv;
    }
    if (!all.empty()) seed(name + ":" + all);
  };
  for (const kvsim::KvStrategyEntry& e : kvsim::kv_strategies().entries()) with_params(e.name, e.params);
  for (const auto& e : kvsim::schedulers().entries()) with_params(e.name, e.params);
  for (const char* s : {"snapkv:budget_tokens=2048+kivi-2", "h2o+fp8", "streaming-llm:sink_tokens=4,window_tokens=1020",
                        "sjf:predictor=noisy,relative_error=0.3", R"([{"name": "snapkv", "budget_tokens": 1024}, "kivi-2"])",
                        R"({"name": "sjf", "predictor": "buckets", "bucket_bounds": [64, 512]})"}) {
    seed(s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const fs::path dir = kvsim_fuzz::seeds_dir(*argc, *argv); !dir.empty()) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const kvsim::LlmSpec& model = kvsim::Catalog::builtin().model(kModels[data[0] % 8], "fuzz");
  const int tp = kTp[(data[0] / 8) % 4];
  const kvsim::TokenCount block_size = (data[0] & 0x20) != 0 ? 16 : 32;
  std::vector<kvsim::StrategySpec> specs;
  try {
    specs = parse(kvsim_fuzz::text(data + 1, size - 1));
  } catch (const kvsim::KvsimError&) {
    return 0;
  }
  try {
    const kvsim::ComposedStrategy composed = kvsim::compose_strategies(specs, model, tp, block_size, "kv.strategy");
    (void)composed.resolved.dump();
  } catch (const kvsim::KvsimError&) {
  }
  if (specs.size() == 1) {
    try {
      const auto& entry = kvsim::schedulers().get(specs.front().name, "engine.scheduler");
      const kvsim::SchedulerFactory factory = entry.factory(specs.front().params, "engine.scheduler");
      (void)factory();
    } catch (const kvsim::KvsimError&) {
    }
  }
  return 0;
}
