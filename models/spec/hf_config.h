// Model cards from Hugging Face `config.json` files, and the models a scenario or the CLI may name: a catalog name,
// a kvsim model card file or a Hugging Face config.json.
//
// A config is read strictly for what kvsim models: its architecture (`architectures[0]`) must be one listed in
// hf_architectures(), every key the architecture needs must be there with the right type (or have the default that
// architecture's transformers config class gives it, named in the card's notes), and keys that would change the
// model in ways kvsim does not model are errors (weight quantization other than FP8, MoE layers interleaved with
// dense ones, per-layer attention other than full or sliding). Keys that change nothing kvsim prices (rope scaling,
// token ids, norms' epsilon, biases) are ignored and the card's notes say which ones matter and were left out.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/spec/llm_spec.h"

namespace kvsim {

// The architectures hf_config_card() reads, with the model families they cover.
struct HfArchitecture {
  std::string_view name;    // `architectures[0]`, e.g. "LlamaForCausalLM"
  std::string_view covers;  // e.g. "Llama 2/3, Yi"
};
const std::vector<HfArchitecture>& hf_architectures();

// The kvsim model card (models/specs/README.md schema) of a Hugging Face config; `where` names the file in messages
// and becomes the card's `source`; `name` is the card's registry name. Throws KvsimError naming `where` and the key.
nlohmann::json hf_config_card(const nlohmann::json& config, const std::string& where, const std::string& name);

// Whether `ref` names a file rather than a catalog model: it contains '/' or ends in ".json".
bool is_model_path(std::string_view ref);
// The model `ref` names (see the top); a relative path is taken from `base_dir`. A file is a kvsim card if it has
// `num_layers`, else a Hugging Face config. `where` names the key or option in messages.
std::shared_ptr<const LlmSpec> resolve_model(const std::string& ref, const std::filesystem::path& base_dir,
                                             std::string_view where);

}  // namespace kvsim
