// Engine profiles (see engine_profile.h).
#include "sim/engine/engine_profile.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim {

namespace {

// Values of a vLLM v1 engine of 2026: asynchronous scheduling (on by default since PR 27614), CUDA graphs in
// FULL_AND_PIECEWISE mode with the default capture sizes. The CPU and launch times are initial estimates, not fitted
// to measurements (kvsim calibrate --serving-runs is to fit them); a scenario overrides any of them.
EngineProfile vllm_v1(std::string name, int max_num_seqs) {
  EngineProfile p;
  p.name = std::move(name);
  p.step_s = 2e-3;
  p.step_per_seq_s = 2e-5;
  p.async_scheduling = true;
  p.cuda_graphs = true;
  p.capture_sizes = vllm_capture_sizes(max_num_seqs);
  p.eager_s_per_layer = 40e-6;
  return p;
}

// The documented parameters of a profile, with its values as defaults.
// vLLM 0.15 behind its OpenAI-compatible server (the inference-perf runs): 8.5 ms per request of client, HTTP and
// API server (fitted on the 31 inference-perf runs that are not overloaded: `tools/validate/inference_perf.py --fit 5`
// gives 8.1-8.9 ms per fold), 1 ms from a token's step to the streamed client.
EngineProfile vllm_015(int max_num_seqs) {
  EngineProfile p = vllm_v1("vllm-0.15", max_num_seqs);
  p.request_s = 0.0085;
  p.output_s = 1e-3;
  return p;
}
// vLLM 0.19 driven in-process (AsyncLLM, the LLMServingSim runs): nothing outside the engine.
EngineProfile vllm_019(int max_num_seqs) { return vllm_v1("vllm-0.19", max_num_seqs); }

std::vector<ParamDoc> profile_params(const EngineProfile& p) {
  const auto num = [](double v) { return fmt::format("{:g}", v); };
  const auto flag = [](bool v) { return std::string(v ? "true" : "false"); };
  return {{"step_s", "number", num(p.step_s), "CPU seconds per engine step"},
          {"step_per_seq_s", "number", num(p.step_per_seq_s), "CPU seconds per scheduled sequence per step"},
          {"step_per_token_s", "number", num(p.step_per_token_s), "CPU seconds per scheduled token per step"},
          {"async_scheduling", "bool", flag(p.async_scheduling), "a step's CPU work overlaps the GPU's: max(GPU, CPU)"},
          {"cuda_graphs", "bool", flag(p.cuda_graphs), "steps up to the largest capture size replay padded graphs"},
          {"capture_sizes", "list", p.cuda_graphs ? "vLLM's for engine.max_num_seqs" : "[]",
           "token counts with a captured graph, ascending"},
          {"eager_s_per_layer", "number", num(p.eager_s_per_layer), "launch seconds per layer of a step without a graph"},
          {"request_s", "number", num(p.request_s), "seconds per request before the engine has it (HTTP, API server)"},
          {"tokenize_s_per_token", "number", num(p.tokenize_s_per_token), "seconds per prompt token before the engine"},
          {"output_s", "number", num(p.output_s), "seconds from a token's step to the client (detokenise, stream)"}};
}

EngineProfileRegistry build_registry() {
  EngineProfileRegistry r("engine profile");
  r.add({"none", "nothing around the GPU's work but cost_model.iteration_overhead_s (kvsim's engine before profiles)",
         "kvsim", profile_params(EngineProfile{}), [](int) { return EngineProfile{}; }});
  r.add({"vllm-0.15",
         "vLLM 0.15 behind its OpenAI-compatible server, clients streaming over HTTP: async scheduling, CUDA graphs, "
         "8.5 ms per request outside the engine (client, HTTP and API server; fitted on the inference-perf runs)",
         "vLLM v0.15.1: vllm/v1/core/sched/async_scheduler.py, vllm/config/compilation.py (CUDAGraphMode "
         "FULL_AND_PIECEWISE), vllm/config/vllm.py (capture sizes); kubernetes-sigs/inference-perf client",
         profile_params(vllm_015(256)), vllm_015});
  r.add({"vllm-0.19",
         "vLLM 0.19 driven in-process (AsyncLLM, no HTTP): async scheduling, CUDA graphs, nothing outside the engine",
         "vLLM v0.19.0: vllm/v1/engine/async_llm.py, vllm/v1/core/sched/async_scheduler.py, "
         "vllm/config/compilation.py, vllm/config/vllm.py",
         profile_params(vllm_019(256)), vllm_019});
  return r;
}

}  // namespace

std::vector<TokenCount> vllm_capture_sizes(int max_num_seqs) {
  const TokenCount largest = std::min<TokenCount>(2 * static_cast<TokenCount>(max_num_seqs), 512);
  std::vector<TokenCount> sizes;
  for (const TokenCount s : {1, 2, 4}) {
    if (s <= largest) sizes.push_back(s);
  }
  for (TokenCount s = 8; s < 256 && s <= largest; s += 8) sizes.push_back(s);
  for (TokenCount s = 256; s <= largest; s += 16) sizes.push_back(s);
  return sizes;
}

TokenCount EngineProfile::graph_tokens(TokenCount tokens) const {
  if (!graphed(tokens)) return tokens;
  return *std::lower_bound(capture_sizes.begin(), capture_sizes.end(), tokens);
}

nlohmann::json EngineProfile::to_json() const {
  return {{"name", name},
          {"step_s", step_s},
          {"step_per_seq_s", step_per_seq_s},
          {"step_per_token_s", step_per_token_s},
          {"async_scheduling", async_scheduling},
          {"cuda_graphs", cuda_graphs},
          {"capture_sizes", capture_sizes},
          {"eager_s_per_layer", eager_s_per_layer},
          {"request_s", request_s},
          {"tokenize_s_per_token", tokenize_s_per_token},
          {"output_s", output_s}};
}

std::string EngineProfile::describe() const {
  std::vector<std::string> terms;
  if (step_s > 0 || step_per_seq_s > 0 || step_per_token_s > 0) {
    terms.push_back(fmt::format("engine CPU time per step {:g} s + {:g} s per sequence + {:g} s per token, {}", step_s,
                                step_per_seq_s, step_per_token_s,
                                async_scheduling ? "overlapping the GPU's work (async scheduling: a step takes "
                                                   "max(GPU, CPU), and a request arriving during a step is first "
                                                   "scheduled in the step after the next)"
                                                 : "after the GPU's work (a step takes GPU + CPU)"));
  }
  if (cuda_graphs && !capture_sizes.empty()) {
    terms.push_back(fmt::format("CUDA graphs: steps of at most {} tokens are padded to the next of {} captured sizes "
                                "(the GEMMs compute the padding), larger steps run eagerly at {:g} s per layer",
                                capture_sizes.back(), capture_sizes.size(), eager_s_per_layer));
  }
  if (adds_time_outside_engine()) {
    terms.push_back(fmt::format("outside the engine, {:g} s per request + {:g} s per prompt token before the engine "
                                "sees it, {:g} s after a token's step before the client has it (TTFT and E2E)",
                                request_s, tokenize_s_per_token, output_s));
  }
  if (terms.empty()) return "";
  return fmt::format("Engine profile {} (engine.profile; initial values, not fitted): {}.", name,
                     fmt::join(terms, "; "));
}

const EngineProfileRegistry& engine_profiles() {
  static const EngineProfileRegistry kRegistry = build_registry();
  return kRegistry;
}

EngineProfile read_engine_profile(ParamReader& engine, const std::string& key, int max_num_seqs) {
  const nlohmann::json* raw = engine.raw(key);
  std::string name = "none";
  nlohmann::json overrides = nlohmann::json::object();
  if (raw != nullptr && !raw->is_null()) {
    if (raw->is_string()) {
      name = raw->get<std::string>();
    } else if (raw->is_object() && raw->contains("name") && (*raw)["name"].is_string()) {
      overrides = *raw;
      name = overrides["name"].get<std::string>();
      overrides.erase("name");
    } else {
      engine.check(false, key, fmt::format("must be a profile name or {{\"name\": profile, <values to override>}}; "
                                           "profiles: {}",
                                           fmt::join(engine_profiles().names(), ", ")));
    }
  }
  EngineProfile p = engine_profiles().get(name, engine.full(key)).factory(max_num_seqs);
  ParamReader r(overrides, engine.full(key));
  p.step_s = r.get_in<double>("step_s", p.step_s, 0, 10, "seconds");
  p.step_per_seq_s = r.get_in<double>("step_per_seq_s", p.step_per_seq_s, 0, 10, "seconds");
  p.step_per_token_s = r.get_in<double>("step_per_token_s", p.step_per_token_s, 0, 10, "seconds");
  p.async_scheduling = r.get<bool>("async_scheduling", p.async_scheduling);
  p.cuda_graphs = r.get<bool>("cuda_graphs", p.cuda_graphs);
  if (r.has("capture_sizes")) {
    const nlohmann::json list = r.require<nlohmann::json>("capture_sizes");
    r.check(list.is_array(), "capture_sizes", "expected a list of token counts");
    p.capture_sizes.clear();
    for (const nlohmann::json& v : list) {
      r.check(v.is_number_integer(), "capture_sizes", "expected integers, got " + v.dump());
      p.capture_sizes.push_back(v.get<TokenCount>());
    }
    r.check(!p.capture_sizes.empty() && p.capture_sizes.front() >= 1 &&
                std::is_sorted(p.capture_sizes.begin(), p.capture_sizes.end()) &&
                std::adjacent_find(p.capture_sizes.begin(), p.capture_sizes.end()) == p.capture_sizes.end(),
            "capture_sizes", "expected token counts >= 1 in ascending order, without repeats");
  }
  p.eager_s_per_layer = r.get_in<double>("eager_s_per_layer", p.eager_s_per_layer, 0, 10, "seconds");
  p.request_s = r.get_in<double>("request_s", p.request_s, 0, 10, "seconds");
  p.tokenize_s_per_token = r.get_in<double>("tokenize_s_per_token", p.tokenize_s_per_token, 0, 10, "seconds");
  p.output_s = r.get_in<double>("output_s", p.output_s, 0, 10, "seconds");
  r.finish();
  for (const double v : {p.step_s, p.step_per_seq_s, p.step_per_token_s, p.eager_s_per_layer, p.request_s,
                         p.tokenize_s_per_token, p.output_s}) {
    engine.check(std::isfinite(v) && v < 3600, key, "its times must be finite seconds below an hour");
  }
  return p;
}

}  // namespace kvsim
