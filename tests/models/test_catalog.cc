// Tests of the model and GPU catalogs: every embedded card parses, names are registry names, computed parameter
// counts match the published ones, layer patterns expand as the reference implementations do, and malformed
// cards are rejected with messages that name the file and the key.
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/error_of.h"
#include <nlohmann/json.hpp>

#include "models/spec/catalog.h"
#include "sim/core/error.h"

namespace kvsim {
namespace {

using Files = std::vector<std::pair<std::string_view, std::string_view>>;

const Catalog& catalog() { return Catalog::builtin(); }

using testing::error_of;

// A card for parse tests: the catalog's card of `name` written back as JSON.
nlohmann::json model_card(std::string_view name) { return to_json(catalog().model(name, "test")); }
nlohmann::json gpu_card(std::string_view name) { return to_json(catalog().gpu(name, "test")); }

// `card` with `key` set to `value`.
nlohmann::json with(nlohmann::json card, const std::string& key, nlohmann::json value) {
  card[key] = std::move(value);
  return card;
}

bool is_registry_name(const std::string& name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

// ---- the embedded catalog -----------------------------------------------------------------------------------

TEST(Catalog, HoldsTheDocumentedModelsAndGpus) {
  const std::vector<std::string> models = {
      "deepseek-v3",      "gemma-2-27b",   "gemma-2-9b",    "gemma-3-27b",           "llama-2-7b",
      "llama-3.1-405b",   "llama-3.1-70b", "llama-3.1-8b",  "llama-4-scout-17b-16e", "llama-4-scout-17b-16e-fp8",
      "mistral-7b",       "mistral-7b-v0.3", "mistral-nemo-12b", "mixtral-8x22b",    "mixtral-8x7b",
      "qwen2.5-72b",      "qwen2.5-7b",    "qwen3-14b",     "qwen3-30b-a3b",         "qwen3-32b",
      "yi-34b"};
  std::vector<std::string> have;
  for (const LlmSpec& m : catalog().models()) have.push_back(m.name);
  EXPECT_EQ(have, models);  // models() is sorted by name

  std::set<std::string> gpus;
  for (const GpuSpec& g : catalog().gpus()) gpus.insert(g.name);
  EXPECT_EQ(gpus, (std::set<std::string>{"a100-sxm-80gb", "b200", "h100-sxm", "h200-sxm", "l40s", "rtx-4090", "rtx-pro-6000"}));
}

TEST(Catalog, NamesAreUniqueRegistryNamesAndCardsCiteSources) {
  std::set<std::string> seen;
  for (const LlmSpec& m : catalog().models()) {
    EXPECT_TRUE(is_registry_name(m.name)) << m.name;
    EXPECT_TRUE(seen.insert(m.name).second) << "duplicate " << m.name;
    EXPECT_EQ(m.source.rfind("https://", 0), 0u) << m.name;
    EXPECT_EQ(static_cast<int>(m.layer_window_tokens.size()), m.num_layers) << m.name;
  }
  for (const GpuSpec& g : catalog().gpus()) {
    EXPECT_TRUE(is_registry_name(g.name)) << g.name;
    EXPECT_TRUE(seen.insert(g.name).second) << "duplicate " << g.name;
    EXPECT_EQ(g.source.rfind("https://", 0), 0u) << g.name;
    EXPECT_FALSE(g.price_source.empty()) << g.name;
  }
}

TEST(Catalog, EveryCardRoundTripsThroughToJson) {
  for (const LlmSpec& m : catalog().models()) {
    const nlohmann::json card = to_json(m);
    EXPECT_EQ(to_json(parse_llm_spec(card, "round-trip")), card) << m.name;
  }
  for (const GpuSpec& g : catalog().gpus()) {
    const nlohmann::json card = to_json(g);
    EXPECT_EQ(to_json(parse_gpu_spec(card, "round-trip")), card) << g.name;
  }
}

// ---- parameter counts ---------------------------------------------------------------------------------------

TEST(LlmSpec, ComputedParameterCountsMatchReportedWithin3Percent) {
  int checked = 0;
  for (const LlmSpec& m : catalog().models()) {
    if (!m.reported_params_billion) continue;
    const double reported = *m.reported_params_billion * 1e9;
    EXPECT_NEAR(m.parameter_count() / reported, 1.0, 0.03)
        << m.name << ": computed " << m.parameter_count() / 1e9 << "B, reported " << *m.reported_params_billion;
    ++checked;
  }
  EXPECT_EQ(checked, 21);
}

TEST(LlmSpec, HandCountedLlama31_8B) {
  const LlmSpec& m = catalog().model("llama-3.1-8b", "test");
  const double embeddings = 128256.0 * 4096;
  const double attention = 4096.0 * 4096 * 2 + 4096.0 * 1024 * 2;  // Q, O + K, V
  const double mlp = 3.0 * 4096 * 14336;
  EXPECT_DOUBLE_EQ(m.parameter_count(), 2 * embeddings + 32 * (attention + mlp));
  // The checkpoint's 8,030,261,248 also holds 65 RMSNorm weight vectors of 4096 (266,240), which are ignored.
  EXPECT_DOUBLE_EQ(m.parameter_count(), 8030261248.0 - 65 * 4096.0);
  EXPECT_DOUBLE_EQ(m.active_parameter_count(), m.parameter_count());
  EXPECT_DOUBLE_EQ(m.weight_bytes(), 2.0 * m.parameter_count());
}

TEST(LlmSpec, TiedEmbeddingsAreCountedOnce) {
  nlohmann::json card = model_card("llama-3.1-8b");
  const double untied = parse_llm_spec(card, "test").parameter_count();
  card["tie_word_embeddings"] = true;
  EXPECT_DOUBLE_EQ(untied - parse_llm_spec(card, "test").parameter_count(), 128256.0 * 4096);
}

TEST(LlmSpec, MoeActiveParametersCountRoutedTopKAndSharedExperts) {
  const LlmSpec& mixtral = catalog().model("mixtral-8x7b", "test");
  EXPECT_NEAR(mixtral.active_parameter_count() / 12.9e9, 1.0, 0.03);  // "12.9B active" (Mixtral paper)
  const double expert = 3.0 * 4096 * 14336;
  EXPECT_DOUBLE_EQ(mixtral.parameter_count() - mixtral.active_parameter_count(), 32 * 6 * expert);

  const LlmSpec& v3 = catalog().model("deepseek-v3", "test");
  EXPECT_NEAR(v3.active_parameter_count() / 37e9, 1.0, 0.03);  // "37B activated" (DeepSeek-V3 report)
  EXPECT_DOUBLE_EQ(v3.parameter_count() - v3.active_parameter_count(), 58 * (256 - 8) * 3.0 * 7168 * 2048);
}

TEST(LlmSpec, DeepSeekV3MlaAttentionIsHandCounted) {
  const LlmSpec& v3 = catalog().model("deepseek-v3", "test");
  const double q = 7168.0 * 1536 + 1536.0 * 128 * 192;  // q_a, q_b
  const double kv = 7168.0 * (512 + 64) + 512.0 * 128 * (128 + 128);  // kv_a, kv_b
  const double o = 128.0 * 128 * 7168;
  const double embeddings = 2 * 129280.0 * 7168;
  const double dense = 3 * 3.0 * 7168 * 18432;
  const double moe = 58 * (7168.0 * 256 + 257 * 3.0 * 7168 * 2048);
  EXPECT_DOUBLE_EQ(v3.parameter_count(), embeddings + 61 * (q + kv + o) + dense + moe);
  EXPECT_EQ(v3.weights.linear_bytes(), 1.0);  // released in FP8
}

// ---- KV layout ----------------------------------------------------------------------------------------------

TEST(LlmSpec, Llama31_8BKvBytesPerToken) {
  const LlmSpec& m = catalog().model("llama-3.1-8b", "test");
  EXPECT_EQ(m.kv_elements_per_token_per_layer(), 2 * 8 * 128);
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(), 131072.0);  // 32 layers * 2 * 8 * 128 * 2 bytes
  EXPECT_EQ(m.num_sliding_layers(), 0);
}

TEST(LlmSpec, Llama2_7BIsMultiHead) {
  const LlmSpec& m = catalog().model("llama-2-7b", "test");
  EXPECT_EQ(m.num_kv_heads, m.num_attention_heads);
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(), 524288.0);  // 512 KiB
}

TEST(LlmSpec, DeepSeekV3KvIsTheMlaLatent) {
  const LlmSpec& m = catalog().model("deepseek-v3", "test");
  EXPECT_EQ(m.kv_elements_per_token_per_layer(), 576);  // kv_lora_rank 512 + rope 64
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(), 61 * 576 * 2.0);
}

TEST(LlmSpec, MistralSlidesInEveryLayer) {
  const LlmSpec& m = catalog().model("mistral-7b", "test");
  EXPECT_EQ(m.num_sliding_layers(), 32);
  for (TokenCount w : m.layer_window_tokens) EXPECT_EQ(w, 4096);
}

TEST(LlmSpec, Gemma2AlternatesStartingWithALocalLayer) {
  for (std::string_view name : {"gemma-2-9b", "gemma-2-27b"}) {
    const LlmSpec& m = catalog().model(name, "test");
    EXPECT_EQ(m.num_sliding_layers(), m.num_layers / 2) << name;
    for (int i = 0; i < m.num_layers; ++i) {
      EXPECT_EQ(m.layer_window_tokens[i], i % 2 == 0 ? 4096 : 0) << name << " layer " << i;
    }
  }
  EXPECT_EQ(catalog().model("gemma-2-9b", "test").head_dim, 256);
  EXPECT_EQ(catalog().model("gemma-2-27b", "test").head_dim, 128);
}

TEST(LlmSpec, Gemma3HasFiveLocalLayersPerGlobalLayer) {
  const LlmSpec& m = catalog().model("gemma-3-27b", "test");
  ASSERT_EQ(m.num_layers, 62);
  EXPECT_EQ(m.num_sliding_layers(), 52);
  int global = 0;
  for (int i = 0; i < m.num_layers; ++i) {
    const bool is_global = (i + 1) % 6 == 0;  // layers 5, 11, ..., 59
    EXPECT_EQ(m.layer_window_tokens[i], is_global ? 0 : 1024) << "layer " << i;
    global += is_global ? 1 : 0;
  }
  EXPECT_EQ(global, 10);
  EXPECT_EQ(m.layer_window_tokens[60], 1024);
  EXPECT_EQ(m.layer_window_tokens[61], 1024);
}

TEST(LlmSpec, ExplicitLayerWindowsAreAccepted) {
  nlohmann::json card = model_card("llama-3.1-8b");
  std::vector<TokenCount> windows(32, 0);
  windows[3] = 512;
  card["attention"] = {{"layer_window_tokens", windows}};
  const LlmSpec m = parse_llm_spec(card, "test");
  EXPECT_EQ(m.layer_window_tokens, windows);
  EXPECT_EQ(m.num_sliding_layers(), 1);
}

// ---- strict parsing -----------------------------------------------------------------------------------------

TEST(LlmSpecParse, UnknownKeyNamesTheKeyAndTheFile) {
  nlohmann::json card = model_card("llama-3.1-8b");
  card["num_layer"] = 32;
  const std::string msg = error_of([&] { parse_llm_spec(card, "models/specs/llm/x.json"); });
  EXPECT_NE(msg.find("num_layer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("models/specs/llm/x.json"), std::string::npos) << msg;
}

TEST(LlmSpecParse, UnknownNestedKeyIsRejected) {
  nlohmann::json card = model_card("mixtral-8x7b");
  card["moe"]["top_k"] = 2;
  const std::string msg = error_of([&] { parse_llm_spec(card, "card.json"); });
  EXPECT_NE(msg.find("top_k"), std::string::npos) << msg;
}

TEST(LlmSpecParse, MissingRequiredKeyIsNamed) {
  nlohmann::json card = model_card("llama-3.1-8b");
  card.erase("hidden_size");
  const std::string msg = error_of([&] { parse_llm_spec(card, "card.json"); });
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
}

TEST(LlmSpecParse, RangesAreValidated) {
  const auto rejects = [](nlohmann::json card, std::string_view key_in_message) {
    const std::string msg = error_of([&] { parse_llm_spec(card, "card.json"); });
    EXPECT_NE(msg.find(key_in_message), std::string::npos) << msg;
  };
  nlohmann::json card = model_card("llama-3.1-8b");
  rejects(with(card, "num_layers", 0), "num_layers");
  rejects(with(card, "num_kv_heads", 3), "num_kv_heads");  // 32 % 3 != 0
  rejects(with(card, "head_dim", -128), "head_dim");
  rejects(with(card, "kv_dtype", "bf15"), "kv_dtype");
  rejects(with(card, "tie_word_embeddings", "no"), "tie_word_embeddings");
  rejects(with(card, "reported_params_billion", -1), "reported_params_billion");
  rejects(with(card, "attention", {{"layer_window_tokens", {4096, 0}}}), "layer_window_tokens");
  rejects(with(card, "attention", {{"sliding_window_tokens", 4096}}), "pattern");
  rejects(with(card, "attention", {{"sliding_window_tokens", 4096}, {"pattern", "every"}}), "every");
  rejects(with(card, "attention", {{"pattern", "all"}}), "sliding_window_tokens");

  nlohmann::json moe = model_card("mixtral-8x7b");
  moe["moe"]["experts_per_token"] = 9;
  rejects(moe, "experts_per_token");

  nlohmann::json mla = model_card("deepseek-v3");
  mla["head_dim"] = 128;  // must be qk_nope + qk_rope = 192
  rejects(mla, "head_dim");
}

TEST(GpuSpecParse, UnitsAreConvertedToSi) {
  const GpuSpec& h100 = catalog().gpu("h100-sxm", "test");
  EXPECT_DOUBLE_EQ(h100.memory_bytes, 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(h100.hbm_bandwidth_Bps, 3.35e12);
  EXPECT_DOUBLE_EQ(h100.nvlink_bandwidth_Bps, 450e9);
  EXPECT_DOUBLE_EQ(h100.pcie_bandwidth_Bps, 64e9);
  EXPECT_EQ(catalog().gpu("l40s", "test").nvlink_bandwidth_Bps, 0.0);
}

TEST(GpuSpec, DenseFlopsAreHalfTheSparsityFigures) {
  // Hand check: H100 SXM5 datasheet says 1,979 TFLOP/s BF16 "with sparsity"; dense is 132 SMs x 4096 FLOP/clk x
  // 1.83 GHz = 989.4 TFLOP/s (Hopper whitepaper).
  const GpuSpec& h100 = catalog().gpu("h100-sxm", "test");
  EXPECT_DOUBLE_EQ(h100.flops_for("bf16"), 989.4e12);
  EXPECT_NEAR(132 * 4096 * 1.83e9, h100.flops_for("bf16"), 0.1e12);
  EXPECT_DOUBLE_EQ(h100.flops_for("fp8"), 1978.9e12);
  EXPECT_DOUBLE_EQ(catalog().gpu("a100-sxm-80gb", "test").flops_for("bf16"), 312e12);
}

TEST(GpuSpec, MissingDtypeListsWhatTheCardHas) {
  const GpuSpec& a100 = catalog().gpu("a100-sxm-80gb", "test");  // Ampere: no FP8 tensor cores
  const std::string msg = error_of([&] { a100.flops_for("fp8"); });
  EXPECT_NE(msg.find("fp8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bf16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a100-sxm-80gb"), std::string::npos) << msg;
}

TEST(GpuSpecParse, UnknownKeysAndDtypesAreRejected) {
  nlohmann::json card = gpu_card("h100-sxm");
  card["memory_GB"] = 80;
  std::string msg = error_of([&] { parse_gpu_spec(card, "models/specs/gpu/h100-sxm.json"); });
  EXPECT_NE(msg.find("memory_GB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("models/specs/gpu/h100-sxm.json"), std::string::npos) << msg;

  card = gpu_card("h100-sxm");
  card["dense_tflops"]["fp4"] = 4000;
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("fp4"), std::string::npos) << msg;

  card = gpu_card("h100-sxm");
  card["dense_tflops"] = nlohmann::json::object();
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("dense_tflops"), std::string::npos) << msg;

  card = gpu_card("h100-sxm");
  card["hbm_bandwidth_GBps"] = 0;
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("hbm_bandwidth_GBps"), std::string::npos) << msg;

  card = gpu_card("h100-sxm");
  card.erase("sm_count");
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("sm_count"), std::string::npos) << msg;

  card = gpu_card("h100-sxm");
  card["boost_clock_MHz"] = 0;
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("boost_clock_MHz"), std::string::npos) << msg;

  // boost_clock_MHz is optional: without it the clock is the one the FP32 peak implies at 128 lanes per SM.
  card = gpu_card("h100-sxm");
  EXPECT_DOUBLE_EQ(parse_gpu_spec(card, "card.json").clock_Hz(), 1.98e9);
  card.erase("boost_clock_MHz");
  EXPECT_NEAR(parse_gpu_spec(card, "card.json").clock_Hz(), 66.9e12 / (132 * 256.0), 1.0);

  card = gpu_card("h100-sxm");
  card["fp32_tflops"] = -67;
  msg = error_of([&] { parse_gpu_spec(card, "card.json"); });
  EXPECT_NE(msg.find("fp32_tflops"), std::string::npos) << msg;
}

// ---- lookup and catalog building ----------------------------------------------------------------------------

TEST(Catalog, UnknownModelListsTheAvailableNames) {
  const std::string msg = error_of([] { catalog().model("llama-4", "scenario.json: model"); });
  EXPECT_EQ(msg.rfind("scenario.json: model: unknown model 'llama-4'", 0), 0u) << msg;
  for (const LlmSpec& m : catalog().models()) EXPECT_NE(msg.find(m.name), std::string::npos) << msg;
}

TEST(Catalog, UnknownGpuListsTheAvailableNames) {
  const std::string msg = error_of([] { catalog().gpu("h100", "hardware.gpu"); });
  EXPECT_NE(msg.find("unknown GPU 'h100'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("h100-sxm"), std::string::npos) << msg;
}

TEST(Catalog, FromFilesChecksPathsNamesAndJson) {
  const std::string llama = model_card("llama-3.1-8b").dump();
  EXPECT_EQ(Catalog::from_files({{"llm/llama-3.1-8b.json", llama}}).models().size(), 1u);

  std::string msg = error_of([&] { Catalog::from_files({{"llm/llama3.json", llama}}); });
  EXPECT_NE(msg.find("differs from the file name"), std::string::npos) << msg;

  msg = error_of([&] { Catalog::from_files({{"llm/llama-3.1-8b.json", llama}, {"llm/llama-3.1-8b.json", llama}}); });
  EXPECT_NE(msg.find("duplicate"), std::string::npos) << msg;

  msg = error_of([&] { Catalog::from_files({{"tpu/llama-3.1-8b.json", llama}}); });
  EXPECT_NE(msg.find("models/specs/tpu/llama-3.1-8b.json"), std::string::npos) << msg;

  msg = error_of([&] { Catalog::from_files({{"llm/broken.json", "{\"name\": "}}); });
  EXPECT_NE(msg.find("models/specs/llm/broken.json: invalid JSON"), std::string::npos) << msg;

  nlohmann::json upper = model_card("llama-3.1-8b");
  upper["name"] = "Llama-3.1-8B";
  const std::string upper_text = upper.dump();
  msg = error_of([&] { Catalog::from_files({{"llm/Llama-3.1-8B.json", upper_text}}); });
  EXPECT_NE(msg.find("lowercase"), std::string::npos) << msg;
}

}  // namespace
}  // namespace kvsim
