// Model cards read from Hugging Face config.json files: parameter counts and KV bytes per token computed by hand
// for a dense MHA, a GQA, an MoE and an MLA model (their papers' figures), layer patterns, and strict errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "models/spec/catalog.h"
#include "models/spec/hf_config.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

using testing::error_of;

// The config written to a file in a folder named `folder` (the card takes the folder's name).
std::filesystem::path write_config(const std::string& folder, const nlohmann::json& config) {
  const auto dir = std::filesystem::temp_directory_path() / ("kvsim-hf-tests-" + std::to_string(::getpid())) / folder;
  std::filesystem::create_directories(dir);
  const auto path = dir / "config.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

LlmSpec load(const std::string& folder, const nlohmann::json& config) {
  return *resolve_model(write_config(folder, config).string(), "/", "model");
}

// The public config.json values of each model (huggingface.co/<id>/blob/main/config.json), the keys kvsim reads.
nlohmann::json llama2_7b() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 4096}, {"intermediate_size", 11008},
          {"max_position_embeddings", 4096}, {"num_attention_heads", 32}, {"num_hidden_layers", 32},
          {"num_key_value_heads", 32}, {"vocab_size", 32000}, {"tie_word_embeddings", false},
          {"torch_dtype", "float16"}, {"rope_theta", 10000.0}, {"rms_norm_eps", 1e-5}};
}
nlohmann::json llama31_8b() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 4096}, {"intermediate_size", 14336},
          {"max_position_embeddings", 131072}, {"num_attention_heads", 32}, {"num_hidden_layers", 32},
          {"num_key_value_heads", 8}, {"vocab_size", 128256}, {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"}, {"rope_scaling", {{"factor", 8.0}, {"rope_type", "llama3"}}}};
}
nlohmann::json mixtral_8x7b() {
  return {{"architectures", {"MixtralForCausalLM"}}, {"hidden_size", 4096}, {"intermediate_size", 14336},
          {"max_position_embeddings", 32768}, {"num_attention_heads", 32}, {"num_hidden_layers", 32},
          {"num_key_value_heads", 8}, {"num_local_experts", 8}, {"num_experts_per_tok", 2},
          {"sliding_window", nullptr}, {"vocab_size", 32000}, {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"}};
}
nlohmann::json deepseek_v3() {
  return {{"architectures", {"DeepseekV3ForCausalLM"}}, {"hidden_size", 7168}, {"intermediate_size", 18432},
          {"moe_intermediate_size", 2048}, {"max_position_embeddings", 163840}, {"num_attention_heads", 128},
          {"num_key_value_heads", 128}, {"num_hidden_layers", 61}, {"q_lora_rank", 1536}, {"kv_lora_rank", 512},
          {"qk_nope_head_dim", 128}, {"qk_rope_head_dim", 64}, {"v_head_dim", 128}, {"n_routed_experts", 256},
          {"n_shared_experts", 1}, {"num_experts_per_tok", 8}, {"first_k_dense_replace", 3}, {"moe_layer_freq", 1},
          {"num_nextn_predict_layers", 1}, {"vocab_size", 129280}, {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"},
          {"quantization_config", {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"weight_block_size", {128, 128}}}}};
}

TEST(HfConfig, DenseGqaMoeAndMlaModelsHaveTheirPapersSizes) {
  // Llama 2 7B (MHA): 2 x 32000 x 4096 embeddings + 32 x (4 x 4096^2 + 3 x 4096 x 11008) = 6,738,149,376 (6.7B);
  // KV 2 x 32 heads x 128 x 2 B x 32 layers = 524,288 B per token.
  const LlmSpec mha = load("Llama-2-7b-hf", llama2_7b());
  EXPECT_EQ(mha.name, "llama-2-7b-hf");
  EXPECT_DOUBLE_EQ(mha.parameter_count(), 6'738'149'376.0);
  EXPECT_DOUBLE_EQ(mha.kv_bytes_per_token(), 524'288.0);
  EXPECT_EQ(mha.weight_dtype, "fp16");
  // Llama 3.1 8B (GQA, 8 KV heads): 2 x 128256 x 4096 + 32 x (41,943,040 + 176,160,768) = 8,029,995,008 (8.0B);
  // KV 2 x 8 x 128 x 2 B x 32 = 131,072 B per token. The catalog's card says the same.
  const LlmSpec gqa = load("Llama-3.1-8B", llama31_8b());
  EXPECT_DOUBLE_EQ(gqa.parameter_count(), 8'029'995'008.0);
  EXPECT_DOUBLE_EQ(gqa.kv_bytes_per_token(), 131'072.0);
  EXPECT_DOUBLE_EQ(gqa.parameter_count(), Catalog::builtin().model("llama-3.1-8b", "t").parameter_count());
  EXPECT_EQ(gqa.max_context_tokens, 131072);
  // Mixtral 8x7B: per layer attention 41,943,040 + router 32,768 + 8 experts x 176,160,768 = 1,451,261,952; x 32 +
  // 262,144,000 embeddings = 46,702,526,464 (46.7B); 2 experts active: 12,879,659,008 (12.9B).
  const LlmSpec moe = load("Mixtral-8x7B-v0.1", mixtral_8x7b());
  EXPECT_DOUBLE_EQ(moe.parameter_count(), 46'702'526'464.0);
  EXPECT_DOUBLE_EQ(moe.active_parameter_count(), 12'879'659'008.0);
  EXPECT_DOUBLE_EQ(moe.kv_bytes_per_token(), 131'072.0);
  EXPECT_TRUE(moe.layer_window_tokens.empty() || moe.num_sliding_layers() == 0);
  // DeepSeek-V3 (MLA, 256 + 1 experts, 3 dense layers, FP8 weights): 671,025,397,760 parameters (671B), 37.6B active;
  // the cache holds the 512 + 64 latent per layer: 576 x 2 B x 61 = 70,272 B per token.
  const LlmSpec mla = load("DeepSeek-V3", deepseek_v3());
  EXPECT_DOUBLE_EQ(mla.parameter_count(), 671'025'397'760.0);
  EXPECT_DOUBLE_EQ(mla.active_parameter_count(), 37'551'276'032.0);
  EXPECT_DOUBLE_EQ(mla.kv_bytes_per_token(), 70'272.0);
  EXPECT_EQ(mla.weight_dtype, "fp8");
  EXPECT_EQ(mla.kv_dtype, "bf16");
  EXPECT_NE(mla.notes.find("multi-token-prediction"), std::string::npos);
}

TEST(HfConfig, SlidingWindowLayersFollowEachArchitecture) {
  // Gemma 2: local layers first, alternating; Mistral 7B v0.1: every layer; Qwen2 with use_sliding_window false: none,
  // with it true: the layers from max_window_layers on; layer_types when given.
  nlohmann::json gemma2 = {{"architectures", {"Gemma2ForCausalLM"}}, {"hidden_size", 3584},
                           {"intermediate_size", 14336}, {"max_position_embeddings", 8192},
                           {"num_attention_heads", 16}, {"num_hidden_layers", 42}, {"num_key_value_heads", 8},
                           {"head_dim", 256}, {"sliding_window", 4096}, {"vocab_size", 256000},
                           {"torch_dtype", "float32"}};
  const LlmSpec g = load("gemma-2-9b", gemma2);
  EXPECT_EQ(g.num_sliding_layers(), 21);
  EXPECT_EQ(g.layer_window_tokens[0], 4096);
  EXPECT_EQ(g.layer_window_tokens[1], 0);
  EXPECT_TRUE(g.tie_word_embeddings);  // Gemma2Config's default
  EXPECT_DOUBLE_EQ(g.parameter_count(), Catalog::builtin().model("gemma-2-9b", "t").parameter_count());
  nlohmann::json mistral = llama31_8b();
  mistral["architectures"] = {"MistralForCausalLM"};
  EXPECT_NE(error_of([&] { load("mistral", mistral); }).find("sliding_window"), std::string::npos);
  mistral["sliding_window"] = 4096;
  EXPECT_EQ(load("mistral", mistral).num_sliding_layers(), 32);
  mistral["sliding_window"] = nullptr;
  EXPECT_EQ(load("mistral", mistral).num_sliding_layers(), 0);
  nlohmann::json qwen = llama31_8b();
  qwen["architectures"] = {"Qwen2ForCausalLM"};
  qwen["sliding_window"] = 1024;
  qwen["use_sliding_window"] = false;
  EXPECT_EQ(load("qwen", qwen).num_sliding_layers(), 0);
  qwen["use_sliding_window"] = true;
  qwen["max_window_layers"] = 28;
  EXPECT_EQ(load("qwen", qwen).num_sliding_layers(), 4);
  qwen["layer_types"] = nlohmann::json::array();
  for (int i = 0; i < 32; ++i) qwen["layer_types"].push_back(i < 2 ? "sliding_attention" : "full_attention");
  EXPECT_EQ(load("qwen", qwen).num_sliding_layers(), 2);
  qwen["layer_types"][5] = "chunked_attention";
  EXPECT_NE(error_of([&] { load("qwen", qwen); }).find("chunked_attention"), std::string::npos);
}

TEST(HfConfig, WhatKvsimCannotModelIsAnErrorNamingTheFileAndKey) {
  nlohmann::json c = llama31_8b();
  c["architectures"] = {"Phi3ForCausalLM"};
  std::string e = error_of([&] { load("phi", c); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("architectures"), std::string::npos) << e;
  EXPECT_NE(e.find("LlamaForCausalLM"), std::string::npos) << e;  // lists what it reads
  c = llama31_8b();
  c.erase("num_key_value_heads");
  e = error_of([&] { load("missing", c); });
  EXPECT_NE(e.find("num_key_value_heads: required key is missing"), std::string::npos) << e;
  c = llama31_8b();
  c["quantization_config"] = {{"quant_method", "awq"}, {"bits", 4}};
  e = error_of([&] { load("awq", c); });
  EXPECT_NE(e.find("quantization_config.quant_method"), std::string::npos) << e;
  c = llama31_8b();
  c.erase("torch_dtype");
  EXPECT_NE(error_of([&] { load("nodtype", c); }).find("torch_dtype"), std::string::npos);
  c = mixtral_8x7b();
  c["architectures"] = {"Qwen3MoeForCausalLM"};
  c["num_experts"] = 128;
  c["moe_intermediate_size"] = 768;
  c["mlp_only_layers"] = {0, 1};
  EXPECT_NE(error_of([&] { load("qwen3moe", c); }).find("mlp_only_layers"), std::string::npos);
  c["mlp_only_layers"] = nlohmann::json::array();
  EXPECT_EQ(load("qwen3moe", c).moe->num_experts, 128);
  // A kvsim card file is read as a card; a name without '/' or ".json" is a catalog name.
  const auto card = write_config("card", to_json(Catalog::builtin().model("llama-3.1-8b", "t")));
  EXPECT_DOUBLE_EQ(resolve_model(card.string(), "/", "model")->parameter_count(), 8'029'995'008.0);
  EXPECT_NE(error_of([&] { resolve_model("llama-9", "/", "model"); }).find("unknown model"), std::string::npos);
  EXPECT_NE(error_of([&] { resolve_model("nowhere/config.json", "/tmp", "model"); }).find("nowhere"),
            std::string::npos);
}

}  // namespace
}  // namespace kvsim
