// Comparison scenarios (see variants.h).
#include "sim/config/variants.h"

#include <set>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

bool has_variants(const nlohmann::json& scenario) {
  return scenario.is_object() && scenario.contains("variants");
}

std::vector<Variant> expand_variants(const nlohmann::json& scenario) {
  const nlohmann::json& list = scenario.at("variants");
  if (!list.is_array() || list.empty()) {
    throw KvsimError("variants: expected a non-empty list of objects like {\"name\": \"fp8\", \"kv\": {...}}");
  }
  nlohmann::json base = scenario;
  base.erase("variants");
  std::vector<Variant> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& v = list[i];
    const std::string where = fmt::format("variants[{}]", i);
    if (!v.is_object() || !v.contains("name") || !v["name"].is_string()) {
      throw KvsimError(where + ": expected an object with a string \"name\"");
    }
    Variant out_v;
    out_v.name = v["name"].get<std::string>();
    // It names a folder beside the comparison's own files: at most 100 characters, no leading dot, none of the
    // names those files have.
    if (out_v.name.empty() || out_v.name.size() > 100 || out_v.name.front() == '.' ||
        out_v.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789._-") != std::string::npos) {
      throw KvsimError(fmt::format("{}: name '{}' must be 1 to 100 letters, digits, '.', '_' or '-', not starting "
                                   "with '.' (it names a folder)",
                                   where, quoted_input(out_v.name, 120)));
    }
    for (const char* reserved : {"report.html", "comparison.json", "comparison.csv", "capacity.json", "capacity.csv",
                                 "sweep.json", "sweep.csv", "plan.json", "plan.csv", "pareto.csv"}) {
      if (out_v.name == reserved) {
        throw KvsimError(fmt::format("{}: name '{}' is the name of a file kvsim writes beside the variants' folders; "
                                     "choose another",
                                     where, out_v.name));
      }
    }
    if (!seen.insert(out_v.name).second) throw KvsimError(fmt::format("{}: duplicate name '{}'", where, out_v.name));
    nlohmann::json patch = v;
    patch.erase("name");
    if (patch.contains("description")) {
      if (!patch["description"].is_string()) throw KvsimError(where + ".description: expected a string");
      out_v.description = patch["description"].get<std::string>();
      patch.erase("description");
    }
    if (patch.contains("variants")) throw KvsimError(where + ": a variant cannot have variants");
    out_v.scenario = base;
    out_v.scenario.merge_patch(patch);
    out.push_back(std::move(out_v));
  }
  return out;
}

Variant select_variant(const nlohmann::json& scenario, const std::string& name) {
  std::vector<std::string> names;
  for (Variant& v : expand_variants(scenario)) {
    if (v.name == name) return v;
    names.push_back(v.name);
  }
  throw KvsimError(fmt::format("--variant: no variant '{}'; the scenario has: {}", name, fmt::join(names, ", ")));
}

nlohmann::json scenario_for_one_run(const nlohmann::json& scenario, const std::string& variant,
                                    const std::string& variant_option) {
  if (!has_variants(scenario)) {
    if (!variant.empty()) throw KvsimError(variant_option + ": the scenario has no variants");
    return scenario;
  }
  if (variant.empty()) {
    std::vector<std::string> names;
    for (const Variant& v : expand_variants(scenario)) names.push_back(v.name);
    throw KvsimError(fmt::format("the scenario has variants ({}); run them all with `kvsim compare`, or one with {}",
                                 fmt::join(names, ", "), variant_option));
  }
  return select_variant(scenario, variant).scenario;
}

}  // namespace kvsim
