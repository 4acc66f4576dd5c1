// The built-in catalogs of model and GPU cards (JSON files embedded at build time).
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "models/spec/gpu_spec.h"
#include "models/spec/llm_spec.h"

namespace kvsim {

class Catalog {
 public:
  // The catalog built from models/specs/{llm,gpu}/*.json. Parsed once; throws on a malformed card.
  static const Catalog& builtin();

  // A catalog from (path relative to models/specs, file contents) pairs: "llm/<name>.json" are model cards,
  // "gpu/<name>.json" GPU cards. Throws KvsimError naming the file for malformed JSON or cards, a card whose
  // `name` differs from its file name, a duplicate name or a file outside llm/ and gpu/. builtin() is this
  // function applied to the embedded cards.
  static Catalog from_files(const std::vector<std::pair<std::string_view, std::string_view>>& files);

  // Lookup by name; throws KvsimError "<where>: unknown model 'x'; available: a, b, ..." if absent.
  const LlmSpec& model(std::string_view name, std::string_view where) const;
  const GpuSpec& gpu(std::string_view name, std::string_view where) const;

  const std::vector<LlmSpec>& models() const { return models_; }  // sorted by name
  const std::vector<GpuSpec>& gpus() const { return gpus_; }

 private:
  std::vector<LlmSpec> models_;
  std::vector<GpuSpec> gpus_;
};

}  // namespace kvsim
