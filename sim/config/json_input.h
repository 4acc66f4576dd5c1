// Reading scenario JSON: files and text with line/column errors, and `--set key.path=value` overrides.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

// Parses JSON text; on a syntax error throws KvsimError "<where>:<line>:<column>: <what>".
nlohmann::json parse_json_text(const std::string& text, const std::string& where);
// Reads and parses a file; throws KvsimError naming the file if it cannot be read or parsed.
nlohmann::json parse_json_file(const std::filesystem::path& path);

// Applies one override "a.b.c=value" to `doc`, creating objects on the way. The value is parsed as JSON when it
// is valid JSON (numbers, true/false/null, objects, quoted strings), else taken as a plain string. A relative
// value of a key ending in "path" is made absolute against the current directory (the user typed it there).
// Throws KvsimError on a malformed assignment or when a path component is not an object.
void apply_override(nlohmann::json& doc, const std::string& assignment);

}  // namespace kvsim
