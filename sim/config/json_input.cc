// Scenario JSON input (see json_input.h).
#include "sim/config/json_input.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

void apply_override(nlohmann::json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw KvsimError(fmt::format("--set '{}': expected key.path=value, e.g. engine.max_num_seqs=128", assignment));
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  const bool is_path_key = key.size() >= 4 && key.compare(key.size() - 4, 4, "path") == 0;
  if (is_path_key && value.is_string() && !value.get<std::string>().empty()) {
    std::filesystem::path p(value.get<std::string>());
    if (p.is_relative()) value = std::filesystem::absolute(p).lexically_normal().string();
  }
  set_json_path(doc, key, std::move(value), fmt::format("--set '{}'", assignment));
}

void set_json_path(nlohmann::json& doc, const std::string& key, nlohmann::json value, const std::string& where) {
  nlohmann::json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw KvsimError(fmt::format("{}: empty key component", where));
    if (node->is_null()) *node = nlohmann::json::object();
    if (!node->is_object()) {
      throw KvsimError(fmt::format("{}: '{}' is not an object in the scenario", where,
                                   key.substr(0, start == 0 ? 0 : start - 1)));
    }
    if (dot == std::string::npos) {
      (*node)[part] = std::move(value);
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

}  // namespace kvsim
