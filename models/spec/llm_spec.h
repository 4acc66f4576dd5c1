// Architecture card of an LLM: what the cost model and the KV accounting need to know about a model.
// Cards are JSON files in models/specs/llm/ (one per model, with a `source`), embedded into the binary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/types.h"

namespace kvsim {

// Mixture-of-experts feed-forward (Mixtral, DeepSeek-V3). Layers [0, first_dense_layers) use a dense MLP with
// `dense_intermediate_size`; the others route each token to `experts_per_token` of `num_experts` experts of
// `expert_intermediate_size` plus `num_shared_experts` always-on experts of the same size.
struct MoeSpec {
  int num_experts = 0;
  int experts_per_token = 0;
  int num_shared_experts = 0;
  int expert_intermediate_size = 0;
  int first_dense_layers = 0;
  int dense_intermediate_size = 0;
};

// Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds, per token per layer, one latent vector of
// `kv_lora_rank` elements plus a shared RoPE key of `qk_rope_head_dim` elements.
struct MlaSpec {
  int q_lora_rank = 0;        // 0 = queries projected directly from the hidden state
  int kv_lora_rank = 0;       // d_c (512 for DeepSeek-V3)
  int qk_nope_head_dim = 0;   // 128
  int qk_rope_head_dim = 0;   // d_R (64)
  int v_head_dim = 0;         // 128
};

// How a model's weights are stored and what the GEMMs pay to read them (the formats and their assumptions:
// models/spec/weight_format.h). A card's weights are all of its dtype, read as stored.
struct WeightStorage {
  double linear_bits = 16;        // stored bits per weight of attention, MLP and expert projections (scales in)
  double embedding_bits = 16;     // stored bits per weight of the embeddings and the LM head
  double gemm_read_bits = 16;     // bits per weight the GEMMs read (DFloat11: its bf16 buffer)
  bool fp8_tensor_cores = false;  // GEMMs at the card's FP8 rate (where it has one)
  double dequant_instructions = 0;     // CUDA-core instructions per weight per 64-row activation tile (W4A16)
  double decompress_instructions = 0;  // per weight per forward pass (DFloat11's decoder; 0: none)
  double linear_bytes() const { return linear_bits / 8; }
  double embedding_bytes() const { return embedding_bits / 8; }
};

// The most layers a card or a Hugging Face config may give (per-layer tables are built from it): far beyond any real
// model (Llama-3.1-405B has 126).
inline constexpr int kMaxModelLayers = 10000;

struct LlmSpec {
  std::string name;           // registry name, lowercase-hyphen: "llama-3.1-8b"
  std::string display_name;   // "Llama-3.1-8B"
  std::string source;         // where the numbers come from (config.json URL, paper)
  std::string notes;          // optional caveats of the card (what is excluded, which variant), free text
  int num_layers = 0;
  int hidden_size = 0;
  int num_attention_heads = 0;  // query heads H_q
  int num_kv_heads = 0;         // H_kv (== H_q for MHA, 1 for MQA); for MLA models equal to H_q (unused for KV)
  int head_dim = 0;             // d
  int intermediate_size = 0;    // dense MLP width (gated: gate + up + down)
  int vocab_size = 0;
  bool tie_word_embeddings = false;
  TokenCount max_context_tokens = 0;
  std::string weight_dtype = "bf16";  // the card's, or the scenario's model_weights.format
  WeightStorage weights;              // how they are stored and read (the card's dtype, or that format)
  std::string kv_dtype = "bf16";      // default KV dtype of the card; kv_bytes_per_element follows from it
  double kv_bytes_per_element = 2.0;  // default KV dtype of the card (bf16 = 2)
  // Per layer: 0 = global (full) attention, W > 0 = sliding window of W tokens. Size num_layers.
  std::vector<TokenCount> layer_window_tokens;
  std::optional<MoeSpec> moe;
  std::optional<MlaSpec> mla;
  std::optional<double> reported_params_billion;  // from the card's source, checked against parameter_count()

  // Parameters computed from the architecture (embeddings, attention, MLP or experts, LM head; norms ignored).
  double parameter_count() const;
  // Parameters touched per token (MoE: routed top-k + shared experts only).
  double active_parameter_count() const;
  // Parameters of the embeddings and the LM head (untied).
  double embedding_parameter_count() const;
  double weight_bytes() const {
    const double embedding = embedding_parameter_count();
    return (parameter_count() - embedding) * weights.linear_bytes() + embedding * weights.embedding_bytes();
  }
  // Parameters of the routed experts (what expert parallelism splits); 0 for a dense model.
  double routed_expert_parameter_count() const;
  // KV-cache elements per token per layer at full attention: 2*H_kv*d, or kv_lora_rank + qk_rope_head_dim (MLA).
  std::int64_t kv_elements_per_token_per_layer() const;
  // Bytes of KV cache per token summed over all layers, counting every layer (windowing ignored).
  double kv_bytes_per_token() const { return kv_elements_per_token_per_layer() * kv_bytes_per_element * num_layers; }
  int num_sliding_layers() const;
};

// Parses one card; `where` names the file in messages. Strict: unknown keys are errors; ranges are validated
// (positive sizes, H_q divisible by H_kv, one window per layer, ...). Schema: models/specs/README.md.
LlmSpec parse_llm_spec(const nlohmann::json& card, const std::string& where);
// The spec as a card that parse_llm_spec() accepts (the layer pattern written as an explicit
// `attention.layer_window_tokens` list), so parse_llm_spec(to_json(s)) reproduces s.
nlohmann::json to_json(const LlmSpec& spec);

}  // namespace kvsim
