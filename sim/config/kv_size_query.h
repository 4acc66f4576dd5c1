// One `kvsim kv-size` question and its answer, as a library call: the KV-cache bytes of one request of `context`
// tokens under a strategy and, with a GPU, how many such requests fit. The CLI (`kvsim kv-size`) and the Python
// module (`kvsim.kv_size`) both ask it here, so they read the same ranges and give the same numbers.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/kv/kv_size.h"
#include "models/kv/strategy.h"
#include "models/spec/llm_spec.h"
#include "sim/core/param_reader.h"
#include "sim/core/types.h"

namespace kvsim {

// The ranges every caller is held to (the CLI's flag checks use the same constants).
struct KvSizeLimits {
  static constexpr TokenCount kMaxContext = TokenCount{1} << 30;  // tokens
  static constexpr int kMaxTensorParallel = 1024;
  static constexpr int kMaxBlockSize = 4096;                       // tokens per page, as engine.block_size
  static constexpr double kMinUtilization = 0.01, kMaxUtilization = 1.0;
  static constexpr double kMaxReserveGiB = 65536;                  // as engine.activation_reserve_GiB
  static constexpr TokenCount kMaxBatchedTokens = TokenCount{1} << 24;
};

struct KvSizeQuery {
  std::string model;               // catalog name, or a path to a model card / HF config.json (against base_dir)
  std::string strategy = "full";   // strategy string, e.g. "snapkv:budget_tokens=2048+kivi-2"
  TokenCount context = 0;          // tokens in the request, in [1, kMaxContext]
  std::string gpu;                 // empty: no capacity figures
  int tensor_parallel = 1;
  int block_size = 16;             // tokens per KV page
  double gpu_memory_utilization = 0.9;
  std::optional<double> activation_reserve_GiB;  // none: the estimate `kvsim run` makes
  TokenCount max_num_batched_tokens = 8192;
  bool chunked_prefill = true;
};

// Reads a query from keyword-style JSON (the keys are KvSizeQuery's field names; `model` and `context` required),
// every number checked against KvSizeLimits; unknown keys are errors. `reader`'s path names the caller in messages.
KvSizeQuery read_kv_size_query(ParamReader& reader);

struct KvSizeAnswer {
  std::shared_ptr<const LlmSpec> model;
  ComposedStrategy strategy;
  KvSizeReport report;
};

// How the caller spells each input in messages ("--tp" on the command line, "tensor_parallel" in Python).
struct KvSizeOptionNames {
  std::string model = "model", strategy = "strategy", gpu = "gpu", tensor_parallel = "tensor_parallel",
              chunked_prefill = "chunked_prefill", max_num_batched_tokens = "max_num_batched_tokens",
              context = "context";
};

// Answers the query: throws KvsimError naming the input for an unknown model, strategy or GPU, a tensor-parallel
// degree that does not divide the heads, a one-step prefill longer than max_num_batched_tokens, or weights that do
// not fit the GPU. Numbers are assumed in KvSizeLimits' ranges (read_kv_size_query and the CLI check them).
KvSizeAnswer answer_kv_size(const KvSizeQuery& q, const std::filesystem::path& base_dir,
                            const KvSizeOptionNames& names = {});

// `kvsim kv-size --json`'s document: the report (models/kv/kv_size.h's to_json) with the model, strategy, GPU and
// tensor-parallel degree; every *_bytes* figure is per GPU.
nlohmann::json to_json(const KvSizeAnswer& a, const KvSizeQuery& q);

}  // namespace kvsim
