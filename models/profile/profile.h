// Measured kernel times of one GPU, in one format whatever their origin: kvsim's own profiler (kvsim-profile),
// published tables (aiconfigurator, Vidur) imported by models/profile/import_*.cc. Cost-model backends
// (measured, calibrated, hybrid) read these; nothing here depends on CUDA.
//
// Units: seconds (per call of one layer's kernel), tokens, bytes. Head counts and MoE expert widths are per GPU
// (already divided by TP).
// Each point keeps the source's row number so errors and reports can point back to it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

// One decode step of `batch` sequences, each reading `kv_len` cached tokens (incl. the new one) of KV.
struct DecodeAttentionPoint {
  std::int64_t batch = 0, kv_len = 0;
  int q_heads = 0, kv_heads = 0, head_dim = 0;
  std::string kv_dtype = "bf16";  // "bf16", "fp16", "fp8", "int8", "int4", "int2"
  double seconds = 0;
  std::int64_t source_row = 0;
  friend bool operator==(const DecodeAttentionPoint&, const DecodeAttentionPoint&) = default;
};

// Causal prefill of `batch` sequences of `isl` new tokens each on top of `cached` tokens (0 for most tables).
struct PrefillAttentionPoint {
  std::int64_t batch = 0, isl = 0, cached = 0;
  int q_heads = 0, kv_heads = 0, head_dim = 0;
  double seconds = 0;
  std::int64_t source_row = 0;
  std::string kv_dtype = "bf16";  // dtype the KV cache is written in (same vocabulary as decode)
  friend bool operator==(const PrefillAttentionPoint&, const PrefillAttentionPoint&) = default;
};

// C[m x n] = A[m x k] * B[k x n].
struct GemmPoint {
  std::int64_t m = 0, n = 0, k = 0;
  std::string dtype = "bf16";  // "bf16", "fp16", "fp8", "int8"
  double seconds = 0;
  std::int64_t source_row = 0;
  friend bool operator==(const GemmPoint&, const GemmPoint&) = default;
};

// One collective over `gpus` GPUs of one node: an all-reduce of a `bytes` buffer, or an all-to-all in which each GPU
// sends `bytes` in all (bytes / gpus to each GPU, itself included: nccl-tests' size).
struct CollectivePoint {
  double bytes = 0;
  int gpus = 0;
  double seconds = 0;
  std::int64_t source_row = 0;
  std::string dtype = "bf16";  // element type reduced: "bf16", "fp16", "fp32", "int8"
  friend bool operator==(const CollectivePoint&, const CollectivePoint&) = default;
};

// One fused-MoE layer's routed experts on one GPU: `tokens` tokens (all the layer's tokens: tensor parallelism gives
// every GPU all of them), each routed to `topk` of `experts` experts with balanced load, hidden size `hidden`,
// expert width `intermediate` PER GPU (the model's expert intermediate size / `tp`: tensor parallelism shards every
// expert, expert parallelism 1, all experts on every GPU). `seconds` covers the whole layer's fused experts call:
// token sort/permutation, the gate+up grouped GEMM, the gated activation, the down grouped GEMM and the top-k
// weighted sum; not the router GEMM nor the top-k selection (kvsim's gemm.moe_router).
struct MoePoint {
  std::int64_t tokens = 0;
  int hidden = 0, intermediate = 0, experts = 0, topk = 0;
  int tp = 1;                  // tensor-parallel degree measured (intermediate is already divided by it)
  std::string dtype = "bf16";  // expert weights and activations: "bf16", "fp16", "fp8", "int8"
  double seconds = 0;
  std::int64_t source_row = 0;
  friend bool operator==(const MoePoint&, const MoePoint&) = default;
};

struct Profile {
  std::string gpu;          // kvsim GPU card name: "h100-sxm"
  std::string device_name;  // as the source names it: "NVIDIA H100 80GB HBM3"
  std::string source;       // "aiconfigurator vllm 0.24.0", "kvsim-profile", "vidur"
  nlohmann::json provenance = nlohmann::json::object();  // files read, commit, date, command, driver, clocks
  std::vector<DecodeAttentionPoint> decode_attention;
  std::vector<PrefillAttentionPoint> prefill_attention;
  std::vector<GemmPoint> gemm;
  std::vector<CollectivePoint> all_reduce;
  std::vector<CollectivePoint> all_to_all;  // expert parallelism's dispatch and combine
  std::vector<MoePoint> moe;
  friend bool operator==(const Profile&, const Profile&) = default;
};

// The KV dtypes profiles measure (decode and prefill attention's kv_dtype) and `kvsim cost --kv-dtype` prices.
inline constexpr std::array<std::string_view, 6> kProfileKvDtypes = {"bf16", "fp16", "fp8", "int8", "int4", "int2"};

// Stored bits of one element of a profile dtype: 16 for bf16/fp16, 32 for fp32, 8 for fp8/int8, 4 for int4, 2 for
// int2; 0 for any other name.
int dtype_bits(std::string_view dtype);

// JSON round trip (the format kvsim-profile writes and models/profiles/*.json hold). Strict: unknown keys and
// malformed values are KvsimError naming the file and the key.
nlohmann::json to_json(const Profile& p);
Profile profile_from_json(const nlohmann::json& j, const std::string& where);
Profile load_profile(const std::filesystem::path& path);
// Writes to_json(p) compactly (one point per line) to `path`; throws KvsimError if it cannot be written.
void save_profile(const Profile& p, const std::filesystem::path& path);

// Importers of published measurements (../shared/gpu-data). Each reads CSVs strictly (file:line errors) and keeps
// every usable row; rows it cannot use (another dtype, sliding window) are counted in provenance.skipped_rows.
//  - aiconfigurator: `system_dir` = .../aiconfigurator/h100_sxm, `framework` = "vllm" or "trtllm", `version`;
//    reads attention/<framework>/<version>/{generation,context}_attention_perf.csv, gemm/<framework>/<version>/
//    gemm_perf.csv and moe/<framework>/<version>/moe_perf.csv (each if present; MoE rows kept: balanced routing,
//    bf16/fp16, expert parallelism 1) and comm/nccl/*/nccl_perf.csv (message_size in elements of nccl_dtype).
//  - vidur: one mlp.csv (per-op times of a model's layers; GEMM shapes taken from its columns).
Profile import_aiconfigurator(const std::filesystem::path& system_dir, const std::string& framework,
                              const std::string& version, const std::string& gpu);
Profile import_vidur_mlp(const std::filesystem::path& mlp_csv, const std::string& gpu);

}  // namespace kvsim
