// LLM architecture cards: strict parsing, layer-pattern expansion and the parameter / KV arithmetic.
// Card schema and units: models/specs/README.md.
#include "models/spec/llm_spec.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "sim/core/error.h"
#include "sim/core/param_reader.h"

namespace kvsim {

namespace {

// ---- dtypes -------------------------------------------------------------------------------------------------

struct DtypeBytes {
  std::string_view name;
  double bytes;
};

// Storage size of the dtypes a card may name for weights or KV.
constexpr std::array<DtypeBytes, 6> kDtypes = {{
    {"bf16", 2.0}, {"fp16", 2.0}, {"fp32", 4.0}, {"fp8", 1.0}, {"int8", 1.0}, {"int4", 0.5},
}};

std::string dtype_names() {
  std::vector<std::string_view> names;
  for (const DtypeBytes& d : kDtypes) names.push_back(d.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// Bytes per element of `dtype`; throws naming the key and the valid dtypes if unknown.
double dtype_bytes(const ParamReader& reader, const std::string& key, const std::string& dtype) {
  for (const DtypeBytes& d : kDtypes) {
    if (d.name == dtype) return d.bytes;
  }
  throw KvsimError(fmt::format("{}: unknown dtype '{}'; valid: {}", reader.full(key), dtype, dtype_names()));
}

// ---- attention layer patterns -------------------------------------------------------------------------------

// A named layer pattern: window of layer `layer` given the sliding window W (0 = global attention).
struct LayerPattern {
  std::string_view name;
  TokenCount (*window)(int layer, TokenCount window_tokens);
};

constexpr std::array<LayerPattern, 2> kPatterns = {{
    // Every layer slides (Mistral-7B-v0.1).
    {"all", [](int, TokenCount w) { return w; }},
    // Local, global, local, ... from layer 0 (Gemma 2: is_sliding = not bool(layer_idx % 2)).
    {"alternate", [](int layer, TokenCount w) { return layer % 2 == 0 ? w : TokenCount{0}; }},
}};

std::vector<TokenCount> expand_named_pattern(const ParamReader& attn, const std::string& pattern, TokenCount window,
                                             int num_layers) {
  for (const LayerPattern& p : kPatterns) {
    if (p.name != pattern) continue;
    std::vector<TokenCount> windows(num_layers);
    for (int i = 0; i < num_layers; ++i) windows[i] = p.window(i, window);
    return windows;
  }
  std::vector<std::string_view> names;
  for (const LayerPattern& p : kPatterns) names.push_back(p.name);
  throw KvsimError(fmt::format("{}: unknown pattern '{}'; valid: {}", attn.full("pattern"), pattern,
                               fmt::join(names, ", ")));
}

// `local_per_global` = k: k sliding layers then one global layer, repeated from layer 0 (Gemma 3: k = 5).
std::vector<TokenCount> expand_local_per_global(int k, TokenCount window, int num_layers) {
  std::vector<TokenCount> windows(num_layers);
  for (int i = 0; i < num_layers; ++i) windows[i] = (i + 1) % (std::int64_t{k} + 1) == 0 ? 0 : window;
  return windows;
}

std::vector<TokenCount> read_explicit_windows(ParamReader& attn, int num_layers) {
  const nlohmann::json& list = *attn.raw("layer_window_tokens");
  attn.check(list.is_array(), "layer_window_tokens", "expected a list of integers (0 = global layer)");
  attn.check(static_cast<int>(list.size()) == num_layers, "layer_window_tokens",
             fmt::format("has {} entries, expected num_layers = {}", list.size(), num_layers));
  std::vector<TokenCount> windows;
  for (const nlohmann::json& w : list) {
    attn.check(w.is_number_integer() && w.get<std::int64_t>() >= 0, "layer_window_tokens",
               fmt::format("entries must be integers >= 0, got {}", w.dump()));
    windows.push_back(w.get<TokenCount>());
  }
  return windows;
}

// The `attention` object: absent = all layers global; else exactly one of `pattern`, `local_per_global`
// (both with `sliding_window_tokens`) or an explicit `layer_window_tokens` list.
std::vector<TokenCount> read_layer_windows(ParamReader& card, int num_layers) {
  ParamReader attn = card.child("attention");
  std::vector<TokenCount> windows;
  if (attn.has("layer_window_tokens")) {
    attn.check(!attn.has("sliding_window_tokens") && !attn.has("pattern") && !attn.has("local_per_global"),
               "layer_window_tokens", "give either an explicit list or sliding_window_tokens with a pattern");
    windows = read_explicit_windows(attn, num_layers);
  } else if (attn.has("sliding_window_tokens")) {
    const TokenCount window = attn.require_positive<int>("sliding_window_tokens");
    attn.check(attn.has("pattern") != attn.has("local_per_global"), "sliding_window_tokens",
               "needs exactly one of 'pattern' (all, alternate) or 'local_per_global'");
    if (attn.has("pattern")) {
      windows = expand_named_pattern(attn, attn.require<std::string>("pattern"), window, num_layers);
    } else {
      windows = expand_local_per_global(attn.require_positive<int>("local_per_global"), window, num_layers);
    }
  } else {
    attn.check(!attn.has("pattern") && !attn.has("local_per_global"), "sliding_window_tokens",
               "is required with 'pattern' or 'local_per_global'");
    windows.assign(num_layers, 0);
  }
  attn.finish();
  return windows;
}

// ---- moe / mla ----------------------------------------------------------------------------------------------

std::optional<MoeSpec> read_moe(ParamReader& card, int num_layers, int intermediate_size) {
  if (!card.has("moe")) {
    card.child("moe");  // marks the key as known (null is allowed and means "dense")
    return std::nullopt;
  }
  ParamReader r = card.child("moe");
  MoeSpec moe;
  moe.num_experts = r.require_positive<int>("num_experts");
  moe.experts_per_token = r.require_positive<int>("experts_per_token");
  r.check(moe.experts_per_token <= moe.num_experts, "experts_per_token",
          fmt::format("must be <= num_experts ({})", moe.num_experts));
  moe.num_shared_experts = r.get_non_negative<int>("num_shared_experts", 0);
  moe.expert_intermediate_size = r.require_positive<int>("expert_intermediate_size");
  moe.first_dense_layers = r.get_non_negative<int>("first_dense_layers", 0);
  r.check(moe.first_dense_layers < num_layers, "first_dense_layers",
          fmt::format("must be < num_layers ({})", num_layers));
  moe.dense_intermediate_size = r.has("dense_intermediate_size") ? r.require_positive<int>("dense_intermediate_size")
                                                                  : intermediate_size;
  r.finish();
  return moe;
}

std::optional<MlaSpec> read_mla(ParamReader& card) {
  if (!card.has("mla")) {
    card.child("mla");
    return std::nullopt;
  }
  ParamReader r = card.child("mla");
  MlaSpec mla;
  mla.q_lora_rank = r.get_non_negative<int>("q_lora_rank", 0);
  mla.kv_lora_rank = r.require_positive<int>("kv_lora_rank");
  mla.qk_nope_head_dim = r.require_positive<int>("qk_nope_head_dim");
  mla.qk_rope_head_dim = r.require_positive<int>("qk_rope_head_dim");
  mla.v_head_dim = r.require_positive<int>("v_head_dim");
  r.finish();
  return mla;
}

// Cross-field rules that single-key reads cannot check.
void validate(const ParamReader& r, const LlmSpec& s) {
  r.check(s.num_attention_heads % s.num_kv_heads == 0, "num_kv_heads",
          fmt::format("num_attention_heads ({}) must be a multiple of num_kv_heads ({})", s.num_attention_heads,
                      s.num_kv_heads));
  if (s.mla) {
    r.check(s.num_kv_heads == s.num_attention_heads, "num_kv_heads",
            "must equal num_attention_heads for an MLA model (the KV cache is the latent, not per head)");
    const std::int64_t qk_head_dim = std::int64_t{s.mla->qk_nope_head_dim} + s.mla->qk_rope_head_dim;
    r.check(s.head_dim == qk_head_dim, "head_dim",
            fmt::format("must equal mla.qk_nope_head_dim + mla.qk_rope_head_dim ({}) for an MLA model", qk_head_dim));
  }
  if (s.reported_params_billion) {
    r.check(*s.reported_params_billion > 0, "reported_params_billion", "must be positive");
  }
}

// ---- parameter arithmetic -----------------------------------------------------------------------------------

double attention_params_per_layer(const LlmSpec& s) {
  const double h = s.hidden_size;
  if (!s.mla) {
    const double q_out = static_cast<double>(s.num_attention_heads) * s.head_dim;
    const double kv_out = static_cast<double>(s.num_kv_heads) * s.head_dim;
    return h * q_out + 2.0 * h * kv_out + q_out * h;  // Q, K, V, O
  }
  const MlaSpec& m = *s.mla;
  const double heads = s.num_attention_heads;
  const double q_head = static_cast<double>(m.qk_nope_head_dim) + m.qk_rope_head_dim;
  const double q = m.q_lora_rank > 0 ? h * m.q_lora_rank + static_cast<double>(m.q_lora_rank) * heads * q_head
                                     : h * heads * q_head;
  const double kv_a = h * (static_cast<double>(m.kv_lora_rank) + m.qk_rope_head_dim);
  const double kv_b =
      static_cast<double>(m.kv_lora_rank) * heads * (static_cast<double>(m.qk_nope_head_dim) + m.v_head_dim);
  const double o = heads * m.v_head_dim * h;
  return q + kv_a + kv_b + o;
}

double gated_mlp_params(const LlmSpec& s, int intermediate) { return 3.0 * s.hidden_size * intermediate; }

// Feed-forward parameters over all layers; `active` counts only the experts one token runs through.
double ffn_params(const LlmSpec& s, bool active) {
  if (!s.moe) return s.num_layers * gated_mlp_params(s, s.intermediate_size);
  const MoeSpec& m = *s.moe;
  const double dense = m.first_dense_layers * gated_mlp_params(s, m.dense_intermediate_size);
  const double experts = static_cast<double>(active ? m.experts_per_token : m.num_experts) + m.num_shared_experts;
  const double router = static_cast<double>(s.hidden_size) * m.num_experts;
  const double moe_layer = router + experts * gated_mlp_params(s, m.expert_intermediate_size);
  return dense + (s.num_layers - m.first_dense_layers) * moe_layer;
}

double non_ffn_params(const LlmSpec& s) {
  const double embeddings = static_cast<double>(s.vocab_size) * s.hidden_size;
  const double lm_head = s.tie_word_embeddings ? 0.0 : embeddings;
  return embeddings + lm_head + s.num_layers * attention_params_per_layer(s);
}

// ---- json output --------------------------------------------------------------------------------------------

nlohmann::json moe_json(const MoeSpec& m) {
  return {{"num_experts", m.num_experts},
          {"experts_per_token", m.experts_per_token},
          {"num_shared_experts", m.num_shared_experts},
          {"expert_intermediate_size", m.expert_intermediate_size},
          {"first_dense_layers", m.first_dense_layers},
          {"dense_intermediate_size", m.dense_intermediate_size}};
}

nlohmann::json mla_json(const MlaSpec& m) {
  return {{"q_lora_rank", m.q_lora_rank},
          {"kv_lora_rank", m.kv_lora_rank},
          {"qk_nope_head_dim", m.qk_nope_head_dim},
          {"qk_rope_head_dim", m.qk_rope_head_dim},
          {"v_head_dim", m.v_head_dim}};
}

}  // namespace

// ---- LlmSpec ------------------------------------------------------------------------------------------------

double LlmSpec::embedding_parameter_count() const {
  const double embeddings = static_cast<double>(vocab_size) * hidden_size;
  return tie_word_embeddings ? embeddings : 2 * embeddings;
}

double LlmSpec::parameter_count() const { return non_ffn_params(*this) + ffn_params(*this, /*active=*/false); }

double LlmSpec::active_parameter_count() const {
  return non_ffn_params(*this) + ffn_params(*this, /*active=*/true);
}

double LlmSpec::routed_expert_parameter_count() const {
  if (!moe) return 0;
  return static_cast<double>(num_layers - moe->first_dense_layers) * moe->num_experts *
         gated_mlp_params(*this, moe->expert_intermediate_size);
}

std::int64_t LlmSpec::kv_elements_per_token_per_layer() const {
  if (mla) return static_cast<std::int64_t>(mla->kv_lora_rank) + mla->qk_rope_head_dim;
  return 2 * static_cast<std::int64_t>(num_kv_heads) * head_dim;
}

int LlmSpec::num_sliding_layers() const {
  return static_cast<int>(std::count_if(layer_window_tokens.begin(), layer_window_tokens.end(),
                                        [](TokenCount w) { return w > 0; }));
}

LlmSpec parse_llm_spec(const nlohmann::json& card, const std::string& where) {
  ParamReader r(card, where);
  LlmSpec s;
  s.name = r.require_nonempty("name");
  s.display_name = r.require_nonempty("display_name");
  s.source = r.require_nonempty("source");
  s.notes = r.get<std::string>("notes", "");
  s.num_layers = r.require_positive<int>("num_layers");
  r.check(s.num_layers <= kMaxModelLayers, "num_layers", fmt::format("at most {} layers", kMaxModelLayers));
  s.hidden_size = r.require_positive<int>("hidden_size");
  s.num_attention_heads = r.require_positive<int>("num_attention_heads");
  s.num_kv_heads = r.require_positive<int>("num_kv_heads");
  s.head_dim = r.require_positive<int>("head_dim");
  s.intermediate_size = r.require_positive<int>("intermediate_size");
  s.vocab_size = r.require_positive<int>("vocab_size");
  s.tie_word_embeddings = r.require<bool>("tie_word_embeddings");
  s.max_context_tokens = r.require_positive<int>("max_context_tokens");
  s.weight_dtype = r.get<std::string>("weight_dtype", "bf16");
  const double bits = dtype_bytes(r, "weight_dtype", s.weight_dtype) * 8;
  s.weights.linear_bits = s.weights.embedding_bits = s.weights.gemm_read_bits = bits;  // every weight, read as stored
  s.kv_dtype = r.get<std::string>("kv_dtype", "bf16");
  s.kv_bytes_per_element = dtype_bytes(r, "kv_dtype", s.kv_dtype);
  s.layer_window_tokens = read_layer_windows(r, s.num_layers);
  s.moe = read_moe(r, s.num_layers, s.intermediate_size);
  s.mla = read_mla(r);
  s.reported_params_billion = r.get_optional<double>("reported_params_billion");
  r.finish();
  validate(r, s);
  return s;
}

nlohmann::json to_json(const LlmSpec& s) {
  nlohmann::json j = {{"name", s.name},
                      {"display_name", s.display_name},
                      {"source", s.source},
                      {"num_layers", s.num_layers},
                      {"hidden_size", s.hidden_size},
                      {"num_attention_heads", s.num_attention_heads},
                      {"num_kv_heads", s.num_kv_heads},
                      {"head_dim", s.head_dim},
                      {"intermediate_size", s.intermediate_size},
                      {"vocab_size", s.vocab_size},
                      {"tie_word_embeddings", s.tie_word_embeddings},
                      {"max_context_tokens", s.max_context_tokens},
                      {"weight_dtype", s.weight_dtype},
                      {"kv_dtype", s.kv_dtype}};
  if (!s.notes.empty()) j["notes"] = s.notes;
  if (s.num_sliding_layers() > 0) j["attention"] = {{"layer_window_tokens", s.layer_window_tokens}};
  if (s.moe) j["moe"] = moe_json(*s.moe);
  if (s.mla) j["mla"] = mla_json(*s.mla);
  if (s.reported_params_billion) j["reported_params_billion"] = *s.reported_params_billion;
  return j;
}

}  // namespace kvsim
