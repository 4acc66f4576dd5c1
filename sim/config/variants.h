// Comparison scenarios: a base scenario plus `variants`, each a named partial scenario merged over the base
// (JSON merge patch, RFC 7386: objects merge key by key, other values replace, null deletes).
//
//   "variants": [{"name": "full"}, {"name": "fp8", "description": "...", "kv": {"strategy": "fp8"}}, ...]
//
// Variant names must be unique, non-empty and usable as folder names ([A-Za-z0-9._-]).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

struct Variant {
  std::string name;
  std::string description;
  nlohmann::json scenario;  // the base with the variant merged in, without "variants"
};

// True if the document has a "variants" key.
bool has_variants(const nlohmann::json& scenario);

// Expands the variants of `scenario` (which must have them). Throws KvsimError naming the variant at fault.
std::vector<Variant> expand_variants(const nlohmann::json& scenario);

// The one variant called `name`; throws KvsimError listing the names if absent.
Variant select_variant(const nlohmann::json& scenario, const std::string& name);

// The scenario one run simulates: `scenario` itself when it has no variants (then `variant` must be empty), else its
// variant `variant`. A scenario with variants and no variant named is an error listing them; `variant_option` is how
// the caller names a variant ("--variant NAME", "variant=NAME").
nlohmann::json scenario_for_one_run(const nlohmann::json& scenario, const std::string& variant,
                                    const std::string& variant_option);

}  // namespace kvsim
