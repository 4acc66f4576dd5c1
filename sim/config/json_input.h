// Scenario input: `--set key.path=value` overrides (JSON files and text are read with sim/core/json_file.h).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/core/json_file.h"  // parse_json_text, parse_json_file

namespace kvsim {

// Applies one override "a.b.c=value" to `doc`, creating objects on the way. The value is parsed as JSON when it
// is valid JSON (numbers, true/false/null, objects, quoted strings), else taken as a plain string. A relative
// value of a key ending in "path" is made absolute against the current directory (the user typed it there).
// Throws KvsimError on a malformed assignment or when a path component is not an object.
void apply_override(nlohmann::json& doc, const std::string& assignment);

// Sets the value at "a.b.c" in `doc` to `value`, creating objects on the way (no parsing, no path rewriting).
// Throws KvsimError naming `where` when the key is malformed or a component is not an object.
void set_json_path(nlohmann::json& doc, const std::string& key, nlohmann::json value, const std::string& where);

}  // namespace kvsim
