// Engine speed: replays the full Azure LLM 2023 conversation trace (19,366 requests, 58 minutes) on
// Llama-3.1-8B / one H100 with full KV accounting, roofline cost model, under several schedulers and KV strategies.
// Reports wall time per replay plus requests, iterations and simulated seconds. Needs ../shared/traces.
// Strategies must not slow the replay by more than 30% against `full` (compare the medians of one run).
#include <benchmark/benchmark.h>

#include <string>

#include "sim/config/scenario.h"
#include "sim/engine/results.h"

namespace {

// The README's reference scenario: roofline pricing, as every figure of this benchmark before the calibrated
// default (the cost backend is its own axis: the `calibrated_default` case prices with kvsim's H100 calibration).
nlohmann::json azure_conv_scenario(const std::string& scheduler, const std::string& strategy,
                                   const std::string& backend = "roofline") {
  return nlohmann::json{{"model", "llama-3.1-8b"},
          {"hardware", {{"gpu", "h100-sxm"}, {"num_gpus", 1}, {"tensor_parallel", 1}}},
          {"engine", {{"scheduler", scheduler}, {"check_invariants", false}}},
          {"kv", {{"strategy", strategy}}},
          {"cost_model", {{"backend", backend}}},
          {"workload",
           {{"trace",
             {{"path", KVSIM_SHARED_DIR "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"},
              {"format", "azure-2023"}}}}},
          {"seed", 1}};
}

// The same trace replayed `replicas` times denser on that many replicas behind round-robin: each replica serves the
// single replica's rate, so the cluster does about the single replica's iterations; the difference in time is the
// cluster's own cost (routing, the shared clock).
void BM_ReplayAzureConvCluster(benchmark::State& state, int replicas) {
  nlohmann::json doc = azure_conv_scenario("vllm-v1", "full");
  doc["hardware"]["replicas"] = replicas;
  doc["hardware"]["num_gpus"] = replicas;
  doc["router"] = {{"policy", "round-robin"}};
  doc["workload"]["time_scale"] = 1.0 / replicas;
  double iterations = 0;
  for (auto _ : state) {
    kvsim::PreparedRun run = kvsim::prepare_run(doc, ".");
    kvsim::RunSummary summary;
    const nlohmann::json results = kvsim::run_prepared(run, {}, &summary);
    iterations = static_cast<double>(summary.iterations);
    benchmark::DoNotOptimize(results);
  }
  state.counters["iterations"] = iterations;
}

void BM_ReplayAzureConv(benchmark::State& state, const std::string& scheduler, const std::string& strategy,
                        const std::string& backend) {
  const nlohmann::json doc = azure_conv_scenario(scheduler, strategy, backend);
  double simulated_s = 0, requests = 0, iterations = 0;
  for (auto _ : state) {
    kvsim::PreparedRun run = kvsim::prepare_run(doc, ".");
    kvsim::RunSummary summary;
    const nlohmann::json results = kvsim::run_prepared(run, {}, &summary);
    simulated_s = summary.simulated_time_s;
    requests = static_cast<double>(summary.completed);
    iterations = static_cast<double>(summary.iterations);
    benchmark::DoNotOptimize(results);
  }
  state.counters["requests"] = requests;
  state.counters["iterations"] = iterations;
  state.counters["simulated_s"] = simulated_s;
}

}  // namespace

#define KVSIM_REPLAY_PRICED(name, scheduler, strategy, backend)                                         \
  BENCHMARK_CAPTURE(BM_ReplayAzureConv, name, std::string(scheduler), std::string(strategy), std::string(backend)) \
      ->Unit(benchmark::kMillisecond)                                                                      \
      ->UseRealTime()
#define KVSIM_REPLAY(name, scheduler, strategy) KVSIM_REPLAY_PRICED(name, scheduler, strategy, "roofline")

KVSIM_REPLAY(vllm_v1, "vllm-v1", "full");
BENCHMARK_CAPTURE(BM_ReplayAzureConvCluster, replicas_8, 8)->Unit(benchmark::kMillisecond)->UseRealTime();
KVSIM_REPLAY_PRICED(calibrated_default, "vllm-v1", "full", "calibrated");
KVSIM_REPLAY(prefill_first, "prefill-first", "full");
KVSIM_REPLAY(fp8, "vllm-v1", "fp8");
KVSIM_REPLAY(kivi_2, "vllm-v1", "kivi-2");
KVSIM_REPLAY(sliding_window, "vllm-v1", "sliding-window");
KVSIM_REPLAY(streaming_llm, "vllm-v1", "streaming-llm");
KVSIM_REPLAY(snapkv, "vllm-v1", "snapkv");
KVSIM_REPLAY(h2o, "vllm-v1", "h2o");
KVSIM_REPLAY(quest, "vllm-v1", "quest");
KVSIM_REPLAY(pyramidkv, "vllm-v1", "pyramidkv");
KVSIM_REPLAY(mixattention, "vllm-v1", "mixattention");
KVSIM_REPLAY(character_ai, "vllm-v1", "character-ai");
KVSIM_REPLAY(xkv, "vllm-v1", "xkv");
KVSIM_REPLAY(shadowkv, "vllm-v1", "shadowkv");
KVSIM_REPLAY(snapkv_kivi_2, "vllm-v1", "snapkv+kivi-2");

BENCHMARK_MAIN();
