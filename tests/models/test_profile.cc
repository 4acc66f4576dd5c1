// Tests of the measured-profile format and its importers: JSON round trip and strictness, the aiconfigurator and
// Vidur importers on the real files in ${KVSIM_SHARED_DIR}/gpu-data (row counts from their PROVENANCE.md, first
// rows, raw-line spot checks, kv_len = step + 1, the MoE tables: which rows are kept and which models they cover),
// and file:line errors on malformed CSVs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "models/profile/profile.h"
#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "tests/common/error_of.h"

namespace kvsim {

// Readable failure messages (gtest finds PrintTo by argument-dependent lookup in namespace kvsim).
void PrintTo(const GemmPoint& g, std::ostream* os) {
  *os << "{m " << g.m << ", n " << g.n << ", k " << g.k << ", " << g.dtype << ", " << g.seconds << " s, row "
      << g.source_row << "}";
}
void PrintTo(const DecodeAttentionPoint& d, std::ostream* os) {
  *os << "{batch " << d.batch << ", kv_len " << d.kv_len << ", heads " << d.q_heads << "/" << d.kv_heads << "x"
      << d.head_dim << ", " << d.kv_dtype << ", " << d.seconds << " s, row " << d.source_row << "}";
}
void PrintTo(const PrefillAttentionPoint& a, std::ostream* os) {
  *os << "{batch " << a.batch << ", isl " << a.isl << ", cached " << a.cached << ", heads " << a.q_heads << "/"
      << a.kv_heads << "x" << a.head_dim << ", " << a.kv_dtype << ", " << a.seconds << " s, row " << a.source_row
      << "}";
}

void PrintTo(const MoePoint& m, std::ostream* os) {
  *os << "{tokens " << m.tokens << ", hidden " << m.hidden << ", intermediate " << m.intermediate << ", experts "
      << m.experts << ", topk " << m.topk << ", tp " << m.tp << ", " << m.dtype << ", " << m.seconds << " s, row "
      << m.source_row << "}";
}

namespace {

namespace fs = std::filesystem;
using testing::error_of;

// Passes when `text` contains `part`; prints both otherwise.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}
#define EXPECT_CONTAINS(text, part) EXPECT_TRUE(contains(text, part))

fs::path gpu_data(std::string_view rel) { return fs::path(KVSIM_SHARED_DIR) / "gpu-data" / rel; }
const fs::path kAic = gpu_data("aiconfigurator");
const fs::path kVidur7b = gpu_data("vidur/data/profiling/compute/h100/meta-llama/Llama-2-7b-hf/mlp.csv");
const fs::path kVidur70b = gpu_data("vidur/data/profiling/compute/h100/meta-llama/Llama-2-70b-hf/mlp.csv");

// A temporary folder, removed with everything in it when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("kvsim_test_profile_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `contents` to `rel` (creating folders) and returns its path.
  fs::path write(const fs::path& rel, std::string_view contents) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The comma-separated fields of line `line` (1-based) of a file, read independently of the importers.
std::vector<std::string> raw_fields(const fs::path& file, std::int64_t line) {
  std::ifstream in(file);
  std::string text;
  for (std::int64_t i = 0; i < line; ++i) std::getline(in, text);
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
  return out;
}

// Column name -> index of a file's header.
std::map<std::string, std::size_t> header_of(const fs::path& file) {
  std::map<std::string, std::size_t> out;
  const std::vector<std::string> h = raw_fields(file, 1);
  for (std::size_t i = 0; i < h.size(); ++i) out[h[i]] = i;
  return out;
}

Profile small_profile() {
  Profile p;
  p.gpu = "h100-sxm";
  p.device_name = "NVIDIA H100 80GB HBM3";
  p.source = "unit test";
  p.provenance = {{"command", "kvsim-profile --quick"}, {"files", {{{"path", "a.csv"}, {"rows", 3}}}}};
  p.decode_attention = {{32, 2, 64, 8, 128, "bf16", 1.126933346192042e-05, 2},
                        {1, 131072, 8, 1, 64, "fp8", 0.0013683946927388509, 0}};
  PrefillAttentionPoint pre{4, 16384, 0, 64, 4, 128, 0.09647487386067708, 7};
  pre.kv_dtype = "fp8";
  p.prefill_attention = {pre};
  p.gemm = {{32768, 65536, 12288, "bf16", 0.06032404242621528, 2}, {1, 4096, 4096, "fp16", 7e-06, 0}};
  CollectivePoint ar{512, 2, 6.25e-06, 128};
  ar.dtype = "fp16";
  p.all_reduce = {ar};
  p.all_to_all = {{1048576, 8, 1.564e-05, 302}};
  p.moe = {{16, 4096, 7168, 8, 2, 2, "bf16", 0.49033065636952716e-3, 7803},
           {1, 2048, 768, 128, 8, 1, "fp16", 4.9e-05, 0}};
  return p;
}

// A GEMM point equal to the expected one, its time within 4 ulps (ms / 1000 need not round like the literal).
::testing::AssertionResult gemm_is(const GemmPoint& g, GemmPoint want) {
  const bool close = ::testing::internal::FloatingPoint<double>(g.seconds).AlmostEquals(
      ::testing::internal::FloatingPoint<double>(want.seconds));
  want.seconds = g.seconds;
  if (close && g == want) return ::testing::AssertionSuccess();
  std::ostringstream os;
  PrintTo(g, &os);
  return ::testing::AssertionFailure() << "got " << os.str() << ", want m " << want.m << " n " << want.n << " k "
                                       << want.k << " row " << want.source_row;
}

// ---- the JSON format ----------------------------------------------------------------------------------------

TEST(ProfileJson, RoundTripIsExact) {
  const Profile p = small_profile();
  const nlohmann::json j = to_json(p);
  EXPECT_EQ(j["schema"], "kvsim-profile-1");
  const Profile back = profile_from_json(nlohmann::json::parse(j.dump()), "round-trip");
  EXPECT_EQ(back, p);
  EXPECT_EQ(to_json(back), j);
  // "row" is written only when the point has one.
  EXPECT_EQ(j["decode_attention"][0]["row"], 2);
  EXPECT_FALSE(j["decode_attention"][1].contains("row"));
}

TEST(ProfileJson, SaveAndLoadRoundTrip) {
  TempDir dir;
  const fs::path file = dir.path() / "p.json";
  const Profile p = small_profile();
  save_profile(p, file);
  EXPECT_EQ(load_profile(file), p);
  // One point per line.
  std::ifstream in(file);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_GE(lines, 6 + 6);
}

TEST(ProfileJson, EmptyFamiliesMayBeOmitted) {
  const nlohmann::json j = {{"schema", "kvsim-profile-1"}, {"gpu", "h100-sxm"}, {"device_name", ""}, {"source", "x"}};
  const Profile p = profile_from_json(j, "p.json");
  EXPECT_TRUE(p.decode_attention.empty() && p.gemm.empty() && p.all_reduce.empty());
}

TEST(ProfileJson, UnknownKeysAreRejectedByName) {
  nlohmann::json j = to_json(small_profile());
  j["decode_atention"] = nlohmann::json::array();
  std::string msg = error_of([&] { profile_from_json(j, "profiles/h100.json"); });
  EXPECT_CONTAINS(msg, "profiles/h100.json");
  EXPECT_CONTAINS(msg, "decode_atention");

  j = to_json(small_profile());
  j["decode_attention"][1]["kv_lenn"] = 3;
  msg = error_of([&] { profile_from_json(j, "profiles/h100.json"); });
  EXPECT_CONTAINS(msg, "profiles/h100.json.decode_attention[1]");
  EXPECT_CONTAINS(msg, "kv_lenn");

  j = to_json(small_profile());
  j["gemm"][0]["seconds_ms"] = 1;
  EXPECT_CONTAINS(error_of([&] { profile_from_json(j, "p.json"); }), "gemm[0]");
}

TEST(ProfileJson, MalformedValuesNameTheKey) {
  auto bad = [](const char* family, const char* key, nlohmann::json value) {
    nlohmann::json j = to_json(small_profile());
    j[family][0][key] = std::move(value);
    return error_of([&] { profile_from_json(j, "p.json"); });
  };
  EXPECT_CONTAINS(bad("decode_attention", "kv_dtype", "int3"), "decode_attention[0].kv_dtype");
  EXPECT_CONTAINS(bad("decode_attention", "kv_dtype", "int3"), "bf16, fp16, fp8, int8, int4, int2");
  EXPECT_CONTAINS(bad("decode_attention", "kv_len", 0), "decode_attention[0].kv_len");
  EXPECT_CONTAINS(bad("decode_attention", "q_heads", 12), "not a multiple of kv_heads 8");
  EXPECT_CONTAINS(bad("decode_attention", "batch", "32"), "decode_attention[0].batch");
  EXPECT_CONTAINS(bad("prefill_attention", "seconds", -1.0), "prefill_attention[0].seconds");
  EXPECT_CONTAINS(bad("prefill_attention", "cached", -1), "prefill_attention[0].cached");
  EXPECT_CONTAINS(bad("gemm", "k", 1.5), "gemm[0].k");
  // Found by fuzz_profile's long run: a 2^32-column GEMM overflowed the calibration's int shape key (UBSan).
  EXPECT_CONTAINS(bad("gemm", "n", 4294967294LL), "gemm[0].n");
  EXPECT_CONTAINS(bad("gemm", "n", 4294967294LL), "1073741824");
  EXPECT_CONTAINS(bad("all_reduce", "gpus", 1), "all_reduce[0].gpus");
  EXPECT_CONTAINS(bad("all_reduce", "dtype", "half"), "all_reduce[0].dtype");
  EXPECT_CONTAINS(bad("moe", "topk", 9), "moe[0].topk");
  EXPECT_CONTAINS(bad("moe", "topk", 9), "9 is more than experts 8");
  EXPECT_CONTAINS(bad("moe", "intermediate", 0), "moe[0].intermediate");
  EXPECT_CONTAINS(bad("moe", "tp", 0), "moe[0].tp");
  EXPECT_CONTAINS(bad("moe", "dtype", "fp8_block"), "moe[0].dtype");
  EXPECT_CONTAINS(bad("moe", "seconds", 0.0), "moe[0].seconds");

  nlohmann::json j = to_json(small_profile());
  j["schema"] = "kvsim-profile-2";
  EXPECT_CONTAINS(error_of([&] { profile_from_json(j, "p.json"); }), "kvsim-profile-1");
  j = to_json(small_profile());
  j.erase("gpu");
  EXPECT_CONTAINS(error_of([&] { profile_from_json(j, "p.json"); }), "p.json.gpu");
  j = to_json(small_profile());
  j["gemm"] = nlohmann::json::object();
  EXPECT_CONTAINS(error_of([&] { profile_from_json(j, "p.json"); }), "p.json.gemm");
}

TEST(ProfileJson, LoadNamesTheFile) {
  TempDir dir;
  const fs::path bad = dir.write("bad.json", "{\"schema\": ");
  EXPECT_CONTAINS(error_of([&] { load_profile(bad); }), bad.string() + ": invalid JSON");
  EXPECT_CONTAINS(error_of([&] { load_profile(dir.path() / "missing.json"); }), "missing.json");
}

// ---- aiconfigurator on the real tables --------------------------------------------------------------------

// Checks shared by every aiconfigurator import: positive times, kv_len = step + 1 against the raw lines.
void check_aiconfigurator_invariants(const Profile& p, const fs::path& system_dir, const std::string& framework,
                                     const std::string& version) {
  for (const auto& d : p.decode_attention) ASSERT_GT(d.seconds, 0);
  for (const auto& a : p.prefill_attention) ASSERT_GT(a.seconds, 0);
  for (const auto& g : p.gemm) ASSERT_GT(g.seconds, 0);
  for (const auto& a : p.all_reduce) ASSERT_GT(a.seconds, 0);
  // The steps are 2^i - 1, so every kv_len is a power of two >= 2.
  for (const auto& d : p.decode_attention) {
    ASSERT_TRUE(d.kv_len >= 2 && (d.kv_len & (d.kv_len - 1)) == 0) << d.kv_len << " at line " << d.source_row;
  }
  // Every 997th decode point against its raw line.
  const fs::path gen = system_dir / "attention" / framework / version / "generation_attention_perf.csv";
  const auto col = header_of(gen);
  for (std::size_t i = 0; i < p.decode_attention.size(); i += 997) {
    const DecodeAttentionPoint& d = p.decode_attention[i];
    const std::vector<std::string> f = raw_fields(gen, d.source_row);
    EXPECT_EQ(d.batch, std::stoll(f[col.at("batch_size")]));
    EXPECT_EQ(d.kv_len, std::stoll(f[col.at("step")]) + 1);
    EXPECT_EQ(d.q_heads, std::stoi(f[col.at("num_heads")]));
    EXPECT_EQ(d.kv_heads, std::stoi(f[col.at("num_key_value_heads")]));
    EXPECT_EQ(d.head_dim, std::stoi(f[col.at("head_dim")]));
    EXPECT_EQ(d.kv_dtype, f[col.at("kv_cache_dtype")] == "bfloat16" ? "bf16" : "fp8");
    EXPECT_DOUBLE_EQ(d.seconds, std::stod(f[col.at("latency")]) / 1000);
  }
}

TEST(ImportAiconfigurator, H100Vllm) {
  const fs::path dir = kAic / "h100_sxm";
  const Profile p = import_aiconfigurator(dir, "vllm", "0.24.0", "h100-sxm");
  EXPECT_EQ(p.gpu, "h100-sxm");
  EXPECT_EQ(p.device_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(p.source, "aiconfigurator vllm 0.24.0");
  // PROVENANCE kept rows; nothing skipped in the vLLM attention and GEMM tables (window_size 0, beam 1, bf16).
  EXPECT_EQ(p.decode_attention.size(), 25866u);
  EXPECT_EQ(p.prefill_attention.size(), 11526u);
  EXPECT_EQ(p.gemm.size(), 35742u);
  // nccl_perf.csv: 1008 rows, a quarter all_reduce (half and int8; every configuration measured twice).
  EXPECT_EQ(p.all_reduce.size(), 252u);
  EXPECT_EQ(p.all_to_all.size(), 252u);
  EXPECT_EQ(p.provenance["skipped_rows"]["nccl op_name all_gather (not all_reduce or alltoall)"], 252);
  EXPECT_EQ(p.provenance["skipped_rows"]["nccl op_name reduce_scatter (not all_reduce or alltoall)"], 252);
  // The MoE table (added to ../shared later; ImportAiconfigurator.H100VllmMoe checks it) adds 7 skip reasons.
  const bool has_moe = fs::exists(dir / "moe/vllm/0.24.0/moe_perf.csv");
  EXPECT_EQ(p.provenance["skipped_rows"].size(), has_moe ? 9u : 2u);
  EXPECT_EQ(p.provenance["duplicate_points"]["all_to_all"], 126);
  EXPECT_EQ(p.provenance["duplicate_points"]["all_reduce"], 126);
  EXPECT_EQ(p.provenance["duplicate_points"]["decode_attention"], 0);
  EXPECT_EQ(p.provenance["devices"], nlohmann::json::array({"NVIDIA H100 80GB HBM3"}));
  ASSERT_EQ(p.provenance["files"].size(), has_moe ? 5u : 4u);
  EXPECT_EQ(p.provenance["files"][0]["path"], "attention/vllm/0.24.0/generation_attention_perf.csv");
  EXPECT_EQ(p.provenance["files"][0]["bytes"], 3413531);
  EXPECT_EQ(p.provenance["files"][0]["rows"], 25866);
  const nlohmann::json& nccl = p.provenance["files"][has_moe ? 4 : 3];
  EXPECT_EQ(nccl["path"], "comm/nccl/2.27.3/nccl_perf.csv");
  EXPECT_EQ(nccl["versions"], nlohmann::json::array({"2.29.2"}));

  // First rows.
  const DecodeAttentionPoint& d = p.decode_attention[0];
  EXPECT_EQ(d.source_row, 2);
  EXPECT_EQ(d.batch, 32);
  EXPECT_EQ(d.kv_len, 2);  // step 1 + the new token
  EXPECT_EQ(d.q_heads, 64);
  EXPECT_EQ(d.kv_heads, 1);
  EXPECT_EQ(d.head_dim, 64);
  EXPECT_EQ(d.kv_dtype, "bf16");
  EXPECT_DOUBLE_EQ(d.seconds, 0.01126933346192042e-3);
  EXPECT_EQ(p.decode_attention[1].kv_dtype, "fp8");
  EXPECT_DOUBLE_EQ(p.decode_attention[1].seconds, 0.01184533288081487e-3);
  const DecodeAttentionPoint& last = p.decode_attention.back();
  EXPECT_EQ(last.source_row, 25867);
  EXPECT_EQ(last.batch, 16);
  EXPECT_EQ(last.kv_len, 128);
  EXPECT_EQ(last.q_heads, 96);
  EXPECT_EQ(last.kv_heads, 8);

  const PrefillAttentionPoint& a = p.prefill_attention[0];
  EXPECT_EQ(a.batch, 1);
  EXPECT_EQ(a.isl, 16384);
  EXPECT_EQ(a.cached, 0);
  EXPECT_EQ(a.q_heads, 64);
  EXPECT_EQ(a.kv_heads, 64);
  EXPECT_EQ(a.head_dim, 128);
  EXPECT_EQ(a.kv_dtype, "bf16");
  EXPECT_DOUBLE_EQ(a.seconds, 7.49668820699056e-3);
  EXPECT_EQ(p.prefill_attention[1].kv_dtype, "fp8");

  const GemmPoint& g = p.gemm[0];
  EXPECT_EQ(g.m, 32768);
  EXPECT_EQ(g.n, 65536);
  EXPECT_EQ(g.k, 12288);
  EXPECT_EQ(g.dtype, "bf16");
  EXPECT_DOUBLE_EQ(g.seconds, 60.32404242621528e-3);

  const CollectivePoint& r = p.all_reduce[0];  // line 128: all_reduce half, 2 GPUs, 256 elements
  EXPECT_EQ(r.source_row, 128);
  EXPECT_EQ(r.gpus, 2);
  EXPECT_DOUBLE_EQ(r.bytes, 512);
  EXPECT_EQ(r.dtype, "fp16");
  EXPECT_DOUBLE_EQ(r.seconds, 0.00625e-3);
  std::set<std::string> dtypes;
  for (const auto& x : p.all_reduce) dtypes.insert(x.dtype);
  EXPECT_EQ(dtypes, (std::set<std::string>{"fp16", "int8"}));

  check_aiconfigurator_invariants(p, dir, "vllm", "0.24.0");
  // The import survives the JSON round trip.
  EXPECT_EQ(profile_from_json(to_json(p), "h100"), p);
}

// PROVENANCE warns of decode tables whose implied KV-read bandwidth exceeds the HBM peak; the vLLM table copied
// here must not. At the largest batch x kv_len (128 x 131072 = 2^24 tokens, head_dim 64, one KV head: 4 GiB of
// BF16 KV) it reads at 91-93% of the card's 3.35 TB/s; the table's maximum is ~95%.
TEST(ImportAiconfigurator, H100VllmDecodeBandwidthStaysBelowHbmPeak) {
  const Profile p = import_aiconfigurator(kAic / "h100_sxm", "vllm", "0.24.0", "h100-sxm");
  const double peak = Catalog::builtin().gpu("h100-sxm", "test").hbm_bandwidth_Bps;
  std::int64_t largest = 0;
  double max_bw = 0;
  for (const auto& d : p.decode_attention) {
    const double bytes =
        static_cast<double>(d.batch) * d.kv_len * 2 * d.kv_heads * d.head_dim * (d.kv_dtype == "bf16" ? 2 : 1);
    max_bw = std::max(max_bw, bytes / d.seconds);
    if (d.kv_dtype == "bf16") largest = std::max(largest, d.batch * d.kv_len);
  }
  EXPECT_LT(max_bw, peak);
  EXPECT_EQ(largest, std::int64_t{1} << 24);
  ::testing::Test::RecordProperty("max_implied_kv_bandwidth_GBps", std::to_string(max_bw / 1e9));
  for (const auto& d : p.decode_attention) {
    if (d.kv_dtype != "bf16" || d.batch * d.kv_len != largest) continue;
    const double bw = static_cast<double>(d.batch) * d.kv_len * 2 * d.kv_heads * d.head_dim * 2 / d.seconds;
    EXPECT_GT(bw, 0.85 * peak) << "line " << d.source_row;
    EXPECT_LT(bw, peak) << "line " << d.source_row;
  }
}

// The profile kvsim-profile measured on an H100 and committed in models/profiles: it loads strictly, says where it
// came from, no decode point reads its KV faster than the card's HBM peak, bf16 at large batch x context reaches
// 80 % of the copy bandwidth measured in the same run, and the 8-bit formats run faster than bf16 by at least 1.7x.
TEST(KvsimProfile, CommittedH100ProfileIsPhysicalAndMeetsTheKernelTargets) {
  const Profile p = load_profile(fs::path(KVSIM_SOURCE_DIR) / "models/profiles/h100-sxm-kvsim-kernels.json");
  EXPECT_EQ(p.gpu, "h100-sxm");
  for (const char* key : {"nvidia_driver", "cuda_runtime_version", "date_utc", "command", "source_commit",
                          "sm_clock_khz", "copy_GBps"}) {
    EXPECT_TRUE(p.provenance.contains(key)) << key;
  }
  const double peak = Catalog::builtin().gpu("h100-sxm", "test").hbm_bandwidth_Bps;
  const double copy_Bps = p.provenance.at("copy_GBps").get<double>() * 1e9;
  const std::map<std::string, double> bytes_per_element = {{"bf16", 2}, {"fp16", 2}, {"fp8", 1}, {"int8", 1}};
  std::map<std::string, double> largest_seconds;  // per dtype: the Llama-8B shape at batch 64, 32K tokens
  ASSERT_GT(p.decode_attention.size(), 100u);
  for (const auto& d : p.decode_attention) {
    const auto it = bytes_per_element.find(d.kv_dtype);
    if (it == bytes_per_element.end()) continue;  // KIVI points carry metadata the plain count leaves out
    const double kv_bytes = 2.0 * d.batch * d.kv_len * d.kv_heads * d.head_dim * it->second;
    EXPECT_LT(kv_bytes / d.seconds, peak) << d.kv_dtype << " batch " << d.batch << " kv_len " << d.kv_len;
    if (d.batch == 64 && d.kv_len == 32768 && d.q_heads == 32 && d.kv_heads == 8 && d.head_dim == 128) {
      largest_seconds[d.kv_dtype] = d.seconds;
      if (d.kv_dtype == "bf16") EXPECT_GT(kv_bytes / d.seconds, 0.8 * copy_Bps);
    }
  }
  ASSERT_EQ(largest_seconds.size(), 4u);
  EXPECT_GT(largest_seconds["bf16"] / largest_seconds["fp8"], 1.7);
  EXPECT_GT(largest_seconds["bf16"] / largest_seconds["int8"], 1.7);
}

TEST(ImportAiconfigurator, H100TrtllmSkipsFp8AttentionMath) {
  const fs::path dir = kAic / "h100_sxm";
  const Profile p = import_aiconfigurator(dir, "trtllm", "1.3.0rc20", "h100-sxm");
  EXPECT_EQ(p.device_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(p.decode_attention.size(), 14804u);
  // 18596 context rows, 6222 of them FP8 attention math (attn_dtype fp8): no field for it, skipped and counted.
  EXPECT_EQ(p.prefill_attention.size(), 18596u - 6222u);
  EXPECT_EQ(p.provenance["skipped_rows"]["attn_dtype fp8 (only bfloat16 attention math)"], 6222);
  EXPECT_EQ(p.provenance["files"][1]["skipped"]["attn_dtype fp8 (only bfloat16 attention math)"], 6222);
  EXPECT_TRUE(p.gemm.empty());  // no gemm/trtllm/1.3.0rc20 table
  EXPECT_EQ(p.all_reduce.size(), 252u);
  const DecodeAttentionPoint& d = p.decode_attention[0];
  EXPECT_EQ(d.batch, 32);
  EXPECT_EQ(d.kv_len, 2);
  EXPECT_EQ(d.q_heads, 64);
  EXPECT_EQ(d.kv_heads, 64);
  EXPECT_EQ(d.head_dim, 128);
  EXPECT_DOUBLE_EQ(d.seconds, 0.023413332800070446e-3);
  const PrefillAttentionPoint& a = p.prefill_attention[0];
  EXPECT_EQ(a.batch, 16);
  EXPECT_EQ(a.isl, 8192);
  EXPECT_EQ(a.q_heads, 96);
  EXPECT_DOUBLE_EQ(a.seconds, 53.49678039550781e-3);
  check_aiconfigurator_invariants(p, dir, "trtllm", "1.3.0rc20");
}

TEST(ImportAiconfigurator, A100VllmWithoutWindowColumn) {
  const fs::path dir = kAic / "a100_sxm";
  const Profile p = import_aiconfigurator(dir, "vllm", "0.14.0", "a100-sxm-80gb");
  EXPECT_EQ(p.device_name, "NVIDIA A100-SXM4-80GB");
  EXPECT_EQ(p.decode_attention.size(), 5431u);
  EXPECT_EQ(p.prefill_attention.size(), 5457u);
  EXPECT_EQ(p.gemm.size(), 9240u);
  EXPECT_EQ(p.all_reduce.size(), 126u);
  EXPECT_EQ(p.provenance["duplicate_points"]["all_reduce"], 0);
  const DecodeAttentionPoint& d = p.decode_attention[0];
  EXPECT_EQ(d.batch, 32);
  EXPECT_EQ(d.kv_len, 2);
  EXPECT_EQ(d.q_heads, 64);
  EXPECT_EQ(d.kv_heads, 1);
  EXPECT_DOUBLE_EQ(d.seconds, 0.013712000101804733e-3);
  EXPECT_EQ(p.decode_attention[1].kv_len, 4);
  EXPECT_DOUBLE_EQ(p.gemm[0].seconds, 15.287540011935763e-3);
  bool noted = false;
  for (const auto& n : p.provenance["notes"]) noted |= n.get<std::string>().find("no window_size") != std::string::npos;
  EXPECT_TRUE(noted);
  check_aiconfigurator_invariants(p, dir, "vllm", "0.14.0");
}

// ---- aiconfigurator MoE tables (moe/<framework>/<version>/moe_perf.csv, PROVENANCE "Added 2026-12-05") ----------

// Skips the test when the MoE table is not in this checkout of ../shared.
#define SKIP_WITHOUT(file)                                                             \
  if (!fs::exists(file)) GTEST_SKIP() << (file).string() << " is absent (../shared predates the MoE tables)"

// Every 97th MoE point against its raw line: tokens, hidden, intermediate = inter_size / moe_tp_size, kept filters.
void check_moe_points_against_raw_lines(const Profile& p, const fs::path& csv) {
  const auto col = header_of(csv);
  for (std::size_t i = 0; i < p.moe.size(); i += 97) {
    const MoePoint& m = p.moe[i];
    const std::vector<std::string> f = raw_fields(csv, m.source_row);
    EXPECT_EQ(m.tokens, std::stoll(f[col.at("num_tokens")]));
    EXPECT_EQ(m.hidden, std::stoi(f[col.at("hidden_size")]));
    EXPECT_EQ(m.tp, std::stoi(f[col.at("moe_tp_size")]));
    EXPECT_EQ(m.intermediate * m.tp, std::stoi(f[col.at("inter_size")]));
    EXPECT_EQ(m.experts, std::stoi(f[col.at("num_experts")]));
    EXPECT_EQ(m.topk, std::stoi(f[col.at("topk")]));
    EXPECT_EQ(f[col.at("moe_dtype")], "bfloat16");
    EXPECT_EQ(f[col.at("moe_ep_size")], "1");
    EXPECT_EQ(f[col.at("distribution")], "balanced");
    EXPECT_DOUBLE_EQ(m.seconds, std::stod(f[col.at("latency")]) / 1000);
  }
}

TEST(ImportAiconfigurator, H100VllmMoe) {
  const fs::path dir = kAic / "h100_sxm";
  const fs::path csv = dir / "moe/vllm/0.24.0/moe_perf.csv";
  SKIP_WITHOUT(csv);
  const Profile p = import_aiconfigurator(dir, "vllm", "0.24.0", "h100-sxm");
  // 49862 rows (PROVENANCE): 16253 bf16, of which 7748 have moe_ep_size 1, of which a third are balanced.
  EXPECT_EQ(p.moe.size(), 2565u);
  const nlohmann::json& skipped = p.provenance["skipped_rows"];
  EXPECT_EQ(skipped["moe_dtype fp8_block (only 16-bit experts)"], 15222);
  EXPECT_EQ(skipped["moe_dtype fp8 (only 16-bit experts)"], 14418);
  EXPECT_EQ(skipped["moe_dtype w4a16_mxfp4 (only 16-bit experts)"], 2916);
  EXPECT_EQ(skipped["moe_dtype int4_wo (only 16-bit experts)"], 1053);
  EXPECT_EQ(skipped["moe_ep_size != 1 (kvsim shards experts by TP)"], 8505);
  EXPECT_EQ(skipped["moe distribution power_law_1.01 (kvsim assumes balanced routing)"], 2592);
  EXPECT_EQ(skipped["moe distribution power_law_1.2 (kvsim assumes balanced routing)"], 2591);
  EXPECT_EQ(p.provenance["duplicate_points"]["moe"], 0);
  const nlohmann::json& file = p.provenance["files"][3];
  EXPECT_EQ(file["path"], "moe/vllm/0.24.0/moe_perf.csv");
  EXPECT_EQ(file["rows"], 49862);
  EXPECT_EQ(file["kept"], 2565);
  EXPECT_EQ(file["kernel_sources"].size(), 7u);

  // First kept row (line 263): 1 token, hidden 2816, inter_size 704 at TP 1, 128 experts, top-8.
  EXPECT_EQ(p.moe.front(), (MoePoint{1, 2816, 704, 128, 8, 1, "bf16", 0.05365333457787832e-3, 263}));
  // Mixtral-8x7B at TP 2 (line 7704): the table's inter_size 14336 is the model's; per GPU it is 7168.
  const auto at_line = [&](std::int64_t row) {
    for (const MoePoint& m : p.moe) {
      if (m.source_row == row) return m;
    }
    return MoePoint{};
  };
  EXPECT_EQ(at_line(7704), (MoePoint{1, 4096, 7168, 8, 2, 2, "bf16", 0.16375999649365744e-3, 7704}));
  EXPECT_EQ(at_line(1664), (MoePoint{16, 4096, 14336, 8, 2, 1, "bf16", 0.9580053488413492e-3, 1664}));
  EXPECT_EQ(at_line(2411), (MoePoint{16, 2048, 768, 128, 8, 1, "bf16", 0.4203840096791585e-3, 2411}));
  check_moe_points_against_raw_lines(p, csv);

  // Which catalog models the table covers: per (bf16) MoE model and TP, the token counts measured at its shape.
  const std::vector<std::int64_t> tokens = {1,    2,    4,    8,    16,   32,   48,    64,   80,
                                            96,   128,  160,  192,  256,  320,  384,   512,  768,
                                            1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384};
  std::set<std::string> covered;
  for (const LlmSpec& m : Catalog::builtin().models()) {
    if (!m.moe || m.weights.linear_bytes() != 2) continue;
    for (int tp : {1, 2, 4, 8}) {
      std::vector<std::int64_t> have;
      for (const MoePoint& x : p.moe) {
        if (x.hidden == m.hidden_size && x.intermediate * tp == m.moe->expert_intermediate_size && x.tp == tp &&
            x.experts == m.moe->num_experts && x.topk == m.moe->experts_per_token) {
          have.push_back(x.tokens);
        }
      }
      if (have.empty()) continue;
      EXPECT_EQ(have, tokens) << m.name << " tp " << tp;
      covered.insert(m.name + " tp" + std::to_string(tp));
    }
  }
  EXPECT_EQ(covered, (std::set<std::string>{"llama-4-scout-17b-16e tp1", "llama-4-scout-17b-16e tp2",
                                            "llama-4-scout-17b-16e tp4", "llama-4-scout-17b-16e tp8",
                                            "mixtral-8x22b tp1", "mixtral-8x22b tp2", "mixtral-8x22b tp4",
                                            "mixtral-8x22b tp8", "mixtral-8x7b tp1", "mixtral-8x7b tp2",
                                            "mixtral-8x7b tp4", "mixtral-8x7b tp8", "qwen3-30b-a3b tp1",
                                            "qwen3-30b-a3b tp2", "qwen3-30b-a3b tp4", "qwen3-30b-a3b tp8"}));
  EXPECT_EQ(profile_from_json(to_json(p), "h100"), p);
}

// The A100 table was measured with power-law routing only: nothing is kept, and the profile says why.
TEST(ImportAiconfigurator, A100VllmMoeHasNoBalancedRows) {
  const fs::path dir = kAic / "a100_sxm";
  SKIP_WITHOUT(dir / "moe/vllm/0.14.0/moe_perf.csv");
  const Profile p = import_aiconfigurator(dir, "vllm", "0.14.0", "a100-sxm-80gb");
  EXPECT_TRUE(p.moe.empty());
  const nlohmann::json& skipped = p.provenance["skipped_rows"];
  EXPECT_EQ(skipped["moe_ep_size != 1 (kvsim shards experts by TP)"], 3300);
  EXPECT_EQ(skipped["moe distribution power_law_1.01 (kvsim assumes balanced routing)"], 1530);
  EXPECT_EQ(skipped["moe distribution power_law_1.2 (kvsim assumes balanced routing)"], 1530);
  bool noted = false;
  for (const auto& n : p.provenance["notes"]) {
    noted |= n.get<std::string>().find("moe_perf.csv has no balanced-routing") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(ImportAiconfigurator, RtxPro6000VllmMoe) {
  const fs::path dir = kAic / "rtx_pro_6000_server";
  SKIP_WITHOUT(dir / "moe/vllm/0.24.0/moe_perf.csv");
  const Profile p = import_aiconfigurator(dir, "vllm", "0.24.0", "rtx-pro-6000");
  EXPECT_EQ(p.device_name, "NVIDIA RTX PRO 6000 Blackwell Server Edition");
  EXPECT_EQ(p.decode_attention.size(), 31716u);
  EXPECT_EQ(p.prefill_attention.size(), 26271u);
  EXPECT_EQ(p.gemm.size(), 35742u);
  EXPECT_TRUE(p.all_reduce.empty());  // no NCCL table for this system
  EXPECT_EQ(p.moe.size(), 2484u);  // 48006 rows: 15903 bf16, 7398 of them EP 1, 2484 of those balanced
  EXPECT_EQ(p.moe.front(), (MoePoint{1, 2816, 704, 128, 8, 1, "bf16", 0.04990933338801066e-3, 83}));
  check_moe_points_against_raw_lines(p, dir / "moe/vllm/0.24.0/moe_perf.csv");
}

TEST(ImportAiconfigurator, UnknownFrameworkOrVersionListsWhatExists) {
  const std::string msg = error_of([] { import_aiconfigurator(kAic / "h100_sxm", "vllm", "0.99.0", "h100-sxm"); });
  EXPECT_CONTAINS(msg, "attention/vllm/0.99.0");
  EXPECT_CONTAINS(msg, "trtllm/1.3.0rc20");
  EXPECT_CONTAINS(msg, "vllm/0.24.0");
  EXPECT_CONTAINS(error_of([] { import_aiconfigurator(kAic / "nope", "vllm", "0.24.0", "x"); }), "nope");
}

// ---- Vidur mlp.csv -------------------------------------------------------------------------------------------

TEST(ImportVidur, Llama2_7b) {
  const Profile p = import_vidur_mlp(kVidur7b, "h100-sxm");
  EXPECT_EQ(p.gpu, "h100-sxm");
  EXPECT_EQ(p.device_name, "h100");
  EXPECT_EQ(p.source, "vidur meta-llama/Llama-2-7b-hf");
  ASSERT_EQ(p.gemm.size(), 1044u * 4);  // 1044 rows, 4 linear layers each
  EXPECT_TRUE(p.decode_attention.empty() && p.prefill_attention.empty() && p.all_reduce.empty());
  EXPECT_EQ(p.provenance["files"][0]["rows"], 1044);
  EXPECT_EQ(p.provenance["files"][0]["bytes"], 715469);
  EXPECT_EQ(p.provenance["rows_per_tensor_parallel"], (nlohmann::json{{"1", 261}, {"2", 261}, {"4", 261}, {"8", 261}}));
  for (const GemmPoint& g : p.gemm) {
    ASSERT_GT(g.seconds, 0);
    ASSERT_EQ(g.dtype, "fp16");
  }
  // Line 2: 4096 tokens, TP 1 (hidden 4096, intermediate 11008, 32 heads of 128).
  const std::vector<GemmPoint> first(p.gemm.begin(), p.gemm.begin() + 4);
  EXPECT_TRUE(gemm_is(first[0], GemmPoint{4096, 12288, 4096, "fp16", 0.584e-3, 2}));  // QKV
  EXPECT_TRUE(gemm_is(first[1], GemmPoint{4096, 4096, 4096, "fp16", 0.193e-3, 2}));   // O
  EXPECT_TRUE(gemm_is(first[2], GemmPoint{4096, 22016, 4096, "fp16", 0.987e-3, 2}));  // gate+up
  EXPECT_TRUE(gemm_is(first[3], GemmPoint{4096, 4096, 11008, "fp16", 0.441e-3, 2}));  // down
  // Line 979: 512 tokens, TP 8: shards of 1/8.
  std::vector<GemmPoint> tp8;
  for (const GemmPoint& g : p.gemm) {
    if (g.source_row == 979) tp8.push_back(g);
  }
  ASSERT_EQ(tp8.size(), 4u);
  EXPECT_TRUE(gemm_is(tp8[0], GemmPoint{512, 1536, 4096, "fp16", 0.018000000000000002e-3, 979}));
  EXPECT_TRUE(gemm_is(tp8[1], GemmPoint{512, 4096, 512, "fp16", 0.01e-3, 979}));
  EXPECT_TRUE(gemm_is(tp8[2], GemmPoint{512, 2752, 4096, "fp16", 0.027e-3, 979}));
  EXPECT_TRUE(gemm_is(tp8[3], GemmPoint{512, 4096, 1376, "fp16", 0.016e-3, 979}));
}

TEST(ImportVidur, Llama2_70b) {
  const Profile p = import_vidur_mlp(kVidur70b, "h100-sxm");
  EXPECT_EQ(p.source, "vidur meta-llama/Llama-2-70b-hf");
  ASSERT_EQ(p.gemm.size(), 1044u * 4);
  EXPECT_EQ(p.provenance["model_shape"]["n_kv_head"], 8);
  // Line 2: 4096 tokens, TP 1 (hidden 8192, intermediate 28672, 64 query heads, 8 KV heads of 128).
  EXPECT_TRUE(gemm_is(p.gemm[0], GemmPoint{4096, 10240, 8192, "fp16", 0.9824999999999999e-3, 2}));
  EXPECT_TRUE(gemm_is(p.gemm[1], GemmPoint{4096, 8192, 8192, "fp16", 0.7885e-3, 2}));
  EXPECT_TRUE(gemm_is(p.gemm[2], GemmPoint{4096, 57344, 8192, "fp16", 5.6685e-3, 2}));
  EXPECT_TRUE(gemm_is(p.gemm[3], GemmPoint{4096, 8192, 28672, "fp16", 2.6470000000000002e-3, 2}));
  // Last line (1045): 1 token, TP 8.
  const std::size_t n = p.gemm.size();
  EXPECT_TRUE(gemm_is(p.gemm[n - 4], GemmPoint{1, 1280, 8192, "fp16", 0.013000000000000001e-3, 1045}));
  EXPECT_TRUE(gemm_is(p.gemm[n - 3], GemmPoint{1, 8192, 1024, "fp16", 0.009000000000000001e-3, 1045}));
  EXPECT_TRUE(gemm_is(p.gemm[n - 2], GemmPoint{1, 7168, 8192, "fp16", 0.0435e-3, 1045}));
  EXPECT_TRUE(gemm_is(p.gemm[n - 1], GemmPoint{1, 8192, 3584, "fp16", 0.022e-3, 1045}));
}

// ---- malformed CSVs -----------------------------------------------------------------------------------------

constexpr std::string_view kMlpHeader =
    "time_stats.attn_pre_proj.median,time_stats.attn_post_proj.median,time_stats.mlp_up_proj.median,"
    "time_stats.mlp_down_proj.median,n_head,n_kv_head,n_embd,n_expanded_embd,use_gated_mlp,num_tokens,"
    "num_tensor_parallel_workers\n";

TEST(ImportCsv, MalformedVidurRowsGiveFileAndLine) {
  TempDir dir;
  const std::string good = "0.5,0.2,0.9,0.4,32,32,4096,11008,True,4096,1\n";
  const fs::path ok = dir.write("ok/mlp.csv", std::string(kMlpHeader) + good);
  EXPECT_EQ(import_vidur_mlp(ok, "h100-sxm").gemm.size(), 4u);

  const fs::path word =
      dir.write("a/mlp.csv", std::string(kMlpHeader) + good + "0.5,0.2,0.9,0.4,32,32,4096,11008,True,12abc,1\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(word, "x"); }),
                  word.string() + ":3: column 'num_tokens' '12abc' is not an integer");

  const fs::path fields = dir.write("b/mlp.csv", std::string(kMlpHeader) + "0.5,0.2,0.9\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(fields, "x"); }),
                  fields.string() + ":2: 3 fields, but the header has 11 columns");

  const fs::path nan = dir.write("c/mlp.csv", std::string(kMlpHeader) + "nan,0.2,0.9,0.4,32,32,4096,11008,True,1,1\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(nan, "x"); }),
                  nan.string() + ":2: column 'time_stats.attn_pre_proj.median' 'nan' is not a finite");

  const fs::path zero = dir.write("d/mlp.csv", std::string(kMlpHeader) + "0,0.2,0.9,0.4,32,32,4096,11008,True,1,1\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(zero, "x"); }), zero.string() + ":2:");

  const fs::path tp = dir.write("e/mlp.csv", std::string(kMlpHeader) + "0.5,0.2,0.9,0.4,32,32,4096,11008,True,1,3\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(tp, "x"); }),
                  tp.string() + ":2: column 'num_tensor_parallel_workers' 3 does not divide");

  const fs::path model =
      dir.write("f/mlp.csv", std::string(kMlpHeader) + good + "0.5,0.2,0.9,0.4,64,8,8192,28672,True,1,1\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(model, "x"); }), model.string() + ":3: model shape");

  const fs::path missing = dir.write("g/mlp.csv", "n_head,num_tokens\n32,1\n");
  const std::string msg = error_of([&] { import_vidur_mlp(missing, "x"); });
  EXPECT_CONTAINS(msg, "no column 'n_kv_head'");
  EXPECT_CONTAINS(msg, "the file's columns are: n_head, num_tokens");

  const fs::path quote =
      dir.write("h/mlp.csv", std::string(kMlpHeader) + "\"0.5,0.2,0.9,0.4,32,32,4096,11008,True,1,1\n");
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(quote, "x"); }),
                  quote.string() + ":2: field 1 has an unterminated quote");

  const fs::path blank = dir.write("i/mlp.csv", std::string(kMlpHeader) + good + "\n" + good);
  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(blank, "x"); }), blank.string() + ":3: empty line");

  EXPECT_CONTAINS(error_of([&] { import_vidur_mlp(dir.path() / "none.csv", "x"); }), "none.csv: cannot open");
}

constexpr std::string_view kGenHeader =
    "framework,version,device,op_name,kernel_source,batch_size,isl,num_heads,num_key_value_heads,head_dim,"
    "beam_width,attn_dtype,kv_cache_dtype,step,window_size,latency\n";
constexpr std::string_view kCtxHeader = kGenHeader;
constexpr std::string_view kGenRow =
    "VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,0.02\n";
constexpr std::string_view kCtxRow = "VLLM,9.0,GPU X,context_attention,fa,4,512,8,2,128,1,bfloat16,fp8,0,0,0.5\n";

TEST(ImportCsv, SyntheticAiconfiguratorTablesMapAndFailWithFileAndLine) {
  TempDir dir;
  const fs::path gen =
      dir.write("attention/vllm/9.0/generation_attention_perf.csv",
                std::string(kGenHeader) + std::string(kGenRow) +
                    "VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,4096,0.02\n"
                    "VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,2,bfloat16,bfloat16,15,0,0.02\n"
                    "VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,nvfp4,15,0,0.02\n");
  dir.write("attention/vllm/9.0/context_attention_perf.csv", std::string(kCtxHeader) + std::string(kCtxRow));
  dir.write("comm/nccl/1.0/nccl_perf.csv",
            "framework,version,device,op_name,kernel_source,nccl_dtype,num_gpus,message_size,latency\n"
            "TRTLLM,1.0,GPU X,all_reduce,NCCL,bfloat16,4,1024,0.01\n"
            "TRTLLM,1.0,GPU X,all_reduce,NCCL,float,8,1024,0.02\n"
            "TRTLLM,1.0,GPU X,all_gather,NCCL,half,8,1024,0.02\n"
            "TRTLLM,1.0,GPU X,alltoall,NCCL,half,8,4096,0.03\n");
  const Profile p = import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu");
  EXPECT_EQ(p.device_name, "GPU X");
  ASSERT_EQ(p.decode_attention.size(), 1u);
  EXPECT_EQ(p.decode_attention[0], (DecodeAttentionPoint{4, 16, 8, 2, 128, "bf16", 0.02e-3, 2}));
  EXPECT_EQ(p.provenance["skipped_rows"]["window_size != 0 (sliding window)"], 1);
  EXPECT_EQ(p.provenance["skipped_rows"]["beam_width != 1"], 1);
  EXPECT_EQ(p.provenance["skipped_rows"]["kv_cache_dtype nvfp4 (no kvsim dtype)"], 1);
  EXPECT_EQ(p.provenance["skipped_rows"]["nccl op_name all_gather (not all_reduce or alltoall)"], 1);
  ASSERT_EQ(p.all_to_all.size(), 1u);
  EXPECT_EQ(p.all_to_all[0].bytes, 8192);  // 4096 half elements sent by each GPU
  EXPECT_EQ(p.all_to_all[0].gpus, 8);
  EXPECT_DOUBLE_EQ(p.all_to_all[0].seconds, 0.03e-3);
  ASSERT_EQ(p.prefill_attention.size(), 1u);
  PrefillAttentionPoint pre{4, 512, 0, 8, 2, 128, 0.5e-3, 2};
  pre.kv_dtype = "fp8";
  EXPECT_EQ(p.prefill_attention[0], pre);
  EXPECT_TRUE(p.gemm.empty());
  ASSERT_EQ(p.all_reduce.size(), 2u);
  EXPECT_DOUBLE_EQ(p.all_reduce[0].bytes, 2048);
  EXPECT_EQ(p.all_reduce[0].dtype, "bf16");
  EXPECT_EQ(p.all_reduce[0].gpus, 4);
  EXPECT_DOUBLE_EQ(p.all_reduce[1].bytes, 4096);
  EXPECT_EQ(p.all_reduce[1].dtype, "fp32");

  // Malformed rows: file:line and the column.
  auto fails_with = [&](std::string_view gen_rows) {
    dir.write("attention/vllm/9.0/generation_attention_perf.csv", std::string(kGenHeader) + std::string(gen_rows));
    return error_of([&] { import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu"); });
  };
  EXPECT_CONTAINS(fails_with(std::string(kGenRow) +
                             "VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,fast\n"),
                  gen.string() + ":3: column 'latency' 'fast' is not a finite decimal number");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,-0.02\n"),
                  gen.string() + ":2: column 'latency' is -0.02; expected a number > 0");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,generation_attention,fa,4,1,8,3,128,1,bfloat16,bfloat16,15,0,0.02\n"),
                  gen.string() + ":2: column 'num_heads' 8 is not a multiple of num_key_value_heads 3");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,generation_attention,fa,4,2,8,2,128,1,bfloat16,bfloat16,15,0,0.02\n"),
                  gen.string() + ":2: column 'isl' is 2");
  EXPECT_CONTAINS(fails_with(std::string(kGenRow) +
                             "VLLM,9.0,GPU Y,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,0.02\n"),
                  gen.string() + ":3: column 'device' is 'GPU Y' but earlier rows name 'GPU X'");
  EXPECT_CONTAINS(fails_with("VLLM,9.1,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,0.02\n"),
                  gen.string() + ":2: column 'version' is '9.1'");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,context_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,15,0,0.02\n"),
                  gen.string() + ":2: column 'op_name' is 'context_attention'");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,generation_attention,fa,4,1,8,2,128,1,bfloat16,bfloat16,-1,0,0.02\n"),
                  gen.string() + ":2: column 'step' is -1");
  // A header without a required column names it and lists the file's columns.
  dir.write("attention/vllm/9.0/generation_attention_perf.csv", "framework,version,device,op_name,latency\n");
  const std::string msg = error_of([&] { import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu"); });
  EXPECT_CONTAINS(msg, gen.string() + ": no column 'batch_size'");
  EXPECT_CONTAINS(msg, "framework, version, device, op_name, latency");
}

constexpr std::string_view kMoeHeader =
    "framework,version,device,op_name,kernel_source,moe_dtype,num_tokens,hidden_size,inter_size,topk,num_experts,"
    "moe_tp_size,moe_ep_size,distribution,latency\n";

TEST(ImportCsv, SyntheticMoeTableMapsFiltersAndFailsWithFileAndLine) {
  TempDir dir;
  dir.write("attention/vllm/9.0/generation_attention_perf.csv", std::string(kGenHeader) + std::string(kGenRow));
  dir.write("attention/vllm/9.0/context_attention_perf.csv", std::string(kCtxHeader) + std::string(kCtxRow));
  const std::string good = "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,2,1,balanced,0.5\n";
  const fs::path csv = dir.write("moe/vllm/9.0/moe_perf.csv",
                                 std::string(kMoeHeader) + good +
                                     "VLLM,9.0,GPU X,moe,k,float16,1,2048,768,8,128,1,1,balanced,0.05\n"
                                     "VLLM,9.0,GPU X,moe,k,fp8,16,4096,14336,2,8,2,1,balanced,0.3\n"
                                     "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,1,2,balanced,0.3\n"
                                     "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,2,1,power_law_1.2,0.6\n");
  const Profile p = import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu");
  ASSERT_EQ(p.moe.size(), 2u);
  EXPECT_EQ(p.moe[0], (MoePoint{16, 4096, 7168, 8, 2, 2, "bf16", 0.5e-3, 2}));
  EXPECT_EQ(p.moe[1], (MoePoint{1, 2048, 768, 128, 8, 1, "fp16", 0.05e-3, 3}));
  EXPECT_EQ(p.provenance["skipped_rows"]["moe_dtype fp8 (only 16-bit experts)"], 1);
  EXPECT_EQ(p.provenance["skipped_rows"]["moe_ep_size != 1 (kvsim shards experts by TP)"], 1);
  EXPECT_EQ(p.provenance["skipped_rows"]["moe distribution power_law_1.2 (kvsim assumes balanced routing)"], 1);

  auto fails_with = [&](const std::string& rows) {
    dir.write("moe/vllm/9.0/moe_perf.csv", std::string(kMoeHeader) + rows);
    return error_of([&] { import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu"); });
  };
  EXPECT_CONTAINS(fails_with(good + "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,3,1,balanced,0.5\n"),
                  csv.string() + ":3: column 'inter_size' 14336 is not divisible by moe_tp_size 3");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,9,8,1,1,balanced,0.5\n"),
                  csv.string() + ":2: column 'topk' 9 is more than num_experts 8");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,moe,k,bfloat16,0,4096,14336,2,8,1,1,balanced,0.5\n"),
                  csv.string() + ":2: column 'num_tokens'");
  EXPECT_CONTAINS(fails_with("VLLM,9.0,GPU X,gemm,k,bfloat16,16,4096,14336,2,8,1,1,balanced,0.5\n"),
                  csv.string() + ":2: column 'op_name' is 'gemm'; expected 'moe'");
  EXPECT_CONTAINS(fails_with("VLLM,9.1,GPU X,moe,k,bfloat16,16,4096,14336,2,8,1,1,balanced,0.5\n"),
                  csv.string() + ":2: column 'version' is '9.1'");
  EXPECT_CONTAINS(fails_with(good + "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,1,1,balanced,0\n"),
                  csv.string() + ":3: column 'latency'");
  // A table without MoE rows kvsim can use imports with a note; no table at all gives another note.
  dir.write("moe/vllm/9.0/moe_perf.csv",
            std::string(kMoeHeader) + "VLLM,9.0,GPU X,moe,k,bfloat16,16,4096,14336,2,8,1,1,power_law_1.01,0.5\n");
  const Profile none = import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu");
  EXPECT_TRUE(none.moe.empty());
  EXPECT_CONTAINS(none.provenance["notes"].dump(), "moe_perf.csv has no balanced-routing bf16/fp16 rows");
  fs::remove(csv);
  EXPECT_CONTAINS(import_aiconfigurator(dir.path(), "vllm", "9.0", "test-gpu").provenance["notes"].dump(),
                  "no moe/vllm/9.0/moe_perf.csv: the profile has no MoE points");
}

}  // namespace
}  // namespace kvsim
