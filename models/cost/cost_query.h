// One `kvsim cost` question and its answer, as a library call: the predicted time of one kernel launch on a GPU
// under a cost-model backend. The CLI (`kvsim cost`) and the Python module (`kvsim.cost`) both ask it here.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "models/cost/op.h"
#include "sim/core/param_reader.h"

namespace kvsim {

// The ops `kvsim cost` prices and the L2 modes of the calibrated and hybrid backends (KV dtypes: kProfileKvDtypes,
// models/profile/profile.h).
inline constexpr std::array<std::string_view, 4> kCostOps = {"decode-attention", "prefill-attention", "gemm",
                                                             "all-reduce"};
inline constexpr std::array<std::string_view, 2> kCostL2Modes = {"cold", "benchmark"};

// The ranges every caller is held to (the CLI's flag checks use the same constants).
struct CostLimits {
  static constexpr double kMaxBatch = 1e6;           // sequences
  static constexpr double kMaxTokens = 1 << 30;      // kv_len, isl, cached
  static constexpr int kMaxHeads = 4096;             // q_heads, kv_heads, head_dim
  static constexpr double kMaxGemmDim = 1 << 30;     // m, n, k
  static constexpr double kMaxBytes = 1e15;          // all-reduce message
  static constexpr int kMinGpus = 2, kMaxGpus = 64;  // all-reduce
};

struct CostQuery {
  std::string gpu;                  // catalog name (kvsim list gpus)
  std::string backend = "roofline"; // cost-model backend (kvsim list cost-models)
  std::string op;                   // decode-attention | prefill-attention | gemm | all-reduce
  double batch = 1, kv_len = 0, isl = 0, cached = 0;  // sequences; tokens per sequence
  int q_heads = 32, kv_heads = 8, head_dim = 128;      // per GPU
  std::string kv_dtype = "bf16";    // bf16 | fp16 | fp8 | int8 | int4 | int2
  double m = 0, n = 0, k = 0;       // GEMM shape
  double bytes = 0;                 // all-reduce message bytes
  int gpus = 2;                     // all-reduce GPUs
  // Backend inputs: paths resolved against the caller's folder; empty = not given.
  std::string calibration, profile, aiconfigurator;   // calibration may be "builtin"
  std::string framework = "vllm", version = "0.24.0"; // aiconfigurator's
  std::string l2_cache = "cold";                      // calibrated, hybrid: cold | benchmark
};

// Reads a query from keyword-style JSON (keys: CostQuery's field names; `gpu` and `op` required), every number
// checked against CostLimits and every name against its list; unknown keys are errors.
CostQuery read_cost_query(ParamReader& reader);

struct CostAnswer {
  std::string gpu;        // the GPU's catalog name
  CostEstimate estimate;  // seconds, FLOPs, bytes, what bounds it, where the number comes from
};

// Prices the query's op. Throws KvsimError for an unknown GPU or backend, a backend's missing or bad input, and an
// op without the shape it needs (decode-attention: kv_len > 0; prefill-attention: isl > 0; gemm: m, n, k > 0;
// all-reduce: bytes > 0); `flag` spells an input's name in messages ("--kv-len" or "kv_len").
CostAnswer answer_cost(const CostQuery& q, const std::filesystem::path& base_dir,
                       std::string (*flag)(const std::string& field));

// `kvsim cost --json`'s document.
nlohmann::json to_json(const CostAnswer& a, const CostQuery& q);

}  // namespace kvsim
