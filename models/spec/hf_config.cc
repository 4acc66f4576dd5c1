// Model cards from Hugging Face config.json files (see hf_config.h).
#include "models/spec/hf_config.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/spec/catalog.h"
#include "sim/core/error.h"
#include "sim/core/json_file.h"
#include "sim/core/param_reader.h"

namespace kvsim {

namespace {

// How an architecture's config is laid out (transformers' configuration_<model>.py, read 2025–2026).
enum class Family : std::uint8_t {
  kDense,     // Llama, Mistral, Qwen2, Qwen3: one gated MLP per layer
  kMixtral,   // every layer MoE: num_local_experts of intermediate_size
  kQwen3Moe,  // every layer MoE (decoder_sparse_step 1): num_experts of moe_intermediate_size
  kGemma2,    // local and global layers alternate, local first
  kGemma3,    // sliding_window_pattern - 1 local layers, then a global one
  kDeepseek,  // MLA attention; first_k_dense_replace dense layers, then MoE with shared experts
};

struct Architecture {
  HfArchitecture info;
  Family family;
  bool tie_default;       // transformers' default of tie_word_embeddings for this config class
  bool text_config;       // the language model's keys are in `text_config` when it is present
  bool window_required;   // `sliding_window` must be given (null for none): its class default is a window
};

const std::array<Architecture, 11>& architectures() {
  static const std::array<Architecture, 11> kArchitectures = {{
      {{"LlamaForCausalLM", "Llama 2/3, Yi and other models with Llama's layout"}, Family::kDense, false, false, false},
      {{"MistralForCausalLM", "Mistral 7B (v0.1 with its sliding window), Mistral NeMo"}, Family::kDense, false, false,
       true},
      {{"Qwen2ForCausalLM", "Qwen2, Qwen2.5"}, Family::kDense, false, false, false},
      {{"Qwen3ForCausalLM", "Qwen3 dense models"}, Family::kDense, false, false, false},
      {{"MixtralForCausalLM", "Mixtral 8x7B, 8x22B"}, Family::kMixtral, false, false, false},
      {{"Qwen3MoeForCausalLM", "Qwen3 MoE (30B-A3B, 235B-A22B)"}, Family::kQwen3Moe, false, false, false},
      {{"Gemma2ForCausalLM", "Gemma 2"}, Family::kGemma2, true, false, true},
      {{"Gemma3ForCausalLM", "Gemma 3 text models"}, Family::kGemma3, true, false, true},
      {{"Gemma3ForConditionalGeneration", "Gemma 3 (its text_config; the vision tower is not modelled)"},
       Family::kGemma3, true, true, true},
      {{"DeepseekV3ForCausalLM", "DeepSeek-V3, DeepSeek-R1 (MLA, MoE)"}, Family::kDeepseek, false, false, false},
      {{"DeepseekV2ForCausalLM", "DeepSeek-V2 (MLA, MoE)"}, Family::kDeepseek, false, false, false},
  }};
  return kArchitectures;
}

std::string architecture_list() {
  std::vector<std::string_view> names;
  for (const Architecture& a : architectures()) names.push_back(a.info.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// The card's dtype name of a transformers dtype string.
std::string card_dtype(ParamReader& r, const std::string& key, const std::string& dtype) {
  if (dtype == "bfloat16") return "bf16";
  if (dtype == "float16") return "fp16";
  if (dtype == "float32") return "fp32";
  throw KvsimError(fmt::format("{}: '{}' is not a dtype kvsim models; expected bfloat16, float16 or float32",
                               r.full(key), dtype));
}

// Whether `quantization_config` stores the weights in 8-bit floats (the only weight quantization a card can say);
// throws for any other scheme.
bool fp8_weights(ParamReader& q) {
  const std::string method = q.require<std::string>("quant_method");
  if (method == "fp8" || method == "fbgemm_fp8") return true;
  if (method == "compressed-tensors") {
    ParamReader groups = q.child("config_groups");
    bool all_fp8 = !groups.unread_keys().empty();
    for (const std::string& g : groups.unread_keys()) {
      ParamReader weights = groups.child(g).child("weights");
      all_fp8 = all_fp8 && weights.get<int>("num_bits", 0) == 8 && weights.get<std::string>("type", "") == "float";
    }
    if (all_fp8) return true;
  }
  throw KvsimError(fmt::format("{}: '{}' weights are not modelled (kvsim models FP8 weights: quant_method fp8, "
                               "fbgemm_fp8, or compressed-tensors with 8-bit float weights)",
                               q.full("quant_method"), method));
}

// Per-layer windows from `layer_types` ("full_attention" / "sliding_attention"), or empty if absent.
std::vector<TokenCount> windows_from_layer_types(ParamReader& r, int layers, TokenCount window) {
  const nlohmann::json* types = r.raw("layer_types");
  if (types == nullptr || types->is_null()) return {};
  r.check(types->is_array() && static_cast<int>(types->size()) == layers, "layer_types",
          fmt::format("expected a list of {} entries (one per layer)", layers));
  std::vector<TokenCount> out;
  for (const nlohmann::json& t : *types) {
    const std::string type = t.is_string() ? t.get<std::string>() : t.dump();
    if (type == "full_attention") {
      out.push_back(0);
    } else if (type == "sliding_attention") {
      r.check(window > 0, "sliding_window", "required by the layer_types' sliding_attention layers");
      out.push_back(window);
    } else {
      throw KvsimError(fmt::format("{}: layer type '{}' is not modelled (full_attention and sliding_attention are)",
                                   r.full("layer_types"), type));
    }
  }
  return out;
}

nlohmann::json read_card(const nlohmann::json& config, const std::string& where, const std::string& name) {
  ParamReader top(config, "");
  top.nulls_are_absent();
  const nlohmann::json* list = top.raw("architectures");
  top.check(list != nullptr && list->is_array() && list->size() == 1 && (*list)[0].is_string(), "architectures",
            fmt::format("expected a list with one architecture name; kvsim reads {}", architecture_list()));
  const std::string arch_name = (*list)[0].get<std::string>();
  const auto* arch = [&]() -> const Architecture* {
    for (const Architecture& a : architectures()) {
      if (a.info.name == arch_name) return &a;
    }
    return nullptr;
  }();
  if (arch == nullptr) {
    throw KvsimError(fmt::format("architectures: '{}' is not an architecture kvsim reads; supported: {} (or write "
                                 "a kvsim model card, models/specs/README.md)",
                                 arch_name, architecture_list()));
  }
  std::vector<std::string> notes{fmt::format("Read by kvsim from a Hugging Face config.json ({}).", arch_name)};

  // Weights: the config's dtype, or FP8 from its quantization_config; the KV cache keeps the activations' dtype
  // (vLLM's kv_cache_dtype "auto").
  const bool has_dtype = top.has("torch_dtype") || top.has("dtype");
  top.check(has_dtype, "torch_dtype", "required (or `dtype`): the weights' dtype, e.g. \"bfloat16\"");
  const std::string dtype_key = top.has("torch_dtype") ? "torch_dtype" : "dtype";
  const std::string act_dtype = card_dtype(top, dtype_key, top.require<std::string>(dtype_key));
  std::string weight_dtype = act_dtype;
  if (top.has("quantization_config")) {
    ParamReader q = top.child("quantization_config");
    if (fp8_weights(q)) weight_dtype = "fp8";
    notes.push_back("FP8 weights from quantization_config; the KV cache in " + act_dtype + ".");
  }

  // The language model's keys: `text_config` for multimodal wrappers.
  const bool nested = arch->text_config && top.has("text_config");
  ParamReader text_reader = nested ? top.child("text_config") : ParamReader(config, "");
  text_reader.nulls_are_absent();
  ParamReader& r = nested ? text_reader : top;
  if (nested) notes.push_back("The language model of text_config; the vision tower is not modelled.");

  nlohmann::json card;
  card["name"] = name;
  card["display_name"] = top.get<std::string>("_name_or_path", name);
  card["source"] = where;
  const int layers = r.require_positive<int>("num_hidden_layers");
  r.check(layers <= kMaxModelLayers, "num_hidden_layers", fmt::format("at most {} layers", kMaxModelLayers));
  const int hidden = r.require_positive<int>("hidden_size");
  const int heads = r.require_positive<int>("num_attention_heads");
  card["num_layers"] = layers;
  card["hidden_size"] = hidden;
  card["num_attention_heads"] = heads;
  card["intermediate_size"] = r.require_positive<int>("intermediate_size");
  card["vocab_size"] = r.require_positive<int>("vocab_size");
  card["max_context_tokens"] = r.require_positive<TokenCount>("max_position_embeddings");
  if (r.has("tie_word_embeddings") || top.has("tie_word_embeddings")) {
    card["tie_word_embeddings"] = (r.has("tie_word_embeddings") ? r : top).require<bool>("tie_word_embeddings");
  } else {
    card["tie_word_embeddings"] = arch->tie_default;
    notes.push_back(fmt::format("tie_word_embeddings absent: {}, the default of the architecture's config class.",
                                arch->tie_default));
  }
  card["weight_dtype"] = weight_dtype;
  card["kv_dtype"] = act_dtype;
  if (r.get<bool>("attention_bias", false) || arch_name == "Qwen2ForCausalLM") {
    notes.push_back("Attention biases are ignored (a few parameters per layer).");
  }

  // Attention: heads, and MLA for DeepSeek.
  if (arch->family == Family::kDeepseek) {
    const int nope = r.require_positive<int>("qk_nope_head_dim"), rope = r.require_positive<int>("qk_rope_head_dim");
    card["num_kv_heads"] = heads;  // MLA: the cache is the latent, not per head
    card["head_dim"] = std::int64_t{nope} + rope;  // beyond an int: refused by parse_llm_spec
    card["mla"] = {{"q_lora_rank", r.get_non_negative<int>("q_lora_rank", 0)},
                   {"kv_lora_rank", r.require_positive<int>("kv_lora_rank")},
                   {"qk_nope_head_dim", nope},
                   {"qk_rope_head_dim", rope},
                   {"v_head_dim", r.require_positive<int>("v_head_dim")}};
  } else {
    card["num_kv_heads"] = r.require_positive<int>("num_key_value_heads");
    if (r.has("head_dim")) {
      card["head_dim"] = r.require_positive<int>("head_dim");
    } else {
      r.check(hidden % heads == 0, "head_dim", "absent, and hidden_size is not a multiple of num_attention_heads");
      card["head_dim"] = hidden / heads;
      notes.push_back("head_dim absent: hidden_size / num_attention_heads, as the config class computes it.");
    }
  }

  // Sliding windows.
  std::vector<TokenCount> windows;
  if (arch->window_required) {
    r.check(r.raw("sliding_window") != nullptr, "sliding_window",
            "required for " + arch_name + " (null for none): its config class defaults to a window");
  }
  const TokenCount window = r.get_non_negative<TokenCount>("sliding_window", 0);
  windows = windows_from_layer_types(r, layers, window);
  if (windows.empty() && window > 0) {
    switch (arch->family) {
      case Family::kGemma2:
        for (int i = 0; i < layers; ++i) windows.push_back(i % 2 == 0 ? window : 0);
        break;
      case Family::kGemma3: {
        const int pattern = r.get_positive<int>("sliding_window_pattern", 6);
        for (int i = 0; i < layers; ++i) windows.push_back((i + 1) % pattern == 0 ? 0 : window);
        break;
      }
      case Family::kDense:
      case Family::kMixtral:
      case Family::kQwen3Moe:
        if (arch_name.starts_with("Qwen")) {
          // Qwen's window applies only with use_sliding_window, to layers from max_window_layers on.
          if (!r.get<bool>("use_sliding_window", false)) break;
          const int from = r.require_non_negative<int>("max_window_layers");
          for (int i = 0; i < layers; ++i) windows.push_back(i >= from ? window : 0);
        } else {
          windows.assign(static_cast<std::size_t>(layers), window);
        }
        break;
      case Family::kDeepseek:
        break;
    }
  }
  if (std::any_of(windows.begin(), windows.end(), [](TokenCount w) { return w > 0; })) {
    card["attention"] = {{"layer_window_tokens", windows}};
  }

  // Feed-forward.
  switch (arch->family) {
    case Family::kMixtral:
      card["moe"] = {{"num_experts", r.require_positive<int>("num_local_experts")},
                     {"experts_per_token", r.require_positive<int>("num_experts_per_tok")},
                     {"expert_intermediate_size", card["intermediate_size"]}};
      break;
    case Family::kQwen3Moe: {
      r.check(r.get<int>("decoder_sparse_step", 1) == 1, "decoder_sparse_step",
              "only 1 (every layer MoE) is modelled");
      const nlohmann::json* dense = r.raw("mlp_only_layers");
      r.check(dense == nullptr || dense->is_null() || (dense->is_array() && dense->empty()), "mlp_only_layers",
              "dense layers among MoE layers are not modelled (expected an empty list)");
      card["moe"] = {{"num_experts", r.require_positive<int>("num_experts")},
                     {"experts_per_token", r.require_positive<int>("num_experts_per_tok")},
                     {"expert_intermediate_size", r.require_positive<int>("moe_intermediate_size")}};
      break;
    }
    case Family::kDeepseek: {
      r.check(r.get<int>("moe_layer_freq", 1) == 1, "moe_layer_freq", "only 1 (every layer after the dense ones) is "
                                                                        "modelled");
      card["moe"] = {{"num_experts", r.require_positive<int>("n_routed_experts")},
                     {"experts_per_token", r.require_positive<int>("num_experts_per_tok")},
                     {"num_shared_experts", r.get_non_negative<int>("n_shared_experts", 0)},
                     {"expert_intermediate_size", r.require_positive<int>("moe_intermediate_size")},
                     {"first_dense_layers", r.get_non_negative<int>("first_k_dense_replace", 0)},
                     {"dense_intermediate_size", card["intermediate_size"]}};
      if (r.get<int>("num_nextn_predict_layers", 0) > 0) {
        notes.push_back("The multi-token-prediction layers (num_nextn_predict_layers) are not modelled.");
      }
      break;
    }
    case Family::kDense:
    case Family::kGemma2:
    case Family::kGemma3:
      break;
  }
  notes.push_back("Norms are ignored; max_context_tokens is max_position_embeddings (rope scaling not applied).");
  card["notes"] = fmt::format("{}", fmt::join(notes, " "));
  return card;
}

// A registry name from a model id or file name: lowercase letters, digits, '.' and '-'.
std::string card_name(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) || c == '.' ? static_cast<char>(std::tolower(u)) : '-');
  }
  return out.empty() ? "model" : out;
}

}  // namespace

const std::vector<HfArchitecture>& hf_architectures() {
  static const std::vector<HfArchitecture> kList = [] {
    std::vector<HfArchitecture> out;
    for (const Architecture& a : architectures()) out.push_back(a.info);
    return out;
  }();
  return kList;
}

nlohmann::json hf_config_card(const nlohmann::json& config, const std::string& where, const std::string& name) {
  try {
    return read_card(config, where, name);
  } catch (const KvsimError& e) {
    throw KvsimError(fmt::format("{}: {}", where, e.what()));
  }
}

bool is_model_path(std::string_view ref) {
  return ref.find('/') != std::string_view::npos || ref.ends_with(".json");
}

std::shared_ptr<const LlmSpec> resolve_model(const std::string& ref, const std::filesystem::path& base_dir,
                                             std::string_view where) {
  if (!is_model_path(ref)) {
    // A catalog card lives as long as the program: a pointer that owns nothing.
    return std::shared_ptr<const LlmSpec>(std::shared_ptr<const void>(), &Catalog::builtin().model(ref, where));
  }
  std::filesystem::path path(ref);
  if (path.is_relative()) path = base_dir / path;
  const nlohmann::json doc = parse_json_file(path);
  const std::string file = path.string();
  if (!doc.is_object()) throw KvsimError(fmt::format("{}: {}: expected a JSON object", where, file));
  if (doc.contains("num_layers")) return std::make_shared<LlmSpec>(parse_llm_spec(doc, file));
  // A Hugging Face config: named after its model id, else its folder (config.json) or its file.
  std::string id = doc.contains("_name_or_path") && doc["_name_or_path"].is_string()
                       ? doc["_name_or_path"].get<std::string>()
                       : (path.filename() == "config.json" ? path.parent_path().filename() : path.stem()).string();
  if (const std::size_t slash = id.rfind('/'); slash != std::string::npos) id = id.substr(slash + 1);
  return std::make_shared<LlmSpec>(parse_llm_spec(hf_config_card(doc, file, card_name(id)), file));
}

}  // namespace kvsim
