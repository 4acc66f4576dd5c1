// What a serving engine adds around the GPU's work, per engine version and deployment (`engine.profile`):
//  - CPU time per step (scheduling, input preparation, sampling and output bookkeeping), seconds:
//    step_s + step_per_seq_s x scheduled sequences + step_per_token_s x scheduled tokens; with asynchronous
//    scheduling (vLLM's AsyncScheduler, on by default since late 2025) the next step's CPU work runs while this
//    step's kernels run, so a step takes max(GPU, CPU), else GPU + CPU;
//  - CUDA graphs (vLLM's FULL_AND_PIECEWISE mode): a step of at most the largest captured size in tokens replays the
//    graph of the next captured size, its extra rows computed by every GEMM; a larger step runs eagerly and pays
//    eager_s_per_layer of kernel launches per layer;
//  - time outside the engine that a client sees (OpenAI-compatible server, HTTP, streaming): request_s +
//    tokenize_s_per_token x prompt tokens before the engine has the request, output_s after the engine emits a
//    token before the client has it (counted for the first and the last token: TTFT and E2E).
// One registry of named profiles (engine_profiles(), engine_profile.cc); each value is a parameter a scenario may
// override. "none" (the default) adds nothing: the engine as before profiles existed.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/param_reader.h"
#include "sim/core/registry.h"
#include "sim/core/types.h"

namespace kvsim {

struct EngineProfile {
  std::string name = "none";
  double step_s = 0, step_per_seq_s = 0, step_per_token_s = 0;  // seconds
  bool async_scheduling = false;
  bool cuda_graphs = false;
  std::vector<TokenCount> capture_sizes;  // ascending token counts with a captured graph
  double eager_s_per_layer = 0;           // seconds per layer of a step run without a graph
  double request_s = 0, tokenize_s_per_token = 0, output_s = 0;  // seconds outside the engine

  // The CPU time of a step scheduling `seqs` sequences and `tokens` tokens.
  double step_cpu_s(std::size_t seqs, TokenCount tokens) const {
    return step_s + step_per_seq_s * static_cast<double>(seqs) + step_per_token_s * static_cast<double>(tokens);
  }
  // The step's duration given its GPU time and CPU time.
  double step_seconds(double gpu_s, double cpu_s) const {
    return async_scheduling ? std::max(gpu_s, cpu_s) : gpu_s + cpu_s;
  }
  // Whether a step of `tokens` tokens replays a CUDA graph, and the graph's size (the smallest captured size >=
  // tokens); `tokens` when it runs eagerly.
  bool graphed(TokenCount tokens) const {
    return cuda_graphs && !capture_sizes.empty() && tokens <= capture_sizes.back();
  }
  TokenCount graph_tokens(TokenCount tokens) const;
  // Seconds between a request's arrival at the client and at the engine.
  double front_s(TokenCount prompt_tokens) const {
    return request_s + tokenize_s_per_token * static_cast<double>(prompt_tokens);
  }
  bool adds_time_outside_engine() const { return request_s > 0 || tokenize_s_per_token > 0 || output_s > 0; }
  // Whether steps take more than the GPU's work (CPU time per step, or CUDA graphs' padding and eager launches).
  bool adds_step_time() const { return cuda_graphs || step_s > 0 || step_per_seq_s > 0 || step_per_token_s > 0; }
  // Every value in force, for results.json.
  nlohmann::json to_json() const;
  // One line per term the profile uses, for the run's list of approximations.
  std::string describe() const;
};

// vLLM's default CUDA-graph capture sizes for `max_num_seqs` (vllm/config/vllm.py): 1, 2, 4, multiples of 8 below
// 256, then multiples of 16, up to min(2 x max_num_seqs, 512).
std::vector<TokenCount> vllm_capture_sizes(int max_num_seqs);

// A named profile: builds its values for an engine of `max_num_seqs` sequences.
using EngineProfileFactory = std::function<EngineProfile(int max_num_seqs)>;
using EngineProfileRegistry = Registry<EngineProfileFactory>;
const EngineProfileRegistry& engine_profiles();

// Reads `key` of `engine`: absent (the "none" profile), a profile name, or {"name": ..., <values to override>}.
// Errors name the key and list the profiles or the values.
EngineProfile read_engine_profile(ParamReader& engine, const std::string& key, int max_num_seqs);

}  // namespace kvsim
