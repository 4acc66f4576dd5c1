// Engine speed: replays the full Azure LLM 2023 conversation trace (19,366 requests) on Llama-3.1-8B / one H100
// with full block accounting (vllm-v1 scheduler, roofline cost model). Reports wall time per replay and the
// simulated-to-wall time ratio. Needs ../shared/traces (skips with an error message otherwise).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "sim/config/scenario.h"
#include "sim/engine/results.h"

namespace {

nlohmann::json azure_conv_scenario(const std::string& scheduler) {
  return {{"model", "llama-3.1-8b"},
          {"hardware", {{"gpu", "h100-sxm"}, {"num_gpus", 1}, {"tensor_parallel", 1}}},
          {"engine", {{"scheduler", scheduler}, {"check_invariants", false}}},
          {"workload",
           {{"trace",
             {{"path", KVSIM_SHARED_DIR "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"},
              {"format", "azure-2023"}}}}},
          {"seed", 1}};
}

void BM_ReplayAzureConv(benchmark::State& state, const std::string& scheduler) {
  const nlohmann::json doc = azure_conv_scenario(scheduler);
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
  state.counters["requests_per_wall_s"] = benchmark::Counter(requests, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_ReplayAzureConv, vllm_v1, std::string("vllm-v1"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReplayAzureConv, prefill_first, std::string("prefill-first"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
